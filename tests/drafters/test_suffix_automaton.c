/* drafter suffix-automaton: the online automaton against brute-force
 * longest-suffix search, sliding window and rebuilds against automata built
 * from scratch, the frozen corpus automaton (counts, lookups, cache file),
 * and the plugin's drafts. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus.h"
#include "drafter_env.h"

static test_env te;
static void setup(void) { test_env_open(&te, "test suffix-automaton"); }
static void teardown(void) { test_env_close(&te); }
TestSuite(suffix_automaton, .init = setup, .fini = teardown);

/* ---- brute-force references ---- */

/* Does h[e+1-len .. e] equal the last len tokens of h[0..n)? */
static bool ends_like_suffix(const weft_token *h, size_t n, size_t e, size_t len) {
    return e + 1 >= len && memcmp(h + e + 1 - len, h + n - len, len * sizeof *h) == 0;
}

/* The longest suffix of h[0..n) that also ends at some e <= n - 2. Lengths
 * are monotone (a repeated suffix's own suffixes repeat), so grow it. */
static size_t brute_repeat(const weft_token *h, size_t n) {
    size_t best = 0;
    for (size_t len = 1; len < n; len++) {
        bool found = false;
        for (size_t e = len - 1; e + 2 <= n && !found; e++) found = ends_like_suffix(h, n, e, len);
        if (!found) break;
        best = len;
    }
    return best;
}

/* Occurrences of s[0..len) in h[0..n). */
static size_t brute_count(const weft_token *h, size_t n, const weft_token *s, size_t len) {
    size_t c = 0;
    for (size_t i = 0; i + len <= n; i++) c += memcmp(h + i, s, len * sizeof *h) == 0;
    return c;
}

/* Longest suffix of text[0..n) occurring anywhere in corpus[0..m). */
static size_t brute_in_corpus(const weft_token *text, size_t n, const weft_token *corpus, size_t m) {
    size_t best = 0;
    for (size_t len = 1; len <= n; len++) {
        if (!brute_count(corpus, m, text + n - len, len)) break;
        best = len;
    }
    return best;
}

static void random_tokens(uint64_t seed, size_t alphabet, weft_token *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (weft_token)(test_mix(&seed) % alphabet);
}

/* Same states, links, lengths, end positions and transitions. */
static void assert_same(const sam *a, const sam *b, size_t alphabet) {
    cr_assert_eq(a->n, b->n);
    cr_assert_arr_eq(a->tok, b->tok, a->n * sizeof *a->tok);
    cr_assert_eq(a->n_states, b->n_states);
    cr_assert_eq(a->n_edges, b->n_edges);
    for (size_t st = 0; st < a->n_states; st++) {
        cr_assert_eq(a->len[st], b->len[st], "state %zu", st);
        cr_assert_eq(a->link[st], b->link[st], "state %zu", st);
        cr_assert_eq(a->pos[st], b->pos[st], "state %zu", st);
        for (weft_token t = 0; t < (weft_token)alphabet; t++)
            cr_assert_eq(sam_next(a, (int32_t)st, t), sam_next(b, (int32_t)st, t), "state %zu token %d", st, t);
    }
}

/* The repeat state of s agrees with brute force: its length, and its end
 * position is a real earlier occurrence with a token after it. */
static void check_repeat(const sam *s) {
    int32_t rep = sam_repeat_state(s);
    size_t want = brute_repeat(s->tok, s->n), len = (size_t)s->len[rep];
    cr_assert_eq(len, want, "after %zu tokens: match length %zu, brute force %zu", s->n, len, want);
    if (!len) return;
    size_t p = (size_t)s->pos[rep];
    cr_assert_lt(p + 1, s->n, "end position %zu has no token after it (n %zu)", p, s->n);
    cr_assert(ends_like_suffix(s->tok, s->n, p, len), "end position %zu is not an occurrence of the suffix", p);
}

/* ---- the online automaton ---- */

