/* verifier multi-draft, one node at a time: "specinfer" is speculative-
 * sampling step for step; both modes agree with greedy-match on one-hot
 * targets; and the committed token follows the target (chi-square) when the
 * mode matches how the siblings were drawn, and visibly does not when it
 * does not (the RSD rule on i.i.d. siblings, the SpecInfer rule on distinct
 * ones). Pipeline-level tests: test_verifiers_distribution.c. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <string.h>
#include <weft/sdk.h>

#include "plugin_fixture.h"
#include "stats.h"

enum { V = 6 };

static weft_rng rng;

static void open_mode(pf *fx, const char *mode) {
    pf_open(fx, WEFT_KIND_VERIFIER, "multi-draft", PF_ARGS(PF_STRING("mode", mode)));
}

Test(verifier_multi_draft, descriptor) {
    pf fx;
    open_mode(&fx, "rsd");
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->flags, WEFT_CAP_LOSSLESS | WEFT_CAP_TREES);
    cr_assert_eq(fx.desc->n_params, 1);
    cr_assert_str_eq(fx.desc->params[0].name, "mode");
    cr_assert_str_eq(fx.desc->params[0].choices[0], "specinfer");
    cr_assert_str_eq(fx.desc->params[0].choices[1], "rsd");
    cr_assert_null(fx.desc->params[0].choices[2]);
    pf_close(&fx);
}

/* A random distribution over V tokens, some entries absent. */
static weft_dist random_dist(weft_candidate *buf) {
    size_t n = 0;
    double sum = 0;
    for (int t = 0; t < V; t++) {
        double w = weft_rng_uniform(&rng) < 0.3 ? 0 : weft_rng_uniform(&rng);
        if (w == 0) continue;
        buf[n++] = (weft_candidate){.id = t, .p = (float)w};
        sum += w;
    }
    if (n == 0) buf[n++] = (weft_candidate){.id = 0, .p = 1}, sum = 1;
    for (size_t i = 0; i < n; i++) buf[i].p = (float)(buf[i].p / sum);
    return (weft_dist){buf, n};
}

/* A random tree of up to 24 nodes; with_q: random q at every position. */
static void random_tree(pf_tree *tr, bool with_q, weft_candidate (*qbuf)[V]) {
    pf_tree_init(tr);
    size_t n = (size_t)(weft_rng_uniform(&rng) * 24);
    for (size_t i = 0; i < n; i++) {
        int32_t parent = (int32_t)(weft_rng_uniform(&rng) * (double)(i + 1)) - 1;
        pf_tree_add(tr, parent, (weft_token)(weft_rng_uniform(&rng) * V));
    }
    for (size_t j = 0; with_q && j <= n; j++) tr->dists[j] = random_dist(qbuf[j]);
}

static void assert_same(const weft_verify_result *r1, const int32_t *a1, const weft_verify_result *r2,
                        const int32_t *a2, int trial) {
    cr_assert_eq(r1->n_accepted, r2->n_accepted, "trial %d", trial);
    cr_assert_arr_eq(a1, a2, r1->n_accepted * sizeof *a1, "trial %d", trial);
    cr_assert_eq(r1->next, r2->next, "trial %d", trial);
}

Test(verifier_multi_draft, specinfer_is_speculative_sampling) {
    /* same rule, same random stream: the same decisions, for random targets */
    pf md, ss;
    open_mode(&md, "specinfer");
    pf_open(&ss, WEFT_KIND_VERIFIER, "speculative-sampling", PF_NO_ARGS);
    weft_rng_seed(&rng, 7);
    for (int trial = 0; trial < 3000; trial++) {
        pf_tree tr;
        weft_candidate qbuf[PF_TREE_CAP + 1][V], pbuf[PF_TREE_CAP + 1][V];
        random_tree(&tr, trial % 4 != 0, qbuf);
        weft_dist target[PF_TREE_CAP + 1];
        for (size_t j = 0; j <= tr.t.n_nodes; j++) target[j] = random_dist(pbuf[j]);
        weft_rng r1, r2;
        weft_rng_seed(&r1, (uint64_t)trial);
        weft_rng_seed(&r2, (uint64_t)trial);
        int32_t a1[PF_TREE_CAP], a2[PF_TREE_CAP];
        weft_verify_result v1, v2;
        cr_assert_eq(pf_verify(&md, &tr.t, target, &r1, a1, &v1), WEFT_OK, "%s", pf_error(&md));
        cr_assert_eq(pf_verify(&ss, &tr.t, target, &r2, a2, &v2), WEFT_OK);
        assert_same(&v1, a1, &v2, a2, trial);
    }
    pf_close(&md);
    pf_close(&ss);
}

