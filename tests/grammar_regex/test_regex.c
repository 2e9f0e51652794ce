/* regex front-end: ECMA-262 semantics on a table of cases, a randomized
 * cross-check against POSIX ERE (regcomp) on the constructs both share
 * (membership does not depend on leftmost-longest vs backtracking), exact
 * errors for unsupported constructs, the character-map hook, and the plugin
 * in a pipeline. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_harness.h"
#include "grammar_testutil.h"
#include "plugin_fixture.h"

static wg_grammar *compile_regex(const char *pattern, bool anchored, wg_error *err) {
    wg_builder *b = wg_builder_new();
    wg_expr e = wg_regex_to_ir(b, pattern, anchored, err);
    wg_grammar *g = NULL;
    if (e >= 0) {
        wg_rule r = wg_rule_named(b, "pattern");
        wg_rule_define(b, r, e);
        g = wg_compile(b, r, NULL, err);
    }
    wg_builder_free(b);
    return g;
}

static bool full_match(const wg_grammar *g, const char *s) {
    wg_matcher *m = wg_matcher_new(g);
    bool ok = wg_matcher_accept_bytes(m, s, strlen(s)) && wg_matcher_is_accepting(m);
    wg_matcher_free(m);
    return ok;
}

typedef struct rcase {
    const char *pattern;
    bool anchored;
    const char *yes[5], *no[5];
} rcase;

static const rcase cases[] = {
    {"^[a-z]+\\d{2,3}$", true, {"abc12", "ab123"}, {"abc1", "abc1234", "ABC12", "12"}},
    {"ab+c", false, {"xxabbcyy", "abc", "\nabc\n"}, {"ac", "ab c", ""}},
    {"^ab+c", false, {"abbbcz"}, {"xabc"}},
    {"ab+c$", false, {"zabbbc"}, {"abcx"}},
    {"^a|b$", false, {"axx", "xxb", "a", "b"}, {"xbx", "xa", ""}},
    {"(?:\\+|-)?\\d+(\\.\\d+)?", true, {"-3.14", "+2", "0"}, {"3.", ".5", "--1"}},
    {"[^\\s]+", true, {"h\xC3\xA9llo", "x"}, {"a b", "a\xC2\xA0" "b", ""}},
    {"\\w\\W\\S\\D", true, {"_-xa", "9 .b"}, {"a_xa", "9 .5"}},
    {"a.c", true, {"abc", "a\xE2\x82\xAC" "c"}, {"a\nc", "a\rc", "a\xE2\x80\xA8" "c", "ac"}},
    {"\\uD83D\\uDE00\\u{1F601}\\x41\\u0042", true, {"\xF0\x9F\x98\x80\xF0\x9F\x98\x81" "AB"}, {"AB"}},
    {"a{2}b{1,}c{0,2}d{,3}", true, {"aabd{,3}", "aabbbccd{,3}"}, {"abd{,3}", "aabcccd{,3}"}},
    {"x*?y+?z??", true, {"y", "xxyyz"}, {"", "xz"}},
    {"(a|bc)*d", true, {"d", "abcad", "bcbcd"}, {"bd", "ad d"}},
    {"[\\d\\-.]+", true, {"1-2.3", "-"}, {"1a"}},
    {"[a-]x", true, {"ax", "-x"}, {"bx"}},
    {"\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\/\\\\\\^\\$", true, {".*+?()[]{}|/\\^$"}, {"x"}},
    {"(?<year>\\d{4})-(?<m>\\d\\d)", true, {"2024-05"}, {"24-05"}},
    {"[\\b]\\t\\n\\v\\f\\r\\0\\cJ", true, {NULL}, {"x", "\b\t\n\v\f\r"}}, /* NUL: below */
    {"}]", true, {"}]"}, {"}"}},
    {"", false, {"", "anything"}, {NULL}},
    {"", true, {""}, {"a"}},
};

