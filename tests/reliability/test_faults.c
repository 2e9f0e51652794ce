/* A plugin that fails must stop only the request it fails in: each method of
 * each kind fails once (tests/fixtures/faulty.c); the request ends with an
 * error naming the component and carrying its message, and every other
 * request gives exactly what a pipeline without the fault gives. Leaks and
 * memory errors on these paths are the ASan run's to find (.ci/run). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_harness.h"
#include "reliability.h"

#define N_REQUESTS 3
static const char *const prompts[N_REQUESTS] = {"abcab", "mnmn", "fedcba"};

/* A pipeline with every kind; `kind` is wrapped in a faulty component that
 * fails `method` on call `n` ("" for none). The backend and the kv
 * compressor are always the faulty wrappers (the kv one needs a backend that
 * takes its plans). */
static char *pipeline(const char *kind, const char *method, int n) {
    const char *inner[] = {
        "backend", "{\"use\": \"markov\", \"n_vocab\": 16, \"n_ctx\": 256, \"eos_logit\": -8}",
        "drafter", "{\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2}",
        "verifier", "{\"use\": \"speculative-sampling\"}",
        "sampler", "{\"use\": \"top-k\", \"k\": 8}",
        "grammar", "{\"use\": \"regex\", \"pattern\": \"[a-n]*\"}",
    };
    char part[5][512];
    for (int i = 0; i < 5; i++) {
        const char *k = inner[2 * i], *c = inner[2 * i + 1];
        bool faulty = strcmp(k, kind) == 0 || strcmp(k, "backend") == 0;
        const char *m = strcmp(k, kind) == 0 ? method : "";
        if (faulty) snprintf(part[i], sizeof part[i], "{\"use\": \"faulty\", \"inner\": %s, \"fail_method\": \"%s\", \"fail_on_call\": %d}", c, m, n);
        else snprintf(part[i], sizeof part[i], "%s", c);
    }
    char *json = malloc(4096);
    snprintf(json, 4096,
             "{\"backend\": %s, \"drafter\": %s, \"verifier\": %s,"
             " \"samplers\": [%s, {\"use\": \"temperature\", \"t\": 1.0}], \"grammar\": %s,"
             " \"kv\": {\"use\": \"faulty\", \"every\": 2, \"fail_method\": \"%s\", \"fail_on_call\": %d},"
             " \"generate\": {\"max_tokens\": 24, \"seed\": 11}}",
             part[0], part[1], part[2], part[3], part[4], strcmp(kind, "kv") == 0 ? method : "", n);
    return json;
}

/* The outputs of the fault-free pipeline. */
static char *clean[N_REQUESTS];

static void clean_outputs(weft_registry *reg) {
    char *json = pipeline("none", "", 1);
    weft_pipeline *p = th_pipeline(reg, "%s", json);
    for (int r = 0; r < N_REQUESTS; r++) {
        weft_result res;
        th_generate(p, prompts[r], -1, -1, &res);
        clean[r] = strdup(res.text);
        weft_result_free(&res);
    }
    weft_pipeline_free(p);
    free(json);
}

/* Fails `method` of `kind` on call n: creation fails (create_fails), or
 * exactly one request does and the others match the clean outputs. */
static void check_fault(weft_registry *reg, const char *kind, const char *method, int n, bool create_fails) {
    char *json = pipeline(kind, method, n), err[WEFT_ERR_CAP] = "", want[128];
    snprintf(want, sizeof want, "injected failure in %s", method);
    weft_pipeline *p = weft_pipeline_new(reg, json, strlen(json), "faults", NULL, err, sizeof err);
    if (create_fails) {
        cr_assert_null(p, "%s.%s@%d: the pipeline was created", kind, method, n);
        cr_expect(strstr(err, "'faulty'") && strstr(err, want), "%s.%s@%d: error '%s' lacks the component or its message",
                  kind, method, n, err);
        free(json);
        return;
    }
    cr_assert_not_null(p, "%s.%s@%d: %s", kind, method, n, err);
    int failures = 0;
    for (int r = 0; r < N_REQUESTS; r++) {
        weft_request req = {.prompt = prompts[r], .prompt_len = strlen(prompts[r]), .max_tokens = -1, .seed = -1};
        weft_result res;
        *err = 0;
        weft_status st = weft_generate(p, &req, &res, err, sizeof err);
        if (st != WEFT_OK) {
            failures++;
            cr_expect_eq(res.finish, WEFT_FINISH_ERROR, "%s.%s@%d: finish %s", kind, method, n, weft_finish_name(res.finish));
            cr_expect(strstr(err, "'faulty'") && strstr(err, want), "%s.%s@%d: error '%s' lacks the component or its message",
                      kind, method, n, err);
        } else {
            cr_expect_str_eq(res.text, clean[r], "%s.%s@%d: request %d after the fault differs from a clean run", kind,
                             method, n, r);
        }
        weft_result_free(&res);
    }
    cr_expect_eq(failures, 1, "%s.%s@%d: %d requests failed, expected 1", kind, method, n, failures);
    weft_pipeline_free(p);
    free(json);
}

