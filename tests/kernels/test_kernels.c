/* Tests of the llama backend CPU kernels: SIMD matmul against the scalar
 * reference, split invariance, quantization round trips, hand-built blocks,
 * K-quant decoding against a decoder written here from the layout, and fp16
 * conversion edge cases. */
#include <criterion/criterion.h>
#include <immintrin.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) { /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static float frand(void) { return (float)((double)(rnd() >> 11) * 0x1p-53 * 2.0 - 1.0); }

static void put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t get_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* (Every AVX2+FMA CPU has F16C; clang's builtin cannot ask for "f16c".) */
static bool cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* The AVX-512 table needs VNNI on 256-bit vectors (and BW for its loads). */
static bool cpu_has_avx512_vnni(void) {
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw");
}

static kernel_isa best_isa(void) {
    return cpu_has_avx512_vnni() ? KERNEL_AVX512 : cpu_has_avx2() ? KERNEL_AVX2 : KERNEL_SCALAR;
}

/* Asks for AVX-512, i.e. the best there is (a forced ISA ignores
 * $WEFT_KERNEL_ISA, so these tests test the SIMD path whatever the env). */
static void init_best(void) {
    const kernel_isa isa = kernels_init(KERNEL_AVX512);
    cr_assert_eq(isa, best_isa(), "best ISA %s but got %s", kernel_isa_name(best_isa()), kernel_isa_name(isa));
}

/* Runs `check` with each SIMD table this CPU can run, best first: the
 * AVX-512 table replaces some AVX2 kernels, and both must hold. */
static kernel_isa isa_under_test;
static void for_each_simd_isa(void (*check)(void)) {
    for (int isa = best_isa(); isa > KERNEL_SCALAR; isa--) {
        cr_assert_eq(kernels_init(isa), isa);
        isa_under_test = (kernel_isa)isa;
        check();
    }
    kernels_init(-1);
}
#define ISA kernel_isa_name(isa_under_test)

/* ---- independent K-quant decoders (from the layout description) ---------
 * Q4_K, 144 bytes: d (fp16) @0, dmin (fp16) @2, scales[12] @4, qs[128] @16.
 *   Sub-block j (elements 32j..32j+31) has a 6-bit scale sc_j and min m_j:
 *     j < 4 : sc_j = scales[j] & 63, m_j = scales[j+4] & 63
 *     j >= 4: sc_j = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4
 *             m_j  = (scales[j+4] >> 4) | (scales[j]   >> 6) << 4
 *   qs bytes 32c..32c+31 hold sub-block 2c in their low nibbles and 2c+1 in
 *   their high nibbles; value = d*sc_j*q - dmin*m_j.
 * mag[] receives |d*sc_j*q| + |dmin*m_j|, the size of the two terms. */
static void ref_decode_q4_K(const uint8_t *blk, float *out, float *mag) {
    const float d = fp16_to_fp32(get_u16(blk)), dmin = fp16_to_fp32(get_u16(blk + 2));
    const uint8_t *s = blk + 4, *qs = blk + 16;
    for (int j = 0; j < 8; j++) {
        int sc, m;
        if (j < 4) {
            sc = s[j] & 63;
            m = s[j + 4] & 63;
        } else {
            sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
            m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
        }
        for (int l = 0; l < 32; l++) {
            const uint8_t byte = qs[32 * (j / 2) + l];
            const int q = (j % 2 == 0) ? (byte & 15) : (byte >> 4);
            out[32 * j + l] = d * sc * q - dmin * m;
            if (mag) mag[32 * j + l] = fabsf(d * sc * q) + fabsf(dmin * m);
        }
    }
}

/* Q6_K, 210 bytes: ql[128] @0, qh[64] @128, scales[16] (int8) @192, d @208.
 *   Each half (128 elements) uses 64 ql bytes and 32 qh bytes; for l < 32:
 *     e = l      : low  nibble of ql[l],    qh[l] bits 0-1
 *     e = l + 32 : low  nibble of ql[l+32], qh[l] bits 2-3
 *     e = l + 64 : high nibble of ql[l],    qh[l] bits 4-5
 *     e = l + 96 : high nibble of ql[l+32], qh[l] bits 6-7
 *   value = d * scales[e/16] * (q - 32), with q = nibble | 2 bits << 4. */
static void ref_decode_q6_K(const uint8_t *blk, float *out) {
    const float d = fp16_to_fp32(get_u16(blk + 208));
    const int8_t *sc = (const int8_t *)(blk + 192);
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
        float *y = out + 128 * h;
        for (int l = 0; l < 32; l++) {
            const int q[4] = {(ql[l] & 15) | ((qh[l] >> 0) & 3) << 4,
                              (ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4,
                              (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4,
                              (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4};
            for (int k = 0; k < 4; k++) {
                const int e = 128 * h + l + 32 * k;
                y[l + 32 * k] = d * sc[e / 16] * (q[k] - 32);
            }
        }
    }
}

/* ---- random weights and activations ---------------------------------------- */

static int blck(ggml_type t) {
    t = kernels_file_type(t);
    return (t == GGML_TYPE_Q4_K || t == GGML_TYPE_Q6_K)   ? 256
           : (t == GGML_TYPE_Q8_0 || t == GGML_TYPE_Q4_0) ? 32
                                                          : 1;
}

static const char *type_name(ggml_type t) {
    return t == WEFT_TYPE_Q8_0_SPLIT   ? "Q8_0 split"
           : t == WEFT_TYPE_Q4_0_X8    ? "Q4_0 x8"
           : t == WEFT_TYPE_Q8_0_X8    ? "Q8_0 x8"
           : t == WEFT_TYPE_Q4_K_X8    ? "Q4_K x8"
           : t == WEFT_TYPE_Q6_K_X8    ? "Q6_K x8"
                                       : ggml_type_name(t);
}

/* Rows of n elements; the float types and Q8_0/Q4_0 go through quantize_row
 * with a different magnitude per row, K-quants are random bytes with sane
 * super-block scales (every bit pattern of the rest is a valid block). */
static uint8_t *make_weights(ggml_type t, int rows, int n) {
    const size_t rb = row_bytes(t, n);
    uint8_t *w = malloc(rb * rows);
    cr_assert(w);
    if (t == WEFT_TYPE_Q4_K_X8 || t == WEFT_TYPE_Q6_K_X8) {
        uint8_t *f = make_weights(kernels_file_type(t), rows, n);
        memcpy(w, f, rb * rows);
        free(f);
        cr_assert(kernels_split_rows(kernels_file_type(t), w, rows, n));
        return w;
    }
    if (t == GGML_TYPE_Q4_K || t == GGML_TYPE_Q6_K) {
        for (size_t i = 0; i < rb * rows; i++) w[i] = (uint8_t)rnd();
        for (size_t b = 0; b < rb * rows / (t == GGML_TYPE_Q4_K ? 144 : 210); b++) {
            if (t == GGML_TYPE_Q4_K) {
                put_u16(w + 144 * b, fp32_to_fp16(0.001f + 0.01f * fabsf(frand())));
                put_u16(w + 144 * b + 2, fp32_to_fp16(0.001f + 0.01f * fabsf(frand())));
            } else {
                put_u16(w + 210 * b + 208, fp32_to_fp16(0.0005f + 0.005f * fabsf(frand())));
            }
        }
        return w;
    }
    float *f = malloc(sizeof(float) * n);
    const ggml_type ft = kernels_file_type(t);
    for (int r = 0; r < rows; r++) {
        const float scale = r == 3 ? 0.0f : powf(10.0f, 2.0f * frand()); /* row 3: all zero */
        for (int i = 0; i < n; i++) f[i] = scale * frand();
        quantize_row(ft, f, w + r * rb, n);
    }
    if (ft != t) {
        cr_assert_eq(kernels_split_type(ft, rows, n), t);
        cr_assert(kernels_split_rows(ft, w, rows, n));
    }
    free(f);
    return w;
}

/* n_batch random rows of n floats, each at its own scale */
static float *make_floats(int n_batch, int n) {
    float *f = malloc(sizeof(float) * n * n_batch);
    for (int b = 0; b < n_batch; b++) {
        const float scale = powf(10.0f, frand());
        for (int i = 0; i < n; i++) f[b * n + i] = scale * frand();
    }
    return f;
}

static uint8_t *quantize_acts(ggml_type wt, const float *f, int n_batch, int n) {
    const size_t xs = act_bytes(wt, n);
    uint8_t *x = malloc(xs * n_batch);
    for (int b = 0; b < n_batch; b++) quantize_act(wt, f + b * n, x + b * xs, n);
    return x;
}

static uint8_t *make_acts(ggml_type wt, int n_batch, int n) {
    float *f = make_floats(n_batch, n);
    uint8_t *x = quantize_acts(wt, f, n_batch, n);
    free(f);
    return x;
}

static bool is_x8_0(ggml_type t) { return t == WEFT_TYPE_Q4_0_X8 || t == WEFT_TYPE_Q8_0_X8; }

/* Element e of an activation row for Q4_0_X8 / Q8_0_X8 weights (kernels.h:
 * 40-byte blocks of 32 quants, the float scale, the offset sum). */
static float x8_act_value(const uint8_t *xq, int e) {
    const uint8_t *blk = xq + 40 * (e / 32);
    float d;
    memcpy(&d, blk + 32, 4);
    return d * (float)(int8_t)blk[e % 32];
}

/* |weight| per element of row r, from the decoder above for K-quants. */
static void weight_mags(ggml_type t, const uint8_t *w, int r, int n, float *mag) {
    if (t == GGML_TYPE_Q4_K) {
        const uint8_t *row = w + (size_t)r * row_bytes(t, n);
        float tmp[256];
        for (int i = 0; i < n / 256; i++) ref_decode_q4_K(row + 144 * i, tmp, mag + 256 * i);
        return;
    }
    dequantize_matrix_row(t, w, r, n, mag);
    for (int i = 0; i < n; i++) mag[i] = fabsf(mag[i]);
}

static void act_values(ggml_type wt, const uint8_t *xq, int n, float *out) {
    if (is_x8_0(wt)) {
        for (int e = 0; e < n; e++) out[e] = x8_act_value(xq, e);
        return;
    }
    wt = kernels_file_type(wt);
    if (wt == GGML_TYPE_Q8_0 || wt == GGML_TYPE_Q4_0)
        dequantize_row(GGML_TYPE_Q8_0, xq, out, n);
    else if (wt == GGML_TYPE_Q4_K || wt == GGML_TYPE_Q6_K)
        dequantize_row(GGML_TYPE_Q8_K, xq, out, n);
    else
        memcpy(out, xq, sizeof(float) * n);
}

/* BF16 has no SIMD kernel (matmul_rows falls back to the reference); it is
 * here so that fallback is exercised too. */
static const ggml_type all_types[] = {GGML_TYPE_F32,        GGML_TYPE_F16,
                                      GGML_TYPE_Q8_0,       GGML_TYPE_Q4_0,
                                      GGML_TYPE_Q4_K,       GGML_TYPE_Q6_K,
                                      GGML_TYPE_BF16,       WEFT_TYPE_Q8_0_SPLIT,
                                      WEFT_TYPE_Q4_0_X8,    WEFT_TYPE_Q8_0_X8,
                                      WEFT_TYPE_Q4_K_X8,    WEFT_TYPE_Q6_K_X8};
#define N_TYPES (int)(sizeof all_types / sizeof all_types[0])
static const int batches[] = {1, 2, 3, 4, 5, 8, 16, 17};
#define N_BATCHES (int)(sizeof batches / sizeof batches[0])

static int sizes_for(ggml_type t, int *out) {
    if (blck(t) == 256) {
        out[0] = 256, out[1] = 768, out[2] = 2048;
        return 3;
    }
    if (t != kernels_file_type(t)) { /* split: 3 blocks, and 10: a short last 8 */
        out[0] = 96, out[1] = 320, out[2] = 768, out[3] = 2048;
        return 4;
    }
    if (blck(t) == 32) {
        out[0] = 32, out[1] = 96, out[2] = 768, out[3] = 2048;
        return 4;
    }
    /* 7, 125: not multiples of 8; 125 has an odd number of 8-element chunks */
    out[0] = 7, out[1] = 125, out[2] = 768, out[3] = 2048;
    return 4;
}

/* ---- SIMD matmul == reference ---------------------------------------------
 * Tolerance: both paths form the same terms (per element for F32/F16, per
 * block integer dot times scales for the quantized types; the integer parts
 * are exact) and differ only in the order of the float additions. Any order
 * of summing m terms t_i has error <= (m-1) u sum|t_i| (u = FLT_EPSILON/2),
 * and forming each term costs a few more roundings, so the two results differ
 * by at most about 2 (m+2) u S = (m+2) FLT_EPSILON S, S = sum |w_i| |x_i|.
 * We allow (m+4) FLT_EPSILON S, m = elements for float types, 2 * blocks for
 * quantized ones (the Q4_K term has two parts). A real bug (a lost or
 * doubled block) is orders of magnitude larger. */

/* 37 rows: 4- and 2-row tiles, leftovers, a 16-row block boundary; the X8
 * types need whole groups of 8, and 40 rows give 5 of them. */
static int rows_for(ggml_type t) { return kernels_file_type(t) != t && t != WEFT_TYPE_Q8_0_SPLIT ? 40 : 37; }
#define MAX_ROWS 40
#define LDY_PAD 3
#define SENTINEL -12345.0f

static void simd_matches_reference(void) {
    for (int ti = 0; ti < N_TYPES; ti++) {
        const ggml_type t = all_types[ti];
        const int ROWS = rows_for(t);
        int ns[4];
        const int nn = sizes_for(t, ns);
        for (int si = 0; si < nn; si++) {
            const int n = ns[si];
            uint8_t *w = make_weights(t, ROWS, n);
            float *wmag = malloc(sizeof(float) * n), *xv = malloc(sizeof(float) * n);
            for (int bi = 0; bi < N_BATCHES; bi++) {
                const int nb = batches[bi], ldy = ROWS + LDY_PAD;
                uint8_t *x = make_acts(t, nb, n);
                float *ys = malloc(sizeof(float) * ldy * nb),
                      *yr = malloc(sizeof(float) * ldy * nb);
                for (int i = 0; i < ldy * nb; i++) ys[i] = yr[i] = SENTINEL;
                matmul_rows(t, w, n, 0, ROWS, x, nb, ys, ldy);
                matmul_rows_ref(t, w, n, 0, ROWS, x, nb, yr, ldy);
                const double m = blck(t) == 1 ? n : 2.0 * n / blck(t);
                for (int b = 0; b < nb; b++) {
                    act_values(t, x + b * act_bytes(t, n), n, xv);
                    for (int r = 0; r < ROWS; r++) {
                        weight_mags(t, w, r, n, wmag);
                        double S = 0;
                        for (int i = 0; i < n; i++) S += (double)wmag[i] * fabsf(xv[i]);
                        const double tol = (m + 4) * FLT_EPSILON * S;
                        const float a = ys[b * ldy + r], e = yr[b * ldy + r];
                        /* K-quant X8 kernels form the reference's integers
                         * and float steps: the same bits */
                        if (t == WEFT_TYPE_Q4_K_X8 || t == WEFT_TYPE_Q6_K_X8)
                            cr_assert(memcmp(&a, &e, sizeof a) == 0, "%s %s n=%d batch=%d/%d row=%d: %.9g != %.9g",
                                      ISA, type_name(t), n, b, nb, r, a, e);
                        cr_assert(fabs((double)a - e) <= tol,
                                  "%s %s n=%d batch=%d/%d row=%d: simd %.9g ref %.9g (tol %.3g)", ISA,
                                  type_name(t), n, b, nb, r, a, e, tol);
                    }
                    for (int r = ROWS; r < ldy; r++)
                        cr_assert_eq(ys[b * ldy + r], SENTINEL, "%s %s wrote outside [r0,r1)", ISA,
                                     type_name(t));
                }
                free(x), free(ys), free(yr);
            }
            free(w), free(wmag), free(xv);
        }
    }
}

Test(kernels, matmul_simd_matches_reference) { for_each_simd_isa(simd_matches_reference); }

/* The AVX-512 X8 and K-quant kernels form the AVX2 ones' integer dots and
 * float steps: their results must be the same bits, at every batch size. */
Test(kernels, avx512_is_avx2_bit_for_bit) {
    if (best_isa() < KERNEL_AVX512) cr_skip_test("no AVX-512 VNNI");
    const ggml_type types[] = {WEFT_TYPE_Q4_0_X8, WEFT_TYPE_Q8_0_X8, WEFT_TYPE_Q4_K_X8, WEFT_TYPE_Q6_K_X8,
                               GGML_TYPE_Q4_K,    GGML_TYPE_Q6_K};
    for (int ti = 0; ti < 6; ti++) {
        const ggml_type t = types[ti];
        const int ROWS = rows_for(t), maxb = 17;
        int ns[4];
        const int nn = sizes_for(t, ns);
        for (int si = 0; si < nn; si++) {
            const int n = ns[si];
            uint8_t *w = make_weights(t, ROWS, n), *x = make_acts(t, maxb, n);
            float *y2 = malloc(sizeof(float) * ROWS * maxb), *y5 = malloc(sizeof(float) * ROWS * maxb);
            for (int nb = 1; nb <= maxb; nb++) {
                kernels_init(KERNEL_AVX2);
                matmul_rows(t, w, n, 0, ROWS, x, nb, y2, ROWS);
                kernels_init(KERNEL_AVX512);
                matmul_rows(t, w, n, 0, ROWS, x, nb, y5, ROWS);
                cr_assert(memcmp(y2, y5, sizeof(float) * ROWS * nb) == 0, "%s n=%d batch=%d", type_name(t), n,
                          nb);
            }
            free(w), free(x), free(y2), free(y5);
        }
    }
    kernels_init(-1);
}

/* The scalar table must be the reference itself; asking for an ISA gives
 * the best available up to it. */
Test(kernels, scalar_isa_is_reference) {
    cr_assert_eq(kernels_init(KERNEL_AVX512), best_isa());
    cr_assert_eq(kernels_init(KERNEL_AVX2), cpu_has_avx2() ? KERNEL_AVX2 : KERNEL_SCALAR);
    cr_assert_eq(kernels_init(KERNEL_SCALAR), KERNEL_SCALAR);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const ggml_type t = all_types[ti];
        const int ROWS = rows_for(t);
        const int n = 512, nb = 3;
        uint8_t *w = make_weights(t, ROWS, n), *x = make_acts(t, nb, n);
        float ys[MAX_ROWS * 3], yr[MAX_ROWS * 3];
        matmul_rows(t, w, n, 0, ROWS, x, nb, ys, ROWS);
        matmul_rows_ref(t, w, n, 0, ROWS, x, nb, yr, ROWS);
        cr_assert(memcmp(ys, yr, sizeof(float) * ROWS * nb) == 0, "%s", type_name(t));
        free(w), free(x);
    }
    kernels_init(-1);
}

/* Results must not depend on how [r0, r1) is split across calls (threads). */
static void split_invariant(void) {
    /* the last bound is the row count; X8 splits cut groups of 8 */
    const int splits[][4] = {{1, 2, 3, 0}, {5, 16, 17, 0}, {4, 20, 33, 0}, {36, 37, 37, 0}};
    for (int ti = 0; ti < N_TYPES; ti++) {
        const ggml_type t = all_types[ti];
        const int ROWS = rows_for(t);
        const int n = 768;
        for (int bi = 0; bi < N_BATCHES; bi++) {
            const int nb = batches[bi];
            uint8_t *w = make_weights(t, ROWS, n), *x = make_acts(t, nb, n);
            float *full = malloc(sizeof(float) * ROWS * nb),
                  *part = malloc(sizeof(float) * ROWS * nb);
            matmul_rows(t, w, n, 0, ROWS, x, nb, full, ROWS);
            for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
                int64_t r0 = 0;
                for (int k = 0; k < 4; k++) {
                    const int r1 = k == 3 ? ROWS : splits[s][k];
                    matmul_rows(t, w, n, r0, r1, x, nb, part, ROWS);
                    r0 = r1;
                }
                cr_assert(memcmp(full, part, sizeof(float) * ROWS * nb) == 0,
                          "%s %s batch %d split %zu", ISA, type_name(t), nb, s);
            }
            for (int r = 0; r < ROWS; r++) matmul_rows(t, w, n, r, r + 1, x, nb, part, ROWS);
            cr_assert(memcmp(full, part, sizeof(float) * ROWS * nb) == 0, "%s %s batch %d per-row",
                      ISA, type_name(t), nb);
            free(w), free(x), free(full), free(part);
        }
    }
}

Test(kernels, matmul_split_invariant) { for_each_simd_isa(split_invariant); }

/* Each batch row of an n_batch call must equal, bit for bit, the same row
 * computed alone (n_batch = 1): the tile shape a pair lands in, and whether
 * the call takes the decode or the batched path, must not change it. */
static void batch_invariant(void) {
    /* 25, 50: past a batch block of the blocked float path (FZ_BB) */
    const int nbs[] = {2, 3, 4, 5, 7, 8, 9, 16, 17, 25, 50};
    for (int ti = 0; ti < 2 * N_TYPES; ti++) {
        const ggml_type t = all_types[ti % N_TYPES];
        const int ROWS = rows_for(t);
        /* second pass, float types: three k blocks of the blocked path, an
         * odd last 8-element chunk and a scalar tail */
        const bool is_float = t == GGML_TYPE_F32 || t == GGML_TYPE_F16;
        if (ti >= N_TYPES && !is_float) continue;
        const int n = ti < N_TYPES ? 768 : 1149, maxb = 50;
        uint8_t *w = make_weights(t, ROWS, n), *x = make_acts(t, maxb, n);
        float *one = malloc(sizeof(float) * ROWS * maxb), *many = malloc(sizeof(float) * ROWS * maxb);
        for (int b = 0; b < maxb; b++)
            matmul_rows(t, w, n, 0, ROWS, x + b * act_bytes(t, n), 1, one + b * ROWS, ROWS);
        for (size_t bi = 0; bi < sizeof nbs / sizeof nbs[0]; bi++) {
            const int nb = nbs[bi];
            for (int b0 = 0; b0 + nb <= maxb; b0 += nb) {
                matmul_rows(t, w, n, 0, ROWS, x + b0 * act_bytes(t, n), nb, many, ROWS);
                cr_assert(memcmp(many, one + b0 * ROWS, sizeof(float) * ROWS * nb) == 0,
                          "%s %s n_batch %d from %d", ISA, type_name(t), nb, b0);
            }
        }
        free(w), free(x), free(one), free(many);
    }
}

Test(kernels, matmul_batch_invariant) { for_each_simd_isa(batch_invariant); }

/* Split matrices (kernels.h): the documented byte layouts, the same values,
 * and the same reference products as the file layout. */
Test(kernels, split_rows_keep_the_values) {
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q8_0, 3, 96), WEFT_TYPE_Q8_0_SPLIT);
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q8_0, 16, 96), WEFT_TYPE_Q8_0_X8);
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q4_0, 16, 96), WEFT_TYPE_Q4_0_X8);
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q4_0, 12, 96), GGML_TYPE_Q4_0, "not whole groups of 8");
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q4_K, 8, 256), WEFT_TYPE_Q4_K_X8);
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q4_K, 12, 256), GGML_TYPE_Q4_K, "not whole groups of 8");
    cr_assert_eq(kernels_file_type(WEFT_TYPE_Q4_K_X8), GGML_TYPE_Q4_K);
    cr_assert_eq(row_bytes(WEFT_TYPE_Q4_K_X8, 512), row_bytes(GGML_TYPE_Q4_K, 512));
    cr_assert_eq(act_bytes(WEFT_TYPE_Q4_K_X8, 512), act_bytes(GGML_TYPE_Q4_K, 512));
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q6_K, 16, 256), WEFT_TYPE_Q6_K_X8);
    cr_assert_eq(kernels_split_type(GGML_TYPE_Q6_K, 9, 256), GGML_TYPE_Q6_K, "not whole groups of 8");
    cr_assert_eq(kernels_file_type(WEFT_TYPE_Q6_K_X8), GGML_TYPE_Q6_K);
    cr_assert_eq(row_bytes(WEFT_TYPE_Q6_K_X8, 512), row_bytes(GGML_TYPE_Q6_K, 512));
    cr_assert_eq(kernels_file_type(WEFT_TYPE_Q4_0_X8), GGML_TYPE_Q4_0);
    cr_assert_eq(row_bytes(WEFT_TYPE_Q4_0_X8, 320), row_bytes(GGML_TYPE_Q4_0, 320));
    cr_assert_eq(kernels_file_type(WEFT_TYPE_Q8_0_X8), GGML_TYPE_Q8_0);
    cr_assert_eq(row_bytes(WEFT_TYPE_Q8_0_X8, 320), row_bytes(GGML_TYPE_Q8_0, 320));
    /* Q8_0 in 15 rows (split rows), then in 16 (X8), Q4_0 in 16 (X8) */
    const ggml_type types[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0};
    for (int ti = 0; ti < 3; ti++) {
        const int n = 352, rows = ti == 0 ? 15 : 16, nb = n / 32, nbatch = 3; /* 11 blocks: a last odd one */
        const ggml_type ft = types[ti], st = kernels_split_type(ft, rows, n);
        cr_assert_eq(st, ti == 0 ? WEFT_TYPE_Q8_0_SPLIT : ti == 1 ? WEFT_TYPE_Q8_0_X8 : WEFT_TYPE_Q4_0_X8);
        const size_t rb = row_bytes(ft, n), bs = ft == GGML_TYPE_Q8_0 ? 34 : 18;
        uint8_t *w = make_weights(ft, rows, n), *sw = malloc(rb * rows);
        memcpy(sw, w, rb * rows);
        cr_assert(kernels_split_rows(ft, sw, rows, n));
        float a[352], b[352];
        for (int r = 0; r < rows; r++) {
            const uint8_t *row = w + r * rb;
            dequantize_row(ft, row, a, n);
            dequantize_matrix_row(st, sw, r, n, b);
            cr_assert(memcmp(a, b, sizeof a) == 0, "%s row %d", type_name(st), r);
            /* where the layout comment in kernels.h says each byte is */
            const uint8_t *group = sw + (r / 8) * 8 * rb;
            for (int k = 0; k < nb; k++) {
                /* X8 blocks in pairs: 2 x 16 scale bytes, 2 x the quants (a last odd one: 16, the quants) */
                const int qb = st == WEFT_TYPE_Q8_0_X8 ? 256 : 128, pair = (k / 2) * 2 * (16 + qb);
                const int sat = pair + 16 * (k % 2), qat = k == nb - 1 && nb % 2 ? pair + 16 : pair + 32 + qb * (k % 2);
                const uint8_t *scale = st == WEFT_TYPE_Q8_0_SPLIT ? sw + r * rb + 2 * k : group + sat + 2 * (r % 8);
                cr_assert(memcmp(scale, row + bs * k, 2) == 0, "%s scale %d", type_name(st), k);
                for (int e = 0; e < 32; e++) {
                    if (st == WEFT_TYPE_Q8_0_SPLIT) {
                        cr_assert_eq((int8_t)sw[r * rb + 2 * nb + 32 * k + e], (int8_t)row[bs * k + 2 + e]);
                        continue;
                    }
                    if (st == WEFT_TYPE_Q8_0_X8) {
                        const uint8_t q = group[qat + 32 * (e / 4) + 4 * (r % 8) + e % 4];
                        cr_assert_eq(q, (uint8_t)(row[bs * k + 2 + e] + 128), "row %d block %d element %d", r, k, e);
                        continue;
                    }
                    const uint8_t fb = row[bs * k + 2 + (e & 15)];
                    const int q = e < 16 ? fb & 0xF : fb >> 4;
                    const uint8_t xq = group[qat + 32 * (e / 8) + 4 * (r % 8) + e % 4];
                    cr_assert_eq((e / 4) & 1 ? xq >> 4 : xq & 0xF, q, "row %d block %d element %d", r, k, e);
                }
            }
        }
        /* the same floats through both layouts' references */
        float *f = make_floats(nbatch, n);
        uint8_t *xs = quantize_acts(st, f, nbatch, n), *x = quantize_acts(ft, f, nbatch, n);
        free(f);
        float ya[16 * 3] = {0}, yb[16 * 3] = {0};
        matmul_rows_ref(ft, w, n, 0, rows, x, nbatch, ya, rows);
        matmul_rows_ref(st, sw, n, 0, rows, xs, nbatch, yb, rows);
        cr_assert(memcmp(ya, yb, sizeof ya) == 0, "%s reference", type_name(st));
        free(w), free(sw), free(x), free(xs);
    }
    /* a -128 quant (never written by ggml's quantizer) keeps the file layout
     * where the split-row kernels may negate it; X8 rows hold it as 0 */
    uint8_t *w = make_weights(GGML_TYPE_Q8_0, 3, 64), copy[3 * 68];
    w[68 + 34 + 2 + 5] = 0x80;
    memcpy(copy, w, sizeof copy);
    cr_assert_not(kernels_split_rows(GGML_TYPE_Q8_0, w, 3, 64));
    cr_assert(memcmp(w, copy, sizeof copy) == 0);
    free(w);
    uint8_t *w8 = make_weights(GGML_TYPE_Q8_0, 8, 64);
    w8[68 + 34 + 2 + 5] = 0x80;
    float want[64], got[64];
    dequantize_row(GGML_TYPE_Q8_0, w8 + 68, want, 64);
    cr_assert(kernels_split_rows(GGML_TYPE_Q8_0, w8, 8, 64));
    dequantize_matrix_row(WEFT_TYPE_Q8_0_X8, w8, 1, 64, got);
    cr_assert(memcmp(want, got, sizeof want) == 0 && got[32 + 5] < 0.0f, "-128 in a Q8_0 x8 row");
    free(w8);
}