Test(suffix_automaton, matches_brute_force_on_random_text) {
    static const size_t alphabets[] = {1, 2, 3, 5, 40};
    for (size_t a = 0; a < WEFT_COUNT_OF(alphabets); a++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            weft_token h[400];
            random_tokens(seed * 100 + a, alphabets[a], h, 400);
            sam s;
            sam_init(&s, te.env, 1 << 20);
            for (size_t i = 0; i < 400; i++) {
                cr_assert_eq(sam_push(&s, h[i]), WEFT_OK);
                check_repeat(&s);
                cr_assert_leq(s.n_states, 2 * s.n + 1);
                cr_assert_leq(s.n_edges, 3 * s.n + 1);
            }
            for (size_t st = 1; st < s.n_states; st++) cr_assert_lt(s.len[s.link[st]], s.len[st]);
            sam_free(&s);
        }
}

Test(suffix_automaton, prefers_the_latest_occurrence) {
    /* 1 2 is followed by 5, then 6: draft from the later one */
    const weft_token h[] = {1, 2, 5, 1, 2, 6, 1, 2};
    sam s;
    sam_init(&s, te.env, 1024);
    cr_assert_eq(sam_sync(&s, h, 8), WEFT_OK);
    int32_t rep = sam_repeat_state(&s);
    cr_assert_eq(s.len[rep], 2);
    cr_assert_eq(s.tok[s.pos[rep] + 1], 6);
    sam_free(&s);
}

Test(suffix_automaton, sync_is_incremental_and_rebuilds_a_new_sequence) {
    weft_token h1[300], h2[200];
    random_tokens(7, 3, h1, 300);
    random_tokens(8, 3, h2, 200);
    sam a, b;
    sam_init(&a, te.env, 1 << 20);
    sam_init(&b, te.env, 1 << 20);
    /* in uneven pieces, as observe() delivers them */
    for (size_t n = 0; n < 300; n += 1 + n % 7) cr_assert_eq(sam_sync(&a, h1, n), WEFT_OK);
    cr_assert_eq(sam_sync(&a, h1, 300), WEFT_OK);
    cr_assert_eq(sam_sync(&b, h1, 300), WEFT_OK);
    assert_same(&a, &b, 3);
    /* another history of the same length or longer is a new sequence too */
    h1[299] ^= 1;
    cr_assert_eq(sam_sync(&a, h1, 300), WEFT_OK);
    cr_assert_eq(a.n, 300);
    sam_free(&b);
    sam_init(&b, te.env, 1 << 20);
    cr_assert_eq(sam_sync(&b, h1, 300), WEFT_OK);
    assert_same(&a, &b, 3);
    /* a shorter history is a new sequence: same as building it afresh */
    cr_assert_eq(sam_sync(&a, h2, 200), WEFT_OK);
    sam_free(&b);
    sam_init(&b, te.env, 1 << 20);
    cr_assert_eq(sam_sync(&b, h2, 200), WEFT_OK);
    assert_same(&a, &b, 3);
    sam_free(&a);
    sam_free(&b);
}

Test(suffix_automaton, window_bounds_memory_and_equals_a_fresh_build) {
    weft_token h[1000];
    random_tokens(11, 3, h, 1000);
    sam a;
    sam_init(&a, te.env, 64);
    for (size_t i = 0; i < 1000; i++) {
        cr_assert_eq(sam_push(&a, h[i]), WEFT_OK);
        cr_assert_leq(a.n, 64);
        cr_assert_eq(a.dropped + a.n, i + 1);
        cr_assert_arr_eq(a.tok, h + a.dropped, a.n * sizeof *h, "the window is not the newest tokens");
        check_repeat(&a);
    }
    size_t bytes = sam_bytes(&a);
    cr_assert_lt(bytes, 64 * 200, "%zu bytes for a 64-token window", bytes);
    sam b;
    sam_init(&b, te.env, 64);
    cr_assert_eq(sam_sync(&b, a.tok, a.n), WEFT_OK);
    assert_same(&a, &b, 3);
    /* history sync counts dropped tokens: nothing new, nothing rebuilt */
    cr_assert_eq(sam_sync(&a, h, 1000), WEFT_OK);
    assert_same(&a, &b, 3);
    sam_free(&a);
    sam_free(&b);
}

/* ---- the frozen corpus automaton ---- */

/* Three documents of random tokens joined by separators. */
static size_t corpus_tokens(uint64_t seed, size_t alphabet, weft_token *out) {
    size_t n = 0;
    for (size_t d = 0; d < 3; d++) {
        random_tokens(seed + d, alphabet, out + n, 60 + 20 * d);
        n += 60 + 20 * d;
        out[n++] = FROZEN_SEP;
    }
    return n;
}

