/* SPDX-License-Identifier: MIT */
/*
 * locate.c - where is the censor? vg_locate: TTL-limited triggering probes next to TTL-limited
 * controls (docs/locate.md).
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
#include "meas/locate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "meas/record.h"
#include "meas/verdict.h"
#include "net/tls.h"
#include "net/ttlprobe.h"
#include "proto/dns.h"
#include "proto/http1.h"
#include "proto/url.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

/* ------------------------------------------------------------------------------------------ */
/* causes, events and the decision (pure)                                                      */

static const struct {
    const char *name;
    enum vg_loc_cause cause;
} vg__causes[] = {
    {"tls.reset", VG_LOC_TLS_RESET}, {"tls.eof", VG_LOC_TLS_EOF},
    {"tls.mitm", VG_LOC_TLS_MITM},   {"http.reset", VG_LOC_HTTP_RESET},
    {"http.eof", VG_LOC_HTTP_EOF},   {"http.blockpage", VG_LOC_HTTP_BLOCKPAGE},
    {"http.diff", VG_LOC_HTTP_DIFF}, {"dns.injected", VG_LOC_DNS_INJECTED},
};

int
vg_loc_cause_parse(const char *s, enum vg_loc_cause *c)
{
    for (size_t i = 0; s != NULL && i < sizeof(vg__causes) / sizeof(vg__causes[0]); i++) {
        if (strcmp(s, vg__causes[i].name) == 0) {
            *c = vg__causes[i].cause;
            return 0;
        }
    }
    return VG_EINVAL;
}

const char *
vg_loc_cause_name(enum vg_loc_cause c)
{
    for (size_t i = 0; i < sizeof(vg__causes) / sizeof(vg__causes[0]); i++) {
        if (vg__causes[i].cause == c) {
            return vg__causes[i].name;
        }
    }
    return "?";
}

bool
vg_loc_cause_is_tls(enum vg_loc_cause c)
{
    return c == VG_LOC_TLS_RESET || c == VG_LOC_TLS_EOF || c == VG_LOC_TLS_MITM;
}

bool
vg_loc_cause_is_dns(enum vg_loc_cause c)
{
    return c == VG_LOC_DNS_INJECTED;
}

const char *
vg_loc_event_name(enum vg_loc_event e)
{
    switch (e) {
    case VG_LOC_EV_NONE:
        return "";
    case VG_LOC_EV_SILENT:
        return "silent";
    case VG_LOC_EV_TIME_EXCEEDED:
        return "time-exceeded";
    case VG_LOC_EV_UNREACHABLE:
        return "unreachable";
    case VG_LOC_EV_SYN_ACK:
        return "syn-ack";
    case VG_LOC_EV_REFUSED:
        return "refused";
    case VG_LOC_EV_RESET:
        return "reset";
    case VG_LOC_EV_EOF:
        return "eof";
    case VG_LOC_EV_TLS_VALID:
        return "tls-valid";
    case VG_LOC_EV_TLS_INVALID:
        return "tls-invalid";
    case VG_LOC_EV_TLS_FAILED:
        return "tls-failed";
    case VG_LOC_EV_HTTP_RESPONSE:
        return "http-response";
    case VG_LOC_EV_BLOCKPAGE:
        return "blockpage";
    case VG_LOC_EV_DNS_REPLY:
        return "dns-reply";
    case VG_LOC_EV_ERROR:
        return "error";
    }
    return "?";
}

bool
vg_loc_is_interference(enum vg_loc_cause c, const struct vg_loc_hop *h, int server_hop)
{
    /* Only something on the path answers from before the server's hop. */
    bool before_server = server_hop > 0 && (int)h->ttl < server_hop;

    switch (c) {
    case VG_LOC_TLS_RESET:
    case VG_LOC_HTTP_RESET:
        return h->ev == VG_LOC_EV_RESET;
    case VG_LOC_TLS_EOF:
    case VG_LOC_HTTP_EOF:
        return h->ev == VG_LOC_EV_EOF;
    case VG_LOC_TLS_MITM:
        return h->ev == VG_LOC_EV_TLS_INVALID ||
               ((h->ev == VG_LOC_EV_TLS_VALID || h->ev == VG_LOC_EV_TLS_FAILED) && before_server);
    case VG_LOC_HTTP_BLOCKPAGE:
    case VG_LOC_HTTP_DIFF:
        return h->ev == VG_LOC_EV_BLOCKPAGE || (h->ev == VG_LOC_EV_HTTP_RESPONSE && before_server);
    case VG_LOC_DNS_INJECTED:
        return h->ev == VG_LOC_EV_DNS_REPLY && (server_hop <= 0 || before_server);
    }
    return false;
}

bool
vg_loc_ends_trace(const struct vg_loc_hop *h)
{
    return h->ev != VG_LOC_EV_SILENT && h->ev != VG_LOC_EV_TIME_EXCEEDED && h->ev != VG_LOC_EV_NONE;
}

