/* GBNF (llama.cpp's grammar format, grammars/README.md there) to the engine's
 * IR. Shared by the gbnf plugin, its tests and its fuzzer. */
#ifndef WEFT_GBNF_PARSE_H
#define WEFT_GBNF_PARSE_H

#include "grammar.h"

/* Parses text[0..len) and defines every rule it names in b. Returns false
 * with "LINE:COL: message" in err on a syntax error, a rule defined twice or
 * a reference to an undefined rule. */
bool gbnf_parse(wg_builder *b, const char *text, size_t len, wg_error *err);

/* gbnf_parse, then wg_compile from the rule named `root`. */
wg_grammar *gbnf_compile(const char *text, size_t len, const char *root, const wg_limits *lim, wg_error *err);

#endif
