/* Grammar engine benchmark (not a test): mask time per token over the
 * llama-spm vocabulary (32,000 tokens) while feeding real text token by
 * token, one thread. JSON text: the valid instances of the MaskBench dev
 * schemas (shared testdata), serialised compact and pretty; arithmetic text:
 * seeded random equations. Prints a table and writes JSON.
 *
 * The same again over the gpt-2 vocabulary (50,257 tokens).
 *
 *   bench_grammar [--out FILE] [--files N]                                 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gbnf_parse.h"
#include "grammar.h"
#include "test_paths.h"
#include "test_vocab.h"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

typedef struct texts {
    char **v;
    size_t n, cap;
} texts;

static void add_text(texts *t, char *s) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
    }
    t->v[t->n++] = s;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    if (buf) buf[n] = 0;
    return buf;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Valid object instances of the first n_files MaskBench files (sorted). */
static void maskbench_texts(texts *out, size_t n_files) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/maskbench-dev", test_testdata_dir());
    DIR *d = opendir(dir);
    if (!d) return;
    texts names = {0};
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".json")) add_text(&names, strdup(e->d_name));
    closedir(d);
    qsort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; i < names.n; i++) {
        if (i < n_files) {
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, names.v[i]);
            char *text = read_all(path);
            cJSON *root = text ? cJSON_Parse(text) : NULL;
            cJSON *tests = root ? cJSON_GetObjectItem(root, "tests") : NULL;
            cJSON *t;
            cJSON_ArrayForEach(t, tests) {
                cJSON *valid = cJSON_GetObjectItem(t, "valid"), *data = cJSON_GetObjectItem(t, "data");
                if (!cJSON_IsTrue(valid) || !cJSON_IsObject(data)) continue;
                add_text(out, cJSON_PrintUnformatted(data));
                add_text(out, cJSON_Print(data));
            }
            cJSON_Delete(root);
            free(text);
        }
        free(names.v[i]);
    }
    free(names.v);
}

