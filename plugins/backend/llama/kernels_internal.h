/* Private to kernels*.c: ggml block layouts, the dispatch table and the
 * small decoders the scalar and SIMD paths share. */
#ifndef WEFT_LLAMA_KERNELS_INTERNAL_H
#define WEFT_LLAMA_KERNELS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#define QK8_0 32
#define QK4_0 32
#define QK_K 256

typedef struct blk_q8_0 {
    uint16_t d; /* fp16 */
    int8_t qs[QK8_0];
} blk_q8_0;

typedef struct blk_q4_0 {
    uint16_t d;            /* fp16 */
    uint8_t qs[QK4_0 / 2]; /* element j: low nibble of qs[j]; j+16: high nibble */
} blk_q4_0;

typedef struct blk_q4_K {
    uint16_t d, dmin;   /* fp16 scales of the 6-bit sub-block scales / mins */
    uint8_t scales[12]; /* 8 scales + 8 mins, 6 bits each, see q4_K_scale_min */
    uint8_t qs[QK_K / 2];
} blk_q4_K;

typedef struct blk_q6_K {
    uint8_t ql[QK_K / 2]; /* low 4 bits */
    uint8_t qh[QK_K / 4]; /* high 2 bits */
    int8_t scales[QK_K / 16];
    uint16_t d; /* fp16 */
} blk_q6_K;

/* Q4_0_X8 / Q8_0_X8 (kernels.h): the offsets in a group of nb blocks of
 * block k's 16 scale bytes and of its quants. Blocks go in pairs, the two
 * blocks' scales and then their quants, so quants are 32-byte aligned
 * where the group is (a last odd block: its scales, its quants). */
static inline size_t x8_quant_bytes(bool q8) { return q8 ? 256 : 128; }
static inline size_t x8_scales_at(int64_t k, bool q8) {
    return (size_t)(k / 2) * 2 * (16 + x8_quant_bytes(q8)) + 16 * (size_t)(k % 2);
}
static inline size_t x8_quants_at(int64_t k, int64_t nb, bool q8) {
    const size_t pair = (size_t)(k / 2) * 2 * (16 + x8_quant_bytes(q8));
    return k == nb - 1 && nb % 2 ? pair + 16 : pair + 32 + x8_quant_bytes(q8) * (size_t)(k % 2);
}

/* An activation block for Q4_0_X8 / Q8_0_X8 weights: the Q8_0 quants, the
 * scale as a float, and the quants' sum times the offset of the X8 types'
 * unsigned weights (8 for Q4_0_X8, 128 for Q8_0_X8), which their kernels
 * take off their dots. Everything a block's dot needs sits at one offset
 * (40 k) from the row's start, so an 8-row batch walks 8 pointers: with
 * the scales and sums in tables after the blocks it needed 24, which GCC
 * kept in vector registers and moved back on every block (with
 * DEFINE_X8_MATMUL, hot 2048 x 768 Q8_0_X8: 8 rows 78.6 -> 73.5 us, one
 * row 27.8 -> 23.5). 40 bytes keep the quants 4-byte aligned: their
 * broadcasts never straddle a cache line. */
typedef struct blk_x8_act {
    int8_t qs[QK8_0];
    float d;
    int32_t osum;
} blk_x8_act;

/* Q4_K_X8 (kernels.h): a super-block of 8 rows, and where its parts start */
enum { Q4_K_X8_BYTES = 8 * 144, Q4_K_X8_DMIN = 16, Q4_K_X8_SCALES = 32, Q4_K_X8_QS = 128 };
/* Q6_K_X8 (kernels.h): the same for Q6_K */
enum { Q6_K_X8_BYTES = 8 * 210, Q6_K_X8_SCALES = 16, Q6_K_X8_QS = 144, Q6_K_X8_CHUNK = 128 + 64 };

/* Activation format for K-quant dots; bsums[j] = sum of qs[16j..16j+15]. */
typedef struct blk_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} blk_q8_K;

