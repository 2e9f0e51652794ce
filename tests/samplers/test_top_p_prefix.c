/* top-p sorts only the prefix it needs (64 tokens, then 8x more). Its kept
 * set must equal the full-sort rule on vocabulary-sized sets, whatever the
 * nucleus size: tiny, crossing 64, crossing 512, the whole set. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <weft/sdk.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_top_p_prefix, .fini = teardown);

enum { N = 32000 };

static int cmp_desc(const void *a, const void *b) {
    const weft_candidate *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int cmp_id(const void *a, const void *b) {
    const weft_candidate *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* The reference: softmax, full sort, the smallest prefix with mass >= p
 * (and at least min_keep), as llama.cpp's llama_sampler_top_p. */
static size_t reference(const weft_candidate *in, double p, size_t min_keep, weft_candidate *out) {
    memcpy(out, in, N * sizeof *out);
    weft_candidates c = {.data = out, .size = N};
    weft_cands_softmax(&c);
    qsort(out, N, sizeof *out, cmp_desc);
    double mass = 0;
    for (size_t i = 0; i < N; i++) {
        mass += out[i].p;
        if (mass >= p && i + 1 >= min_keep) return i + 1;
    }
    return N;
}

Test(sampler_top_p_prefix, equals_full_sort) {
    static weft_candidate in[N], got[N], want[N];
    static const double ps[] = {0.05, 0.5, 0.9, 0.95, 0.999, 0.99999};
    static const double scales[] = {8.0, 2.0, 0.3}; /* peaked to flat: nuclei of ~1 to ~30000 */
    srand(11);
    size_t prefix_sizes_seen[4] = {0};
    for (size_t s = 0; s < 3; s++) {
        for (size_t i = 0; i < N; i++) {
            /* ties on purpose: a coarse grid of logits */
            float u = (float)(rand() % 20000) / 20000.0f;
            in[i] = (weft_candidate){.id = (weft_token)i, .logit = (float)(scales[s] * 10 * u * u * u)};
        }
        for (size_t k = 0; k < 6; k++) {
            for (int sorted = 0; sorted < 2; sorted++) {
                pf_close(&fx);
                pf_open(&fx, WEFT_KIND_SAMPLER, "top-p", PF_ARGS(PF_DOUBLE("p", ps[k])));
                size_t n_want = reference(in, ps[k], 1, want);
                memcpy(got, sorted ? want : in, N * sizeof *got);
                if (sorted) qsort(got, N, sizeof *got, cmp_desc); /* already: keep the flag honest */
                weft_candidates c = {.struct_size = sizeof c, .data = got, .size = N, .sorted = sorted};
                cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
                cr_assert_eq(c.size, n_want, "scale %g p %g: kept %zu, expected %zu", scales[s], ps[k], c.size,
                             n_want);
                cr_assert(c.sorted);
                for (size_t i = 0; i < n_want; i++) /* the same tokens, in the same order */
                    cr_assert_eq(c.data[i].id, want[i].id, "scale %g p %g: rank %zu", scales[s], ps[k], i);
                prefix_sizes_seen[n_want <= 64 ? 0 : n_want <= 512 ? 1 : n_want <= 4096 ? 2 : 3]++;
            }
        }
    }
    /* the cases cover every growth step of the prefix */
    for (size_t b = 0; b < 4; b++) cr_assert_gt(prefix_sizes_seen[b], 0, "no case with a nucleus in bucket %zu", b);
}

Test(sampler_top_p_prefix, min_keep_beyond_the_nucleus) {
    static weft_candidate in[N], want[N];
    for (size_t i = 0; i < N; i++) in[i] = (weft_candidate){.id = (weft_token)i, .logit = (float)(i % 97) * 0.5f};
    pf_open(&fx, WEFT_KIND_SAMPLER, "top-p", PF_ARGS(PF_DOUBLE("p", 0.01), PF_INT("min_keep", 700)));
    size_t n_want = reference(in, 0.01, 700, want);
    cr_assert_eq(n_want, 700);
    weft_candidates c = {.struct_size = sizeof c, .data = in, .size = N};
    cr_assert_eq(pf_apply(&fx, &c), WEFT_OK);
    cr_assert_eq(c.size, 700);
    qsort(c.data, c.size, sizeof *c.data, cmp_id);
    qsort(want, 700, sizeof *want, cmp_id);
    for (size_t i = 0; i < 700; i++) cr_assert_eq(c.data[i].id, want[i].id);
}
