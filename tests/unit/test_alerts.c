/* SPDX-License-Identifier: MIT */
/*
 * test_alerts.c - verdict-change alerts (server/alerts.c) without a server: the state machine
 * (changes, copies, late measurements, flapping and stable again, seeding), the events' fields,
 * the option checks, and the command runner. The webhook is covered end to end by
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

/* Observe one measurement of (input, network) at t with verdict v; returns its uid. */
static void
observe(struct vg_alerts *a, const char *input, uint32_t asn, int64_t t, const char *v,
        const char *uid_answered)
{
    static unsigned serial;
    struct vg_store_meas row;
    char raw[256];

    memset(&row, 0, sizeof(row));
    snprintf(row.measurement_uid, sizeof(row.measurement_uid),
             "20261127000000.000000_CN_web_connectivity_%016x", ++serial);
    snprintf(raw, sizeof(raw), "{\"test_keys\":{\"x_verdict\":\"%s\",\"x_evidence\":\"saw %s\"}}",
             v, v);
    row.raw = raw;
    row.raw_len = strlen(raw);
    row.has_input = true;
    snprintf(row.input, sizeof(row.input), "%s", input);
    snprintf(row.domain, sizeof(row.domain), "www.icloud.com");
    snprintf(row.probe_cc, sizeof(row.probe_cc), "CN");
    row.probe_asn = asn;
    row.start_time = t;
    snprintf(row.x_verdict, sizeof(row.x_verdict), "%s", v);
    if (strcmp(v, "intercepted") == 0) {
        snprintf(row.x_cause, sizeof(row.x_cause), "tls.mitm");
    }
    vg_alerts_observe(a, &row, uid_answered != NULL ? uid_answered : row.measurement_uid);
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
    observe(a, url, 4134, T0, "accessible", NULL); /* first sight: nothing */
    observe(a, url, 4134, T0 + 60, "accessible", NULL);
    observe(a, url, 4134, T0 + 600, "intercepted", NULL);
    observe(a, url, 4134, T0 + 300, "accessible", NULL);        /* late: ignored */
    observe(a, url, 4134, T0 + 900, "accessible", "other-uid"); /* a copy: ignored */
    observe(a, url, 4134, T0 + 1200, "intercepted", NULL);
    /* another network, first sight: interference from the first measurement is an event */
    observe(a, url, 3269, T0 + 1200, "blocked", NULL);
    observe(a, url, 1299, T0 + 1200, "down", NULL); /* first sight, no interference: nothing */
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
    for (int i = 0; i < 50; i++, t += 120) {
        observe(a, url, 4134, t, i % 2 ? "intercepted" : "accessible", NULL);
    }
    /* Hold one verdict: stable once the whole window passed without a change. */
    for (int i = 0; i < 40; i++, t += 120) {
        observe(a, url, 4134, t, "accessible", NULL);
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
test_seeded_state(void **state)
{
    struct sink s;
    struct vg_alerts *a = start(&s, 0, 0);
    json_t *page = json_loads(
        "{\"results\":[{\"input\":\"https://www.icloud.com/\",\"domain\":\"www.icloud.com\","
        "\"probe_cc\":\"CN\",\"probe_asn\":\"AS4134\",\"x_verdict\":\"intercepted\","
        "\"x_cause\":\"tls.mitm\",\"since\":\"2026-11-26T00:00:00Z\","
        "\"last_seen\":\"2026-11-27T00:00:00Z\",\"measurement_uid\":\"x\"}],\"next_cursor\":null}",
        0, NULL);
    json_t *bad = json_loads("{\"results\":[{\"input\":\"x\",\"probe_asn\":\"4134\"}]}", 0, NULL);
    json_t *evs;

    (void)state;
    assert_int_equal(vg_alerts_seed_page(a, page), 1);
    assert_int_equal(vg_alerts_seed_page(a, bad), VG_EPROTO);
    observe(a, "https://www.icloud.com/", 4134, T0 - 60, "accessible", NULL); /* older: nothing */
    observe(a, "https://www.icloud.com/", 4134, T0 + 60, "intercepted", NULL);
    observe(a, "https://www.icloud.com/", 4134, T0 + 120, "accessible", NULL);
    evs = finish(a, &s);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(str(json_array_get(evs, 0), "old_verdict"), "intercepted");
    assert_string_equal(str(json_array_get(evs, 0), "new_verdict"), "accessible");
    json_decref(evs);
    json_decref(page);
    json_decref(bad);
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
    observe(a, "https://www.icloud.com/", 1, T0, "accessible", NULL);
    observe(a, "https://www.icloud.com/", 1, T0 + 1, "blocked", NULL);
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
    observe(a, "https://www.icloud.com/", 2, T0, "accessible", NULL);
    observe(a, "https://www.icloud.com/", 2, T0 + 1, "blocked", NULL);
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
        cmocka_unit_test(test_seeded_state),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_exec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
