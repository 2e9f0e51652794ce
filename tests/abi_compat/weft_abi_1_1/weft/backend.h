/* weft plugin ABI — the backend kind: tokenizer, model evaluation, KV cache.
 *
 * One backend instance holds one sequence: a KV cache of committed (and
 * freshly evaluated) tokens. eval() appends every token of the batch to the
 * cache; kv_keep() then drops the rows of the most recent entries that were
 * not accepted. Rollback is kv_keep(n, NULL, 0). */
#ifndef WEFT_BACKEND_H
#define WEFT_BACKEND_H

#include "dist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Token attributes (weft_backend_vtable.token_attr). */
#define WEFT_TOKEN_NORMAL (1u << 0)
#define WEFT_TOKEN_CONTROL (1u << 1)  /* <s>, </s>, <|im_end|>, ...: not text */
#define WEFT_TOKEN_BYTE (1u << 2)     /* <0x0A>-style byte-fallback token */
#define WEFT_TOKEN_UNKNOWN (1u << 3)
#define WEFT_TOKEN_EOG (1u << 4)      /* ends generation (EOS, EOT) */

typedef struct weft_model_info {
    size_t struct_size;
    const char *arch;   /* "llama", "qwen2", ... */
    const char *name;   /* human-readable model name */
    int32_t n_vocab;
    int32_t n_ctx;      /* maximum tokens the cache holds */
    int32_t n_ctx_train;
    int32_t n_layers;
    int32_t n_embd;
    int32_t n_heads, n_kv_heads, head_dim;
    weft_token bos, eos; /* -1 if none */
    bool add_bos;        /* tokenize() adds BOS when add_special */
    uint64_t n_params;
    uint64_t weight_bytes; /* bytes of weights read per token */
} weft_model_info;

/* Signal requests (weft_batch.signals) — computed only when asked for. */
#define WEFT_SIGNAL_HIDDEN (1u << 0)    /* hidden state after layer `hidden_layer` */
/* Attention probabilities summed per cache slot. Rows of a tree batch
 * (parents != NULL) count only once kv_keep() keeps them, so rejected draft
 * rows never do (ABI 1.1 reading). */
#define WEFT_SIGNAL_ATTN_ACCUM (1u << 1)
/* ABI 1.1: the attention of the batch's last `obs_window` rows (queries)
 * summed per cache slot and head, replacing the previous window's
 * (weft_kv_view.obs_attn; SnapKV's observation window at prefill). */
#define WEFT_SIGNAL_OBS_WINDOW (1u << 2)

typedef struct weft_batch {
    size_t struct_size;
    size_t n_tokens;
    const weft_token *tokens;
    const int32_t *positions; /* absolute positions (RoPE); NULL = cache length + i */
    /* Tree attention: token i attends to the cache as it was before this
     * batch plus its ancestors in the batch (parents[i] < i, -1 = none) and
     * itself. NULL = causal: token i attends to tokens 0..i of the batch. */
    const int32_t *parents;
    /* Rows whose logits are wanted, ascending; logits[k * n_vocab ...] gets
     * row out_rows[k]. */
    size_t n_out;
    const int32_t *out_rows;
    float *logits;
    /* Layer-range evaluation: run layers [0, n_layers_run) then the final
     * norm and LM head; 0 = all layers. When < n_layers, the KV entries of the
     * skipped layers for these tokens are left unfilled and the caller must
     * roll them back before a full eval (early-exit drafting). */
    int32_t n_layers_run;
    uint32_t signals;
    int32_t hidden_layer;  /* WEFT_SIGNAL_HIDDEN: after this layer (n_layers = final) */
    float *hidden;         /* n_out * n_embd, rows as logits */
    /* ---- ABI 1.1 ---- */
    int32_t obs_window;    /* WEFT_SIGNAL_OBS_WINDOW: rows in the window */
} weft_batch;

/* KV element types. */
typedef enum weft_kv_type {
    WEFT_KV_F32 = 0,
    WEFT_KV_F16 = 1,
    WEFT_KV_Q8_0 = 2,
    WEFT_KV_Q4 = 3, /* ABI 1.1: 4-bit; the block layout is the backend's */
} weft_kv_type;

