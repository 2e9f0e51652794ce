/* Greedy exactness of the new drafters on a real model: stories260K through
 * the llama backend, over the story openings (tests/data/story_openings.txt),
 * each drafter x verifier against the same pipeline without a drafter. */
#include "exactness.h"
#include "test_paths.h"

/* stories260K in a Debug build costs a few ms a step: fewer tokens per prompt */
#define STORY_TOKENS 24

static const drafter_case story_drafters[] = {
    {"{\"use\": \"suffix-automaton\", \"branches\": 2}", true, false},
    {"{\"use\": \"token-recycling\", \"tree\": [4, 2, 1, 1]}", true, false},
    {"{\"use\": \"fallback\", \"drafters\": [{\"use\": \"suffix-automaton\", \"min_match\": 3}, "
     "{\"use\": \"token-recycling\", \"tree\": [3, 1, 1]}]}", true, false},
    {"{\"use\": \"adaptive\", \"explore_limit\": 0, \"drafter\": {\"use\": \"suffix-automaton\"}}", false, false},
    /* issue #4 */
    {"{\"use\": \"lookahead\"}", true, true},
    {"{\"use\": \"early-exit\"}", true, false},
    {"{\"use\": \"early-exit\", \"layers\": [2, 4], \"top_k\": 2}", true, true},
    {"{\"use\": \"early-exit\", \"max_draft\": 6, \"guess_from\": {\"use\": \"suffix-automaton\"}}", true, false},
    {"{\"use\": \"draft-model\", \"backend\": {\"use\": \"llama\", \"model\": \"%s\"}}", true, false},
    {"{\"use\": \"draft-model\", \"top_k\": 2, \"draw\": \"sample\", \"siblings\": \"distinct\", "
     "\"backend\": {\"use\": \"llama\", \"model\": \"%s\"}}", true, true},
};

/* The story openings, one per line (tests/data/story_openings.txt). */
static size_t read_openings(char *text, const char **out, size_t cap) {
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n"))
        if (*line) out[n++] = line;
    return n;
}

Test(drafter_exactness, stories260k_llama, .timeout = 240) {
    char model[2048];
    test_model_path(model, sizeof model, "derived/stories260K-f32-v3.gguf");
    weft_registry *reg = th_registry();
    if (access(model, R_OK) != 0 || !weft_registry_find(reg, WEFT_KIND_BACKEND, "llama")) {
        weft_registry_free(reg);
        cr_skip_test("no llama backend or no %s", model);
    }
    char *text = th_read_file(WEFT_TEST_SOURCE_DIR "/tests/data/story_openings.txt");
    cr_assert_not_null(text);
    static const char *prompts[N_PROMPTS];
    cr_assert_eq(read_openings(text, prompts, N_PROMPTS), N_PROMPTS, "fewer than %d story openings", N_PROMPTS);
    g_prompts = prompts;
    g_max_tokens = STORY_TOKENS;
    char backend[2200];
    snprintf(backend, sizeof backend, "{\"use\": \"llama\", \"model\": \"%s\"}", model);
    weft_pipeline *plain =
        th_pipeline(reg, "{\"threads\": 1, \"backend\": %s, \"samplers\": [{\"use\": \"greedy\"}]}", backend);
    static expected want;
    for (size_t i = 0; i < (size_t)test_quick(N_PROMPTS, 10); i++) {
        weft_result r;
        th_generate(plain, prompts[i], STORY_TOKENS, -1, &r);
        want.n[i] = r.n_tokens;
        memcpy(want.tokens[i], r.tokens, r.n_tokens * sizeof *r.tokens);
        want.finish[i] = r.finish;
        weft_result_free(&r);
    }
    weft_pipeline_free(plain);
    outcome base = {0};
    /* "%s" in a drafter is the model: draft-model drafts with the target's own weights */
    all_pairs(reg, backend, "{\"max_draft_nodes\": 8}", story_drafters, (sizeof story_drafters / sizeof *story_drafters), model, &want, &base,
              false);
    free(text);
    weft_registry_free(reg);
}
