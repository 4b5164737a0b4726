/* SPDX-License-Identifier: MIT */
/*
 * test_verdict.c - every rule of vg_verdict_decide, in evaluation order: first the probe-only
 * rules (no control), then a control that could not be obtained, then the rules with a control
 * (C1 to C11 at the top of lib/meas/verdict.c).
 */
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
    struct vg_decision v;

    vg_verdict_decide(o, &v);
    assert_string_equal(vg_verdict_name(v.verdict), verdict);
    assert_string_equal(v.cause, cause);
    assert_true(strlen(v.evidence) > 0);
}

static void
test_https_success_is_accessible(void **state)
{
    struct vg_decision v;

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
    struct vg_decision v;

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
    struct vg_decision v;

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
    struct vg_decision v;

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

/* ---- with a control ------------------------------------------------------------------------ */

#define HEX(c)                                                                                    \
    c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
        c c c c c c c c c c c c c c c c c

static struct vg_ctrl g_c;

/* The control's view of www.example.org (198.51.100.10) when nothing interferes. */
static void
ctrl_base(void)
{
    memset(&g_c, 0, sizeof(g_c));
    snprintf(g_c.addrs[g_c.n_addrs++], sizeof(g_c.addrs[0]), "198.51.100.10");
    g_c.status = 200;
    g_c.body_length = 1256;
    snprintf(g_c.title, sizeof(g_c.title), "Example Domain");
    snprintf(g_c.headers[g_c.n_headers++], sizeof(g_c.headers[0]), "X-Cache");
}

static struct vg_ctrl_endpoint *
ctrl_ep(const char *addr, const char *tcp_failure, bool tls, const char *tls_failure)
{
    struct vg_ctrl_endpoint *e = &g_c.ep[g_c.n_ep++];

    memset(e, 0, sizeof(*e));
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->tcp_ok = tcp_failure == NULL;
    snprintf(e->tcp_failure, sizeof(e->tcp_failure), "%s", tcp_failure ? tcp_failure : "");
    e->tls_present = tls;
    e->tls_ok = tls && tls_failure == NULL;
    snprintf(e->tls_failure, sizeof(e->tls_failure), "%s", tls_failure ? tls_failure : "");
    return e;
}

static void
ctrl_http_fail(const char *failure)
{
    snprintf(g_c.http_failure, sizeof(g_c.http_failure), "%s", failure);
    g_c.status = -1;
    g_c.body_length = -1;
}

/* A chain summary: vigie's helper extension on the control side. */
static void
ctrl_chain(struct vg_ctrl_endpoint *e, bool valid, const char *leaf, const char *ca1,
           const char *ca2)
{
    e->x_present = true;
    e->x_valid = valid;
    snprintf(e->leaf_spki, sizeof(e->leaf_spki), "%s", leaf);
    e->n_ca_spki = 0;
    if (ca1 != NULL) {
        snprintf(e->ca_spki[e->n_ca_spki++], sizeof(e->ca_spki[0]), "%s", ca1);
    }
    if (ca2 != NULL) {
        snprintf(e->ca_spki[e->n_ca_spki++], sizeof(e->ca_spki[0]), "%s", ca2);
    }
}

static void
probe_chain(struct vg_obs_endpoint *e, const char *leaf, const char *ca1, const char *ca2)
{
    snprintf(e->leaf_spki, sizeof(e->leaf_spki), "%s", leaf);
    e->n_ca_spki = 0;
    if (ca1 != NULL) {
        snprintf(e->ca_spki[e->n_ca_spki++], sizeof(e->ca_spki[0]), "%s", ca1);
    }
    if (ca2 != NULL) {
        snprintf(e->ca_spki[e->n_ca_spki++], sizeof(e->ca_spki[0]), "%s", ca2);
    }
    snprintf(e->subject, sizeof(e->subject), "CN=www.example.org");
    snprintf(e->issuer, sizeof(e->issuer), "CN=Some CA");
}

/* The probe's page, as www.example.org serves it. */
static void
page(const char *addr, long len, const char *title)
{
    g_o.http_attempted = true;
    snprintf(g_o.http_addr, sizeof(g_o.http_addr), "%s", addr);
    g_o.status = 200;
    g_o.body_length = len;
    snprintf(g_o.title, sizeof(g_o.title), "%s", title);
    g_o.n_headers = 0;
    vg_obs_headers_reserve(&g_o, g_o.n_headers + 1); /* the names are allocated (obs.h) */
    snprintf(g_o.headers[g_o.n_headers++], sizeof(g_o.headers[0]), "X-Cache");
}

static void
dns_answer(const char *ip)
{
    snprintf(g_o.dns_addrs[g_o.n_dns_addrs++], sizeof(g_o.dns_addrs[0]), "%s", ip);
}

/* Decide with the control; the evidence must name the control's view, and contain needle. */
static void
expect_c(const char *verdict, const char *cause, const char *needle)
{
    struct vg_decision v;

    g_o.ctrl = &g_c;
    vg_verdict_decide(&g_o, &v);
    if (strcmp(vg_verdict_name(v.verdict), verdict) != 0 || strcmp(v.cause, cause) != 0) {
        fail_msg("got %s %s, expected %s %s: %s", vg_verdict_name(v.verdict), v.cause, verdict,
                 cause, v.evidence);
    }
    assert_non_null(strstr(v.evidence, "control"));
    if (needle != NULL && strstr(v.evidence, needle) == NULL) {
        fail_msg("evidence \"%s\" lacks \"%s\"", v.evidence, needle);
    }
}

static void
test_ooni_keys_null_without_control(void **state)
{
    struct vg_decision v;

    (void)state;
    base(&g_o, false);
    add_ep(&g_o, "198.51.100.10:80", 0);
    page("198.51.100.10:80", 1256, "Example Domain");
    vg_verdict_decide(&g_o, &v);
    /* not the zeroes of memset: 0 would read "inconsistent" and "false" */
    assert_int_equal(v.ooni.dns_consistency, -1);
    assert_int_equal(v.ooni.x_dns_consistency, -1);
    assert_true(v.ooni.body_proportion < 0);
    assert_int_equal(v.ooni.body_length_match, -1);
    assert_int_equal(v.ooni.status_code_match, -1);
    assert_int_equal(v.ooni.headers_match, -1);
    assert_int_equal(v.ooni.title_match, -1);
    /* with a control they are filled */
    ctrl_base();
    dns_answer("198.51.100.10");
    g_o.ctrl = &g_c;
    vg_verdict_decide(&g_o, &v);
    assert_int_equal(v.ooni.dns_consistency, 1);
    assert_true(v.ooni.body_proportion == 1.0);
    assert_int_equal(v.ooni.title_match, 1);
    assert_int_equal(v.blocking, VG_BLOCKING_FALSE);
    assert_int_equal(v.accessible, 1);
}

static void
test_control_unreachable(void **state)
{
    struct vg_decision v;
    struct vg_obs_endpoint *e;

    (void)state;
    /* a page over http: unknown, as without a control, and the evidence says why */
    base(&g_o, false);
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "generic_timeout_error");
    add_ep(&g_o, "198.51.100.10:80", 0);
    page("198.51.100.10:80", 1256, "Example Domain");
    expect(&g_o, "unknown", "");
    vg_verdict_decide(&g_o, &v);
    assert_non_null(
        strstr(v.evidence, "the control could not be obtained (generic_timeout_error)"));
    assert_int_equal(v.blocking, VG_BLOCKING_NULL);
    /* TLS blocking needs the control's handshake: unknown, cause kept */
    base(&g_o, true);
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "connection_reset");
    add_tls_ep(&g_o, "198.51.100.10:443", VG_ECONNRESET, 0);
    expect(&g_o, "unknown", "tls.reset");
    g_o.ep[0].tcp_err = VG_ETIMEDOUT;
    expect(&g_o, "unknown", "tcp.timeout");
    /* self-evident proofs stay */
    base(&g_o, true);
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "connection_reset");
    snprintf(g_o.bogon, sizeof(g_o.bogon), "10.10.34.35 (private) from the system resolver");
    add_ep(&g_o, "10.10.34.35:443", VG_ETIMEDOUT);
    expect(&g_o, "blocked", "dns.bogon");
    base(&g_o, true);
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "connection_reset");
    e = add_tls_ep(&g_o, "198.51.100.10:443", 0, VG_ETLS_UNKNOWN_CA);
    e->self_signed = true;
    expect(&g_o, "intercepted", "tls.mitm");
    base(&g_o, true);
    snprintf(g_o.control_failure, sizeof(g_o.control_failure), "connection_reset");
    add_tls_ep(&g_o, "198.51.100.10:443", 0, 0);
    page("198.51.100.10:443", 1256, "Example Domain");
    expect(&g_o, "accessible", "");
}

