/* UTF-8 and code point classes for the tokenizers. */
#ifndef WEFT_LLAMA_TOK_UNICODE_H
#define WEFT_LLAMA_TOK_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returned for a byte that does not start a valid UTF-8 sequence. */
#define UTF8_INVALID 0xffffffffu

typedef enum cpt_class {
    CPT_OTHER = 0,
    CPT_LETTER = 1, /* \p{L} */
    CPT_NUMBER = 2, /* \p{N} */
    CPT_SPACE = 3,  /* \s */
} cpt_class;

/* Decodes one code point from s (len >= 1 bytes); *n gets its byte length.
 * Invalid or truncated sequences yield UTF8_INVALID with *n = 1. */
uint32_t utf8_decode(const uint8_t *s, size_t len, size_t *n);
/* Writes cp (<= 0x10FFFF) as UTF-8 into out (4 bytes room); returns length. */
size_t utf8_encode(uint32_t cp, char *out);
cpt_class cpt_classify(uint32_t cp);

#endif
