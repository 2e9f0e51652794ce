/* Pass 1: a schema object -> js_node. Every keyword is looked up in one
 * table, so each is either applied, known to carry no assertion, or
 * refused (fail-closed) with its JSON pointer; keywords outside the table
 * are ignored, as 2020-12 Core §4.3.1 requires of unknown keywords. */
#include "js_internal.h"

typedef enum kw_class {
    KW_IGNORE,      /* annotations, identifiers, definitions containers */
    KW_FLAT,        /* a constraint on one instance type: fn applies it */
    KW_ALL_OF,
    KW_ANY_OF,
    KW_ONE_OF,
    KW_NOT,
    KW_REF,
    KW_IF,
    KW_DEPENDENT,   /* dependentRequired, dependentSchemas, dependencies */
    KW_CONDITIONAL, /* unsupported only when its partner keyword is present */
    KW_UNSUPPORTED,
} kw_class;

typedef struct kw_entry {
    const char *name;
    kw_class cls;
    js_kw_fn fn;
    const char *partner; /* KW_CONDITIONAL: the keyword that gives it effect */
} kw_entry;

/* Drafts 4 to 2020-12 together; where drafts differ the handler decides. */
static const kw_entry KEYWORDS[] = {
    {"type", KW_FLAT, js_kw_type, NULL},
    {"enum", KW_FLAT, js_kw_enum, NULL},
    {"const", KW_FLAT, js_kw_enum, NULL},
    {"minimum", KW_FLAT, js_kw_number, NULL},
    {"maximum", KW_FLAT, js_kw_number, NULL},
    {"exclusiveMinimum", KW_FLAT, js_kw_number, NULL},
    {"exclusiveMaximum", KW_FLAT, js_kw_number, NULL},
    {"multipleOf", KW_FLAT, js_kw_number, NULL},
    {"minLength", KW_FLAT, js_kw_string, NULL},
    {"maxLength", KW_FLAT, js_kw_string, NULL},
    {"pattern", KW_FLAT, js_kw_string, NULL},
    {"format", KW_FLAT, js_kw_string, NULL},
    {"items", KW_FLAT, js_kw_array, NULL},
    {"prefixItems", KW_FLAT, js_kw_array, NULL},
    {"additionalItems", KW_FLAT, js_kw_array, NULL},
    {"minItems", KW_FLAT, js_kw_array, NULL},
    {"maxItems", KW_FLAT, js_kw_array, NULL},
    {"uniqueItems", KW_FLAT, js_kw_array, NULL},
    {"properties", KW_FLAT, js_kw_object, NULL},
    {"required", KW_FLAT, js_kw_object, NULL},
    {"additionalProperties", KW_FLAT, js_kw_object, NULL},
    {"patternProperties", KW_FLAT, js_kw_object, NULL},
    {"minProperties", KW_FLAT, js_kw_object, NULL},
    {"maxProperties", KW_FLAT, js_kw_object, NULL},
    {"allOf", KW_ALL_OF, NULL, NULL},
    {"anyOf", KW_ANY_OF, NULL, NULL},
    {"oneOf", KW_ONE_OF, NULL, NULL},
    {"not", KW_NOT, NULL, NULL},
    {"$ref", KW_REF, NULL, NULL},
    {"if", KW_IF, NULL, NULL},
    {"dependentRequired", KW_DEPENDENT, NULL, NULL},
    {"dependentSchemas", KW_DEPENDENT, NULL, NULL},
    {"dependencies", KW_DEPENDENT, NULL, NULL},
    /* "then"/"else" are read with "if" and do nothing without it (2020-12
     * Core §10.2.2.2-3); min/maxContains need contains (§10.3.1.4-5) */
    {"then", KW_IGNORE, NULL, NULL},
    {"else", KW_IGNORE, NULL, NULL},
    {"minContains", KW_CONDITIONAL, NULL, "contains"},
    {"maxContains", KW_CONDITIONAL, NULL, "contains"},
    {"contains", KW_UNSUPPORTED, NULL, NULL},
    {"propertyNames", KW_FLAT, js_kw_object, NULL},
    {"unevaluatedProperties", KW_UNSUPPORTED, NULL, NULL},
    {"unevaluatedItems", KW_UNSUPPORTED, NULL, NULL},
    {"$dynamicRef", KW_UNSUPPORTED, NULL, NULL},
    {"$recursiveRef", KW_UNSUPPORTED, NULL, NULL},
    /* no assertion: identifiers, definitions, annotations (2020-12 Core §8,
     * Validation §8-9) */
    {"$schema", KW_IGNORE, NULL, NULL},
    {"$id", KW_IGNORE, NULL, NULL},
    {"id", KW_IGNORE, NULL, NULL},
    {"$anchor", KW_IGNORE, NULL, NULL},
    {"$dynamicAnchor", KW_IGNORE, NULL, NULL},
    {"$recursiveAnchor", KW_IGNORE, NULL, NULL},
    {"$vocabulary", KW_IGNORE, NULL, NULL},
    {"$comment", KW_IGNORE, NULL, NULL},
    {"$defs", KW_IGNORE, NULL, NULL},
    {"definitions", KW_IGNORE, NULL, NULL},
    {"title", KW_IGNORE, NULL, NULL},
    {"description", KW_IGNORE, NULL, NULL},
    {"default", KW_IGNORE, NULL, NULL},
    {"examples", KW_IGNORE, NULL, NULL},
    {"readOnly", KW_IGNORE, NULL, NULL},
    {"writeOnly", KW_IGNORE, NULL, NULL},
    {"deprecated", KW_IGNORE, NULL, NULL},
    {"contentEncoding", KW_IGNORE, NULL, NULL},
    {"contentMediaType", KW_IGNORE, NULL, NULL},
    {"contentSchema", KW_IGNORE, NULL, NULL},
};

