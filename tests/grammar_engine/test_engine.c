/* The grammar engine (plugins/grammar/engine): byte-level matching against an
 * independent recognizer on random grammars, token masks against brute
 * force (synthetic and real vocabularies), fork/rollback against replays,
 * UTF-8 classes split across tokens, jump-forward, and compile errors. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gbnf_parse.h"
#include "grammar_testutil.h"
#include "internal.h"

/* ---- an independent reference: random grammars as a test-side AST ---- */

enum { A_EMPTY, A_LIT, A_CLASS, A_REF, A_SEQ, A_ALT, A_REP };

typedef struct ast {
    int kind;
    uint32_t cp[3];  /* A_LIT: code points */
    int n_cp;
    uint32_t lo, hi; /* A_CLASS: one range */
    bool neg;
    int rule;        /* A_REF */
    int kids[3], n_kids;
    uint32_t min, max; /* A_REP, max WG_INF */
} ast;

#define MAX_AST 256
#define MAX_RULES 4
#define MAX_LEN 6

typedef struct rgram {
    ast node[MAX_AST];
    int n;
    int body[MAX_RULES];
    int n_rules;
    wg_builder *b;
    wg_expr expr[MAX_AST];
    wg_rule rules[MAX_RULES];
} rgram;

/* The alphabet of test strings and literals: three ASCII letters and a
 * two-byte character, so tokens can split a character. */
static const uint32_t ALPHA[] = {'a', 'b', 'c', 0xE9};

static int gen(rgram *g, uint64_t *s, int depth) {
    if (g->n >= MAX_AST - 4) return -1;
    int k = g->n++;
    ast *a = &g->node[k];
    memset(a, 0, sizeof *a);
    uint64_t r = gt_rand(s) % (depth > 2 ? 4 : 10);
    wg_builder *b = g->b;
    switch (r) {
    case 0:
    case 1:
        a->kind = A_LIT;
        a->n_cp = 1 + (int)(gt_rand(s) % 2);
        {
            uint8_t buf[16];
            size_t len = 0;
            for (int i = 0; i < a->n_cp; i++) {
                a->cp[i] = ALPHA[gt_rand(s) % 4];
                len += wg_utf8_encode(a->cp[i], buf + len);
            }
            g->expr[k] = wg_lit(b, buf, len);
        }
        break;
    case 2:
        a->kind = A_CLASS;
        a->lo = ALPHA[gt_rand(s) % 4];
        a->hi = a->lo + (uint32_t)(gt_rand(s) % 2);
        a->neg = gt_rand(s) % 4 == 0;
        g->expr[k] = wg_class(b, (uint32_t[]){a->lo, a->hi}, 1, a->neg);
        break;
    case 3:
        if (gt_rand(s) % 3 == 0) {
            a->kind = A_EMPTY;
            g->expr[k] = wg_empty(b);
        } else {
            a->kind = A_REF;
            a->rule = (int)(gt_rand(s) % (uint64_t)g->n_rules);
            g->expr[k] = wg_ref(b, g->rules[a->rule]);
        }
        break;
    case 4:
    case 5:
    case 6:
    case 7: {
        a->kind = r < 6 ? A_SEQ : A_ALT;
        a->n_kids = 2 + (int)(gt_rand(s) % 2);
        wg_expr kids[3];
        for (int i = 0; i < a->n_kids; i++) {
            int c = gen(g, s, depth + 1);
            if (c < 0) return -1;
            a->kids[i] = c;
            kids[i] = g->expr[c];
        }
        a = &g->node[k];
        g->expr[k] = a->kind == A_SEQ ? wg_seq(b, kids, (size_t)a->n_kids) : wg_alt(b, kids, (size_t)a->n_kids);
        break;
    }
    default: {
        int c = gen(g, s, depth + 1);
        if (c < 0) return -1;
        a = &g->node[k];
        a->kind = A_REP;
        a->n_kids = 1;
        a->kids[0] = c;
        a->min = (uint32_t)(gt_rand(s) % 3);
        a->max = gt_rand(s) % 3 == 0 ? WG_INF : a->min + (uint32_t)(gt_rand(s) % 3);
        if (a->max == 0) a->max = 1;
        g->expr[k] = wg_repeat(b, g->expr[c], a->min, a->max);
        break;
    }
    }
    return k;
}

static void rgram_make(rgram *g, uint64_t seed) {
    memset(g, 0, sizeof *g);
    uint64_t s = seed;
    g->b = wg_builder_new();
    g->n_rules = 1 + (int)(gt_rand(&s) % MAX_RULES);
    char name[16];
    for (int r = 0; r < g->n_rules; r++) {
        snprintf(name, sizeof name, "r%d", r);
        g->rules[r] = wg_rule_named(g->b, name);
    }
    for (int r = 0; r < g->n_rules; r++) {
        g->body[r] = gen(g, &s, 0);
        cr_assert(g->body[r] >= 0, "AST too large");
        cr_assert(wg_rule_define(g->b, g->rules[r], g->expr[g->body[r]]));
    }
}

/* Reference recognizer over code points: the set of end positions (bits)
 * of e from position i. Rule results are memoised per position; re-entering
 * a rule at the same position (left recursion) is flagged. */
typedef struct ref_ctx {
    const rgram *g;
    const uint32_t *cp;
    int n;
    uint32_t memo[MAX_RULES][MAX_LEN + 1];
    uint8_t state[MAX_RULES][MAX_LEN + 1]; /* 0 new, 1 running, 2 done */
    bool left_recursion;
} ref_ctx;

static uint32_t ends(ref_ctx *c, int e, int i);

static uint32_t step_set(ref_ctx *c, int e, uint32_t from) {
    uint32_t out = 0;
    for (int i = 0; i <= c->n; i++)
        if (from >> i & 1) out |= ends(c, e, i);
    return out;
}

