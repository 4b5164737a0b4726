/* SPDX-License-Identifier: MIT */
/*
 * test_record_th.c - the test helper's bodies in lib/meas/record_th.c: the THRequest writer (byte
 * for byte what the probe sends), the THRequest reader (accepted shapes, the specific error for
 * each malformed one, the URL, the port plan), and the THResponse reader (record_th_read.c) on
 * good and hostile THResponses (with vg_ctrl_endpoint). The THResponse writer:
 * test_record_th_resp.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/control.h"
#include "meas/record.h"
#include "meas/record_th.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"
#include "vgtest.h"

/* ---- THRequest --------------------------------------------------------------------------- */

static int
parse_req(const char *s, struct vg_rec_threq *r)
{
    char err[256];

    return vg_rec_threq_parse(s, strlen(s), r, err, sizeof(err));
}

static void
req_full_request(void **state)
{
    struct vg_rec_threq r;
    const char *s =
        "{\"http_request\":\"https://www.example.com/path?q=1\","
        "\"http_request_headers\":{\"Accept\":[\"*/*\"],\"User-Agent\":[\"x\",null],\"X\":null},"
        "\"tcp_connect\":[\"93.184.216.34:443\",\"[2001:0db8:0::1]:443\",\"93.184.216.34:80\","
        "\"name.example:443\",\"1.2.3.4\",\"[fe80::1%eth0]:443\",null,\"\",\"[::1]:99999\"],"
        "\"x_quic_enabled\":true,\"unknown\":{\"ignored\":[1,2]}}";

    (void)state;
    assert_int_equal(parse_req(s, &r), 0);
    assert_string_equal(r.url, "https://www.example.com/path?q=1");
    assert_true(r.https);
    assert_int_equal(r.port, 0);
    assert_int_equal(r.host_family, 0);
    assert_true(r.quic);
    /* distinct addresses, canonical; a second port of the same address adds nothing */
    assert_int_equal(r.n_ips, 2);
    assert_string_equal(r.ips[0], "93.184.216.34");
    assert_string_equal(r.ips[1], "2001:db8::1");
    assert_int_equal(r.n_ignored, 6);
    vg_rec_threq_cleanup(&r);
    vg_rec_threq_cleanup(&r); /* idempotent */
}

static void
req_minimal_and_nulls(void **state)
{
    struct vg_rec_threq r;

    (void)state;
    assert_int_equal(parse_req("{\"http_request\":\"http://a.example\"}", &r), 0);
    assert_false(r.https);
    assert_int_equal(r.n_ips, 0);
    vg_rec_threq_cleanup(&r);
    assert_int_equal(parse_req("{\"http_request\":\"http://a.example\",\"tcp_connect\":null,"
                               "\"http_request_headers\":null,\"x_quic_enabled\":null}",
                               &r),
                     0);
    assert_false(r.quic);
    vg_rec_threq_cleanup(&r);
}

static void
req_errors(void **state)
{
    static const struct {
        const char *body;
        int rc;
    } cases[] = {
        {"", VG_EPROTO},
        {"not json", VG_EPROTO},
        {"{\"http_request\":\"http://a/\"} trailing", VG_EPROTO},
        {"[]", VG_EPROTO},
        {"null", VG_EPROTO},
        {"\"http://a/\"", VG_EPROTO},
        {"{}", VG_EINVAL},
        {"{\"http_request\":null}", VG_EINVAL},
        {"{\"http_request\":5}", VG_EPROTO},
        {"{\"http_request\":\"ftp://a/\"}", VG_EINVAL},
        {"{\"http_request\":\"a.example\"}", VG_EINVAL},
        {"{\"http_request\":\"http://\"}", VG_EINVAL},
        {"{\"http_request\":\"http:///path\"}", VG_EINVAL},
        {"{\"http_request\":\"http://:80/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://a:0/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://a:65536/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://a:8x/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://[::1/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://[::1]x/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://[nothex]/\"}", VG_EINVAL},
        /* lib/proto/url's rules, the engine's: the helper's own splitter used to let these
         * through, and the engine refused them when the job was submitted */
        {"{\"http_request\":\"http://user:pw@1.2.3.4/a@b\"}", VG_EINVAL},
        {"{\"http_request\":\"http://1.2.3.4.5/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://127.1/\"}", VG_EINVAL},
        {"{\"http_request\":\"http://a b/\"}", VG_EINVAL},
        /* inputs the probe takes, not web pages */
        {"{\"http_request\":\"tls://a.example\"}", VG_EINVAL},
        {"{\"http_request\":\"dns://a.example\"}", VG_EINVAL},
        {"{\"http_request\":\"http://a/\",\"tcp_connect\":\"1.2.3.4:80\"}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"tcp_connect\":[1]}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"http_request_headers\":[]}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"http_request_headers\":{\"A\":\"b\"}}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"http_request_headers\":{\"A\":[1]}}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"x_quic_enabled\":\"yes\"}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\\u0000\"}", VG_EPROTO},
    };
    struct vg_rec_threq r;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        r.url = (char *)"sentinel";
        assert_int_equal(
            vg_rec_threq_parse(cases[i].body, strlen(cases[i].body), &r, err, sizeof(err)),
            cases[i].rc);
        assert_true(err[0] != '\0');
        assert_null(r.url); /* nothing leaks, nothing dangles */
    }
    /* the reasons */
    {
        static const struct {
            const char *body, *err;
        } why[] = {
            {"{}", "http_request is missing"},
            {"[]", "the request must be a JSON object"},
            {"{\"http_request\":5}", "http_request must be a string"},
            {"{\"http_request\":\"ftp://a/\"}", "http_request is not an http:// or https:// URL"},
            {"{\"http_request\":\"http://a:0/\"}",
             "http_request is not a valid URL (invalid argument)"},
            {"{\"http_request\":\"http://a/\",\"tcp_connect\":[1]}",
             "tcp_connect must be an array of strings"},
            {"{\"http_request\":\"http://a/\",\"x_quic_enabled\":1}",
             "x_quic_enabled must be a boolean"},
        };

        for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
            assert_int_not_equal(
                vg_rec_threq_parse(why[i].body, strlen(why[i].body), &r, err, sizeof(err)), 0);
            assert_string_equal(err, why[i].err);
        }
    }
}

