/* The SDK helpers the samplers are built on (sdk/candidates.c additions,
 * sdk/scratch.c): partial sort, locate, logsumexp, temperature, scratch. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <weft/sdk.h>

#include "sampler_test.h"

TestSuite(sdk_selection);

static weft_candidates cands(weft_candidate *buf, const float *l, size_t n) { return pf_cands(buf, l, n); }

Test(sdk_selection, partial_sort_keeps_every_member) {
    /* logits by id: 0:1 1:5 2:3 3:5 4:-1 5:4 6:0; top 3 in order (logit
     * descending, lowest id on ties): 1 (5), 3 (5), 5 (4) */
    const float l[7] = {1, 5, 3, 5, -1, 4, 0};
    weft_candidate buf[7];
    weft_candidates c = cands(buf, l, 7);
    weft_cands_partial_sort(&c, 3);
    cr_assert_eq(c.size, 7);
    cr_assert_not(c.sorted);
    cr_assert_eq(c.data[0].id, 1);
    cr_assert_eq(c.data[1].id, 3);
    cr_assert_eq(c.data[2].id, 5);
    bool seen[7] = {false};
    for (size_t i = 0; i < 7; i++) {
        cr_assert_eq(c.data[i].logit, l[c.data[i].id], "a candidate's logit moved away from its id");
        seen[c.data[i].id] = true;
    }
    for (size_t i = 0; i < 7; i++) cr_assert(seen[i], "token %zu lost", i);
    /* growing the prefix keeps the first part */
    weft_cands_partial_sort(&c, 5); /* then 2 (3), 0 (1) */
    cr_assert_eq(c.data[3].id, 2);
    cr_assert_eq(c.data[4].id, 0);
    weft_cands_partial_sort(&c, 7); /* everything: sorted */
    cr_assert(c.sorted);
    cr_assert_eq(c.data[5].id, 6);
    cr_assert_eq(c.data[6].id, 4);
}

Test(sdk_selection, partial_sort_random_against_qsort) {
    srand(3);
    enum { N = 500 };
    for (int trial = 0; trial < 50; trial++) {
        float l[N];
        for (int i = 0; i < N; i++) l[i] = (float)(rand() % 50); /* many ties */
        weft_candidate a[N], b[N];
        weft_candidates ca = cands(a, l, N), cb = cands(b, l, N);
        size_t k = (size_t)(rand() % N);
        weft_cands_partial_sort(&ca, k);
        weft_cands_sort(&cb);
        for (size_t i = 0; i < k; i++) cr_assert_eq(ca.data[i].id, cb.data[i].id, "trial %d k %zu rank %zu", trial, k, i);
    }
}

Test(sdk_selection, locate) {
    const float l[6] = {0, 1, 2, 3, 4, 5};
    weft_candidate buf[6];
    weft_candidates c = cands(buf, l, 6);
    ptrdiff_t pos[4];
    /* in id order: slot = id; 9 is absent */
    weft_cands_locate(&c, (const weft_token[]){1, 4, 5, 9}, 4, pos);
    cr_assert_arr_eq(pos, ((ptrdiff_t[]){1, 4, 5, -1}), sizeof pos);
    /* reversed set: found by the pass over the set */
    for (size_t i = 0; i < 3; i++) {
        weft_candidate t = buf[i];
        buf[i] = buf[5 - i];
        buf[5 - i] = t;
    }
    weft_cands_locate(&c, (const weft_token[]){1, 4, 5, 9}, 4, pos);
    cr_assert_arr_eq(pos, ((ptrdiff_t[]){4, 1, 0, -1}), sizeof pos);
    c.size = 3; /* ids 5, 4, 3 left */
    weft_cands_locate(&c, (const weft_token[]){1, 4}, 2, pos);
    cr_assert_eq(pos[0], -1);
    cr_assert_eq(pos[1], 1);
}

Test(sdk_selection, logsumexp) {
    weft_candidate buf[4];
    /* ln(e^0 + e^0) = ln 2; ln(e^1 + e^2 + e^3) = 3 + ln(1 + e^-1 + e^-2) = 3.40760596 */
    weft_candidates c = cands(buf, (const float[]){0, 0}, 2);
    cr_assert_float_eq(weft_cands_logsumexp(&c), log(2.0), 1e-12);
    c = cands(buf, (const float[]){1, 2, 3}, 3);
    cr_assert_float_eq(weft_cands_logsumexp(&c), 3.40760596444438, 1e-9);
    /* -inf entries add nothing; huge logits do not overflow */
    c = cands(buf, (const float[]){-INFINITY, 1e30f, 1e30f}, 3);
    cr_assert_float_eq(weft_cands_logsumexp(&c), 1e30, 1e24);
    c = cands(buf, (const float[]){-INFINITY, -INFINITY}, 2);
    cr_assert_eq(weft_cands_logsumexp(&c), -INFINITY);
    c.size = 0;
    cr_assert_eq(weft_cands_logsumexp(&c), -INFINITY);
}

Test(sdk_selection, temperature) {
    weft_candidate buf[4];
    weft_candidates c = cands(buf, (const float[]){2, -4, -INFINITY, FLT_MAX}, 4);
    c.sorted = false;
    weft_cands_temperature(&c, 0.5); /* x2, clamped, -inf kept */
    cr_assert_eq(c.data[0].logit, 4.0f);
    cr_assert_eq(c.data[1].logit, -8.0f);
    cr_assert_eq(c.data[2].logit, -INFINITY);
    cr_assert_eq(c.data[3].logit, FLT_MAX);
    c = cands(buf, (const float[]){2, 7, 7, 1}, 4);
    weft_cands_temperature(&c, 0); /* the argmax, lowest id on ties */
    cr_assert_eq(c.size, 1);
    cr_assert_eq(c.data[0].id, 1);
}

Test(sdk_selection, scratch_reserve) {
    pf fx;
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "penalties")); /* for an env */
    int *buf = NULL;
    size_t cap = 0;
    cr_assert(weft_scratch_reserve(fx.env, (void **)&buf, &cap, 5, sizeof *buf));
    cr_assert_geq(cap, 5);
    for (int i = 0; i < 5; i++) buf[i] = i;
    size_t before = cap;
    cr_assert(weft_scratch_reserve(fx.env, (void **)&buf, &cap, 3, sizeof *buf)); /* never shrinks */
    cr_assert_eq(cap, before);
    cr_assert(weft_scratch_reserve(fx.env, (void **)&buf, &cap, 1000, sizeof *buf));
    cr_assert_geq(cap, 1000);
    for (int i = 0; i < 5; i++) cr_assert_eq(buf[i], i, "contents kept");
    cr_assert_not(weft_scratch_reserve(fx.env, (void **)&buf, &cap, SIZE_MAX / 2, 8)); /* overflow: refused */
    cr_assert(strstr(pf_error(&fx), "out of memory"));
    fx.env->host->free(buf);
    pf_close(&fx);
}
