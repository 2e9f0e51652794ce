/* The "llama" backend component: GGUF transformers (llama, qwen2) on the
 * CPU. Glue only: the model, tokenizer, KV cache and forward pass live in
 * the weft_llama_impl library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft/sdk.h>

#include "forward.h"
#include "kernels.h"
#include "kvcache.h"
#include "model.h"
#include "tokenizer.h"

typedef struct llama_backend {
    const weft_env *env;
    model *m;
    llm_vocab *vocab;
    kv_cache kv;
    forward_state *fs;
    weft_model_info info;
    char err[1024];
} llama_backend;

static const char *const KV_TYPES[] = {"f32", "f16", "q8_0", NULL};
static const char *const KERNELS[] = {"auto", "scalar", "avx2", "avx512", NULL};

enum { P_MODEL, P_N_CTX, P_KV_TYPE, P_KERNELS, P_MAX_BATCH };

static const weft_param_desc PARAMS[] = {
    [P_MODEL] = {.struct_size = sizeof(weft_param_desc),
                 .name = "model",
                 .type = WEFT_TYPE_STRING,
                 .flags = WEFT_PARAM_REQUIRED | WEFT_PARAM_FILE,
                 .doc = "GGUF model file (llama or qwen2 architecture)"},
    [P_N_CTX] = WEFT_PARAM_INT("n_ctx", 0, 1 << 24, "0",
                               "KV cache size in tokens; 0 = the model's context length"),
    [P_KV_TYPE] = {.struct_size = sizeof(weft_param_desc),
                   .name = "kv_type",
                   .type = WEFT_TYPE_STRING,
                   .def = "\"f32\"",
                   .doc = "KV cache element type (q8_0 needs a head size multiple of 32)",
                   .choices = KV_TYPES},
    [P_KERNELS] = {.struct_size = sizeof(weft_param_desc),
                   .name = "kernels",
                   .type = WEFT_TYPE_STRING,
                   .def = "\"auto\"",
                   .doc = "CPU kernels: best available, portable scalar, AVX2, or AVX-512 VNNI (process-wide)",
                   .choices = KERNELS},
    [P_MAX_BATCH] = WEFT_PARAM_INT("max_batch", 1, 65536, "64",
                                   "tokens per forward chunk; larger batches run in chunks"),
};

static weft_kv_type parse_kv_type(const char *s) {
    return !strcmp(s, "f16") ? WEFT_KV_F16 : !strcmp(s, "q8_0") ? WEFT_KV_Q8_0 : WEFT_KV_F32;
}

static void llama_destroy(void *self) {
    llama_backend *b = self;
    if (!b) return;
    forward_free(b->fs);
    kv_cache_free(&b->kv);
    vocab_free(b->vocab);
    model_free(b->m);
    free(b);
}

static weft_status fail(llama_backend *b, const weft_env *env, weft_status st) {
    weft_error(env, "%s", b->err);
    llama_destroy(b);
    return st;
}

static weft_status llama_create(const weft_env *env, const weft_value *args, void **self) {
    llama_backend *b = calloc(1, sizeof *b);
    if (!b) {
        weft_error(env, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    b->env = env;
    const char *kern = args[P_KERNELS].present ? args[P_KERNELS].u.s : "auto";
    const int force = kernel_isa_from_name(kern); /* "auto": -1, the best there is */
    const kernel_isa isa = kernels_init(force);
    if (force >= 0 && (int)isa != force) {
        snprintf(b->err, sizeof b->err, "kernels '%s' are not available on this CPU", kern);
        return fail(b, env, WEFT_ERR_UNSUPPORTED);
    }

    if (!args[P_MODEL].present) {
        snprintf(b->err, sizeof b->err, "parameter 'model' is required");
        return fail(b, env, WEFT_ERR_INVALID);
    }
    b->m = model_load(args[P_MODEL].u.s, b->err, sizeof b->err);
    if (!b->m) return fail(b, env, WEFT_ERR_IO);
    b->vocab = vocab_load(b->m->file, b->err, sizeof b->err);
    if (!b->vocab) return fail(b, env, WEFT_ERR_IO);
    const model_config *c = &b->m->cfg;
    if (vocab_n_tokens(b->vocab) > c->n_vocab) {
        snprintf(b->err, sizeof b->err, "%s: the tokenizer has %d tokens, the embedding only %d rows",
                 b->m->file->path, vocab_n_tokens(b->vocab), c->n_vocab);
        return fail(b, env, WEFT_ERR_IO);
    }

    const int64_t n_ctx = args[P_N_CTX].present && args[P_N_CTX].u.i > 0 ? args[P_N_CTX].u.i : c->n_ctx_train;
    const weft_kv_type kv_type = parse_kv_type(args[P_KV_TYPE].present ? args[P_KV_TYPE].u.s : "f32");
    if (!kv_cache_init(&b->kv, c, kv_type, (int)n_ctx, b->err, sizeof b->err))
        return fail(b, env, WEFT_ERR_INVALID);
    const int max_batch = args[P_MAX_BATCH].present ? (int)args[P_MAX_BATCH].u.i : 64;
    b->fs = forward_new(b->m, &b->kv, max_batch, env, b->err, sizeof b->err);
    if (!b->fs) return fail(b, env, WEFT_ERR_NOMEM);

    b->info = (weft_model_info){
        .struct_size = sizeof b->info,
        .arch = b->m->arch->name,
        .name = b->m->name,
        .n_vocab = c->n_vocab,
        .n_ctx = (int32_t)n_ctx,
        .n_ctx_train = c->n_ctx_train,
        .n_layers = c->n_layers,
        .n_embd = c->dim,
        .n_heads = c->n_heads,
        .n_kv_heads = c->n_kv_heads,
        .head_dim = c->head_dim,
        .bos = vocab_bos(b->vocab),
        .eos = vocab_eos(b->vocab),
        .add_bos = vocab_add_bos(b->vocab),
        .n_params = b->m->n_params,
        .weight_bytes = b->m->weight_bytes,
    };
    weft_log(env, WEFT_LOG_INFO, "%s: %s, %d layers, dim %d, %llu params, kv %s x %d, kernels %s",
             b->m->file->path, b->m->arch->name, c->n_layers, c->dim,
             (unsigned long long)b->m->n_params, kv_type_name(kv_type), (int)n_ctx,
             kernel_isa_name(isa));
    *self = b;
    return WEFT_OK;
}

