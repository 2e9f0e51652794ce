/* drafter prompt-lookup: latest earlier match of the longest suffix n-gram. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_fixture.h"

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(drafter_prompt_lookup, .fini = teardown);

static void open_with(int64_t min_n, int64_t max_n, int64_t max_draft) {
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_DRAFTER, "prompt-lookup",
            PF_ARGS(PF_INT("min_n", min_n), PF_INT("max_n", max_n), PF_INT("max_draft", max_draft)));
}

/* Drafts from a heap copy of exactly n tokens (so valgrind sees any read
 * past the history) and asserts the result is the chain `want`. */
static void expect_n(const weft_token *history, size_t n, size_t max_nodes, size_t max_depth,
                     const weft_token *want, size_t n_want) {
    weft_token *h = malloc((n ? n : 1) * sizeof *h);
    if (n) memcpy(h, history, n * sizeof *h);
    weft_rng rng;
    weft_rng_seed(&rng, 1);
    weft_draft_ctx ctx = {.struct_size = sizeof ctx, .history = h, .n_history = n, .n_prompt = n,
                          .max_nodes = max_nodes, .max_depth = max_depth, .n_vocab = 100,
                          .rng = &rng};
    pf_tree tr;
    pf_tree_init(&tr);
    weft_dist sentinel = {(const weft_candidate *)&tr, 12345};
    tr.dists[0] = sentinel;
    tr.t.n_nodes = 99; /* must be overwritten */
    cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
    cr_assert_eq(tr.t.n_nodes, n_want, "drafted %zu nodes, want %zu", tr.t.n_nodes, n_want);
    for (size_t i = 0; i < n_want; i++) {
        cr_assert_eq(tr.tokens[i], want[i], "token %zu: %d, want %d", i, tr.tokens[i], want[i]);
        cr_assert_eq(tr.parents[i], (int32_t)i - 1, "not a chain");
        cr_assert_eq(tr.flags[i], 0);
        cr_assert(isnan(tr.draft_p[i]), "draft_p must be NaN (unknown)");
    }
    cr_assert(tr.dists[0].data == sentinel.data && tr.dists[0].size == sentinel.size,
              "draft_dists touched");
    free(h);
}

#define H(...) (const weft_token[]){__VA_ARGS__}, sizeof((const weft_token[]){__VA_ARGS__}) / sizeof(weft_token)
#define W(...) (const weft_token[]){__VA_ARGS__}, sizeof((const weft_token[]){__VA_ARGS__}) / sizeof(weft_token)
#define NONE NULL, 0

Test(drafter_prompt_lookup, descriptor) {
    pf_open(&fx, WEFT_KIND_DRAFTER, "prompt-lookup", PF_NO_ARGS);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->flags & (WEFT_CAP_DRAFT_PROBS | WEFT_CAP_TREES), 0);
    cr_assert_eq(fx.desc->n_params, 3);
    cr_assert_str_eq(fx.desc->params[0].name, "min_n");
    cr_assert_str_eq(fx.desc->params[0].def, "1");
    cr_assert_str_eq(fx.desc->params[1].name, "max_n");
    cr_assert_str_eq(fx.desc->params[1].def, "3");
    cr_assert_str_eq(fx.desc->params[2].name, "max_draft");
    cr_assert_str_eq(fx.desc->params[2].def, "8");
}

Test(drafter_prompt_lookup, copies_what_followed) {
    /* suffix 1 2 3 occurs at 0; what followed: 4 9 1 2 3 (up to the end) */
    pf_open(&fx, WEFT_KIND_DRAFTER, "prompt-lookup", PF_NO_ARGS);
    expect_n(H(1, 2, 3, 4, 9, 1, 2, 3), 64, 64, W(4, 9, 1, 2, 3));
}

