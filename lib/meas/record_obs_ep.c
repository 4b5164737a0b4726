/* SPDX-License-Identifier: MIT */
/*
 * record_obs_ep.c - a measurement from elsewhere read back (record_obs.h): its endpoints
 * (tcp_connect, tls_handshakes with their certificates, decoded only as far as the rules read
 * them) and its final response (status, body as a string or base64, title, header names).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_keys.h"
#include "meas/record_obs_impl.h"
#include "meas/verdict.h"
#include "net/x509.h"
#include "proto/html.h"
#include "proto/ipaddr.h"
#include "util/mem.h"
#include "util/str.h"

/* ---- endpoints ----------------------------------------------------------------------------- */

static struct vg_obs_endpoint *
vg__ro_ep(struct vg__ro *r, const char *addr, int depth, bool create)
{
    struct vg_obs *o = r->o;
    struct vg_obs_endpoint *e;

    for (size_t i = 0; i < o->n_ep; i++) {
        if (o->ep[i].depth == depth && strcmp(o->ep[i].addr, addr) == 0) {
            return &o->ep[i];
        }
    }
    if (!create || o->n_ep >= VG_OBS_MAX_EP) {
        return NULL;
    }
    e = &o->ep[o->n_ep++];
    memset(e, 0, sizeof(*e));
    vg_utf8_copy(e->addr, sizeof(e->addr), addr, strlen(addr));
    e->depth = depth;
    if (depth < VG__RO_HOPS && r->sys_depth[depth]) {
        char ip[64];

        e->from_udp_only = true;
        if (vg_ip_from_endpoint(addr, ip, sizeof(ip))) {
            for (size_t i = 0; i < r->n_sys && e->from_udp_only; i++) {
                e->from_udp_only = !(r->sys[i].depth == depth && vg_ip_equal(r->sys[i].ip, ip));
            }
        }
    }
    return e;
}

void
vg__ro_tcp(struct vg__ro *r, const struct vg_json *c)
{
    const char *ip = vg__ro_str(c, VG_REC_KEY_IP);
    const struct vg_json *st = vg_json_get(c, VG_REC_KEY_STATUS);
    int64_t port;
    int d = vg__ro_depth(c, 0);
    bool ok = false;
    char addr[80];
    struct vg_obs_endpoint *e;

    if (ip == NULL || strlen(ip) > 46 || !vg_json_int(vg_json_get(c, VG_REC_KEY_PORT), &port) ||
        port != vg__ro_hop(r, d)->port) {
        return;
    }
    snprintf(addr, sizeof(addr), strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip, (unsigned)port);
    if ((e = vg__ro_ep(r, addr, d, false)) != NULL || (e = vg__ro_ep(r, addr, d, true)) == NULL) {
        return; /* the first attempt counts */
    }
    (void)vg_json_bool(vg_json_get(st, VG_REC_KEY_SUCCESS), &ok);
    e->tcp_err = ok ? 0 : vg__ro_failure(vg__ro_str(st, VG_REC_KEY_FAILURE));
    if (!ok && e->tcp_err == 0) {
        e->tcp_err = VG_EPROTO;
    }
}

/* The port of an "IP:PORT" / "[IP6]:PORT" address, or -1. */
static long
vg__ro_port(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    char *end;
    long p;

    if (colon == NULL) {
        return -1;
    }
    p = strtol(colon + 1, &end, 10);
    return end != colon + 1 && *end == '\0' && p >= 0 && p <= 65535 ? p : -1;
}

/* vigie's x_certificates: the probe's own summary of the chain. */
static void
vg__ro_vigie_chain(struct vg_obs_endpoint *e, const struct vg_json *certs, const char *reason)
{
    size_t i = 0;

    for (const struct vg_json *c = vg_json_first(certs); c != NULL; c = c->next, i++) {
        const char *spki = vg__ro_str(c, VG_REC_KEY_SPKI_SHA256),
                   *sha = vg__ro_str(c, VG_REC_KEY_SHA256);

        if (i == 0) {
            const char *subj = vg__ro_str(c, VG_REC_KEY_SUBJECT),
                       *iss = vg__ro_str(c, VG_REC_KEY_ISSUER);

            (void)vg_json_bool(vg_json_get(c, VG_REC_KEY_SELF_SIGNED), &e->self_signed);
            vg_utf8_copy(e->subject, sizeof(e->subject), subj != NULL ? subj : "",
                         subj != NULL ? strlen(subj) : 0);
            vg_utf8_copy(e->issuer, sizeof(e->issuer), iss != NULL ? iss : "",
                         iss != NULL ? strlen(iss) : 0);
            vg_utf8_copy(e->leaf_sha256, sizeof(e->leaf_sha256), sha != NULL ? sha : "",
                         sha != NULL ? strlen(sha) : 0);
            vg_utf8_copy(e->leaf_spki, sizeof(e->leaf_spki), spki != NULL ? spki : "",
                         spki != NULL ? strlen(spki) : 0);
        } else if (spki != NULL && spki[0] != '\0' && e->n_ca_spki < VG_CTRL_MAX_CA) {
            vg_utf8_copy(e->ca_spki[e->n_ca_spki++], sizeof(e->ca_spki[0]), spki, strlen(spki));
        }
    }
    if (reason != NULL) {
        vg_utf8_copy(e->verify_reason, sizeof(e->verify_reason), reason, strlen(reason));
    }
}

