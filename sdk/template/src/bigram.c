/* example-bigram: drafts a chain by following, from the last token, the
 * token that came after each one most recently in this sequence. Cheap
 * n-gram drafting in the spirit of prompt lookup (Saxena 2023); it has no
 * draft probabilities, so verifiers treat its tokens as deterministic.
 *
 * Shows the drafter's life cycle: start() for a new sequence, draft() within
 * the step's budget, observe() for the outcome (here: acceptance counts,
 * readable through the "acceptance" action). */
#include <string.h>

#include <weft/sdk.h>

typedef struct bigram {
    weft_state base;
    size_t max_depth;
    weft_token *after; /* after[t]: the token that last followed t, or -1 */
    size_t cap;        /* entries allocated in `after` */
    size_t seen;       /* history tokens folded into `after` */
    int64_t drafted, accepted;
} bigram;

static const weft_param_desc params[] = {
    WEFT_PARAM_INT("max_depth", 1, 64, "6", "Longest chain to draft"),
};

static weft_status bg_create(const weft_env *env, const weft_value *args, void **self) {
    bigram *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->max_depth = (size_t)args[0].u.i;
    *self = s;
    return WEFT_OK;
}

static void bg_destroy(void *self) {
    bigram *s = self;
    if (s) weft_free(s->base.env, s->after);
    weft_state_free(s);
}

/* Brings the table up to date with the history; allocates only when the
 * vocabulary is first seen. */
static bool fold(bigram *s, const weft_token *h, size_t n, int32_t n_vocab) {
    if (s->cap < (size_t)n_vocab) {
        size_t old = s->cap;
        if (!weft_scratch_reserve(s->base.env, (void **)&s->after, &s->cap, (size_t)n_vocab, sizeof *s->after))
            return false;
        memset(s->after + old, 0xff, (s->cap - old) * sizeof *s->after); /* -1: nothing yet */
    }
    if (n < s->seen) s->seen = 0; /* a new sequence without start() */
    for (size_t i = s->seen ? s->seen : 1; i < n; i++)
        if (h[i - 1] >= 0 && h[i - 1] < n_vocab) s->after[h[i - 1]] = h[i];
    s->seen = n;
    return true;
}

static weft_status bg_start(void *self, const weft_token *prompt, size_t n) {
    bigram *s = self;
    (void)prompt, (void)n;
    if (s->after) memset(s->after, 0xff, s->cap * sizeof *s->after);
    s->seen = 0; /* draft() folds the prompt in: it knows n_vocab */
    return WEFT_OK;
}

static weft_status bg_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    bigram *s = self;
    out->n_nodes = 0;
    if (ctx->n_history == 0) return WEFT_OK;
    if (!fold(s, ctx->history, ctx->n_history, ctx->n_vocab)) return WEFT_ERR_NOMEM;
    size_t budget = ctx->max_nodes < ctx->max_depth ? ctx->max_nodes : ctx->max_depth;
    if (budget > s->max_depth) budget = s->max_depth;
    weft_token t = ctx->history[ctx->n_history - 1];
    while (out->n_nodes < budget && t >= 0 && t < ctx->n_vocab && s->after[t] >= 0) {
        size_t i = out->n_nodes++;
        out->tokens[i] = t = s->after[t];
        out->parents[i] = (int32_t)i - 1; /* a chain */
    }
    s->drafted += (int64_t)out->n_nodes;
    return WEFT_OK;
}

static weft_status bg_observe(void *self, const weft_observe *obs) {
    ((bigram *)self)->accepted += (int64_t)obs->n_accepted;
    return WEFT_OK;
}

/* Action: accepted / drafted tokens so far (`weft call PIPE /drafter acceptance`). */
static double bg_acceptance(void *self) {
    const bigram *s = self;
    return s->drafted ? (double)s->accepted / (double)s->drafted : 0.0;
}

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "acceptance", .doc = "accepted / drafted tokens so far",
     .ret = WEFT_TYPE_DOUBLE, .fn = (void (*)(void))bg_acceptance},
};

static const weft_drafter_vtable bg_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = bg_start,
    .draft = bg_draft,
    .observe = bg_observe,
};

static const weft_component_desc bg_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "example-bigram",
    .version = "1.0",
    .description = "Drafts a chain from the most recent successor of each token (template example)",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = bg_create,
    .destroy = bg_destroy,
    .vtable = &bg_vtable,
};

static const weft_component_desc *const components[] = {&bg_desc};
WEFT_PLUGIN_DEFINE(components)
