/* Validation of literal values (enum and const members) against a node, so
 * that enum values failing their sibling keywords are left out of the
 * grammar. Three-valued: a constraint this file cannot evaluate (a format)
 * gives "unknown", and the caller fails closed. */
#include <math.h>

#include "js_internal.h"

static unsigned type_of(const js_ctx *c, const weft_json *v) {
    switch (c->h->json_type(v)) {
    case WEFT_JSON_NULL: return JT_NULL;
    case WEFT_JSON_BOOL: return JT_BOOL;
    case WEFT_JSON_NUMBER: return JT_NUM;
    case WEFT_JSON_STRING: return JT_STR;
    case WEFT_JSON_ARRAY: return JT_ARR;
    case WEFT_JSON_OBJECT: return JT_OBJ;
    }
    return 0;
}

/* Conjunction of three-valued results: no beats unknown beats yes. */
static int and3(int a, int b) { return a == 0 || b == 0 ? 0 : (a < 0 || b < 0 ? -1 : 1); }

static int check_opt(js_ctx *c, js_node *n, const weft_json *v) { return n ? js_check(c, n, v) : 1; }

static int check_num(const js_num *u, double x) {
    if (u->integer && !js_is_integral(x)) return 0;
    if (u->non_integer && js_is_integral(x)) return 0;
    if (u->has_lo && (x < u->lo || (u->lo_excl && x == u->lo))) return 0;
    if (u->has_hi && (x > u->hi || (u->hi_excl && x == u->hi))) return 0;
    if (u->multiple_of != 0) {
        if (!js_is_integral(u->multiple_of) || !js_is_integral(x)) return -1; /* float rounding */
        return fmod(x, u->multiple_of) == 0;
    }
    return 1;
}

static int check_str(js_ctx *c, const js_str *t, const char *s) {
    uint64_t len = js_utf8_length(s);
    if (len < t->min_len || len > t->max_len) return 0;
    for (size_t i = 0; i < t->n_not_in; i++)
        if (strcmp(c->h->json_string(t->not_in[i]), s) == 0) return 0;
    int r = t->format ? -1 : 1;
    for (size_t i = 0; i < t->n_patterns; i++) r = and3(r, js_regex_test(c, c->h->json_string(t->patterns[i]), s));
    for (size_t i = 0; i < t->n_not_patterns; i++) {
        int m = js_regex_test(c, c->h->json_string(t->not_patterns[i]), s);
        r = and3(r, m < 0 ? -1 : !m);
    }
    return r;
}

static int check_arr(js_ctx *c, const js_arr *a, const weft_json *v) {
    const weft_host *h = c->h;
    size_t n = h->json_count(v);
    if (n < a->min_items || n > a->max_items) return 0;
    int r = 1;
    for (size_t i = 0; i < n && r != 0; i++)
        r = and3(r, check_opt(c, i < a->n_prefix ? a->prefix[i] : a->items, h->json_item(v, i)));
    for (size_t i = 0; a->unique && i < n && r != 0; i++) /* §6.4.3 */
        for (size_t j = i + 1; j < n; j++)
            if (js_json_equal(c, h->json_item(v, i), h->json_item(v, j))) return 0;
    return r;
}

static int check_obj(js_ctx *c, const js_obj *o, const weft_json *v) {
    const weft_host *h = c->h;
    size_t n = h->json_count(v);
    if (n < o->min_props || n > o->max_props) return 0;
    for (size_t i = 0; i < o->n_required; i++)
        if (!h->json_get(v, o->required[i])) return 0;
    int r = 1;
    for (size_t i = 0; i < n && r != 0; i++) {
        const char *key = h->json_key(v, i);
        const weft_json *x = h->json_item(v, i);
        const js_prop *p = NULL;
        for (size_t j = 0; j < o->n_props && !p; j++)
            if (strcmp(o->props[j].name, key) == 0) p = &o->props[j];
        if (p) { /* the whole constraint of a declared key (intersect.c) */
            r = and3(r, js_check(c, p->schema, x));
            continue;
        }
        if (o->names) r = and3(r, js_check_string(c, o->names, key));
        bool matched = false;
        for (size_t j = 0; j < o->n_pprops; j++) {
            int m = js_regex_test(c, o->pprops[j].regex, key);
            if (m == 1) r = and3(r, js_check(c, o->pprops[j].schema, x));
            r = and3(r, m < 0 ? -1 : 1);
            matched |= m != 0;
        }
        if (!matched) r = and3(r, check_opt(c, o->additional, x));
    }
    return r;
}

int js_check(js_ctx *c, js_node *n, const weft_json *v) {
    if (c->depth >= JS_MAX_DEPTH) return -1;
    if ((n->kind == JS_REF || n->kind == JS_AND) && !(n = js_deref(c, n))) return -1;
    if (n->kind == JS_ANYOF) {
        int r = 0;
        for (size_t i = 0; i < n->n_alts && r != 1; i++) {
            int x = js_check(c, n->alts[i], v);
            r = x == 1 ? 1 : (x < 0 ? -1 : r);
        }
        return r;
    }
    unsigned t = type_of(c, v);
    if (!(n->types & t)) return 0;
    if (n->has_enum) {
        bool in = false;
        for (size_t i = 0; i < n->n_enum && !in; i++) in = js_json_equal(c, v, n->enum_vals[i]);
        if (!in) return 0;
    }
    c->depth++;
    int r = 1;
    switch (t) {
    case JT_NUM: r = check_num(&n->num, c->h->json_number(v)); break;
    case JT_STR: r = check_str(c, &n->str, c->h->json_string(v)); break;
    case JT_ARR: r = check_arr(c, &n->arr, v); break;
    case JT_OBJ: r = check_obj(c, &n->obj, v); break;
    default: break;
    }
    c->depth--;
    return r;
}

int js_check_string(js_ctx *c, js_node *n, const char *s) {
    if (c->depth >= JS_MAX_DEPTH || !(n = js_deref(c, n))) return -1;
    if (n->kind == JS_ANYOF) {
        int r = 0;
        for (size_t i = 0; i < n->n_alts && r != 1; i++) {
            int x = js_check_string(c, n->alts[i], s);
            r = x == 1 ? 1 : (x < 0 ? -1 : r);
        }
        return r;
    }
    if (!(n->types & JT_STR)) return 0;
    if (n->has_enum) {
        bool in = false;
        for (size_t i = 0; i < n->n_enum && !in; i++)
            in = c->h->json_type(n->enum_vals[i]) == WEFT_JSON_STRING && strcmp(c->h->json_string(n->enum_vals[i]), s) == 0;
        if (!in) return 0;
    }
    return check_str(c, &n->str, s);
}
