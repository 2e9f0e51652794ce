/* weft plugin ABI — the KV-compressor kind: decides which cache entries to
 * keep. It declares the signals it needs (the backend computes only those)
 * and when it runs; it returns a weft_kv_plan that the backend applies. */
#ifndef WEFT_KV_H
#define WEFT_KV_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Signals (weft_kv_vtable.signals). */
#define WEFT_KV_NEEDS_POSITIONS (1u << 0)
#define WEFT_KV_NEEDS_KEYS (1u << 1)
#define WEFT_KV_NEEDS_ATTN_ACCUM (1u << 2)   /* attention summed per slot */
#define WEFT_KV_NEEDS_OBS_WINDOW (1u << 3)   /* attention of the last queries of prefill */
/* Per-head statistics at prefill. No backend computes a separate profile:
 * compressors derive it from obs_attn (WEFT_KV_NEEDS_OBS_WINDOW). */
#define WEFT_KV_NEEDS_HEAD_PROFILE (1u << 4)

typedef struct weft_kv_schedule {
    size_t struct_size;
    bool after_prefill;
    int32_t every_n_tokens; /* 0 = never */
    int32_t when_over;      /* run when kv_len exceeds this; 0 = never */
    /* ---- ABI 1.1 ---- */
    int32_t obs_window;     /* WEFT_KV_NEEDS_OBS_WINDOW: queries in the window (0 = 32) */
} weft_kv_schedule;

typedef struct weft_kv_ctx {
    size_t struct_size;
    weft_instance *backend; /* read views through its kv_view */
    int32_t n_layers;
    int32_t kv_len;
    /* The newest n_protected slots may still be rolled back or are pending
     * verification: a plan must keep them, in order, at its end. */
    int32_t n_protected;
    bool after_prefill;
    /* ---- ABI 1.1 ---- */
    /* Per layer: entries a plan keeps, set by a wrapper (the budget policy)
     * for the compressor it wraps; NULL: the compressor's own budget. */
    const int32_t *budget;
    /* Per layer: the oldest n_pinned[l] slots must be kept, in order, at the
     * start (a prompt compressed once, as SCOPE); NULL: none. */
    const int32_t *n_pinned;
} weft_kv_ctx;

typedef struct weft_kv_vtable {
    size_t struct_size;
    uint32_t (*signals)(void *self);
    void (*schedule)(void *self, weft_kv_schedule *out);
    /* Fill *out (memory owned by the compressor until its next call). A plan
     * with n_layers == 0 means "nothing to do". */
    weft_status (*plan)(void *self, const weft_kv_ctx *ctx, weft_kv_plan *out);
} weft_kv_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WEFT_KV_H */
