/* MaskBench (jsonschemabench/maskbench) over the JSON Schema front-end:
 * every schema of a folder is compiled, and each of its valid and invalid
 * instances is fed to the grammar
 *   - byte level: the engine's byte matcher over the instance text;
 *   - token level: the text tokenized by the llama backend's tokenizer,
 *     each token checked against the mask at its state (fill_mask), then
 *     accepted (accept_token), with end-of-generation allowed at the end.
 * A schema passes when it compiles, every valid instance is accepted and
 * every invalid one rejected. Instances are written as MaskBench writes
 * them (json.dumps' ", " / ": " separators, flexible whitespace in the
 * grammar) or compactly (compact grammar); see pyjson.h. */
#ifndef WEFT_TEST_MASKBENCH_H
#define WEFT_TEST_MASKBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <weft/weft_plugin.h>

#define MB_MAX_VOCABS 2

typedef struct mb_opts {
    const char *dir;                   /* maskbench-dev folder */
    const char *vocabs[MB_MAX_VOCABS]; /* GGUF files with a tokenizer (NULL: byte level only) */
    size_t n_vocabs;
    bool compact;      /* compact grammar and instances (else MaskBench's style) */
    size_t every;      /* take every n-th schema (sorted by name); 0/1: all */
    size_t limit;      /* at most this many schemas; 0: all */
    bool timing;       /* measure compile and mask times (token level, vocab 0) */
    double cache_ms;   /* token-cache precomputation budget per schema (0: none, masks by trie walk) */
    FILE *log;         /* per-schema failures; NULL: quiet */
} mb_opts;

typedef struct mb_level {
    size_t passing;          /* compiled and every instance judged right */
    size_t valid_rejected;   /* instances */
    size_t invalid_accepted; /* instances */
    size_t schemas_valid_rejected, schemas_invalid_accepted;
    size_t mask_disagreements; /* a token in the mask that accept refused, or the reverse */
    size_t skipped;            /* instances whose tokens do not spell their text */
} mb_level;

typedef struct mb_result {
    size_t schemas, compiled, compile_unsupported, compile_other;
    size_t valid_instances, invalid_instances, unencodable;
    mb_level bytes;
    mb_level tokens[MB_MAX_VOCABS];
    /* timing (vocab 0): compile incl. token cache, per schema; fill_mask per
     * token of valid instances; compiled grammar + cache bytes per schema */
    double compile_ms_p50, compile_ms_p99, compile_ms_max;
    double mask_us_p50, mask_us_p99, mask_us_max;
    size_t n_masks;
    double mem_kib_p50, mem_kib_p99, mem_kib_max;
    double grammar_kib_p50, grammar_kib_p99, grammar_kib_max; /* the compiled grammar alone */
    /* the vocabulary index (vocab 0), built once and shared by every
     * schema's token cache, as a server keeps it across requests */
    double vocab_index_ms, vocab_index_kib, region_memo_kib;
    double seconds;
} mb_result;

/* A vocabulary as the core hands it to grammars (core/decode.c), from a
 * GGUF file's tokenizer, with its index built once (index_ms). */
typedef struct mb_vocab {
    struct llm_vocab *v;
    char **bytes;
    uint32_t *len, *attrs;
    weft_token *eog;
    weft_vocab wv;
    struct wg_vocab_index *vi;
    double index_ms;
    char fingerprint[128];
} mb_vocab;
bool mb_vocab_open(mb_vocab *mv, const char *path);
void mb_vocab_close(mb_vocab *mv);

/* The sorted .json files of dir (malloc'd names); NULL if unreadable. */
char **mb_list_files(const char *dir, size_t *n);

/* Runs the benchmark; false (with a message on stderr) if it could not. */
bool mb_run(const mb_opts *o, mb_result *r);
/* The MaskBench-style table. */
void mb_print(FILE *f, const mb_opts *o, const mb_result *r);
/* The result as JSON into path. */
bool mb_write_json(const char *path, const mb_opts *o, const mb_result *r);

#endif
