/* DRY, "Don't Repeat Yourself" (p-e-w, oobabooga text-generation-webui PR
 * #5677; llama.cpp's llama_sampler_dry, ported from koboldcpp PR #982): a
 * token that would extend a repeat of an earlier sequence is penalised by
 *   multiplier * base^(n - allowed_length)
 * where n >= allowed_length is the length of the longest suffix of the
 * window that also occurs earlier followed by that token. Sequence breakers
 * (strings such as "\n") cut the suffix: a repeat never extends across one.
 *
 * Steps, as llama.cpp (window = the last penalty_last_n tokens, newest first):
 *   1. the newest breaker in the window limits the repeat length (rep_limit);
 *   2. Z-function of the reversed window: z[k] = length of the common suffix
 *      of the window and the window without its k newest tokens;
 *   3. the token after each such earlier occurrence gets its longest repeat;
 *   4. penalty, exponent clamped so base^exp stays a finite float.
 * Breaker strings are turned into token sequences on the first apply, from
 * ctx->vocab (tokens containing the string, or ending with a prefix of it,
 * followed by the tokenized rest: llama.cpp's get_overlapping_token_sequences).
 *
 * The window is read from ctx->history (prompt, committed tokens, draft
 * path), so apply() is a pure function of the history: exact under
 * speculation. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <weft/sdk.h>

#define MAX_BREAKER_CHARS 40 /* llama.cpp's MAX_CHAR_LEN */
#define MAX_TAIL_TOKENS 20   /* llama.cpp's MAX_SEQ_LEN */
#define MAX_BREAKERS 64

/* One breaker as tokens: a head token and the tokens that must follow it. */
typedef struct breaker_seq {
    weft_token head;
    uint32_t tail_at, tail_len; /* into dry.tails */
} breaker_seq;

typedef struct dry {
    weft_state base;
    double multiplier, base_, allowed_length;
    int64_t penalty_last_n; /* -1: the whole history */
    char *breakers[MAX_BREAKERS];
    size_t n_breakers;
    /* breakers as token sequences, sorted by head; built on first use */
    const weft_vocab *seq_vocab;
    breaker_seq *seqs;
    size_t n_seqs, cap_seqs;
    weft_token *tails;
    size_t n_tails, cap_tails;
    /* scratch */
    weft_token *rev; /* the window, newest first */
    int32_t *z;
    int64_t *hits;       /* (token << 32 | repeat length) per earlier occurrence */
    weft_token *hit_tok; /* distinct tokens that would extend a repeat ... */
    int32_t *hit_len;    /* ... and their longest repeat */
    ptrdiff_t *pos;
    weft_token *tok_buf;
    size_t cap_rev, cap_z, cap_hits, cap_hit_tok, cap_hit_len, cap_pos, cap_tok_buf;
} dry;

enum { P_MULTIPLIER, P_BASE, P_ALLOWED, P_LAST_N, P_BREAKERS };

/* Absent: llama.cpp's defaults. Not declared as the parameter's default
 * text: the core frees a parsed JSON default before create() reads it. */
static const char *const default_breakers[] = {"\n", ":", "\"", "*"};

static const weft_param_desc params[] = {
    WEFT_PARAM_DOUBLE_MIN("multiplier", 0, "0.8", "Penalty scale; 0 = off"),
    WEFT_PARAM_DOUBLE_MIN("base", 0, "1.75", "Penalty growth per token of repeat beyond allowed_length; < 1 = off"),
    WEFT_PARAM_INT_MIN("allowed_length", 0, "2", "Repeats up to this length are not penalised"),
    WEFT_PARAM_INT_MIN("penalty_last_n", -1, "64", "Tokens of history scanned: 0 = off, -1 = the whole history"),
    WEFT_PARAM("sequence_breakers", WEFT_TYPE_JSON, 0, 0, 0, NULL,
               "Strings that cut a repeat (JSON array of strings); absent: [\"\\n\", \":\", \"\\\"\", \"*\"]"),
};

