/* The thread pool under stress: many short loops of varying size on more
 * workers than cores, so that workers are often descheduled in the middle
 * of claiming a chunk. Every item of every loop must run exactly once, no
 * chunk may reach past its loop's end, and no chunk may still be running
 * when weft_threadpool_run has returned. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../../core/threadpool.h"

enum { MAX_ITEMS = 48, LOOPS = 1000000, THREADS = 6 };

typedef struct loop_arg {
    size_t n;
    atomic_int hits[MAX_ITEMS];
    atomic_long loop;     /* the loop in flight */
    atomic_long returned; /* the last loop whose run() returned */
    atomic_long overrun, late;
} loop_arg;

static void body(void *p, size_t begin, size_t end, int worker) {
    (void)worker;
    loop_arg *a = p;
    const long loop = atomic_load(&a->loop);
    for (size_t i = begin; i < end; i++) {
        if (i >= a->n) atomic_fetch_add(&a->overrun, 1);
        else atomic_fetch_add(&a->hits[i], 1);
    }
    if (atomic_load(&a->returned) >= loop) atomic_fetch_add(&a->late, 1);
}

Test(threadpool, every_item_once_under_preemption, .timeout = 120) {
    weft_threadpool *tp = weft_threadpool_new(THREADS);
    cr_assert_not_null(tp);
    static loop_arg a;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    long wrong = 0;
    for (long k = 1; k <= LOOPS; k++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        a.n = 1 + (size_t)(rng % MAX_ITEMS); /* varies the chunk count loop to loop */
        for (size_t i = 0; i < MAX_ITEMS; i++) atomic_store(&a.hits[i], 0);
        atomic_store(&a.loop, k);
        weft_threadpool_run(tp, a.n, 1, body, &a);
        atomic_store(&a.returned, k);
        for (size_t i = 0; i < MAX_ITEMS; i++) wrong += atomic_load(&a.hits[i]) != (i < a.n);
    }
    weft_threadpool_free(tp);
    cr_assert_eq(atomic_load(&a.overrun), 0, "%ld chunks ran past their loop's end", atomic_load(&a.overrun));
    cr_assert_eq(atomic_load(&a.late), 0, "%ld chunks still ran after their loop returned", atomic_load(&a.late));
    cr_assert_eq(wrong, 0, "%ld items did not run exactly once", wrong);
}
