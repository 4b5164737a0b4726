/* SPDX-License-Identifier: MIT */
/*
 * test_schedule.c - the scheduler of `vigie monitor` (cli/schedule.c): jitter, re-tests and their
 * doubling, recovery, intermittency (history, share, episodes), following the input list, time
 * text, and the JSON state file: round trip, atomic save, and corrupt files that must give a
 * clear error and an empty schedule, never a crash.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedule.h"
#include "util/err.h"
#include "vgtest.h"

#define MIN   60000LL
#define HOUR  (60 * MIN)
#define T0    1795953600000LL /* 2026-11-29T12:00:00Z */
#define NO_JT 0.5             /* any u: the tests below mostly run without jitter */

static struct vg_sched_conf
conf_nojitter(void)
{
    struct vg_sched_conf c;

    vg_sched_conf_init(&c);
    c.jitter_pct = 0;
    return c;
}

static struct vg_sched_url
fresh(const char *url)
{
    struct vg_sched_url u;

    memset(&u, 0, sizeof(u));
    u.url = strdup(url);
    return u;
}

static void
drop(struct vg_sched_url *u)
{
    free(u->url);
    free(u->episodes);
}

/* ---- rules ---------------------------------------------------------------------------------- */

static void
test_defaults(void **state)
{
    struct vg_sched_conf c;

    (void)state;
    vg_sched_conf_init(&c);
    assert_int_equal(c.every_ms, 15 * MIN);
    assert_int_equal(c.jitter_pct, 10);
    assert_int_equal(c.retest_after_ms, 2 * MIN);
    assert_true(c.retest_after_ms > 90000); /* leaves the GFW's 90 s penalty box */
    assert_int_equal(c.retest_max_ms, HOUR);
    assert_int_equal(c.recover_after, 3);
    assert_int_equal(c.window, 20);
}

static void
test_jitter(void **state)
{
    (void)state;
    assert_int_equal(vg_sched_jitter(15 * MIN, 0, 0.9, false), 15 * MIN);
    /* symmetric: [-10%, +10%] */
    assert_int_equal(vg_sched_jitter(15 * MIN, 10, 0.0, false), 15 * MIN - 90000);
    assert_int_equal(vg_sched_jitter(15 * MIN, 10, 0.9999999, false), 15 * MIN + 90000);
    assert_int_equal(vg_sched_jitter(15 * MIN, 10, 0.5, false), 15 * MIN);
    /* re-tests only ever later: [0, +10%] */
    assert_int_equal(vg_sched_jitter(2 * MIN, 10, 0.0, true), 2 * MIN);
    assert_int_equal(vg_sched_jitter(2 * MIN, 10, 0.9999999, true), 2 * MIN + 12000);
    for (int i = 0; i < 1000; i++) {
        double u = i / 1000.0;
        int64_t d = vg_sched_jitter(2 * MIN, 50, u, true);
        int64_t e = vg_sched_jitter(10 * MIN, 50, u, false);

        assert_true(d >= 2 * MIN && d <= 3 * MIN);
        assert_true(e >= 5 * MIN && e <= 15 * MIN);
    }
    /* a bad random number (out of range, NaN) is taken as 0; never below 1 ms */
    assert_int_equal(vg_sched_jitter(1000, 10, 7.0, true), 1000);
    assert_int_equal(vg_sched_jitter(1000, 10, NAN, true), 1000);
    assert_int_equal(vg_sched_jitter(1, 50, 0.0, false), 1);
}

static void
test_first_result_accessible(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched_url u = fresh("https://a.example/");
    struct vg_sched_change chg;

    (void)state;
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, T0, NO_JT, &chg);
    assert_true(chg.first);
    assert_true(chg.changed);
    assert_true(chg.first); /* no old verdict */
    assert_false(chg.retest);
    assert_int_equal(chg.delay_ms, 15 * MIN);
    assert_int_equal(u.next_ms, T0 + 15 * MIN);
    assert_int_equal(u.since_ms, T0);
    assert_int_equal(u.last_ms, T0);
    assert_int_equal(u.runs, 1);
    assert_string_equal(u.history, "a");
    assert_int_equal(u.n_episodes, 0);
    assert_int_equal(u.retest_ms, 0);
    /* unchanged: since stays, no change reported */
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, T0 + 15 * MIN, NO_JT, &chg);
    assert_false(chg.changed);
    assert_false(chg.first);
    assert_int_equal(u.since_ms, T0);
    assert_int_equal(u.next_ms, T0 + 30 * MIN);
    drop(&u);
}

