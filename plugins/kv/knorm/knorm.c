/* knorm: keep the keys with the smallest L2 norm, which draw the most
 * attention, needing no attention at all (Devoto et al. 2024, "A Simple
 * and Effective L2 Norm-Based Strategy for KV Cache Compression"). */
#include <math.h>

#include "evict.h"

enum { MAX_HEAD_DIM = 1024 };

static bool score(const weft_kv_view *v, int h, int n_heads, float *out, int32_t from, int32_t n) {
    (void)n_heads;
    float tmp[MAX_HEAD_DIM];
    if (v->head_dim > MAX_HEAD_DIM) return false;
    const int h0 = h < 0 ? 0 : h, h1 = h < 0 ? v->n_kv_heads : h + 1;
    for (int32_t i = from; i < n; i++) {
        double s = 0;
        for (int g = h0; g < h1; g++) {
            const float *row = kvc_key_row(v, i, g, tmp);
            float ss = 0;
            for (int d = 0; d < v->head_dim; d++) ss += row[d] * row[d];
            s += sqrtf(ss);
        }
        out[i] = (float)-s;
    }
    return true;
}

/* stable: a key's norm never changes while it is stored (re-rotation keeps it) */
static const kvc_method KNORM = {.signals = WEFT_KV_NEEDS_KEYS, .score = score, .stable = true};

static const weft_param_desc PARAMS[] = {KVC_PARAMS("0", "16", "false")};

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    return kvc_create(env, args, &KNORM, self);
}

static const weft_component_desc DESC = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_KV_COMPRESSOR,
    .name = "knorm",
    .version = "1.0",
    .description = "Keep the keys of smallest L2 norm and the most recent entries (no attention needed)",
    .params = PARAMS,
    .n_params = WEFT_COUNT_OF(PARAMS),
    .create = create,
    .destroy = kvc_destroy,
    .vtable = &kvc_vtable,
};

static const weft_component_desc *const COMPONENTS[] = {&DESC};
WEFT_PLUGIN_DEFINE(COMPONENTS)
