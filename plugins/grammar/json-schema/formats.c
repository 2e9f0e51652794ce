/* String formats (2020-12 Validation §7.3) as grammars of the text between
 * the quotes. Each grammar accepts only valid strings of its format: where
 * the full rule is not regular or too large, a subset (documented in
 * docs/json-schema.md). Characters JSON escapes appear in their canonical
 * escape (json_chars.c).
 *   date, time, date-time: RFC 3339 §5.6 full-date / full-time, days per
 *     month and leap years included (Appendix C); upper-case T and Z, no
 *     leap second;
 *   duration: RFC 3339 Appendix A;
 *   uuid: RFC 4122 §3;
 *   email: RFC 5321 §4.1.2 dot-atom local part @ a hostname;
 *   hostname: RFC 1123 §2.1 labels (up to 8 labels of up to 30 characters,
 *     keeping under the 253-character limit);
 *   ipv4: RFC 2673 §3.2 dotted-quad; ipv6: RFC 4291 §2.2 (RFC 3986
 *     IPv6address);
 *   uri, uri-reference: RFC 3986 §3, §4.1 (IP-literal hosts limited to
 *     IPv6); iri, iri-reference: their URI subsets;
 *   idn-email, idn-hostname: their ASCII subsets (email, hostname);
 *   json-pointer: RFC 6901 §3; relative-json-pointer: a non-negative
 *     integer then "#" or a JSON pointer (draft-handrews-relative-json-
 *     pointer-01 §3, without index manipulation);
 *   uri-template: RFC 6570 §2 with ASCII literals;
 *   regex: ECMA-262 patterns made of literal characters and escaped
 *     metacharacters. */
#include "js_internal.h"

#define SEQ(...) wg_seq(b, (wg_expr[]){__VA_ARGS__}, sizeof((wg_expr[]){__VA_ARGS__}) / sizeof(wg_expr))
#define ALT(...) wg_alt(b, (wg_expr[]){__VA_ARGS__}, sizeof((wg_expr[]){__VA_ARGS__}) / sizeof(wg_expr))
#define LIT(s) wg_lit_str(b, (s))
#define OPT(e) wg_repeat(b, (e), 0, 1)
#define REP(e, lo, hi) wg_repeat(b, (e), (lo), (hi))
#define CLS(...) \
    wg_class(b, (const uint32_t[]){__VA_ARGS__}, sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t) / 2, false)

static wg_expr digit(wg_builder *b) { return CLS('0', '9'); }
static wg_expr hexdig(wg_builder *b) { return CLS('0', '9', 'a', 'f', 'A', 'F'); }
static wg_expr two(wg_builder *b, char lo0, char hi0, char lo1, char hi1) {
    return SEQ(CLS((uint32_t)lo0, (uint32_t)hi0), CLS((uint32_t)lo1, (uint32_t)hi1));
}

static wg_expr full_date(wg_builder *b) {
    wg_expr year = REP(digit(b), 4, 4);
    wg_expr d28 = ALT(two(b, '0', '0', '1', '9'), two(b, '1', '1', '0', '9'), two(b, '2', '2', '0', '8'));
    wg_expr d30 = ALT(d28, LIT("29"), LIT("30"));
    wg_expr d31 = ALT(d30, LIT("31"));
    wg_expr m31 = ALT(LIT("01"), LIT("03"), LIT("05"), LIT("07"), LIT("08"), LIT("10"), LIT("12"));
    wg_expr m30 = ALT(LIT("04"), LIT("06"), LIT("09"), LIT("11"));
    wg_expr md = ALT(SEQ(m31, LIT("-"), d31), SEQ(m30, LIT("-"), d30), SEQ(LIT("02-"), d28));
    /* Gregorian leap years: divisible by 4, not by 100 unless by 400 */
    wg_expr by4_not00 = ALT(SEQ(LIT("0"), CLS('4', '4', '8', '8')),
                            SEQ(CLS('2', '2', '4', '4', '6', '6', '8', '8'), CLS('0', '0', '4', '4', '8', '8')),
                            SEQ(CLS('1', '1', '3', '3', '5', '5', '7', '7', '9', '9'), CLS('2', '2', '6', '6')));
    wg_expr leap = ALT(SEQ(REP(digit(b), 2, 2), by4_not00),
                       SEQ(ALT(SEQ(CLS('0', '0', '2', '2', '4', '4', '6', '6', '8', '8'), CLS('0', '0', '4', '4', '8', '8')),
                               SEQ(CLS('1', '1', '3', '3', '5', '5', '7', '7', '9', '9'), CLS('2', '2', '6', '6'))),
                           LIT("00")));
    return ALT(SEQ(year, LIT("-"), md), SEQ(leap, LIT("-02-29")));
}

