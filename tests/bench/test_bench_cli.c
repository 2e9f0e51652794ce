/* `weft bench` end to end, on the Markov backend with the fixture plugins:
 * the JSON report, the SVG, exit codes, and the output check: a lossless
 * pipeline must reproduce its baseline (accept-all, which claims to be
 * lossless and is not, is flagged MISMATCH with exit 7), while a lossy
 * verifier (typical-acceptance) and a sampled target are not compared. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"
#include "json_check.h"

#define MARKOV "\"backend\": {\"use\": \"markov\", \"n_vocab\": 16}"
#define GREEDY "\"samplers\": [{\"use\": \"greedy\"}]"
#define SAMPLED "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}]"
#define DRAFT "\"drafter\": {\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2}"
#define SPEC "\"verifier\": {\"use\": \"speculative-sampling\"}"

/* Prompts over the Markov vocabulary (n_vocab 16: letters a to n). */
static const char prompts_text[] = "abcabc\ndeaf\n\nbead\nface\ncabbage\nhijack\nmiff\nglade\n";
enum { N_PROMPTS = 8 };

static char *pipeline(const char *name, const char *body) {
    char text[1024];
    snprintf(text, sizeof text, "{\"weft\": 1, \"description\": \"%s\", %s}", name, body);
    char file[64];
    snprintf(file, sizeof file, "%s.json", name);
    return th_write_file(file, text);
}

typedef struct bench_run {
    th_cmd cmd;
    cJSON *json; /* the --json report, NULL if none */
    char *svg;
} bench_run;

/* weft bench PIPELINES... --prompts F --reps 2 -n 24 --json --svg -P fixtures [extra] */
static void bench_with(bench_run *r, const char *const *pipelines, const char *extra) {
    char *prompts = th_write_file("prompts.txt", prompts_text);
    char json_path[2048], svg_path[2048];
    snprintf(json_path, sizeof json_path, "%s/bench.json", th_tmp_dir());
    snprintf(svg_path, sizeof svg_path, "%s/bench.svg", th_tmp_dir());
    remove(json_path);
    remove(svg_path);
    const char *args[32] = {"bench"};
    size_t n = 1;
    while (*pipelines) args[n++] = *pipelines++;
    const char *rest[] = {"--prompts", prompts, "--reps", "2", "-n", "24", "--json", json_path, "--svg", svg_path,
                          "-P", WEFT_TEST_FIXTURE_DIR, "-q", extra, NULL};
    memcpy(args + n, rest, sizeof rest);
    th_cli(&r->cmd, args);
    char *txt = th_read_file(json_path);
    r->json = txt ? cJSON_Parse(txt) : NULL;
    free(txt);
    r->svg = th_read_file(svg_path);
    free(prompts);
}

static void bench(bench_run *r, const char *const *pipelines) { bench_with(r, pipelines, NULL); }

static void bench_free(bench_run *r) {
    th_cmd_free(&r->cmd);
    cJSON_Delete(r->json);
    free(r->svg);
}

static const cJSON *pipeline_report(const bench_run *r, int i) {
    cr_assert_not_null(r->json, "no JSON report; stderr:\n%s", r->cmd.err);
    const cJSON *p = cJSON_GetArrayItem(json_get(r->json, "pipelines"), i);
    cr_assert_not_null(p, "no pipeline %d in the report", i);
    return p;
}

/* The fields every side (baseline, pipeline) reports. */
static void check_side(const cJSON *s, bool drafts) {
    cr_assert_gt(json_num(s, "tokens_per_second"), 0);
    cr_assert_eq(cJSON_GetArraySize(json_get(s, "tokens_per_second_reps")), 2);
    const cJSON *totals = json_get(s, "totals");
    cr_assert_eq(json_num(totals, "generated_tokens") > 0, true);
    cr_assert_eq(cJSON_GetArraySize(json_get(totals, "accepted_histogram")), 17);
    double tps = json_num(s, "tokens_per_step"), rate = json_num(s, "acceptance_rate");
    if (drafts) {
        cr_assert_gt(json_num(totals, "drafted"), 0);
        cr_assert(tps >= 1 && rate >= 0 && rate <= 1, "tokens/step %g, acceptance %g", tps, rate);
    } else {
        cr_assert_eq(json_num(totals, "drafted"), 0, "the baseline must not draft");
        cr_assert_float_eq(tps, 1.0, 1e-9);
    }
    const cJSON *share = json_get(s, "time_share");
    double sum = 0;
    for (const char *const *k = (const char *const[]){"prefill", "backend", "drafter", "grammar", "sampler",
                                                       "verifier", "kv", "other", NULL};
         *k; k++)
        sum += json_num(share, *k);
    cr_assert_float_eq(sum, 1.0, 1e-6, "time shares sum to %g", sum);
}

