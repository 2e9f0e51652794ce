/* type, enum, const (2020-12 Validation §6.1). */
#include "js_internal.h"

static const struct {
    const char *name;
    unsigned mask;
} TYPES[] = {
    {"null", JT_NULL},    {"boolean", JT_BOOL}, {"number", JT_NUM}, {"integer", JT_NUM},
    {"string", JT_STR},   {"array", JT_ARR},    {"object", JT_OBJ},
};

/* The type bit of one name; 0 (with an error) if unknown. */
static unsigned type_bit(js_ctx *c, const weft_json *v) {
    const char *name = js_get_string(c, v, "a type");
    if (!name) return 0;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(TYPES[i].name, name) == 0) return TYPES[i].mask;
    js_fail(c, v, WEFT_ERR_INVALID, "unknown type '%s'", name);
    return 0;
}

bool js_kw_type(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v) {
    (void)s, (void)kw;
    const weft_host *h = c->h;
    unsigned mask = 0;
    bool integer = false, number = false;
    size_t k = h->json_type(v) == WEFT_JSON_ARRAY ? h->json_count(v) : 1;
    for (size_t i = 0; i < k; i++) {
        const weft_json *t = h->json_type(v) == WEFT_JSON_ARRAY ? h->json_item(v, i) : v;
        unsigned bit = type_bit(c, t);
        if (!bit) return false;
        mask |= bit;
        if (bit == JT_NUM) {
            if (strcmp(h->json_string(t), "integer") == 0)
                integer = true;
            else
                number = true;
        }
    }
    n->types &= mask;
    /* "integer": any number with a zero fractional part (§6.1.1) */
    if (integer && !number) n->num.integer = true;
    return true;
}

bool js_restrict_enum(js_ctx *c, js_node *n, const weft_json *const *vals, size_t k) {
    const weft_json **kept = js_new(c, (k ? k : 1) * sizeof *kept);
    if (!kept) return false;
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        bool in = !n->has_enum;
        for (size_t j = 0; !in && j < n->n_enum; j++) in = js_json_equal(c, vals[i], n->enum_vals[j]);
        for (size_t j = 0; in && j < m; j++) in = !js_json_equal(c, vals[i], kept[j]); /* once */
        if (in) kept[m++] = vals[i];
    }
    n->has_enum = true;
    n->enum_vals = kept;
    n->n_enum = m;
    return true;
}

bool js_kw_enum(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v) {
    (void)s;
    const weft_host *h = c->h;
    if (strcmp(kw, "const") == 0) return js_restrict_enum(c, n, &v, 1);
    if (h->json_type(v) != WEFT_JSON_ARRAY)
        return js_fail(c, v, WEFT_ERR_INVALID, "'enum' must be an array");
    size_t k = h->json_count(v);
    const weft_json **vals = js_new(c, (k ? k : 1) * sizeof *vals);
    if (!vals) return false;
    for (size_t i = 0; i < k; i++) vals[i] = h->json_item(v, i);
    return js_restrict_enum(c, n, vals, k);
}
