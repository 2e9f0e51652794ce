/* The host service table and per-instance environments. */
#include "host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_view.h"

/* ---- environments and messages ---- */

static const char *level_name[] = {"error", "warning", "info", "debug"};

static void note_warning(weft_runtime *rt, const char *component, const char *msg) {
    pthread_mutex_lock(&rt->warn_lock);
    rt->n_warnings++;
    if (rt->n_kept < WEFT_RUNTIME_KEPT_WARNINGS) {
        weft_warning *w = &rt->kept[rt->n_kept];
        w->component = strdup(component);
        w->message = strdup(msg);
        if (w->component && w->message) rt->n_kept++;
        else free((void *)w->component), free((void *)w->message); /* counted, not kept */
    }
    pthread_mutex_unlock(&rt->warn_lock);
}

static void host_log(const weft_env *env, weft_log_level level, const char *fmt, ...) {
    const weft_env_impl *e = (const weft_env_impl *)env;
    bool counted = e && e->rt && level == WEFT_LOG_WARN;
    if (!counted && e && e->rt && (int)level > e->rt->log_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (counted) {
        note_warning(e->rt, e->name, msg);
        if ((int)level > e->rt->log_level) return;
    }
    fprintf(stderr, "weft: %s: %s: %s\n", e ? e->name : "?",
            level_name[level <= WEFT_LOG_DEBUG ? level : WEFT_LOG_DEBUG], msg);
}

static void host_error(const weft_env *env, const char *fmt, ...) {
    weft_env_impl *e = (weft_env_impl *)env;
    if (!e) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->error, sizeof e->error, fmt, ap);
    va_end(ap);
}

weft_env *weft_env_new(weft_runtime *rt, const char *name) {
    weft_env_impl *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->pub.struct_size = sizeof e->pub;
    e->pub.host = weft_host_table();
    e->rt = rt;
    e->name = strdup(name ? name : "?");
    if (!e->name) {
        free(e);
        return NULL;
    }
    return &e->pub;
}

struct parsed_json {
    cJSON *doc;
    weft_json *view;
    struct parsed_json *next;
};

static const weft_json *host_json_parse(const weft_env *env, const char *text, size_t len, const char *origin) {
    weft_env_impl *e = (weft_env_impl *)env;
    if (!e || !text) return NULL;
    origin = origin ? origin : "<json>";
    char err[512];
    cJSON *doc = json_parse_located(text, len, origin, err, sizeof err);
    if (!doc) {
        host_error(env, "%s", err);
        return NULL;
    }
    char root_ptr[1024];
    snprintf(root_ptr, sizeof root_ptr, "%s#", origin);
    struct parsed_json *pj = calloc(1, sizeof *pj);
    if (pj) pj->view = json_view_build(doc, root_ptr);
    if (!pj || !pj->view) {
        free(pj);
        cJSON_Delete(doc);
        host_error(env, "%s: out of memory", origin);
        return NULL;
    }
    pj->doc = doc;
    pj->next = e->parsed;
    e->parsed = pj;
    return pj->view;
}

void weft_env_free(weft_env *env) {
    weft_env_impl *e = (weft_env_impl *)env;
    if (!e) return;
    while (e->parsed) {
        struct parsed_json *pj = e->parsed;
        e->parsed = pj->next;
        json_view_free(pj->view);
        cJSON_Delete(pj->doc);
        free(pj);
    }
    free(e->name);
    free(e);
}

const char *weft_env_error(const weft_env *env) { return ((const weft_env_impl *)env)->error; }
void weft_env_clear_error(weft_env *env) { ((weft_env_impl *)env)->error[0] = 0; }
const char *weft_env_name(const weft_env *env) { return ((const weft_env_impl *)env)->name; }

/* ---- memory: 64-byte aligned so SIMD code may assume it ---- */

enum { ALIGN = 64 };

/* The size sits in front of the block so realloc can copy. */
static void *host_alloc(size_t size) {
    if (size > SIZE_MAX - ALIGN) return NULL;
    unsigned char *raw;
    if (posix_memalign((void **)&raw, ALIGN, size + ALIGN) != 0) return NULL;
    memcpy(raw, &size, sizeof size);
    return raw + ALIGN;
}

static void host_free(void *p) {
    if (p) free((unsigned char *)p - ALIGN);
}

static void *host_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = host_alloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

static void *host_realloc(void *p, size_t size) {
    if (!p) return host_alloc(size);
    size_t old;
    memcpy(&old, (unsigned char *)p - ALIGN, sizeof old);
    void *q = host_alloc(size);
    if (!q) return NULL;
    memcpy(q, p, old < size ? old : size);
    host_free(p);
    return q;
}

/* ---- random numbers: xoshiro256**, seeded through splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void weft_rng_seed(weft_rng *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t weft_rng_next(weft_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

double weft_rng_uniform(weft_rng *rng) { return (double)(weft_rng_next(rng) >> 11) * 0x1.0p-53; }

/* ---- threads ---- */

