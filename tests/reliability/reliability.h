/* Helpers of the reliability tests: batch records compared without their
 * timings, and the runner as a child whose stdin the test feeds. */
#ifndef WEFT_TEST_RELIABILITY_H
#define WEFT_TEST_RELIABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The Markov pipeline most tests use: a drafter, a sampled chain and
 * speculative sampling, so every kind but grammar and kv takes part. */
#define REL_MARKOV_PIPELINE                                                                          \
    "{\"backend\": {\"use\": \"markov\", \"n_vocab\": 16, \"n_ctx\": 256, \"eos_logit\": -8},"      \
    " \"drafter\": {\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2},"                        \
    " \"samplers\": [{\"use\": \"top-k\", \"k\": 8}, {\"use\": \"temperature\", \"t\": 1.0}],"       \
    " \"generate\": {\"max_tokens\": 24, \"seed\": 7}}"

/* An output file's records as "id|finish|text|error" lines (no stats: they
 * hold timings), malloc'd; NULL if the file is missing. Asserts that every
 * line is a complete record. *n gets the count. */
char *rel_records(const char *path, size_t *n);

/* <weft> ARGS with stdin a pipe the test writes: rel_spawn returns the
 * child's pid and the pipe's write end in *in_fd; output goes to files
 * under the test's tmp dir. */
pid_t rel_spawn(const char *const *args, int *in_fd);
/* Waits for the child; its exit code, or -1 if it did not exit. */
int rel_wait(pid_t pid);
/* Waits (up to ~20 s) until the file holds at least n complete lines. */
bool rel_wait_lines(const char *path, size_t n);

/* A monotonic clock in seconds. */
double rel_seconds(void);

#endif
