/* Loading a model: hyperparameters from "<arch>.*" keys, weights as
 * pointers into the GGUF mapping, each checked for presence, shape and type
 * (the forward pass does no checks of its own). */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* Every architecture the backend knows; see arch.h. */
static const arch_desc *const ARCHES[] = {&arch_llama, &arch_qwen2};

const arch_desc *arch_find(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof ARCHES / sizeof ARCHES[0]; i++)
        if (strlen(ARCHES[i]->name) == len && memcmp(ARCHES[i]->name, name, len) == 0)
            return ARCHES[i];
    return NULL;
}

typedef struct loader {
    model *m;
    char *err;
    size_t err_cap;
} loader;

static bool fail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(loader *L, const char *fmt, ...) {
    int n = snprintf(L->err, L->err_cap, "%s: ", L->m->file->path);
    if (n < 0 || (size_t)n >= L->err_cap) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + n, L->err_cap - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- hyperparameters ---- */

static bool key_int(loader *L, const char *suffix, bool required, int def, int *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", L->m->arch->name, suffix);
    int64_t v;
    if (!gguf_get_i64(L->m->file, key, &v)) {
        if (gguf_find_kv(L->m->file, key)) return fail(L, "key '%s' is not an integer", key);
        if (required) return fail(L, "missing key '%s'", key);
        *out = def;
        return true;
    }
    if (v <= 0 || v > (1 << 30)) return fail(L, "key '%s' = %lld is out of range", key, (long long)v);
    *out = (int)v;
    return true;
}

static bool key_float(loader *L, const char *suffix, float def, float *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", L->m->arch->name, suffix);
    if (gguf_get_f32(L->m->file, key, out)) return true;
    if (gguf_find_kv(L->m->file, key)) return fail(L, "key '%s' is not a number", key);
    *out = def;
    return true;
}

static bool read_config(loader *L) {
    model_config *c = &L->m->cfg;
    if (!key_int(L, "context_length", true, 0, &c->n_ctx_train) ||
        !key_int(L, "embedding_length", true, 0, &c->dim) ||
        !key_int(L, "block_count", true, 0, &c->n_layers) ||
        !key_int(L, "feed_forward_length", true, 0, &c->ffn_dim) ||
        !key_int(L, "attention.head_count", true, 0, &c->n_heads) ||
        !key_int(L, "attention.head_count_kv", false, c->n_heads, &c->n_kv_heads))
        return false;
    if (c->dim % c->n_heads != 0)
        return fail(L, "embedding_length %d is not a multiple of head_count %d", c->dim, c->n_heads);
    if (!key_int(L, "attention.key_length", false, c->dim / c->n_heads, &c->head_dim) ||
        !key_int(L, "rope.dimension_count", false, c->head_dim, &c->n_rot))
        return false;
    if (c->n_heads % c->n_kv_heads != 0)
        return fail(L, "head_count %d is not a multiple of head_count_kv %d", c->n_heads,
                    c->n_kv_heads);
    if (c->n_rot > c->head_dim || c->n_rot % 2 != 0)
        return fail(L, "rope.dimension_count %d does not fit head size %d", c->n_rot, c->head_dim);

    if (!key_float(L, "rope.freq_base", L->m->arch->rope_base, &c->rope_base) ||
        !key_float(L, "attention.layer_norm_rms_epsilon", L->m->arch->rms_eps, &c->rms_eps))
        return false;

    /* Linear RoPE scaling (position interpolation): either the current
     * rope.scaling.{type,factor} keys or the older rope.scale_linear. */
    float factor = 1.0f;
    char key[160];
    gguf_str type;
    snprintf(key, sizeof key, "%s.rope.scaling.type", L->m->arch->name);
    bool has_type = gguf_get_str(L->m->file, key, &type);
    if (has_type && !gguf_str_eq(type, "none") && !gguf_str_eq(type, "linear"))
        return fail(L, "rope scaling type '%.*s' is not supported (only linear)", (int)type.len,
                    type.ptr);
    if (!has_type || gguf_str_eq(type, "linear")) {
        if (!key_float(L, "rope.scaling.factor", 1.0f, &factor)) return false;
        if (factor == 1.0f && !key_float(L, "rope.scale_linear", 1.0f, &factor)) return false;
    }
    if (!(factor > 0.0f)) return fail(L, "rope scaling factor %g must be > 0", (double)factor);
    c->rope_scale = 1.0f / factor;
    return true;
}

/* ---- tensors ---- */

static void shape_str(char *buf, size_t cap, const uint64_t *ne, uint32_t n_dims) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (uint32_t d = 0; d < n_dims && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, d ? ", %llu" : "%llu", (unsigned long long)ne[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Finds `name` and checks its shape (ne0 = contiguous dim; ne1 = 0 for a
 * vector). NULL with the error set when absent (if required) or wrong. */
static const gguf_tensor *find(loader *L, const char *name, int64_t ne0, int64_t ne1,
                               bool required, bool *ok) {
    const gguf_tensor *t = gguf_find_tensor(L->m->file, name);
    *ok = true;
    if (!t) {
        if (required) *ok = fail(L, "tensor '%s' is missing", name);
        return NULL;
    }
    uint64_t want[2] = {(uint64_t)ne0, (uint64_t)ne1};
    uint32_t want_dims = ne1 ? 2 : 1;
    bool match = t->ne[0] == want[0] && (ne1 ? t->ne[1] == want[1] : t->ne[1] == 1) &&
                 t->ne[2] == 1 && t->ne[3] == 1;
    if (!match) {
        char a[64], b[96];
        shape_str(a, sizeof a, want, want_dims);
        shape_str(b, sizeof b, t->ne, t->n_dims);
        *ok = fail(L, "tensor '%s': expected shape %s, got %s", name, a, b);
        return NULL;
    }
    L->m->n_params += t->ne[0] * t->ne[1];
    return t;
}

static bool get_matrix(loader *L, const char *name, int64_t cols, int64_t rows, bool required,
                       weight *w) {
    bool ok;
    const gguf_tensor *t = find(L, name, cols, rows, required, &ok);
    if (!t) return ok;
    const ggml_type ft = kernels_file_type(t->type);
    if (!kernels_matmul_supported(t->type))
        return fail(L, "tensor '%s': type %s is not supported", name, ggml_type_name(ft));
    if (cols % (int64_t)ggml_blck_size(ft) != 0)
        return fail(L, "tensor '%s': row length %lld is not a multiple of the %s block size %zu",
                    name, (long long)cols, ggml_type_name(ft), ggml_blck_size(ft));
    *w = (weight){.type = t->type, .data = t->data, .rows = rows, .cols = cols};
    return true;
}

static bool get_vector(loader *L, const char *name, int64_t n, bool required, const float **out) {
    bool ok;
    const gguf_tensor *t = find(L, name, n, 0, required, &ok);
    if (!t) return ok;
    if (t->type != GGML_TYPE_F32)
        return fail(L, "tensor '%s': expected type F32, got %s", name, ggml_type_name(t->type));
    *out = t->data;
    return true;
}

static uint64_t weight_size(const weight *w) {
    return w->data ? (uint64_t)row_bytes(w->type, w->cols) * (uint64_t)w->rows : 0;
}

static bool read_layer(loader *L, int il, layer_weights *lw) {
    const model_config *c = &L->m->cfg;
    const int64_t q_dim = (int64_t)c->n_heads * c->head_dim;
    const int64_t kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
    const bool bias = L->m->arch->qkv_bias;
    char n[14][64];
    static const char *const parts[] = {"attn_norm.weight", "ffn_norm.weight", "attn_q.weight",
                                        "attn_k.weight",    "attn_v.weight",   "attn_output.weight",
                                        "ffn_gate.weight",  "ffn_up.weight",   "ffn_down.weight",
                                        "attn_q.bias",      "attn_k.bias",     "attn_v.bias"};
    for (int i = 0; i < 12; i++) snprintf(n[i], sizeof n[i], "blk.%d.%s", il, parts[i]);
    return get_vector(L, n[0], c->dim, true, &lw->attn_norm) &&
           get_vector(L, n[1], c->dim, true, &lw->ffn_norm) &&
           get_matrix(L, n[2], c->dim, q_dim, true, &lw->wq) &&
           get_matrix(L, n[3], c->dim, kv_dim, true, &lw->wk) &&
           get_matrix(L, n[4], c->dim, kv_dim, true, &lw->wv) &&
           get_matrix(L, n[5], q_dim, c->dim, true, &lw->wo) &&
           get_matrix(L, n[6], c->dim, c->ffn_dim, true, &lw->w_gate) &&
           get_matrix(L, n[7], c->dim, c->ffn_dim, true, &lw->w_up) &&
           get_matrix(L, n[8], c->ffn_dim, c->dim, true, &lw->w_down) &&
           get_vector(L, n[9], q_dim, bias, &lw->bq) && get_vector(L, n[10], kv_dim, bias, &lw->bk) &&
           get_vector(L, n[11], kv_dim, bias, &lw->bv);
}

static bool read_weights(loader *L) {
    model *m = L->m;
    model_config *c = &m->cfg;
    /* The vocabulary size comes from the embedding itself. */
    const gguf_tensor *te = gguf_find_tensor(m->file, "token_embd.weight");
    if (!te) return fail(L, "tensor 'token_embd.weight' is missing");
    if (te->ne[1] == 0 || te->ne[1] > (1u << 30))
        return fail(L, "tensor 'token_embd.weight': bad vocabulary size %llu",
                    (unsigned long long)te->ne[1]);
    c->n_vocab = (int)te->ne[1];
    if (!get_matrix(L, "token_embd.weight", c->dim, c->n_vocab, true, &m->w.token_embd) ||
        !get_vector(L, "output_norm.weight", c->dim, true, &m->w.output_norm) ||
        !get_matrix(L, "output.weight", c->dim, c->n_vocab, false, &m->w.output))
        return false;
    const bool tied = m->w.output.data == NULL;
    if (tied) m->w.output = m->w.token_embd;

    m->w.layers = calloc((size_t)c->n_layers, sizeof *m->w.layers);
    if (!m->w.layers) return fail(L, "out of memory");
    uint64_t bytes = 0;
    for (int il = 0; il < c->n_layers; il++) {
        layer_weights *lw = &m->w.layers[il];
        if (!read_layer(L, il, lw)) return false;
        const weight *mats[] = {&lw->wq, &lw->wk, &lw->wv, &lw->wo, &lw->w_gate, &lw->w_up,
                                &lw->w_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) bytes += weight_size(mats[i]);
        bytes += 2u * (uint64_t)c->dim * sizeof(float);
    }
    /* Per token: every matrix once, one embedding row, the LM head. */
    bytes += row_bytes(m->w.token_embd.type, c->dim) + weight_size(&m->w.output) +
             (uint64_t)c->dim * sizeof(float);
    m->weight_bytes = bytes;
    return true;
}

/* Q8_0 / Q4_0 matrices go into the kernels' split layout (kernels.h),
 * rewritten in place in gguf_open's own copy of the file, with their tensor
 * types updated to say so. A file mapping or a caller's buffer keeps the
 * file layout, which the kernels take as well. */
static void split_matrices(gguf_file *f) {
    if (!gguf_unseal(f)) return;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (t->ne[2] != 1 || t->ne[3] != 1) continue;
        const ggml_type st = kernels_split_type(t->type, (int64_t)t->ne[1], (int64_t)t->ne[0]);
        if (st == t->type) continue;
        if (kernels_split_rows(t->type, (void *)t->data, (int64_t)t->ne[1], (int64_t)t->ne[0]))
            t->type = st;
    }
    gguf_seal(f);
}

model *model_from_gguf(gguf_file *f, char *err, size_t err_cap) {
    model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_cap, "%s: out of memory", f->path);
        return NULL;
    }
    m->file = f;
    split_matrices(f);
    loader L = {m, err, err_cap};
    gguf_str arch;
    bool ok = true;
    if (!gguf_get_str(f, "general.architecture", &arch)) {
        ok = fail(&L, "missing key 'general.architecture'");
    } else if (!(m->arch = arch_find(arch.ptr, arch.len))) {
        ok = fail(&L, "architecture '%.*s' is not supported (known: llama, qwen2)", (int)arch.len,
                  arch.ptr);
    }
    ok = ok && read_config(&L) && read_weights(&L);
    if (!ok) {
        m->file = NULL; /* the caller keeps f on failure */
        model_free(m);
        return NULL;
    }
    gguf_str name;
    if (gguf_get_str(f, "general.name", &name))
        snprintf(m->name, sizeof m->name, "%.*s", (int)name.len, name.ptr);
    else
        snprintf(m->name, sizeof m->name, "%s", m->arch->name);
    return m;
}

model *model_load(const char *path, char *err, size_t err_cap) {
    gguf_file *f = gguf_open(path, err, err_cap);
    if (!f) return NULL;
    model *m = model_from_gguf(f, err, err_cap);
    if (!m) gguf_close(f);
    return m;
}

void model_free(model *m) {
    if (!m) return;
    free(m->w.layers);
    gguf_close(m->file);
    free(m);
}
