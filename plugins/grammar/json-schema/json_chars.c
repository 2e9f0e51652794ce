/* Characters of JSON strings (RFC 8259 §7) in their canonical encoding:
 * each character raw, except the ones RFC 8259 requires escaped: '"' and
 * '\' as \" and \\, U+0008/9/A/C/D as \b \t \n \f \r, the other controls
 * below U+0020 as \u00xx (lower-case hex, as Python's json.dumps writes).
 * One encoding per character makes the decoded string and its text a
 * bijection, so lengths count characters, and a set of strings (a regex, a
 * complement of property names) maps to exactly its set of texts. */
#include <stdlib.h>

#include "js_internal.h"

/* The escape of a character that needs one, or NULL. */
static const char *escape_of(uint32_t cp, char buf[8]) {
    switch (cp) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case 0x08: return "\\b";
    case 0x09: return "\\t";
    case 0x0A: return "\\n";
    case 0x0C: return "\\f";
    case 0x0D: return "\\r";
    default: break;
    }
    if (cp >= 0x20) return NULL;
    static const char hex[] = "0123456789abcdef";
    buf[0] = '\\', buf[1] = 'u', buf[2] = '0', buf[3] = '0';
    buf[4] = hex[cp >> 4], buf[5] = hex[cp & 15], buf[6] = 0;
    return buf;
}

static bool needs_escape(uint32_t cp) { return cp < 0x20 || cp == '"' || cp == '\\'; }

size_t js_json_encode(const char *s, char *buf, size_t cap) {
    size_t o = 0;
    for (; *s; s++) {
        char tmp[8];
        const char *e = needs_escape((unsigned char)*s) ? escape_of((unsigned char)*s, tmp) : NULL;
        size_t k = e ? strlen(e) : 1;
        if (o + k >= cap) return (size_t)-1;
        if (e)
            memcpy(buf + o, e, k);
        else
            buf[o] = *s; /* raw UTF-8 byte: special characters are all ASCII */
        o += k;
    }
    buf[o] = 0;
    return o;
}

/* ---- sets of code points ---- */

typedef struct cp_range {
    uint32_t lo, hi;
} cp_range;

static int cmp_range(const void *a, const void *b) {
    const cp_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted, merged ranges of the set (complemented when negated); returns the
 * count written to out (room for n + 1). */
static size_t normalize_set(const uint32_t *ranges, size_t n, bool negated, cp_range *out) {
    cp_range *tmp = malloc((n + 1) * sizeof *tmp);
    if (!tmp) return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = ranges[2 * i], b = ranges[2 * i + 1];
        tmp[i] = (cp_range){a < b ? a : b, a < b ? b : a};
    }
    qsort(tmp, n, sizeof *tmp, cmp_range);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && tmp[i].lo <= out[k - 1].hi + 1) {
            if (tmp[i].hi > out[k - 1].hi) out[k - 1].hi = tmp[i].hi;
        } else {
            out[k++] = tmp[i];
        }
    }
    free(tmp);
    if (!negated) return k;
    /* complement over [0, 0x10FFFF], in place from a copy */
    cp_range *pos = malloc((k + 1) * sizeof *pos);
    if (!pos) return 0;
    memcpy(pos, out, k * sizeof *pos);
    size_t m = 0;
    uint32_t next = 0;
    for (size_t i = 0; i < k; i++) {
        if (pos[i].lo > next) out[m++] = (cp_range){next, pos[i].lo - 1};
        next = pos[i].hi + 1;
    }
    if (next <= 0x10FFFF) out[m++] = (cp_range){next, 0x10FFFF};
    free(pos);
    return m;
}

static bool in_set(const cp_range *r, size_t n, uint32_t cp) {
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi) return true;
    return false;
}

/* Any character from U+0080 up, or any escape: a rule of the schema's own. */
static wg_expr wide_or_escape(js_ctx *c) {
    if (!c->have_wide) {
        static const uint32_t WIDE[] = {0x80, 0x10FFFF};
        wg_rule r = wg_rule_fresh(c->b, "json-wide");
        wg_rule_define(c->b, r, wg_alt2(c->b, wg_class(c->b, WIDE, 1, false), js_escape_any(c)));
        c->e_wide = wg_ref(c->b, r);
        c->have_wide = true;
    }
    return c->e_wide;
}

