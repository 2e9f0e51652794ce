/* verifier speculative-sampling: agrees with greedy-match on one-hot targets,
 * and commits tokens distributed exactly as the target (chi-square tests),
 * for chains and trees, with and without draft distributions. A verifier
 * that accepts every draft token must fail the same tests. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <weft/sdk.h>

#include "plugin_fixture.h"
#include "stats.h"

static pf fx;
static weft_rng rng;
static void setup(void) {
    pf_open(&fx, WEFT_KIND_VERIFIER, "speculative-sampling", PF_NO_ARGS);
    weft_rng_seed(&rng, 42);
}
static void teardown(void) { pf_close(&fx); }
TestSuite(verifier_speculative_sampling, .init = setup, .fini = teardown);

Test(verifier_speculative_sampling, descriptor) {
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->flags, WEFT_CAP_LOSSLESS | WEFT_CAP_TREES);
}

/* ---- one-hot targets: must equal greedy-match exactly ---- */

enum { V = 6 };

/* A random distribution over V tokens with some zero entries dropped. */
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

Test(verifier_speculative_sampling, one_hot_equals_greedy_match) {
    pf greedy;
    pf_open(&greedy, WEFT_KIND_VERIFIER, "greedy-match", PF_NO_ARGS);
    for (int trial = 0; trial < 3000; trial++) {
        pf_tree tr;
        pf_tree_init(&tr);
        size_t n = (size_t)(weft_rng_uniform(&rng) * 24);
        for (size_t i = 0; i < n; i++) {
            int32_t parent = (int32_t)(weft_rng_uniform(&rng) * (double)(i + 1)) - 1;
            pf_tree_add(&tr, parent, (weft_token)(weft_rng_uniform(&rng) * V));
        }
        /* half the trials carry (random, unrelated) draft distributions */
        bool with_q = trial % 2;
        weft_candidate qbuf[PF_TREE_CAP + 1][V], onehot[PF_TREE_CAP + 1];
        weft_dist target[PF_TREE_CAP + 1];
        for (size_t j = 0; j <= n; j++) {
            target[j] = pf_onehot(&onehot[j], (weft_token)(weft_rng_uniform(&rng) * V));
            if (with_q) tr.dists[j] = random_dist(qbuf[j]);
        }
        int32_t a1[PF_TREE_CAP], a2[PF_TREE_CAP];
        weft_verify_result r1, r2;
        cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, a1, &r1), WEFT_OK, "%s", pf_error(&fx));
        cr_assert_eq(pf_verify(&greedy, &tr.t, target, &rng, a2, &r2), WEFT_OK);
        cr_assert_eq(r1.n_accepted, r2.n_accepted, "trial %d", trial);
        cr_assert_arr_eq(a1, a2, r1.n_accepted * sizeof *a1, "trial %d", trial);
        cr_assert_eq(r1.next, r2.next, "trial %d", trial);
    }
    pf_close(&greedy);
}

/* ---- the distribution of committed tokens ---- */

/* Target p(b | a) = P0[(b + a) % V] and draft q(b | a) = Q0[(b + 2a) % V]:
 * deliberately far apart, with tokens one side rules out and the other
 * favours (so p(x) = 0 and residuals with zeros are exercised). */
static const double P0[V] = {0.30, 0.00, 0.20, 0.15, 0.25, 0.10};
static const double Q0[V] = {0.05, 0.40, 0.05, 0.30, 0.00, 0.20};
static const weft_token ROOT = 2; /* the token before the first decision */

static double p_of(weft_token a, weft_token b) { return P0[(b + a) % V]; }
static double q_of(weft_token a, weft_token b) { return Q0[(b + 2 * a) % V]; }

/* Sparse dists (p > 0 only), one per context token. */
static weft_candidate pc[V][V], qc[V][V];
static weft_dist pd[V], qd[V];

static void build_dists(void) {
    for (weft_token a = 0; a < V; a++) {
        pd[a] = (weft_dist){pc[a], 0};
        qd[a] = (weft_dist){qc[a], 0};
        for (weft_token b = 0; b < V; b++) {
            if (p_of(a, b) > 0) pc[a][pd[a].size++] = (weft_candidate){.id = b, .p = (float)p_of(a, b)};
            if (q_of(a, b) > 0) qc[a][qd[a].size++] = (weft_candidate){.id = b, .p = (float)q_of(a, b)};
        }
    }
}

static weft_token draw_q(weft_token a) {
    return weft_dist_sample(&qd[a], weft_rng_uniform(&rng));
}