static uint64_t rng(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void term(char *o, uint64_t *s, int depth);
static void expr(char *o, uint64_t *s, int depth) {
    term(o, s, depth);
    for (int k = (int)(rng(s) % 3); k > 0; k--) {
        strcat(o, (const char *[]){"+", "-", "*", "/"}[rng(s) % 4]);
        term(o, s, depth);
    }
}
static void term(char *o, uint64_t *s, int depth) {
    char buf[32];
    uint64_t r = rng(s) % 4;
    if (r == 0 && depth < 3) {
        strcat(o, "(");
        expr(o, s, depth + 1);
        strcat(o, ") ");
    } else if (r == 1) {
        snprintf(buf, sizeof buf, "%llu ", (unsigned long long)(rng(s) % 1000));
        strcat(o, buf);
    } else {
        snprintf(buf, sizeof buf, "%c%s", (char)('a' + rng(s) % 26), rng(s) % 2 ? "x1" : "");
        strcat(o, buf);
    }
}

static void arithmetic_texts(texts *out, size_t n) {
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        char *t = calloc(1, 4096);
        for (int line = 0; line < 3; line++) {
            expr(t, &s, 0);
            strcat(t, "= ");
            term(t, &s, 0);
            strcat(t, "\n");
        }
        add_text(out, t);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct result {
    const char *name, *vocab;
    double compile_ms, cache_ms, p50, p99, max, mean, accept_mean;
    size_t states, grammar_bytes, cache_bytes, n_masks, n_texts, n_uncertain;
} result;

static bool run(const char *name, const char *file, bool cache, const texts *tx, const tv_vocab *tv,
                const wg_vocab_index *vi, result *r) {
    char path[1024];
    snprintf(path, sizeof path, "%s/gbnf/%s", test_testdata_dir(), file);
    char *text = read_all(path);
    if (!text) return false;
    wg_error err = {{0}};
    /* compile time: the best of 20 */
    wg_grammar *g = NULL;
    r->compile_ms = 1e30;
    for (int k = 0; k < 20; k++) {
        double t0 = now_us();
        wg_grammar *x = gbnf_compile(text, strlen(text), "root", NULL, &err);
        double t = (now_us() - t0) / 1e3;
        if (!x) {
            fprintf(stderr, "%s: %s\n", file, err.msg);
            free(text);
            return false;
        }
        if (t < r->compile_ms) r->compile_ms = t;
        if (g) wg_grammar_free(g);
        g = x;
    }
    free(text);
    wg_grammar_stats gs;
    wg_grammar_get_stats(g, &gs);
    r->name = name;
    r->vocab = tv->v.fingerprint;
    r->states = gs.n_states;
    r->grammar_bytes = gs.bytes;
    wg_token_cache *tc = wg_token_cache_new(g, vi, &(wg_cache_opts){.walk_only = !cache}, &err);
    wg_cache_stats cs;
    wg_token_cache_get_stats(tc, &cs);
    r->cache_ms = cs.build_ms;
    r->cache_bytes = cs.bytes;
    r->n_uncertain = cs.n_uncertain;
    size_t cap = 1 << 20, n = 0;
    double *times = malloc(cap * sizeof *times), accept_total = 0;
    uint32_t *mask = malloc(((size_t)tv->v.n_vocab + 31) / 32 * sizeof *mask);
    weft_token *ids = malloc(65536 * sizeof *ids);
    size_t used = 0, accepts = 0;
    for (size_t i = 0; i < tx->n; i++) {
        /* only texts in the language (json.gbnf refuses e.g. exponents like 1e10) */
        wg_matcher *probe = wg_matcher_new(g);
        bool ok = wg_matcher_accept_bytes(probe, tx->v[i], strlen(tx->v[i])) && wg_matcher_is_accepting(probe);
        wg_matcher_free(probe);
        size_t nt = ok ? tv_tokenize(tv, tx->v[i], ids, 65536) : 0;
        if (!nt) continue;
        used++;
        wg_matcher *m = wg_matcher_new(g);
        for (size_t k = 0; k <= nt && n < cap; k++) {
            double t0 = now_us();
            bool filled = wg_fill_mask(tc, m, mask);
            times[n++] = now_us() - t0;
            if (!filled) {
                fprintf(stderr, "%s: mask failed (max_stacks or memory) in text %zu\n", name, i);
                break;
            }
            if (k == nt) break;
            if (!(mask[ids[k] >> 5] >> (ids[k] & 31) & 1)) {
                fprintf(stderr, "%s: token %d refused in text %zu\n", name, ids[k], i);
                break;
            }
            t0 = now_us();
            wg_accept_token(tc, m, ids[k]);
            accept_total += now_us() - t0;
            accepts++;
        }
        wg_matcher_free(m);
    }
    qsort(times, n, sizeof *times, cmp_double);
    double sum = 0;
    for (size_t k = 0; k < n; k++) sum += times[k];
    r->n_masks = n;
    r->n_texts = used;
    r->p50 = n ? times[n / 2] : 0;
    r->p99 = n ? times[(size_t)(0.99 * (double)(n - 1))] : 0;
    r->max = n ? times[n - 1] : 0;
    r->mean = n ? sum / (double)n : 0;
    r->accept_mean = accepts ? accept_total / (double)accepts : 0;
    free(times);
    free(mask);
    free(ids);
    wg_token_cache_free(tc);
    wg_grammar_free(g);
    return n > 0;
}

int main(int argc, char **argv) {
    const char *out = "bench_grammar.json";
    size_t n_files = 400;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--files") && i + 1 < argc) n_files = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--out FILE] [--files N]\n", argv[0]);
            return 2;
        }
    }
    static const char *const vocab_files[] = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"};
    texts json = {0}, arith = {0};
    maskbench_texts(&json, n_files);
    arithmetic_texts(&arith, 300);
    result res[8] = {0};
    size_t nr = 0;
    bool ok = true;
    FILE *f = fopen(out, "w");
    if (f) fprintf(f, "{\n  \"vocabs\": [\n");
    for (size_t v = 0; v < 2 && ok; v++) {
        tv_vocab *tv = tv_load_gguf(vocab_files[v]);
        if (!tv) return 1;
        wg_error err = {{0}};
        double t0 = now_us();
        wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
        double index_ms = (now_us() - t0) / 1e3;
        if (!vi) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        printf("%s: %d tokens, index %.1f ms, %.0f KiB\n", vocab_files[v], tv->v.n_vocab, index_ms,
               (double)wg_vocab_index_bytes(vi) / 1024);
        if (f)
            fprintf(f, "    {\"file\": \"%s\", \"n_vocab\": %d, \"index_ms\": %.3f, \"index_bytes\": %zu}%s\n",
                    vocab_files[v], tv->v.n_vocab, index_ms, wg_vocab_index_bytes(vi), v ? "" : ",");
        ok = run("json.gbnf", "json.gbnf", true, &json, tv, vi, &res[nr++]) &&
             run("arithmetic.gbnf", "arithmetic.gbnf", true, &arith, tv, vi, &res[nr++]);
        if (ok && v == 0)
            ok = run("json.gbnf, walk only", "json.gbnf", false, &json, tv, vi, &res[nr++]) &&
                 run("arithmetic.gbnf, walk only", "arithmetic.gbnf", false, &arith, tv, vi, &res[nr++]);
        wg_vocab_index_free(vi);
        tv_free(tv);
    }
    printf("\n%-27s %-26s %8s %6s %8s %8s %9s %6s %7s %7s %8s %7s %9s\n", "grammar", "vocabulary", "compile",
           "states", "gram KiB", "cache ms", "cache KiB", "masks", "p50 us", "p99 us", "max us", "mean us",
           "accept us");
    for (size_t i = 0; i < nr; i++) {
        const result *r = &res[i];
        printf("%-27s %-26s %8.3f %6zu %8.1f %8.1f %9.1f %6zu %7.1f %7.1f %8.1f %7.1f %9.2f\n", r->name, r->vocab,
               r->compile_ms, r->states, (double)r->grammar_bytes / 1024, r->cache_ms, (double)r->cache_bytes / 1024,
               r->n_masks, r->p50, r->p99, r->max, r->mean, r->accept_mean);
    }
    if (f) {
        fprintf(f, "  ],\n  \"grammars\": [\n");
        for (size_t i = 0; i < nr; i++) {
            const result *r = &res[i];
            fprintf(f,
                    "    {\"name\": \"%s\", \"vocab\": \"%s\", \"compile_ms\": %.4f, \"states\": %zu, "
                    "\"grammar_bytes\": %zu, \"cache_ms\": %.2f, \"cache_bytes\": %zu, \"uncertain\": %zu, "
                    "\"texts\": %zu, \"masks\": %zu, "
                    "\"mask_us\": {\"p50\": %.2f, \"p99\": %.2f, \"max\": %.2f, \"mean\": %.2f}, "
                    "\"accept_us_mean\": %.3f}%s\n",
                    r->name, r->vocab, r->compile_ms, r->states, r->grammar_bytes, r->cache_ms, r->cache_bytes,
                    r->n_uncertain, r->n_texts, r->n_masks, r->p50, r->p99, r->max, r->mean, r->accept_mean,
                    i + 1 < nr ? "," : "");
        }
        fprintf(f, "  ]\n}\n");
        fclose(f);
        printf("\nwrote %s\n", out);
    }
    for (size_t i = 0; i < json.n; i++) free(json.v[i]);
    for (size_t i = 0; i < arith.n; i++) free(arith.v[i]);
    free(json.v);
    free(arith.v);
    return ok ? 0 : 1;
}
