/* SPDX-License-Identifier: MIT */
/*
 * obs.h - what the probe observed of one measurement, in the compact form the verdict
 * (lib/meas/verdict.h) and OONI's comparison (lib/meas/compare.h) read, and OONI's comparison
 * keys. No I/O.
 *
 * Ownership: struct vg_obs owns its endpoint array (vg_obs_add_ep), its header names
 * (vg_obs_headers_reserve) and its UDP replies (vg_obs_replies_reserve), all released by
 * vg_obs_cleanup; its ctrl pointer is borrowed. A reader that points them into storage of its own
 * (record_obs.c) never calls vg_obs_cleanup.
 */
#ifndef VG_MEAS_OBS_H
#define VG_MEAS_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meas/control.h"
#include "util/limits.h"

#define VG_OBS_MAX_EP      64
#define VG_OBS_MAX_REPLIES 8  /* UDP replies kept for the control's check of injection */
#define VG_OBS_REPLY_ADDRS 8  /* addresses kept per reply */
#define VG_OBS_UDP_ADDRS   16 /* addresses of a reply compared with another's */

struct vg_obs_endpoint {
    char addr[64];      /* "198.51.100.30:443" */
    int depth;          /* redirect depth */
    bool from_udp_only; /* learned only from the UDP resolver, not the system one */
    int tcp_err;        /* 0 connected, else VG_E* */
    bool tls_attempted;
    int tls_err;    /* handshake failure, 0 if completed */
    int verify_err; /* 0 valid, VG_ETLS_* otherwise (only when the handshake completed) */
    bool self_signed;
    char subject[256];
    char issuer[256];
    char verify_reason[640];
    char leaf_sha256[65]; /* hex, "" when no handshake completed */
    char leaf_spki[65];
    size_t n_ca_spki;
    /* SPKI hashes of the CA certificates of the chain the device validated (up to its trust
     * anchor), or of those the peer sent when it did not validate (or, OONI data, as sent) */
    char ca_spki[VG_CTRL_MAX_CA][65];
    /* tls:// with a control: the certificate fails validation, but the control got the same one
     * (the server's own); set by vg_verdict_mark_control (meas/verdict.h) */
    bool ctrl_same_cert;
};

/* One reply of the --resolver server (depth 0), in arrival order, duplicates included. */
struct vg_obs_reply {
    bool aaaa; /* answer to the AAAA query, else to the A query */
    int rcode;
    char brief[96]; /* "IP (IP TTL n, after m ms)", as in the injected evidence */
    size_t n_addrs;
    char addrs[VG_OBS_REPLY_ADDRS][48];
};

/* One reply of the --resolver server as vg_obs_replies reads it: the probe's, from the wire
 * (probe_dns.c), or one a measurement recorded (record_obs.c, for vg_analyze). */
struct vg_obs_udp {
    bool aaaa;    /* answer to the AAAA query, else to the A query */
    int rcode;    /* DNS rcode */
    int ip_ttl;   /* IP TTL of the reply packet, -1 when unknown */
    double after; /* seconds since the query was sent */
    size_t n_addrs;
    const char *addrs[VG_OBS_UDP_ADDRS]; /* the answer's addresses, as text (borrowed) */
};

/* What a measurement targets: a web page, a TLS endpoint (tls://), or a name (dns://). */
enum vg_target { VG_TARGET_WEB, VG_TARGET_TLS, VG_TARGET_DNS };

