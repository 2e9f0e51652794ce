/* drafter lookahead: the n-gram pool (order, de-duplication, eviction), the
 * window's rows and attention tree, and one Jacobi iteration filling the
 * pool from the window's logits. */
#include "drafter_env.h"
#include "ngram_pool.h"

static test_env te;
static void setup(void) { test_env_open(&te, "test lookahead"); }
static void teardown(void) { test_env_close(&te); }
TestSuite(lookahead, .init = setup, .fini = teardown);

static void expect_conts(const ngram_pool *p, weft_token key, const weft_token *want, size_t n) {
    const weft_token *c = NULL;
    size_t got = ngram_pool_get(p, key, &c);
    cr_assert_eq(got, n, "key %d: %zu continuations, want %zu", key, got, n);
    for (size_t i = 0; i < n * p->len; i++) cr_assert_eq(c[i], want[i], "key %d: entry %zu is %d, want %d", key, i, c[i], want[i]);
}

Test(lookahead, pool_most_recent_first_dedup_evict) {
    ngram_pool p;
    cr_assert(ngram_pool_init(&p, te.env, 20, 2, 3));
    ngram_pool_add(&p, 5, TOKENS(1, 2));
    ngram_pool_add(&p, 5, TOKENS(3, 4));
    ngram_pool_add(&p, 6, TOKENS(9, 9));
    expect_conts(&p, 5, TOKENS(3, 4, 1, 2), 2);
    ngram_pool_add(&p, 5, TOKENS(1, 2)); /* again: moves to the front, not added twice */
    expect_conts(&p, 5, TOKENS(1, 2, 3, 4), 2);
    ngram_pool_add(&p, 5, TOKENS(7, 8));
    ngram_pool_add(&p, 5, TOKENS(10, 11)); /* full: 3, 4 (the oldest) goes */
    expect_conts(&p, 5, TOKENS(10, 11, 7, 8, 1, 2), 3);
    expect_conts(&p, 6, TOKENS(9, 9), 1);
    ngram_pool_add(&p, 5, TOKENS(1, 20)); /* outside the vocabulary: ignored */
    ngram_pool_add(&p, -1, TOKENS(1, 2));
    expect_conts(&p, 5, TOKENS(10, 11, 7, 8, 1, 2), 3);
    expect_conts(&p, 7, NULL, 0);
    cr_assert_eq(ngram_pool_bytes(&p), 20 * (3 * 2 * sizeof(weft_token) + 1));
    ngram_pool_clear(&p);
    expect_conts(&p, 5, NULL, 0);
    ngram_pool_free(&p);
}

/* Against a brute-force list: random adds, the pool keeps the per_key most
 * recently added distinct continuations, newest first. */
Test(lookahead, pool_matches_brute_force) {
    enum { V = 6, LEN = 2, K = 4, OPS = 3000 };
    ngram_pool p;
    cr_assert(ngram_pool_init(&p, te.env, V, LEN, K));
    weft_token ref[V][OPS][LEN];
    size_t n_ref[V] = {0};
    uint64_t seed = 5;
    for (int op = 0; op < OPS; op++) {
        weft_token key = (weft_token)(test_mix(&seed) % V), c[LEN];
        for (int i = 0; i < LEN; i++) c[i] = (weft_token)(test_mix(&seed) % 3);
        ngram_pool_add(&p, key, c);
        size_t at = n_ref[key];
        for (size_t k = 0; k < n_ref[key]; k++)
            if (!memcmp(ref[key][k], c, sizeof c)) at = k;
        if (at == n_ref[key]) n_ref[key]++;
        memmove(ref[key][1], ref[key][0], at * sizeof c);
        memcpy(ref[key][0], c, sizeof c);
        for (weft_token k = 0; k < V; k++) {
            size_t want = n_ref[k] < K ? n_ref[k] : K;
            expect_conts(&p, k, &ref[k][0][0], want);
        }
    }
    ngram_pool_free(&p);
}

static pf fx;
static void open_lookahead(int64_t window, int64_t ngram) {
    pf_open(&fx, WEFT_KIND_DRAFTER, "lookahead",
            PF_ARGS(PF_INT("window", window), PF_INT("ngram", ngram), PF_INT("verify", 8), PF_BOOL("history", false)));
}

static const weft_token prompt[] = {2, 3, 4, 5, 6, 7, 8, 9};

/* The window: level 0 a chain from the root, level j of column i below level
 * j - 1 of column i, all auxiliary; one Jacobi step pools, for each column,
 * its levels bottom to top plus the argmax of its top row. */
