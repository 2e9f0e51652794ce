/* Look-back (Xu et al. 2023, "Look-back Decoding for Open-Ended Text
 * Generation", EMNLP), its repetition rule (§3.2): a step whose next-token
 * distribution p_t is close to that of an earlier step,
 *   min_i KL(p_t || p_i) < alpha,
 * is about to repeat that step's continuation, so the step is sampled
 * uniformly from the top k tokens instead. Otherwise the distribution passes
 * unchanged, for the rest of the chain to decide.
 *
 * What weft leaves out, and approximates:
 *   - the coherence rule (§3.3) ranks each top-k candidate by the KL of the
 *     *next* step's distribution to the prompt's; that needs a model
 *     evaluation per candidate, which a sampler cannot make;
 *   - the earlier steps are the last `window` generated positions: the core
 *     computes no distributions for prompt positions;
 *   - each distribution is kept as its top_m tokens plus the rest of the
 *     mass spread evenly over the remaining candidates, and the KL is taken
 *     between these; exact when top_m covers the candidate set.
 * Put it first in the chain: it compares the model's own distributions.
 *
 * Under speculation: apply() records the step's distribution, accept(tok)
 * files the most recent record as a past step. Declared WEFT_CAP_STATEFUL,
 * so the core keeps one clone per draft position (clone the parent position,
 * accept the node's token, apply) and adopts the clone of the last accepted
 * position: each node compares against exactly the steps of its own path,
 * as plain decoding would. The state is one flat block, so a clone is one
 * copy. */
#include <math.h>
#include <stdlib.h>

#include <weft/sdk.h>

typedef struct entry {
    weft_token id;
    float p;
} entry;

/* One distribution: n explicit entries (ascending id), and `tail` mass
 * spread over n_rest other candidates. */
typedef struct dist_head {
    uint32_t n, n_rest;
    double tail;
} dist_head;

typedef struct look_back {
    weft_state base;
    double alpha;
    size_t k, window, top_m;
    size_t n_past, next; /* ring of past steps: count, slot to write */
    bool pending;        /* slot `window` holds the most recent apply's step */
    /* offsets from the start of this block: window + 1 heads, then
     * (window + 1) * top_m entries */
    size_t heads_at, entries_at;
} look_back;

enum { P_ALPHA, P_K, P_WINDOW, P_TOP_M };

static const weft_param_desc params[] = {
    WEFT_PARAM_DOUBLE_MIN("alpha", 0, "0.5", "KL threshold (nats) under which a step counts as a repeat"),
    WEFT_PARAM_INT_MIN("k", 1, "5", "A repeating step is sampled uniformly from the top k tokens"),
    WEFT_PARAM_INT("window", 1, 4096, "128", "Past steps compared (the most recent generated positions)"),
    WEFT_PARAM_INT("top_m", 1, 4096, "32", "Tokens kept per past distribution (the rest is one tail mass)"),
};

static dist_head *head_of(look_back *s, size_t slot) {
    return (dist_head *)(void *)((char *)s + s->heads_at) + slot;
}
static entry *entries_of(look_back *s, size_t slot) {
    return (entry *)(void *)((char *)s + s->entries_at) + slot * s->top_m;
}

static weft_status look_back_create(const weft_env *env, const weft_value *args, void **self) {
    double alpha = args[P_ALPHA].u.d;
    int64_t k = args[P_K].u.i, window = args[P_WINDOW].u.i, top_m = args[P_TOP_M].u.i;
    if (!(alpha >= 0) || k < 1 || window < 1 || window > 4096 || top_m < 1 || top_m > 4096) {
        weft_error(env, "need alpha >= 0, k >= 1, window and top_m in [1, 4096]");
        return WEFT_ERR_INVALID;
    }
    size_t slots = (size_t)window + 1;
    size_t heads_at = (sizeof(look_back) + 63) / 64 * 64;
    size_t entries_at = heads_at + slots * sizeof(dist_head);
    look_back *s = weft_state_new(env, entries_at + slots * (size_t)top_m * sizeof(entry));
    if (!s) return WEFT_ERR_NOMEM;
    s->alpha = alpha;
    s->k = (size_t)k;
    s->window = (size_t)window;
    s->top_m = (size_t)top_m;
    s->heads_at = heads_at;
    s->entries_at = entries_at;
    *self = s;
    return WEFT_OK;
}

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* q(id) in a stored distribution: its entry, else an even share of its tail. */
static double prob_in(look_back *s, size_t slot, weft_token id) {
    const dist_head *h = head_of(s, slot);
    const entry key = {.id = id};
    const entry *e = bsearch(&key, entries_of(s, slot), h->n, sizeof key, cmp_entry);
    if (e) return e->p;
    return h->n_rest ? h->tail / h->n_rest : 0;
}

