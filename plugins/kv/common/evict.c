/* The evictor (evict.h). */
#include "evict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct kvc_evictor {
    const weft_env *env;
    const kvc_method *m;
    int32_t budget, slack, sinks, recent, obs_window;
    bool reposition;
    kvc_plan_buf plan;
    int32_t cap;         /* scratch slots */
    float *score, *pooled;
    struct ranked { float s; int32_t i; } *rank;
    uint8_t *mark;
    /* Stable methods: scores kept across plans, [layer][list][memo_cap],
     * valid for slots [0, n_memo[l]) whose position and first key word
     * (tags, [layer][list][memo_cap]) still match the view. */
    int32_t memo_layers, memo_lists, memo_cap;
    int32_t *n_memo;
    float *memo;
    int32_t *memo_pos;
    uint32_t *memo_key;
};

/* ---- shared helpers ---- */

static bool has_field(const weft_kv_ctx *ctx, size_t end) { return ctx->struct_size >= end; }

int32_t kvc_budget(const weft_kv_ctx *ctx, int l, int32_t own) {
    if (has_field(ctx, offsetof(weft_kv_ctx, budget) + sizeof ctx->budget) && ctx->budget) return ctx->budget[l];
    return own;
}

int32_t kvc_pinned(const weft_kv_ctx *ctx, int l) {
    if (has_field(ctx, offsetof(weft_kv_ctx, n_pinned) + sizeof ctx->n_pinned) && ctx->n_pinned)
        return ctx->n_pinned[l];
    return 0;
}

bool kvc_plan_reserve(kvc_plan_buf *b, int32_t n_layers, int32_t per_layer) {
    if (n_layers <= b->n_layers && per_layer <= b->cap) return true;
    kvc_plan_free(b);
    b->n_keep = calloc((size_t)n_layers, sizeof *b->n_keep);
    b->n_quant = calloc((size_t)n_layers, sizeof *b->n_quant);
    b->keep = calloc((size_t)n_layers, sizeof *b->keep);
    b->data = malloc((size_t)n_layers * per_layer * sizeof *b->data);
    if (!b->n_keep || !b->n_quant || !b->keep || !b->data) {
        kvc_plan_free(b);
        return false;
    }
    b->n_layers = n_layers;
    b->cap = per_layer;
    return true;
}

int32_t *kvc_plan_list(kvc_plan_buf *b, int l) { return b->data + (size_t)l * b->cap; }

void kvc_plan_free(kvc_plan_buf *b) {
    free(b->n_keep);
    free(b->n_quant);
    free(b->keep);
    free(b->data);
    memset(b, 0, sizeof *b);
}

static float half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float f;
    if (exp == 0) f = ldexpf((float)man, -24);
    else if (exp == 31) f = man ? NAN : INFINITY;
    else f = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -f : f;
}

static const uint8_t *key_bytes(const weft_kv_view *v, int32_t slot, int h) {
    return (const uint8_t *)v->keys + ((size_t)slot * v->n_kv_heads + h) * v->row_stride;
}

const float *kvc_key_row(const weft_kv_view *v, int32_t slot, int h, float *out) {
    const uint8_t *row = key_bytes(v, slot, h);
    if (v->type == WEFT_KV_F32) {
        return (const float *)(const void *)row; /* rows of an F32 view are float-aligned */
    } else if (v->type == WEFT_KV_F16) {
        for (int d = 0; d < v->head_dim; d++) {
            uint16_t x;
            memcpy(&x, row + 2 * d, 2);
            out[d] = half_to_float(x);
        }
    } else { /* Q8_0: blocks of an fp16 scale and 32 int8 */
        for (int b = 0; b < v->head_dim / 32; b++) {
            const uint8_t *blk = row + (size_t)b * 34;
            uint16_t d16;
            memcpy(&d16, blk, 2);
            const float d = half_to_float(d16);
            for (int i = 0; i < 32; i++) out[b * 32 + i] = d * (float)(int8_t)blk[2 + i];
        }
    }
    return out;
}

/* ---- the evictor ---- */

