/* Scalar reference kernels, fp16 conversion and run-time dispatch.
 *
 * The reference dots compute each block's integer dot exactly and then
 * accumulate (weight scale * activation scale * integer sum) in float, block
 * by block. SIMD kernels do the same integer work, so they differ from these
 * only in float summation order. */
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kernels_internal.h"

/* ---- fp16 / bf16 ------------------------------------------------------ */

static float bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000 | (man << 13)); /* inf, nan */
    if (exp != 0) return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
    /* zero or subnormal: man * 2^-24, exact in float */
    const float v = (float)man * 0x1p-24f;
    return sign ? -v : v;
}

/* Round to nearest even, like F16C's _mm_cvtps_ph(x, 0). */
uint16_t fp32_to_fp16(float f) {
    const uint32_t x = f32_to_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) return sign | 0x7e00 | ((ax >> 13) & 0x3ff); /* quiet nan */
    if (ax >= 0x47800000) return sign | 0x7c00;                       /* >= 2^16: inf */
    uint32_t h, rem, half;
    if (ax >= 0x38800000) { /* normal half: rebias exponent 127 -> 15 */
        h = (ax - 0x38000000) >> 13;
        rem = ax & 0x1fff;
        half = 0x1000;
    } else {
        /* subnormal half (or zero): count units of 2^-24 */
        if (ax < 0x33000000) return sign; /* below 2^-25 */
        const uint32_t shift = 126 - (ax >> 23);
        const uint32_t m = (ax & 0x7fffff) | 0x800000;
        h = m >> shift;
        rem = m & ((1u << shift) - 1);
        half = 1u << (shift - 1);
    }
    if (rem > half || (rem == half && (h & 1))) h++; /* a carry into the exponent is right */
    return (uint16_t)(sign | h);
}

static float bf16_to_fp32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

static uint16_t fp32_to_bf16(float f) {
    const uint32_t x = f32_to_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40); /* quiet nan */
    return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* Round to nearest even for |v| < 2^22 without libm (and identical to
 * _mm256_cvtps_epi32 under the default rounding mode). */
static inline int round_even(float v) { return (int)((v + 0x1.8p23f) - 0x1.8p23f); }

/* ---- sizes ------------------------------------------------------------- */

ggml_type kernels_file_type(ggml_type t) {
    switch (t) {
    case WEFT_TYPE_Q8_0_SPLIT: return GGML_TYPE_Q8_0;
    case WEFT_TYPE_Q4_0_X8: return GGML_TYPE_Q4_0;
    case WEFT_TYPE_Q8_0_X8: return GGML_TYPE_Q8_0;
    case WEFT_TYPE_Q4_K_X8: return GGML_TYPE_Q4_K;
    case WEFT_TYPE_Q6_K_X8: return GGML_TYPE_Q6_K;
    default: return t;
    }
}

size_t row_bytes(ggml_type t, int64_t n) {
    t = kernels_file_type(t);
    const size_t blk = ggml_blck_size(t);
    return blk ? (size_t)n / blk * ggml_type_size(t) : 0;
}

static int slot_of(ggml_type t) {
    switch (t) {
    case GGML_TYPE_F32: return SLOT_F32;
    case GGML_TYPE_F16: return SLOT_F16;
    case GGML_TYPE_Q8_0: return SLOT_Q8_0;
    case GGML_TYPE_Q4_0: return SLOT_Q4_0;
    case GGML_TYPE_Q4_K: return SLOT_Q4_K;
    case GGML_TYPE_Q6_K: return SLOT_Q6_K;
    case WEFT_TYPE_Q8_0_SPLIT: return SLOT_Q8_0_SPLIT;
    case WEFT_TYPE_Q4_0_X8: return SLOT_Q4_0_X8;
    case WEFT_TYPE_Q8_0_X8: return SLOT_Q8_0_X8;
    case WEFT_TYPE_Q4_K_X8: return SLOT_Q4_K_X8;
    case WEFT_TYPE_Q6_K_X8: return SLOT_Q6_K_X8;
    default: return -1;
    }
}

static _Noreturn void unsupported(const char *what, ggml_type t) {
    fprintf(stderr, "weft llama kernels: %s: unsupported type %d\n", what, (int)t);
    abort();
}

bool kernels_matmul_supported(ggml_type t) { return slot_of(t) >= 0 || t == GGML_TYPE_BF16; }

/* Q4_0_X8 / Q8_0_X8: weights whose activations are blk_x8_act blocks */
static bool has_x8_act(ggml_type wt) { return wt == WEFT_TYPE_Q4_0_X8 || wt == WEFT_TYPE_Q8_0_X8; }

size_t act_bytes(ggml_type wt, int64_t n) {
    switch (kernels_file_type(wt)) {
    case GGML_TYPE_Q8_0:
    case GGML_TYPE_Q4_0:
        if (wt == WEFT_TYPE_Q8_0_SPLIT) /* blocks and a scale table (kernels_internal.h) */
            return act_tables_at(n) + (size_t)act_blocks_padded(n) * sizeof(float);
        if (has_x8_act(wt)) return (size_t)n / QK8_0 * sizeof(blk_x8_act);
        return (size_t)n / QK8_0 * sizeof(blk_q8_0);
    case GGML_TYPE_Q4_K:
    case GGML_TYPE_Q6_K: return (size_t)n / QK_K * sizeof(blk_q8_K);
    default: return (size_t)n * sizeof(float);
    }
}

