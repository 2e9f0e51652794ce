/* Backend rules (backend.h), for a backend that can be created (a model
 * backend needs --model): model info, the tokenizer, and the properties the
 * decode loop relies on: a tree batch gives each node the logits its path
 * would give alone, kv_keep() commits a path or rolls back exactly, a batch
 * that does not fit fails without touching the cache, and a keep-everything
 * compaction changes nothing. Tokens are random, so no tokenizer is needed
 * for the evaluation rules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { PREFIX = 6, TREE = 7 };
/* The test tree: two branches under the root, one with a fork below it. */
static const int32_t tree_parents[TREE] = {-1, 0, 0, 1, -1, 4, 2};

typedef struct be {
    chk_instance *in;
    const weft_backend_vtable *v;
    void *self;
    const weft_model_info *info;
    int32_t n_vocab;
    weft_token prefix[PREFIX], tree[TREE], extra[4];
    float *logits; /* TREE + 2 rows */
} be;

static const char *msg(const be *b) {
    const char *m = chk_instance_error(b->in);
    return *m ? m : "no message";
}

static bool open_be(const chk_subject *s, be *b, chk_result *r) {
    memset(b, 0, sizeof *b);
    if (!(b->in = chk_open(s, r))) return false;
    b->v = s->desc->vtable;
    b->self = chk_inst(b->in)->self;
    b->info = b->v->info(b->self);
    if (!b->info || b->info->n_vocab <= 0 || b->info->n_ctx < PREFIX + TREE + 8) {
        chk_skip(r, "model info unusable (see backend.info)");
        chk_instance_free(b->in);
        return false;
    }
    b->n_vocab = b->info->n_vocab;
    weft_rng rng;
    weft_rng_seed(&rng, s->opt->seed * 131 + 17);
    weft_token *all[] = {b->prefix, b->tree, b->extra};
    size_t n[] = {PREFIX, TREE, 4};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < n[k]; i++) all[k][i] = (weft_token)chk_below(&rng, (uint32_t)b->n_vocab);
    b->logits = malloc((size_t)(TREE + 2) * (size_t)b->n_vocab * sizeof *b->logits);
    if (!b->logits) {
        chk_fail(r, "out of memory");
        chk_instance_free(b->in);
        return false;
    }
    return true;
}

static void close_be(be *b) {
    free(b->logits);
    chk_instance_free(b->in);
}

/* Evaluates n tokens (positions from `pos0` along the parents, causal when
 * parents is NULL), with logits of every row when all_rows, else the last. */
static bool eval(be *b, const weft_token *tok, size_t n, int32_t pos0, const int32_t *parents, bool all_rows,
                 float *logits, const char *what, chk_result *r) {
    int32_t pos[64], rows[64];
    for (size_t i = 0; i < n; i++) {
        int32_t depth = 0;
        for (int32_t p = parents ? parents[i] : (int32_t)i - 1; p >= 0; p = parents ? parents[p] : p - 1) depth++;
        pos[i] = pos0 + depth;
        rows[i] = (int32_t)i;
    }
    weft_batch batch = {.struct_size = sizeof batch, .n_tokens = n, .tokens = tok, .positions = pos, .parents = parents,
                        .n_out = logits ? (all_rows ? n : 1) : 0, .out_rows = all_rows ? rows : rows + n - 1,
                        .logits = logits};
    chk_instance_clear_error(b->in);
    weft_status st = b->v->eval(b->self, &batch);
    if (st != WEFT_OK) return chk_fail(r, "%s: eval() failed (%s): %s", what, weft_status_name(st), msg(b));
    return true;
}

static bool keep(be *b, int32_t n_tail, const int32_t *rows, int32_t n, const char *what, chk_result *r) {
    weft_status st = b->v->kv_keep(b->self, n_tail, rows, n);
    if (st != WEFT_OK) return chk_fail(r, "%s: kv_keep(%d, ..., %d) failed (%s): %s", what, n_tail, n, weft_status_name(st), msg(b));
    return true;
}