/* Q4_K_X8 and Q6_K_X8: the layouts kernels.h documents, the same values
 * and the same reference products as the file layout. */
static void k_x8_layout(const uint8_t *fb, const uint8_t *sb, int l, bool q4, int r) {
    if (q4) {
        cr_assert(memcmp(sb + 2 * l, fb, 2) == 0 && memcmp(sb + 16 + 2 * l, fb + 2, 2) == 0, "row %d d, dmin", r);
        for (int i = 0; i < 12; i++) cr_assert_eq(sb[32 + 8 * i + l], fb[4 + i], "row %d scale byte %d", r, i);
    } else {
        cr_assert(memcmp(sb + 2 * l, fb + 208, 2) == 0, "row %d d", r);
        for (int j = 0; j < 16; j++) cr_assert_eq(sb[16 + 8 * j + l], fb[192 + j], "row %d scale %d", r, j);
    }
    for (int c = 0; c < 8; c++)
        for (int e = 0; e < 32; e++) {
            const int i = 32 * c + e; /* element of the super-block */
            int q;
            if (q4) {
                q = (fb[16 + 32 * (c / 2) + e] >> (4 * (c & 1))) & 0xF;
            } else { /* ggml's Q6_K: ql, qh halves of 128 elements */
                const int h = i / 128, k = i % 128 / 32;
                q = ((fb[64 * h + e + 32 * (k & 1)] >> (4 * (k >> 1))) & 0xF) | ((fb[128 + 32 * h + e] >> (2 * k)) & 3) << 4;
            }
            const uint8_t *chunk = q4 ? sb + 128 + 128 * c : sb + 144 + 192 * c;
            const uint8_t nb = chunk[32 * (e / 8) + 4 * l + e % 4];
            int got = (e / 4) & 1 ? nb >> 4 : nb & 0xF;
            if (!q4) got |= ((chunk[128 + 32 * (e / 16) + 4 * l + e % 4] >> (2 * (e / 4 % 4))) & 3) << 4;
            cr_assert_eq(got, q, "row %d element %d", r, i);
        }
}

