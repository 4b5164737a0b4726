/* SPDX-License-Identifier: MIT */
/*
 * udpdns.h - DNS over UDP with duplicate-reply listening ("Hold-On"): one socket sends an A and
 * an AAAA query, then records every reply to them (arrival time, IP TTL of the packet from
 * IP_RECVTTL / IPV6_RECVHOPLIMIT, answers) until wait_ms after the last query got its first reply,
 * or timeout_ms. A censor's forged reply races the genuine one; both are kept, even after a flood
 * of forged copies. A reply cut by the read buffer (over VG_DNS_MSG_MAX bytes) is recorded as
 * malformed (parse_err VG_ETOOBIG) when its ID is ours.
 */
#ifndef VG_NET_UDPDNS_H
#define VG_NET_UDPDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "util/err.h"
#include "util/limits.h"

#define VG_UDP_ADDRS_MAX 16 /* addresses kept per reply */

struct vg_dns_addr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t a[16];
    uint32_t ttl;
};

struct vg_udp_reply {
    uint16_t qtype;
    double t;      /* seconds since the query was sent */
    int ip_ttl;    /* IP TTL / hop limit of the reply packet, -1 when unknown */
    int rcode;     /* DNS rcode, -1 when the reply did not parse */
    int parse_err; /* 0, or the VG_E* error of a malformed reply */
    size_t n_addrs;
    struct vg_dns_addr addrs[VG_UDP_ADDRS_MAX];
    char cname[VG_DNS_NAME_MAX + 1]; /* first CNAME target, "" if none */
    uint8_t *raw;                    /* owned copy of the datagram */
    size_t raw_len;
};

struct vg_udpdns;
typedef void (*vg_udpdns_reply_cb)(struct vg_udpdns *q, const struct vg_udp_reply *r, void *arg);
typedef void (*vg_udpdns_done_cb)(struct vg_udpdns *q, void *arg);

/*
 * Start the queries for name to resolver. reply_cb (may be NULL) runs for each recorded reply,
 * done_cb once at the end. On error nothing is started and no callback runs.
 */
VG_MUST_USE int vg_udpdns_start(uv_loop_t *loop, const struct sockaddr *resolver, const char *name,
                                unsigned timeout_ms, unsigned wait_ms, vg_udpdns_reply_cb reply_cb,
                                vg_udpdns_done_cb done_cb, void *arg, struct vg_udpdns **out);

const struct vg_udp_reply *vg_udpdns_replies(const struct vg_udpdns *q, size_t *n);
/* Failure of the qtype query when it got no reply at all (VG_ETIMEDOUT), else 0. */
int vg_udpdns_failure(const struct vg_udpdns *q, uint16_t qtype);
/* Datagrams received but not recorded: wrong source, id or question, or a copy past the budget
 * (VG_DNS_MAX_REPLIES replies, then only answers not seen yet, VG_DNS_MAX_DISTINCT more). */
size_t vg_udpdns_ignored(const struct vg_udpdns *q);

/* Stop (no callback after this) and free, asynchronously. */
void vg_udpdns_free(struct vg_udpdns *q);

/* The system resolver's address (OONI's resolver_ip), the first IP "nameserver" line of
 * /etc/resolv.conf, into out (cap bytes); "" when there is none or the file cannot be read. */
void vg_udpdns_system_resolver(char *out, size_t cap);

#endif
