/* Limits: each ends one request (or refuses one input) with a clear error,
 * never a crash or a hang, and a batch goes on with the next line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_harness.h"
#include "reliability.h"

static char *pipe_file(void) { return th_write_file("pipe.json", REL_MARKOV_PIPELINE); }

static char *out_file(void) {
    char *p = malloc(2048);
    snprintf(p, 2048, "%s/out.jsonl", th_tmp_dir());
    return p;
}

static char *repeat(char c, size_t n) {
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

/* The record lines of a batch run with extra options; asserts the exit code. */
static char *batch(const char *input, int code, const char *opt, const char *val, size_t *n) {
    char *pipe = pipe_file(), *in = th_write_file("in.jsonl", input), *out = out_file();
    th_cmd c;
    th_cli(&c, (const char *const[]){"run", pipe, "-i", in, "-o", out, "-P", WEFT_TEST_FIXTURE_DIR, "-q", opt, val, NULL});
    cr_assert_eq(c.code, code, "exit %d, expected %d: %s", c.code, code, c.err);
    th_cmd_free(&c);
    char *rec = rel_records(out, n);
    free(pipe);
    free(in);
    free(out);
    return rec;
}

/* The nth line (0-based) of text, in buf. */
static const char *line_of(const char *text, int nth, char *buf, size_t cap) {
    for (int i = 0; i < nth && text; i++) text = strchr(text, '\n') + 1;
    size_t len = strcspn(text, "\n");
    snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), text);
    return buf;
}

Test(limits, prompt_bytes_single) {
    char *pipe = pipe_file(), *prompt = repeat('a', 200);
    th_cmd c;
    th_cli(&c, (const char *const[]){"run", pipe, "-p", prompt, "--max-prompt-bytes", "100", "-P", WEFT_TEST_FIXTURE_DIR, NULL});
    cr_assert_eq(c.code, 1);
    cr_expect(strstr(c.err, "prompt is 200 bytes, over the limit of 100 (--max-prompt-bytes)"), "%s", c.err);
    th_cmd_free(&c);
    th_cli(&c, (const char *const[]){"run", pipe, "-p", prompt, "--max-prompt-bytes", "200", "-P", WEFT_TEST_FIXTURE_DIR, "-q", NULL});
    cr_assert_eq(c.code, 0, "%s", c.err);
    th_cmd_free(&c);
    free(pipe);
    free(prompt);
}

Test(limits, prompt_bytes_batch) {
    char *big = repeat('b', 300), input[1024], line[512];
    snprintf(input, sizeof input, "{\"prompt\": \"abc\"}\n{\"prompt\": \"%s\"}\n{\"prompt\": \"cab\"}\n", big);
    size_t n;
    char *rec = batch(input, 6, "--max-prompt-bytes", "256", &n);
    cr_assert_eq(n, 3);
    cr_expect(strstr(line_of(rec, 1, line, sizeof line), "2|-||prompt is 300 bytes, over the limit of 256"), "%s", rec);
    cr_expect(strstr(line_of(rec, 0, line, sizeof line), "1|length|"), "%s", rec);
    cr_expect(strstr(line_of(rec, 2, line, sizeof line), "3|length|"), "%s", rec);
    free(rec);
    free(big);
}

Test(limits, line_bytes) {
    char *big = repeat('c', 150), input[1024], line[512];
    snprintf(input, sizeof input, "{\"id\": \"x\", \"prompt\": \"abc\"}\n{\"id\": \"y\", \"prompt\": \"%s\"}\n{\"id\": \"z\", \"prompt\": \"cab\"}\n", big);
    size_t n;
    char *rec = batch(input, 6, "--max-line-bytes", "100", &n);
    cr_assert_eq(n, 3);
    /* the line is not parsed, so its record is named by its line number */
    cr_expect(strstr(line_of(rec, 1, line, sizeof line), "2|-||") && strstr(line, "bytes, over the limit of 100 (--max-line-bytes)"),
              "%s", rec);
    cr_expect(strncmp(line_of(rec, 2, line, sizeof line), "\"z\"|length|", 11) == 0, "%s", rec);
    free(rec);
    free(big);
}

Test(limits, input_bytes) {
    size_t n;
    char *pipe = pipe_file(), *in = th_write_file("in.jsonl", "{\"prompt\": \"abc\"}\n{\"prompt\": \"abc\"}\n"), *out = out_file();
    th_cmd c;
    th_cli(&c, (const char *const[]){"run", pipe, "-i", in, "-o", out, "--max-input-bytes", "20", "-P", WEFT_TEST_FIXTURE_DIR, NULL});
    cr_assert_eq(c.code, 5);
    cr_expect(strstr(c.err, "is 36 bytes, over the limit of 20 (--max-input-bytes)"), "%s", c.err);
    th_cmd_free(&c);
    char *rec = rel_records(out, &n);
    cr_expect_eq(n, 0, "nothing may run: %s", rec);
    free(rec);
    free(pipe);
    free(in);
    free(out);
}

Test(limits, max_tokens) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, REL_MARKOV_PIPELINE);
    weft_result r;
    th_generate(p, "abc", 5, -1, &r);
    cr_expect_eq(r.n_tokens, 5);
    cr_expect_eq(r.finish, WEFT_FINISH_LENGTH);
    weft_result_free(&r);
    /* a huge limit allocates nothing in proportion: the context ends it */
    th_generate(p, "abc", INT64_MAX / 2, -1, &r);
    cr_expect_eq(r.finish, WEFT_FINISH_CONTEXT, "finish %s", weft_finish_name(r.finish));
    cr_expect_leq(r.n_tokens, 256);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

