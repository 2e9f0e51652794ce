/* libFuzzer target: the regex front-end (ECMA-262 subset) on arbitrary
 * patterns, anchored or not (first byte), compiled with small limits, then
 * the grammar's matcher and masks checked against each other
 * (grammar_fuzz.h) along the text after the first NUL byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grammar_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    bool anchored = data[0] & 1;
    const uint8_t *nul = memchr(data + 1, 0, size - 1);
    size_t plen = nul ? (size_t)(nul - data - 1) : size - 1;
    char *pattern = malloc(plen + 1);
    if (!pattern) return 0;
    memcpy(pattern, data + 1, plen);
    pattern[plen] = 0;
    wg_builder *b = wg_builder_new();
    wg_error err;
    err.msg[0] = 0;
    wg_expr e = wg_regex_to_ir(b, pattern, anchored, &err);
    wg_grammar *g = NULL;
    if (e >= 0) {
        wg_rule r = wg_rule_named(b, "pattern");
        wg_rule_define(b, r, e);
        g = wg_compile(b, r, &(wg_limits){.max_states = 4000, .max_ms = 50, .max_stacks = 500}, &err);
    }
    if (!g && !err.msg[0]) abort(); /* every failure says why */
    if (g) fuzz_exercise(g, nul ? nul + 1 : (const uint8_t *)"", nul ? size - plen - 2 : 0);
    wg_grammar_free(g);
    wg_builder_free(b);
    free(pattern);
    return 0;
}
