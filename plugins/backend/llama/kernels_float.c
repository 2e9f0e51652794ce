/* Float kernels of a layer (attention's dot and axpy loops, softmax,
 * SwiGLU): scalar reference and dispatch. The AVX2 versions
 * (kernels_float_avx2.c) give the same bits: every score is summed in 8
 * lanes by fused multiply-adds, combined in one fixed tree; every output
 * lane adds its values in slot order; exp is one polynomial written twice
 * with the same operations. A score therefore does not depend on how many
 * keys are scored together, which keeps tree and chain evaluation
 * bit-identical. */
#include <math.h>
#include <string.h>

#include "kernels_internal.h"

float attn_lane_tree(const float l[ATTN_LANES]) {
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

float exp_ref(float x) {
    x = x > EXP_MIN ? x : EXP_MIN; /* NaN becomes EXP_MIN, as in max_ps */
    x = x < EXP_MAX ? x : EXP_MAX;
    const float n = rintf(x * EXP_LOG2E);
    float r = fmaf(n, -EXP_LN2_HI, x);
    r = fmaf(n, -EXP_LN2_LO, r);
    float p = EXP_P0;
    p = fmaf(p, r, EXP_P1);
    p = fmaf(p, r, EXP_P2);
    p = fmaf(p, r, EXP_P3);
    p = fmaf(p, r, EXP_P4);
    p = fmaf(p, r, EXP_P5);
    const float y = fmaf(p, r * r, r) + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* Element i of row s: float rows kf, or half rows kh when given. */
static inline float row_elem(const float *const *kf, const uint16_t *const *kh, int s, int i) {
    return kh ? fp16_to_fp32(kh[s][i]) : kf[s][i];
}

static void scores_ref(const float *q, const float *const *kf, const uint16_t *const *kh, int n_keys, int hd,
                       float scale, float *out) {
    const int hd8 = hd / ATTN_LANES * ATTN_LANES;
    for (int s = 0; s < n_keys; s++) {
        float lane[ATTN_LANES] = {0};
        for (int i = 0; i < hd8; i += ATTN_LANES)
            for (int l = 0; l < ATTN_LANES; l++) lane[l] = fmaf(q[i + l], row_elem(kf, kh, s, i + l), lane[l]);
        float d = attn_lane_tree(lane);
        for (int i = hd8; i < hd; i++) d = fmaf(q[i], row_elem(kf, kh, s, i), d);
        out[s] = d * scale;
    }
}

static void values_ref(float *out, const float *p, const float *const *vf, const uint16_t *const *vh, int n_values,
                       int hd) {
    for (int i = 0; i < hd; i++) {
        float o = out[i];
        for (int s = 0; s < n_values; s++) o = fmaf(p[s], row_elem(vf, vh, s, i), o);
        out[i] = o;
    }
}

void attn_scores_ref(const float *q, const float *const *k, int n_keys, int hd, float scale, float *out) {
    scores_ref(q, k, NULL, n_keys, hd, scale, out);
}

void attn_values_ref(float *out, const float *p, const float *const *v, int n_values, int hd) {
    values_ref(out, p, v, NULL, n_values, hd);
}

void softmax_ref(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++) max = x[i] > max ? x[i] : max;
    const int n8 = n / ATTN_LANES * ATTN_LANES;
    float lane[ATTN_LANES] = {0};
    for (int i = 0; i < n8; i += ATTN_LANES)
        for (int l = 0; l < ATTN_LANES; l++) lane[l] += x[i + l] = exp_ref(x[i + l] - max);
    float sum = attn_lane_tree(lane);
    for (int i = n8; i < n; i++) sum += x[i] = exp_ref(x[i] - max);
    const float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

void swiglu_ref(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + exp_ref(-g[i])) * u[i];
}

/* The scalar table's entries: one query after another. */
void attn_scores_rows_ref(const float *const *q, int n_q, const float *const *k, int n_keys, int hd, float scale,
                          float *const *out) {
    for (int r = 0; r < n_q; r++) scores_ref(q[r], k, NULL, n_keys, hd, scale, out[r]);
}

void attn_values_rows_ref(float *const *out, const float *const *p, int n_q, const float *const *v, int n_values,
                          int hd) {
    for (int r = 0; r < n_q; r++) values_ref(out[r], p[r], v, NULL, n_values, hd);
}

void attn_scores_rows_f16_ref(const float *const *q, int n_q, const uint16_t *const *k, int n_keys, int hd,
                              float scale, float *const *out) {
    for (int r = 0; r < n_q; r++) scores_ref(q[r], NULL, k, n_keys, hd, scale, out[r]);
}

void attn_values_rows_f16_ref(float *const *out, const float *const *p, int n_q, const uint16_t *const *v,
                              int n_values, int hd) {
    for (int r = 0; r < n_q; r++) values_ref(out[r], p[r], NULL, v, n_values, hd);
}

void attn_scores_rows(const float *const *q, int n_q, const float *const *k, int n_keys, int hd, float scale,
                      float *const *out) {
    kernels_active()->attn_scores(q, n_q, k, n_keys, hd, scale, out);
}

void attn_values_rows(float *const *out, const float *const *p, int n_q, const float *const *v, int n_values,
                      int hd) {
    kernels_active()->attn_values(out, p, n_q, v, n_values, hd);
}

void attn_scores_rows_f16(const float *const *q, int n_q, const uint16_t *const *k, int n_keys, int hd, float scale,
                          float *const *out) {
    kernels_active()->attn_scores_f16(q, n_q, k, n_keys, hd, scale, out);
}

void attn_values_rows_f16(float *const *out, const float *const *p, int n_q, const uint16_t *const *v,
                          int n_values, int hd) {
    kernels_active()->attn_values_f16(out, p, n_q, v, n_values, hd);
}

void attn_scores(const float *q, const float *const *k, int n_keys, int hd, float scale, float *out) {
    attn_scores_rows(&q, 1, k, n_keys, hd, scale, &out);
}

void attn_values(float *out, const float *p, const float *const *v, int n_values, int hd) {
    attn_values_rows(&out, &p, 1, v, n_values, hd);
}

void attn_scores_f16(const float *q, const uint16_t *const *k, int n_keys, int hd, float scale, float *out) {
    attn_scores_rows_f16(&q, 1, k, n_keys, hd, scale, &out);
}

void attn_values_f16(float *out, const float *p, const uint16_t *const *v, int n_values, int hd) {
    attn_values_rows_f16(&out, &p, 1, v, n_values, hd);
}

void softmax(float *x, int n) { kernels_active()->softmax(x, n); }

void swiglu(float *g, const float *u, int64_t n) { kernels_active()->swiglu(g, u, n); }
