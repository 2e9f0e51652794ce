/* Shared by fuzz_gbnf.c and fuzz_regex.c: exercise a compiled grammar and
 * abort on any disagreement between its layers, so the fuzzers find wrong
 * masks, not only crashes: fill_mask over a small vocabulary (whole and
 * split UTF-8 characters, punctuation) must equal trying every token on a
 * fork; rollback must restore the mask. */
#ifndef WEFT_FUZZ_GRAMMAR_H
#define WEFT_FUZZ_GRAMMAR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"

static const char *const fuzz_tokens[] = {
    "a", "b", "c", "x", "0", "1", " ", "\n", "\"", "\\", "(", ")", "[", "]", "{", "}", ":", ",", "-", ".",
    "ab", "abc", "\"a", "a\"", "12", " a", "\xC3", "\xA9", "\xC3\xA9", "\xCE\xB1", "\xE2\x82", "\xAC",
    "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\x00", "", /* last: EOS */
};
#define FUZZ_N_TOKENS ((int32_t)(sizeof fuzz_tokens / sizeof *fuzz_tokens))

/* A failure is allowed only when it names max_stacks (an ambiguous grammar);
 * the state is then not compared. */
static void fuzz_check_mask(const wg_token_cache *tc, const wg_matcher *m) {
    uint32_t mask[2], want[2] = {0, 0};
    if (!wg_fill_mask(tc, m, mask)) {
        if (!wg_matcher_over_limit(m)) abort();
        return;
    }
    for (int32_t t = 0; t < FUZZ_N_TOKENS; t++) {
        wg_matcher *f = wg_matcher_fork(m);
        if (!f) abort();
        bool ok = wg_accept_token(tc, f, t), over = !ok && wg_matcher_over_limit(f);
        wg_matcher_free(f);
        if (over) return;
        if (ok) want[t >> 5] |= 1u << (t & 31);
    }
    uint32_t valid_hi = (1u << (FUZZ_N_TOKENS - 32)) - 1;
    if (mask[0] != want[0] || (mask[1] & valid_hi) != want[1]) {
        fprintf(stderr, "fill_mask %08x %08x != brute force %08x %08x\n", mask[0], mask[1], want[0], want[1]);
        abort();
    }
}

/* Walks the grammar along `text` (token by token where tokens fit, else
 * byte by byte), checking masks on the way, then rolls everything back. */
static void fuzz_exercise(const wg_grammar *g, const uint8_t *text, size_t len) {
    static uint32_t lens[FUZZ_N_TOKENS];
    static const char *bytes[FUZZ_N_TOKENS];
    static weft_token eos = FUZZ_N_TOKENS - 1;
    for (int32_t t = 0; t < FUZZ_N_TOKENS; t++) {
        bytes[t] = fuzz_tokens[t];
        lens[t] = t == eos ? 0 : strlen(fuzz_tokens[t]) ? (uint32_t)strlen(fuzz_tokens[t]) : 1; /* "\x00": 1 byte */
    }
    weft_vocab v = {.struct_size = sizeof v, .n_vocab = FUZZ_N_TOKENS, .bytes = bytes, .len = lens,
                    .eog = &eos, .n_eog = 1, .fingerprint = "fuzz"};
    wg_vocab_index *vi = wg_vocab_index_new(&v, NULL);
    wg_token_cache *tc = vi ? wg_token_cache_new(g, vi, &(wg_cache_opts){.max_ms = 100, .disable = len & 1}, NULL) : NULL;
    wg_matcher *m = tc ? wg_matcher_new(g) : NULL;
    if (m) {
        fuzz_check_mask(tc, m);
        size_t steps = 0;
        for (size_t i = 0; i < len && steps < 64; steps++) {
            /* the longest token that matches the text here and is accepted */
            int32_t best = -1;
            for (int32_t t = 0; t < eos; t++)
                if (lens[t] <= len - i && lens[t] > (best < 0 ? 0 : lens[best]) && !memcmp(bytes[t], text + i, lens[t]))
                    best = t;
            bool ok = best >= 0 && wg_accept_token(tc, m, best);
            if (ok) i += lens[best];
            else if (wg_matcher_accept_bytes(m, text + i, 1)) i++;
            else break;
            fuzz_check_mask(tc, m);
        }
        char buf[16];
        wg_matcher_jump_forward(m, buf, sizeof buf);
        size_t depth = wg_matcher_depth(m);
        if (wg_can_end(m) && !wg_accept_token(tc, m, eos)) abort();
        if (!wg_matcher_rollback(m, wg_matcher_depth(m))) abort();
        if (depth && wg_matcher_depth(m) != 0) abort();
        fuzz_check_mask(tc, m);
    }
    wg_matcher_free(m);
    wg_token_cache_free(tc);
    wg_vocab_index_free(vi);
}

#endif
