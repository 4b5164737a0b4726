/* SPDX-License-Identifier: MIT */
/*
 * timefmt.h - measurement times as text, UTC: OONI's "2026-11-29 11:13:46" and the ISO 8601 form
 * "2026-11-29T11:13:46Z" that vigie serve answers with. One parser, one formatter, no time zone
 * and no locale (timegm, strptime and strftime are not needed).
 */
#ifndef VG_UTIL_TIMEFMT_H
#define VG_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VG_TIME_TEXT_MAX 21 /* "YYYY-MM-DDThh:mm:ssZ" and its NUL */

/*
 * Parse "YYYY-MM-DD hh:mm:ss" (OONI's measurement_start_time), also with 'T' instead of the
 * space, and either with a final 'Z': UTC seconds since the epoch into *out. Strict: exactly
 * these 19 or 20 characters, digits where digits go, years 1970 to 9999, the days each month
 * has (29 February in leap years only), hours 0-23, minutes and seconds 0-59 (no leap second).
 * Errors: VG_EINVAL, also for s NULL (*out untouched).
 */
VG_MUST_USE int vg_time_parse(const char *s, int64_t *out);

/*
 * Format t (UTC seconds) as "YYYY-MM-DDThh:mm:ssZ" into buf (len bytes, VG_TIME_TEXT_MAX is
 * enough; a shorter buf gets a cut, NUL-terminated string). A time outside the years 1970 to 9999
 * is written as "1970-01-01T00:00:00Z", so that the text is always a valid time.
 */
void vg_time_format(int64_t t, char *buf, size_t len);

#endif
