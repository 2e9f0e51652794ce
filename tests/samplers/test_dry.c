/* sampler dry: penalise tokens that would extend a repeat (llama.cpp's DRY,
 * including the breaker limit and the Z-function). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) {
    pf_close(&fx);
    st_json_release();
}
TestSuite(sampler_dry, .fini = teardown);

/* Toy vocabulary. "q:" contains ":", so it is a single-token breaker like
 * ":" and "\n"; "xy" ends with "y", a prefix of the breaker "yz", whose rest
 * "z" is token 9. */
enum { A, B, C, Y, NL, COLON, D, QCOLON, XY, Z, NV };
static const char *const pieces[NV] = {"a", "b", "c", "y", "\n", ":", "d", "q:", "xy", "z"};
static st_vocab voc;

/* Applies dry to all-zero logits after `h`; the result is -penalty per token. */
static void run(const weft_token *h, size_t n, weft_candidates *c, weft_candidate *buf) {
    st_vocab_init(&voc, pieces, NV);
    static const float zeros[NV] = {0};
    *c = pf_cands(buf, zeros, NV);
    st_ctx sc;
    st_ctx_init(&sc, h, n, 1, 0, NV, &voc);
    cr_assert_eq(st_apply(&fx, &sc.ctx, c), WEFT_OK, "%s", pf_error(&fx));
}

static void expect_penalties(const weft_candidates *c, const float *want) {
    for (weft_token t = 0; t < NV; t++)
        cr_assert_float_eq(st_logit(c, t), -want[t], 1e-5, "token %d: %g, expected %g", t, st_logit(c, t), -want[t]);
}

#define OPEN(...) pf_open(&fx, WEFT_KIND_SAMPLER, "dry", PF_ARGS(__VA_ARGS__))

Test(sampler_dry, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "dry", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
    cr_assert(fx.desc->flags & WEFT_CAP_NEEDS_HISTORY);
    cr_assert_str_eq(fx.desc->params[1].def, "1.75");
    cr_assert_str_eq(fx.desc->params[2].def, "2");
    cr_assert_null(fx.desc->params[4].def); /* absent means llama.cpp's breakers */
}

/* llama.cpp's worked example. Window a b c c b c y a b c; reversed
 * c b a y c b c c b a, whose Z-function is
 *   k: 1 2 3 4 5 6 7 8 9
 *   z: 0 0 0 2 0 1 3 0 0
 * z[4] = 2: "b c" recurs before y  -> y extends a repeat of 2;
 * z[6] = 1: "c" before b           -> length 1 < allowed 2, no penalty;
 * z[7] = 3: "a b c" before c       -> c extends a repeat of 3.
 * Penalty 0.8 * 1.75^(n - 2): c 0.8 * 1.75 = 1.4, y 0.8. */
Test(sampler_dry, worked_example) {
    static const weft_token h[] = {A, B, C, C, B, C, Y, A, B, C};
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1));
    weft_candidate buf[NV];
    weft_candidates c;
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){[C] = 1.4f, [Y] = 0.8f});
    cr_assert_not(c.sorted);
}

/* The window: the last 7 tokens c b c y a b c, reversed c b a y c b c:
 * z[4] = 2 ("b c" before y) -> y 0.8; z[6] = 1 -> nothing. The last 4
 * (y a b c) repeat nothing. */
Test(sampler_dry, penalty_last_n) {
    static const weft_token h[] = {A, B, C, C, B, C, Y, A, B, C};
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", 7));
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){[Y] = 0.8f});
    pf_close(&fx);
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", 4));
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){0});
}

/* A breaker caps the repeat length. p q : p q : p with "d" as p and "b" as
 * q: reversed d : b d : b d. Without breakers z[3] = 4 ("d : b d" before
 * b): b gets 0.8 * 1.75^2 = 2.45. With ":" a breaker, the newest breaker
 * is 1 token back, so repeats are capped at 1 < 2: nothing. */
Test(sampler_dry, breaker_caps_the_repeat) {
    static const weft_token h[] = {D, B, COLON, D, B, COLON, D};
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1), ST_JSON("sequence_breakers", "[]"));
    run(h, 7, &c, buf);
    expect_penalties(&c, (const float[NV]){[B] = 2.45f});
    pf_close(&fx);
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1)); /* default breakers */
    run(h, 7, &c, buf);
    expect_penalties(&c, (const float[NV]){0});
}

/* A single-token breaker itself is never penalised. a b : a b: the breaker
 * 2 back caps repeats at 2; z[3] = 2 ("a b" before ":") would penalise ":"
 * by 0.8, but ":" is a breaker. With no breakers it is penalised. */
