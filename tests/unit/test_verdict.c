/* test_verdict.c - every rule of vg_verdict_decide, in evaluation order. */
#include <stdio.h>
#include <string.h>

#include "meas/verdict.h"
#include "util/err.h"
#include "vgtest.h"

/* One summary shared by the tests, released after each (no leak under LeakSanitizer). */
static struct vg_obs g_o;

static int
release_obs(void **state)
{
    (void)state;
    vg_obs_cleanup(&g_o);
    return 0;
}

static struct vg_obs_endpoint *
add_ep(struct vg_obs *o, const char *addr, int tcp_err)
{
    struct vg_obs_endpoint *e = vg_obs_add_ep(o);

    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->tcp_err = tcp_err;
    return e;
}

static struct vg_obs_endpoint *
add_tls_ep(struct vg_obs *o, const char *addr, int tls_err, int verify_err)
{
    struct vg_obs_endpoint *e = add_ep(o, addr, 0);

    e->tls_attempted = true;
    e->tls_err = tls_err;
    e->verify_err = verify_err;
    return e;
}

static void
base(struct vg_obs *o, bool https)
{
    vg_obs_cleanup(o);
    vg_obs_init(o);
    snprintf(o->host, sizeof(o->host), "www.example.org");
    o->https = https;
    o->n_sys_addrs = 1;
}

static void
expect(const struct vg_obs *o, const char *verdict, const char *cause)
{
    struct vg_verdict v;

    vg_verdict_decide(o, &v);
    assert_string_equal(v.verdict, verdict);
    assert_string_equal(v.cause, cause);
    assert_true(strlen(v.evidence) > 0);
}

static void
test_https_success_is_accessible(void **state)
{
    struct vg_verdict v;

    (void)state;
    base(&g_o, true);
    add_tls_ep(&g_o, "198.51.100.10:443", 0, 0);
    g_o.http_attempted = true;
    g_o.status = 200;
    expect(&g_o, "accessible", "");
    vg_verdict_decide(&g_o, &v);
    assert_int_equal(v.accessible, 1);
    assert_int_equal(v.blocking, VG_BLOCKING_FALSE);
}

static void
test_http_success_without_control_is_unknown(void **state)
{
    struct vg_verdict v;

    (void)state;
    base(&g_o, false);
    add_ep(&g_o, "198.51.100.10:80", 0);
    g_o.http_attempted = true;
    g_o.status = 200;
    expect(&g_o, "unknown", "");
    vg_verdict_decide(&g_o, &v);
    assert_int_equal(v.accessible, -1);
    assert_int_equal(v.blocking, VG_BLOCKING_NULL);
}

static void
test_bogon_wins(void **state)
{

    (void)state;
    base(&g_o, true);
    snprintf(g_o.bogon, sizeof(g_o.bogon), "127.0.0.1 (loopback) from the system resolver");
    add_ep(&g_o, "127.0.0.1:443", VG_ECONNREFUSED);
    expect(&g_o, "blocked", "dns.bogon");
}

static void
test_injected(void **state)
{

    (void)state;
    base(&g_o, true);
    snprintf(g_o.injected, sizeof(g_o.injected), "2 replies ...");
    add_tls_ep(&g_o, "198.51.100.20:443", 0, 0);
    g_o.http_attempted = true;
    expect(&g_o, "blocked", "dns.injected");
}

static void
test_self_signed_is_mitm(void **state)
{
    struct vg_obs_endpoint *e;
    struct vg_verdict v;

    (void)state;
    base(&g_o, true);
    add_tls_ep(&g_o, "198.51.100.31:443", 0, 0);
    e = add_tls_ep(&g_o, "198.51.100.30:443", 0, VG_ETLS_UNKNOWN_CA);
    e->self_signed = true;
    snprintf(e->subject, sizeof(e->subject), "C=cn/O=www.icloud.com/CN=www.icloud.com");
    g_o.http_attempted = true;
    expect(&g_o, "intercepted", "tls.mitm");
    vg_verdict_decide(&g_o, &v);
    assert_non_null(strstr(v.evidence, "self-signed certificate C=cn/O=www.icloud.com"));
    assert_non_null(strstr(v.evidence, "198.51.100.30:443"));
    /* OONI's own fields keep OONI's meaning: the page was fetched over a valid address. */
    assert_int_equal(v.accessible, 1);
}

static void
test_rogue_ca_is_mitm(void **state)
{
    struct vg_obs_endpoint *e;
    struct vg_verdict v;

    (void)state;
    base(&g_o, true);
    e = add_tls_ep(&g_o, "198.51.100.20:443", 0, VG_ETLS_UNKNOWN_CA);
    snprintf(e->issuer, sizeof(e->issuer), "CN=Information Security Certification Authority");
    g_o.http_attempted = true;
    g_o.http_failure = VG_ETLS_UNKNOWN_CA;
    expect(&g_o, "intercepted", "tls.mitm");
    vg_verdict_decide(&g_o, &v);
    assert_non_null(strstr(v.evidence, "untrusted CN=Information Security"));
    assert_int_equal(v.accessible, -1);
}