static void
req_url_too_long(void **state)
{
    static char body[VG_URL_MAX + 64];
    struct vg_rec_threq r;
    size_t n;

    (void)state;
    n = (size_t)snprintf(body, sizeof(body), "{\"http_request\":\"http://a.example/");
    memset(body + n, 'x', VG_URL_MAX);
    memcpy(body + n + VG_URL_MAX - 20, "\"}", 3);
    assert_int_equal(parse_req(body, &r), 0); /* exactly at the limit is fine */
    vg_rec_threq_cleanup(&r);
    memcpy(body + n + VG_URL_MAX - 20, "xxxxxxxxxxxxxxxxxxxx\"}", 23);
    assert_int_equal(parse_req(body, &r), VG_EINVAL);
}

static void
req_url_split(void **state)
{
    static const struct {
        const char *url;
        bool https;
        unsigned port;
        int family;
        const char *ip;
    } cases[] = {
        {"http://127.0.0.1:8080/x", false, 8080, 4, "127.0.0.1"},
        {"https://[::1]/", true, 0, 6, "::1"},
        {"https://[2001:DB8:0::1]:8443", true, 8443, 6, "2001:db8::1"},
        {"HTTP://Example.COM", false, 0, 0, ""},
        {"hTTps://example.com:443?x#y", true, 443, 0, ""},
        {"http://example.com:/", false, 0, 0, ""},
        {"http://[::1]:/", false, 0, 6, "::1"},
        {"http://[::ffff:127.0.0.1]/", false, 0, 6, "::ffff:127.0.0.1"},
        {"http://a.example./", false, 0, 0, ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[256];
        struct vg_rec_threq r;

        snprintf(body, sizeof(body), "{\"http_request\":\"%s\"}", cases[i].url);
        assert_int_equal(parse_req(body, &r), 0);
        assert_int_equal(r.https, cases[i].https);
        assert_int_equal(r.port, cases[i].port);
        assert_int_equal(r.host_family, cases[i].family);
        if (cases[i].family != 0) {
            assert_string_equal(r.host_ip, cases[i].ip);
        }
        vg_rec_threq_cleanup(&r);
    }
}

static void
req_ip_cap(void **state)
{
    char body[4096];
    size_t n;
    struct vg_rec_threq r;

    (void)state;
    n = (size_t)snprintf(body, sizeof(body), "{\"http_request\":\"http://a/\",\"tcp_connect\":[");
    for (int i = 0; i < VG_CTRL_PROBE_IPS + 5; i++) {
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"8.8.8.%d:80\"", i ? "," : "", i);
    }
    snprintf(body + n, sizeof(body) - n, "]}");
    assert_int_equal(parse_req(body, &r), 0);
    assert_int_equal(r.n_ips, VG_CTRL_PROBE_IPS);
    assert_int_equal(r.n_ignored, 5);
    vg_rec_threq_cleanup(&r);
}

