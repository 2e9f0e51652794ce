/* gbnf: a grammar given in llama.cpp's GBNF, inline or from a .gbnf file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbnf_parse.h"

enum { P_GRAMMAR, P_FILE, P_ROOT, P_LIMITS };

static const weft_param_desc params[] = {
    WEFT_PARAM_STRING("grammar", NULL, "GBNF text (exactly one of grammar and file)"),
    WEFT_PARAM("file", WEFT_TYPE_STRING, WEFT_PARAM_FILE, 0, 0, NULL, "A .gbnf file (exactly one of grammar and file)"),
    WEFT_PARAM_STRING("root", "\"root\"", "The start rule"),
    WG_LIMIT_PARAMS,
};

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    bool inline_text = args[P_GRAMMAR].present, from_file = args[P_FILE].present;
    if (inline_text == from_file) {
        weft_error(env, "give exactly one of 'grammar' (GBNF text) and 'file' (a .gbnf path)");
        return WEFT_ERR_INVALID;
    }
    wg_error err = {{0}};
    size_t len = 0;
    char *owned = NULL;
    const char *text = args[P_GRAMMAR].u.s;
    if (from_file) {
        owned = wg_read_file(args[P_FILE].u.s, &len, &err);
        if (!owned) {
            weft_error(env, "%s", err.msg);
            return WEFT_ERR_IO;
        }
        text = owned;
    } else {
        len = strlen(text);
    }
    wg_limits lim = wg_limits_from_args(&args[P_LIMITS]);
    wg_grammar *g = gbnf_compile(text, len, args[P_ROOT].u.s, &lim, &err);
    free(owned);
    if (!g) {
        weft_error(env, "%s%s%s", from_file ? args[P_FILE].u.s : "grammar", err.msg[0] >= '0' && err.msg[0] <= '9' ? ":" : ": ",
                   err.msg);
        return WEFT_ERR_INVALID;
    }
    return wg_instance_create(env, g, &lim, self);
}

static const weft_component_desc desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_GRAMMAR,
    .name = "gbnf",
    .version = "1.0",
    .description = "Constrain output to a GBNF grammar (llama.cpp syntax)",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = create,
    .destroy = wg_instance_destroy,
    .vtable = &wg_instance_vtable,
};

static const weft_component_desc *const components[] = {&desc};
WEFT_PLUGIN_DEFINE(components)
