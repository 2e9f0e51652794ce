/* Regression tests for bugs the reliability work found. */
#include <criterion/criterion.h>
#include <string.h>

#include "core_harness.h"
#include "reliability.h"

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

/* An ambiguous grammar: every "a" opens an x that a later "b" may or may
 * not close, in either x of root, so the live stacks double per byte. The
 * matcher's closure took exponential time (fuzz_gbnf,
 * tests/fuzz/corpus/gbnf/ambiguous-closure); now the request stops with an
 * error naming the limit, quickly. */
Test(regressions, ambiguous_grammar_stops_at_max_stacks) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": {\"use\": \"markov\", \"eos_logit\": -30},"
                                   " \"grammar\": {\"use\": \"gbnf\", \"grammar\": \"root ::= x x\\nx ::= \\\"a\\\" root \\\"b\\\" | \\\"a\\\" root | \\\"\\\"\","
                                   " \"max_stacks\": 200}, \"samplers\": \"greedy\"}");
    weft_request req = {.prompt = "abc", .prompt_len = 3, .max_tokens = 64, .seed = 1};
    weft_result res;
    char err[512] = "";
    double t0 = rel_seconds();
    weft_status st = weft_generate(p, &req, &res, err, sizeof err);
    double took = rel_seconds() - t0;
    cr_assert_neq(st, WEFT_OK, "64 tokens passed: the limit did not trigger (%zu tokens)", res.n_tokens);
    cr_expect_eq(res.finish, WEFT_FINISH_ERROR);
    cr_expect(strstr(err, "grammar 'gbnf'") && strstr(err, "max_stacks") && strstr(err, "200"), "error: %s", err);
    cr_expect_gt(res.n_tokens, 3, "stopped before the ambiguity grew: %s", err);
    cr_expect_lt(took, 5.0, "took %.1f s", took);
    weft_result_free(&res);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}