/* vigie's x_verified_chain, the chain the probe validated up to its trust anchor: its CA keys
 * replace those the server sent, as the probe compares them (probe_ep.c), so that a site that
 * sends its leaf alone has the anchor's key to match the control's. */
static void
vg__ro_verified_chain(struct vg_obs_endpoint *e, const struct vg_json *chain)
{
    const struct vg_json *c;

    if (!vg__ro_is(chain, VG_JSON_ARRAY) || chain->len < 2) {
        return;
    }
    e->n_ca_spki = 0;
    for (c = vg_json_first(chain)->next; c != NULL && e->n_ca_spki < VG_CTRL_MAX_CA; c = c->next) {
        const char *spki = vg__ro_str(c, VG_REC_KEY_SPKI_SHA256);

        vg_utf8_copy(e->ca_spki[e->n_ca_spki++], sizeof(e->ca_spki[0]), spki != NULL ? spki : "",
                     spki != NULL ? strlen(spki) : 0);
    }
}

/* One DER certificate of peer_certificates ({"format": "base64", "data": ...}) summarised. */
static int
vg__ro_cert(struct vg__ro *r, const struct vg_json *pc, struct vg_cert *out)
{
    const struct vg_json *data = vg_json_get(pc, VG_REC_KEY_DATA);
    long n;

    memset(out, 0, sizeof(*out));
    if (!vg__ro_is(data, VG_JSON_STRING)) {
        return VG_EPROTO;
    }
    n = vg_base64_decode(data->s, data->len, r->s->der, sizeof(r->s->der));
    if (n <= 0) {
        return n < 0 ? (int)n : VG_EPROTO;
    }
    return vg_x509_summarize(r->s->der, (size_t)n, out);
}

/* OONI's peer_certificates: decoded only as far as the rules read them (the leaf of a
 * certificate that failed validation; the CA keys when the control has chains to compare). */
static void
vg__ro_ooni_chain(struct vg__ro *r, struct vg_obs_endpoint *e, const struct vg_json *certs)
{
    struct vg_cert c;
    size_t i = 0;
    bool have_leaf = false;

    for (const struct vg_json *pc = vg_json_first(certs); pc != NULL; pc = pc->next, i++) {
        if (i > 0 && (!r->need_chain || e->n_ca_spki >= VG_CTRL_MAX_CA)) {
            break;
        }
        if (vg__ro_cert(r, pc, &c) < 0) {
            continue;
        }
        if (i == 0) {
            have_leaf = true;
            e->self_signed = c.self_signed;
            memcpy(e->subject, c.subject, sizeof(e->subject));
            memcpy(e->issuer, c.issuer, sizeof(e->issuer));
            memcpy(e->leaf_sha256, c.sha256, sizeof(e->leaf_sha256));
            memcpy(e->leaf_spki, c.spki_sha256, sizeof(e->leaf_spki));
            if (e->verify_err != 0) {
                vg_x509_reason(&c, e->verify_err, r->m->start, e->verify_reason,
                               sizeof(e->verify_reason));
            }
        } else if (c.spki_sha256[0] != '\0') {
            memcpy(e->ca_spki[e->n_ca_spki++], c.spki_sha256, sizeof(e->ca_spki[0]));
        }
    }
    if (!have_leaf && e->verify_err != 0) {
        snprintf(e->subject, sizeof(e->subject), "(not recorded)");
        snprintf(e->issuer, sizeof(e->issuer), "(not recorded)");
        vg_x509_reason(NULL, e->verify_err, r->m->start, e->verify_reason,
                       sizeof(e->verify_reason));
    }
}

void
vg__ro_tls(struct vg__ro *r, const struct vg_json *h)
{
    const char *addr = vg__ro_str(h, VG_REC_KEY_ADDRESS);
    const struct vg_json *hs = vg_json_get(h, VG_REC_KEY_X_HANDSHAKE_FAILURE);
    int d = vg__ro_depth(h, 0), failure = vg__ro_failure(vg__ro_str(h, VG_REC_KEY_FAILURE));
    struct vg_obs_endpoint *e;

    if (addr == NULL || vg__ro_port(addr) != vg__ro_hop(r, d)->port ||
        (e = vg__ro_ep(r, addr, d, true)) == NULL || e->tls_attempted) {
        return;
    }
    e->tls_attempted = true;
    if (hs != NULL) {
        /* vigie: failure is the certificate's verification, x_handshake_failure the handshake's */
        e->tls_err = vg__ro_failure(vg_json_str(hs));
        e->verify_err = e->tls_err == 0 ? failure : 0;
    } else if (vg__ro_cert_failure(failure)) {
        e->verify_err = failure;
    } else {
        e->tls_err = failure;
    }
    if (e->tls_err != 0 || e->tcp_err != 0) {
        return;
    }
    if (vg__ro_is(vg_json_get(h, VG_REC_KEY_X_CERTIFICATES), VG_JSON_ARRAY)) {
        vg__ro_vigie_chain(e, vg_json_get(h, VG_REC_KEY_X_CERTIFICATES),
                           vg__ro_str(h, VG_REC_KEY_X_VERIFY_REASON));
    } else if (e->verify_err != 0 || r->need_chain) {
        vg__ro_ooni_chain(r, e, vg_json_get(h, VG_REC_KEY_PEER_CERTIFICATES));
    }
    vg__ro_verified_chain(e, vg_json_get(h, VG_REC_KEY_X_VERIFIED_CHAIN));
}