void
vg_loc_decide(enum vg_loc_cause c, const struct vg_loc_hop *hops, size_t n, int server_hop,
              struct vg_loc_decision *d)
{
    const struct vg_loc_hop *h = NULL, *next;
    size_t i;

    d->hop = -1;
    d->first_ttl = -1;
    d->mirroring = false;
    for (i = 0; i < n && h == NULL; i++) {
        if (vg_loc_is_interference(c, &hops[i], server_hop)) {
            h = &hops[i];
        }
    }
    if (h == NULL) {
        return;
    }
    d->hop = d->first_ttl = (int)h->ttl;
    next = i < n ? &hops[i] : NULL;
    if (c != VG_LOC_DNS_INJECTED || h->n_replies == 0 || next == NULL || next->ttl != h->ttl + 1 ||
        next->ev != VG_LOC_EV_DNS_REPLY) {
        return;
    }
    {
        int r = h->reply_ttl[0], t = (int)h->ttl;

        /* A mirrored reply leaves with the query's remaining TTL, t - (C - 1), and arrives with
         * r = t - 2(C - 1): never more than t. One more hop of query TTL, one more of reply TTL. */
        if (r < 1 || r > t) {
            return;
        }
        for (unsigned k = 0; k < next->n_replies && k < VG_LOCATE_REPLIES_MAX; k++) {
            if (next->reply_ttl[k] == r + 1) {
                d->mirroring = true;
                d->hop = (t - r + 2) / 2;
                return;
            }
        }
    }
}

int
vg_loc_endpoint_hop(const struct vg_loc_hop *hops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (hops[i].ev == VG_LOC_EV_SYN_ACK || hops[i].ev == VG_LOC_EV_REFUSED ||
            hops[i].ev == VG_LOC_EV_DNS_REPLY) {
            return (int)hops[i].ttl;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* the engine                                                                                  */

/* One TTL-limited trace: the trigger, or a control. */
struct vg__trace {
    const char *method; /* "tcp-syn", "tcp-ttl", "udp-dns", "udp-ttl" */
    unsigned port;
    const char *name; /* the control query's name (udp-dns) */
    struct vg_loc_hop hops[VG_LOCATE_MAX_TTL];
    size_t n;
    int endpoint_hop;
    bool ran;
};

struct vg__loc {
    const struct vg_locate_opts *o;
    enum vg_loc_cause cause;
    struct vg_url url;
    char sni[VG_DNS_NAME_MAX + 1]; /* the host as the ClientHello names it */
    uint64_t t0, deadline;         /* monotonic ms */
    struct ssl_ctx_st *ctx;
    struct sockaddr_storage sa; /* the target, with its port */
    char ip[INET6_ADDRSTRLEN];
    unsigned port;
    char failure[256];
    struct vg__trace trigger;
    struct vg__trace ctl[2]; /* TCP: the port, then its companion; DNS: ctl[0] only */
    uint8_t *buf;            /* VG_LOCATE_READ_MAX */
    struct vg_http_head *head;
    struct vg_dns_msg *msg;
    int server_hop;
    int first_ttl; /* the decision's: the TTL at which the interference was first heard */
};

static uint64_t
vg__ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
vg__sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The wait for the next probe: the per-TTL timeout, cut to the budget left. False (and the
 * failure noted) when too little is left for a meaningful probe. */
static bool
vg__time_for(struct vg__loc *l, unsigned ttl, unsigned *timeout)
{
    uint64_t now = vg__ms();
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
    vg__sleep_ms(VG_LOCATE_PACE_MS);
    return true;
}

static void
vg__hop_init(struct vg_loc_hop *h, unsigned ttl)
{
    memset(h, 0, sizeof(*h));
    h->ttl = ttl;
    for (size_t k = 0; k < VG_LOCATE_REPLIES_MAX; k++) {
        h->reply_ttl[k] = -1;
    }
}

static void
vg__hop_from_obs(struct vg_loc_hop *h, const struct vg_ttl_obs *obs)
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
vg__set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    }
}

static void
vg__trace_reset(struct vg__trace *tr, const char *method, unsigned port, const char *name)
{
    memset(tr, 0, sizeof(*tr));
    tr->method = method;
    tr->port = port;
    tr->name = name;
    tr->endpoint_hop = -1;
}

/* Does a trace go on after its last hop? Not after an answer, nor after too long a silence. */
static bool
vg__trace_goes_on(const struct vg__trace *tr, unsigned *silent_run)
{
    const struct vg_loc_hop *h = &tr->hops[tr->n - 1];

    if (vg_loc_ends_trace(h)) {
        return false;
    }
    *silent_run = h->ev == VG_LOC_EV_SILENT ? *silent_run + 1 : 0;
    return *silent_run < VG_LOCATE_SILENT_RUN;
}

