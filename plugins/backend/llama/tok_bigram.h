/* Priority queue of adjacent symbol pairs, shared by the SPM and BPE
 * encoders: the highest priority pops first, ties go to the leftmost pair
 * (as in llama.cpp). Symbols form a linked list over the text. */
#ifndef WEFT_LLAMA_TOK_BIGRAM_H
#define WEFT_LLAMA_TOK_BIGRAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct tok_symbol {
    int32_t prev, next; /* -1 at the ends */
    uint32_t start, n;  /* bytes; n == 0 once merged into its left neighbour */
} tok_symbol;

typedef struct tok_bigram {
    double prio; /* SPM: score; BPE: -rank */
    int32_t left, right;
    uint32_t size; /* bytes of the merged pair when pushed: stale if changed */
} tok_bigram;

typedef struct tok_heap {
    tok_bigram *a;
    size_t n; /* capacity is the caller's: at most 3 pushes per symbol */
} tok_heap;

static inline int bigram_before(const tok_bigram *x, const tok_bigram *y) {
    return x->prio > y->prio || (x->prio == y->prio && x->left < y->left);
}

static inline void heap_push(tok_heap *h, tok_bigram b) {
    size_t i = h->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!bigram_before(&b, &h->a[up])) break;
        h->a[i] = h->a[up];
        i = up;
    }
    h->a[i] = b;
}

static inline tok_bigram heap_pop(tok_heap *h) {
    tok_bigram top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bigram_before(&h->a[c + 1], &h->a[c])) c++;
        if (!bigram_before(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = last;
    return top;
}

/* Merges symbol r into its left neighbour l. */
static inline void symbols_merge(tok_symbol *sym, int32_t l, int32_t r) {
    sym[l].n += sym[r].n;
    sym[r].n = 0;
    sym[l].next = sym[r].next;
    if (sym[r].next >= 0) sym[sym[r].next].prev = l;
}

#endif
