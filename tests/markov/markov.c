/* markov: a test-only backend whose next-token distribution is known exactly
 * (markov_model.h), so tests can check the decode loop against independent
 * arithmetic instead of a model.
 *
 * It implements the whole backend vtable the decode loop uses: tokenizer,
 * tree evaluation and KV rollback. It is strict where a real backend would be
 * lenient, to catch core bugs: every position must be its parent's + 1, and
 * the cache must be a single chain whenever it is extended or trimmed (the
 * kept rows of a tree form one root-to-node path).
 *
 * With n_layers > 1 it supports layer-range evaluation (early-exit
 * drafting): the first L layers give logits blended from the true ones and
 * those of another chain, (L / n_layers) : (1 - L / n_layers), so shallow
 * exits are often wrong and deep ones mostly right. It enforces the ABI's
 * rule strictly: while the cache holds an entry from such a partial
 * evaluation, a full evaluation is refused (roll them back first). */
#include <stdio.h>
#include <string.h>

#include <weft/sdk.h>

#include "markov_model.h"

typedef struct markov {
    weft_state base;
    int32_t n_vocab, n_ctx;
    int64_t seed;
    double sharpness, eos_logit;
    weft_model_info info;
    /* the cache: one entry per evaluated token */
    int32_t len;
    weft_token *tok;
    int32_t *pos;
    int32_t *from; /* slot of the token before it, -1 for the first */
    uint8_t *partial; /* evaluated through fewer than n_layers layers */
    int32_t n_layers;
    float alt[MARKOV_MAX_VOCAB];
    int64_t n_evals, n_partial_evals, n_eval_tokens;
} markov;

enum { P_N_VOCAB, P_N_CTX, P_SEED, P_SHARPNESS, P_EOS_LOGIT, P_N_LAYERS, P_COUNT };

static const weft_param_desc params[] = {
    WEFT_PARAM_INT("n_vocab", MARKOV_MIN_VOCAB, MARKOV_MAX_VOCAB, "16",
                   "Vocabulary size: BOS, EOS and n_vocab - 2 characters"),
    WEFT_PARAM_INT("n_ctx", 8, 65536, "512", "Cache capacity in tokens"),
    WEFT_PARAM("seed", WEFT_TYPE_INT, 0, 0, 0, "1", "Which chain: seeds the transition hash"),
    WEFT_PARAM_DOUBLE_MIN("sharpness", 0, "3", "Logit scale (> 0): larger makes transitions more certain"),
    WEFT_PARAM("eos_logit", WEFT_TYPE_DOUBLE, 0, 0, 0, "-4", "Logit of EOS (token 1) after every token"),
    WEFT_PARAM_INT("n_layers", 1, 64, "1", "Layers reported; n_layers_run < n_layers gives blended logits"),
};

static void markov_destroy(void *self) {
    markov *m = self;
    if (!m) return;
    const weft_env *env = m->base.env;
    weft_free(env, m->tok);
    weft_free(env, m->pos);
    weft_free(env, m->from);
    weft_free(env, m->partial);
    weft_state_free(m);
}

