/* Internals shared by the engine's files (not part of the API). */
#ifndef WEFT_GRAMMAR_INTERNAL_H
#define WEFT_GRAMMAR_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"

/* ---- small helpers ---- */

double wg_now_ms(void);

/* A growable array of uint32_t. */
typedef struct wg_vec {
    uint32_t *v;
    size_t n, cap;
} wg_vec;
bool wg_vec_reserve(wg_vec *a, size_t n);
static inline bool wg_vec_push(wg_vec *a, uint32_t x) {
    if (a->n == a->cap && !wg_vec_reserve(a, a->n + 1)) return false;
    a->v[a->n++] = x;
    return true;
}
void wg_vec_free(wg_vec *a);

/* Marks the bounds of byte range [lo, hi] in a map of cut points 0..256
 * (five words): bytes between two cuts behave alike. */
static inline void wg_cut_range(uint64_t cut[5], unsigned lo, unsigned hi) {
    cut[lo >> 6] |= 1ull << (lo & 63);
    cut[(hi + 1) >> 6] |= 1ull << ((hi + 1) & 63);
}

/* ---- IR (ir.c) ---- */

typedef enum wg_kind {
    WG_E_EMPTY,
    WG_E_NOTHING,
    WG_E_BYTES,      /* off/n into bytes */
    WG_E_CLASS,      /* off/n: n sorted disjoint scalar ranges (pairs) in ranges */
    WG_E_BYTE_RANGE, /* a..b */
    WG_E_REF,        /* a = rule */
    WG_E_SEQ,        /* off/n into items */
    WG_E_ALT,
    WG_E_REPEAT,     /* a = child, min = off, max = n */
} wg_kind;

typedef struct wg_node {
    uint32_t kind;
    uint32_t a, b;
    uint32_t off, n;
} wg_node;

typedef struct wg_rule_def {
    char *name;
    wg_expr body; /* -1: undefined */
} wg_rule_def;

struct wg_builder {
    wg_node *nodes;
    size_t n_nodes, cap_nodes;
    uint8_t *bytes;
    size_t n_bytes, cap_bytes;
    uint32_t *ranges;
    size_t n_ranges, cap_ranges;
    int32_t *items;
    size_t n_items, cap_items;
    wg_rule_def *rules;
    size_t n_rules, cap_rules;
    uint32_t *names; /* open addressing over rule names: rule + 1, 0 empty */
    size_t names_cap;
    uint32_t n_fresh;
    bool failed;
    char fail_msg[160];
};

/* The set of scalar values the class (ranges, negated) names: sorted,
 * disjoint, without surrogates, as pairs in *out (malloc'd); returns the
 * number of ranges, or SIZE_MAX when out of memory. */
size_t wg_class_normalize(const uint32_t *ranges, size_t n, bool negated, uint32_t **out);

/* Dense ids for distinct sequences of words (interner.c): id i's words are
 * words.v[off.v[i] .. off.v[i + 1]). Zero-initialised is empty. */
typedef struct wg_interner {
    wg_vec words, off;
    uint32_t *table; /* open addressing: id + 1, 0 empty */
    size_t table_cap;
} wg_interner;
size_t wg_interner_count(const wg_interner *in);
/* The id of w[0..n), added (and *added set) when new; WG_NONE when out of
 * memory. */
uint32_t wg_intern(wg_interner *in, const uint32_t *w, size_t n, bool *added);
void wg_interner_free(wg_interner *in);

/* Rules with equal bodies (same_rules.c): rep[r] is the first rule, in
 * `order` (callees first), whose body expands to the same tree; rules
 * marked WG_ON_A_CYCLE keep rep[r] = r. node_class (n_nodes + 1 entries)
 * gets each expression's class + 1 where one is known for every context,
 * 0 elsewhere: equal classes, equal languages. False when out of memory. */
enum { WG_NOT_RECURSIVE, WG_SELF_RECURSIVE, WG_ON_A_CYCLE };
bool wg_same_rules(const wg_builder *b, const uint32_t *order, size_t n_order, const uint8_t *recursive,
                   uint32_t *rep, uint32_t *node_class);

/* ---- UTF-8 (utf8.c) ---- */

/* One byte-range sequence encoding a run of scalar values. */
typedef struct wg_utf8_seq {
    uint8_t n;
    uint8_t lo[4], hi[4];
} wg_utf8_seq;
/* Splits the scalar range [lo, hi] (no surrogates inside) into sequences;
 * out must hold 16 entries. Returns the count. */
size_t wg_utf8_sequences(uint32_t lo, uint32_t hi, wg_utf8_seq *out);

/* ---- compiled grammar (compile.c) ---- */

#define WG_NONE UINT32_MAX

typedef struct wg_range {
    uint8_t lo, hi;
    uint32_t target;
} wg_range;

typedef struct wg_refedge {
    uint32_t rule;
    uint32_t target;
} wg_refedge;

