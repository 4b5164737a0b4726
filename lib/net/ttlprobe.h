/* SPDX-License-Identifier: MIT */
/*
 * ttlprobe.h - TTL-limited probes on unprivileged sockets, the raw material of vigie locate.
 *
 * A probe lowers the IP TTL (IPv6 hop limit) of chosen packets so that they expire on the way;
 * the router where one expires answers ICMP time exceeded, which the sending socket reads from
 * its error queue (IP_RECVERR / IPV6_RECVERR, recvmsg with MSG_ERRQUEUE). No raw socket, no
 * CAP_NET_RAW. What Linux reports where (checked on 6.x):
 *  - a TCP socket in SYN_SENT and a UDP socket queue the ICMP error with the offender's address
 *    (the router), its type and code;
 *  - an established TCP socket queues nothing: the ICMP error only becomes the socket error
 *    (EHOSTUNREACH for time exceeded). The hop is known, the router is not; vigie locate names it
 *    from a SYN probe with the same TTL. (An error that arrives while the socket is busy may
 *    only be kept as a soft error; the retransmission's, one RTO later, is then the one seen.)
 * Every call blocks on poll(2) for at most its timeout; none runs on a libuv loop.
 */
#ifndef VG_NET_TTLPROBE_H
#define VG_NET_TTLPROBE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/err.h"

#define VG_TTL_MAX 255 /* largest IP TTL / hop limit */

/* What came back for one probe. */
enum vg_ttl_kind {
    VG_TTL_SILENT = 0, /* nothing before the deadline */
    VG_TTL_EXCEEDED,   /* ICMP time exceeded: the probe expired in transit */
    VG_TTL_UNREACH,    /* another ICMP error (destination unreachable, ...) */
    VG_TTL_CONNECTED,  /* SYN probe: the endpoint accepted (SYN-ACK) */
    VG_TTL_REFUSED,    /* SYN probe: the endpoint, or something for it, refused (RST) */
    VG_TTL_RESET,      /* segment probe: the connection was reset */
    VG_TTL_EOF,        /* segment probe: the peer closed the connection */
    VG_TTL_DATA,       /* the peer answered: bytes (segment probe) or datagrams (UDP probe) */
};

/* One extended error from a socket's error queue. */
struct vg_ttl_icmp {
    bool icmp;    /* from an ICMP or ICMPv6 message (else a local error) */
    uint8_t type; /* ICMP type and code */
    uint8_t code;
    int err;                         /* the errno the kernel derived, as -errno */
    char offender[INET6_ADDRSTRLEN]; /* who sent the ICMP message; "" if the kernel gave none */
};

/* The outcome of one probe. */
struct vg_ttl_obs {
    enum vg_ttl_kind kind;
    char router[INET6_ADDRSTRLEN]; /* the ICMP offender, "" when unknown */
    uint8_t icmp_type;             /* when an ICMP error was read (router != "") */
    uint8_t icmp_code;
    bool icmp_seen;    /* an ICMP error came back (with or without its offender) */
    int sock_err;      /* the socket error seen, as VG_E*, or 0 */
    size_t len;        /* segment probe: bytes read into the caller's buffer */
    unsigned n_dgrams; /* UDP probe: datagrams the callback accepted */
    double ms;         /* from the send to the event kind reports */
};

/* VG_TTL_EXCEEDED for ICMP type 11 (AF_INET) or ICMPv6 type 3 (AF_INET6), else VG_TTL_UNREACH. */
enum vg_ttl_kind vg_ttl_icmp_kind(int family, uint8_t type);

/*
 * Walk the control messages of msg, as recvmsg(2) filled them (with or without MSG_ERRQUEUE):
 * an extended error (IP_RECVERR / IPV6_RECVERR) goes to *icmp, a received TTL (IP_TTL /
 * IPV6_HOPLIMIT) to *ip_ttl (-1 when absent). Returns 1 when an extended error was found, 0 when
 * none, VG_ETRUNC when a message is shorter than its type requires (the kernel truncated it:
 * MSG_CTRUNC, or forged input). Pure: unit-tested with hand-built messages.
 */
