/* speculative-sampling: lossless verification of a draft tree, the default
 * verifier.
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
 * from q; for siblings drawn without replacement use multi-draft's "rsd".
 *
 * Drafters without draft probabilities (n-gram lookups, ...) are treated as
 * q = δ_x: x is accepted with probability p(x), and a rejection sets p(x) = 0
 * and renormalises, which is lossless for any deterministic choice of
 * distinct siblings. With one-hot targets both rules reduce to greedy-match.
 * The rule itself lives in the SDK (sdk/rejection.c), shared with
 * multi-draft. */
#include <weft/sdk.h>

typedef struct spec {
    weft_state base;
    weft_rejection scratch;
} spec;

static weft_status spec_create(const weft_env *env, const weft_value *args, void **self) {
    (void)args;
    spec *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    weft_rejection_init(&s->scratch, env);
    *self = s;
    return WEFT_OK;
}

static void spec_destroy(void *self) {
    spec *s = self;
    if (!s) return;
    weft_rejection_free(&s->scratch);
    weft_state_free(s);
}

static weft_status spec_verify(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    spec *s = self;
    return weft_rejection_verify(&s->scratch, ctx, WEFT_SIBLINGS_IID, out);
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
