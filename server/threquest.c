/* SPDX-License-Identifier: MIT */
/*
 * threquest.c - the THRequest parser (OONI model.THRequest, internal/model/th.go), the endpoint
 * plan oohelperd derives from it, and the bogon check the helper applies before contacting an
 * address. The URL is only split here (scheme, host, port); the engine validates it fully when
 * the job is submitted.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "th.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

/* ---- bogons -------------------------------------------------------------------------------- */

struct th_prefix {
    uint8_t addr[16];
    unsigned bits;
    bool doc; /* a documentation range (public with --lab) */
};

/* netxlite's bogon list (RFC 6890 special-purpose registries), the order does not matter. */
static const struct th_prefix th_v4[] = {
    {{0}, 8, false},            /* "this network" */
    {{10}, 8, false},           /* RFC 1918 */
    {{100, 64}, 10, false},     /* RFC 6598 CGNAT */
    {{127}, 8, false},          /* loopback */
    {{169, 254}, 16, false},    /* link-local */
    {{172, 16}, 12, false},     /* RFC 1918 */
    {{192, 0, 0}, 24, false},   /* protocol assignments */
    {{192, 0, 2}, 24, true},    /* TEST-NET-1 */
    {{192, 168}, 16, false},    /* RFC 1918 */
    {{198, 18}, 15, false},     /* benchmarking */
    {{198, 51, 100}, 24, true}, /* TEST-NET-2 */
    {{203, 0, 113}, 24, true},  /* TEST-NET-3 */
    {{224}, 4, false},          /* multicast */
    {{240}, 4, false},          /* reserved, broadcast */
};

static const struct th_prefix th_v6[] = {
    {{0}, 128, false},                                              /* :: */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, false}, /* ::1 */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, false},        /* IPv4-mapped */
    {{0, 0x64, 0xff, 0x9b}, 96, false},                             /* NAT64 */
    {{0x01, 0x00}, 64, false},                                      /* discard */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, true},                           /* documentation */
    {{0xfc}, 7, false},                                             /* ULA */
    {{0xfe, 0x80}, 10, false},                                      /* link-local */
    {{0xff}, 8, false},                                             /* multicast */
};

static bool
th_prefix_match(const struct th_prefix *pf, const uint8_t *a)
{
    unsigned full = pf->bits / 8, rest = pf->bits % 8;
    uint8_t mask;

    if (memcmp(pf->addr, a, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (pf->addr[full] & mask);
}

bool
vg_th_is_bogon(const char *ip, bool doc_public)
{
    uint8_t a[16];
    const struct th_prefix *tab;
    size_t n;

    if (inet_pton(AF_INET, ip, a) == 1) {
        tab = th_v4;
        n = sizeof(th_v4) / sizeof(th_v4[0]);
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        tab = th_v6;
        n = sizeof(th_v6) / sizeof(th_v6[0]);
    } else {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (th_prefix_match(&tab[i], a)) {
            return !(tab[i].doc && doc_public);
        }
    }
    return false;
}

/* ---- parsing ------------------------------------------------------------------------------- */

/* Canonical text of an IP address (len bytes, not NUL-terminated); family or 0. */
static int
th_canon_ip(const char *s, size_t len, char out[INET6_ADDRSTRLEN])
{
    char tmp[INET6_ADDRSTRLEN];
    uint8_t a[16];

    if (len == 0 || len >= sizeof(tmp)) {
        return 0;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, a) == 1) {
        inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN);
        return 4;
    }
    if (inet_pton(AF_INET6, tmp, a) == 1) {
        inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
        return 6;
    }
    return 0;
}

/*
 * Split "HOST:PORT" / "[HOST]:PORT" (Go's net.SplitHostPort): *host and *hlen get the host
 * without brackets, *port the port; the port must be decimal in 0..65535.
 */
