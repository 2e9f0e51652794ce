/* weft plugins [describe NAME] — what is installed, and each component's
 * declared parameters and actions (like gst-inspect). */
#include <stdio.h>
#include <string.h>

#include "runner.h"

static const char plugins_help[] =
    "usage: weft plugins [-P DIR] [-v]            list every component found\n"
    "       weft plugins describe NAME [-P DIR]   parameters, actions, ABI version, file\n";

static void flags_text(uint64_t f, char *buf, size_t cap) {
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {{WEFT_CAP_LOSSLESS, "lossless"},       {WEFT_CAP_TREES, "trees"},
                 {WEFT_CAP_DRAFT_PROBS, "draft-probs"}, {WEFT_CAP_NEEDS_HISTORY, "history"},
                 {WEFT_CAP_STATEFUL, "stateful"},       {WEFT_CAP_AUX_ROWS, "aux-rows"},
                 {WEFT_CAP_LOSSLESS_GREEDY, "lossless-greedy"}};
    buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit) {
            size_t l = strlen(buf);
            snprintf(buf + l, cap - l, "%s%s", l ? ", " : "", names[i].name);
        }
}

static void describe(const weft_component_info *c) {
    const weft_component_desc *d = c->desc;
    char fl[128];
    flags_text(d->flags, fl, sizeof fl);
    printf("%s %s %s\n  %s\n", weft_kind_name(d->kind), d->name, d->version ? d->version : "", d->description ? d->description : "");
    printf("  file: %s\n  ABI: %u.%u\n", c->file, d->abi_major, d->abi_minor);
    if (*fl) printf("  capabilities: %s\n", fl);
    printf("  parameters:%s\n", d->n_params ? "" : " none");
    for (size_t i = 0; i < d->n_params; i++) {
        const weft_param_desc *p = &d->params[i];
        printf("    %-18s %s", p->name, weft_type_name(p->type));
        if (p->type == WEFT_TYPE_COMPONENT || p->type == WEFT_TYPE_COMPONENT_LIST) printf(" (%s)", weft_kind_name(p->nested_kind));
        if ((p->flags & WEFT_PARAM_HAS_MIN) && (p->flags & WEFT_PARAM_HAS_MAX)) printf(" in [%g, %g]", p->min, p->max);
        else if (p->flags & WEFT_PARAM_HAS_MIN) printf(" >= %g", p->min);
        else if (p->flags & WEFT_PARAM_HAS_MAX) printf(" <= %g", p->max);
        if (p->choices) {
            printf(" one of");
            for (const char *const *ch = p->choices; *ch; ch++) printf(" %s", *ch);
        }
        if (p->flags & WEFT_PARAM_REQUIRED) printf(", required");
        if (p->def) printf(", default %s", p->def);
        printf("\n      %s\n", p->doc ? p->doc : "");
    }
    if (d->n_actions) printf("  actions:\n");
    for (size_t i = 0; i < d->n_actions; i++) {
        const weft_action_desc *a = &d->actions[i];
        printf("    %s %s(", weft_type_name(a->ret), a->name);
        for (size_t j = 0; j < a->n_args; j++)
            printf("%s%s %s", j ? ", " : "", weft_type_name(a->arg_types[j]), a->arg_names ? a->arg_names[j] : "");
        printf(")\n      %s\n", a->doc ? a->doc : "");
    }
}

int cmd_plugins(int argc, char **argv) {
    const char *extra = NULL, *name = NULL;
    bool verbose = false, want_describe = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(plugins_help, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "-P") == 0 && i + 1 < argc) extra = argv[++i];
        else if (strcmp(argv[i], "-v") == 0) verbose = true;
        else if (strcmp(argv[i], "describe") == 0 && !want_describe) want_describe = true;
        else if (want_describe && !name) name = argv[i];
        else {
            fputs(plugins_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (want_describe && !name) {
        fputs(plugins_help, stderr);
        return EXIT_USAGE;
    }
    weft_registry *reg = runner_registry(extra, verbose);
    if (!reg) return EXIT_PLUGIN;
    int code = EXIT_OK;
    if (want_describe) {
        bool found = false;
        for (size_t i = 0; i < weft_registry_count(reg); i++) {
            const weft_component_info *c = weft_registry_at(reg, i);
            if (strcmp(c->desc->name, name) == 0) {
                if (found) printf("\n");
                describe(c);
                found = true;
            }
        }
        if (!found) {
            fprintf(stderr, "weft: no component named '%s' (see 'weft plugins')\n", name);
            code = EXIT_PLUGIN;
        }
    } else {
        for (int k = 1; k <= WEFT_KIND_COUNT; k++)
            for (size_t i = 0; i < weft_registry_count(reg); i++) {
                const weft_component_info *c = weft_registry_at(reg, i);
                if ((int)c->desc->kind == k)
                    printf("%-14s %-22s %s\n", weft_kind_name(c->desc->kind), c->desc->name,
                           c->desc->description ? c->desc->description : "");
            }
    }
    weft_registry_free(reg);
    return code;
}