static void dry_destroy(void *self) {
    dry *s = self;
    if (!s) return;
    const weft_env *env = s->base.env;
    for (size_t i = 0; i < s->n_breakers; i++) weft_free(env, s->breakers[i]);
    void *bufs[] = {s->seqs, s->tails, s->rev, s->z, s->hits, s->hit_tok, s->hit_len, s->pos, s->tok_buf};
    for (size_t i = 0; i < WEFT_COUNT_OF(bufs); i++) weft_free(env, bufs[i]);
    weft_state_free(s);
}

static bool add_breaker(dry *s, const char *str, size_t len) {
    const weft_env *env = s->base.env;
    if (len == 0) {
        weft_log(env, WEFT_LOG_WARN, "skipping an empty sequence breaker");
        return true;
    }
    if (len > MAX_BREAKER_CHARS) {
        weft_log(env, WEFT_LOG_WARN, "truncating a sequence breaker to %d bytes", MAX_BREAKER_CHARS);
        len = MAX_BREAKER_CHARS;
    }
    if (s->n_breakers == MAX_BREAKERS) {
        weft_error(env, "at most %d sequence breakers", MAX_BREAKERS);
        return false;
    }
    char *copy = weft_alloc(env, len + 1);
    if (!copy) {
        weft_error(env, "out of memory");
        return false;
    }
    memcpy(copy, str, len);
    copy[len] = 0;
    s->breakers[s->n_breakers++] = copy;
    return true;
}

static bool read_breakers(dry *s, const weft_value *v) {
    const weft_env *env = s->base.env;
    if (!v->present || !v->u.json) {
        for (size_t i = 0; i < WEFT_COUNT_OF(default_breakers); i++)
            if (!add_breaker(s, default_breakers[i], strlen(default_breakers[i]))) return false;
        return true;
    }
    const weft_host *h = env->host;
    const weft_json *j = v->u.json;
    if (h->json_type(j) != WEFT_JSON_ARRAY) {
        weft_error(env, "%s: sequence_breakers must be an array of strings", h->json_pointer(j));
        return false;
    }
    for (size_t i = 0; i < h->json_count(j); i++) {
        const weft_json *it = h->json_item(j, i);
        if (h->json_type(it) != WEFT_JSON_STRING) {
            weft_error(env, "%s: expected a string", h->json_pointer(it));
            return false;
        }
        const char *str = h->json_string(it);
        if (!add_breaker(s, str, strlen(str))) return false;
    }
    return true;
}

static weft_status dry_create(const weft_env *env, const weft_value *args, void **self) {
    dry *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->multiplier = args[P_MULTIPLIER].u.d;
    s->base_ = args[P_BASE].u.d;
    s->allowed_length = (double)args[P_ALLOWED].u.i;
    s->penalty_last_n = args[P_LAST_N].u.i;
    if (!(s->multiplier >= 0) || !(s->base_ >= 0) || s->allowed_length < 0 || s->penalty_last_n < -1) {
        weft_error(env, "need multiplier >= 0, base >= 0, allowed_length >= 0, penalty_last_n >= -1");
        dry_destroy(s);
        return WEFT_ERR_INVALID;
    }
    if (!read_breakers(s, &args[P_BREAKERS])) {
        dry_destroy(s);
        return WEFT_ERR_INVALID;
    }
    *self = s;
    return WEFT_OK;
}

/* ---- breakers as token sequences ---- */

static int cmp_seq(const void *a, const void *b) {
    const breaker_seq *x = a, *y = b;
    if (x->head != y->head) return (x->head > y->head) - (x->head < y->head);
    return (x->tail_len > y->tail_len) - (x->tail_len < y->tail_len);
}

/* The tokens of text (no BOS, no special parsing), as llama.cpp tokenizes a
 * breaker's rest; at most MAX_TAIL_TOKENS kept. */
