/* token-recycling: Token Recycling (Luo et al. 2024, "Turning Trash into
 * Treasure: Accelerating Inference of Large Language Models with Token
 * Recycling"). The candidates a target evaluation produces and decoding
 * throws away are kept: after every step, each evaluated position's token
 * gets the top-k of that position's logits as its row of an adjacency
 * matrix, rejected branches included. A draft fills a static tree shape from
 * the root by breadth-first lookups in that matrix (§3.2). The matrix
 * outlives requests, as in the paper, unless `keep` is false; an empty row
 * is first seeded from the prompt's own bigrams. No draft probabilities:
 * siblings are a row's distinct entries, as the lossless q = δ rule needs. */
#include <math.h>

#include "adjacency.h"
#include "tree_template.h"

enum { P_K, P_TREE, P_KEEP, P_SEED_PROMPT };

static const weft_param_desc params[] = {
    WEFT_PARAM_INT("k", 1, 64, "8", "Candidates kept per token (columns of the adjacency matrix)"),
    /* no declared default: the paper's tree is built in (tree_template.c) */
    WEFT_PARAM("tree", WEFT_TYPE_JSON, 0, 0, 0, NULL,
               "Tree shape: paths of sibling ranks, or branching factors per depth (default: the paper's 80 nodes)"),
    WEFT_PARAM_BOOL("keep", "true", "Keep the matrix across requests (false: start each request empty)"),
    WEFT_PARAM_BOOL("seed_prompt", "true", "Fill empty rows from the prompt's bigrams at the start of a request"),
};

typedef struct token_recycling {
    weft_state base;
    adjacency adj;
    tree_template shape;
    int32_t node_of[TEMPLATE_MAX_NODES]; /* template node -> drafted node, -1 when left out */
    bool keep, seed_prompt, pending_seed;
} token_recycling;

static void tr_destroy(void *self) {
    token_recycling *s = self;
    if (!s) return;
    adj_free(&s->adj);
    weft_state_free(s);
}

static weft_status tr_create(const weft_env *env, const weft_value *args, void **self) {
    token_recycling *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    adj_init(&s->adj, env, (size_t)args[P_K].u.i);
    s->keep = args[P_KEEP].u.b;
    s->seed_prompt = args[P_SEED_PROMPT].u.b;
    weft_status st = tree_template_parse(&s->shape, env, args[P_TREE].present ? args[P_TREE].u.json : NULL, s->adj.k);
    if (st != WEFT_OK) {
        tr_destroy(s);
        return st;
    }
    *self = s;
    return WEFT_OK;
}

static weft_status tr_start(void *self, const weft_token *prompt, size_t n) {
    (void)prompt, (void)n; /* seeded at the first draft, when the vocabulary is known */
    token_recycling *s = self;
    if (!s->keep) adj_clear(&s->adj);
    s->pending_seed = s->seed_prompt;
    return WEFT_OK;
}

static weft_status tr_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    token_recycling *s = self;
    out->n_nodes = 0;
    if (ctx->n_vocab <= 0 || ctx->n_history == 0) return WEFT_OK;
    weft_status st = adj_reserve(&s->adj, (size_t)ctx->n_vocab);
    if (st != WEFT_OK) return st;
    if (s->pending_seed) adj_seed(&s->adj, ctx->history, ctx->n_prompt);
    s->pending_seed = false;
    const weft_token root = ctx->history[ctx->n_history - 1];
    const tree_template *t = &s->shape;
    size_t nodes = ctx->max_nodes < out->capacity ? ctx->max_nodes : out->capacity, n = 0;
    for (size_t j = 0; j < t->n && n < nodes; j++) {
        int32_t p = t->parent[j];
        s->node_of[j] = -1;
        if (t->depth[j] > ctx->max_depth || (p >= 0 && s->node_of[p] < 0)) continue;
        const weft_token *row = adj_row(&s->adj, p < 0 ? root : out->tokens[s->node_of[p]]);
        if (!row || row[t->rank[j]] < 0) continue;
        out->tokens[n] = row[t->rank[j]];
        out->parents[n] = p < 0 ? -1 : s->node_of[p];
        if (out->flags) out->flags[n] = 0;
        if (out->draft_p) out->draft_p[n] = NAN;
        s->node_of[j] = (int32_t)n++;
    }
    out->n_nodes = n;
    return WEFT_OK;
}

/* Every evaluated position recycles its candidates: the root (the token
 * before the accepted path and the next token) and each node of the tree. */
static weft_status tr_observe(void *self, const weft_observe *obs) {
    token_recycling *s = self;
    if (!obs->logits || obs->n_vocab <= 0 || obs->n_history < obs->n_accepted + 2) return WEFT_OK;
    weft_status st = adj_reserve(&s->adj, (size_t)obs->n_vocab);
    if (st != WEFT_OK) return st;
    const size_t nv = (size_t)obs->n_vocab;
    adj_update(&s->adj, obs->history[obs->n_history - obs->n_accepted - 2], obs->logits);
    const weft_tree *t = obs->tree;
    for (size_t i = 0; t && i < t->n_nodes; i++)
        if (!(t->flags && (t->flags[i] & WEFT_NODE_AUX))) adj_update(&s->adj, t->tokens[i], obs->logits + (i + 1) * nv);
    return WEFT_OK;
}

/* Action: bytes of the adjacency matrix (the paper: < 2 MB at 32k x 8). */
static int64_t table_bytes(void *self) { return (int64_t)adj_bytes(&((token_recycling *)self)->adj); }

/* Action: nodes in the tree shape. */
static int64_t tree_nodes(void *self) { return (int64_t)((token_recycling *)self)->shape.n; }

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "table_bytes", .doc = "bytes of the adjacency matrix",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))table_bytes},
    {.struct_size = sizeof(weft_action_desc), .name = "tree_nodes", .doc = "nodes in the tree shape",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))tree_nodes},
};

static const weft_drafter_vtable tr_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = tr_start,
    .draft = tr_draft,
    .observe = tr_observe,
};

static const weft_component_desc tr_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "token-recycling",
    .version = "1.0",
    .description = "Draft a tree from the top-k candidates the target produced at past positions (Token Recycling)",
    .flags = WEFT_CAP_TREES,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = tr_create,
    .destroy = tr_destroy,
    .vtable = &tr_vtable,
};

static const weft_component_desc *const components[] = {&tr_desc};
WEFT_PLUGIN_DEFINE(components)
