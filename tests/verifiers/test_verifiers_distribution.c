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
#include "pair_test.h"

#define N_SAMPLES 20000

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
                                   "{\"backend\": " TH_PAIR_BACKEND ", \"drafter\": %s, "
                                   "\"verifier\": {\"use\": \"multi-draft\", \"mode\": \"%s\"}, "
                                   "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}], "
                                   "\"generate\": {\"max_tokens\": 2}}",
                                   drafter, mode);
    th_pair_result r = th_pair_test(p, TH_PAIR_PROMPT, N_SAMPLES);
    /* the drafts were real, and often enough right to matter */
    cr_assert_gt(r.drafted, N_SAMPLES, "%s drafted %lld tokens", drafter, (long long)r.drafted);
    cr_assert_gt(r.accepted, N_SAMPLES / 10, "%s: %lld accepted", drafter, (long long)r.accepted);
    cr_log_info("%s, %s: p-value %.4g, %lld of %lld drafts accepted", mode, drafter, r.p_value,
                (long long)r.accepted, (long long)r.drafted);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return r.p_value;
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
