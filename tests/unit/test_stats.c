/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - the Wilson score interval at 95% (lib/util/stats.h), against values computed
 * independently (R's prop.test without continuity correction / binom::binom.wilson).
 */
#include <math.h>

#include "util/stats.h"
#include "vgtest.h"

static void
test_known_values(void **state)
{
    static const struct {
        unsigned k, n;
        double lo, hi;
    } cases[] = {
        {4, 10, 0.1682, 0.6873},  /* the probe's "intercepted 4/10 (40%, 95% CI 17-69%)" */
        {4, 8, 0.2152, 0.7848},   /* symmetric around a half */
        {10, 20, 0.2993, 0.7007}, /* "intercepted 10/20 (50%, CI 30-70%)" */
        {0, 10, 0.0, 0.2775},     /* never: the upper bound still says how rare it may be */
        {10, 10, 0.7225, 1.0},    {1, 1, 0.2065, 1.0}, {1, 1000, 0.0002, 0.0056},
    };
    double lo, hi;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vg_wilson95(cases[i].k, cases[i].n, &lo, &hi);
        assert_true(fabs(lo - cases[i].lo) < 0.00006);
        assert_true(fabs(hi - cases[i].hi) < 0.00006);
        /* the share lies inside (up to rounding at the edges) */
        assert_true(lo <= (double)cases[i].k / cases[i].n + 1e-12);
        assert_true((double)cases[i].k / cases[i].n <= hi + 1e-12);
    }
}

static void
test_edges(void **state)
{
    double lo = -1, hi = -1;

    (void)state;
    /* nothing measured: nothing known */
    vg_wilson95(0, 0, &lo, &hi);
    assert_true(lo == 0.0 && hi == 1.0);
    /* k > n is clamped, never outside [0, 1] */
    vg_wilson95(7, 5, &lo, &hi);
    assert_true(lo > 0.5 && hi == 1.0);
    vg_wilson95(0, 4000000000u, &lo, &hi);
    assert_true(lo == 0.0 && hi > 0.0 && hi < 0.000001);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_edges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
