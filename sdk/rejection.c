/* Recursive rejection sampling over a draft tree: the lossless verification
 * rule shared by speculative-sampling and multi-draft.
 *
 * At each position, starting at the root, the children are tested in tree
 * order against the working target p (Leviathan et al. 2023, Alg. 1: accept
 * x with probability min(1, p(x)/q(x))). A rejection replaces p by the
 * residual norm(max(0, p - q)) before the next sibling is tested (Miao et
 * al. 2023, SpecInfer §4). What happens to q depends on how the siblings
 * were drawn:
 *   - i.i.d. from q (with replacement): q stays (SpecInfer);
 *   - without replacement, in tree order (Gumbel-top-k or sequential draws):
 *     the k-th sibling was drawn from q with the k-1 earlier ones removed, so
 *     q loses each rejected token and is renormalised (Jeon et al. 2024,
 *     "Recursive Speculative Decoding", §3, recursive rejection sampling).
 * Either way, conditioned on the earlier siblings, each test is the
 * two-distribution rejection step, so the committed token follows the
 * target. An accepted child becomes the next position; when every child is
 * rejected the correction token is drawn from the residual, and at a leaf
 * the bonus token from the target.
 *
 * Drafters without draft probabilities, and tokens outside q (not drawn from
 * it), are tested as q = δ_x: accept with probability p(x), else p(x) = 0
 * and renormalise, which is lossless for any deterministic choice of
 * distinct siblings. With one-hot targets every rule reduces to greedy
 * matching. */
#include "weft/sdk.h"

void weft_rejection_init(weft_rejection *s, const weft_env *env) {
    weft_residual_init(&s->p, env);
    weft_residual_init(&s->q, env);
}

void weft_rejection_free(weft_rejection *s) {
    weft_residual_free(&s->p);
    weft_residual_free(&s->q);
}

/* One accept/reject test of draft token x against the working p and q. */
static bool test_child(weft_rejection *s, weft_sibling_draw draw, weft_token x, double u) {
    double px = weft_residual_prob(&s->p, x), qx = weft_residual_prob(&s->q, x);
    if (qx > 0) {
        if (u * qx < px) return true; /* u < p(x) / q(x) */
        weft_residual_subtract(&s->p, &s->q);
        if (draw == WEFT_SIBLINGS_DISTINCT) weft_residual_remove(&s->q, x);
    } else {
        if (u < px) return true;
        weft_residual_remove(&s->p, x);
    }
    return false;
}

/* Loads p and q at the position of `node` and tests its children: the
 * accepted child, or -1 with *next drawn from the residual. p and q are
 * empty on entry and cleared by the caller. */
static weft_status test_children(weft_rejection *s, const weft_verify_ctx *ctx, weft_sibling_draw draw,
                                 int32_t node, int32_t *accepted, weft_token *next) {
    const weft_tree *tree = ctx->tree;
    const size_t pos = (size_t)(node + 1);
    double (*uniform)(weft_rng *) = s->p.env->host->rng_uniform;
    const weft_dist *q = tree->draft_dists ? &tree->draft_dists[pos] : NULL;
    weft_status st = weft_residual_load(&s->p, &ctx->target[pos]);
    if (st == WEFT_OK && q && q->size > 0) st = weft_residual_load(&s->q, q); /* else q stays empty */
    if (st != WEFT_OK) return st;
    int32_t c = weft_tree_next_child(tree, node, node);
    while (c >= 0 && !test_child(s, draw, tree->tokens[c], uniform(ctx->rng))) c = weft_tree_next_child(tree, node, c);
    *accepted = c;
    if (c < 0) *next = weft_residual_sample(&s->p, uniform(ctx->rng));
    return WEFT_OK;
}

weft_status weft_rejection_verify(weft_rejection *s, const weft_verify_ctx *ctx, weft_sibling_draw draw,
                                  weft_verify_result *out) {
    const weft_env *env = s->p.env;
    int32_t node = -1; /* the root */
    out->n_accepted = 0;
    for (;;) {
        const weft_dist *p = &ctx->target[node + 1];
        if (p->size == 0) {
            weft_error(env, "empty target distribution at position %d", node + 1);
            return WEFT_ERR_INVALID;
        }
        if (weft_tree_next_child(ctx->tree, node, node) < 0) { /* a leaf (or no draft): the bonus token */
            out->next = weft_dist_sample(p, env->host->rng_uniform(ctx->rng));
            return WEFT_OK;
        }
        int32_t c;
        weft_status st = test_children(s, ctx, draw, node, &c, &out->next);
        weft_residual_clear(&s->p);
        weft_residual_clear(&s->q);
        if (st != WEFT_OK || c < 0) return st; /* every child rejected: the correction token */
        out->accepted[out->n_accepted++] = c;
        node = c;
    }
}
