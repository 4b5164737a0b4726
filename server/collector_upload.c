/* SPDX-License-Identifier: MIT */
/*
 * collector_upload.c - what clients upload to the collector (collector_impl.h): request bodies
 * (kept within --max-body and the collector-wide budget, gunzipped if sent so), the OONI collector
 * API (POST /report, /report/{id}, /report/{id}/close), the bulk upload (POST /api/v1/bulk) and
 * the one ingest path of JSON Lines (vg_collector_ingest_lines, also `vigie import`). An upload is
 * answered only once its rows are committed.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "alerts.h"
#include "collector.h"
#include "collector_impl.h"
#include "ingest.h"
#include "meas/record_read.h"
#include "store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

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
                          int64_t received_us, const struct vg_ingest_policy *pol,
                          vg_collector_line_cb cb, void *arg, struct vg_collector_stats *st)
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
            if (vg_ingest_parse_meas(p, t, NULL, received_us, &u, err, sizeof(err)) == 0 &&
                vg_ingest_apply(&u, pol, received_us, err, sizeof(err)) == 0) {
                ch.rows[ch.nrows] = u.row;
                ch.texts[ch.nrows] = u.text; /* rows[].raw points into it */
                pe->row = (int)ch.nrows++;
            } else {
                vg_ingest_cleanup(&u);
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
void
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
enum MHD_Result
vg__collector_body(struct vg__req *rq, struct vg_buf *plain, const char **p, size_t *len,
                   bool *answered)
{
    struct vg_collector *c = rq->c;
    char err[128];
    int rc;

    *answered = true;
    if (rq->too_big) {
        snprintf(err, sizeof(err), "request body larger than %zu bytes", c->o.max_body);
        return vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
    }
    if (rq->too_busy) {
        return vg__collector_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
                                   "too many uploads being read, retry");
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
            return vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
        }
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, "the body is not valid gzip");
    }
    *p = plain->data != NULL ? (const char *)plain->data : "";
    *len = plain->len;
    return MHD_YES;
}

/* Keep n more body bytes, or mark the request too big (413) or the collector too busy (503). */
void
vg__collector_body_add(struct vg__req *rq, const char *data, size_t n)
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

/* ---- the OONI collector API ---------------------------------------------------------------- */

/* The policy an upload of rq is checked against and stamped with (ingest.h). */
static struct vg_ingest_policy
vg__policy(const struct vg__req *rq)
{
    return (struct vg_ingest_policy){rq->provenance, rq->c->o.max_skew_s};
}

/*
 * POST /report: open a report. Its submit id is fresh CSPRNG output, so it is both opaque and
 * new, and it is a secret: the answer is the only place it appears. The store keeps the public id
 * derived from it (ingest.h vg_ingest_report_public), which the query API shows; the request log
 * gets the public id too.
 */
enum MHD_Result
vg__collector_open(struct vg__req *rq, const char *body, size_t len)
{
    struct vg_ingest_open op;
    uint8_t rnd[VG_REPORT_RANDOM_BYTES];
    char err[256], secret[VG_REPORT_ID_MAX];
    json_t *ans;
    int rc;

    if (vg_ingest_parse_open(body, len, &op, err, sizeof(err)) < 0) {
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    vg_strlcpy(op.report.provenance, rq->provenance, sizeof(op.report.provenance));
    /* An id that exists already is drawn again: with 256 random bits this never happens. */
    for (int attempt = 0; attempt < 3; attempt++) {
        vg_random_bytes(rnd, sizeof(rnd));
        rc = vg_ingest_report_id(&op.report, time(NULL), rnd, secret, sizeof(secret));
        explicit_bzero(rnd, sizeof(rnd));
        if (rc < 0 ||
            vg_ingest_report_public(secret, op.report.report_id, sizeof(op.report.report_id)) < 0) {
            explicit_bzero(secret, sizeof(secret));
            return vg__collector_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                       "cannot make a report id");
        }
        rc = vg_store_report_open(rq->c->o.store, &op.report);
        if (rc != VG_STORE_EEXIST) {
            break;
        }
    }
    if (rc < 0) {
        explicit_bzero(secret, sizeof(secret));
        return vg__collector_store_error(rq, rc, "cannot open the report");
    }
    vg_strlcpy(rq->extra, op.report.report_id, sizeof(rq->extra));
    ans = json_pack("{s:s, s:s, s:[s], s:s}", "backend_version", VG_VERSION, VG_REC_KEY_REPORT_ID,
                    secret, "supported_formats", "json", "public_report_id", op.report.report_id);
    explicit_bzero(secret, sizeof(secret));
    return vg__collector_json(rq, ans);
}

/*
 * The report whose submit id is in the path (only its holder knows it: a public id names no
 * report here), if the request's credential is the one that opened it: else answered with
 * 404/403/503. A report opened before report secrets (legacy) is found by its one id.
 */
