/* weft-schema-compile-bench: what a new schema costs before its first mask,
 * through the real plugin path: weft-grammar-json-schema.so loaded as the
 * host loads it, create() from a JSON `schema` parameter, then set_vocab()
 * with a real vocabulary, whose index comes from the host's store
 * (host->shared) and so is built once, by the first schema.
 *   weft-schema-compile-bench [--dir DIR] [--vocab GGUF] [--every N] [--cache-ms MS] [--phases N] [--cpu]
 * --cache-ms: the plugin's token-cache precomputation budget (its default is
 * 0, none; positions left over are classified on first use). Prints the first
 * schema's time (which builds the index), then p50/p99/max over the others
 * that compile.
 * --cpu: measure this thread's CPU time instead of wall time (the runtime
 * has one thread; steadier on a loaded machine).
 * --phases N: also times each phase of the same work on its own (front-end
 * js_build, engine wg_compile, the vocabulary key and index check of
 * set_vocab, the token cache), prints p50/p99/max per phase and the N
 * slowest schemas with their split. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grammar.h"
#include "json_schema.h"
#include "json_view.h"
#include "maskbench.h"
#include "plugin_fixture.h"
#include "test_paths.h"

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { PH_FRONT, PH_ENGINE, PH_INDEX, PH_CACHE, PH_N };
static const char *const PH_NAMES[PH_N] = {"front-end", "engine", "index key+check", "token cache"};

typedef struct sample {
    double total, ph[PH_N];
    size_t states, cached, positions;
    const char *name;
} sample;

static int cmp_sample(const void *a, const void *b) {
    double x = ((const sample *)a)->total, y = ((const sample *)b)->total;
    return (x < y) - (x > y);
}

/* The phases of create + set_vocab, each timed on its own (same options as
 * the plugin with whitespace flexible). */
static void time_phases(const weft_env *env, const weft_json *schema, const mb_vocab *mv, double cache_ms, sample *out) {
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.whitespace = JS_WS_FLEXIBLE;
    opt.max_whitespace = 16;
    wg_limits lim = {0};
    js_warnings w = {0};
    wg_builder *b = wg_builder_new();
    wg_rule root;
    double t0 = now_ms();
    weft_status st = js_build(env, schema, &opt, &lim, b, &root, &w);
    double t1 = now_ms();
    out->ph[PH_FRONT] = t1 - t0;
    wg_grammar *g = st == WEFT_OK ? wg_compile(b, root, &lim, NULL) : NULL;
    double t2 = now_ms();
    out->ph[PH_ENGINE] = t2 - t1;
    char key[96];
    bool same = wg_vocab_key(&mv->wv, key, sizeof key) && wg_vocab_index_matches(mv->vi, &mv->wv);
    double t3 = now_ms();
    out->ph[PH_INDEX] = same ? t3 - t2 : -1;
    if (g) {
        wg_grammar_stats gs;
        wg_grammar_get_stats(g, &gs);
        out->states = gs.n_states;
        wg_cache_opts co = {.max_ms = cache_ms, .disable = cache_ms <= 0};
        wg_token_cache *tc = wg_token_cache_new(g, mv->vi, &co, NULL);
        out->ph[PH_CACHE] = now_ms() - t3;
        if (tc) {
            wg_cache_stats cs;
            wg_token_cache_get_stats(tc, &cs);
            out->cached = cs.n_cached;
            out->positions = cs.n_positions;
        }
        wg_token_cache_free(tc);
    }
    wg_grammar_free(g);
    wg_builder_free(b);
    js_warnings_free(&w);
}

static void print_phases(sample *s, size_t n, size_t top) {
    double *x = calloc(n + 1, sizeof *x);
    for (int p = 0; x && p < PH_N; p++) {
        for (size_t i = 0; i < n; i++) x[i] = s[i].ph[p];
        qsort(x, n, sizeof *x, cmp_double);
        printf("  phase %-16s ms p50 %.3f p99 %.3f max %.3f\n", PH_NAMES[p], n ? x[(n - 1) / 2] : 0,
               n ? x[(size_t)((double)(n - 1) * 0.99)] : 0, n ? x[n - 1] : 0);
    }
    free(x);
    qsort(s, n, sizeof *s, cmp_sample);
    for (size_t i = 0; i < n && i < top; i++)
        printf("  %8.2f ms  %s: front %.2f engine %.2f index %.2f cache %.2f (%zu states, %zu of %zu positions "
               "precomputed)\n", s[i].total, s[i].name, s[i].ph[PH_FRONT], s[i].ph[PH_ENGINE], s[i].ph[PH_INDEX],
               s[i].ph[PH_CACHE], s[i].states, s[i].cached, s[i].positions);
}

