/* SPDX-License-Identifier: MIT */
/*
 * collector.c - the collector's HTTP front (collector.h, docs/api.md). libmicrohttpd runs one
 * thread per connection, so that a handler may block in the store: an upload is answered only
 * once its rows are committed, and the store's writer groups the rows of concurrent uploads into
 * one transaction. Bodies are read up to --max-body (413 past it), gunzipped if sent so, checked
 * (ingest.h) and stored; queries are checked (api.h) and read from the store.
 *
 * Privacy: the client's address is never stored; it is logged only with --log-client-address.
 * Trust: uploads carry a credential or are anonymous (vg__credential); each measurement
 * records which (its provenance), never a token or an address.
 *
 * The parts (collector_impl.h): this file holds the server (start, stop, routing, the request's
 * life, responses and metrics); collector_upload.c the uploads (bodies, the OONI collector routes,
 * bulk upload and the ingest path); collector_query.c the routes that read (queries, raw
 * measurements, dashboard, health).
 */
#include "collector.h"

#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "collector_impl.h"
#include "dashboard.h"
#include "http_util.h"
#include "store.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

/* Route labels for the metrics, and whether the route takes a body (POST). */
static const struct {
    const char *name;
    bool post;
} vg__routes[VG__R_N] = {
    [VG__R_OPEN] = {"/report", true},
    [VG__R_SUBMIT] = {"/report/{id}", true},
    [VG__R_CLOSE] = {"/report/{id}/close", true},
    [VG__R_BULK] = {"/api/v1/bulk", true},
    [VG__R_LIST] = {"/api/v1/measurements", false},
    [VG__R_RAW] = {"/api/v1/measurement/{uid}", false},
    [VG__R_ANALYSIS] = {"/api/v1/measurement/{uid}/analysis", false},
    [VG__R_AGG] = {"/api/v1/aggregation", false},
    [VG__R_TARGETS] = {"/api/v1/targets", false},
    [VG__R_CERTS] = {"/api/v1/certificates", false},
    [VG__R_INCIDENT] = {"/api/v1/incident", false},
    [VG__R_ALERTS] = {"/api/v1/alerts", false},
    [VG__R_METRICS] = {"/metrics", false},
    [VG__R_HEALTH] = {"/healthz", false},
    [VG__R_DASHBOARD] = {"/ (dashboard)", false},
    [VG__R_OTHER] = {"other", false},
};

/* Every status the collector answers with; the metrics count requests per (route, status). */
static const unsigned vg__codes[] = {200, 304, 400, 401, 403, 404, 405, 409, 413, 415, 500, 503};
#define VG__N_CODES (sizeof(vg__codes) / sizeof(vg__codes[0]))

/* Answers up to this size are not taken from the budget (errors, small JSON): refusing one
 * must itself be possible. */
#define VG__REPLY_FREE 4096

/* Upper bounds (seconds) of the ingest latency histogram: body received to rows committed. */
static const double vg__buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,   0.25,   0.5,   1,    2.5,   10};

_Static_assert(VG__N_CODES == VG__COLLECTOR_N_CODES,
               "vg__codes and VG__COLLECTOR_N_CODES disagree");

/* ---- responses ----------------------------------------------------------------------------- */

/*
 * Record the status of rq's answer for the metrics. Counted when queued, not at completion: a
 * client that reads /metrics right after an answer sees it counted.
 */
void
vg__collector_count(struct vg__req *rq, unsigned code)
{
    rq->status = (int)code;
    pthread_mutex_lock(&rq->c->mu);
    for (size_t k = 0; k < VG__N_CODES; k++) {
        if (vg__codes[k] == code) {
            rq->c->requests[rq->route][k]++;
        }
    }
    pthread_mutex_unlock(&rq->c->mu);
}

