/* $ref, $id, $anchor (2020-12 Core §8.2, §8.2.3; draft-07 §8): local
 * references only. A pre-pass indexes the schema resources ($id) and
 * anchors of the document with their base URIs (RFC 3986 §5); a $ref
 * resolves against its schema object's base to a resource of the document
 * plus a JSON pointer (RFC 6901) or anchor fragment. Anything else (a
 * remote document, $dynamicRef) is refused. */
#include <stdio.h>

#include "js_internal.h"

/* ---- URIs (RFC 3986 §5.2, simplified: no query-only references) ---- */

static size_t scheme_len(const char *u) {
    size_t i = 0;
    if (!((u[0] | 32) >= 'a' && (u[0] | 32) <= 'z')) return 0;
    while (u[i] && u[i] != ':' && u[i] != '/' && u[i] != '?' && u[i] != '#') i++;
    return u[i] == ':' ? i + 1 : 0;
}

/* The end of the authority ("scheme://host") part of u, or its scheme. */
static size_t authority_end(const char *u) {
    size_t i = scheme_len(u);
    if (u[i] == '/' && u[i + 1] == '/') {
        i += 2;
        while (u[i] && u[i] != '/' && u[i] != '?' && u[i] != '#') i++;
    }
    return i;
}

/* Removes "." and ".." segments of the path starting at p (§5.2.4). */
static void remove_dots(char *p) {
    char *out = p, *in = p;
    while (*in) {
        if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || !in[2])) {
            in += 2;
        } else if (in[0] == '/' && in[1] == '.' && in[2] == '.' && (in[3] == '/' || !in[3])) {
            in += 3;
            while (out > p && *--out != '/') {}
        } else {
            do *out++ = *in++;
            while (*in && *in != '/');
        }
    }
    *out = 0;
}

/* ref (no fragment) resolved against base (absolute, no fragment). */
static char *uri_resolve(js_ctx *c, const char *base, const char *ref, size_t ref_len) {
    size_t nb = strlen(base);
    char *r = js_new(c, nb + ref_len + 2);
    if (!r) return NULL;
    if (ref_len == 0) {
        memcpy(r, base, nb + 1);
    } else if (scheme_len(ref)) {
        memcpy(r, ref, ref_len);
    } else if (ref[0] == '/' && ref_len > 1 && ref[1] == '/') {
        size_t s = scheme_len(base);
        memcpy(r, base, s);
        memcpy(r + s, ref, ref_len);
    } else if (ref[0] == '/') {
        size_t a = authority_end(base);
        memcpy(r, base, a);
        memcpy(r + a, ref, ref_len);
    } else {
        size_t a = authority_end(base), k = nb;
        while (k > a && base[k - 1] != '/') k--;
        memcpy(r, base, k);
        if (k == a && a > 0 && base[a - 1] != ':') r[k++] = '/'; /* authority, empty path */
        memcpy(r + k, ref, ref_len);
    }
    size_t a = authority_end(r);
    if (r[a] == '/') remove_dots(r + a);
    return r;
}

/* ---- the index ---- */

static bool add_resource(js_ctx *c, js_resource **arr, size_t *n, size_t *cap, const char *uri,
                         const weft_json *node) {
    js_resource *r = js_push(c, (void **)arr, n, cap, sizeof *r);
    if (!r) return false;
    r->uri = uri;
    r->node = node;
    return true;
}

static const weft_json *find_resource(const js_resource *arr, size_t n, const char *uri) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i].uri, uri) == 0) return arr[i].node;
    return NULL;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const SUBSCHEMA[] = {"additionalProperties", "additionalItems", "items", "not", "if",
                                        "then", "else", "contains", "propertyNames", "unevaluatedProperties",
                                        "unevaluatedItems", "contentSchema"};
