/* early-exit: self-speculation (SWIFT, Xia et al. 2024; DEL, Zarch et al.
 * 2025; LayerSkip, Elhoushi et al. 2024). The target itself drafts, run
 * through its first L layers and then its LM head (weft_batch.n_layers_run),
 * as a chain or a tree grown by draft probability (sdk/expand.c).
 *
 * L is chosen online per step by a discounted UCB bandit over candidate exit
 * layers (sdk/bandit.c, as DEL picks the exit layer from measured
 * acceptance): the reward is tokens committed per second of drafting and
 * verification, so a shallow exit that is rarely right and a deep one that
 * costs nearly a full pass both lose to the layer that pays best.
 *
 * A partial eval leaves the skipped layers' cache rows unfilled, so every
 * row drafted here, the root's included, is rolled back (kv_keep) before
 * draft() returns: the target's cache is exactly what it was. */
#include <stdio.h>

#include <weft/sdk.h>

#include "exit_layers.h"

enum { P_LAYERS, P_EXPLORATION, P_DISCOUNT, P_KEEP, P_EXPAND, P_GUESS = P_EXPAND + WEFT_EXPAND_N_PARAMS };

static const weft_param_desc params[] = {
    {.struct_size = sizeof(weft_param_desc), .name = "layers", .type = WEFT_TYPE_INT_LIST, .def = "[]",
     .doc = "Candidate exit layers L (run [0, L)); [] = up to 8 spread over the model's layers"},
    WEFT_PARAM_DOUBLE_MIN("exploration", 0, "0.3", "UCB exploration constant (relative to the best layer's throughput)"),
    WEFT_PARAM_DOUBLE("discount", 0.5, 1, "0.999", "Weight left to past steps at each step (1: never forget)"),
    WEFT_PARAM_BOOL("keep", "true", "Keep what was learnt across requests"),
    WEFT_EXPAND_PARAM_DESCS("4"),
    WEFT_GUESS_PARAM_DESCS("8"),
};

typedef struct early_exit {
    weft_state base;
    weft_expander x;
    weft_expand_config cfg;
    weft_guesser guesser;
    const int64_t *asked;
    size_t n_asked;
    double c, gamma;
    bool keep;
    /* arms, for the target seen last */
    const void *target;
    int32_t layers[EXIT_MAX_LAYERS];
    size_t n_layers;
    weft_bandit ucb;
    size_t arm;
    bool drafted, warned;
    char report[1024];
} early_exit;

static void ee_destroy(void *self) {
    early_exit *s = self;
    if (!s) return;
    weft_expander_free(&s->x);
    weft_guesser_free(&s->guesser);
    weft_state_free(s);
}

static weft_status ee_create(const weft_env *env, const weft_value *args, void **self) {
    early_exit *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    weft_expander_init(&s->x, env);
    weft_expand_config_from(&s->cfg, args + P_EXPAND);
    if (args[P_LAYERS].present) s->asked = args[P_LAYERS].u.ints.items, s->n_asked = args[P_LAYERS].u.ints.count;
    s->c = args[P_EXPLORATION].u.d;
    s->gamma = args[P_DISCOUNT].u.d;
    s->keep = args[P_KEEP].u.b;
    weft_status st = weft_guesser_init(&s->guesser, env, args + P_GUESS);
    if (st != WEFT_OK) {
        ee_destroy(s);
        return st;
    }
    *self = s;
    return WEFT_OK;
}

static weft_status ee_start(void *self, const weft_token *prompt, size_t n) {
    early_exit *s = self;
    s->drafted = false;
    if (!s->keep) weft_bandit_reset(&s->ucb);
    return weft_guesser_start(&s->guesser, prompt, n);
}

/* The arms for this target (again only when the target changes). */
static void arms_for(early_exit *s, const weft_instance *target) {
    if (s->target == target->self) return;
    const weft_model_info *mi = ((const weft_backend_vtable *)target->desc->vtable)->info(target->self);
    s->target = target->self;
    s->n_layers = exit_layers(mi ? mi->n_layers : 0, s->asked, s->n_asked, s->layers);
    weft_bandit_init(&s->ucb, s->n_layers, s->c, s->gamma);
    if (!s->n_layers && !s->warned)
        weft_log(s->base.env, WEFT_LOG_WARN, "no exit layer below the model's %d: drafting nothing",
                 mi ? mi->n_layers : 0);
    s->warned |= !s->n_layers;
}

