/* regex: constrain the whole output to match a regular expression (the
 * ECMA-262 subset of JSON Schema `pattern`; docs/grammar.md). */
#include <stdio.h>

#include "grammar.h"

enum { P_PATTERN, P_ANCHORED, P_LIMITS };

static const weft_param_desc params[] = {
    WEFT_PARAM("pattern", WEFT_TYPE_STRING, WEFT_PARAM_REQUIRED, 0, 0, NULL, "The regular expression (ECMA-262 subset)"),
    WEFT_PARAM_BOOL("anchored", "true",
                    "true: the whole output matches; false: the output contains a match (RegExp.test)"),
    WG_LIMIT_PARAMS,
};

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    wg_builder *b = wg_builder_new();
    if (!b) {
        weft_error(env, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    wg_error err = {{0}};
    wg_limits lim = wg_limits_from_args(&args[P_LIMITS]);
    wg_grammar *g = NULL;
    wg_expr e = wg_regex_to_ir(b, args[P_PATTERN].u.s, args[P_ANCHORED].u.b, &err);
    if (e >= 0) {
        wg_rule root = wg_rule_named(b, "pattern");
        wg_rule_define(b, root, e);
        g = wg_compile(b, root, &lim, &err);
    }
    wg_builder_free(b);
    if (!g) {
        weft_error(env, "pattern: %s", err.msg);
        return WEFT_ERR_INVALID;
    }
    return wg_instance_create(env, g, &lim, self);
}

static const weft_component_desc desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_GRAMMAR,
    .name = "regex",
    .version = "1.0",
    .description = "Constrain output to a regular expression (ECMA-262 subset, as JSON Schema patterns)",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = create,
    .destroy = wg_instance_destroy,
    .vtable = &wg_instance_vtable,
};

static const weft_component_desc *const components[] = {&desc};
WEFT_PLUGIN_DEFINE(components)
