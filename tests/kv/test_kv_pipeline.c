/* Compression in the decode loop on stories260K: speculation stays exact
 * under every compressor, and streaming runs 8x past the context. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_harness.h"
#include "kv_eval.h"
#include "test_paths.h"

static char g_backend[2048];

static weft_registry *setup(int n_ctx) {
    char model[1024];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    if (access(model, R_OK) != 0) cr_skip_test("no %s", model);
    snprintf(g_backend, sizeof g_backend, "{\"use\": \"llama\", \"model\": \"%s\", \"n_ctx\": %d}", model, n_ctx);
    return th_registry();
}

static const char *PROMPTS[] = {
    "Once upon a time, there was a little girl named Lily. She loved to play outside",
    "Tom and his dog went to the park. They saw a big red ball",
    "The sun was shining and the birds were singing. Sam wanted to",
    "One day, a little bird flew into the garden. The bird was hungry",
};

/* Greedy with prompt-lookup + greedy-match and a compressor equals plain
 * greedy with the same compressor, token for token: the core never lets a
 * step cross a compression point, and rejected rows never add attention. */
Test(kv_pipeline, speculation_with_compression_is_exact, .timeout = 600) {
    weft_registry *reg = setup(512);
    const char *kvs[] = {
        "{\"use\": \"streaming\", \"budget\": 40, \"slack\": 8}",
        "{\"use\": \"h2o\", \"budget\": 40, \"slack\": 8}",
        "{\"use\": \"snapkv\", \"budget\": 40, \"slack\": 8}",
        "{\"use\": \"knorm\", \"budget\": 40, \"slack\": 8}",
        "{\"use\": \"budget\", \"budget\": 40, \"pyramid\": 0.5, \"compressor\": {\"use\": \"h2o\"}}",
        "{\"use\": \"quantize\", \"bits\": 4, \"recent\": 16}",
    };
    int64_t drafted = 0, accepted = 0;
    for (size_t k = 0; k < sizeof kvs / sizeof *kvs; k++) {
        weft_pipeline *plain = th_pipeline(reg, "{\"backend\": %s, \"kv\": %s}", g_backend, kvs[k]);
        weft_pipeline *spec = th_pipeline(reg,
                                          "{\"backend\": %s, \"kv\": %s, \"drafter\": {\"use\": \"prompt-lookup\"}, "
                                          "\"verifier\": {\"use\": \"greedy-match\"}}",
                                          g_backend, kvs[k]);
        const size_t n_prompts = (size_t)test_quick(sizeof PROMPTS / sizeof *PROMPTS, 1);
        for (size_t i = 0; i < n_prompts; i++) {
            weft_result a, b;
            th_generate(plain, PROMPTS[i], 150, -1, &a);
            th_generate(spec, PROMPTS[i], 150, -1, &b);
            cr_assert_eq(a.n_tokens, b.n_tokens, "%s, prompt %zu: %zu vs %zu tokens", kvs[k], i, a.n_tokens, b.n_tokens);
            for (size_t t = 0; t < a.n_tokens; t++)
                cr_assert_eq(a.tokens[t], b.tokens[t], "%s, prompt %zu: token %zu differs", kvs[k], i, t);
            drafted += b.stats.n_drafted, accepted += b.stats.n_accepted;
            weft_result_free(&a);
            weft_result_free(&b);
        }
        weft_pipeline_free(plain);
        weft_pipeline_free(spec);
    }
    cr_assert_gt(accepted, 0, "speculation never accepted a token (%lld drafted)", (long long)drafted);
    weft_registry_free(reg);
}

/* StreamingLLM with re-rotation: 8x the trained context (512) in a cache
 * of 512, and perplexity past the context within 10% of the in-context
 * perplexity of the same text. */
Test(kv_pipeline, streaming_runs_8x_context, .timeout = 900) {
    enum { CTX = 512, LEN = 8 * CTX };
    weft_registry *reg = setup(CTX);
    /* generation: EOS banned so it must run the whole length */
    weft_pipeline *gen = th_pipeline(reg,
                                     "{\"backend\": %s, \"kv\": {\"use\": \"streaming\", \"budget\": 448, \"slack\": 32}, "
                                     "\"samplers\": [{\"use\": \"logit-bias\", \"bias\": {\"2\": -100}}, "
                                     "{\"use\": \"temperature\", \"t\": 1.0}], \"generate\": {\"seed\": 7}}",
                                     g_backend);
    weft_result r;
    th_generate(gen, "Once upon a time", LEN, -1, &r);
    cr_assert_eq(r.n_tokens, LEN, "finish %s after %zu tokens", weft_finish_name(r.finish), r.n_tokens);
    weft_result_free(&r);
    weft_pipeline_free(gen);

    char err[512];
    int32_t *text = kv_sample_text(reg, g_backend, LEN, 11, err, sizeof err);
    cr_assert_not_null(text, "%s", err);
    weft_pipeline *full = th_pipeline(reg, "{\"backend\": %s}", g_backend);
    double nll = 0;
    int64_t n = 0;
    for (int w = 0; w < LEN / CTX; w++) {
        kv_eval_result e;
        cr_assert(kv_eval_text(full, text + w * CTX, CTX - 8, 1, &e, err, sizeof err), "%s", err);
        nll += e.nll, n += e.n_scored;
    }
    const double in_ctx = exp(nll / (double)n);
    weft_pipeline *st = th_pipeline(reg, "{\"backend\": %s, \"kv\": {\"use\": \"streaming\", \"budget\": 448, \"slack\": 32}}",
                                    g_backend);
    kv_eval_result e;
    cr_assert(kv_eval_text(st, text, LEN, 1, &e, err, sizeof err), "%s", err);
    const double streamed = exp(e.nll / (double)e.n_scored);
    cr_log_info("in-context ppl %.4f, streaming over %d tokens %.4f", in_ctx, LEN, streamed);
    cr_assert_lt(fabs(streamed / in_ctx - 1), 0.10, "streaming ppl %.4f vs in-context %.4f", streamed, in_ctx);
    free(text);
    weft_pipeline_free(full);
    weft_pipeline_free(st);
    weft_registry_free(reg);
}