static uint32_t ends(ref_ctx *c, int e, int i) {
    const ast *a = &c->g->node[e];
    switch (a->kind) {
    case A_EMPTY: return 1u << i;
    case A_LIT:
        if (i + a->n_cp > c->n) return 0;
        for (int k = 0; k < a->n_cp; k++)
            if (c->cp[i + k] != a->cp[k]) return 0;
        return 1u << (i + a->n_cp);
    case A_CLASS:
        if (i >= c->n) return 0;
        return ((c->cp[i] >= a->lo && c->cp[i] <= a->hi) != a->neg) ? 1u << (i + 1) : 0;
    case A_REF:
        if (c->state[a->rule][i] == 2) return c->memo[a->rule][i];
        if (c->state[a->rule][i] == 1) {
            c->left_recursion = true;
            return 0;
        }
        c->state[a->rule][i] = 1;
        c->memo[a->rule][i] = ends(c, c->g->body[a->rule], i);
        c->state[a->rule][i] = 2;
        return c->memo[a->rule][i];
    case A_SEQ: {
        uint32_t cur = 1u << i;
        for (int k = 0; k < a->n_kids; k++) cur = step_set(c, a->kids[k], cur);
        return cur;
    }
    case A_ALT: {
        uint32_t out = 0;
        for (int k = 0; k < a->n_kids; k++) out |= ends(c, a->kids[k], i);
        return out;
    }
    case A_REP: {
        uint32_t cur = 1u << i, out = a->min == 0 ? cur : 0;
        for (uint32_t k = 1; a->max == WG_INF || k <= a->max; k++) {
            uint32_t next = step_set(c, a->kids[0], cur);
            if (k >= a->min) {
                if (a->max == WG_INF && (next & ~out) == 0 && k > a->min) break;
                out |= next;
            }
            if (next == 0 || (a->max == WG_INF && k > a->min + (uint32_t)c->n + 1)) break;
            cur = next;
        }
        return out;
    }
    }
    return 0;
}

static size_t encode(const uint32_t *cp, int n, char *out) {
    size_t len = 0;
    for (int i = 0; i < n; i++) len += wg_utf8_encode(cp[i], (uint8_t *)out + len);
    return len;
}

Test(engine, random_grammars_match_a_reference_recognizer) {
    int compiled = 0, left_rec = 0;
    size_t strings = 0;
    for (uint64_t seed = 1; seed <= 150; seed++) {
        rgram *g = calloc(1, sizeof *g);
        rgram_make(g, seed);
        wg_error err = {{0}};
        wg_grammar *cg = wg_compile(g->b, g->rules[0], NULL, &err);
        if (!cg) {
            cr_assert(strstr(err.msg, "left recursion"), "seed %llu: %s", (unsigned long long)seed, err.msg);
            left_rec++;
            wg_builder_free(g->b);
            free(g);
            continue;
        }
        compiled++;
        /* every string over the alphabet up to MAX_LEN - 1 characters */
        uint32_t cp[MAX_LEN];
        for (int len = 0; len < MAX_LEN; len++) {
            int total = 1;
            for (int k = 0; k < len; k++) total *= 4;
            for (int x = 0; x < total; x++) {
                for (int k = 0, y = x; k < len; k++, y /= 4) cp[k] = ALPHA[y % 4];
                ref_ctx rc = {.g = g, .cp = cp, .n = len};
                bool want = ends(&rc, g->body[0], 0) >> len & 1;
                cr_assert(!rc.left_recursion, "seed %llu: compiled a left-recursive grammar",
                          (unsigned long long)seed);
                char text[32];
                size_t n = encode(cp, len, text);
                wg_matcher *m = wg_matcher_new(cg);
                bool got = wg_matcher_accept_bytes(m, text, n) && wg_matcher_is_accepting(m);
                cr_assert_eq(got, want, "seed %llu: \"%.*s\" %s by the engine, %s by the reference",
                             (unsigned long long)seed, (int)n, text, got ? "accepted" : "rejected",
                             want ? "accepted" : "rejected");
                wg_matcher_free(m);
                strings++;
            }
        }
        wg_grammar_free(cg);
        wg_builder_free(g->b);
        free(g);
    }
    cr_assert(compiled >= 100, "only %d of 150 random grammars compiled (%d left-recursive)", compiled, left_rec);
    cr_log_info("%d grammars, %zu strings, %d left-recursive refused", compiled, strings, left_rec);
}

/* ---- token masks on a synthetic vocabulary ---- */

/* Every string of 1..3 letters over a, b, c, plus "é" whole, split into its
 * two bytes, and glued to neighbours; the last token is EOS. */
static tv_vocab *synthetic_vocab(void) {
    static char strs[64][8];
    static uint32_t lens[64];
    const char *ptrs[64];
    int n = 0;
    for (int len = 1; len <= 3; len++) {
        int total = len == 1 ? 3 : len == 2 ? 9 : 27;
        for (int x = 0; x < total; x++) {
            for (int k = 0, y = x; k < len; k++, y /= 3) strs[n][k] = (char)('a' + y % 3);
            lens[n++] = (uint32_t)len;
        }
    }
    const char *extra[] = {"\xC3\xA9", "\xC3", "\xA9", "a\xC3\xA9", "\xC3\xA9\xC3", "\xA9" "b", "\xC3\xA9" "c"};
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
        lens[n] = (uint32_t)strlen(extra[i]);
        memcpy(strs[n++], extra[i], strlen(extra[i]));
    }
    lens[n] = 0;
    int eos = n++;
    for (int i = 0; i < n; i++) ptrs[i] = strs[i];
    return tv_synthetic(ptrs, lens, n, eos);
}

static void walk_and_check(wg_grammar *cg, const tv_vocab *tv, uint64_t seed, int walks, int steps,
                           const char *label) {
    wg_error err = {{0}};
    wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
    cr_assert_not_null(vi, "%s", err.msg);
    wg_token_cache *cached = wg_token_cache_new(cg, vi, NULL, &err);
    wg_token_cache *lazy = wg_token_cache_new(cg, vi, &(wg_cache_opts){.disable = true}, &err);
    wg_token_cache *walked = wg_token_cache_new(cg, vi, &(wg_cache_opts){.walk_only = true}, &err);
    cr_assert(cached && lazy && walked, "%s", err.msg);
    int32_t nv = tv->v.n_vocab;
    uint32_t mask[64];
    char where[128];
    uint64_t s = seed;
    for (int w = 0; w < walks; w++) {
        wg_matcher *m = wg_matcher_new(cg);
        for (int k = 0; k < steps; k++) {
            snprintf(where, sizeof where, "%s walk %d step %d (cache)", label, w, k);
            gt_check_mask(cached, m, tv, where);
            snprintf(where, sizeof where, "%s walk %d step %d (classified on first use)", label, w, k);
            gt_check_mask(lazy, m, tv, where);
            snprintf(where, sizeof where, "%s walk %d step %d (trie walk)", label, w, k);
            gt_check_mask(walked, m, tv, where);
            cr_assert(wg_fill_mask(cached, m, mask));
            int32_t t = gt_pick(mask, nv, &s);
            if (t < 0) break;
            cr_assert(wg_accept_token(cached, m, t));
        }
        wg_matcher_free(m);
    }
    wg_token_cache_free(cached);
    wg_token_cache_free(lazy);
    wg_token_cache_free(walked);
    wg_vocab_index_free(vi);
}