Test(kernels, k_quant_x8_keeps_the_values) {
    enum { ROWS = 16, N = 512, NBATCH = 3 };
    for (int q4 = 0; q4 < 2; q4++) {
        const ggml_type ft = q4 ? GGML_TYPE_Q4_K : GGML_TYPE_Q6_K, st = kernels_split_type(ft, ROWS, N);
        const size_t rb = row_bytes(ft, N), bb = q4 ? 144 : 210;
        uint8_t *w = make_weights(ft, ROWS, N), *sw = malloc(rb * ROWS);
        memcpy(sw, w, rb * ROWS);
        cr_assert(kernels_split_rows(ft, sw, ROWS, N));
        float a[N], b[N];
        for (int r = 0; r < ROWS; r++) {
            dequantize_row(ft, w + r * rb, a, N);
            dequantize_matrix_row(st, sw, r, N, b);
            cr_assert(memcmp(a, b, sizeof a) == 0, "%s row %d", type_name(st), r);
            for (int k = 0; k < N / 256; k++)
                k_x8_layout(w + r * rb + bb * k, sw + (r / 8) * 8 * rb + 8 * bb * k, r % 8, q4, r);
        }
        uint8_t *x = make_acts(ft, NBATCH, N);
        float ya[ROWS * NBATCH], yb[ROWS * NBATCH];
        matmul_rows_ref(ft, w, N, 0, ROWS, x, NBATCH, ya, ROWS);
        matmul_rows_ref(st, sw, N, 0, ROWS, x, NBATCH, yb, ROWS);
        cr_assert(memcmp(ya, yb, sizeof ya) == 0, "%s reference", type_name(st));
        free(w), free(sw), free(x);
    }
}

