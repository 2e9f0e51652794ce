/* sampler mirostat: v1 and v2 truncation, the mu update in accept(), and
 * the clone-per-position protocol the core uses under speculation. */
#include <criterion/criterion.h>
#include <math.h>

#include "sampler_test.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(sampler_mirostat, .fini = teardown);

static double mu_of(void *self) {
    double (*fn)(void *) = (double (*)(void *))fx.desc->actions[0].fn;
    return fn(self);
}

static const float P4[4] = {0.5f, 0.25f, 0.125f, 0.125f};

/* Applies the sampler instance `self` to P4 (log p logits). */
static size_t apply_p4(void *self, weft_token *ids) {
    float l[4];
    for (int i = 0; i < 4; i++) l[i] = logf(P4[i]);
    weft_candidate buf[4];
    weft_candidates c = pf_cands(buf, l, 4);
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, 4, NULL);
    cr_assert_eq(PF_SAMPLER(&fx)->apply(self, &sc.ctx, &c), WEFT_OK);
    return pf_kept_ids(&c, ids);
}

Test(sampler_mirostat, descriptor) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "mirostat", PF_NO_ARGS);
    cr_assert_null(st_check_descriptor(fx.desc), "%s", st_check_descriptor(fx.desc));
    cr_assert(fx.desc->flags & WEFT_CAP_STATEFUL);
    const weft_sampler_vtable *v = PF_SAMPLER(&fx);
    cr_assert(v->accept && v->clone && v->reset);
    cr_assert_float_eq(mu_of(fx.self), 10.0, 1e-12); /* 2 * tau (5) */
}

/* v2, tau 1.1, eta 0.5: mu = 2.2 keeps -log2 p <= 2.2, i.e. p >= 0.2176:
 * tokens 0 (0.5) and 1 (0.25). Renormalised: 2/3 and 1/3.
 *   accept(1): surprise log2 3 = 1.58496; mu = 2.2 - 0.5 * (1.58496 - 1.1) = 1.95752
 *              -> p >= 2^-1.95752 = 0.2575: only token 0 next time;
 *   accept(0): surprise log2 1.5 = 0.58496; mu = 2.2 + 0.5 * 0.51504 = 2.45752
 *              -> p >= 0.1821: tokens 0 and 1 again. */
Test(sampler_mirostat, v2_cut_and_update) {
    weft_token ids[4];
    for (int first = 0; first < 2; first++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "mirostat",
                PF_ARGS(PF_INT("version", 2), PF_DOUBLE("tau", 1.1), PF_DOUBLE("eta", 0.5)));
        cr_assert_eq(apply_p4(fx.self, ids), 2);
        cr_assert_arr_eq(ids, ((weft_token[]){0, 1}), 2 * sizeof(weft_token));
        PF_SAMPLER(&fx)->accept(fx.self, first ? 0 : 1);
        if (first) {
            cr_assert_float_eq(mu_of(fx.self), 2.45752, 1e-5);
            cr_assert_eq(apply_p4(fx.self, ids), 2);
        } else {
            cr_assert_float_eq(mu_of(fx.self), 1.95752, 1e-5);
            cr_assert_eq(apply_p4(fx.self, ids), 1);
            cr_assert_eq(ids[0], 0);
        }
    }
}

Test(sampler_mirostat, accept_needs_an_apply) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "mirostat", PF_ARGS(PF_DOUBLE("tau", 1.1), PF_DOUBLE("eta", 0.5)));
    PF_SAMPLER(&fx)->accept(fx.self, 0); /* nothing recorded yet */
    cr_assert_float_eq(mu_of(fx.self), 2.2, 1e-12);
    weft_token ids[4];
    apply_p4(fx.self, ids);
    PF_SAMPLER(&fx)->accept(fx.self, 3); /* dropped by the cut: nothing to learn */
    cr_assert_float_eq(mu_of(fx.self), 2.2, 1e-12);
    apply_p4(fx.self, ids);
    PF_SAMPLER(&fx)->accept(fx.self, 1);
    PF_SAMPLER(&fx)->accept(fx.self, 1); /* the record is used once */
    cr_assert_float_eq(mu_of(fx.self), 1.95752, 1e-5);
    PF_SAMPLER(&fx)->reset(fx.self);
    cr_assert_float_eq(mu_of(fx.self), 2.2, 1e-12);
}

Test(sampler_mirostat, v2_keeps_the_top_when_mu_is_low) {
    /* tau 0, eta 10: one accept drives mu below 0, where no token passes */
    pf_open(&fx, WEFT_KIND_SAMPLER, "mirostat", PF_ARGS(PF_DOUBLE("tau", 0.0), PF_DOUBLE("eta", 10.0)));
    weft_token ids[4];
    cr_assert_eq(apply_p4(fx.self, ids), 1); /* mu 0: only p = 1 passes; the top stays */
    PF_SAMPLER(&fx)->accept(fx.self, 0);     /* surprise 0 in the kept set: mu stays 0 */
    cr_assert_eq(apply_p4(fx.self, ids), 1);
    cr_assert_eq(ids[0], 0);
}

