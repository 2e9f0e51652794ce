#include "maskbench.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf.h"
#include "host.h"
#include "json_schema.h"
#include "json_view.h"
#include "pyjson.h"
#include "tokenizer.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = 0, *len = (size_t)n;
    return buf;
}

/* ---- a vocabulary as the core hands it to grammars (core/decode.c) ---- */

bool mb_vocab_open(mb_vocab *mv, const char *path) {
    char err[512] = "";
    memset(mv, 0, sizeof *mv);
    gguf_file *f = gguf_open(path, err, sizeof err);
    if (f) mv->v = vocab_load(f, err, sizeof err);
    gguf_close(f);
    if (!mv->v) {
        fprintf(stderr, "maskbench: %s\n", err);
        return false;
    }
    int32_t n = vocab_n_tokens(mv->v);
    mv->bytes = calloc((size_t)n, sizeof *mv->bytes);
    mv->len = calloc((size_t)n, sizeof *mv->len);
    mv->attrs = calloc((size_t)n, sizeof *mv->attrs);
    mv->eog = calloc((size_t)n, sizeof *mv->eog);
    size_t n_eog = 0;
    for (int32_t t = 0; t < n; t++) {
        char buf[512];
        size_t len = 0;
        if (vocab_token_bytes(mv->v, t, false, buf, sizeof buf, &len) != WEFT_OK) len = 0;
        mv->bytes[t] = malloc(len + 1);
        memcpy(mv->bytes[t], buf, len);
        mv->bytes[t][len] = 0;
        mv->len[t] = (uint32_t)len;
        mv->attrs[t] = vocab_token_attr(mv->v, t);
        if (mv->attrs[t] & WEFT_TOKEN_EOG) mv->eog[n_eog++] = t;
    }
    snprintf(mv->fingerprint, sizeof mv->fingerprint, "maskbench:%s", path);
    mv->wv = (weft_vocab){.struct_size = sizeof mv->wv, .n_vocab = n, .bytes = (const char *const *)mv->bytes,
                          .len = mv->len, .attrs = mv->attrs, .eog = mv->eog, .n_eog = n_eog,
                          .fingerprint = mv->fingerprint};
    wg_error werr = {{0}};
    double t0 = now_ms();
    mv->vi = wg_vocab_index_new(&mv->wv, &werr);
    mv->index_ms = now_ms() - t0;
    if (!mv->vi) fprintf(stderr, "maskbench: %s: %s\n", path, werr.msg);
    return mv->vi != NULL;
}

void mb_vocab_close(mb_vocab *mv) {
    if (!mv->v) return;
    for (int32_t t = 0; t < vocab_n_tokens(mv->v); t++) free(mv->bytes[t]);
    free(mv->bytes);
    free(mv->len);
    free(mv->attrs);
    free(mv->eog);
    wg_vocab_index_free(mv->vi);
    vocab_free(mv->v);
    memset(mv, 0, sizeof *mv);
}

/* ---- percentiles ---- */

typedef struct series {
    double *x;
    size_t n, cap;
} series;