static enum MHD_Result
vg__report(struct vg__req *rq, struct vg_store_report *rep, bool *answered)
{
    char pub[VG_REPORT_ID_MAX];
    int rc = VG_STORE_ENOTFOUND;

    *answered = true;
    if (!vg_ingest_report_id_is_valid(rq->id)) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "unknown report_id");
    }
    if (vg_ingest_report_public(rq->id, pub, sizeof(pub)) == 0) {
        rc = vg_store_report_get(rq->c->o.store, pub, rep);
    }
    if (rc == VG_STORE_ENOTFOUND) {
        rc = vg_store_report_get(rq->c->o.store, rq->id, rep);
        if (rc == 0 && !rep->legacy) {
            rc = VG_STORE_ENOTFOUND; /* a public id */
        }
    }
    if (rc == VG_STORE_ENOTFOUND) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "unknown report_id");
    }
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot read the report");
    }
    if (strcmp(rep->provenance, rq->provenance) != 0) {
        return vg__collector_error(rq, MHD_HTTP_FORBIDDEN,
                                   "the report was opened with another credential");
    }
    *answered = false;
    return MHD_YES;
}

/* POST /report/{id}: one measurement, answered once it is committed. */
enum MHD_Result
vg__collector_submit(struct vg__req *rq, const char *body, size_t len)
{
    struct vg_ingest_policy pol = vg__policy(rq);
    struct vg_store_report rep;
    struct vg_ingest u;
    struct timespec t0;
    char err[512], uid[1][VG_UID_MAX];
    enum MHD_Result ret;
    int64_t now_us;
    bool answered, dup;
    int rc;

    ret = vg__report(rq, &rep, &answered);
    if (answered) {
        return ret;
    }
    if (rep.closed) {
        return vg__collector_error(rq, MHD_HTTP_CONFLICT, "the report is closed; open a new one");
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    now_us = vg_collector_now_us();
    if (vg_ingest_parse_submit(body, len, &rep, now_us, &u, err, sizeof(err)) < 0 ||
        vg_ingest_apply(&u, &pol, now_us, err, sizeof(err)) < 0) {
        vg_ingest_cleanup(&u);
        vg__collector_count_ingest(rq->c, 0, 0, 1, -1);
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    rc = vg_store_insert(rq->c->o.store, &u.row, 1, uid);
    if (rc >= 0) {
        vg_alerts_observe(rq->c->o.alerts, &u.row, uid[0]);
    }
    dup = rc >= 0 && strcmp(uid[0], u.row.measurement_uid) != 0;
    vg_ingest_cleanup(&u);
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot store the measurement");
    }
    vg__collector_count_ingest(rq->c, (size_t)rc, rc == 0 ? 1 : 0, 0, vg_http_since(&t0));
    vg_strlcpy(rq->extra, uid[0], sizeof(rq->extra));
    /* "duplicate": the same measurement was stored already (its uid is answered) */
    return vg__collector_json(rq,
                              json_pack("{s:s, s:b}", "measurement_uid", uid[0], "duplicate", dup));
}

/* POST /report/{id}/close: by the holder of the submit id, with the report's credential. */
enum MHD_Result
vg__collector_close(struct vg__req *rq)
{
    struct vg_store_report rep;
    enum MHD_Result ret;
    bool answered;
    int rc;

    ret = vg__report(rq, &rep, &answered);
    if (answered) {
        return ret;
    }
    rc = vg_store_report_close(rq->c->o.store, rep.report_id);
    if (rc == VG_STORE_ENOTFOUND) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "unknown report_id");
    }
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot close the report");
    }
    return vg__collector_json(rq, json_object());
}

struct vg__collector_bulk {
    json_t *rejected, *uids, *dups;
    struct vg_alerts *alerts;
};

static void
vg__bulk_line(const struct vg_collector_line *l, void *arg)
{
    struct vg__collector_bulk *b = arg;

    if (l->uid != NULL) {
        json_array_append_new(b->uids, json_string(l->uid));
        if (strcmp(l->uid, l->row->measurement_uid) != 0) {
            json_array_append_new(b->dups, json_integer((json_int_t)l->line));
        }
        vg_alerts_observe(b->alerts, l->row, l->uid);
    } else {
        json_array_append_new(
            b->rejected, json_pack("{s:I, s:s}", "line", (json_int_t)l->line, "error", l->error));
    }
}

/* POST /api/v1/bulk: JSON Lines, each line a measurement; per-line results once committed. */
enum MHD_Result
vg__collector_bulk(struct vg__req *rq, const char *body, size_t len)
{
    struct vg_ingest_policy pol = vg__policy(rq);
    struct vg__collector_bulk b;
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
        return vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
    }
    if (vg__blank(body, len)) {
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST,
                                   "empty body: one measurement per line");
    }
    b.rejected = json_array();
    b.uids = json_array();
    b.dups = json_array();
    b.alerts = rq->c->o.alerts;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = vg_collector_ingest_lines(rq->c->o.store, body, len, 1, vg_collector_now_us(), &pol,
                                   vg__bulk_line, &b, &st);
    if (rc < 0) {
        json_decref(b.rejected);
        json_decref(b.uids);
        json_decref(b.dups);
        return vg__collector_store_error(rq, rc, "cannot store the measurements");
    }
    vg__collector_count_ingest(rq->c, st.stored, st.accepted - st.stored, st.rejected,
                               vg_http_since(&t0));
    snprintf(rq->extra, sizeof(rq->extra), "accepted=%zu rejected=%zu", st.accepted, st.rejected);
    return vg__collector_json(rq, json_pack("{s:I, s:I, s:o, s:o, s:o}", "accepted",
                                            (json_int_t)st.accepted, "duplicates",
                                            (json_int_t)(st.accepted - st.stored), "rejected",
                                            b.rejected, "uids", b.uids, "duplicate_lines", b.dups));
}
