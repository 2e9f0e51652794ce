/* Benchmark: llama.cpp's default sampler chain (the "llama.cpp" preset) on
 * vocabulary-sized logit rows, the way the core runs it per target
 * position: fill the candidate set from the row, apply each sampler,
 * softmax, keep p > 0. Prints microseconds per token and writes JSON.
 *
 *   bench_samplers [--vocab N] [--iters N] [--json FILE] [--model GGUF]
 *
 * Rows are random but shaped like a language model's (a few dominant
 * tokens, a long tail: logits 3 * z with z standard normal, plus a peak).
 * Timings are the best (and median) of several batches: the minimum is the
 * cost without interference from other processes. Each sampler's apply()
 * is also timed alone on full rows, to show what an enabled rule costs in
 * first position. With --model, the chain is also run inside
 * the decode loop on that model (llama backend), and its cost is reported
 * as a share of the backend's decode time. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/sdk.h>
#include <weft/weft.h>

#include "host.h"
#include "presets.h"

#define MAX_CHAIN 16
#define N_ROWS 64
#define HISTORY 512

/* Thread CPU time: the cost of the code, not of waiting for a core on a
 * shared machine. The decode-loop comparison (--model) uses the core's
 * wall-clock stats for both sides. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double unit(uint64_t *s) { return ((double)((*s = mix(*s)) >> 11) + 0.5) * 0x1.0p-53; }

/* One sampler of the chain, created from its preset JSON. */
typedef struct stage {
    const weft_component_desc *desc;
    void *self;
    weft_env *env;
} stage;

/* Scalar parameters from JSON; JSON-typed ones are left to their defaults
 * (the preset's only one, DRY's breakers, equals the default). */
static int make_stage(weft_registry *reg, weft_runtime *rt, const cJSON *cfg, stage *st) {
    const char *use = cJSON_GetObjectItemCaseSensitive(cfg, "use")->valuestring;
    const weft_component_info *info = weft_registry_find(reg, WEFT_KIND_SAMPLER, use);
    if (!info) {
        fprintf(stderr, "bench: no sampler '%s'\n", use);
        return -1;
    }
    const weft_component_desc *d = info->desc;
    weft_value args[32] = {{0}};
    for (size_t i = 0; i < d->n_params && i < 32; i++) {
        const weft_param_desc *p = &d->params[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, p->name);
        cJSON *def = !v && p->def ? cJSON_Parse(p->def) : NULL;
        const cJSON *x = v ? v : def;
        if (x && p->type == WEFT_TYPE_INT && cJSON_IsNumber(x)) args[i] = (weft_value){true, {.i = (int64_t)x->valuedouble}};
        if (x && p->type == WEFT_TYPE_DOUBLE && cJSON_IsNumber(x)) args[i] = (weft_value){true, {.d = x->valuedouble}};
        if (x && p->type == WEFT_TYPE_BOOL && cJSON_IsBool(x)) args[i] = (weft_value){true, {.b = cJSON_IsTrue(x)}};
        cJSON_Delete(def);
    }
    st->desc = d;
    st->env = weft_env_new(rt, use);
    if (d->create(st->env, args, &st->self) != WEFT_OK) {
        fprintf(stderr, "bench: %s: %s\n", use, weft_env_error(st->env));
        return -1;
    }
    return 0;
}

/* The core's target_dist, without grammar: the cost it books as "sampler". */
static size_t target_dist(stage *chain, size_t n, const float *row, size_t nv, weft_candidate *c,
                          const weft_sampler_ctx *ctx) {
    for (size_t i = 0; i < nv; i++) c[i] = (weft_candidate){(weft_token)i, row[i], 0};
    weft_candidates set = {.struct_size = sizeof set, .data = c, .size = nv};
    for (size_t k = 0; k < n; k++)
        if (((const weft_sampler_vtable *)chain[k].desc->vtable)->apply(chain[k].self, ctx, &set) != WEFT_OK) {
            fprintf(stderr, "bench: %s failed: %s\n", chain[k].desc->name, weft_env_error(chain[k].env));
            exit(1);
        }
    weft_cands_softmax(&set);
    size_t w = 0;
    for (size_t i = 0; i < set.size; i++)
        if (set.data[i].p > 0) set.data[w++] = set.data[i];
    return w;
}

