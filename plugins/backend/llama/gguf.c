/* GGUF reader. Every length read from the file is checked against the bytes
 * that remain before it is used, and every size computation is checked for
 * overflow, so a corrupt or hostile file yields an error message, never an
 * out-of-bounds read. Multi-byte values are decoded as little-endian. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise, pread */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sanity limits: far above any real model, low enough that a corrupt count
 * cannot trigger a huge allocation. */
#define GGUF_MAX_KV 1000000u
#define GGUF_MAX_TENSORS 1000000u
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MAX_ALIGNMENT (1u << 30)

/* ---------------------------------------------------------------- types */

typedef struct type_traits {
    const char *name;
    uint32_t blck; /* elements per block */
    uint32_t size; /* bytes per block */
} type_traits;

static const type_traits *type_info(ggml_type t) {
    static const type_traits f32 = {"F32", 1, 4}, f16 = {"F16", 1, 2}, bf16 = {"BF16", 1, 2},
                             q4_0 = {"Q4_0", 32, 18}, q4_1 = {"Q4_1", 32, 20},
                             q5_0 = {"Q5_0", 32, 22}, q5_1 = {"Q5_1", 32, 24},
                             q8_0 = {"Q8_0", 32, 34}, q8_1 = {"Q8_1", 32, 36},
                             q2_k = {"Q2_K", 256, 84}, q3_k = {"Q3_K", 256, 110},
                             q4_k = {"Q4_K", 256, 144}, q5_k = {"Q5_K", 256, 176},
                             q6_k = {"Q6_K", 256, 210}, q8_k = {"Q8_K", 256, 292};
    switch (t) {
    case GGML_TYPE_F32: return &f32;
    case GGML_TYPE_F16: return &f16;
    case GGML_TYPE_BF16: return &bf16;
    case GGML_TYPE_Q4_0: return &q4_0;
    case GGML_TYPE_Q4_1: return &q4_1;
    case GGML_TYPE_Q5_0: return &q5_0;
    case GGML_TYPE_Q5_1: return &q5_1;
    case GGML_TYPE_Q8_0: return &q8_0;
    case GGML_TYPE_Q8_1: return &q8_1;
    case GGML_TYPE_Q2_K: return &q2_k;
    case GGML_TYPE_Q3_K: return &q3_k;
    case GGML_TYPE_Q4_K: return &q4_k;
    case GGML_TYPE_Q5_K: return &q5_k;
    case GGML_TYPE_Q6_K: return &q6_k;
    case GGML_TYPE_Q8_K: return &q8_k;
    case WEFT_TYPE_Q8_0_SPLIT:
    case WEFT_TYPE_Q4_0_X8:
    case WEFT_TYPE_Q8_0_X8:
    case WEFT_TYPE_Q4_K_X8:
    case WEFT_TYPE_Q6_K_X8: return NULL; /* memory layouts, not file types */
    }
    return NULL;
}

size_t ggml_blck_size(ggml_type t) {
    const type_traits *ti = type_info(t);
    return ti ? ti->blck : 0;
}

size_t ggml_type_size(ggml_type t) {
    const type_traits *ti = type_info(t);
    return ti ? ti->size : 0;
}

const char *ggml_type_name(ggml_type t) {
    const type_traits *ti = type_info(t);
    return ti ? ti->name : "unknown";
}