static const char *const SUBSCHEMA_LIST[] = {"allOf", "anyOf", "oneOf", "prefixItems", "items"};
static const char *const SUBSCHEMA_MAP[] = {"properties", "patternProperties", "$defs", "definitions",
                                            "dependentSchemas", "dependencies"};
static bool index_schema(js_ctx *c, const weft_json *s, const char *base, const char *resource, int depth) {
    const weft_host *h = c->h;
    if (h->json_type(s) != WEFT_JSON_OBJECT) return true;
    if (depth > JS_MAX_DEPTH)
        return js_fail(c, s, WEFT_ERR_UNSUPPORTED, "schema nesting deeper than %d is not supported", JS_MAX_DEPTH);
    const weft_json *id = h->json_get(s, "$id");
    if (!id && c->legacy) id = h->json_get(s, "id");
    if (id && h->json_type(id) == WEFT_JSON_STRING) {
        const char *t = h->json_string(id);
        const char *hash = strchr(t, '#');
        size_t len = hash ? (size_t)(hash - t) : strlen(t);
        if (len > 0 || !hash) { /* a new resource */
            if (!(base = uri_resolve(c, base, t, len))) return false;
            resource = base;
            if (!add_resource(c, &c->res, &c->n_res, &c->cap_res, base, s)) return false;
        }
        if (hash && hash[1] && hash[1] != '/') { /* draft 6/7 plain-name fragment: an anchor */
            char *a = js_new(c, strlen(resource) + strlen(hash) + 1);
            if (!a) return false;
            sprintf(a, "%s%s", resource, hash);
            if (!add_resource(c, &c->anchors, &c->n_anchors, &c->cap_anchors, a, s)) return false;
        }
    }
    /* $dynamicAnchor also names a plain fragment (2020-12 Core §8.2.2) */
    static const char *const ANCHORS[] = {"$anchor", "$dynamicAnchor"};
    for (size_t i = 0; i < COUNT(ANCHORS); i++) {
        const weft_json *anchor = h->json_get(s, ANCHORS[i]);
        if (!anchor || h->json_type(anchor) != WEFT_JSON_STRING) continue;
        const char *t = h->json_string(anchor);
        char *a = js_new(c, strlen(resource) + strlen(t) + 2);
        if (!a) return false;
        sprintf(a, "%s#%s", resource, t);
        if (!add_resource(c, &c->anchors, &c->n_anchors, &c->cap_anchors, a, s)) return false;
    }
    js_memo *m = js_memo_get(c, s);
    if (!m) return false;
    m->base = base;
    for (size_t i = 0; i < COUNT(SUBSCHEMA); i++) {
        const weft_json *v = h->json_get(s, SUBSCHEMA[i]);
        if (v && !index_schema(c, v, base, resource, depth + 1)) return false;
    }
    for (size_t i = 0; i < COUNT(SUBSCHEMA_LIST); i++) {
        const weft_json *v = h->json_get(s, SUBSCHEMA_LIST[i]);
        if (!v || h->json_type(v) != WEFT_JSON_ARRAY) continue;
        for (size_t j = 0; j < h->json_count(v); j++)
            if (!index_schema(c, h->json_item(v, j), base, resource, depth + 1)) return false;
    }
    for (size_t i = 0; i < COUNT(SUBSCHEMA_MAP); i++) {
        const weft_json *v = h->json_get(s, SUBSCHEMA_MAP[i]);
        if (!v || h->json_type(v) != WEFT_JSON_OBJECT) continue;
        for (size_t j = 0; j < h->json_count(v); j++)
            if (!index_schema(c, h->json_item(v, j), base, resource, depth + 1)) return false;
    }
    return true;
}

bool js_refs_index(js_ctx *c) {
    if (!add_resource(c, &c->res, &c->n_res, &c->cap_res, "", c->root)) return false;
    return index_schema(c, c->root, "", "", 0);
}

/* ---- resolution ---- */

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if ((ch | 32) >= 'a' && (ch | 32) <= 'f') return (ch | 32) - 'a' + 10;
    return -1;
}

