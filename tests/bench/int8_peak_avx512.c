/* The least arithmetic of an int8 matmul on AVX-512 VNNI, from registers.
 * A 32-element block of 16 weight rows against one batch row is 8
 * vpdpbusd (512 multiply-adds). Q8_0 and Q4_0 (x Q8_0 activations) then
 * scale each block's int32 dots by the weight and activation scales
 * (convert, multiply, FMA), since both scales change every block; K-quants
 * scale less often, so for them the bare dots are the floor. Eight batch
 * rows give eight independent chains, enough to cover the latencies, so a
 * round runs at the pipes' throughput. Called only when the backend's
 * kernels run on the AVX-512 table. */
#include <immintrin.h>

#include "int8_peak.h"

enum { ROWS = 8, CHUNKS = 8 };

double int8_peak_run(size_t iters, bool block_scales, float *sink) {
    __m512i w[CHUNKS], x[ROWS], dots[ROWS];
    __m512 acc[ROWS], dx[ROWS];
    for (int c = 0; c < CHUNKS; c++) w[c] = _mm512_set1_epi8((char)(c + 1));
    for (int j = 0; j < ROWS; j++) {
        x[j] = _mm512_set1_epi8((char)(j - 3));
        dots[j] = _mm512_setzero_si512();
        acc[j] = _mm512_setzero_ps();
        dx[j] = _mm512_set1_ps(0.25f * (float)(j + 1));
    }
    __m512 dw = _mm512_set1_ps(0.5f);
    if (block_scales) {
        for (size_t it = 0; it < iters; it++) {
#pragma GCC unroll 8
            for (int j = 0; j < ROWS; j++) {
                __m512i d = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int c = 0; c < CHUNKS; c++) d = _mm512_dpbusd_epi32(d, w[c], x[j]);
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(dw, dx[j]), acc[j]);
            }
            __asm__ volatile("" : "+v"(dw), "+v"(w[0])); /* keeps the rounds from being folded */
        }
    } else {
        for (size_t it = 0; it < iters; it++) {
#pragma GCC unroll 8
            for (int j = 0; j < ROWS; j++)
#pragma GCC unroll 8
                for (int c = 0; c < CHUNKS; c++) dots[j] = _mm512_dpbusd_epi32(dots[j], w[c], x[j]);
            __asm__ volatile("" : "+v"(w[0]));
        }
        for (int j = 0; j < ROWS; j++) acc[j] = _mm512_cvtepi32_ps(dots[j]);
    }
    __m512 sum = acc[0];
    for (int j = 1; j < ROWS; j++) sum = _mm512_add_ps(sum, acc[j]);
    *sink = _mm512_reduce_add_ps(sum);
    return (double)iters * ROWS * CHUNKS * 64;
}
