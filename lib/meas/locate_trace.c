/* SPDX-License-Identifier: MIT */
/*
 * locate_trace.c - the TTL-limited traces of vg_locate (docs/locate.md), through net/ttlprobe.
 *
 * For a TCP cause (tls.*, http.*) the engine first traces the address with SYNs on the port of the
 * URL and on its companion (443 <-> 80): each finds the hop at which that port answers, and the
 * farther one is the genuine server (an interceptor can only be nearer). Then, for TTL 1, 2, ...,
 * it opens a normal connection (default TTL), lowers the TTL and sends the triggering bytes: the
 * ClientHello OpenSSL makes for the host, or the GET with its Host header. What comes back at each
 * TTL (a router's ICMP time exceeded, a reset, a TLS server, a page) is one event; the first event
 * that is the interference's signature gives its hop. For dns.injected the query datagram goes
 * to the resolver with increasing TTLs, next to a control query for a name nobody blocks.
 *
 * Pacing: one probe at a time, VG_LOCATE_PACE_MS apart, each waiting at most the per-TTL timeout;
 * a trace stops at the first answer, after VG_LOCATE_SILENT_RUN silent TTLs, past the server's
 * hop, at max_ttl, or when the budget runs out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "meas/locate.h"
#include "meas/locate_impl.h"
#include "meas/record.h"
#include "meas/verdict.h"
#include "net/tls.h"
#include "net/ttlprobe.h"
#include "proto/dns.h"
#include "proto/http1.h"
#include "proto/url.h"
#include "util/crypto.h"
#include "util/mem.h"
#include "util/str.h"

uint64_t
vg__loc_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
vg__loc_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The wait for the next probe: the per-TTL timeout, cut to the budget left. False (and the
 * failure noted) when too little is left for a meaningful probe. */
static bool
vg__loc_time_for(struct vg__loc *l, unsigned ttl, unsigned *timeout)
{
    uint64_t now = vg__loc_ms();
    uint64_t left = now < l->deadline ? l->deadline - now : 0;

    if (left < 50) {
        if (l->failure[0] == '\0') {
            snprintf(l->failure, sizeof(l->failure), "budget of %u ms exhausted at TTL %u",
                     l->o->budget_ms, ttl);
        }
        return false;
    }
    *timeout = left < l->o->ttl_timeout_ms ? (unsigned)left : l->o->ttl_timeout_ms;
    /* Never a burst: routers rate-limit ICMP, and a censor may too. */
    vg__loc_sleep_ms(VG_LOCATE_PACE_MS);
    return true;
}

static void
vg__loc_hop_init(struct vg_loc_hop *h, unsigned ttl)
{
    memset(h, 0, sizeof(*h));
    h->ttl = ttl;
    for (size_t k = 0; k < VG_LOCATE_REPLIES_MAX; k++) {
        h->reply_ttl[k] = -1;
    }
}

static void
vg__loc_hop_from_obs(struct vg_loc_hop *h, const struct vg_ttl_obs *obs)
{
    vg_strlcpy(h->router, obs->router, sizeof(h->router));
    switch (obs->kind) {
    case VG_TTL_SILENT:
        h->ev = VG_LOC_EV_SILENT;
        break;
    case VG_TTL_EXCEEDED:
        h->ev = VG_LOC_EV_TIME_EXCEEDED;
        break;
    case VG_TTL_UNREACH:
        h->ev = VG_LOC_EV_UNREACHABLE;
        if (obs->router[0] != '\0') {
            snprintf(h->detail, sizeof(h->detail), "ICMP type %u code %u", obs->icmp_type,
                     obs->icmp_code);
        } else {
            snprintf(h->detail, sizeof(h->detail), "%s", vg_strerror(obs->sock_err));
        }
        break;
    case VG_TTL_CONNECTED:
        h->ev = VG_LOC_EV_SYN_ACK;
        break;
    case VG_TTL_REFUSED:
        h->ev = VG_LOC_EV_REFUSED;
        break;
    case VG_TTL_RESET:
        h->ev = VG_LOC_EV_RESET;
        break;
    case VG_TTL_EOF:
        h->ev = VG_LOC_EV_EOF;
        break;
    case VG_TTL_DATA:
        h->ev = VG_LOC_EV_HTTP_RESPONSE; /* refined by the caller */
        break;
    }
}

