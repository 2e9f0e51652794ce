/* KV cache storage, rollback (kv_keep) and compaction (kv_compact). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise */
#include "kvcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernels.h"

static ggml_type storage_type(weft_kv_type t) {
    return t == WEFT_KV_F16 ? GGML_TYPE_F16 : t == WEFT_KV_Q8_0 ? GGML_TYPE_Q8_0 : GGML_TYPE_F32;
}

/* Page-allocated arrays: zeroed, committed only where written, and pages
 * can be given back (MADV_DONTNEED: they read as zeros when touched again)
 * while the mapping stays. What lets quantized slots stop holding their
 * full-precision rows. */
static void *pages_new(size_t bytes) {
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void pages_free(void *p, size_t bytes) {
    if (p) munmap(p, bytes ? bytes : 1);
}

/* Gives back the whole pages inside bytes [from, to) of p. */
static void pages_release(void *p, size_t from, size_t to) {
    const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t a = ((uintptr_t)p + from + pg - 1) / pg * pg, b = ((uintptr_t)p + to) / pg * pg;
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Sizes of the page-allocated arrays of one layer. */
static size_t n_rows(const kv_cache *c) { return (size_t)c->n_ctx * c->n_kv_heads; }
static size_t rows_bytes(const kv_cache *c) { return n_rows(c) * c->row_stride; }
static size_t codes_bytes(const kv_cache *c) { return n_rows(c) * c->head_dim; } /* 8 bits: the largest */
static size_t view_bytes(const kv_cache *c) { return n_rows(c) * c->head_dim * sizeof(float); }

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
    c->scratch_group = malloc((size_t)KVQ_GROUP * c->head_dim * sizeof *c->scratch_group);
    bool ok = c->layers && c->scratch_pos && c->scratch_row && c->scratch_group;
    for (int l = 0; ok && l < c->n_layers; l++) {
        /* pages are only committed as the context fills */
        c->layers[l].k = pages_new(rows_bytes(c));
        c->layers[l].v = pages_new(rows_bytes(c));
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
        kv_layer *L = &c->layers[l];
        pages_free(L->k, rows_bytes(c));
        pages_free(L->v, rows_bytes(c));
        free(L->pos);
        free(L->accum);
        free(L->obs);
        pages_free(L->qk, codes_bytes(c));
        pages_free(L->qv, codes_bytes(c));
        pages_free(L->vs, n_rows(c) * 2 * sizeof(uint16_t));
        pages_free(L->kg, n_rows(c) * sizeof(int32_t));
        free(L->ks);
    }
    free(c->layers);
    free(c->scratch_pos);
    free(c->scratch_row);
    free(c->scratch_group);
    free(c->group_map);
    pages_free(c->view_k, view_bytes(c));
    pages_free(c->view_v, view_bytes(c));
    free(c->st.base);
    free(c->st.p);
    free(c->st.n_vis);
    free(c->st.vis);
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

bool kv_cache_enable_obs(kv_cache *c) {
    for (int l = 0; l < c->n_layers; l++) {
        if (c->layers[l].obs) continue;
        c->layers[l].obs = calloc((size_t)c->n_ctx * c->n_heads, sizeof(float));
        if (!c->layers[l].obs) return false;
    }
    return true;
}

bool kv_cache_stage_reserve(kv_cache *c, int32_t n_rows) {
    kv_staged *st = &c->st;
    if (n_rows <= st->cap_rows) return true;
    const size_t rows = (size_t)c->n_layers * n_rows;
    float *p = realloc(st->p, rows * c->n_heads * c->n_ctx * sizeof(float));
    if (p) st->p = p;
    int32_t *nv = realloc(st->n_vis, rows * sizeof(int32_t));
    if (nv) st->n_vis = nv;
    int32_t *vis = realloc(st->vis, rows * c->n_ctx * sizeof(int32_t));
    if (vis) st->vis = vis;
    if (!st->base) st->base = calloc((size_t)c->n_layers, sizeof(int32_t));
    if (!p || !nv || !vis || !st->base) return false;
    st->cap_rows = n_rows;
    return true;
}

/* Adds staged row `row` of layer l to its sums. */
static void stage_add(kv_cache *c, int l, int32_t row) {
    float *accum = c->layers[l].accum;
    const int32_t nv = c->st.n_vis[(size_t)l * c->st.cap_rows + row];
    const int32_t *vis = kv_stage_vis(c, l, row);
    const float *p = kv_stage_p(c, l, row);
    for (int h = 0; h < c->n_heads; h++)
        for (int32_t j = 0; j < nv; j++) accum[(size_t)vis[j] * c->n_heads + h] += p[(size_t)h * c->n_ctx + j];
}

void kv_cache_stage_commit(kv_cache *c) {
    for (int l = 0; c->st.n_rows && l < c->n_layers; l++)
        for (int32_t r = 0; r < c->st.n_rows; r++) stage_add(c, l, r);
    c->st.n_rows = 0;
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

size_t kv_layer_bytes(const kv_cache *c, int l) {
    const kv_layer *L = &c->layers[l];
    const size_t heads = (size_t)c->n_kv_heads, nq = (size_t)L->nq;
    const size_t full = (size_t)(L->len - L->nq) * heads * c->row_stride;
    const size_t codes = nq * heads * c->qrow;
    const size_t scales = ((size_t)L->n_groups * heads * c->head_dim * 2 + nq * heads * 2) * sizeof(uint16_t);
    return 2 * (full + codes) + scales + nq * heads * sizeof(int32_t);
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

void kv_quant_row(const kv_cache *c, const kv_layer *L, int32_t slot, int h, bool value, float *dst) {
    const size_t r = (size_t)slot * c->n_kv_heads + h;
    if (value) {
        kvq_dequantize(c->qtype, L->qv + r * c->qrow, L->vs + r * 2, 0, c->head_dim, dst);
    } else {
        const size_t g = (size_t)L->kg[r] * c->n_kv_heads + h;
        kvq_dequantize(c->qtype, L->qk + r * c->qrow, L->ks + g * 2 * c->head_dim, 1, c->head_dim, dst);
    }
}

/* The view's F32 copy is only needed while a compressor reads it. */
static void view_release(kv_cache *c) {
    if (!c->view_live) return;
    pages_release(c->view_k, 0, view_bytes(c));
    pages_release(c->view_v, 0, view_bytes(c));
    c->view_live = false;
}

void kv_cache_append(kv_cache *c, const int32_t *positions, int32_t n) {
    view_release(c);
    for (int l = 0; l < c->n_layers; l++) {
        kv_layer *L = &c->layers[l];
        memcpy(L->pos + L->len, positions, (size_t)n * sizeof *positions);
        const size_t from = (size_t)L->len * c->n_heads, cnt = (size_t)n * c->n_heads;
        if (L->accum) memset(L->accum + from, 0, cnt * sizeof(float));
        if (L->obs) memset(L->obs + from, 0, cnt * sizeof(float));
    }
}

/* Moves per-slot signals: `count` floats from query head h0 of slot src
 * to slot dst (a run of whole slots, or one slot's heads of a kv head). */
static void move_signals(const kv_cache *c, kv_layer *L, int32_t dst, int32_t src, int h0, size_t count) {
    float *sig[2] = {L->accum, L->obs};
    for (int i = 0; i < 2; i++)
        if (sig[i])
            memmove(sig[i] + (size_t)dst * c->n_heads + h0, sig[i] + (size_t)src * c->n_heads + h0,
                    count * sizeof(float));
}

/* Moves slots [src, src + n) of layer L to dst (dst <= src), all heads:
 * quantized slots (src < nq) as codes, scales and groups, unchanged. */
static void move_run(kv_cache *c, kv_layer *L, int32_t dst, int32_t src, int32_t n) {
    if (dst == src) return;
    const size_t H = (size_t)c->n_kv_heads, d = (size_t)dst * H, s = (size_t)src * H, r = (size_t)n * H;
    if (src < L->nq) {
        memmove(L->qk + d * c->qrow, L->qk + s * c->qrow, r * c->qrow);
        memmove(L->qv + d * c->qrow, L->qv + s * c->qrow, r * c->qrow);
        memmove(L->vs + d * 2, L->vs + s * 2, r * 2 * sizeof *L->vs);
        memmove(L->kg + d, L->kg + s, r * sizeof *L->kg);
    } else {
        memmove(L->k + d * c->row_stride, L->k + s * c->row_stride, r * c->row_stride);
        memmove(L->v + d * c->row_stride, L->v + s * c->row_stride, r * c->row_stride);
    }
    memmove(L->pos + dst, L->pos + src, (size_t)n * sizeof *L->pos);
    move_signals(c, L, dst, src, 0, (size_t)n * c->n_heads);
}

/* Moves slot base + keep[i] to base + i, runs of consecutive slots at once
 * (a recent window is one run). Returns how many kept slots were
 * quantized: they come first, as keep ascends. */
static int32_t move_slots(kv_cache *c, kv_layer *L, int32_t base, const int32_t *keep, int32_t n) {
    int32_t kq = 0;
    for (int32_t i = 0, j; i < n; i = j) {
        const bool q = base + keep[i] < L->nq;
        for (j = i + 1; j < n && keep[j] == keep[j - 1] + 1 && (base + keep[j] < L->nq) == q; j++) {}
        move_run(c, L, base + i, base + keep[i], j - i);
        if (q) kq += j - i;
    }
    return kq;
}


/* Decodes quantized row (src, h) into the full-precision row (dst, h). */
static void decode_row(kv_cache *c, kv_layer *L, int32_t dst, int32_t src, int h) {
    float *x = c->scratch_row;
    kv_quant_row(c, L, src, h, false, x);
    kv_write_row(c, kv_row(c, L->k, dst, h), x);
    kv_quant_row(c, L, src, h, true, x);
    kv_write_row(c, kv_row(c, L->v, dst, h), x);
}

/* Decodes the quantized slots back into full-precision rows (before keys
 * are re-rotated, or the code format changes). */
static void unquantize(kv_cache *c, kv_layer *L) {
    for (int32_t s = 0; s < L->nq; s++)
        for (int h = 0; h < c->n_kv_heads; h++) decode_row(c, L, s, s, h);
    L->nq = 0;
    L->n_groups = 0;
}

/* Forgets key groups no quantized row names any more (evicted slots). */
static void drop_unused_groups(kv_cache *c, kv_layer *L) {
    int32_t *map = c->group_map;
    const size_t rows = (size_t)L->nq * c->n_kv_heads, sm = (size_t)c->n_kv_heads * 2 * c->head_dim;
    for (int32_t g = 0; g < L->n_groups; g++) map[g] = -1;
    for (size_t r = 0; r < rows; r++) map[L->kg[r]] = 0;
    int32_t w = 0;
    for (int32_t g = 0; g < L->n_groups; g++) {
        if (map[g] < 0) continue;
        if (w != g) memcpy(L->ks + (size_t)w * sm, L->ks + (size_t)g * sm, sm * sizeof *L->ks);
        map[g] = w++;
    }
    for (size_t r = 0; r < rows; r++) L->kg[r] = map[L->kg[r]];
    L->n_groups = w;
}

static bool quant_alloc(kv_cache *c, kv_layer *L) {
    if (!L->qk) {
        L->qk = pages_new(codes_bytes(c));
        L->qv = pages_new(codes_bytes(c));
        L->vs = pages_new(n_rows(c) * 2 * sizeof(uint16_t));
        L->kg = pages_new(n_rows(c) * sizeof(int32_t));
    }
    if (!c->view_k) c->view_k = pages_new(view_bytes(c));
    if (!c->view_v) c->view_v = pages_new(view_bytes(c));
    return L->qk && L->qv && L->vs && L->kg && c->view_k && c->view_v;
}

/* Room for one more key group in L's table (and in the shared map). */
static bool group_reserve(kv_cache *c, kv_layer *L) {
    if (L->n_groups < L->cap_groups) return true;
    const int32_t cap = L->cap_groups ? 2 * L->cap_groups : c->n_ctx / KVQ_GROUP + 1;
    uint16_t *ks = realloc(L->ks, (size_t)cap * c->n_kv_heads * 2 * c->head_dim * sizeof *ks);
    if (!ks) return false;
    L->ks = ks;
    L->cap_groups = cap;
    for (int l = 0; l < c->n_layers; l++)
        if (c->layers[l].cap_groups > cap) return true; /* the map is already larger */
    int32_t *map = realloc(c->group_map, (size_t)cap * sizeof *map);
    if (!map) return false;
    c->group_map = map;
    return true;
}

/* Moves slots [L->nq, to) into the quantized store, a new key group per
 * KVQ_GROUP slots, and gives back the pages of their full-precision rows. */
static bool quantize_to(kv_cache *c, kv_layer *L, int32_t to) {
    const int hd = c->head_dim, H = c->n_kv_heads;
    float *buf = c->scratch_group;
    for (int32_t g0 = L->nq; g0 < to; g0 += KVQ_GROUP) {
        if (!group_reserve(c, L)) return false;
        const int32_t g = L->n_groups++;
        for (int h = 0; h < H; h++) {
            const float *rows[KVQ_GROUP];
            uint8_t *codes[KVQ_GROUP];
            for (int i = 0; i < KVQ_GROUP; i++) {
                const size_t r = (size_t)(g0 + i) * H + h;
                float *dst = buf + (size_t)i * hd;
                const float *src = kv_read_row(c, kv_row(c, L->k, g0 + i, h), dst);
                if (src != dst) memcpy(dst, src, (size_t)hd * sizeof(float));
                rows[i] = dst;
                codes[i] = L->qk + r * c->qrow;
                L->kg[r] = g;
                const float *v = kv_read_row(c, kv_row(c, L->v, g0 + i, h), c->scratch_row);
                kvq_quantize_value(c->qtype, v, hd, L->qv + r * c->qrow, L->vs + r * 2);
            }
            kvq_quantize_keys(c->qtype, rows, hd, codes, L->ks + ((size_t)g * H + h) * 2 * hd);
        }
        L->nq = g0 + KVQ_GROUP;
    }
    pages_release(L->k, 0, (size_t)L->nq * H * c->row_stride);
    pages_release(L->v, 0, (size_t)L->nq * H * c->row_stride);
    return true;
}

/* keep[0..n) strictly ascending within [0, limit). */
static bool ascending_in(const int32_t *keep, int32_t n, int32_t limit) {
    for (int32_t i = 0; i < n; i++)
        if (keep[i] < 0 || keep[i] >= limit || (i > 0 && keep[i] <= keep[i - 1])) return false;
    return true;
}

weft_status kv_cache_keep(kv_cache *c, int32_t n_tail, const int32_t *keep, int32_t n_keep,
                          char *err, size_t err_cap) {
    /* Per-layer lengths (PyramidKV): a rollback may reach past a short layer,
     * never past the longest, and a keep list needs the tail in every layer. */
    int32_t longest = 0;
    for (int l = 0; l < c->n_layers; l++) {
        if (c->layers[l].len > longest) longest = c->layers[l].len;
        if (n_tail < 0 || (n_tail > c->layers[l].len && n_keep > 0)) {
            snprintf(err, err_cap, "kv_keep: n_tail %d exceeds the %d entries of layer %d",
                     (int)n_tail, (int)c->layers[l].len, l);
            return WEFT_ERR_INVALID;
        }
    }
    if (n_tail > longest) {
        snprintf(err, err_cap, "kv_keep: n_tail %d exceeds the %d entries of the cache", (int)n_tail, (int)longest);
        return WEFT_ERR_INVALID;
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
        const int32_t base = L->len > n_tail ? L->len - n_tail : 0;
        /* staged rows count if they stay: before the tail, or kept in it */
        for (int32_t r = 0, i = 0; r < c->st.n_rows; r++) {
            const int32_t slot = c->st.base[l] + r;
            while (i < n_keep && base + keep[i] < slot) i++;
            if (slot < base || (i < n_keep && base + keep[i] == slot)) stage_add(c, l, r);
        }
        const int32_t kq = move_slots(c, L, base, keep, n_keep);
        if (base < L->nq) {
            L->nq = base + kq;
            drop_unused_groups(c, L);
        }
        L->len = base + n_keep;
    }
    c->st.n_rows = 0;
    return WEFT_OK;
}

weft_status kv_cache_view(kv_cache *c, int32_t layer, weft_kv_view *out, char *err,
                          size_t err_cap) {
    if (layer < 0 || layer >= c->n_layers || !out) {
        snprintf(err, err_cap, "kv_view: layer %d out of range [0, %d)", (int)layer, c->n_layers);
        return WEFT_ERR_INVALID;
    }
    kv_cache_stage_commit(c);
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
        .obs_attn = L->obs,
        .bytes = kv_layer_bytes(c, layer),
        .n_quantized = L->nq,
    };
    if (L->nq > 0) {
        /* one F32 copy of every slot, as the ABI promises for quantized layers */
        const int hd = c->head_dim;
        c->view_live = true;
        for (int32_t s = 0; s < L->len; s++)
            for (int h = 0; h < c->n_kv_heads; h++) {
                float *k = c->view_k + ((size_t)s * c->n_kv_heads + h) * hd;
                float *vv = c->view_v + ((size_t)s * c->n_kv_heads + h) * hd;
                const float *src = kv_key(c, L, s, h, k);
                if (src != k) memcpy(k, src, (size_t)hd * sizeof(float));
                src = kv_value(c, L, s, h, vv);
                if (src != vv) memcpy(vv, src, (size_t)hd * sizeof(float));
            }
        v.type = WEFT_KV_F32;
        v.row_stride = (size_t)hd * sizeof(float);
        v.keys = c->view_k;
        v.values = c->view_v;
    }
    /* A caller built against an older, shorter view gets its prefix. */
    size_t n = out->struct_size && out->struct_size < sizeof v ? out->struct_size : sizeof v;
    memcpy(out, &v, n);
    out->struct_size = n;
    return WEFT_OK;
}

/* Turns the key row at (slot, h) of layer L from position `from` to `to`:
 * one rotation by to - from (rotations compose). A window shifted as a
 * whole has one delta, so the angles are computed once (*delta caches). */
static void reposition_key(kv_cache *c, kv_layer *L, int32_t slot, int h, int32_t from, int32_t to,
                           const rope_params *rp, int32_t *delta) {
    if (from == to) return;
    uint8_t *row = kv_row(c, L->k, slot, h);
    float *x = c->scratch_row, *cs = x + c->head_dim; /* n_rot <= head_dim angles */
    if (*delta != to - from) rope_angles(rp, *delta = to - from, cs);
    const float *src = kv_read_row(c, row, x);
    if (src != x) memcpy(x, src, (size_t)c->head_dim * sizeof(float));
    rope_apply(rp, x, 1, c->head_dim, cs, false);
    kv_write_row(c, row, x);
}

static bool plan_valid(const kv_cache *c, const weft_kv_plan *p, char *err, size_t err_cap) {
    if (p->n_layers != c->n_layers || !p->n_keep || !p->keep) {
        snprintf(err, err_cap, "kv_compact: plan has %d layers, the model %d", (int)p->n_layers,
                 c->n_layers);
        return false;
    }
    if (p->n_quantized && p->quant_type != WEFT_KV_Q8_0 && p->quant_type != WEFT_KV_Q4) {
        snprintf(err, err_cap, "kv_compact: quant_type %d is not WEFT_KV_Q8_0 or WEFT_KV_Q4", (int)p->quant_type);
        return false;
    }
    const int lists = p->head_wise ? c->n_kv_heads : 1;
    for (int l = 0; l < c->n_layers; l++) {
        const int32_t n = p->n_keep[l], len = c->layers[l].len;
        if (n < 0 || n > len || (n > 0 && !p->keep[l])) {
            snprintf(err, err_cap, "kv_compact: layer %d keeps %d of %d slots", l, (int)n, (int)len);
            return false;
        }
        if (p->n_quantized && (p->n_quantized[l] < 0 || p->n_quantized[l] > n)) {
            snprintf(err, err_cap, "kv_compact: layer %d quantizes %d of %d kept slots", l,
                     (int)p->n_quantized[l], (int)n);
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

/* Quantized slots of L that list h of the plan keeps (a prefix: lists ascend). */
static int32_t kept_quantized(const kv_layer *L, const int32_t *keep, int32_t n) {
    int32_t k = 0;
    while (k < n && keep[k] < L->nq) k++;
    return k;
}

/* Re-rotation changes a quantized key, which codes cannot express: such a
 * layer is decoded first (its kept prefix is quantized again after). */
static bool rotates_quantized(const kv_cache *c, const kv_layer *L, const weft_kv_plan *p, int l) {
    const int32_t n = p->n_keep[l];
    const int lists = p->head_wise ? c->n_kv_heads : 1;
    for (int h = 0; p->reposition && h < lists; h++) {
        const int32_t *keep = p->keep[l] + (size_t)h * n;
        for (int32_t i = 0; i < n && keep[i] < L->nq; i++)
            if (L->pos[keep[i]] != i) return true;
    }
    return false;
}

/* A head-wise plan: rows move per kv head; a composite slot takes the
 * position of head 0's source. Keys and values stay rotated at their own
 * positions (attention never reads positions). Slot i stays quantized when
 * every head's row there is (i < kq); a row some heads keep quantized past
 * kq is decoded into full precision. Returns kq. */
static int32_t move_head_wise(kv_cache *c, kv_layer *L, const int32_t *keep_all, int32_t n) {
    const int H = c->n_kv_heads, n_rep = c->n_heads / H;
    int32_t kq = n;
    for (int h = 0; h < H; h++) {
        const int32_t k = kept_quantized(L, keep_all + (size_t)h * n, n);
        if (k < kq) kq = k;
    }
    for (int h = 0; h < H; h++) {
        const int32_t *keep = keep_all + (size_t)h * n;
        for (int32_t i = 0; i < n; i++) {
            if (keep[i] == i && (i < kq || i >= L->nq)) continue;
            const size_t d = (size_t)i * H + h, s = (size_t)keep[i] * H + h;
            if (i < kq) {
                memmove(L->qk + d * c->qrow, L->qk + s * c->qrow, c->qrow);
                memmove(L->qv + d * c->qrow, L->qv + s * c->qrow, c->qrow);
                memmove(L->vs + d * 2, L->vs + s * 2, 2 * sizeof *L->vs);
                L->kg[d] = L->kg[s];
            } else if (keep[i] < L->nq) {
                decode_row(c, L, i, keep[i], h);
            } else {
                memmove(kv_row(c, L->k, i, h), kv_row(c, L->k, keep[i], h), c->row_stride);
                memmove(kv_row(c, L->v, i, h), kv_row(c, L->v, keep[i], h), c->row_stride);
            }
            move_signals(c, L, i, keep[i], h * n_rep, (size_t)n_rep);
        }
    }
    for (int32_t i = 0; i < n; i++) L->pos[i] = c->scratch_pos[keep_all[i]];
    return kq;
}

weft_status kv_cache_compact(kv_cache *c, const weft_kv_plan *plan_in, const rope_params *rp,
                             char *err, size_t err_cap) {
    /* Fields past the plugin's struct_size read as absent (abi.h). */
    weft_kv_plan pl = {0};
    memcpy(&pl, plan_in, plan_in->struct_size < sizeof pl ? plan_in->struct_size : sizeof pl);
    const weft_kv_plan *plan = &pl;
    if (plan->n_layers == 0) return WEFT_OK; /* "nothing to do" (kv.h) */
    if (!plan_valid(c, plan, err, err_cap)) return WEFT_ERR_INVALID;
    kv_cache_stage_commit(c);
    view_release(c);
    if (plan->n_quantized && plan->quant_type != c->qtype) {
        /* one code format per cache: decode every layer before switching */
        for (int l = 0; l < c->n_layers; l++) unquantize(c, &c->layers[l]);
        c->qtype = plan->quant_type;
        c->qrow = kvq_code_bytes(c->qtype, c->head_dim);
    }
    for (int l = 0; l < c->n_layers; l++) {
        kv_layer *L = &c->layers[l];
        const int32_t n = plan->n_keep[l];
        if (rotates_quantized(c, L, plan, l)) unquantize(c, L);
        /* Old positions: head-wise lists read them after earlier heads moved slots. */
        memcpy(c->scratch_pos, L->pos, (size_t)L->len * sizeof(int32_t));
        /* Kept quantized slots move as they are stored (no second rounding). */
        const int32_t kq = plan->head_wise ? move_head_wise(c, L, plan->keep[l], n)
                                           : move_slots(c, L, 0, plan->keep[l], n);
        if (L->nq > 0) {
            L->nq = kq;
            drop_unused_groups(c, L);
        }
        if (plan->reposition) {
            int32_t delta = 0; /* cs holds no angles yet; delta 0 never rotates */
            for (int h = 0; h < c->n_kv_heads; h++) {
                const int32_t *keep = plan->keep[l] + (plan->head_wise ? (size_t)h * n : 0);
                for (int32_t i = L->nq; i < n; i++)
                    reposition_key(c, L, i, h, c->scratch_pos[keep[i]], i, rp, &delta);
            }
            for (int32_t i = 0; i < n; i++) L->pos[i] = i;
        }
        L->len = n;
        /* new quantized slots: whole groups past the stored ones */
        const int32_t want = plan->n_quantized ? plan->n_quantized[l] : 0;
        const int32_t to = want > L->nq ? L->nq + (want - L->nq) / KVQ_GROUP * KVQ_GROUP : L->nq;
        if (to > L->nq && (!quant_alloc(c, L) || !quantize_to(c, L, to))) {
            snprintf(err, err_cap, "kv_compact: out of memory for the quantized store");
            return WEFT_ERR_NOMEM;
        }
    }
    return WEFT_OK;
}
