/* adaptive: picks each step's draft budget for any drafter with a bandit
 * (BanditSpec, Hou et al. 2025), so speculation is turned down, or off, where
 * it does not pay. The arms are budgets (max_nodes and max_depth of the
 * nested drafter's context); arm 0 skips drafting, a plain decoding step. The
 * reward is throughput: tokens committed per second, over all of an arm's
 * steps.
 *
 * The second can be measured two ways (`clock`):
 *   - "wall": from this step's draft() to the next one's, which covers
 *     everything the step cost: evaluation, the sampler chain and verifier at
 *     every tree node, the drafters' own work. Those grow with the tree too,
 *     and observe() does not report them. The last step of a request is not
 *     scored (its interval spans the next prompt's prefill).
 *   - "observe": eval_seconds + draft_seconds from observe(), plus the
 *     nested drafter's observe() time: deterministic inputs for tests.
 * Exploration is cautious by default (`explore_limit`, weft_bandit_limit):
 * budgets are explored in increasing order, a larger one only while the
 * smaller beats plain decoding, and exploring may lose at most that share of
 * the decode time. On a model whose steps cost 0.1 ms, one 16-row step costs
 * tens of plain ones, and plain UCB's exploration alone lost 5 to 15%.
 * Only budgets change, never tokens, so outputs are those of the nested
 * drafter with that budget: exact for a lossless verifier. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <weft/sdk.h>


enum { P_DRAFTER, P_ARMS, P_POLICY, P_EXPLORATION, P_DISCOUNT, P_CLOCK, P_KEEP, P_EXPLORE_LIMIT };

static const char *const policies[] = {"ucb", NULL};
static const char *const clocks[] = {"wall", "observe", NULL};

static const weft_param_desc params[] = {
    {.struct_size = sizeof(weft_param_desc), .name = "drafter", .type = WEFT_TYPE_COMPONENT,
     .flags = WEFT_PARAM_REQUIRED, .doc = "The drafter whose budget is chosen", .nested_kind = WEFT_KIND_DRAFTER},
    {.struct_size = sizeof(weft_param_desc), .name = "arms", .type = WEFT_TYPE_INT_LIST,
     .flags = WEFT_PARAM_HAS_MIN | WEFT_PARAM_HAS_MAX, .min = 1, .max = WEFT_BANDIT_MAX_ARMS, .def = "[0, 1, 2, 4, 8, 16]",
     .doc = "Draft budgets to choose from (nodes and depth; 0 = no speculation)"},
    {.struct_size = sizeof(weft_param_desc), .name = "policy", .type = WEFT_TYPE_STRING, .def = "\"ucb\"",
     .doc = "Bandit policy", .choices = policies},
    WEFT_PARAM_DOUBLE_MIN("exploration", 0, "0.3", "UCB exploration constant (relative to the best arm's throughput)"),
    WEFT_PARAM_DOUBLE("discount", 0.5, 1, "0.999", "Weight left to past steps at each step (1: never forget)"),
    {.struct_size = sizeof(weft_param_desc), .name = "clock", .type = WEFT_TYPE_STRING, .def = "\"wall\"",
     .doc = "Step cost: wall (time between drafts) or observe (reported eval + draft time)", .choices = clocks},
    WEFT_PARAM_BOOL("keep", "true", "Keep what was learnt across requests"),
    WEFT_PARAM_DOUBLE("explore_limit", 0, 0.5, "0.02",
                      "Largest share of the decode time that exploring may lose; arms explored in order "
                      "(0: plain UCB over all arms)"),
};

typedef struct adaptive {
    weft_state base;
    weft_instance *inner;
    size_t arms[WEFT_BANDIT_MAX_ARMS];
    weft_bandit ucb;
    bool wall, keep;
    /* the step in flight */
    size_t arm;          /* index of the arm played */
    bool drafted;        /* draft() ran and observe() has not yet scored it */
    double t_draft;      /* wall clock at that draft() */
    size_t committed;    /* tokens it committed (set by observe) */
    bool awaiting_next;  /* wall clock: scored at the next draft() */
    bool inner_warm;     /* the nested drafter has drafted once */
    char report[1024];
} adaptive;

