/* AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c; reached only
 * through kernels_avx2_table and, for all but the X8 kernels, through
 * kernels_avx512_table, which kernels_init() selects after cpuid.
 *
 * Loop order everywhere: rows in blocks, batch in tiles, blocks along n; each
 * decoded weight block is used for every batch row of the tile while it is
 * in registers, and a row block stays in L1/L2 while the batch tiles pass.
 * Every (row, batch) result is computed by the same instruction sequence
 * whatever the tile shape, so results do not depend on how rows are split. */
#include <stdlib.h>

#include "kernels_x86.h"

/* ---- small helpers ------------------------------------------------------ */

/* Signed int8 dot of 32 lanes as 8 int32 partial sums. maddubs wants an
 * unsigned left operand, so move w's sign onto x: |w| * (x * sign(w)). */
ALWAYS_INLINE __m256i dot_i8(__m256i w_abs, __m256i w, __m256i x) {
    const __m256i p16 = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/* A maddubs result's pairs summed to 8 int32 lanes, as floats. */
ALWAYS_INLINE __m256 dot_to_f32(__m256i p16) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

/* 32 Q4_0 nibbles as signed int8 (-8..7): low nibbles are elements 0..15,
 * high nibbles 16..31. */
ALWAYS_INLINE __m256i unpack_q4_0(const uint8_t *qs) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0xF)), _mm256_set1_epi8(8));
}

/* F32 / F16 (kernels_float_x86.h): the layout these CPUs were tuned on. One
 * chain per (row, batch row); 4-row tiles up to 2 batch rows, else 3 x 4,
 * as 16 registers allow. */
#define FLOAT_CHAINS 1
#define FLOAT_SMALL_BATCH 2
#define FLOAT_SMALL_BT 2
#define FLOAT_SMALL_R 4
#define FLOAT_RB 3
#define FLOAT_BT 4
#define FLOAT_PREFETCH_F16 1
#include "kernels_float_x86.h"

/* ---- Q8_0 / Q4_0 weights, Q8_0 activations ------------------------------
 * Per (row i, batch row j, block k): s = float(integer dot of 32 lanes, as
 * 8 int32 partial sums), acc_ij = fma(s, dw_ik * dx_jk, acc_ij).
 *
 * On this class of CPU (measured on Zen 3) the tile is bound by the number of
 * vector uops per (row, batch row, block), about two a cycle. The scales are
 * therefore converted to float with scalar integer code (which runs on the
 * integer ports) and stored, so that each is fetched with a broadcast load
 * instead of a vcvtph2ps + vbroadcastss pair (both 1 a cycle): dx once per
 * call for every batch row, dw per tile for a chunk of blocks. What remains
 * per pair is sign, maddubs, madd, cvt, mul, fma. The per-pair sequence is
 * the same for every tile shape, so results stay independent of the split
 * and of the batch size. */

typedef struct q8_args {
    mm_args m;
    const float *dx; /* dx[j * dxs + k]: scale of block k of batch row j, as float */
    size_t dxs;
    const float *dw; /* dw[i * nbp + k]: scale of block k of row rb + i (the row block) */
    int64_t rb;      /* first row of the row block dw describes */
    int64_t nb;
    int64_t nbp;     /* row stride of dw: nb rounded up to 8 */
} q8_args;

/* kind: Q8_0 or Q4_0 in file rows, or Q8_0 in split rows. A constant, so
 * that block offsets are too. */
enum { TILE_Q8_0, TILE_Q4_0, TILE_Q8_0_SPLIT };

/* prod[i][j][kk] = dw_i[kk] * dx_j[k0 + kk]: the scale products of 8 blocks
 * for every pair of a tile, one vector multiply each; the block loop
 * broadcasts them from here. */
ALWAYS_INLINE void pair_scales(float prod[4][8][8], const __m256 *dw, const float *const *dxr, int64_t k0,
                               const int R, const int B) {
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++)
            _mm256_store_ps(prod[i][j], _mm256_mul_ps(dw[i], _mm256_loadu_ps(dxr[j] + k0)));
}

