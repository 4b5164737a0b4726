/* SPDX-License-Identifier: MIT */
/*
 * test_analyze.c - vg_analyze (lib/meas/analyze.c, record_obs*.c): every verdict rule on small
 * OONI-shaped measurements (df-000, ts-017: queries, tcp_connect, tls_handshakes with
 * peer_certificates, requests, OONI's THResponse as control), the real OONI measurements of
 * tests/data/ooni against expected.tsv, the line written back (OONI's bytes untouched, the fallback
 * for a pretty-printed document, empty test_keys, old analysis keys replaced), hostile input, and
 * memory that stays flat over many analyses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/limits.h"
#include "util/str.h"
#include "vgtest.h"
#include "vigie/vigie.h"

static struct vg_analyzer *g_a;
static struct vg_analysis g_out;
static char g_err[256];
static char g_json[256 * 1024];
static char *g_cert; /* a self-signed certificate (tests/data/certs), base64 DER */

/* ---- building OONI-shaped measurements ------------------------------------------------------ */

#define START "2024-05-01 10:00:00"
#define ANS(ip)           \
    "{\"answer_type\":\"" \
    "A"                   \
    "\",\"ipv4\":\"" ip "\",\"asn\":0,\"as_org_name\":\"\",\"ttl\":null}"
#define QSYS(host, answers, failure, depth)                                                  \
    "{\"answers\":[" answers "],\"engine\":\"getaddrinfo\",\"failure\":" failure             \
    ",\"hostname\":\"" host "\",\"query_type\":\"ANY\",\"resolver_address\":\"\",\"tags\":[" \
    "\"classic\",\"depth=" #depth "\"]}"
#define QUDP(host, answers, t, ttl)                                                                \
    "{\"answers\":[" answers "],\"engine\":\"udp\",\"failure\":null,\"hostname\":\"" host          \
    "\",\"query_type\":\"A\",\"rcode\":0,\"resolver_address\":\"8.8.8.8:53\",\"t0\":0.0,\"t\":" #t \
    ",\"tags\":[\"depth=0\"],\"x_ip_ttl\":" #ttl "}"
#define TCP(ip, port, ok, failure, depth)                                                      \
    "{\"ip\":\"" ip "\",\"port\":" #port ",\"status\":{\"blocked\":false,\"failure\":" failure \
    ",\"success\":" #ok "},\"tags\":[\"classic\",\"depth=" #depth "\"]}"
#define TLS(addr, sni, failure, certs, depth)                                                  \
    "{\"network\":\"tcp\",\"address\":\"" addr "\",\"cipher_suite\":\"\",\"failure\":" failure \
    ",\"negotiated_protocol\":\"\",\"no_tls_verify\":false,\"peer_certificates\":[" certs      \
    "],\"server_name\":\"" sni "\",\"tags\":[\"depth=" #depth "\"],\"tls_version\":\"\"}"
#define REQ(url, addr, failure, resp, depth)                                             \
    "{\"network\":\"tcp\",\"address\":\"" addr "\",\"alpn\":\"\",\"failure\":" failure   \
    ",\"request\":{\"url\":\"" url "\",\"method\":\"GET\",\"headers\":{},\"body\":\"\"," \
    "\"body_is_truncated\":false},\"response\":" resp ",\"tags\":[\"depth=" #depth "\"]}"
#define RESP(code, headers, body) \
    "{\"code\":" #code ",\"headers\":{" headers "},\"body\":" body ",\"body_is_truncated\":false}"
#define NORESP "{\"code\":0,\"headers\":{},\"body\":null,\"body_is_truncated\":false}"
#define PAGE   "\"<html><title>Example Domain</title><body>hello world, a real page</body></html>\""
#define CTRL(dns, tcp, tls, http)                                                    \
    "\"control\":{\"dns\":" dns ",\"tcp_connect\":{" tcp "},\"tls_handshake\":{" tls \
    "},\"http_request\":" http ",\"ip_info\":{}}"
#define CDNS(addrs)  "{\"failure\":null,\"addrs\":[" addrs "]}"
#define CDNSF(f)     "{\"failure\":\"" f "\",\"addrs\":[]}"
#define CTCP(ep, ok) "\"" ep "\":{\"status\":" #ok ",\"failure\":null}"
#define CTCPF(ep, f) "\"" ep "\":{\"status\":false,\"failure\":\"" f "\"}"
#define CTLS(ep, ok, f) \
    "\"" ep "\":{\"server_name\":\"www.example.com\",\"status\":" #ok ",\"failure\":" f "}"
#define CHTTP                                                                         \
    "{\"body_length\":77,\"failure\":null,\"title\":\"Example Domain\",\"headers\":{" \
    "\"Content-Type\":\"text/html\",\"X-Site\":\"1\"},\"status_code\":200}"
#define CHTTPF(f) \
    "{\"body_length\":-1,\"failure\":\"" f "\",\"title\":\"\",\"headers\":{},\"status_code\":-1}"
#define CHTTP_LEGACY                                                                 \
    "{\"body_length\":null,\"failure\":\"connection_refused_error\",\"headers\":{}," \
    "\"status_code\":null}"

#define EX    "93.184.216.34"
#define EX80  EX ":80"
#define EX443 EX ":443"

