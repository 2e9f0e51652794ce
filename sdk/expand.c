/* Best-first growth of a draft tree from a model's distributions (sdk.h,
 * weft_expand): the expansion of DySpec (Xiong et al. 2024, "DySpec:
 * Faster Speculative Decoding with Dynamic Token Tree Structure"), shared
 * by the draft-model and early-exit drafters. */
#include <math.h>
#include <string.h>

#include "weft/sdk.h"

enum { B_TOKENS, B_POS, B_PARENTS, B_OUT, B_LOGITS, B_Q, B_ROW, B_INFO, B_SLOTS, B_DEPTH, B_KIDS };

typedef struct position {
    bool evaluated;
    double value;     /* draft probability of the path root..here */
    double mass_left; /* q mass of the tokens not drawn here yet */
    int32_t depth;
} position;

typedef struct slot {
    int32_t pos; /* 0: the root, i + 1: node i */
    size_t k;    /* rank of the next child */
} slot;

typedef struct run {
    weft_expander *x;
    weft_instance *be;
    const weft_expand_params *p;
    const weft_draft_ctx *ctx;
    weft_tree *t;
    size_t nv, nv_eff, cap;
    int32_t root_pos;
    position *info;
    slot *slots;
    size_t n_slots;
    /* guesses of the first batch still in the cache after the chain's rows,
     * from guess[n_claimed] on; n_claimed so far confirmed by the chain */
    size_t n_guess_rows, n_claimed;
} run;

void weft_expander_init(weft_expander *x, const weft_env *env) {
    memset(x, 0, sizeof *x);
    x->env = env;
}

void weft_expander_free(weft_expander *x) {
    for (size_t i = 0; i < WEFT_COUNT_OF(x->buf); i++) weft_free(x->env, x->buf[i]);
    weft_expander_init(x, x->env);
}

static bool reserve(weft_expander *x, int b, size_t n, size_t elem) {
    return weft_scratch_reserve(x->env, &x->buf[b], &x->cap[b], n ? n : 1, elem);
}

static const weft_backend_vtable *bvt(const run *r) { return r->be->desc->vtable; }

static weft_candidate *q_at(const run *r, int32_t pos) { return (weft_candidate *)r->x->buf[B_Q] + (size_t)pos * r->nv; }

/* q at `pos` from one row of logits; sorted by p for top-k drafting. */
static void set_q(run *r, int32_t pos, const float *row) {
    weft_candidate *c = q_at(r, pos);
    for (size_t i = 0; i < r->nv_eff; i++) c[i] = (weft_candidate){(weft_token)i, row[i], 0};
    weft_candidates set = {.struct_size = sizeof set, .data = c, .size = r->nv_eff};
    weft_cands_temperature(&set, r->p->temperature > 0 ? r->p->temperature : 1);
    weft_cands_softmax(&set);
    if (r->p->draw == WEFT_EXPAND_TOP_K) weft_cands_partial_sort(&set, r->p->top_k);
    r->info[pos].evaluated = true;
}

static weft_status eval_fail(run *r, const char *what, weft_status st) {
    if (st == WEFT_ERR_CONTEXT_FULL) return st;
    weft_error(r->x->env, "%s: %s eval failed (%d)", what, r->be->desc->name, (int)st);
    return st;
}

/* Evaluates every node not evaluated yet. A chain grows in place; any other
 * tree is evaluated again whole (see sdk.h). */
