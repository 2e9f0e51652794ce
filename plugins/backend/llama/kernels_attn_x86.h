/* Attention helpers shared by the AVX2 and AVX-512 attention kernels
 * (kernels_float_avx2.c, kernels_float_avx512.c): a score's lane tree and
 * the row loads. Include after <immintrin.h>, in files built with AVX2 and
 * F16C at least. */
#ifndef WEFT_LLAMA_KERNELS_ATTN_X86_H
#define WEFT_LLAMA_KERNELS_ATTN_X86_H

#include <immintrin.h>

#include "kernels_internal.h"

#define ATTN_INLINE static inline __attribute__((always_inline))

/* The lane tree of eight accumulators at once: hadd pairs lanes (0+1, 2+3)
 * within each 128-bit half, a second hadd adds those pairs, and adding the
 * halves finishes ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) for all eight. */
ATTN_INLINE __m256 lane_trees8(const __m256 a[8]) {
    const __m256 ab = _mm256_hadd_ps(a[0], a[1]), cd = _mm256_hadd_ps(a[2], a[3]);
    const __m256 ef = _mm256_hadd_ps(a[4], a[5]), gh = _mm256_hadd_ps(a[6], a[7]);
    const __m256 abcd = _mm256_hadd_ps(ab, cd), efgh = _mm256_hadd_ps(ef, gh);
    /* abcd = [a b c d | a' b' c' d'] (low-half sums | high-half sums) */
    const __m256 lo = _mm256_permute2f128_ps(abcd, efgh, 0x20);
    const __m256 hi = _mm256_permute2f128_ps(abcd, efgh, 0x31);
    return _mm256_add_ps(lo, hi);
}

ATTN_INLINE float lane_tree1(__m256 a) {
    const __m256 h = _mm256_hadd_ps(a, a);
    const __m256 hh = _mm256_hadd_ps(h, h);
    return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(hh), _mm256_extractf128_ps(hh, 1)));
}

/* Row s of the keys or values: float rows kf, or half rows kh when `half`
 * (an F16 cache, converted in registers: exact, so the same bits). */
ATTN_INLINE __m256 row8(const float *const *kf, const uint16_t *const *kh, int s, int i, const bool half) {
    return half ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kh[s] + i))) : _mm256_loadu_ps(kf[s] + i);
}
ATTN_INLINE float row1(const float *const *kf, const uint16_t *const *kh, int s, int i, const bool half) {
    return half ? _cvtsh_ss(kh[s][i]) : kf[s][i];
}

#endif