#define BATCHES 15

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Microseconds per call of target_dist: the median and the minimum over
 * BATCHES batches (the minimum is the cost without interference from other
 * processes on the machine). */
static void time_chain(stage *chain, size_t n, float *const *rows, size_t nv, weft_candidate *c,
                       const weft_sampler_ctx *ctx, int iters, double *median, double *best, size_t *kept) {
    size_t total = 0;
    for (int i = 0; i < N_ROWS; i++) total += target_dist(chain, n, rows[i], nv, c, ctx); /* warm-up */
    int per = iters / BATCHES > 0 ? iters / BATCHES : 1;
    double us[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now();
        for (int i = 0; i < per; i++) total += target_dist(chain, n, rows[(b * per + i) % N_ROWS], nv, c, ctx);
        us[b] = (now() - t0) * 1e6 / per;
    }
    qsort(us, BATCHES, sizeof *us, cmp_double);
    *median = us[BATCHES / 2];
    *best = us[0];
    *kept = total / (size_t)(BATCHES * per + N_ROWS);
}

/* Microseconds per apply() of one sampler on a freshly filled full row
 * (filling not timed): median and minimum over batches. */
static void time_apply(stage *st, float *const *rows, size_t nv, weft_candidate *c, const weft_sampler_ctx *ctx,
                       int iters, double *median, double *best) {
    const weft_sampler_vtable *v = st->desc->vtable;
    int per = iters / BATCHES > 0 ? iters / BATCHES : 1;
    double us[BATCHES];
    for (int b = -1; b < BATCHES; b++) { /* batch -1 warms up */
        double t = 0;
        for (int i = 0; i < per; i++) {
            const float *row = rows[(b * per + i + N_ROWS) % N_ROWS];
            for (size_t k = 0; k < nv; k++) c[k] = (weft_candidate){(weft_token)k, row[k], 0};
            weft_candidates set = {.struct_size = sizeof set, .data = c, .size = nv};
            double t0 = now();
            if (v->apply(st->self, ctx, &set) != WEFT_OK) {
                fprintf(stderr, "bench: %s failed: %s\n", st->desc->name, weft_env_error(st->env));
                exit(1);
            }
            t += now() - t0;
            if (v->accept) v->accept(st->self, set.data[0].id);
        }
        if (b >= 0) us[b] = t * 1e6 / per;
    }
    qsort(us, BATCHES, sizeof *us, cmp_double);
    *median = us[BATCHES / 2];
    *best = us[0];
}

/* Decode loop on a real model: backend and sampler seconds per token. */
static int model_share(weft_registry *reg, const char *model, const char *samplers, double *backend_us,
                       double *sampler_us) {
    char json[8192], err[WEFT_ERR_CAP];
    snprintf(json, sizeof json,
             "{\"threads\": 1, \"backend\": {\"use\": \"llama\", \"model\": \"%s\"}, \"samplers\": %s, "
             "\"generate\": {\"max_tokens\": 128, \"seed\": 1}}",
             model, samplers);
    weft_pipeline *p = weft_pipeline_new(reg, json, strlen(json), "bench", NULL, err, sizeof err);
    if (!p) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    weft_request req = {.prompt = "Once upon a time", .prompt_len = 16, .max_tokens = -1};
    weft_result r;
    double b = 0, s = 0;
    int64_t steps = 0;
    for (int rep = 0; rep < 3; rep++) {
        if (weft_generate(p, &req, &r, err, sizeof err) != WEFT_OK) {
            fprintf(stderr, "bench: %s\n", err);
            weft_pipeline_free(p);
            return -1;
        }
        b += r.stats.t[WEFT_T_BACKEND];
        s += r.stats.t[WEFT_T_SAMPLER];
        steps += r.stats.n_steps;
        weft_result_free(&r);
    }
    weft_pipeline_free(p);
    *backend_us = b * 1e6 / (double)steps;
    *sampler_us = s * 1e6 / (double)steps;
    return 0;
}