/* Percent-decodes a URI fragment (RFC 3986 §2.1) into a fresh string. */
static char *percent_decode(js_ctx *c, const char *s) {
    char *d = js_new(c, strlen(s) + 1), *o = d;
    if (!d) return NULL;
    for (; *s; s++) {
        int hi, lo;
        if (*s == '%' && (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return d;
}

/* RFC 6901 evaluation of pointer (decoded, starting with '/') from node. */
static const weft_json *follow_pointer(js_ctx *c, const weft_json *node, const char *ptr) {
    const weft_host *h = c->h;
    char *tok = js_new(c, strlen(ptr) + 1);
    if (!tok) return NULL;
    while (node && *ptr == '/') {
        ptr++;
        size_t k = 0;
        for (; *ptr && *ptr != '/'; ptr++) {
            if (ptr[0] == '~' && ptr[1] == '0') tok[k++] = '~', ptr++;
            else if (ptr[0] == '~' && ptr[1] == '1') tok[k++] = '/', ptr++;
            else tok[k++] = *ptr;
        }
        tok[k] = 0;
        if (h->json_type(node) == WEFT_JSON_OBJECT) {
            node = h->json_get(node, tok);
        } else if (h->json_type(node) == WEFT_JSON_ARRAY) {
            char *end;
            unsigned long long i = strtoull(tok, &end, 10);
            bool index = k > 0 && !*end && (tok[0] != '0' || k == 1) && tok[0] != '-' && tok[0] != '+';
            node = index && i < h->json_count(node) ? h->json_item(node, (size_t)i) : NULL;
        } else {
            node = NULL;
        }
    }
    return node;
}

const weft_json *js_ref_resolve(js_ctx *c, const weft_json *s, const weft_json *ref) {
    const char *r = js_get_string(c, ref, "'$ref'");
    if (!r) return NULL;
    js_memo *m = js_memo_get(c, s);
    if (!m) return NULL;
    const char *base = m->base ? m->base : "";
    const char *hash = strchr(r, '#');
    size_t len = hash ? (size_t)(hash - r) : strlen(r);
    const char *uri = uri_resolve(c, base, r, len);
    if (!uri) return NULL;
    const weft_json *res = find_resource(c->res, c->n_res, uri);
    if (!res) {
        js_unsupported(c, ref, "$ref '%s' is not a reference within this schema (remote references are not supported)",
                       r);
        return NULL;
    }
    if (!hash || !hash[1]) return res;
    char *frag = percent_decode(c, hash + 1);
    if (!frag) return NULL;
    const weft_json *target;
    if (frag[0] == '/') {
        target = follow_pointer(c, res, frag);
    } else {
        char *a = js_new(c, strlen(uri) + strlen(frag) + 2);
        if (!a) return NULL;
        sprintf(a, "%s#%s", uri, frag);
        target = find_resource(c->anchors, c->n_anchors, a);
    }
    if (!target) js_fail(c, ref, WEFT_ERR_INVALID, "$ref '%s' does not resolve", r);
    return target;
}

js_node *js_deref(js_ctx *c, js_node *n) {
    for (int hops = 0; n && (n->kind == JS_REF || n->kind == JS_AND); hops++) {
        if (hops > JS_MAX_DEPTH) {
            js_unsupported(c, n->at, "a $ref cycle that consumes no input is not supported");
            return NULL;
        }
        if (n->kind == JS_REF) {
            n = js_normalize(c, n->ref_target);
            continue;
        }
        if (!n->resolved) {
            js_node *a = js_deref(c, n->alts[0]), *b = a ? js_deref(c, n->alts[1]) : NULL;
            js_node *r = b ? js_intersect(c, a, b) : NULL;
            if (!r || (c->probing && c->probe_failed)) return r; /* a probe's result is not kept */
            n->resolved = r;
        }
        n = n->resolved;
    }
    return n;
}
