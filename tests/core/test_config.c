/* Pipeline validation: a table of malformed pipelines, each with the exact
 * message it must produce (JSON pointer first), checked through both
 * weft_pipeline_check and weft_pipeline_new. The Markov backend lets every
 * pipeline instantiate without a model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

/* A registry with a known load order, so "available: ..." lists are fixed. */
static weft_registry *config_registry(void) {
    static const char *const builtin[] = {"weft-sampler-greedy.so", "weft-sampler-temperature.so",
                                          "weft-sampler-top-k.so", "weft-verifier-greedy-match.so",
                                          "weft-verifier-speculative-sampling.so", "weft-drafter-prompt-lookup.so"};
    static const char *const fixtures[] = {"weft-backend-markov.so", "weft-sampler-fixture-actions.so"};
    weft_registry *reg = weft_registry_new();
    char path[1024], err[WEFT_ERR_CAP];
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++)
        cr_assert_eq(weft_registry_load(reg, th_fixture_path(path, sizeof path, fixtures[i]), err, sizeof err),
                     WEFT_OK, "%s", err);
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        cr_assert_eq(weft_registry_load(reg, th_builtin_path(path, sizeof path, builtin[i]), err, sizeof err),
                     WEFT_OK, "%s", err);
    return reg;
}

#define MARKOV "\"backend\": {\"use\": \"markov\"}"

typedef struct bad_case {
    const char *json;
    const char *error;
    /* only instantiation can tell (create() refuses) */
    bool new_only;
} bad_case;