static weft_status tokenize_tail(dry *s, const weft_sampler_ctx *ctx, const char *text, uint32_t *at,
                                 uint32_t *len) {
    const weft_env *env = s->base.env;
    weft_instance *be = ctx->backend;
    if (!be) {
        weft_error(env, "sequence breaker \"%s\" spans tokens, and no tokenizer is available", text);
        return WEFT_ERR_INVALID;
    }
    const weft_backend_vtable *bv = be->desc->vtable;
    size_t n = 0, tl = strlen(text);
    weft_status st = bv->tokenize(be->self, text, tl, false, false, s->tok_buf, s->cap_tok_buf, &n);
    if (n > s->cap_tok_buf) {
        if (!weft_scratch_reserve(env, (void **)&s->tok_buf, &s->cap_tok_buf, n, sizeof *s->tok_buf))
            return WEFT_ERR_NOMEM;
        st = bv->tokenize(be->self, text, tl, false, false, s->tok_buf, s->cap_tok_buf, &n);
    }
    if (st != WEFT_OK) {
        weft_error(env, "cannot tokenize the rest of a sequence breaker (\"%s\")", text);
        return st;
    }
    if (n > MAX_TAIL_TOKENS) n = MAX_TAIL_TOKENS;
    if (!weft_scratch_reserve(env, (void **)&s->tails, &s->cap_tails, s->n_tails + n, sizeof *s->tails))
        return WEFT_ERR_NOMEM;
    if (n) memcpy(s->tails + s->n_tails, s->tok_buf, n * sizeof *s->tails);
    *at = (uint32_t)s->n_tails;
    *len = (uint32_t)n;
    s->n_tails += n;
    return WEFT_OK;
}

static bool same_seq(const dry *s, const breaker_seq *a, weft_token head, const weft_token *tail, uint32_t len) {
    return a->head == head && a->tail_len == len &&
           (len == 0 || !memcmp(s->tails + a->tail_at, tail, len * sizeof *tail)); /* tails may be NULL */
}

static weft_status add_seq(dry *s, weft_token head, uint32_t at, uint32_t len) {
    for (size_t i = 0; i < s->n_seqs; i++) /* no duplicate tokenizations per head */
        if (same_seq(s, &s->seqs[i], head, s->tails + at, len)) return WEFT_OK;
    if (!weft_scratch_reserve(s->base.env, (void **)&s->seqs, &s->cap_seqs, s->n_seqs + 1, sizeof *s->seqs))
        return WEFT_ERR_NOMEM;
    s->seqs[s->n_seqs++] = (breaker_seq){head, at, len};
    return WEFT_OK;
}

/* llama.cpp's get_overlapping_token_sequences for one breaker. */
static weft_status breaker_tokens(dry *s, const weft_sampler_ctx *ctx, const char *str) {
    const weft_vocab *v = ctx->vocab;
    size_t sl = strlen(str);
    /* the tokenized rest of str after its first i bytes, one per i */
    uint32_t rest_at[MAX_BREAKER_CHARS + 1], rest_len[MAX_BREAKER_CHARS + 1];
    bool have_rest[MAX_BREAKER_CHARS + 1] = {false};
    for (weft_token t = 0; t < v->n_vocab; t++) {
        const char *w = v->bytes[t];
        size_t wl = v->len[t];
        if (wl >= sl && memmem(w, wl, str, sl)) {
            weft_status st = add_seq(s, t, 0, 0);
            if (st != WEFT_OK) return st;
            continue;
        }
        /* the word ends with a proper prefix of str: str[0..i) */
        for (size_t p = 0; p < wl; p++) {
            if (w[p] != str[0]) continue;
            size_t i = 1;
            while (i < sl && p + i < wl && w[p + i] == str[i]) i++;
            if (p + i != wl || i >= sl) continue;
            if (!have_rest[i]) {
                weft_status st = tokenize_tail(s, ctx, str + i, &rest_at[i], &rest_len[i]);
                if (st != WEFT_OK) return st;
                have_rest[i] = true;
            }
            weft_status st = add_seq(s, t, rest_at[i], rest_len[i]);
            if (st != WEFT_OK) return st;
        }
    }
    return WEFT_OK;
}

