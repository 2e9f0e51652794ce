/* Drafter rules (drafter.h): over a simulated decoding session on random,
 * repetitive histories (so that n-gram drafters find matches), every tree is
 * well formed within the step's budget, reported draft distributions are
 * distributions that the drafted tokens could come from, and observe()
 * accepts the outcome of each step. The budget varies per step, down to
 * max_nodes 0 and max_depth 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { CAP = 64, STEPS = 24, MAX_HISTORY = 1024 };

typedef enum dmode { D_TREE, D_PROBS, D_OBSERVE } dmode;

typedef struct session {
    const chk_subject *s;
    chk_instance *in;
    chk_instance *target; /* --model backend, or NULL */
    int32_t n_vocab;
    chk_pattern text; /* what the "target" keeps saying */
    weft_token history[MAX_HISTORY];
    size_t n_history, n_prompt;
    weft_token tokens[CAP];
    int32_t parents[CAP];
    uint32_t flags[CAP];
    float draft_p[CAP];
    weft_dist dists[CAP + 1];
    weft_tree tree;
    int32_t depth[CAP];
    size_t n_nonempty, max_nodes_seen, n_dists;
} session;

static const weft_drafter_vtable *vt(const session *ss) { return ss->s->desc->vtable; }

static const char *msg(const session *ss) {
    const char *m = chk_instance_error(ss->in);
    return *m ? m : "no message";
}

/* The core's own checks (core/decode.c), plus flags and draft_p ranges. */
static bool well_formed(session *ss, const weft_draft_ctx *dc, size_t step, chk_result *r) {
    const weft_tree *t = &ss->tree;
    bool aux_ok = ss->s->desc->flags & WEFT_CAP_AUX_ROWS;
    if (t->n_nodes > dc->max_nodes)
        return chk_fail(r, "step %zu: %zu nodes, more than max_nodes %zu", step, t->n_nodes, dc->max_nodes);
    for (size_t i = 0; i < t->n_nodes; i++) {
        int32_t p = t->parents[i];
        if (t->tokens[i] < 0 || t->tokens[i] >= ss->n_vocab)
            return chk_fail(r, "step %zu: node %zu has token %d outside [0, %d)", step, i, t->tokens[i], ss->n_vocab);
        if (p < -1 || p >= (int32_t)i)
            return chk_fail(r, "step %zu: node %zu has parent %d (parents must precede their children)", step, i, p);
        if (t->flags[i] & ~WEFT_NODE_AUX)
            return chk_fail(r, "step %zu: node %zu has unknown flags 0x%x", step, i, t->flags[i]);
        if ((t->flags[i] & WEFT_NODE_AUX) && !aux_ok)
            return chk_fail(r, "step %zu: node %zu is auxiliary but the drafter does not claim aux-rows", step, i);
        if (p >= 0 && (t->flags[p] & WEFT_NODE_AUX) && !(t->flags[i] & WEFT_NODE_AUX))
            return chk_fail(r, "step %zu: draft node %zu hangs below auxiliary node %d", step, i, p);
        ss->depth[i] = p < 0 ? 1 : ss->depth[p] + 1;
        if ((size_t)ss->depth[i] > dc->max_depth)
            return chk_fail(r, "step %zu: node %zu is at depth %d, deeper than max_depth %zu", step, i, ss->depth[i],
                            dc->max_depth);
        float q = t->draft_p[i];
        if (!isnan(q) && !(q >= 0 && q <= 1))
            return chk_fail(r, "step %zu: node %zu has draft_p %g (NaN or a probability)", step, i, q);
    }
    return true;
}

/* Each reported distribution is one, and the tokens under it could have
 * been drawn from it (q > 0, draft_p = q). */
static bool probs_ok(session *ss, size_t step, chk_result *r) {
    const weft_tree *t = &ss->tree;
    for (size_t pos = 0; pos <= t->n_nodes; pos++) {
        const weft_dist *d = &ss->dists[pos];
        if (d->size == 0) continue;
        ss->n_dists++;
        if (!d->data) return chk_fail(r, "step %zu: position %zu has a distribution of %zu entries and no data", step, pos, d->size);
        double sum = 0;
        for (size_t k = 0; k < d->size; k++) {
            const weft_candidate *c = &d->data[k];
            if (c->id < 0 || c->id >= ss->n_vocab || !(c->p >= 0) || !isfinite(c->p))
                return chk_fail(r, "step %zu: position %zu: entry %zu is token %d with p %g", step, pos, k, c->id, c->p);
            for (size_t j = 0; j < k && d->size <= 4096; j++)
                if (d->data[j].id == c->id) return chk_fail(r, "step %zu: position %zu lists token %d twice", step, pos, c->id);
            sum += c->p;
        }
        if (fabs(sum - 1) > 1e-3) return chk_fail(r, "step %zu: the distribution at position %zu sums to %g", step, pos, sum);
    }
    for (size_t i = 0; i < t->n_nodes; i++) {
        const weft_dist *d = &ss->dists[t->parents[i] + 1];
        if ((t->flags[i] & WEFT_NODE_AUX) || d->size == 0) continue;
        double q = 0;
        for (size_t k = 0; k < d->size; k++)
            if (d->data[k].id == t->tokens[i]) q += d->data[k].p;
        if (q <= 0)
            return chk_fail(r, "step %zu: node %zu (token %d) has q = 0 in the distribution it was drawn from", step, i,
                            t->tokens[i]);
        if (!isnan(t->draft_p[i]) && fabs(t->draft_p[i] - q) > 1e-3 + 1e-3 * q)
            return chk_fail(r, "step %zu: node %zu has draft_p %g but q(token) = %g", step, i, t->draft_p[i], q);
    }
    return true;
}