/* C1 */
static void
test_ctrl_bogon(void **state)
{
    (void)state;
    base(&g_o, false);
    ctrl_base();
    dns_answer("10.10.34.35");
    snprintf(g_o.bogon, sizeof(g_o.bogon), "10.10.34.35 (private) from the system resolver");
    add_ep(&g_o, "10.10.34.35:80", VG_ETIMEDOUT);
    g_o.http_attempted = true;
    g_o.http_failure = VG_ETIMEDOUT;
    expect_c("blocked", "dns.bogon", "while the control resolves it to 198.51.100.10");
    /* the control got the same bogon: the site publishes it, its server is just unreachable */
    snprintf(g_c.addrs[0], sizeof(g_c.addrs[0]), "10.10.34.35");
    ctrl_http_fail("generic_timeout_error");
    expect_c("down", "tcp.timeout", "failed too (generic_timeout_error)");
}

static void
reply(bool aaaa, const char *brief, const char *addr)
{
    struct vg_obs_reply *r;

    vg_obs_replies_reserve(&g_o); /* the replies are allocated (obs.h) */
    r = &g_o.replies[g_o.n_replies++];
    memset(r, 0, sizeof(*r));
    r->aaaa = aaaa;
    snprintf(r->brief, sizeof(r->brief), "%s", brief);
    if (addr != NULL) {
        snprintf(r->addrs[r->n_addrs++], sizeof(r->addrs[0]), "%s", addr);
    }
}

