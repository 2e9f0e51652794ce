/* Random models and re-quantization, streamed tensor by tensor so a 134M
 * F32 model never has to sit in memory twice. */
#include "random_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_writer.h"
#include "kernels.h"
#include "model.h"

/* splitmix64: a tiny deterministic generator, seeded per tensor so the
 * bytes do not depend on the order tensors are written in. */
static uint64_t mix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float uniform(uint64_t *x) { return (float)((mix(x) >> 40) * 0x1.0p-24) * 2.0f - 1.0f; }

typedef enum { FILL_ONES, FILL_RANDOM } fill_kind;

typedef struct rm_tensor {
    int64_t cols, rows;
    ggml_type type;
    fill_kind kind;
    float amp; /* uniform in [-amp, amp] */
} rm_tensor;

typedef struct rm_ctx {
    const rm_spec *s;
    rm_tensor *t;
} rm_ctx;

static void fill_random(void *ctx, size_t index, void *dst, size_t nbytes) {
    const rm_ctx *c = ctx;
    const rm_tensor *t = &c->t[index];
    (void)nbytes;
    float *row = malloc((size_t)t->cols * sizeof(float));
    if (!row) abort();
    uint64_t st = c->s->seed * 0x100000001b3ull + index;
    const size_t rb = row_bytes(t->type, t->cols);
    for (int64_t r = 0; r < t->rows; r++) {
        for (int64_t i = 0; i < t->cols; i++) row[i] = t->kind == FILL_ONES ? 1.0f : t->amp * uniform(&st);
        quantize_row(t->type, row, (uint8_t *)dst + (size_t)r * rb, t->cols);
    }
    free(row);
}

static void vocab_kvs(gguf_writer *w, int n) {
    char **tok = malloc((size_t)n * sizeof *tok);
    float *score = malloc((size_t)n * sizeof *score);
    int32_t *type = malloc((size_t)n * sizeof *type);
    if (!tok || !score || !type) abort();
    for (int i = 0; i < n; i++) {
        char b[32];
        if (i == 0) snprintf(b, sizeof b, "<unk>");
        else if (i == 1) snprintf(b, sizeof b, "<s>");
        else if (i == 2) snprintf(b, sizeof b, "</s>");
        else if (i < 259) snprintf(b, sizeof b, "<0x%02X>", i - 3);
        else {
            /* "▁" + the index in base 26: distinct made-up pieces */
            int k = i - 259, o = snprintf(b, sizeof b, "\xe2\x96\x81");
            do b[o++] = (char)('a' + k % 26), k /= 26; while (k && o < 30);
            b[o] = 0;
        }
        tok[i] = strdup(b);
        score[i] = i < 259 ? 0.0f : -(float)(i - 259);
        type[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
    }
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_strs(w, "tokenizer.ggml.tokens", (const char *const *)tok, (size_t)n);
    gw_kv_f32s(w, "tokenizer.ggml.scores", score, (size_t)n);
    gw_kv_i32s(w, "tokenizer.ggml.token_type", type, (size_t)n);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gw_kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gw_kv_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    for (int i = 0; i < n; i++) free(tok[i]);
    free(tok);
    free(score);
    free(type);
}

bool rm_write(const rm_spec *s, const char *path, char *err, size_t err_cap) {
    const arch_desc *arch = arch_find(s->arch, strlen(s->arch));
    if (!arch || s->vocab < 259 || s->dim % s->n_heads || s->n_heads % s->n_kv_heads) {
        snprintf(err, err_cap, "bad model spec (arch %s, vocab >= 259, heads dividing dim)", s->arch);
        return false;
    }
    const int hd = s->dim / s->n_heads, q_dim = s->dim, kv_dim = s->n_kv_heads * hd;
    gguf_writer *w = gw_new();
    char key[128];
#define KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, s->arch), key)
    gw_kv_str(w, "general.architecture", s->arch);
    gw_kv_str(w, "general.name", "random");
    gw_kv_u32(w, KEY("context_length"), (uint32_t)s->ctx);
    gw_kv_u32(w, KEY("embedding_length"), (uint32_t)s->dim);
    gw_kv_u32(w, KEY("block_count"), (uint32_t)s->n_layers);
    gw_kv_u32(w, KEY("feed_forward_length"), (uint32_t)s->ffn);
    gw_kv_u32(w, KEY("attention.head_count"), (uint32_t)s->n_heads);
    gw_kv_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_kv_heads);
    gw_kv_u32(w, KEY("rope.dimension_count"), (uint32_t)hd);
    gw_kv_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
#undef KEY
    vocab_kvs(w, s->vocab);

    const size_t n_t = 3 + 9 * (size_t)s->n_layers + (arch->qkv_bias ? 3 * (size_t)s->n_layers : 0);
    rm_tensor *t = calloc(n_t, sizeof *t);
    char (*names)[64] = calloc(n_t, 64);
    if (!t || !names) abort();
    size_t k = 0;
    rm_ctx ctx = {s, t};
#define ADD(nm, c, r, ty, kd, a)                                                         \
    do {                                                                                 \
        t[k] = (rm_tensor){(c), (r), (ty), (kd), (a)};                                   \
        uint64_t ne_[2] = {(uint64_t)(c), (uint64_t)(r)};                                \
        gw_tensor(w, nm, (r) > 1 ? 2 : 1, ne_, (ty), NULL, fill_random, &ctx);           \
        k++;                                                                             \
    } while (0)
    const float a_dim = sqrtf(3.0f / s->dim), a_q = sqrtf(3.0f / q_dim), a_ffn = sqrtf(3.0f / s->ffn);
    ADD("token_embd.weight", s->dim, s->vocab, s->type, FILL_RANDOM, 1.0f);
    for (int l = 0; l < s->n_layers; l++) {
#define NM(part) (snprintf(names[k], 64, "blk.%d." part, l), names[k])
        ADD(NM("attn_norm.weight"), s->dim, 1, GGML_TYPE_F32, FILL_ONES, 0);
        ADD(NM("attn_q.weight"), s->dim, q_dim, s->type, FILL_RANDOM, a_dim);
        ADD(NM("attn_k.weight"), s->dim, kv_dim, s->type, FILL_RANDOM, a_dim);
        ADD(NM("attn_v.weight"), s->dim, kv_dim, s->type, FILL_RANDOM, a_dim);
        if (arch->qkv_bias) {
            ADD(NM("attn_q.bias"), q_dim, 1, GGML_TYPE_F32, FILL_RANDOM, 0.1f);
            ADD(NM("attn_k.bias"), kv_dim, 1, GGML_TYPE_F32, FILL_RANDOM, 0.1f);
            ADD(NM("attn_v.bias"), kv_dim, 1, GGML_TYPE_F32, FILL_RANDOM, 0.1f);
        }
        ADD(NM("attn_output.weight"), q_dim, s->dim, s->type, FILL_RANDOM, a_q);
        ADD(NM("ffn_norm.weight"), s->dim, 1, GGML_TYPE_F32, FILL_ONES, 0);
        ADD(NM("ffn_gate.weight"), s->dim, s->ffn, s->type, FILL_RANDOM, a_dim);
        ADD(NM("ffn_up.weight"), s->dim, s->ffn, s->type, FILL_RANDOM, a_dim);
        ADD(NM("ffn_down.weight"), s->ffn, s->dim, s->type, FILL_RANDOM, a_ffn);
#undef NM
    }
    ADD("output_norm.weight", s->dim, 1, GGML_TYPE_F32, FILL_ONES, 0);
    if (!s->tied) ADD("output.weight", s->dim, s->vocab, s->type, FILL_RANDOM, a_dim);
#undef ADD
    bool ok = gw_write(w, path, err, err_cap);
    gw_free(w);
    free(t);
    free(names);
    return ok;
}

