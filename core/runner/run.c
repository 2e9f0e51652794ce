/* weft run / check / call. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "runner.h"

/* Set by SIGINT/SIGTERM in batch mode: the current line finishes, then the
 * run stops with EXIT_INTERRUPTED. */
static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

/* SA_RESETHAND: a second signal kills at once (the output written so far is
 * complete lines, and --resume drops a cut-off last one). No SA_RESTART: a
 * read waiting on stdin returns, so the run stops without more input. */
static void catch_interrupts(void) {
    struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

char *runner_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "weft: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "weft: out of memory reading %s\n", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

weft_registry *runner_registry(const char *extra_dir, bool verbose) {
    weft_registry *reg = weft_registry_new();
    if (!reg) return NULL;
    char problems[8192] = "";
    if (extra_dir) weft_registry_scan(reg, extra_dir, problems, sizeof problems);
    weft_registry_scan_defaults(reg, problems, sizeof problems);
    if (verbose && *problems) fprintf(stderr, "weft: plugin problems:\n%s\n", problems);
    return reg;
}

/* Long-only options. */
enum { OPT_RESUME = 256, OPT_MAX_PROMPT, OPT_MAX_LINE, OPT_MAX_INPUT };

static const struct option common_opts[] = {
    {"prompt", required_argument, 0, 'p'},     {"max-tokens", required_argument, 0, 'n'},
    {"seed", required_argument, 0, 's'},       {"threads", required_argument, 0, 't'},
    {"models", required_argument, 0, 'm'},     {"plugins", required_argument, 0, 'P'},
    {"stats-json", required_argument, 0, 'S'}, {"input", required_argument, 0, 'i'},
    {"output", required_argument, 0, 'o'},     {"quiet", no_argument, 0, 'q'},
    {"verbose", no_argument, 0, 'v'},          {"help", no_argument, 0, 'h'},
    {"prompt-file", required_argument, 0, 'f'}, {"resume", no_argument, 0, OPT_RESUME},
    {"max-prompt-bytes", required_argument, 0, OPT_MAX_PROMPT}, {"max-line-bytes", required_argument, 0, OPT_MAX_LINE},
    {"max-input-bytes", required_argument, 0, OPT_MAX_INPUT}, {0, 0, 0, 0}};

/* Default limits: generous for real prompts, small enough that one bad
 * line cannot exhaust memory. */
#define DEFAULT_MAX_PROMPT_BYTES (1LL << 20)
#define DEFAULT_MAX_LINE_BYTES (16LL << 20)

typedef struct run_args {
    const char *pipeline, *prompt, *prompt_file, *stats_json, *input, *output, *models, *plugins;
    long long max_tokens, seed;
    long long max_prompt_bytes, max_line_bytes, max_input_bytes; /* 0: no limit */
    bool has_seed, quiet, verbose, resume;
    int threads;
} run_args;

static bool parse_int(const char *s, long long lo, long long *out, const char *what) {
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

/* Returns -1 when parsed, else an exit code. */
static int parse_run_args(int argc, char **argv, run_args *a, const char *help) {
    memset(a, 0, sizeof *a);
    a->max_tokens = -1;
    a->max_prompt_bytes = DEFAULT_MAX_PROMPT_BYTES;
    a->max_line_bytes = DEFAULT_MAX_LINE_BYTES;
    optind = 1;
    int c;
    long long v;
    while ((c = getopt_long(argc, argv, "p:n:s:t:m:P:S:i:o:qvhf:", common_opts, NULL)) != -1) {
        switch (c) {
        case 'p': a->prompt = optarg; break;
        case 'f': a->prompt_file = optarg; break;
        case 'n': if (!parse_int(optarg, 0, &a->max_tokens, "--max-tokens")) return EXIT_USAGE; break;
        case 's': if (!parse_int(optarg, 0, &a->seed, "--seed")) return EXIT_USAGE; a->has_seed = true; break;
        case 't': if (!parse_int(optarg, 1, &v, "--threads")) return EXIT_USAGE; a->threads = (int)v; break;
        case 'm': a->models = optarg; break;
        case 'P': a->plugins = optarg; break;
        case 'S': a->stats_json = optarg; break;
        case 'i': a->input = optarg; break;
        case 'o': a->output = optarg; break;
        case OPT_RESUME: a->resume = true; break;
        case OPT_MAX_PROMPT: if (!parse_int(optarg, 0, &a->max_prompt_bytes, "--max-prompt-bytes")) return EXIT_USAGE; break;
        case OPT_MAX_LINE: if (!parse_int(optarg, 1, &a->max_line_bytes, "--max-line-bytes")) return EXIT_USAGE; break;
        case OPT_MAX_INPUT: if (!parse_int(optarg, 0, &a->max_input_bytes, "--max-input-bytes")) return EXIT_USAGE; break;
        case 'q': a->quiet = true; break;
        case 'v': a->verbose = true; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: fputs(help, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "weft: missing PIPELINE.json\n%s", help);
        return EXIT_USAGE;
    }
    a->pipeline = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "weft: unexpected argument '%s'\n%s", argv[optind], help);
        return EXIT_USAGE;
    }
    return -1;
}

static void stream_text(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

weft_pipeline *runner_pipeline_new(weft_registry *reg, const char *json, size_t len, const char *origin,
                                   const weft_options *opt, int *code) {
    char err[WEFT_ERR_CAP] = "";
    weft_pipeline *p = weft_pipeline_new(reg, json, len, origin, opt, err, sizeof err);
    if (!p) {
        fprintf(stderr, "weft: %s: %s\n", origin, err);
        *code = strstr(err, "(available: ") ? EXIT_PLUGIN : EXIT_CONFIG; /* unknown component */
    }
    return p;
}

static weft_pipeline *load_pipeline(const run_args *a, weft_registry **reg_out, int *code) {
    size_t len;
    char *json = runner_read(a->pipeline, &len);
    if (!json) {
        *code = EXIT_IO;
        return NULL;
    }
    weft_registry *reg = runner_registry(a->plugins, a->verbose);
    weft_options opt = {.n_threads = a->threads, .models_dir = a->models, .log_level = a->verbose ? WEFT_LOG_INFO : 0};
    *code = EXIT_PLUGIN;
    weft_pipeline *p = reg ? runner_pipeline_new(reg, json, len, a->pipeline, &opt, code) : NULL;
    free(json);
    if (!p) {
        weft_registry_free(reg);
        return NULL;
    }
    *reg_out = reg;
    return p;
}

static int write_stats_json(const char *path, const weft_stats *s) {
    char *txt = weft_stats_json(s);
    FILE *f = fopen(path, "w");
    if (!f || !txt) {
        fprintf(stderr, "weft: cannot write %s: %s\n", path, strerror(errno));
        free(txt);
        if (f) fclose(f);
        return EXIT_IO;
    }
    fprintf(f, "%s\n", txt);
    free(txt);
    return fclose(f) == 0 ? EXIT_OK : EXIT_IO;
}

/* The prompt-size limit, shared by both modes; the message goes to err. */
static bool prompt_fits(const run_args *a, size_t len, char *err, size_t cap) {
    if (a->max_prompt_bytes <= 0 || len <= (size_t)a->max_prompt_bytes) return true;
    snprintf(err, cap, "prompt is %zu bytes, over the limit of %lld (--max-prompt-bytes)", len, a->max_prompt_bytes);
    return false;
}

static int run_one(weft_pipeline *p, const run_args *a) {
    size_t plen = a->prompt ? strlen(a->prompt) : 0;
    char *file_prompt = NULL;
    if (a->prompt_file && !(file_prompt = runner_read(a->prompt_file, &plen))) return EXIT_IO;
    char err[WEFT_ERR_CAP] = "";
    if (!prompt_fits(a, plen, err, sizeof err)) {
        fprintf(stderr, "weft: %s\n", err);
        free(file_prompt);
        return EXIT_RUNTIME;
    }
    weft_request req = {.prompt = file_prompt ? file_prompt : a->prompt, .prompt_len = plen, .max_tokens = a->max_tokens,
                        .seed = a->seed, .has_seed = a->has_seed, .on_text = stream_text};
    weft_result r;
    weft_status st = weft_generate(p, &req, &r, err, sizeof err);
    free(file_prompt);
    printf("\n");
    fflush(stdout); /* the text ends before the statistics start on stderr */
    int code = EXIT_OK;
    if (st != WEFT_OK) {
        fprintf(stderr, "weft: %s\n", err);
        code = EXIT_RUNTIME;
    }
    if (!a->quiet) {
        fprintf(stderr, "finish: %s\n", weft_finish_name(r.finish));
        weft_stats_print(&r.stats, stderr);
    }
    if (a->stats_json && write_stats_json(a->stats_json, &r.stats) != EXIT_OK) code = EXIT_IO;
    weft_result_free(&r);
    return code;
}

/* --resume: collects the ids already in the output file and cuts off a last
 * record that a crash left incomplete, so appending continues on a line
 * boundary. */
static int resume_scan(const char *path, batch_ids *done) {
    if (access(path, F_OK) != 0) return EXIT_OK; /* nothing done yet */
    size_t len, keep;
    char *text = runner_read(path, &len);
    if (!text) return EXIT_IO;
    bool ok = batch_ids_scan(done, text, len, &keep);
    free(text);
    if (!ok) {
        fprintf(stderr, "weft: out of memory reading %s\n", path);
        return EXIT_IO;
    }
    if (keep < len) {
        fprintf(stderr, "weft: %s: dropping %zu bytes after the last complete record\n", path, len - keep);
        if (truncate(path, (off_t)keep) != 0) {
            fprintf(stderr, "weft: cannot truncate %s: %s\n", path, strerror(errno));
            return EXIT_IO;
        }
    }
    return EXIT_OK;
}

/* Runs one parsed line into its record `o`; false when the line failed. */
static bool batch_generate(weft_pipeline *p, const run_args *a, const batch_item *it, cJSON *o, weft_stats *total) {
    char err[WEFT_ERR_CAP] = "";
    if (!prompt_fits(a, it->prompt_len, err, sizeof err)) {
        cJSON_AddStringToObject(o, "error", err);
        return false;
    }
    weft_request req = {.prompt = it->prompt, .prompt_len = it->prompt_len,
                        .max_tokens = it->max_tokens >= 0 ? it->max_tokens : a->max_tokens,
                        .seed = it->seed >= 0 ? it->seed : a->seed, .has_seed = it->seed >= 0 || a->has_seed};
    weft_result r;
    weft_status st = weft_generate(p, &req, &r, err, sizeof err);
    cJSON_AddStringToObject(o, "text", r.text ? r.text : "");
    cJSON_AddStringToObject(o, "finish", weft_finish_name(r.finish));
    if (st != WEFT_OK) cJSON_AddStringToObject(o, "error", err);
    char *sj = weft_stats_json(&r.stats);
    cJSON_AddItemToObject(o, "stats", cJSON_Parse(sj));
    free(sj);
    total->n_generated += r.stats.n_generated;
    total->seconds_decode += r.stats.seconds_decode;
    weft_result_free(&r);
    return st == WEFT_OK;
}

/* Rejects a regular input file over --max-input-bytes before any work. */
static bool input_fits(FILE *in, const run_args *a) {
    struct stat sb;
    if (a->max_input_bytes <= 0 || fstat(fileno(in), &sb) != 0 || !S_ISREG(sb.st_mode) ||
        sb.st_size <= a->max_input_bytes)
        return true;
    fprintf(stderr, "weft: %s is %lld bytes, over the limit of %lld (--max-input-bytes)\n", a->input,
            (long long)sb.st_size, a->max_input_bytes);
    return false;
}

/* One JSON object per line in, one record per line out, each written and
 * flushed before the next line starts: a killed run loses only the line in
 * progress, and --resume skips the ids already written. */
static int run_batch(weft_pipeline *p, const run_args *a) {
    bool to_stdout = !a->output || strcmp(a->output, "-") == 0;
    if (a->resume && to_stdout) {
        fprintf(stderr, "weft: --resume needs --output FILE\n");
        return EXIT_USAGE;
    }
    batch_ids done = {0};
    int code = a->resume ? resume_scan(a->output, &done) : EXIT_OK;
    if (code != EXIT_OK) return code;
    FILE *in = strcmp(a->input, "-") == 0 ? stdin : fopen(a->input, "r");
    if (!in) {
        fprintf(stderr, "weft: cannot open %s: %s\n", a->input, strerror(errno));
        batch_ids_free(&done);
        return EXIT_IO;
    }
    FILE *out = to_stdout ? stdout : fopen(a->output, a->resume ? "a" : "w");
    if (!out || !input_fits(in, a)) {
        if (!out) fprintf(stderr, "weft: cannot write %s: %s\n", a->output, strerror(errno));
        if (out && out != stdout) fclose(out);
        if (in != stdin) fclose(in);
        batch_ids_free(&done);
        return EXIT_IO;
    }
    catch_interrupts();
    char *line = NULL;
    size_t lcap = 0, n, consumed = 0;
    bool over, too_big = false, write_failed = false;
    long lineno = 0, failed = 0, ran = 0, skipped = 0;
    weft_stats total = {0};
    while (!interrupted && !write_failed && batch_read_line(in, &line, &lcap, (size_t)a->max_line_bytes, &n, &over, &consumed)) {
        lineno++;
        if (a->max_input_bytes > 0 && consumed > (size_t)a->max_input_bytes) {
            too_big = true; /* a stream: checked as it is read */
            break;
        }
        if (!over && strspn(line, " \t\r") == n) continue;
        batch_item it;
        char err[WEFT_ERR_CAP] = "", msg[WEFT_ERR_CAP + 256];
        bool parsed = !over && batch_parse_line(line, n, lineno, &it, err, sizeof err);
        if (over) {
            memset(&it, 0, sizeof it);
            char num[32];
            snprintf(num, sizeof num, "%ld", lineno);
            it.id = strdup(num);
            snprintf(err, sizeof err, "line is %zu bytes, over the limit of %lld (--max-line-bytes)", n, a->max_line_bytes);
        }
        if (it.id && batch_ids_has(&done, it.id)) {
            skipped++;
            batch_item_free(&it);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "id", it.id ? cJSON_Parse(it.id) : cJSON_CreateNumber((double)lineno));
        bool ok = parsed && batch_generate(p, a, &it, o, &total);
        if (!parsed) {
            snprintf(msg, sizeof msg, "%s:%ld: %s", a->input, lineno, err);
            cJSON_AddStringToObject(o, "error", msg);
        }
        failed += !ok;
        ran++;
        char *txt = cJSON_PrintUnformatted(o);
        write_failed = !txt || fprintf(out, "%s\n", txt) < 0 || fflush(out) != 0;
        free(txt);
        cJSON_Delete(o);
        batch_item_free(&it);
    }
    bool read_failed = !interrupted && ferror(in);
    free(line);
    batch_ids_free(&done);
    if (in != stdin) fclose(in);
    write_failed |= to_stdout ? fflush(out) != 0 : fclose(out) != 0;
    if (!a->quiet)
        fprintf(stderr, "batch: %ld lines, %ld failed, %ld already done, %lld tokens, %.1f tok/s decode\n", ran, failed,
                skipped, (long long)total.n_generated,
                total.seconds_decode > 0 ? (double)total.n_generated / total.seconds_decode : 0.0);
    if (too_big) fprintf(stderr, "weft: %s: input over the limit of %lld bytes (--max-input-bytes); stopped at line %ld\n",
                         a->input, a->max_input_bytes, lineno);
    if (write_failed) fprintf(stderr, "weft: cannot write %s: %s\n", to_stdout ? "stdout" : a->output, strerror(errno));
    if (read_failed) fprintf(stderr, "weft: cannot read %s: %s\n", a->input, strerror(errno));
    if (interrupted) {
        fprintf(stderr, "weft: interrupted after line %ld; run again with --resume to continue\n", lineno);
        return EXIT_INTERRUPTED;
    }
    if (write_failed || read_failed || too_big) return EXIT_IO;
    return failed ? EXIT_PARTIAL : EXIT_OK;
}

static const char run_help[] =
    "usage: weft run PIPELINE.json (-p PROMPT | --prompt-file F | --input IN.jsonl [--output OUT.jsonl]) [options]\n"
    "  -p, --prompt TEXT        the prompt; generated text goes to stdout\n"
    "      --prompt-file F      read the prompt from a file\n"
    "  -i, --input F.jsonl      batch: one {\"id\":..., \"prompt\":...} per line ('-' = stdin)\n"
    "  -o, --output F.jsonl     batch results, one line per input line, flushed per line\n"
    "      --resume             batch: keep OUT.jsonl's complete records and skip their ids\n"
    "      --max-prompt-bytes N refuse a longer prompt (default 1048576; 0: no limit)\n"
    "      --max-line-bytes N   batch: refuse a longer input line (default 16777216)\n"
    "      --max-input-bytes N  batch: refuse a larger input (default 0: no limit)\n"
    "  -n, --max-tokens N       override generate.max_tokens\n"
    "  -s, --seed N             override generate.seed\n"
    "  -t, --threads N          worker threads (default: the pipeline's, else all cores)\n"
    "  -m, --models DIR         model folder (default $WEFT_MODELS, else ../shared/models)\n"
    "  -P, --plugins DIR        extra plugin folder (also $WEFT_PLUGIN_PATH)\n"
    "  -S, --stats-json F       write the run's statistics as JSON\n"
    "  -q, --quiet              no statistics on stderr\n"
    "  -v, --verbose            report plugin problems and component logs\n"
    "batch: a failed line gets a record with \"error\" and the run goes on (exit 6 at the end);\n"
    "SIGINT or SIGTERM finishes the current line and exits 130.\n";

int cmd_run(int argc, char **argv) {
    run_args a;
    int code = parse_run_args(argc, argv, &a, run_help);
    if (code >= 0) return code;
    if (!a.input && !a.prompt && !a.prompt_file) {
        fprintf(stderr, "weft: give a prompt (-p), a prompt file (--prompt-file) or a batch (--input)\n");
        return EXIT_USAGE;
    }
    weft_registry *reg = NULL;
    weft_pipeline *p = load_pipeline(&a, &reg, &code);
    if (!p) return code;
    code = a.input ? run_batch(p, &a) : run_one(p, &a);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return code;
}

static const char check_help[] =
    "usage: weft check PIPELINE.json [-m MODELS] [-P PLUGINS] [-v]\n"
    "  validates the pipeline against the plugins' declared parameters; prints 'ok' or the\n"
    "  error with its JSON pointer; exit 0 when valid, 3 when not\n";

int cmd_check(int argc, char **argv) {
    run_args a;
    int code = parse_run_args(argc, argv, &a, check_help);
    if (code >= 0) return code;
    size_t len;
    char *json = runner_read(a.pipeline, &len);
    if (!json) return EXIT_IO;
    weft_registry *reg = runner_registry(a.plugins, a.verbose);
    weft_options opt = {.models_dir = a.models};
    char err[WEFT_ERR_CAP] = "";
    weft_status st = weft_pipeline_check(reg, json, len, a.pipeline, &opt, err, sizeof err);
    free(json);
    weft_registry_free(reg);
    if (st != WEFT_OK) {
        fprintf(stderr, "weft: %s: %s\n", a.pipeline, err);
        return EXIT_CONFIG;
    }
    printf("%s: ok\n", a.pipeline);
    return EXIT_OK;
}

static const char call_help[] =
    "usage: weft call PIPELINE.json COMPONENT ACTION [ARG...] [-m MODELS] [-P PLUGINS]\n"
    "  calls a declared action of the component at a JSON pointer (e.g. /drafter);\n"
    "  each ARG is JSON (42, 2.5, true, \"text\"); a bare word is taken as a string.\n"
    "  prints the action's result as JSON.\n";

int cmd_call(int argc, char **argv) {
    /* positional: PIPELINE COMPONENT ACTION ARGS... ; options anywhere before */
    run_args a;
    memset(&a, 0, sizeof a);
    int pos = 0;
    char *positional[64];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(call_help, stdout);
            return EXIT_OK;
        } else if ((strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--models") == 0) && i + 1 < argc) {
            a.models = argv[++i];
        } else if ((strcmp(argv[i], "-P") == 0 || strcmp(argv[i], "--plugins") == 0) && i + 1 < argc) {
            a.plugins = argv[++i];
        } else if (pos < 64) {
            positional[pos++] = argv[i];
        }
    }
    if (pos < 3) {
        fputs(call_help, stderr);
        return EXIT_USAGE;
    }
    a.pipeline = positional[0];
    int code;
    weft_registry *reg = NULL;
    weft_pipeline *p = load_pipeline(&a, &reg, &code);
    if (!p) return code;
    cJSON *args = cJSON_CreateArray();
    for (int i = 3; i < pos; i++) {
        cJSON *v = cJSON_Parse(positional[i]);
        cJSON_AddItemToArray(args, v ? v : cJSON_CreateString(positional[i]));
    }
    char *args_txt = cJSON_PrintUnformatted(args);
    char result[4096] = "", err[WEFT_ERR_CAP] = "";
    weft_status st = weft_pipeline_call(p, positional[1], positional[2], args_txt, result, sizeof result, err, sizeof err);
    free(args_txt);
    cJSON_Delete(args);
    if (st == WEFT_OK) printf("%s\n", result);
    else fprintf(stderr, "weft: %s\n", err);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    return st == WEFT_OK ? EXIT_OK : EXIT_CONFIG;
}
