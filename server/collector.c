/* SPDX-License-Identifier: MIT */
/*
 * collector.c - the collector's HTTP front (collector.h, docs/api.md). libmicrohttpd runs one
 * thread per connection, so that a handler may block in the store: an upload is answered only
 * once its rows are committed, and the store's writer groups the rows of concurrent uploads into
 * one transaction. Bodies are read up to --max-body (413 past it), gunzipped if sent so, checked
 * (ingest.h) and stored; queries are checked (api.h) and read from the store.
 *
 * Privacy: the client's address is never stored; it is logged only with --log-client-address.
 */
#include "collector.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "alerts.h"
#include "api.h"
#include "dashboard.h"
#include "http_util.h"
#include "ingest.h"
#include "meas/record_read.h"
#include "store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__SERVER    "vigie-collector/" VG_VERSION
#define VG__EXTRA_MAX 160 /* the request log's last column */

enum vg__route {
    VG__R_OPEN,
    VG__R_SUBMIT,
    VG__R_CLOSE,
    VG__R_BULK,
    VG__R_LIST,
    VG__R_RAW,
    VG__R_AGG,
    VG__R_TARGETS,
    VG__R_METRICS,
    VG__R_HEALTH,
    VG__R_DASHBOARD,
    VG__R_OTHER,
    VG__R_N
};

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
    [VG__R_AGG] = {"/api/v1/aggregation", false},
    [VG__R_TARGETS] = {"/api/v1/targets", false},
    [VG__R_METRICS] = {"/metrics", false},
    [VG__R_HEALTH] = {"/healthz", false},
    [VG__R_DASHBOARD] = {"/ (dashboard)", false},
    [VG__R_OTHER] = {"other", false},
};

/* Every status the collector answers with; the metrics count requests per (route, status). */
static const unsigned vg__codes[] = {200, 304, 400, 404, 405, 409, 413, 415, 500, 503};
#define VG__N_CODES (sizeof(vg__codes) / sizeof(vg__codes[0]))

/* Upper bounds (seconds) of the ingest latency histogram: body received to rows committed. */
static const double vg__buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,   0.25,   0.5,   1,    2.5,   10};

struct vg_collector {
    struct vg_collector_opts o;
    struct vg_http_server srv;
    pthread_mutex_t mu; /* everything below */
    bool stopping;
    unsigned inflight;
    size_t buffered; /* body bytes held by all connections (VG_COLLECTOR_BODY_BUDGET) */
    unsigned long long requests[VG__R_N][VG__N_CODES];
    unsigned long long ingested, duplicates, rejected, db_errors;
    struct vg_http_hist latency;
};

/* One HTTP request (libmicrohttpd's per-request closure). */
struct vg__req {
    struct vg_collector *c;
    struct MHD_Connection *conn;
    struct timespec t0;
    char method[16];
    char path[VG_HTTP_PATH_LOG];
    enum vg__route route;
    char id[VG_UID_MAX]; /* the report_id or measurement_uid of the path */
    bool gzip;
    bool too_big, too_busy;
    size_t buffered; /* body bytes counted in c->buffered */
    struct vg_buf body;
    int status; /* -1 until a response is queued */
    char extra[VG__EXTRA_MAX];
};

/* ---- responses ----------------------------------------------------------------------------- */

/*
 * Record the status of rq's answer for the metrics. Counted when queued, not at completion: a
 * client that reads /metrics right after an answer sees it counted.
 */
static void
vg__count(struct vg__req *rq, unsigned code)
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

static enum MHD_Result
vg__collector_reply(struct vg__req *rq, unsigned code, const char *type, char *body, size_t len,
                    bool owned)
{
    const char *extra[5] = {NULL};
    size_t n = 0;

    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) {
        extra[n++] = MHD_HTTP_HEADER_ALLOW;
        extra[n++] = vg__routes[rq->route].post ? "POST" : "GET, HEAD";
    }
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE || code == MHD_HTTP_CONTENT_TOO_LARGE) {
        /* The client may still be sending: do not keep reading a body we refused. */
        extra[n++] = MHD_HTTP_HEADER_CONNECTION;
        extra[n++] = "close";
    }
    vg__count(rq, code);
    return vg_http_respond(rq->conn, code, VG__SERVER, type, body, len, owned, extra);
}