static wg_expr full_time(wg_builder *b) {
    wg_expr hour = ALT(two(b, '0', '1', '0', '9'), two(b, '2', '2', '0', '3'));
    wg_expr sixty = two(b, '0', '5', '0', '9');
    wg_expr secfrac = OPT(SEQ(LIT("."), REP(digit(b), 1, WG_INF)));
    wg_expr offset = ALT(LIT("Z"), SEQ(CLS('+', '+', '-', '-'), hour, LIT(":"), sixty));
    return SEQ(hour, LIT(":"), sixty, LIT(":"), sixty, secfrac, offset);
}

static wg_expr duration(wg_builder *b) {
    wg_expr n = REP(digit(b), 1, WG_INF);
    wg_expr sec = SEQ(n, LIT("S"));
    wg_expr min = SEQ(n, LIT("M"), OPT(sec));
    wg_expr hour = SEQ(n, LIT("H"), OPT(min));
    wg_expr time = SEQ(LIT("T"), ALT(hour, min, sec));
    wg_expr day = SEQ(n, LIT("D"));
    wg_expr month = SEQ(n, LIT("M"), OPT(day));
    wg_expr year = SEQ(n, LIT("Y"), OPT(month));
    wg_expr date = SEQ(ALT(day, month, year), OPT(time));
    return SEQ(LIT("P"), ALT(date, time, SEQ(n, LIT("W"))));
}

static wg_expr hostname(wg_builder *b) {
    wg_expr alnum = CLS('a', 'z', 'A', 'Z', '0', '9');
    wg_expr label = SEQ(alnum, OPT(SEQ(REP(CLS('a', 'z', 'A', 'Z', '0', '9', '-', '-'), 0, 28), alnum)));
    return SEQ(label, REP(SEQ(LIT("."), label), 0, 7));
}

static wg_expr ipv4(wg_builder *b) {
    wg_expr octet = ALT(digit(b), SEQ(CLS('1', '9'), digit(b)), SEQ(LIT("1"), digit(b), digit(b)),
                        SEQ(LIT("2"), CLS('0', '4'), digit(b)), SEQ(LIT("25"), CLS('0', '5')));
    return SEQ(octet, LIT("."), octet, LIT("."), octet, LIT("."), octet);
}

static wg_expr ipv6(wg_builder *b) {
    wg_expr h16 = REP(hexdig(b), 1, 4);
    wg_expr h16c = SEQ(h16, LIT(":"));
    wg_expr ls32 = ALT(SEQ(h16, LIT(":"), h16), ipv4(b));
    wg_expr alts[9];
    alts[0] = SEQ(REP(h16c, 6, 6), ls32);
    alts[1] = SEQ(LIT("::"), REP(h16c, 5, 5), ls32);
    /* [ *k( h16 ":" ) h16 ] "::" tail, for k = 0..6 */
    static const uint32_t tail_n[] = {4, 3, 2, 1, 0, 0, 0};
    for (uint32_t k = 0; k < 7; k++) {
        wg_expr head = OPT(SEQ(REP(h16c, 0, k), h16));
        wg_expr tail = k < 5 ? SEQ(REP(h16c, tail_n[k], tail_n[k]), ls32) : k == 5 ? h16 : wg_empty(b);
        alts[2 + k] = SEQ(head, LIT("::"), tail);
    }
    return wg_alt(b, alts, 9);
}

/* RFC 3986: the hier-part of a URI (absolute) or the relative-part of a
 * relative reference, then query and fragment. */
