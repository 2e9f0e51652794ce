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

/* ---- draft trees --------------------------------------------------------- */

/* The first verifiable child of `parent` (a node index, -1 for the root)
 * with node index > `after` (pass `parent` to start), in tree order; -1 when
 * there is none. Auxiliary nodes are skipped. Children follow their parent
 * (parents[i] < i), so walking all children of one node is O(n_nodes). */
int32_t weft_tree_next_child(const weft_tree *t, int32_t parent, int32_t after);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_SDK_H */