static weft_status markov_create(const weft_env *env, const weft_value *args, void **self) {
    if (!(args[P_SHARPNESS].u.d > 0)) {
        weft_error(env, "sharpness must be > 0, got %g", args[P_SHARPNESS].u.d);
        return WEFT_ERR_INVALID;
    }
    markov *m = weft_state_new(env, sizeof *m);
    if (!m) return WEFT_ERR_NOMEM;
    m->n_vocab = (int32_t)args[P_N_VOCAB].u.i;
    m->n_ctx = (int32_t)args[P_N_CTX].u.i;
    m->seed = args[P_SEED].u.i;
    m->sharpness = args[P_SHARPNESS].u.d;
    m->eos_logit = args[P_EOS_LOGIT].u.d;
    m->n_layers = (int32_t)args[P_N_LAYERS].u.i;
    size_t n = (size_t)m->n_ctx;
    m->tok = weft_calloc(env, n, sizeof *m->tok);
    m->pos = weft_calloc(env, n, sizeof *m->pos);
    m->from = weft_calloc(env, n, sizeof *m->from);
    m->partial = weft_calloc(env, n, sizeof *m->partial);
    if (!m->tok || !m->pos || !m->from || !m->partial) {
        markov_destroy(m);
        weft_error(env, "out of memory for a cache of %zu tokens", n);
        return WEFT_ERR_NOMEM;
    }
    m->info = (weft_model_info){.struct_size = sizeof m->info, .arch = "markov", .name = "markov",
                                .n_vocab = m->n_vocab, .n_ctx = m->n_ctx, .n_ctx_train = m->n_ctx,
                                .n_layers = m->n_layers, .n_embd = 1, .n_heads = 1, .n_kv_heads = 1, .head_dim = 1,
                                .bos = MARKOV_BOS, .eos = MARKOV_EOS, .add_bos = true};
    *self = m;
    return WEFT_OK;
}

static const weft_model_info *markov_info(void *self) { return &((markov *)self)->info; }

/* parse_special is accepted and ignored: no text spells a control token. */
static weft_status markov_tokenize(void *self, const char *text, size_t len, bool add_special,
                                   bool parse_special, weft_token *out, size_t cap, size_t *n_out) {
    markov *m = self;
    (void)parse_special;
    *n_out = 0;
    for (size_t i = 0; i < len; i++)
        if (markov_token_of((unsigned char)text[i], m->n_vocab) < 0) {
            weft_error(m->base.env, "byte 0x%02x at offset %zu is not in the vocabulary (n_vocab %d: \"%.*s\")",
                       (unsigned char)text[i], i, m->n_vocab, m->n_vocab - 2, markov_alphabet());
            return WEFT_ERR_INVALID;
        }
    size_t need = len + (add_special ? 1 : 0), w = 0;
    *n_out = need;
    if (need > cap) return WEFT_ERR_INVALID;
    if (add_special) out[w++] = MARKOV_BOS;
    for (size_t i = 0; i < len; i++) out[w++] = markov_token_of((unsigned char)text[i], m->n_vocab);
    return WEFT_OK;
}

static weft_status markov_token_bytes(void *self, weft_token t, bool special, char *buf, size_t cap,
                                      size_t *len) {
    markov *m = self;
    if (t < 0 || t >= m->n_vocab) {
        weft_error(m->base.env, "token %d outside the vocabulary [0, %d)", t, m->n_vocab);
        return WEFT_ERR_INVALID;
    }
    const char *s = t == MARKOV_BOS ? "<s>" : t == MARKOV_EOS ? "</s>" : NULL;
    char c = s ? 0 : markov_char_of(t);
    size_t n = s ? (special ? strlen(s) : 0) : 1;
    *len = n;
    if (n > cap) return WEFT_ERR_INVALID;
    if (s) memcpy(buf, s, n);
    else buf[0] = c;
    return WEFT_OK;
}

static uint32_t markov_token_attr(void *self, weft_token t) {
    markov *m = self;
    if (t < 0 || t >= m->n_vocab) return WEFT_TOKEN_UNKNOWN;
    if (t == MARKOV_EOS) return WEFT_TOKEN_CONTROL | WEFT_TOKEN_EOG;
    return t == MARKOV_BOS ? WEFT_TOKEN_CONTROL : WEFT_TOKEN_NORMAL;
}

/* True when every entry follows the one before it. */
static bool is_chain(const markov *m) {
    for (int32_t k = 0; k < m->len; k++)
        if (m->from[k] != k - 1) return false;
    return true;
}

