/* drafter adaptive: the UCB bandit on synthetic rewards (it finds the best
 * arm, tries every arm first, ignores the reward scale), then the plugin
 * with injected step timings: it converges to the budget with the best
 * throughput and turns speculation off when drafts are never accepted. */
#include <weft/sdk.h>
#include "stub_drafter.h"

/* ---- the bandit alone ---- */

/* A noisy step cost around 1 / rate: uniform in [0.5, 1.5] / rate seconds for one token. */
static double noisy(uint64_t *seed, double rate) { return (0.5 + (double)(test_mix(seed) >> 11) * 0x1.0p-53) / rate; }

Test(bandit, tries_every_arm_first) {
    weft_bandit b;
    weft_bandit_init(&b, 4, 0.3, 1);
    for (size_t a = 0; a < 4; a++) {
        cr_assert_eq(weft_bandit_choose(&b), a);
        weft_bandit_update(&b, a, 1.0, 1.0);
    }
}

Test(bandit, converges_to_the_best_arm) {
    static const double means[] = {1.0, 1.5, 2.0, 1.2, 0.4};
    weft_bandit b;
    weft_bandit_init(&b, 5, 0.3, 1);
    uint64_t seed = 1;
    size_t late_best = 0;
    for (int step = 0; step < 5000; step++) {
        size_t a = weft_bandit_choose(&b);
        if (step >= 4000) late_best += a == 2;
        weft_bandit_update(&b, a, 1.0, noisy(&seed, means[a]));
    }
    cr_assert_eq(weft_bandit_best(&b), 2);
    cr_assert_gt(late_best, 900, "the best arm got %zu of the last 1000 pulls", late_best);
    cr_assert_gt(b.plays[2], 4000);
    for (size_t a = 0; a < 5; a++) cr_assert_geq(b.plays[a], 1, "arm %zu was never tried", a);
    /* five times slower: on the log scale it is ln 5 behind, and not worth replaying */
    cr_assert_lt(b.plays[4], 10, "the slowest arm was played %llu times", (unsigned long long)b.plays[4]);
}

/* Throughput is tokens over seconds in total: one slow step of ten weighs
 * as its time says, not as one rate among ten. */
Test(bandit, throughput_is_a_ratio_of_sums) {
    weft_bandit b;
    weft_bandit_init(&b, 1, 0.3, 1);
    for (int i = 0; i < 9; i++) weft_bandit_update(&b, 0, 1, 1e-4);
    weft_bandit_update(&b, 0, 1, 0.0991);
    cr_assert_float_eq(weft_bandit_mean(&b, 0), 100.0, 1e-9); /* 10 tokens in 0.1 s, not ~9000 */
}

/* After a change of costs, discounting lets the bandit follow: plain
 * decoding gets three times cheaper at step 3000 and becomes the best arm.
 * Counts plays of arm 0 in the 1000 steps after the change. */
static size_t after_change(double gamma) {
    double rates[] = {1.0, 2.0, 1.5};
    weft_bandit b;
    weft_bandit_init(&b, 3, 0.3, gamma);
    uint64_t seed = 4;
    size_t plays = 0;
    for (int step = 0; step < 4000; step++) {
        if (step == 3000) rates[0] = 3.0;
        size_t a = weft_bandit_choose(&b);
        if (step >= 3000) plays += a == 0;
        weft_bandit_update(&b, a, 1.0, noisy(&seed, rates[a]));
    }
    return plays;
}

Test(bandit, discounting_follows_a_change) {
    size_t discounted = after_change(0.995), plain = after_change(1.0);
    cr_assert_gt(discounted, 800, "the new best arm got %zu of 1000 pulls", discounted);
    cr_assert_lt(plain, discounted - 200, "plain UCB: %zu, discounted: %zu", plain, discounted);
}

Test(bandit, choices_do_not_depend_on_the_reward_scale) {
    static const double means[] = {3.0, 2.0, 2.5};
    weft_bandit a, b;
    weft_bandit_init(&a, 3, 0.5, 0.99);
    weft_bandit_init(&b, 3, 0.5, 0.99);
    uint64_t sa = 9, sb = 9;
    for (int step = 0; step < 500; step++) {
        size_t x = weft_bandit_choose(&a), y = weft_bandit_choose(&b);
        cr_assert_eq(x, y, "step %d", step);
        weft_bandit_update(&a, x, 1.0, noisy(&sa, means[x]));
        weft_bandit_update(&b, y, 1.0, 1e-4 * noisy(&sb, means[y])); /* a machine 10^4 times faster */
    }
}

