/* SPDX-License-Identifier: MIT */
/*
 * http_util.h - what vigie's HTTP servers (helper.c, collector.c) share on top of
 * libmicrohttpd: the listening daemon (address, optional TLS, URL) with its connection limits
 * and deadlines, responses and JSON errors, request log lines without client addresses by
 * default, and Prometheus histograms (http_util.c); the listening socket and TLS files taken
 * before privileges are dropped (http_listen.c); clients as keys for per-client limits, and the
 * refusal of request heads whose body framing is ambiguous (http_guard.c).
 */
#ifndef VG_SERVER_HTTP_UTIL_H
#define VG_SERVER_HTTP_UTIL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

#define VG_HTTP_RETRY_AFTER "5" /* seconds, sent with every 503 */
#define VG_HTTP_HIST_MAX    16  /* buckets of one histogram (+Inf excluded) */
#define VG_HTTP_PATH_LOG    256 /* bytes of a request path kept for the log */

/*
 * What one server lets its clients hold: the defence against slow clients (slowloris). A
 * connection is closed when it is silent for idle_timeout_s, when its request head is not
 * complete header_timeout_s after it opened, or its whole request (body included) read_timeout_s
 * after it opened; on a kept-alive connection both deadlines count from the previous response
 * plus idle_timeout_s. While the server works on a request (a handler has the whole of it, or
 * has answered: vg_http_answered) no deadline runs. 0 disables a limit or deadline, except
 * max_connections (0: libmicrohttpd's default). One client, for max_per_ip, is one IPv4 address
 * or one IPv6 prefix of prefix6 bits: a single host often has a whole /64, and would otherwise
 * get max_per_ip connections per address of it.
 */
struct vg_http_limits {
    unsigned max_connections;  /* open at once; more wait in the listen queue */
    unsigned max_per_ip;       /* open at once from one client; more are closed at once */
    unsigned idle_timeout_s;   /* silence (no byte either way) */
    unsigned header_timeout_s; /* request line and headers */
    unsigned read_timeout_s;   /* whole request, body included */
    unsigned prefix6;          /* IPv6 prefix length of one client; 0 (or 128): per address */
};

/* vigie's defaults (vigie(1)); servers change the read deadline to their largest body. */
#define VG_HTTP_LIMITS_DEFAULT                                                                    \
    {                                                                                             \
        .max_connections = 2048, .max_per_ip = 256, .idle_timeout_s = 30, .header_timeout_s = 10, \
        .read_timeout_s = 60, .prefix6 = VG_HTTP_PREFIX6_DEFAULT                                  \
    }
#define VG_HTTP_PREFIX6_DEFAULT 64
#define VG_HTTP_LIMIT_MAX       1000000 /* largest count or number of seconds an option takes */
#define VG_HTTP_FD_RESERVE      64      /* descriptors kept for everything but connections */

/*
 * What needs privileges, taken before they are dropped (vigie --user): the listening socket,
 * bound, and the TLS certificate and key, in memory. Owned by whoever holds it; a server given
 * one takes it over (vg_http_server_start).
 */
struct vg_http_listener {
    int fd; /* bound and listening, or -1 */
    struct sockaddr_storage ss;
    char *pem_cert, *pem_key; /* NULL: plain HTTP */
    size_t pem_key_len;
};

/* The PEM file at path (at most 1 MiB) into a new NUL-terminated buffer (the caller frees it),
 * its length in *len; NULL with a message in err when it cannot be read. */
char *vg_http_read_pem(const char *path, size_t *len, char *err, size_t errlen);

/*
 * Parse listen ("IPv4:PORT" or "[IPv6]:PORT"), read the TLS files (both or neither) and bind.
 * 0, or a negative code with a message in err (l is then empty: closing it is safe).
 */
VG_MUST_USE int vg_http_listener_open(struct vg_http_listener *l, const char *listen,
                                      const char *tls_cert, const char *tls_key, char *err,
                                      size_t errlen);
/* Close the socket, wipe the key. Idempotent. */
void vg_http_listener_close(struct vg_http_listener *l);

