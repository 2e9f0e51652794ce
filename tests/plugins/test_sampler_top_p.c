/* sampler top-p: smallest most-likely prefix with mass >= p (llama.cpp rules). */
#include <criterion/criterion.h>
#include <math.h>

#include "plugin_fixture.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_top_p, .fini = teardown);

/* Logits log(P) make softmax return P itself (sum 1). Given in a shuffled id
 * order: id -> p is 0:0.1, 1:0.5, 2:0.05, 3:0.2, 4:0.15. Sorted masses:
 * 0.5 (id 1), 0.7 (+id 3), 0.85 (+id 4), 0.95 (+id 0), 1.0 (+id 2). */
static const float P5[5] = {0.1f, 0.5f, 0.05f, 0.2f, 0.15f};

static size_t run(double p, int64_t min_keep, weft_token *ids) {
    float l[5];
    for (int i = 0; i < 5; i++) l[i] = logf(P5[i]);
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-p", PF_ARGS(PF_DOUBLE("p", p), PF_INT("min_keep", min_keep)));
    weft_candidate buf[5];
    weft_candidates c = pf_cands(buf, l, 5);
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    return pf_kept_ids(&c, ids);
}

Test(sampler_top_p, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-p", PF_NO_ARGS);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->n_params, 2);
    cr_assert_str_eq(fx.desc->params[0].name, "p");
    cr_assert_str_eq(fx.desc->params[0].def, "0.95");
    cr_assert_eq(fx.desc->params[0].max, 1);
    cr_assert_str_eq(fx.desc->params[1].name, "min_keep");
    cr_assert_str_eq(fx.desc->params[1].def, "1");
}

Test(sampler_top_p, smallest_prefix_reaching_p) {
    weft_token ids[5];
    /* 0.45: 0.5 >= 0.45 after one token */
    cr_assert_eq(run(0.45, 1, ids), 1);
    cr_assert_eq(ids[0], 1);
    /* 0.75: 0.5, 0.7 < 0.75, 0.85 >= 0.75 -> ids 1, 3, 4 */
    cr_assert_eq(run(0.75, 1, ids), 3);
    cr_assert_arr_eq(ids, ((weft_token[]){1, 3, 4}), 3 * sizeof(weft_token));
    /* 0.9: 0.85 < 0.9, 0.95 >= 0.9 -> ids 0, 1, 3, 4 */
    cr_assert_eq(run(0.9, 1, ids), 4);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1, 3, 4}), 4 * sizeof(weft_token));
    /* default 0.95 is at a float boundary (0.95 vs 0.5+0.2+0.15+0.1): not tested */
}

Test(sampler_top_p, p_one_keeps_all) {
    weft_token ids[5];
    cr_assert_eq(run(1, 1, ids), 5);
}

Test(sampler_top_p, p_zero_keeps_the_top) {
    weft_token ids[5];
    cr_assert_eq(run(0, 1, ids), 1);
    cr_assert_eq(ids[0], 1);
}

Test(sampler_top_p, min_keep) {
    weft_token ids[5];
    /* 0.45 would keep one token; min_keep 3 keeps the top three: 1, 3, 4 */
    cr_assert_eq(run(0.45, 3, ids), 3);
    cr_assert_arr_eq(ids, ((weft_token[]){1, 3, 4}), 3 * sizeof(weft_token));
    cr_assert_eq(run(0.45, 10, ids), 5);
}

Test(sampler_top_p, extremes) {
    static const double ps[] = {0, 0.5, 0.95, 1};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "top-p", PF_ARGS(PF_DOUBLE("p", ps[i])));
        pf_assert_extremes(&fx);
    }
}

Test(sampler_top_p, rejects_out_of_range) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "top-p"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_DOUBLE("p", 1.5))), WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_INT("min_keep", 0))), WEFT_ERR_INVALID);
}