ALWAYS_INLINE void q8act_tile(const q8_args *q, int64_t r, const int R, int b0, const int B,
                              const int kind) {
    const int is_q4 = kind == TILE_Q4_0;
    const bool split = kind == TILE_Q8_0_SPLIT;
    const size_t qoff = split ? 2 * (size_t)q->nb : 2,
                 qstride = split ? 32 : is_q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    const mm_args *a = &q->m;
    __m256 acc[4][8];
    const uint8_t *wr[4];
    const blk_q8_0 *xr[8];
    const float *dxr[8], *dwr[4];
    for (int i = 0; i < R; i++) {
        wr[i] = a->w + (size_t)(r + i) * a->ws;
        dwr[i] = q->dw + (size_t)(r + i - q->rb) * q->nbp;
    }
    for (int j = 0; j < B; j++) {
        xr[j] = (const blk_q8_0 *)(a->x + (size_t)(b0 + j) * a->xs);
        dxr[j] = q->dx + (size_t)(b0 + j) * q->dxs;
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) acc[i][j] = _mm256_setzero_ps();
    const int64_t nb = q->nb;
    _Alignas(32) float prod[4][8][8]; /* pair_scales */
    for (int64_t k0 = 0; k0 < nb; k0 += 8) {
        const int kn = nb - k0 < 8 ? (int)(nb - k0) : 8;
        __m256 dw[4];
        for (int i = 0; i < R; i++) dw[i] = _mm256_loadu_ps(dwr[i] + k0);
        pair_scales(prod, dw, dxr, k0, R, B);
        for (int kk = 0; kk < kn; kk++) {
            const int64_t k = k0 + kk;
            __m256i wq[4], wabs[4];
            for (int i = 0; i < R; i++) {
                const uint8_t *bp = wr[i] + qoff + (size_t)k * qstride;
                prefetch_line(bp + R * a->ws);
                wq[i] = is_q4 ? unpack_q4_0(bp) : loadu256(bp);
                wabs[i] = _mm256_abs_epi8(wq[i]);
            }
            for (int j = 0; j < B; j++) {
                const __m256i xq = loadu256(xr[j][k].qs);
                for (int i = 0; i < R; i++) {
                    const __m256 sv = _mm256_cvtepi32_ps(dot_i8(wabs[i], wq[i], xq));
                    acc[i][j] = _mm256_fmadd_ps(sv, _mm256_broadcast_ss(&prod[i][j][kk]), acc[i][j]);
                }
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) a->y[(b0 + j) * a->ldy + r + i] = hsum_ps(acc[i][j]);
}

/* Batch rows per tile of the small Q8_0/Q4_0 kernel. */
#define TILE_BATCH 4

/* 1 or 2 batch rows (decode): converting the scales inline costs less than
 * the float tables, which only pay when many batch rows share them. The
 * arithmetic per pair is the same as q8act_tile's (fma with the float
 * product dw * dx), so results are bit-identical between the two. */
ALWAYS_INLINE void q8act_tile_small(const mm_args *a, int64_t r, const int R, int b0, const int B,
                              const int is_q4) {
    __m256 acc[4][TILE_BATCH];
    const uint8_t *wr[4];
    const blk_q8_0 *xr[TILE_BATCH];
    for (int i = 0; i < R; i++) wr[i] = a->w + (size_t)(r + i) * a->ws;
    for (int j = 0; j < B; j++) xr[j] = (const blk_q8_0 *)(a->x + (size_t)(b0 + j) * a->xs);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) acc[i][j] = _mm256_setzero_ps();
    const int64_t nb = a->n / QK8_0;
    for (int64_t k = 0; k < nb; k++) {
        __m256i wq[4], wabs[4];
        float dw[4];
        for (int i = 0; i < R; i++) {
            prefetch_line(wr[i] + R * a->ws + k * (is_q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0)));
            if (is_q4) {
                const blk_q4_0 *b = (const blk_q4_0 *)wr[i] + k;
                wq[i] = unpack_q4_0(b->qs);
                dw[i] = f16(b->d);
            } else {
                const blk_q8_0 *b = (const blk_q8_0 *)wr[i] + k;
                wq[i] = loadu256(b->qs);
                dw[i] = f16(b->d);
            }
            wabs[i] = _mm256_abs_epi8(wq[i]);
        }
        for (int j = 0; j < B; j++) {
            const __m256i xq = loadu256(xr[j][k].qs);
            const float dx = f16(xr[j][k].d);
            for (int i = 0; i < R; i++) {
                const __m256 s = _mm256_cvtepi32_ps(dot_i8(wabs[i], wq[i], xq));
                acc[i][j] = _mm256_fmadd_ps(s, _mm256_set1_ps(dw[i] * dx), acc[i][j]);
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) a->y[(b0 + j) * a->ldy + r + i] = hsum_ps(acc[i][j]);
}

/* Scales of nb blocks of stride bsz (starting at p) as floats: F16C on
 * eight at a time gathered with pinsrw (exact, like f16()). */
static void scales_to_f32(const uint8_t *p, size_t bsz, int64_t nb, float *out) {
    int64_t k = 0;
    for (; k + 8 <= nb; k += 8, p += 8 * bsz) {
        __m128i h = _mm_setzero_si128();
        uint16_t v[8];
        for (int t = 0; t < 8; t++) memcpy(&v[t], p + t * bsz, 2);
        h = _mm_insert_epi16(h, v[0], 0);
        h = _mm_insert_epi16(h, v[1], 1);
        h = _mm_insert_epi16(h, v[2], 2);
        h = _mm_insert_epi16(h, v[3], 3);
        h = _mm_insert_epi16(h, v[4], 4);
        h = _mm_insert_epi16(h, v[5], 5);
        h = _mm_insert_epi16(h, v[6], 6);
        h = _mm_insert_epi16(h, v[7], 7);
        _mm256_storeu_ps(out + k, _mm256_cvtph_ps(h));
    }
    for (; k < nb; k++, p += bsz) {
        uint16_t v;
        memcpy(&v, p, 2);
        out[k] = f16(v);
    }
}

/* Scales k0 .. k0+kn-1 of a split row. Past the last scale the 16-byte
 * load reads quants of the same row, which may be inf or nan as fp16, so
 * those lanes are masked to zero. (No memcpy: a call in the tile's loop
 * makes the compiler keep every accumulator in memory.) */
ALWAYS_INLINE __m256 split_scales(const uint8_t *row, int64_t k0, int kn) {
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * k0)));
    if (kn == 8) return d;
    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(kn), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_ps(d, _mm256_castsi256_ps(keep));
}

