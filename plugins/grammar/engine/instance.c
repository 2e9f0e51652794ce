/* The grammar-kind component over a compiled grammar: one implementation of
 * weft_grammar_vtable for every front-end (gbnf, regex, json-schema). */
#include <errno.h>

#include "internal.h"

typedef struct wg_instance {
    weft_state base;
    wg_grammar *g;
    wg_limits lim;
    const wg_vocab_index *vi; /* the host's shared index, or own_vi */
    wg_vocab_index *own_vi;
    char vocab_key[96];       /* wg_vocab_key of vi's vocabulary */
    wg_token_cache *tc;
    void *user; /* the front-end's (wg_instance_set_user) */
    void (*free_user)(void *);
} wg_instance;

#define MATCHER(st) ((wg_matcher *)(st))

wg_limits wg_limits_from_args(const weft_value *args) {
    return (wg_limits){.max_states = (size_t)args[0].u.i, .max_ms = (double)args[1].u.i,
                       .cache_ms = (double)args[2].u.i, .max_stacks = (size_t)args[3].u.i};
}

#define WG_MAX_FILE (64u << 20)

char *wg_read_file(const char *path, size_t *len, wg_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        wg_set_error(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *nb = cap > WG_MAX_FILE ? NULL : realloc(buf, cap);
            if (!nb) {
                wg_set_error(err, "%s: too large or out of memory", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        wg_set_error(err, "%s: read error", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
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

void wg_instance_set_user(void *self, void *user, void (*free_user)(void *)) {
    wg_instance *in = self;
    in->user = user;
    in->free_user = free_user;
}

void *wg_instance_user(void *self) { return ((wg_instance *)self)->user; }

void wg_instance_destroy(void *self) {
    wg_instance *in = self;
    if (!in) return;
    if (in->free_user) in->free_user(in->user);
    wg_token_cache_free(in->tc);
    wg_vocab_index_free(in->own_vi);
    wg_grammar_free(in->g);
    weft_state_free(in);
}

static void *make_index(void *v) { return wg_vocab_index_new(v, NULL); }
static void free_index(void *vi) { wg_vocab_index_free(vi); }

/* The index of v: the one the host shares between instances (indexing a
 * 32k vocabulary takes ~30 ms, which every new schema would pay), else,
 * on a 1.0 host or a hash collision, a private one. */
static const wg_vocab_index *index_for(wg_instance *in, const weft_vocab *v, bool keyed, wg_error *err) {
    const weft_host *h = in->base.env->host;
    if (keyed && WEFT_HAS_METHOD(h, weft_host, shared)) {
        const wg_vocab_index *vi = h->shared(in->base.env, in->vocab_key, make_index, (void *)v, free_index);
        if (vi && wg_vocab_index_matches(vi, v)) return vi;
    }
    return in->own_vi = wg_vocab_index_new(v, err);
}

static weft_status set_vocab(void *self, const weft_vocab *v) {
    wg_instance *in = self;
    const weft_env *env = in->base.env;
    char key[sizeof in->vocab_key];
    bool keyed = wg_vocab_key(v, key, sizeof key);
    if (in->tc && keyed && strcmp(key, in->vocab_key) == 0 && wg_vocab_index_matches(in->vi, v)) return WEFT_OK;
    wg_token_cache_free(in->tc);
    wg_vocab_index_free(in->own_vi);
    in->tc = NULL;
    in->own_vi = NULL;
    snprintf(in->vocab_key, sizeof in->vocab_key, "%s", keyed ? key : "");
    wg_error err = {{0}};
    in->vi = index_for(in, v, keyed, &err);
    if (in->vi) {
        wg_cache_opts o = {.max_ms = in->lim.cache_ms, .disable = in->lim.cache_ms <= 0, .env = env};
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

static weft_status over_limit(const wg_instance *in) {
    weft_error(in->base.env,
               "the grammar is too ambiguous here: more than %zu live parse stacks (raise max_stacks, or make "
               "the grammar less ambiguous)",
               wg_grammar_max_stacks(in->g));
    return WEFT_ERR_UNSUPPORTED;
}

static weft_status accept(void *self, weft_grammar_state *st, weft_token tok) {
    wg_instance *in = self;
    if (wg_accept_token(in->tc, MATCHER(st), tok)) return WEFT_OK;
    if (wg_matcher_over_limit(MATCHER(st))) return over_limit(in);
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
    if (wg_fill_mask(in->tc, (const wg_matcher *)st, mask)) return WEFT_OK;
    if (wg_matcher_over_limit((const wg_matcher *)st)) return over_limit(in);
    weft_error(in->base.env, "out of memory computing a token mask");
    return WEFT_ERR_NOMEM;
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