/* tcptraceroute to the target's address on port: where does that port answer? */
static void
vg__syn_trace(struct vg__loc *l, struct vg__trace *tr, unsigned port)
{
    struct sockaddr_storage sa = l->sa;
    unsigned silent_run = 0, timeout;

    vg__trace_reset(tr, "tcp-syn", port, NULL);
    tr->ran = true;
    vg__set_port(&sa, port);
    for (unsigned ttl = 1; ttl <= l->o->max_ttl && vg__time_for(l, ttl, &timeout); ttl++) {
        struct vg_loc_hop *h = &tr->hops[tr->n++];
        struct vg_ttl_obs obs;
        int rc;

        vg__hop_init(h, ttl);
        rc = vg_ttl_syn((const struct sockaddr *)&sa, (int)ttl, timeout, &obs);
        if (rc < 0) {
            h->ev = VG_LOC_EV_ERROR;
            snprintf(h->detail, sizeof(h->detail), "%s", vg_strerror(rc));
            break;
        }
        vg__hop_from_obs(h, &obs);
        if (!vg__trace_goes_on(tr, &silent_run)) {
            break;
        }
    }
    tr->endpoint_hop = vg_loc_endpoint_hop(tr->hops, tr->n);
}

/* The rest of a TLS handshake once something answered the ClientHello at this TTL. */
static void
vg__tls_finish(struct vg__loc *l, int fd, struct vg_tls_mem *tm, size_t first, unsigned timeout,
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
vg__http_finish(struct vg__loc *l, int fd, size_t have, unsigned timeout, struct vg_loc_hop *h)
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
vg__http_request(const struct vg__loc *l, char *out, size_t cap)
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
vg__tcp_probe(struct vg__loc *l, unsigned ttl, unsigned timeout, struct vg_loc_hop *h)
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
        plen = vg__http_request(l, req, sizeof(req));
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
    vg__hop_from_obs(h, &obs);
    if (obs.kind == VG_TTL_DATA) {
        /* Whoever answered is within ttl hops: the rest of the exchange needs no limit. */
        if (vg_ttl_set(fd, -1) < 0) {
            h->ev = VG_LOC_EV_ERROR;
        } else if (tls) {
            vg__tls_finish(l, fd, tm, obs.len, timeout, h);
        } else {
            vg__http_finish(l, fd, obs.len, timeout, h);
        }
    } else if (obs.kind == VG_TTL_RESET || obs.kind == VG_TTL_EOF) {
        snprintf(h->detail, sizeof(h->detail), "after %.0f ms", obs.ms);
    }
    vg_tls_mem_free(tm);
    vg_ttl_close(fd);
    return true;
}

static void
vg__tcp_trigger(struct vg__loc *l)
{
    struct vg__trace *tr = &l->trigger;
    unsigned silent_run = 0, timeout;

    vg__trace_reset(tr, "tcp-ttl", l->port, NULL);
    tr->ran = true;
    for (unsigned ttl = 1; ttl <= l->o->max_ttl && vg__time_for(l, ttl, &timeout); ttl++) {
        struct vg_loc_hop *h = &tr->hops[tr->n++];

        vg__hop_init(h, ttl);
        if (!vg__tcp_probe(l, ttl, timeout, h)) {
            snprintf(l->failure, sizeof(l->failure), "TTL %u: %s", ttl, h->detail);
            break;
        }
        if (!vg__trace_goes_on(tr, &silent_run)) {
            break;
        }
        /* Past the server, a request can only meet what the server's hop met. */
        if (l->server_hop > 0 && (int)ttl > l->server_hop) {
            break;
        }
    }
}

/* ---- DNS ---------------------------------------------------------------------------------- */

struct vg__dnsq {
    struct vg__loc *l;
    uint16_t id;
    const char *name;
    struct vg_loc_hop *h;
};

