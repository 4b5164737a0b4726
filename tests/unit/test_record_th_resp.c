/* SPDX-License-Identifier: MIT */
/*
 * test_record_th_resp.c - THResponse written from engine measurements (lib/meas/record_th_resp.c):
 * every section, the legacy failure strings, bogon handling, the x_ extensions and malformed
 * input.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "meas/control.h"
#include "meas/record_th.h"
#include "vgtest.h"

/* Follow keys (objects) from root; NULL ends the list. */
static json_t *
jpath(json_t *root, ...)
{
    va_list ap;
    const char *k;
    json_t *j = root;

    va_start(ap, root);
    while ((k = va_arg(ap, const char *)) != NULL) {
        j = json_object_get(j, k);
    }
    va_end(ap);
    return j;
}

static json_t *
build(const char *meas, const char *req_json, const struct vg_rec_thresp_opts *o)
{
    struct vg_rec_threq r;
    char err[256], *text = NULL, *once = NULL;
    bool refetch = true;
    json_t *j;

    assert_int_equal(vg_rec_threq_parse(req_json, strlen(req_json), &r, err, sizeof(err)), 0);
    assert_int_equal(vg_rec_thresponse_from_measurement(meas, strlen(meas), NULL, 0, &r, o, &text),
                     0);
    assert_non_null(text);
    /* the helper's one-parse path answers the same bytes when there is nothing to refetch */
    if (!vg_rec_thresponse_fetched_probe_addr(meas, strlen(meas), &r)) {
        assert_int_equal(vg_rec_thresponse_or_refetch(meas, strlen(meas), &r, o, &refetch, &once),
                         0);
        assert_false(refetch);
        assert_string_equal(once, text);
        free(once);
    }
    j = json_loads(text, 0, NULL);
    assert_non_null(j);
    free(text);
    vg_rec_threq_cleanup(&r);
    return j;
}

static void
expect_str(json_t *j, const char *want)
{
    if (want == NULL) {
        assert_true(json_is_null(j));
        return;
    }
    assert_true(json_is_string(j));
    assert_string_equal(json_string_value(j), want);
}

static void
expect_int(json_t *j, long long want)
{
    assert_true(json_is_integer(j));
    assert_int_equal(json_integer_value(j), want);
}

/* A successful https measurement: one redirect, three addresses, a v6 refusal, a timeout. */
static const char *const MEAS_HTTPS =
    "{\"input\":\"https://www.example.com/\",\"test_keys\":{"
    "\"queries\":["
    "{\"answers\":[{\"answer_type\":\"A\",\"ipv4\":\"93.184.216.34\"},"
    "{\"answer_type\":\"AAAA\",\"ipv6\":\"2606:2800:220:1::\"},"
    "{\"answer_type\":\"A\",\"ipv4\":\"1.2.3.4\"}],"
    "\"engine\":\"getaddrinfo\",\"failure\":null,\"hostname\":\"www.example.com\","
    "\"tags\":[\"depth=0\"]},"
    "{\"answers\":[{\"answer_type\":\"A\",\"ipv4\":\"5.6.7.8\"}],\"engine\":\"getaddrinfo\","
    "\"failure\":null,\"hostname\":\"other.example.com\",\"tags\":[\"depth=1\"]}],"
    "\"tcp_connect\":["
    "{\"ip\":\"93.184.216.34\",\"port\":443,\"status\":{\"success\":true,\"failure\":null},"
    "\"tags\":[\"depth=0\"]},"
    "{\"ip\":\"2606:2800:220:1::\",\"port\":443,\"status\":{\"success\":false,"
    "\"failure\":\"connection_refused\"},\"tags\":[\"depth=0\"]},"
    "{\"ip\":\"1.2.3.4\",\"port\":443,\"status\":{\"success\":false,"
    "\"failure\":\"generic_timeout_error\"},\"tags\":[\"depth=0\"]},"
    "{\"ip\":\"5.6.7.8\",\"port\":443,\"status\":{\"success\":true,\"failure\":null},"
    "\"tags\":[\"depth=1\"]}],"
    "\"tls_handshakes\":["
    "{\"address\":\"93.184.216.34:443\",\"cipher_suite\":\"TLS_AES_128_GCM_SHA256\","
    "\"failure\":null,\"server_name\":\"www.example.com\",\"tls_version\":\"TLSv1.3\","
    "\"x_certificates\":[{\"subject\":\"CN=www.example.com\",\"issuer\":\"CN=CA\","
    "\"sha256\":\"aa\",\"spki_sha256\":\"bb\",\"self_signed\":false},"
    "{\"subject\":\"CN=CA\",\"issuer\":\"CN=Root\",\"sha256\":\"cc\",\"spki_sha256\":\"dd\"}],"
    "\"x_handshake_failure\":null,\"x_verify_reason\":null,\"tags\":[\"depth=0\"]},"
    "{\"address\":\"5.6.7.8:443\",\"failure\":null,\"server_name\":\"other.example.com\","
    "\"tags\":[\"depth=1\"]}],"
    "\"requests\":["
    "{\"address\":\"5.6.7.8:443\",\"failure\":null,\"request\":{\"url\":\"https://other/\"},"
    "\"response\":{\"code\":200,\"headers\":{\"Content-Type\":\"text/html\",\"Server\":\"x\"},"
    "\"x_body_length\":1256,\"x_body_sha256\":\"ee\",\"x_title\":\"Example Domain\"},"
    "\"tags\":[\"depth=1\"]},"
    "{\"address\":\"93.184.216.34:443\",\"failure\":null,\"response\":{\"code\":301,"
    "\"headers\":{\"Location\":\"https://other/\"},\"x_body_length\":0,\"x_title\":null},"
    "\"tags\":[\"depth=0\"]}]}}";

