/* SPDX-License-Identifier: MIT */
/*
 * collector.h - `vigie serve`: an HTTP(S) server (libmicrohttpd) that takes measurements with
 * OONI's collector API and bulk JSON Lines uploads, stores them (server/store.h) and answers
 * queries about them (docs/api.md).
 */
#ifndef VG_SERVER_COLLECTOR_H
#define VG_SERVER_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "http_util.h"
#include "util/err.h"

struct vg_store;
struct vg_auth;
struct vg_ingest_policy;

struct vg_collector_opts {
    const char *listen;   /* "IPv4:PORT" or "[IPv6]:PORT"; port 0 picks a free one */
    const char *tls_cert; /* PEM files: serve HTTPS when both are set */
    const char *tls_key;
    const char *tls_client_ca; /* PEM: take client certificates these CAs issued as credentials
                                  (their common name is the provenance); needs HTTPS */
    struct vg_http_listener *listener; /* bound before privileges were dropped (taken), or NULL */
    size_t max_body;   /* request body bytes accepted, also after gunzip; more: 413 */
    size_t max_memory; /* bytes all uploads hold at once (docs/api.md "Memory"); 0: the default */
    struct vg_http_limits limits; /* connections (one thread each) and their deadlines */
    bool log_client;              /* put the client's address in the request log */
    FILE *log;                    /* one line per request; NULL: no log */
    struct vg_store *store;       /* borrowed; outlives the collector */
    /* Uploads (POST) and credentials (docs/api.md, "Credentials"): a valid "Authorization:
     * Bearer TOKEN" makes the token's name the provenance of what the request uploads, else a
     * valid client certificate (tls_client_ca) its common name; a credential that is not valid
     * is refused (401); without one the upload is anonymous, or refused (401) when
     * require_credential. */
    struct vg_auth *auth;    /* upload tokens (auth.h), borrowed; NULL: none */
    bool require_credential; /* refuse anonymous uploads */
    int64_t max_skew_s;      /* refuse a measurement dated more than this after its arrival (400) */
};

struct vg_collector;

/* Start serving. 0, or a negative code with a message in err (address, certificates, bind). */
VG_MUST_USE int vg_collector_start(const struct vg_collector_opts *o, struct vg_collector **out,
                                   char *err, size_t errlen);
/* The base URL clients use, e.g. "http://127.0.0.1:8080/" (with the port actually bound). */
const char *vg_collector_url(const struct vg_collector *c);
/* Stop accepting connections; requests on open connections get 503. Thread-safe. */
void vg_collector_quiesce(struct vg_collector *c);
/* Requests being served. Thread-safe. */
unsigned vg_collector_inflight(struct vg_collector *c);
/* Stop the server and release it (the store is the caller's). NULL is a no-op. */
void vg_collector_free(struct vg_collector *c);

/* The outcome of one line given to vg_collector_ingest_lines. */
struct vg_collector_line {
    size_t line;       /* 1-based, counting every line (blank ones too) */
    const char *uid;   /* accepted: the measurement_uid stored for it (an earlier one if a copy) */
    const char *error; /* rejected: why; NULL when accepted */
    /* accepted: the row as stored (valid during the callback only) */
    const struct vg_store_meas *row;
};
typedef void (*vg_collector_line_cb)(const struct vg_collector_line *l, void *arg);

struct vg_collector_stats {
    size_t accepted; /* lines stored or found already stored */
    size_t stored;   /* of which newly stored */
    size_t rejected; /* lines refused (cb got the reason) */
};

/*
 * The one ingest path of JSON Lines (POST /api/v1/bulk and `vigie import`): every non-blank line
 * of data[len] is checked and normalised (server/ingest.h), checked against pol and stamped with
 * its provenance (vg_ingest_apply; pol NULL: anonymous, the default clock skew) and stored,
 * VG_COLLECTOR_CHUNK rows per committed store call. cb is called for every non-blank line, in
 * order, once its chunk is committed. Lines are numbered from first_line. received_us is the
 * arrival: it stamps the measurement_uids and bounds measurement_start_time.
 * Returns 0 with st filled in, or a store error (VG_STORE_EUNAVAIL...): the chunks before the
 * failing one are committed and were reported, nothing after them was. Safe to run again: a
 * measurement stored twice is kept once.
 */
VG_MUST_USE int vg_collector_ingest_lines(struct vg_store *s, const char *data, size_t len,
                                          size_t first_line, int64_t received_us,
                                          const struct vg_ingest_policy *pol,
                                          vg_collector_line_cb cb, void *arg,
                                          struct vg_collector_stats *st);

/* The current time in UTC microseconds, for received_us. */
int64_t vg_collector_now_us(void);

#endif
