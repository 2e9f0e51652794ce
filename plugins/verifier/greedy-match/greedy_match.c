/* greedy-match: walk the draft tree along the target's argmax.
 *
 * At each position take t = argmax of the target distribution; if a child
 * carries t, accept it and continue from there, else stop and emit t. With a
 * greedy (one-hot) target this commits exactly what one-token-at-a-time
 * decoding would, hence WEFT_CAP_LOSSLESS_GREEDY (not WEFT_CAP_LOSSLESS): with
 * a non-degenerate target it still picks the argmax, i.e. it decodes greedily
 * whatever the samplers say (speculative-sampling preserves a sampled
 * distribution). */
#include <weft/sdk.h>

static weft_status greedy_match_create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    *self = weft_state_new(env, sizeof(weft_state));
    return *self ? WEFT_OK : WEFT_ERR_NOMEM;
}

static weft_status greedy_match_verify(void *self, const weft_verify_ctx *ctx,
                                       weft_verify_result *out) {
    const weft_env *env = ((const weft_state *)self)->env;
    const weft_tree *tree = ctx->tree;
    int32_t node = -1; /* the root */
    out->n_accepted = 0;
    for (;;) {
        const weft_dist *d = &ctx->target[node + 1];
        weft_token t = weft_dist_argmax(d);
        if (t < 0) {
            weft_error(env, "empty target distribution at position %d", node + 1);
            return WEFT_ERR_INVALID;
        }
        int32_t c = weft_tree_next_child(tree, node, node);
        while (c >= 0 && tree->tokens[c] != t) c = weft_tree_next_child(tree, node, c);
        if (c < 0) {
            out->next = t;
            return WEFT_OK;
        }
        out->accepted[out->n_accepted++] = c;
        node = c;
    }
}

static const weft_verifier_vtable greedy_match_vtable = {
    .struct_size = sizeof(weft_verifier_vtable),
    .verify = greedy_match_verify,
};

static const weft_component_desc greedy_match_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_VERIFIER,
    .name = "greedy-match",
    .version = "1.0",
    .description = "Accept draft tokens equal to the target's argmax (exact for greedy decoding)",
    .flags = WEFT_CAP_LOSSLESS_GREEDY | WEFT_CAP_TREES,
    .create = greedy_match_create,
    .destroy = weft_state_free,
    .vtable = &greedy_match_vtable,
};

static const weft_component_desc *const components[] = {&greedy_match_desc};
WEFT_PLUGIN_DEFINE(components)
