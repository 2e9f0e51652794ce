/* Objects (2020-12 Core §10.3.2, Validation §6.5): the members are the
 * declared properties (required or optional), then the required keys that
 * are not declared; other keys, where additionalProperties and
 * patternProperties allow them, form one "extra" member that may repeat.
 * members.c lays them out. */
#include "js_internal.h"

typedef struct member {
    const char *name;
    js_node *schema; /* NULL: any */
    bool required;
} member;

/* key ws ":" ws value ws */
static wg_expr kv(js_ctx *c, wg_expr key, js_node *schema) {
    wg_builder *b = c->b;
    wg_expr v = schema ? js_emit(c, schema) : js_any_value(c);
    wg_expr ws = js_ws(c);
    return wg_seq(b, (wg_expr[]){key, ws, wg_lit_str(b, ":"), ws, v, ws}, 6);
}

#define JS_MAX_PPROPS 4 /* 2^4 regions of keys */

/* propertyNames (Core §10.3.2.4) as parts of a key query: the name
 * schema's patterns must match, its excluded patterns and values must
 * not, its string enum bounds the keys, its lengths bound theirs. False
 * (with the status set, or lenient) if it cannot be said that way. */
static bool name_parts(js_ctx *c, const js_node *pn, const weft_json *at, js_rx_part *parts, js_rx_query *q) {
    const js_str *s = &pn->str;
    if (pn->kind != JS_FLAT || s->format)
        return js_unsupported(c, at, "keyword 'propertyNames' is not supported here (only string lengths, patterns and "
                                     "values)"),
               false;
    for (size_t i = 0; i < s->n_patterns; i++) {
        q->must |= 1u << q->n_parts;
        parts[q->n_parts++] = (js_rx_part){.regex = c->h->json_string(s->patterns[i]), .at = s->patterns[i]};
    }
    for (size_t i = 0; i < s->n_not_patterns; i++) {
        q->must_not |= 1u << q->n_parts;
        parts[q->n_parts++] = (js_rx_part){.regex = c->h->json_string(s->not_patterns[i]), .at = s->not_patterns[i]};
    }
    const char **vals = js_new(c, (s->n_not_in + pn->n_enum + 1) * sizeof *vals);
    if (!vals) return false;
    if (s->n_not_in) {
        for (size_t i = 0; i < s->n_not_in; i++) vals[i] = c->h->json_string(s->not_in[i]);
        q->must_not |= 1u << q->n_parts;
        parts[q->n_parts++] = (js_rx_part){.names = vals, .n_names = s->n_not_in, .at = at};
        vals += s->n_not_in;
    }
    if (pn->has_enum) {
        size_t k = 0;
        for (size_t i = 0; i < pn->n_enum; i++)
            if (c->h->json_type(pn->enum_vals[i]) == WEFT_JSON_STRING) vals[k++] = c->h->json_string(pn->enum_vals[i]);
        q->must |= 1u << q->n_parts;
        parts[q->n_parts++] = (js_rx_part){.names = vals, .n_names = k, .at = at};
    }
    q->min_len = s->min_len;
    q->max_len = s->max_len;
    return true;
}

/* Another key and its value, or -1 when none may appear (-2 on error, the
 * status set). names: every declared or required key. Without
 * patternProperties or propertyNames: any other key, with
 * additionalProperties. Otherwise the keys split into regions by the set T
 * of patterns they match (and none of the names, and each a valid name):
 * region T takes the intersection of those patterns' schemas, the empty T
 * additionalProperties (Core §10.3.2.2-3). */
