/* GBNF front-end: the shared corpus (tests: samples in, near misses out),
 * syntax errors with positions, the plugin's parameters and vtable, and
 * whole pipelines on the Markov backend (output in the language, finish
 * "grammar", drafting does not change greedy output). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbnf_parse.h"
#include "grammar_testutil.h"
#include "plugin_fixture.h"

/* ---- the corpus ---- */

typedef struct lang {
    const char *file;
    const char *yes[5];
    const char *no[6];
} lang;

static const lang langs[] = {
    {"arithmetic.gbnf",
     {"a=b\n", "12+x_1 *3= (y)\n", "(a/b)-c=7\n", "a=b\nc=d\n", "( x )=y\n"},
     {"a=b", "A=b\n", "a==b\n", "1x=2\n", "=b\n", "a=b+c\n"}},
    {"c.gbnf",
     {"int main(){return 0;}", "int f(int x){x = x*2;return x;}", "float g(){while(a<b){a = a+1;}}",
      "char h(){// hi\n}", ""},
     {"int main(){return 0}", "intmain(){}", "float f(){x=1;}", "int f(){if(a){}else}", "int 2(){}"}},
    {"chess.gbnf",
     {"1. e4 e5\n2. Nf3 Nc6\n", "1. d4 d5\n2. c4 dxc4\n10. O-O O-O-O\n", "1. e4 e5\n2. Qh5+ Ke7\n"},
     {"1. e4 e5\n", "1. e9 e5\n2. a3 a4\n", "1.e4 e5\n2. a3 a4\n", "1. e4 e5\n0. a3 a4\n"}},
    {"english.gbnf", {"Hello, world!", "a b\tc", "x\ny"}, {"h\xC3\xA9llo", "a  b", "", " a"}},
    {"japanese.gbnf",
     {"\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE3\x82\xAB\xE3\x82\xBF"},
     {"abc", "\xE3\x81\x93  \xE3\x82\x93", "\xE3\x81", ""}},
    {"json.gbnf",
     {"{\"a\": 1}", "{\"a\": [true, false, null, \"x\\n\"], \"b\": {\"c\": -1.5e3}}", "{}",
      "{\"\\u00e9\": \"\xC3\xA9\"}\n"},
     {"{\"a\": 01}", "{'a': 1}", "[1]", "{\"a\": \"\x01\"}", "{\"a\": \"\\q\"}", "{\"a\" 1}"}},
    {"json_arr.gbnf", {"[\n{\"a\": 1},\n2]", "[\n]", "[\n\"x\",\n [1, 2]]"}, {"[1]", "[\n1]\n", "[\n1,2]"}},
    {"list.gbnf", {"- item one\n- two\n", "- \xC3\xA9t\xC3\xA9\n"}, {"- \n", "* x\n", "- a\r\n", "- a"}},
};

static bool matches(const wg_grammar *g, const char *s) {
    wg_matcher *m = wg_matcher_new(g);
    bool ok = wg_matcher_accept_bytes(m, s, strlen(s)) && wg_matcher_is_accepting(m);
    wg_matcher_free(m);
    return ok;
}

Test(gbnf, corpus_grammars_accept_samples_and_refuse_near_misses) {
    for (size_t i = 0; i < sizeof langs / sizeof *langs; i++) {
        wg_grammar *g = gt_load_gbnf(langs[i].file);
        for (size_t k = 0; k < 5 && langs[i].yes[k]; k++)
            cr_assert(matches(g, langs[i].yes[k]), "%s refuses \"%s\"", langs[i].file, langs[i].yes[k]);
        for (size_t k = 0; k < 6 && langs[i].no[k]; k++)
            cr_assert_not(matches(g, langs[i].no[k]), "%s accepts \"%s\"", langs[i].file, langs[i].no[k]);
        wg_grammar_free(g);
    }
}

/* A prefix of a sample is a viable prefix; a near miss dies at the byte
 * where it leaves the language. */
Test(gbnf, prefixes_are_viable_and_errors_stop_at_the_right_byte) {
    wg_grammar *g = gt_load_gbnf("json.gbnf");
    const char *s = "{\"key\": [1, {\"x\": null}]}";
    for (size_t n = 0; n <= strlen(s); n++) {
        wg_matcher *m = wg_matcher_new(g);
        cr_assert(wg_matcher_accept_bytes(m, s, n), "prefix of %zu bytes refused", n);
        cr_assert_eq(wg_matcher_is_accepting(m), n == strlen(s));
        wg_matcher_free(m);
    }
    const char *bad = "{\"key\": [1, {\"x\": nul!}]}";
    size_t at = (size_t)(strchr(bad, '!') - bad);
    wg_matcher *m = wg_matcher_new(g);
    cr_assert(wg_matcher_accept_bytes(m, bad, at));
    cr_assert_not(wg_matcher_accept_bytes(m, bad + at, 1));
    cr_assert_eq(wg_matcher_depth(m), 1, "a refused step leaves no history");
    wg_matcher_free(m);
    wg_grammar_free(g);
}

