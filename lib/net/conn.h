/* SPDX-License-Identifier: MIT */
/*
 * conn.h - one TCP (optionally TLS) client connection driven by the libuv loop through a
 * non-blocking socket and a uv_poll handle; non-blocking OpenSSL on top.
 *
 * One operation at a time (connect, handshake, write, read). Each completes by calling the
 * callback given when it started, exactly once, always from the loop (never from inside the start
 * call). If a start call returns an error, its callback is never invoked. vg_conn_close() cancels
 * the pending operation without calling its callback and frees the connection once libuv has
 * released the handles: the pointer is dead after the call.
 */
#ifndef VG_NET_CONN_H
#define VG_NET_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "util/err.h"

struct ssl_st;
struct vg_conn;

/*
 * status: 0 on success or a negative VG_E* code. For reads, n is the number of bytes read and 0
 * with status 0 means the peer closed the connection (end of stream).
 */
typedef void (*vg_conn_cb)(struct vg_conn *c, int status, size_t n, void *arg);

struct vg_conn *vg_conn_new(uv_loop_t *loop);

/* Start connecting to sa. VG_E* on immediate failure (socket(2) failing, bad family). */
VG_MUST_USE int vg_conn_connect(struct vg_conn *c, const struct sockaddr *sa, unsigned timeout_ms,
                                vg_conn_cb cb, void *arg);
/* File descriptor of the connected socket (for vg_tls_new). */
int vg_conn_fd(const struct vg_conn *c);
/* Run the TLS client handshake on ssl (takes ownership of ssl). */
VG_MUST_USE int vg_conn_handshake(struct vg_conn *c, struct ssl_st *ssl, unsigned timeout_ms,
                                  vg_conn_cb cb, void *arg);
struct ssl_st *vg_conn_ssl(const struct vg_conn *c);
/* Write all of p[len] (borrowed until the callback). */
VG_MUST_USE int vg_conn_write(struct vg_conn *c, const void *p, size_t len, unsigned timeout_ms,
                              vg_conn_cb cb, void *arg);
/* Read at most cap bytes into buf (borrowed until the callback). */
VG_MUST_USE int vg_conn_read(struct vg_conn *c, void *buf, size_t cap, unsigned timeout_ms,
                             vg_conn_cb cb, void *arg);
void vg_conn_close(struct vg_conn *c);

#endif
