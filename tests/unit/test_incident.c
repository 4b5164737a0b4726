/* SPDX-License-Identifier: MIT */
/*
 * test_incident.c - the incident report (server/incident.h): shares and intervals, the network
 * chosen, an empty period, a target only the control saw, the timeline's buckets, and the HTML:
 * every string of a measurement escaped, the JSON embedded without a way out of its element.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "util/buf.h"
#include "util/stats.h"
#include "vgtest.h"

#define URL "https://www.icloud.com/"

/* A measurement of input at time t ("2026-11-29 11:00:00") on cc/asn; a probe chain of subject
 * (valid or not) when subject != NULL, and a control chain when ctrl. */
static json_t *
meas(const char *input, const char *t, const char *cc, const char *asn, const char *subject,
     bool valid, bool ctrl)
{
    json_t *m =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:[], s:{s:{}}}}", "test_name",
                  "web_connectivity", "input", input, "measurement_start_time", t, "probe_cc", cc,
                  "probe_asn", asn, "software_name", "vigie", "probe_network_name", "Net \"<i>\"",
                  "test_keys", "tls_handshakes", "control", "tls_handshake");
    json_t *tk = json_object_get(m, "test_keys");

    if (subject != NULL) {
        json_array_append_new(
            json_object_get(tk, "tls_handshakes"),
            json_pack("{s:s, s:o, s:s, s:[{s:s, s:s, s:s, s:b}]}", "address", "192.0.2.1:443",
                      "failure", valid ? json_null() : json_string("ssl_invalid_certificate"),
                      "x_verify_reason", "self-signed <b>", "x_certificates", "subject", subject,
                      "issuer", subject, "sha256", valid ? "aa11" : "bb22", "self_signed", !valid));
    }
    if (ctrl) {
        json_object_set_new(
            json_object_get(json_object_get(tk, "control"), "tls_handshake"), "192.0.2.1:443",
            json_pack("{s:[{s:s, s:s, s:s}], s:b}", "x_chain", "subject", "CN=www.icloud.com",
                      "issuer", "CA", "sha256", "cc33", "x_valid", 1));
    }
    return m;
}

static void
add(struct vg_incident *inc, json_t *m, enum vg_verdict v, const char *cause, int expect)
{
    assert_int_equal(vg_incident_add(inc, m, v, cause, NULL), expect);
    json_decref(m);
}

static struct vg_incident *
builder(const char *cc)
{
    struct vg_incident_opts o = {.input = URL, .probe_cc = cc, .source = "files"};

    return vg_incident_new(&o);
}

static double
num(json_t *r, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(r, a);

    v = b != NULL ? json_object_get(v, b) : v;
    v = c != NULL ? json_object_get(v, c) : v;
    assert_non_null(v);
    return json_number_value(v);
}

static void
test_shares(void **state)
{
    struct vg_incident *inc = builder(NULL);
    json_t *r;
    double lo, hi;

    (void)state;
    for (int i = 0; i < 3; i++) {
        add(inc, meas(URL, "2026-11-29 11:00:00", "IT", "AS1", "CN=forged", false, true),
            VG_VERDICT_INTERCEPTED, "tls.mitm", 1);
    }
    add(inc, meas(URL, "2026-11-29 12:00:00", "IT", "AS1", "CN=www.icloud.com", true, true),
        VG_VERDICT_ACCESSIBLE, NULL, 1);
    r = vg_incident_json(inc);
    assert_non_null(r);
    assert_int_equal(num(r, "measurements", NULL, NULL), 4);
    assert_int_equal(num(r, "verdicts", "intercepted", "n"), 3);
    assert_true(fabs(num(r, "verdicts", "intercepted", "share") - 0.75) < 1e-9);
    vg_wilson95(3, 4, &lo, &hi);
    assert_true(fabs(num(r, "interference", "ci_low", NULL) - lo) < 1e-9);
    assert_true(fabs(num(r, "interference", "ci_high", NULL) - hi) < 1e-9);
    assert_true(json_is_true(json_object_get(r, "intermittent")));
    assert_string_equal(json_string_value(json_object_get(r, "first_interference")),
                        "2026-11-29T11:00:00Z");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "latest"), "x_verdict")),
        "accessible");
    /* the forged chain first, outlined as not valid; the control's apart */
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "certificates"), "probe")),
                     2);
    assert_false(json_is_true(json_object_get(
        json_array_get(json_object_get(json_object_get(r, "certificates"), "probe"), 0), "valid")));
    assert_int_equal(num(json_array_get(json_object_get(r, "affected_addresses"), 0),
                         "interference", NULL, NULL),
                     3);
    json_decref(r);
    vg_incident_free(inc);
}

