/* Private to the x86 SIMD kernel files (kernels_avx2.c, kernels_avx512.c):
 * the small helpers they share and the X8 kernels' outer loop. Each file is
 * compiled for its own ISA, so everything here is inline. */
#ifndef WEFT_LLAMA_KERNELS_X86_H
#define WEFT_LLAMA_KERNELS_X86_H

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "kernels_internal.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m256i loadu256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* An opaque use of an accumulator. Integer adds are associative, so GCC
 * rewrites the X8 kernels' chains of 8 maddubs + add into trees over all
 * the products of a batch tile, computed first and spilled to the stack;
 * passing the running sum through an empty asm keeps it one register added
 * to in order. Batched Q8_0_X8 ran 1.3x faster for it, Q4_0_X8 1.06x. */
#define KEEP_IN_REGISTER(v) __asm__("" : "+x"(v))

/* Q8_0/Q4_0 tiles read R short rows (about 2 KB) side by side, a pattern
 * the hardware prefetcher follows late; asking for the same position in the
 * next tile's rows made DRAM-bound n_batch=1 calls ~1.4x faster. F16 tiles
 * gain from it too, two tiles ahead (decode +17%); F32 and K-quant kernels
 * measured no gain or a loss. */
ALWAYS_INLINE void prefetch_line(const uint8_t *p) {
    _mm_prefetch((const char *)p, _MM_HINT_T0);
}

/* Every X8 layout is one sequential stream: each block's scales sit just
 * before its quants (a separate scale table made two streams, which the
 * hardware prefetcher followed at half speed: 768 x 2048 Q8_0_X8 from DRAM,
 * one row 111 -> 60 us, once interleaved; a Q6_K_X8 chunk's high bits kept
 * apart from its nibbles ran at 9 GB/s). One to three batch rows stream
 * fastest with the hardware prefetcher alone (Q4_0_X8 one row 37-41 ->
 * 31-35 us without x8_prefetch, two 55-60 -> 40-48). Tiles of 4+ rows
 * consume a group slowly enough that they need it: the bytes 2 KB ahead
 * into L1 and 16 KB further into L2 (wide q8_0, 8 rows: 7.8 -> 5.8 ms a
 * batch on one thread; AVX2 768 x 2048 Q8_0_X8, 8 rows in two tiles of
 * 4, 294-309 -> 234-240 us). Past the last group these only touch
 * addresses a prefetch may touch: they never fault. */
#define X8_PREFETCH_BYTES 2048
#define X8_PREFETCH_L2_EXTRA 16384
#define X8_PREFETCH_MIN_BATCH 4

/* Prefetches for the X8 block at qk, bbytes long, X8_PREFETCH_BYTES on
 * into L1 and X8_PREFETCH_L2_EXTRA further into L2. */
ALWAYS_INLINE void x8_prefetch(const uint8_t *qk, size_t bbytes) {
    for (size_t o = 0; o < bbytes; o += 64) {
        _mm_prefetch((const char *)qk + X8_PREFETCH_BYTES + o, _MM_HINT_T0);
        _mm_prefetch((const char *)qk + X8_PREFETCH_BYTES + X8_PREFETCH_L2_EXTRA + o, _MM_HINT_T1);
    }
}

/* x8_prefetch for block k of a Q4_0_X8 / Q8_0_X8 group (bq quant bytes a
 * block). Blocks lie in pairs (x8_quants_at), so the span is where block k
 * would start were they all 16 + bq bytes long: consecutive spans cover
 * every line of the group, which prefetching from its quants did not (one
 * line in 9 was left to a demand miss: 8-row batches 15% slower). */
ALWAYS_INLINE void x8_prefetch_block(const uint8_t *group, int64_t k, size_t bq) {
    x8_prefetch(group + (size_t)k * (16 + bq), 16 + bq);
}

ALWAYS_INLINE __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* ---- row-tile kernels' shared parts ---- */

/* Rows per block (its weights stay cache-hot while all batch tiles pass). */
#define ROW_BLOCK 16

typedef struct mm_args {
    const uint8_t *w; /* weight rows */
    size_t ws;        /* weight row stride */
    const uint8_t *x; /* activation rows */
    size_t xs;        /* activation row stride */
    int64_t n;
    float *y;
    int64_t ldy;
} mm_args;

ALWAYS_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

ALWAYS_INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }

