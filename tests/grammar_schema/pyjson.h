/* JSON instances as MaskBench feeds them to a grammar: re-serialized from
 * the raw text of a test file the way Python's
 *   json.dumps(value, indent=None, ensure_ascii=False)
 * writes them (jsonschemabench maskbench/runner.py), or with compact
 * separators. Works on the raw text, because a parsed double loses whether
 * a number was written as an integer (1) or a float (1.0), which both
 * Python and JSON Schema's "integer" tell apart in the text. */
#ifndef WEFT_TEST_PYJSON_H
#define WEFT_TEST_PYJSON_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pj_buf {
    char *s;
    size_t n, cap;
} pj_buf;

void pj_buf_free(pj_buf *b);

typedef enum pj_style {
    PJ_PYTHON,  /* ", " and ": " separators (json.dumps' defaults) */
    PJ_COMPACT, /* "," and ":" */
} pj_style;

/* Re-serializes the JSON value starting at text[*pos] (whitespace first is
 * skipped) into out (appended, NUL-terminated); *pos ends after it. False
 * on malformed input, or on a value Python could not write as UTF-8 JSON
 * (a lone surrogate, a number overflowing to infinity). */
bool pj_dump(const char *text, size_t len, size_t *pos, pj_style style, pj_buf *out);

/* Skips the JSON value at text[*pos]. */
bool pj_skip(const char *text, size_t len, size_t *pos);

/* With *pos at an object: moves *pos to the value of member `key`. */
bool pj_member(const char *text, size_t len, size_t *pos, const char *key);

/* With *pos at an array: moves *pos to its item i. */
bool pj_item(const char *text, size_t len, size_t *pos, size_t i);

#endif