/* The ports oohelperd measures (internal/oohelperd/ipinfo.go). */
static void
req_ports(void **state)
{
    static const struct {
        const char *url;
        size_t n;
        uint16_t p0, p1;
    } cases[] = {
        {"http://a.example/", 2, 80, 443},      {"https://a.example/", 1, 443, 0},
        {"http://a.example:8080/", 1, 8080, 0}, {"https://a.example:80/", 1, 80, 0},
        {"http://a.example:80/", 1, 80, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[256];
        struct vg_rec_threq r;
        uint16_t ports[2] = {0, 0};

        snprintf(body, sizeof(body), "{\"http_request\":\"%s\"}", cases[i].url);
        assert_int_equal(parse_req(body, &r), 0);
        assert_int_equal(vg_rec_threq_ports(&r, ports), cases[i].n);
        assert_int_equal(ports[0], cases[i].p0);
        if (cases[i].n == 2) {
            assert_int_equal(ports[1], cases[i].p1);
        }
        vg_rec_threq_cleanup(&r);
    }
}

/* The writer against what lib/meas/probe.c's vg__threquest builds, byte for byte. */
static void
req_writer(void **state)
{
    static const char *const eps[] = {"93.184.216.34:443",
                                      "[2606:2800:220:1:248:1893:25c8:1946]:443"};
    static const char *const hdrs[] = {"Accept",          VG_REC_ACCEPT,
                                       "Accept-Language", VG_REC_ACCEPT_LANGUAGE,
                                       "User-Agent",      VG_REC_USER_AGENT};
    const char *url = "https://www.example.com/";
    json_t *a = json_array(), *want, *got;
    char *ws, *gs, err[128];
    struct vg_rec_threq r;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        json_array_append_new(a, json_string(eps[i]));
    }
    /* probe.c, vg__threquest */
    want = json_pack("{s:s, s:{s:[s], s:[s], s:[s]}, s:o, s:b}", "http_request", url,
                     "http_request_headers", "Accept",
                     "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                     "Accept-Language", "en-US,en;q=0.9", "User-Agent", VG_REC_USER_AGENT,
                     "tcp_connect", a, "x_quic_enabled", 0);
    got = vg_rec_threquest(url, eps, 2, hdrs, 3, false);
    assert_non_null(want);
    assert_non_null(got);
    ws = json_dumps(want, JSON_COMPACT);
    gs = json_dumps(got, JSON_COMPACT);
    assert_string_equal(gs, ws);
    /* and the helper reads it back */
    assert_int_equal(vg_rec_threq_parse(gs, strlen(gs), &r, err, sizeof(err)), 0);
    assert_string_equal(r.url, url);
    assert_true(r.https);
    assert_int_equal(r.n_ips, 2);
    assert_string_equal(r.ips[1], "2606:2800:220:1:248:1893:25c8:1946");
    assert_int_equal(r.n_ignored, 0);
    assert_false(r.quic);
    vg_rec_threq_cleanup(&r);
    free(ws);
    free(gs);
    json_decref(want);
    json_decref(got);

    /* nothing resolved, no headers, QUIC */
    got = vg_rec_threquest("http://a.example/", NULL, 0, NULL, 0, true);
    gs = json_dumps(got, JSON_COMPACT);
    assert_string_equal(gs, "{\"http_request\":\"http://a.example/\",\"http_request_headers\":{},"
                            "\"tcp_connect\":[],\"x_quic_enabled\":true}");
    free(gs);
    json_decref(got);
    /* not UTF-8 */
    assert_null(vg_rec_threquest("http://a.example/\xff", NULL, 0, NULL, 0, false));
}

