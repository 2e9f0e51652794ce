/* suffix-automaton: SAM-Decoding (Hu et al. 2024, "SAM Decoding:
 * Speculative Decoding via Suffix Automaton"). A suffix automaton over the
 * prompt and the generated tokens, extended online as tokens are committed,
 * finds the longest suffix of the text that occurred before, and the draft is
 * what followed that occurrence. Unlike prompt lookup's bounded n-gram scan,
 * the match has no length limit and costs amortised O(1) per token.
 *
 * Optionally a second, static automaton over a corpus file proposes the
 * corpus's most frequent continuation; the longer match of the two wins (the
 * dynamic one on ties, as its text is the closer context). With branches > 1
 * the other tokens that followed the match become sibling chains (a tree),
 * most recent (dynamic) or most frequent (corpus) first. No model, so no
 * draft probabilities: siblings are distinct, which the lossless q = δ rule
 * needs. */
#include <math.h>

#include "corpus.h"

enum { P_MIN_MATCH, P_MAX_DRAFT, P_BRANCHES, P_WINDOW, P_CORPUS, P_KEEP };

static const weft_param_desc params[] = {
    WEFT_PARAM_INT_MIN("min_match", 1, "2", "Shortest suffix match that is worth a draft"),
    WEFT_PARAM_INT("max_draft", 1, 256, "4", "Most tokens per drafted chain"),
    WEFT_PARAM_INT("branches", 1, 16, "1", "Sibling chains under the root: other continuations of the match"),
    WEFT_PARAM_INT_MIN("window", 64, "65536", "Most recent tokens the dynamic automaton covers (bounds memory)"),
    WEFT_PARAM("corpus", WEFT_TYPE_STRING, WEFT_PARAM_FILE, 0, 0, NULL,
               "Corpus file for a static automaton: text, or 'weft-tokens' ids (cached as <file>.weft-sam)"),
    WEFT_PARAM_BOOL("keep", "true", "Keep earlier requests' text in the dynamic automaton (within window)"),
};

/* One chain of the draft: its first token, then what followed it. */
typedef struct branch {
    weft_token first;
    const weft_token *cont;
    size_t n_cont;
} branch;

typedef struct suffix_automaton {
    weft_state base;
    size_t min_match, max_draft, branches;
    bool keep;
    const char *corpus_path; /* host-owned until destroy */
    sam text;                /* [earlier requests, FROZEN_SEP after each] + prompt + generated tokens */
    sam_frozen corpus;
    bool corpus_open;
    frozen_match cm; /* the text's longest suffix in the corpus */
    size_t cm_seen;  /* history tokens cm has read */
    branch *br;
    weft_token *scratch; /* branches x max_draft: corpus chains */
    int64_t last_match;
} suffix_automaton;

static void sa_destroy(void *self) {
    suffix_automaton *s = self;
    if (!s) return;
    sam_free(&s->text);
    frozen_free(&s->corpus);
    weft_free(s->base.env, s->br);
    weft_free(s->base.env, s->scratch);
    weft_state_free(s);
}

static weft_status sa_create(const weft_env *env, const weft_value *args, void **self) {
    suffix_automaton *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->min_match = (size_t)args[P_MIN_MATCH].u.i;
    s->max_draft = (size_t)args[P_MAX_DRAFT].u.i;
    s->branches = (size_t)args[P_BRANCHES].u.i;
    s->keep = args[P_KEEP].u.b;
    s->corpus_path = args[P_CORPUS].present ? args[P_CORPUS].u.s : NULL;
    sam_init(&s->text, env, (size_t)args[P_WINDOW].u.i);
    s->br = weft_calloc(env, s->branches, sizeof *s->br);
    s->scratch = weft_calloc(env, s->branches * s->max_draft, sizeof *s->scratch);
    if (!s->br || !s->scratch) {
        sa_destroy(s);
        weft_error(env, "out of memory");
        return WEFT_ERR_NOMEM;
    }
    *self = s;
    return WEFT_OK;
}

/* A new request: the text so far stays behind a separator (keep), or goes. */
static weft_status new_sequence(suffix_automaton *s) {
    s->cm = (frozen_match){0};
    s->cm_seen = 0;
    if (s->keep) return sam_new_sequence(&s->text, FROZEN_SEP);
    sam_clear(&s->text);
    return WEFT_OK;
}

/* Brings both automata's view of the text up to history[0..n). */
static weft_status sync(suffix_automaton *s, const weft_token *history, size_t n) {
    weft_status st = sam_extends(&s->text, history, n) ? WEFT_OK : new_sequence(s);
    if (st == WEFT_OK) st = sam_sync(&s->text, history, n);
    if (n < s->cm_seen) s->cm = (frozen_match){0}, s->cm_seen = 0;
    if (st != WEFT_OK || !s->corpus_open) return st;
    for (; s->cm_seen < n; s->cm_seen++) frozen_match_step(&s->corpus, &s->cm, history[s->cm_seen]);
    return WEFT_OK;
}

static weft_status sa_start(void *self, const weft_token *prompt, size_t n) {
    suffix_automaton *s = self;
    weft_status st = new_sequence(s);
    return st == WEFT_OK ? sync(s, prompt, n) : st;
}

static weft_status sa_observe(void *self, const weft_observe *obs) {
    return sync(self, obs->history, obs->n_history);
}

/* Keeps the `cap` items of highest key seen so far in items[0..*n), by key
 * descending (ties: the earlier item first). */
static void rank_insert(int64_t *keys, int32_t *items, size_t *n, size_t cap, int64_t key, int32_t item) {
    size_t i = *n < cap ? (*n)++ : cap;
    for (; i > 0 && keys[i - 1] < key; i--)
        if (i < cap) keys[i] = keys[i - 1], items[i] = items[i - 1];
    if (i < cap) keys[i] = key, items[i] = item;
}

