/* F32 / F16 weights against float activations: a template for the x86
 * kernel files. The including file defines, then includes this:
 *
 *   FLOAT_CHAINS       accumulation chains per (row, batch row): 1 or 2
 *   FLOAT_SMALL_BATCH  up to this many batch rows, tiles are FLOAT_SMALL_R
 *   FLOAT_SMALL_R      rows by FLOAT_SMALL_BT batch rows (FLOAT_SMALL_R 1:
 *   FLOAT_SMALL_BT     one row at a time, a single weight stream)
 *   FLOAT_LARGE_MATMUL optional: a function (const mm_args *, r0, r1,
 *                      n_batch, is_f16) that takes batches over
 *                      FLOAT_SMALL_BATCH rows; it must give the same bits.
 *                      Without it, larger batches use these tiles:
 *   FLOAT_RB           rows per tile for larger batches
 *   FLOAT_BT           batch rows per tile for larger batches (3 or more)
 *   FLOAT_PREFETCH_F16 1: F16 tiles of several rows ask for their rows two
 *                      tiles ahead
 *
 * Result order: element chunk m (8 elements) of a row goes to chain
 * m % FLOAT_CHAINS; the chains are added, reduced, and the n % 8 tail added
 * in scalar. Every tile shape keeps that order, so within one ISA results do
 * not depend on the batch size or the split between threads. Two ISAs with
 * different FLOAT_CHAINS round differently (both within the reference
 * tolerance of tests/kernels).
 *
 * With FLOAT_CHAINS 2 a small tile is one row: two chains hide the FMA
 * latency and the row streams from memory as one sequential read. Tiles
 * of 2-4 rows read that many streams side by side, which Zen 4 delivered at
 * 12-13 GB/s where one stream gets 31-34 (docs/performance.md, "Float
 * weights one row at a time"). Large batches reuse each row across many
 * batch rows: the AVX2 file keeps 3 x 4 tiles here, the AVX-512 file its
 * own 512-bit tiles (FLOAT_LARGE_MATMUL). */
#ifndef WEFT_LLAMA_KERNELS_FLOAT_X86_H
#define WEFT_LLAMA_KERNELS_FLOAT_X86_H

#if FLOAT_CHAINS < 1 || FLOAT_CHAINS > 2
#error "FLOAT_CHAINS must be 1 or 2"
#endif

#ifdef FLOAT_LARGE_MATMUL /* only small tiles are built */
#define FLOAT_RB FLOAT_SMALL_R
#define FLOAT_BT FLOAT_SMALL_BT
#define FLOAT_PREFETCH_F16 0
#elif FLOAT_BT < 3 || FLOAT_SMALL_BT > FLOAT_BT
#error "FLOAT_BT must be 3 or more, and FLOAT_SMALL_BT at most FLOAT_BT"
#endif

#define FLOAT_MAX_R (FLOAT_SMALL_R > FLOAT_RB ? FLOAT_SMALL_R : FLOAT_RB)

ALWAYS_INLINE __m256 load_w8(const uint8_t *row, int64_t i, int is_f16) {
    return is_f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * i)))
                  : _mm256_loadu_ps((const float *)row + i);
}

ALWAYS_INLINE float load_w1(const uint8_t *row, int64_t i, int is_f16) {
    uint16_t h;
    float f;
    if (is_f16) {
        memcpy(&h, row + 2 * i, 2);
        return f16(h);
    }
    memcpy(&f, row + 4 * i, 4);
    return f;
}

/* Elements [k, k+8) of each row into chain c. */
ALWAYS_INLINE void float_chunk(const uint8_t *const *wr, const float *const *xr, int64_t k, const int R,
                               const int B, const int is_f16, __m256 acc[][FLOAT_BT][FLOAT_CHAINS],
                               const int c) {
    __m256 wv[FLOAT_MAX_R];
    for (int i = 0; i < R; i++) wv[i] = load_w8(wr[i], k, is_f16);
    for (int j = 0; j < B; j++) {
        const __m256 xv = _mm256_loadu_ps(xr[j] + k);
        for (int i = 0; i < R; i++) acc[i][j][c] = _mm256_fmadd_ps(wv[i], xv, acc[i][j][c]);
    }
}

/* Rows [r, r+R) against batch rows [b0, b0+B); R and B are compile-time
 * constants at each call, so the accumulators live in registers. */