static enum MHD_Result
vg__error(struct vg__req *rq, unsigned code, const char *msg)
{
    char *text = vg_http_error_json(msg);

    return vg__collector_reply(rq, code, "application/json", text, strlen(text), true);
}

/* Answer with j (reference taken). */
static enum MHD_Result
vg__collector_json(struct vg__req *rq, json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (text == NULL) {
        return vg__error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot serialise the response");
    }
    return vg__collector_reply(rq, MHD_HTTP_OK, "application/json", text, strlen(text), true);
}

/* A store failure as an HTTP answer: 503 when the database is unavailable, and so on. */
static enum MHD_Result
vg__store_error(struct vg__req *rq, int rc, const char *what)
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
    return vg__error(rq, code, msg);
}

static void
vg__count_ingest(struct vg_collector *c, size_t stored, size_t duplicates, size_t rejected,
                 double latency)
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

/* ---- ingest -------------------------------------------------------------------------------- */

/* True when p[n] holds only white space (bodies are not NUL-terminated: no strspn). */
static bool
vg__blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            return false;
        }
    }
    return true;
}

/* Lines of one chunk, in order: each either a row to store or a rejection. */
struct vg__pending {
    size_t line;
    int row;     /* index in rows[], or -1 */
    char *error; /* rejected: why (owned) */
};

struct vg__chunk {
    struct vg_store_meas *rows;
    char **texts;
    char (*uids)[VG_UID_MAX];
    size_t nrows;
    struct vg__pending *pend;
    size_t npend;
};

static void
vg__chunk_reset(struct vg__chunk *ch)
{
    for (size_t i = 0; i < ch->nrows; i++) {
        VG_FREE(ch->texts[i]);
    }
    for (size_t i = 0; i < ch->npend; i++) {
        VG_FREE(ch->pend[i].error);
    }
    ch->nrows = 0;
    ch->npend = 0;
}

/* Store the chunk's rows, then report its lines in order. */
static int
vg__chunk_flush(struct vg_store *s, struct vg__chunk *ch, vg_collector_line_cb cb, void *arg,
                struct vg_collector_stats *st)
{
    int stored = 0;

    if (ch->nrows > 0) {
        stored = vg_store_insert(s, ch->rows, ch->nrows, ch->uids);
        if (stored < 0) {
            vg__chunk_reset(ch);
            return stored;
        }
    }
    st->stored += (size_t)stored;
    for (size_t i = 0; i < ch->npend; i++) {
        struct vg_collector_line l = {.line = ch->pend[i].line};

        if (ch->pend[i].row >= 0) {
            l.uid = ch->uids[ch->pend[i].row];
            l.row = &ch->rows[ch->pend[i].row];
            st->accepted++;
        } else {
            l.error = ch->pend[i].error;
            st->rejected++;
        }
        if (cb != NULL) {
            cb(&l, arg);
        }
    }
    vg__chunk_reset(ch);
    return 0;
}

int
vg_collector_ingest_lines(struct vg_store *s, const char *data, size_t len, size_t first_line,
                          int64_t received_us, vg_collector_line_cb cb, void *arg,
                          struct vg_collector_stats *st)
{
    struct vg__chunk ch = {0};
    size_t off = 0, line = first_line;
    int rc = 0;

