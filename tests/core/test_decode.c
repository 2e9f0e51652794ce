/* The decode loop's edges on the Markov backend: stop strings, max_tokens,
 * EOS, context limits, a malformed draft, statistics; and the runner's batch
 * mode, `weft check`, `weft plugins describe` and exit codes. Expected
 * tokens come from th_markov_greedy, an independent greedy walk. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

#define GREEDY "\"samplers\": [{\"use\": \"greedy\"}]"
#define SPEC_PL "\"drafter\": {\"use\": \"prompt-lookup\"}"
#define SPEC_TREE "\"drafter\": {\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2}"

typedef struct streamed {
    char text[4096];
    size_t len;
} streamed;

static void on_text(void *user, const char *text, size_t len) {
    streamed *s = user;
    cr_assert_lt(s->len + len, sizeof s->text);
    memcpy(s->text + s->len, text, len);
    s->text[s->len += len] = 0;
}

static weft_status generate_streamed(weft_pipeline *p, const char *prompt, int64_t max_tokens, streamed *s,
                                     weft_result *r, char *err) {
    memset(s, 0, sizeof *s);
    weft_request req = {.prompt = prompt, .prompt_len = strlen(prompt), .max_tokens = max_tokens,
                        .on_text = on_text, .user = s};
    return weft_generate(p, &req, r, err, WEFT_ERR_CAP);
}

/* ---- stop strings, max_tokens, EOS ---- */

Test(decode, stop_string_truncates_before_it) {
    th_markov m = TH_MARKOV_DEFAULT;
    int32_t ref[128];
    bool eos;
    size_t n = th_markov_greedy(&m, "abc", 128, ref, &eos);
    cr_assert_eq(n, 128);
    char full[129], stop[4];
    th_markov_text(ref, n, full);
    memcpy(stop, full + 40, 3); /* a stop string the greedy text surely contains */
    stop[3] = 0;
    size_t at = (size_t)(strstr(full, stop) - full);
    weft_registry *reg = th_registry();
    const char *variants[] = {"", ", " SPEC_PL, ", " SPEC_TREE};
    for (size_t v = 0; v < 3; v++) {
        weft_pipeline *p = th_pipeline(reg,
                                       "{\"backend\": {\"use\": \"markov\"}%s, " GREEDY ", "
                                       "\"generate\": {\"max_tokens\": 128, \"stop\": [\"zzzz\", \"%s\"]}}",
                                       variants[v], stop);
        streamed s;
        weft_result r;
        char err[WEFT_ERR_CAP] = "";
        cr_assert_eq(generate_streamed(p, "abc", -1, &s, &r, err), WEFT_OK, "%s", err);
        cr_assert_eq(r.finish, WEFT_FINISH_STOP, "variant %zu: finish %s", v, weft_finish_name(r.finish));
        cr_assert_eq(r.text_len, at);
        cr_assert(strncmp(r.text, full, at) == 0 && r.text[at] == 0, "variant %zu: text \"%s\", expected the first %zu of \"%s\"", v,
                  r.text, at, full);
        /* generation stopped at the token completing the stop string */
        cr_assert_eq(r.n_tokens, at + 3);
        /* nothing of the stop string leaked into the stream */
        cr_assert_str_eq(s.text, r.text, "variant %zu: streamed \"%s\"", v, s.text);
        weft_result_free(&r);
        weft_pipeline_free(p);
    }
    weft_registry_free(reg);
}

Test(decode, max_tokens_and_length_finish) {
    th_markov m = TH_MARKOV_DEFAULT;
    int32_t ref[40];
    bool eos;
    size_t n = th_markov_greedy(&m, "nmlk", 40, ref, &eos);
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, " SPEC_PL ", " GREEDY
                                        ", \"generate\": {\"max_tokens\": 40}}");
    static const int64_t limits[] = {0, 1, 2, 7, -1};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        weft_result r;
        th_generate(p, "nmlk", limits[i], -1, &r);
        size_t want = limits[i] < 0 ? n : (size_t)limits[i];
        cr_assert_eq(r.n_tokens, want, "max_tokens %lld: %zu tokens", (long long)limits[i], r.n_tokens);
        cr_assert_arr_eq(r.tokens, ref, want * sizeof *ref);
        cr_assert_eq(r.finish, WEFT_FINISH_LENGTH, "max_tokens %lld: finish %s", (long long)limits[i],
                     weft_finish_name(r.finish));
        cr_assert_eq(r.text_len, want);
        weft_result_free(&r);
    }
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