/* Computes rows [r, r+R) for batch rows [b0, b0+B). */
typedef void (*tile_fn)(const mm_args *a, int64_t r, int R, int b0, int B);

/* rmax: rows per tile for this batch size; bt: batch tile size. */
static inline void drive(const mm_args *a, int64_t r0, int64_t r1, int n_batch, int rmax, int bt,
                         tile_fn tile) {
    for (int64_t rb = r0; rb < r1; rb += ROW_BLOCK) {
        const int64_t re = rb + ROW_BLOCK < r1 ? rb + ROW_BLOCK : r1;
        for (int b0 = 0; b0 < n_batch; b0 += bt) {
            const int B = n_batch - b0 < bt ? n_batch - b0 : bt;
            for (int64_t r = rb; r < re;) {
                const int R = re - r >= rmax ? rmax : 1;
                tile(a, r, R, b0, B);
                r += R;
            }
        }
    }
}

/* ---- K-quants (kernels_avx2.c, kernels_avx512.c) ---- */

#define K_BATCH_TILE 16

/* Q4_K scales[12] -> 8 scales and 8 mins as bytes (see q4_K_scale_min):
 * words u0, u1 hold the low 6 bits of scales/mins 0..3 and, in their top 2
 * bits, the high bits of scales/mins 4..7, whose low nibbles are in u2. */
ALWAYS_INLINE void q4_K_scales_mins(const uint8_t *s, uint32_t sc[2], uint32_t mn[2]) {
    uint32_t u[3];
    memcpy(u, s, 12);
    sc[0] = u[0] & 0x3f3f3f3f;
    sc[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
    mn[0] = u[1] & 0x3f3f3f3f;
    mn[1] = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
}

/* DEFINE_K_TILE(name, body) defines the tile_fn `name` around a K-quant
 * row body(a, r, b0, B): one weight row against batch rows [b0, b0+B).
 * One batch row (decode) gets B as a constant, so its accumulator stays in
 * a register instead of a store and a load per super-block (Q4_K_M decode
 * 177-185 -> 207-211 tok/s). Two or four weight rows per tile, for more
 * independent chains, measured slower (170-178). */
#define DEFINE_K_TILE(name, body)                                                                              \
    static void name(const mm_args *a, int64_t r, int R, int b0, int B) {                                      \
        (void)R;                                                                                               \
        if (B == 1)                                                                                            \
            body(a, r, b0, 1);                                                                                 \
        else                                                                                                   \
            body(a, r, b0, B);                                                                                 \
    }

/* Q4_K mins as int16 pairs m0 m0 m1 m1 ... to meet the 16 bsums (two per
 * 32-element sub-block). */
ALWAYS_INLINE __m256i q4_K_min_pairs(const uint32_t mn[2]) {
    const __m128i mn16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn[1], (int)mn[0]));
    return _mm256_set_m128i(_mm_unpackhi_epi16(mn16, mn16), _mm_unpacklo_epi16(mn16, mn16));
}

/* A Q4_K super-block's float step for one batch row: isum (8 lanes of
 * scaled integer dots) and the mins term against bx's bsums. */
ALWAYS_INLINE __m256 q4_K_step(__m256 acc, __m256i isum, __m256i min_pairs, const blk_q8_K *bx, float d,
                               float dmin) {
    const __m256i imin = _mm256_madd_epi16(loadu256(bx->bsums), min_pairs);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(bx->d * d), acc);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_set1_ps(-(bx->d * dmin)), acc);
}

/* A Q6_K super-block's float step: isum less the -32 offset (through the
 * bsums and the 16 scales sc16), scaled. */
ALWAYS_INLINE __m256 q6_K_step(__m256 acc, __m256i isum, __m256i sc16, const blk_q8_K *bx, float d) {
    const __m256i off = _mm256_madd_epi16(sc16, loadu256(bx->bsums));
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(off, 5));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(bx->d * d), acc);
}

/* ---- the X8 kernels' outer loop (layouts: kernels.h, kernels_avx2.c) ---- */

#define X8_MAX_TILE 8

/* A group body `name(group, gbytes, n, xr, B, out, q8)` computes one
 * group of 8 weight rows, or two adjacent ones (the second gbytes after
 * the first), against B <= X8_MAX_TILE activation rows xr (Q4_0_X8 /
 * Q8_0_X8: blk_x8_act blocks, kernels_internal.h; K-quant X8 types: Q8_K
 * blocks). out[X8_OUT * j + l] gets row l's result for batch row j. q8:
 * the groups are Q8_0_X8, not Q4_0_X8 (unused by the K-quant bodies). */
