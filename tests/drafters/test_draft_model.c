/* drafter draft-model: the order in which the tree grows (best-first by
 * draft probability, against a brute-force ranking of every path of a
 * Markov draft model) and the draft model's cache, which after any number
 * of steps must equal plain decoding of the committed tokens (kv_len and
 * logits, stories260K through the llama backend). */
#include <math.h>
#include <unistd.h>

#include "drafter_env.h"
#include "markov_model.h"
#include <weft/sdk.h>
#include "test_paths.h"

static test_env te;
static pf be_pf, fx;
static void setup(void) { test_env_open(&te, "test draft-model"); }
static void teardown(void) {
    pf_close(&fx);
    pf_close(&be_pf);
    test_env_close(&te);
}
TestSuite(draft_model, .init = setup, .fini = teardown);

static weft_instance g_be;

static void open_drafter(weft_instance *be, const pf_arg *extra, size_t n) {
    pf_arg args[8] = {{.name = "backend", .value = {.present = true, .u.component = be}}};
    for (size_t i = 0; i < n; i++) args[i + 1] = extra[i];
    pf_close(&fx);
    cr_assert(pf_load(&fx, WEFT_KIND_DRAFTER, "draft-model"));
    cr_assert_eq(pf_create(&fx, args, n + 1), WEFT_OK, "%s", pf_error(&fx));
}

static int64_t action(const char *name) {
    for (size_t i = 0; i < fx.desc->n_actions; i++)
        if (!strcmp(fx.desc->actions[i].name, name)) return ((int64_t(*)(void *))fx.desc->actions[i].fn)(fx.self);
    cr_assert_fail("no action %s", name);
    return 0;
}

/* ---- expansion order ---- */

enum { NV = 8, TOPK = 2, DEPTH = 4, NODES = 11 };
#define SEED 3
#define SHARP 2.0

typedef struct path {
    weft_token tok[DEPTH];
    int len;
    double value;
} path;