Test(decode, eos_ends_generation) {
    /* with a high EOS logit the greedy walk ends early; find a prompt where it
     * does after a few tokens */
    th_markov m = {.seed = 11, .sharpness = 3, .eos_logit = 2.0, .n_vocab = 16};
    char prompt[16] = "";
    int32_t ref[64];
    bool eos = false;
    size_t n = 0;
    uint64_t st = 5;
    for (int tries = 0; tries < 500 && !(eos && n >= 3); tries++) {
        th_random_prompt(&st, 16, 4, prompt);
        n = th_markov_greedy(&m, prompt, 64, ref, &eos);
    }
    cr_assert(eos && n >= 3, "no prompt ends with EOS after a few tokens");
    weft_registry *reg = th_registry();
    const char *variants[] = {"", ", " SPEC_PL, ", " SPEC_TREE};
    for (size_t v = 0; v < 3; v++) {
        weft_pipeline *p = th_pipeline(reg,
                                       "{\"backend\": {\"use\": \"markov\", \"seed\": 11, \"eos_logit\": 2.0}%s, " GREEDY
                                       ", \"generate\": {\"max_tokens\": 64}}",
                                       variants[v]);
        weft_result r;
        th_generate(p, prompt, -1, -1, &r);
        cr_assert_eq(r.finish, WEFT_FINISH_EOS, "variant %zu: finish %s", v, weft_finish_name(r.finish));
        cr_assert_eq(r.n_tokens, n);
        cr_assert_arr_eq(r.tokens, ref, n * sizeof *ref);
        cr_assert_eq(r.text_len, n, "EOS must not add text");
        weft_result_free(&r);
        weft_pipeline_free(p);
    }
    weft_registry_free(reg);
}

/* An empty prompt is BOS alone: nothing to prefill, the first step
 * evaluates BOS at position 0. */
Test(decode, empty_prompt_starts_from_bos) {
    th_markov m = TH_MARKOV_DEFAULT;
    int32_t ref[20];
    bool eos;
    size_t n = th_markov_greedy(&m, "", 20, ref, &eos);
    weft_registry *reg = th_registry();
    const char *variants[] = {"", ", " SPEC_PL, ", " SPEC_TREE};
    for (size_t v = 0; v < 3; v++) {
        weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}%s, " GREEDY "}", variants[v]);
        int64_t e0 = th_call_int(p, "/backend", "eval_count");
        weft_result r;
        th_generate(p, "", 20, -1, &r);
        cr_assert_eq(r.n_tokens, n);
        cr_assert_arr_eq(r.tokens, ref, n * sizeof *ref);
        cr_assert_eq(r.stats.n_prompt, 1);
        cr_assert_eq(th_call_int(p, "/backend", "eval_count") - e0, r.stats.n_steps, "no prefill evaluation");
        weft_result_free(&r);
        weft_pipeline_free(p);
    }
    weft_registry_free(reg);
}

/* ---- context limits ---- */

