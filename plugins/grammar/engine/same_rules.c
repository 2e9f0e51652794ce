/* Rules with the same body are compiled once. Front-ends repeat themselves:
 * a JSON Schema with every $ref expanded ("normalized") emits the same
 * object, pattern or bounded string under fresh rule names hundreds of
 * times, and each copy would be determinised again. Expressions are
 * hash-consed bottom-up (callees first), a reference counting as its
 * target's representative, so two rules whose bodies expand to the same
 * tree get the same class. A rule that refers to itself (an object's
 * "other keys, any number") is keyed with SELF for that reference; rules
 * on a longer cycle keep their own identity. */
#include "internal.h"

typedef struct hashcons {
    const wg_builder *b;
    const uint32_t *rep;
    uint32_t *canon;  /* per node: class id + 1, 0 not yet known */
    uint32_t self, stamp;   /* the rule being classed, and its stamp */
    uint32_t *self_stamp, *self_canon; /* per node: class if it refers to self */
    wg_vec items;     /* a stack of item classes */
    wg_interner classes; /* class id -> its key */
    wg_vec key;       /* the key being looked up */
} hashcons;

/* The class of expression e; WG_NONE when out of memory. The children's
 * classes come first, so each node's key is built alone. A reference to
 * hc->self, the rule being classed, is keyed as SELF: such keys are kept
 * for that rule only (stamped), since in another body the same node names
 * a different rule. Depth is the expression's, as in the compiler. */
#define SELF UINT32_MAX
static uint32_t class_of(hashcons *hc, wg_expr e, bool *tainted) {
    *tainted = false;
    if (hc->canon[e]) return hc->canon[e] - 1;
    if (hc->self_stamp[e] == hc->stamp) return *tainted = true, hc->self_canon[e];
    const wg_builder *b = hc->b;
    const wg_node *n = &b->nodes[e];
    bool list = n->kind == WG_E_SEQ || n->kind == WG_E_ALT, t;
    wg_vec *key = &hc->key;
    uint32_t head[4] = {n->kind, 0, 0, 0};
    switch (n->kind) {
    case WG_E_EMPTY:
    case WG_E_NOTHING: break;
    case WG_E_BYTE_RANGE: head[1] = n->a, head[2] = n->b; break;
    case WG_E_REF:
        *tainted = n->a == hc->self;
        head[1] = *tainted ? SELF : hc->rep[n->a];
        break;
    case WG_E_REPEAT:
        head[1] = class_of(hc, (wg_expr)n->a, &t);
        if (head[1] == WG_NONE) return WG_NONE;
        *tainted |= t;
        head[2] = n->off, head[3] = n->n;
        break;
    default: head[1] = n->n; break; /* bytes, class, seq, alt: a count, then the items */
    }
    /* the items' classes, kept past the recursion in hc->items */
    size_t items = hc->items.n;
    for (uint32_t i = 0; list && i < n->n; i++) {
        uint32_t id = class_of(hc, b->items[n->off + i], &t);
        if (id == WG_NONE || !wg_vec_push(&hc->items, id)) return WG_NONE;
        *tainted |= t;
    }
    key->n = 0;
    bool ok = true;
    for (int i = 0; i < 4; i++) ok = ok && wg_vec_push(key, head[i]);
    if (n->kind == WG_E_BYTES)
        for (uint32_t i = 0; ok && i < n->n; i++) ok = wg_vec_push(key, b->bytes[n->off + i]);
    else if (n->kind == WG_E_CLASS)
        for (uint32_t i = 0; ok && i < 2 * n->n; i++) ok = wg_vec_push(key, b->ranges[n->off + i]);
    for (size_t i = items; ok && i < hc->items.n; i++) ok = wg_vec_push(key, hc->items.v[i]);
    hc->items.n = items;
    bool added;
    uint32_t id = ok ? wg_intern(&hc->classes, key->v, key->n, &added) : WG_NONE;
    if (id == WG_NONE) return WG_NONE;
    if (*tainted) hc->self_stamp[e] = hc->stamp, hc->self_canon[e] = id;
    else hc->canon[e] = id + 1;
    return id;
}

bool wg_same_rules(const wg_builder *b, const uint32_t *order, size_t n_order, const uint8_t *recursive,
                   uint32_t *rep, uint32_t *node_class) {
    for (size_t r = 0; r < b->n_rules; r++) rep[r] = (uint32_t)r;
    hashcons hc = {.b = b, .rep = rep, .self = WG_NONE, .canon = node_class};
    memset(node_class, 0, (b->n_nodes + 1) * sizeof *node_class);
    hc.self_stamp = calloc(b->n_nodes + 1, sizeof *hc.self_stamp);
    hc.self_canon = malloc((b->n_nodes + 1) * sizeof *hc.self_canon);
    uint32_t *first = NULL; /* per class: first rule with it + 1 */
    size_t cap_first = 0;
    bool ok = hc.self_stamp && hc.self_canon;
    for (size_t i = 0; ok && i < n_order; i++) {
        uint32_t r = order[i];
        if (recursive[r] == WG_ON_A_CYCLE) continue;
        /* a rule that refers only to itself is compared with SELF for it:
         * equal keys, then, by induction over the derivation, equal languages */
        hc.self = recursive[r] == WG_SELF_RECURSIVE ? r : WG_NONE;
        hc.stamp++;
        bool tainted;
        uint32_t id = class_of(&hc, b->rules[r].body, &tainted);
        if (id == WG_NONE) {
            ok = false;
            break;
        }
        if (id >= cap_first) {
            size_t cap = cap_first ? cap_first : 256;
            while (cap <= id) cap *= 2;
            uint32_t *f = realloc(first, cap * sizeof *f);
            if (!f) {
                ok = false;
                break;
            }
            memset(f + cap_first, 0, (cap - cap_first) * sizeof *f);
            first = f, cap_first = cap;
        }
        if (first[id]) rep[r] = first[id] - 1;
        else first[id] = r + 1;
    }
    free(first);
    free(hc.self_stamp);
    free(hc.self_canon);
    wg_interner_free(&hc.classes);
    wg_vec_free(&hc.key);
    wg_vec_free(&hc.items);
    return ok;
}