/* ---- the final request --------------------------------------------------------------------- */

/* The body of a response: a string's bytes, or {"format": "base64", "data": ...} decoded into the
 * scratch buffer. */
static void
vg__ro_body(struct vg__ro *r, const struct vg_json *body, const uint8_t **p, size_t *n)
{
    const struct vg_json *data = vg_json_get(body, VG_REC_KEY_DATA);
    const char *fmt = vg__ro_str(body, VG_REC_KEY_FORMAT);
    long got;

    *p = (const uint8_t *)"";
    *n = 0;
    if (vg__ro_is(body, VG_JSON_STRING)) {
        *p = (const uint8_t *)body->s;
        *n = body->len;
        return;
    }
    if (fmt == NULL || strcmp(fmt, "base64") != 0 || !vg__ro_is(data, VG_JSON_STRING)) {
        return;
    }
    if (r->s->cap < (size_t)data->len / 4 * 3 + 3) {
        r->s->cap = (size_t)data->len / 4 * 3 + 3;
        free(r->s->buf);
        r->s->buf = vg_xmalloc(r->s->cap);
    }
    got = vg_base64_decode(data->s, data->len, r->s->buf, r->s->cap);
    if (got > 0) {
        *p = r->s->buf;
        *n = (size_t)got;
    }
}

static void
vg__ro_title(struct vg_obs *o, const uint8_t *body, size_t n)
{
    size_t len = vg_html_title(body, n, o->title, sizeof(o->title));

    if (len > 0 && !vg_utf8_valid((const uint8_t *)o->title, len)) {
        size_t clean_len;
        char *clean = vg_utf8_sanitize((const uint8_t *)o->title, len, &clean_len);

        vg_utf8_copy(o->title, sizeof(o->title), clean, clean_len);
        free(clean);
    }
}

void
vg__ro_response(struct vg__ro *r, const struct vg_json *resp)
{
    struct vg_obs *o = r->o;
    const struct vg_json *list = vg_json_get(resp, VG_REC_KEY_HEADERS_LIST), *v;
    const char *title = vg__ro_str(resp, VG_REC_KEY_X_TITLE),
               *sha = vg__ro_str(resp, VG_REC_KEY_X_BODY_SHA256);
    int64_t code = 0, length;
    const uint8_t *body;
    size_t n;

    if (!vg_json_int(vg_json_get(resp, VG_REC_KEY_CODE), &code) || code <= 0 || code > 999) {
        o->body_length = -1;
        return;
    }
    o->status = (int)code;
    vg__ro_body(r, vg_json_get(resp, VG_REC_KEY_BODY), &body, &n);
    (void)vg_json_bool(vg_json_get(resp, VG_REC_KEY_BODY_IS_TRUNCATED), &o->body_truncated);
    o->body_length =
        vg_json_int(vg_json_get(resp, VG_REC_KEY_X_BODY_LENGTH), &length) && length >= 0
            ? (long)length
            : (long)n;
    if (title != NULL) {
        vg_utf8_copy(o->title, sizeof(o->title), title, strlen(title));
    } else {
        vg__ro_title(o, body, n);
    }
    if (sha != NULL) {
        vg_utf8_copy(o->body_sha256, sizeof(o->body_sha256), sha, strlen(sha));
    }
    o->blockpage = vg_blockpage_match(body, n);
    o->n_headers = 0;
    if (vg__ro_is(list, VG_JSON_ARRAY)) {
        for (v = vg_json_first(list); v != NULL && o->n_headers < VG_CTRL_MAX_HDR; v = v->next) {
            const struct vg_json *name = vg_json_first(v);

            if (vg__ro_is(name, VG_JSON_STRING) && name->len > 0) {
                vg_utf8_copy(o->headers[o->n_headers++], sizeof(o->headers[0]), name->s, name->len);
            }
        }
        return;
    }
    for (v = vg_json_first(vg_json_get(resp, VG_REC_KEY_HEADERS));
         v != NULL && o->n_headers < VG_CTRL_MAX_HDR; v = v->next) {
        if (v->key_len > 0) {
            vg_utf8_copy(o->headers[o->n_headers++], sizeof(o->headers[0]), v->key, v->key_len);
        }
    }
}

/* Why a hop that sent no request failed: the first failure among its steps, as the probe records
 * an unsent request (probe.c). */
