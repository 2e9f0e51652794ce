/* A UCB bandit over draft budgets (BanditSpec: Hou et al. 2025, "BanditSpec:
 * Adaptive Speculative Decoding via Bandit Algorithms"; UCB1: Auer et al.
 * 2002). Each arm is a budget and each pull a decode step, which commits
 * some tokens in some time.
 *
 *  - An arm's value is its throughput, total tokens over total seconds: the
 *    mean of per-step rates would let a few slow steps (a preempted thread, a
 *    page fault) count for as little as fast ones, and overrate every arm.
 *  - The index compares throughputs by their ratio to the best arm's, on a
 *    log scale: ln(x_a / x_best) + c * sqrt(2 ln N / n_a). The ratio makes c
 *    independent of the model and machine. The log makes exploration cost
 *    aware: an arm 10% slower is 0.1 behind, as on a linear scale, but an arm
 *    20 times slower (a large tree on a backend whose rows are expensive) is
 *    3 behind, so its bonus rarely catches up and it is rarely replayed, where
 *    a linear scale would cap its gap at 1 and replay it as often as an arm
 *    half as fast.
 *  - Step costs drift (caches warm up, other processes come and go), so
 *    every pull discounts all past ones by gamma (discounted UCB, Garivier &
 *    Moulines 2011): old measurements fade, and an arm left alone regains
 *    its bonus and is measured again. gamma = 1 is plain UCB1.
 * Pure arithmetic, no clock, so tests drive it with chosen costs. */
#ifndef WEFT_BANDIT_H
#define WEFT_BANDIT_H

#include <stddef.h>
#include <stdint.h>

#define BANDIT_MAX_ARMS 32

typedef struct bandit {
    size_t n_arms;
    double c, gamma;
    /* discounted sums: pulls, tokens and seconds of each arm */
    double n[BANDIT_MAX_ARMS], tokens[BANDIT_MAX_ARMS], seconds[BANDIT_MAX_ARMS];
    uint64_t plays[BANDIT_MAX_ARMS]; /* undiscounted, for reports */
} bandit;

/* c: exploration constant; gamma in (0, 1]: discount per pull. */
void bandit_init(bandit *b, size_t n_arms, double c, double gamma);
/* Forgets every step. */
void bandit_reset(bandit *b);
/* The arm to play: each untried arm in order, then the highest index (the
 * lower arm on ties). */
size_t bandit_choose(const bandit *b);
/* Records one step of arm a: `tokens` (>= 0) committed in `seconds` (> 0). */
void bandit_update(bandit *b, size_t a, double tokens, double seconds);
/* Throughput of arm a, tokens per second (0 if never played). */
double bandit_mean(const bandit *b, size_t a);
/* The arm with the highest throughput among those played (0 if none). */
size_t bandit_best(const bandit *b);

#endif
