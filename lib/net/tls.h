/* SPDX-License-Identifier: MIT */
/*
 * tls.h - vigie's TLS client side on OpenSSL 3: context set-up, certificate validation verdicts
 * and the summaries a measurement keeps of a peer chain. This directory is the only place that
 * includes OpenSSL's TLS headers.
 */
#ifndef VG_NET_TLS_H
#define VG_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/crypto.h"
#include "util/err.h"
#include "util/limits.h"

struct ssl_ctx_st;
struct ssl_st;

/*
 * Create the client context: TLS 1.2+, ALPN "http/1.1", peer verification against ca_file (PEM)
 * or, when ca_file is NULL, the system default paths (SSL_CERT_FILE honoured). Verification runs
 * during the handshake but never aborts it: vigie completes handshakes with invalid certificates
 * to record the chain, then judges it (vg_tls_verdict). On error writes a message into err.
 */
VG_MUST_USE int vg_tls_ctx_new(const char *ca_file, struct ssl_ctx_st **out, char *err,
                               size_t errlen);
void vg_tls_ctx_free(struct ssl_ctx_st *ctx);

/* Prepare a client SSL for fd with SNI and hostname/IP verification for host. */
VG_MUST_USE int vg_tls_new(struct ssl_ctx_st *ctx, int fd, const char *host, bool host_is_ip,
                           struct ssl_st **out);

/* One certificate of a peer chain, summarised. The DER copy is owned. */
struct vg_cert {
    uint8_t *der; /* owned */
    size_t der_len;
    char subject[256]; /* "C=cn/O=www.icloud.com/CN=www.icloud.com" */
    char issuer[256];
    char not_before[24]; /* "2014-10-04T00:00:00Z" */
    char not_after[24];
    char sha256[65];      /* hex fingerprint of the DER */
    char spki_sha256[65]; /* hex SHA-256 of the SubjectPublicKeyInfo */
    bool self_signed;     /* subject == issuer and the signature verifies with its own key */
};

/*
 * Summarise one DER certificate (peer bytes, untrusted) as vg_tls_collect does for a chain.
 * Errors: VG_ETOOBIG (empty or over VG_TLS_CERT_MAX), VG_EPROTO (not exactly one certificate).
 * On success out->der is an owned copy: release with vg_cert_cleanup.
 */
VG_MUST_USE int vg_cert_summarize(const uint8_t *der, size_t len, struct vg_cert *out);
void vg_cert_cleanup(struct vg_cert *c);

/* The outcome of a completed (or failed) handshake, filled by vg_tls_collect. */
struct vg_tls_info {
    char version[16]; /* "TLSv1.3" */
    char cipher[64];  /* IANA/OpenSSL name */
    char alpn[32];
    int verify_err;          /* 0 = valid for the host, else a VG_ETLS_* code */
    char verify_reason[640]; /* human reason when invalid ("self-signed certificate", ...) */
    size_t n_certs;
    struct vg_cert certs[VG_TLS_CHAIN_MAX]; /* as the peer sent them, leaf first */
    /* The chain OpenSSL validated (SSL_get0_verified_chain), leaf first, up to the trust anchor;
     * empty unless verify_err is 0. Summaries only: der is NULL. A server that sends its leaf
     * alone still has its issuers here. */
    size_t n_verified;
    struct vg_cert verified[VG_TLS_CHAIN_MAX];
};

/* Collect version, cipher, ALPN, chain (as sent and as validated) and validation after a
 * successful handshake. */
void vg_tls_collect(struct ssl_st *ssl, struct vg_tls_info *info);
void vg_tls_info_cleanup(struct vg_tls_info *info);

/*
 * Classify a failed SSL_connect/SSL_read/SSL_write: ssl_err is SSL_get_error()'s value, sys_errno
 * the errno at the time. Returns a VG_E* code (VG_ECONNRESET, VG_EEOF, VG_ETLS_HANDSHAKE, ...) and
 * clears the OpenSSL error queue. *alert gets the TLS alert description received, or -1.
 */
int vg_tls_classify_error(struct ssl_st *ssl, int ssl_err, int sys_errno, int *alert);

/*
 * A client handshake whose bytes the caller carries (vigie locate sends the ClientHello with a
 * chosen IP TTL, then the rest of the handshake on the same connection). SNI, ALPN, verification
 * and the ClientHello are those of vg_tls_new: the bytes a measurement sends for host.
 */
struct vg_tls_mem;

VG_MUST_USE int vg_tls_mem_new(struct ssl_ctx_st *ctx, const char *host, bool host_is_ip,
                               struct vg_tls_mem **out);
/*
 * Give the handshake in[inlen] received from the peer (inlen may be 0) and advance it. *out and
 * *outlen get the bytes to send now (owned by t, valid until the next call; *outlen may be 0; the
 * first call yields the ClientHello). Returns 1 when the handshake completed, 0 when it needs more
 * input, or a negative VG_E* (as vg_tls_classify_error, *alert the alert received or -1).
 */
VG_MUST_USE int vg_tls_mem_step(struct vg_tls_mem *t, const uint8_t *in, size_t inlen,
                                const uint8_t **out, size_t *outlen, int *alert);
/* After a completed handshake: version, cipher, chain and validation, as vg_tls_collect. */
void vg_tls_mem_collect(struct vg_tls_mem *t, struct vg_tls_info *info);
void vg_tls_mem_free(struct vg_tls_mem *t);

/* A fresh ClientHello for host, as vg_tls_new's connection would send it: *out (caller frees). */
VG_MUST_USE int vg_tls_client_hello(struct ssl_ctx_st *ctx, const char *host, bool host_is_ip,
                                    uint8_t **out, size_t *len);

#endif
