/* Speculation with the new drafters must not change greedy output: every
 * drafter x {greedy-match, speculative-sampling} commits exactly the tokens
 * of plain greedy decoding on the Markov test backend, checked against an
 * independent walk of the model. Drafts must also be accepted and save
 * target evaluations, so the test cannot pass by never drafting. */
#include "exactness.h"

static const drafter_case markov_drafters[] = {
    {"{\"use\": \"suffix-automaton\"}", true},
    {"{\"use\": \"suffix-automaton\", \"min_match\": 1, \"max_draft\": 16, \"branches\": 3}", true},
    {"{\"use\": \"suffix-automaton\", \"min_match\": 3, \"corpus\": \"%s\", \"branches\": 2}", true},
    {"{\"use\": \"suffix-automaton\", \"window\": 64, \"max_draft\": 4}", true},
    {"{\"use\": \"token-recycling\"}", true},
    {"{\"use\": \"token-recycling\", \"k\": 4, \"tree\": [4, 2, 2, 1], \"keep\": false}", true},
    {"{\"use\": \"fallback\", \"drafters\": [{\"use\": \"suffix-automaton\", \"min_match\": 3}, "
     "{\"use\": \"token-recycling\"}]}", true},
    {"{\"use\": \"fallback\", \"mode\": \"longest\", \"drafters\": [{\"use\": \"suffix-automaton\"}, "
     "{\"use\": \"prompt-lookup\"}, {\"use\": \"token-recycling\", \"tree\": [[0], [0, 0], [0, 0, 0]]}]}", true},
    {"{\"use\": \"adaptive\", \"drafter\": {\"use\": \"suffix-automaton\"}}", false},
    {"{\"use\": \"adaptive\", \"arms\": [0, 1, 4, 16, 64], \"exploration\": 1, \"drafter\": "
     "{\"use\": \"token-recycling\"}}", false},
};

typedef struct model_case {
    th_markov m;
    const char *backend;
} model_case;

static const model_case models[] = {
    {{.seed = 1, .sharpness = 3, .eos_logit = -4, .n_vocab = 16}, "{\"use\": \"markov\"}"},
    {{.seed = 7, .sharpness = 2, .eos_logit = -1, .n_vocab = 40},
     "{\"use\": \"markov\", \"seed\": 7, \"sharpness\": 2, \"eos_logit\": -1, \"n_vocab\": 40}"},
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
    /* the corpus automaton was cached beside its file */
    char cache[2100];
    snprintf(cache, sizeof cache, "%s.weft-sam", corpus);
    cr_assert_eq(access(cache, R_OK), 0, "no corpus cache %s", cache);
    free((void *)corpus);
    weft_registry_free(reg);
}

Test(drafter_exactness, markov_vocab16, .timeout = 120) { markov_exactness(&models[0]); }
Test(drafter_exactness, markov_vocab40, .timeout = 120) { markov_exactness(&models[1]); }

