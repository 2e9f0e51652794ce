/* The grammar-kind component over a compiled grammar: one implementation of
 * weft_grammar_vtable for every front-end (gbnf, regex, json-schema). */
#include "internal.h"

typedef struct wg_instance {
    weft_state base;
    wg_grammar *g;
    wg_limits lim;
    wg_vocab_index *vi;
    wg_token_cache *tc;
} wg_instance;

#define MATCHER(st) ((wg_matcher *)(st))

wg_limits wg_limits_from_args(const weft_value *args) {
    return (wg_limits){.max_states = (size_t)args[0].u.i, .max_ms = (double)args[1].u.i,
                       .cache_ms = (double)args[2].u.i};
}

weft_status wg_instance_create(const weft_env *env, wg_grammar *g, const wg_limits *lim, void **self) {
    wg_instance *in = weft_state_new(env, sizeof *in);
    if (!in) {
        wg_grammar_free(g);
        return WEFT_ERR_NOMEM;
    }
    in->g = g;
    if (lim) in->lim = *lim;
    *self = in;
    return WEFT_OK;
}

void wg_instance_destroy(void *self) {
    wg_instance *in = self;
    if (!in) return;
    wg_token_cache_free(in->tc);
    wg_vocab_index_free(in->vi);
    wg_grammar_free(in->g);
    weft_state_free(in);
}

static weft_status set_vocab(void *self, const weft_vocab *v) {
    wg_instance *in = self;
    const weft_env *env = in->base.env;
    if (in->vi && in->tc && v->fingerprint && *v->fingerprint && v->n_vocab == in->vi->n_vocab &&
        strcmp(v->fingerprint, in->vi->fingerprint) == 0)
        return WEFT_OK;
    wg_token_cache_free(in->tc);
    wg_vocab_index_free(in->vi);
    in->tc = NULL;
    wg_error err = {{0}};
    in->vi = wg_vocab_index_new(v, &err);
    if (in->vi) {
        wg_cache_opts o = {.max_ms = in->lim.cache_ms, .env = env};
        in->tc = wg_token_cache_new(in->g, in->vi, &o, &err);
    }
    if (!in->tc) {
        weft_error(env, "%s", err.msg);
        return WEFT_ERR_NOMEM;
    }
    wg_cache_stats cs;
    wg_token_cache_get_stats(in->tc, &cs);
    weft_log(env, WEFT_LOG_DEBUG, "token cache: %zu of %zu positions precomputed in %.1f ms, %zu uncertain pairs, %zu KiB",
             cs.n_cached, cs.n_positions, cs.build_ms, cs.n_uncertain, cs.bytes / 1024);
    return WEFT_OK;
}

static weft_status state_new(void *self, weft_grammar_state **out) {
    wg_instance *in = self;
    if (!in->tc) {
        weft_error(in->base.env, "state_new before set_vocab");
        return WEFT_ERR_INVALID;
    }
    wg_matcher *m = wg_matcher_new(in->g);
    if (!m) {
        weft_error(in->base.env, "out of memory for a grammar state");
        return WEFT_ERR_NOMEM;
    }
    *out = (weft_grammar_state *)m;
    return WEFT_OK;
}

static weft_status state_fork(void *self, const weft_grammar_state *st, weft_grammar_state **out) {
    wg_instance *in = self;
    wg_matcher *m = wg_matcher_fork((const wg_matcher *)st);
    if (!m) {
        weft_error(in->base.env, "out of memory forking a grammar state");
        return WEFT_ERR_NOMEM;
    }
    *out = (weft_grammar_state *)m;
    return WEFT_OK;
}

static void state_free(void *self, weft_grammar_state *st) {
    (void)self;
    wg_matcher_free(MATCHER(st));
}

static weft_status accept(void *self, weft_grammar_state *st, weft_token tok) {
    wg_instance *in = self;
    if (wg_accept_token(in->tc, MATCHER(st), tok)) return WEFT_OK;
    weft_error(in->base.env, "token %d is not allowed by the grammar here", tok);
    return WEFT_ERR_INVALID;
}

static weft_status rollback(void *self, weft_grammar_state *st, size_t n) {
    wg_instance *in = self;
    if (wg_matcher_rollback(MATCHER(st), n)) return WEFT_OK;
    weft_error(in->base.env, "cannot roll back %zu tokens: only %zu accepted", n, wg_matcher_depth(MATCHER(st)));
    return WEFT_ERR_INVALID;
}

static weft_status fill_mask(void *self, const weft_grammar_state *st, uint32_t *mask) {
    wg_instance *in = self;
    wg_fill_mask(in->tc, (const wg_matcher *)st, mask);
    return WEFT_OK;
}

static bool is_accepting(void *self, const weft_grammar_state *st) {
    (void)self;
    return wg_matcher_is_accepting((const wg_matcher *)st);
}

static weft_status jump_forward(void *self, const weft_grammar_state *st, char *buf, size_t cap, size_t *len) {
    (void)self;
    *len = wg_matcher_jump_forward((const wg_matcher *)st, buf, cap);
    return WEFT_OK;
}

const weft_grammar_vtable wg_instance_vtable = {
    .struct_size = sizeof(weft_grammar_vtable),
    .set_vocab = set_vocab,
    .state_new = state_new,
    .state_fork = state_fork,
    .state_free = state_free,
    .accept = accept,
    .rollback = rollback,
    .fill_mask = fill_mask,
    .is_accepting = is_accepting,
    .jump_forward = jump_forward,
};
