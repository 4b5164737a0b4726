/* SPDX-License-Identifier: MIT */
/*
 * record_certs.c - the certificate chains of a stored measurement (record_certs.h): vigie's
 * x_certificates, OONI's peer_certificates (DER, summarised by net/x509.h) and the control's
 * x_chain.
 */
#include "meas/record_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_keys.h"
#include "net/tls.h"
#include "net/x509.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

/* Copy string member key of o (or "") into out[cap], cut to fit on a UTF-8 boundary. */
static void
vg__rc_copy(json_t *o, const char *key, char *out, size_t cap)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = json_is_string(v) ? json_string_length(v) : 0;

    vg_utf8_copy(out, cap, s, n);
}

/* vigie's summaries ({"subject", "issuer", "not_before", "not_after", "sha256", "spki_sha256",
 * "self_signed"}), as x_certificates and x_chain hold them. */
static void
vg__rc_summaries(json_t *arr, struct vg_rec_chain *ch)
{
    size_t i;
    json_t *c;

    json_array_foreach(arr, i, c)
    {
        struct vg_rec_cert *rc;

        if (ch->n == VG_REC_CHAIN_MAX) {
            break;
        }
        if (!json_is_object(c)) {
            continue;
        }
        rc = &ch->certs[ch->n];
        memset(rc, 0, sizeof(*rc));
        vg__rc_copy(c, VG_REC_KEY_SHA256, rc->sha256, sizeof(rc->sha256));
        if (rc->sha256[0] == '\0') {
            continue;
        }
        vg__rc_copy(c, VG_REC_KEY_SPKI_SHA256, rc->spki_sha256, sizeof(rc->spki_sha256));
        vg__rc_copy(c, VG_REC_KEY_SUBJECT, rc->subject, sizeof(rc->subject));
        vg__rc_copy(c, VG_REC_KEY_ISSUER, rc->issuer, sizeof(rc->issuer));
        vg__rc_copy(c, VG_REC_KEY_NOT_BEFORE, rc->not_before, sizeof(rc->not_before));
        vg__rc_copy(c, VG_REC_KEY_NOT_AFTER, rc->not_after, sizeof(rc->not_after));
        rc->self_signed = json_is_true(json_object_get(c, VG_REC_KEY_SELF_SIGNED));
        ch->n++;
    }
}

/* OONI's peer_certificates: [{"format": "base64", "data": DER}], each summarised. der is a
 * scratch buffer of VG_TLS_CERT_MAX bytes. */
static void
vg__rc_der_chain(json_t *arr, struct vg_rec_chain *ch, uint8_t *der)
{
    size_t i;
    json_t *pc;

    json_array_foreach(arr, i, pc)
    {
        json_t *data = json_object_get(pc, VG_REC_KEY_DATA);
        struct vg_cert c;
        struct vg_rec_cert *rc;
        long n;

        if (ch->n == VG_REC_CHAIN_MAX) {
            break;
        }
        if (!json_is_string(data)) {
            continue;
        }
        n = vg_base64_decode(json_string_value(data), json_string_length(data), der,
                             VG_TLS_CERT_MAX);
        memset(&c, 0, sizeof(c));
        if (n <= 0 || vg_x509_summarize(der, (size_t)n, &c) < 0) {
            continue;
        }
        rc = &ch->certs[ch->n++];
        memset(rc, 0, sizeof(*rc));
        memcpy(rc->subject, c.subject, sizeof(rc->subject));
        memcpy(rc->issuer, c.issuer, sizeof(rc->issuer));
        memcpy(rc->not_before, c.not_before, sizeof(rc->not_before));
        memcpy(rc->not_after, c.not_after, sizeof(rc->not_after));
        memcpy(rc->sha256, c.sha256, sizeof(rc->sha256));
        memcpy(rc->spki_sha256, c.spki_sha256, sizeof(rc->spki_sha256));
        rc->self_signed = c.self_signed;
    }
}

/* The probe's handshakes. */
static int
vg__rc_probe(json_t *tk, struct vg_rec_chain *ch, uint8_t **der, vg_rec_chain_fn fn, void *arg)
{
    json_t *hs = json_object_get(tk, VG_REC_KEY_TLS_HANDSHAKES), *h;
    size_t i;
    int rc;

    json_array_foreach(hs, i, h)
    {
        json_t *sums = json_object_get(h, VG_REC_KEY_X_CERTIFICATES);
        json_t *failure = json_object_get(h, VG_REC_KEY_FAILURE);

        if (!json_is_object(h)) {
            continue;
        }
        memset(ch, 0, sizeof(*ch));
        if (json_is_array(sums)) {
            vg__rc_summaries(sums, ch);
        } else if (json_array_size(json_object_get(h, VG_REC_KEY_PEER_CERTIFICATES)) > 0) {
            if (*der == NULL) {
                *der = vg_xmalloc(VG_TLS_CERT_MAX);
            }
            vg__rc_der_chain(json_object_get(h, VG_REC_KEY_PEER_CERTIFICATES), ch, *der);
        }
        if (ch->n == 0) {
            continue;
        }
        vg__rc_copy(h, VG_REC_KEY_ADDRESS, ch->address, sizeof(ch->address));
        ch->valid = json_is_null(failure);
        if (!ch->valid) {
            vg__rc_copy(h, VG_REC_KEY_X_VERIFY_REASON, ch->reason, sizeof(ch->reason));
            if (ch->reason[0] == '\0') {
                vg__rc_copy(h, VG_REC_KEY_FAILURE, ch->reason, sizeof(ch->reason));
            }
        }
        if ((rc = fn(arg, ch)) < 0) {
            return rc;
        }
    }
    return 0;
}

/* The control's handshakes (vigie helper: x_chain, x_valid), by address. */
static int
vg__rc_control(json_t *tk, struct vg_rec_chain *ch, vg_rec_chain_fn fn, void *arg)
{
    json_t *ctrl =
               json_object_get(json_object_get(tk, VG_REC_KEY_CONTROL), VG_REC_KEY_TLS_HANDSHAKE),
           *h;
    const char *addr;
    int rc;

    json_object_foreach(ctrl, addr, h)
    {
        memset(ch, 0, sizeof(*ch));
        ch->control = true;
        vg__rc_summaries(json_object_get(h, VG_REC_KEY_X_CHAIN), ch);
        if (ch->n == 0) {
            continue;
        }
        vg_utf8_copy(ch->address, sizeof(ch->address), addr, strlen(addr));
        ch->valid = json_is_true(json_object_get(h, VG_REC_KEY_X_VALID));
        if (!ch->valid) {
            vg__rc_copy(h, VG_REC_KEY_FAILURE, ch->reason, sizeof(ch->reason));
        }
        if ((rc = fn(arg, ch)) < 0) {
            return rc;
        }
    }
    return 0;
}

int
vg_rec_certificates(json_t *m, vg_rec_chain_fn fn, void *arg)
{
    json_t *tk = json_object_get(m, VG_REC_KEY_TEST_KEYS);
    struct vg_rec_chain *ch;
    uint8_t *der = NULL;
    int rc;

    if (!json_is_object(tk)) {
        return 0;
    }
    ch = vg_xmalloc(sizeof(*ch));
    rc = vg__rc_probe(tk, ch, &der, fn, arg);
    if (rc == 0) {
        rc = vg__rc_control(tk, ch, fn, arg);
    }
    free(der);
    free(ch);
    return rc;
}