Test(engine, masks_equal_brute_force_on_random_grammars) {
    tv_vocab *tv = synthetic_vocab();
    cr_assert_not_null(tv);
    int done = 0;
    for (uint64_t seed = 1; seed <= 120; seed++) {
        rgram *g = calloc(1, sizeof *g);
        rgram_make(g, seed);
        wg_grammar *cg = wg_compile(g->b, g->rules[0], NULL, NULL);
        if (cg) {
            char label[32];
            snprintf(label, sizeof label, "seed %llu", (unsigned long long)seed);
            walk_and_check(cg, tv, seed, 3, 8, label);
            wg_grammar_free(cg);
            done++;
        }
        wg_builder_free(g->b);
        free(g);
    }
    cr_assert(done >= 80);
    tv_free(tv);
}

/* Recursion, nullable rules and tail calls, where the cache's unknown-bottom
 * simulation and the real stacks differ most. */
Test(engine, masks_equal_brute_force_on_recursive_grammars) {
    static const char *const grammars[] = {
        "root ::= list\nlist ::= \"\" | item list\nitem ::= \"a\" | \"b\" nest\nnest ::= \"c\" nest \"a\" | \"b\"",
        "root ::= x \"c\"\nx ::= \"a\" x \"b\" | e\ne ::= \"\" | \"c\"",
        "root ::= (p)*\np ::= \"b\" p* \"c\" | \"a\"",
        "root ::= a b a\na ::= \"a\"? \nb ::= (\"b\" | a \"c\")+",
        "root ::= [^a]* \"a\" [\\u00e9]+",
    };
    tv_vocab *tv = synthetic_vocab();
    for (size_t i = 0; i < sizeof grammars / sizeof *grammars; i++) {
        wg_error err = {{0}};
        wg_grammar *g = gt_gbnf(grammars[i], &err);
        cr_assert_not_null(g, "grammar %zu: %s", i, err.msg);
        char label[32];
        snprintf(label, sizeof label, "grammar %zu", i);
        walk_and_check(g, tv, 77 + i, 8, 10, label);
        wg_grammar_free(g);
    }
    tv_free(tv);
}

/* ---- UTF-8 ---- */

/* Every code point below U+3100, every boundary of the encoding, and a
 * stride through the rest: a class matches a character's UTF-8 iff the code
 * point is in it (encoded here independently of the engine). */
static size_t utf8(uint32_t c, char *o) {
    if (c < 0x80) return o[0] = (char)c, 1;
    if (c < 0x800) return o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 63)), 2;
    if (c < 0x10000)
        return o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | (c >> 6 & 63)), o[2] = (char)(0x80 | (c & 63)), 3;
    return o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | (c >> 12 & 63)), o[2] = (char)(0x80 | (c >> 6 & 63)),
           o[3] = (char)(0x80 | (c & 63)), 4;
}