/* ---- block decoders (shared by dequantize and the reference dots) ------ */

static void decode_q4_0(const blk_q4_0 *b, int8_t q[QK4_0]) {
    for (int j = 0; j < QK4_0 / 2; j++) {
        q[j] = (int8_t)((b->qs[j] & 0xF) - 8);
        q[j + QK4_0 / 2] = (int8_t)((b->qs[j] >> 4) - 8);
    }
}

/* Sub-block j of a Q4_K block holds elements 32j..32j+31: the low nibbles of
 * qs[32*(j/2) ..] for even j, the high nibbles for odd j. */
static void decode_q4_K(const blk_q4_K *b, uint8_t q[QK_K], uint8_t sc[8], uint8_t m[8]) {
    for (int j = 0; j < 8; j++) {
        q4_K_scale_min(b->scales, j, &sc[j], &m[j]);
        const uint8_t *qs = b->qs + 32 * (j / 2);
        for (int l = 0; l < 32; l++) q[32 * j + l] = (j & 1) ? qs[l] >> 4 : qs[l] & 0xF;
    }
}

/* Q6_K element i of a 128-element half h: ql/qh/scales advance by 64/32/8
 * per half; within a half, quarter k = i / 32 takes nibble k>>1 of
 * ql[(i & 31) + 32*(k&1)] and bits 2k..2k+1 of qh[i & 31]. Loops by
 * quarter, which vectorize: loading a model decodes every block. */
static size_t q6_K_ql_byte(int e) { return 64 * (size_t)(e / 128) + e % 32 + 32 * (size_t)((e % 128 / 32) & 1); }
static int q6_K_ql_shift(int e) { return 4 * ((e % 128 / 32) >> 1); }
static size_t q6_K_qh_byte(int e) { return 32 * (size_t)(e / 128) + e % 32; }
static int q6_K_qh_shift(int e) { return 2 * (e % 128 / 32); }

static void decode_q6_K(const blk_q6_K *b, int8_t q[QK_K]) {
    for (int c = 0; c < QK_K / 32; c++) { /* by quarters, whose shifts are constant: the loop vectorizes */
        const int e0 = 32 * c, ls = q6_K_ql_shift(e0), hs = q6_K_qh_shift(e0);
        const uint8_t *ql = b->ql + q6_K_ql_byte(e0), *qh = b->qh + q6_K_qh_byte(e0);
        for (int i = 0; i < 32; i++) q[e0 + i] = (int8_t)((((ql[i] >> ls) & 0xF) | ((qh[i] >> hs) & 3) << 4) - 32);
    }
}

static int32_t isum_i8(const int8_t *a, const int8_t *b, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; i++) s += (int32_t)a[i] * b[i];
    return s;
}

/* ---- split rows (kernels.h) -------------------------------------------- */

ggml_type kernels_split_type(ggml_type t, int64_t rows, int64_t n) {
    if (rows % 8 == 0 && n % QK_K == 0) {
        if (t == GGML_TYPE_Q4_K) return WEFT_TYPE_Q4_K_X8;
        if (t == GGML_TYPE_Q6_K) return WEFT_TYPE_Q6_K_X8;
    }
    if (n % QK8_0 != 0) return t;
    if (t == GGML_TYPE_Q8_0) return rows % 8 == 0 ? WEFT_TYPE_Q8_0_X8 : WEFT_TYPE_Q8_0_SPLIT;
    if (t == GGML_TYPE_Q4_0 && rows % 8 == 0) return WEFT_TYPE_Q4_0_X8;
    return t;
}

/* Where element e (0..31) of a Q8_0_X8 block of lane l sits: byte
 * 32 (e / 4) + 4 l + (e % 4) of the block's 256, holding the quant + 128
 * (so as unsigned). */
static size_t q8x8_byte(int l, int e) { return (size_t)(32 * (e / 4) + 4 * l + e % 4); }

/* Row l's nibbles of one 32-element chunk (u: its 32 values, low 4 bits
 * taken) into the chunk's 128 bytes of an X8 layout, and back: element e
 * of lane l in byte 32 (e / 8) + 4 l + (e % 4), the high nibble when
 * (e / 4) is odd (Q4_0_X8 blocks, Q4_K_X8 / Q6_K_X8 nibbles). Whole bytes
 * at a time, as loading a model repacks every one. */
static void x8_pack_nibbles(uint8_t *chunk, int l, const uint8_t u[32]) {
    for (int m = 0; m < 4; m++) { /* the 4 bytes of a run as one word */
        uint32_t lo, hi;
        memcpy(&lo, u + 8 * m, 4);
        memcpy(&hi, u + 8 * m + 4, 4);
        const uint32_t packed = (lo & 0x0F0F0F0Fu) | (hi & 0x0F0F0F0Fu) << 4;
        memcpy(chunk + 32 * m + 4 * l, &packed, 4);
    }
}

static void x8_unpack_nibbles(const uint8_t *chunk, int l, uint8_t u[32]) {
    for (int m = 0; m < 4; m++)
        for (int i = 0; i < 4; i++) {
            const uint8_t byte = chunk[32 * m + 4 * l + i];
            u[8 * m + i] = byte & 0xF;
            u[8 * m + 4 + i] = byte >> 4;
        }
}