#define X8_OUT 16

/* A Q4_0_X8 block's 128 bytes as 8 vectors of nibbles (q + 8): v[c] holds
 * elements 4c .. 4c+3 of the 8 rows. */
ALWAYS_INLINE void x8_q4_0_nibbles(const uint8_t *qk, __m256i v[8]) {
    const __m256i low4 = _mm256_set1_epi8(0xF);
    for (int m = 0; m < 4; m++) {
        const __m256i raw = loadu256(qk + 32 * m);
        v[2 * m] = _mm256_and_si256(raw, low4);
        v[2 * m + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
    }
}

/* DEFINE_X8_GROUP(name, dots) defines `name`, a one-group
 * body for a compile-time B around the ISA's block dots: per
 * block, acc[j] = fma(dot, dw * dx, acc[j]), in block order.
 * `dots(qk, xr, k, B, q8, d)` sets d[j] lane l to row l's dot with batch
 * row j's block k, less its offset sum (blk_x8_act); qk is the group's
 * quants of block k. A macro, not a function pointer: always_inline
 * through a pointer fails to compile at -O0 and under the sanitizers. */
#define DEFINE_X8_GROUP(name, dots)                                                                              \
    ALWAYS_INLINE void name(const uint8_t *group, size_t gbytes, int64_t n, const blk_x8_act *const *xr,       \
                            const int B, float *out, const bool q8) {                                          \
        (void)gbytes;                                                                                          \
        const int64_t nb = n / QK8_0;                                                                          \
        const size_t bbytes = x8_quant_bytes(q8);                                                              \
        __m256 acc[X8_MAX_TILE];                                                                               \
        for (int j = 0; j < B; j++) acc[j] = _mm256_setzero_ps();                                              \
        for (int64_t k = 0; k < nb; k++) {                                                                     \
            const uint8_t *qk = group + x8_quants_at(k, nb, q8);                                               \
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(group + x8_scales_at(k, q8)))); \
            if (B >= X8_PREFETCH_MIN_BATCH) x8_prefetch_block(group, k, bbytes);                               \
            __m256i d[X8_MAX_TILE];                                                                            \
            dots(qk, xr, k, B, q8, d);                                                                         \
            for (int j = 0; j < B; j++)                                                                        \
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d[j]), _mm256_mul_ps(dw, _mm256_set1_ps(xr[j][k].d)), \
                                         acc[j]);                                                              \
        }                                                                                                      \
        for (int j = 0; j < B; j++) _mm256_storeu_ps(out + X8_OUT * j, acc[j]);                                \
    }

/* ---- Q4_K_X8 and Q6_K_X8 (kernels.h): a vector lane per row, Q8_K
 * activations ----
 * The 8 rows' sub-block scales (and Q4_K's mins) decode in 8 int32 lanes
 * once per super-block. Per 32 elements c the ISA's `chunk_dot(v, x, s, c)`
 * gives lane l the scaled dot of row l's quants v (8 vectors of 4 elements
 * a lane, as in Q4_0_X8) with the 32 activation bytes x: one sub-block's
 * for Q4_K, two for Q6_K. Their sum and the offset terms (Q4_K's mins
 * against the bsums, Q6_K's -32 against them) are the scalar reference's
 * integers exactly (dot_q4_K, dot_q6_K), and the float step is its own,
 * lane by lane. So results are the reference's bits, at every batch size. */

/* A super-block's scales, decoded once for all its batch rows */
typedef struct q4_K_x8_sc {
    __m256i sc[8];  /* sub-block j's scales (pairs: as int16 (sc, sc)) */
    __m256i mn2[8]; /* its mins as int16 (m, m), against a bsums pair */
    __m256 d, dmin;
} q4_K_x8_sc;

typedef struct q6_K_x8_sc {
    __m256i sc[16]; /* sub-block j's scales (pairs: as int16 (sc, sc)) */
    __m256i scp[8]; /* scales 2p, 2p+1 as an int16 pair, against bsums 2p, 2p+1 */
    __m256 d;
} q6_K_x8_sc;

