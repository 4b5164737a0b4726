/* SPDX-License-Identifier: MIT */
/*
 * test_alerts.c - verdict-change alerts (server/alerts.c) without a server: the state machine
 * fed with the store's events (changes, late events, flapping and stable again), the events'
 * fields, the option checks, and the command runner. The webhook is covered end to end by
 * tests/integration/test_alerts.py (http and https), its client by test_poster.c.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "vgtest.h"

#define T0 1795737600 /* 2026-11-27T00:00:00Z */

struct sink {
    pthread_mutex_t mu;
    json_t *events; /* array */
};

static void
collect(const char *json, void *arg)
{
    struct sink *s = arg;
    json_t *e = json_loads(json, 0, NULL);

    assert_non_null(e);
    pthread_mutex_lock(&s->mu);
    json_array_append_new(s->events, e);
    pthread_mutex_unlock(&s->mu);
}

static struct vg_alerts *
start(struct sink *s, unsigned flap, unsigned window)
{
    struct vg_alerts_opts o = {
        .base_url = "https://vigie.example/",
        .flap_changes = flap,
        .flap_window_s = window,
        .sink = collect,
        .sink_arg = s,
    };
    struct vg_alerts *a;
    char err[256];

    pthread_mutex_init(&s->mu, NULL);
    s->events = json_array();
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), 0);
    return a;
}

/* Stop (which delivers what is queued) and hand the events over. */
static json_t *
finish(struct vg_alerts *a, struct sink *s)
{
    vg_alerts_free(a);
    pthread_mutex_destroy(&s->mu);
    return s->events;
}

/* What the store would have derived (store_events.c), for the keys of a test: the latest
 * verdict and since when it holds per (input, asn). */
struct hist {
    char input[64];
    uint32_t asn;
    char verdict[16];
    int64_t since;
} g_hist[16];
size_t g_nhist;

/* One measurement of (input, network) at t with verdict v, in time order, as the store and the
 * poller hand it over: an event when the verdict changed (or a first one with interference),
 * else the latest state (vg_alerts_hold). */
static void
observe(struct vg_alerts *a, const char *input, uint32_t asn, int64_t t, const char *v)
{
    static unsigned serial;
    struct vg_alerts_event e = {.input = input, .domain = "www.icloud.com", .probe_cc = "CN"};
    struct hist *h = NULL;
    char uid[VG_UID_MAX], evidence[64];

    for (size_t i = 0; i < g_nhist; i++) {
        if (strcmp(g_hist[i].input, input) == 0 && g_hist[i].asn == asn) {
            h = &g_hist[i];
        }
    }
    snprintf(uid, sizeof(uid), "20261127000000.000000_CN_web_connectivity_%016x", ++serial);
    snprintf(evidence, sizeof(evidence), "saw %s", v);
    e.probe_asn = asn;
    e.measurement_uid = uid;
    e.time = t;
    e.source = "ingest";
    e.evidence = evidence;
    e.cause = strcmp(v, "intercepted") == 0 ? "tls.mitm" : NULL;
    assert_true(vg_verdict_parse(v, &e.new_verdict));
    if (h == NULL) {
        h = &g_hist[g_nhist++];
        snprintf(h->input, sizeof(h->input), "%s", input);
        h->asn = asn;
        snprintf(h->verdict, sizeof(h->verdict), "%s", v);
        h->since = t;
        if (e.new_verdict == VG_VERDICT_BLOCKED || e.new_verdict == VG_VERDICT_INTERCEPTED) {
            vg_alerts_event(a, &e);
        }
        return;
    }
    if (strcmp(h->verdict, v) == 0) {
        vg_alerts_hold(a, &e, h->since);
        return;
    }
    e.has_old = true;
    assert_true(vg_verdict_parse(h->verdict, &e.old_verdict));
    snprintf(h->verdict, sizeof(h->verdict), "%s", v);
    h->since = t;
    vg_alerts_event(a, &e);
}

static const char *
str(const json_t *e, const char *k)
{
    return json_string_value(json_object_get(e, k));
}