    memset(st, 0, sizeof(*st));
    ch.rows = vg_xcalloc(VG_COLLECTOR_CHUNK, sizeof(*ch.rows));
    ch.texts = vg_xcalloc(VG_COLLECTOR_CHUNK, sizeof(*ch.texts));
    ch.uids = vg_xcalloc(VG_COLLECTOR_CHUNK, sizeof(*ch.uids));
    /* Rejections count too, so that a chunk holds a bounded number of lines. */
    ch.pend = vg_xcalloc(2 * VG_COLLECTOR_CHUNK, sizeof(*ch.pend));
    while (off < len) {
        const char *p = data + off, *nl = memchr(p, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - p) : len - off, t = n;
        struct vg_ingest u;
        char err[512];

        off += n + (nl != NULL ? 1 : 0);
        while (t > 0 && (p[t - 1] == '\r' || p[t - 1] == ' ' || p[t - 1] == '\t')) {
            t--;
        }
        if (!vg__blank(p, t)) {
            struct vg__pending *pe = &ch.pend[ch.npend++];

            pe->line = line;
            pe->row = -1;
            if (vg_ingest_parse_meas(p, t, NULL, received_us, &u, err, sizeof(err)) == 0) {
                ch.rows[ch.nrows] = u.row;
                ch.texts[ch.nrows] = u.text; /* rows[].raw points into it */
                pe->row = (int)ch.nrows++;
            } else {
                pe->error = vg_xstrdup(err);
            }
        }
        line++;
        if (ch.nrows == VG_COLLECTOR_CHUNK || ch.npend == 2 * VG_COLLECTOR_CHUNK) {
            rc = vg__chunk_flush(s, &ch, cb, arg, st);
            if (rc < 0) {
                goto out;
            }
        }
    }
    rc = vg__chunk_flush(s, &ch, cb, arg, st);
out:
    free(ch.rows);
    free(ch.texts);
    free(ch.uids);
    free(ch.pend);
    return rc;
}

/* ---- bodies -------------------------------------------------------------------------------- */

/* Give the body's bytes back to the collector-wide budget and drop the body. */
static void
vg__collector_body_release(struct vg__req *rq)
{
    if (rq->buffered > 0) {
        pthread_mutex_lock(&rq->c->mu);
        rq->c->buffered -= rq->buffered;
        pthread_mutex_unlock(&rq->c->mu);
        rq->buffered = 0;
    }
    vg_buf_cleanup(&rq->body);
}

/*
 * gzip (RFC 1952) members, concatenated as the format allows, into out; VG_ETOOBIG once the
 * output reaches out->max, VG_EPROTO for a corrupt or truncated stream.
 */
static int
vg__gunzip(const uint8_t *in, size_t len, struct vg_buf *out)
{
    z_stream z;
    int zrc = Z_OK, rc = 0;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        return VG_EINTERNAL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    while (rc == 0) {
        size_t room = out->max - out->len;
        uint8_t *dst;

        if (z.avail_in == 0) {
            uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;

            if (chunk == 0) {
                break;
            }
            z.avail_in = chunk;
            len -= chunk;
        }
        room = room > 65536 ? 65536 : room;
        if (room == 0 || vg_buf_reserve(out, room, &dst) < 0) {
            rc = VG_ETOOBIG;
            break;
        }
        z.next_out = dst;
        z.avail_out = (uInt)room;
        zrc = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (zrc == Z_STREAM_END) {
            if (z.avail_in == 0 && len == 0) {
                break;
            }
            rc = inflateReset(&z) == Z_OK ? 0 : VG_EPROTO; /* the next member */
        } else if (zrc == Z_BUF_ERROR) {
            rc = z.avail_in == 0 && len == 0 ? VG_EPROTO : 0; /* truncated, or refill */
        } else if (zrc != Z_OK) {
            rc = VG_EPROTO;
        }
    }
    if (rc == 0 && zrc != Z_STREAM_END) {
        rc = VG_EPROTO;
    }
    inflateEnd(&z);
    return rc;
}

