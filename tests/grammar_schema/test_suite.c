/* The official JSON Schema Test Suite (draft 2020-12): every test group is
 * compiled; a group the front-end refuses must be refused with the
 * fail-closed error (an unsupported keyword, named with its pointer), and
 * every case of a compiled group must agree with the suite: valid iff the
 * grammar accepts the instance text. Format is an annotation here, as the
 * suite expects by default (2020-12 Validation §7.2.1).
 *
 * KNOWN lists the cases where the grammar is deliberately stricter than the
 * specification (it accepts a subset of the valid texts), each with why. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyjson.h"
#include "schema_harness.h"
#include "test_paths.h"

typedef struct known {
    const char *file, *group, *test;
    const char *why;
} known;

static const known KNOWN[] = {
    {"const.json", "nul characters in strings", "match string with nul",
     "the host's json_string() ends strings at the first NUL: the literal is \"hello\" (see docs)"},
    {"enum.json", "nul characters in strings", "match string with nul", "as above"},
    {"vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary",
     "no validation: invalid number, but it still validates",
     "$vocabulary is not read: the validation keywords always assert"},
    {NULL, NULL, NULL, NULL},
};

static bool is_known(const char *file, const char *group, const char *test) {
    for (size_t i = 0; KNOWN[i].file; i++)
        if (!strcmp(KNOWN[i].file, file) && !strcmp(KNOWN[i].group, group) && !strcmp(KNOWN[i].test, test))
            return true;
    return false;
}

typedef struct counts {
    size_t groups, groups_compiled, groups_refused, groups_bad_refusal;
    size_t cases, cases_agree, cases_known, cases_disagree, cases_refused;
} counts;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    s[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

static void run_file(sh *h, const char *dir, const char *file, counts *k) {
    char path[4096];
    int plen = snprintf(path, sizeof path, "%s/%s", dir, file);
    cr_assert(plen > 0 && (size_t)plen < sizeof path, "path too long: %s/%s", dir, file);
    size_t len;
    char *text = slurp(path, &len);
    cr_assert(text, "cannot read %s", path);
    cJSON *doc = cJSON_ParseWithLength(text, len);
    cr_assert(doc, "%s: not JSON", file);
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.format_assert = false;
    int n_groups = cJSON_GetArraySize(doc);
    for (int gi = 0; gi < n_groups; gi++) {
        cJSON *group = cJSON_GetArrayItem(doc, gi);
        const char *gdesc = cJSON_GetStringValue(cJSON_GetObjectItem(group, "description"));
        cJSON *tests = cJSON_GetObjectItem(group, "tests");
        int n_tests = cJSON_GetArraySize(tests);
        k->groups++;
        weft_status st = sh_compile_node(h, cJSON_GetObjectItem(group, "schema"), &opt);
        if (st != WEFT_OK) {
            /* fail-closed: refused as unsupported, naming a keyword's place */
            bool proper = st == WEFT_ERR_UNSUPPORTED && strstr(sh_error(h), "/grammar/schema") &&
                          strstr(sh_error(h), "not supported");
            k->groups_refused++;
            k->cases_refused += (size_t)n_tests;
            if (!proper) {
                k->groups_bad_refusal++;
                cr_log_error("%s / %s: refused without a fail-closed error (%d): %s", file, gdesc, st, sh_error(h));
            }
            continue;
        }
        k->groups_compiled++;
        for (int ti = 0; ti < n_tests; ti++) {
            cJSON *t = cJSON_GetArrayItem(tests, ti);
            const char *tdesc = cJSON_GetStringValue(cJSON_GetObjectItem(t, "description"));
            bool valid = cJSON_IsTrue(cJSON_GetObjectItem(t, "valid"));
            size_t pos = 0;
            pj_buf inst = {0};
            cr_assert(pj_item(text, len, &pos, (size_t)gi) && pj_member(text, len, &pos, "tests") &&
                          pj_item(text, len, &pos, (size_t)ti) && pj_member(text, len, &pos, "data") &&
                          pj_dump(text, len, &pos, PJ_COMPACT, &inst),
                      "%s / %s / %s: cannot serialize the instance", file, gdesc, tdesc);
            bool acc = sh_accepts(h, inst.s);
            k->cases++;
            if (acc == valid) {
                k->cases_agree++;
            } else if (!acc && is_known(file, gdesc, tdesc)) {
                k->cases_known++;
            } else {
                k->cases_disagree++;
                cr_log_error("%s / %s / %s: valid=%d but %s: %s", file, gdesc, tdesc, valid,
                             acc ? "accepted" : "rejected", inst.s);
            }
            pj_buf_free(&inst);
        }
    }
    cJSON_Delete(doc);
    free(text);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

Test(json_schema_test_suite, draft2020_12, .timeout = 120) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/json-schema-test-suite", test_testdata_dir());
    DIR *d = opendir(dir);
    cr_assert(d, "no test suite at %s", dir);
    char *files[128];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 128) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json")) files[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(files, n, sizeof *files, cmp_str);
    sh h;
    sh_init(&h);
    counts k = {0};
    for (size_t i = 0; i < n; i++) {
        run_file(&h, dir, files[i], &k);
        free(files[i]);
    }
    sh_free(&h);
    cr_log_info("test suite: %zu groups: %zu compiled, %zu refused (fail-closed); %zu cases run: %zu agree, %zu "
                "known stricter, %zu disagree; %zu cases in refused groups",
                k.groups, k.groups_compiled, k.groups_refused, k.cases, k.cases_agree, k.cases_known,
                k.cases_disagree, k.cases_refused);
    printf("test suite: %zu groups: %zu compiled, %zu refused (fail-closed); %zu cases run: %zu agree, %zu known "
           "stricter, %zu disagree; %zu cases in refused groups\n",
           k.groups, k.groups_compiled, k.groups_refused, k.cases, k.cases_agree, k.cases_known, k.cases_disagree,
           k.cases_refused);
    cr_expect_eq(k.groups_bad_refusal, 0, "groups refused without the fail-closed error");
    cr_expect_eq(k.cases_disagree, 0, "cases where the grammar and the suite disagree");
    /* coverage must not regress: the counts when this test was written */
    cr_expect_geq(k.groups_compiled, 246, "groups compiled: %zu", k.groups_compiled);
    cr_expect_geq(k.cases_agree, 906, "cases agreeing: %zu", k.cases_agree);
    cr_expect_leq(k.cases_known, 3, "known stricter cases: %zu", k.cases_known);
}
