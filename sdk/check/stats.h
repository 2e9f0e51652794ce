/* Statistics for randomised checks: the regularised incomplete gamma
 * function and the chi-square goodness-of-fit test built on it. The product
 * tool weft-plugin-check owns this code (static library weft_check_stats);
 * test suites link it rather than keep a copy. */
#ifndef WEFT_CHECK_STATS_H
#define WEFT_CHECK_STATS_H

#include <stddef.h>

/* P(a, x) = γ(a, x) / Γ(a) and Q(a, x) = 1 - P(a, x), for a > 0, x >= 0. */
double stats_gamma_p(double a, double x);
double stats_gamma_q(double a, double x);

/* Upper tail of the chi-square distribution with `dof` degrees of freedom:
 * P(X >= x) = Q(dof / 2, x / 2). */
double stats_chi2_sf(double x, double dof);

/* Pearson's goodness of fit of `observed` counts against probabilities
 * `expected` (summing to 1) over n cells; cells with expected 0 must be
 * empty (else the p-value is 0) and are not counted as degrees of freedom.
 * Returns the p-value; *chi2 (if not NULL) gets the statistic. */
double stats_chi2_test(const long *observed, const double *expected, size_t n, double *chi2);

#endif
