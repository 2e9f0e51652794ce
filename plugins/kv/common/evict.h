/* The evictor shared by the KV compressors streaming, h2o, snapkv and
 * knorm. Methods differ only in the signal that scores a slot; everything
 * else is here: when to run (after prefill, then when the cache exceeds
 * budget + slack), which slots are always kept (pinned prompt slots, the
 * first `sinks`, the newest `recent`, the protected tail), top-n selection
 * of the rest by score, per-head (composite) lists, and the plan buffers. */
#ifndef WEFT_KV_EVICT_H
#define WEFT_KV_EVICT_H

#include <weft/kv.h>
#include <weft/sdk.h>

/* Scores slots [from, n) of a layer view for kv head h (-1: every head)
 * into out[from..n), higher kept first. Returns false when its signal is
 * absent (the slots then rank by recency). */
typedef bool (*kvc_score_fn)(const weft_kv_view *v, int h, int n_heads, float *out, int32_t from, int32_t n);

typedef struct kvc_method {
    uint32_t signals;     /* weft_kv_vtable.signals */
    bool head_wise;       /* one list per kv head, aligned into composite slots */
    kvc_score_fn score;   /* NULL: recency (StreamingLLM) */
    int pool;             /* max-pool scores over this many neighbours (SnapKV), 0 = none */
    /* A slot's score depends on its stored key only (key norms): scores are
     * kept across plans, moved with the slots, and only new slots scored. */
    bool stable;
} kvc_method;

/* Parameters every evicting compressor takes, first in its table. */
enum { KVC_P_BUDGET, KVC_P_SLACK, KVC_P_SINKS, KVC_P_RECENT, KVC_P_REPOSITION, KVC_P_WINDOW, KVC_N_PARAMS };
#define KVC_PARAMS(def_sinks, def_recent, def_reposition)                                                       \
    WEFT_PARAM_INT_MIN("budget", 1, "256", "Cache entries per layer kept after compression"),                    \
    WEFT_PARAM_INT_MIN("slack", 0, "16", "Entries the cache may grow past budget before compressing again"),     \
    WEFT_PARAM_INT_MIN("sinks", 0, def_sinks, "Oldest entries always kept (attention sinks)"),                  \
    WEFT_PARAM_INT("recent", -1, 1 << 30, def_recent, "Newest entries always kept (recent window); -1 = half the budget"), \
    WEFT_PARAM_BOOL("reposition", def_reposition, "Re-assign positions 0..n-1 and re-rotate keys (StreamingLLM)"), \
    WEFT_PARAM_INT("obs_window", 1, 4096, "32", "Queries at the end of prefill whose attention scores slots")

typedef struct kvc_evictor kvc_evictor;

/* create() of an evicting compressor: args laid out as KVC_PARAMS. */
weft_status kvc_create(const weft_env *env, const weft_value *args, const kvc_method *m, void **self);
void kvc_destroy(void *self);
extern const weft_kv_vtable kvc_vtable;

/* The whole plugin of an evicting compressor: its parameters (KVC_PARAMS
 * with these defaults), create() for `method`, the descriptor and the entry
 * symbol. A plugin file then holds only its score function and method. */
#define KVC_DEFINE_PLUGIN(name_, description_, method_, def_sinks, def_recent, def_reposition)      \
    static const weft_param_desc PARAMS[] = {KVC_PARAMS(def_sinks, def_recent, def_reposition)};   \
    static weft_status create(const weft_env *env, const weft_value *args, void **self) {         \
        return kvc_create(env, args, &(method_), self);                                              \
    }                                                                                                \
    static const weft_component_desc DESC = {                                                        \
        .struct_size = sizeof(weft_component_desc),                                                  \
        .abi_major = WEFT_ABI_MAJOR,                                                                 \
        .abi_minor = WEFT_ABI_MINOR,                                                                 \
        .kind = WEFT_KIND_KV_COMPRESSOR,                                                             \
        .name = (name_),                                                                             \
        .version = "1.0",                                                                            \
        .description = (description_),                                                              \
        .params = PARAMS,                                                                            \
        .n_params = WEFT_COUNT_OF(PARAMS),                                                           \
        .create = create,                                                                            \
        .destroy = kvc_destroy,                                                                      \
        .vtable = &kvc_vtable,                                                                       \
    };                                                                                               \
    static const weft_component_desc *const COMPONENTS[] = {&DESC};                                  \
    WEFT_PLUGIN_DEFINE(COMPONENTS)

/* Sums a per-slot, per-query-head signal ([slot][n_heads]) over the query
 * heads of kv head h (-1: all heads), slots [from, n). false when sig is NULL. */
bool kvc_sum_heads(const float *sig, const weft_kv_view *v, int h, int n_heads, float *out, int32_t from,
                   int32_t n);

/* ---- shared by every compressor (the budget wrapper, quantize) ---- */

/* ctx->budget[l] when a wrapper set it, else own; ctx->n_pinned[l] or 0
 * (fields past ctx->struct_size read as absent). */
int32_t kvc_budget(const weft_kv_ctx *ctx, int l, int32_t own);
int32_t kvc_pinned(const weft_kv_ctx *ctx, int l);

/* Plan storage grown on demand (not per token in steady state). */
typedef struct kvc_plan_buf {
    int32_t n_layers, cap; /* cap: ints per layer */
    int32_t *n_keep, *n_quant, *data;
    const int32_t **keep;
} kvc_plan_buf;
bool kvc_plan_reserve(kvc_plan_buf *b, int32_t n_layers, int32_t per_layer);
int32_t *kvc_plan_list(kvc_plan_buf *b, int l);
void kvc_plan_free(kvc_plan_buf *b);

/* Key row of (slot, head) of a view as floats (F32, F16 and Q8_0 views):
 * the row itself for F32, else converted into tmp (head_dim floats). */
const float *kvc_key_row(const weft_kv_view *v, int32_t slot, int h, float *tmp);

#endif