static void
test_first_result_interfered(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched_url u = fresh("https://a.example/");
    struct vg_sched_change chg;

    (void)state;
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", T0, NO_JT, &chg);
    assert_true(chg.first && chg.changed && chg.retest);
    assert_int_equal(chg.delay_ms, 2 * MIN);
    assert_true(u.has_verdict);
    assert_int_equal(u.verdict, VG_VERDICT_BLOCKED);
    assert_string_equal(u.cause, "tls.reset");
    assert_int_equal(u.n_episodes, 1);
    assert_int_equal(u.episodes[0].start_ms, T0);
    assert_int_equal(u.episodes[0].end_ms, 0);
    drop(&u);
}

/* accessible -> intercepted: re-test after 2m, then 4, 8, 16, 32 and 60 (the cap), and on. */
static void
test_backoff_doubles_to_max(void **state)
{
    static const int64_t want[] = {2 * MIN,  4 * MIN,  8 * MIN, 16 * MIN,
                                   32 * MIN, 60 * MIN, 60 * MIN};
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched_url u = fresh("https://www.icloud.com/");
    struct vg_sched_change chg;
    int64_t now = T0;

    (void)state;
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, now, NO_JT, NULL);
    now = u.next_ms;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        vg_sched_record(&c, &u, VG_VERDICT_INTERCEPTED, "tls.mitm", now, NO_JT, &chg);
        assert_int_equal(chg.changed, i == 0);
        assert_true(chg.retest);
        assert_int_equal(chg.delay_ms, want[i]);
        if (i == 0) {
            assert_int_equal(chg.old_verdict, VG_VERDICT_ACCESSIBLE);
            assert_string_equal(chg.old_cause, "");
        }
        assert_int_equal(u.since_ms, T0 + 15 * MIN);
        now = u.next_ms;
    }
    assert_string_equal(u.history, "aiiiiiii");
    assert_int_equal(u.n_episodes, 1); /* one long episode */
    drop(&u);
}

/* A change back to accessible re-tests too; three accessible in a row end the re-tests. */
static void
test_recovery(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched_url u = fresh("https://a.example/");
    struct vg_sched_change chg;

    (void)state;
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, T0, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", T0 + 1 * HOUR, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", u.next_ms, NO_JT, NULL);
    assert_int_equal(u.retest_ms, 4 * MIN);
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, u.next_ms, NO_JT, &chg);
    assert_true(chg.changed && chg.retest);
    assert_int_equal(chg.old_verdict, VG_VERDICT_BLOCKED);
    assert_string_equal(chg.old_cause, "tls.reset");
    assert_int_equal(chg.delay_ms, 2 * MIN); /* a change starts over */
    assert_int_equal(u.ok_streak, 1);
    assert_int_equal(u.n_episodes, 1);
    assert_int_equal(u.episodes[0].start_ms, T0 + 1 * HOUR);
    assert_int_equal(u.episodes[0].end_ms, u.last_ms);
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, u.next_ms, NO_JT, &chg);
    assert_false(chg.changed);
    assert_true(chg.retest);
    assert_int_equal(chg.delay_ms, 4 * MIN);
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, u.next_ms, NO_JT, &chg);
    assert_false(chg.retest);
    assert_int_equal(chg.delay_ms, 15 * MIN);
    assert_int_equal(u.retest_ms, 0);
    assert_int_equal(u.ok_streak, 0);
    /* an interference in the middle of a recovery breaks the streak */
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", u.next_ms, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, u.next_ms, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, u.next_ms, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_DOWN, NULL, u.next_ms, NO_JT, &chg);
    assert_true(chg.changed && chg.retest);
    assert_int_equal(u.ok_streak, 0);
    assert_int_equal(u.n_episodes, 3);
    assert_string_equal(u.history, "abbaaabaad");
    drop(&u);
    /* --recover-after 1: the change to accessible is enough */
    c.recover_after = 1;
    u = fresh("https://b.example/");
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "dns.bogon", T0, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, u.next_ms, NO_JT, &chg);
    assert_true(chg.changed);
    assert_false(chg.retest);
    assert_int_equal(chg.delay_ms, 15 * MIN);
    drop(&u);
}

