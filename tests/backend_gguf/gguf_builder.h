/* A tiny GGUF writer for tests: builds valid files and, by poking fields,
 * corrupt ones. Everything is appended to one growable buffer. */
#ifndef WEFT_TEST_GGUF_BUILDER_H
#define WEFT_TEST_GGUF_BUILDER_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct gb {
    uint8_t *p;
    size_t len, cap;
    uint32_t version;
} gb;

static inline void gb_bytes(gb *b, const void *d, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->len, d, n);
    b->len += n;
}
static inline void gb_le(gb *b, uint64_t v, size_t w) {
    uint8_t t[8];
    for (size_t i = 0; i < w; i++) t[i] = (uint8_t)(v >> (8 * i));
    gb_bytes(b, t, w);
}
static inline void gb_u32(gb *b, uint32_t v) { gb_le(b, v, 4); }
static inline void gb_u64(gb *b, uint64_t v) { gb_le(b, v, 8); }
/* Counts/lengths: uint32 in v1, uint64 after. */
static inline void gb_count(gb *b, uint64_t v) { gb_le(b, v, b->version == 1 ? 4 : 8); }
static inline void gb_str(gb *b, const char *s) {
    gb_count(b, strlen(s));
    gb_bytes(b, s, strlen(s));
}
static inline void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    b->version = version;
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, version);
    gb_count(b, n_tensors);
    gb_count(b, n_kv);
}
static inline void gb_kv_u32(gb *b, const char *key, uint32_t v) {
    gb_str(b, key);
    gb_u32(b, 4 /* UINT32 */);
    gb_u32(b, v);
}
static inline void gb_kv_str(gb *b, const char *key, const char *v) {
    gb_str(b, key);
    gb_u32(b, 8 /* STRING */);
    gb_str(b, v);
}
static inline void gb_kv_f32(gb *b, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    gb_str(b, key);
    gb_u32(b, 6 /* FLOAT32 */);
    gb_u32(b, u);
}
static inline void gb_kv_strs(gb *b, const char *key, const char *const *v, size_t n) {
    gb_str(b, key);
    gb_u32(b, 9 /* ARRAY */);
    gb_u32(b, 8 /* STRING */);
    gb_count(b, n);
    for (size_t i = 0; i < n; i++) gb_str(b, v[i]);
}
static inline void gb_kv_i32s(gb *b, const char *key, const int32_t *v, size_t n) {
    gb_str(b, key);
    gb_u32(b, 9 /* ARRAY */);
    gb_u32(b, 5 /* INT32 */);
    gb_count(b, n);
    for (size_t i = 0; i < n; i++) gb_u32(b, (uint32_t)v[i]);
}
static inline void gb_kv_f32s(gb *b, const char *key, const float *v, size_t n) {
    gb_str(b, key);
    gb_u32(b, 9 /* ARRAY */);
    gb_u32(b, 6 /* FLOAT32 */);
    gb_count(b, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        gb_u32(b, u);
    }
}
static inline void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                             uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) gb_count(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}
static inline void gb_pad(gb *b, size_t align) {
    while (b->len % align) gb_bytes(b, "", 1);
}
static inline void gb_fill(gb *b, size_t n, uint8_t byte) {
    for (size_t i = 0; i < n; i++) gb_bytes(b, &byte, 1);
}
#endif
