/* typical-acceptance: Medusa's lossy acceptance rule (Cai et al. 2024,
 * "Medusa: Simple LLM Inference Acceleration Framework with Multiple
 * Decoding Heads", §2.3.1).
 *
 * A draft token x at a position with target p is accepted when its parent
 * was and
 *     p(x) > min(epsilon, delta * exp(-H(p))),
 * epsilon a hard threshold and delta an entropy-dependent one: confident
 * (low-entropy) positions demand a likely token, uncertain ones accept any
 * plausible one. Of the accepted paths the longest wins, ties going to the
 * highest likelihood (sum of log p), then to the first in tree order, as in
 * Medusa's evaluate_posterior. The next token is the target's argmax at the
 * end of the path (Medusa accepts the first token greedily) or a draw from
 * it.
 *
 * The rule does not preserve the target distribution, so the component does
 * not claim WEFT_CAP_LOSSLESS and the runner reports its output as lossy.
 * With one-hot (greedy) targets it accepts exactly the argmax path, i.e. it
 * agrees with greedy-match. */
#include <math.h>
#include <string.h>

#include <weft/sdk.h>

typedef struct typical {
    weft_state base;
    double epsilon, delta;
    bool sample_next;
    /* per node (depth 0 = not accepted) and per position; grown, not per step */
    int32_t *depth;
    double *loglik;
    double *threshold; /* NaN until computed */
    size_t cap_depth, cap_loglik, cap_threshold;
} typical;

enum { P_THRESHOLD, P_ALPHA, P_NEXT };

static const char *const next_choices[] = {"argmax", "sample", NULL};

static const weft_param_desc params[] = {
    WEFT_PARAM_DOUBLE("posterior_threshold", 0, 1, "0.09",
                      "epsilon: a draft token with target probability above it is always accepted"),
    WEFT_PARAM_DOUBLE_MIN("posterior_alpha", 0, "0.3",
                          "delta: accept when p(x) > delta * exp(-entropy); Medusa uses sqrt(epsilon)"),
    {.struct_size = sizeof(weft_param_desc), .name = "next", .type = WEFT_TYPE_STRING, .def = "\"argmax\"",
     .doc = "Token after the accepted path: the target's argmax, or a sample from it", .choices = next_choices},
};

static weft_status ta_create(const weft_env *env, const weft_value *args, void **self) {
    typical *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->epsilon = args[P_THRESHOLD].u.d;
    s->delta = args[P_ALPHA].u.d;
    s->sample_next = strcmp(args[P_NEXT].u.s, "sample") == 0;
    *self = s;
    return WEFT_OK;
}

static void ta_destroy(void *self) {
    typical *s = self;
    if (!s) return;
    weft_free(s->base.env, s->depth);
    weft_free(s->base.env, s->loglik);
    weft_free(s->base.env, s->threshold);
    weft_state_free(s);
}

/* Room for n nodes and n + 1 positions. */
static weft_status reserve(typical *s, size_t n) {
    const weft_env *env = s->base.env;
    if (!weft_scratch_reserve(env, (void **)&s->depth, &s->cap_depth, n, sizeof *s->depth) ||
        !weft_scratch_reserve(env, (void **)&s->loglik, &s->cap_loglik, n, sizeof *s->loglik) ||
        !weft_scratch_reserve(env, (void **)&s->threshold, &s->cap_threshold, n + 1, sizeof *s->threshold))
        return WEFT_ERR_NOMEM;
    return WEFT_OK;
}

/* min(epsilon, delta * exp(-H(p))), H in nats. */
static double threshold_of(const typical *s, const weft_dist *p) {
    double h = 0;
    for (size_t i = 0; i < p->size; i++)
        if (p->data[i].p > 0) h -= p->data[i].p * log(p->data[i].p);
    return fmin(s->epsilon, s->delta * exp(-h));
}

static bool is_better(const typical *s, int32_t i, int32_t best) {
    if (best < 0 || s->depth[i] > s->depth[best]) return true;
    return s->depth[i] == s->depth[best] && s->loglik[i] > s->loglik[best];
}

static weft_status ta_verify(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    typical *s = self;
    const weft_env *env = s->base.env;
    const weft_tree *t = ctx->tree;
    weft_status st = reserve(s, t->n_nodes);
    if (st != WEFT_OK) return st;
    for (size_t pos = 0; pos <= t->n_nodes; pos++) s->threshold[pos] = NAN;
    int32_t best = -1;
    /* parents precede children: one pass decides every node */
    for (size_t i = 0; i < t->n_nodes; i++) {
        int32_t par = t->parents[i];
        s->depth[i] = 0;
        if ((t->flags && (t->flags[i] & WEFT_NODE_AUX)) || (par >= 0 && s->depth[par] == 0)) continue;
        const weft_dist *p = &ctx->target[par + 1];
        if (p->size == 0) {
            weft_error(env, "empty target distribution at position %d", par + 1);
            return WEFT_ERR_INVALID;
        }
        if (isnan(s->threshold[par + 1])) s->threshold[par + 1] = threshold_of(s, p);
        double px = weft_dist_prob(p, t->tokens[i]);
        if (!(px > s->threshold[par + 1])) continue;
        s->depth[i] = (par >= 0 ? s->depth[par] : 0) + 1;
        s->loglik[i] = (par >= 0 ? s->loglik[par] : 0) + log(px);
        if (is_better(s, (int32_t)i, best)) best = (int32_t)i;
    }
    const weft_dist *last = &ctx->target[best + 1];
    if (last->size == 0) {
        weft_error(env, "empty target distribution at position %d", best + 1);
        return WEFT_ERR_INVALID;
    }
    out->n_accepted = best < 0 ? 0 : (size_t)s->depth[best];
    for (int32_t n = best, k = (int32_t)out->n_accepted; n >= 0; n = t->parents[n]) out->accepted[--k] = n;
    out->next = s->sample_next ? weft_dist_sample(last, env->host->rng_uniform(ctx->rng)) : weft_dist_argmax(last);
    return WEFT_OK;
}

static const weft_verifier_vtable ta_vtable = {
    .struct_size = sizeof(weft_verifier_vtable),
    .verify = ta_verify,
};

static const weft_component_desc ta_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_VERIFIER,
    .name = "typical-acceptance",
    .version = "1.0",
    .description = "Medusa's typical acceptance: p(x) > min(epsilon, delta * exp(-H)); lossy",
    .flags = WEFT_CAP_TREES,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = ta_create,
    .destroy = ta_destroy,
    .vtable = &ta_vtable,
};

static const weft_component_desc *const components[] = {&ta_desc};
WEFT_PLUGIN_DEFINE(components)