/* A row's nb block scales as floats, zero up to a multiple of 8; in a split
 * row they are contiguous, else one per bsz-byte block. */
static void row_scales_f32(const uint8_t *row, size_t bsz, int64_t nb, float *out, bool split) {
    const int64_t nbp = (nb + 7) & ~(int64_t)7;
    if (!split) {
        scales_to_f32(row, bsz, nb, out);
        for (int64_t k = nb; k < nbp; k++) out[k] = 0.0f;
        return;
    }
    for (int64_t k0 = 0; k0 < nb; k0 += 8)
        _mm256_storeu_ps(out + k0, split_scales(row, k0, nb - k0 < 8 ? (int)(nb - k0) : 8));
}

/* Tile shapes (rows x batch rows), all with the same per-pair arithmetic.
 * Q8_RB x Q8_BT, leftover rows 1 x B (1, 2 batch rows: q8act_tile_small).
 * On Q8_0, 2x4, 1x8, 3x4, 4x3 and 2x6 measured within 5% of each other (the
 * tile is bound by vector uops per pair, not by loads); 1x8 is 8-10% faster
 * on Q4_0, whose nibble unpacking it shares among 8 batch rows. */
#ifndef Q8_RB
#define Q8_RB 1
#endif
#ifndef Q8_BT
#define Q8_BT 8
#endif
#define Q8_BSWITCH(T, q, r, RR, b0, B)                                                              \
    switch (B) {                                                                                   \
    case 1: T(q, r, RR, b0, 1); break;                                                             \
    case 2: T(q, r, RR, b0, 2); break;                                                             \
    case 3: T(q, r, RR, b0, 3); break;                                                             \
    case 4: T(q, r, RR, b0, 4); break;                                                             \
    Q8_BT_MORE(T, q, r, RR, b0)                                                                    \
    }
#if Q8_BT > 4
#define Q8_BT_MORE(T, q, r, RR, b0)                                                                \
    case 5: T(q, r, RR, b0, 5); break;                                                             \
    case 6: T(q, r, RR, b0, 6); break;                                                             \
    case 7: T(q, r, RR, b0, 7); break;                                                             \
    default: T(q, r, RR, b0, 8); break;
#else
#define Q8_BT_MORE(T, q, r, RR, b0)
#endif
#define Q8_TILES(T, q, r, R, b0, B)                                                                \
    do {                                                                                           \
        if ((R) == 1) {                                                                            \
            Q8_BSWITCH(T, q, r, 1, b0, B)                                                          \
        } else {                                                                                   \
            Q8_BSWITCH(T, q, r, Q8_RB, b0, B)                                                      \
        }                                                                                          \
    } while (0)

#define Q8_0_TILE(q, r, R, b0, B) q8act_tile(q, r, R, b0, B, TILE_Q8_0)
#define Q4_0_TILE(q, r, R, b0, B) q8act_tile(q, r, R, b0, B, TILE_Q4_0)
#define Q8_0S_TILE(q, r, R, b0, B) q8act_tile(q, r, R, b0, B, TILE_Q8_0_SPLIT)

/* kind TILE_Q8_0_SPLIT: n_batch >= 4 only (matmul_q8_0_split sends those
 * here, as this tile measured faster for many batch rows); split types'
 * activations carry their scales as floats (kernels_internal.h). */