static void
test_empty(void **state)
{
    struct vg_incident_opts o = {.input = URL,
                                 .since = 1796000000, /* 2026-11-30 */
                                 .until = 1796100000};
    struct vg_incident *inc = vg_incident_new(&o);

    (void)state;
    assert_null(vg_incident_json(inc)); /* nothing added */
    add(inc, meas("https://other.example/", "2026-11-30 10:00:00", "IT", "AS1", NULL, true, false),
        VG_VERDICT_BLOCKED, "tcp.reset", 0);
    add(inc, meas(URL, "2026-11-29 10:00:00", "IT", "AS1", NULL, true, false), VG_VERDICT_BLOCKED,
        "tcp.reset", 0);                                                            /* before */
    add(inc, json_pack("{s:s}", "input", URL), VG_VERDICT_BLOCKED, "tcp.reset", 0); /* invalid */
    add(inc, meas(URL, "2026-11-30 10:00:00", "IT", "AS1", NULL, true, false), VG_VERDICT_COUNT,
        NULL, 0); /* no verdict */
    assert_null(vg_incident_json(inc));
    vg_incident_free(inc);
}

static void
test_only_control(void **state)
{
    struct vg_incident *inc = builder(NULL);
    json_t *r, *certs;

    (void)state;
    add(inc, meas(URL, "2026-11-29 11:00:00", "IT", "AS1", NULL, true, true), VG_VERDICT_UNKNOWN,
        NULL, 1);
    r = vg_incident_json(inc);
    certs = json_object_get(r, "certificates");
    assert_int_equal(json_array_size(json_object_get(certs, "probe")), 0);
    assert_int_equal(json_array_size(json_object_get(certs, "control")), 1);
    assert_int_equal(json_array_size(json_object_get(r, "affected_addresses")), 0);
    assert_int_equal(num(r, "interference", "n", NULL), 0);
    assert_false(json_is_true(json_object_get(r, "intermittent")));
    assert_true(json_is_null(json_object_get(r, "first_interference")));
    json_decref(r);
    vg_incident_free(inc);
}

static void
test_networks(void **state)
{
    struct vg_incident *inc = builder(NULL), *it = builder("IT");
    json_t *r, *nets;

    (void)state;
    add(inc, meas(URL, "2026-11-29 11:00:00", "IT", "AS1", NULL, true, false),
        VG_VERDICT_ACCESSIBLE, NULL, 1);
    add(inc, meas(URL, "2026-11-29 11:00:00", "IT", "AS1", NULL, true, false),
        VG_VERDICT_ACCESSIBLE, NULL, 1);
    add(inc, meas(URL, "2026-11-29 11:00:00", "CN", "AS9", NULL, true, false), VG_VERDICT_BLOCKED,
        "dns.injected", 1);
    r = vg_incident_json(inc);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "network"), "probe_cc")), "CN");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "network"), "chosen")),
                        "most interference");
    json_decref(r);
    nets = vg_incident_networks(inc);
    assert_int_equal(json_array_size(nets), 2);
    json_decref(nets);
    add(it, meas(URL, "2026-11-29 11:00:00", "CN", "AS9", NULL, true, false), VG_VERDICT_BLOCKED,
        NULL, 0);
    add(it, meas(URL, "2026-11-29 11:00:00", "IT", "AS1", NULL, true, false), VG_VERDICT_ACCESSIBLE,
        NULL, 1);
    r = vg_incident_json(it);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "network"), "chosen")),
                        "given");
    assert_int_equal(num(r, "interference", "n", NULL), 0);
    json_decref(r);
    vg_incident_free(inc);
    vg_incident_free(it);
}

