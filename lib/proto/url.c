/* SPDX-License-Identifier: MIT */
/*
 * url.c - absolute http(s) URLs and redirect resolution (RFC 3986), IDNA through libidn2.
 *
 * Only what a measurement needs is accepted: http and https, a host that is a DNS name or an IP
 * literal, an optional port. The path and query are kept byte for byte (no percent-decoding), so
 * the request we send is the one the input asked for. Every URL this module produces can be
 * formatted back into VG_URL_MAX bytes.
 */
#include "proto/url.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdio.h>
#include <string.h>

#include "util/str.h"

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Controls, space and DEL never appear in a URL we accept (RFC 3986 2, appendix C). */
static int
check_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        VG_ENSURE(c > 0x20 && c != 0x7f, VG_EINVAL);
    }
    return 0;
}

/* RFC 3986 3.1: length of the scheme before ':', or 0 when s has no scheme. */
static size_t
scheme_len(const char *s)
{
    size_t i = 0;

    if (!is_alpha(s[0])) {
        return 0;
    }
    while (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.') {
        i++;
    }
    return s[i] == ':' ? i : 0;
}

/* http and https everywhere; tls (TLS handshake only) and dns (resolution only) as inputs, never
 * as redirect targets. */
static int
parse_scheme(const char *s, size_t n, struct vg_url *u, bool inputs)
{
    if (inputs && n == 3 && vg_strncaseeq(s, "tls", 3)) {
        memcpy(u->scheme, "tls", 4);
        u->port = 443;
        return 0;
    }
    if (inputs && n == 3 && vg_strncaseeq(s, "dns", 3)) {
        memcpy(u->scheme, "dns", 4);
        u->port = 53;
        return 0;
    }
    if (n == 4 && vg_strncaseeq(s, "http", 4)) {
        memcpy(u->scheme, "http", 5);
        u->port = 80;
        return 0;
    }
    if (n == 5 && vg_strncaseeq(s, "https", 5)) {
        memcpy(u->scheme, "https", 6);
        u->port = 443;
        return 0;
    }
    return VG_EINVAL;
}

/* RFC 3986 3.2.3. An empty port means the default one (6.2.3). */
static int
parse_port(const char *s, size_t n, struct vg_url *u)
{
    uint64_t v;

    if (n == 0) {
        return 0;
    }
    VG_ENSURE(vg_parse_u64n(s, n, 1, 65535, &v) == 0, VG_EINVAL);
    u->port = (uint16_t)v;
    u->port_explicit = true;
    return 0;
}

/* IP-literal of RFC 3986 3.2.2, IPv6 only (no IPvFuture, no zone identifier). */
static int
parse_ipv6_host(const char *s, size_t n, struct vg_url *u)
{
    char buf[INET6_ADDRSTRLEN];
    uint8_t addr[16];

    VG_ENSURE(n > 0 && n < sizeof(buf), VG_EINVAL);
    memcpy(buf, s, n);
    buf[n] = '\0';
    VG_ENSURE(inet_pton(AF_INET6, buf, addr) == 1, VG_EINVAL);
    /* The RFC 5952 text form, so that equal addresses compare equal as strings. */
    VG_ENSURE(inet_ntop(AF_INET6, addr, u->host, sizeof(u->host)) != NULL, VG_EINTERNAL);
    u->ip_family = 6;
    return 0;
}

/*
 * A host name after IDNA: letters, digits, '-' and '_' in labels of 1 to 63 bytes, one final dot
 * allowed. A last label made of digits only is a malformed IPv4 address, not a name to resolve.
 */
static int
check_ascii_name(const char *h)
{
    size_t label = 0, i;
    bool numeric = true;

    VG_ENSURE(h[0] != '\0', VG_EINVAL);
    for (i = 0; h[i] != '\0'; i++) {
        char c = h[i];

        if (c == '.') {
            VG_ENSURE(label > 0, VG_EINVAL);
            if (h[i + 1] == '\0') {
                break;
            }
            label = 0;
            numeric = true;
            continue;
        }
        VG_ENSURE(is_alpha(c) || is_digit(c) || c == '-' || c == '_', VG_EINVAL);
        VG_ENSURE(++label <= VG_DNS_LABEL_MAX, VG_EINVAL);
        numeric = numeric && is_digit(c);
    }
    VG_ENSURE(!numeric, VG_EINVAL);
    return 0;
}

