/* Token Recycling's adjacency matrix (Luo et al. 2024, "Turning Trash into
 * Treasure: Accelerating Inference of Large Language Models with Token
 * Recycling", §3.1): for every token, the k most likely next tokens the
 * target gave the last time that token was evaluated. n_vocab x k ids, -1
 * where nothing is known yet; a row's known entries form a prefix, best
 * first, and are distinct. */
#ifndef WEFT_ADJACENCY_H
#define WEFT_ADJACENCY_H

#include <weft/sdk.h>

typedef struct adjacency {
    const weft_env *env;
    weft_token *next; /* n_vocab rows of k */
    size_t n_vocab, k;
    float *top; /* k scratch scores for the selection */
} adjacency;

void adj_init(adjacency *a, const weft_env *env, size_t k);
void adj_free(adjacency *a);
/* Sizes the table for n_vocab tokens (a change of vocabulary empties it). */
weft_status adj_reserve(adjacency *a, size_t n_vocab);
/* Forgets every row. */
void adj_clear(adjacency *a);
/* Row t <- the k highest logits of `logits` (n_vocab of them), best first,
 * the lower id first on ties; NaN and -inf never enter. */
void adj_update(adjacency *a, weft_token t, const float *logits);
/* Bigrams of h[0..n) fill rows that know nothing yet (cold start). */
void adj_seed(adjacency *a, const weft_token *h, size_t n);
/* Row t (k entries), or NULL when t is outside the table. */
const weft_token *adj_row(const adjacency *a, weft_token t);
size_t adj_bytes(const adjacency *a);

#endif