/* A measurement of input (OONI's envelope) with test_keys members tk. */
static const char *
meas(const char *test_name, const char *input, const char *tk)
{
    snprintf(g_json, sizeof(g_json),
             "{\"annotations\":{},\"data_format_version\":\"0.2.0\",\"input\":%s,"
             "\"measurement_start_time\":\"" START "\",\"probe_asn\":\"AS30722\","
             "\"probe_cc\":\"IT\",\"report_id\":\"r\",\"software_name\":\"ooniprobe\","
             "\"software_version\":\"3.22.0\",\"test_keys\":{%s},\"test_name\":\"%s\","
             "\"test_runtime\":1.5,\"test_start_time\":\"" START "\",\"test_version\":\"0.5.28\"}",
             input, tk, test_name);
    return g_json;
}

static int
analyze(const char *json, unsigned flags)
{
    return vg_analyze(g_a, json, strlen(json), flags, &g_out, g_err, sizeof(g_err));
}

/* ---- one case per rule ------------------------------------------------------------------------
 */

struct rule_case {
    const char *name;
    const char *input; /* JSON: "\"http://...\"" */
    const char *tk;    /* test_keys members; "@CERT@" becomes g_cert's base64 */
    const char *verdict;
    const char *cause; /* "" for none */
};

#define W(u) "\"" u "\""

