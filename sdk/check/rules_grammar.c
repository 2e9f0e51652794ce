/* Grammar rules (grammar.h), on random walks through the grammar over the
 * checker's vocabulary: the mask says exactly which tokens accept() takes,
 * a rejected token leaves the state as it was, end-of-generation is allowed
 * only where the grammar may end, and forks and rollbacks replay exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { WORDS = (CHK_VOCAB + 31) / 32, WALKS = 10, STEPS = 24 };

typedef struct gram {
    chk_instance *in;
    const weft_grammar_vtable *v;
    void *self;
} gram;

typedef struct mask {
    uint32_t w[WORDS];
} mask;

static bool bit(const mask *m, weft_token t) { return m->w[t / 32] >> (t % 32) & 1; }

static bool same_mask(const mask *a, const mask *b) { return !memcmp(a->w, b->w, sizeof a->w); }

static const char *text(weft_token t) {
    static char buf[32];
    const weft_vocab *v = chk_vocab();
    if (t == CHK_EOG) return "end-of-generation";
    snprintf(buf, sizeof buf, "\"%.*s\"", (int)v->len[t], v->bytes[t]);
    for (char *c = buf; *c; c++)
        if (*c == '\n') *c = '~';
    return buf;
}

static const char *msg(const gram *g) {
    const char *m = chk_instance_error(g->in);
    return *m ? m : "no message";
}

/* The grammar instance with the checker's vocabulary set. */
static bool open_gram(const chk_subject *s, gram *g, chk_result *r) {
    if (!(g->in = chk_open(s, r))) return false;
    g->v = s->desc->vtable;
    g->self = chk_inst(g->in)->self;
    weft_status st = g->v->set_vocab(g->self, chk_vocab());
    if (st != WEFT_OK) {
        chk_skip(r, "set_vocab() failed (%s, see grammar.vocab): %s", weft_status_name(st), msg(g));
        chk_instance_free(g->in);
        return false;
    }
    return true;
}

/* fill_mask twice over different garbage: every word must be written the
 * same way, and bits past the vocabulary must be clear. */
static bool get_mask(gram *g, const weft_grammar_state *st, mask *m, const char *where, chk_result *r) {
    mask a, b;
    memset(a.w, 0xa5, sizeof a.w);
    memset(b.w, 0x5a, sizeof b.w);
    weft_status s1 = g->v->fill_mask(g->self, st, a.w), s2 = g->v->fill_mask(g->self, st, b.w);
    if (s1 != WEFT_OK || s2 != WEFT_OK)
        return chk_fail(r, "%s: fill_mask() failed (%s): %s", where, weft_status_name(s1 ? s1 : s2), msg(g));
    for (int k = 0; k < WORDS; k++)
        if (a.w[k] != b.w[k]) return chk_fail(r, "%s: fill_mask() leaves word %d of the mask unwritten", where, k);
    if (CHK_VOCAB % 32 && a.w[WORDS - 1] >> (CHK_VOCAB % 32))
        return chk_fail(r, "%s: fill_mask() sets bits past the vocabulary (%d tokens)", where, CHK_VOCAB);
    *m = a;
    return true;
}

/* One step of a walk: a random allowed token, end-of-generation rarely
 * (it ends the walk). -1 when nothing is allowed. */
static weft_token pick(const mask *m, weft_rng *rng, bool allow_eog) {
    weft_token ok[CHK_VOCAB];
    uint32_t n = 0;
    for (weft_token t = 0; t < CHK_VOCAB; t++)
        if (bit(m, t) && t != CHK_EOG) ok[n++] = t;
    if (bit(m, CHK_EOG) && allow_eog && (!n || chk_below(rng, 4) == 0)) return CHK_EOG;
    return n ? ok[chk_below(rng, n)] : -1;
}

typedef enum gmode { G_MASK, G_EOG, G_ROLLBACK, G_FORK, G_JUMP } gmode;

/* The recorded walk: masks[i] before tokens[i]. */
typedef struct walk {
    mask masks[STEPS + 1];
    bool accepting[STEPS + 1];
    weft_token tokens[STEPS];
    size_t n;
} walk;

/* bit t <=> accept(fork, t) succeeds; a rejection is WEFT_ERR_INVALID and
 * changes nothing. */
