/* Teacher-forced evaluation under compression (kv_eval.h). */
#include "kv_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <weft/kv.h>

#include "kvsched.h"
#include "pipeline.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct run {
    weft_pipeline *p;
    const weft_backend_vtable *be;
    void *bs;
    const weft_kv_vtable *kv;
    void *ks;
    int64_t since;
    size_t rss0;
    kv_eval_result *r;
    char *err;
    size_t cap;
} run;

/* Resident bytes of the process (Linux /proc/self/statm), 0 if unknown. */
static size_t rss_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* Records the KV bytes held and the process's RSS growth. Called where the
 * cache is largest: before each compression and at the end (it only grows
 * in between), not per token: a view of a quantized layer decodes it. */
static void sample_peak(run *x) {
    const size_t rss = rss_now(); /* first: views of quantized layers commit a copy */
    if (rss > x->rss0 && rss - x->rss0 > x->r->rss_growth) x->r->rss_growth = rss - x->rss0;
    size_t b = 0;
    for (int l = 0; l < x->p->info->n_layers; l++) {
        weft_kv_view v = {.struct_size = sizeof v};
        if (x->be->kv_view(x->bs, l, &v) == WEFT_OK) b += v.bytes;
    }
    if (b > x->r->max_bytes) x->r->max_bytes = b;
}

/* The decode loop's schedule (core/kvsched.h). */
static bool compress(run *x, bool after_prefill) {
    if (!x->kv) return true;
    weft_kv_schedule sch = {.struct_size = sizeof sch};
    x->kv->schedule(x->ks, &sch);
    const int32_t len = x->be->kv_len(x->bs);
    if (!kv_sched_due(&sch, after_prefill, x->since, len)) return true;
    if (!after_prefill) sample_peak(x); /* the peak while decoding, not the whole prompt's */
    const double t0 = now();
    weft_kv_ctx ctx = {.struct_size = sizeof ctx, .backend = &x->p->backend->inst, .n_layers = x->p->info->n_layers,
                       .kv_len = len, .after_prefill = after_prefill};
    weft_kv_plan plan = {.struct_size = sizeof plan};
    weft_status st = x->kv->plan(x->ks, &ctx, &plan);
    if (st == WEFT_OK && plan.n_layers) st = x->be->kv_compact(x->bs, &plan);
    x->r->kv_seconds += now() - t0;
    x->r->n_compress++;
    x->since = 0;
    if (st != WEFT_OK) return snprintf(x->err, x->cap, "compression failed (%s)", weft_status_name(st)), false;
    return true;
}

static double nll_of(const float *logits, int n_vocab, int32_t tok) {
    float mx = logits[0];
    for (int i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double s = 0;
    for (int i = 0; i < n_vocab; i++) s += exp((double)logits[i] - mx);
    return log(s) - ((double)logits[tok] - mx);
}

bool kv_eval_text(weft_pipeline *p, const int32_t *tok, int n, int n_prompt, kv_eval_result *r, char *err,
                  size_t cap) {
    memset(r, 0, sizeof *r);
    run x = {.p = p, .be = BACKEND_VT(p), .bs = BACKEND_SELF(p), .r = r, .err = err, .cap = cap};
    if (p->kv) x.kv = p->kv->info->desc->vtable, x.ks = p->kv->inst.self;
    const int nv = p->info->n_vocab;
    float *logits = malloc((size_t)nv * sizeof *logits);
    if (!logits || n_prompt < 1 || n_prompt >= n) return free(logits), snprintf(err, cap, "bad arguments"), false;
    const int32_t len0 = x.be->kv_len(x.bs);
    if (len0 > 0) x.be->kv_keep(x.bs, len0, NULL, 0);
    x.rss0 = rss_now();
    const double t0 = now();
    int32_t last = n_prompt - 1;
    weft_batch b = {.struct_size = sizeof b, .n_tokens = (size_t)n_prompt, .tokens = tok, .n_out = 1,
                    .out_rows = &last, .logits = logits};
    if (x.kv) kv_sched_signals(x.kv, x.ks, &b, true);
    bool ok = x.be->eval(x.bs, &b) == WEFT_OK || (snprintf(err, cap, "prefill failed"), false);
    if (ok) r->nll += nll_of(logits, nv, tok[n_prompt]), r->n_scored++;
    ok = ok && compress(&x, true);
    const double t_decode = now();
    for (int i = n_prompt; ok && i < n - 1; i++) {
        int32_t row = 0;
        weft_batch one = {.struct_size = sizeof one, .n_tokens = 1, .tokens = tok + i, .n_out = 1, .out_rows = &row,
                          .logits = logits, .signals = b.signals & WEFT_SIGNAL_ATTN_ACCUM};
        if (x.be->eval(x.bs, &one) != WEFT_OK) {
            ok = false;
            snprintf(err, cap, "eval of token %d failed (cache %d entries)", i, x.be->kv_len(x.bs));
            break;
        }
        r->nll += nll_of(logits, nv, tok[i + 1]);
        r->n_scored++;
        x.since++;
        ok = compress(&x, false);
    }
    sample_peak(&x);
    r->decode_seconds = now() - t_decode;
    r->seconds = now() - t0;
    free(logits);
    return ok;
}

int32_t *kv_sample_text(weft_registry *reg, const char *backend_json, int n, uint64_t seed, char *err, size_t cap) {
    char json[4096];
    snprintf(json, sizeof json,
             "{\"threads\": 1, \"backend\": %s, \"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}]}",
             backend_json);
    weft_pipeline *p = weft_pipeline_new(reg, json, strlen(json), "kv-eval", NULL, err, cap);
    if (!p) return NULL;
    int32_t *tok = malloc((size_t)n * sizeof *tok);
    int have = 0;
    for (uint64_t k = 0; tok && have < n; k++) {
        weft_request q = {.prompt = "", .prompt_len = 0, .max_tokens = n, .has_seed = true, .seed = (int64_t)(seed + k)};
        weft_result res;
        if (weft_generate(p, &q, &res, err, cap) != WEFT_OK) {
            free(tok);
            tok = NULL;
        }
        if (tok) tok[have++] = p->info->bos;
        for (size_t i = 0; tok && i < res.n_tokens && have < n; i++) tok[have++] = res.tokens[i];
        weft_result_free(&res);
    }
    weft_pipeline_free(p);
    return tok;
}
