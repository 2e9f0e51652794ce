/* budget: a policy wrapper that sets the budget of each layer for the
 * compressor it wraps.
 *   - pyramid > 0: lower layers keep more, upper layers less, with the same
 *     mean (Cai et al. 2024, "PyramidKV"): layer l of L keeps
 *     budget * (1 + pyramid * (1 - 2l / (L - 1))).
 *   - decode_budget > 0: the prompt is compressed once to prefill_budget and
 *     then pinned; generated entries get their own decode_budget (Wu et al.
 *     2024, "SCOPE: Optimizing Key-Value Cache Compression in Long-context
 *     Generation"). */
#include <math.h>
#include <stdlib.h>

#include "evict.h"

enum { P_COMPRESSOR, P_BUDGET, P_PYRAMID, P_PREFILL, P_DECODE, P_SLACK };

static const weft_param_desc PARAMS[] = {
    [P_COMPRESSOR] = {.struct_size = sizeof(weft_param_desc), .name = "compressor", .type = WEFT_TYPE_COMPONENT,
                      .flags = WEFT_PARAM_REQUIRED, .doc = "The KV compressor that chooses the entries",
                      .nested_kind = WEFT_KIND_KV_COMPRESSOR},
    [P_BUDGET] = WEFT_PARAM_INT_MIN("budget", 1, "256", "Mean entries kept per layer"),
    [P_PYRAMID] = WEFT_PARAM_DOUBLE("pyramid", 0, 0.95, "0",
                                    "Budget slope over layers: 0 = uniform, 0.5 = first layer 1.5x, last 0.5x"),
    [P_PREFILL] = WEFT_PARAM_INT_MIN("prefill_budget", 0, "0", "Mean entries kept of the prompt; 0 = budget"),
    [P_DECODE] = WEFT_PARAM_INT_MIN("decode_budget", 0, "0",
                                    "Entries kept of the generated text, the prompt pinned; 0 = one budget for all"),
    [P_SLACK] = WEFT_PARAM_INT_MIN("slack", 0, "16", "Entries the cache may grow past budget before compressing"),
};

typedef struct budget {
    const weft_env *env;
    weft_instance *inner;
    int32_t budget, prefill, decode, slack;
    double pyramid;
    int32_t n_layers;
    int32_t *budgets, *pinned; /* per layer */
    bool pinned_set;
} budget;

static const weft_kv_vtable *inner_vt(const budget *b) { return b->inner->desc->vtable; }

static weft_status create(const weft_env *env, const weft_value *args, void **self) {
    budget *b = calloc(1, sizeof *b);
    if (!b) return WEFT_ERR_NOMEM;
    b->env = env;
    b->inner = args[P_COMPRESSOR].u.component;
    b->budget = (int32_t)args[P_BUDGET].u.i;
    b->pyramid = args[P_PYRAMID].u.d;
    b->prefill = args[P_PREFILL].u.i > 0 ? (int32_t)args[P_PREFILL].u.i : b->budget;
    b->decode = (int32_t)args[P_DECODE].u.i;
    b->slack = (int32_t)args[P_SLACK].u.i;
    *self = b;
    return WEFT_OK;
}

static void destroy(void *self) {
    budget *b = self;
    if (!b) return;
    free(b->budgets);
    free(b->pinned);
    free(b);
}

static uint32_t signals(void *self) {
    const budget *b = self;
    return inner_vt(b)->signals(b->inner->self);
}

/* Layer l's share of a mean budget. */
static int32_t shaped(const budget *b, int32_t mean, int l, int n_layers) {
    if (n_layers < 2 || b->pyramid == 0) return mean;
    const double f = 1 + b->pyramid * (1 - 2.0 * l / (n_layers - 1));
    const int32_t v = (int32_t)lround(mean * f);
    return v > 1 ? v : 1;
}

static int32_t largest(const int32_t *a, int n) {
    int32_t m = 0;
    for (int i = 0; i < n; i++) m = a[i] > m ? a[i] : m;
    return m;
}

static void schedule(void *self, weft_kv_schedule *out) {
    const budget *b = self;
    weft_kv_schedule in = {.struct_size = sizeof in};
    inner_vt(b)->schedule(b->inner->self, &in);
    out->after_prefill = true;
    out->every_n_tokens = 0;
    int32_t top = b->budget;
    if (b->n_layers) top = largest(b->budgets, b->n_layers);
    out->when_over = top + b->slack;
    if (out->struct_size >= offsetof(weft_kv_schedule, obs_window) + sizeof out->obs_window)
        out->obs_window = in.obs_window;
}

static weft_status plan(void *self, const weft_kv_ctx *ctx, weft_kv_plan *out) {
    budget *b = self;
    const int L = ctx->n_layers;
    if (b->n_layers != L) {
        free(b->budgets);
        free(b->pinned);
        b->budgets = calloc((size_t)L, sizeof *b->budgets);
        b->pinned = calloc((size_t)L, sizeof *b->pinned);
        if (!b->budgets || !b->pinned) return b->n_layers = 0, WEFT_ERR_NOMEM;
        b->n_layers = L;
    }
    const bool scope = b->decode > 0 && !ctx->after_prefill && b->pinned_set;
    for (int l = 0; l < L; l++)
        b->budgets[l] = scope ? b->pinned[l] + b->decode : shaped(b, ctx->after_prefill ? b->prefill : b->budget, l, L);
    weft_kv_ctx c = *ctx;
    c.struct_size = sizeof c;
    c.budget = b->budgets;
    c.n_pinned = scope ? b->pinned : NULL;
    weft_status st = inner_vt(b)->plan(b->inner->self, &c, out);
    if (st != WEFT_OK || !ctx->after_prefill) return st;
    /* the prompt as kept: pinned while decoding (SCOPE) */
    for (int l = 0; l < L; l++) b->pinned[l] = out->n_layers ? out->n_keep[l] : ctx->kv_len;
    b->pinned_set = b->decode > 0;
    if (b->pinned_set)
        for (int l = 0; l < L; l++) b->budgets[l] = b->pinned[l] + b->decode;
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
    .name = "budget",
    .version = "1.0",
    .description = "Per-layer (PyramidKV) and prefill/decode (SCOPE) budgets for a wrapped compressor",
    .params = PARAMS,
    .n_params = WEFT_COUNT_OF(PARAMS),
    .create = create,
    .destroy = destroy,
    .vtable = &VTABLE,
};

static const weft_component_desc *const COMPONENTS[] = {&DESC};
WEFT_PLUGIN_DEFINE(COMPONENTS)
