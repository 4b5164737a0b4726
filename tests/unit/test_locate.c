/* SPDX-License-Identifier: MIT */
/*
 * test_locdecide.c - the pure parts of vigie locate: reading the socket error queue's control
 * messages (net/ttlprobe.h), the hop decision from a sequence of per-TTL events
 * (meas/locate.h), aiming from a measurement (vg_locate_hint), the x_locate measurement
 * (meas/record_locate.h), the ClientHello helper, and the argument checks of vg_locate that need
 * no network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "meas/locate.h"
#include "meas/record_locate.h"
#include "net/tls.h"
#include "net/ttlprobe.h"
#include "util/err.h"
#include "vgtest.h"
#include "vigie/vigie.h"

/* ---- control messages ---------------------------------------------------------------------- */

/* Room for an extended error with an IPv6 offender plus a TTL, suitably aligned. */
union ctl_buf {
    struct cmsghdr align;
    uint8_t b[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6)) +
              CMSG_SPACE(sizeof(int))];
};

/* Append one control message to mh (whose msg_controllen counts what is already there). */
static void
add_cmsg(struct msghdr *mh, int level, int type, const void *data, size_t len, size_t cmsg_len)
{
    struct cmsghdr *cm = (struct cmsghdr *)((uint8_t *)mh->msg_control + mh->msg_controllen);

    memset(cm, 0, CMSG_SPACE(len));
    cm->cmsg_level = level;
    cm->cmsg_type = type;
    cm->cmsg_len = cmsg_len;
    memcpy(CMSG_DATA(cm), data, len);
    mh->msg_controllen += CMSG_SPACE(len);
}

static void
msg_init(struct msghdr *mh, union ctl_buf *buf)
{
    memset(mh, 0, sizeof(*mh));
    memset(buf, 0, sizeof(*buf));
    mh->msg_control = buf->b;
    mh->msg_controllen = 0;
}

/* An ICMP error as the kernel queues it: the extended error, then the offender's address. */
static void
add_icmp4(struct msghdr *mh, uint8_t type, uint8_t code, const char *offender)
{
    uint8_t data[sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in)];
    struct sock_extended_err ee;
    struct sockaddr_in off;

    memset(&ee, 0, sizeof(ee));
    ee.ee_errno = EHOSTUNREACH;
    ee.ee_origin = SO_EE_ORIGIN_ICMP;
    ee.ee_type = type;
    ee.ee_code = code;
    memset(&off, 0, sizeof(off));
    off.sin_family = offender != NULL ? AF_INET : AF_UNSPEC;
    if (offender != NULL) {
        assert_int_equal(inet_pton(AF_INET, offender, &off.sin_addr), 1);
    }
    memcpy(data, &ee, sizeof(ee));
    memcpy(data + sizeof(ee), &off, sizeof(off));
    add_cmsg(mh, SOL_IP, IP_RECVERR, data, sizeof(data), CMSG_LEN(sizeof(data)));
}

static void
test_errqueue_time_exceeded_v4(void **state)
{
    union ctl_buf buf;
    struct msghdr mh;
    struct vg_ttl_icmp icmp;
    int ttl = 0;

    (void)state;
    msg_init(&mh, &buf);
    add_icmp4(&mh, 11, 0, "192.0.2.134");
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), 1);
    assert_true(icmp.icmp);
    assert_int_equal(icmp.type, 11);
    assert_int_equal(icmp.code, 0);
    assert_int_equal(icmp.err, -EHOSTUNREACH);
    assert_string_equal(icmp.offender, "192.0.2.134");
    assert_int_equal(ttl, -1);
    assert_int_equal(vg_ttl_icmp_kind(AF_INET, icmp.type), VG_TTL_EXCEEDED);
}

static void
test_errqueue_unreachable_and_ttl(void **state)
{
    union ctl_buf buf;
    struct msghdr mh;
    struct vg_ttl_icmp icmp;
    int ttl = 0, v = 61;

    (void)state;
    msg_init(&mh, &buf);
    add_icmp4(&mh, 3, 1, "198.51.100.1");
    add_cmsg(&mh, SOL_IP, IP_TTL, &v, sizeof(v), CMSG_LEN(sizeof(v)));
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), 1);
    assert_int_equal(icmp.type, 3);
    assert_int_equal(icmp.code, 1);
    assert_string_equal(icmp.offender, "198.51.100.1");
    assert_int_equal(ttl, 61);
    assert_int_equal(vg_ttl_icmp_kind(AF_INET, icmp.type), VG_TTL_UNREACH);
}

