/* SPDX-License-Identifier: MIT */
/*
 * helper.c - the test helper's HTTP front. libmicrohttpd serves on a small pool of polling
 * threads; the engine runs vg_probe_serve() on its own thread. A THRequest is read (bounded),
 * parsed, submitted as a control job, and its connection suspended until the engine's result
 * callback resumes it; the THResponse is then built (meas/record_th.h) on the HTTP thread, so that
 * the engine thread only copies the measurement. No client holds more than its share of the
 * measurements in flight, and each is answered by the request deadline.
 */
#include "helper.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_util.h"
#include "proto/ipaddr.h"
#include "th.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__HTTP_THREADS 4 /* libmicrohttpd polling threads */
#define VG__SERVER       "vigie-helper/" VG_VERSION

/* Outcomes, for the metrics (OONI's oohelperd_requests_count{code,reason} idea). */
enum vg__reason {
    VG__R_OK,
    VG__R_HEALTH,
    VG__R_METRICS,
    VG__R_BAD_JSON,
    VG__R_BAD_REQUEST,
    VG__R_BOGON,
    VG__R_NOT_FOUND,
    VG__R_METHOD,
    VG__R_TOO_LARGE,
    VG__R_INTERNAL,
    VG__R_SATURATED,
    VG__R_CLIENT_SHARE,
    VG__R_STOPPING,
    VG__R_N
};

static const struct {
    unsigned code;
    const char *name;
} vg__reasons[VG__R_N] = {
    [VG__R_OK] = {200, "ok"},
    [VG__R_HEALTH] = {200, "health"},
    [VG__R_METRICS] = {200, "metrics"},
    [VG__R_BAD_JSON] = {400, "cannot_unmarshal_request_body"},
    [VG__R_BAD_REQUEST] = {400, "invalid_request"},
    [VG__R_BOGON] = {403, "bogon_target"},
    [VG__R_NOT_FOUND] = {404, "not_found"},
    [VG__R_METHOD] = {405, "bad_request_method"},
    [VG__R_TOO_LARGE] = {413, "request_body_too_large"},
    [VG__R_INTERNAL] = {500, "internal_error"},
    [VG__R_SATURATED] = {503, "saturated"},
    [VG__R_CLIENT_SHARE] = {503, "client_saturated"},
    [VG__R_STOPPING] = {503, "shutting_down"},
};

/* Upper bounds (seconds) of the measurement duration histogram. */
static const double vg__buckets[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60};

struct vg_helper {
    struct vg_helper_opts o;
    struct vg_probe_opts eo;
    struct vg_probe *probe;
    pthread_t engine;
    bool engine_running;
    struct vg_http_server srv;
    pthread_mutex_t mu; /* everything below, and the vg__req fields the engine thread writes */
    bool stopping;
    unsigned inflight;
    struct vg_http_peers clients; /* measurements in flight per client */
    size_t buffered; /* THRequest bytes held by all connections (VG_CTRL_BODY_BUDGET) */
    unsigned long long count[VG__R_N];
    unsigned long long refetches;
    struct vg_http_hist hist; /* measurement durations */
};

enum vg__phase { VG__READING, VG__WAITING, VG__ANSWERED };

/* One HTTP request (MHD's per-request closure). */
struct vg__req {
    struct vg_helper *h;
    struct MHD_Connection *conn;
    struct timespec t0, meas_t0;
    char method[16];
    char path[VG_HTTP_PATH_LOG];
    bool measure; /* POST /: a THRequest */
    bool too_big;
    bool too_busy;   /* the helper-wide body budget was spent */
    size_t buffered; /* body bytes counted in h->buffered */
    bool admitted;   /* counted in h->inflight */
    struct vg_http_peer peer;
    bool peer_counted; /* counted in h->clients */
    enum vg__phase phase;
    struct vg_buf body;
    struct vg_rec_threq threq;
    bool have_threq;
    /* written by the engine thread under h->mu */
    unsigned pending;  /* jobs submitted and not yet reported */
    bool suspended;    /* the connection waits for the engine */
    char *meas, *page; /* the measurement(s), JSON */
    bool refetched;
    /* outcome, for the log and the metrics */
    int reason; /* -1 until a response is queued */
};

/* ---- small helpers ------------------------------------------------------------------------- */

static bool
vg__helper_stopping(struct vg_helper *h)
{
    bool s;

    pthread_mutex_lock(&h->mu);
    s = h->stopping;
    pthread_mutex_unlock(&h->mu);
    return s;
}

