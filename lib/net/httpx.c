/* SPDX-License-Identifier: MIT */
#include "net/httpx.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define VG__READ_FIRST (4 * 1024)
#define VG__READ_CHUNK (16 * 1024)

static void vg__httpx_read(struct vg_httpx *x);

void
vg_httpx_init(struct vg_httpx *x, uv_loop_t *loop, size_t body_max)
{
    memset(x, 0, sizeof(*x));
    x->loop = loop;
    x->body_max = body_max;
    vg_buf_init(&x->in, VG_HTTP_HEAD_MAX);
    /* Room for the cap plus one read of raw (possibly chunked) bytes. */
    vg_buf_init(&x->body, body_max + 2 * VG__READ_CHUNK);
    vg_chunked_init(&x->ch);
}

void
vg_httpx_cleanup(struct vg_httpx *x)
{
    vg_buf_cleanup(&x->in);
    vg_buf_cleanup(&x->body);
    VG_FREE(x->head);
}

static void
vg__done(struct vg_httpx *x, int failure)
{
    x->cb(x, failure, x->arg);
}

/* Account for `added` raw body bytes at the end of x->body. Returns 1 when the body is complete
 * or cut at the cap, 0 to read more, negative on error. Exactly body_max bytes is not a cut: only
 * a byte past the cap proves truncation. */
static int
vg__httpx_body(struct vg_httpx *x, size_t added)
{
    bool done = false;

    if (x->framing == VG_HTTP_BODY_CHUNKED) {
        size_t start = x->body.len - added, out = 0, used = 0;
        int rc = vg_chunked_decode(&x->ch, x->body.data + start, added, &out, &used);

        if (rc < 0) {
            return rc;
        }
        x->body.len = start + out;
        done = rc == 1;
        x->overrun = done && used < added;
    } else if (x->framing == VG_HTTP_BODY_LENGTH) {
        if (added >= x->left) {
            x->overrun = added > x->left;
            x->body.len -= added - (size_t)x->left;
            x->left = 0;
            done = true;
        } else {
            x->left -= added;
        }
    }
    if (x->body.len > x->body_max) {
        uint64_t limit = x->count_max > x->body_max ? x->count_max : x->body_max;

        /* Kept: the first body_max bytes. Counted: the rest, up to limit in all. */
        x->dropped += x->body.len - x->body_max;
        x->body.len = x->body_max;
        x->truncated = true;
        x->body_total = x->body_max + x->dropped;
        if (x->body_total >= limit) {
            x->body_total = limit;
            return 1;
        }
        return done ? 1 : 0;
    }
    x->body_total = x->body.len + x->dropped;
    return done ? 1 : 0;
}

static void
vg__on_read(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg_httpx *x = arg;
    int rc;

    (void)c;
    if (status < 0) {
        vg__done(x, status);
        return;
    }
    if (n > 0) {
        x->answered = true;
    }
    if (x->head == NULL) {
        x->in.len += n;
        if (n == 0) {
            vg__done(x, VG_EEOF);
            return;
        }
        x->head = vg_xmalloc(sizeof(*x->head));
        for (;;) {
            rc = vg_http_parse_head(x->in.data, x->in.len, x->head);
            /* Interim 1xx responses (RFC 9110 15.2) precede the final one: drop them. */
            if (rc != 0 || x->head->status >= 200 || x->head->status == 101) {
                break;
            }
            vg_buf_consume(&x->in, x->head->head_len);
        }
        if (rc == VG_EMORE) {
            VG_FREE(x->head);
            vg__httpx_read(x);
            return;
        }
        if (rc == 0) {
            rc = vg_http_framing(x->head, x->in.data, false, &x->framing, &x->left);
        }
        if (rc < 0) {
            VG_FREE(x->head);
            vg__done(x, rc == VG_ETOOBIG ? VG_ETOOBIG : VG_EPROTO);
            return;
        }
        if (x->framing == VG_HTTP_BODY_NONE ||
            (x->framing == VG_HTTP_BODY_LENGTH && x->left == 0)) {
            x->overrun = x->in.len > x->head->head_len;
            vg__done(x, 0);
            return;
        }
        /* Bytes after the head are the start of the body. */
        if (x->in.len > x->head->head_len) {
            size_t extra = x->in.len - x->head->head_len;

            if (vg_buf_append(&x->body, x->in.data + x->head->head_len, extra) < 0) {
                vg__done(x, VG_ETOOBIG);
                return;
            }
            x->in.len = x->head->head_len;
            rc = vg__httpx_body(x, extra);
            if (rc != 0) {
                vg__done(x, rc < 0 ? VG_EPROTO : 0);
                return;
            }
        }
        vg__httpx_read(x);
        return;
    }
    if (n == 0) {
        /* End of stream: complete for close-delimited bodies, cut short otherwise. */
        vg__done(x, x->framing == VG_HTTP_BODY_CLOSE ? 0 : VG_EEOF);
        return;
    }
    x->body.len += n;
    rc = vg__httpx_body(x, n);
    if (rc != 0) {
        vg__done(x, rc < 0 ? VG_EPROTO : 0);
        return;
    }
    vg__httpx_read(x);
}

static void
vg__httpx_read(struct vg_httpx *x)
{
    uint64_t now = uv_now(x->loop);
    uint64_t left = x->deadline > now ? x->deadline - now : 0;
    struct vg_buf *b = x->head == NULL ? &x->in : &x->body;
    uint8_t *dst;
    /* Small reads while the response is small: most heads and many pages fit in a few KiB, and
     * each measurement in flight should not hold 16 KiB it does not need. */
    size_t room = b->len < VG__READ_CHUNK ? VG__READ_FIRST : VG__READ_CHUNK;

    if (left == 0) {
        vg__done(x, VG_ETIMEDOUT);
        return;
    }
    if (x->head == NULL && b->max - b->len < room) {
        room = b->max - b->len;
    }
    if (room == 0) {
        vg__done(x, VG_ETOOBIG);
        return;
    }
    if (vg_buf_reserve(b, room, &dst) < 0 ||
        vg_conn_read(x->conn, dst, room, (unsigned)left, vg__on_read, x) < 0) {
        vg__done(x, VG_EINTERNAL);
    }
}

static void
vg__on_written(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg_httpx *x = arg;

    (void)c;
    (void)n;
    if (status < 0) {
        vg__done(x, status);
        return;
    }
    vg__httpx_read(x);
}

int
vg_httpx_start(struct vg_httpx *x, struct vg_conn *conn, const void *req, size_t len,
               unsigned timeout_ms, vg_httpx_cb cb, void *arg)
{
    x->conn = conn;
    x->cb = cb;
    x->arg = arg;
    x->deadline = uv_now(x->loop) + timeout_ms;
    return vg_conn_write(conn, req, len, timeout_ms, vg__on_written, x);
}