static void one_hot_equals_greedy_match(const char *mode) {
    pf fx, greedy;
    open_mode(&fx, mode);
    pf_open(&greedy, WEFT_KIND_VERIFIER, "greedy-match", PF_NO_ARGS);
    weft_rng_seed(&rng, 42);
    for (int trial = 0; trial < 3000; trial++) {
        pf_tree tr;
        weft_candidate qbuf[PF_TREE_CAP + 1][V], onehot[PF_TREE_CAP + 1];
        random_tree(&tr, trial % 2, qbuf);
        weft_dist target[PF_TREE_CAP + 1];
        for (size_t j = 0; j <= tr.t.n_nodes; j++)
            target[j] = pf_onehot(&onehot[j], (weft_token)(weft_rng_uniform(&rng) * V));
        int32_t a1[PF_TREE_CAP], a2[PF_TREE_CAP];
        weft_verify_result r1, r2;
        cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, a1, &r1), WEFT_OK, "%s", pf_error(&fx));
        cr_assert_eq(pf_verify(&greedy, &tr.t, target, &rng, a2, &r2), WEFT_OK);
        assert_same(&r1, a1, &r2, a2, trial);
    }
    pf_close(&greedy);
    pf_close(&fx);
}

Test(verifier_multi_draft, one_hot_equals_greedy_match_specinfer) { one_hot_equals_greedy_match("specinfer"); }
Test(verifier_multi_draft, one_hot_equals_greedy_match_rsd) { one_hot_equals_greedy_match("rsd"); }

/* ---- the distribution of the committed token, one node ---- */

/* Target p and draft q over V tokens, far apart: q favours tokens p rules
 * out, and p's likeliest token (0) is q's least likely. */
static const double P[V] = {0.40, 0.00, 0.25, 0.05, 0.20, 0.10};
static const double Q[V] = {0.02, 0.40, 0.08, 0.30, 0.05, 0.15};

typedef enum { DRAW_IID, DRAW_DISTINCT } draw_kind;

/* k siblings from Q: i.i.d., or one after another without replacement. */
static void draw_siblings(draw_kind how, size_t k, weft_token *out) {
    bool taken[V] = {false};
    for (size_t i = 0; i < k; i++) {
        double mass = 0;
        for (int t = 0; t < V; t++) mass += taken[t] ? 0 : Q[t];
        double u = weft_rng_uniform(&rng) * mass, acc = 0;
        weft_token x = -1;
        for (int t = 0; t < V && x < 0; t++)
            if (!taken[t] && u < (acc += Q[t])) x = t;
        for (int t = V - 1; x < 0; t--) /* rounding */
            if (!taken[t] && Q[t] > 0) x = t;
        out[i] = x;
        if (how == DRAW_DISTINCT) taken[x] = true;
    }
}

enum { TRIALS = 20000 };

typedef weft_status (*verify_fn)(void *self, const weft_verify_ctx *ctx, weft_verify_result *out);

/* p-value of the first committed token against P, over TRIALS one-level
 * trees of k siblings, verified by multi-draft in `mode` or by `verify`. */
