/* properties, required, additionalProperties, patternProperties,
 * propertyNames, minProperties, maxProperties (2020-12 Core §10.3.2,
 * Validation §6.5). */
#include "js_internal.h"

static bool properties(js_ctx *c, js_obj *o, const weft_json *v) {
    const weft_host *h = c->h;
    if (h->json_type(v) != WEFT_JSON_OBJECT) return js_fail(c, v, WEFT_ERR_INVALID, "'properties' must be an object");
    o->n_props = h->json_count(v);
    o->props = js_new(c, (o->n_props ? o->n_props : 1) * sizeof *o->props);
    if (!o->props) return false;
    for (size_t i = 0; i < o->n_props; i++) {
        js_prop *p = &o->props[i];
        p->name = h->json_key(v, i);
        p->at = h->json_item(v, i);
        if (!(p->schema = js_normalize(c, p->at))) return false;
    }
    return true;
}

static bool pattern_properties(js_ctx *c, js_obj *o, const weft_json *v) {
    const weft_host *h = c->h;
    if (h->json_type(v) != WEFT_JSON_OBJECT)
        return js_fail(c, v, WEFT_ERR_INVALID, "'patternProperties' must be an object");
    o->n_pprops = h->json_count(v);
    o->pprops = js_new(c, (o->n_pprops ? o->n_pprops : 1) * sizeof *o->pprops);
    if (!o->pprops) return false;
    for (size_t i = 0; i < o->n_pprops; i++) {
        js_pprop *p = &o->pprops[i];
        p->regex = h->json_key(v, i);
        p->at = h->json_item(v, i);
        if (!(p->schema = js_normalize(c, p->at))) return false;
    }
    return true;
}

static bool required(js_ctx *c, js_obj *o, const weft_json *v) {
    const weft_host *h = c->h;
    if (h->json_type(v) != WEFT_JSON_ARRAY)
        return js_fail(c, v, WEFT_ERR_INVALID, "'required' must be an array of strings");
    o->n_required = h->json_count(v);
    o->required = js_new(c, (o->n_required ? o->n_required : 1) * sizeof *o->required);
    if (!o->required) return false;
    for (size_t i = 0; i < o->n_required; i++)
        if (!(o->required[i] = js_get_string(c, h->json_item(v, i), "a required property name"))) return false;
    o->required_at = v;
    return true;
}

bool js_kw_object(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v) {
    (void)s;
    js_obj *o = &n->obj;
    uint64_t k;
    if (strcmp(kw, "properties") == 0) return properties(c, o, v);
    if (strcmp(kw, "patternProperties") == 0) return pattern_properties(c, o, v);
    if (strcmp(kw, "required") == 0) return required(c, o, v);
    if (strcmp(kw, "propertyNames") == 0) {
        o->names_at = v;
        return (o->names = js_normalize(c, v)) != NULL;
    }
    if (strcmp(kw, "additionalProperties") == 0) {
        o->additional_at = v;
        return (o->additional = js_normalize(c, v)) != NULL;
    }
    if (!js_get_count(c, v, &k)) return false;
    if (strcmp(kw, "minProperties") == 0) {
        if (k > o->min_props) o->min_props = k;
    } else if (k < o->max_props) {
        o->max_props = k;
    }
    return true;
}