static const weft_drafter_vtable *inner_vt(const adaptive *s) { return s->inner->desc->vtable; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static weft_status ad_create(const weft_env *env, const weft_value *args, void **self) {
    weft_instance *inner = args[P_DRAFTER].present ? args[P_DRAFTER].u.component : NULL;
    if (!inner || inner->desc->kind != WEFT_KIND_DRAFTER) {
        weft_error(env, "'drafter' must be a drafter");
        return WEFT_ERR_INVALID;
    }
    size_t n_arms = args[P_ARMS].present ? args[P_ARMS].u.ints.count : 0;
    if (n_arms == 0 || n_arms > WEFT_BANDIT_MAX_ARMS) {
        weft_error(env, "'arms' must list 1 to %d budgets", WEFT_BANDIT_MAX_ARMS);
        return WEFT_ERR_INVALID;
    }
    adaptive *s = weft_state_new(env, sizeof *s);
    if (!s) return WEFT_ERR_NOMEM;
    for (size_t i = 0; i < n_arms; i++) {
        int64_t v = args[P_ARMS].u.ints.items[i];
        if (v < 0) {
            weft_error(env, "arms/%zu: a budget must be >= 0, got %lld", i, (long long)v);
            weft_state_free(s);
            return WEFT_ERR_INVALID;
        }
        s->arms[i] = (size_t)v;
    }
    s->inner = inner;
    s->wall = !args[P_CLOCK].present || strcmp(args[P_CLOCK].u.s, "observe") != 0;
    s->keep = args[P_KEEP].u.b;
    weft_bandit_init(&s->ucb, n_arms, args[P_EXPLORATION].u.d, args[P_DISCOUNT].u.d);
    weft_bandit_limit(&s->ucb, args[P_EXPLORE_LIMIT].u.d);
    *self = s;
    return WEFT_OK;
}

static const char *report(void *self);

static weft_status ad_start(void *self, const weft_token *prompt, size_t n) {
    adaptive *s = self;
    if (s->ucb.plays[0]) weft_log(s->base.env, WEFT_LOG_INFO, "budget: pulls x tokens/s: %s", report(s));
    s->drafted = s->awaiting_next = false; /* the last request's last step is not scored */
    if (!s->keep) weft_bandit_reset(&s->ucb);
    const weft_drafter_vtable *v = inner_vt(s);
    return WEFT_HAS_METHOD(v, weft_drafter_vtable, start) ? v->start(s->inner->self, prompt, n) : WEFT_OK;
}

static void score(adaptive *s, double seconds) { weft_bandit_update(&s->ucb, s->arm, (double)s->committed, seconds); }

static weft_status ad_draft(void *self, const weft_draft_ctx *ctx, weft_tree *out) {
    adaptive *s = self;
    double t = now();
    if (s->awaiting_next) score(s, t - s->t_draft);
    s->awaiting_next = false;
    s->arm = weft_bandit_choose(&s->ucb);
    s->drafted = true;
    s->t_draft = t;
    out->n_nodes = 0;
    size_t budget = s->arms[s->arm];
    if (budget == 0) return WEFT_OK;
    /* A drafter's first draft may carry one-time setup (a corpus automaton
     * built or mapped, a nested backend's first evaluation); scored, it
     * would condemn its arm, and exploration would not come back to it. */
    s->drafted = s->inner_warm;
    s->inner_warm = true;
    weft_draft_ctx c = *ctx;
    if (c.max_nodes > budget) c.max_nodes = budget;
    if (c.max_depth > budget) c.max_depth = budget;
    return inner_vt(s)->draft(s->inner->self, &c, out);
}

static weft_status ad_observe(void *self, const weft_observe *obs) {
    adaptive *s = self;
    const weft_drafter_vtable *v = inner_vt(s);
    double t0 = now();
    weft_status st = WEFT_HAS_METHOD(v, weft_drafter_vtable, observe) ? v->observe(s->inner->self, obs) : WEFT_OK;
    double observe_seconds = now() - t0;
    if (!s->drafted) return st;
    s->drafted = false;
    s->committed = obs->n_accepted + 1;
    if (s->wall) s->awaiting_next = true;
    else score(s, obs->eval_seconds + obs->draft_seconds + observe_seconds);
    return st;
}

/* Action: the budget played last step. */
static int64_t arm(void *self) {
    const adaptive *s = self;
    return (int64_t)s->arms[s->arm];
}

/* Action: the budget with the best mean throughput so far. */
static int64_t best_arm(void *self) {
    const adaptive *s = self;
    return (int64_t)s->arms[weft_bandit_best(&s->ucb)];
}

/* Action: "budget: pulls x mean tok/s" for every arm. */
static const char *report(void *self) {
    adaptive *s = self;
    size_t at = 0;
    s->report[0] = 0;
    for (size_t a = 0; a < s->ucb.n_arms && at < sizeof s->report; a++)
        at += (size_t)snprintf(s->report + at, sizeof s->report - at, "%s%zu: %llu x %.1f", a ? ", " : "", s->arms[a],
                               (unsigned long long)s->ucb.plays[a], weft_bandit_mean(&s->ucb, a));
    return s->report;
}

static const weft_action_desc actions[] = {
    {.struct_size = sizeof(weft_action_desc), .name = "arm", .doc = "the budget played last step",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))arm},
    {.struct_size = sizeof(weft_action_desc), .name = "best_arm", .doc = "the budget with the best mean throughput",
     .ret = WEFT_TYPE_INT, .fn = (void (*)(void))best_arm},
    {.struct_size = sizeof(weft_action_desc), .name = "report", .doc = "pulls and mean tokens/s of every budget",
     .ret = WEFT_TYPE_STRING, .fn = (void (*)(void))report},
};

static const weft_drafter_vtable ad_vtable = {
    .struct_size = sizeof(weft_drafter_vtable),
    .start = ad_start,
    .draft = ad_draft,
    .observe = ad_observe,
};

static const weft_component_desc ad_desc = {
    .struct_size = sizeof(weft_component_desc),
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_KIND_DRAFTER,
    .name = "adaptive",
    .version = "1.0",
    .description = "Choose a drafter's budget each step with a UCB bandit on measured throughput (BanditSpec)",
    .flags = WEFT_CAP_TREES | WEFT_CAP_DRAFT_PROBS,
    .params = params,
    .n_params = WEFT_COUNT_OF(params),
    .actions = actions,
    .n_actions = WEFT_COUNT_OF(actions),
    .create = ad_create,
    .destroy = weft_state_free,
    .vtable = &ad_vtable,
};

static const weft_component_desc *const components[] = {&ad_desc};
WEFT_PLUGIN_DEFINE(components)
