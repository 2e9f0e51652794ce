/* Speculation with the new drafters must not change greedy output: every
 * drafter x {greedy-match, speculative-sampling} commits exactly the tokens
 * of plain greedy decoding on the Markov test backend, checked against an
 * independent walk of the model. Drafts must also be accepted and save
 * target evaluations, so the test cannot pass by never drafting. */
#include "exactness.h"

static const drafter_case markov_drafters[] = {
    {"{\"use\": \"suffix-automaton\"}", true, false},
    {"{\"use\": \"suffix-automaton\", \"min_match\": 1, \"max_draft\": 16, \"branches\": 3}", true, false},
    {"{\"use\": \"suffix-automaton\", \"min_match\": 3, \"corpus\": \"%s\", \"branches\": 2}", true, false},
    {"{\"use\": \"suffix-automaton\", \"window\": 64, \"max_draft\": 4}", true, false},
    {"{\"use\": \"token-recycling\"}", true, false},
    {"{\"use\": \"token-recycling\", \"k\": 4, \"tree\": [4, 2, 2, 1], \"keep\": false}", true, false},
    {"{\"use\": \"fallback\", \"drafters\": [{\"use\": \"suffix-automaton\", \"min_match\": 3}, "
     "{\"use\": \"token-recycling\"}]}", true, false},
    {"{\"use\": \"fallback\", \"mode\": \"longest\", \"drafters\": [{\"use\": \"suffix-automaton\"}, "
     "{\"use\": \"prompt-lookup\"}, {\"use\": \"token-recycling\", \"tree\": [[0], [0, 0], [0, 0, 0]]}]}", true, false},
    /* explore_limit 0: plain UCB, which speculates even in short runs (the
     * sanitizer run's 10 prompts), so the cases below always draft */
    {"{\"use\": \"adaptive\", \"explore_limit\": 0, \"drafter\": {\"use\": \"suffix-automaton\"}}", false, false},
    {"{\"use\": \"adaptive\", \"explore_limit\": 0, \"arms\": [0, 1, 4, 16, 64], \"exploration\": 1, \"drafter\": "
     "{\"use\": \"token-recycling\"}}", false, false},
    /* issue #4: lookahead (aux rows), early exit (the backend has 4 layers) */
    {"{\"use\": \"lookahead\"}", true, true},
    {"{\"use\": \"lookahead\", \"window\": 6, \"ngram\": 4, \"verify\": 6, \"history\": false}", true, true},
    {"{\"use\": \"lookahead\", \"window\": 0, \"ngram\": 2}", true, false},
    {"{\"use\": \"early-exit\"}", true, false},
    {"{\"use\": \"early-exit\", \"layers\": [1, 3], \"top_k\": 3, \"max_draft\": 5}", true, true},
    {"{\"use\": \"early-exit\", \"draw\": \"sample\", \"top_k\": 2, \"siblings\": \"distinct\"}", true, true},
    /* guesses: the chain's first batch carries another drafter's draft */
    {"{\"use\": \"early-exit\", \"max_draft\": 6, \"guess_from\": {\"use\": \"suffix-automaton\"}}", true, false},
    {"{\"use\": \"early-exit\", \"draw\": \"sample\", \"guess_from\": {\"use\": \"prompt-lookup\"}}", true, true},
    {"{\"use\": \"adaptive\", \"explore_limit\": 0, \"drafter\": {\"use\": \"lookahead\"}}", false, false},
};

/* draft-model over a nested Markov backend (%s): the target's own chain
 * less sharp (same argmax, so greedy drafts are right), or another chain */
static const char *const draft_model_cases[] = {
    "{\"use\": \"draft-model\", \"backend\": %s}",
    "{\"use\": \"draft-model\", \"top_k\": 3, \"max_draft\": 8, \"backend\": %s}",
    "{\"use\": \"draft-model\", \"top_k\": 2, \"draw\": \"sample\", \"siblings\": \"distinct\", \"backend\": %s}",
    "{\"use\": \"draft-model\", \"min_prob\": 0.3, \"draw\": \"sample\", \"backend\": %s}",
    "{\"use\": \"draft-model\", \"guess_from\": {\"use\": \"suffix-automaton\"}, \"backend\": %s}",
};

typedef struct model_case {
    th_markov m;
    const char *backend;
    const char *draft_same, *draft_other; /* nested backends for draft-model */
} model_case;