Test(engine, classes_match_exactly_their_code_points) {
    static const uint32_t cases[][4] = {
        {'a', 'z', 0, 0}, {0x3B1, 0x3C9, 0, 0}, {0x7F, 0x800, 0, 0}, {0x100, 0x2FFF, 0xFF00, 0x10FFFF},
        {0, 0x10FFFF, 0, 0}, {0xD000, 0xE100, 0, 0}, {0xFFFF, 0x10000, 0x1F600, 0x1F64F},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
        for (int neg = 0; neg < 2; neg++) {
            const uint32_t *r = cases[ci];
            size_t nr = r[3] ? 2 : 1;
            wg_builder *b = wg_builder_new();
            wg_rule root = wg_rule_named(b, "root");
            wg_rule_define(b, root, wg_class(b, r, nr, neg));
            wg_error err = {{0}};
            wg_grammar *g = wg_compile(b, root, NULL, &err);
            cr_assert_not_null(g, "%s", err.msg);
            for (uint32_t c = 0; c <= 0x10FFFF; c = c < 0x3100 ? c + 1 : c + 251) {
                bool surrogate = c >= 0xD800 && c <= 0xDFFF;
                if (surrogate) continue;
                bool in = (c >= r[0] && c <= r[1]) || (nr == 2 && c >= r[2] && c <= r[3]);
                char buf[4];
                size_t n = utf8(c, buf);
                wg_matcher *m = wg_matcher_new(g);
                bool got = wg_matcher_accept_bytes(m, buf, n) && wg_matcher_is_accepting(m);
                cr_assert_eq(got, in != (bool)neg, "class %zu%s: U+%04X %s", ci, neg ? " negated" : "", c,
                             got ? "matched" : "not matched");
                wg_matcher_free(m);
            }
            /* surrogates encoded as if they were characters never match */
            wg_matcher *m = wg_matcher_new(g);
            cr_assert_not(wg_matcher_accept_bytes(m, "\xED\xA0\x80", 3) && wg_matcher_is_accepting(m));
            wg_matcher_free(m);
            wg_grammar_free(g);
            wg_builder_free(b);
        }
}

/* [α-ω]+ is U+03B1..U+03C9: CE B1..CE BF and CF 80..CF 89 in UTF-8. Tokens
 * that hold half a character are allowed exactly where the other half may
 * still come. Expected masks are written by hand from those byte ranges. */
Test(engine, class_with_tokens_that_split_characters) {
    const char *strs[] = {
        "\xCE\xB1",         /* 0 α */
        "\xCF\x89",         /* 1 ω */
        "\xCE",             /* 2 lead byte of α..ο */
        "\xCF",             /* 3 lead byte of π..ω (and beyond) */
        "\xB1",             /* 4 second byte of α */
        "\x89",             /* 5 second byte of ω */
        "\x8A",             /* 6 second byte of ϊ (U+03CA, outside) */
        "\xCE\xB1\xCF",     /* 7 α + half of π..ω */
        "\xB1\xCE",         /* 8 rest of α + half of the next */
        "a",                /* 9 */
        "\xCE\xB0",         /* 10 ΰ (U+03B0, outside) */
        "",                 /* 11 EOS */
    };
    tv_vocab *tv = tv_synthetic(strs, NULL, 12, 11);
    wg_error err = {{0}};
    wg_grammar *g = gt_gbnf("root ::= [α-ω]+", &err);
    cr_assert_not_null(g, "%s", err.msg);
    wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
    wg_token_cache *tc = wg_token_cache_new(g, vi, NULL, &err);
    cr_assert_not_null(tc, "%s", err.msg);
    struct {
        const char *path; /* tokens accepted first, as digits */
        uint32_t want;    /* expected mask */
    } cases[] = {
        {"", 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3 | 1u << 7},
        {"2", 1u << 4 | 1u << 8},                                              /* after CE: B1..BF */
        {"3", 1u << 5},                                                        /* after CF: 80..89 */
        {"0", 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3 | 1u << 7 | 1u << 11},     /* complete: EOS too */
        {"7", 1u << 5},                                                        /* α then CF */
        {"28", 1u << 4 | 1u << 8},                                             /* CE, B1 CE: again after CE */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wg_matcher *m = wg_matcher_new(g);
        for (const char *p = cases[i].path; *p; p++) cr_assert(wg_accept_token(tc, m, *p - '0'), "case %zu", i);
        uint32_t mask[1];
        cr_assert(wg_fill_mask(tc, m, mask));
        cr_assert_eq(mask[0] & 0xFFF, cases[i].want, "after \"%s\": mask %03x, want %03x", cases[i].path,
                     mask[0] & 0xFFF, cases[i].want);
        gt_check_mask(tc, m, tv, cases[i].path);
        wg_matcher_free(m);
    }
    wg_token_cache_free(tc);
    wg_vocab_index_free(vi);
    wg_grammar_free(g);
    tv_free(tv);
}

/* ---- the real vocabulary ---- */

typedef struct real_case {
    const char *grammar;
    const char *texts[4];
} real_case;

static const real_case real_cases[] = {
    {"json.gbnf",
     {"{\"name\": \"Alice\", \"age\": 30, \"tags\": [\"x\", \"\\u00e9t\\u00e9\", true, null]}",
      "{\n  \"a\": {\"b\": [1.5e3, -0, {}], \"c\": \"d\\\"e\"}\n}", "{\"caf\xC3\xA9\": \"na\xC3\xAFve \xE2\x9C\x93\"}",
      NULL}},
    {"arithmetic.gbnf", {"a+b*2=(x1)\n", "y/3 = 4\nq-r=(z)\n", NULL}},
};

/* fill_mask == brute force over all 32,000 tokens at every state reached by
 * feeding real text token by token, and along short random walks. */
Test(engine, masks_equal_brute_force_on_llama_vocab, .timeout = 120) {
    tv_vocab *tv = tv_load_gguf("ggml-vocab-llama-spm.gguf");
    cr_assert_not_null(tv);
    wg_error err = {{0}};
    wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
    cr_assert_not_null(vi, "%s", err.msg);
    int32_t nv = tv->v.n_vocab;
    uint32_t *mask = malloc(((size_t)nv + 31) / 32 * sizeof *mask);
    size_t states = 0;
    for (size_t c = 0; c < sizeof real_cases / sizeof *real_cases; c++) {
        wg_grammar *g = gt_load_gbnf(real_cases[c].grammar);
        wg_token_cache *tc = wg_token_cache_new(g, vi, NULL, &err);
        cr_assert_not_null(tc, "%s", err.msg);
        for (size_t k = 0; real_cases[c].texts[k]; k++) {
            const char *text = real_cases[c].texts[k];
            weft_token ids[256];
            size_t n = tv_tokenize(tv, text, ids, 256);
            cr_assert(n > 0, "cannot tokenize %s", text);
            wg_matcher *m = wg_matcher_new(g);
            char where[160];
            for (size_t i = 0; i <= n; i++) {
                snprintf(where, sizeof where, "%s text %zu after %zu tokens", real_cases[c].grammar, k, i);
                size_t allowed = gt_check_mask(tc, m, tv, where);
                cr_assert(allowed > 0, "%s: nothing allowed", where);
                states++;
                if (i < n) cr_assert(wg_accept_token(tc, m, ids[i]), "%s: token %d refused", where, ids[i]);
            }
            cr_assert(wg_can_end(m), "%s text %zu: complete text not accepting", real_cases[c].grammar, k);
            wg_matcher_free(m);
        }
        uint64_t s = 99 + c;
        for (int w = 0; w < 2; w++) {
            wg_matcher *m = wg_matcher_new(g);
            for (int i = 0; i < 6; i++) {
                cr_assert(wg_fill_mask(tc, m, mask));
                int32_t t = gt_pick(mask, nv, &s);
                if (t < 0) break;
                cr_assert(wg_accept_token(tc, m, t));
                char where[96];
                snprintf(where, sizeof where, "%s random walk %d step %d", real_cases[c].grammar, w, i);
                gt_check_mask(tc, m, tv, where);
                states++;
            }
            wg_matcher_free(m);
        }
        wg_token_cache_free(tc);
        wg_grammar_free(g);
    }
    cr_log_info("%zu states x %d tokens checked", states, nv);
    free(mask);
    wg_vocab_index_free(vi);
    tv_free(tv);
}

/* ---- fork and rollback ---- */

/* Random accept / fork / rollback / free sequences on several matchers;
 * after every operation a matcher must equal a fresh one fed its tokens. */
Test(engine, fork_and_rollback_equal_replays) {
    tv_vocab *tv = synthetic_vocab();
    wg_error err = {{0}};
    wg_grammar *g = gt_gbnf("root ::= (x | \"c\" root \"a\")*\nx ::= [ab]+ \"\\u00e9\"? | \"c\"", &err);
    cr_assert_not_null(g, "%s", err.msg);
    wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
    wg_token_cache *tc = wg_token_cache_new(g, vi, NULL, &err);
    int32_t nv = tv->v.n_vocab;
    enum { N = 6, MAXT = 64 };
    wg_matcher *m[N] = {0};
    weft_token hist[N][MAXT];
    size_t len[N] = {0};
    m[0] = wg_matcher_new(g);
    uint64_t s = 5;
    uint32_t mask[8], want[8];
    for (int op = 0; op < 3000; op++) {
        int i = (int)(gt_rand(&s) % N);
        if (!m[i]) continue;
        int kind = (int)(gt_rand(&s) % 10);
        if (kind < 5 && len[i] < MAXT) {
            cr_assert(wg_fill_mask(tc, m[i], mask));
            int32_t t = gt_pick(mask, nv, &s);
            if (t >= 0) {
                cr_assert(wg_accept_token(tc, m[i], t));
                hist[i][len[i]++] = t;
            }
        } else if (kind < 7) {
            int j = (int)(gt_rand(&s) % N);
            if (j != i) {
                wg_matcher_free(m[j]);
                m[j] = wg_matcher_fork(m[i]);
                memcpy(hist[j], hist[i], len[i] * sizeof **hist);
                len[j] = len[i];
            }
        } else if (kind < 9) {
            size_t k = (size_t)(gt_rand(&s) % (len[i] + 2));
            bool ok = wg_matcher_rollback(m[i], k);
            cr_assert_eq(ok, k <= len[i], "rollback(%zu) with %zu tokens", k, len[i]);
            if (ok) len[i] -= k;
        } else if (i != 0) {
            wg_matcher_free(m[i]);
            m[i] = NULL;
            continue;
        }
        /* replay from scratch */
        wg_matcher *r = wg_matcher_new(g);
        for (size_t k = 0; k < len[i]; k++) cr_assert(wg_accept_token(tc, r, hist[i][k]));
        cr_assert(wg_fill_mask(tc, m[i], mask));
        cr_assert(wg_fill_mask(tc, r, want));
        cr_assert_arr_eq(mask, want, sizeof(uint32_t) * ((size_t)(nv + 31) / 32), "op %d: masks differ", op);
        cr_assert_eq(wg_matcher_is_accepting(m[i]), wg_matcher_is_accepting(r), "op %d", op);
        cr_assert_eq(wg_matcher_depth(m[i]), len[i], "op %d", op);
        wg_matcher_free(r);
    }
    for (int i = 0; i < N; i++) wg_matcher_free(m[i]);
    wg_token_cache_free(tc);
    wg_vocab_index_free(vi);
    wg_grammar_free(g);
    tv_free(tv);
}

Test(engine, end_of_generation_only_where_the_grammar_ends) {
    const char *strs[] = {"a", "b", "", "ab"};
    tv_vocab *tv = tv_synthetic(strs, NULL, 4, 2);
    wg_error err = {{0}};
    wg_grammar *g = gt_gbnf("root ::= \"a\" \"b\"?", &err);
    wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
    wg_token_cache *tc = wg_token_cache_new(g, vi, NULL, &err);
    wg_matcher *m = wg_matcher_new(g);
    cr_assert_not(wg_accept_token(tc, m, 2), "EOS before anything");
    cr_assert(wg_accept_token(tc, m, 0));
    cr_assert(wg_can_end(m));
    wg_matcher *f = wg_matcher_fork(m);
    cr_assert(wg_accept_token(tc, f, 2), "EOS after a");
    cr_assert_not(wg_accept_token(tc, f, 1), "nothing after EOS");
    uint32_t mask[1];
    cr_assert(wg_fill_mask(tc, f, mask));
    cr_assert_eq(mask[0] & 0xF, 0, "empty mask after EOS");
    cr_assert(wg_matcher_rollback(f, 1));
    cr_assert(wg_accept_token(tc, f, 1), "rollback undoes EOS");
    cr_assert(wg_fill_mask(tc, f, mask));
    cr_assert_eq(mask[0] & 0xF, 1u << 2, "only EOS after ab");
    wg_matcher_free(f);
    wg_matcher_free(m);
    wg_token_cache_free(tc);
    wg_vocab_index_free(vi);
    wg_grammar_free(g);
    tv_free(tv);
}

Test(engine, jump_forward_returns_forced_bytes) {
    wg_error err = {{0}};
    wg_grammar *g = gt_gbnf("root ::= \"{\\\"key\\\": \" v \"}\"\nv ::= \"true\" | \"tree\" | [0-9]", &err);
    cr_assert_not_null(g, "%s", err.msg);
    wg_matcher *m = wg_matcher_new(g);
    char buf[64];
    size_t n = wg_matcher_jump_forward(m, buf, sizeof buf);
    cr_assert_eq(n, 8, "forced up to the choice between 't' and a digit");
    cr_assert_arr_eq(buf, "{\"key\": ", 8);
    wg_matcher_free(m);
    m = wg_matcher_new(g);
    cr_assert(wg_matcher_accept_bytes(m, "{\"key\": t", 9));
    n = wg_matcher_jump_forward(m, buf, sizeof buf);
    cr_assert_eq(n, 1, "only 'r' is forced after t, then a choice");
    cr_assert_eq(buf[0], 'r');
    cr_assert(wg_matcher_accept_bytes(m, "ru", 2));
    n = wg_matcher_jump_forward(m, buf, sizeof buf);
    cr_assert_eq(n, 2);
    cr_assert_arr_eq(buf, "e}", 2);
    cr_assert_eq(wg_matcher_jump_forward(m, buf, 1), 1, "cap respected");
    wg_matcher_free(m);
    wg_grammar_free(g);
}

/* ---- compile errors and limits ---- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static const char *compile_error(wg_builder *b, wg_rule root, const wg_limits *lim) {
    static wg_error err;
    memset(&err, 0, sizeof err);
    wg_grammar *g = wg_compile(b, root, lim, &err);
    cr_assert_null(g, "compiled, expected an error");
    return err.msg;
}

Test(engine, compile_errors_name_the_rules) {
    wg_builder *b = wg_builder_new();
    wg_rule root = wg_rule_named(b, "root"), x = wg_rule_named(b, "x"), y = wg_rule_named(b, "y");
    wg_rule_define(b, root, wg_seq2(b, wg_lit_str(b, "a"), wg_ref(b, x)));
    cr_assert_str_eq(compile_error(b, root, NULL), "rule 'root' refers to undefined rule 'x'");
    cr_assert_not(wg_rule_define(b, root, wg_empty(b)), "a rule is defined once");
    /* x -> y -> x through a nullable prefix */
    wg_rule_define(b, x, wg_seq2(b, wg_repeat(b, wg_lit_str(b, "b"), 0, 1), wg_ref(b, y)));
    wg_rule_define(b, y, wg_alt2(b, wg_seq2(b, wg_ref(b, x), wg_lit_str(b, "c")), wg_lit_str(b, "d")));
    const char *msg = compile_error(b, root, NULL);
    cr_assert(strstr(msg, "left recursion") && strstr(msg, "x -> y -> x"), "%s", msg);
    wg_builder_free(b);

    b = wg_builder_new();
    root = wg_rule_named(b, "root");
    wg_rule_define(b, root, wg_alt2(b, wg_seq2(b, wg_ref(b, root), wg_lit_str(b, "+")), wg_lit_str(b, "1")));
    msg = compile_error(b, root, NULL);
    cr_assert(strstr(msg, "left recursion: root -> root"), "%s", msg);
    wg_builder_free(b);

    /* left recursion hidden behind a nullable rule that is not inlined
     * (recursive): n can match nothing, so x calls itself first */
    b = wg_builder_new();
    root = wg_rule_named(b, "root"), x = wg_rule_named(b, "x");
    wg_rule n = wg_rule_named(b, "n");
    wg_rule_define(b, root, wg_ref(b, x));
    wg_rule_define(b, n, wg_alt2(b, wg_seq2(b, wg_lit_str(b, "c"), wg_ref(b, n)), wg_empty(b)));
    wg_rule_define(b, x, wg_alt2(b, wg_seq(b, (wg_expr[]){wg_ref(b, n), wg_ref(b, x), wg_lit_str(b, "a")}, 3),
                                 wg_lit_str(b, "b")));
    msg = compile_error(b, root, NULL);
    cr_assert(strstr(msg, "left recursion: x -> x"), "%s", msg);
    /* a bad handle poisons the builder; compile reports it */
    cr_assert_lt(wg_seq2(b, 12345, wg_empty(b)), 0);
    cr_assert(strstr(compile_error(b, root, NULL), "invalid expression"));
    wg_builder_free(b);
}