static void
test_errqueue_no_offender(void **state)
{
    union ctl_buf buf;
    struct msghdr mh;
    struct vg_ttl_icmp icmp;
    int ttl;

    (void)state;
    msg_init(&mh, &buf);
    add_icmp4(&mh, 11, 0, NULL);
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), 1);
    assert_string_equal(icmp.offender, "");
}

static void
test_errqueue_v6(void **state)
{
    uint8_t data[sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6)];
    struct sock_extended_err ee;
    struct sockaddr_in6 off;
    union ctl_buf buf;
    struct msghdr mh;
    struct vg_ttl_icmp icmp;
    int ttl, hops = 250;

    (void)state;
    msg_init(&mh, &buf);
    memset(&ee, 0, sizeof(ee));
    ee.ee_errno = EHOSTUNREACH;
    ee.ee_origin = SO_EE_ORIGIN_ICMP6;
    ee.ee_type = 3; /* ICMPv6 time exceeded */
    memset(&off, 0, sizeof(off));
    off.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &off.sin6_addr), 1);
    memcpy(data, &ee, sizeof(ee));
    memcpy(data + sizeof(ee), &off, sizeof(off));
    add_cmsg(&mh, SOL_IPV6, IPV6_RECVERR, data, sizeof(data), CMSG_LEN(sizeof(data)));
    add_cmsg(&mh, SOL_IPV6, IPV6_HOPLIMIT, &hops, sizeof(hops), CMSG_LEN(sizeof(hops)));
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), 1);
    assert_true(icmp.icmp);
    assert_string_equal(icmp.offender, "2001:db8::1");
    assert_int_equal(ttl, 250);
    assert_int_equal(vg_ttl_icmp_kind(AF_INET6, icmp.type), VG_TTL_EXCEEDED);
    /* Type 3 is destination unreachable in ICMPv4. */
    assert_int_equal(vg_ttl_icmp_kind(AF_INET, 3), VG_TTL_UNREACH);
}

static void
test_errqueue_local_and_absent(void **state)
{
    struct sock_extended_err ee;
    union ctl_buf buf;
    struct msghdr mh;
    struct vg_ttl_icmp icmp;
    int ttl;

    (void)state;
    msg_init(&mh, &buf);
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), 0);
    assert_int_equal(ttl, -1);
    /* A local error (e.g. EMSGSIZE) is not an ICMP message, and carries no offender. */
    memset(&ee, 0, sizeof(ee));
    ee.ee_errno = EMSGSIZE;
    ee.ee_origin = SO_EE_ORIGIN_LOCAL;
    add_cmsg(&mh, SOL_IP, IP_RECVERR, &ee, sizeof(ee), CMSG_LEN(sizeof(ee)));
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), 1);
    assert_false(icmp.icmp);
    assert_int_equal(icmp.err, -EMSGSIZE);
    assert_string_equal(icmp.offender, "");
}

static void
test_errqueue_truncated(void **state)
{
    struct sock_extended_err ee;
    union ctl_buf buf;
    struct msghdr mh;
    struct vg_ttl_icmp icmp;
    int ttl, v = 9;

    (void)state;
    msg_init(&mh, &buf);
    memset(&ee, 0, sizeof(ee));
    add_cmsg(&mh, SOL_IP, IP_RECVERR, &ee, sizeof(ee), CMSG_LEN(sizeof(ee) - 4));
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), VG_ETRUNC);
    msg_init(&mh, &buf);
    add_cmsg(&mh, SOL_IP, IP_TTL, &v, sizeof(v), CMSG_LEN(2));
    assert_int_equal(vg_ttl_parse_cmsgs(&mh, &icmp, &ttl), VG_ETRUNC);
}

/* ---- the decision -------------------------------------------------------------------------- */

static struct vg_loc_hop g_hops[VG_LOCATE_MAX_TTL];
static size_t g_n;

