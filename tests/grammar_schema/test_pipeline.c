/* json-schema in whole pipelines on the Markov backend (single-character
 * tokens over letters, digits, " .,;": so the schemas here have numeric
 * instances): greedy decoding with a drafter commits exactly the tokens of
 * greedy decoding without one, the core masking every draft node and
 * pruning the ones the grammar refuses; and every output is an instance.
 * Also what pipelines share through the host: the vocabulary index, and
 * the warnings in the stats. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_harness.h"
#include "schema_harness.h"

static const char *const schemas[] = {
    "{\"type\": \"integer\", \"minimum\": 10, \"maximum\": 99999}",
    "{\"type\": \"number\", \"exclusiveMinimum\": 0, \"maximum\": 512.25}",
    "{\"anyOf\": [{\"type\": \"integer\", \"multipleOf\": 7, \"minimum\": 0}, {\"enum\": [1.5, 2.25, 3]}]}",
    "{\"$defs\": {\"d\": {\"type\": \"integer\", \"minimum\": 100}}, \"$ref\": \"#/$defs/d\"}",
};

static const char *const prompts[] = {"1234 1234 1234 12", "7 14 21 28 35 4", "3.25 3.25 3.2", "a"};

#define N_PROMPTS (sizeof prompts / sizeof *prompts)

static weft_pipeline *pipeline(weft_registry *reg, const char *schema, const char *drafter) {
    return th_pipeline(reg,
                       "{\"weft\": 1, \"backend\": {\"use\": \"markov\", \"n_vocab\": 66, \"seed\": 5},"
                       " %s%s%s \"grammar\": {\"use\": \"json-schema\", \"schema\": %s, \"whitespace\": \"flexible\","
                       " \"max_whitespace\": 2}, \"generate\": {\"max_tokens\": 60}}",
                       drafter ? "\"drafter\": " : "", drafter ? drafter : "", drafter ? "," : "", schema);
}

Test(schema_pipeline, drafting_does_not_change_greedy_output) {
    static const char *const drafters[] = {
        "{\"use\": \"prompt-lookup\"}",
        "{\"use\": \"prompt-lookup\", \"min_n\": 1, \"max_n\": 2, \"max_draft\": 8}",
    };
    weft_registry *reg = th_registry();
    sh h;
    sh_init(&h);
    js_options flexible = sh_flexible();
    flexible.max_whitespace = 2;
    int64_t drafted = 0, accepted = 0;
    for (size_t c = 0; c < sizeof schemas / sizeof *schemas; c++) {
        cr_assert_eq(sh_compile(&h, schemas[c], &flexible), WEFT_OK, "%s", sh_error(&h));
        weft_pipeline *plain = pipeline(reg, schemas[c], NULL);
        for (size_t d = 0; d < sizeof drafters / sizeof *drafters; d++) {
            weft_pipeline *spec = pipeline(reg, schemas[c], drafters[d]);
            for (size_t i = 0; i < N_PROMPTS; i++) {
                weft_result a, b;
                th_generate(plain, prompts[i], -1, -1, &a);
                th_generate(spec, prompts[i], -1, -1, &b);
                cr_assert_eq(a.n_tokens, b.n_tokens, "schema %zu drafter %zu prompt %zu: %zu vs %zu tokens\n%s\n%s", c,
                             d, i, a.n_tokens, b.n_tokens, a.text, b.text);
                cr_assert_arr_eq(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens, "schema %zu drafter %zu: %s vs %s",
                                 c, d, a.text, b.text);
                cr_assert_eq(a.finish, b.finish);
                if (a.finish != WEFT_FINISH_LENGTH)
                    cr_assert(sh_accepts(&h, a.text), "schema %zu: \"%s\" is not an instance", c, a.text);
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
    /* the Markov model rarely follows the prompt: few drafts survive, but
     * every one was masked and verified */
    cr_assert(drafted > 100 && accepted > 0, "the drafter must actually draft (%lld drafted, %lld accepted)",
              (long long)drafted, (long long)accepted);
    sh_free(&h);
    weft_registry_free(reg);
}