static const char *value_type_name(uint32_t t) {
    static const char *const names[] = {"uint8", "int8",  "uint16", "int16", "uint32",
                                        "int32", "float32", "bool", "string", "array",
                                        "uint64", "int64", "float64"};
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static bool is_unsigned(gguf_value_type t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
           t == GGUF_TYPE_UINT64;
}

static bool is_signed(gguf_value_type t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
           t == GGUF_TYPE_INT64;
}

/* Bytes of one scalar of a fixed-size value type; 0 for string/array/unknown. */
static size_t scalar_size(uint32_t t) {
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

/* ---------------------------------------------------------------- utils */

bool gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

static uint64_t load_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Decode one fixed-size scalar into the widened union of gguf_kv. */
static void decode_scalar(uint32_t t, const uint8_t *p, gguf_kv *kv) {
    uint64_t raw = load_le(p, scalar_size(t));
    switch (t) {
    case GGUF_TYPE_INT8: kv->v.i64 = (int8_t)raw; break;
    case GGUF_TYPE_INT16: kv->v.i64 = (int16_t)raw; break;
    case GGUF_TYPE_INT32: kv->v.i64 = (int32_t)raw; break;
    case GGUF_TYPE_INT64: kv->v.i64 = (int64_t)raw; break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t b = (uint32_t)raw;
        float f;
        memcpy(&f, &b, 4);
        kv->v.f64 = f;
        break;
    }
    case GGUF_TYPE_FLOAT64: memcpy(&kv->v.f64, &raw, 8); break;
    case GGUF_TYPE_BOOL: kv->v.b = raw != 0; break;
    default: kv->v.u64 = raw; break;
    }
}

static uint64_t fnv1a(const char *s, uint64_t n) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* ---------------------------------------------------------------- name index */

/* Open-addressing hash of names -> index+1 (0 = empty slot). */
typedef struct name_index {
    uint32_t *slots;
    uint64_t mask;
} name_index;

static bool index_init(name_index *ix, uint64_t n) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    return ix->slots != NULL;
}

/* Finds `name`; returns its index or -1. `at_out` receives the free slot
 * where it would be inserted. */
static int64_t index_lookup(const name_index *ix, const gguf_str *names, size_t stride,
                            const char *s, uint64_t n, uint64_t *at_out) {
    if (!ix->slots) return -1;
    uint64_t at = fnv1a(s, n) & ix->mask;
    for (;; at = (at + 1) & ix->mask) {
        uint32_t v = ix->slots[at];
        if (v == 0) break;
        const gguf_str *cand = (const gguf_str *)((const char *)names + (size_t)(v - 1) * stride);
        if (cand->len == n && (n == 0 || memcmp(cand->ptr, s, n) == 0)) return v - 1;
    }
    if (at_out) *at_out = at;
    return -1;
}

/* ---------------------------------------------------------------- parser */

typedef struct gguf_impl {
    gguf_file pub; /* first: gguf_file pointers are gguf_impl pointers */
    bool owns_map;
    bool own_copy;     /* the map is anonymous memory holding the file's bytes */
    size_t unmap_size; /* the owned mapping's length (at least map_size) */
    name_index kv_ix, tensor_ix;
} gguf_impl;

typedef struct parser {
    gguf_impl *g;
    const uint8_t *base;
    size_t size, pos;
    uint32_t version;
    const char *name;
    char *err;
    size_t err_cap;
    char ctx[160]; /* what is being read, e.g. "key 'general.name'" */
} parser;

