/* Guesses for model drafters (sdk.h, weft_guesser): tokens expected to
 * follow the root, which weft_expand evaluates in its first batch, so that
 * where the drafting model agrees with them its chain grows without an
 * eval per token. They come from a nested drafter (its first chain) or from
 * n-gram lookup in the text (sdk/lookup.c). */
#include <math.h>

#include "weft/sdk.h"

static const weft_drafter_vtable *from_vt(const weft_guesser *g) { return g->from->desc->vtable; }

weft_status weft_guesser_init(weft_guesser *g, const weft_env *env, const weft_value *args) {
    *g = (weft_guesser){.env = env, .max = (size_t)args[0].u.i};
    /* with no guesses, a guesser would follow the text for nothing */
    g->from = args[1].present && g->max > 0 ? args[1].u.component : NULL;
    if (g->from && g->from->desc->kind != WEFT_KIND_DRAFTER) {
        weft_error(env, "'guess_from' must be a drafter");
        return WEFT_ERR_INVALID;
    }
    if (!g->from) return WEFT_OK;
    weft_tree *t = &g->tree;
    const size_t n = g->max + 1;
    *t = (weft_tree){.struct_size = sizeof *t, .capacity = g->max};
    t->tokens = weft_calloc(env, n, sizeof *t->tokens);
    t->parents = weft_calloc(env, n, sizeof *t->parents);
    t->flags = weft_calloc(env, n, sizeof *t->flags);
    t->draft_p = weft_calloc(env, n, sizeof *t->draft_p);
    t->draft_dists = weft_calloc(env, n, sizeof *t->draft_dists);
    g->chain = weft_calloc(env, n, sizeof *g->chain);
    if (!t->tokens || !t->parents || !t->flags || !t->draft_p || !t->draft_dists || !g->chain) {
        weft_guesser_free(g);
        weft_error(env, "out of memory for %zu guesses", g->max);
        return WEFT_ERR_NOMEM;
    }
    return WEFT_OK;
}

void weft_guesser_free(weft_guesser *g) {
    void *bufs[] = {g->tree.tokens, g->tree.parents, g->tree.flags, g->tree.draft_p, g->tree.draft_dists, g->chain};
    for (size_t i = 0; i < WEFT_COUNT_OF(bufs); i++) weft_free(g->env, bufs[i]);
    g->tree = (weft_tree){0};
    g->chain = NULL;
}

weft_status weft_guesser_start(weft_guesser *g, const weft_token *prompt, size_t n) {
    if (!g->from || !WEFT_HAS_METHOD(from_vt(g), weft_drafter_vtable, start)) return WEFT_OK;
    return from_vt(g)->start(g->from->self, prompt, n);
}

weft_status weft_guesser_observe(weft_guesser *g, const weft_observe *obs) {
    if (!g->from || !WEFT_HAS_METHOD(from_vt(g), weft_drafter_vtable, observe)) return WEFT_OK;
    return from_vt(g)->observe(g->from->self, obs);
}

weft_status weft_guesser_guess(weft_guesser *g, const weft_draft_ctx *ctx, weft_expand_params *p) {
    p->guess = NULL;
    p->n_guess = 0;
    if (g->max == 0) return WEFT_OK;
    if (!g->from) {
        size_t from = 0;
        p->n_guess = weft_lookup_continuation(ctx->history, ctx->n_history, 1, 3, g->max, &from);
        p->guess = ctx->history + from;
        return WEFT_OK;
    }
    weft_tree *t = &g->tree;
    t->n_nodes = 0;
    for (size_t i = 0; i < g->max; i++) t->flags[i] = 0, t->draft_p[i] = NAN;
    for (size_t i = 0; i <= g->max; i++) t->draft_dists[i] = (weft_dist){0};
    weft_draft_ctx c = *ctx;
    if (c.max_nodes > g->max) c.max_nodes = g->max;
    weft_status st = from_vt(g)->draft(g->from->self, &c, t);
    if (st != WEFT_OK) return st;
    for (int32_t at = weft_tree_next_child(t, -1, -1); at >= 0; at = weft_tree_next_child(t, at, at))
        g->chain[p->n_guess++] = t->tokens[at];
    p->guess = g->chain;
    return WEFT_OK;
}