_Static_assert(sizeof(blk_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(blk_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(blk_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(blk_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(blk_q8_K) == 292, "q8_K layout");

/* Sub-block j (0..7) scale and min of a Q4_K block: j < 4 keep them in the
 * low 6 bits of scales[j] / scales[j+4]; j >= 4 split them into a low
 * nibble in scales[j+4] and 2 high bits on top of scales[j-4] / scales[j]. */
static inline void q4_K_scale_min(const uint8_t *s, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* Per-type kernels; NULL means "use the scalar reference". */
typedef void matmul_kernel(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                           float *y, int64_t ldy);
typedef matmul_kernel *matmul_fn;
typedef void (*quant_fn)(const float *x, void *xq, int64_t n);
typedef void (*quant_x8_fn)(const float *x, void *xq, int64_t n, int32_t offset);
typedef void (*softmax_fn)(float *x, int n);
typedef void (*swiglu_fn)(float *g, const float *u, int64_t n);
typedef void (*f16_row_fn)(const uint16_t *src, float *dst, int64_t n);

enum kernel_slot {
    SLOT_F32,
    SLOT_F16,
    SLOT_Q8_0,
    SLOT_Q4_0,
    SLOT_Q4_K,
    SLOT_Q6_K,
    SLOT_Q8_0_SPLIT,
    SLOT_Q4_0_X8,
    SLOT_Q8_0_X8,
    SLOT_Q4_K_X8,
    SLOT_Q6_K_X8,
    SLOT_COUNT
};

typedef struct kernel_table {
    kernel_isa isa;
    matmul_fn matmul[SLOT_COUNT];
    quant_fn quant_q8_0; /* activations for Q8_0/Q4_0 weights */
    quant_x8_fn quant_x8; /* ... for Q4_0_X8/Q8_0_X8 weights (offset: 8 or 128) */
    quant_fn quant_q8_K; /* activations for K-quant weights */
    attn_scores_rows_kernel *attn_scores; /* attention: the _rows forms of kernels.h */
    attn_values_rows_kernel *attn_values;
    attn_scores_rows_f16_kernel *attn_scores_f16;
    attn_values_rows_f16_kernel *attn_values_f16;
    softmax_fn softmax;
    swiglu_fn swiglu;
    f16_row_fn f16_to_f32;
} kernel_table;

extern const kernel_table kernels_avx2_table;
extern const kernel_table kernels_avx512_table;
/* The AVX2 entries that the AVX-512 table shares: all but the float, X8
 * and K-quant kernels and attention. */
matmul_kernel matmul_q8_0_avx2, matmul_q4_0_avx2, matmul_q8_0_split_avx2;
void quant_q8_0_avx2(const float *x, void *xq, int64_t n);
void quant_x8_avx2(const float *x, void *xq, int64_t n, int32_t offset);
void quant_q8_K_avx2(const float *x, void *xq, int64_t n);
void f16_to_f32_avx2(const uint16_t *src, float *dst, int64_t n);
#define KERNELS_AVX2_SHARED                                                                                    \
    .matmul[SLOT_Q8_0] = matmul_q8_0_avx2, .matmul[SLOT_Q4_0] = matmul_q4_0_avx2,                              \
    .matmul[SLOT_Q8_0_SPLIT] = matmul_q8_0_split_avx2, .quant_q8_0 = quant_q8_0_avx2, .quant_x8 = quant_x8_avx2, \
    .quant_q8_K = quant_q8_K_avx2, .softmax = softmax_avx2, .swiglu = swiglu_avx2,                             \
    .f16_to_f32 = f16_to_f32_avx2
/* The table in use (kernels_init() on first call). */
const kernel_table *kernels_active(void);

/* Attention: a score's 8 lane sums combined, the one tree both paths use. */
enum { ATTN_LANES = 8 };
float attn_lane_tree(const float lane[ATTN_LANES]);

/* exp_ref (kernels.h): n = rint(x log2 e), r = x - n ln 2 in two fused
 * steps, a degree-7 polynomial of r (Cephes expf's coefficients), times
 * 2^n. The SIMD copy runs the same operations. */
#define EXP_MIN (-87.0f)
#define EXP_MAX 88.0f
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO (-2.12194440e-4f)
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f
void softmax_avx2(float *x, int n);
void swiglu_avx2(float *g, const float *u, int64_t n);
attn_scores_rows_kernel attn_scores_avx2, attn_scores_avx512;
attn_values_rows_kernel attn_values_avx2, attn_values_avx512;
attn_scores_rows_f16_kernel attn_scores_f16_avx2, attn_scores_f16_avx512;
attn_values_rows_f16_kernel attn_values_f16_avx2, attn_values_f16_avx512;

/* Activations for Q8_0_SPLIT weights (kernels.h): the Q8_0 blocks, then,
 * 4-byte aligned, the block scales as floats (zero up to a multiple of 8
 * blocks, for 8-wide loads). quantize_act makes them once per row, so a
 * matmul's calls over row ranges do not redo them. */
static inline int64_t act_blocks_padded(int64_t n) { return (n / QK8_0 + 7) & ~(int64_t)7; }
static inline size_t act_tables_at(int64_t n) { return ((size_t)n / QK8_0 * sizeof(blk_q8_0) + 3) & ~(size_t)3; }
static inline const float *act_scales_f32(const void *row, int64_t n) {
    return (const float *)((const uint8_t *)row + act_tables_at(n));
}

/* Scalar activation quantizers; SIMD versions must produce the same bytes. */
void quantize_q8_0_ref(const float *x, void *dst, int64_t n);
void quantize_x8_ref(const float *x, void *dst, int64_t n, int32_t offset);
void quantize_q8_K_ref(const float *x, void *dst, int64_t n);

#endif