static const kw_entry *lookup(const char *name) {
    for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++)
        if (strcmp(KEYWORDS[i].name, name) == 0) return &KEYWORDS[i];
    return NULL;
}

js_node *js_node_new(js_ctx *c, const weft_json *at, js_kind kind) {
    js_node *n = js_new(c, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->at = at;
    n->types = JT_ALL;
    n->str.max_len = JS_NO_MAX;
    n->arr.max_items = JS_NO_MAX;
    n->obj.max_props = JS_NO_MAX;
    return n;
}

js_node *js_node_any(js_ctx *c, const weft_json *at) { return js_node_new(c, at, JS_FLAT); }

js_node *js_node_nothing(js_ctx *c, const weft_json *at) {
    js_node *n = js_node_new(c, at, JS_FLAT);
    if (n) n->types = 0;
    return n;
}

#define COPY_ARRAY(c, dst, src, n)                                   \
    do {                                                             \
        if ((n) && (src)) {                                          \
            void *p_ = js_new((c), (n) * sizeof *(src));             \
            if (!p_) return NULL;                                    \
            memcpy(p_, (src), (n) * sizeof *(src));                  \
            (dst) = p_;                                              \
        }                                                            \
    } while (0)

js_node *js_node_copy(js_ctx *c, const js_node *n) {
    js_node *d = js_new(c, sizeof *d);
    if (!d) return NULL;
    *d = *n;
    d->emitted = false;
    COPY_ARRAY(c, d->str.patterns, n->str.patterns, n->str.n_patterns);
    COPY_ARRAY(c, d->str.not_in, n->str.not_in, n->str.n_not_in);
    COPY_ARRAY(c, d->str.not_patterns, n->str.not_patterns, n->str.n_not_patterns);
    COPY_ARRAY(c, d->arr.prefix, n->arr.prefix, n->arr.n_prefix);
    COPY_ARRAY(c, d->obj.props, n->obj.props, n->obj.n_props);
    COPY_ARRAY(c, d->obj.required, n->obj.required, n->obj.n_required);
    COPY_ARRAY(c, d->obj.pprops, n->obj.pprops, n->obj.n_pprops);
    COPY_ARRAY(c, d->enum_vals, n->enum_vals, n->n_enum);
    COPY_ARRAY(c, d->alts, n->alts, n->n_alts);
    return d;
}

bool js_node_is_any(const js_node *n) {
    if (n->kind != JS_FLAT || n->types != JT_ALL || n->has_enum) return false;
    const js_num *u = &n->num;
    if (u->integer || u->non_integer || u->has_lo || u->has_hi || u->multiple_of != 0) return false;
    const js_str *s = &n->str;
    if (s->min_len || s->max_len != JS_NO_MAX || s->n_patterns || s->format || s->n_not_in || s->n_not_patterns)
        return false;
    const js_arr *a = &n->arr;
    if (a->n_prefix || a->items || a->min_items || a->max_items != JS_NO_MAX || a->unique) return false;
    const js_obj *o = &n->obj;
    return !o->n_props && !o->n_required && !o->n_pprops && !o->additional && !o->names && !o->min_props &&
           o->max_props == JS_NO_MAX;
}

/* The nodes of an array of schemas (allOf, anyOf, oneOf). */
static js_node **normalize_list(js_ctx *c, const weft_json *v, size_t *n) {
    const weft_host *h = c->h;
    if (h->json_type(v) != WEFT_JSON_ARRAY || h->json_count(v) == 0) {
        js_fail(c, v, WEFT_ERR_INVALID, "'%s' must be a non-empty array of schemas", js_kw_name(c, v));
        return NULL;
    }
    *n = h->json_count(v);
    js_node **out = js_new(c, *n * sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < *n; i++)
        if (!(out[i] = js_normalize(c, h->json_item(v, i)))) return NULL;
    return out;
}

/* oneOf (2020-12 Core §10.2.1.3): exactly one branch. A union when the
 * branches are pairwise disjoint within the sibling constraints ctx;
 * otherwise each branch minus the branches it may overlap, where their
 * complements are representable. */
static js_node *one_of(js_ctx *c, const weft_json *v, js_node *ctx) {
    size_t n;
    js_node **alts = normalize_list(c, v, &n);
    if (!alts) return NULL;
    js_node **out = js_new(c, n * sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = alts[i];
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            c->probing++;
            c->probe_failed = false;
            js_node *x = js_intersect(c, ctx, alts[i]);
            if (x) x = js_intersect(c, x, alts[j]);
            bool disjoint = x && !c->probe_failed && js_unsat(c, x);
            js_node *neg = disjoint ? NULL : js_negate(c, alts[j], NULL);
            bool neg_ok = neg && !c->probe_failed;
            c->probing--;
            if (!js_ok(c)) return NULL;
            if (disjoint) continue;
            if (neg_ok) {
                if (!(out[i] = js_intersect(c, out[i], neg))) return NULL;
                continue;
            }
            if (!js_unsupported(c, v, "keyword 'oneOf' is not supported here: branches %zu and %zu may both match",
                                i, j))
                return NULL;
            return js_union(c, alts, n, v); /* lenient: as anyOf */
        }
    }
    return js_union(c, out, n, v);
}

