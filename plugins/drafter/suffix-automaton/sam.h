/* An online suffix automaton over token ids (Blumer et al. 1985; the
 * incremental construction with clone states), as SAM-Decoding (Hu et al.
 * 2024) uses it to find the longest suffix of the text that occurred before.
 *
 * Each state keeps one end position `pos`: an index i such that the state's
 * strings end at tok[i]. Transitions live in one open-addressing hash table
 * keyed by (state, token), and each state threads its own edges in a list so
 * clones can copy them. A text of n tokens needs at most 2n states and 3n
 * edges, so every array is sized from the token capacity and one push never
 * allocates unless that capacity grows (geometrically). */
#ifndef WEFT_SAM_H
#define WEFT_SAM_H

#include <weft/sdk.h>

typedef struct sam {
    const weft_env *env;
    weft_token *tok; /* the text: tok[0..n) */
    size_t n, cap;   /* cap: tokens the arrays are sized for */
    size_t window;   /* most tokens kept: past it, the older half is dropped */
    size_t dropped;  /* tokens dropped from the front so far */
    size_t origin;   /* where the current sequence starts, counting dropped tokens */
    /* states: 0 is the root */
    int32_t *len, *link, *pos, *head; /* head: first edge of the state, -1 none */
    size_t n_states;
    /* edges */
    weft_token *e_tok;
    int32_t *e_to, *e_next;
    size_t n_edges;
    /* (state << 32 | token) -> edge, linear probing; empty slots hold SAM_NO_KEY */
    uint64_t *h_key;
    int32_t *h_edge;
    size_t h_mask;
    int32_t last; /* the state of the whole text */
} sam;

/* An empty automaton keeping at most `window` (>= 2) tokens; allocates nothing yet. */
void sam_init(sam *s, const weft_env *env, size_t window);
void sam_free(sam *s);
/* Back to the empty text; keeps the memory. */
void sam_clear(sam *s);
/* Keeps the text so far and starts a new sequence after it, behind `sep`
 * (a token that never occurs): later matches may then end in earlier
 * sequences, and history indices count from the new one. */
weft_status sam_new_sequence(sam *s, weft_token sep);
/* Appends one token (amortised O(1)). */
weft_status sam_push(sam *s, weft_token t);
/* Is history[0..n) the current sequence so far plus new tokens? Checked on
 * its length and on the last token seen: O(1), it catches a new sequence
 * whose start() was missed. */
bool sam_extends(const sam *s, const weft_token *history, size_t n);
/* Makes the current sequence history[0..n): appends what is new, or clears
 * the automaton when the history does not extend the sequence. */
weft_status sam_sync(sam *s, const weft_token *history, size_t n);
/* The state reached from `state` by token t, or -1. */
int32_t sam_next(const sam *s, int32_t state, weft_token t);

/* The longest suffix of the text that also ends earlier: its state (0, the
 * root, when there is none) and length len[state]. Its pos is an earlier end,
 * pos < n - 1, so at least one token follows it. */
static inline int32_t sam_repeat_state(const sam *s) { return s->n ? s->link[s->last] : 0; }

/* Bytes held. */
size_t sam_bytes(const sam *s);

#endif