Test(lookahead, window_tree_and_jacobi_step) {
    open_lookahead(3, 4);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, prompt, 8), WEFT_OK);
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(prompt, 8, 64, 64, 100, &rng);
    pf_tree tr;
    pf_tree_init(&tr);
    cr_assert_eq(v->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
    cr_assert_eq(tr.t.n_nodes, 9, "empty pool: only the 3 x 3 window");
    int32_t node[3][3], depth[9];
    for (size_t k = 0; k < 9; k++) {
        size_t j = k / 3, i = k % 3;
        node[j][i] = (int32_t)k;
        cr_assert(tr.flags[k] & WEFT_NODE_AUX);
        int32_t want = j ? node[j - 1][i] : i ? node[0][i - 1] : -1;
        cr_assert_eq(tr.parents[k], want, "row (%zu, %zu): parent %d, want %d", j, i, tr.parents[k], want);
        depth[k] = want < 0 ? 1 : depth[want] + 1;
        cr_assert_eq(depth[k], (int32_t)(i + j + 1));
        cr_assert(tr.tokens[k] >= 2 && tr.tokens[k] <= 9, "the window starts from the prompt's tokens");
    }
    /* logits: the top row of column i says 50 + i */
    static float logits[10 * 100];
    memset(logits, 0, sizeof logits);
    for (int i = 0; i < 3; i++) logits[(size_t)(node[2][i] + 1) * 100 + 50 + (size_t)i] = 5;
    weft_token hist[9];
    memcpy(hist, prompt, sizeof prompt);
    hist[8] = 1;
    weft_observe obs = {.struct_size = sizeof obs, .tree = &tr.t, .n_accepted = 0, .next = 1, .logits = logits,
                        .n_vocab = 100, .history = hist, .n_history = 9};
    cr_assert_eq(v->observe(fx.self, &obs), WEFT_OK);
    /* column 0's n-gram, keyed by its level-0 token, is now drafted */
    weft_token key = tr.tokens[node[0][0]];
    weft_token want[3] = {tr.tokens[node[1][0]], tr.tokens[node[2][0]], 50};
    weft_token h2[10];
    memcpy(h2, hist, sizeof hist);
    h2[9] = key;
    ctx = test_draft_ctx(h2, 10, 64, 64, 100, &rng);
    pf_tree t2;
    pf_tree_init(&t2);
    cr_assert_eq(v->draft(fx.self, &ctx, &t2.t), WEFT_OK);
    bool found = false;
    for (size_t k = 0; k + 2 < t2.t.n_nodes && !found; k++)
        found = !(t2.flags[k] & WEFT_NODE_AUX) && t2.parents[k] == -1 && t2.tokens[k] == want[0] &&
                t2.tokens[k + 1] == want[1] && t2.parents[k + 1] == (int32_t)k && t2.tokens[k + 2] == want[2];
    cr_assert(found, "the n-gram %d %d %d %d was not drafted", key, want[0], want[1], want[2]);
    /* the window moved up: its top level (the last 3 rows) is the argmax tokens */
    cr_assert_geq(t2.t.n_nodes, 9);
    for (size_t i = 0; i < 3; i++) {
        size_t k = t2.t.n_nodes - 3 + i;
        cr_assert(t2.flags[k] & WEFT_NODE_AUX);
        cr_assert_eq(t2.tokens[k], 50 + (weft_token)i, "top level, column %zu: %d", i, t2.tokens[k]);
    }
    pf_close(&fx);
}

/* Small budgets shrink the window (it takes at most half the nodes and must
 * fit max_depth); no room at all leaves only the verification branch. */
Test(lookahead, window_fits_the_budget) {
    open_lookahead(4, 3);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, prompt, 8), WEFT_OK);
    static const size_t budgets[][3] = {{64, 64, 8}, {8, 64, 4}, {64, 3, 4}, {3, 64, 0}, {1, 1, 0}};
    for (size_t b = 0; b < 5; b++) {
        weft_rng rng;
        weft_draft_ctx ctx = test_draft_ctx(prompt, 8, budgets[b][0], budgets[b][1], 100, &rng);
        pf_tree tr;
        pf_tree_init(&tr);
        cr_assert_eq(v->draft(fx.self, &ctx, &tr.t), WEFT_OK);
        size_t aux = 0;
        for (size_t k = 0; k < tr.t.n_nodes; k++) aux += (tr.flags[k] & WEFT_NODE_AUX) != 0;
        cr_assert_eq(aux, budgets[b][2], "budget %zu/%zu: %zu window rows, want %zu", budgets[b][0], budgets[b][1], aux,
                     budgets[b][2]);
    }
    pf_close(&fx);
}
