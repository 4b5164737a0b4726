/* SPDX-License-Identifier: MIT */
/*
 * test_compare.c - OONI's analysis (lib/meas/compare.c) on OONI's own QA scenarios
 * (probe-cli internal/webconnectivityqa, ooni-reference.md section 2), rebuilt as (probe
 * summary, THResponse) pairs in the netemx world: www.example.com is 93.184.216.34, the ISP's
 * transparent proxy 130.192.182.17, the public block page server 83.224.65.41, badssl.com
 * 104.154.89.105. Each scenario checks OONI's expected dns_consistency, blocking and accessible
 * (and the HTTP keys the table gives), then vigie's x_verdict and x_cause.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "meas/compare.h"
#include "meas/verdict.h"
#include "util/err.h"
#include "vgtest.h"

#define EXAMPLE "93.184.216.34"
#define PROXY   "130.192.182.17"
#define BLOCKPG "83.224.65.41"
#define BADSSL  "104.154.89.105"

static struct vg_obs g_o;
static struct vg_ctrl g_c;

static int
release_obs(void **state)
{
    (void)state;
    vg_obs_cleanup(&g_o);
    return 0;
}

/* ---- building the probe's summary --------------------------------------------------------- */

static void
probe(const char *host, bool https)
{
    vg_obs_cleanup(&g_o);
    vg_obs_init(&g_o);
    snprintf(g_o.host, sizeof(g_o.host), "%s", host);
    g_o.https = https;
    g_o.body_length = -1;
}

static void
probe_dns(const char *ip)
{
    snprintf(g_o.dns_addrs[g_o.n_dns_addrs++], sizeof(g_o.dns_addrs[0]), "%s", ip);
    g_o.n_sys_addrs++;
}

static struct vg_obs_endpoint *
probe_ep(const char *addr, int tcp_err)
{
    struct vg_obs_endpoint *e = vg_obs_add_ep(&g_o);

    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->tcp_err = tcp_err;
    return e;
}

static struct vg_obs_endpoint *
probe_tls_ep(const char *addr, int tls_err, int verify_err)
{
    struct vg_obs_endpoint *e = probe_ep(addr, 0);

    e->tls_attempted = true;
    e->tls_err = tls_err;
    e->verify_err = verify_err;
    return e;
}

static void
probe_fail(int err)
{
    g_o.http_attempted = true;
    g_o.http_failure = err;
}

static void
probe_page(const char *addr, int status, long len, const char *title, const char *const *hdrs)
{
    g_o.http_attempted = true;
    snprintf(g_o.http_addr, sizeof(g_o.http_addr), "%s", addr);
    g_o.status = status;
    g_o.body_length = len;
    snprintf(g_o.title, sizeof(g_o.title), "%s", title);
    vg_obs_headers_reserve(&g_o, VG_CTRL_MAX_HDR); /* the names are allocated (obs.h) */
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
        snprintf(g_o.headers[g_o.n_headers++], sizeof(g_o.headers[0]), "%s", hdrs[i]);
    }
}

/* ---- building the control's answer -------------------------------------------------------- */

static void
ctrl(void)
{
    memset(&g_c, 0, sizeof(g_c));
    g_c.status = -1;
    g_c.body_length = -1;
}

static void
ctrl_dns(const char *ip)
{
    snprintf(g_c.addrs[g_c.n_addrs++], sizeof(g_c.addrs[0]), "%s", ip);
}

static struct vg_ctrl_endpoint *
ctrl_ep(const char *addr, const char *tcp_failure)
{
    struct vg_ctrl_endpoint *e = &g_c.ep[g_c.n_ep++];

    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->tcp_ok = tcp_failure == NULL;
    snprintf(e->tcp_failure, sizeof(e->tcp_failure), "%s", tcp_failure ? tcp_failure : "");
    return e;
}

static struct vg_ctrl_endpoint *
ctrl_tls_ep(const char *addr, const char *tls_failure)
{
    struct vg_ctrl_endpoint *e = ctrl_ep(addr, NULL);

    e->tls_present = true;
    e->tls_ok = tls_failure == NULL;
    snprintf(e->tls_failure, sizeof(e->tls_failure), "%s", tls_failure ? tls_failure : "");
    return e;
}

static void
ctrl_page(int status, long len, const char *title, const char *const *hdrs)
{
    g_c.status = status;
    g_c.body_length = len;
    snprintf(g_c.title, sizeof(g_c.title), "%s", title);
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
        snprintf(g_c.headers[g_c.n_headers++], sizeof(g_c.headers[0]), "%s", hdrs[i]);
    }
}

static void
ctrl_fail(const char *failure)
{
    snprintf(g_c.http_failure, sizeof(g_c.http_failure), "%s", failure);
    g_c.status = -1;
    g_c.body_length = -1;
}

/* www.example.com's page as both sides see it when nothing interferes. */
static const char *const example_hdrs[] = {"Content-Type", "Date", "Etag", "X-Cache", NULL};
static const char *const blockpage_hdrs[] = {"Content-Type", "Date", "Content-Length", NULL};

