/* The CPU's peak rates for int8 matmul arithmetic, for the benchmark's
 * floor under a k-token batch. */
#ifndef WEFT_BENCH_INT8_PEAK_H
#define WEFT_BENCH_INT8_PEAK_H

#include <stdbool.h>
#include <stddef.h>

/* Runs `iters` rounds of int8 dots from registers and returns the
 * multiply-adds done; with `block_scales`, each 32-element block's dots
 * are also scaled as Q8_0/Q4_0 need. *sink takes the result so the work
 * cannot be dropped. */
double int8_peak_run(size_t iters, bool block_scales, float *sink);

#endif