static double first_token_pvalue(verify_fn verify, const char *mode, draw_kind how, size_t k) {
    pf fx;
    open_mode(&fx, mode);
    if (!verify) verify = PF_VERIFIER(&fx)->verify;
    weft_candidate pc[V], qc[V], leaf = {.id = 0, .p = 1};
    size_t np = 0, nq = 0;
    for (int t = 0; t < V; t++) {
        if (P[t] > 0) pc[np++] = (weft_candidate){.id = t, .p = (float)P[t]};
        if (Q[t] > 0) qc[nq++] = (weft_candidate){.id = t, .p = (float)Q[t]};
    }
    long seen[V] = {0};
    for (int n = 0; n < TRIALS; n++) {
        pf_tree tr;
        pf_tree_init(&tr);
        weft_token sib[V];
        draw_siblings(how, k, sib);
        weft_dist target[V + 1];
        target[0] = (weft_dist){pc, np};
        tr.dists[0] = (weft_dist){qc, nq};
        for (size_t i = 0; i < k; i++) {
            pf_tree_add(&tr, -1, sib[i]);
            target[i + 1] = (weft_dist){&leaf, 1};
        }
        int32_t acc[PF_TREE_CAP];
        weft_verify_ctx ctx = {.struct_size = sizeof ctx, .tree = &tr.t, .target = target, .rng = &rng};
        weft_verify_result r = {.struct_size = sizeof r, .accepted = acc};
        cr_assert_eq(verify(fx.self, &ctx, &r), WEFT_OK, "%s", pf_error(&fx));
        weft_token first = r.n_accepted ? tr.tokens[acc[0]] : r.next;
        cr_assert(first >= 0 && first < V);
        seen[first]++;
    }
    pf_close(&fx);
    return stats_chi2_test(seen, P, V, NULL);
}

static void check_lossless(const char *mode, draw_kind how, size_t k) {
    weft_rng_seed(&rng, 1000 + k);
    double pv = first_token_pvalue(NULL, mode, how, k);
    cr_log_info("%s, %zu %s siblings: p-value %.4g", mode, k, how == DRAW_IID ? "i.i.d." : "distinct", pv);
    cr_assert_gt(pv, 0.001, "%s with %zu siblings: off target (p-value %g)", mode, k, pv);
}


/* The rule a careless implementation ends up with: each sibling tested
 * against p itself, no residual update between siblings (and the
 * correction drawn from p). */
static weft_status no_residual_update(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    (void)self;
    const weft_dist *p = &ctx->target[0], *q = &ctx->tree->draft_dists[0];
    out->n_accepted = 0;
    for (size_t c = 0; c < ctx->tree->n_nodes; c++) {
        weft_token x = ctx->tree->tokens[c];
        if (weft_rng_uniform(ctx->rng) * weft_dist_prob(q, x) < weft_dist_prob(p, x)) {
            out->accepted[out->n_accepted++] = (int32_t)c;
            out->next = weft_dist_sample(&ctx->target[c + 1], weft_rng_uniform(ctx->rng));
            return WEFT_OK;
        }
    }
    out->next = weft_dist_sample(p, weft_rng_uniform(ctx->rng));
    return WEFT_OK;
}

static void check_caught(const char *what, verify_fn verify, const char *mode, draw_kind how, size_t k) {
    weft_rng_seed(&rng, 2000 + k);
    double pv = first_token_pvalue(verify, mode, how, k);
    cr_log_info("%s, %zu siblings: p-value %.4g", what, k, pv);
    cr_assert_lt(pv, 1e-6, "%s with %zu siblings passed (p-value %g)", what, k, pv);
}

Test(verifier_multi_draft, specinfer_iid_siblings_lossless) {
    for (size_t k = 1; k <= 4; k++) check_lossless("specinfer", DRAW_IID, k);
}

Test(verifier_multi_draft, rsd_distinct_siblings_lossless) {
    /* k = 5 exhausts q's support: the last sibling is certain under q_5 */
    for (size_t k = 1; k <= 5; k++) check_lossless("rsd", DRAW_DISTINCT, k);
}

Test(verifier_multi_draft, rsd_iid_siblings_lossless) {
    /* RSD's rule also holds for i.i.d. siblings: a repeat of a rejected
     * token has p = 0 and q_k = 0 and is rejected with nothing changed, and a
     * fresh token, given that it is fresh, is a draw from q_k */
    for (size_t k = 2; k <= 4; k++) check_lossless("rsd", DRAW_IID, k);
}

