/* JSON Schema front-end of the grammar engine: compiles a schema (read
 * through the host's json_* accessors) into engine IR whose language is the
 * JSON texts that validate against it. Fail-closed: a keyword that cannot be
 * enforced exactly is a compile error naming it and its JSON pointer, or,
 * when lenient, a warning (the keyword is then ignored). docs/json-schema.md
 * lists what is supported and how. */
#ifndef WEFT_JSON_SCHEMA_H
#define WEFT_JSON_SCHEMA_H

#include "grammar.h"

typedef enum js_ws {
    JS_WS_COMPACT,  /* no whitespace at all */
    JS_WS_FLEXIBLE, /* RFC 8259 whitespace around structural characters */
} js_ws_mode;

typedef struct js_options {
    js_ws_mode whitespace;
    uint32_t max_whitespace; /* flexible: longest run; 0 = unbounded */
    bool lenient;            /* unsupported keywords warn instead of failing */
    bool format_assert;      /* enforce known `format`s (else annotations only) */
    bool strict_properties;  /* "properties" without "additionalProperties": no other keys */
} js_options;

#define JS_OPTIONS_DEFAULT                                                                                  \
    ((js_options){.whitespace = JS_WS_COMPACT, .max_whitespace = 0, .lenient = false, .format_assert = true, \
                  .strict_properties = false})

/* Messages of ignored keywords (lenient mode, unknown formats). */
typedef struct js_warnings {
    char **msg;
    size_t n, cap;
} js_warnings;
void js_warnings_free(js_warnings *w);

/* Builds the rule matching the instances of `schema` into b and returns it
 * in *root. On failure reports through weft_error(env, ...) and returns
 * WEFT_ERR_UNSUPPORTED (a keyword that cannot be enforced), WEFT_ERR_INVALID
 * (a malformed schema, or lim's max_ms or max_states exceeded by the
 * front-end's own work) or WEFT_ERR_NOMEM. Warnings are appended to w (may
 * be NULL). lim may be NULL (the engine's defaults). */
weft_status js_build(const weft_env *env, const weft_json *schema, const js_options *opt, const wg_limits *lim,
                     wg_builder *b, wg_rule *root, js_warnings *w);

/* js_build + wg_compile, max_ms counting both. */
weft_status js_compile(const weft_env *env, const weft_json *schema, const js_options *opt,
                       const wg_limits *lim, wg_grammar **out, js_warnings *w);

#endif
