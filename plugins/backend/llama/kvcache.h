/* The KV cache: per layer, contiguous arrays of keys and values laid out
 * [slot][kv_head][head_dim] in F32, F16 or Q8_0 (one Q8_0 row per (slot,
 * head), blocks of 32), the position of every slot, and optionally the
 * attention each slot received. Keys are stored rotated.
 *
 * A compaction plan may move the oldest slots [0, nq) of a layer to a
 * KIVI-style quantized store (kvquant.h); attention then reads those slots
 * from their codes, never from the full-precision rows, whose pages are
 * given back to the system (rows are page-allocated, committed on first
 * write). Key scales live in a table of groups that each quantized row
 * names, so slots move in their quantized form, without re-rounding.
 *
 * Layers normally hold the same slots, but a compaction plan may keep a
 * different number per layer (PyramidKV); later tokens are appended at each
 * layer's own length, and the newest entries (the "tail") are always the
 * same tokens in every layer. */
#ifndef WEFT_LLAMA_KVCACHE_H
#define WEFT_LLAMA_KVCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <weft/backend.h>

#include "kvquant.h"
#include "model.h"
#include "rope.h"

typedef struct kv_layer {
    uint8_t *k, *v;   /* n_ctx * n_kv_heads rows of row_stride bytes (pages) */
    int32_t *pos;     /* n_ctx positions */
    float *accum;     /* n_ctx * n_heads attention sums, NULL until asked for */
    float *obs;       /* n_ctx * n_heads observation-window sums, NULL until asked for */
    int32_t len;
    int32_t nq;       /* slots [0, nq) live in the quantized store */
    uint8_t *qk, *qv; /* codes per (slot, kv head), qrow bytes each (pages) */
    uint16_t *vs;     /* per (slot, kv head): fp16 scale, minimum (pages) */
    int32_t *kg;      /* per (slot, kv head): the key's group in ks (pages) */
    uint16_t *ks;     /* per (group, kv head): head_dim fp16 scales, then minima */
    int32_t n_groups, cap_groups;
} kv_layer;

/* Attention of tree-batch rows held until kv_keep() says which rows stay
 * (kv_cache_keep): rows a verifier rejects must never count. */
typedef struct kv_staged {
    int32_t n_rows, cap_rows; /* rows of the staged batch */
    int32_t *base;            /* per layer: slot of the batch's row 0 */
    float *p;                 /* [layer][row][head][n_ctx]: probabilities by visible index */
    int32_t *n_vis;           /* [layer][row]: visible slots */
    int32_t *vis;             /* [layer][row][n_ctx]: the slots, in visible order */
} kv_staged;

typedef struct kv_cache {
    weft_kv_type type;
    int n_layers, n_ctx, n_heads, n_kv_heads, head_dim;
    size_t row_stride; /* bytes per (slot, kv head) row */
    kv_layer *layers;
    int32_t *scratch_pos; /* n_ctx, for compaction */
    float *scratch_row;   /* 2 * head_dim, for re-rotation */
    float *scratch_group; /* KVQ_GROUP * head_dim, rows of a group being quantized */
    int32_t *group_map;   /* cap_groups of the largest table, for dropping unused groups */
    weft_kv_type qtype;   /* WEFT_KV_Q8_0 or WEFT_KV_Q4 once a plan quantized */
    size_t qrow;          /* bytes of codes per quantized row */
    /* F32 copy of one layer for kv_view() when quantized (pages), given
     * back at the next append or compaction so it never stays resident */
    float *view_k, *view_v;
    bool view_live;
    kv_staged st;
} kv_cache;

/* false with a message in err (e.g. Q8_0 with head_dim not a multiple of 32). */
bool kv_cache_init(kv_cache *c, const model_config *cfg, weft_kv_type type, int n_ctx, char *err,
                   size_t err_cap);
void kv_cache_free(kv_cache *c);
const char *kv_type_name(weft_kv_type t);

/* Allocates the attention sums (observation-window sums) of every layer,
 * zeroed. */
bool kv_cache_enable_accum(kv_cache *c);
bool kv_cache_enable_obs(kv_cache *c);
/* Room to stage n_rows rows of tree-batch attention sums. */
bool kv_cache_stage_reserve(kv_cache *c, int32_t n_rows);
/* Adds every staged row to the sums (the batch was kept), then forgets it. */
void kv_cache_stage_commit(kv_cache *c);
/* Staging area of (layer, batch row): probabilities [head][n_ctx], slots. */
static inline float *kv_stage_p(const kv_cache *c, int l, int row) {
    return c->st.p + ((size_t)l * c->st.cap_rows + row) * c->n_heads * c->n_ctx;
}
static inline int32_t *kv_stage_vis(const kv_cache *c, int l, int row) {
    return c->st.vis + ((size_t)l * c->st.cap_rows + row) * c->n_ctx;
}

