/* The byte-level matcher: the current set of active stacks plus a history of
 * earlier sets. History entries are reference counted and shared by forks,
 * so fork is O(1) and rollback(n) walks back n entries; freed entries and
 * matchers go to free lists in the pool, so steady-state decoding (fork a
 * state per draft node, free it after verification) allocates nothing. */
#include "internal.h"

static uint32_t size_class(size_t n) {
    uint32_t c = 2;
    while (((size_t)1 << c) < n) c++;
    return c;
}

static wg_hist *hist_alloc(wg_pool *p, size_t n) {
    uint32_t c = size_class(n);
    if (c >= 32) return NULL;
    wg_hist *h = p->free_hist[c];
    if (h) {
        p->free_hist[c] = h->prev;
    } else {
        h = malloc(sizeof *h + ((size_t)1 << c) * sizeof(uint32_t));
        if (!h) return NULL;
    }
    h->cap_class = c;
    h->refs = 1;
    h->prev = NULL;
    return h;
}

static void hist_release(wg_pool *p, wg_hist *h) {
    while (h && --h->refs == 0) {
        wg_hist *prev = h->prev;
        h->prev = p->free_hist[h->cap_class];
        p->free_hist[h->cap_class] = h;
        h = prev;
    }
}

bool wg_matcher_push(wg_matcher *m, const uint32_t *set, size_t n, bool accepting, bool finished) {
    wg_hist *h = hist_alloc(m->pool, n);
    if (!h) return false;
    if (n) memcpy(h->stacks, set, n * sizeof *set);
    h->n = (uint32_t)n;
    h->accepting = accepting;
    h->finished = finished;
    h->depth = m->cur ? m->cur->depth + 1 : 0;
    h->prev = m->cur; /* takes over m's reference */
    m->cur = h;
    return true;
}

wg_matcher *wg_matcher_new(const wg_grammar *g) {
    wg_matcher *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->g = g;
    m->pool = wg_pool_new(g);
    if (!m->pool) {
        free(m);
        return NULL;
    }
    m->pool->refs = 1;
    wg_pool *p = m->pool;
    uint32_t s0 = wg_pool_intern(p, g->rules[g->root].start, WG_STACK_EMPTY);
    p->ping.n = 0;
    int acc = s0 == WG_NONE ? -1 : wg_close(p, &s0, 1, &p->ping);
    if (acc < 0 || !wg_matcher_push(m, p->ping.v, p->ping.n, acc & WG_END, false)) {
        wg_matcher_free(m);
        return NULL;
    }
    return m;
}

wg_matcher *wg_matcher_fork(const wg_matcher *m) {
    wg_pool *p = m->pool;
    wg_matcher *f = p->free_matchers;
    if (f) p->free_matchers = f->next_free;
    else if (!(f = malloc(sizeof *f))) return NULL;
    *f = *m;
    f->pool->refs++;
    f->cur->refs++;
    return f;
}

void wg_matcher_free(wg_matcher *m) {
    if (!m) return;
    wg_pool *p = m->pool;
    if (!p) {
        free(m);
        return;
    }
    hist_release(p, m->cur);
    if (--p->refs == 0) {
        wg_pool_free(p);
        free(m);
        return;
    }
    m->next_free = p->free_matchers;
    p->free_matchers = m;
}

bool wg_matcher_accept_bytes(wg_matcher *m, const void *bytes, size_t n) {
    wg_hist *h = m->cur;
    if (h->finished) return false;
    wg_pool *p = m->pool;
    p->over_limit = false;
    const uint8_t *b = bytes;
    const uint32_t *set = h->stacks;
    size_t len = h->n;
    int acc = h->accepting;
    wg_vec *bufs[2] = {&p->ping, &p->pong};
    for (size_t i = 0; i < n; i++) {
        wg_vec *out = bufs[i & 1];
        out->n = 0;
        acc = wg_advance(p, set, len, b[i], out);
        if (acc < 0 || (out->n == 0 && !(acc & WG_END))) return false;
        if (out->n == 0 && i + 1 < n) return false;
        set = out->v;
        len = out->n;
    }
    return wg_matcher_push(m, set, len, acc & WG_END, false);
}

bool wg_matcher_is_accepting(const wg_matcher *m) { return m->cur->accepting; }

bool wg_matcher_over_limit(const wg_matcher *m) { return m->pool->over_limit; }

bool wg_matcher_is_final(const wg_matcher *m) { return m->cur->finished || m->cur->n == 0; }

bool wg_can_end(const wg_matcher *m) { return m->cur->accepting && !m->cur->finished; }

size_t wg_matcher_depth(const wg_matcher *m) { return m->cur->depth; }

bool wg_matcher_rollback(wg_matcher *m, size_t n) {
    if (n > m->cur->depth) return false;
    for (size_t i = 0; i < n; i++) {
        wg_hist *h = m->cur;
        m->cur = h->prev;
        m->cur->refs++;
        hist_release(m->pool, h);
    }
    return true;
}

size_t wg_matcher_jump_forward(const wg_matcher *m, char *buf, size_t cap) {
    const wg_hist *h = m->cur;
    if (h->finished || h->accepting) return 0;
    wg_pool *p = m->pool;
    const wg_grammar *g = m->g;
    const uint32_t *set = h->stacks;
    size_t len = h->n, k = 0;
    wg_vec *bufs[2] = {&p->ping, &p->pong};
    while (k < cap && len) {
        /* the one byte every active stack allows, if there is exactly one */
        int only = -1;
        for (size_t i = 0; i < len && only != -2; i++) {
            const wg_state *st = &g->states[p->pos[set[i]]];
            for (uint32_t r = 0; r < st->n_ranges; r++) {
                const wg_range *rg = &g->ranges[st->range_off + r];
                if (rg->lo != rg->hi || (only >= 0 && only != rg->lo)) {
                    only = -2;
                    break;
                }
                only = rg->lo;
            }
        }
        if (only < 0) break;
        wg_vec *out = bufs[k & 1];
        out->n = 0;
        int acc = wg_advance(p, set, len, (uint8_t)only, out);
        if (acc < 0) break;
        buf[k++] = (char)only;
        if (acc & WG_END) break;
        set = out->v;
        len = out->n;
    }
    return k;
}