static bool kv_len_is(be *b, int32_t want, const char *what, chk_result *r) {
    int32_t got = b->v->kv_len(b->self);
    return got == want || chk_fail(r, "%s: kv_len() is %d, expected %d", what, got, want);
}

/* Logits rows agree up to float rounding of a different batch shape. */
static bool close_rows(const be *b, const float *x, const float *y, const char *what, chk_result *r) {
    double worst = 0, scale = 1;
    int32_t at = 0;
    for (int32_t t = 0; t < b->n_vocab; t++) {
        double d = fabs((double)x[t] - y[t]);
        if (!(d <= worst)) worst = d, at = t; /* NaN counts as worst */
        scale = fmax(scale, fabs(x[t]));
    }
    if (worst <= 1e-3 * scale) return true;
    return chk_fail(r, "%s: logits differ by %g at token %d (%g vs %g)", what, worst, at, x[at], y[at]);
}

/* Clears the cache and evaluates the prefix. */
static bool fresh_prefix(be *b, chk_result *r) {
    int32_t n = b->v->kv_len(b->self);
    return keep(b, n, NULL, 0, "clearing the cache", r) && eval(b, b->prefix, PREFIX, 0, NULL, false, NULL, "the prefix", r);
}

static void rule_info(const chk_subject *s, chk_result *r) {
    chk_instance *in = chk_open(s, r);
    if (!in) return;
    const weft_backend_vtable *v = s->desc->vtable;
    const weft_model_info *i = v->info(chk_inst(in)->self);
    if (!i) chk_fail(r, "info() returned NULL");
    else if (i->struct_size < offsetof(weft_model_info, weight_bytes) + sizeof i->weight_bytes)
        chk_fail(r, "model info struct_size %zu is smaller than the 1.0 struct", i->struct_size);
    else if (i->n_vocab <= 0 || i->n_ctx <= 0 || i->n_layers <= 0)
        chk_fail(r, "n_vocab %d, n_ctx %d, n_layers %d: all must be positive", i->n_vocab, i->n_ctx, i->n_layers);
    else if (i->bos < -1 || i->bos >= i->n_vocab || i->eos < -1 || i->eos >= i->n_vocab)
        chk_fail(r, "bos %d / eos %d outside [-1, n_vocab)", i->bos, i->eos);
    else if (i->eos >= 0 && !(v->token_attr(chk_inst(in)->self, i->eos) & WEFT_TOKEN_EOG))
        chk_fail(r, "the EOS token %d lacks WEFT_TOKEN_EOG", i->eos);
    else
        chk_pass(r, "%s '%s': %d tokens, context %d, %d layers", i->arch ? i->arch : "?", i->name ? i->name : "?",
                 i->n_vocab, i->n_ctx, i->n_layers);
    chk_instance_free(in);
}

/* Text spelled by a few of the vocabulary's own printable tokens, so that
 * any tokenizer can encode it: up to 6 tokens from the middle of the
 * vocabulary on (wrapping around). */
static size_t vocab_text(be *b, char *text, size_t cap) {
    size_t len = 0, used = 0;
    for (int32_t k = 0, t; k < b->n_vocab && used < 6; k++) {
        t = (b->n_vocab / 2 + k) % b->n_vocab;
        char piece[64];
        size_t l = 0;
        if (b->v->token_attr(b->self, t) != WEFT_TOKEN_NORMAL ||
            b->v->token_bytes(b->self, t, false, piece, sizeof piece, &l) != WEFT_OK || l == 0 || l >= sizeof piece ||
            len + l >= cap)
            continue;
        bool printable = true;
        for (size_t i = 0; i < l; i++) printable &= piece[i] >= 0x20 && piece[i] < 0x7f;
        if (!printable) continue;
        memcpy(text + len, piece, l);
        len += l;
        used++;
    }
    text[len] = 0;
    return len;
}

