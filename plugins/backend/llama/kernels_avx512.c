/* AVX-512 VNNI kernels (with AVX512VL, on 256- and 512-bit vectors). Compiled with
 * -mavx512f -mavx512bw -mavx512vl -mavx512vnni; reached only through
 * kernels_avx512_table, which kernels_init() selects after cpuid. The X8,
 * F32/F16 (batches of 5+ rows) and K-quant matmuls have an AVX-512 form
 * here, attention in kernels_float_avx512.c; the table takes every other
 * entry (Q8_0/Q4_0 file layouts, split rows, activation quantizers,
 * softmax, SwiGLU) from the AVX2 files.
 *
 * X8 groups (layouts: kernels.h, kernels_avx2.c): vpdpbusd multiplies
 * unsigned weight bytes by signed activation bytes and adds each lane's 4
 * products to an int32 lane, which is the whole of what the AVX2 kernel
 * spends maddubs, int16 adds, nibble splits and madd on. Q8_0_X8 feeds its
 * stored bytes (q + 128) straight in; Q4_0_X8 its nibbles (q + 8). A lane's
 * 32 products stay below 2^20, so the int32 sum is the reference's integer
 * dot plus the offset term taken off as before, and the float step is the
 * AVX2 kernel's: results are bit-identical to it. */
#include "kernels_x86.h"

/* F32 / F16 (kernels_float_x86.h): two chains per (row, batch row), so up
 * to 4 batch rows are computed one weight row at a time, as one memory
 * stream (F16 decode 2.2x faster than the AVX2 tiles on Zen 4). Larger
 * batches go to the 512-bit tiles below (FLOAT_LARGE_MATMUL). */
#define FLOAT_CHAINS 2
#define FLOAT_SMALL_BATCH 4
#define FLOAT_SMALL_BT 4
#define FLOAT_SMALL_R 1
static void fz_matmul(const mm_args *a, int64_t r0, int64_t r1, int n_batch, int is_f16);
#define FLOAT_LARGE_MATMUL fz_matmul /* batches over FLOAT_SMALL_BATCH rows, below */
#include "kernels_float_x86.h"

/* ---- F32 / F16 against batches of 5+ rows: 4 x 6 tiles on 512-bit vectors ----
 *
 * The 3 x 4 tiles of kernels_float_x86.h spend 7 loads on 12 FMAs of 8
 * lanes and reduce each (row, batch row) on its own; a 512-bit 4 x 6 tile
 * spends 10 loads on 24 FMAs of 16 lanes, its 6 activation rows stay in L1
 * while the weight rows pass, and it reduces eight sums at once. A 64-row
 * product of a 2048 x 768 matrix: 59 GFLOP/s before, 100-106 with these
 * (docs/performance.md, "Float tiles of 512 bits").
 *
 * Rows go in blocks of FZ_RB: the first batch tile reads a block from
 * memory, asking for the rows two tiles ahead (verify batches of 5-16 rows
 * are bound by that read), and the others find it in L2.
 *
 * Bit-identical to the 256-bit path: a zmm accumulator's lanes 0-7 are
 * chain 0 (chunks 2m) and lanes 8-15 chain 1 (chunks 2m + 1), each lane
 * adds its products in the same order, and the finish (odd last chunk into
 * chain 0, chains added, hsum_ps's tree, scalar tail) adds the same pairs. */
#define FZ_R 4   /* weight rows per tile */
#define FZ_B 6   /* batch rows per tile: 24 accumulators + 4 + 1 of 32 registers */
#define FZ_RB 32 /* rows per block: read from memory once, from L2 for the other batch tiles */

ALWAYS_INLINE __m512 load_w16(const uint8_t *row, int64_t i, const int is_f16) {
    return is_f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 2 * i)))
                  : _mm512_loadu_ps((const float *)row + i);
}

/* hsum_ps of eight vectors with the same additions: s = low + high 128
 * bits, then s0 + s2 and s1 + s3, then their sum. The result's lanes are
 * [v0 v2 v4 v6 | v1 v3 v5 v7]. */