/* Row l's block b into a Q4_K_X8 super-block sb, and out of one. */
static void q4_K_x8_put(uint8_t *sb, int l, const blk_q4_K *b) {
    memcpy(sb + 2 * l, &b->d, 2);
    memcpy(sb + Q4_K_X8_DMIN + 2 * l, &b->dmin, 2);
    for (int i = 0; i < 12; i++) sb[Q4_K_X8_SCALES + 8 * i + l] = b->scales[i];
    uint8_t q[QK_K], sc[8], m[8];
    decode_q4_K(b, q, sc, m);
    for (int j = 0; j < 8; j++) x8_pack_nibbles(sb + Q4_K_X8_QS + 128 * j, l, q + 32 * j);
}

static void q4_K_x8_get(const uint8_t *sb, int l, blk_q4_K *b) {
    memcpy(&b->d, sb + 2 * l, 2);
    memcpy(&b->dmin, sb + Q4_K_X8_DMIN + 2 * l, 2);
    for (int i = 0; i < 12; i++) b->scales[i] = sb[Q4_K_X8_SCALES + 8 * i + l];
    memset(b->qs, 0, sizeof b->qs);
    for (int j = 0; j < 8; j++) { /* decode_q4_K's sub-block j, backwards */
        uint8_t u[32];
        x8_unpack_nibbles(sb + Q4_K_X8_QS + 128 * j, l, u);
        for (int e = 0; e < 32; e++) b->qs[32 * (j / 2) + e] |= (uint8_t)(u[e] << (4 * (j & 1)));
    }
}

/* Element e (0..255) of row l in a Q6_K_X8 super-block: the byte and
 * shift of its high 2 bits (its low 4 are a nibble, x8_pack_nibbles). */
static size_t q6_K_x8_hbyte(int l, int e) {
    const int c = e / 32, i = e % 32;
    return Q6_K_X8_QS + Q6_K_X8_CHUNK * (size_t)c + 128 + 32 * (size_t)(i / 16) + 4 * (size_t)l + i % 4;
}
static int q6_K_x8_hshift(int e) { return 2 * ((e % 32 / 4) % 4); }
static void q6_K_x8_put(uint8_t *sb, int l, const blk_q6_K *b) {
    memcpy(sb + 2 * l, &b->d, 2);
    for (int j = 0; j < QK_K / 16; j++) sb[Q6_K_X8_SCALES + 8 * j + l] = (uint8_t)b->scales[j];
    int8_t q[QK_K];
    uint8_t u[QK_K];
    decode_q6_K(b, q);
    for (int e = 0; e < QK_K; e++) u[e] = (uint8_t)(q[e] + 32);
    for (int c = 0; c < QK_K / 32; c++) {
        x8_pack_nibbles(sb + Q6_K_X8_QS + Q6_K_X8_CHUNK * c, l, u + 32 * c);
        for (int i = 0; i < 32; i += 4 * 4) /* 16 elements: 4 high-bit pairs in each of 4 bytes */
            for (int k = 0; k < 4; k++) {
                uint8_t hb = 0;
                for (int t = 0; t < 4; t++) hb |= (uint8_t)((u[32 * c + i + 4 * t + k] >> 4) << (2 * t));
                sb[q6_K_x8_hbyte(l, 32 * c + i + k)] = hb;
            }
    }
}

static void q6_K_x8_get(const uint8_t *sb, int l, blk_q6_K *b) {
    memcpy(&b->d, sb + 2 * l, 2);
    for (int j = 0; j < QK_K / 16; j++) b->scales[j] = (int8_t)sb[Q6_K_X8_SCALES + 8 * j + l];
    memset(b->ql, 0, sizeof b->ql);
    memset(b->qh, 0, sizeof b->qh);
    uint8_t lo4[QK_K];
    for (int c = 0; c < QK_K / 32; c++) x8_unpack_nibbles(sb + Q6_K_X8_QS + Q6_K_X8_CHUNK * c, l, lo4 + 32 * c);
    for (int e = 0; e < QK_K; e++) {
        const int lo = lo4[e];
        const int hi = (sb[q6_K_x8_hbyte(l, e)] >> q6_K_x8_hshift(e)) & 3;
        b->ql[q6_K_ql_byte(e)] |= (uint8_t)(lo << q6_K_ql_shift(e));
        b->qh[q6_K_qh_byte(e)] |= (uint8_t)(hi << q6_K_qh_shift(e));
    }
}

/* Block k of row r of a split matrix (rows of n elements), in the file's
 * block layout. */
static void split_block(ggml_type st, const uint8_t *w, int64_t n, int64_t r, int64_t k, void *out) {
    const int64_t nb = n / QK8_0;
    const size_t rb = row_bytes(st, n);
    uint16_t d;
    if (st == WEFT_TYPE_Q4_K_X8 || st == WEFT_TYPE_Q6_K_X8) {
        const bool q4 = st == WEFT_TYPE_Q4_K_X8;
        const uint8_t *sb = w + (size_t)(r / 8) * 8 * rb + (size_t)k * (q4 ? Q4_K_X8_BYTES : Q6_K_X8_BYTES);
        if (q4)
            q4_K_x8_get(sb, (int)(r % 8), out);
        else
            q6_K_x8_get(sb, (int)(r % 8), out);
        return;
    }
    if (st == WEFT_TYPE_Q8_0_SPLIT) {
        const uint8_t *row = w + (size_t)r * rb;
        blk_q8_0 *b = out;
        memcpy(&d, row + 2 * k, 2);
        b->d = d;
        memcpy(b->qs, row + 2 * nb + (size_t)k * QK8_0, QK8_0);
        return;
    }
    const bool q8 = st == WEFT_TYPE_Q8_0_X8;
    const uint8_t *group = w + (size_t)(r / 8) * 8 * rb, *q = group + x8_quants_at(k, nb, q8);
    const int l = (int)(r % 8);
    memcpy(&d, group + x8_scales_at(k, q8) + 2 * l, 2);
    if (q8) {
        blk_q8_0 *b = out;
        b->d = d;
        for (int e = 0; e < QK8_0; e++) b->qs[e] = (int8_t)(q[q8x8_byte(l, e)] ^ 0x80);
        return;
    }
    blk_q4_0 *b = out;
    b->d = d;
    uint8_t u[QK4_0];
    x8_unpack_nibbles(q, l, u);
    for (int j = 0; j < QK4_0 / 2; j++) b->qs[j] = (uint8_t)(u[j] | u[j + 16] << 4);
}

