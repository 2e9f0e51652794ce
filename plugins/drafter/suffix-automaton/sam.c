/* Online suffix automaton over token ids (see sam.h). */
#include "sam.h"

#include <string.h>

#define SAM_NO_KEY UINT64_MAX

static uint64_t key_of(int32_t state, weft_token t) { return (uint64_t)(uint32_t)state << 32 | (uint32_t)t; }

static size_t slot_of(const sam *s, uint64_t key) {
    uint64_t h = key * 0x9e3779b97f4a7c15ull; /* Fibonacci hashing: high bits mix best */
    return (size_t)(h >> 32) & s->h_mask;
}

void sam_init(sam *s, const weft_env *env, size_t window) {
    memset(s, 0, sizeof *s);
    s->env = env;
    s->window = window < 2 ? 2 : window;
}

void sam_free(sam *s) {
    if (!s->env) return;
    void *all[] = {s->tok, s->len, s->link, s->pos, s->head, s->e_tok, s->e_to, s->e_next, s->h_key, s->h_edge};
    for (size_t i = 0; i < WEFT_COUNT_OF(all); i++) weft_free(s->env, all[i]);
    sam_init(s, s->env, s->window);
}

size_t sam_bytes(const sam *s) {
    size_t states = 2 * s->cap + 1, edges = 3 * s->cap + 1;
    return s->cap * sizeof(weft_token) + states * 4 * sizeof(int32_t) + edges * 3 * sizeof(int32_t) +
           (s->h_key ? (s->h_mask + 1) * (sizeof(uint64_t) + sizeof(int32_t)) : 0);
}

static void root_only(sam *s) {
    s->n = 0;
    s->n_states = 1;
    s->len[0] = 0;
    s->link[0] = -1;
    s->pos[0] = -1;
    s->head[0] = -1;
    s->n_edges = 0;
    memset(s->h_key, 0xff, (s->h_mask + 1) * sizeof *s->h_key);
    s->last = 0;
}

void sam_clear(sam *s) {
    s->dropped = s->origin = 0;
    if (s->cap) root_only(s);
}

weft_status sam_new_sequence(sam *s, weft_token sep) {
    if (s->n > 0) {
        weft_status st = sam_push(s, sep);
        if (st != WEFT_OK) return st;
    }
    s->origin = s->dropped + s->n;
    return WEFT_OK;
}

/* Tokens of the current sequence pushed so far. */
static size_t seen_of(const sam *s) { return s->dropped + s->n - s->origin; }

static void hash_put(sam *s, uint64_t key, int32_t edge) {
    size_t i = slot_of(s, key);
    while (s->h_key[i] != SAM_NO_KEY) i = (i + 1) & s->h_mask;
    s->h_key[i] = key;
    s->h_edge[i] = edge;
}

static int32_t edge_of(const sam *s, int32_t state, weft_token t) {
    uint64_t key = key_of(state, t);
    for (size_t i = slot_of(s, key);; i = (i + 1) & s->h_mask) {
        if (s->h_key[i] == key) return s->h_edge[i];
        if (s->h_key[i] == SAM_NO_KEY) return -1;
    }
}

int32_t sam_next(const sam *s, int32_t state, weft_token t) {
    if (!s->cap) return -1;
    int32_t e = edge_of(s, state, t);
    return e < 0 ? -1 : s->e_to[e];
}

static void *grow(sam *s, void *p, size_t n, size_t size, bool *ok) {
    void *q = s->env->host->realloc(p, n * size);
    if (!q) *ok = false;
    return q ? q : p;
}

/* Sizes every array for `cap` tokens: 2 cap + 1 states, 3 cap + 1 edges
 * (Blumer et al.'s bounds), a hash table at most half full. */