weft_status kvc_create(const weft_env *env, const weft_value *args, const kvc_method *m, void **self) {
    kvc_evictor *e = calloc(1, sizeof *e);
    if (!e) return WEFT_ERR_NOMEM;
    e->env = env;
    e->m = m;
    e->budget = (int32_t)args[KVC_P_BUDGET].u.i;
    e->slack = (int32_t)args[KVC_P_SLACK].u.i;
    e->sinks = (int32_t)args[KVC_P_SINKS].u.i;
    e->recent = (int32_t)args[KVC_P_RECENT].u.i;
    e->reposition = args[KVC_P_REPOSITION].u.b;
    e->obs_window = (int32_t)args[KVC_P_WINDOW].u.i;
    *self = e;
    return WEFT_OK;
}

void kvc_destroy(void *self) {
    kvc_evictor *e = self;
    if (!e) return;
    kvc_plan_free(&e->plan);
    free(e->score);
    free(e->pooled);
    free(e->rank);
    free(e->mark);
    free(e->n_memo);
    free(e->memo);
    free(e->memo_pos);
    free(e->memo_key);
    free(e);
}

static uint32_t kvc_signals(void *self) { return ((kvc_evictor *)self)->m->signals; }

static void kvc_schedule(void *self, weft_kv_schedule *out) {
    const kvc_evictor *e = self;
    out->after_prefill = true;
    out->every_n_tokens = 0;
    out->when_over = e->budget + e->slack;
    if (out->struct_size >= offsetof(weft_kv_schedule, obs_window) + sizeof out->obs_window)
        out->obs_window = e->obs_window;
}

static bool reserve_scratch(kvc_evictor *e, int32_t n) {
    if (n <= e->cap) return true;
    free(e->score), free(e->pooled), free(e->rank), free(e->mark);
    e->score = malloc((size_t)n * sizeof *e->score);
    e->pooled = malloc((size_t)n * sizeof *e->pooled);
    e->rank = malloc((size_t)n * sizeof *e->rank);
    e->mark = malloc((size_t)n);
    e->cap = e->score && e->pooled && e->rank && e->mark ? n : 0;
    return e->cap > 0;
}

/* Higher score first; ties keep the newer slot (a total order: slots differ). */
static bool better(struct ranked x, struct ranked y) { return x.s > y.s || (x.s == y.s && x.i > y.i); }

/* Moves the k best of r[0..m) to r[0..k), in any order (quickselect:
 * O(m) where a full sort of every slot at every compression cost
 * O(m log m)). The chosen set is the one a sort would give. */
static void select_best(struct ranked *r, int32_t m, int32_t k) {
    int32_t lo = 0, hi = m - 1;
    while (k > 0 && k < m && lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        /* median of three as the pivot, kept at hi */
        if (better(r[mid], r[lo])) { struct ranked t = r[mid]; r[mid] = r[lo]; r[lo] = t; }
        if (better(r[hi], r[lo])) { struct ranked t = r[hi]; r[hi] = r[lo]; r[lo] = t; }
        if (better(r[mid], r[hi])) { struct ranked t = r[mid]; r[mid] = r[hi]; r[hi] = t; }
        const struct ranked piv = r[hi];
        int32_t w = lo;
        for (int32_t i = lo; i < hi; i++)
            if (better(r[i], piv)) { struct ranked t = r[i]; r[i] = r[w]; r[w] = t; w++; }
        r[hi] = r[w], r[w] = piv; /* r[lo..w) beat the pivot, now at w */
        if (w == k - 1 || w == k) return;
        if (w < k) lo = w + 1;
        else hi = w - 1;
    }
}

bool kvc_sum_heads(const float *sig, const weft_kv_view *v, int h, int n_heads, float *out, int32_t from,
                   int32_t n) {
    if (!sig) return false;
    const int rep = n_heads / v->n_kv_heads, h0 = h < 0 ? 0 : h * rep, h1 = h < 0 ? n_heads : h0 + rep;
    for (int32_t i = from; i < n; i++) {
        float s = 0;
        for (int q = h0; q < h1; q++) s += sig[(size_t)i * n_heads + q];
        out[i] = s;
    }
    return true;
}

/* ---- stable scores (memo) ---- */

