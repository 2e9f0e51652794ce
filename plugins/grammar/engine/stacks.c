/* Persistent, hash-consed pushdown stacks. A stack is (top position, parent
 * stack), interned in a pool, so equal stacks have equal ids: a set of
 * stacks is a plain array of ids, sets deduplicate by id, and a fork shares
 * every node (XGrammar's persistent stack, Dong et al. 2024, §3.3). Nodes
 * live as long as the pool (one per matcher family). */
#include "internal.h"

static uint32_t hash2(uint32_t a, uint32_t b) {
    uint64_t x = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(x >> 32);
}

static bool pool_grow(wg_pool *p) {
    size_t cap = p->cap ? p->cap * 2 : 256;
    uint32_t *pos = realloc(p->pos, cap * sizeof *pos);
    if (pos) p->pos = pos;
    uint32_t *par = realloc(p->parent, cap * sizeof *par);
    if (par) p->parent = par;
    uint8_t *bot = realloc(p->bottom, cap);
    if (bot) p->bottom = bot;
    uint32_t *mark = realloc(p->mark, cap * sizeof *mark);
    if (mark) p->mark = mark;
    if (!pos || !par || !bot || !mark) return false;
    memset(p->mark + p->cap, 0, (cap - p->cap) * sizeof *mark);
    p->cap = cap;
    /* rehash at load 1/2 */
    size_t tcap = cap * 2;
    uint32_t *t = calloc(tcap, sizeof *t);
    if (!t) return false;
    for (size_t i = 3; i < p->n; i++) {
        size_t h = hash2(p->pos[i], p->parent[i]) & (tcap - 1);
        while (t[h]) h = (h + 1) & (tcap - 1);
        t[h] = (uint32_t)i + 1;
    }
    free(p->table);
    p->table = t;
    p->table_cap = tcap;
    return true;
}

wg_pool *wg_pool_new(const wg_grammar *g) {
    wg_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->g = g;
    p->max_live = g->max_stacks; /* wg_compile resolves the default */
    if (!pool_grow(p)) {
        wg_pool_free(p);
        return NULL;
    }
    for (uint32_t i = 0; i < 3; i++) {
        p->pos[i] = WG_NONE;
        p->parent[i] = WG_NONE;
        p->bottom[i] = (uint8_t)i;
    }
    p->n = 3;
    return p;
}

void wg_pool_free(wg_pool *p) {
    if (!p) return;
    for (size_t i = 0; i < 32; i++)
        for (wg_hist *h = p->free_hist[i], *next; h; h = next) {
            next = h->prev;
            free(h);
        }
    for (wg_matcher *m = p->free_matchers, *next; m; m = next) {
        next = m->next_free;
        free(m);
    }
    free(p->pos);
    free(p->parent);
    free(p->bottom);
    free(p->mark);
    free(p->table);
    wg_vec_free(&p->work);
    wg_vec_free(&p->tmp);
    wg_vec_free(&p->tmp2);
    wg_vec_free(&p->ping);
    wg_vec_free(&p->pong);
    wg_vec_free(&p->depth_buf);
    wg_vec_free(&p->depth_off);
    wg_vec_free(&p->depth_acc);
    wg_vec_free(&p->depth_pos);
    free(p);
}

uint32_t wg_pool_intern(wg_pool *p, uint32_t pos, uint32_t parent) {
    size_t h = hash2(pos, parent) & (p->table_cap - 1);
    for (uint32_t id; (id = p->table[h]) != 0; h = (h + 1) & (p->table_cap - 1))
        if (p->pos[id - 1] == pos && p->parent[id - 1] == parent) return id - 1;
    if (p->n == p->cap || p->n >= UINT32_MAX - 1) {
        if (p->n >= UINT32_MAX - 1 || !pool_grow(p)) return WG_NONE;
        h = hash2(pos, parent) & (p->table_cap - 1);
        while (p->table[h]) h = (h + 1) & (p->table_cap - 1);
    }
    uint32_t id = (uint32_t)p->n++;
    p->pos[id] = pos;
    p->parent[id] = parent;
    p->bottom[id] = p->bottom[parent];
    p->table[h] = id + 1;
    return id;
}

