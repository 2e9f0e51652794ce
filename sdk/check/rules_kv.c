/* KV-compressor rules (kv.h): declared signals and schedule make sense, and
 * every plan is one a backend can apply: one list per layer (per head when
 * head-wise), slots in range and strictly ascending, the newest n_protected
 * slots kept, in order, at the end. Plans are asked for over the checker's
 * synthetic cache at many lengths; with --model a plan is also applied to a
 * real backend. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static const weft_kv_vtable *vt(const chk_subject *s) { return s->desc->vtable; }

static void rule_signals(const chk_subject *s, chk_result *r) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    uint32_t known = WEFT_KV_NEEDS_POSITIONS | WEFT_KV_NEEDS_KEYS | WEFT_KV_NEEDS_ATTN_ACCUM | WEFT_KV_NEEDS_OBS_WINDOW |
                     WEFT_KV_NEEDS_HEAD_PROFILE;
    uint32_t sig = vt(s)->signals(chk_inst(in)->self);
    if (sig & ~known) chk_fail(r, "signals() has unknown bits 0x%x", sig & ~known);
    else chk_pass(r, "signals 0x%x", sig);
    chk_instance_free(in);
}

static void rule_schedule(const chk_subject *s, chk_result *r) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    weft_kv_schedule sc = {.struct_size = sizeof sc};
    vt(s)->schedule(chk_inst(in)->self, &sc);
    if (sc.every_n_tokens < 0 || sc.when_over < 0)
        chk_fail(r, "schedule(): every_n_tokens %d, when_over %d (must be >= 0)", sc.every_n_tokens, sc.when_over);
    else if (!sc.after_prefill && !sc.every_n_tokens && !sc.when_over)
        chk_fail(r, "schedule() never runs the compressor");
    else chk_pass(r, "after prefill %s, every %d tokens, over %d", sc.after_prefill ? "yes" : "no", sc.every_n_tokens, sc.when_over);
    chk_instance_free(in);
}

typedef enum kmode { K_SHAPE, K_PROTECTED } kmode;

/* The list of layer l, head h (h = 0 unless head-wise). */
static const int32_t *list_of(const weft_kv_plan *p, int32_t l, int32_t h) {
    return p->keep[l] + (size_t)h * (size_t)p->n_keep[l];
}

static bool plan_ok(const weft_kv_plan *p, const weft_kv_ctx *c, int32_t n_kv_heads, kmode mode, const char *where,
                    chk_result *r) {
    if (p->n_layers == 0) return true; /* nothing to do */
    if (p->n_layers != c->n_layers)
        return chk_fail(r, "%s: a plan for %d layers, the cache has %d", where, p->n_layers, c->n_layers);
    if (!p->n_keep || !p->keep) return chk_fail(r, "%s: n_keep or keep is NULL", where);
    int32_t heads = p->head_wise ? n_kv_heads : 1;
    for (int32_t l = 0; l < p->n_layers; l++) {
        int32_t n = p->n_keep[l];
        if (n < 0 || n > c->kv_len) return chk_fail(r, "%s: layer %d keeps %d of %d slots", where, l, n, c->kv_len);
        if (n && !p->keep[l]) return chk_fail(r, "%s: layer %d keeps %d slots but its list is NULL", where, l, n);
        for (int32_t h = 0; h < heads; h++) {
            const int32_t *k = n ? list_of(p, l, h) : NULL;
            for (int32_t j = 0; mode == K_SHAPE && j < n; j++) {
                if (k[j] < 0 || k[j] >= c->kv_len)
                    return chk_fail(r, "%s: layer %d head %d: slot %d outside [0, %d)", where, l, h, k[j], c->kv_len);
                if (j && k[j] <= k[j - 1])
                    return chk_fail(r, "%s: layer %d head %d: slots not strictly ascending (%d after %d)", where, l, h, k[j], k[j - 1]);
            }
            if (mode != K_PROTECTED) continue;
            if (n < c->n_protected)
                return chk_fail(r, "%s: layer %d keeps %d slots, fewer than the %d protected ones", where, l, n, c->n_protected);
            for (int32_t j = 0; j < c->n_protected; j++) {
                int32_t want = c->kv_len - c->n_protected + j, got = k[n - c->n_protected + j];
                if (got != want)
                    return chk_fail(r, "%s: layer %d head %d drops protected slot %d (position %d of the tail holds %d)", where, l,
                                    h, want, j, got);
            }
        }
    }
    return true;
}

