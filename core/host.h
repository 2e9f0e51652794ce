/* The host side of the ABI: the service table plugins call, per-instance
 * environments (name, last error), the deterministic RNG and the thread
 * pool. Internal to libweft, but exported for tests and the runner. */
#ifndef WEFT_CORE_HOST_H
#define WEFT_CORE_HOST_H

#include <pthread.h>
#include <weft/weft.h>
#include <weft/weft_plugin.h>

#include "threadpool.h"

#define WEFT_API __attribute__((visibility("default")))

struct weft_rng {
    uint64_t s[4]; /* xoshiro256** */
};

/* What a pipeline shares across its components: workers, logging level,
 * and how nested components are created. */
typedef struct weft_runtime weft_runtime;

/* host->shared's objects (shared.c): one per key, made on first request,
 * destroyed with the store. Thread-safe. */
typedef struct weft_shared_store weft_shared_store;
WEFT_API weft_shared_store *weft_shared_store_new(void);
WEFT_API void weft_shared_store_free(weft_shared_store *s);
WEFT_API void *weft_shared_store_get(weft_shared_store *s, const char *key, void *(*make)(void *arg), void *arg,
                                     void (*destroy)(void *obj));
/* Objects whose key starts with prefix (NULL: all); for tests. */
WEFT_API size_t weft_shared_store_count(weft_shared_store *s, const char *prefix);
/* The registry's store, which pipelines of that registry use. */
WEFT_API weft_shared_store *weft_registry_shared(weft_registry *reg);

/* Warnings (host->log at WEFT_LOG_WARN) are counted per runtime, whatever
 * the log level, for the run statistics; the first ones are kept. */
#define WEFT_RUNTIME_KEPT_WARNINGS 32

struct weft_runtime {
    weft_threadpool *pool;
    int log_level; /* messages above this level are dropped */
    /* Creates nested components for host->create_component; set by the
     * pipeline (NULL: the service fails with a clear error). */
    weft_status (*create_component)(void *ctx, const weft_env *parent, weft_kind kind,
                                    const char *json_config, weft_instance **out);
    void (*destroy_component)(void *ctx, weft_instance *inst);
    void *create_ctx;
    /* host->shared: the registry's store in a pipeline, else own_shared */
    weft_shared_store *shared, *own_shared;
    pthread_mutex_t warn_lock; /* host->log may be called from pool workers */
    int64_t n_warnings;
    size_t n_kept;
    weft_warning kept[WEFT_RUNTIME_KEPT_WARNINGS]; /* strings owned */
};

/* Host-private env: the public part first. */
typedef struct weft_env_impl {
    weft_env pub;
    weft_runtime *rt;
    char *name;  /* "sampler top-k", used as message prefix */
    char error[1024];
    struct parsed_json *parsed; /* host->json_parse results, freed with the env */
} weft_env_impl;

WEFT_API const weft_host *weft_host_table(void);

WEFT_API weft_runtime *weft_runtime_new(int n_threads);
WEFT_API void weft_runtime_free(weft_runtime *rt);
/* Forgets every warning after the first n (a request starts again from the
 * ones its pipeline logged while it was built). */
WEFT_API void weft_runtime_warnings_truncate(weft_runtime *rt, int64_t n);
/* The runtime's warnings into stats (count, and a copy of the kept ones
 * the result owns); false when out of memory for the copy. */
WEFT_API bool weft_runtime_warnings_to_stats(weft_runtime *rt, weft_stats *st);

WEFT_API weft_env *weft_env_new(weft_runtime *rt, const char *name);
WEFT_API void weft_env_free(weft_env *env);
/* The last message recorded with host->error() ("" if none); cleared by
 * weft_env_clear_error. */
WEFT_API const char *weft_env_error(const weft_env *env);
WEFT_API void weft_env_clear_error(weft_env *env);
WEFT_API const char *weft_env_name(const weft_env *env);

WEFT_API void weft_rng_seed(weft_rng *rng, uint64_t seed);
WEFT_API uint64_t weft_rng_next(weft_rng *rng);
WEFT_API double weft_rng_uniform(weft_rng *rng);

#endif
