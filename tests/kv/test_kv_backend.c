/* The llama backend's side of the KV contract, below the plugins:
 * re-rotation equals keys computed at the new positions, quantized storage
 * stays within its rounding bounds, and attention sums of rejected tree
 * rows never count. (Keep-all identity and eviction == masking against a
 * float64 reference are in tests/backend_model.) */
#define _DEFAULT_SOURCE /* mincore */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "forward.h"
#include "host.h"
#include "test_paths.h"

typedef struct llm {
    weft_runtime *rt;
    weft_env *env;
    model *m;
    kv_cache kv;
    forward_state *fs;
} llm;

static void open_llm(llm *L) {
    char err[1024], path[1024];
    memset(L, 0, sizeof *L);
    test_model_path(path, sizeof path, "derived/stories260K-f32-v3.gguf");
    L->rt = weft_runtime_new(1);
    L->env = weft_env_new(L->rt, "test kv");
    L->m = model_load(path, err, sizeof err);
    cr_assert(L->m, "%s", err);
    cr_assert(kv_cache_init(&L->kv, &L->m->cfg, WEFT_KV_F32, 512, err, sizeof err), "%s", err);
    L->fs = forward_new(L->m, &L->kv, 64, L->env, err, sizeof err);
    cr_assert(L->fs, "%s", err);
}

static void close_llm(llm *L) {
    forward_free(L->fs);
    kv_cache_free(&L->kv);
    model_free(L->m);
    weft_env_free(L->env);
    weft_runtime_free(L->rt);
}

static void eval(llm *L, const int32_t *tok, int n, const int32_t *parents, uint32_t signals, float *logits) {
    int32_t last = n - 1;
    weft_batch b = {.struct_size = sizeof b, .n_tokens = (size_t)n, .tokens = tok, .parents = parents,
                    .n_out = logits ? 1 : 0, .out_rows = &last, .logits = logits, .signals = signals};
    char err[256];
    cr_assert_eq(forward_eval(L->fs, &b, err, sizeof err), WEFT_OK, "%s", err);
}

static weft_status compact(llm *L, const int32_t *keep, int n, bool repos, const int32_t *nq, weft_kv_type qt) {
    const int nl = L->m->cfg.n_layers;
    int32_t n_keep[16], q[16];
    const int32_t *lists[16];
    for (int l = 0; l < nl; l++) n_keep[l] = n, lists[l] = keep, q[l] = nq ? *nq : 0;
    weft_kv_plan p = {.struct_size = sizeof p, .n_layers = nl, .n_keep = n_keep, .keep = lists, .reposition = repos,
                      .n_quantized = nq ? q : NULL, .quant_type = qt};
    const rope_params rp = model_rope(L->m);
    char err[256];
    return kv_cache_compact(&L->kv, &p, &rp, err, sizeof err);
}

static const int32_t TOKS[64] = {1,   403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 300, 265, 270,
                                 290, 310, 330, 350, 370, 390, 410, 430, 261, 262, 263, 264, 265, 266, 267, 268,
                                 269, 270, 271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284,
                                 285, 286, 287, 288, 289, 290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300};

/* StreamingLLM's re-rotation: a kept key turned from its old position to
 * its new one equals layer 0's key of the same token computed at the new
 * position (layer 0's key depends on the token and position only). */
Test(kv_backend, reposition_equals_recomputed_keys) {
    llm a, b;
    open_llm(&a);
    open_llm(&b);
    eval(&a, TOKS, 16, NULL, 0, NULL);
    const int32_t keep[] = {0, 1, 2, 3, 9, 10, 11, 12, 13, 14, 15};
    const int n = 11;
    cr_assert_eq(compact(&a, keep, n, true, NULL, 0), WEFT_OK);
    int32_t kept[11];
    for (int i = 0; i < n; i++) kept[i] = TOKS[keep[i]];
    eval(&b, kept, n, NULL, 0, NULL); /* positions 0..n-1 */
    const kv_cache *c = &a.kv;
    float worst = 0;
    for (int s = 0; s < n; s++)
        for (int h = 0; h < c->n_kv_heads; h++) {
            const float *x = (const float *)kv_row(c, a.kv.layers[0].k, s, h);
            const float *y = (const float *)kv_row(c, b.kv.layers[0].k, s, h);
            for (int d = 0; d < c->head_dim; d++) worst = fmaxf(worst, fabsf(x[d] - y[d]));
        }
    cr_assert_lt(worst, 1e-5f, "re-rotated keys differ from recomputed ones by %g", (double)worst);
    for (int s = 0; s < n; s++) cr_assert_eq(a.kv.layers[0].pos[s], s);
    close_llm(&a);
    close_llm(&b);
}

