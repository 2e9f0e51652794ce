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
#include "stats.h"

#define N_SAMPLES 20000
#define NV 8
#define PROMPT "ab"
/* Cells: x1 in [0, NV) times x2 in [0, NV] where x2 = NV means "none" (x1
 * was EOS: generation ended). BOS cells have p = 0 and must stay empty. */
#define NONE NV
#define N_CELLS (NV * (NV + 1))

static const th_markov model = {.seed = 3, .sharpness = 3, .eos_logit = -0.5, .n_vocab = NV};
#define BACKEND "{\"use\": \"markov\", \"n_vocab\": 8, \"seed\": 3, \"sharpness\": 3, \"eos_logit\": -0.5}"

static void exact_cells(double *expected) {
    int32_t a = markov_token_of((unsigned char)PROMPT[0], NV), b = markov_token_of((unsigned char)PROMPT[1], NV);
    double p1[NV], p2[NV];
    th_markov_probs(&model, a, b, p1);
    memset(expected, 0, N_CELLS * sizeof *expected);
    for (int32_t x1 = 0; x1 < NV; x1++) {
        if (x1 == MARKOV_EOS) {
            expected[x1 * (NV + 1) + NONE] = p1[x1];
            continue;
        }
        th_markov_probs(&model, b, x1, p2);
        for (int32_t x2 = 0; x2 < NV; x2++) expected[x1 * (NV + 1) + x2] = p1[x1] * p2[x2];
    }
}

/* Pearson's test after pooling cells with expected count < 5 (cells with
 * probability 0 stay apart: any sample there is a hard failure). */
static double chi2_pooled(const long *observed, const double *expected, size_t n, long total) {
    long obs[N_CELLS + 1];
    double exp_[N_CELLS + 1];
    size_t m = 0;
    long pool_o = 0;
    double pool_e = 0;
    for (size_t i = 0; i < n; i++) {
        if (expected[i] > 0 && expected[i] * (double)total < 5) {
            pool_o += observed[i];
            pool_e += expected[i];
        } else {
            obs[m] = observed[i];
            exp_[m++] = expected[i];
        }
    }
    if (pool_e > 0) {
        if (pool_e * (double)total < 5) { /* still small: merge into the smallest nonzero cell */
            size_t s = m;
            for (size_t i = 0; i < m; i++)
                if (exp_[i] > 0 && (s == m || exp_[i] < exp_[s])) s = i;
            cr_assert_neq(s, m, "nothing to pool with");
            obs[s] += pool_o;
            exp_[s] += pool_e;
        } else {
            obs[m] = pool_o;
            exp_[m++] = pool_e;
        }
    }
    double chi2;
    return stats_chi2_test(obs, exp_, m, &chi2);
}

/* Tallies (x1, x2) over N_SAMPLES seeds and returns the p-value. */
static double sample_pairs(const char *drafter, const char *verifier) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": " BACKEND "%s%s, \"verifier\": {\"use\": \"%s\"}, "
                                   "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}], "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter ? ", \"drafter\": " : "", drafter ? drafter : "", verifier);
    static long observed[N_CELLS];
    memset(observed, 0, sizeof observed);
    int64_t drafted = 0, accepted = 0;
    for (int64_t seed = 1; seed <= N_SAMPLES; seed++) {
        weft_result r;
        th_generate(p, PROMPT, -1, seed, &r);
        size_t cell;
        if (r.n_tokens == 2) cell = (size_t)r.tokens[0] * (NV + 1) + (size_t)r.tokens[1];
        else if (r.n_tokens == 1 && r.finish == WEFT_FINISH_EOS) cell = (size_t)r.tokens[0] * (NV + 1) + MARKOV_EOS;
        else if (r.n_tokens == 0 && r.finish == WEFT_FINISH_EOS) cell = MARKOV_EOS * (NV + 1) + NONE;
        else cr_assert_fail("seed %lld: %zu tokens, finish %s", (long long)seed, r.n_tokens, weft_finish_name(r.finish));
        observed[cell]++;
        drafted += r.stats.n_drafted;
        accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    if (drafter) { /* the drafts were real and sometimes right */
        cr_assert_gt(drafted, N_SAMPLES, "%s drafted %lld tokens", drafter, (long long)drafted);
        cr_assert_gt(accepted, N_SAMPLES / 100, "%s: %lld accepted", drafter, (long long)accepted);
    }
    double expected[N_CELLS];
    exact_cells(expected);
    double pv = chi2_pooled(observed, expected, N_CELLS, N_SAMPLES);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return pv;
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

/* The same harness must reject a verifier that is not lossless. */
Test(distribution, accept_all_is_caught, .timeout = 120) {
    double pv = sample_pairs("{\"use\": \"random-draft\", \"depth\": 2}", "accept-all");
    cr_assert_lt(pv, 1e-6, "accept-all passed the distribution test (p-value %g)", pv);
}