/* C2 */
static void
test_ctrl_injected(void **state)
{
    (void)state;
    base(&g_o, true);
    ctrl_base();
    dns_answer("198.51.100.10");
    snprintf(g_o.udp_resolver, sizeof(g_o.udp_resolver), "203.0.113.53:53");
    snprintf(g_o.injected, sizeof(g_o.injected), "2 replies to the A query ...");
    add_tls_ep(&g_o, "198.51.100.10:443", 0, 0);
    page("198.51.100.10:443", 1256, "Example Domain");
    /* the forged reply first, the genuine one later */
    reply(false, "203.0.113.99 (IP TTL 60, after 3 ms)", "203.0.113.99");
    reply(false, "198.51.100.10 (IP TTL 52, after 41 ms)", "198.51.100.10");
    expect_c("blocked", "dns.injected",
             "the A query for www.example.org to 203.0.113.53:53 got 203.0.113.99 (IP TTL 60, "
             "after 3 ms), which the control does not know, then 198.51.100.10 (IP TTL 52, after "
             "41 ms), which matches the control's answer (198.51.100.10)");
    /* a forged "no such name" counts as a disagreeing reply */
    g_o.n_replies = 0;
    reply(false, "rcode 3 (IP TTL 60, after 2 ms)", NULL);
    reply(false, "198.51.100.10 (IP TTL 52, after 41 ms)", "198.51.100.10");
    expect_c("blocked", "dns.injected", "rcode 3");
    /* two genuine replies (round robin, both known to the control): no injection */
    g_o.n_replies = 0;
    snprintf(g_c.addrs[g_c.n_addrs++], sizeof(g_c.addrs[0]), "198.51.100.11");
    reply(false, "198.51.100.11 (IP TTL 52, after 40 ms)", "198.51.100.11");
    reply(false, "198.51.100.10 (IP TTL 52, after 41 ms)", "198.51.100.10");
    expect_c("accessible", "", NULL);
    /* the later reply is unknown to the control too: not this rule */
    g_o.n_replies = 0;
    reply(false, "203.0.113.99 (IP TTL 60, after 3 ms)", "203.0.113.99");
    reply(false, "203.0.113.98 (IP TTL 60, after 4 ms)", "203.0.113.98");
    expect_c("accessible", "", NULL);
    /* a pair is two answers to the same query type */
    g_o.n_replies = 0;
    reply(false, "203.0.113.99 (IP TTL 60, after 3 ms)", "203.0.113.99");
    reply(true, "198.51.100.10 (IP TTL 52, after 41 ms)", "198.51.100.10");
    expect_c("accessible", "", NULL);
    /* replies not recorded: the probe-only disagreement decides, with the control's addresses */
    g_o.n_replies = 0;
    expect_c("blocked", "dns.injected", "2 replies to the A query ...; the control resolves");
}

/* C3 */
static void
test_ctrl_dns_failure(void **state)
{
    (void)state;
    base(&g_o, true);
    ctrl_base();
    g_o.n_sys_addrs = 0;
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    g_o.http_attempted = true;
    g_o.http_failure = VG_EDNS_NXDOMAIN;
    expect_c("blocked", "dns.nxdomain", "but the control resolves it to 198.51.100.10");
    g_o.sys_failure = VG_EDNS_NOANSWER;
    expect_c("blocked", "dns.no_answer", NULL);
    /* a local resolver that does not answer is not proof */
    g_o.sys_failure = VG_ETIMEDOUT;
    expect_c("unknown", "dns.timeout", NULL);
    /* the control cannot resolve it either */
    g_c.n_addrs = 0;
    snprintf(g_c.dns_failure, sizeof(g_c.dns_failure), "dns_name_error");
    ctrl_http_fail("dns_lookup_error");
    g_o.sys_failure = VG_EDNS_NXDOMAIN;
    expect_c("down", "dns.nxdomain", "failed too (dns_name_error)");
    g_c.dns_failure[0] = '\0';
    g_o.sys_failure = VG_EDNS_NOANSWER;
    expect_c("down", "dns.no_answer", "failed too (no address)");
}