static void
example_page_both(const char *addr)
{
    probe_page(addr, 200, 1256, "Example Domain", example_hdrs);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
}

/* The control's view of www.example.com from an uncensored network (http URLs: :80 and :443). */
static void
ctrl_example(void)
{
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_ep(EXAMPLE ":80", NULL);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
}

/* ---- checking ----------------------------------------------------------------------------- */

static struct vg_decision g_v;

static void
decide(bool with_ctrl)
{
    g_o.ctrl = with_ctrl ? &g_c : NULL;
    vg_verdict_decide(&g_o, &g_v);
    assert_true((unsigned)g_v.verdict < VG_VERDICT_COUNT);
    assert_true(strlen(g_v.evidence) > 0);
}

static void
expect_ooni(int dns, enum vg_blocking blocking, int accessible)
{
    if (g_v.ooni.dns_consistency != dns || g_v.blocking != blocking ||
        g_v.accessible != accessible) {
        fail_msg("OONI keys: dns_consistency %d blocking %s accessible %d, expected %d %s %d",
                 g_v.ooni.dns_consistency, vg_blocking_json(g_v.blocking), g_v.accessible, dns,
                 vg_blocking_json(blocking), accessible);
    }
}

static void
expect_http_keys(int blm, int scm, int hm, int tm)
{
    assert_int_equal(g_v.ooni.body_length_match, blm);
    assert_int_equal(g_v.ooni.status_code_match, scm);
    assert_int_equal(g_v.ooni.headers_match, hm);
    assert_int_equal(g_v.ooni.title_match, tm);
}

static void
expect_vigie(const char *verdict, const char *cause)
{
    if (strcmp(vg_verdict_name(g_v.verdict), verdict) != 0 || strcmp(g_v.cause, cause) != 0) {
        fail_msg("vigie: %s %s, expected %s %s (%s)", vg_verdict_name(g_v.verdict), g_v.cause,
                 verdict, cause, g_v.evidence);
    }
}

/* ---- OONI QA scenarios -------------------------------------------------------------------- */

/* 40 successWithHTTP: consistent, all keys true, body proportion 1, false/true. */
static void
test_success_with_http(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns(EXAMPLE);
    probe_ep(EXAMPLE ":80", 0);
    ctrl_example();
    example_page_both(EXAMPLE ":80");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 1);
    assert_true(g_v.ooni.body_proportion == 1.0);
    expect_http_keys(1, 1, 1, 1);
    expect_vigie("accessible", "");
    assert_non_null(strstr(g_v.evidence, "matches the control's page"));
}

/* 41 successWithHTTPS */
static void
test_success_with_https(void **state)
{
    (void)state;
    probe("www.example.com", true);
    probe_dns(EXAMPLE);
    probe_tls_ep(EXAMPLE ":443", 0, 0);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    example_page_both(EXAMPLE ":443");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 1);
    expect_http_keys(1, 1, 1, 1);
    expect_vigie("accessible", "");
}

/* 11 dnsBlockingNXDOMAIN: the ISP resolver says NXDOMAIN. */
static void
test_dns_blocking_nxdomain(void **state)
{
    (void)state;
    probe("www.example.com", true);
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    probe_fail(VG_EDNS_NXDOMAIN);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    expect_http_keys(-1, -1, -1, -1);
    assert_true(g_v.ooni.body_proportion < 0);
    expect_vigie("blocked", "dns.nxdomain");
    assert_non_null(strstr(g_v.evidence, "the control resolves it to 93.184.216.34"));
}

/* 10 dnsBlockingBOGON: the ISP resolver answers 10.10.34.35; the helper skips bogons. */
static void
test_dns_blocking_bogon(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns("10.10.34.35");
    snprintf(g_o.bogon, sizeof(g_o.bogon), "10.10.34.35 (private) from the system resolver");
    probe_ep("10.10.34.35:80", VG_ETIMEDOUT);
    probe_fail(VG_ETIMEDOUT);
    ctrl_example();
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    expect_vigie("blocked", "dns.bogon");
    assert_non_null(strstr(g_v.evidence, "10.10.34.35 (private)"));
    assert_non_null(strstr(g_v.evidence, "the control resolves it to 93.184.216.34"));
}

/* 18 httpBlockingConnectionReset: RST when the Host header is seen. */
static void
test_http_blocking_connection_reset(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns(EXAMPLE);
    probe_ep(EXAMPLE ":80", 0);
    snprintf(g_o.http_addr, sizeof(g_o.http_addr), EXAMPLE ":80");
    probe_fail(VG_ECONNRESET);
    ctrl_example();
    decide(true);
    expect_ooni(1, VG_BLOCKING_HTTP_FAILURE, 0);
    expect_vigie("blocked", "http.reset");
    assert_non_null(strstr(g_v.evidence, "while the control fetched the page (status 200"));
}

