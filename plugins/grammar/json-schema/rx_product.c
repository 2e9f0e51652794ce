/* Boolean combinations of regular languages of strings, for what the IR
 * cannot say by itself: "matches P but not Q", "matches P and has at most
 * n characters", "is none of these names and matches no pattern". Each
 * part (an unanchored ECMA-262 regex, or a set of literal strings) is
 * compiled by the engine into a byte DFA; the product of those DFAs, of a
 * UTF-8 decoder (so only whole valid characters count) and of a character
 * counter is explored from the start, states that cannot reach acceptance
 * are dropped, and each remaining product state becomes one rule. Bytes
 * JSON escapes become their canonical escapes (json_chars.c), so the
 * result reads string contents as JSON text.
 *
 * STOPGAP: the DFAs are read from the compiled grammar through the
 * engine's internal.h; a DFA/boolean-combination API in the engine should
 * replace this (see docs/json-schema.md). */
#include "internal.h"
#include "js_internal.h"

#define RX_MAX_PARTS 16
#define RX_MAX_STATES 20000

/* UTF-8 (RFC 3629 §4): states by what must follow; DEAD on a bad byte. */
enum { U_START, U_1, U_2, U_3, U_E0, U_ED, U_F0, U_F4, U_DEAD };

static uint8_t utf8_step(uint8_t u, uint8_t b) {
    bool cont = b >= 0x80 && b <= 0xBF;
    switch (u) {
    case U_START:
        if (b < 0x80) return U_START;
        if (b >= 0xC2 && b <= 0xDF) return U_1;
        if (b == 0xE0) return U_E0;
        if (b == 0xED) return U_ED;
        if (b >= 0xE1 && b <= 0xEF) return U_2;
        if (b == 0xF0) return U_F0;
        if (b >= 0xF1 && b <= 0xF3) return U_3;
        if (b == 0xF4) return U_F4;
        return U_DEAD;
    case U_1: return cont ? U_START : U_DEAD;
    case U_2: return cont ? U_1 : U_DEAD;
    case U_3: return cont ? U_2 : U_DEAD;
    case U_E0: return b >= 0xA0 && b <= 0xBF ? U_1 : U_DEAD;
    case U_ED: return b >= 0x80 && b <= 0x9F ? U_1 : U_DEAD; /* no surrogates */
    case U_F0: return b >= 0x90 && b <= 0xBF ? U_2 : U_DEAD;
    case U_F4: return b >= 0x80 && b <= 0x8F ? U_2 : U_DEAD;
    default: return U_DEAD;
    }
}

typedef struct part_dfa {
    wg_grammar *g;
    uint32_t start;
} part_dfa;