/* C4 */
static void
test_ctrl_mitm_invalid_certificate(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    base(&g_o, true);
    ctrl_base();
    dns_answer("198.51.100.10");
    e = add_tls_ep(&g_o, "198.51.100.10:443", 0, VG_ETLS_UNKNOWN_CA);
    snprintf(e->subject, sizeof(e->subject), "CN=www.example.org");
    snprintf(e->issuer, sizeof(e->issuer), "CN=Information Security Certification Authority");
    g_o.http_attempted = true;
    g_o.http_failure = VG_ETLS_UNKNOWN_CA;
    /* the control validated on the same endpoint */
    ctrl_ep("198.51.100.10:443", NULL, true, NULL);
    expect_c("intercepted", "tls.mitm",
             "issued by untrusted CN=Information Security Certification Authority on "
             "198.51.100.10:443, while the control validated the certificate for the same name "
             "on 198.51.100.10:443");
    /* on another endpoint only */
    snprintf(g_c.ep[0].addr, sizeof(g_c.ep[0].addr), "198.51.100.11:443");
    expect_c("intercepted", "tls.mitm", "on 198.51.100.11:443");
    /* no handshake data: the control fetched the https page */
    g_c.n_ep = 0;
    expect_c("intercepted", "tls.mitm", "when it fetched the page");
    /* the control's handshake on that endpoint did not validate either: not interception */
    ctrl_ep("198.51.100.10:443", NULL, true, "ssl_unknown_authority");
    ctrl_http_fail("ssl_unknown_authority");
    expect_c("down", "tls.unknown_authority", "failed too (ssl_unknown_authority)");
    /* vigie's helper completed the handshake but says the chain is not valid */
    g_c.ep[0].tls_ok = true;
    g_c.ep[0].tls_failure[0] = '\0';
    ctrl_chain(&g_c.ep[0], false, HEX("b"), HEX("c"), NULL);
    e->verify_err = VG_ETLS_HOSTNAME;
    g_o.http_failure = VG_ETLS_HOSTNAME;
    expect_c("down", "tls.invalid_hostname", "certificate not valid");
}

/* The C5 tests' start: the page fetched over TLS from 198.51.100.10:443 (that endpoint, whose
 * chain each test sets), the control's measurement of the site without endpoints yet. */
static struct vg_obs_endpoint *
c5_page_fetched(void)
{
    struct vg_obs_endpoint *e;

    base(&g_o, true);
    ctrl_base();
    dns_answer("198.51.100.10");
    e = add_tls_ep(&g_o, "198.51.100.10:443", 0, 0);
    page("198.51.100.10:443", 1256, "Example Domain");
    return e;
}

/* C5 */
static void
test_ctrl_mitm_trusted_ca(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    e = c5_page_fetched();
    /* the device trusts the interceptor's CA: the chain validates here, shares nothing there */
    probe_chain(e, HEX("a"), HEX("1"), NULL);
    ctrl_chain(ctrl_ep("198.51.100.10:443", NULL, true, NULL), true, HEX("b"), HEX("2"), HEX("3"));
    expect_c("intercepted", "tls.mitm", "a CA this device was made to trust");
    {
        struct vg_decision v;

        vg_verdict_decide(&g_o, &v);
        /* OONI's keys keep OONI's meaning: an https page was fetched */
        assert_int_equal(v.accessible, 1);
        assert_int_equal(v.blocking, VG_BLOCKING_FALSE);
        assert_non_null(strstr(v.evidence, "issued by CN=Some CA on 198.51.100.10:443"));
    }
    /* the interceptor's chain against the control's second endpoint too */
    ctrl_chain(ctrl_ep("198.51.100.11:443", NULL, true, NULL), true, HEX("d"), HEX("2"), NULL);
    expect_c("intercepted", "tls.mitm", "on 198.51.100.10:443: leaf key bbbb");
}

