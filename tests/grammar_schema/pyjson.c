#include "pyjson.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pj_buf_free(pj_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

static bool put(pj_buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n + 1) c *= 2;
        char *p = realloc(b->s, c);
        if (!p) return false;
        b->s = p;
        b->cap = c;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return true;
}

static bool puts_(pj_buf *b, const char *s) { return put(b, s, strlen(s)); }

static void skip_ws(const char *t, size_t len, size_t *p) {
    while (*p < len && (t[*p] == ' ' || t[*p] == '\t' || t[*p] == '\n' || t[*p] == '\r')) (*p)++;
}

static int hexv(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool hex4(const char *t, size_t len, size_t p, uint32_t *out) {
    if (p + 4 > len) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexv(t[p + i]);
        if (h < 0) return false;
        v = v << 4 | (uint32_t)h;
    }
    *out = v;
    return true;
}

static bool put_cp(pj_buf *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)), u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    return put(b, u, n);
}

/* One decoded character, written the way json.dumps(ensure_ascii=False)
 * writes it: the escapes of ESCAPE_DCT, \u00xx for other controls. */
static bool put_char(pj_buf *b, uint32_t cp) {
    switch (cp) {
    case '"': return puts_(b, "\\\"");
    case '\\': return puts_(b, "\\\\");
    case '\n': return puts_(b, "\\n");
    case '\r': return puts_(b, "\\r");
    case '\t': return puts_(b, "\\t");
    case '\b': return puts_(b, "\\b");
    case '\f': return puts_(b, "\\f");
    default: break;
    }
    if (cp < 0x20) {
        char e[8];
        snprintf(e, sizeof e, "\\u%04x", cp);
        return puts_(b, e);
    }
    return put_cp(b, cp);
}

static bool dump_string(const char *t, size_t len, size_t *p, pj_buf *b) {
    if (!puts_(b, "\"")) return false;
    (*p)++;
    while (*p < len && t[*p] != '"') {
        unsigned char c = (unsigned char)t[*p];
        if (c < 0x20) return false;
        if (c != '\\') {
            /* raw UTF-8: copy one character */
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (*p + n > len || !put(b, t + *p, n)) return false;
            *p += n;
            continue;
        }
        if (*p + 1 >= len) return false;
        char e = t[*p + 1];
        *p += 2;
        uint32_t cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            if (!hex4(t, len, *p, &cp)) return false;
            *p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
                uint32_t lo;
                if (*p + 6 > len || t[*p] != '\\' || t[*p + 1] != 'u' || !hex4(t, len, *p + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return false; /* a lone surrogate: Python could not encode it to UTF-8 */
                *p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return false;
            }
            break;
        }
        default: return false;
        }
        if (!put_char(b, cp)) return false;
    }
    if (*p >= len) return false;
    (*p)++;
    return puts_(b, "\"");
}

/* Python's repr(float): the shortest digits that read back, positional
 * when the decimal point falls in (-4, 16], else d.ddde+XX. */
static bool put_float(pj_buf *b, double x) {
    if (!isfinite(x)) return false; /* json.dumps would write Infinity: not JSON */
    if (x == 0) return puts_(b, signbit(x) ? "-0.0" : "0.0");
    char buf[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
    char digits[32];
    size_t nd = 0;
    const char *q = buf;
    bool neg = *q == '-';
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    int decpt = atoi(q + 1) + 1; /* value = 0.digits * 10^decpt */
    char out[400];
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out[o++] = '0', out[o++] = '.';
            for (int i = 0; i < -decpt; i++) out[o++] = '0';
            for (size_t i = 0; i < nd; i++) out[o++] = digits[i];
        } else {
            for (int i = 0; i < decpt; i++) out[o++] = (size_t)i < nd ? digits[i] : '0';
            out[o++] = '.';
            if ((size_t)decpt < nd)
                for (size_t i = (size_t)decpt; i < nd; i++) out[o++] = digits[i];
            else
                out[o++] = '0';
        }
        out[o] = 0;
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t i = 1; i < nd; i++) out[o++] = digits[i];
        }
        int e = decpt - 1;
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    return put(b, out, o);
}

