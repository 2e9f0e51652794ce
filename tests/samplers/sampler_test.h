/* What the sampler suites share on top of tests/common/plugin_fixture: a
 * sampler context with a chosen history, a toy vocabulary with a tokenizer
 * (for text-based rules), JSON parameter values, and checks on extreme
 * inputs under a given context. */
#ifndef WEFT_TEST_SAMPLER_TEST_H
#define WEFT_TEST_SAMPLER_TEST_H

#include "plugin_fixture.h"

/* ---- a toy vocabulary and the backend that tokenizes with it ---- */

#define ST_MAX_PIECES 64

typedef struct st_vocab {
    const char *pieces[ST_MAX_PIECES]; /* token i's bytes */
    uint32_t len[ST_MAX_PIECES], attrs[ST_MAX_PIECES];
    weft_vocab vocab;
    weft_instance backend; /* tokenize(): greedy longest match over pieces */
} st_vocab;

/* Tokens 0..n-1 are pieces[0..n-1]. */
void st_vocab_init(st_vocab *v, const char *const *pieces, size_t n);

/* ---- contexts ---- */

/* A context at the node after history[0..n) whose first n_prompt tokens
 * are the prompt and last `depth` the draft path; vocab (and its backend)
 * may be NULL. rng is seeded with 1. */
typedef struct st_ctx {
    weft_sampler_ctx ctx;
    weft_rng rng;
} st_ctx;
void st_ctx_init(st_ctx *c, const weft_token *history, size_t n, size_t n_prompt, size_t depth, int32_t n_vocab,
                 st_vocab *vocab);

weft_status st_apply(pf *fx, const weft_sampler_ctx *ctx, weft_candidates *c);

/* ---- parameters ---- */

/* A JSON parameter value parsed from text, valid until st_json_release()
 * (call it in the suite's teardown; create() has copied what it needs). */
const weft_json *st_json(const char *text);
void st_json_release(void);
#define ST_JSON(n, text) ((pf_arg){.name = (n), .value = {.present = true, .u.json = st_json(text)}})

/* pf_check_descriptor, except that JSON defaults (which the fixture cannot
 * parse) are only checked to be valid JSON. */
const char *st_check_descriptor(const weft_component_desc *d);

/* ---- results ---- */

/* The logit of token id in c; asserts it is there. */
float st_logit(const weft_candidates *c, weft_token id);
/* Whether token id is in c. */
bool st_has(const weft_candidates *c, weft_token id);

/* Applies the sampler under ctx to the fixed extreme inputs of
 * pf_assert_extremes and asserts pf_assert_sane on each (without requiring
 * that a top token survives: XTC removes top tokens by design). */
void st_assert_extremes(pf *fx, const weft_sampler_ctx *ctx);

#endif
