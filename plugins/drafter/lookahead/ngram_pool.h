/* The n-gram pool of lookahead decoding (Fu et al. 2024, "Break the
 * Sequential Dependency of LLM Inference Using Lookahead Decoding", §3):
 * for each first token, up to `per_key` continuations of `len` tokens, the
 * most recently added first. Adding a continuation that is already there
 * moves it to the front; a full key forgets its oldest one. Flat arrays, one
 * allocation, O(per_key * len) per operation. */
#ifndef WEFT_NGRAM_POOL_H
#define WEFT_NGRAM_POOL_H

#include <weft/sdk.h>

typedef struct ngram_pool {
    const weft_env *env;
    int32_t n_vocab;
    size_t len, per_key;
    weft_token *cont; /* n_vocab * per_key * len */
    uint8_t *count;   /* continuations held per key */
} ngram_pool;

/* false after reporting "out of memory" through env; per_key <= 255. */
bool ngram_pool_init(ngram_pool *p, const weft_env *env, int32_t n_vocab, size_t len, size_t per_key);
void ngram_pool_free(ngram_pool *p);
void ngram_pool_clear(ngram_pool *p);
/* Adds key -> cont[0..len); ignored when a token is outside the vocabulary. */
void ngram_pool_add(ngram_pool *p, weft_token key, const weft_token *cont);
/* The continuations of key, most recent first: count, and *first. */
size_t ngram_pool_get(const ngram_pool *p, weft_token key, const weft_token **first);
/* Bytes held. */
size_t ngram_pool_bytes(const ngram_pool *p);

#endif