typedef struct wg_state {
    uint32_t rule;
    uint32_t range_off, ref_off;
    uint16_t n_ranges, n_refs;
    uint8_t final;
    uint8_t exit_only; /* final, no edges: a return here is a return to the caller */
} wg_state;

typedef struct wg_crule {
    char *name;
    uint32_t start;
    uint32_t ret_off, n_ret; /* return sites: targets of ref edges naming this rule */
} wg_crule;

struct wg_grammar {
    wg_state *states;
    size_t n_states;
    wg_range *ranges;
    size_t n_ranges;
    wg_refedge *refs;
    size_t n_refs;
    uint32_t *rets;
    size_t n_rets;
    wg_crule *rules;
    size_t n_rules;
    uint32_t root; /* compiled rule index */
    uint32_t max_stacks;
    uint32_t *follow;    /* per rule: 256-bit set of bytes that may follow it (follow.c) */
    uint8_t *follow_end; /* per rule: the grammar may end right after it */
};

/* Computes follow and follow_end (over-approximations); false when out of
 * memory. */
bool wg_compute_follow(wg_grammar *g);

/* Pseudo positions of stacks over an unknown bottom that has been popped
 * (token-cache classification only): after rule r returned, "one byte of
 * FOLLOW(r)", and after that byte, "anything" (WG_POS_ANY). Their parent is
 * always WG_STACK_WILD. */
static inline uint32_t wg_pos_follow(const wg_grammar *g, uint32_t rule) { return (uint32_t)g->n_states + rule; }
static inline uint32_t wg_pos_any(const wg_grammar *g) { return (uint32_t)(g->n_states + g->n_rules); }

/* The DFA state after byte c from state s, or WG_NONE. */
static inline uint32_t wg_dfa_step(const wg_grammar *g, uint32_t s, uint8_t c) {
    const wg_state *st = &g->states[s];
    for (uint32_t i = 0; i < st->n_ranges; i++) { /* no pointer into ranges before: it is NULL in a grammar without any */
        const wg_range *r = &g->ranges[st->range_off + i];
        if (c < r->lo) return WG_NONE;
        if (c <= r->hi) return r->target;
    }
    return WG_NONE;
}

/* A state that consumes bytes and calls nothing. Walked from over an
 * unknown bottom, it stays one stack (plus, when final, the FOLLOW pseudo
 * stack of its rule), which token walks step without the pool. */
static inline bool wg_light_state(const wg_grammar *g, uint32_t pos) {
    const wg_state *st = &g->states[pos];
    return st->n_ranges && !st->n_refs;
}
/* A light state that cannot return either. */
static inline bool wg_plain_state(const wg_grammar *g, uint32_t pos) {
    return wg_light_state(g, pos) && !g->states[pos].final;
}
static inline bool wg_follows(const wg_grammar *g, uint32_t rule, uint8_t c) {
    return g->follow[(size_t)rule * 8 + (c >> 5)] >> (c & 31) & 1;
}

/* ---- persistent stacks (stacks.c) ---- */

/* Stack ids: 0 is the empty stack (a pop there ends the grammar); 1 and 2
 * are the unknown bottoms the token cache simulates from (1: not yet
 * popped; 2: popped, the parent of the FOLLOW and ANY pseudo stacks). */
#define WG_STACK_EMPTY 0u
#define WG_STACK_UNKNOWN 1u
#define WG_STACK_WILD 2u

typedef struct wg_hist wg_hist;

typedef struct wg_pool {
    const wg_grammar *g;
    uint32_t *pos, *parent;
    uint8_t *bottom;
    size_t n, cap;
    uint32_t *table; /* open addressing: id + 1, 0 empty */
    size_t table_cap;
    uint32_t *mark;
    uint32_t gen;
    uint32_t max_live;  /* stacks one close may visit (g->max_stacks) */
    bool over_limit;    /* a close stopped at max_live since the last reset */
    wg_vec work, tmp, tmp2;
    size_t refs; /* matchers sharing the pool */
    wg_hist *free_hist[32];
    wg_matcher *free_matchers; /* recycled by fork and free */
    wg_vec ping, pong; /* accept_bytes / jump_forward */
    wg_vec depth_buf;  /* per-depth stack sets for token walks */
    wg_vec depth_off;  /* depth d's set: depth_buf[off[d], off[d + 1]) */
    wg_vec depth_acc;  /* close() flags per depth */
    wg_vec depth_pos;  /* per depth: WG_NONE, or the top of a light depth (token_cache.c) */
} wg_pool;