/* C5's trap: legitimate differences between vantage points stay accessible. */
static void
test_ctrl_mitm_trusted_ca_trap(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    e = c5_page_fetched();
    /* load-balanced leaves (different keys) from the same public CA */
    probe_chain(e, HEX("a"), HEX("1"), HEX("9"));
    ctrl_chain(ctrl_ep("198.51.100.10:443", NULL, true, NULL), true, HEX("b"), HEX("9"), NULL);
    expect_c("accessible", "", NULL);
    /* one key, re-issued under another intermediate */
    ctrl_chain(&g_c.ep[0], true, HEX("a"), HEX("2"), NULL);
    expect_c("accessible", "", NULL);
    /* the common CA is on another endpoint the control measured */
    ctrl_chain(&g_c.ep[0], true, HEX("b"), HEX("2"), NULL);
    ctrl_chain(ctrl_ep("198.51.100.11:443", NULL, true, NULL), true, HEX("c"), HEX("1"), NULL);
    expect_c("accessible", "", NULL);
    /* no x_ data (an OONI helper): the rule cannot fire */
    g_c.n_ep = 1;
    g_c.ep[0].x_present = false;
    expect_c("accessible", "", NULL);
    /* the control's chain did not validate: nothing to compare with */
    ctrl_chain(&g_c.ep[0], false, HEX("b"), HEX("2"), NULL);
    expect_c("accessible", "", NULL);
    /* the server sent no CA certificate here, or the control has none: nothing to compare */
    ctrl_chain(&g_c.ep[0], true, HEX("b"), HEX("2"), NULL);
    e->n_ca_spki = 0;
    expect_c("accessible", "", NULL);
    probe_chain(e, HEX("a"), HEX("1"), NULL);
    ctrl_chain(&g_c.ep[0], true, HEX("b"), NULL, NULL);
    expect_c("accessible", "", NULL);
    /* a later hop's certificate is for another name: not compared */
    ctrl_chain(&g_c.ep[0], true, HEX("b"), HEX("2"), NULL);
    e->depth = 1;
    g_o.final_depth = 1;
    expect_c("accessible", "", NULL);
}

/*
 * C5 with a site whose genuine server sends its leaf alone (issue 14). Both sides compare the
 * chains they validated, up to their trust anchors: the served chain of such a site has no CA
 * key, and the rule had nothing to compare. HEX("r") is the public root both stores hold,
 * HEX("x") the interceptor's CA the device was made to trust.
 */
static void
test_ctrl_mitm_trusted_ca_leaf_alone(void **state)
{
    struct vg_obs_endpoint *e;
    struct vg_ctrl_endpoint *ce;

    (void)state;
    e = c5_page_fetched();
    ce = ctrl_ep("198.51.100.10:443", NULL, true, NULL);
    /* genuine, seen the same from both: leaf + the root each side validated it with */
    probe_chain(e, HEX("a"), HEX("r"), NULL);
    ctrl_chain(ce, true, HEX("a"), HEX("r"), NULL);
    expect_c("accessible", "", NULL);
    /* genuine, another edge's leaf (another key) under the same root: still accessible */
    ctrl_chain(ce, true, HEX("b"), HEX("r"), NULL);
    expect_c("accessible", "", NULL);
    /* intercepted by a trusted CA: the probe validated the forged leaf up to that CA, the
     * control the genuine leaf up to the public root; nothing in common */
    probe_chain(e, HEX("c"), HEX("x"), NULL);
    snprintf(e->issuer, sizeof(e->issuer), "CN=Example Corp TLS Inspection CA");
    ctrl_chain(ce, true, HEX("a"), HEX("r"), NULL);
    expect_c("intercepted", "tls.mitm",
             "issued by CN=Example Corp TLS Inspection CA on 198.51.100.10:443 validates on "
             "this device");
    expect_c("intercepted", "tls.mitm", "a CA this device was made to trust");
    /* the interceptor sent its leaf alone too: its CA is still in the chain the device
     * validated, which is what the probe summarises */
    probe_chain(e, HEX("c"), HEX("x"), NULL);
    expect_c("intercepted", "tls.mitm", NULL);
    /* the blind spot before: a control reporting the chain as served (leaf alone, no CA key)
     * leaves nothing to compare, and the rule stays silent rather than guessing */
    ctrl_chain(ce, true, HEX("a"), NULL, NULL);
    expect_c("accessible", "", NULL);
    /* served chains (leaf + intermediate) as before: a shared intermediate is not
     * interception, a foreign one is */
    probe_chain(e, HEX("b"), HEX("9"), NULL);
    ctrl_chain(ce, true, HEX("a"), HEX("9"), HEX("r"));
    expect_c("accessible", "", NULL);
    probe_chain(e, HEX("c"), HEX("x"), HEX("y"));
    expect_c("intercepted", "tls.mitm", "on 198.51.100.10:443: leaf key aaaa");
}