/* KIVI storage: every decoded element within half a step (plus fp16
 * rounding of scale and minimum) of the original; 8 bits closer than 4. */
static float check_quant(weft_kv_type qt, int levels, float *logit_diff) {
    llm L;
    open_llm(&L);
    eval(&L, TOKS, 63, NULL, 0, NULL);
    const kv_cache *c = &L.kv;
    const int l = 2, hd = c->head_dim, H = c->n_kv_heads;
    const size_t nel = (size_t)63 * H * hd;
    float *k0 = malloc(nel * sizeof(float)), *v0 = malloc(nel * sizeof(float));
    memcpy(k0, L.kv.layers[l].k, nel * sizeof(float));
    memcpy(v0, L.kv.layers[l].v, nel * sizeof(float));
    float *ref = calloc(512, sizeof(float)), *got = calloc(512, sizeof(float));
    int32_t all[63];
    for (int i = 0; i < 63; i++) all[i] = i;
    const int32_t nq = 63;
    cr_assert_eq(compact(&L, all, 63, false, &nq, qt), WEFT_OK);
    weft_kv_view v = {.struct_size = sizeof v};
    char err[128];
    cr_assert_eq(kv_cache_view(&L.kv, l, &v, err, sizeof err), WEFT_OK);
    cr_assert_eq(v.n_quantized, 32, "rounded down to whole groups");
    cr_assert_eq(v.type, WEFT_KV_F32);
    cr_assert_lt(v.bytes, (size_t)63 * H * c->row_stride * 2, "fewer bytes than full precision");
    float worst = 0;
    for (int s = 0; s < 32; s++)
        for (int h = 0; h < H; h++)
            for (int d = 0; d < hd; d++) {
                float lo = INFINITY, hi = -INFINITY; /* the key's channel range over its group */
                for (int t = 0; t < 32; t++) {
                    const float x = k0[((size_t)t * H + h) * hd + d];
                    lo = fminf(lo, x), hi = fmaxf(hi, x);
                }
                const size_t i = ((size_t)s * H + h) * hd + d;
                const float ek = fabsf(((const float *)v.keys)[i] - k0[i]) / ((hi - lo) / levels + 1e-6f);
                float vlo = INFINITY, vhi = -INFINITY; /* the value's token range */
                for (int e = 0; e < hd; e++) {
                    const float x = v0[((size_t)s * H + h) * hd + e];
                    vlo = fminf(vlo, x), vhi = fmaxf(vhi, x);
                }
                const float ev = fabsf(((const float *)v.values)[i] - v0[i]) / ((vhi - vlo) / levels + 1e-6f);
                worst = fmaxf(worst, fmaxf(ek, ev));
            }
    /* the next token through the quantized prefix vs the full cache */
    eval(&L, TOKS + 63, 1, NULL, 0, got);
    llm F;
    open_llm(&F);
    eval(&F, TOKS, 64, NULL, 0, ref);
    *logit_diff = 0;
    for (int i = 0; i < 512; i++) *logit_diff = fmaxf(*logit_diff, fabsf(ref[i] - got[i]));
    close_llm(&F);
    close_llm(&L);
    free(k0), free(v0), free(ref), free(got);
    return worst;
}

Test(kv_backend, quantized_storage_within_bounds) {
    float d8, d4;
    const float w8 = check_quant(WEFT_KV_Q8_0, 255, &d8), w4 = check_quant(WEFT_KV_Q4, 15, &d4);
    cr_assert_leq(w8, 0.55f, "8-bit error %g steps", (double)w8);
    cr_assert_leq(w4, 0.55f, "4-bit error %g steps", (double)w4);
    cr_assert_lt(d8, 0.05f, "8-bit logits moved by %g", (double)d8);
    cr_assert_lt(d8, d4, "8 bits should be closer than 4 (%g vs %g)", (double)d8, (double)d4);
    cr_assert_lt(d4, 1.0f, "4-bit logits moved by %g", (double)d4);
}

