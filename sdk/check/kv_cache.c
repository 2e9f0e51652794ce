/* A synthetic KV cache that KV compressors can plan over without a model:
 * a backend instance living inside the checker whose kv_view() shows random
 * keys, values and accumulated attention for any cache length. Everything
 * else a backend does is refused, since a compressor only reads views. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

struct chk_cache {
    weft_instance inst;
    weft_env *env;
    weft_model_info info;
    int32_t len;
    float *keys, *values, *attn; /* CHK_CACHE_MAX slots */
    int32_t *positions;
};

enum { LAYERS = 4, KV_HEADS = 2, HEADS = 4, HEAD_DIM = 8 };

static chk_cache *self_of(void *self) { return self; }

static const weft_model_info *cache_info(void *self) { return &self_of(self)->info; }

static weft_status refuse(void *self) {
    chk_cache *c = self_of(self);
    c->env->host->error(c->env, "the checker's synthetic cache only offers kv_len() and kv_view()");
    return WEFT_ERR_UNSUPPORTED;
}

static weft_status cache_tokenize(void *self, const char *text, size_t len, bool add_special, bool parse_special,
                                  weft_token *out, size_t cap, size_t *n_out) {
    (void)text, (void)len, (void)add_special, (void)parse_special, (void)out, (void)cap;
    *n_out = 0;
    return refuse(self);
}

static weft_status cache_token_bytes(void *self, weft_token tok, bool special, char *buf, size_t cap, size_t *len) {
    (void)tok, (void)special, (void)buf, (void)cap;
    *len = 0;
    return refuse(self);
}

static uint32_t cache_token_attr(void *self, weft_token tok) {
    (void)self, (void)tok;
    return WEFT_TOKEN_UNKNOWN;
}

static weft_status cache_eval(void *self, const weft_batch *b) {
    (void)b;
    return refuse(self);
}

static int32_t cache_kv_len(void *self) { return self_of(self)->len; }

static weft_status cache_kv_keep(void *self, int32_t n_tail, const int32_t *keep, int32_t n_keep) {
    (void)n_tail, (void)keep, (void)n_keep;
    return refuse(self);
}

static weft_status cache_kv_view(void *self, int32_t layer, weft_kv_view *out) {
    chk_cache *c = self_of(self);
    if (layer < 0 || layer >= LAYERS) {
        c->env->host->error(c->env, "kv_view: layer %d outside [0, %d)", layer, LAYERS);
        return WEFT_ERR_INVALID;
    }
    size_t per_layer = (size_t)CHK_CACHE_MAX * KV_HEADS * HEAD_DIM;
    *out = (weft_kv_view){.struct_size = sizeof *out, .n_slots = c->len, .n_kv_heads = KV_HEADS,
                          .head_dim = HEAD_DIM, .type = WEFT_KV_F32, .row_stride = HEAD_DIM * sizeof(float),
                          .keys = c->keys + (size_t)layer * per_layer, .values = c->values + (size_t)layer * per_layer,
                          .positions = c->positions, .attn_accum = c->attn + (size_t)layer * CHK_CACHE_MAX * HEADS};
    return WEFT_OK;
}

static const weft_backend_vtable cache_vtable = {
    .struct_size = sizeof(weft_backend_vtable),
    .info = cache_info,
    .tokenize = cache_tokenize,
    .token_bytes = cache_token_bytes,
    .token_attr = cache_token_attr,
    .eval = cache_eval,
    .kv_len = cache_kv_len,
    .kv_keep = cache_kv_keep,
    .kv_view = cache_kv_view,
};

static weft_status no_create(const weft_env *env, const weft_value *args, void **self) {
    (void)env, (void)args, (void)self;
    return WEFT_ERR_UNSUPPORTED;
}

static void no_destroy(void *self) { (void)self; }

static const weft_component_desc cache_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_BACKEND,
    .name = "check-cache",
    .version = "1",
    .description = "weft-plugin-check's synthetic KV cache",
    .create = no_create,
    .destroy = no_destroy,
    .vtable = &cache_vtable,
};

chk_cache *chk_cache_new(uint64_t seed) {
    chk_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    size_t kv = (size_t)LAYERS * CHK_CACHE_MAX * KV_HEADS * HEAD_DIM;
    c->keys = malloc(kv * sizeof *c->keys);
    c->values = malloc(kv * sizeof *c->values);
    c->attn = malloc((size_t)LAYERS * CHK_CACHE_MAX * HEADS * sizeof *c->attn);
    c->positions = malloc(CHK_CACHE_MAX * sizeof *c->positions);
    c->env = weft_env_new(NULL, "backend 'check-cache'");
    if (!c->keys || !c->values || !c->attn || !c->positions || !c->env) {
        chk_cache_free(c);
        return NULL;
    }
    weft_rng rng;
    weft_rng_seed(&rng, seed);
    for (size_t i = 0; i < kv; i++) c->keys[i] = (float)chk_normal(&rng), c->values[i] = (float)chk_normal(&rng);
    for (size_t i = 0; i < (size_t)LAYERS * CHK_CACHE_MAX * HEADS; i++) c->attn[i] = (float)chk_uniform(&rng);
    for (int32_t i = 0; i < CHK_CACHE_MAX; i++) c->positions[i] = i;
    c->info = (weft_model_info){.struct_size = sizeof c->info, .arch = "check", .name = "check-cache",
                                .n_vocab = CHK_VOCAB, .n_ctx = CHK_CACHE_MAX, .n_ctx_train = CHK_CACHE_MAX,
                                .n_layers = LAYERS, .n_embd = HEADS * HEAD_DIM, .n_heads = HEADS,
                                .n_kv_heads = KV_HEADS, .head_dim = HEAD_DIM, .bos = 1, .eos = CHK_EOG};
    c->inst = (weft_instance){.struct_size = sizeof c->inst, .desc = &cache_desc, .self = c, .env = c->env};
    return c;
}

void chk_cache_set_len(chk_cache *c, int32_t len) { c->len = len < CHK_CACHE_MAX ? len : CHK_CACHE_MAX; }

weft_instance *chk_cache_instance(chk_cache *c) { return &c->inst; }

void chk_cache_free(chk_cache *c) {
    if (!c) return;
    free(c->keys);
    free(c->values);
    free(c->attn);
    free(c->positions);
    weft_env_free(c->env);
    free(c);
}
