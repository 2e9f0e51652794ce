/* Same pipeline, seed and input: byte-identical output across runs, across
 * requests on one pipeline, and across thread counts (the thread pool's
 * per-item rule, docs/design.md). On stories260K, for a sampled pipeline and
 * a speculative-sampling one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_harness.h"
#include "test_paths.h"

#define SAMPLERS \
    "[{\"use\": \"top-k\", \"k\": 40}, {\"use\": \"top-p\", \"p\": 0.9}, {\"use\": \"temperature\", \"t\": 0.9}]"

static const char *const prompts[] = {"Once upon a time", "The little dog", "Lily and Ben went to the park"};
#define N_PROMPTS (sizeof prompts / sizeof *prompts)

static char *pipeline_json(bool speculative) {
    char model[1024];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    char *json = malloc(4096);
    snprintf(json, 4096,
             "{\"backend\": {\"use\": \"llama\", \"model\": \"%s\"}, %s \"samplers\": " SAMPLERS ","
             " \"generate\": {\"max_tokens\": 96, \"seed\": 1234}}",
             model, speculative ? "\"drafter\": {\"use\": \"prompt-lookup\"}, \"verifier\": {\"use\": \"speculative-sampling\"}," : "");
    return json;
}

/* Each prompt's output text (twice in a row on one pipeline, which must
 * agree), joined with '\n'. */
static char *outputs(weft_registry *reg, const char *json, int threads) {
    weft_options opt = {.n_threads = threads};
    char err[WEFT_ERR_CAP] = "";
    weft_pipeline *p = weft_pipeline_new(reg, json, strlen(json), "determinism", &opt, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    size_t cap = 1 << 16, used = 0;
    char *all = calloc(cap, 1);
    for (size_t i = 0; i < N_PROMPTS; i++) {
        weft_result a, b;
        th_generate(p, prompts[i], -1, -1, &a);
        th_generate(p, prompts[i], -1, -1, &b);
        cr_assert_eq(a.n_tokens, b.n_tokens, "'%s': a repeated request differs", prompts[i]);
        cr_assert_arr_eq(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens, "'%s': a repeated request differs", prompts[i]);
        cr_assert_gt(a.n_tokens, 8, "'%s': too short to compare", prompts[i]);
        cr_assert_lt(used + a.text_len + 2, cap);
        used += (size_t)snprintf(all + used, cap - used, "%s\n", a.text);
        weft_result_free(&a);
        weft_result_free(&b);
    }
    weft_pipeline_free(p);
    return all;
}

static void check(bool speculative) {
    weft_registry *reg = th_registry();
    char *json = pipeline_json(speculative);
    char *one = outputs(reg, json, 1), *again = outputs(reg, json, 1), *two = outputs(reg, json, 2);
    cr_expect_str_eq(one, again, "two runs differ");
    cr_expect_str_eq(one, two, "1 and 2 threads differ");
    free(one);
    free(again);
    free(two);
    free(json);
    weft_registry_free(reg);
}

Test(determinism, sampled, .timeout = 300) { check(false); }
Test(determinism, speculative_sampling, .timeout = 300) { check(true); }

/* Through the runner: stdout is byte-identical for -t 1, -t 1 again and -t 2. */
Test(determinism, runner, .timeout = 300) {
    char *json = pipeline_json(true), *path = th_write_file("pipe.json", json);
    char *out[3];
    const char *threads[] = {"1", "1", "2"};
    for (int i = 0; i < 3; i++) {
        th_cmd c;
        th_cli(&c, (const char *const[]){"run", path, "-p", "Once upon a time", "-t", threads[i], "-q", NULL});
        cr_assert_eq(c.code, 0, "%s", c.err);
        out[i] = strdup(c.out);
        th_cmd_free(&c);
    }
    cr_expect_gt(strlen(out[0]), 20);
    cr_expect_str_eq(out[0], out[1], "two runs differ");
    cr_expect_str_eq(out[0], out[2], "1 and 2 threads differ");
    for (int i = 0; i < 3; i++) free(out[i]);
    free(json);
    free(path);
}