/* Does the schema object hold the keyword? */
static bool has(const js_ctx *c, const weft_json *s, const char *kw) { return c->h->json_get(s, kw) != NULL; }

/* The node of one applicator keyword; NULL when it fails, *skip when
 * lenient mode ignores it. ctx: the sibling constraints (for oneOf). */
static js_node *applicator(js_ctx *c, const kw_entry *kw, const weft_json *s, const weft_json *v, js_node *ctx,
                           bool *skip) {
    *skip = false;
    switch (kw->cls) {
    case KW_ALL_OF: {
        size_t k;
        js_node **list = normalize_list(c, v, &k);
        js_node *part = list ? list[0] : NULL;
        for (size_t j = 1; j < k && part; j++) part = js_intersect(c, part, list[j]);
        return part;
    }
    case KW_ANY_OF: {
        size_t k;
        js_node **list = normalize_list(c, v, &k);
        return list ? js_union(c, list, k, v) : NULL;
    }
    case KW_ONE_OF: return one_of(c, v, ctx);
    case KW_NOT: {
        js_node *inner = js_normalize(c, v);
        js_node *part = inner ? js_negate(c, inner, v) : NULL;
        if (inner && !part && js_ok(c)) *skip = js_unsupported(c, v, "keyword 'not' is not supported");
        return part;
    }
    case KW_IF: return js_kw_if(c, s, v);
    case KW_DEPENDENT: return js_kw_dependencies(c, v);
    case KW_REF: {
        const weft_json *target = js_ref_resolve(c, s, v);
        if (!target) {
            *skip = js_ok(c); /* lenient: ignored */
            return NULL;
        }
        js_node *part = js_node_new(c, s, JS_REF);
        if (part) part->ref_target = target;
        return part;
    }
    default: return NULL;
    }
}