/* ---- quantization round trips ------------------------------------------------ */

/* Q8_0: d = amax/127 is stored as D = fp16(d), q = round(x/d), |q| <= 127, so
 * |x - D q| <= |x - d q| + |q| |d - D| <= d/2 + 127 d 2^-11 (fp16 rounds with
 * relative error <= 2^-11 for normal d; the data keeps d normal). */
Test(kernels, q8_0_round_trip) {
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t q[N / 32 * 34];
    for (int i = 0; i < N; i++) x[i] = powf(10.0f, 2.0f * frand()) * frand();
    quantize_row(GGML_TYPE_Q8_0, x, q, N);
    dequantize_row(GGML_TYPE_Q8_0, q, y, N);
    for (int b = 0; b < N / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
        const float d = amax / 127.0f, bound = d * (0.5f + 127.0f / 2048.0f) * (1 + 1e-5f);
        for (int j = 0; j < 32; j++)
            cr_assert(fabsf(x[32 * b + j] - y[32 * b + j]) <= bound, "block %d elem %d: %g vs %g",
                      b, j, x[32 * b + j], y[32 * b + j]);
    }
}

/* Q4_0: d = max / -8 for the signed value of largest magnitude, q = min(15,
 * floor(x/d + 8.5)); x/d lies in [-8, 8], so |x/d - (q-8)| <= 1/2 except that
 * x/d > 7.5 clamps to 7 (error up to 1). With D = fp16(d) and |q-8| <= 8:
 * |x - D (q-8)| <= |d| (1/2 or 1) + 8 |d| 2^-11. */
