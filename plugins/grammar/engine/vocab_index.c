/* The vocabulary as a trie over token bytes, built once per vocabulary:
 * tokens sorted by bytes, nodes in preorder with the end of each subtree, so
 * a walk skips every token under a dead prefix in one jump (the token-trie
 * walk of llguidance and XGrammar). */
#include "internal.h"

#define MAX_TOKEN_BYTES 65535 /* longer tokens are never allowed */

typedef struct tok_ref {
    const uint8_t *p;
    uint32_t len;
    int32_t id;
} tok_ref;

static int cmp_tok(const void *x, const void *y) {
    const tok_ref *a = x, *b = y;
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->p, b->p, n) : 0;
    if (c) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Token strings are separate allocations: fetch the ones a sequential pass
 * reads next ahead of time (set_vocab's passes are bound by these misses). */
#define PREFETCH_AHEAD 16
static inline void prefetch_token(const weft_vocab *v, size_t t) {
    if (t + PREFETCH_AHEAD < (size_t)v->n_vocab) __builtin_prefetch(v->bytes[t + PREFETCH_AHEAD]);
}

/* What the index keeps of token t: its bytes, or nothing (not in the trie). */
static bool indexed(const weft_vocab *v, const uint8_t *is_eog, size_t t) {
    return !is_eog[t] && v->len[t] > 0 && v->len[t] <= MAX_TOKEN_BYTES && v->bytes[t];
}

void wg_vocab_index_free(wg_vocab_index *vi) {
    if (!vi) return;
    free(vi->fingerprint);
    free(vi->sorted_ids);
    free(vi->tok_off);
    free(vi->tok_len);
    free(vi->bytes);
    free(vi->rank_of);
    free(vi->id_end);
    free(vi->node_byte);
    free(vi->node_depth);
    free(vi->node_end);
    free(vi->node_rank_lo);
    free(vi->node_rank_hi);
    free(vi->eog);
    free(vi->is_eog);
    wg_region_memo_free(vi->regions);
    free(vi);
}

wg_vocab_index *wg_vocab_index_new(const weft_vocab *v, wg_error *err) {
    if (!v || v->n_vocab <= 0 || !v->bytes || !v->len) {
        wg_set_error(err, "empty or malformed vocabulary");
        return NULL;
    }
    size_t nv = (size_t)v->n_vocab;
    wg_vocab_index *vi = calloc(1, sizeof *vi);
    tok_ref *refs = malloc(nv * sizeof *refs);
    if (!vi || !refs) goto oom;
    vi->n_vocab = v->n_vocab;
    vi->fingerprint = strdup(v->fingerprint ? v->fingerprint : "");
    vi->is_eog = calloc(nv, 1);
    vi->eog = malloc((v->n_eog + 1) * sizeof *vi->eog);
    vi->rank_of = malloc(nv * sizeof *vi->rank_of);
    vi->id_end = malloc(nv * sizeof *vi->id_end);
    vi->regions = wg_region_memo_new();
    if (!vi->regions || !vi->fingerprint || !vi->is_eog || !vi->eog || !vi->rank_of || !vi->id_end) goto oom;
    for (size_t i = 0; i < v->n_eog; i++) {
        weft_token t = v->eog[i];
        if (t < 0 || t >= v->n_vocab || vi->is_eog[t]) continue;
        vi->is_eog[t] = 1;
        vi->eog[vi->n_eog++] = t;
    }
    size_t n = 0, total = 0;
    for (size_t t = 0; t < nv; t++) {
        vi->rank_of[t] = UINT32_MAX;
        uint32_t len = v->len[t];
        if (!indexed(v, vi->is_eog, t)) continue;
        refs[n++] = (tok_ref){.p = (const uint8_t *)v->bytes[t], .len = len, .id = (int32_t)t};
        total += len;
    }
    /* bytes in id order: wg_vocab_index_matches reads them sequentially */
    vi->bytes = malloc(total + 1);
    if (!vi->bytes) goto oom;
    for (size_t t = 0, off = 0; t < nv; t++) {
        if (indexed(v, vi->is_eog, t)) {
            memcpy(vi->bytes + off, v->bytes[t], v->len[t]);
            off += v->len[t];
        }
        vi->id_end[t] = (uint32_t)off;
    }
    if (n) qsort(refs, n, sizeof *refs, cmp_tok);
    vi->n_sorted = (uint32_t)n;
    vi->sorted_ids = malloc((n + 1) * sizeof *vi->sorted_ids);
    vi->tok_off = malloc((n + 1) * sizeof *vi->tok_off);
    vi->tok_len = malloc((n + 1) * sizeof *vi->tok_len);
    /* at most one node per token byte */
    vi->node_byte = malloc(total + 1);
    vi->node_depth = malloc((total + 1) * sizeof *vi->node_depth);
    vi->node_end = malloc((total + 1) * sizeof *vi->node_end);
    vi->node_rank_lo = malloc((total + 1) * sizeof *vi->node_rank_lo);
    vi->node_rank_hi = malloc((total + 1) * sizeof *vi->node_rank_hi);
    uint32_t *path = malloc((MAX_TOKEN_BYTES + 1) * sizeof *path);
    if (!vi->sorted_ids || !vi->tok_off || !vi->tok_len || !vi->node_byte || !vi->node_depth ||
        !vi->node_end || !vi->node_rank_lo || !vi->node_rank_hi || !path) {
        free(path);
        goto oom;
    }
    size_t depth = 0; /* path[0..depth) are the open nodes */
    uint32_t nn = 0;
    for (size_t r = 0; r < n; r++) {
        const tok_ref *t = &refs[r];
        vi->sorted_ids[r] = t->id;
        vi->rank_of[t->id] = (uint32_t)r;
        vi->tok_off[r] = vi->id_end[t->id] - t->len;
        vi->tok_len[r] = t->len;
        if (t->len > vi->max_len) vi->max_len = t->len;
        size_t l = 0;
        if (r) {
            const tok_ref *q = &refs[r - 1];
            while (l < q->len && l < t->len && q->p[l] == t->p[l]) l++;
        }
        while (depth > l) vi->node_end[path[--depth]] = nn;
        if (l == t->len) { /* same bytes as the previous token */
            vi->node_rank_hi[path[depth - 1]] = (uint32_t)r + 1;
            continue;
        }
        for (size_t d = l; d < t->len; d++) {
            vi->node_byte[nn] = t->p[d];
            vi->node_depth[nn] = (uint16_t)(d + 1);
            vi->node_rank_lo[nn] = vi->node_rank_hi[nn] = (uint32_t)r;
            path[depth++] = nn++;
        }
        vi->node_rank_hi[path[depth - 1]] = (uint32_t)r + 1;
    }
    while (depth) vi->node_end[path[--depth]] = nn;
    vi->n_nodes = nn;
    free(path);
    free(refs);
    return vi;
oom:
    free(refs);
    wg_vocab_index_free(vi);
    wg_set_error(err, "out of memory indexing a vocabulary of %zu tokens", nv);
    return NULL;
}

/* v's end-of-generation tokens as a flag per id (in range ones only). */
static uint8_t *eog_flags(const weft_vocab *v) {
    uint8_t *f = calloc((size_t)v->n_vocab, 1);
    for (size_t i = 0; f && i < v->n_eog; i++)
        if (v->eog[i] >= 0 && v->eog[i] < v->n_vocab) f[v->eog[i]] = 1;
    return f;
}

/* Tokens whose bytes the key hashes: one in KEY_SAMPLE (each token's bytes
 * are a separate allocation, so hashing them all costs a cache miss per
 * token, for every new schema). */
#define KEY_SAMPLE 61

bool wg_vocab_key(const weft_vocab *v, char *key, size_t cap) {
    if (!v || v->n_vocab <= 0 || !v->bytes || !v->len || (v->n_eog && !v->eog)) return false;
    uint8_t *is_eog = eog_flags(v);
    if (!is_eog) return false;
    /* a multiplicative hash, 8 bytes per step, over every length and
     * end-of-generation flag and a sample of the bytes */
    uint64_t h = 0xcbf29ce484222325ull;
#define MIX(x) (h = (h ^ (x)) * 0x9e3779b97f4a7c15ull, h ^= h >> 32)
    for (const char *f = v->fingerprint ? v->fingerprint : ""; *f; f++) MIX((uint64_t)(uint8_t)*f);
    for (size_t t = 0; t < (size_t)v->n_vocab; t++) {
        uint32_t len = indexed(v, is_eog, t) ? v->len[t] : 0;
        MIX((uint64_t)len << 8 | is_eog[t]);
        if (t % KEY_SAMPLE || !len) continue;
        const uint8_t *p = (const uint8_t *)v->bytes[t];
        uint32_t i = 0;
        for (uint64_t x; i + 8 <= len; i += 8) {
            memcpy(&x, p + i, 8);
            MIX(x);
        }
        if (i < len) {
            uint64_t x = 0;
            memcpy(&x, p + i, len - i);
            MIX(x);
        }
    }
#undef MIX
    free(is_eog);
    /* the layout version and size: plugins built from other engine sources
     * may share the host's store */
    int n = snprintf(key, cap, "wg-vocab-index/3.%zu/%d/%016llx", sizeof(wg_vocab_index), v->n_vocab,
                     (unsigned long long)h);
    return n > 0 && (size_t)n < cap;
}

/* Runs for every new schema, so it reads the index's bytes in id order,
 * sequentially, as it reads v's. */
bool wg_vocab_index_matches(const wg_vocab_index *vi, const weft_vocab *v) {
    if (vi->n_vocab != v->n_vocab) return false;
    uint8_t *is_eog = eog_flags(v);
    bool same = is_eog && memcmp(is_eog, vi->is_eog, (size_t)v->n_vocab) == 0;
    for (size_t t = 0, off = 0; same && t < (size_t)v->n_vocab; t++) {
        prefetch_token(v, t);
        uint32_t len = indexed(v, is_eog, t) ? v->len[t] : 0;
        same = vi->id_end[t] - off == len && (vi->rank_of[t] != UINT32_MAX) == (len > 0) &&
               (!len || memcmp(vi->bytes + off, v->bytes[t], len) == 0);
        off = vi->id_end[t];
    }
    free(is_eog);
    return same;
}

int32_t wg_vocab_index_n_vocab(const wg_vocab_index *vi) { return vi->n_vocab; }
size_t wg_vocab_index_memo_bytes(const wg_vocab_index *vi) { return wg_region_memo_bytes(vi->regions); }
const char *wg_vocab_index_fingerprint(const wg_vocab_index *vi) { return vi->fingerprint; }

size_t wg_vocab_index_bytes(const wg_vocab_index *vi) {
    size_t nv = (size_t)vi->n_vocab, total = vi->id_end[nv - 1];
    return sizeof *vi + nv * (2 * sizeof(uint32_t) + 1) + vi->n_sorted * 3 * sizeof(uint32_t) + total +
           vi->n_nodes * (1 + sizeof(uint16_t) + 3 * sizeof(uint32_t)) + vi->n_eog * sizeof(int32_t);
}
