/* Arrays: prefixItems, items, minItems, maxItems (2020-12 Core §10.3.1.1-2,
 * Validation §6.4.1-2), as "[" ws [ elem ws *( "," ws elem ws ) ] "]"
 * where element i follows prefixItems[i] and the rest follow items, with
 * the count bounded by a repetition. uniqueItems fails closed unless at
 * most one item can occur. */
#include "js_internal.h"

static js_node *elem_schema(const js_arr *a, size_t i) { return i < a->n_prefix ? a->prefix[i] : a->items; }

static wg_expr elem(js_ctx *c, const js_arr *a, size_t i) {
    js_node *s = elem_schema(a, i);
    wg_expr v = s ? js_emit(c, s) : js_any_value(c);
    return wg_seq2(c->b, v, js_ws(c));
}

wg_expr js_emit_array(js_ctx *c, js_node *n) {
    const js_arr *a = &n->arr;
    wg_builder *b = c->b;
    uint64_t max = a->max_items;
    /* items: false (or an impossible schema) ends the array after the prefix */
    if (a->items && js_unsat(c, a->items) && max > a->n_prefix) max = a->n_prefix;
    for (size_t i = 0; i < a->n_prefix && i < max; i++)
        if (js_unsat(c, a->prefix[i])) max = i;
    if (a->min_items > max) return wg_nothing(b);
    if (a->unique && max > 1 &&
        !js_unsupported(c, a->unique_at, "keyword 'uniqueItems' is not supported (unless maxItems <= 1)"))
        return -1;
    if ((max != JS_NO_MAX && max > UINT32_MAX - 1) || a->min_items > UINT32_MAX - 1)
        return js_unsupported(c, n->at, "array lengths beyond 2^32 are not supported") ? js_any_value(c) : -1;
    wg_expr close = wg_lit_str(b, "]"), comma = wg_seq2(b, wg_lit_str(b, ","), js_ws(c));
    /* the tail after the prefix: ("," ws item ws){lo, hi} "]" */
    size_t k = a->n_prefix;
    wg_expr tail;
    if (max <= k) {
        tail = close;
    } else {
        uint64_t lo = a->min_items > k ? a->min_items - k : 0;
        uint32_t hi = max == JS_NO_MAX ? WG_INF : (uint32_t)(max - k);
        wg_expr item = wg_seq2(b, comma, elem(c, a, k));
        tail = wg_seq2(b, js_repeat(c, item, (uint32_t)lo, hi), close);
    }
    /* after i elements (1 <= i <= k): "]" if enough, or "," and element i */
    for (size_t i = k < max ? k : (size_t)max; i >= 1; i--) {
        if (i == k && max > k) continue; /* tail already covers this point */
        wg_expr more = i < max ? wg_seq(b, (wg_expr[]){comma, elem(c, a, i), tail}, 3) : wg_nothing(b);
        tail = i >= a->min_items ? wg_alt2(b, close, more) : more;
    }
    /* the first element, if any */
    wg_expr first;
    if (max == 0) {
        first = close;
    } else if (k == 0) {
        /* all items alike: elem ("," ws elem){lo-1, hi-1} */
        uint64_t lo = a->min_items > 1 ? a->min_items - 1 : 0;
        uint32_t hi = max == JS_NO_MAX ? WG_INF : (uint32_t)(max - 1);
        wg_expr item = elem(c, a, 0);
        wg_expr body = wg_seq(b, (wg_expr[]){item, js_repeat(c, wg_seq2(b, comma, item), (uint32_t)lo, hi), close}, 3);
        first = a->min_items == 0 ? wg_alt2(b, close, body) : body;
    } else {
        wg_expr body = wg_seq2(b, elem(c, a, 0), tail);
        first = a->min_items == 0 ? wg_alt2(b, close, body) : body;
    }
    return wg_seq(b, (wg_expr[]){wg_lit_str(b, "["), js_ws(c), first}, 3);
}
