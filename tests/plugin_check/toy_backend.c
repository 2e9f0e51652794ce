/* toy: a model-free backend for weft-plugin-check's backend and KV rules.
 * A row's logits are a hash of everything it attends to (the cache, its
 * ancestors in the batch, itself), so any attention mistake changes them.
 * Built twice: "toy" is correct; with TOY_BROKEN, "broken-tree" lets each
 * row attend to the rows before it in the batch instead of its ancestors
 * (tree eval no longer equals path eval), which backend.tree-eval must
 * catch. */
#include <string.h>

#include <weft/sdk.h>

#ifdef TOY_BROKEN
#define TOY_NAME "broken-tree"
#define TOY_DOC "Test fixture: tree batches attend causally instead of along parents (broken)"
#else
#define TOY_NAME "toy"
#define TOY_DOC "Test fixture: a model-free backend whose logits hash what each row attends to"
#endif

enum { N_VOCAB = 258, N_CTX = 256, LAYERS = 2, HEAD_DIM = 4 };

typedef struct toy {
    weft_state base;
    weft_model_info info;
    int32_t len;
    weft_token tok[N_CTX];
    int32_t pos[N_CTX];
    uint64_t h[N_CTX];          /* hash of the sequence up to and including the entry */
    float keys[N_CTX][HEAD_DIM]; /* the same in every layer */
} toy;

static uint64_t mix(uint64_t h, weft_token t, int32_t pos) {
    h ^= (uint64_t)(uint32_t)t * 0x9e3779b97f4a7c15ull + (uint64_t)(uint32_t)pos * 0xbf58476d1ce4e5b9ull;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static void set_entry(toy *m, int32_t slot, weft_token t, int32_t pos, uint64_t h) {
    m->tok[slot] = t, m->pos[slot] = pos, m->h[slot] = h;
    for (int d = 0; d < HEAD_DIM; d++) m->keys[slot][d] = (float)((h >> (8 * d)) & 0xff) / 255.0f;
}

static weft_status toy_create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    toy *m = weft_state_new(env, sizeof *m);
    if (!m) return WEFT_ERR_NOMEM;
    m->info = (weft_model_info){.struct_size = sizeof m->info, .arch = "toy", .name = TOY_NAME, .n_vocab = N_VOCAB,
                                .n_ctx = N_CTX, .n_ctx_train = N_CTX, .n_layers = LAYERS, .n_embd = HEAD_DIM,
                                .n_heads = 1, .n_kv_heads = 1, .head_dim = HEAD_DIM, .bos = 1, .eos = 0, .add_bos = true};
    *self = m;
    return WEFT_OK;
}

static const weft_model_info *toy_info(void *self) { return &((toy *)self)->info; }

/* Tokens are bytes: 0 is EOS, 1 BOS, byte b is token b + 2. */
static weft_status toy_tokenize(void *self, const char *text, size_t len, bool add_special, bool parse_special,
                                weft_token *out, size_t cap, size_t *n_out) {
    (void)self, (void)parse_special;
    size_t need = len + (add_special ? 1 : 0), w = 0;
    *n_out = need;
    if (need > cap) return WEFT_ERR_INVALID;
    if (add_special) out[w++] = 1;
    for (size_t i = 0; i < len; i++) out[w++] = (unsigned char)text[i] + 2;
    return WEFT_OK;
}

static weft_status toy_token_bytes(void *self, weft_token t, bool special, char *buf, size_t cap, size_t *len) {
    (void)self, (void)special;
    *len = t >= 2 && t < N_VOCAB ? 1 : 0;
    if (*len > cap) return WEFT_ERR_INVALID;
    if (*len) buf[0] = (char)(t - 2);
    return WEFT_OK;
}

static uint32_t toy_token_attr(void *self, weft_token t) {
    (void)self;
    return t == 0 ? WEFT_TOKEN_CONTROL | WEFT_TOKEN_EOG : t == 1 ? WEFT_TOKEN_CONTROL : WEFT_TOKEN_NORMAL;
}

