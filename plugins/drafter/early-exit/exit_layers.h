/* The exit layers early-exit chooses among (early_exit.c): the arms of its
 * bandit. */
#ifndef WEFT_EXIT_LAYERS_H
#define WEFT_EXIT_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#define EXIT_MAX_LAYERS 32 /* = WEFT_BANDIT_MAX_ARMS */

/* The candidate exit layers L (run layers [0, L), then the head) for a model
 * of n_layers: the `asked` ones (n_asked > 0) that lie in [1, n_layers),
 * else every layer in [1, n_layers), thinned evenly to at most 8 when there
 * are more. Ascending, distinct; returns the count (0 for a one-layer model,
 * which has nothing to exit early from). */
size_t exit_layers(int32_t n_layers, const int64_t *asked, size_t n_asked, int32_t *out);

#endif