/* KL(a || b) between two stored distributions, tails treated as aligned. */
static double kl(look_back *s, size_t a, size_t b) {
    const dist_head *ha = head_of(s, a), *hb = head_of(s, b);
    const entry *ea = entries_of(s, a);
    double d = 0;
    for (uint32_t i = 0; i < ha->n; i++) {
        double p = ea[i].p;
        if (p <= 0) continue;
        double q = prob_in(s, b, ea[i].id);
        if (q <= 0) return INFINITY;
        d += p * log(p / q);
    }
    if (ha->tail > 0) {
        if (hb->tail <= 0) return INFINITY;
        d += ha->tail * log(ha->tail / hb->tail);
    }
    return d;
}

/* Stores softmax(c)'s top entries into the pending slot (reorders c). */
static bool record(look_back *s, weft_candidates *c) {
    double lse = weft_cands_logsumexp(c);
    if (!isfinite(lse)) return false;
    size_t m = s->top_m < c->size ? s->top_m : c->size;
    weft_cands_partial_sort(c, m);
    dist_head *h = head_of(s, s->window);
    entry *e = entries_of(s, s->window);
    double mass = 0;
    for (size_t i = 0; i < m; i++) {
        e[i] = (entry){.id = c->data[i].id, .p = (float)exp((double)c->data[i].logit - lse)};
        mass += e[i].p;
    }
    qsort(e, m, sizeof *e, cmp_entry);
    *h = (dist_head){.n = (uint32_t)m, .n_rest = (uint32_t)(c->size - m), .tail = mass < 1 ? 1 - mass : 0};
    return true;
}

static weft_status look_back_apply(void *self, const weft_sampler_ctx *ctx, weft_candidates *c) {
    (void)ctx;
    look_back *s = self;
    s->pending = record(s, c);
    if (!s->pending || s->n_past == 0) return WEFT_OK;
    double kl_min = INFINITY;
    for (size_t i = 0; i < s->n_past; i++) {
        double d = kl(s, s->window, i);
        if (d < kl_min) kl_min = d;
    }
    if (!(kl_min < s->alpha)) return WEFT_OK;
    /* a repeat: uniform over the top k (the first top_m are sorted now) */
    if (s->k <= s->top_m && s->k < c->size) c->size = s->k;
    else weft_cands_top_k(c, s->k);
    for (size_t i = 0; i < c->size; i++) c->data[i].logit = 0;
    c->sorted = false; /* equal logits: argmax falls back to the lowest id */
    return WEFT_OK;
}

static void look_back_accept(void *self, weft_token tok) {
    (void)tok; /* the step is the distribution tok was drawn from */
    look_back *s = self;
    if (!s->pending) return;
    *head_of(s, s->next) = *head_of(s, s->window);
    const dist_head *h = head_of(s, s->window);
    entry *dst = entries_of(s, s->next), *src = entries_of(s, s->window);
    for (uint32_t i = 0; i < h->n; i++) dst[i] = src[i];
    s->next = (s->next + 1) % s->window;
    if (s->n_past < s->window) s->n_past++;
    s->pending = false;
}

static void look_back_reset(void *self) {
    look_back *s = self;
    s->n_past = s->next = 0;
    s->pending = false;
}

static const weft_sampler_vtable look_back_vtable = {
    .struct_size = sizeof(weft_sampler_vtable),
    .apply = look_back_apply,
    .accept = look_back_accept,
    .reset = look_back_reset,
    .clone = weft_state_clone, /* one flat block */
};

static const weft_component_desc look_back_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_SAMPLER,
    .name = "look-back",
    .version = "1.0",
    .description = "Look-back: sample uniformly from the top k when the step repeats an earlier one (KL < alpha)",
    .flags = WEFT_CAP_STATEFUL,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .create = look_back_create,
    .destroy = weft_state_free,
    .vtable = &look_back_vtable,
};

static const weft_component_desc *const components[] = {&look_back_desc};
WEFT_PLUGIN_DEFINE(components)
