/* The KV cache: per layer, contiguous arrays of keys and values laid out
 * [slot][kv_head][head_dim] in F32, F16 or Q8_0 (one Q8_0 row per (slot,
 * head), blocks of 32), the position of every slot, and optionally the
 * attention each slot received. Keys are stored rotated.
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

#include "model.h"
#include "rope.h"

typedef struct kv_layer {
    uint8_t *k, *v;   /* n_ctx * n_kv_heads rows of row_stride bytes */
    int32_t *pos;     /* n_ctx positions */
    float *accum;     /* n_ctx * n_heads attention sums, NULL until asked for */
    int32_t len;
} kv_layer;

typedef struct kv_cache {
    weft_kv_type type;
    int n_layers, n_ctx, n_heads, n_kv_heads, head_dim;
    size_t row_stride; /* bytes per (slot, kv head) row */
    kv_layer *layers;
    int32_t *scratch_pos; /* n_ctx, for compaction */
    float *scratch_row;   /* 2 * head_dim, for re-rotation */
} kv_cache;

/* false with a message in err (e.g. Q8_0 with head_dim not a multiple of 32). */
bool kv_cache_init(kv_cache *c, const model_config *cfg, weft_kv_type type, int n_ctx, char *err,
                   size_t err_cap);
void kv_cache_free(kv_cache *c);
const char *kv_type_name(weft_kv_type t);

/* Allocates the attention sums of every layer (zeroed). */
bool kv_cache_enable_accum(kv_cache *c);

/* Entries as the decode loop counts them: the longest layer. */
int32_t kv_cache_len(const kv_cache *c);
/* Bytes of keys and values held for n_ctx slots. */
size_t kv_cache_bytes(const kv_cache *c);

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
weft_status kv_cache_view(const kv_cache *c, int32_t layer, weft_kv_view *out, char *err,
                          size_t err_cap);
weft_status kv_cache_compact(kv_cache *c, const weft_kv_plan *plan, const rope_params *rp,
                             char *err, size_t err_cap);

#endif