/* ---- weft_backend_vtable ---- */

static const weft_model_info *llama_info(void *self) { return &((llama_backend *)self)->info; }

static weft_status llama_tokenize(void *self, const char *text, size_t len, bool add_special,
                                  bool parse_special, weft_token *out, size_t cap, size_t *n_out) {
    llama_backend *b = self;
    return vocab_tokenize(b->vocab, text, len, add_special, parse_special, out, cap, n_out);
}

static weft_status llama_token_bytes(void *self, weft_token tok, bool special, char *buf,
                                     size_t cap, size_t *len) {
    return vocab_token_bytes(((llama_backend *)self)->vocab, tok, special, buf, cap, len);
}

static uint32_t llama_token_attr(void *self, weft_token tok) {
    return vocab_token_attr(((llama_backend *)self)->vocab, tok);
}

/* Forwards a failing call's message to the host. */
static weft_status report(llama_backend *b, weft_status st) {
    if (st != WEFT_OK) weft_error(b->env, "%s", b->err);
    return st;
}

static weft_status llama_eval(void *self, const weft_batch *batch) {
    llama_backend *b = self;
    return report(b, forward_eval(b->fs, batch, b->err, sizeof b->err));
}

static int32_t llama_kv_len(void *self) { return kv_cache_len(&((llama_backend *)self)->kv); }

static weft_status llama_kv_keep(void *self, int32_t n_tail, const int32_t *keep, int32_t n_keep) {
    llama_backend *b = self;
    return report(b, kv_cache_keep(&b->kv, n_tail, keep, n_keep, b->err, sizeof b->err));
}

static weft_status llama_kv_view(void *self, int32_t layer, weft_kv_view *out) {
    llama_backend *b = self;
    return report(b, kv_cache_view(&b->kv, layer, out, b->err, sizeof b->err));
}

static weft_status llama_kv_compact(void *self, const weft_kv_plan *plan) {
    llama_backend *b = self;
    const rope_params rp = model_rope(b->m);
    return report(b, kv_cache_compact(&b->kv, plan, &rp, b->err, sizeof b->err));
}

static const weft_backend_vtable VTABLE = {
    .struct_size = sizeof(weft_backend_vtable),
    .info = llama_info,
    .tokenize = llama_tokenize,
    .token_bytes = llama_token_bytes,
    .token_attr = llama_token_attr,
    .eval = llama_eval,
    .kv_len = llama_kv_len,
    .kv_keep = llama_kv_keep,
    .kv_view = llama_kv_view,
    .kv_compact = llama_kv_compact,
};

static const weft_component_desc LLAMA = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_BACKEND,
    .name = "llama",
    .version = "1.0",
    .description = "GGUF llama/qwen2 transformers on the CPU (F32/F16/Q8_0/Q4_0/Q4_K/Q6_K)",
    .params = PARAMS,
    .n_params = WEFT_COUNT_OF(PARAMS),
    .create = llama_create,
    .destroy = llama_destroy,
    .vtable = &VTABLE,
};

static const weft_component_desc *const COMPONENTS[] = {&LLAMA};
WEFT_PLUGIN_DEFINE(COMPONENTS)