/* C6 */
static void
test_ctrl_dns_inconsistent(void **state)
{
    (void)state;
    /* the answer leads to a server that serves another page */
    base(&g_o, false);
    ctrl_base();
    dns_answer("203.0.113.80");
    add_ep(&g_o, "203.0.113.80:80", 0);
    page("203.0.113.80:80", 154, "Access denied by the operator");
    g_o.n_headers = 0;
    expect_c("blocked", "dns.inconsistent",
             "the system resolver answered www.example.org with 203.0.113.80, which the control "
             "does not confirm (it resolves the name to 198.51.100.10), and it served a page");
    /* ... or nowhere */
    g_o.ep[0].tcp_err = VG_ECONNREFUSED;
    g_o.http_failure = VG_ECONNREFUSED;
    expect_c("blocked", "dns.inconsistent", "connecting to it failed (connection_refused)");
    /* a transparent proxy serving the right page: accessible, the difference noted */
    g_o.ep[0].tcp_err = 0;
    g_o.http_failure = 0;
    page("203.0.113.80:80", 1256, "Example Domain");
    expect_c("accessible", "", "203.0.113.80 is not among the control's");
    /* over https with a valid certificate from that address (OONI scenario 15) */
    base(&g_o, true);
    dns_answer("203.0.113.80");
    add_tls_ep(&g_o, "203.0.113.80:443", 0, 0);
    page("203.0.113.80:443", 1256, "Example Domain");
    expect_c("accessible", "", NULL);
    /* a certificate the control validated on that address makes the answer consistent: a
     * failure there is judged by the connection rules */
    base(&g_o, false);
    dns_answer("203.0.113.80");
    add_ep(&g_o, "203.0.113.80:80", VG_ETIMEDOUT);
    g_o.http_attempted = true;
    g_o.http_failure = VG_ETIMEDOUT;
    ctrl_ep("203.0.113.80:80", NULL, false, NULL);
    ctrl_ep("203.0.113.80:443", NULL, true, NULL);
    expect_c("blocked", "tcp.timeout", "connected to 203.0.113.80:80");
}

/* C8, TCP */
static void
test_ctrl_tcp(void **state)
{
    (void)state;
    base(&g_o, true);
    ctrl_base();
    dns_answer("198.51.100.10");
    dns_answer("198.51.100.11");
    add_ep(&g_o, "198.51.100.10:443", VG_ECONNREFUSED);
    add_ep(&g_o, "198.51.100.11:443", VG_ETIMEDOUT);
    g_o.http_attempted = true;
    g_o.http_failure = VG_ETIMEDOUT;
    ctrl_ep("198.51.100.10:443", "connection_refused_error", false, NULL);
    ctrl_ep("198.51.100.11:443", NULL, true, NULL);
    expect_c("blocked", "tcp.timeout", "while the control connected to 198.51.100.11:443");
    g_o.ep[1].tcp_err = VG_ECONNRESET;
    expect_c("blocked", "tcp.reset", NULL);
    g_o.ep[1].tcp_err = VG_ECONNREFUSED;
    expect_c("blocked", "tcp.refused", NULL);
    /* the control could connect to neither */
    snprintf(g_c.ep[1].tcp_failure, sizeof(g_c.ep[1].tcp_failure), "generic_timeout_error");
    g_c.ep[1].tcp_ok = false;
    g_c.ep[1].tls_present = false;
    expect_c("down", "tcp.refused", "failed too (connection_refused_error)");
    /* it tried none of these, but connected to its own address */
    g_c.n_ep = 0;
    ctrl_ep("198.51.100.12:443", NULL, true, NULL);
    expect_c("blocked", "tcp.refused", "connected to 198.51.100.12:443");
    /* no endpoint data and no page from the control */
    g_c.n_ep = 0;
    g_c.status = -1;
    g_c.body_length = -1;
    expect_c("unknown", "tcp.refused", "the control reported nothing");
}

/* C8, TLS */
static void
test_ctrl_tls(void **state)
{
    (void)state;
    base(&g_o, true);
    ctrl_base();
    dns_answer("198.51.100.10");
    add_tls_ep(&g_o, "198.51.100.10:443", VG_ECONNRESET, 0);
    g_o.http_attempted = true;
    g_o.http_failure = VG_ECONNRESET;
    ctrl_ep("198.51.100.10:443", NULL, true, NULL);
    expect_c("blocked", "tls.reset", "while the control's handshake on 198.51.100.10:443");
    g_o.ep[0].tls_err = VG_ETIMEDOUT;
    expect_c("blocked", "tls.timeout", NULL);
    g_o.ep[0].tls_err = VG_EEOF;
    expect_c("blocked", "tls.eof", NULL);
    /* a TLS alert is not proof, even when the control succeeded */
    g_o.ep[0].tls_err = VG_ETLS_HANDSHAKE;
    expect_c("unknown", "tls.failed", "although the control's succeeded");
    /* the control's handshake failed too */
    g_o.ep[0].tls_err = VG_ECONNRESET;
    g_c.ep[0].tls_ok = false;
    snprintf(g_c.ep[0].tls_failure, sizeof(g_c.ep[0].tls_failure), "connection_reset");
    expect_c("down", "tls.reset", "failed too (connection_reset)");
    /* none of the probe's endpoints measured by the control: any of its own counts */
    snprintf(g_c.ep[0].addr, sizeof(g_c.ep[0].addr), "198.51.100.12:443");
    g_c.ep[0].tls_ok = true;
    expect_c("blocked", "tls.reset", "on 198.51.100.12:443");
    /* no handshake data: the control's fetch of the https page */
    g_c.n_ep = 0;
    expect_c("blocked", "tls.reset", "for the page");
    ctrl_http_fail("connection_reset");
    expect_c("down", "tls.reset", NULL);
    g_c.http_failure[0] = '\0';
    expect_c("unknown", "tls.reset", "reported no handshake");
}

