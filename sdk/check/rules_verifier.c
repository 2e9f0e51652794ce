/* Verifier rules (verifier.h): the result is a root-to-node path of the tree
 * and a next token the target allows; a verifier that claims
 * WEFT_CAP_LOSSLESS or _LOSSLESS_GREEDY commits exactly what the target
 * would (one-hot targets); one claiming WEFT_CAP_LOSSLESS
 * and, under random targets and drafts, commits tokens with the target's
 * distribution (chi-square test). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "stats.h"

enum { MAXN = 16 };

typedef struct vtree {
    weft_tree t;
    weft_token tokens[MAXN];
    int32_t parents[MAXN];
    uint32_t flags[MAXN];
    float draft_p[MAXN];
    weft_dist dists[MAXN + 1];
    weft_dist target[MAXN + 1];
    weft_candidate store[MAXN + 1][2][CHK_VOCAB]; /* [position][target, draft] */
} vtree;

static void vtree_init(vtree *v) {
    memset(&v->t, 0, sizeof v->t);
    v->t = (weft_tree){.struct_size = sizeof v->t, .capacity = MAXN, .tokens = v->tokens, .parents = v->parents,
                       .flags = v->flags, .draft_p = v->draft_p, .draft_dists = v->dists};
    for (size_t i = 0; i <= MAXN; i++) v->dists[i] = v->target[i] = (weft_dist){0};
}

static int32_t vtree_add(vtree *v, int32_t parent, weft_token tok, float q) {
    size_t i = v->t.n_nodes++;
    v->tokens[i] = tok;
    v->parents[i] = parent;
    v->flags[i] = 0;
    v->draft_p[i] = q;
    return (int32_t)i;
}

static bool has_child_token(const vtree *v, int32_t parent, weft_token tok) {
    for (size_t i = 0; i < v->t.n_nodes; i++)
        if (v->parents[i] == parent && v->tokens[i] == tok) return true;
    return false;
}

static double prob(const weft_dist *d, weft_token t) {
    double p = 0;
    for (size_t i = 0; i < d->size; i++)
        if (d->data[i].id == t) p += d->data[i].p;
    return p;
}

static weft_status run_verify(chk_instance *in, const vtree *v, weft_rng *rng, int32_t *accepted, weft_verify_result *res) {
    weft_instance *w = chk_inst(in);
    weft_verify_ctx ctx = {.struct_size = sizeof ctx, .tree = &v->t, .target = v->target, .rng = rng};
    *res = (weft_verify_result){.struct_size = sizeof *res, .accepted = accepted, .n_accepted = 0, .next = -1};
    chk_instance_clear_error(in);
    return ((const weft_verifier_vtable *)w->desc->vtable)->verify(w->self, &ctx, res);
}

/* The result is a path from the root down the tree, and the next token has
 * p > 0 in the target where the path ends. */
static bool result_ok(const vtree *v, const weft_verify_result *res, size_t k, chk_result *r) {
    if (res->n_accepted > v->t.n_nodes)
        return chk_fail(r, "case %zu: %zu accepted nodes in a tree of %zu", k, res->n_accepted, v->t.n_nodes);
    int32_t at = -1;
    for (size_t i = 0; i < res->n_accepted; i++) {
        int32_t n = res->accepted[i];
        if (n < 0 || (size_t)n >= v->t.n_nodes || v->parents[n] != at)
            return chk_fail(r, "case %zu: accepted[%zu] = %d is not a child of %s %d (not a path of the tree)", k, i, n,
                            at < 0 ? "the root" : "node", at);
        at = n;
    }
    if (res->next < 0 || res->next >= CHK_VOCAB)
        return chk_fail(r, "case %zu: next token %d is outside the vocabulary", k, res->next);
    if (prob(&v->target[at + 1], res->next) <= 0)
        return chk_fail(r, "case %zu: next token %d has p = 0 in the target after the accepted path", k, res->next);
    return true;
}

/* A random tree (distinct siblings) with random targets, some one-hot, and
 * draft distributions on half of the cases. */
