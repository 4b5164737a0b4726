/* SPDX-License-Identifier: MIT */
/*
 * control.h - what the control vantage point (a test helper speaking OONI's protocol, e.g.
 * `vigie helper` or oohelperd) reported for one URL: the THResponse (ooni-reference.md section 3)
 * as vg_rec_thresponse_parse (lib/meas/record_th.h) reads it, vigie's TLS and HTTP extensions
 * included when present, and the questions the verdict and OONI's comparison ask of it.
 */
#ifndef VG_MEAS_CONTROL_H
#define VG_MEAS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/limits.h"

#define VG_CTRL_MAX_EP  32 /* endpoints kept from one THResponse */
#define VG_CTRL_MAX_CA  4  /* CA SPKI hashes kept per endpoint chain */
#define VG_CTRL_MAX_HDR 64 /* response header names kept */

struct vg_ctrl_endpoint {
    char addr[64]; /* "ip:port" / "[ip6]:port", the THResponse key */
    bool tcp_ok;
    char tcp_failure[64]; /* "" when null */
    bool tls_present;     /* a tls_handshake entry exists for this endpoint */
    bool tls_ok;
    char tls_failure[64];
    /* vigie extensions; x_present is false when the helper is not vigie */
    bool x_present;
    bool x_valid;         /* the chain validated for the name at the control */
    char leaf_sha256[65]; /* hex */
    char leaf_spki[65];   /* hex SHA-256 of the leaf SubjectPublicKeyInfo */
    size_t n_ca_spki;
    /* SPKI hashes of the chain's CA certificates: the chain the control validated, up to its
     * trust anchor (a vigie helper from issue 14 on; earlier ones: the chain as served) */
    char ca_spki[VG_CTRL_MAX_CA][65];
};

struct vg_ctrl {
    /* dns */
    char dns_failure[64]; /* "" when null; OONI legacy strings: dns_name_error, ... */
    size_t n_addrs;
    char addrs[VG_DNS_MAX_ADDRS][48];
    /* http_request */
    char http_failure[64]; /* "" when null */
    int status;            /* -1 when the request failed */
    long body_length;      /* -1 when the request failed */
    char title[4 * VG_HTML_TITLE_MAX + 1];
    size_t n_headers;
    char headers[VG_CTRL_MAX_HDR][64]; /* header names, as the helper sent them */
    char body_sha256[65];              /* vigie extension, "" if absent */
    /* tcp_connect and tls_handshake, by endpoint */
    size_t n_ep;
    struct vg_ctrl_endpoint ep[VG_CTRL_MAX_EP];
    /* vigie extension: the address the helper saw the request come from ("" when absent or not
     * an IP address). Only for looking up the probe's network: never written anywhere. */
    char client_addr[48];
    /* vigie extension: x_target, the tls:// or dns:// target the helper measured ("" when absent:
     * a web page, or a helper that does not know the extension) */
    char target[VG_URL_MAX + 1];
};

/* The endpoint entry for addr ("ip:port"), or NULL. */
const struct vg_ctrl_endpoint *vg_ctrl_endpoint(const struct vg_ctrl *c, const char *addr);
/* ip is one of the control's DNS answers (IPv4-mapped IPv6 equals its IPv4 form). */
bool vg_ctrl_has_addr(const struct vg_ctrl *c, const char *ip);
/* The control's failure string means NXDOMAIN (legacy dns_name_error or dns_nxdomain_error). */
bool vg_ctrl_is_nxdomain(const char *failure);
/* The control fetched the URL (a final response with no failure); false when c is NULL. */
bool vg_ctrl_http_ok(const struct vg_ctrl *c);
/* The control tried to fetch the URL and failed; false when c is NULL. */
bool vg_ctrl_http_failed(const struct vg_ctrl *c);
/* The control's handshake on e completed and its certificate validated. */
bool vg_ctrl_tls_valid(const struct vg_ctrl_endpoint *e);

#endif