static struct vg_loc_hop *
hop(enum vg_loc_event ev)
{
    struct vg_loc_hop *h = &g_hops[g_n];

    memset(h, 0, sizeof(*h));
    h->ttl = (unsigned)++g_n;
    h->ev = ev;
    for (size_t k = 0; k < VG_LOCATE_REPLIES_MAX; k++) {
        h->reply_ttl[k] = -1;
    }
    return h;
}

static struct vg_loc_hop *
reply(int ip_ttl)
{
    struct vg_loc_hop *h = hop(VG_LOC_EV_DNS_REPLY);

    h->n_replies = 1;
    h->reply_ttl[0] = ip_ttl;
    return h;
}

static int
decide(const char *cause, int server_hop, struct vg_loc_decision *d)
{
    enum vg_loc_cause c;

    assert_int_equal(vg_loc_cause_parse(cause, &c), 0);
    vg_loc_decide(c, g_hops, g_n, server_hop, d);
    return d->hop;
}

static void
test_causes(void **state)
{
    enum vg_loc_cause c;

    (void)state;
    assert_int_equal(vg_loc_cause_parse("tls.mitm", &c), 0);
    assert_int_equal(c, VG_LOC_TLS_MITM);
    assert_string_equal(vg_loc_cause_name(c), "tls.mitm");
    assert_true(vg_loc_cause_is_tls(c));
    assert_int_equal(vg_loc_cause_parse("dns.injected", &c), 0);
    assert_true(vg_loc_cause_is_dns(c));
    assert_false(vg_loc_cause_is_tls(c));
    assert_int_equal(vg_loc_cause_parse("tcp.timeout", &c), VG_EINVAL);
    assert_int_equal(vg_loc_cause_parse("", &c), VG_EINVAL);
    assert_int_equal(vg_loc_cause_parse(NULL, &c), VG_EINVAL);
    assert_true(vg_locate_supports("http.blockpage"));
    assert_false(vg_locate_supports("dns.nxdomain"));
    assert_string_equal(vg_loc_event_name(VG_LOC_EV_TIME_EXCEEDED), "time-exceeded");
    assert_string_equal(vg_loc_event_name(VG_LOC_EV_TLS_INVALID), "tls-invalid");
}

static void
test_reset_at_the_censor(void **state)
{
    struct vg_loc_decision d;

    (void)state;
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_RESET);
    assert_int_equal(decide("tls.reset", 4, &d), 2);
    assert_int_equal(d.first_ttl, 2);
    assert_false(d.mirroring);
    assert_int_equal(decide("http.reset", -1, &d), 2);
    /* A reset is not what a MITM or a block page looks like, nor an end of stream. */
    assert_int_equal(decide("tls.mitm", 4, &d), -1);
    assert_int_equal(decide("http.blockpage", 4, &d), -1);
    assert_int_equal(decide("tls.eof", 4, &d), -1);
}

static void
test_silent_hops_then_reset(void **state)
{
    struct vg_loc_decision d;

    (void)state;
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_SILENT); /* a router that does not answer */
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_SILENT);
    hop(VG_LOC_EV_EOF);
    assert_int_equal(decide("http.eof", 9, &d), 5);
    assert_int_equal(decide("http.reset", 9, &d), -1);
    assert_false(vg_loc_ends_trace(&g_hops[1]));
    assert_false(vg_loc_ends_trace(&g_hops[2]));
    assert_true(vg_loc_ends_trace(&g_hops[4]));
}

static void
test_server_answered(void **state)
{
    struct vg_loc_decision d;

    (void)state;
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_TLS_VALID);
    assert_int_equal(decide("tls.reset", 4, &d), -1);
    assert_int_equal(decide("tls.mitm", 4, &d), -1);
    /* Without the server's hop, a valid certificate proves nothing either. */
    assert_int_equal(decide("tls.mitm", -1, &d), -1);
    assert_int_equal(d.first_ttl, -1);
}