/* The request body, gunzipped if need be, in *p and *len; or an error answered (*answered). */
static enum MHD_Result
vg__collector_body(struct vg__req *rq, struct vg_buf *plain, const char **p, size_t *len,
                   bool *answered)
{
    struct vg_collector *c = rq->c;
    char err[128];
    int rc;

    *answered = true;
    if (rq->too_big) {
        snprintf(err, sizeof(err), "request body larger than %zu bytes", c->o.max_body);
        return vg__error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
    }
    if (rq->too_busy) {
        return vg__error(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "too many uploads being read, retry");
    }
    *answered = false;
    if (!rq->gzip) {
        *p = rq->body.data != NULL ? (const char *)rq->body.data : "";
        *len = rq->body.len;
        return MHD_YES;
    }
    /* One byte of room past the limit tells "exactly the limit" from "over it". */
    vg_buf_init(plain, c->o.max_body + 1);
    rc = vg__gunzip(rq->body.data, rq->body.len, plain);
    if (rc == 0 && plain->len > c->o.max_body) {
        rc = VG_ETOOBIG;
    }
    if (rc < 0) {
        *answered = true;
        vg_buf_cleanup(plain);
        if (rc == VG_ETOOBIG) {
            snprintf(err, sizeof(err), "request body larger than %zu bytes once decompressed",
                     c->o.max_body);
            return vg__error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
        }
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, "the body is not valid gzip");
    }
    *p = plain->data != NULL ? (const char *)plain->data : "";
    *len = plain->len;
    return MHD_YES;
}

/* ---- the OONI collector API ---------------------------------------------------------------- */

/* POST /report: open a report; its id is fresh CSPRNG output, so it is both opaque and new. */
static enum MHD_Result
vg__open(struct vg__req *rq, const char *body, size_t len)
{
    struct vg_ingest_open op;
    uint8_t rnd[VG_REPORT_RANDOM_BYTES];
    char err[256];
    int rc;

    if (vg_ingest_parse_open(body, len, &op, err, sizeof(err)) < 0) {
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    /* An id that exists already is drawn again: with 256 random bits this never happens. */
    for (int attempt = 0; attempt < 3; attempt++) {
        vg_random_bytes(rnd, sizeof(rnd));
        if (vg_ingest_report_id(&op.report, time(NULL), rnd, op.report.report_id,
                                sizeof(op.report.report_id)) < 0) {
            return vg__error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot make a report id");
        }
        explicit_bzero(rnd, sizeof(rnd));
        rc = vg_store_report_open(rq->c->o.store, &op.report);
        if (rc != VG_STORE_EEXIST) {
            break;
        }
    }
    if (rc < 0) {
        return vg__store_error(rq, rc, "cannot open the report");
    }
    vg_strlcpy(rq->extra, op.report.report_id, sizeof(rq->extra));
    return vg__collector_json(rq, json_pack("{s:s, s:s, s:[s]}", "backend_version", VG_VERSION,
                                            VG_REC_KEY_REPORT_ID, op.report.report_id,
                                            "supported_formats", "json"));
}

/* The report named in the path: answered with 404/409/503 unless it exists and is open. */
static enum MHD_Result
vg__report(struct vg__req *rq, struct vg_store_report *rep, bool *answered)
{
    int rc;

    *answered = true;
    if (!vg_ingest_report_id_is_valid(rq->id)) {
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "unknown report_id");
    }
    rc = vg_store_report_get(rq->c->o.store, rq->id, rep);
    if (rc == VG_STORE_ENOTFOUND) {
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "unknown report_id");
    }
    if (rc < 0) {
        return vg__store_error(rq, rc, "cannot read the report");
    }
    *answered = false;
    return MHD_YES;
}

/* POST /report/{id}: one measurement, answered once it is committed. */
static enum MHD_Result
vg__collector_submit(struct vg__req *rq, const char *body, size_t len)
{
    struct vg_store_report rep;
    struct vg_ingest u;
    struct timespec t0;
    char err[512], uid[1][VG_UID_MAX];
    enum MHD_Result ret;
    bool answered;
    int rc;

    ret = vg__report(rq, &rep, &answered);
    if (answered) {
        return ret;
    }
    if (rep.closed) {
        return vg__error(rq, MHD_HTTP_CONFLICT, "the report is closed; open a new one");
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (vg_ingest_parse_submit(body, len, &rep, vg_collector_now_us(), &u, err, sizeof(err)) < 0) {
        vg__count_ingest(rq->c, 0, 0, 1, -1);
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    rc = vg_store_insert(rq->c->o.store, &u.row, 1, uid);
    if (rc >= 0) {
        vg_alerts_observe(rq->c->o.alerts, &u.row, uid[0]);
    }
    vg_ingest_cleanup(&u);
    if (rc < 0) {
        return vg__store_error(rq, rc, "cannot store the measurement");
    }
    vg__count_ingest(rq->c, (size_t)rc, rc == 0 ? 1 : 0, 0, vg_http_since(&t0));
    vg_strlcpy(rq->extra, uid[0], sizeof(rq->extra));
    return vg__collector_json(rq, json_pack("{s:s}", "measurement_uid", uid[0]));
}

/* POST /report/{id}/close */
static enum MHD_Result
vg__close(struct vg__req *rq)
{
    int rc;

    if (!vg_ingest_report_id_is_valid(rq->id)) {
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "unknown report_id");
    }
    rc = vg_store_report_close(rq->c->o.store, rq->id);
    if (rc == VG_STORE_ENOTFOUND) {
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "unknown report_id");
    }
    if (rc < 0) {
        return vg__store_error(rq, rc, "cannot close the report");
    }
    return vg__collector_json(rq, json_object());
}

