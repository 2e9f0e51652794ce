/* weft-bench-backend: speed of the llama backend's forward pass.
 *
 *   weft-bench-backend MODEL.gguf [--threads N] [--json FILE] [--kv f32|f16|q8_0] [--prefill-only]
 *                      [--max-batch N] [--batch-only K] [--depth D]
 *
 * Reports prefill tok/s (512 tokens in one batch), decode tok/s (128 tokens
 * one at a time, logits each step), the cost of a k-token chain batch
 * relative to k = 1 (what a speculative verifier pays), decode speed as a
 * fraction of the memory-bandwidth floor (weight bytes per token over the
 * measured read bandwidth), peak RSS and KV cache bytes, and the model's
 * load time (read, checked, repacked: one run). Every other timing is the
 * best of several runs. --prefill-only stops after prefill (to profile it);
 * --max-batch sets the rows per forward chunk (the plugin's max_batch, 64).
 * --batch-only K times only K-token chain batches, many times (to profile
 * the verify batch). --depth D times only single-token steps after D cached
 * tokens (llama-bench's -d D), where attention reads the whole cache; with
 * --batch-only K, K-token chain batches after D cached tokens.
 *
 * On a shared machine wall time includes time spent descheduled, so the
 * longer runs are also given from process CPU time divided by the thread
 * count ("cpu"): what the run would take on an idle machine, as long as
 * the workers are busy or spinning (they spin between parallel loops).
 * Under the chain batch costs, a "floor" row gives the least a k-token
 * batch can cost on this CPU relative to the measured k = 1: the larger of
 * its int8 arithmetic at the measured peaks (int8_peak_avx512.c) and one
 * read of the weights at the measured bandwidth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "forward.h"
#include "host.h"
#include "int8_peak.h"
#include "kernels.h"

enum { N_PREFILL = 512, N_DECODE = 128, CTX_BATCH = 64, REPS = 3, BATCH_REPS = 20, N_DEPTH_DECODE = 32 };

typedef struct bench {
    weft_runtime *rt;
    weft_env *env;
    model *m;
    kv_cache kv;
    forward_state *fs;
    float *logits;
} bench;

static void bench_free(bench *b) {
    free(b->logits);
    forward_free(b->fs);
    kv_cache_free(&b->kv);
    model_free(b->m);
    weft_env_free(b->env);
    weft_runtime_free(b->rt);
}

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best (smallest) wall and CPU-per-thread times over the runs of one
 * measurement. The process CPU clock counts a running worker's time only
 * up to its last scheduler tick, so it is read only for runs of many
 * ticks: a chain batch (a millisecond or two) is timed by the wall clock
 * alone, where the best of 20 runs leaves out time spent descheduled. */
typedef struct timing {
    double wall, cpu;
    double w0, c0;
    int threads;
} timing;

static timing timing_new(int threads) { return (timing){1e30, 1e30, 0, 0, threads}; }
static void tic(timing *t) {
    t->w0 = clock_s(CLOCK_MONOTONIC);
    t->c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}
static void toc(timing *t) {
    const double w = clock_s(CLOCK_MONOTONIC) - t->w0;
    const double c = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - t->c0) / t->threads;
    if (w < t->wall) t->wall = w;
    if (c < t->cpu) t->cpu = c;
}

static void die(const char *what, const char *msg) {
    fprintf(stderr, "weft-bench-backend: %s: %s\n", what, msg);
    exit(1);
}

/* Evaluates n tokens with logits for the last `n_out` rows. */
static void eval(bench *b, const int32_t *toks, int n, int n_out) {
    int32_t rows[64];
    for (int i = 0; i < n_out; i++) rows[i] = n - n_out + i;
    weft_batch batch = {.struct_size = sizeof batch, .n_tokens = (size_t)n, .tokens = toks,
                        .n_out = (size_t)n_out, .out_rows = rows, .logits = b->logits};
    char err[512];
    if (forward_eval(b->fs, &batch, err, sizeof err) != WEFT_OK) die("eval", err);
}

static void rollback_all(bench *b) {
    char err[256];
    if (kv_cache_keep(&b->kv, kv_cache_len(&b->kv), NULL, 0, err, sizeof err) != WEFT_OK) die("rollback", err);
}

