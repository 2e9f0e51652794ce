/* lookahead: Jacobi lookahead decoding (Fu et al. 2024, "Break the
 * Sequential Dependency of LLM Inference Using Lookahead Decoding").
 *
 * Two branches share each target batch:
 *   - the lookahead branch: a window of W columns and N - 1 levels of
 *     guessed tokens, sent as auxiliary rows (WEFT_NODE_AUX). Level 0 is a
 *     chain from the root; level j of column i hangs below level j - 1 of
 *     column i, so it sees the root, level 0 up to column i and its own
 *     column: the attention mask of the paper's Fig. 2 (and of llama.cpp's
 *     lookahead example), written as a tree. The logits of the top level
 *     give the next guess of each column (one Jacobi iteration per step),
 *     and each column then yields an n-gram: its levels bottom to top plus
 *     that guess.
 *   - the verification branch: the pool's n-grams that start with the root,
 *     merged into a trie (sdk weft_tree_insert_path), verified as usual.
 * The pool also takes the n-grams of the committed text (param `history`),
 * which costs nothing and lets small budgets, with no room for the window,
 * still draft. Drafts are distinct siblings that depend on the past only,
 * so every lossless verifier stays lossless. */
#include <string.h>

#include <weft/sdk.h>

#include "ngram_pool.h"

#define MAX_W 16
#define MAX_N 8

enum { P_WINDOW, P_NGRAM, P_VERIFY, P_POOL, P_HISTORY, P_KEEP };

static const weft_param_desc params[] = {
    WEFT_PARAM_INT("window", 0, MAX_W, "4", "W: columns of the lookahead window (0: pool of the text only)"),
    WEFT_PARAM_INT("ngram", 2, MAX_N, "3", "N: n-gram size; the window has N - 1 levels"),
    WEFT_PARAM_INT("verify", 0, 64, "4", "G: most n-grams verified per step"),
    WEFT_PARAM_INT("pool", 1, 255, "8", "n-grams kept per first token"),
    WEFT_PARAM_BOOL("history", "true", "Also pool the n-grams of the committed text"),
    WEFT_PARAM_BOOL("keep", "true", "Keep the pool across requests"),
};

typedef struct lookahead {
    weft_state base;
    size_t W, N, G, per_key;
    bool history, keep;
    ngram_pool pool;
    uint64_t rng;
    /* the window: lv[j][i] is level j of column i */
    weft_token lv[MAX_N - 1][MAX_W];
    bool window_ready;
    /* the last draft: node index of each window row, columns used, size */
    int32_t aux_node[MAX_N - 1][MAX_W];
    size_t aux_w, tree_n;
} lookahead;

static void la_destroy(void *self) {
    lookahead *s = self;
    if (!s) return;
    ngram_pool_free(&s->pool);
    weft_state_free(s);
}

static weft_status la_create(const weft_env *env, const weft_value *args, void **self) {
    lookahead *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->W = (size_t)args[P_WINDOW].u.i;
    s->N = (size_t)args[P_NGRAM].u.i;
    s->G = (size_t)args[P_VERIFY].u.i;
    s->per_key = (size_t)args[P_POOL].u.i;
    s->history = args[P_HISTORY].u.b;
    s->keep = args[P_KEEP].u.b;
    *self = s;
    return WEFT_OK;
}

/* splitmix64: the window's random start, independent of the host's stream
 * so that drafting leaves the verifier's draws alone. */