ALWAYS_INLINE __m256 hsum8_ps(const __m256 v[8]) {
    __m256 p[4];
    for (int k = 0; k < 4; k++)
        p[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
    const __m256 q0 = _mm256_add_ps(_mm256_shuffle_ps(p[0], p[1], 0x44), _mm256_shuffle_ps(p[0], p[1], 0xEE));
    const __m256 q1 = _mm256_add_ps(_mm256_shuffle_ps(p[2], p[3], 0x44), _mm256_shuffle_ps(p[2], p[3], 0xEE));
    return _mm256_add_ps(_mm256_shuffle_ps(q0, q1, 0x88), _mm256_shuffle_ps(q0, q1, 0xDD));
}

/* Rows [r, r+R) against batch rows [b, b+B) over all n elements; pf: ask
 * for the rows two tiles ahead. */
ALWAYS_INLINE void fz_tile(const mm_args *a, int64_t r, int b, bool pf, const int R, const int B,
                           const int is_f16) {
    const uint8_t *wr[FZ_R];
    const float *xr[FZ_B];
    for (int i = 0; i < R; i++) wr[i] = a->w + (size_t)(r + i) * a->ws;
    for (int j = 0; j < B; j++) xr[j] = (const float *)(a->x + (size_t)(b + j) * a->xs);
    __m512 acc[FZ_R][FZ_B];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) acc[i][j] = _mm512_setzero_ps();
    const int64_t n16 = a->n / 16 * 16, n8 = a->n / 8 * 8;
    for (int64_t k = 0; k < n16; k += 16) {
        __m512 wv[FZ_R];
        if (pf && (!is_f16 || k % 32 == 0))
            for (int i = 0; i < R; i++) prefetch_line(wr[i] + 2 * R * a->ws + (is_f16 ? 2 : 4) * k);
        for (int i = 0; i < R; i++) wv[i] = load_w16(wr[i], k, is_f16);
        for (int j = 0; j < B; j++) {
            const __m512 xv = _mm512_loadu_ps(xr[j] + k);
            for (int i = 0; i < R; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    __m256 v[FZ_R][FZ_B]; /* chain 0 (with an odd last chunk) + chain 1 */
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) {
            __m256 c0 = _mm512_castps512_ps256(acc[i][j]);
            if (n16 < n8) c0 = _mm256_fmadd_ps(load_w8(wr[i], n16, is_f16), _mm256_loadu_ps(xr[j] + n16), c0);
            v[i][j] = _mm256_add_ps(c0, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[i][j]), 1)));
        }
    if (R == FZ_R) { /* batch rows two at a time: 4 rows each */
        for (int j = 0; j < B; j += 2) {
            const int j1 = j + 1 < B ? j + 1 : j;
            const __m256 in[8] = {v[0][j], v[0][j1], v[1][j], v[1][j1], v[2][j], v[2][j1], v[3][j], v[3][j1]};
            const __m256 h = hsum8_ps(in);
            _mm_storeu_ps(a->y + (b + j) * a->ldy + r, _mm256_castps256_ps128(h));
            if (j1 != j) _mm_storeu_ps(a->y + (b + j1) * a->ldy + r, _mm256_extractf128_ps(h, 1));
        }
    } else {
        for (int i = 0; i < R; i++)
            for (int j = 0; j < B; j++) a->y[(b + j) * a->ldy + r + i] = hsum_ps(v[i][j]);
    }
    for (int64_t t = n8; t < a->n; t++) /* scalar tail, in the 256-bit path's order */
        for (int i = 0; i < R; i++)
            for (int j = 0; j < B; j++) a->y[(b + j) * a->ldy + r + i] += load_w1(wr[i], t, is_f16) * xr[j][t];
}

typedef void (*fz_tile_fn)(const mm_args *a, int64_t r, int b, bool pf);

#define FZ_TILE(R, B)                                                                                          \
    static void fz_f32_##R##x##B(const mm_args *a, int64_t r, int b, bool pf) {                                \
        fz_tile(a, r, b, pf, R, B, 0);                                                                         \
    }                                                                                                          \
    static void fz_f16_##R##x##B(const mm_args *a, int64_t r, int b, bool pf) {                                \
        fz_tile(a, r, b, pf, R, B, 1);                                                                         \
    }
FZ_TILE(4, 1) FZ_TILE(4, 2) FZ_TILE(4, 3) FZ_TILE(4, 4) FZ_TILE(4, 5) FZ_TILE(4, 6)
FZ_TILE(1, 1) FZ_TILE(1, 2) FZ_TILE(1, 3) FZ_TILE(1, 4) FZ_TILE(1, 5) FZ_TILE(1, 6)

