/* KV cache storage, rollback (kv_keep) and compaction (kv_compact). */
#include "kvcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

static ggml_type storage_type(weft_kv_type t) {
    return t == WEFT_KV_F16 ? GGML_TYPE_F16 : t == WEFT_KV_Q8_0 ? GGML_TYPE_Q8_0 : GGML_TYPE_F32;
}

const char *kv_type_name(weft_kv_type t) {
    return t == WEFT_KV_F16 ? "f16" : t == WEFT_KV_Q8_0 ? "q8_0" : "f32";
}

bool kv_cache_init(kv_cache *c, const model_config *cfg, weft_kv_type type, int n_ctx, char *err,
                   size_t err_cap) {
    memset(c, 0, sizeof *c);
    if (type != WEFT_KV_F32 && type != WEFT_KV_F16 && type != WEFT_KV_Q8_0) {
        snprintf(err, err_cap, "unknown KV cache type %d", (int)type);
        return false;
    }
    if (type == WEFT_KV_Q8_0 && cfg->head_dim % 32 != 0) {
        snprintf(err, err_cap,
                 "kv_type q8_0 needs a head size that is a multiple of 32 (Q8_0 blocks), "
                 "this model has %d; use f16 or f32",
                 cfg->head_dim);
        return false;
    }
    if (n_ctx <= 0) {
        snprintf(err, err_cap, "context size %d must be > 0", n_ctx);
        return false;
    }
    c->type = type;
    c->n_layers = cfg->n_layers;
    c->n_ctx = n_ctx;
    c->n_heads = cfg->n_heads;
    c->n_kv_heads = cfg->n_kv_heads;
    c->head_dim = cfg->head_dim;
    c->row_stride = row_bytes(storage_type(type), cfg->head_dim);
    c->layers = calloc((size_t)c->n_layers, sizeof *c->layers);
    c->scratch_pos = malloc((size_t)n_ctx * sizeof *c->scratch_pos);
    c->scratch_row = malloc(2 * (size_t)c->head_dim * sizeof *c->scratch_row);
    bool ok = c->layers && c->scratch_pos && c->scratch_row;
    const size_t bytes = (size_t)n_ctx * c->n_kv_heads * c->row_stride;
    for (int l = 0; ok && l < c->n_layers; l++) {
        /* calloc: pages are only touched as the context fills */
        c->layers[l].k = calloc(1, bytes);
        c->layers[l].v = calloc(1, bytes);
        c->layers[l].pos = calloc((size_t)n_ctx, sizeof(int32_t));
        ok = c->layers[l].k && c->layers[l].v && c->layers[l].pos;
    }
    if (!ok) {
        kv_cache_free(c);
        snprintf(err, err_cap, "out of memory for a KV cache of %d slots", n_ctx);
        return false;
    }
    return true;
}

void kv_cache_free(kv_cache *c) {
    for (int l = 0; c->layers && l < c->n_layers; l++) {
        free(c->layers[l].k);
        free(c->layers[l].v);
        free(c->layers[l].pos);
        free(c->layers[l].accum);
    }
    free(c->layers);
    free(c->scratch_pos);
    free(c->scratch_row);
    memset(c, 0, sizeof *c);
}

bool kv_cache_enable_accum(kv_cache *c) {
    for (int l = 0; l < c->n_layers; l++) {
        if (c->layers[l].accum) continue;
        c->layers[l].accum = calloc((size_t)c->n_ctx * c->n_heads, sizeof(float));
        if (!c->layers[l].accum) return false;
    }
    return true;
}

int32_t kv_cache_len(const kv_cache *c) {
    int32_t n = 0;
    for (int l = 0; l < c->n_layers; l++)
        if (c->layers[l].len > n) n = c->layers[l].len;
    return n;
}

size_t kv_cache_bytes(const kv_cache *c) {
    return 2 * (size_t)c->n_layers * c->n_ctx * c->n_kv_heads * c->row_stride;
}

void kv_write_row(const kv_cache *c, void *row, const float *src) {
    if (c->type == WEFT_KV_F32)
        memcpy(row, src, (size_t)c->head_dim * sizeof(float));
    else
        quantize_row(storage_type(c->type), src, row, c->head_dim);
}

