/* weft-kv-quality: what a KV compressor costs in perplexity and saves in
 * bytes. For each text (seeded samples of the model, written by the tool,
 * or --text FILE), the first half is the prompt and the second half is
 * scored token by token, with the full cache and with each method at each
 * budget (a fraction of the text length). Prints a table, writes JSON.
 *
 *   weft-kv-quality --model M.gguf [--ctx 512] [--budgets 0.5,0.25]
 *                   [--samples 4] [--seed 1] [--text FILE] [--json OUT]
 *   weft-kv-quality --model M.gguf --speed 4096 [--budgets 0.25]
 *       decode time per token at that position, full cache vs streaming */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_eval.h"
#include "pipeline.h"

typedef struct method {
    const char *name;
    const char *fmt; /* kv JSON; %d = budget */
    bool budgeted;
} method;

static const method METHODS[] = {
    {"streaming", "{\"use\": \"streaming\", \"budget\": %d, \"slack\": 8}", true},
    {"h2o", "{\"use\": \"h2o\", \"budget\": %d, \"slack\": 8}", true},
    {"snapkv", "{\"use\": \"snapkv\", \"budget\": %d, \"slack\": 8}", true},
    {"knorm", "{\"use\": \"knorm\", \"budget\": %d, \"slack\": 8}", true},
    {"pyramid-h2o", "{\"use\": \"budget\", \"budget\": %d, \"slack\": 8, \"pyramid\": 0.5, "
                    "\"compressor\": {\"use\": \"h2o\"}}", true},
    {"quantize-q8", "{\"use\": \"quantize\", \"bits\": 8, \"recent\": 64}", false},
    {"quantize-q4", "{\"use\": \"quantize\", \"bits\": 4, \"recent\": 64}", false},
};

static weft_pipeline *open_pipe(weft_registry *reg, const char *backend, const char *kv) {
    char json[8192], err[1024];
    if (kv) snprintf(json, sizeof json, "{\"threads\": 1, \"backend\": %s, \"kv\": %s}", backend, kv);
    else snprintf(json, sizeof json, "{\"threads\": 1, \"backend\": %s}", backend);
    weft_pipeline *p = weft_pipeline_new(reg, json, strlen(json), "weft-kv-quality", NULL, err, sizeof err);
    if (!p) fprintf(stderr, "weft-kv-quality: %s\n", err);
    return p;
}

/* ppl and bytes of one configuration over all texts. */
static bool measure(weft_registry *reg, const char *backend, const char *kv, int32_t **texts, int n_texts, int len,
                    double *ppl, double *bytes, double *rss, double *kv_frac) {
    weft_pipeline *p = open_pipe(reg, backend, kv);
    if (!p) return false;
    double nll = 0, nb = 0, secs = 0, kvs = 0;
    int64_t cnt = 0;
    for (int t = 0; t < n_texts; t++) {
        kv_eval_result r;
        char err[512];
        if (!kv_eval_text(p, texts[t], len, len / 2, &r, err, sizeof err)) {
            fprintf(stderr, "weft-kv-quality: %s: %s\n", kv ? kv : "full", err);
            weft_pipeline_free(p);
            return false;
        }
        nll += r.nll, cnt += r.n_scored, nb += (double)r.max_bytes, secs += r.seconds, kvs += r.kv_seconds;
        if (t == 0) *rss = (double)r.rss_growth; /* later texts reuse the pages the first committed */
    }
    *ppl = exp(nll / (double)cnt);
    *bytes = nb / n_texts;
    *kv_frac = secs > 0 ? kvs / secs : 0;
    weft_pipeline_free(p);
    return true;
}

static int32_t *text_file(weft_registry *reg, const char *backend, const char *path, int *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    weft_pipeline *p = open_pipe(reg, backend, NULL);
    if (!p) return NULL;
    int32_t *tok = malloc((n + 2) * sizeof *tok);
    size_t nt = 0;
    BACKEND_VT(p)->tokenize(BACKEND_SELF(p), buf, n, true, false, tok, n + 2, &nt);
    weft_pipeline_free(p);
    *len = (int)nt;
    return tok;
}

/* Decode time per token after a prompt of `pos` random tokens. */
static int speed(weft_registry *reg, const char *model, int pos, double ratio) {
    enum { STEPS = 32 };
    char backend[2048];
    snprintf(backend, sizeof backend, "{\"use\": \"llama\", \"model\": \"%s\", \"n_ctx\": %d}", model, pos + STEPS + 8);
    int32_t *tok = malloc((size_t)(pos + STEPS) * sizeof *tok);
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < pos + STEPS; i++) s ^= s << 13, s ^= s >> 7, s ^= s << 17, tok[i] = (int32_t)(s % 256) + 3;
    const int budget = (int)(ratio * pos);
    char kv[256];
    snprintf(kv, sizeof kv, "{\"use\": \"streaming\", \"budget\": %d, \"slack\": %d}", budget, STEPS + 1);
    double ms[2], kv_ms = 0;
    for (int k = 0; k < 2; k++) {
        weft_pipeline *p = open_pipe(reg, backend, k ? kv : NULL);
        if (!p) return 1;
        kv_eval_result r;
        char err[512];
        /* prefill, compress after it, then STEPS - 1 timed tokens (slack
         * STEPS: no compression among them) */
        if (!kv_eval_text(p, tok, pos + STEPS, pos, &r, err, sizeof err)) {
            fprintf(stderr, "weft-kv-quality: %s\n", err);
            return 1;
        }
        ms[k] = r.decode_seconds * 1e3 / (STEPS - 1);
        if (k) kv_ms = r.kv_seconds * 1e3;
        weft_pipeline_free(p);
    }
    printf("position %d: full cache %.2f ms/token, streaming budget %d: %.2f ms/token (%.2fx); "
           "one compression (after prefill) %.2f ms\n",
           pos, ms[0], budget, ms[1], ms[0] / ms[1], kv_ms);
    free(tok);
    return 0;
}

