/* libFuzzer target: encode the input with the llama-spm and gpt-2 vocabs
 * (loaded once from $WEFT_MODELS or the default models folder), check that
 * decoding gives the input back, and decode the input read as token ids.
 * The first byte selects vocab and flags; the rest is the text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "test_paths.h"
#include "tokenizer.h"

/* Loaded once in LLVMFuzzerInitialize, read-only afterwards. */
static llm_vocab *vocabs[2];

static llm_vocab *load(const char *rel) {
    char path[1024], err[512];
    gguf_file *f = gguf_open(test_model_path(path, sizeof path, rel), err, sizeof err);
    llm_vocab *v = f ? vocab_load(f, err, sizeof err) : NULL;
    gguf_close(f);
    if (!v) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", err);
        exit(1);
    }
    return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    vocabs[0] = load("ggml-vocab-llama-spm.gguf");
    vocabs[1] = load("ggml-vocab-gpt-2.gguf");
    return 0;
}

/* Decodes ids; with check, the bytes must equal text (SPM: after a space). */
static void decode_all(const llm_vocab *v, const weft_token *ids, size_t n, const char *text,
                       size_t len, bool check) {
    size_t cap = 4 * len + 64, o = 0;
    char *buf = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        if (vocab_token_bytes(v, ids[i], false, buf + o, cap - o, &k) != WEFT_OK)
            __builtin_trap(); /* every piece of a tokenization fits 4 bytes per input byte */
        o += k;
    }
    bool spm = strcmp(vocab_model_name(v), "llama") == 0;
    size_t skip = spm && len > 0;
    /* SPM cannot tell a literal U+2581 from an escaped space: it decodes as ' '. */
    if (spm && memmem(text, len, "\xe2\x96\x81", 3)) check = false;
    if (check && (o != len + skip || memcmp(buf + skip, text, len) != 0)) __builtin_trap();
    free(buf);
}

static void decode_ids(const llm_vocab *v, const uint8_t *data, size_t size) {
    for (size_t i = 0; i + 4 <= size; i += 4) {
        int32_t id;
        memcpy(&id, data + i, 4);
        id %= vocab_n_tokens(v) + 8; /* mostly valid, some out of range */
        char buf[8];
        size_t len;
        weft_status st = vocab_token_bytes(v, id, id & 1, buf, sizeof buf, &len);
        bool valid = id >= 0 && id < vocab_n_tokens(v);
        if (!valid && (st != WEFT_ERR_INVALID || vocab_token_attr(v, id) != 0)) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t mode = data[0];
    const llm_vocab *v = vocabs[mode & 1];
    bool add_special = mode & 2, parse_special = mode & 4;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    size_t n = 0;
    weft_status st = vocab_tokenize(v, text, len, add_special, parse_special, NULL, 0, &n);
    if (st != WEFT_OK && st != WEFT_ERR_INVALID) __builtin_trap();
    weft_token *ids = malloc((n + 1) * sizeof *ids);
    size_t n2;
    if (vocab_tokenize(v, text, len, add_special, parse_special, ids, n, &n2) != WEFT_OK ||
        n2 != n)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab_n_tokens(v)) __builtin_trap();
    /* Without specials in or out, decoding restores the text exactly. */
    decode_all(v, ids, n, text, len, !add_special && !parse_special);
    free(ids);
    decode_ids(v, data + 1, len);
    return 0;
}
