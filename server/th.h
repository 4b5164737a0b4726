/* SPDX-License-Identifier: MIT */
/*
 * th.h - OONI's web connectivity test-helper protocol (docs/helper.md, ooni-reference.md
 * section 3), without I/O: the THRequest parser, the bogon check the helper applies to the
 * addresses it is asked to contact, and the THResponse built from one engine measurement.
 */
#ifndef VG_SERVER_TH_H
#define VG_SERVER_TH_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

/* Distinct probe addresses (tcp_connect) measured for one request; more are ignored. oohelperd
 * has no cap; a probe sends one entry per address it resolved (a few). Two ports each must leave
 * the engine room (VG_DNS_MAX_ADDRS endpoints) for the helper's own DNS answers. */
#define VG_TH_MAX_IPS VG_CTRL_PROBE_IPS

/* Endpoints submitted to the engine for one request: each probe address on at most two ports. */
#define VG_TH_MAX_ENDPOINTS (2 * VG_TH_MAX_IPS)

/* A parsed THRequest. */
struct vg_threq {
    char *url;                      /* http_request, owned */
    bool https;                     /* scheme */
    uint16_t port;                  /* explicit port of the URL, 0 when none */
    int host_family;                /* 4 or 6 when the URL host is an IP literal, else 0 */
    char host_ip[INET6_ADDRSTRLEN]; /* the literal, canonical, when host_family != 0 */
    size_t n_ips; /* distinct addresses of tcp_connect, canonical, in request order */
    char ips[VG_TH_MAX_IPS][INET6_ADDRSTRLEN];
    size_t n_ignored; /* tcp_connect entries that are not IP:PORT, or past VG_TH_MAX_IPS */
    bool quic;        /* x_quic_enabled (accepted, not measured: no QUIC in vigie) */
};

/*
 * Parse a THRequest body (len bytes, untrusted). On success fills *out (release with
 * vg_threq_cleanup). Errors, with a human message in err: VG_EPROTO when the body is not JSON, is
 * not an object, or a known key has the wrong type; VG_EINVAL when http_request is missing or is
 * not an http(s) URL of at most VG_URL_MAX bytes. Entries of tcp_connect that are not IP:PORT are
 * skipped (counted in n_ignored), as oohelperd skips them.
 */
VG_MUST_USE int vg_threq_parse(const char *body, size_t len, struct vg_threq *out, char *err,
                               size_t errlen);
void vg_threq_cleanup(struct vg_threq *r);

/*
 * The endpoints oohelperd derives from a request (internal/oohelperd/ipinfo.go): each probe
 * address on the URL's explicit port, else 443 for https, else 80 and 443. Bogon addresses are
 * left out when skip_bogons. Writes "IP:PORT" / "[IP6]:PORT" strings into out[0..max) and returns
 * how many.
 */
/* The ports oohelperd measures for r's URL (into ports[2]); returns how many (1 or 2). */
size_t vg_threq_ports(const struct vg_threq *r, uint16_t ports[2]);
size_t vg_threq_endpoints(const struct vg_threq *r, bool skip_bogons, bool doc_public,
                          char out[][INET6_ADDRSTRLEN + 8], size_t max);

/*
 * OONI's bogon notion (netxlite IsBogon): unspecified, loopback, private (RFC 1918, CGNAT, ULA),
 * link-local, multicast, reserved and documentation ranges, and every IPv4-mapped IPv6 address.
 * With doc_public the documentation ranges count as public (the lab uses them). A string that is
 * not an IP address is not a bogon.
 */
bool vg_th_is_bogon(const char *ip, bool doc_public);

struct vg_thresp_opts {
    bool doc_public;  /* documentation ranges are public (vigie helper --lab) */
    bool skip_bogons; /* leave bogon endpoints out of tcp_connect / tls_handshake */
    /* x_client_addr: the address the request came from, so that a probe can look up its own
     * network (probe_asn, probe_cc); NULL leaves the key out. Written in the response only. */
    const char *client_addr;
};

/*
 * Build the THResponse (compact JSON text, owned by the caller) for request r from the engine's
 * measurement meas (JSON text, len bytes): the depth=0 steps for tcp_connect, tls_handshake and
 * dns, the final request for http_request. When page is not NULL, http_request comes from that
 * measurement instead (see vg_thresponse_fetched_probe_addr). Failure strings are mapped to the
 * legacy ones OONI's helper reports. Errors: VG_EPROTO when meas (or page) is not a measurement.
 */
VG_MUST_USE int vg_thresponse_build(const char *meas, size_t len, const char *page, size_t page_len,
                                    const struct vg_threq *r, const struct vg_thresp_opts *o,
                                    char **out);

/*
 * True when the engine fetched the page (first hop) over an address that only the probe gave
 * (tcp_connect), not one the helper's own resolution returned. oohelperd fetches over its own
 * resolution only, so that a censor's address cannot become the control's page: the helper then
 * fetches again without the probe's endpoints and takes http_request from that measurement.
 */
bool vg_thresponse_fetched_probe_addr(const char *meas, size_t len, const struct vg_threq *r);

/* Legacy failure mappings (NULL in, NULL out; the result is static). */
const char *vg_th_dns_failure(const char *failure);
const char *vg_th_tcp_failure(const char *failure);
const char *vg_th_http_failure(const char *failure, bool during_dns);

#endif