static weft_status toy_eval(void *self, const weft_batch *b) {
    toy *m = self;
    if (b->n_tokens > (size_t)(N_CTX - m->len)) {
        weft_error(m->base.env, "a batch of %zu tokens does not fit", b->n_tokens);
        return WEFT_ERR_CONTEXT_FULL;
    }
    int32_t base = m->len;
    uint64_t cache_h = base ? m->h[base - 1] : 0;
    for (size_t i = 0; i < b->n_tokens; i++) {
#ifdef TOY_BROKEN
        int32_t par = (int32_t)i - 1; /* the defect: the row before, not the parent */
#else
        int32_t par = b->parents ? b->parents[i] : (int32_t)i - 1;
#endif
        if (b->tokens[i] < 0 || b->tokens[i] >= N_VOCAB) {
            weft_error(m->base.env, "token %d outside the vocabulary", b->tokens[i]);
            return WEFT_ERR_INVALID;
        }
        int32_t pos = b->positions ? b->positions[i] : base + (int32_t)i;
        set_entry(m, base + (int32_t)i, b->tokens[i], pos, mix(par >= 0 ? m->h[base + par] : cache_h, b->tokens[i], pos));
    }
    m->len = base + (int32_t)b->n_tokens;
    for (size_t k = 0; k < b->n_out; k++) {
        uint64_t h = m->h[base + b->out_rows[k]];
        for (int32_t t = 0; t < N_VOCAB; t++)
            b->logits[k * N_VOCAB + (size_t)t] = (float)(mix(h, t, 0) % 8001) / 1000.0f - 4.0f;
    }
    return WEFT_OK;
}

static int32_t toy_kv_len(void *self) { return ((toy *)self)->len; }

static weft_status toy_kv_keep(void *self, int32_t n_tail, const int32_t *keep, int32_t n_keep) {
    toy *m = self;
    if (n_tail < 0 || n_tail > m->len || n_keep < 0 || n_keep > n_tail) {
        weft_error(m->base.env, "kv_keep(%d, %d) with %d entries", n_tail, n_keep, m->len);
        return WEFT_ERR_INVALID;
    }
    int32_t base = m->len - n_tail;
    for (int32_t j = 0; j < n_keep; j++) /* ascending, so moves never overwrite a row still needed */
        set_entry(m, base + j, m->tok[base + keep[j]], m->pos[base + keep[j]], m->h[base + keep[j]]);
    m->len = base + n_keep;
    return WEFT_OK;
}

static weft_status toy_kv_view(void *self, int32_t layer, weft_kv_view *out) {
    toy *m = self;
    if (layer < 0 || layer >= LAYERS) return WEFT_ERR_INVALID;
    *out = (weft_kv_view){.struct_size = sizeof *out, .n_slots = m->len, .n_kv_heads = 1, .head_dim = HEAD_DIM,
                          .type = WEFT_KV_F32, .row_stride = sizeof m->keys[0], .keys = m->keys, .values = m->keys,
                          .positions = m->pos};
    return WEFT_OK;
}

/* Keeps the planned slots (the same in every layer) and re-hashes what is
 * left, so a plan that keeps everything changes nothing. */
static weft_status toy_kv_compact(void *self, const weft_kv_plan *p) {
    toy *m = self;
    if (p->n_layers == 0) return WEFT_OK;
    if (p->n_layers != LAYERS || p->head_wise) {
        weft_error(m->base.env, "kv_compact: %d layers%s (toy keeps one list for all %d layers)", p->n_layers,
                   p->head_wise ? ", head-wise" : "", LAYERS);
        return WEFT_ERR_UNSUPPORTED;
    }
    for (int32_t l = 1; l < LAYERS; l++)
        if (p->n_keep[l] != p->n_keep[0] || memcmp(p->keep[l], p->keep[0], (size_t)p->n_keep[0] * sizeof(int32_t))) {
            weft_error(m->base.env, "kv_compact: layers keep different slots");
            return WEFT_ERR_UNSUPPORTED;
        }
    uint64_t h = 0;
    for (int32_t j = 0; j < p->n_keep[0]; j++) {
        int32_t s = p->keep[0][j], pos = p->reposition ? j : m->pos[s];
        set_entry(m, j, m->tok[s], pos, h = mix(h, m->tok[s], pos));
    }
    m->len = p->n_keep[0];
    return WEFT_OK;
}

static const weft_backend_vtable toy_vtable = {
    .struct_size = sizeof(weft_backend_vtable),
    .info = toy_info,
    .tokenize = toy_tokenize,
    .token_bytes = toy_token_bytes,
    .token_attr = toy_token_attr,
    .eval = toy_eval,
    .kv_len = toy_kv_len,
    .kv_keep = toy_kv_keep,
    .kv_view = toy_kv_view,
    .kv_compact = toy_kv_compact,
};

static const weft_component_desc toy_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_BACKEND,
    .name = TOY_NAME,
    .version = "1.0",
    .description = TOY_DOC,
    .create = toy_create,
    .destroy = weft_state_free,
    .vtable = &toy_vtable,
};

static const weft_component_desc *const components[] = {&toy_desc};
WEFT_PLUGIN_DEFINE(components)