static void
test_timeline(void **state)
{
    struct vg_incident *inc = builder(NULL);
    json_t *r, *tl, *p;

    (void)state;
    add(inc, meas(URL, "2026-11-29 11:05:00", "IT", "AS1", NULL, true, false),
        VG_VERDICT_INTERCEPTED, NULL, 1);
    add(inc, meas(URL, "2026-11-29 11:55:00", "IT", "AS1", NULL, true, false),
        VG_VERDICT_ACCESSIBLE, NULL, 1);
    add(inc, meas(URL, "2026-11-29 13:00:00", "IT", "AS1", NULL, true, false), VG_VERDICT_DOWN,
        NULL, 1);
    r = vg_incident_json(inc);
    tl = json_object_get(r, "timeline");
    assert_int_equal(json_integer_value(json_object_get(tl, "bucket_seconds")), 3600);
    assert_int_equal(json_array_size(json_object_get(tl, "points")), 2);
    p = json_array_get(json_object_get(tl, "points"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "start")), "2026-11-29T11:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(p, "intercepted")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "total")), 2);
    json_decref(r);
    /* a long period: buckets of days, never more than 400 bars */
    add(inc, meas(URL, "2027-06-29 13:00:00", "IT", "AS1", NULL, true, false), VG_VERDICT_DOWN,
        NULL, 1);
    r = vg_incident_json(inc);
    tl = json_object_get(r, "timeline");
    assert_int_equal(json_integer_value(json_object_get(tl, "bucket_seconds")) % 86400, 0);
    assert_int_equal(json_array_size(json_object_get(tl, "points")), 2);
    json_decref(r);
    vg_incident_free(inc);
}

static json_t *
locate(const char *cc, const char *asn, int hop)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:n}}}", "test_name",
        "x_locate", "input", URL, "measurement_start_time", "2026-11-29 11:30:00", "probe_cc", cc,
        "probe_asn", asn, "test_keys", "x_locate", "cause", "tls.mitm", "method", "tcp-ttl",
        "target", "198.51.100.30:443", "interference_hop", hop, "interference_router",
        "192.0.2.134", "server_hop", 4, "summary", "interference at hop 2 of 4", "failure");
}

/* vigie locate's measurements (on no network, ZZ AS0, or on the report's) give the hop. */
static void
test_locations(void **state)
{
    struct vg_incident *inc = builder(NULL);
    json_t *r, *locs, *l;
    struct vg_buf b;

    (void)state;
    add(inc, meas(URL, "2026-11-29 11:00:00", "IT", "AS1", "CN=forged", false, true),
        VG_VERDICT_INTERCEPTED, "tls.mitm", 1);
    add(inc, locate("ZZ", "AS0", 2), VG_VERDICT_COUNT, NULL, 0);
    add(inc, locate("CN", "AS9", 7), VG_VERDICT_COUNT, NULL, 0); /* another network's */
    r = vg_incident_json(inc);
    locs = json_object_get(r, "locations");
    assert_int_equal(json_array_size(locs), 1);
    l = json_array_get(locs, 0);
    assert_int_equal(json_integer_value(json_object_get(l, "interference_hop")), 2);
    assert_string_equal(json_string_value(json_object_get(l, "interference_router")),
                        "192.0.2.134");
    assert_int_equal(num(r, "measurements", NULL, NULL), 1); /* a localisation is no trial */
    vg_buf_init(&b, VG_INCIDENT_HTML_MAX);
    assert_int_equal(vg_incident_html(r, &b), 0);
    assert_non_null(strstr(vg_buf_cstr(&b), "Where on the path"));
    assert_non_null(strstr(vg_buf_cstr(&b), "interference at hop 2 of 4"));
    vg_buf_cleanup(&b);
    json_decref(r);
    vg_incident_free(inc);
}