wg_expr js_json_chars(js_ctx *c, const uint32_t *ranges, size_t n, bool negated) {
    wg_builder *b = c->b;
    cp_range *set = malloc((n + 2) * sizeof *set);
    if (!set) return -1;
    size_t k = normalize_set(ranges, n, negated, set);
    /* raw part: the set minus the characters that need escapes */
    static const uint32_t SPECIAL[] = {0x00, 0x1F, '"', '"', '\\', '\\'};
    uint32_t *raw = malloc(2 * (3 * k + 1) * sizeof *raw); /* each range meets <= 3 raw ranges */
    cp_range special[4];
    size_t ns = normalize_set(SPECIAL, 3, true, special); /* allowed raw */
    size_t nr = 0;
    for (size_t i = 0; raw && i < k; i++)
        for (size_t j = 0; j < ns; j++) {
            uint32_t lo = set[i].lo > special[j].lo ? set[i].lo : special[j].lo;
            uint32_t hi = set[i].hi < special[j].hi ? set[i].hi : special[j].hi;
            if (lo <= hi) raw[2 * nr] = lo, raw[2 * nr + 1] = hi, nr++;
        }
    wg_expr alts[40];
    size_t na = 0;
    size_t n_esc = 0;
    for (uint32_t cp = 0; cp < 0x80; cp++) n_esc += needs_escape(cp) && in_set(set, k, cp);
    if (raw && n_esc == 34 && k && set[k - 1].lo <= 0x80 && set[k - 1].hi == 0x10FFFF) {
        /* most of a complement (a character no name has here): its ASCII
         * part, then one shared rule, so the engine builds the multi-byte
         * and escape automata once per continuation, not once per use */
        size_t na_raw = 0;
        for (size_t i = 0; i < nr && raw[2 * i] < 0x80; i++, na_raw++)
            if (raw[2 * i + 1] >= 0x80) raw[2 * i + 1] = 0x7F;
        if (na_raw) alts[na++] = wg_class(b, raw, na_raw, false);
        alts[na++] = wide_or_escape(c);
        free(raw);
        free(set);
        return na == 1 ? alts[0] : wg_alt(b, alts, na);
    }
    if (raw && nr) alts[na++] = wg_class(b, raw, nr, false);
    /* escaped part: every needed escape in the set, compactly when all are */
    if (n_esc == 34) {
        alts[na++] = js_escape_any(c);
    } else {
        for (uint32_t cp = 0; cp < 0x80; cp++) {
            char tmp[8];
            if (needs_escape(cp) && in_set(set, k, cp)) alts[na++] = wg_lit_str(b, escape_of(cp, tmp));
        }
    }
    free(raw);
    free(set);
    if (!raw) return -1;
    return na == 1 ? alts[0] : wg_alt(b, alts, na);
}

wg_expr js_escape_any(js_ctx *c) {
    wg_builder *b = c->b;
    static const uint32_t SHORT[] = {'"', '"', '\\', '\\', 'b', 'b', 'f', 'f', 'n', 'n', 'r', 'r', 't', 't'};
    static const uint32_t LOW[] = {'0', '7', 'b', 'b', 'e', 'f'}; /* \u000x without a short form */
    static const uint32_t HEX[] = {'0', '9', 'a', 'f'};
    wg_expr u0 = wg_seq2(b, wg_lit_str(b, "0"), wg_class(b, LOW, 3, false));
    wg_expr u1 = wg_seq2(b, wg_lit_str(b, "1"), wg_class(b, HEX, 2, false));
    wg_expr u = wg_seq2(b, wg_lit_str(b, "u00"), wg_alt2(b, u0, u1));
    return wg_seq2(b, wg_lit_str(b, "\\"), wg_alt2(b, wg_class(b, SHORT, 7, false), u));
}

wg_expr js_json_char(js_ctx *c) {
    if (!c->have_char) {
        wg_rule r = wg_rule_fresh(c->b, "json-char");
        wg_rule_define(c->b, r, js_json_chars(c, NULL, 0, true));
        c->e_char = wg_ref(c->b, r);
        c->have_char = true;
    }
    return c->e_char;
}

/* ---- strings outside a finite set (property names) ---- */

typedef struct cp_string {
    uint32_t *cp;
    size_t n;
} cp_string;

static int cmp_cps(const void *a, const void *b) {
    const cp_string *x = a, *y = b;
    for (size_t i = 0; i < x->n && i < y->n; i++)
        if (x->cp[i] != y->cp[i]) return x->cp[i] < y->cp[i] ? -1 : 1;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* Decodes UTF-8 (valid: it comes from a JSON parser) into code points. */
static size_t decode_utf8(const char *s, uint32_t *out) {
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p++;
        int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (more) cp &= 0x3F >> more;
        while (more-- && (*p & 0xC0) == 0x80) cp = cp << 6 | (*p++ & 0x3F);
        out[n++] = cp;
    }
    return n;
}

