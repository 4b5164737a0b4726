/* SPDX-License-Identifier: MIT */
/*
 * poster.c - one HTTP(S) POST for callers without a libuv loop (vigie.h: vg_poster_*): vigie
 * serve's alert thread sends its webhooks with the engine's client (lib/net/httpclient.c) and
 * TLS (lib/net/tls.c) instead of a client of its own.
 *
 * Each vg_poster_send runs a private loop, created and closed within the call (cheap: an epoll
 * descriptor), so a poster holds no thread-bound state and any thread may use it. The OpenSSL
 * context is created once by vg_poster_new and only read afterwards (SSL_new from a shared
 * context is thread-safe in OpenSSL 3), which is also where an unreadable --alert-ca-file is
 * reported: at start, not at the first alert. Name resolution runs in libuv's thread pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "net/httpclient.h"
#include "net/tls.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

#define VG__POSTER_TIMEOUT_DEF 10000
#define VG__POSTER_RESP_DEF    4096

struct vg_poster {
    struct vg_post_opts o; /* ca_file not kept: the context has read it */
    struct ssl_ctx_st *ctx;
};

/* What the callback saw, for the blocked caller. */
struct vg__poster_call {
    bool done;
    int status;
    char *err;
    size_t errlen;
};

int
vg_poster_new(const struct vg_post_opts *o, struct vg_poster **out, char *err, size_t errlen)
{
    struct vg_poster *p = vg_xcalloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    rc = vg_tls_ctx_new(o->ca_file, &p->ctx, err, errlen);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p->o = *o;
    p->o.ca_file = NULL;
    p->o.timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : VG__POSTER_TIMEOUT_DEF;
    p->o.resp_max = o->resp_max != 0 ? o->resp_max : VG__POSTER_RESP_DEF;
    *out = p;
    return 0;
}

static void
vg__poster_on_post(int status, const uint8_t *body, size_t len, const char *failure, void *arg)
{
    struct vg__poster_call *call = arg;

    (void)body;
    (void)len;
    call->done = true;
    call->status = status;
    if (status == 0) {
        (void)vg_strlcpy(call->err, failure != NULL ? failure : "no response", call->errlen);
    }
}

int
vg_poster_send(struct vg_poster *p, const char *url, const char *content_type, const void *body,
               size_t len, int *status, char *err, size_t errlen)
{
    struct vg__poster_call call = {.err = err, .errlen = errlen};
    uv_loop_t loop;
    int rc;

    *status = 0;
    if (errlen > 0) {
        err[0] = '\0';
    }
    rc = uv_loop_init(&loop);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create an event loop: %s", uv_strerror(rc));
        return VG_EINTERNAL;
    }
    rc = vg_http_post_cut(&loop, p->ctx, url, content_type, body, len, p->o.timeout_ms,
                          p->o.resp_max, vg__poster_on_post, &call);
    if (rc < 0) {
        snprintf(err, errlen, "%s",
                 rc == VG_EINVAL ? "not an http:// or https:// URL" : "the request is too large");
    }
    /* Until the exchange ended and its connection is closed. */
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&loop);
    if (rc < 0) {
        return rc;
    }
    if (!call.done || call.status == 0) {
        if (!call.done) {
            snprintf(err, errlen, "internal error: the exchange did not end");
        }
        return VG_EHTTP_REQUEST;
    }
    *status = call.status;
    return 0;
}

void
vg_poster_free(struct vg_poster *p)
{
    if (p == NULL) {
        return;
    }
    vg_tls_ctx_free(p->ctx);
    free(p);
}