static weft_status markov_eval(void *self, const weft_batch *b) {
    markov *m = self;
    const weft_env *env = m->base.env;
    size_t n = b->n_tokens;
    if (n == 0) return WEFT_OK;
    if (!b->tokens) {
        weft_error(env, "eval: no tokens");
        return WEFT_ERR_INVALID;
    }
    if (n > (size_t)(m->n_ctx - m->len)) {
        weft_error(env, "eval: a batch of %zu tokens does not fit (%d of %d cache entries used)", n, m->len,
                   m->n_ctx);
        return WEFT_ERR_CONTEXT_FULL;
    }
    if (!is_chain(m)) {
        weft_error(env, "eval: the cache still holds an unresolved tree (kv_keep it first)");
        return WEFT_ERR_INVALID;
    }
    int32_t run = WEFT_HAS_FIELD(b, weft_batch, n_layers_run) ? b->n_layers_run : 0;
    if (run < 0) {
        weft_error(env, "eval: n_layers_run %d < 0", run);
        return WEFT_ERR_INVALID;
    }
    bool partial = run > 0 && run < m->n_layers;
    if (WEFT_HAS_FIELD(b, weft_batch, signals) && b->signals != 0) {
        weft_error(env, "eval: signals are not supported");
        return WEFT_ERR_UNSUPPORTED;
    }
    for (int32_t k = 0; !partial && k < m->len; k++)
        if (m->partial[k]) {
            weft_error(env, "eval: cache entry %d came from a partial evaluation (n_layers_run) and was not rolled back",
                       k);
            return WEFT_ERR_INVALID;
        }
    if (b->n_out > n || (b->n_out && (!b->out_rows || !b->logits))) {
        weft_error(env, "eval: %zu output rows for %zu tokens (out_rows %s, logits %s)", b->n_out, n,
                   b->out_rows ? "set" : "NULL", b->logits ? "set" : "NULL");
        return WEFT_ERR_INVALID;
    }
    for (size_t k = 0; k < b->n_out; k++)
        if (b->out_rows[k] < 0 || (size_t)b->out_rows[k] >= n || (k && b->out_rows[k] <= b->out_rows[k - 1])) {
            weft_error(env, "eval: out_rows[%zu] = %d is out of range or not ascending", k, b->out_rows[k]);
            return WEFT_ERR_INVALID;
        }
    /* validate everything before touching the cache */
    int32_t base = m->len;
    for (size_t i = 0; i < n; i++) {
        int32_t par = b->parents ? b->parents[i] : (int32_t)i - 1;
        if (b->tokens[i] < 0 || b->tokens[i] >= m->n_vocab) {
            weft_error(env, "eval: token %d at row %zu is outside the vocabulary [0, %d)", b->tokens[i], i, m->n_vocab);
            return WEFT_ERR_INVALID;
        }
        if (par < -1 || par >= (int32_t)i) {
            weft_error(env, "eval: row %zu has parent %d (parents must precede their children)", i, par);
            return WEFT_ERR_INVALID;
        }
        int32_t prev_pos = par >= 0 ? (b->positions ? b->positions[par] : base + par)
                                    : (base > 0 ? m->pos[base - 1] : -1);
        int32_t p = b->positions ? b->positions[i] : base + (int32_t)i;
        if (p != prev_pos + 1) {
            weft_error(env, "eval: row %zu has position %d, but the token before it is at %d", i, p, prev_pos);
            return WEFT_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int32_t par = b->parents ? b->parents[i] : (int32_t)i - 1;
        int32_t slot = base + (int32_t)i;
        m->tok[slot] = b->tokens[i];
        m->pos[slot] = b->positions ? b->positions[i] : slot;
        m->from[slot] = par >= 0 ? base + par : base - 1;
        m->partial[slot] = partial;
    }
    m->len = base + (int32_t)n;
    for (size_t k = 0; k < b->n_out; k++) {
        int32_t slot = base + b->out_rows[k];
        int32_t a = m->from[slot] >= 0 ? m->tok[m->from[slot]] : -1;
        float *row = b->logits + k * (size_t)m->n_vocab;
        markov_logits(m->seed, m->sharpness, m->eos_logit, m->n_vocab, a, m->tok[slot], row);
        if (partial) {
            double w = (double)run / m->n_layers;
            markov_logits(m->seed ^ 0x5bd1e995, m->sharpness, m->eos_logit, m->n_vocab, a, m->tok[slot], m->alt);
            for (int32_t t = 0; t < m->n_vocab; t++) row[t] = (float)(w * row[t] + (1 - w) * m->alt[t]);
        }
    }
    /* what speculation saves is full passes; early-exit drafts are counted apart */
    if (partial) m->n_partial_evals++;
    else m->n_evals++;
    m->n_eval_tokens += (int64_t)n;
    return WEFT_OK;
}

static int32_t markov_kv_len(void *self) { return ((markov *)self)->len; }

static weft_status markov_kv_keep(void *self, int32_t n_tail, const int32_t *keep, int32_t n_keep) {
    markov *m = self;
    const weft_env *env = m->base.env;
    if (n_tail < 0 || n_tail > m->len || n_keep < 0 || n_keep > n_tail || (n_keep > 0 && !keep)) {
        weft_error(env, "kv_keep: cannot keep %d of the last %d entries (the cache holds %d)", n_keep, n_tail, m->len);
        return WEFT_ERR_INVALID;
    }
    int32_t base = m->len - n_tail;
    for (int32_t j = 0; j < n_keep; j++) {
        if (keep[j] < 0 || keep[j] >= n_tail || (j && keep[j] <= keep[j - 1])) {
            weft_error(env, "kv_keep: keep[%d] = %d is out of range or not ascending", j, keep[j]);
            return WEFT_ERR_INVALID;
        }
        int32_t want = j ? base + keep[j - 1] : base - 1;
        if (m->from[base + keep[j]] != want) {
            weft_error(env, "kv_keep: kept row %d does not follow the entry kept before it (its parent is slot %d, not %d)",
                       keep[j], m->from[base + keep[j]], want);
            return WEFT_ERR_INVALID;
        }
    }
    for (int32_t j = 0; j < n_keep; j++) {
        int32_t s = base + keep[j], d = base + j;
        m->tok[d] = m->tok[s];
        m->pos[d] = m->pos[s];
        m->from[d] = d - 1;
        m->partial[d] = m->partial[s];
    }
    m->len = base + n_keep;
    return WEFT_OK;
}

/* Actions: how many evaluations (and tokens) the target did, so tests can
 * measure what speculation saved. */
static int64_t markov_eval_count(void *self) { return ((markov *)self)->n_evals; }
static int64_t markov_eval_tokens(void *self) { return ((markov *)self)->n_eval_tokens; }
static int64_t markov_partial_count(void *self) { return ((markov *)self)->n_partial_evals; }

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "partial_count", .doc = "eval() calls with n_layers_run < n_layers",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))markov_partial_count},
    {.struct_size = sizeof(weft_action_desc), .name = "eval_count", .doc = "full eval() calls so far",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))markov_eval_count},
    {.struct_size = sizeof(weft_action_desc), .name = "eval_tokens", .doc = "tokens evaluated so far",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))markov_eval_tokens},
};

static const weft_backend_vtable markov_vtable = {
    .struct_size = sizeof(weft_backend_vtable),
    .info = markov_info,
    .tokenize = markov_tokenize,
    .token_bytes = markov_token_bytes,
    .token_attr = markov_token_attr,
    .eval = markov_eval,
    .kv_len = markov_kv_len,
    .kv_keep = markov_kv_keep,
};

static const weft_component_desc markov_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_BACKEND,
    .name = "markov",
    .version = "1.0",
    .description = "Test-only order-2 Markov chain with exactly known distributions",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = markov_create,
    .destroy = markov_destroy,
    .vtable = &markov_vtable,
};

static const weft_component_desc *const components[] = {&markov_desc};
WEFT_PLUGIN_DEFINE(components)
