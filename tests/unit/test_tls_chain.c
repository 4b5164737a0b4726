/* SPDX-License-Identifier: MIT */
/*
 * test_tls_chain.c - certificate chains as vigie's TLS client judges them: a handshake over a
 * socket pair with an in-process OpenSSL server whose chain is made here (root, N intermediates,
 * leaf). The chain vigie accepts is never longer than the chain it keeps (VG_TLS_CHAIN_MAX).
 */
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tls.h"
#include "vgtest.h"

#define HOST "www.example.org"

/* A PKI with one key for every certificate: only the shape of the chain matters here. */
struct pki {
    EVP_PKEY *key;
    X509 *root;
    X509 *inter[128]; /* inter[0] is issued by the root, inter[i] by inter[i - 1] */
    int n_inter;
    X509 *leaf; /* issued by the last intermediate (or the root) */
    char ca_file[64];
};

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for cn issued by issuer (NULL: self-signed), a CA or a server leaf for HOST. */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, bool ca, long serial)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
        1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name),
                     1);
    X509_NAME_free(name);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    if (ca) {
        add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
        add_ext(x, issuer, NID_subject_alt_name, "DNS:" HOST);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static void
pki_make(struct pki *k, int n_inter)
{
    FILE *f;
    int fd;

    memset(k, 0, sizeof(*k));
    assert_true(n_inter >= 0 && n_inter <= (int)(sizeof(k->inter) / sizeof(k->inter[0])));
    k->key = EVP_EC_gen("P-256");
    assert_non_null(k->key);
    k->root = make_cert(k->key, "test root", NULL, true, 1);
    for (int i = 0; i < n_inter; i++) {
        char cn[32];

        snprintf(cn, sizeof(cn), "test CA %d", i + 1);
        k->inter[i] = make_cert(k->key, cn, i == 0 ? k->root : k->inter[i - 1], true, 2 + i);
    }
    k->n_inter = n_inter;
    k->leaf = make_cert(k->key, HOST, n_inter > 0 ? k->inter[n_inter - 1] : k->root, false, 1000);
    snprintf(k->ca_file, sizeof(k->ca_file), "/tmp/vg-test-tls-XXXXXX");
    fd = mkstemp(k->ca_file);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, k->root), 1);
    assert_int_equal(fclose(f), 0);
}

static void
pki_free(struct pki *k)
{
    unlink(k->ca_file);
    X509_free(k->leaf);
    for (int i = 0; i < k->n_inter; i++) {
        X509_free(k->inter[i]);
    }
    X509_free(k->root);
    EVP_PKEY_free(k->key);
}

/* The server sends the leaf and every intermediate, the leaf's issuer first. */
static SSL_CTX *
server_ctx(const struct pki *k)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate(ctx, k->leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k->key), 1);
    for (int i = k->n_inter - 1; i >= 0; i--) {
        assert_int_equal(X509_up_ref(k->inter[i]), 1);
        assert_int_equal(SSL_CTX_add_extra_chain_cert(ctx, k->inter[i]), 1);
    }
    return ctx;
}

/* Step both ends of a non-blocking handshake over a socket pair until both are done. */
static void
handshake(SSL *client, SSL *server)
{
    bool c_done = false, s_done = false;

    for (int i = 0; i < 10000 && !(c_done && s_done); i++) {
        if (!c_done) {
            int rc = SSL_do_handshake(client);

            c_done = rc == 1;
            assert_true(rc == 1 || SSL_get_error(client, rc) == SSL_ERROR_WANT_READ ||
                        SSL_get_error(client, rc) == SSL_ERROR_WANT_WRITE);
        }
        if (!s_done) {
            int rc = SSL_do_handshake(server);

            s_done = rc == 1;
            assert_true(rc == 1 || SSL_get_error(server, rc) == SSL_ERROR_WANT_READ ||
                        SSL_get_error(server, rc) == SSL_ERROR_WANT_WRITE);
        }
    }
    assert_true(c_done && s_done);
}