typedef struct fault_case {
    const char *kind, *method;
    int n;
    bool create_fails;
} fault_case;

/* Every method the core calls, for each kind. Call 3 falls in the first
 * request for the per-step methods and in the third for the once-per-request
 * ones (tokenize, start, state_new). token_bytes is called for each of the
 * 16 tokens when the pipeline is made, then once per generated token. */
static const fault_case cases[] = {
    {"backend", "create", 1, true},   {"backend", "tokenize", 3, false},  {"backend", "token_bytes", 1, true},
    {"backend", "token_bytes", 20, false}, {"backend", "eval", 3, false}, {"backend", "kv_keep", 3, false},
    {"backend", "kv_compact", 3, false},
    {"sampler", "create", 1, true},   {"sampler", "apply", 3, false},     {"sampler", "clone", 3, false},
    {"drafter", "create", 1, true},   {"drafter", "start", 3, false},     {"drafter", "draft", 3, false},
    {"drafter", "observe", 3, false},
    {"verifier", "create", 1, true},  {"verifier", "verify", 3, false},
    {"grammar", "create", 1, true},   {"grammar", "set_vocab", 1, true},  {"grammar", "state_new", 3, false},
    {"grammar", "state_fork", 3, false}, {"grammar", "accept", 3, false}, {"grammar", "fill_mask", 3, false},
    {"kv", "create", 1, true},        {"kv", "plan", 3, false},
};

static void check_kind(const char *kind) {
    weft_registry *reg = th_registry();
    clean_outputs(reg);
    int n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].kind, kind) == 0) {
            check_fault(reg, kind, cases[i].method, cases[i].n, cases[i].create_fails);
            n++;
        }
    cr_assert_gt(n, 0);
    for (int r = 0; r < N_REQUESTS; r++) free(clean[r]);
    weft_registry_free(reg);
}

Test(faults, backend) { check_kind("backend"); }
Test(faults, sampler) { check_kind("sampler"); }
Test(faults, drafter) { check_kind("drafter"); }
Test(faults, verifier) { check_kind("verifier"); }
Test(faults, grammar) { check_kind("grammar"); }
Test(faults, kv) { check_kind("kv"); }

/* A later call of the same method fails too: the count is per instance, and
 * the pipeline keeps serving whatever call fails. */
Test(faults, late_call) {
    weft_registry *reg = th_registry();
    clean_outputs(reg);
    check_fault(reg, "backend", "eval", 40, false);
    check_fault(reg, "sampler", "apply", 40, false);
    for (int r = 0; r < N_REQUESTS; r++) free(clean[r]);
    weft_registry_free(reg);
}

/* Batch mode: the failing line gets a record with the error and the run
 * goes on; the other lines are what a clean run writes. Exit code 6. */
Test(faults, batch_goes_on) {
    char *bad = pipeline("verifier", "verify", 3), *good = pipeline("none", "", 1);
    char *bad_path = th_write_file("bad.json", bad), *good_path = th_write_file("good.json", good);
    char *in = th_write_file("in.jsonl", "{\"id\": \"a\", \"prompt\": \"abcab\"}\n{\"id\": \"b\", \"prompt\": \"mnmn\"}\n"
                                         "{\"id\": \"c\", \"prompt\": \"fedcba\"}\n");
    char out_bad[2048], out_good[2048];
    snprintf(out_bad, sizeof out_bad, "%s/bad.out.jsonl", th_tmp_dir());
    snprintf(out_good, sizeof out_good, "%s/good.out.jsonl", th_tmp_dir());
    th_cmd c;
    th_cli(&c, (const char *const[]){"run", bad_path, "-i", in, "-o", out_bad, "-P", WEFT_TEST_FIXTURE_DIR, "-q", NULL});
    cr_assert_eq(c.code, 6, "exit %d: %s", c.code, c.err);
    th_cmd_free(&c);
    th_cli(&c, (const char *const[]){"run", good_path, "-i", in, "-o", out_good, "-P", WEFT_TEST_FIXTURE_DIR, "-q", NULL});
    cr_assert_eq(c.code, 0, "exit %d: %s", c.code, c.err);
    th_cmd_free(&c);
    size_t nb, ng;
    char *rb = rel_records(out_bad, &nb), *rg = rel_records(out_good, &ng);
    cr_assert_eq(nb, 3);
    cr_assert_eq(ng, 3);
    char *b2 = strchr(rb, '\n') + 1, *g2 = strchr(rg, '\n') + 1;
    cr_expect(strncmp(rb, "\"a\"|error|", 10) == 0 && strstr(rb, "verifier 'faulty' (/verifier)") &&
                  strstr(rb, "injected failure in verify (call 3)"),
              "first record: %.*s", (int)(b2 - rb), rb);
    cr_expect_str_eq(b2, g2, "the lines after the failure differ from a clean run");
    free(rb);
    free(rg);
    free(bad);
    free(good);
    free(bad_path);
    free(good_path);
    free(in);
}
