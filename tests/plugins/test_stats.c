/* tests/common/stats.c against closed forms of the incomplete gamma:
 * P(1, x) = 1 - e^-x; Q(1/2, x) = erfc(sqrt x); Q(3/2, x) = erfc(sqrt x) +
 * 2 sqrt(x/pi) e^-x; for even dof 2k, chi2_sf(x) = e^(-x/2) sum_{i<k} (x/2)^i / i!
 * (reference values computed from these in Python). */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

static void near(double got, double want, double rel) {
    cr_assert(fabs(got - want) <= rel * fabs(want), "got %.17g want %.17g", got, want);
}

Test(stats, closed_forms) {
    for (double x = 0.01; x < 50; x *= 1.7) {
        near(stats_gamma_p(1, x), -expm1(-x), 1e-12);
        near(stats_gamma_q(0.5, x), erfc(sqrt(x)), 1e-10);
        near(stats_gamma_q(1.5, x), erfc(sqrt(x)) + 2 * sqrt(x / M_PI) * exp(-x), 1e-10);
        near(stats_gamma_p(3, x) + stats_gamma_q(3, x), 1, 1e-14);
    }
    near(stats_gamma_q(0.5, 30), 9.485737571073843e-15, 1e-8); /* deep tail */
    near(stats_gamma_q(0.5, 0.3), 0.4385780260809999, 1e-12);
    near(stats_gamma_q(1.5, 2), 0.26146412994911067, 1e-12);
}

Test(stats, chi2_sf) {
    near(stats_chi2_sf(3.841458820694124, 1), 0.05, 1e-9);
    near(stats_chi2_sf(100, 50), 3.454931382984864e-05, 1e-9);
    near(stats_chi2_sf(10, 36), 0.9999945836617298, 1e-12);
    near(stats_chi2_sf(35, 36), 0.5159966368678864, 1e-10);
    cr_assert_eq(stats_chi2_sf(0, 4), 1);
    for (double x = 0.1; x < 40; x += 1.3) near(stats_chi2_sf(x, 2), exp(-x / 2), 1e-12);
}

Test(stats, chi2_test) {
    /* exact fit: statistic 0, p-value 1 */
    double chi2;
    cr_assert_eq(stats_chi2_test((const long[]){25, 25, 50}, (const double[]){.25, .25, .5}, 3, &chi2), 1);
    cr_assert_eq(chi2, 0);
    /* (60-50)^2/50 + (40-50)^2/50 = 4 on 1 dof: p = erfc(sqrt 2) = 0.0455 */
    near(stats_chi2_test((const long[]){60, 40}, (const double[]){.5, .5}, 2, &chi2), erfc(sqrt(2)),
         1e-12);
    near(chi2, 4, 1e-12);
    /* an impossible cell that was observed fails outright; an empty one is not a dof */
    cr_assert_eq(stats_chi2_test((const long[]){5, 5, 1}, (const double[]){.5, .5, 0}, 3, NULL), 0);
    near(stats_chi2_test((const long[]){60, 40, 0}, (const double[]){.5, .5, 0}, 3, NULL),
         erfc(sqrt(2)), 1e-12);
}
