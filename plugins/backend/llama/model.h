/* A transformer's shape (model_config) and weights (model_weights), read from
 * a GGUF file. Weights are pointers into the file's mapping, never copies;
 * loading validates every tensor's presence, shape and type so that the
 * forward pass can trust them. */
#ifndef WEFT_LLAMA_MODEL_H
#define WEFT_LLAMA_MODEL_H

#include <stdint.h>

#include "arch.h"
#include "gguf.h"

typedef struct model_config {
    int n_vocab;
    int n_ctx_train;
    int dim;        /* embedding width */
    int n_layers;
    int n_heads, n_kv_heads, head_dim;
    int ffn_dim;
    int n_rot;      /* rotated dims per head (<= head_dim) */
    float rope_base;
    float rope_scale; /* linear scaling: positions are multiplied by this (1/factor) */
    float rms_eps;
} model_config;

/* A row-major matrix of `rows` rows of `cols` elements of `type`. */
typedef struct weight {
    ggml_type type;
    const void *data;
    int64_t rows, cols;
} weight;

typedef struct layer_weights {
    const float *attn_norm, *ffn_norm; /* dim */
    weight wq, wk, wv, wo;
    const float *bq, *bk, *bv; /* qwen2; NULL when the arch has none */
    weight w_gate, w_up, w_down;
} layer_weights;

typedef struct model_weights {
    weight token_embd; /* rows = vocab, cols = dim */
    layer_weights *layers;
    const float *output_norm;
    weight output; /* LM head; token_embd when the file has no output.weight */
} model_weights;

typedef struct model {
    gguf_file *file;
    const arch_desc *arch;
    char name[128];
    model_config cfg;
    model_weights w;
    uint64_t n_params;
    uint64_t weight_bytes; /* bytes of weights read to evaluate one token */
} model;

/* Opens and validates; NULL with a message in err on failure. */
model *model_load(const char *path, char *err, size_t err_cap);
/* Same, from an already opened file; the model takes ownership of f on success. */
model *model_from_gguf(gguf_file *f, char *err, size_t err_cap);
void model_free(model *m);

/* The architecture named `name`, or NULL. */
const arch_desc *arch_find(const char *name, size_t len);

#endif