/* Give the body's bytes back to the helper-wide budget and drop the body. */
static void
vg__helper_body_release(struct vg__req *rq)
{
    if (rq->buffered > 0) {
        pthread_mutex_lock(&rq->h->mu);
        rq->h->buffered -= rq->buffered;
        pthread_mutex_unlock(&rq->h->mu);
        rq->buffered = 0;
    }
    vg_buf_cleanup(&rq->body);
}

/* Give back the request's measurement slot (and its client's share), once: when its answer is
 * queued, so that a kept-alive connection idle after it holds none, even for the moment before
 * libmicrohttpd reports the request completed; or at completion (a connection that went away). */
static void
vg__helper_slot_release(struct vg__req *rq)
{
    struct vg_helper *h = rq->h;

    if (!rq->admitted && !rq->peer_counted) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    if (rq->admitted) {
        h->inflight--;
        rq->admitted = false;
    }
    if (rq->peer_counted) {
        vg_http_peers_give(&h->clients, &rq->peer);
        rq->peer_counted = false;
    }
    pthread_mutex_unlock(&h->mu);
}

/* ---- responses ----------------------------------------------------------------------------- */

/* Queue a response; body is copied unless owned (then it is freed by libmicrohttpd). Frees the
 * request's measurements and gives back its slot. */
static enum MHD_Result
vg__helper_reply(struct vg__req *rq, enum vg__reason reason, const char *type, char *body,
                 size_t len, bool owned)
{
    const char *extra[5] = {NULL};
    size_t n = 0;

    if (reason == VG__R_METHOD) {
        extra[n++] = MHD_HTTP_HEADER_ALLOW;
        extra[n++] = rq->measure || strcmp(rq->path, "/") == 0 ? "GET, POST" : "GET";
    }
    if (reason == VG__R_STOPPING) {
        extra[n++] = MHD_HTTP_HEADER_CONNECTION;
        extra[n++] = "close";
    }
    rq->reason = (int)reason;
    rq->phase = VG__ANSWERED;
    /* The answer is built (body is its own allocation): the measurements go with the slot, so
     * that a slow reader holds no more of them than max_inflight allows. No job is pending. */
    free(rq->meas);
    free(rq->page);
    rq->meas = rq->page = NULL;
    vg__helper_slot_release(rq);
    return vg_http_respond(rq->conn, vg__reasons[reason].code, VG__SERVER, type, body, len, owned,
                           extra);
}

static enum MHD_Result
vg__reply_error(struct vg__req *rq, enum vg__reason reason, const char *msg)
{
    char *text = vg_http_error_json(msg);

    return vg__helper_reply(rq, reason, "application/json", text, strlen(text), true);
}

static enum MHD_Result
vg__reply_metrics(struct vg__req *rq)
{
    struct vg_helper *h = rq->h;
    struct vg_buf b;
    int rc = 0;

    vg_buf_init(&b, 64 * 1024);
    pthread_mutex_lock(&h->mu);
    rc |= vg_buf_appendf(&b, "# HELP vigie_helper_requests_total Requests answered, by HTTP "
                             "status and reason.\n"
                             "# TYPE vigie_helper_requests_total counter\n");
    for (int i = 0; i < VG__R_N; i++) {
        rc |= vg_buf_appendf(&b, "vigie_helper_requests_total{code=\"%u\",reason=\"%s\"} %llu\n",
                             vg__reasons[i].code, vg__reasons[i].name, h->count[i]);
    }
    rc |= vg_buf_appendf(&b,
                         "# HELP vigie_helper_inflight Measurement requests being served.\n"
                         "# TYPE vigie_helper_inflight gauge\n"
                         "vigie_helper_inflight %u\n"
                         "# HELP vigie_helper_refetches_total Pages fetched again because the "
                         "engine used an address only the probe gave.\n"
                         "# TYPE vigie_helper_refetches_total counter\n"
                         "vigie_helper_refetches_total %llu\n",
                         h->inflight, h->refetches);
    rc |= vg_http_hist_write(&b, "vigie_helper_measurement_duration_seconds",
                             "Time from an admitted THRequest to its THResponse.", &h->hist);
    pthread_mutex_unlock(&h->mu);
    rc |= vg_http_server_metrics(&h->srv, &b, "vigie_helper");
    if (rc != 0) {
        vg_buf_cleanup(&b);
        return vg__reply_error(rq, VG__R_INTERNAL, "metrics too large");
    }
    return vg__helper_reply(rq, VG__R_METRICS, "text/plain; version=0.0.4; charset=utf-8",
                            (char *)b.data, b.len, true);
}