static weft_status reserve(sam *s, size_t cap) {
    if (cap <= s->cap) return WEFT_OK;
    if (cap > (size_t)INT32_MAX / 4) {
        weft_error(s->env, "suffix automaton: %zu tokens is more than it can index", cap);
        return WEFT_ERR_INVALID;
    }
    size_t states = 2 * cap + 1, edges = 3 * cap + 1, slots = 16;
    while (slots < 2 * edges) slots *= 2;
    bool ok = true;
    s->tok = grow(s, s->tok, cap, sizeof *s->tok, &ok);
    s->len = grow(s, s->len, states, sizeof *s->len, &ok);
    s->link = grow(s, s->link, states, sizeof *s->link, &ok);
    s->pos = grow(s, s->pos, states, sizeof *s->pos, &ok);
    s->head = grow(s, s->head, states, sizeof *s->head, &ok);
    s->e_tok = grow(s, s->e_tok, edges, sizeof *s->e_tok, &ok);
    s->e_to = grow(s, s->e_to, edges, sizeof *s->e_to, &ok);
    s->e_next = grow(s, s->e_next, edges, sizeof *s->e_next, &ok);
    uint64_t *keys = weft_alloc(s->env, slots * sizeof *keys);
    int32_t *vals = weft_alloc(s->env, slots * sizeof *vals);
    if (!ok || !keys || !vals) {
        weft_free(s->env, keys);
        weft_free(s->env, vals);
        weft_error(s->env, "suffix automaton: out of memory for %zu tokens", cap);
        return WEFT_ERR_NOMEM;
    }
    weft_free(s->env, s->h_key);
    weft_free(s->env, s->h_edge);
    s->h_key = keys;
    s->h_edge = vals;
    s->h_mask = slots - 1;
    bool fresh = s->cap == 0;
    s->cap = cap;
    if (fresh) {
        root_only(s);
        return WEFT_OK;
    }
    memset(s->h_key, 0xff, slots * sizeof *s->h_key);
    for (size_t st = 0; st < s->n_states; st++)
        for (int32_t e = s->head[st]; e >= 0; e = s->e_next[e]) hash_put(s, key_of((int32_t)st, s->e_tok[e]), e);
    return WEFT_OK;
}

static void add_edge(sam *s, int32_t from, weft_token t, int32_t to) {
    int32_t e = (int32_t)s->n_edges++;
    s->e_tok[e] = t;
    s->e_to[e] = to;
    s->e_next[e] = s->head[from];
    s->head[from] = e;
    hash_put(s, key_of(from, t), e);
}

static int32_t new_state(sam *s, int32_t len, int32_t pos) {
    int32_t st = (int32_t)s->n_states++;
    s->len[st] = len;
    s->link[st] = -1;
    s->pos[st] = pos;
    s->head[st] = -1;
    return st;
}

/* The standard online extension (e.g. Crochemore & Hancart, "Automata for
 * matching patterns", 1997): a new state for the whole text, transitions on t
 * from the suffixes that lacked one, and a clone when the suffix link would
 * otherwise skip lengths. */
static void extend(sam *s, weft_token t) {
    int32_t i = (int32_t)s->n;
    /* The longest repeated suffix ends at i - 1 too: remember that recent
     * end, so drafts follow the latest occurrence (as prompt lookup does)
     * rather than the first. */
    int32_t rep = sam_repeat_state(s);
    if (rep > 0) s->pos[rep] = i - 1;
    s->tok[s->n++] = t;
    int32_t cur = new_state(s, s->len[s->last] + 1, i);
    int32_t p = s->last;
    while (p >= 0 && edge_of(s, p, t) < 0) {
        add_edge(s, p, t, cur);
        p = s->link[p];
    }
    if (p < 0) {
        s->link[cur] = 0;
    } else {
        int32_t q = s->e_to[edge_of(s, p, t)];
        if (s->len[p] + 1 == s->len[q]) {
            s->link[cur] = q;
        } else {
            int32_t clone = new_state(s, s->len[p] + 1, s->pos[q]);
            for (int32_t e = s->head[q]; e >= 0; e = s->e_next[e]) add_edge(s, clone, s->e_tok[e], s->e_to[e]);
            s->link[clone] = s->link[q];
            for (int32_t e; p >= 0 && s->e_to[e = edge_of(s, p, t)] == q; p = s->link[p]) s->e_to[e] = clone;
            s->link[q] = s->link[cur] = clone;
        }
    }
    s->last = cur;
}

/* Keeps the newer half of the window: rebuilding costs window / 2 pushes
 * every window / 2 tokens, so pushes stay amortised O(1) and memory bounded. */
static void slide(sam *s) {
    size_t keep = s->window / 2, from = s->n - keep;
    memmove(s->tok, s->tok + from, keep * sizeof *s->tok);
    s->dropped += from;
    root_only(s);
    for (size_t i = 0; i < keep; i++) extend(s, s->tok[i]);
}

weft_status sam_push(sam *s, weft_token t) {
    if (s->n == s->window) slide(s);
    if (s->n + 1 > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        if (cap > s->window) cap = s->window;
        weft_status st = reserve(s, cap);
        if (st != WEFT_OK) return st;
    }
    extend(s, t);
    return WEFT_OK;
}

bool sam_extends(const sam *s, const weft_token *history, size_t n) {
    size_t seen = seen_of(s);
    return n >= seen && (seen == 0 || history[seen - 1] == s->tok[s->n - 1]);
}

weft_status sam_sync(sam *s, const weft_token *history, size_t n) {
    if (!sam_extends(s, history, n)) sam_clear(s);
    for (size_t i = seen_of(s); i < n; i++) {
        weft_status st = sam_push(s, history[i]);
        if (st != WEFT_OK) return st;
    }
    return WEFT_OK;
}
