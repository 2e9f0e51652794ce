/* Numbers (RFC 8259 §6) and their bounds (2020-12 Validation §6.2) as
 * digit automata: the decimal texts whose value lies in [lo, hi], exactly.
 *   - integer part ranges over canonical digit strings (no leading zero),
 *     split by length and common prefix;
 *   - a fraction compared digit by digit against the bound's fraction;
 *   - negative numbers as "-" + a range of magnitudes.
 * Bounded numbers, and numbers that must not be integers (from `not`), take
 * no exponent (a subset of the valid texts: every text accepted is valid). "integer" numbers may end in ".0", ".00", ...
 * (a number with a zero fractional part is an integer, §6.1.1).
 * multipleOf: integers by a divisibility automaton, decimals by a limit on
 * fraction digits, a few multiples in a range by enumeration; otherwise
 * refused. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "js_internal.h"

/* A non-negative decimal: digits of the integer part (no leading zeros,
 * "0" for zero) and of the fraction (no trailing zeros). */
typedef struct dec {
    char ip[400];
    char fp[400];
} dec;

/* The decimal of |x| that reads back as x with the fewest digits. */
static void to_dec(double x, dec *d) {
    char buf[64];
    x = fabs(x);
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
    /* buf = d[.ddd]e±XX */
    char digits[32];
    size_t nd = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[nd++] = *p;
    int exp = atoi(p + 1); /* value = 0.d1d2... * 10^(exp+1) */
    int point = exp + 1;   /* digits before the decimal point */
    size_t ni = 0, nf = 0;
    if (point <= 0) {
        d->ip[ni++] = '0';
        for (int i = 0; i < -point; i++) d->fp[nf++] = '0';
        for (size_t i = 0; i < nd; i++) d->fp[nf++] = digits[i];
    } else {
        for (int i = 0; i < point; i++) d->ip[ni++] = (size_t)i < nd ? digits[i] : '0';
        for (size_t i = (size_t)point; i < nd; i++) d->fp[nf++] = digits[i];
    }
    while (nf && d->fp[nf - 1] == '0') nf--;
    d->ip[ni] = 0;
    d->fp[nf] = 0;
    /* strip leading zeros of the integer part */
    size_t z = 0;
    while (d->ip[z] == '0' && d->ip[z + 1]) z++;
    memmove(d->ip, d->ip + z, strlen(d->ip + z) + 1);
}

/* Compares digit strings as non-negative integers. */
static int cmp_int(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na != nb) return na < nb ? -1 : 1;
    int r = strcmp(a, b);
    return (r > 0) - (r < 0);
}

/* a + 1 (digit string, in place; room for one more digit). */
static void inc_int(char *a) {
    size_t n = strlen(a);
    for (size_t i = n; i-- > 0;) {
        if (a[i] != '9') {
            a[i]++;
            return;
        }
        a[i] = '0';
    }
    memmove(a + 1, a, n + 1);
    a[0] = '1';
}

/* a - 1 (a > 0, in place). */
static void dec_int(char *a) {
    size_t n = strlen(a);
    for (size_t i = n; i-- > 0;) {
        if (a[i] != '0') {
            a[i]--;
            break;
        }
        a[i] = '9';
    }
    if (a[0] == '0' && a[1]) memmove(a, a + 1, n);
}

static wg_expr digits(js_ctx *c, char lo, char hi) {
    if (lo > hi) return wg_nothing(c->b);
    uint32_t r[2] = {(uint32_t)lo, (uint32_t)hi};
    return wg_class(c->b, r, 1, false);
}

static wg_expr any_digits(js_ctx *c, uint32_t min, uint32_t max) {
    return wg_repeat(c->b, digits(c, '0', '9'), min, max);
}

/* Digit strings of length |x| that are >= x (ge) or <= x (!ge). */
static wg_expr same_len_bound(js_ctx *c, const char *x, bool ge) {
    wg_builder *b = c->b;
    if (!*x) return wg_empty(b);
    uint32_t rest = (uint32_t)strlen(x + 1);
    wg_expr here = wg_seq2(b, wg_lit(b, x, 1), same_len_bound(c, x + 1, ge));
    wg_expr other = ge ? digits(c, x[0] + 1, '9') : digits(c, '0', x[0] - 1);
    return wg_alt2(b, here, wg_seq2(b, other, any_digits(c, rest, rest)));
}

