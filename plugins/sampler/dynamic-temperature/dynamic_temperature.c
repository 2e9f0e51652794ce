/* Dynamic temperature (kalomaze's "DynaTemp", llama.cpp's
 * llama_sampler_temp_ext): the temperature follows the normalised entropy
 * of the distribution,
 *   T = T_min + (T_max - T_min) * (H / log n)^exponent,
 *   T_min = max(0, t - range), T_max = t + range, n = candidates,
 * so a confident step is sharpened and an uncertain one flattened. range = 0
 * is plain temperature t (llama.cpp's default chain: t 0.8, range 0). T <= 0
 * keeps only the argmax, as llama.cpp's temperature does. */
#include <math.h>

#include <weft/sdk.h>

typedef struct dynatemp {
    weft_state base;
    double t, range, exponent;
} dynatemp;

enum { P_T, P_RANGE, P_EXPONENT };

static const weft_param_desc params[] = {
    WEFT_PARAM_DOUBLE_MIN("t", 0, "0.8", "Central temperature"),
    WEFT_PARAM_DOUBLE_MIN("range", 0, "0.0", "Temperatures span [t - range, t + range]; 0 = plain temperature t"),
    WEFT_PARAM_DOUBLE_MIN("exponent", 0, "1.0", "Shapes how the normalised entropy maps onto the span"),
};

static weft_status dynatemp_create(const weft_env *env, const weft_value *args, void **self) {
    double t = args[P_T].u.d, r = args[P_RANGE].u.d, e = args[P_EXPONENT].u.d;
    if (!(t >= 0) || !(r >= 0) || !(e >= 0) || isinf(t) || isinf(r) || isinf(e)) {
        weft_error(env, "need finite t, range, exponent >= 0, got t=%g range=%g exponent=%g", t, r, e);
        return WEFT_ERR_INVALID;
    }
    dynatemp *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->t = t;
    s->range = r;
    s->exponent = e;
    *self = s;
    return WEFT_OK;
}

/* H / log n, the entropy of softmax(c) as a fraction of its maximum; NaN
 * when it is undefined (every logit -inf). */
static double normalised_entropy(const weft_candidates *c) {
    double lse = weft_cands_logsumexp(c);
    if (!isfinite(lse)) return NAN;
    double h = 0;
    for (size_t i = 0; i < c->size; i++) {
        double lp = (double)c->data[i].logit - lse, p = exp(lp);
        if (p > 0) h -= p * lp;
    }
    return h / log((double)c->size);
}

static weft_status dynatemp_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    const dynatemp *s = self;
    double t = s->t;
    if (s->range > 0) {
        if (c->size <= 1) return WEFT_OK; /* llama.cpp: nothing to scale */
        double h = normalised_entropy(c);
        if (!isnan(h)) {
            double lo = s->t - s->range > 0 ? s->t - s->range : 0, hi = s->t + s->range;
            t = lo + (hi - lo) * pow(h, s->exponent);
        }
    }
    weft_cands_temperature(c, t);
    return WEFT_OK;
}

static const weft_sampler_vtable dynatemp_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = dynatemp_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc dynatemp_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "dynamic-temperature",
    .version = "1.0",
    .description = "Temperature that follows the entropy of the distribution (llama.cpp temp-ext)",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = dynatemp_create,
    .destroy = weft_state_free,
    .vtable = &dynatemp_vtable,
};

static const weft_component_desc *const components[] = {&dynatemp_desc};
WEFT_PLUGIN_DEFINE(components)
