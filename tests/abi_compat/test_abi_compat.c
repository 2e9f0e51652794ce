/* ABI stability: plugins built against the frozen 1.0 headers keep working
 * in this host, also with vtables that end at their mandatory methods, and a
 * plugin built for a newer minor is refused with both versions named. The
 * fixtures are abi10_plugin.c built three ways (CMakeLists.txt); decoding
 * runs on the Markov test backend and is compared with an independent greedy
 * walk of its model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_harness.h"

#define MAX_TOKENS 48
#define N_PROMPTS 12

static const char *fixture(char *buf, size_t cap, const char *file) {
    snprintf(buf, cap, "%s/%s", ABI_FIXTURE_DIR, file);
    return buf;
}

/* Repetitive prompts, so the 1.0 drafter has something to propose. */
static void make_prompt(size_t i, char *out) {
    uint64_t st = 77 + i;
    char motif[8];
    th_random_prompt(&st, TH_MARKOV_DEFAULT.n_vocab, 2 + i % 4, motif);
    out[0] = 0;
    for (int k = 0; k < 5; k++) strcat(out, motif);
}

/* Samplers, drafter and verifier from the 1.0 file decode exactly as greedy
 * decoding does, and the drafter and verifier were really exercised. */
static void decodes_like_greedy(const char *file) {
    weft_registry *reg = th_registry();
    char path[1024], err[WEFT_ERR_CAP] = "";
    cr_assert_eq(weft_registry_load(reg, fixture(path, sizeof path, file), err, sizeof err), WEFT_OK,
                 "a plugin built against ABI 1.0 was refused: %s", err);
    weft_pipeline *p = th_pipeline(reg, "{\"backend\": {\"use\": \"markov\"}, \"drafter\": {\"use\": \"abi10-echo\"},"
                                        " \"verifier\": {\"use\": \"abi10-match\"}, \"samplers\": [{\"use\": \"abi10-greedy\"}]}");
    th_markov m = TH_MARKOV_DEFAULT;
    int64_t accepted = 0;
    for (size_t i = 0; i < N_PROMPTS; i++) {
        char prompt[64];
        make_prompt(i, prompt);
        int32_t want[MAX_TOKENS];
        bool eos;
        size_t n = th_markov_greedy(&m, prompt, MAX_TOKENS, want, &eos);
        weft_result r;
        th_generate(p, prompt, MAX_TOKENS, -1, &r);
        cr_assert_eq(r.n_tokens, n, "%s, prompt \"%s\": %zu tokens, expected %zu", file, prompt, r.n_tokens, n);
        for (size_t k = 0; k < n; k++)
            cr_assert_eq(r.tokens[k], want[k], "%s, prompt \"%s\": token %zu is %d, expected %d", file, prompt, k,
                         r.tokens[k], want[k]);
        accepted += r.stats.n_accepted;
        weft_result_free(&r);
    }
    cr_assert_gt(accepted, 0, "%s: no draft was ever accepted, so the 1.0 drafter and verifier went untested", file);
    weft_pipeline_free(p);
    weft_registry_free(reg);
}

Test(abi_compat, plugin_built_against_1_0_decodes) { decodes_like_greedy("abi10-full.so"); }

/* Optional methods lie beyond these vtables' struct_size and are traps: a
 * host that calls one fails the run (or changes the output). */
Test(abi_compat, plugin_built_against_1_1_decodes) { decodes_like_greedy("abi11-full.so"); }

Test(abi_compat, vtables_cut_after_mandatory_methods_decode) { decodes_like_greedy("abi10-minimal.so"); }

Test(abi_compat, newer_minor_refused_naming_both_versions) {
    weft_registry *reg = weft_registry_new();
    char path[1024], err[WEFT_ERR_CAP] = "";
    weft_status st = weft_registry_load(reg, fixture(path, sizeof path, "abi-next.so"), err, sizeof err);
    cr_assert_neq(st, WEFT_OK, "a plugin built for ABI " ABI_NEXT_VERSION " was accepted by a " ABI_HOST_VERSION " host");
    cr_assert(strstr(err, "ABI " ABI_NEXT_VERSION) && strstr(err, "ABI " ABI_HOST_VERSION),
              "the message must name both versions (" ABI_NEXT_VERSION " and " ABI_HOST_VERSION "): %s", err);
    cr_assert(strstr(err, path), "the message must name the file: %s", err);
    cr_assert_eq(weft_registry_count(reg), 0, "registration is all or nothing");
    weft_registry_free(reg);
}
