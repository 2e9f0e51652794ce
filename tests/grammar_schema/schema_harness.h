/* Helpers for the JSON Schema front-end's tests: a real host (libweft's),
 * schemas from JSON text handed over as the host hands JSON parameters
 * (a weft_json view whose pointers start at /grammar/schema), and byte-level
 * acceptance through the engine's matcher. */
#ifndef WEFT_TEST_SCHEMA_HARNESS_H
#define WEFT_TEST_SCHEMA_HARNESS_H

#include <cjson/cJSON.h>

#include "host.h"
#include "json_schema.h"

typedef struct sh {
    weft_runtime *rt;
    weft_env *env;
    cJSON *doc;         /* the last schema compiled from text */
    weft_json *view;
    js_warnings warnings;
    wg_grammar *g;
    wg_limits lim; /* compile limits (zero: the defaults) */
} sh;

void sh_init(sh *h);
void sh_free(sh *h);

/* Compiles a schema given as JSON text (or a cJSON node) with the options
 * (NULL: defaults); the grammar goes to h->g, warnings to h->warnings, the
 * message of a failure to sh_error(h). */
weft_status sh_compile(sh *h, const char *schema_json, const js_options *opt);
weft_status sh_compile_node(sh *h, const cJSON *schema, const js_options *opt);
const char *sh_error(const sh *h);

/* Does the last grammar accept the whole text? */
bool sh_accepts(const sh *h, const char *text);

/* Flexible whitespace, no bound (MaskBench-style instances). */
js_options sh_flexible(void);

#endif
