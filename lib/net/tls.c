/* SPDX-License-Identifier: MIT */
#include "net/tls.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/crypto.h"
#include "util/mem.h"
#include "util/str.h"

int
vg_tls_ctx_new(const char *ca_file, SSL_CTX **out, char *err, size_t errlen)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    *out = NULL;
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot create a TLS context");
        return VG_EINTERNAL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Verification is recorded, never enforced, during the handshake: see vg_tls_verdict. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    /*
     * A chain vigie calls valid is a chain it keeps whole (VG_TLS_CHAIN_MAX certificates), so the
     * evidence shows every CA that vouched for the leaf. OpenSSL's default depth takes 100
     * intermediates; the depth counts intermediates only, the leaf and the root come on top.
     * Longer chains fail with X509_V_ERR_CERT_CHAIN_TOO_LONG.
     */
    SSL_CTX_set_verify_depth(ctx, VG_TLS_CHAIN_MAX - 2);
    /* Small idle footprint: release read/write buffers between records. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        SSL_CTX_free(ctx);
        snprintf(err, errlen, "cannot set ALPN");
        return VG_EINTERNAL;
    }
    if (ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            unsigned long e = ERR_get_error();
            const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

            /* A file that cannot be opened is a system error, which OpenSSL 3 gives no reason
             * string for ("(null)"): say what errno says, and what the file lacks otherwise. */
            if (access(ca_file, R_OK) != 0) {
                why = strerror(errno);
            } else if (why == NULL) {
                why = "no certificate in it (PEM expected)";
            }
            snprintf(err, errlen, "cannot load CA file %s: %s", ca_file, why);
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return VG_EINVAL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        snprintf(err, errlen, "cannot load the system trust store");
        return VG_EINVAL;
    }
    *out = ctx;
    return 0;
}

void
vg_tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

/* SNI and the name (or address) the certificate must match: 1 on success, as OpenSSL's calls. */
static int
vg__tls_set_host(SSL *ssl, const char *host, bool host_is_ip)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

    if (host_is_ip) {
        return X509_VERIFY_PARAM_set1_ip_asc(param, host);
    }
    if (SSL_set_tlsext_host_name(ssl, host) != 1) {
        return 0;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, host);
}

int
vg_tls_new(SSL_CTX *ctx, int fd, const char *host, bool host_is_ip, SSL **out)
{
    SSL *ssl = SSL_new(ctx);

    *out = NULL;
    if (ssl == NULL) {
        return VG_EINTERNAL;
    }
    if (vg__tls_set_host(ssl, host, host_is_ip) != 1) {
        goto fail;
    }
    if (SSL_set_fd(ssl, fd) != 1) {
        goto fail;
    }
    SSL_set_connect_state(ssl);
    *out = ssl;
    return 0;
fail:
    ERR_clear_error();
    SSL_free(ssl);
    return VG_EINVAL;
}

/* Append "SN=value" entries separated by '/', printable ASCII or UTF-8; controls become '?'. */
static void
vg__name_oneline(const X509_NAME *name, char *out, size_t cap)
{
    size_t o = 0;
    int n = X509_NAME_entry_count(name);

    out[0] = '\0';
    for (int i = 0; i < n && o + 1 < cap; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : "?";
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        int w = snprintf(out + o, cap - o, "%s%s=", i > 0 ? "/" : "", sn);

        if (w < 0 || (size_t)w >= cap - o) {
            OPENSSL_free(utf8);
            break;
        }
        o += (size_t)w;
        for (int j = 0; j < len && o + 1 < cap; j++) {
            out[o++] = utf8[j] < 0x20 || utf8[j] == 0x7f ? '?' : (char)utf8[j];
        }
        out[o] = '\0';
        OPENSSL_free(utf8);
    }
}

static void
vg__time_iso(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;

    out[0] = '\0';
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return;
    }
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Whether a self-issued certificate's signature verifies with its own key depends on its bytes
 * alone: the answer is kept per DER fingerprint, so that the trust anchor ending every verified
 * chain (the same root, handshake after handshake) is not verified again each time. A few
 * entries, replaced in turn; any thread (the loops of a probe share it).
 */
#define VG__TLS_SS_CACHE 16

