/* SPDX-License-Identifier: MIT */
/*
 * record_th_read.c - the one reader of OONI's THResponse (record_th.h), on the tree of
 * lib/proto/json.h: a test helper's answer as the probe receives it (vg_rec_thresponse_parse),
 * and the control a measurement carries (test_keys.control, read by record_obs.c for
 * vg_analyze). oohelperd's keys (internal/model/th.go, ooni-reference.md section 3) and vigie's
 * x_ extensions of docs/helper.md.
 *
 * Every value is type-checked (a wrong type is VG_EPROTO, JSON null counts as absent, as Go's
 * decoder treats it); strings are cut to the fixed buffers of struct vg_ctrl without splitting a
 * UTF-8 character; counts stop at the VG_CTRL_* caps (the entries past a cap are still
 * type-checked); certificate hashes are 64 hex digits; DNS answers that are not IP addresses are
 * dropped; on error *c is left empty. A helper's answer is also refused when an object repeats a
 * key or a string holds a NUL (vg_json_strict); a measurement's control may carry what the legacy
 * helpers wrote (VG_REC_TH_LEGACY).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "meas/control.h"
#include "meas/record.h"
#include "meas/record_keys.h"
#include "meas/record_th.h"
#include "proto/ipaddr.h"
#include "proto/json.h"
#include "util/limits.h"
#include "util/str.h"

/* v present and not null */
static bool
vg__thr_set(const struct vg_json *v)
{
    return v != NULL && v->type != VG_JSON_NULL;
}

/* obj[key] as an object: *out NULL when absent or null. */
static int
vg__thr_obj(const struct vg_json *obj, const char *key, const struct vg_json **out)
{
    const struct vg_json *v = vg_json_get(obj, key);

    *out = NULL;
    if (!vg__thr_set(v)) {
        return 0;
    }
    if (v->type != VG_JSON_OBJECT) {
        return VG_EPROTO;
    }
    *out = v;
    return 0;
}

/* obj[key] as a string into dst (cap > 0; NULL dst: checked only): "" when absent or null. */
static int
vg__thr_str(const struct vg_json *obj, const char *key, char *dst, size_t cap)
{
    const struct vg_json *v = vg_json_get(obj, key);

    if (dst != NULL) {
        dst[0] = '\0';
    }
    if (!vg__thr_set(v)) {
        return 0;
    }
    if (v->type != VG_JSON_STRING) {
        return VG_EPROTO;
    }
    if (dst != NULL) {
        vg_utf8_copy(dst, cap, v->s, v->len);
    }
    return 0;
}

/* obj[key] as an integer within [min, max]: *out untouched when absent or null. */
static int
vg__thr_int(const struct vg_json *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const struct vg_json *v = vg_json_get(obj, key);
    int64_t n;

    if (!vg__thr_set(v)) {
        return 0;
    }
    if (!vg_json_int(v, &n) || n < min || n > max) {
        return VG_EPROTO;
    }
    *out = n;
    return 0;
}

/* obj[key] as a boolean: *present false (and *out untouched) when absent or null. */
static int
vg__thr_bool(const struct vg_json *obj, const char *key, bool *out, bool *present)
{
    const struct vg_json *v = vg_json_get(obj, key);

    *present = false;
    if (!vg__thr_set(v)) {
        return 0;
    }
    if (v->type != VG_JSON_BOOL) {
        return VG_EPROTO;
    }
    *out = v->b;
    *present = true;
    return 0;
}

/* obj[key] as a SHA-256 in hex (stored lower-case): "" when absent, null or empty. */
static int
vg__thr_hex(const struct vg_json *obj, const char *key, char dst[65])
{
    const struct vg_json *v = vg_json_get(obj, key);

    dst[0] = '\0';
    if (!vg__thr_set(v)) {
        return 0;
    }
    if (v->type != VG_JSON_STRING || (v->len != 0 && v->len != 64)) {
        return VG_EPROTO;
    }
    for (size_t i = 0; i < v->len; i++) {
        if (!isxdigit((unsigned char)v->s[i])) {
            dst[0] = '\0';
            return VG_EPROTO;
        }
        dst[i] = (char)tolower((unsigned char)v->s[i]);
    }
    dst[v->len] = '\0';
    return 0;
}

