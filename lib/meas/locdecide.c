/* SPDX-License-Identifier: MIT */
/*
 * locdecide.c - where is the censor? The pure part of vg_locate (docs/locate.md): the causes it
 * locates, the per-TTL events and the decision that turns a trace into "interference at hop N".
 *
 * The engine is split by concern, its shared internals in locate_impl.h:
 *   locdecide.c      causes, events, the decision, addresses as text (no I/O; meas/locate.h)
 *   locate_trace.c   the TTL-limited traces through net/ttlprobe: SYN controls, the TCP trigger
 *                    (ClientHello or GET), the DNS trigger and control
 *   locate_result.c  the result: the hop table, the summary, the x_locate record
 *   locate_run.c     the targets (addresses, resolver) and the public API of vigie/vigie.h
 * The x_locate measurement and the keys of a measurement that aim a localisation belong to the
 * record module: record_locate.c (meas/record_locate.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "meas/locate.h"
#include "meas/locate_impl.h"
#include "util/str.h"

/* ------------------------------------------------------------------------------------------ */
/* causes, events and the decision                                                             */

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
/* addresses                                                                                   */

void
vg__loc_set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    }
}

int
vg__loc_parse_ip_port(const char *s, unsigned def_port, struct sockaddr_storage *ss)
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
    vg__loc_set_port(ss, (unsigned)port);
    return 0;
}

void
vg__loc_sa_str(const struct sockaddr_storage *ss, char *ip, size_t ipcap, char *ipport, size_t cap)
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

bool
vg_loc_split_addr(const char *s, char *ip, size_t cap, unsigned *port)
{
    struct sockaddr_storage ss;
    char ipport[80];

    if (s == NULL || s[0] == '\0' || vg__loc_parse_ip_port(s, 0, &ss) < 0) {
        return false;
    }
    vg__loc_sa_str(&ss, ip, cap, ipport, sizeof(ipport));
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return true;
}
