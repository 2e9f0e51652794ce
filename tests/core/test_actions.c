/* Declared actions (tests/fixtures/actions.c), called from a pipeline's
 * "actions" section, from weft_pipeline_call and from `weft call`: the
 * arguments reach the plugin with their C types, results come back as JSON,
 * and type errors name the argument by JSON pointer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

#define ACTIONS_PIPELINE                                                                           \
    "{\"backend\": {\"use\": \"markov\"}, \"samplers\": [{\"use\": \"fixture-actions\"}, {\"use\": \"greedy\"}]"

static void call_ok(weft_pipeline *p, const char *component, const char *action, const char *args,
                    const char *want) {
    char result[512] = "", err[WEFT_ERR_CAP] = "";
    weft_status st = weft_pipeline_call(p, component, action, args, result, sizeof result, err, sizeof err);
    cr_assert_eq(st, WEFT_OK, "%s %s %s: %s", component, action, args, err);
    cr_assert_str_eq(result, want, "%s %s %s", component, action, args);
}

static void call_fails(weft_pipeline *p, const char *component, const char *action, const char *args,
                       const char *want) {
    char result[512] = "", err[WEFT_ERR_CAP] = "";
    weft_status st = weft_pipeline_call(p, component, action, args, result, sizeof result, err, sizeof err);
    cr_assert_eq(st, WEFT_ERR_INVALID, "%s %s %s was accepted: %s", component, action, args, result);
    cr_assert_str_eq(err, want, "%s %s %s", component, action, args);
}

Test(actions, from_config_then_from_the_api) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, ACTIONS_PIPELINE ", \"actions\": [{\"component\": \"/samplers/0\", "
                                        "\"action\": \"configure\", \"args\": [3, 2.5, \"hi\", true]}]}");
    call_ok(p, "/samplers/0", "count", "[]", "1"); /* the config's call ran once */
    call_ok(p, "/samplers/0", "is_configured", "[]", "true");
    call_ok(p, "/samplers/0", "configure", "[3, 2.5, \"hi\", true]", "\"n=3 x=2.5 s=hi b=true\"");
    call_ok(p, "/samplers/0", "configure", "[-7, -0.25, \"a \\\"quoted\\\" word\", false]",
            "\"n=-7 x=-0.25 s=a \\\"quoted\\\" word b=false\"");
    call_ok(p, "/samplers/0", "configure", "[9007199254740992, 1e300, \"\", true]",
            "\"n=9007199254740992 x=1e+300 s= b=true\"");
    call_ok(p, "/samplers/0", "configure", "[0, 4, \"int for a double\", false]",
            "\"n=0 x=4 s=int for a double b=false\"");
    call_ok(p, "/samplers/0", "count", "[]", "5");
    call_ok(p, "/samplers/0", "half", "[5]", "2.5");
    call_ok(p, "/samplers/0", "reset", "[]", "null");
    call_ok(p, "/samplers/0", "is_configured", "[]", "false");
    call_ok(p, "/samplers/0", "count", NULL, "0"); /* NULL args: no arguments */
    /* the sampler still does its job in the chain: identity before greedy */
    weft_result r;
    th_generate(p, "abc", 4, -1, &r);
    cr_assert_eq(r.n_tokens, 4);
    weft_result_free(&r);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* State lives in each instance: a second pipeline counts on its own. */
Test(actions, state_is_per_instance) {
    weft_registry *reg = th_registry();
    weft_pipeline *a = th_pipeline(reg, ACTIONS_PIPELINE "}");
    weft_pipeline *b = th_pipeline(reg, ACTIONS_PIPELINE "}");
    call_ok(a, "/samplers/0", "configure", "[1, 1, \"a\", true]", "\"n=1 x=1 s=a b=true\"");
    call_ok(a, "/samplers/0", "configure", "[2, 2, \"a\", true]", "\"n=2 x=2 s=a b=true\"");
    call_ok(b, "/samplers/0", "configure", "[3, 3, \"b\", false]", "\"n=3 x=3 s=b b=false\"");
    call_ok(a, "/samplers/0", "count", "[]", "2");
    call_ok(b, "/samplers/0", "count", "[]", "1");
    weft_pipeline_free(a);
    weft_pipeline_free(b);
    weft_registry_free(reg);
}