static void build_frozen(sam_frozen *f, const weft_token *c, size_t n, uint64_t fp) {
    sam s;
    sam_init(&s, te.env, 1 << 20);
    cr_assert_eq(sam_sync(&s, c, n), WEFT_OK);
    cr_assert_eq(frozen_build(f, te.env, &s, fp), WEFT_OK, "%s", weft_env_error(te.env));
    cr_assert_eq(f->n_states, s.n_states);
    for (size_t st = 0; st < s.n_states; st++)
        for (weft_token t = -1; t < 4; t++)
            cr_assert_eq(frozen_next(f, (int32_t)st, t), sam_next(&s, (int32_t)st, t), "state %zu token %d", st, t);
    sam_free(&s);
}

Test(suffix_automaton, frozen_counts_and_best_edges) {
    weft_token c[300];
    size_t n = corpus_tokens(5, 3, c);
    sam_frozen f;
    build_frozen(&f, c, n, 42);
    for (size_t st = 1; st < f.n_states; st++) {
        /* the state's longest string ends at pos */
        const weft_token *str = f.tok + f.pos[st] + 1 - f.len[st];
        size_t want = brute_count(f.tok, f.n_tok, str, (size_t)f.len[st]);
        cr_assert_eq((size_t)f.count[st], want, "state %zu: count %d, brute force %zu", st, f.count[st], want);
    }
    for (size_t st = 0; st < f.n_states; st++) {
        int32_t most = -1;
        for (uint32_t e = f.e_off[st]; e < f.e_off[st + 1]; e++)
            if (f.e_tok[e] != FROZEN_SEP && (most < 0 || f.count[f.e_to[e]] > most)) most = f.count[f.e_to[e]];
        cr_assert_eq(f.best[st] < 0 ? -1 : f.count[f.e_to[f.best[st]]], most, "state %zu", st);
    }
    frozen_free(&f);
}

Test(suffix_automaton, frozen_match_is_the_longest_suffix_in_the_corpus) {
    weft_token c[300], text[500];
    size_t n = corpus_tokens(9, 3, c);
    random_tokens(99, 3, text, 500);
    sam_frozen f;
    build_frozen(&f, c, n, 1);
    frozen_match m = {0};
    for (size_t i = 0; i < 500; i++) {
        frozen_match_step(&f, &m, text[i]);
        size_t want = brute_in_corpus(text, i + 1, c, n);
        cr_assert_eq(m.len, want, "after %zu tokens: %zu, brute force %zu", i + 1, m.len, want);
        cr_assert_eq(m.len ? (size_t)f.len[m.state] >= m.len && (size_t)f.len[f.link[m.state]] < m.len : m.state == 0, 1);
    }
    frozen_free(&f);
}

static const char *tmp_dir(void) {
    static char dir[1024];
    if (!*dir) {
        char base[900];
        snprintf(base, sizeof base, "%s/drafter-tests-tmp", WEFT_TEST_BUILD_DIR);
        mkdir(base, 0755);
        snprintf(dir, sizeof dir, "%s/XXXXXX", base);
        cr_assert_not_null(mkdtemp(dir));
    }
    return dir;
}

