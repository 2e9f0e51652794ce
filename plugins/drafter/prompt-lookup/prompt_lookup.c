/* prompt-lookup: prompt lookup decoding (Saxena 2023, "Prompt Lookup
 * Decoding", github.com/apoorvumang/prompt-lookup-decoding). Output often
 * copies spans of its context (code edits, summaries, RAG answers): find the
 * most recent earlier occurrence of the last n tokens and propose what
 * followed it, as a chain. Longer n first, since a longer match predicts
 * better. No model, so no draft probabilities. */
#include <math.h>

#include <weft/sdk.h>

typedef struct prompt_lookup {
    weft_state base;
    size_t min_n, max_n, max_draft;
} prompt_lookup;

static const weft_param_desc params[] = {
    WEFT_PARAM_INT_MIN("min_n", 1, "1", "Shortest suffix n-gram to look up"),
    WEFT_PARAM_INT_MIN("max_n", 1, "3", "Longest suffix n-gram to look up (tried first)"),
    WEFT_PARAM_INT_MIN("max_draft", 1, "8", "Most tokens to propose per step"),
};

static weft_status pl_create(const weft_env *env, const weft_value *args, void **self) {
    int64_t min_n = args[0].u.i, max_n = args[1].u.i, max_draft = args[2].u.i;
    if (min_n < 1 || max_n < min_n || max_draft < 1) {
        weft_error(env, "need 1 <= min_n <= max_n and max_draft >= 1, got %lld, %lld, %lld",
                   (long long)min_n, (long long)max_n, (long long)max_draft);
        return WEFT_ERR_INVALID;
    }
    prompt_lookup *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->min_n = (size_t)min_n;
    s->max_n = (size_t)max_n;
    s->max_draft = (size_t)max_draft;
    *self = s;
    return WEFT_OK;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static weft_status pl_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    const prompt_lookup *s = self;
    const size_t len = ctx->n_history;
    size_t budget = min_size(min_size(s->max_draft, ctx->max_nodes),
                             min_size(ctx->max_depth, out->capacity));
    out->n_nodes = 0;
    if (budget == 0) return WEFT_OK;
    size_t from = 0;
    const size_t count = weft_lookup_continuation(ctx->history, len, s->min_n, s->max_n, budget, &from);
    for (size_t i = 0; i < count; i++) {
        out->tokens[i] = ctx->history[from + i];
        out->parents[i] = (int32_t)i - 1;
        if (out->flags) out->flags[i] = 0;
        if (out->draft_p) out->draft_p[i] = NAN;
    }
    out->n_nodes = count;
    return WEFT_OK;
}

static const weft_drafter_vtable pl_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .draft = pl_draft,
};

static const weft_component_desc pl_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "prompt-lookup",
    .version = "1.0",
    .description = "Draft the continuation of the latest earlier match of the last n tokens",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = pl_create,
    .destroy = weft_state_free,
    .vtable = &pl_vtable,
};

static const weft_component_desc *const components[] = {&pl_desc};
WEFT_PLUGIN_DEFINE(components)
