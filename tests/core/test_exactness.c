/* Speculation must not change greedy output: for every drafter x verifier
 * pair, speculative decoding with samplers [greedy] commits exactly the
 * tokens of one-token-at-a-time greedy decoding, which itself must equal an
 * independent greedy walk of the Markov model (markov_logits). Prompt lookup
 * must also save target evaluations, so the tests cannot pass by never
 * drafting. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

#define N_PROMPTS 50
#define MAX_TOKENS 64

static const char *const drafters[] = {
    "{\"use\": \"prompt-lookup\"}",
    "{\"use\": \"prompt-lookup\", \"min_n\": 1, \"max_n\": 1, \"max_draft\": 3}",
    "{\"use\": \"prompt-lookup\", \"min_n\": 2, \"max_n\": 4, \"max_draft\": 16}",
    "{\"use\": \"random-draft\", \"deterministic\": true, \"depth\": 4}",
    "{\"use\": \"random-draft\", \"deterministic\": true, \"depth\": 3, \"branch\": 2}",
    "{\"use\": \"random-draft\", \"depth\": 4, \"skew\": 1.0}",
    "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 3, \"seed\": 5}",
    "{\"use\": \"random-draft\", \"depth\": 3, \"branch\": 2, \"skew\": 0}",
};
static const char *const verifiers[] = {"greedy-match", "speculative-sampling"};

typedef struct model_case {
    th_markov m;
    const char *backend; /* its JSON */
} model_case;

static const model_case models[] = {
    {{.seed = 1, .sharpness = 3, .eos_logit = -4, .n_vocab = 16}, "{\"use\": \"markov\"}"},
    {{.seed = 7, .sharpness = 2, .eos_logit = -1, .n_vocab = 40},
     "{\"use\": \"markov\", \"seed\": 7, \"sharpness\": 2, \"eos_logit\": -1, \"n_vocab\": 40}"},
};

/* Prompts: random strings of varied length, and every fifth a repetitive
 * one (a short random motif repeated), where prompt lookup should pay off. */
static void make_prompt(int32_t n_vocab, size_t i, char *out) {
    uint64_t st = 1000 + i;
    if (i % 5 == 4) {
        char motif[8];
        th_random_prompt(&st, n_vocab, 2 + i % 4, motif);
        out[0] = 0;
        for (size_t k = 0; k < 6; k++) strcat(out, motif);
    } else {
        th_random_prompt(&st, n_vocab, 1 + (i * 7) % 40, out);
    }
}

typedef struct outcome {
    int64_t evals, drafted, accepted, draft_steps;
} outcome;

/* Runs every prompt through one pipeline, compares with the reference
 * tokens and sums the work done. */
static void run_all(weft_pipeline *p, const model_case *mc, int32_t want[][MAX_TOKENS], const size_t *want_n,
                    const bool *want_eos, const char *label, outcome *o) {
    memset(o, 0, sizeof *o);
    int64_t evals0 = th_call_int(p, "/backend", "eval_count");
    for (size_t i = 0; i < N_PROMPTS; i++) {
        char prompt[64];
        make_prompt(mc->m.n_vocab, i, prompt);
        weft_result r;
        th_generate(p, prompt, MAX_TOKENS, -1, &r);
        cr_assert_eq(r.n_tokens, want_n[i], "%s, prompt \"%s\": %zu tokens, expected %zu", label, prompt, r.n_tokens,
                     want_n[i]);
        for (size_t k = 0; k < want_n[i]; k++)
            cr_assert_eq(r.tokens[k], want[i][k], "%s, prompt \"%s\": token %zu is %d, expected %d", label, prompt,
                         k, r.tokens[k], want[i][k]);
        cr_assert_eq(r.finish, want_eos[i] ? WEFT_FINISH_EOS : WEFT_FINISH_LENGTH, "%s, prompt \"%s\": finish %s",
                     label, prompt, weft_finish_name(r.finish));
        char text[MAX_TOKENS + 1];
        th_markov_text(want[i], want_n[i], text);
        cr_assert_str_eq(r.text, text, "%s, prompt \"%s\"", label, prompt);
        o->drafted += r.stats.n_drafted;
        o->accepted += r.stats.n_accepted;
        o->draft_steps += r.stats.n_draft_steps;
        weft_result_free(&r);
    }
    o->evals = th_call_int(p, "/backend", "eval_count") - evals0;
}

static void reference(const model_case *mc, int32_t want[][MAX_TOKENS], size_t *want_n, bool *want_eos) {
    for (size_t i = 0; i < N_PROMPTS; i++) {
        char prompt[64];
        make_prompt(mc->m.n_vocab, i, prompt);
        want_n[i] = th_markov_greedy(&mc->m, prompt, MAX_TOKENS, want[i], &want_eos[i]);
    }
}