static void
test_mitm(void **state)
{
    struct vg_loc_decision d;

    (void)state;
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_TLS_INVALID);
    assert_int_equal(decide("tls.mitm", 4, &d), 2);
    assert_int_equal(decide("tls.mitm", -1, &d), 2);
    /* A certificate the device was made to trust: it validates, but comes from before the
     * server's hop. */
    g_hops[1].ev = VG_LOC_EV_TLS_VALID;
    assert_int_equal(decide("tls.mitm", 4, &d), 2);
    assert_int_equal(decide("tls.mitm", 2, &d), -1);
    g_hops[1].ev = VG_LOC_EV_TLS_FAILED;
    assert_int_equal(decide("tls.mitm", 4, &d), 2);
    /* An invalid certificate at the server's hop: the server, or something right by it. */
    g_hops[1].ev = VG_LOC_EV_TLS_INVALID;
    assert_int_equal(decide("tls.mitm", 2, &d), 2);
}

static void
test_blockpage(void **state)
{
    struct vg_loc_decision d;

    (void)state;
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_BLOCKPAGE);
    assert_int_equal(decide("http.blockpage", 5, &d), 3);
    assert_int_equal(decide("http.diff", 5, &d), 3);
    /* An unknown page counts only from before the server. */
    g_hops[2].ev = VG_LOC_EV_HTTP_RESPONSE;
    assert_int_equal(decide("http.diff", 5, &d), 3);
    assert_int_equal(decide("http.diff", 3, &d), -1);
    assert_int_equal(decide("http.blockpage", -1, &d), -1);
}

static void
test_dns_injection(void **state)
{
    struct vg_loc_decision d;

    (void)state;
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    reply(63);
    assert_int_equal(decide("dns.injected", 4, &d), 2);
    assert_false(d.mirroring);
    assert_int_equal(decide("dns.injected", -1, &d), 2);
    /* A reply from the resolver's own hop is the resolver's. */
    assert_int_equal(decide("dns.injected", 2, &d), -1);
    /* Same TTL at the next hop: a fixed initial TTL, no mirroring. */
    reply(63);
    assert_int_equal(decide("dns.injected", 4, &d), 2);
    assert_false(d.mirroring);
}

static void
test_dns_mirroring(void **state)
{
    struct vg_loc_decision d;
    struct vg_loc_hop *h;

    (void)state;
    /* Injector at hop 2 copying the query's remaining TTL: TTL 2 arrives with 1, its reply dies
     * on the way back; TTL 3 -> reply TTL 2 -> arrives with 1; TTL 4 -> arrives with 2. */
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_TIME_EXCEEDED);
    reply(1);
    h = reply(61); /* the genuine reply first here, the forged one second */
    h->n_replies = 2;
    h->reply_ttl[1] = 2;
    assert_int_equal(decide("dns.injected", 5, &d), 2);
    assert_true(d.mirroring);
    assert_int_equal(d.first_ttl, 3);
    /* Injector at hop 3, server far away: first heard at 5 with TTL 1, then 6 with 2. */
    g_n = 0;
    for (int i = 0; i < 4; i++) {
        hop(VG_LOC_EV_TIME_EXCEEDED);
    }
    reply(1);
    reply(2);
    assert_int_equal(decide("dns.injected", 10, &d), 3);
    assert_true(d.mirroring);
    /* A reply TTL above the query's cannot be mirrored. */
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    reply(40);
    reply(41);
    assert_int_equal(decide("dns.injected", 10, &d), 2);
    assert_false(d.mirroring);
    /* No next TTL probed: nothing to compare, the raw TTL stands. */
    g_n = 0;
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_TIME_EXCEEDED);
    reply(1);
    assert_int_equal(decide("dns.injected", 10, &d), 3);
    assert_false(d.mirroring);
}

static void
test_endpoint_hop(void **state)
{
    (void)state;
    g_n = 0;
    assert_int_equal(vg_loc_endpoint_hop(g_hops, g_n), -1);
    hop(VG_LOC_EV_TIME_EXCEEDED);
    hop(VG_LOC_EV_SILENT);
    hop(VG_LOC_EV_TIME_EXCEEDED);
    assert_int_equal(vg_loc_endpoint_hop(g_hops, g_n), -1);
    hop(VG_LOC_EV_SYN_ACK);
    assert_int_equal(vg_loc_endpoint_hop(g_hops, g_n), 4);
    g_hops[3].ev = VG_LOC_EV_REFUSED;
    assert_int_equal(vg_loc_endpoint_hop(g_hops, g_n), 4);
    g_hops[1].ev = VG_LOC_EV_DNS_REPLY;
    assert_int_equal(vg_loc_endpoint_hop(g_hops, g_n), 2);
}

