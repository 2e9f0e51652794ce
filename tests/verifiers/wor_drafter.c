/* wor-draft: a test drafter whose siblings are drawn WITHOUT replacement
 * from its draft distribution q, the setting of Recursive Speculative
 * Decoding (Jeon et al. 2024, RSD-C): at every position shallower than
 * `depth`, the `branch` children are the Gumbel-top-k of q, in decreasing
 * order of log q(x) + Gumbel noise, which is distributed as drawing them one
 * after the other from q with the earlier ones removed (Kool et al. 2019,
 * "Stochastic Beams and Where to Find Them", §3). It reports q itself at
 * every position; the verifier must know the siblings are distinct.
 *
 * q(next | t) = softmax(skew * h(seed, t, next)) over the whole vocabulary,
 * h a fixed hash in [-1, 1) and t the token at the parent position: unlike
 * the Markov target, so verification has real rejections to do. */
#include <math.h>

#include <weft/sdk.h>

#include "markov_draft.h"

/* Keeps q's hash apart from the Markov backend's and random-draft's. */
#define Q_SALT 0x2545f4914f6cdd1dull

typedef struct wor_draft {
    weft_state base;
    size_t depth, branch;
    double skew;
    uint64_t seed;
    weft_candidate *q; /* per position: n_vocab entries */
    double *key;       /* n_vocab Gumbel keys */
    int32_t *node_depth;
    size_t cap_q, cap_key, cap_depth;
} wor_draft;

enum { P_DEPTH, P_BRANCH, P_SKEW, P_SEED };

static const weft_param_desc params[] = {
    WEFT_PARAM_INT("depth", 1, 64, "2", "Depth of the drafted tree"),
    WEFT_PARAM_INT("branch", 1, 8, "2", "Distinct children per drafted position"),
    WEFT_PARAM_DOUBLE_MIN("skew", 0, "2.0", "Sharpness of q (0 = uniform)"),
    WEFT_PARAM("seed", WEFT_TYPE_INT, 0, 0, 0, "0", "Picks which q (a hash offset)"),
};

static void wd_destroy(void *self) {
    wor_draft *s = self;
    if (!s) return;
    weft_free(s->base.env, s->q);
    weft_free(s->base.env, s->key);
    weft_free(s->base.env, s->node_depth);
    weft_state_free(s);
}

static weft_status wd_create(const weft_env *env, const weft_value *args, void **self) {
    wor_draft *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->depth = (size_t)args[P_DEPTH].u.i;
    s->branch = (size_t)args[P_BRANCH].u.i;
    s->skew = args[P_SKEW].u.d;
    s->seed = (uint64_t)args[P_SEED].u.i ^ Q_SALT;
    *self = s;
    return WEFT_OK;
}

static weft_status reserve(wor_draft *s, size_t positions, size_t nv) {
    const weft_env *env = s->base.env;
    if (!weft_scratch_reserve(env, (void **)&s->q, &s->cap_q, positions * nv, sizeof *s->q) ||
        !weft_scratch_reserve(env, (void **)&s->key, &s->cap_key, nv, sizeof *s->key) ||
        !weft_scratch_reserve(env, (void **)&s->node_depth, &s->cap_depth, positions, sizeof *s->node_depth))
        return WEFT_ERR_NOMEM;
    return WEFT_OK;
}

/* Gumbel-top-k: key = log q + G with G = -log(-log u); the k largest keys,
 * largest first, are k draws without replacement, in draw order. */
static void gumbel_keys(wor_draft *s, const weft_candidate *q, size_t nv, weft_rng *rng) {
    const weft_host *host = s->base.env->host;
    for (size_t j = 0; j < nv; j++) {
        double u = host->rng_uniform(rng);
        s->key[j] = q[j].p > 0 ? log(q[j].p) - log(-log(u)) : -INFINITY;
    }
}

/* Takes the largest remaining key (lowest id on ties) and retires it;
 * callers take at most nv. */
static weft_token pop_max(wor_draft *s, size_t nv) {
    size_t best = nv;
    for (size_t j = 0; j < nv; j++)
        if (!isnan(s->key[j]) && (best == nv || s->key[j] > s->key[best])) best = j;
    s->key[best] = NAN; /* retired */
    return (weft_token)best;
}

static weft_status wd_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    wor_draft *s = self;
    size_t nv = (size_t)ctx->n_vocab;
    size_t budget = ctx->max_nodes < out->capacity ? ctx->max_nodes : out->capacity;
    size_t max_depth = s->depth < ctx->max_depth ? s->depth : ctx->max_depth;
    size_t branch = s->branch < nv ? s->branch : nv;
    out->n_nodes = 0;
    if (budget == 0 || max_depth == 0 || ctx->n_history == 0) return WEFT_OK;
    weft_status st = reserve(s, budget + 1, nv);
    if (st != WEFT_OK) return st;
    for (size_t pos = 0; pos <= out->n_nodes && out->n_nodes < budget; pos++) { /* breadth-first */
        size_t d = pos ? (size_t)s->node_depth[pos - 1] : 0;
        if (d >= max_depth) continue;
        weft_token t = pos ? out->tokens[pos - 1] : ctx->history[ctx->n_history - 1];
        weft_candidate *q = s->q + pos * nv;
        markov_draft_q(s->seed, s->skew, t, nv, q);
        if (out->draft_dists) out->draft_dists[pos] = (weft_dist){q, nv};
        gumbel_keys(s, q, nv, ctx->rng);
        for (size_t k = 0; k < branch && out->n_nodes < budget; k++) {
            weft_token x = pop_max(s, nv);
            size_t i = out->n_nodes++;
            out->tokens[i] = x;
            out->parents[i] = (int32_t)pos - 1;
            if (out->flags) out->flags[i] = 0;
            if (out->draft_p) out->draft_p[i] = q[x].p;
            s->node_depth[i] = (int32_t)d + 1;
        }
    }
    return WEFT_OK;
}

static const weft_drafter_vtable wd_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .draft = wd_draft,
};

static const weft_component_desc wd_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "wor-draft",
    .version = "1.0",
    .description = "Test drafter: distinct siblings drawn without replacement from q (Gumbel-top-k), q reported",
    .flags = WEFT_CAP_TREES | WEFT_CAP_DRAFT_PROBS,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = wd_create,
    .destroy = wd_destroy,
    .vtable = &wd_vtable,
};

static const weft_component_desc *const components[] = {&wd_desc};
WEFT_PLUGIN_DEFINE(components)
