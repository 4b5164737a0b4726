/* SPDX-License-Identifier: MIT */
/*
 * helper.h - `vigie helper`: an HTTP(S) server (libmicrohttpd) that answers OONI's web
 * connectivity test-helper protocol with measurements of vigie's engine (docs/helper.md).
 */
#ifndef VG_SERVER_HELPER_H
#define VG_SERVER_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "http_util.h"
#include "util/err.h"
#include "vigie/vigie.h"

struct vg_helper_opts {
    const char *listen;   /* "IPv4:PORT" or "[IPv6]:PORT"; port 0 picks a free one */
    const char *tls_cert; /* PEM files: serve HTTPS when both are set */
    const char *tls_key;
    struct vg_http_limits limits; /* connections and their deadlines (http_util.h) */
    /* Opened before privileges were dropped (http_util.h): taken by the helper, and listen and
     * the TLS files are not read again. NULL: the helper opens its own. */
    struct vg_http_listener *listener;
    unsigned max_inflight; /* measurements in flight; more requests get 503 */
    /* Of those, how many one client may have (an IPv4 address, an IPv6 prefix of
     * limits.prefix6 bits); more get 503. 0: no per-client share. */
    unsigned max_inflight_per_client;
    /* A THRequest is answered at the latest this long after it was admitted: the steps of its
     * measurement not done by then fail with timeouts (vg_job.deadline_ms). 0: no deadline. */
    unsigned deadline_ms;
    size_t max_body;    /* THRequest bytes accepted; more get 413 */
    bool allow_private; /* measure bogon addresses too (tests, private deployments) */
    bool log_client;    /* put the client's address in the request log */
    FILE *log;          /* one line per request */
    /* Engine options; the helper sets refuse_bogons from allow_private. Borrowed. */
    const struct vg_probe_opts *engine;
};

struct vg_helper;

/*
 * Start the engine thread and the HTTP server. Returns 0, or a negative code with a message in
 * err (bad listen address, unreadable certificate, bind failure, engine options).
 */
VG_MUST_USE int vg_helper_start(const struct vg_helper_opts *o, struct vg_helper **out, char *err,
                                size_t errlen);
/* The base URL clients use, e.g. "http://127.0.0.1:8080/" (with the port actually bound). */
const char *vg_helper_url(const struct vg_helper *h);
/* Stop accepting connections; requests on open connections get 503. Thread-safe. */
void vg_helper_quiesce(struct vg_helper *h);
/* Measurement requests admitted and not yet answered. Thread-safe. */
unsigned vg_helper_inflight(struct vg_helper *h);
/* Finish the engine's jobs, stop the server, release everything. NULL is a no-op. */
void vg_helper_free(struct vg_helper *h);

#endif