static bool
vg__on_dgram(const uint8_t *p, size_t len, int ip_ttl, void *arg)
{
    struct vg__dnsq *q = arg;
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
static void
vg__dns_trace(struct vg__loc *l, struct vg__trace *tr, const char *name, bool trigger)
{
    unsigned silent_run = 0, timeout;
    int located = 0;

    vg__trace_reset(tr, trigger ? "udp-ttl" : "udp-dns", l->port, trigger ? NULL : name);
    tr->ran = true;
    for (unsigned ttl = 1; ttl <= l->o->max_ttl && vg__time_for(l, ttl, &timeout); ttl++) {
        struct vg_loc_hop *h = &tr->hops[tr->n++];
        struct vg__dnsq q = {l, 0, name, h};
        uint8_t query[VG_DNS_WIRE_NAME_MAX + 64];
        size_t qlen;
        struct vg_ttl_obs obs;
        int rc;

        vg__hop_init(h, ttl);
        vg_random_bytes(&q.id, sizeof(q.id));
        rc = vg_dns_build_query(q.id, name, VG_DNS_TYPE_A, query, sizeof(query), &qlen);
        if (rc == 0) {
            rc = vg_ttl_udp((const struct sockaddr *)&l->sa, (int)ttl, query, qlen, timeout,
                            VG_LOCATE_GRACE_MS, vg__on_dgram, &q, &obs);
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
            vg__hop_from_obs(h, &obs);
            memcpy(h->detail, detail, sizeof(detail));
        }
        if (obs.kind == VG_TTL_DATA) {
            h->ev = VG_LOC_EV_DNS_REPLY;
        }
        if (!trigger) {
            if (!vg__trace_goes_on(tr, &silent_run)) {
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
        if (!vg__trace_goes_on(tr, &silent_run)) {
            break;
        }
        if (l->server_hop > 0 && (int)ttl > l->server_hop) {
            break;
        }
    }
    tr->endpoint_hop = vg_loc_endpoint_hop(tr->hops, tr->n);
}

/* ------------------------------------------------------------------------------------------ */
/* targets                                                                                     */

static int
vg__parse_ip_port(const char *s, unsigned def_port, struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *port_s = NULL;
    uint64_t port = def_port;
    size_t hl;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        VG_ENSURE(end != NULL, VG_EINVAL);
        hl = (size_t)(end - s - 1);
        VG_ENSURE(hl < sizeof(host), VG_EINVAL);
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        if (end[1] == ':') {
            port_s = end + 2;
        } else {
            VG_ENSURE(end[1] == '\0', VG_EINVAL);
        }
    } else {
        const char *colon = strchr(s, ':');

        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            hl = (size_t)(colon - s);
            port_s = colon + 1;
        } else {
            hl = strlen(s);
        }
        VG_ENSURE(hl < sizeof(host), VG_EINVAL);
        memcpy(host, s, hl);
        host[hl] = '\0';
    }
    if (port_s != NULL) {
        VG_TRY(vg_parse_u64(port_s, 1, 65535, &port));
    }
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
        ss->ss_family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
        ss->ss_family = AF_INET6;
    } else {
        return VG_EINVAL;
    }
    vg__set_port(ss, (unsigned)port);
    return 0;
}

/* First nameserver of /etc/resolv.conf into out, "" if none. */
static void
vg__system_resolver(char *out, size_t cap)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256];

    out[0] = '\0';
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        uint8_t raw[16];
        char *v;

        if (strncmp(line, "nameserver", 10) != 0 || (line[10] != ' ' && line[10] != '\t')) {
            continue;
        }
        v = vg_str_trim(line + 10);
        if (inet_pton(AF_INET, v, raw) == 1 || inet_pton(AF_INET6, v, raw) == 1) {
            snprintf(out, cap, "%s", v);
            break;
        }
    }
    fclose(f);
}

static void
vg__sa_str(const struct sockaddr_storage *ss, char *ip, size_t ipcap, char *ipport, size_t cap)
{
    unsigned port;

    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)ss;

        inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)ipcap);
        port = ntohs(s6->sin6_port);
        snprintf(ipport, cap, "[%s]:%u", ip, port);
    } else {
        const struct sockaddr_in *s4 = (const void *)ss;

        inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)ipcap);
        port = ntohs(s4->sin_port);
        snprintf(ipport, cap, "%s:%u", ip, port);
    }
}

