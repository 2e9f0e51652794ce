/* Sampler rules (sampler.h): apply() keeps a normalisable, finite subset of
 * what it was given, is a pure function of (state, ctx, candidates), and
 * clone()/reset() behave. Inputs are random candidate sets (the full
 * vocabulary in id order, shuffled subsets, sorted subsets, masked entries,
 * logit scales from 0.1 to 30) under random histories, plus extreme
 * values. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <weft/sdk.h>

#include "check.h"

enum { N_CASES = 160, N_HISTORY = 48 };

typedef struct scase {
    weft_candidate in[CHK_VOCAB];
    size_t n;
    bool sorted;
    weft_token history[N_HISTORY];
    size_t n_history, n_prompt, depth;
    uint64_t rng_seed;
} scase;

typedef struct sout {
    weft_candidate c[CHK_VOCAB];
    size_t n;
    bool sorted;
} sout;

static int by_logit_desc(const void *a, const void *b) {
    float x = ((const weft_candidate *)a)->logit, y = ((const weft_candidate *)b)->logit;
    return (x < y) - (x > y);
}

static void random_case(const chk_subject *s, size_t i, scase *c) {
    weft_rng rng;
    weft_rng_seed(&rng, s->opt->seed * 1000003u + i);
    static const double scales[] = {0.1, 1, 5, 30};
    double scale = scales[i % 4];
    int shape = (int)(i % 3); /* full in id order, shuffled subset, sorted subset */
    c->n = shape == 0 ? CHK_VOCAB : 1 + chk_below(&rng, CHK_VOCAB);
    weft_token ids[CHK_VOCAB];
    for (int t = 0; t < CHK_VOCAB; t++) ids[t] = t;
    if (shape) /* a random subset: the front of a shuffle */
        for (int t = CHK_VOCAB - 1; t > 0; t--) {
            uint32_t j = chk_below(&rng, (uint32_t)t + 1);
            weft_token x = ids[t];
            ids[t] = ids[j], ids[j] = x;
        }
    for (size_t k = 0; k < c->n; k++)
        c->in[k] = (weft_candidate){.id = ids[k], .logit = (float)(scale * chk_normal(&rng))};
    if (i % 5 == 0) /* masked out, as a grammar leaves them; one stays finite */
        for (size_t k = 1; k < c->n; k++)
            if (chk_below(&rng, 3) == 0) c->in[k].logit = -INFINITY;
    c->sorted = shape == 2;
    if (c->sorted) qsort(c->in, c->n, sizeof *c->in, by_logit_desc);
    c->n_history = 1 + chk_below(&rng, N_HISTORY);
    chk_history(&rng, CHK_VOCAB, c->history, c->n_history);
    c->n_prompt = 1 + chk_below(&rng, (uint32_t)c->n_history);
    c->depth = chk_below(&rng, (uint32_t)(c->n_history - c->n_prompt + 1));
    c->rng_seed = weft_rng_next(&rng);
}

/* Extreme inputs (six candidates, at least one finite logit). */
static const float extremes[][6] = {
    {-INFINITY, 1e30f, 0, -1e30f, -INFINITY, 1},
    {2, 2, 2, 2, 2, 2},
    {1e30f, 1e30f, -INFINITY, 1e30f, -1e30f, -1e30f},
    {FLT_MAX, -FLT_MAX, 0, FLT_MAX, -FLT_MAX, 1},
    {-1e30f, -1e30f, -1e30f, -1e30f, -1e30f, -1e30f},
    {1e-30f, -1e-30f, 0, 0, 1e-30f, -0.0f},
    {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -FLT_MAX},
    {88.8f, -88.8f, 200, -200, 1e4f, -1e4f},
};
enum { N_EXTREMES = sizeof extremes / sizeof extremes[0] };

static void extreme_case(size_t i, scase *c) {
    memset(c, 0, sizeof *c);
    c->n = 6;
    for (size_t k = 0; k < 6; k++) c->in[k] = (weft_candidate){.id = (weft_token)k, .logit = extremes[i][k]};
    c->history[0] = 2;
    c->n_history = c->n_prompt = 1;
    c->rng_seed = 7;
}

/* Runs apply() of `self` on a copy of the case's candidates. */
static weft_status apply(const weft_sampler_vtable *v, void *self, const scase *c, sout *o) {
    weft_rng rng;
    weft_rng_seed(&rng, c->rng_seed);
    weft_sampler_ctx ctx = {.struct_size = sizeof ctx, .history = c->history, .n_history = c->n_history,
                            .n_prompt = c->n_prompt, .depth = c->depth, .n_vocab = CHK_VOCAB, .rng = &rng,
                            .vocab = chk_vocab(), .backend = NULL};
    memcpy(o->c, c->in, c->n * sizeof *c->in);
    weft_candidates cands = {.struct_size = sizeof cands, .data = o->c, .size = c->n, .sorted = c->sorted};
    weft_status st = v->apply(self, &ctx, &cands);
    o->n = cands.size;
    o->sorted = cands.sorted;
    return st;
}

