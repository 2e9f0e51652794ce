/* sampler typical: locally typical sampling (Meister et al. 2023), llama.cpp
 * boundary rules. */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_typical, .fini = teardown);

/* p by id: 0.5, 0.25, 0.125, 0.125, and an impossible 4 (-inf).
 * Entropy H = 0.5 ln 2 + 0.25 ln 4 + 2 * 0.125 ln 8 = 1.75 ln 2 = 1.2130 nats.
 * |-ln p - H|: 0: |0.6931 - 1.2130| = 0.5199;  1: |1.3863 - 1.2130| = 0.1733;
 *              2, 3: |2.0794 - 1.2130| = 0.8664;  4: infinite.
 * Typical order 1, 0, 2, 3 (tie by id), 4; cumulative mass 0.25, 0.75,
 * 0.875, 1.0, 1.0. */
static size_t run(double p, int64_t min_keep, weft_token *ids, weft_candidates *c, weft_candidate *buf) {
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "typical", PF_ARGS(PF_DOUBLE("p", p), PF_INT("min_keep", min_keep)));
    const float l[5] = {logf(0.5f), logf(0.25f), logf(0.125f), logf(0.125f), -INFINITY};
    *c = pf_cands(buf, l, 5);
    cr_assert_eq(pf_apply(&fx, c), WEFT_OK);
    return pf_kept_ids(c, ids);
}

Test(sampler_typical, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "typical", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
}

Test(sampler_typical, keeps_the_most_typical_mass) {
    weft_token ids[5];
    weft_candidate buf[5];
    weft_candidates c;
    /* 0.2: the first, 1 (0.25 > 0.2) */
    cr_assert_eq(run(0.2, 1, ids, &c, buf), 1);
    cr_assert_eq(ids[0], 1);
    /* 0.5: 0.25, then 0.75 > 0.5 -> 1, 0 (not the most likely first) */
    cr_assert_eq(run(0.5, 1, ids, &c, buf), 2);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1}), 2 * sizeof(weft_token));
    /* 0.8: 0.875 > 0.8 -> 1, 0, 2 (2 before 3 on the tie) */
    cr_assert_eq(run(0.8, 1, ids, &c, buf), 3);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1, 2}), 3 * sizeof(weft_token));
    /* 0.9: 1.0 > 0.9 -> the four possible tokens; the impossible one last */
    cr_assert_eq(run(0.9, 1, ids, &c, buf), 4);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1, 2, 3}), 4 * sizeof(weft_token));
}

Test(sampler_typical, min_keep_and_off) {
    weft_token ids[5];
    weft_candidate buf[5];
    weft_candidates c;
    cr_assert_eq(run(0.2, 3, ids, &c, buf), 3); /* 1, 0, 2 */
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1, 2}), 3 * sizeof(weft_token));
    cr_assert_eq(run(1.0, 1, ids, &c, buf), 5); /* p = 1: off */
}

Test(sampler_typical, keeps_input_order) {
    weft_token ids[5];
    weft_candidate buf[5];
    weft_candidates c;
    run(0.5, 1, ids, &c, buf);
    cr_assert_eq(c.data[0].id, 0); /* kept tokens stay in their input order */
    cr_assert_eq(c.data[1].id, 1);
}

Test(sampler_typical, extremes) {
    static const double ps[] = {0.0, 0.3, 0.95};
    for (size_t i = 0; i < 3; i++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "typical", PF_ARGS(PF_DOUBLE("p", ps[i])));
        st_ctx sc;
        st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, 6, NULL);
        st_assert_extremes(&fx, &sc.ctx);
    }
}

Test(sampler_typical, rejects_out_of_range) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "typical"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_DOUBLE("p", 1.5))), WEFT_ERR_INVALID);
}