/* Tokenizing text and spelling the tokens gives the text back (up to a
 * leading space some tokenizers add); a short buffer gets the count. */
static void rule_tokenize(const chk_subject *s, chk_result *r) {
    be b;
    if (!open_be(s, &b, r)) return;
    char text[256], out[512];
    weft_token tok[300];
    size_t n = 0, n2 = 0, len = 0, tlen = vocab_text(&b, text, sizeof text);
    weft_status st = tlen ? b.v->tokenize(b.self, text, tlen, true, false, tok, 300, &n) : WEFT_OK;
    bool bos = b.info->add_bos && b.info->bos >= 0;
    if (!tlen) chk_skip(r, "no printable normal tokens to build a text from");
    else if (st != WEFT_OK || n == 0 || n > 300)
        chk_fail(r, "tokenize(\"%s\") failed (%s, %zu tokens): %s", text, weft_status_name(st), n, msg(&b));
    else if (bos && tok[0] != b.info->bos)
        chk_fail(r, "add_bos is set but the first token is %d, not BOS %d", tok[0], b.info->bos);
    else if ((st = b.v->tokenize(b.self, text, tlen, true, false, tok, n - 1, &n2)) != WEFT_ERR_INVALID || n2 != n)
        chk_fail(r, "with room for %zu of %zu tokens tokenize() returned %s and a count of %zu (want invalid, %zu)", n - 1,
                 n, weft_status_name(st), n2, n);
    else {
        bool ok = true;
        for (size_t i = 0; ok && i < n; i++) {
            size_t l = 0;
            if (tok[i] < 0 || tok[i] >= b.n_vocab) ok = chk_fail(r, "tokenize() gave token %d outside the vocabulary", tok[i]);
            else if ((st = b.v->token_bytes(b.self, tok[i], false, out + len, sizeof out - 1 - len, &l)) != WEFT_OK ||
                     l > sizeof out - 1 - len)
                ok = chk_fail(r, "token_bytes(%d) failed (%s): %s", tok[i], weft_status_name(st), msg(&b));
            else len += l;
        }
        out[len] = 0;
        if (ok && strcmp(out, text) && !(out[0] == ' ' && !strcmp(out + 1, text)))
            chk_fail(r, "the tokens of \"%s\" spell \"%s\"", text, out);
        else if (ok) chk_pass(r, "\"%s\": %zu tokens%s, spelled back", text, n, bos ? " with BOS" : "");
    }
    close_be(&b);
}

/* Each tree node's logits equal its path's, evaluated as a chain. */
static void rule_tree_eval(const chk_subject *s, chk_result *r) {
    be b;
    if (!open_be(s, &b, r)) return;
    float *path_logits = b.logits + (size_t)TREE * (size_t)b.n_vocab;
    bool ok = fresh_prefix(&b, r) && eval(&b, b.tree, TREE, PREFIX, tree_parents, true, b.logits, "the tree", r) &&
              keep(&b, TREE, NULL, 0, "rolling the tree back", r) && kv_len_is(&b, PREFIX, "after rolling the tree back", r);
    for (int32_t i = 0; ok && i < TREE; i++) {
        weft_token path[TREE];
        int32_t d = 0, rev[TREE];
        for (int32_t n = i; n >= 0; n = tree_parents[n]) rev[d++] = n;
        for (int32_t k = 0; k < d; k++) path[k] = b.tree[rev[d - 1 - k]];
        char what[64];
        snprintf(what, sizeof what, "tree node %d (depth %d) vs its path", i, d);
        ok = eval(&b, path, (size_t)d, PREFIX, NULL, false, path_logits, what, r) &&
             close_rows(&b, b.logits + (size_t)i * (size_t)b.n_vocab, path_logits, what, r) &&
             keep(&b, d, NULL, 0, what, r);
    }
    if (ok) chk_pass(r, "%d tree nodes match their paths", TREE);
    close_be(&b);
}