static const bad_case bad_cases[] = {
    /* parameter values */
    {"{" MARKOV ", \"samplers\": [{\"use\": \"greedy\"}, {\"use\": \"top-k\", \"k\": -3}]}",
     "/samplers/1/k: expected integer >= 0, got -3", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"temperature\", \"t\": \"hot\"}]}",
     "/samplers/0/t: expected number >= 0, got \"hot\"", false},
    {"{\"backend\": {\"use\": \"markov\", \"n_vocab\": 3}}",
     "/backend/n_vocab: expected integer in [4, 66], got 3", false},
    {"{\"backend\": {\"use\": \"markov\", \"n_vocab\": 8.5}}",
     "/backend/n_vocab: expected integer in [4, 66], got 8.5", false},
    {"{\"backend\": {\"use\": \"markov\", \"n_ctx\": true}}",
     "/backend/n_ctx: expected integer in [8, 65536], got true", false},
    {"{\"backend\": {\"use\": \"markov\", \"vocab\": 8}}",
     "/backend/vocab: unknown parameter 'vocab' for backend 'markov' "
     "(parameters: n_vocab, n_ctx, seed, sharpness, eos_logit, n_layers)", false},
    {"{" MARKOV ", \"verifier\": {\"use\": \"greedy-match\", \"strict\": true}}",
     "/verifier/strict: unknown parameter 'strict' for verifier 'greedy-match' (it takes no parameters)", false},
    {"{" MARKOV ", \"drafter\": {\"use\": \"prompt-lookup\", \"max_n\": 0}}",
     "/drafter/max_n: expected integer >= 1, got 0", false},
    /* components: missing, unknown, of the wrong kind, not objects */
    {"{\"weft\": 1}", "/: missing required section \"backend\"", false},
    {"{\"backend\": {\"model\": \"x.gguf\"}}", "/backend: missing \"use\": which backend to load", false},
    {"{\"backend\": {\"use\": 3}}", "/backend/use: expected the name of a backend, got 3", false},
    {"{\"backend\": {\"use\": \"nope\"}}", "/backend/use: unknown backend 'nope' (available: markov)", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"top-q\"}]}",
     "/samplers/0/use: unknown sampler 'top-q' (available: fixture-actions, greedy, temperature, top-k)", false},
    {"{\"backend\": {\"use\": \"greedy\"}}", "/backend/use: 'greedy' is a sampler, not a backend", false},
    {"{" MARKOV ", \"verifier\": {\"use\": \"prompt-lookup\"}}",
     "/verifier/use: 'prompt-lookup' is a drafter, not a verifier", false},
    {"{\"backend\": \"markov\"}",
     "/backend: expected a backend object such as {\"use\": \"name\"}, got \"markov\"", false},
    {"{" MARKOV ", \"drafter\": null}",
     "/drafter: expected a drafter object such as {\"use\": \"name\"}, got null", false},
    {"{" MARKOV ", \"samplers\": {\"use\": \"greedy\"}}", "/samplers: expected an array of sampler objects or a preset name", false},
    {"{" MARKOV ", \"samplers\": \"llama\"}", "/samplers: unknown preset \"llama\" (presets: llama.cpp, greedy)", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"greedy\"}, 5]}",
     "/samplers/1: expected a sampler object such as {\"use\": \"name\"}, got 5", false},
    /* nested components (fixture-actions' "chain" of samplers) */
    {"{" MARKOV ", \"samplers\": [{\"use\": \"fixture-actions\", \"chain\": [{\"use\": \"greedy\"}, "
     "{\"use\": \"top-k\", \"k\": -3}]}]}",
     "/samplers/0/chain/1/k: expected integer >= 0, got -3", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"fixture-actions\", \"chain\": [{\"use\": \"markov\"}]}]}",
     "/samplers/0/chain/0/use: 'markov' is a backend, not a sampler", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"fixture-actions\", \"chain\": 5}]}",
     "/samplers/0/chain: expected an array, got 5", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"fixture-actions\", \"chain\": [{\"use\": \"fixture-actions\", "
     "\"chain\": [{\"k\": 1}]}]}]}",
     "/samplers/0/chain/0/chain/0: missing \"use\": which sampler to load", false},
    /* the pipeline's own keys */
    {"[1, 2]", "/: a pipeline is a JSON object", false},
    {"{" MARKOV ", \"bogus\": 1}",
     "/bogus: unknown parameter 'bogus' for a pipeline (parameters: weft, threads, backend, drafter, verifier, "
     "samplers, grammar, kv, generate, plugin_path, actions, description)", false},
    {"{\"weft\": 2, " MARKOV "}", "/weft: expected integer in [1, 1], got 2", false},
    {"{" MARKOV ", \"threads\": -1}", "/threads: expected integer in [0, 256], got -1", false},
    {"{" MARKOV ", \"threads\": \"4\"}", "/threads: expected integer in [0, 256], got \"4\"", false},
    {"{" MARKOV ", \"description\": 5}", "/description: expected string, got 5", false},
    {"{" MARKOV ", \"plugin_path\": \"/opt/weft\"}", "/plugin_path: expected an array of folder names", false},
    {"{" MARKOV ", \"plugin_path\": [\"/opt/weft\", 1]}", "/plugin_path/1: expected a string", false},
    /* generate */
    {"{" MARKOV ", \"generate\": []}", "/generate: expected an object", false},
    {"{" MARKOV ", \"generate\": {\"max_tokens\": -1}}",
     "/generate/max_tokens: expected integer in [0, 1000000000], got -1", false},
    {"{" MARKOV ", \"generate\": {\"max_token\": 5}}",
     "/generate/max_token: unknown parameter 'max_token' for the generate section (parameters: max_tokens, seed, "
     "max_draft_nodes, max_draft_depth, add_bos, parse_special, stop)", false},
    {"{" MARKOV ", \"generate\": {\"max_draft_nodes\": 300}}",
     "/generate/max_draft_nodes: expected integer in [0, 256], got 300", false},
    {"{" MARKOV ", \"generate\": {\"add_bos\": 1}}", "/generate/add_bos: expected boolean, got 1", false},
    {"{" MARKOV ", \"generate\": {\"stop\": \"\\n\"}}", "/generate/stop: expected an array of strings", false},
    {"{" MARKOV ", \"generate\": {\"stop\": [\"ab\", \"\"]}}", "/generate/stop/1: expected a non-empty string", false},
    {"{" MARKOV ", \"generate\": {\"stop\": [3]}}", "/generate/stop/0: expected a non-empty string", false},
    /* create() refuses what the declared range cannot express (sharpness > 0) */
    {"{\"backend\": {\"use\": \"markov\", \"sharpness\": 0}}",
     "backend 'markov' (/backend): create failed (invalid): sharpness must be > 0, got 0", true},
    {"{" MARKOV ", \"drafter\": {\"use\": \"prompt-lookup\", \"min_n\": 3, \"max_n\": 2}}",
     "drafter 'prompt-lookup' (/drafter): create failed (invalid): "
     "need 1 <= min_n <= max_n and max_draft >= 1, got 3, 2, 8",
     true},
    /* actions: weft check type-checks them without calling */
    {"{" MARKOV ", \"actions\": {}}", "/actions: expected an array", false},
    {"{" MARKOV ", \"actions\": [{\"component\": \"/backend\"}]}",
     "/actions/0: expected {\"component\": \"/drafter\", \"action\": \"name\", \"args\": [...]}", false},
    {"{" MARKOV ", \"actions\": [{\"component\": \"/drafter\", \"action\": \"eval_count\"}]}",
     "/actions/0/component: no component at /drafter (use a JSON pointer such as /drafter or /samplers/0)", false},
    {"{" MARKOV ", \"actions\": [{\"component\": \"/backend\", \"action\": \"reload\"}]}",
     "/actions/0/action: backend 'markov' has no action 'reload' (actions: partial_count, eval_count, eval_tokens)", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"fixture-actions\"}], \"actions\": [{\"component\": \"/samplers/0\", "
     "\"action\": \"configure\", \"args\": [3, 2.5, \"hi\", \"yes\"]}]}",
     "/actions/0/args/3: action 'configure' argument 3 ('b') expects bool, got \"yes\"", false},
    {"{" MARKOV ", \"samplers\": [{\"use\": \"fixture-actions\"}], \"actions\": [{\"component\": \"/samplers/0\", "
     "\"action\": \"configure\", \"args\": [3]}]}",
     "/actions/0/args: action 'configure' takes 4 arguments, got 1", false},
};

