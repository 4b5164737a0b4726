/* SPDX-License-Identifier: MIT */
#include "net/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "net/tls.h"
#include "util/mem.h"

enum vg__op { VG__OP_NONE, VG__OP_CONNECT, VG__OP_HANDSHAKE, VG__OP_WRITE, VG__OP_READ };

struct vg_conn {
    uv_loop_t *loop;
    uv_poll_t poll;
    uv_timer_t timer;
    int fd;
    SSL *ssl;
    bool poll_init;
    bool closing;
    int open_handles;
    enum vg__op op;
    vg_conn_cb cb;
    void *arg;
    const uint8_t *wbuf;
    size_t wlen, woff;
    uint8_t *rbuf;
    size_t rcap;
};

static void vg__conn_on_poll(uv_poll_t *h, int status, int events);

struct vg_conn *
vg_conn_new(uv_loop_t *loop)
{
    struct vg_conn *c = vg_xcalloc(1, sizeof(*c));

    c->loop = loop;
    c->fd = -1;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    return c;
}

int
vg_conn_fd(const struct vg_conn *c)
{
    return c->fd;
}

struct ssl_st *
vg_conn_ssl(const struct vg_conn *c)
{
    return c->ssl;
}

/* Finish the current operation: stop watching, then call back (which may start the next op). */
static void
vg__complete(struct vg_conn *c, int status, size_t n)
{
    vg_conn_cb cb = c->cb;
    void *arg = c->arg;

    c->op = VG__OP_NONE;
    c->cb = NULL;
    uv_timer_stop(&c->timer);
    if (c->poll_init) {
        uv_poll_stop(&c->poll);
    }
    if (cb != NULL) {
        cb(c, status, n, arg);
    }
}

static void
vg__on_timeout(uv_timer_t *t)
{
    struct vg_conn *c = t->data;

    if (c->op != VG__OP_NONE) {
        vg__complete(c, VG_ETIMEDOUT, 0);
    }
}

static void
vg__watch(struct vg_conn *c, int events)
{
    uv_poll_start(&c->poll, events, vg__conn_on_poll);
}

/* Begin an operation: arm the timeout and kick with a writable poll so the first attempt always
 * runs from the loop (a connected socket is writable at once). */
static void
vg__begin(struct vg_conn *c, enum vg__op op, unsigned timeout_ms, vg_conn_cb cb, void *arg)
{
    c->op = op;
    c->cb = cb;
    c->arg = arg;
    uv_timer_start(&c->timer, vg__on_timeout, timeout_ms, 0);
    vg__watch(c, UV_WRITABLE);
}

int
vg_conn_connect(struct vg_conn *c, const struct sockaddr *sa, unsigned timeout_ms, vg_conn_cb cb,
                void *arg)
{
    socklen_t salen;
    int fd, one = 1;

    VG_ENSURE(c->fd < 0 && c->op == VG__OP_NONE, VG_EINVAL);
    if (sa->sa_family == AF_INET) {
        salen = sizeof(struct sockaddr_in);
    } else if (sa->sa_family == AF_INET6) {
        salen = sizeof(struct sockaddr_in6);
    } else {
        return VG_EINVAL;
    }
    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return vg_err_from_errno(errno);
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    if (uv_poll_init_socket(c->loop, &c->poll, fd) != 0) {
        close(fd);
        c->fd = -1;
        return VG_EINTERNAL;
    }
    c->poll.data = c;
    c->poll_init = true;
    c->open_handles++;
    if (connect(fd, sa, salen) != 0 && errno != EINPROGRESS) {
        int err = vg_err_from_errno(errno);

        /* Fail from the loop, as promised: keep the error for the first poll event. */
        c->op = VG__OP_CONNECT;
        c->cb = cb;
        c->arg = arg;
        c->woff = (size_t)(-err);
        uv_timer_start(&c->timer, vg__on_timeout, timeout_ms, 0);
        vg__watch(c, UV_WRITABLE | UV_READABLE);
        return 0;
    }
    c->woff = 0;
    vg__begin(c, VG__OP_CONNECT, timeout_ms, cb, arg);
    return 0;
}

int
vg_conn_handshake(struct vg_conn *c, struct ssl_st *ssl, unsigned timeout_ms, vg_conn_cb cb,
                  void *arg)
{
    VG_ENSURE(c->fd >= 0 && c->op == VG__OP_NONE && c->ssl == NULL, VG_EINVAL);
    c->ssl = ssl;
    vg__begin(c, VG__OP_HANDSHAKE, timeout_ms, cb, arg);
    return 0;
}

int
vg_conn_write(struct vg_conn *c, const void *p, size_t len, unsigned timeout_ms, vg_conn_cb cb,
              void *arg)
{
    VG_ENSURE(c->fd >= 0 && c->op == VG__OP_NONE, VG_EINVAL);
    c->wbuf = p;
    c->wlen = len;
    c->woff = 0;
    vg__begin(c, VG__OP_WRITE, timeout_ms, cb, arg);
    return 0;
}

