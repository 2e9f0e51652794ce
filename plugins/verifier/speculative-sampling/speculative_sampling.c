/* speculative-sampling: lossless verification of a draft tree.
 *
 * Chains: Leviathan et al. 2023, "Fast Inference from Transformers via
 * Speculative Decoding", Alg. 1 (also Chen et al. 2023): accept draft token x
 * with probability min(1, p(x)/q(x)); on rejection draw from the residual
 * norm(max(0, p - q)); after a fully accepted path draw the bonus token from
 * the target at the leaf.
 *
 * Trees: Miao et al. 2023, "SpecInfer", §4 (multi-step speculative
 * sampling): the children of a node are tested in tree order against the
 * same q, and each rejection replaces p by norm(max(0, p - q)) before the next
 * sibling is tested. This is lossless when the siblings were drawn i.i.d.
 * from q.
 *
 * Drafters without draft probabilities (n-gram lookups, ...) are treated as
 * q = δ_x: x is accepted with probability p(x), and a rejection sets p(x) = 0
 * and renormalises, which is lossless for any deterministic choice of
 * distinct siblings. With one-hot targets both rules reduce to greedy-match. */
#include <weft/sdk.h>

/* Residual mass below this fraction of the current mass is rounding noise
 * (p <= q everywhere means p == q): keep p instead. Reaching that branch
 * has probability below the same bound, so the bias is negligible. */
#define RESIDUAL_EPS 1e-6

/* The working copy of the target at one position: unnormalised weights,
 * dense by token id so p(x) is O(1); zero outside `ids`, its support. */
typedef struct spec {
    weft_state base;
    double *w;
    size_t w_cap;
    weft_token *ids;
    size_t n_ids, ids_cap;
    double total; /* sum of w over ids: p(x) = w[x] / total */
} spec;

static weft_status spec_create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    *self = weft_state_new(env, sizeof(spec));
    return *self ? WEFT_OK : WEFT_ERR_NOMEM;
}

static void spec_destroy(void *self) {
    spec *s = self;
    if (!s) return;
    weft_free(s->base.env, s->w);
    weft_free(s->base.env, s->ids);
    weft_state_free(s);
}

/* Grows the scratch to hold d; grows geometrically, so in steady state (the
 * vocabulary seen once) verify() does not allocate. */
static weft_status reserve(spec *s, const weft_dist *d) {
    const weft_env *env = s->base.env;
    weft_token max_id = -1;
    for (size_t i = 0; i < d->size; i++) {
        if (d->data[i].id < 0) {
            weft_error(env, "negative token id %d in target distribution", d->data[i].id);
            return WEFT_ERR_INVALID;
        }
        if (d->data[i].id > max_id) max_id = d->data[i].id;
    }
    if ((size_t)max_id + 1 > s->w_cap) {
        size_t cap = s->w_cap * 2 > (size_t)max_id + 1 ? s->w_cap * 2 : (size_t)max_id + 1;
        double *w = env->host->realloc(s->w, cap * sizeof *w);
        if (!w) goto nomem;
        for (size_t i = s->w_cap; i < cap; i++) w[i] = 0;
        s->w = w;
        s->w_cap = cap;
    }
    if (d->size > s->ids_cap) {
        size_t cap = s->ids_cap * 2 > d->size ? s->ids_cap * 2 : d->size;
        weft_token *ids = env->host->realloc(s->ids, cap * sizeof *ids);
        if (!ids) goto nomem;
        s->ids = ids;
        s->ids_cap = cap;
    }
    return WEFT_OK;
nomem:
    weft_error(env, "out of memory for the working distribution");
    return WEFT_ERR_NOMEM;
}

static weft_status load(spec *s, const weft_dist *d) {
    weft_status st = reserve(s, d);
    if (st != WEFT_OK) return st;
    s->n_ids = 0;
    s->total = 0;
    for (size_t i = 0; i < d->size; i++) {
        const weft_candidate *c = &d->data[i];
        if (!(c->p > 0)) continue;
        if (s->w[c->id] == 0) s->ids[s->n_ids++] = c->id; /* += tolerates repeated ids */
        s->w[c->id] += c->p;
        s->total += c->p;
    }
    return WEFT_OK;
}

static void clear(spec *s) {
    for (size_t i = 0; i < s->n_ids; i++) s->w[s->ids[i]] = 0;
    s->n_ids = 0;
    s->total = 0;
}