/* What the core would report after verifying: a random accepted prefix of a
 * random path, the text's next token, random target distributions and
 * logits. */
static weft_status observe(session *ss, weft_rng *rng) {
    const weft_tree *t = &ss->tree;
    size_t npos = t->n_nodes + 1;
    int32_t accepted[CAP];
    size_t n_acc = 0;
    for (int32_t node = -1;;) {
        int32_t kids[CAP], nk = 0;
        for (size_t i = 0; i < t->n_nodes; i++)
            if (t->parents[i] == node && !(t->flags[i] & WEFT_NODE_AUX)) kids[nk++] = (int32_t)i;
        if (!nk || chk_below(rng, 10) < 3) break;
        node = accepted[n_acc++] = kids[chk_below(rng, (uint32_t)nk)];
    }
    weft_token next = chk_pattern_at(rng, &ss->text, ss->n_history + n_acc);
    weft_dist *target = calloc(npos, sizeof *target);
    weft_candidate *cands = calloc(npos * 4, sizeof *cands);
    float *logits = malloc(npos * (size_t)ss->n_vocab * sizeof *logits);
    weft_status st = WEFT_ERR_NOMEM;
    if (target && cands && logits) {
        for (size_t pos = 0; pos < npos; pos++) {
            if (pos && (t->flags[pos - 1] & WEFT_NODE_AUX)) continue; /* aux positions: size 0 */
            chk_random_dist(rng, ss->n_vocab, 4, cands + 4 * pos);
            target[pos] = (weft_dist){.data = cands + 4 * pos, .size = 4};
        }
        for (size_t k = 0; k < npos * (size_t)ss->n_vocab; k++) logits[k] = (float)chk_normal(rng);
        for (size_t k = 0; k < n_acc; k++) ss->history[ss->n_history++] = t->tokens[accepted[k]];
        ss->history[ss->n_history++] = next;
        weft_observe obs = {.struct_size = sizeof obs, .tree = t, .accepted = accepted, .n_accepted = n_acc,
                            .next = next, .target = target, .logits = logits, .n_vocab = ss->n_vocab,
                            .history = ss->history, .n_history = ss->n_history, .eval_seconds = 1e-3,
                            .draft_seconds = 1e-4};
        st = vt(ss)->observe(chk_inst(ss->in)->self, &obs);
    }
    free(target);
    free(cands);
    free(logits);
    return st;
}

/* A drafter built on nested drafters passes their distributions on, so its
 * draft-probs claim holds only when theirs does. */
static bool nests_drafters(const weft_component_desc *d) {
    for (size_t i = 0; i < d->n_params; i++)
        if ((d->params[i].type == WEFT_TYPE_COMPONENT || d->params[i].type == WEFT_TYPE_COMPONENT_LIST) &&
            d->params[i].nested_kind == WEFT_KIND_DRAFTER)
            return true;
    return false;
}

/* Runs the session, judging what `mode` names; the other properties only
 * stop it (SKIP) when it cannot go on. */
