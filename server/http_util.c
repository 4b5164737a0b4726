/* SPDX-License-Identifier: MIT */
/*
 * http_util.c - the pieces vigie's HTTP servers share (http_util.h): one libmicrohttpd daemon
 * setup (its connection limits and deadlines, per client too, and the refusal of ambiguous
 * request heads), one way to answer and to report errors, one request log format, one histogram.
 */
#include "http_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/mem.h"
#include "util/str.h"

#define VG__WATCH_MS  250 /* the deadline watchdog's period */
#define VG__MIN_CONNS 16  /* fewest connections served when descriptors are short */

/* Where a connection is in its current request (what its deadlines apply to). */
enum vg__phase {
    VG__HEAD, /* waiting for the request line and headers: both deadlines run */
    VG__BODY, /* head received, reading the body: the read deadline runs */
    VG__BUSY, /* a handler has the whole request, or has queued a response: none runs */
};

/* One open connection, linked in its server's list from MHD's "started" notice to "closed". */
struct vg_http_conn {
    struct vg_http_conn *prev, *next;
    struct vg_http_server *srv; /* whose mu covers the fields below */
    int fd;
    enum vg__phase phase;
    struct timespec head_by, read_by; /* CLOCK_MONOTONIC deadlines, when the limits set them */
    bool cut;                         /* shut down by the watchdog, MHD not done with it yet */
    struct vg_http_peer peer;         /* its client */
    bool counted;                     /* counted in srv->peers */
};

/* The con_cls of a request refused before the server's handler saw it (a bad framing). */
static char vg__http_refused;

int
vg_http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[INET6_ADDRSTRLEN];
    const char *port_s;
    uint64_t port;
    size_t hl;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (end == NULL || end[1] != ':') {
            return VG_EINVAL;
        }
        hl = (size_t)(end - s - 1);
        port_s = end + 2;
        s++;
    } else {
        const char *colon = strrchr(s, ':');

        if (colon == NULL) {
            return VG_EINVAL;
        }
        hl = (size_t)(colon - s);
        port_s = colon + 1;
    }
    if (hl == 0 || hl >= sizeof(host)) {
        return VG_EINVAL;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    VG_TRY(vg_parse_u64(port_s, 0, 65535, &port));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)ss)->sin_addr) == 1) {
        struct sockaddr_in *s4 = (void *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*s4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *s6 = (void *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*s6);
        return 0;
    }
    return VG_EINVAL;
}

static void
vg__mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct vg_http_server *s = cls;
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (s->first_log[0] == '\0') {
        snprintf(s->first_log, sizeof(s->first_log), "%.*s", (int)strcspn(msg, "\n"), msg);
    }
    if (s->log != NULL) {
        fprintf(s->log, "%s: libmicrohttpd: %s%s", s->name, msg,
                msg[0] != '\0' && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
    }
}

/* ---- connection deadlines ------------------------------------------------------------------ */

static struct timespec
vg__after(const struct timespec *t, unsigned s)
{
    struct timespec r = *t;

    r.tv_sec += (time_t)s;
    return r;
}

static bool
vg__past(const struct timespec *now, const struct timespec *t)
{
    return now->tv_sec > t->tv_sec || (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

/* A new request may come: restart both deadlines from now plus delay (under s->mu). */
static void
vg__arm(const struct vg_http_server *s, struct vg_http_conn *t, unsigned delay)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    t->phase = VG__HEAD;
    t->head_by = vg__after(&now, delay + s->limits.header_timeout_s);
    t->read_by = vg__after(&now, delay + s->limits.read_timeout_s);
}

static struct vg_http_conn *
vg__conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

/*
 * MHD's connection notices. MHD tells "closed" before it closes the descriptor, and the watchdog
 * only shuts descriptors down while holding s->mu, so it never touches a reused descriptor.
 */
static void
vg__on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    struct vg_http_server *s = cls;
    struct vg_http_conn *t;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci == NULL) {
            return; /* cannot happen in 0.9.75: untracked, only the idle timeout applies */
        }
        t = vg_xcalloc(1, sizeof(*t));
        t->srv = s;
        t->fd = ci->connect_fd;
        pthread_mutex_lock(&s->mu);
        vg__arm(s, t, 0);
        /* One client's connections, an IPv6 prefix's together (MHD's own per-IP limit counts
         * each address): past max_per_ip the connection is shut down before it is read. */
        if (vg_http_client_peer(c, s->limits.prefix6, &t->peer)) {
            t->counted = vg_http_peers_take(&s->peers, &t->peer, s->limits.max_per_ip);
            if (!t->counted) {
                (void)shutdown(t->fd, SHUT_RDWR);
                t->cut = true;
                s->cut_client++;
            }
        }
        t->next = s->conns;
        if (s->conns != NULL) {
            s->conns->prev = t;
        }
        s->conns = t;
        s->n_conns++;
        pthread_mutex_unlock(&s->mu);
        *socket_context = t;
        return;
    }
    t = *socket_context;
    if (code != MHD_CONNECTION_NOTIFY_CLOSED || t == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->n_conns--;
    if (t->counted) {
        vg_http_peers_give(&s->peers, &t->peer);
    }
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        s->conns = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    pthread_mutex_unlock(&s->mu);
    *socket_context = NULL;
    free(t);
}