bool kernels_split_rows(ggml_type t, void *data, int64_t rows, int64_t n) {
    const ggml_type st = kernels_split_type(t, rows, n);
    if (st == t) return false;
    const int64_t nb = n / QK8_0;
    const size_t rb = row_bytes(t, n);
    if (st == WEFT_TYPE_Q8_0_SPLIT)
        for (int64_t i = 0; i < rows * nb; i++) {
            const blk_q8_0 *b = (const blk_q8_0 *)data + i;
            for (int j = 0; j < QK8_0; j++)
                if (b->qs[j] == -128) return false;
        }
    const int64_t per = st == WEFT_TYPE_Q8_0_SPLIT ? 1 : 8; /* rows rewritten together */
    uint8_t *tmp = malloc(rb * per);
    if (!tmp) abort();
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
        uint8_t *dst = (uint8_t *)data + (size_t)r0 * rb;
        memcpy(tmp, dst, rb * per);
        if (st == WEFT_TYPE_Q4_K_X8 || st == WEFT_TYPE_Q6_K_X8) {
            memset(dst, 0, rb * per);
            for (int64_t k = 0; k < n / QK_K; k++)
                for (int l = 0; l < 8; l++) {
                    if (st == WEFT_TYPE_Q4_K_X8)
                        q4_K_x8_put(dst + (size_t)k * Q4_K_X8_BYTES, l, (const blk_q4_K *)(tmp + (size_t)l * rb) + k);
                    else
                        q6_K_x8_put(dst + (size_t)k * Q6_K_X8_BYTES, l, (const blk_q6_K *)(tmp + (size_t)l * rb) + k);
                }
            continue;
        }
        for (int64_t k = 0; k < nb; k++) {
            if (st == WEFT_TYPE_Q8_0_SPLIT) {
                const blk_q8_0 *b = (const blk_q8_0 *)tmp + k;
                memcpy(dst + 2 * k, &b->d, 2);
                memcpy(dst + 2 * nb + (size_t)k * QK8_0, b->qs, QK8_0);
                continue;
            }
            /* X8: the 8 rows' scales of block k (each block starts with its
             * fp16 scale), then their quants where kernels.h says; the 8
             * rows write every byte of both */
            const bool q8 = st == WEFT_TYPE_Q8_0_X8;
            const size_t bsz = row_bytes(t, QK8_0);
            uint8_t *q = dst + x8_quants_at(k, nb, q8);
            for (int l = 0; l < 8; l++) {
                const uint8_t *blk = tmp + (size_t)l * rb + (size_t)k * bsz;
                memcpy(dst + x8_scales_at(k, q8) + 2 * l, blk, 2);
                /* 4 quants at a time (q8x8_byte keeps runs of 4): byte by
                 * byte, repacking was half of loading a Q8_0 model */
                if (q8) {
                    const blk_q8_0 *b = (const blk_q8_0 *)blk;
                    for (int e = 0; e < QK8_0; e += 4) {
                        uint32_t four;
                        memcpy(&four, b->qs + e, 4);
                        four ^= 0x80808080u; /* + 128 each */
                        memcpy(q + q8x8_byte(l, e), &four, 4);
                    }
                    continue;
                }
                const blk_q4_0 *b = (const blk_q4_0 *)blk;
                uint8_t u[QK4_0]; /* elements 0-15 are the low nibbles, 16-31 the high ones */
                for (int e = 0; e < QK4_0 / 2; e += 4) {
                    uint32_t four;
                    memcpy(&four, b->qs + e, 4);
                    const uint32_t lo = four & 0x0F0F0F0Fu, hi = four >> 4 & 0x0F0F0F0Fu;
                    memcpy(u + e, &lo, 4);
                    memcpy(u + QK4_0 / 2 + e, &hi, 4);
                }
                x8_pack_nibbles(q, l, u);
            }
        }
    }
    free(tmp);
    return true;
}

void dequantize_matrix_row(ggml_type t, const void *w, int64_t r, int64_t n, float *dst) {
    const ggml_type ft = kernels_file_type(t);
    if (ft == t) {
        dequantize_row(t, (const uint8_t *)w + (size_t)r * row_bytes(t, n), dst, n);
        return;
    }
    const int64_t bn = ggml_blck_size(ft);
    _Alignas(4) uint8_t blk[sizeof(blk_q6_K)]; /* the largest file block */
    for (int64_t k = 0; k < n / bn; k++, dst += bn) {
        split_block(t, w, n, r, k, blk);
        dequantize_row(ft, blk, dst, bn);
    }
}

