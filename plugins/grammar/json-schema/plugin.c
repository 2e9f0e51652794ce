/* json-schema: grammar-constrained decoding to the JSON texts valid against
 * a JSON Schema (draft 2020-12, with drafts 4-2019-09 read where they
 * differ). The schema compiles into the grammar engine's IR
 * (json_schema.h); the engine's instance does the rest. docs/json-schema.md
 * lists what is supported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_schema.h"

static const char *const WS_CHOICES[] = {"compact", "flexible", NULL};

enum { P_SCHEMA, P_SCHEMA_FILE, P_WHITESPACE, P_MAX_WS, P_LENIENT, P_FORMATS, P_STRICT, P_LIMITS };

static const weft_param_desc params[] = {
    WEFT_PARAM("schema", WEFT_TYPE_JSON, 0, 0, 0, NULL,
               "The JSON Schema the output must validate against (exactly one of schema and schema_file)"),
    WEFT_PARAM("schema_file", WEFT_TYPE_STRING, WEFT_PARAM_FILE, 0, 0, NULL,
               "A file holding the JSON Schema (exactly one of schema and schema_file)"),
    {.struct_size = sizeof(weft_param_desc), .name = "whitespace", .type = WEFT_TYPE_STRING, .def = "\"compact\"",
     .doc = "compact: no whitespace; flexible: JSON whitespace around structural characters", .choices = WS_CHOICES},
    WEFT_PARAM_INT("max_whitespace", 0, 1000000, "16", "flexible: longest whitespace run (0: unbounded)"),
    WEFT_PARAM_BOOL("lenient", "false", "Ignore keywords that cannot be enforced (with a warning) instead of failing"),
    WEFT_PARAM_BOOL("format_assert", "true",
                    "Enforce known 'format's (date, time, date-time, duration, uuid, email, hostname, ipv4, ipv6, uri)"),
    WEFT_PARAM_BOOL("strict_properties", "false",
                    "Objects with 'properties' and no 'additionalProperties' take no other keys (a subset of the "
                    "schema's instances)"),
    WG_LIMIT_PARAMS,
};

/* The schema of schema_file, parsed by the host (ABI 1.1): it lives as
 * long as the instance, and its pointers name the file ("s.json#/a"). */
static const weft_json *schema_from_file(const weft_env *env, const char *path, weft_status *st) {
    const weft_host *h = env->host;
    if (!WEFT_HAS_METHOD(h, weft_host, json_parse)) {
        weft_error(env, "'schema_file' needs a host that parses JSON (ABI 1.1)");
        *st = WEFT_ERR_UNSUPPORTED;
        return NULL;
    }
    wg_error err = {{0}};
    size_t len = 0;
    char *text = wg_read_file(path, &len, &err);
    if (!text) {
        weft_error(env, "%s", err.msg);
        *st = WEFT_ERR_IO;
        return NULL;
    }
    const weft_json *schema = h->json_parse(env, text, len, path); /* reports line:column */
    free(text);
    *st = schema ? WEFT_OK : WEFT_ERR_INVALID;
    return schema;
}

static void free_warnings(void *w) {
    js_warnings_free(w);
    free(w);
}

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    if (args[P_SCHEMA].present == args[P_SCHEMA_FILE].present) {
        weft_error(env, "give exactly one of 'schema' (a JSON Schema) and 'schema_file' (a path)");
        return WEFT_ERR_INVALID;
    }
    weft_status st = WEFT_OK;
    const weft_json *schema =
        args[P_SCHEMA].present ? args[P_SCHEMA].u.json : schema_from_file(env, args[P_SCHEMA_FILE].u.s, &st);
    if (!schema) return st;
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.whitespace = strcmp(args[P_WHITESPACE].u.s, "flexible") == 0 ? JS_WS_FLEXIBLE : JS_WS_COMPACT;
    opt.max_whitespace = (uint32_t)args[P_MAX_WS].u.i;
    opt.lenient = args[P_LENIENT].u.b;
    opt.format_assert = args[P_FORMATS].u.b;
    opt.strict_properties = args[P_STRICT].u.b;
    wg_limits lim = wg_limits_from_args(&args[P_LIMITS]);
    js_warnings *w = calloc(1, sizeof *w);
    if (!w) return WEFT_ERR_NOMEM;
    wg_grammar *g = NULL;
    st = js_compile(env, schema, &opt, &lim, &g, w);
    if (st == WEFT_OK) st = wg_instance_create(env, g, &lim, self);
    if (st != WEFT_OK) {
        free_warnings(w);
        return st;
    }
    wg_instance_set_user(*self, w, free_warnings);
    return WEFT_OK;
}

/* ---- actions ---- */

/* self is the engine's instance; the warnings are its user data */
static int64_t act_warnings(void *self) { return (int64_t)((const js_warnings *)wg_instance_user(self))->n; }

static const char *act_warning(void *self, int64_t i) {
    const js_warnings *w = wg_instance_user(self);
    return i >= 0 && (size_t)i < w->n ? w->msg[i] : "";
}

static const weft_type warning_args[] = {WEFT_TYPE_INT};
static const char *const warning_names[] = {"i"};

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "warnings",
     .doc = "Number of keywords ignored at compile time (lenient mode, unknown formats)", .ret = WEFT_TYPE_INT,
     .fn = (void (*)(void))act_warnings},
    {.struct_size = sizeof(weft_action_desc), .name = "warning", .doc = "The i-th compile-time warning (\"\" if none)",
     .ret = WEFT_TYPE_STRING, .n_args = 1, .arg_types = warning_args, .arg_names = warning_names,
     .fn = (void (*)(void))act_warning},
};

static const weft_component_desc desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_GRAMMAR,
    .name = "json-schema",
    .version = "1.0",
    .description = "Constrain output to JSON valid against a JSON Schema (fails closed on what it cannot enforce)",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = create,
    .destroy = wg_instance_destroy,
    .vtable = &wg_instance_vtable,
};

static const weft_component_desc *const components[] = {&desc};
WEFT_PLUGIN_DEFINE(components)
