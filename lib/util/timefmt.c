/* SPDX-License-Identifier: MIT */
/*
 * timefmt.c - measurement times as text (timefmt.h). Days from and to the civil calendar are
 * Howard Hinnant's algorithms (proleptic Gregorian, exact for every year handled here).
 */
#include "util/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/str.h"

#define VG__TIME_MIN 0LL            /* 1970-01-01T00:00:00Z */
#define VG__TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

static bool
vg__timefmt_is_leap(uint64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of y-m-d. */
static int64_t
vg__timefmt_days_from_civil(int64_t y, unsigned m, unsigned d)
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

/* The date of z days since 1970-01-01 (z >= 0). */
static void
vg__timefmt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = z / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int
vg_time_parse(const char *s, int64_t *out)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t y, mo, d, h, mi, se;
    size_t len = s != NULL ? strnlen(s, 21) : 0;

    if ((len != 19 && !(len == 20 && s[19] == 'Z')) || s[4] != '-' || s[7] != '-' ||
        (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':') {
        return VG_EINVAL;
    }
    if (vg_parse_u64n(s, 4, 1970, 9999, &y) < 0 || vg_parse_u64n(s + 5, 2, 1, 12, &mo) < 0 ||
        vg_parse_u64n(s + 8, 2, 1, 31, &d) < 0 || vg_parse_u64n(s + 11, 2, 0, 23, &h) < 0 ||
        vg_parse_u64n(s + 14, 2, 0, 59, &mi) < 0 || vg_parse_u64n(s + 17, 2, 0, 59, &se) < 0) {
        return VG_EINVAL;
    }
    if (d > mdays[mo - 1] + (mo == 2 && vg__timefmt_is_leap(y))) {
        return VG_EINVAL;
    }
    *out = vg__timefmt_days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d) * 86400 +
           (int64_t)(h * 3600 + mi * 60 + se);
    return 0;
}

void
vg_time_format(int64_t t, char *buf, size_t len)
{
    int64_t y, days, secs;
    unsigned m, d;

    if (len == 0) {
        return;
    }
    if (t < VG__TIME_MIN || t > VG__TIME_MAX) {
        t = 0;
    }
    days = t / 86400;
    secs = t % 86400;
    vg__timefmt_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d, (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60));
}
