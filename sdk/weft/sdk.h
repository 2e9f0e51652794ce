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
/* Merges `path` (n tokens under the root) into t as a trie: follows the
 * verifiable children that match and appends the rest as new nodes (flags 0,
 * draft_p NaN) while t has fewer than max_nodes nodes and the path is at most
 * max_depth deep. Siblings therefore stay distinct, which keeps the q = δ
 * rule of verifiers lossless. Returns how many tokens of the path the tree
 * now holds. */
size_t weft_tree_insert_path(weft_tree *t, const weft_token *path, size_t n, size_t max_nodes, size_t max_depth);

/* ---- n-gram lookup (sdk/lookup.c) ----------------------------------------- */

/* What followed the most recent earlier occurrence of the last n tokens of
 * h[0..len), trying n from max_n down to min_n: returns its length (at most
 * max; 0 when no n matches) and sets *from to its start in h. */
size_t weft_lookup_continuation(const weft_token *h, size_t len, size_t min_n, size_t max_n, size_t max,
                                size_t *from);

/* ---- growing a draft tree with a model (sdk/expand.c) ------------------- */

/* Drafters that run a model (a nested draft backend, the target's first
 * layers) grow their tree best-first, as DySpec (Xiong et al. 2024): each
 * open slot (a position and the rank of its next child) is valued by the
 * draft probability of the path to it, and the best slot gets the next node.
 * Positions are evaluated in waves, one backend eval() each, when a slot
 * needs their distribution; a chain is extended in place, a tree is
 * re-evaluated whole (a batch's tree attention reaches only rows of the same
 * batch, so rows of an earlier wave cannot be attended selectively). */
typedef enum weft_expand_draw {
    /* The k-th child is the k-th most likely token, valued by its own
     * probability; q is not reported (verifiers use the q = δ rule, lossless
     * for any target). Best for greedy targets. */
    WEFT_EXPAND_TOP_K = 0,
    /* Children are drawn from q without replacement, in tree order (the
     * rsd scheme of multi-draft), and q is reported. A slot is valued before
     * its token is drawn (path probability x the mass not drawn yet), so
     * which nodes exist never depends on the values drawn for them, as
     * lossless verification requires. */
    WEFT_EXPAND_SAMPLE_DISTINCT = 1,
    /* Children drawn i.i.d. from q (SpecInfer; speculative-sampling). */
    WEFT_EXPAND_SAMPLE_IID = 2,
} weft_expand_draw;

#define WEFT_EXPAND_MAX_K 64

typedef struct weft_expand_params {
    weft_expand_draw draw;
    size_t top_k;         /* most children per position (<= WEFT_EXPAND_MAX_K); 1: a chain */
    double temperature;   /* q = softmax(logits / temperature) */
    double min_prob;      /* no node on a path whose draft probability is below this */
    int32_t n_layers_run; /* for every batch: 0 = all layers (weft_batch) */
    /* Tokens expected to follow the root (a chain, top_k 1, only): they
     * ride in the first batch after the pending tokens, and each one the
     * chain then draws saves an eval. The drafted chain is the same with or
     * without them. */
    const weft_token *guess;
    size_t n_guess;
} weft_expand_params;

typedef struct weft_expander {
    const weft_env *env;
    /* after weft_expand: rows of tree nodes left in the backend's cache
     * after the pending tokens, and each node's row among them (-1: not
     * evaluated); the caller keeps or rolls them back */
    size_t n_rows;
    int32_t *row_of;
    size_t n_evals; /* eval() calls of the last expansion */
    /* scratch, grown through the host allocator */
    void *buf[12];
    size_t cap[12];
} weft_expander;

/* The parameters every model drafter declares, in this order (values from
 * args[first..first + WEFT_EXPAND_N_PARAMS) with weft_expand_params_from). */
