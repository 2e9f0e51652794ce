/* snapkv: per kv head, the entries the last prefill queries (the
 * observation window) attend to most, max-pooled over neighbours so that
 * kept entries keep their context (Li et al. 2024, "SnapKV: LLM Knows What
 * You are Looking for Before Generation"). Head-wise: each head keeps its
 * own entries, aligned into composite slots. Entries added after prefill
 * have no observation score and are kept by the recent window. */
#include "evict.h"

enum { POOL = 7 }; /* SnapKV's pooling kernel */

static bool score(const weft_kv_view *v, int h, int n_heads, float *out, int32_t from, int32_t n) {
    const bool has = v->struct_size >= offsetof(weft_kv_view, obs_attn) + sizeof v->obs_attn;
    return has && kvc_sum_heads(v->obs_attn, v, h, n_heads, out, from, n);
}

static const kvc_method SNAPKV = {.signals = WEFT_KV_NEEDS_OBS_WINDOW, .head_wise = true, .score = score, .pool = POOL};

KVC_DEFINE_PLUGIN("snapkv",
                  "Per head, keep the entries the end of the prompt attends to, pooled (SnapKV)",
                  SNAPKV, "0", "32", "false")