static void run_plans(const chk_subject *s, kmode mode, chk_result *r) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    chk_cache *cache = chk_cache_new(s->opt->seed * 97 + 3);
    if (!cache) {
        chk_fail(r, "out of memory");
        chk_instance_free(in);
        return;
    }
    weft_instance *be = chk_cache_instance(cache);
    const weft_model_info *info = ((const weft_backend_vtable *)be->desc->vtable)->info(be->self);
    static const int32_t lens[] = {0, 1, 7, 64, 300, CHK_CACHE_MAX};
    size_t n_plans = 0, n_dropping = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof lens / sizeof lens[0]; i++) {
        int32_t protect[] = {0, 1, 5, 20};
        for (size_t j = 0; ok && j < 4; j++)
            for (int ap = 0; ok && ap < 2; ap++) {
                chk_cache_set_len(cache, lens[i]);
                weft_kv_ctx c = {.struct_size = sizeof c, .backend = be, .n_layers = info->n_layers, .kv_len = lens[i],
                                 .n_protected = protect[j] < lens[i] ? protect[j] : lens[i], .after_prefill = ap};
                weft_kv_plan p = {.struct_size = sizeof p};
                char where[96];
                snprintf(where, sizeof where, "kv_len %d, %d protected%s", c.kv_len, c.n_protected,
                         ap ? ", after prefill" : "");
                chk_instance_clear_error(in);
                weft_status st = vt(s)->plan(chk_inst(in)->self, &c, &p);
                if (st != WEFT_OK) {
                    ok = chk_fail(r, "%s: plan() failed (%s): %s", where, weft_status_name(st), chk_instance_error(in));
                    break;
                }
                ok = plan_ok(&p, &c, info->n_kv_heads, K_SHAPE, where, r) && plan_ok(&p, &c, info->n_kv_heads, mode, where, r);
                n_plans++;
                for (int32_t l = 0; p.n_layers && l < p.n_layers; l++) n_dropping += p.n_keep[l] < c.kv_len;
            }
    }
    if (ok) chk_pass(r, "%zu plans over the synthetic cache (%zu layer lists drop slots)", n_plans, n_dropping);
    chk_cache_free(cache);
    chk_instance_free(in);
}

static void rule_plan(const chk_subject *s, chk_result *r) { run_plans(s, K_SHAPE, r); }
static void rule_protected(const chk_subject *s, chk_result *r) { run_plans(s, K_PROTECTED, r); }

/* A real backend (--model) applies a plan made from its own cache. */
static void rule_apply(const chk_subject *s, chk_result *r) {
    char why[512];
    chk_instance *b = chk_backend_new(s, why, sizeof why), *in = b ? chk_open(s, r) : NULL;
    if (!b) chk_skip(r, "%s", why);
    if (!in) {
        chk_instance_free(b);
        return;
    }
    weft_instance *bi = chk_inst(b);
    const weft_backend_vtable *bv = bi->desc->vtable;
    const weft_model_info *info = bv->info(bi->self);
    enum { N = 48 };
    weft_token tok[N];
    weft_rng rng;
    weft_rng_seed(&rng, s->opt->seed + 5);
    for (int i = 0; i < N; i++) tok[i] = (weft_token)chk_below(&rng, (uint32_t)info->n_vocab);
    float *logits = malloc((size_t)info->n_vocab * sizeof *logits);
    int32_t last = 0;
    weft_batch batch = {.struct_size = sizeof batch, .n_tokens = N, .tokens = tok};
    weft_kv_ctx c = {.struct_size = sizeof c, .backend = bi, .n_layers = info->n_layers, .kv_len = N, .n_protected = 4,
                     .after_prefill = true};
    weft_kv_plan p = {.struct_size = sizeof p};
    weft_status st;
    if (!logits || !bv->kv_compact) chk_skip(r, "%s", logits ? "the backend has no kv_compact()" : "out of memory");
    else if ((st = bv->eval(bi->self, &batch)) != WEFT_OK) chk_fail(r, "the backend cannot evaluate a prompt (%s)", weft_status_name(st));
    else if ((st = vt(s)->plan(chk_inst(in)->self, &c, &p)) != WEFT_OK)
        chk_fail(r, "plan() failed (%s): %s", weft_status_name(st), chk_instance_error(in));
    else if (plan_ok(&p, &c, info->n_kv_heads, K_SHAPE, "the backend's cache", r) &&
             plan_ok(&p, &c, info->n_kv_heads, K_PROTECTED, "the backend's cache", r)) {
        if (p.n_layers && (st = bv->kv_compact(bi->self, &p)) != WEFT_OK)
            chk_fail(r, "the backend refused the plan (%s): %s", weft_status_name(st), weft_env_error(bi->env));
        else {
            weft_token next = tok[0];
            int32_t pos = bv->kv_len(bi->self);
            weft_batch one = {.struct_size = sizeof one, .n_tokens = 1, .tokens = &next, .positions = &pos, .n_out = 1,
                              .out_rows = &last, .logits = logits};
            if (p.n_layers && !p.reposition) pos = N; /* positions are kept: the next one follows the prompt */
            st = bv->eval(bi->self, &one);
            bool finite = st == WEFT_OK;
            for (int32_t t = 0; finite && t < info->n_vocab; t++) finite = isfinite(logits[t]);
            if (!finite) chk_fail(r, "after applying the plan the backend cannot go on (%s)", weft_status_name(st));
            else chk_pass(r, "%s, and decoding goes on", p.n_layers ? "applied to the backend" : "nothing to do");
        }
    }
    free(logits);
    chk_instance_free(in);
    chk_instance_free(b);
}

const chk_rule chk_kv_rules[] = {
    {"kv.signals", rule_signals},
    {"kv.schedule", rule_schedule},
    {"kv.plan", rule_plan},
    {"kv.protected", rule_protected},
    {"kv.apply", rule_apply},
};
const size_t chk_n_kv_rules = sizeof chk_kv_rules / sizeof chk_kv_rules[0];