static const char *const REQ_HTTPS =
    "{\"http_request\":\"https://www.example.com/\","
    "\"http_request_headers\":{\"Accept\":[\"*/*\"]},"
    "\"tcp_connect\":[\"93.184.216.34:443\",\"[2606:2800:220:1:0::]:443\",\"10.0.0.1:443\","
    "\"garbage\"],\"x_quic_enabled\":false}";

static void
test_https_success(void **state)
{
    struct vg_rec_thresp_opts o = {.doc_public = false, .skip_bogons = true};
    json_t *j = build(MEAS_HTTPS, REQ_HTTPS, &o), *tcp, *tls, *e, *chain, *http, *info;

    (void)state;
    /* tcp_connect: first hop only, legacy failure strings, bogon left out */
    tcp = json_object_get(j, "tcp_connect");
    assert_int_equal(json_object_size(tcp), 3);
    assert_true(json_is_true(jpath(tcp, "93.184.216.34:443", "status", NULL)));
    expect_str(jpath(tcp, "93.184.216.34:443", "failure", NULL), NULL);
    assert_true(json_is_false(jpath(tcp, "[2606:2800:220:1::]:443", "status", NULL)));
    expect_str(jpath(tcp, "[2606:2800:220:1::]:443", "failure", NULL), "connection_refused_error");
    expect_str(jpath(tcp, "1.2.3.4:443", "failure", NULL), "generic_timeout_error");
    assert_null(json_object_get(tcp, "5.6.7.8:443"));

    /* tls_handshake with the extensions */
    tls = json_object_get(j, "tls_handshake");
    assert_int_equal(json_object_size(tls), 1);
    e = json_object_get(tls, "93.184.216.34:443");
    expect_str(json_object_get(e, "server_name"), "www.example.com");
    assert_true(json_is_true(json_object_get(e, "status")));
    expect_str(json_object_get(e, "failure"), NULL);
    assert_true(json_is_true(json_object_get(e, "x_valid")));
    expect_str(json_object_get(e, "x_tls_version"), "TLSv1.3");
    expect_str(json_object_get(e, "x_cipher_suite"), "TLS_AES_128_GCM_SHA256");
    chain = json_object_get(e, "x_chain");
    assert_int_equal(json_array_size(chain), 2);
    expect_str(jpath(json_array_get(chain, 0), "sha256", NULL), "aa");
    expect_str(jpath(json_array_get(chain, 0), "spki_sha256", NULL), "bb");
    expect_str(jpath(json_array_get(chain, 0), "subject", NULL), "CN=www.example.com");
    expect_str(jpath(json_array_get(chain, 0), "issuer", NULL), "CN=CA");
    expect_str(jpath(json_array_get(chain, 1), "sha256", NULL), "cc");
    assert_int_equal(json_object_size(json_array_get(chain, 0)), 4);

    assert_true(json_is_object(json_object_get(j, "quic_handshake")));
    assert_int_equal(json_object_size(json_object_get(j, "quic_handshake")), 0);
    assert_true(json_is_null(json_object_get(j, "http3_request")));

    /* http_request: the final response */
    http = json_object_get(j, "http_request");
    expect_int(json_object_get(http, "body_length"), 1256);
    expect_str(json_object_get(http, "discovered_h3_endpoint"), "");
    expect_str(json_object_get(http, "failure"), NULL);
    expect_str(json_object_get(http, "title"), "Example Domain");
    expect_int(json_object_get(http, "status_code"), 200);
    expect_str(jpath(http, "headers", "Content-Type", NULL), "text/html");
    expect_str(jpath(http, "headers", "Server", NULL), "x");
    expect_str(json_object_get(http, "x_body_sha256"), "ee");

    /* dns: first hop answers, in order */
    expect_str(jpath(j, "dns", "failure", NULL), NULL);
    assert_int_equal(json_array_size(jpath(j, "dns", "addrs", NULL)), 3);
    expect_str(json_array_get(jpath(j, "dns", "addrs", NULL), 0), "93.184.216.34");
    expect_str(json_array_get(jpath(j, "dns", "addrs", NULL), 1), "2606:2800:220:1::");
    expect_str(json_array_get(jpath(j, "dns", "addrs", NULL), 2), "1.2.3.4");

    /* ip_info: 1 probe, 2 helper, 4 bogon, 8 valid TLS for the name */
    info = json_object_get(j, "ip_info");
    assert_int_equal(json_object_size(info), 4);
    expect_int(jpath(info, "93.184.216.34", "flags", NULL), 1 | 2 | 8);
    expect_int(jpath(info, "93.184.216.34", "asn", NULL), 0);
    expect_int(jpath(info, "2606:2800:220:1::", "flags", NULL), 1 | 2);
    expect_int(jpath(info, "10.0.0.1", "flags", NULL), 1 | 4);
    expect_int(jpath(info, "1.2.3.4", "flags", NULL), 2);
    json_decref(j);
}

