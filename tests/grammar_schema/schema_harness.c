#include "schema_harness.h"

#include <string.h>

#include "json_view.h"

void sh_init(sh *h) {
    memset(h, 0, sizeof *h);
    h->rt = weft_runtime_new(1);
    h->rt->log_level = WEFT_LOG_ERROR; /* warnings are checked through h->warnings */
    h->env = weft_env_new(h->rt, "grammar json-schema");
}

static void release(sh *h) {
    wg_grammar_free(h->g);
    h->g = NULL;
    js_warnings_free(&h->warnings);
    json_view_free(h->view);
    h->view = NULL;
    cJSON_Delete(h->doc);
    h->doc = NULL;
}

void sh_free(sh *h) {
    release(h);
    weft_env_free(h->env);
    weft_runtime_free(h->rt);
    memset(h, 0, sizeof *h);
}

weft_status sh_compile_node(sh *h, const cJSON *schema, const js_options *opt) {
    wg_grammar_free(h->g);
    h->g = NULL;
    js_warnings_free(&h->warnings);
    json_view_free(h->view);
    h->view = json_view_build(schema, "/grammar/schema");
    js_options o = opt ? *opt : JS_OPTIONS_DEFAULT;
    weft_env_clear_error(h->env);
    return js_compile(h->env, h->view, &o, &h->lim, &h->g, &h->warnings);
}

weft_status sh_compile(sh *h, const char *schema_json, const js_options *opt) {
    release(h);
    h->doc = cJSON_Parse(schema_json);
    if (!h->doc) return WEFT_ERR_INVALID;
    return sh_compile_node(h, h->doc, opt);
}

const char *sh_error(const sh *h) { return weft_env_error(h->env); }

bool sh_accepts(const sh *h, const char *text) {
    wg_matcher *m = h->g ? wg_matcher_new(h->g) : NULL;
    bool ok = m && wg_matcher_accept_bytes(m, text, strlen(text)) && wg_matcher_is_accepting(m);
    wg_matcher_free(m);
    return ok;
}

js_options sh_flexible(void) {
    js_options o = JS_OPTIONS_DEFAULT;
    o.whitespace = JS_WS_FLEXIBLE;
    return o;
}