/* 400 and close for a request whose framing is ambiguous; logged as the servers log theirs. */
static enum MHD_Result
vg__http_refuse(struct vg_http_server *s, struct MHD_Connection *c, const char *url,
                const char *method, const char *why, void **con_cls)
{
    static const char *const close_hdr[] = {MHD_HTTP_HEADER_CONNECTION, "close", NULL};
    char msg[160], m[16], path[VG_HTTP_PATH_LOG], *body;

    snprintf(msg, sizeof(msg), "ambiguous request framing: %s", why);
    body = vg_http_error_json(msg);
    pthread_mutex_lock(&s->mu);
    s->bad_framing++;
    pthread_mutex_unlock(&s->mu);
    *con_cls = &vg__http_refused;
    vg_http_escape(method, m, sizeof(m));
    vg_http_escape(url, path, sizeof(path));
    vg_http_log_request(s->log, m, path, MHD_HTTP_BAD_REQUEST, 0.0, "-", NULL);
    return vg_http_respond(c, MHD_HTTP_BAD_REQUEST, s->server_header, "application/json", body,
                           strlen(body), true, close_hdr);
}

/*
 * In front of the server's handler: its first call for a request means the head is complete,
 * a later call with no data that the body is too; the request then belongs to the server.
 */
static enum MHD_Result
vg__http_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                    const char *version, const char *upload_data, size_t *upload_data_size,
                    void **con_cls)
{
    struct vg_http_server *s = cls;
    struct vg_http_conn *t = vg__conn_of(c);
    const char *why;

    if (*con_cls == &vg__http_refused) {
        *upload_data_size = 0; /* answered already: the rest is dropped, then closed */
        return MHD_YES;
    }
    if (t != NULL) {
        pthread_mutex_lock(&s->mu);
        if (t->phase == VG__HEAD) {
            t->phase = VG__BODY;
        } else if (t->phase == VG__BODY && *upload_data_size == 0) {
            t->phase = VG__BUSY;
        }
        pthread_mutex_unlock(&s->mu);
    }
    /* The head is complete and no byte of the body was handed on: the framing is checked here,
     * for both servers, before either reads a body a proxy in front may have read otherwise. */
    if (*con_cls == NULL && (why = vg_http_framing_error(c)) != NULL) {
        return vg__http_refuse(s, c, url, method, why, con_cls);
    }
    return s->on_request(s->cls, c, url, method, version, upload_data, upload_data_size, con_cls);
}

void
vg_http_answered(struct MHD_Connection *c)
{
    struct vg_http_conn *t = vg__conn_of(c);

    if (t != NULL) {
        pthread_mutex_lock(&t->srv->mu);
        t->phase = VG__BUSY;
        pthread_mutex_unlock(&t->srv->mu);
    }
}

/* After a request: a kept-alive connection may idle, then send the next one. */
static void
vg__http_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct vg_http_server *s = cls;
    struct vg_http_conn *t = vg__conn_of(c);

    if (t != NULL) {
        pthread_mutex_lock(&s->mu);
        vg__arm(s, t, s->limits.idle_timeout_s);
        pthread_mutex_unlock(&s->mu);
    }
    if (*con_cls == &vg__http_refused) {
        *con_cls = NULL; /* the server never saw this request */
        return;
    }
    if (s->on_completed != NULL) {
        s->on_completed(s->cls, c, con_cls, toe);
    }
}

