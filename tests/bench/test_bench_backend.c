/* weft-bench-backend end to end, on small random models: it runs, writes
 * its JSON report, and its floor under a k-token batch follows from the
 * model's shape and the rates it measured. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_check.h"
#include "random_model.h"

#define BENCH WEFT_TEST_BUILD_DIR "/tests/bench/weft-bench-backend"

static const rm_spec Q8_SPEC = {.arch = "llama", .dim = 128, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                                .ffn = 256, .vocab = 320, .ctx = 1024, .type = GGML_TYPE_Q8_0, .seed = 3};

/* Multiply-adds per token of spec's matrices, from its shape alone. */
static double macs_of(const rm_spec *s) {
    const double hd = (double)s->dim / s->n_heads, q = s->dim, kv = hd * s->n_kv_heads;
    const double layer = s->dim * q + 2 * s->dim * kv + q * s->dim + 3.0 * s->dim * s->ffn;
    return s->n_layers * layer + (double)s->vocab * s->dim;
}

/* Runs the benchmark on a model of spec `s`; returns its JSON report. */
static cJSON *run_bench(const rm_spec *s, const char *tag) {
    char model[256], json[256], cmd[1024], err[512];
    snprintf(model, sizeof model, "/tmp/weft-test-bench-%d-%s.gguf", (int)getpid(), tag);
    snprintf(json, sizeof json, "/tmp/weft-test-bench-%d-%s.json", (int)getpid(), tag);
    cr_assert(rm_write(s, model, err, sizeof err), "%s", err);
    snprintf(cmd, sizeof cmd, "'%s' '%s' --threads 2 --json '%s' > /dev/null", BENCH, model, json);
    const int rc = system(cmd);
    remove(model);
    cr_assert_eq(rc, 0, "%s exited with %d", cmd, rc);
    FILE *f = fopen(json, "rb");
    cr_assert_not_null(f, "no report at %s", json);
    static char text[8192];
    const size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    remove(json);
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "the report is not JSON: %s", text);
    return j;
}

static double num_at(const cJSON *j, const char *obj, const char *key) { return json_num(json_get(j, obj), key); }

/* The floor row against the model's shape and the rates in the report:
 * spec's matrices all count as `kind` ("block" for Q8_0/Q4_0, "other"). */
static void check_floor(const rm_spec *spec, const char *tag, const char *kind) {
    cJSON *j = run_bench(spec, tag);
    const char *kernels = json_str(j, "kernels");
    cr_expect_float_eq(num_at(j, "batch_cost_wall", "1"), 1.0, 1e-9);
    cr_expect_gt(json_num(j, "decode_tok_s"), 0);
    const double blocks = json_num(j, "int8_block_macs_per_token"), others = json_num(j, "int8_other_macs_per_token");
    if (strcmp(kernels, "avx512") != 0) { /* no VNNI peak to measure: no floor */
        cr_expect_eq(blocks + others, 0);
        cr_expect_eq(num_at(j, "batch_floor", "8"), 0);
        cJSON_Delete(j);
        return;
    }
    const bool is_block = strcmp(kind, "block") == 0;
    const double mine = is_block ? blocks : others;
    cr_expect_float_eq(mine, macs_of(spec), 0.5, "%s multiply-adds a token: %.0f, the shape says %.0f", kind, mine,
                       macs_of(spec));
    cr_expect_eq(is_block ? others : blocks, 0);
    const double block_peak = json_num(j, "int8_block_peak_gmac_s") * 1e9;
    const double dot_peak = json_num(j, "int8_dot_peak_gmac_s") * 1e9;
    const double bw = json_num(j, "read_bandwidth_gb_s") * 1e9, t1 = json_num(j, "batch1_ms") * 1e-3;
    const double bytes = json_num(j, "weight_bytes");
    cr_assert_gt(block_peak, 1e9, "a peak of %g multiply-adds a second", block_peak);
    cr_assert_gt(dot_peak, 1e9, "a peak of %g multiply-adds a second", dot_peak);
    static const char *const ks[] = {"1", "2", "4", "8", "16"};
    double last = 0;
    for (int i = 0; i < 5; i++) {
        const int k = atoi(ks[i]);
        const double compute = k * (blocks / block_peak + others / dot_peak);
        const double want = fmax(compute, bytes / bw) / t1, got = num_at(j, "batch_floor", ks[i]);
        cr_expect(fabs(got - want) <= 1e-2 * want, "k = %d: floor %.4f, expected %.4f", k, got, want);
        cr_expect_geq(got, last, "the floor falls from %.4f to %.4f at k = %d", last, got, k);
        last = got;
    }
    cJSON_Delete(j);
}

Test(bench_backend, floor_of_q8_0_blocks) { check_floor(&Q8_SPEC, "q8", "block"); }

Test(bench_backend, floor_of_k_quants) {
    rm_spec s = Q8_SPEC; /* K-quant rows are 256 elements */
    s.dim = 256, s.ffn = 512, s.type = GGML_TYPE_Q4_K;
    check_floor(&s, "q4k", "other");
}

Test(bench_backend, no_int8_floor_for_float_weights) {
    rm_spec s = Q8_SPEC;
    s.type = GGML_TYPE_F32;
    cJSON *j = run_bench(&s, "f32");
    cr_expect_eq(json_num(j, "int8_block_macs_per_token") + json_num(j, "int8_other_macs_per_token"), 0);
    cr_expect_eq(num_at(j, "batch_floor", "1"), 0);
    cr_expect_eq(num_at(j, "batch_floor", "16"), 0);
    cJSON_Delete(j);
}
