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

void wg_vocab_index_free(wg_vocab_index *vi) {
    if (!vi) return;
    free(vi->fingerprint);
    free(vi->sorted_ids);
    free(vi->tok_off);
    free(vi->tok_len);
    free(vi->bytes);
    free(vi->rank_of);
    free(vi->node_byte);
    free(vi->node_depth);
    free(vi->node_end);
    free(vi->node_rank_lo);
    free(vi->node_rank_hi);
    free(vi->eog);
    free(vi->is_eog);
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
    if (!vi->fingerprint || !vi->is_eog || !vi->eog || !vi->rank_of) goto oom;
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
        if (vi->is_eog[t] || len == 0 || len > MAX_TOKEN_BYTES || !v->bytes[t]) continue;
        refs[n++] = (tok_ref){.p = (const uint8_t *)v->bytes[t], .len = len, .id = (int32_t)t};
        total += len;
    }
    if (n) qsort(refs, n, sizeof *refs, cmp_tok);
    vi->n_sorted = (uint32_t)n;
    vi->sorted_ids = malloc((n + 1) * sizeof *vi->sorted_ids);
    vi->tok_off = malloc((n + 1) * sizeof *vi->tok_off);
    vi->tok_len = malloc((n + 1) * sizeof *vi->tok_len);
    vi->bytes = malloc(total + 1);
    /* at most one node per token byte */
    vi->node_byte = malloc(total + 1);
    vi->node_depth = malloc((total + 1) * sizeof *vi->node_depth);
    vi->node_end = malloc((total + 1) * sizeof *vi->node_end);
    vi->node_rank_lo = malloc((total + 1) * sizeof *vi->node_rank_lo);
    vi->node_rank_hi = malloc((total + 1) * sizeof *vi->node_rank_hi);
    uint32_t *path = malloc((MAX_TOKEN_BYTES + 1) * sizeof *path);
    if (!vi->sorted_ids || !vi->tok_off || !vi->tok_len || !vi->bytes || !vi->node_byte || !vi->node_depth ||
        !vi->node_end || !vi->node_rank_lo || !vi->node_rank_hi || !path) {
        free(path);
        goto oom;
    }
    size_t off = 0, depth = 0; /* path[0..depth) are the open nodes */
    uint32_t nn = 0;
    for (size_t r = 0; r < n; r++) {
        const tok_ref *t = &refs[r];
        vi->sorted_ids[r] = t->id;
        vi->rank_of[t->id] = (uint32_t)r;
        vi->tok_off[r] = (uint32_t)off;
        vi->tok_len[r] = t->len;
        memcpy(vi->bytes + off, t->p, t->len);
        off += t->len;
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

int32_t wg_vocab_index_n_vocab(const wg_vocab_index *vi) { return vi->n_vocab; }
const char *wg_vocab_index_fingerprint(const wg_vocab_index *vi) { return vi->fingerprint; }

size_t wg_vocab_index_bytes(const wg_vocab_index *vi) {
    size_t nv = (size_t)vi->n_vocab, total = vi->n_sorted ? vi->tok_off[vi->n_sorted - 1] + vi->tok_len[vi->n_sorted - 1] : 0;
    return sizeof *vi + nv * (sizeof(uint32_t) + 1) + vi->n_sorted * 3 * sizeof(uint32_t) + total +
           vi->n_nodes * (1 + sizeof(uint16_t) + 3 * sizeof(uint32_t)) + vi->n_eog * sizeof(int32_t);
}