static void
vg__loc_trace_reset(struct vg__loc_trace *tr, const char *method, unsigned port, const char *name)
{
    memset(tr, 0, sizeof(*tr));
    tr->method = method;
    tr->port = port;
    tr->name = name;
    tr->endpoint_hop = -1;
}

/* Does a trace go on after its last hop? Not after an answer, nor after too long a silence. */
static bool
vg__loc_trace_goes_on(const struct vg__loc_trace *tr, unsigned *silent_run)
{
    const struct vg_loc_hop *h = &tr->hops[tr->n - 1];

    if (vg_loc_ends_trace(h)) {
        return false;
    }
    *silent_run = h->ev == VG_LOC_EV_SILENT ? *silent_run + 1 : 0;
    return *silent_run < VG_LOCATE_SILENT_RUN;
}

/* tcptraceroute to the target's address on port: where does that port answer? */
void
vg__loc_syn_trace(struct vg__loc *l, struct vg__loc_trace *tr, unsigned port)
{
    struct sockaddr_storage sa = l->sa;
    unsigned silent_run = 0, timeout;

    vg__loc_trace_reset(tr, "tcp-syn", port, NULL);
    tr->ran = true;
    vg__loc_set_port(&sa, port);
    for (unsigned ttl = 1; ttl <= l->o->max_ttl && vg__loc_time_for(l, ttl, &timeout); ttl++) {
        struct vg_loc_hop *h = &tr->hops[tr->n++];
        struct vg_ttl_obs obs;
        int rc;

        vg__loc_hop_init(h, ttl);
        rc = vg_ttl_syn((const struct sockaddr *)&sa, (int)ttl, timeout, &obs);
        if (rc < 0) {
            h->ev = VG_LOC_EV_ERROR;
            snprintf(h->detail, sizeof(h->detail), "%s", vg_strerror(rc));
            break;
        }
        vg__loc_hop_from_obs(h, &obs);
        if (!vg__loc_trace_goes_on(tr, &silent_run)) {
            break;
        }
    }
    tr->endpoint_hop = vg_loc_endpoint_hop(tr->hops, tr->n);
}

/* The rest of a TLS handshake once something answered the ClientHello at this TTL. */
static void
vg__loc_tls_finish(struct vg__loc *l, int fd, struct vg_tls_mem *tm, size_t first, unsigned timeout,
                   struct vg_loc_hop *h)
{
    size_t inlen = first;

    h->ev = VG_LOC_EV_TLS_FAILED;
    for (int round = 0; round < 64; round++) {
        const uint8_t *out;
        size_t outlen;
        int alert, rc, n;

        rc = vg_tls_mem_step(tm, l->buf, inlen, &out, &outlen, &alert);
        if (outlen > 0 && vg_ttl_tcp_write(fd, out, outlen, timeout) < 0) {
            snprintf(h->detail, sizeof(h->detail), "TLS server; could not send the handshake");
            return;
        }
        if (rc == 1) {
            struct vg_tls_info *info = vg_xcalloc(1, sizeof(*info));
            const char *subject = "";

            vg_tls_mem_collect(tm, info);
            if (info->n_certs > 0) {
                subject = info->certs[0].subject;
            }
            if (info->verify_err == 0) {
                h->ev = VG_LOC_EV_TLS_VALID;
                snprintf(h->detail, sizeof(h->detail), "%s, valid certificate %s", info->version,
                         subject);
            } else {
                h->ev = VG_LOC_EV_TLS_INVALID;
                snprintf(h->detail, sizeof(h->detail), "%s, %s", info->version,
                         info->verify_reason);
            }
            vg_tls_info_cleanup(info);
            free(info);
            return;
        }
        if (rc < 0) {
            if (alert >= 0) {
                snprintf(h->detail, sizeof(h->detail), "TLS handshake failed: alert %d", alert);
            } else {
                snprintf(h->detail, sizeof(h->detail), "TLS handshake failed: %s", vg_strerror(rc));
            }
            return;
        }
        n = vg_ttl_tcp_recv(fd, l->buf, VG_LOCATE_READ_MAX, timeout);
        if (n <= 0) {
            if (n == VG_ECONNRESET) {
                h->ev = VG_LOC_EV_RESET;
            } else if (n == 0) {
                h->ev = VG_LOC_EV_EOF;
            }
            snprintf(h->detail, sizeof(h->detail), "TLS server answered, then %s",
                     n == 0 ? "closed the connection" : vg_strerror(n));
            return;
        }
        inlen = (size_t)n;
    }
    snprintf(h->detail, sizeof(h->detail), "TLS handshake did not end");
}