static const model_case models[] = {
    {{.seed = 1, .sharpness = 3, .eos_logit = -4, .n_vocab = 16}, "{\"use\": \"markov\", \"n_layers\": 4}",
     "{\"use\": \"markov\", \"sharpness\": 1.5}", "{\"use\": \"markov\", \"seed\": 2}"},
    {{.seed = 7, .sharpness = 2, .eos_logit = -1, .n_vocab = 40},
     "{\"use\": \"markov\", \"seed\": 7, \"sharpness\": 2, \"eos_logit\": -1, \"n_vocab\": 40, \"n_layers\": 4}",
     "{\"use\": \"markov\", \"seed\": 7, \"sharpness\": 1, \"eos_logit\": -1, \"n_vocab\": 40}",
     "{\"use\": \"markov\", \"seed\": 8, \"eos_logit\": -1, \"n_vocab\": 40}"},
};

/* Every fifth prompt repeats a motif; the others are random of varied length. */
static void make_prompt(int32_t n_vocab, size_t i, char *out) {
    uint64_t st = 2000 + i;
    if (i % 5 == 4) {
        char motif[8];
        th_random_prompt(&st, n_vocab, 2 + i % 4, motif);
        out[0] = 0;
        for (size_t k = 0; k < 6; k++) strcat(out, motif);
    } else {
        th_random_prompt(&st, n_vocab, 1 + (i * 7) % 40, out);
    }
}

/* A text corpus for the static automaton: greedy continuations of other
 * prompts, one document each (the Markov tokenizer reads characters). */
static const char *markov_corpus(const model_case *mc) {
    char text[40 * (MAX_TOKENS + 3)] = "", name[64];
    for (size_t i = 0; i < 40; i++) {
        char prompt[64], out[MAX_TOKENS + 1];
        uint64_t st = 9000 + i;
        th_random_prompt(&st, mc->m.n_vocab, 3, prompt);
        int32_t ids[MAX_TOKENS];
        bool eos;
        size_t n = th_markov_greedy(&mc->m, prompt, MAX_TOKENS, ids, &eos);
        th_markov_text(ids, n, out);
        strcat(text, out);
        strcat(text, "\n\n");
    }
    snprintf(name, sizeof name, "corpus-%d.txt", mc->m.n_vocab);
    return th_write_file(name, text);
}

static void markov_exactness(const model_case *mc) {
    static expected want;
    static char prompts[N_PROMPTS][64];
    static const char *ptrs[N_PROMPTS];
    for (size_t i = 0; i < N_PROMPTS; i++) {
        make_prompt(mc->m.n_vocab, i, prompts[i]);
        ptrs[i] = prompts[i];
        bool eos;
        want.n[i] = th_markov_greedy(&mc->m, prompts[i], MAX_TOKENS, want.tokens[i], &eos);
        want.finish[i] = eos ? WEFT_FINISH_EOS : WEFT_FINISH_LENGTH;
    }
    g_prompts = ptrs;
    g_max_tokens = MAX_TOKENS;
    weft_registry *reg = th_registry();
    const char *generate = "{\"max_draft_nodes\": 96}";
    weft_pipeline *plain = th_pipeline(reg, "{\"backend\": %s, \"samplers\": [{\"use\": \"greedy\"}]}", mc->backend);
    outcome base;
    run_all(plain, &want, true, "plain", &base);
    weft_pipeline_free(plain);
    const char *corpus = markov_corpus(mc);
    all_pairs(reg, mc->backend, generate, markov_drafters, (sizeof markov_drafters / sizeof *markov_drafters), corpus, &want, &base, true);
    /* draft-model: every case over the same chain, the first two over another too */
    enum { N_DM = sizeof draft_model_cases / sizeof *draft_model_cases };
    static char dm_json[2 * N_DM][512];
    drafter_case dm[2 * N_DM];
    size_t n_dm = 0;
    for (size_t i = 0; i < N_DM; i++) {
        snprintf(dm_json[n_dm], sizeof dm_json[n_dm], draft_model_cases[i], mc->draft_same);
        dm[n_dm] = (drafter_case){dm_json[n_dm], true, i > 0};
        n_dm++;
        if (i >= 2) continue;
        snprintf(dm_json[n_dm], sizeof dm_json[n_dm], draft_model_cases[i], mc->draft_other);
        dm[n_dm] = (drafter_case){dm_json[n_dm], false, i > 0};
        n_dm++;
    }
    all_pairs(reg, mc->backend, generate, dm, n_dm, corpus, &want, &base, true);
    /* the corpus automaton was cached beside its file */
    char cache[2100];
    snprintf(cache, sizeof cache, "%s.weft-sam", corpus);
    cr_assert_eq(access(cache, R_OK), 0, "no corpus cache %s", cache);
    free((void *)corpus);
    weft_registry_free(reg);
}

Test(drafter_exactness, markov_vocab16, .timeout = 120) { markov_exactness(&models[0]); }
Test(drafter_exactness, markov_vocab40, .timeout = 120) { markov_exactness(&models[1]); }