static void
test_key_order(void **state)
{
    struct vg_rec_thresp_opts o = {0};
    struct vg_rec_threq r;
    char err[128], *text = NULL;
    const char *keys[] = {"\"tcp_connect\"",  "\"tls_handshake\"", "\"quic_handshake\"",
                          "\"http_request\"", "\"http3_request\"", "\"dns\"",
                          "\"ip_info\""};
    const char *prev = NULL;

    (void)state;
    assert_int_equal(vg_rec_threq_parse(REQ_HTTPS, strlen(REQ_HTTPS), &r, err, sizeof(err)), 0);
    assert_int_equal(
        vg_rec_thresponse_from_measurement(MEAS_HTTPS, strlen(MEAS_HTTPS), NULL, 0, &r, &o, &text),
        0);
    /* oohelperd's field order (Go struct order) */
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *at = strstr(text, keys[i]);

        assert_non_null(at);
        assert_true(prev == NULL || at > prev);
        prev = at;
    }
    assert_non_null(strstr(text, "\"body_length\":1256,\"discovered_h3_endpoint\":\"\","
                                 "\"failure\":null,\"title\":\"Example Domain\""));
    free(text);
    vg_rec_threq_cleanup(&r);
}

static void
test_allow_private(void **state)
{
    /* Without skip_bogons (vigie helper --allow-private) bogons are measured and reported. */
    static const char *meas =
        "{\"test_keys\":{\"queries\":[],\"tcp_connect\":[{\"ip\":\"127.0.0.1\",\"port\":8080,"
        "\"status\":{\"success\":true,\"failure\":null},\"tags\":[\"depth=0\"]},"
        "{\"ip\":\"127.0.0.1\",\"port\":443,\"status\":{\"failure\":null},"
        "\"tags\":[\"depth=0\"]}],"
        "\"tls_handshakes\":[{\"address\":\"127.0.0.1:443\",\"failure\":null,"
        "\"tags\":[\"depth=0\"]}],\"requests\":[{\"address\":\"127.0.0.1:8080\",\"failure\":null,"
        "\"response\":{\"code\":204,\"headers\":{},\"x_body_length\":0,"
        "\"x_body_sha256\":\"e3\",\"x_title\":null},\"tags\":[\"depth=0\"]}]}}";
    static const char *req =
        "{\"http_request\":\"http://127.0.0.1:8080/\",\"tcp_connect\":[\"127.0.0.1:8080\"]}";
    struct vg_rec_thresp_opts o = {.skip_bogons = false};
    json_t *j = build(meas, req, &o);

    (void)state;
    assert_true(json_is_true(jpath(j, "tcp_connect", "127.0.0.1:8080", "status", NULL)));
    /* an explicit port: oohelperd measures that port only (the engine also tried 443) */
    assert_int_equal(json_object_size(json_object_get(j, "tcp_connect")), 1);
    assert_int_equal(json_object_size(json_object_get(j, "tls_handshake")), 0);
    expect_int(jpath(j, "ip_info", "127.0.0.1", "flags", NULL), 1 | 4);
    /* an IP literal: oohelperd does no DNS and answers an empty list */
    expect_str(jpath(j, "dns", "failure", NULL), NULL);
    assert_true(json_is_array(jpath(j, "dns", "addrs", NULL)));
    assert_int_equal(json_array_size(jpath(j, "dns", "addrs", NULL)), 0);
    expect_int(jpath(j, "http_request", "status_code", NULL), 204);
    expect_int(jpath(j, "http_request", "body_length", NULL), 0);
    expect_str(jpath(j, "http_request", "title", NULL), "");
    json_decref(j);

    o.skip_bogons = true;
    j = build(meas, req, &o);
    assert_int_equal(json_object_size(json_object_get(j, "tcp_connect")), 0);
    json_decref(j);
}

static void
test_doc_ranges(void **state)
{
    static const char *meas =
        "{\"test_keys\":{\"tcp_connect\":[{\"ip\":\"203.0.113.80\",\"port\":80,"
        "\"status\":{\"success\":true,\"failure\":null},\"tags\":[\"depth=0\"]}]}}";
    static const char *req =
        "{\"http_request\":\"http://203.0.113.80/\",\"tcp_connect\":[\"203.0.113.80:80\"]}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true, .doc_public = true};
    json_t *j = build(meas, req, &o);

    (void)state;
    /* --lab: documentation ranges are public */
    assert_non_null(jpath(j, "tcp_connect", "203.0.113.80:80", NULL));
    expect_int(jpath(j, "ip_info", "203.0.113.80", "flags", NULL), 1);
    /* missing arrays: no request at all is an unknown_error with -1s */
    expect_int(jpath(j, "http_request", "status_code", NULL), -1);
    expect_int(jpath(j, "http_request", "body_length", NULL), -1);
    expect_str(jpath(j, "http_request", "failure", NULL), "unknown_error");
    json_decref(j);

    o.doc_public = false;
    j = build(meas, req, &o);
    assert_null(jpath(j, "tcp_connect", "203.0.113.80:80", NULL));
    expect_int(jpath(j, "ip_info", "203.0.113.80", "flags", NULL), 1 | 4);
    json_decref(j);
}