/* q after (a, b), and the rank-th likeliest token (lowest id on ties). */
static weft_token ranked(weft_token a, weft_token b, int rank, double *q) {
    float l[NV];
    markov_logits(SEED, SHARP, -4, NV, a, b, l);
    double z = 0, p[NV];
    for (int t = 0; t < NV; t++) z += isinf(l[t]) ? 0 : exp(l[t]);
    for (int t = 0; t < NV; t++) p[t] = isinf(l[t]) ? 0 : exp(l[t]) / z;
    int order[NV];
    for (int t = 0; t < NV; t++) order[t] = t;
    for (int i = 0; i < NV; i++)
        for (int j = i + 1; j < NV; j++)
            if (p[order[j]] > p[order[i]]) {
                int x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
    *q = p[order[rank]];
    return order[rank];
}

/* Every path of ranks < TOPK up to DEPTH below (a, b). */
static size_t all_paths(path *out, weft_token a, weft_token b) {
    size_t n = 0;
    for (int d = 1; d <= DEPTH; d++) {
        int combos = 1 << d; /* TOPK == 2 */
        for (int c = 0; c < combos; c++) {
            path p = {.len = d, .value = 1};
            weft_token x = a, y = b;
            for (int k = 0; k < d; k++) {
                double q;
                weft_token t = ranked(x, y, (c >> k) & 1, &q);
                p.tok[k] = t;
                p.value *= q;
                x = y, y = t;
            }
            out[n++] = p;
        }
    }
    return n;
}

Test(draft_model, grows_best_first_by_draft_probability) {
    g_be = test_backend(&be_pf, "markov", PF_ARGS(PF_INT("n_vocab", NV), PF_INT("seed", SEED), PF_DOUBLE("sharpness", SHARP)));
    open_drafter(&g_be, PF_ARGS(PF_INT("top_k", TOPK), PF_INT("max_draft", DEPTH), PF_STRING("draw", "top-k")));
    static const weft_token h[] = {0, 2, 5, 3};
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(h, 4, NODES, 16, NV, &rng);
    pf_tree tr;
    pf_tree_init(&tr);
    cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
    cr_assert_eq(tr.t.n_nodes, NODES);
    /* the brute-force ranking: the NODES most likely paths */
    static path ref[64];
    size_t n_ref = all_paths(ref, 5, 3);
    for (size_t i = 0; i < n_ref; i++)
        for (size_t j = i + 1; j < n_ref; j++)
            if (ref[j].value > ref[i].value) {
                path x = ref[i];
                ref[i] = ref[j];
                ref[j] = x;
            }
    /* node i is the i-th most likely path */
    for (size_t i = 0; i < NODES; i++) {
        weft_token tok[DEPTH];
        int d = 0;
        for (int32_t k = (int32_t)i; k >= 0; k = tr.parents[k]) d++;
        int at = d;
        for (int32_t k = (int32_t)i; k >= 0; k = tr.parents[k]) tok[--at] = tr.tokens[k];
        cr_assert_eq(d, ref[i].len, "node %zu: depth %d, want the path of depth %d (p %g)", i, d, ref[i].len, ref[i].value);
        for (int k = 0; k < d; k++) cr_assert_eq(tok[k], ref[i].tok[k], "node %zu: token %d of its path", i, k);
        cr_assert(isnan(tr.draft_p[i]), "top-k drafts report no q");
    }
    /* tree order within siblings: the likelier first */
    for (size_t i = 1; i < NODES; i++)
        cr_assert(tr.parents[i] < (int32_t)i);
}

/* Sampled drafting reports q at every position that has children, and
 * draft_p = q(token). */
Test(draft_model, sampled_trees_report_q) {
    g_be = test_backend(&be_pf, "markov", PF_ARGS(PF_INT("n_vocab", NV), PF_INT("seed", SEED)));
    open_drafter(&g_be, PF_ARGS(PF_INT("top_k", 3), PF_STRING("draw", "sample"), PF_STRING("siblings", "distinct")));
    static const weft_token h[] = {0, 2, 5, 3};
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(h, 4, 12, 16, NV, &rng);
    pf_tree tr;
    pf_tree_init(&tr);
    cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
    cr_assert_gt(tr.t.n_nodes, 3);
    for (size_t i = 0; i < tr.t.n_nodes; i++) {
        const weft_dist *q = &tr.dists[tr.parents[i] + 1];
        cr_assert_gt(q->size, 0, "node %zu: no q at its parent", i);
        cr_assert_float_eq(tr.draft_p[i], weft_dist_prob(q, tr.tokens[i]), 1e-6);
        for (size_t j = 0; j < i; j++)
            cr_assert(!(tr.parents[j] == tr.parents[i] && tr.tokens[j] == tr.tokens[i]), "distinct siblings repeat");
    }
}

/* ---- the draft model's cache ---- */

/* Simulated steps against a reference text: the verifier accepts the tree
 * path that follows the text, cut short every third step (a rejection),
 * and commits the text's next token. After each step the draft model's
 * cache holds a prefix of the history; evaluating the rest of it on that
 * cache gives the logits of plain decoding of the whole history. */
static void cache_follows_the_text(const char *backend, const pf_arg *bargs, size_t nb, int64_t top_k) {
    g_be = test_backend(&be_pf, backend, bargs, nb);
    pf plain_pf;
    weft_instance plain = test_backend(&plain_pf, backend, bargs, nb);
    const weft_model_info *mi = BACKEND_VT(&g_be)->info(g_be.self);
    size_t nv = (size_t)mi->n_vocab;
    open_drafter(&g_be, PF_ARGS(PF_INT("top_k", top_k), PF_INT("max_draft", 5)));
    /* the reference text: plain greedy decoding of the model from a prompt */
    enum { LEN = 120 };
    static weft_token text[LEN];
    static const weft_token prompt[] = {1, 403, 407, 261, 378};
    size_t n = 5;
    memcpy(text, prompt, sizeof prompt);
    if (mi->n_vocab < 500)
        for (size_t i = 0; i < n; i++) text[i] = i ? 2 + (weft_token)(i * 3 % (size_t)(mi->n_vocab - 2)) : 0;
    float *logits = malloc(nv * sizeof *logits), *ref = malloc(nv * sizeof *ref);
    int32_t row = 0;
    {
        weft_batch b = {.struct_size = sizeof b, .n_tokens = n, .tokens = text, .n_out = 1, .out_rows = &row, .logits = logits};
        cr_assert_eq(BACKEND_VT(&plain)->eval(plain.self, &b), WEFT_OK);
        for (; n < LEN; n++) {
            weft_token best = 0;
            for (size_t t = 1; t < nv; t++)
                if (logits[t] > logits[best]) best = (weft_token)t;
            text[n] = best;
            weft_batch one = {.struct_size = sizeof one, .n_tokens = 1, .tokens = text + n, .n_out = 1, .out_rows = &row, .logits = logits};
            cr_assert_eq(BACKEND_VT(&plain)->eval(plain.self, &one), WEFT_OK);
        }
        cr_assert_eq(BACKEND_VT(&plain)->kv_keep(plain.self, LEN, NULL, 0), WEFT_OK);
    }
    cr_assert_eq(PF_DRAFTER(&fx)->start(fx.self, text, 5), WEFT_OK);
    size_t h = 5, steps = 0, accepted_total = 0;
    while (h + 8 < LEN) {
        weft_rng rng;
        weft_draft_ctx ctx = test_draft_ctx(text, h, 16, 16, mi->n_vocab, &rng);
        pf_tree tr;
        pf_tree_init(&tr);
        cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
        int32_t acc[16];
        size_t na = 0;
        for (int32_t at = -1;;) {
            int32_t c = weft_tree_next_child(&tr.t, at, at);
            while (c >= 0 && tr.tokens[c] != text[h + na]) c = weft_tree_next_child(&tr.t, at, c);
            if (c < 0 || (steps % 3 == 2 && na == 1)) break;
            acc[na++] = at = c;
        }
        accepted_total += na;
        weft_observe obs = {.struct_size = sizeof obs, .tree = &tr.t, .accepted = acc, .n_accepted = na,
                            .next = text[h + na], .history = text, .n_history = h + na + 1, .n_vocab = mi->n_vocab};
        cr_assert_eq(PF_DRAFTER(&fx)->observe(fx.self, &obs), WEFT_OK, "%s", pf_error(&fx));
        h += na + 1;
        steps++;
        int64_t held = action("held"), kv = action("kv_len");
        cr_assert_eq(kv, held, "step %zu: %lld cache entries but %lld committed tokens held", steps, (long long)kv,
                     (long long)held);
        cr_assert(held <= (int64_t)h && held + (int64_t)na + 2 >= (int64_t)h,
                  "step %zu: holds %lld of %zu committed tokens", steps, (long long)held, h);
    }
    cr_assert_gt(accepted_total, steps, "the drafts were hardly ever right");
    /* the rest of the history on the draft cache == plain decoding of all of it */
    size_t held = (size_t)action("held");
    weft_batch rest = {.struct_size = sizeof rest, .n_tokens = h - held, .tokens = text + held, .n_out = 1,
                       .out_rows = (int32_t[]){(int32_t)(h - held - 1)}, .logits = logits};
    cr_assert_eq(BACKEND_VT(&g_be)->eval(g_be.self, &rest), WEFT_OK);
    weft_batch all = {.struct_size = sizeof all, .n_tokens = h, .tokens = text, .n_out = 1,
                      .out_rows = (int32_t[]){(int32_t)(h - 1)}, .logits = ref};
    cr_assert_eq(BACKEND_VT(&plain)->eval(plain.self, &all), WEFT_OK);
    cr_assert_eq(BACKEND_VT(&g_be)->kv_len(g_be.self), (int32_t)h);
    for (size_t t = 0; t < nv; t++)
        cr_assert(logits[t] == ref[t] || fabsf(logits[t] - ref[t]) <= 1e-4f * (1 + fabsf(ref[t])), "logit %zu: %g after drafting, %g plain", t,
                  logits[t], ref[t]);
    free(logits);
    free(ref);
    pf_close(&plain_pf);
}

Test(draft_model, llama_cache_equals_plain_decoding_chain) {
    char model[2048];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    if (access(model, R_OK) != 0) cr_skip_test("no %s", model);
    cache_follows_the_text("llama", PF_ARGS(PF_STRING("model", model)), 1);
}

Test(draft_model, llama_cache_equals_plain_decoding_tree) {
    char model[2048];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    if (access(model, R_OK) != 0) cr_skip_test("no %s", model);
    cache_follows_the_text("llama", PF_ARGS(PF_STRING("model", model)), 3);
}

/* the Markov backend checks that every kept row follows the one before */
Test(draft_model, markov_cache_stays_a_chain) {
    cache_follows_the_text("markov", PF_ARGS(PF_INT("n_vocab", 16)), 3);
}
