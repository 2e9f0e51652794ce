/* verifier typical-acceptance (Medusa, Cai et al. 2024, §2.3.1): the
 * threshold min(epsilon, delta * exp(-H)) on hand-built distributions, the
 * choice of the longest accepted path, the next token, and agreement with
 * greedy-match on one-hot (greedy) targets. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <weft/sdk.h>

#include "plugin_fixture.h"
#include "stats.h"

static weft_rng rng;

Test(verifier_typical_acceptance, descriptor_is_lossy) {
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->flags, WEFT_CAP_TREES, "must not claim WEFT_CAP_LOSSLESS");
    cr_assert_str_eq(fx.desc->params[0].name, "posterior_threshold");
    cr_assert_str_eq(fx.desc->params[0].def, "0.09"); /* Medusa's defaults */
    cr_assert_str_eq(fx.desc->params[1].name, "posterior_alpha");
    cr_assert_str_eq(fx.desc->params[1].def, "0.3");
    pf_close(&fx);
}

/* Is draft token x, the only child of the root, accepted under root target p? */
static bool accepts(pf *fx, const weft_candidate *p, size_t n, weft_token x) {
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, x);
    weft_candidate leaf = {.id = 0, .p = 1};
    weft_dist target[2] = {{p, n}, {&leaf, 1}};
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(fx, &tr.t, target, &rng, acc, &r), WEFT_OK, "%s", pf_error(fx));
    return r.n_accepted == 1;
}

Test(verifier_typical_acceptance, default_thresholds) {
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    /* uniform over 4: exp(-H) = 1/4, threshold min(.09, .3 / 4) = .075 */
    weft_candidate u4[] = {{.id = 0, .p = .25f}, {.id = 1, .p = .25f}, {.id = 2, .p = .25f}, {.id = 3, .p = .25f}};
    cr_assert(accepts(&fx, u4, 4, 2));
    cr_assert_not(accepts(&fx, u4, 4, 7), "a token outside the target has p = 0");
    /* peaked: exp(-H) ~ .72 and .82, threshold min(.09, ...) = .09 */
    weft_candidate a[] = {{.id = 0, .p = .9f}, {.id = 1, .p = .1f}};
    weft_candidate b[] = {{.id = 0, .p = .95f}, {.id = 1, .p = .05f}};
    cr_assert(accepts(&fx, a, 2, 1), ".1 > .09");
    cr_assert_not(accepts(&fx, b, 2, 1), ".05 < .09");
    pf_close(&fx);
}

Test(verifier_typical_acceptance, threshold_follows_the_entropy) {
    /* epsilon .5 leaves delta * exp(-H) in charge: the same p(x) = .15 is
     * accepted where the target is uncertain and rejected where it is sure */
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance",
            PF_ARGS(PF_DOUBLE("posterior_threshold", 0.5), PF_DOUBLE("posterior_alpha", 0.3)));
    weft_candidate flat[18];
    flat[0] = (weft_candidate){.id = 0, .p = .15f};
    for (int i = 1; i < 18; i++) flat[i] = (weft_candidate){.id = i, .p = .05f};
    weft_candidate sure[] = {{.id = 1, .p = .85f}, {.id = 0, .p = .15f}}; /* threshold ~ .197 */
    cr_assert(accepts(&fx, flat, 18, 0));
    cr_assert_not(accepts(&fx, sure, 2, 0));
    pf_close(&fx);
}

Test(verifier_typical_acceptance, comparison_is_strict) {
    /* threshold exactly .25 (delta huge): p(x) = .25 is not above it */
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance",
            PF_ARGS(PF_DOUBLE("posterior_threshold", 0.25), PF_DOUBLE("posterior_alpha", 1e9)));
    weft_candidate u4[] = {{.id = 0, .p = .25f}, {.id = 1, .p = .25f}, {.id = 2, .p = .25f}, {.id = 3, .p = .25f}};
    weft_candidate more[] = {{.id = 0, .p = .3f}, {.id = 1, .p = .7f}};
    cr_assert_not(accepts(&fx, u4, 4, 1));
    cr_assert(accepts(&fx, more, 2, 0));
    pf_close(&fx);
}

