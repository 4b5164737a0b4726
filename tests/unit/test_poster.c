/* SPDX-License-Identifier: MIT */
/*
 * test_poster.c - the blocking POST (vg_poster_*, lib/meas/poster.c over lib/net/httpclient.c)
 * against a small server on 127.0.0.1 run by a thread of this test: the request as sent, any
 * status, a long answer cut, no answer in time, a refused connection, URLs that are not http(s),
 * and https with a certificate from a CA made here (trusted through ca_file, or not at all).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "vgtest.h"
#include "vigie/vigie.h"

/* One connection served by the thread: read the request, answer reply (or nothing). */
struct srv {
    int lfd;
    unsigned short port;
    SSL_CTX *tls; /* NULL: plain HTTP */
    const char *reply;
    size_t body_bytes; /* after reply: this many 'x' (a long body) */
    bool silent;       /* read the request, answer nothing until the client leaves */
    char req[8192];    /* what arrived */
    size_t req_len;
    pthread_t th;
};

static bool
srv_request_complete(const struct srv *s)
{
    const char *end = memmem(s->req, s->req_len, "\r\n\r\n", 4), *cl;
    unsigned long n;

    if (end == NULL) {
        return false;
    }
    cl = strcasestr(s->req, "\r\nContent-Length: ");
    n = cl != NULL && cl < end ? strtoul(cl + 18, NULL, 10) : 0;
    return s->req_len >= (size_t)(end + 4 - s->req) + n;
}

static void *
srv_run(void *arg)
{
    struct srv *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    SSL *ssl = NULL;
    char chunk[4096];

    if (fd < 0) {
        return NULL;
    }
    if (s->tls != NULL) {
        ssl = SSL_new(s->tls);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1) {
            goto out; /* the client may refuse the certificate: then it says so with an alert */
        }
    }
    while (!srv_request_complete(s) && s->req_len < sizeof(s->req) - 1) {
        int n = ssl != NULL
                    ? SSL_read(ssl, s->req + s->req_len, (int)(sizeof(s->req) - 1 - s->req_len))
                    : (int)read(fd, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len);

        if (n <= 0) {
            goto out;
        }
        s->req_len += (size_t)n;
        s->req[s->req_len] = '\0';
    }
    if (s->silent) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        (void)poll(&p, 1, 10000); /* until the client gives up and closes */
        goto out;
    }
    if (ssl != NULL) {
        (void)SSL_write(ssl, s->reply, (int)strlen(s->reply));
    } else {
        (void)write(fd, s->reply, strlen(s->reply));
    }
    memset(chunk, 'x', sizeof(chunk));
    for (size_t left = s->body_bytes; left > 0;) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        ssize_t w = ssl != NULL ? SSL_write(ssl, chunk, (int)n) : write(fd, chunk, n);

        if (w <= 0) {
            break; /* the client read what it wanted and left */
        }
        left -= (size_t)w;
    }
out:
    if (ssl != NULL) {
        SSL_free(ssl);
    }
    close(fd);
    return NULL;
}

static void
srv_start(struct srv *s, SSL_CTX *tls, const char *reply)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);

    s->tls = tls;
    s->reply = reply;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_run, s), 0);
}

