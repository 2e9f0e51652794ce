/* gbnf in whole pipelines on the Markov backend (single-character tokens):
 * every output is in the grammar's language (checked with the engine's byte
 * matcher on a grammar compiled separately), generation ends with finish
 * "grammar" once only end-of-generation is left, and drafting with
 * prompt-lookup commits exactly the tokens of plain greedy decoding. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_harness.h"
#include "gbnf_parse.h"
#include "grammar.h"

typedef struct gcase {
    const char *gbnf;
    bool bounded; /* every sentence is short: generation must end by the grammar */
} gcase;

static const gcase cases[] = {
    {"root ::= word (\" \" word){2,5} \".\"\nword ::= [a-z]{1,7}", true},
    {"root ::= \"The \" [a-z]{1,9} \" is \" (\"red\" | \"blue\" | [0-9]{1,3}) \".\"", true},
    {"root ::= ([a-c]+ \" \")* \"end.\"", false},
    {"root ::= item+\nitem ::= [A-Z] [a-z]* \" \" | [0-9]+ \".\"", false},
};

static const char *const prompts[] = {"abcabcabcabc", "The cat is red. The dog is", "hello world hello world",
                                      "Zz 12. Zz 12. Zz", "a"};

#define N_PROMPTS (sizeof prompts / sizeof *prompts)
#define MAX_TOKENS 120

/* text as a JSON string body */
static void json_escape(const char *s, char *out, size_t cap) {
    size_t k = 0;
    for (; *s && k + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') out[k++] = '\\', out[k++] = *s;
        else if (*s == '\n') out[k++] = '\\', out[k++] = 'n';
        else out[k++] = *s;
    }
    out[k] = 0;
}

static weft_pipeline *pipeline(weft_registry *reg, const char *gbnf, const char *drafter) {
    char esc[2048];
    json_escape(gbnf, esc, sizeof esc);
    return th_pipeline(reg,
                       "{\"weft\": 1, \"backend\": {\"use\": \"markov\", \"n_vocab\": 66, \"seed\": 3},"
                       " %s%s%s \"grammar\": {\"use\": \"gbnf\", \"grammar\": \"%s\"},"
                       " \"generate\": {\"max_tokens\": %d}}",
                       drafter ? "\"drafter\": " : "", drafter ? drafter : "", drafter ? "," : "", esc, MAX_TOKENS);
}

static wg_grammar *compile(const char *gbnf) {
    wg_error err = {{0}};
    wg_grammar *g = gbnf_compile(gbnf, strlen(gbnf), "root", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    return g;
}

Test(gbnf_pipeline, outputs_are_in_the_language_and_end_by_the_grammar) {
    weft_registry *reg = th_registry();
    int by_grammar = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        weft_pipeline *p = pipeline(reg, cases[c].gbnf, NULL);
        wg_grammar *g = compile(cases[c].gbnf);
        for (size_t i = 0; i < N_PROMPTS; i++) {
            weft_result r;
            th_generate(p, prompts[i], -1, -1, &r);
            wg_matcher *m = wg_matcher_new(g);
            bool viable = wg_matcher_accept_bytes(m, r.text, r.text_len);
            cr_assert(viable, "grammar %zu, prompt %zu: \"%s\" is not in the language", c, i, r.text);
            if (r.finish == WEFT_FINISH_GRAMMAR) {
                by_grammar++;
                cr_assert(wg_matcher_is_accepting(m), "grammar %zu: finish grammar on an incomplete \"%s\"", c,
                          r.text);
                cr_assert(wg_matcher_is_final(m), "grammar %zu: finish grammar while \"%s\" could go on", c,
                          r.text);
            } else if (r.finish == WEFT_FINISH_EOS) {
                cr_assert(wg_matcher_is_accepting(m), "grammar %zu: EOS on an incomplete \"%s\"", c, r.text);
            } else {
                cr_assert_eq(r.finish, WEFT_FINISH_LENGTH, "grammar %zu: finish %s", c, weft_finish_name(r.finish));
                cr_assert_not(cases[c].bounded, "grammar %zu: a bounded grammar ran to max_tokens", c);
                cr_assert_eq(r.n_tokens, MAX_TOKENS);
            }
            cr_log_info("grammar %zu prompt %zu: %s \"%s\"", c, i, weft_finish_name(r.finish), r.text);
            if (cases[c].bounded)
                cr_assert_eq(r.finish, WEFT_FINISH_GRAMMAR, "grammar %zu prompt %zu: finish %s, text \"%s\"", c, i,
                             weft_finish_name(r.finish), r.text);
            wg_matcher_free(m);
            weft_result_free(&r);
        }
        wg_grammar_free(g);
        weft_pipeline_free(p);
    }
    cr_assert_geq(by_grammar, 2 * (int)N_PROMPTS);
    weft_registry_free(reg);
}

/* Greedy decoding with a drafter must commit the same tokens as without:
 * the core prunes draft nodes the grammar refuses and masks every node. */
Test(gbnf_pipeline, drafting_does_not_change_greedy_output) {
    static const char *const drafters[] = {
        "{\"use\": \"prompt-lookup\"}",
        "{\"use\": \"prompt-lookup\", \"min_n\": 1, \"max_n\": 2, \"max_draft\": 8}",
    };
    weft_registry *reg = th_registry();
    int64_t drafted = 0, accepted = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        weft_pipeline *plain = pipeline(reg, cases[c].gbnf, NULL);
        for (size_t d = 0; d < sizeof drafters / sizeof *drafters; d++) {
            weft_pipeline *spec = pipeline(reg, cases[c].gbnf, drafters[d]);
            for (size_t i = 0; i < N_PROMPTS; i++) {
                weft_result a, b;
                th_generate(plain, prompts[i], -1, -1, &a);
                th_generate(spec, prompts[i], -1, -1, &b);
                cr_assert_eq(a.n_tokens, b.n_tokens, "grammar %zu drafter %zu prompt %zu: %zu vs %zu tokens\n%s\n%s",
                             c, d, i, a.n_tokens, b.n_tokens, a.text, b.text);
                cr_assert_arr_eq(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens, "grammar %zu drafter %zu: %s vs %s",
                                 c, d, a.text, b.text);
                cr_assert_eq(a.finish, b.finish);
                drafted += b.stats.n_drafted;
                accepted += b.stats.n_accepted;
                weft_result_free(&a);
                weft_result_free(&b);
            }
            weft_pipeline_free(spec);
        }
        weft_pipeline_free(plain);
    }
    cr_log_info("%lld drafted, %lld accepted", (long long)drafted, (long long)accepted);
    cr_assert_gt(accepted, 50, "the drafter must actually draft (%lld drafted, %lld accepted)", (long long)drafted,
                 (long long)accepted);
    weft_registry_free(reg);
}
