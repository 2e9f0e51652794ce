/* Entry points: context set-up, the two passes, and the engine compile. */
#include <stdlib.h>

#include "internal.h" /* wg_now_ms */
#include "js_internal.h"

/* Drafts 4 to 7 by their "$schema" (drafts 2019-09 and 2020-12 differ in
 * how $ref combines with its siblings, Core §8.2.3.1). */
static bool legacy_draft(const weft_host *h, const weft_json *root) {
    const weft_json *s = h->json_type(root) == WEFT_JSON_OBJECT ? h->json_get(root, "$schema") : NULL;
    const char *uri = s && h->json_type(s) == WEFT_JSON_STRING ? h->json_string(s) : "";
    return strstr(uri, "draft-03") || strstr(uri, "draft-04") || strstr(uri, "draft-06") || strstr(uri, "draft-07");
}

weft_status js_build(const weft_env *env, const weft_json *schema, const js_options *opt, const wg_limits *lim,
                     wg_builder *b, wg_rule *root, js_warnings *w) {
    js_ctx c = {.env = env, .h = env->host, .opt = *opt, .b = b, .warn = w, .root = schema};
    js_ctx_limits(&c, lim);
    c.legacy = legacy_draft(c.h, schema);
    wg_expr e = -1;
    if (js_json_unique_keys(&c, schema) && js_refs_index(&c)) {
        js_node *n = js_normalize(&c, schema);
        if (n) e = js_emit(&c, n);
        if (e >= 0 && !js_emit_pending(&c)) e = -1;
    }
    if (e >= 0 && js_ok(&c)) {
        /* RFC 8259 §2: JSON-text = ws value ws */
        wg_expr ws = js_ws(&c);
        *root = wg_rule_fresh(b, "root");
        wg_rule_define(b, *root, wg_seq(b, (wg_expr[]){ws, e, ws}, 3));
    } else if (js_ok(&c)) {
        js_fail(&c, schema, WEFT_ERR_NOMEM, "out of memory building the grammar");
    }
    js_ctx_release(&c);
    return c.status;
}

weft_status js_compile(const weft_env *env, const weft_json *schema, const js_options *opt, const wg_limits *lim,
                       wg_grammar **out, js_warnings *w) {
    *out = NULL;
    wg_builder *b = wg_builder_new();
    if (!b) {
        env->host->error(env, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    wg_rule root;
    double t0 = wg_now_ms();
    weft_status st = js_build(env, schema, opt, lim, b, &root, w);
    if (st == WEFT_OK) {
        /* max_ms bounds the whole compile: the engine gets what is left */
        wg_limits left = lim ? *lim : (wg_limits){0};
        double budget = left.max_ms > 0 ? left.max_ms : WG_DEFAULT_MAX_MS;
        double spent = wg_now_ms() - t0;
        left.max_ms = budget - spent > 1 ? budget - spent : 1;
        wg_error err = {{0}};
        *out = wg_compile(b, root, &left, &err);
        if (!*out) {
            env->host->error(env, "%s: the schema's grammar does not compile: %s", env->host->json_pointer(schema),
                             err.msg);
            st = WEFT_ERR_INVALID;
        }
    }
    wg_builder_free(b);
    return st;
}