/* ---- dequantize / quantize ---------------------------------------------- */

void dequantize_row(ggml_type t, const void *src, float *dst, int64_t n) {
    switch (t) {
    case GGML_TYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return;
    case GGML_TYPE_F16: fp16_row_to_fp32(src, dst, n); return;
    case GGML_TYPE_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32(s[i]);
        return;
    }
    case GGML_TYPE_Q8_0: {
        const blk_q8_0 *b = src;
        for (int64_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
            const float d = fp16_to_fp32(b[i].d);
            for (int j = 0; j < QK8_0; j++) dst[j] = d * b[i].qs[j];
        }
        return;
    }
    case GGML_TYPE_Q4_0: {
        const blk_q4_0 *b = src;
        int8_t q[QK4_0];
        for (int64_t i = 0; i < n / QK4_0; i++, dst += QK4_0) {
            const float d = fp16_to_fp32(b[i].d);
            decode_q4_0(&b[i], q);
            for (int j = 0; j < QK4_0; j++) dst[j] = d * q[j];
        }
        return;
    }
    case GGML_TYPE_Q4_K: {
        const blk_q4_K *b = src;
        uint8_t q[QK_K], sc[8], m[8];
        for (int64_t i = 0; i < n / QK_K; i++) {
            const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
            decode_q4_K(&b[i], q, sc, m);
            for (int j = 0; j < 8; j++) {
                const float ds = d * sc[j], dm = dmin * m[j];
                for (int l = 0; l < 32; l++, dst++) *dst = ds * q[32 * j + l] - dm;
            }
        }
        return;
    }
    case GGML_TYPE_Q6_K: {
        const blk_q6_K *b = src;
        int8_t q[QK_K];
        for (int64_t i = 0; i < n / QK_K; i++) {
            const float d = fp16_to_fp32(b[i].d);
            decode_q6_K(&b[i], q);
            for (int j = 0; j < QK_K; j++, dst++) *dst = d * b[i].scales[j / 16] * q[j];
        }
        return;
    }
    case GGML_TYPE_Q8_K: {
        const blk_q8_K *b = src;
        for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K)
            for (int j = 0; j < QK_K; j++) dst[j] = b[i].d * b[i].qs[j];
        return;
    }
    default: unsupported("dequantize_row (split types: dequantize_matrix_row)", t);
    }
}

static float abs_max(const float *x, int n) {
    float m = 0.0f;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* Symmetric 8-bit: d = amax / 127, q = round(x / d). */
void quantize_q8_0_ref(const float *x, void *dst, int64_t n) {
    blk_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        const float d = abs_max(x, QK8_0) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) b[i].qs[j] = (int8_t)round_even(x[j] * id);
    }
}

/* blk_x8_act blocks: each block quantized as Q8_0, then spread out. */
void quantize_x8_ref(const float *x, void *dst, int64_t n, int32_t offset) {
    blk_x8_act *out = dst;
    for (int64_t k = 0; k < n / QK8_0; k++) {
        blk_q8_0 b;
        quantize_q8_0_ref(x + k * QK8_0, &b, QK8_0);
        int32_t sum = 0;
        for (int j = 0; j < QK8_0; j++) sum += b.qs[j];
        memcpy(out[k].qs, b.qs, QK8_0);
        out[k].d = fp16_to_fp32(b.d);
        out[k].osum = offset * sum;
    }
}

void quantize_q8_K_ref(const float *x, void *dst, int64_t n) {
    blk_q8_K *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        const float amax = abs_max(x, QK_K);
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        b[i].d = amax != 0.0f ? amax / 127.0f : 0.0f;
        for (int j = 0; j < QK_K; j++) b[i].qs[j] = (int8_t)round_even(x[j] * id);
        for (int j = 0; j < QK_K / 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += b[i].qs[16 * j + l];
            b[i].bsums[j] = (int16_t)s;
        }
    }
}

/* ggml's Q4_0 rule: the value of largest magnitude maps to -8 exactly, so
 * d = max / -8 and the opposite extreme clamps to +7. */
static void quantize_q4_0(const float *x, void *dst, int64_t n) {
    blk_q4_0 *b = dst;
    for (int64_t i = 0; i < n / QK4_0; i++, x += QK4_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++)
            if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
        const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            const int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + QK4_0 / 2] * id + 8.5f);
            b[i].qs[j] = (uint8_t)((lo > 15 ? 15 : lo) | (hi > 15 ? 15 : hi) << 4);
        }
    }
}

/* Smallest fp16 >= v (v >= 0): K-quant scales are rounded up so that the
 * 6/8-bit sub-block scales derived from them never overflow. */
static uint16_t fp16_ceil(float v) {
    uint16_t h = fp32_to_fp16(v);
    if (fp16_to_fp32(h) < v) h++;
    return h;
}

/* Simple (not ggml's error-minimizing) Q4_K: per 32-element sub-block take
 * min' = min(0, min x) and step (max - min') / 15, store step and -min' as
 * 6-bit multiples of d / dmin, rounded up so the range is always covered:
 * |x - x'| <= max(step'/2, dmin) where step' = d * sc >= step. */
