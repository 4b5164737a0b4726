/* SPDX-License-Identifier: MIT */
#include "net/httpclient.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "net/httpx.h"
#include "net/tls.h"
#include "proto/url.h"
#include "util/buf.h"
#include "util/mem.h"

struct vg__post {
    uv_loop_t *loop;
    struct ssl_ctx_st *ctx;
    struct vg_url url;
    unsigned timeout_ms;
    uint64_t deadline_ms; /* uv_hrtime's clock: the end of timeout_ms from the connection on */
    bool cut;             /* a body longer than the cap is cut, not a failure */
    bool secret;          /* the request carries a credential: wiped at the end */
    struct vg_buf req;
    struct vg_conn *conn;
    struct vg_httpx x;
    uv_getaddrinfo_t gai;
    vg_post_cb cb;
    void *arg;
};

static void
vg__httpclient_end(struct vg__post *ps, int status, const char *failure)
{
    if (status > 0) {
        ps->cb(status, ps->x.body.data, ps->x.body.len, NULL, ps->arg);
    } else {
        ps->cb(0, NULL, 0, failure, ps->arg);
    }
    vg_conn_close(ps->conn);
    if (ps->secret && ps->req.data != NULL) {
        explicit_bzero(ps->req.data, ps->req.cap);
    }
    vg_buf_cleanup(&ps->req);
    vg_httpx_cleanup(&ps->x);
    free(ps);
}

/* Milliseconds left of the exchange's budget; 0 once it is spent. */
static unsigned
vg__httpclient_left(const struct vg__post *ps)
{
    uint64_t now = uv_hrtime() / 1000000;

    return now < ps->deadline_ms ? (unsigned)(ps->deadline_ms - now) : 0;
}

static void
vg__httpclient_on_response(struct vg_httpx *x, int failure, void *arg)
{
    struct vg__post *ps = arg;

    if (failure != 0) {
        vg__httpclient_end(ps, 0, vg_err_failure(failure));
    } else if (x->truncated && !ps->cut) {
        vg__httpclient_end(ps, 0, "response too large");
    } else {
        vg__httpclient_end(ps, x->head->status, NULL);
    }
}

static void
vg__httpclient_send(struct vg__post *ps)
{
    unsigned left = vg__httpclient_left(ps);

    if (left == 0) {
        vg__httpclient_end(ps, 0, vg_err_failure(VG_ETIMEDOUT));
        return;
    }
    if (vg_httpx_start(&ps->x, ps->conn, ps->req.data, ps->req.len, left,
                       vg__httpclient_on_response, ps) < 0) {
        vg__httpclient_end(ps, 0, "internal error");
    }
}

static void
vg__httpclient_on_handshake(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg__post *ps = arg;
    struct vg_tls_info *ti;
    char why[700];

    (void)n;
    if (status < 0) {
        vg__httpclient_end(ps, 0, vg_err_failure(status));
        return;
    }
    ti = vg_xmalloc(sizeof(*ti));
    vg_tls_collect(vg_conn_ssl(c), ti);
    /* vigie's own services are trusted only over a validated channel. */
    if (ti->verify_err != 0) {
        snprintf(why, sizeof(why), "%s (%s)", vg_err_failure(ti->verify_err), ti->verify_reason);
        vg_tls_info_cleanup(ti);
        free(ti);
        vg__httpclient_end(ps, 0, why);
        return;
    }
    vg_tls_info_cleanup(ti);
    free(ti);
    vg__httpclient_send(ps);
}

static void
vg__httpclient_on_connect(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg__post *ps = arg;
    struct ssl_st *ssl;
    unsigned left = vg__httpclient_left(ps);

    (void)n;
    if (status < 0) {
        vg__httpclient_end(ps, 0, vg_err_failure(status));
        return;
    }
    if (strcmp(ps->url.scheme, "https") != 0) {
        vg__httpclient_send(ps);
        return;
    }
    if (left == 0) {
        vg__httpclient_end(ps, 0, vg_err_failure(VG_ETIMEDOUT));
        return;
    }
    if (vg_tls_new(ps->ctx, vg_conn_fd(c), ps->url.host, ps->url.ip_family != 0, &ssl) < 0 ||
        vg_conn_handshake(c, ssl, left, vg__httpclient_on_handshake, ps) < 0) {
        vg__httpclient_end(ps, 0, "TLS set-up failed");
    }
}

static void
vg__httpclient_connect(struct vg__post *ps, const struct sockaddr *sa)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (sa->sa_family == AF_INET) {
        memcpy(&ss, sa, sizeof(struct sockaddr_in));
        ((struct sockaddr_in *)(void *)&ss)->sin_port = htons(ps->url.port);
    } else {
        memcpy(&ss, sa, sizeof(struct sockaddr_in6));
        ((struct sockaddr_in6 *)(void *)&ss)->sin6_port = htons(ps->url.port);
    }
    ps->deadline_ms = uv_hrtime() / 1000000 + ps->timeout_ms;
    ps->conn = vg_conn_new(ps->loop);
    if (vg_conn_connect(ps->conn, (struct sockaddr *)&ss, ps->timeout_ms, vg__httpclient_on_connect,
                        ps) < 0) {
        vg__httpclient_end(ps, 0, "cannot create a socket");
    }
}

