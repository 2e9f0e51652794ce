/* Token masks. XGrammar's adaptive token-mask cache (Dong et al. 2024, §3.2):
 * for every automaton position p that consumes bytes, walk the vocabulary
 * trie once from the stack (p, unknown bottom). A token is
 *   - accepted if some run consumes it without popping the unknown bottom
 *     (whatever lies below, the token fits);
 *   - rejected if no run survives even when a pop of the unknown bottom may
 *     be followed by any byte of the rule's FOLLOW set and then anything
 *     (follow.c: an over-approximation of every real context);
 *   - uncertain otherwise: checked at mask time against the real stack.
 * A mask is then the union, over the matcher's active stacks, of the cached
 * accepted set plus the uncertain tokens that pass. Positions are classified
 * up front (set_vocab, within a time budget) or on first use; light depths
 * (below) and the region memo (region.c) make most classifications cheap. */
#include "internal.h"

enum { E_NONE, E_LIST, E_BITS, E_SHARED };

typedef struct entry {
    uint8_t kind;
    uint32_t acc_off, acc_n; /* E_LIST, E_SHARED: token ids; E_BITS: n_words words */
    uint32_t shared;         /* E_SHARED: index into store_t.shared, a region memo's bitset */
    uint32_t unc_off, unc_n; /* uncertain tokens as ranks (byte order) */
} entry;

typedef struct worker {
    wg_pool *pool;
    wg_regions *regions; /* created on first use */
    wg_vec acc, unc;
    /* accepted tokens besides acc, as a region memo's bitset (NULL: none);
     * valid until the worker's next region walk, or for good if bits_kept */
    const uint32_t *bits;
    size_t bits_n;
    bool bits_kept;
    bool failed;
} worker;

/* What classification writes. A cache is logically immutable (the masks it
 * gives never change), but positions classified at mask time are recorded,
 * so this part sits behind a pointer and fill_mask can take a const cache. */