/* ---- paths ---- */

typedef struct outcome {
    size_t n;
    int32_t path[PF_TREE_CAP];
    weft_token next;
} outcome;

static outcome run(pf *fx, const pf_tree *tr, const weft_dist *target) {
    outcome o;
    weft_verify_result r;
    cr_assert_eq(pf_verify(fx, &tr->t, target, &rng, o.path, &r), WEFT_OK, "%s", pf_error(fx));
    o.n = r.n_accepted;
    o.next = r.next;
    return o;
}

Test(verifier_typical_acceptance, longest_path_wins) {
    /* root children 0 (p .5, a leaf) and 1 (p .4, with an accepted child) */
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 0);
    pf_tree_add(&tr, -1, 1);
    pf_tree_add(&tr, 1, 3);
    weft_candidate root[] = {{.id = 0, .p = .5f}, {.id = 1, .p = .4f}, {.id = 2, .p = .1f}};
    weft_candidate c1, c2, c3;
    weft_dist target[4] = {{root, 3}, pf_onehot(&c1, 4), pf_onehot(&c2, 3), pf_onehot(&c3, 6)};
    outcome o = run(&fx, &tr, target);
    cr_assert_eq(o.n, 2);
    cr_assert_eq(o.path[0], 1);
    cr_assert_eq(o.path[1], 2);
    cr_assert_eq(o.next, 6);
    pf_close(&fx);
}

/* Two depth-2 paths, through root children with p a and b. */
static outcome two_paths(pf *fx, float a, float b) {
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 0);
    pf_tree_add(&tr, -1, 1);
    pf_tree_add(&tr, 0, 3);
    pf_tree_add(&tr, 1, 3);
    weft_candidate root[] = {{.id = 0, .p = a}, {.id = 1, .p = b}, {.id = 2, .p = 1 - a - b}};
    weft_candidate mid[] = {{.id = 3, .p = .5f}, {.id = 4, .p = .5f}}, c3, c4;
    weft_dist target[5] = {{root, 3}, {mid, 2}, {mid, 2}, pf_onehot(&c3, 7), pf_onehot(&c4, 8)};
    return run(fx, &tr, target);
}

Test(verifier_typical_acceptance, ties_go_to_likelihood_then_tree_order) {
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    outcome o = two_paths(&fx, .3f, .6f); /* the second path is likelier */
    cr_assert_eq(o.n, 2);
    cr_assert_eq(o.path[0], 1);
    cr_assert_eq(o.path[1], 3);
    cr_assert_eq(o.next, 8);
    o = two_paths(&fx, .45f, .45f); /* equal: the first */
    cr_assert_eq(o.n, 2);
    cr_assert_eq(o.path[0], 0);
    cr_assert_eq(o.path[1], 2);
    cr_assert_eq(o.next, 7);
    pf_close(&fx);
}

Test(verifier_typical_acceptance, rejected_parent_blocks_its_subtree) {
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 1);
    pf_tree_add(&tr, 0, 5);
    weft_candidate root[] = {{.id = 0, .p = .96f}, {.id = 1, .p = .04f}}, c1, c2;
    weft_dist target[3] = {{root, 2}, pf_onehot(&c1, 5), pf_onehot(&c2, 2)};
    outcome o = run(&fx, &tr, target);
    cr_assert_eq(o.n, 0);
    cr_assert_eq(o.next, 0, "next is the root's argmax");
    pf_close(&fx);
}

Test(verifier_typical_acceptance, next_argmax_or_sample) {
    weft_rng_seed(&rng, 11);
    weft_candidate p[] = {{.id = 0, .p = .3f}, {.id = 1, .p = .7f}};
    weft_dist target[1] = {{p, 2}};
    pf_tree tr;
    pf_tree_init(&tr);
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    for (int i = 0; i < 100; i++) cr_assert_eq(run(&fx, &tr, target).next, 1);
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_ARGS(PF_STRING("next", "sample")));
    long seen[2] = {0};
    for (int i = 0; i < 4000; i++) seen[run(&fx, &tr, target).next]++;
    double expected[2] = {.3, .7};
    double pv = stats_chi2_test(seen, expected, 2, NULL);
    cr_assert_gt(pv, 0.001, "sampled next tokens %ld/%ld, p-value %g", seen[0], seen[1], pv);
    pf_close(&fx);
}

