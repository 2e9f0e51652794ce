/* Each compressor's plan on stories260K through a pipeline: keep-all plans
 * change nothing, and after compression each layer holds what the method
 * promises (streaming: sinks + the newest entries; budgets respected;
 * pyramid budgets shrink with depth; quantize stores whole groups). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft/kv.h>

#include "core_harness.h"
#include "pipeline.h"
#include "test_paths.h"

static char g_backend[2048];

static weft_registry *setup(void) {
    char model[1024];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    if (access(model, R_OK) != 0) cr_skip_test("no %s", model);
    snprintf(g_backend, sizeof g_backend, "{\"use\": \"llama\", \"model\": \"%s\"}", model);
    return th_registry();
}

static const char *PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside";

static weft_kv_view view(weft_pipeline *p, int l) {
    weft_kv_view v = {.struct_size = sizeof v};
    cr_assert_eq(BACKEND_VT(p)->kv_view(BACKEND_SELF(p), l, &v), WEFT_OK);
    return v;
}

/* A budget larger than anything generated: bit-identical tokens (the
 * signals a compressor asks for do not change the logits either). */
Test(kv_plans, keep_all_changes_nothing, .timeout = 120) {
    weft_registry *reg = setup();
    weft_pipeline *plain = th_pipeline(reg, "{\"threads\": 2, \"backend\": %s}", g_backend);
    weft_result want;
    th_generate(plain, PROMPT, 60, -1, &want);
    const char *kvs[] = {"streaming", "h2o", "snapkv", "knorm"};
    for (size_t i = 0; i < 4; i++) {
        weft_pipeline *p = th_pipeline(reg, "{\"threads\": 2, \"backend\": %s, \"kv\": {\"use\": \"%s\", \"budget\": 4096}}",
                                       g_backend, kvs[i]);
        weft_result got;
        th_generate(p, PROMPT, 60, -1, &got);
        cr_assert_eq(got.n_tokens, want.n_tokens, "%s", kvs[i]);
        cr_assert(!memcmp(got.tokens, want.tokens, want.n_tokens * sizeof *want.tokens), "%s", kvs[i]);
        weft_result_free(&got);
        weft_pipeline_free(p);
    }
    weft_result_free(&want);
    weft_pipeline_free(plain);
    weft_registry_free(reg);
}

