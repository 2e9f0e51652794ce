/* Shared by the exactness tests (test_exactness.c on the Markov backend,
 * test_exactness_stories.c on stories260K): run every drafter x verifier
 * over a set of prompts and compare with the expected greedy tokens. */
#ifndef WEFT_TEST_EXACTNESS_H
#define WEFT_TEST_EXACTNESS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_harness.h"
#include "test_paths.h"

#define N_PROMPTS 50
#define MAX_TOKENS 64

/* multi-draft runs only where a drafter's trees are being tested (trees) */
static const char *const verifiers[] = {"{\"use\": \"greedy-match\"}", "{\"use\": \"speculative-sampling\"}",
                                        "{\"use\": \"multi-draft\", \"mode\": \"rsd\"}"};

typedef struct drafter_case {
    const char *json; /* "%s" is replaced by the corpus file */
    bool must_save;   /* must accept drafts and save evaluations (adaptive may play arm 0) */
    bool trees;       /* also verified by multi-draft */
} drafter_case;

/* The expected output of one prompt. */
typedef struct expected {
    int32_t tokens[N_PROMPTS][MAX_TOKENS];
    size_t n[N_PROMPTS];
    weft_finish finish[N_PROMPTS];
} expected;

typedef struct outcome {
    int64_t evals, drafted, accepted;
} outcome;

static const char *const *g_prompts; /* the prompts of the model being run */
static int64_t g_max_tokens;          /* and how many tokens each */

/* Runs every prompt through p and compares with `want`. */
static void run_all(weft_pipeline *p, const expected *want, bool count_evals, const char *label, outcome *o) {
    memset(o, 0, sizeof *o);
    int64_t evals0 = count_evals ? th_call_int(p, "/backend", "eval_count") : 0;
    const size_t n_prompts = (size_t)test_quick(N_PROMPTS, 10);
    for (size_t i = 0; i < n_prompts; i++) {
        weft_result r;
        th_generate(p, g_prompts[i], g_max_tokens, -1, &r);
        cr_assert_eq(r.n_tokens, want->n[i], "%s, prompt %zu \"%s\": %zu tokens, expected %zu", label, i, g_prompts[i],
                     r.n_tokens, want->n[i]);
        for (size_t k = 0; k < want->n[i]; k++)
            cr_assert_eq(r.tokens[k], want->tokens[i][k], "%s, prompt %zu \"%s\": token %zu is %d, expected %d", label,
                         i, g_prompts[i], k, r.tokens[k], want->tokens[i][k]);
        cr_assert_eq(r.finish, want->finish[i], "%s, prompt %zu: finish %s", label, i, weft_finish_name(r.finish));
        o->drafted += r.stats.n_drafted;
        o->accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    if (count_evals) o->evals = th_call_int(p, "/backend", "eval_count") - evals0;
}

static void check_work(const char *label, const outcome *o, const outcome *base, bool must_save, bool count_evals) {
    cr_assert_gt(o->drafted, 0, "%s never drafted", label);
    cr_assert_leq(o->accepted, o->drafted, "%s", label);
    if (!must_save) return;
    cr_assert_gt(o->accepted, 0, "%s never accepted a draft token", label);
    if (count_evals)
        cr_assert_lt(o->evals, base->evals, "%s: %lld evaluations, plain %lld", label, (long long)o->evals,
                     (long long)base->evals);
}

/* Runs every drafter x verifier on `backend` against `want`. */
static void all_pairs(weft_registry *reg, const char *backend, const char *generate, const drafter_case *drafters,
                      size_t n_drafters, const char *corpus, const expected *want, const outcome *base,
                      bool count_evals) {
    /* one thread: the tiny model gains nothing from two, and on a busy
     * machine a spinning second worker costs more than the batch */
    for (size_t d = 0; d < n_drafters; d++)
        for (size_t v = 0; v < (drafters[d].trees ? 3u : 2u); v++) {
            char drafter[1024];
            snprintf(drafter, sizeof drafter, drafters[d].json, corpus);
            weft_pipeline *p = th_pipeline(reg,
                                           "{\"threads\": 1, \"backend\": %s, \"drafter\": %s, "
                                           "\"verifier\": %s, \"samplers\": [{\"use\": \"greedy\"}], "
                                           "\"generate\": %s}",
                                           backend, drafter, verifiers[v], generate);
            char label[1300];
            snprintf(label, sizeof label, "%s + %s", drafter, verifiers[v]);
            outcome o;
            run_all(p, want, count_evals, label, &o);
            check_work(label, &o, base, drafters[d].must_save, count_evals);
            weft_pipeline_free(p);
        }
}

#endif
