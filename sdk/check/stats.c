/* Regularised incomplete gamma by the two classic expansions (Abramowitz &
 * Stegun 6.5.29 series; Legendre's continued fraction 6.5.31 evaluated with
 * the modified Lentz method), each used where it converges fast. */
#include "stats.h"

#include <math.h>

#define EPS 1e-15
#define TINY 1e-300
#define MAX_ITER 10000

/* P(a, x) = x^a e^-x / Γ(a+1) * Σ_n x^n / ((a+1)...(a+n)), for x < a + 1. */
static double gamma_p_series(double a, double x) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < MAX_ITER; n++) {
        term *= x / (a + n);
        sum += term;
        if (fabs(term) < fabs(sum) * EPS) break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) = x^a e^-x / Γ(a) * 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...))),
 * for x >= a + 1. */
static double gamma_q_fraction(double a, double x) {
    double b = x + 1 - a, c = 1 / TINY, d = 1 / b, h = d;
    for (int i = 1; i < MAX_ITER; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < TINY) d = TINY;
        c = b + an / c;
        if (fabs(c) < TINY) c = TINY;
        d = 1 / d;
        double delta = d * c;
        h *= delta;
        if (fabs(delta - 1) < EPS) break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double stats_gamma_p(double a, double x) {
    if (!(a > 0) || !(x >= 0)) return NAN;
    if (x == 0) return 0;
    return x < a + 1 ? gamma_p_series(a, x) : 1 - gamma_q_fraction(a, x);
}

double stats_gamma_q(double a, double x) {
    if (!(a > 0) || !(x >= 0)) return NAN;
    if (x == 0) return 1;
    return x < a + 1 ? 1 - gamma_p_series(a, x) : gamma_q_fraction(a, x);
}

double stats_chi2_sf(double x, double dof) { return stats_gamma_q(dof / 2, x / 2); }

double stats_chi2_test(const long *observed, const double *expected, size_t n, double *chi2) {
    long total = 0;
    for (size_t i = 0; i < n; i++) total += observed[i];
    double x = 0;
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        if (expected[i] <= 0) {
            if (observed[i] > 0) x = INFINITY;
            continue;
        }
        double e = expected[i] * (double)total, diff = (double)observed[i] - e;
        x += diff * diff / e;
        cells++;
    }
    if (chi2) *chi2 = x;
    if (isinf(x)) return 0;
    return cells > 1 ? stats_chi2_sf(x, (double)(cells - 1)) : 1;
}
