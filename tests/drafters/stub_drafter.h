/* A scripted drafter for testing drafters that nest others (fallback,
 * adaptive, a model drafter's guesser): it drafts a chain (or a fan under
 * the root) of a set length, and counts the calls it gets and the budgets
 * it was given. */
#ifndef WEFT_TEST_STUB_DRAFTER_H
#define WEFT_TEST_STUB_DRAFTER_H

#include "drafter_env.h"

typedef struct stub {
    int id;          /* drafts tokens id * 10 + i ... */
    const weft_token *script; /* ... or these, when set */
    size_t len;      /* nodes it wants to draft */
    bool fan;        /* all nodes under the root (depth 1) instead of a chain */
    bool with_q;     /* reports a draft distribution at the root */
    int starts, drafts, observes;
    size_t seen_nodes, seen_depth; /* budgets of the last draft() */
    const weft_observe *last_obs;
    weft_candidate q;
} stub;

static weft_status stub_start(void *self, const weft_token *prompt, size_t n) {
    (void)prompt, (void)n;
    ((stub *)self)->starts++;
    return WEFT_OK;
}

static weft_status stub_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    stub *s = self;
    s->drafts++;
    s->seen_nodes = ctx->max_nodes;
    s->seen_depth = ctx->max_depth;
    size_t n = s->len;
    if (n > ctx->max_nodes) n = ctx->max_nodes;
    if (n > out->capacity) n = out->capacity;
    if (!s->fan && n > ctx->max_depth) n = ctx->max_depth;
    if (s->fan && ctx->max_depth == 0) n = 0;
    for (size_t i = 0; i < n; i++) {
        out->tokens[i] = s->script ? s->script[i] : s->id * 10 + (weft_token)i;
        out->parents[i] = s->fan ? -1 : (int32_t)i - 1;
        if (s->with_q && out->draft_p) out->draft_p[i] = 0.5f;
    }
    if (s->with_q && out->draft_dists) {
        s->q = (weft_candidate){.id = s->id * 10, .p = 1};
        out->draft_dists[0] = (weft_dist){&s->q, 1};
    }
    out->n_nodes = n;
    return WEFT_OK;
}

static weft_status stub_observe(void *self, const weft_observe *obs) {
    stub *s = self;
    s->observes++;
    s->last_obs = obs;
    return WEFT_OK;
}

static const weft_drafter_vtable stub_vtable = {
    .struct_size = sizeof(weft_drafter_vtable), .start = stub_start, .draft = stub_draft, .observe = stub_observe};

static const weft_component_desc stub_desc = {
    .struct_size = sizeof(weft_component_desc), .abi_major = WEFT_ABI_MAJOR, .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER, .name = "stub", .version = "1.0", .description = "scripted test drafter",
    .create = NULL, .destroy = NULL, .vtable = &stub_vtable};

/* A live instance of s, as the host would hand it to a parent. */
static inline weft_instance stub_instance(stub *s, const weft_env *env) {
    return (weft_instance){.struct_size = sizeof(weft_instance), .desc = &stub_desc, .self = s, .env = env};
}

#endif
