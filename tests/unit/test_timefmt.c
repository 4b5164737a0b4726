/* SPDX-License-Identifier: MIT */
/*
 * test_timefmt.c - UTC times as text (lib/util/timefmt.h): the strict parser of OONI's
 * "YYYY-MM-DD hh:mm:ss" (and its ISO 8601 spelling), and the formatter.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/timefmt.h"
#include "vgtest.h"

static void
test_parse_valid(void **state)
{
    static const struct {
        const char *s;
        int64_t t;
    } cases[] = {
        {"1970-01-01 00:00:00", 0},
        {"1970-01-01 00:00:01", 1},
        {"2026-11-29 11:13:46", 1795950826},
        {"2026-11-29T11:13:46", 1795950826},
        {"2026-11-29T11:13:46Z", 1795950826},
        {"2026-11-29 11:13:46Z", 1795950826},
        {"2000-02-29 00:00:00", 951782400}, /* divisible by 400: leap */
        {"2024-02-29 23:59:59", 1709251199},
        {"2024-12-31 23:59:59", 1735689599},
        {"2038-01-19 03:14:08", 2147483648LL}, /* past 32-bit time_t */
        {"9999-12-31 23:59:59", 253402300799LL},
    };
    int64_t t;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t = -1;
        assert_int_equal(vg_time_parse(cases[i].s, &t), 0);
        assert_int_equal(t, cases[i].t);
    }
}

static void
test_parse_agrees_with_timegm(void **state)
{
    char s[32];
    int64_t t;

    (void)state;
    /* Every day of a few years around the leap rules, at a time that exercises each field. */
    for (int64_t d = 0; d < 4 * 366; d++) {
        time_t want = (time_t)(946684800 + d * 86400 + 23 * 3600 + 59 * 60 + 58); /* from 2000 */
        struct tm tm;

        assert_non_null(gmtime_r(&want, &tm));
        assert_true(strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) > 0);
        assert_int_equal(vg_time_parse(s, &t), 0);
        assert_int_equal(t, (int64_t)want);
        assert_int_equal(timegm(&tm), want);
    }
}

static void
test_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-11-29",
        "2026-11-29 11:13",
        "2026-11-29 11:13:4",
        "2026-11-29 11:13:466",
        "2026-11-29 11:13:46ZZ",
        "2026-11-29 11:13:46+00",
        "2026-11-29_11:13:46",
        "2026/11/29 11:13:46",
        "2026-11-29 11.13.46",
        "1969-12-31 23:59:59", /* before the epoch */
        "2026-00-10 00:00:00",
        "2026-13-10 00:00:00",
        "2026-11-00 00:00:00",
        "2026-11-31 00:00:00", /* 30 days in November */
        "2026-02-29 00:00:00", /* not a leap year */
        "1900-02-29 00:00:00", /* before 1970 anyway */
        "2100-02-29 00:00:00", /* divisible by 100, not by 400 */
        "2026-11-29 24:00:00",
        "2026-11-29 11:60:00",
        "2026-11-29 11:13:60", /* no leap second */
        "2026-11-29 -1:13:46",
        "2026-11-29 +1:13:46",
        "2026-11-29  1:13:46",
        "2O26-11-29 11:13:46",
        " 2026-11-29 11:13:46",
    };
    int64_t t = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vg_time_parse(bad[i], &t), VG_EPROTO);
        assert_int_equal(t, 42); /* untouched */
    }
    assert_int_equal(vg_time_parse(NULL, &t), VG_EPROTO);
    /* A NUL inside the text ends it: too short. */
    assert_int_equal(vg_time_parse("2026-11-29 11:13\0:46", &t), VG_EPROTO);
}

static void
test_format(void **state)
{
    char buf[32];
    int64_t t;

    (void)state;
    vg_time_format(1795950826, VG_TIME_ISO8601, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-29T11:13:46Z");
    vg_time_format(1795950826, VG_TIME_OONI, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-29 11:13:46");
    assert_int_equal(vg_time_parse(buf, &t), 0);
    assert_int_equal(t, 1795950826);
    vg_time_format(0, "%Y%m%d%H%M%S", buf, sizeof(buf));
    assert_string_equal(buf, "19700101000000");
    /* Too small a buffer: "", never a cut time. */
    vg_time_format(1795950826, VG_TIME_ISO8601, buf, 20);
    assert_string_equal(buf, "");
    vg_time_format(1795950826, VG_TIME_ISO8601, buf, 21);
    assert_string_equal(buf, "2026-11-29T11:13:46Z");
    /* len 0 writes nothing. */
    buf[0] = 'x';
    vg_time_format(0, VG_TIME_ISO8601, buf, 0);
    assert_int_equal(buf[0], 'x');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_agrees_with_timegm),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