Test(decode, prompt_longer_than_context) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\", \"n_ctx\": 8}, " GREEDY "}");
    weft_request req = {.prompt = "abcdefg", .prompt_len = 7, .max_tokens = -1}; /* BOS + 7 = 8 tokens */
    weft_result r;
    char err[WEFT_ERR_CAP] = "";
    cr_assert_eq(weft_generate(p, &req, &r, err, sizeof err), WEFT_ERR_CONTEXT_FULL);
    cr_assert_str_eq(err, "prompt is 8 tokens but the context holds 8 (one more is needed to generate)");
    cr_assert_eq(r.finish, WEFT_FINISH_ERROR);
    weft_result_free(&r);
    /* far longer than any buffer: still a clean error naming the context */
    req.prompt = "abcdefghijabcdefghijabcdefghij";
    req.prompt_len = strlen(req.prompt);
    cr_assert_eq(weft_generate(p, &req, &r, err, sizeof err), WEFT_ERR_CONTEXT_FULL);
    /* the full count is reported: BOS + 30 characters */
    cr_assert_str_eq(err, "prompt is 31 tokens but the context holds 8 (one more is needed to generate)");
    weft_result_free(&r);
    /* one token shorter fits; the pipeline is still usable after the errors */
    th_generate(p, "abcdef", -1, -1, &r);
    cr_assert_eq(r.finish, WEFT_FINISH_CONTEXT);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* The cache holds n_ctx entries; the last committed token needs none, so a
 * prompt of n tokens leaves n_ctx + 1 - n tokens to generate, with or
 * without speculation. */
Test(decode, generation_reaching_the_context) {
    th_markov m = {.seed = 1, .sharpness = 3, .eos_logit = -100, .n_vocab = 16};
    const size_t n_ctx = 32, n_prompt = 6; /* BOS + "fedcb" */
    int32_t ref[64];
    bool eos;
    size_t n = th_markov_greedy(&m, "fedcb", n_ctx + 1 - n_prompt, ref, &eos);
    weft_registry *reg = th_registry();
    const char *variants[] = {"",
                              ", " SPEC_PL,
                              ", " SPEC_TREE,
                              ", " SPEC_TREE ", \"verifier\": {\"use\": \"greedy-match\"}",
                              ", \"drafter\": {\"use\": \"prompt-lookup\", \"max_draft\": 16}, "
                              "\"generate\": {\"max_draft_nodes\": 16, \"max_tokens\": 1000}"};
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\", \"n_ctx\": 32, \"eos_logit\": -100}%s, " GREEDY "}",
                                       variants[v]);
        weft_result r;
        th_generate(p, "fedcb", 1000, -1, &r);
        cr_assert_eq(r.finish, WEFT_FINISH_CONTEXT, "variant %zu: finish %s", v, weft_finish_name(r.finish));
        cr_assert_eq(r.n_tokens, n, "variant %zu: %zu tokens, expected %zu", v, r.n_tokens, n);
        cr_assert_arr_eq(r.tokens, ref, n * sizeof *ref);
        weft_result_free(&r);
        /* and the next request starts from an empty cache */
        th_generate(p, "ab", 3, -1, &r);
        cr_assert_eq(r.n_tokens, 3);
        weft_result_free(&r);
        weft_pipeline_free(p);
    }
    weft_registry_free(reg);
}

/* ---- errors ---- */

Test(decode, malformed_draft_tree_names_the_drafter) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, \"drafter\": {\"use\": \"bad-draft\"}, " GREEDY "}");
    weft_request req = {.prompt = "abc", .prompt_len = 3, .max_tokens = 8};
    weft_result r;
    char err[WEFT_ERR_CAP] = "";
    cr_assert_neq(weft_generate(p, &req, &r, err, sizeof err), WEFT_OK);
    cr_assert_str_eq(err, "drafter 'bad-draft' (/drafter): returned a malformed draft tree: "
                          "node 1 has parent 1 (parents must precede their children)");
    cr_assert_eq(r.finish, WEFT_FINISH_ERROR);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

Test(decode, bad_prompt_is_an_error_and_the_pipeline_survives) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, " SPEC_PL ", " GREEDY "}");
    weft_request req = {.prompt = "ab?", .prompt_len = 3, .max_tokens = 8};
    weft_result r;
    char err[WEFT_ERR_CAP] = "";
    cr_assert_eq(weft_generate(p, &req, &r, err, sizeof err), WEFT_ERR_INVALID);
    cr_assert_str_eq(err, "backend 'markov' (/backend): tokenize failed (invalid): byte 0x3f at offset 2 is not in "
                          "the vocabulary (n_vocab 16: \"abcdefghijklmn\")");
    weft_result_free(&r);
    th_generate(p, "ab", 8, -1, &r);
    cr_assert_eq(r.n_tokens, 8);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* ---- statistics ---- */

