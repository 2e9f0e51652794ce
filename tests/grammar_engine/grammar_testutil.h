/* Helpers shared by the grammar tests: grammars from the shared GBNF
 * corpus, and the brute-force mask every fill_mask is checked against (for
 * each token: fork the matcher and try to accept it). */
#ifndef WEFT_TEST_GRAMMAR_UTIL_H
#define WEFT_TEST_GRAMMAR_UTIL_H

#include "grammar.h"
#include "test_vocab.h"

/* <testdata>/gbnf/<name> compiled from rule "root"; asserts success. */
wg_grammar *gt_load_gbnf(const char *name);
/* The GBNF text compiled; NULL with the message in err. */
wg_grammar *gt_gbnf(const char *text, wg_error *err);
/* The whole file (malloc'd); asserts it is readable. */
char *gt_read(const char *path, size_t *len);

/* mask[] from trying every token on a fork of m; returns the count. */
size_t gt_brute_mask(const wg_token_cache *tc, const wg_matcher *m, int32_t n_vocab, uint32_t *mask);
/* Asserts fill_mask == brute force at m; `where` labels failures. Returns
 * the number of allowed tokens. */
size_t gt_check_mask(const wg_token_cache *tc, const wg_matcher *m, const tv_vocab *tv, const char *where);

/* A uniformly chosen set bit of mask, or -1 if none; *state advances. */
int32_t gt_pick(const uint32_t *mask, int32_t n_vocab, uint64_t *state);
uint64_t gt_rand(uint64_t *state);

#endif