static weft_status ee_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    early_exit *s = self;
    out->n_nodes = 0;
    s->drafted = false;
    if (!WEFT_HAS_FIELD(ctx, weft_draft_ctx, target) || !ctx->target) {
        weft_error(s->base.env, "needs the target backend (weft_draft_ctx.target)");
        return WEFT_ERR_INVALID;
    }
    arms_for(s, ctx->target);
    if (!s->n_layers || ctx->n_history == 0) return WEFT_OK;
    s->arm = weft_bandit_choose(&s->ucb);
    weft_draft_ctx c;
    weft_expand_params p = weft_expand_config_step(&s->cfg, ctx, &c);
    p.n_layers_run = s->layers[s->arm];
    weft_status st = weft_guesser_guess(&s->guesser, ctx, &p);
    if (st != WEFT_OK) return st;
    /* the root sits at the position after the committed tokens (a KV
     * compressor that repositions the cache would move it) */
    st = weft_expand(&s->x, ctx->target, &p, ctx->history + ctx->n_history - 1, 1,
                                 (int32_t)ctx->n_history - 1, &c, out);
    if (s->x.n_evals > 0) {
        const weft_backend_vtable *v = ctx->target->desc->vtable;
        weft_status rb = v->kv_keep(ctx->target->self, (int32_t)(1 + s->x.n_rows), NULL, 0);
        if (rb != WEFT_OK) {
            weft_error(s->base.env, "the target could not roll back the %zu rows drafted", 1 + s->x.n_rows);
            st = rb;
        }
    }
    if (st != WEFT_OK) {
        out->n_nodes = 0;
        return st;
    }
    s->drafted = true;
    return WEFT_OK;
}

static weft_status ee_observe(void *self, const weft_observe *obs) {
    early_exit *s = self;
    weft_expand_config_observe(&s->cfg, obs);
    weft_status st = weft_guesser_observe(&s->guesser, obs);
    if (st != WEFT_OK) return st;
    if (!s->drafted) return WEFT_OK;
    s->drafted = false;
    weft_bandit_update(&s->ucb, s->arm, (double)(obs->n_accepted + 1), obs->eval_seconds + obs->draft_seconds);
    return WEFT_OK;
}

/* Action: the exit layer of the last draft. */
static int64_t exit_layer(void *self) {
    const early_exit *s = self;
    return s->n_layers ? s->layers[s->arm] : 0;
}

/* Action: the exit layer with the best throughput so far. */
static int64_t best_layer(void *self) {
    const early_exit *s = self;
    return s->n_layers ? s->layers[weft_bandit_best(&s->ucb)] : 0;
}

/* Action: "L: pulls x tokens/s" for every candidate layer. */
static const char *report(void *self) {
    early_exit *s = self;
    size_t at = 0;
    s->report[0] = 0;
    for (size_t a = 0; a < s->n_layers && at < sizeof s->report; a++)
        at += (size_t)snprintf(s->report + at, sizeof s->report - at, "%s%d: %llu x %.1f", a ? ", " : "",
                               s->layers[a], (unsigned long long)s->ucb.plays[a], weft_bandit_mean(&s->ucb, a));
    return s->report;
}

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "exit_layer", .doc = "the exit layer of the last draft",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))exit_layer},
    {.struct_size = sizeof(weft_action_desc), .name = "best_layer", .doc = "the exit layer with the best throughput",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))best_layer},
    {.struct_size = sizeof(weft_action_desc), .name = "report", .doc = "pulls and tokens/s of every exit layer",
     .ret = WEFT_TYPE_STRING, .fn = (void (*)(void))report},
};

static const weft_drafter_vtable ee_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = ee_start,
    .draft = ee_draft,
    .observe = ee_observe,
};

static const weft_component_desc ee_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "early-exit",
    .version = "1.0",
    .description = "Self-speculation: the target's first L layers draft, L chosen online by a bandit",
    .flags = WEFT_CAP_TREES | WEFT_CAP_DRAFT_PROBS,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = ee_create,
    .destroy = ee_destroy,
    .vtable = &ee_vtable,
};

static const weft_component_desc *const components[] = {&ee_desc};
WEFT_PLUGIN_DEFINE(components)
