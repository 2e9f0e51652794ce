/* `not` (2020-12 Core §10.2.1.4) where the complement is again a node. A
 * flat node's constraint c on type t leaves the other types alone, so
 *   not(T and c1 and c2 ...) = (all types but T) or (t1 and not c1) or ...
 * and each constraint here has a representable complement: a bound flips
 * (minimum x -> exclusive maximum x), required [k] becomes "k absent",
 * properties {k: S} becomes "k present and not S", an enum of strings
 * becomes "strings outside it", a pattern "no match of the pattern".
 * "integer" becomes "a nonzero fractional part". Formats, multipleOf,
 * items, patternProperties and additionalProperties have none: NULL, and
 * the caller fails closed. */
#include "js_internal.h"

typedef struct terms {
    js_node **t;
    size_t n, cap;
} terms;

/* A term "every type outside n's, and type t with one constraint". */
static js_node *term(js_ctx *c, terms *ts, const js_node *n, unsigned t, const weft_json *at) {
    js_node *r = js_node_any(c, at);
    js_node **slot = r ? js_push(c, (void **)&ts->t, &ts->n, &ts->cap, sizeof *slot) : NULL;
    if (!slot) return NULL;
    r->types = (JT_ALL & ~n->types) | t;
    *slot = r;
    return r;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* not(enum): the values of the enum that n accepts form a finite set V.
 * Its complement: every other type, strings outside V's strings, and the
 * open intervals between V's numbers; representable when V holds no array
 * or object, and both booleans or neither. */
static js_node *negate_values(js_ctx *c, js_node *n, const weft_json *at) {
    const weft_host *h = c->h;
    js_node *r = js_node_any(c, at);
    double *nums = js_new(c, (n->n_enum + 1) * sizeof *nums);
    if (!r || !nums || !(r->str.not_in = js_new(c, (n->n_enum + 1) * sizeof *r->str.not_in))) return NULL;
    js_node probe = *n;
    probe.has_enum = false;
    int bools = 0;
    size_t k = 0;
    for (size_t i = 0; i < n->n_enum; i++) {
        const weft_json *v = n->enum_vals[i];
        int in = js_check(c, &probe, v);
        if (in < 0) return NULL;
        if (in == 0) continue;
        switch (h->json_type(v)) {
        case WEFT_JSON_NULL: r->types &= ~(unsigned)JT_NULL; break;
        case WEFT_JSON_BOOL: bools |= h->json_bool(v) ? 1 : 2; break;
        case WEFT_JSON_STRING: r->str.not_in[r->str.n_not_in++] = v; break;
        case WEFT_JSON_NUMBER: nums[k++] = h->json_number(v); break;
        default: return NULL; /* arrays, objects */
        }
    }
    if (bools == 3) r->types &= ~(unsigned)JT_BOOL;
    else if (bools) return NULL;
    if (k == 0) return r;
    /* numbers: (-inf, v1) (v1, v2) ... (vk, inf), as separate terms */
    qsort(nums, k, sizeof *nums, cmp_double);
    r->types &= ~(unsigned)JT_NUM;
    terms ts = {0};
    js_node **slot = js_push(c, (void **)&ts.t, &ts.n, &ts.cap, sizeof *slot);
    if (!slot) return NULL;
    *slot = r;
    for (size_t i = 0; i <= k; i++) {
        if (i > 0 && i < k && nums[i] == nums[i - 1]) continue;
        js_node *iv = js_node_any(c, at);
        if (!iv || !(slot = js_push(c, (void **)&ts.t, &ts.n, &ts.cap, sizeof *slot))) return NULL;
        iv->types = JT_NUM;
        if (i > 0) js_num_lo(&iv->num, nums[i - 1], true);
        if (i < k) js_num_hi(&iv->num, nums[i], true);
        *slot = iv;
    }
    return js_union(c, ts.t, ts.n, at);
}

static js_node *negate_flat(js_ctx *c, js_node *n, const weft_json *at) {
    if (n->has_enum) return negate_values(c, n, at);
    const unsigned T = n->types;
    const js_num *u = &n->num;
    const js_str *s = &n->str;
    const js_arr *a = &n->arr;
    const js_obj *o = &n->obj;
    /* constraints without a representable complement */
    if ((T & JT_NUM) && u->multiple_of) return NULL;
    if ((T & JT_STR) && s->format) return NULL;
    if ((T & JT_ARR) && (a->n_prefix || a->items || a->unique)) return NULL;
    if ((T & JT_OBJ) && (o->n_pprops || o->additional || o->names)) return NULL;
    terms ts = {0};
    js_node *r;
    /* not(T and c1 and c2 ...) = (not T) or (t1 and not c1) or ... */
    if (!term(c, &ts, n, 0, at)) return NULL;
    if (T & JT_NUM) {
        /* integer <-> a nonzero fractional part: complements of each other */
        if (u->integer && (r = term(c, &ts, n, JT_NUM, at))) r->num.non_integer = true;
        if (u->non_integer && (r = term(c, &ts, n, JT_NUM, at))) r->num.integer = true;
        if (u->has_lo && (r = term(c, &ts, n, JT_NUM, at))) js_num_hi(&r->num, u->lo, !u->lo_excl);
        if (u->has_hi && (r = term(c, &ts, n, JT_NUM, at))) js_num_lo(&r->num, u->hi, !u->hi_excl);
    }
    if (T & JT_STR) {
        if (s->min_len && (r = term(c, &ts, n, JT_STR, at))) r->str.max_len = s->min_len - 1;
        if (s->max_len != JS_NO_MAX && (r = term(c, &ts, n, JT_STR, at))) r->str.min_len = s->max_len + 1;
        /* pattern P <-> no match of P: exact complements of each other */
        for (size_t i = 0; i < s->n_patterns; i++) {
            if (!(r = term(c, &ts, n, JT_STR, at)) || !(r->str.not_patterns = js_new(c, sizeof *r->str.not_patterns)))
                return NULL;
            r->str.not_patterns[r->str.n_not_patterns++] = s->patterns[i];
        }
        for (size_t i = 0; i < s->n_not_patterns; i++) {
            if (!(r = term(c, &ts, n, JT_STR, at)) || !(r->str.patterns = js_new(c, sizeof *r->str.patterns))) return NULL;
            r->str.patterns[r->str.n_patterns++] = s->not_patterns[i];
        }
        if (s->n_not_in) {
            /* strings in the set: an enum, which excludes every other type */
            if (T != JT_ALL || !(r = term(c, &ts, n, JT_STR, at)) ||
                !js_restrict_enum(c, r, s->not_in, s->n_not_in))
                return NULL;
        }
    }
    if (T & JT_ARR) {
        if (a->min_items && (r = term(c, &ts, n, JT_ARR, at))) r->arr.max_items = a->min_items - 1;
        if (a->max_items != JS_NO_MAX && (r = term(c, &ts, n, JT_ARR, at))) r->arr.min_items = a->max_items + 1;
    }
    if (T & JT_OBJ) {
        if (o->min_props && (r = term(c, &ts, n, JT_OBJ, at))) r->obj.max_props = o->min_props - 1;
        if (o->max_props != JS_NO_MAX && (r = term(c, &ts, n, JT_OBJ, at))) r->obj.min_props = o->max_props + 1;
        /* required [k]: k absent */
        for (size_t i = 0; i < o->n_required; i++) {
            if (!(r = term(c, &ts, n, JT_OBJ, at)) || !(r->obj.props = js_new(c, sizeof *r->obj.props))) return NULL;
            r->obj.n_props = 1;
            r->obj.props[0] = (js_prop){.name = o->required[i], .at = at};
            if (!(r->obj.props[0].schema = js_node_nothing(c, at))) return NULL;
        }
        /* properties {k: S}: k present with a value outside S */
        for (size_t i = 0; i < o->n_props; i++) {
            js_node *not_s = js_negate(c, o->props[i].schema, at);
            if (!not_s) return NULL;
            if (js_unsat(c, not_s)) continue; /* S accepts everything */
            if (!(r = term(c, &ts, n, JT_OBJ, at)) || !(r->obj.props = js_new(c, sizeof *r->obj.props)) ||
                !(r->obj.required = js_new(c, sizeof *r->obj.required)))
                return NULL;
            r->obj.n_props = r->obj.n_required = 1;
            r->obj.props[0] = (js_prop){.name = o->props[i].name, .schema = not_s, .at = at};
            r->obj.required[0] = o->props[i].name;
        }
    }
    if (!js_ok(c)) return NULL;
    return js_union(c, ts.t, ts.n, at);
}

js_node *js_negate(js_ctx *c, js_node *n, const weft_json *at) {
    if (c->depth >= JS_MAX_DEPTH || !(n = js_deref(c, n))) return NULL;
    if (!at) at = n->at;
    if (n->kind == JS_ANYOF) { /* not(x | y) = not x & not y */
        js_node *r = NULL;
        for (size_t i = 0; i < n->n_alts; i++) {
            js_node *x = js_negate(c, n->alts[i], at);
            if (!x || !(r = r ? js_intersect(c, r, x) : x)) return NULL;
        }
        return r;
    }
    c->depth++;
    js_node *r = negate_flat(c, n, at);
    c->depth--;
    return r;
}