Test(kernels, q4_0_round_trip) {
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t q[N / 32 * 18];
    for (int i = 0; i < N; i++) x[i] = powf(10.0f, 2.0f * frand()) * frand();
    quantize_row(GGML_TYPE_Q4_0, x, q, N);
    dequantize_row(GGML_TYPE_Q4_0, q, y, N);
    for (int b = 0; b < N / 32; b++) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (fabsf(x[32 * b + j]) > amax) amax = fabsf(x[32 * b + j]), max = x[32 * b + j];
        const float d = max / -8.0f;
        for (int j = 0; j < 32; j++) {
            const float v = x[32 * b + j], rel = v / d;
            const float bound =
                fabsf(d) * ((rel > 7.5f ? 1.0f : 0.5f) + 8.0f / 2048.0f) * (1 + 1e-5f);
            cr_assert(fabsf(v - y[32 * b + j]) <= bound, "block %d elem %d: %g vs %g", b, j, v,
                      y[32 * b + j]);
        }
    }
}

/* Q4_K (simple quantizer): per sub-block of 32, step = (max - min')/15 with
 * min' = min(0, min x); the stored step' = d*sc >= step and offset
 * dmin*m >= -min' are rounded up, d <= max step/63 * (1 + 2^-10) and
 * dmin <= max(-min')/63 * (1 + 2^-10) (fp16 rounded up). Rounding gives
 * error <= step'/2; only the top can clamp, by at most dmin*m + min' < dmin.
 * Q6_K: step = amax/31 per 16, step' = d*sc in [step, step + d], no clamping,
 * error <= step'/2. Slack 1e-6 * amax for float rounding. */
Test(kernels, k_quant_round_trip) {
    enum { N = 2048 };
    static float x[N], y[N];
    static uint8_t q[N / 256 * 210];
    for (int i = 0; i < N; i++)
        x[i] = powf(10.0f, frand()) * frand() + (i % 512 < 64 ? 0.7f : 0.0f);
    for (int i = 1024; i < 1056; i++) x[i] = 0.0f;  /* a zero sub-block */
    for (int i = 1056; i < 1088; i++) x[i] = -2.5f; /* a constant negative one */
    const double slack = 1e-6 * 10.0 * 2;
    quantize_row(GGML_TYPE_Q4_K, x, q, N);
    dequantize_row(GGML_TYPE_Q4_K, q, y, N);
    for (int b = 0; b < N / 256; b++) {
        float step[8], negmin[8], max_step = 0, max_min = 0;
        for (int j = 0; j < 8; j++) {
            float lo = 0, hi = -INFINITY;
            for (int l = 0; l < 32; l++)
                lo = fminf(lo, x[256 * b + 32 * j + l]), hi = fmaxf(hi, x[256 * b + 32 * j + l]);
            step[j] = (hi - lo) / 15, negmin[j] = -lo;
            max_step = fmaxf(max_step, step[j]), max_min = fmaxf(max_min, negmin[j]);
        }
        const double d = max_step / 63.0 * (1 + 0x1p-10), dmin = max_min / 63.0 * (1 + 0x1p-10);
        for (int e = 0; e < 256; e++) {
            const double bound = fmax((step[e / 32] + d) / 2, dmin) + slack;
            const int i = 256 * b + e;
            cr_assert(fabs((double)x[i] - y[i]) <= bound, "q4_K elem %d: %g vs %g (bound %g)", i,
                      x[i], y[i], bound);
        }
    }
    quantize_row(GGML_TYPE_Q6_K, x, q, N);
    dequantize_row(GGML_TYPE_Q6_K, q, y, N);
    for (int b = 0; b < N / 256; b++) {
        float step[16], max_step = 0;
        for (int j = 0; j < 16; j++) {
            float amax = 0;
            for (int l = 0; l < 16; l++) amax = fmaxf(amax, fabsf(x[256 * b + 16 * j + l]));
            step[j] = amax / 31, max_step = fmaxf(max_step, step[j]);
        }
        const double d = max_step / 127.0 * (1 + 0x1p-10);
        for (int e = 0; e < 256; e++) {
            const int i = 256 * b + e;
            const double bound = (step[e / 16] + d) / 2 + slack;
            cr_assert(fabs((double)x[i] - y[i]) <= bound, "q6_K elem %d: %g vs %g (bound %g)", i,
                      x[i], y[i], bound);
        }
    }
}

/* Activation quantization: dispatched quantize_act gives the reference bytes,
 * and Q8_K bsums are the sums of their 16 quants. */
Test(kernels, quantize_act_matches_reference) {
    init_best();
    enum { N = 2048 };
    static float x[N];
    static uint8_t a[N / 256 * 292], b[N / 256 * 292];
    for (int i = 0; i < N; i++) x[i] = 3.0f * frand();
    for (int i = 0; i < 256; i++) x[i] = 0.0f;                 /* zero blocks: d = 0 */
    for (int i = 256; i < 512; i++) x[i] = 1e30f * frand();    /* huge values */
    for (int i = 512; i < 544; i++) x[i] = (float)(i % 5) - 2; /* halves of d: ties */
    x[600] = 1e-30f;
    quantize_act(GGML_TYPE_Q4_0, x, a, N);
    quantize_row(GGML_TYPE_Q8_0, x, b, N);
    cr_assert(memcmp(a, b, act_bytes(GGML_TYPE_Q4_0, N)) == 0);
    quantize_act(GGML_TYPE_Q6_K, x, a, N);
    quantize_row(GGML_TYPE_Q8_K, x, b, N);
    cr_assert(memcmp(a, b, act_bytes(GGML_TYPE_Q6_K, N)) == 0);
    cr_assert_eq(act_bytes(GGML_TYPE_Q4_K, N), N / 256 * 292);
    for (int blk = 0; blk < N / 256; blk++) {
        const uint8_t *p = a + 292 * blk;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += (int8_t)p[4 + 16 * g + l];
            int16_t bs;
            memcpy(&bs, p + 4 + 256 + 2 * g, 2);
            cr_assert_eq(bs, s, "block %d group %d", blk, g);
        }
    }
    quantize_act(GGML_TYPE_F16, x, a, 64); /* float types: the floats themselves */
    cr_assert(memcmp(a, x, 64 * sizeof(float)) == 0);
    /* X8 weights: Q8_0's quants and scale (as a float), and the quants' sum
     * times the weights' offset, in 40-byte blocks; every table */
    static uint8_t c[N / 32 * 40];
    quantize_row(GGML_TYPE_Q8_0, x, b, N);
    for (int ti = 0; ti < 2 * ((int)best_isa() + 1); ti++) {
        cr_assert_eq(kernels_init(ti / 2), ti / 2);
        const ggml_type t = ti % 2 ? WEFT_TYPE_Q8_0_X8 : WEFT_TYPE_Q4_0_X8;
        const int32_t offset = ti % 2 ? 128 : 8;
        cr_assert_eq(act_bytes(t, N), sizeof c);
        quantize_act(t, x, c, N);
        for (int k = 0; k < N / 32; k++) {
            const uint8_t *q = b + 34 * k, *blk = c + 40 * k;
            cr_assert(memcmp(blk, q + 2, 32) == 0, "%s %s block %d quants", kernel_isa_name(ti / 2), type_name(t), k);
            uint16_t h;
            memcpy(&h, q, 2);
            float d;
            int32_t osum, sum = 0;
            memcpy(&d, blk + 32, 4);
            memcpy(&osum, blk + 36, 4);
            cr_assert(d == fp16_to_fp32(h), "%s %s block %d scale", kernel_isa_name(ti / 2), type_name(t), k);
            for (int e = 0; e < 32; e++) sum += (int8_t)q[2 + e];
            cr_assert_eq(osum, offset * sum, "%s %s block %d sum", kernel_isa_name(ti / 2), type_name(t), k);
        }
    }
    kernels_init(-1);
}

