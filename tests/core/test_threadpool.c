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

/* Claims are guided: none is larger than half a thread's share of the loop
 * (plus one unit), none is smaller than the grain unless it ends the loop,
 * and the loop's last claim is a single unit, so workers finish together. */
typedef struct claim_arg {
    size_t n, grain, unit;
    atomic_int hits[4096];
    atomic_long too_big, too_small, last_too_big;
} claim_arg;

static void claim_body(void *p, size_t begin, size_t end, int worker) {
    (void)worker;
    claim_arg *a = p;
    const size_t size = end - begin;
    if (size > a->n / (2 * THREADS) + a->unit) atomic_fetch_add(&a->too_big, 1);
    if (size < a->grain && end != a->n) atomic_fetch_add(&a->too_small, 1);
    if (end == a->n && size > a->unit) atomic_fetch_add(&a->last_too_big, 1);
    for (size_t i = begin; i < end; i++) atomic_fetch_add(&a->hits[i], 1);
}

Test(threadpool, claims_are_guided) {
    weft_threadpool *tp = weft_threadpool_new(THREADS);
    cr_assert_not_null(tp);
    static claim_arg a;
    long wrong = 0;
    const size_t grains[] = {1, 3, 40};
    for (size_t n = 1; n <= 4096; n += 1 + n / 8)
        for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
            a.n = n;
            a.grain = grains[g];
            const size_t share = (n + 32 * THREADS - 1) / (32 * THREADS); /* UNITS_PER_THREAD */
            a.unit = share > a.grain ? share : a.grain;
            for (size_t i = 0; i < n; i++) atomic_store(&a.hits[i], 0);
            weft_threadpool_run(tp, n, a.grain, claim_body, &a);
            for (size_t i = 0; i < n; i++) wrong += atomic_load(&a.hits[i]) != 1;
        }
    weft_threadpool_free(tp);
    cr_assert_eq(wrong, 0, "%ld items did not run exactly once", wrong);
    cr_assert_eq(atomic_load(&a.too_big), 0, "%ld claims took more than half a thread's share",
                 atomic_load(&a.too_big));
    cr_assert_eq(atomic_load(&a.too_small), 0, "%ld claims were smaller than the grain", atomic_load(&a.too_small));
    cr_assert_eq(atomic_load(&a.last_too_big), 0, "%ld loops ended in a claim of more than one unit",
                 atomic_load(&a.last_too_big));
}
