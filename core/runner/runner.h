/* The weft runner's verbs. */
#ifndef WEFT_RUNNER_H
#define WEFT_RUNNER_H

#include <weft/weft.h>

/* Exit codes (documented in README.md and `weft --help`). */
enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,     /* generation failed */
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_CONFIG = 3,      /* pipeline invalid */
    EXIT_PLUGIN = 4,      /* plugin missing or refused */
    EXIT_IO = 5,          /* a file could not be read or written */
    EXIT_PARTIAL = 6,     /* batch finished, some lines failed */
    EXIT_MISMATCH = 7,    /* bench: a lossless pipeline's output differed from plain decoding */
    EXIT_INTERRUPTED = 130,
};

typedef struct runner_opts {
    const char *models_dir;
    const char *plugin_dir;
    int threads;
    bool verbose;
} runner_opts;

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_call(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Loads plugins from the default path (+ extra dir); prints problems when
 * verbose. NULL only on out-of-memory. */
weft_registry *runner_registry(const char *extra_dir, bool verbose);
/* weft_pipeline_new that prints the error and sets the exit code
 * (EXIT_PLUGIN for an unknown component, else EXIT_CONFIG). */
weft_pipeline *runner_pipeline_new(weft_registry *reg, const char *json, size_t len, const char *origin,
                                   const weft_options *opt, int *code);
/* Reads a pipeline file; prints the error and returns NULL on failure. */
char *runner_read(const char *path, size_t *len);

#endif