static bool fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(parser *p, const char *fmt, ...) {
    if (!p->err || p->err_cap == 0) return false;
    int n = snprintf(p->err, p->err_cap, "%s: %s%s", p->name, p->ctx, p->ctx[0] ? ": " : "");
    if (n >= 0 && (size_t)n < p->err_cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->err_cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Context label for error messages; names are printed with non-printable
 * bytes escaped and long ones truncated. */
static void set_ctx(parser *p, const char *what, const gguf_str *nm) {
    size_t n = (size_t)snprintf(p->ctx, sizeof p->ctx, "%s", what);
    if (!nm || n >= sizeof p->ctx) return;
    char buf[100];
    size_t o = 0;
    uint64_t i = 0;
    for (; i < nm->len && o + 8 <= sizeof buf; i++) { /* keeps room for "..." */
        unsigned char c = (unsigned char)nm->ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '\'') buf[o++] = (char)c;
        else o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
    }
    if (i < nm->len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = 0;
    snprintf(p->ctx + n, sizeof p->ctx - n, " '%s'", buf);
}

static size_t remaining(const parser *p) { return p->size - p->pos; }

static bool need(parser *p, uint64_t n, const char *what) {
    if (n > remaining(p))
        return fail(p, "%s at offset %zu needs %llu bytes but only %zu remain (file size %zu)",
                    what, p->pos, (unsigned long long)n, remaining(p), p->size);
    return true;
}

static bool read_uint(parser *p, size_t width, uint64_t *out, const char *what) {
    if (!need(p, width, what)) return false;
    *out = load_le(p->base + p->pos, width);
    p->pos += width;
    return true;
}

static bool read_u32(parser *p, uint32_t *out, const char *what) {
    uint64_t v;
    if (!read_uint(p, 4, &v, what)) return false;
    *out = (uint32_t)v;
    return true;
}

/* Counts and lengths are uint32 in GGUF v1, uint64 later. */
static size_t count_width(const parser *p) { return p->version == 1 ? 4 : 8; }

static bool read_count(parser *p, uint64_t *out, const char *what) {
    return read_uint(p, count_width(p), out, what);
}

static bool read_str(parser *p, gguf_str *out, const char *what) {
    uint64_t len;
    if (!read_count(p, &len, what)) return false;
    if (len > remaining(p))
        return fail(p, "%s length %llu at offset %zu extends past end of file (%zu bytes remain)",
                    what, (unsigned long long)len, p->pos - count_width(p), remaining(p));
    out->ptr = (const char *)p->base + p->pos;
    out->len = len;
    p->pos += (size_t)len;
    return true;
}

static bool parse_header(parser *p) {
    gguf_file *f = &p->g->pub;
    if (p->size < 4 || memcmp(p->base, "GGUF", 4) != 0) {
        char got[24] = "";
        size_t o = 0;
        for (size_t i = 0; i < 4 && i < p->size; i++) {
            uint8_t c = p->base[i];
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') got[o++] = (char)c;
            else o += (size_t)snprintf(got + o, sizeof got - o, "\\x%02x", c);
        }
        return fail(p, "bad magic: expected \"GGUF\", found \"%s\"%s", got,
                    p->size < 4 ? " (file too short)" : "");
    }
    p->pos = 4;
    if (!read_u32(p, &p->version, "version")) return false;
    if (p->version < 1 || p->version > 3)
        return fail(p, "unsupported GGUF version %u (expected 1, 2 or 3)", p->version);
    f->version = p->version;
    if (!read_count(p, &f->n_tensors, "tensor count")) return false;
    if (!read_count(p, &f->n_kv, "key/value count")) return false;
    /* Each tensor info / KV pair takes several bytes, so a count beyond the
     * bytes left is corrupt; check before allocating. */
    if (f->n_tensors > GGUF_MAX_TENSORS || f->n_tensors > remaining(p) / 8)
        return fail(p, "tensor count %llu is implausible (limit %u, %zu bytes remain)",
                    (unsigned long long)f->n_tensors, GGUF_MAX_TENSORS, remaining(p));
    if (f->n_kv > GGUF_MAX_KV || f->n_kv > remaining(p) / 8)
        return fail(p, "key/value count %llu is implausible (limit %u, %zu bytes remain)",
                    (unsigned long long)f->n_kv, GGUF_MAX_KV, remaining(p));
    return true;
}

/* Array of strings: record where each element lies. */
static bool parse_str_array(parser *p, uint64_t i, uint64_t count) {
    gguf_file *f = &p->g->pub;
    /* Each element has at least its length field. */
    if (count > remaining(p) / count_width(p))
        return fail(p, "array of %llu strings cannot fit in the %zu bytes remaining",
                    (unsigned long long)count, remaining(p));
    gguf_str *idx = malloc(count ? count * sizeof *idx : 1);
    if (!idx) return fail(p, "out of memory for %llu strings", (unsigned long long)count);
    f->str_index[i] = idx;
    for (uint64_t j = 0; j < count; j++) {
        char what[48];
        snprintf(what, sizeof what, "string element %llu", (unsigned long long)j);
        if (!read_str(p, &idx[j], what)) return false;
    }
    return true;
}

static bool parse_array(parser *p, uint64_t i) {
    gguf_kv *kv = &p->g->pub.kv[i];
    uint32_t at;
    if (!read_u32(p, &at, "array element type")) return false;
    if (!read_count(p, &kv->arr_count, "array length")) return false;
    kv->arr_type = (gguf_value_type)at;
    kv->arr_data = p->base + p->pos;
    if (at == GGUF_TYPE_STRING) return parse_str_array(p, i, kv->arr_count);
    if (at == GGUF_TYPE_ARRAY) return fail(p, "nested arrays are not supported");
    size_t es = scalar_size(at);
    if (es == 0) return fail(p, "unknown array element type %u (expected 0..12)", at);
    if (kv->arr_count > remaining(p) / es)
        return fail(p, "array of %llu %s values extends past end of file (%zu bytes remain)",
                    (unsigned long long)kv->arr_count, value_type_name(at), remaining(p));
    p->pos += (size_t)kv->arr_count * es;
    return true;
}

static bool parse_value(parser *p, uint64_t i) {
    gguf_kv *kv = &p->g->pub.kv[i];
    uint32_t t;
    if (!read_u32(p, &t, "value type")) return false;
    kv->type = (gguf_value_type)t;
    if (t == GGUF_TYPE_STRING) return read_str(p, &kv->v.str, "string value");
    if (t == GGUF_TYPE_ARRAY) return parse_array(p, i);
    size_t sz = scalar_size(t);
    if (sz == 0) return fail(p, "unknown value type %u (expected 0..12)", t);
    if (!need(p, sz, "value")) return false;
    decode_scalar(t, p->base + p->pos, kv);
    p->pos += sz;
    return true;
}

static bool parse_kvs(parser *p) {
    gguf_impl *g = p->g;
    gguf_file *f = &g->pub;
    f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kv);
    f->str_index = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->str_index);
    if (!f->kv || !f->str_index || !index_init(&g->kv_ix, f->n_kv))
        return fail(p, "out of memory for %llu key/value pairs", (unsigned long long)f->n_kv);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        char what[48];
        snprintf(what, sizeof what, "key/value pair %llu", (unsigned long long)i);
        set_ctx(p, what, NULL);
        gguf_kv *kv = &f->kv[i];
        if (!read_str(p, &kv->key, "key")) return false;
        set_ctx(p, "key", &kv->key);
        uint64_t at = 0; /* set by index_lookup; gcc cannot see it */
        if (index_lookup(&g->kv_ix, &f->kv[0].key, sizeof *f->kv, kv->key.ptr, kv->key.len,
                         &at) >= 0)
            return fail(p, "duplicate key");
        g->kv_ix.slots[at] = (uint32_t)i + 1;
        if (!parse_value(p, i)) return false;
    }
    p->ctx[0] = 0;
    return true;
}