static void
test_nxdomain(void **state)
{
    static const char *meas =
        "{\"test_keys\":{\"queries\":[{\"answers\":[],\"engine\":\"getaddrinfo\","
        "\"failure\":\"dns_nxdomain_error\",\"tags\":[\"depth=0\"]}],\"tcp_connect\":[],"
        "\"tls_handshakes\":[],\"requests\":[{\"address\":\"\",\"failure\":\"dns_nxdomain_error\","
        "\"request\":{\"url\":\"http://nx.example/\"},\"response\":null,\"tags\":[\"depth=0\"]}]}}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    json_t *j = build(meas, "{\"http_request\":\"http://nx.example/\"}", &o), *http;

    (void)state;
    expect_str(jpath(j, "dns", "failure", NULL), "dns_name_error");
    assert_int_equal(json_array_size(jpath(j, "dns", "addrs", NULL)), 0);
    http = json_object_get(j, "http_request");
    expect_str(json_object_get(http, "failure"), "dns_lookup_error");
    expect_int(json_object_get(http, "status_code"), -1);
    expect_int(json_object_get(http, "body_length"), -1);
    expect_str(json_object_get(http, "title"), "");
    assert_int_equal(json_object_size(json_object_get(http, "headers")), 0);
    expect_str(json_object_get(http, "x_body_sha256"), "");
    assert_int_equal(json_object_size(json_object_get(j, "ip_info")), 0);
    json_decref(j);
}

static void
test_dns_timeout_and_no_answer(void **state)
{
    static const char *timeout =
        "{\"test_keys\":{\"queries\":[{\"answers\":[],\"engine\":\"getaddrinfo\","
        "\"failure\":\"generic_timeout_error\",\"tags\":[\"depth=0\"]}],"
        "\"requests\":[{\"address\":\"\",\"failure\":\"generic_timeout_error\","
        "\"response\":null,\"tags\":[\"depth=0\"]}]}}";
    static const char *noanswer =
        "{\"test_keys\":{\"queries\":[{\"answers\":[],\"engine\":\"getaddrinfo\","
        "\"failure\":\"dns_no_answer\",\"tags\":[\"depth=0\"]},{\"answers\":[],"
        "\"engine\":\"udp\",\"failure\":\"dns_servfail_error\",\"tags\":[\"depth=0\"]}],"
        "\"requests\":[{\"address\":\"\",\"failure\":\"dns_no_answer\",\"tags\":[\"depth=0\"]}]}}";
    static const char *tcp_timeout =
        "{\"test_keys\":{\"queries\":[{\"answers\":[{\"ipv4\":\"8.8.8.8\"}],"
        "\"engine\":\"getaddrinfo\",\"failure\":null,\"tags\":[\"depth=0\"]}],"
        "\"requests\":[{\"address\":\"\",\"failure\":\"generic_timeout_error\","
        "\"tags\":[\"depth=0\"]}]}}";
    static const char *req = "{\"http_request\":\"http://slow.example/\"}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    json_t *j;

    (void)state;
    j = build(timeout, req, &o);
    expect_str(jpath(j, "dns", "failure", NULL), "unknown_error");
    expect_str(jpath(j, "http_request", "failure", NULL), "dns_lookup_error");
    json_decref(j);

    /* no answer is not an error for the legacy helper; the system resolver's verdict wins */
    j = build(noanswer, req, &o);
    expect_str(jpath(j, "dns", "failure", NULL), NULL);
    expect_str(jpath(j, "http_request", "failure", NULL), "dns_lookup_error");
    json_decref(j);

    j = build(tcp_timeout, req, &o);
    expect_str(jpath(j, "dns", "failure", NULL), NULL);
    expect_str(jpath(j, "http_request", "failure", NULL), "generic_timeout_error");
    expect_int(jpath(j, "ip_info", "8.8.8.8", "flags", NULL), 2);
    json_decref(j);
}

static void
test_tls_invalid(void **state)
{
    static const char *meas =
        "{\"test_keys\":{\"queries\":[{\"answers\":[{\"ipv4\":\"8.8.4.4\"}],"
        "\"engine\":\"getaddrinfo\",\"failure\":null,\"tags\":[\"depth=0\"]}],"
        "\"tcp_connect\":[{\"ip\":\"8.8.4.4\",\"port\":443,\"status\":{\"success\":true,"
        "\"failure\":null},\"tags\":[\"depth=0\"]}],"
        "\"tls_handshakes\":[{\"address\":\"8.8.4.4:443\",\"cipher_suite\":\"X\","
        "\"failure\":\"ssl_unknown_authority\",\"server_name\":\"self.example\","
        "\"tls_version\":\"TLSv1.3\",\"x_certificates\":[{\"subject\":\"CN=self\","
        "\"issuer\":\"CN=self\",\"sha256\":\"ab\",\"spki_sha256\":\"cd\"}],"
        "\"x_handshake_failure\":null,\"tags\":[\"depth=0\"]},"
        "{\"address\":\"[2001:4860::1]:443\",\"failure\":\"connection_reset\","
        "\"server_name\":\"self.example\",\"tls_version\":\"\",\"x_certificates\":[],"
        "\"x_handshake_failure\":\"connection_reset\",\"tags\":[\"depth=0\"]}],"
        "\"requests\":[{\"address\":\"\",\"failure\":\"ssl_unknown_authority\","
        "\"tags\":[\"depth=0\"]}]}}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    json_t *j = build(meas, "{\"http_request\":\"https://self.example/\"}", &o), *e;

    (void)state;
    e = jpath(j, "tls_handshake", "8.8.4.4:443", NULL);
    assert_true(json_is_false(json_object_get(e, "status")));
    expect_str(json_object_get(e, "failure"), "ssl_unknown_authority"); /* modern strings */
    assert_true(json_is_false(json_object_get(e, "x_valid")));
    expect_str(jpath(json_array_get(json_object_get(e, "x_chain"), 0), "sha256", NULL), "ab");
    e = jpath(j, "tls_handshake", "[2001:4860::1]:443", NULL);
    expect_str(json_object_get(e, "failure"), "connection_reset");
    assert_int_equal(json_array_size(json_object_get(e, "x_chain")), 0);
    expect_str(json_object_get(e, "x_cipher_suite"), "");
    /* no flag 8 without a valid handshake */
    expect_int(jpath(j, "ip_info", "8.8.4.4", "flags", NULL), 2);
    expect_str(jpath(j, "http_request", "failure", NULL), "unknown_error");
    json_decref(j);
}

