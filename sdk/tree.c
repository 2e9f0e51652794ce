/* Draft-tree walking shared by verifiers and drafters. */
#include <math.h>

#include "weft/sdk.h"

int32_t weft_tree_next_child(const weft_tree *t, int32_t parent, int32_t after) {
    for (size_t i = (size_t)(after + 1); i < t->n_nodes; i++) {
        if (t->parents[i] != parent) continue;
        if (t->flags && (t->flags[i] & WEFT_NODE_AUX)) continue;
        return (int32_t)i;
    }
    return -1;
}

size_t weft_tree_insert_path(weft_tree *t, const weft_token *path, size_t n, size_t max_nodes, size_t max_depth) {
    if (max_nodes > t->capacity) max_nodes = t->capacity;
    int32_t at = -1;
    size_t d = 0;
    for (; d < n && d < max_depth; d++) {
        int32_t c = weft_tree_next_child(t, at, at);
        while (c >= 0 && t->tokens[c] != path[d]) c = weft_tree_next_child(t, at, c);
        if (c < 0) {
            if (t->n_nodes >= max_nodes) break;
            c = (int32_t)t->n_nodes++;
            t->tokens[c] = path[d];
            t->parents[c] = at;
            if (t->flags) t->flags[c] = 0;
            if (t->draft_p) t->draft_p[c] = (float)NAN;
        }
        at = c;
    }
    return d;
}