static void random_case(weft_rng *rng, vtree *v, bool one_hot) {
    vtree_init(v);
    size_t n = chk_below(rng, 13);
    for (size_t i = 0; i < n; i++) {
        int32_t parent = (int32_t)chk_below(rng, (uint32_t)i + 1) - 1;
        weft_token tok;
        do tok = 2 + (weft_token)chk_below(rng, 12);
        while (has_child_token(v, parent, tok));
        vtree_add(v, parent, tok, NAN);
    }
    bool with_q = chk_below(rng, 2);
    for (size_t pos = 0; pos <= n; pos++) {
        weft_candidate *tg = v->store[pos][0], *q = v->store[pos][1];
        /* the target often allows some children, so paths get accepted */
        weft_token kids[MAXN];
        size_t nk = 0;
        for (size_t i = 0; i < n; i++)
            if (v->parents[i] == (int32_t)pos - 1) kids[nk++] = v->tokens[i];
        if (one_hot) {
            weft_token t = nk && chk_below(rng, 10) < 7 ? kids[chk_below(rng, (uint32_t)nk)] : 2 + (weft_token)chk_below(rng, 12);
            tg[0] = (weft_candidate){.id = t, .p = 1};
            v->target[pos] = (weft_dist){tg, 1};
        } else {
            size_t support = 1 + chk_below(rng, 8);
            chk_random_dist(rng, CHK_VOCAB, support, tg);
            for (size_t j = 0; j < nk && j < support; j++)
                if (chk_below(rng, 10) < 7 && prob(&(weft_dist){tg, support}, kids[j]) == 0) tg[j].id = kids[j];
            v->target[pos] = (weft_dist){tg, support};
        }
        if (with_q && nk) { /* q covers every child, plus some other tokens */
            size_t extra = chk_below(rng, 4);
            double sum = 0;
            for (size_t j = 0; j < nk + extra; j++) {
                weft_token t = j < nk ? kids[j] : 40 + (weft_token)j;
                q[j] = (weft_candidate){.id = t, .p = (float)(0.2 + chk_uniform(rng))};
                sum += q[j].p;
            }
            for (size_t j = 0; j < nk + extra; j++) q[j].p = (float)(q[j].p / sum);
            v->dists[pos] = (weft_dist){q, nk + extra};
        }
    }
    for (size_t i = 0; i < n; i++)
        if (v->dists[v->parents[i] + 1].size) v->draft_p[i] = (float)prob(&v->dists[v->parents[i] + 1], v->tokens[i]);
}

enum { N_PATH_CASES = 400 };

static void rule_path(const chk_subject *s, chk_result *r) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    weft_rng rng, vrng;
    weft_rng_seed(&rng, s->opt->seed * 31 + 5);
    weft_rng_seed(&vrng, s->opt->seed * 37 + 1);
    static vtree v;
    size_t k = 0;
    for (; k < N_PATH_CASES; k++) {
        int32_t accepted[MAXN];
        weft_verify_result res;
        random_case(&rng, &v, k % 4 == 0);
        weft_status st = run_verify(in, &v, &vrng, accepted, &res);
        if (st != WEFT_OK) {
            chk_fail(r, "case %zu: verify() failed (%s): %s", k, weft_status_name(st), chk_instance_error(in));
            break;
        }
        if (!result_ok(&v, &res, k, r)) break;
    }
    if (k == N_PATH_CASES) chk_pass(r, "%d random trees and targets", N_PATH_CASES);
    chk_instance_free(in);
}

/* With one-hot targets a lossless verifier has exactly one right answer:
 * follow the target's token while a child carries it, then emit it. It
 * holds for WEFT_CAP_LOSSLESS_GREEDY verifiers too (that is their claim). */
