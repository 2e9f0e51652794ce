/* Byte-level BPE as GPT-2 defines it: the text is split into words by the
 * pre-tokenizer, each byte of a word is shown as a printable code point
 * (bytes_to_unicode), and the adjacent pair with the lowest merge rank is
 * merged until no pair has a rank. */
#include <stdlib.h>

#include "tok_bigram.h"
#include "tok_internal.h"
#include "tok_unicode.h"

/* Bytes GPT-2 keeps as themselves: '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF.
 * The others map, in byte order, to U+0100 onwards. */
static bool byte_is_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

uint32_t bpe_byte_to_cpt(uint8_t b) {
    if (byte_is_printable(b)) return b;
    if (b <= 0x20) return 0x100 + b;              /* 0x00..0x20: 33 bytes */
    if (b >= 0x7f && b <= 0xa0) return 0x121 + (b - 0x7f); /* 34 bytes */
    return 0x143;                                 /* 0xad */
}

int bpe_cpt_to_byte(uint32_t cp) {
    if (cp < 0x100) return byte_is_printable(cp) ? (int)cp : -1;
    if (cp <= 0x120) return (int)(cp - 0x100);
    if (cp <= 0x142) return (int)(cp - 0x121 + 0x7f);
    return cp == 0x143 ? 0xad : -1;
}

/* Scratch sized for the longest possible word (the whole fragment). */
typedef struct bpe_ctx {
    const llm_vocab *v;
    tok_out *out;
    char *enc;       /* the word in printable code points */
    tok_symbol *sym; /* one per byte of the word */
    tok_heap heap;
} bpe_ctx;

static void try_pair(bpe_ctx *c, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const tok_symbol *a = &c->sym[l], *b = &c->sym[r];
    int64_t rank = str_map_find2(&c->v->merge_rank, c->enc + a->start, a->n, ' ',
                                 c->enc + b->start, b->n);
    if (rank < 0) return;
    heap_push(&c->heap, (tok_bigram){.prio = -(double)rank, .left = l, .right = r,
                                     .size = a->n + b->n});
}

/* Encodes one pre-tokenized word. */
static weft_status encode_word(void *ctx, const char *word, size_t len) {
    bpe_ctx *c = ctx;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        c->sym[i] = (tok_symbol){.prev = (int32_t)i - 1, .next = i + 1 < len ? (int32_t)i + 1 : -1,
                                 .start = (uint32_t)o, .n = 0};
        size_t k = utf8_encode(bpe_byte_to_cpt((uint8_t)word[i]), c->enc + o);
        c->sym[i].n = (uint32_t)k;
        o += k;
    }
    if (c->v->ignore_merges) {
        int64_t id = str_map_find(&c->v->by_text, c->enc, o);
        if (id >= 0) {
            tok_push(c->out, (weft_token)id);
            return WEFT_OK;
        }
    }
    c->heap.n = 0;
    for (size_t i = 1; i < len; i++) try_pair(c, (int32_t)i - 1, (int32_t)i);
    while (c->heap.n > 0) {
        tok_bigram b = heap_pop(&c->heap);
        tok_symbol *l = &c->sym[b.left], *r = &c->sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        symbols_merge(c->sym, b.left, b.right);
        try_pair(c, c->sym[b.left].prev, b.left);
        try_pair(c, b.left, c->sym[b.left].next);
    }
    for (int32_t i = 0; i >= 0; i = c->sym[i].next) {
        const tok_symbol *s = &c->sym[i];
        int64_t id = str_map_find(&c->v->by_text, c->enc + s->start, s->n);
        if (id >= 0) {
            tok_push(c->out, (weft_token)id);
            continue;
        }
        /* Not a piece: one token per byte. Symbol i begins at word byte i and
         * spans the bytes up to its successor. */
        size_t end = s->next >= 0 ? (size_t)s->next : len;
        for (size_t j = (size_t)i; j < end; j++) {
            weft_token t = c->v->byte_token[(uint8_t)word[j]];
            if (t < 0) t = c->v->unk;
            if (t >= 0) tok_push(c->out, t);
        }
    }
    return WEFT_OK;
}

weft_status bpe_encode(const llm_vocab *v, const char *text, size_t len, tok_out *out) {
    if (len == 0) return WEFT_OK;
    bpe_ctx c = {.v = v, .out = out};
    c.enc = malloc(2 * len); /* every byte maps to a code point below U+0800 */
    c.sym = malloc(len * sizeof *c.sym);
    c.heap.a = malloc(3 * len * sizeof *c.heap.a);
    weft_status st = WEFT_ERR_NOMEM;
    if (c.enc && c.sym && c.heap.a) st = pretok_split(v->pre, text, len, encode_word, &c);
    free(c.enc);
    free(c.sym);
    free(c.heap.a);
    return st;
}