typedef struct shape {
    size_t depth;     /* levels under the root */
    size_t branching; /* children per node */
    bool with_q;      /* children drawn i.i.d. from q (dists given), else deterministic */
} shape;

/* Fills a tree under context token `root` and its per-position dists. */
static void draft(const shape *sh, weft_token root, pf_tree *tr, weft_dist *target) {
    pf_tree_init(tr);
    weft_token ctx_tok[PF_TREE_CAP + 1];
    ctx_tok[0] = root;
    size_t level_begin = 0, level_end = 0; /* node range of the previous level */
    for (size_t level = 0; level < sh->depth; level++) {
        size_t begin = tr->t.n_nodes;
        size_t n_parents = level == 0 ? 1 : level_end - level_begin;
        for (size_t pi = 0; pi < n_parents; pi++) {
            int32_t parent = level == 0 ? -1 : (int32_t)(level_begin + pi);
            weft_token a = ctx_tok[parent + 1];
            for (size_t k = 0; k < sh->branching; k++) {
                /* deterministic drafts: distinct siblings, a fixed guess per context */
                weft_token t = sh->with_q ? draw_q(a) : (weft_token)((a + 1 + 2 * k) % V);
                int32_t node = pf_tree_add(tr, parent, t);
                ctx_tok[node + 1] = t;
            }
        }
        level_begin = begin;
        level_end = tr->t.n_nodes;
    }
    for (size_t j = 0; j <= tr->t.n_nodes; j++) {
        target[j] = pd[ctx_tok[j]];
        tr->dists[j] = sh->with_q ? qd[ctx_tok[j]] : (weft_dist){NULL, 0};
    }
}

typedef weft_status (*verify_fn)(void *self, const weft_verify_ctx *ctx, weft_verify_result *out);

/* Commits tokens after `root`, one verification step, into out; returns how many. */
static size_t step(verify_fn verify, void *self, const shape *sh, weft_token root, weft_token *out) {
    pf_tree tr;
    weft_dist target[PF_TREE_CAP + 1];
    draft(sh, root, &tr, target);
    int32_t acc[PF_TREE_CAP];
    weft_verify_ctx ctx = {.struct_size = sizeof ctx, .tree = &tr.t, .target = target, .rng = &rng};
    weft_verify_result r = {.struct_size = sizeof r, .accepted = acc};
    cr_assert_eq(verify(self, &ctx, &r), WEFT_OK);
    for (size_t i = 0; i < r.n_accepted; i++) out[i] = tr.tokens[acc[i]];
    out[r.n_accepted] = r.next;
    return r.n_accepted + 1;
}

enum { TRIALS = 20000 };

/* p-values of the first committed token and of the first two (taking a
 * second step when the first committed only one), against the target. */
static void run_trials(verify_fn verify, void *self, const shape *sh, double *p1, double *p2) {
    long first[V] = {0}, pair[V * V] = {0};
    for (int n = 0; n < TRIALS; n++) {
        weft_token toks[PF_TREE_CAP + 1];
        size_t k = step(verify, self, sh, ROOT, toks);
        if (k < 2) step(verify, self, sh, toks[0], toks + 1);
        cr_assert(toks[0] >= 0 && toks[0] < V && toks[1] >= 0 && toks[1] < V);
        first[toks[0]]++;
        pair[toks[0] * V + toks[1]]++;
    }
    double e1[V], e2[V * V];
    for (int a = 0; a < V; a++) {
        e1[a] = p_of(ROOT, a);
        for (int b = 0; b < V; b++) e2[a * V + b] = p_of(ROOT, a) * p_of(a, b);
    }
    *p1 = stats_chi2_test(first, e1, V, NULL);
    *p2 = stats_chi2_test(pair, e2, V * V, NULL);
}

static weft_status plugin_verify(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    return PF_VERIFIER(&fx)->verify(self, ctx, out);
}

/* The classic bug this test exists to catch: trusting the draft. Accepts the
 * first child at every level, then draws the bonus from the target. */
static weft_status accept_all(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    (void)self;
    int32_t node = -1;
    out->n_accepted = 0;
    for (;;) {
        int32_t c = -1;
        for (size_t i = 0; i < ctx->tree->n_nodes && c < 0; i++)
            if (ctx->tree->parents[i] == node) c = (int32_t)i;
        if (c < 0) break;
        out->accepted[out->n_accepted++] = c;
        node = c;
    }
    out->next = weft_dist_sample(&ctx->target[node + 1], weft_rng_uniform(ctx->rng));
    return WEFT_OK;
}

