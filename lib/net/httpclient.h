/* SPDX-License-Identifier: MIT */
/*
 * httpclient.h - a small HTTP(S) client for vigie's own services: POST a body to a URL and read
 * the answer (the probe's control requests to a helper, its uploads to a collector). https URLs
 * must present a certificate that validates in the context's trust store.
 */
#ifndef VG_NET_HTTPCLIENT_H
#define VG_NET_HTTPCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/err.h"

struct ssl_ctx_st;

/*
 * status is the HTTP status code (> 0) with body[len] the response body (borrowed for the call),
 * or 0 when no response arrived; failure then says why ("connection_refused", "ssl_unknown_
 * authority (...)", ...). Runs once, from the loop.
 */
typedef void (*vg_post_cb)(int status, const uint8_t *body, size_t len, const char *failure,
                           void *arg);

/*
 * POST body[len] (copied) with the given content type to url. The exchange (name resolution
 * excepted: connection, TLS handshake, request and response together) is bounded by timeout_ms;
 * the response body by resp_max bytes (longer is a failure). Returns 0, or VG_EINVAL for a URL
 * that is not http:// or https://, VG_ETOOBIG for a request that does not fit in memory bounds
 * (cb is then not called).
 */
VG_MUST_USE int vg_http_post(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url,
                             const char *content_type, const void *body, size_t len,
                             unsigned timeout_ms, size_t resp_max, vg_post_cb cb, void *arg);

/*
 * As vg_http_post, for a caller that wants the status only (a webhook): a response body longer
 * than resp_max is cut there and the rest left unread, not a failure; cb gets the status and the
 * first resp_max bytes.
 */
VG_MUST_USE int vg_http_post_cut(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url,
                                 const char *content_type, const void *body, size_t len,
                                 unsigned timeout_ms, size_t resp_max, vg_post_cb cb, void *arg);

/*
 * As vg_http_post, with one more request header: header is one "Name: value" line without its
 * CRLF (copied), e.g. "Authorization: Bearer TOKEN", or NULL for none. A header with a byte
 * outside printable ASCII (no CR, LF or other control) is VG_EINVAL. The header is a secret: the
 * request bytes are wiped when the exchange ends, and nothing here logs it.
 */
VG_MUST_USE int vg_http_post_hdr(uv_loop_t *loop, struct ssl_ctx_st *ctx, const char *url,
                                 const char *header, const char *content_type, const void *body,
                                 size_t len, unsigned timeout_ms, size_t resp_max, vg_post_cb cb,
                                 void *arg);

/*
 * A pool of kept-alive HTTP/1.1 connections for one loop (the probe's connections to its helpers):
 * a request goes on an idle connection to its origin (scheme, host, port, and the same ctx) when
 * there is one, else on a new one, with "Connection: keep-alive". After a whole response framed
 * by Content-Length or chunked, with nothing after it and no "Connection: close" (nor HTTP/1.0),
 * the connection goes back to the pool; after anything else it is closed. At most max_idle
 * connections are kept idle (the oldest goes first), each at most VG_HTTP_POOL_IDLE_MS. A
 * request on a reused connection that fails before any response byte (the server closed it while
 * it was idle) is sent once more on a new connection; a timeout is not retried. Idle connections
 * hold no active libuv handle: the loop ends when the requests do. Not thread-safe: one loop.
 * Users: the probe's THRequests (one pool per loop) and its uploads (one per uploader).
 */
#define VG_HTTP_POOL_IDLE_MS 15000 /* the helper closes idle connections after 30 s */

struct vg_http_pool;

struct vg_http_pool_stats {
    unsigned long long opened;  /* new connections */
    unsigned long long reused;  /* requests sent on a kept-alive connection */
    unsigned long long retried; /* of those, sent again on a new one */
    unsigned long long stale;   /* idle connections found closed or too old, dropped */
};

struct vg_http_pool *vg_http_pool_new(uv_loop_t *loop, unsigned max_idle);

/*
 * As vg_http_post, on the pool's loop and connections. VG_EINVAL also once the pool is freed.
 */
VG_MUST_USE int vg_http_pool_post(struct vg_http_pool *pool, struct ssl_ctx_st *ctx,
                                  const char *url, const char *content_type, const void *body,
                                  size_t len, unsigned timeout_ms, size_t resp_max, vg_post_cb cb,
                                  void *arg);

/*
 * As vg_http_pool_post, with one more request header, as vg_http_post_hdr (checked, copied, and
 * wiped with the request bytes when the exchange ends, a retry's included). The header does not
 * pick the connection: a kept-alive connection carries requests with and without it alike.
 */
VG_MUST_USE int vg_http_pool_post_hdr(struct vg_http_pool *pool, struct ssl_ctx_st *ctx,
                                      const char *url, const char *header, const char *content_type,
                                      const void *body, size_t len, unsigned timeout_ms,
                                      size_t resp_max, vg_post_cb cb, void *arg);

void vg_http_pool_stats(const struct vg_http_pool *pool, struct vg_http_pool_stats *st);

/*
 * Close the idle connections and release the pool (NULL: nothing). Requests still in flight end
 * as they would, their connection closed after them; the memory goes with the last of them. Run
 * the loop afterwards so that libuv releases the closed connections' handles.
 */
void vg_http_pool_free(struct vg_http_pool *pool);

#endif
