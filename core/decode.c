/* The decode loop (ARCHITECTURE.md §3), one loop for every pipeline:
 *
 *   prefill -> [ draft -> grammar prune -> eval root + tree -> target
 *                distributions (grammar mask, sampler chain) -> verify ->
 *                KV keep -> observe -> KV compress ]*
 *
 * Plain decoding is the empty draft. The root of each step is the pending
 * token: committed, but not yet evaluated, so its row in the batch yields the
 * distribution that decides the step's first token. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/sdk.h>

#include "kvsched.h"
#include "pipeline.h"
#include "util.h"

#define VT(c, type) ((const type *)(c)->info->desc->vtable)

/* ---- stateful samplers ---- */

/* A sampler whose state changes with the committed tokens (mirostat) is
 * exact under speculation only if each draft position sees the state it
 * would have after the path: those get one clone per position. */
static bool sampler_tracks_positions(const component_node *c) {
    const weft_sampler_vtable *v = VT(c, weft_sampler_vtable);
    return (c->info->desc->flags & WEFT_CAP_STATEFUL) && WEFT_HAS_METHOD(v, weft_sampler_vtable, clone) &&
           WEFT_HAS_METHOD(v, weft_sampler_vtable, accept);
}

/* Destroys the per-position clones of sampler k, except `keep`. */
static void drop_sampler_clones(weft_pipeline *p, size_t k, void *keep) {
    decode_buffers *b = &p->buf;
    void **st = b->sampler_states ? b->sampler_states[k] : NULL;
    if (!st) return;
    for (size_t i = 1; i <= b->cap; i++) {
        if (st[i] && st[i] != keep) p->samplers[k]->info->desc->destroy(st[i]);
        st[i] = NULL;
    }
}

/* ---- buffers ---- */

bool decode_buffers_init(weft_pipeline *p, char *err, size_t cap) {
    decode_buffers *b = &p->buf;
    p->info = BACKEND_VT(p)->info(BACKEND_SELF(p));
    if (!p->info || p->info->n_vocab <= 0 || p->info->n_ctx <= 0)
        return fail_msg(err, cap, "/backend: the backend reports no vocabulary or context size");
    size_t nv = (size_t)p->info->n_vocab;
    size_t c = p->drafter ? (size_t)p->gen.max_draft_nodes : 0;
    b->cap = c;
    b->history_cap = (size_t)p->info->n_ctx + c + 2;
    b->history = calloc(b->history_cap, sizeof *b->history);
    b->tree = (weft_tree){.struct_size = sizeof(weft_tree), .capacity = c};
    b->tree.tokens = calloc(c + 1, sizeof(weft_token));
    b->tree.parents = calloc(c + 1, sizeof(int32_t));
    b->tree.flags = calloc(c + 1, sizeof(uint32_t));
    b->tree.draft_p = calloc(c + 1, sizeof(float));
    b->draft_dists = calloc(c + 1, sizeof(weft_dist));
    b->tree.draft_dists = b->draft_dists;
    b->depth = calloc(c + 1, sizeof(int32_t));
    b->batch_tokens = calloc(c + 1, sizeof(weft_token));
    b->batch_pos = calloc(c + 1, sizeof(int32_t));
    b->batch_parents = calloc(c + 1, sizeof(int32_t));
    b->out_rows = calloc(c + 1, sizeof(int32_t));
    b->logits = calloc((c + 1) * nv, sizeof(float));
    b->cands = calloc((c + 1) * nv, sizeof(weft_candidate));
    b->target = calloc(c + 1, sizeof(weft_dist));
    b->vtree = (weft_tree){.struct_size = sizeof(weft_tree), .capacity = c};
    b->vtree.tokens = calloc(c + 1, sizeof(weft_token));
    b->vtree.parents = calloc(c + 1, sizeof(int32_t));
    b->vtree.flags = calloc(c + 1, sizeof(uint32_t));
    b->vtree.draft_p = calloc(c + 1, sizeof(float));
    b->vdraft = calloc(c + 1, sizeof(weft_dist));
    b->vtree.draft_dists = b->vdraft;
    b->vtarget = calloc(c + 1, sizeof(weft_dist));
    b->vmap = calloc(c + 1, sizeof(int32_t));
    b->remap = calloc(c + 1, sizeof(int32_t));
    b->accepted = calloc(c + 1, sizeof(int32_t));
    b->accepted_full = calloc(c + 1, sizeof(int32_t));
    b->keep_rows = calloc(c + 1, sizeof(int32_t));
    b->gstates = calloc(c + 1, sizeof(weft_grammar_state *));
    b->mask = calloc((nv + 31) / 32, sizeof(uint32_t));
    b->committed = calloc(c + 1, sizeof(weft_token));
    b->sampler_states = calloc(p->n_samplers ? p->n_samplers : 1, sizeof *b->sampler_states);
    for (size_t k = 0; b->sampler_states && k < p->n_samplers; k++)
        if (sampler_tracks_positions(p->samplers[k]) && !(b->sampler_states[k] = calloc(c + 1, sizeof(void *))))
            return fail_msg(err, cap, "out of memory");
    if (!b->sampler_states || !b->history || !b->tree.tokens || !b->tree.parents || !b->tree.flags || !b->tree.draft_p ||
        !b->draft_dists || !b->depth || !b->batch_tokens || !b->batch_pos || !b->batch_parents ||
        !b->out_rows || !b->logits || !b->cands || !b->target || !b->vtree.tokens || !b->vtree.parents ||
        !b->vtree.flags || !b->vtree.draft_p || !b->vdraft || !b->vtarget || !b->vmap || !b->remap ||
        !b->accepted || !b->accepted_full || !b->keep_rows || !b->gstates || !b->mask || !b->committed)
        return fail_msg(err, cap, "out of memory for decode buffers (vocabulary %zu, tree capacity %zu)", nv, c);
    if (p->kv && !WEFT_HAS_METHOD(BACKEND_VT(p), weft_backend_vtable, kv_compact))
        return fail_msg(err, cap, "/kv: backend '%s' does not support KV compaction", p->backend->info->desc->name);
    return true;
}