static bool parse_alignment(parser *p) {
    gguf_file *f = &p->g->pub;
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find_kv(f, "general.alignment");
    if (!kv) return true;
    set_ctx(p, "key 'general.alignment'", NULL);
    uint32_t a;
    if (!is_unsigned(kv->type) && !is_signed(kv->type))
        return fail(p, "expected an unsigned 32-bit integer, found %s",
                    value_type_name(kv->type));
    if (!gguf_get_u32(f, "general.alignment", &a))
        return fail(p, "value out of range for an unsigned 32-bit integer");
    if (a == 0 || (a & (a - 1)) != 0 || a > GGUF_MAX_ALIGNMENT)
        return fail(p, "expected a power of two (at most %u), found %u", GGUF_MAX_ALIGNMENT, a);
    f->alignment = a;
    p->ctx[0] = 0;
    return true;
}

/* Shape, type and byte size of one tensor info (data checked later). */
static bool check_shape(parser *p, gguf_tensor *t) {
    const type_traits *ti = type_info(t->type);
    if (!ti) return fail(p, "unknown tensor type %u", (unsigned)t->type);
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (t->ne[d] == 0) return fail(p, "dimension %u is zero", d);
        if (t->ne[d] > INT64_MAX / n_el)
            return fail(p, "element count overflows (dimension %u = %llu)", d,
                        (unsigned long long)t->ne[d]);
        n_el *= t->ne[d];
    }
    if (t->ne[0] % ti->blck != 0)
        return fail(p, "row length %llu is not a multiple of the %s block size %u",
                    (unsigned long long)t->ne[0], ti->name, ti->blck);
    uint64_t n_blocks = n_el / ti->blck;
    if (n_blocks > UINT64_MAX / ti->size)
        return fail(p, "byte size overflows (%llu elements of %s)", (unsigned long long)n_el,
                    ti->name);
    t->n_bytes = n_blocks * ti->size;
    return true;
}