/* Canonical digit strings of integers in [x, y], same length. */
static wg_expr same_len_range(js_ctx *c, const char *x, const char *y) {
    wg_builder *b = c->b;
    size_t p = 0;
    while (x[p] && x[p] == y[p]) p++;
    if (!x[p]) return wg_lit(b, x, strlen(x)); /* x == y */
    uint32_t rest = (uint32_t)strlen(x + p + 1);
    wg_expr mid[3] = {
        wg_seq2(b, wg_lit(b, x + p, 1), same_len_bound(c, x + p + 1, true)),
        wg_seq2(b, digits(c, x[p] + 1, y[p] - 1), any_digits(c, rest, rest)),
        wg_seq2(b, wg_lit(b, y + p, 1), same_len_bound(c, y + p + 1, false)),
    };
    return wg_seq2(b, wg_lit(b, x, p), wg_alt(b, mid, 3));
}

/* Canonical digit strings of integers in [x, y]; y NULL: unbounded. */
static wg_expr int_range(js_ctx *c, const char *x, const char *y) {
    wg_builder *b = c->b;
    if (y && cmp_int(x, y) > 0) return wg_nothing(b);
    if (strcmp(x, "0") == 0) {
        if (y && strcmp(y, "0") == 0) return wg_lit_str(b, "0");
        return wg_alt2(b, wg_lit_str(b, "0"), int_range(c, "1", y));
    }
    size_t nx = strlen(x), ny = y ? strlen(y) : 0;
    char nines[400], pow10[400];
    memset(nines, '9', nx);
    nines[nx] = 0;
    if (y && nx == ny) return same_len_range(c, x, y);
    wg_expr first = same_len_range(c, x, nines);
    /* lengths strictly between: any digits, leading 1-9 */
    uint32_t max_mid = y ? (uint32_t)(ny - 2) : WG_INF;
    wg_expr mid = (!y || ny > nx + 1) ? wg_seq2(b, digits(c, '1', '9'), any_digits(c, (uint32_t)nx, max_mid))
                                      : wg_nothing(b);
    if (!y) return wg_alt2(b, first, mid);
    pow10[0] = '1';
    memset(pow10 + 1, '0', ny - 1);
    pow10[ny] = 0;
    return wg_alt(b, (wg_expr[]){first, mid, same_len_range(c, pow10, y)}, 3);
}

/* Fraction digit strings D (possibly empty) with lo <= 0.D <= hi, lo/hi
 * given as digit strings without trailing zeros ("" is 0; NULL: no bound),
 * at most `left` digits (WG_INF: any). allow_empty: whether D = "" may be
 * used. Each step consumes one digit of a bound, so recursion ends; the
 * bounds that have run out are closed forms. */
static wg_expr frac(js_ctx *c, const char *lo, bool lo_incl, const char *hi, bool hi_incl, uint32_t left,
                    bool allow_empty) {
    wg_builder *b = c->b;
    uint32_t min = allow_empty ? 0 : 1;
    if (lo && !*lo && lo_incl) lo = NULL; /* >= 0 always holds */
    if (hi && !*hi) { /* <= 0 (or < 0): only zeros, if lo allows 0 */
        if (!hi_incl || lo || left < min) return wg_nothing(b);
        return wg_repeat(b, wg_lit_str(b, "0"), min, left);
    }
    if (left == 0) return allow_empty && !lo ? wg_empty(b) : wg_nothing(b);
    uint32_t next = left == WG_INF ? WG_INF : left - 1;
    if (!lo && !hi) return any_digits(c, min, left);
    if (lo && !*lo && !hi) { /* > 0: some digit is not 0 */
        wg_expr nz = digits(c, '1', '9');
        if (left == WG_INF)
            return wg_seq(b, (wg_expr[]){wg_repeat(b, wg_lit_str(b, "0"), 0, WG_INF), nz, any_digits(c, 0, WG_INF)}, 3);
        wg_expr *alts = malloc(left * sizeof *alts);
        if (!alts) return -1;
        for (uint32_t z = 0; z < left; z++)
            alts[z] = wg_seq(b, (wg_expr[]){wg_repeat(b, wg_lit_str(b, "0"), z, z), nz, any_digits(c, 0, left - 1 - z)}, 3);
        wg_expr e = wg_alt(b, alts, left);
        free(alts);
        return e;
    }
    wg_expr alts[4];
    size_t k = 0;
    bool empty_ok = !lo && (!hi || *hi || hi_incl); /* "" is the value 0 */
    if (allow_empty && empty_ok) alts[k++] = wg_empty(b);
    char l0 = lo ? (*lo ? *lo : '0') : '0';
    char h0 = hi ? *hi : '9';
    const char *lo_rest = lo ? (*lo ? lo + 1 : lo) : NULL;
    const char *hi_rest = hi ? hi + 1 : NULL;
    /* first digit below l0 fails lo, above h0 fails hi; strictly between
     * frees both; equal to l0 / h0 keeps that bound for the rest */
    if (lo && hi && l0 == h0) {
        alts[k++] = wg_seq2(b, wg_lit(b, &l0, 1), frac(c, lo_rest, lo_incl, hi_rest, hi_incl, next, true));
        return wg_alt(b, alts, k);
    }
    if (lo) alts[k++] = wg_seq2(b, wg_lit(b, &l0, 1), frac(c, lo_rest, lo_incl, NULL, false, next, true));
    char from = lo ? l0 + 1 : '0', to = hi ? h0 - 1 : '9';
    if (from <= to) alts[k++] = wg_seq2(b, digits(c, from, to), any_digits(c, 0, next));
    if (hi) alts[k++] = wg_seq2(b, wg_lit(b, &h0, 1), frac(c, NULL, false, hi_rest, hi_incl, next, true));
    return wg_alt(b, alts, k);
}

