/* allOf as intersection, anyOf as union, and the satisfiability test behind
 * oneOf. An instance is valid against allOf iff it is valid against every
 * branch (2020-12 Core §10.2.1.1); since each keyword constrains one type,
 * intersecting two flat nodes intersects their type sets and combines their
 * per-type constraints. Unions distribute over intersections. Where two
 * constraints cannot be combined exactly, the compilation fails closed.
 *
 * Invariant of a flat node (kept by js_finalize_props and js_intersect):
 * props[k] is the whole constraint on the value of a declared key k;
 * patternProperties and additionalProperties constrain only other keys. */
#include <math.h>

#include "js_internal.h"

static js_node *isect_opt(js_ctx *c, js_node *x, js_node *y) {
    if (!x) return y;
    if (!y) return x;
    return js_intersect(c, x, y);
}

/* multipleOf of both: the least common multiple when both are integers. */
static bool merge_multiple(js_ctx *c, js_num *d, const js_num *b, const js_node *at) {
    if (!b->multiple_of) return true;
    if (!d->multiple_of || d->multiple_of == b->multiple_of) {
        d->multiple_of = b->multiple_of;
        d->multiple_of_at = b->multiple_of_at;
        return true;
    }
    double x = d->multiple_of, y = b->multiple_of;
    double hi = x > y ? x : y, lo = x > y ? y : x;
    if (js_is_integral(hi / lo)) { /* one divides the other */
        d->multiple_of = hi;
        return true;
    }
    if (js_is_integral(x) && js_is_integral(y)) {
        double a = x, g = y;
        while (g != 0) {
            double t = fmod(a, g);
            a = g;
            g = t;
        }
        double l = x / a * y;
        if (l < 9007199254740992.0) {
            d->multiple_of = l;
            return true;
        }
    }
    return js_unsupported(c, at->at, "'multipleOf' %g and %g together are not supported", x, y);
}

/* The intersection of the patternProperties schemas whose regex matches
 * name (*out NULL: none matches). */
static bool pattern_rule(js_ctx *c, const js_obj *o, const char *name, js_node **out, bool *matched) {
    *out = NULL;
    *matched = false;
    for (size_t i = 0; i < o->n_pprops; i++) {
        int m = js_regex_test(c, o->pprops[i].regex, name);
        if (m < 0 && !js_unsupported(c, o->pprops[i].at, "cannot decide whether property '%s' matches this pattern", name))
            return false;
        if (m == 1) {
            *matched = true;
            if (!(*out = isect_opt(c, *out, o->pprops[i].schema))) return false;
        }
    }
    return true;
}

bool js_undeclared_rule(js_ctx *c, const js_obj *o, const char *name, js_node **out) {
    bool matched;
    if (!pattern_rule(c, o, name, out, &matched)) return false;
    if (!matched) *out = o->additional;
    return true;
}

bool js_finalize_props(js_ctx *c, js_node *n) {
    js_obj *o = &n->obj;
    for (size_t i = 0; i < o->n_props && o->n_pprops; i++) {
        js_node *extra;
        bool matched;
        if (!pattern_rule(c, o, o->props[i].name, &extra, &matched)) return false;
        if (extra && !(o->props[i].schema = js_intersect(c, o->props[i].schema, extra))) return false;
    }
    return true;
}

static const js_prop *find_prop(const js_obj *o, const char *name) {
    for (size_t i = 0; i < o->n_props; i++)
        if (strcmp(o->props[i].name, name) == 0) return &o->props[i];
    return NULL;
}