/* Compiles one part into a DFA; false (with the status set) on failure. */
static bool compile_part(js_ctx *c, const js_rx_part *p, part_dfa *out, const weft_json *at) {
    wg_builder *b = wg_builder_new();
    if (!b) return js_fail(c, at, WEFT_ERR_NOMEM, "out of memory");
    wg_error err = {{0}};
    wg_expr e;
    if (p->format) {
        /* the format's grammar, built into this builder (formats.c) */
        js_ctx tmp = *c;
        tmp.b = b;
        tmp.have_char = tmp.have_wide = tmp.have_ws = tmp.have_value = tmp.have_string = false;
        e = js_emit_format(&tmp, p->format);
    } else if (p->regex) {
        e = wg_regex_to_ir(b, p->regex, false, &err);
    } else {
        wg_expr *alts = malloc((p->n_names + 1) * sizeof *alts);
        if (!alts) {
            wg_builder_free(b);
            return js_fail(c, at, WEFT_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < p->n_names; i++) alts[i] = wg_lit_str(b, p->names[i]);
        e = wg_alt(b, alts, p->n_names);
        free(alts);
    }
    wg_rule r = wg_rule_fresh(b, "part");
    if (e >= 0) wg_rule_define(b, r, e);
    wg_limits lim = js_limits_left(c, RX_MAX_STATES);
    out->g = e >= 0 ? wg_compile(b, r, &lim, &err) : NULL;
    wg_builder_free(b);
    if (!out->g) {
        const weft_json *where = p->at ? p->at : at;
        return js_unsupported(c, where, "'%s' is not supported: %s",
                              p->format ? "format" : p->regex ? "pattern" : "property names",
                              err.msg[0] ? err.msg : "cannot compile it"),
               false;
    }
    out->start = out->g->rules[out->g->root].start;
    for (size_t s = 0; s < out->g->n_states; s++)
        if (out->g->states[s].n_refs) { /* not a plain DFA: a regex never makes one */
            wg_grammar_free(out->g);
            out->g = NULL;
            return js_unsupported(c, p->at ? p->at : at, "'pattern' is not supported: not a regular expression"),
                   false;
        }
    return true;
}

/* ---- the product ---- */

/* Where the UTF-8 decoder's step changes (utf8_step), and 256: bits of
 * 0..256 in five words. */
#define CUT(x) (1ull << ((x) & 63))
static const uint64_t UTF8_CUTS[5] = {
    CUT(0),
    0,
    CUT(0x80) | CUT(0x90) | CUT(0xA0),
    CUT(0xC0) | CUT(0xC2) | CUT(0xE0) | CUT(0xE1) | CUT(0xED) | CUT(0xEE) | CUT(0xF0) | CUT(0xF1) | CUT(0xF4) |
        CUT(0xF5),
    CUT(256),
};
#undef CUT

/* The first cut at or after `from` (256 is always one). */
static int next_cut(const uint64_t cut[5], int from) {
    for (int w = from >> 6; w < 5; w++) {
        uint64_t x = cut[w] & (w == from >> 6 ? ~0ull << (from & 63) : ~0ull);
        if (x) return w * 64 + __builtin_ctzll(x);
    }
    return 256;
}

typedef struct product {
    size_t k;            /* parts */
    size_t width;        /* words per state: k DFA states, utf8, count */
    uint32_t *tuples;    /* state i at tuples + i * width */
    size_t n, cap;
    uint32_t *table;     /* open addressing: index + 1 */
    size_t table_cap;
    uint32_t *edge_from, *edge_to;
    uint8_t *edge_lo, *edge_hi;
    size_t n_edges, cap_edges;
} product;

static size_t hash_tuple(const uint32_t *t, size_t w) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < w; i++) h = (h ^ t[i]) * 1099511628211ull;
    return (size_t)h;
}

/* The index of tuple t, added if new; SIZE_MAX when out of room. */
static size_t intern(product *p, const uint32_t *t) {
    if (p->n * 2 >= p->table_cap) {
        size_t nc = p->table_cap ? p->table_cap * 2 : 1024;
        uint32_t *nt = calloc(nc, sizeof *nt);
        if (!nt) return SIZE_MAX;
        for (size_t i = 0; i < p->n; i++) {
            size_t j = hash_tuple(p->tuples + i * p->width, p->width) & (nc - 1);
            while (nt[j]) j = (j + 1) & (nc - 1);
            nt[j] = (uint32_t)i + 1;
        }
        free(p->table);
        p->table = nt;
        p->table_cap = nc;
    }
    size_t j = hash_tuple(t, p->width) & (p->table_cap - 1);
    while (p->table[j]) {
        if (!memcmp(p->tuples + (p->table[j] - 1) * p->width, t, p->width * sizeof *t)) return p->table[j] - 1;
        j = (j + 1) & (p->table_cap - 1);
    }
    if (p->n == RX_MAX_STATES) return SIZE_MAX;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 256;
        uint32_t *nt = realloc(p->tuples, nc * p->width * sizeof *nt);
        if (!nt) return SIZE_MAX;
        p->tuples = nt;
        p->cap = nc;
    }
    memcpy(p->tuples + p->n * p->width, t, p->width * sizeof *t);
    p->table[j] = (uint32_t)p->n + 1;
    return p->n++;
}

static bool add_edge(product *p, size_t from, size_t to, uint8_t lo, uint8_t hi) {
    if (p->n_edges == p->cap_edges) {
        size_t nc = p->cap_edges ? p->cap_edges * 2 : 1024;
        uint32_t *f = realloc(p->edge_from, nc * sizeof *f);
        if (f) p->edge_from = f;
        uint32_t *t = realloc(p->edge_to, nc * sizeof *t);
        if (t) p->edge_to = t;
        uint8_t *l = realloc(p->edge_lo, nc);
        if (l) p->edge_lo = l;
        uint8_t *h = realloc(p->edge_hi, nc);
        if (h) p->edge_hi = h;
        if (!f || !t || !l || !h) return false;
        p->cap_edges = nc;
    }
    p->edge_from[p->n_edges] = (uint32_t)from;
    p->edge_to[p->n_edges] = (uint32_t)to;
    p->edge_lo[p->n_edges] = lo;
    p->edge_hi[p->n_edges] = hi;
    p->n_edges++;
    return true;
}

