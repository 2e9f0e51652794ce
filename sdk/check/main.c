/* weft-plugin-check: loads plugin files through libweft's registry (so the
 * host's ABI checks apply first) and runs every rule of each registered
 * component's kind against generated inputs. One report line per rule;
 * the exit status is 1 when any rule failed. docs/sdk.md lists the rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char usage[] =
    "usage: weft-plugin-check [options] PLUGIN.so...\n"
    "\n"
    "Checks every component the files register against its kind's contract.\n"
    "\n"
    "options:\n"
    "  --param [NAME.]KEY=VALUE  a parameter for the components declaring KEY (only NAME's\n"
    "                            if given); VALUE is JSON, or else a plain string\n"
    "  --model FILE              a model: the \"model\" of a backend under test, and a\n"
    "                            backend for the rules of other kinds that use one\n"
    "  --backend NAME            the backend for other kinds' rules (default llama when\n"
    "                            --model is given)\n"
    "  -P, --plugins DIR         also load DIR's plugins (nested components, --backend);\n"
    "                            the default search path is always loaded\n"
    "  -m, --models DIR          where relative file parameters are found\n"
    "                            (default $WEFT_MODELS, else ../shared/models)\n"
    "  --rule PREFIX             run only the rules whose names start with PREFIX\n"
    "  --seed N                  seed of the generated inputs (default 1)\n"
    "  --timeout SECONDS         limit per rule (default 300; 0 = none)\n"
    "  --no-fork                 run rules in this process (debuggers, valgrind); by\n"
    "                            default each runs in a child, so a crash fails one rule\n"
    "  -q, --quiet               print only failures and the summary\n"
    "\n"
    "Each line reads: PASS|FAIL|SKIP <kind> <name>: <rule>: <reason>.\n"
    "exit status: 0 nothing failed, 1 a rule failed or a file was refused, 2 usage\n";

typedef struct cli {
    chk_options opt;
    const char **files, **dirs, **only;
    size_t n_files, n_dirs, n_only;
} cli;

static bool parse_param(const char *arg, chk_param *p) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return false;
    char *left = strndup(arg, (size_t)(eq - arg)), *dot = left ? strchr(left, '.') : NULL;
    if (!left) return false;
    if (dot) *dot = 0;
    p->component = dot ? left : NULL;
    p->key = dot ? dot + 1 : left;
    p->value = eq + 1;
    return *p->key != 0;
}

/* -1: go on; else the exit status. */
static int parse(int argc, char **argv, cli *c) {
    c->opt = (chk_options){.seed = 1, .fork = true, .timeout = 300};
    const char *e = getenv("WEFT_MODELS");
    c->opt.models_dir = e && *e ? e : "../shared/models"; /* the runner's default */
    c->files = calloc((size_t)argc, sizeof *c->files);
    c->dirs = calloc((size_t)argc, sizeof *c->dirs);
    c->only = calloc((size_t)argc, sizeof *c->only);
    c->opt.params = calloc((size_t)argc, sizeof *c->opt.params);
    if (!c->files || !c->dirs || !c->only || !c->opt.params) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--no-fork")) c->opt.fork = false;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) c->opt.quiet = true;
        else if (a[0] != '-') c->files[c->n_files++] = a;
        else if (i + 1 == argc) {
            fprintf(stderr, "weft-plugin-check: %s wants a value\n", a);
            return 2;
        } else {
            const char *v = argv[++i];
            if (!strcmp(a, "--param")) {
                if (!parse_param(v, &c->opt.params[c->opt.n_params++])) {
                    fprintf(stderr, "weft-plugin-check: --param wants [NAME.]KEY=VALUE, got '%s'\n", v);
                    return 2;
                }
            } else if (!strcmp(a, "--model")) c->opt.model = v;
            else if (!strcmp(a, "--backend")) c->opt.backend = v;
            else if (!strcmp(a, "-P") || !strcmp(a, "--plugins")) c->dirs[c->n_dirs++] = v;
            else if (!strcmp(a, "-m") || !strcmp(a, "--models")) c->opt.models_dir = v;
            else if (!strcmp(a, "--rule")) c->only[c->n_only++] = v;
            else if (!strcmp(a, "--seed")) c->opt.seed = strtoull(v, NULL, 10);
            else if (!strcmp(a, "--timeout")) c->opt.timeout = (unsigned)strtoul(v, NULL, 10);
            else {
                fprintf(stderr, "weft-plugin-check: unknown option '%s'\n%s", a, usage);
                return 2;
            }
        }
    }
    if (c->n_files == 0) {
        fputs(usage, stderr);
        return 2;
    }
    return -1;
}

