/* Workers spin on a generation counter for a short while before sleeping:
 * a decode step runs ~100 short parallel loops, and a futex wake-up per loop
 * (tens of microseconds) would cost more than the loops themselves. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

enum { SPIN_ROUNDS = 1 << 17 }; /* ~ a few ms of spinning before sleeping */

struct weft_threadpool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    /* the loop in flight, published by `generation` (release/acquire) */
    weft_parallel_body fn;
    void *arg;
    size_t n, chunk;
    atomic_size_t next;
    atomic_uint_fast64_t generation;
    atomic_int busy;     /* workers still inside the current loop */
    atomic_int sleeping; /* workers blocked on `wake` */
    atomic_int stop;
};

typedef struct {
    weft_threadpool *tp;
    int id;
} worker_arg;

static void run_chunks(weft_threadpool *tp, int worker) {
    for (;;) {
        size_t b = atomic_fetch_add_explicit(&tp->next, tp->chunk, memory_order_relaxed);
        if (b >= tp->n) return;
        size_t e = b + tp->chunk < tp->n ? b + tp->chunk : tp->n;
        tp->fn(tp->arg, b, e, worker);
    }
}

static uint64_t wait_for_work(weft_threadpool *tp, uint64_t seen) {
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        uint64_t g = atomic_load_explicit(&tp->generation, memory_order_acquire);
        if (g != seen || atomic_load(&tp->stop)) return g;
        cpu_relax();
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
        run_chunks(tp, id);
        atomic_fetch_sub_explicit(&tp->busy, 1, memory_order_release);
    }
    return NULL;
}

weft_threadpool *weft_threadpool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
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
    /* about 4 chunks per worker balances uneven work without much overhead */
    size_t chunk = (n + (size_t)nt * 4 - 1) / ((size_t)nt * 4);
    if (chunk < grain) chunk = grain;
    tp->fn = fn;
    tp->arg = arg;
    tp->n = n;
    tp->chunk = chunk;
    atomic_store_explicit(&tp->next, 0, memory_order_relaxed);
    atomic_store_explicit(&tp->busy, nt - 1, memory_order_relaxed);
    atomic_fetch_add(&tp->generation, 1); /* seq_cst: pairs with `sleeping` */
    if (atomic_load(&tp->sleeping) > 0) {
        pthread_mutex_lock(&tp->mu);
        pthread_cond_broadcast(&tp->wake);
        pthread_mutex_unlock(&tp->mu);
    }
    run_chunks(tp, 0);
    while (atomic_load_explicit(&tp->busy, memory_order_acquire) > 0) cpu_relax();
}