static int
th_split_hostport(const char *s, size_t len, const char **host, size_t *hlen, uint16_t *port)
{
    const char *colon;
    uint64_t v;

    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', len);

        if (end == NULL || (size_t)(end - s) + 1 >= len || end[1] != ':') {
            return VG_EINVAL;
        }
        *host = s + 1;
        *hlen = (size_t)(end - s - 1);
        colon = end + 1;
    } else {
        colon = NULL;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == ':') {
                if (colon != NULL) {
                    return VG_EINVAL; /* "too many colons": IPv6 needs brackets */
                }
                colon = s + i;
            }
        }
        if (colon == NULL) {
            return VG_EINVAL;
        }
        *host = s;
        *hlen = (size_t)(colon - s);
    }
    VG_TRY(vg_parse_u64n(colon + 1, len - (size_t)(colon + 1 - s), 0, 65535, &v));
    *port = (uint16_t)v;
    return 0;
}

/* Split an http(s) URL enough to plan endpoints and refuse bogon literals. */
static int
th_split_url(struct vg_threq *r, char *err, size_t errlen)
{
    const char *u = r->url, *auth, *end, *host, *at;
    size_t alen, hlen;

    if (vg_strncaseeq(u, "http://", 7)) {
        auth = u + 7;
        r->https = false;
    } else if (vg_strncaseeq(u, "https://", 8)) {
        auth = u + 8;
        r->https = true;
    } else {
        snprintf(err, errlen, "http_request is not an http:// or https:// URL");
        return VG_EINVAL;
    }
    end = auth + strcspn(auth, "/?#");
    /* userinfo ends at the last '@' of the authority */
    for (at = end; at > auth && at[-1] != '@'; at--) {
    }
    if (at > auth) {
        auth = at;
    }
    alen = (size_t)(end - auth);
    host = auth;
    hlen = alen;
    r->port = 0;
    if (alen > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);

        if (close == NULL) {
            snprintf(err, errlen, "http_request has an unterminated IPv6 literal");
            return VG_EINVAL;
        }
        host = auth + 1;
        hlen = (size_t)(close - auth - 1);
        if (close + 1 < end && close[1] != ':') {
            snprintf(err, errlen, "http_request has garbage after the IPv6 literal");
            return VG_EINVAL;
        }
        if (close + 1 < end) {
            const char *ps = close + 2;
            uint64_t v;

            if (ps < end && vg_parse_u64n(ps, (size_t)(end - ps), 1, 65535, &v) < 0) {
                snprintf(err, errlen, "http_request has an invalid port");
                return VG_EINVAL;
            }
            r->port = ps < end ? (uint16_t)v : 0;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);

        if (colon != NULL) {
            const char *ps = colon + 1;
            uint64_t v;

            hlen = (size_t)(colon - auth);
            if (ps < end && vg_parse_u64n(ps, (size_t)(end - ps), 1, 65535, &v) < 0) {
                snprintf(err, errlen, "http_request has an invalid port");
                return VG_EINVAL;
            }
            r->port = ps < end ? (uint16_t)v : 0;
        }
    }
    if (hlen == 0) {
        snprintf(err, errlen, "http_request has no host");
        return VG_EINVAL;
    }
    r->host_family = th_canon_ip(host, hlen, r->host_ip);
    if (auth[0] == '[' && r->host_family != 6) {
        snprintf(err, errlen, "http_request has an invalid IPv6 literal");
        return VG_EINVAL;
    }
    return 0;
}

static int
th_type_error(const char *key, const char *want, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s must be %s", key, want);
    return VG_EPROTO;
}

static int
th_parse_headers(json_t *h, char *err, size_t errlen)
{
    const char *k;
    json_t *v;

    if (json_is_null(h)) {
        return 0;
    }
    if (!json_is_object(h)) {
        return th_type_error("http_request_headers", "an object of string arrays", err, errlen);
    }
    json_object_foreach(h, k, v)
    {
        size_t i;
        json_t *e;

        if (json_is_null(v)) {
            continue;
        }
        if (!json_is_array(v)) {
            return th_type_error("http_request_headers", "an object of string arrays", err, errlen);
        }
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) && !json_is_null(e)) {
                return th_type_error("http_request_headers", "an object of string arrays", err,
                                     errlen);
            }
        }
    }
    return 0;
}

