/* SPDX-License-Identifier: MIT */
#include "net/httpclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "net/conn.h"
#include "net/httpx.h"
#include "net/tls.h"
#include "proto/url.h"
#include "util/buf.h"
#include "util/mem.h"

/* An idle connection kept for the next request to the same origin. */
struct vg__pool_idle {
    char origin[VG_URL_MAX + 32]; /* scheme://host:port */
    struct ssl_ctx_st *ctx;       /* the trust store it was validated with */
    struct vg_conn *conn;
    uint64_t since_ms; /* uv_now when it went idle */
};

struct vg_http_pool {
    uv_loop_t *loop;
    unsigned max_idle;
    unsigned n_idle;
    struct vg__pool_idle *idle; /* max_idle slots, the first n_idle used, oldest first */
    unsigned refs;              /* the owner's (until vg_http_pool_free) and each request's */
    bool closed;                /* vg_http_pool_free was called */
    struct vg_http_pool_stats st;
};

struct vg__post {
    uv_loop_t *loop;
    struct ssl_ctx_st *ctx;
    struct vg_url url;
    unsigned timeout_ms;
    uint64_t deadline_ms;      /* uv_hrtime's clock: timeout_ms on from the first try's start */
    bool cut;                  /* a body longer than the cap is cut, not a failure */
    bool secret;               /* the request carries a credential: wiped at the end */
    struct vg_http_pool *pool; /* a pooled request (holds a reference), or NULL */
    bool reused;               /* conn came from the pool */
    bool retried;              /* a fresh connection after a reused one failed */
    struct vg_buf req;
    struct vg_conn *conn;
    struct vg_httpx x;
    uv_getaddrinfo_t gai;
    vg_post_cb cb;
    void *arg;
};

static void vg__httpclient_connect(struct vg__post *ps, const struct sockaddr *sa);
static void vg__httpclient_start(struct vg__post *ps);
static void vg__httpclient_pool_put(struct vg__post *ps);
static void vg__httpclient_pool_unref(struct vg_http_pool *pool);

/* keep: the connection is left clean after a complete response, and may serve another one. */
static void
vg__httpclient_finish(struct vg__post *ps, int status, const char *failure, bool keep)
{
    if (keep) {
        vg__httpclient_pool_put(ps); /* first: cb may send the next request on it */
    } else {
        vg_conn_close(ps->conn);
    }
    ps->conn = NULL;
    if (status > 0) {
        ps->cb(status, ps->x.body.data, ps->x.body.len, NULL, ps->arg);
    } else {
        ps->cb(0, NULL, 0, failure, ps->arg);
    }
    if (ps->pool != NULL) {
        vg__httpclient_pool_unref(ps->pool);
    }
    if (ps->secret && ps->req.data != NULL) {
        explicit_bzero(ps->req.data, ps->req.cap);
    }
    vg_buf_cleanup(&ps->req);
    vg_httpx_cleanup(&ps->x);
    free(ps);
}

static void
vg__httpclient_end(struct vg__post *ps, int status, const char *failure)
{
    vg__httpclient_finish(ps, status, failure, false);
}

/* Milliseconds left of the exchange's budget; 0 once it is spent. */
static unsigned
vg__httpclient_left(const struct vg__post *ps)
{
    uint64_t now = uv_hrtime() / 1000000;

    return now < ps->deadline_ms ? (unsigned)(ps->deadline_ms - now) : 0;
}