/* The addresses to try, in order: opts->addr, or the host's (system resolver). */
static int
vg__addresses(struct vg__loc *l, struct sockaddr_storage *out, size_t *n)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc;

    *n = 0;
    if (l->o->addr != NULL || l->url.ip_family != 0) {
        const char *a = l->o->addr != NULL ? l->o->addr : l->url.host;

        if (vg__parse_ip_port(a, l->port, &out[0]) < 0) {
            snprintf(l->failure, sizeof(l->failure), "not an IP address: '%s'", a);
            return VG_EINVAL;
        }
        vg__set_port(&out[0], l->port);
        *n = 1;
        return 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(l->url.host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(l->failure, sizeof(l->failure), "cannot resolve %s: %s", l->url.host,
                 gai_strerror(rc));
        return VG_EDNS_NXDOMAIN;
    }
    for (ai = res; ai != NULL && *n < VG_LOCATE_ADDRS_MAX; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
            continue;
        }
        memset(&out[*n], 0, sizeof(out[*n]));
        memcpy(&out[*n], ai->ai_addr, ai->ai_addrlen);
        vg__set_port(&out[*n], l->port);
        (*n)++;
    }
    freeaddrinfo(res);
    if (*n == 0) {
        snprintf(l->failure, sizeof(l->failure), "no address for %s", l->url.host);
        return VG_EDNS_NOANSWER;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* results                                                                                     */

/* The router at ttl: the trigger's own ICMP sender, else the control trace's at that TTL. */
static const char *
vg__router_at(const struct vg__loc *l, unsigned ttl, bool *from_control)
{
    *from_control = false;
    if (ttl >= 1 && ttl <= l->trigger.n && l->trigger.hops[ttl - 1].router[0] != '\0') {
        return l->trigger.hops[ttl - 1].router;
    }
    for (size_t c = 0; c < 2; c++) {
        if (l->ctl[c].ran && ttl >= 1 && ttl <= l->ctl[c].n &&
            l->ctl[c].hops[ttl - 1].router[0] != '\0') {
            *from_control = true;
            return l->ctl[c].hops[ttl - 1].router;
        }
    }
    return "";
}

/* The control whose trace reaches the genuine server (the farther endpoint). */
static const struct vg__trace *
vg__server_ctl(const struct vg__loc *l)
{
    const struct vg__trace *best = &l->ctl[0];

    if (l->ctl[1].ran && (l->ctl[1].endpoint_hop > best->endpoint_hop || !best->ran)) {
        best = &l->ctl[1];
    }
    return best;
}

static json_t *
vg__hops_json(const struct vg__loc *l, const struct vg__trace *tr, bool fill_routers)
{
    json_t *a = json_array();

    for (size_t i = 0; i < tr->n; i++) {
        const struct vg_loc_hop *h = &tr->hops[i];
        bool from_ctl = false;
        const char *router = fill_routers ? vg__router_at(l, h->ttl, &from_ctl) : h->router;
        json_t *o = json_pack("{s:i, s:o, s:s}", "ttl", (int)h->ttl, "router",
                              router[0] != '\0' ? json_string(router) : json_null(), "event",
                              vg_loc_event_name(h->ev));

        if (from_ctl) {
            json_object_set_new(o, "router_from", json_string("control"));
        }
        if (h->detail[0] != '\0') {
            json_object_set_new(o, "detail", json_string(h->detail));
        }
        if (h->n_replies > 0) {
            json_t *t = json_array();

            for (unsigned k = 0; k < h->n_replies && k < VG_LOCATE_REPLIES_MAX; k++) {
                json_array_append_new(t, h->reply_ttl[k] >= 0 ? json_integer(h->reply_ttl[k])
                                                              : json_null());
            }
            json_object_set_new(o, "reply_ip_ttls", t);
        }
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *
vg__jint(int v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static void
vg__locate_json(const struct vg__loc *l, const char *input, const char *url,
                struct vg_locate_result *r, time_t wall0)
{
    json_t *controls = json_array(), *x, *root;
    for (size_t c = 0; c < 2; c++) {
        const struct vg__trace *tr = &l->ctl[c];
        json_t *o;

        if (!tr->ran) {
            continue;
        }
        o = json_pack("{s:s, s:i, s:o, s:o}", "method", tr->method, "port", (int)tr->port,
                      "endpoint_hop", vg__jint(tr->endpoint_hop), "hops",
                      vg__hops_json(l, tr, false));
        if (tr->name != NULL) {
            json_object_set_new(o, "name", json_string(tr->name));
        }
        json_array_append_new(controls, o);
    }
    x = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:i, s:i}", "cause", r->cause,
        "url", url, "method", r->method, "target", r->target, "host", l->url.host,
        "interference_hop", vg__jint(r->interference_hop), "interference_router",
        r->interference_router[0] != '\0' ? json_string(r->interference_router) : json_null(),
        "server_hop", vg__jint(r->server_hop), "hops", vg__hops_json(l, &l->trigger, true),
        "controls", controls, "summary", r->summary, "failure",
        r->failure[0] != '\0' ? json_string(r->failure) : json_null(), "max_ttl",
        (int)l->o->max_ttl, "ttl_timeout_ms", (int)l->o->ttl_timeout_ms);
    if (vg_loc_cause_is_tls(l->cause)) {
        json_object_set_new(x, "tls_port_hop", vg__jint(r->tls_port_hop));
        json_object_set_new(x, "port80_hop", vg__jint(r->port80_hop));
    }
    if (vg_loc_cause_is_dns(l->cause)) {
        json_object_set_new(x, "ttl_mirroring", json_boolean(r->ttl_mirroring));
        json_object_set_new(x, "interference_first_ttl", vg__jint(l->first_ttl));
    }
    {
        struct vg_rec_env env = {.test_name = VG_REC_TEST_LOCATE,
                                 .test_version = VG_REC_TEST_LOCATE_V,
                                 .input = input,
                                 .start = wall0};

        root = vg_rec_new(&env, json_pack("{s:o}", "x_locate", x), NULL);
        vg_rec_set_runtime(root, (double)(vg__ms() - l->t0) / 1000.0);
    }
    if (root != NULL) {
        r->json = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(root);
    }
}

static void
vg__summary(const struct vg__loc *l, struct vg_locate_result *r, const struct vg_loc_decision *d)
{
    size_t o;

    if (d->hop < 0) {
        const struct vg__trace *tr = &l->trigger;
        const struct vg_loc_hop *last = tr->n > 0 ? &tr->hops[tr->n - 1] : NULL;

        if (last == NULL) {
            snprintf(r->summary, sizeof(r->summary), "not located: nothing was probed");
        } else if (last->ev == VG_LOC_EV_ERROR) {
            snprintf(r->summary, sizeof(r->summary), "not located: no probe at TTL %u (%s)",
                     last->ttl, last->detail);
        } else if (vg_loc_ends_trace(last)) {
            snprintf(r->summary, sizeof(r->summary),
                     "not located: the request met %s at hop %u, not the interference (%s)",
                     vg_loc_event_name(last->ev), last->ttl,
                     r->server_hop > 0 && (int)last->ttl >= r->server_hop
                         ? "the server answered: not reproduced"
                         : "a different answer");
        } else {
            snprintf(r->summary, sizeof(r->summary),
                     "not located: no answer to the request up to hop %u", last->ttl);
        }
    } else if (r->server_hop > 0) {
        snprintf(r->summary, sizeof(r->summary), "interference at hop %d of %d", d->hop,
                 r->server_hop);
    } else {
        snprintf(r->summary, sizeof(r->summary),
                 "interference at hop %d (the server's hop is unknown)", d->hop);
    }
    o = strlen(r->summary);
    if (d->hop > 0 && r->interference_router[0] != '\0' && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o, " (router %s)",
                              r->interference_router);
    }
    if (d->hop > 0 && r->server_hop > 0 && d->hop >= r->server_hop && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; from the server's own distance: the server or a device next "
                              "to it");
    }
    if (d->mirroring && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; the forged replies copy the query's TTL: first heard at TTL %d",
                              d->first_ttl);
    }
    if (!vg_loc_cause_is_tls(l->cause) && !vg_loc_cause_is_dns(l->cause) && l->ctl[0].ran &&
        l->ctl[1].ran && l->ctl[0].endpoint_hop > 0 &&
        l->ctl[0].endpoint_hop < l->ctl[1].endpoint_hop && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; HTTP port %u answers at hop %d, port %u of the same address at "
                              "hop %d (a nearer HTTP server: a proxy on the path)",
                              l->ctl[0].port, l->ctl[0].endpoint_hop, l->ctl[1].port,
                              l->ctl[1].endpoint_hop);
    }
    if (vg_loc_cause_is_tls(l->cause) && r->tls_port_hop > 0 && r->port80_hop > 0 &&
        o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; TLS port %u answers at hop %d, port 80 of the same address at "
                              "hop %d",
                              l->port, r->tls_port_hop, r->port80_hop);
        if (r->tls_port_hop < r->port80_hop && o < sizeof(r->summary)) {
            snprintf(r->summary + o, sizeof(r->summary) - o,
                     " (a nearer TLS server: interception on the path)");
        }
    }
}

