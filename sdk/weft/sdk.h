/* weft SDK — helpers for plugin authors, built only on the ABI headers.
 * Link the static library weft_sdk (no dependency on libweft). */
#ifndef WEFT_SDK_H
#define WEFT_SDK_H

#include <weft/weft_plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- declaring parameters and the entry ------------------------------- */

#define WEFT_PARAM(name_, type_, flags_, min_, max_, def_, doc_)                              \
    {                                                                                          \
        .struct_size = sizeof(weft_param_desc), .name = (name_), .type = (type_),              \
        .flags = (flags_), .min = (min_), .max = (max_), .def = (def_), .doc = (doc_)          \
    }
#define WEFT_PARAM_INT(name_, min_, max_, def_, doc_) \
    WEFT_PARAM(name_, WEFT_TYPE_INT, WEFT_PARAM_HAS_MIN | WEFT_PARAM_HAS_MAX, min_, max_, def_, doc_)
#define WEFT_PARAM_DOUBLE(name_, min_, max_, def_, doc_) \
    WEFT_PARAM(name_, WEFT_TYPE_DOUBLE, WEFT_PARAM_HAS_MIN | WEFT_PARAM_HAS_MAX, min_, max_, def_, doc_)
#define WEFT_PARAM_BOOL(name_, def_, doc_) WEFT_PARAM(name_, WEFT_TYPE_BOOL, 0, 0, 0, def_, doc_)
#define WEFT_PARAM_STRING(name_, def_, doc_) WEFT_PARAM(name_, WEFT_TYPE_STRING, 0, 0, 0, def_, doc_)
/* Lower bound only (e.g. a temperature, a count). */
#define WEFT_PARAM_INT_MIN(name_, min_, def_, doc_) \
    WEFT_PARAM(name_, WEFT_TYPE_INT, WEFT_PARAM_HAS_MIN, min_, 0, def_, doc_)
#define WEFT_PARAM_DOUBLE_MIN(name_, min_, def_, doc_) \
    WEFT_PARAM(name_, WEFT_TYPE_DOUBLE, WEFT_PARAM_HAS_MIN, min_, 0, def_, doc_)

#define WEFT_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Defines the entry symbol registering each descriptor of a static array:
 *   static const weft_component_desc *const COMPONENTS[] = {&a, &b};
 *   WEFT_PLUGIN_DEFINE(COMPONENTS)                                        */
#define WEFT_PLUGIN_DEFINE(components)                                                        \
    WEFT_EXPORT weft_status weft_plugin_entry(const weft_host *host, weft_registrar *reg,     \
                                              weft_register_fn host_register) {               \
        (void)host;                                                                           \
        for (size_t i_ = 0; i_ < WEFT_COUNT_OF(components); i_++) {                           \
            weft_status st_ = host_register(reg, (components)[i_]);                          \
            if (st_ != WEFT_OK) return st_;                                                   \
        }                                                                                     \
        return WEFT_OK;                                                                       \
    }

/* ---- host service shorthands ------------------------------------------- */

#define weft_log(env, level, ...) ((env)->host->log((env), (level), __VA_ARGS__))
#define weft_error(env, ...) ((env)->host->error((env), __VA_ARGS__))
#define weft_alloc(env, n) ((env)->host->alloc(n))
#define weft_calloc(env, n, sz) ((env)->host->calloc((n), (sz)))
#define weft_free(env, p) ((env)->host->free(p))

/* ---- plugin state -------------------------------------------------------- */

/* Header for plugin state that is one flat block: put it first in the
 * state struct. destroy() has no env, so the state remembers it to free
 * itself through the host allocator. */
typedef struct weft_state {
    const weft_env *env;
    size_t size; /* bytes of the whole state, for clone */
} weft_state;

/* A zeroed block of `size` bytes (>= sizeof(weft_state)) with the header
 * filled in; NULL after reporting "out of memory" through env. */
void *weft_state_new(const weft_env *env, size_t size);
/* Frees a block from weft_state_new (NULL is a no-op); fits desc->destroy. */
void weft_state_free(void *self);
/* Byte copy of a flat state (no owned pointers); fits sampler clone(). */
weft_status weft_state_clone(void *self, void **out);

/* Samplers set by a probability mass `p` in [0, 1] and `min_keep` >= 1
 * (top-p, min-p, typical): declare WEFT_P_KEEP_PARAMS first and start the
 * state with weft_p_keep. */
typedef struct weft_p_keep {
    weft_state base;
    double p;
    size_t min_keep;
} weft_p_keep;
#define WEFT_P_KEEP_PARAMS(p_default, p_doc)                  \
    WEFT_PARAM_DOUBLE("p", 0, 1, p_default, p_doc),         \
        WEFT_PARAM_INT_MIN("min_keep", 1, "1", "Keep at least this many tokens")
/* Checks args[0] (p) and args[1] (min_keep) and returns a zeroed state of
 * `size` bytes with them set; NULL after reporting the error through env. */
weft_p_keep *weft_p_keep_new(const weft_env *env, const weft_value *args, size_t size);

/* ---- candidates and distributions --------------------------------------- */

/* Sort by logit, descending (sets sorted). */
void weft_cands_sort(weft_candidates *c);
/* Keep the k highest logits, sorted descending (k >= size: full sort). Uses
 * selection, not a full sort, when k is small. */
void weft_cands_top_k(weft_candidates *c, size_t k);
/* Keep only the highest logit (lowest id on ties): greedy decoding. */
void weft_cands_keep_argmax(weft_candidates *c);
/* p = softmax(logit) over the set; returns the max logit. -inf logits get p 0. */
float weft_cands_softmax(weft_candidates *c);
/* Index of the highest logit (first on ties, by lowest id), or -1 if empty. */
ptrdiff_t weft_cands_argmax(const weft_candidates *c);

