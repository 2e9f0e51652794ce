/* drafter fallback: which child's draft is used in each mode, that every
 * child follows every start() and observe(), and that nothing of a rejected
 * child's draft leaks into the chosen one. */
#include "stub_drafter.h"

static test_env te;
static pf fx;
static stub kids[3];
static weft_instance inst[3];
static weft_instance *items[3];

static void setup(void) {
    test_env_open(&te, "test fallback");
    memset(kids, 0, sizeof kids);
    for (int i = 0; i < 3; i++) {
        kids[i].id = i + 1;
        inst[i] = stub_instance(&kids[i], te.env);
        items[i] = &inst[i];
    }
}
static void teardown(void) {
    pf_close(&fx);
    test_env_close(&te);
}
TestSuite(fallback, .init = setup, .fini = teardown);

static void open_with(size_t n_kids, const char *mode, int64_t min_len) {
    pf_close(&fx);
    cr_assert(pf_load(&fx, WEFT_KIND_DRAFTER, "fallback"));
    pf_arg args[] = {{.name = "drafters", .value = {.present = true, .u.components = {items, n_kids}}},
                     PF_STRING("mode", mode), PF_INT("min_len", min_len)};
    cr_assert_eq(pf_create(&fx, args, 3), WEFT_OK, "%s", pf_error(&fx));
}

static int64_t last_choice(void) { return ((int64_t(*)(void *))fx.desc->actions[0].fn)(fx.self); }

static void draft(pf_tree *tr, size_t max_nodes, size_t max_depth) {
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(TOKENS(1, 2, 3), 3, max_nodes, max_depth, 100, &rng);
    pf_tree_init(tr);
    cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr->t), WEFT_OK, "%s", pf_error(&fx));
}

Test(fallback, descriptor) {
    open_with(1, "first", 1);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_str_eq(fx.desc->actions[0].name, "last_choice");
}

Test(fallback, first_takes_the_first_long_enough_draft) {
    kids[0].len = 0;
    kids[1].len = 3;
    kids[2].len = 5;
    open_with(3, "first", 1);
    pf_tree tr;
    draft(&tr, 64, 64);
    test_expect_tree(&tr, TOKENS(20, 21, 22), PARENTS(-1, 0, 1), 3);
    cr_assert_eq(last_choice(), 1);
    cr_assert_eq(kids[2].drafts, 0, "a later child was asked");
    /* min_len 4: the second child's 3 nodes are not enough */
    open_with(3, "first", 4);
    draft(&tr, 64, 64);
    test_expect_tree(&tr, TOKENS(30, 31, 32, 33, 34), PARENTS(-1, 0, 1, 2, 3), 5);
    cr_assert_eq(last_choice(), 2);
    /* nobody qualifies */
    open_with(3, "first", 6);
    draft(&tr, 64, 64);
    test_expect_tree(&tr, NULL, NULL, 0);
    cr_assert_eq(last_choice(), -1);
    /* budgets reach the children unchanged */
    cr_assert_eq(kids[0].seen_nodes, 64);
    draft(&tr, 2, 1);
    cr_assert_eq(kids[2].seen_nodes, 2);
    cr_assert_eq(kids[2].seen_depth, 1);
}

Test(fallback, a_rejected_draft_leaves_nothing_behind) {
    /* the first child reports q at the root but drafts too little; the
     * second reports none: the root's q must not be the first child's */
    kids[0].len = 1;
    kids[0].with_q = true;
    kids[1].len = 2;
    open_with(2, "first", 2);
    pf_tree tr;
    draft(&tr, 64, 64);
    test_expect_tree(&tr, TOKENS(20, 21), PARENTS(-1, 0), 2);
    cr_assert_eq(tr.dists[0].size, 0, "a rejected child's draft distribution leaked");
    cr_assert(isnan(tr.draft_p[0]), "a rejected child's draft_p leaked");
    /* and the chosen child's q passes through */
    kids[1].with_q = true;
    draft(&tr, 64, 64);
    cr_assert_eq(tr.dists[0].size, 1);
    cr_assert_eq(tr.dists[0].data[0].id, 20);
    cr_assert_float_eq(tr.draft_p[1], 0.5f, 0);
}

Test(fallback, longest_takes_the_deepest_draft) {
    kids[0].len = 3;                    /* chain, depth 3 */
    kids[1].len = 6, kids[1].fan = true; /* 6 nodes, depth 1 */
    kids[2].len = 4;                    /* chain, depth 4 */
    open_with(3, "longest", 1);
    pf_tree tr;
    draft(&tr, 64, 64);
    test_expect_tree(&tr, TOKENS(30, 31, 32, 33), PARENTS(-1, 0, 1, 2), 4);
    cr_assert_eq(last_choice(), 2);
    for (int i = 0; i < 3; i++) cr_assert_eq(kids[i].drafts, 1, "child %d was not asked", i);
    /* equal depth: more nodes wins; then the earlier child */
    kids[0].len = 1, kids[0].fan = true; /* depth 1, 1 node */
    kids[2].len = 1;                    /* depth 1, 1 node */
    draft(&tr, 64, 64);
    cr_assert_eq(last_choice(), 1);
    cr_assert_eq(tr.t.n_nodes, 6);
    kids[1].len = 1;
    draft(&tr, 64, 64);
    cr_assert_eq(last_choice(), 0);
    test_expect_tree(&tr, TOKENS(10), PARENTS(-1), 1);
    /* q travels with the chosen draft */
    kids[0].with_q = true;
    draft(&tr, 64, 64);
    cr_assert_eq(tr.dists[0].size, 1);
    cr_assert_eq(tr.dists[0].data[0].id, 10);
}

Test(fallback, every_child_sees_start_and_observe) {
    kids[0].len = 2;
    kids[1].len = 2;
    open_with(3, "first", 1);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, TOKENS(1, 2), 2), WEFT_OK);
    pf_tree tr;
    draft(&tr, 64, 64);
    weft_observe ob = {.struct_size = sizeof ob, .tree = &tr.t, .history = TOKENS(1, 2, 10), .n_history = 3};
    cr_assert_eq(v->observe(fx.self, &ob), WEFT_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(kids[i].starts, 1, "child %d", i);
        cr_assert_eq(kids[i].observes, 1, "child %d", i);
        cr_assert_eq(kids[i].last_obs, &ob, "child %d did not get the evaluated tree", i);
    }
    cr_assert_eq(kids[1].drafts, 0);
}