/* Issue 14: the headers oohelperd forwards, and vigie's x_tls_any_port. */
static void
req_forwarded_headers(void **state)
{
    struct vg_rec_threq r;
    char long_value[VG_CTRL_HEADER_MAX + 2], body[2048];
    const char *s = "{\"http_request\":\"http://a.example/\",\"http_request_headers\":{"
                    "\"user-agent\":[null,\"bad\\r\\nX-Injected: 1\",\"UA/1.0 (ok)\",\"UA/2\"],"
                    "\"ACCEPT\":[\"text/html\\tq\"],\"Accept-Language\":[\"\\u007f\"],"
                    "\"Cookie\":[\"c=1\"]}}";

    (void)state;
    assert_int_equal(parse_req(s, &r), 0);
    /* names without regard to case, the first usable value, control characters refused */
    assert_string_equal(r.user_agent, "UA/1.0 (ok)");
    assert_string_equal(r.accept, "text/html\tq");
    assert_null(r.accept_language);
    assert_false(r.tls_any_port);
    vg_rec_threq_cleanup(&r);
    assert_null(r.user_agent);
    /* a value over VG_CTRL_HEADER_MAX bytes is not forwarded; one at the limit is */
    memset(long_value, 'a', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    snprintf(body, sizeof(body),
             "{\"http_request\":\"http://a.example/\",\"http_request_headers\":{"
             "\"User-Agent\":[\"%s\"],\"Accept\":[\"%.*s\"]},\"x_tls_any_port\":true}",
             long_value, VG_CTRL_HEADER_MAX, long_value);
    assert_int_equal(parse_req(body, &r), 0);
    assert_null(r.user_agent);
    assert_int_equal(strlen(r.accept), VG_CTRL_HEADER_MAX);
    assert_true(r.tls_any_port);
    vg_rec_threq_cleanup(&r);
    /* the extension's type is checked like the others */
    assert_int_equal(parse_req("{\"http_request\":\"http://a/\",\"x_tls_any_port\":1}", &r),
                     VG_EPROTO);
    assert_int_equal(parse_req("{\"http_request\":\"http://a/\",\"x_tls_any_port\":null}", &r), 0);
    assert_false(r.tls_any_port);
    vg_rec_threq_cleanup(&r);
}

/* oohelperd handshakes on port 443 only; vigie's probe asks for an https URL's own port. */
static void
req_tls_ports(void **state)
{
    struct vg_rec_threq r;
    json_t *req = vg_rec_threquest("https://a.example:8443/", NULL, 0, NULL, 0, false);
    char *text;

    (void)state;
    assert_int_equal(parse_req("{\"http_request\":\"https://a.example:8443/\"}", &r), 0);
    assert_false(vg_rec_threq_tls_port(&r, 8443));
    assert_true(vg_rec_threq_tls_port(&r, 443));
    vg_rec_threq_cleanup(&r);
    vg_rec_threquest_ask_tls(req);
    text = json_dumps(req, JSON_COMPACT);
    assert_non_null(strstr(text, "\"x_tls_any_port\":true"));
    assert_int_equal(parse_req(text, &r), 0);
    assert_true(vg_rec_threq_tls_port(&r, 8443));
    assert_true(vg_rec_threq_tls_port(&r, 443));
    vg_rec_threq_cleanup(&r);
    free(text);
    json_decref(req);
    /* an http URL: TLS on 443 (oohelperd's "valid for the domain" check), never elsewhere */
    assert_int_equal(
        parse_req("{\"http_request\":\"http://a.example:8080/\",\"x_tls_any_port\":true}", &r), 0);
    assert_false(vg_rec_threq_tls_port(&r, 8080));
    assert_true(vg_rec_threq_tls_port(&r, 443));
    vg_rec_threq_cleanup(&r);
}

/* ---- THResponse reader -------------------------------------------------------------------- */

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define HEX_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

/* The example of the brief: OONI's THResponse with vigie's extensions. */
static const char vigie_response[] =
    "{\"tcp_connect\":{\"198.51.100.30:443\":{\"status\":true,\"failure\":null},"
    "\"198.51.100.31:443\":{\"status\":false,\"failure\":\"connection_refused_error\"}},"
    "\"tls_handshake\":{\"198.51.100.30:443\":{\"server_name\":\"www.icloud.com\",\"status\":true,"
    "\"failure\":null,\"x_valid\":true,\"x_tls_version\":\"TLSv1.3\","
    "\"x_cipher_suite\":\"TLS_AES_256_GCM_SHA384\",\"x_chain\":["
    "{\"sha256\":\"" HEX_A "\",\"spki_sha256\":\"" HEX_B "\",\"subject\":\"CN=www.icloud.com\","
    "\"issuer\":\"CN=Apple Public Server RSA CA 12 - G1\"},"
    "{\"sha256\":\"" HEX_C "\",\"spki_sha256\":\"" HEX_D "\",\"subject\":\"CN=Apple Public Server "
    "RSA CA 12 - G1\",\"issuer\":\"CN=DigiCert Global Root G2\"}]}},"
    "\"quic_handshake\":{},"
    "\"http_request\":{\"body_length\":1256,\"discovered_h3_endpoint\":\"\",\"failure\":null,"
    "\"title\":\"Example Domain\",\"headers\":{\"Content-Type\":\"text/html\","
    "\"X-Cache\":\"HIT\"},\"status_code\":200,\"x_body_sha256\":\"" HEX_E "\"},"
    "\"http3_request\":null,"
    "\"dns\":{\"failure\":null,\"addrs\":[\"93.184.216.34\",\"2606:2800:220:1:248:1893:25c8:1946\"]"
    "},"
    "\"ip_info\":{\"93.184.216.34\":{\"asn\":0,\"flags\":11}}}";

/* What oohelperd answers for a name that does not exist. */
static const char ooni_nxdomain[] =
    "{\"tcp_connect\":{},\"tls_handshake\":{},\"quic_handshake\":{},"
    "\"http_request\":{\"body_length\":-1,\"discovered_h3_endpoint\":\"\","
    "\"failure\":\"dns_lookup_error\",\"title\":\"\",\"headers\":{},\"status_code\":-1},"
    "\"http3_request\":null,\"dns\":{\"failure\":\"dns_name_error\",\"addrs\":[]},"
    "\"ip_info\":{}}";

static struct vg_ctrl g_c;

static int
parse(const char *s)
{
    return vg_rec_thresponse_parse(s, strlen(s), &g_c);
}

static void
assert_empty(const struct vg_ctrl *c)
{
    assert_int_equal(c->n_ep, 0);
    assert_int_equal(c->n_addrs, 0);
    assert_int_equal(c->n_headers, 0);
    assert_int_equal(c->status, -1);
    assert_int_equal(c->body_length, -1);
    assert_string_equal(c->dns_failure, "");
    assert_string_equal(c->http_failure, "");
    assert_string_equal(c->title, "");
}

static void
test_vigie_response(void **state)
{
    const struct vg_ctrl_endpoint *e;

    (void)state;
    assert_int_equal(parse(vigie_response), 0);
    assert_string_equal(g_c.dns_failure, "");
    assert_int_equal(g_c.n_addrs, 2);
    assert_string_equal(g_c.addrs[0], "93.184.216.34");
    assert_string_equal(g_c.addrs[1], "2606:2800:220:1:248:1893:25c8:1946");
    assert_int_equal(g_c.status, 200);
    assert_int_equal(g_c.body_length, 1256);
    assert_string_equal(g_c.title, "Example Domain");
    assert_string_equal(g_c.http_failure, "");
    assert_string_equal(g_c.body_sha256, HEX_E);
    assert_int_equal(g_c.n_headers, 2);
    assert_string_equal(g_c.headers[0], "Content-Type");
    assert_string_equal(g_c.headers[1], "X-Cache");
    assert_int_equal(g_c.n_ep, 2);

    e = vg_ctrl_endpoint(&g_c, "198.51.100.30:443");
    assert_non_null(e);
    assert_true(e->tcp_ok);
    assert_string_equal(e->tcp_failure, "");
    assert_true(e->tls_present);
    assert_true(e->tls_ok);
    assert_true(e->x_present);
    assert_true(e->x_valid);
    assert_string_equal(e->leaf_sha256, HEX_A);
    assert_string_equal(e->leaf_spki, HEX_B);
    assert_int_equal(e->n_ca_spki, 1);
    assert_string_equal(e->ca_spki[0], HEX_D);

    e = vg_ctrl_endpoint(&g_c, "198.51.100.31:443");
    assert_non_null(e);
    assert_false(e->tcp_ok);
    assert_string_equal(e->tcp_failure, "connection_refused_error");
    assert_false(e->tls_present);
    assert_false(e->x_present);

    assert_null(vg_ctrl_endpoint(&g_c, "198.51.100.32:443"));
    assert_null(vg_ctrl_endpoint(&g_c, "198.51.100.30"));
    assert_null(vg_ctrl_endpoint(NULL, "198.51.100.30:443"));
    assert_null(vg_ctrl_endpoint(&g_c, NULL));
}

static void
test_ooni_responses(void **state)
{
    const struct vg_ctrl_endpoint *e;

    (void)state;
    assert_int_equal(parse(ooni_nxdomain), 0);
    assert_string_equal(g_c.dns_failure, "dns_name_error");
    assert_int_equal(g_c.n_addrs, 0);
    assert_string_equal(g_c.http_failure, "dns_lookup_error");
    assert_int_equal(g_c.status, -1);
    assert_int_equal(g_c.body_length, -1);
    assert_int_equal(g_c.n_ep, 0);

    /* oohelperd's TLS entry has no x_ keys: x_present stays false, whatever the status. */
    assert_int_equal(parse("{\"tls_handshake\":{\"[2606:2800:220:1::]:443\":{\"server_name\":"
                           "\"www.example.com\",\"status\":false,\"failure\":\"ssl_unknown_"
                           "authority\"}}}"),
                     0);
    e = vg_ctrl_endpoint(&g_c, "[2606:2800:220:1::]:443");
    assert_non_null(e);
    assert_true(e->tls_present);
    assert_false(e->tls_ok);
    assert_false(e->x_present);
    assert_string_equal(e->tls_failure, "ssl_unknown_authority");
    /* tcp_connect and tls_handshake entries for one endpoint share the record. */
    assert_int_equal(parse("{\"tls_handshake\":{\"192.0.2.1:443\":{\"status\":true}},"
                           "\"tcp_connect\":{\"192.0.2.1:443\":{\"status\":true}}}"),
                     0);
    assert_int_equal(g_c.n_ep, 1);
    assert_true(g_c.ep[0].tcp_ok);
    assert_true(g_c.ep[0].tls_ok);
    /* vigie's helper reports a completed handshake with a bad certificate as status true,
     * x_valid false, and hashes it could not compute as "". */
    assert_int_equal(parse("{\"tls_handshake\":{\"192.0.2.1:443\":{\"status\":true,\"x_valid\":"
                           "false,\"x_chain\":[{\"sha256\":\"\",\"spki_sha256\":\"\"},"
                           "{\"spki_sha256\":\"\"}]}}}"),
                     0);
    assert_true(g_c.ep[0].x_present);
    assert_false(g_c.ep[0].x_valid);
    assert_string_equal(g_c.ep[0].leaf_spki, "");
    assert_int_equal(g_c.ep[0].n_ca_spki, 0);
}

static void
test_nulls_and_unknown_keys(void **state)
{
    (void)state;
    assert_int_equal(parse("{}"), 0);
    assert_empty(&g_c);
    assert_int_equal(parse("{\"tcp_connect\":null,\"tls_handshake\":null,\"http_request\":null,"
                           "\"dns\":null,\"ip_info\":null,\"quic_handshake\":null,"
                           "\"http3_request\":null,\"x_future\":[1,2,{\"a\":true}]}"),
                     0);
    assert_empty(&g_c);
    assert_int_equal(parse("{\"dns\":{\"failure\":null,\"addrs\":null},\"http_request\":"
                           "{\"status_code\":null,\"body_length\":null,\"headers\":null,"
                           "\"title\":null},\"tcp_connect\":{\"192.0.2.1:80\":null}}"),
                     0);
    assert_empty(&g_c);
    /* Hashes are stored lower-case. */
    assert_int_equal(parse("{\"http_request\":{\"x_body_sha256\":\"" HEX_A "\"}}"), 0);
    assert_string_equal(g_c.body_sha256, HEX_A);
    assert_int_equal(
        parse("{\"http_request\":{\"x_body_sha256\":"
              "\"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789\"}}"),
        0);
    assert_string_equal(g_c.body_sha256,
                        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
}

static void
test_wrong_types_are_eproto(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "\"a string\"",
        "42",
        "null",
        "{} trailing",
        "{\"dns\":{\"failure\":null,\"addrs\":[]}",
        "{\"dns\":[]}",
        "{\"dns\":{\"failure\":7}}",
        "{\"dns\":{\"addrs\":\"93.184.216.34\"}}",
        "{\"dns\":{\"addrs\":[93]}}",
        "{\"dns\":{\"addrs\":[null]}}",
        "{\"tcp_connect\":[]}",
        "{\"tcp_connect\":{\"192.0.2.1:80\":true}}",
        "{\"tcp_connect\":{\"192.0.2.1:80\":{\"status\":\"true\"}}}",
        "{\"tcp_connect\":{\"192.0.2.1:80\":{\"status\":1}}}",
        "{\"tcp_connect\":{\"192.0.2.1:80\":{\"failure\":false}}}",
        "{\"tls_handshake\":\"x\"}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":[]}}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_valid\":\"yes\"}}}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"server_name\":1}}}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_tls_version\":13}}}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_chain\":{}}}}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_chain\":[\"" HEX_A "\"]}}}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_chain\":[{\"sha256\":\"xyz\"}]}}}",
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_chain\":[{\"spki_sha256\":\"" HEX_A "0\"}]}}}",
        ("{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_chain\":[{\"spki_sha256\":"
         "\"gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\"}]}}}"),
        "{\"tls_handshake\":{\"192.0.2.1:443\":{\"x_chain\":[{\"subject\":[]}]}}}",
        "{\"http_request\":[]}",
        "{\"http_request\":{\"status_code\":\"200\"}}",
        "{\"http_request\":{\"status_code\":200.0}}",
        "{\"http_request\":{\"status_code\":1000}}",
        "{\"http_request\":{\"status_code\":-2}}",
        "{\"http_request\":{\"body_length\":-2}}",
        "{\"http_request\":{\"body_length\":1e3}}",
        "{\"http_request\":{\"body_length\":true}}",
        "{\"http_request\":{\"title\":{}}}",
        "{\"http_request\":{\"failure\":0}}",
        "{\"http_request\":{\"headers\":[]}}",
        "{\"http_request\":{\"headers\":{\"Server\":1}}}",
        "{\"http_request\":{\"headers\":{\"Server\":[\"a\"]}}}",
        "{\"http_request\":{\"discovered_h3_endpoint\":false}}",
        "{\"http_request\":{\"x_body_sha256\":12}}",
        "{\"ip_info\":[]}",
        "{\"ip_info\":{\"93.184.216.34\":7}}",
        "{\"ip_info\":{\"93.184.216.34\":{\"asn\":\"AS1\"}}}",
        "{\"ip_info\":{\"93.184.216.34\":{\"flags\":-1}}}",
        "{\"quic_handshake\":[]}",
        "{\"http3_request\":5}",
        /* ambiguous: a key given twice */
        "{\"dns\":{},\"dns\":{}}",
        /* NUL inside a string */
        "{\"http_request\":{\"title\":\"a\\u0000b\"}}",
        /* invalid UTF-8 */
        "{\"http_request\":{\"title\":\"\xff\xfe\"}}",
        /* beyond the largest integer */
        "{\"http_request\":{\"body_length\":99999999999999999999999}}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* Start from a filled record: an error must leave it empty. */
        assert_int_equal(parse(vigie_response), 0);
        if (parse(bad[i]) != VG_EPROTO) {
            fail_msg("expected VG_EPROTO for %s", bad[i]);
        }
        assert_empty(&g_c);
    }
    assert_int_equal(vg_rec_thresponse_parse(NULL, 0, &g_c), VG_EPROTO);
    assert_int_equal(vg_rec_thresponse_parse("{}", 2, NULL), VG_EINVAL);
}