/* The injected block page of the netemx DPI: 154 bytes against the real 1256. */
static void
blockpage_page(const char *addr)
{
    probe_page(addr, 200, 154, "This website has been blocked", blockpage_hdrs);
}

/* 19 httpDiffWithConsistentDNS: bp 0.1226, blm false, scm true, hm false, tm false. */
static void
test_http_diff_with_consistent_dns(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns(EXAMPLE);
    probe_ep(EXAMPLE ":80", 0);
    blockpage_page(EXAMPLE ":80");
    ctrl_example();
    decide(true);
    expect_ooni(1, VG_BLOCKING_HTTP_DIFF, 0);
    assert_true(fabs(g_v.ooni.body_proportion - 0.1226) < 0.0001);
    expect_http_keys(0, 1, 0, 0);
    expect_vigie("blocked", "http.diff");
    assert_non_null(strstr(g_v.evidence, "body proportion 0.12"));
}

/* 20 httpDiffWithInconsistentDNS: DNS points to the ISP's proxy, which injects the page. */
static void
test_http_diff_with_inconsistent_dns(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns(PROXY);
    probe_ep(PROXY ":80", 0);
    blockpage_page(PROXY ":80");
    ctrl_example();
    ctrl_ep(PROXY ":80", NULL);
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    assert_true(fabs(g_v.ooni.body_proportion - 0.1226) < 0.0001);
    expect_http_keys(0, 1, 0, 0);
    assert_int_equal(g_v.ooni.x_dns_consistency, 0);
    expect_vigie("blocked", "dns.inconsistent");
    assert_non_null(strstr(g_v.evidence, "answered www.example.com with 130.192.182.17"));
    assert_non_null(strstr(g_v.evidence, "unlike the control's"));

    /* The helper also measured the proxy on :443, and the handshake there validated: the address
     * serves the site (x_dns_consistency), so the injected page is what blocks. OONI's keys stay.
     */
    ctrl_tls_ep(PROXY ":443", NULL);
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    assert_int_equal(g_v.ooni.x_dns_consistency, 1);
    expect_vigie("blocked", "http.diff");
}

/* 42 tcpBlockingConnectTimeout: SYNs to 93.184.216.34:443 dropped. */
static void
test_tcp_blocking_connect_timeout(void **state)
{
    (void)state;
    probe("www.example.com", true);
    probe_dns(EXAMPLE);
    probe_ep(EXAMPLE ":443", VG_ETIMEDOUT)->tls_attempted = false;
    probe_fail(VG_ETIMEDOUT);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
    decide(true);
    expect_ooni(1, VG_BLOCKING_TCP_IP, 0);
    expect_vigie("blocked", "tcp.timeout");
    assert_non_null(strstr(g_v.evidence, "the control connected to 93.184.216.34:443"));
}

/* 46 tlsBlockingConnectionResetWithConsistentDNS: OONI says http-failure, vigie tls.reset. */
static void
test_tls_blocking_reset_with_consistent_dns(void **state)
{
    (void)state;
    probe("www.example.com", true);
    probe_dns(EXAMPLE);
    probe_tls_ep(EXAMPLE ":443", VG_ECONNRESET, 0);
    probe_fail(VG_ECONNRESET);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
    decide(true);
    expect_ooni(1, VG_BLOCKING_HTTP_FAILURE, 0);
    expect_vigie("blocked", "tls.reset");
    assert_non_null(strstr(g_v.evidence, "the control's handshake on 93.184.216.34:443"));
}

/* 47 tlsBlockingConnectionResetWithInconsistentDNS: DNS to the proxy, RST on the SNI. The helper
 * validated the proxy's address, so vigie names the TLS reset; OONI says dns. */
static void
test_tls_blocking_reset_with_inconsistent_dns(void **state)
{
    (void)state;
    probe("www.example.com", true);
    probe_dns(PROXY);
    probe_tls_ep(PROXY ":443", VG_ECONNRESET, 0);
    probe_fail(VG_ECONNRESET);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    ctrl_tls_ep(PROXY ":443", NULL);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    expect_vigie("blocked", "tls.reset");
}

/* 48 websiteDownNXDOMAIN: the name exists nowhere. */
static void
test_website_down_nxdomain(void **state)
{
    (void)state;
    probe("www.example.xyz", false);
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    probe_fail(VG_EDNS_NXDOMAIN);
    ctrl();
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_name_error");
    ctrl_fail("dns_lookup_error");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 0);
    expect_vigie("down", "dns.nxdomain");
    assert_non_null(strstr(g_v.evidence, "failed too (dns_name_error)"));
}

/* 49 websiteDownNoAddrs: a CNAME and no address anywhere. */
static void
test_website_down_no_addrs(void **state)
{
    (void)state;
    probe("www.example.com", false);
    g_o.sys_failure = VG_EDNS_NOANSWER;
    probe_fail(VG_EDNS_NOANSWER);
    ctrl();
    ctrl_fail("dns_lookup_error");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 0);
    expect_vigie("down", "dns.no_answer");
}