/* Committing a path of a tree equals having evaluated that path alone. */
static void rule_commit(const chk_subject *s, chk_result *r) {
    be b;
    if (!open_be(s, &b, r)) return;
    static const int32_t path_rows[] = {0, 1, 3}; /* node 3 and its ancestors */
    weft_token chain[4] = {b.tree[0], b.tree[1], b.tree[3], b.extra[0]};
    float *a = b.logits, *ref = b.logits + (size_t)b.n_vocab;
    bool ok = fresh_prefix(&b, r) && eval(&b, b.tree, TREE, PREFIX, tree_parents, false, NULL, "the tree", r) &&
              keep(&b, TREE, path_rows, 3, "committing a path", r) &&
              kv_len_is(&b, PREFIX + 3, "after committing a 3-node path", r) &&
              eval(&b, b.extra, 1, PREFIX + 3, NULL, false, a, "a token after the committed path", r) &&
              fresh_prefix(&b, r) && eval(&b, chain, 4, PREFIX, NULL, false, ref, "the path as a chain", r) &&
              close_rows(&b, a, ref, "after kv_keep of a tree path vs the path evaluated alone", r);
    if (ok) chk_pass(r, "a committed tree path continues like the path alone");
    close_be(&b);
}

/* Rolling back evaluated tokens equals never having evaluated them. */
static void rule_rollback(const chk_subject *s, chk_result *r) {
    be b;
    if (!open_be(s, &b, r)) return;
    float *a = b.logits, *ref = b.logits + (size_t)b.n_vocab;
    bool ok = fresh_prefix(&b, r) && eval(&b, b.extra, 3, PREFIX, NULL, false, NULL, "three tokens", r) &&
              keep(&b, 3, NULL, 0, "rolling back three tokens", r) &&
              kv_len_is(&b, PREFIX, "after rolling back three tokens", r) &&
              eval(&b, b.tree, 1, PREFIX, NULL, false, a, "a token after the rollback", r) && fresh_prefix(&b, r) &&
              eval(&b, b.tree, 1, PREFIX, NULL, false, ref, "the same token without the detour", r) &&
              close_rows(&b, a, ref, "after a rollback vs never evaluated", r);
    if (ok) chk_pass(r, "rollback then eval equals never having evaluated");
    close_be(&b);
}

static void rule_context_full(const chk_subject *s, chk_result *r) {
    be b;
    if (!open_be(s, &b, r)) return;
    size_t n = (size_t)b.info->n_ctx - PREFIX + 1;
    weft_token *tok = n <= (1u << 20) ? calloc(n, sizeof *tok) : NULL;
    if (!tok) chk_skip(r, "context of %d tokens too large to fill", b.info->n_ctx);
    else if (fresh_prefix(&b, r)) {
        weft_batch batch = {.struct_size = sizeof batch, .n_tokens = n, .tokens = tok};
        weft_status st = b.v->eval(b.self, &batch);
        if (st != WEFT_ERR_CONTEXT_FULL)
            chk_fail(r, "a batch of %zu tokens with %d of %d entries used returned %s, not context full", n, PREFIX,
                     b.info->n_ctx, weft_status_name(st));
        else if (kv_len_is(&b, PREFIX, "after a batch that did not fit", r) &&
                 eval(&b, b.extra, 1, PREFIX, NULL, false, b.logits, "a token after the refused batch", r))
            chk_pass(r, "a batch one token too long is refused and the cache kept");
    }
    free(tok);
    close_be(&b);
}

