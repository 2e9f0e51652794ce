/* Discounted UCB over draft budgets (bandit.h). */
#include "bandit.h"

#include <math.h>
#include <string.h>

void bandit_init(bandit *b, size_t n_arms, double c, double gamma) {
    memset(b, 0, sizeof *b);
    b->n_arms = n_arms < BANDIT_MAX_ARMS ? n_arms : BANDIT_MAX_ARMS;
    b->c = c;
    b->gamma = gamma > 0 && gamma <= 1 ? gamma : 1;
}

void bandit_reset(bandit *b) { bandit_init(b, b->n_arms, b->c, b->gamma); }

double bandit_mean(const bandit *b, size_t a) { return b->seconds[a] > 0 ? b->tokens[a] / b->seconds[a] : 0.0; }

size_t bandit_best(const bandit *b) {
    size_t best = 0;
    for (size_t a = 1; a < b->n_arms; a++)
        if (bandit_mean(b, a) > bandit_mean(b, best)) best = a;
    return best;
}

size_t bandit_choose(const bandit *b) {
    double total = 0;
    for (size_t a = 0; a < b->n_arms; a++) {
        if (!b->plays[a]) return a;
        total += b->n[a];
    }
    double top = bandit_mean(b, bandit_best(b));
    double log_n = log(total > 1 ? total : 1);
    size_t best = 0;
    double best_index = -INFINITY;
    for (size_t a = 0; a < b->n_arms; a++) {
        double mean = bandit_mean(b, a);
        double value = mean > 0 && top > 0 ? log(mean / top) : -INFINITY; /* an arm that committed nothing */
        double index = value + b->c * sqrt(2 * log_n / b->n[a]);
        if (index > best_index) best_index = index, best = a;
    }
    return best;
}

void bandit_update(bandit *b, size_t a, double tokens, double seconds) {
    if (a >= b->n_arms || !(tokens >= 0) || !(seconds > 0) || isinf(tokens) || isinf(seconds)) return;
    if (b->gamma < 1)
        for (size_t k = 0; k < b->n_arms; k++) b->n[k] *= b->gamma, b->tokens[k] *= b->gamma, b->seconds[k] *= b->gamma;
    b->n[a] += 1;
    b->tokens[a] += tokens;
    b->seconds[a] += seconds;
    b->plays[a]++;
}