/* ---- measurement --------------------------------------------------------------------------- */

/* Engine thread: keep a copy of the measurement and wake the connection when all jobs are in. */
static void
vg__on_result(const struct vg_result *res, void *arg)
{
    struct vg__req *rq = arg;
    struct vg_helper *h = rq->h;
    char *copy = vg_xstrdup(res->json);
    bool wake;

    pthread_mutex_lock(&h->mu);
    if (rq->meas == NULL) {
        rq->meas = copy;
    } else {
        free(rq->page);
        rq->page = copy;
    }
    rq->pending--;
    wake = rq->pending == 0 && rq->suspended;
    if (wake) {
        rq->suspended = false;
    }
    pthread_mutex_unlock(&h->mu);
    if (wake) {
        MHD_resume_connection(rq->conn);
    }
}

static enum MHD_Result vg__helper_finish(struct vg__req *rq);

/* Milliseconds left before the request's deadline (at least 1: a refetch after it still runs,
 * and its steps fail at once with timeouts), or 0 without a deadline. */
static unsigned
vg__helper_time_left(const struct vg__req *rq)
{
    double spent = vg_http_since(&rq->meas_t0) * 1000.0;

    if (rq->h->o.deadline_ms == 0) {
        return 0;
    }
    return spent + 1.0 < (double)rq->h->o.deadline_ms
               ? (unsigned)((double)rq->h->o.deadline_ms - spent)
               : 1U;
}

/*
 * Submit one control job (with the probe's endpoints, or without for a refetch) and suspend the
 * connection until the result is in; the result may arrive before the suspension, in which case
 * the answer is built right away.
 */
static enum MHD_Result
vg__helper_submit(struct vg__req *rq, bool with_endpoints)
{
    struct vg_helper *h = rq->h;
    char eps[VG_TH_MAX_ENDPOINTS][INET6_ADDRSTRLEN + 8], err[512];
    const char *ptrs[VG_TH_MAX_ENDPOINTS];
    struct vg_job job;
    /* oohelperd's fetch: the probe's User-Agent, Accept and Accept-Language, and a body_length
     * counted up to its 16 MiB limit (the engine keeps only its --body-max of the bytes). */
    struct vg_job_fetch fetch = {.user_agent = rq->threq.user_agent,
                                 .accept = rq->threq.accept,
                                 .accept_language = rq->threq.accept_language,
                                 .body_count_max = VG_CTRL_BODY_LENGTH_MAX};
    size_t n = 0;
    int rc;
    bool done;

    if (with_endpoints) {
        n = vg_threq_endpoints(&rq->threq, !h->o.allow_private, h->eo.doc_ranges_public, eps,
                               VG_TH_MAX_ENDPOINTS);
    }
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = eps[i];
    }
    memset(&job, 0, sizeof(job));
    job.url = rq->threq.url;
    job.endpoints = ptrs;
    job.n_endpoints = n;
    job.control = true;
    job.deadline_ms = vg__helper_time_left(rq);
    pthread_mutex_lock(&h->mu);
    rq->pending++;
    pthread_mutex_unlock(&h->mu);
    rq->phase = VG__WAITING;
    rc = vg_probe_submit_fetch(h->probe, &job, &fetch, vg__on_result, rq, err, sizeof(err));
    if (rc < 0) {
        /* The callback never runs for a refused job. */
        pthread_mutex_lock(&h->mu);
        rq->pending--;
        pthread_mutex_unlock(&h->mu);
        if (rc == VG_ECANCELED) {
            return vg__reply_error(rq, VG__R_STOPPING, "the helper is shutting down");
        }
        return vg__reply_error(rq, VG__R_BAD_REQUEST, err);
    }
    pthread_mutex_lock(&h->mu);
    done = rq->pending == 0;
    if (!done) {
        rq->suspended = true;
        MHD_suspend_connection(rq->conn);
    }
    pthread_mutex_unlock(&h->mu);
    return done ? vg__helper_finish(rq) : MHD_YES;
}