enum MHD_Result
vg__collector_reply(struct vg__req *rq, unsigned code, const char *type, char *body, size_t len,
                    bool owned)
{
    const char *extra[11] = {NULL};
    size_t n = 0;
    int rc;

    /* An answer is held until the client has read it (a slow reader holds it long): its bytes
     * are taken from the budget, and given back when the request ends. */
    if (owned && len > VG__REPLY_FREE && (rc = vg_membudget_take(&rq->acct, len)) != 0) {
        free(body);
        return vg__collector_refuse(rq, rc);
    }
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) {
        extra[n++] = MHD_HTTP_HEADER_ALLOW;
        extra[n++] = vg__routes[rq->route].post ? "POST" : "GET, HEAD";
    }
    if (code == MHD_HTTP_UNAUTHORIZED) {
        extra[n++] = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
        extra[n++] = "Bearer realm=\"vigie\"";
    }
    if (code == MHD_HTTP_OK && rq->next_cursor != NULL && rq->next_cursor[0] != '\0') {
        extra[n++] = "X-Next-Cursor"; /* a CSV page's next_cursor (docs/api.md) */
        extra[n++] = rq->next_cursor;
    }
    if (code == MHD_HTTP_OK && rq->disposition != NULL) {
        /* an incident report: a document of its own, no script, its styles inline */
        extra[n++] = "Content-Disposition";
        extra[n++] = rq->disposition;
        extra[n++] = "Content-Security-Policy";
        extra[n++] = "default-src 'none'; style-src 'unsafe-inline'";
    }
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE || code == MHD_HTTP_CONTENT_TOO_LARGE) {
        /* The client may still be sending: do not keep reading a body we refused. */
        extra[n++] = MHD_HTTP_HEADER_CONNECTION;
        extra[n++] = "close";
    }
    vg__collector_count(rq, code);
    return vg_http_respond(rq->conn, code, VG__SERVER, type, body, len, owned, extra);
}

enum MHD_Result
vg__collector_error(struct vg__req *rq, unsigned code, const char *msg)
{
    char *text = vg_http_error_json(msg);

    return vg__collector_reply(rq, code, "application/json", text, strlen(text), true);
}

/* Answer with j (reference taken). */
enum MHD_Result
vg__collector_json(struct vg__req *rq, json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (text == NULL) {
        return vg__collector_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                   "cannot serialise the response");
    }
    return vg__collector_reply(rq, MHD_HTTP_OK, "application/json", text, strlen(text), true);
}

/* A store failure as an HTTP answer: 503 when the database is unavailable, and so on. */
enum MHD_Result
vg__collector_store_error(struct vg__req *rq, int rc, const char *what)
{
    char msg[256];
    unsigned code;

    switch (rc) {
    case VG_STORE_ENOTFOUND:
        code = MHD_HTTP_NOT_FOUND;
        break;
    case VG_STORE_EEXIST:
        code = MHD_HTTP_CONFLICT;
        break;
    case VG_EINVAL:
    case VG_EPROTO:
    case VG_ETOOBIG:
        code = MHD_HTTP_BAD_REQUEST;
        break;
    case VG_STORE_EUNAVAIL:
        code = MHD_HTTP_SERVICE_UNAVAILABLE;
        break;
    default:
        code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        break;
    }
    if (code >= 500) {
        char why[VG__EXTRA_MAX - 8];

        pthread_mutex_lock(&rq->c->mu);
        rq->c->db_errors++;
        pthread_mutex_unlock(&rq->c->mu);
        /* The request log says why (the client is only told to retry). */
        vg_store_last_error(rq->c->o.store, msg, sizeof(msg));
        vg_http_escape(msg[0] != '\0' ? msg : vg_store_strerror(rc), why, sizeof(why));
        snprintf(rq->extra, sizeof(rq->extra), "db=%s", why);
    }
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE) {
        snprintf(msg, sizeof(msg), "%s: the database is unavailable, retry later", what);
    } else {
        snprintf(msg, sizeof(msg), "%s: %s", what, vg_store_strerror(rc));
    }
    return vg__collector_error(rq, code, msg);
}