static weft_status eval_wave(run *r) {
    weft_expander *x = r->x;
    weft_tree *t = r->t;
    size_t n = t->n_nodes;
    bool chain = true;
    for (size_t i = 0; i < n; i++) chain = chain && t->parents[i] == (int32_t)i - 1;
    size_t first = x->n_rows;
    if (!chain) {
        if (x->n_rows) {
            weft_status st = bvt(r)->kv_keep(r->be->self, (int32_t)x->n_rows, NULL, 0);
            if (st != WEFT_OK) return eval_fail(r, "rollback", st);
        }
        for (size_t i = 0; i < n; i++) x->row_of[i] = -1;
        x->n_rows = first = 0;
    }
    weft_token *tok = x->buf[B_TOKENS];
    int32_t *pos = x->buf[B_POS], *par = x->buf[B_PARENTS], *out = x->buf[B_OUT];
    const int32_t *depth = x->buf[B_DEPTH];
    size_t n_out = 0;
    for (size_t i = first; i < n; i++) {
        tok[i - first] = t->tokens[i];
        pos[i - first] = r->root_pos + depth[i];
        par[i - first] = t->parents[i] < 0 ? -1 : t->parents[i] - (int32_t)first;
        if (!r->info[i + 1].evaluated) out[n_out++] = (int32_t)(i - first);
    }
    weft_batch b = {.struct_size = sizeof b, .n_tokens = n - first, .tokens = tok, .positions = pos,
                    .parents = chain ? NULL : par, .n_out = n_out, .out_rows = out, .logits = x->buf[B_LOGITS],
                    .n_layers_run = r->p->n_layers_run};
    weft_status st = bvt(r)->eval(r->be->self, &b);
    if (st != WEFT_OK) return eval_fail(r, "draft tree", st);
    x->n_evals++;
    for (size_t i = first; i < n; i++) x->row_of[i] = (int32_t)i;
    x->n_rows = n;
    for (size_t k = 0; k < n_out; k++)
        set_q(r, out[k] + (int32_t)first + 1, (const float *)x->buf[B_LOGITS] + k * r->nv);
    return WEFT_OK;
}

/* Node i (the chain's latest) was just drawn: if the guesses have held so
 * far and it is the next one, its row is in the cache and its distribution
 * in the first batch's logits; otherwise the guess rows left are dropped. */
static weft_status claim_guess(run *r, size_t i) {
    if (r->n_guess_rows == 0) return WEFT_OK;
    if (r->t->tokens[i] == r->p->guess[r->n_claimed]) {
        set_q(r, (int32_t)i + 1, (const float *)r->x->buf[B_LOGITS] + (1 + r->n_claimed) * r->nv);
        r->x->row_of[i] = (int32_t)i;
        r->x->n_rows = i + 1;
        r->n_claimed++;
        r->n_guess_rows--;
        return WEFT_OK;
    }
    weft_status st = bvt(r)->kv_keep(r->be->self, (int32_t)r->n_guess_rows, NULL, 0);
    r->n_guess_rows = 0;
    return st == WEFT_OK ? st : eval_fail(r, "rollback of guesses", st);
}

static bool drawn_here(const weft_tree *t, int32_t pos, weft_token tok) {
    for (int32_t c = weft_tree_next_child(t, pos - 1, pos - 1); c >= 0; c = weft_tree_next_child(t, pos - 1, c))
        if (t->tokens[c] == tok) return true;
    return false;
}

/* Value of a slot: known before its token is drawn in the sampled modes. */
static double slot_value(const run *r, const slot *s) {
    const position *ps = &r->info[s->pos];
    if (r->p->draw != WEFT_EXPAND_TOP_K) return ps->value * ps->mass_left;
    if (!ps->evaluated) return ps->value; /* an upper bound until evaluated */
    return s->k < r->nv_eff ? ps->value * q_at(r, s->pos)[s->k].p : 0;
}

/* The token for slot s, and its q. */
static weft_token draw(run *r, const slot *s, double *q) {
    const weft_candidate *c = q_at(r, s->pos);
    if (r->p->draw == WEFT_EXPAND_TOP_K) {
        *q = c[s->k].p;
        return c[s->k].id;
    }
    const weft_host *h = r->x->env->host;
    bool distinct = r->p->draw == WEFT_EXPAND_SAMPLE_DISTINCT;
    /* the siblings drawn so far (at most top_k), to draw without them */
    weft_token kids[WEFT_EXPAND_MAX_K];
    size_t n_kids = 0;
    for (int32_t k = weft_tree_next_child(r->t, s->pos - 1, s->pos - 1); distinct && k >= 0 && n_kids < WEFT_EXPAND_MAX_K;
         k = weft_tree_next_child(r->t, s->pos - 1, k))
        kids[n_kids++] = r->t->tokens[k];
    double u = h->rng_uniform(r->ctx->rng) * (distinct ? r->info[s->pos].mass_left : 1.0), acc = 0;
    weft_token last = -1;
    for (size_t i = 0; i < r->nv_eff; i++) {
        bool taken = false;
        for (size_t k = 0; k < n_kids && !taken; k++) taken = kids[k] == c[i].id;
        if (!(c[i].p > 0) || taken) continue;
        last = c[i].id;
        *q = c[i].p;
        if ((acc += c[i].p) > u) break;
    }
    return last;
}

static void push(run *r, int32_t pos, size_t k) {
    if ((size_t)r->info[pos].depth >= r->ctx->max_depth || k >= r->p->top_k) return;
    r->slots[r->n_slots++] = (slot){pos, k};
}

