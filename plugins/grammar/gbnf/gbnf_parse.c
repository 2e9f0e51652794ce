/* A recursive-descent parser for GBNF as llama.cpp reads it
 * (src/llama-grammar.cpp, parse_rule / parse_sequence): a rule ends at a
 * newline unless inside parentheses or after `::=` or `|`; `#` starts a
 * comment; literal and class characters are Unicode code points (escapes
 * \xHH \uHHHH \UHHHHHHHH name code points, not bytes). */
#include "gbnf_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 256
#define MAX_REPEAT 100000

typedef struct gp {
    wg_builder *b;
    const char *s, *end;
    const char *p;
    wg_error *err;
    bool failed;
    int depth;
    /* per builder rule: where it was first referenced / defined (offsets + 1) */
    size_t *ref_at, *def_at;
    size_t n_rules_cap;
} gp;

static void where(const gp *g, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && g->s + i < g->end; i++) {
        if (g->s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)g->s[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static bool fail_at(gp *g, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_at(gp *g, const char *at, const char *fmt, ...) {
    if (g->failed) return false;
    g->failed = true;
    int line, col;
    where(g, (size_t)(at - g->s), &line, &col);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wg_set_error(g->err, "%d:%d: %s", line, col, msg);
    return false;
}

static bool at_end(const gp *g) { return g->p >= g->end; }
static int peek(const gp *g, size_t k) { return g->p + k < g->end ? (unsigned char)g->p[k] : -1; }

static void skip_space(gp *g, bool newline_ok) {
    while (!at_end(g)) {
        int c = peek(g, 0);
        if (c == '#') {
            while (!at_end(g) && *g->p != '\n' && *g->p != '\r') g->p++;
        } else if (c == ' ' || c == '\t' || (newline_ok && (c == '\n' || c == '\r'))) {
            g->p++;
        } else {
            break;
        }
    }
}

static bool is_word(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes one UTF-8 character; -1 (and an error) if malformed. */
static long utf8_char(gp *g) {
    const unsigned char *u = (const unsigned char *)g->p;
    size_t left = (size_t)(g->end - g->p);
    unsigned c = u[0];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left) return fail_at(g, g->p, "invalid UTF-8"), -1;
    uint32_t cp = n == 1 ? c : c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) return fail_at(g, g->p, "invalid UTF-8"), -1;
        cp = cp << 6 | (u[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail_at(g, g->p, "invalid UTF-8"), -1;
    g->p += n;
    return (long)cp;
}

/* One character of a literal or class: an escape or a UTF-8 character. */
static long parse_char(gp *g) {
    if (at_end(g)) return fail_at(g, g->p, "unexpected end of input"), -1;
    if (*g->p != '\\') return utf8_char(g);
    const char *at = g->p;
    int e = peek(g, 1);
    g->p += 2;
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case '\\': return '\\';
    case '"': return '"';
    case '[': return '[';
    case ']': return ']';
    case '-': return '-';
    case '^': return '^';
    case 'x':
    case 'u':
    case 'U': {
        int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (int i = 0; i < n; i++) {
            int h = hexval(peek(g, 0));
            if (h < 0) return fail_at(g, at, "\\%c needs %d hex digits", e, n), -1;
            v = v << 4 | (uint32_t)h;
            g->p++;
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return fail_at(g, at, "\\%c%0*X is not a Unicode scalar value", e, n, v), -1;
        return (long)v;
    }
    case -1: return fail_at(g, at, "unexpected end of input after '\\'"), -1;
    default: return fail_at(g, at, "unknown escape '\\%c'", e), -1;
    }
}

static wg_expr parse_literal(gp *g) {
    const char *open = g->p++;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (at_end(g)) {
            free(buf);
            return fail_at(g, open, "unterminated string literal"), -1;
        }
        if (*g->p == '"') break;
        if (*g->p == '\n' || *g->p == '\r') {
            free(buf);
            return fail_at(g, open, "unterminated string literal (newline inside)"), -1;
        }
        long c = parse_char(g);
        if (c < 0) {
            free(buf);
            return -1;
        }
        if (n + 4 > cap) {
            cap = cap ? cap * 2 : 64;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return fail_at(g, open, "out of memory"), -1;
            }
            buf = nb;
        }
        n += wg_utf8_encode((uint32_t)c, buf + n);
    }
    g->p++;
    wg_expr e = wg_lit(g->b, buf, n);
    free(buf);
    return e;
}

static wg_expr parse_class(gp *g) {
    const char *open = g->p++;
    bool neg = false;
    if (peek(g, 0) == '^') {
        neg = true;
        g->p++;
    }
    uint32_t *r = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (at_end(g)) {
            free(r);
            return fail_at(g, open, "unterminated character class"), -1;
        }
        if (*g->p == ']') break;
        const char *at = g->p;
        long lo = parse_char(g), hi = lo;
        if (lo >= 0 && peek(g, 0) == '-' && peek(g, 1) != ']' && peek(g, 1) != -1) {
            g->p++;
            hi = parse_char(g);
            if (hi >= 0 && hi < lo) {
                free(r);
                return fail_at(g, at, "character range out of order"), -1;
            }
        }
        if (lo < 0 || hi < 0) {
            free(r);
            return -1;
        }
        if (2 * n + 2 > cap) {
            cap = cap ? cap * 2 : 32;
            uint32_t *nr = realloc(r, cap * sizeof *r);
            if (!nr) {
                free(r);
                return fail_at(g, open, "out of memory"), -1;
            }
            r = nr;
        }
        r[2 * n] = (uint32_t)lo;
        r[2 * n + 1] = (uint32_t)hi;
        n++;
    }
    g->p++;
    wg_expr e = wg_class(g->b, r, n, neg);
    free(r);
    return e;
}

static bool note_ref(gp *g, wg_rule r, const char *at) {
    if (r < 0) return fail_at(g, at, "out of memory");
    if ((size_t)r >= g->n_rules_cap) {
        size_t cap = g->n_rules_cap ? g->n_rules_cap * 2 : 64;
        while (cap <= (size_t)r) cap *= 2;
        size_t *a = realloc(g->ref_at, cap * sizeof *a);
        if (a) g->ref_at = a;
        size_t *d = realloc(g->def_at, cap * sizeof *d);
        if (d) g->def_at = d;
        if (!a || !d) return fail_at(g, at, "out of memory");
        memset(g->ref_at + g->n_rules_cap, 0, (cap - g->n_rules_cap) * sizeof *a);
        memset(g->def_at + g->n_rules_cap, 0, (cap - g->n_rules_cap) * sizeof *d);
        g->n_rules_cap = cap;
    }
    if (!g->ref_at[r]) g->ref_at[r] = (size_t)(at - g->s) + 1;
    return true;
}

static bool parse_uint(gp *g, uint32_t *out) {
    const char *at = g->p;
    uint64_t v = 0;
    if (peek(g, 0) < '0' || peek(g, 0) > '9') return fail_at(g, at, "expected a number");
    while (peek(g, 0) >= '0' && peek(g, 0) <= '9') {
        v = v * 10 + (uint64_t)(*g->p++ - '0');
        if (v > MAX_REPEAT) return fail_at(g, at, "repetition count above %d", MAX_REPEAT);
    }
    *out = (uint32_t)v;
    return true;
}

static wg_expr parse_alternatives(gp *g, bool nested);

static wg_expr parse_sequence(gp *g, bool nested) {
    wg_expr *items = NULL;
    size_t n = 0, cap = 0;
    wg_expr result = -1;
    for (;;) {
        int c = peek(g, 0);
        const char *at = g->p;
        wg_expr e = -2; /* -2: no item here */
        if (c == '"') {
            e = parse_literal(g);
        } else if (c == '[') {
            e = parse_class(g);
        } else if (c == '.') {
            g->p++;
            e = wg_any_char(g->b);
        } else if (c == '(') {
            if (++g->depth > MAX_NESTING) {
                fail_at(g, at, "parentheses nested deeper than %d", MAX_NESTING);
                goto out;
            }
            g->p++;
            skip_space(g, true);
            e = parse_alternatives(g, true);
            if (g->failed) goto out;
            if (peek(g, 0) != ')') {
                fail_at(g, at, "unmatched '('");
                goto out;
            }
            g->p++;
            g->depth--;
        } else if (is_word(c)) {
            const char *w = g->p;
            while (is_word(peek(g, 0))) g->p++;
            char name[256];
            size_t len = (size_t)(g->p - w);
            if (len >= sizeof name) {
                fail_at(g, w, "rule name longer than %zu characters", sizeof name - 1);
                goto out;
            }
            memcpy(name, w, len);
            name[len] = 0;
            wg_rule r = wg_rule_named(g->b, name);
            if (!note_ref(g, r, w)) goto out;
            e = wg_ref(g->b, r);
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (n == 0) {
                fail_at(g, at, "'%c' with nothing before it to repeat", c);
                goto out;
            }
            uint32_t lo = 0, hi = WG_INF;
            g->p++;
            if (c == '+') lo = 1;
            else if (c == '?') hi = 1;
            else if (c == '{') {
                skip_space(g, nested);
                if (!parse_uint(g, &lo)) goto out;
                skip_space(g, nested);
                hi = lo;
                if (peek(g, 0) == ',') {
                    g->p++;
                    skip_space(g, nested);
                    hi = WG_INF;
                    if (peek(g, 0) >= '0' && peek(g, 0) <= '9' && !parse_uint(g, &hi)) goto out;
                    skip_space(g, nested);
                }
                if (peek(g, 0) != '}') {
                    fail_at(g, at, "expected '}' to close the repetition");
                    goto out;
                }
                g->p++;
                if (hi < lo) {
                    fail_at(g, at, "repetition {%u,%u} has max < min", lo, hi);
                    goto out;
                }
            }
            items[n - 1] = wg_repeat(g->b, items[n - 1], lo, hi);
            skip_space(g, nested);
            continue;
        } else if (c == '<' || c == '!') {
            fail_at(g, at, "token references ('%c') are not supported", c);
            goto out;
        } else {
            break;
        }
        if (g->failed || e == -1) {
            if (!g->failed) fail_at(g, at, "out of memory");
            goto out;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            wg_expr *ni = realloc(items, cap * sizeof *ni);
            if (!ni) {
                fail_at(g, at, "out of memory");
                goto out;
            }
            items = ni;
        }
        items[n++] = e;
        skip_space(g, nested);
    }
    result = wg_seq(g->b, items, n);
out:
    free(items);
    return g->failed ? -1 : result;
}

static wg_expr parse_alternatives(gp *g, bool nested) {
    wg_expr *alts = NULL;
    size_t n = 0, cap = 0;
    wg_expr result = -1;
    for (;;) {
        wg_expr s = parse_sequence(g, nested);
        if (g->failed) break;
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            wg_expr *na = realloc(alts, cap * sizeof *na);
            if (!na) {
                fail_at(g, g->p, "out of memory");
                break;
            }
            alts = na;
        }
        alts[n++] = s;
        if (peek(g, 0) != '|') {
            result = wg_alt(g->b, alts, n);
            break;
        }
        g->p++;
        skip_space(g, true);
    }
    free(alts);
    return g->failed ? -1 : result;
}

