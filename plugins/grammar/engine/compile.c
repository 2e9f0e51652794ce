/* IR -> pushdown automaton over bytes: one DFA per rule whose edges are byte
 * ranges and rule references (XGrammar's byte-level PDA, Dong et al. 2024,
 * §3.1). Small non-recursive rules are inlined into their callers so more
 * tokens stay inside one rule (more context-independent tokens in the mask
 * cache, fewer stack operations). Left recursion is an error: the matcher
 * expands rules top-down and would push forever. */
#include "internal.h"

#define INLINE_MAX_STATES 160 /* NFA states of a rule body still worth inlining */

enum { E_EPS, E_BYTE, E_REF };

typedef struct nedge {
    uint32_t from, to, rule;
    uint8_t kind, lo, hi;
} nedge;

typedef struct cctx {
    const wg_builder *b;
    wg_error *err;
    bool failed;
    size_t max_states, n_states_total;
    double deadline;
    /* per builder rule */
    uint8_t *inl;        /* inlined into callers */
    uint32_t *rep;       /* the rule compiled for it: one per body (same_rules.c) */
    uint32_t *node_class; /* per expression node: structural class + 1, or 0 */
    int32_t *comp;       /* compiled index, -1: not (yet) compiled */
    size_t *size;        /* NFA size estimate, inlining included */
    size_t *memo;        /* per expression node: size estimate + 1, 0 unknown */
    uint32_t *seen;      /* per expression node: stamp of the last visit */
    uint32_t stamp;
    /* NFA under construction */
    nedge *edges;
    size_t n_edges, cap_edges;
    uint32_t n_nstates;
    uint32_t inline_depth;
    struct tail_slot *tail; /* shared fragments by (kind, id, exit): shared_entry */
    size_t n_tail, cap_tail;
    uint32_t tail_stamp;
    /* output */
    wg_grammar *g;
    size_t cap_states, cap_ranges, cap_refs;
    uint32_t *rule_of_comp; /* builder rule of each compiled rule */
    size_t cap_rules;
} cctx;