/* A new cause is a change (logged, re-tested soon) within the same episode. */
static void
test_cause_change(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched_url u = fresh("https://a.example/");
    struct vg_sched_change chg;

    (void)state;
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", T0, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", u.next_ms, NO_JT, NULL);
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", u.next_ms, NO_JT, NULL);
    assert_int_equal(u.retest_ms, 8 * MIN);
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.timeout", u.next_ms, NO_JT, &chg);
    assert_true(chg.changed);
    assert_false(chg.first);
    assert_string_equal(chg.old_cause, "tls.reset");
    assert_int_equal(chg.delay_ms, 2 * MIN);
    assert_int_equal(u.since_ms, u.last_ms);
    assert_int_equal(u.n_episodes, 1);
    /* cause disappearing is a change too */
    vg_sched_record(&c, &u, VG_VERDICT_UNKNOWN, NULL, u.next_ms, NO_JT, &chg);
    assert_true(chg.changed);
    assert_string_equal(u.cause, "");
    assert_int_equal(u.n_episodes, 1);
    drop(&u);
}

static void
test_jitter_applied(void **state)
{
    struct vg_sched_conf c;
    struct vg_sched_url u = fresh("https://a.example/");
    struct vg_sched_change chg;

    (void)state;
    vg_sched_conf_init(&c); /* 10% */
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, T0, 0.0, &chg);
    assert_int_equal(chg.delay_ms, 15 * MIN - 90000);
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.eof", u.next_ms, 0.0, &chg);
    assert_int_equal(chg.delay_ms, 2 * MIN); /* never sooner than --retest-after */
    vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.eof", u.next_ms, 0.9999999, &chg);
    assert_int_equal(chg.delay_ms, 4 * MIN + 24000);
    drop(&u);
}

static void
test_history_window_and_share(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched_url u = fresh("https://a.example/");
    static const enum vg_verdict seq[] = {
        VG_VERDICT_ACCESSIBLE, VG_VERDICT_BLOCKED, VG_VERDICT_INTERCEPTED, VG_VERDICT_ACCESSIBLE,
        VG_VERDICT_DOWN,       VG_VERDICT_UNKNOWN, VG_VERDICT_ACCESSIBLE,  (enum vg_verdict)99};
    unsigned bad, total;

    (void)state;
    c.window = 5;
    vg_sched_share(&u, &bad, &total);
    assert_int_equal(total, 0);
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        vg_sched_record(&c, &u, seq[i], NULL, T0 + (int64_t)i * MIN, NO_JT, NULL);
    }
    assert_string_equal(u.history, "aduau"); /* the newest 5, oldest first */
    vg_sched_share(&u, &bad, &total);
    assert_int_equal(bad, 3);
    assert_int_equal(total, 5);
    assert_int_equal(u.runs, 8);
    assert_int_equal(vg_sched_letter(VG_VERDICT_INTERCEPTED), 'i');
    assert_int_equal(vg_sched_letter((enum vg_verdict)99), 'u');
    /* window 0 or past the maximum are clamped, never overflow */
    c.window = 0;
    vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, T0 + HOUR, NO_JT, NULL);
    assert_string_equal(u.history, "a");
    c.window = 100000;
    for (int i = 0; i < 250; i++) {
        vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", T0 + 2 * HOUR + i, NO_JT, NULL);
    }
    assert_int_equal(strlen(u.history), VG_SCHED_WINDOW_MAX);
    drop(&u);
}