Test(verifier_multi_draft, broken_rules_are_caught) {
    check_caught("specinfer rule on distinct siblings", NULL, "specinfer", DRAW_DISTINCT, 3);
    check_caught("no residual update, i.i.d. siblings", no_residual_update, "specinfer", DRAW_IID, 3);
    check_caught("no residual update, distinct siblings", no_residual_update, "rsd", DRAW_DISTINCT, 3);
}

/* ---- hand-built cases ---- */

/* How often the second of siblings [1, 2] is accepted, over n steps. */
static int second_accepted(const char *mode, int n) {
    pf fx;
    open_mode(&fx, mode);
    weft_rng_seed(&rng, 3);
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 1);
    pf_tree_add(&tr, -1, 2);
    weft_candidate q[] = {{.id = 1, .p = .8f}, {.id = 2, .p = .2f}};
    weft_candidate p[] = {{.id = 2, .p = .6f}, {.id = 3, .p = .4f}}, leaf = {.id = 0, .p = 1};
    tr.dists[0] = (weft_dist){q, 2};
    weft_dist target[3] = {{p, 2}, {&leaf, 1}, {&leaf, 1}};
    int hits = 0;
    for (int i = 0; i < n; i++) {
        int32_t acc[PF_TREE_CAP];
        weft_verify_result r;
        cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_OK);
        cr_assert(r.n_accepted == 1 ? acc[0] == 1 : r.next == 3, "%s: accepted %zu, next %d", mode, r.n_accepted,
                  r.next);
        hits += r.n_accepted == 1;
    }
    pf_close(&fx);
    return hits;
}

Test(verifier_multi_draft, rsd_tests_against_the_renormalised_q) {
    /* p = {2: .6, 3: .4}, q = {1: .8, 2: .2}. Sibling 1 has p = 0 and is
     * rejected; the residual is p_2 = {2: .5, 3: .5}. SpecInfer tests 2
     * against q(2) = .2: ratio 2.5, always accepted. RSD tests it against
     * q_2 = q without 1 = δ_2: ratio .5, and a rejection leaves {3: 1}. */
    cr_assert_eq(second_accepted("specinfer", 2000), 2000);
    int rsd = second_accepted("rsd", 2000);
    cr_assert(rsd > 850 && rsd < 1150, "rsd accepted the second sibling %d times in 2000, expected ~1000", rsd);
}

Test(verifier_multi_draft, rsd_rejects_a_repeated_sibling) {
    /* the same token twice cannot make rsd accept a token the target rules out */
    pf fx;
    open_mode(&fx, "rsd");
    weft_rng_seed(&rng, 4);
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 3);
    pf_tree_add(&tr, -1, 3);
    weft_candidate q[] = {{.id = 3, .p = .5f}, {.id = 4, .p = .5f}};
    tr.dists[0] = (weft_dist){q, 2};
    weft_candidate p[] = {{.id = 4, .p = 1}}, leaf = {.id = 0, .p = 1};
    weft_dist target[3] = {{p, 1}, {&leaf, 1}, {&leaf, 1}};
    for (int i = 0; i < 100; i++) {
        int32_t acc[PF_TREE_CAP];
        weft_verify_result r;
        cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_OK);
        cr_assert_eq(r.n_accepted, 0);
        cr_assert_eq(r.next, 4);
    }
    pf_close(&fx);
}

Test(verifier_multi_draft, negative_id_is_an_error) {
    pf fx;
    open_mode(&fx, "rsd");
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 1);
    weft_candidate bad = {.id = -3, .p = 1}, leaf = {.id = 0, .p = 1};
    tr.dists[0] = (weft_dist){&bad, 1};
    weft_candidate c0;
    weft_dist target[2] = {pf_onehot(&c0, 1), {&leaf, 1}};
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "negative token id"), "%s", pf_error(&fx));
    pf_close(&fx);
}