Test(actions, type_errors_name_the_argument) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, ACTIONS_PIPELINE "}");
    call_fails(p, "/samplers/0", "configure", "[\"3\", 2.5, \"hi\", true]",
               "/samplers/0: action 'configure' argument 0 ('n') expects an integer, got \"3\"");
    call_fails(p, "/samplers/0", "configure", "[2.5, 2.5, \"hi\", true]",
               "/samplers/0: action 'configure' argument 0 ('n') expects an integer, got 2.5");
    call_fails(p, "/samplers/0", "configure", "[3, \"2.5\", \"hi\", true]",
               "/samplers/0: action 'configure' argument 1 ('x') expects number, got \"2.5\"");
    call_fails(p, "/samplers/0", "configure", "[3, 2.5, 7, true]",
               "/samplers/0: action 'configure' argument 2 ('s') expects string, got 7");
    call_fails(p, "/samplers/0", "configure", "[3, 2.5, \"hi\", 1]",
               "/samplers/0: action 'configure' argument 3 ('b') expects bool, got 1");
    call_fails(p, "/samplers/0", "configure", "[3, 2.5, \"hi\"]", "/samplers/0: action 'configure' takes 4 arguments, got 3");
    call_fails(p, "/samplers/0", "count", "[1]", "/samplers/0: action 'count' takes 0 arguments, got 1");
    call_fails(p, "/samplers/0", "half", "[]", "/samplers/0: action 'half' takes 1 argument, got 0");
    call_fails(p, "/samplers/0", "configure", "{\"n\": 3}", "/samplers/0: arguments of action 'configure' must be an array");
    call_fails(p, "/samplers/0", "configure", "[3,", "/samplers/0: arguments of action 'configure' are not valid JSON");
    call_fails(p, "/samplers/0", "nope", "[]",
               "/samplers/0: sampler 'fixture-actions' has no action 'nope' "
               "(actions: configure, count, half, is_configured, reset)");
    call_fails(p, "/samplers/1", "configure", "[]", "/samplers/1: sampler 'greedy' has no action 'configure' (actions: none)");
    call_fails(p, "/drafter", "configure", "[]",
               "no component at /drafter (use a JSON pointer such as /drafter or /samplers/0)");
    call_fails(p, "/samplers/2", "count", "[]",
               "no component at /samplers/2 (use a JSON pointer such as /drafter or /samplers/0)");
    /* nothing ran */
    call_ok(p, "/samplers/0", "count", "[]", "0");
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* Nested components are instantiated, applied, and reachable by pointer. */
Test(actions, nested_components) {
    weft_registry *reg = th_registry();
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, \"samplers\": [{\"use\": \"fixture-actions\", "
                                        "\"chain\": [{\"use\": \"fixture-actions\"}, {\"use\": \"top-k\", \"k\": 1}]}, "
                                        "{\"use\": \"temperature\", \"t\": 1.0}]}");
    call_ok(p, "/samplers/0/chain/0", "configure", "[1, 2, \"inner\", true]", "\"n=1 x=2 s=inner b=true\"");
    call_ok(p, "/samplers/0/chain/0", "count", "[]", "1");
    call_ok(p, "/samplers/0", "count", "[]", "0");
    call_fails(p, "/samplers/0/chain/1", "count", "[]",
               "/samplers/0/chain/1: sampler 'top-k' has no action 'count' (actions: none)");
    /* the nested top-k 1 makes sampling at temperature 1 greedy */
    th_markov m = TH_MARKOV_DEFAULT;
    int32_t ref[24];
    bool eos;
    size_t n = th_markov_greedy(&m, "abc", 24, ref, &eos);
    for (int64_t seed = 1; seed <= 3; seed++) {
        weft_result r;
        th_generate(p, "abc", 24, seed, &r);
        cr_assert_eq(r.n_tokens, n);
        cr_assert_arr_eq(r.tokens, ref, n * sizeof *ref);
        weft_result_free(&r);
    }
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

/* ---- the CLI ---- */

static char *actions_pipeline_file(void) {
    return th_write_file("actions.json", ACTIONS_PIPELINE ", \"plugin_path\": [\"" WEFT_TEST_FIXTURE_DIR "\"]}");
}

Test(actions, cli_call) {
    char *pipe = actions_pipeline_file();
    th_cmd c;
    th_cli(&c, (const char *[]){"call", pipe, "/samplers/0", "configure", "3", "2.5", "hi", "true", NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    cr_assert_str_eq(c.out, "\"n=3 x=2.5 s=hi b=true\"\n");
    th_cmd_free(&c);
    /* JSON arguments: a quoted string stays a string even if it looks like a number */
    th_cli(&c, (const char *[]){"call", pipe, "/samplers/0", "configure", "-1", "0.5", "\"42\"", "false", NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    cr_assert_str_eq(c.out, "\"n=-1 x=0.5 s=42 b=false\"\n");
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"call", pipe, "/backend", "eval_count", NULL});
    cr_assert_eq(c.code, 0, "exit %d, stderr: %s", c.code, c.err);
    cr_assert_str_eq(c.out, "0\n");
    th_cmd_free(&c);
    free(pipe);
}

Test(actions, cli_call_type_error_exits_3) {
    char *pipe = actions_pipeline_file();
    th_cmd c;
    th_cli(&c, (const char *[]){"call", pipe, "/samplers/0", "configure", "three", "2.5", "hi", "true", NULL});
    cr_assert_eq(c.code, 3, "exit %d", c.code);
    cr_assert_str_empty(c.out);
    cr_assert_str_eq(c.err, "weft: /samplers/0: action 'configure' argument 0 ('n') expects an integer, got \"three\"\n");
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"call", pipe, "/samplers/0", "configure", "3", NULL});
    cr_assert_eq(c.code, 3, "exit %d", c.code);
    cr_assert(strstr(c.err, "takes 4 arguments, got 1"), "%s", c.err);
    th_cmd_free(&c);
    th_cli(&c, (const char *[]){"call", pipe, "/samplers/0", NULL});
    cr_assert_eq(c.code, 2, "usage error exits 2, got %d", c.code);
    th_cmd_free(&c);
    free(pipe);
}