static void q8act_matmul(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq,
                         int n_batch, float *y, int64_t ldy, const int kind) {
    const int is_q4 = kind == TILE_Q4_0;
    const bool split = kind == TILE_Q8_0_SPLIT;
    const ggml_type type = split ? WEFT_TYPE_Q8_0_SPLIT : is_q4 ? GGML_TYPE_Q4_0 : GGML_TYPE_Q8_0;
    const int64_t nb = n / QK8_0;
    const size_t ws = row_bytes(type, n), xs = act_bytes(type, n);
    if (n_batch <= 3) {
        const mm_args a = {w, ws, xq, xs, n, y, ldy};
        for (int64_t rb = r0; rb < r1; rb += ROW_BLOCK) {
            const int64_t re = rb + ROW_BLOCK < r1 ? rb + ROW_BLOCK : r1;
            for (int64_t r = rb; r < re;) {
                const int R = re - r >= (n_batch == 3 ? 2 : 4) ? (n_batch == 3 ? 2 : 4) : 1;
                if (n_batch == 1) {
                    if (R == 4)
                        q8act_tile_small(&a, r, 4, 0, 1, is_q4);
                    else
                        q8act_tile_small(&a, r, 1, 0, 1, is_q4);
                } else if (n_batch == 2) {
                    if (R == 4)
                        q8act_tile_small(&a, r, 4, 0, 2, is_q4);
                    else
                        q8act_tile_small(&a, r, 1, 0, 2, is_q4);
                } else {
                    if (R == 2)
                        q8act_tile_small(&a, r, 2, 0, 3, is_q4);
                    else
                        q8act_tile_small(&a, r, 1, 0, 3, is_q4);
                }
                r += R;
            }
        }
        return;
    }
    float stack_sc[6144];
    const int64_t nbp = (nb + 7) & ~(int64_t)7; /* the tile reads scales 8 at a time */
    const size_t need = ((size_t)(split ? 0 : n_batch) + ROW_BLOCK) * (size_t)nbp;
    float *buf = need <= sizeof stack_sc / sizeof *stack_sc ? stack_sc : malloc(need * sizeof *buf);
    if (!buf) abort();
    float *dw = buf + (size_t)(split ? 0 : n_batch) * nbp;
    q8_args q = {{w, ws, xq, xs, n, y, ldy}, buf, nbp, dw, r0, nb, nbp};
    if (split) {
        q.dx = act_scales_f32(xq, n);
        q.dxs = xs / sizeof(float);
    } else {
        for (int j = 0; j < n_batch; j++) /* the scales of every batch row */
            row_scales_f32((const uint8_t *)xq + (size_t)j * xs, sizeof(blk_q8_0), nb, buf + j * nbp, false);
    }
    const size_t bsz = is_q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    const int rmax = Q8_RB, bt = Q8_BT;
    for (int64_t rb = r0; rb < r1; rb += ROW_BLOCK) {
        const int64_t re = rb + ROW_BLOCK < r1 ? rb + ROW_BLOCK : r1;
        for (int64_t r = rb; r < re; r++)
            row_scales_f32((const uint8_t *)w + (size_t)r * ws, bsz, nb, dw + (r - rb) * nbp, split);
        q.rb = rb;
        for (int b0 = 0; b0 < n_batch; b0 += bt) {
            const int B = n_batch - b0 < bt ? n_batch - b0 : bt;
            for (int64_t r = rb; r < re;) {
                const int R = re - r >= rmax ? rmax : 1;
                if (split)
                    Q8_TILES(Q8_0S_TILE, &q, r, R, b0, B);
                else if (is_q4)
                    Q8_TILES(Q4_0_TILE, &q, r, R, b0, B);
                else
                    Q8_TILES(Q8_0_TILE, &q, r, R, b0, B);
                r += R;
            }
        }
    }
    if (buf != stack_sc) free(buf);
}

/* ---- split Q8_0 rows (kernels.h), Q8_0 activations, 1 to 3 batch rows ----
 * The same per-pair arithmetic as q8act_tile: fma(float(integer dot),
 * dw * dx). A split row keeps 8 block scales in 16 contiguous bytes, so one
 * vcvtph2ps converts them and one multiply per pair forms 8 products dw*dx.
 * With more rows than batch rows one |x| serves all rows (weights signed by
 * x; split rows hold no -128 to negate). */

typedef struct split_args {
    mm_args m;       /* first: drive() passes &m */
    int64_t nb;      /* blocks per row */
    const float *dx; /* dx[j * dxs + k]: scale of block k of batch row j */
    size_t dxs;
} split_args;

