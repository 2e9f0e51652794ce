/* Token masks. XGrammar's adaptive token-mask cache (Dong et al. 2024, §3.2):
 * for every automaton position p that consumes bytes, walk the vocabulary
 * trie once from the stack (p, unknown bottom). A token is
 *   - accepted if some run consumes it without popping the unknown bottom
 *     (whatever lies below, the token fits);
 *   - rejected if no run survives even when a pop of the unknown bottom may
 *     return to any call site of the rule (an over-approximation of every
 *     real context, XGrammar's "context expansion");
 *   - uncertain otherwise: checked at mask time against the real stack.
 * A mask is then the union, over the matcher's active stacks, of the cached
 * accepted set plus the uncertain tokens that pass. Positions are classified
 * up front (set_vocab, within a time budget) or on first use. */
#include "internal.h"

enum { E_NONE, E_LIST, E_BITS };

typedef struct entry {
    uint8_t kind;
    uint32_t acc_off, acc_n; /* E_LIST: token ids; E_BITS: n_words words */
    uint32_t unc_off, unc_n; /* uncertain tokens as ranks (byte order) */
} entry;

typedef struct worker {
    wg_pool *pool;
    wg_vec acc, unc;
    bool failed;
} worker;

/* What classification writes. A cache is logically immutable (the masks it
 * gives never change), but positions classified at mask time are recorded,
 * so this part sits behind a pointer and fill_mask can take a const cache. */
typedef struct store_t {
    entry *entries; /* by automaton state */
    uint32_t *data;
    size_t n_data, cap_data;
    worker lazy; /* classifies positions at mask time */
    wg_cache_stats stats;
} store_t;

struct wg_token_cache {
    const wg_grammar *g;
    const wg_vocab_index *vi;
    size_t n_words;
    bool walk_only;
    store_t *st;
};

/* ---- walking tokens from a set of stacks ---- */

/* Resets the per-depth sets of p to depth 0 = {s}. */
static bool walk_begin(wg_pool *p, uint32_t s) {
    p->depth_buf.n = p->depth_off.n = p->depth_acc.n = 0;
    return wg_vec_push(&p->depth_buf, s) && wg_vec_push(&p->depth_off, 0) && wg_vec_push(&p->depth_off, 1) &&
           wg_vec_push(&p->depth_acc, 0);
}

/* Replaces everything deeper than depth `d` by the set after byte c: the
 * new depth d + 1. False when out of memory. */
static bool walk_step(wg_pool *p, size_t d, uint8_t c) {
    p->depth_off.n = d + 2;
    p->depth_acc.n = d + 1;
    p->depth_buf.n = p->depth_off.v[d + 1];
    uint32_t lo = p->depth_off.v[d], hi = p->depth_off.v[d + 1];
    /* wg_advance reads its input before appending to depth_buf */
    int acc = lo == hi ? 0 : wg_advance(p, p->depth_buf.v + lo, hi - lo, c, &p->depth_buf);
    return acc >= 0 && wg_vec_push(&p->depth_off, (uint32_t)p->depth_buf.n) &&
           wg_vec_push(&p->depth_acc, (uint32_t)acc);
}

static bool active_at(const wg_pool *p, size_t d) { return p->depth_off.v[d + 1] > p->depth_off.v[d]; }

/* The set at depth d: live if it can go on or the text may end there. */
static bool live_at(const wg_pool *p, size_t d) {
    return p->depth_off.v[d + 1] > p->depth_off.v[d] || p->depth_acc.v[d] != 0;
}

static bool any_unknown_bottom(const wg_pool *p, size_t d) {
    for (uint32_t i = p->depth_off.v[d]; i < p->depth_off.v[d + 1]; i++)
        if (p->bottom[p->depth_buf.v[i]] == WG_STACK_UNKNOWN) return true;
    return false;
}

/* Sets in mask every token accepted from stack s, walking the whole trie
 * (used for positions the cache does not cover); false when memory or
 * max_stacks ran out. */
static bool walk_trie(const wg_vocab_index *vi, wg_pool *p, uint32_t s, uint32_t *mask) {
    if (!walk_begin(p, s)) return false;
    for (uint32_t k = 0; k < vi->n_nodes;) {
        size_t d = vi->node_depth[k];
        if (!walk_step(p, d - 1, vi->node_byte[k])) return false;
        if (live_at(p, d))
            for (uint32_t r = vi->node_rank_lo[k]; r < vi->node_rank_hi[k]; r++) {
                int32_t t = vi->sorted_ids[r];
                mask[t >> 5] |= 1u << (t & 31);
            }
        k = active_at(p, d) ? k + 1 : vi->node_end[k];
    }
    return true;
}