/* ---- hand-built blocks ------------------------------------------------------- */

/* Q8_0: d = 0x3800 = 0.5, qs[j] = j - 16  ->  x_j = 0.5 (j - 16). */
Test(kernels, dequant_q8_0_known) {
    uint8_t blk[34];
    put_u16(blk, 0x3800);
    for (int j = 0; j < 32; j++) blk[2 + j] = (uint8_t)(int8_t)(j - 16);
    float y[32];
    dequantize_row(GGML_TYPE_Q8_0, blk, y, 32);
    for (int j = 0; j < 32; j++) cr_assert_eq(y[j], 0.5f * (j - 16), "elem %d", j);
}

/* Q4_0: d = 0x4000 = 2, qs[j] = j | (15 - j) << 4 for j < 16:
 *   element j      = low nibble  j      -> 2 (j - 8)
 *   element j + 16 = high nibble 15 - j -> 2 (7 - j). */
Test(kernels, dequant_q4_0_known) {
    uint8_t blk[18];
    put_u16(blk, 0x4000);
    for (int j = 0; j < 16; j++) blk[2 + j] = (uint8_t)(j | (15 - j) << 4);
    float y[32];
    dequantize_row(GGML_TYPE_Q4_0, blk, y, 32);
    for (int j = 0; j < 16; j++) {
        cr_assert_eq(y[j], 2.0f * (j - 8), "elem %d", j);
        cr_assert_eq(y[j + 16], 2.0f * (7 - j), "elem %d", j + 16);
    }
}

/* Q4_K: d = 1 (0x3C00), dmin = 0.5 (0x3800); every qs byte 0xC3 (low nibble
 * 3, high nibble 12). Chosen 6-bit scales/mins:
 *   sc = {1, 2, 3, 4, 17, 33, 50, 63},  m = {0, 2, 4, 6, 40, 9, 21, 63}
 * Packing: scales[j]   = sc_j | (sc_{j+4} >> 4) << 6         (j < 4)
 *          scales[j+4] = m_j  | (m_{j+4}  >> 4) << 6
 *          scales[j+8] = (sc_{j+4} & 15) | (m_{j+4} & 15) << 4
 * sub-block j has q = 3 (j even) or 12 (j odd): value = sc_j q - 0.5 m_j:
 *   j: 0 -> 3-0=3, 1 -> 24-1=23, 2 -> 9-2=7, 3 -> 48-3=45,
 *      4 -> 51-20=31, 5 -> 396-4.5=391.5, 6 -> 150-10.5=139.5, 7 -> 756-31.5=724.5 */