extern const char *const weft_expand_draw_choices[];     /* auto, top-k, sample */
extern const char *const weft_expand_sibling_choices[];  /* iid, distinct */
#define WEFT_EXPAND_N_PARAMS 6
#define WEFT_EXPAND_PARAM_DESCS(max_draft_def)                                                                      \
    WEFT_PARAM_INT("top_k", 1, WEFT_EXPAND_MAX_K, "1", "Most children per node (1: a chain)"),                    \
    WEFT_PARAM_INT("max_draft", 1, 256, max_draft_def, "Deepest drafted path"),                                    \
    {.struct_size = sizeof(weft_param_desc), .name = "draw", .type = WEFT_TYPE_STRING, .def = "\"auto\"",        \
     .doc = "top-k: likeliest tokens, q not reported; sample: drawn from q, q reported; auto: top-k while the "   \
            "target is greedy",                                                                                    \
     .choices = weft_expand_draw_choices},                                                                         \
    {.struct_size = sizeof(weft_param_desc), .name = "siblings", .type = WEFT_TYPE_STRING, .def = "\"iid\"",     \
     .doc = "Sampled siblings: iid (any lossless verifier) or distinct (multi-draft rsd only)",                   \
     .choices = weft_expand_sibling_choices},                                                                      \
    WEFT_PARAM_DOUBLE_MIN("temperature", 0, "1", "Temperature of the draft distribution q"),                      \
    WEFT_PARAM_DOUBLE("min_prob", 0, 1, "0", "Draft no path whose draft probability is below this")

/* What the drafter's parameters ask for, resolved each step: "auto" draws
 * top-k while the last target distribution observed at the root had a
 * single token (a greedy target, where q = δ drafts are best), and samples
 * otherwise. Deciding from past steps only keeps verification lossless. */
typedef struct weft_expand_config {
    weft_expand_params p;
    size_t max_draft;
    int draw;      /* 0 auto, 1 top-k, 2 sample */
    bool distinct; /* sampled siblings without replacement */
    bool greedy_target;
} weft_expand_config;

void weft_expand_config_from(weft_expand_config *c, const weft_value *args);
/* The params of this step, within ctx's budget (max_depth capped by max_draft). */
weft_expand_params weft_expand_config_step(const weft_expand_config *c, const weft_draft_ctx *ctx,
                                           weft_draft_ctx *step_ctx);
/* Learns whether the target is greedy from an observation. */
void weft_expand_config_observe(weft_expand_config *c, const weft_observe *obs);

void weft_expander_init(weft_expander *x, const weft_env *env);
void weft_expander_free(weft_expander *x);
/* Evaluates `pending` (n >= 1 tokens at positions pos0.., causal, ending
 * with the root) on `backend`, then grows `out` within ctx's budgets from the
 * root's distribution. draft_dists entries point into x until the next call.
 * A backend whose cache is full ends the tree early (WEFT_OK); the pending
 * tokens stay evaluated unless the first eval failed (then n_evals is 0). */
weft_status weft_expand(weft_expander *x, weft_instance *backend, const weft_expand_params *p,
                        const weft_token *pending, size_t n_pending, int32_t pos0, const weft_draft_ctx *ctx,
                        weft_tree *out);

/* ---- guesses for weft_expand (sdk/guess.c) ------------------------------- */

/* Where the guesses of a model drafter come from: a nested drafter's
 * first chain (`guess_from`), or else what followed the last 1-3 tokens
 * earlier in the text. `guess` caps their number; 0 turns them off. */
typedef struct weft_guesser {
    const weft_env *env;
    size_t max;
    weft_instance *from; /* or NULL */
    weft_tree tree;      /* from's draft */
    weft_token *chain;   /* its first chain */
} weft_guesser;

#define WEFT_GUESS_N_PARAMS 2
#define WEFT_GUESS_PARAM_DESCS(guess_def)                                                                           \
    WEFT_PARAM_INT("guess", 0, 256, guess_def, "Most guessed tokens to ride in the first batch (chains; 0: none)"), \
    {.struct_size = sizeof(weft_param_desc), .name = "guess_from", .type = WEFT_TYPE_COMPONENT,                   \
     .doc = "A drafter whose draft (its first chain) is the guess; none: n-gram lookup in the text",             \
     .nested_kind = WEFT_KIND_DRAFTER}

/* From args[0..WEFT_GUESS_N_PARAMS) of WEFT_GUESS_PARAM_DESCS. */
weft_status weft_guesser_init(weft_guesser *g, const weft_env *env, const weft_value *args);
void weft_guesser_free(weft_guesser *g);
/* A drafter's start() and observe() pass these on to `from`. */
weft_status weft_guesser_start(weft_guesser *g, const weft_token *prompt, size_t n);
weft_status weft_guesser_observe(weft_guesser *g, const weft_observe *obs);
/* Sets p->guess and p->n_guess for this step (pointing into g or history). */
weft_status weft_guesser_guess(weft_guesser *g, const weft_draft_ctx *ctx, weft_expand_params *p);