Test(bench_cli, lossless_and_lossy_pipelines) {
    char *lossless = pipeline("lossless", MARKOV ", " DRAFT ", " SPEC ", " GREEDY);
    char *lossy = pipeline("lossy", MARKOV ", " DRAFT ", \"verifier\": {\"use\": \"typical-acceptance\"}, " SAMPLED);
    bench_run r;
    bench(&r, (const char *[]){lossless, lossy, NULL});
    cr_assert_eq(r.cmd.code, 0, "exit %d; stderr:\n%s", r.cmd.code, r.cmd.err);
    cr_assert_eq(json_num(r.json, "prompts"), N_PROMPTS);
    cr_assert_eq(json_num(r.json, "reps"), 2);
    cr_assert_eq(json_num(r.json, "max_tokens"), 24);
    cr_assert_eq(cJSON_GetArraySize(json_get(r.json, "pipelines")), 2);

    const cJSON *p = pipeline_report(&r, 0);
    cr_assert_str_eq(json_str(p, "file"), lossless);
    cr_assert_str_eq(json_str(p, "description"), "lossless");
    cr_assert(cJSON_IsFalse(json_get(p, "lossy")));
    cr_assert_str_eq(json_str(p, "output"), "identical");
    cr_assert_eq(json_num(p, "compared"), 2 * N_PROMPTS);
    cr_assert_eq(json_num(p, "differing"), 0);
    cr_assert_gt(json_num(p, "speedup"), 0);
    cr_assert_eq(cJSON_GetArraySize(json_get(p, "speedup_reps")), 2);
    check_side(json_get(p, "baseline"), false);
    check_side(json_get(p, "pipeline"), true);

    /* lossy: outputs differ from the sampled baseline, and that is no failure */
    p = pipeline_report(&r, 1);
    cr_assert(cJSON_IsTrue(json_get(p, "lossy")));
    cr_assert_str_eq(json_str(p, "output"), "lossy");
    cr_assert_gt(json_num(p, "differing"), 0);
    check_side(json_get(p, "pipeline"), true);

    cr_assert(strstr(r.cmd.out, "speedup") && strstr(r.cmd.out, "tok/step") && strstr(r.cmd.out, "backend"),
              "no table on stdout:\n%s", r.cmd.out);
    cr_assert(strstr(r.cmd.out, "output identical to the baseline"), "%s", r.cmd.out);
    cr_assert(strstr(r.cmd.out, "lossy verifier"), "%s", r.cmd.out);
    cr_assert_null(strstr(r.cmd.out, "MISMATCH"), "%s", r.cmd.out);

    cr_assert_not_null(r.svg, "no SVG written");
    cr_assert(strncmp(r.svg, "<svg", 4) == 0 && strstr(r.svg, "</svg>"), "not an SVG:\n%.200s", r.svg);
    cr_assert(strstr(r.svg, "lossless.json") && strstr(r.svg, "Accepted draft tokens"), "%s", r.svg);
    bench_free(&r);
    free(lossless);
    free(lossy);
}

Test(bench_cli, lossless_claim_broken_is_a_mismatch) {
    /* accept-all claims WEFT_CAP_LOSSLESS but commits the draft unchecked */
    char *broken = pipeline("broken", MARKOV ", " DRAFT ", \"verifier\": {\"use\": \"accept-all\"}, " GREEDY);
    bench_run r;
    bench(&r, (const char *[]){broken, NULL});
    cr_assert_eq(r.cmd.code, 7, "exit %d; stderr:\n%s", r.cmd.code, r.cmd.err);
    cr_assert(strstr(r.cmd.out, "MISMATCH"), "%s", r.cmd.out);
    cr_assert(strstr(r.cmd.err, "MISMATCH"), "%s", r.cmd.err);
    const cJSON *p = pipeline_report(&r, 0);
    cr_assert_str_eq(json_str(p, "output"), "mismatch");
    cr_assert(cJSON_IsFalse(json_get(p, "lossy")));
    cr_assert_gt(json_num(p, "differing"), 0);
    cr_assert_not_null(r.svg, "the report is still written");
    bench_free(&r);
    free(broken);
}

Test(bench_cli, sampled_lossless_is_not_compared) {
    char *sampled = pipeline("sampled", MARKOV ", " DRAFT ", " SPEC ", " SAMPLED);
    bench_run r;
    bench(&r, (const char *[]){sampled, NULL});
    cr_assert_eq(r.cmd.code, 0, "exit %d; stderr:\n%s", r.cmd.code, r.cmd.err);
    cr_assert_str_eq(json_str(pipeline_report(&r, 0), "output"), "sampled");
    bench_free(&r);
    free(sampled);
}

/* Token recycling keeps its matrix across requests. Each repetition opens
 * the pipeline afresh, so on a deterministic backend both repetitions
 * accept exactly the same; with --keep-state the second answers prompts
 * the matrix has seen, and accepts differently. */
