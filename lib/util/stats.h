/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the share of trials with a verdict and its uncertainty: the Wilson score interval
 * at 95%, used by the probe's table (intermittent interference) and the collector's window
 * summaries (/api/v1/targets?window=). The dashboard has the same formula in web/src/stats.js.
 */
#ifndef VG_UTIL_STATS_H
#define VG_UTIL_STATS_H

/*
 * The Wilson score interval at 95% (z = 1.959964) for k successes in n trials, as fractions
 * in [0, 1]: *lo <= k/n <= *hi. n = 0 gives [0, 1] (nothing known); k > n is clamped to n.
 */
void vg_wilson95(unsigned k, unsigned n, double *lo, double *hi);

#endif
