/* SPDX-License-Identifier: MIT */
/*
 * url.h - the URLs vigie measures: http:// and https:// (RFC 3986), IDNA host names converted to
 * A-labels (UTS #46 non-transitional through libidn2), no I/O.
 */
#ifndef VG_PROTO_URL_H
#define VG_PROTO_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

struct vg_url {
    char scheme[8]; /* "http", "https"; as inputs also "tls" (handshake only) and "dns" */
    char host[VG_DNS_NAME_MAX + 1]; /* lower-case A-label name, or IP literal without brackets */
    uint16_t port;                  /* explicit port, else 80 / 443 */
    bool port_explicit;
    int ip_family;         /* 0 for a name, 4 or 6 for an IP literal host */
    char path[VG_URL_MAX]; /* path and query, begins with '/', fragment removed */
};

/*
 * Parse an absolute http(s) URL. Userinfo is rejected, the fragment is dropped, an empty path
 * becomes "/". Errors: VG_EINVAL (no or unsupported scheme, empty or invalid host, invalid port,
 * IDNA conversion failure, control characters or spaces), VG_ETOOBIG (longer than VG_URL_MAX or a
 * host longer than 255).
 */
VG_MUST_USE int vg_url_parse(const char *s, struct vg_url *u);

/*
 * Why vg_url_parse refuses s, for people: which part is wrong ("unsupported scheme 'ftp' (http,
 * https, tls or dns)", "invalid port '99999' (1 to 65535)", "control character or space at byte
 * 12", ...), into buf[cap] (quoting at most a few dozen bytes of s). For a URL vg_url_parse
 * accepts, "valid".
 */
void vg_url_explain(const char *s, char *buf, size_t cap);

/*
 * Resolve a redirect Location (absolute, scheme-relative, absolute-path, relative-path or
 * query-only reference, RFC 3986 5.2, with dot segments removed) against base. Errors as
 * vg_url_parse, and VG_EHTTP_LOCATION when the reference is empty or its host is empty ("http://").
 */
VG_MUST_USE int vg_url_resolve(const struct vg_url *base, const char *ref, struct vg_url *out);

/* Format u in canonical form (default port omitted, IPv6 in brackets). VG_ETOOBIG if cap is short.
 */
VG_MUST_USE int vg_url_format(const struct vg_url *u, char *out, size_t cap);

/* True when the URL's default port for its scheme is used. */
bool vg_url_default_port(const struct vg_url *u);

#endif