/* The response says the connection ends with it: HTTP/1.0, or a "close" Connection option. */
static bool
vg__httpclient_says_close(const struct vg_httpx *x)
{
    const struct vg_http_head *h = x->head;

    if (h->minor_version < 1) {
        return true;
    }
    for (size_t i = 0; i < h->n_fields; i++) {
        const struct vg_http_field *f = &h->fields[i];
        const char *v = (const char *)x->in.data + f->value.off;

        if (f->name.len != 10 ||
            strncasecmp((const char *)x->in.data + f->name.off, "connection", 10) != 0) {
            continue;
        }
        /* a comma-separated list of options (RFC 9110 7.6.1) */
        for (size_t j = 0; j < f->value.len;) {
            size_t k = j, e;

            while (k < f->value.len && v[k] != ',') {
                k++;
            }
            while (j < k && (v[j] == ' ' || v[j] == '\t')) {
                j++;
            }
            e = k;
            while (e > j && (v[e - 1] == ' ' || v[e - 1] == '\t')) {
                e--;
            }
            if (e - j == 5 && strncasecmp(v + j, "close", 5) == 0) {
                return true;
            }
            j = k + 1;
        }
    }
    return false;
}

/* The connection may carry another request: a whole response, framed, nothing after it. */
static bool
vg__httpclient_reusable(const struct vg__post *ps)
{
    const struct vg_httpx *x = &ps->x;

    return ps->pool != NULL && !ps->pool->closed && !x->truncated && !x->overrun &&
           (x->framing == VG_HTTP_BODY_LENGTH || x->framing == VG_HTTP_BODY_CHUNKED ||
            x->framing == VG_HTTP_BODY_NONE) &&
           x->head->status >= 200 && !vg__httpclient_says_close(x);
}

