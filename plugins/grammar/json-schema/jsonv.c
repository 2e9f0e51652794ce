/* Small helpers over the host's read-only JSON accessors. */
#include <math.h>

#include "js_internal.h"

bool js_json_equal(const js_ctx *c, const weft_json *a, const weft_json *b) {
    const weft_host *h = c->h;
    weft_json_type ta = h->json_type(a), tb = h->json_type(b);
    if (ta != tb) return false;
    switch (ta) {
    case WEFT_JSON_NULL: return true;
    case WEFT_JSON_BOOL: return h->json_bool(a) == h->json_bool(b);
    case WEFT_JSON_NUMBER: return h->json_number(a) == h->json_number(b);
    case WEFT_JSON_STRING: return strcmp(h->json_string(a), h->json_string(b)) == 0;
    case WEFT_JSON_ARRAY: {
        size_t n = h->json_count(a);
        if (n != h->json_count(b)) return false;
        for (size_t i = 0; i < n; i++)
            if (!js_json_equal(c, h->json_item(a, i), h->json_item(b, i))) return false;
        return true;
    }
    case WEFT_JSON_OBJECT: {
        size_t n = h->json_count(a);
        if (n != h->json_count(b)) return false;
        for (size_t i = 0; i < n; i++) {
            const weft_json *vb = h->json_get(b, h->json_key(a, i));
            if (!vb || !js_json_equal(c, h->json_item(a, i), vb)) return false;
        }
        return true;
    }
    }
    return false;
}

static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool js_json_unique_keys(js_ctx *c, const weft_json *v) {
    const weft_host *h = c->h;
    weft_json_type t = h->json_type(v);
    if (t != WEFT_JSON_OBJECT && t != WEFT_JSON_ARRAY) return true;
    size_t n = h->json_count(v);
    if (t == WEFT_JSON_OBJECT && n > 1) {
        const char **keys = malloc(n * sizeof *keys);
        if (!keys) return js_fail(c, v, WEFT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) keys[i] = h->json_key(v, i);
        qsort(keys, n, sizeof *keys, cmp_key);
        const char *dup = NULL;
        for (size_t i = 1; i < n && !dup; i++)
            if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
        bool ok = !dup || js_fail(c, h->json_get(v, dup), WEFT_ERR_INVALID,
                                  "the key '%s' appears twice in one object (RFC 8259 §4: its meaning is ambiguous)", dup);
        free(keys);
        if (!ok) return false;
    }
    for (size_t i = 0; i < n; i++)
        if (!js_json_unique_keys(c, h->json_item(v, i))) return false;
    return true;
}

uint64_t js_utf8_length(const char *s) {
    uint64_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80; /* count lead bytes */
    return n;
}

bool js_is_integral(double x) { return isfinite(x) && floor(x) == x; }

bool js_get_count(js_ctx *c, const weft_json *v, uint64_t *out) {
    double d = c->h->json_type(v) == WEFT_JSON_NUMBER ? c->h->json_number(v) : -1;
    if (!js_is_integral(d) || d < 0) {
        js_fail(c, v, WEFT_ERR_INVALID, "'%s' must be a non-negative integer", js_kw_name(c, v));
        return false;
    }
    *out = d >= 1.8e19 ? JS_NO_MAX - 1 : (uint64_t)d;
    return true;
}

const char *js_get_string(js_ctx *c, const weft_json *v, const char *what) {
    if (c->h->json_type(v) != WEFT_JSON_STRING) {
        js_fail(c, v, WEFT_ERR_INVALID, "%s must be a string", what);
        return NULL;
    }
    return c->h->json_string(v);
}

const char *js_kw_name(const js_ctx *c, const weft_json *v) {
    const char *p = c->h->json_pointer(v);
    const char *slash = p ? strrchr(p, '/') : NULL;
    return slash ? slash + 1 : "?";
}
