/* The members of an object, "{" ws [ member *( "," ws member ) ] "}", each
 * member "key" ws ":" ws value ws, in one of two shapes:
 *
 *   any order, for a few members (JSON objects are unordered, RFC 8259 §4)
 *   while a budget of sets for the whole schema lasts:
 *   rules R(S), S the set of members so far,
 *     R(S) = sep(S) member_i R(S + i)   for each i not in S
 *          | sep(S) extra R(S)          other keys, any number
 *          | ""                          once every required member is in S
 *   (2^n rules; an extra key sets a flag so the next separator is a comma);
 *
 *   schema order, beyond that: a chain R(i, k), "member i is next, k members
 *   so far" (k saturating at the largest count that matters),
 *     R(i, k) = sep(k) member_i R(i+1, k+1)  |  R(i+1, k)  (if i is optional)
 *             | sep(k) extra R(i, k+1)       |  ""         (at the end, k >= min)
 *
 * min/maxProperties count members; with other keys allowed they need the
 * chain's counter. */
#include "js_internal.h"

#define JS_UNORDERED_MAX 5      /* members of one object: 2^5 sets */
#define JS_UNORDERED_BUDGET 2048 /* sets over the whole schema: grammar size stays small */
#define JS_CHAIN_MAX_RULES 20000

typedef struct shape shape;
struct shape {
    js_ctx *c;
    const js_members *m;
    uint32_t cap;   /* chain: counts kept apart, 0..cap */
    size_t n_slots;
    bool unordered;
    wg_rule *rules; /* lazily created */
    bool *made;
    /* member rules M(i, slot) = member_i R(slot): the places that add
     * member i and go on at the same slot (with or without a comma before,
     * after an extra key or not) refer to one rule, not each to a copy */
    wg_rule *member_rules;
    bool *member_made;
    /* rules created but not yet defined: defined by a loop, not by
     * recursion, so a chain of thousands of members needs no deep stack */
    size_t *pending;
    size_t n_pending;
    wg_expr (*body)(shape *, size_t);
};

static wg_expr sep(js_ctx *c, bool first) {
    return first ? wg_empty(c->b) : wg_seq2(c->b, wg_lit_str(c->b, ","), js_ws(c));
}

static wg_expr made_rule(shape *sh, size_t slot) {
    if (!sh->made[slot]) {
        sh->made[slot] = true;
        sh->rules[slot] = wg_rule_fresh(sh->c->b, "obj");
        sh->pending[sh->n_pending++] = slot;
    }
    return wg_ref(sh->c->b, sh->rules[slot]);
}

/* member_i, then the rule of `slot`. In a chain the slot names i too; a set
 * slot does not, but sets have at most JS_UNORDERED_MAX members. */
static wg_expr member_then(shape *sh, size_t i, size_t slot) {
    size_t k = sh->unordered ? i * sh->n_slots + slot : slot;
    if (!sh->member_made[k]) {
        sh->member_made[k] = true;
        sh->member_rules[k] = wg_rule_fresh(sh->c->b, "member");
        wg_expr next = made_rule(sh, slot);
        wg_rule_define(sh->c->b, sh->member_rules[k], wg_seq2(sh->c->b, sh->m->kv[i], next));
    }
    return wg_ref(sh->c->b, sh->member_rules[k]);
}

/* ---- any order: slot = S * 2 + (an extra key came first) ---- */

static wg_expr set_body(shape *sh, size_t slot);

static wg_expr set_rule(shape *sh, uint32_t set, bool extra_seen) {
    return made_rule(sh, (size_t)set * 2 + extra_seen);
}

static wg_expr set_body(shape *sh, size_t slot) {
    const js_members *m = sh->m;
    wg_builder *b = sh->c->b;
    uint32_t set = (uint32_t)(slot / 2);
    bool first = set == 0 && !(slot & 1);
    uint32_t count = (uint32_t)__builtin_popcount(set);
    wg_expr *alts = malloc((m->n + 2) * sizeof *alts);
    if (!alts) return -1;
    size_t k = 0;
    bool done = count >= m->min;
    for (size_t i = 0; i < m->n; i++) {
        if (set >> i & 1) continue;
        done &= !m->required[i];
        if (count < m->max)
            alts[k++] = wg_seq2(b, sep(sh->c, first), member_then(sh, i, (size_t)(set | 1u << i) * 2));
    }
    if (m->extra >= 0) alts[k++] = wg_seq(b, (wg_expr[]){sep(sh->c, first), m->extra, set_rule(sh, set, true)}, 3);
    if (done) alts[k++] = wg_empty(b);
    wg_expr e = wg_alt(b, alts, k);
    free(alts);
    return e;
}

