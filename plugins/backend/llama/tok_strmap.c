/* String pool and string -> index hash map used for token texts and merges. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

static uint64_t fnv_step(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash2(const char *a, size_t alen, int sep, const char *b, size_t blen) {
    uint64_t h = fnv_step(1469598103934665603ull, a, alen);
    if (sep >= 0) {
        char c = (char)sep;
        h = fnv_step(h, &c, 1);
    }
    return fnv_step(h, b, blen);
}

static bool key_eq(const str_table *t, uint32_t i, const char *a, size_t alen, int sep,
                   const char *b, size_t blen) {
    const char *k = t->pool + t->off[i];
    size_t n = alen + (sep >= 0) + blen;
    if (t->len[i] != n || memcmp(k, a, alen) != 0) return false;
    if (sep >= 0 && k[alen] != (char)sep) return false;
    return memcmp(k + alen + (sep >= 0), b, blen) == 0;
}

int64_t str_map_find2(const str_map *m, const char *a, size_t alen, int sep, const char *b,
                      size_t blen) {
    if (!m->slots) return -1;
    for (uint64_t at = hash2(a, alen, sep, b, blen) & m->mask;; at = (at + 1) & m->mask) {
        uint32_t v = m->slots[at];
        if (v == 0) return -1;
        if (key_eq(m->keys, v - 1, a, alen, sep, b, blen)) return v - 1;
    }
}

bool str_map_build(str_map *m, const str_table *t, bool last_wins) {
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)t->n) cap <<= 1;
    m->keys = t;
    m->mask = (uint32_t)(cap - 1);
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) return false;
    for (uint32_t i = 0; i < t->n; i++) {
        const char *k = t->pool + t->off[i];
        uint64_t at = hash2(k, t->len[i], -1, "", 0) & m->mask;
        while (m->slots[at] != 0 && !key_eq(t, m->slots[at] - 1, k, t->len[i], -1, "", 0))
            at = (at + 1) & m->mask;
        if (m->slots[at] == 0 || last_wins) m->slots[at] = i + 1;
    }
    return true;
}

void str_map_free(str_map *m) {
    free(m->slots);
    m->slots = NULL;
}

bool str_table_init(str_table *t, uint32_t n, size_t pool_bytes) {
    t->n = n;
    t->pool = malloc(pool_bytes ? pool_bytes : 1);
    t->off = malloc((n ? n : 1) * sizeof *t->off);
    t->len = malloc((n ? n : 1) * sizeof *t->len);
    return t->pool && t->off && t->len;
}

void str_table_free(str_table *t) {
    free(t->pool);
    free(t->off);
    free(t->len);
    memset(t, 0, sizeof *t);
}