Test(limits, bad_line_fields) {
    size_t n;
    char line[512];
    char *rec = batch("{\"prompt\": \"abc\", \"max_tokens\": -1}\n{\"prompt\": \"abc\", \"max_tokens\": 1.5}\n"
                      "{\"prompt\": \"abc\", \"seed\": 1e300}\n{\"prompt\": \"abc\", \"seed\": \"1\"}\n{\"prompt\": 3}\nnot json\n"
                      "{\"prompt\": \"abc\", \"max_tokens\": 3}\n",
                      6, "-n", "8", &n);
    cr_assert_eq(n, 7);
    const char *want[] = {"\"max_tokens\" must be an integer >= 0", "\"max_tokens\" must be an integer >= 0",
                          "\"seed\" must be an integer >= 0", "\"seed\" must be an integer >= 0",
                          "with a string \"prompt\"", "expected a JSON object"};
    for (int i = 0; i < 6; i++) cr_expect(strstr(line_of(rec, i, line, sizeof line), want[i]), "line %d: %s", i + 1, line);
    cr_expect(strncmp(line_of(rec, 6, line, sizeof line), "7|length|", 9) == 0, "%s", line);
    free(rec);
}

/* A prompt longer than the context fails its request with both sizes; the
 * pipeline then serves the next one. */
Test(limits, context) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\", \"n_ctx\": 16, \"eos_logit\": -30}}");
    char *prompt = repeat('a', 40), err[WEFT_ERR_CAP] = "";
    weft_request req = {.prompt = prompt, .prompt_len = 40, .max_tokens = -1};
    weft_result r;
    cr_assert_eq(weft_generate(p, &req, &r, err, sizeof err), WEFT_ERR_CONTEXT_FULL);
    cr_expect(strstr(err, "prompt is 41 tokens but the context holds 16"), "%s", err);
    weft_result_free(&r);
    th_generate(p, "abc", 100, -1, &r);
    cr_expect_eq(r.finish, WEFT_FINISH_CONTEXT);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
    /* in a batch, that line's record has the error and the next line runs */
    size_t n;
    char input[256], line[512];
    snprintf(input, sizeof input, "{\"prompt\": \"%s\"}\n{\"prompt\": \"abc\"}\n", prompt);
    char *pipe = th_write_file("small.json", "{\"backend\": {\"use\": \"markov\", \"n_ctx\": 16, \"eos_logit\": -30}}");
    char *in = th_write_file("in.jsonl", input), *out = out_file();
    th_cmd c;
    th_cli(&c, (const char *const[]){"run", pipe, "-i", in, "-o", out, "-P", WEFT_TEST_FIXTURE_DIR, "-q", NULL});
    cr_assert_eq(c.code, 6, "%s", c.err);
    th_cmd_free(&c);
    char *rec = rel_records(out, &n);
    cr_assert_eq(n, 2);
    cr_expect(strstr(line_of(rec, 0, line, sizeof line), "|error||prompt is 41 tokens but the context holds 16"), "%s", rec);
    cr_expect(strncmp(line_of(rec, 1, line, sizeof line), "2|context|", 10) == 0, "%s", rec);
    free(rec);
    free(pipe);
    free(in);
    free(out);
    free(prompt);
}

/* A grammar whose automaton blows up (the DFA of (a|b)*a(a|b){n} has 2^n
 * states) is a compile error through the pipeline, within its limits. */
static void grammar_refused(const char *grammar, const char *want, double max_seconds) {
    weft_registry *reg = th_registry();
    char json[1024], err[WEFT_ERR_CAP] = "";
    snprintf(json, sizeof json, "{\"backend\": {\"use\": \"markov\"}, \"grammar\": %s}", grammar);
    double t0 = rel_seconds();
    weft_pipeline *p = weft_pipeline_new(reg, json, strlen(json), "limits", NULL, err, sizeof err);
    double took = rel_seconds() - t0;
    cr_assert_null(p, "%s: compiled", grammar);
    cr_expect(strstr(err, "grammar '") && strstr(err, want), "%s: error '%s' lacks '%s'", grammar, err, want);
    cr_expect_lt(took, max_seconds, "%s: refused after %.1f s", grammar, took);
    weft_registry_free(reg);
}

Test(limits, grammar_states) {
    grammar_refused("{\"use\": \"regex\", \"pattern\": \"(a|b)*a(a|b){20}\", \"max_states\": 1000}",
                    "more than 1000 automaton states (limit max_states)", 5);
    grammar_refused("{\"use\": \"gbnf\", \"grammar\": \"root ::= [ab]* \\\"a\\\" [ab]{20}\", \"max_states\": 1000}",
                    "limit max_states", 5);
}

Test(limits, grammar_time) {
    grammar_refused("{\"use\": \"regex\", \"pattern\": \"(a|b)*a(a|b){20}\", \"max_states\": 100000000, \"max_ms\": 1}",
                    "longer than the limit (max_ms)", 5);
}

/* The default limits stop a blow-up too, in seconds (max_ms is 10 s). Which
 * limit trips first depends on the build's speed: either names itself. */
Test(limits, grammar_defaults, .timeout = 60) {
    grammar_refused("{\"use\": \"regex\", \"pattern\": \"(a|b)*a(a|b){24}\"}", "limit", 15);
}