static void product_free(product *p) {
    free(p->tuples);
    free(p->table);
    free(p->edge_from);
    free(p->edge_to);
    free(p->edge_lo);
    free(p->edge_hi);
}

/* Is the tuple accepting? Whole characters, the count in range, every
 * part's verdict as required. */
static bool accepting(const js_rx_query *q, const part_dfa *d, const uint32_t *t, size_t k) {
    if (t[k] != U_START || t[k + 1] < q->min_len) return false;
    for (size_t i = 0; i < k; i++) {
        bool in = t[i] != WG_NONE && d[i].g->states[t[i]].final;
        if ((q->must >> i & 1) && !in) return false;
        if ((q->must_not >> i & 1) && in) return false;
    }
    return true;
}

/* The next tuple after byte b; false if it is dead for sure (UTF-8 broken,
 * too many characters, or a part that must match is dead). */
static bool step(const js_rx_query *q, const part_dfa *d, size_t k, const uint32_t *t, uint8_t b, uint32_t *next) {
    uint8_t u = utf8_step((uint8_t)t[k], b);
    if (u == U_DEAD) return false;
    uint32_t count = t[k + 1] + (u == U_START);
    if (q->max_len != JS_NO_MAX && count > q->max_len) return false;
    uint64_t cap = q->max_len != JS_NO_MAX ? q->max_len : q->min_len;
    next[k] = u;
    next[k + 1] = count > cap ? (uint32_t)cap : count; /* saturates: only min matters */
    for (size_t i = 0; i < k; i++) {
        next[i] = t[i] == WG_NONE ? WG_NONE : wg_dfa_step(d[i].g, t[i], b);
        if (next[i] == WG_NONE && (q->must >> i & 1)) return false;
    }
    return true;
}

/* The states that can reach acceptance: a search backwards from the
 * accepting ones over the edges grouped by target (linear, where
 * relaxing all edges until nothing changes would be quadratic on a long
 * chain such as a maxLength counter); NULL when out of memory. */
static bool *live_states(const product *p, const js_rx_query *q, const part_dfa *d) {
    bool *live = calloc(p->n + 1, sizeof *live);
    size_t *start = calloc(p->n + 1, sizeof *start); /* edges into s: by_to[start[s] .. start[s + 1]) */
    uint32_t *by_to = malloc((p->n_edges + 1) * sizeof *by_to);
    uint32_t *stack = malloc((p->n + 1) * sizeof *stack);
    bool ok = live && start && by_to && stack;
    if (ok) {
        /* counting sort: start[s] ends up at the first edge into s */
        for (size_t e = 0; e < p->n_edges; e++) start[p->edge_to[e]]++;
        for (size_t s = 1; s <= p->n; s++) start[s] += start[s - 1];
        for (size_t e = p->n_edges; e-- > 0;) by_to[--start[p->edge_to[e]]] = (uint32_t)e;
        size_t top = 0;
        for (size_t s = 0; s < p->n; s++)
            if (accepting(q, d, p->tuples + s * p->width, p->k)) live[s] = true, stack[top++] = (uint32_t)s;
        while (top) {
            uint32_t s = stack[--top];
            for (size_t i = start[s]; i < start[s + 1]; i++) {
                uint32_t from = p->edge_from[by_to[i]];
                if (!live[from]) live[from] = true, stack[top++] = from;
            }
        }
    }
    free(start);
    free(by_to);
    free(stack);
    if (!ok) {
        free(live);
        return NULL;
    }
    return live;
}

/* A canonical JSON text for bytes [lo, hi] of a state at a character
 * start: raw bytes, except the ones JSON escapes. */
static wg_expr atom(js_ctx *c, uint8_t lo, uint8_t hi, bool char_start) {
    wg_builder *b = c->b;
    if (!char_start || lo > '\\' || (hi < '"' && lo >= 0x20) || (lo > '"' && hi < '\\'))
        return wg_byte_range(b, lo, hi);
    uint32_t r[2] = {lo, hi};
    return js_json_chars(c, r, 1, false);
}