/* Shut down (MHD then closes) every connection past a deadline, each VG__WATCH_MS. */
static void *
vg__watchdog(void *arg)
{
    struct vg_http_server *s = arg;
    struct timespec now, wake;

    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (struct vg_http_conn *t = s->conns; t != NULL; t = t->next) {
            bool head = t->phase == VG__HEAD && s->limits.header_timeout_s > 0 &&
                        vg__past(&now, &t->head_by);
            bool read =
                t->phase != VG__BUSY && s->limits.read_timeout_s > 0 && vg__past(&now, &t->read_by);

            if (t->cut || !(head || read)) {
                continue;
            }
            (void)shutdown(t->fd, SHUT_RDWR);
            t->cut = true;
            if (head) {
                s->cut_header++;
            } else {
                s->cut_read++;
            }
        }
        wake = now;
        wake.tv_nsec += VG__WATCH_MS * 1000000L;
        if (wake.tv_nsec >= 1000000000L) {
            wake.tv_sec++;
            wake.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&s->cv, &s->mu, &wake);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * Room for the connections: lift the soft descriptor limit as far as needed (up to the hard
 * one), else serve fewer connections and say so.
 */
static void
vg__fit_descriptors(struct vg_http_server *s)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)s->limits.max_connections + VG_HTTP_FD_RESERVE;
    unsigned fit;

    if (s->limits.max_connections == 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
        rl.rlim_cur >= need) {
        return;
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_cur >= need) {
        return;
    }
    fit = rl.rlim_cur > VG_HTTP_FD_RESERVE + VG__MIN_CONNS
              ? (unsigned)(rl.rlim_cur - VG_HTTP_FD_RESERVE)
              : VG__MIN_CONNS;
    if (s->log != NULL) {
        fprintf(s->log,
                "%s: %llu file descriptors allowed (ulimit -n): serving %u connections, not %u\n",
                s->name, (unsigned long long)rl.rlim_cur, fit, s->limits.max_connections);
    }
    s->limits.max_connections = fit;
}

int
vg_http_server_metrics(struct vg_http_server *s, struct vg_buf *b, const char *prefix)
{
    unsigned long long header, read, client, framing;
    unsigned open;
    int rc;

    /* Counted here: MHD's own count (MHD_DAEMON_INFO_CURRENT_CONNECTIONS) is summed over the
     * pool's threads without a lock. */
    pthread_mutex_lock(&s->mu);
    open = s->n_conns;
    header = s->cut_header;
    read = s->cut_read;
    client = s->cut_client;
    framing = s->bad_framing;
    pthread_mutex_unlock(&s->mu);
    rc = vg_buf_appendf(b,
                        "# HELP %s_connections Connections open.\n"
                        "# TYPE %s_connections gauge\n"
                        "%s_connections %u\n"
                        "# HELP %s_connections_cut_total Connections closed past a deadline.\n"
                        "# TYPE %s_connections_cut_total counter\n"
                        "%s_connections_cut_total{deadline=\"header\"} %llu\n"
                        "%s_connections_cut_total{deadline=\"read\"} %llu\n",
                        prefix, prefix, prefix, open, prefix, prefix, prefix, header, prefix, read);
    rc |= vg_buf_appendf(b,
                         "# HELP %s_connections_refused_total Connections closed at once: their "
                         "client (an address, an IPv6 prefix) had --max-per-ip open.\n"
                         "# TYPE %s_connections_refused_total counter\n"
                         "%s_connections_refused_total %llu\n"
                         "# HELP %s_requests_refused_total Requests answered 400 and closed before "
                         "the server saw them.\n"
                         "# TYPE %s_requests_refused_total counter\n"
                         "%s_requests_refused_total{reason=\"framing\"} %llu\n",
                         prefix, prefix, prefix, client, prefix, prefix, prefix, framing);
    return rc;
}

/* The watchdog's mutex and condition variable (its waits measured on the monotonic clock). */
static int
vg__http_sync_init(struct vg_http_server *s, char *err, size_t errlen)
{
    pthread_condattr_t ca;
    bool cv_ok;

    if (pthread_condattr_init(&ca) != 0) {
        snprintf(err, errlen, "cannot create a condition variable");
        return VG_EINTERNAL;
    }
    cv_ok =
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&s->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cv_ok || pthread_mutex_init(&s->mu, NULL) != 0) {
        if (cv_ok) {
            pthread_cond_destroy(&s->cv);
        }
        snprintf(err, errlen, "cannot create the watchdog's mutex and condition variable");
        return VG_EINTERNAL;
    }
    s->mu_ready = true;
    return 0;
}

/* The server's URL, from the address and the port actually bound. */
static void
vg__http_url(struct vg_http_server *s, const struct sockaddr_storage *ss, bool tls)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, host,
                  sizeof(host));
    } else {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, host,
                  sizeof(host));
    }
    snprintf(s->url, sizeof(s->url), ss->ss_family == AF_INET ? "%s://%s:%u/" : "%s://[%s]:%u/",
             tls ? "https" : "http", host, di != NULL ? (unsigned)di->port : 0U);
}

