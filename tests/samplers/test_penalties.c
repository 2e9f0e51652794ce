/* sampler penalties: repetition / frequency / presence over the last N
 * tokens of the history, llama.cpp semantics. */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_penalties, .fini = teardown);

/* Six tokens; logits by id. */
static const float L6[6] = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 1.0f};
/* History (2 prompt tokens, then 4 generated): 3 1 | 3 0 5 3.
 * Whole-history counts: 3 x3, 1 x1, 0 x1, 5 x1; last 4 (3 0 5 3): 3 x2, 0 x1, 5 x1. */
static const weft_token H6[6] = {3, 1, 3, 0, 5, 3};

static void run(int64_t last_n, double repeat, double freq, double presence, weft_candidates *c,
                weft_candidate *buf) {
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "penalties",
            PF_ARGS(PF_INT("last_n", last_n), PF_DOUBLE("repeat", repeat), PF_DOUBLE("frequency", freq),
                    PF_DOUBLE("presence", presence)));
    *c = pf_cands(buf, L6, 6);
    st_ctx sc;
    st_ctx_init(&sc, H6, 6, 2, 0, 6, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, c), WEFT_OK, "%s", pf_error(&fx));
}

static void expect(const weft_candidates *c, const float *want) {
    cr_assert_eq(c->size, 6);
    for (weft_token t = 0; t < 6; t++)
        cr_assert_float_eq(st_logit(c, t), want[t], 1e-6, "token %d: %g, expected %g", t, st_logit(c, t), want[t]);
}

Test(sampler_penalties, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "penalties", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
    cr_assert(fx.desc->flags & WEFT_CAP_NEEDS_HISTORY);
    /* llama.cpp's defaults: last_n 64, repeat 1 (off), frequency 0, presence 0 */
    cr_assert_str_eq(fx.desc->params[0].def, "64");
    cr_assert_str_eq(fx.desc->params[1].def, "1.0");
}

Test(sampler_penalties, repetition_in_the_last_n) {
    weft_candidate buf[6];
    weft_candidates c;
    /* last 4 = 3 0 5 3; repeat 2: positive logits halve (0: 2 -> 1, 3: 3 -> 1.5,
     * 5: 1 -> 0.5); 1 (-1) is outside the window and keeps its logit */
    run(4, 2.0, 0, 0, &c, buf);
    expect(&c, (const float[]){1.0f, -1.0f, 0.5f, 1.5f, -2.0f, 0.5f});
    cr_assert_not(c.sorted);
}

Test(sampler_penalties, negative_logits_are_multiplied) {
    weft_candidate buf[6];
    weft_candidates c;
    /* whole history (-1): token 1 (-1) is in it: -1 * 2 = -2, pushed down, not up */
    run(-1, 2.0, 0, 0, &c, buf);
    expect(&c, (const float[]){1.0f, -2.0f, 0.5f, 1.5f, -2.0f, 0.5f});
}

Test(sampler_penalties, frequency_and_presence) {
    weft_candidate buf[6];
    weft_candidates c;
    /* whole history, freq 0.5, presence 0.25: l -= count * 0.5 + 0.25
     *   0: 2 - 0.75 = 1.25;  1: -1 - 0.75 = -1.75;  3: 3 - 1.75 = 1.25;  5: 1 - 0.75 = 0.25 */
    run(-1, 1.0, 0.5, 0.25, &c, buf);
    expect(&c, (const float[]){1.25f, -1.75f, 0.5f, 1.25f, -2.0f, 0.25f});
}

Test(sampler_penalties, all_three) {
    weft_candidate buf[6];
    weft_candidates c;
    /* repeat first, then the subtraction (llama.cpp's order):
     *   0: 2/2 - 0.75 = 0.25;  1: -1*2 - 0.75 = -2.75;  3: 3/2 - 1.75 = -0.25;  5: 1/2 - 0.75 = -0.25 */
    run(-1, 2.0, 0.5, 0.25, &c, buf);
    expect(&c, (const float[]){0.25f, -2.75f, 0.5f, -0.25f, -2.0f, -0.25f});
}