void
vg__collector_count_ingest(struct vg_collector *c, size_t stored, size_t duplicates,
                           size_t rejected, double latency)
{
    pthread_mutex_lock(&c->mu);
    c->ingested += stored;
    c->duplicates += duplicates;
    c->rejected += rejected;
    if (latency >= 0) {
        vg_http_hist_observe(&c->latency, latency);
    }
    pthread_mutex_unlock(&c->mu);
}

int64_t
vg_collector_now_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static enum MHD_Result
vg__metrics(struct vg__req *rq)
{
    struct vg_collector *c = rq->c;
    size_t mem_used, mem_high;
    struct vg_buf b;
    int rc = 0;

    vg_buf_init(&b, 256 * 1024);
    pthread_mutex_lock(&c->mu);
    rc |= vg_buf_appendf(&b, "# HELP vigie_collector_requests_total Requests answered, by route "
                             "and HTTP status.\n"
                             "# TYPE vigie_collector_requests_total counter\n");
    for (int r = 0; r < VG__R_N; r++) {
        for (size_t k = 0; k < VG__N_CODES; k++) {
            if (c->requests[r][k] > 0 || vg__codes[k] == 200) {
                rc |= vg_buf_appendf(&b,
                                     "vigie_collector_requests_total{route=\"%s\",code=\"%u\"} "
                                     "%llu\n",
                                     vg__routes[r].name, vg__codes[k], c->requests[r][k]);
            }
        }
    }
    rc |= vg_buf_appendf(
        &b,
        "# HELP vigie_collector_measurements_ingested_total Measurements newly stored.\n"
        "# TYPE vigie_collector_measurements_ingested_total counter\n"
        "vigie_collector_measurements_ingested_total %llu\n"
        "# HELP vigie_collector_measurements_duplicate_total Uploads of a measurement stored "
        "already (answered with its measurement_uid, not stored again).\n"
        "# TYPE vigie_collector_measurements_duplicate_total counter\n"
        "vigie_collector_measurements_duplicate_total %llu\n"
        "# HELP vigie_collector_measurements_rejected_total Measurements refused as invalid.\n"
        "# TYPE vigie_collector_measurements_rejected_total counter\n"
        "vigie_collector_measurements_rejected_total %llu\n"
        "# HELP vigie_collector_database_errors_total Requests failed by the database "
        "(unavailable or failing).\n"
        "# TYPE vigie_collector_database_errors_total counter\n"
        "vigie_collector_database_errors_total %llu\n"
        "# HELP vigie_collector_inflight Requests being served.\n"
        "# TYPE vigie_collector_inflight gauge\n"
        "vigie_collector_inflight %u\n",
        c->ingested, c->duplicates, c->rejected, c->db_errors, c->inflight);
    vg_membudget_usage(&c->mem, &mem_used, &mem_high);
    rc |= vg_buf_appendf(
        &b,
        "# HELP vigie_collector_upload_memory_bytes Memory held by uploads (bodies, parse trees, "
        "measurements waiting for their commit, answers), counted against --max-memory.\n"
        "# TYPE vigie_collector_upload_memory_bytes gauge\n"
        "vigie_collector_upload_memory_bytes %zu\n"
        "# HELP vigie_collector_upload_memory_max_bytes The most uploads held at once.\n"
        "# TYPE vigie_collector_upload_memory_max_bytes gauge\n"
        "vigie_collector_upload_memory_max_bytes %zu\n"
        "# HELP vigie_collector_upload_memory_limit_bytes --max-memory.\n"
        "# TYPE vigie_collector_upload_memory_limit_bytes gauge\n"
        "vigie_collector_upload_memory_limit_bytes %zu\n",
        mem_used, mem_high, c->mem.cap);
    rc |= vg_http_hist_write(&b, "vigie_collector_ingest_latency_seconds",
                             "Time from an upload's last byte to its rows committed.", &c->latency);
    pthread_mutex_unlock(&c->mu);
    rc |= vg_http_server_metrics(&c->srv, &b, "vigie_collector");
    if (rc != 0) {
        vg_buf_cleanup(&b);
        return vg__collector_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics too large");
    }
    return vg__collector_reply(rq, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                               (char *)b.data, b.len, true);
}

