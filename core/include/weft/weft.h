/* libweft — the embedding API: load plugins, build a pipeline from JSON,
 * generate. The `weft` runner is a thin client of this header. */
#ifndef WEFT_H
#define WEFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <weft/weft_plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_PUBLIC __attribute__((visibility("default")))

/* Errors are written into caller buffers of this size. */
#define WEFT_ERR_CAP 1024

/* ---- plugins ---------------------------------------------------------- */

typedef struct weft_registry weft_registry;

WEFT_PUBLIC weft_registry *weft_registry_new(void);
WEFT_PUBLIC void weft_registry_free(weft_registry *reg);
/* Loads one plugin file; its components are registered or nothing is. */
WEFT_PUBLIC weft_status weft_registry_load(weft_registry *reg, const char *path, char *err,
                                           size_t cap);
/* Loads every weft-*.so in a directory. Problems with single files are
 * appended (one per line) to err and do not stop the scan. Returns the count
 * of files loaded. */
WEFT_PUBLIC int weft_registry_scan(weft_registry *reg, const char *dir, char *err, size_t cap);
/* Scans the default search path: $WEFT_PLUGIN_PATH (colon-separated), then
 * the build tree's and the install prefix's plugin folders. */
WEFT_PUBLIC int weft_registry_scan_defaults(weft_registry *reg, char *err, size_t cap);

typedef struct weft_component_info {
    const weft_component_desc *desc;
    const char *file; /* the plugin file it came from */
} weft_component_info;

WEFT_PUBLIC size_t weft_registry_count(const weft_registry *reg);
WEFT_PUBLIC const weft_component_info *weft_registry_at(const weft_registry *reg, size_t i);
WEFT_PUBLIC const weft_component_info *weft_registry_find(const weft_registry *reg,
                                                          weft_kind kind, const char *name);
/* By name alone (first match of any kind); NULL if none. */
WEFT_PUBLIC const weft_component_info *weft_registry_find_any(const weft_registry *reg,
                                                              const char *name);

WEFT_PUBLIC const char *weft_kind_name(weft_kind kind);
WEFT_PUBLIC const char *weft_type_name(weft_type type);
WEFT_PUBLIC const char *weft_status_name(weft_status st);

/* ---- pipelines -------------------------------------------------------- */

typedef struct weft_pipeline weft_pipeline;

typedef struct weft_options {
    int n_threads;          /* 0 = the pipeline's "threads", else 1 */
    const char *models_dir; /* NULL = $WEFT_MODELS, else ../shared/models */
    int log_level;          /* WEFT_LOG_*; default WEFT_LOG_WARN */
} weft_options;

/* Parses, validates and instantiates. Errors name the JSON pointer:
 * "/samplers/1/k: expected integer >= 0, got -3". */
WEFT_PUBLIC weft_pipeline *weft_pipeline_new(weft_registry *reg, const char *json, size_t len,
                                             const char *origin, const weft_options *opt,
                                             char *err, size_t cap);
/* Parses and validates only (no instantiation): `weft check`. */
WEFT_PUBLIC weft_status weft_pipeline_check(weft_registry *reg, const char *json, size_t len,
                                            const char *origin, const weft_options *opt,
                                            char *err, size_t cap);
WEFT_PUBLIC void weft_pipeline_free(weft_pipeline *p);

/* Calls a declared action of the component at a JSON pointer ("/drafter",
 * "/samplers/0"). args_json is a JSON array of the arguments. The result is
 * written as JSON text into result (may be NULL). */
WEFT_PUBLIC weft_status weft_pipeline_call(weft_pipeline *p, const char *component,
                                           const char *action, const char *args_json,
                                           char *result, size_t result_cap, char *err, size_t cap);

typedef enum weft_finish {
    WEFT_FINISH_NONE = 0,
    WEFT_FINISH_EOS,        /* the model ended (end-of-generation token) */
    WEFT_FINISH_LENGTH,     /* max_tokens reached */
    WEFT_FINISH_STOP,       /* a stop string matched */
    WEFT_FINISH_CONTEXT,    /* the context is full */
    WEFT_FINISH_GRAMMAR,    /* the grammar is complete */
    WEFT_FINISH_ERROR,
} weft_finish;

WEFT_PUBLIC const char *weft_finish_name(weft_finish f);

enum weft_timer {
    WEFT_T_TOKENIZE,
    WEFT_T_PREFILL,
    WEFT_T_BACKEND, /* evaluation during decoding */
    WEFT_T_DRAFTER,
    WEFT_T_GRAMMAR,
    WEFT_T_SAMPLER,
    WEFT_T_VERIFIER,
    WEFT_T_KV,
    WEFT_T_COUNT
};

typedef struct weft_warning {
    const char *component; /* "grammar 'json-schema' (/grammar)" */
    const char *message;
} weft_warning;

typedef struct weft_stats {
    int64_t n_prompt, n_generated;
    int64_t n_steps;          /* verify steps (target evaluations after prefill) */
    int64_t n_drafted;        /* draft tokens proposed (excluding aux rows) */
    int64_t n_accepted;       /* draft tokens accepted */
    int64_t n_draft_steps;    /* steps that had a non-empty draft */
    double seconds_total;     /* wall time of the whole request */
    double seconds_decode;    /* after prefill */
    double t[WEFT_T_COUNT];   /* seconds per component */
    bool lossy;               /* the verifier is not lossless */
    int64_t accept_hist[17];  /* steps by accepted draft tokens (16 = 16 or more) */
    /* Warnings the pipeline's components logged (host->log, WEFT_LOG_WARN,
     * counted whatever the log level): while the pipeline was built (e.g. a
     * schema keyword a lenient grammar ignores), then during this request.
     * The first n_kept are kept; weft_result_free frees them. */
    int64_t n_warnings;
    const weft_warning *warnings;
    size_t n_kept;
} weft_stats;

typedef struct weft_result {
    char *text;     /* generated text (malloc'd, NUL-terminated) */
    size_t text_len;
    weft_token *tokens; /* generated ids (malloc'd) */
    size_t n_tokens;
    weft_finish finish;
    weft_stats stats;
} weft_result;

/* Per-request overrides of the pipeline's "generate" section; negative /
 * NULL = keep the pipeline's value. */
typedef struct weft_request {
    const char *prompt;
    size_t prompt_len;
    int64_t max_tokens;
    int64_t seed;
    bool has_seed;
    /* Called with each piece of text as it is committed (may be NULL). */
    void (*on_text)(void *user, const char *text, size_t len);
    void *user;
} weft_request;

WEFT_PUBLIC weft_status weft_generate(weft_pipeline *p, const weft_request *req, weft_result *out,
                                      char *err, size_t cap);
WEFT_PUBLIC void weft_result_free(weft_result *r);

/* Stats as a JSON object text (malloc'd). */
WEFT_PUBLIC char *weft_stats_json(const weft_stats *s);
/* Human-readable summary lines. */
WEFT_PUBLIC void weft_stats_print(const weft_stats *s, void *file /* FILE* */);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_H */
