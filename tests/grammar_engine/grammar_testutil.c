/* Shared grammar test helpers (grammar_testutil.h). */
#include "grammar_testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbnf_parse.h"
#include "test_paths.h"

char *gt_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    if (len) *len = (size_t)n;
    return buf;
}

wg_grammar *gt_gbnf(const char *text, wg_error *err) { return gbnf_compile(text, strlen(text), "root", NULL, err); }

wg_grammar *gt_load_gbnf(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/gbnf/%s", test_testdata_dir(), name);
    size_t len;
    char *text = gt_read(path, &len);
    wg_error err = {{0}};
    wg_grammar *g = gbnf_compile(text, len, "root", NULL, &err);
    free(text);
    cr_assert_not_null(g, "%s: %s", name, err.msg);
    return g;
}

size_t gt_brute_mask(const wg_token_cache *tc, const wg_matcher *m, int32_t n_vocab, uint32_t *mask) {
    size_t n = 0;
    memset(mask, 0, ((size_t)n_vocab + 31) / 32 * sizeof *mask);
    for (int32_t t = 0; t < n_vocab; t++) {
        wg_matcher *f = wg_matcher_fork(m);
        cr_assert_not_null(f);
        if (wg_accept_token(tc, f, t)) {
            mask[t >> 5] |= 1u << (t & 31);
            n++;
        }
        wg_matcher_free(f);
    }
    return n;
}

size_t gt_check_mask(const wg_token_cache *tc, const wg_matcher *m, const tv_vocab *tv, const char *where) {
    int32_t nv = tv->v.n_vocab;
    size_t words = ((size_t)nv + 31) / 32;
    uint32_t *got = malloc(words * sizeof *got), *want = malloc(words * sizeof *want);
    cr_assert(got && want);
    memset(got, 0xA5, words * sizeof *got); /* fill_mask must write every word */
    cr_assert(wg_fill_mask(tc, m, got));
    size_t n = gt_brute_mask(tc, m, nv, want);
    if (nv % 32) want[words - 1] |= got[words - 1] & ~((1u << (nv % 32)) - 1); /* bits past n_vocab: free */
    for (int32_t t = 0; t < nv; t++) {
        bool g = got[t >> 5] >> (t & 31) & 1, w = want[t >> 5] >> (t & 31) & 1;
        if (g != w) {
            cr_assert_fail("%s: token %d (\"%.*s\", %u bytes) is %s by fill_mask but %s by accept", where, t,
                    (int)tv->len[t], tv->bytes[t], tv->len[t], g ? "allowed" : "refused", w ? "accepted" : "refused");
            break;
        }
    }
    free(got);
    free(want);
    return n;
}

uint64_t gt_rand(uint64_t *s) {
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int32_t gt_pick(const uint32_t *mask, int32_t n_vocab, uint64_t *state) {
    int32_t count = 0;
    for (int32_t t = 0; t < n_vocab; t++) count += mask[t >> 5] >> (t & 31) & 1;
    if (!count) return -1;
    int32_t k = (int32_t)(gt_rand(state) % (uint64_t)count);
    for (int32_t t = 0; t < n_vocab; t++)
        if ((mask[t >> 5] >> (t & 31) & 1) && k-- == 0) return t;
    return -1;
}
