/* logit-bias: add a fixed bias to chosen tokens' logits (OpenAI's
 * logit_bias, llama.cpp's llama_sampler_logit_bias).
 *   "bias":      {"15043": 1.5, "13": "-inf"} or [[15043, 1.5], [13, "-inf"]]:
 *                token ids and biases;
 *   "text_bias": {"Hello": -2, " world": "-inf"}: every token that the
 *                backend's tokenizer produces for the text (no BOS, no special
 *                tokens parsed) gets the bias, once per distinct token.
 * "-inf" bans the token (its logit becomes -inf, so p = 0). A token named
 * several times gets the sum of its biases, as llama.cpp applies each entry.
 * Texts are tokenized on the first apply (ctx->backend) and cached.
 *
 * Exact under speculation trivially: the same biases at every node. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <weft/sdk.h>

typedef struct text_entry {
    char *text;
    double bias;
} text_entry;

typedef struct logit_bias {
    weft_state base;
    /* from `bias`, in the order given */
    weft_token *given_ids;
    double *given_bias;
    size_t n_given;
    text_entry *texts;
    size_t n_texts;
    /* all biases, merged: ascending distinct ids (built on first apply) */
    bool built;
    weft_token *ids;
    double *bias;
    ptrdiff_t *pos;
    weft_token *tok_buf;
    size_t n, cap_ids, cap_bias, cap_pos, cap_tok_buf;
} logit_bias;

enum { P_BIAS, P_TEXT_BIAS };

static const weft_param_desc params[] = {
    WEFT_PARAM("bias", WEFT_TYPE_JSON, 0, 0, 0, NULL,
               "Token id to bias: {\"id\": bias, ...} or [[id, bias], ...]; \"-inf\" bans the token"),
    WEFT_PARAM("text_bias", WEFT_TYPE_JSON, 0, 0, 0, NULL,
               "{\"text\": bias, ...}: biases every token of the tokenized text; \"-inf\" bans them"),
};

static void logit_bias_destroy(void *self) {
    logit_bias *s = self;
    if (!s) return;
    const weft_env *env = s->base.env;
    for (size_t i = 0; i < s->n_texts; i++) weft_free(env, s->texts[i].text);
    void *bufs[] = {s->given_ids, s->given_bias, s->texts, s->ids, s->bias, s->pos, s->tok_buf};
    for (size_t i = 0; i < WEFT_COUNT_OF(bufs); i++) weft_free(env, bufs[i]);
    weft_state_free(s);
}

/* A bias value: a finite number, or the string "-inf". */
static bool read_bias(const weft_env *env, const weft_json *j, double *out) {
    const weft_host *h = env->host;
    if (h->json_type(j) == WEFT_JSON_NUMBER && isfinite(h->json_number(j))) {
        *out = h->json_number(j);
        return true;
    }
    if (h->json_type(j) == WEFT_JSON_STRING && strcmp(h->json_string(j), "-inf") == 0) {
        *out = -INFINITY;
        return true;
    }
    weft_error(env, "%s: expected a number or \"-inf\"", h->json_pointer(j));
    return false;
}

/* A token id: a non-negative integer, as a JSON number or an object key. */
static bool read_id_text(const char *text, weft_token *out) {
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || v < 0 || v > INT32_MAX) return false;
    *out = (weft_token)v;
    return true;
}