/* ---- choosing among arms by throughput (sdk/bandit.c) -------------------- */

/* A discounted UCB bandit (BanditSpec: Hou et al. 2025, "BanditSpec:
 * Adaptive Speculative Decoding via Bandit Algorithms"; UCB1: Auer et al.
 * 2002) whose arms are configurations (draft budgets, exit layers) and each
 * pull a decode step, which commits some tokens in some time.
 *
 *  - An arm's value is its throughput, total tokens over total seconds: the
 *    mean of per-step rates would let a few slow steps (a preempted thread, a
 *    page fault) count for as little as fast ones, and overrate every arm.
 *  - The index compares throughputs by their ratio to the best arm's, on a
 *    log scale: ln(x_a / x_best) + c * sqrt(2 ln N / n_a). The ratio makes c
 *    independent of the model and machine. The log makes exploration cost
 *    aware: an arm 20 times slower is 3 behind, so its bonus rarely catches
 *    up, where a linear scale would cap its gap at 1.
 *  - Step costs drift, so every pull discounts all past ones by gamma
 *    (discounted UCB, Garivier & Moulines 2011); gamma = 1 is plain UCB1.
 *  - Optionally (weft_bandit_limit), exploration is cautious, for arms ordered
 *    by cost with arm 0 the reference (plain decoding): it may lose at most a
 *    share of the elapsed time, and arm k + 1 is explored only once arm k
 *    beats arm 0. See weft_bandit_limit.
 * Pure arithmetic, no clock, so tests drive it with chosen costs. */
#define WEFT_BANDIT_MAX_ARMS 32

typedef struct weft_bandit {
    size_t n_arms;
    double c, gamma;
    double share; /* > 0: exploration may lose this share of the elapsed time (weft_bandit_limit) */
    /* discounted sums: pulls, tokens and seconds of each arm */
    double n[WEFT_BANDIT_MAX_ARMS], tokens[WEFT_BANDIT_MAX_ARMS], seconds[WEFT_BANDIT_MAX_ARMS];
    uint64_t plays[WEFT_BANDIT_MAX_ARMS]; /* undiscounted, for reports */
    /* with a share: seconds of all steps, and the seconds that steps off the
     * incumbent cost beyond what it would have taken for their tokens */
    double elapsed, lost;
} weft_bandit;

/* c: exploration constant; gamma in (0, 1]: discount per pull. */
void weft_bandit_init(weft_bandit *b, size_t n_arms, double c, double gamma);
/* Makes exploration cautious; share in (0, 1), 0 turns it off (plain UCB).
 *  - The arm played is the incumbent, the arm with the best lower bound,
 *    ln x_a - c * sqrt(2 ln N / n_a): a few lucky steps do not make an arm
 *    the incumbent.
 *  - Exploring (UCB's choice, when it is not the incumbent) is allowed only
 *    while the time exploration lost so far is below `share` of all the time
 *    played. A step off the incumbent loses its seconds minus the seconds the
 *    incumbent would have taken for its tokens: an arm 20 times slower pays
 *    for 20 steps of waiting, one that is faster earns exploration credit.
 *  - Arms are explored in order: arm k + 1 is a candidate only while arm k's
 *    throughput beats arm 0's (throughput is unimodal in the draft budget).
 * So where every other arm loses to arm 0, exploring costs at most about
 * `share` of the time; where one wins, it is found as fast as plain UCB
 * would. Kept by weft_bandit_reset. */
void weft_bandit_limit(weft_bandit *b, double share);
/* Forgets every step. */
void weft_bandit_reset(weft_bandit *b);
/* The arm to play: each untried arm in order, then the highest index (the
 * lower arm on ties). With a share (weft_bandit_limit), see there. */
size_t weft_bandit_choose(const weft_bandit *b);
/* Records one step of arm a: `tokens` (>= 0) committed in `seconds` (> 0). */
void weft_bandit_update(weft_bandit *b, size_t a, double tokens, double seconds);
/* Throughput of arm a, tokens per second (0 if never played). */
double weft_bandit_mean(const weft_bandit *b, size_t a);
/* The arm with the highest throughput among those played (0 if none); with a
 * share, the incumbent (weft_bandit_limit). */
size_t weft_bandit_best(const weft_bandit *b);

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
