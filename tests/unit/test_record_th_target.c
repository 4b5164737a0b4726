/* SPDX-License-Identifier: MIT */
/*
 * test_record_th_target.c - vigie's x_target extension of the test-helper protocol
 * (lib/meas/record_th*.c, docs/helper.md "tls:// and dns:// targets"): the THRequest the probe
 * writes for a tls:// or dns:// target, the helper's reading of it (refusals included), its
 * endpoint plan, the THResponse it writes (x_target echoed, no http_request) and the probe's
 * reading of the echo.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "meas/control.h"
#include "meas/record_th.h"
#include "th.h"
#include "vgtest.h"

static const char *const HEADERS[] = {"User-Agent", "vigie-test"};

static void
expect_request(const char *target, const char *http_request)
{
    static const char *const eps[] = {"198.51.100.25:465"};
    json_t *req = vg_rec_threquest_target(target, eps, 1, HEADERS, 1);

    assert_non_null(req);
    assert_string_equal(json_string_value(json_object_get(req, "http_request")), http_request);
    assert_string_equal(json_string_value(json_object_get(req, "x_target")), target);
    assert_string_equal(json_string_value(json_array_get(json_object_get(req, "tcp_connect"), 0)),
                        "198.51.100.25:465");
    json_decref(req);
}

/* The writer: http_request is what a helper without the extension can read. */
static void
test_threquest_target_writer(void **state)
{
    (void)state;
    expect_request("tls://mail.example.org:465/", "https://mail.example.org:465/");
    expect_request("tls://mail.example.org/", "https://mail.example.org/");
    expect_request("tls://[2001:db8::25]:993/", "https://[2001:db8::25]:993/");
    expect_request("dns://mail.example.org/", "http://mail.example.org/");
    expect_request("dns://mail.example.org:5353/", "http://mail.example.org/");
    assert_null(vg_rec_threquest_target("https://mail.example.org/", NULL, 0, HEADERS, 1));
    assert_null(vg_rec_threquest_target("tls://", NULL, 0, HEADERS, 1));
}

static int
parse(const char *body, struct vg_rec_threq *r, char *err, size_t errlen)
{
    return vg_rec_threq_parse(body, strlen(body), r, err, errlen);
}

/* The reader: x_target replaces http_request's URL, port and host. */
static void
test_threquest_target_reader(void **state)
{
    struct vg_rec_threq r;
    uint16_t ports[2];
    char err[256], eps[4][INET6_ADDRSTRLEN + 8];
    json_t *req;
    char *body;
    static const char *const probe_eps[] = {"198.51.100.25:465", "10.0.0.1:465"};

    (void)state;
    req = vg_rec_threquest_target("tls://mail.example.org:465/", probe_eps, 2, HEADERS, 1);
    body = json_dumps(req, JSON_COMPACT);
    assert_int_equal(parse(body, &r, err, sizeof(err)), 0);
    assert_int_equal(r.target, VG_REC_TH_TLS);
    assert_string_equal(r.url, "tls://mail.example.org:465/");
    assert_true(r.https);
    assert_int_equal(vg_rec_threq_ports(&r, ports), 1);
    assert_int_equal(ports[0], 465);
    /* The probe's addresses on the target's port, bogons left out as for web pages (--lab:
     * documentation ranges are public). */
    assert_int_equal(vg_threq_endpoints(&r, true, true, eps, 4), 1);
    assert_string_equal(eps[0], "198.51.100.25:465");
    vg_rec_threq_cleanup(&r);
    free(body);
    json_decref(req);

    assert_int_equal(
        parse("{\"http_request\":\"https://m.example/\",\"x_target\":\"tls://m.example\","
              "\"tcp_connect\":[\"198.51.100.25:443\"]}",
              &r, err, sizeof(err)),
        0);
    assert_int_equal(r.target, VG_REC_TH_TLS);
    assert_int_equal(vg_rec_threq_ports(&r, ports), 1);
    assert_int_equal(ports[0], 443);
    vg_rec_threq_cleanup(&r);

    /* dns://: a name to resolve, no endpoint whatever tcp_connect says. */
    assert_int_equal(
        parse("{\"http_request\":\"http://m.example/\",\"x_target\":\"dns://m.example/\","
              "\"tcp_connect\":[\"198.51.100.25:80\"]}",
              &r, err, sizeof(err)),
        0);
    assert_int_equal(r.target, VG_REC_TH_DNS);
    assert_string_equal(r.url, "dns://m.example/");
    assert_int_equal(vg_threq_endpoints(&r, false, false, eps, 4), 0);
    vg_rec_threq_cleanup(&r);

    /* The bogon check sees the target's host, not http_request's. */
    assert_int_equal(parse("{\"http_request\":\"https://m.example/\","
                           "\"x_target\":\"tls://[::1]:25\"}",
                           &r, err, sizeof(err)),
                     0);
    assert_int_equal(r.host_family, 6);
    assert_string_equal(r.host_ip, "::1");
    vg_rec_threq_cleanup(&r);

    /* null is absent: a web page. */
    assert_int_equal(
        parse("{\"http_request\":\"https://m.example/\",\"x_target\":null}", &r, err, sizeof(err)),
        0);
    assert_int_equal(r.target, VG_REC_TH_WEB);
    assert_string_equal(r.url, "https://m.example/");
    vg_rec_threq_cleanup(&r);
}