void decode_buffers_free(weft_pipeline *p) {
    decode_buffers *b = &p->buf;
    for (size_t k = 0; b->sampler_states && k < p->n_samplers; k++) {
        drop_sampler_clones(p, k, NULL);
        free(b->sampler_states[k]);
    }
    free(b->sampler_states);
    if (p->grammar && b->gstates)
        for (size_t i = 0; i <= b->cap; i++)
            if (b->gstates[i]) VT(p->grammar, weft_grammar_vtable)->state_free(p->grammar->inst.self, b->gstates[i]);
    void *all[] = {b->history, b->tree.tokens, b->tree.parents, b->tree.flags, b->tree.draft_p, b->draft_dists,
                   b->depth, b->batch_tokens, b->batch_pos, b->batch_parents, b->out_rows, b->logits, b->cands,
                   b->target, b->vtree.tokens, b->vtree.parents, b->vtree.flags, b->vtree.draft_p, b->vdraft,
                   b->vtarget, b->vmap, b->remap, b->accepted, b->accepted_full, b->keep_rows, b->gstates,
                   b->mask, b->committed};
    for (size_t i = 0; i < WEFT_COUNT(all); i++) free(all[i]);
    memset(b, 0, sizeof *b);
}

/* The vocabulary's bytes, once per pipeline, for the grammar (set_vocab) and
 * for samplers with text-based rules. */
bool vocab_init(weft_pipeline *p, char *err, size_t cap) {
    int32_t nv = p->info->n_vocab;
    const weft_backend_vtable *be = BACKEND_VT(p);
    p->vocab_bytes = calloc((size_t)nv, sizeof(char *));
    p->vocab_len = calloc((size_t)nv, sizeof(uint32_t));
    p->vocab_attr = calloc((size_t)nv, sizeof(uint32_t));
    p->eog = calloc((size_t)nv, sizeof(weft_token));
    if (!p->vocab_bytes || !p->vocab_len || !p->vocab_attr || !p->eog) return fail_msg(err, cap, "out of memory");
    for (int32_t t = 0; t < nv; t++) {
        char buf[512];
        size_t len = 0;
        weft_status st = be->token_bytes(BACKEND_SELF(p), t, false, buf, sizeof buf, &len);
        if (len > sizeof buf) len = 0; /* a token this long matches no grammar byte anyway */
        else if (st != WEFT_OK) {
            component_error(p->backend, "token_bytes", st, err, cap);
            return false;
        }
        p->vocab_bytes[t] = malloc(len + 1);
        if (!p->vocab_bytes[t]) return fail_msg(err, cap, "out of memory");
        memcpy(p->vocab_bytes[t], buf, len);
        p->vocab_bytes[t][len] = 0;
        p->vocab_len[t] = (uint32_t)len;
        p->vocab_attr[t] = be->token_attr ? be->token_attr(BACKEND_SELF(p), t) : WEFT_TOKEN_NORMAL;
        if ((p->vocab_attr[t] & WEFT_TOKEN_EOG) || t == p->info->eos) p->eog[p->n_eog++] = t;
    }
    snprintf(p->fingerprint, sizeof p->fingerprint, "%s:%s:%d", p->backend->info->desc->name,
             p->info->name ? p->info->name : "", nv);
    p->vocab = (weft_vocab){.struct_size = sizeof p->vocab, .n_vocab = nv, .bytes = (const char *const *)p->vocab_bytes,
                            .len = p->vocab_len, .attrs = p->vocab_attr, .eog = p->eog, .n_eog = p->n_eog,
                            .fingerprint = p->fingerprint};
    if (!p->grammar) return true;
    weft_status st = VT(p->grammar, weft_grammar_vtable)->set_vocab(p->grammar->inst.self, &p->vocab);
    if (st != WEFT_OK) {
        component_error(p->grammar, "set_vocab", st, err, cap);
        return false;
    }
    return true;
}

/* ---- one request ---- */

typedef struct request_state {
    weft_pipeline *p;
    const weft_request *req;
    weft_result *out;
    char *err;
    size_t cap;
    size_t n_hist, n_prompt;
    int32_t pos_next;   /* position of the pending token */
    int64_t max_tokens;
    size_t text_cap, text_emitted, max_stop;
    size_t tokens_cap; /* out->tokens */
    int64_t since_compress;
    weft_status status; /* why the request failed */
    uint64_t seed;
    bool sampled; /* some target distribution had more than one token */
} request_state;

static bool is_eog(const weft_pipeline *p, weft_token t) {
    if (t == p->info->eos) return true;
    const weft_backend_vtable *be = BACKEND_VT(p);
    return be->token_attr && (be->token_attr(BACKEND_SELF(p), t) & WEFT_TOKEN_EOG);
}

static bool comp_fail(request_state *rs, component_node *c, const char *what, weft_status st) {
    component_error(c, what, st, rs->err, rs->cap);
    rs->status = st;
    return false;
}