static void
test_one_change_one_event(void **state)
{
    struct sink s;
    struct vg_alerts *a = start(&s, 0, 0);
    const char *url = "https://www.icloud.com/";
    json_t *evs, *e;

    (void)state;
    g_nhist = 0;
    observe(a, url, 4134, T0, "accessible"); /* first sight: nothing */
    observe(a, url, 4134, T0 + 60, "accessible");
    observe(a, url, 4134, T0 + 600, "intercepted");
    observe(a, url, 4134, T0 + 1200, "intercepted");
    /* another network, first sight: interference from the first measurement is an event */
    observe(a, url, 3269, T0 + 1200, "blocked");
    observe(a, url, 1299, T0 + 1200, "down"); /* first sight, no interference: nothing */
    evs = finish(a, &s);
    assert_int_equal(json_array_size(evs), 2);
    e = json_array_get(evs, 1);
    assert_string_equal(str(e, "event"), "verdict_change");
    assert_string_equal(str(json_object_get(e, "network"), "probe_asn"), "AS3269");
    assert_true(json_is_null(json_object_get(e, "old_verdict")));
    assert_string_equal(str(e, "new_verdict"), "blocked");
    assert_string_equal(str(e, "first_seen"), "2026-11-27T00:20:00Z");
    e = json_array_get(evs, 0);
    assert_string_equal(str(e, "event"), "verdict_change");
    assert_string_equal(str(e, "target"), url);
    assert_string_equal(str(e, "domain"), "www.icloud.com");
    assert_string_equal(str(json_object_get(e, "network"), "probe_cc"), "CN");
    assert_string_equal(str(json_object_get(e, "network"), "probe_asn"), "AS4134");
    assert_string_equal(str(e, "old_verdict"), "accessible");
    assert_string_equal(str(e, "new_verdict"), "intercepted");
    assert_string_equal(str(e, "first_seen"), "2026-11-27T00:10:00Z");
    assert_string_equal(str(e, "evidence"), "saw intercepted");
    assert_string_equal(str(e, "cause"), "tls.mitm");
    assert_non_null(strstr(str(e, "measurement_url"), "https://vigie.example/#/measurement/"));
    assert_non_null(strstr(str(e, "measurement_url"), str(e, "measurement_uid")));
    assert_string_equal(str(e, "source"), "ingest");
    assert_true(json_is_false(json_object_get(e, "late")));
    json_decref(evs);
}

/* A late event (an old measurement placed in the past) is told as it is and moves nothing. */
static void
test_late_event(void **state)
{
    struct sink s;
    struct vg_alerts *a = start(&s, 3, 3600);
    const char *url = "https://www.icloud.com/";
    struct vg_alerts_event e = {.input = url,
                                .probe_cc = "CN",
                                .probe_asn = 4134,
                                .has_old = true,
                                .old_verdict = VG_VERDICT_ACCESSIBLE,
                                .new_verdict = VG_VERDICT_BLOCKED,
                                .measurement_uid = "u1",
                                .time = T0 - 3600,
                                .late = true,
                                .source = "ingest"};
    json_t *evs;

    (void)state;
    g_nhist = 0;
    observe(a, url, 4134, T0, "accessible");
    observe(a, url, 4134, T0 + 60, "intercepted");
    vg_alerts_event(a, &e);
    e.source = "reanalyze";
    e.late = false;
    e.old_verdict = VG_VERDICT_INTERCEPTED;
    e.time = T0 + 60;
    vg_alerts_event(a, &e);
    evs = finish(a, &s);
    assert_int_equal(json_array_size(evs), 3);
    assert_true(json_is_true(json_object_get(json_array_get(evs, 1), "late")));
    assert_string_equal(str(json_array_get(evs, 1), "new_verdict"), "blocked");
    assert_string_equal(str(json_array_get(evs, 1), "domain"), "");
    assert_true(json_is_null(json_object_get(json_array_get(evs, 1), "evidence")));
    /* the late one did not count as a change: the third is a change, not intermittent */
    assert_string_equal(str(json_array_get(evs, 2), "event"), "verdict_change");
    assert_string_equal(str(json_array_get(evs, 2), "source"), "reanalyze");
    assert_string_equal(str(json_array_get(evs, 2), "old_verdict"), "intercepted");
    json_decref(evs);
}

static void
test_flapping_once_then_stable(void **state)
{
    struct sink s;
    struct vg_alerts *a = start(&s, 3, 3600);
    const char *url = "https://www.icloud.com/";
    json_t *evs, *flap, *share;
    int64_t t = T0;

    (void)state;
    g_nhist = 0;
    for (int i = 0; i < 50; i++, t += 120) {
        observe(a, url, 4134, t, i % 2 ? "intercepted" : "accessible");
    }
    /* Hold one verdict: stable once the whole window passed without a change. */
    for (int i = 0; i < 40; i++, t += 120) {
        observe(a, url, 4134, t, "accessible");
    }
    evs = finish(a, &s);
    assert_int_equal(json_array_size(evs), 4);
    assert_string_equal(str(json_array_get(evs, 0), "event"), "verdict_change");
    assert_string_equal(str(json_array_get(evs, 1), "event"), "verdict_change");
    flap = json_array_get(evs, 2);
    assert_string_equal(str(flap, "event"), "intermittent");
    assert_string_equal(str(flap, "new_verdict"), "intermittent");
    assert_string_equal(str(flap, "old_verdict"), "accessible");
    assert_string_equal(str(flap, "latest_verdict"), "intercepted");
    assert_string_equal(str(flap, "first_seen"), "2026-11-27T00:02:00Z");
    assert_int_equal(json_integer_value(json_object_get(flap, "changes")), 3);
    assert_int_equal(json_integer_value(json_object_get(flap, "observed")), 3);
    share = json_object_get(flap, "share");
    assert_true(json_real_value(json_object_get(share, "intercepted")) > 0.66);
    assert_true(json_real_value(json_object_get(share, "accessible")) < 0.34);
    assert_string_equal(str(json_array_get(evs, 3), "event"), "stable");
    assert_string_equal(str(json_array_get(evs, 3), "old_verdict"), "intermittent");
    assert_string_equal(str(json_array_get(evs, 3), "new_verdict"), "accessible");
    json_decref(evs);
}