Test(regex, ecma_semantics_table) {
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wg_error err = {{0}};
        wg_grammar *g = compile_regex(cases[i].pattern, cases[i].anchored, &err);
        cr_assert_not_null(g, "/%s/: %s", cases[i].pattern, err.msg);
        for (size_t k = 0; k < 5 && cases[i].yes[k]; k++) {
            const char *s = cases[i].yes[k];
            cr_assert(full_match(g, s), "/%s/%s refuses \"%s\"", cases[i].pattern,
                      cases[i].anchored ? "" : " (search)", s);
        }
        for (size_t k = 0; k < 5 && cases[i].no[k]; k++)
            cr_assert_not(full_match(g, cases[i].no[k]), "/%s/%s accepts \"%s\"", cases[i].pattern,
                          cases[i].anchored ? "" : " (search)", cases[i].no[k]);
        wg_grammar_free(g);
    }
    /* the NUL character, which C strings cannot hold */
    wg_error err = {{0}};
    wg_grammar *g = compile_regex("[\\b]\\t\\n\\v\\f\\r\\0\\cJ", true, &err);
    wg_matcher *m = wg_matcher_new(g);
    cr_assert(wg_matcher_accept_bytes(m, "\b\t\n\v\f\r\0\n", 8) && wg_matcher_is_accepting(m));
    wg_matcher_free(m);
    wg_grammar_free(g);
}

/* ---- cross-check with POSIX ERE ---- */

static uint64_t rnd(uint64_t *s) { return gt_rand(s); }

/* A random pattern over a, b, c using what ERE and ECMA share. */
static void gen(char *o, uint64_t *s, int depth) {
    int n = 1 + (int)(rnd(s) % (depth ? 2 : 4));
    for (int i = 0; i < n; i++) {
        switch (rnd(s) % (depth >= 2 ? 3 : 5)) {
        case 0: strncat(o, &"abc"[rnd(s) % 3], 1); break;
        case 1: strcat(o, (const char *[]){"[ab]", "[^a]", "[a-c]", "."}[rnd(s) % 4]); break;
        case 2: strncat(o, &"abc"[rnd(s) % 3], 1); break;
        default:
            strcat(o, "(");
            gen(o, s, depth + 1);
            if (rnd(s) % 2) {
                strcat(o, "|");
                gen(o, s, depth + 1);
            }
            strcat(o, ")");
        }
        switch (rnd(s) % 7) {
        case 0: strcat(o, "*"); break;
        case 1: strcat(o, "+"); break;
        case 2: strcat(o, "?"); break;
        case 3: strcat(o, (const char *[]){"{2}", "{1,2}", "{0,3}", "{2,}"}[rnd(s) % 4]); break;
        default: break;
        }
    }
}

Test(regex, agrees_with_posix_ere, .timeout = 120) {
    uint64_t s = 11;
    size_t checked = 0;
    for (int t = 0; t < 300; t++) {
        char pat[512] = "";
        gen(pat, &s, 0);
        bool anchored = t % 2 == 0;
        char posix[600];
        snprintf(posix, sizeof posix, anchored ? "^(%s)$" : "%s", pat);
        regex_t re;
        cr_assert_eq(regcomp(&re, posix, REG_EXTENDED | REG_NOSUB), 0, "regcomp /%s/", posix);
        wg_error err = {{0}};
        wg_grammar *g = compile_regex(pat, anchored, &err);
        cr_assert_not_null(g, "/%s/: %s", pat, err.msg);
        /* every string over a, b, c, x of length <= 5 */
        char str[8];
        for (int len = 0; len <= 5; len++) {
            int total = 1;
            for (int k = 0; k < len; k++) total *= 4;
            for (int x = 0; x < total; x++) {
                for (int k = 0, y = x; k < len; k++, y /= 4) str[k] = "abcx"[y % 4];
                str[len] = 0;
                bool want = regexec(&re, str, 0, NULL, 0) == 0;
                cr_assert_eq(full_match(g, str), want, "/%s/%s on \"%s\": engine %d, POSIX %d", pat,
                             anchored ? "" : " (search)", str, !want, want);
                checked++;
            }
        }
        regfree(&re);
        wg_grammar_free(g);
    }
    cr_log_info("%zu (pattern, string) pairs agree", checked);
}

