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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "collector.h"
#include "collector_impl.h"
#include "ingest.h"
#include "jsonmem.h"
#include "meas/record_read.h"
#include "store.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

/* What zlib allocates to inflate a gzip body: its state (~7 KiB) and a 32 KiB window. */
#define VG__INFLATE_MEM (48 * 1024)

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
    size_t nrows, cap; /* rows held, and room (at most VG_COLLECTOR_CHUNK) */
    struct vg__pending *pend;
    size_t npend;
    size_t bytes;            /* taken from acct for the texts (twice: text, compressed copy) */
    struct vg_memacct *acct; /* NULL: none */
    struct vg__analyser *an; /* vigie's analysis of the lines that need one */
};

int
vg__collector_analyse(struct vg__analyser *an, struct vg_memacct *acct, struct vg_ingest *u)
{
    size_t need;

    if (!vg_store_meas_needs_analysis(&u->row)) {
        return 0;
    }
    need = vg_ingest_analyze_mem(u->text, u->len);
    if (need > an->charged) {
        if (acct != NULL) {
            int why = vg_membudget_take(acct, need - an->charged);

            if (why != 0) {
                return why;
            }
        }
        an->charged = need;
    }
    if (an->a == NULL) {
        an->a = vg_analyzer_new();
    }
    if (an->a == NULL) {
        fprintf(stderr, "vigie: out of memory\n"); /* as vg_xmalloc does */
        abort();
    }
    (void)vg_ingest_analyze(u, an->a);
    return 0;
}

void
vg__collector_analyser_free(struct vg__analyser *an, struct vg_memacct *acct)
{
    vg_analyzer_free(an->a);
    an->a = NULL;
    if (acct != NULL) {
        vg_membudget_give(acct, an->charged);
    }
    an->charged = 0;
}

