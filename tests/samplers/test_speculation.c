/* History-dependent samplers stay exact under speculation: for each chain
 * (the sampler, then greedy), every drafter x lossless verifier commits
 * exactly the tokens of plain one-token-at-a-time decoding with the same
 * chain, on the Markov backend. Penalties, DRY, logit bias and XTC read the
 * history (committed + draft path); mirostat and look-back carry state,
 * which the core clones per draft position.
 *
 * Two guards keep the comparison from passing vacuously: the sampler must
 * change the greedy output on some prompts (else a sampler that ignored
 * the history would pass), and the drafters must get drafts accepted. For
 * mirostat, greedy alone would hide mu (truncation keeps the argmax), so
 * its chains put xtc(probability 1) after it: XTC picks the least likely
 * token above its threshold in mirostat's renormalised output, which
 * depends on what mu cut. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

#define N_PROMPTS 24
#define MAX_TOKENS 48
#define BACKEND "{\"use\": \"markov\", \"n_vocab\": 16, \"seed\": 5, \"sharpness\": 2.5, \"eos_logit\": -6}"

static const char *const drafters[] = {
    "{\"use\": \"prompt-lookup\", \"min_n\": 1, \"max_n\": 3, \"max_draft\": 6}",
    "{\"use\": \"random-draft\", \"deterministic\": true, \"depth\": 3, \"branch\": 2}",
    "{\"use\": \"random-draft\", \"depth\": 4, \"skew\": 1.0}",
    "{\"use\": \"random-draft\", \"depth\": 2, \"branch\": 3, \"seed\": 5}",
};
static const char *const verifiers[] = {"greedy-match", "speculative-sampling"};

typedef struct outputs {
    int32_t tok[N_PROMPTS][MAX_TOKENS];
    size_t n[N_PROMPTS];
    int64_t drafted, accepted;
} outputs;

/* Prompts over 'a'..'n' (the 14 characters of a 16-token vocabulary); every
 * third one repetitive, where history-dependent rules matter most. */
static void make_prompt(size_t i, char *out) {
    uint64_t st = 77 + i;
    if (i % 3 == 2) {
        char motif[8];
        th_random_prompt(&st, 16, 2 + i % 3, motif);
        out[0] = 0;
        for (int k = 0; k < 5; k++) strcat(out, motif);
    } else {
        th_random_prompt(&st, 16, 3 + (i * 5) % 20, out);
    }
}

static void run(weft_registry *reg, const char *drafter, const char *verifier, const char *chain, outputs *o) {
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": " BACKEND "%s%s, \"verifier\": {\"use\": \"%s\"}, \"samplers\": %s}",
                                   drafter ? ", \"drafter\": " : "", drafter ? drafter : "", verifier, chain);
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < N_PROMPTS; i++) {
        char prompt[64];
        make_prompt(i, prompt);
        weft_result r;
        th_generate(p, prompt, MAX_TOKENS, 3, &r);
        o->n[i] = r.n_tokens;
        memcpy(o->tok[i], r.tokens, r.n_tokens * sizeof *r.tokens);
        o->drafted += r.stats.n_drafted;
        o->accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    weft_pipeline_free(p);
}

static size_t differences(const outputs *a, const outputs *b) {
    size_t d = 0;
    for (size_t i = 0; i < N_PROMPTS; i++)
        d += a->n[i] != b->n[i] || memcmp(a->tok[i], b->tok[i], a->n[i] * sizeof **a->tok) != 0;
    return d;
}

/* chain: the JSON array of samplers, greedy last. */
static void exact_under_speculation(const char *chain) {
    weft_registry *reg = th_registry();
    static outputs plain, greedy, spec;
    run(reg, NULL, "speculative-sampling", chain, &plain);
    run(reg, NULL, "speculative-sampling", "[{\"use\": \"greedy\"}]", &greedy);
    cr_assert_gt(differences(&plain, &greedy), 0, "%s never changes the greedy output: the test could not fail", chain);
    for (size_t d = 0; d < sizeof drafters / sizeof *drafters; d++)
        for (size_t v = 0; v < sizeof verifiers / sizeof *verifiers; v++) {
            run(reg, drafters[d], verifiers[v], chain, &spec);
            cr_assert_gt(spec.accepted, 0, "%s + %s: no draft token accepted", drafters[d], verifiers[v]);
            size_t diff = differences(&plain, &spec);
            cr_expect_eq(diff, 0, "%s with %s + %s: %zu of %d prompts differ from plain decoding", chain, drafters[d],
                         verifiers[v], diff, N_PROMPTS);
        }
    weft_registry_free(reg);
}

#define GREEDY "{\"use\": \"greedy\"}"

Test(speculation, penalties, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"penalties\", \"last_n\": 8, \"repeat\": 1.8, \"frequency\": 0.4, "
                            "\"presence\": 0.3}, " GREEDY "]");
}

Test(speculation, dry, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"dry\", \"multiplier\": 1.5, \"allowed_length\": 1, \"penalty_last_n\": -1, "
                            "\"sequence_breakers\": [\"m\"]}, " GREEDY "]");
}

Test(speculation, logit_bias, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"logit-bias\", \"bias\": {\"3\": 1.5, \"5\": -1.0}, "
                            "\"text_bias\": {\"bc\": 0.8}}, " GREEDY "]");
}

Test(speculation, xtc, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"xtc\", \"probability\": 0.5, \"threshold\": 0.05}, " GREEDY "]");
}

Test(speculation, mirostat_v2, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"mirostat\", \"version\": 2, \"tau\": 1.0, \"eta\": 0.8}, "
                            "{\"use\": \"xtc\", \"probability\": 1.0, \"threshold\": 0.05}, " GREEDY "]");
}

Test(speculation, mirostat_v1, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"mirostat\", \"version\": 1, \"tau\": 1.5, \"eta\": 0.8, \"m\": 6}, "
                            "{\"use\": \"xtc\", \"probability\": 1.0, \"threshold\": 0.05}, " GREEDY "]");
}

Test(speculation, look_back, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"look-back\", \"alpha\": 0.3, \"k\": 3, \"window\": 16}, " GREEDY "]");
}

/* Everything at once, in llama.cpp's order. */
Test(speculation, full_chain, .timeout = 60) {
    exact_under_speculation("[{\"use\": \"look-back\", \"alpha\": 0.2, \"k\": 4}, "
                            "{\"use\": \"logit-bias\", \"bias\": {\"4\": 0.5}}, "
                            "{\"use\": \"penalties\", \"last_n\": 16, \"repeat\": 1.3, \"presence\": 0.2}, "
                            "{\"use\": \"dry\", \"multiplier\": 0.8, \"allowed_length\": 2}, "
                            "{\"use\": \"top-k\", \"k\": 8}, {\"use\": \"typical\", \"p\": 0.9}, "
                            "{\"use\": \"mirostat\", \"tau\": 1.5, \"eta\": 0.5}, "
                            "{\"use\": \"xtc\", \"probability\": 0.5, \"threshold\": 0.05}, " GREEDY "]");
}
