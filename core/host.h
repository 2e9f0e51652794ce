/* The host side of the ABI: the service table plugins call, per-instance
 * environments (name, last error), the deterministic RNG and the thread
 * pool. Internal to libweft, but exported for tests and the runner. */
#ifndef WEFT_CORE_HOST_H
#define WEFT_CORE_HOST_H

#include <weft/weft_plugin.h>

#include "threadpool.h"

#define WEFT_API __attribute__((visibility("default")))

struct weft_rng {
    uint64_t s[4]; /* xoshiro256** */
};

/* What a pipeline shares across its components: workers, logging level,
 * and how nested components are created. */
typedef struct weft_runtime weft_runtime;

struct weft_runtime {
    weft_threadpool *pool;
    int log_level; /* messages above this level are dropped */
    /* Creates nested components for host->create_component; set by the
     * pipeline (NULL: the service fails with a clear error). */
    weft_status (*create_component)(void *ctx, const weft_env *parent, weft_kind kind,
                                    const char *json_config, weft_instance **out);
    void (*destroy_component)(void *ctx, weft_instance *inst);
    void *create_ctx;
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
