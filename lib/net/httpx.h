/* SPDX-License-Identifier: MIT */
/*
 * httpx.h - one HTTP/1.1 exchange (request written, response head and body read) over a connected
 * vg_conn: the page fetch of a measurement and the probe's request to a control helper share it.
 * Interim 1xx responses are skipped, the body is de-chunked and kept up to body_max bytes (a
 * longer body is cut and marked truncated), the whole exchange has one deadline.
 */
#ifndef VG_NET_HTTPX_H
#define VG_NET_HTTPX_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "net/conn.h"
#include "proto/http1.h"
#include "util/buf.h"

struct vg_httpx;
/* failure: 0 when a response head was received and its body read (or cut at the cap). */
typedef void (*vg_httpx_cb)(struct vg_httpx *x, int failure, void *arg);

struct vg_httpx {
    /* results, valid in and after the callback */
    struct vg_http_head *head; /* NULL when no response head arrived; fields point into in */
    struct vg_buf in;          /* the response head bytes */
    struct vg_buf body;        /* decoded body, at most body_max bytes */
    bool truncated;
    bool overrun;        /* bytes arrived past the response's end: the connection is not reusable */
    bool answered;       /* some response byte arrived (stays true once a 1xx is consumed) */
    uint64_t body_total; /* decoded body bytes read: body.len + those counted past body_max */
    /* Set after vg_httpx_init: past body_max, read on and count the body's bytes without keeping
     * them, up to count_max bytes in all (the body_total reported then; 0, or at most body_max:
     * stop at body_max). */
    uint64_t count_max;
    /* private */
    uv_loop_t *loop;
    struct vg_conn *conn;
    size_t body_max;
    uint64_t dropped; /* body bytes counted past body_max, not kept */
    enum vg_http_framing framing;
    uint64_t left;
    struct vg_chunked ch;
    uint64_t deadline;
    vg_httpx_cb cb;
    void *arg;
};

void vg_httpx_init(struct vg_httpx *x, uv_loop_t *loop, size_t body_max);
/* Write req[len] (borrowed until the callback) on conn and read the response. */
VG_MUST_USE int vg_httpx_start(struct vg_httpx *x, struct vg_conn *conn, const void *req,
                               size_t len, unsigned timeout_ms, vg_httpx_cb cb, void *arg);
void vg_httpx_cleanup(struct vg_httpx *x);

#endif