Test(engine, limits_stop_compilation_quickly) {
    wg_builder *b = wg_builder_new();
    wg_rule root = wg_rule_named(b, "root");
    /* 10^10 states if expanded */
    wg_expr e = wg_repeat(b, wg_repeat(b, wg_class(b, (uint32_t[]){'a', 'z'}, 1, false), 100000, 100000), 100000, 100000);
    wg_rule_define(b, root, e);
    double t0 = now_ms();
    const char *msg = compile_error(b, root, &(wg_limits){.max_states = 100000});
    cr_assert(strstr(msg, "more than 100000 automaton states"), "%s", msg);
    cr_assert_lt(now_ms() - t0, 2000);
    wg_builder_free(b);

    /* a DFA that blows up: (a|b)*a(a|b){18} has 2^19 states */
    b = wg_builder_new();
    root = wg_rule_named(b, "root");
    wg_expr ab = wg_class(b, (uint32_t[]){'a', 'b'}, 1, false);
    wg_rule_define(b, root, wg_seq(b, (wg_expr[]){wg_repeat(b, ab, 0, WG_INF), wg_lit_str(b, "a"), wg_repeat(b, ab, 18, 18)}, 3));
    t0 = now_ms();
    msg = compile_error(b, root, &(wg_limits){.max_ms = 50});
    cr_assert(strstr(msg, "max_ms") || strstr(msg, "max_states"), "%s", msg);
    cr_assert_lt(now_ms() - t0, 2000);
    wg_builder_free(b);
}

