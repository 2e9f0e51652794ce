/* sampler xtc: exclude the top choices but the least likely of them, when
 * a coin that depends only on (seed, prompt, position) says so. */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_xtc, .fini = teardown);

/* Logits log(P): p by id 0.4, 0.3, 0.15, 0.1, 0.05 (no threshold below
 * falls on one of them). */
static const float P5[5] = {0.4f, 0.3f, 0.15f, 0.1f, 0.05f};
static const weft_token PROMPT[3] = {1, 2, 3};

static size_t run(double probability, double threshold, int64_t min_keep, weft_token *ids) {
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "xtc",
            PF_ARGS(PF_DOUBLE("probability", probability), PF_DOUBLE("threshold", threshold),
                    PF_INT("min_keep", min_keep)));
    float l[5];
    for (int i = 0; i < 5; i++) l[i] = logf(P5[i]);
    weft_candidate buf[5];
    weft_candidates c = pf_cands(buf, l, 5);
    st_ctx sc;
    st_ctx_init(&sc, PROMPT, 3, 3, 0, 5, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    return pf_kept_ids(&c, ids);
}

Test(sampler_xtc, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "xtc", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
    cr_assert_str_eq(fx.desc->params[1].def, "0.1"); /* llama.cpp's threshold */
}

Test(sampler_xtc, removes_all_top_choices_but_the_last) {
    weft_token ids[5];
    /* threshold 0.12: top choices 0 (0.4), 1 (0.3), 2 (0.15); all but the
     * least likely (2) go: 2, 3, 4 remain */
    cr_assert_eq(run(1.0, 0.12, 1, ids), 3);
    cr_assert_arr_eq(ids, ((weft_token[]){2, 3, 4}), 3 * sizeof(weft_token));
    /* threshold 0.25: top choices 0, 1 -> 1, 2, 3, 4 remain */
    cr_assert_eq(run(1.0, 0.25, 1, ids), 4);
    cr_assert_arr_eq(ids, ((weft_token[]){1, 2, 3, 4}), 4 * sizeof(weft_token));
}

Test(sampler_xtc, needs_two_top_choices) {
    weft_token ids[5];
    cr_assert_eq(run(1.0, 0.35, 1, ids), 5); /* only 0 reaches 0.35 */
    cr_assert_eq(run(1.0, 0.45, 1, ids), 5); /* nothing reaches 0.45 */
}

Test(sampler_xtc, min_keep) {
    weft_token ids[5];
    /* threshold 0.12 would leave 3 tokens */
    cr_assert_eq(run(1.0, 0.12, 4, ids), 5);
    cr_assert_eq(run(1.0, 0.12, 3, ids), 3);
}

Test(sampler_xtc, probability_zero_is_off) {
    weft_token ids[5];
    cr_assert_eq(run(0.0, 0.12, 1, ids), 5);
}

Test(sampler_xtc, sorted_input_stays_sorted) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "xtc", PF_ARGS(PF_DOUBLE("probability", 1.0), PF_DOUBLE("threshold", 0.12)));
    float l[5];
    for (int i = 0; i < 5; i++) l[i] = logf(P5[i]);
    weft_candidate buf[5];
    weft_candidates c = pf_cands(buf, l, 5);
    c.sorted = true;
    st_ctx sc;
    st_ctx_init(&sc, PROMPT, 3, 3, 0, 5, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    cr_assert(c.sorted);
    cr_assert_eq(c.size, 3);
    for (size_t i = 0; i < 3; i++) cr_assert_eq(c.data[i].id, (weft_token)(i + 2));
}