static const struct rule_case g_rules[] = {
    /* probe-only (no control) */
    {"1a dns.bogon", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS("10.10.34.35"), "null",
                          0) "],\"tcp_connect\":[" TCP("10.10.34.35", 80, false,
                                                       "\"generic_timeout_error\"",
                                                       0) "],\"requests\":[]",
     "blocked", "dns.bogon"},
    {"1b dns.injected", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "," QUDP(
         "www.example.com", ANS("1.2.3.4"), 0.01,
         60) "],\"x_dns_duplicate_responses\":[" QUDP("www.example.com", ANS(EX), 0.05,
                                                      52) "],"
                                                          "\"requests\":[]",
     "blocked", "dns.injected"},
    {"1d dns unknown", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", "", "\"dns_nxdomain_error\"", 0) "],\"requests\":[]",
     "unknown", "dns.nxdomain"},
    {"2 tls.mitm (self-signed)", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, true, "null",
         0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com", "\"ssl_unknown_authority\"",
                                         "{\"format\":\"base64\",\"data\":\"@CERT@\"}",
                                         0) "],\"requests\":[" REQ("https://www.example.com/",
                                                                   EX443,
                                                                   "\"ssl_unknown_authority\"",
                                                                   NORESP, 0) "]",
     "intercepted", "tls.mitm"},
    {"3a tcp unknown", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, false, "\"generic_timeout_error\"", 0) "],\"requests\":[]",
     "unknown", "tcp.timeout"},
    {"3b tls.reset", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, true, "null", 0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com",
                                                                "\"connection_reset\"", "",
                                                                0) "],\"requests\":[]",
     "blocked", "tls.reset"},
    {"3c tls.failed", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, true, "null", 0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com",
                                                                "\"ssl_failed_handshake\"", "",
                                                                0) "],\"requests\":[]",
     "unknown", "tls.failed"},
    {"4 http.reset", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null", 0) "],\"requests\":[" REQ("http://www.example.com/", EX80,
                                                         "\"connection_reset\"", NORESP, 0) "]",
     "unknown", "http.reset"},
    {"5 http.blockpage", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null",
         0) "],\"requests\":[" REQ("http://www.example.com/", EX80, "null",
                                   RESP(200, "",
                                        "\"<iframe src=\\\"http://10.10.34.34?type=Invalid\\\">\""),
                                   0) "]",
     "blocked", "http.blockpage"},
    {"6 https accessible", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, true, "null",
         0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com", "null", "",
                                         0) "],\"requests\":[" REQ("https://www.example.com/",
                                                                   EX443, "null",
                                                                   RESP(200, "", PAGE), 0) "]",
     "accessible", ""},
    {"7 http unknown", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null", 0) "],\"requests\":[" REQ("http://www.example.com/", EX80, "null",
                                                         RESP(200, "", PAGE), 0) "]",
     "unknown", ""},
    {"control_failure downgrade", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null", 0) "],\"requests\":[" REQ("http://www.example.com/", EX80,
                                                         "\"connection_reset\"", NORESP,
                                                         0) "],\"control\":{},\"control_failure\":"
                                                            "\"connection_reset\"",
     "unknown", "http.reset"},
    /* with a control (OONI's THResponse) */
    {"C1 dns.bogon", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS("127.0.0.1"), "null", 0) "],\"requests\":[]," CTRL(
         CDNS("\"" EX "\""), CTCP(EX80, true), "", CHTTP),
     "blocked", "dns.bogon"},
    {"C3 dns.nxdomain blocked", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", "", "\"dns_nxdomain_error\"",
                          0) "],\"requests\":[]," CTRL(CDNS("\"" EX "\""), CTCP(EX80, true), "",
                                                       CHTTP),
     "blocked", "dns.nxdomain"},
    {"C3 dns.nxdomain down", W("http://www.example.xyz/"),
     "\"queries\":[" QSYS("www.example.xyz", "", "\"dns_nxdomain_error\"",
                          0) "],\"requests\":[]," CTRL(CDNSF("dns_name_error"), "", "",
                                                       CHTTPF("dns_lookup_error")),
     "down", "dns.nxdomain"},
    {"C4 tls.mitm", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, true, "null",
         0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com", "\"ssl_unknown_authority\"",
                                         "{\"format\":\"base64\",\"data\":\"@CERT@\"}",
                                         0) "],\"requests\":[]," CTRL(CDNS("\"" EX "\""),
                                                                      CTCP(EX443, true),
                                                                      CTLS(EX443, true, "null"),
                                                                      CHTTP),
     "intercepted", "tls.mitm"},
    {"C6 dns.inconsistent", W("http://www.example.com/"),
     "\"queries\":[" QSYS(
         "www.example.com", ANS("83.224.65.41"), "null",
         0) "],\"tcp_connect\":[" TCP("83.224.65.41", 80, false, "\"connection_refused\"",
                                      0) "],\"requests\":[]," CTRL(CDNS("\"" EX "\""),
                                                                   CTCP(EX80, true), "", CHTTP),
     "blocked", "dns.inconsistent"},
    {"C7 down tls.unknown_authority", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, true, "null",
         0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com", "\"ssl_unknown_authority\"", "",
                                         0) "],\"requests\":[]," CTRL(CDNS("\"" EX "\""),
                                                                      CTCP(EX443, true),
                                                                      CTLS(EX443, false,
                                                                           "\"ssl_unknown_"
                                                                           "authority\""),
                                                                      CHTTPF("unknown_error")),
     "down", "tls.unknown_authority"},
    {"C8 tcp blocked", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, false, "\"generic_timeout_error\"",
         0) "],\"requests\":[]," CTRL(CDNS("\"" EX "\""), CTCP(EX443, true),
                                      CTLS(EX443, true, "null"), CHTTP),
     "blocked", "tcp.timeout"},
    {"C8 tcp down (legacy control)", W("http://www.example.com:444/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 444, false, "\"connection_refused\"",
         0) "],\"requests\":[]," CTRL(CDNS("\"" EX "\""),
                                      CTCPF(EX ":444", "connection_refused_error"), "",
                                      CHTTP_LEGACY),
     "down", "tcp.refused"},
    {"C8 tls.reset blocked", W("https://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 443, true, "null",
         0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com", "\"connection_reset\"", "",
                                         0) "],\"requests\":[]," CTRL(CDNS("\"" EX "\""),
                                                                      CTCP(EX443, true),
                                                                      CTLS(EX443, true, "null"),
                                                                      CHTTP),
     "blocked", "tls.reset"},
    {"C9 http.reset blocked", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null",
         0) "],\"requests\":[" REQ("http://www.example.com/", EX80, "\"connection_reset\"", NORESP,
                                   0) "]," CTRL(CDNS("\"" EX "\""), CTCP(EX80, true), "", CHTTP),
     "blocked", "http.reset"},
    {"C10 http.blockpage", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null",
         0) "],\"requests\":[" REQ("http://www.example.com/", EX80, "null",
                                   RESP(200, "", "\"<p>aduankonten@mail.kominfo.go.id</p>\""),
                                   0) "]," CTRL(CDNS("\"" EX "\""), CTCP(EX80, true), "", CHTTP),
     "blocked", "http.blockpage"},
    {"C11 http.diff", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null", 0) "],\"requests\":[" REQ("http://www.example.com/", EX80, "null",
                                                         RESP(200, "\"Server\":\"x\"",
                                                              "\"<title>Access Denied</title>\""),
                                                         0) "]," CTRL(CDNS("\"" EX "\""),
                                                                      CTCP(EX80, true), "", CHTTP),
     "blocked", "http.diff"},
    {"C11 accessible", W("http://www.example.com/"),
     "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
         EX, 80, true, "null", 0) "],\"requests\":[" REQ("http://www.example.com/", EX80, "null",
                                                         RESP(200, "\"X-Site\":\"1\"", PAGE),
                                                         0) "]," CTRL(CDNS("\"" EX "\""),
                                                                      CTCP(EX80, true), "", CHTTP),
     "accessible", ""},
    {"redirect: the final hop sent no request", W("http://bit.ly/x"),
     "\"queries\":[" QSYS("bit.ly", ANS("67.199.248.11"), "null", 0) "," QSYS(
         "www.example.com", ANS(EX), "null",
         1) "],\"tcp_connect\":[" TCP("67.199.248.11", 80, true, "null",
                                      0) "," TCP(EX, 443, false, "\"connection_refused\"",
                                                 1) "," TCP(EX, 80, false, "\"connection_refused\"",
                                                            1) "],\"requests\":[" REQ("http://"
                                                                                      "bit.ly/x",
                                                                                      "67.199.248."
                                                                                      "11:80",
                                                                                      "null",
                                                                                      RESP(
                                                                                          302,
                                                                                          "\"Locati"
                                                                                          "on\":"
                                                                                          "\"http:/"
                                                                                          "/www."
                                                                                          "example."
                                                                                          "com/\"",
                                                                                          "\"\""),
                                                                                      0) "]," CTRL(CDNS("\"67.199.248.11\""),
                                                                                                   CTCP(
                                                                                                       "67.199.248.11:80",
                                                                                                       true),
                                                                                                   "",
                                                                                                   CHTTP),
     "blocked", "tcp.refused"},
    /* OONI's "input" as a list, probe_cc null (the envelope only) */
    {"input as a list", "[\"http://www.example.com/\"]",
     "\"queries\":[" QSYS("www.example.com", ANS("10.0.0.1"), "null", 0) "],\"requests\":[]",
     "blocked", "dns.bogon"},
};

