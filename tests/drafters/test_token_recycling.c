/* drafter token-recycling: the adjacency matrix's updates (hand-checked),
 * tree shapes (order, parents, errors), and the plugin's drafts and
 * observe() updates. */
#include <cjson/cJSON.h>

#include "adjacency.h"
#include "drafter_env.h"
#include "json_view.h"
#include "tree_template.h"

static test_env te;
static pf fx;
static void setup(void) { test_env_open(&te, "test token-recycling"); }
static void teardown(void) {
    pf_close(&fx);
    test_env_close(&te);
}
TestSuite(token_recycling, .init = setup, .fini = teardown);

/* ---- the adjacency matrix ---- */

static void expect_row(const weft_token *row, const weft_token *want, size_t k) {
    for (size_t j = 0; j < k; j++) cr_assert_eq(row[j], want[j], "entry %zu: %d, want %d", j, row[j], want[j]);
}

Test(token_recycling, update_keeps_the_top_k_best_first) {
    adjacency a;
    adj_init(&a, te.env, 3);
    cr_assert_eq(adj_reserve(&a, 7), WEFT_OK);
    const weft_token *row = adj_row(&a, 4);
    for (size_t j = 0; j < 3; j++) cr_assert_eq(row[j], -1, "a fresh row knows nothing");
    /* ties keep the lower id first; -inf and NaN never enter */
    const float logits[7] = {0.1f, 3, 2, -INFINITY, NAN, 3, 1};
    adj_update(&a, 4, logits);
    expect_row(row, TOKENS(1, 5, 2), 3);
    /* the next update replaces the row */
    const float flat[7] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, 0, -INFINITY, -INFINITY};
    adj_update(&a, 4, flat);
    expect_row(row, TOKENS(4, -1, -1), 3);
    /* outside the vocabulary: ignored */
    adj_update(&a, 7, logits);
    adj_update(&a, -1, logits);
    cr_assert_null(adj_row(&a, 7));
    adj_free(&a);
}

Test(token_recycling, update_matches_a_sort_on_random_rows) {
    adjacency a;
    adj_init(&a, te.env, 8);
    cr_assert_eq(adj_reserve(&a, 300), WEFT_OK);
    uint64_t seed = 5;
    for (int round = 0; round < 50; round++) {
        float logits[300];
        for (size_t i = 0; i < 300; i++) logits[i] = (float)(test_mix(&seed) % 40) * 0.25f; /* many ties */
        adj_update(&a, 9, logits);
        const weft_token *row = adj_row(&a, 9);
        /* brute force: repeatedly take the best unused id (lowest on ties) */
        bool used[300] = {false};
        for (size_t j = 0; j < 8; j++) {
            size_t best = 300;
            for (size_t i = 0; i < 300; i++)
                if (!used[i] && (best == 300 || logits[i] > logits[best])) best = i;
            used[best] = true;
            cr_assert_eq(row[j], (weft_token)best, "round %d, rank %zu", round, j);
        }
    }
    adj_free(&a);
}

Test(token_recycling, prompt_bigrams_fill_only_empty_rows) {
    adjacency a;
    adj_init(&a, te.env, 2);
    cr_assert_eq(adj_reserve(&a, 10), WEFT_OK);
    const float logits[10] = {0, 0, 0, 0, 0, 0, 0, 0, 5, 4};
    adj_update(&a, 3, logits); /* row 3 known: 8 9 */
    adj_seed(&a, TOKENS(1, 2, 3, 4, 1, 5), 6);
    expect_row(adj_row(&a, 1), TOKENS(2, -1), 2); /* the first bigram wins */
    expect_row(adj_row(&a, 2), TOKENS(3, -1), 2);
    expect_row(adj_row(&a, 3), TOKENS(8, 9), 2);
    expect_row(adj_row(&a, 4), TOKENS(1, -1), 2);
    expect_row(adj_row(&a, 5), TOKENS(-1, -1), 2);
    adj_clear(&a);
    expect_row(adj_row(&a, 3), TOKENS(-1, -1), 2);
    adj_free(&a);
}

Test(token_recycling, table_size) {
    /* the paper: under 2 MB for a 32k vocabulary with k = 8 */
    adjacency a;
    adj_init(&a, te.env, 8);
    cr_assert_eq(adj_reserve(&a, 32000), WEFT_OK);
    cr_assert_lt(adj_bytes(&a), 2u << 20, "%zu bytes", adj_bytes(&a));
    cr_assert_geq(adj_bytes(&a), 32000u * 8 * 4);
    adj_free(&a);
}