static bool text_append(request_state *rs, const char *s, size_t n) {
    weft_result *o = rs->out;
    if (o->text_len + n + 1 > rs->text_cap) {
        size_t nc = (o->text_len + n + 1) * 2;
        char *t = realloc(o->text, nc);
        if (!t) return fail_msg(rs->err, rs->cap, "out of memory");
        o->text = t;
        rs->text_cap = nc;
    }
    memcpy(o->text + o->text_len, s, n);
    o->text_len += n;
    o->text[o->text_len] = 0;
    return true;
}

/* Streams text that no stop string can still claim. */
static void text_flush(request_state *rs, bool final) {
    weft_result *o = rs->out;
    size_t hold = final ? 0 : (rs->max_stop ? rs->max_stop - 1 : 0);
    size_t upto = o->text_len > hold ? o->text_len - hold : 0;
    if (upto > rs->text_emitted && rs->req->on_text)
        rs->req->on_text(rs->req->user, o->text + rs->text_emitted, upto - rs->text_emitted);
    if (upto > rs->text_emitted) rs->text_emitted = upto;
}

/* Appends one generated token; false when generation ends here. */
static bool emit_token(request_state *rs, weft_token t) {
    weft_pipeline *p = rs->p;
    weft_result *o = rs->out;
    if (is_eog(p, t)) {
        o->finish = WEFT_FINISH_EOS;
        return false;
    }
    o->tokens[o->n_tokens++] = t;
    char piece[512];
    size_t len = 0;
    weft_status st = BACKEND_VT(p)->token_bytes(BACKEND_SELF(p), t, false, piece, sizeof piece, &len);
    if (len > sizeof piece) len = 0; /* as vocab_init: too long to be text */
    else if (st != WEFT_OK) {
        o->finish = WEFT_FINISH_ERROR;
        return comp_fail(rs, p->backend, "token_bytes", st);
    }
    size_t before = o->text_len;
    if (!text_append(rs, piece, len)) {
        o->finish = WEFT_FINISH_ERROR;
        return false;
    }
    for (size_t i = 0; i < p->gen.n_stop; i++) {
        size_t sl = strlen(p->gen.stop[i]);
        size_t from = before + 1 > sl ? before + 1 - sl : 0;
        char *hit = memmem(o->text + from, o->text_len - from, p->gen.stop[i], sl);
        if (hit) {
            o->text_len = (size_t)(hit - o->text);
            o->text[o->text_len] = 0;
            o->finish = WEFT_FINISH_STOP;
            return false;
        }
    }
    if ((int64_t)o->n_tokens >= rs->max_tokens) {
        o->finish = WEFT_FINISH_LENGTH;
        return false;
    }
    return true;
}

/* Validates what the drafter returned: a malformed tree is the drafter's
 * error, reported with its name, never a crash. */
static bool check_tree(request_state *rs, const weft_draft_ctx *dc) {
    decode_buffers *b = &rs->p->buf;
    const weft_tree *t = &b->tree;
    const char *why = NULL;
    char msg[256];
    if (t->n_nodes > dc->max_nodes) why = "more nodes than max_nodes";
    for (size_t i = 0; !why && i < t->n_nodes; i++) {
        if (t->tokens[i] < 0 || t->tokens[i] >= rs->p->info->n_vocab) {
            snprintf(msg, sizeof msg, "node %zu has token %d outside the vocabulary", i, t->tokens[i]);
            why = msg;
        } else if (t->parents[i] < -1 || t->parents[i] >= (int32_t)i) {
            snprintf(msg, sizeof msg, "node %zu has parent %d (parents must precede their children)", i, t->parents[i]);
            why = msg;
        } else if (t->parents[i] >= 0 && (t->flags[t->parents[i]] & WEFT_NODE_AUX) && !(t->flags[i] & WEFT_NODE_AUX)) {
            snprintf(msg, sizeof msg, "draft node %zu hangs below auxiliary node %d", i, t->parents[i]);
            why = msg;
        } else {
            b->depth[i] = t->parents[i] < 0 ? 1 : b->depth[t->parents[i]] + 1;
            if ((size_t)b->depth[i] > dc->max_depth) why = "a path deeper than max_depth";
        }
    }
    if (why) fail_msg(rs->err, rs->cap, "%s: returned a malformed draft tree: %s", weft_env_name(rs->p->drafter->env), why);
    return why == NULL;
}

/* A node the grammar rejected but kept as a leaf (no grammar state). */
static bool rejected_leaf(const decode_buffers *b, int32_t node) {
    return !(b->tree.flags[node] & WEFT_NODE_AUX) && !b->gstates[node + 1];
}

/* Was node i (pruned parent np) drawn at random? Then its siblings' and its
 * own draft probabilities assume every outcome of q stays in the tree. */
static bool drawn_at_random(const decode_buffers *b, size_t i, int32_t np) {
    const weft_dist *q = &b->draft_dists[np + 1];
    const float dp = b->tree.draft_p[i];
    return q->size > 1 || (dp == dp && dp < 1.0f);
}

/* Drops draft nodes the grammar rejects (and their subtrees) before they cost
 * an evaluation; keeps one grammar state per surviving position. A rejected
 * node drawn at random stays, as a leaf: dropping it would condition the
 * surviving drafts on the grammar while the verifier still divides by the
 * unconditioned q, which biases sampled output. The verifier rejects it
 * (p = 0 at its parent), as it would any draft; a deterministic draft
 * (q = delta) can go, since then rejecting it and dropping it are the same. */
