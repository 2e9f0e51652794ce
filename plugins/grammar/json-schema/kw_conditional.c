/* Conditional keywords as unions (2020-12 Core §10.2.2):
 *   if/then/else               = (if and then) or (not if and else)
 *   dependentRequired {k: [r]} = (k absent) or (required k, r...)
 *   dependentSchemas {k: S}    = (k absent) or (required k and S)
 * draft-07 "dependencies" is either of the last two per member. "not if"
 * must be representable (negate.c), else the compilation fails closed. */
#include "js_internal.h"

/* Objects without key k (other types pass). */
static js_node *absent(js_ctx *c, const char *k, const weft_json *at) {
    js_node *n = js_node_any(c, at);
    if (!n || !(n->obj.props = js_new(c, sizeof *n->obj.props))) return NULL;
    n->obj.n_props = 1;
    n->obj.props[0] = (js_prop){.name = k, .at = at};
    return (n->obj.props[0].schema = js_node_nothing(c, at)) ? n : NULL;
}

/* Objects with key k and the keys of names (a JSON array; may be NULL). */
static js_node *present(js_ctx *c, const char *k, const weft_json *names, const weft_json *at) {
    const weft_host *h = c->h;
    size_t n = names ? h->json_count(names) : 0;
    js_node *r = js_node_any(c, at);
    if (!r || !(r->obj.required = js_new(c, (n + 1) * sizeof *r->obj.required))) return NULL;
    r->obj.required[r->obj.n_required++] = k;
    for (size_t i = 0; i < n; i++) {
        const char *name = js_get_string(c, h->json_item(names, i), "a dependent property name");
        if (!name) return NULL;
        r->obj.required[r->obj.n_required++] = name;
    }
    r->obj.required_at = at;
    return r;
}

js_node *js_kw_dependencies(js_ctx *c, const weft_json *v) {
    const weft_host *h = c->h;
    if (h->json_type(v) != WEFT_JSON_OBJECT)
        return js_fail(c, v, WEFT_ERR_INVALID, "'%s' must be an object", js_kw_name(c, v)), NULL;
    js_node *all = js_node_any(c, v);
    for (size_t i = 0; all && i < h->json_count(v); i++) {
        const char *k = h->json_key(v, i);
        const weft_json *d = h->json_item(v, i);
        js_node *alts[2] = {absent(c, k, d), NULL};
        if (h->json_type(d) == WEFT_JSON_ARRAY) {
            alts[1] = present(c, k, d, d);
        } else {
            js_node *s = js_normalize(c, d), *p = s ? present(c, k, NULL, d) : NULL;
            alts[1] = p ? js_intersect(c, p, s) : NULL;
        }
        js_node *u = alts[0] && alts[1] ? js_union(c, alts, 2, d) : NULL;
        all = u ? js_intersect(c, all, u) : NULL;
    }
    return all;
}

js_node *js_kw_if(js_ctx *c, const weft_json *s, const weft_json *v) {
    const weft_host *h = c->h;
    const weft_json *then_s = h->json_get(s, "then"), *else_s = h->json_get(s, "else");
    js_node *cond = js_normalize(c, v);
    if (!cond) return NULL;
    js_node *yes = then_s ? js_normalize(c, then_s) : js_node_any(c, v);
    js_node *no = else_s ? js_normalize(c, else_s) : js_node_any(c, v);
    if (!yes || !no) return NULL;
    js_node *not_cond = js_negate(c, cond, v);
    if (!not_cond) {
        if (!js_ok(c) || !js_unsupported(c, v, "keyword 'if' is not supported here: its negation cannot be expressed"))
            return NULL;
        return js_node_any(c, v); /* lenient: ignored */
    }
    js_node *alts[2] = {js_intersect(c, cond, yes), NULL};
    if (alts[0]) alts[1] = js_intersect(c, not_cond, no);
    return alts[1] ? js_union(c, alts, 2, v) : NULL;
}
