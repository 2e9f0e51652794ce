/* The read-only suffix automaton block: build, save, map, look up (frozen.h). */
#include "frozen.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = "WEFTSAM1";
#define VERSION 1u
#define BYTE_ORDER_MARK 0x01020304u

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Offsets of the arrays in a block; returns the block's size. */
typedef struct layout {
    size_t tok, len, link, pos, count, best, e_off, e_tok, e_to, size;
} layout;

static layout layout_of(size_t n_tok, size_t n_states, size_t n_edges) {
    layout l;
    size_t at = pad8(sizeof(frozen_header)), st = pad8(n_states * 4);
    l.tok = at;
    at += pad8(n_tok * 4);
    l.len = at;
    l.link = l.len + st;
    l.pos = l.link + st;
    l.count = l.pos + st;
    l.best = l.count + st;
    at = l.best + st;
    l.e_off = at;
    at += pad8((n_states + 1) * 4);
    l.e_tok = at;
    l.e_to = at + pad8(n_edges * 4);
    l.size = l.e_to + pad8(n_edges * 4);
    return l;
}

static void bind(sam_frozen *f, const frozen_header *h) {
    const char *b = f->block;
    layout l = layout_of(h->n_tok, h->n_states, h->n_edges);
    f->n_tok = h->n_tok;
    f->n_states = h->n_states;
    f->n_edges = h->n_edges;
    f->tok = (const weft_token *)(b + l.tok);
    f->len = (const int32_t *)(b + l.len);
    f->link = (const int32_t *)(b + l.link);
    f->pos = (const int32_t *)(b + l.pos);
    f->count = (const int32_t *)(b + l.count);
    f->best = (const int32_t *)(b + l.best);
    f->e_off = (const uint32_t *)(b + l.e_off);
    f->e_tok = (const weft_token *)(b + l.e_tok);
    f->e_to = (const int32_t *)(b + l.e_to);
}

typedef struct edge_pair {
    weft_token tok;
    int32_t to;
} edge_pair;

static int cmp_edge(const void *a, const void *b) {
    weft_token x = ((const edge_pair *)a)->tok, y = ((const edge_pair *)b)->tok;
    return (x > y) - (x < y);
}

weft_status frozen_build(sam_frozen *f, const weft_env *env, const sam *s, uint64_t fingerprint) {
    memset(f, 0, sizeof *f);
    f->env = env;
    size_t ns = s->n_states, ne = s->n_edges;
    layout l = layout_of(s->n, ns, ne);
    char *b = weft_calloc(env, 1, l.size);
    size_t *order = weft_calloc(env, ns + (size_t)s->n + 2, sizeof *order); /* by length, then a bucket count */
    if (!b || !order) {
        weft_free(env, b);
        weft_free(env, order);
        weft_error(env, "corpus automaton: out of memory (%zu bytes)", l.size);
        return WEFT_ERR_NOMEM;
    }
    frozen_header h = {.version = VERSION, .byte_order = BYTE_ORDER_MARK, .fingerprint = fingerprint,
                       .n_tok = s->n, .n_states = ns, .n_edges = ne};
    memcpy(h.magic, MAGIC, sizeof h.magic);
    memcpy(b, &h, sizeof h);
    f->block = b;
    f->block_size = l.size;
    bind(f, &h);
    int32_t *len = (int32_t *)(b + l.len), *link = (int32_t *)(b + l.link), *pos = (int32_t *)(b + l.pos);
    int32_t *count = (int32_t *)(b + l.count), *best = (int32_t *)(b + l.best);
    uint32_t *e_off = (uint32_t *)(b + l.e_off);
    memcpy(b + l.tok, s->tok, s->n * sizeof *s->tok);
    memcpy(len, s->len, ns * sizeof *len);
    memcpy(link, s->link, ns * sizeof *link);
    memcpy(pos, s->pos, ns * sizeof *pos);
    /* |endpos|: each prefix's own state counts once, then counts flow up the
     * suffix links, longest states first (counting sort by length). */
    for (int32_t st = 0, i = 0; (size_t)i < s->n; i++) {
        st = sam_next(s, st, s->tok[i]);
        count[st]++;
    }
    size_t *bucket = order + ns;
    for (size_t st = 0; st < ns; st++) bucket[len[st]]++;
    for (size_t k = 1; k <= s->n; k++) bucket[k] += bucket[k - 1];
    for (size_t st = ns; st-- > 0;) order[--bucket[len[st]]] = st;
    for (size_t k = ns; k-- > 1;) count[link[order[k]]] += count[order[k]];
    weft_free(env, order);
    /* CSR edges, sorted by token; the most frequent non-separator edge */
    edge_pair *edges = weft_alloc(env, (ne ? ne : 1) * sizeof *edges);
    if (!edges) {
        frozen_free(f);
        weft_error(env, "corpus automaton: out of memory");
        return WEFT_ERR_NOMEM;
    }
    weft_token *e_tok = (weft_token *)(b + l.e_tok);
    int32_t *e_to = (int32_t *)(b + l.e_to);
    size_t at = 0;
    for (size_t st = 0; st < ns; st++) {
        e_off[st] = (uint32_t)at;
        size_t first = at;
        for (int32_t e = s->head[st]; e >= 0; e = s->e_next[e]) edges[at++] = (edge_pair){s->e_tok[e], s->e_to[e]};
        qsort(edges + first, at - first, sizeof *edges, cmp_edge);
    }
    e_off[ns] = (uint32_t)at;
    for (size_t e = 0; e < ne; e++) e_tok[e] = edges[e].tok, e_to[e] = edges[e].to;
    weft_free(env, edges);
    for (size_t st = 0; st < ns; st++) {
        best[st] = -1;
        for (uint32_t e = e_off[st]; e < e_off[st + 1]; e++)
            if (e_tok[e] != FROZEN_SEP && (best[st] < 0 || count[e_to[e]] > count[e_to[best[st]]])) best[st] = (int32_t)e;
    }
    return WEFT_OK;
}

