/* Test vocabularies (see test_vocab.h). */
#include "test_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_paths.h"
#include "tokenizer.h"

static tv_vocab *alloc_vocab(int32_t n) {
    tv_vocab *tv = calloc(1, sizeof *tv);
    if (!tv) return NULL;
    tv->bytes = calloc((size_t)n, sizeof *tv->bytes);
    tv->len = calloc((size_t)n, sizeof *tv->len);
    tv->attrs = calloc((size_t)n, sizeof *tv->attrs);
    tv->eog = calloc((size_t)n, sizeof *tv->eog);
    if (!tv->bytes || !tv->len || !tv->attrs || !tv->eog) {
        tv_free(tv);
        return NULL;
    }
    tv->v = (weft_vocab){.struct_size = sizeof(weft_vocab), .n_vocab = n, .bytes = (const char *const *)tv->bytes,
                         .len = tv->len, .attrs = tv->attrs, .eog = tv->eog};
    return tv;
}

tv_vocab *tv_load_gguf(const char *file) {
    char path[1024], err[512];
    test_model_path(path, sizeof path, file);
    gguf_file *f = gguf_open(path, err, sizeof err);
    if (!f) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    llm_vocab *lv = vocab_load(f, err, sizeof err);
    gguf_close(f);
    if (!lv) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    int32_t n = vocab_n_tokens(lv);
    tv_vocab *tv = alloc_vocab(n);
    if (!tv) {
        vocab_free(lv);
        return NULL;
    }
    tv->tokenizer = lv;
    for (int32_t t = 0; t < n; t++) {
        char buf[512];
        size_t len = 0;
        if (vocab_token_bytes(lv, t, false, buf, sizeof buf, &len) != WEFT_OK || len > sizeof buf) len = 0;
        tv->bytes[t] = malloc(len + 1);
        if (!tv->bytes[t]) {
            tv_free(tv);
            return NULL;
        }
        memcpy(tv->bytes[t], buf, len);
        tv->bytes[t][len] = 0;
        tv->len[t] = (uint32_t)len;
        tv->attrs[t] = vocab_token_attr(lv, t);
        if ((tv->attrs[t] & WEFT_TOKEN_EOG) || t == vocab_eos(lv)) tv->eog[tv->v.n_eog++] = t;
    }
    tv->v.fingerprint = file;
    return tv;
}

tv_vocab *tv_synthetic(const char *const *strs, const uint32_t *lens, int32_t n, weft_token eos) {
    tv_vocab *tv = alloc_vocab(n);
    if (!tv) return NULL;
    for (int32_t t = 0; t < n; t++) {
        size_t len = t == eos ? 0 : lens ? lens[t] : strlen(strs[t]);
        tv->bytes[t] = malloc(len + 1);
        if (!tv->bytes[t]) {
            tv_free(tv);
            return NULL;
        }
        if (len) memcpy(tv->bytes[t], strs[t], len);
        tv->bytes[t][len] = 0;
        tv->len[t] = (uint32_t)len;
        tv->attrs[t] = t == eos ? WEFT_TOKEN_CONTROL | WEFT_TOKEN_EOG : WEFT_TOKEN_NORMAL;
    }
    if (eos >= 0) tv->eog[tv->v.n_eog++] = eos;
    tv->v.fingerprint = "synthetic";
    return tv;
}

void tv_free(tv_vocab *tv) {
    if (!tv) return;
    for (int32_t t = 0; tv->bytes && t < tv->v.n_vocab; t++) free(tv->bytes[t]);
    free(tv->bytes);
    free(tv->len);
    free(tv->attrs);
    free(tv->eog);
    if (tv->tokenizer) vocab_free(tv->tokenizer);
    free(tv);
}

/* The longest token that is a prefix of s[0..n), or -1. */
static weft_token longest_prefix(const tv_vocab *tv, const char *s, size_t n) {
    weft_token best = -1;
    size_t best_len = 0;
    for (int32_t t = 0; t < tv->v.n_vocab; t++) {
        size_t l = tv->len[t];
        if (l > best_len && l <= n && memcmp(tv->bytes[t], s, l) == 0) best = t, best_len = l;
    }
    return best;
}

size_t tv_tokenize(const tv_vocab *tv, const char *text, weft_token *out, size_t cap) {
    size_t n = 0, len = strlen(text);
    if (!tv->tokenizer || vocab_tokenize(tv->tokenizer, text, len, false, false, out, cap, &n) != WEFT_OK)
        return 0;
    if (n == 0) return 0;
    /* SentencePiece adds a space before the text: split the first token's
     * text without it greedily instead */
    const char *first = tv->bytes[out[0]];
    size_t first_len = tv->len[out[0]];
    if (first_len == 0 || first[0] != ' ' || text[0] == ' ') return n;
    size_t rest = first_len - 1, k = 0;
    weft_token head[64];
    for (size_t off = 0; off < rest && k < 64;) {
        weft_token t = longest_prefix(tv, first + 1 + off, rest - off);
        if (t < 0) return 0;
        head[k++] = t;
        off += tv->len[t];
    }
    if (n - 1 + k > cap) return 0;
    memmove(out + k, out + 1, (n - 1) * sizeof *out);
    memcpy(out, head, k * sizeof *out);
    return n - 1 + k;
}