static void exactness_for_model(const model_case *mc) {
    static int32_t want[N_PROMPTS][MAX_TOKENS];
    size_t want_n[N_PROMPTS];
    bool want_eos[N_PROMPTS];
    reference(mc, want, want_n, want_eos);
    weft_registry *reg = th_registry();
    /* plain greedy decoding against the independent walk */
    weft_pipeline *plain = th_pipeline(reg, "{\"backend\": %s, \"samplers\": [{\"use\": \"greedy\"}]}", mc->backend);
    outcome base;
    run_all(plain, mc, want, want_n, want_eos, "plain", &base);
    cr_assert_eq(base.drafted, 0);
    weft_pipeline_free(plain);
    for (size_t d = 0; d < sizeof drafters / sizeof *drafters; d++)
        for (size_t v = 0; v < sizeof verifiers / sizeof *verifiers; v++) {
            weft_pipeline *p = th_pipeline(reg,
                                           "{\"backend\": %s, \"drafter\": %s, \"verifier\": {\"use\": \"%s\"}, "
                                           "\"samplers\": [{\"use\": \"greedy\"}]}",
                                           mc->backend, drafters[d], verifiers[v]);
            char label[256];
            snprintf(label, sizeof label, "%s + %s", drafters[d], verifiers[v]);
            outcome o;
            run_all(p, mc, want, want_n, want_eos, label, &o);
            /* it drafted, and some drafts survived verification */
            cr_assert_gt(o.drafted, 0, "%s never drafted", label);
            cr_assert_gt(o.accepted, 0, "%s never accepted a draft token", label);
            cr_assert_leq(o.accepted, o.drafted, "%s", label);
            /* each step commits its accepted tokens plus one: fewer target evaluations */
            cr_assert_lt(o.evals, base.evals, "%s: %lld evaluations, plain %lld", label, (long long)o.evals,
                         (long long)base.evals);
            weft_pipeline_free(p);
        }
    weft_registry_free(reg);
}

Test(exactness, greedy_speculation_matches_plain_vocab16, .timeout = 240) { exactness_for_model(&models[0]); }
Test(exactness, greedy_speculation_matches_plain_vocab40, .timeout = 240) { exactness_for_model(&models[1]); }

/* On repetitive text prompt lookup must save a real share of evaluations. */
Test(exactness, prompt_lookup_saves_evaluations) {
    weft_registry *reg = th_registry();
    weft_pipeline *plain = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, \"samplers\": [{\"use\": \"greedy\"}]}");
    weft_pipeline *spec = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, \"drafter\": {\"use\": \"prompt-lookup\"}, "
                                           "\"samplers\": [{\"use\": \"greedy\"}]}");
    static const char *const prompts[] = {"abcabcabcabcabc", "abababababab", "hijklhijklhijkl", "abcdefgabcdefg"};
    int64_t plain_evals = 0, spec_evals = 0;
    for (size_t i = 0; i < sizeof prompts / sizeof *prompts; i++) {
        weft_result a, b;
        int64_t p0 = th_call_int(plain, "/backend", "eval_count");
        th_generate(plain, prompts[i], MAX_TOKENS, -1, &a);
        int64_t p1 = th_call_int(plain, "/backend", "eval_count");
        int64_t s0 = th_call_int(spec, "/backend", "eval_count");
        th_generate(spec, prompts[i], MAX_TOKENS, -1, &b);
        int64_t s1 = th_call_int(spec, "/backend", "eval_count");
        cr_assert_eq(a.n_tokens, b.n_tokens);
        cr_assert_arr_eq(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens);
        /* plain: one prefill, then one evaluation per token */
        cr_assert_eq(p1 - p0, 1 + (int64_t)a.n_tokens, "plain decoding used %lld evaluations for %zu tokens",
                     (long long)(p1 - p0), a.n_tokens);
        /* speculative: one prefill, then one per step, as the stats say */
        cr_assert_eq(s1 - s0, 1 + b.stats.n_steps);
        plain_evals += p1 - p0;
        spec_evals += s1 - s0;
        weft_result_free(&a);
        weft_result_free(&b);
    }
    /* greedy Markov chains fall into short cycles that prompt lookup predicts */
    cr_assert_lt(spec_evals * 2, plain_evals, "prompt lookup: %lld evaluations, plain %lld", (long long)spec_evals,
                 (long long)plain_evals);
    weft_pipeline_free(plain);
    weft_pipeline_free(spec);
    weft_registry_free(reg);
}

/* Sampled decoding is a function of the seed: the same seed gives the same
 * text, different seeds (almost always) do not. */