Test(decode, stats_are_consistent) {
    weft_registry *reg = th_registry();
    static const char *const pipes[] = {
        "{\"backend\": {\"use\": \"markov\"}, " SPEC_TREE ", \"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}]}",
        "{\"backend\": {\"use\": \"markov\"}, " SPEC_PL ", " GREEDY "}",
        "{\"backend\": {\"use\": \"markov\"}, " GREEDY "}",
        "{\"backend\": {\"use\": \"markov\"}, " SPEC_TREE ", \"verifier\": {\"use\": \"accept-all\"}}",
    };
    for (size_t k = 0; k < sizeof pipes / sizeof *pipes; k++) {
        weft_pipeline *p = th_pipeline(reg, "%s", pipes[k]);
        for (int64_t seed = 1; seed <= 5; seed++) {
            static const char *const prompts[] = {"a", "abcabcab", "nmnmnmnmnm"};
            const char *prompt = prompts[seed % 3];
            int64_t e0 = th_call_int(p, "/backend", "eval_count");
            weft_result r;
            th_generate(p, prompt, 48, seed, &r);
            const weft_stats *s = &r.stats;
            int64_t evals = th_call_int(p, "/backend", "eval_count") - e0;
            cr_assert_eq(s->n_prompt, (int64_t)strlen(prompt) + 1, "BOS + one token per character");
            cr_assert_eq(s->n_generated, (int64_t)r.n_tokens);
            cr_assert_leq(s->n_accepted, s->n_drafted);
            cr_assert_leq(s->n_draft_steps, s->n_steps);
            /* one evaluation per step, plus the prefill (prompts here have BOS + >= 1 token) */
            cr_assert_eq(evals, s->n_steps + 1);
            /* each step commits its accepted tokens and one more; the last step's
             * may be cut short (max_tokens, EOS, which is committed, not emitted) */
            int64_t hist = 0, most = 0;
            for (int i = 0; i < 17; i++) {
                hist += s->accept_hist[i];
                if (s->accept_hist[i]) most = i;
            }
            cr_assert_geq(s->n_steps + s->n_accepted, s->n_generated);
            cr_assert_leq(s->n_steps + s->n_accepted - s->n_generated, most + 1);
            cr_assert_eq(hist, s->n_draft_steps);
            cr_assert_eq(s->lossy, false, "all these verifiers claim to be lossless");
            cr_assert_geq(s->seconds_total, s->seconds_decode);
            /* one byte per character token; BOS (accept-all lets q's through) has no text */
            size_t chars = 0;
            for (size_t i = 0; i < r.n_tokens; i++) chars += r.tokens[i] >= 2;
            cr_assert_eq(r.text_len, chars);
            weft_result_free(&r);
        }
        weft_pipeline_free(p);
    }
    weft_registry_free(reg);
}

/* ---- the runner ---- */

static char *write_pipeline(const char *name, const char *body) {
    char text[2048];
    snprintf(text, sizeof text, "{%s, \"plugin_path\": [\"%s\"]}", body, WEFT_TEST_FIXTURE_DIR);
    return th_write_file(name, text);
}

static const char *line_at(const char *text, size_t i) {
    for (; i > 0 && text; i--) {
        text = strchr(text, '\n');
        if (text) text++;
    }
    return text;
}

