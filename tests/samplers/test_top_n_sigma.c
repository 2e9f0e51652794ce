/* sampler top-n-sigma: keep l >= max - n * stddev (Tang et al. 2024). */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_top_n_sigma, .fini = teardown);

/* Logits 3, 1, 0, -1, -3 and an impossible -inf (ignored by the
 * statistics): mean 0, variance (9 + 1 + 0 + 1 + 9) / 5 = 4, sigma 2, max 3. */
static size_t run(double n, float scale, weft_token *ids) {
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-n-sigma", PF_ARGS(PF_DOUBLE("n", n)));
    const float base[6] = {3, 1, 0, -1, -3, -INFINITY};
    float l[6];
    for (int i = 0; i < 6; i++) l[i] = base[i] * scale;
    weft_candidate buf[6];
    weft_candidates c = pf_cands(buf, l, 6);
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    return pf_kept_ids(&c, ids);
}

Test(sampler_top_n_sigma, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-n-sigma", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
}

Test(sampler_top_n_sigma, cut_at_max_minus_n_sigma) {
    weft_token ids[6];
    /* n = 1: cut 3 - 2 = 1 -> 0, 1 */
    cr_assert_eq(run(1.0, 1, ids), 2);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1}), 2 * sizeof(weft_token));
    /* n = 2: cut -1 -> 0, 1, 2, 3 (the -inf token goes) */
    cr_assert_eq(run(2.0, 1, ids), 4);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1, 2, 3}), 4 * sizeof(weft_token));
    /* n = 0.5: cut 2 -> 0 */
    cr_assert_eq(run(0.5, 1, ids), 1);
    cr_assert_eq(ids[0], 0);
}

Test(sampler_top_n_sigma, temperature_invariant) {
    /* logits / T scale max, mean and sigma alike: the same set at T = 0.5, 3 */
    weft_token ids[6];
    cr_assert_eq(run(1.0, 2.0f, ids), 2);
    cr_assert_eq(run(1.0, 1.0f / 3, ids), 2);
    cr_assert_eq(run(2.0, 2.0f, ids), 4);
}

Test(sampler_top_n_sigma, off) {
    weft_token ids[6];
    cr_assert_eq(run(0.0, 1, ids), 6);
    cr_assert_eq(run(-1.0, 1, ids), 6); /* llama.cpp's default -1 */
}

Test(sampler_top_n_sigma, extremes) {
    static const double ns[] = {0.1, 1.0, 3.0};
    for (size_t i = 0; i < 3; i++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "top-n-sigma", PF_ARGS(PF_DOUBLE("n", ns[i])));
        pf_assert_extremes(&fx); /* the max always survives */
    }
}