static void
test_http_partial(void **state)
{
    static const char *midbody =
        "{\"test_keys\":{\"requests\":[{\"address\":\"8.8.8.8:80\","
        "\"failure\":\"connection_reset\",\"response\":{\"code\":200,\"headers\":"
        "{\"A\":\"1\",\"Bad\":5},\"x_body_length\":10,\"x_body_sha256\":\"ff\","
        "\"x_title\":\"T\"},\"tags\":[\"depth=0\"]}]}}";
    static const char *redirects =
        "{\"test_keys\":{\"requests\":[{\"address\":\"8.8.8.8:80\",\"failure\":\"unknown_failure: "
        "stopped after too many redirects\",\"response\":{\"code\":302,\"headers\":{}},"
        "\"tags\":[\"depth=10\"]}]}}";
    static const char *refused =
        "{\"test_keys\":{\"requests\":[{\"address\":\"\",\"failure\":\"connection_refused\","
        "\"response\":{\"code\":null},\"tags\":[\"depth=0\"]}]}}";
    static const char *req = "{\"http_request\":\"http://8.8.8.8/\"}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    json_t *j, *http;

    (void)state;
    /* a failure while reading the body keeps what was received (oohelperd ReadAllContext) */
    j = build(midbody, req, &o);
    http = json_object_get(j, "http_request");
    expect_int(json_object_get(http, "status_code"), 200);
    expect_int(json_object_get(http, "body_length"), 10);
    expect_str(json_object_get(http, "title"), "T");
    expect_str(json_object_get(http, "failure"), "unknown_error");
    expect_str(jpath(http, "headers", "A", NULL), "1");
    assert_null(jpath(http, "headers", "Bad", NULL));
    json_decref(j);

    j = build(redirects, req, &o);
    http = json_object_get(j, "http_request");
    expect_int(json_object_get(http, "status_code"), -1);
    expect_int(json_object_get(http, "body_length"), -1);
    expect_str(json_object_get(http, "failure"), "unknown_error");
    json_decref(j);

    j = build(refused, req, &o);
    expect_str(jpath(j, "http_request", "failure", NULL), "connection_refused_error");
    expect_int(jpath(j, "http_request", "status_code", NULL), -1);
    json_decref(j);
}

static void
test_failure_maps(void **state)
{
    (void)state;
    assert_null(vg_rec_th_dns_failure(NULL));
    assert_null(vg_rec_th_dns_failure("dns_no_answer"));
    assert_string_equal(vg_rec_th_dns_failure("dns_nxdomain_error"), "dns_name_error");
    assert_string_equal(vg_rec_th_dns_failure("dns_temporary_failure"), "dns_server_failure");
    assert_string_equal(vg_rec_th_dns_failure("dns_refused_error"), "dns_server_failure");
    assert_string_equal(vg_rec_th_dns_failure("dns_server_misbehaving"), "dns_server_failure");
    assert_string_equal(vg_rec_th_dns_failure("dns_non_recoverable_failure"), "dns_server_failure");
    assert_string_equal(vg_rec_th_dns_failure("dns_servfail_error"), "dns_server_failure");
    assert_string_equal(vg_rec_th_dns_failure("generic_timeout_error"), "unknown_error");

    assert_null(vg_rec_th_tcp_failure(NULL));
    assert_string_equal(vg_rec_th_tcp_failure("connection_refused"), "connection_refused_error");
    assert_string_equal(vg_rec_th_tcp_failure("generic_timeout_error"), "generic_timeout_error");
    assert_string_equal(vg_rec_th_tcp_failure("host_unreachable"), "connect_error");
    assert_string_equal(vg_rec_th_tcp_failure("connection_reset"), "connect_error");

    assert_null(vg_rec_th_http_failure(NULL, false));
    assert_string_equal(vg_rec_th_http_failure("dns_nxdomain_error", false), "dns_lookup_error");
    assert_string_equal(vg_rec_th_http_failure("dns_no_answer", false), "dns_lookup_error");
    assert_string_equal(vg_rec_th_http_failure("dns_temporary_failure", false), "dns_lookup_error");
    assert_string_equal(vg_rec_th_http_failure("generic_timeout_error", false),
                        "generic_timeout_error");
    assert_string_equal(vg_rec_th_http_failure("generic_timeout_error", true), "dns_lookup_error");
    assert_string_equal(vg_rec_th_http_failure("connection_refused", false),
                        "connection_refused_error");
    assert_string_equal(vg_rec_th_http_failure("ssl_invalid_hostname", false), "unknown_error");
    assert_string_equal(vg_rec_th_http_failure("eof_error", false), "unknown_error");
}