static bool cfail(cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool cfail(cctx *c, const char *fmt, ...) {
    if (!c->failed && c->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
        va_end(ap);
    }
    c->failed = true;
    return false;
}

static bool grow(void **arr, size_t *cap, size_t n, size_t sz) {
    if (n <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < n) nc *= 2;
    void *p = realloc(*arr, nc * sz);
    if (!p) return false;
    *arr = p;
    *cap = nc;
    return true;
}

static bool check_limits(cctx *c, size_t more) {
    c->n_states_total += more;
    if (c->n_states_total > c->max_states)
        return cfail(c, "grammar too large: more than %zu automaton states (limit max_states)", c->max_states);
    if ((c->n_states_total & 63) < more || more > 64) {
        if (wg_now_ms() > c->deadline)
            return cfail(c, "grammar compilation took longer than the limit (max_ms)");
    }
    return true;
}

/* ---- rule analysis on the IR ---- */

static size_t sat_add(size_t a, size_t b) { return a + b < a ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

/* NFA states e expands to (an estimate, saturating). Expressions may be
 * shared (a DAG), hence the memo. */
static size_t expr_size(cctx *c, wg_expr e) {
    if (c->memo[e]) return c->memo[e] - 1;
    const wg_node *n = &c->b->nodes[e];
    size_t s = 1;
    switch (n->kind) {
    case WG_E_EMPTY:
    case WG_E_NOTHING: break;
    case WG_E_BYTES: s = n->n + 1; break;
    case WG_E_CLASS: s = 4 * (size_t)n->n + 4; break;
    case WG_E_BYTE_RANGE: s = 2; break;
    case WG_E_REF: s = c->inl[n->a] ? c->size[n->a] : 2; break;
    case WG_E_SEQ:
    case WG_E_ALT:
        for (uint32_t i = 0; i < n->n; i++) s = sat_add(s, expr_size(c, c->b->items[n->off + i]));
        break;
    case WG_E_REPEAT: {
        size_t k = n->n == WG_INF ? (size_t)n->off + 1 : n->n;
        s = sat_add(sat_mul(expr_size(c, (wg_expr)n->a), k), 2);
        break;
    }
    }
    if (s == SIZE_MAX) s--;
    c->memo[e] = s + 1;
    return s;
}

/* Calls fn(rule) for every rule referenced in e, visiting each shared
 * subexpression once per stamp. */
static void each_ref(cctx *c, uint32_t stamp, wg_expr e, void (*fn)(void *, uint32_t), void *arg) {
    if (c->seen[e] == stamp) return;
    c->seen[e] = stamp;
    const wg_builder *b = c->b;
    const wg_node *n = &b->nodes[e];
    if (n->kind == WG_E_REF) fn(arg, n->a);
    else if (n->kind == WG_E_SEQ || n->kind == WG_E_ALT)
        for (uint32_t i = 0; i < n->n; i++) each_ref(c, stamp, b->items[n->off + i], fn, arg);
    else if (n->kind == WG_E_REPEAT)
        each_ref(c, stamp, (wg_expr)n->a, fn, arg);
}

/* Tarjan's SCC over the IR reference graph (recursive: depth is bounded by
 * the length of the longest chain of rule references). */
typedef struct tarjan {
    cctx *c;
    int32_t *index, *low;
    uint32_t *stack;
    uint8_t *on;
    size_t sp;
    int32_t next;
    uint8_t *recursive;
    uint32_t *order; /* rules in completion order (callees first) */
    size_t n_order;
    uint32_t cur;
    int32_t undefined_from, undefined_rule;
} tarjan;

static void strong(tarjan *t, uint32_t v);

static void visit_edge(void *arg, uint32_t w) {
    tarjan *t = arg;
    uint32_t v = t->cur;
    if (t->c->b->rules[w].body < 0) {
        if (t->undefined_rule < 0) t->undefined_from = (int32_t)v, t->undefined_rule = (int32_t)w;
        return;
    }
    if (w == v && !t->recursive[v]) t->recursive[v] = WG_SELF_RECURSIVE;
    if (t->index[w] < 0) {
        strong(t, w);
        t->cur = v;
        if (t->low[w] < t->low[v]) t->low[v] = t->low[w];
    } else if (t->on[w] && t->index[w] < t->low[v]) {
        t->low[v] = t->index[w];
    }
}

static void strong(tarjan *t, uint32_t v) {
    t->index[v] = t->low[v] = t->next++;
    t->stack[t->sp++] = v;
    t->on[v] = 1;
    t->cur = v;
    cctx *c = t->c;
    each_ref(c, ++c->stamp, c->b->rules[v].body, visit_edge, t);
    if (t->low[v] == t->index[v]) {
        size_t start = t->sp;
        do start--; while (t->stack[start] != v);
        bool cyc = t->sp - start > 1;
        for (size_t i = start; i < t->sp; i++) {
            uint32_t w = t->stack[i];
            t->on[w] = 0;
            if (cyc) t->recursive[w] = WG_ON_A_CYCLE;
            t->order[t->n_order++] = w;
        }
        t->sp = start;
    }
}

static bool analyse_rules(cctx *c, uint32_t root) {
    size_t nr = c->b->n_rules;
    tarjan t = {.c = c, .undefined_from = -1, .undefined_rule = -1};
    t.index = malloc(nr * sizeof *t.index);
    t.low = malloc(nr * sizeof *t.low);
    t.stack = malloc(nr * sizeof *t.stack);
    t.on = calloc(nr, 1);
    t.recursive = calloc(nr, 1);
    t.order = malloc(nr * sizeof *t.order);
    bool ok = t.index && t.low && t.stack && t.on && t.recursive && t.order;
    if (ok) {
        for (size_t i = 0; i < nr; i++) t.index[i] = -1;
        strong(&t, root);
        if (t.undefined_rule >= 0) {
            ok = cfail(c, "rule '%s' refers to undefined rule '%s'", c->b->rules[t.undefined_from].name,
                       c->b->rules[t.undefined_rule].name);
        } else {
            for (size_t i = 0; i < t.n_order; i++) {
                uint32_t r = t.order[i];
                c->size[r] = expr_size(c, c->b->rules[r].body);
                c->inl[r] = !t.recursive[r] && r != root && c->size[r] <= INLINE_MAX_STATES;
            }
            if (!wg_same_rules(c->b, t.order, t.n_order, t.recursive, c->rep, c->node_class))
                ok = cfail(c, "out of memory compiling the grammar");
        }
    } else {
        cfail(c, "out of memory compiling the grammar");
    }
    free(t.index);
    free(t.low);
    free(t.stack);
    free(t.on);
    free(t.recursive);
    free(t.order);
    return ok && !c->failed;
}

/* ---- Thompson NFA of one rule body ---- */

static uint32_t new_state(cctx *c) {
    if (!check_limits(c, 1)) return WG_NONE;
    return c->n_nstates++;
}

static bool add_edge(cctx *c, uint32_t from, uint32_t to, uint8_t kind, uint8_t lo, uint8_t hi, uint32_t rule) {
    if (!grow((void **)&c->edges, &c->cap_edges, c->n_edges + 1, sizeof *c->edges))
        return cfail(c, "out of memory compiling the grammar");
    c->edges[c->n_edges++] = (nedge){.from = from, .to = to, .rule = rule, .kind = kind, .lo = lo, .hi = hi};
    return true;
}

/* A fragment met again with the same exit is built once: an inlined rule,
 * or an item of a sequence by its structural class (same_rules.c). Key
 * (kind, id, exit) -> entry state, valid for one rule's NFA (stamped). A
 * chain of rules that refer to each other last (object members, a
 * pattern's states) is then built once per exit, not once per path
 * through it, and a member that two paths reach with the same rest is
 * built once. */
enum { SHARE_RULE, SHARE_CLASS, SHARE_NODE };

typedef struct tail_slot {
    uint32_t stamp, kind, id, exit, entry;
} tail_slot;

static size_t tail_hash(uint32_t kind, uint32_t id, uint32_t exit) {
    return (id * 2654435761u ^ exit * 40503u) + kind * 0x9e3779b9u;
}

static uint32_t *tail_find(cctx *c, uint32_t kind, uint32_t id, uint32_t exit, bool *found) {
    if ((c->n_tail + 1) * 2 > c->cap_tail) {
        size_t cap = c->cap_tail ? c->cap_tail * 2 : 256;
        tail_slot *t = calloc(cap, sizeof *t);
        if (!t) return cfail(c, "out of memory compiling the grammar"), NULL;
        for (size_t i = 0; i < c->cap_tail; i++) {
            tail_slot *o = &c->tail[i];
            if (o->stamp != c->tail_stamp) continue;
            size_t h = tail_hash(o->kind, o->id, o->exit) & (cap - 1);
            while (t[h].stamp == c->tail_stamp) h = (h + 1) & (cap - 1);
            t[h] = *o;
        }
        free(c->tail);
        c->tail = t;
        c->cap_tail = cap;
    }
    size_t h = tail_hash(kind, id, exit) & (c->cap_tail - 1);
    for (; c->tail[h].stamp == c->tail_stamp; h = (h + 1) & (c->cap_tail - 1)) {
        const tail_slot *t = &c->tail[h];
        if (t->kind == kind && t->id == id && t->exit == exit) {
            *found = true;
            return &c->tail[h].entry;
        }
    }
    *found = false;
    c->n_tail++;
    c->tail[h] = (tail_slot){.stamp = c->tail_stamp, .kind = kind, .id = id, .exit = exit};
    return &c->tail[h].entry;
}

static bool build_to(cctx *c, wg_expr e, uint32_t in, uint32_t exit);

/* The entry of e's fragment to `exit` under key (kind, id), built from a
 * fresh state (whose only edges out are e's) the first time; WG_NONE on
 * failure. */
static uint32_t shared_entry(cctx *c, uint32_t kind, uint32_t id, wg_expr e, uint32_t exit) {
    bool found;
    uint32_t *entry = tail_find(c, kind, id, exit, &found);
    if (!entry) return WG_NONE;
    if (found) return *entry;
    uint32_t s = new_state(c);
    if (s == WG_NONE) return WG_NONE;
    *entry = s;
    if (++c->inline_depth > 1000) return cfail(c, "rules nested too deeply"), WG_NONE;
    bool ok = build_to(c, e, s, exit);
    c->inline_depth--;
    return ok ? s : WG_NONE;
}

/* Builds e from state `in` to state `exit`. A fragment only adds edges out
 * of `in` and into `exit`, never into `in` nor out of `exit`, so fragments
 * may share their entry (alternatives) and their exit (the same
 * continuation); loops go back to fresh states only. */
static bool build_to(cctx *c, wg_expr e, uint32_t in, uint32_t exit) {
    if (c->failed) return false;
    const wg_builder *b = c->b;
    const wg_node *n = &b->nodes[e];
    switch (n->kind) {
    case WG_E_EMPTY: return add_edge(c, in, exit, E_EPS, 0, 0, 0);
    case WG_E_NOTHING: return true;
    case WG_E_BYTES:
        if (n->n == 0) return add_edge(c, in, exit, E_EPS, 0, 0, 0);
        for (uint32_t i = 0; i < n->n; i++) {
            uint32_t s = i + 1 == n->n ? exit : new_state(c);
            uint8_t ch = b->bytes[n->off + i];
            if (s == WG_NONE || !add_edge(c, in, s, E_BYTE, ch, ch, 0)) return false;
            in = s;
        }
        return true;
    case WG_E_BYTE_RANGE: return add_edge(c, in, exit, E_BYTE, (uint8_t)n->a, (uint8_t)n->b, 0);
    case WG_E_CLASS:
        for (uint32_t i = 0; i < n->n; i++) {
            wg_utf8_seq seq[16];
            size_t k = wg_utf8_sequences(b->ranges[n->off + 2 * i], b->ranges[n->off + 2 * i + 1], seq);
            for (size_t j = 0; j < k; j++) {
                uint32_t s = in;
                for (uint8_t m = 0; m < seq[j].n; m++) {
                    uint32_t t = m + 1 == seq[j].n ? exit : new_state(c);
                    if (t == WG_NONE || !add_edge(c, s, t, E_BYTE, seq[j].lo[m], seq[j].hi[m], 0)) return false;
                    s = t;
                }
            }
        }
        return true;
    case WG_E_REF: {
        uint32_t r = c->rep[n->a];
        if (!c->inl[r]) return add_edge(c, in, exit, E_REF, 0, 0, r);
        uint32_t entry = shared_entry(c, SHARE_RULE, r, b->rules[r].body, exit);
        return entry != WG_NONE && add_edge(c, in, entry, E_EPS, 0, 0, 0);
    }
    case WG_E_SEQ: {
        if (n->n == 0) return add_edge(c, in, exit, E_EPS, 0, 0, 0);
        /* right to left, so each item's exit is known: an item is shared
         * with every other place where it has the same rest */
        uint32_t to = exit;
        for (uint32_t i = n->n - 1; i > 0; i--) {
            wg_expr item = b->items[n->off + i];
            uint32_t cls = c->node_class[item];
            to = cls ? shared_entry(c, SHARE_CLASS, cls - 1, item, to)
                     : shared_entry(c, SHARE_NODE, (uint32_t)item, item, to);
            if (to == WG_NONE) return false;
        }
        return build_to(c, b->items[n->off], in, to);
    }
    case WG_E_ALT:
        for (uint32_t i = 0; i < n->n; i++)
            if (!build_to(c, b->items[n->off + i], in, exit)) return false;
        return true;
    case WG_E_REPEAT: {
        wg_expr child = (wg_expr)n->a;
        for (uint32_t i = 0; i < n->off; i++) { /* the copies every match has */
            uint32_t s = i + 1 == n->off && n->n == n->off ? exit : new_state(c);
            if (s == WG_NONE || !build_to(c, child, in, s)) return false;
            in = s;
        }
        if (n->n == n->off) return n->off ? true : add_edge(c, in, exit, E_EPS, 0, 0, 0);
        if (n->n == WG_INF) {
            uint32_t s = new_state(c);
            return s != WG_NONE && add_edge(c, in, s, E_EPS, 0, 0, 0) && build_to(c, child, s, s) &&
                   add_edge(c, s, exit, E_EPS, 0, 0, 0);
        }
        /* the optional copies nest, (e(e(e)?)?)?, each one's entry with an
         * epsilon edge to the exit: after i copies the closure is
         * {entry i, exit}, not every later copy's entry (small subsets) */
        for (uint32_t i = n->off; i < n->n; i++) {
            uint32_t s = i + 1 == n->n ? exit : new_state(c);
            if (s == WG_NONE || !add_edge(c, in, exit, E_EPS, 0, 0, 0) || !build_to(c, child, in, s)) return false;
            in = s;
        }
        return true;
    }
    }
    return false;
}

/* ---- subset construction ---- */

typedef struct dfa_build {
    /* NFA in CSR form */
    uint32_t *eoff, *eps_off;
    nedge *sorted; /* non-eps edges grouped by source */
    uint32_t *eps_to;
    uint32_t accept;
    wg_interner sets; /* subsets: sorted NFA state lists */
    uint32_t *mark;
    uint32_t gen;
    wg_vec stack, tmp;
} dfa_build;

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Sorts v[0..n) ascending: insertion sort for the small sets subset
 * construction mostly sees, qsort beyond. */
static void sort_u32(uint32_t *v, size_t n) {
    if (n > 24) {
        qsort(v, n, sizeof *v, cmp_u32);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        for (; j && v[j - 1] > x; j--) v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Epsilon closure of d->tmp (in place, sorted, unique), its consuming and
 * accepting states only. */
static bool eclose(cctx *c, dfa_build *d) {
    d->gen++;
    d->stack.n = 0;
    for (size_t i = 0; i < d->tmp.n; i++)
        if (d->mark[d->tmp.v[i]] != d->gen) {
            d->mark[d->tmp.v[i]] = d->gen;
            if (!wg_vec_push(&d->stack, d->tmp.v[i])) return cfail(c, "out of memory compiling the grammar");
        }
    d->tmp.n = 0;
    while (d->stack.n) {
        uint32_t s = d->stack.v[--d->stack.n];
        /* only states that consume or accept tell subsets apart: two
         * closures that differ in pass-through states are one DFA state */
        if ((d->eoff[s + 1] > d->eoff[s] || s == d->accept) && !wg_vec_push(&d->tmp, s))
            return cfail(c, "out of memory compiling the grammar");
        for (uint32_t k = d->eps_off[s]; k < d->eps_off[s + 1]; k++) {
            uint32_t t = d->eps_to[k];
            if (d->mark[t] == d->gen) continue;
            d->mark[t] = d->gen;
            if (!wg_vec_push(&d->stack, t)) return cfail(c, "out of memory compiling the grammar");
        }
    }
    sort_u32(d->tmp.v, d->tmp.n);
    return true;
}

/* The subset id of d->tmp (closed), created if new; WG_NONE on failure. */
static uint32_t intern_set(cctx *c, dfa_build *d) {
    bool added;
    uint32_t id = wg_intern(&d->sets, d->tmp.v, d->tmp.n, &added);
    if (id == WG_NONE) return cfail(c, "out of memory compiling the grammar"), WG_NONE;
    return added && !check_limits(c, 1) ? WG_NONE : id;
}

static bool push_state(cctx *c, wg_state st) {
    wg_grammar *g = c->g;
    if (!grow((void **)&g->states, &c->cap_states, g->n_states + 1, sizeof *g->states))
        return cfail(c, "out of memory compiling the grammar");
    g->states[g->n_states++] = st;
    return true;
}

/* Determinises the NFA in c->edges (start 0, accept d.accept) into
 * g->states from index `base`, for compiled rule `crule`. Ref edges hold
 * builder rule ids for now. */
static bool determinise(cctx *c, uint32_t accept, uint32_t crule) {
    wg_grammar *g = c->g;
    dfa_build d = {.accept = accept};
    uint32_t ns = c->n_nstates;
    size_t n_eps = 0;
    for (size_t i = 0; i < c->n_edges; i++) n_eps += c->edges[i].kind == E_EPS;
    d.eoff = calloc(ns + 1, sizeof *d.eoff);
    d.eps_off = calloc(ns + 1, sizeof *d.eps_off);
    d.eps_to = malloc((n_eps + 1) * sizeof *d.eps_to);
    d.sorted = malloc((c->n_edges - n_eps + 1) * sizeof *d.sorted);
    d.mark = calloc(ns, sizeof *d.mark);
    bool ok = d.eoff && d.eps_off && d.eps_to && d.sorted && d.mark;
    if (!ok) cfail(c, "out of memory compiling the grammar");
    if (ok) {
        /* CSR by source state (a counting sort: the order of a state's edges
         * does not matter, byte ranges are cut and targets sorted below) */
        for (size_t i = 0; i < c->n_edges; i++) {
            const nedge *e = &c->edges[i];
            if (e->kind == E_EPS) d.eps_off[e->from + 1]++;
            else d.eoff[e->from + 1]++;
        }
        for (uint32_t s = 0; s < ns; s++) d.eps_off[s + 1] += d.eps_off[s], d.eoff[s + 1] += d.eoff[s];
        for (size_t i = 0; i < c->n_edges; i++) {
            const nedge *e = &c->edges[i];
            if (e->kind == E_EPS) d.eps_to[d.eps_off[e->from]++] = e->to;
            else d.sorted[d.eoff[e->from]++] = *e;
        }
        for (uint32_t s = ns; s > 0; s--) d.eps_off[s] = d.eps_off[s - 1], d.eoff[s] = d.eoff[s - 1];
        d.eps_off[0] = d.eoff[0] = 0;
        d.tmp.n = 0;
        ok = wg_vec_push(&d.tmp, 0) && eclose(c, &d) && intern_set(c, &d) == 0;
    }
    uint32_t base = (uint32_t)g->n_states;
    wg_vec bounds = {0}, targets = {0};
    /* subsets are numbered in creation order, so the DFA state of subset i is base + i */
    for (uint32_t cur = 0; ok && cur < wg_interner_count(&d.sets); cur++) {
        uint32_t o = d.sets.off.v[cur], m = d.sets.off.v[cur + 1] - o;
        wg_state st = {.rule = crule, .range_off = (uint32_t)g->n_ranges, .ref_off = (uint32_t)g->n_refs};
        /* byte edges: cut 0..255 at every edge boundary (a bitmap of the
         * boundaries 0..256) */
        uint64_t cut[5] = {0};
        for (uint32_t i = 0; i < m; i++) {
            uint32_t s = d.sets.words.v[o + i];
            if (s == accept) st.final = 1;
            for (uint32_t k = d.eoff[s]; k < d.eoff[s + 1]; k++)
                if (d.sorted[k].kind == E_BYTE) wg_cut_range(cut, d.sorted[k].lo, d.sorted[k].hi);
        }
        bounds.n = 0;
        for (uint32_t w = 0; w < 5 && ok; w++)
            for (uint64_t x = cut[w]; x && ok; x &= x - 1) ok = wg_vec_push(&bounds, w * 64 + (uint32_t)__builtin_ctzll(x));
        for (size_t i = 0; ok && i + 1 < bounds.n; i++) {
            uint32_t lo = bounds.v[i], hi = bounds.v[i + 1] - 1;
            d.tmp.n = 0;
            for (uint32_t j = 0; j < m && ok; j++) {
                uint32_t s = d.sets.words.v[o + j];
                for (uint32_t k = d.eoff[s]; k < d.eoff[s + 1] && ok; k++) {
                    const nedge *e = &d.sorted[k];
                    if (e->kind == E_BYTE && e->lo <= lo && e->hi >= hi) ok = wg_vec_push(&d.tmp, e->to);
                }
            }
            if (!ok || d.tmp.n == 0) continue;
            ok = eclose(c, &d);
            uint32_t t = ok ? intern_set(c, &d) : WG_NONE;
            if (t == WG_NONE) ok = false;
            if (!ok) break;
            wg_range *prev = st.n_ranges ? &g->ranges[g->n_ranges - 1] : NULL;
            if (prev && prev->target == base + t && prev->hi + 1u == lo) {
                prev->hi = (uint8_t)hi;
                continue;
            }
            if (!grow((void **)&g->ranges, &c->cap_ranges, g->n_ranges + 1, sizeof *g->ranges)) {
                ok = cfail(c, "out of memory compiling the grammar");
                break;
            }
            g->ranges[g->n_ranges++] = (wg_range){.lo = (uint8_t)lo, .hi = (uint8_t)hi, .target = base + t};
            st.n_ranges++;
        }
        /* ref edges, grouped by rule (edges are sorted by kind then rule) */
        targets.n = 0;
        for (uint32_t i = 0; i < m && ok; i++) {
            uint32_t s = d.sets.words.v[o + i];
            for (uint32_t k = d.eoff[s]; k < d.eoff[s + 1] && ok; k++)
                if (d.sorted[k].kind == E_REF) ok = wg_vec_push(&targets, d.sorted[k].rule) && wg_vec_push(&targets, d.sorted[k].to);
        }
        if (targets.n) qsort(targets.v, targets.n / 2, 2 * sizeof *targets.v, cmp_u32);
        for (size_t i = 0; ok && i < targets.n;) {
            uint32_t rule = targets.v[i];
            d.tmp.n = 0;
            for (; i < targets.n && targets.v[i] == rule && ok; i += 2) ok = wg_vec_push(&d.tmp, targets.v[i + 1]);
            ok = ok && eclose(c, &d);
            uint32_t t = ok ? intern_set(c, &d) : WG_NONE;
            if (t == WG_NONE) {
                ok = false;
                break;
            }
            if (!grow((void **)&g->refs, &c->cap_refs, g->n_refs + 1, sizeof *g->refs)) {
                ok = cfail(c, "out of memory compiling the grammar");
                break;
            }
            g->refs[g->n_refs++] = (wg_refedge){.rule = rule, .target = base + t};
            st.n_refs++;
        }
        if (ok) ok = push_state(c, st);
    }
    if (!ok && !c->failed) cfail(c, "out of memory compiling the grammar");
    wg_vec_free(&bounds);
    wg_vec_free(&targets);
    wg_interner_free(&d.sets);
    wg_vec_free(&d.stack);
    wg_vec_free(&d.tmp);
    free(d.eoff);
    free(d.eps_off);
    free(d.eps_to);
    free(d.sorted);
    free(d.mark);
    return ok;
}

/* Compiles builder rule r as compiled rule index c->g->n_rules - 1. */
static bool compile_rule(cctx *c, uint32_t r, uint32_t crule) {
    c->n_edges = 0;
    c->n_nstates = 0;
    c->tail_stamp++;
    c->n_tail = 0;
    uint32_t start = new_state(c), accept = new_state(c);
    if (accept == WG_NONE || !build_to(c, c->b->rules[r].body, start, accept)) return false;
    c->g->rules[crule].start = (uint32_t)c->g->n_states;
    return determinise(c, accept, crule);
}

/* ---- checks on the compiled automaton ---- */

/* Rules that can match the empty string: a fixed point over ref edges.
 * seen[] holds a stamp per state (one per walk, so nothing is cleared
 * between walks: a grammar has many rules and many states). */
static bool *nullable_rules(const wg_grammar *g, uint32_t *stack, uint32_t *seen, uint32_t *stamp) {
    bool *nul = calloc(g->n_rules, sizeof *nul);
    if (!nul) return NULL;
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t r = 0; r < g->n_rules; r++) {
            if (nul[r]) continue;
            uint32_t st_id = ++*stamp;
            size_t sp = 0;
            stack[sp++] = g->rules[r].start;
            seen[g->rules[r].start] = st_id;
            while (sp && !nul[r]) {
                const wg_state *st = &g->states[stack[--sp]];
                if (st->final) nul[r] = true;
                for (uint32_t k = 0; k < st->n_refs; k++) {
                    const wg_refedge *e = &g->refs[st->ref_off + k];
                    if (nul[e->rule] && seen[e->target] != st_id) seen[e->target] = st_id, stack[sp++] = e->target;
                }
            }
            changed |= nul[r];
        }
    }
    return nul;
}

/* Left recursion: rule A calls B from a state reachable from A's start
 * without consuming a byte; a cycle of such calls would make the matcher
 * push forever. Reports the cycle. */
static bool check_left_recursion(cctx *c) {
    const wg_grammar *g = c->g;
    size_t nr = g->n_rules;
    uint32_t *stack = malloc((g->n_states + 1) * sizeof *stack);
    uint32_t *seen = calloc(g->n_states + 1, sizeof *seen), stamp = 0;
    uint32_t *called = calloc(nr + 1, sizeof *called); /* stamp: r calls it first */
    uint32_t *first_off = malloc((nr + 1) * sizeof *first_off); /* "calls first" edges, CSR */
    wg_vec first = {0};
    bool *nul = stack && seen ? nullable_rules(g, stack, seen, &stamp) : NULL;
    if (!stack || !seen || !called || !first_off || !nul) {
        free(stack), free(seen), free(called), free(first_off), free(nul);
        return cfail(c, "out of memory compiling the grammar");
    }
    bool ok = true;
    for (uint32_t r = 0; ok && r < nr; r++) {
        uint32_t st_id = ++stamp;
        size_t sp = 0;
        first_off[r] = (uint32_t)first.n;
        stack[sp++] = g->rules[r].start;
        seen[g->rules[r].start] = st_id;
        while (sp && ok) {
            const wg_state *st = &g->states[stack[--sp]];
            for (uint32_t k = 0; k < st->n_refs && ok; k++) {
                const wg_refedge *e = &g->refs[st->ref_off + k];
                if (called[e->rule] != st_id) called[e->rule] = st_id, ok = wg_vec_push(&first, e->rule);
                if (nul[e->rule] && seen[e->target] != st_id) seen[e->target] = st_id, stack[sp++] = e->target;
            }
        }
    }
    first_off[nr] = (uint32_t)first.n;
    if (!ok) cfail(c, "out of memory compiling the grammar");
    /* DFS for a cycle; colour 1 on the path, 2 done */
    uint8_t *colour = calloc(nr, 1);
    uint32_t *path = malloc((nr + 1) * sizeof *path), *it = calloc(nr + 1, sizeof *it);
    ok = ok && colour && path && it;
    if (!ok) cfail(c, "out of memory compiling the grammar");
    for (uint32_t s = 0; ok && s < nr; s++) {
        if (colour[s]) continue;
        size_t d = 0;
        path[0] = s;
        it[0] = first_off[s];
        colour[s] = 1;
        while (ok) {
            uint32_t v = path[d];
            if (it[d] >= first_off[v + 1]) {
                colour[v] = 2;
                if (d == 0) break;
                d--;
                continue;
            }
            uint32_t w = first.v[it[d]++];
            if (colour[w] == 1) {
                char msg[200];
                size_t k = 0, len = 0;
                while (path[k] != w) k++;
                msg[0] = 0;
                for (size_t i = k; i <= d && len < sizeof msg - 40; i++)
                    len += (size_t)snprintf(msg + len, sizeof msg - len, "%s -> ", g->rules[path[i]].name);
                snprintf(msg + len, sizeof msg - len, "%s", g->rules[w].name);
                ok = cfail(c, "left recursion: %s (a rule reaches itself without consuming input)", msg);
                break;
            }
            if (colour[w] == 0) {
                colour[w] = 1;
                path[++d] = w;
                it[d] = first_off[w];
            }
        }
    }
    free(colour), free(path), free(it);
    free(stack), free(seen), free(called), free(first_off), free(nul);
    wg_vec_free(&first);
    return ok;
}

/* The rule a state only tail-calls, or WG_NONE: no bytes, no end of its
 * own, one call whose return lands on an exit-only state. */
static uint32_t tail_call_of(const wg_grammar *g, uint32_t s) {
    const wg_state *st = &g->states[s];
    if (st->n_ranges || st->final || st->n_refs != 1) return WG_NONE;
    const wg_refedge *e = &g->refs[st->ref_off];
    return g->states[e->target].exit_only ? e->rule : WG_NONE;
}

/* A stack on such a state is the same as one on the callee's start with
 * the same caller (the matcher pops exit-only returns at once,
 * stacks.c), so byte edges into it go to the callee's start instead. A
 * string with maxLength 255 is a chain of rules, each ending in a tail
 * call: token walks then stay on one stack of call-free states through
 * the whole chain (token_cache.c, region.c), where each call made them
 * walk the full trie with stacks. Left recursion is ruled out before, so
 * chains of tail calls end. */
static void skip_tail_calls(wg_grammar *g) {
    for (size_t i = 0; i < g->n_ranges; i++) {
        uint32_t t = g->ranges[i].target, r;
        for (size_t hops = 0; hops <= g->n_rules && (r = tail_call_of(g, t)) != WG_NONE; hops++)
            t = g->rules[r].start;
        g->ranges[i].target = t;
    }
}

static bool finish(cctx *c) {
    wg_grammar *g = c->g;
    /* return sites per rule, and exit-only states */
    uint32_t *count = calloc(g->n_rules + 1, sizeof *count);
    g->rets = malloc((g->n_refs + 1) * sizeof *g->rets);
    if (!count || !g->rets) {
        free(count);
        return cfail(c, "out of memory compiling the grammar");
    }
    for (size_t i = 0; i < g->n_refs; i++) count[g->refs[i].rule + 1]++;
    for (size_t r = 0; r < g->n_rules; r++) {
        g->rules[r].ret_off = count[r];
        g->rules[r].n_ret = 0;
        count[r + 1] += count[r];
    }
    for (size_t i = 0; i < g->n_refs; i++) {
        wg_crule *cr = &g->rules[g->refs[i].rule];
        g->rets[cr->ret_off + cr->n_ret++] = g->refs[i].target;
    }
    g->n_rets = g->n_refs;
    free(count);
    for (size_t s = 0; s < g->n_states; s++) {
        wg_state *st = &g->states[s];
        st->exit_only = st->final && st->n_ranges == 0 && st->n_refs == 0;
    }
    if (!check_left_recursion(c)) return false;
    skip_tail_calls(g);
    return wg_compute_follow(g) || cfail(c, "out of memory compiling the grammar");
}

wg_grammar *wg_compile(const wg_builder *b, wg_rule root, const wg_limits *lim, wg_error *err) {
    if (!b) {
        wg_set_error(err, "no grammar builder");
        return NULL;
    }
    if (b->failed) {
        wg_set_error(err, "%s", b->fail_msg);
        return NULL;
    }
    if (root < 0 || (size_t)root >= b->n_rules) {
        wg_set_error(err, "invalid root rule");
        return NULL;
    }
    if (b->rules[root].body < 0) {
        wg_set_error(err, "root rule '%s' is not defined", b->rules[root].name);
        return NULL;
    }
    cctx c = {.b = b, .err = err};
    c.max_states = lim && lim->max_states ? lim->max_states : WG_DEFAULT_MAX_STATES;
    c.deadline = wg_now_ms() + (lim && lim->max_ms > 0 ? lim->max_ms : WG_DEFAULT_MAX_MS);
    size_t nr = b->n_rules;
    c.inl = calloc(nr, 1);
    c.rep = malloc(nr * sizeof *c.rep);
    c.node_class = malloc((b->n_nodes + 1) * sizeof *c.node_class);
    c.comp = malloc(nr * sizeof *c.comp);
    c.size = calloc(nr, sizeof *c.size);
    c.memo = calloc(b->n_nodes + 1, sizeof *c.memo);
    c.seen = calloc(b->n_nodes + 1, sizeof *c.seen);
    c.g = calloc(1, sizeof *c.g);
    bool ok = c.inl && c.rep && c.node_class && c.comp && c.size && c.memo && c.seen && c.g;
    if (!ok) cfail(&c, "out of memory compiling the grammar");
    for (size_t i = 0; ok && i < nr; i++) c.comp[i] = -1;
    ok = ok && analyse_rules(&c, (uint32_t)root);
    /* compile the root, then every rule its automata still call */
    wg_grammar *g = c.g;
    if (ok) {
        c.comp[root] = c.comp[c.rep[root]] = 0;
        ok = grow((void **)&g->rules, &c.cap_rules, 1, sizeof *g->rules) &&
             grow((void **)&c.rule_of_comp, &(size_t){0}, nr + 1, sizeof *c.rule_of_comp);
        if (!ok) cfail(&c, "out of memory compiling the grammar");
        else {
            g->n_rules = 1;
            g->rules[0] = (wg_crule){0};
            c.rule_of_comp[0] = (uint32_t)root;
        }
    }
    size_t ref_scan = 0;
    for (uint32_t cr = 0; ok && cr < g->n_rules; cr++) {
        ok = compile_rule(&c, c.rule_of_comp[cr], cr);
        /* map builder rule ids on new ref edges to compiled ids */
        for (; ok && ref_scan < g->n_refs; ref_scan++) {
            uint32_t br = g->refs[ref_scan].rule;
            if (c.comp[br] < 0) {
                if (!grow((void **)&g->rules, &c.cap_rules, g->n_rules + 1, sizeof *g->rules)) {
                    ok = cfail(&c, "out of memory compiling the grammar");
                    break;
                }
                c.comp[br] = (int32_t)g->n_rules;
                c.rule_of_comp[g->n_rules] = br;
                g->rules[g->n_rules++] = (wg_crule){0};
            }
            g->refs[ref_scan].rule = (uint32_t)c.comp[br];
        }
    }
    for (size_t r = 0; ok && r < g->n_rules; r++) {
        g->rules[r].name = strdup(b->rules[c.rule_of_comp[r]].name);
        if (!g->rules[r].name) ok = cfail(&c, "out of memory compiling the grammar");
    }
    ok = ok && finish(&c);
    free(c.inl);
    free(c.rep);
    free(c.node_class);
    free(c.comp);
    free(c.size);
    free(c.memo);
    free(c.seen);
    free(c.edges);
    free(c.tail);
    free(c.rule_of_comp);
    if (!ok) {
        if (!c.failed) wg_set_error(err, "out of memory compiling the grammar");
        wg_grammar_free(c.g);
        return NULL;
    }
    g->root = 0;
    size_t max_stacks = lim && lim->max_stacks ? lim->max_stacks : WG_DEFAULT_MAX_STACKS;
    g->max_stacks = max_stacks < UINT32_MAX ? (uint32_t)max_stacks : UINT32_MAX - 1;
    return g;
}

size_t wg_grammar_max_stacks(const wg_grammar *g) { return g->max_stacks; }

void wg_grammar_free(wg_grammar *g) {
    if (!g) return;
    for (size_t r = 0; r < g->n_rules; r++) free(g->rules[r].name);
    free(g->rules);
    free(g->states);
    free(g->ranges);
    free(g->refs);
    free(g->rets);
    free(g->follow);
    free(g->follow_end);
    free(g);
}

void wg_grammar_get_stats(const wg_grammar *g, wg_grammar_stats *out) {
    size_t bytes = sizeof *g + g->n_states * sizeof *g->states + g->n_ranges * sizeof *g->ranges +
                   g->n_refs * sizeof *g->refs + g->n_rets * sizeof *g->rets + g->n_rules * sizeof *g->rules +
                   g->n_rules * (8 * sizeof *g->follow + 1);
    for (size_t r = 0; r < g->n_rules; r++) bytes += strlen(g->rules[r].name) + 1;
    *out = (wg_grammar_stats){.n_rules = g->n_rules, .n_states = g->n_states, .bytes = bytes};
}