/* ---- aiming from a measurement ------------------------------------------------------------- */

static void
test_hint_tls(void **state)
{
    struct vg_locate_hint h;
    const char *m =
        "{\"input\":\"http://www.example.org/redirect-to-facebook\",\"test_keys\":{"
        "\"tls_handshakes\":[{\"address\":\"198.51.100.20:443\",\"server_name\":"
        "\"www.facebook.com\",\"failure\":\"connection_reset\",\"x_handshake_failure\":"
        "\"connection_reset\"},{\"address\":\"198.51.100.21:8443\",\"server_name\":\"www.icloud."
        "com\",\"failure\":\"ssl_unknown_authority\",\"x_handshake_failure\":null}]}}";

    (void)state;
    assert_int_equal(vg_locate_hint(m, "tls.reset", &h), 0);
    assert_string_equal(h.url, "https://www.facebook.com/");
    assert_string_equal(h.addr, "198.51.100.20");
    assert_int_equal(vg_locate_hint(m, "tls.mitm", &h), 0);
    assert_string_equal(h.url, "https://www.icloud.com:8443/");
    assert_string_equal(h.addr, "198.51.100.21");
    /* Nothing matches: the input, no address. */
    assert_int_equal(vg_locate_hint(m, "tls.eof", &h), 0);
    assert_string_equal(h.url, "http://www.example.org/redirect-to-facebook");
    assert_string_equal(h.addr, "");
}

static void
test_hint_http_and_dns(void **state)
{
    struct vg_locate_hint h;
    const char *m =
        "{\"input\":\"http://www.example.org/\",\"test_keys\":{\"requests\":[{\"address\":"
        "\"[2001:db8::5]:80\",\"request\":{\"url\":\"http://www.twitter.com/\"}},{\"address\":"
        "\"198.51.100.10:80\",\"request\":{\"url\":\"http://www.example.org/\"}}],\"queries\":["
        "{\"engine\":\"getaddrinfo\",\"resolver_address\":\"\"},{\"engine\":\"udp\","
        "\"resolver_address\":\"203.0.113.53:53\"}]}}";

    (void)state;
    assert_int_equal(vg_locate_hint(m, "http.blockpage", &h), 0);
    assert_string_equal(h.url, "http://www.twitter.com/");
    assert_string_equal(h.addr, "2001:db8::5");
    assert_int_equal(vg_locate_hint(m, "dns.injected", &h), 0);
    assert_string_equal(h.url, "http://www.example.org/");
    assert_string_equal(h.resolver, "203.0.113.53:53");
    assert_string_equal(h.addr, "");
}

static void
test_hint_errors(void **state)
{
    struct vg_locate_hint h;

    (void)state;
    assert_int_equal(vg_locate_hint("{", "tls.reset", &h), VG_EINVAL);
    assert_int_equal(vg_locate_hint("{\"test_keys\":{}}", "tls.reset", &h), VG_EINVAL);
    assert_int_equal(vg_locate_hint("{\"input\":\"x\",\"test_keys\":{}}", "tcp.timeout", &h),
                     VG_EINVAL);
    assert_int_equal(vg_locate_hint(NULL, "tls.reset", &h), VG_EINVAL);
}

static void
test_split_addr(void **state)
{
    char ip[INET6_ADDRSTRLEN];
    unsigned port = 7;

    (void)state;
    assert_true(vg_loc_split_addr("198.51.100.20:443", ip, sizeof(ip), &port));
    assert_string_equal(ip, "198.51.100.20");
    assert_int_equal(port, 443);
    assert_true(vg_loc_split_addr("[2001:db8:0:0::5]:8443", ip, sizeof(ip), &port));
    assert_string_equal(ip, "2001:db8::5");
    assert_int_equal(port, 8443);
    assert_true(vg_loc_split_addr("192.0.2.1", ip, sizeof(ip), &port));
    assert_int_equal(port, 0);
    assert_false(vg_loc_split_addr(NULL, ip, sizeof(ip), &port));
    assert_false(vg_loc_split_addr("", ip, sizeof(ip), &port));
    assert_false(vg_loc_split_addr("www.example.org:443", ip, sizeof(ip), &port));
    assert_false(vg_loc_split_addr("[2001:db8::5:443", ip, sizeof(ip), &port));
    assert_false(vg_loc_split_addr("192.0.2.1:0", ip, sizeof(ip), &port));
}