struct vg__bulk {
    json_t *rejected, *uids;
    struct vg_alerts *alerts;
};

static void
vg__bulk_line(const struct vg_collector_line *l, void *arg)
{
    struct vg__bulk *b = arg;

    if (l->uid != NULL) {
        json_array_append_new(b->uids, json_string(l->uid));
        vg_alerts_observe(b->alerts, l->row, l->uid);
    } else {
        json_array_append_new(
            b->rejected, json_pack("{s:I, s:s}", "line", (json_int_t)l->line, "error", l->error));
    }
}

/* POST /api/v1/bulk: JSON Lines, each line a measurement; per-line results once committed. */
static enum MHD_Result
vg__bulk(struct vg__req *rq, const char *body, size_t len)
{
    struct vg__bulk b;
    struct vg_collector_stats st;
    struct timespec t0;
    size_t lines = 0;
    char err[128];
    int rc;

    for (const char *p = body; (p = memchr(p, '\n', len - (size_t)(p - body))) != NULL; p++) {
        lines++;
    }
    if (lines >= VG_COLLECTOR_BULK_LINES) {
        snprintf(err, sizeof(err), "more than %d lines: split the upload", VG_COLLECTOR_BULK_LINES);
        return vg__error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
    }
    if (vg__blank(body, len)) {
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, "empty body: one measurement per line");
    }
    b.rejected = json_array();
    b.uids = json_array();
    b.alerts = rq->c->o.alerts;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = vg_collector_ingest_lines(rq->c->o.store, body, len, 1, vg_collector_now_us(),
                                   vg__bulk_line, &b, &st);
    if (rc < 0) {
        json_decref(b.rejected);
        json_decref(b.uids);
        return vg__store_error(rq, rc, "cannot store the measurements");
    }
    vg__count_ingest(rq->c, st.stored, st.accepted - st.stored, st.rejected, vg_http_since(&t0));
    snprintf(rq->extra, sizeof(rq->extra), "accepted=%zu rejected=%zu", st.accepted, st.rejected);
    return vg__collector_json(rq,
                              json_pack("{s:I, s:I, s:o, s:o}", "accepted", (json_int_t)st.accepted,
                                        "duplicates", (json_int_t)(st.accepted - st.stored),
                                        "rejected", b.rejected, "uids", b.uids));
}

/* ---- queries ------------------------------------------------------------------------------- */

#define VG__MAX_ARGS 32 /* query parameters looked at; more is an error */

struct vg__args {
    const char *names[VG__MAX_ARGS], *values[VG__MAX_ARGS];
    size_t n;
    bool overflow, nul;
};

static enum MHD_Result
vg__collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                const char *value, size_t value_size)
{
    struct vg__args *a = cls;

    (void)kind;
    /* A percent-encoded NUL would cut the text short: refused, not silently truncated. */
    if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size)) {
        a->nul = true;
        return MHD_NO;
    }
    if (a->n == VG__MAX_ARGS) {
        a->overflow = true;
        return MHD_NO;
    }
    a->names[a->n] = key;
    a->values[a->n] = value;
    a->n++;
    return MHD_YES;
}