static void
test_too_big(void **state)
{
    size_t n = VG_CTRL_RESPONSE_MAX + 1;
    char *big = vg_xmalloc(n);

    (void)state;
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    assert_int_equal(parse(vigie_response), 0);
    assert_int_equal(vg_rec_thresponse_parse(big, n, &g_c), VG_ETOOBIG);
    assert_empty(&g_c);
    /* Exactly at the limit is read. */
    assert_int_equal(vg_rec_thresponse_parse(big, n - 1, &g_c), VG_EPROTO);
    big[n - 2] = '}';
    assert_int_equal(vg_rec_thresponse_parse(big, n - 1, &g_c), 0);
    free(big);
}

/* Append to a growing JSON text in a fixed buffer. */
static void
cat(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);

    assert_true(n + strlen(s) < cap);
    memcpy(buf + n, s, strlen(s) + 1);
}

/* 40 endpoints, 40 addresses (and junk), 10 CA certificates, 100 headers; with bad_tail, one more
 * CA entry of the wrong type past the cap. */
static void
build_caps(char *j, size_t cap, bool bad_tail)
{
    char item[256];

    j[0] = '\0';
    cat(j, cap, "{\"tcp_connect\":{");
    for (int i = 0; i < 40; i++) {
        snprintf(item, sizeof(item), "%s\"192.0.2.%d:443\":{\"status\":true}", i ? "," : "", i);
        cat(j, cap, item);
    }
    /* keys too long to be an endpoint are skipped, not cut */
    cat(j, cap, ",\"");
    for (int i = 0; i < 100; i++) {
        cat(j, cap, "9");
    }
    cat(j, cap, "\":{\"status\":true}},\"dns\":{\"addrs\":[\"example.com\",\"\",");
    cat(j, cap, "\"1.2.3.4.5\",\"93.184.216.34\",\"93.184.216.34\"");
    for (int i = 0; i < 40; i++) {
        snprintf(item, sizeof(item), ",\"203.0.113.%d\"", i);
        cat(j, cap, item);
    }
    cat(j, cap,
        "]},\"tls_handshake\":{\"192.0.2.0:443\":{\"status\":true,\"x_valid\":true,"
        "\"x_chain\":[{\"spki_sha256\":\"" HEX_A "\"}");
    for (int i = 0; i < 10; i++) {
        snprintf(item, sizeof(item), ",{\"spki_sha256\":\"%064d\"}", i);
        cat(j, cap, item);
    }
    if (bad_tail) {
        cat(j, cap, ",{\"spki_sha256\":7}");
    }
    cat(j, cap, "]}},\"http_request\":{\"headers\":{");
    for (int i = 0; i < 100; i++) {
        snprintf(item, sizeof(item), "%s\"X-H%d\":\"v\"", i ? "," : "", i);
        cat(j, cap, item);
    }
    cat(j, cap, "}}}");
}