/* C9 to C11 */
static void
test_ctrl_http(void **state)
{
    (void)state;
    base(&g_o, false);
    ctrl_base();
    dns_answer("198.51.100.10");
    add_ep(&g_o, "198.51.100.10:80", 0);
    ctrl_ep("198.51.100.10:80", NULL, false, NULL);
    snprintf(g_o.http_addr, sizeof(g_o.http_addr), "198.51.100.10:80");
    g_o.http_attempted = true;
    g_o.http_failure = VG_ECONNRESET;
    expect_c("blocked", "http.reset", "while the control fetched the page (status 200");
    g_o.http_failure = VG_ETIMEDOUT;
    expect_c("blocked", "http.timeout", NULL);
    g_o.http_failure = VG_EEOF;
    expect_c("blocked", "http.eof", NULL);
    g_o.http_failure = VG_EPROTO;
    expect_c("unknown", "http.error", NULL);
    g_o.http_failure = VG_ECONNRESET;
    ctrl_http_fail("connection_reset");
    expect_c("down", "http.reset", "failed with connection_reset");
    g_c.http_failure[0] = '\0';
    expect_c("unknown", "http.reset", "gave no result");
    /* a page */
    ctrl_base();
    ctrl_ep("198.51.100.10:80", NULL, false, NULL);
    g_o.http_failure = 0;
    page("198.51.100.10:80", 1256, "Example Domain");
    expect_c("accessible", "", "matches the control's page (status 200, 1256 bytes");
    g_o.blockpage = "ir.iframe.10.10.34.34";
    expect_c("blocked", "http.blockpage", "while the control's page is status 200");
    g_o.blockpage = NULL;
    page("198.51.100.10:80", 154, "Blocked by order of the court");
    g_o.n_headers = 0;
    expect_c("blocked", "http.diff", "differs from the control's");
    /* the same page over https: the genuine server answered */
    g_o.https = true;
    g_o.ep[0].tls_attempted = true;
    expect_c("accessible", "", "over a valid certificate");
    /* a page, but the control got none */
    g_o.https = false;
    g_o.ep[0].tls_attempted = false;
    ctrl_http_fail("generic_timeout_error");
    expect_c("unknown", "", "nothing to compare it with");
    /* no request at all */
    g_o.http_attempted = false;
    expect_c("unknown", "", "no request could be made");
}

/* ---- vg_verdict_endpoint: what one address showed by itself (x_endpoints) ---- */

static void
expect_ep(const struct vg_obs_endpoint *e, enum vg_verdict verdict, int failure)
{
    int got = -1;

    assert_string_equal(vg_verdict_name(vg_verdict_endpoint(e, &got)), vg_verdict_name(verdict));
    assert_int_equal(got, failure);
}

static void
test_endpoint_connect_failure_is_unknown(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    base(&g_o, true);
    expect_ep(add_ep(&g_o, "198.51.100.10:443", VG_ECONNREFUSED), VG_VERDICT_UNKNOWN,
              VG_ECONNREFUSED);
    /* a connect timeout or reset is not the TLS signature: still unknown */
    expect_ep(add_ep(&g_o, "198.51.100.11:443", VG_ETIMEDOUT), VG_VERDICT_UNKNOWN, VG_ETIMEDOUT);
    expect_ep(add_ep(&g_o, "198.51.100.12:443", VG_ECONNRESET), VG_VERDICT_UNKNOWN, VG_ECONNRESET);
    /* the connect failure decides whatever the TLS fields hold */
    e = add_tls_ep(&g_o, "198.51.100.13:443", VG_ECONNRESET, VG_ETLS_BAD_CERT);
    e->tcp_err = VG_EHOSTUNREACH;
    expect_ep(e, VG_VERDICT_UNKNOWN, VG_EHOSTUNREACH);
}

