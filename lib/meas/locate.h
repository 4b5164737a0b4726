/* SPDX-License-Identifier: MIT */
/*
 * locate.h - where is the censor? The engine behind vg_locate (include/vigie/vigie.h): the
 * triggering request sent with IP TTL 1, 2, 3, ... on otherwise normal connections, next to a
 * control trace that finds the genuine server's hop; docs/locate.md has the method.
 *
 * This header holds the pure parts that unit tests reach: the causes, the per-TTL events and the
 * decision that turns a sequence of events into "interference at hop N of M" (locdecide.c).
 */
#ifndef VG_MEAS_LOCATE_H
#define VG_MEAS_LOCATE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/limits.h"

/* The verdict causes vg_locate knows how to trigger. */
enum vg_loc_cause {
    VG_LOC_TLS_RESET,      /* tls.reset: a reset answers the ClientHello */
    VG_LOC_TLS_EOF,        /* tls.eof: the connection is closed after the ClientHello */
    VG_LOC_TLS_MITM,       /* tls.mitm: a TLS server with a certificate that fails validation */
    VG_LOC_HTTP_RESET,     /* http.reset: a reset answers the GET */
    VG_LOC_HTTP_EOF,       /* http.eof */
    VG_LOC_HTTP_BLOCKPAGE, /* http.blockpage: a known block page answers the GET */
    VG_LOC_HTTP_DIFF,      /* http.diff: a page that is not the server's (judged by distance) */
    VG_LOC_DNS_INJECTED,   /* dns.injected: a reply comes back from before the resolver */
};

/* "tls.reset" -> VG_LOC_TLS_RESET, ... Returns 0, or VG_EINVAL for a cause it cannot locate. */
VG_MUST_USE int vg_loc_cause_parse(const char *s, enum vg_loc_cause *c);
const char *vg_loc_cause_name(enum vg_loc_cause c);
bool vg_loc_cause_is_tls(enum vg_loc_cause c);
bool vg_loc_cause_is_dns(enum vg_loc_cause c);

/* What one probe met at one TTL. */
enum vg_loc_event {
    VG_LOC_EV_NONE = 0,      /* not probed at this TTL */
    VG_LOC_EV_SILENT,        /* nothing came back in time */
    VG_LOC_EV_TIME_EXCEEDED, /* a router: the probe expired there */
    VG_LOC_EV_UNREACHABLE,   /* another ICMP error */
    VG_LOC_EV_SYN_ACK,       /* control: the endpoint accepted the connection */
    VG_LOC_EV_REFUSED,       /* control: the endpoint refused it */
    VG_LOC_EV_RESET,         /* the triggering segment met a reset */
    VG_LOC_EV_EOF,           /* ... the connection was closed */
    VG_LOC_EV_TLS_VALID,     /* ... a TLS server answered with a certificate that validates */
    VG_LOC_EV_TLS_INVALID,   /* ... with a certificate that does not validate */
    VG_LOC_EV_TLS_FAILED,    /* ... a TLS server answered but the handshake failed */
    VG_LOC_EV_HTTP_RESPONSE, /* ... an HTTP response */
    VG_LOC_EV_BLOCKPAGE,     /* ... an HTTP response that is a known block page */
    VG_LOC_EV_DNS_REPLY,     /* ... a DNS reply to the query */
    VG_LOC_EV_ERROR,         /* a local failure (no socket, no connection) */
};

/* "time-exceeded", "reset", ... the names docs/locate.md lists. */
const char *vg_loc_event_name(enum vg_loc_event e);

/* One TTL of a trace. */
struct vg_loc_hop {
    unsigned ttl;
    enum vg_loc_event ev;
    char router[INET6_ADDRSTRLEN];        /* the ICMP sender at this TTL, "" unknown */
    bool router_from_control;             /* router copied from the control trace's same TTL */
    unsigned n_replies;                   /* DNS replies seen */
    int reply_ttl[VG_LOCATE_REPLIES_MAX]; /* their IP TTLs in arrival order, -1 unknown */
    char detail[192];
};

/* The decision for one trace. */
struct vg_loc_decision {
    int hop;        /* the interference's hop, -1 when not located */
    int first_ttl;  /* the TTL at which it first answered (hop differs only with mirroring) */
    bool mirroring; /* dns: the forged replies' TTL follows the query's (Triplet Censors) */
};

/* Is h (one TTL of the triggering trace) the interference's signature for c? server_hop is the
 * genuine server's hop, -1 when unknown. */
bool vg_loc_is_interference(enum vg_loc_cause c, const struct vg_loc_hop *h, int server_hop);

/* Does a trace stop after h? Anything but silence or a router's ICMP ends it. */
bool vg_loc_ends_trace(const struct vg_loc_hop *h);

/*
 * Decide where the interference answers from hops[n] (ascending TTLs) of the triggering trace.
 * A DNS injector that copies the query's remaining TTL into its reply (the FOCI 2020 "Triplet
 * Censors" finding) is first heard at TTL 2C - 1 instead of C, its reply arriving with IP TTL 1;
 * when the next TTL's forged reply arrives with a TTL one higher, the TTLs give C back:
 * C = (t - r + 2) / 2 for a reply with IP TTL r at probe TTL t.
 */
void vg_loc_decide(enum vg_loc_cause c, const struct vg_loc_hop *hops, size_t n, int server_hop,
                   struct vg_loc_decision *d);

/* The endpoint's hop in a control trace: the first TTL at which it answered (SYN-ACK, refusal,
 * DNS reply), -1 when it never did. */
int vg_loc_endpoint_hop(const struct vg_loc_hop *hops, size_t n);

/* An address as a measurement writes it, "IP:PORT" or "[IP6]:PORT" (a bare IP gives port 0) ->
 * the IP as text into ip (cap bytes) and the port. False when s is NULL, empty or no address. */
bool vg_loc_split_addr(const char *s, char *ip, size_t cap, unsigned *port);

#endif
