#include "plugin_fixture.h"

#include <weft/sdk.h>

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(weft_kind k) {
    switch (k) {
    case WEFT_KIND_BACKEND: return "backend";
    case WEFT_KIND_DRAFTER: return "drafter";
    case WEFT_KIND_VERIFIER: return "verifier";
    case WEFT_KIND_SAMPLER: return "sampler";
    case WEFT_KIND_GRAMMAR: return "grammar";
    case WEFT_KIND_KV_COMPRESSOR: return "kv";
    }
    return "?";
}

/* The registrar the entry reports to: remembers the wanted descriptor. */
struct weft_registrar {
    weft_kind kind;
    const char *name;
    const weft_component_desc *found;
};

static weft_status collect(weft_registrar *reg, const weft_component_desc *d) {
    if (d->kind == reg->kind && strcmp(d->name, reg->name) == 0) reg->found = d;
    return WEFT_OK;
}

bool pf_load(pf *fx, weft_kind kind, const char *name) {
    memset(fx, 0, sizeof *fx);
    const char *dir = getenv("WEFT_PLUGIN_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/weft-%s-%s.so", dir && *dir ? dir : WEFT_TEST_PLUGIN_DIR,
             kind_name(kind), name);
    fx->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!fx->dl) {
        fprintf(stderr, "pf_load: %s\n", dlerror());
        return false;
    }
    weft_entry_fn entry;
    *(void **)&entry = dlsym(fx->dl, WEFT_ENTRY_SYMBOL);
    weft_registrar reg = {.kind = kind, .name = name};
    if (!entry || entry(weft_host_table(), &reg, collect) != WEFT_OK || !reg.found) {
        fprintf(stderr, "pf_load: %s: no %s '%s' registered\n", path, kind_name(kind), name);
        pf_close(fx);
        return false;
    }
    fx->desc = reg.found;
    fx->rt = weft_runtime_new(1);
    char env_name[128];
    snprintf(env_name, sizeof env_name, "%s %s", kind_name(kind), name);
    fx->env = weft_env_new(fx->rt, env_name);
    return fx->rt && fx->env;
}

/* Parses a declared default (JSON text) of a scalar type; false if the
 * text does not fit the type. */
static bool parse_default(const weft_param_desc *p, char *strbuf, size_t strcap, weft_value *v) {
    const char *s = p->def;
    char *end;
    errno = 0;
    switch (p->type) {
    case WEFT_TYPE_BOOL:
        if (strcmp(s, "true") && strcmp(s, "false")) return false;
        v->u.b = s[0] == 't';
        break;
    case WEFT_TYPE_INT:
        v->u.i = strtoll(s, &end, 10);
        if (end == s || *end || errno) return false;
        break;
    case WEFT_TYPE_DOUBLE:
        v->u.d = strtod(s, &end);
        if (end == s || *end || errno) return false;
        break;
    case WEFT_TYPE_STRING: {
        size_t n = strlen(s);
        if (n < 2 || s[0] != '"' || s[n - 1] != '"' || n - 2 >= strcap || memchr(s, '\\', n))
            return false; /* escapes are beyond this fixture */
        memcpy(strbuf, s + 1, n - 2);
        strbuf[n - 2] = 0;
        v->u.s = strbuf;
        break;
    }
    default:
        return false;
    }
    v->present = true;
    return true;
}

weft_status pf_create(pf *fx, const pf_arg *overrides, size_t n) {
    const weft_component_desc *d = fx->desc;
    if (d->n_params > PF_MAX_PARAMS) return WEFT_ERR_UNSUPPORTED;
    for (size_t i = 0; i < d->n_params; i++) {
        memset(&fx->args[i], 0, sizeof fx->args[i]);
        if (d->params[i].def)
            parse_default(&d->params[i], fx->strings[i], sizeof fx->strings[i], &fx->args[i]);
    }
    for (size_t j = 0; j < n; j++) {
        size_t i = 0;
        while (i < d->n_params && strcmp(d->params[i].name, overrides[j].name)) i++;
        if (i == d->n_params) {
            fprintf(stderr, "pf_create: %s has no parameter '%s'\n", d->name, overrides[j].name);
            return WEFT_ERR_INVALID;
        }
        fx->args[i] = overrides[j].value;
    }
    weft_env_clear_error(fx->env);
    fx->self = NULL;
    void *self = NULL;
    weft_status st = d->create(fx->env, fx->args, &self);
    if (st == WEFT_OK) fx->self = self;
    return st;
}