static bool selected(const cli *c, const char *rule) {
    for (size_t i = 0; i < c->n_only; i++)
        if (!strncmp(rule, c->only[i], strlen(c->only[i]))) return true;
    return c->n_only == 0;
}

typedef struct tally {
    size_t verdicts[3], components;
} tally;

static void run_rules(const cli *c, const chk_subject *s, const chk_rule *rules, size_t n, tally *t) {
    for (size_t i = 0; i < n; i++) {
        if (!selected(c, rules[i].name)) continue;
        t->verdicts[chk_run_rule(s, &rules[i])]++;
    }
}

static void check_component(const cli *c, weft_registry *reg, const weft_component_info *info, tally *t) {
    chk_subject s = {.reg = reg, .info = info, .desc = info->desc, .opt = &c->opt};
    static const struct {
        const chk_rule *rules;
        const size_t *n;
    } by_kind[WEFT_KIND_COUNT + 1] = {
        [WEFT_KIND_BACKEND] = {chk_backend_rules, &chk_n_backend_rules},
        [WEFT_KIND_DRAFTER] = {chk_drafter_rules, &chk_n_drafter_rules},
        [WEFT_KIND_VERIFIER] = {chk_verifier_rules, &chk_n_verifier_rules},
        [WEFT_KIND_SAMPLER] = {chk_sampler_rules, &chk_n_sampler_rules},
        [WEFT_KIND_GRAMMAR] = {chk_grammar_rules, &chk_n_grammar_rules},
        [WEFT_KIND_KV_COMPRESSOR] = {chk_kv_rules, &chk_n_kv_rules},
    };
    t->components++;
    run_rules(c, &s, chk_common_rules, chk_n_common_rules, t);
    run_rules(c, &s, by_kind[info->desc->kind].rules, *by_kind[info->desc->kind].n, t);
}

int main(int argc, char **argv) {
    cli c = {0};
    int code = parse(argc, argv, &c);
    weft_registry *reg = code < 0 ? weft_registry_new() : NULL;
    tally t = {{0}, 0};
    size_t refused = 0;
    if (reg) {
        /* The files under test first, so their components win any name clash. */
        size_t *first = calloc(c.n_files + 1, sizeof *first);
        for (size_t f = 0; first && f < c.n_files; f++) {
            char err[WEFT_ERR_CAP], path[4096];
            /* dlopen() searches the library path for a bare name, not "." */
            snprintf(path, sizeof path, "%s%s", strchr(c.files[f], '/') ? "" : "./", c.files[f]);
            first[f] = weft_registry_count(reg);
            if (weft_registry_load(reg, path, err, sizeof err) != WEFT_OK) {
                printf("FAIL file %s: load: %s\n", c.files[f], err);
                refused++;
            }
        }
        if (first) first[c.n_files] = weft_registry_count(reg);
        for (size_t d = 0; d < c.n_dirs; d++) weft_registry_scan(reg, c.dirs[d], NULL, 0);
        weft_registry_scan_defaults(reg, NULL, 0);
        for (size_t f = 0; first && f < c.n_files; f++)
            for (size_t i = first[f]; i < first[f + 1]; i++) check_component(&c, reg, weft_registry_at(reg, i), &t);
        free(first);
        printf("weft-plugin-check: %zu components in %zu files: %zu passed, %zu failed, %zu skipped%s\n",
               t.components, c.n_files, t.verdicts[CHK_PASS], t.verdicts[CHK_FAIL] + refused, t.verdicts[CHK_SKIP],
               refused ? " (some files refused)" : "");
        code = t.verdicts[CHK_FAIL] || refused ? 1 : 0;
        weft_registry_free(reg);
    } else if (code < 0) {
        fprintf(stderr, "weft-plugin-check: out of memory\n");
        code = 1;
    }
    for (size_t i = 0; i < c.opt.n_params; i++)
        free((void *)(c.opt.params[i].component ? c.opt.params[i].component : c.opt.params[i].key));
    free(c.opt.params);
    free(c.files);
    free(c.dirs);
    free(c.only);
    return code;
}
