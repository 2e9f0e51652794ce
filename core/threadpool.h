/* A fixed pool of worker threads running parallel-for loops. The calling
 * thread takes part as worker 0. Chunks are claimed dynamically, but each
 * item is computed by exactly one worker, so results never depend on the
 * thread count as long as the body reduces per item. */
#ifndef WEFT_CORE_THREADPOOL_H
#define WEFT_CORE_THREADPOOL_H

#include <stddef.h>

typedef struct weft_threadpool weft_threadpool;
typedef void (*weft_parallel_body)(void *arg, size_t begin, size_t end, int worker);

weft_threadpool *weft_threadpool_new(int n_threads);
void weft_threadpool_free(weft_threadpool *tp);
int weft_threadpool_size(const weft_threadpool *tp);
void weft_threadpool_run(weft_threadpool *tp, size_t n, size_t grain, weft_parallel_body fn,
                         void *arg);

#endif