static bool grammar_prune(request_state *rs) {
    weft_pipeline *p = rs->p;
    decode_buffers *b = &p->buf;
    weft_tree *t = &b->tree;
    const weft_grammar_vtable *g = VT(p->grammar, weft_grammar_vtable);
    void *gs = p->grammar->inst.self;
    size_t w = 0;
    for (size_t i = 0; i < t->n_nodes; i++) {
        int32_t par = t->parents[i];
        b->remap[i] = -1;
        if (par >= 0 && (b->remap[par] < 0 || rejected_leaf(b, b->remap[par]))) continue;
        int32_t np = par < 0 ? -1 : b->remap[par];
        weft_grammar_state *st = NULL;
        if (!(t->flags[i] & WEFT_NODE_AUX)) {
            const weft_grammar_state *from = b->gstates[np + 1];
            weft_status s = g->state_fork(gs, from, &st);
            if (s != WEFT_OK) return comp_fail(rs, p->grammar, "state_fork", s);
            s = g->accept(gs, st, t->tokens[i]);
            if (s != WEFT_OK) {
                g->state_free(gs, st);
                st = NULL;
                if (s != WEFT_ERR_INVALID) return comp_fail(rs, p->grammar, "accept", s);
                if (!drawn_at_random(b, i, np)) continue; /* prune the subtree */
            }
        }
        b->remap[i] = (int32_t)w;
        if (b->gstates[w + 1]) g->state_free(gs, b->gstates[w + 1]);
        b->gstates[w + 1] = st;
        t->tokens[w] = t->tokens[i];
        t->parents[w] = np;
        t->flags[w] = t->flags[i];
        t->draft_p[w] = t->draft_p[i];
        b->draft_dists[w + 1] = b->draft_dists[i + 1];
        b->depth[w] = b->depth[i];
        w++;
    }
    t->n_nodes = w;
    return true;
}

/* Builds the target distribution at one position: logits -> grammar mask ->
 * sampler chain -> softmax, keeping candidates with p > 0. */
static bool target_dist(request_state *rs, size_t pos, size_t path_len) {
    weft_pipeline *p = rs->p;
    decode_buffers *b = &p->buf;
    size_t nv = (size_t)p->info->n_vocab;
    const float *row = b->logits + pos * nv;
    weft_candidate *c = b->cands + pos * nv;
    weft_candidates set = {.struct_size = sizeof set, .data = c, .size = 0, .sorted = false};
    weft_stats *st = &rs->out->stats;
    double t0 = now_seconds();
    if (p->grammar) {
        const weft_grammar_vtable *g = VT(p->grammar, weft_grammar_vtable);
        weft_status s = g->fill_mask(p->grammar->inst.self, b->gstates[pos], b->mask);
        if (s != WEFT_OK) return comp_fail(rs, p->grammar, "fill_mask", s);
        for (size_t i = 0; i < nv; i++)
            if (b->mask[i >> 5] >> (i & 31) & 1) c[set.size++] = (weft_candidate){(weft_token)i, row[i], 0};
        /* The row after a drafted end-of-generation: nothing after it is
         * emitted, but it still needs a distribution to verify against (the
         * grammar allows nothing there). Pruning the node instead would bias
         * a sampled verifier. */
        if (set.size == 0 && pos > 0 && is_eog(p, b->tree.tokens[pos - 1]))
            c[set.size++] = (weft_candidate){b->tree.tokens[pos - 1], 0, 0};
        if (set.size == 0)
            return fail_msg(rs->err, rs->cap, "%s: the grammar allows no token here (dead end)", weft_env_name(p->grammar->env));
    } else {
        for (size_t i = 0; i < nv; i++) c[i] = (weft_candidate){(weft_token)i, row[i], 0};
        set.size = nv;
    }
    double t1 = now_seconds();
    if (p->grammar) st->t[WEFT_T_GRAMMAR] += t1 - t0;
    else t1 = t0; /* filling the candidate set is the sampler chain's cost */
    weft_sampler_ctx sc = {.struct_size = sizeof sc, .history = b->history, .n_history = rs->n_hist + path_len,
                           .n_prompt = rs->n_prompt, .depth = path_len, .n_vocab = p->info->n_vocab, .rng = &p->rng,
                           .vocab = &p->vocab, .backend = &p->backend->inst, .seed = rs->seed};
    for (size_t i = 0; i < p->n_samplers; i++) {
        component_node *s = p->samplers[i];
        void *self = s->inst.self;
        if (b->sampler_states[i] && pos > 0) {
            /* clone the parent position's state, which has applied there, and
             * let it accept this node's token */
            const weft_sampler_vtable *v = VT(s, weft_sampler_vtable);
            int32_t par = b->tree.parents[pos - 1];
            void *from = par < 0 ? s->inst.self : b->sampler_states[i][par + 1];
            if (b->sampler_states[i][pos]) s->info->desc->destroy(b->sampler_states[i][pos]);
            b->sampler_states[i][pos] = NULL;
            weft_status r = v->clone(from, &self);
            if (r != WEFT_OK) return comp_fail(rs, s, "clone", r);
            b->sampler_states[i][pos] = self;
            v->accept(self, b->tree.tokens[pos - 1]);
        }
        weft_status r = VT(s, weft_sampler_vtable)->apply(self, &sc, &set);
        if (r != WEFT_OK) return comp_fail(rs, s, "apply", r);
        if (set.size == 0) return fail_msg(rs->err, rs->cap, "%s: left no candidate token", weft_env_name(s->env));
    }
    weft_cands_softmax(&set);
    size_t w = 0;
    for (size_t i = 0; i < set.size; i++)
        if (set.data[i].p > 0) set.data[w++] = set.data[i];
    if (w == 0) return fail_msg(rs->err, rs->cap, "the sampler chain produced no token with non-zero probability");
    rs->sampled |= w > 1;
    b->target[pos] = (weft_dist){set.data, w};
    st->t[WEFT_T_SAMPLER] += now_seconds() - t1;
    return true;
}

