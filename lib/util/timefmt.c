/* SPDX-License-Identifier: MIT */
/*
 * timefmt.c - UTC times as text (timefmt.h). The calendar is computed, not looked up with
 * timegm(): no dependency on the process's time zone state, and a date that does not exist is
 * refused instead of normalised.
 */
#include "util/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/str.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t
vg__time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool
vg__time_is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
vg_time_parse(const char *s, int64_t *out)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t y, mo, d, h, mi, se;
    size_t len;

    if (s == NULL) {
        return VG_EPROTO;
    }
    len = strlen(s);
    if ((len != 19 && !(len == 20 && s[19] == 'Z')) || s[4] != '-' || s[7] != '-' ||
        (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':') {
        return VG_EPROTO;
    }
    if (vg_parse_u64n(s, 4, 1970, 9999, &y) < 0 || vg_parse_u64n(s + 5, 2, 1, 12, &mo) < 0 ||
        vg_parse_u64n(s + 8, 2, 1, 31, &d) < 0 || vg_parse_u64n(s + 11, 2, 0, 23, &h) < 0 ||
        vg_parse_u64n(s + 14, 2, 0, 59, &mi) < 0 || vg_parse_u64n(s + 17, 2, 0, 59, &se) < 0) {
        return VG_EPROTO;
    }
    if (d > mdays[mo - 1] + (mo == 2 && vg__time_is_leap((unsigned)y))) {
        return VG_EPROTO;
    }
    *out = vg__time_days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d) * 86400 +
           (int64_t)(h * 3600 + mi * 60 + se);
    return 0;
}

void
vg_time_format(int64_t t, const char *fmt, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (len == 0) {
        return;
    }
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, fmt, &tm) == 0) {
        buf[0] = '\0';
    }
}
