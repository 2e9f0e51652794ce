/* weft plugin ABI — common part: versions, status codes, values, declared
 * parameters and actions, the host service table, component descriptors and
 * the entry symbol.  This header and its siblings in abi/weft/ are the whole
 * contract between libweft and a plugin; see docs/abi.md.
 *
 * Compatibility rules (GStreamer's version rule, SQLite's append-only tables,
 * LV2's size fields):
 *   - a host accepts a descriptor whose abi_major equals its own and whose
 *     abi_minor is <= its own;
 *   - every struct that crosses the boundary starts with `size_t struct_size`;
 *     fields are only ever appended, and a reader treats a field that lies
 *     beyond the writer's struct_size as absent (zero / NULL);
 *   - optional methods may be NULL. */
#ifndef WEFT_ABI_H
#define WEFT_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_ABI_MAJOR 1
#define WEFT_ABI_MINOR 1

#if defined(_WIN32)
#define WEFT_EXPORT __declspec(dllexport)
#else
#define WEFT_EXPORT __attribute__((visibility("default")))
#endif

/* The one symbol every plugin shared object exports. */
#define WEFT_ENTRY_SYMBOL "weft_plugin_entry"

/* True when `field` lies inside the first `s->struct_size` bytes of *s. */
#define WEFT_HAS_FIELD(s, type, field) \
    ((s)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))
/* True when the optional method `field` is present and non-NULL. */
#define WEFT_HAS_METHOD(s, type, field) (WEFT_HAS_FIELD(s, type, field) && (s)->field != NULL)

typedef enum weft_status {
    WEFT_OK = 0,
    WEFT_ERR_INVALID = -1,      /* bad argument or configuration */
    WEFT_ERR_NOMEM = -2,
    WEFT_ERR_IO = -3,           /* file missing, unreadable, corrupt */
    WEFT_ERR_UNSUPPORTED = -4,  /* feature, type or architecture not supported */
    WEFT_ERR_CONTEXT_FULL = -5, /* KV cache / context length exhausted */
    WEFT_ERR_ABI = -6,          /* version or struct-size mismatch */
    WEFT_ERR_INTERNAL = -7,
    WEFT_ERR_CANCELLED = -8,
} weft_status;

typedef enum weft_kind {
    WEFT_KIND_BACKEND = 1,
    WEFT_KIND_DRAFTER = 2,
    WEFT_KIND_VERIFIER = 3,
    WEFT_KIND_SAMPLER = 4,
    WEFT_KIND_GRAMMAR = 5,
    WEFT_KIND_KV_COMPRESSOR = 6,
} weft_kind;
#define WEFT_KIND_COUNT 6

typedef int32_t weft_token;

/* ---- values, parameters, actions ------------------------------------- */

typedef enum weft_type {
    WEFT_TYPE_VOID = 0,
    WEFT_TYPE_BOOL = 1,      /* bool */
    WEFT_TYPE_INT = 2,       /* int64_t */
    WEFT_TYPE_DOUBLE = 3,    /* double */
    WEFT_TYPE_STRING = 4,    /* const char *, NUL-terminated UTF-8 */
    WEFT_TYPE_JSON = 5,      /* const weft_json *: any JSON value (parameters only) */
    WEFT_TYPE_COMPONENT = 6, /* weft_instance *: a nested component (parameters only) */
    WEFT_TYPE_COMPONENT_LIST = 7, /* list of nested components (parameters only) */
    WEFT_TYPE_INT_LIST = 8,  /* list of int64_t (parameters only) */
} weft_type;

typedef struct weft_json weft_json;         /* read-only JSON node owned by the host */
typedef struct weft_instance weft_instance; /* a live component, see below */

/* One parameter's value as the host hands it to create().  Which member is
 * valid follows from the declared type. Lists and strings are owned by the
 * host and live until destroy(). */
typedef struct weft_value {
    bool present; /* false: not given in the pipeline and no default */
    union {
        bool b;
        int64_t i;
        double d;
        const char *s;
        const weft_json *json;
        weft_instance *component;
        struct {
            weft_instance *const *items;
            size_t count;
        } components;
        struct {
            const int64_t *items;
            size_t count;
        } ints;
    } u;
} weft_value;