static const char *write_file(const char *name, const char *text) {
    static char path[2][1200];
    static int k;
    char *p = path[k++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", tmp_dir(), name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

Test(suffix_automaton, cache_file_round_trip_and_rejects) {
    weft_token c[300];
    size_t n = corpus_tokens(3, 4, c);
    sam_frozen f, g;
    build_frozen(&f, c, n, 77);
    char path[1200];
    snprintf(path, sizeof path, "%s/cache.weft-sam", tmp_dir());
    cr_assert_eq(frozen_save(&f, path), WEFT_OK);
    cr_assert_eq(frozen_map(&g, te.env, path, 77), WEFT_OK);
    cr_assert(g.mapped);
    cr_assert_eq(g.block_size, f.block_size);
    cr_assert_eq(memcmp(g.block, f.block, f.block_size), 0);
    frozen_free(&g);
    /* another fingerprint: stale */
    cr_assert_eq(frozen_map(&g, te.env, path, 78), WEFT_ERR_IO);
    /* truncated */
    cr_assert_eq(truncate(path, (off_t)f.block_size - 8), 0);
    cr_assert_eq(frozen_map(&g, te.env, path, 77), WEFT_ERR_IO);
    /* a link out of range */
    cr_assert_eq(frozen_save(&f, path), WEFT_OK);
    FILE *fp = fopen(path, "r+b");
    int32_t bad = (int32_t)f.n_states + 5;
    fseek(fp, (long)((const char *)&f.link[1] - (const char *)f.block), SEEK_SET);
    fwrite(&bad, sizeof bad, 1, fp);
    fclose(fp);
    cr_assert_eq(frozen_map(&g, te.env, path, 77), WEFT_ERR_IO);
    cr_assert_eq(frozen_map(&g, te.env, "/nonexistent/x.weft-sam", 77), WEFT_ERR_IO);
    frozen_free(&f);
}

Test(suffix_automaton, corpus_of_ids_is_cached_and_rebuilt_when_changed) {
    const char *path = write_file("ids.txt", "weft-tokens\n1 2 3 4\n\n5 6 1 2 3 7\n");
    sam_frozen f;
    cr_assert_eq(corpus_open(&f, te.env, path, NULL), WEFT_OK, "%s", weft_env_error(te.env));
    cr_assert_not(f.mapped, "nothing to map the first time");
    /* 1 2 3 4 SEP 5 6 1 2 3 7 SEP */
    const weft_token want[] = {1, 2, 3, 4, FROZEN_SEP, 5, 6, 1, 2, 3, 7, FROZEN_SEP};
    cr_assert_eq(f.n_tok, WEFT_COUNT_OF(want));
    cr_assert_arr_eq(f.tok, want, sizeof want);
    frozen_free(&f);
    char cache[1300];
    snprintf(cache, sizeof cache, "%s.weft-sam", path);
    cr_assert_eq(access(cache, R_OK), 0, "no cache file %s", cache);
    cr_assert_eq(corpus_open(&f, te.env, path, NULL), WEFT_OK);
    cr_assert(f.mapped, "the cache was not used");
    frozen_free(&f);
    write_file("ids.txt", "weft-tokens\n1 2 3 9\n");
    cr_assert_eq(corpus_open(&f, te.env, path, NULL), WEFT_OK);
    cr_assert_not(f.mapped, "a stale cache was used");
    cr_assert_eq(f.n_tok, 5);
    frozen_free(&f);
}

Test(suffix_automaton, corpus_errors) {
    sam_frozen f;
    const char *path = write_file("bad.txt", "weft-tokens\n1 2\n3 x 4\n");
    cr_assert_eq(corpus_open(&f, te.env, path, NULL), WEFT_ERR_IO);
    cr_assert(strstr(weft_env_error(te.env), "bad.txt:3: expected a token id"), "%s", weft_env_error(te.env));
    path = write_file("text.txt", "Once upon a time\n");
    cr_assert_eq(corpus_open(&f, te.env, path, NULL), WEFT_ERR_INVALID);
    cr_assert(strstr(weft_env_error(te.env), "needs the target's tokenizer"), "%s", weft_env_error(te.env));
}

/* ---- the plugin ---- */

static pf fx;
static void pf_teardown(void) {
    pf_close(&fx);
    test_env_close(&te);
}
TestSuite(suffix_automaton_plugin, .init = setup, .fini = pf_teardown);

static void draft_into(const weft_token *h, size_t n, size_t max_nodes, size_t max_depth, pf_tree *tr) {
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(h, n, max_nodes, max_depth, 100, &rng);
    pf_tree_init(tr);
    tr->t.n_nodes = 99;
    cr_assert_eq(PF_DRAFTER(&fx)->draft(fx.self, &ctx, &tr->t), WEFT_OK, "%s", pf_error(&fx));
}

static int64_t call_int(const char *action) {
    for (size_t i = 0; i < fx.desc->n_actions; i++)
        if (strcmp(fx.desc->actions[i].name, action) == 0)
            return ((int64_t(*)(void *))fx.desc->actions[i].fn)(fx.self);
    cr_assert_fail("no action %s", action);
    return 0;
}

#define CHAIN(...) TOKENS(__VA_ARGS__), PARENTS(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), COUNT(__VA_ARGS__)

Test(suffix_automaton_plugin, descriptor) {
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_NO_ARGS);
    cr_assert_null(pf_check_descriptor(fx.desc), "%s", pf_check_descriptor(fx.desc));
    cr_assert_eq(fx.desc->flags & WEFT_CAP_DRAFT_PROBS, 0);
}

Test(suffix_automaton_plugin, drafts_what_followed_the_longest_match) {
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_ARGS(PF_INT("min_match", 1), PF_INT("max_draft", 8)));
    pf_tree tr;
    /* 7 1 2 3 | 8 9 | 1 2 3: the match is 1 2 3 (not just 3), then 8 9 1 2 3 */
    draft_into(TOKENS(7, 1, 2, 3, 8, 9, 1, 2, 3), 9, 64, 64, &tr);
    test_expect_tree(&tr, CHAIN(8, 9, 1, 2, 3));
    cr_assert_eq(call_int("match_length"), 3);
    for (size_t i = 0; i < tr.t.n_nodes; i++) cr_assert(isnan(tr.draft_p[i]) && tr.flags[i] == 0);
    /* the longest match wins over a more recent shorter one: 4 5 6 | 1 5 | 4 5 6 -> 1 ... */
    draft_into(TOKENS(4, 5, 6, 1, 5, 6, 2, 4, 5, 6), 10, 64, 64, &tr);
    test_expect_tree(&tr, CHAIN(1, 5, 6, 2, 4, 5, 6));
    cr_assert_eq(call_int("match_length"), 3);
}

