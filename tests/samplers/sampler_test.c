#include "sampler_test.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "json_view.h" /* the host's JSON view, compiled in as the core builds it */

/* ---- the toy backend: only tokenize() is used by samplers ---- */

static weft_status toy_tokenize(void *self, const char *text, size_t len, bool add_special, bool parse_special,
                                weft_token *out, size_t cap, size_t *n_out) {
    (void)add_special;
    (void)parse_special;
    const st_vocab *v = self;
    size_t n = 0;
    for (size_t at = 0; at < len;) {
        int32_t best = -1;
        for (int32_t t = 0; t < v->vocab.n_vocab; t++)
            if (v->len[t] && v->len[t] <= len - at && !memcmp(text + at, v->pieces[t], v->len[t]) &&
                (best < 0 || v->len[t] > v->len[best]))
                best = t;
        if (best < 0) return WEFT_ERR_INVALID;
        if (n < cap) out[n] = best;
        n++;
        at += v->len[best];
    }
    *n_out = n;
    return n > cap ? WEFT_ERR_INVALID : WEFT_OK;
}

static const weft_backend_vtable toy_vtable = {.struct_size = sizeof(weft_backend_vtable), .tokenize = toy_tokenize};
static const weft_component_desc toy_desc = {.struct_size = sizeof(weft_component_desc),
                                             .abi_major = WEFT_ABI_MAJOR, .abi_minor = WEFT_ABI_MINOR,
                                             .kind = WEFT_KIND_BACKEND, .name = "toy", .vtable = &toy_vtable};

void st_vocab_init(st_vocab *v, const char *const *pieces, size_t n) {
    cr_assert_leq(n, ST_MAX_PIECES);
    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v->pieces[i] = pieces[i];
        v->len[i] = (uint32_t)strlen(pieces[i]);
        v->attrs[i] = WEFT_TOKEN_NORMAL;
    }
    v->vocab = (weft_vocab){.struct_size = sizeof v->vocab, .n_vocab = (int32_t)n, .bytes = v->pieces,
                            .len = v->len, .attrs = v->attrs, .fingerprint = "toy"};
    v->backend = (weft_instance){.struct_size = sizeof v->backend, .desc = &toy_desc, .self = v};
}

void st_ctx_init(st_ctx *c, const weft_token *history, size_t n, size_t n_prompt, size_t depth, int32_t n_vocab,
                 st_vocab *vocab) {
    weft_rng_seed(&c->rng, 1);
    c->ctx = (weft_sampler_ctx){.struct_size = sizeof c->ctx, .history = history, .n_history = n,
                                .n_prompt = n_prompt, .depth = depth, .n_vocab = n_vocab, .rng = &c->rng,
                                .vocab = vocab ? &vocab->vocab : NULL, .backend = vocab ? &vocab->backend : NULL};
}

weft_status st_apply(pf *fx, const weft_sampler_ctx *ctx, weft_candidates *c) {
    return PF_SAMPLER(fx)->apply(fx->self, ctx, c);
}

/* ---- parameters ---- */

/* Parsed values, kept until st_json_release (the views borrow the trees). */
static struct {
    cJSON *root;
    weft_json *view;
} parsed[64];
static size_t n_parsed;

const weft_json *st_json(const char *text) {
    cr_assert_lt(n_parsed, 64, "too many JSON values in one test");
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "bad JSON in a test: %s", text);
    weft_json *j = json_view_build(root, "/test");
    cr_assert_not_null(j);
    parsed[n_parsed].root = root;
    parsed[n_parsed++].view = j;
    return j;
}

void st_json_release(void) {
    for (size_t i = 0; i < n_parsed; i++) {
        json_view_free(parsed[i].view);
        cJSON_Delete(parsed[i].root);
    }
    n_parsed = 0;
}

const char *st_check_descriptor(const weft_component_desc *d) {
    static weft_param_desc copy[PF_MAX_PARAMS];
    static weft_component_desc dc;
    if (d->n_params > PF_MAX_PARAMS) return "too many parameters";
    dc = *d;
    for (size_t i = 0; i < d->n_params; i++) {
        copy[i] = d->params[i];
        if (copy[i].type == WEFT_TYPE_JSON && copy[i].def) {
            cJSON *j = cJSON_Parse(copy[i].def);
            if (!j) return "JSON default does not parse";
            cJSON_Delete(j);
            copy[i].def = NULL;
        }
    }
    dc.params = copy;
    return pf_check_descriptor(&dc);
}

/* ---- results ---- */

float st_logit(const weft_candidates *c, weft_token id) {
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].id == id) return c->data[i].logit;
    cr_assert_fail("token %d is not among the candidates", id);
    return NAN;
}

bool st_has(const weft_candidates *c, weft_token id) {
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].id == id) return true;
    return false;
}

void st_assert_extremes(pf *fx, const weft_sampler_ctx *ctx) {
    enum { N = 6 };
    static const float cases[][N] = {
        {-INFINITY, 1e30f, 0, -1e30f, -INFINITY, 1},
        {2, 2, 2, 2, 2, 2},
        {1e30f, 1e30f, -INFINITY, 1e30f, -1e30f, -1e30f},
        {FLT_MAX, -FLT_MAX, 0, FLT_MAX, -FLT_MAX, 1},
        {-1e30f, -1e30f, -1e30f, -1e30f, -1e30f, -1e30f},
        {1e-30f, -1e-30f, 0, 0, 1e-30f, -0.0f},
        {-FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        weft_candidate buf[N];
        weft_candidates c = pf_cands(buf, cases[k], N);
        cr_assert_eq(st_apply(fx, ctx, &c), WEFT_OK, "case %zu: %s", k, pf_error(fx));
        pf_assert_sane(&c, N);
    }
    /* all -inf: nothing can be drawn, but the sampler must not fail or
     * produce NaN */
    weft_candidate buf[N];
    const float all_inf[N] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    weft_candidates c = pf_cands(buf, all_inf, N);
    cr_assert_eq(st_apply(fx, ctx, &c), WEFT_OK, "all -inf: %s", pf_error(fx));
    cr_assert(c.size >= 1 && c.size <= N);
    for (size_t i = 0; i < c.size; i++) cr_assert(!isnan(c.data[i].logit) && c.data[i].logit != INFINITY);
}
