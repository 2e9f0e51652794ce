/* drafter early-exit: the candidate exit layers, the online choice of the
 * layer (the bandit finds the layer that pays best), and the target's cache
 * after drafting: exactly what it was (kv_len and logits), on the llama
 * backend and on the Markov backend, which refuses a full evaluation while
 * a partial one is left in its cache. */
#include "drafter_env.h"
#include "exit_layers.h"
#include "test_paths.h"

#include <unistd.h>

static test_env te;
static void setup(void) { test_env_open(&te, "test early-exit"); }
static void teardown(void) { test_env_close(&te); }
TestSuite(early_exit, .init = setup, .fini = teardown);

static void expect_layers(int32_t n_layers, const int64_t *asked, size_t n_asked, const int32_t *want, size_t n) {
    int32_t got[EXIT_MAX_LAYERS];
    size_t k = exit_layers(n_layers, asked, n_asked, got);
    cr_assert_eq(k, n, "%d layers: %zu candidates, want %zu", n_layers, k, n);
    for (size_t i = 0; i < n; i++) cr_assert_eq(got[i], want[i], "%d layers: candidate %zu is %d, want %d", n_layers, i, got[i], want[i]);
}

Test(early_exit, candidate_layers) {
    expect_layers(1, NULL, 0, NULL, 0);
    expect_layers(2, NULL, 0, PARENTS(1), 1);
    expect_layers(5, NULL, 0, PARENTS(1, 2, 3, 4), 4);
    expect_layers(12, NULL, 0, PARENTS(1, 2, 3, 5, 6, 8, 9, 11), 8);
    expect_layers(40, NULL, 0, PARENTS(1, 6, 11, 17, 22, 28, 33, 39), 8);
    /* asked: kept in range, sorted, distinct */
    expect_layers(12, (const int64_t[]){8, 0, 4, 12, 4, -1, 2}, 7, PARENTS(2, 4, 8), 3);
    expect_layers(1, (const int64_t[]){1}, 1, NULL, 0);
}

static pf target_pf, fx;

static weft_instance markov_target(void) {
    return test_backend(&target_pf, "markov", PF_ARGS(PF_INT("n_layers", 4), PF_INT("n_vocab", 16)));
}

/* Prefills h[0..n-1) (the root is pending, as in the core). */
static void prefill(weft_instance *t, const weft_token *h, size_t n) {
    weft_batch b = {.struct_size = sizeof b, .n_tokens = n - 1, .tokens = h};
    cr_assert_eq(BACKEND_VT(t)->eval(t->self, &b), WEFT_OK);
}

static int64_t action(pf *f, const char *name) {
    for (size_t i = 0; i < f->desc->n_actions; i++)
        if (!strcmp(f->desc->actions[i].name, name)) return ((int64_t(*)(void *))f->desc->actions[i].fn)(f->self);
    cr_assert_fail("no action %s", name);
    return 0;
}

/* The layer choice follows measured throughput: with acceptance and cost
 * made up per layer (layer 2 commits most per second), the bandit settles
 * on layer 2, and every draft leaves the target's cache as it was. */
Test(early_exit, learns_the_layer_that_pays) {
    weft_instance t = markov_target();
    pf_open(&fx, WEFT_KIND_DRAFTER, "early-exit", PF_ARGS(PF_INT("max_draft", 3)));
    static const weft_token h[] = {0, 2, 3, 4, 5};
    prefill(&t, h, 5);
    int32_t len0 = BACKEND_VT(&t)->kv_len(t.self);
    /* layer L: accepts acc[L] of 3 tokens, and the step costs cost[L] */
    static const size_t acc[4] = {0, 0, 3, 3};
    static const double cost[4] = {0, 1.0, 1.2, 2.5};
    int picks[4] = {0};
    for (int step = 0; step < 400; step++) {
        weft_rng rng;
        weft_draft_ctx ctx = test_draft_ctx(h, 5, 16, 16, 16, &rng);
        ctx.target = &t;
        pf_tree tr;
        pf_tree_init(&tr);
        cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
        cr_assert_eq(BACKEND_VT(&t)->kv_len(t.self), len0, "step %d: the draft left rows in the target's cache", step);
        int64_t L = action(&fx, "exit_layer");
        cr_assert(L >= 1 && L <= 3);
        picks[L]++;
        size_t na = acc[L] < tr.t.n_nodes ? acc[L] : tr.t.n_nodes;
        int32_t accepted[3] = {0, 1, 2};
        weft_observe obs = {.struct_size = sizeof obs, .tree = &tr.t, .accepted = accepted, .n_accepted = na,
                            .history = h, .n_history = 5, .eval_seconds = cost[L], .draft_seconds = 0};
        cr_assert_eq(PF_DRAFTER(&fx)->observe(fx.self, &obs), WEFT_OK);
    }
    cr_assert_eq(action(&fx, "best_layer"), 2, "%s", ((const char *(*)(void *))fx.desc->actions[2].fn)(fx.self));
    cr_assert_gt(picks[2], 300, "layer 2 played %d times of 400", picks[2]);
    /* the target is still fit for a full evaluation */
    weft_batch b = {.struct_size = sizeof b, .n_tokens = 1, .tokens = h + 4};
    cr_assert_eq(BACKEND_VT(&t)->eval(t.self, &b), WEFT_OK, "%s", pf_error(&target_pf));
    pf_close(&fx);
    pf_close(&target_pf);
}