static char *
with_cert(const char *tk)
{
    const char *at = strstr(tk, "@CERT@");
    size_t n = strlen(tk) + strlen(g_cert) + 1;
    char *s = malloc(n);

    assert_non_null(s);
    if (at == NULL) {
        snprintf(s, n, "%s", tk);
    } else {
        snprintf(s, n, "%.*s%s%s", (int)(at - tk), tk, g_cert, at + 6);
    }
    return s;
}

static void
test_rule(void **state)
{
    const struct rule_case *c = *state;
    char *tk = with_cert(c->tk);
    int rc = analyze(meas("web_connectivity", c->input, tk), 0);

    free(tk);
    if (rc != 0) {
        fail_msg("%s: %s", c->name, g_err);
    }
    assert_true(g_out.analysed);
    if (strcmp(vg_verdict_name(g_out.verdict), c->verdict) != 0 ||
        strcmp(g_out.cause, c->cause) != 0) {
        fail_msg("%s: got %s %s (%s), want %s %s", c->name, vg_verdict_name(g_out.verdict),
                 g_out.cause, g_out.evidence, c->verdict, c->cause);
    }
    assert_true(g_out.evidence[0] != '\0');
    if (getenv("VG_TEST_VERBOSE") != NULL) {
        print_message("%s: %s\n", c->name, g_out.evidence);
    }
}

/* ---- vigie's own tests: tls:// and dns:// -----------------------------------------------------
 */

/* A tls:// measurement of mail.example.com:993 whose handshake ended with failure. */
static const char *
tls_target(const char *failure)
{
    static char tk[2048];

    snprintf(tk, sizeof(tk),
             "\"queries\":[" QSYS("mail.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
                 EX, 993, true, "null", 0) "],\"tls_handshakes\":[%s]",
             failure);
    return meas("x_tls_endpoint", W("tls://mail.example.com:993"), tk);
}

static void
test_endpoint_targets(void **state)
{
    (void)state;
    assert_int_equal(analyze(tls_target(TLS(EX ":993", "mail.example.com", "null", "", 0)), 0), 0);
    assert_true(g_out.analysed);
    assert_string_equal(vg_verdict_name(g_out.verdict), "accessible");
    assert_int_equal(
        analyze(tls_target(TLS(EX ":993", "mail.example.com", "\"connection_reset\"", "", 0)), 0),
        0);
    assert_string_equal(vg_verdict_name(g_out.verdict), "blocked");
    assert_string_equal(g_out.cause, "tls.reset");
    assert_int_equal(analyze(meas("x_dns_lookup", W("dns://www.example.com"),
                                  "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "]"),
                             0),
                     0);
    assert_string_equal(vg_verdict_name(g_out.verdict), "accessible");
    assert_int_equal(
        analyze(meas("x_dns_lookup", W("dns://www.example.com"),
                     "\"queries\":[" QSYS("www.example.com", ANS("127.0.0.2"), "null", 0) "]"),
                0),
        0);
    assert_string_equal(g_out.cause, "dns.bogon");
    /* a test vigie has no rules for: stored as is */
    assert_int_equal(analyze(meas("ndt", "null", "\"download\":1"), 0), 0);
    assert_false(g_out.analysed);
    assert_null(g_out.line);
    assert_string_equal(g_out.test_name, "ndt");
}

/* A flood (lab scenario hostile-dns-flood): the forged reply, VG_DNS_MAX_REPLIES copies of it, then
 * the genuine one, as the probe records them (lib/net/udpdns.c keeps a new answer past its budget).
 * The reader keeps the genuine reply too, so the injection is seen with and without a control. */
static void
test_dns_flood(void **state)
{
    static char tk[64 * 1024];
    size_t off;

    (void)state;
    for (int ctrl = 0; ctrl < 2; ctrl++) {
        off = (size_t)snprintf(tk, sizeof(tk),
                               "\"queries\":[" QSYS("www.example.com", ANS("1.2.3.4"), "null",
                                                    0) "," QUDP("www.example.com", ANS("1.2.3.4"),
                                                                0.001, 143) "],"
                                                                            "\"x_dns_duplicate_"
                                                                            "responses\":[");
        for (int i = 0; i < VG_DNS_MAX_REPLIES; i++) {
            off += (size_t)snprintf(tk + off, sizeof(tk) - off,
                                    QUDP("www.example.com", ANS("1.2.3.4"), 0.002, 93) ",");
        }
        off += (size_t)snprintf(
            tk + off, sizeof(tk) - off,
            QUDP("www.example.com", ANS(EX), 0.2, 63) "],\"tcp_connect\":[" TCP(
                "1.2.3.4", 443, false, "\"generic_timeout_error\"",
                0) "],\"requests\":[" REQ("https://www.example.com/", "1.2.3.4:443",
                                          "\"generic_timeout_error\"", NORESP, 0) "]%s",
            ctrl ? "," CTRL(CDNS("\"" EX "\""), CTCP(EX443, true), CTLS(EX443, true, "null"), CHTTP)
                 : "");
        assert_true(off < sizeof(tk));
        assert_int_equal(analyze(meas("web_connectivity", W("https://www.example.com/"), tk), 0),
                         0);
        if (strcmp(g_out.cause, "dns.injected") != 0) {
            fail_msg("control %d: got %s %s (%s)", ctrl, vg_verdict_name(g_out.verdict),
                     g_out.cause, g_out.evidence);
        }
        assert_string_equal(vg_verdict_name(g_out.verdict), "blocked");
        assert_non_null(strstr(g_out.evidence, "93.184.216.34 (IP TTL 63, after 200 ms)"));
        if (!ctrl) {
            assert_non_null(strstr(g_out.evidence, "34 replies to the A query"));
        }
    }
    /* OONI's probes record no IP TTL: the evidence leaves it out */
    assert_int_equal(
        analyze(meas("web_connectivity", W("https://www.example.com/"),
                     "\"queries\":[" QUDP(
                         "www.example.com", ANS("1.2.3.4"), 0.01,
                         null) "],\"x_dns_duplicate_responses\":[" QUDP("www.example.com", ANS(EX),
                                                                        0.05,
                                                                        null) "],\"requests\":[]"),
                0),
        0);
    assert_string_equal(g_out.cause, "dns.injected");
    assert_non_null(
        strstr(g_out.evidence, ": 1.2.3.4 (after 10 ms), then 93.184.216.34 (after 50 ms)"));
}