Test(verifier_typical_acceptance, empty_target_is_an_error) {
    pf fx;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 1);
    weft_candidate c;
    weft_dist target[2] = {{NULL, 0}, pf_onehot(&c, 1)};
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(&fx, &tr.t, target, &rng, acc, &r), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "empty target"), "%s", pf_error(&fx));
    pf_close(&fx);
}

/* ---- greedy targets ---- */

enum { V = 6 };

/* A random tree; distinct: no two siblings carry the same token. */
static void random_tree(pf_tree *tr, bool distinct) {
    pf_tree_init(tr);
    size_t n = (size_t)(weft_rng_uniform(&rng) * 24);
    for (size_t i = 0; i < n; i++) {
        int32_t parent = (int32_t)(weft_rng_uniform(&rng) * (double)(tr->t.n_nodes + 1)) - 1;
        weft_token t = (weft_token)(weft_rng_uniform(&rng) * V);
        bool taken = false;
        for (size_t j = 0; distinct && j < tr->t.n_nodes; j++) taken |= tr->parents[j] == parent && tr->tokens[j] == t;
        if (!taken) pf_tree_add(tr, parent, t);
    }
}

Test(verifier_typical_acceptance, one_hot_equals_greedy_match) {
    pf fx, greedy;
    pf_open(&fx, WEFT_KIND_VERIFIER, "typical-acceptance", PF_NO_ARGS);
    pf_open(&greedy, WEFT_KIND_VERIFIER, "greedy-match", PF_NO_ARGS);
    weft_rng_seed(&rng, 5);
    for (int trial = 0; trial < 4000; trial++) {
        /* repeated siblings let typical-acceptance find a longer path of
         * argmax tokens than greedy-match's first match: the committed
         * tokens still agree where both have them */
        bool distinct = trial % 2 == 0;
        pf_tree tr;
        random_tree(&tr, distinct);
        /* the target's argmax is a function of the path's tokens, as with a
         * model: repeated siblings see the same targets */
        uint64_t h[PF_TREE_CAP + 1];
        weft_candidate onehot[PF_TREE_CAP + 1];
        weft_dist target[PF_TREE_CAP + 1];
        h[0] = (uint64_t)trial;
        for (size_t j = 1; j <= tr.t.n_nodes; j++)
            h[j] = (h[tr.parents[j - 1] + 1] ^ (uint64_t)tr.tokens[j - 1]) * 0x9e3779b97f4a7c15ull + 1;
        for (size_t j = 0; j <= tr.t.n_nodes; j++) target[j] = pf_onehot(&onehot[j], (weft_token)((h[j] >> 33) % V));
        outcome a = run(&fx, &tr, target), b = run(&greedy, &tr, target);
        if (distinct) {
            cr_assert_eq(a.n, b.n, "trial %d", trial);
            cr_assert_arr_eq(a.path, b.path, a.n * sizeof *a.path, "trial %d", trial);
            cr_assert_eq(a.next, b.next, "trial %d", trial);
            continue;
        }
        cr_assert_geq(a.n, b.n, "trial %d", trial);
        weft_token ta[PF_TREE_CAP + 1], tb[PF_TREE_CAP + 1];
        for (size_t i = 0; i < a.n; i++) ta[i] = tr.tokens[a.path[i]];
        for (size_t i = 0; i < b.n; i++) tb[i] = tr.tokens[b.path[i]];
        ta[a.n] = a.next;
        tb[b.n] = b.next;
        cr_assert_arr_eq(ta, tb, (b.n + 1) * sizeof *ta, "trial %d: committed tokens differ", trial);
    }
    pf_close(&greedy);
    pf_close(&fx);
}
