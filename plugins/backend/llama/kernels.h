/* CPU kernels for the llama backend: dequantization, activation
 * quantization and matrix-times-batch products for F32, F16, Q8_0, Q4_0,
 * Q4_K and Q6_K weights (block layouts as GGUF/ggml define them).
 *
 * Each kernel has a scalar reference; SIMD versions (AVX2+FMA+F16C,
 * AVX-512 where present) are chosen once at run time by kernels_init() and
 * must agree with the scalar path (tests compare them). */
#ifndef WEFT_LLAMA_KERNELS_H
#define WEFT_LLAMA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

typedef enum kernel_isa { KERNEL_SCALAR = 0, KERNEL_AVX2 = 1, KERNEL_AVX512 = 2 } kernel_isa;

/* Detect the CPU and pick kernels; `force` < 0 = best available, else that
 * ISA (if supported). Returns the ISA chosen. Thread-safe, idempotent. */
kernel_isa kernels_init(int force);
const char *kernel_isa_name(kernel_isa isa);
/* The ISA that kernel_isa_name() calls `name`; -1 for any other name. */
int kernel_isa_from_name(const char *name);

/* fp16 <-> fp32 (IEEE half). */
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
/* n halves to floats: F16C where the CPU has it (an F16 KV cache converts
 * every cached row it attends to). Exact, so the same bits either way. */
void fp16_row_to_fp32(const uint16_t *src, float *dst, int64_t n);

/* Split layouts (WEFT_TYPE_Q8_0_SPLIT and WEFT_TYPE_{Q4_0,Q8_0,Q4_K,Q6_K}_X8
 * in gguf.h): the loader rewrites Q8_0 / Q4_0 / Q4_K / Q6_K weight matrices
 * in place into
 * these, same bytes in all. The X8 layouts interleave rows in groups of 8
 * (the matrix must have whole groups): a group holds its blocks in pairs,
 * each pair the 8 rows' scales of its two blocks (16 bytes each), then the
 * two blocks' quants (an odd last block: its scales, its quants), so a
 * group is one stream and its quants 32-byte aligned where it is
 * (x8_scales_at, x8_quants_at in kernels_internal.h).
 * Q4_0_X8: 128 bytes a block, in which element e of row l is the nibble of
 * byte 32 (e / 8) + 4 l + e % 4, high when (e / 4) is odd. Q8_0_X8: 256
 * bytes a block, element e of row l in byte 32 (e / 4) + 4 l + e % 4, as
 * the quant + 128 (an unsigned byte). So a vector lane is a row: the AVX2
 * kernels convert 8 scales with one instruction and do the block's integer
 * dot for 8 rows at once (docs/performance.md, "Split weight rows"). Q8_0
 * matrices without whole groups use split rows: each row holds its nb block
 * scales (fp16) first, then 32 quant bytes per block. Rows of a split
 * matrix are not separately addressable: use dequantize_matrix_row.
 * Q4_K_X8 (whole groups of 8 rows): a group is its super-blocks in order,
 * 1152 bytes each: the 8 rows' d (fp16, 16 bytes), their dmin (16), their
 * 12 scale bytes (byte b of row l at 32 + 8 b + l), then sub-block j
 * (elements 32 j .. 32 j + 31, as nibbles) at 128 + 128 j in Q4_0_X8's
 * block layout. Q6_K_X8 (whole groups of 8 rows), 1680 bytes a
 * super-block: the 8 rows' d (16 bytes), their 16 scales (scale j of row l
 * at 16 + 8 j + l), then from 144 the quants + 32 (0..63) in chunks of 32
 * elements, 192 bytes each: the low 4 bits as a Q4_0_X8 block (128 bytes),
 * then the high 2 bits, element e of row l in bits 2 ((e / 4) % 4) of
 * byte 128 + 32 (e / 16) + 4 l + e % 4. A lane's quants meet Q8_K bytes
 * in one dpbusd, and the 8 rows' scales decode in 8 lanes at once
 * (docs/performance.md, "K-quant rows interleaved by 8"). */

/* The split type for a matrix of `rows` rows of type t and length n, or t
 * if it has none (Q4_0, Q4_K and Q6_K need rows in whole groups of 8; Q8_0
 * without them gets split rows). */
ggml_type kernels_split_type(ggml_type t, int64_t rows, int64_t n);
/* Rewrite a matrix of `rows` rows of type t (length n) in place as
 * kernels_split_type(t, rows, n). False, and nothing rewritten, when it has
 * no split type, or when it would get split rows and a quant is -128:
 * ggml's quantizer never writes it (|q| <= 127), and the split-row kernels
 * may negate weights. */
bool kernels_split_rows(ggml_type t, void *data, int64_t rows, int64_t n);
/* Row r (n elements) of a matrix of type t, split or not, as floats. */
void dequantize_matrix_row(ggml_type t, const void *w, int64_t r, int64_t n, float *dst);
/* The file type a (possibly split) type was made from. */
ggml_type kernels_file_type(ggml_type t);

/* Bytes of one row of `n` elements of type t (n a multiple of the block size). */
size_t row_bytes(ggml_type t, int64_t n);