/* Writes the path root->node into history after the committed tokens. */
static size_t write_path(request_state *rs, int32_t node) {
    decode_buffers *b = &rs->p->buf;
    size_t d = (size_t)b->depth[node];
    for (int32_t n = node, k = (int32_t)d - 1; n >= 0; n = b->tree.parents[n], k--) b->history[rs->n_hist + k] = b->tree.tokens[n];
    return d;
}

/* ---- KV compression ---- */

/* The signals the compressor declared (kvsched.h). */
static void kv_signals(const weft_pipeline *p, weft_batch *batch, bool is_prefill) {
    if (p->kv) kv_sched_signals(VT(p->kv, weft_kv_vtable), p->kv->inst.self, batch, is_prefill);
}

/* Tokens the next step may commit before the compressor is due. A step
 * never crosses a compression point, so every token sees the cache that
 * plain decoding would give it and speculation stays exact under
 * compression. INT64_MAX: no limit. */
static int64_t kv_commit_limit(const request_state *rs, int32_t kv_len) {
    const weft_pipeline *p = rs->p;
    if (!p->kv) return INT64_MAX;
    weft_kv_schedule sch = {.struct_size = sizeof sch};
    VT(p->kv, weft_kv_vtable)->schedule(p->kv->inst.self, &sch);
    int64_t lim = INT64_MAX;
    if (sch.every_n_tokens > 0) lim = sch.every_n_tokens - rs->since_compress;
    if (sch.when_over > 0 && (int64_t)sch.when_over + 1 - kv_len < lim) lim = (int64_t)sch.when_over + 1 - kv_len;
    return lim;
}

static bool prefill(request_state *rs) {
    weft_pipeline *p = rs->p;
    decode_buffers *b = &p->buf;
    const weft_backend_vtable *be = BACKEND_VT(p);
    weft_stats *st = &rs->out->stats;
    double t0 = now_seconds();
    const weft_request *q = rs->req;
    size_t n = 0;
    weft_status s = be->tokenize(BACKEND_SELF(p), q->prompt ? q->prompt : "", q->prompt ? q->prompt_len : 0,
                                 p->gen.add_bos, p->gen.parse_special, b->history, b->history_cap, &n);
    st->t[WEFT_T_TOKENIZE] += now_seconds() - t0;
    /* a short buffer still reports the full count in n: the prompt is too long */
    if (s != WEFT_OK && n <= b->history_cap) return comp_fail(rs, p->backend, "tokenize", s);
    if (n == 0) {
        if (p->info->bos < 0) return fail_msg(rs->err, rs->cap, "empty prompt and the model has no BOS token");
        b->history[n++] = p->info->bos;
    }
    if (n >= (size_t)p->info->n_ctx) {
        fail_msg(rs->err, rs->cap, "prompt is %zu tokens but the context holds %d (one more is needed to generate)", n,
                 p->info->n_ctx);
        rs->status = WEFT_ERR_CONTEXT_FULL;
        return false;
    }
    rs->n_hist = rs->n_prompt = n;
    st->n_prompt = (int64_t)n;
    t0 = now_seconds();
    if (n > 1) {
        weft_batch batch = {.struct_size = sizeof batch, .n_tokens = n - 1, .tokens = b->history};
        kv_signals(p, &batch, true);
        s = be->eval(BACKEND_SELF(p), &batch);
        if (s != WEFT_OK) return comp_fail(rs, p->backend, "prefill", s);
    }
    st->t[WEFT_T_PREFILL] += now_seconds() - t0;
    rs->pos_next = (int32_t)(n - 1);
    return true;
}

static bool kv_compress(request_state *rs, bool after_prefill) {
    weft_pipeline *p = rs->p;
    if (!p->kv) return true;
    const weft_kv_vtable *kv = VT(p->kv, weft_kv_vtable);
    const weft_backend_vtable *be = BACKEND_VT(p);
    weft_kv_schedule sch = {.struct_size = sizeof sch};
    kv->schedule(p->kv->inst.self, &sch);
    int32_t len = be->kv_len(BACKEND_SELF(p));
    if (!kv_sched_due(&sch, after_prefill, rs->since_compress, len)) return true;
    double t0 = now_seconds();
    /* Compression runs between steps, after kv_keep: the cache then holds
     * committed tokens only (the pending token is not evaluated yet and no
     * draft exists), so no slot can still be rolled back. */
    weft_kv_ctx ctx = {.struct_size = sizeof ctx, .backend = &p->backend->inst, .n_layers = p->info->n_layers,
                       .kv_len = len, .n_protected = 0, .after_prefill = after_prefill};
    weft_kv_plan plan = {.struct_size = sizeof plan};
    weft_status s = kv->plan(p->kv->inst.self, &ctx, &plan);
    if (s != WEFT_OK) return comp_fail(rs, p->kv, "plan", s);
    if (plan.n_layers > 0) {
        s = be->kv_compact(BACKEND_SELF(p), &plan);
        if (s != WEFT_OK) return comp_fail(rs, p->backend, "kv_compact", s);
        if (plan.reposition) rs->pos_next = be->kv_len(BACKEND_SELF(p));
    }
    rs->since_compress = 0;
    rs->out->stats.t[WEFT_T_KV] += now_seconds() - t0;
    return true;
}

