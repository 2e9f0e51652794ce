/* weft-maskbench: the MaskBench report (maskbench.h) from the command line.
 *   weft-maskbench [--dir DIR] [--vocab GGUF]... [--no-tokens] [--compact]
 *                  [--every N] [--limit N] [--timing] [--cache-ms MS] [--json FILE]
 *                  [--log FILE|-]
 * --cache-ms: the token-mask cache's precomputation budget per schema (0:
 * none, every mask by a trie walk; default 50).
 * Defaults: the maskbench-dev folder of the test data, the llama-spm and
 * gpt-2 vocabularies of the models folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maskbench.h"
#include "test_paths.h"

static void usage(void) {
    fprintf(stderr, "usage: weft-maskbench [--dir DIR] [--vocab GGUF]... [--no-tokens] [--compact] [--every N] "
                    "[--limit N] [--timing] [--cache-ms MS] [--json FILE] [--log FILE|-]\n");
    exit(2);
}

int main(int argc, char **argv) {
    static char dir[4096], spm[4096], gpt2[4096];
    snprintf(dir, sizeof dir, "%s/maskbench-dev", test_testdata_dir());
    mb_opts o = {.dir = dir, .cache_ms = 50};
    const char *json = NULL;
    bool tokens = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_arg = i + 1 < argc;
        if (!strcmp(a, "--dir") && has_arg) o.dir = argv[++i];
        else if (!strcmp(a, "--vocab") && has_arg && o.n_vocabs < MB_MAX_VOCABS) o.vocabs[o.n_vocabs++] = argv[++i];
        else if (!strcmp(a, "--no-tokens")) tokens = false;
        else if (!strcmp(a, "--compact")) o.compact = true;
        else if (!strcmp(a, "--every") && has_arg) o.every = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--limit") && has_arg) o.limit = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--timing")) o.timing = true;
        else if (!strcmp(a, "--cache-ms") && has_arg) o.cache_ms = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--json") && has_arg) json = argv[++i];
        else if (!strcmp(a, "--log") && has_arg) {
            const char *f = argv[++i];
            o.log = strcmp(f, "-") ? fopen(f, "w") : stdout;
            if (!o.log) usage();
        } else usage();
    }
    if (tokens && o.n_vocabs == 0) {
        o.vocabs[o.n_vocabs++] = test_model_path(spm, sizeof spm, "ggml-vocab-llama-spm.gguf");
        o.vocabs[o.n_vocabs++] = test_model_path(gpt2, sizeof gpt2, "ggml-vocab-gpt-2.gguf");
    }
    if (!tokens) o.n_vocabs = 0;
    mb_result r;
    if (!mb_run(&o, &r)) return 1;
    mb_print(stdout, &o, &r);
    if (json && !mb_write_json(json, &o, &r)) {
        fprintf(stderr, "weft-maskbench: cannot write %s\n", json);
        return 5;
    }
    if (o.log && o.log != stdout) fclose(o.log);
    return 0;
}