static void
test_endpoint_handshake_cut_is_blocked(void **state)
{
    (void)state;
    base(&g_o, true);
    expect_ep(add_tls_ep(&g_o, "198.51.100.10:443", VG_ECONNRESET, 0), VG_VERDICT_BLOCKED,
              VG_ECONNRESET);
    expect_ep(add_tls_ep(&g_o, "198.51.100.11:443", VG_ETIMEDOUT, 0), VG_VERDICT_BLOCKED,
              VG_ETIMEDOUT);
    expect_ep(add_tls_ep(&g_o, "198.51.100.12:443", VG_EEOF, 0), VG_VERDICT_BLOCKED, VG_EEOF);
}

static void
test_endpoint_other_handshake_failure_is_unknown(void **state)
{
    (void)state;
    base(&g_o, true);
    expect_ep(add_tls_ep(&g_o, "198.51.100.10:443", VG_ETLS_HANDSHAKE, 0), VG_VERDICT_UNKNOWN,
              VG_ETLS_HANDSHAKE);
    expect_ep(add_tls_ep(&g_o, "198.51.100.11:443", VG_EINTERNAL, 0), VG_VERDICT_UNKNOWN,
              VG_EINTERNAL);
    expect_ep(add_tls_ep(&g_o, "198.51.100.12:443", VG_ECONNABORTED, 0), VG_VERDICT_UNKNOWN,
              VG_ECONNABORTED);
}

static void
test_endpoint_invalid_certificate_is_intercepted(void **state)
{
    (void)state;
    base(&g_o, true);
    expect_ep(add_tls_ep(&g_o, "198.51.100.10:443", 0, VG_ETLS_UNKNOWN_CA), VG_VERDICT_INTERCEPTED,
              VG_ETLS_UNKNOWN_CA);
    expect_ep(add_tls_ep(&g_o, "198.51.100.11:443", 0, VG_ETLS_HOSTNAME), VG_VERDICT_INTERCEPTED,
              VG_ETLS_HOSTNAME);
    expect_ep(add_tls_ep(&g_o, "198.51.100.12:443", 0, VG_ETLS_BAD_CERT), VG_VERDICT_INTERCEPTED,
              VG_ETLS_BAD_CERT);
}

static void
test_endpoint_valid_or_without_tls_is_accessible(void **state)
{
    struct vg_obs_endpoint *e;

    (void)state;
    base(&g_o, true);
    expect_ep(add_tls_ep(&g_o, "198.51.100.10:443", 0, 0), VG_VERDICT_ACCESSIBLE, 0);
    /* http://: connected, no handshake attempted */
    expect_ep(add_ep(&g_o, "198.51.100.11:80", 0), VG_VERDICT_ACCESSIBLE, 0);
    /* TLS fields without an attempt are not read */
    e = add_ep(&g_o, "198.51.100.12:80", 0);
    e->tls_err = VG_ECONNRESET;
    e->verify_err = VG_ETLS_UNKNOWN_CA;
    expect_ep(e, VG_VERDICT_ACCESSIBLE, 0);
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
        cmocka_unit_test_teardown(test_ooni_keys_null_without_control, release_obs),
        cmocka_unit_test_teardown(test_control_unreachable, release_obs),
        cmocka_unit_test_teardown(test_ctrl_bogon, release_obs),
        cmocka_unit_test_teardown(test_ctrl_injected, release_obs),
        cmocka_unit_test_teardown(test_ctrl_dns_failure, release_obs),
        cmocka_unit_test_teardown(test_ctrl_mitm_invalid_certificate, release_obs),
        cmocka_unit_test_teardown(test_ctrl_mitm_trusted_ca, release_obs),
        cmocka_unit_test_teardown(test_ctrl_mitm_trusted_ca_trap, release_obs),
        cmocka_unit_test_teardown(test_ctrl_mitm_trusted_ca_leaf_alone, release_obs),
        cmocka_unit_test_teardown(test_ctrl_dns_inconsistent, release_obs),
        cmocka_unit_test_teardown(test_ctrl_tcp, release_obs),
        cmocka_unit_test_teardown(test_ctrl_tls, release_obs),
        cmocka_unit_test_teardown(test_ctrl_http, release_obs),
        cmocka_unit_test_teardown(test_endpoint_connect_failure_is_unknown, release_obs),
        cmocka_unit_test_teardown(test_endpoint_handshake_cut_is_blocked, release_obs),
        cmocka_unit_test_teardown(test_endpoint_other_handshake_failure_is_unknown, release_obs),
        cmocka_unit_test_teardown(test_endpoint_invalid_certificate_is_intercepted, release_obs),
        cmocka_unit_test_teardown(test_endpoint_valid_or_without_tls_is_accessible, release_obs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