/* ---- the x_locate measurement -------------------------------------------------------------- */

/* The keys of object o, in order, comma-separated. */
static void
keys_of(json_t *o, char *out, size_t cap)
{
    const char *k;
    json_t *v;
    size_t n = 0;

    out[0] = '\0';
    json_object_foreach(o, k, v)
    {
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n > 0 ? "," : "", k);
        assert_true(n < cap);
    }
}

static json_t *
locate_json(const struct vg_rec_loc *x)
{
    char *s = vg_rec_locate_json(x, "https://www.example.org/", 86400, 1.5);
    json_t *m;

    assert_non_null(s);
    assert_null(strchr(s, '\n'));
    m = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(m);
    return m;
}

static void
test_record_dns(void **state)
{
    struct vg_locate_result r;
    struct vg_loc_hop trig[2], ctl[1];
    struct vg_rec_loc x = {.cause = VG_LOC_DNS_INJECTED,
                           .r = &r,
                           .url = "dns://blocked.example",
                           .host = "blocked.example",
                           .first_ttl = 3,
                           .max_ttl = 8,
                           .ttl_timeout_ms = 500};
    char keys[1024];
    json_t *m, *xl, *h;

    (void)state;
    memset(&r, 0, sizeof(r));
    snprintf(r.cause, sizeof(r.cause), "dns.injected");
    snprintf(r.method, sizeof(r.method), "udp-ttl");
    snprintf(r.target, sizeof(r.target), "192.0.2.53:53");
    snprintf(r.summary, sizeof(r.summary), "interference at hop 2 of 4");
    r.interference_hop = 2;
    r.server_hop = 4;
    r.tls_port_hop = r.port80_hop = -1;
    r.ttl_mirroring = true;
    memset(trig, 0, sizeof(trig));
    memset(ctl, 0, sizeof(ctl));
    trig[0].ttl = 1;
    trig[0].ev = VG_LOC_EV_TIME_EXCEEDED;
    snprintf(trig[0].router, sizeof(trig[0].router), "192.0.2.1");
    trig[0].router_from_control = true;
    trig[1].ttl = 2;
    trig[1].ev = VG_LOC_EV_DNS_REPLY;
    trig[1].n_replies = 2;
    trig[1].reply_ttl[0] = 1;
    trig[1].reply_ttl[1] = -1;
    snprintf(trig[1].detail, sizeof(trig[1].detail), "A 10.0.0.1, IP TTL 1");
    ctl[0].ttl = 1;
    ctl[0].ev = VG_LOC_EV_TIME_EXCEEDED;
    snprintf(ctl[0].router, sizeof(ctl[0].router), "192.0.2.1");
    x.trigger = (struct vg_rec_loc_trace){"udp-ttl", 53, NULL, -1, trig, 2};
    x.controls[0] = (struct vg_rec_loc_trace){"udp-dns", 53, "example.org", 4, ctl, 1};
    x.n_controls = 1;
    m = locate_json(&x);
    /* The envelope of every measurement (record.h), web_connectivity's top-level keys. */
    keys_of(m, keys, sizeof(keys));
    assert_string_equal(keys, "annotations,data_format_version,extensions,id,input,"
                              "measurement_start_time,probe_asn,probe_cc,probe_ip,"
                              "probe_network_name,report_id,resolver_asn,resolver_ip,"
                              "resolver_network_name,software_name,software_version,"
                              "test_helpers,test_name,test_runtime,test_start_time,"
                              "test_version,test_keys");
    assert_string_equal(json_string_value(json_object_get(m, "test_name")), "x_locate");
    assert_string_equal(json_string_value(json_object_get(m, "input")), "https://www.example.org/");
    assert_string_equal(json_string_value(json_object_get(m, "measurement_start_time")),
                        "1970-01-02 00:00:00");
    assert_true(json_real_value(json_object_get(m, "test_runtime")) == 1.5);
    keys_of(json_object_get(m, "test_keys"), keys, sizeof(keys));
    assert_string_equal(keys, "x_locate");
    xl = json_object_get(json_object_get(m, "test_keys"), "x_locate");
    keys_of(xl, keys, sizeof(keys));
    assert_string_equal(keys, "cause,url,method,target,host,interference_hop,interference_router,"
                              "server_hop,hops,controls,summary,failure,max_ttl,ttl_timeout_ms,"
                              "ttl_mirroring,interference_first_ttl");
    assert_true(json_is_null(json_object_get(xl, "interference_router")));
    assert_true(json_is_null(json_object_get(xl, "failure")));
    assert_int_equal(json_integer_value(json_object_get(xl, "interference_first_ttl")), 3);
    assert_true(json_is_true(json_object_get(xl, "ttl_mirroring")));
    h = json_array_get(json_object_get(xl, "hops"), 0);
    keys_of(h, keys, sizeof(keys));
    assert_string_equal(keys, "ttl,router,event,router_from");
    assert_string_equal(json_string_value(json_object_get(h, "router_from")), "control");
    h = json_array_get(json_object_get(xl, "hops"), 1);
    keys_of(h, keys, sizeof(keys));
    assert_string_equal(keys, "ttl,router,event,detail,reply_ip_ttls");
    assert_true(json_is_null(json_object_get(h, "router")));
    assert_string_equal(json_string_value(json_object_get(h, "event")), "dns-reply");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(h, "reply_ip_ttls"), 0)), 1);
    assert_true(json_is_null(json_array_get(json_object_get(h, "reply_ip_ttls"), 1)));
    h = json_array_get(json_object_get(xl, "controls"), 0);
    keys_of(h, keys, sizeof(keys));
    assert_string_equal(keys, "method,port,endpoint_hop,hops,name");
    keys_of(json_array_get(json_object_get(h, "hops"), 0), keys, sizeof(keys));
    assert_string_equal(keys, "ttl,router,event");
    json_decref(m);
}