static void rule_kv_view(const chk_subject *s, chk_result *r) {
    if (!WEFT_HAS_METHOD((const weft_backend_vtable *)s->desc->vtable, weft_backend_vtable, kv_view)) {
        chk_skip(r, "no kv_view() (optional)");
        return;
    }
    be b;
    if (!open_be(s, &b, r)) return;
    bool ok = fresh_prefix(&b, r);
    for (int32_t l = 0; ok && l < b.info->n_layers; l++) {
        weft_kv_view view = {.struct_size = sizeof view};
        weft_status st = b.v->kv_view(b.self, l, &view);
        if (st != WEFT_OK) ok = chk_fail(r, "layer %d: kv_view() failed (%s): %s", l, weft_status_name(st), msg(&b));
        else if (view.n_slots != PREFIX || !view.keys || !view.values || !view.positions || view.row_stride == 0)
            ok = chk_fail(r, "layer %d: %d slots for %d entries, or keys/values/positions missing", l, view.n_slots, PREFIX);
        else if (view.n_kv_heads != b.info->n_kv_heads || view.head_dim != b.info->head_dim)
            ok = chk_fail(r, "layer %d: %d heads of %d, the model info says %d of %d", l, view.n_kv_heads, view.head_dim,
                          b.info->n_kv_heads, b.info->head_dim);
        for (int32_t k = 0; ok && k < PREFIX; k++)
            if (view.positions[k] != k) ok = chk_fail(r, "layer %d: slot %d holds position %d, expected %d", l, k, view.positions[k], k);
    }
    if (ok) chk_pass(r, "%d layers viewed", b.info->n_layers);
    close_be(&b);
}

/* A plan that keeps every slot must change nothing. */
static void rule_kv_compact(const chk_subject *s, chk_result *r) {
    if (!WEFT_HAS_METHOD((const weft_backend_vtable *)s->desc->vtable, weft_backend_vtable, kv_compact)) {
        chk_skip(r, "no kv_compact() (optional)");
        return;
    }
    be b;
    if (!open_be(s, &b, r)) return;
    int32_t L = b.info->n_layers, *n_keep = calloc((size_t)L, sizeof *n_keep);
    const int32_t **slots = calloc((size_t)L, sizeof *slots);
    static const int32_t all[PREFIX] = {0, 1, 2, 3, 4, 5};
    float *a = b.logits, *ref = b.logits + (size_t)b.n_vocab;
    if (!n_keep || !slots) chk_fail(r, "out of memory");
    else {
        for (int32_t l = 0; l < L; l++) n_keep[l] = PREFIX, slots[l] = all;
        weft_kv_plan plan = {.struct_size = sizeof plan, .n_layers = L, .n_keep = n_keep, .keep = slots};
        weft_status st = WEFT_OK;
        bool ok = fresh_prefix(&b, r) && eval(&b, b.extra, 1, PREFIX, NULL, false, ref, "a token before compaction", r) &&
                  keep(&b, 1, NULL, 0, "rolling it back", r);
        if (ok && (st = b.v->kv_compact(b.self, &plan)) != WEFT_OK)
            ok = chk_fail(r, "kv_compact() of a keep-everything plan failed (%s): %s", weft_status_name(st), msg(&b));
        ok = ok && kv_len_is(&b, PREFIX, "after a keep-everything compaction", r) &&
             eval(&b, b.extra, 1, PREFIX, NULL, false, a, "the token after compaction", r) &&
             close_rows(&b, a, ref, "after a keep-everything kv_compact", r);
        if (ok) chk_pass(r, "a keep-everything plan is the identity");
    }
    free(n_keep);
    free(slots);
    close_be(&b);
}

const chk_rule chk_backend_rules[] = {
    {"backend.info", rule_info},
    {"backend.tokenize", rule_tokenize},
    {"backend.tree-eval", rule_tree_eval},
    {"backend.commit", rule_commit},
    {"backend.rollback", rule_rollback},
    {"backend.context-full", rule_context_full},
    {"backend.kv-view", rule_kv_view},
    {"backend.kv-compact", rule_kv_compact},
};
const size_t chk_n_backend_rules = sizeof chk_backend_rules / sizeof chk_backend_rules[0];
