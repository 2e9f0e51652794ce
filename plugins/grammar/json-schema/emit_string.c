/* Strings: minLength/maxLength in characters (2020-12 Validation §6.3.1-2),
 * pattern (§6.3.3, unanchored ECMA-262), format (§7), and what a `not`
 * excludes (values, patterns). A lone pattern or format is IR of its own;
 * together, or with lengths or exclusions, they take a product of
 * automata (rx_product.c). */
#include "js_internal.h"

static wg_expr quoted(js_ctx *c, wg_expr content) {
    wg_expr q = wg_lit_str(c->b, "\"");
    return wg_seq(c->b, (wg_expr[]){q, content, q}, 3);
}

/* Are the lengths [lo, hi] of a language within the string's bounds? */
static bool lengths_within(const js_str *s, uint64_t lo, uint64_t hi) {
    return lo >= s->min_len && hi <= s->max_len;
}

static bool has_lengths(const js_str *s) { return s->min_len > 0 || s->max_len != JS_NO_MAX; }

/* Patterns, patterns that must not match, excluded values and lengths
 * together, by a product of automata (rx_product.c). */
static wg_expr combined(js_ctx *c, js_node *n) {
    const js_str *s = &n->str;
    size_t k = s->n_patterns + s->n_not_patterns + (s->n_not_in > 0) + 1;
    js_rx_part *parts = js_new(c, (k + 1) * sizeof *parts);
    const char **names = js_new(c, (s->n_not_in + 1) * sizeof *names);
    if (!parts || !names) return -1;
    js_rx_query q = {.parts = parts, .min_len = s->min_len, .max_len = s->max_len};
    if (s->format) {
        q.must |= 1u << q.n_parts;
        parts[q.n_parts++] = (js_rx_part){.format = s->format, .at = s->format_at};
    }
    for (size_t i = 0; i < s->n_patterns; i++) {
        q.must |= 1u << q.n_parts;
        parts[q.n_parts++] = (js_rx_part){.regex = c->h->json_string(s->patterns[i]), .at = s->patterns[i]};
    }
    for (size_t i = 0; i < s->n_not_patterns; i++) {
        q.must_not |= 1u << q.n_parts;
        parts[q.n_parts++] = (js_rx_part){.regex = c->h->json_string(s->not_patterns[i]), .at = s->not_patterns[i]};
    }
    if (s->n_not_in) {
        for (size_t i = 0; i < s->n_not_in; i++) names[i] = c->h->json_string(s->not_in[i]);
        q.must_not |= 1u << q.n_parts;
        parts[q.n_parts++] = (js_rx_part){.names = names, .n_names = s->n_not_in, .at = s->not_in[0]};
    }
    wg_expr e = js_rx_combine(c, &q, n->at, NULL);
    return e < 0 ? -1 : quoted(c, e);
}

static bool same_patterns(js_ctx *c, const js_str *s) {
    for (size_t i = 1; i < s->n_patterns; i++)
        if (strcmp(c->h->json_string(s->patterns[i]), c->h->json_string(s->patterns[0]))) return false;
    return true;
}

wg_expr js_emit_string(js_ctx *c, js_node *n) {
    const js_str *s = &n->str;
    if (s->format != JF_NONE) {
        uint64_t lo, hi;
        js_format_lengths(s->format, &lo, &hi);
        bool alone = !s->n_patterns && !s->n_not_patterns && !s->n_not_in;
        if (alone && (!has_lengths(s) || lengths_within(s, lo, hi))) return quoted(c, js_emit_format(c, s->format));
        /* with anything else, by a product of automata: formats whose
         * texts hold no escape only (their text is the decoded string) */
        if (s->format == JF_JSON_POINTER || s->format == JF_RELATIVE_JSON_POINTER || s->format == JF_REGEX) {
            if (!js_unsupported(c, s->format_at, "this 'format' together with 'pattern', 'not' or lengths is not "
                                                 "supported"))
                return -1;
            return quoted(c, js_emit_format(c, s->format)); /* lenient: the rest ignored */
        }
        wg_expr e = combined(c, n);
        if (e < 0 && c->opt.lenient && js_ok(c)) return quoted(c, js_emit_format(c, s->format));
        return e;
    }
    if (s->n_patterns > 0 && !s->n_not_patterns && !s->n_not_in && same_patterns(c, s)) {
        /* one pattern: its IR directly, if it implies the lengths */
        const weft_json *p = s->patterns[0];
        uint64_t lo = 0, hi = JS_NO_MAX;
        wg_expr e = js_regex_json(c, p, c->h->json_string(p), &lo, &hi);
        if (e < 0) return c->opt.lenient ? js_any_string(c) : -1;
        if (!has_lengths(s) || lengths_within(s, lo, hi)) return quoted(c, e);
    }
    if (s->n_patterns || s->n_not_patterns || (s->n_not_in && has_lengths(s))) {
        wg_expr e = combined(c, n);
        if (e < 0 && c->opt.lenient && js_ok(c)) return js_any_string(c);
        return e;
    }
    if (s->n_not_in) {
        const char **names = malloc(s->n_not_in * sizeof *names);
        if (!names) return -1;
        for (size_t i = 0; i < s->n_not_in; i++) names[i] = c->h->json_string(s->not_in[i]);
        wg_expr e = js_string_not_in(c, names, s->n_not_in, n->at);
        free(names);
        return e;
    }
    if (!has_lengths(s)) return js_any_string(c);
    if (s->min_len > UINT32_MAX - 1 || (s->max_len != JS_NO_MAX && s->max_len > UINT32_MAX - 1))
        return js_unsupported(c, n->at, "string lengths beyond 2^32 are not supported") ? js_any_string(c) : -1;
    uint32_t max = s->max_len == JS_NO_MAX ? WG_INF : (uint32_t)s->max_len;
    return quoted(c, js_repeat(c, js_json_char(c), (uint32_t)s->min_len, max));
}
