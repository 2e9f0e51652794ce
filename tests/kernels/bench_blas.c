/* Does OpenBLAS beat weft's own kernels for the F32/F16 products of a
 * prefill? One thread each (OpenBLAS pinned to 1 thread; weft's matmul is
 * split over the host's pool the same way either would be), hot weights,
 * n_batch rows of activations against a rows x n weight matrix:
 *   weft:  matmul_rows over all rows
 *   blas:  cblas_sgemm (F16 weights are converted to F32 first, per call,
 *          and that conversion is counted: a backend cannot keep an F32 copy
 *          of an F16 model without doubling its memory)
 * Prints a table; writes the same rows as JSON to argv[1] if given. This is
 * the measurement docs/performance.md cites for the OpenBLAS decision. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"

void openblas_set_num_threads(int n);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) {
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return (float)((double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1p-53 * 2.0 - 1.0);
}

typedef struct problem {
    ggml_type t;
    int rows, n, nb;
    const uint8_t *w; /* rows x n of type t */
    float *wf;        /* F32 scratch for the BLAS path */
    const float *x;   /* nb x n */
    float *y;         /* nb x rows */
} problem;

static void run_weft(const problem *p) { matmul_rows(p->t, p->w, p->n, 0, p->rows, p->x, p->nb, p->y, p->rows); }

static void run_blas(const problem *p) {
    const float *w = (const float *)p->w;
    if (p->t == GGML_TYPE_F16) {
        for (int r = 0; r < p->rows; r++)
            dequantize_row(p->t, p->w + row_bytes(p->t, p->n) * r, p->wf + (size_t)r * p->n, p->n);
        w = p->wf;
    }
    /* Y (nb x rows) = X (nb x n) * W^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->nb, p->rows, p->n, 1.0f, p->x, p->n, w,
                p->n, 0.0f, p->y, p->rows);
}

/* Minimum of 5 trials, each >= 20 ms of CPU time. */
static double time_us(void (*fn)(const problem *), const problem *p) {
    double best = 1e30;
    for (int tr = 0; tr < 5; tr++) {
        for (int reps = 1;; reps *= 2) {
            const double t0 = now();
            for (int i = 0; i < reps; i++) fn(p);
            const double dt = now() - t0;
            if (dt >= 0.02) {
                best = fmin(best, dt / reps * 1e6);
                break;
            }
        }
    }
    return best;
}

int main(int argc, char **argv) {
    openblas_set_num_threads(1);
    const kernel_isa isa = kernels_init(-1);
    const ggml_type types[] = {GGML_TYPE_F32, GGML_TYPE_F16};
    const int shapes[][2] = {{768, 2048}, {2048, 768}}, batches[] = {1, 4, 16, 64, 128, 512};
    FILE *js = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (argc > 1 && !js) return perror(argv[1]), 1;
    printf("isa %s, one thread, hot weights; GFLOP/s = 2 * rows * n * n_batch / time\n", kernel_isa_name(isa));
    printf("%-4s %-10s %5s %12s %12s %9s %9s %8s\n", "type", "rows x n", "batch", "weft us", "blas us",
           "weft GF/s", "blas GF/s", "blas/weft");
    if (js) fprintf(js, "{\"isa\": \"%s\", \"threads\": 1, \"results\": [", kernel_isa_name(isa));
    int first = 1;
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < 2; si++) {
            const ggml_type t = types[ti];
            const int rows = shapes[si][0], n = shapes[si][1], max_nb = 512;
            uint8_t *w = malloc(row_bytes(t, n) * rows);
            float *row = malloc(sizeof(float) * n), *wf = malloc(sizeof(float) * n * rows);
            float *x = malloc(sizeof(float) * n * max_nb), *y = malloc(sizeof(float) * rows * max_nb);
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < n; i++) row[i] = frand();
                quantize_row(t, row, w + row_bytes(t, n) * r, n);
            }
            for (int i = 0; i < n * max_nb; i++) x[i] = frand();
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                const problem p = {t, rows, n, batches[bi], w, wf, x, y};
                const double tw = time_us(run_weft, &p), tb = time_us(run_blas, &p);
                const double gf = 2.0 * rows * n * p.nb * 1e-3;
                printf("%-4s %4dx%-5d %5d %12.1f %12.1f %9.1f %9.1f %8.2f\n", ggml_type_name(t), rows, n, p.nb,
                       tw, tb, gf / tw, gf / tb, tb / tw);
                if (js)
                    fprintf(js,
                            "%s\n  {\"type\": \"%s\", \"rows\": %d, \"n\": %d, \"n_batch\": %d, \"weft_us\": %.1f, "
                            "\"blas_us\": %.1f}",
                            first ? "" : ",", ggml_type_name(t), rows, n, p.nb, tw, tb);
                first = 0;
            }
            free(w), free(row), free(wf), free(x), free(y);
        }
    if (js) fprintf(js, "\n]}\n"), fclose(js);
    return 0;
}