static bool merge_obj(js_ctx *c, js_node *dn, const js_obj *a, const js_obj *b) {
    js_obj *d = &dn->obj;
    size_t cap = a->n_props + b->n_props;
    d->props = js_new(c, (cap ? cap : 1) * sizeof *d->props);
    if (!d->props) return false;
    d->n_props = 0;
    for (int side = 0; side < 2; side++) {
        const js_obj *x = side ? b : a, *y = side ? a : b;
        for (size_t i = 0; i < x->n_props; i++) {
            const js_prop *p = &x->props[i], *q = find_prop(y, p->name);
            if (side && q) continue; /* merged from a's side */
            js_node *other;
            if (q)
                other = q->schema;
            else if (!js_undeclared_rule(c, y, p->name, &other))
                return false;
            js_prop *r = &d->props[d->n_props++];
            *r = *p;
            if (!(r->schema = isect_opt(c, p->schema, other))) return false;
        }
    }
    /* required: the union */
    d->required = js_new(c, (a->n_required + b->n_required + 1) * sizeof *d->required);
    if (!d->required) return false;
    d->n_required = 0;
    for (int side = 0; side < 2; side++) {
        const js_obj *x = side ? b : a;
        for (size_t i = 0; i < x->n_required; i++) {
            bool dup = false;
            for (size_t j = 0; j < d->n_required && !dup; j++) dup = strcmp(d->required[j], x->required[i]) == 0;
            if (!dup) d->required[d->n_required++] = x->required[i];
        }
    }
    d->required_at = a->required_at ? a->required_at : b->required_at;
    /* other keys: patterns of one side meet the other side's additional */
    if (a->n_pprops && b->n_pprops && (a->additional || b->additional)) {
        if (!js_unsupported(c, dn->at, "'patternProperties' in two intersected schemas with 'additionalProperties' "
                                       "is not supported"))
            return false;
    }
    d->n_pprops = a->n_pprops + b->n_pprops;
    d->pprops = js_new(c, (d->n_pprops ? d->n_pprops : 1) * sizeof *d->pprops);
    if (!d->pprops) return false;
    for (size_t i = 0; i < d->n_pprops; i++) {
        bool from_a = i < a->n_pprops;
        const js_pprop *p = from_a ? &a->pprops[i] : &b->pprops[i - a->n_pprops];
        d->pprops[i] = *p;
        js_node *other_add = from_a ? b->additional : a->additional;
        if (!(d->pprops[i].schema = isect_opt(c, p->schema, other_add))) return false;
    }
    d->additional = isect_opt(c, a->additional, b->additional);
    if ((a->additional || b->additional) && !d->additional) return false;
    d->additional_at = a->additional_at ? a->additional_at : b->additional_at;
    d->names = isect_opt(c, a->names, b->names);
    if ((a->names || b->names) && !d->names) return false;
    d->names_at = a->names_at ? a->names_at : b->names_at;
    if (b->min_props > d->min_props) d->min_props = b->min_props;
    if (b->max_props < d->max_props) d->max_props = b->max_props;
    return true;
}

static bool merge_arr(js_ctx *c, js_arr *d, const js_arr *a, const js_arr *b) {
    size_t n = a->n_prefix > b->n_prefix ? a->n_prefix : b->n_prefix;
    d->n_prefix = n;
    d->prefix = js_new(c, (n ? n : 1) * sizeof *d->prefix);
    if (!d->prefix) return false;
    for (size_t i = 0; i < n; i++) {
        js_node *x = i < a->n_prefix ? a->prefix[i] : a->items;
        js_node *y = i < b->n_prefix ? b->prefix[i] : b->items;
        if (!(d->prefix[i] = isect_opt(c, x, y))) return false;
    }
    d->items = isect_opt(c, a->items, b->items);
    if ((a->items || b->items) && !d->items) return false;
    if (b->min_items > d->min_items) d->min_items = b->min_items;
    if (b->max_items < d->max_items) d->max_items = b->max_items;
    if (b->unique) {
        d->unique = true;
        d->unique_at = b->unique_at;
    }
    return true;
}