Test(runner, batch_mode) {
    char *pipe = write_pipeline("batch.json", "\"backend\": {\"use\": \"markov\"}, " SPEC_PL ", " GREEDY
                                              ", \"generate\": {\"max_tokens\": 12}");
    char *in = th_write_file("in.jsonl", "{\"id\": \"first\", \"prompt\": \"abcab\"}\n"
                                         "{\"id\": 7, \"prompt\": \"bcd\", \"max_tokens\": 5}\n"
                                         "{\"id\": \"bad\", \"prompt\": 5}\n"
                                         "not json\n"
                                         "\n"
                                         "{\"prompt\": \"ab?\"}\n"
                                         "{\"id\": [1, 2], \"prompt\": \"n\"}\n");
    char out[2048];
    snprintf(out, sizeof out, "%s/out.jsonl", th_tmp_dir());
    th_cmd c;
    th_cli(&c, (const char *[]){"run", pipe, "--input", in, "--output", out, "-q", NULL});
    cr_assert_eq(c.code, 6, "exit %d, stderr: %s", c.code, c.err);
    char *got = th_read_file(out);
    cr_assert_not_null(got);
    /* one line per non-blank input line */
    size_t lines = 0;
    for (const char *s = got; (s = strchr(s, '\n')); s++) lines++;
    cr_assert_eq(lines, 6, "output:\n%s", got);
    /* expected texts from the greedy walk */
    th_markov m = TH_MARKOV_DEFAULT;
    int32_t ref[16];
    bool eos;
    char t1[17], t2[17], t6[17], want[512];
    th_markov_text(ref, th_markov_greedy(&m, "abcab", 12, ref, &eos), t1);
    th_markov_text(ref, th_markov_greedy(&m, "bcd", 5, ref, &eos), t2);
    th_markov_text(ref, th_markov_greedy(&m, "n", 12, ref, &eos), t6);
    const char *expect_prefix[] = {NULL, NULL, "{\"id\":\"bad\",\"error\":", "{\"id\":4,\"error\":", "{\"id\":6,", NULL};
    snprintf(want, sizeof want, "{\"id\":\"first\",\"text\":\"%s\",\"finish\":\"length\",\"stats\":", t1);
    cr_assert(strncmp(line_at(got, 0), want, strlen(want)) == 0, "line 1: %s\nexpected %s", got, want);
    snprintf(want, sizeof want, "{\"id\":7,\"text\":\"%s\",\"finish\":\"length\",\"stats\":", t2);
    cr_assert(strncmp(line_at(got, 1), want, strlen(want)) == 0, "line 2: %s\nexpected %s", line_at(got, 1), want);
    for (size_t i = 2; i < 5; i++)
        cr_assert(strncmp(line_at(got, i), expect_prefix[i], strlen(expect_prefix[i])) == 0, "line %zu: %s", i + 1,
                  line_at(got, i));
    cr_assert(strstr(line_at(got, 2), "in.jsonl:3: expected a JSON object with a string \\\"prompt\\\""), "%s", got);
    cr_assert(strstr(line_at(got, 3), "in.jsonl:4: expected a JSON object"), "%s", got);
    cr_assert(strstr(line_at(got, 4), "\"finish\":\"error\"") && strstr(line_at(got, 4), "byte 0x3f at offset 2"),
              "line 5: %s", line_at(got, 4));
    snprintf(want, sizeof want, "{\"id\":[1,2],\"text\":\"%s\",\"finish\":\"length\",\"stats\":", t6);
    cr_assert(strncmp(line_at(got, 5), want, strlen(want)) == 0, "line 6: %s\nexpected %s", line_at(got, 5), want);
    free(got);
    th_cmd_free(&c);
    /* all lines fine: exit 0 */
    char *good = th_write_file("good.jsonl", "{\"id\": 1, \"prompt\": \"ab\"}\n{\"id\": 2, \"prompt\": \"cd\"}\n");
    th_cli(&c, (const char *[]){"run", pipe, "--input", good, "--output", out, "-q", NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    th_cmd_free(&c);
    free(good);
    free(in);
    free(pipe);
}

Test(runner, run_prompt_prints_the_text) {
    char *pipe = write_pipeline("run.json", "\"backend\": {\"use\": \"markov\"}, " SPEC_TREE ", " GREEDY);
    th_cmd c;
    th_cli(&c, (const char *[]){"run", pipe, "-p", "abc", "-n", "20", NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    th_markov m = TH_MARKOV_DEFAULT;
    int32_t ref[20];
    bool eos;
    char want[24];
    th_markov_text(ref, th_markov_greedy(&m, "abc", 20, ref, &eos), want);
    strcat(want, "\n");
    cr_assert_str_eq(c.out, want);
    cr_assert(strstr(c.err, "finish: length"), "%s", c.err);
    th_cmd_free(&c);
    /* a generation error exits 1 */
    th_cli(&c, (const char *[]){"run", pipe, "-p", "ab?", NULL});
    cr_assert_eq(c.code, 1, "exit %d, stderr: %s", c.code, c.err);
    cr_assert(strstr(c.err, "byte 0x3f"), "%s", c.err);
    th_cmd_free(&c);
    free(pipe);
}

Test(runner, check_exit_codes) {
    char *good = write_pipeline("good.json", "\"backend\": {\"use\": \"markov\"}");
    char *bad = write_pipeline("bad.json", "\"backend\": {\"use\": \"markov\"}, \"samplers\": [{\"use\": \"top-k\", \"k\": -3}]");
    char *unknown = write_pipeline("unknown.json", "\"backend\": {\"use\": \"no-such-backend\"}");
    th_cmd c;
    th_cli(&c, (const char *[]){"check", good, NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    char want[2200];
    snprintf(want, sizeof want, "%s: ok\n", good);
    cr_assert_str_eq(c.out, want);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"check", bad, NULL});
    cr_assert_eq(c.code, 3, "exit %d", c.code);
    snprintf(want, sizeof want, "weft: %s: /samplers/0/k: expected integer >= 0, got -3\n", bad);
    cr_assert_str_eq(c.err, want);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"check", unknown, NULL});
    cr_assert_eq(c.code, 3, "exit %d", c.code);
    cr_assert(strstr(c.err, "/backend/use: unknown backend 'no-such-backend'"), "%s", c.err);
    th_cmd_free(&c);
    /* run: an invalid pipeline exits 3, a missing component 4, a missing file 5 */
    th_cli(&c, (const char *[]){"run", bad, "-p", "ab", NULL});
    cr_assert_eq(c.code, 3, "exit %d", c.code);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"run", unknown, "-p", "ab", NULL});
    cr_assert_eq(c.code, 4, "exit %d", c.code);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"check", "/nonexistent/pipeline.json", NULL});
    cr_assert_eq(c.code, 5, "exit %d", c.code);
    th_cmd_free(&c);
    free(good);
    free(bad);
    free(unknown);
}