Test(kernels, dequant_q4_K_known) {
    const int sc[8] = {1, 2, 3, 4, 17, 33, 50, 63}, m[8] = {0, 2, 4, 6, 40, 9, 21, 63};
    const float want[8] = {3, 23, 7, 45, 31, 391.5f, 139.5f, 724.5f};
    uint8_t blk[144];
    put_u16(blk, 0x3C00);
    put_u16(blk + 2, 0x3800);
    for (int j = 0; j < 4; j++) {
        blk[4 + j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        blk[4 + j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        blk[4 + j + 8] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
    }
    memset(blk + 16, 0xC3, 128);
    float y[256], z[256];
    dequantize_row(GGML_TYPE_Q4_K, blk, y, 256);
    ref_decode_q4_K(blk, z, NULL);
    for (int i = 0; i < 256; i++) {
        cr_assert_eq(y[i], want[i / 32], "elem %d: %g want %g", i, y[i], want[i / 32]);
        cr_assert_eq(z[i], want[i / 32], "test decoder elem %d", i);
    }
}

/* Q6_K: d = 0.25 (0x3400), scales[s] = s - 8, every ql byte 0x21 (low nibble
 * 1, high 2), every qh byte 0xE4 = 0b11'10'01'00, so quarter k of each half
 * gets high bits k: q = {1, 1|16, 2|32, 2|48} = {1, 17, 34, 50}, minus 32 =
 * {-31, -15, 2, 18}. Element e is in quarter (e % 128) / 32 and uses scale
 * e/16 - 8: value = 0.25 (e/16 - 8) q_k. E.g. e = 0: 0.25*-8*-31 = 62. */
Test(kernels, dequant_q6_K_known) {
    uint8_t blk[210];
    memset(blk, 0x21, 128);
    memset(blk + 128, 0xE4, 64);
    for (int s = 0; s < 16; s++) blk[192 + s] = (uint8_t)(int8_t)(s - 8);
    put_u16(blk + 208, 0x3400);
    const int qk[4] = {-31, -15, 2, 18};
    float y[256];
    dequantize_row(GGML_TYPE_Q6_K, blk, y, 256);
    cr_assert_eq(y[0], 62.0f);
    for (int e = 0; e < 256; e++) {
        const float want = 0.25f * (e / 16 - 8) * qk[(e % 128) / 32];
        cr_assert_eq(y[e], want, "elem %d: %g want %g", e, y[e], want);
    }
}

/* F16 / BF16 / F32 rows: 0x3C00 = 1, 0xC000 = -2, 0x3555 ~ 1/3; bf16 0x3F80 = 1,
 * 0xC040 = -3. */
Test(kernels, dequant_float_known) {
    const uint16_t h[3] = {0x3C00, 0xC000, 0x3555}, bf[2] = {0x3F80, 0xC040};
    float y[3];
    dequantize_row(GGML_TYPE_F16, h, y, 3);
    cr_assert_eq(y[0], 1.0f);
    cr_assert_eq(y[1], -2.0f);
    cr_assert_eq(y[2], 0x1.554p-2f); /* 1.0101010101b * 2^-2 */
    dequantize_row(GGML_TYPE_BF16, bf, y, 2);
    cr_assert_eq(y[0], 1.0f);
    cr_assert_eq(y[1], -3.0f);
    const float f[2] = {1.5f, -0.25f};
    dequantize_row(GGML_TYPE_F32, f, y, 2);
    cr_assert(memcmp(f, y, sizeof f) == 0);
}

/* Random K-quant blocks: dequantize_row against the decoders above. */
Test(kernels, k_quants_match_independent_decoder) {
    enum { NB = 64 };
    uint8_t *w4 = make_weights(GGML_TYPE_Q4_K, 1, 256 * NB),
            *w6 = make_weights(GGML_TYPE_Q6_K, 1, 256 * NB);
    static float y[256 * NB];
    float z[256];
    dequantize_row(GGML_TYPE_Q4_K, w4, y, 256 * NB);
    for (int b = 0; b < NB; b++) {
        ref_decode_q4_K(w4 + 144 * b, z, NULL);
        for (int i = 0; i < 256; i++)
            cr_assert_eq(y[256 * b + i], z[i], "q4_K blk %d elem %d", b, i);
    }
    dequantize_row(GGML_TYPE_Q6_K, w6, y, 256 * NB);
    for (int b = 0; b < NB; b++) {
        ref_decode_q6_K(w6 + 210 * b, z);
        for (int i = 0; i < 256; i++)
            cr_assert_eq(y[256 * b + i], z[i], "q6_K blk %d elem %d", b, i);
    }
    free(w4), free(w6);
}

Test(kernels, row_and_act_sizes) {
    cr_assert_eq(row_bytes(GGML_TYPE_F32, 10), 40);
    cr_assert_eq(row_bytes(GGML_TYPE_F16, 10), 20);
    cr_assert_eq(row_bytes(GGML_TYPE_Q8_0, 64), 68);
    cr_assert_eq(row_bytes(GGML_TYPE_Q4_0, 64), 36);
    cr_assert_eq(row_bytes(GGML_TYPE_Q4_K, 512), 288);
    cr_assert_eq(row_bytes(GGML_TYPE_Q6_K, 512), 420);
    cr_assert_eq(act_bytes(GGML_TYPE_Q8_0, 64), 68);
    cr_assert_eq(act_bytes(GGML_TYPE_F16, 64), 256);
    cr_assert(kernels_matmul_supported(GGML_TYPE_Q6_K));
    cr_assert(!kernels_matmul_supported(GGML_TYPE_Q5_K));
}

/* ---- fp16 ------------------------------------------------------------------- */

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

Test(kernels, fp16_edge_cases) {
    cr_assert_eq(fp32_to_fp16(0.0f), 0x0000);
    cr_assert_eq(fp32_to_fp16(-0.0f), 0x8000);
    cr_assert_eq(bits(fp16_to_fp32(0x8000)), 0x80000000u); /* -0 keeps its sign */
    cr_assert_eq(fp32_to_fp16(INFINITY), 0x7C00);
    cr_assert_eq(fp32_to_fp16(-INFINITY), 0xFC00);
    cr_assert(isinf(fp16_to_fp32(0x7C00)) && fp16_to_fp32(0xFC00) < 0);
    const uint16_t hn = fp32_to_fp16(NAN);
    cr_assert((hn & 0x7C00) == 0x7C00 && (hn & 0x03FF) != 0, "nan -> %#x", hn);
    cr_assert(isnan(fp16_to_fp32(0x7E00)) && isnan(fp16_to_fp32(0x7C01)));
    /* largest finite: 65504; 65519.99 rounds down to it, 65520 (the tie) to inf */
    cr_assert_eq(fp16_to_fp32(0x7BFF), 65504.0f);
    cr_assert_eq(fp32_to_fp16(65504.0f), 0x7BFF);
    cr_assert_eq(fp32_to_fp16(65519.99f), 0x7BFF);
    cr_assert_eq(fp32_to_fp16(65520.0f), 0x7C00);
    cr_assert_eq(fp32_to_fp16(1e10f), 0x7C00);
    /* smallest normal 2^-14, subnormals k * 2^-24 */
    cr_assert_eq(fp16_to_fp32(0x0400), 0x1p-14f);
    cr_assert_eq(fp32_to_fp16(0x1p-14f), 0x0400);
    cr_assert_eq(fp16_to_fp32(0x0001), 0x1p-24f);
    cr_assert_eq(fp16_to_fp32(0x03FF), 1023 * 0x1p-24f);
    cr_assert_eq(fp32_to_fp16(0x1p-24f), 0x0001);
    cr_assert_eq(fp32_to_fp16(-1023 * 0x1p-24f), 0x83FF);
    cr_assert_eq(fp32_to_fp16(0x1p-25f), 0x0000);        /* tie -> even (0) */
    cr_assert_eq(fp32_to_fp16(0x1.000002p-25f), 0x0001); /* just above the tie */
    cr_assert_eq(fp32_to_fp16(3 * 0x1p-25f), 0x0002);    /* 1.5 units -> 2 */
    cr_assert_eq(fp32_to_fp16(0x1.ffcp-15f), 0x0400);    /* rounds up into normal */
    cr_assert_eq(fp32_to_fp16(1e-10f), 0x0000);
    /* round to nearest even at 1.0: ulp 2^-10 */
    cr_assert_eq(fp32_to_fp16(1.0f + 0x1p-11f), 0x3C00);
    cr_assert_eq(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);
    cr_assert_eq(fp32_to_fp16(0x1.002002p+0f), 0x3C01);
    /* every half round-trips (NaNs stay NaN) */
    for (uint32_t h = 0; h < 0x10000; h++) {
        const float f = fp16_to_fp32((uint16_t)h);
        if (isnan(f))
            cr_assert((h & 0x7C00) == 0x7C00 && (h & 0x3FF));
        else
            cr_assert_eq(fp32_to_fp16(f), h, "half %#x", h);
    }
}

/* Against the F16C instructions, on random float bit patterns. */
__attribute__((target("f16c"))) static uint16_t hw_to_half(float f) {
    return (uint16_t)_cvtss_sh(f, 0);
}
__attribute__((target("f16c"))) static float hw_from_half(uint16_t h) { return _cvtsh_ss(h); }

Test(kernels, fp16_matches_f16c) {
    if (kernels_init(KERNEL_AVX512) < KERNEL_AVX2) cr_skip_test("no F16C");
    for (uint32_t h = 0; h < 0x10000; h++) {
        const float a = fp16_to_fp32((uint16_t)h), b = hw_from_half((uint16_t)h);
        cr_assert(bits(a) == bits(b) || (isnan(a) && isnan(b)), "half %#x", h);
    }
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)rnd();
        if (i & 1) u = (u & 0x8FFFFFFFu) | 0x30000000u; /* bias towards the half range */
        float f;
        memcpy(&f, &u, 4);
        cr_assert_eq(fp32_to_fp16(f), hw_to_half(f), "float %#x", u);
    }
}

/* ---- attention kernels ---------------------------------------------------- */

enum { ATT_KEYS = 37, ATT_MAX_HD = 136 };
static const int att_dims[] = {8, 12, 64, 68, 128, 136};

static void fill(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = frand();
}

/* SIMD == reference bit for bit; both within float rounding of a double dot;
 * a score's bits do not depend on the keys sharing its call. */
Test(kernels, attn_scores_match_reference) {
    init_best();
    static float q[ATT_MAX_HD], keys[ATT_KEYS][ATT_MAX_HD];
    const float *k[ATT_KEYS];
    for (size_t di = 0; di < sizeof att_dims / sizeof att_dims[0]; di++) {
        const int hd = att_dims[di];
        fill(q, hd);
        for (int s = 0; s < ATT_KEYS; s++) fill(keys[s], hd), k[s] = keys[s];
        const float scale = 1.0f / sqrtf((float)hd);
        float simd[ATT_KEYS], ref[ATT_KEYS], parts[ATT_KEYS];
        attn_scores(q, k, ATT_KEYS, hd, scale, simd);
        attn_scores_ref(q, k, ATT_KEYS, hd, scale, ref);
        cr_assert(memcmp(simd, ref, sizeof simd) == 0, "hd %d: SIMD scores differ from the reference", hd);
        static const int cuts[] = {0, 1, 8, 9, 17, 30, ATT_KEYS};
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
            attn_scores(q, k + cuts[c], cuts[c + 1] - cuts[c], hd, scale, parts + cuts[c]);
        cr_assert(memcmp(parts, simd, sizeof simd) == 0, "hd %d: scores depend on the call's keys", hd);
        for (int s = 0; s < ATT_KEYS; s++) {
            double d = 0;
            for (int i = 0; i < hd; i++) d += (double)q[i] * k[s][i];
            cr_assert_float_eq(ref[s], d * scale, 1e-5, "hd %d key %d: %g vs %g", hd, s, ref[s], d * scale);
        }
    }
    kernels_init(-1);
}

/* SIMD == reference; slot ranges in consecutive calls == one call; both
 * within float rounding of a double sum. */
Test(kernels, attn_values_match_reference) {
    init_best();
    static float vals[ATT_KEYS][ATT_MAX_HD], p[ATT_KEYS], init[ATT_MAX_HD];
    const float *v[ATT_KEYS];
    for (size_t di = 0; di < sizeof att_dims / sizeof att_dims[0]; di++) {
        const int hd = att_dims[di];
        fill(p, ATT_KEYS);
        fill(init, hd);
        for (int s = 0; s < ATT_KEYS; s++) fill(vals[s], hd), v[s] = vals[s];
        float simd[ATT_MAX_HD], ref[ATT_MAX_HD], parts[ATT_MAX_HD];
        memcpy(simd, init, sizeof init);
        memcpy(ref, init, sizeof init);
        memcpy(parts, init, sizeof init);
        attn_values(simd, p, v, ATT_KEYS, hd);
        attn_values_ref(ref, p, v, ATT_KEYS, hd);
        cr_assert(memcmp(simd, ref, (size_t)hd * sizeof(float)) == 0, "hd %d: SIMD values differ", hd);
        static const int cuts[] = {0, 3, 4, 20, ATT_KEYS};
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
            attn_values(parts, p + cuts[c], v + cuts[c], cuts[c + 1] - cuts[c], hd);
        cr_assert(memcmp(parts, simd, (size_t)hd * sizeof(float)) == 0, "hd %d: split calls differ", hd);
        for (int i = 0; i < hd; i++) {
            double d = init[i];
            for (int s = 0; s < ATT_KEYS; s++) d += (double)p[s] * v[s][i];
            cr_assert_float_eq(ref[i], d, 1e-5, "hd %d lane %d", hd, i);
        }
    }
    kernels_init(-1);
}