/* Dequantize one row of n elements (not for split types). */
void dequantize_row(ggml_type t, const void *src, float *dst, int64_t n);
/* Quantize one row of n floats to type t (Q8_0, Q4_0, F16, F32 at least;
 * used by tests and the model-writing tool). Also BF16, Q8_K, and simple
 * round-to-nearest Q4_K / Q6_K (valid blocks, not ggml's optimized choice). */
void quantize_row(ggml_type t, const float *src, void *dst, int64_t n);

/* Activations are quantized once per batch row into the "dot type" of the
 * weight type (Q8_0 for Q8_0/Q4_0 weights, Q8_K for K-quants, F32/F16 use the
 * floats as they are), so a row's format depends on the exact type:
 * Q8_0_SPLIT adds a table of float scales after the Q8_0 blocks, and
 * Q4_0_X8 / Q8_0_X8 take 40-byte blocks: the 32 quants, the scale as a
 * float, and the quants' sum times the weights' offset (8 or 128) as an
 * int32. act_bytes() tells the buffer size per row. */
size_t act_bytes(ggml_type weight_type, int64_t n);
void quantize_act(ggml_type weight_type, const float *x, void *xq, int64_t n);

/* Y[b * ldy + r] = dot(W row r, X row b) for r in [r0, r1), b in [0, n_batch).
 * W: rows of `n` elements of type wt, row-major, row stride row_bytes(wt, n).
 * XQ: n_batch activation rows produced by quantize_act (stride act_bytes);
 * for F32/F16 weights XQ holds plain floats (stride n * 4). XQ must be
 * 4-byte aligned (Q8_K blocks start with a float).
 * Reads each weight block once for all batch rows (the cost of k rows must
 * stay close to the cost of one). */
void matmul_rows(ggml_type wt, const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq,
                 int n_batch, float *y, int64_t ldy);

/* True if matmul_rows/quantize_act handle weights of type t (F32, F16, BF16,
 * Q8_0, Q4_0, Q4_K, Q6_K); other types abort there. */
bool kernels_matmul_supported(ggml_type t);

/* Scalar reference of the same product, for tests. */
void matmul_rows_ref(ggml_type wt, const void *w, int64_t n, int64_t r0, int64_t r1,
                     const void *xq, int n_batch, float *y, int64_t ldy);

/* Attention's inner loops, on rows of hd floats.
 * attn_scores: out[s] = scale * dot(q, k[s]) for s < n_keys. A score's bits
 * do not depend on n_keys or on the other keys.
 * attn_values: out[i] += sum over s < n_values of p[s] * v[s][i], added in
 * order of s, so calls over consecutive slot ranges equal one call.
 * The _ref versions are the scalar reference; the SIMD ones match them bit
 * for bit. */
void attn_scores(const float *q, const float *const *k, int n_keys, int hd, float scale, float *out);
void attn_values(float *out, const float *p, const float *const *v, int n_values, int hd);
void attn_scores_ref(const float *q, const float *const *k, int n_keys, int hd, float scale, float *out);
void attn_values_ref(float *out, const float *p, const float *const *v, int n_values, int hd);
/* The same on half rows (an F16 cache), converted as they are read: the
 * bits of attn_scores / attn_values on the rows converted first. */
void attn_scores_f16(const float *q, const uint16_t *const *k, int n_keys, int hd, float scale, float *out);
void attn_values_f16(float *out, const float *p, const uint16_t *const *v, int n_values, int hd);

/* The same for n_q queries against the same rows (q[r] scored into
 * out[r]; p[r] weighting values into out[r]), each with the bits of the
 * one-query call. The AVX-512 kernels read each key or value row once for
 * several queries: the rows of a prefill chunk or a tree, the query heads
 * that share a kv head. The _ref forms loop the scalar reference. */
typedef void attn_scores_rows_kernel(const float *const *q, int n_q, const float *const *k, int n_keys, int hd,
                                     float scale, float *const *out);
typedef void attn_values_rows_kernel(float *const *out, const float *const *p, int n_q, const float *const *v,
                                     int n_values, int hd);
typedef void attn_scores_rows_f16_kernel(const float *const *q, int n_q, const uint16_t *const *k, int n_keys,
                                         int hd, float scale, float *const *out);
typedef void attn_values_rows_f16_kernel(float *const *out, const float *const *p, int n_q,
                                         const uint16_t *const *v, int n_values, int hd);
attn_scores_rows_kernel attn_scores_rows, attn_scores_rows_ref;
attn_values_rows_kernel attn_values_rows, attn_values_rows_ref;
attn_scores_rows_f16_kernel attn_scores_rows_f16, attn_scores_rows_f16_ref;
attn_values_rows_f16_kernel attn_values_rows_f16, attn_values_rows_f16_ref;

/* exp(x) for x clamped to [-87, 88], where the result is a normal float:
 * within 2 ulp. Softmax and SwiGLU use it (scalar and SIMD alike). */
float exp_ref(float x);
/* x[i] = exp(x[i] - max) / sum, in place, n >= 1 (exp_ref's exp; the sum
 * in 8 lanes combined by a score's tree, then the last n % 8 in order). */
void softmax(float *x, int n);
void softmax_ref(float *x, int n);
/* g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]. */
void swiglu(float *g, const float *u, int64_t n);
void swiglu_ref(float *g, const float *u, int64_t n);

#endif