static wg_expr extra_member(js_ctx *c, js_node *n, const char **names, size_t n_names) {
    const js_obj *o = &n->obj;
    wg_builder *b = c->b;
    bool add_open = !o->additional || !js_unsat(c, o->additional);
    bool all_any = !o->additional || js_node_is_any(o->additional);
    for (size_t i = 0; i < o->n_pprops; i++) all_any &= js_node_is_any(o->pprops[i].schema);
    js_node *pn = o->names ? js_deref(c, o->names) : NULL;
    if (o->names && !pn) return -2;
    if (pn && js_node_is_any(pn)) pn = NULL;
    if (pn && !(pn->types & JT_STR)) return -1; /* no name is valid */
    if ((o->n_pprops == 0 || all_any) && !pn) {
        if (!add_open) return -1;
        return kv(c, js_string_not_in(c, names, n_names, n->at), o->n_pprops ? NULL : o->additional);
    }
    size_t k = all_any ? 0 : o->n_pprops;
    if (k > JS_MAX_PPROPS) {
        if (!js_unsupported(c, o->pprops[JS_MAX_PPROPS].at, "more than %d 'patternProperties' are not supported",
                            JS_MAX_PPROPS))
            return -2;
        k = JS_MAX_PPROPS; /* lenient: the others are ignored */
    }
    js_rx_part parts[JS_MAX_PPROPS + 8];
    for (size_t i = 0; i < k; i++) parts[i] = (js_rx_part){.regex = o->pprops[i].regex, .at = o->pprops[i].at};
    js_rx_query base = {.parts = parts, .n_parts = k, .max_len = JS_NO_MAX};
    if (n_names) {
        base.must_not |= 1u << base.n_parts;
        parts[base.n_parts++] = (js_rx_part){.names = names, .n_names = n_names, .at = n->at};
    }
    bool named = pn && pn->str.n_patterns + pn->str.n_not_patterns <= 6 && name_parts(c, pn, o->names_at, parts, &base);
    if (pn && !named) {
        if (js_ok(c) && !js_unsupported(c, o->names_at, "keyword 'propertyNames' is not supported here (too many patterns)"))
            return -2;
        if (!js_ok(c)) return -2;
        return kv(c, js_string_not_in(c, names, n_names, n->at), NULL); /* lenient: ignored */
    }
    uint32_t all = (1u << k) - 1;
    wg_expr alts[1 << JS_MAX_PPROPS];
    size_t na = 0;
    for (uint32_t t = 0; t <= all; t++) {
        js_node *value = t ? NULL : o->additional;
        if (!t && !add_open) continue;
        for (size_t i = 0; i < k; i++)
            if (t >> i & 1 && !(value = value ? js_intersect(c, value, o->pprops[i].schema) : o->pprops[i].schema))
                return -2;
        if (value && js_unsat(c, value)) continue;
        js_rx_query q = base;
        q.must |= t;
        q.must_not |= all & ~t;
        bool empty = false;
        wg_expr key = js_rx_combine(c, &q, n->at, &empty);
        if (key < 0) return -2;
        if (empty) continue;
        wg_expr q2 = wg_lit_str(b, "\"");
        alts[na++] = kv(c, wg_seq(b, (wg_expr[]){q2, key, q2}, 3), value);
    }
    return na ? wg_alt(b, alts, na) : -1;
}

wg_expr js_emit_object(js_ctx *c, js_node *n) {
    const js_obj *o = &n->obj;
    wg_builder *b = c->b;
    size_t cap = o->n_props + o->n_required;
    member *m = malloc((cap + 1) * sizeof *m);
    const char **names = malloc((cap + 1) * sizeof *names);
    wg_expr *kvs = malloc((cap + 1) * sizeof *kvs);
    bool *req = malloc((cap + 1) * sizeof *req);
    wg_expr result = -1;
    size_t n_m = 0, n_names = 0;
    if (!m || !names || !kvs || !req) goto done;
    /* declared properties, then required keys that are not declared */
    for (size_t i = 0; i < o->n_props; i++) {
        const js_prop *p = &o->props[i];
        bool r = false;
        for (size_t j = 0; j < o->n_required && !r; j++) r = strcmp(o->required[j], p->name) == 0;
        names[n_names++] = p->name;
        int named = o->names ? js_check_string(c, o->names, p->name) : 1;
        if (named < 0 && !js_unsupported(c, o->names_at, "cannot decide whether '%s' is a valid property name", p->name))
            goto done;
        if (named == 0 || js_unsat(c, p->schema)) { /* the key may not appear */
            if (r) {
                result = wg_nothing(b);
                goto done;
            }
            continue;
        }
        m[n_m++] = (member){p->name, p->schema, r};
    }
    for (size_t j = 0; j < o->n_required; j++) {
        bool declared = false;
        for (size_t i = 0; i < n_names && !declared; i++) declared = strcmp(names[i], o->required[j]) == 0;
        if (declared) continue;
        js_node *s;
        if (!js_undeclared_rule(c, o, o->required[j], &s)) goto done;
        int named = o->names ? js_check_string(c, o->names, o->required[j]) : 1;
        if (named < 0 &&
            !js_unsupported(c, o->names_at, "cannot decide whether '%s' is a valid property name", o->required[j]))
            goto done;
        if (named == 0 || (s && js_unsat(c, s))) {
            result = wg_nothing(b);
            goto done;
        }
        names[n_names++] = o->required[j];
        m[n_m++] = (member){o->required[j], s, true};
    }
    js_members mm = {.kv = kvs, .required = req, .n = n_m, .min = o->min_props, .max = o->max_props};
    mm.extra = extra_member(c, n, names, n_names);
    if (mm.extra == -2 || !js_ok(c)) goto done;
    if (mm.extra >= 0) { /* one rule, referred to from every place it may occur */
        wg_rule r = wg_rule_fresh(b, "extra");
        wg_rule_define(b, r, mm.extra);
        mm.extra = wg_ref(b, r);
    }
    /* counts that every instance meets need no counting */
    size_t n_req = 0;
    for (size_t i = 0; i < n_m; i++) n_req += m[i].required;
    if (mm.min <= n_req) mm.min = 0;
    if (mm.extra < 0 && mm.max >= n_m) mm.max = JS_NO_MAX;
    for (size_t i = 0; i < n_m; i++) {
        kvs[i] = kv(c, js_string_literal(c, m[i].name), m[i].schema);
        req[i] = m[i].required;
    }
    result = js_emit_members(c, &mm, n->at);
done:
    if (result < 0 && js_ok(c)) js_fail(c, n->at, WEFT_ERR_NOMEM, "out of memory");
    free(m);
    free(names);
    free(kvs);
    free(req);
    return js_ok(c) ? result : -1;
}
