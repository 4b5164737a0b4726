/* SPDX-License-Identifier: MIT */
/*
 * control.c - reading a test helper's THResponse (ooni-reference.md section 3: oohelperd's
 * internal/model/th.go) plus vigie's x_ extensions of tls_handshake and http_request.
 *
 * The response comes from the network: every value is type-checked (a wrong type is VG_EPROTO,
 * JSON null counts as absent, as Go's decoder treats it), strings are cut to the fixed buffers of
 * struct vg_ctrl without splitting a UTF-8 character, counts stop at the VG_CTRL_* caps (the
 * entries past a cap are still type-checked), certificate hashes must be 64 hex digits, and DNS
 * answers that are not IP addresses are dropped. On error *out is left empty.
 */
#include "meas/control.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "proto/ipaddr.h"

static void
vg__ctrl_reset(struct vg_ctrl *c)
{
    memset(c, 0, sizeof(*c));
    c->status = -1;
    c->body_length = -1;
}

/* Copy len bytes of src into dst (cap > 0), cut before a character that does not fit whole. */
static void
vg__copy(char *dst, size_t cap, const char *src, size_t len)
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
vg__obj(json_t *obj, const char *key, json_t **out)
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
vg__str(json_t *obj, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(obj, key);

    dst[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return VG_EPROTO;
    }
    vg__copy(dst, cap, json_string_value(v), json_string_length(v));
    return 0;
}

/* obj[key] as a boolean: *present false (and *out untouched) when absent or null. */
static int
vg__bool(json_t *obj, const char *key, bool *out, bool *present)
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
vg__control_int(json_t *obj, const char *key, json_int_t min, json_int_t max, json_int_t *out)
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
vg__hex(json_t *obj, const char *key, char dst[65])
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
vg__ep(struct vg_ctrl *c, const char *key)
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
    vg__copy(e->addr, sizeof(e->addr), key, strlen(key));
    return e;
}

/* "tcp_connect": {"ip:port": {"status": bool, "failure": string|null}} */
static int
vg__parse_tcp(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *v;
    const char *key;

    VG_TRY(vg__obj(root, "tcp_connect", &obj));
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
        VG_TRY(vg__bool(v, "status", &ok, &present));
        VG_TRY(vg__str(v, "failure", failure, sizeof(failure)));
        if ((e = vg__ep(c, key)) == NULL) {
            continue;
        }
        e->tcp_ok = ok;
        memcpy(e->tcp_failure, failure, sizeof(failure));
    }
    return 0;
}

/* "x_chain": [{"sha256", "spki_sha256", "subject", "issuer"}, ...], leaf first. */
static int
vg__parse_chain(json_t *tls, struct vg_ctrl_endpoint *e)
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
        VG_TRY(vg__hex(cert, "sha256", sha));
        VG_TRY(vg__hex(cert, "spki_sha256", spki));
        VG_TRY(vg__str(cert, "subject", name, sizeof(name)));
        VG_TRY(vg__str(cert, "issuer", name, sizeof(name)));
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
vg__parse_tls(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *v;
    const char *key;

    VG_TRY(vg__obj(root, "tls_handshake", &obj));
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
        VG_TRY(vg__bool(v, "status", &ok, &has_status));
        VG_TRY(vg__bool(v, "x_valid", &valid, &has_valid));
        VG_TRY(vg__str(v, "failure", failure, sizeof(failure)));
        VG_TRY(vg__str(v, "server_name", scratch, sizeof(scratch)));
        VG_TRY(vg__str(v, "x_tls_version", scratch, sizeof(scratch)));
        VG_TRY(vg__str(v, "x_cipher_suite", scratch, sizeof(scratch)));
        e = vg__ep(c, key);
        if (e != NULL) {
            e->tls_present = true;
            e->tls_ok = ok;
            memcpy(e->tls_failure, failure, sizeof(failure));
            e->x_present = has_valid;
            e->x_valid = valid;
            e->leaf_sha256[0] = e->leaf_spki[0] = '\0';
            e->n_ca_spki = 0;
        }
        VG_TRY(vg__parse_chain(v, e));
    }
    return 0;
}

/* "http_request": {"body_length", "failure", "title", "headers": {name: value}, "status_code",
 * "discovered_h3_endpoint", "x_body_sha256"} */
