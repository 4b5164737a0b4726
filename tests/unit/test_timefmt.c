/* SPDX-License-Identifier: MIT */
/* test_timefmt.c - measurement times as text (lib/util/timefmt.c): the strict parser, the
 * formatter, and the two against the C library's gmtime over a sweep of times. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/timefmt.h"
#include "vgtest.h"

static int64_t
parse(const char *s)
{
    int64_t t = -42;

    assert_int_equal(vg_time_parse(s, &t), 0);
    return t;
}

static void
test_parse_forms(void **state)
{
    (void)state;
    assert_int_equal(parse("1970-01-01 00:00:00"), 0);
    assert_int_equal(parse("2026-11-29 11:13:46"), 1795950826);
    assert_int_equal(parse("2026-11-29T11:13:46"), 1795950826);
    assert_int_equal(parse("2026-11-29T11:13:46Z"), 1795950826);
    assert_int_equal(parse("2026-11-29 11:13:46Z"), 1795950826);
    assert_int_equal(parse("2000-02-29 12:00:00"), 951825600);   /* leap: divisible by 400 */
    assert_int_equal(parse("2024-02-29T23:59:59Z"), 1709251199); /* leap */
    assert_int_equal(parse("9999-12-31 23:59:59"), 253402300799);
}

static void
test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-11-29",
        "2026-11-29 11:13",
        "2026-11-29 11:13:4",
        "2026-11-29 11:13:460",
        "2026-11-29 11:13:46 ",
        "2026-11-29 11:13:46z",
        "2026-11-29 11:13:46+00:00",
        "2026-11-29x11:13:46",
        "2026/11/29 11:13:46",
        "2026-11-29 11-13-46",
        "1969-12-31 23:59:59", /* before the epoch */
        "2026-00-10 00:00:00",
        "2026-13-10 00:00:00",
        "2026-11-00 00:00:00",
        "2026-11-31 00:00:00", /* November has 30 days */
        "2026-04-31 00:00:00",
        "2026-02-29 00:00:00", /* not a leap year */
        "1900-02-29 00:00:00", /* out of range anyway */
        "2100-02-29 00:00:00", /* divisible by 100, not by 400 */
        "2026-11-29 24:00:00",
        "2026-11-29 11:60:00",
        "2026-11-29 11:13:60", /* no leap second */
        "2026-11-29 1a:13:46",
        "+026-11-29 11:13:46",
        "2026-+1-29 11:13:46",
        "2026-11-29 11:13:-6",
        " 2026-11-29 11:13:46",
    };
    int64_t t = 7;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (vg_time_parse(bad[i], &t) != VG_EINVAL) {
            fail_msg("accepted '%s'", bad[i]);
        }
    }
    assert_int_equal(vg_time_parse(NULL, &t), VG_EINVAL);
    assert_int_equal(t, 7); /* untouched */
}

static void
test_format(void **state)
{
    char buf[VG_TIME_TEXT_MAX], small[11];

    (void)state;
    vg_time_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    vg_time_format(1795950826, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-29T11:13:46Z");
    vg_time_format(253402300799, buf, sizeof(buf));
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    vg_time_format(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    vg_time_format(253402300800, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    vg_time_format(1795950826, small, sizeof(small));
    assert_string_equal(small, "2026-11-29");
    vg_time_format(1795950826, buf, 0); /* nothing written, no crash */
}

/* Every day from 1970 to 2400 (and odd seconds): format, parse back, and agree with gmtime. */
static void
test_round_trip_against_gmtime(void **state)
{
    char buf[VG_TIME_TEXT_MAX], ref[32];

    (void)state;
    for (int64_t t = 0; t < 13569465600; t += 86400 + 3607) {
        time_t tt = (time_t)t;
        struct tm tm;

        vg_time_format(t, buf, sizeof(buf));
        assert_non_null(gmtime_r(&tt, &tm));
        assert_true(strftime(ref, sizeof(ref), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
        assert_string_equal(buf, ref);
        assert_int_equal(parse(buf), t);
        buf[10] = ' ';
        buf[19] = '\0';
        assert_int_equal(parse(buf), t);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip_against_gmtime),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