wg_expr js_rx_combine(js_ctx *c, const js_rx_query *q, const weft_json *at, bool *empty) {
    size_t k = q->n_parts;
    if (k > RX_MAX_PARTS) return js_unsupported(c, at, "more than %d patterns on one string", RX_MAX_PARTS), -1;
    part_dfa d[RX_MAX_PARTS] = {{0}};
    product p = {.k = k, .width = k + 2};
    wg_expr result = -1;
    bool ok = true;
    for (size_t i = 0; i < k && ok; i++) ok = compile_part(c, &q->parts[i], &d[i], at);
    uint32_t *t = malloc(2 * p.width * sizeof *t), *next = t ? t + p.width : NULL;
    ok = ok && t;
    /* explore every tuple reachable from the start */
    if (ok) {
        for (size_t i = 0; i < k; i++) t[i] = d[i].start;
        t[k] = U_START, t[k + 1] = 0;
        ok = intern(&p, t) == 0;
    }
    for (size_t s = 0; ok && s < p.n && js_budget_ok(c); s++) {
        memcpy(t, p.tuples + s * p.width, p.width * sizeof *t);
        /* bytes between two cuts step alike: every part's state and the
         * UTF-8 decoder change only at their range boundaries */
        uint64_t cut[5];
        memcpy(cut, UTF8_CUTS, sizeof cut);
        for (size_t i = 0; i < k; i++) {
            if (t[i] == WG_NONE) continue;
            const wg_state *st = &d[i].g->states[t[i]];
            for (uint32_t j = 0; j < st->n_ranges; j++)
                wg_cut_range(cut, d[i].g->ranges[st->range_off + j].lo, d[i].g->ranges[st->range_off + j].hi);
        }
        size_t run_to = SIZE_MAX;
        int lo = -1;
        for (int b = 0; b <= 256 && ok;) {
            size_t to = SIZE_MAX;
            if (b < 256 && step(q, d, k, t, (uint8_t)b, next) && (to = intern(&p, next)) == SIZE_MAX) ok = false;
            if (lo >= 0 && (b == 256 || to != run_to)) {
                ok = add_edge(&p, s, run_to, (uint8_t)lo, (uint8_t)(b - 1));
                lo = -1;
            }
            if (b < 256 && to != SIZE_MAX && lo < 0) lo = b, run_to = to;
            b = b == 256 ? 257 : next_cut(cut, b + 1);
        }
        /* the tuple was re-read: p.tuples may have moved */
    }
    if (!ok && js_ok(c)) {
        if (p.n >= RX_MAX_STATES)
            js_unsupported(c, at, "combining these patterns/lengths needs more than %d states", RX_MAX_STATES);
        else
            js_fail(c, at, WEFT_ERR_NOMEM, "out of memory");
    }
    ok = ok && js_ok(c);
    bool *live = ok ? live_states(&p, q, d) : NULL;
    if (ok && !live) js_fail(c, at, WEFT_ERR_NOMEM, "out of memory");
    if (live) {
        if (empty) *empty = !live[0];
        if (!live[0]) {
            result = wg_nothing(c->b);
        } else {
            /* one rule per live state; edges are grouped by state, in order */
            wg_rule *rules = malloc(p.n * sizeof *rules);
            wg_expr *alts = malloc((p.n_edges + 1) * sizeof *alts);
            if (rules && alts) {
                for (size_t s = 0; s < p.n; s++)
                    if (live[s]) rules[s] = wg_rule_fresh(c->b, "rx");
                size_t e = 0;
                for (size_t s = 0; s < p.n; s++) {
                    size_t na = 0;
                    const uint32_t *ts = p.tuples + s * p.width;
                    if (live[s] && accepting(q, d, ts, k)) alts[na++] = wg_empty(c->b);
                    for (; e < p.n_edges && p.edge_from[e] == s; e++)
                        if (live[s] && live[p.edge_to[e]])
                            alts[na++] = wg_seq2(c->b, atom(c, p.edge_lo[e], p.edge_hi[e], ts[k] == U_START),
                                                 wg_ref(c->b, rules[p.edge_to[e]]));
                    if (live[s]) wg_rule_define(c->b, rules[s], wg_alt(c->b, alts, na));
                }
                result = wg_ref(c->b, rules[0]);
            } else {
                js_fail(c, at, WEFT_ERR_NOMEM, "out of memory");
            }
            free(rules);
            free(alts);
        }
    }
    free(live);
    free(t);
    product_free(&p);
    for (size_t i = 0; i < k; i++) wg_grammar_free(d[i].g);
    return js_ok(c) ? result : -1;
}