Test(sampler_penalties, window_longer_than_history) {
    weft_candidate buf[6];
    weft_candidates c;
    run(100, 2.0, 0, 0, &c, buf); /* the same as the whole history */
    expect(&c, (const float[]){1.0f, -2.0f, 0.5f, 1.5f, -2.0f, 0.5f});
}

Test(sampler_penalties, off_is_a_no_op) {
    weft_candidate buf[6];
    weft_candidates c;
    run(0, 2.0, 0.5, 0.5, &c, buf); /* last_n 0 */
    expect(&c, L6);
    run(64, 1.0, 0, 0, &c, buf); /* neutral values */
    expect(&c, L6);
}

Test(sampler_penalties, zero_logit_and_shuffled_candidates) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "penalties",
            PF_ARGS(PF_INT("last_n", -1), PF_DOUBLE("repeat", 3.0), PF_DOUBLE("presence", 0.5)));
    /* a subset in no particular order: ids 5, 0, 3, 2 (the slot-equals-id
     * shortcut fails, so the tokens are searched) */
    weft_candidate buf[4] = {{5, 0.0f, 0}, {0, 6.0f, 0}, {3, -3.0f, 0}, {2, 1.0f, 0}};
    weft_candidates c = {.struct_size = sizeof c, .data = buf, .size = 4};
    st_ctx sc;
    st_ctx_init(&sc, H6, 6, 2, 0, 6, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    /* 5: 0 * 3 - 0.5 = -0.5;  0: 6 / 3 - 0.5 = 1.5;  3: -3 * 3 - 0.5 = -9.5;  2 is not in the history */
    cr_assert_float_eq(st_logit(&c, 5), -0.5f, 1e-6);
    cr_assert_float_eq(st_logit(&c, 0), 1.5f, 1e-6);
    cr_assert_float_eq(st_logit(&c, 3), -9.5f, 1e-6);
    cr_assert_float_eq(st_logit(&c, 2), 1.0f, 1e-6);
}

Test(sampler_penalties, draft_path_counts) {
    /* the path to a draft node is part of the history: the same tokens
     * penalise the same way whether committed or drafted */
    pf_open(&fx, WEFT_KIND_SAMPLER, "penalties", PF_ARGS(PF_INT("last_n", 3), PF_DOUBLE("frequency", 1.0)));
    static const weft_token h[5] = {0, 1, 2, 4, 4};
    weft_candidate a[6], b[6];
    weft_candidates ca = pf_cands(a, L6, 6), cb = pf_cands(b, L6, 6);
    st_ctx committed, drafted;
    st_ctx_init(&committed, h, 5, 1, 0, 6, NULL); /* all committed */
    st_ctx_init(&drafted, h, 5, 1, 2, 6, NULL);   /* the last two are a draft path */
    cr_assert_eq(st_apply(&fx, &committed.ctx, &ca), WEFT_OK);
    cr_assert_eq(st_apply(&fx, &drafted.ctx, &cb), WEFT_OK);
    /* last 3 = 2 4 4: 2 -> 0.5 - 1 = -0.5, 4 -> -2 - 2 = -4 */
    cr_assert_float_eq(st_logit(&ca, 2), -0.5f, 1e-6);
    cr_assert_float_eq(st_logit(&ca, 4), -4.0f, 1e-6);
    for (weft_token t = 0; t < 6; t++) cr_assert_eq(st_logit(&ca, t), st_logit(&cb, t));
}

Test(sampler_penalties, extremes) {
    static const weft_token h[8] = {0, 1, 2, 3, 4, 5, 0, 3};
    st_ctx sc;
    st_ctx_init(&sc, h, 8, 2, 0, 6, NULL);
    pf_open(&fx, WEFT_KIND_SAMPLER, "penalties",
            PF_ARGS(PF_INT("last_n", -1), PF_DOUBLE("repeat", 1.5), PF_DOUBLE("frequency", 1e30),
                    PF_DOUBLE("presence", 2.0)));
    st_assert_extremes(&fx, &sc.ctx);
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "penalties", PF_ARGS(PF_DOUBLE("repeat", 1.3)));
    pf_assert_extremes(&fx);
}

Test(sampler_penalties, rejects_bad_values) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "penalties"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_DOUBLE("repeat", 0))), WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_INT("last_n", -2))), WEFT_ERR_INVALID);
}