static enum MHD_Result
vg__query(struct vg__req *rq, enum vg_api_route route)
{
    struct vg__args a = {.n = 0};
    struct vg_api_query *q;
    const char *type;
    char err[256], *body;
    size_t len;
    int rc;

    (void)MHD_get_connection_values_n(rq->conn, MHD_GET_ARGUMENT_KIND, vg__collect_arg, &a);
    if (a.overflow) {
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, "too many query parameters");
    }
    if (a.nul) {
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, "a query parameter contains a NUL byte");
    }
    q = vg_xmalloc(sizeof(*q));
    if (vg_api_parse(route, a.names, a.values, a.n, q, err, sizeof(err)) < 0) {
        free(q);
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    rc = vg_api_run(rq->c->o.store, route, q, &body, &len, &type, err, sizeof(err));
    free(q);
    if (rc == VG_EINVAL || rc == VG_ETOOBIG) {
        return vg__error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    if (rc < 0) {
        return vg__store_error(rq, rc, "cannot run the query");
    }
    return vg__collector_reply(rq, MHD_HTTP_OK, type, body, len, true);
}

/* GET /api/v1/measurement/{uid}: the measurement exactly as stored. */
static enum MHD_Result
vg__raw(struct vg__req *rq)
{
    char *text;
    size_t len;
    int rc;

    if (!vg_ingest_uid_is_valid(rq->id)) {
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "unknown measurement_uid");
    }
    rc = vg_store_get_raw(rq->c->o.store, rq->id, &text, &len);
    if (rc == VG_STORE_ENOTFOUND) {
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "unknown measurement_uid");
    }
    if (rc < 0) {
        return vg__store_error(rq, rc, "cannot read the measurement");
    }
    return vg__collector_reply(rq, MHD_HTTP_OK, "application/json", text, len, true);
}

/* GET / and /assets/...: the embedded dashboard (dashboard.h); rq->path is the URL, which an
 * asset path never needs escaped. */
static enum MHD_Result
vg__dashboard(struct vg__req *rq)
{
    const struct vg_dashboard_asset *a = vg_dashboard_find(rq->path);
    enum MHD_Result ret;
    int status = -1;

    if (a == NULL) {
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "not found (see docs/dashboard.md)");
    }
    ret = vg_dashboard_respond(rq->conn, a, VG__SERVER, &status);
    if (status >= 0) {
        vg__count(rq, (unsigned)status);
    }
    return ret;
}

static enum MHD_Result
vg__health(struct vg__req *rq)
{
    /* A lookup that reaches the database: "not found" proves it answers. */
    int rc = vg_store_report_get(rq->c->o.store, "healthz", NULL);

    if (rc < 0 && rc != VG_STORE_ENOTFOUND) {
        return vg__store_error(rq, rc, "unhealthy");
    }
    return vg__collector_json(rq,
                              json_pack("{s:s, s:s, s:s}", "status", "ok", "version", VG_VERSION,
                                        "database", vg_store_backend(rq->c->o.store)));
}

