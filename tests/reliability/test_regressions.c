/* Regression tests for bugs the reliability work found. */
#include <criterion/criterion.h>
#include <string.h>

#include "core_harness.h"

/* A grammar with a tree drafter that drafts end-of-generation: the row after
 * the drafted EOS had an empty grammar mask and failed the request as a
 * "dead end" (found by tests/reliability/test_faults.c). */
#define GRAMMAR_PIPELINE(drafter, samplers)                                                        \
    "{\"backend\": {\"use\": \"markov\", \"n_vocab\": 16, \"eos_logit\": -1}," drafter             \
    " \"grammar\": {\"use\": \"regex\", \"pattern\": \"[a-n]*\"}, \"samplers\": " samplers ","      \
    " \"generate\": {\"max_tokens\": 24}}"
#define TREE " \"drafter\": {\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2},"

Test(regressions, grammar_drafted_eos) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, GRAMMAR_PIPELINE(TREE, "[{\"use\": \"temperature\", \"t\": 1.5}]"));
    int64_t eos = 0;
    for (int64_t seed = 1; seed <= 40; seed++) {
        weft_result r;
        th_generate(p, "abc", -1, seed, &r); /* asserts success */
        eos += r.finish == WEFT_FINISH_EOS;
        weft_result_free(&r);
    }
    cr_expect_gt(eos, 0, "no request ended with EOS: the case is not exercised");
    weft_pipeline_free(p);
    /* greedy: with and without the drafter, the same tokens */
    weft_pipeline *spec = th_pipeline(reg, GRAMMAR_PIPELINE(TREE, "\"greedy\""));
    weft_pipeline *plain = th_pipeline(reg, GRAMMAR_PIPELINE("", "\"greedy\""));
    const char *prompts[] = {"abc", "nnn", "hg", "a"};
    for (size_t i = 0; i < 4; i++) {
        weft_result a, b;
        th_generate(spec, prompts[i], -1, (int64_t)i, &a);
        th_generate(plain, prompts[i], -1, (int64_t)i, &b);
        cr_expect_eq(a.n_tokens, b.n_tokens, "'%s'", prompts[i]);
        cr_expect_eq(memcmp(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens), 0, "'%s'", prompts[i]);
        weft_result_free(&a);
        weft_result_free(&b);
    }
    weft_pipeline_free(spec);
    weft_pipeline_free(plain);
    weft_registry_free(reg);
}