/* ---- syntax and semantic errors ---- */

static void expect_error(const char *text, const char *want) {
    wg_error err = {{0}};
    wg_grammar *g = gbnf_compile(text, strlen(text), "root", NULL, &err);
    cr_assert_null(g, "accepted: %s", text);
    cr_assert_str_eq(err.msg, want, "for grammar: %s", text);
}

Test(gbnf, errors_have_positions_and_say_what_is_wrong) {
    expect_error("root ::= \"abc", "1:10: unterminated string literal");
    expect_error("root ::= \"ab\ncd\"", "1:10: unterminated string literal (newline inside)");
    expect_error("root ::= [a-", "1:10: unterminated character class");
    expect_error("root ::= foo", "1:10: undefined rule 'foo'");
    expect_error("root ::= \"a\"\nroot ::= \"b\"", "2:1: rule 'root' is defined twice (first at 1:1)");
    expect_error("root ::= ( \"a\"", "1:10: unmatched '('");
    expect_error("root ::= \"a\" )", "1:14: unmatched ')'");
    expect_error("root ::= *", "1:10: '*' with nothing before it to repeat");
    expect_error("root ::= \"\\q\"", "1:11: unknown escape '\\q'");
    expect_error("root \"a\"", "1:6: expected '::=' after rule name 'root'");
    expect_error("root ::= \"a\"{3,1}", "1:13: repetition {3,1} has max < min");
    expect_error("root ::= \"a\"{3", "1:13: expected '}' to close the repetition");
    expect_error("root ::= \"\\xZZ\"", "1:11: \\x needs 2 hex digits");
    expect_error("root ::= \"\\uD800\"", "1:11: \\uD800 is not a Unicode scalar value");
    expect_error("root ::= \"a\"\n  \"b\"",
                 "2:3: expected a rule name (a rule continues on the next line only after '|' or inside parentheses)");
    expect_error("x ::= \"a\"", "the grammar has no rule 'root'");
    expect_error("root ::= [z-a]", "1:11: character range out of order");
    expect_error("root ::= root \"a\" | \"b\"",
                 "left recursion: root -> root (a rule reaches itself without consuming input)");
    expect_error("  # only a comment\n", "2:1: empty grammar");
    expect_error("root ::= <[1]>", "1:10: token references ('<') are not supported");
    expect_error("root ::= \"a\"{200000}", "1:14: repetition count above 100000");
    expect_error("root ::= \"a\" $", "1:14: unexpected '$' (expected a newline or the end of the rule)");
    expect_error("r\xC3\xA9 ::= \"a\"", "1:2: expected '::=' after rule name 'r'");
    expect_error("root ::= [\xC3]", "1:11: invalid UTF-8");
    /* a line:column counts characters, not bytes */
    expect_error("root ::= \"\xC3\xA9\xC3\xA9\" foo", "1:15: undefined rule 'foo'");
}

Test(gbnf, limits_make_huge_grammars_fail_fast) {
    const char *text = "root ::= ((\"ab\" | [c-z]){1000}){1000}";
    wg_error err = {{0}};
    wg_grammar *g = gbnf_compile(text, strlen(text), "root", &(wg_limits){.max_states = 20000}, &err);
    cr_assert_null(g);
    cr_assert_str_eq(err.msg, "grammar too large: more than 20000 automaton states (limit max_states)");
}