/* p of token t in d, 0 if absent (linear scan). */
float weft_dist_prob(const weft_dist *d, weft_token t);
/* Token with the highest p (lowest id on ties), -1 if empty. */
weft_token weft_dist_argmax(const weft_dist *d);
/* Inverse-CDF draw with u in [0, 1). */
weft_token weft_dist_sample(const weft_dist *d, double u);

/* ---- candidate selection and statistics (sdk/candidates.c) ------------- */

/* Moves the k highest logits to the front, sorted descending (lowest id on
 * ties), and keeps every other candidate behind them (size unchanged; sets
 * sorted only when k >= size). Heap selection, O(n log k): for rules that
 * need a sorted prefix of unknown length (top-p, mirostat). */
void weft_cands_partial_sort(weft_candidates *c, size_t k);
/* pos[j] = index in c of token ids[j], or -1 when absent; ids are m distinct
 * tokens in ascending order. Tries slot ids[j] first (the core fills the set
 * in id order), then one pass over the set for the rest: O(m) or O(n log m). */
void weft_cands_locate(const weft_candidates *c, const weft_token *ids, size_t m, ptrdiff_t *pos);
/* log(sum exp(logit)) over c, in double: p_i = exp(logit_i - lse). -inf when
 * c is empty or all -inf. */
double weft_cands_logsumexp(const weft_candidates *c);
/* logits /= t in double, clamped to +-FLT_MAX (infinities kept); t <= 0
 * keeps only the argmax (the limit t -> 0+). Order, and `sorted`, are kept. */
void weft_cands_temperature(weft_candidates *c, double t);

/* ---- scratch buffers (sdk/scratch.c) ------------------------------------ */

/* Makes *buf hold at least n elements of elem bytes, growing geometrically
 * through the host allocator (contents kept, never shrinks), so per-token
 * methods allocate only while a new maximum is reached. false after
 * reporting "out of memory" through env. */
bool weft_scratch_reserve(const weft_env *env, void **buf, size_t *cap, size_t n, size_t elem);

/* ---- draft trees --------------------------------------------------------- */

/* The first verifiable child of `parent` (a node index, -1 for the root)
 * with node index > `after` (pass `parent` to start), in tree order; -1 when
 * there is none. Auxiliary nodes are skipped. Children follow their parent
 * (parents[i] < i), so walking all children of one node is O(n_nodes). */
int32_t weft_tree_next_child(const weft_tree *t, int32_t parent, int32_t after);

/* ---- residual distributions ----------------------------------------------- */

/* A distribution that recursive rejection sampling reshapes step by step
 * (sdk/residual.c): unnormalised weights, dense by token id so p(x) is O(1),
 * zero outside `ids`, its support. Buffers grow geometrically and are reused:
 * once the vocabulary has been seen, nothing is allocated. */
typedef struct weft_residual {
    const weft_env *env; /* for errors and the allocator */
    double *w;
    size_t w_cap;
    weft_token *ids;
    size_t n_ids, ids_cap;
    double total; /* sum of w: p(x) = w[x] / total */
} weft_residual;

/* An empty residual reporting through env (no allocation yet). */
void weft_residual_init(weft_residual *r, const weft_env *env);
/* Frees the buffers; r is empty and usable again. */
void weft_residual_free(weft_residual *r);
/* r <- d (entries with p > 0; repeated ids add up). INVALID on a negative
 * id, NOMEM; both reported through env. */
weft_status weft_residual_load(weft_residual *r, const weft_dist *d);
/* Empties r in O(support). */
void weft_residual_clear(weft_residual *r);
/* Normalised probability of x; 0 outside the support or when empty. */
double weft_residual_prob(const weft_residual *r, weft_token x);
/* p <- norm(max(0, p - q)): what is left of p after rejecting a draw from q
 * (kept when that is only rounding noise, i.e. p == q). */
void weft_residual_subtract(weft_residual *p, const weft_residual *q);
/* r <- norm(r without x) (kept when x is the whole support). */
void weft_residual_remove(weft_residual *r, weft_token x);
/* Inverse-CDF draw with u in [0, 1); -1 when empty. */
weft_token weft_residual_sample(const weft_residual *r, double u);

/* ---- lossless verification by recursive rejection sampling -------------- */

/* How a drafter drew the siblings under one position from the draft
 * distribution it reports there; it decides how q changes after a
 * rejection (sdk/rejection.c). */
typedef enum weft_sibling_draw {
    WEFT_SIBLINGS_IID = 0,      /* with replacement: q stays (SpecInfer) */
    WEFT_SIBLINGS_DISTINCT = 1, /* without replacement, in tree order: q loses
                                   each rejected token (RSD) */
} weft_sibling_draw;

/* Scratch of weft_rejection_verify: the working target and draft. */
typedef struct weft_rejection {
    weft_residual p, q;
} weft_rejection;

void weft_rejection_init(weft_rejection *s, const weft_env *env);
void weft_rejection_free(weft_rejection *s);
/* A whole lossless verify(): walks the tree from the root, testing the
 * children of each position in tree order, and sets the accepted path and
 * the correction or bonus token. Siblings without a draft distribution are
 * tested as q = δ_x (lossless for distinct, deterministic drafts). */
weft_status weft_rejection_verify(weft_rejection *s, const weft_verify_ctx *ctx, weft_sibling_draw draw,
                                  weft_verify_result *out);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_SDK_H */