Test(sampler_dry, breakers_are_not_penalised) {
    static const weft_token h[] = {A, B, COLON, A, B};
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1));
    run(h, 5, &c, buf);
    expect_penalties(&c, (const float[NV]){0});
    pf_close(&fx);
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1), ST_JSON("sequence_breakers", "[]"));
    run(h, 5, &c, buf);
    expect_penalties(&c, (const float[NV]){[COLON] = 0.8f});
}

/* A breaker spanning tokens: "yz" is xy followed by z (the tail tokenized
 * by the backend). Window a b xy z a b xy z a b, reversed b a z xy b a z xy b a.
 * The newest "xy z" ends 2 tokens back: repeats capped at 2, and z[4] = 6
 * ("b a z xy b a" before xy) gives xy 0.8 * 1.75^0 = 0.8. Without the
 * breaker: 0.8 * 1.75^4 = 7.503125. */
Test(sampler_dry, multi_token_breaker) {
    static const weft_token h[] = {A, B, XY, Z, A, B, XY, Z, A, B};
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1), ST_JSON("sequence_breakers", "[\"yz\"]"));
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){[XY] = 0.8f});
    pf_close(&fx);
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1), ST_JSON("sequence_breakers", "[]"));
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){[XY] = 7.503125f});
}

/* allowed_length and base: the worked example with allowed 1 adds b
 * (repeat 1): b 0.8, y 0.8 * 1.5, c 0.8 * 1.5^2 = 1.8 with base 1.5. */
Test(sampler_dry, allowed_length_and_base) {
    static const weft_token h[] = {A, B, C, C, B, C, Y, A, B, C};
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_DOUBLE("base", 1.5), PF_INT("allowed_length", 1),
         PF_INT("penalty_last_n", -1));
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){[B] = 0.8f, [Y] = 1.2f, [C] = 1.8f});
}

/* 300 a's: the repeat before "a" is 299 long; base^297 would overflow a
 * float, so the exponent stops at floor(88.7228391 / ln 1.75) = 158. */
Test(sampler_dry, exponent_is_clamped) {
    static weft_token h[300];
    for (size_t i = 0; i < 300; i++) h[i] = A;
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", -1));
    run(h, 300, &c, buf);
    double want = 0.8 * pow(1.75, 158);
    float got = -st_logit(&c, A);
    cr_assert(isfinite(got) && fabs(got - want) / want < 1e-5, "penalty %g, expected %g", got, want);
}

Test(sampler_dry, off_and_short_history) {
    static const weft_token h[] = {A, B, C, C, B, C, Y, A, B, C};
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(PF_DOUBLE("multiplier", 0.0)); /* llama.cpp's default: off */
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){0});
    pf_close(&fx);
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_DOUBLE("base", 0.9)); /* base < 1: off */
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){0});
    pf_close(&fx);
    OPEN(PF_DOUBLE("multiplier", 0.8), PF_INT("penalty_last_n", 0)); /* off */
    run(h, 10, &c, buf);
    expect_penalties(&c, (const float[NV]){0});
    pf_close(&fx);
    OPEN(PF_DOUBLE("multiplier", 0.8)); /* two tokens <= allowed_length */
    run(h, 2, &c, buf);
    expect_penalties(&c, (const float[NV]){0});
}

Test(sampler_dry, needs_the_vocabulary) {
    static const weft_token h[] = {A, B, C, A, B, C};
    OPEN(PF_DOUBLE("multiplier", 0.8));
    static const float zeros[NV] = {0};
    weft_candidate buf[NV];
    weft_candidates c = pf_cands(buf, zeros, NV);
    st_ctx sc;
    st_ctx_init(&sc, h, 6, 1, 0, NV, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "vocabulary"), "%s", pf_error(&fx));
}

Test(sampler_dry, rejects_bad_breakers) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "dry"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("sequence_breakers", "\"x\""))), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "array of strings"), "%s", pf_error(&fx));
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("sequence_breakers", "[\"a\", 3]"))), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "/test/1"), "the error names the item: %s", pf_error(&fx));
}

Test(sampler_dry, extremes) {
    st_vocab_init(&voc, pieces, 6); /* the extreme cases have 6 candidates */
    static const weft_token h[] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1};
    st_ctx sc;
    st_ctx_init(&sc, h, 11, 1, 0, 6, &voc);
    OPEN(PF_DOUBLE("multiplier", 1e30), PF_INT("penalty_last_n", -1));
    st_assert_extremes(&fx, &sc.ctx);
}
