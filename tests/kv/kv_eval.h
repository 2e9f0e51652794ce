/* Teacher-forced evaluation of a text under a pipeline's KV compressor:
 * the prompt is prefilled, then every later token is evaluated one at a
 * time while the compressor runs on its schedule, as the decode loop runs
 * it (core/decode.c). Shared by the kv tests and weft-kv-quality. */
#ifndef WEFT_TEST_KV_EVAL_H
#define WEFT_TEST_KV_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <weft/weft.h>

typedef struct kv_eval_result {
    double nll;        /* summed over the scored tokens */
    int64_t n_scored;  /* tokens n_prompt .. n-1 */
    size_t max_bytes;  /* most KV bytes held (weft_kv_view.bytes over layers) */
    /* Most the process's resident memory grew over its size at the start
     * (a fresh pipeline's first text: the pages the KV cache committed) */
    size_t rss_growth;
    double seconds, kv_seconds; /* total, and inside plan + compact */
    double decode_seconds;      /* the token-by-token part, compression included */
    int64_t n_compress;
} kv_eval_result;

/* false with a message in err. tok[0] is usually BOS. */
bool kv_eval_text(weft_pipeline *p, const int32_t *tok, int n, int n_prompt, kv_eval_result *r, char *err,
                  size_t cap);

/* A seeded sample of the model, n tokens: stories joined by BOS, from the
 * pipeline {"backend": backend_json, sampled at temperature 1}. */
int32_t *kv_sample_text(weft_registry *reg, const char *backend_json, int n, uint64_t seed, char *err, size_t cap);

#endif