static void
test_options(void **state)
{
    static const char *const bad[] = {
        "ftp://x/",         "http://",      "http://h:0/",  "http://h:65536/",
        "http://u@h/",      "http://[::1/", "http://h/a b", "http://[::1]x/",
        "http://h:8x/path", "tls://h/",     "dns://h/",     "hooks.example/x",
    };
    static const char *const good[] = {"http://127.0.0.1:9/hook?t=1",
                                       "http://h",
                                       "http://[::1]:80/",
                                       "http://h.example/#frag",
                                       "https://hooks.example/x",
                                       "https://[::1]:8443/h?t=1"};
    struct vg_alerts_opts o = {.webhook = NULL};
    struct vg_alerts *a;
    char err[256];

    (void)state;
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    assert_null(a);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.webhook = bad[i];
        assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
        assert_null(a);
    }
    o.webhook = "http://h/?token=secret";
    o.flap_changes = 1;
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    o.flap_changes = 0;
    o.webhook = "http://[::1/?token=secret";
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    assert_null(strstr(err, "secret")); /* the URL may hold one: never quoted */
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        o.webhook = good[i];
        assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), 0);
        vg_alerts_free(a);
    }
    /* A trust store for https webhooks: loaded at start, and only with a webhook. */
    o.webhook = "https://hooks.example/x";
    o.ca_file = "/nonexistent/ca.pem";
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    assert_null(a);
    assert_non_null(strstr(err, "--alert-ca-file"));
    o.webhook = NULL;
    o.exec = "true";
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    assert_non_null(strstr(err, "--alert-ca-file"));
    o.exec = NULL;
    o.ca_file = NULL;
    o.webhook = "http://h/";
    o.flap_changes = 1;
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    o.flap_changes = VG_ALERTS_FLAP_MAX + 1;
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    o.webhook = NULL;
    o.flap_changes = 0;
    o.exec = "";
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), VG_EINVAL);
    vg_alerts_free(NULL);
}

static void
test_exec(void **state)
{
    char dir[] = "/tmp/vigie-test-alerts-XXXXXX", out[128], cmd[256], buf[4096];
    struct vg_alerts_opts o = {.flap_changes = 0};
    struct vg_alerts_stats st;
    struct vg_alerts *a;
    char err[256];
    FILE *f;
    size_t n;
    json_t *e;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof(out), "%s/events", dir);
    /* A command that reads its input, and one that does not read it and fails: no SIGPIPE. */
    snprintf(cmd, sizeof(cmd), "cat >> %s", out);
    o.exec = cmd;
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), 0);
    g_nhist = 0;
    observe(a, "https://www.icloud.com/", 1, T0, "accessible");
    observe(a, "https://www.icloud.com/", 1, T0 + 1, "blocked");
    vg_alerts_stats(a, &st);
    vg_alerts_free(a);
    f = fopen(out, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_true(n > 0 && buf[n - 1] == '\n'); /* one JSON line */
    e = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(e);
    assert_string_equal(str(e, "new_verdict"), "blocked");
    json_decref(e);

    o.exec = "exit 3";
    assert_int_equal(vg_alerts_new(&o, &a, err, sizeof(err)), 0);
    observe(a, "https://www.icloud.com/", 2, T0, "accessible");
    observe(a, "https://www.icloud.com/", 2, T0 + 1, "blocked");
    /* Wait (bounded: 30 s) for the delivery to be tried, then read the counters. */
    for (int i = 0; i < 3000; i++) {
        vg_alerts_stats(a, &st);
        if (st.failed + st.delivered > 0) {
            break;
        }
        usleep(10000);
    }
    assert_int_equal(st.events, 1);
    assert_int_equal(st.failed, 1);
    vg_alerts_free(a);
    unlink(out);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_change_one_event),
        cmocka_unit_test(test_flapping_once_then_stable),
        cmocka_unit_test(test_late_event),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_exec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