/* ---- tree shapes ---- */

/* A weft_json view of text, as the host hands JSON parameters to plugins
 * (json_view.c is compiled into this test: the same layout as libweft's). */
typedef struct json_arg {
    cJSON *doc;
    weft_json *view;
} json_arg;

static json_arg json_of(const char *text) {
    json_arg j = {cJSON_Parse(text), NULL};
    cr_assert_not_null(j.doc, "bad JSON in the test: %s", text);
    j.view = json_view_build(j.doc, "/drafter/tree");
    return j;
}

static void json_free(json_arg *j) {
    json_view_free(j->view);
    cJSON_Delete(j->doc);
}

static weft_status parse(tree_template *t, const char *text, size_t k) {
    json_arg j = json_of(text);
    weft_env_clear_error(te.env);
    weft_status st = tree_template_parse(t, te.env, j.view, k);
    json_free(&j);
    return st;
}

Test(token_recycling, default_shape_is_the_papers) {
    static tree_template t;
    cr_assert_eq(tree_template_parse(&t, te.env, NULL, 8), WEFT_OK);
    cr_assert_eq(t.n, 80);
    size_t per_depth[7] = {0};
    for (size_t i = 0; i < t.n; i++) {
        per_depth[t.depth[i]]++;
        cr_assert_lt(t.parent[i], (int32_t)i, "parents come first");
        if (t.parent[i] >= 0) cr_assert_eq(t.depth[t.parent[i]] + 1, t.depth[i]);
    }
    cr_assert_arr_eq(per_depth + 1, ((size_t[]){8, 21, 25, 15, 8, 3}), 6 * sizeof(size_t));
    /* the best-first chain leads: [0], [0,0], ..., [0,0,0,0,0,0] */
    for (size_t i = 0; i < 6; i++) {
        cr_assert_eq(t.rank[i], 0);
        cr_assert_eq(t.depth[i], i + 1);
    }
    /* with k = 1 only that chain remains */
    cr_assert_eq(tree_template_parse(&t, te.env, NULL, 1), WEFT_OK);
    cr_assert_eq(t.n, 6);
}

Test(token_recycling, branching_factors_expand_and_order) {
    static tree_template t;
    cr_assert_eq(parse(&t, "[3, 2]", 8), WEFT_OK, "%s", weft_env_error(te.env));
    /* by rank sum, then depth: [0] [0,0] [1] [0,1] [1,0] [2] [1,1] [2,0] [2,1] */
    cr_assert_eq(t.n, 9);
    static const uint8_t rank[] = {0, 0, 1, 1, 0, 2, 1, 0, 1}, depth[] = {1, 2, 1, 2, 2, 1, 2, 2, 2};
    static const int32_t parent[] = {-1, 0, -1, 0, 2, -1, 2, 5, 5};
    cr_assert_arr_eq(t.rank, rank, sizeof rank);
    cr_assert_arr_eq(t.depth, depth, sizeof depth);
    cr_assert_arr_eq(t.parent, parent, sizeof parent);
    cr_assert_eq(parse(&t, "[[1], [0], [1, 1], [0, 0, 0], [0, 0]]", 2), WEFT_OK, "%s", weft_env_error(te.env));
    cr_assert_eq(t.n, 5);
    static const int32_t parent2[] = {-1, 0, 1, -1, 3}; /* [0] [0,0] [0,0,0] [1] [1,1] */
    cr_assert_arr_eq(t.parent, parent2, sizeof parent2);
}

Test(token_recycling, shape_errors_point_at_the_value) {
    static tree_template t;
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"[]", "/drafter/tree: expected a non-empty list"},
        {"{}", "/drafter/tree: expected a non-empty list"},
        {"[[0], [0, 1], [0, 8]]", "/drafter/tree/2/1: a rank must be an integer in [0, k)"},
        {"[[0], [1.5]]", "/drafter/tree/1/0: a rank"},
        {"[[0], []]", "/drafter/tree/1: a node is a non-empty list"},
        {"[[0], [0]]", "a node appears twice"},
        {"[[0], [1, 0], [0, 0]]", "a node's parent path is missing"},
        {"[2, 0]", "/drafter/tree/1: a branching factor must be in [1, k]"},
        {"[2, 9]", "/drafter/tree/1: a branching factor"},
        {"[8, 8, 8, 8]", "more than 1024 nodes"},
    };
    for (size_t i = 0; i < WEFT_COUNT_OF(cases); i++) {
        cr_assert_eq(parse(&t, cases[i].json, 8), WEFT_ERR_INVALID, "%s was accepted", cases[i].json);
        cr_assert(strstr(weft_env_error(te.env), cases[i].msg), "%s: '%s', want '%s'", cases[i].json,
                  weft_env_error(te.env), cases[i].msg);
    }
}