/* A handshake whose server sent its leaf alone, measured by vigie (x_certificates: the leaf as
 * served; x_verified_chain: the chain the probe validated, up to its trust anchor), against a
 * control that validated another leaf under root "c". The probe compares its validated chain
 * (probe_ep.c), and so does the analysis: under root "c", a key in common (accessible); under "d",
 * a CA only this device trusts, sending its leaf alone (intercepted). The chain as served has no
 * CA key to compare: without x_verified_chain the trusted-CA rule cannot say. */
#define HEXK(c)                                                                                   \
    c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
        c c c c c c c c c c c c c c c c c
#define XCERT(spki, self)                                                                        \
    "{\"subject\":\"CN=www.example.com\",\"issuer\":\"CN=Lab Root\",\"not_before\":\"2024-01-01" \
    "T00:00:00Z\",\"not_after\":\"2030-01-01T00:00:00Z\",\"sha256\":\"" HEXK(                    \
        spki) "\",\"spki_sha256\":\"" HEXK(spki) "\",\"self_signed\":" self "}"

static void
test_verified_chain(void **state)
{
    static const struct {
        const char *verified, *want;
    } cases[] = {
        {"[" XCERT("a", "false") "," XCERT("c", "true") "]", "accessible"},
        {"[" XCERT("a", "false") "," XCERT("d", "true") "]", "intercepted"},
        {"[]", "accessible"},
    };
    static char tk[8192];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(
            tk, sizeof(tk),
            "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
                EX, 443, true, "null",
                0) "],\"tls_handshakes\":[{\"network\":\"tcp\",\"address\":\"" EX443
                   "\",\"failure\":null,\"peer_certificates\":[],\"server_name\":"
                   "\"www.example.com\",\"tags\":[\"depth=0\"],\"x_certificates\":[" XCERT(
                       "a", "false") "],\"x_handshake_failure\":null,\"x_verified_chain\":%s}],"
                                     "\"requests\":[" REQ(
                                         "https://www.example.com/", EX443, "null",
                                         RESP(200, "", PAGE),
                                         0) "]," CTRL(CDNS("\"" EX "\""), CTCP(EX443, true),
                                                      "\"" EX443 "\":{\"status\":true,"
                                                      "\"x_valid\":true,"
                                                      "\"x_chain\":[" XCERT("b", "false") "," XCERT(
                                                          "c", "true") "]}",
                                                      CHTTP),
            cases[i].verified);
        assert_int_equal(analyze(meas("web_connectivity", W("https://www.example.com/"), tk), 0),
                         0);
        if (strcmp(vg_verdict_name(g_out.verdict), cases[i].want) != 0) {
            fail_msg("x_verified_chain %s: got %s %s (%s)", cases[i].verified,
                     vg_verdict_name(g_out.verdict), g_out.cause, g_out.evidence);
        }
    }
}

/* ---- the line written back --------------------------------------------------------------------
 */

static void
test_line_splice(void **state)
{
    const char *j = meas(
        "web_connectivity", W("https://www.example.com/"),
        "\"queries\":[" QSYS("www.example.com", ANS(EX), "null", 0) "],\"tcp_connect\":[" TCP(
            EX, 443, true, "null",
            0) "],\"tls_handshakes\":[" TLS(EX443, "www.example.com", "null", "",
                                            0) "],\"requests\":[" REQ("https://www.example.com/",
                                                                      EX443, "null",
                                                                      RESP(200, "", PAGE),
                                                                      0) "],\"blocking\":false,"
                                                                         "\"accessible\":true");
    const char *close = strstr(j, ",\"test_name\"") - 1; /* test_keys' '}' */
    size_t pre = (size_t)(close - j), len = strlen(j);
    char line[sizeof(g_json) + 4096];
    struct vg_json_doc *d = vg_json_doc_new();
    const struct vg_json *root, *tk;

    (void)state;
    assert_int_equal(*close, '}');
    snprintf(line, sizeof(line), "%s\r\n", j); /* the newline of a JSON Lines file */
    assert_int_equal(vg_analyze(g_a, line, len + 2, 0, &g_out, g_err, sizeof(g_err)), 0);
    assert_non_null(g_out.line);
    /* OONI's bytes untouched around the keys vigie adds */
    assert_memory_equal(g_out.line, j, pre);
    assert_memory_equal(g_out.line + g_out.line_len - (len - pre), j + pre, len - pre);
    assert_int_equal(
        strncmp(g_out.line + pre, ",\"x_verdict\":\"accessible\",\"x_cause\":null,", 40), 0);
    assert_string_equal(g_out.ooni_blocking, "false");
    assert_int_equal(g_out.ooni_accessible, 1);
    assert_string_equal(g_out.probe_cc, "IT");
    root = vg_json_parse(d, g_out.line, g_out.line_len, g_err, sizeof(g_err));
    assert_non_null(root);
    tk = vg_json_get(root, "test_keys");
    assert_string_equal(vg_json_str(vg_json_get(tk, "x_analyzer")), VG_ANALYZER_VERSION);
    assert_non_null(vg_json_get(tk, "x_endpoints"));
    assert_string_equal(vg_json_str(vg_json_get(tk, "x_evidence")), g_out.evidence);
    vg_json_doc_free(d);
    /* decide only */
    assert_int_equal(analyze(j, VG_ANALYZE_NO_LINE), 0);
    assert_null(g_out.line);
    assert_string_equal(vg_verdict_name(g_out.verdict), "accessible");
}