/* A compaction keeping quantized slots moves them as stored (no second
 * rounding): their codes, scales and decoded rows are bytes-identical
 * after. Head-wise lists: a slot stays quantized where every head kept a
 * quantized row; a head's further quantized rows are decoded exactly. */
static void snapshot(const kv_cache *c, const kv_layer *Ly, int32_t slot, int h, float *kv2, uint8_t *codes) {
    kv_quant_row(c, Ly, slot, h, false, kv2);
    kv_quant_row(c, Ly, slot, h, true, kv2 + c->head_dim);
    const size_t r = (size_t)slot * c->n_kv_heads + h;
    memcpy(codes, Ly->qk + r * c->qrow, c->qrow);
    memcpy(codes + c->qrow, Ly->qv + r * c->qrow, c->qrow);
}

Test(kv_backend, evicting_quantized_slots_copies_codes) {
    for (int head_wise = 0; head_wise < 2; head_wise++) {
        llm L;
        open_llm(&L);
        eval(&L, TOKS, 63, NULL, 0, NULL);
        int32_t all[63];
        for (int i = 0; i < 63; i++) all[i] = i;
        const int32_t nq = 63;
        cr_assert_eq(compact(&L, all, 63, false, &nq, WEFT_KV_Q4), WEFT_OK);
        const kv_cache *c = &L.kv;
        const int H = c->n_kv_heads, hd = c->head_dim, nl = c->n_layers, n = 40;
        /* head h keeps 10 (head 1: 12) of the quantized slots, spread, then slots 33.. */
        int32_t keep[8][40];
        cr_assert_leq(H, 8);
        for (int h = 0; h < H; h++) {
            const int nqk = head_wise && h == 1 ? 12 : 10;
            for (int i = 0; i < n; i++) keep[h][i] = i < nqk ? 2 * i + (head_wise ? h % 2 : 0) : 63 - n + i;
        }
        float before[8][12][64], after[64];
        uint8_t codes[8][12][64], got[64];
        cr_assert_leq(2 * hd, 64);
        for (int h = 0; h < H; h++)
            for (int i = 0; i < 12; i++)
                snapshot(c, &c->layers[2], keep[head_wise ? h : 0][i], h, before[h][i], codes[h][i]);
        int32_t n_keep[16], flat[8 * 40];
        const int32_t *lists[16];
        for (int h = 0; h < H; h++) memcpy(flat + h * n, keep[head_wise ? h : 0], n * sizeof(int32_t));
        for (int l = 0; l < nl; l++) n_keep[l] = n, lists[l] = flat;
        weft_kv_plan p = {.struct_size = sizeof p, .n_layers = nl, .n_keep = n_keep, .keep = lists,
                          .head_wise = head_wise};
        const rope_params rp = model_rope(L.m);
        char err[256];
        cr_assert_eq(kv_cache_compact(&L.kv, &p, &rp, err, sizeof err), WEFT_OK, "%s", err);
        const kv_layer *Ly = &c->layers[2];
        cr_assert_eq(Ly->nq, 10, "the kept quantized slots stay quantized");
        cr_assert_eq(Ly->n_groups, 1);
        for (int h = 0; h < H; h++) {
            for (int i = 0; i < 10; i++) {
                snapshot(c, Ly, i, h, after, got);
                cr_assert(!memcmp(after, before[h][i], 2 * (size_t)hd * sizeof(float)), "head %d slot %d decoded", h, i);
                cr_assert(!memcmp(got, codes[h][i], 2 * c->qrow), "head %d slot %d codes", h, i);
            }
            for (int i = 10; head_wise && h == 1 && i < 12; i++) {
                const float *k = (const float *)kv_row(c, Ly->k, i, h), *v = (const float *)kv_row(c, Ly->v, i, h);
                cr_assert(!memcmp(k, before[h][i], (size_t)hd * sizeof(float)), "decoded key, slot %d", i);
                cr_assert(!memcmp(v, before[h][i] + hd, (size_t)hd * sizeof(float)), "decoded value, slot %d", i);
            }
        }
        float lg[512];
        eval(&L, TOKS + 63, 1, NULL, 0, lg);
        for (int i = 0; i < 512; i++) cr_assert(isfinite(lg[i]));
        close_llm(&L);
    }
}

/* Quantized slots hold no full-precision memory: the pages of their rows
 * are given back (not resident), the rows after them stay. */