/* The rest of an HTTP response once something answered the GET at this TTL. */
static void
vg__loc_http_finish(struct vg__loc *l, int fd, size_t have, unsigned timeout, struct vg_loc_hop *h)
{
    bool parsed = false;
    const char *fp;
    size_t body;

    h->ev = VG_LOC_EV_HTTP_RESPONSE;
    while (have < VG_LOCATE_READ_MAX) {
        int n;

        if (!parsed) {
            int rc = vg_http_parse_head(l->buf, have, l->head);

            if (rc == 0) {
                parsed = true;
            } else if (rc != VG_EMORE) {
                snprintf(h->detail, sizeof(h->detail), "%zu bytes that are not HTTP", have);
                return;
            }
        }
        if (parsed) {
            enum vg_http_framing fr;
            uint64_t clen = 0;

            if (vg_http_framing(l->head, l->buf, false, &fr, &clen) == 0 &&
                (fr == VG_HTTP_BODY_NONE ||
                 (fr == VG_HTTP_BODY_LENGTH && have - l->head->head_len >= clen))) {
                break;
            }
        }
        n = vg_ttl_tcp_recv(fd, l->buf + have, VG_LOCATE_READ_MAX - have, timeout);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
    }
    if (!parsed && vg_http_parse_head(l->buf, have, l->head) != 0) {
        snprintf(h->detail, sizeof(h->detail), "%zu bytes, no complete HTTP head", have);
        return;
    }
    body = have - l->head->head_len;
    fp = vg_blockpage_match(l->buf + l->head->head_len, body);
    if (fp != NULL) {
        h->ev = VG_LOC_EV_BLOCKPAGE;
        snprintf(h->detail, sizeof(h->detail), "HTTP %d, block page %s", l->head->status, fp);
    } else {
        snprintf(h->detail, sizeof(h->detail), "HTTP %d, %zu body bytes", l->head->status, body);
    }
}