/* Occurrences of s in the line written. */
static size_t
count_in_line(const char *s)
{
    size_t n = 0, k = strlen(s);

    for (size_t i = 0; i + k <= g_out.line_len; i++) {
        n += memcmp(g_out.line + i, s, k) == 0;
    }
    return n;
}

static void
test_line_fallback(void **state)
{
    struct vg_json_doc *d = vg_json_doc_new();
    static const char pretty[] =
        "{\n  \"input\": \"http://www.example.com/\",\n  \"test_name\": \"web_connectivity\",\n"
        "  \"test_runtime\": 1.50,\n  \"big\": 12345678901234567890,\n"
        "  \"s\": \"tab\\there \\u00e9 \\u0001 \\\"q\\\" \\/\",\n"
        "  \"test_keys\": {\n    \"queries\": [],\n    \"requests\": []\n  }\n}\n";

    (void)state;
    /* a pretty-printed document: written again, compact, numbers as written */
    assert_int_equal(analyze(pretty, 0), 0);
    assert_non_null(g_out.line);
    assert_null(memchr(g_out.line, '\n', g_out.line_len));
    assert_int_equal(count_in_line("\"test_runtime\":1.50,"), 1);
    assert_int_equal(count_in_line("\"big\":12345678901234567890"), 1);
    assert_int_equal(count_in_line("\"s\":\"tab\\there \xc3\xa9 \\u0001 \\\"q\\\" /\""), 1);
    assert_int_equal(count_in_line("\"requests\":[],\"x_verdict\":"), 1);
    assert_non_null(vg_json_parse(d, g_out.line, g_out.line_len, g_err, sizeof(g_err)));
    /* empty test_keys: no leading comma, on both paths */
    assert_int_equal(analyze(meas("web_connectivity", W("http://www.example.com/"), ""), 0), 0);
    assert_int_equal(count_in_line("\"test_keys\":{\"x_verdict\":"), 1);
    assert_int_equal(
        analyze("{\"input\":\"http://a.example/\",\n\"test_name\":\"web_connectivity\","
                "\"test_keys\":{}}",
                0),
        0);
    assert_int_equal(count_in_line("\"test_keys\":{\"x_verdict\":"), 1);
    assert_non_null(vg_json_parse(d, g_out.line, g_out.line_len, g_err, sizeof(g_err)));
    /* a measurement that already has vigie's keys gets them replaced, once */
    assert_int_equal(
        analyze(meas("web_connectivity", W("http://www.example.com/"),
                     "\"x_verdict\":\"blocked\",\"x_cause\":\"old.cause\",\"queries\":[],"
                     "\"x_analyzer\":\"vigie-analyze/0\",\"x_endpoints\":[],\"requests\":[]"),
                0),
        0);
    assert_int_equal(count_in_line("\"x_verdict\""), 1);
    assert_int_equal(count_in_line("old.cause"), 0);
    assert_int_equal(count_in_line("vigie-analyze/0"), 0);
    assert_int_equal(count_in_line("\"x_analyzer\":\"" VG_ANALYZER_VERSION "\""), 1);
    assert_non_null(vg_json_parse(d, g_out.line, g_out.line_len, g_err, sizeof(g_err)));
    vg_json_doc_free(d);
}

/* ---- hostile input ----------------------------------------------------------------------------
 */

static void
expect_error(const char *json, int code)
{
    int rc = analyze(json, 0);

    if (rc != code) {
        fail_msg("%.60s: rc %d, want %d (%s)", json, rc, code, g_err);
    }
    assert_true(g_err[0] != '\0');
}

/* Analysed without crashing; verdict whatever the rules say. */
static void
expect_analysed(const char *json)
{
    int rc = analyze(json, 0);

    if (rc != 0 || !g_out.analysed || g_out.line == NULL) {
        fail_msg("%.80s: rc %d (%s)", json, rc, g_err);
    }
}