static void host_parallel_for(const weft_env *env, size_t n, size_t grain, weft_parallel_fn fn,
                              void *arg) {
    const weft_env_impl *e = (const weft_env_impl *)env;
    weft_threadpool_run(e && e->rt ? e->rt->pool : NULL, n, grain, fn, arg);
}

static int host_n_workers(const weft_env *env) {
    const weft_env_impl *e = (const weft_env_impl *)env;
    return e && e->rt ? weft_threadpool_size(e->rt->pool) : 1;
}

/* ---- nested components ---- */

static weft_status host_create_component(const weft_env *env, weft_kind kind, const char *json,
                                         weft_instance **out) {
    const weft_env_impl *e = (const weft_env_impl *)env;
    *out = NULL;
    if (!e || !e->rt || !e->rt->create_component) {
        host_error(env, "nested components cannot be created here (no pipeline)");
        return WEFT_ERR_UNSUPPORTED;
    }
    return e->rt->create_component(e->rt->create_ctx, env, kind, json, out);
}

static void host_destroy_component(const weft_env *env, weft_instance *inst) {
    const weft_env_impl *e = (const weft_env_impl *)env;
    if (inst && e && e->rt && e->rt->destroy_component)
        e->rt->destroy_component(e->rt->create_ctx, inst);
}

/* ---- shared objects ---- */

static void *host_shared(const weft_env *env, const char *key, void *(*make)(void *arg), void *arg,
                         void (*destroy)(void *obj)) {
    const weft_env_impl *e = (const weft_env_impl *)env;
    return e && e->rt ? weft_shared_store_get(e->rt->shared, key, make, arg, destroy) : NULL;
}

static const weft_host host_table = {
    .struct_size = sizeof(weft_host),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .log = host_log,
    .error = host_error,
    .alloc = host_alloc,
    .calloc = host_calloc,
    .realloc = host_realloc,
    .free = host_free,
    .rng_u64 = weft_rng_next,
    .rng_uniform = weft_rng_uniform,
    .parallel_for = host_parallel_for,
    .n_workers = host_n_workers,
    .create_component = host_create_component,
    .destroy_component = host_destroy_component,
    .json_type = json_view_type,
    .json_bool = json_view_bool,
    .json_number = json_view_number,
    .json_string = json_view_string,
    .json_count = json_view_count,
    .json_item = json_view_item,
    .json_key = json_view_key,
    .json_get = json_view_get,
    .json_pointer = json_view_pointer,
    .json_parse = host_json_parse,
    .shared = host_shared,
};

const weft_host *weft_host_table(void) { return &host_table; }

weft_runtime *weft_runtime_new(int n_threads) {
    weft_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return NULL;
    rt->pool = weft_threadpool_new(n_threads);
    rt->log_level = WEFT_LOG_WARN;
    rt->shared = rt->own_shared = weft_shared_store_new();
    if (!rt->pool || !rt->shared) {
        weft_threadpool_free(rt->pool);
        weft_shared_store_free(rt->own_shared);
        free(rt);
        return NULL;
    }
    pthread_mutex_init(&rt->warn_lock, NULL);
    return rt;
}

void weft_runtime_free(weft_runtime *rt) {
    if (!rt) return;
    weft_threadpool_free(rt->pool);
    weft_shared_store_free(rt->own_shared);
    weft_runtime_warnings_truncate(rt, 0);
    pthread_mutex_destroy(&rt->warn_lock);
    free(rt);
}

void weft_runtime_warnings_truncate(weft_runtime *rt, int64_t n) {
    pthread_mutex_lock(&rt->warn_lock);
    if (n < rt->n_warnings) rt->n_warnings = n;
    while (rt->n_kept > (size_t)n) {
        weft_warning *w = &rt->kept[--rt->n_kept];
        free((void *)w->component);
        free((void *)w->message);
    }
    pthread_mutex_unlock(&rt->warn_lock);
}

bool weft_runtime_warnings_to_stats(weft_runtime *rt, weft_stats *st) {
    pthread_mutex_lock(&rt->warn_lock);
    st->n_warnings = rt->n_warnings;
    /* one block: the array, then its strings */
    size_t size = rt->n_kept * sizeof(weft_warning);
    for (size_t i = 0; i < rt->n_kept; i++)
        size += strlen(rt->kept[i].component) + strlen(rt->kept[i].message) + 2;
    weft_warning *w = rt->n_kept ? malloc(size) : NULL;
    if (w) {
        char *p = (char *)(w + rt->n_kept);
        for (size_t i = 0; i < rt->n_kept; i++) {
            const char *src[2] = {rt->kept[i].component, rt->kept[i].message};
            for (int k = 0; k < 2; k++) {
                size_t l = strlen(src[k]) + 1;
                memcpy(p, src[k], l);
                if (k) w[i].message = p;
                else w[i].component = p;
                p += l;
            }
        }
        st->n_kept = rt->n_kept;
    }
    st->warnings = w;
    bool ok = w || !rt->n_kept;
    pthread_mutex_unlock(&rt->warn_lock);
    return ok;
}