/* All jobs reported: refetch if needed, else answer with the THResponse. */
static enum MHD_Result
vg__helper_finish(struct vg__req *rq)
{
    struct vg_helper *h = rq->h;
    struct vg_rec_thresp_opts to = {.doc_public = h->eo.doc_ranges_public,
                                    .skip_bogons = !h->o.allow_private};
    char *text = NULL, client[INET6_ADDRSTRLEN];
    bool refetch = false;
    int rc;

    if (rq->meas == NULL) {
        return vg__reply_error(rq, VG__R_INTERNAL, "the engine returned no measurement");
    }
    /* The probe's own address goes back to the probe, and nowhere else (not to the log). */
    vg_http_client_ip(rq->conn, client, sizeof(client));
    to.client_addr = strcmp(client, "?") != 0 ? client : NULL;
    if (!rq->refetched) {
        /* One parse of the measurement: the refetch check, then the answer. */
        rc = vg_rec_thresponse_or_refetch(rq->meas, strlen(rq->meas), &rq->threq, &to, &refetch,
                                          &text);
    } else {
        rc = vg_rec_thresponse_from_measurement(rq->meas, strlen(rq->meas), rq->page,
                                                rq->page != NULL ? strlen(rq->page) : 0, &rq->threq,
                                                &to, &text);
    }
    if (rc == 0 && refetch) {
        rq->refetched = true;
        pthread_mutex_lock(&h->mu);
        h->refetches++;
        pthread_mutex_unlock(&h->mu);
        return vg__helper_submit(rq, false);
    }
    if (rc < 0) {
        return vg__reply_error(rq, VG__R_INTERNAL, "cannot build the response");
    }
    pthread_mutex_lock(&h->mu);
    vg_http_hist_observe(&h->hist, vg_http_since(&rq->meas_t0));
    pthread_mutex_unlock(&h->mu);
    return vg__helper_reply(rq, VG__R_OK, "application/json", text, strlen(text), true);
}

/* The whole body is in: parse, check, admit, submit. */
static enum MHD_Result
vg__start(struct vg__req *rq)
{
    struct vg_helper *h = rq->h;
    char err[512];
    const char *body;
    int rc;
    bool admit, share, have_peer, stopping;

    if (rq->too_big) {
        snprintf(err, sizeof(err), "request body larger than %zu bytes", h->o.max_body);
        return vg__reply_error(rq, VG__R_TOO_LARGE, err);
    }
    if (rq->too_busy) {
        return vg__reply_error(rq, VG__R_SATURATED, "too many requests being read, retry later");
    }
    body = rq->body.data != NULL ? (const char *)rq->body.data : "";
    rc = vg_rec_threq_parse(body, rq->body.len, &rq->threq, err, sizeof(err));
    vg__helper_body_release(rq);
    if (rc < 0) {
        return vg__reply_error(rq, rc == VG_EPROTO ? VG__R_BAD_JSON : VG__R_BAD_REQUEST, err);
    }
    rq->have_threq = true;
    /* Not an open proxy: a private target is refused outright (engine and endpoints too). */
    if (!h->o.allow_private && rq->threq.host_family != 0 &&
        vg_ip_is_bogon_lab(rq->threq.host_ip, h->eo.doc_ranges_public)) {
        snprintf(err, sizeof(err),
                 "refused: %s is not a public address (this helper measures public targets "
                 "only)",
                 rq->threq.host_ip);
        return vg__reply_error(rq, VG__R_BOGON, err);
    }
    /* A client (an address, an IPv6 prefix) gets its share of the slots, not all of them. */
    have_peer = vg_http_client_peer(rq->conn, h->o.limits.prefix6, &rq->peer);
    pthread_mutex_lock(&h->mu);
    stopping = h->stopping;
    admit = !stopping && h->inflight < h->o.max_inflight;
    share = admit && (!have_peer ||
                      vg_http_peers_take(&h->clients, &rq->peer, h->o.max_inflight_per_client));
    if (admit && share) {
        h->inflight++;
        rq->admitted = true;
        rq->peer_counted = have_peer;
    }
    pthread_mutex_unlock(&h->mu);
    if (!admit) {
        return stopping ? vg__reply_error(rq, VG__R_STOPPING, "the helper is shutting down")
                        : vg__reply_error(rq, VG__R_SATURATED,
                                          "too many measurements in flight, retry later");
    }
    if (!share) {
        snprintf(err, sizeof(err),
                 "too many measurements in flight from your network (at most %u), retry later",
                 h->o.max_inflight_per_client);
        return vg__reply_error(rq, VG__R_CLIENT_SHARE, err);
    }
    clock_gettime(CLOCK_MONOTONIC, &rq->meas_t0);
    return vg__helper_submit(rq, true);
}