/* RFC 3986 3.2.2 reg-name or IPv4address; UTS #46 non-transitional processing for IDNs. */
static int
parse_name_host(const char *s, size_t n, struct vg_url *u)
{
    char buf[VG_URL_MAX];
    uint8_t addr[4];
    bool ascii = true;

    VG_ENSURE(n > 0, VG_EINVAL);
    VG_ENSURE(n < sizeof(buf), VG_ETOOBIG);
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        ascii = ascii && (unsigned char)buf[i] < 0x80;
    }
    if (ascii) {
        /*
         * All-ASCII names skip libidn2 on purpose: its label checks refuse names that exist on the
         * web (hyphens in positions 3 and 4, as in "r3---sn-x.googlevideo.com").
         */
        VG_ENSURE(n <= VG_DNS_NAME_MAX, VG_ETOOBIG);
        memcpy(u->host, buf, n + 1);
    } else {
        char *alabel = NULL;
        int rc = idn2_to_ascii_8z(buf, &alabel, IDN2_NONTRANSITIONAL);

        if (rc != IDN2_OK) {
            return rc == IDN2_TOO_BIG_DOMAIN ? VG_ETOOBIG : VG_EINVAL;
        }
        rc = vg_strlcpy(u->host, alabel, sizeof(u->host));
        idn2_free(alabel);
        VG_TRY(rc);
    }
    vg_str_lower(u->host);
    if (inet_pton(AF_INET, u->host, addr) == 1) {
        u->ip_family = 4;
        return 0;
    }
    return check_ascii_name(u->host);
}

/* RFC 3986 3.2: authority = host [":" port], with userinfo refused. */
static int
parse_authority(const char *s, size_t n, struct vg_url *u)
{
    const char *colon;
    size_t hlen;

    VG_ENSURE(memchr(s, '@', n) == NULL, VG_EINVAL);
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);

        VG_ENSURE(close != NULL, VG_EINVAL);
        hlen = (size_t)(close - s) + 1;
        VG_TRY(parse_ipv6_host(s + 1, hlen - 2, u));
        VG_ENSURE(hlen == n || s[hlen] == ':', VG_EINVAL);
    } else {
        colon = memchr(s, ':', n);
        hlen = colon != NULL ? (size_t)(colon - s) : n;
        VG_TRY(parse_name_host(s, hlen, u));
    }
    if (hlen < n) {
        VG_TRY(parse_port(s + hlen + 1, n - hlen - 1, u));
    }
    return 0;
}

/* Path and query (fragment dropped); an empty path becomes "/". */
static int
set_path(struct vg_url *u, const char *s, size_t n)
{
    size_t off = 0;

    if (n == 0 || s[0] != '/') {
        u->path[off++] = '/';
    }
    VG_ENSURE(off + n < sizeof(u->path), VG_ETOOBIG);
    memcpy(u->path + off, s, n);
    u->path[off + n] = '\0';
    return 0;
}

/* Every URL handed out must fit VG_URL_MAX once formatted (hosts can grow through IDNA). */
static int
check_formatted(const struct vg_url *u)
{
    char buf[VG_URL_MAX];

    return vg_url_format(u, buf, sizeof(buf));
}

int
vg_url_parse(const char *s, struct vg_url *u)
{
    size_t len = strnlen(s, VG_URL_MAX), slen, auth, alen, plen;

    memset(u, 0, sizeof(*u));
    VG_ENSURE(len < VG_URL_MAX, VG_ETOOBIG);
    VG_TRY(check_chars(s, len));
    slen = scheme_len(s);
    VG_ENSURE(slen > 0, VG_EINVAL);
    VG_TRY(parse_scheme(s, slen, u, true));
    VG_ENSURE(s[slen + 1] == '/' && s[slen + 2] == '/', VG_EINVAL);

    auth = slen + 3;
    alen = strcspn(s + auth, "/?#");
    VG_TRY(parse_authority(s + auth, alen, u));
    plen = strcspn(s + auth + alen, "#");
    VG_TRY(set_path(u, s + auth + alen, plen));
    return check_formatted(u);
}