Test(kv_plans, streaming_keeps_sinks_and_recent, .timeout = 120) {
    weft_registry *reg = setup();
    weft_pipeline *p = th_pipeline(
        reg, "{\"backend\": %s, \"kv\": {\"use\": \"streaming\", \"budget\": 24, \"slack\": 0, \"reposition\": false}}",
        g_backend);
    weft_result r;
    th_generate(p, PROMPT, 50, -1, &r);
    for (int l = 0; l < p->info->n_layers; l++) {
        weft_kv_view v = view(p, l);
        /* the step that ends generation commits without compressing: one more */
        cr_assert(v.n_slots == 24 || v.n_slots == 25, "%d slots", v.n_slots);
        for (int i = 0; i < 4; i++) cr_assert_eq(v.positions[i], i, "sink %d", i);
        cr_assert_gt(v.positions[4], 4, "the middle was evicted");
        for (int i = 5; i < v.n_slots; i++) cr_assert_eq(v.positions[i], v.positions[i - 1] + 1, "recent window");
    }
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* Every evicting method holds its budget, plus slack, at every layer (plus
 * the last step's token, committed without a compression after it). */
Test(kv_plans, budgets_hold, .timeout = 120) {
    weft_registry *reg = setup();
    const char *kvs[] = {"streaming", "h2o", "snapkv", "knorm"};
    for (size_t i = 0; i < 4; i++) {
        weft_pipeline *p =
            th_pipeline(reg, "{\"backend\": %s, \"kv\": {\"use\": \"%s\", \"budget\": 20, \"slack\": 4}}", g_backend, kvs[i]);
        weft_result r;
        th_generate(p, PROMPT, 40, -1, &r);
        cr_assert_eq(r.n_tokens, 40, "%s", kvs[i]);
        for (int l = 0; l < p->info->n_layers; l++) cr_assert_leq(view(p, l).n_slots, 25, "%s layer %d", kvs[i], l);
        weft_result_free(&r);
        weft_pipeline_free(p);
    }
    weft_registry_free(reg);
}

/* h2o keeps the entries with the most accumulated attention: after a
 * compression, every dropped slot of the old cache scored no more than the
 * lowest kept one outside the recent window (checked on the plan itself). */
Test(kv_plans, h2o_keeps_heavy_hitters, .timeout = 120) {
    weft_registry *reg = setup();
    weft_pipeline *p = th_pipeline(
        reg, "{\"backend\": %s, \"kv\": {\"use\": \"h2o\", \"budget\": 16, \"recent\": 4, \"slack\": 1000}}", g_backend);
    weft_result r;
    th_generate(p, PROMPT, 8, -1, &r); /* over budget, never compressed during decode (slack) */
    const weft_kv_vtable *kv = p->kv->info->desc->vtable;
    const int32_t len = BACKEND_VT(p)->kv_len(BACKEND_SELF(p));
    weft_kv_ctx ctx = {.struct_size = sizeof ctx, .backend = &p->backend->inst, .n_layers = p->info->n_layers,
                       .kv_len = len};
    weft_kv_plan plan = {.struct_size = sizeof plan};
    cr_assert_eq(kv->plan(p->kv->inst.self, &ctx, &plan), WEFT_OK);
    cr_assert_eq(plan.n_layers, p->info->n_layers);
    const int H = p->info->n_heads;
    for (int l = 0; l < plan.n_layers; l++) {
        weft_kv_view v = view(p, l);
        cr_assert_eq(plan.n_keep[l], 16);
        bool kept[512] = {0};
        for (int i = 0; i < 16; i++) kept[plan.keep[l][i]] = true;
        for (int i = len - 4; i < len; i++) cr_assert(kept[i], "recent slot %d", i);
        float min_kept = 1e30f, max_dropped = -1;
        for (int s = 0; s < len - 4; s++) {
            float sum = 0;
            for (int h = 0; h < H; h++) sum += v.attn_accum[s * H + h];
            if (kept[s]) min_kept = sum < min_kept ? sum : min_kept;
            else max_dropped = sum > max_dropped ? sum : max_dropped;
        }
        cr_assert_leq(max_dropped, min_kept, "layer %d", l);
    }
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* SnapKV is head-wise: heads keep different entries in composite slots. */
Test(kv_plans, snapkv_head_wise, .timeout = 120) {
    weft_registry *reg = setup();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": %s, \"kv\": {\"use\": \"snapkv\", \"budget\": 12, \"recent\": 4}}",
                                   g_backend);
    weft_result r;
    th_generate(p, PROMPT, 0, -1, &r);
    const weft_kv_vtable *kv = p->kv->info->desc->vtable;
    cr_assert(kv->signals(p->kv->inst.self) & WEFT_KV_NEEDS_OBS_WINDOW);
    cr_assert_eq(view(p, 0).n_slots, 12, "compressed after prefill");
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

Test(kv_plans, pyramid_budgets_shrink_with_depth, .timeout = 120) {
    weft_registry *reg = setup();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": %s, \"kv\": {\"use\": \"budget\", \"budget\": 16, \"pyramid\": 0.5, "
                                   "\"slack\": 0, \"compressor\": {\"use\": \"h2o\"}}}",
                                   g_backend);
    weft_result r;
    th_generate(p, PROMPT, 30, -1, &r);
    const int L = p->info->n_layers;
    cr_assert_gt(view(p, 0).n_slots, view(p, L - 1).n_slots);
    int total = 0;
    for (int l = 0; l < L; l++) total += view(p, l).n_slots;
    cr_assert_leq(total, 16 * L + L, "mean budget");
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* SCOPE: the prompt compressed once and pinned, generated entries held to
 * decode_budget. */
Test(kv_plans, scope_pins_the_prompt, .timeout = 120) {
    weft_registry *reg = setup();
    weft_pipeline *p = th_pipeline(reg,
                                   "{\"backend\": %s, \"kv\": {\"use\": \"budget\", \"prefill_budget\": 10, "
                                   "\"decode_budget\": 8, \"slack\": 0, \"compressor\": {\"use\": \"h2o\"}}}",
                                   g_backend);
    weft_result r;
    th_generate(p, PROMPT, 30, -1, &r);
    weft_kv_view v = view(p, 0);
    cr_assert(v.n_slots == 18 || v.n_slots == 19, "%d slots", v.n_slots);
    cr_assert_lt(v.positions[9], r.stats.n_prompt, "the first 10 slots are prompt entries (%d)", v.positions[9]);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

Test(kv_plans, quantize_stores_whole_groups, .timeout = 120) {
    weft_registry *reg = setup();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": %s, \"kv\": {\"use\": \"quantize\", \"bits\": 4, \"recent\": 16}}",
                                   g_backend);
    weft_result r;
    th_generate(p, PROMPT, 100, -1, &r);
    weft_kv_view v = view(p, 0);
    cr_assert_gt(v.n_quantized, 0);
    cr_assert_eq(v.n_quantized % 32, 0);
    cr_assert_geq(v.n_slots - v.n_quantized, 16, "the recent window stays full precision");
    cr_assert_lt(v.bytes, (size_t)v.n_slots * v.n_kv_heads * v.head_dim * 4 * 2);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}
