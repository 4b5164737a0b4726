/* SPDX-License-Identifier: MIT */
/*
 * timefmt.h - UTC calendar times as text, both ways: OONI's "YYYY-MM-DD hh:mm:ss" (a
 * measurement's measurement_start_time) read strictly, and any strftime format written. No I/O,
 * no time zone: everything is UTC. The collector's store and its alerts read times with these.
 */
#ifndef VG_UTIL_TIMEFMT_H
#define VG_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VG_TIME_ISO8601  "%Y-%m-%dT%H:%M:%SZ" /* "2026-11-29T11:13:46Z" (the query API's times) */
#define VG_TIME_OONI     "%Y-%m-%d %H:%M:%S"  /* "2026-11-29 11:13:46" (OONI's data format) */
#define VG_TIME_TEXT_MAX 21                   /* "YYYY-MM-DDThh:mm:ssZ" and its NUL */

/*
 * "YYYY-MM-DD hh:mm:ss" in UTC (OONI), also with 'T' in place of the space and with a final 'Z'
 * (ISO 8601, "2026-11-29T11:13:46Z"), into seconds since the epoch. Strict: exactly 19 (or 20
 * with the 'Z') characters, two-digit fields, a year from 1970 to 9999, a real calendar date
 * (leap years counted), hours 00-23, minutes and seconds 00-59 (no leap second). s may be NULL.
 * 0, or VG_EPROTO with *out unchanged.
 */
VG_MUST_USE int vg_time_parse(const char *s, int64_t *out);

/* t (UTC seconds since the epoch) written with strftime's fmt (VG_TIME_ISO8601...) into buf[len];
 * "" when t is out of range or the text does not fit. */
void vg_time_format(int64_t t, const char *fmt, char *buf, size_t len);

#endif
