/* top-p (nucleus) sampling, Holtzman et al. 2020: keep the smallest set of
 * most likely tokens whose probability mass reaches p. Boundary rules follow
 * llama.cpp's llama_sampler_top_p: p >= 1 keeps everything, and the token
 * that makes the mass reach p is kept (so p = 0 keeps the argmax). */
#include <weft/sdk.h>

static const weft_param_desc params[] = {
    WEFT_P_KEEP_PARAMS("0.95", "Probability mass to keep, in [0, 1]; 1 keeps all"),
};

static weft_status top_p_create(const weft_env *env, const weft_value *args, void **self) {
    *self = weft_p_keep_new(env, args, sizeof(weft_p_keep));
    return *self ? WEFT_OK : WEFT_ERR_INVALID;
}

static weft_status top_p_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    const weft_p_keep *s = self;
    if (s->p >= 1 || c->size <= s->min_keep) return WEFT_OK;
    weft_cands_softmax(c);
    /* The nucleus is usually a small prefix of the sorted set: sort only a
     * prefix, 64 tokens first, 8 times more each time it is not enough
     * (O(n log k) instead of O(n log n) on a full vocabulary). */
    size_t sorted = c->sorted ? c->size : 0, want = 64;
    double mass = 0;
    for (size_t i = 0; i < c->size; i++) {
        if (i == sorted) {
            weft_cands_partial_sort(c, want); /* the first i are unchanged */
            sorted = want < c->size ? want : c->size;
            want *= 8;
        }
        mass += c->data[i].p;
        if (mass >= s->p && i + 1 >= s->min_keep) {
            c->size = i + 1;
            c->sorted = true;
            break;
        }
    }
    return WEFT_OK;
}

static const weft_sampler_vtable top_p_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = top_p_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc top_p_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "top-p",
    .version = "1.0",
    .description = "Nucleus sampling: keep the most likely tokens up to probability mass p",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = top_p_create,
    .destroy = weft_state_free,
    .vtable = &top_p_vtable,
};

static const weft_component_desc *const components[] = {&top_p_desc};
WEFT_PLUGIN_DEFINE(components)