static bool memo_reserve(kvc_evictor *e, int32_t layers, int lists, int32_t cap) {
    if (e->memo && layers <= e->memo_layers && lists <= e->memo_lists && cap <= e->memo_cap) return true;
    free(e->n_memo), free(e->memo), free(e->memo_pos), free(e->memo_key);
    const size_t n = (size_t)layers * lists * cap;
    e->n_memo = calloc((size_t)layers * lists, sizeof *e->n_memo);
    e->memo = malloc(n * sizeof *e->memo);
    e->memo_pos = malloc(n * sizeof *e->memo_pos);
    e->memo_key = malloc(n * sizeof *e->memo_key);
    const bool ok = e->n_memo && e->memo && e->memo_pos && e->memo_key;
    e->memo_layers = ok ? layers : 0, e->memo_lists = lists, e->memo_cap = ok ? cap : 0;
    return ok;
}

static size_t memo_at(const kvc_evictor *e, int l, int li) { return ((size_t)l * e->memo_lists + li) * e->memo_cap; }

static uint32_t key_word(const weft_kv_view *v, int32_t slot, int h) {
    uint32_t w;
    memcpy(&w, key_bytes(v, slot, h), sizeof w);
    return w;
}

/* Drops memoized scores whose slot no longer holds the same entry (a new
 * request, a rollback, re-rotated keys): its position or its key's first
 * word changed. Tags the slots past the valid prefix for scoring. */
static void memo_check(kvc_evictor *e, const weft_kv_view *v, int l, int li, int hk, int32_t n) {
    int32_t *nm = &e->n_memo[(size_t)l * e->memo_lists + li];
    int32_t *pos = e->memo_pos + memo_at(e, l, li);
    uint32_t *key = e->memo_key + memo_at(e, l, li);
    if (*nm > n) *nm = n;
    for (int32_t i = 0; i < *nm; i++)
        if (pos[i] != v->positions[i] || key[i] != key_word(v, i, hk)) *nm = i;
    for (int32_t i = *nm; i < n; i++) pos[i] = v->positions[i], key[i] = key_word(v, i, hk);
}

/* Moves memoized scores and tags as the backend will move the slots. */
static void memo_apply(kvc_evictor *e, const weft_kv_view *v, int l, int li, const int32_t *keep, const int32_t *keep0,
                       int32_t n_keep, bool reposition) {
    int32_t *nm = &e->n_memo[(size_t)l * e->memo_lists + li];
    float *memo = e->memo + memo_at(e, l, li);
    int32_t *pos = e->memo_pos + memo_at(e, l, li);
    uint32_t *key = e->memo_key + memo_at(e, l, li);
    int32_t w = 0;
    for (; w < n_keep && keep[w] < *nm; w++) {
        memo[w] = memo[keep[w]], key[w] = key[keep[w]];
        pos[w] = reposition ? w : v->positions[keep0[w]]; /* a composite slot takes head 0's position */
    }
    *nm = w;
}

/* Marks, into e->mark, the slots of one list: the mandatory ones, then
 * sinks, the recent window and the best-scored rest up to `budget`. */
static void select_list(kvc_evictor *e, const weft_kv_view *v, int h, int n_heads, int32_t n, int32_t budget,
                        int32_t pinned, int32_t prot, float *memo, int32_t *n_memo, int32_t *out) {
    uint8_t *mark = e->mark;
    memset(mark, 0, (size_t)n);
    int32_t kept = 0;
    for (int32_t i = 0; i < pinned; i++) mark[i] = 1, kept++;
    for (int32_t i = n - prot; i < n; i++) kept += !mark[i], mark[i] = 1;
    for (int32_t i = 0; i < e->sinks && i < n && kept < budget; i++) kept += !mark[i], mark[i] = 1;
    const int32_t recent = e->recent < 0 ? budget / 2 : e->recent;
    for (int32_t i = n - 1, r = 0; i >= 0 && r < recent && kept < budget; i--, r++) kept += !mark[i], mark[i] = 1;
    if (kept < budget) {
        float *sc = e->score;
        bool scored = false;
        if (memo) {
            scored = *n_memo >= n || e->m->score(v, h, n_heads, memo, *n_memo, n);
            if (scored) *n_memo = n, sc = memo;
        } else {
            scored = e->m->score && e->m->score(v, h, n_heads, sc, 0, n);
        }
        if (!scored)
            for (int32_t i = 0; i < n; i++) sc[i] = (float)i; /* recency */
        if (scored && e->m->pool > 1) {
            const int k = e->m->pool / 2;
            for (int32_t i = 0; i < n; i++) {
                float m = sc[i];
                for (int32_t j = i - k; j <= i + k; j++)
                    if (j >= 0 && j < n && sc[j] > m) m = sc[j];
                e->pooled[i] = m;
            }
            sc = e->pooled;
        }
        int32_t m = 0;
        for (int32_t i = 0; i < n; i++)
            if (!mark[i]) e->rank[m++] = (struct ranked){sc[i], i};
        const int32_t take = budget - kept < m ? budget - kept : m;
        select_best(e->rank, m, take);
        for (int32_t i = 0; i < take; i++) mark[e->rank[i].i] = 1, kept++;
    }
    int32_t w = 0;
    for (int32_t i = 0; i < n; i++)
        if (mark[i]) out[w++] = i;
}

