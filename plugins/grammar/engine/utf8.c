/* Unicode scalar ranges as UTF-8 byte-range sequences (RFC 3629 §3), so a
 * character class becomes a byte automaton and a token may end inside a
 * character. The split follows the usual construction (as in RE2 and Rust's
 * regex-syntax): cut a range where the encoded length changes, then where
 * the continuation bytes stop covering their whole 0x80..0xBF span. */
#include "internal.h"

size_t wg_utf8_encode(uint32_t c, uint8_t *buf) {
    if (c < 0x80) {
        buf[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        buf[0] = (uint8_t)(0xC0 | (c >> 6));
        buf[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        buf[0] = (uint8_t)(0xE0 | (c >> 12));
        buf[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        buf[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    buf[0] = (uint8_t)(0xF0 | (c >> 18));
    buf[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    buf[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    buf[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

static size_t split(uint32_t lo, uint32_t hi, wg_utf8_seq *out, size_t k) {
    static const uint32_t bound[] = {0x7F, 0x7FF, 0xFFFF};
    for (size_t i = 0; i < 3; i++)
        if (lo <= bound[i] && hi > bound[i]) {
            k = split(lo, bound[i], out, k);
            return split(bound[i] + 1, hi, out, k);
        }
    if (hi < 0x80) {
        out[k++] = (wg_utf8_seq){.n = 1, .lo = {(uint8_t)lo}, .hi = {(uint8_t)hi}};
        return k;
    }
    for (uint32_t i = 1; i < 4; i++) {
        uint32_t m = (1u << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                k = split(lo, lo | m, out, k);
                return split((lo | m) + 1, hi, out, k);
            }
            if ((hi & m) != m) {
                k = split(lo, (hi & ~m) - 1, out, k);
                return split(hi & ~m, hi, out, k);
            }
        }
    }
    uint8_t a[4], b[4];
    size_t n = wg_utf8_encode(lo, a);
    wg_utf8_encode(hi, b);
    wg_utf8_seq s = {.n = (uint8_t)n};
    for (size_t j = 0; j < n; j++) s.lo[j] = a[j], s.hi[j] = b[j];
    out[k++] = s;
    return k;
}

size_t wg_utf8_sequences(uint32_t lo, uint32_t hi, wg_utf8_seq *out) { return split(lo, hi, out, 0); }
