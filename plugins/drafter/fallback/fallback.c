/* fallback: several drafters behind one, as SAM-Decoding pairs its suffix
 * automaton with an auxiliary drafter for when the match is short (Hu et al.
 * 2024, §3.3).
 *
 *   mode "first":   the first child, in order, whose draft has at least
 *                   min_len nodes (later children are not asked);
 *   mode "longest": every child drafts; the deepest draft wins (then the one
 *                   with more nodes, then the earlier child).
 *
 * Every child sees every start() and observe(), so incremental state (an
 * automaton, an adjacency table) follows the text whoever drafted. observe()
 * reports the tree that was evaluated, which is the chosen child's: a child
 * reads obs->tree rather than remembering its own draft. */
#include <math.h>
#include <string.h>

#include <weft/sdk.h>

enum { P_DRAFTERS, P_MODE, P_MIN_LEN };

static const char *const modes[] = {"first", "longest", NULL};

static const weft_param_desc params[] = {
    {.struct_size = sizeof(weft_param_desc), .name = "drafters", .type = WEFT_TYPE_COMPONENT_LIST,
     .flags = WEFT_PARAM_REQUIRED | WEFT_PARAM_HAS_MIN | WEFT_PARAM_HAS_MAX, .min = 1, .max = 16,
     .doc = "The drafters to try, in order", .nested_kind = WEFT_KIND_DRAFTER},
    {.struct_size = sizeof(weft_param_desc), .name = "mode", .type = WEFT_TYPE_STRING, .def = "\"first\"",
     .doc = "first: the first child with a long enough draft; longest: the deepest draft of all", .choices = modes},
    WEFT_PARAM_INT_MIN("min_len", 1, "1", "Fewest nodes for a draft to count (mode first)"),
};

/* A child's own draft, for mode "longest". */
typedef struct scratch {
    weft_tree t;
    int32_t *depth;
} scratch;

typedef struct fallback {
    weft_state base;
    weft_instance *const *child;
    size_t n_child, min_len;
    bool longest;
    scratch *scr; /* n_child, sized for cap nodes */
    size_t cap;
    int64_t last_choice;
} fallback;

static const weft_drafter_vtable *vt(const weft_instance *c) { return c->desc->vtable; }

static void free_scratch(fallback *s) {
    const weft_env *env = s->base.env;
    for (size_t i = 0; s->scr && i < s->n_child; i++) {
        scratch *c = &s->scr[i];
        void *all[] = {c->t.tokens, c->t.parents, c->t.flags, c->t.draft_p, c->t.draft_dists, c->depth};
        for (size_t k = 0; k < WEFT_COUNT_OF(all); k++) weft_free(env, all[k]);
    }
    weft_free(env, s->scr);
    s->scr = NULL;
    s->cap = 0;
}

static void fb_destroy(void *self) {
    fallback *s = self;
    if (!s) return;
    free_scratch(s);
    weft_state_free(s);
}

static weft_status fb_create(const weft_env *env, const weft_value *args, void **self) {
    fallback *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    s->child = args[P_DRAFTERS].u.components.items;
    s->n_child = args[P_DRAFTERS].u.components.count;
    s->longest = args[P_MODE].present && strcmp(args[P_MODE].u.s, "longest") == 0;
    s->min_len = (size_t)args[P_MIN_LEN].u.i;
    s->last_choice = -1;
    for (size_t i = 0; i < s->n_child; i++)
        if (!s->child[i] || s->child[i]->desc->kind != WEFT_KIND_DRAFTER) {
            weft_error(env, "drafters/%zu is not a drafter", i);
            fb_destroy(s);
            return WEFT_ERR_INVALID;
        }
    if (s->n_child == 0) {
        weft_error(env, "needs at least one drafter");
        fb_destroy(s);
        return WEFT_ERR_INVALID;
    }
    *self = s;
    return WEFT_OK;
}

/* Scratch trees as large as the core's (grown only when that grows). */
static weft_status reserve(fallback *s, size_t cap) {
    if (s->scr && cap <= s->cap) return WEFT_OK;
    free_scratch(s);
    const weft_env *env = s->base.env;
    s->scr = weft_calloc(env, s->n_child, sizeof *s->scr);
    bool ok = s->scr != NULL;
    for (size_t i = 0; ok && i < s->n_child; i++) {
        scratch *c = &s->scr[i];
        c->t = (weft_tree){.struct_size = sizeof(weft_tree), .capacity = cap};
        c->t.tokens = weft_calloc(env, cap + 1, sizeof *c->t.tokens);
        c->t.parents = weft_calloc(env, cap + 1, sizeof *c->t.parents);
        c->t.flags = weft_calloc(env, cap + 1, sizeof *c->t.flags);
        c->t.draft_p = weft_calloc(env, cap + 1, sizeof *c->t.draft_p);
        c->t.draft_dists = weft_calloc(env, cap + 1, sizeof *c->t.draft_dists);
        c->depth = weft_calloc(env, cap + 1, sizeof *c->depth);
        ok = c->t.tokens && c->t.parents && c->t.flags && c->t.draft_p && c->t.draft_dists && c->depth;
    }
    if (!ok) {
        free_scratch(s);
        weft_error(env, "out of memory for %zu scratch trees", s->n_child);
        return WEFT_ERR_NOMEM;
    }
    s->cap = cap;
    return WEFT_OK;
}