static bool merge_str(js_ctx *c, js_node *dn, const js_str *b) {
    js_str *d = &dn->str;
    if (b->min_len > d->min_len) d->min_len = b->min_len;
    if (b->max_len < d->max_len) d->max_len = b->max_len;
    if (b->format && d->format && b->format != d->format && (dn->types & JT_STR) &&
        !js_unsupported(c, b->format_at, "two different 'format's on one string are not supported"))
        return false;
    if (b->format && !d->format) {
        d->format = b->format;
        d->format_at = b->format_at;
    }
    const weft_json **p = js_new(c, (d->n_patterns + b->n_patterns + 1) * sizeof *p);
    const weft_json **q = js_new(c, (d->n_not_in + b->n_not_in + 1) * sizeof *q);
    const weft_json **r = js_new(c, (d->n_not_patterns + b->n_not_patterns + 1) * sizeof *r);
    if (!p || !q || !r) return false;
    if (d->n_not_patterns) memcpy(r, d->not_patterns, d->n_not_patterns * sizeof *r);
    if (b->n_not_patterns) memcpy(r + d->n_not_patterns, b->not_patterns, b->n_not_patterns * sizeof *r);
    d->not_patterns = r;
    d->n_not_patterns += b->n_not_patterns;
    if (d->n_patterns) memcpy(p, d->patterns, d->n_patterns * sizeof *p);
    if (b->n_patterns) memcpy(p + d->n_patterns, b->patterns, b->n_patterns * sizeof *p);
    if (d->n_not_in) memcpy(q, d->not_in, d->n_not_in * sizeof *q);
    if (b->n_not_in) memcpy(q + d->n_not_in, b->not_in, b->n_not_in * sizeof *q);
    d->patterns = p;
    d->n_patterns += b->n_patterns;
    d->not_in = q;
    d->n_not_in += b->n_not_in;
    return true;
}

static js_node *merge_flat(js_ctx *c, const js_node *a, const js_node *b) {
    js_node *d = js_node_copy(c, a);
    if (!d) return NULL;
    d->types = a->types & b->types;
    js_num *u = &d->num;
    u->integer = a->num.integer || b->num.integer;
    u->non_integer = a->num.non_integer || b->num.non_integer;
    if (b->num.has_lo) js_num_lo(u, b->num.lo, b->num.lo_excl);
    if (b->num.has_hi) js_num_hi(u, b->num.hi, b->num.hi_excl);
    if ((d->types & JT_NUM) && !merge_multiple(c, u, &b->num, b)) return NULL;
    if (!merge_str(c, d, &b->str)) return NULL;
    if (!merge_arr(c, &d->arr, &a->arr, &b->arr)) return NULL;
    if (!merge_obj(c, d, &a->obj, &b->obj)) return NULL;
    if (b->has_enum && !js_restrict_enum(c, d, b->enum_vals, b->n_enum)) return NULL;
    return d;
}

static bool is_nothing(const js_node *n) { return n->kind == JS_FLAT && n->types == 0; }

/* The intersection of two references stays lazy, one node per pair of
 * targets: resolving it at once could meet a schema still being
 * normalized, and intersecting two recursive schemas would unfold forever.
 * Emission gives the node one rule, which recursion then refers to. */
static js_node *and_of_refs(js_ctx *c, js_node *a, js_node *b) {
    if (a->ref_target == b->ref_target) return a;
    if ((uintptr_t)a->ref_target > (uintptr_t)b->ref_target) {
        js_node *t = a;
        a = b, b = t;
    }
    for (size_t i = 0; i < c->n_ands; i++) {
        js_node *x = c->ands[i];
        if (x->alts[0]->ref_target == a->ref_target && x->alts[1]->ref_target == b->ref_target) return x;
    }
    js_node *x = js_node_new(c, a->at, JS_AND);
    js_node **slot = x ? js_push(c, (void **)&c->ands, &c->n_ands, &c->cap_ands, sizeof *slot) : NULL;
    if (!slot || !(x->alts = js_new(c, 2 * sizeof *x->alts))) return NULL;
    x->alts[0] = a, x->alts[1] = b, x->n_alts = 2;
    return *slot = x;
}