static void rule_one_hot(const chk_subject *s, chk_result *r) {
    if (!(s->desc->flags & (WEFT_CAP_LOSSLESS | WEFT_CAP_LOSSLESS_GREEDY))) {
        chk_skip(r, "not claimed lossless");
        return;
    }
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    weft_rng rng, vrng;
    weft_rng_seed(&rng, s->opt->seed * 41 + 3);
    weft_rng_seed(&vrng, s->opt->seed * 43 + 2);
    static vtree v;
    size_t k = 0;
    for (; k < N_PATH_CASES; k++) {
        int32_t accepted[MAXN];
        weft_verify_result res;
        random_case(&rng, &v, true);
        weft_status st = run_verify(in, &v, &vrng, accepted, &res);
        if (st != WEFT_OK) {
            chk_fail(r, "case %zu: verify() failed (%s): %s", k, weft_status_name(st), chk_instance_error(in));
            break;
        }
        if (!result_ok(&v, &res, k, r)) break;
        int32_t at = -1;
        size_t depth = 0;
        for (;; depth++) {
            weft_token want = v.target[at + 1].data[0].id;
            int32_t child = -1;
            for (size_t i = 0; i < v.t.n_nodes && child < 0; i++)
                if (v.parents[i] == at && v.tokens[i] == want) child = (int32_t)i;
            if (child < 0) {
                if (res.n_accepted != depth || res.next != want)
                    chk_fail(r, "case %zu: committed %zu draft tokens then %d, but the one-hot target commits %zu then %d", k,
                             res.n_accepted, res.next, depth, want);
                break;
            }
            if (depth >= res.n_accepted || v.tokens[res.accepted[depth]] != want) {
                chk_fail(r, "case %zu: draft token %zu should be accepted (the target is one-hot on it)", k, depth);
                break;
            }
            at = child;
        }
        if (r->verdict == CHK_FAIL) break;
    }
    if (k == N_PATH_CASES) chk_pass(r, "%d trees under one-hot targets", N_PATH_CASES);
    chk_instance_free(in);
}

/* ---- the distribution test ---------------------------------------------- */

/* The test's tokens: a small alphabet keeps every cell well populated. */
enum { NS = 4, TRIALS = 6000 };
static const weft_token sym[NS] = {10, 11, 12, 13};
#define ALPHA 1e-6 /* per test; the seed is fixed, so a run is reproducible */

typedef enum scenario { CHAIN_FIXED, CHAIN_Q, TREE_IID_Q, TREE_FIXED, N_SCENARIOS } scenario;
static const char *const scenario_name[] = {"a fixed chain without q", "a chain drawn from q",
                                            "two i.i.d. siblings drawn from q", "two fixed siblings without q"};

/* A distribution over the alphabet with every p in [1/(4*NS), 4/NS]: no cell
 * is too rare for the chi-square approximation. */
static void alphabet_dist(weft_rng *rng, weft_candidate *out) {
    double w[NS], sum = 0;
    for (int i = 0; i < NS; i++) sum += w[i] = 0.5 + 1.5 * chk_uniform(rng);
    for (int i = 0; i < NS; i++) out[i] = (weft_candidate){.id = sym[i], .p = (float)(w[i] / sum)};
}

static int sym_index(weft_token t) {
    for (int i = 0; i < NS; i++)
        if (sym[i] == t) return i;
    return -1;
}

typedef struct model {
    weft_candidate p0[NS], p1[NS][NS], deeper[NS]; /* target: root, after one token, after two */
    weft_candidate q0[NS], q1[NS][NS];             /* draft */
} model;

/* One draft for the scenario, with every position's target set. */
static void draft(scenario sc, const model *m, weft_rng *rng, vtree *v) {
    vtree_init(v);
    bool with_q = sc == CHAIN_Q || sc == TREE_IID_Q;
    int n_first = sc == TREE_IID_Q || sc == TREE_FIXED ? 2 : 1;
    for (int j = 0; j < n_first; j++) {
        weft_token a = with_q ? chk_draw(rng, m->q0, NS) : sym[j];
        int ai = sym_index(a);
        int32_t node = vtree_add(v, -1, a, with_q ? m->q0[ai].p : NAN);
        weft_token b = with_q ? chk_draw(rng, m->q1[ai], NS) : sym[(j + 1) % NS];
        vtree_add(v, node, b, with_q ? m->q1[ai][sym_index(b)].p : NAN);
    }
    v->target[0] = (weft_dist){m->p0, NS};
    if (with_q) v->dists[0] = (weft_dist){m->q0, NS};
    for (size_t i = 0; i < v->t.n_nodes; i++) {
        int ti = sym_index(v->tokens[i]);
        bool first = v->parents[i] < 0;
        v->target[i + 1] = first ? (weft_dist){m->p1[ti], NS} : (weft_dist){m->deeper, NS};
        if (with_q && first) v->dists[i + 1] = (weft_dist){m->q1[ti], NS};
    }
}

/* Counts the first two committed tokens over TRIALS verifications and tests
 * x1 ~ p0 and, for each a, x2 | x1 = a ~ p(. | a). Both follow from the
 * committed tokens being distributed as sequential sampling. */