/* An optional fraction part ("." digits) within the frac() bounds. */
static wg_expr frac_part(js_ctx *c, const char *lo, bool lo_incl, const char *hi, bool hi_incl, uint32_t max_digits) {
    wg_builder *b = c->b;
    /* no fraction is the value 0 */
    bool empty_ok = (!lo || (!*lo && lo_incl)) && (!hi || *hi || hi_incl);
    wg_expr dot = wg_seq2(b, wg_lit_str(b, "."), frac(c, lo, lo_incl, hi, hi_incl, max_digits, false));
    if (max_digits == 0) return empty_ok ? wg_empty(b) : wg_nothing(b);
    return empty_ok ? wg_alt2(b, wg_empty(b), dot) : dot;
}

/* Magnitudes (non-negative decimal texts) in [a, b] (b NULL: unbounded)
 * with at most max_frac fraction digits; nonzero: the fraction must not be
 * zero (not an integer). */
static wg_expr magnitude(js_ctx *c, const dec *a, bool a_incl, const dec *bnd, bool b_incl, uint32_t max_frac,
                         bool nonzero) {
    wg_builder *b = c->b;
    /* a zero fraction bound becomes exclusive: the fraction is > 0 */
    bool a_frac_incl = nonzero && !a->fp[0] ? false : a_incl;
    const char *z = "";
    if (bnd) {
        int ci = cmp_int(a->ip, bnd->ip);
        if (ci > 0) return wg_nothing(b);
        if (ci == 0) /* one integer part: the fraction carries both bounds */
            return wg_seq2(b, wg_lit_str(b, a->ip), frac_part(c, a->fp, a_frac_incl, bnd->fp, b_incl, max_frac));
    }
    wg_expr alts[3];
    alts[0] = wg_seq2(b, wg_lit_str(b, a->ip), frac_part(c, a->fp, a_frac_incl, NULL, false, max_frac));
    char lo[402];
    snprintf(lo, sizeof lo, "%s", a->ip);
    inc_int(lo);
    wg_expr any_frac = frac_part(c, nonzero ? z : NULL, false, NULL, false, max_frac);
    if (!bnd) {
        alts[1] = wg_seq2(b, int_range(c, lo, NULL), any_frac);
        return wg_alt(b, alts, 2);
    }
    char hi[402];
    snprintf(hi, sizeof hi, "%s", bnd->ip);
    alts[1] = wg_nothing(b);
    if (strcmp(hi, "0") != 0) {
        dec_int(hi);
        if (cmp_int(lo, hi) <= 0) alts[1] = wg_seq2(b, int_range(c, lo, hi), any_frac);
    }
    alts[2] = wg_seq2(b, wg_lit_str(b, bnd->ip), frac_part(c, nonzero ? z : NULL, false, bnd->fp, b_incl, max_frac));
    return wg_alt(b, alts, 3);
}

/* The bound as the decimal closest to it that is not looser: a double at
 * or beyond 2^53 may stand for a slightly different decimal in the schema
 * text, so it moves one unit inward. */
static double safe_bound(double x, bool upper) {
    if (fabs(x) < 9007199254740992.0) return x;
    return nextafter(x, upper ? -INFINITY : INFINITY);
}

/* An integer bound (lo rounded up, hi rounded down) as a decimal. */
static void int_bound(double x, bool excl, bool upper, dec *d, bool *neg) {
    double v = upper ? (excl && js_is_integral(x) ? x - 1 : floor(x)) : (excl && js_is_integral(x) ? x + 1 : ceil(x));
    *neg = v < 0;
    snprintf(d->ip, sizeof d->ip, "%.0f", fabs(v));
    d->fp[0] = 0;
}

