/* What the drafter unit tests share: a host environment for code compiled
 * straight from a plugin's sources (the automaton, the adjacency table),
 * random token sequences, and draft contexts over a history. */
#ifndef WEFT_TEST_DRAFTER_ENV_H
#define WEFT_TEST_DRAFTER_ENV_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "plugin_fixture.h"

typedef struct test_env {
    weft_runtime *rt;
    weft_env *env;
} test_env;

static inline void test_env_open(test_env *t, const char *name) {
    t->rt = weft_runtime_new(1);
    t->env = t->rt ? weft_env_new(t->rt, name) : NULL;
    cr_assert(t->rt && t->env, "no host environment");
}

static inline void test_env_close(test_env *t) {
    if (t->env) weft_env_free(t->env);
    if (t->rt) weft_runtime_free(t->rt);
    memset(t, 0, sizeof *t);
}

/* splitmix64: reproducible sequences without the host RNG. */
static inline uint64_t test_mix(uint64_t *s) {
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A draft context over h[0..n) with the given budgets (rng: a fixed seed). */
static inline weft_draft_ctx test_draft_ctx(const weft_token *h, size_t n, size_t max_nodes, size_t max_depth,
                                            int32_t n_vocab, weft_rng *rng) {
    weft_rng_seed(rng, 1);
    return (weft_draft_ctx){.struct_size = sizeof(weft_draft_ctx), .history = h, .n_history = n, .n_prompt = n,
                            .max_nodes = max_nodes, .max_depth = max_depth, .n_vocab = n_vocab, .rng = rng};
}

/* Asserts the drafted tree is exactly tokens/parents. */
static inline void test_expect_tree(const pf_tree *tr, const weft_token *tokens, const int32_t *parents, size_t n) {
    cr_assert_eq(tr->t.n_nodes, n, "drafted %zu nodes, want %zu", tr->t.n_nodes, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(tr->tokens[i], tokens[i], "node %zu: token %d, want %d", i, tr->tokens[i], tokens[i]);
        cr_assert_eq(tr->parents[i], parents[i], "node %zu: parent %d, want %d", i, tr->parents[i], parents[i]);
    }
}

/* A backend opened through the fixture, as the live instance a drafter
 * nests or drafts with: a builtin plugin, or the test plugin "markov". */
static inline weft_instance test_backend(pf *b, const char *name, const pf_arg *args, size_t n) {
    bool fixture = strcmp(name, "markov") == 0;
    if (fixture) setenv("WEFT_PLUGIN_DIR", WEFT_TEST_BUILD_DIR "/test-plugins", 1);
    pf_open(b, WEFT_KIND_BACKEND, name, args, n);
    if (fixture) unsetenv("WEFT_PLUGIN_DIR");
    return (weft_instance){.struct_size = sizeof(weft_instance), .desc = b->desc, .self = b->self, .env = b->env};
}

#define BACKEND_VT(inst) ((const weft_backend_vtable *)(inst)->desc->vtable)

#define TOKENS(...) (const weft_token[]){__VA_ARGS__}
#define PARENTS(...) (const int32_t[]){__VA_ARGS__}
#define COUNT(...) (sizeof((const weft_token[]){__VA_ARGS__}) / sizeof(weft_token))

#endif