static bool read_given(logit_bias *s, const weft_json *j) {
    const weft_env *env = s->base.env;
    const weft_host *h = env->host;
    weft_json_type type = h->json_type(j);
    if (type != WEFT_JSON_OBJECT && type != WEFT_JSON_ARRAY) {
        weft_error(env, "%s: expected {\"id\": bias, ...} or [[id, bias], ...]", h->json_pointer(j));
        return false;
    }
    size_t n = h->json_count(j);
    s->given_ids = weft_calloc(env, n ? n : 1, sizeof *s->given_ids);
    s->given_bias = weft_calloc(env, n ? n : 1, sizeof *s->given_bias);
    if (!s->given_ids || !s->given_bias) {
        weft_error(env, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const weft_json *it = h->json_item(j, i), *val = it;
        weft_token id = -1;
        bool ok;
        if (type == WEFT_JSON_OBJECT) {
            ok = read_id_text(h->json_key(j, i), &id);
        } else {
            const weft_json *idj = h->json_count(it) == 2 ? h->json_item(it, 0) : NULL;
            double v = idj && h->json_type(idj) == WEFT_JSON_NUMBER ? h->json_number(idj) : -1;
            ok = h->json_type(it) == WEFT_JSON_ARRAY && v >= 0 && v <= INT32_MAX && v == floor(v);
            id = (weft_token)v;
            val = ok ? h->json_item(it, 1) : it;
        }
        if (!ok) {
            weft_error(env, "%s: expected a token id (integer >= 0)%s", h->json_pointer(it),
                       type == WEFT_JSON_ARRAY ? " and a bias, as [id, bias]" : " as the key");
            return false;
        }
        if (!read_bias(env, val, &s->given_bias[i])) return false;
        s->given_ids[i] = id;
        s->n_given++;
    }
    return true;
}

static bool read_texts(logit_bias *s, const weft_json *j) {
    const weft_env *env = s->base.env;
    const weft_host *h = env->host;
    if (h->json_type(j) != WEFT_JSON_OBJECT) {
        weft_error(env, "%s: expected {\"text\": bias, ...}", h->json_pointer(j));
        return false;
    }
    size_t n = h->json_count(j);
    s->texts = weft_calloc(env, n ? n : 1, sizeof *s->texts);
    if (!s->texts) {
        weft_error(env, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *key = h->json_key(j, i);
        text_entry *t = &s->texts[s->n_texts];
        if (!read_bias(env, h->json_item(j, i), &t->bias)) return false;
        size_t len = strlen(key);
        if (len == 0) {
            weft_error(env, "%s: empty text", h->json_pointer(h->json_item(j, i)));
            return false;
        }
        if (!(t->text = weft_alloc(env, len + 1))) {
            weft_error(env, "out of memory");
            return false;
        }
        memcpy(t->text, key, len + 1);
        s->n_texts++;
    }
    return true;
}

static weft_status logit_bias_create(const weft_env *env, const weft_value *args, void **self) {
    logit_bias *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    bool ok = true;
    if (args[P_BIAS].present && args[P_BIAS].u.json) ok = read_given(s, args[P_BIAS].u.json);
    if (ok && args[P_TEXT_BIAS].present && args[P_TEXT_BIAS].u.json) ok = read_texts(s, args[P_TEXT_BIAS].u.json);
    if (!ok) {
        logit_bias_destroy(s);
        return WEFT_ERR_INVALID;
    }
    *self = s;
    return WEFT_OK;
}

/* ---- the merged list ---- */

static bool push(logit_bias *s, weft_token id, double bias) {
    const weft_env *env = s->base.env;
    if (!weft_scratch_reserve(env, (void **)&s->ids, &s->cap_ids, s->n + 1, sizeof *s->ids) ||
        !weft_scratch_reserve(env, (void **)&s->bias, &s->cap_bias, s->n + 1, sizeof *s->bias))
        return false;
    s->ids[s->n] = id;
    s->bias[s->n++] = bias;
    return true;
}

static int cmp_token(const void *a, const void *b) {
    weft_token x = *(const weft_token *)a, y = *(const weft_token *)b;
    return (x > y) - (x < y);
}

/* Appends the distinct tokens of one text. */
static weft_status push_text(logit_bias *s, const weft_sampler_ctx *ctx, const text_entry *t) {
    const weft_env *env = s->base.env;
    weft_instance *be = ctx->backend;
    if (!be) {
        weft_error(env, "text_bias needs the backend's tokenizer");
        return WEFT_ERR_INVALID;
    }
    const weft_backend_vtable *bv = be->desc->vtable;
    size_t n = 0, len = strlen(t->text);
    weft_status st = bv->tokenize(be->self, t->text, len, false, false, s->tok_buf, s->cap_tok_buf, &n);
    if (n > s->cap_tok_buf) {
        if (!weft_scratch_reserve(env, (void **)&s->tok_buf, &s->cap_tok_buf, n, sizeof *s->tok_buf))
            return WEFT_ERR_NOMEM;
        st = bv->tokenize(be->self, t->text, len, false, false, s->tok_buf, s->cap_tok_buf, &n);
    }
    if (st != WEFT_OK) {
        weft_error(env, "text_bias: cannot tokenize \"%s\"", t->text);
        return st;
    }
    if (n) qsort(s->tok_buf, n, sizeof *s->tok_buf, cmp_token);
    for (size_t i = 0; i < n; i++)
        if ((i == 0 || s->tok_buf[i] != s->tok_buf[i - 1]) && !push(s, s->tok_buf[i], t->bias)) return WEFT_ERR_NOMEM;
    return WEFT_OK;
}

typedef struct pair {
    weft_token id;
    double bias;
} pair;

static int cmp_pair(const void *a, const void *b) {
    const pair *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static weft_status build(logit_bias *s, const weft_sampler_ctx *ctx) {
    s->n = 0;
    for (size_t i = 0; i < s->n_given; i++) {
        if (s->given_ids[i] >= ctx->n_vocab) {
            weft_error(s->base.env, "bias: token id %d is outside the vocabulary (%d tokens)", s->given_ids[i],
                       ctx->n_vocab);
            return WEFT_ERR_INVALID;
        }
        if (!push(s, s->given_ids[i], s->given_bias[i])) return WEFT_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->n_texts; i++) {
        weft_status st = push_text(s, ctx, &s->texts[i]);
        if (st != WEFT_OK) return st;
    }
    /* sort by id and sum the biases of repeated ids */
    pair *pairs = weft_alloc(s->base.env, (s->n ? s->n : 1) * sizeof *pairs);
    if (!pairs) {
        weft_error(s->base.env, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->n; i++) pairs[i] = (pair){s->ids[i], s->bias[i]};
    if (s->n) qsort(pairs, s->n, sizeof *pairs, cmp_pair);
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (m && s->ids[m - 1] == pairs[i].id) {
            s->bias[m - 1] += pairs[i].bias;
        } else {
            s->ids[m] = pairs[i].id;
            s->bias[m++] = pairs[i].bias;
        }
    }
    weft_free(s->base.env, pairs);
    s->n = m;
    if (!weft_scratch_reserve(s->base.env, (void **)&s->pos, &s->cap_pos, m, sizeof *s->pos)) return WEFT_ERR_NOMEM;
    s->built = true;
    return WEFT_OK;
}

static weft_status logit_bias_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    logit_bias *s = self;
    if (!s->built) {
        weft_status st = build(s, ctx);
        if (st != WEFT_OK) return st;
    }
    if (s->n == 0) return WEFT_OK;
    weft_cands_locate(c, s->ids, s->n, s->pos);
    bool changed = false;
    for (size_t j = 0; j < s->n; j++) {
        if (s->pos[j] < 0) continue;
        weft_candidate *cd = &c->data[s->pos[j]];
        double l = (double)cd->logit + s->bias[j]; /* -inf bans: p becomes 0 */
        cd->logit = isinf(l) ? (float)l : l > FLT_MAX ? FLT_MAX : l < -FLT_MAX ? -FLT_MAX : (float)l;
        changed = true;
    }
    if (changed) c->sorted = false;
    return WEFT_OK;
}

/* A copy of the configuration; the merged list is rebuilt on its first apply. */
static weft_status logit_bias_clone(void *self, void **out) {
    const logit_bias *s = self;
    const weft_env *env = s->base.env;
    *out = NULL;
    logit_bias *d = weft_state_new(env, sizeof *d);
    if (!d) return WEFT_ERR_NOMEM;
    size_t ng = s->n_given ? s->n_given : 1, nt = s->n_texts ? s->n_texts : 1;
    d->given_ids = weft_alloc(env, ng * sizeof *d->given_ids);
    d->given_bias = weft_alloc(env, ng * sizeof *d->given_bias);
    d->texts = weft_calloc(env, nt, sizeof *d->texts);
    bool ok = d->given_ids && d->given_bias && d->texts;
    for (size_t i = 0; ok && i < s->n_given; i++) {
        d->given_ids[i] = s->given_ids[i];
        d->given_bias[i] = s->given_bias[i];
        d->n_given++;
    }
    for (size_t i = 0; ok && i < s->n_texts; i++) {
        size_t len = strlen(s->texts[i].text);
        ok = (d->texts[i].text = weft_alloc(env, len + 1)) != NULL;
        if (ok) {
            memcpy(d->texts[i].text, s->texts[i].text, len + 1);
            d->texts[i].bias = s->texts[i].bias;
            d->n_texts++;
        }
    }
    if (!ok) {
        logit_bias_destroy(d);
        weft_error(env, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    *out = d;
    return WEFT_OK;
}

static const weft_sampler_vtable logit_bias_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = logit_bias_apply,
    .clone = logit_bias_clone,
};

static const weft_component_desc logit_bias_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "logit-bias",
    .version = "1.0",
    .description = "Add fixed biases to chosen tokens, given by id or by text; \"-inf\" bans",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = logit_bias_create,
    .destroy = logit_bias_destroy,
    .vtable = &logit_bias_vtable,
};

static const weft_component_desc *const components[] = {&logit_bias_desc};
WEFT_PLUGIN_DEFINE(components)