/* The entry for an endpoint key, added if new; NULL past VG_CTRL_MAX_EP or for a key that is too
 * long to be "ip:port". */
static struct vg_ctrl_endpoint *
vg__thr_ep(struct vg_ctrl *c, const char *key, size_t len)
{
    struct vg_ctrl_endpoint *e;

    if (len == 0 || len >= sizeof(c->ep[0].addr)) {
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
    vg_utf8_copy(e->addr, sizeof(e->addr), key, len);
    return e;
}

/* "tcp_connect": {"ip:port": {"status": bool, "failure": string|null}} */
static int
vg__thr_tcp(const struct vg_json *root, struct vg_ctrl *c)
{
    const struct vg_json *obj, *v;

    VG_TRY(vg__thr_obj(root, VG_REC_KEY_TCP_CONNECT, &obj));
    for (v = vg_json_first(obj); v != NULL; v = v->next) {
        struct vg_ctrl_endpoint *e;
        char failure[sizeof(e->tcp_failure)] = "";
        bool ok = false, present;

        if (v->type == VG_JSON_NULL) {
            continue;
        }
        if (v->type != VG_JSON_OBJECT) {
            return VG_EPROTO;
        }
        VG_TRY(vg__thr_bool(v, VG_REC_KEY_STATUS, &ok, &present));
        VG_TRY(vg__thr_str(v, VG_REC_KEY_FAILURE, failure, sizeof(failure)));
        if ((e = vg__thr_ep(c, v->key, v->key_len)) == NULL) {
            continue;
        }
        e->tcp_ok = ok;
        memcpy(e->tcp_failure, failure, sizeof(failure));
    }
    return 0;
}

/* "x_chain": [{"sha256", "spki_sha256", "subject", "issuer"}, ...], leaf first: the chain the
 * helper validated, up to its trust anchor, else the one the server sent (docs/helper.md). */
static int
vg__thr_chain(const struct vg_json *tls, struct vg_ctrl_endpoint *e)
{
    const struct vg_json *chain = vg_json_get(tls, VG_REC_KEY_X_CHAIN), *cert;
    size_t i = 0;

    if (!vg__thr_set(chain)) {
        return 0;
    }
    if (chain->type != VG_JSON_ARRAY) {
        return VG_EPROTO;
    }
    for (cert = vg_json_first(chain); cert != NULL; cert = cert->next, i++) {
        char sha[65] = "", spki[65] = "";

        if (cert->type != VG_JSON_OBJECT) {
            return VG_EPROTO;
        }
        VG_TRY(vg__thr_hex(cert, VG_REC_KEY_SHA256, sha));
        VG_TRY(vg__thr_hex(cert, VG_REC_KEY_SPKI_SHA256, spki));
        VG_TRY(vg__thr_str(cert, VG_REC_KEY_SUBJECT, NULL, 0));
        VG_TRY(vg__thr_str(cert, VG_REC_KEY_ISSUER, NULL, 0));
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
vg__thr_tls(const struct vg_json *root, struct vg_ctrl *c)
{
    const struct vg_json *obj, *v;

    VG_TRY(vg__thr_obj(root, VG_REC_KEY_TLS_HANDSHAKE, &obj));
    for (v = vg_json_first(obj); v != NULL; v = v->next) {
        struct vg_ctrl_endpoint *e;
        char failure[sizeof(e->tls_failure)] = "";
        bool ok = false, valid = false, has_status, has_valid;

        if (v->type == VG_JSON_NULL) {
            continue;
        }
        if (v->type != VG_JSON_OBJECT) {
            return VG_EPROTO;
        }
        VG_TRY(vg__thr_bool(v, VG_REC_KEY_STATUS, &ok, &has_status));
        VG_TRY(vg__thr_bool(v, VG_REC_KEY_X_VALID, &valid, &has_valid));
        VG_TRY(vg__thr_str(v, VG_REC_KEY_FAILURE, failure, sizeof(failure)));
        VG_TRY(vg__thr_str(v, VG_REC_KEY_SERVER_NAME, NULL, 0));
        VG_TRY(vg__thr_str(v, VG_REC_KEY_X_TLS_VERSION, NULL, 0));
        VG_TRY(vg__thr_str(v, VG_REC_KEY_X_CIPHER_SUITE, NULL, 0));
        e = vg__thr_ep(c, v->key, v->key_len);
        if (e != NULL) {
            e->tls_present = true;
            e->tls_ok = ok;
            memcpy(e->tls_failure, failure, sizeof(failure));
            e->x_present = has_valid;
            e->x_valid = valid;
            e->leaf_sha256[0] = e->leaf_spki[0] = '\0';
            e->n_ca_spki = 0;
        }
        VG_TRY(vg__thr_chain(v, e));
    }
    return 0;
}

/* "http_request": {"body_length", "failure", "title", "headers": {name: value}, "status_code",
 * "discovered_h3_endpoint", "x_body_sha256"}; the legacy helpers (in archived measurements) write
 * null for the status and the length of a failure, and may give a header several values. */
static int
vg__thr_http(const struct vg_json *root, unsigned flags, struct vg_ctrl *c)
{
    const struct vg_json *obj, *headers, *v;
    int64_t status = -1, body_length = -1;

    VG_TRY(vg__thr_obj(root, VG_REC_KEY_HTTP_REQUEST, &obj));
    if (obj == NULL) {
        return 0;
    }
    VG_TRY(vg__thr_int(obj, VG_REC_KEY_BODY_LENGTH, -1, LONG_MAX, &body_length));
    VG_TRY(vg__thr_int(obj, VG_REC_KEY_STATUS_CODE, -1, 999, &status));
    VG_TRY(vg__thr_str(obj, VG_REC_KEY_FAILURE, c->http_failure, sizeof(c->http_failure)));
    VG_TRY(vg__thr_str(obj, VG_REC_KEY_TITLE, c->title, sizeof(c->title)));
    VG_TRY(vg__thr_str(obj, VG_REC_KEY_DISCOVERED_H3_ENDPOINT, NULL, 0));
    VG_TRY(vg__thr_hex(obj, VG_REC_KEY_X_BODY_SHA256, c->body_sha256));
    c->status = (int)status;
    c->body_length = (long)body_length;
    VG_TRY(vg__thr_obj(obj, VG_REC_KEY_HEADERS, &headers));
    for (v = vg_json_first(headers); v != NULL; v = v->next) {
        if (v->type != VG_JSON_STRING && v->type != VG_JSON_NULL &&
            (v->type != VG_JSON_ARRAY || !(flags & VG_REC_TH_LEGACY))) {
            return VG_EPROTO;
        }
        if (c->n_headers < VG_CTRL_MAX_HDR && v->key_len > 0) {
            vg_utf8_copy(c->headers[c->n_headers], sizeof(c->headers[0]), v->key, v->key_len);
            c->n_headers++;
        }
    }
    return 0;
}

/* "dns": {"failure": string|null, "addrs": [string...]|null} */
static int
vg__thr_dns(const struct vg_json *root, struct vg_ctrl *c)
{
    const struct vg_json *obj, *addrs, *v;

    VG_TRY(vg__thr_obj(root, VG_REC_KEY_DNS, &obj));
    if (obj == NULL) {
        return 0;
    }
    VG_TRY(vg__thr_str(obj, VG_REC_KEY_FAILURE, c->dns_failure, sizeof(c->dns_failure)));
    addrs = vg_json_get(obj, VG_REC_KEY_ADDRS);
    if (!vg__thr_set(addrs)) {
        return 0;
    }
    if (addrs->type != VG_JSON_ARRAY) {
        return VG_EPROTO;
    }
    for (v = vg_json_first(addrs); v != NULL; v = v->next) {
        bool dup = false;

        if (v->type != VG_JSON_STRING) {
            return VG_EPROTO;
        }
        if (v->len >= sizeof(c->addrs[0]) || vg_ip_classify(v->s) < 0) {
            continue;
        }
        for (size_t j = 0; j < c->n_addrs && !dup; j++) {
            dup = strcmp(c->addrs[j], v->s) == 0;
        }
        if (!dup && c->n_addrs < VG_DNS_MAX_ADDRS) {
            vg_utf8_copy(c->addrs[c->n_addrs], sizeof(c->addrs[0]), v->s, v->len);
            c->n_addrs++;
        }
    }
    return 0;
}

/* "ip_info": {"ip": {"asn": int, "flags": int}}: checked here, its ASNs read by
 * vg_rec_thresponse_asns. */
static int
vg__thr_ip_info(const struct vg_json *root)
{
    const struct vg_json *obj;

    VG_TRY(vg__thr_obj(root, VG_REC_KEY_IP_INFO, &obj));
    for (const struct vg_json *v = vg_json_first(obj); v != NULL; v = v->next) {
        int64_t n = 0;

        if (v->type == VG_JSON_NULL) {
            continue;
        }
        if (v->type != VG_JSON_OBJECT) {
            return VG_EPROTO;
        }
        VG_TRY(vg__thr_int(v, VG_REC_KEY_ASN, 0, UINT32_MAX, &n));
        VG_TRY(vg__thr_int(v, VG_REC_KEY_FLAGS, 0, INT32_MAX, &n));
    }
    return 0;
}

static void
vg__thr_reset(struct vg_ctrl *c)
{
    memset(c, 0, sizeof(*c));
    c->status = -1;
    c->body_length = -1;
}

int
vg_rec_thresponse_read(const struct vg_json *root, unsigned flags, struct vg_ctrl *c)
{
    const struct vg_json *ignored;
    int rc = VG_EPROTO;

    vg__thr_reset(c);
    if (root == NULL || root->type != VG_JSON_OBJECT) {
        return VG_EPROTO;
    }
    if ((rc = vg__thr_dns(root, c)) < 0 || (rc = vg__thr_tcp(root, c)) < 0 ||
        (rc = vg__thr_tls(root, c)) < 0 || (rc = vg__thr_http(root, flags, c)) < 0 ||
        (rc = vg__thr_ip_info(root)) < 0 ||
        (rc = vg__thr_obj(root, VG_REC_KEY_QUIC_HANDSHAKE, &ignored)) < 0 ||
        (rc = vg__thr_obj(root, VG_REC_KEY_HTTP3_REQUEST, &ignored)) < 0 ||
        (rc = vg__thr_str(root, VG_REC_KEY_X_CLIENT_ADDR, c->client_addr, sizeof(c->client_addr))) <
            0 ||
        (rc = vg__thr_str(root, VG_REC_KEY_X_TARGET, c->target, sizeof(c->target))) < 0) {
        vg__thr_reset(c);
        return rc;
    }
    if (vg_ip_classify(c->client_addr) < 0) {
        c->client_addr[0] = '\0';
    }
    return 0;
}

int
vg_rec_thresponse_parse(const char *json, size_t len, struct vg_ctrl *out)
{
    return vg_rec_thresponse_parse_control(json, len, out, NULL);
}

int
vg_rec_thresponse_parse_control(const char *json, size_t len, struct vg_ctrl *out, json_t **control)
{
    struct vg_json_doc *d;
    const struct vg_json *root;
    int rc = VG_EPROTO;

    if (control != NULL) {
        *control = NULL;
    }
    if (out == NULL) {
        return VG_EINVAL;
    }
    vg__thr_reset(out);
    if (len > VG_CTRL_RESPONSE_MAX) {
        return VG_ETOOBIG;
    }
    if (json == NULL || (d = vg_json_doc_new()) == NULL) {
        return VG_EPROTO;
    }
    root = vg_json_parse(d, json, len, NULL, 0);
    if (root != NULL && vg_json_strict(root)) {
        rc = vg_rec_thresponse_read(root, 0, out);
    }
    if (rc == 0 && control != NULL) {
        *control = vg_rec_control_json(root);
    }
    vg_json_doc_free(d);
    return rc;
}

void
vg_rec_thresponse_asns(const struct vg_json *control, const struct vg_ctrl *c,
                       uint32_t asns[VG_DNS_MAX_ADDRS])
{
    const struct vg_json *info = vg_json_get(control, VG_REC_KEY_IP_INFO);

    for (size_t i = 0; i < c->n_addrs && i < VG_DNS_MAX_ADDRS; i++) {
        int64_t asn = 0;

        asns[i] = 0;
        if (vg__thr_int(vg_json_get(info, c->addrs[i]), VG_REC_KEY_ASN, 0, UINT32_MAX, &asn) == 0) {
            asns[i] = (uint32_t)asn;
        }
    }
}