/* Half rows (an F16 cache): scores and weighted values, SIMD and
 * reference, are the bits of the float kernels on the rows converted
 * first. */
Test(kernels, attn_on_half_rows_is_attn_on_converted_rows) {
    static uint16_t hk[ATT_KEYS][ATT_MAX_HD], hv[ATT_KEYS][ATT_MAX_HD];
    static float fk[ATT_KEYS][ATT_MAX_HD], fv[ATT_KEYS][ATT_MAX_HD], q[ATT_MAX_HD], p[ATT_KEYS];
    const uint16_t *hkr[ATT_KEYS], *hvr[ATT_KEYS];
    const float *fkr[ATT_KEYS], *fvr[ATT_KEYS];
    for (int pass = 0; pass < 2; pass++) { /* reference, then the best SIMD table */
        pass ? init_best() : (void)kernels_init(KERNEL_SCALAR);
        for (size_t di = 0; di < sizeof att_dims / sizeof att_dims[0]; di++) {
            const int hd = att_dims[di];
            fill(q, hd);
            fill(p, ATT_KEYS);
            for (int s = 0; s < ATT_KEYS; s++) {
                for (int i = 0; i < hd; i++) {
                    hk[s][i] = fp32_to_fp16(frand()), hv[s][i] = fp32_to_fp16(frand());
                    fk[s][i] = fp16_to_fp32(hk[s][i]), fv[s][i] = fp16_to_fp32(hv[s][i]);
                }
                hkr[s] = hk[s], hvr[s] = hv[s], fkr[s] = fk[s], fvr[s] = fv[s];
            }
            float sh[ATT_KEYS], sf[ATT_KEYS], oh[ATT_MAX_HD] = {0}, of[ATT_MAX_HD] = {0};
            attn_scores_f16(q, hkr, ATT_KEYS, hd, 0.125f, sh);
            attn_scores(q, fkr, ATT_KEYS, hd, 0.125f, sf);
            cr_assert(memcmp(sh, sf, sizeof sh) == 0, "pass %d hd %d: half-row scores differ", pass, hd);
            attn_values_f16(oh, p, hvr, ATT_KEYS, hd);
            attn_values(of, p, fvr, ATT_KEYS, hd);
            cr_assert(memcmp(oh, of, sizeof oh) == 0, "pass %d hd %d: half-row values differ", pass, hd);
        }
    }
    kernels_init(-1);
}

/* Several queries per call (attn_*_rows), under every SIMD table: each
 * query's scores and outputs have the one-query reference's bits, for
 * query counts around the AVX-512 blocks (3 for scores, 4 or 2 for
 * values), key counts around 8, head sizes with and without tails, float
 * and half rows. */
enum { ROWS_MAX_Q = 13 };
static void attn_rows_match_one_query(void) {
    static float keys[ATT_KEYS][ATT_MAX_HD], q[ROWS_MAX_Q][ATT_MAX_HD], p[ROWS_MAX_Q][ATT_KEYS];
    static float init[ROWS_MAX_Q][ATT_MAX_HD], got[ROWS_MAX_Q][ATT_MAX_HD], want[ROWS_MAX_Q][ATT_MAX_HD];
    static uint16_t halves[ATT_KEYS][ATT_MAX_HD];
    const float *k[ATT_KEYS], *qr[ROWS_MAX_Q], *pr[ROWS_MAX_Q];
    const uint16_t *h[ATT_KEYS];
    float *gr[ROWS_MAX_Q];
    static const int n_qs[] = {1, 2, 3, 4, 5, 7, ROWS_MAX_Q}, n_keys[] = {1, 7, 8, 9, ATT_KEYS};
    for (size_t di = 0; di < sizeof att_dims / sizeof att_dims[0]; di++) {
        const int hd = att_dims[di];
        for (int s = 0; s < ATT_KEYS; s++) {
            for (int i = 0; i < hd; i++) halves[s][i] = fp32_to_fp16(frand()), keys[s][i] = fp16_to_fp32(halves[s][i]);
            k[s] = keys[s], h[s] = halves[s];
        }
        for (int r = 0; r < ROWS_MAX_Q; r++) {
            fill(q[r], hd), fill(p[r], ATT_KEYS), fill(init[r], hd);
            qr[r] = q[r], pr[r] = p[r], gr[r] = got[r];
        }
        for (size_t qi = 0; qi < sizeof n_qs / sizeof n_qs[0]; qi++)
            for (size_t ki = 0; ki < sizeof n_keys / sizeof n_keys[0]; ki++)
                for (int half = 0; half < 2; half++) {
                    const int nq = n_qs[qi], nk = n_keys[ki];
                    if (half) attn_scores_rows_f16(qr, nq, h, nk, hd, 0.125f, gr);
                    else attn_scores_rows(qr, nq, k, nk, hd, 0.125f, gr);
                    for (int r = 0; r < nq; r++) {
                        attn_scores_ref(q[r], k, nk, hd, 0.125f, want[r]);
                        cr_assert(memcmp(got[r], want[r], (size_t)nk * sizeof(float)) == 0,
                                  "%s scores, hd %d, %d queries, %d keys, half %d: query %d differs", ISA, hd, nq,
                                  nk, half, r);
                    }
                    memcpy(got, init, sizeof got);
                    memcpy(want, init, sizeof want);
                    if (half) attn_values_rows_f16(gr, pr, nq, h, nk, hd);
                    else attn_values_rows(gr, pr, nq, k, nk, hd);
                    for (int r = 0; r < nq; r++) {
                        attn_values_ref(want[r], p[r], k, nk, hd);
                        cr_assert(memcmp(got[r], want[r], (size_t)hd * sizeof(float)) == 0,
                                  "%s values, hd %d, %d queries, %d values, half %d: query %d differs", ISA, hd,
                                  nq, nk, half, r);
                    }
                }
    }
}
Test(kernels, attn_rows_match_one_query) { for_each_simd_isa(attn_rows_match_one_query); }

/* softmax and SwiGLU: SIMD == reference bit for bit, on lengths with and
 * without a tail, and both within a few ulp of double precision. */
Test(kernels, softmax_and_swiglu_match_reference) {
    init_best();
    enum { N = 203 };
    static const int lens[] = {1, 7, 8, 9, 64, N};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int n = lens[li];
        float x[N], a[N], b[N], u[N];
        for (int i = 0; i < n; i++) x[i] = 30.0f * frand(), u[i] = frand();
        x[n / 2] = -200.0f; /* far under the max: exp clamps, probability ~0 */
        memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
        softmax(a, n);
        softmax_ref(b, n);
        cr_assert(memcmp(a, b, (size_t)n * sizeof(float)) == 0, "softmax n %d: SIMD differs", n);
        /* x - max is rounded to float in the kernel too: up to 2^-19 away */
        float max = x[0];
        double sum = 0;
        for (int i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
        for (int i = 0; i < n; i++) sum += exp((double)(x[i] - max));
        for (int i = 0; i < n; i++) {
            const double want = exp((double)(x[i] - max)) / sum;
            cr_assert(fabs(b[i] - want) <= 1e-6 * want + 1e-37, "softmax n %d [%d]: %g vs %g", n, i, b[i], want);
        }
        memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
        swiglu(a, u, n);
        swiglu_ref(b, u, n);
        cr_assert(memcmp(a, b, (size_t)n * sizeof(float)) == 0, "swiglu n %d: SIMD differs", n);
        for (int i = 0; i < n; i++) {
            const double want = x[i] / (1.0 + exp(-(double)x[i])) * u[i];
            cr_assert(fabs(b[i] - want) <= 1e-6 * fabs(want) + 1e-30, "swiglu n %d [%d]: %g vs %g", n, i, b[i], want);
        }
    }
    kernels_init(-1);
}

/* exp_ref within 2 ulp of exp over its whole unclamped range. */
Test(kernels, exp_is_accurate) {
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        const double want = exp((double)x);
        const float got = exp_ref(x);
        cr_assert(fabs(got - want) <= 2.5 * 0x1p-24 * want, "exp(%.6f) = %.9g, want %.9g", x, got, want);
    }
}