static void series_add(series *s, double x) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->x = realloc(s->x, s->cap * sizeof *s->x);
    }
    s->x[s->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void series_stats(series *s, double *p50, double *p99, double *max) {
    *p50 = *p99 = *max = 0;
    if (!s->n) return;
    qsort(s->x, s->n, sizeof *s->x, cmp_double);
    *p50 = s->x[(s->n - 1) / 2];
    *p99 = s->x[(size_t)((double)(s->n - 1) * 0.99)];
    *max = s->x[s->n - 1];
}

/* ---- one instance ---- */

static bool byte_accepts(const wg_grammar *g, const char *text) {
    wg_matcher *m = wg_matcher_new(g);
    bool ok = m && wg_matcher_accept_bytes(m, text, strlen(text)) && wg_matcher_is_accepting(m);
    wg_matcher_free(m);
    return ok;
}

/* Where the matcher first refuses the text (its length: at the end). */
static size_t refused_at(const wg_grammar *g, const char *text) {
    wg_matcher *m = wg_matcher_new(g);
    size_t i = 0, n = strlen(text);
    while (m && i < n && wg_matcher_accept_bytes(m, text + i, 1)) i++;
    wg_matcher_free(m);
    return i;
}

typedef enum tok_verdict { TOK_ACCEPTED, TOK_REJECTED, TOK_SKIPPED, TOK_DISAGREE } tok_verdict;

/* The longest token spelling a prefix of s[0..n); -1 if none. */
static weft_token longest_token(const mb_vocab *mv, const char *s, size_t n) {
    weft_token best = -1;
    for (int32_t t = 0; t < mv->wv.n_vocab; t++) {
        size_t k = mv->len[t];
        if (k && k <= n && (best < 0 || k > mv->len[best]) && memcmp(s, mv->bytes[t], k) == 0) best = t;
    }
    return best;
}

/* The tokenizer's ids for text, which must spell it exactly. SentencePiece
 * vocabularies put a dummy-prefix space before the text (llama.cpp's
 * add_space_prefix): that space is taken off the first token, whose rest
 * is spelled by longest-match tokens. NULL if the tokens cannot spell it. */
static weft_token *tokenize(const mb_vocab *mv, const char *text, size_t *n_out) {
    size_t len = strlen(text), need = 0, n = 0;
    vocab_tokenize(mv->v, text, len, false, false, NULL, 0, &need);
    weft_token *ids = malloc((need + len + 1) * sizeof *ids);
    if (vocab_tokenize(mv->v, text, len, false, false, ids, need, &n) != WEFT_OK) n = 0;
    size_t o = 0;
    bool prefixed = n > 0 && mv->len[ids[0]] > 0 && mv->bytes[ids[0]][0] == ' ' && text[0] != ' ';
    if (prefixed) {
        size_t rest = mv->len[ids[0]] - 1, k = 0;
        weft_token *first = malloc((rest + 1) * sizeof *first);
        for (size_t p = 0; p < rest;) {
            weft_token t = longest_token(mv, mv->bytes[ids[0]] + 1 + p, rest - p);
            if (t < 0) break;
            first[k++] = t;
            p += mv->len[t];
        }
        memmove(ids + k, ids + 1, (n - 1) * sizeof *ids);
        memcpy(ids, first, k * sizeof *ids);
        n = n - 1 + k;
        free(first);
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = mv->len[ids[i]];
        if (o + k > len || memcmp(text + o, mv->bytes[ids[i]], k) != 0) {
            free(ids);
            return NULL;
        }
        o += k;
    }
    if (o != len) {
        free(ids);
        return NULL;
    }
    *n_out = n;
    return ids;
}

/* Feeds the instance token by token; every token must be in the mask
 * exactly when accept_token takes it. Mask times go to `times` if set. */
static tok_verdict token_accepts(const mb_vocab *mv, const wg_token_cache *tc, const wg_grammar *g, const char *text,
                                 series *times) {
    size_t n = 0;
    weft_token *ids = tokenize(mv, text, &n);
    if (!ids) return TOK_SKIPPED;
    size_t words = ((size_t)mv->wv.n_vocab + 31) / 32;
    uint32_t *mask = malloc(words * sizeof *mask);
    wg_matcher *m = wg_matcher_new(g);
    tok_verdict v = TOK_ACCEPTED;
    for (size_t i = 0; i < n; i++) {
        double t0 = times ? now_ms() : 0;
        bool filled = wg_fill_mask(tc, m, mask);
        if (times) series_add(times, (now_ms() - t0) * 1e3);
        if (!filled) {
            v = TOK_REJECTED; /* max_stacks: refused with an error, never wrongly allowed */
            break;
        }
        bool in = mask[ids[i] / 32] >> (ids[i] % 32) & 1;
        bool ok = wg_accept_token(tc, m, ids[i]);
        if (in != ok) {
            v = TOK_DISAGREE;
            break;
        }
        if (!ok) {
            v = TOK_REJECTED;
            break;
        }
    }
    if (v == TOK_ACCEPTED) {
        /* the end: an end-of-generation token is in the mask iff it may end */
        bool end = wg_can_end(m);
        if (!wg_fill_mask(tc, m, mask)) v = TOK_REJECTED;
        for (size_t i = 0; i < mv->wv.n_eog; i++) {
            weft_token e = mv->wv.eog[i];
            if ((bool)(mask[e / 32] >> (e % 32) & 1) != end) v = TOK_DISAGREE;
        }
        if (v == TOK_ACCEPTED && !end) v = TOK_REJECTED;
    }
    wg_matcher_free(m);
    free(mask);
    free(ids);
    return v;
}

/* ---- the run ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char **mb_list_files(const char *dir, size_t *n) {
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 256;
    char **names = malloc(cap * sizeof *names);
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t k = strlen(e->d_name);
        if (k < 6 || strcmp(e->d_name + k - 5, ".json")) continue;
        if (*n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

typedef struct run_ctx {
    const mb_opts *o;
    mb_result *r;
    weft_runtime *rt;
    weft_env *env;
    mb_vocab vocabs[MB_MAX_VOCABS];
    series compile_ms, mask_us, mem_kib, grammar_kib;
} run_ctx;

static void judge(mb_level *lv, bool valid, bool accepted, bool *bad_valid, bool *bad_invalid) {
    if (valid && !accepted) lv->valid_rejected++, *bad_valid = true;
    if (!valid && accepted) lv->invalid_accepted++, *bad_invalid = true;
}

static void finish_level(mb_level *lv, bool bad_valid, bool bad_invalid) {
    lv->passing += !bad_valid && !bad_invalid;
    lv->schemas_valid_rejected += bad_valid;
    lv->schemas_invalid_accepted += bad_invalid;
}

static void run_schema(run_ctx *x, const char *name) {
    const mb_opts *o = x->o;
    mb_result *r = x->r;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->dir, name);
    size_t len = 0;
    char *text = read_file(path, &len);
    cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
    cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    if (!schema) {
        fprintf(stderr, "maskbench: %s: unreadable\n", name);
        cJSON_Delete(root);
        free(text);
        return;
    }
    r->schemas++;
    weft_json *view = json_view_build(schema, "/grammar/schema");
    js_options opt = JS_OPTIONS_DEFAULT;
    opt.whitespace = o->compact ? JS_WS_COMPACT : JS_WS_FLEXIBLE;
    wg_limits lim = {0};
    wg_grammar *g = NULL;
    js_warnings warn = {0};
    weft_env_clear_error(x->env);
    double t0 = now_ms();
    weft_status st = js_compile(x->env, view, &opt, &lim, &g, &warn);
    double compile_ms = now_ms() - t0;
    js_warnings_free(&warn);
    if (o->log && compile_ms > 100) fprintf(o->log, "%s: slow compile: %.0f ms\n", name, compile_ms);
    if (st != WEFT_OK) {
        if (st == WEFT_ERR_UNSUPPORTED) r->compile_unsupported++;
        else r->compile_other++;
        if (o->log) fprintf(o->log, "%s: compile: %s\n", name, weft_env_error(x->env));
        goto done;
    }
    r->compiled++;
    /* token caches, one per vocabulary */
    wg_token_cache *tc[MB_MAX_VOCABS] = {0};
    size_t mem = 0;
    for (size_t v = 0; v < o->n_vocabs; v++) {
        wg_error err = {{0}};
        wg_cache_opts co = {.max_ms = o->cache_ms, .disable = o->cache_ms <= 0};
        double t1 = now_ms();
        tc[v] = wg_token_cache_new(g, x->vocabs[v].vi, &co, &err);
        if (v == 0) compile_ms += now_ms() - t1;
        if (!tc[v] && o->log) fprintf(o->log, "%s: token cache: %s\n", name, err.msg);
        if (tc[v] && v == 0) {
            wg_cache_stats cs;
            wg_token_cache_get_stats(tc[v], &cs);
            mem += cs.bytes;
        }
    }
    wg_grammar_stats gs;
    wg_grammar_get_stats(g, &gs);
    mem += gs.bytes;
    if (o->timing) {
        series_add(&x->compile_ms, compile_ms);
        series_add(&x->mem_kib, (double)mem / 1024);
        series_add(&x->grammar_kib, (double)gs.bytes / 1024);
    }
    bool bad_valid = false, bad_invalid = false;
    bool tbad_valid[MB_MAX_VOCABS] = {0}, tbad_invalid[MB_MAX_VOCABS] = {0};
    size_t n_tests = (size_t)cJSON_GetArraySize(tests);
    for (size_t i = 0; i < n_tests; i++) {
        bool valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tests, (int)i), "valid"));
        size_t pos = 0;
        pj_buf inst = {0};
        if (!pj_member(text, len, &pos, "tests") || !pj_item(text, len, &pos, i) || !pj_member(text, len, &pos, "data") ||
            !pj_dump(text, len, &pos, o->compact ? PJ_COMPACT : PJ_PYTHON, &inst)) {
            r->unencodable++;
            pj_buf_free(&inst);
            continue;
        }
        if (valid) r->valid_instances++;
        else r->invalid_instances++;
        bool acc = byte_accepts(g, inst.s);
        judge(&r->bytes, valid, acc, &bad_valid, &bad_invalid);
        if (o->log && valid != acc) {
            size_t at = acc ? 0 : refused_at(g, inst.s);
            fprintf(o->log, "%s: test %zu (%s) %s at byte %zu (\"%.40s\"): %.300s\n", name, i, valid ? "valid" : "invalid",
                    acc ? "accepted" : "rejected", at, inst.s + at, inst.s);
        }
        for (size_t v = 0; v < o->n_vocabs; v++) {
            if (!tc[v]) {
                judge(&r->tokens[v], valid, false, &tbad_valid[v], &tbad_invalid[v]);
                continue;
            }
            series *times = o->timing && v == 0 && valid ? &x->mask_us : NULL;
            size_t before = times ? times->n : 0;
            tok_verdict tv = token_accepts(&x->vocabs[v], tc[v], g, inst.s, times);
            for (size_t k = before; o->log && times && k < times->n; k++)
                if (times->x[k] > 10000) {
                    fprintf(o->log, "%s: test %zu: slow mask %.0f us at token %zu\n", name, i, times->x[k], k - before);
                    break;
                }
            if (tv == TOK_SKIPPED) {
                r->tokens[v].skipped++;
                continue;
            }
            if (tv == TOK_DISAGREE) {
                r->tokens[v].mask_disagreements++;
                if (o->log) fprintf(o->log, "%s: test %zu: vocab %zu: mask and accept disagree\n", name, i, v);
            }
            bool tacc = tv == TOK_ACCEPTED;
            judge(&r->tokens[v], valid, tacc, &tbad_valid[v], &tbad_invalid[v]);
            if (o->log && tacc != acc)
                fprintf(o->log, "%s: test %zu: vocab %zu: token level %s, byte level %s\n", name, i, v,
                        tacc ? "accepts" : "rejects", acc ? "accepts" : "rejects");
        }
        pj_buf_free(&inst);
    }
    finish_level(&r->bytes, bad_valid, bad_invalid);
    for (size_t v = 0; v < o->n_vocabs; v++) {
        finish_level(&r->tokens[v], tbad_valid[v], tbad_invalid[v]);
        wg_token_cache_free(tc[v]);
    }
    wg_grammar_free(g);
