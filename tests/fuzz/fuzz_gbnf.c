/* libFuzzer target: the GBNF parser and compiler on arbitrary text (with
 * small limits, so slow inputs end as errors), then the compiled grammar's
 * matcher and masks checked against each other (grammar_fuzz.h). The input
 * is the grammar; its rule `root` is compiled, and the text after the first
 * line starting with "#--" is fed to the matcher. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gbnf_parse.h"
#include "grammar_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *sep = NULL;
    for (size_t i = 0; i + 3 <= size && !sep; i++)
        if ((i == 0 || data[i - 1] == '\n') && !memcmp(data + i, "#--", 3)) sep = data + i;
    size_t glen = sep ? (size_t)(sep - data) : size;
    wg_error err;
    wg_limits lim = {.max_states = 20000, .max_ms = 200, .max_stacks = 500};
    wg_grammar *g = gbnf_compile((const char *)data, glen, "root", &lim, &err);
    if (!g) {
        if (!memchr(err.msg, 0, sizeof err.msg) || !err.msg[0]) abort(); /* every failure says why */
        return 0;
    }
    if (sep) fuzz_exercise(g, sep + 3, size - glen - 3);
    else fuzz_exercise(g, (const uint8_t *)"", 0);
    wg_grammar_free(g);
    return 0;
}