/* [is_f16][R == FZ_R][B - 1]: full tiles and, for the last rows, single rows */
static const fz_tile_fn fz_tiles[2][2][FZ_B] = {
    {{fz_f32_1x1, fz_f32_1x2, fz_f32_1x3, fz_f32_1x4, fz_f32_1x5, fz_f32_1x6},
     {fz_f32_4x1, fz_f32_4x2, fz_f32_4x3, fz_f32_4x4, fz_f32_4x5, fz_f32_4x6}},
    {{fz_f16_1x1, fz_f16_1x2, fz_f16_1x3, fz_f16_1x4, fz_f16_1x5, fz_f16_1x6},
     {fz_f16_4x1, fz_f16_4x2, fz_f16_4x3, fz_f16_4x4, fz_f16_4x5, fz_f16_4x6}},
};

static void fz_matmul(const mm_args *a, int64_t r0, int64_t r1, int n_batch, int is_f16) {
    /* batch tiles as even as they go: 64 rows as 6 x 9 + 5 x 2, not 6 x 10 + 4 */
    const int n_tiles = (n_batch + FZ_B - 1) / FZ_B, small = n_batch / n_tiles, n_big = n_batch % n_tiles;
    for (int64_t rb = r0; rb < r1; rb += FZ_RB) {
        const int64_t re = rb + FZ_RB < r1 ? rb + FZ_RB : r1;
        for (int t = 0, b = 0; t < n_tiles; t++) {
            const int B = small + (t < n_big);
            for (int64_t r = rb; r < re;) {
                const int R = re - r >= FZ_R ? FZ_R : 1;
                fz_tiles[is_f16][R == FZ_R][B - 1](a, r, b, t == 0);
                r += R;
            }
            b += B;
        }
    }
}


/* Batch rows per group pass: 32 vector registers hold 8 weight vectors, 8
 * float accumulators and the 8 int32 sums of the block in flight. */
#define X8_TILE 8

/* acc + dpbusd(u8, the 4 signed bytes at s4 in every lane), with the
 * broadcast folded into the instruction's memory operand ({1to8}). GCC 12
 * emits a separate vpbroadcastd per call: 262 instructions a block of 8
 * batch rows instead of 195, and 8% slower. */
ALWAYS_INLINE __m256i dpbusd_bcast(__m256i acc, __m256i u8, const int8_t *s4) {
    __asm__("vpdpbusd %2%{1to8%}, %1, %0" : "+v"(acc) : "v"(u8), "m"(*(const int32_t *)s4));
    return acc;
}

/* The block dots of DEFINE_X8_GROUP (kernels_x86.h). */
ALWAYS_INLINE void x8_dots_vnni(const uint8_t *qk, const blk_x8_act *const *xr, int64_t k, const int B, const bool q8,
                                __m256i *d) {
    __m256i v[8]; /* v[c]: elements 4c .. 4c+3 of the 8 rows */
    if (q8) {
        for (int c = 0; c < 8; c++) v[c] = loadu256(qk + 32 * c);
    } else {
        x8_q4_0_nibbles(qk, v);
    }
    for (int j = 0; j < B; j++) {
        const int8_t *x = xr[j][k].qs;
        /* two chains, so one batch row is not bound by dpbusd latency */
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        for (int c = 0; c < 8; c += 2) {
            s0 = dpbusd_bcast(s0, v[c], x + 4 * c);
            s1 = dpbusd_bcast(s1, v[c + 1], x + 4 * c + 4);
        }
        d[j] = _mm256_sub_epi32(_mm256_add_epi32(s0, s1), _mm256_set1_epi32(xr[j][k].osum));
    }
}

DEFINE_X8_GROUP(x8_group_vnni, x8_dots_vnni)

/* ---- two groups at once, in 512-bit vectors ----
 * With 8 batch rows the one-group loop above issues a load for every
 * dpbusd (its broadcast activation word) and ran at about 58 cycles a
 * block where its dpbusd ops need 32. A 512-bit dpbusd computes the group's
 * rows and the next group's for one such load: hot Q8_0_X8 768x2048 with 8
 * rows 97.8 -> 74.7 us. What bounds it now is that 512-bit dpbusd, mul and
 * fma share two pipes on Zen 4 (80 of about 89 cycles a block). It reads
 * two streams (gbytes apart), which this CPU streams more slowly than one,
 * so batches of fewer than X8_PAIR_MIN_BATCH rows keep the one-group loop
 * (measured: 2 rows 1.1x slower in pairs, 3 alike). Per lane the integer
 * dot and the float step are the ones above: results are bit-identical. */

#define X8_PAIR_MIN_BATCH 4