/* Copies the non-auxiliary part of the tree for the verifier. */
static void build_verify_tree(weft_pipeline *p) {
    decode_buffers *b = &p->buf;
    const weft_tree *t = &b->tree;
    weft_tree *v = &b->vtree;
    size_t w = 0;
    b->vtarget[0] = b->target[0];
    b->vdraft[0] = b->draft_dists[0];
    for (size_t i = 0; i < t->n_nodes; i++) {
        if (t->flags[i] & WEFT_NODE_AUX) {
            b->remap[i] = -1;
            continue;
        }
        b->remap[i] = (int32_t)w;
        b->vmap[w] = (int32_t)i;
        v->tokens[w] = t->tokens[i];
        v->parents[w] = t->parents[i] < 0 ? -1 : b->remap[t->parents[i]];
        v->flags[w] = 0;
        v->draft_p[w] = t->draft_p[i];
        b->vdraft[w + 1] = b->draft_dists[i + 1];
        b->vtarget[w + 1] = b->target[i + 1];
        w++;
    }
    v->n_nodes = w;
}

/* Room for one more step's tokens in history and the output. Only KV
 * compression lets a sequence outgrow n_ctx, so the buffers sized for
 * n_ctx grow here, between steps (drafters get history per call). */
static bool kv_room(request_state *rs) {
    weft_pipeline *p = rs->p;
    decode_buffers *b = &p->buf;
    const size_t need = rs->n_hist + b->cap + 2;
    if (need > b->history_cap) {
        weft_token *h = realloc(b->history, 2 * need * sizeof *h);
        if (!h) return fail_msg(rs->err, rs->cap, "out of memory");
        b->history = h;
        b->history_cap = 2 * need;
    }
    if (rs->out->n_tokens + b->cap + 2 > rs->tokens_cap) {
        const size_t nc = 2 * (rs->out->n_tokens + b->cap + 2);
        weft_token *t = realloc(rs->out->tokens, nc * sizeof *t);
        if (!t) return fail_msg(rs->err, rs->cap, "out of memory");
        rs->out->tokens = t;
        rs->tokens_cap = nc;
    }
    return true;
}