int
vg_http_server_start(struct vg_http_server *s, const struct vg_http_server_opts *o, char *err,
                     size_t errlen)
{
    struct vg_http_listener own, *l = o->listener != NULL ? o->listener : &own;
    struct sockaddr_storage ss;
    struct MHD_OptionItem items[8];
    size_t ni = 0;
    unsigned flags = MHD_USE_ERROR_LOG;
    int fd, rc;

    memset(s, 0, sizeof(*s));
    s->quiesced_fd = -1;
    s->log = o->log;
    s->name = o->name;
    s->limits = o->limits;
    s->on_request = o->on_request;
    s->on_completed = o->on_completed;
    s->cls = o->cls;
    s->server_header = o->server != NULL ? o->server : "vigie/" VG_VERSION;
    if (o->listener == NULL) {
        rc = vg_http_listener_open(&own, o->listen, o->tls_cert, o->tls_key, err, errlen);
        if (rc < 0) {
            return rc;
        }
    }
    /* The server owns the listener's pieces from here on. */
    ss = l->ss;
    fd = l->fd;
    l->fd = -1;
    s->pem_cert = l->pem_cert;
    s->pem_key = l->pem_key;
    s->pem_key_len = l->pem_key_len;
    l->pem_cert = l->pem_key = NULL;
    l->pem_key_len = 0;
    if (fd < 0) {
        snprintf(err, errlen, "no listening socket");
        vg_http_server_stop(s);
        return VG_EINVAL;
    }
    if (s->pem_cert != NULL) {
        items[ni++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->pem_cert};
        items[ni++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->pem_key};
        flags |= MHD_USE_TLS;
    }
    if (o->tls_client_ca != NULL) {
        size_t trust_len;

        if (s->pem_cert == NULL) {
            snprintf(err, errlen, "client certificates need HTTPS (a certificate and a key)");
            close(fd);
            vg_http_server_stop(s);
            return VG_EINVAL;
        }
        /* libmicrohttpd then asks every client for a certificate (GnuTLS's
         * GNUTLS_CERT_REQUEST: optional); the handler verifies it. The CAs are public: read
         * here, after privileges were dropped (the key was read by the listener, before). */
        if ((s->pem_trust = vg_http_read_pem(o->tls_client_ca, &trust_len, err, errlen)) == NULL) {
            close(fd);
            vg_http_server_stop(s);
            return VG_EINVAL;
        }
        items[ni++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, s->pem_trust};
    }
    /* poll() or epoll, never select(): descriptors past FD_SETSIZE must work. */
    if (o->thread_per_conn) {
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD;
    } else {
        flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
        items[ni++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL};
    }
    vg__fit_descriptors(s);
    if (s->limits.max_connections > 0) {
        items[ni++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, s->limits.max_connections, NULL};
    }
    if (s->limits.max_per_ip > 0) {
        items[ni++] =
            (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->limits.max_per_ip, NULL};
    }
    items[ni] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (o->suspend_resume) {
        flags |= MHD_ALLOW_SUSPEND_RESUME;
    }
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    rc = vg__http_sync_init(s, err, errlen);
    if (rc < 0) {
        close(fd);
        vg_http_server_stop(s);
        return rc;
    }
    vg_http_peers_init(&s->peers);
    /* The logger goes first, so that option errors reach it too. */
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, vg__http_on_request, s, MHD_OPTION_EXTERNAL_LOGGER, vg__mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, vg__http_on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, vg__on_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
        s->limits.idle_timeout_s, MHD_OPTION_ARRAY, items, MHD_OPTION_END);
    if (s->d == NULL) {
        /* libmicrohttpd (0.9.75) closes the listening socket it was given when it fails. */
        /* Its first message says why (a certificate and key that do not match, say). */
        snprintf(err, errlen, "cannot serve on %s: %s",
                 o->listen != NULL ? o->listen : "the listening socket",
                 s->first_log[0] != '\0' ? s->first_log : "libmicrohttpd refused its options");
        vg_http_server_stop(s);
        return VG_EINVAL;
    }
    if ((s->limits.header_timeout_s > 0 || s->limits.read_timeout_s > 0) &&
        pthread_create(&s->watchdog, NULL, vg__watchdog, s) != 0) {
        snprintf(err, errlen, "cannot start the deadline thread");
        vg_http_server_stop(s);
        return VG_EINTERNAL;
    }
    s->watching = s->limits.header_timeout_s > 0 || s->limits.read_timeout_s > 0;
    vg__http_url(s, &ss, s->pem_cert != NULL);
    return 0;
}