weft_status weft_expand(weft_expander *x, weft_instance *backend, const weft_expand_params *p,
                        const weft_token *pending, size_t n_pending, int32_t pos0, const weft_draft_ctx *ctx,
                        weft_tree *out) {
    out->n_nodes = 0;
    x->n_rows = 0;
    x->n_evals = 0;
    const weft_backend_vtable *v = backend->desc->vtable;
    const weft_model_info *mi = v->info(backend->self);
    size_t cap = ctx->max_nodes < out->capacity ? ctx->max_nodes : out->capacity;
    if (n_pending == 0 || !mi || mi->n_vocab <= 0) {
        weft_error(x->env, "nothing to evaluate, or a backend without a vocabulary");
        return WEFT_ERR_INVALID;
    }
    run r = {.x = x, .be = backend, .p = p, .ctx = ctx, .t = out, .nv = (size_t)mi->n_vocab, .cap = cap,
             .root_pos = pos0 + (int32_t)n_pending - 1};
    r.nv_eff = ctx->n_vocab > 0 && (size_t)ctx->n_vocab < r.nv ? (size_t)ctx->n_vocab : r.nv;
    size_t rows = cap + n_pending + 1;
    if (!reserve(x, B_TOKENS, rows, sizeof(weft_token)) || !reserve(x, B_POS, rows, sizeof(int32_t)) ||
        !reserve(x, B_PARENTS, rows, sizeof(int32_t)) || !reserve(x, B_OUT, rows, sizeof(int32_t)) ||
        !reserve(x, B_LOGITS, rows * r.nv, sizeof(float)) || !reserve(x, B_Q, (cap + 1) * r.nv, sizeof(weft_candidate)) ||
        !reserve(x, B_ROW, cap + 1, sizeof(int32_t)) || !reserve(x, B_INFO, cap + 1, sizeof(position)) ||
        !reserve(x, B_SLOTS, 2 * cap + 2, sizeof(slot)) || !reserve(x, B_DEPTH, cap + 1, sizeof(int32_t)))
        return WEFT_ERR_NOMEM;
    x->row_of = x->buf[B_ROW];
    r.info = x->buf[B_INFO];
    r.slots = x->buf[B_SLOTS];
    int32_t *depth = x->buf[B_DEPTH];
    if (cap == 0 || ctx->max_depth == 0 || p->top_k == 0) return WEFT_OK;

    /* the pending tokens, ending with the root, give the first distribution;
     * guesses ride along when the tree is a chain */
    size_t n_guess = p->top_k == 1 && p->guess ? p->n_guess : 0;
    if (n_guess > cap) n_guess = cap;
    if (n_guess > ctx->max_depth) n_guess = ctx->max_depth;
    weft_token *tok = x->buf[B_TOKENS];
    int32_t *pos = x->buf[B_POS], *outr = x->buf[B_OUT];
    for (size_t i = 0; i < n_pending; i++) tok[i] = pending[i], pos[i] = pos0 + (int32_t)i;
    for (size_t i = 0; i <= n_guess; i++) outr[i] = (int32_t)(n_pending - 1 + i);
    for (size_t i = 0; i < n_guess; i++) {
        tok[n_pending + i] = p->guess[i];
        pos[n_pending + i] = r.root_pos + 1 + (int32_t)i;
    }
    weft_batch b = {.struct_size = sizeof b, .n_tokens = n_pending + n_guess, .tokens = tok, .positions = pos,
                    .n_out = 1 + n_guess, .out_rows = outr, .logits = x->buf[B_LOGITS],
                    .n_layers_run = p->n_layers_run};
    weft_status st = v->eval(backend->self, &b);
    if (st == WEFT_ERR_CONTEXT_FULL && n_guess > 0) { /* the guesses may not fit where the root does */
        n_guess = 0;
        b.n_tokens = n_pending, b.n_out = 1;
        st = v->eval(backend->self, &b);
    }
    if (st == WEFT_ERR_CONTEXT_FULL) return WEFT_OK;
    if (st != WEFT_OK) return eval_fail(&r, "pending tokens", st);
    r.n_guess_rows = n_guess;
    x->n_evals = 1;
    r.info[0] = (position){.value = 1, .mass_left = 1, .depth = 0};
    set_q(&r, 0, x->buf[B_LOGITS]);
    bool report = p->draw != WEFT_EXPAND_TOP_K;
    if (report && out->draft_dists) out->draft_dists[0] = (weft_dist){q_at(&r, 0), r.nv_eff};
    push(&r, 0, 0);

    while (out->n_nodes < cap && r.n_slots > 0) {
        size_t best = 0;
        double best_v = -1;
        for (size_t i = 0; i < r.n_slots; i++) {
            double val = slot_value(&r, &r.slots[i]);
            if (val > best_v) best_v = val, best = i;
        }
        if (!(best_v > 0) || best_v < p->min_prob) break;
        slot s = r.slots[best];
        if (!r.info[s.pos].evaluated) {
            st = eval_wave(&r);
            if (st == WEFT_ERR_CONTEXT_FULL) break;
            if (st != WEFT_OK) return st;
            continue; /* values of top-k slots are now exact */
        }
        double q = 0;
        weft_token token = draw(&r, &s, &q);
        position *ps = &r.info[s.pos];
        /* the slot moves on to its next rank, or closes */
        if (token >= 0 && s.k + 1 < p->top_k) r.slots[best].k++;
        else r.slots[best] = r.slots[--r.n_slots];
        if (token < 0) continue;
        if (p->draw != WEFT_EXPAND_SAMPLE_IID || !drawn_here(out, s.pos, token)) ps->mass_left -= q;
        size_t i = out->n_nodes++;
        out->tokens[i] = token;
        out->parents[i] = s.pos - 1;
        if (out->flags) out->flags[i] = 0;
        if (out->draft_p) out->draft_p[i] = report ? (float)q : (float)NAN;
        depth[i] = ps->depth + 1;
        x->row_of[i] = -1;
        r.info[i + 1] = (position){.value = ps->value * q, .mass_left = 1, .depth = depth[i]};
        if (report && out->draft_dists) out->draft_dists[i + 1] = (weft_dist){0};
        if ((st = claim_guess(&r, i)) != WEFT_OK) return st;
        push(&r, (int32_t)i + 1, 0);
    }
    if (r.n_guess_rows > 0) { /* guesses past the chain's end */
        st = v->kv_keep(backend->self, (int32_t)r.n_guess_rows, NULL, 0);
        if (st != WEFT_OK) return eval_fail(&r, "rollback of guesses", st);
    }
    /* report q only where children were drawn from it */
    if (report && out->draft_dists)
        for (size_t i = 0; i < out->n_nodes; i++)
            if (r.info[i + 1].evaluated && weft_tree_next_child(out, (int32_t)i, (int32_t)i) >= 0)
                out->draft_dists[i + 1] = (weft_dist){q_at(&r, (int32_t)i + 1), r.nv_eff};
    return WEFT_OK;
}

