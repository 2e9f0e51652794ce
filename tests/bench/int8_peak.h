/* The CPU's peak rate for the arithmetic of Q8_0/Q4_0 block dot products,
 * for the benchmark's floor under a k-token batch. */
#ifndef WEFT_BENCH_INT8_PEAK_H
#define WEFT_BENCH_INT8_PEAK_H

#include <stddef.h>

/* Runs `iters` rounds of block arithmetic with no memory traffic and
 * returns the multiply-adds done; *sink takes the result so the work
 * cannot be dropped. */
double int8_peak_run(size_t iters, float *sink);

#endif