Test(bandit, ignores_bad_rewards_and_resets) {
    weft_bandit b;
    weft_bandit_init(&b, 2, 1, 0.9);
    weft_bandit_update(&b, 0, -1, 1);
    weft_bandit_update(&b, 0, NAN, 1);
    weft_bandit_update(&b, 0, INFINITY, 1);
    weft_bandit_update(&b, 0, 1, 0);
    weft_bandit_update(&b, 0, 1, -1);
    weft_bandit_update(&b, 0, 1, NAN);
    weft_bandit_update(&b, 7, 1, 1);
    cr_assert_eq(b.plays[0] + b.plays[1], 0);
    weft_bandit_update(&b, 1, 2, 0.5);
    cr_assert_eq(b.plays[1], 1);
    cr_assert_float_eq(weft_bandit_mean(&b, 1), 4.0, 1e-12);
    weft_bandit_reset(&b);
    cr_assert_eq(b.plays[1], 0);
    cr_assert_eq(b.n_arms, 2);
    cr_assert_float_eq(b.gamma, 0.9, 0);
}

/* ---- cautious exploration (weft_bandit_limit) ---- */

/* Plays `steps` steps of a simulated decoder: arm a commits tokens[a] tokens
 * per step at a step cost of cost[a] (times noise, and 5% of steps preempted
 * for 20 plain steps). After the first 1000 steps, counts the steps off arm 0
 * and returns the share of the time they lost, by the noise-free cost model,
 * against arm 0 committing the same tokens. */
static double simulate(weft_bandit *b, const double *tokens, const double *cost, int steps, uint64_t seed,
                       size_t *off) {
    double lost = 0, total = 0;
    *off = 0;
    for (int step = 0; step < steps; step++) {
        size_t a = weft_bandit_choose(b);
        if (step >= 1000) {
            *off += a != 0;
            lost += cost[a] - tokens[a] * cost[0] / tokens[0];
            total += cost[a];
        }
        double seconds = cost[a] * noisy(&seed, 1.0);
        if (test_mix(&seed) % 20 == 0) seconds += 20 * cost[0];
        weft_bandit_update(b, a, tokens[a], seconds);
    }
    return lost / total;
}

/* Every speculative arm loses, as on a tiny model where a k-row step costs
 * several single-token steps: arm 1 commits 1.6 tokens for 1.8 times the
 * cost (0.89x), arm 5 is 5 times slower. */
static const double losing_tokens[] = {1, 1.6, 2.0, 2.4, 2.8, 3.0};
static const double losing_cost[] = {1, 1.8, 2.6, 4.0, 7.0, 15.0};

Test(bandit, cautious_exploration_loses_little_when_every_arm_loses) {
    weft_bandit b;
    weft_bandit_init(&b, 6, 0.3, 0.999);
    weft_bandit_limit(&b, 0.02);
    size_t off;
    double lost = simulate(&b, losing_tokens, losing_cost, 20000, 3, &off);
    cr_assert_eq(weft_bandit_best(&b), 0);
    cr_assert_lt(off, 19000 / 10, "%zu of 19000 steps off plain decoding", off);
    cr_assert_lt(lost, 0.025, "exploring lost %.1f%% of the time", 100 * lost);
    /* arm 2 and beyond are explored only while arm 1 beats plain decoding */
    cr_assert_lt(b.plays[3] + b.plays[4] + b.plays[5], 20, "%llu %llu %llu", (unsigned long long)b.plays[3],
                 (unsigned long long)b.plays[4], (unsigned long long)b.plays[5]);
    /* plain UCB, for comparison, loses far more */
    weft_bandit u;
    weft_bandit_init(&u, 6, 0.3, 0.999);
    size_t plain_off;
    double plain = simulate(&u, losing_tokens, losing_cost, 20000, 3, &plain_off);
    cr_assert_gt(plain, 3 * lost, "plain UCB lost %.1f%%, cautious %.1f%%", 100 * plain, 100 * lost);
}

Test(bandit, cautious_exploration_finds_a_winning_budget) {
    /* throughput 1, 1.5, 1.9, 2.2, 1.9, 1.2: arm 3 is best */
    static const double tokens[] = {1, 1.8, 2.5, 3.3, 3.6, 3.6};
    static const double cost[] = {1, 1.2, 1.316, 1.5, 1.895, 3.0};
    weft_bandit b;
    weft_bandit_init(&b, 6, 0.3, 0.999);
    weft_bandit_limit(&b, 0.02);
    size_t off;
    simulate(&b, tokens, cost, 6000, 5, &off);
    cr_assert_eq(weft_bandit_best(&b), 3);
    cr_assert_gt(b.plays[3], 3000, "the best arm got %llu of 6000 steps", (unsigned long long)b.plays[3]);
}

