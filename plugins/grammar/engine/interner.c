/* Dense ids for distinct sequences of words: the DFA subsets of subset
 * construction (compile.c) and the structural classes of expressions
 * (same_rules.c) are both "give this sequence its id, new if unseen". */
#include "internal.h"

static uint32_t hash_words(const uint32_t *w, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ w[i]) * 16777619u;
    return h ^ (uint32_t)n;
}

size_t wg_interner_count(const wg_interner *in) { return in->off.n ? in->off.n - 1 : 0; }

/* Room for one more id at load 1/2; false when out of memory. */
static bool grow(wg_interner *in) {
    size_t n = wg_interner_count(in);
    if ((n + 1) * 2 <= in->table_cap) return true;
    size_t cap = in->table_cap ? in->table_cap * 2 : 256;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (size_t i = 0; i < n; i++) {
        uint32_t o = in->off.v[i];
        size_t h = hash_words(in->words.v + o, in->off.v[i + 1] - o) & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = (uint32_t)i + 1;
    }
    free(in->table);
    in->table = t;
    in->table_cap = cap;
    return true;
}

uint32_t wg_intern(wg_interner *in, const uint32_t *w, size_t n, bool *added) {
    *added = false;
    if ((!in->off.n && !wg_vec_push(&in->off, 0)) || !grow(in)) return WG_NONE;
    size_t h = hash_words(w, n) & (in->table_cap - 1);
    for (; in->table[h]; h = (h + 1) & (in->table_cap - 1)) {
        uint32_t id = in->table[h] - 1, o = in->off.v[id];
        if (in->off.v[id + 1] - o == n && (n == 0 || memcmp(in->words.v + o, w, n * sizeof *w) == 0)) return id;
    }
    uint32_t id = (uint32_t)wg_interner_count(in);
    if (!wg_vec_reserve(&in->words, in->words.n + n) || !wg_vec_push(&in->off, 0)) return WG_NONE;
    if (n) memcpy(in->words.v + in->words.n, w, n * sizeof *w);
    in->words.n += n;
    in->off.v[id + 1] = (uint32_t)in->words.n;
    in->table[h] = id + 1;
    *added = true;
    return id;
}

void wg_interner_free(wg_interner *in) {
    wg_vec_free(&in->words);
    wg_vec_free(&in->off);
    free(in->table);
    *in = (wg_interner){0};
}
