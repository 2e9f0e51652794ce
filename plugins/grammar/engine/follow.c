/* FOLLOW sets: the bytes that may come right after a rule returns, in any
 * context, and whether the grammar may end there. The token cache walks
 * tokens from a position over an unknown stack; when a walk pops that
 * unknown bottom, it used to go on from every return site of the rule
 * (thousands for a string rule of a large schema, and again at each further
 * pop), which made classifying one position cost up to a second. It now
 * checks the next byte against the rule's FOLLOW set and, if it fits,
 * calls everything after it uncertain (checked at mask time against the
 * real stack). Every set here over-approximates, which can only make more
 * tokens uncertain, never change a mask. */
#include "internal.h"

#define BITS_WORDS 8 /* 256 bits */
#define MAX_DEPTH 2000 /* deeper chains of calls are over-approximated */

typedef struct follow_ctx {
    const wg_grammar *g;
    uint8_t *mark;      /* per state: 0 new, 1 in progress, 2 done */
    uint8_t *nullable;  /* per state, valid when mark == 2 */
    uint32_t *first_of; /* per state: index into first (+1), 0 none yet */
    uint32_t *first;    /* BITS_WORDS per entry */
    size_t n_first, cap_first;
    bool failed;
} follow_ctx;

static void set_all(uint32_t *b) { memset(b, 0xff, BITS_WORDS * sizeof *b); }

static void set_range(uint32_t *b, unsigned lo, unsigned hi) {
    for (unsigned c = lo; c <= hi; c++) b[c >> 5] |= 1u << (c & 31);
}

static void or_into(uint32_t *dst, const uint32_t *src) {
    for (int i = 0; i < BITS_WORDS; i++) dst[i] |= src[i];
}

static uint32_t *first_slot(follow_ctx *fc, uint32_t q) {
    if (!fc->first_of[q]) {
        if (fc->n_first == fc->cap_first) {
            size_t cap = fc->cap_first ? fc->cap_first * 2 : 64;
            uint32_t *f = realloc(fc->first, cap * BITS_WORDS * sizeof *f);
            if (!f) {
                fc->failed = true;
                return NULL;
            }
            fc->first = f;
            fc->cap_first = cap;
        }
        memset(fc->first + fc->n_first * BITS_WORDS, 0, BITS_WORDS * sizeof *fc->first);
        fc->first_of[q] = (uint32_t)++fc->n_first;
    }
    return fc->first + (size_t)(fc->first_of[q] - 1) * BITS_WORDS;
}

/* FIRST(q) into out (the bytes q's continuation within its rule, calls
 * included, may start with) and whether q can reach its rule's end without
 * a byte. A state met again while in progress counts as anything. */
static bool visit(follow_ctx *fc, uint32_t q, uint32_t *out, int depth) {
    const wg_grammar *g = fc->g;
    if (fc->mark[q] == 2) {
        or_into(out, fc->first + (size_t)(fc->first_of[q] - 1) * BITS_WORDS);
        return fc->nullable[q];
    }
    if (fc->mark[q] == 1 || depth > MAX_DEPTH) {
        set_all(out);
        return true;
    }
    fc->mark[q] = 1;
    uint32_t f[BITS_WORDS] = {0};
    const wg_state *st = &g->states[q];
    for (uint32_t i = 0; i < st->n_ranges; i++) {
        const wg_range *r = &g->ranges[st->range_off + i];
        set_range(f, r->lo, r->hi);
    }
    bool nul = st->final;
    for (uint32_t k = 0; k < st->n_refs && !fc->failed; k++) {
        const wg_refedge *e = &g->refs[st->ref_off + k];
        if (visit(fc, g->rules[e->rule].start, f, depth + 1) && visit(fc, e->target, f, depth + 1)) nul = true;
    }
    uint32_t *slot = first_slot(fc, q);
    if (!slot) return true;
    memcpy(slot, f, sizeof f);
    or_into(out, f);
    fc->nullable[q] = nul;
    fc->mark[q] = 2;
    return nul;
}

bool wg_compute_follow(wg_grammar *g) {
    size_t nr = g->n_rules, ns = g->n_states;
    follow_ctx fc = {.g = g};
    fc.mark = calloc(ns + 1, 1);
    fc.nullable = calloc(ns + 1, 1);
    fc.first_of = calloc(ns + 1, sizeof *fc.first_of);
    g->follow = calloc(nr * BITS_WORDS + 1, sizeof *g->follow);
    g->follow_end = calloc(nr + 1, 1);
    /* edges r -> R when a return site of r can reach R's end without a byte
     * (FOLLOW(r) includes FOLLOW(R)), stored reversed for the worklist */
    uint32_t *edge_from = malloc((g->n_rets + 1) * sizeof *edge_from), *edge_to = malloc((g->n_rets + 1) * sizeof *edge_to);
    uint32_t *rev_off = calloc(nr + 2, sizeof *rev_off), *rev = malloc((g->n_rets + 1) * sizeof *rev);
    uint32_t *work = malloc((nr + 1) * sizeof *work);
    uint8_t *queued = calloc(nr + 1, 1);
    bool ok = fc.mark && fc.nullable && fc.first_of && g->follow && g->follow_end && edge_from && edge_to && rev_off &&
              rev && work && queued;
    size_t n_edges = 0;
    for (uint32_t r = 0; ok && r < nr; r++) {
        const wg_crule *cr = &g->rules[r];
        uint32_t *fr = g->follow + (size_t)r * BITS_WORDS;
        for (uint32_t k = 0; k < cr->n_ret && !fc.failed; k++) {
            uint32_t t = g->rets[cr->ret_off + k];
            if (visit(&fc, t, fr, 0)) {
                edge_from[n_edges] = r;
                edge_to[n_edges++] = g->states[t].rule;
            }
        }
        if (r == g->root) g->follow_end[r] = 1;
    }
    ok = ok && !fc.failed;
    if (ok) {
        for (size_t i = 0; i < n_edges; i++) rev_off[edge_to[i] + 1]++;
        for (size_t r = 0; r < nr; r++) rev_off[r + 1] += rev_off[r];
        uint32_t *fill = work; /* borrowed as a cursor per rule */
        for (size_t r = 0; r < nr; r++) fill[r] = rev_off[r];
        for (size_t i = 0; i < n_edges; i++) rev[fill[edge_to[i]]++] = edge_from[i];
        /* propagate FOLLOW(R) and follow_end(R) to every r with r -> R */
        size_t n_work = 0;
        for (uint32_t r = 0; r < nr; r++) work[n_work++] = r, queued[r] = 1;
        while (n_work) {
            uint32_t R = work[--n_work];
            queued[R] = 0;
            const uint32_t *fR = g->follow + (size_t)R * BITS_WORDS;
            for (uint32_t i = rev_off[R]; i < rev_off[R + 1]; i++) {
                uint32_t r = rev[i];
                uint32_t *fr = g->follow + (size_t)r * BITS_WORDS;
                bool changed = g->follow_end[R] && !g->follow_end[r];
                if (g->follow_end[R]) g->follow_end[r] = 1;
                for (int w = 0; w < BITS_WORDS; w++)
                    if (fR[w] & ~fr[w]) fr[w] |= fR[w], changed = true;
                if (changed && !queued[r]) work[n_work++] = r, queued[r] = 1;
            }
        }
    }
    free(fc.mark);
    free(fc.nullable);
    free(fc.first_of);
    free(fc.first);
    free(edge_from);
    free(edge_to);
    free(rev_off);
    free(rev);
    free(work);
    free(queued);
    return ok;
}