done:
    json_view_free(view);
    cJSON_Delete(root);
    free(text);
}

bool mb_run(const mb_opts *o, mb_result *r) {
    memset(r, 0, sizeof *r);
    double t0 = now_ms();
    run_ctx x = {.o = o, .r = r};
    size_t n_files = 0;
    char **files = mb_list_files(o->dir, &n_files);
    if (!files) {
        fprintf(stderr, "maskbench: cannot read folder %s\n", o->dir);
        return false;
    }
    x.rt = weft_runtime_new(1);
    x.rt->log_level = WEFT_LOG_ERROR; /* warnings (unknown formats) are expected */
    x.env = weft_env_new(x.rt, "grammar json-schema");
    bool ok = true;
    for (size_t v = 0; v < o->n_vocabs && ok; v++) ok = mb_vocab_open(&x.vocabs[v], o->vocabs[v]);
    size_t step = o->every > 1 ? o->every : 1, taken = 0;
    for (size_t i = 0; ok && i < n_files; i += step) {
        if (o->limit && taken++ >= o->limit) break;
        run_schema(&x, files[i]);
    }
    series_stats(&x.compile_ms, &r->compile_ms_p50, &r->compile_ms_p99, &r->compile_ms_max);
    series_stats(&x.mask_us, &r->mask_us_p50, &r->mask_us_p99, &r->mask_us_max);
    series_stats(&x.mem_kib, &r->mem_kib_p50, &r->mem_kib_p99, &r->mem_kib_max);
    series_stats(&x.grammar_kib, &r->grammar_kib_p50, &r->grammar_kib_p99, &r->grammar_kib_max);
    r->n_masks = x.mask_us.n;
    if (o->n_vocabs && x.vocabs[0].vi) {
        r->vocab_index_ms = x.vocabs[0].index_ms;
        r->vocab_index_kib = (double)wg_vocab_index_bytes(x.vocabs[0].vi) / 1024;
        r->region_memo_kib = (double)wg_vocab_index_memo_bytes(x.vocabs[0].vi) / 1024;
    }
    free(x.compile_ms.x);
    free(x.mask_us.x);
    free(x.mem_kib.x);
    free(x.grammar_kib.x);
    for (size_t v = 0; v < o->n_vocabs; v++) mb_vocab_close(&x.vocabs[v]);
    weft_env_free(x.env);
    weft_runtime_free(x.rt);
    for (size_t i = 0; i < n_files; i++) free(files[i]);
    free(files);
    r->seconds = (now_ms() - t0) / 1e3;
    return ok;
}

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0; }

