/* items, prefixItems, additionalItems, minItems, maxItems, uniqueItems
 * (2020-12 Core §10.3.1, Validation §6.4; draft-07 Validation §6.4.1-2 for
 * the array form of items). */
#include "js_internal.h"

/* The schemas of an array of schemas. */
static bool schema_list(js_ctx *c, const weft_json *v, js_node ***out, size_t *n) {
    const weft_host *h = c->h;
    *n = h->json_count(v);
    *out = js_new(c, (*n ? *n : 1) * sizeof **out);
    if (!*out) return false;
    for (size_t i = 0; i < *n; i++)
        if (!((*out)[i] = js_normalize(c, h->json_item(v, i)))) return false;
    return true;
}

bool js_kw_array(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v) {
    const weft_host *h = c->h;
    js_arr *a = &n->arr;
    uint64_t k;
    if (strcmp(kw, "minItems") == 0) {
        if (!js_get_count(c, v, &k)) return false;
        if (k > a->min_items) a->min_items = k;
    } else if (strcmp(kw, "maxItems") == 0) {
        if (!js_get_count(c, v, &k)) return false;
        if (k < a->max_items) a->max_items = k;
    } else if (strcmp(kw, "uniqueItems") == 0) {
        if (h->json_type(v) != WEFT_JSON_BOOL) return js_fail(c, v, WEFT_ERR_INVALID, "'uniqueItems' must be a boolean");
        if (h->json_bool(v)) {
            a->unique = true;
            a->unique_at = v;
        }
    } else if (strcmp(kw, "prefixItems") == 0) {
        if (h->json_type(v) != WEFT_JSON_ARRAY) return js_fail(c, v, WEFT_ERR_INVALID, "'prefixItems' must be an array");
        return schema_list(c, v, &a->prefix, &a->n_prefix);
    } else if (strcmp(kw, "items") == 0) {
        if (h->json_type(v) == WEFT_JSON_ARRAY) {
            /* draft 4-2019: a tuple; the rest follows additionalItems */
            if (!schema_list(c, v, &a->prefix, &a->n_prefix)) return false;
            const weft_json *rest = h->json_get(s, "additionalItems");
            if (rest && !(a->items = js_normalize(c, rest))) return false;
            return true;
        }
        return (a->items = js_normalize(c, v)) != NULL;
    }
    /* additionalItems: read with an array `items`; alone it does nothing */
    return true;
}
