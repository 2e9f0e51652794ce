/* The lookahead n-gram pool (ngram_pool.h). */
#include "ngram_pool.h"

#include <string.h>

bool ngram_pool_init(ngram_pool *p, const weft_env *env, int32_t n_vocab, size_t len, size_t per_key) {
    memset(p, 0, sizeof *p);
    p->env = env;
    if (n_vocab <= 0 || len == 0 || per_key == 0 || per_key > 255) return false;
    p->n_vocab = n_vocab;
    p->len = len;
    p->per_key = per_key;
    p->cont = weft_calloc(env, (size_t)n_vocab * per_key * len, sizeof *p->cont);
    p->count = weft_calloc(env, (size_t)n_vocab, sizeof *p->count);
    if (!p->cont || !p->count) {
        ngram_pool_free(p);
        weft_error(env, "out of memory for an n-gram pool of %d x %zu x %zu tokens", n_vocab, per_key, len);
        return false;
    }
    return true;
}

void ngram_pool_free(ngram_pool *p) {
    if (p->env) {
        weft_free(p->env, p->cont);
        weft_free(p->env, p->count);
    }
    p->cont = NULL;
    p->count = NULL;
}

void ngram_pool_clear(ngram_pool *p) {
    if (p->count) memset(p->count, 0, (size_t)p->n_vocab);
}

void ngram_pool_add(ngram_pool *p, weft_token key, const weft_token *cont) {
    if (!p->count || key < 0 || key >= p->n_vocab) return;
    for (size_t i = 0; i < p->len; i++)
        if (cont[i] < 0 || cont[i] >= p->n_vocab) return;
    weft_token *row = p->cont + (size_t)key * p->per_key * p->len;
    size_t n = p->count[key], at = n;
    for (size_t k = 0; k < n && at == n; k++)
        if (!memcmp(row + k * p->len, cont, p->len * sizeof *cont)) at = k;
    if (at == n) at = n < p->per_key ? n++ : n - 1; /* new: the oldest goes when full */
    /* shift [0, at) back by one and put cont in front */
    memmove(row + p->len, row, at * p->len * sizeof *row);
    memcpy(row, cont, p->len * sizeof *row);
    p->count[key] = (uint8_t)n;
}

size_t ngram_pool_get(const ngram_pool *p, weft_token key, const weft_token **first) {
    if (!p->count || key < 0 || key >= p->n_vocab) return 0;
    *first = p->cont + (size_t)key * p->per_key * p->len;
    return p->count[key];
}

size_t ngram_pool_bytes(const ngram_pool *p) {
    return p->count ? (size_t)p->n_vocab * (p->per_key * p->len * sizeof *p->cont + 1) : 0;
}
