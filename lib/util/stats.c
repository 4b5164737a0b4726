/* SPDX-License-Identifier: MIT */
/*
 * stats.c - the Wilson score interval (stats.h).
 */
#include "util/stats.h"

#include <math.h>

void
vg_wilson95(unsigned k, unsigned n, double *lo, double *hi)
{
    const double z = 1.959964;
    double p, z2n, centre, half;

    if (n == 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    if (k > n) {
        k = n;
    }
    p = (double)k / n;
    z2n = z * z / n;
    centre = (p + z2n / 2) / (1 + z2n);
    half = z * sqrt(p * (1 - p) / n + z2n / (4.0 * n)) / (1 + z2n);
    *lo = centre - half < 0 ? 0 : centre - half;
    *hi = centre + half > 1 ? 1 : centre + half;
}
