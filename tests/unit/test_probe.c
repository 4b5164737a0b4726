/* SPDX-License-Identifier: MIT */
/* test_probe.c - the engine's serving mode: jobs from another thread, extra endpoints, stop,
 * deadlines. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "util/err.h"
#include "vgtest.h"
#include "vigie/vigie.h"

struct waiter {
    uv_mutex_t lock;
    uv_cond_t cond;
    int done;
    char verdict[32];
    json_t *m;
};

static void
on_result(const struct vg_result *r, void *arg)
{
    struct waiter *w = arg;

    uv_mutex_lock(&w->lock);
    snprintf(w->verdict, sizeof(w->verdict), "%s", r->x_verdict);
    w->m = json_loads(r->json, 0, NULL);
    w->done++;
    uv_cond_signal(&w->cond);
    uv_mutex_unlock(&w->lock);
}

static void
serve_thread(void *arg)
{
    (void)vg_probe_serve(arg);
}

static struct vg_probe *
new_probe(bool refuse_bogons)
{
    struct vg_probe_opts o;
    struct vg_probe *p = NULL;
    char err[256];

    vg_probe_opts_init(&o);
    o.tcp_timeout_ms = 2000;
    o.refuse_bogons = refuse_bogons;
    assert_int_equal(vg_probe_new(&o, &p, err, sizeof(err)), 0);
    return p;
}

static json_t *
run_job(struct vg_probe *p, const struct vg_job *job)
{
    struct waiter w;
    uv_thread_t t;
    char err[256];

    memset(&w, 0, sizeof(w));
    uv_mutex_init(&w.lock);
    uv_cond_init(&w.cond);
    /* Submitting before the engine thread runs is allowed: the job waits in the queue. */
    assert_int_equal(vg_probe_submit(p, job, on_result, &w, err, sizeof(err)), 0);
    assert_int_equal(uv_thread_create(&t, serve_thread, p), 0);
    uv_mutex_lock(&w.lock);
    while (w.done == 0) {
        uv_cond_wait(&w.cond, &w.lock);
    }
    uv_mutex_unlock(&w.lock);
    vg_probe_stop(p);
    uv_thread_join(&t);
    assert_int_equal(w.done, 1);
    uv_cond_destroy(&w.cond);
    uv_mutex_destroy(&w.lock);
    return w.m;
}

static void
test_extra_endpoints_are_measured(void **state)
{
    static const char *const eps[] = {"127.0.0.1:2", "[::1]:3"};
    struct vg_job job = {"http://127.0.0.1:1/", eps, 2, true, 0};
    struct vg_probe *p = new_probe(false);
    json_t *m = run_job(p, &job), *tcp;
    char err[256];

    (void)state;
    assert_non_null(m);
    tcp = json_object_get(json_object_get(m, "test_keys"), "tcp_connect");
    /* The URL's own address (port 1), port 443 of it (a control measurement of an http URL
     * also tries TLS there, as OONI's helper does) and both extra endpoints. */
    assert_int_equal(json_array_size(tcp), 4);
    /* After stop, submissions are refused. */
    assert_int_equal(vg_probe_submit(p, &job, on_result, NULL, err, sizeof(err)), VG_ECANCELED);
    json_decref(m);
    vg_probe_free(p);
}

static void
test_bogons_refused(void **state)
{
    struct vg_job job = {"http://127.0.0.1:1/", NULL, 0, true, 0};
    struct vg_probe *p = new_probe(true);
    json_t *m = run_job(p, &job), *tcp, *st;

    (void)state;
    tcp = json_object_get(json_object_get(m, "test_keys"), "tcp_connect");
    assert_int_equal(json_array_size(tcp), 2);
    for (size_t i = 0; i < 2; i++) {
        st = json_object_get(json_array_get(tcp, i), "status");
        assert_string_equal(json_string_value(json_object_get(st, "failure")), "dns_bogon_error");
    }
    json_decref(m);
    vg_probe_free(p);
}

static void
test_bad_submissions(void **state)
{
    static const char *const bad[] = {"127.0.0.1"};
    struct vg_job nourl = {"ftp://x/", NULL, 0, false, 0};
    struct vg_job noport = {"http://x/", bad, 1, false, 0};
    struct vg_probe *p = new_probe(false);
    char err[256];

    (void)state;
    assert_true(vg_probe_submit(p, &nourl, on_result, NULL, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "invalid URL"));
    assert_true(vg_probe_submit(p, &noport, on_result, NULL, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "invalid endpoint"));
    vg_probe_free(p);
}