wg_expr js_emit_num_range(js_ctx *c, const js_num *u, const weft_json *at) {
    wg_builder *b = c->b;
    (void)at;
    wg_expr minus = wg_lit_str(b, "-");
    if (!u->has_lo && !u->has_hi && !u->integer && !u->non_integer && !u->multiple_of) {
        /* RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ] */
        static const uint32_t E[] = {'e', 'e', 'E', 'E'}, SIGN[] = {'+', '+', '-', '-'};
        wg_expr intp = int_range(c, "0", NULL);
        wg_expr fr = wg_repeat(b, wg_seq2(b, wg_lit_str(b, "."), any_digits(c, 1, WG_INF)), 0, 1);
        wg_expr ex = wg_repeat(b, wg_seq(b, (wg_expr[]){wg_class(b, E, 2, false), wg_repeat(b, wg_class(b, SIGN, 2, false), 0, 1), any_digits(c, 1, WG_INF)}, 3), 0, 1);
        return wg_seq(b, (wg_expr[]){wg_repeat(b, minus, 0, 1), intp, fr, ex}, 4);
    }
    /* multipleOf decides the fraction digits allowed */
    uint32_t max_frac = WG_INF;
    bool integer = u->integer;
    if (u->multiple_of) {
        double m = u->multiple_of;
        if (js_is_integral(m)) {
            integer = true; /* handled by the caller for m > 1 */
        } else {
            double d = -log10(m);
            if (fabs(d - round(d)) > 1e-9 || d > 20) return -2;
            max_frac = (uint32_t)round(d);
        }
    }
    dec lo, hi;
    bool lo_neg = false, hi_neg = false, lo_incl = !u->lo_excl, hi_incl = !u->hi_excl;
    if (integer) {
        if (u->has_lo) int_bound(safe_bound(u->lo, false), u->lo_excl, false, &lo, &lo_neg);
        if (u->has_hi) int_bound(safe_bound(u->hi, true), u->hi_excl, true, &hi, &hi_neg);
        lo_incl = hi_incl = true;
        max_frac = 0;
    } else {
        if (u->has_lo) to_dec(safe_bound(u->lo, false), &lo), lo_neg = u->lo < 0;
        if (u->has_hi) to_dec(safe_bound(u->hi, true), &hi), hi_neg = u->hi < 0;
    }
    static const dec ZERO = {"0", ""};
    wg_expr alts[2];
    size_t k = 0;
    /* x >= 0: [max(lo, 0), hi] */
    bool pos_possible = !u->has_hi || !hi_neg;
    if (pos_possible) {
        const dec *a = u->has_lo && !lo_neg ? &lo : &ZERO;
        bool a_incl = u->has_lo && !lo_neg ? lo_incl : true;
        alts[k++] = magnitude(c, a, a_incl, u->has_hi ? &hi : NULL, hi_incl, max_frac, u->non_integer);
    }
    /* x < 0: magnitude in (max(-hi, 0), -lo]; and "-0" when 0 is in range
     * (RFC 8259 allows it; it is the number 0) */
    bool zero_in = (!u->has_lo || lo_neg || (strcmp(lo.ip, "0") == 0 && !lo.fp[0] && lo_incl)) &&
                   (!u->has_hi || !hi_neg) && (!u->has_hi || strcmp(hi.ip, "0") || hi.fp[0] || hi_incl);
    bool neg_possible = !u->has_lo || lo_neg || zero_in;
    if (neg_possible) {
        const dec *a = u->has_hi && hi_neg ? &hi : &ZERO;
        bool a_incl = u->has_hi && hi_neg ? hi_incl : zero_in;
        bool bounded = u->has_lo && lo_neg;
        const dec *z = bounded ? &lo : (u->has_lo ? &ZERO : NULL); /* lo >= 0: only -0 */
        alts[k++] = wg_seq2(b, minus, magnitude(c, a, a_incl, z, bounded ? lo_incl : true, max_frac, u->non_integer));
    }
    wg_expr e = wg_alt(b, alts, k);
    if (integer) { /* 5.0, 5.00: integers too */
        wg_expr zeros = wg_seq2(b, wg_lit_str(b, "."), wg_repeat(b, wg_lit_str(b, "0"), 1, WG_INF));
        e = wg_seq2(b, e, wg_repeat(b, zeros, 0, 1));
    }
    return e;
}