/* ---- errors ---- */

static void expect_error(const char *pattern, const char *want) {
    wg_error err = {{0}};
    wg_grammar *g = compile_regex(pattern, true, &err);
    cr_assert_null(g, "/%s/ compiled", pattern);
    cr_assert_str_eq(err.msg, want, "for /%s/", pattern);
}

Test(regex, unsupported_constructs_are_named_with_their_offset) {
    expect_error("(a)\\1", "regex offset 3: backreference '\\1' is not supported");
    expect_error("(?<n>a)\\k<n>", "regex offset 7: named backreference '\\k' is not supported");
    expect_error("a(?=b)", "regex offset 1: lookahead '(?=' is not supported");
    expect_error("a(?!b)", "regex offset 1: lookahead '(?!' is not supported");
    expect_error("(?<=a)b", "regex offset 0: lookbehind '(?<=' is not supported");
    expect_error("(?<!a)b", "regex offset 0: lookbehind '(?<!' is not supported");
    expect_error("\\bfoo", "regex offset 0: word boundary '\\b' is not supported");
    expect_error("x\\B", "regex offset 1: word boundary '\\B' is not supported");
    expect_error("\\p{L}", "regex offset 0: Unicode property escape '\\p' is not supported");
    expect_error("(?i)abc", "regex offset 0: group modifier '(?i' is not supported");
    expect_error("a^b", "regex offset 1: '^' is only supported at the start of the pattern or of a top-level alternative");
    expect_error("a$b", "regex offset 1: '$' is only supported at the end of the pattern or of a top-level alternative");
    expect_error("(a$)", "regex offset 2: '$' is only supported at the end of the pattern or of a top-level alternative");
    expect_error("(ab", "regex offset 0: unmatched '('");
    expect_error("ab)", "regex offset 2: unmatched ')'");
    expect_error("[ab", "regex offset 0: unterminated character class");
    expect_error("*a", "regex offset 0: nothing to repeat before '*'");
    expect_error("a**", "regex offset 2: nothing to repeat before '*'");
    expect_error("a{3,1}", "regex offset 1: repetition {3,1} has max < min");
    expect_error("a{99999}", "regex offset 1: repetition count above 10000");
    /* counts of many digits saturate (once looped forever on the 6th digit) */
    expect_error("a{1234567}", "regex offset 1: repetition count above 10000");
    expect_error("ab(?:x|y){88888888888888888888888888888881}", "regex offset 9: repetition count above 10000");
    expect_error("a{1,99999999}", "regex offset 1: repetition count above 10000");
    expect_error("[z-a]", "regex offset 2: range out of order in character class (offset 1)");
    expect_error("\\u12", "regex offset 0: '\\u' needs four hex digits");
    expect_error("\\uD800", "regex offset 0: lone surrogate '\\uD800' cannot match UTF-8 text");
    expect_error("\\q", "regex offset 0: unknown escape '\\q'");
    expect_error("\\", "regex offset 0: pattern ends with '\\'");
    expect_error("\\07", "regex offset 0: octal escape '\\07' is not supported");
    expect_error("a\xC3", "regex offset 1: invalid UTF-8 in the pattern");
    expect_error("{2}", "regex offset 0: nothing to repeat before '{'");
    expect_error("a{2}{3}", "regex offset 4: nothing to repeat before '{'");
}

/* ---- the character map hook ---- */

/* Each character set becomes "(" set ")", so the structure is visible. */
static wg_expr paren_map(void *ctx, wg_builder *b, const uint32_t *ranges, size_t n) {
    int *calls = ctx;
    (*calls)++;
    for (size_t i = 0; i + 1 < n; i++) cr_assert_lt(ranges[2 * i + 1], ranges[2 * i + 2], "sorted, disjoint");
    wg_expr items[3] = {wg_lit_str(b, "("), wg_class(b, ranges, n, false), wg_lit_str(b, ")")};
    return wg_seq(b, items, 3);
}