VG_MUST_USE int vg_ttl_parse_cmsgs(struct msghdr *msg, struct vg_ttl_icmp *icmp, int *ip_ttl);

/*
 * Connect a TCP socket to sa with the default TTL and the error queue on, blocking up to
 * timeout_ms. *fd on success (close it with vg_ttl_close). Errors: the connect's VG_E*
 * (VG_ECONNREFUSED, VG_ETIMEDOUT, VG_EHOSTUNREACH, ...).
 */
VG_MUST_USE int vg_ttl_tcp_connect(const struct sockaddr *sa, unsigned timeout_ms, int *fd);

/* TTL / hop limit of fd's next packets, 1..255; ttl < 0 restores the system default. */
VG_MUST_USE int vg_ttl_set(int fd, int ttl);

/*
 * Send p[len] on the connected TCP socket fd with TTL ttl, then wait up to timeout_ms for what
 * comes back. Data, a reset or an end of stream ends the wait; an ICMP error alone ends it
 * grace_ms later (a device on the same hop may answer too: its answer wins). Bytes received go to
 * buf[cap] (obs->len). The TTL stays ttl: restore it (vg_ttl_set(fd, -1)) to carry on. Returns 0
 * with *obs filled, or a VG_E* when the send itself failed locally.
 */
VG_MUST_USE int vg_ttl_tcp_send(int fd, int ttl, const void *p, size_t len, unsigned timeout_ms,
                                unsigned grace_ms, uint8_t *buf, size_t cap,
                                struct vg_ttl_obs *obs);

/* Write all of p[len] on fd within timeout_ms. VG_ETIMEDOUT, or the write's VG_E*. */
VG_MUST_USE int vg_ttl_tcp_write(int fd, const void *p, size_t len, unsigned timeout_ms);

/*
 * Read what arrives on fd within timeout_ms into buf[cap]: returns the byte count (0 at the end
 * of the stream), VG_ETIMEDOUT, or the read's VG_E* (VG_ECONNRESET, ...).
 */
VG_MUST_USE int vg_ttl_tcp_recv(int fd, uint8_t *buf, size_t cap, unsigned timeout_ms);

/*
 * One SYN to sa with TTL ttl (a tcptraceroute step): CONNECTED, REFUSED, EXCEEDED / UNREACH with
 * the router, or SILENT after timeout_ms. The socket is closed before returning. Returns 0 with
 * *obs filled, or a VG_E* for a local failure.
 */
VG_MUST_USE int vg_ttl_syn(const struct sockaddr *sa, int ttl, unsigned timeout_ms,
                           struct vg_ttl_obs *obs);

/*
 * Datagram callback of vg_ttl_udp: p[len] arrived from the connected peer with IP TTL ip_ttl (-1
 * when unknown). Returns true when it answers the probe (counted, and it ends the wait grace_ms
 * later), false to ignore it.
 */
typedef bool (*vg_ttl_dgram_cb)(const uint8_t *p, size_t len, int ip_ttl, void *arg);

/*
 * Send the datagram p[len] to sa with TTL ttl from a fresh connected UDP socket, and gather what
 * comes back for timeout_ms, or grace_ms after the first ICMP error or accepted datagram: DATA
 * when cb accepted one (obs->router still names a router that answered too), else EXCEEDED /
 * UNREACH, else SILENT. Returns 0 with *obs filled, or a VG_E* for a local failure.
 */
VG_MUST_USE int vg_ttl_udp(const struct sockaddr *sa, int ttl, const void *p, size_t len,
                           unsigned timeout_ms, unsigned grace_ms, vg_ttl_dgram_cb cb, void *arg,
                           struct vg_ttl_obs *obs);

/* Close fd so that the peer hears of it: default TTL back, then an abortive close (RST). */
void vg_ttl_close(int fd);

#endif
