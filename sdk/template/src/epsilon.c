/* example-epsilon: epsilon sampling (Hewitt, Manning & Liang 2022,
 * "Truncation Sampling as Language Model Desmoothing"): drop every token
 * whose probability is below epsilon, keeping at least the most likely one.
 *
 * A sampler only shapes the candidate set; the core normalises what is left
 * and the verifier draws from it. apply() is a pure function of its inputs,
 * because the core calls it at every node of a draft tree. */
#include <math.h>

#include <weft/sdk.h>

typedef struct epsilon {
    weft_state base; /* first: lets weft_state_free / weft_state_clone work */
    double epsilon;
} epsilon;

static const weft_param_desc params[] = {
    WEFT_PARAM_DOUBLE("epsilon", 0, 1, "0.0003", "Drop tokens whose probability is below this"),
};

static weft_status eps_create(const weft_env *env, const weft_value *args, void **self) {
    epsilon *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->epsilon = args[0].u.d; /* validated by the host against the declared range */
    *self = s;
    return WEFT_OK;
}

static weft_status eps_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    const epsilon *s = self;
    (void)ctx;
    double lse = weft_cands_logsumexp(c);
    if (c->size == 0 || !isfinite(lse)) return WEFT_OK; /* nothing to judge */
    double floor_logit = log(s->epsilon) + lse;          /* p >= eps  <=>  logit >= log(eps) + lse */
    ptrdiff_t best = weft_cands_argmax(c);
    size_t w = 0;
    for (size_t i = 0; i < c->size; i++)
        if ((ptrdiff_t)i == best || c->data[i].logit >= floor_logit) c->data[w++] = c->data[i]; /* order kept */
    c->size = w;
    return WEFT_OK;
}

static const weft_sampler_vtable eps_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = eps_apply,
    .clone = weft_state_clone, /* flat state: a byte copy is a clone */
};

static const weft_component_desc eps_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "example-epsilon",
    .version = "1.0",
    .description = "Epsilon sampling: drop tokens less likely than epsilon (template example)",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = eps_create,
    .destroy = weft_state_free,
    .vtable = &eps_vtable,
};

static const weft_component_desc *const components[] = {&eps_desc};
WEFT_PLUGIN_DEFINE(components)
