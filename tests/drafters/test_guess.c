/* Guesses for model drafters (sdk/lookup.c, sdk/guess.c and weft_expand's
 * first batch): n-gram lookup against a brute-force search; and on the
 * Markov backend, a chain drafted with guesses right, partly right, wrong
 * or too long is the chain drafted without them, with one eval saved per
 * guess the chain confirms and no guess row left in the cache. Then the
 * early-exit drafter with a nested guesser on stories260K: the same drafts,
 * the target's cache as it was, start() and observe() passed on. */
#include <unistd.h>

#include <weft/sdk.h>

#include "drafter_env.h"
#include "stub_drafter.h"
#include "test_paths.h"

static test_env te;
static void setup(void) { test_env_open(&te, "test guess"); }
static void teardown(void) { test_env_close(&te); }
TestSuite(guess, .init = setup, .fini = teardown);

/* ---- n-gram lookup ---- */

static size_t brute_lookup(const weft_token *h, size_t len, size_t min_n, size_t max_n, size_t max, size_t *from) {
    for (size_t n = max_n; n >= min_n && n > 0; n--) {
        if (len < n + 1) continue;
        for (size_t s = len - n; s-- > 0;) {
            size_t k = 0;
            while (k < n && h[s + k] == h[len - n + k]) k++;
            if (k < n) continue;
            *from = s + n;
            return len - *from < max ? len - *from : max;
        }
    }
    return 0;
}

Test(guess, lookup_matches_brute_force) {
    uint64_t seed = 7;
    weft_token h[64];
    for (int trial = 0; trial < 2000; trial++) {
        size_t len = 1 + test_mix(&seed) % 64, vocab = 2 + test_mix(&seed) % 5;
        for (size_t i = 0; i < len; i++) h[i] = (weft_token)(test_mix(&seed) % vocab);
        size_t min_n = 1 + test_mix(&seed) % 3, max_n = min_n + test_mix(&seed) % 3, max = test_mix(&seed) % 9;
        size_t f1 = 0, f2 = 0;
        size_t a = weft_lookup_continuation(h, len, min_n, max_n, max, &f1);
        size_t b = max ? brute_lookup(h, len, min_n, max_n, max, &f2) : 0;
        cr_assert_eq(a, b, "trial %d: %zu tokens, want %zu", trial, a, b);
        if (a) cr_assert_eq(f1, f2, "trial %d: from %zu, want %zu", trial, f1, f2);
    }
}

/* ---- weft_expand's guesses on the Markov backend ---- */

static const weft_backend_vtable *inner;
static int n_evals;
static weft_status counting_eval(void *self, const weft_batch *b) {
    n_evals++;
    return inner->eval(self, b);
}

typedef struct counted {
    pf pf;
    weft_backend_vtable vt;
    weft_component_desc desc;
    weft_instance inst;
} counted;

static void open_counted(counted *c) {
    weft_instance m = test_backend(&c->pf, "markov", PF_ARGS(PF_INT("n_vocab", 16)));
    inner = BACKEND_VT(&m);
    c->vt = *inner;
    c->vt.eval = counting_eval;
    c->desc = *m.desc;
    c->desc.vtable = &c->vt;
    c->inst = m;
    c->inst.desc = &c->desc;
}

static const weft_token history[] = {1, 5, 9, 2, 7};
enum { N_HISTORY = 5, DEPTH = 6 };

/* Drafts a top-k tree (1: a chain) from the root history[N-1] (history[0..N-1) in the
 * cache) with the given guess; returns the evals it took. */
static int draft_with(counted *c, size_t top_k, double min_prob, const weft_token *guess, size_t n_guess,
                      pf_tree *tr, weft_expander *x) {
    const weft_backend_vtable *v = &c->vt;
    cr_assert_eq(v->kv_keep(c->inst.self, v->kv_len(c->inst.self), NULL, 0), WEFT_OK);
    weft_batch b = {.struct_size = sizeof b, .n_tokens = N_HISTORY - 1, .tokens = history};
    cr_assert_eq(inner->eval(c->inst.self, &b), WEFT_OK);
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(history, N_HISTORY, 16, DEPTH, 16, &rng);
    weft_expand_params p = {.draw = WEFT_EXPAND_TOP_K, .top_k = top_k, .temperature = 1, .min_prob = min_prob, .guess = guess,
                            .n_guess = n_guess};
    pf_tree_init(tr);
    n_evals = 0;
    cr_assert_eq(weft_expand(x, &c->inst, &p, history + N_HISTORY - 1, 1, N_HISTORY - 1, &ctx, &tr->t), WEFT_OK);
    cr_assert_eq(v->kv_len(c->inst.self), (int32_t)(N_HISTORY + x->n_rows),
                 "cache holds %d rows, want the root and the tree's %zu", v->kv_len(c->inst.self), x->n_rows);
    return n_evals;
}