/* Non-negative integers divisible by m (decimal, canonical), by a DFA over
 * the remainder: reading digit d in state r goes to (10 r + d) mod m. */
static wg_expr divisible(js_ctx *c, uint32_t m, bool negative) {
    wg_builder *b = c->b;
    wg_rule *r = malloc(m * sizeof *r);
    if (!r) return -1;
    for (uint32_t i = 0; i < m; i++) r[i] = wg_rule_fresh(b, "mod");
    for (uint32_t s = 0; s < m; s++) {
        wg_expr alts[11];
        size_t k = 0;
        if (s == 0) alts[k++] = wg_empty(b);
        for (uint32_t d = 0; d < 10; d++) {
            char ch = (char)('0' + d);
            alts[k++] = wg_seq2(b, wg_lit(b, &ch, 1), wg_ref(b, r[(10 * (uint64_t)s + d) % m]));
        }
        wg_rule_define(b, r[s], wg_alt(b, alts, k));
    }
    wg_expr first[10];
    for (uint32_t d = 1; d < 10; d++) {
        char ch = (char)('0' + d);
        first[d - 1] = wg_seq2(b, wg_lit(b, &ch, 1), wg_ref(b, r[d % m]));
    }
    first[9] = wg_lit_str(b, "0");
    free(r);
    wg_expr mag = wg_alt(b, first, 10);
    return negative ? wg_seq2(b, wg_repeat(b, wg_lit_str(b, "-"), 0, 1), mag) : mag;
}

#define MAX_ENUMERATED 512
#define MAX_MODULUS 4096

wg_expr js_emit_number(js_ctx *c, js_node *n) {
    const js_num *u = &n->num;
    wg_builder *b = c->b;
    if (u->non_integer && u->multiple_of &&
        !js_unsupported(c, u->multiple_of_at, "'multipleOf' on a non-integer number is not supported"))
        return -1;
    double m = u->multiple_of;
    if (m && js_is_integral(m) && m > 1) {
        bool bounded = u->has_lo && u->has_hi;
        if (bounded) { /* few multiples: list them */
            double first = ceil(u->lo / m) * m, last = floor(u->hi / m) * m;
            if (first == u->lo && u->lo_excl) first += m;
            if (last == u->hi && u->hi_excl) last -= m;
            double count = last >= first ? (last - first) / m + 1 : 0;
            if (count <= MAX_ENUMERATED && fabs(last) < 9007199254740992.0 && fabs(first) < 9007199254740992.0) {
                wg_expr *alts = malloc(((size_t)count + 1) * sizeof *alts);
                if (!alts) return -1;
                size_t k = 0;
                for (double x = first; x <= last; x += m) {
                    char buf[40];
                    snprintf(buf, sizeof buf, "%.0f", x);
                    alts[k++] = wg_lit_str(b, strcmp(buf, "-0") ? buf : "0");
                }
                wg_expr e = wg_alt(b, alts, k);
                free(alts);
                wg_expr zeros = wg_seq2(b, wg_lit_str(b, "."), wg_repeat(b, wg_lit_str(b, "0"), 1, WG_INF));
                return wg_seq2(b, e, wg_repeat(b, zeros, 0, 1));
            }
        }
        /* no bound, or a lower bound in (-m, 0]: every multiple, or the
         * non-negative ones */
        bool from_zero = u->has_lo && !u->has_hi &&
                         ((u->lo == 0 && !u->lo_excl) || (u->lo < 0 && (u->lo > -m || (u->lo == -m && u->lo_excl))));
        if (((!u->has_lo && !u->has_hi) || from_zero) && m <= MAX_MODULUS) {
            wg_expr zeros = wg_seq2(b, wg_lit_str(b, "."), wg_repeat(b, wg_lit_str(b, "0"), 1, WG_INF));
            return wg_seq2(b, divisible(c, (uint32_t)m, !from_zero), wg_repeat(b, zeros, 0, 1));
        }
        if (!js_unsupported(c, u->multiple_of_at, "'multipleOf' %g is not supported with these bounds", m)) return -1;
        js_num loose = *u;
        loose.multiple_of = 0;
        loose.integer = true;
        return js_emit_num_range(c, &loose, n->at);
    }
    wg_expr e = js_emit_num_range(c, u, n->at);
    if (e == -2) {
        if (!js_unsupported(c, u->multiple_of_at, "'multipleOf' %g is not supported (only integers and powers of "
                                                  "ten are)", m))
            return -1;
        js_num loose = *u;
        loose.multiple_of = 0;
        e = js_emit_num_range(c, &loose, n->at);
    }
    return e;
}
