/* sampler temperature: logits / t, t = 0 greedy. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>

#include "plugin_fixture.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_temperature, .fini = teardown);

static void apply_with_t(double t, const float *logits, size_t n, weft_candidate *buf,
                         weft_candidates *c) {
    pf_close(&fx); /* callers may run several configurations */
    pf_open(&fx, WEFT_KIND_SAMPLER, "temperature", PF_ARGS(PF_DOUBLE("t", t)));
    *c = pf_cands(buf, logits, n);
    cr_assert_eq(pf_apply(&fx, c), WEFT_OK);
}

Test(sampler_temperature, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "temperature", PF_NO_ARGS);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->n_params, 1);
    cr_assert_str_eq(fx.desc->params[0].name, "t");
    cr_assert_str_eq(fx.desc->params[0].def, "0.8");
    cr_assert_eq(fx.desc->params[0].type, WEFT_TYPE_DOUBLE);
    cr_assert(fx.desc->params[0].flags & WEFT_PARAM_HAS_MIN);
    cr_assert_eq(fx.desc->params[0].min, 0);
}

Test(sampler_temperature, divides_logits) {
    /* t = 0.5: {1, 2, -1} / 0.5 = {2, 4, -2}, exact in binary */
    weft_candidate buf[3];
    weft_candidates c;
    apply_with_t(0.5, (const float[]){1, 2, -1}, 3, buf, &c);
    cr_assert_eq(c.size, 3);
    cr_assert_float_eq(c.data[0].logit, 2.0f, 0);
    cr_assert_float_eq(c.data[1].logit, 4.0f, 0);
    cr_assert_float_eq(c.data[2].logit, -2.0f, 0);
}

Test(sampler_temperature, flattens_above_one) {
    /* t = 2: {1, 2, -1} / 2 = {0.5, 1, -0.5} */
    weft_candidate buf[3];
    weft_candidates c;
    apply_with_t(2, (const float[]){1, 2, -1}, 3, buf, &c);
    cr_assert_float_eq(c.data[0].logit, 0.5f, 0);
    cr_assert_float_eq(c.data[1].logit, 1.0f, 0);
    cr_assert_float_eq(c.data[2].logit, -0.5f, 0);
}

Test(sampler_temperature, default_is_0_8) {
    /* 2 / 0.8 = 2.5 (float rounding of 0.8 aside) */
    pf_open(&fx, WEFT_KIND_SAMPLER, "temperature", PF_NO_ARGS);
    weft_candidate buf[1];
    weft_candidates c = pf_cands(buf, (const float[]){2}, 1);
    pf_apply(&fx, &c);
    cr_assert_float_eq(c.data[0].logit, 2.5f, 1e-6);
}

Test(sampler_temperature, zero_is_greedy) {
    /* t = 0: only the argmax, id 1 (logit 3; tie with id 3 goes to the lower id) */
    weft_candidate buf[4];
    weft_candidates c;
    apply_with_t(0, (const float[]){1, 3, 2, 3}, 4, buf, &c);
    cr_assert_eq(c.size, 1);
    cr_assert_eq(c.data[0].id, 1);
}

Test(sampler_temperature, keeps_sorted_flag) {
    weft_candidate buf[3];
    pf_open(&fx, WEFT_KIND_SAMPLER, "temperature", PF_ARGS(PF_DOUBLE("t", 0.7)));
    weft_candidates c = pf_cands(buf, (const float[]){3, 2, 1}, 3);
    c.sorted = true;
    pf_apply(&fx, &c);
    cr_assert(c.sorted);
    cr_assert(c.data[0].logit > c.data[1].logit && c.data[1].logit > c.data[2].logit);
}

Test(sampler_temperature, extremes) {
    static const double ts[] = {0, 1e-30, 1e-3, 0.8, 1, 7, 1e30};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        pf_open(&fx, WEFT_KIND_SAMPLER, "temperature", PF_ARGS(PF_DOUBLE("t", ts[i])));
        pf_assert_extremes(&fx);
        pf_close(&fx);
    }
    /* a tiny t saturates at FLT_MAX instead of overflowing to inf */
    weft_candidate buf[2];
    weft_candidates c;
    apply_with_t(1e-3, (const float[]){1e37f, -1e37f}, 2, buf, &c);
    cr_assert_eq(c.data[0].logit, FLT_MAX);
    cr_assert_eq(c.data[1].logit, -FLT_MAX);
}

Test(sampler_temperature, rejects_negative_t) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "temperature"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_DOUBLE("t", -1))), WEFT_ERR_INVALID);
    cr_assert(*pf_error(&fx), "no error message");
}
