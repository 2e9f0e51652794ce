/* The registry refuses broken plugins (tests/fixtures/abi_bad.c) with a
 * message naming the file, the versions or the symbol at fault, registers
 * all of a file's components or none, and stays usable afterwards. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

typedef struct refusal {
    weft_status status;
    char path[1024];
    char err[WEFT_ERR_CAP];
} refusal;

/* Loads a file that must be refused; checks the registry did not change. */
static void load_refused(weft_registry *reg, const char *path, refusal *r) {
    size_t before = weft_registry_count(reg);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->err[0] = 0;
    r->status = weft_registry_load(reg, path, r->err, sizeof r->err);
    cr_assert_neq(r->status, WEFT_OK, "%s was accepted", path);
    cr_assert_eq(weft_registry_count(reg), before, "%s registered components although refused", path);
    cr_assert(strstr(r->err, path), "message does not name the file %s: %s", path, r->err);
}

static void refuse_fixture(weft_registry *reg, const char *file, refusal *r) {
    char path[1024];
    load_refused(reg, th_fixture_path(path, sizeof path, file), r);
}

#define ASSERT_SAYS(r, text) cr_assert(strstr((r)->err, (text)), "expected \"%s\" in: %s", (text), (r)->err)

Test(registry, wrong_major_names_both_versions) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-abi-major.so", &r);
    char plugin[32], host[32];
    snprintf(plugin, sizeof plugin, "ABI 2.%d", WEFT_ABI_MINOR);
    snprintf(host, sizeof host, "ABI %d.%d", WEFT_ABI_MAJOR, WEFT_ABI_MINOR);
    cr_assert_eq(r.status, WEFT_ERR_ABI);
    ASSERT_SAYS(&r, plugin);
    ASSERT_SAYS(&r, host);
    ASSERT_SAYS(&r, "'abi-major'");
    weft_registry_free(reg);
}

Test(registry, newer_minor_names_both_versions) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-abi-minor.so", &r);
    char plugin[32], host[32];
    snprintf(plugin, sizeof plugin, "ABI %d.%d", WEFT_ABI_MAJOR, WEFT_ABI_MINOR + 1);
    snprintf(host, sizeof host, "ABI %d.%d", WEFT_ABI_MAJOR, WEFT_ABI_MINOR);
    cr_assert_eq(r.status, WEFT_ERR_ABI);
    ASSERT_SAYS(&r, plugin);
    ASSERT_SAYS(&r, host);
    weft_registry_free(reg);
}

Test(registry, no_entry_symbol_names_the_symbol) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-no-entry.so", &r);
    ASSERT_SAYS(&r, WEFT_ENTRY_SYMBOL);
    weft_registry_free(reg);
}

Test(registry, not_a_shared_object) {
    weft_registry *reg = weft_registry_new();
    char *path = th_write_file("weft-sampler-text.so", "this is a text file, not an ELF object\n");
    refusal r;
    load_refused(reg, path, &r);
    cr_assert_eq(r.status, WEFT_ERR_IO);
    /* a scan reports it as one problem among the folder's files and goes on */
    char problems[2048] = "";
    cr_assert_eq(weft_registry_scan(reg, th_tmp_dir(), problems, sizeof problems), 0);
    cr_assert(strstr(problems, path), "scan did not report %s: %s", path, problems);
    free(path);
    weft_registry_free(reg);
}

Test(registry, missing_file) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-does-not-exist.so", &r);
    cr_assert_eq(r.status, WEFT_ERR_IO);
    weft_registry_free(reg);
}

Test(registry, duplicate_name_across_files_registers_nothing) {
    weft_registry *reg = weft_registry_new();
    char a[1024], err[WEFT_ERR_CAP] = "";
    th_fixture_path(a, sizeof a, "fixture-dup-a.so");
    cr_assert_eq(weft_registry_load(reg, a, err, sizeof err), WEFT_OK, "%s", err);
    const weft_component_info *first = weft_registry_find(reg, WEFT_KIND_SAMPLER, "dup");
    cr_assert_not_null(first);
    refusal r;
    refuse_fixture(reg, "fixture-dup-b.so", &r); /* registers "dup-b-extra", then "dup" */
    ASSERT_SAYS(&r, "'dup'");
    ASSERT_SAYS(&r, a); /* who had it first */
    /* all or nothing: the good component registered before the clash is gone too */
    cr_assert_null(weft_registry_find(reg, WEFT_KIND_SAMPLER, "dup-b-extra"));
    cr_assert_eq(weft_registry_find(reg, WEFT_KIND_SAMPLER, "dup"), first);
    cr_assert_str_eq(first->file, a);
    weft_registry_free(reg);
}

Test(registry, duplicate_name_in_one_file) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-dup-twice.so", &r);
    ASSERT_SAYS(&r, "'dup-twice'");
    ASSERT_SAYS(&r, "twice");
    cr_assert_null(weft_registry_find(reg, WEFT_KIND_SAMPLER, "dup-twice"));
    weft_registry_free(reg);
}