static void
test_caps(void **state)
{
    static char j[256 * 1024];

    (void)state;
    /* the CA past the cap has the wrong type: still checked */
    build_caps(j, sizeof(j), true);
    assert_int_equal(parse(j), VG_EPROTO);
    build_caps(j, sizeof(j), false);
    assert_int_equal(parse(j), 0);
    assert_int_equal(g_c.n_ep, VG_CTRL_MAX_EP);
    assert_string_equal(g_c.ep[VG_CTRL_MAX_EP - 1].addr, "192.0.2.31:443");
    assert_int_equal(g_c.n_addrs, VG_DNS_MAX_ADDRS);
    assert_string_equal(g_c.addrs[0], "93.184.216.34");
    assert_string_equal(g_c.addrs[1], "203.0.113.0");
    assert_int_equal(g_c.ep[0].n_ca_spki, VG_CTRL_MAX_CA);
    assert_string_equal(g_c.ep[0].leaf_spki, HEX_A);
    assert_string_equal(g_c.ep[0].ca_spki[3],
                        "0000000000000000000000000000000000000000000000000000000000000003");
    assert_int_equal(g_c.n_headers, VG_CTRL_MAX_HDR);
    assert_string_equal(g_c.headers[VG_CTRL_MAX_HDR - 1], "X-H63");
}