static const double ALPHA = 0.001;

/* `broken_must_fail`: a draft exists, so trusting it visibly skews the output. */
static void check_shape(shape sh, const char *what, bool broken_must_fail) {
    build_dists();
    double p1, p2;
    run_trials(plugin_verify, fx.self, &sh, &p1, &p2);
    cr_log_info("%s: p-value first %.4g, pair %.4g", what, p1, p2);
    cr_assert(p1 > ALPHA, "%s: first token off target, p-value %g", what, p1);
    cr_assert(p2 > ALPHA, "%s: token pairs off target, p-value %g", what, p2);
    if (!broken_must_fail) return;
    run_trials(accept_all, NULL, &sh, &p1, &p2);
    cr_assert(p1 < ALPHA && p2 < ALPHA, "%s: the accept-all verifier passed (%g, %g)", what, p1, p2);
}

Test(verifier_speculative_sampling, chain_with_draft_dists) {
    check_shape((shape){.depth = 2, .branching = 1, .with_q = true}, "chain, q", true);
}

Test(verifier_speculative_sampling, chain_deterministic) {
    check_shape((shape){.depth = 2, .branching = 1, .with_q = false}, "chain, no q", true);
}

Test(verifier_speculative_sampling, tree_with_draft_dists) {
    /* 3 siblings i.i.d. from q, each with 2 children: SpecInfer's setting */
    check_shape((shape){.depth = 2, .branching = 3, .with_q = true}, "tree 3x2, q", true);
    check_shape((shape){.depth = 1, .branching = 2, .with_q = true}, "tree 2, q", true);
}

Test(verifier_speculative_sampling, tree_deterministic) {
    check_shape((shape){.depth = 2, .branching = 3, .with_q = false}, "tree 3x2, no q", true);
}

Test(verifier_speculative_sampling, no_draft_samples_the_target) {
    check_shape((shape){.depth = 0, .branching = 0, .with_q = false}, "no draft", false);
}

/* ---- edge cases ---- */

Test(verifier_speculative_sampling, zero_residual_falls_back_to_p) {
    /* q >= p everywhere (q does not sum to 1: a sloppy drafter): draft token 5
     * has p = 0 and is rejected, max(0, p - q) is all zero, so the correction
     * is drawn from p itself and must be 1 or 2. */
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 5);
    weft_candidate p[] = {{.id = 1, .p = .5f}, {.id = 2, .p = .5f}};
    weft_candidate q[] = {{.id = 5, .p = .2f}, {.id = 1, .p = .5f}, {.id = 2, .p = .5f}};
    tr.dists[0] = (weft_dist){q, 3};
    weft_candidate leaf = {.id = 0, .p = 1};
    weft_dist target[2] = {{p, 2}, {&leaf, 1}};
    for (int i = 0; i < 200; i++) {
        int32_t acc[PF_TREE_CAP];
        weft_verify_result r;
        cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_OK);
        cr_assert_eq(r.n_accepted, 0);
        cr_assert(r.next == 1 || r.next == 2, "next %d", r.next);
    }
}

Test(verifier_speculative_sampling, token_outside_q_is_tested_as_deterministic) {
    /* x = 3 is not in q (q(3) = 0): accepted with probability p(3) = 1 */
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 3);
    weft_candidate q[] = {{.id = 1, .p = 1}};
    tr.dists[0] = (weft_dist){q, 1};
    weft_candidate c0, c1;
    weft_dist target[2] = {pf_onehot(&c0, 3), pf_onehot(&c1, 4)};
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_OK);
    cr_assert_eq(r.n_accepted, 1);
    cr_assert_eq(r.next, 4);
}

Test(verifier_speculative_sampling, large_ids_grow_the_scratch) {
    /* ids far apart: the dense working copy grows, results stay exact */
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 100000);
    pf_tree_add(&tr, -1, 7);
    weft_candidate c0, c1, c2;
    weft_dist target[3] = {pf_onehot(&c0, 7), pf_onehot(&c1, 0), pf_onehot(&c2, 150000)};
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_OK);
    cr_assert_eq(r.n_accepted, 1);
    cr_assert_eq(acc[0], 1);
    cr_assert_eq(r.next, 150000);
}

Test(verifier_speculative_sampling, negative_id_is_an_error) {
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 1);
    weft_candidate bad = {.id = -3, .p = 1}, leaf = {.id = 0, .p = 1};
    weft_dist target[2] = {{&bad, 1}, {&leaf, 1}};
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_ERR_INVALID);
    cr_assert(*pf_error(&fx));
}