/* An ambiguous grammar whose live stacks double per "a" (each "a" opens an
 * x that may or may not be closed by a later "b", in either x of root):
 * matching stops at max_stacks with wg_matcher_over_limit set, in bounded
 * time, while inputs within the limit and plain rejections behave as
 * before. */
Test(engine, ambiguous_grammar_stops_at_max_stacks) {
    const char *text = "root ::= x x\nx ::= \"a\" root \"b\" | \"a\" root | \"\"";
    wg_error err = {{0}};
    wg_grammar *g = gbnf_compile(text, strlen(text), "root", &(wg_limits){.max_stacks = 500}, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(wg_grammar_max_stacks(g), 500);
    wg_matcher *m = wg_matcher_new(g);
    cr_assert(wg_matcher_accept_bytes(m, "aab", 3) && wg_matcher_is_accepting(m));
    cr_assert_not(wg_matcher_accept_bytes(m, "c", 1));
    cr_assert_not(wg_matcher_over_limit(m), "a plain rejection reported as the limit");
    size_t taken = 0;
    double t0 = now_ms();
    while (taken < 64 && wg_matcher_accept_bytes(m, "a", 1)) taken++;
    cr_assert(wg_matcher_over_limit(m), "stopped after %zu a's without reporting the limit", taken);
    cr_assert(taken > 3 && taken < 12, "%zu a's within 500 stacks: the stacks do not double per byte", taken);
    cr_assert_lt(now_ms() - t0, 2000);
    /* the failed byte changed nothing: roll back and go on */
    cr_assert_eq(wg_matcher_depth(m), 1 + taken);
    cr_assert(wg_matcher_rollback(m, taken));
    cr_assert(wg_matcher_accept_bytes(m, "ab", 2) && wg_matcher_is_accepting(m));
    cr_assert_not(wg_matcher_over_limit(m));
    wg_matcher_free(m);
    wg_grammar_free(g);
}

/* FOLLOW sets (follow.c) drive classification over an unknown stack: the
 * bytes after a rule in any context, through nullable continuations, and
 * whether the grammar may end after it. */
static const uint32_t *follow_of(const wg_grammar *g, const char *rule, bool *end) {
    for (size_t r = 0; r < g->n_rules; r++)
        if (!strcmp(g->rules[r].name, rule)) {
            *end = g->follow_end[r];
            return g->follow + r * 8;
        }
    cr_assert_fail("no compiled rule %s", rule);
    return NULL;
}

static void expect_follow(const wg_grammar *g, const char *rule, const char *bytes, bool end) {
    bool got_end;
    const uint32_t *f = follow_of(g, rule, &got_end);
    for (int c = 0; c < 256; c++)
        cr_expect_eq(f[c >> 5] >> (c & 31) & 1, strchr(bytes, c) != NULL && c != 0, "FOLLOW(%s) and byte 0x%02x", rule, c);
    cr_expect_eq(got_end, end, "FOLLOW(%s): may the grammar end after it", rule);
}

Test(engine, follow_sets) {
    /* recursive rules, so that none is inlined into its callers */
    const char *text = "root ::= \"[\" item (\",\" item)* \"]\" tail\n"
                       "item ::= word | word \"=\" item\n"
                       "word ::= [a-z] word | [a-z]\n"
                       "tail ::= opt \"!\" | opt | \"(\" tail \")\"\n"
                       "opt ::= \"?\" opt | \"\"\n";
    wg_error err = {{0}};
    wg_grammar *g = gbnf_compile(text, strlen(text), "root", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    expect_follow(g, "root", "", true);
    expect_follow(g, "item", ",]", false);
    expect_follow(g, "word", "=,]", false);
    expect_follow(g, "tail", ")", true);
    expect_follow(g, "opt", "!)", true);
    wg_grammar_free(g);
}

/* ---- plain regions ---- */

/* Grammars that repeat one string body in different places and contexts
 * (a final body whose rule may pop on its own bytes, a body that dead-ends,
 * bodies with different followers) share one vocabulary index, so the
 * later positions are classified from the region memo the earlier ones
 * filled. Every mask along real texts equals brute force. */
Test(engine, region_memo_shared_across_grammars, .timeout = 120) {
    static const struct {
        const char *gbnf;
        const char *texts[3];
    } cases[] = {
        {"root ::= \"{\" s \":\" s \"}\"\ns ::= \"\\\"\" [a-z ]* \"\\\"\"", {"{\"ab c\":\"\"}", "{\"\":\"zz\"}"}},
        {"root ::= \"[\" s (\",\" s)* \"]\"\ns ::= \"\\\"\" [a-z ]* \"\\\"\"", {"[\"a\",\"b c\"]", "[\"\"]"}},
        {"root ::= w (\" \" w)*\nw ::= [a-z]+", {"ab cd e", "x"}},
        {"root ::= w \"ab\" w\nw ::= [a-z]{0,3}", {"abab", "xyabz"}},
        {"root ::= \"<\" [a-c]{2,5} \">\" [^<]* \"<\"", {"<abc>hello world<", "<aa><"}},
    };
    tv_vocab *tv = tv_load_gguf("ggml-vocab-llama-spm.gguf");
    cr_assert_not_null(tv);
    wg_error err = {{0}};
    wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
    cr_assert_not_null(vi, "%s", err.msg);
    for (int pass = 0; pass < 2; pass++) /* the second pass finds every region in the memo */
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            wg_grammar *g = gt_gbnf(cases[c].gbnf, &err);
            cr_assert_not_null(g, "%s: %s", cases[c].gbnf, err.msg);
            wg_token_cache *tc = wg_token_cache_new(g, vi, &(wg_cache_opts){.disable = true}, &err);
            cr_assert_not_null(tc, "%s", err.msg);
            for (size_t k = 0; k < 3 && cases[c].texts[k]; k++) {
                const char *text = cases[c].texts[k];
                wg_matcher *m = wg_matcher_new(g);
                char where[200];
                for (size_t i = 0; text[i]; i++) {
                    snprintf(where, sizeof where, "pass %d grammar %zu text %zu byte %zu", pass, c, k, i);
                    cr_assert(gt_check_mask(tc, m, tv, where) > 0, "%s: nothing allowed", where);
                    cr_assert(wg_matcher_accept_bytes(m, text + i, 1), "%s: byte refused", where);
                }
                cr_assert(wg_can_end(m), "grammar %zu text %zu not accepted", c, k);
                wg_matcher_free(m);
            }
            wg_token_cache_free(tc);
            wg_grammar_free(g);
        }
    wg_vocab_index_free(vi);
    tv_free(tv);
}

/* Threads that classify at the same time share the memo (it locks): four
 * threads, each with its own grammar and cache on one vocabulary index, feed
 * JSON byte by byte; every mask must equal the walk-only mask, which never
 * uses the memo. Under the sanitizer build this also checks the memo's
 * memory handling while entries are published concurrently. */
typedef struct memo_thread {
    const wg_vocab_index *vi;
    const tv_vocab *tv;
    int seed;
    int mismatches, failures;
} memo_thread;

static void *memo_thread_run(void *arg) {
    memo_thread *t = arg;
    static const char *texts[] = {"{\"name\": \"Ann\", \"tags\": [\"a b\", \"c\"], \"n\": -12.5e3}",
                                  "{\"a\": [\"caf\xC3\xA9\", {\"k\": \"v\\\"w\"}, true, null]}"};
    wg_error err = {{0}};
    wg_grammar *g = gt_load_gbnf("json.gbnf");
    wg_token_cache *tc = g ? wg_token_cache_new(g, t->vi, &(wg_cache_opts){.disable = true}, &err) : NULL;
    wg_token_cache *walked = g ? wg_token_cache_new(g, t->vi, &(wg_cache_opts){.walk_only = true}, &err) : NULL;
    size_t n_words = ((size_t)t->tv->v.n_vocab + 31) / 32;
    uint32_t *a = malloc(n_words * sizeof *a), *b = malloc(n_words * sizeof *b);
    if (!tc || !walked || !a || !b) t->failures++;
    for (int rep = 0; rep < 3 && !t->failures; rep++) {
        const char *text = texts[(t->seed + rep) % 2];
        wg_matcher *m = wg_matcher_new(g);
        for (size_t i = 0; m && text[i]; i++) {
            if (!wg_fill_mask(tc, m, a) || !wg_fill_mask(walked, m, b)) t->failures++;
            else if (memcmp(a, b, n_words * sizeof *a) != 0) t->mismatches++;
            if (!wg_matcher_accept_bytes(m, text + i, 1)) {
                t->failures++;
                break;
            }
        }
        wg_matcher_free(m);
    }
    free(a);
    free(b);
    wg_token_cache_free(tc);
    wg_token_cache_free(walked);
    wg_grammar_free(g);
    return NULL;
}

Test(engine, region_memo_shared_by_concurrent_threads, .timeout = 120) {
    tv_vocab *tv = tv_load_gguf("ggml-vocab-llama-spm.gguf");
    cr_assert_not_null(tv);
    wg_error err = {{0}};
    wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
    cr_assert_not_null(vi, "%s", err.msg);
    memo_thread t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (memo_thread){.vi = vi, .tv = tv, .seed = i};
        cr_assert(pthread_create(&th[i], NULL, memo_thread_run, &t[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect(t[i].failures == 0, "thread %d: %d failures", i, t[i].failures);
        cr_expect(t[i].mismatches == 0, "thread %d: %d masks differ from the walk", i, t[i].mismatches);
    }
    cr_assert(wg_vocab_index_memo_bytes(vi) > 0, "the threads filled the memo");
    wg_vocab_index_free(vi);
    tv_free(tv);
}

static bool gbnf_accepts(const wg_grammar *g, const char *s) {
    wg_matcher *m = wg_matcher_new(g);
    bool ok = wg_matcher_accept_bytes(m, s, strlen(s)) && wg_matcher_is_accepting(m);
    wg_matcher_free(m);
    return ok;
}

static wg_grammar_stats gbnf_stats(const char *text) {
    wg_error err = {{0}};
    wg_grammar *g = gt_gbnf(text, &err);
    cr_assert(g, "%s", err.msg);
    wg_grammar_stats st;
    wg_grammar_get_stats(g, &st);
    wg_grammar_free(g);
    return st;
}

/* Rules whose bodies are the same tree compile once (same_rules.c), also
 * when each refers to itself; a different body stays apart. */
Test(engine, equal_rules_compile_once) {
    /* e and f exceed the inlining size: each would be a compiled rule */
    const char *same = "root ::= \"[\" a \",\" b \",\" c \"]\" e f\n"
                       "a ::= \"x\" a | \"y\"\n b ::= \"x\" b | \"y\"\n c ::= \"x\" c | \"z\"\n"
                       "e ::= [a-c]{170}\n f ::= [a-c]{170}\n";
    const char *apart = "root ::= \"[\" a \",\" b \",\" c \"]\" e f\n"
                        "a ::= \"x\" a | \"y\"\n b ::= \"x\" b | \"w\"\n c ::= \"x\" c | \"z\"\n"
                        "e ::= [a-c]{170}\n f ::= [a-d]{170}\n";
    wg_grammar_stats s1 = gbnf_stats(same), s2 = gbnf_stats(apart);
    cr_assert_eq(s1.n_rules + 2, s2.n_rules, "same bodies: %zu rules, different: %zu", s1.n_rules, s2.n_rules);
    wg_error err = {{0}};
    wg_grammar *g = gt_gbnf(same, &err);
    char ok[400], bad[400];
    snprintf(ok, sizeof ok, "[xxy,y,xz]%0170d%0170d", 0, 0);
    for (char *p = ok; *p; p++) *p = *p == '0' ? 'b' : *p;
    cr_assert(gbnf_accepts(g, ok));
    memcpy(bad, ok, sizeof bad);
    bad[6] = 'z'; /* b's end is y, not z */
    cr_assert_not(gbnf_accepts(g, bad));
    wg_grammar_free(g);
}

/* An inlined rule met again at the same continuation is built once: a
 * chain s1 -> s2 -> ... with two ways into each link stays linear, where
 * copies per path would double per link. */
Test(engine, tail_calls_share_one_copy) {
    char text[1024];
    int o = snprintf(text, sizeof text, "root ::= \"a\" s1 | \"b\" s1\n");
    for (int i = 1; i < 4; i++) o += snprintf(text + o, sizeof text - o, "s%d ::= \"c\" s%d | \"d\" s%d\n", i, i + 1, i + 1);
    snprintf(text + o, sizeof text - o, "s4 ::= \"e\" | \"f\"\n");
    wg_grammar_stats st = gbnf_stats(text);
    cr_assert_eq(st.n_rules, 1, "every link inlined: %zu rules, %zu states", st.n_rules, st.n_states);
    cr_assert_leq(st.n_states, 8, "%zu states", st.n_states);
    wg_error err = {{0}};
    wg_grammar *g = gt_gbnf(text, &err);
    cr_assert(gbnf_accepts(g, "bdcce") && gbnf_accepts(g, "acddf"));
    cr_assert_not(gbnf_accepts(g, "acdd") || gbnf_accepts(g, "acddfe") || gbnf_accepts(g, "acde"));
    wg_grammar_free(g);
}

/* A string with a length bound is a chain of rules, each ending in a tail
 * call (as the JSON Schema front-end writes maxLength). Byte edges skip the
 * tail calls, so a token walk stays in one region through the chain, and
 * every position whose bound is further than REGION_FAR_DEPTH shares one
 * memo entry: the memo stops growing after the first positions, across
 * the rule boundaries at 16 and 32 characters. Masks equal brute force. */
Test(engine, bounded_string_positions_share_a_region, .timeout = 120) {
    const char *gbnf = "root ::= \"\\\"\" r5 \"\\\"\"\n"
                       "r5 ::= c{0,15} | c{16} r4\n r4 ::= c{0,15} | c{16} r3\n r3 ::= c{0,15} | c{16} r2\n"
                       "r2 ::= c{0,15} | c{16} r1\n r1 ::= c{0,15}\n c ::= [a-z ]\n";
    /* gpt-2 has 256-byte tokens: there the far depth, not the longest
     * token, is what lets positions 35..78 characters from the bound agree */
    const char *vocabs[] = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"};
    for (size_t v = 0; v < 2; v++) {
        tv_vocab *tv = tv_load_gguf(vocabs[v]);
        cr_assert_not_null(tv);
        wg_error err = {{0}};
        wg_vocab_index *vi = wg_vocab_index_new(&tv->v, &err);
        wg_grammar *g = gt_gbnf(gbnf, &err);
        cr_assert(vi && g, "%s", err.msg);
        wg_grammar_stats st;
        wg_grammar_get_stats(g, &st);
        cr_assert_geq(st.n_rules, 5, "the chain stays rules (%zu)", st.n_rules);
        wg_token_cache *tc = wg_token_cache_new(g, vi, &(wg_cache_opts){.disable = true}, &err);
        cr_assert_not_null(tc, "%s", err.msg);
        wg_matcher *m = wg_matcher_new(g);
        char text[64] = "\"";
        for (int i = 1; i <= 44; i++) text[i] = i % 7 == 3 ? ' ' : (char)('a' + i % 26);
        size_t before = wg_vocab_index_memo_bytes(vi), early = 0;
        for (size_t i = 0; text[i]; i++) {
            char where[96];
            snprintf(where, sizeof where, "%s byte %zu", vocabs[v], i);
            cr_assert(gt_check_mask(tc, m, tv, where) > 0, "%s: nothing allowed", where);
            if (i == 3) early = wg_vocab_index_memo_bytes(vi);
            cr_assert(wg_matcher_accept_bytes(m, text + i, 1), "%s refused", where);
        }
        cr_assert_gt(early, before, "%s: the string body's walk is kept", vocabs[v]);
        cr_assert_eq(wg_vocab_index_memo_bytes(vi), early, "%s: later positions walked again: %zu -> %zu bytes",
                     vocabs[v], early, wg_vocab_index_memo_bytes(vi));
        cr_assert(wg_matcher_accept_bytes(m, "\"", 1) && wg_can_end(m));
        wg_matcher_free(m);
        wg_token_cache_free(tc);
        wg_grammar_free(g);
        wg_vocab_index_free(vi);
        tv_free(tv);
    }
}