/* 50 websiteDownTCPConnect: http://www.example.com:444/, nobody listening. */
static void
test_website_down_tcp_connect(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns(EXAMPLE);
    probe_ep(EXAMPLE ":444", VG_ECONNREFUSED);
    probe_fail(VG_ECONNREFUSED);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_ep(EXAMPLE ":444", "connection_refused_error");
    ctrl_fail("connection_refused_error");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 0);
    expect_vigie("down", "tcp.refused");
    assert_non_null(strstr(g_v.evidence, "failed too (connection_refused_error)"));
}

/* 14 dnsHijackingToProxyWithHTTPURL: a faithful transparent proxy; OONI: inconsistent, false/true.
 */
static void
test_dns_hijacking_to_proxy_http(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns(PROXY);
    probe_ep(PROXY ":80", 0);
    ctrl_example();
    ctrl_ep(PROXY ":80", NULL);
    ctrl_tls_ep(PROXY ":443", NULL);
    example_page_both(PROXY ":80");
    decide(true);
    expect_ooni(0, VG_BLOCKING_FALSE, 1);
    assert_true(g_v.ooni.body_proportion == 1.0);
    expect_http_keys(1, 1, 1, 1);
    assert_int_equal(g_v.ooni.x_dns_consistency, 1);
    expect_vigie("accessible", "");
    /* Without the helper's handshake on the proxy's address: still the right page. */
    g_c.n_ep = 2;
    decide(true);
    expect_ooni(0, VG_BLOCKING_FALSE, 1);
    assert_int_equal(g_v.ooni.x_dns_consistency, 0);
    expect_vigie("accessible", "");
    assert_non_null(strstr(g_v.evidence, "130.192.182.17 is not among the control's"));
}

/* 15 dnsHijackingToProxyWithHTTPSURL: the proxy passes TLS through, the certificate validates. */
static void
test_dns_hijacking_to_proxy_https(void **state)
{
    (void)state;
    probe("www.example.com", true);
    probe_dns(PROXY);
    probe_tls_ep(PROXY ":443", 0, 0);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    ctrl_tls_ep(PROXY ":443", NULL);
    example_page_both(PROXY ":443");
    decide(true);
    expect_ooni(0, VG_BLOCKING_FALSE, 1);
    assert_int_equal(g_v.ooni.x_dns_consistency, 1);
    expect_vigie("accessible", "");
}

/* 7 controlFailureWithSuccessfulHTTPWebsite: every helper reset; null/null. */
static void
test_control_failure_http(void **state)
{
    (void)state;
    probe("www.example.org", false);
    probe_dns(EXAMPLE);
    probe_ep(EXAMPLE ":80", 0);
    probe_page(EXAMPLE ":80", 200, 1256, "Example Domain", example_hdrs);
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "connection_reset");
    decide(false);
    expect_ooni(-1, VG_BLOCKING_NULL, -1);
    expect_http_keys(-1, -1, -1, -1);
    assert_true(g_v.ooni.body_proportion < 0);
    assert_int_equal(g_v.ooni.x_dns_consistency, -1);
    expect_vigie("unknown", "");
    assert_non_null(strstr(g_v.evidence, "the control could not be obtained (connection_reset)"));
}

/* 8 controlFailureWithSuccessfulHTTPSWebsite: OONI's https rule first: false/true. */
static void
test_control_failure_https(void **state)
{
    (void)state;
    probe("www.example.org", true);
    probe_dns(EXAMPLE);
    probe_tls_ep(EXAMPLE ":443", 0, 0);
    probe_page(EXAMPLE ":443", 200, 1256, "Example Domain", example_hdrs);
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "connection_reset");
    decide(false);
    expect_ooni(-1, VG_BLOCKING_FALSE, 1);
    expect_vigie("accessible", "");
    assert_non_null(strstr(g_v.evidence, "the control could not be obtained"));
}

/* 1 badSSLWithUnknownAuthorityWithConsistentDNS: broken for everyone: false/false. */
static void
test_badssl_unknown_authority_consistent(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    probe("untrusted-root.badssl.com", true);
    probe_dns(BADSSL);
    e = probe_tls_ep(BADSSL ":443", 0, VG_ETLS_UNKNOWN_CA);
    snprintf(e->subject, sizeof(e->subject), "CN=*.badssl.com");
    snprintf(e->issuer, sizeof(e->issuer), "CN=BadSSL Untrusted Root Certificate Authority");
    probe_fail(VG_ETLS_UNKNOWN_CA);
    ctrl();
    ctrl_dns(BADSSL);
    ctrl_tls_ep(BADSSL ":443", "ssl_unknown_authority");
    ctrl_fail("ssl_unknown_authority");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 0);
    expect_vigie("down", "tls.unknown_authority");
    assert_non_null(strstr(g_v.evidence, "failed too (ssl_unknown_authority)"));
}