/* The test_keys of a measurement, in the order written (docs/output.md), and the entries of an
 * address that refused the connection. */
static void
test_test_keys_order(void **state)
{
    static const char *const want[] = {
        "agent",
        "client_resolver",
        "retries",
        "socksproxy",
        "network_events",
        "queries",
        "x_dns_duplicate_responses",
        "tcp_connect",
        "tls_handshakes",
        "requests",
        "control",
        "control_failure",
        "x_control_request",
        "dns_consistency",
        "body_length_match",
        "body_proportion",
        "headers_match",
        "status_code_match",
        "title_match",
        "x_trial",
        "blocking",
        "accessible",
        "x_endpoints",
        "x_affected_addresses",
        "x_verdict",
        "x_cause",
        "x_evidence",
        "http_experiment_failure",
        "dns_experiment_failure",
    };
    struct vg_job job = {"http://127.0.0.1:1/", NULL, 0, false, 0};
    struct vg_probe *p = new_probe(false);
    json_t *m = run_job(p, &job), *tk, *v, *req, *ep;
    const char *key;
    size_t i = 0;

    (void)state;
    assert_non_null(m);
    tk = json_object_get(m, "test_keys");
    json_object_foreach(tk, key, v)
    {
        assert_true(i < sizeof(want) / sizeof(want[0]));
        assert_string_equal(key, want[i]);
        i++;
    }
    assert_int_equal(i, sizeof(want) / sizeof(want[0]));
    assert_int_equal(json_integer_value(json_object_get(tk, "x_trial")), 1);
    /* The refused connect, then the request no endpoint could carry. */
    ep = json_array_get(json_object_get(tk, "tcp_connect"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ep, "status"), "failure")),
        "connection_refused");
    req = json_array_get(json_object_get(tk, "requests"), 0);
    assert_string_equal(json_string_value(json_object_get(req, "address")), "");
    assert_string_equal(json_string_value(json_object_get(req, "failure")), "connection_refused");
    /* Complete Request and Response objects (df-001-httpt): OONI's empty response, code 0. */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(req, "request"), "method")), "GET");
    assert_int_equal(json_object_size(json_object_get(req, "request")), 8);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(req, "response"), "code")),
                     0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(req, "response"), "body")), "");
    assert_true(
        json_is_false(json_object_get(json_object_get(req, "response"), "body_is_truncated")));
    /* The address alone shows nothing of the site. */
    ep = json_array_get(json_object_get(tk, "x_endpoints"), 0);
    assert_string_equal(json_string_value(json_object_get(ep, "address")), "127.0.0.1:1");
    assert_string_equal(json_string_value(json_object_get(ep, "verdict")), "unknown");
    assert_string_equal(json_string_value(json_object_get(ep, "failure")), "connection_refused");
    assert_int_equal(json_array_size(json_object_get(tk, "x_affected_addresses")), 0);
    json_decref(m);
    vg_probe_free(p);
}

/* A job's deadline ends its measurement: a server that takes the connection and never answers
 * holds the request until the deadline, not until the step's own (much longer) timeout. */
static void
test_deadline_ends_the_job(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    struct vg_probe_opts o;
    struct vg_probe *p = NULL;
    struct vg_job job = {NULL, NULL, 0, true, 300};
    char url[64], err[256];
    json_t *m, *req;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0); /* the kernel accepts; nobody ever answers */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
    job.url = url;
    vg_probe_opts_init(&o);
    o.http_timeout_ms = 50000; /* past the test's own timeout: only the deadline can end it */
    assert_int_equal(vg_probe_new(&o, &p, err, sizeof(err)), 0);
    m = run_job(p, &job);
    assert_non_null(m);
    req = json_array_get(json_object_get(json_object_get(m, "test_keys"), "requests"), 0);
    assert_string_equal(json_string_value(json_object_get(req, "failure")),
                        "generic_timeout_error");
    json_decref(m);
    vg_probe_free(p);
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extra_endpoints_are_measured),
        cmocka_unit_test(test_bogons_refused),
        cmocka_unit_test(test_bad_submissions),
        cmocka_unit_test(test_test_keys_order),
        cmocka_unit_test(test_deadline_ends_the_job),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
