/* The test-only Markov backend's model, shared by the plugin (markov.c) and
 * the tests that need the exact next-token distribution: one implementation.
 *
 * Vocabulary: 0 = BOS, 1 = EOS, token t >= 2 is the character
 * markov_alphabet()[t - 2], for t < n_vocab (n_vocab in [4, 66]).
 *
 * logits(next | a, b), where b is the token at the row and a the token
 * before it (-1 when b starts the sequence): a fixed pseudo-random function
 * of (seed, a, b, next). BOS is never predicted (-inf), EOS has the constant
 * eos_logit, and every other token sharpness * u^3 with u a hash in [-1, 1):
 * cubing makes a few transitions dominate, so greedy chains repeat and
 * sampled ones are far from uniform. */
#ifndef WEFT_TEST_MARKOV_MODEL_H
#define WEFT_TEST_MARKOV_MODEL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MARKOV_BOS 0
#define MARKOV_EOS 1
#define MARKOV_MIN_VOCAB 4
#define MARKOV_MAX_VOCAB 66

/* Characters of tokens 2, 3, ... (the last two never fit a 66-token vocabulary). */
static inline const char *markov_alphabet(void) {
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;";
}

/* The token of byte c, or -1 when c is not in the vocabulary. */
static inline int32_t markov_token_of(unsigned char c, int32_t n_vocab) {
    const char *hit = c ? strchr(markov_alphabet(), c) : NULL;
    if (!hit) return -1;
    int32_t t = (int32_t)(hit - markov_alphabet()) + 2;
    return t < n_vocab ? t : -1;
}

/* The byte of token t >= 2. */
static inline char markov_char_of(int32_t t) { return markov_alphabet()[t - 2]; }

/* splitmix64's finaliser. */
static inline uint64_t markov_mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A hash of (seed, a, b, next) mapped to [-1, 1). */
static inline double markov_unit(uint64_t seed, int32_t a, int32_t b, int32_t next) {
    uint64_t h = markov_mix(seed);
    h = markov_mix(h ^ (uint64_t)(int64_t)(a + 1));
    h = markov_mix(h ^ (uint64_t)(int64_t)b);
    h = markov_mix(h ^ (uint64_t)(int64_t)next);
    return (double)(h >> 11) * 0x1.0p-53 * 2.0 - 1.0;
}

/* out[0..n_vocab) = logits of the token after b (preceded by a, or -1). */
static inline void markov_logits(int64_t seed, double sharpness, double eos_logit, int32_t n_vocab,
                                 int32_t a, int32_t b, float *out) {
    out[MARKOV_BOS] = -INFINITY;
    out[MARKOV_EOS] = (float)eos_logit;
    for (int32_t t = 2; t < n_vocab; t++) {
        double u = markov_unit((uint64_t)seed, a, b, t);
        out[t] = (float)(sharpness * u * u * u);
    }
}

#endif
