/* weft bench: how much faster a speculative pipeline decodes than the same
 * pipeline without its drafter (its baseline), and whether it still says
 * the same thing.
 *
 * Both run in one process on the same machine state: per prompt, the
 * baseline and then the pipeline, for every pipeline, and all of it
 * repeated --reps times. Speedups are ratios within one repetition, and the
 * report gives their median, so drift between repetitions (thermal, other
 * load) cancels out. A lossless pipeline with a deterministic target
 * (greedy) must reproduce its baseline token for token; anything else is a
 * MISMATCH and a non-zero exit. See docs/bench.md. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"

/* One pipeline as run: the pipeline itself or its baseline. */
typedef struct side {
    weft_pipeline *p;
    weft_stats total; /* summed over every timed run */
    weft_stats *rep;  /* summed per repetition */
} side;

typedef struct entry {
    const char *path;
    char *description;
    char *spec_json, *base_json; /* to open fresh pipelines per repetition */
    int64_t seed;      /* generate.seed, for the determinism probe */
    bool has_drafter;
    bool lossy;        /* the verifier does not claim WEFT_CAP_LOSSLESS */
    bool sampled;      /* the baseline's output depends on the seed */
    side base, spec;
    long compared, differing; /* outputs compared with the baseline's, and unequal */
    long first_prompt;        /* the first difference: prompt index and token position */
    size_t first_token;
} entry;

typedef struct bench {
    entry *e;
    size_t n;
    char **prompts;
    size_t n_prompts;
    long long reps, max_tokens, seed, settle_ms;
    bool has_seed, quiet, keep_state;
    int threads;
    const char *prompts_path, *json_out, *svg_out;
    double *scratch; /* reps entries, for medians */
} bench;

static const char bench_help[] =
    "usage: weft bench PIPELINE.json [PIPELINE2.json ...] --prompts FILE [options]\n"
    "  compares each pipeline with its baseline (the same pipeline without \"drafter\"),\n"
    "  interleaved prompt by prompt in one run; prints a table per pipeline\n"
    "      --prompts FILE       one prompt per line (blank lines skipped)\n"
    "  -r, --reps N             repetitions of the whole prompt set (default 3)\n"
    "  -n, --max-tokens N       override generate.max_tokens\n"
    "  -s, --seed N             override generate.seed\n"
    "  -t, --threads N          worker threads (default: the pipeline's, else all cores)\n"
    "      --json F             write every number as JSON\n"
    "      --svg F              draw speedups and accepted-length histograms as SVG\n"
    "      --settle MS          idle time before each run, so no other pipeline's threads\n"
    "                           still spin (default 20)\n"
    "      --keep-state         keep pipelines (and what their drafters learned) across\n"
    "                           repetitions; by default each repetition opens them afresh,\n"
    "                           so no drafter sees a prompt it has already answered\n"
    "  -m, --models DIR         model folder (default $WEFT_MODELS, else ../shared/models)\n"
    "  -P, --plugins DIR        extra plugin folder (also $WEFT_PLUGIN_PATH)\n"
    "  -q, --quiet              no progress on stderr\n"
    "exit: 0 ok, 7 a lossless pipeline's output differs from its baseline (MISMATCH),\n"
    "      else as 'weft run'\n";

/* ---- arguments and inputs ---- */

static bool parse_count(const char *s, long long lo, long long *out, const char *what) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < lo) {
        fprintf(stderr, "weft: %s must be an integer >= %lld, got '%s'\n", what, lo, s);
        return false;
    }
    *out = v;
    return true;
}

typedef struct bench_args {
    const char *models, *plugins;
    bool verbose;
} bench_args;

