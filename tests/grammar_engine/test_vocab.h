/* Vocabularies for grammar tests and the benchmark: a real one from a GGUF
 * file (through the llama backend's tokenizer, the way the core builds
 * weft_vocab for set_vocab) or a synthetic one from a list of strings. */
#ifndef WEFT_TEST_GRAMMAR_VOCAB_H
#define WEFT_TEST_GRAMMAR_VOCAB_H

#include <weft/weft_plugin.h>

typedef struct tv_vocab {
    weft_vocab v;
    char **bytes;
    uint32_t *len, *attrs;
    weft_token *eog;
    void *tokenizer; /* llm_vocab *, NULL for synthetic vocabularies */
} tv_vocab;

/* <models>/<file>: NULL (message on stderr) if it cannot be loaded. */
tv_vocab *tv_load_gguf(const char *file);
/* Tokens 0..n-1 with the given bytes (lens[i], or strlen when lens is
 * NULL); token `eos` (if >= 0) ends generation and has no bytes. */
tv_vocab *tv_synthetic(const char *const *strs, const uint32_t *lens, int32_t n, weft_token eos);
void tv_free(tv_vocab *tv);

/* Token ids of text (no BOS) with a GGUF vocabulary; returns the count. */
size_t tv_tokenize(const tv_vocab *tv, const char *text, weft_token *out, size_t cap);

#endif
