/* multi-draft preserves the target distribution at pipeline level: on the
 * Markov backend, the pair of the first two generated tokens over 20,000
 * seeds must follow p(x1) p(x2 | x1), computed exactly from markov_logits,
 * for trees of 2 and 3 siblings per node and depth 2:
 *   - "specinfer" with random-draft (siblings i.i.d. from q),
 *   - "rsd" with wor-draft (siblings without replacement, tests/verifiers),
 *   - both with deterministic drafts (no q).
 * "rsd" also holds with i.i.d. siblings (repeats are rejected outright).
 * The same test must catch the SpecInfer rule applied to siblings drawn
 * without replacement, with p < 1e-6. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"
#include "markov_model.h"
#include "stats.h"

#define N_SAMPLES 20000
#define NV 8
#define PROMPT "ab"
/* Cells: x1 in [0, NV) times x2 in [0, NV], x2 = NV meaning "none" (x1 was
 * EOS). Cells with p = 0 (BOS) must stay empty. */
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

/* Pearson's test after pooling the cells with expected count < 5 (cells
 * with probability 0 stay apart: any sample there fails the test). */
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

/* Builtin, fixture and this folder's test plugins. */
static weft_registry *registry(void) {
    weft_registry *reg = th_registry();
    char problems[1024] = "";
    weft_registry_scan(reg, WEFT_VERIFIER_TEST_PLUGIN_DIR, problems, sizeof problems);
    cr_assert_str_empty(problems, "%s", problems);
    cr_assert_not_null(weft_registry_find(reg, WEFT_KIND_DRAFTER, "wor-draft"));
    return reg;
}

/* Tallies (x1, x2) over N_SAMPLES seeds; returns the p-value. */
static double sample_pairs(const char *drafter, const char *mode) {
    weft_registry *reg = registry();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": " BACKEND ", \"drafter\": %s, "
                                   "\"verifier\": {\"use\": \"multi-draft\", \"mode\": \"%s\"}, "
                                   "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}], "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter, mode);
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
        else
            cr_assert_fail("seed %lld: %zu tokens, finish %s", (long long)seed, r.n_tokens, weft_finish_name(r.finish));
        observed[cell]++;
        drafted += r.stats.n_drafted;
        accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    /* the drafts were real, and often enough right to matter */
    cr_assert_gt(drafted, N_SAMPLES, "%s drafted %lld tokens", drafter, (long long)drafted);
    cr_assert_gt(accepted, N_SAMPLES / 10, "%s: %lld accepted", drafter, (long long)accepted);
    double expected[N_CELLS];
    exact_cells(expected);
    double pv = chi2_pooled(observed, expected, N_CELLS, N_SAMPLES);
    cr_log_info("%s, %s: p-value %.4g, %lld of %lld drafts accepted", mode, drafter, pv, (long long)accepted,
                (long long)drafted);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return pv;
}

#define IID(branch) "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": " #branch ", \"skew\": 3}"
#define WOR(branch) "{\"use\": \"wor-draft\", \"depth\": 2, \"branch\": " #branch ", \"skew\": 3}"
#define FIXED(branch) "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": " #branch ", \"deterministic\": true}"

#define LOSSLESS(name, drafter, mode)                                                                \
    Test(verifiers_distribution, name, .timeout = 120) {                                           \
        double pv = sample_pairs(drafter, mode);                                                   \
        cr_assert_gt(pv, 0.001, "%s: chi-square p-value %g: not the target distribution", #name, pv); \
    }

LOSSLESS(specinfer_iid_branch2, IID(2), "specinfer")
LOSSLESS(specinfer_iid_branch3, IID(3), "specinfer")
LOSSLESS(rsd_distinct_branch2, WOR(2), "rsd")
LOSSLESS(rsd_distinct_branch3, WOR(3), "rsd")
LOSSLESS(specinfer_deterministic_branch3, FIXED(3), "specinfer")
LOSSLESS(rsd_deterministic_branch3, FIXED(3), "rsd")
LOSSLESS(rsd_iid_branch3, IID(3), "rsd")

#define CAUGHT(name, drafter, mode)                                                              \
    Test(verifiers_distribution, name, .timeout = 120) {                                       \
        double pv = sample_pairs(drafter, mode);                                               \
        cr_assert_lt(pv, 1e-6, "%s passed the distribution test (p-value %g)", #name, pv);     \
    }

CAUGHT(specinfer_rule_on_distinct_siblings_is_caught, WOR(3), "specinfer")