/* Comments, multi-line rules, every repetition form, escapes. */
Test(gbnf, syntax_features) {
    const char *text =
        "# leading comment\n"
        "root ::= greeting \" \" (name | \"\\u00e9\\U0001F600\") (  # trailing comment\n"
        "  \"\\t\\x41\"  x{2} y{1,} z{0,2} .)\n"
        "greeting ::= (\n"
        "    \"hi\" |\n"
        "    \"yo\"\n"
        "  )\n"
        "name ::= [A-Z] [a-z\\-]*\n"
        "x ::= \"x\"\ny ::= \"y\"\nz ::= \"z\"\n";
    wg_error err = {{0}};
    wg_grammar *g = gbnf_compile(text, strlen(text), "root", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert(matches(g, "hi Bob-by\tAxxy\xE2\x82\xAC"));
    cr_assert(matches(g, "yo \xC3\xA9\xF0\x9F\x98\x80\tAxxyyyzz\n"));
    cr_assert_not(matches(g, "yo Bob\tAxxzz."), "y{1,} needs a y");
    cr_assert_not(matches(g, "hi Bob\tAxxyzzz."), "z{0,2} allows two");
    cr_assert_not(matches(g, "hi Bob\tAxxy"), ". needs one character");
    wg_grammar_free(g);
}

/* ---- the plugin ---- */

static pf fx;
static void teardown(void) { pf_close(&fx); }
TestSuite(gbnf_plugin, .fini = teardown);

#define VT ((const weft_grammar_vtable *)fx.desc->vtable)

Test(gbnf_plugin, descriptor_and_parameter_errors) {
    cr_assert(pf_load(&fx, WEFT_KIND_GRAMMAR, "gbnf"));
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(pf_create(&fx, PF_NO_ARGS), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "exactly one of 'grammar'"), "%s", pf_error(&fx));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_STRING("grammar", "root ::= \"a\""), PF_STRING("file", "x.gbnf"))),
                 WEFT_ERR_INVALID);
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_STRING("grammar", "root ::= \"a\" |\n  foo"))), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "grammar:2:3: undefined rule 'foo'"), "%s", pf_error(&fx));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_STRING("file", "/nonexistent/x.gbnf"))), WEFT_ERR_IO);
    cr_assert(strstr(pf_error(&fx), "/nonexistent/x.gbnf"), "%s", pf_error(&fx));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_STRING("grammar", "start ::= \"a\""))), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "no rule 'root'"), "%s", pf_error(&fx));
    cr_assert_eq(pf_create(&fx, PF_ARGS(PF_STRING("grammar", "start ::= \"a\""), PF_STRING("root", "start"))),
                 WEFT_OK, "%s", pf_error(&fx));
}

Test(gbnf_plugin, file_parameter_and_vtable) {
    char path[] = "/tmp/weft-gbnf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *text = "root ::= \"ab\" [cd]+ \"!\"\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert(pf_load(&fx, WEFT_KIND_GRAMMAR, "gbnf"));
    weft_status st = pf_create(&fx, PF_ARGS(PF_STRING("file", path)));
    unlink(path);
    cr_assert_eq(st, WEFT_OK, "%s", pf_error(&fx));
    weft_grammar_state *s = NULL;
    cr_assert_eq(VT->state_new(fx.self, &s), WEFT_ERR_INVALID, "state before the vocabulary");
    const char *strs[] = {"a", "b", "ab", "c", "d", "cd", "!", "", "abc"};
    tv_vocab *tv = tv_synthetic(strs, NULL, 9, 7);
    cr_assert_eq(VT->set_vocab(fx.self, &tv->v), WEFT_OK, "%s", pf_error(&fx));
    cr_assert_eq(VT->set_vocab(fx.self, &tv->v), WEFT_OK, "same fingerprint again");
    cr_assert_eq(VT->state_new(fx.self, &s), WEFT_OK);
    uint32_t mask[1];
    char buf[8];
    size_t len;
    cr_assert_eq(VT->jump_forward(fx.self, s, buf, sizeof buf, &len), WEFT_OK);
    cr_assert_eq(len, 2);
    cr_assert_arr_eq(buf, "ab", 2);
    cr_assert_eq(VT->fill_mask(fx.self, s, mask), WEFT_OK);
    cr_assert_eq(mask[0] & 0x1FF, 1u << 0 | 1u << 2 | 1u << 8, "a, ab, abc");
    cr_assert_eq(VT->accept(fx.self, s, 3), WEFT_ERR_INVALID, "c first");
    cr_assert_eq(VT->accept(fx.self, s, 8), WEFT_OK);
    weft_grammar_state *f = NULL;
    cr_assert_eq(VT->state_fork(fx.self, s, &f), WEFT_OK);
    cr_assert_eq(VT->accept(fx.self, f, 5), WEFT_OK);
    cr_assert_eq(VT->accept(fx.self, f, 6), WEFT_OK);
    cr_assert(VT->is_accepting(fx.self, f));
    cr_assert_eq(VT->fill_mask(fx.self, f, mask), WEFT_OK);
    cr_assert_eq(mask[0] & 0x1FF, 1u << 7, "only EOS at the end");
    cr_assert_eq(VT->accept(fx.self, f, 7), WEFT_OK);
    cr_assert_eq(VT->rollback(fx.self, f, 5), WEFT_ERR_INVALID, "only 4 accepted");
    cr_assert_eq(VT->rollback(fx.self, f, 3), WEFT_OK);
    cr_assert_not(VT->is_accepting(fx.self, s));
    uint32_t mask_s[1];
    cr_assert_eq(VT->fill_mask(fx.self, f, mask), WEFT_OK);
    cr_assert_eq(VT->fill_mask(fx.self, s, mask_s), WEFT_OK);
    cr_assert_eq(mask[0] & 0x1FF, 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6, "fork rolled back to \"abc\": c d cd !");
    cr_assert_eq(mask_s[0] & 0x1FF, mask[0] & 0x1FF, "the original stayed at \"abc\"");
    VT->state_free(fx.self, f);
    VT->state_free(fx.self, s);
    tv_free(tv);
}