/* Returns -1 when parsed, else an exit code. */
static int parse_args(int argc, char **argv, bench *b, bench_args *a) {
    static const struct option opts[] = {
        {"prompts", required_argument, 0, 'f'}, {"reps", required_argument, 0, 'r'},
        {"max-tokens", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"json", required_argument, 0, 'J'},
        {"svg", required_argument, 0, 'G'}, {"models", required_argument, 0, 'm'},
        {"plugins", required_argument, 0, 'P'}, {"quiet", no_argument, 0, 'q'},
        {"settle", required_argument, 0, 'S'}, {"verbose", no_argument, 0, 'v'},
        {"keep-state", no_argument, 0, 'K'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    b->reps = 3;
    b->settle_ms = 20;
    b->max_tokens = -1;
    optind = 1;
    int c;
    long long v;
    while ((c = getopt_long(argc, argv, "f:r:n:s:t:m:P:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': b->prompts_path = optarg; break;
        case 'r': if (!parse_count(optarg, 1, &b->reps, "--reps")) return EXIT_USAGE; break;
        case 'n': if (!parse_count(optarg, 0, &b->max_tokens, "--max-tokens")) return EXIT_USAGE; break;
        case 's': if (!parse_count(optarg, 0, &b->seed, "--seed")) return EXIT_USAGE; b->has_seed = true; break;
        case 't': if (!parse_count(optarg, 1, &v, "--threads")) return EXIT_USAGE; b->threads = (int)v; break;
        case 'J': b->json_out = optarg; break;
        case 'G': b->svg_out = optarg; break;
        case 'S': if (!parse_count(optarg, 0, &b->settle_ms, "--settle")) return EXIT_USAGE; break;
        case 'm': a->models = optarg; break;
        case 'P': a->plugins = optarg; break;
        case 'q': b->quiet = true; break;
        case 'K': b->keep_state = true; break;
        case 'v': a->verbose = true; break;
        case 'h': fputs(bench_help, stdout); return EXIT_OK;
        default: fputs(bench_help, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc || !b->prompts_path) {
        const char *what = optind >= argc ? "missing PIPELINE.json" : "missing --prompts FILE";
        fprintf(stderr, "weft: %s\n%s", what, bench_help);
        return EXIT_USAGE;
    }
    b->n = (size_t)(argc - optind);
    b->e = calloc(b->n, sizeof *b->e);
    b->scratch = calloc((size_t)b->reps, sizeof *b->scratch);
    if (!b->e || !b->scratch) {
        fprintf(stderr, "weft: out of memory\n");
        return EXIT_RUNTIME;
    }
    for (size_t i = 0; i < b->n; i++) b->e[i].path = argv[optind + (int)i];
    return -1;
}

static int read_prompts(bench *b) {
    FILE *f = fopen(b->prompts_path, "r");
    if (!f) {
        fprintf(stderr, "weft: cannot open %s: %s\n", b->prompts_path, strerror(errno));
        return EXIT_IO;
    }
    char *line = NULL;
    size_t lcap = 0, cap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (strspn(line, " \t") == (size_t)len) continue;
        if (b->n_prompts == cap) {
            char **np = realloc(b->prompts, (cap = cap ? cap * 2 : 64) * sizeof *np);
            if (!np) break;
            b->prompts = np;
        }
        if (!(b->prompts[b->n_prompts] = strdup(line))) break;
        b->n_prompts++;
    }
    bool failed = ferror(f) || len > 0;
    free(line);
    fclose(f);
    if (failed) {
        fprintf(stderr, "weft: cannot read %s\n", b->prompts_path);
        return EXIT_IO;
    }
    if (b->n_prompts == 0) {
        fprintf(stderr, "weft: %s holds no prompts (one per line)\n", b->prompts_path);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- pipelines ---- */

/* The pipeline without "drafter", and without actions aimed at it. */
static char *baseline_json(cJSON *root) {
    cJSON_DeleteItemFromObjectCaseSensitive(root, "drafter");
    cJSON *actions = cJSON_GetObjectItemCaseSensitive(root, "actions");
    for (int i = cJSON_GetArraySize(actions); i-- > 0;) {
        const cJSON *comp = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(actions, i), "component");
        if (cJSON_IsString(comp) && strncmp(comp->valuestring, "/drafter", 8) == 0)
            cJSON_DeleteItemFromArray(actions, i);
    }
    return cJSON_PrintUnformatted(root);
}

static weft_pipeline *runner_pipeline_new_str(weft_registry *reg, const char *json, const char *origin,
                                              const weft_options *opt, int *code) {
    return runner_pipeline_new(reg, json, strlen(json), origin, opt, code);
}

/* Opens whichever of the pipeline and its baseline is not open (the
 * baseline once its text exists). */
static int open_entry(entry *e, weft_registry *reg, const weft_options *opt) {
    int code = EXIT_OK;
    char origin[1024];
    snprintf(origin, sizeof origin, "%s (baseline, without drafter)", e->path);
    if (!e->spec.p && !(e->spec.p = runner_pipeline_new_str(reg, e->spec_json, e->path, opt, &code)))
        return code ? code : EXIT_CONFIG;
    if (!e->base.p && e->base_json && !(e->base.p = runner_pipeline_new_str(reg, e->base_json, origin, opt, &code)))
        return code ? code : EXIT_CONFIG;
    return EXIT_OK;
}

static void close_entry(entry *e) {
    weft_pipeline_free(e->spec.p);
    weft_pipeline_free(e->base.p);
    e->spec.p = e->base.p = NULL;
}

static int load_entry(bench *b, entry *e, weft_registry *reg, const weft_options *opt) {
    size_t len;
    if (!(e->spec_json = runner_read(e->path, &len))) return EXIT_IO;
    /* the pipeline first: it reports a broken file with a JSON pointer */
    int code = open_entry(e, reg, opt);
    if (code != EXIT_OK) return code;
    cJSON *root = cJSON_ParseWithLength(e->spec_json, len);
    if (!root) return EXIT_CONFIG;
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "generate"), "seed");
    e->description = strdup(cJSON_IsString(desc) ? desc->valuestring : "");
    e->seed = cJSON_IsNumber(seed) ? (int64_t)seed->valuedouble : 0;
    e->has_drafter = cJSON_HasObjectItem(root, "drafter");
    e->base_json = baseline_json(root);
    cJSON_Delete(root);
    e->base.rep = calloc((size_t)b->reps, sizeof *e->base.rep);
    e->spec.rep = calloc((size_t)b->reps, sizeof *e->spec.rep);
    if (!e->description || !e->base_json || !e->base.rep || !e->spec.rep) {
        fprintf(stderr, "weft: out of memory\n");
        return EXIT_RUNTIME;
    }
    if ((code = open_entry(e, reg, opt)) != EXIT_OK) return code;
    if (!e->has_drafter && !b->quiet)
        fprintf(stderr, "weft: %s has no drafter: it is its own baseline\n", e->path);
    return EXIT_OK;
}

static void free_entry(entry *e) {
    close_entry(e);
    free(e->base.rep);
    free(e->spec.rep);
    free(e->description);
    free(e->spec_json);
    free(e->base_json);
}

/* ---- running ---- */

/* Waits --settle ms before a run: the pipeline that ran last keeps its
 * workers spinning for a few ms before they sleep (core/threadpool.c), and
 * on a machine with few cores they would slow down the next run. */
static void settle(const bench *b) {
    if (b->settle_ms <= 0) return;
    struct timespec ts = {.tv_sec = b->settle_ms / 1000, .tv_nsec = (b->settle_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void add_stats(weft_stats *t, const weft_stats *s) {
    t->n_prompt += s->n_prompt;
    t->n_generated += s->n_generated;
    t->n_steps += s->n_steps;
    t->n_drafted += s->n_drafted;
    t->n_accepted += s->n_accepted;
    t->n_draft_steps += s->n_draft_steps;
    t->seconds_total += s->seconds_total;
    t->seconds_decode += s->seconds_decode;
    for (int i = 0; i < WEFT_T_COUNT; i++) t->t[i] += s->t[i];
    t->lossy |= s->lossy;
    for (int i = 0; i < 17; i++) t->accept_hist[i] += s->accept_hist[i];
}

static bool generate(const bench *b, const char *prompt, weft_pipeline *p, int64_t seed, weft_result *r,
                     const char *what) {
    settle(b);
    weft_request req = {.prompt = prompt, .prompt_len = strlen(prompt), .max_tokens = b->max_tokens,
                        .seed = seed, .has_seed = true};
    char err[WEFT_ERR_CAP] = "";
    if (weft_generate(p, &req, r, err, sizeof err) == WEFT_OK) return true;
    fprintf(stderr, "weft: %s: prompt \"%s\": %s\n", what, prompt, err);
    weft_result_free(r);
    return false;
}

/* The first position where two outputs differ, or -1. */
static long first_difference(const weft_result *x, const weft_result *y) {
    size_t n = x->n_tokens < y->n_tokens ? x->n_tokens : y->n_tokens;
    for (size_t i = 0; i < n; i++)
        if (x->tokens[i] != y->tokens[i]) return (long)i;
    return x->n_tokens == y->n_tokens ? -1 : (long)n;
}

static void record(side *s, const weft_result *r, long long rep) {
    add_stats(&s->total, &r->stats);
    add_stats(&s->rep[rep], &r->stats);
}

/* Baseline then pipeline on one prompt; compares the outputs, and in the
 * first repetition probes whether the baseline depends on the seed. */
static int run_pair(const bench *b, entry *e, size_t j, long long rep) {
    const char *prompt = b->prompts[j];
    int64_t seed = b->has_seed ? b->seed : e->seed;
    weft_result rb, rs;
    char what[1100];
    snprintf(what, sizeof what, "%s (baseline)", e->path);
    if (!generate(b, prompt, e->base.p, seed, &rb, what)) return EXIT_RUNTIME;
    if (!generate(b, prompt, e->spec.p, seed, &rs, e->path)) {
        weft_result_free(&rb);
        return EXIT_RUNTIME;
    }
    record(&e->base, &rb, rep);
    record(&e->spec, &rs, rep);
    e->lossy |= rs.stats.lossy;
    long d = first_difference(&rb, &rs);
    e->compared++;
    if (d >= 0 && e->differing++ == 0) {
        e->first_prompt = (long)j;
        e->first_token = (size_t)d;
    }
    if (rep == 0 && !e->lossy && !e->sampled) {
        weft_result probe;
        if (!generate(b, prompt, e->base.p, seed + 1, &probe, what)) {
            weft_result_free(&rb);
            weft_result_free(&rs);
            return EXIT_RUNTIME;
        }
        e->sampled = first_difference(&rb, &probe) >= 0;
        weft_result_free(&probe);
    }
    weft_result_free(&rb);
    weft_result_free(&rs);
    return EXIT_OK;
}

/* Drafters keep what they learn across requests (n-gram pools, adaptive
 * statistics). Within a repetition that is what a server sees; across
 * repetitions they would answer each prompt a second time from memory, so
 * each repetition opens the pipelines afresh unless --keep-state. */
static int run_all(const bench *b, weft_registry *reg, const weft_options *opt) {
    for (long long rep = 0; rep < b->reps; rep++) {
        if (!b->quiet) fprintf(stderr, "bench: repetition %lld of %lld, %zu prompts\n", rep + 1, b->reps, b->n_prompts);
        for (size_t i = 0; i < b->n && rep > 0 && !b->keep_state; i++) {
            close_entry(&b->e[i]);
            int code = open_entry(&b->e[i], reg, opt);
            if (code != EXIT_OK) return code;
        }
        for (size_t j = 0; j < b->n_prompts; j++)
            for (size_t i = 0; i < b->n; i++) {
                int code = run_pair(b, &b->e[i], j, rep);
                if (code != EXIT_OK) return code;
            }
    }
    return EXIT_OK;
}

/* ---- numbers ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place. */
static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double rep_tps(const side *s, long long rep) {
    const weft_stats *r = &s->rep[rep];
    return r->seconds_decode > 0 ? (double)r->n_generated / r->seconds_decode : 0;
}

static double median_tps(const bench *b, const side *s) {
    for (long long r = 0; r < b->reps; r++) b->scratch[r] = rep_tps(s, r);
    return median(b->scratch, (size_t)b->reps);
}

static double rep_speedup(const entry *e, long long rep) {
    double base = rep_tps(&e->base, rep);
    return base > 0 ? rep_tps(&e->spec, rep) / base : 0;
}

static double median_speedup(const bench *b, const entry *e) {
    for (long long r = 0; r < b->reps; r++) b->scratch[r] = rep_speedup(e, r);
    return median(b->scratch, (size_t)b->reps);
}

/* Tokens committed per target evaluation: accepted drafts + the one drawn. */
static double tokens_per_step(const weft_stats *s) {
    return s->n_steps ? (double)(s->n_accepted + s->n_steps) / (double)s->n_steps : 0;
}

/* Draft tokens accepted per step that had a draft (the bonus not counted). */
static double accepted_per_step(const weft_stats *s) {
    return s->n_draft_steps ? (double)s->n_accepted / (double)s->n_draft_steps : 0;
}

static double acceptance(const weft_stats *s) {
    return s->n_drafted ? (double)s->n_accepted / (double)s->n_drafted : 0;
}

/* Shares of the request wall time: tokenize + prefill, each timer, the rest. */
enum { SHARE_PREFILL, SHARE_BACKEND, SHARE_DRAFTER, SHARE_GRAMMAR, SHARE_SAMPLER, SHARE_VERIFIER, SHARE_KV,
       SHARE_OTHER, SHARE_COUNT };
static const char *const share_names[SHARE_COUNT] = {"prefill", "backend", "drafter", "grammar",
                                                     "sampler", "verifier", "kv", "other"};

static void shares(const weft_stats *s, double *out) {
    double all = s->seconds_total > 0 ? s->seconds_total : 1;
    out[SHARE_PREFILL] = (s->t[WEFT_T_TOKENIZE] + s->t[WEFT_T_PREFILL]) / all;
    out[SHARE_BACKEND] = s->t[WEFT_T_BACKEND] / all;
    out[SHARE_DRAFTER] = s->t[WEFT_T_DRAFTER] / all;
    out[SHARE_GRAMMAR] = s->t[WEFT_T_GRAMMAR] / all;
    out[SHARE_SAMPLER] = s->t[WEFT_T_SAMPLER] / all;
    out[SHARE_VERIFIER] = s->t[WEFT_T_VERIFIER] / all;
    out[SHARE_KV] = s->t[WEFT_T_KV] / all;
    double rest = 1;
    for (int i = 0; i < SHARE_OTHER; i++) rest -= out[i];
    out[SHARE_OTHER] = rest > 0 ? rest : 0;
}

typedef enum verdict { IDENTICAL, MISMATCH, LOSSY, SAMPLED } verdict;
static const char *const verdict_names[] = {"identical", "mismatch", "lossy", "sampled"};

static verdict verdict_of(const entry *e) {
    if (e->lossy) return LOSSY;
    if (e->sampled) return SAMPLED;
    return e->differing ? MISMATCH : IDENTICAL;
}

/* ---- the table ---- */

static void print_row(const char *name, double tps, double speedup, const weft_stats *s, bool drafts) {
    double sh[SHARE_COUNT];
    shares(s, sh);
    printf("%-9s %9.1f %7.2fx %8.2f ", name, tps, speedup, tokens_per_step(s));
    if (drafts) printf("%8.2f %6.1f%%", accepted_per_step(s), 100 * acceptance(s));
    else printf("%8s %7s", "-", "-");
    for (int i = 0; i < SHARE_COUNT; i++) printf(" %7.1f%%", 100 * sh[i]);
    printf("\n");
}

static void print_entry(const bench *b, const entry *e) {
    printf("\n== %s%s%s\n", e->path, *e->description ? ": " : "", e->description);
    printf("   %zu prompts x %lld repetitions; tok/s and speedup are medians over repetitions\n", b->n_prompts,
           b->reps);
    printf("%-9s %9s %8s %8s %8s %7s", "", "tok/s", "speedup", "tok/step", "acc/step", "accept");
    for (int i = 0; i < SHARE_COUNT; i++) printf(" %8s", share_names[i]);
    printf("\n");
    print_row("baseline", median_tps(b, &e->base), 1.0, &e->base.total, false);
    print_row("pipeline", median_tps(b, &e->spec), median_speedup(b, e), &e->spec.total, e->spec.total.n_drafted > 0);
    switch (verdict_of(e)) {
    case IDENTICAL:
        printf("lossless; output identical to the baseline in all %ld runs\n", e->compared);
        break;
    case LOSSY:
        printf("lossy verifier: %ld of %ld outputs differ from the baseline (allowed)\n", e->differing, e->compared);
        break;
    case SAMPLED:
        printf("lossless, sampled: the output depends on the seed, so it is not compared token for token\n");
        break;
    case MISMATCH:
        printf("MISMATCH: %ld of %ld outputs differ from the baseline although the verifier is lossless\n"
               "          (first: prompt %ld \"%s\", token %zu)\n",
               e->differing, e->compared, e->first_prompt + 1, b->prompts[e->first_prompt], e->first_token);
        fprintf(stderr,
                "weft: MISMATCH: %s: %ld of %ld outputs differ from the baseline (first: prompt %ld, token %zu)\n",
                e->path, e->differing, e->compared, e->first_prompt + 1, e->first_token);
        break;
    }
}

/* ---- JSON ---- */

static cJSON *side_json(const bench *b, const side *s) {
    char *txt = weft_stats_json(&s->total);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "totals", cJSON_Parse(txt ? txt : "{}"));
    free(txt);
    cJSON_AddNumberToObject(o, "tokens_per_second", median_tps(b, s));
    cJSON *reps = cJSON_AddArrayToObject(o, "tokens_per_second_reps");
    for (long long r = 0; r < b->reps; r++) cJSON_AddItemToArray(reps, cJSON_CreateNumber(rep_tps(s, r)));
    cJSON_AddNumberToObject(o, "tokens_per_step", tokens_per_step(&s->total));
    reps = cJSON_AddArrayToObject(o, "tokens_per_step_reps");
    for (long long r = 0; r < b->reps; r++) cJSON_AddItemToArray(reps, cJSON_CreateNumber(tokens_per_step(&s->rep[r])));
    cJSON_AddNumberToObject(o, "accepted_per_draft_step", accepted_per_step(&s->total));
    cJSON_AddNumberToObject(o, "acceptance_rate", acceptance(&s->total));
    double sh[SHARE_COUNT];
    shares(&s->total, sh);
    cJSON *so = cJSON_AddObjectToObject(o, "time_share");
    for (int i = 0; i < SHARE_COUNT; i++) cJSON_AddNumberToObject(so, share_names[i], sh[i]);
    return o;
}

static int write_json(const bench *b) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prompts_file", b->prompts_path);
    cJSON_AddNumberToObject(o, "prompts", (double)b->n_prompts);
    cJSON_AddNumberToObject(o, "reps", (double)b->reps);
    if (b->max_tokens >= 0) cJSON_AddNumberToObject(o, "max_tokens", (double)b->max_tokens);
    else cJSON_AddNullToObject(o, "max_tokens"); /* each pipeline's own */
    if (b->has_seed) cJSON_AddNumberToObject(o, "seed", (double)b->seed);
    else cJSON_AddNullToObject(o, "seed");
    cJSON_AddNumberToObject(o, "threads", b->threads);
    cJSON_AddNumberToObject(o, "settle_ms", (double)b->settle_ms);
    cJSON *arr = cJSON_AddArrayToObject(o, "pipelines");
    for (size_t i = 0; i < b->n; i++) {
        const entry *e = &b->e[i];
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "file", e->path);
        cJSON_AddStringToObject(p, "description", e->description);
        cJSON_AddBoolToObject(p, "lossy", e->lossy);
        cJSON_AddStringToObject(p, "output", verdict_names[verdict_of(e)]);
        cJSON_AddNumberToObject(p, "compared", (double)e->compared);
        cJSON_AddNumberToObject(p, "differing", (double)e->differing);
        cJSON_AddNumberToObject(p, "speedup", median_speedup(b, e));
        cJSON *reps = cJSON_AddArrayToObject(p, "speedup_reps");
        for (long long r = 0; r < b->reps; r++) cJSON_AddItemToArray(reps, cJSON_CreateNumber(rep_speedup(e, r)));
        cJSON_AddItemToObject(p, "baseline", side_json(b, &e->base));
        cJSON_AddItemToObject(p, "pipeline", side_json(b, &e->spec));
        cJSON_AddItemToArray(arr, p);
    }
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    FILE *f = txt ? fopen(b->json_out, "w") : NULL;
    bool ok = f && fprintf(f, "%s\n", txt) > 0;
    if (f && fclose(f) != 0) ok = false;
    free(txt);
    if (!ok) fprintf(stderr, "weft: cannot write %s: %s\n", b->json_out, strerror(errno));
    return ok ? EXIT_OK : EXIT_IO;
}

/* ---- SVG ---- */

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                      "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

static void svg_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Top: one bar per pipeline, its speedup, with a rule at 1x. Bottom: the
 * share of draft steps that accepted k tokens, one series per pipeline. */
static int write_svg(const bench *b) {
    FILE *f = fopen(b->svg_out, "w");
    if (!f) {
        fprintf(stderr, "weft: cannot write %s: %s\n", b->svg_out, strerror(errno));
        return EXIT_IO;
    }
    const double W = 820, left = 220, right = 60, bar_h = 22, gap = 10;
    const double top_h = 50 + (double)b->n * (bar_h + gap), hist_y = top_h + 50, hist_h = 220;
    double max_speedup = 1.5;
    int max_k = 1;
    for (size_t i = 0; i < b->n; i++) {
        double s = median_speedup(b, &b->e[i]);
        if (s * 1.1 > max_speedup) max_speedup = s * 1.1;
        for (int k = 0; k < 17; k++)
            if (b->e[i].spec.total.accept_hist[k] && k > max_k) max_k = k;
    }
    const double H = hist_y + hist_h + 60 + 18 * (double)b->n, plot_w = W - left - right;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"15\">Speedup over the same pipeline without drafter "
               "(median of %lld repetitions, %zu prompts)</text>\n", b->reps, b->n_prompts);
    for (size_t i = 0; i < b->n; i++) {
        double s = median_speedup(b, &b->e[i]), y = 40 + (double)i * (bar_h + gap);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", left - 8, y + bar_h * 0.7);
        svg_text(f, base_name(b->e[i].path));
        fprintf(f, "</text>\n<rect x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"%s\"/>\n", left, y,
                plot_w * s / max_speedup, bar_h, palette[i % 8]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%.2fx%s</text>\n", left + plot_w * s / max_speedup + 4,
                y + bar_h * 0.7, s, verdict_of(&b->e[i]) == MISMATCH ? " MISMATCH" : b->e[i].lossy ? " (lossy)" : "");
    }
    double one = left + plot_w / max_speedup;
    fprintf(f, "<line x1=\"%.1f\" y1=\"32\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">1x</text>\n",
            one, one, top_h, one, top_h + 14);
    /* histogram */
    fprintf(f, "<text x=\"10\" y=\"%.0f\" font-size=\"15\">Accepted draft tokens per step (share of steps "
               "with a draft)</text>\n", hist_y - 16);
    double x0 = 60, pw = W - x0 - 20, group = pw / (max_k + 1), bw = group * 0.8 / (double)b->n;
    double y_base = hist_y + hist_h;
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", x0, y_base, x0 + pw,
            y_base);
    for (int tick = 0; tick <= 4; tick++) {
        double y = y_base - hist_h * tick / 4.0;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n", x0 - 4, y + 4, tick * 25);
        if (tick)
            fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, y, x0 + pw, y);
    }
    for (int k = 0; k <= max_k; k++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d%s</text>\n", x0 + group * (k + 0.5),
                y_base + 16, k, k == 16 ? "+" : "");
    for (size_t i = 0; i < b->n; i++) {
        const weft_stats *s = &b->e[i].spec.total;
        for (int k = 0; k <= max_k && s->n_draft_steps > 0; k++) {
            double share = (double)s->accept_hist[k] / (double)s->n_draft_steps;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                    x0 + group * (k + 0.1) + bw * (double)i, y_base - hist_h * share, bw, hist_h * share,
                    palette[i % 8]);
        }
        double ly = y_base + 40 + 18 * (double)i;
        fprintf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n<text x=\"%.0f\" y=\"%.1f\">",
                x0, ly - 10, palette[i % 8], x0 + 18, ly);
        svg_text(f, b->e[i].path);
        fprintf(f, ": %.2f tokens per step</text>\n", tokens_per_step(s));
    }
    fputs("</svg>\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "weft: cannot write %s: %s\n", b->svg_out, strerror(errno));
        return EXIT_IO;
    }
    return EXIT_OK;
}