/* Read-only view of one layer's cache, for KV compressors. Keys are stored
 * rotated (RoPE applied). Row r of head h begins at
 * keys + (r * n_kv_heads + h) * row_stride bytes, likewise values. */
typedef struct weft_kv_view {
    size_t struct_size;
    int32_t n_slots;
    int32_t n_kv_heads, head_dim;
    weft_kv_type type;
    size_t row_stride;        /* bytes per (slot, head) row */
    const void *keys, *values;
    const int32_t *positions; /* positions[slot] */
    const float *attn_accum;  /* n_slots * n_heads summed attention, or NULL */
    /* ---- ABI 1.1 ---- */
    /* n_slots * n_heads: attention of the last observation window, or NULL */
    const float *obs_attn;
    size_t bytes;             /* bytes this layer's cache holds (all slots) */
    /* Slots [0, n_quantized) are stored quantized; keys/values then point to
     * an F32 copy of every slot (type WEFT_KV_F32) made for the view. */
    int32_t n_quantized;
} weft_kv_view;

/* A compaction plan: for each layer, the ordered slots to keep. Head-wise
 * plans give per-head lists of equal length (composite slots). */
typedef struct weft_kv_plan {
    size_t struct_size;
    int32_t n_layers;
    const int32_t *n_keep;        /* per layer */
    const int32_t *const *keep;   /* per layer: n_keep[l] slots, or n_keep*n_kv_heads if head_wise */
    bool head_wise;
    /* Re-assign positions 0..n_keep-1 in order and re-rotate the keys
     * (StreamingLLM), instead of keeping original positions. */
    bool reposition;
    /* ---- ABI 1.1 ---- */
    /* Per layer: store the first n_quantized[l] kept slots as quant_type
     * (keys with per-channel scales, values with per-token scales, as KIVI);
     * slots stored quantized stay so. NULL: no change of precision. A
     * backend may round n_quantized down to its group size (the view's
     * n_quantized tells). */
    const int32_t *n_quantized;
    weft_kv_type quant_type;  /* WEFT_KV_Q8_0 or WEFT_KV_Q4 */
} weft_kv_plan;

typedef struct weft_backend_vtable {
    size_t struct_size;

    const weft_model_info *(*info)(void *self);

    /* Tokenizer. Writes up to cap ids, sets *n_out to the count needed; returns
     * WEFT_ERR_INVALID with *n_out > cap when the buffer is short.
     * add_special: BOS (per the model's add_bos). parse_special: text such as
     * "<s>" maps to control tokens. */
    weft_status (*tokenize)(void *self, const char *text, size_t len, bool add_special,
                            bool parse_special, weft_token *out, size_t cap, size_t *n_out);
    /* The raw bytes of one token (byte tokens as their byte, control tokens
     * as "" unless `special`). A UTF-8 character may span tokens. */
    weft_status (*token_bytes)(void *self, weft_token tok, bool special, char *buf, size_t cap,
                               size_t *len);
    uint32_t (*token_attr)(void *self, weft_token tok);

    /* Evaluate a batch (appended to the cache). Fails with
     * WEFT_ERR_CONTEXT_FULL, leaving the cache unchanged, when it does not fit. */
    weft_status (*eval)(void *self, const weft_batch *batch);

    /* Number of entries in the cache. */
    int32_t (*kv_len)(void *self);
    /* Among the last n_tail entries, keep rows keep[0..n_keep) (ascending,
     * relative to the tail) and drop the rest; earlier entries are untouched.
     * kv_keep(self, n, NULL, 0) rolls back n entries. */
    weft_status (*kv_keep)(void *self, int32_t n_tail, const int32_t *keep, int32_t n_keep);

    /* Optional: KV compression support. */
    weft_status (*kv_view)(void *self, int32_t layer, weft_kv_view *out);
    weft_status (*kv_compact)(void *self, const weft_kv_plan *plan);
} weft_backend_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WEFT_BACKEND_H */
