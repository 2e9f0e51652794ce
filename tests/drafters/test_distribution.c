/* The new drafters' trees keep speculative sampling lossless: the first two
 * sampled tokens, over many seeds, follow p(x1) p(x2 | x1) computed exactly
 * from markov_logits (the method of tests/core/test_distribution.c). The
 * drafters report no q, so speculative-sampling verifies them with the
 * q = δ rule, sibling by sibling. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"
#include "test_paths.h"
#include "pair_test.h"

#define N_SAMPLES 20000

/* TH_PAIR_BACKEND's model, reporting 4 layers for early-exit (a full
 * evaluation is the same function) */
#define PAIR_BACKEND_4_LAYERS \
    "{\"use\": \"markov\", \"n_vocab\": 8, \"seed\": 3, \"sharpness\": 3, \"eos_logit\": -0.5, \"n_layers\": 4}"
/* draft models for it: the same chain less sharp (q != p), another chain */
#define PAIR_DRAFT_SAME "{\"use\": \"markov\", \"n_vocab\": 8, \"seed\": 3, \"sharpness\": 1.5, \"eos_logit\": -0.5}"
#define PAIR_DRAFT_OTHER "{\"use\": \"markov\", \"n_vocab\": 8, \"seed\": 4, \"eos_logit\": -0.5}"

static double sample_pairs_with(const char *prompt, const char *drafter, const char *verifier) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": " PAIR_BACKEND_4_LAYERS ", \"drafter\": %s, \"verifier\": %s, "
                                   "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}], "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter, verifier);
    const long n_samples = test_quick(N_SAMPLES, 4000);
    th_pair_result r = th_pair_test(p, prompt, n_samples);
    /* the drafts were real and sometimes right, else the test proves nothing */
    cr_assert_gt(r.drafted, n_samples / 2, "%s drafted %lld tokens", drafter, (long long)r.drafted);
    cr_assert_gt(r.accepted, n_samples / 20, "%s: %lld accepted", drafter, (long long)r.accepted);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return r.p_value;
}

#define LOSSLESS_WITH(name, prompt, drafter, verifier)                                               \
    Test(drafter_distribution, name, .timeout = 120) {                                               \
        double pv = sample_pairs_with(prompt, drafter, verifier);                                    \
        cr_assert_gt(pv, 0.001, "%s: chi-square p-value %g: not the target distribution", #name, pv); \
    }
#define LOSSLESS(name, prompt, drafter) LOSSLESS_WITH(name, prompt, drafter, "{\"use\": \"speculative-sampling\"}")
#define RSD "{\"use\": \"multi-draft\", \"mode\": \"rsd\"}"
#define SPECINFER "{\"use\": \"multi-draft\", \"mode\": \"specinfer\"}"

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

/* issue #4. lookahead: pooled n-grams (q = δ), with and without the window */
LOSSLESS(lookahead_chain, "ab", "{\"use\": \"lookahead\", \"window\": 2, \"verify\": 1}")
LOSSLESS(lookahead_tree, "ab", "{\"use\": \"lookahead\", \"verify\": 4, \"ngram\": 3}")
LOSSLESS_WITH(lookahead_tree_rsd, "ab", "{\"use\": \"lookahead\", \"verify\": 4, \"window\": 3}", RSD)
/* draft-model: q reported; i.i.d. siblings for speculative-sampling and
 * specinfer, siblings without replacement for rsd; top-k drafts without q */
LOSSLESS(draft_model_chain, "ab", "{\"use\": \"draft-model\", \"backend\": " PAIR_DRAFT_SAME "}")
LOSSLESS(draft_model_tree_iid, "ab",
         "{\"use\": \"draft-model\", \"top_k\": 3, \"siblings\": \"iid\", \"backend\": " PAIR_DRAFT_SAME "}")
LOSSLESS_WITH(draft_model_tree_iid_specinfer, "ab",
              "{\"use\": \"draft-model\", \"top_k\": 2, \"backend\": " PAIR_DRAFT_OTHER "}", SPECINFER)
LOSSLESS_WITH(draft_model_tree_distinct_rsd, "ab",
              "{\"use\": \"draft-model\", \"top_k\": 3, \"siblings\": \"distinct\", \"backend\": " PAIR_DRAFT_SAME "}",
              RSD)
LOSSLESS(draft_model_top_k, "ab",
         "{\"use\": \"draft-model\", \"top_k\": 2, \"draw\": \"top-k\", \"backend\": " PAIR_DRAFT_OTHER "}")
LOSSLESS(draft_model_min_prob, "ab",
         "{\"use\": \"draft-model\", \"top_k\": 2, \"min_prob\": 0.2, \"backend\": " PAIR_DRAFT_SAME "}")
/* early-exit: the first layers of the (4-layer) target draft */
LOSSLESS(early_exit_chain, "ab", "{\"use\": \"early-exit\"}")
LOSSLESS(early_exit_tree_iid, "ab", "{\"use\": \"early-exit\", \"top_k\": 3}")
LOSSLESS_WITH(early_exit_tree_distinct_rsd, "ab",
              "{\"use\": \"early-exit\", \"layers\": [2, 3], \"top_k\": 3, \"siblings\": \"distinct\"}", RSD)