/* Parameter flags. */
#define WEFT_PARAM_REQUIRED (1u << 0)
#define WEFT_PARAM_HAS_MIN (1u << 1) /* `min` is enforced (INT, DOUBLE, list lengths) */
#define WEFT_PARAM_HAS_MAX (1u << 2)
/* STRING naming a file (a model, a corpus): the host resolves a relative name
 * against its model search path and reports a missing file at check time;
 * the plugin receives the resolved path. */
#define WEFT_PARAM_FILE (1u << 3)

typedef struct weft_param_desc {
    size_t struct_size;
    const char *name; /* JSON key */
    weft_type type;
    uint32_t flags;
    double min, max;       /* inclusive bounds, see flags */
    const char *def;       /* default as JSON text ("0.8", "true", "\"x\""), or NULL */
    const char *doc;       /* one line */
    weft_kind nested_kind; /* COMPONENT / COMPONENT_LIST: the kind expected */
    const char *const *choices; /* STRING: NULL-terminated list of allowed values, or NULL */
} weft_param_desc;

/* A declared action: a C function `ret fn(void *self, args...)` the host can
 * call with arguments taken from JSON or the command line (through libffi).
 * Argument and return types: BOOL, INT, DOUBLE, STRING (return VOID also). A
 * STRING return is owned by the plugin and valid until the next call. */
typedef struct weft_action_desc {
    size_t struct_size;
    const char *name;
    const char *doc;
    weft_type ret;
    size_t n_args;
    const weft_type *arg_types;
    const char *const *arg_names;
    void (*fn)(void); /* cast to the real signature */
} weft_action_desc;

/* ---- host services ----------------------------------------------------- */

typedef struct weft_host weft_host;

/* Per-instance handle the host gives to create(); the plugin keeps it and
 * passes it back to host services so logs and errors carry the component's
 * name. Only the fields below are public; the host keeps more behind them. */
typedef struct weft_env {
    size_t struct_size;
    const weft_host *host;
} weft_env;

typedef struct weft_rng weft_rng; /* host-owned deterministic generator */

typedef enum weft_log_level {
    WEFT_LOG_ERROR = 0,
    WEFT_LOG_WARN = 1,
    WEFT_LOG_INFO = 2,
    WEFT_LOG_DEBUG = 3,
} weft_log_level;

typedef enum weft_json_type {
    WEFT_JSON_NULL = 0,
    WEFT_JSON_BOOL,
    WEFT_JSON_NUMBER,
    WEFT_JSON_STRING,
    WEFT_JSON_ARRAY,
    WEFT_JSON_OBJECT,
} weft_json_type;

/* Body of a parallel loop: process items [begin, end). `worker` is in
 * [0, n_workers) and stable for the call, for per-worker scratch. */
typedef void (*weft_parallel_fn)(void *arg, size_t begin, size_t end, int worker);

struct weft_host {
    size_t struct_size;
    uint16_t abi_major, abi_minor;