ALWAYS_INLINE void split_tile(const split_args *q, int64_t r, const int R, int b0, const int B) {
    const mm_args *a = &q->m;
    const int64_t nb = q->nb;
    const uint8_t *wr[4], *wq[4];
    const blk_q8_0 *xr[8];
    const float *dxr[8];
    for (int i = 0; i < R; i++) {
        wr[i] = a->w + (size_t)(r + i) * a->ws;
        wq[i] = wr[i] + 2 * nb;
    }
    for (int j = 0; j < B; j++) {
        xr[j] = (const blk_q8_0 *)(a->x + (size_t)(b0 + j) * a->xs);
        dxr[j] = q->dx + (size_t)(b0 + j) * q->dxs;
    }
    __m256 acc[4][8];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) acc[i][j] = _mm256_setzero_ps();
    const size_t next = (size_t)R * a->ws;
    _Alignas(32) float prod[4][8][8];
    for (int64_t k0 = 0; k0 < nb; k0 += 8) {
        const int kn = nb - k0 < 8 ? (int)(nb - k0) : 8;
        __m256 dw[4];
        for (int i = 0; i < R; i++) dw[i] = split_scales(wr[i], k0, kn);
        pair_scales(prod, dw, dxr, k0, R, B);
        for (int kk = 0; kk < kn; kk++) {
            const int64_t k = k0 + kk;
            __m256i w[4], wabs[4];
            for (int i = 0; i < R; i++) {
                const uint8_t *p = wq[i] + (size_t)k * 32;
                prefetch_line(p + next);
                w[i] = loadu256(p);
                if (R <= B) wabs[i] = _mm256_abs_epi8(w[i]);
            }
            for (int j = 0; j < B; j++) {
                const __m256i x = loadu256(xr[j][k].qs), xabs = _mm256_abs_epi8(x);
                for (int i = 0; i < R; i++) {
                    const __m256i p16 = R > B ? _mm256_maddubs_epi16(xabs, _mm256_sign_epi8(w[i], x))
                                              : _mm256_maddubs_epi16(wabs[i], _mm256_sign_epi8(x, w[i]));
                    acc[i][j] = _mm256_fmadd_ps(dot_to_f32(p16), _mm256_broadcast_ss(&prod[i][j][kk]),
                                                acc[i][j]);
                }
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < B; j++) a->y[(b0 + j) * a->ldy + r + i] = hsum_ps(acc[i][j]);
}

/* drive() asks for rows x batch rows: 4 x 1, 4 x 2, 2 x 3, or 1 x 1..3. */
static void q8_0_split_tiles(const mm_args *a, int64_t r, int R, int b0, int B) {
    const split_args *q = (const split_args *)a;
    if (R == 4)
        B == 1 ? split_tile(q, r, 4, b0, 1) : split_tile(q, r, 4, b0, 2);
    else if (R == 2)
        split_tile(q, r, 2, b0, 3);
    else
        B == 1 ? split_tile(q, r, 1, b0, 1) : B == 2 ? split_tile(q, r, 1, b0, 2) : split_tile(q, r, 1, b0, 3);
}

void matmul_q8_0_split_avx2(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq,
                              int n_batch, float *y, int64_t ldy) {
    if (n_batch >= 4) {
        q8act_matmul(w, n, r0, r1, xq, n_batch, y, ldy, TILE_Q8_0_SPLIT);
        return;
    }
    const size_t xs = act_bytes(WEFT_TYPE_Q8_0_SPLIT, n);
    const split_args q = {{w, row_bytes(GGML_TYPE_Q8_0, n), xq, xs, n, y, ldy}, n / QK8_0,
                          act_scales_f32(xq, n), xs / sizeof(float)};
    drive(&q.m, r0, r1, n_batch, n_batch <= 2 ? 4 : 2, n_batch, q8_0_split_tiles);
}

/* ---- Q4_0_X8 and Q8_0_X8 (kernels.h): a vector lane per row, Q8_0
 * activations ----------------------------------------------------------------
 * A group's block k gives 8 vectors V_c holding elements 4c .. 4c+3 of each
 * of its 8 rows (row l in bytes 4l .. 4l+3), as unsigned bytes u. With the
 * activation's 4 bytes 4c .. 4c+3 broadcast, maddubs(V_c, x_c) leaves two
 * products' sum of row l in int16 lanes 2l, 2l+1.
 *  Q4_0: u is the nibble (q + 8, 0..15). 2 * 15 * 127 = 3810 a lane, so a
 *        block's 8 maddubs add up in int16 (30480); one madd gives row l's
 *        dot in int32 lane l, and less 8 sum(x) it is the integer dot q.x.
 *  Q8_0: u = q + 128 = 16 h + l with nibbles h, l: the 8 maddubs of the h
 *        and of the l add up in int16 each, as above, and
 *        q.x = 16 h.x + l.x - 128 sum(x). Unsigned bytes times int8 would
 *        not fit int16 (2 * 255 * 127), and signing x per pair as the
 *        row-wise kernels do costs a third vector op per pair.
 * Both give the reference's integer dot exactly; the float step is per row
 * and block, in block order: fma(dot, dw * dx, acc). So results do not
 * depend on the batch size or on which rows are asked for (a group is
 * computed whole, and only the rows asked for are written). Batched, Q8_0_X8
 * takes about 0.6 ns a (row, batch row, block) and Q4_0_X8 0.35 ns once the
 * running sums stay in registers (KEEP_IN_REGISTER; docs/performance.md). */

#define X8_BATCH 4

/* The block dots of DEFINE_X8_GROUP (kernels_x86.h). */
ALWAYS_INLINE void x8_dots_avx2(const uint8_t *qk, const blk_x8_act *const *xr, int64_t k, const int B, const bool q8,
                                __m256i *d) {
    const __m256i low4 = _mm256_set1_epi8(0xF), ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi16(16);
    if (q8) {
        __m256i sh[X8_BATCH], sl[X8_BATCH];
        for (int j = 0; j < B; j++) sh[j] = sl[j] = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++) {
            const __m256i raw = loadu256(qk + 32 * c);
            const __m256i h = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4), l = _mm256_and_si256(raw, low4);
            for (int j = 0; j < B; j++) {
                const __m256i x = bcast4(xr[j][k].qs + 4 * c);
                sh[j] = _mm256_add_epi16(sh[j], _mm256_maddubs_epi16(h, x));
                sl[j] = _mm256_add_epi16(sl[j], _mm256_maddubs_epi16(l, x));
                KEEP_IN_REGISTER(sh[j]);
                KEEP_IN_REGISTER(sl[j]);
            }
        }
        for (int j = 0; j < B; j++)
            d[j] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_madd_epi16(sh[j], sixteen), _mm256_madd_epi16(sl[j], ones)),
                                    _mm256_set1_epi32(xr[j][k].osum));
    } else {
        __m256i v[8];
        x8_q4_0_nibbles(qk, v);
        for (int j = 0; j < B; j++) {
            const int8_t *x = xr[j][k].qs;
            __m256i s = _mm256_maddubs_epi16(v[0], bcast4(x));
            for (int c = 1; c < 8; c++) {
                s = _mm256_add_epi16(s, _mm256_maddubs_epi16(v[c], bcast4(x + 4 * c)));
                if (B > 1) KEEP_IN_REGISTER(s); /* one row alone gains from the tree (measured) */
            }
            d[j] = _mm256_sub_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(xr[j][k].osum));
        }
    }
}