static void
vg__httpclient_on_response(struct vg_httpx *x, int failure, void *arg)
{
    struct vg__post *ps = arg;

    if (failure != 0 && ps->reused && !ps->retried && failure != VG_ETIMEDOUT && !x->answered) {
        /* The server closed the idle connection (or it broke) before this request was read:
         * once more on a fresh one, within the first try's deadline. A THRequest or an upload
         * is idempotent; not once the server answered anything (even a 1xx). */
        size_t resp_max = x->body_max;

        vg_conn_close(ps->conn);
        ps->conn = NULL;
        ps->retried = true;
        ps->reused = false;
        ps->pool->st.retried++;
        vg_httpx_cleanup(&ps->x);
        vg_httpx_init(&ps->x, ps->loop, resp_max);
        vg__httpclient_start(ps);
        return;
    }
    if (failure != 0) {
        vg__httpclient_end(ps, 0, vg_err_failure(failure));
    } else if (x->truncated && !ps->cut) {
        vg__httpclient_end(ps, 0, "response too large");
    } else {
        vg__httpclient_finish(ps, x->head->status, NULL, vg__httpclient_reusable(ps));
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
    unsigned left;

    memset(&ss, 0, sizeof(ss));
    if (sa->sa_family == AF_INET) {
        memcpy(&ss, sa, sizeof(struct sockaddr_in));
        ((struct sockaddr_in *)(void *)&ss)->sin_port = htons(ps->url.port);
    } else {
        memcpy(&ss, sa, sizeof(struct sockaddr_in6));
        ((struct sockaddr_in6 *)(void *)&ss)->sin6_port = htons(ps->url.port);
    }
    if (!ps->retried) {
        ps->deadline_ms = uv_hrtime() / 1000000 + ps->timeout_ms;
    }
    left = vg__httpclient_left(ps);
    if (left == 0) {
        vg__httpclient_end(ps, 0, vg_err_failure(VG_ETIMEDOUT));
        return;
    }
    ps->conn = vg_conn_new(ps->loop);
    if (vg_conn_connect(ps->conn, (struct sockaddr *)&ss, left, vg__httpclient_on_connect, ps) <
        0) {
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

/* scheme://host:port of the request's URL: what a kept-alive connection may serve. */
static void
vg__httpclient_origin(const struct vg__post *ps, char *out, size_t cap)
{
    snprintf(out, cap, ps->url.ip_family == 6 ? "%s://[%s]:%u" : "%s://%s:%u", ps->url.scheme,
             ps->url.host, (unsigned)ps->url.port);
}

/* Whether an idle connection still looks open and clean: no end of stream, no error, and no
 * unsolicited byte, which would be taken for the start of the next response. Over TLS, records
 * that arrived meanwhile are looked at: a session ticket is fine, data or close_notify is not. */
static bool
vg__httpclient_idle_ok(struct vg_conn *c)
{
    SSL *ssl = vg_conn_ssl(c);
    uint8_t b;
    ssize_t n = recv(vg_conn_fd(c), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    bool quiet;

    if (n < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK) && (ssl == NULL || SSL_pending(ssl) == 0);
    }
    if (n == 0 || ssl == NULL || SSL_pending(ssl) > 0) {
        return false;
    }
    /* non-blocking socket: WANT_READ once the records that came are used up; SSL_get_error
     * reads the thread's error queue, so clear what an earlier call may have left there */
    ERR_clear_error();
    quiet = SSL_get_error(ssl, SSL_peek(ssl, &b, 1)) == SSL_ERROR_WANT_READ;
    ERR_clear_error();
    return quiet;
}

/* An idle connection to the request's origin, or NULL; stale ones met on the way are closed. */
static struct vg_conn *
vg__httpclient_pool_take(struct vg__post *ps)
{
    struct vg_http_pool *pool = ps->pool;
    char origin[sizeof(pool->idle[0].origin)];
    uint64_t now = uv_now(ps->loop);

    vg__httpclient_origin(ps, origin, sizeof(origin));
    /* Newest first: the likeliest to be still open on the server's side. */
    for (unsigned i = pool->n_idle; i-- > 0;) {
        struct vg__pool_idle *e = &pool->idle[i];
        struct vg_conn *c = e->conn;
        bool stale;

        if (e->ctx != ps->ctx || strcmp(e->origin, origin) != 0) {
            continue;
        }
        stale = now - e->since_ms > VG_HTTP_POOL_IDLE_MS || !vg__httpclient_idle_ok(c);
        memmove(e, e + 1, (pool->n_idle - i - 1) * sizeof(*e));
        pool->n_idle--;
        if (stale) {
            pool->st.stale++;
            vg_conn_close(c);
            continue;
        }
        pool->st.reused++;
        return c;
    }
    return NULL;
}

static void
vg__httpclient_pool_put(struct vg__post *ps)
{
    struct vg_http_pool *pool = ps->pool;
    struct vg__pool_idle *e;

    if (pool->n_idle == pool->max_idle) {
        /* full: the oldest goes */
        vg_conn_close(pool->idle[0].conn);
        memmove(pool->idle, pool->idle + 1, (pool->n_idle - 1) * sizeof(*pool->idle));
        pool->n_idle--;
    }
    e = &pool->idle[pool->n_idle++];
    vg__httpclient_origin(ps, e->origin, sizeof(e->origin));
    e->ctx = ps->ctx;
    e->conn = ps->conn;
    e->since_ms = uv_now(ps->loop);
}

static void
vg__httpclient_pool_unref(struct vg_http_pool *pool)
{
    if (--pool->refs == 0) {
        free(pool->idle);
        free(pool);
    }
}

/* Send on a kept-alive connection to the origin, else connect (after resolving a name). */
static void
vg__httpclient_start(struct vg__post *ps)
{
    struct addrinfo hints;

    if (ps->pool != NULL && !ps->retried && (ps->conn = vg__httpclient_pool_take(ps)) != NULL) {
        ps->reused = true;
        ps->deadline_ms = uv_hrtime() / 1000000 + ps->timeout_ms;
        vg__httpclient_send(ps);
        return;
    }
    if (ps->pool != NULL) {
        ps->pool->st.opened++;
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
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    ps->gai.data = ps;
    if (uv_getaddrinfo(ps->loop, &ps->gai, vg__httpclient_on_gai, ps->url.host, NULL, &hints) !=
        0) {
        vg__httpclient_end(ps, 0, "cannot resolve the server's name");
    }
}

static int
vg__httpclient_post(uv_loop_t *loop, struct vg_http_pool *pool, struct ssl_ctx_st *ctx,
                    const char *url, const char *header, const char *content_type, const void *body,
                    size_t len, unsigned timeout_ms, size_t resp_max, bool cut, vg_post_cb cb,
                    void *arg)
{
    struct vg__post *ps;
    char host[VG_DNS_NAME_MAX + 16];

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
                       "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                       ps->url.path, host, VG_VERSION, content_type, header != NULL ? header : "",
                       header != NULL ? "\r\n" : "", len,
                       pool != NULL ? "keep-alive" : "close") < 0 ||
        vg_buf_append(&ps->req, body, len) < 0) {
        if (ps->req.data != NULL) {
            explicit_bzero(ps->req.data, ps->req.cap);
        }
        vg_buf_cleanup(&ps->req);
        vg_httpx_cleanup(&ps->x);
        free(ps);
        return VG_ETOOBIG;
    }
    if (pool != NULL) {
        ps->pool = pool;
        pool->refs++;
    }
    vg__httpclient_start(ps);
    return 0;
}

int
vg_http_post(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url, const char *content_type,
             const void *body, size_t len, unsigned timeout_ms, size_t resp_max, vg_post_cb cb,
             void *arg)
{
    return vg__httpclient_post(loop, NULL, ctx, url, NULL, content_type, body, len, timeout_ms,
                               resp_max, false, cb, arg);
}

int
vg_http_post_hdr(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url, const char *header,
                 const char *content_type, const void *body, size_t len, unsigned timeout_ms,
                 size_t resp_max, vg_post_cb cb, void *arg)
{
    return vg__httpclient_post(loop, NULL, ctx, url, header, content_type, body, len, timeout_ms,
                               resp_max, false, cb, arg);
}

int
vg_http_post_cut(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url, const char *content_type,
                 const void *body, size_t len, unsigned timeout_ms, size_t resp_max, vg_post_cb cb,
                 void *arg)
{
    return vg__httpclient_post(loop, NULL, ctx, url, NULL, content_type, body, len, timeout_ms,
                               resp_max, true, cb, arg);
}

/* ---- the pool ---------------------------------------------------------------------------- */

struct vg_http_pool *
vg_http_pool_new(uv_loop_t *loop, unsigned max_idle)
{
    struct vg_http_pool *pool = vg_xcalloc(1, sizeof(*pool));

    pool->loop = loop;
    pool->max_idle = max_idle > 0 ? max_idle : 1;
    pool->idle = vg_xcalloc(pool->max_idle, sizeof(*pool->idle));
    pool->refs = 1;
    return pool;
}

int
vg_http_pool_post(struct vg_http_pool *pool, struct ssl_ctx_st *ctx, const char *url,
                  const char *content_type, const void *body, size_t len, unsigned timeout_ms,
                  size_t resp_max, vg_post_cb cb, void *arg)
{
    return vg_http_pool_post_hdr(pool, ctx, url, NULL, content_type, body, len, timeout_ms,
                                 resp_max, cb, arg);
}

int
vg_http_pool_post_hdr(struct vg_http_pool *pool, struct ssl_ctx_st *ctx, const char *url,
                      const char *header, const char *content_type, const void *body, size_t len,
                      unsigned timeout_ms, size_t resp_max, vg_post_cb cb, void *arg)
{
    VG_ENSURE(!pool->closed, VG_EINVAL);
    return vg__httpclient_post(pool->loop, pool, ctx, url, header, content_type, body, len,
                               timeout_ms, resp_max, false, cb, arg);
}

void
vg_http_pool_stats(const struct vg_http_pool *pool, struct vg_http_pool_stats *st)
{
    *st = pool->st;
}

void
vg_http_pool_free(struct vg_http_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    pool->closed = true;
    for (unsigned i = 0; i < pool->n_idle; i++) {
        vg_conn_close(pool->idle[i].conn);
    }
    pool->n_idle = 0;
    vg__httpclient_pool_unref(pool);
}
