/* broken-nan: a sampler that log-normalises its logits the naive way,
 * logit - log(sum(exp(logit))) in float. Fine for everyday logits; once one
 * overflows exp() (above ~88) the sum is inf and every logit becomes -inf
 * (or NaN), so nothing can be drawn: weft-plugin-check's sampler.extremes
 * must catch it. */
#include <math.h>

#include <weft/sdk.h>

static weft_status bn_create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    *self = weft_state_new(env, sizeof(weft_state));
    return *self ? WEFT_OK : WEFT_ERR_NOMEM;
}

static weft_status bn_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)self, (void)ctx;
    float sum = 0;
    for (size_t i = 0; i < c->size; i++) sum += expf(c->data[i].logit); /* the defect: no max subtracted */
    float lse = logf(sum);
    for (size_t i = 0; i < c->size; i++) c->data[i].logit -= lse;
    return WEFT_OK;
}

static const weft_sampler_vtable bn_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = bn_apply,
};

static const weft_component_desc bn_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "broken-nan",
    .version = "1.0",
    .description = "Test fixture: log-normalises without subtracting the max (broken on large logits)",
    .create = bn_create,
    .destroy = weft_state_free,
    .vtable = &bn_vtable,
};

static const weft_component_desc *const components[] = {&bn_desc};
WEFT_PLUGIN_DEFINE(components)