static bool parse_tensor_info(parser *p, uint64_t i) {
    gguf_impl *g = p->g;
    gguf_file *f = &g->pub;
    gguf_tensor *t = &f->tensors[i];
    char what[48];
    snprintf(what, sizeof what, "tensor %llu", (unsigned long long)i);
    set_ctx(p, what, NULL);
    if (!read_str(p, &t->name, "name")) return false;
    set_ctx(p, "tensor", &t->name);
    uint64_t at = 0; /* set by index_lookup; gcc cannot see it */
    if (index_lookup(&g->tensor_ix, &f->tensors[0].name, sizeof *f->tensors, t->name.ptr,
                     t->name.len, &at) >= 0)
        return fail(p, "duplicate tensor name");
    g->tensor_ix.slots[at] = (uint32_t)i + 1;
    if (!read_u32(p, &t->n_dims, "dimension count")) return false;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return fail(p, "dimension count %u is out of range (expected 1..%d)", t->n_dims,
                    GGUF_MAX_DIMS);
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims && !read_count(p, &t->ne[d], "dimension")) return false;
    }
    uint32_t type;
    if (!read_u32(p, &type, "type")) return false;
    t->type = (ggml_type)type;
    if (!read_uint(p, 8, &t->offset, "data offset")) return false;
    if (!check_shape(p, t)) return false;
    if (t->offset % f->alignment != 0)
        return fail(p, "data offset %llu is not a multiple of the alignment %llu",
                    (unsigned long long)t->offset, (unsigned long long)f->alignment);
    return true;
}

/* With the data section located, every tensor's bytes must lie inside it. */
static bool check_tensor_data(parser *p) {
    gguf_file *f = &p->g->pub;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        set_ctx(p, "tensor", &t->name);
        uint64_t avail = p->size > f->data_offset ? p->size - f->data_offset : 0;
        if (t->offset > avail || t->n_bytes > avail - t->offset)
            return fail(p, "data [offset %llu, %llu bytes] extends past end of file "
                           "(size %zu, data section starts at %llu)",
                        (unsigned long long)t->offset, (unsigned long long)t->n_bytes, p->size,
                        (unsigned long long)f->data_offset);
        t->data = p->base + f->data_offset + t->offset;
    }
    p->ctx[0] = 0;
    return true;
}

static bool parse_tensors(parser *p) {
    gguf_impl *g = p->g;
    gguf_file *f = &g->pub;
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    if (!f->tensors || !index_init(&g->tensor_ix, f->n_tensors))
        return fail(p, "out of memory for %llu tensors", (unsigned long long)f->n_tensors);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (!parse_tensor_info(p, i)) return false;
    p->ctx[0] = 0;
    uint64_t pad = (f->alignment - p->pos % f->alignment) % f->alignment;
    f->data_offset = p->pos + pad;
    return check_tensor_data(p);
}