DEFINE_X8_GROUP(x8_group_avx2, x8_dots_avx2)

DEFINE_X8_MATMUL(x8_matmul_avx2, x8_group_avx2, x8_group_avx2, blk_x8_act, X8_BATCH, 0)

static void matmul_x8(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch,
                      float *y, int64_t ldy, const bool q8) {
    x8_matmul_avx2(w, n, r0, r1, xq, n_batch, y, ldy, q8 ? WEFT_TYPE_Q8_0_X8 : WEFT_TYPE_Q4_0_X8);
}

/* Q4_K_X8 / Q6_K_X8 (kernels_x86.h): maddubs pairs add up in int16 while
 * they fit (Q4_K: 2 * 15 * 128 a lane, 8 of them: 30720; Q6_K: 2 * 63 *
 * 128, 2 of them: 32256), and madd with the scale pairs gives sc * dot in
 * int32. */
ALWAYS_INLINE __m256i maddubs_run(const __m256i *v, const int8_t *x, int n) {
    __m256i s = _mm256_maddubs_epi16(v[0], bcast4(x));
    for (int c = 1; c < n; c++) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(v[c], bcast4(x + 4 * c)));
    return s;
}

ALWAYS_INLINE __m256i q4_K_x8_chunk_avx2(const __m256i v[8], const int8_t *x, const q4_K_x8_sc *s, int c) {
    return _mm256_madd_epi16(maddubs_run(v, x, 8), s->sc[c]);
}

ALWAYS_INLINE __m256i q6_K_x8_chunk_avx2(const __m256i v[8], const int8_t *x, const q6_K_x8_sc *s, int c) {
    __m256i d = _mm256_setzero_si256();
    for (int h = 0; h < 4; h++) d = _mm256_add_epi32(d, _mm256_madd_epi16(maddubs_run(v + 2 * h, x + 8 * h, 2), s->sc[2 * c + h / 2]));
    return d;
}

DEFINE_K_X8_MATMUL(matmul_q4_K_x8_avx2, q4_K, Q4_K_X8_BYTES, WEFT_TYPE_Q4_K_X8, q4_K_x8_chunk_avx2, true, X8_BATCH)
DEFINE_K_X8_MATMUL(matmul_q6_K_x8_avx2, q6_K, Q6_K_X8_BYTES, WEFT_TYPE_Q6_K_X8, q6_K_x8_chunk_avx2, true, X8_BATCH)

/* ---- K-quants in file rows, Q8_K activations -----------------------------
 * For the matrices the loader leaves in file layout (no whole groups of 8
 * rows, or a caller's buffer); the others are X8 (above).
 * One weight row at a time, the whole batch tile per super-block: each
 * super-block is decoded once and its integer dots with every batch row are
 * summed exactly in 8 int32 lanes. Those lanes are scaled into 8 float
 * accumulators per batch row (fma per super-block) and reduced once at the
 * end of the row, as llama.cpp does, rather than reduced to a scalar per
 * super-block; the reference's scalar expression rounds differently, within
 * the test's bound. */

/* Broadcast int16 lane j of both 128-bit halves of v. */
ALWAYS_INLINE __m256i bcast_i16(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)((2 * j + 1) << 8 | 2 * j)));
}