/* ---- libmicrohttpd callbacks --------------------------------------------------------------- */

static enum MHD_Result
vg__route(struct vg__req *rq, const char *url, const char *method)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (strcmp(url, "/") == 0) {
        static const char hello[] = "{\"message\":\"Hello OONItarian!\"}";

        if (!get) {
            return vg__reply_error(rq, VG__R_METHOD, "use POST for measurements, GET for health");
        }
        return vg__helper_reply(rq, VG__R_HEALTH, "application/json", (char *)hello,
                                sizeof(hello) - 1, false);
    }
    if (strcmp(url, "/metrics") == 0) {
        if (!get) {
            return vg__reply_error(rq, VG__R_METHOD, "use GET");
        }
        return vg__reply_metrics(rq);
    }
    return vg__reply_error(rq, VG__R_NOT_FOUND, "not found");
}

static enum MHD_Result
vg__helper_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct vg_helper *h = cls;
    struct vg__req *rq = *con_cls;

    (void)version;
    if (rq == NULL) {
        rq = vg_xcalloc(1, sizeof(*rq));
        rq->h = h;
        rq->conn = c;
        rq->reason = -1;
        clock_gettime(CLOCK_MONOTONIC, &rq->t0);
        vg_http_escape(method, rq->method, sizeof(rq->method));
        vg_http_escape(url, rq->path, sizeof(rq->path));
        *con_cls = rq;
        if (strcmp(url, "/") != 0 || strcmp(method, "POST") != 0) {
            /* Answered once the request is complete: an answer queued now would close a
             * keep-alive connection (libmicrohttpd refuses to read an unread body). */
            return MHD_YES;
        }
        rq->measure = true;
        if (vg__helper_stopping(h)) {
            return vg__reply_error(rq, VG__R_STOPPING, "the helper is shutting down");
        }
        /* A declared length over the limit is refused before any byte of it is read. */
        if (vg_http_declared_over(c, h->o.max_body)) {
            char err[128];

            snprintf(err, sizeof(err), "request body larger than %zu bytes", h->o.max_body);
            return vg__reply_error(rq, VG__R_TOO_LARGE, err);
        }
        vg_buf_init(&rq->body, h->o.max_body);
        return MHD_YES;
    }
    if (rq->phase == VG__ANSWERED) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (!rq->measure) {
        if (*upload_size > 0) {
            *upload_size = 0; /* a body nobody asked for is dropped */
            return MHD_YES;
        }
        return vg__route(rq, url, method);
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;

        /* Past a limit the rest is read and dropped, then the answer is 413 (this request) or
         * 503 (all connections together hold too much). */
        *upload_size = 0;
        if (rq->too_big || rq->too_busy) {
            return MHD_YES;
        }
        if (rq->body.len + n > h->o.max_body) {
            rq->too_big = true;
            vg__helper_body_release(rq);
            return MHD_YES;
        }
        pthread_mutex_lock(&h->mu);
        rq->too_busy = h->buffered + n > VG_CTRL_BODY_BUDGET;
        if (!rq->too_busy) {
            h->buffered += n;
            rq->buffered += n;
        }
        pthread_mutex_unlock(&h->mu);
        if (rq->too_busy || vg_buf_append(&rq->body, upload, n) < 0) {
            rq->too_busy = true;
            vg__helper_body_release(rq);
        }
        return MHD_YES;
    }
    if (rq->phase == VG__READING) {
        return vg__start(rq);
    }
    /* VG__WAITING: resumed by the engine's callback. */
    return vg__helper_finish(rq);
}

static void
vg__helper_log(struct vg__req *rq)
{
    char url[3 * VG_URL_MAX + 1] = "-";

    if (rq->have_threq) {
        vg_http_escape(rq->threq.url, url, sizeof(url));
    }
    vg_http_log_request(rq->h->o.log, rq->method, rq->path,
                        rq->reason >= 0 ? (int)vg__reasons[rq->reason].code : -1,
                        vg_http_since(&rq->t0), url, rq->h->o.log_client ? rq->conn : NULL);
}

