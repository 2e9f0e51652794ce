/* AVX-512 VNNI kernels (with AVX512VL, on 256- and 512-bit vectors). Compiled with
 * -mavx512f -mavx512bw -mavx512vl -mavx512vnni; reached only through
 * kernels_avx512_table, which kernels_init() selects after cpuid. Only the
 * X8 kernels have an AVX-512 form: the table takes every other entry from
 * the AVX2 file.
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
 * stream (F16 decode 2.2x faster than the AVX2 tiles on Zen 4); 32
 * registers hold the 3 x 4 x 2 accumulators of larger batches' tiles. F16
 * tiles of 5-8 batch rows ran 1.3x faster as 3 x 4 tiles with prefetch than
 * one row at a time. */
#define FLOAT_CHAINS 2
#define FLOAT_SMALL_BATCH 4
#define FLOAT_SMALL_BT 4
#define FLOAT_SMALL_R 1
#define FLOAT_RB 3
#define FLOAT_BT 4
#define FLOAT_PREFETCH_F16 1
#include "kernels_float_x86.h"


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
ALWAYS_INLINE void x8_dots_vnni(const uint8_t *qk, const blk_q8_0 *const *xr, int64_t k, const int32_t *const *osum,
                                const int B, const bool q8, __m256i *d) {
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
        d[j] = _mm256_sub_epi32(_mm256_add_epi32(s0, s1), _mm256_set1_epi32(osum[j][k]));
    }
}

/* One Q8_0_X8 batch row (decode) streams faster on Zen 4 with the hardware
 * prefetcher alone: 3.1-3.3 ms a token of wide q8_0 on one thread against
 * 3.7-3.9 with x8_prefetch. Q4_0_X8 rows and batches lose without it. */
DEFINE_X8_GROUP(x8_group_vnni, x8_dots_vnni, false)

DEFINE_X8_TILE(x8_tile_vnni, x8_group_vnni, X8_TILE)

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

/* The groups at ga and ga + gbytes (x8_tile_fn): out rows 0-7 are the
 * first group's, 8-15 the second's. */
ALWAYS_INLINE void x8_pair_group(const uint8_t *ga, size_t gbytes, int64_t n, const blk_q8_0 *const *xr,
                                 const int B, float *out, const bool q8) {
    const int64_t nb = n / QK8_0;
    const uint8_t *gb = ga + gbytes;
    const float *dx[X8_MAX_TILE];
    const int32_t *osum[X8_MAX_TILE];
    x8_act_tables(xr, n, B, dx, osum);
    const size_t bbytes = q8 ? 256 : 128;
    const uint8_t *qa = ga + 16 * nb, *qb = gb + 16 * nb;
    const __m512i low4 = _mm512_set1_epi8(0xF);
    __m512 acc[X8_MAX_TILE];
    for (int j = 0; j < B; j++) acc[j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < nb; k++) {
        const __m128i ha = _mm_loadu_si128((const __m128i *)(ga + 16 * k));
        const __m128i hb = _mm_loadu_si128((const __m128i *)(gb + 16 * k));
        const __m512 dw = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(ha), hb, 1));
        const uint8_t *ka = qa + (size_t)k * bbytes, *kb = qb + (size_t)k * bbytes;
        x8_prefetch(ka, bbytes);
        x8_prefetch(kb, bbytes);
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
            const int8_t *x = xr[j][k].qs;
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            for (int c = 0; c < 8; c += 2) {
                s0 = dpbusd_bcast16(s0, v[c], x + 4 * c);
                s1 = dpbusd_bcast16(s1, v[c + 1], x + 4 * c + 4);
            }
            const __m512i d = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(osum[j][k]));
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(dw, _mm512_set1_ps(dx[j][k])), acc[j]);
        }
    }
    for (int j = 0; j < B; j++) _mm512_storeu_ps(out + X8_OUT * j, acc[j]);
}

DEFINE_X8_TILE(x8_pair_tile, x8_pair_group, X8_TILE)

ALWAYS_INLINE void x8_matmul_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                  float *y, int64_t ldy, bool q8) {
    x8_matmul(w, n, r0, r1, xq, n_batch, y, ldy, q8, X8_TILE, x8_tile_vnni,
              n_batch >= X8_PAIR_MIN_BATCH ? x8_pair_tile : NULL);
}

static void matmul_q4_0_x8_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                float *y, int64_t ldy) {
    x8_matmul_vnni(w, n, r0, r1, xq, n_batch, y, ldy, false);
}

static void matmul_q8_0_x8_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                float *y, int64_t ldy) {
    x8_matmul_vnni(w, n, r0, r1, xq, n_batch, y, ldy, true);
}

const kernel_table kernels_avx512_table = {
    .isa = KERNEL_AVX512,
    KERNELS_AVX2_SHARED,
    .matmul[SLOT_F32] = float_matmul_f32,
    .matmul[SLOT_F16] = float_matmul_f16,
    .matmul[SLOT_Q4_0_X8] = matmul_q4_0_x8_vnni,
    .matmul[SLOT_Q8_0_X8] = matmul_q8_0_x8_vnni,
};
