/* weft plugin ABI — token distributions and the draft tree, the data that
 * flows between the core, samplers, drafters and verifiers. */
#ifndef WEFT_DIST_H
#define WEFT_DIST_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One candidate token. Samplers edit `logit` and may drop candidates; `p` is
 * valid only where a producer says so (weft_dist: always). */
typedef struct weft_candidate {
    weft_token id;
    float logit;
    float p;
} weft_candidate;

/* A mutable candidate set, as samplers see it. Samplers may reorder, shrink
 * (size) and edit entries, never grow beyond the initial size. */
typedef struct weft_candidates {
    size_t struct_size;
    weft_candidate *data;
    size_t size;
    bool sorted; /* data is sorted by logit, descending */
} weft_candidates;

/* A normalised distribution: the candidates with p > 0 (p sums to 1), as the
 * core hands them to verifiers. size == 0 means "unknown" (e.g. a drafter
 * with no draft probabilities). */
typedef struct weft_dist {
    const weft_candidate *data;
    size_t size;
} weft_dist;

/* Node flags. */
#define WEFT_NODE_AUX (1u << 0) /* auxiliary row (e.g. lookahead branch): evaluated,
                                   its logits returned to the drafter, never verified */

/* A draft tree. Positions: 0 is the root (the last committed token, whose
 * successor is being decided); node i (0-based) is position i + 1.
 * parents[i] is the node index of node i's parent, or -1 for a child of the
 * root; parents[i] < i (topological order). A chain is parents[i] = i - 1. */
typedef struct weft_tree {
    size_t struct_size;
    size_t n_nodes;     /* nodes filled */
    size_t capacity;    /* arrays below hold this many entries */
    weft_token *tokens;
    int32_t *parents;
    uint32_t *flags;    /* WEFT_NODE_* */
    float *draft_p;     /* q(token | path to parent); NaN when unknown */
    /* Optional draft distributions, one per position (capacity + 1 entries):
     * the distribution the children of that position were drawn from.
     * NULL, or entries with size 0, when the drafter has none. Memory behind
     * the entries belongs to the drafter until its next draft() call. */
    weft_dist *draft_dists;
} weft_tree;

#ifdef __cplusplus
}
#endif
#endif /* WEFT_DIST_H */