static bool scenario_ok(chk_instance *in, scenario sc, uint64_t seed, double *min_p, chk_result *r) {
    weft_rng rng, vrng;
    weft_rng_seed(&rng, seed);
    weft_rng_seed(&vrng, seed ^ 0x9e3779b97f4a7c15ull);
    model m;
    alphabet_dist(&rng, m.p0);
    alphabet_dist(&rng, m.q0);
    alphabet_dist(&rng, m.deeper);
    for (int i = 0; i < NS; i++) alphabet_dist(&rng, m.p1[i]), alphabet_dist(&rng, m.q1[i]);
    long first[NS] = {0}, second[NS][NS] = {{0}};
    static vtree v;
    for (int k = 0; k < TRIALS; k++) {
        int32_t accepted[MAXN];
        weft_verify_result res;
        draft(sc, &m, &rng, &v);
        weft_status st = run_verify(in, &v, &vrng, accepted, &res);
        if (st != WEFT_OK)
            return chk_fail(r, "%s: verify() failed (%s): %s", scenario_name[sc], weft_status_name(st), chk_instance_error(in));
        if (!result_ok(&v, &res, (size_t)k, r)) return false;
        weft_token x1 = res.n_accepted ? v.tokens[res.accepted[0]] : res.next;
        weft_token x2 = res.n_accepted >= 2 ? v.tokens[res.accepted[1]] : res.n_accepted == 1 ? res.next : -1;
        int i1 = sym_index(x1), i2 = sym_index(x2);
        if (i1 < 0) return chk_fail(r, "%s: committed token %d, which the target never allows", scenario_name[sc], x1);
        first[i1]++;
        if (x2 >= 0) {
            if (i2 < 0) return chk_fail(r, "%s: committed token %d, which the target never allows", scenario_name[sc], x2);
            second[i1][i2]++;
        }
    }
    double expect[NS], chi2;
    for (int i = 0; i < NS; i++) expect[i] = m.p0[i].p;
    double p = stats_chi2_test(first, expect, NS, &chi2);
    if (p < *min_p) *min_p = p;
    if (p < ALPHA)
        return chk_fail(r, "%s: the first committed token does not follow the target (chi2 %.1f, p = %.2g, counts %ld %ld %ld %ld, expected %.3f %.3f %.3f %.3f)",
                        scenario_name[sc], chi2, p, first[0], first[1], first[2], first[3], expect[0], expect[1],
                        expect[2], expect[3]);
    for (int a = 0; a < NS; a++) {
        long n = 0;
        for (int b = 0; b < NS; b++) n += second[a][b];
        if (n < 100) continue; /* too few to test */
        for (int b = 0; b < NS; b++) expect[b] = m.p1[a][b].p;
        p = stats_chi2_test(second[a], expect, NS, &chi2);
        if (p < *min_p) *min_p = p;
        if (p < ALPHA)
            return chk_fail(r, "%s: the token after %d does not follow the target (chi2 %.1f, p = %.2g over %ld draws)",
                            scenario_name[sc], sym[a], chi2, p, n);
    }
    return true;
}

static void rule_lossless(const chk_subject *s, chk_result *r) {
    if (!(s->desc->flags & WEFT_CAP_LOSSLESS)) {
        chk_skip(r, "not claimed lossless");
        return;
    }
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    int n = s->desc->flags & WEFT_CAP_TREES ? N_SCENARIOS : TREE_IID_Q;
    double min_p = 1;
    bool ok = true;
    for (int sc = 0; ok && sc < n; sc++) ok = scenario_ok(in, (scenario)sc, s->opt->seed * 1009 + (uint64_t)sc, &min_p, r);
    if (ok)
        chk_pass(r, "%d scenarios x %d verifications follow the target (smallest p-value %.3g, threshold %g)%s", n, TRIALS,
                 min_p, ALPHA, n < N_SCENARIOS ? ", chains only (no trees claimed)" : "");
    chk_instance_free(in);
}

const chk_rule chk_verifier_rules[] = {
    {"verifier.path", rule_path},
    {"verifier.one-hot", rule_one_hot},
    {"verifier.lossless", rule_lossless},
};
const size_t chk_n_verifier_rules = sizeof chk_verifier_rules / sizeof chk_verifier_rules[0];
