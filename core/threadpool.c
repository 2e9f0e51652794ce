/* Workers spin on a generation counter for a short while before sleeping:
 * a decode step runs ~100 short parallel loops, and a futex wake-up per loop
 * (tens of microseconds) would cost more than the loops themselves. Spinning
 * yields the CPU now and then: when there are more runnable threads than
 * cores, a pure spin would keep the thread we wait for off the CPU.
 *
 * The caller waits for the loop's units, not for the workers: a worker that
 * is descheduled (an oversubscribed machine) must not stall the loop. Units
 * (runs of at least `grain` items) are claimed from one atomic word that
 * holds the loop's generation, its unit count and the next unit, so a worker
 * that wakes late cannot claim work of a loop that has moved on, nor judge
 * its claim against the unit count of the next loop (the caller writes that
 * before it publishes the loop: reading it from the pool let a late worker
 * claim a chunk past the end of its loop, which then ran with the next
 * loop's body and argument).
 *
 * Claims are guided: a worker takes a share of what is left, so claims
 * start large (few atomic operations) and end one unit long (the workers
 * finish together). Fixed chunks of a quarter of a thread's share left one
 * worker idle for up to a chunk at the end of every loop. */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

enum {
    SPIN_ROUNDS = 1 << 17, /* ~ a few ms of spinning before sleeping */
    YIELD_EVERY = 1 << 8,  /* pause rounds between sched_yield() calls */
    UNITS_PER_THREAD = 32, /* the finest split of a loop: a unit is its last claims */
    SHARE_DIVISOR = 2,     /* a claim takes left / (SHARE_DIVISOR * threads) units */
    MAX_THREADS = 1024,    /* so that a loop's unit count fits 16 bits */
};

/* The claim word: generation (32 bits) | unit count (16) | next unit (16). */
static inline uint64_t claim_word(uint64_t gen, size_t n_units) {
    return (gen & 0xffffffffu) << 32 | (uint64_t)n_units << 16;
}

/* One round of waiting: mostly a pause, sometimes a yield. */
static inline void wait_round(int i) {
    if ((i & (YIELD_EVERY - 1)) == YIELD_EVERY - 1) sched_yield();
    else cpu_relax();
}

struct weft_threadpool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    /* the loop in flight; valid while any of its units is unfinished */
    weft_parallel_body fn;
    void *arg;
    size_t n, unit, n_units;
    atomic_uint_fast64_t next;       /* claim_word() + the next unit's index */
    atomic_size_t done;              /* units finished */
    atomic_uint_fast64_t generation; /* wake-up signal for workers */
    uint64_t gen;                    /* the caller's count of loops */
    atomic_int sleeping;             /* workers blocked on `wake` */
    atomic_int stop;
};

typedef struct {
    weft_threadpool *tp;
    int id;
} worker_arg;

/* Claims and runs units of loop `gen` until none is left. The size of a
 * claim depends only on the word, never on the pool's loop fields. */
static void run_units(weft_threadpool *tp, uint64_t gen, int worker) {
    const uint64_t tag = (gen & 0xffffffffu) << 32;
    const size_t divisor = (size_t)SHARE_DIVISOR * (size_t)tp->n_threads;
    for (;;) {
        uint_fast64_t v = atomic_load_explicit(&tp->next, memory_order_acquire);
        if ((v & ~(uint_fast64_t)0xffffffffu) != tag) return; /* another loop */
        size_t idx = (size_t)(v & 0xffffu), n_units = (size_t)(v >> 16 & 0xffffu);
        if (idx >= n_units) return;
        const size_t take = (n_units - idx) / divisor > 1 ? (n_units - idx) / divisor : 1;
        if (!atomic_compare_exchange_weak_explicit(&tp->next, &v, v + take, memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        /* a claimed unit keeps the caller waiting, so fn/arg are this loop's */
        const size_t b = idx * tp->unit, end = (idx + take) * tp->unit;
        tp->fn(tp->arg, b, end < tp->n ? end : tp->n, worker);
        atomic_fetch_add_explicit(&tp->done, take, memory_order_release);
    }
}

static uint64_t wait_for_work(weft_threadpool *tp, uint64_t seen) {
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        uint64_t g = atomic_load_explicit(&tp->generation, memory_order_acquire);
        if (g != seen || atomic_load(&tp->stop)) return g;
        wait_round(i);
    }
    pthread_mutex_lock(&tp->mu);
    atomic_fetch_add(&tp->sleeping, 1);
    uint64_t g;
    while ((g = atomic_load(&tp->generation)) == seen && !atomic_load(&tp->stop))
        pthread_cond_wait(&tp->wake, &tp->mu);
    atomic_fetch_sub(&tp->sleeping, 1);
    pthread_mutex_unlock(&tp->mu);
    return g;
}

static void *worker_main(void *p) {
    worker_arg *wa = p;
    weft_threadpool *tp = wa->tp;
    int id = wa->id;
    free(wa);
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_work(tp, seen);
        if (atomic_load(&tp->stop)) break;
        run_units(tp, seen, id);
    }
    return NULL;
}

weft_threadpool *weft_threadpool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    weft_threadpool *tp = calloc(1, sizeof *tp);
    if (!tp) return NULL;
    tp->n_threads = 1;
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->wake, NULL);
    if (n_threads > 1) tp->threads = calloc((size_t)n_threads - 1, sizeof *tp->threads);
    for (int i = 1; tp->threads && i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) break;
        wa->tp = tp;
        wa->id = i;
        if (pthread_create(&tp->threads[i - 1], NULL, worker_main, wa) != 0) {
            free(wa);
            break; /* run with the threads we got */
        }
        tp->n_threads = i + 1;
    }
    return tp;
}

void weft_threadpool_free(weft_threadpool *tp) {
    if (!tp) return;
    pthread_mutex_lock(&tp->mu);
    atomic_store(&tp->stop, 1);
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 1; i < tp->n_threads; i++) pthread_join(tp->threads[i - 1], NULL);
    free(tp->threads);
    pthread_mutex_destroy(&tp->mu);
    pthread_cond_destroy(&tp->wake);
    free(tp);
}

int weft_threadpool_size(const weft_threadpool *tp) { return tp ? tp->n_threads : 1; }

void weft_threadpool_run(weft_threadpool *tp, size_t n, size_t grain, weft_parallel_body fn,
                         void *arg) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    int nt = tp ? tp->n_threads : 1;
    if (nt == 1 || n <= grain) {
        fn(arg, 0, n, 0);
        return;
    }
    /* at most UNITS_PER_THREAD * nt units: a larger grain only makes fewer */
    size_t unit = (n + (size_t)nt * UNITS_PER_THREAD - 1) / ((size_t)nt * UNITS_PER_THREAD);
    if (unit < grain) unit = grain;
    tp->fn = fn;
    tp->arg = arg;
    tp->n = n;
    tp->unit = unit;
    tp->n_units = (n + unit - 1) / unit;
    atomic_store_explicit(&tp->done, 0, memory_order_relaxed);
    uint64_t gen = ++tp->gen;
    atomic_store_explicit(&tp->next, claim_word(gen, tp->n_units), memory_order_release);
    atomic_store(&tp->generation, gen); /* seq_cst: pairs with `sleeping` */
    if (atomic_load(&tp->sleeping) > 0) {
        pthread_mutex_lock(&tp->mu);
        pthread_cond_broadcast(&tp->wake);
        pthread_mutex_unlock(&tp->mu);
    }
    run_units(tp, gen, 0);
    for (int i = 0; atomic_load_explicit(&tp->done, memory_order_acquire) < tp->n_units; i++) wait_round(i);
}