/* The authority's part of vg_url_explain: host (and port) of s[n]. */
static void
explain_authority(const char *s, size_t n, char *buf, size_t cap)
{
    struct vg_url u;
    size_t hlen;
    int rc;

    memset(&u, 0, sizeof(u));
    if (memchr(s, '@', n) != NULL) {
        snprintf(buf, cap, "user information ('user@') is not accepted");
        return;
    }
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);

        hlen = close != NULL ? (size_t)(close - s) + 1 : n;
        if (close == NULL || parse_ipv6_host(s + 1, hlen - 2, &u) < 0) {
            snprintf(buf, cap, "invalid IPv6 address '%.*s'", (int)(hlen < 60 ? hlen : 60), s);
            return;
        }
        if (hlen < n && s[hlen] != ':') {
            snprintf(buf, cap, "unexpected '%c' after the IPv6 address", s[hlen]);
            return;
        }
    } else {
        const char *colon = memchr(s, ':', n);

        hlen = colon != NULL ? (size_t)(colon - s) : n;
        if (hlen == 0) {
            snprintf(buf, cap, "no host");
            return;
        }
        rc = parse_name_host(s, hlen, &u);
        if (rc == VG_ETOOBIG) {
            snprintf(buf, cap, "host name longer than %d bytes", VG_DNS_NAME_MAX);
            return;
        }
        if (rc < 0) {
            snprintf(buf, cap,
                     "invalid host name '%.*s' (letters, digits, '-' and '_' in "
                     "labels of 1 to 63)",
                     (int)(hlen < 60 ? hlen : 60), s);
            return;
        }
    }
    if (hlen < n && parse_port(s + hlen + 1, n - hlen - 1, &u) < 0) {
        size_t plen = n - hlen - 1;

        snprintf(buf, cap, "invalid port '%.*s' (1 to 65535)", (int)(plen < 20 ? plen : 20),
                 s + hlen + 1);
        return;
    }
    snprintf(buf, cap, "too long once formatted");
}

void
vg_url_explain(const char *s, char *buf, size_t cap)
{
    size_t len = strnlen(s, VG_URL_MAX), slen, alen;
    struct vg_url u;

    if (cap == 0) {
        return;
    }
    if (len >= VG_URL_MAX) {
        snprintf(buf, cap, "longer than %d bytes", VG_URL_MAX - 1);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c == 0x7f) {
            snprintf(buf, cap, "%s at byte %zu", c == ' ' ? "space" : "control character", i + 1);
            return;
        }
    }
    slen = scheme_len(s);
    memset(&u, 0, sizeof(u));
    if (slen == 0) {
        snprintf(buf, cap, "no scheme (http://, https://, tls:// or dns://)");
        return;
    }
    if (parse_scheme(s, slen, &u, true) < 0) {
        snprintf(buf, cap, "unsupported scheme '%.*s' (http, https, tls or dns)",
                 (int)(slen < 20 ? slen : 20), s);
        return;
    }
    if (s[slen + 1] != '/' || s[slen + 2] != '/') {
        snprintf(buf, cap, "no '//' after '%.*s:'", (int)slen, s);
        return;
    }
    alen = strcspn(s + slen + 3, "/?#");
    if (vg_url_parse(s, &u) == 0) {
        snprintf(buf, cap, "valid");
        return;
    }
    if (parse_authority(s + slen + 3, alen, &u) == 0) {
        snprintf(buf, cap, "path longer than %zu bytes", sizeof(u.path) - 2);
        return;
    }
    explain_authority(s + slen + 3, alen, buf, cap);
}

/*
 * RFC 3986 5.2.4. in[n] is a path without query; the result is written to out, which must hold
 * n + 1 bytes (the output never grows beyond the input).
 */
static void
remove_dot_segments(const char *src, size_t n, char *out)
{
    char in[VG_URL_MAX];
    size_t i = 0, o = 0;

    memcpy(in, src, n);
    in[n] = '\0';
    while (i < n) {
        const char *p = in + i;

        if (strncmp(p, "../", 3) == 0) { /* A */
            i += 3;
        } else if (strncmp(p, "./", 2) == 0) { /* A */
            i += 2;
        } else if (strncmp(p, "/./", 3) == 0) { /* B */
            i += 2;
        } else if (strcmp(p, "/.") == 0) { /* B */
            i += 1;
            in[i] = '/';
        } else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) { /* C */
            if (p[3] == '/') {
                i += 3;
            } else {
                i += 2;
                in[i] = '/';
            }
            while (o > 0 && out[o - 1] != '/') {
                o--;
            }
            if (o > 0) {
                o--;
            }
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) { /* D */
            i = n;
        } else { /* E */
            if (in[i] == '/') {
                out[o++] = in[i++];
            }
            while (i < n && in[i] != '/') {
                out[o++] = in[i++];
            }
        }
    }
    out[o] = '\0';
}