/* int32 lanes (int16 range) as int16 pairs (lo, hi) */
ALWAYS_INLINE __m256i i16_pair(__m256i lo, __m256i hi) {
    return _mm256_or_si256(_mm256_and_si256(lo, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(hi, 16));
}

ALWAYS_INLINE __m256i x8_bytes_u32(const uint8_t *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)); }

/* q4_K_scale_min's unpacking, on the 8 rows' bytes at once */
ALWAYS_INLINE void q4_K_x8_scales(const uint8_t *sb, q4_K_x8_sc *s, const bool pairs) {
    __m256i b[12], mn[8];
    s->d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)sb));
    s->dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sb + Q4_K_X8_DMIN)));
    for (int i = 0; i < 12; i++) b[i] = x8_bytes_u32(sb + Q4_K_X8_SCALES + 8 * i);
    const __m256i m63 = _mm256_set1_epi32(63), m15 = _mm256_set1_epi32(15);
    for (int j = 0; j < 4; j++) {
        s->sc[j] = _mm256_and_si256(b[j], m63);
        mn[j] = _mm256_and_si256(b[j + 4], m63);
        s->sc[j + 4] = _mm256_or_si256(_mm256_and_si256(b[j + 8], m15), _mm256_slli_epi32(_mm256_srli_epi32(b[j], 6), 4));
        mn[j + 4] = _mm256_or_si256(_mm256_srli_epi32(b[j + 8], 4), _mm256_slli_epi32(_mm256_srli_epi32(b[j + 4], 6), 4));
    }
    for (int j = 0; j < 8; j++) {
        s->mn2[j] = i16_pair(mn[j], mn[j]);
        if (pairs) s->sc[j] = i16_pair(s->sc[j], s->sc[j]);
    }
}

ALWAYS_INLINE void q6_K_x8_scales(const uint8_t *sb, q6_K_x8_sc *s, const bool pairs) {
    s->d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)sb));
    for (int j = 0; j < 16; j++)
        s->sc[j] = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(sb + Q6_K_X8_SCALES + 8 * j)));
    for (int p = 0; p < 8; p++) s->scp[p] = i16_pair(s->sc[2 * p], s->sc[2 * p + 1]);
    if (pairs)
        for (int j = 0; j < 16; j++) s->sc[j] = i16_pair(s->sc[j], s->sc[j]);
}

ALWAYS_INLINE void q4_K_x8_quants(const uint8_t *sb, int c, __m256i v[8]) {
    x8_q4_0_nibbles(sb + Q4_K_X8_QS + 128 * c, v);
}

/* q + 32: the low nibbles as Q4_K_X8's, bits 4-5 from the high bits */
ALWAYS_INLINE void q6_K_x8_quants(const uint8_t *sb, int c, __m256i v[8]) {
    const uint8_t *chunk = sb + Q6_K_X8_QS + Q6_K_X8_CHUNK * c;
    x8_q4_0_nibbles(chunk, v);
    const __m256i m30 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
        const __m256i hb = loadu256(chunk + 128 + 32 * h);
        const __m256i hi[4] = {_mm256_slli_epi16(hb, 4), _mm256_slli_epi16(hb, 2), hb, _mm256_srli_epi16(hb, 2)};
        for (int t = 0; t < 4; t++) v[4 * h + t] = _mm256_or_si256(v[4 * h + t], _mm256_and_si256(hi[t], m30));
    }
}

/* dot_q4_K's float step: acc + dx * (d * isc - dmin * imin) */
ALWAYS_INLINE __m256 q4_K_x8_step(__m256 acc, __m256i isc, const q4_K_x8_sc *s, const blk_q8_K *x) {
    __m256i imin = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++)
        imin = _mm256_add_epi32(imin, _mm256_madd_epi16(s->mn2[j], bcast4((const int8_t *)(x->bsums + 2 * j))));
    const __m256 t =
        _mm256_sub_ps(_mm256_mul_ps(s->d, _mm256_cvtepi32_ps(isc)), _mm256_mul_ps(s->dmin, _mm256_cvtepi32_ps(imin)));
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(x->d), t));
}

/* dot_q6_K's: isc less 32 sum_j sc_j bsums[j] (the quants' +32), then
 * acc + (dx * d) * is */