Test(guess, expand_guesses_save_evals_and_change_nothing_else) {
    counted c;
    open_counted(&c);
    weft_expander x;
    weft_expander_init(&x, te.env);
    pf_tree plain, got;
    int e0 = draft_with(&c, 1, 0, NULL, 0, &plain, &x);
    cr_assert_eq(plain.t.n_nodes, (size_t)DEPTH, "the chain should fill its depth");
    cr_assert_eq(e0, DEPTH, "one eval for the root, one per node but the last");
    weft_token g[DEPTH + 2];
    for (size_t i = 0; i < DEPTH; i++) g[i] = plain.tokens[i];
    g[DEPTH] = g[DEPTH + 1] = 3;

    /* all right, and longer than the chain: one eval */
    cr_assert_eq(draft_with(&c, 1, 0, g, DEPTH + 2, &got, &x), 1);
    test_expect_tree(&got, plain.tokens, plain.parents, plain.t.n_nodes);
    /* right for k tokens, then wrong: k evals saved */
    for (size_t k = 0; k <= DEPTH; k++) {
        weft_token w[DEPTH];
        memcpy(w, g, sizeof w);
        if (k < DEPTH) w[k] = (weft_token)((w[k] + 1) % 16);
        int e = draft_with(&c, 1, 0, w, DEPTH, &got, &x);
        test_expect_tree(&got, plain.tokens, plain.parents, plain.t.n_nodes);
        cr_assert_eq(e, k < DEPTH - 1 ? e0 - (int)k : 1, "right for %zu tokens: %d evals", k, e);
    }
    /* a chain that ends before its guesses do (min_prob) leaves none */
    pf_tree short_plain;
    draft_with(&c, 1, 0.3, NULL, 0, &short_plain, &x);
    cr_assert_lt(short_plain.t.n_nodes, (size_t)DEPTH - 1, "min_prob 0.3 should stop the chain early");
    draft_with(&c, 1, 0.3, g, DEPTH, &got, &x);
    test_expect_tree(&got, short_plain.tokens, short_plain.parents, short_plain.t.n_nodes);
    /* a tree ignores guesses */
    pf_tree tree;
    int et = draft_with(&c, 2, 0, NULL, 0, &tree, &x);
    cr_assert_gt(tree.t.n_nodes, (size_t)DEPTH, "not a tree");
    cr_assert_eq(draft_with(&c, 2, 0, g, DEPTH, &got, &x), et);
    test_expect_tree(&got, tree.tokens, tree.parents, tree.t.n_nodes);
    weft_expander_free(&x);
    pf_close(&c.pf);
}

/* ---- early-exit with a nested guesser, on stories260K ---- */

Test(guess, early_exit_with_a_guesser_drafts_the_same) {
    char model[2048];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    if (access(model, R_OK) != 0) cr_skip_test("no %s", model);
    pf target_pf, plain_fx, guessed_fx;
    weft_instance t = test_backend(&target_pf, "llama", PF_ARGS(PF_STRING("model", model)));
    const weft_model_info *mi = BACKEND_VT(&t)->info(t.self);
    static const weft_token h[] = {1, 403, 407, 261, 378, 425, 32, 270, 374, 322, 346, 262, 292};
    const size_t n = sizeof h / sizeof *h;
    weft_batch pre = {.struct_size = sizeof pre, .n_tokens = n - 1, .tokens = h};
    cr_assert_eq(BACKEND_VT(&t)->eval(t.self, &pre), WEFT_OK);
    pf_open(&plain_fx, WEFT_KIND_DRAFTER, "early-exit",
            PF_ARGS(PF_INT("max_draft", 5), PF_INT("guess", 0)));
    pf_tree plain;
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(h, n, 12, 5, mi->n_vocab, &rng);
    ctx.target = &t;
    pf_tree_init(&plain);
    cr_assert_eq(PF_DRAFTER(&plain_fx)->draft(plain_fx.self, &ctx, &plain.t), WEFT_OK, "%s", pf_error(&plain_fx));
    cr_assert_eq(plain.t.n_nodes, 5u);
    /* guesses right for 3 tokens, then wrong */
    weft_token g[5];
    memcpy(g, plain.tokens, sizeof g);
    g[3] = (weft_token)((g[3] + 1) % mi->n_vocab);
    stub sc = {.script = g, .len = 5};
    weft_instance gi = stub_instance(&sc, te.env);
    pf_open(&guessed_fx, WEFT_KIND_DRAFTER, "early-exit",
            PF_ARGS(PF_INT("max_draft", 5), ((pf_arg){.name = "guess_from", .value = {.present = true, .u.component = &gi}})));
    cr_assert_eq(PF_DRAFTER(&guessed_fx)->start(guessed_fx.self, h, n - 1), WEFT_OK);
    cr_assert_eq(sc.starts, 1, "start() not passed on");
    pf_tree got;
    pf_tree_init(&got);
    cr_assert_eq(PF_DRAFTER(&guessed_fx)->draft(guessed_fx.self, &ctx, &got.t), WEFT_OK, "%s", pf_error(&guessed_fx));
    test_expect_tree(&got, plain.tokens, plain.parents, plain.t.n_nodes);
    cr_assert_eq(BACKEND_VT(&t)->kv_len(t.self), (int32_t)n - 1, "the draft left rows in the target's cache");
    weft_observe obs = {.struct_size = sizeof obs, .tree = &got.t, .history = h, .n_history = n, .eval_seconds = 1e-3};
    cr_assert_eq(PF_DRAFTER(&guessed_fx)->observe(guessed_fx.self, &obs), WEFT_OK);
    cr_assert_eq(sc.observes, 1, "observe() not passed on");
    pf_close(&guessed_fx);
    pf_close(&plain_fx);
    pf_close(&target_pf);
}