/* owned: the length of base's mapping, unmapped by gguf_close; 0 when the
 * caller keeps the buffer. */
static gguf_file *open_buffer(const uint8_t *base, size_t size, const char *name, size_t owned,
                              char *err, size_t err_cap) {
    gguf_impl *g = calloc(1, sizeof *g);
    char *path = strdup(name ? name : "<memory>");
    if (!g || !path) {
        free(g);
        free(path);
        if (err && err_cap) snprintf(err, err_cap, "%s: out of memory", name ? name : "gguf");
        return NULL;
    }
    g->pub.path = path;
    g->pub.map = base;
    g->pub.map_size = size;
    g->owns_map = owned > 0;
    g->unmap_size = owned;
    parser p = {.g = g, .base = base, .size = size, .name = path, .err = err, .err_cap = err_cap};
    if (parse_header(&p) && parse_kvs(&p) && parse_alignment(&p) && parse_tensors(&p))
        return &g->pub;
    gguf_close(&g->pub);
    return NULL;
}

gguf_file *gguf_open_memory(const void *data, size_t size, const char *name, char *err,
                            size_t err_cap) {
    static const uint8_t empty[1];
    return open_buffer(data ? data : empty, data ? size : 0, name, 0, err, err_cap);
}

/* The file's bytes in anonymous memory advised for transparent huge pages,
 * read-only; NULL when that memory cannot be had (the caller maps the file).
 * A decode step streams every weight once: with 4 KiB pages of a file
 * mapping that is a TLB miss every 4 KiB, and on stories260K-wide-q8_0 the
 * huge-page copy decodes about 11% faster on one thread and 7% on two
 * (docs/performance.md). The file's pages are never mapped, so they count
 * in the page cache, not in RSS. */
#define HUGE_PAGE ((size_t)2 << 20)
static void *read_to_huge_pages(int fd, size_t size, size_t *mapped) {
    size_t len = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uint8_t *raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    /* align to a huge page, give back the ends */
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (p > raw) munmap(raw, (size_t)(p - raw));
    if (raw + len + HUGE_PAGE > p + len) munmap(p + len, (size_t)(raw + len + HUGE_PAGE - (p + len)));
    madvise(p, len, MADV_HUGEPAGE); /* a hint: without THP it is plain memory */
    for (size_t done = 0; done < size;) {
        ssize_t n = pread(fd, p + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            munmap(p, len);
            return NULL;
        }
        done += (size_t)n;
    }
    mprotect(p, len, PROT_READ);
    *mapped = len;
    return p;
}

gguf_file *gguf_open(const char *path, char *err, size_t err_cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err && err_cap) snprintf(err, err_cap, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0) why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) why = "not a regular file";
    else if (st.st_size == 0) why = "file is empty (expected a GGUF header)";
    if (why) {
        if (err && err_cap) snprintf(err, err_cap, "%s: %s", path, why);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, mapped = size;
    void *map = read_to_huge_pages(fd, size, &mapped);
    const bool copied = map != NULL;
    int e = 0;
    if (!map) { /* no anonymous memory to spare: map the file itself */
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        e = errno;
        mapped = size;
    }
    close(fd);
    if (map == MAP_FAILED) {
        if (err && err_cap) snprintf(err, err_cap, "%s: mmap failed: %s", path, strerror(e));
        return NULL;
    }
    gguf_file *f = open_buffer(map, size, path, mapped, err, err_cap);
    if (f) ((gguf_impl *)f)->own_copy = copied;
    return f;
}

bool gguf_unseal(gguf_file *f) {
    gguf_impl *g = (gguf_impl *)f;
    return g && g->own_copy && mprotect((void *)f->map, g->unmap_size, PROT_READ | PROT_WRITE) == 0;
}