static int
vg__parse_http(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *headers, *v;
    json_int_t status = -1, body_length = -1;
    const char *key;
    char scratch[256];

    VG_TRY(vg__obj(root, "http_request", &obj));
    if (obj == NULL) {
        return 0;
    }
    VG_TRY(vg__control_int(obj, "body_length", -1, LONG_MAX, &body_length));
    VG_TRY(vg__control_int(obj, "status_code", -1, 999, &status));
    VG_TRY(vg__str(obj, "failure", c->http_failure, sizeof(c->http_failure)));
    VG_TRY(vg__str(obj, "title", c->title, sizeof(c->title)));
    VG_TRY(vg__str(obj, "discovered_h3_endpoint", scratch, sizeof(scratch)));
    VG_TRY(vg__hex(obj, "x_body_sha256", c->body_sha256));
    c->status = (int)status;
    c->body_length = (long)body_length;
    VG_TRY(vg__obj(obj, "headers", &headers));
    if (headers == NULL) {
        return 0;
    }
    json_object_foreach(headers, key, v)
    {
        if (!json_is_string(v) && !json_is_null(v)) {
            return VG_EPROTO;
        }
        if (c->n_headers < VG_CTRL_MAX_HDR && key[0] != '\0') {
            vg__copy(c->headers[c->n_headers], sizeof(c->headers[0]), key, strlen(key));
            c->n_headers++;
        }
    }
    return 0;
}

/* "dns": {"failure": string|null, "addrs": [string...]} */
static int
vg__parse_dns(json_t *root, struct vg_ctrl *c)
{
    json_t *obj, *addrs, *v;
    size_t i;

    VG_TRY(vg__obj(root, "dns", &obj));
    if (obj == NULL) {
        return 0;
    }
    VG_TRY(vg__str(obj, "failure", c->dns_failure, sizeof(c->dns_failure)));
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
            vg__copy(c->addrs[c->n_addrs], sizeof(c->addrs[0]), s, json_string_length(v));
            c->n_addrs++;
        }
    }
    return 0;
}

/* "ip_info": {"ip": {"asn": int, "flags": int}}: checked, not kept (no field for it yet). */
static int
vg__check_ip_info(json_t *root)
{
    json_t *obj, *v;
    const char *key;

    VG_TRY(vg__obj(root, "ip_info", &obj));
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
        VG_TRY(vg__control_int(v, "asn", 0, UINT32_MAX, &n));
        VG_TRY(vg__control_int(v, "flags", 0, INT32_MAX, &n));
    }
    return 0;
}

int
vg_ctrl_parse(const char *json, size_t len, struct vg_ctrl *out)
{
    json_t *root, *ignored;
    json_error_t jerr;
    int rc;

    if (out == NULL) {
        return VG_EINVAL;
    }
    vg__ctrl_reset(out);
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
    if ((rc = vg__parse_dns(root, out)) < 0 || (rc = vg__parse_tcp(root, out)) < 0 ||
        (rc = vg__parse_tls(root, out)) < 0 || (rc = vg__parse_http(root, out)) < 0 ||
        (rc = vg__check_ip_info(root)) < 0 ||
        (rc = vg__obj(root, "quic_handshake", &ignored)) < 0 ||
        (rc = vg__obj(root, "http3_request", &ignored)) < 0 ||
        (rc = vg__str(root, "x_client_addr", out->client_addr, sizeof(out->client_addr))) < 0) {
        goto out;
    }
    if (vg_ip_classify(out->client_addr) < 0) {
        out->client_addr[0] = '\0';
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0) {
        vg__ctrl_reset(out);
    }
    return rc;
}

const struct vg_ctrl_endpoint *
vg_ctrl_endpoint(const struct vg_ctrl *c, const char *addr)
{
    if (c == NULL || addr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < c->n_ep && i < VG_CTRL_MAX_EP; i++) {
        if (strcmp(c->ep[i].addr, addr) == 0) {
            return &c->ep[i];
        }
    }
    return NULL;
}

bool
vg_ctrl_has_addr(const struct vg_ctrl *c, const char *ip)
{
    for (size_t i = 0; c != NULL && i < c->n_addrs; i++) {
        if (vg_ip_equal(c->addrs[i], ip)) {
            return true;
        }
    }
    return false;
}

bool
vg_ctrl_is_nxdomain(const char *failure)
{
    return strcmp(failure, "dns_name_error") == 0 || strcmp(failure, "dns_nxdomain_error") == 0;
}

bool
vg_ctrl_http_ok(const struct vg_ctrl *c)
{
    return c != NULL && c->http_failure[0] == '\0' && c->status > 0;
}

bool
vg_ctrl_http_failed(const struct vg_ctrl *c)
{
    return c != NULL && c->http_failure[0] != '\0';
}

bool
vg_ctrl_tls_valid(const struct vg_ctrl_endpoint *e)
{
    /* oohelperd verifies the chain for the SNI: a successful handshake is a valid certificate. */
    return e->tls_present && e->tls_ok && (!e->x_present || e->x_valid);
}