static void print_level(FILE *f, const char *name, const mb_level *lv, const mb_result *r) {
    fprintf(f, "| %-22s | %6zu (%5.1f%%) | %7zu | %9zu | %8zu | %7zu |\n", name, lv->passing, pct(lv->passing, r->schemas),
            lv->valid_rejected, lv->invalid_accepted, lv->mask_disagreements, lv->skipped);
}

void mb_print(FILE *f, const mb_opts *o, const mb_result *r) {
    fprintf(f, "MaskBench (%s, %s instances): %zu schemas, %zu compiled (%.1f%%), %zu refused as unsupported, %zu "
               "other errors; %zu valid + %zu invalid instances (%zu unencodable)\n",
            o->dir, o->compact ? "compact" : "json.dumps-style", r->schemas, r->compiled, pct(r->compiled, r->schemas),
            r->compile_unsupported, r->compile_other, r->valid_instances, r->invalid_instances, r->unencodable);
    fprintf(f, "| level                  | passing          | valid   | invalid   | mask vs  | skipped |\n");
    fprintf(f, "|                        |                  | rejected| accepted  | accept   |         |\n");
    fprintf(f, "|------------------------|------------------|---------|-----------|----------|---------|\n");
    print_level(f, "bytes", &r->bytes, r);
    for (size_t v = 0; v < o->n_vocabs; v++) {
        const char *base = strrchr(o->vocabs[v], '/');
        char name[64];
        snprintf(name, sizeof name, "tokens %.15s", base ? base + 1 + (strncmp(base + 1, "ggml-vocab-", 11) ? 0 : 11) : o->vocabs[v]);
        print_level(f, name, &r->tokens[v], r);
    }
    if (o->timing) {
        fprintf(f, "compile (incl. token cache, vocab 0) ms: p50 %.3f  p99 %.3f  max %.3f\n", r->compile_ms_p50,
                r->compile_ms_p99, r->compile_ms_max);
        fprintf(f, "mask (vocab 0, %zu tokens of valid instances) us: p50 %.2f  p99 %.2f  max %.2f\n", r->n_masks,
                r->mask_us_p50, r->mask_us_p99, r->mask_us_max);
        fprintf(f, "memory (grammar + token cache) KiB: p50 %.1f  p99 %.1f  max %.1f\n", r->mem_kib_p50, r->mem_kib_p99,
                r->mem_kib_max);
        fprintf(f, "memory (grammar alone) KiB: p50 %.1f  p99 %.1f  max %.1f\n", r->grammar_kib_p50,
                r->grammar_kib_p99, r->grammar_kib_max);
        fprintf(f, "vocabulary index (vocab 0, built once, shared by every schema): %.1f ms, %.0f KiB, "
                   "plus %.0f KiB of region memo at the end\n",
                r->vocab_index_ms, r->vocab_index_kib, r->region_memo_kib);
    }
    fprintf(f, "%.1f s\n", r->seconds);
}

