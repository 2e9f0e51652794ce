/* Draft-tree walking shared by verifiers and drafters. */
#include "weft/sdk.h"

int32_t weft_tree_next_child(const weft_tree *t, int32_t parent, int32_t after) {
    for (size_t i = (size_t)(after + 1); i < t->n_nodes; i++) {
        if (t->parents[i] != parent) continue;
        if (t->flags && (t->flags[i] & WEFT_NODE_AUX)) continue;
        return (int32_t)i;
    }
    return -1;
}
