/* greedy: keep only the most likely token (lowest id on ties), so the
 * distribution the verifier draws from is one-hot. */
#include <weft/sdk.h>

static weft_status greedy_create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    *self = weft_state_new(env, sizeof(weft_state));
    return *self ? WEFT_OK : WEFT_ERR_NOMEM;
}

static weft_status greedy_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)self;
    (void)ctx;
    weft_cands_keep_argmax(c);
    return WEFT_OK;
}

static const weft_sampler_vtable greedy_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = greedy_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc greedy_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "greedy",
    .version = "1.0",
    .description = "Keep only the most likely token (argmax, lowest id on ties)",
    .create = greedy_create,
    .destroy = weft_state_free,
    .vtable = &greedy_vtable,
};

static const weft_component_desc *const components[] = {&greedy_desc};
WEFT_PLUGIN_DEFINE(components)