js_node *js_intersect(js_ctx *c, js_node *a, js_node *b) {
    /* before resolving references: a reference may be under normalization */
    if (is_nothing(a) || js_node_is_any(b)) return a;
    if (is_nothing(b) || js_node_is_any(a)) return b;
    if (a->kind == JS_REF && b->kind == JS_REF) return and_of_refs(c, a, b);
    if (!(a = js_deref(c, a)) || !(b = js_deref(c, b))) return NULL;
    if (js_node_is_any(a)) return b;
    if (js_node_is_any(b)) return a;
    if (c->depth >= JS_MAX_DEPTH) {
        js_fail(c, a->at, WEFT_ERR_UNSUPPORTED, "schema nesting deeper than %d is not supported", JS_MAX_DEPTH);
        return NULL;
    }
    c->depth++;
    js_node *r;
    if (a->kind == JS_ANYOF || b->kind == JS_ANYOF) {
        /* (x1 | x2) & y = (x1 & y) | (x2 & y) */
        js_node *u = a->kind == JS_ANYOF ? a : b, *y = u == a ? b : a;
        c->n_alts_made += u->n_alts;
        if (c->n_alts_made > JS_MAX_ALTS) {
            js_unsupported(c, u->at, "combining these anyOf/oneOf gives more than %d alternatives", JS_MAX_ALTS);
            c->depth--;
            return NULL;
        }
        js_node **alts = js_new(c, u->n_alts * sizeof *alts);
        r = alts ? u : NULL;
        for (size_t i = 0; r && i < u->n_alts; i++)
            if (!(alts[i] = js_intersect(c, u->alts[i], y))) r = NULL;
        if (r) r = js_union(c, alts, u->n_alts, u->at);
    } else {
        r = merge_flat(c, a, b);
    }
    c->depth--;
    return r;
}

js_node *js_union(js_ctx *c, js_node **alts, size_t n, const weft_json *at) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += alts[i]->kind == JS_ANYOF ? alts[i]->n_alts : 1;
    js_node **flat = js_new(c, (total ? total : 1) * sizeof *flat);
    if (!flat) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        js_node *x = alts[i];
        size_t m = x->kind == JS_ANYOF ? x->n_alts : 1;
        for (size_t j = 0; j < m; j++) {
            js_node *y = x->kind == JS_ANYOF ? x->alts[j] : x;
            if (js_node_is_any(y)) return y;
            if (y->kind == JS_FLAT && js_unsat(c, y)) continue; /* an impossible branch */
            flat[k++] = y;
        }
    }
    if (k == 0) return js_node_nothing(c, at);
    if (k == 1) return flat[0];
    js_node *u = js_node_new(c, at, JS_ANYOF);
    if (!u) return NULL;
    u->alts = flat;
    u->n_alts = k;
    return u;
}

/* ---- satisfiability ---- */

static bool num_empty(const js_num *u) {
    if (u->integer && u->non_integer) return true;
    if (!u->has_lo || !u->has_hi) return false;
    double lo = u->lo, hi = u->hi;
    if (lo > hi || (lo == hi && (u->lo_excl || u->hi_excl))) return true;
    if (!u->integer) return false;
    double ilo = u->lo_excl && js_is_integral(lo) ? lo + 1 : ceil(lo);
    double ihi = u->hi_excl && js_is_integral(hi) ? hi - 1 : floor(hi);
    return ilo > ihi;
}

/* Unsat detection recurses into required members and prefix items: a
 * bounded depth keeps it cheap on recursive schemas. */
static bool unsat_depth(js_ctx *c, js_node *n, int depth);

static bool child_unsat(js_ctx *c, js_node *n, int depth) {
    if (!n) return false;
    if (n->kind == JS_REF || n->kind == JS_AND) {
        if (!c->probing) return false; /* resolving may fail: only while probing */
        n = js_deref(c, n);
        if (!n) return false;
    }
    return unsat_depth(c, n, depth + 1);
}