/* Entries as the decode loop counts them: the longest layer. */
int32_t kv_cache_len(const kv_cache *c);
/* Bytes of keys and values held for n_ctx slots. */
size_t kv_cache_bytes(const kv_cache *c);
/* Bytes layer l holds for its slots: full-precision rows plus quantized
 * codes, their scales and group indices. */
size_t kv_layer_bytes(const kv_cache *c, int l);

/* Row of head h at `slot` of layer l (keys or values). */
static inline uint8_t *kv_row(const kv_cache *c, const uint8_t *base, int32_t slot, int h) {
    return (uint8_t *)base + ((size_t)slot * c->n_kv_heads + h) * c->row_stride;
}
/* Stores head_dim floats into a row, converting to the cache type. */
void kv_write_row(const kv_cache *c, void *row, const float *src);
/* Converts a F16/Q8_0 row to head_dim floats. */
void kv_convert_row(const kv_cache *c, const void *row, float *dst);
/* The row as floats: the row itself for F32 (inline: attention reads every
 * cached row per query), else converted into tmp. */
static inline const float *kv_read_row(const kv_cache *c, const void *row, float *tmp) {
    if (c->type == WEFT_KV_F32) return (const float *)row;
    kv_convert_row(c, row, tmp);
    return tmp;
}

/* Decodes the quantized key (value) row of head h at `slot` < L->nq. */
void kv_quant_row(const kv_cache *c, const kv_layer *L, int32_t slot, int h, bool value, float *dst);
/* Key (value) row of head h at `slot` of layer L as floats, from the
 * quantized store for slot < nq. */
static inline const float *kv_key(const kv_cache *c, const kv_layer *L, int32_t slot, int h, float *tmp) {
    if (slot < L->nq) return kv_quant_row(c, L, slot, h, false, tmp), tmp;
    return kv_read_row(c, kv_row(c, L->k, slot, h), tmp);
}
static inline const float *kv_value(const kv_cache *c, const kv_layer *L, int32_t slot, int h, float *tmp) {
    if (slot < L->nq) return kv_quant_row(c, L, slot, h, true, tmp), tmp;
    return kv_read_row(c, kv_row(c, L->v, slot, h), tmp);
}

/* Asks for the key (value) row of head h at `slot` ahead of its use:
 * attention walks one head's rows, n_kv_heads rows apart, a stride the
 * hardware prefetcher follows late. Into L2: prefetches into L1 stalled
 * on the core's few L1 miss buffers (64% of the gather loop's time); into
 * L2, decode at depth 4096 of the random 134M model ran 2.8x faster with
 * an F16 cache (30 -> 84 tok/s) and 1.7x with F32. Quantized-store slots
 * are left alone. */
static inline void kv_prefetch(const kv_cache *c, const kv_layer *L, int32_t slot, int h, bool value) {
    if (slot < L->nq) return;
    const uint8_t *row = kv_row(c, value ? L->v : L->k, slot, h);
    for (size_t o = 0; o < c->row_stride; o += 64) __builtin_prefetch(row + o, 0, 2);
}

/* Readies slots [len, len + n) of every layer for new tokens: positions set,
 * attention sums zeroed. The caller then fills keys/values and advances len. */
void kv_cache_append(kv_cache *c, const int32_t *positions, int32_t n);

/* weft_backend_vtable.kv_keep / kv_view / kv_compact; errors in err.
 * Keep lists must be strictly ascending (slots only move down, in place).
 * Head-wise plans give n_kv_heads lists of n_keep[l] slots, head h's list
 * at keep[l] + h * n_keep[l]; a composite slot takes head 0's position.
 * kv_len() is the longest layer. */
weft_status kv_cache_keep(kv_cache *c, int32_t n_tail, const int32_t *keep, int32_t n_keep,
                          char *err, size_t err_cap);
weft_status kv_cache_view(kv_cache *c, int32_t layer, weft_kv_view *out, char *err,
                          size_t err_cap);
weft_status kv_cache_compact(kv_cache *c, const weft_kv_plan *plan, const rope_params *rp,
                             char *err, size_t err_cap);

#endif
