/* Whether a string matches an ECMA-262 regex, decided by the engine itself
 * (the same regex translation the grammar uses), for patternProperties
 * against declared names and for pattern against enum values. Each regex
 * is compiled once per schema: one patternProperties regex may be tested
 * against every declared property. */
#include "js_internal.h"

/* Regexes of fewer states than this are tested; a larger one is
 * "unknown" (the caller fails closed). */
#define RX_TEST_MAX_STATES 20000

struct js_rx_cache {
    const char *regex;
    wg_grammar *g; /* NULL: the engine cannot compile it */
};

static wg_grammar *compile(js_ctx *c, const char *regex) {
    wg_builder *b = wg_builder_new();
    if (!b) return NULL;
    wg_error err;
    wg_rule r = wg_rule_fresh(b, "pattern");
    wg_expr e = wg_regex_to_ir(b, regex, false, &err);
    wg_grammar *g = NULL;
    if (e >= 0 && wg_rule_define(b, r, e)) {
        wg_limits lim = js_limits_left(c, RX_TEST_MAX_STATES);
        g = wg_compile(b, r, &lim, &err);
    }
    wg_builder_free(b);
    return g;
}

static const struct js_rx_cache *lookup(js_ctx *c, const char *regex) {
    for (size_t i = 0; i < c->n_rx_cache; i++)
        if (strcmp(c->rx_cache[i].regex, regex) == 0) return &c->rx_cache[i];
    if (!js_budget_ok(c)) return NULL;
    struct js_rx_cache *slot =
        js_push(c, (void **)&c->rx_cache, &c->n_rx_cache, &c->cap_rx_cache, sizeof *c->rx_cache);
    if (!slot) return NULL;
    *slot = (struct js_rx_cache){.regex = regex, .g = compile(c, regex)};
    return slot;
}

int js_regex_test(js_ctx *c, const char *regex, const char *s) {
    const struct js_rx_cache *rx = lookup(c, regex);
    wg_matcher *m = rx && rx->g ? wg_matcher_new(rx->g) : NULL;
    int result = m ? wg_matcher_accept_bytes(m, s, strlen(s)) && wg_matcher_is_accepting(m) : -1;
    wg_matcher_free(m);
    return result;
}

void js_rx_cache_free(js_ctx *c) {
    for (size_t i = 0; i < c->n_rx_cache; i++) wg_grammar_free(c->rx_cache[i].g);
    c->rx_cache = NULL;
    c->n_rx_cache = c->cap_rx_cache = 0;
}