Test(kv_backend, quantized_rows_release_pages) {
    llm L;
    open_llm(&L);
    eval(&L, TOKS, 63, NULL, 0, NULL);
    const kv_cache *c = &L.kv;
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE), slot = (size_t)c->n_kv_heads * c->row_stride;
    int32_t all[63];
    for (int i = 0; i < 63; i++) all[i] = i;
    const int32_t nq = 63;
    cr_assert_eq(compact(&L, all, 63, false, &nq, WEFT_KV_Q8_0), WEFT_OK);
    const size_t pages = 32 * slot / pg; /* whole pages of the 32 quantized slots */
    cr_assert_gt(pages, 0, "this model's 32 slots fill a page");
    for (int l = 0; l < c->n_layers; l++) {
        unsigned char res[64];
        cr_assert_eq(mincore(c->layers[l].k, 63 * slot, res), 0);
        for (size_t i = 0; i < pages; i++) cr_assert_eq(res[i] & 1, 0, "layer %d: page %zu still resident", l, i);
        cr_assert_eq(res[(63 * slot - 1) / pg] & 1, 1, "the full-precision rows stay");
        cr_assert_eq(mincore(c->layers[l].v, 63 * slot, res), 0);
        for (size_t i = 0; i < pages; i++) cr_assert_eq(res[i] & 1, 0, "layer %d: value page %zu resident", l, i);
    }
    close_llm(&L);
}

/* Attention sums under speculation: a tree batch's rows count only if
 * kv_keep keeps them, so a path evaluated in a tree with a rejected
 * sibling sums exactly as the path evaluated alone. */
Test(kv_backend, rejected_tree_rows_never_count) {
    llm a, b;
    open_llm(&a);
    open_llm(&b);
    eval(&a, TOKS, 8, NULL, WEFT_SIGNAL_ATTN_ACCUM, NULL);
    eval(&b, TOKS, 8, NULL, WEFT_SIGNAL_ATTN_ACCUM, NULL);
    const int32_t tree[3] = {TOKS[8], TOKS[9], 77}, parents[3] = {-1, 0, 0}, keep[2] = {0, 1};
    eval(&a, tree, 3, parents, WEFT_SIGNAL_ATTN_ACCUM, NULL);
    char err[128];
    cr_assert_eq(kv_cache_keep(&a.kv, 3, keep, 2, err, sizeof err), WEFT_OK);
    const int32_t chain_parents[2] = {-1, 0};
    eval(&b, tree, 2, chain_parents, WEFT_SIGNAL_ATTN_ACCUM, NULL);
    weft_kv_view va = {.struct_size = sizeof va}, vb = {.struct_size = sizeof vb};
    for (int l = 0; l < a.m->cfg.n_layers; l++) {
        cr_assert_eq(kv_cache_view(&a.kv, l, &va, err, sizeof err), WEFT_OK);
        cr_assert_eq(kv_cache_view(&b.kv, l, &vb, err, sizeof err), WEFT_OK);
        cr_assert_eq(va.n_slots, 10);
        cr_assert(!memcmp(va.attn_accum, vb.attn_accum, (size_t)10 * a.m->cfg.n_heads * sizeof(float)),
                  "layer %d: sums differ", l);
    }
    close_llm(&a);
    close_llm(&b);
}

/* The observation window: the last w rows of a batch, summed per slot and
 * head; each window row's probabilities sum to 1 per head. */
Test(kv_backend, observation_window_sums) {
    llm L;
    open_llm(&L);
    int32_t last = 19;
    weft_batch b = {.struct_size = sizeof b, .n_tokens = 20, .tokens = TOKS, .n_out = 0, .out_rows = &last,
                    .signals = WEFT_SIGNAL_OBS_WINDOW, .obs_window = 5};
    char err[128];
    cr_assert_eq(forward_eval(L.fs, &b, err, sizeof err), WEFT_OK, "%s", err);
    weft_kv_view v = {.struct_size = sizeof v};
    cr_assert_eq(kv_cache_view(&L.kv, 1, &v, err, sizeof err), WEFT_OK);
    cr_assert_not_null(v.obs_attn);
    for (int h = 0; h < L.m->cfg.n_heads; h++) {
        double s = 0;
        for (int i = 0; i < 20; i++) s += v.obs_attn[i * L.m->cfg.n_heads + h];
        cr_assert_float_eq(s, 5.0, 1e-4, "head %d sums to %g", h, s);
    }
    close_llm(&L);
}
