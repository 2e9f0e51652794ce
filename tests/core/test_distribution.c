/* Speculative sampling preserves the target distribution, at pipeline level:
 * the pair of the first two generated tokens, over many seeds, must follow
 * p(x1) p(x2 | x1) computed exactly from markov_logits, whatever the drafter
 * proposes (random-draft: q deliberately unlike p; chains and trees; with
 * and without q reported). A verifier that accepts everything
 * (fixtures/accept_all.c) must fail the same test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_harness.h"
#include "markov_model.h"
#include "pair_test.h"

#define N_SAMPLES 20000

/* Tallies (x1, x2) over N_SAMPLES seeds and returns the p-value. */
static double sample_pairs(const char *drafter, const char *verifier) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": " TH_PAIR_BACKEND "%s%s, \"verifier\": {\"use\": \"%s\"}, "
                                   "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}], "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter ? ", \"drafter\": " : "", drafter ? drafter : "", verifier);
    th_pair_result r = th_pair_test(p, TH_PAIR_PROMPT, N_SAMPLES);
    if (drafter) { /* the drafts were real and sometimes right */
        cr_assert_gt(r.drafted, N_SAMPLES, "%s drafted %lld tokens", drafter, (long long)r.drafted);
        cr_assert_gt(r.accepted, N_SAMPLES / 100, "%s: %lld accepted", drafter, (long long)r.accepted);
    }
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return r.p_value;
}

#define LOSSLESS(name, drafter)                                                                      \
    Test(distribution, name, .timeout = 120) {                                                       \
        double pv = sample_pairs(drafter, "speculative-sampling");                                   \
        cr_assert_gt(pv, 0.001, "%s: chi-square p-value %g: not the target distribution", #name, pv); \
    }

/* the harness itself: plain sampling */
LOSSLESS(plain_sampling, NULL)
/* q reported: the ratio test with residuals */
LOSSLESS(chain_depth2_with_q, "{\"use\": \"random-draft\", \"depth\": 2}")
LOSSLESS(chain_depth3_with_q, "{\"use\": \"random-draft\", \"depth\": 3, \"skew\": 3}")
LOSSLESS(tree_branch2_with_q, "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 2}")
LOSSLESS(tree_branch3_with_q, "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 3, \"seed\": 4}")
/* no q: deterministic drafts, the q = delta rule */
LOSSLESS(chain_depth3_without_q, "{\"use\": \"random-draft\", \"depth\": 3, \"deterministic\": true}")
LOSSLESS(tree_branch3_without_q, "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 3, \"deterministic\": true}")

/* With a grammar the core prunes drafts it rejects before evaluation. For a
 * draft drawn at random from q that would condition the surviving drafts on
 * being allowed while the verifier still divides by q: a biased result. The
 * core keeps such a draft as a leaf instead (the verifier rejects it, p = 0
 * there); deterministic drafts are pruned, which is exact for them. The
 * grammar allows 'a'..'d' (tokens 2..5) and end of text, not 'e', 'f'. */
static double sample_pairs_grammar(const char *drafter) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": " TH_PAIR_BACKEND ", \"drafter\": %s, "
                                   "\"verifier\": {\"use\": \"speculative-sampling\"}, "
                                   "\"grammar\": {\"use\": \"gbnf\", \"grammar\": \"root ::= [a-d]*\"}, "
                                   "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}], "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter);
    th_pair_result r = th_pair_test_allowed(p, TH_PAIR_PROMPT, N_SAMPLES, 0x3Fu & ~(1u << MARKOV_BOS));
    cr_assert_gt(r.accepted, N_SAMPLES / 100, "%s: %lld accepted", drafter, (long long)r.accepted);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return r.p_value;
}

#define LOSSLESS_GRAMMAR(name, drafter)                                                              \
    Test(distribution, name, .timeout = 120) {                                                       \
        double pv = sample_pairs_grammar(drafter);                                                   \
        cr_assert_gt(pv, 0.001, "%s: chi-square p-value %g: not the target distribution", #name, pv); \
    }

LOSSLESS_GRAMMAR(grammar_chain_with_q, "{\"use\": \"random-draft\", \"depth\": 2, \"skew\": 2}")
LOSSLESS_GRAMMAR(grammar_tree_with_q, "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 2, \"skew\": 2}")
LOSSLESS_GRAMMAR(grammar_chain_without_q, "{\"use\": \"random-draft\", \"depth\": 2, \"deterministic\": true}")

/* The same harness must reject a verifier that is not lossless. */
Test(distribution, accept_all_is_caught, .timeout = 120) {
    double pv = sample_pairs("{\"use\": \"random-draft\", \"depth\": 2}", "accept-all");
    cr_assert_lt(pv, 1e-6, "accept-all passed the distribution test (p-value %g)", pv);
}
