/* SPDX-License-Identifier: MIT */
/*
 * record_th.c - the test helper's THRequest, written by the probe and read by the helper, and the
 * THResponse as the probe reads it (record_th.h; oohelperd's internal/model/th.go,
 * ooni-reference.md section 3, plus vigie's x_ extensions of docs/helper.md). The THResponse the
 * helper writes from its measurement: record_th_resp.c.
 *
 * Both readers take bytes from the network. The THRequest reader checks every known key's type
 * and says why it refuses a request; its URL is parsed by lib/proto/url, as the engine will parse
 * it. The THResponse reader type-checks every value (a wrong type is VG_EPROTO, JSON null counts
 * as absent, as Go's decoder treats it), cuts strings to the fixed buffers of struct vg_ctrl
 * without splitting a UTF-8 character, stops counts at the VG_CTRL_* caps (the entries past a cap
 * are still type-checked), wants certificate hashes of 64 hex digits, and drops DNS answers that
 * are not IP addresses; on error *out is left empty.
 */
#include "meas/record_th.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meas/control.h"
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
    return json_pack("{s:s, s:o, s:o, s:b}", "http_request", url, "http_request_headers", hdrs,
                     "tcp_connect", eps, "x_quic_enabled", quic);
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
    if (req != NULL && json_object_set_new(req, "x_target", json_string(target)) < 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

void
vg_rec_threquest_ask_tls(json_t *req)
{
    json_object_set_new(req, "x_tls_any_port", json_true());
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
        return vg__th_type_error("x_target", "a string", err, errlen);
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
    if (strcasecmp(k, "User-Agent") == 0) {
        return &r->user_agent;
    }
    if (strcasecmp(k, "Accept") == 0) {
        return &r->accept;
    }
    if (strcasecmp(k, "Accept-Language") == 0) {
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
        return vg__th_type_error("http_request_headers", "an object of string arrays", err, errlen);
    }
    json_object_foreach(h, k, v)
    {
        size_t i;
        json_t *e;

        if (json_is_null(v)) {
            continue;
        }
        if (!json_is_array(v)) {
            return vg__th_type_error("http_request_headers", "an object of string arrays", err,
                                     errlen);
        }
        json_array_foreach(v, i, e)
        {
            char **slot = vg__th_req_header_slot(r, k);

            if (!json_is_string(e) && !json_is_null(e)) {
                return vg__th_type_error("http_request_headers", "an object of string arrays", err,
                                         errlen);
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
    v = json_object_get(root, "http_request");
    if (v == NULL || json_is_null(v)) {
        snprintf(err, errlen, "http_request is missing");
        rc = VG_EINVAL;
        goto out;
    }
    if (!json_is_string(v)) {
        rc = vg__th_type_error("http_request", "a string", err, errlen);
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
    if (v != NULL && (rc = vg__th_req_headers(v, out, err, errlen)) < 0) {
        goto out;
    }
    v = json_object_get(root, "x_tls_any_port");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            rc = vg__th_type_error("x_tls_any_port", "a boolean", err, errlen);
            goto out;
        }
        out->tls_any_port = json_is_true(v);
    }
    v = json_object_get(root, "x_quic_enabled");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            rc = vg__th_type_error("x_quic_enabled", "a boolean", err, errlen);
            goto out;
        }
        out->quic = json_is_true(v);
    }
    v = json_object_get(root, "tcp_connect");
    if (v != NULL && !json_is_null(v)) {
        size_t i;
        json_t *e;

        if (!json_is_array(v)) {
            rc = vg__th_type_error("tcp_connect", "an array of strings", err, errlen);
            goto out;
        }
        json_array_foreach(v, i, e)
        {
            if (json_is_null(e)) {
                out->n_ignored++;
                continue;
            }
            if (!json_is_string(e)) {
                rc = vg__th_type_error("tcp_connect", "an array of strings", err, errlen);
                goto out;
            }
            vg__th_req_add_ip(out, json_string_value(e), json_string_length(e));
        }
    }
    rc = vg__th_req_url(out, err, errlen);
    if (rc == 0) {
        rc = vg__th_req_target(json_object_get(root, "x_target"), out, err, errlen);
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

/* ---- THResponse: reader ---------------------------------------------------------------------- */

static void
vg__th_ctrl_reset(struct vg_ctrl *c)
{
    memset(c, 0, sizeof(*c));
    c->status = -1;
    c->body_length = -1;
}

/* Copy len bytes of src into dst (cap > 0), cut before a character that does not fit whole. */
static void
vg__th_copy(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;

    if (n < len) {
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* obj[key] as an object: *out NULL when absent or null. */
static int
vg__th_obj(json_t *obj, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_object(v)) {
        return VG_EPROTO;
    }
    *out = v;
    return 0;
}

/* obj[key] as a string into dst: "" when absent or null. */
static int
vg__th_str(json_t *obj, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(obj, key);

    dst[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return VG_EPROTO;
    }
    vg__th_copy(dst, cap, json_string_value(v), json_string_length(v));
    return 0;
}

/* obj[key] as a boolean: *present false (and *out untouched) when absent or null. */
static int
vg__th_bool(json_t *obj, const char *key, bool *out, bool *present)
{
    json_t *v = json_object_get(obj, key);

    *present = false;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        return VG_EPROTO;
    }
    *out = json_is_true(v);
    *present = true;
    return 0;
}

/* obj[key] as an integer in [min, max]: *out untouched when absent or null. */
static int
vg__th_int(json_t *obj, const char *key, json_int_t min, json_int_t max, json_int_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        return VG_EPROTO;
    }
    *out = json_integer_value(v);
    return 0;
}

/* obj[key] as a SHA-256 in hex (stored lower-case): "" when absent, null or empty. */
static int
vg__th_hex(json_t *obj, const char *key, char dst[65])
{
    json_t *v = json_object_get(obj, key);
    const char *s;

    dst[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return VG_EPROTO;
    }
    if (json_string_length(v) == 0) {
        return 0;
    }
    if (json_string_length(v) != 64) {
        return VG_EPROTO;
    }
    s = json_string_value(v);
    for (size_t i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return VG_EPROTO;
        }
        dst[i] = (char)tolower((unsigned char)s[i]);
    }
    dst[64] = '\0';
    return 0;
}

/* The entry for an endpoint key, added if new; NULL past VG_CTRL_MAX_EP or for a key that is too
 * long to be "ip:port". */
static struct vg_ctrl_endpoint *
vg__th_ep(struct vg_ctrl *c, const char *key)
{
    struct vg_ctrl_endpoint *e;

    if (key[0] == '\0' || strlen(key) >= sizeof(c->ep[0].addr)) {
        return NULL;
    }
    for (size_t i = 0; i < c->n_ep; i++) {
        if (strcmp(c->ep[i].addr, key) == 0) {
            return &c->ep[i];
        }
    }
    if (c->n_ep >= VG_CTRL_MAX_EP) {
        return NULL;
    }
    e = &c->ep[c->n_ep++];
    memset(e, 0, sizeof(*e));
    vg__th_copy(e->addr, sizeof(e->addr), key, strlen(key));
    return e;
}

/* "tcp_connect": {"ip:port": {"status": bool, "failure": string|null}} */
static int
vg__th_parse_tcp(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *v;
    const char *key;

    VG_TRY(vg__th_obj(root, "tcp_connect", &obj));
    if (obj == NULL) {
        return 0;
    }
    json_object_foreach(obj, key, v)
    {
        struct vg_ctrl_endpoint *e;
        char failure[sizeof(e->tcp_failure)];
        bool ok = false, present;

        if (json_is_null(v)) {
            continue;
        }
        if (!json_is_object(v)) {
            return VG_EPROTO;
        }
        VG_TRY(vg__th_bool(v, "status", &ok, &present));
        VG_TRY(vg__th_str(v, "failure", failure, sizeof(failure)));
        if ((e = vg__th_ep(c, key)) == NULL) {
            continue;
        }
        e->tcp_ok = ok;
        memcpy(e->tcp_failure, failure, sizeof(failure));
    }
    return 0;
}

/* "x_chain": [{"sha256", "spki_sha256", "subject", "issuer"}, ...], leaf first. */
static int
vg__th_parse_chain(json_t *tls, struct vg_ctrl_endpoint *e)
{
    json_t *chain = json_object_get(tls, "x_chain"), *cert;
    size_t i;

    if (chain == NULL || json_is_null(chain)) {
        return 0;
    }
    if (!json_is_array(chain)) {
        return VG_EPROTO;
    }
    json_array_foreach(chain, i, cert)
    {
        char sha[65], spki[65], name[256];

        if (!json_is_object(cert)) {
            return VG_EPROTO;
        }
        VG_TRY(vg__th_hex(cert, "sha256", sha));
        VG_TRY(vg__th_hex(cert, "spki_sha256", spki));
        VG_TRY(vg__th_str(cert, "subject", name, sizeof(name)));
        VG_TRY(vg__th_str(cert, "issuer", name, sizeof(name)));
        if (e == NULL) {
            continue;
        }
        if (i == 0) {
            memcpy(e->leaf_sha256, sha, sizeof(sha));
            memcpy(e->leaf_spki, spki, sizeof(spki));
        } else if (spki[0] != '\0' && e->n_ca_spki < VG_CTRL_MAX_CA) {
            memcpy(e->ca_spki[e->n_ca_spki++], spki, sizeof(spki));
        }
    }
    return 0;
}

/* "tls_handshake": {"ip:port": {"server_name", "status", "failure", x_valid, x_tls_version,
 * x_cipher_suite, x_chain}} */
static int
vg__th_parse_tls(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *v;
    const char *key;

    VG_TRY(vg__th_obj(root, "tls_handshake", &obj));
    if (obj == NULL) {
        return 0;
    }
    json_object_foreach(obj, key, v)
    {
        struct vg_ctrl_endpoint *e;
        char failure[sizeof(e->tls_failure)], scratch[256];
        bool ok = false, valid = false, has_status, has_valid;

        if (json_is_null(v)) {
            continue;
        }
        if (!json_is_object(v)) {
            return VG_EPROTO;
        }
        VG_TRY(vg__th_bool(v, "status", &ok, &has_status));
        VG_TRY(vg__th_bool(v, "x_valid", &valid, &has_valid));
        VG_TRY(vg__th_str(v, "failure", failure, sizeof(failure)));
        VG_TRY(vg__th_str(v, "server_name", scratch, sizeof(scratch)));
        VG_TRY(vg__th_str(v, "x_tls_version", scratch, sizeof(scratch)));
        VG_TRY(vg__th_str(v, "x_cipher_suite", scratch, sizeof(scratch)));
        e = vg__th_ep(c, key);
        if (e != NULL) {
            e->tls_present = true;
            e->tls_ok = ok;
            memcpy(e->tls_failure, failure, sizeof(failure));
            e->x_present = has_valid;
            e->x_valid = valid;
            e->leaf_sha256[0] = e->leaf_spki[0] = '\0';
            e->n_ca_spki = 0;
        }
        VG_TRY(vg__th_parse_chain(v, e));
    }
    return 0;
}

/* "http_request": {"body_length", "failure", "title", "headers": {name: value}, "status_code",
 * "discovered_h3_endpoint", "x_body_sha256"} */
static int
vg__th_parse_http(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *headers, *v;
    json_int_t status = -1, body_length = -1;
    const char *key;
    char scratch[256];

    VG_TRY(vg__th_obj(root, "http_request", &obj));
    if (obj == NULL) {
        return 0;
    }
    VG_TRY(vg__th_int(obj, "body_length", -1, LONG_MAX, &body_length));
    VG_TRY(vg__th_int(obj, "status_code", -1, 999, &status));
    VG_TRY(vg__th_str(obj, "failure", c->http_failure, sizeof(c->http_failure)));
    VG_TRY(vg__th_str(obj, "title", c->title, sizeof(c->title)));
    VG_TRY(vg__th_str(obj, "discovered_h3_endpoint", scratch, sizeof(scratch)));
    VG_TRY(vg__th_hex(obj, "x_body_sha256", c->body_sha256));
    c->status = (int)status;
    c->body_length = (long)body_length;
    VG_TRY(vg__th_obj(obj, "headers", &headers));
    if (headers == NULL) {
        return 0;
    }
    json_object_foreach(headers, key, v)
    {
        if (!json_is_string(v) && !json_is_null(v)) {
            return VG_EPROTO;
        }
        if (c->n_headers < VG_CTRL_MAX_HDR && key[0] != '\0') {
            vg__th_copy(c->headers[c->n_headers], sizeof(c->headers[0]), key, strlen(key));
            c->n_headers++;
        }
    }
    return 0;
}

/* "dns": {"failure": string|null, "addrs": [string...]} */
static int
vg__th_parse_dns(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *addrs, *v;
    size_t i;

    VG_TRY(vg__th_obj(root, "dns", &obj));
    if (obj == NULL) {
        return 0;
    }
    VG_TRY(vg__th_str(obj, "failure", c->dns_failure, sizeof(c->dns_failure)));
    addrs = json_object_get(obj, "addrs");
    if (addrs == NULL || json_is_null(addrs)) {
        return 0;
    }
    if (!json_is_array(addrs)) {
        return VG_EPROTO;
    }
    json_array_foreach(addrs, i, v)
    {
        const char *s;
        bool dup = false;

        if (!json_is_string(v)) {
            return VG_EPROTO;
        }
        s = json_string_value(v);
        if (json_string_length(v) >= sizeof(c->addrs[0]) || vg_ip_classify(s) < 0) {
            continue;
        }
        for (size_t j = 0; j < c->n_addrs && !dup; j++) {
            dup = strcmp(c->addrs[j], s) == 0;
        }
        if (!dup && c->n_addrs < VG_DNS_MAX_ADDRS) {
            vg__th_copy(c->addrs[c->n_addrs], sizeof(c->addrs[0]), s, json_string_length(v));
            c->n_addrs++;
        }
    }
    return 0;
}

/* "ip_info": {"ip": {"asn": int, "flags": int}}: checked, not kept (no field for it yet). */
static int
vg__th_check_ip_info(json_t *root)
{
    json_t *obj, *v;
    const char *key;

    VG_TRY(vg__th_obj(root, "ip_info", &obj));
    if (obj == NULL) {
        return 0;
    }
    json_object_foreach(obj, key, v)
    {
        json_int_t n = 0;

        (void)key;
        if (json_is_null(v)) {
            continue;
        }
        if (!json_is_object(v)) {
            return VG_EPROTO;
        }
        VG_TRY(vg__th_int(v, "asn", 0, UINT32_MAX, &n));
        VG_TRY(vg__th_int(v, "flags", 0, INT32_MAX, &n));
    }
    return 0;
}

int
vg_rec_thresponse_parse(const char *json, size_t len, struct vg_ctrl *out)
{
    json_t *root, *ignored;
    json_error_t jerr;
    int rc;

    if (out == NULL) {
        return VG_EINVAL;
    }
    vg__th_ctrl_reset(out);
    if (len > VG_CTRL_RESPONSE_MAX) {
        return VG_ETOOBIG;
    }
    if (json == NULL) {
        return VG_EPROTO;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return VG_EPROTO;
    }
    rc = VG_EPROTO;
    if (!json_is_object(root)) {
        goto out;
    }
    if ((rc = vg__th_parse_dns(root, out)) < 0 || (rc = vg__th_parse_tcp(root, out)) < 0 ||
        (rc = vg__th_parse_tls(root, out)) < 0 || (rc = vg__th_parse_http(root, out)) < 0 ||
        (rc = vg__th_check_ip_info(root)) < 0 ||
        (rc = vg__th_obj(root, "quic_handshake", &ignored)) < 0 ||
        (rc = vg__th_obj(root, "http3_request", &ignored)) < 0 ||
        (rc = vg__th_str(root, "x_client_addr", out->client_addr, sizeof(out->client_addr))) < 0 ||
        (rc = vg__th_str(root, "x_target", out->target, sizeof(out->target))) < 0) {
        goto out;
    }
    if (vg_ip_classify(out->client_addr) < 0) {
        out->client_addr[0] = '\0';
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0) {
        vg__th_ctrl_reset(out);
    }
    return rc;
}