static wg_expr uri_like(wg_builder *b, bool relative) {
    wg_expr alpha = CLS('a', 'z', 'A', 'Z');
    wg_expr scheme = SEQ(alpha, REP(CLS('a', 'z', 'A', 'Z', '0', '9', '+', '+', '-', '.'), 0, WG_INF));
    wg_expr pct = SEQ(LIT("%"), hexdig(b), hexdig(b));
    /* unreserved / sub-delims (RFC 3986 §2.2-2.3) */
    wg_expr plain = CLS('a', 'z', 'A', 'Z', '0', '9', '-', '.', '_', '_', '~', '~', '!', '!', '$', '$', '&', ',',
                        ';', ';', '=', '=');
    wg_expr pchar = ALT(plain, pct, CLS(':', ':', '@', '@'));
    wg_expr segment = REP(pchar, 0, WG_INF);
    wg_expr segment_nz = REP(pchar, 1, WG_INF);
    wg_expr userinfo = REP(ALT(plain, pct, LIT(":")), 0, WG_INF);
    wg_expr host = ALT(SEQ(LIT("["), ipv6(b), LIT("]")), REP(ALT(plain, pct), 0, WG_INF));
    wg_expr authority = SEQ(OPT(SEQ(userinfo, LIT("@"))), host, OPT(SEQ(LIT(":"), REP(digit(b), 0, WG_INF))));
    wg_expr abempty = REP(SEQ(LIT("/"), segment), 0, WG_INF);
    wg_expr rest = REP(SEQ(LIT("/"), segment), 0, WG_INF);
    /* path-noscheme: a first segment without ':' */
    wg_expr segment_nz_nc = REP(ALT(plain, pct, LIT("@")), 1, WG_INF);
    wg_expr hier = ALT(SEQ(LIT("//"), authority, abempty), SEQ(LIT("/"), OPT(SEQ(segment_nz, rest))),
                       SEQ(relative ? segment_nz_nc : segment_nz, rest), wg_empty(b));
    wg_expr qf = REP(ALT(pchar, CLS('/', '/', '?', '?')), 0, WG_INF);
    wg_expr tail = SEQ(hier, OPT(SEQ(LIT("?"), qf)), OPT(SEQ(LIT("#"), qf)));
    return relative ? tail : SEQ(scheme, LIT(":"), tail);
}

static wg_expr uri(wg_builder *b) { return uri_like(b, false); }
static wg_expr uri_reference(wg_builder *b) { return ALT(uri_like(b, false), uri_like(b, true)); }

static wg_expr json_pointer(js_ctx *c) {
    wg_builder *b = c->b;
    static const uint32_t SPECIAL[] = {'/', '/', '~', '~'};
    wg_expr ch = ALT(js_json_chars(c, SPECIAL, 2, true), LIT("~0"), LIT("~1"));
    return REP(SEQ(LIT("/"), REP(ch, 0, WG_INF)), 0, WG_INF);
}

static wg_expr relative_json_pointer(js_ctx *c) {
    wg_builder *b = c->b;
    wg_expr n = ALT(LIT("0"), SEQ(CLS('1', '9'), REP(digit(b), 0, WG_INF)));
    return SEQ(n, ALT(LIT("#"), json_pointer(c)));
}

static wg_expr uri_template(wg_builder *b) {
    wg_expr pct = SEQ(LIT("%"), hexdig(b), hexdig(b));
    /* RFC 6570 §2.1 literals (ASCII part) */
    wg_expr literal = ALT(CLS('!', '!', '#', '$', '&', '&', '(', ';', '=', '=', '?', '[', ']', ']', '_', '_', 'a', 'z',
                              '~', '~'),
                          pct);
    wg_expr varchar = ALT(CLS('a', 'z', 'A', 'Z', '0', '9', '_', '_'), pct);
    wg_expr varname = SEQ(varchar, REP(SEQ(OPT(LIT(".")), varchar), 0, WG_INF));
    wg_expr modifier = OPT(ALT(SEQ(LIT(":"), CLS('1', '9'), REP(digit(b), 0, 3)), LIT("*")));
    wg_expr varspec = SEQ(varname, modifier);
    wg_expr op = OPT(CLS('+', '+', '#', '#', '.', '/', ';', ';', '?', '?', '&', '&', '=', '=', ',', ',', '!', '!', '@', '@',
                         '|', '|'));
    wg_expr expression = SEQ(LIT("{"), op, varspec, REP(SEQ(LIT(","), varspec), 0, WG_INF), LIT("}"));
    return REP(ALT(literal, expression), 0, WG_INF);
}

