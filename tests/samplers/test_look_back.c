/* sampler look-back: a step whose distribution is within KL alpha of an
 * earlier step's is sampled uniformly from the top k (Xu et al. 2023, §3.2). */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_look_back, .fini = teardown);

/* Two distributions over 4 tokens:
 *   P = 0.5, 0.25, 0.125, 0.125     Q = 0.25, 0.5, 0.125, 0.125
 * KL(P || Q) = 0.5 ln 2 + 0.25 ln 0.5 = 0.25 ln 2 = 0.17329 nats;
 * KL(P || P) = 0. */
static const float P[4] = {0.5f, 0.25f, 0.125f, 0.125f};
static const float Q[4] = {0.25f, 0.5f, 0.125f, 0.125f};

/* Applies instance `self` to dist d; returns the candidate count and
 * copies the result into out. */
static size_t step(void *self, const float *d, weft_candidate *out) {
    float l[4];
    for (int i = 0; i < 4; i++) l[i] = logf(d[i]);
    weft_candidates c = pf_cands(out, l, 4);
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, 4, NULL);
    cr_assert_eq(PF_SAMPLER(&fx)->apply(self, &sc.ctx, &c), WEFT_OK);
    return c.size;
}

static void open_lb(double alpha, int64_t k, int64_t window, int64_t top_m) {
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_SAMPLER, "look-back",
            PF_ARGS(PF_DOUBLE("alpha", alpha), PF_INT("k", k), PF_INT("window", window), PF_INT("top_m", top_m)));
}

/* Uniform over the top k: k candidates, the k most likely, equal logits. */
static void assert_uniform_top(const weft_candidate *c, size_t n, size_t k) {
    cr_assert_eq(n, k);
    weft_candidates set = {.data = (weft_candidate *)c, .size = n};
    weft_token ids[4];
    pf_kept_ids(&set, ids);
    for (size_t i = 0; i < n; i++) cr_assert_eq(c[i].logit, c[0].logit);
    (void)ids;
}

Test(sampler_look_back, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "look-back", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
    cr_assert(fx.desc->flags & WEFT_CAP_STATEFUL);
}

Test(sampler_look_back, first_step_passes) {
    open_lb(0.5, 2, 8, 8);
    weft_candidate c[4];
    cr_assert_eq(step(fx.self, P, c), 4); /* no earlier step */
    for (int i = 0; i < 4; i++) cr_assert_eq(c[i].logit, logf(P[c[i].id]));
}

Test(sampler_look_back, repeat_of_a_step_goes_uniform) {
    open_lb(0.05, 2, 8, 8);
    weft_candidate c[4];
    step(fx.self, P, c);
    PF_SAMPLER(&fx)->accept(fx.self, 0);
    /* P again: KL 0 < 0.05 -> uniform over the top 2 (tokens 0, 1) */
    size_t n = step(fx.self, P, c);
    assert_uniform_top(c, n, 2);
    cr_assert((c[0].id == 0 && c[1].id == 1) || (c[0].id == 1 && c[1].id == 0));
}

Test(sampler_look_back, threshold_is_on_kl) {
    weft_candidate c[4];
    /* after P, Q is 0.17329 away: fires with alpha 0.2, not with 0.15 */
    open_lb(0.2, 3, 8, 8);
    step(fx.self, P, c);
    PF_SAMPLER(&fx)->accept(fx.self, 0);
    assert_uniform_top(c, step(fx.self, Q, c), 3);
    open_lb(0.15, 3, 8, 8);
    step(fx.self, P, c);
    PF_SAMPLER(&fx)->accept(fx.self, 0);
    cr_assert_eq(step(fx.self, Q, c), 4);
}

Test(sampler_look_back, truncated_distributions) {
    /* top_m 2: P keeps {0: 0.5, 1: 0.25} + 0.25 over 2 others; Q keeps
     * {1: 0.5, 0: 0.25} + 0.25: KL = 0.5 ln 2 + 0.25 ln 0.5 + 0.25 ln 1 =
     * 0.17329, as with the whole distributions */
    weft_candidate c[4];
    open_lb(0.2, 3, 8, 2);
    step(fx.self, P, c);
    PF_SAMPLER(&fx)->accept(fx.self, 0);
    cr_assert_eq(step(fx.self, Q, c), 3);
    open_lb(0.15, 3, 8, 2);
    step(fx.self, P, c);
    PF_SAMPLER(&fx)->accept(fx.self, 0);
    cr_assert_eq(step(fx.self, Q, c), 4);
}

Test(sampler_look_back, window) {
    weft_candidate c[4];
    /* steps P then Q; now P: window 1 compares with Q only (0.173 > 0.05),
     * window 2 also with P (0 < 0.05) */
    for (int64_t w = 1; w <= 2; w++) {
        open_lb(0.05, 2, w, 8);
        step(fx.self, P, c);
        PF_SAMPLER(&fx)->accept(fx.self, 0);
        step(fx.self, Q, c);
        PF_SAMPLER(&fx)->accept(fx.self, 1);
        cr_assert_eq(step(fx.self, P, c), w == 1 ? 4u : 2u, "window %lld", (long long)w);
    }
}

Test(sampler_look_back, accept_files_the_last_apply_once) {
    weft_candidate c[4];
    open_lb(0.05, 2, 8, 8);
    PF_SAMPLER(&fx)->accept(fx.self, 0); /* nothing applied yet: no step filed */
    cr_assert_eq(step(fx.self, P, c), 4);
    PF_SAMPLER(&fx)->reset(fx.self); /* forgets P */
    cr_assert_eq(step(fx.self, P, c), 4);
}

/* The core's protocol under speculation: node = clone(parent position) +
 * accept(node token) + apply. A clone sees its path's steps; the parent
 * does not see the clone's. */
Test(sampler_look_back, clone_per_position) {
    weft_candidate c[4];
    open_lb(0.05, 2, 8, 8);
    const weft_sampler_vtable *v = PF_SAMPLER(&fx);
    void *root = fx.self, *n1, *n2;
    cr_assert_eq(step(root, Q, c), 4); /* root position: Q */
    cr_assert_eq(v->clone(root, &n1), WEFT_OK);
    v->accept(n1, 1);
    cr_assert_eq(step(n1, P, c), 4); /* node 1: P, unlike Q */
    cr_assert_eq(v->clone(n1, &n2), WEFT_OK);
    v->accept(n2, 0);
    assert_uniform_top(c, step(n2, P, c), 2); /* node 2: P repeats node 1 */
    /* a sibling of node 1 under the root does not see node 1's P */
    void *sib;
    cr_assert_eq(v->clone(root, &sib), WEFT_OK);
    v->accept(sib, 2);
    cr_assert_eq(step(sib, P, c), 4);
    fx.desc->destroy(n1);
    fx.desc->destroy(n2);
    fx.desc->destroy(sib);
}

Test(sampler_look_back, extremes) {
    open_lb(10.0, 2, 4, 3);
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, 6, NULL);
    st_assert_extremes(&fx, &sc.ctx); /* no past: passes everything */
    /* with a past step, every case repeats (alpha 10) and goes uniform */
    weft_candidate buf[6];
    weft_candidates c = pf_cands(buf, (const float[]){1, 2, 3, 4, 5, 6}, 6);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    PF_SAMPLER(&fx)->accept(fx.self, 5);
    st_assert_extremes(&fx, &sc.ctx);
}