static void
test_bad_input(void **state)
{
    static char big[4 * 1024 * 1024];
    size_t n = 0;

    (void)state;
    expect_error("", VG_EPROTO);
    expect_error("{", VG_EPROTO);
    expect_error("not json", VG_EPROTO);
    expect_error("[]", VG_EPROTO);
    expect_error("42", VG_EPROTO);
    expect_error("{\"test_name\":5}", VG_EPROTO);
    expect_error("{\"test_name\":\"web_connectivity\",\"test_keys\":[]}", VG_EPROTO);
    expect_error("{\"test_name\":\"web_connectivity\",\"input\":{},\"test_keys\":{}}", VG_EPROTO);
    expect_error(meas("web_connectivity", W("http://a.example/"), "\"queries\":{}"), VG_EPROTO);
    expect_error(meas("web_connectivity", W("ftp://a.example/"), ""), VG_EPROTO);
    expect_error(meas("web_connectivity", "null", ""), VG_EPROTO);
    /* a wrong type deep inside is skipped, a malformed control is a control failure */
    expect_analysed(meas("web_connectivity", W("http://a.example/"),
                         "\"queries\":[5,{\"answers\":7},{\"answers\":[{\"ipv4\":9}],"
                         "\"tags\":[\"depth=99999999999\"]}],\"tcp_connect\":[{\"ip\":\"1.2.3.4\","
                         "\"port\":\"80\"},{\"ip\":[],\"port\":80},{\"status\":null}],"
                         "\"tls_handshakes\":[{\"address\":5},{\"address\":\"1.2.3.4:x\"}],"
                         "\"requests\":[null,{\"request\":5,\"response\":{\"code\":\"200\","
                         "\"body\":{\"format\":\"base64\",\"data\":\"!!!\"}}}],"
                         "\"control\":{\"dns\":5}"));
    assert_string_equal(vg_verdict_name(g_out.verdict), "unknown");
    assert_false(g_out.has_control);
    /* bad base64, bad DER */
    expect_analysed(
        meas("web_connectivity", W("https://www.example.com/"),
             "\"tcp_connect\":[" TCP(EX, 443, true, "null", 0) "],\"tls_handshakes\":[" TLS(
                 EX443, "www.example.com", "\"ssl_unknown_authority\"",
                 "{\"format\":\"base64\",\"data\":\"***\"},{\"data\":\"AAAA\"}",
                 0) "],\"control\":{\"tls_handshake\":{\"" EX443
                    "\":{\"status\":true,\"x_valid\":true,\"x_chain\":[{\"spki_sha256\":"
                    "\""
                    "0000000000000000000000000000000000000000000000000000000000000000"
                    "\"},{\"spki_sha256\":\"zz\"}]}}}"));
    expect_analysed(
        meas("web_connectivity", W("https://www.example.com/"),
             "\"tcp_connect\":[" TCP(EX, 443, true, "null", 0) "],\"tls_handshakes\":[" TLS(
                 EX443, "www.example.com", "\"ssl_invalid_certificate\"",
                 "{\"format\":\"base64\",\"data\":\"MIIBAAAAAAAA\"}", 0) "]"));
    assert_string_equal(vg_verdict_name(g_out.verdict), "intercepted");
    /* huge counts: capped by the summary's arrays */
    n += (size_t)snprintf(
        big + n, sizeof(big) - n,
        "{\"input\":\"http://www.example.com/\",\"test_name\":\"web_connectivity\","
        "\"test_keys\":{\"tcp_connect\":[");
    for (int i = 0; i < 20000 && n < sizeof(big) - 200; i++) {
        n += (size_t)snprintf(big + n, sizeof(big) - n,
                              "%s{\"ip\":\"10.%d.%d.%d\",\"port\":80,\"status\":{\"success\":false,"
                              "\"failure\":\"generic_timeout_error\"}}",
                              i ? "," : "", i >> 16, (i >> 8) & 255, i & 255);
    }
    n += (size_t)snprintf(big + n, sizeof(big) - n, "],\"requests\":[]}}");
    assert_int_equal(vg_analyze(g_a, big, n, 0, &g_out, g_err, sizeof(g_err)), 0);
    assert_string_equal(g_out.cause, "tcp.timeout");
    /* too large, and deeper than the reader's bound */
    assert_int_equal(
        vg_analyze(g_a, big, (size_t)VG_ANALYZE_LINE_MAX + 1, 0, &g_out, g_err, sizeof(g_err)),
        VG_ETOOBIG);
    memset(big, '[', 1000);
    assert_int_equal(vg_analyze(g_a, big, 1000, 0, &g_out, g_err, sizeof(g_err)), VG_EPROTO);
    assert_int_equal(vg_analyze(g_a, NULL, 5, 0, &g_out, g_err, sizeof(g_err)), VG_EINVAL);
}

/* ---- real measurements ------------------------------------------------------------------------
 */

/* Line `no` (1-based) of tests/data/ooni/file, malloc'd, without its newline; NULL at the end. */
static char *
data_line(const char *dir, const char *file, long no)
{
    char path[1024], *line = NULL;
    size_t cap = 0;
    ssize_t n = -1;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", getenv("VG_TEST_DATA"), dir, file);
    f = fopen(path, "r");
    assert_non_null(f);
    for (long i = 0; i < no && (n = getline(&line, &cap, f)) >= 0; i++) {
    }
    fclose(f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && line[n - 1] == '\n') {
        line[--n] = '\0';
    }
    return line;
}