static bool mask_agrees(gram *g, weft_grammar_state *st, const mask *m, const char *where, chk_result *r) {
    bool checked_unchanged = false;
    for (weft_token t = 0; t < CHK_VOCAB; t++) {
        weft_grammar_state *f = NULL;
        weft_status st_fork = g->v->state_fork(g->self, st, &f);
        if (st_fork != WEFT_OK || !f) return chk_fail(r, "%s: state_fork() failed: %s", where, msg(g));
        weft_status a = g->v->accept(g->self, f, t);
        g->v->state_free(g->self, f);
        if (a != WEFT_OK && a != WEFT_ERR_INVALID)
            return chk_fail(r, "%s: accept(%s) returned %s (a rejection is WEFT_ERR_INVALID)", where, text(t), weft_status_name(a));
        if (bit(m, t) != (a == WEFT_OK))
            return chk_fail(r, "%s: token %d %s is %s the mask, but accept() %s it", where, t, text(t),
                            bit(m, t) ? "in" : "not in", a == WEFT_OK ? "takes" : "rejects");
        if (a != WEFT_OK && !checked_unchanged) { /* once per step, on the state itself */
            checked_unchanged = true;
            mask after;
            if (g->v->accept(g->self, st, t) == WEFT_OK)
                return chk_fail(r, "%s: accept(%s) rejects on a fork but takes it on the original", where, text(t));
            if (!get_mask(g, st, &after, where, r)) return false;
            if (!same_mask(m, &after)) return chk_fail(r, "%s: rejecting %s changed the state", where, text(t));
        }
    }
    return true;
}

/* Forced bytes must fit every allowed token: one is a prefix of the other. */
static bool jump_ok(gram *g, weft_grammar_state *st, const mask *m, const char *where, chk_result *r) {
    char buf[256];
    size_t len = 0;
    weft_status s = g->v->jump_forward(g->self, st, buf, sizeof buf, &len);
    if (s != WEFT_OK) return chk_fail(r, "%s: jump_forward() failed (%s): %s", where, weft_status_name(s), msg(g));
    if (len > sizeof buf) return chk_fail(r, "%s: jump_forward() reports %zu bytes for a buffer of %zu", where, len, sizeof buf);
    const weft_vocab *v = chk_vocab();
    for (weft_token t = 0; t < CHK_VOCAB; t++) {
        size_t n = v->len[t] < len ? v->len[t] : len;
        if (t != CHK_EOG && bit(m, t) && memcmp(v->bytes[t], buf, n))
            return chk_fail(r, "%s: jump_forward() forces \"%.*s\" but the mask allows %s", where, (int)len, buf, text(t));
    }
    return true;
}

/* Checks the state against a recorded point of the walk. */
static bool at_point(gram *g, weft_grammar_state *st, const walk *w, size_t i, const char *where, chk_result *r) {
    mask m;
    if (!get_mask(g, st, &m, where, r)) return false;
    if (!same_mask(&m, &w->masks[i])) return chk_fail(r, "%s: the mask differs from the one first seen after %zu tokens", where, i);
    if (g->v->is_accepting(g->self, st) != w->accepting[i])
        return chk_fail(r, "%s: is_accepting() differs from the first time after %zu tokens", where, i);
    return true;
}

/* Re-accepts tokens [from, w->n) and checks every point on the way. */
static bool replay(gram *g, weft_grammar_state *st, const walk *w, size_t from, const char *what, chk_result *r) {
    char where[96];
    for (size_t i = from; i < w->n; i++) {
        snprintf(where, sizeof where, "%s, token %zu", what, i);
        if (g->v->accept(g->self, st, w->tokens[i]) != WEFT_OK)
            return chk_fail(r, "%s: replaying %s was rejected: %s", where, text(w->tokens[i]), msg(g));
        if (!at_point(g, st, w, i + 1, where, r)) return false;
    }
    return true;
}