int main(int argc, char **argv) {
    static char dir[4096], spm[4096];
    snprintf(dir, sizeof dir, "%s/maskbench-dev", test_testdata_dir());
    const char *vocab = test_model_path(spm, sizeof spm, "ggml-vocab-llama-spm.gguf");
    size_t every = 1;
    int64_t cache_ms = -1;
    size_t top = 0;
    bool phases = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--cpu")) clock_id = CLOCK_THREAD_CPUTIME_ID;
        else if (v && !strcmp(a, "--dir")) snprintf(dir, sizeof dir, "%s", argv[++i]);
        else if (v && !strcmp(a, "--vocab")) vocab = argv[++i];
        else if (v && !strcmp(a, "--every")) every = strtoul(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--cache-ms")) cache_ms = strtoll(argv[++i], NULL, 10);
        else if (v && !strcmp(a, "--phases")) phases = true, top = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: weft-schema-compile-bench [--dir DIR] [--vocab GGUF] [--every N] [--cache-ms MS] "
                            "[--phases N] [--cpu]\n");
            return 2;
        }
    }
    mb_vocab mv;
    pf fx;
    size_t n_files = 0;
    char **files = mb_list_files(dir, &n_files);
    if (!files || !mb_vocab_open(&mv, vocab) || !pf_load(&fx, WEFT_KIND_GRAMMAR, "json-schema")) return 1;
    fx.rt->log_level = WEFT_LOG_ERROR; /* unknown formats warn */
    double *ms = calloc(n_files + 1, sizeof *ms), first = -1;
    sample *samples = calloc(n_files + 1, sizeof *samples);
    size_t n = 0, failed = 0;
    for (size_t i = 0; i < n_files; i += every ? every : 1) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        size_t len = 0;
        char *text = wg_read_file(path, &len, NULL);
        cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
        free(text);
        weft_json *view = json_view_build(cJSON_GetObjectItemCaseSensitive(root, "schema"), "/grammar/schema");
        pf_arg args[] = {{.name = "schema", .value = {.present = true, .u.json = view}},
                         PF_STRING("whitespace", "flexible"), PF_INT("cache_ms", cache_ms)};
        double t0 = now_ms();
        weft_status st = view ? pf_create(&fx, args, cache_ms >= 0 ? 3 : 2) : WEFT_ERR_INVALID;
        if (st == WEFT_OK) st = ((const weft_grammar_vtable *)fx.desc->vtable)->set_vocab(fx.self, &mv.wv);
        double t = now_ms() - t0;
        if (st != WEFT_OK) failed++;
        else if (first < 0) first = t;
        else {
            if (phases) {
                samples[n] = (sample){.total = t, .name = files[i]};
                time_phases(fx.env, view, &mv, cache_ms >= 0 ? (double)cache_ms : 0, &samples[n]);
            }
            ms[n++] = t;
        }
        if (fx.self) fx.desc->destroy(fx.self);
        fx.self = NULL;
        json_view_free(view);
        cJSON_Delete(root);
    }
    qsort(ms, n, sizeof *ms, cmp_double);
    printf("json-schema plugin, %s, cache_ms %lld: first schema (builds the index) %.2f ms; %zu more schemas, "
           "create + set_vocab ms p50 %.3f p99 %.3f max %.3f; %zu refused; vocabulary index built %zu time(s)\n",
           vocab, (long long)(cache_ms >= 0 ? cache_ms : 0), first, n, n ? ms[(n - 1) / 2] : 0,
           n ? ms[(size_t)((double)(n - 1) * 0.99)] : 0, n ? ms[n - 1] : 0, failed,
           weft_shared_store_count(fx.rt->shared, "wg-vocab-index/"));
    if (phases) print_phases(samples, n, top);
    free(samples);
    free(ms);
    for (size_t i = 0; i < n_files; i++) free(files[i]);
    free(files);
    pf_close(&fx);
    mb_vocab_close(&mv);
    return 0;
}