typedef struct store_t {
    entry *entries; /* by automaton state */
    uint32_t *data;
    size_t n_data, cap_data;
    const uint32_t **shared; /* bitsets in the vocabulary index's region memo (immutable) */
    size_t n_shared, cap_shared;
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

/* A depth's set is usually one stack on a light state over the unknown
 * bottom (string contents, literals), or on a plain state over any parent.
 * Such a depth is kept "light": depth_buf holds the stack's parent and
 * depth_pos its top, so stepping it is one DFA step, with no interning and
 * no closure. A light depth on a final state stands for that stack plus the
 * FOLLOW pseudo stack of its rule, as wg_close makes them (walk_begin's
 * depth 0 is not closed, so there the top is plain). Other depths hold
 * interned stacks and have depth_pos WG_NONE. Both forms keep active_at,
 * live_at and any_unknown_bottom as they are: a light depth has one entry,
 * a stack's bottom is its parent's, and a pseudo stack's is never unknown. */

/* The top a light depth would have for the closed set set[0..n), or
 * WG_NONE. */
static uint32_t light_top(const wg_pool *p, const uint32_t *set, size_t n) {
    const wg_grammar *g = p->g;
    if (n == 1) return p->pos[set[0]] < g->n_states && wg_plain_state(g, p->pos[set[0]]) ? p->pos[set[0]] : WG_NONE;
    if (n != 2) return WG_NONE;
    uint32_t s = p->pos[set[0]] < g->n_states ? set[0] : set[1], f = s == set[0] ? set[1] : set[0], q = p->pos[s];
    if (q >= g->n_states || !wg_light_state(g, q) || !g->states[q].final || p->parent[s] != WG_STACK_UNKNOWN)
        return WG_NONE;
    return p->pos[f] == wg_pos_follow(g, g->states[q].rule) && p->parent[f] == WG_STACK_WILD ? q : WG_NONE;
}

static bool push_depth(wg_pool *p, int acc, uint32_t pos) {
    return wg_vec_push(&p->depth_off, (uint32_t)p->depth_buf.n) && wg_vec_push(&p->depth_acc, (uint32_t)acc) &&
           wg_vec_push(&p->depth_pos, pos);
}

/* Appends the depth whose closed set is depth_buf[from..], light when it
 * can be. */
static bool end_depth(wg_pool *p, size_t from, int acc) {
    uint32_t pos = light_top(p, p->depth_buf.v + from, p->depth_buf.n - from);
    if (pos != WG_NONE) {
        uint32_t s = p->pos[p->depth_buf.v[from]] == pos ? p->depth_buf.v[from] : p->depth_buf.v[from + 1];
        p->depth_buf.v[from] = p->parent[s];
        p->depth_buf.n = from + 1;
    }
    return push_depth(p, acc, pos);
}

/* Resets the per-depth sets of p to depth 0 = set[0..n) or, when pos is
 * not WG_NONE, to the light depth on pos over parent set[0]. */
static bool walk_reset(wg_pool *p, const uint32_t *set, size_t n, uint32_t pos) {
    p->depth_buf.n = p->depth_off.n = p->depth_acc.n = p->depth_pos.n = 0;
    for (size_t i = 0; i < n; i++)
        if (!wg_vec_push(&p->depth_buf, set[i])) return false;
    return wg_vec_push(&p->depth_off, 0) && push_depth(p, 0, pos);
}

/* Depth 0 = {s}, not closed: a walk classifies what s itself consumes. */
static bool walk_begin(wg_pool *p, uint32_t s) {
    bool light = p->pos[s] < p->g->n_states && wg_plain_state(p->g, p->pos[s]);
    return light ? walk_reset(p, &p->parent[s], 1, p->pos[s]) : walk_reset(p, &s, 1, WG_NONE);
}

/* Replaces everything deeper than depth `d` by the set after byte c: the
 * new depth d + 1. False when out of memory. */
static bool walk_step(wg_pool *p, size_t d, uint8_t c) {
    const wg_grammar *g = p->g;
    p->depth_off.n = d + 2;
    p->depth_acc.n = p->depth_pos.n = d + 1;
    uint32_t from = p->depth_off.v[d + 1];
    p->depth_buf.n = from;
    uint32_t lo = p->depth_off.v[d], hi = p->depth_off.v[d + 1], pos = p->depth_pos.v[d];
    int acc = 0;
    if (pos != WG_NONE) {
        const wg_state *st = &g->states[pos];
        uint32_t parent = p->depth_buf.v[lo];
        if (st->final && wg_follows(g, st->rule, c)) { /* the pseudo stack takes c: the full sets */
            uint32_t in[2] = {wg_pool_intern(p, pos, parent), wg_pool_intern(p, wg_pos_follow(g, st->rule), WG_STACK_WILD)};
            acc = in[0] == WG_NONE || in[1] == WG_NONE ? -1 : wg_advance(p, in, 2, c, &p->depth_buf);
            return acc >= 0 && end_depth(p, from, acc);
        }
        uint32_t t = wg_dfa_step(g, pos, c);
        if (t == WG_NONE) return push_depth(p, 0, WG_NONE);
        const wg_state *ts = &g->states[t];
        if (wg_light_state(g, t) && (!ts->final || parent == WG_STACK_UNKNOWN))
            return wg_vec_push(&p->depth_buf, parent) &&
                   push_depth(p, ts->final && g->follow_end[ts->rule] ? WG_MAYBE_END : 0, t);
        uint32_t s = wg_pool_intern(p, t, parent);
        acc = s == WG_NONE ? -1 : wg_close(p, &s, 1, &p->depth_buf);
    } else if (lo < hi) {
        /* wg_advance reads its input before appending to depth_buf */
        acc = wg_advance(p, p->depth_buf.v + lo, hi - lo, c, &p->depth_buf);
    }
    return acc >= 0 && end_depth(p, from, acc);
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

/* Classification walks the trie from (state, unknown bottom): accepted
 * token ids go to w->acc, uncertain ranks to w->unc (ascending). Each
 * returns CL_OK, CL_FAIL (out of memory) or, past `deadline` (> 0; the
 * clock is read every CL_CLOCK_EVERY trie nodes, so a budget holds within a
 * fraction of one walk), CL_LATE with nothing classified. */
enum { CL_FAIL, CL_OK, CL_LATE };
#define CL_CLOCK_EVERY 2048

typedef struct walk_clock {
    double deadline;
    uint32_t visits;
} walk_clock;

/* Classifies the tokens under nodes [k, end), all below depth `base`, from
 * the set at depth 0 (set by walk_begin). */
static int classify_nodes(const wg_vocab_index *vi, worker *w, uint32_t k, uint32_t end, size_t base,
                          walk_clock *clock) {
    wg_pool *p = w->pool;
    while (k < end) {
        if (clock->deadline > 0 && ++clock->visits % CL_CLOCK_EVERY == 0 && wg_now_ms() > clock->deadline)
            return CL_LATE;
        size_t d = vi->node_depth[k] - base;
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

/* Depth 0 for a walk that leaves a region from region index `from` (see
 * wg_region_result): index 0 is the entry before any byte, not closed, as in
 * classify; later ones are closed, so final ones may pop; the "anything"
 * pseudo stack rides along when a pop happened above. */
static bool begin_exit(wg_pool *p, uint32_t entry, const uint32_t *states, uint32_t from) {
    const wg_grammar *g = p->g;
    uint32_t at = from & WG_REGION_INDEX, q = states[at];
    if (at == 0) {
        uint32_t s = wg_pool_intern(p, entry, WG_STACK_UNKNOWN);
        return s != WG_NONE && walk_begin(p, s);
    }
    uint32_t unknown = WG_STACK_UNKNOWN;
    if (!(from & WG_REGION_ANY)) /* light: as a closure leaves q, with the FOLLOW pseudo stack if final */
        return walk_reset(p, &unknown, 1, q);
    uint32_t set[3], n = 0;
    set[n++] = wg_pool_intern(p, q, WG_STACK_UNKNOWN);
    if (g->states[q].final) set[n++] = wg_pool_intern(p, wg_pos_follow(g, g->states[q].rule), WG_STACK_WILD);
    set[n++] = wg_pool_intern(p, wg_pos_any(g), WG_STACK_WILD);
    for (uint32_t i = 0; i < n; i++)
        if (set[i] == WG_NONE) return false;
    return walk_reset(p, set, n, WG_NONE);
}

/* A light state: the region memo gives the accepted ranks, the uncertain
 * ones and the exits, and only the subtrees under the exits are walked, each
 * from the set it left the region with. False when the memo cannot serve
 * (walk the usual way). */
static bool classify_region(const wg_vocab_index *vi, worker *w, uint32_t state, walk_clock *clock, int *cl) {
    wg_pool *p = w->pool;
    wg_region_result rr;
    if (!w->regions && !(w->regions = wg_regions_new())) return false;
    int got = wg_region_walk(w->regions, vi->regions, p->g, vi, state, clock->deadline, &rr);
    if (got == WG_REGION_LATE) return *cl = CL_LATE, true;
    if (got != WG_REGION_OK) return false;
    w->bits = rr.acc_bits;
    w->bits_n = rr.n_acc;
    w->bits_kept = rr.kept;
    *cl = CL_OK;
    for (uint32_t i = 0; i < rr.n_events && *cl == CL_OK; i++) {
        uint32_t x = rr.events[2 * i], y = rr.events[2 * i + 1];
        if (x & WG_REGION_UNCERTAIN) {
            for (uint32_t r = x & ~WG_REGION_UNCERTAIN; r < y; r++)
                if (!wg_vec_push(&w->unc, r)) return *cl = CL_FAIL, true;
            continue;
        }
        if (!begin_exit(p, state, rr.states, y)) return *cl = CL_FAIL, true;
        *cl = classify_nodes(vi, w, x, vi->node_end[x], vi->node_depth[x] - 1u, clock);
    }
    return true;
}

static int classify(const wg_vocab_index *vi, worker *w, uint32_t state, double deadline) {
    wg_pool *p = w->pool;
    walk_clock clock = {.deadline = deadline};
    w->acc.n = w->unc.n = 0;
    w->bits = NULL;
    int cl;
    if (wg_light_state(p->g, state) && classify_region(vi, w, state, &clock, &cl)) return cl;
    w->acc.n = w->unc.n = 0;
    w->bits = NULL;
    uint32_t s = wg_pool_intern(p, state, WG_STACK_UNKNOWN);
    if (s == WG_NONE || !walk_begin(p, s)) return CL_FAIL;
    return classify_nodes(vi, w, 0, vi->n_nodes, 0, &clock);
}

/* A classification: accepted tokens as a bitset (may be NULL) plus a list
 * of more ids, disjoint from it; uncertain tokens as ascending ranks. */
typedef struct classified {
    const uint32_t *bits;
    size_t bits_n;
    bool bits_kept; /* bits lives as long as the vocabulary index: refer to it */
    const uint32_t *acc, *unc;
    size_t acc_n, unc_n;
} classified;

static classified of_worker(const worker *w) {
    return (classified){.bits = w->bits, .bits_n = w->bits ? w->bits_n : 0, .bits_kept = w->bits && w->bits_kept,
                        .acc = w->acc.v, .acc_n = w->acc.n, .unc = w->unc.v, .unc_n = w->unc.n};
}

/* Records a classification: the accepted set as a list or, when that is
 * larger, a bitset; the uncertain ranks as a list. */
static bool store(const wg_token_cache *tc, uint32_t state, const classified *c) {
    store_t *st = tc->st;
    size_t acc_n = c->bits_n + c->acc_n;
    /* a memo's bitset is referred to, not copied: string bodies repeat */
    bool shared = c->bits_kept, bits = !shared && (c->bits || acc_n > tc->n_words);
    size_t need = st->n_data + (bits ? tc->n_words : shared ? c->acc_n : acc_n) + c->unc_n;
    if (need > UINT32_MAX) return false;
    if (need > st->cap_data || !st->data) {
        size_t cap = st->cap_data ? st->cap_data : 1024;
        while (cap < need) cap *= 2;
        uint32_t *d = realloc(st->data, cap * sizeof *d);
        if (!d) return false;
        st->data = d;
        st->cap_data = cap;
    }
    if (shared && st->n_shared == st->cap_shared) {
        size_t cap = st->cap_shared ? 2 * st->cap_shared : 64;
        const uint32_t **sh = realloc(st->shared, cap * sizeof *sh);
        if (!sh) return false;
        st->shared = sh;
        st->cap_shared = cap;
    }
    entry *e = &st->entries[state];
    e->acc_off = (uint32_t)st->n_data;
    e->acc_n = (uint32_t)acc_n;
    uint32_t *out = st->data + st->n_data;
    if (shared) {
        e->shared = (uint32_t)st->n_shared;
        st->shared[st->n_shared++] = c->bits;
        e->acc_n = (uint32_t)c->acc_n;
        if (c->acc_n) memcpy(out, c->acc, c->acc_n * sizeof *c->acc);
        st->n_data += c->acc_n;
    } else if (bits) {
        if (c->bits) memcpy(out, c->bits, tc->n_words * sizeof *out);
        else memset(out, 0, tc->n_words * sizeof *out);
        for (size_t k = 0; k < c->acc_n; k++) out[c->acc[k] >> 5] |= 1u << (c->acc[k] & 31);
        st->n_data += tc->n_words;
    } else if (acc_n) {
        memcpy(out, c->acc, acc_n * sizeof *c->acc);
        st->n_data += acc_n;
    }
    e->unc_off = (uint32_t)st->n_data;
    e->unc_n = (uint32_t)c->unc_n;
    if (c->unc_n) memcpy(st->data + st->n_data, c->unc, c->unc_n * sizeof *c->unc);
    st->n_data += c->unc_n;
    e->kind = shared ? E_SHARED : bits ? E_BITS : E_LIST;
    st->stats.n_cached++;
    st->stats.n_uncertain += c->unc_n;
    st->stats.bytes = sizeof *tc + sizeof *st + tc->g->n_states * sizeof *st->entries + st->n_data * sizeof *st->data +
                      st->cap_shared * sizeof *st->shared;
    return true;
}

/* ---- precomputation ---- */

/* A worker's classification, copied out of its scratch: c refers to the
 * copies below, or to the memo's bitset when that is kept. */
typedef struct pos_result {
    classified c;
    uint32_t *own_bits, *own_acc, *own_unc;
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
    size_t n_words = ((size_t)bc->vi->n_vocab + 31) / 32;
    pr->c = of_worker(w);
    pr->own_acc = malloc((w->acc.n + 1) * sizeof *pr->own_acc);
    pr->own_unc = malloc((w->unc.n + 1) * sizeof *pr->own_unc);
    bool copy = pr->c.bits && !pr->c.bits_kept;
    pr->own_bits = copy ? malloc(n_words * sizeof *pr->own_bits) : NULL;
    if (!pr->own_acc || !pr->own_unc || (copy && !pr->own_bits)) {
        w->failed = true;
        return;
    }
    if (w->acc.n) memcpy(pr->own_acc, w->acc.v, w->acc.n * sizeof *pr->own_acc);
    if (w->unc.n) memcpy(pr->own_unc, w->unc.v, w->unc.n * sizeof *pr->own_unc);
    if (copy) {
        memcpy(pr->own_bits, w->bits, n_words * sizeof *pr->own_bits);
        pr->c.bits = pr->own_bits;
    }
    pr->c.acc = pr->own_acc;
    pr->c.unc = pr->own_unc;
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
        if (bc.res[i].done) ok = store(tc, items[i], &bc.res[i].c);
    for (size_t i = 0; bc.res && i < n_items; i++) {
        free(bc.res[i].own_bits);
        free(bc.res[i].own_acc);
        free(bc.res[i].own_unc);
    }
    for (size_t i = 0; bc.workers && i < bc.n_workers; i++) {
        wg_pool_free(bc.workers[i].pool);
        wg_regions_free(bc.workers[i].regions);
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
        wg_regions_free(tc->st->lazy.regions);
        wg_vec_free(&tc->st->lazy.acc);
        wg_vec_free(&tc->st->lazy.unc);
        free(tc->st->entries);
        free(tc->st->data);
        free(tc->st->shared);
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
    if (classify(tc->vi, w, state, 0) != CL_OK) return false;
    classified c = of_worker(w);
    return store(tc, state, &c);
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
        const uint32_t *acc = tc->st->data + e->acc_off, *bits = e->kind == E_SHARED ? tc->st->shared[e->shared]
                                                             : e->kind == E_BITS ? acc : NULL;
        if (bits)
            for (size_t w = 0; w < tc->n_words; w++) mask[w] |= bits[w];
        if (e->kind != E_BITS)
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