Test(runner, plugins_describe_lists_parameters) {
    th_cmd c;
    th_cli(&c, (const char *[]){"plugins", "describe", "top-k", NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    cr_assert(strncmp(c.out, "sampler top-k ", 14) == 0, "%s", c.out);
    cr_assert(strstr(c.out, "\n    k                  integer >= 0, default 40\n"), "%s", c.out);
    th_cmd_free(&c);
    /* test plugins appear only with -P: their parameters and actions */
    th_cli(&c, (const char *[]){"plugins", "describe", "markov", NULL});
    cr_assert_eq(c.code, 4, "markov found without -P: %s", c.out);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"plugins", "describe", "markov", "-P", WEFT_TEST_FIXTURE_DIR, NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    cr_assert(strstr(c.out, "n_vocab            integer in [4, 66], default 16"), "%s", c.out);
    cr_assert(strstr(c.out, "integer eval_count()"), "%s", c.out);
    th_cmd_free(&c);
}

Test(runner, usage_errors_exit_2) {
    th_cmd c;
    th_cli(&c, (const char *[]){"frobnicate", NULL});
    cr_assert_eq(c.code, 2, "exit %d", c.code);
    cr_assert(strstr(c.err, "unknown command 'frobnicate'"), "%s", c.err);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){NULL});
    cr_assert_eq(c.code, 2, "exit %d", c.code);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"run", NULL});
    cr_assert_eq(c.code, 2, "exit %d", c.code);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"run", "x.json", "-n", "-4", "-p", "a", NULL});
    cr_assert_eq(c.code, 2, "exit %d", c.code);
    th_cmd_free(&c);
}
