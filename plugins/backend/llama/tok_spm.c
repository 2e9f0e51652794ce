/* SentencePiece-style encoding as llama.cpp does it: spaces become U+2581,
 * the text is split into UTF-8 characters, and the adjacent pair whose
 * concatenation is the highest-scoring vocabulary piece is merged until no
 * pair is a piece. Characters that are no piece fall back to byte tokens. */
#include <stdlib.h>
#include <string.h>

#include "tok_bigram.h"
#include "tok_internal.h"
#include "tok_unicode.h"

static const char SPM_SPACE[] = "\xe2\x96\x81"; /* U+2581 */

/* Length of the character at s. As llama.cpp for valid UTF-8; a byte that
 * does not start a valid sequence stands alone, so it can never swallow
 * part of a following U+2581. */
static size_t char_len(const char *s, size_t left) {
    size_t n;
    utf8_decode((const uint8_t *)s, left, &n);
    return n;
}

/* Copies text with each ' ' replaced by U+2581, after an optional one. */
static size_t escape_spaces(const char *text, size_t len, bool prefix, char *out) {
    size_t o = 0;
    if (prefix) {
        memcpy(out, SPM_SPACE, 3);
        o = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(out + o, SPM_SPACE, 3);
            o += 3;
        } else {
            out[o++] = text[i];
        }
    }
    return o;
}

static void try_pair(const llm_vocab *v, const char *s, const tok_symbol *sym, tok_heap *h,
                     int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    uint32_t size = sym[l].n + sym[r].n;
    int64_t id = str_map_find(&v->by_text, s + sym[l].start, size);
    if (id < 0) return;
    heap_push(h, (tok_bigram){.prio = v->scores[id], .left = l, .right = r, .size = size});
}

/* One final symbol: its piece, or its bytes. */
static void emit_symbol(const llm_vocab *v, const char *s, const tok_symbol *sym, tok_out *out) {
    int64_t id = str_map_find(&v->by_text, s + sym->start, sym->n);
    if (id >= 0) {
        tok_push(out, (weft_token)id);
        return;
    }
    for (uint32_t i = 0; i < sym->n; i++) {
        weft_token b = v->byte_token[(uint8_t)s[sym->start + i]];
        if (b < 0) b = v->unk; /* no byte fallback in this vocab */
        if (b >= 0) tok_push(out, b);
    }
}

static size_t count_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t at = 0; at < n; c++) at += char_len(s + at, n - at);
    return c;
}

/* Symbols for the characters of s, linked in order. */
static int32_t split_chars(const char *s, size_t n, tok_symbol *sym) {
    int32_t n_sym = 0;
    for (size_t at = 0; at < n; n_sym++) {
        size_t k = char_len(s + at, n - at);
        sym[n_sym] = (tok_symbol){.prev = n_sym - 1, .next = -1, .start = (uint32_t)at,
                                  .n = (uint32_t)k};
        if (n_sym > 0) sym[n_sym - 1].next = n_sym;
        at += k;
    }
    return n_sym;
}

static void merge_all(const llm_vocab *v, const char *s, tok_symbol *sym, int32_t n_sym,
                      tok_heap *h) {
    for (int32_t i = 1; i < n_sym; i++) try_pair(v, s, sym, h, i - 1, i);
    while (h->n > 0) {
        tok_bigram b = heap_pop(h);
        tok_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        symbols_merge(sym, b.left, b.right);
        try_pair(v, s, sym, h, sym[b.left].prev, b.left);
        try_pair(v, s, sym, h, b.left, sym[b.left].next);
    }
}

/* len is bounded by the caller (vocab_tokenize), so sizes cannot overflow. */
weft_status spm_encode(const llm_vocab *v, const char *text, size_t len, bool space_prefix,
                       tok_out *out) {
    if (len == 0) return WEFT_OK;
    char *s = malloc(3 * len + 3);
    if (!s) return WEFT_ERR_NOMEM;
    size_t n_bytes = escape_spaces(text, len, space_prefix, s);
    size_t n_chars = count_chars(s, n_bytes);
    tok_symbol *sym = malloc(n_chars * sizeof *sym);
    /* Each merge pushes at most two pairs onto the n_chars - 1 initial ones. */
    tok_heap h = {.a = malloc(3 * n_chars * sizeof *h.a), .n = 0};
    weft_status st = WEFT_ERR_NOMEM;
    if (sym && h.a) {
        int32_t n_sym = split_chars(s, n_bytes, sym);
        merge_all(v, s, sym, n_sym, &h);
        for (int32_t i = 0; i >= 0; i = sym[i].next) emit_symbol(v, s, &sym[i], out);
        st = WEFT_OK;
    }
    free(s);
    free(sym);
    free(h.a);
    return st;
}
