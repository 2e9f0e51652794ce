/* Mirostat (Basu et al. 2021, "Mirostat: A Neural Text Decoding Algorithm
 * that Directly Controls Perplexity", ICLR; llama.cpp's llama_sampler_mirostat
 * and _v2): truncation whose cut follows a running target surprise mu,
 * nudged after every token so the observed surprise -log2 p(token) tracks tau.
 *   v1 (Alg. 1): estimate the Zipf exponent s from the top m tokens, keep the
 *      k = ((e * 2^mu) / (1 - N^-e))^(1/s) most likely (e = s - 1, N = vocab);
 *   v2 (Alg. 2): keep the tokens with -log2 p <= mu (at least the top one).
 * After each token: mu -= eta * (surprise - tau), the surprise measured in
 * the distribution this sampler produced (renormalised over what it kept).
 * mu starts at 2 tau.
 *
 * llama.cpp's mirostat draws the token itself; here the verifier draws from
 * the chain's final distribution, so the update moves to accept(): apply()
 * records the tokens it kept and their normaliser, and accept(tok) scores tok
 * against the most recent apply. Declared WEFT_CAP_STATEFUL: the core keeps
 * one clone per draft position (clone the parent position, accept the node's
 * token, apply) and adopts the clone of the last accepted position, so every
 * node sees the mu its path would produce: exact under speculation. clone()
 * therefore copies the record too. llama.cpp's --mirostat chain is
 * [temperature t, mirostat]. */
#include <math.h>
#include <string.h>

#include <weft/sdk.h>

#define LN2 0.69314718055994530942

typedef struct mirostat {
    weft_state base;
    int version;
    double tau, eta;
    size_t m;
    double mu;
    /* the most recent apply: the tokens it kept, and log sum exp of their
     * logits (so p(tok) = exp(logit - lse)) */
    bool recorded;
    weft_token *ids;
    float *logits;
    size_t n_rec, cap_ids, cap_logits;
    double lse;
} mirostat;

enum { P_VERSION, P_TAU, P_ETA, P_M };

static const weft_param_desc params[] = {
    WEFT_PARAM_INT("version", 1, 2, "2", "1: Zipf-estimated top-k (Alg. 1); 2: surprise cut (Alg. 2)"),
    WEFT_PARAM_DOUBLE_MIN("tau", 0, "5.0", "Target surprise in bits per token"),
    WEFT_PARAM_DOUBLE_MIN("eta", 0, "0.1", "Learning rate of mu"),
    WEFT_PARAM_INT_MIN("m", 1, "100", "Version 1: tokens used to estimate the Zipf exponent"),
};

static void mirostat_destroy(void *self) {
    mirostat *s = self;
    if (!s) return;
    weft_free(s->base.env, s->ids);
    weft_free(s->base.env, s->logits);
    weft_state_free(s);
}

static weft_status mirostat_create(const weft_env *env, const weft_value *args, void **self) {
    double tau = args[P_TAU].u.d, eta = args[P_ETA].u.d;
    if (!(tau >= 0) || !(eta >= 0) || isinf(tau) || isinf(eta) || args[P_M].u.i < 1 ||
        (args[P_VERSION].u.i != 1 && args[P_VERSION].u.i != 2)) {
        weft_error(env, "need version 1 or 2, finite tau, eta >= 0 and m >= 1");
        return WEFT_ERR_INVALID;
    }
    mirostat *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->version = (int)args[P_VERSION].u.i;
    s->tau = tau;
    s->eta = eta;
    s->m = (size_t)args[P_M].u.i;
    s->mu = 2 * tau;
    *self = s;
    return WEFT_OK;
}

/* v2: keep l - lse >= -mu ln 2, i.e. surprise -log2 p <= mu. */
static void cut_surprise(const mirostat *s, weft_candidates *c) {
    double lse = weft_cands_logsumexp(c);
    if (!isfinite(lse)) {
        weft_cands_keep_argmax(c);
        return;
    }
    const double cut = lse - s->mu * LN2;
    size_t w = 0; /* stable compaction keeps `sorted` valid */
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= cut && c->data[i].logit > -INFINITY) c->data[w++] = c->data[i];
    if (w == 0) weft_cands_keep_argmax(c); /* llama.cpp keeps the top token */
    else c->size = w;
}