/* One draft-evaluate-verify-commit step; false when generation ends. */
static bool step(request_state *rs, bool *failed) {
    weft_pipeline *p = rs->p;
    decode_buffers *b = &p->buf;
    const weft_backend_vtable *be = BACKEND_VT(p);
    weft_stats *st = &rs->out->stats;
    weft_tree *t = &b->tree;
    int32_t kv_len = be->kv_len(BACKEND_SELF(p));
    int64_t room = (int64_t)p->info->n_ctx - kv_len - 1; /* rows left after the root */
    if (room < 0) {
        rs->out->finish = WEFT_FINISH_CONTEXT;
        return false;
    }
    *failed = true;
    if (p->kv && !kv_room(rs)) return false;
    t->n_nodes = 0;
    double draft_seconds = 0;
    for (size_t i = 0; i <= b->cap; i++) b->draft_dists[i] = (weft_dist){0};
    const int64_t kv_limit = kv_commit_limit(rs, kv_len);
    if (p->drafter && b->cap > 0 && room > 0 && kv_limit > 1) {
        const size_t max_depth = kv_limit - 1 < p->gen.max_draft_depth ? (size_t)(kv_limit - 1)
                                                                         : (size_t)p->gen.max_draft_depth;
        weft_draft_ctx dc = {.struct_size = sizeof dc, .history = b->history, .n_history = rs->n_hist,
                             .n_prompt = rs->n_prompt, .max_nodes = b->cap < (size_t)room ? b->cap : (size_t)room,
                             .max_depth = max_depth, .n_vocab = p->info->n_vocab,
                             .target = &p->backend->inst, .rng = &p->rng};
        for (size_t i = 0; i < b->cap; i++) t->draft_p[i] = NAN, t->flags[i] = 0;
        double t0 = now_seconds();
        weft_status s = VT(p->drafter, weft_drafter_vtable)->draft(p->drafter->inst.self, &dc, t);
        draft_seconds = now_seconds() - t0;
        st->t[WEFT_T_DRAFTER] += draft_seconds;
        if (s != WEFT_OK) return comp_fail(rs, p->drafter, "draft", s);
        if (!check_tree(rs, &dc)) return false;
        t0 = now_seconds();
        if (p->grammar && !grammar_prune(rs)) return false;
        st->t[WEFT_T_GRAMMAR] += now_seconds() - t0;
    }
    size_t n = t->n_nodes, rows = n + 1;
    /* evaluate the root and the tree in one batch */
    b->batch_tokens[0] = b->history[rs->n_hist - 1];
    b->batch_pos[0] = rs->pos_next;
    b->batch_parents[0] = -1;
    b->out_rows[0] = 0;
    for (size_t i = 0; i < n; i++) {
        b->batch_tokens[i + 1] = t->tokens[i];
        b->batch_pos[i + 1] = rs->pos_next + b->depth[i];
        b->batch_parents[i + 1] = t->parents[i] + 1;
        b->out_rows[i + 1] = (int32_t)(i + 1);
    }
    weft_batch batch = {.struct_size = sizeof batch, .n_tokens = rows, .tokens = b->batch_tokens,
                        .positions = b->batch_pos, .parents = b->batch_parents, .n_out = rows,
                        .out_rows = b->out_rows, .logits = b->logits};
    kv_signals(p, &batch, false);
    double t0 = now_seconds();
    weft_status s = be->eval(BACKEND_SELF(p), &batch);
    double eval_seconds = now_seconds() - t0;
    st->t[WEFT_T_BACKEND] += eval_seconds;
    if (s != WEFT_OK) return comp_fail(rs, p->backend, "eval", s);
    st->n_steps++;
    /* target distributions at every verifiable position */
    if (!target_dist(rs, 0, 0)) return false;
    size_t n_drafted = 0;
    for (size_t i = 0; i < n; i++) {
        b->target[i + 1] = (weft_dist){0};
        if (t->flags[i] & WEFT_NODE_AUX) continue;
        n_drafted++;
        if (p->grammar && rejected_leaf(b, (int32_t)i)) {
            /* never accepted, so any distribution serves; one token keeps
             * verifiers' checks of their inputs satisfied */
            weft_candidate *c = b->cands + (i + 1) * (size_t)p->info->n_vocab;
            c[0] = (weft_candidate){t->tokens[i], 0, 1};
            b->target[i + 1] = (weft_dist){c, 1};
            continue;
        }
        if (!target_dist(rs, i + 1, write_path(rs, (int32_t)i))) return false;
    }
    /* verify */
    build_verify_tree(p);
    weft_verify_result vr = {.struct_size = sizeof vr, .accepted = b->accepted};
    weft_verify_ctx vc = {.struct_size = sizeof vc, .tree = &b->vtree, .target = b->vtarget, .rng = &p->rng};
    t0 = now_seconds();
    s = VT(p->verifier, weft_verifier_vtable)->verify(p->verifier->inst.self, &vc, &vr);
    st->t[WEFT_T_VERIFIER] += now_seconds() - t0;
    if (s != WEFT_OK) return comp_fail(rs, p->verifier, "verify", s);
    /* the accepted path must be a root-to-node path of the tree */
    for (size_t i = 0; i < vr.n_accepted; i++) {
        int32_t a = vr.accepted[i];
        if (vr.n_accepted > b->vtree.n_nodes || a < 0 || (size_t)a >= b->vtree.n_nodes ||
            b->vtree.parents[a] != (i ? vr.accepted[i - 1] : -1))
            return fail_msg(rs->err, rs->cap, "%s: accepted nodes do not form a path from the root",
                            weft_env_name(p->verifier->env));
        b->accepted_full[i] = b->vmap[a];
    }
    if (vr.next < 0 || vr.next >= p->info->n_vocab)
        return fail_msg(rs->err, rs->cap, "%s: returned token %d outside the vocabulary", weft_env_name(p->verifier->env), vr.next);
    size_t na = vr.n_accepted;
    if (n_drafted) {
        st->n_drafted += (int64_t)n_drafted;
        st->n_accepted += (int64_t)na;
        st->n_draft_steps++;
        st->accept_hist[na < 16 ? na : 16]++;
    }
    /* KV: keep the root row and the accepted path */
    b->keep_rows[0] = 0;
    for (size_t i = 0; i < na; i++) b->keep_rows[i + 1] = b->accepted_full[i] + 1;
    s = be->kv_keep(BACKEND_SELF(p), (int32_t)rows, b->keep_rows, (int32_t)(na + 1));
    if (s != WEFT_OK) return comp_fail(rs, p->backend, "kv_keep", s);
    for (size_t i = 0; i < na; i++) b->committed[i] = t->tokens[b->accepted_full[i]];
    b->committed[na] = vr.next;
    /* grammar and stateful samplers follow the committed tokens */
    if (p->grammar) {
        const weft_grammar_vtable *g = VT(p->grammar, weft_grammar_vtable);
        for (size_t i = 0; i <= na; i++) {
            s = g->accept(p->grammar->inst.self, b->gstates[0], b->committed[i]);
            if (s != WEFT_OK) return comp_fail(rs, p->grammar, "accept", s);
            if (is_eog(p, b->committed[i])) break; /* output ends here (emit_token) */
        }
    }
    for (size_t k = 0; k < p->n_samplers; k++) {
        component_node *c = p->samplers[k];
        const weft_sampler_vtable *sv = VT(c, weft_sampler_vtable);
        if (b->sampler_states[k]) {
            /* adopt the state of the last accepted position, which accepted
             * the path; it then accepts the token drawn there */
            void *adopt = na ? b->sampler_states[k][b->accepted_full[na - 1] + 1] : c->inst.self;
            drop_sampler_clones(p, k, adopt);
            if (adopt != c->inst.self) {
                c->info->desc->destroy(c->inst.self);
                c->inst.self = adopt;
            }
            sv->accept(c->inst.self, vr.next);
        } else if (WEFT_HAS_METHOD(sv, weft_sampler_vtable, accept)) {
            for (size_t i = 0; i <= na; i++) sv->accept(c->inst.self, b->committed[i]);
        }
    }
    for (size_t i = 0; i <= na; i++) b->history[rs->n_hist++] = b->committed[i];
    rs->pos_next += (int32_t)(na + 1);
    rs->since_compress += (int64_t)(na + 1);
    if (p->drafter && WEFT_HAS_METHOD(VT(p->drafter, weft_drafter_vtable), weft_drafter_vtable, observe)) {
        for (size_t i = 0; i < na; i++) b->accepted[i] = b->accepted_full[i];
        weft_observe ob = {.struct_size = sizeof ob, .tree = t, .accepted = b->accepted, .n_accepted = na,
                           .next = vr.next, .target = b->target, .logits = b->logits, .n_vocab = p->info->n_vocab,
                           .history = b->history, .n_history = rs->n_hist,
                           .eval_seconds = eval_seconds, .draft_seconds = draft_seconds};
        t0 = now_seconds();
        s = VT(p->drafter, weft_drafter_vtable)->observe(p->drafter->inst.self, &ob);
        st->t[WEFT_T_DRAFTER] += now_seconds() - t0;
        if (s != WEFT_OK) return comp_fail(rs, p->drafter, "observe", s);
    }
    *failed = false;
    for (size_t i = 0; i <= na; i++)
        if (!emit_token(rs, b->committed[i])) {
            *failed = rs->out->finish == WEFT_FINISH_ERROR;
            return false;
        }
    if (p->grammar && VT(p->grammar, weft_grammar_vtable)->is_accepting(p->grammar->inst.self, b->gstates[0])) {
        /* a complete grammar with nothing but end-of-generation left ends here */
        weft_status ms = VT(p->grammar, weft_grammar_vtable)->fill_mask(p->grammar->inst.self, b->gstates[0], b->mask);
        if (ms != WEFT_OK) {
            *failed = true;
            return comp_fail(rs, p->grammar, "fill_mask", ms);
        }
        bool other = false;
        for (int32_t i = 0; !other && i < p->info->n_vocab; i++)
            other = (b->mask[i >> 5] >> (i & 31) & 1) && !is_eog(p, i);
        if (!other) {
            rs->out->finish = WEFT_FINISH_GRAMMAR;
            return false;
        }
    }
    text_flush(rs, false);
    if (!kv_compress(rs, false)) {
        *failed = true;
        return false;
    }
    return true;
}