static cJSON *level_json(const mb_level *lv) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "passing", (double)lv->passing);
    cJSON_AddNumberToObject(j, "valid_rejected", (double)lv->valid_rejected);
    cJSON_AddNumberToObject(j, "invalid_accepted", (double)lv->invalid_accepted);
    cJSON_AddNumberToObject(j, "schemas_valid_rejected", (double)lv->schemas_valid_rejected);
    cJSON_AddNumberToObject(j, "schemas_invalid_accepted", (double)lv->schemas_invalid_accepted);
    cJSON_AddNumberToObject(j, "mask_disagreements", (double)lv->mask_disagreements);
    cJSON_AddNumberToObject(j, "skipped", (double)lv->skipped);
    return j;
}

bool mb_write_json(const char *path, const mb_opts *o, const mb_result *r) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "dir", o->dir);
    cJSON_AddStringToObject(j, "instances", o->compact ? "compact" : "json.dumps");
    cJSON_AddNumberToObject(j, "schemas", (double)r->schemas);
    cJSON_AddNumberToObject(j, "compiled", (double)r->compiled);
    cJSON_AddNumberToObject(j, "compile_unsupported", (double)r->compile_unsupported);
    cJSON_AddNumberToObject(j, "compile_other", (double)r->compile_other);
    cJSON_AddNumberToObject(j, "valid_instances", (double)r->valid_instances);
    cJSON_AddNumberToObject(j, "invalid_instances", (double)r->invalid_instances);
    cJSON_AddNumberToObject(j, "unencodable", (double)r->unencodable);
    cJSON_AddItemToObject(j, "bytes", level_json(&r->bytes));
    cJSON *toks = cJSON_AddObjectToObject(j, "tokens");
    for (size_t v = 0; v < o->n_vocabs; v++) cJSON_AddItemToObject(toks, o->vocabs[v], level_json(&r->tokens[v]));
    if (o->timing) {
        cJSON *t = cJSON_AddObjectToObject(j, "timing");
        cJSON_AddNumberToObject(t, "compile_ms_p50", r->compile_ms_p50);
        cJSON_AddNumberToObject(t, "compile_ms_p99", r->compile_ms_p99);
        cJSON_AddNumberToObject(t, "compile_ms_max", r->compile_ms_max);
        cJSON_AddNumberToObject(t, "mask_us_p50", r->mask_us_p50);
        cJSON_AddNumberToObject(t, "mask_us_p99", r->mask_us_p99);
        cJSON_AddNumberToObject(t, "mask_us_max", r->mask_us_max);
        cJSON_AddNumberToObject(t, "masks", (double)r->n_masks);
        cJSON_AddNumberToObject(t, "memory_kib_p50", r->mem_kib_p50);
        cJSON_AddNumberToObject(t, "memory_kib_p99", r->mem_kib_p99);
        cJSON_AddNumberToObject(t, "memory_kib_max", r->mem_kib_max);
        cJSON_AddNumberToObject(t, "grammar_kib_p50", r->grammar_kib_p50);
        cJSON_AddNumberToObject(t, "grammar_kib_p99", r->grammar_kib_p99);
        cJSON_AddNumberToObject(t, "grammar_kib_max", r->grammar_kib_max);
        cJSON_AddNumberToObject(t, "vocab_index_ms", r->vocab_index_ms);
        cJSON_AddNumberToObject(t, "vocab_index_kib", r->vocab_index_kib);
        cJSON_AddNumberToObject(t, "region_memo_kib", r->region_memo_kib);
    }
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    FILE *f = s ? fopen(path, "w") : NULL;
    bool ok = f && fputs(s, f) >= 0;
    if (f) ok &= fclose(f) == 0;
    free(s);
    return ok;
}