/* Evaluates the k-token chain toks (all rows' logits), timed by t if given,
 * then rolls it back. */
static void chain_batch(bench *b, const int32_t *toks, int k, timing *t) {
    char err[256];
    if (t) tic(t);
    eval(b, toks, k, k);
    if (t) toc(t);
    if (kv_cache_keep(&b->kv, k, NULL, 0, err, sizeof err) != WEFT_OK) die("rollback", err);
}

/* ---- memory bandwidth: sum a buffer far larger than the caches ---- */

typedef struct bw_job {
    const float *buf;
    size_t chunk; /* floats per item */
    float *sums;
} bw_job;

static void bw_body(void *arg, size_t begin, size_t end, int worker) {
    (void)worker;
    const bw_job *j = arg;
    for (size_t it = begin; it < end; it++) {
        const float *p = j->buf + it * j->chunk;
        float acc[16] = {0};
        for (size_t i = 0; i < j->chunk; i += 16)
            for (int k = 0; k < 16; k++) acc[k] += p[i + k];
        float s = 0;
        for (int k = 0; k < 16; k++) s += acc[k];
        j->sums[it] = s;
    }
}

/* Bytes per second of one pass (best of 4), timed like everything else:
 * the better of wall and CPU-per-thread time. */
static double read_bandwidth(const weft_env *env, int threads) {
    const size_t bytes = (size_t)1 << 30, chunk = (size_t)1 << 18, n_items = bytes / 4 / chunk;
    float *buf = malloc(bytes), *sums = calloc(n_items, sizeof(float));
    if (!buf || !sums) die("bandwidth", "out of memory");
    for (size_t i = 0; i < bytes / 4; i++) buf[i] = (float)(i & 7);
    bw_job j = {buf, chunk, sums};
    timing t = timing_new(threads);
    for (int r = 0; r < 4; r++) {
        tic(&t);
        env->host->parallel_for(env, n_items, 1, bw_body, &j);
        toc(&t);
    }
    const double best = bytes / (t.cpu < t.wall ? t.cpu : t.wall);
    volatile float sink = sums[0];
    (void)sink;
    free(buf);
    free(sums);
    return best;
}

/* ---- int8 arithmetic peaks: the compute floor of a k-token batch ---- */

enum { PEAK_ITEMS_PER_THREAD = 8, PEAK_ITERS = 1 << 17, PEAK_PASSES = 10 };

typedef struct peak_job {
    bool block_scales;
    float *sinks;
} peak_job;

static void peak_body(void *arg, size_t begin, size_t end, int worker) {
    (void)worker;
    const peak_job *j = arg;
    for (size_t it = begin; it < end; it++) int8_peak_run(PEAK_ITERS, j->block_scales, &j->sinks[it]);
}

/* Multiply-adds per second on all threads, timed like the rest; the best
 * of many short passes, since a pass the hypervisor interrupts would
 * lower the peak and so raise the floor. */
static double int8_peak(const weft_env *env, int threads, bool block_scales) {
    const size_t n_items = (size_t)threads * PEAK_ITEMS_PER_THREAD;
    float *sinks = calloc(n_items, sizeof(float));
    if (!sinks) die("int8 peak", "out of memory");
    const double macs = int8_peak_run(PEAK_ITERS, block_scales, sinks) * (double)n_items; /* also a warm-up */
    peak_job j = {block_scales, sinks};
    timing t = timing_new(threads);
    for (int r = 0; r < PEAK_PASSES; r++) {
        tic(&t);
        env->host->parallel_for(env, n_items, 1, peak_body, &j);
        toc(&t);
    }
    free(sinks);
    return macs / (t.cpu < t.wall ? t.cpu : t.wall);
}

/* Adds w's multiply-adds per token to *blocks (Q8_0/Q4_0: scaled every
 * block) or *others (other quantized types); false for F32/F16, whose
 * kernels are not int8 ones. */
static bool add_int8_macs(const weight *w, double *blocks, double *others) {
    const ggml_type t = kernels_file_type(w->type);
    if (t == GGML_TYPE_F32 || t == GGML_TYPE_F16) return false;
    *(t == GGML_TYPE_Q8_0 || t == GGML_TYPE_Q4_0 ? blocks : others) += (double)w->rows * (double)w->cols;
    return true;
}

