/* AVX-512 attention: several queries against the same keys or values in
 * one pass, bit-identical to kernels_float.c's reference.
 *
 * With AVX2's 16 registers the inner loops take one query at a time, so
 * every key (value) row is loaded once per query. AVX-512 has 32:
 * - scores: 3 queries x 8 keys = 24 accumulators of 8 lanes. Each lane sums
 *   the same products in the same order as the reference, and the lane
 *   tree is the AVX2 one, so every score has the reference's bits.
 * - values: a 64-float head is 4 registers of 16; 4 queries hold 16, and
 *   each value row, loaded once, is added to all 4 (2 queries for heads of
 *   128). Every output lane adds p[s] * v[s][i] in slot order, as the
 *   reference does.
 * Measured alone (8 queries, L1-resident rows, hd 64), against the AVX2
 * kernels: scores 31 -> 35-43 GMAC/s, values 30 -> 51-56, about the FMA
 * peak. Other shapes (scores: heads that are no multiple of 8, and a
 * call's last keys short of 8; values: heads other than 64 and 128) go to
 * the AVX2 kernels, which give the same bits. */
#include <immintrin.h>

#include "kernels_attn_x86.h"

enum { SCORE_QUERIES = 3, SCORE_KEYS = 8, VALUE_REGS = 16 };

/* Scores of keys [s, s + 8) for queries q[0..nq). */
ATTN_INLINE void score_block(const float *const *q, const float *const *kf, const uint16_t *const *kh, int s,
                             int hd, __m256 vscale, float *const *out, const int nq, const bool half) {
    __m256 acc[SCORE_QUERIES][SCORE_KEYS];
    for (int r = 0; r < nq; r++)
        for (int j = 0; j < SCORE_KEYS; j++) acc[r][j] = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += ATTN_LANES) {
        __m256 qi[SCORE_QUERIES];
        for (int r = 0; r < nq; r++) qi[r] = _mm256_loadu_ps(q[r] + i);
        for (int j = 0; j < SCORE_KEYS; j++) {
            const __m256 k = row8(kf, kh, s + j, i, half);
            for (int r = 0; r < nq; r++) acc[r][j] = _mm256_fmadd_ps(qi[r], k, acc[r][j]);
        }
    }
    for (int r = 0; r < nq; r++) _mm256_storeu_ps(out[r] + s, _mm256_mul_ps(lane_trees8(acc[r]), vscale));
}

ATTN_INLINE void scores(const float *const *q, int n_q, const float *const *kf, const uint16_t *const *kh,
                        int n_keys, int hd, float scale, float *const *out, const bool half) {
    const int n8 = hd % ATTN_LANES == 0 ? n_keys / SCORE_KEYS * SCORE_KEYS : 0;
    const __m256 vscale = _mm256_set1_ps(scale);
    int r = 0;
    for (; r + SCORE_QUERIES <= n_q; r += SCORE_QUERIES)
        for (int s = 0; s < n8; s += SCORE_KEYS) score_block(q + r, kf, kh, s, hd, vscale, out + r, 3, half);
    for (int s = 0; s < n8 && n_q - r == 2; s += SCORE_KEYS)
        score_block(q + r, kf, kh, s, hd, vscale, out + r, 2, half);
    for (int s = 0; s < n8 && n_q - r == 1; s += SCORE_KEYS)
        score_block(q + r, kf, kh, s, hd, vscale, out + r, 1, half);
    if (n8 == n_keys) return;
    for (r = 0; r < n_q; r++) { /* the last keys: AVX2, one query at a time */
        float *tail = out[r] + n8;
        if (half) attn_scores_f16_avx2(q + r, 1, kh + n8, n_keys - n8, hd, scale, &tail);
        else attn_scores_avx2(q + r, 1, kf + n8, n_keys - n8, hd, scale, &tail);
    }
}

ATTN_INLINE __m512 row16(const float *const *vf, const uint16_t *const *vh, int s, int i, const bool half) {
    return half ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vh[s] + i))) : _mm512_loadu_ps(vf[s] + i);
}

/* out[r] += sum over s of p[r][s] * v[s] for nq queries, a head of
 * 16 * nv floats held in registers while the values pass. */
ATTN_INLINE void value_block(float *const *out, const float *const *p, const float *const *vf,
                             const uint16_t *const *vh, int n_values, const int nv, const int nq, const bool half) {
    __m512 o[VALUE_REGS];
    for (int r = 0; r < nq; r++)
        for (int c = 0; c < nv; c++) o[r * nv + c] = _mm512_loadu_ps(out[r] + 16 * c);
    for (int s = 0; s < n_values; s++) {
        __m512 v[VALUE_REGS];
        for (int c = 0; c < nv; c++) v[c] = row16(vf, vh, s, 16 * c, half);
        for (int r = 0; r < nq; r++) {
            const __m512 ps = _mm512_set1_ps(p[r][s]);
            for (int c = 0; c < nv; c++) o[r * nv + c] = _mm512_fmadd_ps(ps, v[c], o[r * nv + c]);
        }
    }
    for (int r = 0; r < nq; r++)
        for (int c = 0; c < nv; c++) _mm512_storeu_ps(out[r] + 16 * c, o[r * nv + c]);
}

/* Queries in blocks of 16 / nv registers, then the rest; every shape a
 * constant, so that the accumulators stay in registers. */
ATTN_INLINE void values(float *const *out, const float *const *p, int n_q, const float *const *vf,
                        const uint16_t *const *vh, int n_values, int hd, const bool half) {
    int r = 0;
    if (hd == 64) {
        for (; r + 4 <= n_q; r += 4) value_block(out + r, p + r, vf, vh, n_values, 4, 4, half);
        if (n_q - r == 3) value_block(out + r, p + r, vf, vh, n_values, 4, 3, half);
        if (n_q - r == 2) value_block(out + r, p + r, vf, vh, n_values, 4, 2, half);
        if (n_q - r == 1) value_block(out + r, p + r, vf, vh, n_values, 4, 1, half);
    } else if (hd == 128) {
        for (; r + 2 <= n_q; r += 2) value_block(out + r, p + r, vf, vh, n_values, 8, 2, half);
        if (n_q - r == 1) value_block(out + r, p + r, vf, vh, n_values, 8, 1, half);
    } else if (half) {
        attn_values_f16_avx2(out, p, n_q, vh, n_values, hd);
    } else {
        attn_values_avx2(out, p, n_q, vf, n_values, hd);
    }
}

void attn_scores_avx512(const float *const *q, int n_q, const float *const *k, int n_keys, int hd, float scale,
                        float *const *out) {
    scores(q, n_q, k, NULL, n_keys, hd, scale, out, false);
}

void attn_scores_f16_avx512(const float *const *q, int n_q, const uint16_t *const *k, int n_keys, int hd,
                            float scale, float *const *out) {
    scores(q, n_q, NULL, k, n_keys, hd, scale, out, true);
}

void attn_values_avx512(float *const *out, const float *const *p, int n_q, const float *const *v, int n_values,
                        int hd) {
    values(out, p, n_q, v, NULL, n_values, hd, false);
}

void attn_values_f16_avx512(float *const *out, const float *const *p, int n_q, const uint16_t *const *v,
                            int n_values, int hd) {
    values(out, p, n_q, NULL, v, n_values, hd, true);
}