struct vg_obs {
    enum vg_target target;
    char host[VG_DNS_NAME_MAX + 1];
    bool https; /* scheme of the final URL */
    bool host_is_ip;
    int sys_failure; /* system resolver failure (depth 0), 0 if it answered */
    size_t n_sys_addrs;
    bool udp_used;
    char udp_resolver[64];
    int udp_failure;
    size_t n_udp_addrs;
    char bogon[256];    /* "10.10.34.35 (private) from the system resolver", "" if none */
    char injected[512]; /* evidence of disagreeing duplicate replies, "" if none */
    /* The replies behind `injected`, so that a control can tell the forged one from the genuine
     * one; 0 when not recorded (then `injected` alone decides). Room for VG_OBS_MAX_REPLIES once
     * one is kept (vg_obs_replies_reserve), else NULL: only a measurement with --resolver has
     * replies, so the others do not carry 4 KiB for them. */
    size_t n_replies;
    struct vg_obs_reply *replies;
    size_t n_ep;
    struct vg_obs_endpoint *ep; /* owned, n_ep entries (vg_obs_add_ep) */
    int final_depth;
    bool http_attempted; /* a request was sent (or could not be for lack of a usable endpoint) */
    int http_failure;    /* 0 when a response head was received */
    bool http_udp_only;  /* the page came over an address only the UDP resolver gave */
    char http_addr[64];
    int status;
    char title[4 * VG_HTML_TITLE_MAX + 1]; /* up to 512 UTF-8 characters */
    const char *blockpage; /* name of the matching block-page fingerprint, or NULL */
    /* details OONI's HTTP comparison needs (final response) */
    long body_length; /* bytes kept, -1 when no response */
    bool body_truncated;
    char body_sha256[65];
    size_t n_headers;
    /* response header names as received: n_headers of them, in room for as many as the final
     * response had (vg_obs_headers_reserve), NULL when none (not VG_CTRL_MAX_HDR x 64 bytes in
     * every measurement in flight) */
    char (*headers)[64];
    /* system resolver addresses at depth 0, for DNS consistency */
    size_t n_dns_addrs;
    char dns_addrs[VG_DNS_MAX_ADDRS][48];
    /* Autonomous systems of dns_addrs and of the control's addrs (ctrl->addrs), index for index,
     * for OONI's common-ASN rule; 0 when unknown, for bogons, and always without --asn-db. */
    uint32_t dns_asns[VG_DNS_MAX_ADDRS];
    uint32_t ctrl_asns[VG_DNS_MAX_ADDRS];
    /* the control, when a helper answered; NULL otherwise (borrowed) */
    const struct vg_ctrl *ctrl;
    char control_failure[128]; /* why no control was obtained ("" when none was asked for) */
};

/* OONI's comparison keys; -1 means null. */
struct vg_ooni_keys {
    int dns_consistency;    /* 1 consistent, 0 inconsistent, -1 null (OONI's classic rules) */
    double body_proportion; /* < 0 for null */
    int body_length_match;
    int status_code_match;
    int headers_match;
    int title_match;
    /* vigie: dns_consistency plus LTE's TLS-validity rule (an answer that served a valid
     * certificate for the name is consistent); the verdict uses this one. */
    int x_dns_consistency;
};

enum vg_blocking {
    VG_BLOCKING_NULL,
    VG_BLOCKING_FALSE,
    VG_BLOCKING_DNS,
    VG_BLOCKING_TCP_IP,
    VG_BLOCKING_HTTP_FAILURE,
    VG_BLOCKING_HTTP_DIFF
};

void vg_obs_init(struct vg_obs *o);
void vg_obs_cleanup(struct vg_obs *o);
/* Append a zeroed endpoint; NULL when VG_OBS_MAX_EP are already recorded. */
struct vg_obs_endpoint *vg_obs_add_ep(struct vg_obs *o);
/* Room for VG_OBS_MAX_REPLIES replies, the n_replies ones kept. */
void vg_obs_replies_reserve(struct vg_obs *o);
/* Room for n header names (at most VG_CTRL_MAX_HDR), the n_headers ones kept. */
void vg_obs_headers_reserve(struct vg_obs *o, size_t n);
/* Set every OONI key to null (-1, body_proportion < 0). */
void vg_ooni_keys_null(struct vg_ooni_keys *k);

/* a and b have the same rcode and the same set of addresses. */
bool vg_obs_udp_same(const struct vg_obs_udp *a, const struct vg_obs_udp *b);

/*
 * The replies of the --resolver server to one hop's queries, all[n] in arrival order (same_q:
 * how many replies each query got, A then AAAA, whether all[] holds them all or not), host and
 * resolver ("IP:PORT") named in the evidence. With keep, the first reply of each kind (query,
 * rcode, addresses) goes to o->replies (up to VG_OBS_MAX_REPLIES), so that a control can tell
 * the forged from the genuine; and unless o->injected is already set, the first two replies to
 * one query that disagree are its evidence: "N replies to the A query for HOST from RESOLVER:
 * IP (IP TTL n, after m ms), then IP (...)" (no IP TTL when unknown).
 */
void vg_obs_replies(struct vg_obs *o, const struct vg_obs_udp *all, size_t n,
                    const size_t same_q[2], const char *host, const char *resolver, bool keep);

#endif