/* 4 badSSLWithUnknownAuthorityWithInconsistentDNS: DNS sends www.example.com to a server with a
 * custom CA; the helper's handshake there fails as well: the DNS answer is the interference. */
static void
test_badssl_unknown_authority_inconsistent(void **state)
{
    (void)state;
    probe("www.example.com", true);
    probe_dns(BADSSL);
    probe_tls_ep(BADSSL ":443", 0, VG_ETLS_UNKNOWN_CA);
    probe_fail(VG_ETLS_UNKNOWN_CA);
    ctrl();
    ctrl_dns(EXAMPLE);
    ctrl_tls_ep(EXAMPLE ":443", NULL);
    ctrl_tls_ep(BADSSL ":443", "ssl_unknown_authority");
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    expect_vigie("blocked", "dns.inconsistent");
    assert_non_null(strstr(g_v.evidence, "connecting to it failed (ssl_unknown_authority)"));
}

/* 43 tcpBlockingConnectionRefusedWithInconsistentDNS */
static void
test_tcp_refused_with_inconsistent_dns(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns(BLOCKPG);
    probe_ep(BLOCKPG ":80", VG_ECONNREFUSED);
    probe_fail(VG_ECONNREFUSED);
    ctrl_example();
    ctrl_ep(BLOCKPG ":80", NULL);
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    expect_vigie("blocked", "dns.inconsistent");
}

/* 16 ghostDNSBlockingWithHTTP: the name exists nowhere, but the censor's DNS answers with its
 * block page server: OONI "dns" (probe resolved while the helper did not). */
static void
test_ghost_dns_blocking_http(void **state)
{
    (void)state;
    probe("itsat.info", false);
    probe_dns(BLOCKPG);
    probe_ep(BLOCKPG ":80", 0);
    blockpage_page(BLOCKPG ":80");
    ctrl();
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_name_error");
    ctrl_fail("dns_lookup_error");
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    expect_vigie("blocked", "dns.inconsistent");
}

/* 12 dnsHijackingToLocalhostWithHTTP */
static void
test_dns_hijacking_to_localhost(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns("127.0.0.1");
    snprintf(g_o.bogon, sizeof(g_o.bogon), "127.0.0.1 (loopback) from the system resolver");
    probe_ep("127.0.0.1:80", VG_ECONNREFUSED);
    probe_fail(VG_ECONNREFUSED);
    ctrl_example();
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    expect_vigie("blocked", "dns.bogon");
}

/* 25 localhostWithHTTP: the site itself publishes 127.0.0.1 (everyone sees it): false/false. */
static void
test_localhost_misconfiguration(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns("127.0.0.1");
    snprintf(g_o.bogon, sizeof(g_o.bogon), "127.0.0.1 (loopback) from the system resolver");
    probe_ep("127.0.0.1:80", VG_ECONNREFUSED);
    probe_fail(VG_ECONNREFUSED);
    ctrl();
    ctrl_dns("127.0.0.1");
    ctrl_fail("dns_lookup_error");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 0);
    expect_vigie("down", "tcp.refused");
}

/* 5 cloudflareCAPTCHAWithHTTP / 6 ...WithHTTPS: scm false, bp 0.1818, hm true, tm false. */
static void
test_cloudflare_captcha(void **state)
{
    static const char *const cf_hdrs[] = {"Content-Type", "Cf-Mitigated", "Server", NULL};

    (void)state;
    probe("www.cloudflare-cache.com", false);
    probe_dns("104.16.132.229");
    probe_ep("104.16.132.229:80", 0);
    probe_page("104.16.132.229:80", 503, 2000, "Just a moment...", cf_hdrs);
    ctrl();
    ctrl_dns("104.16.132.229");
    ctrl_ep("104.16.132.229:80", NULL);
    ctrl_page(200, 11000, "Cloudflare Cache Test Page", cf_hdrs);
    decide(true);
    expect_ooni(1, VG_BLOCKING_HTTP_DIFF, 0);
    assert_true(fabs(g_v.ooni.body_proportion - 0.1818) < 0.0001);
    expect_http_keys(0, 0, 1, 0);
    expect_vigie("blocked", "http.diff");

    /* over https the genuine server answered: accessible for OONI and for vigie */
    probe("www.cloudflare-cache.com", true);
    probe_dns("104.16.132.229");
    probe_tls_ep("104.16.132.229:443", 0, 0);
    probe_page("104.16.132.229:443", 503, 2000, "Just a moment...", cf_hdrs);
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 1);
    expect_http_keys(0, 0, 1, 0);
    expect_vigie("accessible", "");
}

/* 23 largeFileWithHTTP: a truncated body gives body_length_match null. */
static void
test_large_file(void **state)
{
    (void)state;
    probe("largefile.com", false);
    probe_dns("104.18.10.1");
    probe_ep("104.18.10.1:80", 0);
    probe_page("104.18.10.1:80", 200, 524288, "Large File", example_hdrs);
    g_o.body_truncated = true;
    ctrl();
    ctrl_dns("104.18.10.1");
    ctrl_page(200, 16777216, "Large File", example_hdrs);
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 1);
    assert_true(g_v.ooni.body_proportion < 0);
    expect_http_keys(-1, 1, 1, 1);
    expect_vigie("accessible", "");
}