wg_pool *wg_pool_new(const wg_grammar *g);
void wg_pool_free(wg_pool *p);
/* The stack (pos, parent), interned; WG_NONE when out of memory. */
uint32_t wg_pool_intern(wg_pool *p, uint32_t pos, uint32_t parent);
/* Closes the kernel stacks in[0..n) (pushes into rules, pops out of finished
 * ones) and appends the stacks that can consume a byte to out, each once.
 * Returns WG_END if the grammar may end here, WG_MAYBE_END if it may end in
 * some unknown context (a pop of the root rule over an unknown bottom), 0 if
 * neither, -1 when out of memory or when more than max_live stacks are
 * visited (then over_limit is set). */
#define WG_END 1
#define WG_MAYBE_END 2
int wg_close(wg_pool *p, const uint32_t *in, size_t n, wg_vec *out);
/* Appends to out the kernel stacks after byte c from active stacks in[0..n). */
bool wg_step(wg_pool *p, const uint32_t *in, size_t n, uint8_t c, wg_vec *out);
/* step + close: the active set after c, appended to out (which must not be
 * p->tmp or p->work); returns as wg_close. */
int wg_advance(wg_pool *p, const uint32_t *in, size_t n, uint8_t c, wg_vec *out);

/* ---- matcher (matcher.c) ---- */

struct wg_hist {
    uint32_t refs;
    uint32_t cap_class;
    wg_hist *prev;
    size_t depth;
    uint32_t n;
    uint8_t accepting, finished;
    uint32_t stacks[];
};

struct wg_matcher {
    const wg_grammar *g;
    wg_pool *pool;
    wg_hist *cur;
    wg_matcher *next_free; /* in the pool's free list */
};

/* Pushes a new step with the active set set[0..n) onto m's history. */
bool wg_matcher_push(wg_matcher *m, const uint32_t *set, size_t n, bool accepting, bool finished);

/* ---- vocabulary index (vocab_index.c) ---- */

struct wg_vocab_index {
    int32_t n_vocab;
    char *fingerprint;
    /* tokens with bytes that do not end generation, sorted by bytes ("ranks") */
    uint32_t n_sorted;
    int32_t *sorted_ids;
    uint32_t *tok_off, *tok_len; /* by rank, into bytes */
    uint8_t *bytes;              /* the tokens' bytes in id order */
    uint32_t *id_end;            /* by token id: end of its bytes (0 bytes if not in the trie) */
    uint32_t *rank_of; /* by token id; UINT32_MAX: not in the trie */
    uint32_t max_len;
    /* the trie, nodes in preorder (depth >= 1) */
    uint32_t n_nodes;
    uint8_t *node_byte;
    uint16_t *node_depth;
    uint32_t *node_end;       /* first node after the subtree */
    uint32_t *node_rank_lo;   /* ranks of tokens ending at the node */
    uint32_t *node_rank_hi;
    int32_t *eog;
    size_t n_eog;
    uint8_t *is_eog; /* by token id */
    struct wg_region_memo *regions; /* grows as grammars classify (region.c) */
};

/* ---- plain regions (region.c) ---- */

/* The walks through plain regions, by region shape: one memo per vocabulary
 * index, shared by its grammars and threads (it locks), plus scratch per
 * thread that classifies. */
typedef struct wg_region_memo wg_region_memo;
typedef struct wg_regions wg_regions;
#define WG_REGION_UNCERTAIN 0x80000000u
#define WG_REGION_INDEX 0x1FFFu
#define WG_REGION_ANY 0x8000u
typedef struct wg_region_result {
    const uint32_t *acc_bits; /* by token id: the n_acc tokens accepted inside the region */
    uint32_t n_acc;
    bool kept; /* the memo keeps this walk as long as the index lives (acc_bits stays valid) */
    /* n_events pairs in trie preorder: (lo | WG_REGION_UNCERTAIN, hi), ranks
     * [lo, hi) uncertain; or (node, from): the node's byte leaves the region
     * from region index from & WG_REGION_INDEX, with the "anything" pseudo
     * stack alive if from & WG_REGION_ANY */
    const uint32_t *events;
    uint32_t n_events;
    const uint32_t *states; /* region index -> automaton state, for this entry */
} wg_region_result;
wg_region_memo *wg_region_memo_new(void);
void wg_region_memo_free(wg_region_memo *m);
size_t wg_region_memo_bytes(wg_region_memo *m);
wg_regions *wg_regions_new(void);
void wg_regions_free(wg_regions *r);
/* The walk of vi's trie from light state `entry` over an unknown bottom,
 * valid until r's next call: WG_REGION_OK; WG_REGION_NONE when the region is
 * too large or memory ran out (walk the usual way); WG_REGION_LATE when a
 * walk the memo did not have ran past `deadline` (> 0; the clock is read
 * every few thousand trie nodes). */
enum { WG_REGION_NONE, WG_REGION_OK, WG_REGION_LATE };
int wg_region_walk(wg_regions *r, wg_region_memo *m, const wg_grammar *g, const wg_vocab_index *vi,
                   uint32_t entry, double deadline, wg_region_result *out);

#endif
