#include "net/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

            snprintf(err, errlen, "cannot load CA file %s: %s", ca_file,
                     e != 0 ? ERR_reason_error_string(e) : "unknown error");
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

int
vg_tls_new(SSL_CTX *ctx, int fd, const char *host, bool host_is_ip, SSL **out)
{
    SSL *ssl = SSL_new(ctx);
    X509_VERIFY_PARAM *param;

    *out = NULL;
    if (ssl == NULL)
        return VG_EINTERNAL;
    param = SSL_get0_param(ssl);
    if (host_is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
            goto fail;
    } else {
        if (SSL_set_tlsext_host_name(ssl, host) != 1)
            goto fail;
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(ssl, host) != 1)
            goto fail;
    }
    if (SSL_set_fd(ssl, fd) != 1)
        goto fail;
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
        for (int j = 0; j < len && o + 1 < cap; j++)
            out[o++] = utf8[j] < 0x20 || utf8[j] == 0x7f ? '?' : (char)utf8[j];
        out[o] = '\0';
        OPENSSL_free(utf8);
    }
}

static void
vg__time_iso(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;

    out[0] = '\0';
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return;
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
vg_sha256_hex(const uint8_t *p, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        out[0] = '\0';
        return;
    }
    vg_hex(md, 32, out);
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
    if (spki_len > 0)
        vg_sha256_hex(spki, (size_t)spki_len, c->spki_sha256);
    OPENSSL_free(spki);
    vg__name_oneline(X509_get_subject_name(x), c->subject, sizeof(c->subject));
    vg__name_oneline(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
    vg__time_iso(X509_get0_notBefore(x), c->not_before, sizeof(c->not_before));
    vg__time_iso(X509_get0_notAfter(x), c->not_after, sizeof(c->not_after));
    c->self_signed = X509_self_signed(x, 1) == 1;
    ERR_clear_error();
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
    for (int i = 0; i < n && info->n_certs < VG_TLS_CHAIN_MAX; i++)
        vg__cert_fill(sk_X509_value(chain, i), &info->certs[info->n_certs++]);
    if (n == 0) {
        info->verify_err = VG_ETLS_BAD_CERT;
        snprintf(info->verify_reason, sizeof(info->verify_reason), "no peer certificate");
        return;
    }
    info->verify_err = vg__verify_err(SSL_get_verify_result(ssl), info, info->verify_reason,
                                      sizeof(info->verify_reason));
}

void
vg_tls_info_cleanup(struct vg_tls_info *info)
{
    for (size_t i = 0; i < info->n_certs; i++)
        VG_FREE(info->certs[i].der);
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
        if (e != 0)
            rc = VG_ETLS_HANDSHAKE;
        else if (sys_errno == 0 || sys_errno == EPIPE)
            rc = VG_EEOF;
        else
            rc = vg_err_from_errno(sys_errno);
        break;
    case SSL_ERROR_SSL:
        if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
            ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            rc = VG_EEOF;
        else if (sys_errno == ECONNRESET)
            rc = VG_ECONNRESET;
        else {
            int reason = ERR_GET_REASON(e);

            /* Alerts received are reported as SSL_R_SSLV3_ALERT_* / SSL_R_TLSV1_ALERT_*
             * reasons, numbered 1000 + the alert description. */
            if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= 1000 && reason < 1256)
                *alert = reason - 1000;
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

void
vg_random_bytes(void *buf, size_t len)
{
    if (RAND_bytes(buf, (int)len) != 1) {
        /* The CSPRNG failing is a broken system, not a network condition. */
        fprintf(stderr, "vigie: RAND_bytes failed\n");
        abort();
    }
}