static void quantize_q4_K(const float *x, void *dst, int64_t n) {
    blk_q4_K *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float step[8], neg_min[8], max_step = 0.0f, max_min = 0.0f;
        for (int j = 0; j < 8; j++) {
            float lo = 0.0f, hi = -INFINITY;
            for (int l = 0; l < 32; l++)
                lo = fminf(lo, x[32 * j + l]), hi = fmaxf(hi, x[32 * j + l]);
            step[j] = (hi - lo) / 15.0f, neg_min[j] = -lo;
            max_step = fmaxf(max_step, step[j]), max_min = fmaxf(max_min, neg_min[j]);
        }
        b[i].d = fp16_ceil(max_step / 63.0f);
        b[i].dmin = fp16_ceil(max_min / 63.0f);
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        memset(b[i].scales, 0, sizeof b[i].scales);
        for (int j = 0; j < 8; j++) {
            const int sc = d > 0.0f ? (int)fminf(63.0f, ceilf(step[j] / d)) : 0;
            const int m = dmin > 0.0f ? (int)fminf(63.0f, ceilf(neg_min[j] / dmin)) : 0;
            /* inverse of q4_K_scale_min */
            uint8_t *s = b[i].scales;
            if (j < 4) {
                s[j] |= (uint8_t)sc, s[j + 4] |= (uint8_t)m;
            } else {
                s[j + 4] = (uint8_t)((sc & 0xF) | (m & 0xF) << 4);
                s[j - 4] |= (uint8_t)((sc >> 4) << 6), s[j] |= (uint8_t)((m >> 4) << 6);
            }
            const float ds = d * sc, dm = dmin * m, id = ds > 0.0f ? 1.0f / ds : 0.0f;
            uint8_t *qs = b[i].qs + 32 * (j / 2);
            for (int l = 0; l < 32; l++) {
                const int q = round_even((x[32 * j + l] + dm) * id);
                const uint8_t v = (uint8_t)(q < 0 ? 0 : q > 15 ? 15 : q);
                qs[l] = (j & 1) ? (uint8_t)(qs[l] | v << 4) : v;
            }
        }
    }
}

/* Simple Q6_K: per 16 elements step = amax / 31 as a positive 8-bit multiple
 * of d (rounded up), q - 32 = round(x / step') in [-31, 31]; the error is at
 * most step'/2. */
static void quantize_q6_K(const float *x, void *dst, int64_t n) {
    blk_q6_K *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float step[16], max_step = 0.0f;
        for (int j = 0; j < 16; j++) {
            step[j] = abs_max(x + 16 * j, 16) / 31.0f;
            max_step = fmaxf(max_step, step[j]);
        }
        b[i].d = fp16_ceil(max_step / 127.0f);
        const float d = fp16_to_fp32(b[i].d);
        memset(b[i].ql, 0, sizeof b[i].ql);
        memset(b[i].qh, 0, sizeof b[i].qh);
        for (int idx = 0; idx < QK_K; idx++) {
            const int j = idx / 16;
            if (idx % 16 == 0)
                b[i].scales[j] = (int8_t)(d > 0.0f ? fminf(127.0f, ceilf(step[j] / d)) : 0);
            const float ds = d * b[i].scales[j], id = ds > 0.0f ? 1.0f / ds : 0.0f;
            const int q = round_even(x[idx] * id), v = (q < -32 ? -32 : q > 31 ? 31 : q) + 32;
            b[i].ql[q6_K_ql_byte(idx)] |= (uint8_t)((v & 0xF) << q6_K_ql_shift(idx));
            b[i].qh[q6_K_qh_byte(idx)] |= (uint8_t)((v >> 4) << q6_K_qh_shift(idx));
        }
    }
}

void quantize_row(ggml_type t, const float *src, void *dst, int64_t n) {
    switch (t) {
    case GGML_TYPE_F32: memmove(dst, src, (size_t)n * sizeof(float)); return;
    case GGML_TYPE_F16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = fp32_to_fp16(src[i]);
        return;
    case GGML_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = fp32_to_bf16(src[i]);
        return;
    case GGML_TYPE_Q8_0: quantize_q8_0_ref(src, dst, n); return;
    case GGML_TYPE_Q4_0: quantize_q4_0(src, dst, n); return;
    case GGML_TYPE_Q4_K: quantize_q4_K(src, dst, n); return;
    case GGML_TYPE_Q6_K: quantize_q6_K(src, dst, n); return;
    case GGML_TYPE_Q8_K: quantize_q8_K_ref(src, dst, n); return;
    default: unsupported("quantize_row", t);
    }
}

/* ---- reference dots: one weight row against one activation row ------- */

typedef float (*dot_fn)(const void *w, const void *x, int64_t n);

static float dot_q8_0(const void *w, const void *x, int64_t n) {
    const blk_q8_0 *bw = w, *bx = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float d = fp16_to_fp32(bw[i].d) * fp16_to_fp32(bx[i].d);
        sum += d * (float)isum_i8(bw[i].qs, bx[i].qs, QK8_0);
    }
    return sum;
}

static float dot_q4_0(const void *w, const void *x, int64_t n) {
    const blk_q4_0 *bw = w;
    const blk_q8_0 *bx = x;
    int8_t q[QK4_0];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        decode_q4_0(&bw[i], q);
        const float d = fp16_to_fp32(bw[i].d) * fp16_to_fp32(bx[i].d);
        sum += d * (float)isum_i8(q, bx[i].qs, QK4_0);
    }
    return sum;
}

/* sum_j (d*sc_j*q - dmin*m_j) . x = d*sum_j sc_j (q.x)_j - dmin*sum_j m_j sum(x_j);
 * the activation sums come from the Q8_K bsums. */
