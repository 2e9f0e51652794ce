/* multi-draft: lossless verification of trees with several drafts per node,
 * for either way of drawing the siblings (param `mode`):
 *
 *   "specinfer": siblings drawn i.i.d. from q, with replacement. Each
 *      rejection replaces p by norm(max(0, p - q)); q stays. Miao et al.
 *      2023, "SpecInfer", §4 (multi-step speculative sampling).
 *   "rsd": siblings drawn without replacement, in tree order (Gumbel-top-k
 *      or sequential draws), as in Jeon et al. 2024, "Recursive Speculative
 *      Decoding: Accelerating LLM Inference via Sampling Without
 *      Replacement", §3. The k-th sibling comes from q_k = q without the
 *      k-1 earlier siblings, renormalised: it is tested with min(1,
 *      p_k(x)/q_k(x)), and a rejection sets p_{k+1} = norm(max(0, p_k - q_k))
 *      and q_{k+1} = q_k without x.
 *
 * The specinfer rule on distinct siblings is not lossless (tests/verifiers
 * catch it). The rsd rule stays lossless on i.i.d. siblings: a repeat of a
 * rejected token has p = q_k = 0 and is rejected with nothing changed, and
 * a fresh token, given that it is fresh, is a draw from q_k; the repeats are
 * just wasted. Drafts without q are tested as q = δ_x in both modes. The rule is the
 * SDK's recursive rejection sampling (sdk/rejection.c), which
 * speculative-sampling uses with i.i.d. siblings. */
#include <string.h>

#include <weft/sdk.h>

typedef struct multi_draft {
    weft_state base;
    weft_sibling_draw draw;
    weft_rejection scratch;
} multi_draft;

static const char *const modes[] = {"specinfer", "rsd", NULL};

static const weft_param_desc params[] = {
    {.struct_size = sizeof(weft_param_desc), .name = "mode", .type = WEFT_TYPE_STRING, .def = "\"specinfer\"",
     .doc = "How the drafter drew siblings: specinfer = i.i.d. from q, rsd = without replacement",
     .choices = modes},
};

static weft_status md_create(const weft_env *env, const weft_value *args, void **self) {
    multi_draft *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->draw = strcmp(args[0].u.s, "rsd") == 0 ? WEFT_SIBLINGS_DISTINCT : WEFT_SIBLINGS_IID;
    weft_rejection_init(&s->scratch, env);
    *self = s;
    return WEFT_OK;
}

static void md_destroy(void *self) {
    multi_draft *s = self;
    if (!s) return;
    weft_rejection_free(&s->scratch);
    weft_state_free(s);
}

static weft_status md_verify(void *self, const weft_verify_ctx *ctx, weft_verify_result *out) {
    multi_draft *s = self;
    return weft_rejection_verify(&s->scratch, ctx, s->draw, out);
}

static const weft_verifier_vtable md_vtable = {
    .struct_size = sizeof(weft_verifier_vtable),
    .verify = md_verify,
};

static const weft_component_desc md_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_VERIFIER,
    .name = "multi-draft",
    .version = "1.0",
    .description = "Lossless multi-draft tree verification: SpecInfer (i.i.d. siblings) or RSD (without replacement)",
    .flags = WEFT_CAP_LOSSLESS | WEFT_CAP_TREES,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = md_create,
    .destroy = md_destroy,
    .vtable = &md_vtable,
};

static const weft_component_desc *const components[] = {&md_desc};
WEFT_PLUGIN_DEFINE(components)