/* ---- the plugin ---- */

static void open_with(const char *tree, int64_t k) {
    pf_close(&fx);
    cr_assert(pf_load(&fx, WEFT_KIND_DRAFTER, "token-recycling"));
    json_arg j = {0};
    pf_arg args[2] = {PF_INT("k", k), {.name = "tree"}};
    if (tree) {
        j = json_of(tree);
        args[1].value = (weft_value){.present = true, .u.json = j.view};
    }
    weft_status st = pf_create(&fx, args, tree ? 2 : 1);
    json_free(&j);
    cr_assert_eq(st, WEFT_OK, "%s", pf_error(&fx));
}

/* Evaluates (for observe) a tree whose every position has the given rows:
 * logits that rank `top[pos][0..]` first. */
static void observe_rows(const weft_token *history, size_t n_history, size_t n_accepted, const pf_tree *tr,
                         const weft_token (*top)[3], size_t n_vocab) {
    float logits[(PF_TREE_CAP + 1) * 16];
    cr_assert_leq(n_vocab, 16);
    for (size_t pos = 0; pos <= tr->t.n_nodes; pos++)
        for (size_t i = 0; i < n_vocab; i++) {
            float v = -INFINITY;
            for (size_t r = 0; r < 3; r++)
                if (top[pos][r] == (weft_token)i) v = (float)(10 - r);
            logits[pos * n_vocab + i] = v;
        }
    static const int32_t path[PF_TREE_CAP] = {0, 1, 2, 3, 4, 5, 6, 7};
    weft_observe ob = {.struct_size = sizeof ob, .tree = &tr->t, .accepted = path, .n_accepted = n_accepted,
                       .logits = logits, .n_vocab = (int32_t)n_vocab, .history = history, .n_history = n_history};
    cr_assert_eq(PF_DRAFTER(&fx)->observe(fx.self, &ob), WEFT_OK, "%s", pf_error(&fx));
}

static void draft_from(const weft_token *h, size_t n, size_t max_nodes, size_t max_depth, pf_tree *tr) {
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(h, n, max_nodes, max_depth, 16, &rng);
    pf_tree_init(tr);
    tr->t.n_nodes = 99;
    cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr->t), WEFT_OK, "%s", pf_error(&fx));
    for (size_t i = 0; i < tr->t.n_nodes; i++) cr_assert(isnan(tr->draft_p[i]) && tr->flags[i] == 0);
}

Test(token_recycling, descriptor) {
    open_with(NULL, 8);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->flags & WEFT_CAP_DRAFT_PROBS, 0);
}

Test(token_recycling, observe_recycles_every_position_and_draft_fills_the_shape) {
    open_with("[2, 2]", 2);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, TOKENS(1, 2), 2), WEFT_OK);
    pf_tree tr;
    /* cold: the prompt's bigram 1 -> 2 is all it knows; root 2 knows nothing */
    draft_from(TOKENS(1, 2), 2, 64, 64, &tr);
    test_expect_tree(&tr, NULL, NULL, 0);
    /* a step evaluated root 2 and nodes 3 (child of root) and 4 (child of 3):
     * history after it: 1 2 3 5 (3 accepted, then 5) */
    pf_tree_init(&tr);
    pf_tree_add(&tr, -1, 3);
    pf_tree_add(&tr, 0, 4);
    static const weft_token top[3][3] = {{3, 6, -1}, {5, 7, -1}, {8, 9, -1}};
    observe_rows(TOKENS(1, 2, 3, 5), 4, 1, &tr, top, 16);
    /* rows now: 2 -> 3 6, 3 -> 5 7, 4 -> 8 9. Root 2, shape [2, 2] in
     * order [0] [0,0] [1] [0,1] [1,0] [1,1]: 3, 3>5, 6, 3>7, (6 unknown) */
    draft_from(TOKENS(1, 2), 2, 64, 64, &tr);
    test_expect_tree(&tr, TOKENS(3, 5, 6, 7), PARENTS(-1, 0, -1, 0), 4);
    /* budgets: max_nodes keeps the first nodes in order, max_depth the shallow ones */
    draft_from(TOKENS(1, 2), 2, 2, 64, &tr);
    test_expect_tree(&tr, TOKENS(3, 5), PARENTS(-1, 0), 2);
    draft_from(TOKENS(1, 2), 2, 64, 1, &tr);
    test_expect_tree(&tr, TOKENS(3, 6), PARENTS(-1, -1), 2);
    /* root 3: 5 7, then 5 and 7 know nothing */
    draft_from(TOKENS(1, 3), 2, 64, 64, &tr);
    test_expect_tree(&tr, TOKENS(5, 7), PARENTS(-1, -1), 2);
}