ALWAYS_INLINE void q4_K_rowtile_body(const mm_args *a, int64_t r, int b0, const int B) {
    const blk_q4_K *w = (const blk_q4_K *)(a->w + (size_t)r * a->ws);
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc[K_BATCH_TILE];
    for (int b = 0; b < B; b++) acc[b] = _mm256_setzero_ps();
    for (int64_t k = 0; k < a->n / QK_K; k++) {
        const blk_q4_K *bw = &w[k];
        uint32_t sc[2], mn[2];
        q4_K_scales_mins(bw->scales, sc, mn);
        /* scales as int16 in both halves */
        const __m256i sc16 = _mm256_broadcastsi128_si256(
            _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc[1], (int)sc[0])));
        const __m256i mins = q4_K_min_pairs(mn);
        __m256i q[8], s[8];
        for (int j = 0; j < 4; j++) { /* sub-block 2j: low nibbles, 2j+1: high */
            const __m256i raw = loadu256(bw->qs + 32 * j);
            q[2 * j] = _mm256_and_si256(raw, m4);
            q[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        }
        for (int j = 0; j < 8; j++) s[j] = bcast_i16(sc16, j);
        const float d = f16(bw->d), dmin = f16(bw->dmin);
        for (int b = 0; b < B; b++) {
            const blk_q8_K *bx = (const blk_q8_K *)(a->x + (size_t)(b0 + b) * a->xs) + k;
            __m256i isum = _mm256_setzero_si256();
            for (int j = 0; j < 8; j++) {
                const __m256i p = _mm256_maddubs_epi16(q[j], loadu256(bx->qs + 32 * j));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s[j]));
            }
            acc[b] = q4_K_step(acc[b], isum, mins, bx, d, dmin);
        }
    }
    for (int b = 0; b < B; b++) a->y[(b0 + b) * a->ldy + r] = hsum_ps(acc[b]);
}

DEFINE_K_TILE(q4_K_rowtile, q4_K_rowtile_body)

/* Q6_K: 8 groups of 32 (t = 4*half + quarter), each the 4 low bits from a
 * nibble of ql and 2 high bits from qh (see decode_q6_K). q stays unsigned
 * (0..63) for maddubs; the -32 offset is folded in through the bsums. */
ALWAYS_INLINE void q6_K_rowtile_body(const mm_args *a, int64_t r, int b0, const int B) {
    const blk_q6_K *w = (const blk_q6_K *)(a->w + (size_t)r * a->ws);
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc[K_BATCH_TILE];
    for (int b = 0; b < B; b++) acc[b] = _mm256_setzero_ps();
    for (int64_t k = 0; k < a->n / QK_K; k++) {
        const blk_q6_K *bw = &w[k];
        __m256i q[8], s[8];
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = loadu256(bw->ql + 64 * h), ql1 = loadu256(bw->ql + 64 * h + 32);
            const __m256i qh = loadu256(bw->qh + 32 * h);
            const __m256i hi0 = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4);
            const __m256i hi1 = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0C)), 2);
            const __m256i hi2 = _mm256_and_si256(qh, _mm256_set1_epi8(0x30));
            const __m256i hi3 =
                _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8((char)0xC0)), 2);
            q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), hi0);
            q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), hi1);
            q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), hi2);
            q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), hi3);
        }
        /* group t covers scales 2t (its first 16 lanes) and 2t+1 */
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)bw->scales);
        for (int t = 0; t < 8; t++) {
            const __m128i pick =
                _mm_set_epi64x(0x0101010101010101LL * (2 * t + 1), 0x0101010101010101LL * (2 * t));
            s[t] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, pick));
        }
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        const float d = f16(bw->d);
        for (int b = 0; b < B; b++) {
            const blk_q8_K *bx = (const blk_q8_K *)(a->x + (size_t)(b0 + b) * a->xs) + k;
            __m256i isum = _mm256_setzero_si256();
            for (int t = 0; t < 8; t++) {
                const __m256i p = _mm256_maddubs_epi16(q[t], loadu256(bx->qs + 32 * t));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s[t]));
            }
            acc[b] = q6_K_step(acc[b], isum, sc16, bx, d);
        }
    }
    for (int b = 0; b < B; b++) a->y[(b0 + b) * a->ldy + r] = hsum_ps(acc[b]);
}

DEFINE_K_TILE(q6_K_rowtile, q6_K_rowtile_body)

/* ---- activation quantizers ----------------------------------------------
 * Same arithmetic as quantize_q8_0_ref / quantize_q8_K_ref (cvtps_epi32
 * rounds to nearest even like round_even), hence the same bytes. */

ALWAYS_INLINE __m256 abs_max8(const float *x, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8)
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    return m;
}

ALWAYS_INLINE float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* 32 floats times id, rounded, as int8 in order. */
ALWAYS_INLINE __m256i round_pack32(const float *x, __m256 id) {
    __m256i i[4];
    for (int k = 0; k < 4; k++)
        i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id));
    /* packs interleave 128-bit lanes: 0-3 of each input, then 4-7; undo it */
    const __m256i p =
        _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void quant_q8_0_avx2(const float *x, void *dst, int64_t n) {
    blk_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        const float d = hmax_ps(abs_max8(x, QK8_0)) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = (uint16_t)_cvtss_sh(d, 0);
        _mm256_storeu_si256((__m256i *)b[i].qs, round_pack32(x, _mm256_set1_ps(id)));
    }
}

