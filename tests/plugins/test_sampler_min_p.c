/* sampler min-p: keep p_i >= p * p_max. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "plugin_fixture.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_min_p, .fini = teardown);

/* Logits log(P): id -> p is 0:0.5, 1:0.2, 2:0.15, 3:0.1, 4:0.05; p_max = 0.5. */
static const float P5[5] = {0.5f, 0.2f, 0.15f, 0.1f, 0.05f};

static size_t run(double p, int64_t min_keep, bool sorted, weft_token *ids, weft_candidates *out,
                  weft_candidate *buf) {
    float l[5];
    for (int i = 0; i < 5; i++) l[i] = logf(P5[i]);
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "min-p", PF_ARGS(PF_DOUBLE("p", p), PF_INT("min_keep", min_keep)));
    *out = pf_cands(buf, l, 5);
    out->sorted = sorted; /* P5 is in descending order already */
    cr_assert_eq(pf_apply(&fx, out), WEFT_OK);
    return pf_kept_ids(out, ids);
}

Test(sampler_min_p, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "min-p", PF_NO_ARGS);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->n_params, 2);
    cr_assert_str_eq(fx.desc->params[0].name, "p");
    cr_assert_str_eq(fx.desc->params[0].def, "0.05");
    cr_assert_str_eq(fx.desc->params[1].name, "min_keep");
}

Test(sampler_min_p, threshold) {
    weft_token ids[5];
    weft_candidate buf[5];
    weft_candidates c;
    /* 0.25 * 0.5 = 0.125: keeps 0.5, 0.2, 0.15 -> ids 0, 1, 2 */
    cr_assert_eq(run(0.25, 1, false, ids, &c, buf), 3);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1, 2}), 3 * sizeof(weft_token));
    /* 0.35 * 0.5 = 0.175: keeps 0.5, 0.2 -> ids 0, 1 */
    cr_assert_eq(run(0.35, 1, false, ids, &c, buf), 2);
    /* 0.05 (default) * 0.5 = 0.025: keeps all five */
    cr_assert_eq(run(0.05, 1, false, ids, &c, buf), 5);
}

Test(sampler_min_p, bounds) {
    weft_token ids[5];
    weft_candidate buf[5];
    weft_candidates c;
    cr_assert_eq(run(0, 1, false, ids, &c, buf), 5); /* disabled */
    cr_assert_eq(run(1, 1, false, ids, &c, buf), 1); /* only p_max itself */
    cr_assert_eq(ids[0], 0);
}

Test(sampler_min_p, min_keep) {
    weft_token ids[5];
    weft_candidate buf[5];
    weft_candidates c;
    /* 0.9 * 0.5 = 0.45 keeps only id 0; min_keep 3 tops it up with ids 1, 2 */
    cr_assert_eq(run(0.9, 3, false, ids, &c, buf), 3);
    cr_assert_arr_eq(ids, ((weft_token[]){0, 1, 2}), 3 * sizeof(weft_token));
}

Test(sampler_min_p, sorted_input_stays_sorted) {
    weft_token ids[5];
    weft_candidate buf[5];
    weft_candidates c;
    cr_assert_eq(run(0.25, 1, true, ids, &c, buf), 3);
    cr_assert(c.sorted);
    for (size_t i = 0; i < c.size; i++) cr_assert_eq(c.data[i].id, (weft_token)i);
}

Test(sampler_min_p, keeps_the_max) {
    /* random logits and p: every max-logit token survives */
    srand(5);
    for (int trial = 0; trial < 500; trial++) {
        enum { N = 16 };
        float l[N], mx = -INFINITY;
        for (int i = 0; i < N; i++) {
            l[i] = (float)(rand() % 7) - 3; /* ties are common */
            mx = fmaxf(mx, l[i]);
        }
        double p = (double)rand() / RAND_MAX;
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "min-p", PF_ARGS(PF_DOUBLE("p", p)));
        weft_candidate buf[N];
        weft_candidates c = pf_cands(buf, l, N);
        pf_apply(&fx, &c);
        size_t n_max = 0, kept_max = 0;
        for (int i = 0; i < N; i++) n_max += l[i] == mx;
        for (size_t i = 0; i < c.size; i++) kept_max += c.data[i].logit == mx;
        cr_assert_eq(kept_max, n_max, "p=%g lost a max token", p);
    }
}

Test(sampler_min_p, extremes) {
    static const double ps[] = {0, 0.05, 0.5, 1};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "min-p", PF_ARGS(PF_DOUBLE("p", ps[i])));
        pf_assert_extremes(&fx);
    }
}