static const weft_sampler_vtable *vt(const chk_subject *s) { return s->desc->vtable; }

/* Case k of the whole input set: the random cases, then the extremes. */
static void get_case(const chk_subject *s, size_t k, scase *c) {
    if (k < N_CASES) random_case(s, k, c);
    else extreme_case(k - N_CASES, c);
}

/* What the core needs to turn the set into a distribution: no NaN or +inf,
 * and a finite maximum. A sampler may drop candidates, even every drawable
 * one (a ban list may have to), but a token it keeps must not lose a finite
 * logit to arithmetic: that is breakage, not a decision. *emptied counts the
 * inputs left with nothing drawable by dropping. */
static bool normalisable(const scase *c, const sout *o, size_t k, size_t *emptied, chk_result *r) {
    float mx = -INFINITY;
    for (size_t i = 0; i < o->n; i++) {
        float l = o->c[i].logit;
        if (isnan(l) || l == INFINITY) return chk_fail(r, "input %zu: token %d has logit %g", k, o->c[i].id, l);
        if (l > mx) mx = l;
    }
    if (mx == -INFINITY) {
        for (size_t i = 0; i < o->n; i++)
            for (size_t j = 0; j < c->n; j++)
                if (c->in[j].id == o->c[i].id && isfinite(c->in[j].logit))
                    return chk_fail(r, "input %zu: every kept token has logit -inf, though token %d came in with %g (nothing can be drawn)",
                                    k, o->c[i].id, c->in[j].logit);
        (*emptied)++;
        return true;
    }
    weft_candidate tmp[CHK_VOCAB];
    memcpy(tmp, o->c, o->n * sizeof *tmp);
    weft_candidates cs = {.struct_size = sizeof cs, .data = tmp, .size = o->n};
    weft_cands_softmax(&cs); /* as the core does after the chain */
    double sum = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (!isfinite(tmp[i].p)) return chk_fail(r, "input %zu: token %d gets p = %g", k, tmp[i].id, tmp[i].p);
        sum += tmp[i].p;
    }
    if (fabs(sum - 1) > 1e-4) return chk_fail(r, "input %zu: p sums to %.6f after softmax", k, sum);
    return true;
}

/* Never grows the set, never invents or repeats a token, `sorted` true. */
static bool subset(const scase *c, const sout *o, size_t k, chk_result *r) {
    if (o->n > c->n) return chk_fail(r, "input %zu: the set grew from %zu to %zu candidates", k, c->n, o->n);
    bool seen[CHK_VOCAB] = {false}, given[CHK_VOCAB] = {false};
    for (size_t i = 0; i < c->n; i++) given[c->in[i].id] = true;
    for (size_t i = 0; i < o->n; i++) {
        weft_token t = o->c[i].id;
        if (t < 0 || t >= CHK_VOCAB || !given[t]) return chk_fail(r, "input %zu: token %d was not in the input", k, t);
        if (seen[t]) return chk_fail(r, "input %zu: token %d appears twice", k, t);
        seen[t] = true;
        if (o->sorted && i && o->c[i].logit > o->c[i - 1].logit)
            return chk_fail(r, "input %zu: `sorted` is set but logits rise at index %zu", k, i);
    }
    return true;
}

static bool same(const sout *a, const sout *b) {
    if (a->n != b->n || a->sorted != b->sorted) return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->c[i].id != b->c[i].id || memcmp(&a->c[i].logit, &b->c[i].logit, sizeof(float))) return false;
    return true;
}

static bool applied(const chk_instance *in, weft_status st, size_t k, chk_result *r) {
    if (st == WEFT_OK) return true;
    return chk_fail(r, "input %zu: apply() failed (%s): %s", k, weft_status_name(st),
                    chk_instance_error(in)[0] ? chk_instance_error(in) : "no message");
}

/* Runs `check` on every input, committing a token now and then when the
 * sampler keeps state, so that state changes are covered too. */
static void over_inputs(const chk_subject *s, chk_result *r, size_t first, size_t count,
                        bool (*check)(const scase *, const sout *, size_t, size_t *, chk_result *)) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    weft_instance *w = chk_inst(in);
    bool accepts = WEFT_HAS_METHOD(vt(s), weft_sampler_vtable, accept);
    size_t k = first, emptied = 0;
    for (; k < first + count; k++) {
        scase c;
        sout o;
        get_case(s, k, &c);
        if (!applied(in, apply(vt(s), w->self, &c, &o), k, r) || !check(&c, &o, k, &emptied, r)) break;
        if (accepts && k % 4 == 3 && o.n) vt(s)->accept(w->self, o.c[0].id);
    }
    if (k == first + count)
        chk_pass(r, "%zu inputs%s%s", count, accepts ? ", state advanced by accept()" : "",
                 emptied ? ", some left nothing drawable by dropping tokens (allowed)" : "");
    chk_instance_free(in);
}

static bool check_finite(const scase *c, const sout *o, size_t k, size_t *emptied, chk_result *r) {
    return normalisable(c, o, k, emptied, r);
}