void kv_convert_row(const kv_cache *c, const void *row, float *dst) {
    dequantize_row(storage_type(c->type), row, dst, c->head_dim);
}

void kv_cache_append(kv_cache *c, const int32_t *positions, int32_t n) {
    for (int l = 0; l < c->n_layers; l++) {
        kv_layer *L = &c->layers[l];
        memcpy(L->pos + L->len, positions, (size_t)n * sizeof *positions);
        if (L->accum)
            memset(L->accum + (size_t)L->len * c->n_heads, 0, (size_t)n * c->n_heads * sizeof(float));
    }
}

/* Moves slot `src` of layer L to `dst` (dst <= src), all heads. */
static void move_slot(kv_cache *c, kv_layer *L, int32_t dst, int32_t src) {
    if (dst == src) return;
    const size_t sb = (size_t)c->n_kv_heads * c->row_stride;
    memmove(L->k + (size_t)dst * sb, L->k + (size_t)src * sb, sb);
    memmove(L->v + (size_t)dst * sb, L->v + (size_t)src * sb, sb);
    L->pos[dst] = L->pos[src];
    if (L->accum)
        memmove(L->accum + (size_t)dst * c->n_heads, L->accum + (size_t)src * c->n_heads,
                (size_t)c->n_heads * sizeof(float));
}

/* keep[0..n) strictly ascending within [0, limit). */
static bool ascending_in(const int32_t *keep, int32_t n, int32_t limit) {
    for (int32_t i = 0; i < n; i++)
        if (keep[i] < 0 || keep[i] >= limit || (i > 0 && keep[i] <= keep[i - 1])) return false;
    return true;
}

weft_status kv_cache_keep(kv_cache *c, int32_t n_tail, const int32_t *keep, int32_t n_keep,
                          char *err, size_t err_cap) {
    for (int l = 0; l < c->n_layers; l++) {
        if (n_tail < 0 || n_tail > c->layers[l].len) {
            snprintf(err, err_cap, "kv_keep: n_tail %d exceeds the %d entries of layer %d",
                     (int)n_tail, (int)c->layers[l].len, l);
            return WEFT_ERR_INVALID;
        }
    }
    if (n_keep < 0 || n_keep > n_tail || (n_keep > 0 && !keep) ||
        !ascending_in(keep, n_keep, n_tail)) {
        snprintf(err, err_cap,
                 "kv_keep: keep list must hold at most n_tail (%d) ascending rows below n_tail",
                 (int)n_tail);
        return WEFT_ERR_INVALID;
    }
    for (int l = 0; l < c->n_layers; l++) {
        kv_layer *L = &c->layers[l];
        const int32_t base = L->len - n_tail;
        for (int32_t i = 0; i < n_keep; i++) move_slot(c, L, base + i, base + keep[i]);
        L->len = base + n_keep;
    }
    return WEFT_OK;
}

weft_status kv_cache_view(const kv_cache *c, int32_t layer, weft_kv_view *out, char *err,
                          size_t err_cap) {
    if (layer < 0 || layer >= c->n_layers || !out) {
        snprintf(err, err_cap, "kv_view: layer %d out of range [0, %d)", (int)layer, c->n_layers);
        return WEFT_ERR_INVALID;
    }
    const kv_layer *L = &c->layers[layer];
    weft_kv_view v = {
        .struct_size = sizeof v,
        .n_slots = L->len,
        .n_kv_heads = c->n_kv_heads,
        .head_dim = c->head_dim,
        .type = c->type,
        .row_stride = c->row_stride,
        .keys = L->k,
        .values = L->v,
        .positions = L->pos,
        .attn_accum = L->accum,
    };
    /* A caller built against an older, shorter view gets its prefix. */
    size_t n = out->struct_size && out->struct_size < sizeof v ? out->struct_size : sizeof v;
    memcpy(out, &v, n);
    out->struct_size = n;
    return WEFT_OK;
}