/* Checks the tokens of ranks[0..n) (ascending) from stack s, reusing the sets
 * of the common prefix of consecutive tokens; sets the ones that pass. False
 * as walk_trie. */
static bool check_ranks(const wg_vocab_index *vi, wg_pool *p, uint32_t s, const uint32_t *ranks, size_t n,
                        uint32_t *mask) {
    if (!walk_begin(p, s)) return false;
    const uint8_t *last = NULL;
    size_t have = 0; /* sets are valid for last[0..have) */
    for (size_t i = 0; i < n; i++) {
        uint32_t r = ranks[i];
        int32_t t = vi->sorted_ids[r];
        if (mask[t >> 5] >> (t & 31) & 1) continue;
        const uint8_t *b = vi->bytes + vi->tok_off[r];
        size_t len = vi->tok_len[r], d = 0;
        if (last)
            while (d < have && d < len && last[d] == b[d]) d++;
        for (; d < len && active_at(p, d); d++)
            if (!walk_step(p, d, b[d])) return false;
        last = b;
        have = d;
        if (d == len && live_at(p, len)) mask[t >> 5] |= 1u << (t & 31);
    }
    return true;
}

/* ---- classification of one position ---- */

/* Walks the trie from (state, unknown bottom): accepted token ids into
 * w->acc, uncertain ranks into w->unc (ascending). Returns CL_OK, CL_FAIL
 * (out of memory) or, past `deadline` (> 0; the clock is read every
 * CL_CLOCK_EVERY trie nodes, so a budget holds within a fraction of one
 * walk), CL_LATE with nothing classified. */
enum { CL_FAIL, CL_OK, CL_LATE };
#define CL_CLOCK_EVERY 2048
static int classify(const wg_vocab_index *vi, worker *w, uint32_t state, double deadline) {
    wg_pool *p = w->pool;
    uint32_t s = wg_pool_intern(p, state, WG_STACK_UNKNOWN);
    w->acc.n = w->unc.n = 0;
    if (s == WG_NONE || !walk_begin(p, s)) return CL_FAIL;
    for (uint32_t k = 0, visits = 0; k < vi->n_nodes; visits++) {
        if (deadline > 0 && visits % CL_CLOCK_EVERY == CL_CLOCK_EVERY - 1 && wg_now_ms() > deadline) return CL_LATE;
        size_t d = vi->node_depth[k];
        if (!walk_step(p, d - 1, vi->node_byte[k])) return CL_FAIL;
        if (live_at(p, d)) {
            bool sure = any_unknown_bottom(p, d);
            for (uint32_t r = vi->node_rank_lo[k]; r < vi->node_rank_hi[k]; r++)
                if (!(sure ? wg_vec_push(&w->acc, (uint32_t)vi->sorted_ids[r]) : wg_vec_push(&w->unc, r)))
                    return CL_FAIL;
        }
        k = active_at(p, d) ? k + 1 : vi->node_end[k];
    }
    return CL_OK;
}

/* Records a classification: the accepted set as a list or, when that is
 * larger, a bitset; the uncertain ranks as a list. */
static bool store(const wg_token_cache *tc, uint32_t state, const uint32_t *acc, size_t acc_n,
                  const uint32_t *unc, size_t unc_n) {
    store_t *st = tc->st;
    bool bits = acc_n > tc->n_words;
    size_t need = st->n_data + (bits ? tc->n_words : acc_n) + unc_n;
    if (need > UINT32_MAX) return false;
    if (need > st->cap_data || !st->data) {
        size_t cap = st->cap_data ? st->cap_data : 1024;
        while (cap < need) cap *= 2;
        uint32_t *d = realloc(st->data, cap * sizeof *d);
        if (!d) return false;
        st->data = d;
        st->cap_data = cap;
    }
    entry *e = &st->entries[state];
    e->acc_off = (uint32_t)st->n_data;
    e->acc_n = (uint32_t)acc_n;
    uint32_t *out = st->data + st->n_data;
    if (bits) {
        memset(out, 0, tc->n_words * sizeof *out);
        for (size_t k = 0; k < acc_n; k++) out[acc[k] >> 5] |= 1u << (acc[k] & 31);
        st->n_data += tc->n_words;
    } else if (acc_n) {
        memcpy(out, acc, acc_n * sizeof *acc);
        st->n_data += acc_n;
    }
    e->unc_off = (uint32_t)st->n_data;
    e->unc_n = (uint32_t)unc_n;
    if (unc_n) memcpy(st->data + st->n_data, unc, unc_n * sizeof *unc);
    st->n_data += unc_n;
    e->kind = bits ? E_BITS : E_LIST;
    st->stats.n_cached++;
    st->stats.n_uncertain += unc_n;
    st->stats.bytes = sizeof *tc + sizeof *st + tc->g->n_states * sizeof *st->entries + st->n_data * sizeof *st->data;
    return true;
}