/* The stack to return to after a call whose return state is q: a state with
 * nothing after it returns straight to the caller's caller (tail call), so
 * right recursion does not grow stacks. */
static uint32_t return_stack(wg_pool *p, uint32_t q, uint32_t parent) {
    return p->g->states[q].exit_only ? parent : wg_pool_intern(p, q, parent);
}

static bool push_work(wg_pool *p, uint32_t s, uint32_t *visited) {
    if (p->mark[s] == p->gen) return true;
    if (++*visited > p->max_live) {
        p->over_limit = true;
        return false;
    }
    p->mark[s] = p->gen;
    return wg_vec_push(&p->work, s);
}

int wg_close(wg_pool *p, const uint32_t *in, size_t n, wg_vec *out) {
    const wg_grammar *g = p->g;
    if (++p->gen == 0) {
        memset(p->mark, 0, p->cap * sizeof *p->mark);
        p->gen = 1;
    }
    int accepting = 0;
    uint32_t visited = 0;
    p->work.n = 0;
    for (size_t i = 0; i < n; i++)
        if (!push_work(p, in[i], &visited)) return -1;
    while (p->work.n) {
        uint32_t s = p->work.v[--p->work.n];
        if (s < 3) continue;
        if (p->pos[s] >= g->n_states) { /* past a popped unknown bottom: consumes a byte */
            if (p->pos[s] == wg_pos_any(g)) accepting |= WG_MAYBE_END;
            if (!wg_vec_push(out, s)) return -1;
            continue;
        }
        const wg_state *st = &g->states[p->pos[s]];
        uint32_t parent = p->parent[s];
        if (st->n_ranges && !wg_vec_push(out, s)) return -1;
        for (uint32_t k = 0; k < st->n_refs; k++) {
            const wg_refedge *e = &g->refs[st->ref_off + k];
            uint32_t ret = return_stack(p, e->target, parent);
            uint32_t callee = ret == WG_NONE ? WG_NONE : wg_pool_intern(p, g->rules[e->rule].start, ret);
            if (callee == WG_NONE || !push_work(p, callee, &visited)) return -1;
        }
        if (!st->final) continue;
        if (parent == WG_STACK_EMPTY) {
            accepting |= WG_END;
        } else if (parent == WG_STACK_UNKNOWN || parent == WG_STACK_WILD) {
            /* unknown caller: whatever byte may follow this rule somewhere
             * (follow.c), or the end of the grammar */
            if (g->follow_end[st->rule]) accepting |= WG_MAYBE_END;
            uint32_t t = wg_pool_intern(p, wg_pos_follow(g, st->rule), WG_STACK_WILD);
            if (t == WG_NONE || !push_work(p, t, &visited)) return -1;
        } else if (!push_work(p, parent, &visited)) {
            return -1;
        }
    }
    return accepting;
}

bool wg_step(wg_pool *p, const uint32_t *in, size_t n, uint8_t c, wg_vec *out) {
    const wg_grammar *g = p->g;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = in[i], pos = p->pos[s], t;
        if (pos >= g->n_states) {
            const uint32_t *follow = g->follow + (size_t)(pos - g->n_states) * 8;
            t = pos == wg_pos_any(g) || (follow[c >> 5] >> (c & 31) & 1) ? wg_pos_any(g) : WG_NONE;
        } else {
            t = wg_dfa_step(g, pos, c);
        }
        if (t == WG_NONE) continue;
        uint32_t id = wg_pool_intern(p, t, p->parent[s]);
        if (id == WG_NONE || !wg_vec_push(out, id)) return false;
    }
    return true;
}

int wg_advance(wg_pool *p, const uint32_t *in, size_t n, uint8_t c, wg_vec *out) {
    p->tmp.n = 0;
    if (!wg_step(p, in, n, c, &p->tmp)) return -1;
    if (p->tmp.n == 0) return 0;
    return wg_close(p, p->tmp.v, p->tmp.n, out);
}