static void
test_malformed(void **state)
{
    static const char *bad[] = {"", "nope", "[]", "{}", "{\"test_keys\":[]}", "{\"test_keys\":1}"};
    struct vg_rec_threq r;
    char err[128], *text = (char *)"sentinel";
    struct vg_rec_thresp_opts o = {0};
    const char *req = "{\"http_request\":\"http://x.example/\"}";

    (void)state;
    assert_int_equal(vg_rec_threq_parse(req, strlen(req), &r, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            vg_rec_thresponse_from_measurement(bad[i], strlen(bad[i]), NULL, 0, &r, &o, &text),
            VG_EPROTO);
        assert_null(text);
    }
    /* wrong types inside test_keys are skipped, never trusted */
    {
        static const char *odd =
            "{\"test_keys\":{\"queries\":{\"x\":1},\"tcp_connect\":[1,{\"ip\":5},"
            "{\"ip\":\"8.8.8.8\",\"port\":\"80\"}],\"tls_handshakes\":[null,{\"address\":7}],"
            "\"requests\":[{\"response\":{\"code\":\"200\"}}]}}";

        assert_int_equal(
            vg_rec_thresponse_from_measurement(odd, strlen(odd), NULL, 0, &r, &o, &text), 0);
        assert_non_null(strstr(text, "\"tcp_connect\":{},\"tls_handshake\":{}"));
        assert_non_null(strstr(text, "\"status_code\":-1"));
        free(text);
    }
    vg_rec_threq_cleanup(&r);
}

static void
test_probe_addr_refetch(void **state)
{
    /* The page came over 6.6.6.6, an address only the probe reported (a censor's, maybe). */
    static const char *meas =
        "{\"test_keys\":{\"queries\":[{\"answers\":[{\"ipv4\":\"8.8.8.8\"}],"
        "\"engine\":\"getaddrinfo\",\"failure\":null,\"tags\":[\"depth=0\"]}],"
        "\"tcp_connect\":[{\"ip\":\"6.6.6.6\",\"port\":80,\"status\":{\"failure\":null},"
        "\"tags\":[\"depth=0\"]},{\"ip\":\"8.8.8.8\",\"port\":80,\"status\":{\"failure\":"
        "null},\"tags\":[\"depth=0\"]}],"
        "\"requests\":[{\"address\":\"9.9.9.9:80\",\"failure\":null,\"response\":{\"code\":"
        "200,\"x_title\":\"Final\"},\"tags\":[\"depth=1\"]},{\"address\":\"6.6.6.6:80\","
        "\"failure\":null,\"response\":{\"code\":302},\"tags\":[\"depth=0\"]}]}}";
    static const char *page =
        "{\"test_keys\":{\"queries\":[{\"answers\":[{\"ipv4\":\"8.8.8.8\"}],"
        "\"engine\":\"getaddrinfo\",\"tags\":[\"depth=0\"]}],"
        "\"requests\":[{\"address\":\"8.8.8.8:80\","
        "\"failure\":null,\"response\":{\"code\":200,\"x_body_length\":3,"
        "\"x_title\":\"Genuine\",\"headers\":{\"X\":\"y\"}},\"tags\":[\"depth=0\"]}]}}";
    static const char *req =
        "{\"http_request\":\"http://a.example/\",\"tcp_connect\":[\"6.6.6.6:80\"]}";
    static const char *req_same =
        "{\"http_request\":\"http://a.example/\",\"tcp_connect\":[\"8.8.8.8:80\"]}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    struct vg_rec_threq r;
    char err[128], *text = NULL;
    json_t *j;

    (void)state;
    assert_int_equal(vg_rec_threq_parse(req, strlen(req), &r, err, sizeof(err)), 0);
    assert_true(vg_rec_thresponse_fetched_probe_addr(meas, strlen(meas), &r));
    /* the helper's one-parse path: a refetch, no answer yet */
    {
        bool refetch = false;

        assert_int_equal(vg_rec_thresponse_or_refetch(meas, strlen(meas), &r, &o, &refetch, &text),
                         0);
        assert_true(refetch);
        assert_null(text);
        assert_int_equal(vg_rec_thresponse_or_refetch("[]", 2, &r, &o, &refetch, &text), VG_EPROTO);
        assert_false(refetch);
        assert_null(text);
    }
    /* the page measurement supplies http_request; the endpoints stay from the first one */
    assert_int_equal(
        vg_rec_thresponse_from_measurement(meas, strlen(meas), page, strlen(page), &r, &o, &text),
        0);
    j = json_loads(text, 0, NULL);
    free(text);
    expect_str(jpath(j, "http_request", "title", NULL), "Genuine");
    expect_int(jpath(j, "http_request", "body_length", NULL), 3);
    expect_str(jpath(j, "http_request", "headers", "X", NULL), "y");
    assert_int_equal(json_object_size(json_object_get(j, "tcp_connect")), 2);
    expect_int(jpath(j, "ip_info", "6.6.6.6", "flags", NULL), 1);
    json_decref(j);
    /* a malformed page measurement is an error, not a silent fallback */
    assert_int_equal(vg_rec_thresponse_from_measurement(meas, strlen(meas), "[]", 2, &r, &o, &text),
                     VG_EPROTO);
    assert_null(text);
    vg_rec_threq_cleanup(&r);

    /* fetched over an address the helper resolved too: nothing to redo */
    assert_int_equal(vg_rec_threq_parse(req_same, strlen(req_same), &r, err, sizeof(err)), 0);
    assert_false(vg_rec_thresponse_fetched_probe_addr(page, strlen(page), &r));
    assert_false(vg_rec_thresponse_fetched_probe_addr("{}", 2, &r));
    vg_rec_threq_cleanup(&r);
    /* no probe addresses, or an IP literal: the question does not arise */
    {
        static const char *lit = "{\"http_request\":\"http://6.6.6.6/\",\"tcp_connect\":"
                                 "[\"6.6.6.6:80\"]}";

        assert_int_equal(vg_rec_threq_parse(lit, strlen(lit), &r, err, sizeof(err)), 0);
    }
    assert_false(vg_rec_thresponse_fetched_probe_addr(meas, strlen(meas), &r));
    vg_rec_threq_cleanup(&r);
}

