/* SPDX-License-Identifier: MIT */
/*
 * record_th.c - the test helper's THRequest, written by the probe and read by the helper
 * (record_th.h; oohelperd's internal/model/th.go, ooni-reference.md section 3, plus vigie's x_
 * extensions of docs/helper.md). The THResponse: written by the helper from its measurement in
 * record_th_resp.c, read by the probe (and from measurements) in record_th_read.c.
 *
 * The THRequest reader takes bytes from the network: it checks every known key's type and says
 * why it refuses a request; its URL is parsed by lib/proto/url, as the engine will parse it.
 */
#include "meas/record_th.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meas/record_keys.h"
#include "proto/ipaddr.h"
#include "proto/url.h"
#include "util/mem.h"
#include "util/str.h"

/* ---- THRequest: writer ----------------------------------------------------------------------- */

json_t *
vg_rec_threquest(const char *url, const char *const *tcp_connect, size_t n,
                 const char *const *headers_kv, size_t n_headers, bool quic)
{
    json_t *eps = json_array(), *hdrs = json_object();

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(eps, json_string(tcp_connect[i]));
    }
    for (size_t i = 0; i < n_headers; i++) {
        json_object_set_new(hdrs, headers_kv[2 * i], json_pack("[s]", headers_kv[2 * i + 1]));
    }
    return json_pack("{s:s, s:o, s:o, s:b}", VG_REC_KEY_HTTP_REQUEST, url,
                     VG_REC_KEY_HTTP_REQUEST_HEADERS, hdrs, VG_REC_KEY_TCP_CONNECT, eps,
                     VG_REC_KEY_X_QUIC_ENABLED, quic);
}

/* tls://HOST:PORT -> https://HOST:PORT/, dns://NAME -> http://NAME/: the URL a helper that does
 * not know x_target can read. */
static int
vg__th_target_compat(const char *target, char *out, size_t cap)
{
    struct vg_url u;

    VG_TRY(vg_url_parse(target, &u));
    if (strcmp(u.scheme, "tls") == 0) {
        memcpy(u.scheme, "https", 6);
    } else if (strcmp(u.scheme, "dns") == 0) {
        memcpy(u.scheme, "http", 5);
        u.port = 80;
        u.port_explicit = false;
    } else {
        return VG_EINVAL;
    }
    memcpy(u.path, "/", 2);
    return vg_url_format(&u, out, cap);
}