/* 29 redirectWithConsistentDNSAndThenConnectionRefusedForHTTP: bit.ly fine, the target refused. */
static void
test_redirect_then_refused(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns("67.199.248.11");
    probe_ep("67.199.248.11:80", 0);
    probe_ep(EXAMPLE ":80", VG_ECONNREFUSED)->depth = 1;
    g_o.final_depth = 1;
    probe_fail(VG_ECONNREFUSED);
    ctrl();
    ctrl_dns("67.199.248.11");
    ctrl_ep("67.199.248.11:80", NULL);
    ctrl_tls_ep("67.199.248.11:443", NULL);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
    decide(true);
    expect_ooni(1, VG_BLOCKING_HTTP_FAILURE, 0);
    expect_vigie("blocked", "tcp.refused");
    assert_non_null(strstr(g_v.evidence, "the control fetched the page"));
}

/* 33 redirectWithConsistentDNSAndThenNXDOMAIN */
static void
test_redirect_then_nxdomain(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns("67.199.248.11");
    probe_ep("67.199.248.11:80", 0);
    g_o.final_depth = 1;
    probe_fail(VG_EDNS_NXDOMAIN);
    ctrl();
    ctrl_dns("67.199.248.11");
    ctrl_ep("67.199.248.11:80", NULL);
    ctrl_page(200, 1256, "Example Domain", example_hdrs);
    decide(true);
    expect_ooni(1, VG_BLOCKING_DNS, 0);
    expect_vigie("blocked", "dns.nxdomain");
}

/* 38 redirectWithMoreThanTenRedirectsAndHTTP: both give up: false/false. */
static void
test_too_many_redirects(void **state)
{
    (void)state;
    probe("httpbin.com", false);
    probe_dns("93.184.216.40");
    probe_ep("93.184.216.40:80", 0);
    g_o.final_depth = 10;
    probe_ep("93.184.216.40:80", 0)->depth = 10;
    probe_fail(VG_EHTTP_REDIRECTS);
    ctrl();
    ctrl_dns("93.184.216.40");
    ctrl_ep("93.184.216.40:80", NULL);
    ctrl_fail("unknown_failure: stopped after too many redirects");
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 0);
    expect_vigie("down", "http.too_many_redirects");
}

/* ---- the pieces --------------------------------------------------------------------------- */

static void
test_dns_consistency_rules(void **state)
{
    (void)state;
    probe("www.example.com", true);
    assert_int_equal(vg_cmp_dns_consistency(&g_o, NULL, true), -1);
    ctrl();
    g_o.host_is_ip = true;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 1);
    g_o.host_is_ip = false;
    /* both failed: consistent only for NXDOMAIN on both sides (either spelling at the control) */
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_name_error");
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 1);
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_nxdomain_error");
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 1);
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_server_failure");
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 0);
    g_o.sys_failure = VG_ETIMEDOUT;
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_name_error");
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 0);
    /* the helper's no-answer is failure=null, addrs=[] */
    g_c.dns_failure[0] = '\0';
    g_o.sys_failure = VG_EDNS_NOANSWER;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 1);
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 0);
    /* resolved while the control resolved nothing */
    g_o.sys_failure = 0;
    probe_dns(EXAMPLE);
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 0);
    /* a common address, whatever the spelling */
    ctrl_dns("::ffff:93.184.216.34");
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 1);
    /* different addresses: TLS validity only in x_ */
    ctrl();
    ctrl_dns("93.184.216.35");
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 0);
    probe_tls_ep("[2606:2800::1]:443", 0, 0);
    probe_tls_ep(EXAMPLE ":443", 0, VG_ETLS_UNKNOWN_CA);
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 0);
    /* a valid certificate at the control, but vigie's helper says it did not validate */
    ctrl_tls_ep(EXAMPLE ":443", NULL)->x_present = true;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 0);
    g_c.ep[0].x_valid = true;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 1);
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 0);
    /* or a valid certificate here */
    g_c.n_ep = 0;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 0);
    probe_tls_ep(EXAMPLE ":443", 0, 0);
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 1);
    /* but not one at a later hop (another name) */
    g_o.ep[g_o.n_ep - 1].depth = 1;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 0);
}

/* OONI's common-ASN rule (1.3): another address of the site's network (a CDN edge) is
 * consistent. The probe fills the ASNs from --asn-db; 0 (unknown, bogon) never matches. */