/* x_client_addr, vigie's extension: written only when the helper passes the address. */
static void
test_client_addr(void **state)
{
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    json_t *j = build(MEAS_HTTPS, REQ_HTTPS, &o);

    (void)state;
    assert_null(json_object_get(j, "x_client_addr"));
    json_decref(j);
    o.client_addr = "203.0.113.77";
    j = build(MEAS_HTTPS, REQ_HTTPS, &o);
    expect_str(json_object_get(j, "x_client_addr"), "203.0.113.77");
    json_decref(j);
}

/*
 * Issue 14: a server that sends its leaf alone. x_chain reports the chain the helper validated,
 * up to its trust anchor, so that the probe has a CA key to compare (the trusted-CA interception
 * rule); without x_verified_chain (a measurement of before), the chain as served.
 */
#define LEAF_SHA  "1111111111111111111111111111111111111111111111111111111111111111"
#define LEAF_SPKI "2222222222222222222222222222222222222222222222222222222222222222"
#define ROOT_SHA  "3333333333333333333333333333333333333333333333333333333333333333"
#define ROOT_SPKI "4444444444444444444444444444444444444444444444444444444444444444"
#define LEAF_SUM                                                                     \
    "{\"subject\":\"CN=leaf.example\",\"issuer\":\"CN=Root\",\"sha256\":\"" LEAF_SHA \
    "\",\"spki_sha256\":\"" LEAF_SPKI "\"}"
#define ROOT_SUM                                                             \
    "{\"subject\":\"CN=Root\",\"issuer\":\"CN=Root\",\"sha256\":\"" ROOT_SHA \
    "\",\"spki_sha256\":\"" ROOT_SPKI "\"}"

static char *
leaf_alone_meas(const char *verified)
{
    char *out = NULL;

    assert_true(asprintf(&out,
                         "{\"test_keys\":{\"queries\":[{\"answers\":[{\"ipv4\":\"8.8.8.8\"}],"
                         "\"engine\":\"getaddrinfo\",\"failure\":null,\"tags\":[\"depth=0\"]}],"
                         "\"tcp_connect\":[{\"ip\":\"8.8.8.8\",\"port\":443,\"status\":{"
                         "\"success\":true,\"failure\":null},\"tags\":[\"depth=0\"]}],"
                         "\"tls_handshakes\":[{\"address\":\"8.8.8.8:443\",\"failure\":null,"
                         "\"server_name\":\"leaf.example\",\"tls_version\":\"TLSv1.3\","
                         "\"x_certificates\":[" LEAF_SUM "],\"x_handshake_failure\":null,"
                         "\"tags\":[\"depth=0\"]%s}],\"requests\":[]}}",
                         verified) > 0);
    return out;
}

static void
test_leaf_alone_validated_chain(void **state)
{
    static const char *req = "{\"http_request\":\"https://leaf.example/\"}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    struct vg_rec_threq r;
    struct vg_ctrl *c = calloc(1, sizeof(*c));
    char *meas, *text = NULL, err[128];
    json_t *j, *chain;

    (void)state;
    assert_non_null(c);
    meas = leaf_alone_meas(",\"x_verified_chain\":[" LEAF_SUM "," ROOT_SUM "]");
    j = build(meas, req, &o);
    chain = jpath(j, "tls_handshake", "8.8.8.8:443", "x_chain", NULL);
    assert_int_equal(json_array_size(chain), 2);
    expect_str(jpath(json_array_get(chain, 1), "spki_sha256", NULL), ROOT_SPKI);
    expect_str(jpath(json_array_get(chain, 1), "subject", NULL), "CN=Root");
    json_decref(j);
    /* and the probe reads the anchor's key as a CA key of the control's chain */
    assert_int_equal(vg_rec_threq_parse(req, strlen(req), &r, err, sizeof(err)), 0);
    assert_int_equal(vg_rec_thresponse_from_measurement(meas, strlen(meas), NULL, 0, &r, &o, &text),
                     0);
    assert_int_equal(vg_rec_thresponse_parse(text, strlen(text), c), 0);
    assert_int_equal(c->n_ep, 1);
    assert_string_equal(c->ep[0].leaf_spki, LEAF_SPKI);
    assert_int_equal(c->ep[0].n_ca_spki, 1);
    assert_string_equal(c->ep[0].ca_spki[0], ROOT_SPKI);
    free(text);
    free(meas);
    /* a measurement without the validated chain, or an empty one (not validated): as served */
    for (int i = 0; i < 2; i++) {
        meas = leaf_alone_meas(i == 0 ? "" : ",\"x_verified_chain\":[]");
        j = build(meas, req, &o);
        chain = jpath(j, "tls_handshake", "8.8.8.8:443", "x_chain", NULL);
        assert_int_equal(json_array_size(chain), 1);
        expect_str(jpath(json_array_get(chain, 0), "sha256", NULL), LEAF_SHA);
        json_decref(j);
        free(meas);
    }
    vg_rec_threq_cleanup(&r);
    free(c);
}

