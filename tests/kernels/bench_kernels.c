/* Single-thread benchmark of matmul_rows: for each weight type, shapes
 * 768x2048 and 2048x768 (rows x n), n_batch 1, 2, 4, 8, 16.
 *   hot:    the same weights every call (they sit in L2/L3)
 *   stream: calls rotate over copies totalling > 64 MiB, so weights come from
 *           DRAM as in real decoding of a model larger than the caches
 * Prints a table; writes the same rows as JSON to argv[1] if given; further
 * arguments name the only types to run (Q8_0, Q8_0s, Q4_0x8, ...).
 *
 * bench_kernels --split-ab [out.json]: Q8_0 and Q4_0 weights in the file's
 * block layout against the same weights in split rows (kernels.h),
 * alternating call by call so that both see the same machine state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"

#define STREAM_BYTES (96u << 20)

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}
static float frand(void) { return (float)((double)(rnd() >> 11) * 0x1p-53 * 2.0 - 1.0); }

/* Thread CPU time: on a shared machine, time spent descheduled is not ours. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Random weights: quantize_row where it exists, else random bytes with small
 * fp16 super-block scales (K-quants). */
static void fill_weights(ggml_type t, uint8_t *w, int rows, int n) {
    const size_t rb = row_bytes(t, n);
    const ggml_type ft = kernels_file_type(t);
    if (ft == GGML_TYPE_Q4_K || ft == GGML_TYPE_Q6_K) {
        if (ft != t) {
            fill_weights(ft, w, rows, n);
            kernels_split_rows(ft, w, rows, n);
            return;
        }
        const size_t bs = t == GGML_TYPE_Q4_K ? 144 : 210, doff = t == GGML_TYPE_Q4_K ? 0 : 208;
        for (size_t i = 0; i < rb * rows; i++) w[i] = (uint8_t)rnd();
        for (size_t b = 0; b < rb * rows / bs; b++) {
            const uint16_t d = fp32_to_fp16(0.002f);
            memcpy(w + b * bs + doff, &d, 2);
            if (t == GGML_TYPE_Q4_K) memcpy(w + b * bs + 2, &d, 2);
        }
        return;
    }
    float *f = malloc(sizeof(float) * n);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < n; i++) f[i] = frand();
        quantize_row(ft, f, w + r * rb, n);
    }
    if (ft != t) kernels_split_rows(ft, w, rows, n);
    free(f);
}

static const char *type_name(ggml_type t) {
    return t == WEFT_TYPE_Q8_0_SPLIT   ? "Q8_0s"
           : t == WEFT_TYPE_Q4_0_X8    ? "Q4_0x8"
           : t == WEFT_TYPE_Q8_0_X8    ? "Q8_0x8"
           : t == WEFT_TYPE_Q4_K_X8    ? "Q4_Kx8"
           : t == WEFT_TYPE_Q6_K_X8    ? "Q6_Kx8"
                                       : ggml_type_name(t);
}

/* Minimum of 7 trials (the least disturbed), each >= 10 ms. */
static double time_us(ggml_type t, uint8_t **copies, int n_copies, int rows, int n,
                      const uint8_t *xq, int nb, float *y) {
    double best = 1e30;
    int reps = 1, c = 0;
    for (int tr = 0; tr < 7; tr++) {
        for (;;) {
            const double t0 = now();
            for (int i = 0; i < reps; i++, c = (c + 1) % n_copies)
                matmul_rows(t, copies[c], n, 0, rows, xq, nb, y, rows);
            const double dt = now() - t0;
            if (dt >= 0.01) {
                best = fmin(best, dt / reps * 1e6);
                break;
            }
            reps *= 2;
        }
    }
    return best;
}

/* Minimum over 40 alternating trials of the per-call time of the file
 * layout (t[0]) and split rows (t[1]); copies as in time_us. */
static void time_ab(const ggml_type ty[2], uint8_t **const copies[2], int n_copies, int rows, int n,
                    uint8_t *const xq[2], int nb, float *y, double t[2]) {
    const int reps = nb >= 16 ? 2 : 8;
    int c = 0;
    t[0] = t[1] = 1e30;
    for (int tr = 0; tr < 40; tr++)
        for (int v = 0; v < 2; v++) {
            const double t0 = now();
            for (int i = 0; i < reps; i++, c = (c + 1) % n_copies)
                matmul_rows(ty[v], copies[v][c], n, 0, rows, xq[v], nb, y, rows);
            t[v] = fmin(t[v], (now() - t0) / reps * 1e6);
        }
}

/* Split layout, hot weights: one call over all rows (t[0]) against calls of
 * 16 rows, the forward pass's matmul work item (t[1]); alternating, minimum
 * of 40. Per-call work (activation tables) shows up in the ratio. */