static void
test_dns_consistency_asn(void **state)
{
    (void)state;
    probe("www.example.com", false);
    probe_dns("93.184.216.99");
    probe_dns("2606:2800:220:1::99");
    probe_ep("93.184.216.99:80", 0);
    ctrl_example();
    ctrl_dns("2606:2800:220:1:248:1893:25c8:1946");
    example_page_both("93.184.216.99:80");
    /* no database: no common address, inconsistent (the page still matches) */
    decide(true);
    expect_ooni(0, VG_BLOCKING_FALSE, 1);
    /* the probe's first address and the control's second are in one AS */
    g_o.dns_asns[0] = 15133;
    g_o.ctrl_asns[0] = 64496;
    g_o.ctrl_asns[1] = 15133;
    decide(true);
    expect_ooni(1, VG_BLOCKING_FALSE, 1);
    assert_int_equal(g_v.ooni.x_dns_consistency, 1);
    expect_vigie("accessible", "");
    /* different networks */
    g_o.ctrl_asns[1] = 64497;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 0);
    /* an ASN past the control's addresses belongs to no address of the control */
    g_o.ctrl_asns[2] = 15133;
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, false), 0);
    /* AS0 on both sides is no common network */
    memset(g_o.dns_asns, 0, sizeof(g_o.dns_asns));
    memset(g_o.ctrl_asns, 0, sizeof(g_o.ctrl_asns));
    assert_int_equal(vg_cmp_dns_consistency(&g_o, &g_c, true), 0);

    /* The edge does not answer SYNs while the control fetched the page: with the ASN rule this
     * is TCP blocking at a consistent address, not DNS blocking. */
    probe("www.example.com", false);
    probe_dns("93.184.216.99");
    probe_ep("93.184.216.99:80", VG_ETIMEDOUT);
    probe_fail(VG_ETIMEDOUT);
    ctrl_example();
    decide(true);
    expect_ooni(0, VG_BLOCKING_DNS, 0);
    g_o.dns_asns[0] = 15133;
    g_o.ctrl_asns[0] = 15133;
    decide(true);
    expect_ooni(1, VG_BLOCKING_TCP_IP, 0);
}

static void
test_body_and_status(void **state)
{
    (void)state;
    assert_true(fabs(vg_cmp_body_proportion(154, 1256, false) - 0.12261) < 0.00001);
    assert_true(vg_cmp_body_proportion(1256, 154, false) ==
                vg_cmp_body_proportion(154, 1256, false));
    assert_true(vg_cmp_body_proportion(0, 1256, false) < 0);
    assert_true(vg_cmp_body_proportion(1256, 0, false) < 0);
    assert_true(vg_cmp_body_proportion(1256, -1, false) < 0);
    assert_true(vg_cmp_body_proportion(1256, 1256, true) < 0);
    assert_true(vg_cmp_body_proportion(1256, 1256, false) == 1.0);
    assert_int_equal(vg_cmp_status_code_match(200, 200), 1);
    assert_int_equal(vg_cmp_status_code_match(403, 200), 0);
    assert_int_equal(vg_cmp_status_code_match(200, 204), 0);
    assert_int_equal(vg_cmp_status_code_match(200, 404), -1);
    assert_int_equal(vg_cmp_status_code_match(200, 503), -1);
    assert_int_equal(vg_cmp_status_code_match(200, -1), -1);
    assert_int_equal(vg_cmp_status_code_match(404, 404), 1);
}

static void
test_headers_match(void **state)
{
    static const char a[][64] = {"Date", "Content-Type", "X-Served-By", "Server"};
    static const char b[][64] = {"server", "x-served-by"};
    static const char c[][64] = {"Date", "Server", "Set-Cookie", "CF-RAY", "Vary"};
    static const char d[][64] = {"Date", "Server", "Etag", "Via", "Age", "Link", "X-Varnish"};

    (void)state;
    assert_int_equal(vg_cmp_headers_match(a, 4, b, 2), 1);
    assert_int_equal(vg_cmp_headers_match(b, 2, a, 4), 1);
    /* only common names in common */
    assert_int_equal(vg_cmp_headers_match(c, 5, d, 7), 0);
    assert_int_equal(vg_cmp_headers_match(c, 5, c, 5), 0);
    assert_int_equal(vg_cmp_headers_match(a, 4, c, 5), 0);
    assert_int_equal(vg_cmp_headers_match(a, 0, b, 2), 0);
    assert_int_equal(vg_cmp_headers_match(a, 4, b, 0), 0);
}

static void
test_title_match(void **state)
{
    (void)state;
    assert_int_equal(vg_cmp_title_match("", "Example Domain"), -1);
    assert_int_equal(vg_cmp_title_match(NULL, "Example Domain"), -1);
    assert_int_equal(vg_cmp_title_match("Example Domain", "Example Domain"), 1);
    /* ASCII case and short words do not count */
    assert_int_equal(vg_cmp_title_match("EXAMPLE domain of A", "example Domain"), 1);
    /* a long word in only one title */
    assert_int_equal(vg_cmp_title_match("Example Domain", "Example Domain Blocked"), 0);
    assert_int_equal(vg_cmp_title_match("Example Domain Blocked", "Example Domain"), 0);
    assert_int_equal(vg_cmp_title_match("Access denied", ""), 0);
    /* no long word at all on either side: nothing differs */
    assert_int_equal(vg_cmp_title_match("404", "a b"), 1);
    /* split on spaces only; repeated words are one word */
    assert_int_equal(vg_cmp_title_match("hello-world  hello-world", "hello-world"), 1);
    assert_int_equal(vg_cmp_title_match("Яндекс", "Яндекс"), 1);
}