static void
test_episodes_capped(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched_url u = fresh("https://a.example/");

    (void)state;
    for (int i = 0; i < 40; i++) {
        vg_sched_record(&c, &u, VG_VERDICT_BLOCKED, "tls.reset", T0 + i * 2 * HOUR, NO_JT, NULL);
        vg_sched_record(&c, &u, VG_VERDICT_ACCESSIBLE, NULL, T0 + i * 2 * HOUR + HOUR, NO_JT, NULL);
    }
    assert_int_equal(u.n_episodes, VG_SCHED_EPISODES_MAX);
    /* the newest are kept */
    assert_int_equal(u.episodes[0].start_ms, T0 + 8 * 2 * HOUR);
    assert_int_equal(u.episodes[31].start_ms, T0 + 39 * 2 * HOUR);
    assert_int_equal(u.episodes[31].end_ms, T0 + 39 * 2 * HOUR + HOUR);
    drop(&u);
}

/* ---- following the list --------------------------------------------------------------------- */

static void
test_sync(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched s;
    const char *l1[] = {"https://a/", "https://b/", "https://c/", "https://b/"};
    const char *l2[] = {"https://d/", "https://c/", "https://a/", "https://d/"};
    size_t added, removed;

    (void)state;
    vg_sched_init(&s);
    vg_sched_sync(&s, &c, l1, 4, T0, &added, &removed);
    assert_int_equal(s.n, 3); /* the duplicate counted once */
    assert_int_equal(added, 3);
    assert_int_equal(removed, 0);
    assert_string_equal(s.urls[1].url, "https://b/");
    assert_int_equal(vg_sched_next_due(&s), T0);
    for (size_t i = 0; i < s.n; i++) {
        vg_sched_record(&c, &s.urls[i], VG_VERDICT_BLOCKED, "tls.reset", T0 + (int64_t)i, NO_JT,
                        NULL);
    }
    assert_int_equal(vg_sched_next_due(&s), T0 + 2 * MIN);
    /* SIGHUP with another list: b leaves, d arrives (due now), a and c keep their state and
     * follow the new order */
    vg_sched_sync(&s, &c, l2, 4, T0 + MIN, &added, &removed);
    assert_int_equal(s.n, 3);
    assert_int_equal(added, 1);
    assert_int_equal(removed, 1);
    assert_string_equal(s.urls[0].url, "https://d/");
    assert_false(s.urls[0].has_verdict);
    assert_int_equal(s.urls[0].next_ms, T0 + MIN);
    assert_string_equal(s.urls[1].url, "https://c/");
    assert_true(s.urls[1].has_verdict);
    assert_int_equal(s.urls[1].verdict, VG_VERDICT_BLOCKED);
    assert_int_equal(s.urls[1].n_episodes, 1);
    assert_string_equal(s.urls[2].url, "https://a/");
    assert_int_equal(s.urls[2].next_ms, T0 + 2 * MIN);
    assert_null(vg_sched_find(&s, "https://b/"));
    assert_non_null(vg_sched_find(&s, "https://c/"));
    assert_int_equal(vg_sched_next_due(&s), T0 + MIN);
    /* a due time from a clock that was years ahead comes back; a longer history is cut to a
     * smaller window, keeping the newest; a re-test interval past a smaller max is capped */
    s.urls[1].next_ms = T0 + 1000 * HOUR;
    s.urls[1].retest_ms = 2 * HOUR;
    snprintf(s.urls[2].history, sizeof(s.urls[2].history), "aaaabbbbiiii");
    c.window = 4;
    vg_sched_sync(&s, &c, l2, 3, T0 + 2 * MIN, &added, &removed);
    assert_int_equal(added + removed, 0);
    assert_int_equal(s.urls[1].retest_ms, HOUR);
    assert_int_equal(s.urls[1].next_ms, T0 + 2 * MIN + HOUR);
    assert_string_equal(s.urls[2].history, "iiii");
    /* an empty list empties the schedule */
    vg_sched_sync(&s, &c, NULL, 0, T0, &added, &removed);
    assert_int_equal(s.n, 0);
    assert_int_equal(removed, 3);
    assert_int_equal(vg_sched_next_due(&s), INT64_MAX);
    vg_sched_cleanup(&s);
}

/* ---- time text ------------------------------------------------------------------------------ */