/* ---- schema order: slot = i * (cap + 1) + k ---- */

static wg_expr chain_body(shape *sh, size_t slot);

static wg_expr chain_rule(shape *sh, size_t i, uint32_t k) { return made_rule(sh, i * (sh->cap + 1) + k); }

static wg_expr chain_body(shape *sh, size_t slot) {
    const js_members *m = sh->m;
    wg_builder *b = sh->c->b;
    size_t i = slot / (sh->cap + 1);
    uint32_t k = (uint32_t)(slot % (sh->cap + 1));
    uint32_t next = k < sh->cap ? k + 1 : k;
    bool room = m->max == JS_NO_MAX || k < m->max;
    wg_expr alts[4];
    size_t na = 0;
    if (i < m->n && room)
        alts[na++] = wg_seq2(b, sep(sh->c, k == 0), member_then(sh, i, (i + 1) * (sh->cap + 1) + next));
    if (i < m->n && !m->required[i]) alts[na++] = chain_rule(sh, i + 1, k);
    if (m->extra >= 0 && room) alts[na++] = wg_seq(b, (wg_expr[]){sep(sh->c, k == 0), m->extra, chain_rule(sh, i, next)}, 3);
    if (i == m->n && k >= m->min) alts[na++] = wg_empty(b);
    return wg_alt(b, alts, na);
}

wg_expr js_emit_members(js_ctx *c, const js_members *m, const weft_json *at) {
    wg_builder *b = c->b;
    shape sh = {.c = c, .m = m};
    bool counted = m->min > 0 || m->max != JS_NO_MAX;
    bool unordered = m->n <= JS_UNORDERED_MAX && !(counted && m->extra >= 0) &&
                     c->n_unordered_sets + ((size_t)1 << m->n) <= JS_UNORDERED_BUDGET;
    if (unordered) c->n_unordered_sets += (size_t)1 << m->n;
    size_t slots;
    if (unordered) {
        slots = (size_t)2 << m->n;
    } else {
        uint64_t cap = m->max != JS_NO_MAX ? m->max : (m->min > 1 ? m->min : 1);
        if (cap >= JS_CHAIN_MAX_RULES / (m->n + 1)) { /* (n + 1) (cap + 1) rules, without overflow */
            js_unsupported(c, at, "'minProperties'/'maxProperties' of %llu with %zu properties is too large",
                           (unsigned long long)cap, m->n);
            return -1;
        }
        sh.cap = (uint32_t)cap;
        slots = (m->n + 1) * (cap + 1);
    }
    sh.n_slots = slots;
    sh.unordered = unordered;
    size_t n_member = unordered ? (m->n + 1) * slots : slots;
    sh.rules = malloc(slots * sizeof *sh.rules);
    sh.made = calloc(slots, sizeof *sh.made);
    sh.pending = malloc(slots * sizeof *sh.pending);
    sh.member_rules = malloc(n_member * sizeof *sh.member_rules);
    sh.member_made = calloc(n_member, sizeof *sh.member_made);
    sh.body = unordered ? set_body : chain_body;
    wg_expr e = -1;
    if (sh.rules && sh.made && sh.pending && sh.member_rules && sh.member_made) {
        wg_expr body = unordered ? set_rule(&sh, 0, false) : chain_rule(&sh, 0, 0);
        while (sh.n_pending) {
            size_t slot = sh.pending[--sh.n_pending];
            wg_rule_define(b, sh.rules[slot], sh.body(&sh, slot));
        }
        e = wg_seq(b, (wg_expr[]){wg_lit_str(b, "{"), js_ws(c), body, wg_lit_str(b, "}")}, 4);
    } else {
        js_fail(c, at, WEFT_ERR_NOMEM, "out of memory");
    }
    free(sh.rules);
    free(sh.made);
    free(sh.pending);
    free(sh.member_rules);
    free(sh.member_made);
    return e;
}
