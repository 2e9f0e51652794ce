/* Internals shared by the tokenizer files: the vocab layout, a string ->
 * index hash map and a bounded id writer. Not part of the backend API. */
#ifndef WEFT_LLAMA_TOK_INTERNAL_H
#define WEFT_LLAMA_TOK_INTERNAL_H

#include "tokenizer.h"

/* tokenizer.ggml.token_type values. */
enum {
    TOKTYPE_NORMAL = 1,
    TOKTYPE_UNKNOWN = 2,
    TOKTYPE_CONTROL = 3,
    TOKTYPE_USER_DEFINED = 4,
    TOKTYPE_UNUSED = 5,
    TOKTYPE_BYTE = 6,
};

typedef enum vocab_model { VOCAB_SPM, VOCAB_BPE } vocab_model;

/* Split rules of the byte-level BPE pre-tokenizer. */
typedef enum pretok_kind {
    PRETOK_GPT2,   /* GPT-2 regex */
    PRETOK_LLAMA3, /* llama3 regex: numbers in groups of up to 3 */
    PRETOK_QWEN2,  /* llama3 regex with single digits */
    PRETOK_SMOLLM, /* single digits, then the GPT-2 regex */
} pretok_kind;

/* Strings stored back to back in one pool; item i is pool[off[i] .. +len[i]). */
typedef struct str_table {
    char *pool;
    uint32_t *off, *len;
    uint32_t n;
} str_table;

/* Open-addressing map from the strings of a str_table to their index. */
typedef struct str_map {
    const str_table *keys;
    uint32_t *slots; /* index + 1; 0 = empty */
    uint32_t mask;
} str_map;

struct llm_vocab {
    vocab_model model;
    pretok_kind pre;
    const char *pre_name;
    int32_t n_tokens;
    str_table text;   /* token texts */
    float *scores;    /* SPM merge priority */
    uint8_t *types;   /* TOKTYPE_* */
    uint32_t *attrs;  /* WEFT_TOKEN_* */
    str_map by_text;
    str_table merges; /* BPE: "left right", index = rank */
    str_map merge_rank;
    weft_token bos, eos, eot, unk;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
    weft_token byte_token[256]; /* token for each raw byte, -1 if none */
    /* Specials matched in text, grouped by first byte, longest first:
     * special_ids[special_start[b] .. special_start[b + 1]). */
    int32_t *special_ids;
    uint32_t special_start[257];
};

/* Bounded output: ids past cap are counted, not written. */
typedef struct tok_out {
    weft_token *ids;
    size_t cap, n;
} tok_out;

static inline void tok_push(tok_out *o, weft_token t) {
    if (o->n < o->cap) o->ids[o->n] = t;
    o->n++;
}

/* Allocates a table of n strings with pool_bytes of text (filled by the caller). */
bool str_table_init(str_table *t, uint32_t n, size_t pool_bytes);
void str_table_free(str_table *t);
/* Indexes all strings of t (which must outlive m). Duplicates: the last or
 * the first occurrence wins. */
bool str_map_build(str_map *m, const str_table *t, bool last_wins);
void str_map_free(str_map *m);
/* Hash of the concatenation a + [sep] + b (sep < 0: none), so lookups of
 * pairs need no temporary string. */
int64_t str_map_find2(const str_map *m, const char *a, size_t alen, int sep, const char *b,
                      size_t blen);
static inline int64_t str_map_find(const str_map *m, const char *s, size_t n) {
    return str_map_find2(m, s, n, -1, "", 0);
}

/* Encoders for one stretch of raw text (no special tokens inside). Return
 * WEFT_ERR_NOMEM on allocation failure. */
weft_status spm_encode(const llm_vocab *v, const char *text, size_t len, bool space_prefix,
                       tok_out *out);
weft_status bpe_encode(const llm_vocab *v, const char *text, size_t len, tok_out *out);

/* Pre-tokenizer: calls emit for each word of text, in order; stops and
 * returns the first non-OK status of emit. */
typedef weft_status (*pretok_emit)(void *ctx, const char *word, size_t len);
weft_status pretok_split(pretok_kind kind, const char *text, size_t len, pretok_emit emit,
                         void *ctx);

/* GPT-2 byte <-> printable code point mapping. */
uint32_t bpe_byte_to_cpt(uint8_t b);
int bpe_cpt_to_byte(uint32_t cp); /* -1 if cp is not in the mapping */

#endif