static void
vg__fill_result(struct vg__loc *l, struct vg_locate_result *r)
{
    const struct vg__trace *srv = vg__server_ctl(l);
    struct vg_loc_decision d;
    char ip[INET6_ADDRSTRLEN];
    size_t n;

    vg__sa_str(&l->sa, ip, sizeof(ip), r->target, sizeof(r->target));
    snprintf(r->method, sizeof(r->method), "%s", l->trigger.method);
    r->server_hop = l->server_hop;
    vg_loc_decide(l->cause, l->trigger.hops, l->trigger.n, l->server_hop, &d);
    r->interference_hop = d.hop;
    l->first_ttl = d.first_ttl;
    r->ttl_mirroring = d.mirroring;
    r->interference_router[0] = '\0';
    if (d.hop > 0) {
        bool from_ctl;

        vg_strlcpy(r->interference_router, vg__router_at(l, (unsigned)d.hop, &from_ctl),
                   sizeof(r->interference_router));
    }
    r->tls_port_hop = r->port80_hop = -1;
    if (vg_loc_cause_is_tls(l->cause)) {
        for (size_t c = 0; c < 2; c++) {
            if (!l->ctl[c].ran) {
                continue;
            }
            if (l->ctl[c].port == l->port) {
                r->tls_port_hop = l->ctl[c].endpoint_hop;
            }
            if (l->ctl[c].port == 80) {
                r->port80_hop = l->ctl[c].endpoint_hop;
            }
        }
    }
    /* The table: every TTL the trigger or the server's control probed. */
    n = l->trigger.n > srv->n ? l->trigger.n : srv->n;
    r->n_hops = 0;
    for (size_t i = 0; i < n && i < VG_LOCATE_MAX_TTL; i++) {
        struct vg_locate_hop *o = &r->hops[r->n_hops++];
        bool from_ctl;

        memset(o, 0, sizeof(*o));
        o->ttl = (unsigned)i + 1;
        o->ip_ttl = -1;
        vg_strlcpy(o->router, vg__router_at(l, o->ttl, &from_ctl), sizeof(o->router));
        if (i < l->trigger.n) {
            const struct vg_loc_hop *h = &l->trigger.hops[i];

            vg_strlcpy(o->event, vg_loc_event_name(h->ev), sizeof(o->event));
            vg_strlcpy(o->detail, h->detail, sizeof(o->detail));
            o->ip_ttl = h->n_replies > 0 ? h->reply_ttl[0] : -1;
        }
        if (srv->ran && i < srv->n) {
            vg_strlcpy(o->control, vg_loc_event_name(srv->hops[i].ev), sizeof(o->control));
        }
    }
    vg_strlcpy(r->failure, l->failure, sizeof(r->failure));
    vg__summary(l, r, &d);
}

/* ------------------------------------------------------------------------------------------ */
/* the public API                                                                              */

void
vg_locate_opts_init(struct vg_locate_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->control_name = "example.org";
    o->max_ttl = VG_LOCATE_MAX_TTL;
    o->ttl_timeout_ms = 1000;
    o->budget_ms = 60000;
}

