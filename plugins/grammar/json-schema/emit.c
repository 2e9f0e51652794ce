/* Pass 2: js_node -> IR. One rule per schema location ($ref targets: their
 * rule exists before its body is built, so recursive schemas become
 * recursive rules) and per flat node; each rule's body is the alternation
 * of the JSON texts of its allowed types. */
#include <math.h>
#include <stdio.h>

#include "js_internal.h"

wg_expr js_ws(js_ctx *c) {
    if (c->opt.whitespace == JS_WS_COMPACT) return wg_empty(c->b);
    if (!c->have_ws) {
        /* RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
        static const uint32_t WS[] = {0x20, 0x20, 0x09, 0x0A, 0x0D, 0x0D};
        uint32_t max = c->opt.max_whitespace ? c->opt.max_whitespace : WG_INF;
        c->r_ws = wg_rule_fresh(c->b, "ws");
        wg_rule_define(c->b, c->r_ws, wg_repeat(c->b, wg_class(c->b, WS, 3, false), 0, max));
        c->have_ws = true;
    }
    return wg_ref(c->b, c->r_ws);
}

wg_expr js_any_string(js_ctx *c) {
    if (!c->have_string) {
        wg_builder *b = c->b;
        c->r_string = wg_rule_fresh(b, "string");
        wg_expr q = wg_lit_str(b, "\"");
        wg_rule_define(b, c->r_string, wg_seq(b, (wg_expr[]){q, wg_repeat(b, js_json_char(c), 0, WG_INF), q}, 3));
        c->have_string = true;
    }
    return wg_ref(c->b, c->r_string);
}

/* "{" ws [ member ws *( "," ws member ws ) ] "}" and its array twin: the
 * shape every object and array rule of this front-end uses. */
static wg_expr any_container(js_ctx *c, const char *open, const char *close, wg_expr elem) {
    wg_builder *b = c->b;
    wg_expr ws = js_ws(c);
    wg_expr first = wg_seq2(b, elem, ws);
    wg_expr more = wg_repeat(b, wg_seq(b, (wg_expr[]){wg_lit_str(b, ","), ws, elem, ws}, 4), 0, WG_INF);
    wg_expr body = wg_repeat(b, wg_seq2(b, first, more), 0, 1);
    return wg_seq(b, (wg_expr[]){wg_lit_str(b, open), ws, body, wg_lit_str(b, close)}, 4);
}

wg_expr js_any_value(js_ctx *c) {
    if (!c->have_value) {
        wg_builder *b = c->b;
        c->r_value = wg_rule_fresh(b, "value");
        c->have_value = true;
        wg_expr value = wg_ref(b, c->r_value);
        wg_expr member = wg_seq(b, (wg_expr[]){js_any_string(c), js_ws(c), wg_lit_str(b, ":"), js_ws(c), value}, 5);
        js_num none = {0};
        wg_expr alts[] = {
            wg_lit_str(b, "null"),
            wg_lit_str(b, "true"),
            wg_lit_str(b, "false"),
            js_emit_num_range(c, &none, c->root),
            js_any_string(c),
            any_container(c, "[", "]", value),
            any_container(c, "{", "}", member),
        };
        wg_rule_define(b, c->r_value, wg_alt(b, alts, sizeof alts / sizeof alts[0]));
    }
    return wg_ref(c->b, c->r_value);
}

/* ---- counted repetition ---- */

/* A long count in one rule body is a DFA of (count x states of e) states,
 * which is slow to build and large. Two rule shapes keep bodies small:
 *   up to JS_BLOCKS_MAX: a chain of blocks of 16 (one stack, cheap masks,
 *     a linear number of states)
 *     B_0 = e{0, n mod 16},  B_k = e{0,15} | e{16} B_(k-1);
 *   beyond: rules over powers of two (a logarithmic number of rules, the
 *     stack does the counting)
 *     P(2^k) = P(2^(k-1)) P(2^(k-1))                  exactly 2^k
 *     E(2^k) = E(2^(k-1)) | P(2^(k-1)) E(2^(k-1))     0 .. 2^k - 1
 *     F(n)   = E(h) | P(h) F(n - h)                   0 .. n  (h <= (n+1)/2)
 * Each alternation is decided by the length, so no ambiguity is added. */
#define JS_BLOCK 16
#define JS_BLOCKS_MAX 1024
#define JS_DIRECT_LOG 4 /* 2^4 = JS_BLOCK */
#define JS_MAX_LOG 32

typedef struct pow_rules {
    js_ctx *c;
    wg_expr e;
    wg_rule p[JS_MAX_LOG], z[JS_MAX_LOG];
    bool has_p[JS_MAX_LOG], has_z[JS_MAX_LOG];
} pow_rules;

static wg_expr pow_exact(pow_rules *pr, int k) {
    wg_builder *b = pr->c->b;
    if (!pr->has_p[k]) {
        pr->has_p[k] = true;
        pr->p[k] = wg_rule_fresh(b, "rep");
        wg_expr body = k == JS_DIRECT_LOG ? wg_repeat(b, pr->e, 1u << k, 1u << k)
                                          : wg_seq2(b, pow_exact(pr, k - 1), pow_exact(pr, k - 1));
        wg_rule_define(b, pr->p[k], body);
    }
    return wg_ref(b, pr->p[k]);
}

static wg_expr pow_below(pow_rules *pr, int k) {
    wg_builder *b = pr->c->b;
    if (!pr->has_z[k]) {
        pr->has_z[k] = true;
        pr->z[k] = wg_rule_fresh(b, "rep");
        wg_expr body = k == JS_DIRECT_LOG ? wg_repeat(b, pr->e, 0, (1u << k) - 1)
                                          : wg_alt2(b, pow_below(pr, k - 1),
                                                    wg_seq2(b, pow_exact(pr, k - 1), pow_below(pr, k - 1)));
        wg_rule_define(b, pr->z[k], body);
    }
    return wg_ref(b, pr->z[k]);
}

/* e{n} */
static wg_expr exactly(pow_rules *pr, uint32_t n) {
    wg_builder *b = pr->c->b;
    if (n <= JS_BLOCKS_MAX) { /* a chain: e{16} e{16} ... e{n mod 16} */
        wg_expr tail = wg_repeat(b, pr->e, n % JS_BLOCK, n % JS_BLOCK);
        for (uint32_t k = 0; k < n / JS_BLOCK; k++) {
            wg_rule r = wg_rule_fresh(b, "rep");
            wg_rule_define(b, r, wg_seq2(b, wg_repeat(b, pr->e, JS_BLOCK, JS_BLOCK), tail));
            tail = wg_ref(b, r);
        }
        return tail;
    }
    uint32_t low = n & (JS_BLOCK - 1);
    wg_expr parts[JS_MAX_LOG + 1];
    size_t k = 0;
    parts[k++] = wg_repeat(b, pr->e, low, low);
    for (int bit = JS_DIRECT_LOG; bit < JS_MAX_LOG; bit++)
        if (n >> bit & 1) parts[k++] = pow_exact(pr, bit);
    return wg_seq(b, parts, k);
}

/* e{0,n} */
static wg_expr up_to(pow_rules *pr, uint32_t n) {
    wg_builder *b = pr->c->b;
    if (n <= JS_BLOCKS_MAX) {
        wg_expr tail = wg_repeat(b, pr->e, 0, n % JS_BLOCK);
        for (uint32_t k = 0; k < n / JS_BLOCK; k++) {
            wg_rule r = wg_rule_fresh(b, "rep");
            wg_expr full = wg_seq2(b, wg_repeat(b, pr->e, JS_BLOCK, JS_BLOCK), tail);
            wg_rule_define(b, r, wg_alt2(b, wg_repeat(b, pr->e, 0, JS_BLOCK - 1), full));
            tail = wg_ref(b, r);
        }
        return tail;
    }
    int k = JS_DIRECT_LOG;
    while (k + 1 < JS_MAX_LOG && (1u << (k + 1)) <= (n + 1) / 2) k++;
    uint32_t h = 1u << k;
    return wg_alt2(b, pow_below(pr, k), wg_seq2(b, pow_exact(pr, k), up_to(pr, n - h)));
}

wg_expr js_repeat(js_ctx *c, wg_expr e, uint32_t lo, uint32_t hi) {
    wg_builder *b = c->b;
    uint32_t direct = 2 * JS_BLOCK;
    if (lo < direct && (hi == WG_INF || hi < direct)) return wg_repeat(b, e, lo, hi);
    pow_rules pr = {.c = c, .e = e};
    wg_expr head = lo < direct ? wg_repeat(b, e, lo, lo) : exactly(&pr, lo);
    wg_expr rest = hi == WG_INF ? wg_repeat(b, e, 0, WG_INF) : up_to(&pr, hi - lo);
    return wg_seq2(b, head, rest);
}

/* ---- literals (enum, const) ---- */

/* The decimal texts of a number: its shortest round-trip digits, and for an
 * integral value also with a zero fraction (1 == 1.0, Core §4.2.2). */
static wg_expr literal_number(js_ctx *c, double x) {
    wg_builder *b = c->b;
    char buf[64];
    if (js_is_integral(x) && fabs(x) < 1e21) {
        snprintf(buf, sizeof buf, "%.0f", x);
        wg_expr zeros = wg_repeat(b, wg_seq2(b, wg_lit_str(b, "."), wg_repeat(b, wg_lit_str(b, "0"), 1, WG_INF)), 0, 1);
        return wg_seq2(b, wg_lit_str(b, strcmp(buf, "-0") == 0 ? "0" : buf), zeros);
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    /* %g may write an exponent as "1e-05": valid JSON, as Python writes it */
    return wg_lit_str(b, buf);
}

wg_expr js_string_literal(js_ctx *c, const char *s) {
    size_t cap = strlen(s) * 6 + 3;
    char *buf = malloc(cap);
    if (!buf) return -1;
    buf[0] = '"';
    size_t k = js_json_encode(s, buf + 1, cap - 2);
    buf[k + 1] = '"';
    buf[k + 2] = 0;
    wg_expr e = wg_lit_str(c->b, buf);
    free(buf);
    return e;
}

wg_expr js_emit_literal(js_ctx *c, const weft_json *v) {
    const weft_host *h = c->h;
    wg_builder *b = c->b;
    switch (h->json_type(v)) {
    case WEFT_JSON_NULL: return wg_lit_str(b, "null");
    case WEFT_JSON_BOOL: return wg_lit_str(b, h->json_bool(v) ? "true" : "false");
    case WEFT_JSON_NUMBER: return literal_number(c, h->json_number(v));
    case WEFT_JSON_STRING: return js_string_literal(c, h->json_string(v));
    case WEFT_JSON_ARRAY: {
        size_t n = h->json_count(v);
        wg_expr ws = js_ws(c);
        wg_expr *parts = malloc((4 * n + 3) * sizeof *parts);
        if (!parts) return -1;
        size_t k = 0;
        parts[k++] = wg_lit_str(b, "[");
        parts[k++] = ws;
        for (size_t i = 0; i < n; i++) {
            if (i) parts[k++] = wg_lit_str(b, ","), parts[k++] = ws;
            parts[k++] = js_emit_literal(c, h->json_item(v, i));
            parts[k++] = ws;
        }
        parts[k++] = wg_lit_str(b, "]");
        wg_expr e = wg_seq(b, parts, k);
        free(parts);
        return e;
    }
    case WEFT_JSON_OBJECT: {
        /* every member required, in any order where there are few */
        size_t n = h->json_count(v);
        wg_expr *kv = malloc((n + 1) * sizeof *kv);
        bool *req = malloc((n + 1) * sizeof *req);
        wg_expr e = -1;
        for (size_t i = 0; kv && req && i < n; i++) {
            wg_expr ws = js_ws(c);
            kv[i] = wg_seq(b, (wg_expr[]){js_string_literal(c, h->json_key(v, i)), ws, wg_lit_str(b, ":"), ws,
                                          js_emit_literal(c, h->json_item(v, i)), ws}, 6);
            req[i] = true;
        }
        if (kv && req) {
            js_members m = {.kv = kv, .required = req, .n = n, .extra = -1, .max = JS_NO_MAX};
            e = js_emit_members(c, &m, v);
        }
        free(kv);
        free(req);
        return e;
    }
    }
    return -1;
}

/* ---- nodes ---- */

static wg_expr emit_enum(js_ctx *c, js_node *n) {
    wg_expr *alts = malloc((n->n_enum + 1) * sizeof *alts);
    if (!alts) return -1;
    size_t k = 0;
    js_node probe = *n;
    probe.has_enum = false;
    for (size_t i = 0; i < n->n_enum; i++) {
        int ok = js_check(c, &probe, n->enum_vals[i]);
        if (ok < 0 && !js_unsupported(c, n->enum_vals[i],
                                      "cannot decide whether this enum/const value meets its schema's other keywords")) {
            free(alts);
            return -1;
        }
        if (ok != 0) alts[k++] = js_emit_literal(c, n->enum_vals[i]);
    }
    wg_expr e = wg_alt(c->b, alts, k);
    free(alts);
    return e;
}

static wg_expr emit_flat(js_ctx *c, js_node *n) {
    wg_builder *b = c->b;
    js_prune_types(c, n);
    if (n->has_enum) return emit_enum(c, n);
    wg_expr alts[7];
    size_t k = 0;
    if (n->types & JT_NULL) alts[k++] = wg_lit_str(b, "null");
    if (n->types & JT_BOOL) alts[k++] = wg_alt2(b, wg_lit_str(b, "true"), wg_lit_str(b, "false"));
    if (n->types & JT_NUM) alts[k++] = js_emit_number(c, n);
    if (n->types & JT_STR) alts[k++] = js_emit_string(c, n);
    if (n->types & JT_ARR) alts[k++] = js_emit_array(c, n);
    if (n->types & JT_OBJ) alts[k++] = js_emit_object(c, n);
    for (size_t i = 0; i < k; i++)
        if (alts[i] < 0) return -1;
    return wg_alt(b, alts, k);
}

static wg_expr emit_node(js_ctx *c, js_node *n);

wg_expr js_emit(js_ctx *c, js_node *n) {
    if (!js_ok(c) || !js_budget_ok(c)) return -1;
    if (c->depth >= JS_MAX_DEPTH) {
        js_fail(c, n->at, WEFT_ERR_UNSUPPORTED, "schema nesting deeper than %d is not supported", JS_MAX_DEPTH);
        return -1;
    }
    c->depth++;
    wg_expr e = emit_node(c, n);
    c->depth--;
    return e;
}

/* A rule whose body js_emit_pending builds: references (and intersections
 * of references) get their rule at once, so recursion can refer to it,
 * and their body later, in a loop, so a long chain of $refs needs no deep
 * stack. */
static wg_expr defer(js_ctx *c, js_node *n, const char *hint, wg_rule *rule) {
    *rule = wg_rule_fresh(c->b, hint);
    js_pending *p = js_push(c, (void **)&c->pending, &c->n_pending, &c->cap_pending, sizeof *p);
    if (!p) return -1;
    *p = (js_pending){.rule = *rule, .node = n};
    return wg_ref(c->b, *rule);
}

bool js_emit_pending(js_ctx *c) {
    while (c->n_pending && js_ok(c)) {
        js_pending p = c->pending[--c->n_pending];
        js_node *t = p.node->kind == JS_REF ? js_normalize(c, p.node->ref_target) : js_deref(c, p.node);
        wg_expr body = t ? js_emit(c, t) : -1;
        if (body < 0) return false;
        wg_rule_define(c->b, p.rule, body);
    }
    return js_ok(c);
}

static wg_expr emit_node(js_ctx *c, js_node *n) {
    wg_builder *b = c->b;
    if (n->kind == JS_REF) {
        js_memo *m = js_memo_get(c, n->ref_target);
        if (!m) return -1;
        if (m->has_rule) return wg_ref(b, m->rule);
        m->has_rule = true;
        return defer(c, n, "ref", &m->rule);
    }
    if (n->emitted) return n->expr;
    if (n->kind == JS_AND) {
        wg_rule r;
        n->emitted = true;
        return n->expr = defer(c, n, "and", &r);
    }
    if (js_node_is_any(n)) return js_any_value(c);
    wg_expr body;
    if (n->kind == JS_ANYOF) {
        wg_expr *alts = malloc(n->n_alts * sizeof *alts);
        body = alts ? 0 : -1;
        for (size_t i = 0; alts && i < n->n_alts && body >= 0; i++) body = alts[i] = js_emit(c, n->alts[i]);
        if (body >= 0) body = wg_alt(b, alts, n->n_alts);
        free(alts);
    } else {
        body = emit_flat(c, n);
    }
    if (body < 0) return -1;
    wg_rule r = wg_rule_fresh(b, "schema");
    wg_rule_define(b, r, body);
    n->emitted = true;
    n->expr = wg_ref(b, r);
    return n->expr;
}