static weft_status build_breakers(dry *s, const weft_sampler_ctx *ctx) {
    if (s->seq_vocab == ctx->vocab && ctx->vocab) return WEFT_OK;
    if (!ctx->vocab || !ctx->vocab->bytes) {
        weft_error(s->base.env, "needs the vocabulary to find its sequence breakers");
        return WEFT_ERR_INVALID;
    }
    s->n_seqs = s->n_tails = 0;
    for (size_t b = 0; b < s->n_breakers; b++) {
        weft_status st = breaker_tokens(s, ctx, s->breakers[b]);
        if (st != WEFT_OK) return st;
    }
    if (s->n_seqs) qsort(s->seqs, s->n_seqs, sizeof *s->seqs, cmp_seq);
    s->seq_vocab = ctx->vocab;
    return WEFT_OK;
}

/* First breaker sequence with this head, or n_seqs. */
static size_t first_seq(const dry *s, weft_token head) {
    size_t lo = 0, hi = s->n_seqs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->seqs[mid].head < head) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static bool is_single_token_breaker(const dry *s, weft_token t) {
    size_t i = first_seq(s, t);
    return i < s->n_seqs && s->seqs[i].head == t && s->seqs[i].tail_len == 0; /* sorted by tail length */
}

/* ---- apply ---- */

/* Step 1: the newest breaker caps how long a repeat may be. */
static size_t repeat_limit(const dry *s, const weft_token *rev, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t longest = -1;
        for (size_t k = first_seq(s, rev[i]); k < s->n_seqs && s->seqs[k].head == rev[i]; k++) {
            const breaker_seq *q = &s->seqs[k];
            if ((ptrdiff_t)q->tail_len <= longest || q->tail_len > i) continue;
            /* the tail follows the head: older-to-newer is rev[i-1], rev[i-2], ... */
            bool match = true;
            for (size_t o = 0; match && o < q->tail_len; o++) match = s->tails[q->tail_at + o] == rev[i - o - 1];
            if (match) longest = (ptrdiff_t)q->tail_len;
        }
        if (longest >= 0) return i - (size_t)longest;
    }
    return n;
}

/* Step 2: z[k] = longest common prefix of rev and rev[k..], z[0] = n
 * (Gusfield 1997, §1.4). */
static void z_function(const weft_token *rev, size_t n, int32_t *z) {
    size_t l = 0, r = 0; /* [l, r) is the rightmost match found */
    z[0] = (int32_t)n;
    for (size_t k = 1; k < n; k++) {
        size_t len = 0;
        if (k < r) {
            len = (size_t)z[k - l];
            if (len > r - k) len = r - k;
        }
        while (k + len < n && rev[len] == rev[k + len]) len++;
        z[k] = (int32_t)len;
        if (k + len > r) l = k, r = k + len;
    }
}

