/* AVX-512 VNNI kernels (with AVX512VL, on 256-bit vectors). Compiled with
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
            s0 = _mm256_dpbusd_epi32(s0, v[c], bcast4(x + 4 * c));
            s1 = _mm256_dpbusd_epi32(s1, v[c + 1], bcast4(x + 4 * c + 4));
        }
        d[j] = _mm256_sub_epi32(_mm256_add_epi32(s0, s1), _mm256_set1_epi32(osum[j][k]));
    }
}

DEFINE_X8_GROUP(x8_group_vnni, x8_dots_vnni)

static void x8_tile_vnni(const uint8_t *group, int64_t n, const blk_q8_0 *const *xr, int B, __m256 *acc,
                         bool q8) {
    switch (B) {
    case 1: x8_group_vnni(group, n, xr, 1, acc, q8); break;
    case 2: x8_group_vnni(group, n, xr, 2, acc, q8); break;
    case 3: x8_group_vnni(group, n, xr, 3, acc, q8); break;
    case 4: x8_group_vnni(group, n, xr, 4, acc, q8); break;
    case 5: x8_group_vnni(group, n, xr, 5, acc, q8); break;
    case 6: x8_group_vnni(group, n, xr, 6, acc, q8); break;
    case 7: x8_group_vnni(group, n, xr, 7, acc, q8); break;
    default: x8_group_vnni(group, n, xr, 8, acc, q8); break;
    }
}

static void matmul_q4_0_x8_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                float *y, int64_t ldy) {
    x8_matmul(w, n, r0, r1, xq, n_batch, y, ldy, false, X8_TILE, x8_tile_vnni);
}

static void matmul_q8_0_x8_vnni(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                                float *y, int64_t ldy) {
    x8_matmul(w, n, r0, r1, xq, n_batch, y, ldy, true, X8_TILE, x8_tile_vnni);
}

const kernel_table kernels_avx512_table = {
    .isa = KERNEL_AVX512,
    KERNELS_AVX2_SHARED,
    .matmul[SLOT_F32] = float_matmul_f32,
    .matmul[SLOT_F16] = float_matmul_f16,
    .matmul[SLOT_Q4_0_X8] = matmul_q4_0_x8_vnni,
    .matmul[SLOT_Q8_0_X8] = matmul_q8_0_x8_vnni,
};
