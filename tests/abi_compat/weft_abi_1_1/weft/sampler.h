/* weft plugin ABI — the sampler kind: transforms a candidate set.
 *
 * Samplers compose as an ordered chain (as llama.cpp's llama_sampler_i). They
 * edit logits and may drop candidates; the core turns the final set into a
 * normalised distribution (softmax over what is left) and the verifier draws
 * from it. apply() must be a pure function of (state, ctx, candidates) so the
 * core can call it at every draft-tree node. */
#ifndef WEFT_SAMPLER_H
#define WEFT_SAMPLER_H

#include "dist.h"
#include "grammar.h" /* weft_vocab */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_sampler_ctx {
    size_t struct_size;
    /* The committed tokens (prompt first) followed by the draft path from
     * the root to this node: what the sequence would be if the path is
     * accepted. history[n_history - 1] is the token the distribution follows. */
    const weft_token *history;
    size_t n_history;
    size_t n_prompt; /* leading tokens of history that are the prompt */
    size_t depth;    /* draft-path tokens at the end of history (0 = root) */
    int32_t n_vocab;
    weft_rng *rng;   /* for samplers that draw (rare); deterministic per run */
    /* The vocabulary's bytes (for text-based rules: DRY sequence breakers,
     * logit bias by text) and the backend (its tokenizer). */
    const struct weft_vocab *vocab;
    weft_instance *backend;
    /* The request's seed: samplers that draw derive per-position randomness
     * from (seed, position) so speculation cannot change their draws. */
    uint64_t seed;
} weft_sampler_ctx;

typedef struct weft_sampler_vtable {
    size_t struct_size;
    weft_status (*apply)(void *self, const weft_sampler_ctx *ctx, weft_candidates *cands);
    /* Optional: a token was committed (state updates, e.g. mirostat's mu). */
    void (*accept)(void *self, weft_token tok);
    /* Optional: forget all state (new sequence). */
    void (*reset)(void *self);
    /* Optional: a copy with the same parameters and state. */
    weft_status (*clone)(void *self, void **out);
} weft_sampler_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WEFT_SAMPLER_H */