bool
vg_locate_supports(const char *cause)
{
    enum vg_loc_cause c;

    return vg_loc_cause_parse(cause, &c) == 0;
}

void
vg_locate_result_cleanup(struct vg_locate_result *r)
{
    if (r == NULL) {
        return;
    }
    VG_FREE(r->json);
}

/* Port probed for the cause: the URL's when its scheme matches the cause's protocol. */
static unsigned
vg__cause_port(enum vg_loc_cause c, const struct vg_url *u)
{
    bool tls_url = strcmp(u->scheme, "https") == 0 || strcmp(u->scheme, "tls") == 0;

    if (vg_loc_cause_is_dns(c)) {
        return 53;
    }
    if (vg_loc_cause_is_tls(c)) {
        return tls_url ? u->port : 443;
    }
    return strcmp(u->scheme, "http") == 0 ? u->port : 80;
}

/* Controls, trigger and decision for the target l->sa. True when located. */
static bool
vg__locate_tcp(struct vg__loc *l)
{
    struct vg_loc_decision d;
    unsigned companion = l->port == 80 ? 443 : 80;

    vg__syn_trace(l, &l->ctl[0], l->port);
    vg__syn_trace(l, &l->ctl[1], companion);
    l->server_hop = l->ctl[0].endpoint_hop > l->ctl[1].endpoint_hop ? l->ctl[0].endpoint_hop
                                                                    : l->ctl[1].endpoint_hop;
    /* The trigger's routers come from these traces: an established connection gets no
     * offender address (net/ttlprobe.h). */
    vg__tcp_trigger(l);
    vg_loc_decide(l->cause, l->trigger.hops, l->trigger.n, l->server_hop, &d);
    return d.hop > 0;
}

static int
vg__locate_dns(struct vg__loc *l)
{
    const struct vg_locate_opts *o = l->o;
    char sys[INET6_ADDRSTRLEN + 8];
    const char *res = o->resolver;

    if (res == NULL) {
        vg__system_resolver(sys, sizeof(sys));
        res = sys[0] != '\0' ? sys : NULL;
    }
    if (res == NULL || vg__parse_ip_port(res, 53, &l->sa) < 0) {
        snprintf(l->failure, sizeof(l->failure), "no usable resolver (%s)",
                 res != NULL ? res : "none in /etc/resolv.conf");
        return VG_EINVAL;
    }
    l->port = ntohs(l->sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&l->sa)->sin6_port
                                                : ((struct sockaddr_in *)&l->sa)->sin_port);
    vg__dns_trace(l, &l->ctl[0], o->control_name, false);
    l->server_hop = l->ctl[0].endpoint_hop;
    vg__dns_trace(l, &l->trigger, l->url.host, true);
    return 0;
}