/* Issue 14: TLS where oohelperd handshakes (port 443), the URL's port when vigie's probe asks. */
static void
test_tls_port_rule(void **state)
{
    static const char *meas =
        "{\"test_keys\":{\"tcp_connect\":[{\"ip\":\"8.8.8.8\",\"port\":8443,\"status\":{"
        "\"success\":true,\"failure\":null},\"tags\":[\"depth=0\"]}],"
        "\"tls_handshakes\":[{\"address\":\"8.8.8.8:8443\",\"failure\":null,"
        "\"server_name\":\"a.example\",\"x_certificates\":[],\"x_handshake_failure\":null,"
        "\"tags\":[\"depth=0\"]}],\"requests\":[{\"address\":\"8.8.8.8:8443\",\"failure\":null,"
        "\"response\":{\"code\":200,\"x_body_length\":3000000,\"x_body_sha256\":\"ee\"},"
        "\"tags\":[\"depth=0\"]}]}}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    json_t *j;

    (void)state;
    j = build(meas,
              "{\"http_request\":\"https://a.example:8443/\",\"tcp_connect\":[\"8.8.8.8:8443\"]}",
              &o);
    assert_int_equal(json_object_size(json_object_get(j, "tls_handshake")), 0);
    assert_true(json_is_true(jpath(j, "tcp_connect", "8.8.8.8:8443", "status", NULL)));
    expect_int(jpath(j, "ip_info", "8.8.8.8", "flags", NULL), 1); /* no 8: no handshake */
    /* body_length: the length the engine counted, past the prefix it kept */
    expect_int(jpath(j, "http_request", "body_length", NULL), 3000000);
    json_decref(j);
    j = build(meas,
              "{\"http_request\":\"https://a.example:8443/\",\"tcp_connect\":[\"8.8.8.8:8443\"],"
              "\"x_tls_any_port\":true}",
              &o);
    assert_true(json_is_true(jpath(j, "tls_handshake", "8.8.8.8:8443", "status", NULL)));
    expect_int(jpath(j, "ip_info", "8.8.8.8", "flags", NULL), 1 | 8);
    json_decref(j);
}

/* Issue 14: every address measured is in ip_info, the URL's IP literal too. */
static void
test_ip_literal_in_ip_info(void **state)
{
    static const char *meas =
        "{\"test_keys\":{\"tcp_connect\":[{\"ip\":\"8.8.8.8\",\"port\":80,\"status\":{"
        "\"success\":true,\"failure\":null},\"tags\":[\"depth=0\"]},"
        "{\"ip\":\"8.8.8.8\",\"port\":443,\"status\":{\"success\":true,\"failure\":null},"
        "\"tags\":[\"depth=0\"]}],"
        "\"tls_handshakes\":[{\"address\":\"8.8.8.8:443\",\"failure\":null,"
        "\"server_name\":\"8.8.8.8\",\"x_certificates\":[],\"x_handshake_failure\":null,"
        "\"tags\":[\"depth=0\"]}]}}";
    struct vg_rec_thresp_opts o = {.skip_bogons = true};
    json_t *j = build(meas, "{\"http_request\":\"http://8.8.8.8/\",\"tcp_connect\":[]}", &o);

    (void)state;
    assert_int_equal(json_object_size(json_object_get(j, "tcp_connect")), 2);
    /* resolved by neither (flags 0), valid for the name on 443 (8) */
    assert_int_equal(json_object_size(json_object_get(j, "ip_info")), 1);
    expect_int(jpath(j, "ip_info", "8.8.8.8", "flags", NULL), 8);
    expect_int(jpath(j, "ip_info", "8.8.8.8", "asn", NULL), 0);
    json_decref(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_success),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_allow_private),
        cmocka_unit_test(test_doc_ranges),
        cmocka_unit_test(test_nxdomain),
        cmocka_unit_test(test_dns_timeout_and_no_answer),
        cmocka_unit_test(test_tls_invalid),
        cmocka_unit_test(test_http_partial),
        cmocka_unit_test(test_failure_maps),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_probe_addr_refetch),
        cmocka_unit_test(test_client_addr),
        cmocka_unit_test(test_leaf_alone_validated_chain),
        cmocka_unit_test(test_tls_port_rule),
        cmocka_unit_test(test_ip_literal_in_ip_info),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
