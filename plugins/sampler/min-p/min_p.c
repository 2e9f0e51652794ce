/* min-p sampling (Nguyen et al. 2024, "Turning Up the Heat: Min-p Sampling"):
 * keep tokens whose probability is at least p times the top probability.
 * Compared in logit space, l_i >= l_max + log p, so no softmax is needed
 * (llama.cpp's llama_sampler_min_p does the same). */
#include <math.h>

#include <weft/sdk.h>

static const weft_param_desc params[] = {
    WEFT_P_KEEP_PARAMS("0.05", "Keep tokens with probability >= p * the top probability"),
};

static weft_status min_p_create(const weft_env *env, const weft_value *args, void **self) {
    *self = weft_p_keep_new(env, args, sizeof(weft_p_keep));
    return *self ? WEFT_OK : WEFT_ERR_INVALID;
}

static weft_status min_p_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    const weft_p_keep *s = self;
    if (s->p <= 0 || c->size <= s->min_keep) return WEFT_OK;
    float max = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > max) max = c->data[i].logit;
    /* p = 1 gives min_logit = max, so the top token(s) always survive. */
    const double min_logit = (double)max + log(s->p);
    size_t n = 0;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= min_logit) n++;
    if (n < s->min_keep) {
        /* The survivors are the n best, so the min_keep best contain them. */
        weft_cands_top_k(c, s->min_keep);
        return WEFT_OK;
    }
    n = 0; /* stable compaction keeps c->sorted valid */
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= min_logit) c->data[n++] = c->data[i];
    c->size = n;
    return WEFT_OK;
}

static const weft_sampler_vtable min_p_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = min_p_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc min_p_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "min-p",
    .version = "1.0",
    .description = "Keep tokens whose probability is at least p times the top probability",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = min_p_create,
    .destroy = weft_state_free,
    .vtable = &min_p_vtable,
};

static const weft_component_desc *const components[] = {&min_p_desc};
WEFT_PLUGIN_DEFINE(components)