static float dot_q4_K(const void *w, const void *x, int64_t n) {
    const blk_q4_K *bw = w;
    const blk_q8_K *bx = x;
    uint8_t q[QK_K], sc[8], m[8];
    int8_t qi[32];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        decode_q4_K(&bw[i], q, sc, m);
        int32_t isc = 0, imin = 0;
        for (int j = 0; j < 8; j++) {
            for (int l = 0; l < 32; l++) qi[l] = (int8_t)q[32 * j + l];
            isc += sc[j] * isum_i8(qi, bx[i].qs + 32 * j, 32);
            imin += m[j] * (bx[i].bsums[2 * j] + bx[i].bsums[2 * j + 1]);
        }
        const float d = fp16_to_fp32(bw[i].d), dmin = fp16_to_fp32(bw[i].dmin);
        sum += bx[i].d * (d * (float)isc - dmin * (float)imin);
    }
    return sum;
}

static float dot_q6_K(const void *w, const void *x, int64_t n) {
    const blk_q6_K *bw = w;
    const blk_q8_K *bx = x;
    int8_t q[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        decode_q6_K(&bw[i], q);
        int32_t is = 0;
        for (int j = 0; j < QK_K / 16; j++)
            is += bw[i].scales[j] * isum_i8(q + 16 * j, bx[i].qs + 16 * j, 16);
        sum += bx[i].d * fp16_to_fp32(bw[i].d) * (float)is;
    }
    return sum;
}

/* Float-activation types: dequantize a chunk at a time, then a plain dot. */
#define FLOAT_DOT_CHUNK 256
#define DEFINE_FLOAT_DOT(name, type, elem_size)                                                    \
    static float name(const void *w, const void *x, int64_t n) {                                   \
        const float *xf = x;                                                                       \
        float buf[FLOAT_DOT_CHUNK], sum = 0.0f;                                                    \
        for (int64_t i = 0; i < n; i += FLOAT_DOT_CHUNK) {                                         \
            const int64_t c = n - i < FLOAT_DOT_CHUNK ? n - i : FLOAT_DOT_CHUNK;                   \
            dequantize_row(type, (const char *)w + i * (elem_size), buf, c);                       \
            for (int64_t j = 0; j < c; j++) sum += buf[j] * xf[i + j];                             \
        }                                                                                          \
        return sum;                                                                                \
    }
DEFINE_FLOAT_DOT(dot_f32, GGML_TYPE_F32, 4)
DEFINE_FLOAT_DOT(dot_f16, GGML_TYPE_F16, 2)
DEFINE_FLOAT_DOT(dot_bf16, GGML_TYPE_BF16, 2)

static dot_fn ref_dot(ggml_type t) {
    switch (t) {
    case GGML_TYPE_F32: return dot_f32;
    case GGML_TYPE_F16: return dot_f16;
    case GGML_TYPE_BF16: return dot_bf16;
    case GGML_TYPE_Q8_0: return dot_q8_0;
    case GGML_TYPE_Q4_0: return dot_q4_0;
    case GGML_TYPE_Q4_K: return dot_q4_K;
    case GGML_TYPE_Q6_K: return dot_q6_K;
    default: unsupported("matmul_rows", t);
    }
}

/* Block k of a split type's activation row, as the file type's dot reads
 * it: blk_x8_act blocks go back to Q8_0 (the float scale came from an fp16
 * and converts back exactly). */
static const void *split_act_block(ggml_type st, const uint8_t *row, int64_t k, blk_q8_0 *tmp) {
    if (!has_x8_act(st))
        return row + (size_t)k * act_bytes(kernels_file_type(st), ggml_blck_size(kernels_file_type(st)));
    const blk_x8_act *a = (const blk_x8_act *)row + k;
    memcpy(tmp->qs, a->qs, QK8_0);
    tmp->d = fp32_to_fp16(a->d);
    return tmp;
}

/* Split matrices: the file type's block dot, block by block (the same sum
 * order as the file layout's). */
static void matmul_split_ref(ggml_type st, const void *w, int64_t n, int64_t r0, int64_t r1,
                             const void *xq, int n_batch, float *y, int64_t ldy) {
    const ggml_type ft = kernels_file_type(st);
    const dot_fn dot = ref_dot(ft);
    const int64_t bn = ggml_blck_size(ft);
    const size_t xs = act_bytes(st, n);
    _Alignas(4) uint8_t blk[sizeof(blk_q6_K)]; /* the largest file block */
    blk_q8_0 xtmp;
    for (int64_t r = r0; r < r1; r++) {
        for (int b = 0; b < n_batch; b++) y[b * ldy + r] = 0.0f;
        for (int64_t k = 0; k < n / bn; k++) {
            split_block(st, w, n, r, k, blk); /* once for every batch row */
            for (int b = 0; b < n_batch; b++)
                y[b * ldy + r] += dot(blk, split_act_block(st, (const uint8_t *)xq + b * xs, k, &xtmp), bn);
        }
    }
}

void matmul_rows_ref(ggml_type wt, const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq,
                     int n_batch, float *y, int64_t ldy) {
    if (kernels_file_type(wt) != wt) {
        matmul_split_ref(wt, w, n, r0, r1, xq, n_batch, y, ldy);
        return;
    }
    const dot_fn dot = ref_dot(wt);
    const size_t ws = row_bytes(wt, n), xs = act_bytes(wt, n);
    for (int64_t r = r0; r < r1; r++) {
        const char *wr = (const char *)w + (size_t)r * ws;
        for (int b = 0; b < n_batch; b++) y[b * ldy + r] = dot(wr, (const char *)xq + b * xs, n);
    }
}