Test(suffix_automaton_plugin, min_match_and_budgets) {
    const weft_token h[] = {1, 2, 3, 4, 5, 6, 7, 1, 2, 3};
    pf_tree tr;
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_ARGS(PF_INT("min_match", 4)));
    draft_into(h, 10, 64, 64, &tr);
    test_expect_tree(&tr, NULL, NULL, 0);
    cr_assert_eq(call_int("match_length"), 0);
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_ARGS(PF_INT("min_match", 3), PF_INT("max_draft", 3)));
    draft_into(h, 10, 64, 64, &tr);
    test_expect_tree(&tr, CHAIN(4, 5, 6)); /* max_draft */
    draft_into(h, 10, 2, 64, &tr);
    test_expect_tree(&tr, CHAIN(4, 5)); /* max_nodes */
    draft_into(h, 10, 64, 1, &tr);
    test_expect_tree(&tr, CHAIN(4)); /* max_depth */
    draft_into(h, 10, 0, 64, &tr);
    test_expect_tree(&tr, NULL, NULL, 0);
    pf_close(&fx);
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_ARGS(PF_INT("max_draft", 256)));
    weft_token long_h[300];
    for (int i = 0; i < 300; i++) long_h[i] = i < 290 ? i : i - 290;
    draft_into(long_h, 300, 1000, 1000, &tr);
    cr_assert_eq(tr.t.n_nodes, PF_TREE_CAP, "capacity");
}

Test(suffix_automaton_plugin, branches_offer_other_continuations) {
    /* 9 1 2 was followed by 4, then by 5: 5 (latest) first, 4 as a sibling
     * with half the depth */
    const weft_token h[] = {1, 2, 3, 9, 1, 2, 4, 9, 1, 2, 5, 9, 1, 2};
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_ARGS(PF_INT("max_draft", 4), PF_INT("branches", 3)));
    pf_tree tr;
    draft_into(h, 14, 64, 64, &tr);
    test_expect_tree(&tr, TOKENS(5, 9, 1, 2, 4, 9), PARENTS(-1, 0, 1, 2, -1, 4), 6);
    /* within max_nodes, the first chain first */
    draft_into(h, 14, 5, 64, &tr);
    test_expect_tree(&tr, TOKENS(5, 9, 1, 2, 4), PARENTS(-1, 0, 1, 2, -1), 5);
}

/* Fed through start() and observe() piece by piece, or started afresh on
 * the whole history: the same drafts (the automaton follows the text). */
