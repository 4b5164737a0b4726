/* SPDX-License-Identifier: MIT */
/*
 * locate_impl.h - what the files of the locate engine share (locdecide.c has the map): one
 * localisation's state and the traces it runs. Internal to lib/meas/locate*.c.
 *
 * Ownership: struct vg__loc is allocated and freed by vg_locate (locate_run.c), which owns
 * everything it points to except o (the caller's options, borrowed for the call). Functions
 * here borrow their arguments and keep no pointer past their return.
 */
#ifndef VG_MEAS_LOCATE_IMPL_H
#define VG_MEAS_LOCATE_IMPL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "meas/locate.h"
#include "proto/dns.h"
#include "proto/http1.h"
#include "proto/url.h"
#include "vigie/vigie.h"

/* One TTL-limited trace: the trigger, or a control. */
struct vg__loc_trace {
    const char *method; /* "tcp-syn", "tcp-ttl", "udp-dns", "udp-ttl" (static strings) */
    unsigned port;
    const char *name; /* the control query's name (udp-dns; borrowed from the options) */
    struct vg_loc_hop hops[VG_LOCATE_MAX_TTL];
    size_t n;
    int endpoint_hop;
    bool ran;
};

/* One localisation. */
struct vg__loc {
    const struct vg_locate_opts *o; /* borrowed */
    enum vg_loc_cause cause;
    struct vg_url url;
    char sni[VG_DNS_NAME_MAX + 1]; /* the host as the ClientHello names it */
    uint64_t t0, deadline;         /* monotonic ms */
    struct ssl_ctx_st *ctx;        /* owned; TLS causes only */
    struct sockaddr_storage sa;    /* the target, with its port */
    unsigned port;
    char failure[256];
    struct vg__loc_trace trigger;
    struct vg__loc_trace ctl[2]; /* TCP: the port, then its companion; DNS: ctl[0] only */
    uint8_t *buf;                /* owned, VG_LOCATE_READ_MAX bytes: what answers at one hop */
    struct vg_http_head *head;   /* owned scratch for the HTTP answers */
    struct vg_dns_msg *msg;      /* owned scratch for the DNS replies */
    int server_hop;
    int first_ttl; /* the decision's: the TTL at which the interference was first heard */
};

/* ---- locate_trace.c: the traces ---------------------------------------------------------- */

/* Monotonic milliseconds. */
uint64_t vg__loc_ms(void);
/* tcptraceroute to l->sa on port into tr: where does that port answer? */
void vg__loc_syn_trace(struct vg__loc *l, struct vg__loc_trace *tr, unsigned port);
/* The TCP trigger into l->trigger: a normal connection per TTL, then the ClientHello or the GET
 * sent with that TTL. */
void vg__loc_tcp_trigger(struct vg__loc *l);
/* TTL-limited queries for name to l->sa into tr: the trigger (trigger true) or the control. */
void vg__loc_dns_trace(struct vg__loc *l, struct vg__loc_trace *tr, const char *name, bool trigger);

/* ---- locdecide.c: addresses ----------------------------------------------------------------- */

void vg__loc_set_port(struct sockaddr_storage *ss, unsigned port);
/* "IP", "IP:PORT", "[IP6]" or "[IP6]:PORT" into *ss (port def_port when absent). 0 or
 * VG_EINVAL. */
VG_MUST_USE int vg__loc_parse_ip_port(const char *s, unsigned def_port,
                                      struct sockaddr_storage *ss);
/* ss's address into ip (ipcap bytes) and "IP:PORT" / "[IP6]:PORT" into ipport (cap bytes). */
void vg__loc_sa_str(const struct sockaddr_storage *ss, char *ip, size_t ipcap, char *ipport,
                    size_t cap);

/* ---- locate_result.c: the result --------------------------------------------------------- */

/* The decision, the hop table and the summary of l into r (r->json untouched). */
void vg__loc_fill_result(struct vg__loc *l, struct vg_locate_result *r);
/* The x_locate measurement of l and r (filled) into r->json (owned by r), left NULL on failure.
 * input: the measurement's "input"; url: the URL located; wall0: when it started. */
void vg__loc_record(const struct vg__loc *l, const char *input, const char *url,
                    struct vg_locate_result *r, time_t wall0);

#endif
