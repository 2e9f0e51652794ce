/* Discounted UCB over draft budgets or exit layers, optionally with cautious
 * exploration (sdk.h). */
#include "weft/sdk.h"

#include <math.h>
#include <string.h>

/* With a share, a step counts for at most this many times its arm's mean step. */
#define WEFT_BANDIT_CLIP 4.0

void weft_bandit_init(weft_bandit *b, size_t n_arms, double c, double gamma) {
    memset(b, 0, sizeof *b);
    b->n_arms = n_arms < WEFT_BANDIT_MAX_ARMS ? n_arms : WEFT_BANDIT_MAX_ARMS;
    b->c = c;
    b->gamma = gamma > 0 && gamma <= 1 ? gamma : 1;
}

void weft_bandit_limit(weft_bandit *b, double share) { b->share = share > 0 && share < 1 ? share : 0; }

void weft_bandit_reset(weft_bandit *b) {
    double share = b->share;
    weft_bandit_init(b, b->n_arms, b->c, b->gamma);
    b->share = share;
}

double weft_bandit_mean(const weft_bandit *b, size_t a) { return b->seconds[a] > 0 ? b->tokens[a] / b->seconds[a] : 0.0; }

static size_t best_mean(const weft_bandit *b) {
    size_t best = 0;
    for (size_t a = 1; a < b->n_arms; a++)
        if (weft_bandit_mean(b, a) > weft_bandit_mean(b, best)) best = a;
    return best;
}

/* ln N of the discounted pulls, and the confidence radius of arm a (played). */
static double log_pulls(const weft_bandit *b) {
    double total = 0;
    for (size_t a = 0; a < b->n_arms; a++) total += b->n[a];
    return log(total > 1 ? total : 1);
}
static double radius(const weft_bandit *b, size_t a, double log_n) { return b->c * sqrt(2 * log_n / b->n[a]); }

/* The played arm with the best lower bound ln x_a - radius (0 if none). */
static size_t incumbent(const weft_bandit *b) {
    double log_n = log_pulls(b), best_bound = -INFINITY;
    size_t best = 0;
    for (size_t a = 0; a < b->n_arms; a++) {
        double mean = weft_bandit_mean(b, a);
        if (!b->plays[a] || !(mean > 0)) continue;
        double bound = log(mean) - radius(b, a, log_n);
        if (bound > best_bound) best_bound = bound, best = a;
    }
    return best;
}

size_t weft_bandit_best(const weft_bandit *b) { return b->share > 0 ? incumbent(b) : best_mean(b); }

/* UCB among the candidates, arms below `limit` and arm `also`: the first
 * untried one, else the highest index (the lower arm on ties). */
static size_t ucb(const weft_bandit *b, size_t limit, size_t also) {
    for (size_t a = 0; a < b->n_arms; a++)
        if ((a < limit || a == also) && !b->plays[a]) return a;
    double top = weft_bandit_mean(b, best_mean(b)), log_n = log_pulls(b);
    size_t best = also;
    double best_index = -INFINITY;
    for (size_t a = 0; a < b->n_arms; a++) {
        if (a >= limit && a != also) continue;
        double mean = weft_bandit_mean(b, a);
        double value = mean > 0 && top > 0 ? log(mean / top) : -INFINITY; /* an arm that committed nothing */
        double index = value + radius(b, a, log_n);
        if (index > best_index) best_index = index, best = a;
    }
    return best;
}

size_t weft_bandit_choose(const weft_bandit *b) {
    if (!(b->share > 0)) return ucb(b, b->n_arms, 0);
    if (!b->plays[0]) return 0;
    size_t inc = incumbent(b);
    if (b->lost >= b->share * b->elapsed) return inc;
    /* the candidates: arms up to the first that does not beat arm 0 */
    size_t frontier = 1;
    while (frontier < b->n_arms && b->plays[frontier] && weft_bandit_mean(b, frontier) > weft_bandit_mean(b, 0))
        frontier++;
    return ucb(b, frontier + 1, inc);
}

void weft_bandit_update(weft_bandit *b, size_t a, double tokens, double seconds) {
    if (a >= b->n_arms || !(tokens >= 0) || !(seconds > 0) || isinf(tokens) || isinf(seconds)) return;
    if (b->share > 0) {
        /* a step far slower than the arm's usual ones was preempted: it counts as a slow one, no more */
        if (b->n[a] > 0 && seconds > WEFT_BANDIT_CLIP * b->seconds[a] / b->n[a])
            seconds = WEFT_BANDIT_CLIP * b->seconds[a] / b->n[a];
        size_t inc = incumbent(b);
        double rate = weft_bandit_mean(b, inc);
        if (a != inc && rate > 0) b->lost += seconds - tokens / rate;
        b->elapsed += seconds;
    }
    if (b->gamma < 1)
        for (size_t k = 0; k < b->n_arms; k++) b->n[k] *= b->gamma, b->tokens[k] *= b->gamma, b->seconds[k] *= b->gamma;
    b->n[a] += 1;
    b->tokens[a] += tokens;
    b->seconds[a] += seconds;
    b->plays[a]++;
}