void frozen_free(sam_frozen *f) {
    if (!f->block) return;
    if (f->mapped) munmap(f->block, f->block_size);
    else weft_free(f->env, f->block);
    memset(f, 0, sizeof *f);
}

/* Every index in range, so a damaged file cannot make a lookup stray. */
static bool valid(const sam_frozen *f) {
    if (f->n_states == 0 || f->e_off[0] != 0 || f->e_off[f->n_states] != f->n_edges) return false;
    for (size_t st = 0; st < f->n_states; st++) {
        if (f->e_off[st] > f->e_off[st + 1]) return false;
        if (f->len[st] < 0 || (size_t)f->len[st] > f->n_tok) return false;
        /* links lead to strictly shorter states, so walking them ends at the root */
        if (st ? (f->link[st] < 0 || (size_t)f->link[st] >= f->n_states || f->len[f->link[st]] >= f->len[st])
               : f->link[st] != -1)
            return false;
        if (st && (f->pos[st] < 0 || (size_t)f->pos[st] >= f->n_tok)) return false;
        if (f->best[st] != -1 && (f->best[st] < (int32_t)f->e_off[st] || f->best[st] >= (int32_t)f->e_off[st + 1]))
            return false;
        for (uint32_t e = f->e_off[st]; e < f->e_off[st + 1]; e++)
            if (f->e_to[e] <= 0 || (size_t)f->e_to[e] >= f->n_states || (e > f->e_off[st] && f->e_tok[e - 1] >= f->e_tok[e]))
                return false;
    }
    return true;
}

weft_status frozen_map(sam_frozen *f, const weft_env *env, const char *path, uint64_t fingerprint) {
    memset(f, 0, sizeof *f);
    f->env = env;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return WEFT_ERR_IO;
    struct stat st;
    frozen_header h;
    bool ok = fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof h && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
              memcmp(h.magic, MAGIC, sizeof MAGIC) == 0 && h.version == VERSION && h.byte_order == BYTE_ORDER_MARK &&
              h.fingerprint == fingerprint && h.n_tok < INT32_MAX / 4 && h.n_states <= 2 * h.n_tok + 1 &&
              h.n_edges <= 3 * h.n_tok + 1 && layout_of(h.n_tok, h.n_states, h.n_edges).size == (size_t)st.st_size;
    void *m = ok ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED) return WEFT_ERR_IO;
    f->block = m;
    f->block_size = (size_t)st.st_size;
    f->mapped = true;
    bind(f, &h);
    if (!valid(f)) {
        frozen_free(f);
        f->env = env;
        return WEFT_ERR_IO;
    }
    return WEFT_OK;
}

weft_status frozen_save(const sam_frozen *f, const char *path) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp) return WEFT_ERR_IO;
    FILE *out = fopen(tmp, "wb");
    if (!out) return WEFT_ERR_IO;
    bool ok = fwrite(f->block, 1, f->block_size, out) == f->block_size;
    ok = fclose(out) == 0 && ok;
    if (ok && rename(tmp, path) == 0) return WEFT_OK;
    remove(tmp);
    return WEFT_ERR_IO;
}

int32_t frozen_next(const sam_frozen *f, int32_t state, weft_token t) {
    uint32_t lo = f->e_off[state], hi = f->e_off[state + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->e_tok[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < f->e_off[state + 1] && f->e_tok[lo] == t ? f->e_to[lo] : -1;
}

void frozen_match_step(const sam_frozen *f, frozen_match *m, weft_token t) {
    int32_t next;
    while ((next = frozen_next(f, m->state, t)) < 0 && m->state != 0) {
        m->state = f->link[m->state];
        m->len = (size_t)f->len[m->state];
    }
    if (next < 0) {
        m->len = 0;
        return;
    }
    m->state = next;
    m->len++;
}
