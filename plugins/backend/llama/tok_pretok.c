/* Pre-tokenizers of byte-level BPE: hand-written equivalents of the split
 * regexes, following llama.cpp's custom splitters rule for rule.
 *
 *   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   qwen2:  as llama3 with \p{N} (single digits)
 *   smollm: \p{N} first, then gpt2 on the stretches between digits
 *
 * Invalid UTF-8 bytes count as "other" code points and are kept verbatim. */
#include <stdlib.h>

#include "tok_internal.h"
#include "tok_unicode.h"

#define CLS_END 4 /* past the end of the stretch: matches nothing */
#define CP_END 0xfffffffeu

typedef struct splitter {
    const char *text;
    const uint32_t *cp;
    const uint8_t *cls;
    const size_t *off; /* byte offset of each code point, n + 1 entries */
    size_t lo, hi;     /* the stretch being split */
    size_t prev_end;   /* end of the last word emitted */
    pretok_emit emit;
    void *ctx;
    weft_status st;
} splitter;

static uint32_t cp_at(const splitter *s, size_t i) { return i < s->hi ? s->cp[i] : CP_END; }
static int cls_at(const splitter *s, size_t i) { return i < s->hi ? s->cls[i] : CLS_END; }

/* Emits code points [prev_end, end) as one word. */
static void add_word(splitter *s, size_t end) {
    if (end > s->prev_end && s->st == WEFT_OK)
        s->st = s->emit(s->ctx, s->text + s->off[s->prev_end], s->off[end] - s->off[s->prev_end]);
    s->prev_end = end;
}

static size_t skip_class(const splitter *s, size_t pos, int cls) {
    while (cls_at(s, pos) == cls) pos++;
    return pos;
}

static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 's 't 'm 'd (2 code points) or 're 've 'll (3) at pos; 0 if none. */
static size_t contraction(const splitter *s, size_t pos, bool fold_case) {
    if (cp_at(s, pos) != '\'' || pos + 1 >= s->hi) return 0;
    uint32_t c1 = cp_at(s, pos + 1), c2 = cp_at(s, pos + 2);
    if (fold_case) {
        c1 = ascii_lower(c1);
        c2 = ascii_lower(c2);
    }
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (pos + 2 < s->hi &&
        ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')))
        return 3;
    return 0;
}

/* Whitespace run at pos: \s+(?!\S) leaves the last space for the next word
 * unless the run ends the text. Returns the word end, or pos if no space. */
static size_t space_run(const splitter *s, size_t pos) {
    size_t n = skip_class(s, pos, CPT_SPACE) - pos;
    if (n > 1 && cp_at(s, pos + n) != CP_END) return pos + n - 1;
    return pos + n;
}

static void split_gpt2(splitter *s) {
    for (size_t pos = s->lo; pos < s->hi; pos = s->prev_end) {
        uint32_t c = cp_at(s, pos);
        size_t k = contraction(s, pos, false);
        if (k) {
            add_word(s, pos + k);
            continue;
        }
        int f2 = c == ' ' ? cls_at(s, pos + 1) : cls_at(s, pos);
        if (f2 == CPT_LETTER || f2 == CPT_NUMBER || f2 == CPT_OTHER) {
            add_word(s, skip_class(s, pos + (c == ' '), f2));
            continue;
        }
        size_t end = space_run(s, pos);
        add_word(s, end > pos ? end : pos + 1);
    }
}

static void split_llama3(splitter *s, size_t max_digits) {
    for (size_t pos = s->lo; pos < s->hi; pos = s->prev_end) {
        uint32_t c = cp_at(s, pos);
        int f = cls_at(s, pos);
        size_t k = contraction(s, pos, true);
        if (k) {
            add_word(s, pos + k);
            continue;
        }
        /* [^\r\n\p{L}\p{N}]?\p{L}+ */
        if (c != '\r' && c != '\n' && f != CPT_NUMBER &&
            (f == CPT_LETTER || cls_at(s, pos + 1) == CPT_LETTER)) {
            add_word(s, skip_class(s, pos + 1, CPT_LETTER));
            continue;
        }
        /* \p{N}{1,max_digits} */
        if (f == CPT_NUMBER) {
            size_t end = skip_class(s, pos, CPT_NUMBER);
            for (size_t at = pos + max_digits; at < end; at += max_digits) add_word(s, at);
            add_word(s, end);
            continue;
        }
        /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
        int f2 = c == ' ' ? cls_at(s, pos + 1) : f;
        if (f2 == CPT_OTHER) {
            size_t end = skip_class(s, pos + (c == ' '), CPT_OTHER);
            while (cp_at(s, end) == '\r' || cp_at(s, end) == '\n') end++;
            add_word(s, end);
            continue;
        }
        /* \s*[\r\n]+ : up to the last \r or \n of the whitespace run */
        size_t last_nl = 0;
        for (size_t i = pos; cls_at(s, i) == CPT_SPACE; i++)
            if (cp_at(s, i) == '\r' || cp_at(s, i) == '\n') last_nl = i + 1;
        if (last_nl) {
            add_word(s, last_nl);
            continue;
        }
        size_t end = space_run(s, pos);
        add_word(s, end > pos ? end : pos + 1);
    }
}

/* smollm: every digit is a word of its own; the rest goes through gpt2. */
static void split_smollm(splitter *s) {
    size_t lo = s->lo, hi = s->hi;
    while (lo < hi && s->st == WEFT_OK) {
        size_t end = lo;
        if (s->cls[lo] == CPT_NUMBER) {
            end = lo + 1;
            s->prev_end = lo;
            add_word(s, end);
        } else {
            while (end < hi && s->cls[end] != CPT_NUMBER) end++;
            s->lo = s->prev_end = lo;
            s->hi = end;
            split_gpt2(s);
            s->hi = hi;
        }
        lo = end;
    }
}

weft_status pretok_split(pretok_kind kind, const char *text, size_t len, pretok_emit emit,
                         void *ctx) {
    if (len == 0) return WEFT_OK;
    uint32_t *cp = malloc(len * sizeof *cp);
    uint8_t *cls = malloc(len);
    size_t *off = malloc((len + 1) * sizeof *off);
    weft_status st = WEFT_ERR_NOMEM;
    if (!cp || !cls || !off) goto done;
    size_t n = 0;
    for (size_t at = 0, k; at < len; at += k, n++) {
        cp[n] = utf8_decode((const uint8_t *)text + at, len - at, &k);
        cls[n] = (uint8_t)cpt_classify(cp[n]);
        off[n] = at;
    }
    off[n] = len;
    splitter s = {.text = text, .cp = cp, .cls = cls, .off = off, .lo = 0, .hi = n,
                  .emit = emit, .ctx = ctx, .st = WEFT_OK};
    switch (kind) {
    case PRETOK_GPT2: split_gpt2(&s); break;
    case PRETOK_LLAMA3: split_llama3(&s, 3); break;
    case PRETOK_QWEN2: split_llama3(&s, 1); break;
    case PRETOK_SMOLLM: split_smollm(&s); break;
    }
    st = s.st;
done:
    free(cp);
    free(cls);
    free(off);
    return st;
}
