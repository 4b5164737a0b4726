/* SPDX-License-Identifier: MIT */
/*
 * auth_tls.c - the other credential of auth.h: a TLS client certificate issued by one of
 * --client-ca's authorities, named by its subject's common name. libmicrohttpd only asks for it
 * (MHD_OPTION_HTTPS_MEM_TRUST: GnuTLS's optional GNUTLS_CERT_REQUEST) and hands over the GnuTLS
 * session; the chain is verified here. GnuTLS is included by this file only.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <string.h>

#include "auth.h"

int
vg_auth_client_cert(struct MHD_Connection *conn, char name[VG_STORE_PROV_MAX + 1])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    const gnutls_datum_t *chain;
    gnutls_session_t session;
    gnutls_x509_crt_t crt;
    char cn[VG_STORE_PROV_MAX + 2];
    size_t cn_len = sizeof(cn);
    unsigned n = 0, status = 0;
    int rc;

    name[0] = '\0';
    if (ci == NULL || ci->tls_session == NULL) {
        return VG_ENOTFOUND;
    }
    session = (gnutls_session_t)ci->tls_session;
    chain = gnutls_certificate_get_peers(session, &n);
    if (chain == NULL || n == 0) {
        return VG_ENOTFOUND;
    }
    /* The chain against the trusted authorities, with the certificates' dates. */
    if (gnutls_certificate_verify_peers2(session, &status) < 0 || status != 0) {
        return VG_EACCES;
    }
    if (gnutls_x509_crt_init(&crt) < 0) {
        return VG_EINTERNAL;
    }
    rc = gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER);
    if (rc >= 0) {
        rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len);
    }
    gnutls_x509_crt_deinit(crt);
    if (rc < 0 || strlen(cn) != cn_len || !vg_store_provenance_ok(cn) ||
        strcmp(cn, VG_STORE_ANONYMOUS) == 0) {
        return VG_EPROTO;
    }
    memcpy(name, cn, cn_len + 1);
    return 0;
}