static void expect_error(weft_registry *reg, const bad_case *c, size_t i, bool instantiate) {
    char err[WEFT_ERR_CAP] = "";
    size_t len = strlen(c->json);
    if (instantiate) {
        weft_pipeline *p = weft_pipeline_new(reg, c->json, len, "case.json", NULL, err, sizeof err);
        cr_expect_null(p, "case %zu: weft_pipeline_new accepted %s", i, c->json);
        weft_pipeline_free(p);
    } else {
        weft_status st = weft_pipeline_check(reg, c->json, len, "case.json", NULL, err, sizeof err);
        cr_expect_eq(st, WEFT_ERR_INVALID, "case %zu: weft_pipeline_check accepted %s", i, c->json);
    }
    cr_expect_str_eq(err, c->error, "case %zu (%s) of %s:\n  got      %s\n  expected %s", i,
                     instantiate ? "new" : "check", c->json, err, c->error);
}

Test(config, malformed_pipelines_exact_messages) {
    cr_assert_geq(sizeof bad_cases / sizeof *bad_cases, 25);
    weft_registry *reg = config_registry();
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        expect_error(reg, &bad_cases[i], i, true);
        if (!bad_cases[i].new_only) expect_error(reg, &bad_cases[i], i, false);
    }
    weft_registry_free(reg);
}

/* The message gives line:col and the byte where cJSON stopped: at the
 * offending byte or (after a failed string) the one past it. */
static void expect_position(const char *err, const char *origin, size_t line, size_t line_start, size_t lo,
                            size_t hi) {
    char fmt[128];
    size_t l = 0, col = 0, byte = 0;
    snprintf(fmt, sizeof fmt, "%s:%%zu:%%zu: malformed JSON near byte %%zu", origin);
    cr_assert_eq(sscanf(err, fmt, &l, &col, &byte), 3, "unexpected message: %s", err);
    cr_expect_eq(l, line, "%s", err);
    cr_expect(byte >= lo && byte <= hi, "byte not in [%zu, %zu]: %s", lo, hi, err);
    cr_expect_eq(col, byte - line_start + 1, "column and byte disagree: %s", err);
}