ALWAYS_INLINE void float_tile(const mm_args *a, int64_t r, const int R, int b0, const int B,
                              const int is_f16) {
    __m256 acc[FLOAT_MAX_R][FLOAT_BT][FLOAT_CHAINS];
    const uint8_t *wr[FLOAT_MAX_R];
    const float *xr[FLOAT_BT];
    for (int i = 0; i < R; i++) wr[i] = a->w + (size_t)(r + i) * a->ws;
    for (int j = 0; j < B; j++) xr[j] = (const float *)(a->x + (size_t)(b0 + j) * a->xs);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++)
            for (int c = 0; c < FLOAT_CHAINS; c++) acc[i][j][c] = _mm256_setzero_ps();
    const int64_t n8 = a->n / 8 * 8, step = 8 * FLOAT_CHAINS;
    int64_t k = 0;
    for (; k + step <= n8; k += step) {
        /* F16 tiles: a line of each row two tiles ahead (one tile ahead
         * gained less, three the same); one row streams without it */
        if (FLOAT_PREFETCH_F16 && is_f16 && R > 1 && k % 32 == 0)
            for (int i = 0; i < R; i++) prefetch_line(wr[i] + 2 * R * a->ws + 2 * k);
        for (int c = 0; c < FLOAT_CHAINS; c++) float_chunk(wr, xr, k + 8 * c, R, B, is_f16, acc, c);
    }
    if (k < n8) float_chunk(wr, xr, k, R, B, is_f16, acc, 0); /* FLOAT_CHAINS 2: an odd last chunk */
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) {
            __m256 sum = acc[i][j][0];
            for (int c = 1; c < FLOAT_CHAINS; c++) sum = _mm256_add_ps(sum, acc[i][j][c]);
            float s = hsum_ps(sum);
            for (int64_t t = n8; t < a->n; t++) s += load_w1(wr[i], t, is_f16) * xr[j][t];
            a->y[(b0 + j) * a->ldy + r + i] = s;
        }
}

/* One row count RR (a constant) against B = 1 .. BMAX batch rows, each
 * B a constant, so only the shapes drive() can ask for are built. */
#define FLOAT_TILE_R(a, r, RR, b0, B, is_f16, BMAX)                                                \
    do {                                                                                           \
        if ((B) == 1)                                                                              \
            float_tile(a, r, RR, b0, 1, is_f16);                                                   \
        else if ((B) == 2 || (BMAX) == 2)                                                          \
            float_tile(a, r, RR, b0, 2, is_f16);                                                   \
        else if ((B) == 3)                                                                         \
            float_tile(a, r, RR, b0, 3, is_f16);                                                   \
        else                                                                                       \
            float_tile(a, r, RR, b0, BMAX, is_f16);                                                \
    } while (0)

/* The shapes drive() asks for: FLOAT_SMALL_R rows with up to
 * FLOAT_SMALL_BT batch rows, FLOAT_RB rows with up to FLOAT_BT, and one
 * row (small tiles or leftover rows) with up to FLOAT_BT. */
ALWAYS_INLINE void float_tiles(const mm_args *a, int64_t r, int R, int b0, int B, const int is_f16) {
    if (R == 1)
        FLOAT_TILE_R(a, r, 1, b0, B, is_f16, FLOAT_BT);
    else if (R == FLOAT_SMALL_R)
        FLOAT_TILE_R(a, r, FLOAT_SMALL_R, b0, B, is_f16, FLOAT_SMALL_BT);
#ifndef FLOAT_LARGE_MATMUL
    else
        FLOAT_TILE_R(a, r, FLOAT_RB, b0, B, is_f16, FLOAT_BT);
#endif
}

static void f32_tiles(const mm_args *a, int64_t r, int R, int b0, int B) { float_tiles(a, r, R, b0, B, 0); }
static void f16_tiles(const mm_args *a, int64_t r, int R, int b0, int B) { float_tiles(a, r, R, b0, B, 1); }

/* The including file's F32 and F16 entries for its kernel table. */
ALWAYS_INLINE void float_matmul(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                float *y, int64_t ldy, const int is_f16) {
    const ggml_type t = is_f16 ? GGML_TYPE_F16 : GGML_TYPE_F32;
    const mm_args a = {w, row_bytes(t, n), xq, act_bytes(t, n), n, y, ldy};
    const bool small = n_batch <= FLOAT_SMALL_BATCH;
#ifdef FLOAT_LARGE_MATMUL
    if (!small) {
        FLOAT_LARGE_MATMUL(&a, r0, r1, n_batch, is_f16);
        return;
    }
#endif
    drive(&a, r0, r1, n_batch, small ? FLOAT_SMALL_R : FLOAT_RB, small ? FLOAT_SMALL_BT : FLOAT_BT,
          is_f16 ? f16_tiles : f32_tiles);
}

static void float_matmul_f32(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                             float *y, int64_t ldy) {
    float_matmul(w, n, r0, r1, xq, n_batch, y, ldy, 0);
}

static void float_matmul_f16(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                             float *y, int64_t ldy) {
    float_matmul(w, n, r0, r1, xq, n_batch, y, ldy, 1);
}

#endif