json_t *
vg_rec_threquest_target(const char *target, const char *const *tcp_connect, size_t n,
                        const char *const *headers_kv, size_t n_headers)
{
    char url[VG_URL_MAX];
    json_t *req;

    if (vg__th_target_compat(target, url, sizeof(url)) < 0) {
        return NULL;
    }
    req = vg_rec_threquest(url, tcp_connect, n, headers_kv, n_headers, false);
    if (req != NULL && json_object_set_new(req, VG_REC_KEY_X_TARGET, json_string(target)) < 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

void
vg_rec_threquest_ask_tls(json_t *req)
{
    json_object_set_new(req, VG_REC_KEY_X_TLS_ANY_PORT, json_true());
}

/* ---- THRequest: reader ----------------------------------------------------------------------- */

/* The URL: an http(s) URL by lib/proto/url's rules, those of the engine that will measure it. */
static int
vg__th_req_url(struct vg_rec_threq *r, char *err, size_t errlen)
{
    struct vg_url u;
    int rc;

    if (!vg_strncaseeq(r->url, "http://", 7) && !vg_strncaseeq(r->url, "https://", 8)) {
        snprintf(err, errlen, "http_request is not an http:// or https:// URL");
        return VG_EINVAL;
    }
    if ((rc = vg_url_parse(r->url, &u)) < 0) {
        snprintf(err, errlen, "http_request is not a valid URL (%s)", vg_strerror(rc));
        return VG_EINVAL;
    }
    r->https = strcmp(u.scheme, "https") == 0;
    r->port = u.port_explicit ? u.port : 0;
    r->host_family = u.ip_family;
    if (u.ip_family != 0) {
        snprintf(r->host_ip, sizeof(r->host_ip), "%s", u.host);
    }
    return 0;
}

static int
vg__th_type_error(const char *key, const char *want, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s must be %s", key, want);
    return VG_EPROTO;
}

/* x_target (vigie's extension): a tls:// or dns:// target, measured instead of http_request. */
static int
vg__th_req_target(json_t *v, struct vg_rec_threq *r, char *err, size_t errlen)
{
    struct vg_url u;
    const char *s;
    int rc;

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return vg__th_type_error(VG_REC_KEY_X_TARGET, "a string", err, errlen);
    }
    s = json_string_value(v);
    if (json_string_length(v) > VG_URL_MAX || strlen(s) != json_string_length(v)) {
        snprintf(err, errlen, "x_target is longer than %d bytes", VG_URL_MAX);
        return VG_EINVAL;
    }
    if (!vg_strncaseeq(s, "tls://", 6) && !vg_strncaseeq(s, "dns://", 6)) {
        snprintf(err, errlen, "x_target is not a tls:// or dns:// target");
        return VG_EINVAL;
    }
    if ((rc = vg_url_parse(s, &u)) < 0) {
        snprintf(err, errlen, "x_target is not a valid target (%s)", vg_strerror(rc));
        return VG_EINVAL;
    }
    free(r->url);
    r->url = vg_xstrdup(s);
    r->target = strcmp(u.scheme, "tls") == 0 ? VG_REC_TH_TLS : VG_REC_TH_DNS;
    r->https = r->target == VG_REC_TH_TLS;
    r->port = r->target == VG_REC_TH_TLS ? u.port : 0;
    r->host_family = u.ip_family;
    r->host_ip[0] = '\0';
    if (u.ip_family != 0) {
        snprintf(r->host_ip, sizeof(r->host_ip), "%s", u.host);
    }
    return 0;
}

/* A header value that can be sent as one line: no control character but HTAB, bounded. */
static bool
vg__th_req_header_ok(json_t *e)
{
    const unsigned char *s = (const unsigned char *)json_string_value(e);
    size_t len = json_string_length(e);

    if (s == NULL || len > VG_CTRL_HEADER_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

/* The forwarded header name k belongs to: oohelperd forwards these three only. */
static char **
vg__th_req_header_slot(struct vg_rec_threq *r, const char *k)
{
    if (strcasecmp(k, VG_REC_HDR_USER_AGENT) == 0) {
        return &r->user_agent;
    }
    if (strcasecmp(k, VG_REC_HDR_ACCEPT) == 0) {
        return &r->accept;
    }
    if (strcasecmp(k, VG_REC_HDR_ACCEPT_LANGUAGE) == 0) {
        return &r->accept_language;
    }
    return NULL;
}

static int
vg__th_req_headers(json_t *h, struct vg_rec_threq *r, char *err, size_t errlen)
{
    const char *k;
    json_t *v;

    if (json_is_null(h)) {
        return 0;
    }
    if (!json_is_object(h)) {
        return vg__th_type_error(VG_REC_KEY_HTTP_REQUEST_HEADERS, "an object of string arrays", err,
                                 errlen);
    }
    json_object_foreach(h, k, v)
    {
        size_t i;
        json_t *e;

        if (json_is_null(v)) {
            continue;
        }
        if (!json_is_array(v)) {
            return vg__th_type_error(VG_REC_KEY_HTTP_REQUEST_HEADERS, "an object of string arrays",
                                     err, errlen);
        }
        json_array_foreach(v, i, e)
        {
            char **slot = vg__th_req_header_slot(r, k);

            if (!json_is_string(e) && !json_is_null(e)) {
                return vg__th_type_error(VG_REC_KEY_HTTP_REQUEST_HEADERS,
                                         "an object of string arrays", err, errlen);
            }
            if (slot != NULL && *slot == NULL && json_is_string(e) && vg__th_req_header_ok(e)) {
                *slot = vg_xstrdup(json_string_value(e));
            }
        }
    }
    return 0;
}

static void
vg__th_req_add_ip(struct vg_rec_threq *r, const char *s, size_t len)
{
    const char *host;
    size_t hlen;
    uint16_t port;
    char ip[INET6_ADDRSTRLEN];

    if (vg_ip_split_hostport(s, len, &host, &hlen, &port) < 0 || vg_ip_canon(host, hlen, ip) == 0) {
        r->n_ignored++;
        return;
    }
    for (size_t i = 0; i < r->n_ips; i++) {
        if (strcmp(r->ips[i], ip) == 0) {
            return;
        }
    }
    if (r->n_ips >= VG_CTRL_PROBE_IPS) {
        r->n_ignored++;
        return;
    }
    memcpy(r->ips[r->n_ips++], ip, sizeof(ip));
}

int
vg_rec_threq_parse(const char *body, size_t len, struct vg_rec_threq *out, char *err, size_t errlen)
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
        rc = vg__th_type_error("the request", "a JSON object", err, errlen);
        goto out;
    }
    v = json_object_get(root, VG_REC_KEY_HTTP_REQUEST);
    if (v == NULL || json_is_null(v)) {
        snprintf(err, errlen, "http_request is missing");
        rc = VG_EINVAL;
        goto out;
    }
    if (!json_is_string(v)) {
        rc = vg__th_type_error(VG_REC_KEY_HTTP_REQUEST, "a string", err, errlen);
        goto out;
    }
    url = json_string_value(v);
    if (json_string_length(v) > VG_URL_MAX || strlen(url) != json_string_length(v)) {
        snprintf(err, errlen, "http_request is longer than %d bytes", VG_URL_MAX);
        rc = VG_EINVAL;
        goto out;
    }
    out->url = vg_xstrdup(url);
    v = json_object_get(root, VG_REC_KEY_HTTP_REQUEST_HEADERS);
    if (v != NULL && (rc = vg__th_req_headers(v, out, err, errlen)) < 0) {
        goto out;
    }
    v = json_object_get(root, VG_REC_KEY_X_TLS_ANY_PORT);
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            rc = vg__th_type_error(VG_REC_KEY_X_TLS_ANY_PORT, "a boolean", err, errlen);
            goto out;
        }
        out->tls_any_port = json_is_true(v);
    }
    v = json_object_get(root, VG_REC_KEY_X_QUIC_ENABLED);
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            rc = vg__th_type_error(VG_REC_KEY_X_QUIC_ENABLED, "a boolean", err, errlen);
            goto out;
        }
        out->quic = json_is_true(v);
    }
    v = json_object_get(root, VG_REC_KEY_TCP_CONNECT);
    if (v != NULL && !json_is_null(v)) {
        size_t i;
        json_t *e;

        if (!json_is_array(v)) {
            rc = vg__th_type_error(VG_REC_KEY_TCP_CONNECT, "an array of strings", err, errlen);
            goto out;
        }
        json_array_foreach(v, i, e)
        {
            if (json_is_null(e)) {
                out->n_ignored++;
                continue;
            }
            if (!json_is_string(e)) {
                rc = vg__th_type_error(VG_REC_KEY_TCP_CONNECT, "an array of strings", err, errlen);
                goto out;
            }
            vg__th_req_add_ip(out, json_string_value(e), json_string_length(e));
        }
    }
    rc = vg__th_req_url(out, err, errlen);
    if (rc == 0) {
        rc = vg__th_req_target(json_object_get(root, VG_REC_KEY_X_TARGET), out, err, errlen);
    }
out:
    json_decref(root);
    if (rc < 0) {
        vg_rec_threq_cleanup(out);
    }
    return rc;
}

void
vg_rec_threq_cleanup(struct vg_rec_threq *r)
{
    if (r == NULL) {
        return;
    }
    VG_FREE(r->url);
    VG_FREE(r->user_agent);
    VG_FREE(r->accept);
    VG_FREE(r->accept_language);
    memset(r, 0, sizeof(*r));
}

size_t
vg_rec_threq_ports(const struct vg_rec_threq *r, uint16_t ports[2])
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

bool
vg_rec_threq_tls_port(const struct vg_rec_threq *r, long long port)
{
    if (r->target == VG_REC_TH_TLS) {
        return port == r->port; /* x_target: the handshake is what was asked for */
    }
    return port == 443 || (r->https && r->tls_any_port && port > 0);
}