static void
th_add_endpoint_ip(struct vg_threq *r, const char *s, size_t len)
{
    const char *host;
    size_t hlen;
    uint16_t port;
    char ip[INET6_ADDRSTRLEN];

    if (th_split_hostport(s, len, &host, &hlen, &port) < 0 || th_canon_ip(host, hlen, ip) == 0) {
        r->n_ignored++;
        return;
    }
    for (size_t i = 0; i < r->n_ips; i++) {
        if (strcmp(r->ips[i], ip) == 0) {
            return;
        }
    }
    if (r->n_ips >= VG_TH_MAX_IPS) {
        r->n_ignored++;
        return;
    }
    memcpy(r->ips[r->n_ips++], ip, sizeof(ip));
}

int
vg_threq_parse(const char *body, size_t len, struct vg_threq *out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root, *v;
    const char *url;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    root = json_loadb(body, len, 0, &je);
    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        return VG_EPROTO;
    }
    if (!json_is_object(root)) {
        rc = th_type_error("the request", "a JSON object", err, errlen);
        goto out;
    }
    v = json_object_get(root, "http_request");
    if (v == NULL || json_is_null(v)) {
        snprintf(err, errlen, "http_request is missing");
        rc = VG_EINVAL;
        goto out;
    }
    if (!json_is_string(v)) {
        rc = th_type_error("http_request", "a string", err, errlen);
        goto out;
    }
    url = json_string_value(v);
    if (json_string_length(v) > VG_URL_MAX || strlen(url) != json_string_length(v)) {
        snprintf(err, errlen, "http_request is longer than %d bytes", VG_URL_MAX);
        rc = VG_EINVAL;
        goto out;
    }
    out->url = vg_xstrdup(url);
    v = json_object_get(root, "http_request_headers");
    if (v != NULL && (rc = th_parse_headers(v, err, errlen)) < 0) {
        goto out;
    }
    v = json_object_get(root, "x_quic_enabled");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            rc = th_type_error("x_quic_enabled", "a boolean", err, errlen);
            goto out;
        }
        out->quic = json_is_true(v);
    }
    v = json_object_get(root, "tcp_connect");
    if (v != NULL && !json_is_null(v)) {
        size_t i;
        json_t *e;

        if (!json_is_array(v)) {
            rc = th_type_error("tcp_connect", "an array of strings", err, errlen);
            goto out;
        }
        json_array_foreach(v, i, e)
        {
            if (json_is_null(e)) {
                out->n_ignored++;
                continue;
            }
            if (!json_is_string(e)) {
                rc = th_type_error("tcp_connect", "an array of strings", err, errlen);
                goto out;
            }
            th_add_endpoint_ip(out, json_string_value(e), json_string_length(e));
        }
    }
    rc = th_split_url(out, err, errlen);
out:
    json_decref(root);
    if (rc < 0) {
        vg_threq_cleanup(out);
    }
    return rc;
}

void
vg_threq_cleanup(struct vg_threq *r)
{
    if (r == NULL) {
        return;
    }
    VG_FREE(r->url);
    memset(r, 0, sizeof(*r));
}

size_t
vg_threq_ports(const struct vg_threq *r, uint16_t ports[2])
{
    if (r->port != 0) {
        ports[0] = r->port;
        return 1;
    }
    if (r->https) {
        ports[0] = 443;
        return 1;
    }
    ports[0] = 80;
    ports[1] = 443;
    return 2;
}

size_t
vg_threq_endpoints(const struct vg_threq *r, bool skip_bogons, bool doc_public,
                   char out[][INET6_ADDRSTRLEN + 8], size_t max)
{
    uint16_t ports[2];
    size_t n_ports = vg_threq_ports(r, ports), n = 0;
    for (size_t i = 0; i < r->n_ips; i++) {
        bool v6 = strchr(r->ips[i], ':') != NULL;

        if (skip_bogons && vg_th_is_bogon(r->ips[i], doc_public)) {
            continue;
        }
        for (size_t j = 0; j < n_ports && n < max; j++) {
            snprintf(out[n++], INET6_ADDRSTRLEN + 8, v6 ? "[%s]:%u" : "%s:%u", r->ips[i],
                     (unsigned)ports[j]);
        }
    }
    return n;
}