/* ---- the verb ---- */

int cmd_bench(int argc, char **argv) {
    bench b = {0};
    bench_args a = {0};
    int code = parse_args(argc, argv, &b, &a);
    weft_registry *reg = NULL;
    if (code >= 0) goto done;
    if ((code = read_prompts(&b)) != EXIT_OK) goto done;
    if (!(reg = runner_registry(a.plugins, a.verbose))) {
        code = EXIT_RUNTIME;
        goto done;
    }
    weft_options opt = {.n_threads = b.threads, .models_dir = a.models, .log_level = a.verbose ? WEFT_LOG_INFO : 0};
    for (size_t i = 0; i < b.n; i++)
        if ((code = load_entry(&b, &b.e[i], reg, &opt)) != EXIT_OK) goto done;
    if ((code = run_all(&b, reg, &opt)) != EXIT_OK) goto done;
    bool mismatch = false;
    for (size_t i = 0; i < b.n; i++) {
        print_entry(&b, &b.e[i]);
        mismatch |= verdict_of(&b.e[i]) == MISMATCH;
    }
    fflush(stdout);
    if (b.json_out && (code = write_json(&b)) != EXIT_OK) goto done;
    if (b.svg_out && (code = write_svg(&b)) != EXIT_OK) goto done;
    code = mismatch ? EXIT_MISMATCH : EXIT_OK;
done:
    for (size_t i = 0; i < b.n; i++) free_entry(&b.e[i]);
    free(b.e);
    free(b.scratch);
    for (size_t j = 0; j < b.n_prompts; j++) free(b.prompts[j]);
    free(b.prompts);
    weft_registry_free(reg);
    return code;
}