static void
test_record_tls(void **state)
{
    struct vg_locate_result r;
    struct vg_rec_loc x = {.cause = VG_LOC_TLS_MITM,
                           .r = &r,
                           .url = "https://www.example.org/",
                           .host = "www.example.org",
                           .first_ttl = -1,
                           .max_ttl = 32,
                           .ttl_timeout_ms = 1000};
    char keys[1024];
    json_t *m, *xl;

    (void)state;
    memset(&r, 0, sizeof(r));
    snprintf(r.cause, sizeof(r.cause), "tls.mitm");
    snprintf(r.method, sizeof(r.method), "tcp-ttl");
    snprintf(r.failure, sizeof(r.failure), "budget of 10 ms exhausted at TTL 1");
    r.interference_hop = r.server_hop = r.port80_hop = -1;
    r.tls_port_hop = 2;
    x.trigger = (struct vg_rec_loc_trace){"tcp-ttl", 443, NULL, -1, NULL, 0};
    m = locate_json(&x);
    xl = json_object_get(json_object_get(m, "test_keys"), "x_locate");
    keys_of(xl, keys, sizeof(keys));
    assert_string_equal(keys, "cause,url,method,target,host,interference_hop,interference_router,"
                              "server_hop,hops,controls,summary,failure,max_ttl,ttl_timeout_ms,"
                              "tls_port_hop,port80_hop");
    assert_true(json_is_null(json_object_get(xl, "interference_hop")));
    assert_true(json_is_null(json_object_get(xl, "port80_hop")));
    assert_int_equal(json_integer_value(json_object_get(xl, "tls_port_hop")), 2);
    assert_int_equal(json_array_size(json_object_get(xl, "hops")), 0);
    assert_int_equal(json_array_size(json_object_get(xl, "controls")), 0);
    assert_string_equal(json_string_value(json_object_get(xl, "failure")), r.failure);
    json_decref(m);
}

/* ---- the ClientHello, and what vg_locate refuses before probing ------------------------------ */