int
vg_locate(const struct vg_locate_opts *opts, const char *url, const char *cause,
          struct vg_locate_result *r)
{
    struct vg_locate_opts defaults;
    struct vg__loc *l;
    char err[256];
    time_t wall0 = time(NULL);
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->interference_hop = r->server_hop = r->tls_port_hop = r->port80_hop = -1;
    snprintf(r->cause, sizeof(r->cause), "%s", cause != NULL ? cause : "");
    if (opts == NULL) {
        vg_locate_opts_init(&defaults);
        opts = &defaults;
    }
    if (opts->max_ttl < 1 || opts->max_ttl > VG_LOCATE_MAX_TTL || opts->ttl_timeout_ms == 0 ||
        opts->budget_ms == 0 || opts->control_name == NULL) {
        snprintf(r->failure, sizeof(r->failure), "invalid options (max TTL 1..%d)",
                 VG_LOCATE_MAX_TTL);
        return VG_EINVAL;
    }
    l = vg_xcalloc(1, sizeof(*l));
    l->o = opts;
    l->t0 = vg__ms();
    l->deadline = l->t0 + opts->budget_ms;
    l->server_hop = -1;
    if (vg_loc_cause_parse(cause, &l->cause) < 0) {
        snprintf(r->failure, sizeof(r->failure),
                 "cannot locate cause '%s' (tls.reset, tls.eof, tls.mitm, http.reset, http.eof, "
                 "http.blockpage, http.diff, dns.injected)",
                 cause != NULL ? cause : "");
        rc = VG_EINVAL;
        goto out;
    }
    if (url == NULL || vg_url_parse(url, &l->url) < 0) {
        snprintf(r->failure, sizeof(r->failure), "invalid URL '%s'", url != NULL ? url : "");
        rc = VG_EINVAL;
        goto out;
    }
    vg_strlcpy(l->sni, l->url.host, sizeof(l->sni));
    l->port = vg__cause_port(l->cause, &l->url);
    l->buf = vg_xmalloc(VG_LOCATE_READ_MAX);
    l->head = vg_xmalloc(sizeof(*l->head));
    l->msg = vg_xmalloc(sizeof(*l->msg));
    if (vg_loc_cause_is_dns(l->cause)) {
        rc = vg__locate_dns(l);
        if (rc < 0) {
            vg_strlcpy(r->failure, l->failure, sizeof(r->failure));
            goto out;
        }
    } else {
        struct sockaddr_storage addrs[VG_LOCATE_ADDRS_MAX];
        size_t n_addrs = 0;

        if (vg_loc_cause_is_tls(l->cause) &&
            vg_tls_ctx_new(opts->ca_file, &l->ctx, err, sizeof(err)) < 0) {
            snprintf(r->failure, sizeof(r->failure), "%s", err);
            rc = VG_EINVAL;
            goto out;
        }
        rc = vg__addresses(l, addrs, &n_addrs);
        if (rc < 0) {
            vg_strlcpy(r->failure, l->failure, sizeof(r->failure));
            goto out;
        }
        /* One address after the other until one shows the interference (iCloud 2014: one
         * address of several was intercepted). */
        for (size_t i = 0; i < n_addrs; i++) {
            l->sa = addrs[i];
            l->failure[0] = '\0';
            if (vg__locate_tcp(l) || vg__ms() >= l->deadline) {
                break;
            }
        }
    }
    vg__fill_result(l, r);
    vg__locate_json(l, opts->input != NULL ? opts->input : url, url, r, wall0);
out:
    if (l->ctx != NULL) {
        vg_tls_ctx_free(l->ctx);
    }
    free(l->buf);
    free(l->head);
    free(l->msg);
    free(l);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* aiming from a measurement                                                                   */

static const char *
vg__jget_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* "IP:PORT" or "[IP6]:PORT" -> IP and port. */
static bool
vg__split_addr(const char *s, char *ip, size_t cap, unsigned *port)
{
    struct sockaddr_storage ss;
    char ipport[80];

    if (s == NULL || s[0] == '\0' || vg__parse_ip_port(s, 0, &ss) < 0) {
        return false;
    }
    vg__sa_str(&ss, ip, cap, ipport, sizeof(ipport));
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return true;
}

int
vg_locate_hint(const char *measurement_json, const char *cause, struct vg_locate_hint *h)
{
    enum vg_loc_cause c;
    json_t *root, *tk;
    const char *input;
    int rc = VG_EINVAL;

    memset(h, 0, sizeof(*h));
    VG_TRY(vg_loc_cause_parse(cause, &c));
    root = json_loads(measurement_json != NULL ? measurement_json : "", 0, NULL);
    tk = json_object_get(root, "test_keys");
    input = vg__jget_str(root, "input");
    if (!json_is_object(tk) || input == NULL) {
        goto out;
    }
    vg_strlcpy(h->url, input, sizeof(h->url));
    rc = 0;
    if (vg_loc_cause_is_tls(c)) {
        const char *want = c == VG_LOC_TLS_RESET ? "connection_reset"
                           : c == VG_LOC_TLS_EOF ? "eof_error"
                                                 : NULL;
        json_t *e;
        size_t i;

        json_array_foreach(json_object_get(tk, "tls_handshakes"), i, e)
        {
            const char *hs = vg__jget_str(e, "x_handshake_failure");
            const char *f = vg__jget_str(e, "failure");
            const char *sni = vg__jget_str(e, "server_name");
            unsigned port;
            char ip[INET6_ADDRSTRLEN];
            bool match = want != NULL ? hs != NULL && strcmp(hs, want) == 0
                                      : hs == NULL && f != NULL && strncmp(f, "ssl_", 4) == 0;

            if (!match || !vg__split_addr(vg__jget_str(e, "address"), ip, sizeof(ip), &port)) {
                continue;
            }
            vg_strlcpy(h->addr, ip, sizeof(h->addr));
            if (sni != NULL && sni[0] != '\0') {
                if (port == 443) {
                    snprintf(h->url, sizeof(h->url), "https://%s/", sni);
                } else {
                    snprintf(h->url, sizeof(h->url), "https://%s:%u/", sni, port);
                }
            }
            break;
        }
    } else if (vg_loc_cause_is_dns(c)) {
        json_t *e;
        size_t i;

        json_array_foreach(json_object_get(tk, "queries"), i, e)
        {
            const char *eng = vg__jget_str(e, "engine"), *ra = vg__jget_str(e, "resolver_address");

            if (eng != NULL && strcmp(eng, "udp") == 0 && ra != NULL && ra[0] != '\0') {
                vg_strlcpy(h->resolver, ra, sizeof(h->resolver));
                break;
            }
        }
    } else {
        /* requests[0] is the last step of the redirect chain. */
        json_t *req = json_array_get(json_object_get(tk, "requests"), 0);
        const char *u = vg__jget_str(json_object_get(req, "request"), "url");
        unsigned port;
        char ip[INET6_ADDRSTRLEN];

        if (u != NULL && u[0] != '\0') {
            vg_strlcpy(h->url, u, sizeof(h->url));
        }
        if (vg__split_addr(vg__jget_str(req, "address"), ip, sizeof(ip), &port)) {
            vg_strlcpy(h->addr, ip, sizeof(h->addr));
        }
    }
out:
    json_decref(root);
    return rc;
}