Test(bench_cli, repetitions_start_fresh_unless_keep_state) {
    char *tr = pipeline("recycling", MARKOV ", \"drafter\": {\"use\": \"token-recycling\"}, " GREEDY);
    double steps[2][2];
    for (int keep = 0; keep < 2; keep++) {
        bench_run r;
        bench_with(&r, (const char *[]){tr, NULL}, keep ? "--keep-state" : NULL);
        cr_assert_eq(r.cmd.code, 0, "exit %d; stderr:\n%s", r.cmd.code, r.cmd.err);
        const cJSON *p = pipeline_report(&r, 0);
        cr_assert_str_eq(json_str(p, "output"), "identical");
        const cJSON *reps = json_get(json_get(p, "pipeline"), "tokens_per_step_reps");
        cr_assert_eq(cJSON_GetArraySize(reps), 2);
        for (int i = 0; i < 2; i++) steps[keep][i] = cJSON_GetArrayItem(reps, i)->valuedouble;
        cr_assert_gt(steps[keep][0], 1.0, "token recycling never got a draft accepted");
        bench_free(&r);
    }
    cr_assert_eq(steps[0][0], steps[0][1], "fresh repetitions differ: %g, %g", steps[0][0], steps[0][1]);
    cr_assert_eq(steps[1][0], steps[0][0], "the first repetition does not depend on --keep-state");
    cr_assert_neq(steps[1][1], steps[1][0], "--keep-state: the second repetition learned nothing more (%g)",
                  steps[1][1]);
    free(tr);
}

/* ---- usage and errors ---- */

static int exit_code(const char *const *args) {
    th_cmd c;
    th_cli(&c, args);
    int code = c.code;
    th_cmd_free(&c);
    return code;
}

Test(bench_cli, exit_codes) {
    char *good = pipeline("good", MARKOV ", " DRAFT ", " GREEDY);
    char *invalid = pipeline("invalid", MARKOV ", \"drafter\": {\"use\": \"random-draft\", \"depth\": -1}");
    char *unknown = pipeline("unknown", MARKOV ", \"drafter\": {\"use\": \"no-such-drafter\"}");
    char *prompts = th_write_file("p.txt", "abc\n");
    char *empty = th_write_file("empty.txt", "\n  \n");
    const char *fx = WEFT_TEST_FIXTURE_DIR;
    th_cmd help;
    th_cli(&help, (const char *[]){"bench", "--help", NULL});
    cr_assert_eq(help.code, 0);
    cr_assert(strstr(help.out, "--prompts"), "%s", help.out);
    th_cmd_free(&help);
    cr_assert_eq(exit_code((const char *[]){"bench", NULL}), 2);
    cr_assert_eq(exit_code((const char *[]){"bench", good, "-P", fx, NULL}), 2, "--prompts is required");
    cr_assert_eq(exit_code((const char *[]){"bench", "--prompts", prompts, "-P", fx, NULL}), 2, "no pipeline");
    cr_assert_eq(exit_code((const char *[]){"bench", good, "--prompts", prompts, "--reps", "0", "-P", fx, NULL}), 2);
    cr_assert_eq(exit_code((const char *[]){"bench", good, "--prompts", empty, "-P", fx, NULL}), 2);
    cr_assert_eq(exit_code((const char *[]){"bench", good, "--prompts", "/nonexistent/p.txt", "-P", fx, NULL}), 5);
    cr_assert_eq(exit_code((const char *[]){"bench", "/nonexistent/x.json", "--prompts", prompts, "-P", fx, NULL}), 5);
    cr_assert_eq(exit_code((const char *[]){"bench", invalid, "--prompts", prompts, "-P", fx, NULL}), 3);
    cr_assert_eq(exit_code((const char *[]){"bench", unknown, "--prompts", prompts, "-P", fx, NULL}), 4);
    cr_assert_eq(exit_code((const char *[]){"bench", good, "--prompts", prompts, "-P", fx, "-q", NULL}), 0);
    free(good);
    free(invalid);
    free(unknown);
    free(prompts);
    free(empty);
}

/* The pipelines docs/performance.md measures (tests/drafters/bench/) stay
 * valid against the built plugins: a renamed parameter fails here, not in
 * a reader's shell. */
Test(bench_cli, shipped_bench_pipelines_check) {
    const char *dir = WEFT_TEST_SOURCE_DIR "/tests/drafters/bench";
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int checked = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        th_cmd c;
        th_cli(&c, (const char *[]){"check", path, "-m", WEFT_TEST_MODELS_DIR, NULL});
        cr_expect_eq(c.code, 0, "weft check %s: %s%s", e->d_name, c.out, c.err);
        th_cmd_free(&c);
        checked++;
    }
    closedir(d);
    cr_assert_geq(checked, 20, "only %d pipelines found in %s", checked, dir);
}
