#include "pair_test.h"

#include <criterion/criterion.h>
#include <string.h>

#include "core_harness.h"
#include "markov_model.h"
#include "stats.h"

#define NV 8
/* Cells: x1 in [0, NV) times x2 in [0, NV], x2 = NV meaning "none" (x1 was
 * EOS: generation ended). BOS cells have p = 0 and must stay empty. */
#define NONE NV
#define N_CELLS (NV * (NV + 1))

static const th_markov model = {.seed = 3, .sharpness = 3, .eos_logit = -0.5, .n_vocab = NV};

/* p restricted to `allowed` and renormalised. */
static void restrict_to(double *p, uint32_t allowed) {
    double sum = 0;
    for (int32_t t = 0; t < NV; t++) sum += (allowed >> t & 1) ? p[t] : 0;
    for (int32_t t = 0; t < NV; t++) p[t] = (allowed >> t & 1) ? p[t] / sum : 0;
}

static void exact_cells(const char *prompt, uint32_t allowed, double *expected) {
    size_t n = strlen(prompt);
    cr_assert_geq(n, 2, "the pair test needs a prompt of two characters or more");
    int32_t a = markov_token_of((unsigned char)prompt[n - 2], NV);
    int32_t b = markov_token_of((unsigned char)prompt[n - 1], NV);
    double p1[NV], p2[NV];
    th_markov_probs(&model, a, b, p1);
    restrict_to(p1, allowed);
    memset(expected, 0, N_CELLS * sizeof *expected);
    for (int32_t x1 = 0; x1 < NV; x1++) {
        if (x1 == MARKOV_EOS) {
            expected[x1 * (NV + 1) + NONE] = p1[x1];
            continue;
        }
        th_markov_probs(&model, b, x1, p2);
        restrict_to(p2, allowed);
        for (int32_t x2 = 0; x2 < NV; x2++) expected[x1 * (NV + 1) + x2] = p1[x1] * p2[x2];
    }
}

/* Pearson's test after pooling cells with expected count < 5 (cells with
 * probability 0 stay apart: any sample there fails the test). */
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
        size_t s = m;
        if (pool_e * (double)total < 5) /* still small: into the smallest nonzero cell */
            for (size_t i = 0; i < m; i++)
                if (exp_[i] > 0 && (s == m || exp_[i] < exp_[s])) s = i;
        if (s == m) obs[m] = 0, exp_[m++] = 0;
        obs[s] += pool_o;
        exp_[s] += pool_e;
    }
    return stats_chi2_test(obs, exp_, m, NULL);
}

th_pair_result th_pair_test(weft_pipeline *p, const char *prompt, long n_samples) {
    return th_pair_test_allowed(p, prompt, n_samples, (1u << NV) - 1);
}

th_pair_result th_pair_test_allowed(weft_pipeline *p, const char *prompt, long n_samples, uint32_t allowed) {
    cr_assert(allowed >> MARKOV_EOS & 1, "the pair test needs end-of-generation allowed");
    static long observed[N_CELLS];
    memset(observed, 0, sizeof observed);
    th_pair_result res = {0};
    for (int64_t seed = 1; seed <= n_samples; seed++) {
        weft_result r;
        th_generate(p, prompt, -1, seed, &r);
        size_t cell = 0; /* cr_assert_fail does not return; clang cannot tell */
        if (r.n_tokens == 2) cell = (size_t)r.tokens[0] * (NV + 1) + (size_t)r.tokens[1];
        else if (r.n_tokens == 1 && r.finish == WEFT_FINISH_EOS) cell = (size_t)r.tokens[0] * (NV + 1) + MARKOV_EOS;
        else if (r.n_tokens == 0 && r.finish == WEFT_FINISH_EOS) cell = MARKOV_EOS * (NV + 1) + NONE;
        else cr_assert_fail("seed %lld: %zu tokens, finish %s", (long long)seed, r.n_tokens, weft_finish_name(r.finish));
        observed[cell]++;
        res.drafted += r.stats.n_drafted;
        res.accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    double expected[N_CELLS];
    exact_cells(prompt, allowed, expected);
    res.p_value = chi2_pooled(observed, expected, N_CELLS, n_samples);
    return res;
}