static bool parse_rule(gp *g) {
    const char *at = g->p;
    if (!is_word(peek(g, 0))) {
        if (peek(g, 0) == '"' || peek(g, 0) == '[' || peek(g, 0) == '(')
            return fail_at(g, at, "expected a rule name (a rule continues on the next line only after '|' "
                                  "or inside parentheses)");
        return fail_at(g, at, "expected a rule name, got '%c'", peek(g, 0));
    }
    while (is_word(peek(g, 0))) g->p++;
    size_t len = (size_t)(g->p - at);
    char name[256];
    if (len >= sizeof name) return fail_at(g, at, "rule name longer than %zu characters", sizeof name - 1);
    memcpy(name, at, len);
    name[len] = 0;
    skip_space(g, false);
    if (!(peek(g, 0) == ':' && peek(g, 1) == ':' && peek(g, 2) == '='))
        return fail_at(g, g->p, "expected '::=' after rule name '%s'", name);
    g->p += 3;
    skip_space(g, true);
    wg_rule r = wg_rule_named(g->b, name);
    if (!note_ref(g, r, at)) return false;
    if (g->def_at[r]) {
        int line, col;
        where(g, g->def_at[r] - 1, &line, &col);
        return fail_at(g, at, "rule '%s' is defined twice (first at %d:%d)", name, line, col);
    }
    g->def_at[r] = (size_t)(at - g->s) + 1;
    wg_expr body = parse_alternatives(g, false);
    if (g->failed) return false;
    if (body < 0 || !wg_rule_define(g->b, r, body)) return fail_at(g, at, "out of memory");
    if (peek(g, 0) == ')') return fail_at(g, g->p, "unmatched ')'");
    if (!at_end(g) && peek(g, 0) != '\n' && peek(g, 0) != '\r')
        return fail_at(g, g->p, "unexpected '%c' (expected a newline or the end of the rule)", peek(g, 0));
    skip_space(g, true);
    return true;
}

