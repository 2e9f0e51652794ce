/* top-nσ (Tang et al. 2024, "Top-nσ: Not All Logits Are You Need"; llama.cpp's
 * llama_sampler_top_n_sigma): keep the tokens whose logit is within n
 * standard deviations of the maximum, l >= max - n * σ, with the mean and σ
 * taken over the finite logits (population σ). Working on logits, the cut is
 * the same at any temperature. llama.cpp sets the others to -inf; dropping
 * them gives the same distribution. n <= 0 disables it. */
#include <math.h>

#include <weft/sdk.h>

typedef struct top_n_sigma {
    weft_state base;
    double n;
} top_n_sigma;

static const weft_param_desc params[] = {
    WEFT_PARAM("n", WEFT_TYPE_DOUBLE, 0, 0, 0, "1.0", "Keep logits >= max - n * stddev; <= 0 = off"),
};

static weft_status top_n_sigma_create(const weft_env *env, const weft_value *args, void **self) {
    top_n_sigma *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->n = args[0].u.d;
    *self = s;
    return WEFT_OK;
}

static weft_status top_n_sigma_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    const double n = ((const top_n_sigma *)self)->n;
    if (!(n > 0) || c->size <= 1) return WEFT_OK;
    /* in double: logits near FLT_MAX would overflow a float sum */
    double max = -INFINITY, sum = 0;
    size_t valid = 0;
    for (size_t i = 0; i < c->size; i++) {
        double l = c->data[i].logit;
        if (l == -INFINITY) continue;
        if (l > max) max = l;
        sum += l;
        valid++;
    }
    if (valid == 0) return WEFT_OK;
    double mean = sum / (double)valid, acc = 0;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit != -INFINITY) acc += ((double)c->data[i].logit - mean) * ((double)c->data[i].logit - mean);
    const double cut = max - n * sqrt(acc / (double)valid);
    size_t w = 0; /* stable compaction keeps `sorted` valid; the max always stays */
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= cut) c->data[w++] = c->data[i];
    c->size = w;
    return WEFT_OK;
}

static const weft_sampler_vtable top_n_sigma_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = top_n_sigma_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc top_n_sigma_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "top-n-sigma",
    .version = "1.0",
    .description = "Keep tokens whose logit is within n standard deviations of the maximum",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = top_n_sigma_create,
    .destroy = weft_state_free,
    .vtable = &top_n_sigma_vtable,
};

static const weft_component_desc *const components[] = {&top_n_sigma_desc};
WEFT_PLUGIN_DEFINE(components)