/* ---- routing ------------------------------------------------------------------------------- */

/* Copy the path segment at s (up to '/' or the end) into rq->id; false if it does not fit. */
static bool
vg__take_id(struct vg__req *rq, const char *s, const char **rest)
{
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

    *rest = s + n;
    if (n == 0 || n >= sizeof(rq->id)) {
        return false;
    }
    memcpy(rq->id, s, n);
    rq->id[n] = '\0';
    return true;
}

static enum vg__route
vg__route_of(struct vg__req *rq, const char *url)
{
    const char *rest;

    if (strcmp(url, "/report") == 0) {
        return VG__R_OPEN;
    }
    if (strncmp(url, "/report/", 8) == 0) {
        if (!vg__take_id(rq, url + 8, &rest)) {
            return VG__R_OTHER;
        }
        if (rest[0] == '\0') {
            return VG__R_SUBMIT;
        }
        return strcmp(rest, "/close") == 0 ? VG__R_CLOSE : VG__R_OTHER;
    }
    if (strcmp(url, "/api/v1/bulk") == 0) {
        return VG__R_BULK;
    }
    if (strcmp(url, "/api/v1/measurements") == 0) {
        return VG__R_LIST;
    }
    if (strncmp(url, "/api/v1/measurement/", 20) == 0) {
        if (!vg__take_id(rq, url + 20, &rest)) {
            return VG__R_OTHER;
        }
        if (rest[0] == '\0') {
            return VG__R_RAW;
        }
        return strcmp(rest, "/analysis") == 0 ? VG__R_ANALYSIS : VG__R_OTHER;
    }
    if (strcmp(url, "/api/v1/aggregation") == 0) {
        return VG__R_AGG;
    }
    if (strcmp(url, "/api/v1/targets") == 0) {
        return VG__R_TARGETS;
    }
    if (strcmp(url, "/api/v1/certificates") == 0) {
        return VG__R_CERTS;
    }
    if (strcmp(url, "/api/v1/incident") == 0) {
        return VG__R_INCIDENT;
    }
    if (strcmp(url, "/api/v1/alerts") == 0) {
        return VG__R_ALERTS;
    }
    if (strcmp(url, "/metrics") == 0) {
        return VG__R_METRICS;
    }
    if (strcmp(url, "/healthz") == 0) {
        return VG__R_HEALTH;
    }
    if (vg_dashboard_is_path(url)) {
        return VG__R_DASHBOARD;
    }
    return VG__R_OTHER;
}

/* True when the media type of header value v (parameters ignored) is one of types. */
static bool
vg__media_is(const char *v, const char *const *types)
{
    size_t n;

    if (v == NULL) {
        return false;
    }
    n = strcspn(v, "; \t");
    for (size_t i = 0; types[i] != NULL; i++) {
        if (strlen(types[i]) == n && vg_strncaseeq(v, types[i], n)) {
            return true;
        }
    }
    return false;
}

/*
 * Who uploads (docs/api.md, "Credentials"), from the request's head: the name of the credential
 * presented with "Authorization: Bearer TOKEN", else of the client certificate (--client-ca),
 * into rq->provenance; without either, anonymous. A credential that is malformed or not valid is
 * refused, even where anonymous uploads are taken (a client that means to be trusted must learn
 * that it is not); so is an upload without one when credentials are required. A refusal sets
 * rq->deny (answered 401 once the body is read, never stored) and returns true.
 */