Test(drafter_prompt_lookup, latest_match_wins) {
    /* suffix 1 2 occurs at 0 (then 5) and at 3 (then 6 7 1 2): the later one */
    open_with(2, 2, 8);
    expect_n(H(1, 2, 5, 1, 2, 6, 7, 1, 2), 64, 64, W(6, 7, 1, 2));
}

Test(drafter_prompt_lookup, longest_n_first) {
    /* 7 1 2 | 8 3 1 2 6 | 7 1 2: the 3-gram 7 1 2 matches at 0 (-> 8 3 ...), the
     * 2-gram 1 2 matches later at 5 (-> 6 ...). max_n 3 prefers the 3-gram. */
    const weft_token h[] = {7, 1, 2, 8, 3, 1, 2, 6, 7, 1, 2};
    open_with(1, 3, 4);
    expect_n(h, 11, 64, 64, W(8, 3, 1, 2));
    open_with(1, 2, 4);
    expect_n(h, 11, 64, 64, W(6, 7, 1, 2));
}

Test(drafter_prompt_lookup, falls_back_to_shorter_n) {
    /* no earlier 9 9 / 3 9 ... but 9 alone occurred at 1 (-> 4 5) */
    open_with(1, 3, 8);
    expect_n(H(3, 9, 4, 5, 9), 64, 64, W(4, 5, 9));
    /* with min_n 2 the 1-gram is not enough */
    open_with(2, 3, 8);
    expect_n(H(3, 9, 4, 5, 9), 64, 64, NONE);
}

Test(drafter_prompt_lookup, budgets) {
    /* the match at 0 offers 5 tokens; each budget cuts it */
    const weft_token h[] = {1, 2, 3, 4, 5, 6, 7, 1, 2, 3};
    open_with(1, 3, 2);
    expect_n(h, 10, 64, 64, W(4, 5)); /* max_draft */
    open_with(1, 3, 8);
    expect_n(h, 10, 3, 64, W(4, 5, 6));       /* max_nodes */
    expect_n(h, 10, 64, 1, W(4));             /* max_depth */
    expect_n(h, 10, 0, 64, NONE);             /* no budget at all */
    expect_n(h, 10, 64, 64, W(4, 5, 6, 7, 1, 2, 3)); /* history ends first */
}

Test(drafter_prompt_lookup, no_match) {
    pf_open(&fx, WEFT_KIND_DRAFTER, "prompt-lookup", PF_NO_ARGS);
    expect_n(H(1, 2, 3, 4), 64, 64, NONE);
    expect_n(H(1), 64, 64, NONE);
    expect_n(NULL, 0, 64, 64, NONE);
}

Test(drafter_prompt_lookup, runs_overlap_the_suffix) {
    /* 5 5 5: the 2-gram 5 5 at 0 is followed by the last 5 */
    open_with(1, 3, 8);
    expect_n(H(5, 5, 5), 64, 64, W(5));
    /* 4 5 5 5 5: 3-gram 5 5 5 at 1 -> 5 */
    expect_n(H(4, 5, 5, 5, 5), 64, 64, W(5));
}

Test(drafter_prompt_lookup, respects_capacity) {
    /* 0 1 2 ... 196 0 1 2: the match at 0 offers 194 tokens, the tree holds 64 */
    weft_token h[200];
    for (int i = 0; i < 200; i++) h[i] = i < 197 ? i : i - 197;
    open_with(1, 3, 1000);
    weft_draft_ctx ctx = {.struct_size = sizeof ctx, .history = h, .n_history = 200,
                          .max_nodes = 1000, .max_depth = 1000};
    pf_tree tr;
    pf_tree_init(&tr);
    cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr.t), WEFT_OK);
    cr_assert_eq(tr.t.n_nodes, PF_TREE_CAP);
}

Test(drafter_prompt_lookup, rejects_min_above_max) {
    cr_assert(pf_load(&fx, WEFT_KIND_DRAFTER, "prompt-lookup"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_INT("min_n", 4), PF_INT("max_n", 3))), WEFT_ERR_INVALID);
    cr_assert(*pf_error(&fx));
}