/* Handshake with a server sending leaf + n_inter intermediates; vigie's validation of it. */
static void
judge_chain(int n_inter, struct vg_tls_info *info)
{
    struct pki k;
    SSL_CTX *cctx = NULL, *sctx;
    SSL *client = NULL, *server;
    char err[256];
    int sv[2];

    pki_make(&k, n_inter);
    assert_int_equal(vg_tls_ctx_new(k.ca_file, &cctx, err, sizeof(err)), 0);
    sctx = server_ctx(&k);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
    }
    assert_int_equal(vg_tls_new(cctx, sv[0], HOST, false, &client), 0);
    server = SSL_new(sctx);
    assert_non_null(server);
    assert_int_equal(SSL_set_fd(server, sv[1]), 1);
    SSL_set_accept_state(server);
    handshake(client, server);
    vg_tls_collect(client, info);
    SSL_free(server);
    SSL_free(client);
    close(sv[0]);
    close(sv[1]);
    SSL_CTX_free(sctx);
    vg_tls_ctx_free(cctx);
    pki_free(&k);
}

/* A web PKI chain (leaf, two intermediates) validates and is kept whole. */
static void
test_short_chain_is_valid(void **state)
{
    struct vg_tls_info info;

    (void)state;
    judge_chain(2, &info);
    assert_int_equal(info.verify_err, 0);
    assert_int_equal(info.n_certs, 3);
    /* the validated chain goes up to the trust anchor: leaf, two intermediates, root */
    assert_int_equal(info.n_verified, 4);
    assert_non_null(strstr(info.verified[3].subject, "test root"));
    assert_non_null(strstr(info.verified[1].subject, "test CA 2"));
    vg_tls_info_cleanup(&info);
}

/*
 * A server that sends its leaf alone (issued here by the root itself): the chain as sent has no
 * CA certificate, the chain validated has the trust anchor, with its key and names (issue 14:
 * the trusted-CA interception rule compares those keys).
 */
static void
test_leaf_alone_validated_chain_has_anchor(void **state)
{
    struct vg_tls_info info;

    (void)state;
    judge_chain(0, &info);
    assert_int_equal(info.verify_err, 0);
    assert_int_equal(info.n_certs, 1);
    assert_int_equal(info.n_verified, 2);
    assert_non_null(strstr(info.verified[0].subject, HOST));
    assert_string_equal(info.verified[0].sha256, info.certs[0].sha256);
    assert_non_null(strstr(info.verified[1].subject, "test root"));
    assert_true(info.verified[1].self_signed);
    assert_int_equal(strlen(info.verified[1].spki_sha256), 64);
    assert_null(info.verified[1].der); /* summaries only */
    vg_tls_info_cleanup(&info);
}

/*
 * The longest chain vigie accepts is the longest it keeps: leaf + (VG_TLS_CHAIN_MAX - 2)
 * intermediates, + the root if the server sent it.
 */
static void
test_longest_kept_chain_is_valid(void **state)
{
    struct vg_tls_info info;

    (void)state;
    judge_chain(VG_TLS_CHAIN_MAX - 2, &info);
    assert_int_equal(info.verify_err, 0);
    assert_int_equal(info.n_certs, VG_TLS_CHAIN_MAX - 1);
    vg_tls_info_cleanup(&info);
}

/*
 * One intermediate more, or the 99 of the lab's hostile-tls-long-chain: OpenSSL's default depth
 * (100) accepted them, and vigie called valid a chain it had kept only the first
 * VG_TLS_CHAIN_MAX certificates of. Now the chain is invalid, with OpenSSL's reason.
 */
static void
test_chain_longer_than_kept_is_invalid(void **state)
{
    static const int lengths[] = {VG_TLS_CHAIN_MAX - 1, 99};
    struct vg_tls_info info;

    (void)state;
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        judge_chain(lengths[i], &info);
        assert_int_equal(info.verify_err, VG_ETLS_BAD_CERT);
        assert_non_null(strstr(info.verify_reason, "chain too long"));
        assert_int_equal(info.n_certs, VG_TLS_CHAIN_MAX);
        assert_int_equal(info.n_verified, 0); /* not validated: no validated chain */
        vg_tls_info_cleanup(&info);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_chain_is_valid),
        cmocka_unit_test(test_leaf_alone_validated_chain_has_anchor),
        cmocka_unit_test(test_longest_kept_chain_is_valid),
        cmocka_unit_test(test_chain_longer_than_kept_is_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