Test(regex, character_map_builds_every_character) {
    int calls = 0;
    wg_builder *b = wg_builder_new();
    wg_error err = {{0}};
    wg_regex_opts o = {.anchored = true, .map = paren_map, .map_ctx = &calls};
    wg_expr e = wg_regex_to_ir_ex(b, "a[^\\x00-\\x60b-\\u{10FFFF}]\\d.", &o, &err);
    cr_assert_geq(e, 0, "%s", err.msg);
    cr_assert_eq(calls, 4);
    wg_rule r = wg_rule_named(b, "p");
    wg_rule_define(b, r, e);
    wg_grammar *g = wg_compile(b, r, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert(full_match(g, "(a)(a)(7)(\xC3\xA9)"), "negated class reduced to 'a'");
    cr_assert_not(full_match(g, "(a)(b)(7)(x)"));
    cr_assert_not(full_match(g, "aa7x"));
    wg_grammar_free(g);
    wg_builder_free(b);
}

/* ---- the plugin ---- */

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(regex_plugin, .fini = teardown);

Test(regex_plugin, parameters_and_masks) {
    cr_assert(pf_load(&fx, WEFT_KIND_GRAMMAR, "regex"));
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_STRING("pattern", "a(?=b)"))), WEFT_ERR_INVALID);
    cr_assert_str_eq(pf_error(&fx), "pattern: regex offset 1: lookahead '(?=' is not supported");
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_STRING("pattern", "(ab|c)+"), PF_BOOL("anchored", false))), WEFT_OK);
    const char *strs[] = {"a", "b", "c", "ab", "x", ""};
    tv_vocab *tv = tv_synthetic(strs, NULL, 6, 5);
    const weft_grammar_vtable *vt = fx.desc->vtable;
    cr_assert_eq(vt->set_vocab(fx.self, &tv->v), WEFT_OK);
    weft_grammar_state *s;
    cr_assert_eq(vt->state_new(fx.self, &s), WEFT_OK);
    uint32_t mask[1];
    vt->fill_mask(fx.self, s, mask);
    cr_assert_eq(mask[0] & 0x3F, 0x1F, "search: any token first, EOS not yet");
    cr_assert_eq(vt->accept(fx.self, s, 4), WEFT_OK);
    cr_assert_eq(vt->accept(fx.self, s, 2), WEFT_OK);
    vt->fill_mask(fx.self, s, mask);
    cr_assert_eq(mask[0] & 0x3F, 0x3F, "a match seen: anything, and EOS");
    vt->state_free(fx.self, s);
    tv_free(tv);
}

Test(regex_plugin, pipeline_outputs_match) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"weft\": 1, \"backend\": {\"use\": \"markov\", \"n_vocab\": 66},"
                                        " \"grammar\": {\"use\": \"regex\", \"pattern\": \"^[A-Z][a-z]{2,6}( [a-z]+){1,3}\\\\.$\"},"
                                        " \"drafter\": {\"use\": \"prompt-lookup\"},"
                                        " \"generate\": {\"max_tokens\": 60}}");
    wg_error err = {{0}};
    wg_grammar *g = compile_regex("^[A-Z][a-z]{2,6}( [a-z]+){1,3}\\.$", true, &err);
    cr_assert_not_null(g);
    const char *prompts[] = {"Hello there you.", "abc", "Xyz abc abc abc."};
    for (size_t i = 0; i < 3; i++) {
        weft_result r;
        th_generate(p, prompts[i], -1, -1, &r);
        wg_matcher *m = wg_matcher_new(g);
        cr_assert(wg_matcher_accept_bytes(m, r.text, r.text_len), "\"%s\" left the pattern", r.text);
        if (r.finish != WEFT_FINISH_LENGTH) cr_assert(wg_matcher_is_accepting(m), "\"%s\" incomplete", r.text);
        wg_matcher_free(m);
        weft_result_free(&r);
    }
    wg_grammar_free(g);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}