Test(config, malformed_json_has_line_and_column) {
    weft_registry *reg = config_registry();
    char err[WEFT_ERR_CAP] = "";
    static const char json[] = "{\n  \"backend\": {\"use\": \"markov\",}\n}\n";
    size_t at = (size_t)(strchr(json, '}') - json); /* the '}' after the trailing comma */
    cr_assert_eq(weft_pipeline_check(reg, json, strlen(json), "p.json", NULL, err, sizeof err), WEFT_ERR_INVALID);
    expect_position(err, "p.json", 2, 2, at, at + 1);
    cr_assert_null(weft_pipeline_new(reg, json, strlen(json), "p.json", NULL, err, sizeof err));
    expect_position(err, "p.json", 2, 2, at, at + 1);
    /* unterminated string: somewhere inside it, up to the end of the text */
    static const char cut[] = "{\"backend\": {\"use\": \"mark";
    cr_assert_eq(weft_pipeline_check(reg, cut, strlen(cut), NULL, NULL, err, sizeof err), WEFT_ERR_INVALID);
    expect_position(err, "<pipeline>", 1, 0, (size_t)(strrchr(cut, '"') - cut), strlen(cut));
    weft_registry_free(reg);
}

static const char *const good_cases[] = {
    "{" MARKOV "}",
    "{\"weft\": 1, \"threads\": 1, \"description\": \"plain greedy\", " MARKOV ", \"samplers\": [{\"use\": \"greedy\"}]}",
    "{" MARKOV ", \"drafter\": {\"use\": \"prompt-lookup\", \"max_n\": 4}, \"verifier\": {\"use\": \"greedy-match\"}, "
    "\"generate\": {\"max_tokens\": 0, \"seed\": 9, \"max_draft_nodes\": 256, \"max_draft_depth\": 64, "
    "\"add_bos\": false, \"parse_special\": true, \"stop\": [\"\\n\\n\", \"ab\"]}}",
    "{\"backend\": {\"use\": \"markov\", \"n_vocab\": 66, \"n_ctx\": 8, \"seed\": -5, \"sharpness\": 0.5, "
    "\"eos_logit\": 2}, \"samplers\": [{\"use\": \"top-k\", \"k\": 0}, {\"use\": \"temperature\", \"t\": 0}], "
    "\"plugin_path\": []}",
    "{" MARKOV ", \"samplers\": [{\"use\": \"fixture-actions\"}], \"actions\": [{\"component\": \"/samplers/0\", "
    "\"action\": \"configure\", \"args\": [3, 2, \"x\", false]}, {\"component\": \"/backend\", \"action\": "
    "\"eval_count\"}]}",
};

Test(config, valid_pipelines_pass_check_and_instantiate) {
    weft_registry *reg = config_registry();
    for (size_t i = 0; i < sizeof good_cases / sizeof *good_cases; i++) {
        char err[WEFT_ERR_CAP] = "";
        const char *j = good_cases[i];
        cr_expect_eq(weft_pipeline_check(reg, j, strlen(j), "good.json", NULL, err, sizeof err), WEFT_OK,
                     "case %zu: %s\n%s", i, err, j);
        weft_pipeline *p = weft_pipeline_new(reg, j, strlen(j), "good.json", NULL, err, sizeof err);
        cr_expect_not_null(p, "case %zu: %s\n%s", i, err, j);
        weft_pipeline_free(p);
    }
    weft_registry_free(reg);
}

/* Defaults fill what a pipeline leaves out: the smallest pipeline decodes
 * greedily (samplers [greedy]) for generate.max_tokens = 128 tokens. */
Test(config, defaults_apply) {
    weft_registry *reg = config_registry();
    weft_pipeline *p = th_pipeline(reg, "{" MARKOV ", \"generate\": {\"seed\": 3}}");
    weft_result r;
    th_generate(p, "abc", -1, -1, &r);
    th_markov m = TH_MARKOV_DEFAULT;
    int32_t want[128];
    bool eos;
    size_t n = th_markov_greedy(&m, "abc", 128, want, &eos);
    cr_assert_eq(r.n_tokens, n);
    cr_assert_arr_eq(r.tokens, want, n * sizeof *want);
    cr_assert_eq(r.finish, eos ? WEFT_FINISH_EOS : WEFT_FINISH_LENGTH);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}