int main(int argc, char **argv) {
    const char *model = NULL, *json_out = NULL, *text = NULL, *budgets = "0.5,0.25";
    int ctx = 512, samples = 4, speed_pos = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v) model = v, i++;
        else if (!strcmp(a, "--ctx") && v) ctx = atoi(v), i++;
        else if (!strcmp(a, "--budgets") && v) budgets = v, i++;
        else if (!strcmp(a, "--samples") && v) samples = atoi(v), i++;
        else if (!strcmp(a, "--seed") && v) seed = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--text") && v) text = v, i++;
        else if (!strcmp(a, "--json") && v) json_out = v, i++;
        else if (!strcmp(a, "--speed") && v) speed_pos = atoi(v), i++;
        else {
            fprintf(stderr, "usage: weft-kv-quality --model M.gguf [--ctx N] [--budgets 0.5,0.25] [--samples N] "
                            "[--seed N] [--text FILE] [--json OUT] [--speed POS]\n");
            return 2;
        }
    }
    if (!model) return fprintf(stderr, "weft-kv-quality: --model is required\n"), 2;
    char err[1024];
    weft_registry *reg = weft_registry_new();
    if (!reg) return fprintf(stderr, "weft-kv-quality: out of memory\n"), 4;
    weft_registry_scan(reg, WEFT_TEST_PLUGIN_DIR, err, sizeof err); /* the build tree's plugins */
    double ratios[8];
    int n_ratios = 0;
    for (const char *s = budgets; *s && n_ratios < 8;) {
        ratios[n_ratios++] = strtod(s, (char **)&s);
        if (*s == ',') s++;
    }
    if (speed_pos > 0) return speed(reg, model, speed_pos, ratios[0]);

    char backend[2048];
    snprintf(backend, sizeof backend, "{\"use\": \"llama\", \"model\": \"%s\", \"n_ctx\": %d}", model, ctx + 8);
    int32_t *texts[64];
    int n_texts = 0;
    if (text) {
        int len = 0;
        int32_t *all = text_file(reg, backend, text, &len);
        if (!all) return fprintf(stderr, "weft-kv-quality: cannot read %s\n", text), 5;
        for (int off = 0; off + ctx <= len && n_texts < 64; off += ctx) texts[n_texts++] = all + off;
    } else {
        for (int i = 0; i < samples && i < 64; i++) {
            texts[n_texts] = kv_sample_text(reg, backend, ctx, seed * 1000 + (uint64_t)i * 97, err, sizeof err);
            if (!texts[n_texts]) return fprintf(stderr, "weft-kv-quality: %s\n", err), 1;
            n_texts++;
        }
    }
    if (!n_texts) return fprintf(stderr, "weft-kv-quality: no text of %d tokens\n", ctx), 1;
    FILE *js = json_out ? fopen(json_out, "w") : NULL;
    if (js) fprintf(js, "{\"model\": \"%s\", \"ctx\": %d, \"texts\": %d, \"results\": [\n", model, ctx, n_texts);
    double ppl0, bytes0, rss0, frac0;
    if (!measure(reg, backend, NULL, texts, n_texts, ctx, &ppl0, &bytes0, &rss0, &frac0)) return 1;
    printf("%d texts of %d tokens, the second half scored; full cache: ppl %.4f, %.0f KV bytes, RSS +%.0f KiB\n\n",
           n_texts, ctx, ppl0, bytes0, rss0 / 1024);
    printf("%-14s %8s %10s %9s %12s %8s %9s %8s\n", "method", "budget", "ppl", "vs full", "KV bytes", "bytes%",
           "RSS KiB", "kv time");
    bool first = true;
    for (size_t m = 0; m < sizeof METHODS / sizeof METHODS[0]; m++) {
        for (int b = 0; b < (METHODS[m].budgeted ? n_ratios : 1); b++) {
            const int budget = (int)lround(ratios[b] * ctx);
            char kv[512];
            snprintf(kv, sizeof kv, METHODS[m].fmt, budget);
            double ppl, bytes, rss, frac;
            if (!measure(reg, backend, kv, texts, n_texts, ctx, &ppl, &bytes, &rss, &frac)) return 1;
            const double d = 100 * (ppl / ppl0 - 1);
            char bud[16] = "-", bjs[16] = "null";
            if (METHODS[m].budgeted) {
                snprintf(bud, sizeof bud, "%.0f%%", 100 * ratios[b]);
                snprintf(bjs, sizeof bjs, "%g", ratios[b]);
            }
            printf("%-14s %8s %10.4f %+8.2f%% %12.0f %7.1f%% %9.0f %7.2f%%\n", METHODS[m].name, bud, ppl, d, bytes,
                   100 * bytes / bytes0, rss / 1024, 100 * frac);
            if (js)
                fprintf(js, "%s  {\"method\": \"%s\", \"budget\": %s, \"ppl\": %.6f, \"ppl_full\": %.6f, "
                            "\"delta_pct\": %.4f, \"kv_bytes\": %.0f, \"kv_bytes_full\": %.0f, \"rss_growth\": %.0f, \"rss_growth_full\": %.0f, "
                            "\"kv_time_frac\": %.5f}",
                        first ? "" : ",\n", METHODS[m].name, bjs, ppl, ppl0, d, bytes, bytes0, rss, rss0, frac);
            first = false;
        }
    }
    if (js) fprintf(js, "\n]}\n"), fclose(js);
    weft_registry_free(reg);
    return 0;
}