static void
srv_stop(struct srv *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static struct vg_poster *
poster(const char *ca_file, unsigned timeout_ms)
{
    struct vg_post_opts o = {.ca_file = ca_file, .timeout_ms = timeout_ms};
    struct vg_poster *p;
    char err[256];

    assert_int_equal(vg_poster_new(&o, &p, err, sizeof(err)), 0);
    return p;
}

static int
post(struct vg_poster *p, const char *scheme, unsigned short port, int *status, char *err,
     size_t errlen)
{
    char url[128];

    snprintf(url, sizeof(url), "%s://127.0.0.1:%u/hook?token=t", scheme, port);
    return vg_poster_send(p, url, "application/json", "{\"a\":1}", 7, status, err, errlen);
}

static void
test_http_request_and_statuses(void **state)
{
    struct vg_poster *p = poster(NULL, 0);
    struct srv s;
    char err[256];
    int status = -1;

    (void)state;
    memset(&s, 0, sizeof(s));
    srv_start(&s, NULL, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_int_equal(post(p, "http", s.port, &status, err, sizeof(err)), 0);
    srv_stop(&s);
    assert_int_equal(status, 204);
    assert_non_null(strstr(s.req, "POST /hook?token=t HTTP/1.1\r\n"));
    assert_non_null(strstr(s.req, "\r\nHost: 127.0.0.1:"));
    assert_non_null(strstr(s.req, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(s.req, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(s.req, "\r\n\r\n{\"a\":1}"));

    /* Any status is an answer; a body longer than the cap is cut, not a failure. */
    memset(&s, 0, sizeof(s));
    s.body_bytes = 8000000;
    srv_start(&s, NULL, "HTTP/1.1 500 Oops\r\nContent-Length: 8000000\r\n\r\n");
    assert_int_equal(post(p, "http", s.port, &status, err, sizeof(err)), 0);
    srv_stop(&s);
    assert_int_equal(status, 500);
    vg_poster_free(p);
}

static void
test_failures(void **state)
{
    struct vg_poster *p = poster(NULL, 300);
    struct timespec t0, t1;
    struct srv s;
    char err[256];
    int status = -1;
    double secs;

    (void)state;
    /* No answer: the timeout bounds the whole exchange. */
    memset(&s, 0, sizeof(s));
    s.silent = true;
    srv_start(&s, NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(post(p, "http", s.port, &status, err, sizeof(err)), VG_EHTTP_REQUEST);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    srv_stop(&s);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs > 0.2 && secs < 3);
    assert_int_equal(status, 0);
    assert_string_equal(err, "generic_timeout_error");

    /* Refused: the port of a closed listener. */
    memset(&s, 0, sizeof(s));
    srv_start(&s, NULL, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(post(p, "http", s.port, &status, err, sizeof(err)), 0);
    srv_stop(&s);
    assert_int_equal(post(p, "http", s.port, &status, err, sizeof(err)), VG_EHTTP_REQUEST);
    assert_string_equal(err, "connection_refused");

    /* Not URLs one can POST to. */
    assert_int_equal(
        vg_poster_send(p, "ftp://127.0.0.1/", "text/plain", "", 0, &status, err, sizeof(err)),
        VG_EINVAL);
    assert_int_equal(
        vg_poster_send(p, "tls://127.0.0.1/", "text/plain", "", 0, &status, err, sizeof(err)),
        VG_EINVAL);
    assert_int_equal(
        vg_poster_send(p, "http://u@127.0.0.1/", "text/plain", "", 0, &status, err, sizeof(err)),
        VG_EINVAL);
    vg_poster_free(p);
    vg_poster_free(NULL);
}

/* ---- https -------------------------------------------------------------------------------- */

static X509 *
cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX v3;
    const char *ext[][2] = {
        {"basicConstraints", ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
        {"keyUsage", ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
        {"subjectAltName", ca ? NULL : "IP:127.0.0.1"},
    };

    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2), 1);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        X509_EXTENSION *e;

        if (ext[i][1] == NULL) {
            continue;
        }
        e = X509V3_EXT_conf(NULL, &v3, ext[i][0], ext[i][1]);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static void
test_https(void **state)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = cert(ca_key, "poster test CA", NULL, NULL, true);
    X509 *leaf = cert(key, "127.0.0.1", ca, ca_key, false);
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    char ca_file[] = "/tmp/vigie-test-poster-XXXXXX", err[256];
    struct vg_post_opts bad = {.ca_file = "/nonexistent/ca.pem"};
    struct vg_poster *p;
    struct srv s;
    int fd, status = -1;
    FILE *f;

    (void)state;
    assert_non_null(sctx);
    assert_int_equal(SSL_CTX_use_certificate(sctx, leaf), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sctx, key), 1);
    fd = mkstemp(ca_file);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_int_equal(PEM_write_X509(f, ca), 1);
    assert_int_equal(fclose(f), 0);

    /* An unreadable trust store is said at once. */
    assert_int_equal(vg_poster_new(&bad, &p, err, sizeof(err)), VG_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));

    /* Trusted through ca_file. */
    p = poster(ca_file, 5000);
    memset(&s, 0, sizeof(s));
    srv_start(&s, sctx, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_int_equal(post(p, "https", s.port, &status, err, sizeof(err)), 0);
    srv_stop(&s);
    assert_int_equal(status, 200);
    assert_non_null(strstr(s.req, "\r\n\r\n{\"a\":1}"));
    vg_poster_free(p);

    /* The system store does not know this CA: the request is never sent. */
    p = poster(NULL, 5000);
    memset(&s, 0, sizeof(s));
    srv_start(&s, sctx, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(post(p, "https", s.port, &status, err, sizeof(err)), VG_EHTTP_REQUEST);
    srv_stop(&s);
    assert_int_equal(status, 0);
    assert_int_equal(s.req_len, 0);
    assert_non_null(strstr(err, "ssl_unknown_authority"));
    vg_poster_free(p);

    unlink(ca_file);
    SSL_CTX_free(sctx);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_request_and_statuses),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_https),
    };

    signal(SIGPIPE, SIG_IGN); /* the server thread writes to clients that left */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