ALWAYS_INLINE __m256 q6_K_x8_step(__m256 acc, __m256i isc, const q6_K_x8_sc *s, const blk_q8_K *x) {
    __m256i off = _mm256_setzero_si256();
    for (int p = 0; p < 8; p++)
        off = _mm256_add_epi32(off, _mm256_madd_epi16(s->scp[p], bcast4((const int8_t *)(x->bsums + 2 * p))));
    const __m256i is = _mm256_sub_epi32(isc, _mm256_slli_epi32(off, 5));
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(x->d), s->d), _mm256_cvtepi32_ps(is)));
}

/* DEFINE_K_X8_GROUP(name, kind, bytes, chunk_dot, sc_pairs) defines a
 * one-group body for `kind` (q4_K or q6_K, super-blocks of
 * `bytes`); sc_pairs: chunk_dot takes its scales as int16 pairs. */
#define DEFINE_K_X8_GROUP(name, kind, bytes, chunk_dot, sc_pairs)                                              \
    ALWAYS_INLINE void name(const uint8_t *group, size_t gbytes, int64_t n, const blk_q8_K *const *xr,         \
                            const int B, float *out, const bool q8) {                                          \
        (void)gbytes, (void)q8;                                                                                \
        __m256 acc[X8_MAX_TILE];                                                                               \
        for (int b = 0; b < B; b++) acc[b] = _mm256_setzero_ps();                                              \
        for (int64_t k = 0; k < n / QK_K; k++) {                                                               \
            const uint8_t *sb = group + (size_t)k * (bytes);                                                   \
            if (B >= X8_PREFETCH_MIN_BATCH) x8_prefetch(sb, (bytes));                                        \
            kind##_x8_sc s;                                                                                    \
            kind##_x8_scales(sb, &s, sc_pairs);                                                                \
            __m256i isc[X8_MAX_TILE];                                                                          \
            for (int b = 0; b < B; b++) isc[b] = _mm256_setzero_si256();                                       \
            for (int c = 0; c < QK_K / 32; c++) {                                                              \
                __m256i v[8];                                                                                  \
                kind##_x8_quants(sb, c, v);                                                                    \
                for (int b = 0; b < B; b++) isc[b] = _mm256_add_epi32(isc[b], chunk_dot(v, xr[b][k].qs + 32 * c, &s, c)); \
            }                                                                                                  \
            for (int b = 0; b < B; b++) acc[b] = kind##_x8_step(acc[b], isc[b], &s, &xr[b][k]);                \
        }                                                                                                      \
        for (int b = 0; b < B; b++) _mm256_storeu_ps(out + X8_OUT * b, acc[b]);                                \
    }

/* A tile's results: rows [g*8, (g+span)*8) for its B batch rows, only
 * those in [r0, r1) written, so results do not depend on how rows are
 * split between threads. */
ALWAYS_INLINE void x8_write(const float *out, int64_t g, int span, int64_t r0, int64_t r1, int B, float *y,
                            int64_t ldy) {
    const bool whole = g * 8 >= r0 && (g + span) * 8 <= r1;
    for (int j = 0; j < B; j++) {
        float *yj = y + j * ldy;
        if (whole) { /* constant sizes: a variable one became rep movsq, 6% of a batch */
            memcpy(yj + g * 8, out + X8_OUT * j, sizeof(float) * 8);
            if (span == 2) memcpy(yj + g * 8 + 8, out + X8_OUT * j + 8, sizeof(float) * 8);
            continue;
        }
        for (int l = 0; l < 8 * span; l++) {
            const int64_t row = g * 8 + l;
            if (row >= r0 && row < r1) yj[row] = out[X8_OUT * j + l];
        }
    }
}

/* DEFINE_X8_MATMUL(name, one, two, xblk, tile_rows, pair_min) defines
 * `name(w, n, r0, r1, xq, n_batch, y, ldy, st)`, a matmul over the groups
 * of split type st: batch rows (activation rows of blocks xblk) in tiles
 * of up to tile_rows, and per tile the groups in order, two at a time by
 * `two` where both are in range and n_batch >= pair_min (0: never), else
 * one at a time by `one` (DEFINE_X8_GROUP-like bodies).
 * The group bodies are inlined into a loop for each compile-time B: called
 * through a pointer, with B a switch inside, GCC stored the accumulators
 * to the stack on every block (with blk_x8_act: see there). Batch
 * tiles go outside the groups: the forward pass asks for 16 rows a call
 * (MM_BLOCK_ROWS), so the weights of a call stay in L1 across its tiles. */