/* quant_q8_0_avx2's blocks as blk_x8_act: the quants, the fp16 scale as a
 * float, and offset times the quants' sum (maddubs by ones, madd, then the
 * 8 lanes added). */
void quant_x8_avx2(const float *x, void *dst, int64_t n, int32_t offset) {
    blk_x8_act *b = dst;
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        const float d = hmax_ps(abs_max8(x, QK8_0)) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        const __m256i q = round_pack32(x, _mm256_set1_ps(id));
        _mm256_storeu_si256((__m256i *)b[i].qs, q);
        b[i].d = _cvtsh_ss(_cvtss_sh(d, 0));
        const __m256i s8 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        b[i].osum = offset * _mm_cvtsi128_si32(s);
    }
}

/* bsums: per 32 quants, maddubs/madd give 4 partial sums for each group of 16
 * (lanes 0-3, 4-7); two hadd levels finish them, in order 0 2 4 6 | 1 3 5 7
 * (and 8.. in the second vector); packing and unpacking restores 0..15. */
void quant_q8_K_avx2(const float *x, void *dst, int64_t n) {
    blk_q8_K *b = dst;
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        const float amax = hmax_ps(abs_max8(x, QK_K));
        const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        b[i].d = amax != 0.0f ? amax / 127.0f : 0.0f;
        __m256i m[8];
        for (int k = 0; k < 8; k++) {
            const __m256i q = round_pack32(x + 32 * k, id);
            _mm256_storeu_si256((__m256i *)(b[i].qs + 32 * k), q);
            m[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
        }
        const __m256i g0 =
            _mm256_hadd_epi32(_mm256_hadd_epi32(m[0], m[1]), _mm256_hadd_epi32(m[2], m[3]));
        const __m256i g1 =
            _mm256_hadd_epi32(_mm256_hadd_epi32(m[4], m[5]), _mm256_hadd_epi32(m[6], m[7]));
        const __m256i p = _mm256_packs_epi32(g0, g1); /* even | odd groups */
        const __m128i ev = _mm256_castsi256_si128(p), od = _mm256_extracti128_si256(p, 1);
        _mm_storeu_si128((__m128i *)b[i].bsums, _mm_unpacklo_epi16(ev, od));
        _mm_storeu_si128((__m128i *)(b[i].bsums + 8), _mm_unpackhi_epi16(ev, od));
    }
}

/* ---- entry points ----------------------------------------------------------- */

#define DEFINE_MATMUL(name, type, tiles, rmax, bt)                                                    \
    void name(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch, float *y, \
              int64_t ldy) {                                                                           \
        const mm_args a = {w, row_bytes(type, n), xq, act_bytes(type, n), n, y, ldy};                  \
        drive(&a, r0, r1, n_batch, rmax, bt, tiles);                                                   \
    }

static DEFINE_MATMUL(matmul_q4_K_avx2, GGML_TYPE_Q4_K, q4_K_rowtile, 1, K_BATCH_TILE)
static DEFINE_MATMUL(matmul_q6_K_avx2, GGML_TYPE_Q6_K, q6_K_rowtile, 1, K_BATCH_TILE)

/* One kind of a kernel family that takes its kind as a last argument. */
#define DEFINE_KIND_MATMUL(name, family, kind)                                                        \
    void name(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch, float *y, \
              int64_t ldy) {                                                                           \
        family(w, n, r0, r1, xq, n_batch, y, ldy, kind);                                               \
    }

DEFINE_KIND_MATMUL(matmul_q8_0_avx2, q8act_matmul, TILE_Q8_0)
DEFINE_KIND_MATMUL(matmul_q4_0_avx2, q8act_matmul, TILE_Q4_0)
static DEFINE_KIND_MATMUL(matmul_q4_0_x8_avx2, matmul_x8, false)
static DEFINE_KIND_MATMUL(matmul_q8_0_x8_avx2, matmul_x8, true)

const kernel_table kernels_avx2_table = {
    .isa = KERNEL_AVX2,
    KERNELS_AVX2_SHARED,
    .matmul[SLOT_F32] = float_matmul_f32,
    .matmul[SLOT_F16] = float_matmul_f16,
    .attn_scores = attn_scores_avx2,
    .attn_values = attn_values_avx2,
    .attn_scores_f16 = attn_scores_f16_avx2,
    .attn_values_f16 = attn_values_f16_avx2,
    .matmul[SLOT_Q4_0_X8] = matmul_q4_0_x8_avx2,
    .matmul[SLOT_Q8_0_X8] = matmul_q8_0_x8_avx2,
    .matmul[SLOT_Q4_K_X8] = matmul_q4_K_x8_avx2,
    .matmul[SLOT_Q6_K_X8] = matmul_q6_K_x8_avx2,
    .matmul[SLOT_Q4_K] = matmul_q4_K_avx2,
    .matmul[SLOT_Q6_K] = matmul_q6_K_avx2,
};
