/* SPDX-License-Identifier: MIT */
/*
 * collector_impl.h - private to the collector (server/collector*.c): the server object, one
 * request, and the functions its parts share. collector.c owns the server and every request
 * (created when its headers arrive, freed when libmicrohttpd reports it complete);
 * collector_upload.c fills and releases request bodies; the route handlers borrow the request
 * and answer it exactly once.
 */
#ifndef VG_SERVER_COLLECTOR_IMPL_H
#define VG_SERVER_COLLECTOR_IMPL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "api.h"
#include "collector.h"
#include "http_util.h"
#include "membudget.h"
#include "store.h"
#include "util/buf.h"

#define VG__SERVER            "vigie-collector/" VG_VERSION
#define VG__EXTRA_MAX         160 /* the request log's last column */
#define VG__COLLECTOR_N_CODES 12  /* HTTP statuses the metrics count (collector.c vg__codes) */

enum vg__route {
    VG__R_OPEN,
    VG__R_SUBMIT,
    VG__R_CLOSE,
    VG__R_BULK,
    VG__R_LIST,
    VG__R_RAW,
    VG__R_ANALYSIS,
    VG__R_AGG,
    VG__R_TARGETS,
    VG__R_CERTS,
    VG__R_INCIDENT,
    VG__R_ALERTS,
    VG__R_METRICS,
    VG__R_HEALTH,
    VG__R_DASHBOARD,
    VG__R_OTHER,
    VG__R_N
};

struct vg_collector {
    struct vg_collector_opts o;
    struct vg_http_server srv;
    pthread_mutex_t mu; /* everything below */
    bool stopping;
    unsigned inflight;
    unsigned long long requests[VG__R_N][VG__COLLECTOR_N_CODES];
    unsigned long long ingested, duplicates, rejected, db_errors;
    struct vg_http_hist latency;
    struct vg_membudget mem; /* what uploads hold (--max-memory); its own lock */
};

/* One HTTP request (libmicrohttpd's per-request closure). */
/* The analyser of one thread's uploads (ingest.h vg_ingest_analyze: vg_analyzer is not
 * thread-safe, and keeps its buffers from one measurement to the next) and the memory the
 * upload budget counts for it. A request's lives on the request (one connection thread at a
 * time) and is freed when it completes; `vigie import` keeps one per call. */
struct vg_ingest;
struct vg_analyzer;

struct vg__analyser {
    struct vg_analyzer *a; /* made on first use */
    size_t charged;        /* taken from the account for it */
};

struct vg__req {
    struct vg_collector *c;
    struct MHD_Connection *conn;
    struct timespec t0;
    char method[16];
    char path[VG_HTTP_PATH_LOG];
    enum vg__route route;
    char id[VG_UID_MAX];                    /* the report_id or measurement_uid of the path */
    char provenance[VG_STORE_PROV_MAX + 1]; /* an upload's: its credential's name, or
                                               VG_STORE_ANONYMOUS (collector.c) */
    const char *deny; /* refused for its credential: the 401's message (static), answered once
                         the body is read and dropped (an early answer can be lost to a reset
                         while the client is still sending) */
    size_t dropped;   /* body bytes of a denied request read and dropped */
    bool gzip;
    bool too_big; /* the body passed --max-body: 413 */
    int refused;  /* the budget refused the body: VG_MEMBUDGET_BUSY (503) or _TOOBIG (413) */
    struct vg_memacct acct;  /* everything the request holds: its body, its work, its answer */
    struct vg_buf body;      /* storage taken from acct (body.cap) */
    struct vg__analyser an;  /* vigie's analysis of what it uploads (its memory from acct) */
    int status;              /* -1 until a response is queued */
    const char *next_cursor; /* a CSV page's next cursor, sent as X-Next-Cursor (borrowed for
                                the reply's call), or NULL */
    const char *disposition; /* an incident report's Content-Disposition (borrowed for the
                                reply's call), or NULL */
    char extra[VG__EXTRA_MAX];
};

/* ---- responses (collector.c) ---- */

/* Record the status of rq's answer for the metrics (when queued). */
void vg__collector_count(struct vg__req *rq, unsigned code);
/* Answer rq: body[len] of type (owned: freed by libmicrohttpd after sending). */
enum MHD_Result vg__collector_reply(struct vg__req *rq, unsigned code, const char *type, char *body,
                                    size_t len, bool owned);