static void run_walks(const chk_subject *s, gmode mode, chk_result *r) {
    if (mode == G_JUMP && !WEFT_HAS_METHOD((const weft_grammar_vtable *)s->desc->vtable, weft_grammar_vtable, jump_forward)) {
        chk_skip(r, "no jump_forward() (optional)");
        return;
    }
    gram g;
    if (!open_gram(s, &g, r)) return;
    weft_rng rng;
    weft_rng_seed(&rng, s->opt->seed * 257 + 9);
    walk *w = calloc(1, sizeof *w);
    size_t total = 0, n_accepting = 0;
    bool ok = w != NULL;
    if (!ok) chk_fail(r, "out of memory");
    for (int k = 0; ok && k < WALKS; k++) {
        weft_grammar_state *st = NULL;
        weft_status s0 = g.v->state_new(g.self, &st);
        if (s0 != WEFT_OK || !st) {
            ok = chk_fail(r, "state_new() failed (%s): %s", weft_status_name(s0), msg(&g));
            break;
        }
        w->n = 0;
        for (;;) {
            char where[64];
            snprintf(where, sizeof where, "walk %d after %zu tokens", k, w->n);
            mask *m = &w->masks[w->n];
            if (!(ok = get_mask(&g, st, m, where, r))) break;
            w->accepting[w->n] = g.v->is_accepting(g.self, st);
            n_accepting += w->accepting[w->n];
            if (mode == G_MASK && !(ok = mask_agrees(&g, st, m, where, r))) break;
            if (mode == G_EOG && bit(m, CHK_EOG) && !w->accepting[w->n]) {
                ok = chk_fail(r, "%s: end-of-generation is allowed where the grammar cannot end (is_accepting is false)", where);
                break;
            }
            if (mode == G_JUMP && !(ok = jump_ok(&g, st, m, where, r))) break;
            weft_token t = w->n < STEPS ? pick(m, &rng, mode != G_ROLLBACK && mode != G_FORK) : -1;
            if (t < 0) break;
            if (g.v->accept(g.self, st, t) != WEFT_OK) {
                chk_skip(r, "%s: the mask and accept() disagree on %s (see grammar.mask-accept)", where, text(t));
                ok = false;
                break;
            }
            total++;
            if (t == CHK_EOG) break;
            w->tokens[w->n++] = t;
        }
        if (ok && mode == G_ROLLBACK && w->n) {
            /* undo a random number of tokens, then replay them */
            for (int rep = 0; ok && rep < 3; rep++) {
                size_t back = 1 + chk_below(&rng, (uint32_t)w->n);
                char where[64];
                snprintf(where, sizeof where, "walk %d, rollback(%zu) of %zu tokens", k, back, w->n);
                weft_status sr = g.v->rollback(g.self, st, back);
                if (sr != WEFT_OK) ok = chk_fail(r, "%s: failed (%s): %s", where, weft_status_name(sr), msg(&g));
                else ok = at_point(&g, st, w, w->n - back, where, r) && replay(&g, st, w, w->n - back, where, r);
            }
        }
        if (ok && mode == G_FORK && w->n) {
            /* a fork taken earlier is untouched by the original going on */
            size_t at = chk_below(&rng, (uint32_t)w->n);
            weft_grammar_state *f = NULL;
            char where[64];
            snprintf(where, sizeof where, "walk %d, fork after %zu of %zu tokens", k, at, w->n);
            if (g.v->rollback(g.self, st, w->n - at) != WEFT_OK || g.v->state_fork(g.self, st, &f) != WEFT_OK || !f)
                ok = chk_fail(r, "%s: rollback or state_fork failed: %s", where, msg(&g));
            else {
                ok = replay(&g, st, w, at, where, r) && at_point(&g, f, w, at, where, r) && replay(&g, f, w, at, where, r);
                g.v->state_free(g.self, f);
                if (ok) ok = at_point(&g, st, w, w->n, "after freeing the fork", r);
            }
        }
        g.v->state_free(g.self, st);
    }
    if (ok) chk_pass(r, "%d walks, %zu tokens accepted, %zu accepting points", WALKS, total, n_accepting);
    free(w);
    chk_instance_free(g.in);
}

static void rule_vocab(const chk_subject *s, chk_result *r) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    const weft_grammar_vtable *v = s->desc->vtable;
    void *self = chk_inst(in)->self;
    weft_grammar_state *st = NULL;
    weft_status st_v = v->set_vocab(self, chk_vocab()), st_n = WEFT_OK;
    if (st_v != WEFT_OK)
        chk_fail(r, "set_vocab() failed on a %d-token vocabulary (%s): %s", CHK_VOCAB, weft_status_name(st_v),
                 chk_instance_error(in));
    else if ((st_n = v->state_new(self, &st)) != WEFT_OK || !st)
        chk_fail(r, "state_new() failed (%s): %s", weft_status_name(st_n), chk_instance_error(in));
    else chk_pass(r, "set_vocab() and state_new() on %d tokens", CHK_VOCAB);
    if (st) v->state_free(self, st);
    chk_instance_free(in);
}

static void rule_mask(const chk_subject *s, chk_result *r) { run_walks(s, G_MASK, r); }
static void rule_eog(const chk_subject *s, chk_result *r) { run_walks(s, G_EOG, r); }
static void rule_rollback(const chk_subject *s, chk_result *r) { run_walks(s, G_ROLLBACK, r); }
static void rule_fork(const chk_subject *s, chk_result *r) { run_walks(s, G_FORK, r); }
static void rule_jump(const chk_subject *s, chk_result *r) { run_walks(s, G_JUMP, r); }

const chk_rule chk_grammar_rules[] = {
    {"grammar.vocab", rule_vocab},
    {"grammar.mask-accept", rule_mask},
    {"grammar.eog", rule_eog},
    {"grammar.rollback", rule_rollback},
    {"grammar.fork", rule_fork},
    {"grammar.jump-forward", rule_jump},
};
const size_t chk_n_grammar_rules = sizeof chk_grammar_rules / sizeof chk_grammar_rules[0];
