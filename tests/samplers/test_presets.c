/* Sampler presets: the "llama.cpp" chain is llama.cpp's default CLI chain
 * (common/common.h: order and values), it builds and runs, and on the real
 * stories260K model it is deterministic for a seed across runs and thread
 * counts. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core_harness.h"
#include "json_check.h"
#include "presets.h"

Test(presets, llama_cpp_order_and_values) {
    const char *json = sampler_preset_json("llama.cpp");
    cr_assert_not_null(json);
    cJSON *a = cJSON_Parse(json);
    cr_assert(cJSON_IsArray(a), "not a JSON array: %s", json);
    /* common_params_sampling::samplers, in order */
    static const char *const order[] = {"penalties", "dry",   "top-n-sigma", "top-k",      "typical",
                                        "top-p",     "min-p", "xtc",         "temperature"};
    cr_assert_eq(cJSON_GetArraySize(a), 9);
    for (int i = 0; i < 9; i++) {
        const cJSON *use = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, i), "use");
        cr_assert(cJSON_IsString(use) && strcmp(use->valuestring, order[i]) == 0, "entry %d is not %s", i, order[i]);
    }
    /* the defaults of common_params_sampling */
    const cJSON *pen = cJSON_GetArrayItem(a, 0), *dry = cJSON_GetArrayItem(a, 1);
    cr_assert_eq(json_num(pen, "last_n"), 64);
    cr_assert_eq(json_num(pen, "repeat"), 1.0);
    cr_assert_eq(json_num(pen, "frequency"), 0.0);
    cr_assert_eq(json_num(pen, "presence"), 0.0);
    cr_assert_eq(json_num(dry, "multiplier"), 0.0);
    cr_assert_eq(json_num(dry, "base"), 1.75);
    cr_assert_eq(json_num(dry, "allowed_length"), 2);
    cr_assert_eq(json_num(dry, "penalty_last_n"), 64);
    const cJSON *br = cJSON_GetObjectItemCaseSensitive(dry, "sequence_breakers");
    static const char *const breakers[] = {"\n", ":", "\"", "*"};
    cr_assert_eq(cJSON_GetArraySize(br), 4);
    for (int i = 0; i < 4; i++) cr_assert_str_eq(cJSON_GetArrayItem(br, i)->valuestring, breakers[i]);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 2), "n"), -1.0);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 3), "k"), 40);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 4), "p"), 1.0);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 5), "p"), 0.95);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 6), "p"), 0.05);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 7), "probability"), 0.0);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 7), "threshold"), 0.1);
    cr_assert_eq(json_num(cJSON_GetArrayItem(a, 8), "t"), 0.8);
    cJSON_Delete(a);
}

Test(presets, greedy_and_unknown) {
    cr_assert_str_eq(sampler_preset_json("greedy"), "[{\"use\": \"greedy\"}]");
    cr_assert_null(sampler_preset_json("llama"));
    cr_assert_null(sampler_preset_json(NULL));
    cr_assert(strstr(sampler_preset_names(), "llama.cpp") && strstr(sampler_preset_names(), "greedy"));
}

/* The chain validates against the plugins' declarations and runs. */
Test(presets, llama_cpp_chain_runs_on_markov) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, \"samplers\": %s}",
                                   sampler_preset_json("llama.cpp"));
    weft_result a, b;
    th_generate(p, "abcab", 40, 9, &a);
    th_generate(p, "abcab", 40, 9, &b);
    cr_assert_gt(a.n_tokens, 0);
    cr_assert_eq(a.n_tokens, b.n_tokens);
    cr_assert_arr_eq(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens);
    weft_result_free(&a);
    weft_result_free(&b);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* stories260K with the llama.cpp chain: the same seed gives the same text
 * on every run and with 1 or 2 threads (the backend reduces per item). */
Test(presets, llama_cpp_chain_on_stories260k_is_deterministic, .timeout = 60) {
    char model[1024];
    const char *dir = getenv("WEFT_MODELS");
    snprintf(model, sizeof model, "%s/derived/stories260K-f32-v3.gguf", dir && *dir ? dir : WEFT_TEST_MODELS_DIR);
    if (access(model, R_OK) != 0) cr_skip_test("no model at %s", model);
    weft_registry *reg = th_registry();
    if (!weft_registry_find(reg, WEFT_KIND_BACKEND, "llama")) cr_skip_test("the llama backend is not built");
    char *first = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        weft_pipeline *p = th_pipeline(reg,
                                       "{\"threads\": %d, \"backend\": {\"use\": \"llama\", \"model\": \"%s\"}, "
                                       "\"samplers\": %s, \"generate\": {\"seed\": 1234}}",
                                       threads, model, sampler_preset_json("llama.cpp"));
        for (int run = 0; run < 2; run++) {
            weft_result r;
            th_generate(p, "Once upon a time", 96, -1, &r);
            cr_assert_gt(r.n_tokens, 10);
            if (!first) first = strdup(r.text);
            else cr_assert_str_eq(r.text, first, "threads %d, run %d differs:\n%s\n---\n%s", threads, run, r.text, first);
            weft_result_free(&r);
        }
        weft_pipeline_free(p);
    }
    /* and a different seed gives a different story (the chain samples) */
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": {\"use\": \"llama\", \"model\": \"%s\"}, \"samplers\": %s, "
                                   "\"generate\": {\"seed\": 99}}",
                                   model, sampler_preset_json("llama.cpp"));
    weft_result r;
    th_generate(p, "Once upon a time", 96, -1, &r);
    cr_assert_str_neq(r.text, first);
    weft_result_free(&r);
    weft_pipeline_free(p);
    free(first);
    weft_registry_free(reg);
}