/* A network that was shown many forged chains keeps VG_INCIDENT_CHAINS_MAX, and says so. */
static void
test_chains_bounded(void **state)
{
    struct vg_incident *inc = builder(NULL);
    json_t *r, *certs;

    (void)state;
    for (int i = 0; i < VG_INCIDENT_CHAINS_MAX + 6; i++) {
        json_t *m = meas(URL, "2026-11-29 11:00:00", "IT", "AS1", "CN=forged", false, false);
        json_t *c = json_array_get(
            json_object_get(
                json_array_get(json_object_get(json_object_get(m, "test_keys"), "tls_handshakes"),
                               0),
                "x_certificates"),
            0);

        json_object_set_new(c, "sha256", json_sprintf("%064x", i));
        add(inc, m, VG_VERDICT_INTERCEPTED, "tls.mitm", 1);
    }
    r = vg_incident_json(inc);
    certs = json_object_get(r, "certificates");
    assert_int_equal(json_array_size(json_object_get(certs, "probe")), VG_INCIDENT_CHAINS_MAX);
    assert_int_equal(json_integer_value(json_object_get(certs, "sightings_not_listed")), 6);
    json_decref(r);
    vg_incident_free(inc);
}

/* Every string of a measurement escaped; the embedded JSON cannot close its element. */
static void
test_escaping(void **state)
{
    static const char hostile[] = "https://x.example/?q=\"'><script>alert(1)</script>";
    struct vg_incident_opts o = {.input = hostile, .base_url = "http://h/\"><x>"};
    struct vg_incident *inc = vg_incident_new(&o);
    json_t *r, *other;
    struct vg_buf b;
    const char *html, *s;
    int scripts = 0;

    (void)state;
    add(inc,
        meas(hostile, "2026-11-29 11:00:00", "IT", "AS1", "<script>alert(1)</script>", false, true),
        VG_VERDICT_INTERCEPTED, "tls.<mitm>", 1);
    other = json_pack("{s:s}", "x", "y"); /* borrowed by vg_incident_add */
    assert_int_equal(vg_incident_add(inc, other, VG_VERDICT_BLOCKED, NULL, "u\"<"), 0);
    json_decref(other);
    r = vg_incident_json(inc);
    vg_buf_init(&b, VG_INCIDENT_HTML_MAX);
    assert_int_equal(vg_incident_html(r, &b), 0);
    html = vg_buf_cstr(&b);
    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "<b>"));
    assert_null(strstr(html, "<i>"));
    assert_null(strstr(html, "<mitm>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "?q=&quot;&#39;&gt;&lt;script&gt;"));
    for (s = html; (s = strstr(s, "<script")) != NULL; s++) {
        scripts++;
    }
    assert_int_equal(scripts, 1); /* the JSON's, of type application/json */
    assert_non_null(strstr(html, "<script type=\"application/json\" id=\"vigie-report\">"));
    s = strstr(html, "id=\"vigie-report\">");
    assert_non_null(strstr(s, "\\u003cscript"));
    assert_int_equal(strstr(s, "</script>") - s, strstr(s, "</script></body>") - s);
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, " src="));
    vg_buf_cleanup(&b);
    json_decref(r);
    vg_incident_free(inc);
}

/* The HTML from a report read back from its JSON is the same document. */
static void
test_html_from_json(void **state)
{
    struct vg_incident *inc = builder(NULL);
    json_t *r, *back;
    struct vg_buf a, b;
    char *text;

    (void)state;
    add(inc, meas(URL, "2026-11-29 11:00:00", "IT", "AS1", "CN=forged", false, true),
        VG_VERDICT_INTERCEPTED, "tls.mitm", 1);
    r = vg_incident_json(inc);
    text = vg_incident_dumps(r);
    back = json_loads(text, 0, NULL);
    assert_non_null(back);
    vg_buf_init(&a, VG_INCIDENT_HTML_MAX);
    vg_buf_init(&b, VG_INCIDENT_HTML_MAX);
    assert_int_equal(vg_incident_html(r, &a), 0);
    assert_int_equal(vg_incident_html(back, &b), 0);
    assert_true(strstr(vg_buf_cstr(&a), "intercepted") != NULL);
    assert_true(strstr(vg_buf_cstr(&b), "NOT VALID") != NULL);
    vg_buf_cleanup(&a);
    vg_buf_cleanup(&b);
    free(text);
    json_decref(back);
    json_decref(r);
    vg_incident_free(inc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares),         cmocka_unit_test(test_empty),
        cmocka_unit_test(test_only_control),   cmocka_unit_test(test_networks),
        cmocka_unit_test(test_timeline),       cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_html_from_json), cmocka_unit_test(test_chains_bounded),
        cmocka_unit_test(test_locations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