/* The Markov backend enforces the rule of backend.h: a partial evaluation
 * must be rolled back before a full one. */
Test(early_exit, markov_refuses_a_full_eval_over_partial_rows) {
    weft_instance t = markov_target();
    static const weft_token h[] = {0, 2, 3};
    weft_batch b = {.struct_size = sizeof b, .n_tokens = 2, .tokens = h};
    cr_assert_eq(BACKEND_VT(&t)->eval(t.self, &b), WEFT_OK);
    float logits[16];
    int32_t row = 0;
    weft_batch part = {.struct_size = sizeof part, .n_tokens = 1, .tokens = h + 2, .n_out = 1, .out_rows = &row,
                       .logits = logits, .n_layers_run = 2};
    cr_assert_eq(BACKEND_VT(&t)->eval(t.self, &part), WEFT_OK);
    weft_batch full = {.struct_size = sizeof full, .n_tokens = 1, .tokens = h + 2};
    cr_assert_eq(BACKEND_VT(&t)->eval(t.self, &full), WEFT_ERR_INVALID);
    cr_assert_eq(BACKEND_VT(&t)->kv_keep(t.self, 1, NULL, 0), WEFT_OK);
    cr_assert_eq(BACKEND_VT(&t)->eval(t.self, &full), WEFT_OK);
    pf_close(&target_pf);
}

/* On stories260K through the llama backend: after early-exit drafts (chains
 * and trees, every candidate layer), the target's cache gives bit for bit
 * the logits of a cache that never drafted. */
Test(early_exit, llama_cache_unchanged_after_drafting) {
    char model[2048];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    if (access(model, R_OK) != 0) cr_skip_test("no %s", model);
    pf plain_pf;
    weft_instance t = test_backend(&target_pf, "llama", PF_ARGS(PF_STRING("model", model)));
    weft_instance p = test_backend(&plain_pf, "llama", PF_ARGS(PF_STRING("model", model)));
    const weft_model_info *mi = BACKEND_VT(&t)->info(t.self);
    static const weft_token h[] = {1, 403, 407, 261, 378, 425, 32, 270, 374, 322, 346, 262, 292};
    size_t n = sizeof h / sizeof *h;
    prefill(&t, h, n);
    prefill(&p, h, n);
    static const int64_t top_k[] = {1, 3};
    for (size_t k = 0; k < 2; k++) {
        pf_open(&fx, WEFT_KIND_DRAFTER, "early-exit", PF_ARGS(PF_INT("top_k", top_k[k]), PF_INT("max_draft", 4)));
        for (int step = 0; step < mi->n_layers + 2; step++) {
            weft_rng rng;
            weft_draft_ctx ctx = test_draft_ctx(h, n, 12, 8, mi->n_vocab, &rng);
            ctx.target = &t;
            pf_tree tr;
            pf_tree_init(&tr);
            cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
            cr_assert_gt(tr.t.n_nodes, 0);
            cr_assert_eq(BACKEND_VT(&t)->kv_len(t.self), (int32_t)n - 1);
            weft_observe obs = {.struct_size = sizeof obs, .tree = &tr.t, .history = h, .n_history = n,
                                .eval_seconds = 1e-3};
            cr_assert_eq(PF_DRAFTER(&fx)->observe(fx.self, &obs), WEFT_OK);
        }
        pf_close(&fx);
    }
    static float la[512], lb[512];
    int32_t row = 0;
    weft_batch ba = {.struct_size = sizeof ba, .n_tokens = 1, .tokens = h + n - 1, .n_out = 1, .out_rows = &row, .logits = la};
    weft_batch bb = ba;
    bb.logits = lb;
    cr_assert_eq(BACKEND_VT(&t)->eval(t.self, &ba), WEFT_OK);
    cr_assert_eq(BACKEND_VT(&p)->eval(p.self, &bb), WEFT_OK);
    cr_assert_eq(memcmp(la, lb, (size_t)mi->n_vocab * sizeof *la), 0, "the drafted-with cache gives other logits");
    pf_close(&plain_pf);
    pf_close(&target_pf);
}