Test(sampler_xtc, impossible_tokens_are_never_top_choices) {
    /* threshold 0: every possible token is a top choice; the least likely
     * possible one (1) stays, with the impossible 0 */
    pf_open(&fx, WEFT_KIND_SAMPLER, "xtc", PF_ARGS(PF_DOUBLE("probability", 1.0), PF_DOUBLE("threshold", 0.0)));
    weft_candidate buf[3];
    weft_candidates c = pf_cands(buf, (const float[]){-INFINITY, 1.0f, 2.0f}, 3);
    st_ctx sc;
    st_ctx_init(&sc, PROMPT, 3, 3, 0, 3, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    weft_token ids[3];
    cr_assert_eq(pf_kept_ids(&c, ids), 2);
    cr_assert_eq(ids[1], 1);
}

/* Whether the coin fires at the node after `history` (prompt of np tokens). */
static bool fires(const weft_token *history, size_t n, size_t np) {
    float l[5];
    for (int i = 0; i < 5; i++) l[i] = logf(P5[i]);
    weft_candidate buf[5];
    weft_candidates c = pf_cands(buf, l, 5);
    st_ctx sc;
    st_ctx_init(&sc, history, n, np, 0, 5, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    return c.size < 5;
}

/* The coin at position k is Bernoulli(probability): over 20000 positions
 * the count of firings is within 5 sigma of 0.3 * 20000 = 6000 (sigma =
 * sqrt(20000 * 0.3 * 0.7) = 64.8). */
Test(sampler_xtc, coin_frequency) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "xtc", PF_ARGS(PF_DOUBLE("probability", 0.3), PF_DOUBLE("threshold", 0.12)));
    enum { N = 20000 };
    static weft_token h[N + 3];
    for (size_t i = 0; i < N + 3; i++) h[i] = (weft_token)(i % 5);
    size_t n_fire = 0;
    for (size_t k = 3; k < N + 3; k++) n_fire += fires(h, k, 3);
    cr_assert(fabs((double)n_fire - 6000) < 5 * 64.8, "fired %zu times in %d, expected about 6000", n_fire, N);
}

/* The coin depends on (seed, prompt, position) only: not on the tokens
 * after the prompt (committed or drafted), so every draft node at a
 * position sees what plain decoding sees. */
Test(sampler_xtc, coin_depends_on_position_not_path) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "xtc", PF_ARGS(PF_DOUBLE("probability", 0.5), PF_DOUBLE("threshold", 0.12)));
    weft_token a[64], b[64], other_prompt[64];
    for (size_t i = 0; i < 64; i++) {
        a[i] = (weft_token)(i % 5);
        b[i] = i < 3 ? a[i] : (weft_token)((i * 7 + 1) % 5); /* same prompt, other continuation */
        other_prompt[i] = i < 3 ? (weft_token)(4 - i) : a[i];
    }
    size_t n_fire = 0, n_differ_prompt = 0;
    for (size_t k = 3; k < 64; k++) {
        bool fa = fires(a, k, 3);
        cr_assert_eq(fa, fires(b, k, 3), "position %zu: the coin depends on the path", k);
        n_fire += fa;
        n_differ_prompt += fa != fires(other_prompt, k, 3);
    }
    cr_assert(n_fire > 10 && n_fire < 51, "fired %zu times in 61 positions", n_fire);
    cr_assert_gt(n_differ_prompt, 5, "the coin ignores the prompt");
}

Test(sampler_xtc, seed_picks_the_sequence) {
    weft_token h[64];
    for (size_t i = 0; i < 64; i++) h[i] = (weft_token)(i % 5);
    bool first[64];
    size_t differ = 0;
    for (int64_t seed = 0; seed < 2; seed++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "xtc",
                PF_ARGS(PF_DOUBLE("probability", 0.5), PF_DOUBLE("threshold", 0.12), PF_INT("seed", seed)));
        for (size_t k = 3; k < 64; k++) {
            bool f = fires(h, k, 3);
            cr_assert_eq(f, fires(h, k, 3), "not reproducible"); /* the same call again */
            if (seed == 0) first[k] = f;
            else differ += f != first[k];
        }
    }
    cr_assert_gt(differ, 5, "two seeds gave (almost) the same coins");
}

Test(sampler_xtc, extremes) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "xtc", PF_ARGS(PF_DOUBLE("probability", 1.0), PF_DOUBLE("threshold", 0.1)));
    st_ctx sc;
    st_ctx_init(&sc, PROMPT, 3, 3, 0, 6, NULL);
    st_assert_extremes(&fx, &sc.ctx);
}

Test(sampler_xtc, rejects_out_of_range) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "xtc"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_DOUBLE("probability", 1.5))), WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_INT("min_keep", 0))), WEFT_ERR_INVALID);
}
