/* Continuations by n-gram lookup in the text so far (sdk.h,
 * weft_lookup_continuation): prompt lookup decoding (Saxena 2023), shared by
 * the prompt-lookup drafter and the guesses of model drafters. */
#include <string.h>

#include "weft/sdk.h"

/* Start of the most recent occurrence of the last n tokens of h[0..len)
 * that ends before the suffix itself does, or -1. Overlapping the suffix is
 * allowed (runs of one token), and at least one token follows it. */
static ptrdiff_t find_latest(const weft_token *h, size_t len, size_t n) {
    if (len < n + 1) return -1;
    const weft_token *suffix = h + len - n;
    for (size_t s = len - n; s-- > 0;)
        if (memcmp(h + s, suffix, n * sizeof *h) == 0) return (ptrdiff_t)s;
    return -1;
}

size_t weft_lookup_continuation(const weft_token *h, size_t len, size_t min_n, size_t max_n, size_t max,
                                size_t *from) {
    if (max == 0 || min_n == 0) return 0;
    for (size_t n = max_n; n >= min_n; n--) {
        ptrdiff_t at = find_latest(h, len, n);
        if (at < 0) continue;
        *from = (size_t)at + n; /* < len */
        return len - *from < max ? len - *from : max;
    }
    return 0;
}