/* ---- re-quantization ---- */

typedef struct rq_ctx {
    const gguf_file *f;
    ggml_type type;
} rq_ctx;

/* Tensors that get the new type: matrices whose rows fit its blocks. */
static bool convertible(const gguf_tensor *t, ggml_type type) {
    return t->n_dims >= 2 && t->ne[0] % ggml_blck_size(type) == 0 && t->ne[2] == 1 && t->ne[3] == 1;
}

static void fill_requant(void *ctx, size_t index, void *dst, size_t nbytes) {
    const rq_ctx *c = ctx;
    const gguf_tensor *t = &c->f->tensors[index];
    (void)nbytes;
    float *row = malloc(t->ne[0] * sizeof(float));
    if (!row) abort();
    const size_t rin = row_bytes(t->type, (int64_t)t->ne[0]), rout = row_bytes(c->type, (int64_t)t->ne[0]);
    for (uint64_t r = 0; r < t->ne[1]; r++) {
        dequantize_row(t->type, (const uint8_t *)t->data + r * rin, row, (int64_t)t->ne[0]);
        quantize_row(c->type, row, (uint8_t *)dst + r * rout, (int64_t)t->ne[0]);
    }
    free(row);
}

bool rm_requantize(const char *in, const char *out, ggml_type type, char *err, size_t err_cap) {
    gguf_file *f = gguf_open(in, err, err_cap);
    if (!f) return false;
    gguf_writer *w = gw_new();
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (!gguf_str_eq(f->kv[i].key, "general.alignment")) gw_kv_copy(w, f, &f->kv[i]);
    rq_ctx ctx = {f, type};
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        if (convertible(t, type) && t->type != type)
            gw_tensor(w, name, t->n_dims, t->ne, type, NULL, fill_requant, &ctx);
        else
            gw_tensor(w, name, t->n_dims, t->ne, t->type, t->data, NULL, NULL);
    }
    bool ok = gw_write(w, out, err, err_cap);
    gw_free(w);
    gguf_close(f);
    return ok;
}