static bool
utf8_ok(const char *s)
{
    return vg_utf8_valid((const uint8_t *)s, strlen(s));
}

static void
test_truncation(void **state)
{
    static char j[16 * 1024];
    char name[200];

    (void)state;
    /* A 3000-byte title of two-byte characters, a 200-byte failure, a 100-byte header name. */
    j[0] = '\0';
    cat(j, sizeof(j), "{\"http_request\":{\"title\":\"x");
    for (int i = 0; i < 1500; i++) {
        cat(j, sizeof(j), "\xc3\xa9");
    }
    cat(j, sizeof(j), "\",\"failure\":\"");
    for (int i = 0; i < 200; i++) {
        cat(j, sizeof(j), "f");
    }
    cat(j, sizeof(j), "\",\"headers\":{\"");
    memset(name, 'h', 100);
    name[100] = '\0';
    cat(j, sizeof(j), name);
    cat(j, sizeof(j),
        "\":\"v\"}},\"tcp_connect\":{\"192.0.2.1:80\":{\"status\":false,"
        "\"failure\":\"");
    for (int i = 0; i < 100; i++) {
        cat(j, sizeof(j), "\xe2\x82\xac");
    }
    cat(j, sizeof(j), "\"}}}");
    assert_int_equal(parse(j), 0);
    /* 2048 bytes fit: "x" then 1023 whole characters; the 1024th would be split. */
    assert_int_equal(strlen(g_c.title), 1 + 2 * 1023);
    assert_true(utf8_ok(g_c.title));
    assert_int_equal(strlen(g_c.http_failure), sizeof(g_c.http_failure) - 1);
    assert_int_equal(strlen(g_c.headers[0]), sizeof(g_c.headers[0]) - 1);
    /* 63 bytes: 21 three-byte characters. */
    assert_int_equal(strlen(g_c.ep[0].tcp_failure), 63);
    assert_true(utf8_ok(g_c.ep[0].tcp_failure));
    /* cut to 62 when a character straddles the end */
    j[0] = '\0';
    cat(j, sizeof(j), "{\"dns\":{\"failure\":\"z");
    for (int i = 0; i < 40; i++) {
        cat(j, sizeof(j), "\xe2\x82\xac");
    }
    cat(j, sizeof(j), "\"}}");
    assert_int_equal(parse(j), 0);
    assert_int_equal(strlen(g_c.dns_failure), 1 + 3 * 20);
    assert_true(utf8_ok(g_c.dns_failure));
}