/* RFC 3986 5.2.2 and 5.2.3, for a reference without scheme and authority. */
static int
resolve_path(const struct vg_url *base, const char *ref, struct vg_url *t)
{
    char merged[VG_URL_MAX], path[VG_URL_MAX];
    size_t rpath = strcspn(ref, "?#"), rquery, bpath, mlen = 0;

    rquery = strcspn(ref + rpath, "#"); /* the query with its '?', or 0 */
    bpath = strcspn(base->path, "?");

    if (rpath == 0) {
        /* Same document: the base path, and the base query unless the reference has one. */
        const char *q = rquery > 0 ? ref : base->path + bpath;
        size_t qlen = rquery > 0 ? rquery : strlen(q);

        VG_ENSURE(bpath + qlen < sizeof(path), VG_ETOOBIG);
        memcpy(path, base->path, bpath);
        memcpy(path + bpath, q, qlen);
        return set_path(t, path, bpath + qlen);
    }
    if (ref[0] != '/') {
        /* 5.2.3 merge: the base path up to and including its last '/', then the reference. */
        for (size_t i = 0; i < bpath; i++) {
            if (base->path[i] == '/') {
                mlen = i + 1;
            }
        }
        if (mlen == 0) {
            merged[mlen++] = '/';
        } else {
            memcpy(merged, base->path, mlen);
        }
    }
    VG_ENSURE(mlen + rpath < sizeof(merged), VG_ETOOBIG);
    memcpy(merged + mlen, ref, rpath);
    mlen += rpath;
    remove_dot_segments(merged, mlen, path);
    mlen = strlen(path);
    VG_ENSURE(mlen + rquery < sizeof(path), VG_ETOOBIG);
    memcpy(path + mlen, ref + rpath, rquery);
    return set_path(t, path, mlen + rquery);
}

int
vg_url_resolve(const struct vg_url *base, const char *ref, struct vg_url *out)
{
    size_t rlen = strnlen(ref, VG_URL_MAX), slen;
    struct vg_url t;

    VG_ENSURE(rlen > 0, VG_EHTTP_LOCATION);
    VG_ENSURE(rlen < VG_URL_MAX, VG_ETOOBIG);
    VG_TRY(check_chars(ref, rlen));

    slen = scheme_len(ref);
    if (slen > 0) {
        /* Absolute URI: only http(s) with an authority and a host. */
        VG_TRY(parse_scheme(ref, slen, &t, false));
        VG_ENSURE(ref[slen + 1] == '/' && ref[slen + 2] == '/', VG_EHTTP_LOCATION);
        VG_ENSURE(strcspn(ref + slen + 3, "/?#:") > 0, VG_EHTTP_LOCATION);
        VG_TRY(vg_url_parse(ref, &t));
    } else if (ref[0] == '/' && ref[1] == '/') {
        /* Network-path reference: the base scheme with a new authority. */
        char abs[VG_URL_MAX + sizeof(t.scheme)];
        int n;

        VG_ENSURE(strcspn(ref + 2, "/?#:") > 0, VG_EHTTP_LOCATION);
        n = snprintf(abs, sizeof(abs), "%s:%s", base->scheme, ref);
        VG_ENSURE(n > 0 && (size_t)n < sizeof(abs), VG_ETOOBIG);
        VG_TRY(vg_url_parse(abs, &t));
    } else {
        t = *base;
        VG_TRY(resolve_path(base, ref, &t));
        VG_TRY(check_formatted(&t));
    }
    *out = t;
    return 0;
}

bool
vg_url_default_port(const struct vg_url *u)
{
    if (strcmp(u->scheme, "https") == 0 || strcmp(u->scheme, "tls") == 0) {
        return u->port == 443;
    }
    if (strcmp(u->scheme, "dns") == 0) {
        return u->port == 53;
    }
    return u->port == 80;
}

int
vg_url_format(const struct vg_url *u, char *out, size_t cap)
{
    char port[8] = "";
    bool v6 = u->ip_family == 6;
    int n;

    VG_ENSURE(cap > 0, VG_ETOOBIG);
    if (!vg_url_default_port(u)) {
        snprintf(port, sizeof(port), ":%u", (unsigned)u->port);
    }
    n = snprintf(out, cap, "%s://%s%s%s%s%s", u->scheme, v6 ? "[" : "", u->host, v6 ? "]" : "",
                 port, u->path);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return VG_ETOOBIG;
    }
    return 0;
}