/* Turns the key row at (slot, h) of layer L from position `from` to `to`. */
static void reposition_key(kv_cache *c, kv_layer *L, int32_t slot, int h, int32_t from, int32_t to,
                           const rope_params *rp) {
    if (from == to) return;
    uint8_t *row = kv_row(c, L->k, slot, h);
    float *x = c->scratch_row, *cs = x + c->head_dim; /* n_rot <= head_dim angles */
    const float *src = kv_read_row(c, row, x);
    if (src != x) memcpy(x, src, (size_t)c->head_dim * sizeof(float));
    rope_angles(rp, from, cs);
    rope_apply(rp, x, 1, c->head_dim, cs, true);
    rope_angles(rp, to, cs);
    rope_apply(rp, x, 1, c->head_dim, cs, false);
    kv_write_row(c, row, x);
}

static bool plan_valid(const kv_cache *c, const weft_kv_plan *p, char *err, size_t err_cap) {
    if (p->n_layers != c->n_layers || !p->n_keep || !p->keep) {
        snprintf(err, err_cap, "kv_compact: plan has %d layers, the model %d", (int)p->n_layers,
                 c->n_layers);
        return false;
    }
    const int lists = p->head_wise ? c->n_kv_heads : 1;
    for (int l = 0; l < c->n_layers; l++) {
        const int32_t n = p->n_keep[l], len = c->layers[l].len;
        if (n < 0 || n > len || (n > 0 && !p->keep[l])) {
            snprintf(err, err_cap, "kv_compact: layer %d keeps %d of %d slots", l, (int)n, (int)len);
            return false;
        }
        for (int h = 0; h < lists; h++) {
            if (!ascending_in(p->keep[l] + (size_t)h * n, n, len)) {
                snprintf(err, err_cap,
                         "kv_compact: layer %d%s: keep list must be strictly ascending slots "
                         "below %d",
                         l, p->head_wise ? " (a head's list)" : "", (int)len);
                return false;
            }
        }
    }
    return true;
}

weft_status kv_cache_compact(kv_cache *c, const weft_kv_plan *plan, const rope_params *rp,
                             char *err, size_t err_cap) {
    if (plan->n_layers == 0) return WEFT_OK; /* "nothing to do" (kv.h) */
    if (!plan_valid(c, plan, err, err_cap)) return WEFT_ERR_INVALID;
    const int n_rep = c->n_heads / c->n_kv_heads;
    for (int l = 0; l < c->n_layers; l++) {
        kv_layer *L = &c->layers[l];
        const int32_t n = plan->n_keep[l];
        /* Old positions: head-wise lists read them after earlier heads moved slots. */
        memcpy(c->scratch_pos, L->pos, (size_t)L->len * sizeof(int32_t));
        if (!plan->head_wise) {
            for (int32_t i = 0; i < n; i++) move_slot(c, L, i, plan->keep[l][i]);
        } else {
            /* Per kv head: rows move independently; a composite slot takes
             * the position of head 0's source. Keys and values stay rotated
             * at their own positions (attention never reads positions). */
            for (int h = 0; h < c->n_kv_heads; h++) {
                const int32_t *keep = plan->keep[l] + (size_t)h * n;
                for (int32_t i = 0; i < n; i++) {
                    if (keep[i] == i) continue;
                    memmove(kv_row(c, L->k, i, h), kv_row(c, L->k, keep[i], h), c->row_stride);
                    memmove(kv_row(c, L->v, i, h), kv_row(c, L->v, keep[i], h), c->row_stride);
                    for (int r = 0; L->accum && r < n_rep; r++) {
                        const int hq = h * n_rep + r;
                        L->accum[(size_t)i * c->n_heads + hq] = L->accum[(size_t)keep[i] * c->n_heads + hq];
                    }
                }
            }
            for (int32_t i = 0; i < n; i++) L->pos[i] = c->scratch_pos[plan->keep[l][i]];
        }
        if (plan->reposition) {
            for (int h = 0; h < c->n_kv_heads; h++) {
                const int32_t *keep = plan->keep[l] + (plan->head_wise ? (size_t)h * n : 0);
                for (int32_t i = 0; i < n; i++)
                    reposition_key(c, L, i, h, c->scratch_pos[keep[i]], i, rp);
            }
            for (int32_t i = 0; i < n; i++) L->pos[i] = i;
        }
        L->len = n;
    }
    return WEFT_OK;
}
