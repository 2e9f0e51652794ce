/* temperature: logits /= t. t < 1 sharpens, t > 1 flattens, t = 0 is greedy
 * (the limit t -> 0+). */
#include <float.h>
#include <math.h>

#include <weft/sdk.h>

typedef struct temperature {
    weft_state base;
    double t;
} temperature;

static const weft_param_desc params[] = {
    WEFT_PARAM_DOUBLE_MIN("t", 0, "0.8", "Temperature: logits are divided by t; 0 means greedy"),
};

static weft_status temperature_create(const weft_env *env, const weft_value *args, void **self) {
    double t = args[0].u.d;
    if (!(t >= 0) || isinf(t)) {
        weft_error(env, "t must be a finite number >= 0, got %g", t);
        return WEFT_ERR_INVALID;
    }
    temperature *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->t = t;
    *self = s;
    return WEFT_OK;
}

static weft_status temperature_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    const double t = ((const temperature *)self)->t;
    if (t == 0) {
        weft_cands_keep_argmax(c);
        return WEFT_OK;
    }
    for (size_t i = 0; i < c->size; i++) {
        float l = c->data[i].logit;
        if (isinf(l)) continue; /* infinities keep their meaning */
        /* In double and clamped: a small t must not turn a large finite logit
         * into inf, which would make softmax produce NaN (inf - inf). */
        double v = (double)l / t;
        c->data[i].logit = v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v;
    }
    /* Dividing by t > 0 keeps the order, so c->sorted still holds. */
    return WEFT_OK;
}

static const weft_sampler_vtable temperature_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = temperature_apply,
    .clone = weft_state_clone,
};

static const weft_component_desc temperature_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "temperature",
    .version = "1.0",
    .description = "Divide logits by a temperature t (t = 0: greedy)",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = temperature_create,
    .destroy = weft_state_free,
    .vtable = &temperature_vtable,
};

static const weft_component_desc *const components[] = {&temperature_desc};
WEFT_PLUGIN_DEFINE(components)