/* ---- precomputation ---- */

typedef struct pos_result {
    uint32_t *acc, *unc;
    uint32_t acc_n, unc_n;
    bool done;
} pos_result;

typedef struct build_ctx {
    const wg_grammar *g;
    const wg_vocab_index *vi;
    const uint32_t *items; /* automaton states to precompute */
    pos_result *res;       /* by item */
    worker *workers;
    size_t n_workers;
    double deadline;       /* 0: none */
} build_ctx;

static void precompute(build_ctx *bc, worker *w, size_t item) {
    int cl = classify(bc->vi, w, bc->items[item], bc->deadline);
    if (cl != CL_OK) { /* late, or too ambiguous from an unknown stack: left to mask time */
        w->failed = cl == CL_FAIL && !w->pool->over_limit;
        w->pool->over_limit = false;
        return;
    }
    pos_result *pr = &bc->res[item];
    pr->acc = malloc((w->acc.n + 1) * sizeof *pr->acc);
    pr->unc = malloc((w->unc.n + 1) * sizeof *pr->unc);
    if (!pr->acc || !pr->unc) {
        w->failed = true;
        return;
    }
    if (w->acc.n) memcpy(pr->acc, w->acc.v, w->acc.n * sizeof *pr->acc);
    if (w->unc.n) memcpy(pr->unc, w->unc.v, w->unc.n * sizeof *pr->unc);
    pr->acc_n = (uint32_t)w->acc.n;
    pr->unc_n = (uint32_t)w->unc.n;
    pr->done = true;
}

static void build_range(void *arg, size_t begin, size_t end, int worker_id) {
    build_ctx *bc = arg;
    worker *w = &bc->workers[(size_t)worker_id < bc->n_workers ? (size_t)worker_id : 0];
    if (!w->pool) w->pool = wg_pool_new(bc->g);
    if (!w->pool) {
        w->failed = true;
        return;
    }
    for (size_t i = begin; i < end && !w->failed; i++) {
        if (bc->deadline > 0 && wg_now_ms() > bc->deadline) return;
        precompute(bc, w, i);
    }
}

wg_token_cache *wg_token_cache_new(const wg_grammar *g, const wg_vocab_index *vi, const wg_cache_opts *opts,
                                   wg_error *err) {
    double t0 = wg_now_ms();
    wg_cache_opts o = opts ? *opts : (wg_cache_opts){0};
    wg_token_cache *tc = calloc(1, sizeof *tc);
    if (!tc) goto oom;
    tc->g = g;
    tc->vi = vi;
    tc->n_words = ((size_t)vi->n_vocab + 31) / 32;
    tc->walk_only = o.walk_only;
    tc->st = calloc(1, sizeof *tc->st);
    if (!tc->st || !(tc->st->entries = calloc(g->n_states + 1, sizeof *tc->st->entries))) goto oom;
    build_ctx bc = {.g = g, .vi = vi, .deadline = o.max_ms > 0 ? t0 + o.max_ms : 0};
    uint32_t *items = malloc((g->n_states + 1) * sizeof *items);
    if (!items) goto oom;
    size_t n_items = 0;
    for (uint32_t s = 0; s < g->n_states; s++)
        if (g->states[s].n_ranges) items[n_items++] = s;
    tc->st->stats.n_positions = n_items;
    if (o.disable || o.walk_only) n_items = 0;
    bc.items = items;
    bc.res = calloc(n_items + 1, sizeof *bc.res);
    bc.n_workers = o.env ? (size_t)o.env->host->n_workers(o.env) : 1;
    if (bc.n_workers < 1) bc.n_workers = 1;
    bc.workers = calloc(bc.n_workers, sizeof *bc.workers);
    bool ok = bc.res && bc.workers;
    if (ok && n_items) {
        if (o.env) o.env->host->parallel_for(o.env, n_items, 1, build_range, &bc);
        else build_range(&bc, 0, n_items, 0);
    }
    for (size_t i = 0; ok && i < bc.n_workers; i++) ok = !bc.workers[i].failed;
    for (size_t i = 0; ok && i < n_items; i++)
        if (bc.res[i].done) ok = store(tc, items[i], bc.res[i].acc, bc.res[i].acc_n, bc.res[i].unc, bc.res[i].unc_n);
    for (size_t i = 0; bc.res && i < n_items; i++) {
        free(bc.res[i].acc);
        free(bc.res[i].unc);
    }
    for (size_t i = 0; bc.workers && i < bc.n_workers; i++) {
        wg_pool_free(bc.workers[i].pool);
        wg_vec_free(&bc.workers[i].acc);
        wg_vec_free(&bc.workers[i].unc);
    }
    free(bc.res);
    free(bc.workers);
    free(items);
    if (!ok) goto oom;
    tc->st->stats.bytes = sizeof *tc + sizeof *tc->st + g->n_states * sizeof *tc->st->entries +
                          tc->st->n_data * sizeof *tc->st->data;
    tc->st->stats.build_ms = wg_now_ms() - t0;
    return tc;
oom:
    wg_token_cache_free(tc);
    wg_set_error(err, "out of memory building the token mask cache");
    return NULL;
}