static void
expect_refused(const char *body, int rc, const char *msg)
{
    struct vg_rec_threq r;
    char err[256] = "";

    assert_int_equal(parse(body, &r, err, sizeof(err)), rc);
    assert_non_null(strstr(err, msg));
    assert_null(r.url);
}

/* Refusals: the helper answers 400 with these messages. */
static void
test_threquest_target_refused(void **state)
{
    char big[VG_URL_MAX + 200];

    (void)state;
    expect_refused("{\"http_request\":\"https://m.example/\",\"x_target\":5}", VG_EPROTO,
                   "x_target must be a string");
    expect_refused("{\"http_request\":\"https://m.example/\",\"x_target\":\"https://m.example/\"}",
                   VG_EINVAL, "x_target is not a tls:// or dns:// target");
    expect_refused("{\"http_request\":\"https://m.example/\",\"x_target\":\"tls://bad host\"}",
                   VG_EINVAL, "x_target is not a valid target");
    expect_refused("{\"http_request\":\"https://m.example/\",\"x_target\":\"tls://m.example:0\"}",
                   VG_EINVAL, "x_target is not a valid target");
    /* http_request stays required and checked: the THRequest is an OONI one. */
    expect_refused("{\"x_target\":\"tls://m.example\"}", VG_EINVAL, "http_request is missing");
    snprintf(big, sizeof(big), "{\"http_request\":\"https://m.example/\",\"x_target\":\"tls://");
    memset(big + strlen(big), 'a', sizeof(big) - 3 - strlen(big));
    memcpy(big + sizeof(big) - 3, "\"}", 3);
    expect_refused(big, VG_EINVAL, "x_target is longer than");
}

/* The helper's answer for a target, and the probe's reading of it. */
static void
test_thresponse_target(void **state)
{
    static const char *meas =
        "{\"test_keys\":{\"queries\":[{\"answers\":[{\"ipv4\":\"198.51.100.25\"}],"
        "\"engine\":\"getaddrinfo\",\"failure\":null,\"tags\":[\"depth=0\"]}],"
        "\"tcp_connect\":[{\"ip\":\"198.51.100.25\",\"port\":465,\"status\":{\"success\":true,"
        "\"failure\":null},\"tags\":[\"depth=0\"]}],"
        "\"tls_handshakes\":[{\"address\":\"198.51.100.25:465\",\"cipher_suite\":\"X\","
        "\"failure\":\"ssl_unknown_authority\",\"server_name\":\"m.example\","
        "\"tls_version\":\"TLSv1.3\",\"x_certificates\":[{\"subject\":\"CN=m.example\","
        "\"issuer\":\"CN=m.example\",\"sha256\":"
        "\"aa00000000000000000000000000000000000000000000000000000000000000\","
        "\"spki_sha256\":\"a100000000000000000000000000000000000000000000000000000000000000\"}],"
        "\"x_handshake_failure\":null,\"tags\":[\"depth=0\"]}],\"requests\":[]}}";
    static const char *req =
        "{\"http_request\":\"https://m.example:465/\",\"x_target\":\"tls://m.example:465/\","
        "\"tcp_connect\":[\"198.51.100.25:465\"]}";
    static const char *web = "{\"dns\":{\"failure\":null,\"addrs\":[]}}";
    static const char *bad = "{\"x_target\":1}";
    struct vg_rec_thresp_opts o = {
        .doc_public = true, .skip_bogons = true, .client_addr = "203.0.113.7"};
    struct vg_rec_threq r;
    struct vg_ctrl *c = calloc(1, sizeof(*c));
    char err[256], *text = NULL;
    json_t *j;

    (void)state;
    assert_int_equal(parse(req, &r, err, sizeof(err)), 0);
    assert_int_equal(vg_rec_thresponse_from_measurement(meas, strlen(meas), NULL, 0, &r, &o, &text),
                     0);
    j = json_loads(text, 0, NULL);
    assert_true(json_is_null(json_object_get(j, "http_request")));
    assert_string_equal(json_string_value(json_object_get(j, "x_target")), "tls://m.example:465/");
    assert_non_null(json_object_get(json_object_get(j, "tcp_connect"), "198.51.100.25:465"));
    assert_non_null(json_object_get(
        json_object_get(json_object_get(j, "tls_handshake"), "198.51.100.25:465"), "x_chain"));
    json_decref(j);

    /* The probe reads the echo, the chain and no page. */
    assert_int_equal(vg_rec_thresponse_parse(text, strlen(text), c), 0);
    assert_string_equal(c->target, "tls://m.example:465/");
    assert_int_equal(c->n_ep, 1);
    assert_string_equal(c->ep[0].leaf_sha256,
                        "aa00000000000000000000000000000000000000000000000000000000000000");
    assert_false(c->ep[0].tls_ok);
    assert_int_equal(c->status, -1);
    assert_string_equal(c->http_failure, "");
    free(text);
    vg_rec_threq_cleanup(&r);

    /* A web page's answer has no x_target; a wrong type is refused. */
    assert_int_equal(vg_rec_thresponse_parse(web, strlen(web), c), 0);
    assert_string_equal(c->target, "");
    assert_int_equal(vg_rec_thresponse_parse(bad, strlen(bad), c), VG_EPROTO);
    free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threquest_target_writer),
        cmocka_unit_test(test_threquest_target_reader),
        cmocka_unit_test(test_threquest_target_refused),
        cmocka_unit_test(test_thresponse_target),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