void gguf_seal(gguf_file *f) {
    gguf_impl *g = (gguf_impl *)f;
    if (g && g->own_copy) mprotect((void *)f->map, g->unmap_size, PROT_READ);
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    gguf_impl *g = (gguf_impl *)f;
    if (f->str_index)
        for (uint64_t i = 0; i < f->n_kv; i++) free(f->str_index[i]);
    free(f->str_index);
    free(f->kv);
    free(f->tensors);
    free(g->kv_ix.slots);
    free(g->tensor_ix.slots);
    if (g->owns_map && f->map) munmap((void *)f->map, g->unmap_size);
    free(f->path);
    free(g);
}

/* ---------------------------------------------------------------- lookups */

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key) {
    const gguf_impl *g = (const gguf_impl *)f;
    if (!f || !key || !f->kv) return NULL;
    int64_t i = index_lookup(&g->kv_ix, &f->kv[0].key, sizeof *f->kv, key, strlen(key), NULL);
    return i >= 0 ? &f->kv[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    const gguf_impl *g = (const gguf_impl *)f;
    if (!f || !name || !f->tensors) return NULL;
    int64_t i = index_lookup(&g->tensor_ix, &f->tensors[0].name, sizeof *f->tensors, name,
                             strlen(name), NULL);
    return i >= 0 ? &f->tensors[i] : NULL;
}

bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return false;
    if (is_unsigned(kv->type) && kv->v.u64 <= UINT32_MAX) {
        *out = (uint32_t)kv->v.u64;
        return true;
    }
    if (is_signed(kv->type) && kv->v.i64 >= 0 && kv->v.i64 <= (int64_t)UINT32_MAX) {
        *out = (uint32_t)kv->v.i64;
        return true;
    }
    return false;
}

bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return false;
    if (is_signed(kv->type)) {
        *out = kv->v.i64;
        return true;
    }
    if (is_unsigned(kv->type) && kv->v.u64 <= (uint64_t)INT64_MAX) {
        *out = (int64_t)kv->v.u64;
        return true;
    }
    return false;
}

bool gguf_get_f32(const gguf_file *f, const char *key, float *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return false;
    if (kv->type == GGUF_TYPE_FLOAT32 || kv->type == GGUF_TYPE_FLOAT64) *out = (float)kv->v.f64;
    else if (is_signed(kv->type)) *out = (float)kv->v.i64;
    else if (is_unsigned(kv->type)) *out = (float)kv->v.u64;
    else return false;
    return true;
}

bool gguf_get_bool(const gguf_file *f, const char *key, bool *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_BOOL) return false;
    *out = kv->v.b;
    return true;
}

bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_STRING) return false;
    *out = kv->v.str;
    return true;
}

gguf_str gguf_arr_str(const gguf_file *f, const gguf_kv *kv, uint64_t i) {
    gguf_str none = {NULL, 0};
    if (!f || !kv || kv < f->kv || kv >= f->kv + f->n_kv) return none;
    const gguf_str *idx = f->str_index[kv - f->kv];
    if (!idx || kv->type != GGUF_TYPE_ARRAY || i >= kv->arr_count) return none;
    return idx[i];
}

double gguf_arr_num(const gguf_kv *kv, uint64_t i) {
    if (!kv || kv->type != GGUF_TYPE_ARRAY || i >= kv->arr_count) return 0.0;
    size_t es = scalar_size(kv->arr_type);
    if (es == 0) return 0.0;
    gguf_kv tmp;
    decode_scalar(kv->arr_type, kv->arr_data + i * es, &tmp);
    if (kv->arr_type == GGUF_TYPE_FLOAT32 || kv->arr_type == GGUF_TYPE_FLOAT64) return tmp.v.f64;
    if (kv->arr_type == GGUF_TYPE_BOOL) return tmp.v.b ? 1.0 : 0.0;
    if (is_signed(kv->arr_type)) return (double)tmp.v.i64;
    return (double)tmp.v.u64;
}
