/* weft plugin ABI — the grammar kind: constrains tokens.
 *
 * A grammar instance is a compiled grammar; states are matchers positioned
 * somewhere in it. The core keeps one state for the committed text and forks
 * states along draft-tree branches, so fork() and rollback() must be cheap. */
#ifndef WEFT_GRAMMAR_H
#define WEFT_GRAMMAR_H

#include "dist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_grammar_state weft_grammar_state; /* owned by the plugin */

/* The vocabulary, handed over once before any state is made. Pointers stay
 * valid for the grammar instance's life. */
typedef struct weft_vocab {
    size_t struct_size;
    int32_t n_vocab;
    const char *const *bytes; /* raw bytes of each token (see token_bytes) */
    const uint32_t *len;
    const uint32_t *attrs;    /* WEFT_TOKEN_* */
    const weft_token *eog;    /* tokens that end generation */
    size_t n_eog;
    const char *fingerprint;  /* equal fingerprints = equal vocabularies (cache key) */
} weft_vocab;

typedef struct weft_grammar_vtable {
    size_t struct_size;
    weft_status (*set_vocab)(void *self, const weft_vocab *vocab);
    weft_status (*state_new)(void *self, weft_grammar_state **out);
    weft_status (*state_fork)(void *self, const weft_grammar_state *st, weft_grammar_state **out);
    void (*state_free)(void *self, weft_grammar_state *st);
    /* Advance by one token; WEFT_ERR_INVALID (state unchanged) if rejected.
     * An end-of-generation token is accepted only where the grammar may end. */
    weft_status (*accept)(void *self, weft_grammar_state *st, weft_token tok);
    /* Undo the last n accepted tokens. */
    weft_status (*rollback)(void *self, weft_grammar_state *st, size_t n);
    /* Set bit t of mask (mask[t / 32] >> (t % 32) & 1) iff token t may come
     * next; (n_vocab + 31) / 32 words, all written. */
    weft_status (*fill_mask)(void *self, const weft_grammar_state *st, uint32_t *mask);
    bool (*is_accepting)(void *self, const weft_grammar_state *st);
    /* Optional: bytes the grammar forces next (may be empty). */
    weft_status (*jump_forward)(void *self, const weft_grammar_state *st, char *buf, size_t cap,
                                size_t *len);
} weft_grammar_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WEFT_GRAMMAR_H */