#define DEFINE_X8_MATMUL(name, one, two, xblk, tile_rows, pair_min)                                               \
    ALWAYS_INLINE void name##_groups(const uint8_t *w, size_t gbytes, int64_t n, int64_t r0, int64_t r1,         \
                                     const xblk *const *xr, const int B, float *y, int64_t ldy, bool q8,          \
                                     bool pairs) {                                                               \
        for (int64_t g = r0 / 8; g * 8 < r1;) {                                                                  \
            const int span = pairs && (g + 1) * 8 < r1 ? 2 : 1;                                                  \
            const uint8_t *group = w + (size_t)g * gbytes;                                                       \
            _Alignas(64) float out[X8_OUT * X8_MAX_TILE];                                                        \
            if (span == 2)                                                                                       \
                two(group, gbytes, n, xr, B, out, q8);                                                           \
            else                                                                                                 \
                one(group, gbytes, n, xr, B, out, q8);                                                           \
            x8_write(out, g, span, r0, r1, B, y, ldy);                                                           \
            g += span;                                                                                           \
        }                                                                                                        \
    }                                                                                                            \
    static void name(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch, float *y,    \
                     int64_t ldy, ggml_type st) {                                                                \
        const bool q8 = st == WEFT_TYPE_Q8_0_X8, pairs = (pair_min) > 0 && n_batch >= (pair_min);              \
        const size_t xs = act_bytes(st, n), gbytes = 8 * row_bytes(st, n);                                       \
        for (int b0 = 0; b0 < n_batch; b0 += (tile_rows)) {                                                      \
            const int B = n_batch - b0 < (tile_rows) ? n_batch - b0 : (tile_rows);                               \
            const xblk *xr[X8_MAX_TILE];                                                                         \
            for (int j = 0; j < B; j++) xr[j] = (const xblk *)((const uint8_t *)xq + (size_t)(b0 + j) * xs);     \
            const uint8_t *wb = (const uint8_t *)w;                                                              \
            float *yb = y + b0 * ldy;                                                                            \
            switch (B) {                                                                                         \
            case 1: name##_groups(wb, gbytes, n, r0, r1, xr, 1, yb, ldy, q8, pairs); break;                      \
            case 2: if ((tile_rows) >= 2) name##_groups(wb, gbytes, n, r0, r1, xr, 2, yb, ldy, q8, pairs); break; \
            case 3: if ((tile_rows) >= 3) name##_groups(wb, gbytes, n, r0, r1, xr, 3, yb, ldy, q8, pairs); break; \
            case 4: if ((tile_rows) >= 4) name##_groups(wb, gbytes, n, r0, r1, xr, 4, yb, ldy, q8, pairs); break; \
            case 5: if ((tile_rows) >= 5) name##_groups(wb, gbytes, n, r0, r1, xr, 5, yb, ldy, q8, pairs); break; \
            case 6: if ((tile_rows) >= 6) name##_groups(wb, gbytes, n, r0, r1, xr, 6, yb, ldy, q8, pairs); break; \
            case 7: if ((tile_rows) >= 7) name##_groups(wb, gbytes, n, r0, r1, xr, 7, yb, ldy, q8, pairs); break; \
            default: if ((tile_rows) >= 8) name##_groups(wb, gbytes, n, r0, r1, xr, 8, yb, ldy, q8, pairs); break; \
            }                                                                                                    \
        }                                                                                                        \
    }

/* DEFINE_K_X8_MATMUL(name, kind, bytes, type, chunk_dot, sc_pairs, tile_rows)
 * defines the matmul_kernel `name` for the K-quant X8 `type` (kind q4_K or
 * q6_K, super-blocks of `bytes`) around the ISA's chunk_dot, in batch tiles
 * of tile_rows (see DEFINE_K_X8_GROUP). */
#define DEFINE_K_X8_MATMUL(name, kind, bytes, type, chunk_dot, sc_pairs, tile_rows)                           \
    DEFINE_K_X8_GROUP(name##_group, kind, bytes, chunk_dot, sc_pairs)                                          \
    DEFINE_X8_MATMUL(name##_x8, name##_group, name##_group, blk_q8_K, tile_rows, 0)                             \
    static void name(const void *w, int64_t n, int64_t r0, int64_t r1, const void *xq, int n_batch, float *y,  \
                     int64_t ldy) {                                                                            \
        name##_x8(w, n, r0, r1, xq, n_batch, y, ldy, type);                                                    \
    }

#endif
