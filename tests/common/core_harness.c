#include "core_harness.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "markov_model.h"

extern char **environ;

const char *th_fixture_path(char *buf, size_t cap, const char *file) {
    snprintf(buf, cap, "%s/%s", WEFT_TEST_FIXTURE_DIR, file);
    return buf;
}

const char *th_builtin_path(char *buf, size_t cap, const char *file) {
    snprintf(buf, cap, "%s/%s", WEFT_TEST_PLUGIN_DIR, file);
    return buf;
}

weft_registry *th_registry(void) {
    weft_registry *reg = weft_registry_new();
    cr_assert_not_null(reg);
    char problems[4096] = "";
    weft_registry_scan(reg, WEFT_TEST_PLUGIN_DIR, problems, sizeof problems);
    weft_registry_scan(reg, WEFT_TEST_FIXTURE_DIR, problems, sizeof problems);
    cr_assert_str_empty(problems, "plugins refused: %s", problems);
    cr_assert_not_null(weft_registry_find(reg, WEFT_KIND_VERIFIER, "speculative-sampling"),
                       "no builtin plugins in %s", WEFT_TEST_PLUGIN_DIR);
    cr_assert_not_null(weft_registry_find(reg, WEFT_KIND_BACKEND, "markov"), "no markov backend in %s",
                       WEFT_TEST_FIXTURE_DIR);
    return reg;
}

weft_pipeline *th_pipeline(weft_registry *reg, const char *fmt, ...) {
    char json[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(json, sizeof json, fmt, ap);
    va_end(ap);
    cr_assert(n > 0 && (size_t)n < sizeof json, "pipeline text too long");
    char err[WEFT_ERR_CAP] = "";
    weft_pipeline *p = weft_pipeline_new(reg, json, (size_t)n, "test", NULL, err, sizeof err);
    cr_assert_not_null(p, "pipeline refused: %s\n%s", err, json);
    return p;
}

void th_generate(weft_pipeline *p, const char *prompt, int64_t max_tokens, int64_t seed, weft_result *out) {
    weft_request req = {.prompt = prompt, .prompt_len = strlen(prompt), .max_tokens = max_tokens,
                        .seed = seed, .has_seed = seed >= 0};
    char err[WEFT_ERR_CAP] = "";
    weft_status st = weft_generate(p, &req, out, err, sizeof err);
    cr_assert_eq(st, WEFT_OK, "generate(\"%s\") failed (%s): %s", prompt, weft_status_name(st), err);
}

int64_t th_call_int(weft_pipeline *p, const char *component, const char *action) {
    char result[64] = "", err[WEFT_ERR_CAP] = "";
    weft_status st = weft_pipeline_call(p, component, action, "[]", result, sizeof result, err, sizeof err);
    cr_assert_eq(st, WEFT_OK, "%s %s: %s", component, action, err);
    char *end;
    long long v = strtoll(result, &end, 10);
    cr_assert(end != result && *end == 0, "%s %s returned '%s', not an integer", component, action, result);
    return v;
}

/* ---- files and the CLI ---- */

const char *th_tmp_dir(void) {
    static char dir[1024];
    static pid_t owner;
    if (!*dir || owner != getpid()) { /* Criterion forks: one folder per test process */
        char base[900];
        snprintf(base, sizeof base, "%s/core-tests-tmp", WEFT_TEST_BUILD_DIR);
        mkdir(base, 0755);
        snprintf(dir, sizeof dir, "%s/XXXXXX", base);
        cr_assert_not_null(mkdtemp(dir), "cannot create a folder under %s", base);
        owner = getpid();
    }
    return dir;
}

char *th_write_file(const char *name, const char *text) {
    char *path = malloc(2048);
    cr_assert_not_null(path);
    snprintf(path, 2048, "%s/%s", th_tmp_dir(), name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    return path;
}

char *th_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf) buf[n] = 0;
    return buf;
}

void th_cli(th_cmd *c, const char *const *args) {
    static int serial;
    char exe[1024], out_path[2048], err_path[2048];
    snprintf(exe, sizeof exe, "%s/weft", WEFT_TEST_BUILD_DIR);
    snprintf(out_path, sizeof out_path, "%s/cli-%d.out", th_tmp_dir(), serial);
    snprintf(err_path, sizeof err_path, "%s/cli-%d.err", th_tmp_dir(), serial++);
    const char *argv[64] = {exe};
    size_t n = 1;
    for (; args[n - 1]; n++) {
        cr_assert_lt(n, 63, "too many arguments");
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s: %s", exe, strerror(rc));
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    c->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    c->out = th_read_file(out_path);
    c->err = th_read_file(err_path);
    cr_assert(c->out && c->err, "cannot read the output of %s", exe);
}

void th_cmd_free(th_cmd *c) {
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
}

/* ---- the Markov model ---- */

void th_markov_probs(const th_markov *m, int32_t a, int32_t b, double *p) {
    float logits[MARKOV_MAX_VOCAB];
    markov_logits(m->seed, m->sharpness, m->eos_logit, m->n_vocab, a, b, logits);
    double mx = -INFINITY, sum = 0;
    for (int32_t t = 0; t < m->n_vocab; t++) mx = fmax(mx, logits[t]);
    for (int32_t t = 0; t < m->n_vocab; t++) sum += p[t] = exp((double)logits[t] - mx);
    for (int32_t t = 0; t < m->n_vocab; t++) p[t] /= sum;
}

size_t th_markov_greedy(const th_markov *m, const char *prompt, size_t max_tokens, int32_t *out, bool *eos) {
    size_t len = strlen(prompt);
    for (size_t i = 0; i < len; i++)
        cr_assert_geq(markov_token_of((unsigned char)prompt[i], m->n_vocab), 2, "prompt \"%s\" is not in the vocabulary", prompt);
    int32_t a = len ? (len > 1 ? markov_token_of((unsigned char)prompt[len - 2], m->n_vocab) : MARKOV_BOS) : -1;
    int32_t b = len ? markov_token_of((unsigned char)prompt[len - 1], m->n_vocab) : MARKOV_BOS;
    *eos = false;
    size_t n = 0;
    while (n < max_tokens) {
        float logits[MARKOV_MAX_VOCAB];
        markov_logits(m->seed, m->sharpness, m->eos_logit, m->n_vocab, a, b, logits);
        int32_t best = 0;
        for (int32_t t = 1; t < m->n_vocab; t++)
            if (logits[t] > logits[best]) best = t; /* the lowest id wins ties */
        if (best == MARKOV_EOS) {
            *eos = true;
            break;
        }
        out[n++] = best;
        a = b;
        b = best;
    }
    return n;
}

void th_markov_text(const int32_t *ids, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) out[i] = markov_char_of(ids[i]);
    out[n] = 0;
}

void th_random_prompt(uint64_t *state, int32_t n_vocab, size_t len, char *out) {
    for (size_t i = 0; i < len; i++) {
        *state = markov_mix(*state);
        out[i] = markov_alphabet()[*state % (uint64_t)(n_vocab - 2)];
    }
    out[len] = 0;
}
