/* weft grammar engine: the library behind every grammar-kind plugin (gbnf,
 * regex, json-schema). Front-ends build an IR (rules of expressions), compile
 * it once into an immutable pushdown automaton over bytes, and hand it to
 * wg_instance_create, which implements the whole weft_grammar_vtable.
 * Design and numbers: docs/grammar.md.
 *
 * Three layers, each usable alone (tests use all three):
 *   1. IR builder + compiler  -> wg_grammar (immutable, shareable, thread-safe to read)
 *   2. byte-level matcher     -> wg_matcher (accept_bytes, fork, rollback, jump-forward)
 *   3. token level            -> wg_vocab_index (token trie, one per vocabulary) and
 *                                wg_token_cache (per grammar x vocabulary: the adaptive
 *                                mask cache), fill_mask / accept_token.
 *
 * Conventions: functions returning a pointer return NULL on failure and, when
 * they take a wg_error *, write a message into it (err may be NULL). Nothing
 * aborts. The engine allocates with malloc. */
#ifndef WEFT_GRAMMAR_ENGINE_H
#define WEFT_GRAMMAR_ENGINE_H

#include <weft/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wg_error {
    char msg[320];
} wg_error;

/* printf into err->msg (err may be NULL); for front-ends too. */
void wg_set_error(wg_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- 1. IR builder ------------------------------------------------------ */

/* Expressions and rules are small integer handles into one builder. A
 * negative handle means a previous call failed (out of memory, bad argument);
 * every constructor propagates it, and wg_compile reports the first failure,
 * so front-ends may build without checking each call. */
typedef int32_t wg_expr;
typedef int32_t wg_rule;

#define WG_INF UINT32_MAX /* repetition without an upper bound */

typedef struct wg_builder wg_builder;

wg_builder *wg_builder_new(void);
void wg_builder_free(wg_builder *b);

/* The rule called `name`, created (undefined) on first use. */
wg_rule wg_rule_named(wg_builder *b, const char *name);
/* A new rule named "<hint>-<n>", unique in this builder (helpers, e.g. one
 * rule per JSON Schema subschema). */
wg_rule wg_rule_fresh(wg_builder *b, const char *hint);
/* The rule called `name`, or -1 if the builder has none. */
wg_rule wg_rule_find(const wg_builder *b, const char *name);
/* Sets the body of r. Returns false if r is invalid or already defined. */
bool wg_rule_define(wg_builder *b, wg_rule r, wg_expr body);
bool wg_rule_is_defined(const wg_builder *b, wg_rule r);
const char *wg_rule_name(const wg_builder *b, wg_rule r);

/* The empty string. */
wg_expr wg_empty(wg_builder *b);
/* No string at all (an alternation of nothing). */
wg_expr wg_nothing(wg_builder *b);
/* Exact bytes (any bytes: a literal may hold part of a UTF-8 character). */
wg_expr wg_lit(wg_builder *b, const void *bytes, size_t n);
wg_expr wg_lit_str(wg_builder *b, const char *s);
/* One Unicode scalar value (encoded as UTF-8) from n inclusive ranges
 * ranges[2i]..ranges[2i+1] (any order, may overlap), or, when negated, any
 * scalar value outside them. Surrogates (U+D800..U+DFFF) never match; the
 * result is a byte automaton, so tokens may split a character anywhere. */
wg_expr wg_class(wg_builder *b, const uint32_t *ranges, size_t n, bool negated);
/* Any Unicode scalar value (GBNF `.`). */
wg_expr wg_any_char(wg_builder *b);
/* One raw byte in [lo, hi] (not a character: for binary-ish front-ends). */
wg_expr wg_byte_range(wg_builder *b, uint8_t lo, uint8_t hi);
wg_expr wg_ref(wg_builder *b, wg_rule r);
wg_expr wg_seq(wg_builder *b, const wg_expr *items, size_t n);
wg_expr wg_alt(wg_builder *b, const wg_expr *items, size_t n);
wg_expr wg_seq2(wg_builder *b, wg_expr x, wg_expr y);
wg_expr wg_alt2(wg_builder *b, wg_expr x, wg_expr y);
/* e repeated min..max times (max WG_INF: unbounded; max >= min). */
wg_expr wg_repeat(wg_builder *b, wg_expr e, uint32_t min, uint32_t max);

/* UTF-8 of the scalar value c (<= 0x10FFFF) into out[4]; returns its length. */
size_t wg_utf8_encode(uint32_t c, uint8_t *out);

/* Builds the IR of a regular expression (the ECMA-262 subset JSON Schema
 * `pattern` uses; docs/grammar.md lists it) as one expression.
 *   anchored = true : the whole text must match (a regex used as an output
 *                     constraint; ^ and $ at the ends are accepted, redundant);
 *   anchored = false: ECMA-262 RegExp.test semantics, as JSON Schema `pattern`
 *                     requires: the text contains a match, i.e. .*PATTERN.*
 *                     where `.` is any character; a leading ^ / trailing $
 *                     removes the corresponding .* .
 * Unsupported constructs (backreferences, lookaround, ^/$ in the middle, ...)
 * fail with a message naming the construct and its byte offset; returns -1
 * and fills err. */
wg_expr wg_regex_to_ir(wg_builder *b, const char *pattern, bool anchored, wg_error *err);

/* wg_regex_to_ir with every character matcher built by a callback instead of
 * wg_class: map(ctx, b, ranges, n) receives one character set (n sorted,
 * disjoint, inclusive scalar ranges, negation and surrogates already
 * resolved; a literal character is a set of one) and returns the expression
 * for "one such character", e.g. its JSON string encoding. The unanchored
 * padding (any character) goes through it too. */
typedef wg_expr (*wg_char_map)(void *ctx, wg_builder *b, const uint32_t *ranges, size_t n);
typedef struct wg_regex_opts {
    bool anchored;
    wg_char_map map; /* NULL: wg_class */
    void *map_ctx;
} wg_regex_opts;
wg_expr wg_regex_to_ir_ex(wg_builder *b, const char *pattern, const wg_regex_opts *opts, wg_error *err);

/* ---- compile ------------------------------------------------------------ */

typedef struct wg_limits {
    size_t max_states; /* automaton states (NFA + DFA) over all rules; 0: default */
    double max_ms;     /* compile wall time; 0: default */
    double cache_ms;   /* wg_instance only: token-cache precomputation budget; 0: unlimited */
    size_t max_stacks; /* matching: distinct parse stacks one byte may lead to; 0: default */
} wg_limits;

#define WG_DEFAULT_MAX_STATES 1000000
/* An ambiguous grammar (e.g. nested `x*` around a recursive rule) can double
 * its live stacks with every byte; past this many, matching stops with an
 * error (wg_matcher_over_limit) instead of taking exponential time. */
#define WG_DEFAULT_MAX_STACKS 10000
#define WG_DEFAULT_MAX_MS 10000.0

typedef struct wg_grammar wg_grammar;

/* Compiles the rules reachable from `root`. Errors (with rule names): an
 * undefined rule, left recursion (a rule that can reach itself without
 * consuming a byte), a limit exceeded, a builder failure. The builder is
 * not modified and may be freed afterwards. */
wg_grammar *wg_compile(const wg_builder *b, wg_rule root, const wg_limits *lim, wg_error *err);
void wg_grammar_free(wg_grammar *g);

typedef struct wg_grammar_stats {
    size_t n_rules;     /* rules kept after inlining */
    size_t n_states;    /* DFA states over all rules */
    size_t bytes;       /* memory of the compiled grammar */
} wg_grammar_stats;
void wg_grammar_get_stats(const wg_grammar *g, wg_grammar_stats *out);

/* ---- 2. byte-level matcher ---------------------------------------------- */

/* A position in the grammar: the set of pushdown stacks the bytes so far
 * lead to, plus a history of earlier positions for rollback. Stacks are
 * persistent and shared between a matcher and its forks (one pool per
 * family; a family must be used from one thread at a time). */
typedef struct wg_matcher wg_matcher;

/* At the start of the grammar; NULL when out of memory. */
wg_matcher *wg_matcher_new(const wg_grammar *g);
/* O(1): shares stacks and history with m. */
wg_matcher *wg_matcher_fork(const wg_matcher *m);
void wg_matcher_free(wg_matcher *m);

/* Advances by all n bytes, or returns false and leaves m unchanged. One
 * successful call is one step of history (n may be 0: an empty step). */
bool wg_matcher_accept_bytes(wg_matcher *m, const void *bytes, size_t n);
/* The bytes so far form a complete sentence of the grammar. */
bool wg_matcher_is_accepting(const wg_matcher *m);
/* No byte can follow (accepting or dead end). */
bool wg_matcher_is_final(const wg_matcher *m);
/* Undoes the last n steps (accept_bytes / accept_token calls); false, m
 * unchanged, when fewer than n steps were taken since wg_matcher_new. */
bool wg_matcher_rollback(wg_matcher *m, size_t n);
/* Steps taken since wg_matcher_new (minus rollbacks). */
size_t wg_matcher_depth(const wg_matcher *m);
/* The bytes the grammar forces next (stops where a choice exists, where the
 * grammar may end, or at cap); returns their count. */
size_t wg_matcher_jump_forward(const wg_matcher *m, char *buf, size_t cap);
/* The last accept_bytes / accept_token / fill_mask on m's family failed
 * because the input needed more live stacks than max_stacks, not because
 * the grammar rejects it. */
bool wg_matcher_over_limit(const wg_matcher *m);
/* The grammar's max_stacks. */
size_t wg_grammar_max_stacks(const wg_grammar *g);

/* ---- 3. tokens ------------------------------------------------------------ */

/* A vocabulary indexed once: a trie over token bytes. Copies what it needs
 * (the weft_vocab may go away). Tokens with no bytes (control tokens) are
 * never allowed except end-of-generation tokens, which are allowed exactly
 * where the grammar may end. */
typedef struct wg_vocab_index wg_vocab_index;
wg_vocab_index *wg_vocab_index_new(const weft_vocab *v, wg_error *err);
void wg_vocab_index_free(wg_vocab_index *vi);
int32_t wg_vocab_index_n_vocab(const wg_vocab_index *vi);
const char *wg_vocab_index_fingerprint(const wg_vocab_index *vi);
size_t wg_vocab_index_bytes(const wg_vocab_index *vi);
/* The memo of token-trie walks through plain regions (string bodies) that
 * grammars using the index have filled so far; shared, at most 64 MiB. */
size_t wg_vocab_index_memo_bytes(const wg_vocab_index *vi);
/* The key the index of v is shared under (host->shared): a hash of the
 * fingerprint, every token's length and end-of-generation flag, and a
 * sample of the bytes; false for a malformed vocabulary or a short buffer.
 * wg_vocab_index_matches is the full check, so vocabularies that share a
 * key cost one of them a private index, never a wrong mask. */
bool wg_vocab_key(const weft_vocab *v, char *key, size_t cap);
/* vi indexes exactly v (guards against a hash collision of wg_vocab_key). */
bool wg_vocab_index_matches(const wg_vocab_index *vi, const weft_vocab *v);

/* The adaptive token-mask cache of one grammar for one vocabulary: per
 * automaton position, the tokens accepted or rejected whatever the stack
 * below, and the context-dependent rest (checked at mask time against the
 * real stack). Positions are precomputed up front within max_ms; the others
 * are classified the first time a mask needs them (so fill_mask updates the
 * cache: calls on one cache must not overlap, as calls on one grammar
 * instance never do). With env set, precomputation runs on the host's
 * thread pool (env->host->parallel_for, one position per item, so the
 * result does not depend on the thread count). g and vi must outlive the
 * cache. */
typedef struct wg_cache_opts {
    double max_ms;           /* precomputation budget; 0: unlimited */
    bool disable;            /* precompute nothing (positions are classified on first use) */
    bool walk_only;          /* never classify at mask time: walk the whole trie (tests) */
    const weft_env *env;     /* NULL: one thread */
} wg_cache_opts;
typedef struct wg_token_cache wg_token_cache;
wg_token_cache *wg_token_cache_new(const wg_grammar *g, const wg_vocab_index *vi, const wg_cache_opts *opts,
                                   wg_error *err);
void wg_token_cache_free(wg_token_cache *tc);
typedef struct wg_cache_stats {
    size_t n_positions;   /* automaton positions that consume bytes */
    size_t n_cached;      /* of those, classified (up front or since) */
    size_t n_uncertain;   /* context-dependent (position, token) pairs */
    size_t bytes;
    double build_ms;
} wg_cache_stats;
void wg_token_cache_get_stats(const wg_token_cache *tc, wg_cache_stats *out);

/* Sets bit t of mask (mask[t / 32] >> (t % 32) & 1) iff token t may come next:
 * its bytes can be accepted, or it ends generation and the grammar may end.
 * Writes all (n_vocab + 31) / 32 words. Allocates nothing in steady state.
 * False when memory or max_stacks ran out (wg_matcher_over_limit says
 * which): the mask is then incomplete and must not be used. */
bool wg_fill_mask(const wg_token_cache *tc, const wg_matcher *m, uint32_t *mask);
/* Advances by one token (one history step); false, m unchanged, if the mask
 * would not allow it. After an end-of-generation token nothing more is
 * accepted (rollback undoes it like any token). */
bool wg_accept_token(const wg_token_cache *tc, wg_matcher *m, weft_token tok);
/* The grammar may end here (an end-of-generation token would be accepted). */
bool wg_can_end(const wg_matcher *m);

/* ---- grammar-kind component ------------------------------------------------ */

/* The whole weft_grammar_vtable over a compiled grammar, shared by every
 * front-end: its create() compiles, then calls wg_instance_create (which
 * takes ownership of g, also on failure) and uses wg_instance_destroy and
 * wg_instance_vtable in its descriptor. set_vocab takes the vocabulary index
 * from the host (host->shared, ABI 1.1: built once per vocabulary, shared by
 * every instance and pipeline; a private one on older hosts) and builds the
 * token cache (precomputed on the host's thread pool within lim->cache_ms),
 * keeping both when the vocabulary is unchanged. */
weft_status wg_instance_create(const weft_env *env, wg_grammar *g, const wg_limits *lim, void **self);
void wg_instance_destroy(void *self);
/* Front-end data kept with the instance (e.g. what its actions report,
 * which receive the instance as self); free_user (may be NULL) runs in
 * wg_instance_destroy. */
void wg_instance_set_user(void *self, void *user, void (*free_user)(void *));
void *wg_instance_user(void *self);
extern const weft_grammar_vtable wg_instance_vtable;

/* Parameters every front-end declares after its own (same names, same
 * defaults), and how to read them: WG_LIMIT_PARAMS inside the params array;
 * wg_limits_from_args(&args[first_limit_param]). */
#define WG_LIMIT_PARAMS                                                                           \
    WEFT_PARAM_INT("max_states", 1000, 100000000, "1000000",                                     \
                   "Compilation limit: automaton states over all rules (exceeding it is an error)"), \
    WEFT_PARAM_INT("max_ms", 1, 3600000, "10000",                                                 \
                   "Compilation limit: wall time in milliseconds (exceeding it is an error)"),   \
    WEFT_PARAM_INT("cache_ms", 0, 3600000, "0",                                                   \
                   "Token-mask cache precomputation budget in ms (0: none); positions left over "  \
                   "are classified when a mask first needs them: same masks"),                   \
    WEFT_PARAM_INT("max_stacks", 100, 100000000, "10000",                                         \
                   "Matching limit: distinct parse stacks one byte may lead to (an ambiguous "     \
                   "grammar can double them per byte); exceeding it stops the request with an error")
#define WG_N_LIMIT_PARAMS 4
wg_limits wg_limits_from_args(const weft_value *args);

/* A grammar file (a WEFT_PARAM_FILE parameter) read whole and
 * NUL-terminated (up to 64 MiB); NULL with "<path>: <reason>" in err. */
char *wg_read_file(const char *path, size_t *len, wg_error *err);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_GRAMMAR_ENGINE_H */
