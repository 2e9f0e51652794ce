/* Parsing and ordering the draft-tree shape (tree_template.h). */
#include "tree_template.h"

#include <stdlib.h>
#include <string.h>

/* A node as parsed: its path of ranks. */
typedef struct path {
    uint8_t r[TEMPLATE_MAX_DEPTH];
    uint8_t depth;
    uint16_t sum;
} path;

static int cmp_path(const void *x, const void *y) {
    const path *a = x, *b = y;
    if (a->sum != b->sum) return a->sum < b->sum ? -1 : 1;
    if (a->depth != b->depth) return a->depth < b->depth ? -1 : 1;
    return memcmp(a->r, b->r, a->depth);
}

/* The paper's 80-node tree (github.com/Luowaterbi/TokenRecycling,
 * tree_template_.py, version "2.2.2"), one path of rank digits per node. */
static const char *const PAPER_TREE[] = {
    "0", "1", "2", "3", "4", "5", "6", "7",
    "00", "01", "02", "03", "04", "05", "06", "07", "10", "11", "12", "13", "20", "21", "22", "30", "31", "40",
    "50", "60", "70",
    "000", "001", "002", "003", "004", "005", "006", "007", "010", "011", "012", "020", "021", "030", "040", "050",
    "060", "070", "100", "101", "110", "200", "300", "400", "500",
    "0000", "0001", "0002", "0003", "0004", "0010", "0011", "0020", "0030", "0040", "0100", "0200", "1000", "2000",
    "3000",
    "00000", "00001", "00002", "00010", "00020", "00100", "01000", "10000",
    "000000", "000001", "000100",
};

/* The paper's tree without the nodes (and subtrees) that need rank >= k. */
static void paper_paths(size_t k, path *out, size_t *n) {
    *n = 0;
    for (size_t i = 0; i < WEFT_COUNT_OF(PAPER_TREE); i++) {
        path p = {.depth = (uint8_t)strlen(PAPER_TREE[i])};
        bool fits = true;
        for (size_t d = 0; d < p.depth; d++) {
            p.r[d] = (uint8_t)(PAPER_TREE[i][d] - '0');
            p.sum = (uint16_t)(p.sum + p.r[d]);
            fits &= p.r[d] < k;
        }
        if (fits) out[(*n)++] = p;
    }
}

static bool is_rank(const weft_host *h, const weft_json *v, size_t k) {
    if (h->json_type(v) != WEFT_JSON_NUMBER) return false;
    double x = h->json_number(v);
    return x >= 0 && x < (double)k && x == (double)(int64_t)x;
}

static weft_status bad(const weft_env *env, const weft_json *j, const char *what) {
    weft_error(env, "%s: %s", j ? env->host->json_pointer(j) : "tree", what);
    return WEFT_ERR_INVALID;
}

/* Every path of the full tree with these branching factors, breadth first. */
static weft_status expand_factors(const weft_env *env, const weft_json *j, size_t k, path *out, size_t *n) {
    const weft_host *h = env->host;
    size_t depth = h->json_count(j), level_begin = 0, level_end = 1;
    if (depth > TEMPLATE_MAX_DEPTH) return bad(env, j, "deeper than 64");
    out[0] = (path){.depth = 0}; /* the root, dropped below */
    *n = 1;
    for (size_t d = 0; d < depth; d++) {
        const weft_json *v = h->json_item(j, d);
        if (!is_rank(h, v, k + 1) || h->json_number(v) < 1) return bad(env, v, "a branching factor must be in [1, k]");
        size_t b = (size_t)h->json_number(v);
        for (size_t p = level_begin; p < level_end; p++)
            for (size_t r = 0; r < b; r++) {
                if (*n > TEMPLATE_MAX_NODES) return bad(env, j, "more than 1024 nodes");
                path c = out[p];
                c.r[c.depth++] = (uint8_t)r;
                c.sum = (uint16_t)(c.sum + r);
                out[(*n)++] = c;
            }
        level_begin = level_end;
        level_end = *n;
    }
    memmove(out, out + 1, --*n * sizeof *out);
    return WEFT_OK;
}

static weft_status read_paths(const weft_env *env, const weft_json *j, size_t k, path *out, size_t *n) {
    const weft_host *h = env->host;
    *n = h->json_count(j);
    if (*n > TEMPLATE_MAX_NODES) return bad(env, j, "more than 1024 nodes");
    for (size_t i = 0; i < *n; i++) {
        const weft_json *p = h->json_item(j, i);
        size_t d = h->json_type(p) == WEFT_JSON_ARRAY ? h->json_count(p) : 0;
        if (d == 0 || d > TEMPLATE_MAX_DEPTH) return bad(env, p, "a node is a non-empty list of at most 64 ranks");
        out[i] = (path){.depth = (uint8_t)d};
        for (size_t r = 0; r < d; r++) {
            const weft_json *v = h->json_item(p, r);
            if (!is_rank(h, v, k)) return bad(env, v, "a rank must be an integer in [0, k)");
            out[i].r[r] = (uint8_t)h->json_number(v);
            out[i].sum = (uint16_t)(out[i].sum + out[i].r[r]);
        }
    }
    return WEFT_OK;
}

weft_status tree_template_parse(tree_template *t, const weft_env *env, const weft_json *j, size_t k) {
    const weft_host *h = env->host;
    memset(t, 0, sizeof *t);
    if (j && (h->json_type(j) != WEFT_JSON_ARRAY || h->json_count(j) == 0))
        return bad(env, j, "expected a non-empty list of paths or of branching factors");
    path *p = weft_alloc(env, (TEMPLATE_MAX_NODES + 1) * sizeof *p);
    if (!p) {
        weft_error(env, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    size_t n = 0;
    weft_status st = WEFT_OK;
    if (!j) paper_paths(k, p, &n);
    else if (h->json_type(h->json_item(j, 0)) == WEFT_JSON_NUMBER) st = expand_factors(env, j, k, p, &n);
    else st = read_paths(env, j, k, p, &n);
    if (st == WEFT_OK) qsort(p, n, sizeof *p, cmp_path);
    /* parents: the path minus its last rank, which sorts earlier */
    for (size_t i = 0; st == WEFT_OK && i < n; i++) {
        t->rank[i] = p[i].r[p[i].depth - 1];
        t->depth[i] = p[i].depth;
        t->parent[i] = -1;
        if (i && cmp_path(&p[i - 1], &p[i]) == 0) {
            st = bad(env, j, "a node appears twice");
            break;
        }
        if (p[i].depth == 1) continue;
        for (size_t q = 0; q < i && t->parent[i] < 0; q++)
            if (p[q].depth + 1 == p[i].depth && memcmp(p[q].r, p[i].r, p[q].depth) == 0) t->parent[i] = (int32_t)q;
        if (t->parent[i] < 0) st = bad(env, j, "a node's parent path is missing");
    }
    t->n = st == WEFT_OK ? n : 0;
    weft_free(env, p);
    return st;
}
