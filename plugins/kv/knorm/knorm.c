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

KVC_DEFINE_PLUGIN("knorm",
                  "Keep the keys of smallest L2 norm and the most recent entries (no attention needed)",
                  KNORM, "0", "16", "false")
