/* With a greedy sampler the target is one-hot, so multi-draft (both modes)
 * and typical-acceptance must commit exactly what plain greedy decoding
 * does: over 60 prompts on the Markov backend, with prompt-lookup chains and
 * random-draft / wor-draft trees, the output equals an independent greedy
 * reference token for token. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

#define N_PROMPTS 60
#define MAX_TOKENS 48

static const th_markov model = TH_MARKOV_DEFAULT;

static weft_registry *registry(void) {
    weft_registry *reg = th_registry();
    char problems[1024] = "";
    weft_registry_scan(reg, WEFT_VERIFIER_TEST_PLUGIN_DIR, problems, sizeof problems);
    cr_assert_str_empty(problems, "%s", problems);
    return reg;
}

static void check_greedy(const char *drafter, const char *verifier, bool lossy) {
    weft_registry *reg = registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": {\"use\": \"markov\"}, \"drafter\": %s, \"verifier\": %s, "
                                   "\"samplers\": [{\"use\": \"greedy\"}], \"generate\": {\"max_tokens\": %d}}",
                                   drafter, verifier, MAX_TOKENS);
    uint64_t state = 12345;
    int64_t accepted = 0;
    for (int i = 0; i < N_PROMPTS; i++) {
        char prompt[16];
        th_random_prompt(&state, model.n_vocab, 3 + (size_t)i % 10, prompt);
        int32_t ref[MAX_TOKENS];
        bool eos;
        size_t n = th_markov_greedy(&model, prompt, MAX_TOKENS, ref, &eos);
        weft_result r;
        th_generate(p, prompt, -1, i, &r);
        cr_assert_eq(r.n_tokens, n, "%s / %s, prompt \"%s\": %zu tokens, greedy gives %zu", drafter, verifier, prompt,
                     r.n_tokens, n);
        cr_assert_arr_eq(r.tokens, ref, n * sizeof *ref, "%s / %s, prompt \"%s\": not the greedy output", drafter,
                         verifier, prompt);
        cr_assert_eq(r.finish, eos ? WEFT_FINISH_EOS : WEFT_FINISH_LENGTH);
        cr_assert_eq(r.stats.lossy, lossy);
        accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    cr_assert_gt(accepted, N_PROMPTS, "%s / %s: only %lld draft tokens accepted", drafter, verifier,
                 (long long)accepted);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

static const char *const drafters[] = {
    "{\"use\": \"prompt-lookup\"}",
    "{\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2, \"skew\": 4}",
    "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 3, \"deterministic\": true}",
    "{\"use\": \"wor-draft\", \"depth\": 3, \"branch\": 3, \"skew\": 4}",
};

static void all_drafters(const char *verifier, bool lossy) {
    for (size_t d = 0; d < sizeof drafters / sizeof *drafters; d++) check_greedy(drafters[d], verifier, lossy);
}

Test(verifiers_greedy, multi_draft_specinfer) {
    all_drafters("{\"use\": \"multi-draft\", \"mode\": \"specinfer\"}", false);
}
Test(verifiers_greedy, multi_draft_rsd) { all_drafters("{\"use\": \"multi-draft\", \"mode\": \"rsd\"}", false); }
Test(verifiers_greedy, typical_acceptance) { all_drafters("{\"use\": \"typical-acceptance\"}", true); }

Test(verifiers_greedy, unknown_mode_is_refused) {
    weft_registry *reg = registry();
    const char *json =
        "{\"backend\": {\"use\": \"markov\"}, \"verifier\": {\"use\": \"multi-draft\", \"mode\": \"beam\"}}";
    char err[WEFT_ERR_CAP] = "";
    cr_assert_neq(weft_pipeline_check(reg, json, strlen(json), "test", NULL, err, sizeof err), WEFT_OK);
    cr_assert(strstr(err, "/verifier/mode"), "%s", err);
    weft_registry_free(reg);
}