/* dpbusd_bcast on 16 lanes ({1to16}). */
ALWAYS_INLINE __m512i dpbusd_bcast16(__m512i acc, __m512i u8, const int8_t *s4) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u8), "m"(*(const int32_t *)s4));
    return acc;
}

ALWAYS_INLINE __m512i pair256(const uint8_t *a, const uint8_t *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(loadu256(a)), loadu256(b), 1);
}

/* The groups at ga and ga + gbytes (a group body, kernels_x86.h): out
 * rows 0-7 are the first group's, 8-15 the second's. */
ALWAYS_INLINE void x8_pair_group(const uint8_t *ga, size_t gbytes, int64_t n, const blk_x8_act *const *xr,
                                 const int B, float *out, const bool q8) {
    const int64_t nb = n / QK8_0;
    const uint8_t *gb = ga + gbytes;
    const size_t bbytes = x8_quant_bytes(q8);
    const __m512i low4 = _mm512_set1_epi8(0xF);
    __m512 acc[X8_MAX_TILE];
    const blk_x8_act *xk[X8_MAX_TILE]; /* batch row j's block k */
    for (int j = 0; j < B; j++) acc[j] = _mm512_setzero_ps(), xk[j] = xr[j];
    for (int64_t k = 0; k < nb; k++) {
        const size_t sat = x8_scales_at(k, q8), qat = x8_quants_at(k, nb, q8);
        const uint8_t *ka = ga + qat, *kb = gb + qat;
        const __m128i ha = _mm_loadu_si128((const __m128i *)(ga + sat));
        const __m128i hb = _mm_loadu_si128((const __m128i *)(gb + sat));
        const __m512 dw = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(ha), hb, 1));
        x8_prefetch_block(ga, k, bbytes); /* 4+ rows (X8_PREFETCH_MIN_BATCH) */
        x8_prefetch_block(gb, k, bbytes);
        __m512i v[8]; /* v[c]: elements 4c .. 4c+3 of the 16 rows */
        if (q8) {
            for (int c = 0; c < 8; c++) v[c] = pair256(ka + 32 * c, kb + 32 * c);
        } else {
            for (int m = 0; m < 4; m++) {
                const __m512i raw = pair256(ka + 32 * m, kb + 32 * m);
                v[2 * m] = _mm512_and_si512(raw, low4);
                v[2 * m + 1] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
            }
        }
        for (int j = 0; j < B; j++) {
            const blk_x8_act *x = xk[j]++;
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            for (int c = 0; c < 8; c += 2) {
                s0 = dpbusd_bcast16(s0, v[c], x->qs + 4 * c);
                s1 = dpbusd_bcast16(s1, v[c + 1], x->qs + 4 * c + 4);
            }
            const __m512i d = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(x->osum));
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(dw, _mm512_set1_ps(x->d)), acc[j]);
        }
    }
    for (int j = 0; j < B; j++) _mm512_storeu_ps(out + X8_OUT * j, acc[j]);
}

DEFINE_X8_MATMUL(x8_matmul_vnni_st, x8_group_vnni, x8_pair_group, blk_x8_act, X8_TILE, X8_PAIR_MIN_BATCH)

ALWAYS_INLINE void x8_matmul_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                  float *y, int64_t ldy, bool q8) {
    x8_matmul_vnni_st(w, n, r0, r1, xq, n_batch, y, ldy, q8 ? WEFT_TYPE_Q8_0_X8 : WEFT_TYPE_Q4_0_X8);
}

static void matmul_q4_0_x8_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                float *y, int64_t ldy) {
    x8_matmul_vnni(w, n, r0, r1, xq, n_batch, y, ldy, false);
}

static void matmul_q8_0_x8_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                float *y, int64_t ldy) {
    x8_matmul_vnni(w, n, r0, r1, xq, n_batch, y, ldy, true);
}

/* Q4_K_X8 / Q6_K_X8 (kernels_x86.h): a sub-block's dot in dpbusd, times
 * its scale. */
ALWAYS_INLINE __m256i dpbusd_run(const __m256i *v, const int8_t *x, int n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256(); /* two chains */
    for (int c = 0; c < n; c += 2) {
        s0 = dpbusd_bcast(s0, v[c], x + 4 * c);
        s1 = dpbusd_bcast(s1, v[c + 1], x + 4 * c + 4);
    }
    return _mm256_add_epi32(s0, s1);
}

ALWAYS_INLINE __m256i q4_K_x8_chunk_vnni(const __m256i v[8], const int8_t *x, const q4_K_x8_sc *s, int c) {
    return _mm256_mullo_epi32(dpbusd_run(v, x, 8), s->sc[c]);
}