int main(int argc, char **argv) {
    size_t nv = 32000;
    int iters = 2000;
    const char *json_path = "bench_samplers.json", *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vocab") && i + 1 < argc) nv = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--vocab N] [--iters N] [--json FILE] [--model GGUF]\n", argv[0]);
            return 2;
        }
    }
    if (nv < 64 || iters < 1) return 2;
    weft_registry *reg = weft_registry_new();
    char err[4096] = "";
    weft_registry_scan(reg, WEFT_BENCH_PLUGIN_DIR, err, sizeof err);
    weft_runtime *rt = weft_runtime_new(1);
    cJSON *preset = cJSON_Parse(sampler_preset_json("llama.cpp"));
    stage chain[MAX_CHAIN];
    size_t n = 0;
    for (const cJSON *s = preset->child; s && n < MAX_CHAIN; s = s->next)
        if (make_stage(reg, rt, s, &chain[n++]) != 0) return 1;

    /* rows: 3 z + a peak on a few tokens, like a model's logits */
    float *rows[N_ROWS];
    uint64_t rs = 42;
    for (int r = 0; r < N_ROWS; r++) {
        rows[r] = malloc(nv * sizeof *rows[r]);
        for (size_t i = 0; i < nv; i++)
            rows[r][i] = (float)(3 * sqrt(-2 * log(unit(&rs))) * cos(2 * M_PI * unit(&rs)));
        for (int k = 0; k < 4; k++) rows[r][mix(rs + (uint64_t)k) % nv] += 8.0f - 2 * k;
    }
    weft_token history[HISTORY];
    for (size_t i = 0; i < HISTORY; i++) history[i] = (weft_token)(mix(i) % nv);
    weft_rng rng;
    weft_rng_seed(&rng, 1);
    /* a vocabulary for DRY's breakers: token i is "t<i>", no breaker inside */
    char **bytes = malloc(nv * sizeof *bytes);
    uint32_t *lens = malloc(nv * sizeof *lens);
    for (size_t i = 0; i < nv; i++) {
        bytes[i] = malloc(16);
        lens[i] = (uint32_t)snprintf(bytes[i], 16, "t%zu", i);
    }
    weft_vocab vocab = {.struct_size = sizeof vocab, .n_vocab = (int32_t)nv, .bytes = (const char *const *)bytes,
                        .len = lens, .fingerprint = "bench"};
    weft_sampler_ctx ctx = {.struct_size = sizeof ctx, .history = history, .n_history = HISTORY, .n_prompt = 16,
                            .n_vocab = (int32_t)nv, .rng = &rng, .vocab = &vocab};
    weft_candidate *c = malloc(nv * sizeof *c);

    size_t kept_chain, kept_none;
    double med_chain, best_chain, med_none, best_none;
    time_chain(chain, n, rows, nv, c, &ctx, iters, &med_chain, &best_chain, &kept_chain);
    time_chain(chain, 0, rows, nv, c, &ctx, iters, &med_none, &best_none, &kept_none);
    /* the core's fill alone: its share of what the stats book as sampler time */
    double fill_best = INFINITY;
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now();
        for (int i = 0; i < iters / BATCHES + 1; i++) {
            const float *row = rows[i % N_ROWS];
            for (size_t k = 0; k < nv; k++) c[k] = (weft_candidate){(weft_token)k, row[k], 0};
            __asm__ volatile("" : : "r"(c) : "memory"); /* keep the stores */
        }
        double us = (now() - t0) * 1e6 / (iters / BATCHES + 1);
        if (us < fill_best) fill_best = us;
    }
    printf("llama.cpp chain, vocabulary %zu, as the core runs it (fill, chain, softmax):\n"
           "  %.2f us/token best, %.2f median of %d batches; %zu tokens kept on average\n"
           "  (of which filling the candidate set: %.2f; fill + softmax over the whole vocabulary, no sampler: %.2f)\n",
           nv, best_chain, med_chain, BATCHES, kept_chain, fill_best, best_none);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "chain", "llama.cpp");
    cJSON_AddNumberToObject(out, "vocab", (double)nv);
    cJSON_AddNumberToObject(out, "iters", iters);
    cJSON_AddNumberToObject(out, "us_per_token_best", best_chain);
    cJSON_AddNumberToObject(out, "us_per_token_median", med_chain);
    cJSON_AddNumberToObject(out, "us_fill_only_best", fill_best);
    cJSON_AddNumberToObject(out, "us_fill_softmax_no_sampler_best", best_none);
    cJSON_AddNumberToObject(out, "mean_kept", (double)kept_chain);
    cJSON *each = cJSON_AddObjectToObject(out, "apply_on_full_row_us_best");
    /* each sampler alone, as an enabled rule in first position */
    static const char *const enabled[] = {
        "{\"use\": \"penalties\", \"last_n\": 64, \"repeat\": 1.1, \"frequency\": 0.1, \"presence\": 0.1}",
        "{\"use\": \"dry\", \"multiplier\": 0.8, \"penalty_last_n\": -1}",
        "{\"use\": \"top-n-sigma\", \"n\": 1.0}",
        "{\"use\": \"top-k\", \"k\": 40}",
        "{\"use\": \"typical\", \"p\": 0.95}",
        "{\"use\": \"top-p\", \"p\": 0.95}",
        "{\"use\": \"min-p\", \"p\": 0.05}",
        "{\"use\": \"xtc\", \"probability\": 1.0, \"threshold\": 0.1}",
        "{\"use\": \"temperature\", \"t\": 0.8}",
        "{\"use\": \"dynamic-temperature\", \"t\": 0.8, \"range\": 0.5}",
        "{\"use\": \"logit-bias\"}",
        "{\"use\": \"mirostat\", \"version\": 2}",
        "{\"use\": \"mirostat\", \"version\": 1}",
        "{\"use\": \"look-back\"}",
    };
    printf("each sampler's apply() alone on a full row (us, best / median):\n");
    for (size_t i = 0; i < sizeof enabled / sizeof *enabled; i++) {
        cJSON *cfg = cJSON_Parse(enabled[i]);
        stage one;
        if (make_stage(reg, rt, cfg, &one) != 0) return 1;
        double med, best;
        time_apply(&one, rows, nv, c, &ctx, iters / 4 > BATCHES ? iters / 4 : BATCHES, &med, &best);
        const char *name = cJSON_GetObjectItemCaseSensitive(cfg, "use")->valuestring;
        char label[64];
        snprintf(label, sizeof label, "%s%s", name,
                 strstr(enabled[i], "\"version\": 1") ? " v1" : strstr(enabled[i], "\"version\": 2") ? " v2" : "");
        printf("  %-22s %9.2f %9.2f\n", label, best, med);
        cJSON_AddNumberToObject(each, label, best);
        one.desc->destroy(one.self);
        weft_env_free(one.env);
        cJSON_Delete(cfg);
    }
    if (model) {
        double be_us, smp_us, be_g, smp_g;
        if (model_share(reg, model, sampler_preset_json("llama.cpp"), &be_us, &smp_us) == 0 &&
            model_share(reg, model, "[{\"use\": \"greedy\"}]", &be_g, &smp_g) == 0) {
            printf("decode loop on %s: backend %.1f us/token, llama.cpp chain %.2f us/token (%.2f%%), greedy %.2f us\n",
                   model, be_us, smp_us, 100 * smp_us / be_us, smp_g);
            cJSON *m = cJSON_AddObjectToObject(out, "model");
            cJSON_AddStringToObject(m, "path", model);
            cJSON_AddNumberToObject(m, "backend_us_per_token", be_us);
            cJSON_AddNumberToObject(m, "chain_us_per_token", smp_us);
            cJSON_AddNumberToObject(m, "chain_share_percent", 100 * smp_us / be_us);
            cJSON_AddNumberToObject(m, "greedy_us_per_token", smp_g);
        }
    }
    char *text = cJSON_Print(out);
    FILE *f = fopen(json_path, "w");
    if (f) {
        fputs(text, f);
        fputc('\n', f);
        fclose(f);
        printf("wrote %s\n", json_path);
    }
    free(text);
    cJSON_Delete(out);
    cJSON_Delete(preset);
    for (size_t k = 0; k < n; k++) {
        chain[k].desc->destroy(chain[k].self);
        weft_env_free(chain[k].env);
    }
    for (int r = 0; r < N_ROWS; r++) free(rows[r]);
    for (size_t i = 0; i < nv; i++) free(bytes[i]);
    free(bytes);
    free(lens);
    free(c);
    weft_runtime_free(rt);
    weft_registry_free(reg);
    return 0;
}
