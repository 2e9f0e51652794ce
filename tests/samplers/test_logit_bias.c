/* sampler logit-bias: biases by token id and by text. */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) {
    pf_close(&fx);
    st_json_release();
}
TestSuite(sampler_logit_bias, .fini = teardown);

/* Toy vocabulary: "hello" tokenizes as he + llo, "lol" as l + o + l. */
enum { HE, LLO, L, O, X, NV };
static const char *const pieces[NV] = {"he", "llo", "l", "o", "x"};
static st_vocab voc;

static void run(weft_candidates *c, weft_candidate *buf) {
    st_vocab_init(&voc, pieces, NV);
    static const float zeros[NV] = {0};
    *c = pf_cands(buf, zeros, NV);
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, NV, &voc);
    cr_assert_eq(st_apply(&fx, &sc.ctx, c), WEFT_OK, "%s", pf_error(&fx));
}

static void expect(const weft_candidates *c, const float *want) {
    for (weft_token t = 0; t < NV; t++)
        cr_assert_float_eq(st_logit(c, t), want[t], 1e-6, "token %d: %g, expected %g", t, st_logit(c, t), want[t]);
}

#define OPEN(...) pf_open(&fx, WEFT_KIND_SAMPLER, "logit-bias", PF_ARGS(__VA_ARGS__))

Test(sampler_logit_bias, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "logit-bias", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
}

Test(sampler_logit_bias, by_id_object_and_list) {
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(ST_JSON("bias", "{\"1\": 2.5, \"3\": -1}"));
    run(&c, buf);
    expect(&c, (const float[NV]){[LLO] = 2.5f, [O] = -1.0f});
    cr_assert_not(c.sorted);
    pf_close(&fx);
    OPEN(ST_JSON("bias", "[[1, 2.5], [3, -1]]"));
    run(&c, buf);
    expect(&c, (const float[NV]){[LLO] = 2.5f, [O] = -1.0f});
}

Test(sampler_logit_bias, ban) {
    weft_candidate buf[NV];
    weft_candidates c;
    OPEN(ST_JSON("bias", "{\"4\": \"-inf\"}"));
    run(&c, buf);
    cr_assert_eq(st_logit(&c, X), -INFINITY);
    pf_assert_sane(&c, NV); /* the others share p */
    for (size_t i = 0; i < c.size; i++) cr_assert_float_eq(c.data[i].p, c.data[i].id == X ? 0.0f : 0.25f, 1e-6);
}

Test(sampler_logit_bias, by_text) {
    weft_candidate buf[NV];
    weft_candidates c;
    /* "hello" -> he, llo: each +1; "lol" -> l, o, l: l and o once each, -2 */
    OPEN(ST_JSON("text_bias", "{\"hello\": 1, \"lol\": -2}"));
    run(&c, buf);
    expect(&c, (const float[NV]){[HE] = 1, [LLO] = 1, [L] = -2, [O] = -2});
}

Test(sampler_logit_bias, repeated_tokens_add_up) {
    weft_candidate buf[NV];
    weft_candidates c;
    /* llo: +0.5 by id, +1 from "hello", +0.25 from "llo" */
    OPEN(ST_JSON("bias", "[[1, 0.5]]"), ST_JSON("text_bias", "{\"hello\": 1, \"llo\": 0.25}"));
    run(&c, buf);
    expect(&c, (const float[NV]){[HE] = 1, [LLO] = 1.75f});
}

Test(sampler_logit_bias, shuffled_candidates) {
    OPEN(ST_JSON("bias", "{\"0\": 1, \"3\": 2}"));
    weft_candidate buf[3] = {{3, 0.5f, 0}, {4, 0.0f, 0}, {0, -1.0f, 0}};
    weft_candidates c = {.struct_size = sizeof c, .data = buf, .size = 3};
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, NV, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    cr_assert_float_eq(st_logit(&c, 3), 2.5f, 1e-6);
    cr_assert_float_eq(st_logit(&c, 0), 0.0f, 1e-6);
    cr_assert_float_eq(st_logit(&c, 4), 0.0f, 1e-6);
}

Test(sampler_logit_bias, errors) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "logit-bias"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("bias", "{\"x\": 1}"))), WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("bias", "{\"1\": \"big\"}"))), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "/test/1"), "%s", pf_error(&fx));
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("bias", "[[1]]"))), WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("bias", "[[-1, 2]]"))), WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("text_bias", "[\"a\"]"))), WEFT_ERR_INVALID);
    /* an id outside the vocabulary is found on the first apply */
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("bias", "{\"99\": 1}"))), WEFT_OK);
    weft_candidate buf[NV];
    static const float zeros[NV] = {0};
    weft_candidates c = pf_cands(buf, zeros, NV);
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, NV, NULL);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "99"), "%s", pf_error(&fx));
    fx.desc->destroy(fx.self);
    fx.self = NULL;
    /* text without a tokenizer */
    cr_assert_eq(pf_create(&fx, PF_ARGS(ST_JSON("text_bias", "{\"x\": 1}"))), WEFT_OK);
    c = pf_cands(buf, zeros, NV);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "tokenizer"), "%s", pf_error(&fx));
}

Test(sampler_logit_bias, extremes) {
    OPEN(ST_JSON("bias", "{\"0\": 1e30, \"1\": -1e30, \"2\": \"-inf\"}"));
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, 6, NULL);
    st_assert_extremes(&fx, &sc.ctx);
}

Test(sampler_logit_bias, clone_biases_alike) {
    OPEN(ST_JSON("bias", "[[4, -0.5]]"), ST_JSON("text_bias", "{\"hello\": 1}"));
    void *copy;
    cr_assert_eq(PF_SAMPLER(&fx)->clone(fx.self, &copy), WEFT_OK);
    st_json_release(); /* the clone must not need the JSON either */
    st_vocab_init(&voc, pieces, NV);
    static const float zeros[NV] = {0};
    weft_candidate buf[NV];
    weft_candidates c = pf_cands(buf, zeros, NV);
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, NV, &voc);
    cr_assert_eq(PF_SAMPLER(&fx)->apply(copy, &sc.ctx, &c), WEFT_OK);
    expect(&c, (const float[NV]){[HE] = 1, [LLO] = 1, [X] = -0.5f});
    fx.desc->destroy(copy);
}
