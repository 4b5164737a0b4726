/* SPDX-License-Identifier: MIT */
/*
 * test_threquest.c - THRequest parsing (server/threquest.c): accepted shapes, the specific error
 * for each malformed one, URL splitting, the endpoint plan and the bogon table.
 */
#include <stdio.h>
#include <string.h>

#include "th.h"
#include "util/limits.h"
#include "vgtest.h"

static int
parse(const char *s, struct vg_threq *r)
{
    char err[256];

    return vg_threq_parse(s, strlen(s), r, err, sizeof(err));
}

static void
test_full_request(void **state)
{
    struct vg_threq r;
    const char *s =
        "{\"http_request\":\"https://www.example.com/path?q=1\","
        "\"http_request_headers\":{\"Accept\":[\"*/*\"],\"User-Agent\":[\"x\",null],\"X\":null},"
        "\"tcp_connect\":[\"93.184.216.34:443\",\"[2001:0db8:0::1]:443\",\"93.184.216.34:80\","
        "\"name.example:443\",\"1.2.3.4\",\"[fe80::1%eth0]:443\",null,\"\",\"[::1]:99999\"],"
        "\"x_quic_enabled\":true,\"unknown\":{\"ignored\":[1,2]}}";

    (void)state;
    assert_int_equal(parse(s, &r), 0);
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
    vg_threq_cleanup(&r);
    vg_threq_cleanup(&r); /* idempotent */
}

static void
test_minimal_and_nulls(void **state)
{
    struct vg_threq r;

    (void)state;
    assert_int_equal(parse("{\"http_request\":\"http://a.example\"}", &r), 0);
    assert_false(r.https);
    assert_int_equal(r.n_ips, 0);
    vg_threq_cleanup(&r);
    assert_int_equal(parse("{\"http_request\":\"http://a.example\",\"tcp_connect\":null,"
                           "\"http_request_headers\":null,\"x_quic_enabled\":null}",
                           &r),
                     0);
    assert_false(r.quic);
    vg_threq_cleanup(&r);
}

static void
test_errors(void **state)
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
        {"{\"http_request\":\"http://a/\",\"tcp_connect\":\"1.2.3.4:80\"}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"tcp_connect\":[1]}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"http_request_headers\":[]}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"http_request_headers\":{\"A\":\"b\"}}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"http_request_headers\":{\"A\":[1]}}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\",\"x_quic_enabled\":\"yes\"}", VG_EPROTO},
        {"{\"http_request\":\"http://a/\\u0000\"}", VG_EPROTO},
    };
    struct vg_threq r;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        r.url = (char *)"sentinel";
        assert_int_equal(vg_threq_parse(cases[i].body, strlen(cases[i].body), &r, err, sizeof(err)),
                         cases[i].rc);
        assert_true(err[0] != '\0');
        assert_null(r.url); /* nothing leaks, nothing dangles */
    }
}

static void
test_url_too_long(void **state)
{
    static char body[VG_URL_MAX + 64];
    struct vg_threq r;
    size_t n;

    (void)state;
    n = (size_t)snprintf(body, sizeof(body), "{\"http_request\":\"http://a.example/");
    memset(body + n, 'x', VG_URL_MAX);
    memcpy(body + n + VG_URL_MAX - 20, "\"}", 3);
    assert_int_equal(parse(body, &r), 0); /* exactly at the limit is fine */
    vg_threq_cleanup(&r);
    memcpy(body + n + VG_URL_MAX - 20, "xxxxxxxxxxxxxxxxxxxx\"}", 23);
    assert_int_equal(parse(body, &r), VG_EINVAL);
}

static void
test_url_split(void **state)
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
        {"http://user:pw@1.2.3.4/a@b", false, 0, 4, "1.2.3.4"},
        {"HTTP://Example.COM", false, 0, 0, ""},
        {"hTTps://example.com:443?x#y", true, 443, 0, ""},
        {"http://example.com:/", false, 0, 0, ""},
        {"http://[::1]:/", false, 0, 6, "::1"},
        {"http://1.2.3.4.5/", false, 0, 0, ""},
        {"http://127.1/", false, 0, 0, ""}, /* not a literal for us; the engine resolves it */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[256];
        struct vg_threq r;

        snprintf(body, sizeof(body), "{\"http_request\":\"%s\"}", cases[i].url);
        assert_int_equal(parse(body, &r), 0);
        assert_int_equal(r.https, cases[i].https);
        assert_int_equal(r.port, cases[i].port);
        assert_int_equal(r.host_family, cases[i].family);
        if (cases[i].family != 0) {
            assert_string_equal(r.host_ip, cases[i].ip);
        }
        vg_threq_cleanup(&r);
    }
}