    /* Logging and errors. error() records the message a failing method
     * returns with; the host prefixes the component's name. */
    void (*log)(const weft_env *env, weft_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    void (*error)(const weft_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

    /* Allocation (64-byte aligned). free(NULL) is a no-op. */
    void *(*alloc)(size_t size);
    void *(*calloc)(size_t n, size_t size);
    void *(*realloc)(void *p, size_t size);
    void (*free)(void *p);

    /* Deterministic random numbers from a host-owned stream. */
    uint64_t (*rng_u64)(weft_rng *rng);
    double (*rng_uniform)(weft_rng *rng); /* in [0, 1) */

    /* Parallel-for on the host's thread pool. Splits [0, n) into chunks of at
     * least `grain` items; returns when all are done. Results must not depend
     * on the split: plugins reduce per item, not per worker. */
    void (*parallel_for)(const weft_env *env, size_t n, size_t grain, weft_parallel_fn fn, void *arg);
    int (*n_workers)(const weft_env *env);

    /* Nested components from a JSON config text ({"use": "...", ...}). */
    weft_status (*create_component)(const weft_env *env, weft_kind kind, const char *json_config,
                                    weft_instance **out);
    void (*destroy_component)(const weft_env *env, weft_instance *inst);

    /* Read-only access to JSON parameters (WEFT_TYPE_JSON). */
    weft_json_type (*json_type)(const weft_json *j);
    bool (*json_bool)(const weft_json *j);
    double (*json_number)(const weft_json *j);
    const char *(*json_string)(const weft_json *j);
    size_t (*json_count)(const weft_json *j); /* array items or object members */
    const weft_json *(*json_item)(const weft_json *j, size_t i);
    const char *(*json_key)(const weft_json *j, size_t i); /* object member name */
    const weft_json *(*json_get)(const weft_json *j, const char *key);
    /* A JSON pointer (RFC 6901) naming this node within the pipeline, for
     * error messages, e.g. "/grammar/schema/properties/a". */
    const char *(*json_pointer)(const weft_json *j);

    /* ---- ABI 1.1 ---- */
    /* Parse JSON text (a schema file, a corpus index) into a read-only node
     * that lives until the instance `env` belongs to is destroyed. Pointers
     * of its nodes start with `origin` (e.g. a file name: "s.json#/a/b"). On
     * malformed text returns NULL after recording an error that names the
     * line and column. */
    const weft_json *(*json_parse)(const weft_env *env, const char *text, size_t len, const char *origin);
    /* An immutable object shared by every instance (of any plugin, in any
     * pipeline of the same registry) that asks for the same key: the first
     * caller's make(arg) builds it; later callers, and concurrent ones, get
     * the same pointer. The host owns it and calls destroy(obj) (which may
     * be NULL) when the registry goes, before plugins are unloaded; it is
     * never freed earlier, so hold no reference counts. Keys name what the
     * object is and what it was built from ("wg-vocab-index/1/<hash>"),
     * including a layout version, as different builds of one library may
     * ask. NULL when make fails (nothing is kept; a later call retries) or
     * the env has no host runtime: build a private copy then. Thread-safe. */
    void *(*shared)(const weft_env *env, const char *key, void *(*make)(void *arg), void *arg,
                    void (*destroy)(void *obj));
};

/* ---- components -------------------------------------------------------- */

/* Capability flags (weft_component_desc.flags). */
#define WEFT_CAP_LOSSLESS (1ull << 0)        /* verifier: preserves target distribution */
#define WEFT_CAP_TREES (1ull << 1)           /* drafter/verifier: handles branching trees */
#define WEFT_CAP_DRAFT_PROBS (1ull << 2)     /* drafter: reports draft distributions */
#define WEFT_CAP_NEEDS_HISTORY (1ull << 3)   /* sampler: reads token history */
#define WEFT_CAP_STATEFUL (1ull << 4)        /* sampler: has state updated by accept() */
#define WEFT_CAP_AUX_ROWS (1ull << 5)        /* drafter: adds auxiliary rows to the batch */
#define WEFT_CAP_LOSSLESS_GREEDY (1ull << 6) /* verifier: exact when every target
                                                distribution is one-hot (greedy) */

typedef struct weft_component_desc {
    size_t struct_size;
    uint16_t abi_major, abi_minor; /* set with WEFT_ABI_MAJOR / WEFT_ABI_MINOR */
    weft_kind kind;
    const char *name;        /* unique per kind, [a-z0-9-]+ */
    const char *version;     /* the component's own version, free form */
    const char *description; /* one line */
    uint64_t flags;          /* WEFT_CAP_* */

    const weft_param_desc *params;
    size_t n_params;
    const weft_action_desc *actions;
    size_t n_actions;

    /* args[i] is the value of params[i]. On failure call host->error and
     * return non-OK; *self is then ignored. */
    weft_status (*create)(const weft_env *env, const weft_value *args, void **self);
    void (*destroy)(void *self);

    /* Kind-specific method table (weft_backend_vtable, ...), which starts with
     * its own struct_size. */
    const void *vtable;
} weft_component_desc;

/* A live component as other components see it (nested backends, drafters).
 * Call its methods through desc->vtable with `self`. Owned by the host. */
struct weft_instance {
    size_t struct_size;
    const weft_component_desc *desc;
    void *self;
    const weft_env *env; /* the instance's own env (its errors and logs) */
};

/* Registration: the entry calls host_register once per component. The
 * descriptor and everything it points to must stay valid while the plugin is
 * loaded (static storage). */
typedef struct weft_registrar weft_registrar;
typedef weft_status (*weft_register_fn)(weft_registrar *reg, const weft_component_desc *desc);

/* Signature of the entry symbol `weft_plugin_entry`. */
typedef weft_status (*weft_entry_fn)(const weft_host *host, weft_registrar *reg,
                                     weft_register_fn host_register);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_ABI_H */