static struct {
    pthread_mutex_t lock;
    char sha256[VG__TLS_SS_CACHE][65];
    bool self_signed[VG__TLS_SS_CACHE];
    unsigned next;
} vg__tls_ss = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* x is self-signed: self-issued and its signature verifies with its own key (sha256 its DER's
 * fingerprint, "" when unknown: then not cached). */
static bool
vg__tls_self_signed(X509 *x, const char *sha256)
{
    bool ss;

    if (X509_self_signed(x, 0) != 1) {
        return false; /* not even self-issued: nothing to verify */
    }
    if (sha256[0] != '\0') {
        pthread_mutex_lock(&vg__tls_ss.lock);
        for (unsigned i = 0; i < VG__TLS_SS_CACHE; i++) {
            if (strcmp(vg__tls_ss.sha256[i], sha256) == 0) {
                ss = vg__tls_ss.self_signed[i];
                pthread_mutex_unlock(&vg__tls_ss.lock);
                return ss;
            }
        }
        pthread_mutex_unlock(&vg__tls_ss.lock);
    }
    ss = X509_self_signed(x, 1) == 1;
    if (sha256[0] != '\0') {
        pthread_mutex_lock(&vg__tls_ss.lock);
        memcpy(vg__tls_ss.sha256[vg__tls_ss.next], sha256, 65);
        vg__tls_ss.self_signed[vg__tls_ss.next] = ss;
        vg__tls_ss.next = (vg__tls_ss.next + 1) % VG__TLS_SS_CACHE;
        pthread_mutex_unlock(&vg__tls_ss.lock);
    }
    return ss;
}

static void
vg__cert_fill(X509 *x, struct vg_cert *c)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    unsigned char *spki = NULL;
    int spki_len;

    memset(c, 0, sizeof(*c));
    if (len > 0 && (size_t)len <= VG_TLS_CERT_MAX) {
        c->der = vg_xmemdup(der, (size_t)len);
        c->der_len = (size_t)len;
        vg_sha256_hex(der, (size_t)len, c->sha256);
    } else if (len > 0) {
        vg_sha256_hex(der, (size_t)len, c->sha256); /* fingerprint kept, bytes dropped */
    }
    OPENSSL_free(der);
    spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    if (spki_len > 0) {
        vg_sha256_hex(spki, (size_t)spki_len, c->spki_sha256);
    }
    OPENSSL_free(spki);
    vg__name_oneline(X509_get_subject_name(x), c->subject, sizeof(c->subject));
    vg__name_oneline(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
    vg__time_iso(X509_get0_notBefore(x), c->not_before, sizeof(c->not_before));
    vg__time_iso(X509_get0_notAfter(x), c->not_after, sizeof(c->not_after));
    c->self_signed = vg__tls_self_signed(x, c->sha256);
    ERR_clear_error();
}

int
vg_cert_summarize(const uint8_t *der, size_t len, struct vg_cert *out)
{
    const unsigned char *p = der;
    X509 *x;

    memset(out, 0, sizeof(*out));
    VG_ENSURE(len > 0 && len <= VG_TLS_CERT_MAX && len <= LONG_MAX, VG_ETOOBIG);
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        /* Not one certificate, or trailing bytes after it. */
        X509_free(x);
        ERR_clear_error();
        return VG_EPROTO;
    }
    vg__cert_fill(x, out);
    X509_free(x);
    return 0;
}

void
vg_cert_cleanup(struct vg_cert *c)
{
    VG_FREE(c->der);
}