static void
test_endpoints(void **state)
{
    struct vg_threq r;
    char eps[VG_TH_MAX_ENDPOINTS][INET6_ADDRSTRLEN + 8];
    size_t n;

    (void)state;
    /* http without a port: 80 and 443 (oohelperd ipInfoToEndpoints) */
    assert_int_equal(parse("{\"http_request\":\"http://a.example/\",\"tcp_connect\":"
                           "[\"8.8.8.8:80\",\"[2001:4860::8888]:80\",\"10.1.2.3:80\"]}",
                           &r),
                     0);
    n = vg_threq_endpoints(&r, true, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 4);
    assert_string_equal(eps[0], "8.8.8.8:80");
    assert_string_equal(eps[1], "8.8.8.8:443");
    assert_string_equal(eps[2], "[2001:4860::8888]:80");
    assert_string_equal(eps[3], "[2001:4860::8888]:443");
    /* --allow-private: the bogon is measured too */
    n = vg_threq_endpoints(&r, false, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 6);
    assert_string_equal(eps[5], "10.1.2.3:443");
    /* the output bound holds */
    n = vg_threq_endpoints(&r, false, false, eps, 3);
    assert_int_equal(n, 3);
    vg_threq_cleanup(&r);

    /* https: 443 only; an explicit port: that port only, whatever the probe's port was */
    assert_int_equal(parse("{\"http_request\":\"https://a.example/\",\"tcp_connect\":"
                           "[\"8.8.8.8:8443\"]}",
                           &r),
                     0);
    n = vg_threq_endpoints(&r, true, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 1);
    assert_string_equal(eps[0], "8.8.8.8:443");
    vg_threq_cleanup(&r);
    assert_int_equal(parse("{\"http_request\":\"http://a.example:8080/\",\"tcp_connect\":"
                           "[\"8.8.8.8:80\"]}",
                           &r),
                     0);
    n = vg_threq_endpoints(&r, true, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 1);
    assert_string_equal(eps[0], "8.8.8.8:8080");
    vg_threq_cleanup(&r);
}

static void
test_ip_cap(void **state)
{
    char body[4096];
    size_t n;
    struct vg_threq r;

    (void)state;
    n = (size_t)snprintf(body, sizeof(body), "{\"http_request\":\"http://a/\",\"tcp_connect\":[");
    for (int i = 0; i < VG_TH_MAX_IPS + 5; i++) {
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"8.8.8.%d:80\"", i ? "," : "", i);
    }
    snprintf(body + n, sizeof(body) - n, "]}");
    assert_int_equal(parse(body, &r), 0);
    assert_int_equal(r.n_ips, VG_TH_MAX_IPS);
    assert_int_equal(r.n_ignored, 5);
    vg_threq_cleanup(&r);
}

static void
test_bogons(void **state)
{
    static const struct {
        const char *ip;
        bool bogon;
        bool bogon_lab;
    } cases[] = {
        {"0.0.0.0", true, true},
        {"1.1.1.1", false, false},
        {"9.255.255.255", false, false},
        {"10.0.0.0", true, true},
        {"100.63.255.255", false, false},
        {"100.64.0.1", true, true},
        {"127.0.0.1", true, true},
        {"169.254.169.254", true, true},
        {"172.31.255.255", true, true},
        {"172.32.0.0", false, false},
        {"192.0.0.8", true, true},
        {"192.0.2.1", true, false},
        {"192.168.1.1", true, true},
        {"198.18.0.1", true, true},
        {"198.51.100.7", true, false},
        {"203.0.113.80", true, false},
        {"203.0.114.0", false, false},
        {"224.0.0.1", true, true},
        {"255.255.255.255", true, true},
        {"::", true, true},
        {"::1", true, true},
        {"::ffff:8.8.8.8", true, true},
        {"64:ff9b::808:808", true, true},
        {"100::1", true, true},
        {"2001:db8::1", true, false},
        {"2001:4860:4860::8888", false, false},
        {"fd00::1", true, true},
        {"fe80::1", true, true},
        {"ff02::1", true, true},
        {"example.com", false, false},
        {"", false, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(vg_th_is_bogon(cases[i].ip, false), cases[i].bogon);
        assert_int_equal(vg_th_is_bogon(cases[i].ip, true), cases[i].bogon_lab);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_request), cmocka_unit_test(test_minimal_and_nulls),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_url_too_long),
        cmocka_unit_test(test_url_split),    cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_ip_cap),       cmocka_unit_test(test_bogons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