static bool check_subset(const scase *c, const sout *o, size_t k, size_t *emptied, chk_result *r) {
    (void)emptied;
    return subset(c, o, k, r);
}

static void rule_finite(const chk_subject *s, chk_result *r) { over_inputs(s, r, 0, N_CASES, check_finite); }

static void rule_extremes(const chk_subject *s, chk_result *r) { over_inputs(s, r, N_CASES, N_EXTREMES, check_finite); }

static void rule_subset(const chk_subject *s, chk_result *r) {
    over_inputs(s, r, 0, N_CASES + N_EXTREMES, check_subset);
}

/* The core calls apply() at every draft-tree node: the same state, context
 * and candidates must give the same result. */
static void rule_pure(const chk_subject *s, chk_result *r) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    void *self = chk_inst(in)->self;
    size_t k = 0;
    for (; k < N_CASES + N_EXTREMES; k++) {
        scase c;
        sout a, b;
        get_case(s, k, &c);
        if (!applied(in, apply(vt(s), self, &c, &a), k, r) || !applied(in, apply(vt(s), self, &c, &b), k, r)) break;
        if (!same(&a, &b)) {
            chk_fail(r, "input %zu: two calls with the same state and inputs differ (%zu vs %zu candidates)", k, a.n, b.n);
            break;
        }
    }
    if (k == N_CASES + N_EXTREMES) chk_pass(r, "%zu inputs applied twice", k);
    chk_instance_free(in);
}

/* Commits a few history tokens through accept(), if there is one. */
static void advance(const chk_subject *s, void *self, uint64_t salt) {
    if (!WEFT_HAS_METHOD(vt(s), weft_sampler_vtable, accept)) return;
    weft_rng rng;
    weft_rng_seed(&rng, s->opt->seed + salt);
    for (int i = 0; i < 5; i++) vt(s)->accept(self, 2 + (weft_token)chk_below(&rng, CHK_VOCAB - 2));
}

/* Both give the same output on the first n inputs. */
static bool agree(const chk_subject *s, chk_instance *in, void *x, void *y, size_t n, const char *what, chk_result *r) {
    for (size_t k = 0; k < n; k++) {
        scase c;
        sout a, b;
        get_case(s, k, &c);
        if (!applied(in, apply(vt(s), x, &c, &a), k, r) || !applied(in, apply(vt(s), y, &c, &b), k, r)) return false;
        if (!same(&a, &b)) return chk_fail(r, "input %zu: %s", k, what);
    }
    return true;
}

static void rule_clone(const chk_subject *s, chk_result *r) {
    if (!WEFT_HAS_METHOD(vt(s), weft_sampler_vtable, clone)) {
        chk_skip(r, "no clone() (optional)");
        return;
    }
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    void *self = chk_inst(in)->self, *copy = NULL;
    advance(s, self, 1);
    sout before;
    scase c0;
    get_case(s, 0, &c0);
    weft_status st = vt(s)->clone(self, &copy);
    if (st != WEFT_OK || !copy)
        chk_fail(r, "clone() failed (%s): %s", weft_status_name(st), chk_instance_error(in));
    else if (agree(s, in, self, copy, 40, "the clone's output differs from the original's", r) &&
             applied(in, apply(vt(s), self, &c0, &before), 0, r)) {
        advance(s, copy, 2); /* the clone moves on and goes; the original must not notice */
        s->desc->destroy(copy);
        copy = NULL;
        sout after;
        if (applied(in, apply(vt(s), self, &c0, &after), 0, r)) {
            if (!same(&before, &after)) chk_fail(r, "changing and destroying the clone changed the original");
            else chk_pass(r, "the clone agrees on 40 inputs and is independent");
        }
    }
    if (copy) s->desc->destroy(copy);
    chk_instance_free(in);
}

static void rule_reset(const chk_subject *s, chk_result *r) {
    if (!WEFT_HAS_METHOD(vt(s), weft_sampler_vtable, reset)) {
        chk_skip(r, "no reset() (optional)");
        return;
    }
    chk_instance *used = chk_open(s, r), *fresh = used ? chk_open(s, r) : NULL;
    if (fresh) {
        advance(s, chk_inst(used)->self, 3);
        vt(s)->reset(chk_inst(used)->self);
        if (agree(s, used, chk_inst(used)->self, chk_inst(fresh)->self, 40,
                  "after reset() the output differs from a fresh instance's", r))
            chk_pass(r, "a reset instance agrees with a fresh one on 40 inputs");
    }
    chk_instance_free(fresh);
    chk_instance_free(used);
}

const chk_rule chk_sampler_rules[] = {
    {"sampler.finite", rule_finite},
    {"sampler.extremes", rule_extremes},
    {"sampler.subset", rule_subset},
    {"sampler.pure", rule_pure},
    {"sampler.clone", rule_clone},
    {"sampler.reset", rule_reset},
};
const size_t chk_n_sampler_rules = sizeof chk_sampler_rules / sizeof chk_sampler_rules[0];