static js_node *normalize_object(js_ctx *c, const weft_json *s) {
    const weft_host *h = c->h;
    js_node *flat = js_node_any(c, s);
    if (!flat) return NULL;
    /* drafts 4-7 (Draft 7 Core §8.3): "All other properties in a $ref
     * object MUST be ignored." */
    bool ref_only = c->legacy && has(c, s, "$ref");
    size_t n = h->json_count(s), first_flat = SIZE_MAX;
    /* the constraints first: applicators see them (oneOf's disjointness
     * holds within its siblings) */
    for (size_t i = 0; i < n; i++) {
        const char *key = h->json_key(s, i);
        const weft_json *v = h->json_item(s, i);
        const kw_entry *kw = lookup(key);
        if (!kw || (ref_only && strcmp(key, "$ref"))) continue;
        if (kw->cls == KW_FLAT) {
            if (!kw->fn(c, flat, s, key, v)) return NULL;
            if (first_flat == SIZE_MAX) first_flat = i;
        } else if (kw->cls == KW_UNSUPPORTED || (kw->cls == KW_CONDITIONAL && has(c, s, kw->partner))) {
            if (!js_unsupported(c, v, "keyword '%s' is not supported", key)) return NULL;
        }
    }
    /* an opt-in subset: no keys beyond the declared ones */
    if (c->opt.strict_properties && has(c, s, "properties") && !has(c, s, "additionalProperties") &&
        !has(c, s, "patternProperties") && !(flat->obj.additional = js_node_nothing(c, s)))
        return NULL;
    if (!js_finalize_props(c, flat)) return NULL;
    /* then the applicators, with the constraints at the place of their
     * first keyword (the order matters only for the order of properties) */
    /* keys are unique (js_json_unique_keys): one part per keyword at most */
    js_node *parts[sizeof KEYWORDS / sizeof KEYWORDS[0] + 1];
    size_t n_parts = 0;
    bool flat_used = js_node_is_any(flat);
    for (size_t i = 0; i < n; i++) {
        const kw_entry *kw = lookup(h->json_key(s, i));
        if (!kw || (ref_only && strcmp(h->json_key(s, i), "$ref"))) continue;
        if (!flat_used && i > first_flat) parts[n_parts++] = flat, flat_used = true;
        if (kw->cls == KW_FLAT || kw->cls == KW_IGNORE || kw->cls == KW_UNSUPPORTED || kw->cls == KW_CONDITIONAL)
            continue;
        bool skip;
        js_node *part = applicator(c, kw, s, h->json_item(s, i), flat, &skip);
        if (skip) continue;
        if (!part) return NULL;
        parts[n_parts++] = part;
    }
    if (!flat_used || n_parts == 0) parts[n_parts++] = flat;
    /* a lone applicator stays as it is: a lone $ref stays lazy (recursion) */
    js_node *r = parts[0];
    for (size_t i = 1; i < n_parts && r; i++) r = js_intersect(c, r, parts[i]);
    return r;
}

js_node *js_normalize(js_ctx *c, const weft_json *json) {
    const weft_host *h = c->h;
    switch (h->json_type(json)) {
    case WEFT_JSON_BOOL: /* 2020-12 Core §4.3.2: true and false schemas */
        return h->json_bool(json) ? js_node_any(c, json) : js_node_nothing(c, json);
    case WEFT_JSON_OBJECT: break;
    default: js_fail(c, json, WEFT_ERR_INVALID, "a schema must be an object or a boolean"); return NULL;
    }
    js_memo *m = js_memo_get(c, json);
    if (!m) return NULL;
    if (m->node) return m->node;
    if (m->busy) {
        js_unsupported(c, json, "a $ref cycle that consumes no input is not supported");
        return NULL;
    }
    if (c->depth >= JS_MAX_DEPTH) {
        js_fail(c, json, WEFT_ERR_UNSUPPORTED, "schema nesting deeper than %d is not supported", JS_MAX_DEPTH);
        return NULL;
    }
    m->busy = true;
    c->depth++;
    js_node *n = normalize_object(c, json);
    c->depth--;
    /* the memo table may have grown meanwhile: look the slot up again */
    m = js_memo_get(c, json);
    if (!m) return NULL;
    m->busy = false;
    /* a probe's failure is not final: normalize again outside the probe */
    if (n && !(c->probing && c->probe_failed)) m->node = n;
    return n;
}
