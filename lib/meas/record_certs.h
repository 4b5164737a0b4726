/* SPDX-License-Identifier: MIT */
/*
 * record_certs.h - the certificate chains a stored measurement carries, read for the collector's
 * "certificates seen" (docs/api.md, GET /api/v1/certificates): the probe's, per TLS handshake
 * (vigie's x_certificates summaries, or OONI's peer_certificates DER summarised here), and the
 * control's (vigie helper's x_chain, per address). Part of the record module: the key names are
 * spelled in record_certs.c only. No I/O; the measurement is untrusted and every value bounded.
 *
 * Ownership: m is borrowed; the chain handed to the callback lives only during the call.
 */
#ifndef VG_MEAS_RECORD_CERTS_H
#define VG_MEAS_RECORD_CERTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/limits.h"

/* One certificate's summary; "" for what the source does not give (the control: no dates). */
struct vg_rec_cert {
    char subject[256];
    char issuer[256];
    char not_before[24]; /* "2014-10-04T00:00:00Z" */
    char not_after[24];
    char sha256[65];      /* hex SHA-256 of the DER */
    char spki_sha256[65]; /* hex SHA-256 of the SubjectPublicKeyInfo */
    bool self_signed;
};

/* One chain as one handshake presented it. */
struct vg_rec_chain {
    bool control;     /* the control's (test_keys.control), else the probe's */
    char address[64]; /* "IP:PORT" that served it; "" when not recorded */
    bool valid;       /* the certificate validated for the host */
    char reason[256]; /* when not valid: the probe's x_verify_reason, else the failure; "" */
    size_t n;         /* certificates in certs (>= 1) */
    struct vg_rec_cert certs[VG_REC_CHAIN_MAX];
};

/* Called once per chain of m (handshakes that recorded no certificate are skipped); a negative
 * return stops the walk with that value. */
typedef int (*vg_rec_chain_fn)(void *arg, const struct vg_rec_chain *chain);

/*
 * Walk the chains of measurement m: the probe's test_keys.tls_handshakes[] in order, then the
 * control's test_keys.control.tls_handshake (by address). Malformed entries are skipped, never
 * an error. Returns 0, or the callback's negative value.
 */
VG_MUST_USE int vg_rec_certificates(json_t *m, vg_rec_chain_fn fn, void *arg);

#endif
