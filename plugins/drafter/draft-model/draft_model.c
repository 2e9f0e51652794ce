/* draft-model: a smaller model drafts (Leviathan et al. 2023; Chen et al.
 * 2023), as a chain or as a tree grown best-first by draft probability
 * (DySpec, Xiong et al. 2024; sdk/expand.c). The draft model is any backend
 * plugin, nested in the drafter's config.
 *
 * Its cache follows the committed text: the drafter remembers which tokens
 * it holds, a chain. Each draft() first rolls it back to the longest prefix
 * that is still history (a new prompt, a rejection) and evaluates the
 * committed tokens it has not seen, ending with the root, in one batch.
 * observe() keeps the rows of the accepted nodes of its own tree (kv_keep)
 * and drops the rest, so no accepted token is evaluated twice. */
#include <string.h>

#include <weft/sdk.h>

enum { P_BACKEND, P_EXPAND, P_GUESS = P_EXPAND + WEFT_EXPAND_N_PARAMS };

static const weft_param_desc params[] = {
    {.struct_size = sizeof(weft_param_desc), .name = "backend", .type = WEFT_TYPE_COMPONENT,
     .flags = WEFT_PARAM_REQUIRED, .doc = "The draft model: any backend with the target's tokenizer",
     .nested_kind = WEFT_KIND_BACKEND},
    WEFT_EXPAND_PARAM_DESCS("6"),
    WEFT_GUESS_PARAM_DESCS("8"),
};

typedef struct draft_model {
    weft_state base;
    weft_instance *be;
    weft_expander x;
    weft_expand_config cfg;
    weft_guesser guesser;
    /* the tokens in the draft model's cache (a chain), then the rows of the
     * last tree, kept there until observe() says which were accepted */
    weft_token *held;
    size_t n_held, held_cap;
    size_t tree_rows;
    /* the last tree, to recognise it in observe() (a wrapper may evaluate
     * another drafter's tree, the grammar may prune it) */
    weft_token *tree_tok;
    int32_t *tree_par, *tree_row, *keep;
    size_t tree_n, tree_cap[4];
} draft_model;

static const weft_backend_vtable *bvt(const draft_model *s) { return s->be->desc->vtable; }

static void dm_destroy(void *self) {
    draft_model *s = self;
    if (!s) return;
    const weft_env *env = s->base.env;
    weft_expander_free(&s->x);
    weft_guesser_free(&s->guesser);
    void *all[] = {s->held, s->tree_tok, s->tree_par, s->tree_row, s->keep};
    for (size_t i = 0; i < WEFT_COUNT_OF(all); i++) weft_free(env, all[i]);
    weft_state_free(s);
}

static weft_status dm_create(const weft_env *env, const weft_value *args, void **self) {
    weft_instance *be = args[P_BACKEND].present ? args[P_BACKEND].u.component : NULL;
    if (!be || be->desc->kind != WEFT_KIND_BACKEND) {
        weft_error(env, "'backend' must be a backend");
        return WEFT_ERR_INVALID;
    }
    draft_model *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->be = be;
    weft_expander_init(&s->x, env);
    weft_expand_config_from(&s->cfg, args + P_EXPAND);
    weft_status st = weft_guesser_init(&s->guesser, env, args + P_GUESS);
    if (st != WEFT_OK) {
        dm_destroy(s);
        return st;
    }
    *self = s;
    return WEFT_OK;
}

/* Drops `n` newest cache rows. */
static weft_status drop(draft_model *s, size_t n) {
    if (n == 0) return WEFT_OK;
    weft_status st = bvt(s)->kv_keep(s->be->self, (int32_t)n, NULL, 0);
    if (st != WEFT_OK) weft_error(s->base.env, "the draft backend could not roll back %zu rows", n);
    return st;
}

static weft_status drop_tree(draft_model *s) {
    weft_status st = drop(s, s->tree_rows);
    s->tree_rows = 0;
    return st;
}

static weft_status dm_start(void *self, const weft_token *prompt, size_t n) {
    draft_model *s = self;
    weft_status st = drop_tree(s); /* draft() reuses the longest prefix still valid */
    return st == WEFT_OK ? weft_guesser_start(&s->guesser, prompt, n) : st;
}

static bool remember_tree(draft_model *s, const weft_tree *t) {
    const weft_env *env = s->base.env;
    size_t n = t->n_nodes;
    if (!weft_scratch_reserve(env, (void **)&s->tree_tok, &s->tree_cap[0], n, sizeof(weft_token)) ||
        !weft_scratch_reserve(env, (void **)&s->tree_par, &s->tree_cap[1], n, sizeof(int32_t)) ||
        !weft_scratch_reserve(env, (void **)&s->tree_row, &s->tree_cap[2], n, sizeof(int32_t)) ||
        !weft_scratch_reserve(env, (void **)&s->keep, &s->tree_cap[3], n, sizeof(int32_t)))
        return false;
    memcpy(s->tree_tok, t->tokens, n * sizeof *t->tokens);
    memcpy(s->tree_par, t->parents, n * sizeof *t->parents);
    memcpy(s->tree_row, s->x.row_of, n * sizeof *s->x.row_of);
    s->tree_n = n;
    return true;
}

