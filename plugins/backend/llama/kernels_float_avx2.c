/* AVX2 + FMA attention inner loops, softmax and SwiGLU; bit-identical to
 * the scalar reference in kernels_float.c. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels_attn_x86.h"

ATTN_INLINE void scores(const float *q, const float *const *kf, const uint16_t *const *kh, int n_keys, int hd,
                        float scale, float *out, const bool half) {
    const int hd8 = hd / ATTN_LANES * ATTN_LANES;
    const __m256 vscale = _mm256_set1_ps(scale);
    int s = 0;
    for (; s + 8 <= n_keys; s += 8) {
        __m256 acc[8];
        for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
        for (int i = 0; i < hd8; i += ATTN_LANES) {
            const __m256 qi = _mm256_loadu_ps(q + i);
            for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(qi, row8(kf, kh, s + j, i, half), acc[j]);
        }
        __m256 d = lane_trees8(acc);
        if (hd8 < hd) {
            float t[8];
            _mm256_storeu_ps(t, d);
            for (int j = 0; j < 8; j++)
                for (int i = hd8; i < hd; i++) t[j] = fmaf(q[i], row1(kf, kh, s + j, i, half), t[j]);
            d = _mm256_loadu_ps(t);
        }
        _mm256_storeu_ps(out + s, _mm256_mul_ps(d, vscale));
    }
    for (; s < n_keys; s++) {
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < hd8; i += ATTN_LANES)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), row8(kf, kh, s, i, half), acc);
        float d = lane_tree1(acc);
        for (int i = hd8; i < hd; i++) d = fmaf(q[i], row1(kf, kh, s, i, half), d);
        out[s] = d * scale;
    }
}

/* One query at a time: with 16 registers, blocking several queries
 * spills (measured: no faster). */
void attn_scores_avx2(const float *const *q, int n_q, const float *const *k, int n_keys, int hd, float scale,
                      float *const *out) {
    for (int r = 0; r < n_q; r++) scores(q[r], k, NULL, n_keys, hd, scale, out[r], false);
}

void attn_scores_f16_avx2(const float *const *q, int n_q, const uint16_t *const *k, int n_keys, int hd, float scale,
                          float *const *out) {
    for (int r = 0; r < n_q; r++) scores(q[r], NULL, k, n_keys, hd, scale, out[r], true);
}

/* Up to 64 output floats stay in registers while all values pass. */
enum { OUT_VECS = 8 };

ATTN_INLINE void values(float *out, const float *p, const float *const *vf, const uint16_t *const *vh,
                        int n_values, int hd, const bool half) {
    const int hd8 = hd / ATTN_LANES * ATTN_LANES;
    for (int i0 = 0; i0 < hd8; i0 += OUT_VECS * ATTN_LANES) {
        const int nv = (hd8 - i0) / ATTN_LANES < OUT_VECS ? (hd8 - i0) / ATTN_LANES : OUT_VECS;
        __m256 o[OUT_VECS];
        if (nv == OUT_VECS) { /* constant trip counts keep o in registers */
            for (int c = 0; c < OUT_VECS; c++) o[c] = _mm256_loadu_ps(out + i0 + c * ATTN_LANES);
            for (int s = 0; s < n_values; s++) {
                const __m256 ps = _mm256_broadcast_ss(p + s);
                for (int c = 0; c < OUT_VECS; c++)
                    o[c] = _mm256_fmadd_ps(ps, row8(vf, vh, s, i0 + c * ATTN_LANES, half), o[c]);
            }
            for (int c = 0; c < OUT_VECS; c++) _mm256_storeu_ps(out + i0 + c * ATTN_LANES, o[c]);
        } else {
            for (int c = 0; c < nv; c++) {
                __m256 oc = _mm256_loadu_ps(out + i0 + c * ATTN_LANES);
                for (int s = 0; s < n_values; s++)
                    oc = _mm256_fmadd_ps(_mm256_broadcast_ss(p + s), row8(vf, vh, s, i0 + c * ATTN_LANES, half), oc);
                _mm256_storeu_ps(out + i0 + c * ATTN_LANES, oc);
            }
        }
    }
    for (int i = hd8; i < hd; i++) {
        float o = out[i];
        for (int s = 0; s < n_values; s++) o = fmaf(p[s], row1(vf, vh, s, i, half), o);
        out[i] = o;
    }
}

void attn_values_avx2(float *const *out, const float *const *p, int n_q, const float *const *v, int n_values,
                      int hd) {
    for (int r = 0; r < n_q; r++) values(out[r], p[r], v, NULL, n_values, hd, false);
}

void attn_values_f16_avx2(float *const *out, const float *const *p, int n_q, const uint16_t *const *v,
                          int n_values, int hd) {
    for (int r = 0; r < n_q; r++) values(out[r], p[r], NULL, v, n_values, hd, true);
}

/* exp_ref on 8 lanes, operation for operation. */
static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(EXP_MIN));
    x = _mm256_min_ps(x, _mm256_set1_ps(EXP_MAX));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(EXP_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-EXP_LN2_HI), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P5));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}

/* The last m < 8 floats of a row, zero-padded to a vector, and back: the
 * tails of softmax and SwiGLU run the vector exp too (same bits as
 * exp_ref, without a libm call per element). */
static inline __m256 load_part(const float *p, int m) {
    float t[ATTN_LANES] = {0};
    memcpy(t, p, (size_t)m * sizeof(float));
    return _mm256_loadu_ps(t);
}
static inline void store_part(float *p, __m256 v, int m) {
    float t[ATTN_LANES];
    _mm256_storeu_ps(t, v);
    memcpy(p, t, (size_t)m * sizeof(float));
}

void softmax_avx2(float *x, int n) {
    const int n8 = n / ATTN_LANES * ATTN_LANES;
    float max = x[0];
    if (n8 > 0) {
        __m256 m = _mm256_loadu_ps(x);
        for (int i = ATTN_LANES; i < n8; i += ATTN_LANES) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
        float t[ATTN_LANES];
        _mm256_storeu_ps(t, m);
        for (int l = 0; l < ATTN_LANES; l++) max = t[l] > max ? t[l] : max;
    }
    for (int i = n8; i < n; i++) max = x[i] > max ? x[i] : max;
    const __m256 vmax = _mm256_set1_ps(max);
    __m256 sum8 = _mm256_setzero_ps();
    for (int i = 0; i < n8; i += ATTN_LANES) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    float sum = lane_tree1(sum8);
    if (n8 < n) {
        store_part(x + n8, exp8(_mm256_sub_ps(load_part(x + n8, n - n8), vmax)), n - n8);
        for (int i = n8; i < n; i++) sum += x[i];
    }
    const float inv = 1.0f / sum;
    const __m256 vinv = _mm256_set1_ps(inv);
    for (int i = 0; i < n8; i += ATTN_LANES) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (int i = n8; i < n; i++) x[i] *= inv;
}

/* x / (1 + exp(-x)) * u, as swiglu_ref. */
static inline __m256 swiglu8(__m256 x, __m256 u) {
    const __m256 e = exp8(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)));
    return _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

void swiglu_avx2(float *g, const float *u, int64_t n) {
    const int64_t n8 = n / ATTN_LANES * ATTN_LANES;
    for (int64_t i = 0; i < n8; i += ATTN_LANES)
        _mm256_storeu_ps(g + i, swiglu8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (n8 < n) {
        const int m = (int)(n - n8);
        store_part(g + n8, swiglu8(load_part(g + n8, m), load_part(u + n8, m)), m);
    }
}

void f16_to_f32_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}
