/* libFuzzer target: the JSON Schema front-end. The first byte picks the
 * options (whitespace, lenient, formats, strict properties); the rest is a
 * schema as JSON text, compiled under small engine limits. A compiled
 * grammar is then run over a few JSON texts. Invariants: no crash, no
 * leak, no undefined behaviour, and every failure carries a message. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "json_schema.h"
#include "json_view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const TEXTS[] = {"null", "true", "0", "-1.5e3", "\"\"", "\"a\\n\"", "[]", "[1,\"x\"]", "{}",
                                    "{\"a\":1}", " { \"a\" : [ null ] } "};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static weft_runtime *rt; /* created once: the host keeps no state across calls */
    static weft_env *env;
    if (!rt) {
        rt = weft_runtime_new(1);
        rt->log_level = -1; /* quiet: warnings are expected */
        env = weft_env_new(rt, "grammar json-schema");
    }
    if (size < 1) return 0;
    cJSON *doc = cJSON_ParseWithLength((const char *)data + 1, size - 1);
    if (!doc) return 0;
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.whitespace = data[0] & 1 ? JS_WS_FLEXIBLE : JS_WS_COMPACT;
    opt.max_whitespace = data[0] & 2 ? 4 : 0;
    opt.lenient = data[0] & 4;
    opt.format_assert = !(data[0] & 8);
    opt.strict_properties = data[0] & 16;
    wg_limits lim = {.max_states = 20000, .max_ms = 100, .max_stacks = 500};
    weft_json *view = json_view_build(doc, "/grammar/schema");
    wg_grammar *g = NULL;
    js_warnings w = {0};
    weft_env_clear_error(env);
    weft_status st = js_compile(env, view, &opt, &lim, &g, &w);
    if (st != WEFT_OK && !*weft_env_error(env)) abort(); /* a failure without a message */
    if (g) {
        for (size_t i = 0; i < sizeof TEXTS / sizeof TEXTS[0]; i++) {
            wg_matcher *m = wg_matcher_new(g);
            if (m && wg_matcher_accept_bytes(m, TEXTS[i], strlen(TEXTS[i]))) (void)wg_matcher_is_accepting(m);
            wg_matcher_free(m);
        }
        wg_grammar_free(g);
    }
    js_warnings_free(&w);
    json_view_free(view);
    cJSON_Delete(doc);
    return 0;
}
