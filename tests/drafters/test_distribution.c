/* The new drafters' trees keep speculative sampling lossless: the first two
 * sampled tokens, over many seeds, follow p(x1) p(x2 | x1) computed exactly
 * from markov_logits (the method of tests/core/test_distribution.c). The
 * drafters report no q, so speculative-sampling verifies them with the
 * q = δ rule, sibling by sibling. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"
#include "pair_test.h"

#define N_SAMPLES 20000

static double sample_pairs(const char *prompt, const char *drafter) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": " TH_PAIR_BACKEND ", \"drafter\": %s, \"verifier\": {\"use\": "
                                   "\"speculative-sampling\"}, \"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}], "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter);
    th_pair_result r = th_pair_test(p, prompt, N_SAMPLES);
    /* the drafts were real and sometimes right, else the test proves nothing */
    cr_assert_gt(r.drafted, N_SAMPLES / 2, "%s drafted %lld tokens", drafter, (long long)r.drafted);
    cr_assert_gt(r.accepted, N_SAMPLES / 20, "%s: %lld accepted", drafter, (long long)r.accepted);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return r.p_value;
}

#define LOSSLESS(name, prompt, drafter)                                                              \
    Test(drafter_distribution, name, .timeout = 120) {                                               \
        double pv = sample_pairs(prompt, drafter);                                                   \
        cr_assert_gt(pv, 0.001, "%s: chi-square p-value %g: not the target distribution", #name, pv); \
    }

/* a chain: the prompt repeats the greedy cycle c a f, so drafts are often right */
LOSSLESS(suffix_automaton_chain, "afcafcaf", "{\"use\": \"suffix-automaton\", \"min_match\": 1}")
/* a tree: "a b" was followed by c, then by d */
LOSSLESS(suffix_automaton_tree, "abcbabdab",
         "{\"use\": \"suffix-automaton\", \"min_match\": 1, \"branches\": 3, \"max_draft\": 3}")
/* the paper's tree, learnt across requests (keep) */
LOSSLESS(token_recycling_tree, "ab", "{\"use\": \"token-recycling\"}")
LOSSLESS(token_recycling_wide, "ab", "{\"use\": \"token-recycling\", \"k\": 6, \"tree\": [6, 3]}")
LOSSLESS(fallback_sam_then_tr, "abcab",
         "{\"use\": \"fallback\", \"drafters\": [{\"use\": \"suffix-automaton\", \"min_match\": 2}, "
         "{\"use\": \"token-recycling\", \"tree\": [3, 2]}]}")