/* The multiply-adds per token of the model's matrices, the LM head included. */
static bool int8_macs_per_token(const model *m, double *blocks, double *others) {
    *blocks = *others = 0;
    bool int8 = add_int8_macs(&m->w.output, blocks, others);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const layer_weights *lw = &m->w.layers[l];
        const weight *mats[] = {&lw->wq, &lw->wk, &lw->wv, &lw->wo, &lw->w_gate, &lw->w_up, &lw->w_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) int8 &= add_int8_macs(mats[i], blocks, others);
    }
    return int8;
}

int main(int argc, char **argv) {
    const char *path = NULL, *json = NULL, *kv_name = "f32";
    int threads = 1;
    bool prefill_only = false;
    int max_batch = 64, batch_only = 0, depth = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--kv") && i + 1 < argc) kv_name = argv[++i];
        else if (!strcmp(argv[i], "--prefill-only")) prefill_only = true;
        else if (!strcmp(argv[i], "--max-batch") && i + 1 < argc) max_batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch-only") && i + 1 < argc) batch_only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc) depth = atoi(argv[++i]);
        else if (argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "usage: weft-bench-backend MODEL.gguf [--threads N] [--json FILE] [--kv f32|f16|q8_0] [--prefill-only] [--max-batch N] [--batch-only K] [--depth D]\n");
            return 2;
        }
    }
    if (!path) die("usage", "a model file is required");
    if (batch_only < 0 || batch_only > 16) die("usage", "--batch-only takes 1..16");
    if (depth < 0 || depth > 1 << 20) die("usage", "--depth takes 0..1048576");
    const weft_kv_type kv_type = !strcmp(kv_name, "f16") ? WEFT_KV_F16 : !strcmp(kv_name, "q8_0") ? WEFT_KV_Q8_0 : WEFT_KV_F32;

    char err[1024];
    bench b = {0};
    const kernel_isa isa = kernels_init(-1);
    b.rt = weft_runtime_new(threads);
    b.env = weft_env_new(b.rt, "bench");
    const double load_t0 = clock_s(CLOCK_MONOTONIC);
    b.m = model_load(path, err, sizeof err);
    if (!b.m) die("load", err);
    const double load_ms = 1e3 * (clock_s(CLOCK_MONOTONIC) - load_t0); /* reading, checking, repacking */
    const model_config *c = &b.m->cfg;
    const int n_ctx = depth ? depth + N_DEPTH_DECODE : N_PREFILL + N_DECODE;
    if (!kv_cache_init(&b.kv, c, kv_type, n_ctx, err, sizeof err)) die("kv", err);
    b.fs = forward_new(b.m, &b.kv, max_batch, b.env, err, sizeof err);
    if (!b.fs) die("forward", err);
    b.logits = malloc((size_t)16 * c->n_vocab * sizeof(float));
    const int n_toks = depth + N_DEPTH_DECODE > N_PREFILL ? depth + N_DEPTH_DECODE : N_PREFILL;
    int32_t *toks = malloc((size_t)n_toks * sizeof(int32_t));
    for (int i = 0; i < n_toks; i++) toks[i] = (int32_t)((i * 7919u + 13u) % (unsigned)c->n_vocab);

    /* warm-up: page in the weights */
    eval(&b, toks, 16, 1);
    rollback_all(&b);

    if (depth && !batch_only) { /* single-token steps after `depth` cached tokens, rolled back each time */
        eval(&b, toks, depth, 1);
        timing t = timing_new(threads);
        for (int r = 0; r < REPS; r++) {
            tic(&t);
            for (int i = 0; i < N_DEPTH_DECODE; i++) eval(&b, toks + depth + i, 1, 1);
            toc(&t);
            if (kv_cache_keep(&b.kv, N_DEPTH_DECODE, NULL, 0, err, sizeof err) != WEFT_OK) die("rollback", err);
        }
        printf("decode %d at depth %d  %9.1f %9.1f  (wall, cpu tok/s; kv %s)\n", N_DEPTH_DECODE, depth,
               N_DEPTH_DECODE / t.wall, N_DEPTH_DECODE / t.cpu, kv_name);
        bench_free(&b);
        free(toks);
        return 0;
    }

    if (batch_only) { /* after CTX_BATCH tokens, or `depth` (a verify batch at long context) */
        const int context = depth ? depth : CTX_BATCH, reps = depth ? BATCH_REPS : 20 * BATCH_REPS;
        eval(&b, toks, context, 1);
        timing t = timing_new(threads);
        tic(&t);
        for (int r = 0; r < reps; r++) chain_batch(&b, toks + context, batch_only, NULL);
        toc(&t);
        printf("batch %d at depth %d  %9.3f %9.3f  (wall, cpu ms per batch)\n", batch_only, context,
               1e3 * t.wall / reps, 1e3 * t.cpu / reps);
        bench_free(&b);
        free(toks);
        return 0;
    }

    timing prefill = timing_new(threads);
    for (int r = 0; r < REPS; r++) {
        tic(&prefill);
        eval(&b, toks, N_PREFILL, 1);
        toc(&prefill);
        rollback_all(&b);
    }
    if (prefill_only) {
        printf("prefill %d   %9.1f %9.1f  (wall, cpu tok/s)\n", N_PREFILL, N_PREFILL / prefill.wall,
               N_PREFILL / prefill.cpu);
        bench_free(&b);
        free(toks);
        return 0;
    }

    timing decode = timing_new(threads);
    for (int r = 0; r < REPS; r++) {
        tic(&decode);
        for (int i = 0; i < N_DECODE; i++) eval(&b, toks + i, 1, 1);
        toc(&decode);
        rollback_all(&b);
    }

    /* k-token chains after a 64-token context, rolled back each time. The
     * sizes take turns, so that every k's best run comes from the same
     * stretch of time: timed one k after the other, a change in the
     * machine's speed between two sizes showed in their ratio. */
    static const int ks[] = {1, 2, 4, 8, 16};
    timing batch[5];
    eval(&b, toks, CTX_BATCH, 1);
    for (int i = 0; i < 5; i++) batch[i] = timing_new(threads);
    for (int r = 0; r < BATCH_REPS; r++)
        for (int i = 0; i < 5; i++) chain_batch(&b, toks + CTX_BATCH, ks[i], &batch[i]);
    rollback_all(&b);

    struct rusage ru; /* before the bandwidth test's buffer */
    getrusage(RUSAGE_SELF, &ru);
    const double rss_mb = ru.ru_maxrss / 1024.0;
    const double bw = read_bandwidth(b.env, threads);
    const double floor_tps = bw / (double)b.m->weight_bytes;
    /* A k-token batch cannot take less than its int8 arithmetic at the
     * CPU's peak, nor less than one read of the weights. Only for the
     * AVX-512 VNNI kernels, whose arithmetic the peaks measure. */
    double block_macs = 0, other_macs = 0, block_peak = 0, dot_peak = 0;
    const bool int8 = isa == KERNEL_AVX512 && int8_macs_per_token(b.m, &block_macs, &other_macs);
    if (int8) {
        block_peak = int8_peak(b.env, threads, true);
        dot_peak = int8_peak(b.env, threads, false);
    } else {
        block_macs = other_macs = 0; /* no floor: the report says so with zeros */
    }
    double batch_floor[5] = {0};
    for (int i = 0; i < 5 && int8; i++) {
        const double compute = ks[i] * (block_macs / block_peak + other_macs / dot_peak), memory = 1 / floor_tps;
        batch_floor[i] = (compute > memory ? compute : memory) / batch[0].wall;
    }
    const double kv_mb = kv_cache_bytes(&b.kv) / 1048576.0;
    const char *wtype = ggml_type_name(kernels_file_type(b.m->w.layers[0].wq.type));

    printf("model        %s (%s, %s, %d layers, dim %d, vocab %d, %.1fM params)\n", path, b.m->arch->name,
           wtype, c->n_layers, c->dim, c->n_vocab, b.m->n_params / 1e6);
    printf("threads      %d, kernels %s, kv %s\n", threads, kernel_isa_name(isa), kv_name);
    printf("                    wall      cpu (tok/s)\n");
    printf("prefill %d   %9.1f %9.1f\n", N_PREFILL, N_PREFILL / prefill.wall, N_PREFILL / prefill.cpu);
    printf("decode %d    %9.1f %9.1f\n", N_DECODE, N_DECODE / decode.wall, N_DECODE / decode.cpu);
    const double dec_best = N_DECODE / (decode.cpu < decode.wall ? decode.cpu : decode.wall);
    printf("bandwidth    %9.2f GB/s read; %.1f MB weights/token -> floor %.1f tok/s; decode (cpu) at %.0f%% of it\n",
           bw / 1e9, b.m->weight_bytes / 1048576.0, floor_tps, 100.0 * dec_best / floor_tps);
    printf("chain batch  k:      ");
    for (int i = 0; i < 5; i++) printf("%7d", ks[i]);
    printf("\n             wall:   ");
    for (int i = 0; i < 5; i++) printf("%7.2f", batch[i].wall / batch[0].wall);
    printf("   (x the k=1 time, %.2f ms)\n", batch[0].wall * 1e3);
    if (int8) {
        printf("             floor:  ");
        for (int i = 0; i < 5; i++) printf("%7.2f", batch_floor[i]);
        printf("   (x the k=1 wall time: int8 arithmetic at peak, or one read of the weights)\n");
        printf("int8 peak    %.0fM multiply-adds a token in Q8_0/Q4_0 blocks at %.0f GMAC/s, %.1fM in others at %.0f\n",
               block_macs / 1e6, block_peak / 1e9, other_macs / 1e6, dot_peak / 1e9);
    }
    printf("memory       peak RSS %.1f MB, KV cache %.1f MB (%d slots)\n", rss_mb, kv_mb, b.kv.n_ctx);
    printf("load         %.1f ms\n", load_ms);

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) die("json", "cannot open the output file");
        fprintf(f,
                "{\"model\": \"%s\", \"arch\": \"%s\", \"weight_type\": \"%s\", \"n_params\": %llu,\n"
                " \"weight_bytes\": %llu, \"threads\": %d, \"kernels\": \"%s\", \"kv_type\": \"%s\",\n"
                " \"prefill_tok_s\": %.2f, \"prefill_tok_s_cpu\": %.2f, \"decode_tok_s\": %.2f,\n"
                " \"decode_tok_s_cpu\": %.2f, \"read_bandwidth_gb_s\": %.3f, \"decode_floor_tok_s\": %.2f,\n"
                " \"decode_fraction_of_floor\": %.4f,\n \"batch_cost_wall\": {",
                path, b.m->arch->name, wtype, (unsigned long long)b.m->n_params,
                (unsigned long long)b.m->weight_bytes, threads, kernel_isa_name(isa), kv_name,
                N_PREFILL / prefill.wall, N_PREFILL / prefill.cpu, N_DECODE / decode.wall,
                N_DECODE / decode.cpu, bw / 1e9, floor_tps, dec_best / floor_tps);
        for (int i = 0; i < 5; i++) fprintf(f, "%s\"%d\": %.4f", i ? ", " : "", ks[i], batch[i].wall / batch[0].wall);
        fprintf(f, "},\n \"batch_floor\": {");
        for (int i = 0; i < 5; i++) fprintf(f, "%s\"%d\": %.6f", i ? ", " : "", ks[i], batch_floor[i]);
        fprintf(f, "},\n \"int8_block_macs_per_token\": %.0f, \"int8_other_macs_per_token\": %.0f,", block_macs,
                other_macs);
        fprintf(f, "\n \"int8_block_peak_gmac_s\": %.3f, \"int8_dot_peak_gmac_s\": %.3f,", block_peak / 1e9,
                dot_peak / 1e9);
        fprintf(f, "\n \"batch1_ms\": %.6f, \"peak_rss_mb\": %.1f, \"kv_bytes\": %zu, \"load_ms\": %.1f}\n",
                batch[0].wall * 1e3, rss_mb, kv_cache_bytes(&b.kv), load_ms);
        fclose(f);
    }
    free(toks);
    bench_free(&b);
    return 0;
}