struct vg_http_server_opts {
    const char *listen;   /* "IPv4:PORT" or "[IPv6]:PORT"; port 0 picks a free one */
    const char *tls_cert; /* PEM files: serve HTTPS when both are set */
    const char *tls_key;
    const char *tls_client_ca; /* PEM: ask clients for a certificate, verified against these
                                  CAs by the handler (auth.h vg_auth_client_cert); or NULL */
    /* Opened before (vg_http_listener_open): the server takes it, and listen and the TLS files
     * above are not used. NULL: the server opens its own. */
    struct vg_http_listener *listener;
    const char *server;           /* Server header of the answers the server makes itself (a 400) */
    unsigned threads;             /* libmicrohttpd polling threads (ignored per connection) */
    bool thread_per_conn;         /* one thread per connection: handlers may block */
    struct vg_http_limits limits; /* see above; max_connections 0: libmicrohttpd's default */
    bool suspend_resume;          /* handlers may suspend connections */
    MHD_AccessHandlerCallback on_request;
    MHD_RequestCompletedCallback on_completed;
    void *cls;        /* given to both callbacks */
    FILE *log;        /* libmicrohttpd's own messages; NULL drops them */
    const char *name; /* log prefix, e.g. "vigie helper" */
};

/* ---- clients (http_guard.c) ---- */

/* One client for the per-client limits: an IPv4 address (as ::ffff:a.b.c.d) or an IPv6 prefix
 * (the address with the bits past the prefix cleared). */
struct vg_http_peer {
    uint8_t b[16];
};

/* sa's client, IPv6 cut to prefix6 bits (0 or 128: the whole address; an IPv4-mapped address
 * is its IPv4 one). False (out zeroed) for another family or NULL. */
bool vg_http_peer_of(const struct sockaddr *sa, unsigned prefix6, struct vg_http_peer *out);
/* The client of connection c (vg_http_peer_of). */
bool vg_http_client_peer(struct MHD_Connection *c, unsigned prefix6, struct vg_http_peer *out);

struct vg__peer_node;
/* How many of something each client holds. Not locked: the owner's mutex covers it. */
struct vg_http_peers {
    struct vg__peer_node **b;
    uint64_t seed;
};

void vg_http_peers_init(struct vg_http_peers *t);
/* One more for k, unless k holds max already (max 0: no limit): true when counted. */
bool vg_http_peers_take(struct vg_http_peers *t, const struct vg_http_peer *k, unsigned max);
/* One fewer for k (one that vg_http_peers_take counted). */
void vg_http_peers_give(struct vg_http_peers *t, const struct vg_http_peer *k);
/* How many k holds. */
unsigned vg_http_peers_count(const struct vg_http_peers *t, const struct vg_http_peer *k);
/* Free everything; the table is empty, and may be initialised again. */
void vg_http_peers_cleanup(struct vg_http_peers *t);

/*
 * NULL when the request head of c frames its body in one way only; else why not (a static
 * string): whitespace between a field name and its colon, Content-Length with
 * Transfer-Encoding, two Content-Lengths, or a Transfer-Encoding other than "chunked". A proxy
 * in front may read such a request differently (request smuggling): the servers answer 400 and
 * close the connection, before the body is read.
 */
const char *vg_http_framing_error(struct MHD_Connection *c);

struct vg_http_conn; /* one open connection's deadlines (http_util.c) */

/* A running server. It must not move between vg_http_server_start() and _stop(). */
struct vg_http_server {
    struct MHD_Daemon *d;
    int quiesced_fd; /* the listening socket handed back by MHD_quiesce_daemon, or -1 */
    char url[96];
    char *pem_cert, *pem_key, *pem_trust;
    size_t pem_key_len;
    FILE *log;
    const char *name;
    char first_log[256];          /* libmicrohttpd's first message: why a failed start failed */
    struct vg_http_limits limits; /* as applied (max_connections may have been lowered) */
    MHD_AccessHandlerCallback on_request;
    MHD_RequestCompletedCallback on_completed;
    void *cls;
    /* The deadline watchdog: a thread closing connections past their deadlines. mu covers
     * conns, the counters and stopping. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t watchdog;
    bool mu_ready, watching, stopping;
    struct vg_http_conn *conns;
    unsigned n_conns;                        /* in conns */
    unsigned long long cut_header, cut_read; /* connections closed past each deadline */
    struct vg_http_peers peers;              /* connections open per client (max_per_ip) */
    unsigned long long cut_client;           /* connections closed past max_per_ip */
    unsigned long long bad_framing;          /* requests refused by vg_http_framing_error */
    const char *server_header;
};

