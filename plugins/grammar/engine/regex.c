/* Regular expressions (the ECMA-262 subset JSON Schema `pattern` uses,
 * JSON Schema 2020-12 core §6.4 and json-schema.org's "regular expressions"
 * recommendations) to the engine's IR. Everything the subset leaves out is
 * refused with the construct's name and byte offset, never ignored:
 * backreferences, lookaround, word boundaries, Unicode property escapes,
 * inline flags. Lazy quantifiers match the same strings as greedy ones, so
 * they are accepted as greedy (only the set of matching strings matters for
 * a constraint). */
#include "internal.h"

#define MAX_DEPTH 200
#define MAX_COUNT 10000

typedef struct rx {
    wg_builder *b;
    wg_char_map map;
    void *map_ctx;
    const char *s;
    size_t i, n;
    wg_error *err;
    bool failed;
    int depth;
} rx;

static wg_expr rfail(rx *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static wg_expr rfail(rx *r, size_t at, const char *fmt, ...) {
    if (!r->failed) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        wg_set_error(r->err, "regex offset %zu: %s", at, msg);
    }
    r->failed = true;
    return -1;
}

static int peek(const rx *r, size_t k) { return r->i + k < r->n ? (unsigned char)r->s[r->i + k] : -1; }

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* ---- character sets ---- */

typedef struct cset {
    uint32_t *r; /* pairs */
    size_t n, cap;
} cset;

static bool cs_add(cset *c, uint32_t lo, uint32_t hi) {
    if (2 * c->n + 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        uint32_t *nr = realloc(c->r, cap * sizeof *nr);
        if (!nr) return false;
        c->r = nr;
        c->cap = cap;
    }
    c->r[2 * c->n] = lo;
    c->r[2 * c->n + 1] = hi;
    c->n++;
    return true;
}

/* \d \s \w (ECMA-262 §22.2.2.9: WhiteSpace and LineTerminator for \s). */
static const uint32_t DIGIT[] = {'0', '9'};
static const uint32_t WORD[] = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
static const uint32_t SPACE[] = {0x09, 0x0D, 0x20, 0x20, 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
                                 0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF};
/* `.`: anything but a LineTerminator (§22.2.2.7, no `s` flag). */
static const uint32_t LINE_TERM[] = {0x0A, 0x0A, 0x0D, 0x0D, 0x2028, 0x2029};

typedef struct named_set {
    const uint32_t *r;
    size_t n;
    bool neg;
} named_set;

/* \d \D \s \S \w \W, or n = 0 when c is none of them. */
static named_set class_escape(int c) {
    switch (c) {
    case 'd': return (named_set){DIGIT, 1, false};
    case 'D': return (named_set){DIGIT, 1, true};
    case 'w': return (named_set){WORD, 4, false};
    case 'W': return (named_set){WORD, 4, true};
    case 's': return (named_set){SPACE, 10, false};
    case 'S': return (named_set){SPACE, 10, true};
    default: return (named_set){NULL, 0, false};
    }
}

/* Adds a named set (complemented if negated) to c. */
static bool cs_add_named(cset *c, named_set ns) {
    if (!ns.neg) {
        for (size_t k = 0; k < ns.n; k++)
            if (!cs_add(c, ns.r[2 * k], ns.r[2 * k + 1])) return false;
        return true;
    }
    uint32_t next = 0;
    for (size_t k = 0; k < ns.n; k++) {
        if (ns.r[2 * k] > next && !cs_add(c, next, ns.r[2 * k] - 1)) return false;
        next = ns.r[2 * k + 1] + 1;
    }
    return cs_add(c, next, 0x10FFFF);
}

/* ---- escapes ---- */