/* v1: k from the Zipf exponent of the top m tokens (Basu et al., Alg. 1). */
static void cut_zipf(const mirostat *s, weft_candidates *c, int32_t n_vocab) {
    size_t m = s->m < c->size ? s->m : c->size;
    weft_cands_partial_sort(c, m);
    /* least squares through the origin of log(p_i / p_i+1) on log((i+2)/(i+1)) */
    double sum_tb = 0, sum_tt = 0;
    for (size_t i = 0; i + 1 < m; i++) {
        double t = log((double)(i + 2) / (double)(i + 1));
        sum_tb += t * ((double)c->data[i].logit - c->data[i + 1].logit);
        sum_tt += t * t;
    }
    double s_hat = sum_tb / sum_tt, e = s_hat - 1;
    double k = pow(e * pow(2, s->mu) / (1 - pow((double)n_vocab, -e)), 1 / s_hat);
    /* undefined (one token, flat or -inf logits) keeps everything; llama.cpp
     * keeps at least one */
    size_t kk = isnan(k) || k >= (double)c->size ? c->size : k < 1 ? 1 : (size_t)k;
    if (kk <= m) {
        c->size = kk; /* the sorted prefix */
        c->sorted = true;
    } else {
        weft_cands_top_k(c, kk);
    }
}

static weft_status mirostat_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    mirostat *s = self;
    if (c->size == 0) return WEFT_OK;
    if (s->version == 2) cut_surprise(s, c);
    else cut_zipf(s, c, ctx->n_vocab);
    const weft_env *env = s->base.env;
    if (!weft_scratch_reserve(env, (void **)&s->ids, &s->cap_ids, c->size, sizeof *s->ids) ||
        !weft_scratch_reserve(env, (void **)&s->logits, &s->cap_logits, c->size, sizeof *s->logits))
        return WEFT_ERR_NOMEM;
    for (size_t i = 0; i < c->size; i++) {
        s->ids[i] = c->data[i].id;
        s->logits[i] = c->data[i].logit;
    }
    s->n_rec = c->size;
    s->lse = weft_cands_logsumexp(c);
    s->recorded = true;
    return WEFT_OK;
}

static void mirostat_accept(void *self, weft_token tok) {
    mirostat *s = self;
    if (!s->recorded) return;
    s->recorded = false;
    for (size_t i = 0; i < s->n_rec; i++) {
        if (s->ids[i] != tok) continue;
        double surprise = (s->lse - s->logits[i]) / LN2;
        if (isfinite(surprise)) s->mu -= s->eta * (surprise - s->tau);
        return;
    }
    /* a token the last apply had dropped: nothing to learn from */
}

static void mirostat_reset(void *self) {
    mirostat *s = self;
    s->mu = 2 * s->tau;
    s->recorded = false;
}

static weft_status mirostat_clone(void *self, void **out) {
    const mirostat *s = self;
    *out = NULL;
    mirostat *d = weft_state_new(s->base.env, sizeof *d);
    if (!d) return WEFT_ERR_NOMEM;
    *d = *s;
    d->ids = NULL;
    d->logits = NULL;
    d->cap_ids = d->cap_logits = 0;
    if (s->n_rec && (!weft_scratch_reserve(s->base.env, (void **)&d->ids, &d->cap_ids, s->n_rec, sizeof *d->ids) ||
                     !weft_scratch_reserve(s->base.env, (void **)&d->logits, &d->cap_logits, s->n_rec,
                                           sizeof *d->logits))) {
        mirostat_destroy(d);
        return WEFT_ERR_NOMEM;
    }
    if (s->n_rec) {
        memcpy(d->ids, s->ids, s->n_rec * sizeof *d->ids);
        memcpy(d->logits, s->logits, s->n_rec * sizeof *d->logits);
    }
    *out = d;
    return WEFT_OK;
}

/* Action: the current target surprise (`weft call PIPE /samplers/N mu`). */
static double mirostat_mu(void *self) { return ((const mirostat *)self)->mu; }

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "mu", .doc = "the current target surprise mu, in bits",
     .ret = WEFT_TYPE_DOUBLE, .fn = (void (*)(void))mirostat_mu},
};

static const weft_sampler_vtable mirostat_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = mirostat_apply,
    .accept = mirostat_accept,
    .reset = mirostat_reset,
    .clone = mirostat_clone,
};

static const weft_component_desc mirostat_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "mirostat",
    .version = "1.0",
    .description = "Mirostat v1/v2: truncation that steers the surprise per token towards tau",
    .flags = WEFT_CAP_STATEFUL,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = mirostat_create,
    .destroy = mirostat_destroy,
    .vtable = &mirostat_vtable,
};

static const weft_component_desc *const components[] = {&mirostat_desc};
WEFT_PLUGIN_DEFINE(components)