bool gbnf_parse(wg_builder *b, const char *text, size_t len, wg_error *err) {
    gp g = {.b = b, .s = text, .end = text + len, .p = text, .err = err};
    skip_space(&g, true);
    if (at_end(&g)) fail_at(&g, g.p, "empty grammar");
    while (!g.failed && !at_end(&g)) parse_rule(&g);
    /* every referenced rule must be defined */
    for (size_t r = 0; !g.failed && r < g.n_rules_cap; r++)
        if (g.ref_at[r] && !g.def_at[r])
            fail_at(&g, g.s + g.ref_at[r] - 1, "undefined rule '%s'", wg_rule_name(b, (wg_rule)r));
    free(g.ref_at);
    free(g.def_at);
    return !g.failed;
}

wg_grammar *gbnf_compile(const char *text, size_t len, const char *root, const wg_limits *lim, wg_error *err) {
    wg_builder *b = wg_builder_new();
    if (!b) {
        wg_set_error(err, "out of memory");
        return NULL;
    }
    wg_grammar *g = NULL;
    if (gbnf_parse(b, text, len, err)) {
        wg_rule r = wg_rule_find(b, root);
        if (!wg_rule_is_defined(b, r)) wg_set_error(err, "the grammar has no rule '%s'", root);
        else g = wg_compile(b, r, lim, err);
    }
    wg_builder_free(b);
    return g;
}