static void
vg__chunk_reset(struct vg__chunk *ch)
{
    for (size_t i = 0; i < ch->nrows; i++) {
        VG_FREE(ch->texts[i]);
    }
    for (size_t i = 0; i < ch->npend; i++) {
        VG_FREE(ch->pend[i].error);
    }
    if (ch->acct != NULL) {
        vg_membudget_give(ch->acct, ch->bytes);
    }
    ch->bytes = 0;
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

/* Bytes of a chunk's arrays for cap rows (and twice as many lines). */
static size_t
vg__chunk_size(size_t cap)
{
    return cap * (sizeof(struct vg_store_meas) + sizeof(char *) + VG_UID_MAX +
                  2 * sizeof(struct vg__pending));
}

/*
 * Check one line (p[n], not blank) into the chunk: a row, or a rejection. 0, or a positive
 * VG_MEMBUDGET_BUSY / _TOOBIG when acct refused the memory it needs.
 */
static int
vg__chunk_add(struct vg__chunk *ch, const char *p, size_t n, size_t line, int64_t received_us,
              const struct vg_ingest_policy *pol)
{
    struct vg__pending *pe = &ch->pend[ch->npend];
    struct vg_jsonmem jm;
    struct vg_ingest u;
    char err[512];
    int rc, why;

    /* The parse tree lives in an arena taken from acct, gone once the line is checked; the
     * normalised text stays charged (with its compressed copy) until the chunk is committed. */
    vg_jsonmem_begin(&jm, ch->acct, VG_COLLECTOR_PARSE_MAX);
    rc = vg_ingest_parse_meas(p, n, NULL, received_us, &u, err, sizeof(err));
    if (rc == 0 && (rc = vg_ingest_apply(&u, pol, received_us, err, sizeof(err))) < 0) {
        vg_ingest_cleanup(&u); /* refused by the policy (time, provenance) */
    } else if (rc == 0 && vg_jsonmem_failed(&jm)) {
        /* A refused allocation was survived (a string left unscrubbed?): not stored. */
        vg_ingest_cleanup(&u);
        rc = VG_ETOOBIG;
        snprintf(err, sizeof(err),
                 "measurement too large to read: its parse needs more than %d MiB",
                 VG_COLLECTOR_PARSE_MAX >> 20);
    }
    vg_jsonmem_end(&jm, rc == 0 ? u.len + 1 : 0);
    if (jm.refused != 0) {
        return jm.refused;
    }
    if (rc == 0 && ch->acct != NULL) {
        why = vg_membudget_take(ch->acct, u.len + 1); /* the store's compressed copy */
        if (why != 0) {
            vg_membudget_give(ch->acct, u.len + 1);
            vg_ingest_cleanup(&u);
            return why;
        }
    }
    if (rc == 0 && (why = vg__collector_analyse(ch->an, ch->acct, &u)) != 0) {
        if (ch->acct != NULL) {
            vg_membudget_give(ch->acct, 2 * (u.len + 1));
        }
        vg_ingest_cleanup(&u);
        return why;
    }
    ch->npend++;
    pe->line = line;
    pe->row = -1;
    if (rc == 0) {
        ch->rows[ch->nrows] = u.row;
        ch->texts[ch->nrows] = u.text; /* rows[].raw points into it */
        ch->bytes += 2 * (u.len + 1);
        pe->row = (int)ch->nrows++;
    } else {
        pe->error = vg_xstrdup(err);
    }
    return 0;
}

int
vg__collector_ingest(struct vg_store *s, const char *data, size_t len, size_t first_line,
                     int64_t received_us, const struct vg_ingest_policy *pol,
                     vg_collector_line_cb cb, void *arg, struct vg_collector_stats *st,
                     struct vg_memacct *acct, struct vg__analyser *an, const int *stop)
{
    struct vg__chunk ch = {.acct = acct, .an = an, .cap = 1};
    size_t off = 0, line = first_line;
    int rc = 0;

    memset(st, 0, sizeof(*st));
    /* Room for the lines there are, up to a chunk (the arrays are taken from acct too). */
    for (const char *q = data;
         ch.cap < VG_COLLECTOR_CHUNK && (q = memchr(q, '\n', len - (size_t)(q - data))) != NULL;
         q++) {
        ch.cap++;
    }
    if (acct != NULL && (rc = vg_membudget_take(acct, vg__chunk_size(ch.cap))) != 0) {
        return rc;
    }
    ch.rows = vg_xcalloc(ch.cap, sizeof(*ch.rows));
    ch.texts = vg_xcalloc(ch.cap, sizeof(*ch.texts));
    ch.uids = vg_xcalloc(ch.cap, sizeof(*ch.uids));
    /* Rejections count too, so that a chunk holds a bounded number of lines. */
    ch.pend = vg_xcalloc(2 * ch.cap, sizeof(*ch.pend));
    while (off < len) {
        const char *p = data + off, *nl = memchr(p, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - p) : len - off, t = n;

        off += n + (nl != NULL ? 1 : 0);
        while (t > 0 && (p[t - 1] == '\r' || p[t - 1] == ' ' || p[t - 1] == '\t')) {
            t--;
        }
        if (!vg__blank(p, t)) {
            rc = vg__chunk_add(&ch, p, t, line, received_us, pol);
            if (rc != 0) {
                vg__chunk_reset(&ch); /* not committed, not reported */
                goto out;
            }
        }
        line++;
        if (ch.nrows == ch.cap || ch.npend == 2 * ch.cap ||
            ch.bytes >= 2 * VG_COLLECTOR_CHUNK_BYTES) {
            rc = vg__chunk_flush(s, &ch, cb, arg, st);
            if (rc == 0 && stop != NULL) {
                rc = *stop;
            }
            if (rc != 0) {
                goto out;
            }
        }
    }
    rc = vg__chunk_flush(s, &ch, cb, arg, st);
    if (rc == 0 && stop != NULL) {
        rc = *stop;
    }
out:
    free(ch.rows);
    free(ch.texts);
    free(ch.uids);
    free(ch.pend);
    if (acct != NULL) {
        vg_membudget_give(acct, vg__chunk_size(ch.cap));
    }
    return rc;
}

int
vg_collector_ingest_lines(struct vg_store *s, const char *data, size_t len, size_t first_line,
                          int64_t received_us, const struct vg_ingest_policy *pol,
                          vg_collector_line_cb cb, void *arg, struct vg_collector_stats *st)
{
    struct vg__analyser an = {NULL, 0};
    int rc = vg__collector_ingest(s, data, len, first_line, received_us, pol, cb, arg, st, NULL,
                                  &an, NULL);

    vg__collector_analyser_free(&an, NULL);
    return rc;
}

/* ---- bodies -------------------------------------------------------------------------------- */

/* Give the body's bytes back to the collector-wide budget and drop the body. */
void
vg__collector_body_release(struct vg__req *rq)
{
    vg_membudget_give(&rq->acct, rq->body.cap);
    vg_buf_cleanup(&rq->body);
}

enum MHD_Result
vg__collector_refuse(struct vg__req *rq, int why)
{
    char err[200];

    if (why == VG_MEMBUDGET_TOOBIG) {
        snprintf(err, sizeof(err),
                 "the upload needs more memory than the collector gives all uploads together "
                 "(%zu MiB): make it smaller",
                 rq->c->mem.cap >> 20);
        return vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
    }
    return vg__collector_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
                               "too many uploads being processed, retry");
}

