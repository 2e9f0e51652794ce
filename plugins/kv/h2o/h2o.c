/* h2o: heavy hitters by accumulated attention plus a recent window (Zhang
 * et al. 2023, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference
 * of Large Language Models"); by default half the budget is the window. */
#include "evict.h"

static bool score(const weft_kv_view *v, int h, int n_heads, float *out, int32_t from, int32_t n) {
    return kvc_sum_heads(v->attn_accum, v, h, n_heads, out, from, n);
}

static const kvc_method H2O = {.signals = WEFT_KV_NEEDS_ATTN_ACCUM, .score = score};

static const weft_param_desc PARAMS[] = {KVC_PARAMS("0", "-1", "false")};

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    return kvc_create(env, args, &H2O, self);
}

static const weft_component_desc DESC = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_KV_COMPRESSOR,
    .name = "h2o",
    .version = "1.0",
    .description = "Keep the entries with the most accumulated attention and the most recent ones (H2O)",
    .params = PARAMS,
    .n_params = WEFT_COUNT_OF(PARAMS),
    .create = create,
    .destroy = kvc_destroy,
    .vtable = &kvc_vtable,
};

static const weft_component_desc *const COMPONENTS[] = {&DESC};
WEFT_PLUGIN_DEFINE(COMPONENTS)