static void
test_fixtures(void **state)
{
    char path[1024], *row = NULL;
    size_t cap = 0, checked = 0;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/ooni/expected.tsv", getenv("VG_TEST_DATA"));
    f = fopen(path, "r");
    assert_non_null(f);
    while (getline(&row, &cap, f) >= 0) {
        char *save = NULL, *loc = strtok_r(row, "\t", &save), *name = strtok_r(NULL, "\t", &save);
        char *verdict = strtok_r(NULL, "\t", &save), *cause = strtok_r(NULL, "\t\n", &save);
        char *colon, *line;

        if (loc == NULL || loc[0] == '#' || cause == NULL || (colon = strchr(loc, ':')) == NULL) {
            continue;
        }
        *colon = '\0';
        line = data_line("ooni", loc, strtol(colon + 1, NULL, 10));
        assert_non_null(line);
        if (analyze(line, 0) != 0) {
            fail_msg("%s:%s (%s): %s", loc, colon + 1, name, g_err);
        }
        if (strcmp(verdict, "-") == 0
                ? g_out.analysed
                : (!g_out.analysed || strcmp(vg_verdict_name(g_out.verdict), verdict) != 0 ||
                   strcmp(g_out.cause, strcmp(cause, "-") == 0 ? "" : cause) != 0)) {
            fail_msg("%s:%s (%s): got %s %s (%s), want %s %s", loc, colon + 1, name,
                     vg_verdict_name(g_out.verdict), g_out.cause, g_out.evidence, verdict, cause);
        }
        free(line);
        checked++;
    }
    free(row);
    fclose(f);
    assert_true(checked >= 60);
}

/* OONI's peer_certificates: the DER of a real expired certificate, judged at the measurement's
 * start (tests/data/ooni/rules, SOURCES.md). */
static void
test_certificate_validity(void **state)
{
    char *line = data_line("ooni", "rules/expired-cert-no-control.jsonl", 1);

    (void)state;
    assert_non_null(line);
    assert_int_equal(analyze(line, 0), 0);
    assert_string_equal(vg_verdict_name(g_out.verdict), "intercepted");
    assert_string_equal(g_out.cause, "tls.mitm");
    assert_non_null(strstr(g_out.evidence, "expired certificate CN=*.yooz.ir (not after "
                                           "2021-07-08T16:49:35Z) on 195.146.37.25:443"));
    assert_false(g_out.has_control);
    free(line);
}

/* vigie's own measurements (the lab capture of tests/data/dashboard): analysed again from their
 * raw observations, they get the probe's verdict back (their analysis keys are replaced). */
static void
test_vigie_roundtrip(void **state)
{
    struct vg_json_doc *d = vg_json_doc_new();
    char *line;

    (void)state;
    for (long i = 1; (line = data_line("dashboard", "lab-capture.jsonl", i)) != NULL; i++) {
        const struct vg_json *tk =
            vg_json_get(vg_json_parse(d, line, strlen(line), NULL, 0), "test_keys");
        const char *want = vg_json_str(vg_json_get(tk, "x_verdict"));
        const char *cause = vg_json_str(vg_json_get(tk, "x_cause"));

        assert_non_null(want);
        assert_int_equal(analyze(line, VG_ANALYZE_LAB), 0);
        if (strcmp(vg_verdict_name(g_out.verdict), want) != 0 ||
            strcmp(g_out.cause, cause != NULL ? cause : "") != 0) {
            fail_msg("lab-capture.jsonl:%ld: got %s %s, the probe said %s %s", i,
                     vg_verdict_name(g_out.verdict), g_out.cause, want, cause ? cause : "");
        }
        free(line);
    }
    vg_json_doc_free(d);
}

/* ---- memory -----------------------------------------------------------------------------------
 */

#include <malloc.h>

static void
test_memory_flat(void **state)
{
    char *line = data_line("ooni", "probe-cli-manual.jsonl", 1), *small;
    size_t after_warmup = 0;

    (void)state;
    assert_non_null(line);
    small = data_line("ooni", "probe-cli-qa.jsonl", 41);
    for (int i = 0; i < 10000; i++) {
        const char *j = i % 2 ? line : small;

        assert_int_equal(analyze(j, 0), 0);
        if (i == 99) {
            after_warmup = mallinfo2().uordblks;
        }
    }
    /* nothing kept from one measurement to the next but the analyser's reused buffers */
    assert_true(mallinfo2().uordblks <= after_warmup + 4096);
    free(line);
    free(small);
}

/* ---- main -------------------------------------------------------------------------------------
 */

static int
setup(void **state)
{
    char path[1024];
    uint8_t der[8192];
    size_t n;
    FILE *f;

    (void)state;
    g_a = vg_analyzer_new();
    snprintf(path, sizeof(path), "%s/certs/icloud-selfsigned.der", getenv("VG_TEST_DATA"));
    f = fopen(path, "rb");
    if (g_a == NULL || f == NULL) {
        return -1;
    }
    n = fread(der, 1, sizeof(der), f);
    fclose(f);
    g_cert = vg_base64(der, n);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    vg_analyzer_free(g_a);
    free(g_cert);
    return 0;
}

int
main(void)
{
    enum { N_RULES = sizeof(g_rules) / sizeof(g_rules[0]) };
    struct CMUnitTest tests[N_RULES + 10];
    size_t n = 0;

    for (size_t i = 0; i < N_RULES; i++) {
        tests[n++] = (struct CMUnitTest){
            .name = g_rules[i].name, .test_func = test_rule, .initial_state = (void *)&g_rules[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_endpoint_targets);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dns_flood);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_verified_chain);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_line_splice);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_line_fallback);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_input);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fixtures);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_certificate_validity);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_vigie_roundtrip);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_memory_flat);
    return _cmocka_run_group_tests("test_analyze", tests, n, setup, teardown);
}