static bool dump_number(const char *t, size_t len, size_t *p, pj_buf *b) {
    size_t s = *p;
    bool is_float = false;
    if (*p < len && t[*p] == '-') (*p)++;
    if (*p >= len || t[*p] < '0' || t[*p] > '9') return false;
    while (*p < len && ((t[*p] >= '0' && t[*p] <= '9') || t[*p] == '.' || t[*p] == 'e' || t[*p] == 'E' ||
                        t[*p] == '+' || t[*p] == '-')) {
        is_float |= t[*p] == '.' || t[*p] == 'e' || t[*p] == 'E';
        (*p)++;
    }
    char lex[512];
    size_t n = *p - s;
    if (n >= sizeof lex) return false;
    memcpy(lex, t + s, n);
    lex[n] = 0;
    if (is_float) return put_float(b, strtod(lex, NULL));
    /* Python int: exact digits; -0 is 0 */
    return puts_(b, strcmp(lex, "-0") == 0 ? "0" : lex);
}

static bool dump(const char *t, size_t len, size_t *p, pj_style st, pj_buf *b, int depth) {
    skip_ws(t, len, p);
    if (*p >= len || depth > 512) return false;
    const char *comma = st == PJ_PYTHON ? ", " : ",", *colon = st == PJ_PYTHON ? ": " : ":";
    char c = t[*p];
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        char close = obj ? '}' : ']';
        (*p)++;
        if (!put(b, &c, 1)) return false;
        skip_ws(t, len, p);
        if (*p < len && t[*p] == close) {
            (*p)++;
            return put(b, &close, 1);
        }
        for (bool first = true;; first = false) {
            if (!first && !puts_(b, comma)) return false;
            if (obj) {
                skip_ws(t, len, p);
                if (*p >= len || t[*p] != '"' || !dump_string(t, len, p, b)) return false;
                skip_ws(t, len, p);
                if (*p >= len || t[*p] != ':') return false;
                (*p)++;
                if (!puts_(b, colon)) return false;
            }
            if (!dump(t, len, p, st, b, depth + 1)) return false;
            skip_ws(t, len, p);
            if (*p < len && t[*p] == ',') {
                (*p)++;
                continue;
            }
            if (*p < len && t[*p] == close) {
                (*p)++;
                return put(b, &close, 1);
            }
            return false;
        }
    }
    if (c == '"') return dump_string(t, len, p, b);
    if (c == '-' || (c >= '0' && c <= '9')) return dump_number(t, len, p, b);
    static const char *const WORDS[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(WORDS[i]);
        if (*p + n <= len && memcmp(t + *p, WORDS[i], n) == 0) {
            *p += n;
            return puts_(b, WORDS[i]);
        }
    }
    return false;
}

bool pj_dump(const char *text, size_t len, size_t *pos, pj_style style, pj_buf *out) {
    if (!puts_(out, "")) return false;
    return dump(text, len, pos, style, out, 0);
}

bool pj_skip(const char *text, size_t len, size_t *pos) {
    pj_buf scratch = {0};
    bool ok = dump(text, len, pos, PJ_COMPACT, &scratch, 0);
    pj_buf_free(&scratch);
    return ok;
}

bool pj_member(const char *t, size_t len, size_t *p, const char *key) {
    skip_ws(t, len, p);
    if (*p >= len || t[*p] != '{') return false;
    (*p)++;
    for (;;) {
        skip_ws(t, len, p);
        if (*p >= len || t[*p] != '"') return false;
        pj_buf k = {0};
        bool ok = dump_string(t, len, p, &k);
        /* compare the decoded-and-reencoded key with "key" */
        bool hit = ok && k.n == strlen(key) + 2 && memcmp(k.s + 1, key, k.n - 2) == 0;
        pj_buf_free(&k);
        if (!ok) return false;
        skip_ws(t, len, p);
        if (*p >= len || t[*p] != ':') return false;
        (*p)++;
        skip_ws(t, len, p);
        if (hit) return true;
        if (!pj_skip(t, len, p)) return false;
        skip_ws(t, len, p);
        if (*p < len && t[*p] == ',') {
            (*p)++;
            continue;
        }
        return false;
    }
}

bool pj_item(const char *t, size_t len, size_t *p, size_t i) {
    skip_ws(t, len, p);
    if (*p >= len || t[*p] != '[') return false;
    (*p)++;
    for (size_t k = 0;; k++) {
        skip_ws(t, len, p);
        if (k == i) return *p < len && t[*p] != ']';
        if (!pj_skip(t, len, p)) return false;
        skip_ws(t, len, p);
        if (*p < len && t[*p] == ',') {
            (*p)++;
            continue;
        }
        return false;
    }
}