/* ---- dispatch ------------------------------------------------------------ */

static void fp16_row_to_fp32_ref(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(src[i]);
}

void fp16_row_to_fp32(const uint16_t *src, float *dst, int64_t n) { kernels_active()->f16_to_f32(src, dst, n); }

static const kernel_table scalar_table = {
    .isa = KERNEL_SCALAR,
    .quant_q8_0 = quantize_q8_0_ref,
    .quant_x8 = quantize_x8_ref,
    .quant_q8_K = quantize_q8_K_ref,
    .attn_scores = attn_scores_rows_ref,
    .attn_values = attn_values_rows_ref,
    .attn_scores_f16 = attn_scores_rows_f16_ref,
    .attn_values_f16 = attn_values_rows_f16_ref,
    .softmax = softmax_ref,
    .swiglu = swiglu_ref,
    .f16_to_f32 = fp16_row_to_fp32_ref,
};

/* The one global: which immutable table is in use (NULL until init). */
static _Atomic(const kernel_table *) active_table;

/* cpuid rather than __builtin_cpu_supports: clang's lacks "f16c". AVX state
 * must also be enabled by the OS (OSXSAVE, XCR0 bits 1-2). */
static bool cpu_has_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
               f16c = c & (1u << 29);
    if (!(fma && osxsave && avx && f16c)) return false;
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 6) != 6) return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return b & (1u << 5);
#else
    return false;
#endif
}

/* The AVX-512 table (VNNI on 256-bit vectors) also runs AVX2 kernels. The
 * OS must save opmask and all 32 vector registers (XCR0 bits 5-7). */
static bool cpu_has_avx512_vnni(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (!cpu_has_avx2()) return false;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool f = b & (1u << 16), bw = b & (1u << 30), vl = b & (1u << 31), vnni = c & (1u << 11);
    if (!(f && bw && vl && vnni)) return false;
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    return (xcr0_lo & 0xE6) == 0xE6;
#else
    return false;
#endif
}

static const kernel_table *table_for(kernel_isa isa) {
    if (isa >= KERNEL_AVX512 && cpu_has_avx512_vnni()) return &kernels_avx512_table;
    if (isa >= KERNEL_AVX2 && cpu_has_avx2()) return &kernels_avx2_table;
    return &scalar_table;
}

kernel_isa kernels_init(int force) {
    int want = force;
    if (want < 0) { /* WEFT_KERNEL_ISA=scalar|avx2 caps the ISA, for A/B runs */
        const char *e = getenv("WEFT_KERNEL_ISA");
        want = e ? kernel_isa_from_name(e) : -1;
        if (want < 0) want = KERNEL_AVX512;
    }
    const kernel_table *t = table_for((kernel_isa)want);
    atomic_store_explicit(&active_table, t, memory_order_release);
    return t->isa;
}

const char *kernel_isa_name(kernel_isa isa) {
    switch (isa) {
    case KERNEL_SCALAR: return "scalar";
    case KERNEL_AVX2: return "avx2";
    case KERNEL_AVX512: return "avx512";
    }
    return "?";
}

int kernel_isa_from_name(const char *name) {
    for (int isa = KERNEL_SCALAR; isa <= KERNEL_AVX512; isa++)
        if (strcmp(name, kernel_isa_name((kernel_isa)isa)) == 0) return isa;
    return -1;
}

const kernel_table *kernels_active(void) {
    const kernel_table *t = atomic_load_explicit(&active_table, memory_order_acquire);
    if (!t) {
        kernels_init(-1);
        t = atomic_load_explicit(&active_table, memory_order_acquire);
    }
    return t;
}

void quantize_act(ggml_type wt, const float *x, void *xq, int64_t n) {
    switch (kernels_file_type(wt)) {
    case GGML_TYPE_Q8_0:
    case GGML_TYPE_Q4_0:
        if (has_x8_act(wt)) {
            kernels_active()->quant_x8(x, xq, n, wt == WEFT_TYPE_Q8_0_X8 ? 128 : 8); /* kernels_internal.h */
            return;
        }
        kernels_active()->quant_q8_0(x, xq, n);
        if (wt == WEFT_TYPE_Q8_0_SPLIT) {
            const blk_q8_0 *b = xq;
            float *d = (float *)act_scales_f32(xq, n);
            for (int64_t k = 0; k < act_blocks_padded(n); k++) d[k] = k < n / QK8_0 ? fp16_to_fp32(b[k].d) : 0.0f;
        }
        return;
    case GGML_TYPE_Q4_K:
    case GGML_TYPE_Q6_K: kernels_active()->quant_q8_K(x, xq, n); return;
    default:
        if (x != xq) memmove(xq, x, (size_t)n * sizeof(float));
        return;
    }
}

void matmul_rows(ggml_type wt, const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq,
                 int n_batch, float *y, int64_t ldy) {
    const int s = slot_of(wt);
    const matmul_fn f = s >= 0 ? kernels_active()->matmul[s] : NULL;
    if (f)
        f(w, n, r0, r1, xq, n_batch, y, ldy);
    else
        matmul_rows_ref(wt, w, n, r0, r1, xq, n_batch, y, ldy);
}