static bool obj_empty(js_ctx *c, js_node *n, int depth) {
    const js_obj *o = &n->obj;
    if (o->min_props > o->max_props) return true;
    for (size_t i = 0; i < o->n_required; i++) {
        const js_prop *p = find_prop(o, o->required[i]);
        if (p ? child_unsat(c, p->schema, depth) : (!o->n_pprops && child_unsat(c, o->additional, depth)))
            return true;
    }
    /* keys that may appear cannot reach minProperties */
    if (o->min_props > 0 && !o->n_pprops && o->additional && child_unsat(c, o->additional, depth)) {
        uint64_t possible = 0;
        for (size_t i = 0; i < o->n_props; i++) possible += !child_unsat(c, o->props[i].schema, depth);
        if (possible < o->min_props) return true;
    }
    return false;
}

static bool arr_empty(js_ctx *c, js_node *n, int depth) {
    const js_arr *a = &n->arr;
    if (a->min_items > a->max_items) return true;
    for (size_t i = 0; i < a->n_prefix && i < a->min_items; i++)
        if (child_unsat(c, a->prefix[i], depth)) return true;
    if (a->min_items > a->n_prefix && child_unsat(c, a->items, depth)) return true;
    return false;
}

static void prune(js_ctx *c, js_node *n, int depth) {
    if (n->kind != JS_FLAT) return;
    if ((n->types & JT_NUM) && num_empty(&n->num)) n->types &= ~(unsigned)JT_NUM;
    if (n->types & JT_STR) {
        const js_str *s = &n->str;
        uint64_t fmin = 0, fmax = JS_NO_MAX;
        if (s->format) js_format_lengths(s->format, &fmin, &fmax);
        if (s->min_len > s->max_len || fmin > s->max_len || s->min_len > fmax) n->types &= ~(unsigned)JT_STR;
    }
    if (depth < 8) {
        if ((n->types & JT_ARR) && arr_empty(c, n, depth)) n->types &= ~(unsigned)JT_ARR;
        if ((n->types & JT_OBJ) && obj_empty(c, n, depth)) n->types &= ~(unsigned)JT_OBJ;
    }
    if (n->has_enum) {
        /* the values of other types, or failing the constraints, go */
        js_node probe = *n;
        probe.has_enum = false;
        size_t k = 0;
        unsigned types = 0;
        for (size_t i = 0; i < n->n_enum; i++) {
            if (js_check(c, &probe, n->enum_vals[i]) == 0) continue;
            n->enum_vals[k++] = n->enum_vals[i];
            switch (c->h->json_type(n->enum_vals[i])) {
            case WEFT_JSON_NULL: types |= JT_NULL; break;
            case WEFT_JSON_BOOL: types |= JT_BOOL; break;
            case WEFT_JSON_NUMBER: types |= JT_NUM; break;
            case WEFT_JSON_STRING: types |= JT_STR; break;
            case WEFT_JSON_ARRAY: types |= JT_ARR; break;
            case WEFT_JSON_OBJECT: types |= JT_OBJ; break;
            }
        }
        n->n_enum = k;
        n->types &= types;
    }
}

void js_prune_types(js_ctx *c, js_node *n) { prune(c, n, 0); }

static bool unsat_depth(js_ctx *c, js_node *n, int depth) {
    switch (n->kind) {
    case JS_REF:
    case JS_AND: return child_unsat(c, n, depth);
    case JS_ANYOF:
        for (size_t i = 0; i < n->n_alts; i++)
            if (!unsat_depth(c, n->alts[i], depth + 1)) return false;
        return true;
    case JS_FLAT: prune(c, n, depth); return n->types == 0;
    }
    return false;
}

bool js_unsat(js_ctx *c, js_node *n) { return unsat_depth(c, n, 0); }