/* The vocabulary index is the host's (host->shared): pipelines of one
 * registry with the same vocabulary share one, across grammar plugins too;
 * another vocabulary gets its own; they live until the registry goes (the
 * ASan build checks they are freed then). */
Test(schema_pipeline, pipelines_share_the_vocabulary_index) {
    weft_registry *reg = th_registry();
    weft_shared_store *store = weft_registry_shared(reg);
    weft_pipeline *a = pipeline(reg, schemas[0], NULL), *b = pipeline(reg, schemas[1], NULL);
    cr_assert_eq(weft_shared_store_count(store, "wg-vocab-index/"), 1, "same vocabulary: one index");
    weft_pipeline *c = th_pipeline(reg, "{\"weft\": 1, \"backend\": {\"use\": \"markov\", \"n_vocab\": 66, \"seed\": 9},"
                                        " \"grammar\": {\"use\": \"gbnf\", \"grammar\": \"root ::= [0-9]+\"}}");
    cr_assert_eq(weft_shared_store_count(store, "wg-vocab-index/"), 1, "another plugin, same vocabulary");
    weft_pipeline *d = th_pipeline(reg, "{\"weft\": 1, \"backend\": {\"use\": \"markov\", \"n_vocab\": 40, \"seed\": 5},"
                                        " \"grammar\": {\"use\": \"json-schema\", \"schema\": %s}}", schemas[0]);
    cr_assert_eq(weft_shared_store_count(store, "wg-vocab-index/"), 2, "another vocabulary: another index");
    weft_result r;
    th_generate(b, prompts[0], -1, -1, &r); /* masks from the shared index */
    cr_assert_neq(r.finish, WEFT_FINISH_ERROR);
    weft_result_free(&r);
    weft_pipeline_free(a);
    weft_pipeline_free(b);
    weft_pipeline_free(c);
    weft_pipeline_free(d);
    cr_assert_eq(weft_shared_store_count(store, NULL), 2, "kept for the next pipeline");
    a = pipeline(reg, schemas[2], NULL);
    cr_assert_eq(weft_shared_store_count(store, NULL), 2);
    weft_pipeline_free(a);
    weft_registry_free(reg);
}

/* A lenient schema's ignored keyword is a warning in every request's stats
 * (and their JSON), not only on stderr; requests do not pile them up. */
Test(schema_pipeline, lenient_warnings_are_in_the_stats) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"weft\": 1, \"backend\": {\"use\": \"markov\", \"n_vocab\": 66, \"seed\": 5},"
                                        " \"grammar\": {\"use\": \"json-schema\", \"lenient\": true, \"schema\":"
                                        " {\"type\": \"integer\", \"not\": {\"multipleOf\": 3}}},"
                                        " \"generate\": {\"max_tokens\": 8}}");
    for (int i = 0; i < 2; i++) {
        weft_result r;
        th_generate(p, prompts[0], -1, -1, &r);
        cr_assert_eq(r.stats.n_warnings, 1, "request %d: %lld warnings", i, (long long)r.stats.n_warnings);
        cr_assert_eq(r.stats.n_kept, 1);
        cr_assert_str_eq(r.stats.warnings[0].component, "grammar 'json-schema' (/grammar)");
        cr_assert(strstr(r.stats.warnings[0].message, "/grammar/schema/not: keyword 'not' is not supported"), "%s",
                  r.stats.warnings[0].message);
        char *json = weft_stats_json(&r.stats);
        cr_assert(strstr(json, "\"warnings\":1,\"warning_messages\":[{\"component\":\"grammar 'json-schema' "
                               "(/grammar)\""), "%s", json);
        free(json);
        weft_result_free(&r);
    }
    weft_pipeline_free(p);
    /* a strict pipeline reports none */
    p = pipeline(reg, schemas[0], NULL);
    weft_result r;
    th_generate(p, prompts[0], -1, -1, &r);
    cr_assert_eq(r.stats.n_warnings, 0);
    cr_assert_null(r.stats.warnings);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}