static double weight(const spec *s, weft_token x) {
    return x >= 0 && (size_t)x < s->w_cap ? s->w[x] : 0;
}

/* p <- norm(max(0, p - q)), kept unnormalised: w <- max(0, w - q * total). */
static void subtract_draft(spec *s, const weft_dist *q) {
    double removed = 0;
    for (size_t i = 0; i < q->size; i++) {
        double w = weight(s, q->data[i].id), qt = q->data[i].p * s->total;
        removed += w < qt ? w : qt;
    }
    double rest = s->total - removed;
    if (!(rest > RESIDUAL_EPS * s->total)) return;
    for (size_t i = 0; i < q->size; i++) {
        weft_token id = q->data[i].id;
        double w = weight(s, id), qt = q->data[i].p * s->total;
        if (w > 0) s->w[id] = w > qt ? w - qt : 0;
    }
    s->total = rest;
}

/* p <- norm(p with p(x) = 0): the residual of q = δ_x. Mass left beside x
 * is real (not a difference of two roundings), however small; only when x
 * was the whole support does p stay, and then x was accepted anyway. */
static void remove_token(spec *s, weft_token x) {
    double w = weight(s, x);
    if (w <= 0 || !(s->total - w > 0)) return;
    s->w[x] = 0;
    s->total -= w;
}

/* One accept/reject test of draft token x against the working p. */
static bool test_child(spec *s, const weft_dist *q, weft_token x, double u) {
    double wx = weight(s, x);
    double qx = q ? weft_dist_prob(q, x) : 0;
    if (qx > 0) {
        /* u < p(x) / q(x), multiplied out */
        if (u * qx * s->total < wx) return true;
        subtract_draft(s, q);
    } else {
        /* no q, or x outside it (the drafter did not draw x from q): q = δ_x */
        if (u * s->total < wx) return true;
        remove_token(s, x);
    }
    return false;
}

/* Inverse-CDF draw from the working p. */
static weft_token sample_working(const spec *s, double u) {
    double target = u * s->total, acc = 0;
    for (size_t i = 0; i < s->n_ids; i++) {
        acc += s->w[s->ids[i]];
        if (target < acc) return s->ids[i];
    }
    for (size_t i = s->n_ids; i-- > 0;) /* rounding: the last token left */
        if (s->w[s->ids[i]] > 0) return s->ids[i];
    return -1;
}

static weft_status spec_verify(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    spec *s = self;
    const weft_env *env = s->base.env;
    double (*uniform)(weft_rng *) = env->host->rng_uniform;
    const weft_tree *tree = ctx->tree;
    int32_t node = -1; /* the root */
    out->n_accepted = 0;
    for (;;) {
        const size_t pos = (size_t)(node + 1);
        const weft_dist *p = &ctx->target[pos];
        if (p->size == 0) {
            weft_error(env, "empty target distribution at position %zu", pos);
            return WEFT_ERR_INVALID;
        }
        int32_t c = weft_tree_next_child(tree, node, node);
        if (c < 0) { /* a leaf (or no draft): the bonus token */
            out->next = weft_dist_sample(p, uniform(ctx->rng));
            return WEFT_OK;
        }
        weft_status st = load(s, p);
        if (st != WEFT_OK) return st;
        const weft_dist *q =
            tree->draft_dists && tree->draft_dists[pos].size > 0 ? &tree->draft_dists[pos] : NULL;
        while (c >= 0 && !test_child(s, q, tree->tokens[c], uniform(ctx->rng)))
            c = weft_tree_next_child(tree, node, c);
        if (c < 0) { /* every child rejected: the correction token */
            out->next = sample_working(s, uniform(ctx->rng));
            clear(s);
            return WEFT_OK;
        }
        clear(s);
        out->accepted[out->n_accepted++] = c;
        node = c;
    }
}

static const weft_verifier_vtable spec_vtable = {
    .struct_size = sizeof(weft_verifier_vtable),
    .verify = spec_verify,
};

static const weft_component_desc spec_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_VERIFIER,
    .name = "speculative-sampling",
    .version = "1.0",
    .description = "Lossless rejection sampling of draft trees (Leviathan et al. 2023; SpecInfer)",
    .flags = WEFT_CAP_LOSSLESS | WEFT_CAP_TREES,
    .create = spec_create,
    .destroy = spec_destroy,
    .vtable = &spec_vtable,
};

static const weft_component_desc *const components[] = {&spec_desc};
WEFT_PLUGIN_DEFINE(components)
