/* MaskBench regression: the counts must not fall below the ones of the
 * current code (2026-11-22; docs/json-schema.md has the full-set run, which
 * the WEFT_MASKBENCH_FULL thresholds equal).
 * Zero invalid instances accepted and zero mask/accept disagreements are
 * hard requirements. Deterministic subsets keep the Debug build under a
 * minute: every 10th schema at byte level, every 200th at token level
 * (both vocabularies, a small mask-cache budget so cached and walked
 * positions are both exercised). WEFT_MASKBENCH_FULL=1 runs the whole set
 * at byte level instead. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "maskbench.h"
#include "test_paths.h"

static mb_opts opts(char *dir, size_t cap) {
    snprintf(dir, cap, "%s/maskbench-dev", test_testdata_dir());
    return (mb_opts){.dir = dir, .cache_ms = 5};
}

static void report(const mb_opts *o, const mb_result *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mb_print(f, o, r);
    fclose(f);
    cr_log_info("%s", buf);
    free(buf);
}

static void hard_requirements(const mb_level *lv, const char *what) {
    cr_expect_eq(lv->invalid_accepted, 0, "%s: invalid instances accepted", what);
    cr_expect_eq(lv->mask_disagreements, 0, "%s: tokens in the mask that accept refused (or the reverse)", what);
}

Test(maskbench, bytes, .timeout = 120) {
    char dir[4096];
    mb_opts o = opts(dir, sizeof dir);
    bool full = getenv("WEFT_MASKBENCH_FULL") && *getenv("WEFT_MASKBENCH_FULL") == '1';
    o.every = full ? 1 : 10;
    mb_result r;
    cr_assert(mb_run(&o, &r));
    report(&o, &r);
    hard_requirements(&r.bytes, "bytes");
    if (full) { /* the whole dev set (docs/json-schema.md) */
        cr_expect_eq(r.schemas, 2205);
        cr_expect_geq(r.compiled, 2071, "schemas compiled: %zu", r.compiled);
        cr_expect_geq(r.bytes.passing, 2044, "schemas passing: %zu", r.bytes.passing);
        /* 46: two schemas that compile since rules are shared (tmlanguage,
         * o83677) take members in schema order, which their instances do not */
        cr_expect_leq(r.bytes.valid_rejected, 46, "valid instances rejected: %zu", r.bytes.valid_rejected);
    } else {
        cr_expect_eq(r.schemas, 221);
        cr_expect_geq(r.compiled, 203, "schemas compiled: %zu", r.compiled);
        cr_expect_geq(r.bytes.passing, 199, "schemas passing: %zu", r.bytes.passing);
        cr_expect_leq(r.bytes.valid_rejected, 5, "valid instances rejected: %zu", r.bytes.valid_rejected);
    }
}

Test(maskbench, tokens, .timeout = 120) {
    char dir[4096], spm[4096], gpt2[4096];
    mb_opts o = opts(dir, sizeof dir);
    o.every = 200;
    o.vocabs[o.n_vocabs++] = test_model_path(spm, sizeof spm, "ggml-vocab-llama-spm.gguf");
    o.vocabs[o.n_vocabs++] = test_model_path(gpt2, sizeof gpt2, "ggml-vocab-gpt-2.gguf");
    mb_result r;
    cr_assert(mb_run(&o, &r));
    report(&o, &r);
    cr_expect_eq(r.schemas, 12);
    hard_requirements(&r.bytes, "bytes");
    for (size_t v = 0; v < o.n_vocabs; v++) {
        hard_requirements(&r.tokens[v], o.vocabs[v]);
        /* the token level judges exactly like the byte level */
        cr_expect_eq(r.tokens[v].passing, r.bytes.passing, "%s", o.vocabs[v]);
        cr_expect_eq(r.tokens[v].valid_rejected, r.bytes.valid_rejected, "%s", o.vocabs[v]);
        cr_expect_eq(r.tokens[v].skipped, 0, "%s: instances the tokenizer could not spell", o.vocabs[v]);
    }
    cr_expect_geq(r.bytes.passing, 10);
}