static wg_expr regex(js_ctx *c) {
    wg_builder *b = c->b;
    /* ECMA-262 §22.2.1 SyntaxCharacter */
    static const uint32_t META[] = {'^', '^', '$', '$', '\\', '\\', '.', '.', '*', '+', '?', '?', '(', ')',
                                    '[', '[', ']', ']', '{', '}', '|', '|'};
    size_t n = sizeof META / sizeof META[0] / 2;
    wg_expr escaped = SEQ(LIT("\\\\"), js_json_chars(c, META, n, false)); /* \\ in the text is one \ */
    return REP(ALT(js_json_chars(c, META, n, true), escaped), 0, WG_INF);
}

static wg_expr email(wg_builder *b) {
    wg_expr atext = REP(CLS('a', 'z', 'A', 'Z', '0', '9', '!', '!', '#', '\'', '*', '+', '-', '-', '/', '/', '=', '=',
                            '?', '?', '^', '`', '{', '~'),
                        1, WG_INF);
    return SEQ(atext, REP(SEQ(LIT("."), atext), 0, WG_INF), LIT("@"), hostname(b));
}

static wg_expr uuid(wg_builder *b) {
    wg_expr h4 = REP(hexdig(b), 4, 4);
    return SEQ(REP(hexdig(b), 8, 8), LIT("-"), h4, LIT("-"), h4, LIT("-"), h4, LIT("-"), REP(hexdig(b), 12, 12));
}

wg_expr js_emit_format(js_ctx *c, js_format f) {
    wg_builder *b = c->b;
    switch (f) {
    case JF_DATE: return full_date(b);
    case JF_TIME: return full_time(b);
    case JF_DATE_TIME: return SEQ(full_date(b), LIT("T"), full_time(b));
    case JF_DURATION: return duration(b);
    case JF_UUID: return uuid(b);
    case JF_EMAIL: return email(b);
    case JF_HOSTNAME: return hostname(b);
    case JF_IPV4: return ipv4(b);
    case JF_IPV6: return ipv6(b);
    case JF_URI:
    case JF_IRI: return uri(b);
    case JF_URI_REFERENCE:
    case JF_IRI_REFERENCE: return uri_reference(b);
    case JF_IDN_EMAIL: return email(b);
    case JF_IDN_HOSTNAME: return hostname(b);
    case JF_JSON_POINTER: return json_pointer(c);
    case JF_RELATIVE_JSON_POINTER: return relative_json_pointer(c);
    case JF_URI_TEMPLATE: return uri_template(b);
    case JF_REGEX: return regex(c);
    case JF_NONE: break;
    }
    return wg_nothing(b);
}

static const struct {
    const char *name;
    js_format f;
    uint64_t min, max; /* lengths every string of the grammar has */
} FORMATS[] = {
    {"date", JF_DATE, 10, 10},         {"time", JF_TIME, 9, JS_NO_MAX},       {"date-time", JF_DATE_TIME, 20, JS_NO_MAX},
    {"duration", JF_DURATION, 3, JS_NO_MAX}, {"uuid", JF_UUID, 36, 36},      {"email", JF_EMAIL, 3, JS_NO_MAX},
    {"hostname", JF_HOSTNAME, 1, 247}, {"ipv4", JF_IPV4, 7, 15},              {"ipv6", JF_IPV6, 2, JS_NO_MAX},
    {"uri", JF_URI, 2, JS_NO_MAX},     {"iri", JF_IRI, 2, JS_NO_MAX},        {"uri-reference", JF_URI_REFERENCE, 0, JS_NO_MAX},
    {"iri-reference", JF_IRI_REFERENCE, 0, JS_NO_MAX}, {"idn-email", JF_IDN_EMAIL, 3, JS_NO_MAX},
    {"idn-hostname", JF_IDN_HOSTNAME, 1, 247}, {"json-pointer", JF_JSON_POINTER, 0, JS_NO_MAX},
    {"relative-json-pointer", JF_RELATIVE_JSON_POINTER, 1, JS_NO_MAX}, {"uri-template", JF_URI_TEMPLATE, 0, JS_NO_MAX},
    {"regex", JF_REGEX, 0, JS_NO_MAX},
};

js_format js_format_lookup(const char *name) {
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (strcmp(FORMATS[i].name, name) == 0) return FORMATS[i].f;
    return JF_NONE;
}

void js_format_lengths(js_format f, uint64_t *min, uint64_t *max) {
    *min = 0, *max = JS_NO_MAX;
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (FORMATS[i].f == f) *min = FORMATS[i].min, *max = FORMATS[i].max;
}