/* The state the core hands a drafter: no nodes, no flags, q unknown. */
static void blank(weft_tree *t, size_t upto) {
    if (upto > t->capacity) upto = t->capacity;
    for (size_t i = 0; i < upto; i++) {
        if (t->flags) t->flags[i] = 0;
        if (t->draft_p) t->draft_p[i] = NAN;
    }
    for (size_t i = 0; t->draft_dists && i <= upto; i++) t->draft_dists[i] = (weft_dist){0};
    t->n_nodes = 0;
}

static size_t deepest(const weft_tree *t, int32_t *depth) {
    size_t best = 0;
    for (size_t i = 0; i < t->n_nodes; i++) {
        depth[i] = t->parents[i] < 0 ? 1 : depth[t->parents[i]] + 1;
        if ((size_t)depth[i] > best) best = (size_t)depth[i];
    }
    return best;
}

static void copy_tree(weft_tree *out, const weft_tree *in) {
    size_t n = in->n_nodes;
    memcpy(out->tokens, in->tokens, n * sizeof *out->tokens);
    memcpy(out->parents, in->parents, n * sizeof *out->parents);
    if (out->flags) memcpy(out->flags, in->flags, n * sizeof *out->flags);
    if (out->draft_p) memcpy(out->draft_p, in->draft_p, n * sizeof *out->draft_p);
    if (out->draft_dists) memcpy(out->draft_dists, in->draft_dists, (n + 1) * sizeof *out->draft_dists);
    out->n_nodes = n;
}

static weft_status draft_first(fallback *s, const weft_draft_ctx *ctx, weft_tree *out) {
    for (size_t i = 0; i < s->n_child; i++) {
        weft_status st = vt(s->child[i])->draft(s->child[i]->self, ctx, out);
        if (st != WEFT_OK) return st;
        if (out->n_nodes >= s->min_len) {
            s->last_choice = (int64_t)i;
            return WEFT_OK;
        }
        /* what it wrote must not leak into the next child's draft (a stale
         * draft_dists[0] would be read as the next child's q) */
        blank(out, out->capacity);
    }
    return WEFT_OK;
}

static weft_status draft_longest(fallback *s, const weft_draft_ctx *ctx, weft_tree *out) {
    weft_status st = reserve(s, out->capacity);
    if (st != WEFT_OK) return st;
    size_t best_depth = 0, best_nodes = 0;
    for (size_t i = 0; i < s->n_child; i++) {
        weft_tree *t = &s->scr[i].t;
        blank(t, t->capacity);
        t->capacity = out->capacity;
        st = vt(s->child[i])->draft(s->child[i]->self, ctx, t);
        if (st != WEFT_OK) return st;
        size_t d = deepest(t, s->scr[i].depth);
        if (t->n_nodes >= s->min_len && (d > best_depth || (d == best_depth && t->n_nodes > best_nodes))) {
            best_depth = d;
            best_nodes = t->n_nodes;
            s->last_choice = (int64_t)i;
        }
    }
    if (s->last_choice >= 0) copy_tree(out, &s->scr[s->last_choice].t);
    return WEFT_OK;
}

static weft_status fb_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    fallback *s = self;
    s->last_choice = -1;
    out->n_nodes = 0;
    return s->longest ? draft_longest(s, ctx, out) : draft_first(s, ctx, out);
}

static weft_status fb_start(void *self, const weft_token *prompt, size_t n) {
    fallback *s = self;
    for (size_t i = 0; i < s->n_child; i++) {
        const weft_drafter_vtable *v = vt(s->child[i]);
        if (!WEFT_HAS_METHOD(v, weft_drafter_vtable, start)) continue;
        weft_status st = v->start(s->child[i]->self, prompt, n);
        if (st != WEFT_OK) return st;
    }
    return WEFT_OK;
}

static weft_status fb_observe(void *self, const weft_observe *obs) {
    fallback *s = self;
    for (size_t i = 0; i < s->n_child; i++) {
        const weft_drafter_vtable *v = vt(s->child[i]);
        if (!WEFT_HAS_METHOD(v, weft_drafter_vtable, observe)) continue;
        weft_status st = v->observe(s->child[i]->self, obs);
        if (st != WEFT_OK) return st;
    }
    return WEFT_OK;
}

/* Action: which child drafted last (its index), -1 when none did. */
static int64_t last_choice(void *self) { return ((fallback *)self)->last_choice; }

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "last_choice",
     .doc = "index of the child whose draft was used last step (-1: none)", .ret = WEFT_TYPE_INT,
     .fn = (void (*)(void))last_choice},
};

static const weft_drafter_vtable fb_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = fb_start,
    .draft = fb_draft,
    .observe = fb_observe,
};

static const weft_component_desc fb_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "fallback",
    .version = "1.0",
    .description = "Use the first (or the longest) draft of several drafters; all of them follow the text",
    .flags = WEFT_CAP_TREES | WEFT_CAP_DRAFT_PROBS,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = fb_create,
    .destroy = fb_destroy,
    .vtable = &fb_vtable,
};

static const weft_component_desc *const components[] = {&fb_desc};
WEFT_PLUGIN_DEFINE(components)
