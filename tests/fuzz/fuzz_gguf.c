/* libFuzzer target: parse the input as a GGUF file, then read everything the
 * reader claims is valid (so an unchecked length shows up as an overflow of
 * the fuzzer's exact-size buffer) and build a vocab from it if it has one. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"

static volatile uint8_t sink;

static void touch(const void *p, uint64_t n) {
    const uint8_t *b = p;
    if (n == 0) return;
    sink ^= b[0];
    sink ^= b[n - 1];
}

static void walk_kvs(const gguf_file *f) {
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        touch(kv->key.ptr, kv->key.len);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(kv->key.len > 255 ? 255 : kv->key.len),
                 kv->key.ptr);
        uint32_t u;
        int64_t i64;
        float fl;
        bool b;
        gguf_str s;
        (void)gguf_get_u32(f, key, &u);
        (void)gguf_get_i64(f, key, &i64);
        (void)gguf_get_f32(f, key, &fl);
        (void)gguf_get_bool(f, key, &b);
        if (gguf_get_str(f, key, &s)) touch(s.ptr, s.len);
        if (kv->type != GGUF_TYPE_ARRAY) continue;
        for (uint64_t j = 0; j < kv->arr_count; j++) {
            if (kv->arr_type == GGUF_TYPE_STRING) {
                gguf_str e = gguf_arr_str(f, kv, j);
                touch(e.ptr, e.len);
            } else {
                sink ^= gguf_arr_num(kv, j) > 0;
            }
        }
    }
}

static void walk_tensors(const gguf_file *f) {
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        touch(t->data, t->n_bytes);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(t->name.len > 255 ? 255 : t->name.len),
                 t->name.ptr);
        if (strlen(name) == t->name.len && gguf_find_tensor(f, name) != t) __builtin_trap();
    }
}

static void try_vocab(const gguf_file *f) {
    char err[256];
    llm_vocab *v = vocab_load(f, err, sizeof err);
    if (!v) return;
    weft_token ids[64];
    size_t n;
    static const char text[] = "Hello, world! <s> 123 \xe2\x96\x81\xff";
    if (vocab_tokenize(v, text, sizeof text - 1, true, true, ids, 64, &n) == WEFT_OK)
        for (size_t i = 0; i < n; i++) {
            char buf[64];
            size_t len;
            (void)vocab_token_bytes(v, ids[i], true, buf, sizeof buf, &len);
        }
    vocab_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    gguf_file *f = gguf_open_memory(data, size, "fuzz.gguf", err, sizeof err);
    if (!f) {
        if (strncmp(err, "fuzz.gguf: ", 11) != 0) __builtin_trap(); /* always a message */
        return 0;
    }
    walk_kvs(f);
    walk_tensors(f);
    try_vocab(f);
    gguf_close(f);
    return 0;
}