/* vigie's x_client_addr: kept only when it is an IP address; another type is a protocol error. */
static void
test_client_addr(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"x_client_addr\":\"203.0.113.77\"}"), 0);
    assert_string_equal(g_c.client_addr, "203.0.113.77");
    assert_int_equal(parse("{\"x_client_addr\":\"2001:db8::77\"}"), 0);
    assert_string_equal(g_c.client_addr, "2001:db8::77");
    assert_int_equal(parse("{\"x_client_addr\":\"203.0.113.77:443\"}"), 0);
    assert_string_equal(g_c.client_addr, "");
    assert_int_equal(parse("{\"x_client_addr\":null}"), 0);
    assert_string_equal(g_c.client_addr, "");
    /* longer than any address: cut, then not an address */
    assert_int_equal(parse("{\"x_client_addr\":\"0000:0000:0000:0000:0000:ffff:192.168.100.200"
                           "0000\"}"),
                     0);
    assert_string_equal(g_c.client_addr, "");
    assert_int_equal(parse("{\"x_client_addr\":[\"203.0.113.77\"]}"), VG_EPROTO);
    assert_string_equal(g_c.client_addr, "");
    /* absent from OONI's helpers' answers */
    assert_int_equal(parse("{\"dns\":{\"failure\":null,\"addrs\":[]}}"), 0);
    assert_string_equal(g_c.client_addr, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(req_full_request),
        cmocka_unit_test(req_minimal_and_nulls),
        cmocka_unit_test(req_errors),
        cmocka_unit_test(req_url_too_long),
        cmocka_unit_test(req_url_split),
        cmocka_unit_test(req_ip_cap),
        cmocka_unit_test(req_ports),
        cmocka_unit_test(req_writer),
        cmocka_unit_test(req_forwarded_headers),
        cmocka_unit_test(req_tls_ports),
        cmocka_unit_test(test_vigie_response),
        cmocka_unit_test(test_ooni_responses),
        cmocka_unit_test(test_nulls_and_unknown_keys),
        cmocka_unit_test(test_wrong_types_are_eproto),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_client_addr),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
