/* minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf
 * (2020-12 Validation §6.2; draft-04 §5.1.2-3 for boolean exclusives). */
#include <math.h>

#include "js_internal.h"

void js_num_lo(js_num *u, double x, bool excl) {
    if (!u->has_lo || x > u->lo || (x == u->lo && excl)) {
        u->has_lo = true;
        u->lo = x;
        u->lo_excl = excl;
    }
}

void js_num_hi(js_num *u, double x, bool excl) {
    if (!u->has_hi || x < u->hi || (x == u->hi && excl)) {
        u->has_hi = true;
        u->hi = x;
        u->hi_excl = excl;
    }
}

static bool number_of(js_ctx *c, const weft_json *v, const char *kw, double *out) {
    if (c->h->json_type(v) != WEFT_JSON_NUMBER || !isfinite(c->h->json_number(v)))
        return js_fail(c, v, WEFT_ERR_INVALID, "'%s' must be a number", kw);
    *out = c->h->json_number(v);
    return true;
}

/* Draft 4: "exclusiveMaximum": true makes "maximum" exclusive. */
static bool draft4_exclusive(const js_ctx *c, const weft_json *s, const char *kw) {
    const weft_json *e = c->h->json_get(s, kw);
    return e && c->h->json_type(e) == WEFT_JSON_BOOL && c->h->json_bool(e);
}

bool js_kw_number(js_ctx *c, js_node *n, const weft_json *s, const char *kw, const weft_json *v) {
    js_num *u = &n->num;
    double x = 0;
    if (c->h->json_type(v) == WEFT_JSON_BOOL && strncmp(kw, "exclusive", 9) == 0)
        return true; /* draft 4 flag: read with its bound below */
    if (!number_of(c, v, kw, &x)) return false;
    if (strcmp(kw, "minimum") == 0)
        js_num_lo(u, x, draft4_exclusive(c, s, "exclusiveMinimum"));
    else if (strcmp(kw, "maximum") == 0)
        js_num_hi(u, x, draft4_exclusive(c, s, "exclusiveMaximum"));
    else if (strcmp(kw, "exclusiveMinimum") == 0)
        js_num_lo(u, x, true);
    else if (strcmp(kw, "exclusiveMaximum") == 0)
        js_num_hi(u, x, true);
    else { /* multipleOf: strictly greater than 0 (§6.2.1) */
        if (!(x > 0)) return js_fail(c, v, WEFT_ERR_INVALID, "'multipleOf' must be > 0");
        u->multiple_of = x;
        u->multiple_of_at = v;
    }
    return true;
}