/* Answer with {"error": msg}. */
enum MHD_Result vg__collector_error(struct vg__req *rq, unsigned code, const char *msg);
/* Answer 200 with j (reference taken). */
enum MHD_Result vg__collector_json(struct vg__req *rq, json_t *j);
/* A store failure as an HTTP answer: 503 when the database is unavailable, and so on. */
enum MHD_Result vg__collector_store_error(struct vg__req *rq, int rc, const char *what);
/* Count stored, duplicate and rejected measurements, and the ingest latency (< 0: none). */
void vg__collector_count_ingest(struct vg_collector *c, size_t stored, size_t duplicates,
                                size_t rejected, double latency);

/* ---- uploads (collector_upload.c) ---- */

/* Keep n more body bytes, or mark the request too big (413) or refused by the budget. */
void vg__collector_body_add(struct vg__req *rq, const char *data, size_t n);
/* Give the body's bytes back to the collector-wide budget and drop the body. */
void vg__collector_body_release(struct vg__req *rq);
/* The request body, gunzipped into plain if need be, in *p and *len (borrowed from rq or plain,
 * whose storage is taken from rq->acct: the caller gives plain->cap back and cleans it up); or
 * an error answered (*answered). The gzip body as sent is released once inflated. */
enum MHD_Result vg__collector_body(struct vg__req *rq, struct vg_buf *plain, const char **p,
                                   size_t *len, bool *answered);
/* Answer a refusal of the budget (VG_MEMBUDGET_BUSY: 503; _TOOBIG: 413). */
enum MHD_Result vg__collector_refuse(struct vg__req *rq, int why);
/*
 * vg_collector_ingest_lines for one request: memory taken from acct (NULL: none), and stopped
 * after a committed chunk once *stop is set (by cb). Returns as vg_collector_ingest_lines does,
 * or a positive VG_MEMBUDGET_BUSY / _TOOBIG (from acct, or *stop): the chunks before are
 * committed and were reported, nothing after them was.
 */
int vg__collector_ingest(struct vg_store *s, const char *data, size_t len, size_t first_line,
                         int64_t received_us, const struct vg_ingest_policy *pol,
                         vg_collector_line_cb cb, void *arg, struct vg_collector_stats *st,
                         struct vg_memacct *acct, struct vg__analyser *an, const int *stop);
/*
 * Give u vigie's analysis when it needs one (vg_ingest_analyze) with an's analyser, first taking
 * what the analyser may keep for a measurement of u's size from acct (NULL: not counted). 0, or
 * a positive VG_MEMBUDGET_BUSY / _TOOBIG (u left as it was).
 */
int vg__collector_analyse(struct vg__analyser *an, struct vg_memacct *acct, struct vg_ingest *u);
/* Free an's analyser and give its memory back to acct (NULL: not counted). */
void vg__collector_analyser_free(struct vg__analyser *an, struct vg_memacct *acct);
/* POST /report, /report/{id}, /report/{id}/close, /api/v1/bulk. */
enum MHD_Result vg__collector_open(struct vg__req *rq, const char *body, size_t len);
enum MHD_Result vg__collector_submit(struct vg__req *rq, const char *body, size_t len);
enum MHD_Result vg__collector_close(struct vg__req *rq);
enum MHD_Result vg__collector_bulk(struct vg__req *rq, const char *body, size_t len);

/* ---- reads (collector_query.c) ---- */

/* GET /api/v1/measurements, /aggregation, /targets. */
enum MHD_Result vg__collector_query(struct vg__req *rq, enum vg_api_route route);
/* GET /api/v1/measurement/{uid}, the dashboard, /healthz. */
enum MHD_Result vg__collector_raw(struct vg__req *rq);
/* GET /api/v1/incident: the incident report (api.h vg_api_incident). */
enum MHD_Result vg__collector_incident(struct vg__req *rq);
/* GET /api/v1/measurement/{uid}/analysis: its stored row, vigie's verdict and evidence. */
enum MHD_Result vg__collector_analysis(struct vg__req *rq);
enum MHD_Result vg__collector_dashboard(struct vg__req *rq);
enum MHD_Result vg__collector_health(struct vg__req *rq);

#endif