static void
vg__httpclient_on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct vg__post *ps = req->data;

    if (status != 0 || res == NULL) {
        if (res != NULL) {
            uv_freeaddrinfo(res);
        }
        vg__httpclient_end(ps, 0, "cannot resolve the server's name");
        return;
    }
    vg__httpclient_connect(ps, res->ai_addr);
    uv_freeaddrinfo(res);
}

/* One header line as it may go on the wire: printable ASCII only, so never a CR or LF. */
static bool
vg__httpclient_header_ok(const char *h)
{
    if (h[0] == '\0' || strchr(h, ':') == NULL) {
        return false;
    }
    for (const char *c = h; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            return false;
        }
    }
    return true;
}

static int
vg__httpclient_post(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url, const char *header,
                    const char *content_type, const void *body, size_t len, unsigned timeout_ms,
                    size_t resp_max, bool cut, vg_post_cb cb, void *arg)
{
    struct vg__post *ps;
    char host[VG_DNS_NAME_MAX + 16];
    struct addrinfo hints;

    if (header != NULL && !vg__httpclient_header_ok(header)) {
        return VG_EINVAL;
    }
    ps = vg_xcalloc(1, sizeof(*ps));
    /* vg_url_parse also takes the probe's tls:// and dns:// inputs: not URLs one can POST to. */
    if (vg_url_parse(url, &ps->url) < 0 ||
        (strcmp(ps->url.scheme, "http") != 0 && strcmp(ps->url.scheme, "https") != 0)) {
        free(ps);
        return VG_EINVAL;
    }
    ps->cut = cut;
    ps->secret = header != NULL;
    ps->loop = loop;
    ps->ctx = ctx;
    ps->timeout_ms = timeout_ms;
    ps->cb = cb;
    ps->arg = arg;
    snprintf(host, sizeof(host), ps->url.ip_family == 6 ? "[%s]" : "%s", ps->url.host);
    if (!vg_url_default_port(&ps->url)) {
        snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", ps->url.port);
    }
    vg_buf_init(&ps->req, len + VG_URL_MAX + 1024 + (header != NULL ? strlen(header) + 2 : 0));
    vg_httpx_init(&ps->x, loop, resp_max);
    /* With a secret, the whole request in one allocation: no copy of it left behind by a realloc.
     */
    if ((header != NULL && vg_buf_reserve(&ps->req, ps->req.max, NULL) < 0) ||
        vg_buf_appendf(&ps->req,
                       "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vigie/%s\r\n"
                       "Content-Type: %s\r\nAccept: application/json\r\n%s%s"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                       ps->url.path, host, VG_VERSION, content_type, header != NULL ? header : "",
                       header != NULL ? "\r\n" : "", len) < 0 ||
        vg_buf_append(&ps->req, body, len) < 0) {
        if (ps->req.data != NULL) {
            explicit_bzero(ps->req.data, ps->req.cap);
        }
        vg_buf_cleanup(&ps->req);
        vg_httpx_cleanup(&ps->x);
        free(ps);
        return VG_ETOOBIG;
    }
    if (ps->url.ip_family != 0) {
        struct sockaddr_storage ss;

        memset(&ss, 0, sizeof(ss));
        if (ps->url.ip_family == 4) {
            struct sockaddr_in *s4 = (void *)&ss;

            s4->sin_family = AF_INET;
            inet_pton(AF_INET, ps->url.host, &s4->sin_addr);
        } else {
            struct sockaddr_in6 *s6 = (void *)&ss;

            s6->sin6_family = AF_INET6;
            inet_pton(AF_INET6, ps->url.host, &s6->sin6_addr);
        }
        vg__httpclient_connect(ps, (struct sockaddr *)&ss);
        return 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    ps->gai.data = ps;
    if (uv_getaddrinfo(loop, &ps->gai, vg__httpclient_on_gai, ps->url.host, NULL, &hints) != 0) {
        vg__httpclient_end(ps, 0, "cannot resolve the server's name");
    }
    return 0;
}

int
vg_http_post(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url, const char *content_type,
             const void *body, size_t len, unsigned timeout_ms, size_t resp_max, vg_post_cb cb,
             void *arg)
{
    return vg__httpclient_post(loop, ctx, url, NULL, content_type, body, len, timeout_ms, resp_max,
                               false, cb, arg);
}

int
vg_http_post_hdr(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url, const char *header,
                 const char *content_type, const void *body, size_t len, unsigned timeout_ms,
                 size_t resp_max, vg_post_cb cb, void *arg)
{
    return vg__httpclient_post(loop, ctx, url, header, content_type, body, len, timeout_ms,
                               resp_max, false, cb, arg);
}

int
vg_http_post_cut(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url, const char *content_type,
                 const void *body, size_t len, unsigned timeout_ms, size_t resp_max, vg_post_cb cb,
                 void *arg)
{
    return vg__httpclient_post(loop, ctx, url, NULL, content_type, body, len, timeout_ms, resp_max,
                               true, cb, arg);
}
