/* SPDX-License-Identifier: MIT */
/*
 * x509.h - peer certificates as a measurement from elsewhere records them (OONI's
 * tls_handshakes[].peer_certificates: {"format": "base64", "data": DER}), summarised for the
 * verdict the way the probe summarises the chain it received (net/tls.h's vg_cert): subject,
 * issuer, validity, self-signed, leaf and SPKI SHA-256. No I/O; every input is untrusted and
 * bounded (VG_TLS_CERT_MAX bytes of DER).
 *
 * Ownership: the caller owns every buffer; nothing here allocates but OpenSSL's parse of one
 * certificate, released before returning.
 */
#ifndef VG_NET_X509_H
#define VG_NET_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "net/tls.h"
#include "util/err.h"

/*
 * Summarise one DER certificate (untrusted, at most VG_TLS_CERT_MAX bytes) into *out as
 * vg_cert_summarize does (net/tls.c), without keeping the DER (out->der stays NULL). Returns 0,
 * VG_ETOOBIG or VG_EPROTO.
 */
VG_MUST_USE int vg_x509_summarize(const uint8_t *der, size_t len, struct vg_cert *out);

/*
 * The reason a certificate failed validation, in the probe's words (net/tls.c): for leaf c (may
 * be NULL when no certificate was recorded), the validation error verify_err (VG_ETLS_*) the
 * measurement reports, judged at time at (the measurement's start; 0: unknown): "self-signed
 * certificate SUBJECT", "expired certificate SUBJECT (not after T)", "certificate SUBJECT not yet
 * valid (not before T)", "certificate SUBJECT does not match the host name", "certificate SUBJECT
 * from an unknown authority ISSUER", "invalid certificate SUBJECT". Writes into out (cap > 0).
 */
void vg_x509_reason(const struct vg_cert *c, int verify_err, time_t at, char *out, size_t cap);

#endif
