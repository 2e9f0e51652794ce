/* A read-only suffix automaton in one flat block, built once from a corpus
 * and memory-mapped from its cache file on later runs (SAM-Decoding's static
 * automaton, Hu et al. 2024). Edges are sorted by token per state (binary
 * search); each state also knows how often its strings occur (|endpos|) and
 * its most frequent outgoing edge, so a draft can follow the corpus's most
 * common continuation without scanning edges.
 *
 * File layout (native endianness, every array 8-byte aligned):
 *   header (frozen_header), tok[n_tok] i32 (FROZEN_SEP between documents),
 *   len, link, pos, count, best [n_states] i32, e_off[n_states + 1] u32,
 *   e_tok, e_to [n_edges] i32. */
#ifndef WEFT_SAM_FROZEN_H
#define WEFT_SAM_FROZEN_H

#include "sam.h"

/* Separates documents: never a token id, so no match crosses it. */
#define FROZEN_SEP ((weft_token)-1)

typedef struct frozen_header {
    char magic[8]; /* "WEFTSAM1" */
    uint32_t version, byte_order; /* 1, 0x01020304 */
    uint64_t fingerprint;         /* tokenizer and corpus content */
    uint64_t n_tok, n_states, n_edges;
} frozen_header;

typedef struct sam_frozen {
    const weft_env *env;
    void *block;
    size_t block_size;
    bool mapped; /* block is a file mapping (else host memory) */
    const weft_token *tok;
    size_t n_tok, n_states, n_edges;
    const int32_t *len, *link, *pos, *count, *best;
    const uint32_t *e_off;
    const weft_token *e_tok;
    const int32_t *e_to;
} sam_frozen;

/* The automaton of s (built over documents joined by FROZEN_SEP) as a block. */
weft_status frozen_build(sam_frozen *f, const weft_env *env, const sam *s, uint64_t fingerprint);
/* Maps a cache file; WEFT_ERR_IO (no message) when it is absent, stale (other
 * fingerprint) or malformed, so the caller rebuilds. */
weft_status frozen_map(sam_frozen *f, const weft_env *env, const char *path, uint64_t fingerprint);
/* Writes the block to path (through a temporary file and rename). */
weft_status frozen_save(const sam_frozen *f, const char *path);
void frozen_free(sam_frozen *f);

/* The state reached from `state` by t, or -1 (binary search). */
int32_t frozen_next(const sam_frozen *f, int32_t state, weft_token t);

/* Matching the text against the automaton, one token at a time (amortised
 * O(log degree)): the longest suffix of the text that occurs in the corpus. */
typedef struct frozen_match {
    int32_t state;
    size_t len;
} frozen_match;
void frozen_match_step(const sam_frozen *f, frozen_match *m, weft_token t);

#endif
