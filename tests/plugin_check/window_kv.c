/* window: a StreamingLLM-style KV compressor (attention sinks plus a recent
 * window) for weft-plugin-check's KV rules. Built twice: "window" keeps at
 * least the protected tail; with WINDOW_BROKEN, "broken-window" keeps only
 * its window even when more slots are protected, which kv.protected must
 * catch. */
#include <weft/sdk.h>

#ifdef WINDOW_BROKEN
#define WINDOW_NAME "broken-window"
#define WINDOW_DOC "Test fixture: sinks plus a window that ignores the protected tail (broken)"
#else
#define WINDOW_NAME "window"
#define WINDOW_DOC "Test fixture: keeps the first sinks and the most recent window of the cache"
#endif

enum { MAX_SLOTS = 4096, MAX_LAYERS = 64 };

typedef struct window {
    weft_state base;
    int32_t sinks, size;
    int32_t slots[MAX_SLOTS];
    int32_t n_keep[MAX_LAYERS];
    const int32_t *keep[MAX_LAYERS];
} window;

static const weft_param_desc params[] = {
    WEFT_PARAM_INT("sinks", 0, 1024, "4", "Slots kept at the start of the cache"),
    WEFT_PARAM_INT("window", 1, 4096, "8", "Most recent slots kept"),
};

static weft_status w_create(const weft_env *env, const weft_value *args, void **self) {
    window *w = weft_state_new(env, sizeof *w);
    if (!w) return WEFT_ERR_NOMEM;
    w->sinks = (int32_t)args[0].u.i;
    w->size = (int32_t)args[1].u.i;
    *self = w;
    return WEFT_OK;
}

static uint32_t w_signals(void *self) {
    (void)self;
    return WEFT_KV_NEEDS_POSITIONS;
}

static void w_schedule(void *self, weft_kv_schedule *out) {
    window *w = self;
    out->after_prefill = true;
    out->when_over = w->sinks + w->size;
}

static weft_status w_plan(void *self, const weft_kv_ctx *ctx, weft_kv_plan *out) {
    window *w = self;
#ifdef WINDOW_BROKEN
    int32_t tail = w->size; /* the defect: protected slots may fall outside the window */
#else
    int32_t tail = w->size > ctx->n_protected ? w->size : ctx->n_protected;
#endif
    out->n_layers = 0; /* nothing to do unless something can go */
    if (w->sinks + tail >= ctx->kv_len) return WEFT_OK;
    if (ctx->n_layers > MAX_LAYERS || w->sinks + tail > MAX_SLOTS) {
        weft_error(w->base.env, "at most %d layers and %d kept slots", MAX_LAYERS, MAX_SLOTS);
        return WEFT_ERR_UNSUPPORTED;
    }
    int32_t n = 0;
    for (int32_t s = 0; s < w->sinks; s++) w->slots[n++] = s;
    for (int32_t s = ctx->kv_len - tail; s < ctx->kv_len; s++) w->slots[n++] = s;
    for (int32_t l = 0; l < ctx->n_layers; l++) w->n_keep[l] = n, w->keep[l] = w->slots;
    *out = (weft_kv_plan){.struct_size = sizeof *out, .n_layers = ctx->n_layers, .n_keep = w->n_keep, .keep = w->keep};
    return WEFT_OK;
}

static const weft_kv_vtable w_vtable = {
    .struct_size = sizeof(weft_kv_vtable),
    .signals = w_signals,
    .schedule = w_schedule,
    .plan = w_plan,
};

static const weft_component_desc w_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_KV_COMPRESSOR,
    .name = WINDOW_NAME,
    .version = "1.0",
    .description = WINDOW_DOC,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = w_create,
    .destroy = weft_state_free,
    .vtable = &w_vtable,
};

static const weft_component_desc *const components[] = {&w_desc};
WEFT_PLUGIN_DEFINE(components)