ALWAYS_INLINE __m256i q6_K_x8_chunk_vnni(const __m256i v[8], const int8_t *x, const q6_K_x8_sc *s, int c) {
    return _mm256_add_epi32(_mm256_mullo_epi32(dpbusd_run(v, x, 4), s->sc[2 * c]),
                            _mm256_mullo_epi32(dpbusd_run(v + 4, x + 16, 4), s->sc[2 * c + 1]));
}

DEFINE_K_X8_MATMUL(matmul_q4_K_x8_vnni, q4_K, Q4_K_X8_BYTES, WEFT_TYPE_Q4_K_X8, q4_K_x8_chunk_vnni, false, X8_TILE)
DEFINE_K_X8_MATMUL(matmul_q6_K_x8_vnni, q6_K, Q6_K_X8_BYTES, WEFT_TYPE_Q6_K_X8, q6_K_x8_chunk_vnni, false, X8_TILE)

/* ---- K-quants in file rows: two sub-blocks per 512-bit instruction ----
 * (matrices the loader leaves in file layout). The AVX2 row tiles
 * (kernels_avx2.c) spend maddubs, madd and add on each 32-byte sub-block;
 * here one maddubs and one vpdpwssd (the scale multiply and the add in
 * one) cover two sub-blocks. The two 256-bit halves of the
 * int32 sums are added before the float step, so every lane holds exactly
 * the integer the AVX2 tile holds: results are bit-identical to it. */

/* Bytes of v shifted right by 0 in the low 256 bits, by `hi` in the high
 * ones, masked to `mask` (16-bit shifts: bits that cross into a byte from
 * its neighbour are masked off). */
ALWAYS_INLINE __m512i halves_srl_and(__m512i v, int hi, int mask) {
    const __m512i count = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16((short)hi), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(v, count), _mm512_set1_epi8((char)mask));
}

ALWAYS_INLINE __m512i bcast256(const void *p) { return _mm512_broadcast_i64x4(loadu256(p)); }

/* int16 lanes: idx picks lanes of the 16 int16 in v (256 bits) */
ALWAYS_INLINE __m512i pick_i16(__m256i v, __m512i idx) {
    return _mm512_permutexvar_epi16(idx, _mm512_castsi256_si512(v));
}

/* A super-block's scaled integer dots with bx, from its 256 weights as 4
 * vectors of two sub-blocks and their int16 scales: the two halves' sums
 * added, lane l the AVX2 tile's lane l. */
ALWAYS_INLINE __m256i k_dots_512(const __m512i q[4], const __m512i s[4], const blk_q8_K *bx) {
    __m512i isum = _mm512_setzero_si512();
    for (int p = 0; p < 4; p++)
        isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q[p], _mm512_loadu_si512(bx->qs + 64 * p)), s[p]);
    return _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
}

/* Row r against batch rows [b0, b0+B). */
ALWAYS_INLINE void q4_K_tile_512_body(const mm_args *a, int64_t r, int b0, const int B) {
    __m256 acc[K_BATCH_TILE];
    for (int b = 0; b < B; b++) acc[b] = _mm256_setzero_ps();
    for (int64_t k = 0; k < a->n / QK_K; k++) {
        const blk_q4_K *bw = (const blk_q4_K *)(a->w + (size_t)r * a->ws) + k;
        uint32_t sc[2], mn[2];
        q4_K_scales_mins(bw->scales, sc, mn);
        const __m256i sc16 =
            _mm256_castsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc[1], (int)sc[0])));
        __m512i q[4], s[4]; /* q[j]: sub-blocks 2j (low nibbles) | 2j+1 (high); s[j] their scales */
        for (int j = 0; j < 4; j++) {
            q[j] = halves_srl_and(bcast256(bw->qs + 32 * j), 4, 0xF);
            s[j] = pick_i16(sc16, _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * j)),
                                                     _mm256_set1_epi16((short)(2 * j + 1)), 1));
        }
        const __m256i mins = q4_K_min_pairs(mn);
        const float d = f16(bw->d), dmin = f16(bw->dmin);
        for (int b = 0; b < B; b++) {
            const blk_q8_K *bx = (const blk_q8_K *)(a->x + (size_t)(b0 + b) * a->xs) + k;
            acc[b] = q4_K_step(acc[b], k_dots_512(q, s, bx), mins, bx, d, dmin);
        }
    }
    for (int b = 0; b < B; b++) a->y[(b0 + b) * a->ldy + r] = hsum_ps(acc[b]);
}