static enum MHD_Result
vg__metrics(struct vg__req *rq)
{
    struct vg_collector *c = rq->c;
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
    rc |= vg_http_hist_write(&b, "vigie_collector_ingest_latency_seconds",
                             "Time from an upload's last byte to its rows committed.", &c->latency);
    pthread_mutex_unlock(&c->mu);
    rc |= vg_http_server_metrics(&c->srv, &b, "vigie_collector");
    if (rc != 0) {
        vg_buf_cleanup(&b);
        return vg__error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics too large");
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
        return vg__take_id(rq, url + 20, &rest) && rest[0] == '\0' ? VG__R_RAW : VG__R_OTHER;
    }
    if (strcmp(url, "/api/v1/aggregation") == 0) {
        return VG__R_AGG;
    }
    if (strcmp(url, "/api/v1/targets") == 0) {
        return VG__R_TARGETS;
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
            *ret = vg__error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                             "unsupported Content-Encoding (gzip or none)");
            return true;
        }
        rq->gzip = true;
    }
    if (rq->route == VG__R_BULK && !vg__media_is(ct, lines_types)) {
        *ret = vg__error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                         "Content-Type must be application/x-ndjson (JSON Lines)");
        return true;
    }
    if ((rq->route == VG__R_OPEN || rq->route == VG__R_SUBMIT) && !vg__media_is(ct, json_types)) {
        *ret =
            vg__error(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
        return true;
    }
    if (vg_http_declared_over(conn, rq->c->o.max_body)) {
        snprintf(err, sizeof(err), "request body larger than %zu bytes", rq->c->o.max_body);
        *ret = vg__error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
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

    switch (rq->route) {
    case VG__R_LIST:
        return vg__query(rq, VG_API_MEASUREMENTS);
    case VG__R_AGG:
        return vg__query(rq, VG_API_AGGREGATION);
    case VG__R_TARGETS:
        return vg__query(rq, VG_API_TARGETS);
    case VG__R_RAW:
        return vg__raw(rq);
    case VG__R_METRICS:
        return vg__metrics(rq);
    case VG__R_HEALTH:
        return vg__health(rq);
    case VG__R_DASHBOARD:
        return vg__dashboard(rq);
    case VG__R_CLOSE:
        vg__collector_body_release(rq); /* the body, if any, says nothing */
        return vg__close(rq);
    case VG__R_OTHER:
        return vg__error(rq, MHD_HTTP_NOT_FOUND, "not found (see docs/api.md)");
    default:
        break;
    }
    ret = vg__collector_body(rq, &plain, &body, &len, &answered);
    if (answered) {
        vg__collector_body_release(rq);
        return ret;
    }
    if (rq->route == VG__R_OPEN) {
        ret = vg__open(rq, body, len);
    } else if (rq->route == VG__R_SUBMIT) {
        ret = vg__collector_submit(rq, body, len);
    } else {
        ret = vg__bulk(rq, body, len);
    }
    vg_buf_cleanup(&plain);
    vg__collector_body_release(rq);
    return ret;
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

/* Keep n more body bytes, or mark the request too big (413) or the collector too busy (503). */
static void
vg__body_add(struct vg__req *rq, const char *data, size_t n)
{
    struct vg_collector *c = rq->c;

    if (rq->too_big || rq->too_busy) {
        return;
    }
    if (rq->body.len + n > c->o.max_body) {
        rq->too_big = true;
        vg__collector_body_release(rq);
        return;
    }
    pthread_mutex_lock(&c->mu);
    rq->too_busy = c->buffered + n > VG_COLLECTOR_BODY_BUDGET;
    if (!rq->too_busy) {
        c->buffered += n;
        rq->buffered += n;
    }
    pthread_mutex_unlock(&c->mu);
    if (rq->too_busy || vg_buf_append(&rq->body, data, n) < 0) {
        rq->too_busy = true;
        vg__collector_body_release(rq);
    }
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
        vg_buf_init(&rq->body, c->o.max_body);
        if (vg__collector_stopping(c)) {
            return vg__error(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "the collector is shutting down");
        }
        if (rq->route != VG__R_OTHER &&
            (vg__routes[rq->route].post ? strcmp(method, "POST") != 0 : !get)) {
            return vg__error(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
                             vg__routes[rq->route].post ? "use POST" : "use GET");
        }
        if (vg__routes[rq->route].post && vg__refuse_headers(rq, &ret)) {
            return ret;
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
        if (vg__routes[rq->route].post) {
            vg__body_add(rq, upload, *upload_size);
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
        .thread_per_conn = true,
        .limits = o->limits,
        .on_request = vg__collector_on_request,
        .on_completed = vg__collector_on_completed,
        .log = o->log,
        .name = "vigie serve",
    };
    struct vg_collector *c;
    int rc;

    *out = NULL;
    if (o->store == NULL || o->max_body == 0) {
        snprintf(err, errlen, "a store and a positive max_body are required");
        return VG_EINVAL;
    }
    c = vg_xcalloc(1, sizeof(*c));
    c->o = *o;
    c->srv.quiesced_fd = -1;
    vg_http_hist_init(&c->latency, vg__buckets, sizeof(vg__buckets) / sizeof(vg__buckets[0]));
    pthread_mutex_init(&c->mu, NULL);
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
    free(c);
}