/* Reads n hex digits; -1 if they are not there. */
static long hex_digits(rx *r, int n) {
    long v = 0;
    for (int k = 0; k < n; k++) {
        int h = hexval(peek(r, (size_t)k));
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    r->i += (size_t)n;
    return v;
}

/* A character escape after '\' (r->i at the letter). Returns the code point,
 * -1 on error, or -2 if the escape is a class escape (\d ...) left unread. */
static long char_escape(rx *r, bool in_class) {
    size_t at = r->i - 1;
    int c = peek(r, 0);
    if (c < 0) return rfail(r, at, "pattern ends with '\\'");
    if (class_escape(c).n) return -2;
    r->i++;
    switch (c) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'v': return '\v';
    case 'f': return '\f';
    case 'r': return '\r';
    case '0':
        if (peek(r, 0) >= '0' && peek(r, 0) <= '9') return rfail(r, at, "octal escape '\\0%c' is not supported", peek(r, 0));
        return 0;
    case 'b':
        if (in_class) return '\b';
        return rfail(r, at, "word boundary '\\b' is not supported");
    case 'B': return rfail(r, at, "word boundary '\\B' is not supported");
    case 'c': {
        int l = peek(r, 0);
        if (!((l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z'))) return rfail(r, at, "'\\c' needs a letter");
        r->i++;
        return l % 32;
    }
    case 'x': {
        long v = hex_digits(r, 2);
        return v < 0 ? rfail(r, at, "'\\x' needs two hex digits") : v;
    }
    case 'u': {
        long v;
        if (peek(r, 0) == '{') {
            r->i++;
            v = 0;
            int k = 0;
            while (hexval(peek(r, 0)) >= 0 && v <= 0x10FFFF) v = v * 16 + hexval(peek(r, 0)), r->i++, k++;
            if (k == 0 || peek(r, 0) != '}' || v > 0x10FFFF) return rfail(r, at, "malformed '\\u{...}' escape");
            r->i++;
        } else {
            v = hex_digits(r, 4);
            if (v < 0) return rfail(r, at, "'\\u' needs four hex digits");
            /* a surrogate pair written as two escapes is one character */
            if (v >= 0xD800 && v <= 0xDBFF && peek(r, 0) == '\\' && peek(r, 1) == 'u') {
                size_t save = r->i;
                r->i += 2;
                long lo = hex_digits(r, 4);
                if (lo >= 0xDC00 && lo <= 0xDFFF) return 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                r->i = save;
            }
        }
        if (v >= 0xD800 && v <= 0xDFFF) return rfail(r, at, "lone surrogate '\\u%04lX' cannot match UTF-8 text", v);
        return v;
    }
    case 'p':
    case 'P': return rfail(r, at, "Unicode property escape '\\%c' is not supported", c);
    case 'k': return rfail(r, at, "named backreference '\\k' is not supported");
    default:
        if (c >= '1' && c <= '9') return rfail(r, at, "backreference '\\%c' is not supported", c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
            return rfail(r, at, "unknown escape '\\%c'", c);
        if (c >= 0x80) return rfail(r, at, "escaped non-ASCII character");
        return c; /* identity escape of punctuation: \. \/ \- ... */
    }
}

/* One UTF-8 character of the pattern; -1 on malformed input. */
static long pattern_char(rx *r) {
    const unsigned char *u = (const unsigned char *)r->s + r->i;
    size_t left = r->n - r->i;
    unsigned c = u[0];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left) return rfail(r, r->i, "invalid UTF-8 in the pattern");
    uint32_t cp = n == 1 ? c : c & (0x7Fu >> n);
    for (size_t k = 1; k < n; k++) {
        if ((u[k] & 0xC0) != 0x80) return rfail(r, r->i, "invalid UTF-8 in the pattern");
        cp = cp << 6 | (u[k] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return rfail(r, r->i, "invalid UTF-8 in the pattern");
    r->i += n;
    return (long)cp;
}

/* One character from the class (ranges, negated), through the caller's map
 * when there is one. */
static wg_expr chars(rx *r, const uint32_t *ranges, size_t n, bool negated) {
    if (!r->map) return wg_class(r->b, ranges, n, negated);
    uint32_t *norm;
    size_t k = wg_class_normalize(ranges, n, negated, &norm);
    if (k == SIZE_MAX) return rfail(r, r->i, "out of memory");
    wg_expr e = r->map(r->map_ctx, r->b, norm, k);
    free(norm);
    return e;
}

static wg_expr single(rx *r, uint32_t cp) {
    if (r->map) return chars(r, (uint32_t[]){cp, cp}, 1, false);
    uint8_t buf[4];
    return wg_lit(r->b, buf, wg_utf8_encode(cp, buf));
}

/* ---- character classes ---- */

static wg_expr parse_class(rx *r) {
    size_t open = r->i++;
    bool neg = false;
    if (peek(r, 0) == '^') {
        neg = true;
        r->i++;
    }
    cset c = {0};
    wg_expr out = -1;
    for (;;) {
        int ch = peek(r, 0);
        if (ch < 0) {
            rfail(r, open, "unterminated character class");
            goto done;
        }
        if (ch == ']') break;
        /* one class atom: a character, or a named set */
        long lo;
        named_set ns = {0};
        size_t at = r->i;
        if (ch == '\\') {
            r->i++;
            lo = char_escape(r, true);
            if (lo == -2) {
                ns = class_escape(peek(r, 0));
                r->i++;
            }
        } else {
            lo = pattern_char(r);
        }
        if (r->failed) goto done;
        if (ns.n) {
            if (!cs_add_named(&c, ns)) goto oom;
            continue;
        }
        long hi = lo;
        if (peek(r, 0) == '-' && peek(r, 1) != ']' && peek(r, 1) != -1) {
            size_t dash = r->i++;
            if (peek(r, 0) == '\\') {
                r->i++;
                hi = char_escape(r, true);
                if (hi == -2) { /* [a-\d]: Annex B reads the '-' literally */
                    ns = class_escape(peek(r, 0));
                    r->i++;
                    if (!cs_add(&c, (uint32_t)lo, (uint32_t)lo) || !cs_add(&c, '-', '-') || !cs_add_named(&c, ns))
                        goto oom;
                    continue;
                }
            } else {
                hi = pattern_char(r);
            }
            if (r->failed) goto done;
            if (hi < lo) {
                rfail(r, dash, "range out of order in character class (offset %zu)", at);
                goto done;
            }
        }
        if (!cs_add(&c, (uint32_t)lo, (uint32_t)hi)) goto oom;
    }
    r->i++;
    out = chars(r, c.r, c.n, neg);
    goto done;
oom:
    rfail(r, open, "out of memory");
done:
    free(c.r);
    return r->failed ? -1 : out;
}

/* ---- structure ---- */

static wg_expr parse_disjunction(rx *r, bool top, bool anchored);

/* The length of a {n}, {n,} or {n,m} quantifier at the cursor, 0 if the
 * text there is not one. */
static size_t brace_quantifier(const rx *r) {
    size_t k = 1;
    if (peek(r, 0) != '{' || !(peek(r, 1) >= '0' && peek(r, 1) <= '9')) return 0;
    while (peek(r, k) >= '0' && peek(r, k) <= '9') k++;
    if (peek(r, k) == ',') {
        k++;
        while (peek(r, k) >= '0' && peek(r, k) <= '9') k++;
    }
    return peek(r, k) == '}' ? k + 1 : 0;
}

/* A quantifier after an atom, applied to e. */
static wg_expr quantify(rx *r, wg_expr e) {
    int c = peek(r, 0);
    size_t at = r->i;
    uint32_t lo, hi;
    if (c == '*') lo = 0, hi = WG_INF, r->i++;
    else if (c == '+') lo = 1, hi = WG_INF, r->i++;
    else if (c == '?') lo = 0, hi = 1, r->i++;
    else if (c == '{') {
        /* {n}, {n,}, {n,m}; anything else is a literal '{' (Annex B) */
        size_t k = brace_quantifier(r);
        if (!k) return e;
        uint64_t a = 0, b = 0;
        size_t j = 1;
        bool has_b = false;
        /* every digit is consumed; the value saturates past MAX_COUNT */
        for (; peek(r, j) >= '0' && peek(r, j) <= '9'; j++)
            if (a <= MAX_COUNT) a = a * 10 + (uint64_t)(peek(r, j) - '0');
        bool comma = peek(r, j) == ',';
        if (comma) j++;
        for (; peek(r, j) >= '0' && peek(r, j) <= '9'; j++, has_b = true)
            if (b <= MAX_COUNT) b = b * 10 + (uint64_t)(peek(r, j) - '0');
        if (a > MAX_COUNT || b > MAX_COUNT) return rfail(r, at, "repetition count above %d", MAX_COUNT);
        lo = (uint32_t)a;
        hi = !comma ? lo : has_b ? (uint32_t)b : WG_INF;
        if (hi < lo) return rfail(r, at, "repetition {%u,%u} has max < min", lo, hi);
        r->i += k;
    } else {
        return e;
    }
    if (peek(r, 0) == '?') r->i++; /* lazy: the same strings */
    c = peek(r, 0);
    if (c == '*' || c == '+' || c == '?' || brace_quantifier(r))
        return rfail(r, r->i, "nothing to repeat before '%c'", c);
    return wg_repeat(r->b, e, lo, hi);
}

static wg_expr parse_atom(rx *r) {
    int c = peek(r, 0);
    size_t at = r->i;
    switch (c) {
    case '.': {
        r->i++;
        return chars(r, LINE_TERM, 3, true);
    }
    case '[': return parse_class(r);
    case '(': {
        if (++r->depth > MAX_DEPTH) return rfail(r, at, "groups nested deeper than %d", MAX_DEPTH);
        r->i++;
        if (peek(r, 0) == '?') {
            int k = peek(r, 1);
            if (k == ':') r->i += 2;
            else if (k == '=' || k == '!') return rfail(r, at, "lookahead '(?%c' is not supported", k);
            else if (k == '<' && (peek(r, 2) == '=' || peek(r, 2) == '!'))
                return rfail(r, at, "lookbehind '(?<%c' is not supported", peek(r, 2));
            else if (k == '<') { /* named group: a plain group here */
                size_t j = 2;
                while (peek(r, j) != '>' && peek(r, j) != -1) j++;
                if (peek(r, j) != '>') return rfail(r, at, "unterminated group name");
                r->i += j + 1;
            } else {
                return rfail(r, at, "group modifier '(?%c' is not supported", k < 0 ? '?' : k);
            }
        }
        wg_expr e = parse_disjunction(r, false, false);
        if (r->failed) return -1;
        if (peek(r, 0) != ')') return rfail(r, at, "unmatched '('");
        r->i++;
        r->depth--;
        return e;
    }
    case '\\': {
        r->i++;
        long v = char_escape(r, false);
        if (v == -2) {
            named_set ns = class_escape(peek(r, 0));
            r->i++;
            cset cs = {0};
            if (!cs_add_named(&cs, (named_set){ns.r, ns.n, false})) return rfail(r, at, "out of memory");
            wg_expr e = chars(r, cs.r, cs.n, ns.neg);
            free(cs.r);
            return e;
        }
        return v < 0 ? -1 : single(r, (uint32_t)v);
    }
    case '*':
    case '+':
    case '?': return rfail(r, at, "nothing to repeat before '%c'", c);
    case '{':
        /* a quantifier with nothing before it, or a literal '{' (Annex B) */
        if (brace_quantifier(r)) return rfail(r, at, "nothing to repeat before '{'");
        r->i++;
        return single(r, '{');
    case ')': return rfail(r, at, "unmatched ')'");
    default: {
        long v = pattern_char(r);
        return v < 0 ? -1 : single(r, (uint32_t)v);
    }
    }
}

static bool push(rx *r, wg_expr **arr, size_t *n, size_t *cap, wg_expr e) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        wg_expr *a = realloc(*arr, *cap * sizeof *a);
        if (!a) return rfail(r, r->i, "out of memory"), false;
        *arr = a;
    }
    (*arr)[(*n)++] = e;
    return true;
}

/* Alternatives separated by '|'. At the top level, ^ may open and $ close
 * an alternative: when not anchored, each side without its anchor gets the
 * "any text" padding of a search (RegExp.prototype.test finds a match
 * anywhere). */
static wg_expr parse_disjunction(rx *r, bool top, bool anchored) {
    wg_expr *alts = NULL, *items = NULL;
    size_t na = 0, ca = 0, ni = 0, ci = 0;
    bool pad = top && !anchored;
    wg_expr any = pad ? wg_repeat(r->b, chars(r, NULL, 0, true), 0, WG_INF) : -1;
    for (;;) {
        ni = 0;
        bool start_anchor = false, end_anchor = false;
        if (top && peek(r, 0) == '^') {
            start_anchor = true;
            r->i++;
        }
        if (pad && !start_anchor && !push(r, &items, &ni, &ci, any)) goto out;
        for (;;) {
            int c = peek(r, 0);
            if (c < 0 || c == '|' || (c == ')' && !top)) break;
            if (c == '$') {
                size_t at = r->i++;
                if (!top || !(peek(r, 0) < 0 || peek(r, 0) == '|')) {
                    rfail(r, at, "'$' is only supported at the end of the pattern or of a top-level alternative");
                    goto out;
                }
                end_anchor = true;
                break;
            }
            if (c == '^') {
                rfail(r, r->i, "'^' is only supported at the start of the pattern or of a top-level alternative");
                goto out;
            }
            wg_expr e = parse_atom(r);
            if (!r->failed) e = quantify(r, e);
            if (r->failed || !push(r, &items, &ni, &ci, e)) goto out;
        }
        if (pad && !end_anchor && !push(r, &items, &ni, &ci, any)) goto out;
        if (!push(r, &alts, &na, &ca, wg_seq(r->b, items, ni))) goto out;
        if (peek(r, 0) != '|') break;
        r->i++;
    }
    wg_expr result = wg_alt(r->b, alts, na);
    free(alts);
    free(items);
    return r->failed ? -1 : result;
out:
    free(alts);
    free(items);
    return -1;
}

wg_expr wg_regex_to_ir_ex(wg_builder *b, const char *pattern, const wg_regex_opts *o, wg_error *err) {
    if (!pattern) {
        wg_set_error(err, "no regex pattern");
        return -1;
    }
    rx r = {.b = b, .s = pattern, .n = strlen(pattern), .err = err, .map = o ? o->map : NULL,
            .map_ctx = o ? o->map_ctx : NULL};
    wg_expr e = parse_disjunction(&r, true, o && o->anchored);
    if (!r.failed && r.i < r.n) rfail(&r, r.i, "unmatched ')'");
    if (r.failed) return -1;
    if (e < 0) wg_set_error(err, "out of memory building the regex");
    return e;
}

wg_expr wg_regex_to_ir(wg_builder *b, const char *pattern, bool anchored, wg_error *err) {
    return wg_regex_to_ir_ex(b, pattern, &(wg_regex_opts){.anchored = anchored}, err);
}
