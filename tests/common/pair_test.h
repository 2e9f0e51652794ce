/* The two-token distribution test shared by the suites that check lossless
 * speculation at pipeline level: the first two generated tokens of a
 * pipeline on a fixed Markov model, over many seeds, must follow
 * p(x1) p(x2 | x1) computed exactly from markov_logits (chi-square). */
#ifndef WEFT_TEST_PAIR_TEST_H
#define WEFT_TEST_PAIR_TEST_H

#include <stdint.h>

#include <weft/weft.h>

/* The model every pair test runs on, and its backend JSON. */
#define TH_PAIR_BACKEND "{\"use\": \"markov\", \"n_vocab\": 8, \"seed\": 3, \"sharpness\": 3, \"eos_logit\": -0.5}"
#define TH_PAIR_PROMPT "ab" /* the default prompt; any prompt of >= 2 characters works */

typedef struct th_pair_result {
    double p_value;
    int64_t drafted, accepted; /* summed over the samples */
} th_pair_result;

/* Generates two tokens after `prompt` for seeds 1..n_samples with a pipeline
 * built on TH_PAIR_BACKEND (max_tokens 2, a sampled chain) and tests the
 * tallied pairs against the exact distribution (the model reads the last two
 * characters of the prompt). */
th_pair_result th_pair_test(weft_pipeline *p, const char *prompt, long n_samples);

/* The same when the pipeline constrains both tokens to the set `allowed`
 * (bit t: token t; must include MARKOV_EOS), e.g. by a grammar: the exact
 * distribution is then p restricted to the set and renormalised. */
th_pair_result th_pair_test_allowed(weft_pipeline *p, const char *prompt, long n_samples, uint32_t allowed);

#endif