static bool
vg__credential(struct vg__req *rq)
{
    const char *h =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    struct vg_collector *c = rq->c;

    vg_strlcpy(rq->provenance, VG_STORE_ANONYMOUS, sizeof(rq->provenance));
    if (h == NULL && c->o.tls_client_ca != NULL) {
        switch (vg_auth_client_cert(rq->conn, rq->provenance)) {
        case 0:
            return false;
        case VG_ENOTFOUND:
            break;
        case VG_EPROTO:
            rq->deny = "the client certificate's common name is not a credential name"
                       " (A-Z a-z 0-9 _ . -)";
            return true;
        default:
            rq->deny = "the client certificate is not valid (not issued by --client-ca, or"
                       " expired)";
            return true;
        }
    }
    if (h == NULL) {
        if (!c->o.require_credential) {
            return false;
        }
        rq->deny = c->o.tls_client_ca != NULL
                       ? "this collector takes uploads with a credential only: send"
                         " Authorization: Bearer TOKEN or a client certificate"
                       : "this collector takes uploads with a credential only: send"
                         " Authorization: Bearer TOKEN";
        return true;
    }
    if (c->o.auth == NULL) {
        rq->deny = "this collector has no upload tokens: send no Authorization";
        return true;
    }
    switch (vg_auth_check(c->o.auth, h, rq->provenance)) {
    case 0:
        return false;
    case VG_EPROTO:
        rq->deny = "the Authorization header must be: Bearer TOKEN";
        break;
    default:
        rq->deny = "unknown upload token";
        break;
    }
    vg_strlcpy(rq->provenance, VG_STORE_ANONYMOUS, sizeof(rq->provenance));
    return true;
}

/*
 * Headers of an upload, checked before its body is read: Content-Type (JSON, or JSON Lines for
 * bulk), Content-Encoding (gzip or none) and a declared length within --max-body. Answers and
 * returns true on a refusal.
 */
static bool
vg__refuse_headers(struct vg__req *rq, enum MHD_Result *ret)
{
    static const char *const json_types[] = {"application/json", NULL};
    static const char *const lines_types[] = {"application/x-ndjson",    "application/jsonl",
                                              "application/x-jsonlines", "application/jsonlines",
                                              "application/json",        NULL};
    struct MHD_Connection *conn = rq->conn;
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *ce = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding");
    char err[160];

    if (ce != NULL && ce[0] != '\0' && strcmp(ce, "identity") != 0) {
        if (strcmp(ce, "gzip") != 0 && strcmp(ce, "x-gzip") != 0) {
            *ret = vg__collector_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                       "unsupported Content-Encoding (gzip or none)");
            return true;
        }
        rq->gzip = true;
    }
    if (rq->route == VG__R_BULK && !vg__media_is(ct, lines_types)) {
        *ret = vg__collector_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                   "Content-Type must be application/x-ndjson (JSON Lines)");
        return true;
    }
    if ((rq->route == VG__R_OPEN || rq->route == VG__R_SUBMIT) && !vg__media_is(ct, json_types)) {
        *ret = vg__collector_error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                   "Content-Type must be application/json");
        return true;
    }
    if (vg_http_declared_over(conn, rq->c->o.max_body)) {
        snprintf(err, sizeof(err), "request body larger than %zu bytes", rq->c->o.max_body);
        *ret = vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
        return true;
    }
    return false;
}

/* The whole request is in: answer it. */
static enum MHD_Result
vg__dispatch(struct vg__req *rq)
{
    struct vg_buf plain = {0};
    const char *body = NULL;
    size_t len = 0;
    enum MHD_Result ret;
    bool answered;

    if (rq->deny != NULL) {
        return vg__collector_error(rq, MHD_HTTP_UNAUTHORIZED, rq->deny);
    }
    switch (rq->route) {
    case VG__R_LIST:
        return vg__collector_query(rq, VG_API_MEASUREMENTS);
    case VG__R_AGG:
        return vg__collector_query(rq, VG_API_AGGREGATION);
    case VG__R_TARGETS:
        return vg__collector_query(rq, VG_API_TARGETS);
    case VG__R_CERTS:
        return vg__collector_query(rq, VG_API_CERTIFICATES);
    case VG__R_INCIDENT:
        return vg__collector_incident(rq);
    case VG__R_ALERTS:
        return vg__collector_query(rq, VG_API_ALERTS);
    case VG__R_RAW:
        return vg__collector_raw(rq);
    case VG__R_ANALYSIS:
        return vg__collector_analysis(rq);
    case VG__R_METRICS:
        return vg__metrics(rq);
    case VG__R_HEALTH:
        return vg__collector_health(rq);
    case VG__R_DASHBOARD:
        return vg__collector_dashboard(rq);
    case VG__R_CLOSE:
        vg__collector_body_release(rq); /* the body, if any, says nothing */
        return vg__collector_close(rq);
    case VG__R_OTHER:
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "not found (see docs/api.md)");
    default:
        break;
    }
    ret = vg__collector_body(rq, &plain, &body, &len, &answered);
    if (answered) {
        vg__collector_body_release(rq);
        return ret;
    }
    if (rq->route == VG__R_OPEN) {
        ret = vg__collector_open(rq, body, len);
    } else if (rq->route == VG__R_SUBMIT) {
        ret = vg__collector_submit(rq, body, len);
    } else {
        ret = vg__collector_bulk(rq, body, len);
    }
    vg_membudget_give(&rq->acct, plain.cap);
    vg_buf_cleanup(&plain);
    vg__collector_body_release(rq);
    return ret;
}