/* ---- the parameters model drafters share ---- */

const char *const weft_expand_draw_choices[] = {"auto", "top-k", "sample", NULL};
const char *const weft_expand_sibling_choices[] = {"iid", "distinct", NULL};

void weft_expand_config_from(weft_expand_config *c, const weft_value *args) {
    memset(c, 0, sizeof *c);
    c->p.top_k = (size_t)args[0].u.i;
    c->max_draft = (size_t)args[1].u.i;
    c->draw = !args[2].present || !strcmp(args[2].u.s, "auto") ? 0 : !strcmp(args[2].u.s, "top-k") ? 1 : 2;
    c->distinct = args[3].present && !strcmp(args[3].u.s, "distinct");
    c->p.temperature = args[4].u.d > 0 ? args[4].u.d : 1;
    c->p.min_prob = args[5].u.d;
    c->greedy_target = true; /* until a sampled target is seen */
}

weft_expand_params weft_expand_config_step(const weft_expand_config *c, const weft_draft_ctx *ctx,
                                           weft_draft_ctx *step_ctx) {
    weft_expand_params p = c->p;
    bool top = c->draw == 1 || (c->draw == 0 && c->greedy_target);
    p.draw = top ? WEFT_EXPAND_TOP_K : c->distinct ? WEFT_EXPAND_SAMPLE_DISTINCT : WEFT_EXPAND_SAMPLE_IID;
    *step_ctx = *ctx;
    if (step_ctx->max_depth > c->max_draft) step_ctx->max_depth = c->max_draft;
    return p;
}

void weft_expand_config_observe(weft_expand_config *c, const weft_observe *obs) {
    if (obs->target && obs->target[0].size > 0) c->greedy_target = obs->target[0].size == 1;
}