static weft_status dm_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    draft_model *s = self;
    out->n_nodes = 0;
    weft_status st = drop_tree(s);
    if (st != WEFT_OK || ctx->n_history == 0) return st;
    /* roll the cache back to the longest prefix of the history it holds
     * (the root itself is not committed to it yet) */
    size_t n = ctx->n_history, k = 0, lim = s->n_held < n - 1 ? s->n_held : n - 1;
    while (k < lim && s->held[k] == ctx->history[k]) k++;
    if ((st = drop(s, s->n_held - k)) != WEFT_OK) return st;
    s->n_held = k;
    const weft_model_info *mi = bvt(s)->info(s->be->self);
    for (size_t i = k; i < n; i++)
        if (ctx->history[i] >= mi->n_vocab) {
            weft_error(s->base.env, "token %d is outside the draft model's vocabulary of %d (another tokenizer?)",
                       ctx->history[i], mi->n_vocab);
            return WEFT_ERR_INVALID;
        }
    /* room for the accepted nodes that observe() appends */
    if (!weft_scratch_reserve(s->base.env, (void **)&s->held, &s->held_cap, n + ctx->max_nodes + 1, sizeof *s->held))
        return WEFT_ERR_NOMEM;
    weft_draft_ctx c;
    weft_expand_params p = weft_expand_config_step(&s->cfg, ctx, &c);
    if ((st = weft_guesser_guess(&s->guesser, ctx, &p)) != WEFT_OK) return st;
    st = weft_expand(&s->x, s->be, &p, ctx->history + k, n - k, (int32_t)k, &c, out);
    if (s->x.n_evals > 0) { /* the pending tokens are in the cache now */
        memcpy(s->held + k, ctx->history + k, (n - k) * sizeof *s->held);
        s->n_held = n;
        s->tree_rows = s->x.n_rows;
    }
    if (st != WEFT_OK) {
        out->n_nodes = 0;
        drop_tree(s);
        return st;
    }
    if (!remember_tree(s, out)) {
        out->n_nodes = 0;
        return WEFT_ERR_NOMEM;
    }
    return WEFT_OK;
}

static bool same_tree(const draft_model *s, const weft_tree *t) {
    if (t->n_nodes != s->tree_n) return false;
    return !memcmp(t->tokens, s->tree_tok, s->tree_n * sizeof *t->tokens) &&
           !memcmp(t->parents, s->tree_par, s->tree_n * sizeof *t->parents);
}

static weft_status dm_observe(void *self, const weft_observe *obs) {
    draft_model *s = self;
    weft_expand_config_observe(&s->cfg, obs);
    weft_status gst = weft_guesser_observe(&s->guesser, obs);
    if (gst != WEFT_OK) return gst;
    if (!s->tree_rows) return WEFT_OK;
    if (!same_tree(s, obs->tree)) return drop_tree(s);
    /* keep the accepted path's rows, as far as they were evaluated */
    size_t nk = 0;
    for (size_t i = 0; i < obs->n_accepted && s->tree_row[obs->accepted[i]] >= 0; i++) {
        s->keep[nk++] = s->tree_row[obs->accepted[i]];
        s->held[s->n_held + i] = obs->tree->tokens[obs->accepted[i]];
    }
    weft_status st = bvt(s)->kv_keep(s->be->self, (int32_t)s->tree_rows, s->keep, (int32_t)nk);
    s->tree_rows = 0;
    if (st != WEFT_OK) {
        weft_error(s->base.env, "the draft backend could not keep the accepted rows");
        return st;
    }
    s->n_held += nk;
    return WEFT_OK;
}

/* Action: entries in the draft model's cache. */
static int64_t kv_len(void *self) {
    draft_model *s = self;
    return bvt(s)->kv_len(s->be->self);
}

/* Action: committed tokens the draft model's cache holds (kv_len between
 * steps). */
static int64_t held(void *self) { return (int64_t)((draft_model *)self)->n_held; }

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "kv_len", .doc = "entries in the draft model's cache",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))kv_len},
    {.struct_size = sizeof(weft_action_desc), .name = "held", .doc = "committed tokens the draft cache holds",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))held},
};

static const weft_drafter_vtable dm_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = dm_start,
    .draft = dm_draft,
    .observe = dm_observe,
};

static const weft_component_desc dm_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "draft-model",
    .version = "1.0",
    .description = "Draft with a smaller model (a nested backend): chains, or trees grown by draft probability",
    .flags = WEFT_CAP_TREES | WEFT_CAP_DRAFT_PROBS,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = dm_create,
    .destroy = dm_destroy,
    .vtable = &dm_vtable,
};

static const weft_component_desc *const components[] = {&dm_desc};
WEFT_PLUGIN_DEFINE(components)
