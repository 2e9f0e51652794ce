/* Sampled decoding with history-dependent samplers keeps its distribution
 * under lossless speculation. Speculative sampling reproduces the target's
 * distribution, not plain decoding's random draws, so the check is
 * statistical: the first two generated tokens over many seeds, plain
 * decoding against speculative sampling with a random drafter (q unlike p,
 * trees), compared by a two-sample chi-square test. With a repetitive
 * prompt, penalties and DRY already act on the first token; mirostat's mu
 * and look-back's past steps change after it, so the pair sees them.
 *
 * Control: the lossy accept-all verifier with the same chain must fail the
 * same comparison, so the test can fail. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"
#include "stats.h"

#define NV 8
#define N_SAMPLES 3000
#define PROMPT "abab"
#define BACKEND "{\"use\": \"markov\", \"n_vocab\": 8, \"seed\": 3, \"sharpness\": 3, \"eos_logit\": -2}"
#define DRAFTER "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 2}"
/* x1 in [0, NV), x2 in [0, NV] where NV means "none" (x1 ended it) */
#define N_CELLS (NV * (NV + 1))

static void tally(weft_registry *reg, const char *chain, const char *drafter, const char *verifier, int64_t seed0,
                  long *cells) {
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": " BACKEND "%s%s, \"verifier\": {\"use\": \"%s\"}, \"samplers\": %s, "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter ? ", \"drafter\": " : "", drafter ? drafter : "", verifier, chain);
    memset(cells, 0, N_CELLS * sizeof *cells);
    int64_t accepted = 0;
    for (int64_t s = 0; s < N_SAMPLES; s++) {
        weft_result r;
        th_generate(p, PROMPT, -1, seed0 + s, &r);
        /* EOS (1) is never in r.tokens: a short result ended with it */
        size_t x1 = r.n_tokens > 0 ? (size_t)r.tokens[0] : 1;
        size_t x2 = r.n_tokens > 1 ? (size_t)r.tokens[1] : r.n_tokens == 1 ? 1 : NV;
        cells[x1 * (NV + 1) + x2]++;
        accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    if (drafter) cr_assert_gt(accepted, N_SAMPLES / 20, "%s: only %lld draft tokens accepted", chain, (long long)accepted);
    weft_pipeline_free(p);
}

/* Two-sample chi-square (homogeneity) p-value; cells with fewer than 10
 * observations in total are pooled. */
static double homogeneity(const long *a, const long *b) {
    long oa[N_CELLS + 1], ob[N_CELLS + 1], pa = 0, pb = 0;
    size_t m = 0;
    for (size_t i = 0; i < N_CELLS; i++) {
        if (a[i] + b[i] < 10) {
            pa += a[i];
            pb += b[i];
        } else {
            oa[m] = a[i];
            ob[m++] = b[i];
        }
    }
    if (pa + pb > 0) oa[m] = pa, ob[m++] = pb;
    double chi2 = 0;
    for (size_t i = 0; i < m; i++) {
        double t = (double)(oa[i] + ob[i]) / 2; /* equal sample sizes */
        chi2 += (oa[i] - t) * (oa[i] - t) / t + (ob[i] - t) * (ob[i] - t) / t;
    }
    return m > 1 ? stats_chi2_sf(chi2, (double)(m - 1)) : 1.0;
}

static void same_distribution(const char *chain) {
    weft_registry *reg = th_registry();
    static long plain[N_CELLS], spec[N_CELLS];
    tally(reg, chain, NULL, "speculative-sampling", 1, plain);
    tally(reg, chain, DRAFTER, "speculative-sampling", 1000000, spec);
    double pv = homogeneity(plain, spec);
    cr_assert_gt(pv, 0.001, "%s: plain and speculative samples differ (chi-square p-value %g)", chain, pv);
    weft_registry_free(reg);
}

#define T1 "{\"use\": \"temperature\", \"t\": 1.0}"

Test(speculation_distribution, penalties, .timeout = 60) {
    same_distribution("[{\"use\": \"penalties\", \"repeat\": 1.5, \"presence\": 3.0}, " T1 "]");
}

Test(speculation_distribution, dry, .timeout = 60) {
    same_distribution("[{\"use\": \"dry\", \"multiplier\": 2.0, \"allowed_length\": 1}, " T1 "]");
}

Test(speculation_distribution, xtc, .timeout = 60) {
    same_distribution("[{\"use\": \"xtc\", \"probability\": 0.5, \"threshold\": 0.1}, " T1 "]");
}

Test(speculation_distribution, mirostat, .timeout = 60) {
    same_distribution("[{\"use\": \"mirostat\", \"tau\": 1.0, \"eta\": 1.0}, " T1 "]");
}

Test(speculation_distribution, look_back, .timeout = 60) {
    same_distribution("[{\"use\": \"look-back\", \"alpha\": 2.0, \"k\": 2}, " T1 "]");
}

/* The comparison has the power to see a lossy verifier. */
Test(speculation_distribution, accept_all_is_caught, .timeout = 60) {
    const char *chain = "[{\"use\": \"mirostat\", \"tau\": 1.0, \"eta\": 1.0}, " T1 "]";
    weft_registry *reg = th_registry();
    static long plain[N_CELLS], lossy[N_CELLS];
    tally(reg, chain, NULL, "speculative-sampling", 1, plain);
    tally(reg, chain, DRAFTER, "accept-all", 1000000, lossy);
    double pv = homogeneity(plain, lossy);
    cr_assert_lt(pv, 1e-6, "accept-all passed the comparison (p-value %g)", pv);
    weft_registry_free(reg);
}