/*
 * gzip (RFC 1952) members, concatenated as the format allows, into out, its storage taken from
 * acct; VG_ETOOBIG once the output reaches out->max, VG_EPROTO for a corrupt or truncated
 * stream, or a positive VG_MEMBUDGET_BUSY / _TOOBIG.
 */
static int
vg__gunzip(const uint8_t *in, size_t len, struct vg_buf *out, struct vg_memacct *acct)
{
    z_stream z;
    int zrc = Z_OK, rc;

    /* zlib's state and window are taken from the budget too */
    rc = vg_membudget_take(acct, VG__INFLATE_MEM);
    if (rc != 0) {
        return rc;
    }
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        vg_membudget_give(acct, VG__INFLATE_MEM);
        return VG_EINTERNAL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    while (rc == 0) {
        size_t room = out->max - out->len;

        if (z.avail_in == 0) {
            uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;

            if (chunk == 0) {
                break;
            }
            z.avail_in = chunk;
            len -= chunk;
        }
        room = room > 65536 ? 65536 : room;
        rc = room == 0 ? VG_ETOOBIG : vg_membudget_grow(acct, out, room, false);
        if (rc != 0) {
            break;
        }
        z.next_out = out->data + out->len;
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
    vg_membudget_give(acct, VG__INFLATE_MEM);
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
    vg_buf_init(plain, 0);
    if (rq->too_big) {
        snprintf(err, sizeof(err), "request body larger than %zu bytes", c->o.max_body);
        return vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
    }
    if (rq->refused != 0) {
        return vg__collector_refuse(rq, rq->refused);
    }
    *answered = false;
    if (!rq->gzip) {
        *p = rq->body.data != NULL ? (const char *)rq->body.data : "";
        *len = rq->body.len;
        return MHD_YES;
    }
    /* One byte of room past the limit tells "exactly the limit" from "over it". The output is
     * taken from the budget as it grows, and the body as sent is dropped once inflated. */
    vg_buf_init(plain, c->o.max_body + 1);
    rc = vg__gunzip(rq->body.data, rq->body.len, plain, &rq->acct);
    vg__collector_body_release(rq);
    if (rc == 0 && plain->len > c->o.max_body) {
        rc = VG_ETOOBIG;
    }
    if (rc != 0) {
        *answered = true;
        vg_membudget_give(&rq->acct, plain->cap);
        vg_buf_cleanup(plain);
        if (rc > 0) {
            return vg__collector_refuse(rq, rc);
        }
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

/* Keep n more body bytes, or mark the request too big (413) or refused by the budget. Storage
 * grows by doubling up to the declared length (body.max, set from Content-Length) or
 * --max-body, each growth taken from the budget first. */
void
vg__collector_body_add(struct vg__req *rq, const char *data, size_t n)
{
    int rc;

    if (rq->too_big || rq->refused != 0) {
        return;
    }
    rc = vg_membudget_grow(&rq->acct, &rq->body, n, false);
    if (rc == VG_ETOOBIG) {
        rq->too_big = true;
    } else if (rc != 0) {
        rq->refused = rc;
    }
    if (rc != 0) {
        vg__collector_body_release(rq);
        return;
    }
    memcpy(rq->body.data + rq->body.len, data, n);
    rq->body.len += n;
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
    struct vg_jsonmem jm;
    uint8_t rnd[VG_REPORT_RANDOM_BYTES];
    char err[256], secret[VG_REPORT_ID_MAX];
    json_t *ans;
    int rc;

    /* Parsed in an arena taken from the request's account, like the measurements. */
    vg_jsonmem_begin(&jm, &rq->acct, VG_COLLECTOR_PARSE_MAX);
    rc = vg_ingest_parse_open(body, len, &op, err, sizeof(err));
    vg_jsonmem_end(&jm, 0);
    if (jm.refused != 0) {
        return vg__collector_refuse(rq, jm.refused);
    }
    if (rc == 0 && jm.over) {
        rc = VG_ETOOBIG;
        snprintf(err, sizeof(err), "the body is too large to read");
    }
    if (rc < 0) {
        return vg__collector_error(
            rq, vg_jsonmem_toobig(&jm) ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST, err);
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
 * 404/403/503. A report opened before report secrets (legacy) is found by its one id, one opened
 * before ids were letters and digits only by its public id's older form.
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
    /* A report opened before report ids were OONI's six fields: its public id's older form. */
    if (rc == VG_STORE_ENOTFOUND && vg_ingest_report_public_legacy(rq->id, pub, sizeof(pub)) == 0) {
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

/*
 * The measurement of a POST /report/{id} body, parsed in an arena taken from the request's
 * account; its text (and the store's compressed copy of it) stays taken: 2 * (u->len + 1)
 * bytes. 0, a negative code with err (*toobig: over the JSON limits or the parse's cap), or a
 * positive VG_MEMBUDGET_BUSY / _TOOBIG.
 */
static int
vg__submit_parse(struct vg__req *rq, const char *body, size_t len,
                 const struct vg_store_report *rep, struct vg_ingest *u, bool *toobig, char *err,
                 size_t errlen)
{
    struct vg_ingest_policy pol = vg__policy(rq);
    int64_t now_us = vg_collector_now_us();
    struct vg_jsonmem jm;
    int rc, why;

    vg_jsonmem_begin(&jm, &rq->acct, VG_COLLECTOR_PARSE_MAX);
    rc = vg_ingest_parse_submit(body, len, rep, now_us, u, err, errlen);
    if (rc == 0 && (rc = vg_ingest_apply(u, &pol, now_us, err, errlen)) < 0) {
        vg_ingest_cleanup(u); /* refused by the policy (time, provenance) */
    } else if (rc == 0 && vg_jsonmem_failed(&jm)) {
        vg_ingest_cleanup(u); /* a refused allocation was survived: not stored */
        rc = VG_ETOOBIG;
        snprintf(err, errlen, "measurement too large to read: its parse needs more than %d MiB",
                 VG_COLLECTOR_PARSE_MAX >> 20);
    }
    vg_jsonmem_end(&jm, rc == 0 ? u->len + 1 : 0);
    if (jm.refused != 0) {
        return jm.refused;
    }
    *toobig = vg_jsonmem_toobig(&jm);
    if (rc == 0) {
        why = vg_membudget_take(&rq->acct, u->len + 1);
        if (why != 0) {
            vg_membudget_give(&rq->acct, u->len + 1);
            vg_ingest_cleanup(u);
            return why;
        }
        why = vg__collector_analyse(&rq->an, &rq->acct, u);
        if (why != 0) {
            vg_membudget_give(&rq->acct, 2 * (u->len + 1));
            vg_ingest_cleanup(u);
            return why;
        }
    }
    return rc;
}

/* POST /report/{id}: one measurement, answered once it is committed. */
enum MHD_Result
vg__collector_submit(struct vg__req *rq, const char *body, size_t len)
{
    struct vg_store_report rep;
    struct vg_ingest u;
    struct timespec t0;
    char err[512], uid[1][VG_UID_MAX];
    enum MHD_Result ret;
    bool answered, dup, toobig = false;
    int rc;

    ret = vg__report(rq, &rep, &answered);
    if (answered) {
        return ret;
    }
    if (rep.closed) {
        return vg__collector_error(rq, MHD_HTTP_CONFLICT, "the report is closed; open a new one");
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = vg__submit_parse(rq, body, len, &rep, &u, &toobig, err, sizeof(err));
    if (rc > 0) {
        return vg__collector_refuse(rq, rc);
    }
    if (rc < 0) {
        vg__collector_count_ingest(rq->c, 0, 0, 1, -1);
        return vg__collector_error(rq, toobig ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST,
                                   err);
    }
    rc = vg_store_insert(rq->c->o.store, &u.row, 1, uid);
    dup = rc >= 0 && strcmp(uid[0], u.row.measurement_uid) != 0;
    vg_membudget_give(&rq->acct, 2 * (u.len + 1));
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

/* The answer of a bulk upload as it is made: its two lists, their storage taken from acct. */
struct vg__collector_bulk {
    struct vg_buf rejected, uids, dups; /* the lists' items, comma-separated */
    struct vg_memacct *acct;
    int refused; /* acct refused room for the answer (VG_MEMBUDGET_BUSY/_TOOBIG): stop */
};

/* Append ",item" (no comma first) to list. */
static void
vg__bulk_put(struct vg__collector_bulk *b, struct vg_buf *list, const char *item, size_t n)
{
    int rc;

    if (b->refused != 0) {
        return;
    }
    rc = vg_membudget_grow(b->acct, list, n + 1, false);
    if (rc != 0) {
        b->refused = rc > 0 ? rc : VG_MEMBUDGET_TOOBIG;
        return;
    }
    if (list->len > 0) {
        list->data[list->len++] = ',';
    }
    memcpy(list->data + list->len, item, n);
    list->len += n;
}

static void
vg__bulk_line(const struct vg_collector_line *l, void *arg)
{
    struct vg__collector_bulk *b = arg;
    json_t *j;
    char *text;

    if (l->uid != NULL) {
        char item[VG_UID_MAX + 2];
        int n = snprintf(item, sizeof(item), "\"%s\"", l->uid); /* [A-Za-z0-9_.-]: no escapes */

        vg__bulk_put(b, &b->uids, item, (size_t)n);
        if (strcmp(l->uid, l->row->measurement_uid) != 0) { /* stored already: its uid */
            n = snprintf(item, sizeof(item), "%zu", l->line);
            vg__bulk_put(b, &b->dups, item, (size_t)n);
        }
        return;
    }
    /* jansson writes the item, as it would the whole answer (an error that is not valid
     * UTF-8 makes no item) */
    j = json_pack("{s:I, s:s}", "line", (json_int_t)l->line, "error", l->error);
    text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text != NULL) {
        vg__bulk_put(b, &b->rejected, text, strlen(text));
    }
    free(text);
    json_decref(j);
}

/* {"accepted":N,"duplicates":N,"rejected":[...],"uids":[...],"duplicate_lines":[...]} from b, as
 * json_dumps would have written it (*len bytes, NUL-terminated, for free()); NULL when acct refused
 * the room. */
static char *
vg__bulk_answer(struct vg__collector_bulk *b, const struct vg_collector_stats *st, size_t *len)
{
    static const char mid[] = "],\"uids\":[", mid2[] = "],\"duplicate_lines\":[", tail[] = "]}";
    char head[96];
    int n = snprintf(head, sizeof(head), "{\"accepted\":%zu,\"duplicates\":%zu,\"rejected\":[",
                     st->accepted, st->accepted - st->stored);
    size_t total = (size_t)n + b->rejected.len + sizeof(mid) - 1 + b->uids.len + sizeof(mid2) - 1 +
                   b->dups.len + sizeof(tail);
    struct vg_buf out;
    char *p;

    vg_buf_init(&out, total);
    b->refused = b->refused != 0 ? b->refused : vg_membudget_grow(b->acct, &out, total, true);
    if (b->refused != 0) {
        vg_membudget_give(b->acct, out.cap);
        vg_buf_cleanup(&out);
        return NULL;
    }
    p = (char *)out.data;
    memcpy(p, head, (size_t)n);
    p += n;
    if (b->rejected.len > 0) {
        memcpy(p, b->rejected.data, b->rejected.len);
        p += b->rejected.len;
    }
    memcpy(p, mid, sizeof(mid) - 1);
    p += sizeof(mid) - 1;
    if (b->uids.len > 0) {
        memcpy(p, b->uids.data, b->uids.len);
        p += b->uids.len;
    }
    memcpy(p, mid2, sizeof(mid2) - 1);
    p += sizeof(mid2) - 1;
    if (b->dups.len > 0) {
        memcpy(p, b->dups.data, b->dups.len);
        p += b->dups.len;
    }
    memcpy(p, tail, sizeof(tail)); /* with its NUL */
    /* Given back here, taken again while the answer is sent (vg__collector_reply). */
    vg_membudget_give(b->acct, out.cap);
    *len = total - 1;
    return (char *)out.data;
}

/* The bulk body's lines within the limits: fewer than VG_COLLECTOR_BULK_LINES, each within the
 * JSON limits (nothing parsed yet). Answers and returns true on a refusal. */
static bool
vg__bulk_refuse(struct vg__req *rq, const char *body, size_t len, enum MHD_Result *ret)
{
    size_t lines = 0, line = 1;
    char err[200], why[160];

    for (const char *p = body; (p = memchr(p, '\n', len - (size_t)(p - body))) != NULL; p++) {
        lines++;
    }
    if (lines >= VG_COLLECTOR_BULK_LINES) {
        snprintf(err, sizeof(err), "more than %d lines: split the upload", VG_COLLECTOR_BULK_LINES);
        *ret = vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
        return true;
    }
    if (vg__blank(body, len)) {
        *ret =
            vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, "empty body: one measurement per line");
        return true;
    }
    for (size_t off = 0; off < len; line++) {
        const char *p = body + off, *nl = memchr(p, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - p) : len - off;
        struct vg_jsonmem_shape shape;
        bool bad;

        off += n + 1;
        if (n > VG_STORE_MEAS_MAX) {
            continue; /* refused unread, on its own line of the answer */
        }
        bad = vg_jsonmem_check(p, n, VG_COLLECTOR_JSON_VALUES, VG_COLLECTOR_JSON_DEPTH, &shape, why,
                               sizeof(why)) < 0;
        if (!bad && vg_jsonmem_estimate(n, &shape) > VG_COLLECTOR_PARSE_MAX) {
            snprintf(why, sizeof(why), "JSON whose parse may need more than %d MiB",
                     VG_COLLECTOR_PARSE_MAX >> 20);
            bad = true;
        }
        if (bad) {
            snprintf(err, sizeof(err), "line %zu: %s", line, why);
            *ret = vg__collector_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, err);
            return true;
        }
    }
    return false;
}

/* POST /api/v1/bulk: JSON Lines, each line a measurement; per-line results once committed. */
enum MHD_Result
vg__collector_bulk(struct vg__req *rq, const char *body, size_t len)
{
    struct vg__collector_bulk b = {.acct = &rq->acct};
    struct vg_ingest_policy pol = vg__policy(rq);
    struct vg_collector_stats st;
    struct timespec t0;
    enum MHD_Result ret;
    char *text = NULL;
    size_t n = 0;
    int rc;

    if (vg__bulk_refuse(rq, body, len, &ret)) {
        return ret;
    }
    vg_buf_init(&b.rejected, SIZE_MAX / 2);
    vg_buf_init(&b.uids, SIZE_MAX / 2);
    vg_buf_init(&b.dups, SIZE_MAX / 2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = vg__collector_ingest(rq->c->o.store, body, len, 1, vg_collector_now_us(), &pol,
                              vg__bulk_line, &b, &st, &rq->acct, &rq->an, &b.refused);
    if (rc == 0) {
        vg__collector_count_ingest(rq->c, st.stored, st.accepted - st.stored, st.rejected,
                                   vg_http_since(&t0));
        text = vg__bulk_answer(&b, &st, &n);
        rc = text == NULL ? b.refused : 0;
    }
    vg_membudget_give(&rq->acct, b.rejected.cap + b.uids.cap + b.dups.cap);
    vg_buf_cleanup(&b.rejected);
    vg_buf_cleanup(&b.uids);
    vg_buf_cleanup(&b.dups);
    if (rc > 0) {
        return vg__collector_refuse(rq, rc);
    }
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot store the measurements");
    }
    snprintf(rq->extra, sizeof(rq->extra), "accepted=%zu rejected=%zu", st.accepted, st.rejected);
    return vg__collector_reply(rq, MHD_HTTP_OK, "application/json", text, n, true);
}