/* v1 on a Zipf distribution p_i ~ 1/(i+1)^2 over N = 1000 tokens: the
 * estimate s_hat is 2 exactly, e = 1, and
 *   k = (2^mu / (1 - 1000^-1))^(1/2):  mu 10 -> sqrt(1025.03) = 32.02 -> 32.
 * accept(5): p_5 = (1/36) / sum_{i<=32} 1/i^2 = 0.027778 / 1.61410 = 0.017209,
 * surprise 5.8607 bits; with eta 0.1, mu = 10 - 0.1 * 0.8607 = 9.91393 and
 * k = sqrt(2^9.91393 / 0.999) = 31.07 -> 31. */
Test(sampler_mirostat, v1_zipf) {
    pf_open(&fx, WEFT_KIND_SAMPLER, "mirostat", PF_ARGS(PF_INT("version", 1), PF_DOUBLE("tau", 5.0)));
    enum { N = 1000 };
    static float l[N];
    for (int i = 0; i < N; i++) l[i] = -2.0f * logf((float)(i + 1));
    static weft_candidate buf[N];
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, N, NULL);
    weft_candidates c = pf_cands(buf, l, N);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    cr_assert_eq(c.size, 32);
    cr_assert(c.sorted);
    for (size_t i = 0; i < 32; i++) cr_assert_eq(c.data[i].id, (weft_token)i);
    PF_SAMPLER(&fx)->accept(fx.self, 5);
    cr_assert_float_eq(mu_of(fx.self), 9.91393, 1e-4);
    c = pf_cands(buf, l, N);
    cr_assert_eq(st_apply(&fx, &sc.ctx, &c), WEFT_OK);
    cr_assert_eq(c.size, 31);
}

/* The core's protocol under speculation: a draft node's state is a clone of
 * its parent position's state that accepted the node's token, then
 * applied. Walking a path that way must give what sequential decoding
 * gives, and must leave the parent untouched. */
Test(sampler_mirostat, clone_per_position_equals_sequential) {
    for (int version = 1; version <= 2; version++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "mirostat",
                PF_ARGS(PF_INT("version", version), PF_DOUBLE("tau", 1.1), PF_DOUBLE("eta", 0.5)));
        const weft_sampler_vtable *v = PF_SAMPLER(&fx);
        weft_token ids[4];
        /* sequential: apply, accept 1, apply, accept 0, apply */
        void *seq;
        cr_assert_eq(v->clone(fx.self, &seq), WEFT_OK);
        apply_p4(seq, ids);
        v->accept(seq, 1);
        apply_p4(seq, ids);
        v->accept(seq, 0);
        size_t n_seq = apply_p4(seq, ids);
        double mu_seq = mu_of(seq);
        /* per position: root applies; node 1 = clone(root) + accept 1 + apply;
         * node 2 = clone(node 1) + accept 0 + apply */
        void *root = fx.self, *n1, *n2;
        apply_p4(root, ids);
        double mu_root = mu_of(root);
        cr_assert_eq(v->clone(root, &n1), WEFT_OK);
        v->accept(n1, 1);
        apply_p4(n1, ids);
        cr_assert_eq(v->clone(n1, &n2), WEFT_OK);
        v->accept(n2, 0);
        weft_token ids2[4];
        size_t n_pos = apply_p4(n2, ids2);
        cr_assert_float_eq(mu_of(n2), mu_seq, 1e-12, "version %d", version);
        cr_assert_eq(n_pos, n_seq);
        apply_p4(seq, ids);
        cr_assert_arr_eq(ids, ids2, n_pos * sizeof *ids);
        /* the root kept its mu and its record: adopting it (nothing
         * accepted) and accepting 1 matches node 1 */
        cr_assert_eq(mu_of(root), mu_root);
        v->accept(root, 1);
        void *n1_again;
        cr_assert_eq(v->clone(n1, &n1_again), WEFT_OK);
        cr_assert_float_eq(mu_of(root), mu_of(n1_again), 1e-12);
        fx.desc->destroy(seq);
        fx.desc->destroy(n1);
        fx.desc->destroy(n2);
        fx.desc->destroy(n1_again);
    }
}

Test(sampler_mirostat, extremes) {
    st_ctx sc;
    st_ctx_init(&sc, (const weft_token[]){0}, 1, 1, 0, 6, NULL);
    for (int version = 1; version <= 2; version++) {
        pf_close(&fx);
        pf_open(&fx, WEFT_KIND_SAMPLER, "mirostat", PF_ARGS(PF_INT("version", version), PF_INT("m", 3)));
        pf_assert_extremes(&fx); /* the top token always survives */
        st_assert_extremes(&fx, &sc.ctx);
    }
}

Test(sampler_mirostat, rejects_bad_values) {
    cr_assert(pf_load(&fx, WEFT_KIND_SAMPLER, "mirostat"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_INT("version", 3))), WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_DOUBLE("tau", -1))), WEFT_ERR_INVALID);
}