static void
vg__helper_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    struct vg_helper *h = cls;
    struct vg__req *rq = *con_cls;

    (void)c;
    (void)toe;
    if (rq == NULL) {
        return;
    }
    *con_cls = NULL;
    vg__helper_log(rq);
    pthread_mutex_lock(&h->mu);
    if (rq->reason >= 0) {
        h->count[rq->reason]++;
    }
    pthread_mutex_unlock(&h->mu);
    vg__helper_slot_release(rq);
    vg__helper_body_release(rq);
    vg_rec_threq_cleanup(&rq->threq);
    free(rq->meas);
    free(rq->page);
    free(rq);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void *
vg__engine_main(void *arg)
{
    struct vg_helper *h = arg;

    (void)vg_probe_serve(h->probe);
    return NULL;
}

static void
vg__stop_engine(struct vg_helper *h)
{
    if (h->engine_running) {
        vg_probe_stop(h->probe);
        pthread_join(h->engine, NULL);
        h->engine_running = false;
    }
}

int
vg_helper_start(const struct vg_helper_opts *o, struct vg_helper **out, char *err, size_t errlen)
{
    struct vg_http_server_opts so = {
        .listen = o->listen,
        .tls_cert = o->tls_cert,
        .tls_key = o->tls_key,
        .listener = o->listener,
        .server = VG__SERVER,
        .threads = VG__HTTP_THREADS,
        .limits = o->limits,
        .suspend_resume = true,
        .on_request = vg__helper_on_request,
        .on_completed = vg__helper_on_completed,
        .log = o->log,
        .name = "vigie helper",
    };
    struct vg_helper *h;
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc;

    *out = NULL;
    if (o->max_inflight == 0 || o->max_body == 0) {
        snprintf(err, errlen, "max_inflight and max_body must be positive");
        return VG_EINVAL;
    }
    /* Checked before the engine starts; the server checks it again when it binds. */
    if (o->listener == NULL && vg_http_parse_listen(o->listen, &ss, &sl) < 0) {
        snprintf(err, errlen, "invalid listen address '%s' (expected IP:PORT or [IPv6]:PORT)",
                 o->listen);
        return VG_EINVAL;
    }
    if (o->listener == NULL && (o->tls_cert == NULL) != (o->tls_key == NULL)) {
        snprintf(err, errlen, "serving HTTPS needs both a certificate and a key");
        return VG_EINVAL;
    }
    h = vg_xcalloc(1, sizeof(*h));
    h->o = *o;
    h->eo = *o->engine;
    h->eo.refuse_bogons = !o->allow_private;
    h->srv.quiesced_fd = -1;
    vg_http_hist_init(&h->hist, vg__buckets, sizeof(vg__buckets) / sizeof(vg__buckets[0]));
    vg_http_peers_init(&h->clients);
    pthread_mutex_init(&h->mu, NULL);
    rc = vg_probe_new(&h->eo, &h->probe, err, errlen);
    if (rc < 0) {
        goto fail;
    }
    if (pthread_create(&h->engine, NULL, vg__engine_main, h) != 0) {
        snprintf(err, errlen, "cannot start the engine thread");
        rc = VG_EINTERNAL;
        goto fail;
    }
    h->engine_running = true;
    so.cls = h;
    rc = vg_http_server_start(&h->srv, &so, err, errlen);
    if (rc < 0) {
        goto fail;
    }
    *out = h;
    return 0;
fail:
    vg_helper_free(h);
    return rc;
}

const char *
vg_helper_url(const struct vg_helper *h)
{
    return h->srv.url;
}

void
vg_helper_quiesce(struct vg_helper *h)
{
    bool first;

    pthread_mutex_lock(&h->mu);
    first = !h->stopping;
    h->stopping = true;
    pthread_mutex_unlock(&h->mu);
    if (first) {
        vg_http_server_quiesce(&h->srv);
    }
}

unsigned
vg_helper_inflight(struct vg_helper *h)
{
    unsigned n;

    pthread_mutex_lock(&h->mu);
    n = h->inflight;
    pthread_mutex_unlock(&h->mu);
    return n;
}

void
vg_helper_free(struct vg_helper *h)
{
    if (h == NULL) {
        return;
    }
    /* Engine first: its last callbacks resume connections that the server then closes. */
    vg__stop_engine(h);
    vg_http_server_stop(&h->srv);
    vg_probe_free(h->probe);
    vg_http_peers_cleanup(&h->clients);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