void pf_open(pf *fx, weft_kind kind, const char *name, const pf_arg *overrides, size_t n) {
    cr_assert(pf_load(fx, kind, name), "cannot load %s %s", kind_name(kind), name);
    weft_status st = pf_create(fx, overrides, n);
    cr_assert_eq(st, WEFT_OK, "create %s failed (%d): %s", name, st, pf_error(fx));
}

const char *pf_error(const pf *fx) { return fx->env ? weft_env_error(fx->env) : ""; }

void pf_close(pf *fx) {
    if (fx->self && fx->desc) fx->desc->destroy(fx->self);
    if (fx->env) weft_env_free(fx->env);
    if (fx->rt) weft_runtime_free(fx->rt);
    if (fx->dl) dlclose(fx->dl);
    memset(fx, 0, sizeof *fx);
}

static bool is_one_line(const char *s) { return s && *s && !strchr(s, '\n'); }

const char *pf_check_descriptor(const weft_component_desc *d) {
    if (d->struct_size != sizeof *d) return "struct_size is not sizeof(weft_component_desc)";
    if (d->abi_major != WEFT_ABI_MAJOR || d->abi_minor > WEFT_ABI_MINOR) return "ABI version";
    if (!d->name || !*d->name || strspn(d->name, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                     strlen(d->name))
        return "name is not [a-z0-9-]+";
    if (!d->version || !*d->version) return "no version";
    if (!is_one_line(d->description)) return "description is not one line";
    if (!d->create || !d->destroy) return "create/destroy missing";
    if (!d->vtable || *(const size_t *)d->vtable == 0) return "vtable missing or unsized";
    if (d->n_params && !d->params) return "params missing";
    for (size_t i = 0; i < d->n_params; i++) {
        const weft_param_desc *p = &d->params[i];
        if (p->struct_size != sizeof *p) return "param struct_size";
        if (!p->name || !*p->name) return "param without a name";
        if (!is_one_line(p->doc)) return "param doc is not one line";
        if (!p->def) continue;
        weft_value v = {0};
        char buf[256];
        if (!parse_default(p, buf, sizeof buf, &v)) return "param default does not parse";
        double x = p->type == WEFT_TYPE_INT ? (double)v.u.i : v.u.d;
        if (p->type == WEFT_TYPE_INT || p->type == WEFT_TYPE_DOUBLE) {
            if ((p->flags & WEFT_PARAM_HAS_MIN) && x < p->min) return "param default below min";
            if ((p->flags & WEFT_PARAM_HAS_MAX) && x > p->max) return "param default above max";
        }
    }
    return NULL;
}

/* ---- samplers ---- */

weft_candidates pf_cands(weft_candidate *buf, const float *logits, size_t n) {
    for (size_t i = 0; i < n; i++) buf[i] = (weft_candidate){.id = (weft_token)i, .logit = logits[i]};
    return (weft_candidates){.struct_size = sizeof(weft_candidates), .data = buf, .size = n};
}

weft_status pf_apply(pf *fx, weft_candidates *c) {
    static weft_token history[1] = {0};
    weft_rng rng;
    weft_rng_seed(&rng, 1);
    weft_sampler_ctx ctx = {.struct_size = sizeof ctx, .history = history, .n_history = 1,
                            .n_prompt = 1, .depth = 0, .n_vocab = (int32_t)c->size, .rng = &rng};
    return PF_SAMPLER(fx)->apply(fx->self, &ctx, c);
}

static int cmp_token(const void *a, const void *b) {
    weft_token x = *(const weft_token *)a, y = *(const weft_token *)b;
    return (x > y) - (x < y);
}

size_t pf_kept_ids(const weft_candidates *c, weft_token *out) {
    for (size_t i = 0; i < c->size; i++) out[i] = c->data[i].id;
    qsort(out, c->size, sizeof *out, cmp_token);
    return c->size;
}

void pf_assert_sane(weft_candidates *c, size_t n0) {
    cr_assert(c->size >= 1 && c->size <= n0, "size %zu not in [1, %zu]", c->size, n0);
    weft_token ids[c->size];
    pf_kept_ids(c, ids);
    for (size_t i = 1; i < c->size; i++) cr_assert_neq(ids[i - 1], ids[i], "duplicate id");
    for (size_t i = 0; i < c->size; i++) {
        float l = c->data[i].logit;
        cr_assert(!isnan(l) && l != INFINITY, "logit %zu is %g", i, l);
    }
    weft_cands_softmax(c);
    double sum = 0;
    for (size_t i = 0; i < c->size; i++) {
        cr_assert(isfinite(c->data[i].p) && c->data[i].p >= 0, "p %zu is %g", i, c->data[i].p);
        sum += c->data[i].p;
    }
    cr_assert(fabs(sum - 1) < 1e-5, "p sums to %g", sum);
}

void pf_assert_extremes(pf *fx) {
    enum { N = 6 };
    static const float cases[][N] = {
        {-INFINITY, 1e30f, 0, -1e30f, -INFINITY, 1},
        {2, 2, 2, 2, 2, 2},
        {1e30f, 1e30f, -INFINITY, 1e30f, -1e30f, -1e30f},
        {FLT_MAX, -FLT_MAX, 0, FLT_MAX, -FLT_MAX, 1},
        {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY},
        {-1e30f, -1e30f, -1e30f, -1e30f, -1e30f, -1e30f},
        {1e-30f, -1e-30f, 0, 0, 1e-30f, -0.0f},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        weft_candidate buf[N];
        weft_candidates c = pf_cands(buf, cases[k], N);
        cr_assert_eq(pf_apply(fx, &c), WEFT_OK, "case %zu: %s", k, pf_error(fx));
        pf_assert_sane(&c, N);
        /* every sampler here keeps (one of) the most likely tokens */
        float top = -INFINITY;
        for (size_t i = 0; i < N; i++) top = fmaxf(top, cases[k][i]);
        bool has_top = false;
        for (size_t i = 0; i < c.size; i++) has_top |= cases[k][c.data[i].id] == top;
        cr_assert(has_top, "case %zu lost every top token", k);
    }
}

/* ---- draft trees and verifiers ---- */

void pf_tree_init(pf_tree *tr) {
    memset(tr, 0, sizeof *tr);
    tr->t = (weft_tree){.struct_size = sizeof(weft_tree), .capacity = PF_TREE_CAP,
                        .tokens = tr->tokens, .parents = tr->parents, .flags = tr->flags,
                        .draft_p = tr->draft_p, .draft_dists = tr->dists};
}

int32_t pf_tree_add(pf_tree *tr, int32_t parent, weft_token tok) {
    size_t i = tr->t.n_nodes;
    cr_assert(i < PF_TREE_CAP && parent < (int32_t)i, "bad tree node");
    tr->tokens[i] = tok;
    tr->parents[i] = parent;
    tr->flags[i] = 0;
    tr->draft_p[i] = NAN;
    tr->t.n_nodes = i + 1;
    return (int32_t)i;
}

weft_dist pf_onehot(weft_candidate *slot, weft_token t) {
    *slot = (weft_candidate){.id = t, .logit = 0, .p = 1};
    return (weft_dist){.data = slot, .size = 1};
}

weft_status pf_verify(pf *fx, const weft_tree *t, const weft_dist *target, weft_rng *rng,
                      int32_t accepted[PF_TREE_CAP], weft_verify_result *result) {
    weft_verify_ctx ctx = {.struct_size = sizeof ctx, .tree = t, .target = target, .rng = rng};
    *result = (weft_verify_result){.struct_size = sizeof *result, .accepted = accepted,
                                   .n_accepted = 0, .next = -1};
    return PF_VERIFIER(fx)->verify(fx->self, &ctx, result);
}