static int
vg__verify_err(long v, const struct vg_tls_info *info, char *reason, size_t cap)
{
    const char *what = X509_verify_cert_error_string(v);
    const char *subj = info->n_certs > 0 ? info->certs[0].subject : "";
    const char *iss = info->n_certs > 0 ? info->certs[info->n_certs - 1].issuer : "";

    switch (v) {
    case X509_V_OK:
        reason[0] = '\0';
        return 0;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        snprintf(reason, cap, "self-signed certificate %s", subj);
        return VG_ETLS_UNKNOWN_CA;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        snprintf(reason, cap, "certificate %s from an unknown authority %s", subj, iss);
        return VG_ETLS_UNKNOWN_CA;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(reason, cap, "certificate %s does not match the host name", subj);
        return VG_ETLS_HOSTNAME;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        snprintf(reason, cap, "expired certificate %s (not after %s)", subj,
                 info->n_certs > 0 ? info->certs[0].not_after : "?");
        return VG_ETLS_BAD_CERT;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        snprintf(reason, cap, "certificate %s not yet valid (not before %s)", subj,
                 info->n_certs > 0 ? info->certs[0].not_before : "?");
        return VG_ETLS_BAD_CERT;
    default:
        snprintf(reason, cap, "invalid certificate %s: %s", subj, what);
        return VG_ETLS_BAD_CERT;
    }
}

/* The validated chain, up to the trust anchor, as summaries (no DER kept). Its certificates the
 * peer sent (the same objects) are already summarised in info->certs: copied, not redone. */
static void
vg__tls_collect_verified(SSL *ssl, STACK_OF(X509) * chain, struct vg_tls_info *info)
{
    STACK_OF(X509) *vchain = SSL_get0_verified_chain(ssl);
    int n = vchain != NULL ? sk_X509_num(vchain) : 0;

    for (int i = 0; i < n && info->n_verified < VG_TLS_CHAIN_MAX; i++) {
        X509 *x = sk_X509_value(vchain, i);
        struct vg_cert *c = &info->verified[info->n_verified++];
        size_t j = 0;

        while (j < info->n_certs && sk_X509_value(chain, (int)j) != x) {
            j++;
        }
        if (j < info->n_certs) {
            *c = info->certs[j];
        } else {
            vg__cert_fill(x, c);
            VG_FREE(c->der);
        }
        c->der = NULL;
        c->der_len = 0;
    }
}

void
vg_tls_collect(SSL *ssl, struct vg_tls_info *info)
{
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    int n;

    memset(info, 0, sizeof(*info));
    vg_strlcpy(info->version, SSL_get_version(ssl), sizeof(info->version));
    if (cipher != NULL) {
        const char *std = SSL_CIPHER_standard_name(cipher);

        vg_strlcpy(info->cipher, std != NULL ? std : SSL_CIPHER_get_name(cipher),
                   sizeof(info->cipher));
    }
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len > 0 && alpn_len < sizeof(info->alpn)) {
        memcpy(info->alpn, alpn, alpn_len);
        info->alpn[alpn_len] = '\0';
    }
    n = chain != NULL ? sk_X509_num(chain) : 0;
    for (int i = 0; i < n && info->n_certs < VG_TLS_CHAIN_MAX; i++) {
        vg__cert_fill(sk_X509_value(chain, i), &info->certs[info->n_certs++]);
    }
    if (n == 0) {
        info->verify_err = VG_ETLS_BAD_CERT;
        snprintf(info->verify_reason, sizeof(info->verify_reason), "no peer certificate");
        return;
    }
    info->verify_err = vg__verify_err(SSL_get_verify_result(ssl), info, info->verify_reason,
                                      sizeof(info->verify_reason));
    if (info->verify_err == 0) {
        vg__tls_collect_verified(ssl, chain, info);
    }
}

void
vg_tls_info_cleanup(struct vg_tls_info *info)
{
    for (size_t i = 0; i < info->n_certs; i++) {
        VG_FREE(info->certs[i].der);
    }
    info->n_certs = 0;
}

int
vg_tls_classify_error(SSL *ssl, int ssl_err, int sys_errno, int *alert)
{
    unsigned long e = ERR_peek_error();
    int rc;

    (void)ssl;
    *alert = -1;
    switch (ssl_err) {
    case SSL_ERROR_ZERO_RETURN:
        rc = VG_EEOF;
        break;
    case SSL_ERROR_SYSCALL:
        if (e != 0) {
            rc = VG_ETLS_HANDSHAKE;
        } else if (sys_errno == 0 || sys_errno == EPIPE) {
            rc = VG_EEOF;
        } else {
            rc = vg_err_from_errno(sys_errno);
        }
        break;
    case SSL_ERROR_SSL:
        if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
            ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            rc = VG_EEOF;
        } else if (sys_errno == ECONNRESET) {
            rc = VG_ECONNRESET;
        } else {
            int reason = ERR_GET_REASON(e);

            /* Alerts received are reported as SSL_R_SSLV3_ALERT_* / SSL_R_TLSV1_ALERT_*
             * reasons, numbered 1000 + the alert description. */
            if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= 1000 && reason < 1256) {
                *alert = reason - 1000;
            }
            rc = *alert == 112 ? VG_ETLS_HOSTNAME : VG_ETLS_HANDSHAKE;
        }
        break;
    default:
        rc = VG_ETLS_HANDSHAKE;
        break;
    }
    ERR_clear_error();
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* handshake over memory buffers                                                               */