static void
test_client_hello(void **state)
{
    struct ssl_ctx_st *ctx;
    uint8_t *ch, *ch2;
    size_t len, len2;
    char err[256];

    (void)state;
    assert_int_equal(vg_tls_ctx_new(NULL, &ctx, err, sizeof(err)), 0);
    assert_int_equal(vg_tls_client_hello(ctx, "www.facebook.com", false, &ch, &len), 0);
    /* A TLS handshake record holding a ClientHello (RFC 8446 5.1, 4.1.2) with the SNI. */
    assert_true(len > 9);
    assert_int_equal(ch[0], 0x16);
    assert_int_equal(ch[1], 0x03);
    assert_int_equal(((size_t)ch[3] << 8 | ch[4]) + 5, len);
    assert_int_equal(ch[5], 0x01);
    assert_non_null(memmem(ch, len, "\x00\x00\x10www.facebook.com", 19));
    /* Fresh each time: its random differs. */
    assert_int_equal(vg_tls_client_hello(ctx, "www.facebook.com", false, &ch2, &len2), 0);
    assert_memory_not_equal(ch + 11, ch2 + 11, 32);
    free(ch);
    free(ch2);
    vg_tls_ctx_free(ctx);
}

static void
test_locate_refuses(void **state)
{
    struct vg_locate_opts o;
    struct vg_locate_result r;

    (void)state;
    vg_locate_opts_init(&o);
    assert_int_equal(o.max_ttl, VG_LOCATE_MAX_TTL);
    assert_int_equal(o.ttl_timeout_ms, 1000);
    assert_int_equal(vg_locate(&o, "https://www.example.org/", "tcp.timeout", &r), VG_EINVAL);
    assert_true(strstr(r.failure, "tcp.timeout") != NULL);
    assert_null(r.json);
    vg_locate_result_cleanup(&r);
    assert_int_equal(vg_locate(&o, "not a url", "tls.reset", &r), VG_EINVAL);
    assert_true(strstr(r.failure, "invalid URL") != NULL);
    vg_locate_result_cleanup(&r);
    o.max_ttl = VG_LOCATE_MAX_TTL + 1;
    assert_int_equal(vg_locate(&o, "https://www.example.org/", "tls.reset", &r), VG_EINVAL);
    vg_locate_result_cleanup(&r);
    vg_locate_opts_init(&o);
    o.addr = "not-an-address";
    assert_int_equal(vg_locate(&o, "https://www.example.org/", "tls.reset", &r), VG_EINVAL);
    assert_true(strstr(r.failure, "not an IP address") != NULL);
    vg_locate_result_cleanup(&r);
    vg_locate_opts_init(&o);
    o.resolver = "resolver.example";
    assert_int_equal(vg_locate(&o, "dns://www.example.org", "dns.injected", &r), VG_EINVAL);
    assert_true(strstr(r.failure, "no usable resolver") != NULL);
    vg_locate_result_cleanup(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errqueue_time_exceeded_v4),
        cmocka_unit_test(test_errqueue_unreachable_and_ttl),
        cmocka_unit_test(test_errqueue_no_offender),
        cmocka_unit_test(test_errqueue_v6),
        cmocka_unit_test(test_errqueue_local_and_absent),
        cmocka_unit_test(test_errqueue_truncated),
        cmocka_unit_test(test_causes),
        cmocka_unit_test(test_reset_at_the_censor),
        cmocka_unit_test(test_silent_hops_then_reset),
        cmocka_unit_test(test_server_answered),
        cmocka_unit_test(test_mitm),
        cmocka_unit_test(test_blockpage),
        cmocka_unit_test(test_dns_injection),
        cmocka_unit_test(test_dns_mirroring),
        cmocka_unit_test(test_endpoint_hop),
        cmocka_unit_test(test_hint_tls),
        cmocka_unit_test(test_hint_http_and_dns),
        cmocka_unit_test(test_hint_errors),
        cmocka_unit_test(test_split_addr),
        cmocka_unit_test(test_record_dns),
        cmocka_unit_test(test_record_tls),
        cmocka_unit_test(test_client_hello),
        cmocka_unit_test(test_locate_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