Test(registry, descriptor_too_small) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-desc-small.so", &r);
    char size[64];
    snprintf(size, sizeof size, "struct_size %zu", offsetof(weft_component_desc, vtable));
    ASSERT_SAYS(&r, "descriptor too small");
    ASSERT_SAYS(&r, size);
    weft_registry_free(reg);
}

Test(registry, vtable_too_small) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-vtable-small.so", &r);
    char size[64];
    snprintf(size, sizeof size, "struct_size %zu", sizeof(size_t));
    ASSERT_SAYS(&r, "'vtable-small'");
    ASSERT_SAYS(&r, "vtable too small");
    ASSERT_SAYS(&r, size);
    weft_registry_free(reg);
}

Test(registry, mandatory_method_null) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-null-method.so", &r);
    ASSERT_SAYS(&r, "'null-method'");
    ASSERT_SAYS(&r, "apply");
    ASSERT_SAYS(&r, "NULL");
    weft_registry_free(reg);
}

Test(registry, entry_returns_an_error) {
    weft_registry *reg = weft_registry_new();
    refusal r;
    refuse_fixture(reg, "fixture-entry-fails.so", &r);
    cr_assert_eq(r.status, WEFT_ERR_UNSUPPORTED);
    ASSERT_SAYS(&r, weft_status_name(WEFT_ERR_UNSUPPORTED));
    weft_registry_free(reg);
}

/* Every refusal in a row, then good plugins still load and work. */
Test(registry, usable_after_failures) {
    weft_registry *reg = weft_registry_new();
    static const char *const bad[] = {"fixture-abi-major.so", "fixture-abi-minor.so", "fixture-no-entry.so",
                                      "fixture-desc-small.so", "fixture-vtable-small.so", "fixture-null-method.so",
                                      "fixture-entry-fails.so", "fixture-dup-twice.so", "fixture-missing.so"};
    refusal r;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refuse_fixture(reg, bad[i], &r);
    cr_assert_eq(weft_registry_count(reg), 0);
    char path[1024], err[WEFT_ERR_CAP] = "";
    cr_assert_eq(weft_registry_load(reg, th_builtin_path(path, sizeof path, "weft-sampler-greedy.so"), err, sizeof err),
                 WEFT_OK, "%s", err);
    cr_assert_eq(weft_registry_load(reg, th_fixture_path(path, sizeof path, "weft-backend-markov.so"), err, sizeof err),
                 WEFT_OK, "%s", err);
    cr_assert_eq(weft_registry_load(reg, th_builtin_path(path, sizeof path, "weft-verifier-speculative-sampling.so"),
                                    err, sizeof err),
                 WEFT_OK, "%s", err);
    cr_assert_eq(weft_registry_count(reg), 3);
    /* and a pipeline built from them decodes */
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}}");
    weft_result res;
    th_generate(p, "abc", 5, -1, &res);
    cr_assert_eq(res.n_tokens, 5);
    weft_result_free(&res);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

Test(registry, loading_a_file_twice_is_a_no_op) {
    weft_registry *reg = weft_registry_new();
    char path[1024], err[WEFT_ERR_CAP] = "";
    th_fixture_path(path, sizeof path, "weft-sampler-fixture-actions.so");
    cr_assert_eq(weft_registry_load(reg, path, err, sizeof err), WEFT_OK, "%s", err);
    cr_assert_eq(weft_registry_load(reg, path, err, sizeof err), WEFT_OK, "%s", err);
    cr_assert_eq(weft_registry_count(reg), 1);
    weft_registry_free(reg);
}

/* Counts the files of a folder named weft-*.so (what a scan may load). */
static int count_plugin_files(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += strncmp(e->d_name, "weft-", 5) == 0 && len > 3 && strcmp(e->d_name + len - 3, ".so") == 0;
    }
    closedir(d);
    return n;
}

/* A scan of the test-plugin folder loads every weft-*.so plugin (one
 * component each here) and never the broken fixture-*.so files beside them. */
Test(registry, scan_skips_fixture_files) {
    weft_registry *reg = weft_registry_new();
    char problems[4096] = "";
    int files = count_plugin_files(WEFT_TEST_FIXTURE_DIR);
    int n = weft_registry_scan(reg, WEFT_TEST_FIXTURE_DIR, problems, sizeof problems);
    cr_assert_str_empty(problems);
    cr_assert_geq(files, 5);
    cr_assert_eq(n, files, "loaded %d of %d test plugins", n, files);
    static const struct {
        weft_kind kind;
        const char *name;
    } good[] = {{WEFT_KIND_BACKEND, "markov"},
                {WEFT_KIND_SAMPLER, "fixture-actions"},
                {WEFT_KIND_DRAFTER, "random-draft"},
                {WEFT_KIND_DRAFTER, "bad-draft"},
                {WEFT_KIND_VERIFIER, "accept-all"}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_assert_not_null(weft_registry_find(reg, good[i].kind, good[i].name), "%s missing", good[i].name);
    cr_assert_null(weft_registry_find_any(reg, "dup"));
    cr_assert_null(weft_registry_find_any(reg, "abi-minor"));
    weft_registry_free(reg);
}