/* The GET a measurement sends for the URL. */
static size_t
vg__loc_http_request(const struct vg__loc *l, char *out, size_t cap)
{
    char host[VG_DNS_NAME_MAX + 16];
    int n;

    if (l->url.ip_family == 6) {
        snprintf(host, sizeof(host), "[%s]", l->url.host);
    } else {
        snprintf(host, sizeof(host), "%s", l->url.host);
    }
    if (l->port != 80) {
        snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", l->port);
    }
    n = snprintf(out, cap,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
                 "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
                 "Accept-Language: en-US,en;q=0.9\r\nConnection: close\r\n\r\n",
                 l->url.path, host, VG_REC_USER_AGENT);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* One TTL of the TCP trigger: a normal connection, then the triggering bytes with TTL ttl.
 * Returns false when the trace cannot go on (no connection, local failure). */
static bool
vg__loc_tcp_probe(struct vg__loc *l, unsigned ttl, unsigned timeout, struct vg_loc_hop *h)
{
    bool tls = vg_loc_cause_is_tls(l->cause);
    struct vg_tls_mem *tm = NULL;
    char req[VG_URL_MAX + 1024];
    const uint8_t *payload = NULL;
    size_t plen = 0;
    struct vg_ttl_obs obs;
    int fd = -1, rc, alert;

    rc = vg_ttl_tcp_connect((const struct sockaddr *)&l->sa, timeout * 3, &fd);
    if (rc < 0) {
        h->ev = VG_LOC_EV_ERROR;
        snprintf(h->detail, sizeof(h->detail), "connect: %s", vg_strerror(rc));
        return false;
    }
    if (tls) {
        rc = vg_tls_mem_new(l->ctx, l->sni, l->url.ip_family != 0, &tm);
        if (rc == 0) {
            rc = vg_tls_mem_step(tm, NULL, 0, &payload, &plen, &alert);
        }
        if (rc != 0 || plen == 0) {
            rc = rc < 0 ? rc : VG_EINTERNAL;
        }
    } else {
        plen = vg__loc_http_request(l, req, sizeof(req));
        payload = (const uint8_t *)req;
        rc = plen > 0 ? 0 : VG_ETOOBIG;
    }
    if (rc == 0) {
        rc = vg_ttl_tcp_send(fd, (int)ttl, payload, plen, timeout, VG_LOCATE_GRACE_MS, l->buf,
                             VG_LOCATE_READ_MAX, &obs);
    }
    if (rc < 0) {
        h->ev = VG_LOC_EV_ERROR;
        snprintf(h->detail, sizeof(h->detail), "%s", vg_strerror(rc));
        vg_tls_mem_free(tm);
        vg_ttl_close(fd);
        return false;
    }
    vg__loc_hop_from_obs(h, &obs);
    if (obs.kind == VG_TTL_DATA) {
        /* Whoever answered is within ttl hops: the rest of the exchange needs no limit. */
        if (vg_ttl_set(fd, -1) < 0) {
            h->ev = VG_LOC_EV_ERROR;
        } else if (tls) {
            vg__loc_tls_finish(l, fd, tm, obs.len, timeout, h);
        } else {
            vg__loc_http_finish(l, fd, obs.len, timeout, h);
        }
    } else if (obs.kind == VG_TTL_RESET || obs.kind == VG_TTL_EOF) {
        snprintf(h->detail, sizeof(h->detail), "after %.0f ms", obs.ms);
    }
    vg_tls_mem_free(tm);
    vg_ttl_close(fd);
    return true;
}

void
vg__loc_tcp_trigger(struct vg__loc *l)
{
    struct vg__loc_trace *tr = &l->trigger;
    unsigned silent_run = 0, timeout;

    vg__loc_trace_reset(tr, "tcp-ttl", l->port, NULL);
    tr->ran = true;
    for (unsigned ttl = 1; ttl <= l->o->max_ttl && vg__loc_time_for(l, ttl, &timeout); ttl++) {
        struct vg_loc_hop *h = &tr->hops[tr->n++];

        vg__loc_hop_init(h, ttl);
        if (!vg__loc_tcp_probe(l, ttl, timeout, h)) {
            snprintf(l->failure, sizeof(l->failure), "TTL %u: %s", ttl, h->detail);
            break;
        }
        if (!vg__loc_trace_goes_on(tr, &silent_run)) {
            break;
        }
        /* Past the server, a request can only meet what the server's hop met. */
        if (l->server_hop > 0 && (int)ttl > l->server_hop) {
            break;
        }
    }
}

/* ---- DNS ---------------------------------------------------------------------------------- */

struct vg__loc_dnsq {
    struct vg__loc *l;
    uint16_t id;
    const char *name;
    struct vg_loc_hop *h;
};

static bool
vg__loc_on_dgram(const uint8_t *p, size_t len, int ip_ttl, void *arg)
{
    struct vg__loc_dnsq *q = arg;
    struct vg_dns_msg *m = q->l->msg;
    struct vg_loc_hop *h = q->h;

    if (vg_dns_parse(p, len, m) < 0 || !m->qr || m->id != q->id ||
        !vg_dns_name_eq(m->qname, q->name)) {
        return false;
    }
    if (h->n_replies < VG_LOCATE_REPLIES_MAX) {
        h->reply_ttl[h->n_replies] = ip_ttl;
    }
    if (h->n_replies == 0) {
        char addr[INET6_ADDRSTRLEN] = "";

        for (size_t i = 0; i < m->n_rr && addr[0] == '\0'; i++) {
            if (m->rr[i].type == VG_DNS_TYPE_A) {
                inet_ntop(AF_INET, m->rr[i].u.a, addr, sizeof(addr));
            }
        }
        if (addr[0] != '\0') {
            snprintf(h->detail, sizeof(h->detail), "A %s, IP TTL %d", addr, ip_ttl);
        } else {
            snprintf(h->detail, sizeof(h->detail), "rcode %u, no A record, IP TTL %d", m->rcode,
                     ip_ttl);
        }
    }
    h->n_replies++;
    return true;
}

/* TTL-limited queries for name: the trigger (trigger true) or the control. */
void
vg__loc_dns_trace(struct vg__loc *l, struct vg__loc_trace *tr, const char *name, bool trigger)
{
    unsigned silent_run = 0, timeout;
    int located = 0;

    vg__loc_trace_reset(tr, trigger ? "udp-ttl" : "udp-dns", l->port, trigger ? NULL : name);
    tr->ran = true;
    for (unsigned ttl = 1; ttl <= l->o->max_ttl && vg__loc_time_for(l, ttl, &timeout); ttl++) {
        struct vg_loc_hop *h = &tr->hops[tr->n++];
        struct vg__loc_dnsq q = {l, 0, name, h};
        uint8_t query[VG_DNS_WIRE_NAME_MAX + 64];
        size_t qlen;
        struct vg_ttl_obs obs;
        int rc;

        vg__loc_hop_init(h, ttl);
        vg_random_bytes(&q.id, sizeof(q.id));
        rc = vg_dns_build_query(q.id, name, VG_DNS_TYPE_A, query, sizeof(query), &qlen);
        if (rc == 0) {
            rc = vg_ttl_udp((const struct sockaddr *)&l->sa, (int)ttl, query, qlen, timeout,
                            VG_LOCATE_GRACE_MS, vg__loc_on_dgram, &q, &obs);
        }
        if (rc < 0) {
            h->ev = VG_LOC_EV_ERROR;
            snprintf(h->detail, sizeof(h->detail), "%s", vg_strerror(rc));
            snprintf(l->failure, sizeof(l->failure), "TTL %u: %s", ttl, vg_strerror(rc));
            break;
        }
        {
            char detail[sizeof(h->detail)];

            /* Keep the reply's description; the router stays when one answered as well. */
            memcpy(detail, h->detail, sizeof(detail));
            vg__loc_hop_from_obs(h, &obs);
            memcpy(h->detail, detail, sizeof(detail));
        }
        if (obs.kind == VG_TTL_DATA) {
            h->ev = VG_LOC_EV_DNS_REPLY;
        }
        if (!trigger) {
            if (!vg__loc_trace_goes_on(tr, &silent_run)) {
                break;
            }
            continue;
        }
        if (located) {
            break; /* the one TTL past the first forged reply, for the mirroring test */
        }
        if (vg_loc_is_interference(l->cause, h, l->server_hop)) {
            int r = h->reply_ttl[0];

            /* A reply that may have mirrored the query's TTL: look one hop further. */
            if (r >= 1 && r <= (int)ttl && ttl < l->o->max_ttl) {
                located = 1;
                continue;
            }
            break;
        }
        if (!vg__loc_trace_goes_on(tr, &silent_run)) {
            break;
        }
        if (l->server_hop > 0 && (int)ttl > l->server_hop) {
            break;
        }
    }
    tr->endpoint_hop = vg_loc_endpoint_hop(tr->hops, tr->n);
}
