/* Random-weight transformer GGUFs of any shape (for tests and benchmarks),
 * and re-quantization of an existing GGUF. Uses the llama backend's
 * kernels (quantize_row) and tests/common/gguf_writer. */
#ifndef WEFT_TEST_RANDOM_MODEL_H
#define WEFT_TEST_RANDOM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf.h"

typedef struct rm_spec {
    const char *arch; /* "llama" or "qwen2" (qwen2: q/k/v biases) */
    int dim, n_layers, n_heads, n_kv_heads, ffn, vocab, ctx;
    ggml_type type;   /* of the matrices; norms and biases stay F32 */
    uint64_t seed;
    bool tied;        /* no output.weight: the LM head reuses token_embd */
} rm_spec;

/* Writes the model, with a synthetic SentencePiece vocabulary of `vocab`
 * tokens (<unk>, <s>, </s>, 256 byte tokens, then made-up pieces). Weights
 * are uniform with variance 1/fan_in, so activations stay O(1). */
bool rm_write(const rm_spec *s, const char *path, char *err, size_t err_cap);

/* Copies `in` to `out` with every matrix whose rows fit the block size
 * converted to `type` (norms, biases and other tensors copied as they are). */
bool rm_requantize(const char *in, const char *out, ggml_type type, char *err, size_t err_cap);

#endif