Test(suffix_automaton_plugin, incremental_equals_rebuilt) {
    pf other;
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_ARGS(PF_INT("min_match", 1), PF_INT("branches", 2)));
    pf_open(&other, WEFT_KIND_DRAFTER, "suffix-automaton",
            PF_ARGS(PF_INT("min_match", 1), PF_INT("branches", 2), PF_BOOL("keep", false)));
    weft_token h[400];
    random_tokens(3, 4, h, 400);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, h, 10), WEFT_OK);
    size_t drafted = 0;
    for (size_t n = 10; n < 400; n += 1 + n % 5) {
        weft_observe ob = {.struct_size = sizeof ob, .history = h, .n_history = n};
        cr_assert_eq(v->observe(fx.self, &ob), WEFT_OK);
        pf_tree a, b;
        draft_into(h, n, 64, 64, &a);
        cr_assert_eq(v->start(other.self, h, n), WEFT_OK);
        weft_rng rng;
        weft_draft_ctx ctx = test_draft_ctx(h, n, 64, 64, 100, &rng);
        pf_tree_init(&b);
        cr_assert_eq(v->draft(other.self, &ctx, &b.t), WEFT_OK);
        test_expect_tree(&a, b.tokens, b.parents, b.t.n_nodes);
        drafted += a.t.n_nodes;
    }
    cr_assert_gt(drafted, 100);
    pf_close(&other);
}

/* keep (the default): a request matches the text of earlier ones, and a
 * continuation ends where its request ended. */
Test(suffix_automaton_plugin, keep_matches_earlier_requests) {
    for (int keep = 0; keep < 2; keep++) {
        pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton",
                PF_ARGS(PF_INT("min_match", 2), PF_INT("max_draft", 8), PF_BOOL("keep", keep)));
        const weft_drafter_vtable *v = PF_DRAFTER(&fx);
        cr_assert_eq(v->start(fx.self, TOKENS(5, 1, 2, 3, 4), 5), WEFT_OK);
        cr_assert_eq(v->start(fx.self, TOKENS(6, 7, 8), 3), WEFT_OK);
        pf_tree tr;
        /* 1 2 was followed by 3 4, the end of the first request */
        draft_into(TOKENS(9, 1, 2), 3, 64, 64, &tr);
        if (keep) test_expect_tree(&tr, CHAIN(3, 4));
        else test_expect_tree(&tr, NULL, NULL, 0);
        /* the current request's own match still wins when it is longer */
        draft_into(TOKENS(9, 1, 2, 0, 9, 1, 2), 7, 64, 64, &tr);
        test_expect_tree(&tr, CHAIN(0, 9, 1, 2));
        cr_assert_eq(call_int("match_length"), 3);
        pf_close(&fx);
    }
    /* bounded by the window however many requests pass */
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton", PF_ARGS(PF_INT("window", 64)));
    weft_token h[40];
    for (uint64_t r = 0; r < 200; r++) {
        random_tokens(100 + r, 50, h, 40);
        cr_assert_eq(PF_DRAFTER(&fx)->start(fx.self, h, 40), WEFT_OK);
    }
    cr_assert_lt(call_int("memory_bytes"), 64 * 200);
}

Test(suffix_automaton_plugin, corpus_continuation_when_longer) {
    const char *path = write_file("corpus-ids.txt", "weft-tokens\n1 2 3 4\n5 6 1 2 3 7 1 2 3 4\n");
    pf_open(&fx, WEFT_KIND_DRAFTER, "suffix-automaton",
            PF_ARGS(PF_INT("min_match", 2), PF_STRING("corpus", path), PF_INT("branches", 2)));
    pf_tree tr;
    /* the text never repeats: the corpus's 1 2 -> 3, then its most frequent 4 (twice) over 7 */
    draft_into(TOKENS(9, 1, 2), 3, 64, 64, &tr);
    test_expect_tree(&tr, TOKENS(3, 4), PARENTS(-1, 0), 2);
    cr_assert_eq(call_int("match_length"), 2);
    /* the text's own match is longer: 9 1 2 repeats with 8 after it */
    draft_into(TOKENS(9, 1, 2, 8, 9, 1, 2), 7, 64, 64, &tr);
    test_expect_tree(&tr, TOKENS(8, 9, 1, 2), PARENTS(-1, 0, 1, 2), 4);
    cr_assert_eq(call_int("match_length"), 3);
    cr_assert_gt(call_int("memory_bytes"), 0);
}