static wg_expr literal_cp(js_ctx *c, uint32_t cp) {
    char tmp[8], utf[5] = {0};
    const char *e = needs_escape(cp) ? escape_of(cp, tmp) : NULL;
    if (e) return wg_lit_str(c->b, e);
    if (cp < 0x80) utf[0] = (char)cp;
    else if (cp < 0x800) utf[0] = (char)(0xC0 | cp >> 6), utf[1] = (char)(0x80 | (cp & 0x3F));
    else if (cp < 0x10000)
        utf[0] = (char)(0xE0 | cp >> 12), utf[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), utf[2] = (char)(0x80 | (cp & 0x3F));
    else
        utf[0] = (char)(0xF0 | cp >> 18), utf[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        utf[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), utf[3] = (char)(0x80 | (cp & 0x3F));
    return wg_lit_str(c->b, utf);
}

/* The rest of a string (after the characters at depth < d, shared by
 * names[0..n)) that does not complete any of them, closing quote included,
 * as two parts: *close, the ones that close (with '"') on a path of the
 * names' trie without completing a name, and *diverge, the trie paths that
 * leave it with a character no name has there; the rest of the string is
 * then diverge + (any characters) + '"'. The caller appends that tail once:
 * under every trie node it would be a copy of its automaton (a complement
 * of many names grew to 10^5 states). Recursion (and the expressions) is
 * as deep as the longest name, which js_string_not_in bounds. */
static bool not_in_from(js_ctx *c, const cp_string *names, size_t n, size_t d, wg_expr *close, wg_expr *diverge) {
    wg_builder *b = c->b;
    size_t cap = n + 2, nc = 0, nd = 0, i = 0;
    wg_expr *closes = malloc(cap * sizeof *closes), *diverges = malloc(cap * sizeof *diverges);
    uint32_t *taken = malloc(2 * (n + 1) * sizeof *taken);
    bool ok = closes && diverges && taken;
    size_t nt = 0;
    bool terminal = false;
    while (i < n && names[i].n == d) terminal = true, i++; /* sorted: short names first */
    if (ok && !terminal) closes[nc++] = wg_lit_str(b, "\"");
    while (ok && i < n) {
        size_t j = i;
        uint32_t cp = names[i].cp[d];
        while (j < n && names[j].cp[d] == cp) j++;
        wg_expr sub_close, sub_diverge;
        ok = not_in_from(c, names + i, j - i, d + 1, &sub_close, &sub_diverge);
        if (ok) {
            wg_expr lit = literal_cp(c, cp);
            closes[nc++] = wg_seq2(b, lit, sub_close);
            diverges[nd++] = wg_seq2(b, lit, sub_diverge);
        }
        taken[2 * nt] = taken[2 * nt + 1] = cp;
        nt++;
        i = j;
    }
    /* a character no name has here: then anything */
    if (ok) {
        diverges[nd++] = js_json_chars(c, taken, nt, true);
        *close = wg_alt(b, closes, nc);
        *diverge = wg_alt(b, diverges, nd);
    }
    free(closes);
    free(diverges);
    free(taken);
    return ok;
}

/* Names longer than this are refused: the complement is an expression as
 * deep as the longest name, and the engine's compiler recurses over it. */
#define JS_MAX_NAME 1024

wg_expr js_string_not_in(js_ctx *c, const char *const *names, size_t n, const weft_json *at) {
    cp_string *cs = malloc((n + 1) * sizeof *cs);
    if (!cs) return -1;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(names[i]);
    uint32_t *pool = malloc((total + 1) * sizeof *pool);
    if (!pool) {
        free(cs);
        return -1;
    }
    size_t longest = 0;
    for (size_t i = 0, o = 0; i < n; i++) {
        cs[i].cp = pool + o;
        cs[i].n = decode_utf8(names[i], cs[i].cp);
        o += cs[i].n;
        if (cs[i].n > cs[longest].n) longest = i;
    }
    if (n && cs[longest].n > JS_MAX_NAME) {
        free(pool);
        free(cs);
        if (!js_unsupported(c, at, "a property name or string value of more than %d characters is not supported "
                                        "where other keys or values may appear", JS_MAX_NAME))
            return -1;
        return js_any_string(c); /* lenient: the name is not excluded */
    }
    qsort(cs, n, sizeof *cs, cmp_cps);
    wg_builder *b = c->b;
    wg_expr rest = wg_seq2(b, wg_repeat(b, js_json_char(c), 0, WG_INF), wg_lit_str(b, "\""));
    wg_expr close, diverge, e = -1;
    if (not_in_from(c, cs, n, 0, &close, &diverge))
        e = wg_seq2(b, wg_lit_str(b, "\""), wg_alt2(b, close, wg_seq2(b, diverge, rest)));
    free(pool);
    free(cs);
    return e;
}
