/* h2o: heavy hitters by accumulated attention plus a recent window (Zhang
 * et al. 2023, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference
 * of Large Language Models"); by default half the budget is the window. */
#include "evict.h"

static bool score(const weft_kv_view *v, int h, int n_heads, float *out, int32_t from, int32_t n) {
    return kvc_sum_heads(v->attn_accum, v, h, n_heads, out, from, n);
}

static const kvc_method H2O = {.signals = WEFT_KV_NEEDS_ATTN_ACCUM, .score = score};

KVC_DEFINE_PLUGIN("h2o",
                  "Keep the entries with the most accumulated attention and the most recent ones (H2O)",
                  H2O, "0", "-1", "false")