Test(bandit, limit_survives_reset_and_zero_is_plain_ucb) {
    weft_bandit b;
    weft_bandit_init(&b, 3, 0.3, 1);
    weft_bandit_limit(&b, 0.05);
    weft_bandit_update(&b, 0, 1, 1);
    weft_bandit_reset(&b);
    cr_assert_float_eq(b.share, 0.05, 0);
    cr_assert_eq(b.plays[0], 0);
    cr_assert_float_eq(b.elapsed, 0, 0);
    weft_bandit_limit(&b, 0);
    for (size_t a = 0; a < 3; a++) { /* round robin first, as without a limit */
        cr_assert_eq(weft_bandit_choose(&b), a);
        weft_bandit_update(&b, a, 1.0, 10.0);
    }
}

/* ---- the plugin, with injected timings ---- */

static test_env te;
static pf fx;
static stub inner;
static weft_instance inner_inst;

static void setup(void) {
    test_env_open(&te, "test adaptive");
    memset(&inner, 0, sizeof inner);
    inner.id = 1;
    inner.len = 1000; /* drafts whatever budget it gets */
    inner_inst = stub_instance(&inner, te.env);
}
static void teardown(void) {
    pf_close(&fx);
    test_env_close(&te);
}
TestSuite(adaptive, .init = setup, .fini = teardown);

/* explore_limit < 0: the default */
static void open_limited(const int64_t *arms, size_t n_arms, const char *clock, double discount, double limit) {
    pf_close(&fx);
    cr_assert(pf_load(&fx, WEFT_KIND_DRAFTER, "adaptive"));
    pf_arg args[] = {{.name = "drafter", .value = {.present = true, .u.component = &inner_inst}},
                     {.name = "arms", .value = {.present = true, .u.ints = {arms, n_arms}}},
                     PF_STRING("clock", clock), PF_DOUBLE("discount", discount), PF_DOUBLE("explore_limit", limit)};
    cr_assert_eq(pf_create(&fx, args, limit < 0 ? 4 : 5), WEFT_OK, "%s", pf_error(&fx));
}

static void open_discounted(const int64_t *arms, size_t n_arms, const char *clock, double discount) {
    open_limited(arms, n_arms, clock, discount, -1);
}

static void open_with(const int64_t *arms, size_t n_arms, const char *clock) {
    open_discounted(arms, n_arms, clock, 1.0);
}

static int64_t call_int(const char *action) {
    for (size_t i = 0; i < fx.desc->n_actions; i++)
        if (strcmp(fx.desc->actions[i].name, action) == 0)
            return ((int64_t(*)(void *))fx.desc->actions[i].fn)(fx.self);
    cr_assert_fail("no action %s", action);
    return 0;
}

/* One decode step: draft, then observe with a synthetic cost model. The
 * target accepts the first `accept_upto` drafted tokens; evaluating r rows
 * costs 1 ms + `per_row` ms each, and drafting `draft_seconds`. Returns the
 * nodes drafted. */
static size_t step_drafting(size_t accept_upto, double per_row_ms, double draft_seconds) {
    weft_rng rng;
    weft_draft_ctx ctx = test_draft_ctx(TOKENS(1, 2, 3), 3, 64, 16, 100, &rng);
    pf_tree tr;
    pf_tree_init(&tr);
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->draft(fx.self, &ctx, &tr.t), WEFT_OK, "%s", pf_error(&fx));
    size_t n = tr.t.n_nodes, acc = n < accept_upto ? n : accept_upto;
    static const int32_t path[64] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    weft_observe ob = {.struct_size = sizeof ob, .tree = &tr.t, .accepted = path, .n_accepted = acc,
                       .history = TOKENS(1, 2, 3), .n_history = 3,
                       .eval_seconds = 1e-3 * (1.0 + per_row_ms * (double)(n + 1)), .draft_seconds = draft_seconds};
    cr_assert_eq(v->observe(fx.self, &ob), WEFT_OK);
    return n;
}

static size_t step(size_t accept_upto, double per_row_ms) { return step_drafting(accept_upto, per_row_ms, 1e-6); }

Test(adaptive, descriptor) {
    open_with((const int64_t[]){0, 4}, 2, "observe");
    cr_assert_eq(fx.desc->kind, WEFT_KIND_DRAFTER);
    cr_assert_str_eq(fx.desc->params[1].def, "[0, 1, 2, 4, 8, 16]");
}

Test(adaptive, budgets_reach_the_drafter_and_arm_zero_skips_it) {
    open_limited((const int64_t[]){0, 3, 100}, 3, "observe", 1.0, 0);
    /* plain UCB: the first steps try each arm in order */
    cr_assert_eq(step(0, 0.1), 0);
    cr_assert_eq(inner.drafts, 0, "arm 0 must not draft");
    cr_assert_eq(call_int("arm"), 0);
    cr_assert_eq(step(0, 0.1), 3);
    cr_assert_eq(inner.seen_nodes, 3);
    cr_assert_eq(inner.seen_depth, 3);
    cr_assert_eq(step(0, 0.1), 3, "the drafter's first draft is not scored, so budget 3 plays again");
    cr_assert_eq(step(0, 0.1), 16); /* 100 is capped by the context: 64 nodes, depth 16 */
    cr_assert_eq(inner.seen_nodes, 64);
    cr_assert_eq(inner.seen_depth, 16);
    cr_assert_eq(inner.observes, 4, "every observe reaches the drafter");
}

