/* Token Recycling's adjacency matrix (adjacency.h). */
#include "adjacency.h"

#include <math.h>
#include <string.h>

void adj_init(adjacency *a, const weft_env *env, size_t k) {
    memset(a, 0, sizeof *a);
    a->env = env;
    a->k = k;
}

void adj_free(adjacency *a) {
    weft_free(a->env, a->next);
    weft_free(a->env, a->top);
    adj_init(a, a->env, a->k);
}

void adj_clear(adjacency *a) {
    if (a->next) memset(a->next, 0xff, a->n_vocab * a->k * sizeof *a->next); /* all -1 */
}

weft_status adj_reserve(adjacency *a, size_t n_vocab) {
    if (n_vocab == a->n_vocab && a->next) return WEFT_OK;
    adj_free(a);
    a->next = weft_alloc(a->env, n_vocab * a->k * sizeof *a->next);
    a->top = weft_alloc(a->env, a->k * sizeof *a->top);
    if (!a->next || !a->top) {
        adj_free(a);
        weft_error(a->env, "out of memory for a %zu x %zu adjacency table", n_vocab, a->k);
        return WEFT_ERR_NOMEM;
    }
    a->n_vocab = n_vocab;
    adj_clear(a);
    return WEFT_OK;
}

const weft_token *adj_row(const adjacency *a, weft_token t) {
    return t >= 0 && (size_t)t < a->n_vocab ? a->next + (size_t)t * a->k : NULL;
}

/* Insertion into a sorted k-list: O(n_vocab) for the row with k small, and
 * strict comparisons keep the lower id on ties. */
void adj_update(adjacency *a, weft_token t, const float *logits) {
    if (t < 0 || (size_t)t >= a->n_vocab) return;
    weft_token *row = a->next + (size_t)t * a->k;
    float *top = a->top;
    size_t n = 0, k = a->k;
    for (size_t i = 0; i < a->n_vocab; i++) {
        float v = logits[i];
        if (!(v > -INFINITY) || (n == k && !(v > top[k - 1]))) continue; /* NaN fails both tests */
        size_t j = n < k ? n++ : k - 1;
        for (; j > 0 && v > top[j - 1]; j--) top[j] = top[j - 1], row[j] = row[j - 1];
        top[j] = v;
        row[j] = (weft_token)i;
    }
    for (size_t j = n; j < k; j++) row[j] = -1;
}

void adj_seed(adjacency *a, const weft_token *h, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        weft_token *row = (weft_token *)adj_row(a, h[i]);
        if (row && row[0] < 0 && h[i + 1] >= 0 && (size_t)h[i + 1] < a->n_vocab) row[0] = h[i + 1];
    }
}

size_t adj_bytes(const adjacency *a) { return a->n_vocab * a->k * sizeof *a->next + a->k * sizeof *a->top; }
