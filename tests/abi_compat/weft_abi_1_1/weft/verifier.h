/* weft plugin ABI — the verifier kind: picks the accepted path of a draft
 * tree and the token that follows it.
 *
 * The core hands it the tree (auxiliary rows removed) and the target
 * distribution at every position (after samplers and grammar). A verifier that
 * sets WEFT_CAP_LOSSLESS promises that the committed tokens are distributed
 * exactly as sampling the target one token at a time would be. */
#ifndef WEFT_VERIFIER_H
#define WEFT_VERIFIER_H

#include "dist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_verify_ctx {
    size_t struct_size;
    const weft_tree *tree;
    const weft_dist *target; /* tree->n_nodes + 1 entries, one per position */
    weft_rng *rng;
} weft_verify_ctx;

typedef struct weft_verify_result {
    size_t struct_size;
    int32_t *accepted; /* out: node indices root to leaf; capacity tree->n_nodes */
    size_t n_accepted;
    weft_token next;   /* out: bonus / correction token after the accepted path */
} weft_verify_result;

typedef struct weft_verifier_vtable {
    size_t struct_size;
    weft_status (*verify)(void *self, const weft_verify_ctx *ctx, weft_verify_result *out);
} weft_verifier_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WEFT_VERIFIER_H */