static void
test_time_text(void **state)
{
    char buf[64];
    int64_t ms;

    (void)state;
    vg_sched_fmt_time(T0, false, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-29T12:00:00Z");
    vg_sched_fmt_time(T0 + 7, true, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-29T12:00:00.007Z");
    assert_int_equal(vg_sched_parse_time(buf, &ms), 0);
    assert_int_equal(ms, T0 + 7);
    assert_int_equal(vg_sched_parse_time("2026-11-29T12:00:00Z", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(vg_sched_parse_time("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(vg_sched_parse_time("2024-02-29T23:59:59.999Z", &ms), 0);
    assert_int_equal(ms, 1709251199999LL);
    assert_int_equal(vg_sched_parse_time("2000-02-29T00:00:00Z", &ms), 0);
    for (int64_t t = 0; t < 400LL * 365 * 24 * HOUR; t += 7919LL * HOUR + 12345) {
        vg_sched_fmt_time(t, true, buf, sizeof(buf));
        assert_int_equal(vg_sched_parse_time(buf, &ms), 0);
        assert_int_equal(ms, t);
    }
    {
        static const char *const bad[] = {
            "",
            "2026-11-29",
            "2026-11-29T12:00:00",
            "2026-11-29 12:00:00Z",
            "2026-11-29T12:00:00+01:00",
            "2026-02-29T12:00:00Z",
            "2100-02-29T12:00:00Z",
            "2026-04-31T12:00:00Z",
            "2026-13-01T12:00:00Z",
            "2026-00-01T12:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T12:60:00Z",
            "2026-11-29T12:00:60Z",
            "1969-12-31T23:59:59Z",
            "2026-11-29T12:00:00.5Z",
            "2026-11-29T12:00:00.0000Z",
            "2026-11-29T12:00:00,000Z",
            "+026-11-29T12:00:00Z",
            "2026-1a-29T12:00:00Z",
            "2026-11-29T12:00:00.-01Z",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_int_equal(vg_sched_parse_time(bad[i], &ms), VG_EINVAL);
        }
    }
}

static void
test_duration_text(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "0ms"},          {500, "500ms"},
        {1000, "1s"},        {1500, "1.5s"},
        {1050, "1s"},        {45000, "45s"},
        {45999, "45s"},      {120000, "2m"},
        {90000, "1m30s"},    {3600000, "1h"},
        {7500000, "2h5m"},   {86400000, "1d"},
        {273600000, "3d4h"}, {15 * 60000 - 90000, "13m30s"},
        {-5, "0ms"},
    };
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vg_sched_fmt_dur(cases[i].ms, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].want);
    }
}

/* ---- the state file ------------------------------------------------------------------------- */

/* A schedule with every kind of entry: never measured, accessible, re-testing with a closed and
 * an open episode. */
static void
build(struct vg_sched *s)
{
    struct vg_sched_conf c = conf_nojitter();
    const char *urls[] = {"https://never.example/", "https://ok.example/",
                          "https://www.icloud.com/", "http://caf\xc3\xa9.example/\"q\"\\"};
    size_t a, r;

    vg_sched_init(s);
    vg_sched_sync(s, &c, urls, 4, T0, &a, &r);
    vg_sched_record(&c, &s->urls[1], VG_VERDICT_ACCESSIBLE, NULL, T0 + 1, 0.3, NULL);
    vg_sched_record(&c, &s->urls[2], VG_VERDICT_BLOCKED, "tls.reset", T0 + 2, NO_JT, NULL);
    vg_sched_record(&c, &s->urls[2], VG_VERDICT_ACCESSIBLE, NULL, T0 + 3 * MIN, NO_JT, NULL);
    vg_sched_record(&c, &s->urls[2], VG_VERDICT_INTERCEPTED, "tls.mitm", T0 + 6 * MIN, NO_JT, NULL);
    vg_sched_record(&c, &s->urls[3], VG_VERDICT_UNKNOWN, "http.too_many_redirects", T0 + 5, NO_JT,
                    NULL);
}

static void
assert_same(const struct vg_sched *x, const struct vg_sched *y)
{
    assert_int_equal(x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
        const struct vg_sched_url *a = &x->urls[i], *b = &y->urls[i];

        assert_string_equal(a->url, b->url);
        assert_int_equal(a->has_verdict, b->has_verdict);
        assert_int_equal(a->verdict, b->verdict);
        assert_string_equal(a->cause, b->cause);
        assert_int_equal(a->since_ms, b->since_ms);
        assert_int_equal(a->last_ms, b->last_ms);
        assert_int_equal(a->next_ms, b->next_ms);
        assert_int_equal(a->retest_ms, b->retest_ms);
        assert_int_equal(a->ok_streak, b->ok_streak);
        assert_int_equal(a->runs, b->runs);
        assert_string_equal(a->history, b->history);
        assert_int_equal(a->n_episodes, b->n_episodes);
        for (size_t k = 0; k < a->n_episodes; k++) {
            assert_int_equal(a->episodes[k].start_ms, b->episodes[k].start_ms);
            assert_int_equal(a->episodes[k].end_ms, b->episodes[k].end_ms);
        }
    }
}

static void
test_state_round_trip(void **state)
{
    struct vg_sched s, t;
    char err[512];
    char *text, *again;

    (void)state;
    build(&s);
    text = vg_sched_dump(&s, T0 + HOUR);
    assert_non_null(strstr(text, "\"format\": \"vigie-monitor-state\""));
    assert_non_null(strstr(text, "\"written\": \"2026-11-29T13:00:00.000Z\""));
    assert_non_null(strstr(text, "\"history\": \"bai\""));
    vg_sched_init(&t);
    assert_int_equal(vg_sched_parse(&t, text, strlen(text), err, sizeof(err)), 0);
    assert_same(&s, &t);
    assert_int_equal(t.urls[2].n_episodes, 2);
    assert_int_equal(t.urls[2].episodes[0].end_ms, T0 + 3 * MIN);
    assert_int_equal(t.urls[2].episodes[1].end_ms, 0);
    again = vg_sched_dump(&t, T0 + HOUR);
    assert_string_equal(text, again); /* byte for byte */
    /* fields this version does not know are ignored */
    {
        const char *extra = "{\"format\":\"vigie-monitor-state\",\"version\":1,\"future\":[1],"
                            "\"urls\":[{\"url\":\"https://x/\",\"verdict\":null,\"cause\":null,"
                            "\"since\":null,\"last_run\":null,\"next_run\":"
                            "\"2026-11-29T12:00:00Z\",\"retest_ms\":0,\"ok_streak\":0,"
                            "\"runs\":0,\"history\":\"\",\"episodes\":[],\"more\":{}}]}";

        assert_int_equal(vg_sched_parse(&t, extra, strlen(extra), err, sizeof(err)), 0);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.urls[0].next_ms, T0);
    }
    free(text);
    free(again);
    vg_sched_cleanup(&s);
    vg_sched_cleanup(&t);
}

/* Every verdict of VG_VERDICT_MAP has a history letter of its own (the first of its name: a new
 * verdict whose name starts like another's needs a letter table) and survives the state file. */
static void
test_every_verdict(void **state)
{
    struct vg_sched_conf c = conf_nojitter();
    struct vg_sched s, t;
    char err[512], *text;

    (void)state;
    vg_sched_init(&s);
    vg_sched_init(&t);
    s.urls = calloc(VG_VERDICT_COUNT, sizeof(*s.urls));
    s.cap = VG_VERDICT_COUNT;
    for (int v = 0; v < VG_VERDICT_COUNT; v++) {
        char url[32];

        for (int w = 0; w < v; w++) {
            assert_int_not_equal(vg_sched_letter((enum vg_verdict)v),
                                 vg_sched_letter((enum vg_verdict)w));
        }
        snprintf(url, sizeof(url), "https://v%d.example/", v);
        s.urls[s.n].url = strdup(url);
        vg_sched_record(&c, &s.urls[s.n], (enum vg_verdict)v, NULL, T0, NO_JT, NULL);
        s.n++;
    }
    text = vg_sched_dump(&s, T0);
    assert_int_equal(vg_sched_parse(&t, text, strlen(text), err, sizeof(err)), 0);
    assert_same(&s, &t);
    for (int v = 0; v < VG_VERDICT_COUNT; v++) {
        char want[64];

        /* names on disk, as vg_verdict_name() spells them */
        snprintf(want, sizeof(want), "\"verdict\": \"%s\"", vg_verdict_name((enum vg_verdict)v));
        assert_non_null(strstr(text, want));
        assert_true(t.urls[v].has_verdict);
        assert_int_equal(t.urls[v].verdict, v);
    }
    free(text);
    vg_sched_cleanup(&s);
    vg_sched_cleanup(&t);
}

/* Replace the first occurrence of from with to in a copy of text. */
static char *
edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);

    assert_non_null(at);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void