void wg_token_cache_free(wg_token_cache *tc) {
    if (!tc) return;
    if (tc->st) {
        wg_pool_free(tc->st->lazy.pool);
        wg_vec_free(&tc->st->lazy.acc);
        wg_vec_free(&tc->st->lazy.unc);
        free(tc->st->entries);
        free(tc->st->data);
        free(tc->st);
    }
    free(tc);
}

void wg_token_cache_get_stats(const wg_token_cache *tc, wg_cache_stats *out) { *out = tc->st->stats; }

/* ---- masks ---- */

/* Past this many nodes the lazy worker's pool starts afresh: its stacks are
 * scratch (results are stored as token lists), so it need not grow with
 * every position ever classified. */
#define LAZY_POOL_MAX_NODES (1u << 20)

/* Classifies a position on first use; false (the caller walks the trie)
 * when that is switched off or fails. */
static bool classify_now(const wg_token_cache *tc, uint32_t state) {
    if (tc->walk_only) return false;
    worker *w = &tc->st->lazy;
    if (w->pool && w->pool->n > LAZY_POOL_MAX_NODES) {
        wg_pool_free(w->pool);
        w->pool = NULL;
    }
    if (!w->pool && !(w->pool = wg_pool_new(tc->g))) return false;
    w->pool->over_limit = false;
    return classify(tc->vi, w, state, 0) == CL_OK && store(tc, state, w->acc.v, w->acc.n, w->unc.v, w->unc.n);
}

bool wg_fill_mask(const wg_token_cache *tc, const wg_matcher *m, uint32_t *mask) {
    const wg_vocab_index *vi = tc->vi;
    memset(mask, 0, tc->n_words * sizeof *mask);
    const wg_hist *h = m->cur;
    if (h->finished) return true;
    wg_pool *p = m->pool;
    p->over_limit = false;
    for (uint32_t i = 0; i < h->n; i++) {
        uint32_t s = h->stacks[i];
        const entry *e = &tc->st->entries[p->pos[s]];
        if (e->kind == E_NONE && !classify_now(tc, p->pos[s])) {
            if (!walk_trie(vi, p, s, mask)) return false;
            continue;
        }
        const uint32_t *acc = tc->st->data + e->acc_off;
        if (e->kind == E_BITS)
            for (size_t w = 0; w < tc->n_words; w++) mask[w] |= acc[w];
        else
            for (uint32_t k = 0; k < e->acc_n; k++) mask[acc[k] >> 5] |= 1u << (acc[k] & 31);
        if (e->unc_n && !check_ranks(vi, p, s, tc->st->data + e->unc_off, e->unc_n, mask)) return false;
    }
    if (h->accepting)
        for (size_t k = 0; k < vi->n_eog; k++) mask[vi->eog[k] >> 5] |= 1u << (vi->eog[k] & 31);
    return true;
}

bool wg_accept_token(const wg_token_cache *tc, wg_matcher *m, weft_token tok) {
    const wg_vocab_index *vi = tc->vi;
    const wg_hist *h = m->cur;
    m->pool->over_limit = false;
    if (tok < 0 || tok >= vi->n_vocab || h->finished) return false;
    if (vi->is_eog[tok]) return h->accepting && wg_matcher_push(m, h->stacks, h->n, true, true);
    uint32_t r = vi->rank_of[tok];
    if (r == UINT32_MAX) return false;
    return wg_matcher_accept_bytes(m, vi->bytes + vi->tok_off[r], vi->tok_len[r]);
}