static weft_status kvc_plan(void *self, const weft_kv_ctx *ctx, weft_kv_plan *out) {
    kvc_evictor *e = self;
    const weft_instance *be = ctx->backend;
    const weft_backend_vtable *bv = be->desc->vtable;
    const weft_model_info *info = bv->info(be->self);
    const int lists = e->m->head_wise ? info->n_kv_heads : 1;
    out->n_layers = 0;
    const int32_t memo_cap = info->n_ctx > ctx->kv_len ? info->n_ctx : ctx->kv_len;
    if (!kvc_plan_reserve(&e->plan, ctx->n_layers, lists * ctx->kv_len) || !reserve_scratch(e, ctx->kv_len) ||
        (e->m->stable && !memo_reserve(e, ctx->n_layers, lists, memo_cap)))
        return weft_error(e->env, "out of memory for a plan over %d entries", ctx->kv_len), WEFT_ERR_NOMEM;
    if (e->m->stable && ctx->after_prefill) memset(e->n_memo, 0, (size_t)e->memo_layers * lists * sizeof *e->n_memo);
    bool drops = false;
    for (int l = 0; l < ctx->n_layers; l++) {
        weft_kv_view v = {.struct_size = sizeof v};
        weft_status st = bv->kv_view(be->self, l, &v);
        if (st != WEFT_OK) return st;
        const int32_t n = v.n_slots < ctx->kv_len ? v.n_slots : ctx->kv_len;
        const int32_t prot = ctx->n_protected < n ? ctx->n_protected : n;
        int32_t pinned = kvc_pinned(ctx, l);
        if (pinned > n - prot) pinned = n - prot;
        int32_t budget = kvc_budget(ctx, l, e->budget);
        if (budget < pinned + prot) budget = pinned + prot;
        int32_t *list = kvc_plan_list(&e->plan, l);
        const int32_t keep = n < budget ? n : budget;
        for (int h = 0; h < lists; h++) {
            int32_t *dst = list + (size_t)h * keep;
            float *memo = NULL;
            int32_t *n_memo = NULL;
            if (e->m->stable) {
                memo_check(e, &v, l, h, h, n);
                memo = e->memo + memo_at(e, l, h);
                n_memo = &e->n_memo[(size_t)l * lists + h];
            }
            if (keep == n) {
                for (int32_t i = 0; i < n; i++) dst[i] = i;
            } else {
                select_list(e, &v, e->m->head_wise ? h : -1, info->n_heads, n, budget, pinned, prot, memo, n_memo,
                            dst);
            }
        }
        /* a plan that drops nothing anywhere is not applied, and then every
         * list here is the identity: moving the memo is right either way */
        for (int h = 0; e->m->stable && h < lists; h++)
            memo_apply(e, &v, l, h, list + (size_t)h * keep, list, keep, e->reposition);
        drops |= keep < n;
        e->plan.n_keep[l] = keep;
        e->plan.keep[l] = list;
    }
    if (!drops) return WEFT_OK; /* nothing to do */
    out->n_layers = ctx->n_layers;
    out->n_keep = e->plan.n_keep;
    out->keep = e->plan.keep;
    out->head_wise = e->m->head_wise;
    out->reposition = e->reposition;
    return WEFT_OK;
}

const weft_kv_vtable kvc_vtable = {
    .struct_size = sizeof(weft_kv_vtable),
    .signals = kvc_signals,
    .schedule = kvc_schedule,
    .plan = kvc_plan,
};
