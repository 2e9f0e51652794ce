/* quantize: store older entries with fewer bits, keys per channel and
 * values per token, the newest `recent` in full precision (Liu et al.
 * 2024, "KIVI"). Nothing is evicted. The backend quantizes in groups of
 * slots (32 in the llama backend), so the plan runs every 32 tokens. */
#include <stdlib.h>

#include "evict.h"

enum { P_BITS, P_RECENT, P_EVERY };

static const weft_param_desc PARAMS[] = {
    [P_BITS] = WEFT_PARAM_INT("bits", 4, 8, "4", "Bits per stored element: 4 or 8"),
    [P_RECENT] = WEFT_PARAM_INT_MIN("recent", 0, "128", "Newest entries kept in full precision (KIVI's residual)"),
    [P_EVERY] = WEFT_PARAM_INT_MIN("every", 1, "32", "Tokens between two quantization passes"),
};

typedef struct quantize {
    const weft_env *env;
    weft_kv_type type;
    int32_t recent, every;
    kvc_plan_buf plan;
} quantize;

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    if (args[P_BITS].u.i != 4 && args[P_BITS].u.i != 8) {
        weft_error(env, "bits must be 4 or 8, got %lld", (long long)args[P_BITS].u.i);
        return WEFT_ERR_INVALID;
    }
    quantize *q = calloc(1, sizeof *q);
    if (!q) return WEFT_ERR_NOMEM;
    q->env = env;
    q->type = args[P_BITS].u.i == 4 ? WEFT_KV_Q4 : WEFT_KV_Q8_0;
    q->recent = (int32_t)args[P_RECENT].u.i;
    q->every = (int32_t)args[P_EVERY].u.i;
    *self = q;
    return WEFT_OK;
}

static void destroy(void *self) {
    quantize *q = self;
    if (!q) return;
    kvc_plan_free(&q->plan);
    free(q);
}

static uint32_t signals(void *self) {
    (void)self;
    return WEFT_KV_NEEDS_POSITIONS;
}

static void schedule(void *self, weft_kv_schedule *out) {
    out->after_prefill = true;
    out->every_n_tokens = ((quantize *)self)->every;
    out->when_over = 0;
}

static weft_status plan(void *self, const weft_kv_ctx *ctx, weft_kv_plan *out) {
    quantize *q = self;
    const weft_instance *be = ctx->backend;
    const weft_backend_vtable *bv = be->desc->vtable;
    out->n_layers = 0;
    if (!kvc_plan_reserve(&q->plan, ctx->n_layers, ctx->kv_len)) return WEFT_ERR_NOMEM;
    const int32_t full = q->recent > ctx->n_protected ? q->recent : ctx->n_protected;
    bool more = false;
    for (int l = 0; l < ctx->n_layers; l++) {
        weft_kv_view v = {.struct_size = sizeof v};
        weft_status st = bv->kv_view(be->self, l, &v);
        if (st != WEFT_OK) return st;
        const int32_t n = v.n_slots < ctx->kv_len ? v.n_slots : ctx->kv_len;
        const int32_t nq = n - full > 0 ? n - full : 0;
        int32_t *list = kvc_plan_list(&q->plan, l);
        for (int32_t i = 0; i < n; i++) list[i] = i;
        q->plan.keep[l] = list;
        q->plan.n_keep[l] = n;
        q->plan.n_quant[l] = nq;
        const bool has = v.struct_size >= offsetof(weft_kv_view, n_quantized) + sizeof v.n_quantized;
        more |= nq > (has ? v.n_quantized : 0);
    }
    if (!more) return WEFT_OK;
    out->n_layers = ctx->n_layers;
    out->n_keep = q->plan.n_keep;
    out->keep = q->plan.keep;
    if (out->struct_size >= offsetof(weft_kv_plan, quant_type) + sizeof out->quant_type) {
        out->n_quantized = q->plan.n_quant;
        out->quant_type = q->type;
    }
    return WEFT_OK;
}

static const weft_kv_vtable VTABLE = {
    .struct_size = sizeof(weft_kv_vtable),
    .signals = signals,
    .schedule = schedule,
    .plan = plan,
};

static const weft_component_desc DESC = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_KV_COMPRESSOR,
    .name = "quantize",
    .version = "1.0",
    .description = "Store older entries in 8 or 4 bits, keys per channel and values per token (KIVI)",
    .params = PARAMS,
    .n_params = WEFT_COUNT_OF(PARAMS),
    .create = create,
    .destroy = destroy,
    .vtable = &VTABLE,
};

static const weft_component_desc *const COMPONENTS[] = {&DESC};
WEFT_PLUGIN_DEFINE(COMPONENTS)
