/* verifier greedy-match: follows the target argmax through the tree. */
#include <criterion/criterion.h>

#include "plugin_fixture.h"

static pf fx;
static weft_rng rng;
static void setup(void) {
    pf_open(&fx, WEFT_KIND_VERIFIER, "greedy-match", PF_NO_ARGS);
    weft_rng_seed(&rng, 1);
}
static void teardown(void) { pf_close(&fx); }
TestSuite(verifier_greedy_match, .init = setup, .fini = teardown);

/* One-hot targets t[0..n] into slots/dists. */
static void onehots(const weft_token *t, size_t n, weft_candidate *slots, weft_dist *d) {
    for (size_t i = 0; i < n; i++) d[i] = pf_onehot(&slots[i], t[i]);
}

static void expect(const pf_tree *tr, const weft_dist *target, const int32_t *path, size_t n,
                   weft_token next) {
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(&fx, &tr->t, target, &rng, acc, &r), WEFT_OK, "%s", pf_error(&fx));
    cr_assert_eq(r.n_accepted, n, "accepted %zu, want %zu", r.n_accepted, n);
    for (size_t i = 0; i < n; i++) cr_assert_eq(acc[i], path[i], "accepted[%zu]", i);
    cr_assert_eq(r.next, next);
}

Test(verifier_greedy_match, descriptor) {
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    /* exact only when targets are one-hot: never claims full losslessness */
    cr_assert_eq(fx.desc->flags, WEFT_CAP_LOSSLESS_GREEDY | WEFT_CAP_TREES);
    cr_assert_eq(fx.desc->n_params, 0);
}

Test(verifier_greedy_match, chain_stops_at_mismatch) {
    /* chain 5 6 7; argmaxes 5, 6, 9: nodes 0, 1 accepted, 9 replaces 7 */
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 5);
    pf_tree_add(&tr, 0, 6);
    pf_tree_add(&tr, 1, 7);
    weft_candidate s[4];
    weft_dist d[4];
    onehots((const weft_token[]){5, 6, 9, 1}, 4, s, d);
    expect(&tr, d, (const int32_t[]){0, 1}, 2, 9);
}

Test(verifier_greedy_match, chain_all_accepted_gives_bonus) {
    /* argmaxes 5, 6, 7 accept all three; position 3 (the leaf) says 8 */
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 5);
    pf_tree_add(&tr, 0, 6);
    pf_tree_add(&tr, 1, 7);
    weft_candidate s[4];
    weft_dist d[4];
    onehots((const weft_token[]){5, 6, 7, 8}, 4, s, d);
    expect(&tr, d, (const int32_t[]){0, 1, 2}, 3, 8);
}

Test(verifier_greedy_match, first_token_rejected) {
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 5);
    weft_candidate s[2];
    weft_dist d[2];
    onehots((const weft_token[]){4, 5}, 2, s, d);
    expect(&tr, d, NULL, 0, 4);
}

Test(verifier_greedy_match, no_draft) {
    pf_tree tr;
    pf_tree_init(&tr);
    weft_candidate s[1];
    weft_dist d[1];
    onehots((const weft_token[]){4}, 1, s, d);
    expect(&tr, d, NULL, 0, 4);
}

/*        root
 *       /    \
 *   n0:1     n1:2
 *    |       /   \
 *  n4:5   n2:3   n3:4
 * Positions are node + 1. Argmax at the root 2 -> n1; at position 2 (n1)
 * 4 -> n3; at position 4 (n3, a leaf) 7 is the bonus token. */
static void branching(pf_tree *tr) {
    pf_tree_init(tr);
    pf_tree_add(tr, -1, 1);
    pf_tree_add(tr, -1, 2);
    pf_tree_add(tr, 1, 3);
    pf_tree_add(tr, 1, 4);
    pf_tree_add(tr, 0, 5);
}

Test(verifier_greedy_match, tree_one_hot) {
    pf_tree tr;
    branching(&tr);
    weft_candidate s[6];
    weft_dist d[6];
    /* positions 1, 3, 5 lie off the path: their targets are never read */
    onehots((const weft_token[]){2, 0, 4, 0, 7, 0}, 6, s, d);
    expect(&tr, d, (const int32_t[]){1, 3}, 2, 7);
}

Test(verifier_greedy_match, tree_general_targets) {
    pf_tree tr;
    branching(&tr);
    /* root: {1: .3, 2: .45, 3: .25} -> argmax 2 (n1);
     * position 2: {3: .4, 4: .4, 9: .2} -> tie 3/4 goes to the lower id, 3 (n2);
     * position 3 (n2, a leaf): {8: .6, 2: .4} -> bonus 8 */
    weft_candidate r0[] = {{.id = 1, .p = .3f}, {.id = 2, .p = .45f}, {.id = 3, .p = .25f}};
    weft_candidate r2[] = {{.id = 4, .p = .4f}, {.id = 3, .p = .4f}, {.id = 9, .p = .2f}};
    weft_candidate r3[] = {{.id = 2, .p = .4f}, {.id = 8, .p = .6f}};
    weft_candidate other = {.id = 0, .p = 1};
    weft_dist d[6] = {{r0, 3}, {&other, 1}, {r2, 3}, {r3, 2}, {&other, 1}, {&other, 1}};
    expect(&tr, d, (const int32_t[]){1, 2}, 2, 8);
}

Test(verifier_greedy_match, duplicate_siblings_take_the_first) {
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 3);
    pf_tree_add(&tr, -1, 3);
    weft_candidate s[3];
    weft_dist d[3];
    onehots((const weft_token[]){3, 4, 5}, 3, s, d);
    expect(&tr, d, (const int32_t[]){0}, 1, 4);
}

Test(verifier_greedy_match, aux_nodes_are_never_accepted) {
    pf_tree tr;
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 3);
    tr.flags[0] = WEFT_NODE_AUX;
    pf_tree_add(&tr, -1, 3);
    weft_candidate s[3];
    weft_dist d[3];
    onehots((const weft_token[]){3, 4, 5}, 3, s, d);
    expect(&tr, d, (const int32_t[]){1}, 1, 5);
}

Test(verifier_greedy_match, empty_target_is_an_error) {
    pf_tree tr;
    pf_tree_init(&tr);
    weft_dist d[1] = {{NULL, 0}};
    int32_t acc[PF_TREE_CAP];
    weft_verify_result r;
    cr_assert_eq(pf_verify(&fx, &tr.t, d, &rng, acc, &r), WEFT_ERR_INVALID);
    cr_assert(*pf_error(&fx));
}