static void
test_nxdomain_contradicted_by_udp_and_valid_tls(void **state)
{

    (void)state;
    base(&g_o, true);
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    g_o.n_sys_addrs = 0;
    g_o.udp_used = true;
    g_o.n_udp_addrs = 1;
    add_tls_ep(&g_o, "198.51.100.20:443", 0, 0)->from_udp_only = true;
    g_o.http_attempted = true;
    expect(&g_o, "blocked", "dns.nxdomain");
}

static void
test_nxdomain_alone_is_unknown(void **state)
{

    (void)state;
    base(&g_o, true);
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    g_o.n_sys_addrs = 0;
    g_o.http_attempted = true;
    g_o.http_failure = VG_EDNS_NXDOMAIN;
    expect(&g_o, "unknown", "dns.nxdomain");
}

static void
test_tcp_failures(void **state)
{

    (void)state;
    base(&g_o, true);
    add_ep(&g_o, "198.51.100.20:443", VG_ETIMEDOUT);
    g_o.http_attempted = true;
    g_o.http_failure = VG_ETIMEDOUT;
    expect(&g_o, "unknown", "tcp.timeout");
    base(&g_o, true);
    add_ep(&g_o, "198.51.100.20:443", VG_ECONNREFUSED);
    expect(&g_o, "unknown", "tcp.refused");
    /* A timeout on one address outweighs a refusal on another. */
    add_ep(&g_o, "198.51.100.21:443", VG_ETIMEDOUT);
    expect(&g_o, "unknown", "tcp.timeout");
}

static void
test_tls_blocking_after_client_hello(void **state)
{

    (void)state;
    base(&g_o, true);
    add_tls_ep(&g_o, "198.51.100.20:443", VG_ECONNRESET, 0);
    expect(&g_o, "blocked", "tls.reset");
    base(&g_o, true);
    add_tls_ep(&g_o, "198.51.100.20:443", VG_ETIMEDOUT, 0);
    expect(&g_o, "blocked", "tls.timeout");
    base(&g_o, true);
    add_tls_ep(&g_o, "198.51.100.20:443", VG_EEOF, 0);
    expect(&g_o, "blocked", "tls.eof");
    base(&g_o, true);
    add_tls_ep(&g_o, "198.51.100.20:443", VG_ETLS_HANDSHAKE, 0);
    expect(&g_o, "unknown", "tls.failed");
}

static void
test_tls_failure_on_one_address_only_does_not_decide(void **state)
{

    (void)state;
    base(&g_o, true);
    add_tls_ep(&g_o, "198.51.100.20:443", VG_ECONNRESET, 0);
    add_tls_ep(&g_o, "198.51.100.21:443", 0, 0);
    g_o.http_attempted = true;
    expect(&g_o, "accessible", "");
}

static void
test_http_failures_and_blockpage(void **state)
{

    (void)state;
    base(&g_o, false);
    add_ep(&g_o, "198.51.100.20:80", 0);
    g_o.http_attempted = true;
    g_o.http_failure = VG_ECONNRESET;
    expect(&g_o, "unknown", "http.reset");
    g_o.http_failure = VG_ETIMEDOUT;
    expect(&g_o, "unknown", "http.timeout");
    g_o.http_failure = 0;
    g_o.blockpage = "ir.iframe.10.10.34.34";
    expect(&g_o, "blocked", "http.blockpage");
}

static void
test_final_depth_only_for_connect(void **state)
{

    (void)state;
    base(&g_o, true);
    add_ep(&g_o, "198.51.100.20:80", VG_ETIMEDOUT)->depth = 0;
    add_tls_ep(&g_o, "198.51.100.20:443", 0, 0)->depth = 1;
    g_o.final_depth = 1;
    g_o.http_attempted = true;
    expect(&g_o, "accessible", "");
}

static void
test_blockpage_fingerprints(void **state)
{
    static const char page[] = "<html><iframe src=\"http://10.10.34.34?type=Invalid Site\">";

    (void)state;
    assert_string_equal(vg_blockpage_match((const unsigned char *)page, sizeof(page) - 1),
                        "ir.iframe.10.10.34.34");
    assert_null(vg_blockpage_match((const unsigned char *)"<html>hello</html>", 18));
    assert_null(vg_blockpage_match((const unsigned char *)"", 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_https_success_is_accessible, release_obs),
        cmocka_unit_test_teardown(test_http_success_without_control_is_unknown, release_obs),
        cmocka_unit_test_teardown(test_bogon_wins, release_obs),
        cmocka_unit_test_teardown(test_injected, release_obs),
        cmocka_unit_test_teardown(test_self_signed_is_mitm, release_obs),
        cmocka_unit_test_teardown(test_rogue_ca_is_mitm, release_obs),
        cmocka_unit_test_teardown(test_nxdomain_contradicted_by_udp_and_valid_tls, release_obs),
        cmocka_unit_test_teardown(test_nxdomain_alone_is_unknown, release_obs),
        cmocka_unit_test_teardown(test_tcp_failures, release_obs),
        cmocka_unit_test_teardown(test_tls_blocking_after_client_hello, release_obs),
        cmocka_unit_test_teardown(test_tls_failure_on_one_address_only_does_not_decide,
                                  release_obs),
        cmocka_unit_test_teardown(test_http_failures_and_blockpage, release_obs),
        cmocka_unit_test_teardown(test_final_depth_only_for_connect, release_obs),
        cmocka_unit_test_teardown(test_blockpage_fingerprints, release_obs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