DEFINE_K_TILE(q4_K_tile_512, q4_K_tile_512_body)

/* Q6_K groups t, t+1 (64 bytes of ql, in order) pair up: group 4h + i
 * takes its low 4 bits from nibble i / 2 of ql bytes (h, i % 2) and its
 * high 2 from bits 2i of qh (kernels_avx2.c, q6_K_rowtile). */
ALWAYS_INLINE void q6_K_tile_512_body(const mm_args *a, int64_t r, int b0, const int B) {
    __m256 acc[K_BATCH_TILE];
    for (int b = 0; b < B; b++) acc[b] = _mm256_setzero_ps();
    for (int64_t k = 0; k < a->n / QK_K; k++) {
        const blk_q6_K *bw = (const blk_q6_K *)(a->w + (size_t)r * a->ws) + k;
        __m512i q[4], s[4]; /* q[p]: groups 2p | 2p+1; s[p] their four scales, 8 lanes each */
        for (int h = 0; h < 2; h++) {
            const __m512i ql = _mm512_loadu_si512(bw->ql + 64 * h), qh = bcast256(bw->qh + 32 * h);
            const __m512i hi_a = _mm512_slli_epi16(halves_srl_and(qh, 2, 0x03), 4);
            const __m512i hi_b = _mm512_slli_epi16(halves_srl_and(_mm512_srli_epi16(qh, 4), 2, 0x03), 4);
            q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, _mm512_set1_epi8(0xF)), hi_a);
            q[2 * h + 1] =
                _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), _mm512_set1_epi8(0xF)), hi_b);
        }
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)bw->scales));
        for (int p = 0; p < 4; p++) {
            const __m256i lo =
                _mm256_set_m128i(_mm_set1_epi16((short)(4 * p + 1)), _mm_set1_epi16((short)(4 * p)));
            const __m256i hi =
                _mm256_set_m128i(_mm_set1_epi16((short)(4 * p + 3)), _mm_set1_epi16((short)(4 * p + 2)));
            s[p] = pick_i16(sc16, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
        }
        const float d = f16(bw->d);
        for (int b = 0; b < B; b++) {
            const blk_q8_K *bx = (const blk_q8_K *)(a->x + (size_t)(b0 + b) * a->xs) + k;
            acc[b] = q6_K_step(acc[b], k_dots_512(q, s, bx), sc16, bx, d);
        }
    }
    for (int b = 0; b < B; b++) a->y[(b0 + b) * a->ldy + r] = hsum_ps(acc[b]);
}

DEFINE_K_TILE(q6_K_tile_512, q6_K_tile_512_body)

static void matmul_q4_K_512(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch, float *y,
                            int64_t ldy) {
    const mm_args a = {w, row_bytes(GGML_TYPE_Q4_K, n), xq, act_bytes(GGML_TYPE_Q4_K, n), n, y, ldy};
    drive(&a, r0, r1, n_batch, 1, K_BATCH_TILE, q4_K_tile_512);
}

static void matmul_q6_K_512(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch, float *y,
                            int64_t ldy) {
    const mm_args a = {w, row_bytes(GGML_TYPE_Q6_K, n), xq, act_bytes(GGML_TYPE_Q6_K, n), n, y, ldy};
    drive(&a, r0, r1, n_batch, 1, K_BATCH_TILE, q6_K_tile_512);
}

const kernel_table kernels_avx512_table = {
    .isa = KERNEL_AVX512,
    KERNELS_AVX2_SHARED,
    .matmul[SLOT_F32] = float_matmul_f32,
    .matmul[SLOT_F16] = float_matmul_f16,
    .attn_scores = attn_scores_avx512,
    .attn_values = attn_values_avx512,
    .attn_scores_f16 = attn_scores_f16_avx512,
    .attn_values_f16 = attn_values_f16_avx512,
    .matmul[SLOT_Q4_0_X8] = matmul_q4_0_x8_vnni,
    .matmul[SLOT_Q8_0_X8] = matmul_q8_0_x8_vnni,
    .matmul[SLOT_Q4_K_X8] = matmul_q4_K_x8_vnni,
    .matmul[SLOT_Q6_K_X8] = matmul_q6_K_x8_vnni,
    .matmul[SLOT_Q4_K] = matmul_q4_K_512,
    .matmul[SLOT_Q6_K] = matmul_q6_K_512,
};