static int cmp_hit(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static weft_status dry_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    dry *s = self;
    const weft_env *env = s->base.env;
    if (s->multiplier == 0 || s->base_ < 1 || s->penalty_last_n == 0) return WEFT_OK;
    size_t n = s->penalty_last_n < 0 || (size_t)s->penalty_last_n > ctx->n_history ? ctx->n_history
                                                                                    : (size_t)s->penalty_last_n;
    size_t allowed = (size_t)s->allowed_length;
    if (n <= allowed) return WEFT_OK;
    weft_status st = build_breakers(s, ctx);
    if (st != WEFT_OK) return st;
    if (!weft_scratch_reserve(env, (void **)&s->rev, &s->cap_rev, n, sizeof *s->rev) ||
        !weft_scratch_reserve(env, (void **)&s->z, &s->cap_z, n, sizeof *s->z) ||
        !weft_scratch_reserve(env, (void **)&s->hits, &s->cap_hits, n, sizeof *s->hits) ||
        !weft_scratch_reserve(env, (void **)&s->hit_tok, &s->cap_hit_tok, n, sizeof *s->hit_tok) ||
        !weft_scratch_reserve(env, (void **)&s->hit_len, &s->cap_hit_len, n, sizeof *s->hit_len) ||
        !weft_scratch_reserve(env, (void **)&s->pos, &s->cap_pos, n, sizeof *s->pos))
        return WEFT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) s->rev[i] = ctx->history[ctx->n_history - 1 - i];
    size_t limit = repeat_limit(s, s->rev, n);
    if (limit < allowed) return WEFT_OK;
    z_function(s->rev, n, s->z);
    /* Step 3: rev[k-1] follows an earlier copy of the newest z[k] tokens.
     * Sorting (token, length) pairs groups by token, longest repeat last. */
    size_t nh = 0;
    for (size_t k = 1; k < n; k++) {
        size_t len = (size_t)s->z[k] < limit ? (size_t)s->z[k] : limit;
        if (len >= allowed) s->hits[nh++] = (int64_t)s->rev[k - 1] << 32 | (int64_t)len;
    }
    if (nh == 0) return WEFT_OK;
    qsort(s->hits, nh, sizeof *s->hits, cmp_hit);
    size_t m = 0;
    for (size_t i = 0; i < nh; i++) {
        weft_token t = (weft_token)(s->hits[i] >> 32);
        if (m == 0 || s->hit_tok[m - 1] != t) s->hit_tok[m++] = t;
        s->hit_len[m - 1] = (int32_t)(s->hits[i] & 0xffffffff);
    }
    weft_cands_locate(c, s->hit_tok, m, s->pos);
    /* Step 4: keep base^exp a finite float (llama.cpp: FLOAT_MAX_LOG / log(base)) */
    const double float_max_log = 88.7228391;
    double max_exp = s->base_ > 1.000001 ? floor(float_max_log / log(s->base_)) : 0;
    bool changed = false;
    for (size_t j = 0; j < m; j++) {
        if (s->pos[j] < 0 || is_single_token_breaker(s, s->hit_tok[j])) continue;
        double e = (double)s->hit_len[j] - s->allowed_length;
        if (max_exp > 0 && e > max_exp) e = max_exp;
        weft_candidate *cd = &c->data[s->pos[j]];
        if (isinf(cd->logit)) continue;
        double l = (double)cd->logit - s->multiplier * pow(s->base_, e);
        cd->logit = l < -FLT_MAX ? -FLT_MAX : (float)l;
        changed = true;
    }
    if (changed) c->sorted = false;
    return WEFT_OK;
}

static weft_status dry_clone(void *self, void **out) {
    const dry *s = self;
    dry *d = weft_state_new(s->base.env, sizeof *d);
    if (!d) return WEFT_ERR_NOMEM;
    d->multiplier = s->multiplier;
    d->base_ = s->base_;
    d->allowed_length = s->allowed_length;
    d->penalty_last_n = s->penalty_last_n;
    for (size_t i = 0; i < s->n_breakers; i++)
        if (!add_breaker(d, s->breakers[i], strlen(s->breakers[i]))) {
            dry_destroy(d);
            return WEFT_ERR_NOMEM;
        }
    *out = d; /* breaker sequences are rebuilt on its first apply */
    return WEFT_OK;
}

static const weft_sampler_vtable dry_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = dry_apply,
    .clone = dry_clone,
};

static const weft_component_desc dry_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "dry",
    .version = "1.0",
    .description = "DRY: penalise tokens that would extend a repeat of earlier text (llama.cpp semantics)",
    .flags = WEFT_CAP_NEEDS_HISTORY,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = dry_create,
    .destroy = dry_destroy,
    .vtable = &dry_vtable,
};

static const weft_component_desc *const components[] = {&dry_desc};
WEFT_PLUGIN_DEFINE(components)