struct vg_tls_mem {
    SSL *ssl;
    BIO *in;  /* bytes from the peer, written by vg_tls_mem_step */
    BIO *out; /* bytes for the peer, drained into buf */
    uint8_t *buf;
    size_t cap;
};

int
vg_tls_mem_new(SSL_CTX *ctx, const char *host, bool host_is_ip, struct vg_tls_mem **out)
{
    struct vg_tls_mem *t = vg_xcalloc(1, sizeof(*t));

    *out = NULL;
    t->ssl = SSL_new(ctx);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->in == NULL || t->out == NULL) {
        BIO_free(t->in);
        BIO_free(t->out);
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return VG_EINTERNAL;
    }
    /* An empty input BIO means "wait for more", not end of stream. */
    BIO_set_mem_eof_return(t->in, -1);
    SSL_set_bio(t->ssl, t->in, t->out); /* the SSL owns both BIOs from here */
    if (vg__tls_set_host(t->ssl, host, host_is_ip) != 1) {
        vg_tls_mem_free(t);
        ERR_clear_error();
        return VG_EINVAL;
    }
    SSL_set_connect_state(t->ssl);
    *out = t;
    return 0;
}

int
vg_tls_mem_step(struct vg_tls_mem *t, const uint8_t *in, size_t inlen, const uint8_t **out,
                size_t *outlen, int *alert)
{
    size_t pending;
    int rc, e;

    *out = NULL;
    *outlen = 0;
    *alert = -1;
    if (inlen > 0 && (inlen > INT_MAX || BIO_write(t->in, in, (int)inlen) != (int)inlen)) {
        return VG_EINTERNAL;
    }
    rc = SSL_do_handshake(t->ssl);
    e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, rc);
    /* Whatever OpenSSL queued for the peer goes out, alerts included. */
    pending = BIO_ctrl_pending(t->out);
    if (pending > 0) {
        if (pending > t->cap) {
            t->buf = vg_xrealloc(t->buf, pending);
            t->cap = pending;
        }
        if (pending > INT_MAX || BIO_read(t->out, t->buf, (int)pending) != (int)pending) {
            return VG_EINTERNAL;
        }
        *out = t->buf;
        *outlen = pending;
    }
    if (rc == 1) {
        return 1;
    }
    if (e == SSL_ERROR_WANT_READ) {
        return 0;
    }
    return vg_tls_classify_error(t->ssl, e, 0, alert);
}

void
vg_tls_mem_collect(struct vg_tls_mem *t, struct vg_tls_info *info)
{
    vg_tls_collect(t->ssl, info);
}

void
vg_tls_mem_free(struct vg_tls_mem *t)
{
    if (t == NULL) {
        return;
    }
    SSL_free(t->ssl);
    free(t->buf);
    free(t);
}

int
vg_tls_client_hello(SSL_CTX *ctx, const char *host, bool host_is_ip, uint8_t **out, size_t *len)
{
    struct vg_tls_mem *t;
    const uint8_t *p;
    int alert, rc;

    *out = NULL;
    *len = 0;
    VG_TRY(vg_tls_mem_new(ctx, host, host_is_ip, &t));
    rc = vg_tls_mem_step(t, NULL, 0, &p, len, &alert);
    if (rc == 0 && *len > 0) {
        *out = vg_xmemdup(p, *len);
    } else if (rc >= 0) {
        rc = VG_EINTERNAL;
    }
    vg_tls_mem_free(t);
    if (rc < 0) {
        *len = 0;
    }
    return rc < 0 ? rc : 0;
}