/* The text's own continuations of the match `st`: first what followed its
 * most recent occurrence, then the other next tokens, latest first. */
static size_t text_branches(const suffix_automaton *s, int32_t st, branch *out) {
    const sam *a = &s->text;
    size_t p = (size_t)a->pos[st] + 1; /* < n: see sam_repeat_state */
    out[0] = (branch){a->tok[p], a->tok + p + 1, a->n - p - 1};
    int64_t keys[16];
    int32_t edges[16];
    size_t n_alt = 0;
    for (int32_t e = s->branches > 1 ? a->head[st] : -1; e >= 0; e = a->e_next[e])
        if (a->e_tok[e] != out[0].first) rank_insert(keys, edges, &n_alt, s->branches - 1, a->pos[a->e_to[e]], e);
    for (size_t i = 0; i < n_alt; i++) {
        size_t q = (size_t)keys[i]; /* an end of match + e_tok: tok[q] == e_tok */
        out[1 + i] = (branch){a->e_tok[edges[i]], a->tok + q + 1, a->n - q - 1};
    }
    return 1 + n_alt;
}

/* The corpus's continuations of the match `st`, most frequent first, each
 * followed along the most frequent edges. */
static size_t corpus_branches(suffix_automaton *s, int32_t st, size_t depth, branch *out) {
    const sam_frozen *f = &s->corpus;
    int64_t keys[16];
    int32_t edges[16];
    size_t nb = 0;
    for (uint32_t e = f->e_off[st]; e < f->e_off[st + 1]; e++)
        if (f->e_tok[e] != FROZEN_SEP) rank_insert(keys, edges, &nb, s->branches, f->count[f->e_to[e]], (int32_t)e);
    for (size_t i = 0; i < nb; i++) {
        weft_token *chain = s->scratch + i * s->max_draft;
        size_t k = 0;
        for (int32_t t = f->e_to[edges[i]], e; k + 1 < depth && (e = f->best[t]) >= 0; t = f->e_to[e])
            chain[k++] = f->e_tok[e];
        out[i] = (branch){f->e_tok[edges[i]], chain, k};
    }
    return nb;
}

/* Writes the branches as chains under the root: the first up to `depth`
 * tokens, the others up to half of it, within `nodes` in all. */
static size_t emit(weft_tree *out, const branch *b, size_t nb, size_t depth, size_t nodes) {
    size_t n = 0;
    for (size_t i = 0; i < nb; i++) {
        size_t d = i == 0 ? depth : (depth + 1) / 2;
        int32_t parent = -1;
        for (size_t k = 0; k < d && k <= b[i].n_cont && n < nodes; k++) {
            weft_token t = k ? b[i].cont[k - 1] : b[i].first;
            if (t == FROZEN_SEP) break;
            out->tokens[n] = t;
            out->parents[n] = parent;
            if (out->flags) out->flags[n] = 0;
            if (out->draft_p) out->draft_p[n] = NAN;
            parent = (int32_t)n++;
        }
    }
    return n;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static weft_status sa_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    suffix_automaton *s = self;
    out->n_nodes = 0;
    s->last_match = 0;
    if (s->corpus_path && !s->corpus_open) {
        weft_status st = corpus_open(&s->corpus, s->base.env, s->corpus_path, ctx->target);
        if (st != WEFT_OK) return st;
        s->corpus_open = true;
    }
    weft_status st = sync(s, ctx->history, ctx->n_history);
    if (st != WEFT_OK) return st;
    size_t depth = min_size(s->max_draft, ctx->max_depth), nodes = min_size(ctx->max_nodes, out->capacity);
    int32_t rep = sam_repeat_state(&s->text);
    size_t text_len = (size_t)s->text.len[rep], corpus_len = s->corpus_open ? s->cm.len : 0;
    size_t nb = 0;
    if (corpus_len > text_len && corpus_len >= s->min_match) {
        nb = corpus_branches(s, s->cm.state, depth, s->br);
        s->last_match = (int64_t)corpus_len;
    } else if (text_len >= s->min_match) {
        nb = text_branches(s, rep, s->br);
        s->last_match = (int64_t)text_len;
    }
    if (depth > 0) out->n_nodes = emit(out, s->br, nb, depth, nodes);
    return WEFT_OK;
}

/* Action: the length of the suffix match behind the last draft (0: none). */
static int64_t match_length(void *self) { return ((suffix_automaton *)self)->last_match; }

/* Action: bytes held by both automata. */
static int64_t memory_bytes(void *self) {
    const suffix_automaton *s = self;
    return (int64_t)(sam_bytes(&s->text) + s->corpus.block_size);
}

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "match_length",
     .doc = "length of the suffix match behind the last draft (0: none)", .ret = WEFT_TYPE_INT,
     .fn = (void (*)(void))match_length},
    {.struct_size = sizeof(weft_action_desc), .name = "memory_bytes", .doc = "bytes held by the automata",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))memory_bytes},
};

static const weft_drafter_vtable sa_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = sa_start,
    .draft = sa_draft,
    .observe = sa_observe,
};

static const weft_component_desc sa_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "suffix-automaton",
    .version = "1.0",
    .description = "Draft what followed the longest earlier match of the text's suffix (SAM-Decoding)",
    .flags = WEFT_CAP_TREES,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = sa_create,
    .destroy = sa_destroy,
    .vtable = &sa_vtable,
};

static const weft_component_desc *const components[] = {&sa_desc};
WEFT_PLUGIN_DEFINE(components)
