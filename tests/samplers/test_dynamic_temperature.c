/* sampler dynamic-temperature: T follows the normalised entropy (llama.cpp
 * temp-ext). */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_dynamic_temperature, .fini = teardown);

/* p = 0.5, 0.25, 0.125, 0.125: H = 1.75 bits, log2 n = 2 bits, so the
 * normalised entropy is 0.875 exactly. */
static const float P4[4] = {0.5f, 0.25f, 0.125f, 0.125f};

/* Applies and returns the temperature that was used, read off token 0. */
static double used_temperature(double t, double range, double exponent) {
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "dynamic-temperature",
            PF_ARGS(PF_DOUBLE("t", t), PF_DOUBLE("range", range), PF_DOUBLE("exponent", exponent)));
    float l[4];
    for (int i = 0; i < 4; i++) l[i] = logf(P4[i]);
    weft_candidate buf[4];
    weft_candidates c = pf_cands(buf, l, 4);
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    cr_assert_eq(c.size, 4);
    double tt = (double)l[0] / c.data[0].logit;
    for (int i = 1; i < 4; i++) /* one temperature for all */
        cr_assert_float_eq((double)l[i] / c.data[i].logit, tt, 1e-5);
    return tt;
}

Test(sampler_dynamic_temperature, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "dynamic-temperature", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
}

Test(sampler_dynamic_temperature, range_zero_is_plain_temperature) {
    cr_assert_float_eq(used_temperature(0.5, 0, 1), 0.5, 1e-6);
    cr_assert_float_eq(used_temperature(2.0, 0, 3), 2.0, 1e-6);
}

Test(sampler_dynamic_temperature, entropy_sets_the_temperature) {
    /* t 1, range 0.5: T in [0.5, 1.5];
     * exponent 1: 0.5 + 1.0 * 0.875 = 1.375
     * exponent 2: 0.5 + 0.875^2 = 1.265625
     * exponent 0: 0.5 + 1 = 1.5 */
    cr_assert_float_eq(used_temperature(1.0, 0.5, 1), 1.375, 1e-5);
    cr_assert_float_eq(used_temperature(1.0, 0.5, 2), 1.265625, 1e-5);
    cr_assert_float_eq(used_temperature(1.0, 0.5, 0), 1.5, 1e-5);
    /* t 0.2, range 0.5: T_min = max(0, -0.3) = 0, T_max 0.7 -> 0.7 * 0.875 = 0.6125 */
    cr_assert_float_eq(used_temperature(0.2, 0.5, 1), 0.6125, 1e-5);
}

Test(sampler_dynamic_temperature, zero_is_greedy) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "dynamic-temperature", PF_ARGS(PF_DOUBLE("t", 0.0)));
    weft_candidate buf[4];
    weft_candidates c = pf_cands(buf, (const float[]){1, 3, 3, 2}, 4);
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    cr_assert_eq(c.size, 1);
    cr_assert_eq(c.data[0].id, 1); /* lowest id on the tie */
}

Test(sampler_dynamic_temperature, one_candidate_is_left_alone) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "dynamic-temperature", PF_ARGS(PF_DOUBLE("range", 0.5)));
    weft_candidate buf[1];
    weft_candidates c = pf_cands(buf, (const float[]){2.5f}, 1);
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    cr_assert_eq(c.data[0].logit, 2.5f);
}

Test(sampler_dynamic_temperature, extremes) {
    static const double ranges[] = {0, 0.5, 5};
    for (size_t i = 0; i < 3; i++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "dynamic-temperature",
                PF_ARGS(PF_DOUBLE("t", 0.3), PF_DOUBLE("range", ranges[i])));
        pf_assert_extremes(&fx);
    }
}

Test(sampler_dynamic_temperature, rejects_negative) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "dynamic-temperature"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_DOUBLE("t", -1))), WEFT_ERR_INVALID);
}
