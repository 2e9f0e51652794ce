/* sampler top-k: keeps the k highest logits. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "plugin_fixture.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_top_k, .fini = teardown);

static const float L5[5] = {0.1f, 2.0f, -1.0f, 1.5f, 0.3f};

static weft_candidates run(int64_t k, const float *logits, size_t n, weft_candidate *buf) {
    pf_close(&fx); /* callers may run several configurations */
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-k", PF_ARGS(PF_INT("k", k)));
    weft_candidates c = pf_cands(buf, logits, n);
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    return c;
}

Test(sampler_top_k, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-k", PF_NO_ARGS);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->n_params, 1);
    cr_assert_str_eq(fx.desc->params[0].name, "k");
    cr_assert_str_eq(fx.desc->params[0].def, "40");
    cr_assert_eq(fx.desc->params[0].type, WEFT_TYPE_INT);
}

Test(sampler_top_k, keeps_k_highest) {
    /* L5 sorted: 2.0 (id 1), 1.5 (id 3), 0.3 (id 4), 0.1 (id 0), -1 (id 2) */
    weft_candidate buf[5];
    weft_candidates c = run(2, L5, 5, buf);
    cr_assert_eq(c.size, 2);
    cr_assert_eq(c.data[0].id, 1);
    cr_assert_eq(c.data[1].id, 3);
    c = run(3, L5, 5, buf);
    weft_token ids[5];
    cr_assert_eq(pf_kept_ids(&c, ids), 3);
    cr_assert_arr_eq(ids, ((weft_token[]){1, 3, 4}), sizeof(weft_token) * 3);
}

Test(sampler_top_k, zero_disables) {
    weft_candidate buf[5];
    weft_candidates c = run(0, L5, 5, buf);
    cr_assert_eq(c.size, 5);
    for (size_t i = 0; i < 5; i++) cr_assert_eq(c.data[i].id, (weft_token)i); /* untouched */
}

Test(sampler_top_k, k_above_size_keeps_all) {
    weft_candidate buf[5];
    weft_candidates c = run(10, L5, 5, buf);
    cr_assert_eq(c.size, 5);
    c = run(5, L5, 5, buf);
    cr_assert_eq(c.size, 5);
}

Test(sampler_top_k, ties_go_to_lower_ids) {
    /* three-way tie at 1 for two slots: ids 0 and 1 */
    weft_candidate buf[4];
    weft_candidates c = run(2, (const float[]){1, 1, 1, 0}, 4, buf);
    weft_token ids[4];
    cr_assert_eq(pf_kept_ids(&c, ids), 2);
    cr_assert_eq(ids[0], 0);
    cr_assert_eq(ids[1], 1);
}

Test(sampler_top_k, default_40_of_50) {
    /* logit = id, so the 40 highest are ids 10..49 */
    float l[50];
    for (int i = 0; i < 50; i++) l[i] = (float)i;
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-k", PF_NO_ARGS);
    weft_candidate buf[50];
    weft_candidates c = pf_cands(buf, l, 50);
    pf_apply(&fx, &c);
    weft_token ids[50];
    cr_assert_eq(pf_kept_ids(&c, ids), 40);
    for (int i = 0; i < 40; i++) cr_assert_eq(ids[i], i + 10);
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

Test(sampler_top_k, matches_a_full_sort) {
    enum { N = 1000, K = 7 };
    float l[N], sorted[N];
    srand(3);
    for (int i = 0; i < N; i++) sorted[i] = l[i] = (float)((double)rand() / RAND_MAX * 20 - 10);
    qsort(sorted, N, sizeof *sorted, cmp_desc);
    weft_candidate buf[N];
    weft_candidates c = run(K, l, N, buf);
    cr_assert_eq(c.size, K);
    for (int i = 0; i < K; i++) cr_assert_eq(c.data[i].logit, sorted[i]);
}

Test(sampler_top_k, extremes) {
    static const int64_t ks[] = {0, 1, 2, 6, 100};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        pf_open(&fx, WEFT_KIND_SAMPLER, "top-k", PF_ARGS(PF_INT("k", ks[i])));
        pf_assert_extremes(&fx);
        pf_close(&fx);
    }
}