static void time_items(ggml_type t, const uint8_t *w, int rows, int n, const uint8_t *xq, int nb, float *y,
                       double out[2]) {
    out[0] = out[1] = 1e30;
    for (int tr = 0; tr < 40; tr++)
        for (int v = 0; v < 2; v++) {
            const double t0 = now();
            for (int r = 0; r < rows; r += v ? 16 : rows)
                matmul_rows(t, w, n, r, v && r + 16 < rows ? r + 16 : rows, xq, nb, y, rows);
            out[v] = fmin(out[v], (now() - t0) * 1e6);
        }
}

static int split_ab(FILE *js) {
    const ggml_type types[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0};
    const int shapes[][2] = {{768, 2048}, {2048, 768}}, batches[] = {1, 2, 4, 8, 16, 64};
    printf("file layout against split rows, alternating; us per call, single thread\n");
    printf("%-5s %-10s %3s %10s %10s %7s %10s %10s %7s %9s\n", "type", "rows x n", "k", "hot file",
           "hot split", "ratio", "strm file", "strm split", "ratio", "16-row/1");
    if (js) fprintf(js, "{\"split_ab\": [");
    int first = 1;
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < 2; si++) {
            const ggml_type ty[2] = {types[ti], kernels_split_type(types[ti], shapes[si][0], shapes[si][1])};
            const int rows = shapes[si][0], n = shapes[si][1];
            const size_t wbytes = row_bytes(ty[0], n) * rows;
            const int n_copies = (int)(STREAM_BYTES / wbytes) + 1;
            uint8_t **copies[2] = {malloc(sizeof(uint8_t *) * n_copies), malloc(sizeof(uint8_t *) * n_copies)};
            for (int c = 0; c < n_copies; c++) {
                copies[0][c] = malloc(wbytes);
                copies[1][c] = malloc(wbytes);
                fill_weights(ty[0], copies[0][c], rows, n);
                memcpy(copies[1][c], copies[0][c], wbytes);
                if (!kernels_split_rows(ty[0], copies[1][c], rows, n)) return 1;
            }
            /* each layout's activation rows, from the same floats */
            uint8_t *xq[2] = {malloc(act_bytes(ty[0], n) * 64), malloc(act_bytes(ty[1], n) * 64)};
            float *xf = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * rows * 64);
            for (int b = 0; b < 64; b++) {
                for (int i = 0; i < n; i++) xf[i] = frand();
                for (int v = 0; v < 2; v++) quantize_act(ty[v], xf, xq[v] + b * act_bytes(ty[v], n), n);
            }
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                double hot[2], cold[2], items[2];
                time_ab(ty, copies, 1, rows, n, xq, batches[bi], y, hot);
                time_ab(ty, copies, n_copies, rows, n, xq, batches[bi], y, cold);
                time_items(ty[1], copies[1][0], rows, n, xq[1], batches[bi], y, items);
                printf("%-5s %4dx%-5d %3d %10.1f %10.1f %7.2f %10.1f %10.1f %7.2f %9.2f\n",
                       ggml_type_name(ty[0]), rows, n, batches[bi], hot[0], hot[1], hot[0] / hot[1],
                       cold[0], cold[1], cold[0] / cold[1], items[1] / items[0]);
                if (js)
                    fprintf(js,
                            "%s\n  {\"type\": \"%s\", \"rows\": %d, \"n\": %d, \"n_batch\": %d, "
                            "\"hot_file_us\": %.2f, \"hot_split_us\": %.2f, \"stream_file_us\": %.2f, "
                            "\"stream_split_us\": %.2f, \"split_16_row_calls_us\": %.2f}",
                            first ? "" : ",", ggml_type_name(ty[0]), rows, n, batches[bi], hot[0],
                            hot[1], cold[0], cold[1], items[1]);
                first = 0;
            }
            for (int c = 0; c < n_copies; c++) free(copies[0][c]), free(copies[1][c]);
            free(copies[0]), free(copies[1]), free(xq[0]), free(xq[1]), free(xf), free(y);
        }
    if (js) {
        fprintf(js, "\n]}\n");
        fclose(js);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--split-ab") == 0) {
        kernels_init(-1);
        FILE *js = argc > 2 ? fopen(argv[2], "w") : NULL;
        if (argc > 2 && !js) {
            perror(argv[2]);
            return 1;
        }
        return split_ab(js);
    }
    /* Q8_0s and the x8 types: the split matrices the loader makes of Q8_0 / Q4_0 / Q4_K / Q6_K (kernels.h) */
    const ggml_type types[] = {GGML_TYPE_F32,        GGML_TYPE_F16,     GGML_TYPE_Q8_0,    GGML_TYPE_Q4_0,
                               GGML_TYPE_Q4_K,       GGML_TYPE_Q6_K,    WEFT_TYPE_Q8_0_SPLIT, WEFT_TYPE_Q4_0_X8,
                               WEFT_TYPE_Q8_0_X8,    WEFT_TYPE_Q4_K_X8, WEFT_TYPE_Q6_K_X8};
    const int shapes[][2] = {{768, 2048}, {2048, 768}}, batches[] = {1, 2, 4, 8, 16};
    const size_t n_types = sizeof types / sizeof types[0];
    /* an option where the JSON path goes, or a type that does not exist,
     * is a mistake: say so instead of writing a file named "--help" */
    bool usage = argc > 1 && argv[1][0] == '-';
    for (int a = 2; a < argc && !usage; a++) {
        bool known = false;
        for (size_t ti = 0; ti < n_types; ti++) known |= strcmp(argv[a], type_name(types[ti])) == 0;
        if (!known) fprintf(stderr, "bench_kernels: unknown type '%s'\n", argv[a]);
        usage = !known;
    }
    if (usage) {
        fprintf(stderr, "usage: bench_kernels [OUT.json [TYPE...]]   types:");
        for (size_t ti = 0; ti < n_types; ti++) fprintf(stderr, " %s", type_name(types[ti]));
        fprintf(stderr, "\n       bench_kernels --split-ab [OUT.json]\n");
        return 2;
    }
    const kernel_isa isa = kernels_init(-1);
    FILE *js = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (argc > 1 && !js) {
        perror(argv[1]);
        return 1;
    }
    if (js) fprintf(js, "{\"isa\": \"%s\", \"threads\": 1, \"results\": [", kernel_isa_name(isa));
    printf("isa %s, single thread; stream = weights from DRAM (%u MiB rotation)\n",
           kernel_isa_name(isa), STREAM_BYTES >> 20);
    printf("%-5s %-10s %3s %10s %8s %6s %10s %8s %6s\n", "type", "rows x n", "k", "hot us", "GB/s",
           "x k=1", "stream us", "GB/s", "x k=1");
    int first = 1;
    for (size_t ti = 0; ti < n_types; ti++) {
        const ggml_type t = types[ti];
        bool wanted = argc <= 2; /* argv[2..]: only these types */
        for (int a = 2; a < argc; a++) wanted |= strcmp(argv[a], type_name(t)) == 0;
        if (!wanted) continue;
        for (size_t si = 0; si < 2; si++) {
            const int rows = shapes[si][0], n = shapes[si][1];
            const size_t wbytes = row_bytes(t, n) * rows;
            const int n_copies = (int)(STREAM_BYTES / wbytes) + 1;
            uint8_t **copies = malloc(sizeof *copies * n_copies);
            for (int c = 0; c < n_copies; c++) {
                copies[c] = malloc(wbytes);
                fill_weights(t, copies[c], rows, n);
            }
            uint8_t *xq = malloc(act_bytes(t, n) * 16);
            float *xf = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * rows * 16);
            for (int b = 0; b < 16; b++) {
                for (int i = 0; i < n; i++) xf[i] = frand();
                quantize_act(t, xf, xq + b * act_bytes(t, n), n);
            }
            double hot1 = 0, cold1 = 0;
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                const int nb = batches[bi];
                const double hot = time_us(t, copies, 1, rows, n, xq, nb, y);
                const double cold = time_us(t, copies, n_copies, rows, n, xq, nb, y);
                if (nb == 1) hot1 = hot, cold1 = cold;
                printf("%-5s %4dx%-5d %3d %10.1f %8.2f %6.2f %10.1f %8.2f %6.2f\n",
                       type_name(t), rows, n, nb, hot, wbytes / hot * 1e-3, hot / hot1, cold,
                       wbytes / cold * 1e-3, cold / cold1);
                if (js)
                    fprintf(js,
                            "%s\n  {\"type\": \"%s\", \"rows\": %d, \"n\": %d, \"n_batch\": %d, "
                            "\"weight_bytes\": %zu, \"hot_us\": %.2f, \"hot_gbps\": %.3f, "
                            "\"hot_rel_k1\": %.3f, \"stream_us\": %.2f, \"stream_gbps\": %.3f, "
                            "\"stream_rel_k1\": %.3f}",
                            first ? "" : ",", type_name(t), rows, n, nb, wbytes, hot,
                            wbytes / hot * 1e-3, hot / hot1, cold, wbytes / cold * 1e-3,
                            cold / cold1);
                first = 0;
            }
            for (int c = 0; c < n_copies; c++) free(copies[c]);
            free(copies), free(xq), free(xf), free(y);
        }
    }
    if (js) {
        fprintf(js, "\n]}\n");
        fclose(js);
    }
    return 0;
}