/* The most body bytes rq may bring: its declared Content-Length when within --max-body, so that
 * its storage never grows past what it said it would send. */
static size_t
vg__body_max(struct vg__req *rq)
{
    const char *cl =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;

    if (cl != NULL && vg_parse_u64(cl, 0, rq->c->o.max_body, &n) == 0) {
        return (size_t)n;
    }
    return rq->c->o.max_body;
}

static bool
vg__collector_stopping(struct vg_collector *c)
{
    bool s;

    pthread_mutex_lock(&c->mu);
    s = c->stopping;
    pthread_mutex_unlock(&c->mu);
    return s;
}

static enum MHD_Result
vg__collector_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                         const char *method, const char *version, const char *upload,
                         size_t *upload_size, void **con_cls)
{
    struct vg_collector *c = cls;
    struct vg__req *rq = *con_cls;
    enum MHD_Result ret;

    (void)version;
    if (rq == NULL) {
        bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

        rq = vg_xcalloc(1, sizeof(*rq));
        rq->c = c;
        rq->conn = conn;
        rq->status = -1;
        vg_strlcpy(rq->extra, "-", sizeof(rq->extra));
        clock_gettime(CLOCK_MONOTONIC, &rq->t0);
        vg_http_escape(method, rq->method, sizeof(rq->method));
        vg_http_escape(url, rq->path, sizeof(rq->path));
        pthread_mutex_lock(&c->mu);
        c->inflight++;
        pthread_mutex_unlock(&c->mu);
        *con_cls = rq;
        rq->route = vg__route_of(rq, url);
        vg_membudget_open(&rq->acct, &c->mem);
        vg_buf_init(&rq->body, vg__body_max(rq));
        if (vg__collector_stopping(c)) {
            return vg__collector_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
                                       "the collector is shutting down");
        }
        if (rq->route != VG__R_OTHER &&
            (vg__routes[rq->route].post ? strcmp(method, "POST") != 0 : !get)) {
            return vg__collector_error(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
                                       vg__routes[rq->route].post ? "use POST" : "use GET");
        }
        if (vg__routes[rq->route].post && !vg__credential(rq) && vg__refuse_headers(rq, &ret)) {
            return ret;
        }
        if (rq->deny != NULL && vg_http_declared_over(conn, c->o.max_body)) {
            return vg__collector_error(rq, MHD_HTTP_UNAUTHORIZED, rq->deny); /* not read */
        }
        /* Everything else is answered once the request is complete: an answer queued now
         * would close a keep-alive connection (libmicrohttpd refuses to read an unread body). */
        return MHD_YES;
    }
    if (rq->status >= 0) {
        *upload_size = 0; /* answered already: the rest of the body is dropped */
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (rq->deny != NULL) {
            /* dropped; no more than a body may hold */
            rq->dropped += *upload_size;
            *upload_size = 0;
            return rq->dropped > c->o.max_body
                       ? vg__collector_error(rq, MHD_HTTP_UNAUTHORIZED, rq->deny)
                       : MHD_YES;
        }
        if (vg__routes[rq->route].post) {
            vg__collector_body_add(rq, upload, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return vg__dispatch(rq);
}

static void
vg__collector_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct vg_collector *c = cls;
    struct vg__req *rq = *con_cls;

    (void)conn;
    (void)toe;
    if (rq == NULL) {
        return;
    }
    *con_cls = NULL;
    vg_http_log_request(c->o.log, rq->method, rq->path, rq->status, vg_http_since(&rq->t0),
                        rq->extra, c->o.log_client ? rq->conn : NULL);
    vg__collector_body_release(rq);
    vg__collector_analyser_free(&rq->an, &rq->acct);
    vg_membudget_close(&rq->acct); /* the answer's bytes, and anything left */
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    pthread_mutex_unlock(&c->mu);
    free(rq);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int
vg_collector_start(const struct vg_collector_opts *o, struct vg_collector **out, char *err,
                   size_t errlen)
{
    struct vg_http_server_opts so = {
        .listen = o->listen,
        .tls_cert = o->tls_cert,
        .tls_key = o->tls_key,
        .tls_client_ca = o->tls_client_ca,
        .listener = o->listener,
        .server = VG__SERVER,
        .thread_per_conn = true,
        .limits = o->limits,
        .on_request = vg__collector_on_request,
        .on_completed = vg__collector_on_completed,
        .log = o->log,
        .name = "vigie serve",
    };
    struct vg_collector *c;
    int rc;

    size_t least;

    *out = NULL;
    if (o->store == NULL || o->max_body == 0 || o->max_body > VG_COLLECTOR_BODY_MAX) {
        snprintf(err, errlen, "a store and a max_body of 1..%d are required",
                 VG_COLLECTOR_BODY_MAX);
        return VG_EINVAL;
    }
    /* One upload alone: its body as sent and inflated, then one parse tree beside it. */
    least = 2 * o->max_body + VG_COLLECTOR_PARSE_MAX;
    if (o->max_memory != 0 && o->max_memory < least) {
        snprintf(err, errlen, "--max-memory must be at least twice --max-body plus %d MiB (%zu)",
                 VG_COLLECTOR_PARSE_MAX >> 20, least);
        return VG_EINVAL;
    }
#ifdef __GLIBC__
    /* A fixed threshold (glibc raises it after each large free by default): bodies and texts
     * of 128 KiB or more are mapped on their own and unmapped when freed, so that the memory an
     * upload held goes back to the system, and storage not written to yet is not resident. */
    (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    c = vg_xcalloc(1, sizeof(*c));
    c->o = *o;
    c->srv.quiesced_fd = -1;
    vg_http_hist_init(&c->latency, vg__buckets, sizeof(vg__buckets) / sizeof(vg__buckets[0]));
    pthread_mutex_init(&c->mu, NULL);
    vg_membudget_init(&c->mem, o->max_memory != 0             ? o->max_memory
                               : least > VG_COLLECTOR_MEM_DEF ? least
                                                              : VG_COLLECTOR_MEM_DEF);
    so.cls = c;
    rc = vg_http_server_start(&c->srv, &so, err, errlen);
    if (rc < 0) {
        vg_collector_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

const char *
vg_collector_url(const struct vg_collector *c)
{
    return c->srv.url;
}

void
vg_collector_quiesce(struct vg_collector *c)
{
    bool first;

    pthread_mutex_lock(&c->mu);
    first = !c->stopping;
    c->stopping = true;
    pthread_mutex_unlock(&c->mu);
    if (first) {
        vg_http_server_quiesce(&c->srv);
    }
}

unsigned
vg_collector_inflight(struct vg_collector *c)
{
    unsigned n;

    pthread_mutex_lock(&c->mu);
    n = c->inflight;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void
vg_collector_free(struct vg_collector *c)
{
    if (c == NULL) {
        return;
    }
    vg_http_server_stop(&c->srv);
    pthread_mutex_destroy(&c->mu);
    vg_membudget_cleanup(&c->mem);
    free(c);
}