test_state_corrupt(void **state)
{
    static const struct {
        const char *from, *to, *msg;
    } edits[] = {
        {"\"version\": 1", "\"version\": 2", "unsupported state version"},
        {"\"version\": 1", "\"version\": \"1\"", "unsupported state version"},
        {"vigie-monitor-state", "something-else", "not a vigie monitor state"},
        {"\"urls\": [", "\"urls\": {\"x\": [", "not JSON"},
        {"\"verdict\": \"accessible\"", "\"verdict\": \"fine\"", "\"verdict\" must be"},
        {"\"verdict\": \"accessible\"", "\"verdict\": 1", "\"verdict\" must be"},
        {"\"cause\": \"tls.mitm\"", "\"cause\": \"TLS MITM\"", "\"cause\" must be"},
        {"\"cause\": null", "\"cause\": \"tls.reset\"", "\"cause\" must be"}, /* no verdict */
        {"\"history\": \"a\"", "\"history\": \"ax\"", "\"history\" must be"},
        {"\"history\": \"a\"", "\"history\": 7", "\"history\" must be"},
        {"\"history\": \"a\"", "\"history\": \"\"", "does not agree"},
        {"\"since\": null", "\"since\": \"2026-11-29T12:00:00Z\"", "does not agree"},
        {"\"next_run\": \"", "\"next_run\": \"x", "\"next_run\" must be a time"},
        {"\"since\": \"", "\"since\": \"2026-02-30T00:00:00Z\", \"x\": \"", "\"since\" must be"},
        {"\"retest_ms\": 0", "\"retest_ms\": -1", "\"retest_ms\" must be an integer"},
        {"\"retest_ms\": 0", "\"retest_ms\": 1e3", "\"retest_ms\" must be an integer"},
        {"\"retest_ms\": 0", "\"retest_ms\": 99999999999999", "\"retest_ms\" must be"},
        {"\"ok_streak\": 0", "\"ok_streak\": 18446744073709551616", "not JSON"},
        {"\"runs\": 0", "\"runs\": -3", "\"runs\" must be"},
        {"\"episodes\": []", "\"episodes\": {}", "\"episodes\" must be"},
        {"\"episodes\": []", "\"episodes\": [{\"start\": null, \"end\": null}]",
         "\"episodes\" must hold"},
        {"\"episodes\": []",
         "\"episodes\": [{\"start\": \"2026-11-29T12:00:00Z\", \"end\": "
         "\"2026-11-29T11:00:00Z\"}]",
         "\"episodes\" must hold"},
        {"\"episodes\": []", "\"episodes\": [7]", "\"episodes\" must hold"},
        {"\"url\": \"https://ok.example/\"", "\"url\": \"https://never.example/\"",
         "appears twice"},
        {"\"url\": \"https://ok.example/\"", "\"url\": \"https://ok.example/\\n\"",
         "\"url\" must be a URL"},
        {"\"url\": \"https://ok.example/\"", "\"url\": \"https://ok\\u0000.example/\"", "not JSON"},
        {"\"url\": \"https://ok.example/\"", "\"url\": \"\"", "\"url\" must be a URL"},
        {"\"url\": \"https://ok.example/\"", "\"url\": [\"x\"]", "\"url\" must be a URL"},
        {"\"url\": \"https://ok.example/\"", "\"url\": \"a\", \"url\": \"b\"", "not JSON"},
        {"{", "[", "not JSON"},
        {"\"urls\": [", "\"urls\": [7, ", "urls[0] is not an object"},
    };
    struct vg_sched good, s;
    char err[512];
    char *text;

    (void)state;
    build(&good);
    text = vg_sched_dump(&good, T0);
    vg_sched_init(&s);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *bad = edit(text, edits[i].from, edits[i].to);

        err[0] = '\0';
        assert_int_equal(vg_sched_parse(&s, bad, strlen(bad), err, sizeof(err)), VG_EINVAL);
        if (strstr(err, edits[i].msg) == NULL) {
            fail_msg("edit %zu: message '%s' lacks '%s'", i, err, edits[i].msg);
        }
        assert_int_equal(s.n, 0); /* a fresh, empty schedule */
        assert_null(s.urls);
        free(bad);
    }
    /* Every truncation and many byte flips: an error or a valid state, never a crash. */
    for (size_t len = 0; len < strlen(text); len++) {
        if (vg_sched_parse(&s, text, len, err, sizeof(err)) == 0) {
            fail_msg("a truncation at %zu parsed", len);
        }
        assert_int_equal(s.n, 0);
        assert_true(err[0] != '\0');
    }
    {
        uint32_t x = 2463534242u;
        size_t len = strlen(text);
        char *copy = malloc(len);

        for (int round = 0; round < 4000; round++) {
            memcpy(copy, text, len);
            for (int k = 0; k < 3; k++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                copy[x % len] = (char)(x >> 24);
            }
            if (vg_sched_parse(&s, copy, len, err, sizeof(err)) < 0) {
                assert_int_equal(s.n, 0);
            }
        }
        free(copy);
    }
    vg_sched_cleanup(&s);
    vg_sched_cleanup(&good);
    free(text);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void
