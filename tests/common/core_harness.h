/* Shared helpers for the core's tests (tests/core): a registry with the
 * builtin and test plugins, pipelines from JSON, the `weft` CLI as a child
 * process, and an independent reference for the Markov backend
 * (tests/markov/markov_model.h) to compare the decode loop against. */
#ifndef WEFT_TEST_CORE_HARNESS_H
#define WEFT_TEST_CORE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/weft.h>

/* ---- plugins and pipelines ---------------------------------------------- */

/* <test plugin dir>/<file> into buf. */
const char *th_fixture_path(char *buf, size_t cap, const char *file);
/* <builtin plugin dir>/<file> into buf. */
const char *th_builtin_path(char *buf, size_t cap, const char *file);

/* A registry holding every builtin plugin and every weft-*.so test plugin;
 * asserts that nothing was refused. */
weft_registry *th_registry(void);

/* weft_pipeline_new from a printf-style JSON text; asserts success and shows
 * the error (and the JSON) otherwise. */
weft_pipeline *th_pipeline(weft_registry *reg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* weft_generate with a prompt, max_tokens (< 0: the pipeline's) and seed
 * (< 0: the pipeline's); asserts success. */
void th_generate(weft_pipeline *p, const char *prompt, int64_t max_tokens, int64_t seed, weft_result *out);

/* A declared action with no arguments whose result is an integer. */
int64_t th_call_int(weft_pipeline *p, const char *component, const char *action);

/* ---- files and the CLI -------------------------------------------------- */

/* A fresh folder for this process's files (under the build tree). */
const char *th_tmp_dir(void);
/* Writes text to <tmp dir>/<name>; returns the path (malloc'd). */
char *th_write_file(const char *name, const char *text);
/* The whole file, malloc'd and NUL-terminated; NULL if unreadable. */
char *th_read_file(const char *path);

typedef struct th_cmd {
    int code;  /* exit status, or -1 if it did not exit normally */
    char *out; /* stdout */
    char *err; /* stderr */
} th_cmd;

/* Runs <build dir>/weft with the NULL-terminated argv (without argv[0]). */
void th_cli(th_cmd *c, const char *const *args);
void th_cmd_free(th_cmd *c);

/* ---- the Markov model, computed independently of the decode loop -------- */

typedef struct th_markov {
    int64_t seed;
    double sharpness, eos_logit;
    int32_t n_vocab;
} th_markov;

/* The backend's defaults. */
#define TH_MARKOV_DEFAULT ((th_markov){.seed = 1, .sharpness = 3, .eos_logit = -4, .n_vocab = 16})

/* p(next | a, b) in double, softmax of markov_logits. */
void th_markov_probs(const th_markov *m, int32_t a, int32_t b, double *p);

/* Greedy decoding of the prompt (BOS first, as add_bos does) one token at a
 * time: up to max_tokens ids into out (EOS not included); returns the count
 * and sets *eos when EOS ended it. */
size_t th_markov_greedy(const th_markov *m, const char *prompt, size_t max_tokens, int32_t *out, bool *eos);

/* Text of ids (characters only). */
void th_markov_text(const int32_t *ids, size_t n, char *out);

/* A pseudo-random prompt of len characters from the first n_vocab - 2 of the
 * alphabet; *state advances. */
void th_random_prompt(uint64_t *state, int32_t n_vocab, size_t len, char *out);

#endif