static uint64_t mix(uint64_t *st) {
    uint64_t x = (*st += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The window starts as tokens drawn from the text (as llama.cpp does). */
static void fill_window(lookahead *s, const weft_token *h, size_t n) {
    s->rng = 0x10ca7eadull ^ n;
    for (size_t j = 0; j + 1 < s->N; j++)
        for (size_t i = 0; i < s->W; i++) s->lv[j][i] = h[mix(&s->rng) % n];
    s->window_ready = true;
}

static weft_status la_start(void *self, const weft_token *prompt, size_t n) {
    lookahead *s = self;
    if (!s->keep) ngram_pool_clear(&s->pool);
    s->window_ready = false;
    s->tree_n = s->aux_w = 0;
    if (n > 0) fill_window(s, prompt, n);
    return WEFT_OK;
}

/* Pools the n-grams of history that end at index >= from. */
static void pool_text(lookahead *s, const weft_token *h, size_t n, size_t from) {
    if (!s->history) return;
    size_t N = s->N;
    for (size_t e = from > N - 1 ? from : N - 1; e < n; e++) ngram_pool_add(&s->pool, h[e - N + 1], h + e - N + 2);
}

static weft_status la_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    lookahead *s = self;
    out->n_nodes = 0;
    s->tree_n = s->aux_w = 0;
    if (ctx->n_history == 0) return WEFT_OK;
    if (!s->pool.count) {
        if (!ngram_pool_init(&s->pool, s->base.env, ctx->n_vocab, s->N - 1, s->per_key)) return WEFT_ERR_NOMEM;
        pool_text(s, ctx->history, ctx->n_history, 0);
    }
    if (!s->window_ready) fill_window(s, ctx->history, ctx->n_history);
    size_t cap = ctx->max_nodes < out->capacity ? ctx->max_nodes : out->capacity;
    size_t levels = s->N - 1;
    /* the window takes at most half the budget, and must fit max_depth
     * (column i, level j is at depth i + j + 1) */
    size_t w = s->W;
    while (w > 0 && (w * levels > cap / 2 || w + levels - 1 > ctx->max_depth)) w--;
    size_t verify_cap = cap - w * levels;
    const weft_token *conts;
    size_t nc = ngram_pool_get(&s->pool, ctx->history[ctx->n_history - 1], &conts);
    for (size_t k = 0; k < nc && k < s->G && out->n_nodes < verify_cap; k++)
        weft_tree_insert_path(out, conts + k * levels, levels, verify_cap, ctx->max_depth);
    for (size_t j = 0; j < levels; j++)
        for (size_t i = 0; i < w; i++) {
            size_t at = out->n_nodes++;
            out->tokens[at] = s->lv[j][i];
            out->parents[at] = j ? s->aux_node[j - 1][i] : i ? s->aux_node[0][i - 1] : -1;
            out->flags[at] = WEFT_NODE_AUX;
            s->aux_node[j][i] = (int32_t)at;
        }
    s->aux_w = w;
    s->tree_n = out->n_nodes;
    return WEFT_OK;
}

static weft_token argmax(const float *row, int32_t n) {
    weft_token best = 0;
    for (int32_t t = 1; t < n; t++)
        if (row[t] > row[best]) best = t;
    return best;
}

/* One Jacobi iteration: the top level's logits give each column's next
 * guess; each column, bottom to top, plus that guess is an n-gram. */
static void jacobi_step(lookahead *s, const weft_observe *obs) {
    size_t levels = s->N - 1, top = levels - 1;
    weft_token next[MAX_W], gram[MAX_N];
    for (size_t i = 0; i < s->aux_w; i++)
        next[i] = argmax(obs->logits + (size_t)(s->aux_node[top][i] + 1) * (size_t)obs->n_vocab, obs->n_vocab);
    for (size_t i = 0; i < s->aux_w; i++) {
        for (size_t j = 1; j < levels; j++) gram[j - 1] = s->lv[j][i];
        gram[levels - 1] = next[i];
        ngram_pool_add(&s->pool, s->lv[0][i], gram);
        for (size_t j = 0; j < top; j++) s->lv[j][i] = s->lv[j + 1][i];
        s->lv[top][i] = next[i];
    }
}

static weft_status la_observe(void *self, const weft_observe *obs) {
    lookahead *s = self;
    if (!s->pool.count) return WEFT_OK;
    /* the evaluated tree is ours unless a wrapper or the grammar changed it */
    bool ours = s->aux_w > 0 && obs->tree->n_nodes == s->tree_n && obs->logits;
    for (size_t j = 0; ours && j + 1 < s->N; j++)
        for (size_t i = 0; ours && i < s->aux_w; i++) {
            int32_t at = s->aux_node[j][i];
            ours = (obs->tree->flags[at] & WEFT_NODE_AUX) && obs->tree->tokens[at] == s->lv[j][i];
        }
    if (ours) jacobi_step(s, obs);
    size_t n_new = obs->n_accepted + 1;
    pool_text(s, obs->history, obs->n_history, obs->n_history - n_new);
    s->tree_n = s->aux_w = 0;
    return WEFT_OK;
}

/* Action: bytes of the n-gram pool. */
static int64_t pool_bytes(void *self) { return (int64_t)ngram_pool_bytes(&((lookahead *)self)->pool); }

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "pool_bytes", .doc = "bytes of the n-gram pool",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))pool_bytes},
};

static const weft_drafter_vtable la_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = la_start,
    .draft = la_draft,
    .observe = la_observe,
};

static const weft_component_desc la_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "lookahead",
    .version = "1.0",
    .description = "Jacobi lookahead decoding: an n-gram pool filled by lookahead rows riding in the target batch",
    .flags = WEFT_CAP_TREES | WEFT_CAP_AUX_ROWS,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = la_create,
    .destroy = la_destroy,
    .vtable = &la_vtable,
};

static const weft_component_desc *const components[] = {&la_desc};
WEFT_PLUGIN_DEFINE(components)
