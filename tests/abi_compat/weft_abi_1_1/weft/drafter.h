/* weft plugin ABI — the drafter kind: proposes a draft tree.
 *
 * Each step the core asks for a tree under the root (the last committed
 * token), evaluates it with the target, verifies, commits, and tells the
 * drafter what happened through observe(). A chain is a tree. Drafters may
 * add auxiliary rows (WEFT_NODE_AUX, capability WEFT_CAP_AUX_ROWS): they ride
 * in the same target batch, are never verified, and their logits come back in
 * observe(). */
#ifndef WEFT_DRAFTER_H
#define WEFT_DRAFTER_H

#include "dist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_draft_ctx {
    size_t struct_size;
    const weft_token *history; /* committed tokens, prompt first; the last is the root */
    size_t n_history;
    size_t n_prompt;
    size_t max_nodes;  /* budget for this step (<= tree capacity) */
    size_t max_depth;  /* deepest path allowed */
    int32_t n_vocab;
    weft_instance *target; /* the target backend (for self-speculation); do not
                              eval through it except with n_layers_run > 0 and
                              a matching kv_keep rollback */
    weft_rng *rng;
} weft_draft_ctx;

typedef struct weft_observe {
    size_t struct_size;
    const weft_tree *tree;       /* the tree as evaluated (aux rows included) */
    const int32_t *accepted;     /* node indices of the accepted path, root to leaf */
    size_t n_accepted;
    weft_token next;             /* the token sampled after the accepted path */
    /* Target distributions per position (tree->n_nodes + 1 entries; aux
     * positions have size 0) after samplers and grammar. */
    const weft_dist *target;
    /* Raw target logits per position ((n_nodes + 1) * n_vocab floats). */
    const float *logits;
    int32_t n_vocab;
    const weft_token *history;   /* committed tokens after this step */
    size_t n_history;
    double eval_seconds;         /* wall time of this step's target evaluation */
    double draft_seconds;        /* wall time of this step's draft() call */
} weft_observe;

typedef struct weft_drafter_vtable {
    size_t struct_size;
    /* Optional: a new sequence begins with this prompt (already prefilled). */
    weft_status (*start)(void *self, const weft_token *prompt, size_t n);
    /* Fill out->tokens/parents/flags (and draft_p/draft_dists if it can) for
     * at most ctx->max_nodes nodes; n_nodes = 0 means "no draft". */
    weft_status (*draft)(void *self, const weft_draft_ctx *ctx, weft_tree *out);
    /* Optional: the outcome of the last draft. */
    weft_status (*observe)(void *self, const weft_observe *obs);
} weft_drafter_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WEFT_DRAFTER_H */