static bool reset_sequence(request_state *rs) {
    weft_pipeline *p = rs->p;
    const weft_backend_vtable *be = BACKEND_VT(p);
    int32_t len = be->kv_len(BACKEND_SELF(p));
    weft_status s = len > 0 ? be->kv_keep(BACKEND_SELF(p), len, NULL, 0) : WEFT_OK;
    if (s != WEFT_OK) return comp_fail(rs, p->backend, "kv_keep", s);
    for (size_t k = 0; k < p->n_samplers; k++) {
        const weft_sampler_vtable *sv = VT(p->samplers[k], weft_sampler_vtable);
        if (WEFT_HAS_METHOD(sv, weft_sampler_vtable, reset)) sv->reset(p->samplers[k]->inst.self);
    }
    if (p->grammar) {
        const weft_grammar_vtable *g = VT(p->grammar, weft_grammar_vtable);
        decode_buffers *b = &p->buf;
        if (b->gstates[0]) g->state_free(p->grammar->inst.self, b->gstates[0]);
        b->gstates[0] = NULL;
        s = g->state_new(p->grammar->inst.self, &b->gstates[0]);
        if (s != WEFT_OK) return comp_fail(rs, p->grammar, "state_new", s);
    }
    return true;
}

weft_status weft_generate(weft_pipeline *p, const weft_request *req, weft_result *out, char *err, size_t cap) {
    memset(out, 0, sizeof *out);
    double t_start = now_seconds();
    request_state rs = {.p = p, .req = req, .out = out, .err = err, .cap = cap};
    rs.max_tokens = req->max_tokens >= 0 ? req->max_tokens : p->gen.max_tokens;
    for (size_t i = 0; i < p->gen.n_stop; i++)
        if (strlen(p->gen.stop[i]) > rs.max_stop) rs.max_stop = strlen(p->gen.stop[i]);
    rs.seed = (uint64_t)(req->has_seed ? req->seed : p->gen.seed);
    weft_rng_seed(&p->rng, rs.seed);
    weft_runtime_warnings_truncate(p->rt, p->n_build_warnings);
    rs.tokens_cap = (size_t)p->info->n_ctx + p->buf.cap + 2;
    out->tokens = calloc(rs.tokens_cap, sizeof *out->tokens);
    out->text = calloc(1, 1);
    rs.text_cap = 1;
    if (!out->tokens || !out->text) {
        fail_msg(err, cap, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    weft_status status = WEFT_OK;
    rs.status = WEFT_ERR_INVALID;
    if (!reset_sequence(&rs) || !prefill(&rs)) {
        out->finish = WEFT_FINISH_ERROR;
        return rs.status;
    }
    double t_decode = now_seconds();
    if (p->drafter && WEFT_HAS_METHOD(VT(p->drafter, weft_drafter_vtable), weft_drafter_vtable, start)) {
        weft_status s = VT(p->drafter, weft_drafter_vtable)->start(p->drafter->inst.self, p->buf.history, rs.n_hist);
        if (s != WEFT_OK) {
            comp_fail(&rs, p->drafter, "start", s);
            out->finish = WEFT_FINISH_ERROR;
            return s;
        }
    }
    bool failed = !kv_compress(&rs, true);
    if (rs.max_tokens == 0) out->finish = WEFT_FINISH_LENGTH;
    while (!failed && out->finish == WEFT_FINISH_NONE && step(&rs, &failed)) {
    }
    if (failed) {
        out->finish = WEFT_FINISH_ERROR;
        status = rs.status;
    }
    text_flush(&rs, true);
    double t_end = now_seconds();
    out->stats.n_generated = (int64_t)out->n_tokens;
    /* a greedy-exact verifier is lossless only while every target was one-hot */
    uint64_t vf = p->verifier->info->desc->flags;
    out->stats.lossy = !(vf & WEFT_CAP_LOSSLESS) && !((vf & WEFT_CAP_LOSSLESS_GREEDY) && !rs.sampled);
    out->stats.seconds_total = t_end - t_start;
    out->stats.seconds_decode = t_end - t_decode;
    if (!weft_runtime_warnings_to_stats(p->rt, &out->stats) && status == WEFT_OK) {
        fail_msg(err, cap, "out of memory");
        status = WEFT_ERR_NOMEM;
    }
    return status;
}

void weft_result_free(weft_result *r) {
    if (!r) return;
    free(r->text);
    free(r->tokens);
    free((void *)r->stats.warnings);
    memset(r, 0, sizeof *r);
}

const char *weft_finish_name(weft_finish f) {
    static const char *names[] = {"none", "eos", "length", "stop", "context", "grammar", "error"};
    return (unsigned)f < WEFT_COUNT(names) ? names[f] : "?";
}