void
vg_http_server_quiesce(struct vg_http_server *s)
{
    if (s->d != NULL && s->quiesced_fd < 0) {
        s->quiesced_fd = MHD_quiesce_daemon(s->d);
    }
}

void
vg_http_server_stop(struct vg_http_server *s)
{
    if (s->watching) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->watchdog, NULL);
        s->watching = false;
    }
    if (s->d != NULL) {
        MHD_stop_daemon(s->d);
        s->d = NULL;
    }
    if (s->mu_ready) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        s->mu_ready = false;
    }
    vg_http_peers_cleanup(&s->peers); /* every connection was closed with the daemon */
    if (s->quiesced_fd >= 0) {
        close(s->quiesced_fd);
        s->quiesced_fd = -1;
    }
    if (s->pem_key != NULL) {
        explicit_bzero(s->pem_key, s->pem_key_len);
    }
    VG_FREE(s->pem_key);
    VG_FREE(s->pem_cert);
    VG_FREE(s->pem_trust);
}

enum MHD_Result
vg_http_respond(struct MHD_Connection *c, unsigned code, const char *server, const char *type,
                char *body, size_t len, bool owned, const char *const *extra)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, body,
                                           owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        if (owned) {
            free(body);
        }
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, server);
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE) {
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, VG_HTTP_RETRY_AFTER);
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && extra[i + 1] != NULL; i += 2) {
        (void)MHD_add_response_header(resp, extra[i], extra[i + 1]);
    }
    ret = MHD_queue_response(c, code, resp);
    if (ret == MHD_YES) {
        vg_http_answered(c);
    }
    MHD_destroy_response(resp);
    return ret;
}

char *
vg_http_error_json(const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (text == NULL) {
        /* Not valid UTF-8, or out of memory in jansson: a generic error still answers. */
        return vg_xstrdup("{\"error\":\"error\"}");
    }
    return text;
}

bool
vg_http_declared_over(struct MHD_Connection *c, size_t max)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;

    return cl != NULL && vg_parse_u64(cl, 0, UINT64_MAX, &n) == 0 && n > max;
}

void
vg_http_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c > 0x20 && c < 0x7f && c != '%') {
            if (o + 1 >= cap) {
                break;
            }
            out[o++] = (char)c;
        } else {
            if (o + 3 >= cap) {
                break;
            }
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

void
vg_http_client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    vg_strlcpy(out, "?", cap);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;

        if (sa->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                      (socklen_t)cap);
        } else if (sa->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                      (socklen_t)cap);
        }
    }
}

double
vg_http_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void
vg_http_log_request(FILE *log, const char *method, const char *path, int status, double seconds,
                    const char *extra, struct MHD_Connection *client)
{
    char when[40], code[12] = "-", ip[INET6_ADDRSTRLEN] = "", who[INET6_ADDRSTRLEN + 16] = "";
    struct timespec now;
    struct tm tm;

    if (log == NULL) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    if (status >= 0) {
        snprintf(code, sizeof(code), "%d", status);
    }
    if (client != NULL) {
        vg_http_client_ip(client, ip, sizeof(ip));
        snprintf(who, sizeof(who), " client=%s", ip);
    }
    fprintf(log, "%s.%03ldZ %s %s %s %.3fs %s%s\n", when, now.tv_nsec / 1000000, method, path, code,
            seconds, extra, who);
    fflush(log);
}

void
vg_http_hist_init(struct vg_http_hist *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->n = n < VG_HTTP_HIST_MAX ? n : VG_HTTP_HIST_MAX;
}

void
vg_http_hist_observe(struct vg_http_hist *h, double v)
{
    size_t i = 0;

    while (i < h->n && v > h->bounds[i]) {
        i++;
    }
    h->counts[i]++;
    h->sum += v;
    h->total++;
}

int
vg_http_hist_write(struct vg_buf *b, const char *name, const char *help,
                   const struct vg_http_hist *h)
{
    unsigned long long cum = 0;

    VG_TRY(vg_buf_appendf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name));
    for (size_t i = 0; i < h->n; i++) {
        cum += h->counts[i];
        VG_TRY(vg_buf_appendf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], cum));
    }
    cum += h->counts[h->n];
    VG_TRY(vg_buf_appendf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, cum,
                          name, h->sum, name, h->total));
    return 0;
}
