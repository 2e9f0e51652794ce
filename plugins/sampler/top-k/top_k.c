/* top-k: keep the k highest logits (Fan et al. 2018, "Hierarchical Neural
 * Story Generation"). k = 0 disables it. */
#include <weft/sdk.h>

typedef struct top_k {
    weft_state base;
    size_t k;
} top_k;

static const weft_param_desc params[] = {
    WEFT_PARAM_INT_MIN("k", 0, "40", "Number of most likely tokens to keep; 0 keeps all"),
};

static weft_status top_k_create(const weft_env *env, const weft_value *args, void **self) {
    if (args[0].u.i < 0) {
        weft_error(env, "k must be >= 0, got %lld", (long long)args[0].u.i);
        return WEFT_ERR_INVALID;
    }
    top_k *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->k = (size_t)args[0].u.i;
    *self = s;
    return WEFT_OK;
}

static weft_status top_k_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    const size_t k = ((const top_k *)self)->k;
    /* Nothing to drop: skip the sort weft_cands_top_k would do. */
    if (k == 0 || k >= c->size) return WEFT_OK;
    weft_cands_top_k(c, k); /* heap selection, O(n log k) */
    return WEFT_OK;
}

static const weft_sampler_vtable top_k_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = top_k_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc top_k_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "top-k",
    .version = "1.0",
    .description = "Keep the k most likely tokens",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = top_k_create,
    .destroy = weft_state_free,
    .vtable = &top_k_vtable,
};

static const weft_component_desc *const components[] = {&top_k_desc};
WEFT_PLUGIN_DEFINE(components)
