/* GGUF v3 writer: header, key/values, tensor infos, then tensor data, each
 * aligned to 32 bytes (the default general.alignment). */
#include "gguf_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_ALIGN 32

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

typedef struct gw_tensor_rec {
    char *name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];
    ggml_type type;
    const void *data;
    gw_fill_fn fill;
    void *ctx;
    uint64_t n_bytes, offset;
} gw_tensor_rec;

struct gguf_writer {
    buf kv;
    uint64_t n_kv;
    gw_tensor_rec *t;
    size_t n_t, cap_t;
};

static void put(buf *b, const void *d, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort(); /* test/tool code: out of memory is fatal */
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); } /* little-endian hosts only */
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_strn(buf *b, const char *s, uint64_t n) {
    put_u64(b, n);
    put(b, s, n);
}
static void put_str(buf *b, const char *s) { put_strn(b, s, strlen(s)); }

static void key(gguf_writer *w, const char *k, gguf_value_type t) {
    put_str(&w->kv, k);
    put_u32(&w->kv, t);
    w->n_kv++;
}

gguf_writer *gw_new(void) { return calloc(1, sizeof(gguf_writer)); }

void gw_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    free(w->kv.p);
    free(w);
}

void gw_kv_u32(gguf_writer *w, const char *k, uint32_t v) {
    key(w, k, GGUF_TYPE_UINT32);
    put_u32(&w->kv, v);
}
void gw_kv_f32(gguf_writer *w, const char *k, float v) {
    key(w, k, GGUF_TYPE_FLOAT32);
    put(&w->kv, &v, 4);
}
void gw_kv_bool(gguf_writer *w, const char *k, bool v) {
    key(w, k, GGUF_TYPE_BOOL);
    uint8_t b = v;
    put(&w->kv, &b, 1);
}
void gw_kv_str(gguf_writer *w, const char *k, const char *v) {
    key(w, k, GGUF_TYPE_STRING);
    put_str(&w->kv, v);
}
static void array_head(gguf_writer *w, const char *k, gguf_value_type t, uint64_t n) {
    key(w, k, GGUF_TYPE_ARRAY);
    put_u32(&w->kv, t);
    put_u64(&w->kv, n);
}
void gw_kv_strs(gguf_writer *w, const char *k, const char *const *v, size_t n) {
    array_head(w, k, GGUF_TYPE_STRING, n);
    for (size_t i = 0; i < n; i++) put_str(&w->kv, v[i]);
}
void gw_kv_f32s(gguf_writer *w, const char *k, const float *v, size_t n) {
    array_head(w, k, GGUF_TYPE_FLOAT32, n);
    put(&w->kv, v, n * 4);
}
void gw_kv_i32s(gguf_writer *w, const char *k, const int32_t *v, size_t n) {
    array_head(w, k, GGUF_TYPE_INT32, n);
    put(&w->kv, v, n * 4);
}

static size_t scalar_width(gguf_value_type t) {
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

void gw_kv_copy(gguf_writer *w, const gguf_file *f, const gguf_kv *kv) {
    put_strn(&w->kv, kv->key.ptr, kv->key.len);
    put_u32(&w->kv, kv->type);
    w->n_kv++;
    if (kv->type == GGUF_TYPE_ARRAY) {
        put_u32(&w->kv, kv->arr_type);
        put_u64(&w->kv, kv->arr_count);
        if (kv->arr_type == GGUF_TYPE_STRING) {
            /* re-encoded: a v1 source has 32-bit string lengths */
            for (uint64_t i = 0; i < kv->arr_count; i++) {
                gguf_str s = gguf_arr_str(f, kv, i);
                put_strn(&w->kv, s.ptr, s.len);
            }
        } else {
            put(&w->kv, kv->arr_data, kv->arr_count * scalar_width(kv->arr_type));
        }
        return;
    }
    uint8_t raw[8];
    switch (kv->type) {
    case GGUF_TYPE_STRING: put_strn(&w->kv, kv->v.str.ptr, kv->v.str.len); return;
    case GGUF_TYPE_BOOL: raw[0] = kv->v.b; break;
    case GGUF_TYPE_FLOAT32: { float x = (float)kv->v.f64; memcpy(raw, &x, 4); break; }
    case GGUF_TYPE_FLOAT64: memcpy(raw, &kv->v.f64, 8); break;
    default: memcpy(raw, &kv->v.u64, 8); break; /* integers: low bytes, little-endian */
    }
    put(&w->kv, raw, scalar_width(kv->type));
}

void gw_tensor(gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, ggml_type t,
               const void *data, gw_fill_fn fill, void *ctx) {
    if (w->n_t == w->cap_t) {
        w->cap_t = w->cap_t * 2 + 16;
        w->t = realloc(w->t, w->cap_t * sizeof *w->t);
        if (!w->t) abort();
    }
    gw_tensor_rec *r = &w->t[w->n_t++];
    memset(r, 0, sizeof *r);
    r->name = strdup(name);
    r->n_dims = n_dims;
    uint64_t n = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        r->ne[d] = d < n_dims ? ne[d] : 1;
        n *= r->ne[d];
    }
    r->type = t;
    r->data = data;
    r->fill = fill;
    r->ctx = ctx;
    r->n_bytes = n / ggml_blck_size(t) * ggml_type_size(t);
}

static uint64_t pad_to(uint64_t x) { return (x + GW_ALIGN - 1) / GW_ALIGN * GW_ALIGN; }

bool gw_write(gguf_writer *w, const char *path, char *err, size_t err_cap) {
    buf h = {0};
    put(&h, "GGUF", 4);
    put_u32(&h, 3);
    put_u64(&h, w->n_t);
    put_u64(&h, w->n_kv);
    put(&h, w->kv.p, w->kv.len);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        gw_tensor_rec *r = &w->t[i];
        put_str(&h, r->name);
        put_u32(&h, r->n_dims);
        for (uint32_t d = 0; d < r->n_dims; d++) put_u64(&h, r->ne[d]);
        put_u32(&h, r->type);
        r->offset = off;
        put_u64(&h, off);
        off = pad_to(off + r->n_bytes);
    }
    static const uint8_t zeros[GW_ALIGN] = {0};
    put(&h, zeros, pad_to(h.len) - h.len);

    FILE *fp = fopen(path, "wb");
    bool ok = fp && fwrite(h.p, 1, h.len, fp) == h.len;
    free(h.p);
    for (size_t i = 0; ok && i < w->n_t; i++) {
        gw_tensor_rec *r = &w->t[i];
        void *tmp = NULL;
        const void *src = r->data;
        if (!src) {
            tmp = malloc(r->n_bytes ? r->n_bytes : 1);
            if (!tmp) abort();
            r->fill(r->ctx, i, tmp, r->n_bytes);
            src = tmp;
        }
        ok = fwrite(src, 1, r->n_bytes, fp) == r->n_bytes &&
             fwrite(zeros, 1, pad_to(r->n_bytes) - r->n_bytes, fp) == pad_to(r->n_bytes) - r->n_bytes;
        free(tmp);
    }
    if (fp && fclose(fp) != 0) ok = false;
    if (!ok) snprintf(err, err_cap, "%s: cannot write the file", path);
    return ok;
}