static void
test_http_keys_need_both_pages(void **state)
{
    struct vg_ooni_keys k;

    (void)state;
    probe("www.example.com", false);
    ctrl_example();
    vg_cmp_http(&g_o, &g_c, &k);
    assert_int_equal(k.status_code_match, -1);
    probe_page(EXAMPLE ":80", 200, 1256, "Example Domain", example_hdrs);
    vg_cmp_http(&g_o, NULL, &k);
    assert_int_equal(k.status_code_match, -1);
    vg_cmp_http(&g_o, &g_c, &k);
    assert_int_equal(k.status_code_match, 1);
    assert_false(vg_cmp_http_diff(&k));
    ctrl_fail("generic_timeout_error");
    vg_cmp_http(&g_o, &g_c, &k);
    assert_int_equal(k.status_code_match, -1);
    assert_true(k.body_proportion < 0);
    assert_true(vg_cmp_http_diff(&k));
}

static void
test_http_diff_rule(void **state)
{
    struct vg_ooni_keys k;

    (void)state;
    vg_ooni_keys_null(&k);
    assert_true(vg_cmp_http_diff(&k));
    k.status_code_match = 1;
    assert_true(vg_cmp_http_diff(&k));
    k.title_match = 0;
    k.headers_match = 0;
    k.body_length_match = 0;
    assert_true(vg_cmp_http_diff(&k));
    k.headers_match = 1;
    assert_false(vg_cmp_http_diff(&k));
    k.headers_match = 0;
    k.title_match = 1;
    assert_false(vg_cmp_http_diff(&k));
    k.status_code_match = 0;
    assert_true(vg_cmp_http_diff(&k));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_success_with_http, release_obs),
        cmocka_unit_test_teardown(test_success_with_https, release_obs),
        cmocka_unit_test_teardown(test_dns_blocking_nxdomain, release_obs),
        cmocka_unit_test_teardown(test_dns_blocking_bogon, release_obs),
        cmocka_unit_test_teardown(test_http_blocking_connection_reset, release_obs),
        cmocka_unit_test_teardown(test_http_diff_with_consistent_dns, release_obs),
        cmocka_unit_test_teardown(test_http_diff_with_inconsistent_dns, release_obs),
        cmocka_unit_test_teardown(test_tcp_blocking_connect_timeout, release_obs),
        cmocka_unit_test_teardown(test_tls_blocking_reset_with_consistent_dns, release_obs),
        cmocka_unit_test_teardown(test_tls_blocking_reset_with_inconsistent_dns, release_obs),
        cmocka_unit_test_teardown(test_website_down_nxdomain, release_obs),
        cmocka_unit_test_teardown(test_website_down_no_addrs, release_obs),
        cmocka_unit_test_teardown(test_website_down_tcp_connect, release_obs),
        cmocka_unit_test_teardown(test_dns_hijacking_to_proxy_http, release_obs),
        cmocka_unit_test_teardown(test_dns_hijacking_to_proxy_https, release_obs),
        cmocka_unit_test_teardown(test_control_failure_http, release_obs),
        cmocka_unit_test_teardown(test_control_failure_https, release_obs),
        cmocka_unit_test_teardown(test_badssl_unknown_authority_consistent, release_obs),
        cmocka_unit_test_teardown(test_badssl_unknown_authority_inconsistent, release_obs),
        cmocka_unit_test_teardown(test_tcp_refused_with_inconsistent_dns, release_obs),
        cmocka_unit_test_teardown(test_ghost_dns_blocking_http, release_obs),
        cmocka_unit_test_teardown(test_dns_hijacking_to_localhost, release_obs),
        cmocka_unit_test_teardown(test_localhost_misconfiguration, release_obs),
        cmocka_unit_test_teardown(test_cloudflare_captcha, release_obs),
        cmocka_unit_test_teardown(test_large_file, release_obs),
        cmocka_unit_test_teardown(test_redirect_then_refused, release_obs),
        cmocka_unit_test_teardown(test_redirect_then_nxdomain, release_obs),
        cmocka_unit_test_teardown(test_too_many_redirects, release_obs),
        cmocka_unit_test_teardown(test_dns_consistency_rules, release_obs),
        cmocka_unit_test_teardown(test_dns_consistency_asn, release_obs),
        cmocka_unit_test(test_body_and_status),
        cmocka_unit_test(test_headers_match),
        cmocka_unit_test(test_title_match),
        cmocka_unit_test_teardown(test_http_keys_need_both_pages, release_obs),
        cmocka_unit_test(test_http_diff_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
