/* The static draft-tree shape Token Recycling fills from its adjacency
 * table (Luo et al. 2024, §3.2). A node is a path of sibling ranks from the
 * root: [0, 2] is the 3rd candidate after the root's best candidate.
 *
 * Written in the pipeline as either
 *   - a list of paths, e.g. [[0], [1], [0, 0]] (the paper's form), or
 *   - a list of branching factors per depth, e.g. [4, 2, 1] (a full tree).
 * Nodes are ordered by the sum of their ranks, then depth, then path, so a
 * parent always precedes its children and a smaller node budget keeps the
 * likeliest paths: the best-first chain comes first, then its alternatives. */
#ifndef WEFT_TREE_TEMPLATE_H
#define WEFT_TREE_TEMPLATE_H

#include <weft/sdk.h>

#define TEMPLATE_MAX_NODES 1024
#define TEMPLATE_MAX_DEPTH 64

typedef struct tree_template {
    size_t n;
    int32_t parent[TEMPLATE_MAX_NODES]; /* template index, -1 for the root */
    uint8_t rank[TEMPLATE_MAX_NODES];   /* which candidate of the parent's row */
    uint8_t depth[TEMPLATE_MAX_NODES];  /* 1 for the root's children */
} tree_template;

/* Parses the JSON parameter (NULL: the paper's 80-node tree, less the
 * nodes that need a rank >= k); every rank must be < k. Errors name the JSON
 * pointer of the offending value. */
weft_status tree_template_parse(tree_template *t, const weft_env *env, const weft_json *j, size_t k);

#endif