Test(token_recycling, keep_false_forgets_between_requests) {
    open_with("[1]", 1);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    pf_tree tr;
    pf_tree_init(&tr);
    static const weft_token top[1][3] = {{7, -1, -1}};
    cr_assert_eq(v->start(fx.self, TOKENS(2), 1), WEFT_OK);
    observe_rows(TOKENS(2, 7), 2, 0, &tr, top, 16);
    draft_from(TOKENS(2), 1, 64, 64, &tr);
    test_expect_tree(&tr, TOKENS(7), PARENTS(-1), 1);
    cr_assert_eq(v->start(fx.self, TOKENS(2), 1), WEFT_OK); /* keep (default): remembered */
    draft_from(TOKENS(2), 1, 64, 64, &tr);
    test_expect_tree(&tr, TOKENS(7), PARENTS(-1), 1);
    pf_close(&fx);
    cr_assert(pf_load(&fx, WEFT_KIND_DRAFTER, "token-recycling"));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_BOOL("keep", false), PF_BOOL("seed_prompt", false))), WEFT_OK);
    v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, TOKENS(2), 1), WEFT_OK);
    pf_tree_init(&tr);
    observe_rows(TOKENS(2, 7), 2, 0, &tr, top, 16);
    cr_assert_eq(v->start(fx.self, TOKENS(2, 9), 2), WEFT_OK);
    draft_from(TOKENS(2, 9), 2, 64, 64, &tr);
    test_expect_tree(&tr, NULL, NULL, 0);
    draft_from(TOKENS(9, 2), 2, 64, 64, &tr); /* no prompt seeding either */
    test_expect_tree(&tr, NULL, NULL, 0);
}

Test(token_recycling, default_tree_fills_up_to_eighty_nodes) {
    open_with(NULL, 8);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, TOKENS(1), 1), WEFT_OK);
    /* every token's row: the 8 tokens after it, cyclically */
    pf_tree tr;
    pf_tree_init(&tr);
    for (weft_token t = 0; t < 15; t++) pf_tree_add(&tr, -1, t);
    float logits[16 * 16];
    for (size_t pos = 0; pos < 16; pos++) {
        weft_token t = pos == 0 ? 15 : tr.tokens[pos - 1];
        for (size_t i = 0; i < 16; i++) logits[pos * 16 + i] = (float)((16 + (weft_token)i - t - 1) % 16) * -1.0f;
    }
    weft_observe ob = {.struct_size = sizeof ob, .tree = &tr.t, .logits = logits, .n_vocab = 16,
                       .history = TOKENS(15, 0), .n_history = 2};
    cr_assert_eq(v->observe(fx.self, &ob), WEFT_OK);
    static weft_token tokens[80];
    static int32_t parents[80];
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(TOKENS(1), 1, 80, 64, 16, &rng);
    weft_tree big = {.struct_size = sizeof big, .capacity = 80, .tokens = tokens, .parents = parents};
    cr_assert_eq(v->draft(fx.self, &ctx, &big), WEFT_OK);
    cr_assert_eq(big.n_nodes, 80);
    /* children of one node are distinct, and each is its parent's row entry */
    for (size_t i = 0; i < 80; i++) {
        weft_token parent_tok = parents[i] < 0 ? 1 : tokens[parents[i]];
        int rank = (tokens[i] - parent_tok - 1 + 32) % 16;
        cr_assert(rank >= 0 && rank < 8, "node %zu: %d is not in its parent's row", i, tokens[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert(!(parents[j] == parents[i] && tokens[j] == tokens[i]), "siblings %zu and %zu repeat", j, i);
    }
    /* capped by the core's capacity */
    pf_tree_init(&tr);
    ctx.max_nodes = 200;
    cr_assert_eq(v->draft(fx.self, &ctx, &tr.t), WEFT_OK);
    cr_assert_eq(tr.t.n_nodes, PF_TREE_CAP);
}