/* Plays `steps` steps and returns how often the last 500 drafted `want` nodes. */
static size_t play(int steps, size_t accept_upto, double per_row_ms, size_t want) {
    size_t late = 0;
    for (int i = 0; i < steps; i++) {
        size_t n = step(accept_upto, per_row_ms);
        if (i >= steps - 500) late += n == want;
    }
    return late;
}

Test(adaptive, converges_to_the_best_throughput) {
    /* accepts up to 6: throughput (min(a, 6) + 1) / (1 + 0.1 (a + 1)) is best at a = 8 */
    static const int64_t arms[] = {0, 2, 4, 8, 16};
    open_with(arms, 5, "observe");
    size_t late = play(3000, 6, 0.1, 8);
    cr_assert_eq(call_int("best_arm"), 8);
    cr_assert_gt(late, 450, "budget 8 played %zu of the last 500 steps", late);
    /* discounted (the default) keeps measuring the runner-up, budget 4, which is 10% slower */
    open_discounted(arms, 5, "observe", 0.999);
    late = play(3000, 6, 0.1, 8);
    cr_assert_eq(call_int("best_arm"), 8);
    cr_assert_gt(late, 350, "budget 8 played %zu of the last 500 steps", late);
}

Test(adaptive, turns_speculation_off_when_nothing_is_accepted) {
    static const int64_t arms[] = {0, 2, 4, 8, 16};
    open_with(arms, 5, "observe");
    size_t late = play(2000, 0, 0.05, 0);
    cr_assert_eq(call_int("best_arm"), 0);
    cr_assert_gt(late, 450, "plain decoding played %zu of the last 500 steps", late);
    open_discounted(arms, 5, "observe", 0.999);
    late = play(2000, 0, 0.05, 0);
    cr_assert_eq(call_int("best_arm"), 0);
    cr_assert_gt(late, 400, "plain decoding played %zu of the last 500 steps", late);
    const char *rep = ((const char *(*)(void *))fx.desc->actions[2].fn)(fx.self);
    cr_assert(strstr(rep, "0: ") && strstr(rep, "16: "), "%s", rep);
}

Test(adaptive, a_drafters_first_draft_is_not_scored) {
    /* The nested drafter's first draft takes a second (say, building a corpus
     * automaton); every later one a microsecond, and drafts of 4 are all
     * accepted. Scored, that second would keep budget 4 from ever being
     * played again under the default exploration limit. */
    static const int64_t arms[] = {0, 4};
    open_with(arms, 2, "observe");
    cr_assert_eq(step(4, 0.1), 0);
    cr_assert_eq(step_drafting(4, 0.1, 1.0), 4);
    size_t late = play(1000, 4, 0.1, 4);
    cr_assert_eq(call_int("best_arm"), 4);
    cr_assert_gt(late, 450, "budget 4 played %zu of the last 500 steps", late);
}

Test(adaptive, wall_clock_scores_a_step_at_the_next_draft) {
    static const int64_t arms[] = {0, 4};
    open_with(arms, 2, "wall");
    const weft_drafter_vtable *v = PF_DRAFTER(&fx);
    cr_assert_eq(v->start(fx.self, TOKENS(1), 1), WEFT_OK);
    cr_assert_eq(inner.starts, 1);
    step(4, 0);
    step(4, 0); /* scores the first */
    cr_assert_eq(call_int("arm"), 4);
    /* a new request: the last step of the old one is not scored */
    cr_assert_eq(v->start(fx.self, TOKENS(1), 1), WEFT_OK);
    step(4, 0);
    const char *rep = ((const char *(*)(void *))fx.desc->actions[2].fn)(fx.self);
    cr_assert(strstr(rep, "0: 1 x") && strstr(rep, "4: 0 x"), "%s", rep);
}

Test(adaptive, rejects_negative_budgets) {
    cr_assert(pf_load(&fx, WEFT_KIND_DRAFTER, "adaptive"));
    pf_arg args[] = {{.name = "drafter", .value = {.present = true, .u.component = &inner_inst}},
                     {.name = "arms", .value = {.present = true, .u.ints = {(const int64_t[]){2, -1}, 2}}}};
    cr_assert_eq(pf_create(&fx, args, 2), WEFT_ERR_INVALID);
    cr_assert(strstr(pf_error(&fx), "arms/1"), "%s", pf_error(&fx));
}