test_state_files(void **state)
{
    char dir[] = "/tmp/vigie-test-schedule-XXXXXX";
    char path[256], other[256], err[512];
    struct vg_sched s, t;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/monitor.json", dir);
    vg_sched_init(&t);
    /* no file yet: a fresh schedule, not an error */
    assert_int_equal(vg_sched_load(&t, path, err, sizeof(err)), 1);
    assert_int_equal(t.n, 0);
    build(&s);
    assert_int_equal(vg_sched_save(&s, path, T0, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(vg_sched_load(&t, path, err, sizeof(err)), 0);
    assert_same(&s, &t);
    /* saved again over the old one; no temporary file is left behind */
    vg_sched_record(&(struct vg_sched_conf){15 * MIN, 0, 2 * MIN, HOUR, 3, 20}, &s.urls[0],
                    VG_VERDICT_DOWN, NULL, T0 + HOUR, NO_JT, NULL);
    assert_int_equal(vg_sched_save(&s, path, T0 + HOUR, err, sizeof(err)), 0);
    assert_int_equal(vg_sched_load(&t, path, err, sizeof(err)), 0);
    assert_true(t.urls[0].has_verdict);
    assert_int_equal(t.urls[0].verdict, VG_VERDICT_DOWN);
    snprintf(other, sizeof(other), "%s/monitor.json.%ld.tmp", dir, (long)getpid());
    assert_int_not_equal(access(other, F_OK), 0);
    /* corrupt on disk: an error that names the file's problem, an empty schedule */
    write_file(path, "{\"format\": \"vigie-monitor-state\", \"version\": 1, \"urls\": [");
    assert_true(vg_sched_load(&t, path, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "not JSON"));
    assert_int_equal(t.n, 0);
    write_file(path, "");
    assert_true(vg_sched_load(&t, path, err, sizeof(err)) < 0);
    write_file(path, "\x01\x02garbage");
    assert_true(vg_sched_load(&t, path, err, sizeof(err)) < 0);
    /* a directory is not a state file */
    assert_true(vg_sched_load(&t, dir, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "not a regular file"));
    /* a save that cannot happen leaves the old file alone and says why */
    snprintf(other, sizeof(other), "%s/missing/monitor.json", dir);
    assert_true(vg_sched_save(&s, other, T0, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "cannot write"));
    unlink(path);
    rmdir(dir);
    vg_sched_cleanup(&s);
    vg_sched_cleanup(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_first_result_accessible),
        cmocka_unit_test(test_first_result_interfered),
        cmocka_unit_test(test_backoff_doubles_to_max),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_cause_change),
        cmocka_unit_test(test_jitter_applied),
        cmocka_unit_test(test_history_window_and_share),
        cmocka_unit_test(test_episodes_capped),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_time_text),
        cmocka_unit_test(test_duration_text),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_every_verdict),
        cmocka_unit_test(test_state_corrupt),
        cmocka_unit_test(test_state_files),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