Test(exactness, seeded_sampling_is_reproducible) {
    weft_registry *reg = th_registry();
    static const char *const pipes[] = {
        "{\"backend\": {\"use\": \"markov\"}, \"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}]}",
        "{\"backend\": {\"use\": \"markov\"}, \"drafter\": {\"use\": \"random-draft\", \"branch\": 2}, "
        "\"samplers\": [{\"use\": \"temperature\", \"t\": 1.0}]}",
        "{\"backend\": {\"use\": \"markov\"}, \"drafter\": {\"use\": \"prompt-lookup\"}, "
        "\"samplers\": [{\"use\": \"top-k\", \"k\": 5}, {\"use\": \"temperature\", \"t\": 1.0}]}",
    };
    for (size_t k = 0; k < sizeof pipes / sizeof *pipes; k++) {
        weft_pipeline *p = th_pipeline(reg, "%s", pipes[k]);
        weft_pipeline *q = th_pipeline(reg, "%s", pipes[k]);
        size_t distinct = 0;
        char first[MAX_TOKENS + 1] = "";
        for (int64_t seed = 1; seed <= 10; seed++) {
            weft_result a, b;
            th_generate(p, "abcab", MAX_TOKENS, seed, &a);
            th_generate(q, "abcab", MAX_TOKENS, seed, &b); /* a second pipeline: no shared state */
            cr_assert_str_eq(a.text, b.text, "pipeline %zu, seed %lld", k, (long long)seed);
            cr_assert_eq(a.n_tokens, b.n_tokens);
            cr_assert_arr_eq(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens);
            weft_result c;
            th_generate(p, "abcab", MAX_TOKENS, seed, &c); /* the same pipeline again */
            cr_assert_str_eq(a.text, c.text, "pipeline %zu, seed %lld, second run", k, (long long)seed);
            if (seed == 1) snprintf(first, sizeof first, "%s", a.text);
            else distinct += strcmp(first, a.text) != 0;
            weft_result_free(&a);
            weft_result_free(&b);
            weft_result_free(&c);
        }
        cr_assert_gt(distinct, 5, "pipeline %zu: seeds barely change the output", k);
        weft_pipeline_free(p);
        weft_pipeline_free(q);
    }
    weft_registry_free(reg);
}

/* Runs every prompt through a pipeline and stores the tokens. */
static void collect(weft_pipeline *p, const model_case *mc, int32_t out[][MAX_TOKENS], size_t *n) {
    for (size_t i = 0; i < N_PROMPTS; i++) {
        char prompt[64];
        make_prompt(mc->m.n_vocab, i, prompt);
        weft_result r;
        th_generate(p, prompt, MAX_TOKENS, -1, &r);
        n[i] = r.n_tokens;
        memcpy(out[i], r.tokens, r.n_tokens * sizeof *r.tokens);
        weft_result_free(&r);
    }
}

static size_t count_differences(int32_t a[][MAX_TOKENS], const size_t *na, int32_t b[][MAX_TOKENS], const size_t *nb) {
    size_t diff = 0;
    for (size_t i = 0; i < N_PROMPTS; i++)
        diff += na[i] != nb[i] || memcmp(a[i], b[i], na[i] * sizeof **a) != 0;
    return diff;
}

/* A sampler whose state follows the accepted tokens stays exact under
 * speculation because the core scores each draft position with a clone that
 * accepted the path; without the declaration, nodes see the committed state
 * and the output drifts (the control shows the test can fail). */
Test(exactness, stateful_sampler_sees_the_path_state, .timeout = 120) {
    const model_case *mc = &models[0];
    static int32_t plain_tok[N_PROMPTS][MAX_TOKENS], spec_tok[N_PROMPTS][MAX_TOKENS];
    size_t plain_n[N_PROMPTS], spec_n[N_PROMPTS];
    weft_registry *reg = th_registry();
    static const char *const spec_drafters[] = {
        "{\"use\": \"prompt-lookup\"}",
        "{\"use\": \"random-draft\", \"deterministic\": true, \"depth\": 3, \"branch\": 2}",
    };
    const char *samplers[] = {"fixture-stateful", "fixture-stateful-undeclared"};
    for (size_t s = 0; s < 2; s++) {
        weft_pipeline *plain = th_pipeline(
            reg, "{\"backend\": %s, \"samplers\": [{\"use\": \"%s\"}, {\"use\": \"greedy\"}]}", mc->backend, samplers[s]);
        collect(plain, mc, plain_tok, plain_n);
        weft_pipeline_free(plain);
        size_t total_diff = 0;
        for (size_t d = 0; d < 2; d++)
            for (size_t v = 0; v < 2; v++) {
                weft_pipeline *p = th_pipeline(reg,
                                               "{\"backend\": %s, \"drafter\": %s, \"verifier\": {\"use\": \"%s\"}, "
                                               "\"samplers\": [{\"use\": \"%s\"}, {\"use\": \"greedy\"}]}",
                                               mc->backend, spec_drafters[d], verifiers[v], samplers[s]);
                collect(p, mc, spec_tok, spec_n);
                size_t diff = count_differences(plain_tok, plain_n, spec_tok, spec_n);
                if (s == 0)
                    cr_expect_eq(diff, 0, "%s + %s with %s: %zu prompts differ from plain decoding", spec_drafters[d],
                                 verifiers[v], samplers[s], diff);
                total_diff += diff;
                weft_pipeline_free(p);
            }
        if (s == 1) cr_expect_gt(total_diff, 0, "the undeclared control never drifted: the test could not fail");
    }
    weft_registry_free(reg);
}