int
vg_conn_read(struct vg_conn *c, void *buf, size_t cap, unsigned timeout_ms, vg_conn_cb cb,
             void *arg)
{
    VG_ENSURE(c->fd >= 0 && c->op == VG__OP_NONE && cap > 0, VG_EINVAL);
    c->rbuf = buf;
    c->rcap = cap;
    vg__begin(c, VG__OP_READ, timeout_ms, cb, arg);
    return 0;
}

static void
vg__do_connect(struct vg_conn *c)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (c->woff != 0) {
        vg__complete(c, -(int)c->woff, 0);
        return;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
        soerr = errno;
    }
    vg__complete(c, soerr == 0 ? 0 : vg_err_from_errno(soerr), 0);
}

/* Map an OpenSSL WANT_* result to the poll events to wait for; 0 if it is not a WANT. */
static int
vg__want(int ssl_err)
{
    if (ssl_err == SSL_ERROR_WANT_READ) {
        return UV_READABLE;
    }
    if (ssl_err == SSL_ERROR_WANT_WRITE) {
        return UV_WRITABLE;
    }
    return 0;
}

static void
vg__do_handshake(struct vg_conn *c)
{
    int rc, err, ev, alert;

    ERR_clear_error();
    errno = 0;
    rc = SSL_connect(c->ssl);
    if (rc == 1) {
        vg__complete(c, 0, 0);
        return;
    }
    err = SSL_get_error(c->ssl, rc);
    if ((ev = vg__want(err)) != 0) {
        vg__watch(c, ev);
        return;
    }
    vg__complete(c, vg_tls_classify_error(c->ssl, err, errno, &alert), 0);
}

static void
vg__do_write(struct vg_conn *c)
{
    while (c->woff < c->wlen) {
        size_t left = c->wlen - c->woff;

        if (c->ssl != NULL) {
            size_t n = 0;
            int rc, err, ev, alert;

            ERR_clear_error();
            errno = 0;
            rc = SSL_write_ex(c->ssl, c->wbuf + c->woff, left, &n);
            if (rc == 1) {
                c->woff += n;
                continue;
            }
            err = SSL_get_error(c->ssl, rc);
            if ((ev = vg__want(err)) != 0) {
                vg__watch(c, ev);
                return;
            }
            vg__complete(c, vg_tls_classify_error(c->ssl, err, errno, &alert), 0);
            return;
        } else {
            ssize_t n = send(c->fd, c->wbuf + c->woff, left, MSG_NOSIGNAL);

            if (n >= 0) {
                c->woff += (size_t)n;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                vg__watch(c, UV_WRITABLE);
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            vg__complete(c, errno == EPIPE ? VG_ECONNRESET : vg_err_from_errno(errno), 0);
            return;
        }
    }
    vg__complete(c, 0, c->wlen);
}

static void
vg__do_read(struct vg_conn *c)
{
    if (c->ssl != NULL) {
        size_t n = 0;
        int rc, err, ev, alert, cls;

        ERR_clear_error();
        errno = 0;
        rc = SSL_read_ex(c->ssl, c->rbuf, c->rcap, &n);
        if (rc == 1) {
            vg__complete(c, 0, n);
            return;
        }
        err = SSL_get_error(c->ssl, rc);
        if ((ev = vg__want(err)) != 0) {
            vg__watch(c, ev);
            return;
        }
        cls = vg_tls_classify_error(c->ssl, err, errno, &alert);
        /* A close without close_notify ends the stream too; framing tells truncation. */
        vg__complete(c, cls == VG_EEOF ? 0 : cls, 0);
        return;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf, c->rcap, 0);

        if (n >= 0) {
            vg__complete(c, 0, (size_t)n);
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            vg__watch(c, UV_READABLE);
            return;
        }
        vg__complete(c, vg_err_from_errno(errno), 0);
        return;
    }
}

static void
vg__conn_on_poll(uv_poll_t *h, int status, int events)
{
    struct vg_conn *c = h->data;

    /* libuv reports POLLERR (a reset, a refused connect) as a poll error: the next syscall of
     * the pending operation returns the real errno, so run it instead of failing blindly. */
    (void)status;
    (void)events;
    switch (c->op) {
    case VG__OP_CONNECT:
        vg__do_connect(c);
        break;
    case VG__OP_HANDSHAKE:
        vg__do_handshake(c);
        break;
    case VG__OP_WRITE:
        vg__do_write(c);
        break;
    case VG__OP_READ:
        vg__do_read(c);
        break;
    case VG__OP_NONE:
        uv_poll_stop(&c->poll);
        break;
    }
}

static void
vg__conn_on_close(uv_handle_t *h)
{
    struct vg_conn *c = h->data;

    if (--c->open_handles > 0) {
        return;
    }
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c);
}

void
vg_conn_close(struct vg_conn *c)
{
    if (c == NULL || c->closing) {
        return;
    }
    c->closing = true;
    c->op = VG__OP_NONE;
    c->cb = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, vg__conn_on_close);
    if (c->poll_init) {
        uv_poll_stop(&c->poll);
        uv_close((uv_handle_t *)&c->poll, vg__conn_on_close);
    }
}