/* ---- the server (http_util.c) ---- */

/* Parse "IPv4:PORT" or "[IPv6]:PORT" (no names). */
VG_MUST_USE int vg_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl);

/*
 * Check the options, read the TLS files and start serving. On failure err says why, s is left
 * stopped (vg_http_server_stop() is still safe) and a negative code is returned.
 */
VG_MUST_USE int vg_http_server_start(struct vg_http_server *s, const struct vg_http_server_opts *o,
                                     char *err, size_t errlen);
/*
 * Append the server's connection metrics (Prometheus text): PREFIX_connections (open now),
 * PREFIX_connections_cut_total{deadline="header"|"read"}, PREFIX_connections_refused_total
 * (past max_per_ip) and PREFIX_requests_refused_total{reason="framing"}.
 */
VG_MUST_USE int vg_http_server_metrics(struct vg_http_server *s, struct vg_buf *b,
                                       const char *prefix);
/* Stop accepting new connections (open ones are still served). Idempotent. */
void vg_http_server_quiesce(struct vg_http_server *s);
/* Stop serving and release everything; the key is wiped. Safe after a failed start. */
void vg_http_server_stop(struct vg_http_server *s);

/*
 * Queue a response with Server and Content-Type, Retry-After on 503, plus the NULL-terminated
 * (name, value) list extra (may be NULL). body is copied unless owned, in which case it is
 * freed whatever happens.
 */
enum MHD_Result vg_http_respond(struct MHD_Connection *c, unsigned code, const char *server,
                                const char *type, char *body, size_t len, bool owned,
                                const char *const *extra);
/*
 * A response was queued on c: no deadline runs until the request completes, even if the handler
 * answered before the body was read. vg_http_respond() calls it; code that queues responses
 * itself must too.
 */
void vg_http_answered(struct MHD_Connection *c);
/* {"error": msg} as a fresh NUL-terminated string (caller frees); never NULL. */
char *vg_http_error_json(const char *msg);
/* True when the request declares a Content-Length over max (to refuse it unread). */
bool vg_http_declared_over(struct MHD_Connection *c, size_t max);

/* Peer bytes for a log: printable ASCII kept, the rest (and '%') percent-encoded, cut to cap. */
void vg_http_escape(const char *s, char *out, size_t cap);
/* The client's IP address as text ("?" if unknown). Only for an explicit opt-in log. */
void vg_http_client_ip(struct MHD_Connection *c, char *out, size_t cap);
/* Seconds elapsed since t0 (CLOCK_MONOTONIC). */
double vg_http_since(const struct timespec *t0);
/*
 * One request log line: "TIME METHOD PATH STATUS SECONDS EXTRA[ client=IP]"; status < 0 is
 * written "-". The client address is written only when client is not NULL. One stdio call, so
 * lines from several threads do not interleave.
 */
void vg_http_log_request(FILE *log, const char *method, const char *path, int status,
                         double seconds, const char *extra, struct MHD_Connection *client);

/* A Prometheus histogram; not locked (the owner's mutex covers it). */
struct vg_http_hist {
    const double *bounds; /* upper bounds, increasing, at most VG_HTTP_HIST_MAX */
    size_t n;
    unsigned long long counts[VG_HTTP_HIST_MAX + 1]; /* per bucket, not cumulative; last: +Inf */
    double sum;
    unsigned long long total;
};

void vg_http_hist_init(struct vg_http_hist *h, const double *bounds, size_t n);
void vg_http_hist_observe(struct vg_http_hist *h, double v);
/* Append the histogram in the text exposition format (HELP and TYPE lines included). */
VG_MUST_USE int vg_http_hist_write(struct vg_buf *b, const char *name, const char *help,
                                   const struct vg_http_hist *h);

#endif