static void run_session(const chk_subject *s, dmode mode, chk_result *r) {
    bool has_observe = WEFT_HAS_METHOD((const weft_drafter_vtable *)s->desc->vtable, weft_drafter_vtable, observe);
    if (mode == D_OBSERVE && !has_observe) {
        chk_skip(r, "no observe() (optional)");
        return;
    }
    session *ss = calloc(1, sizeof *ss);
    if (!ss) {
        chk_fail(r, "out of memory");
        return;
    }
    ss->s = s;
    if (!(ss->in = chk_open(s, r))) {
        free(ss);
        return;
    }
    char why[256];
    ss->target = chk_backend_new(s, why, sizeof why);
    ss->n_vocab = ss->target ? ((const weft_backend_vtable *)chk_inst(ss->target)->desc->vtable)
                                   ->info(chk_inst(ss->target)->self)->n_vocab
                             : CHK_VOCAB;
    weft_rng rng;
    weft_rng_seed(&rng, s->opt->seed * 7919u + 11);
    ss->n_prompt = ss->n_history = 16 + chk_below(&rng, 48);
    chk_pattern_new(&rng, ss->n_vocab, &ss->text);
    for (size_t i = 0; i < ss->n_history; i++) ss->history[i] = chk_pattern_at(&rng, &ss->text, i);
    ss->tree = (weft_tree){.struct_size = sizeof ss->tree, .capacity = CAP, .tokens = ss->tokens,
                           .parents = ss->parents, .flags = ss->flags, .draft_p = ss->draft_p,
                           .draft_dists = ss->dists};
    weft_status st = WEFT_OK;
    if (WEFT_HAS_METHOD(vt(ss), weft_drafter_vtable, start))
        st = vt(ss)->start(chk_inst(ss->in)->self, ss->history, ss->n_history);
    static const size_t budgets[][2] = {{CAP, 16}, {16, 8}, {4, 2}, {1, 1}, {0, 16}, {CAP, 3}, {8, 64}};
    size_t step = 0;
    bool ok = true;
    if (st != WEFT_OK) ok = chk_fail(r, "start() failed (%s): %s", weft_status_name(st), msg(ss));
    for (; ok && step < STEPS && ss->n_history + CAP + 1 < MAX_HISTORY; step++) {
        const size_t *b = budgets[step % (sizeof budgets / sizeof budgets[0])];
        weft_draft_ctx dc = {.struct_size = sizeof dc, .history = ss->history, .n_history = ss->n_history,
                             .n_prompt = ss->n_prompt, .max_nodes = b[0], .max_depth = b[1],
                             .n_vocab = ss->n_vocab, .target = ss->target ? chk_inst(ss->target) : NULL,
                             .rng = &rng};
        ss->tree.n_nodes = 0;
        for (size_t i = 0; i < CAP; i++) ss->draft_p[i] = NAN, ss->flags[i] = 0;
        memset(ss->dists, 0, sizeof ss->dists);
        chk_instance_clear_error(ss->in);
        st = vt(ss)->draft(chk_inst(ss->in)->self, &dc, &ss->tree);
        if (st != WEFT_OK) {
            if (!ss->target) chk_skip(r, "draft() failed without a target backend (pass --model): %s", msg(ss));
            else chk_fail(r, "step %zu: draft() failed (%s): %s", step, weft_status_name(st), msg(ss));
            ok = false;
            break;
        }
        chk_result tr;
        if (!well_formed(ss, &dc, step, &tr)) {
            if (mode == D_TREE) *r = tr;
            else chk_skip(r, "a malformed tree stops the session (see drafter.tree)");
            ok = false;
            break;
        }
        if (mode == D_PROBS && !probs_ok(ss, step, r)) {
            ok = false;
            break;
        }
        ss->n_nonempty += ss->tree.n_nodes > 0;
        if (ss->tree.n_nodes > ss->max_nodes_seen) ss->max_nodes_seen = ss->tree.n_nodes;
        if (has_observe && (st = observe(ss, &rng)) != WEFT_OK) {
            if (mode == D_OBSERVE) chk_fail(r, "step %zu: observe() failed (%s): %s", step, weft_status_name(st), msg(ss));
            else chk_skip(r, "observe() failed (see drafter.observe)");
            ok = false;
            break;
        }
        if (!has_observe) { /* still move the text on */
            ss->history[ss->n_history] = chk_pattern_at(&rng, &ss->text, ss->n_history);
            ss->n_history++;
        }
    }
    if (ok && mode == D_PROBS && (s->desc->flags & WEFT_CAP_DRAFT_PROBS) && ss->n_nonempty && !ss->n_dists &&
        !nests_drafters(s->desc))
        ok = chk_fail(r, "claims draft-probs but reported no draft distribution in %zu non-empty drafts", ss->n_nonempty);
    if (ok && mode == D_PROBS)
        chk_pass(r, "%zu draft distributions in %zu non-empty trees", ss->n_dists, ss->n_nonempty);
    else if (ok)
        chk_pass(r, "%zu steps, %zu non-empty trees (up to %zu nodes)%s", step, ss->n_nonempty, ss->max_nodes_seen,
                 ss->target ? ", with the target backend" : "");
    chk_instance_free(ss->target);
    chk_instance_free(ss->in);
    free(ss);
}

static void rule_tree(const chk_subject *s, chk_result *r) { run_session(s, D_TREE, r); }
static void rule_probs(const chk_subject *s, chk_result *r) { run_session(s, D_PROBS, r); }
static void rule_observe(const chk_subject *s, chk_result *r) { run_session(s, D_OBSERVE, r); }

const chk_rule chk_drafter_rules[] = {
    {"drafter.tree", rule_tree},
    {"drafter.draft-probs", rule_probs},
    {"drafter.observe", rule_observe},
};
const size_t chk_n_drafter_rules = sizeof chk_drafter_rules / sizeof chk_drafter_rules[0];
