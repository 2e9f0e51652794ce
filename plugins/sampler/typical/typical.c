/* Locally typical sampling (Meister et al. 2023, "Locally Typical Sampling",
 * TACL; llama.cpp's llama_sampler_typical): keep the tokens whose surprise
 * -log p is closest to the distribution's entropy H, in order of
 * |-log p - H|, until their mass exceeds p. Boundary rules follow llama.cpp:
 * p >= 1 keeps everything, the token that makes the mass exceed p is kept,
 * and at least min_keep tokens are kept. Tokens with p = 0 have an infinite
 * score and come last. The kept tokens stay in their input order. */
#include <math.h>
#include <stdlib.h>

#include <weft/sdk.h>

typedef struct scored {
    double score, p;
    size_t index; /* in the candidate set */
    weft_token id;
} scored;

typedef struct typical {
    weft_p_keep pk; /* first: p and min_keep */
    scored *buf; /* scratch, one per candidate */
    bool *keep;
    size_t cap_buf, cap_keep;
} typical;

static const weft_param_desc params[] = {
    WEFT_P_KEEP_PARAMS("0.95", "Mass of the most typical tokens to keep; 1 = off"),
};

static void typical_destroy(void *self) {
    typical *s = self;
    if (!s) return;
    weft_free(s->pk.base.env, s->buf);
    weft_free(s->pk.base.env, s->keep);
    weft_state_free(s);
}

static weft_status typical_create(const weft_env *env, const weft_value *args, void **self) {
    *self = weft_p_keep_new(env, args, sizeof(typical));
    return *self ? WEFT_OK : WEFT_ERR_INVALID;
}

/* Ascending score; ties by token id, whatever the input order. */
static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static weft_status typical_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    typical *s = self;
    if (s->pk.p >= 1 || c->size <= 1) return WEFT_OK;
    double lse = weft_cands_logsumexp(c);
    if (!isfinite(lse)) return WEFT_OK;
    if (!weft_scratch_reserve(s->pk.base.env, (void **)&s->buf, &s->cap_buf, c->size, sizeof *s->buf) ||
        !weft_scratch_reserve(s->pk.base.env, (void **)&s->keep, &s->cap_keep, c->size, sizeof *s->keep))
        return WEFT_ERR_NOMEM;
    double entropy = 0;
    for (size_t i = 0; i < c->size; i++) {
        double lp = (double)c->data[i].logit - lse, p = exp(lp);
        s->buf[i] = (scored){.score = lp, .p = p, .index = i, .id = c->data[i].id}; /* score holds log p for now */
        if (p > 0) entropy -= p * lp;
    }
    for (size_t i = 0; i < c->size; i++)
        s->buf[i].score = s->buf[i].p > 0 ? fabs(-s->buf[i].score - entropy) : INFINITY;
    qsort(s->buf, c->size, sizeof *s->buf, cmp_scored);
    double mass = 0;
    size_t n = c->size;
    for (size_t i = 0; i < c->size; i++) {
        mass += s->buf[i].p;
        if (mass > s->pk.p && i + 1 >= s->pk.min_keep) {
            n = i + 1;
            break;
        }
    }
    if (n == c->size) return WEFT_OK;
    for (size_t i = 0; i < c->size; i++) s->keep[i] = false;
    for (size_t i = 0; i < n; i++) s->keep[s->buf[i].index] = true;
    size_t w = 0; /* stable compaction keeps `sorted` valid */
    for (size_t i = 0; i < c->size; i++)
        if (s->keep[i]) c->data[w++] = c->data[i];
    c->size = w;
    return WEFT_OK;
}

static weft_status typical_clone(void *self, void **out) {
    const typical *s = self;
    const weft_value args[] = {{.present = true, .u.d = s->pk.p}, {.present = true, .u.i = (int64_t)s->pk.min_keep}};
    return typical_create(s->pk.base.env, args, out);
}

static const weft_sampler_vtable typical_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = typical_apply,
    .clone = typical_clone,
};

static const weft_component_desc typical_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "typical",
    .version = "1.0",
    .description = "Locally typical sampling: keep tokens whose surprise is closest to the entropy, up to mass p",
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = typical_create,
    .destroy = typical_destroy,
    .vtable = &typical_vtable,
};

static const weft_component_desc *const components[] = {&typical_desc};
WEFT_PLUGIN_DEFINE(components)
