/* SPDX-License-Identifier: MIT */
/*
 * collector_query.c - the collector's routes that read (collector_impl.h): the query API
 * (GET /api/v1/measurements, /aggregation, /targets; api.h), one raw measurement, the embedded
 * dashboard and the health check.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "collector.h"
#include "collector_impl.h"
#include "dashboard.h"
#include "ingest.h"
#include "store.h"
#include "util/mem.h"
#include "util/str.h"

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

/* An Accept header that names text/csv (any case, with parameters), unless with q=0. */
static bool
vg__collector_accepts_csv(const char *accept)
{
    for (const char *p = accept; *p != '\0';) {
        size_t len = strcspn(p, ",");
        size_t skip = strspn(p, " \t");
        const char *t = p + skip;
        size_t tl = len > skip ? len - skip : 0;

        if (tl >= 8 && vg_strncaseeq(t, "text/csv", 8) &&
            (tl == 8 || t[8] == ';' || t[8] == ' ' || t[8] == '\t')) {
            const char *qv = NULL;
            size_t ql;

            for (size_t k = 8; k + 2 < tl; k++) {
                if ((t[k] == 'q' || t[k] == 'Q') && t[k + 1] == '=') {
                    qv = t + k + 2;
                }
            }
            if (qv == NULL) {
                return true;
            }
            ql = strcspn(qv, ",; \t");
            return strspn(qv, "0.") != ql; /* q=0, q=0.0, q=0.000: refused */
        }
        p += len;
        p += *p == ',' ? 1 : 0;
    }
    return false;
}

enum MHD_Result
vg__collector_query(struct vg__req *rq, enum vg_api_route route)
{
    struct vg__args a = {.n = 0};
    struct vg_api_query *q;
    const char *type, *accept;
    char err[256], *body, next[VG_API_CURSOR_MAX + 1];
    enum MHD_Result ret;
    size_t len;
    int rc;

    (void)MHD_get_connection_values_n(rq->conn, MHD_GET_ARGUMENT_KIND, vg__collect_arg, &a);
    if (a.overflow) {
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, "too many query parameters");
    }
    if (a.nul) {
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST,
                                   "a query parameter contains a NUL byte");
    }
    q = vg_xmalloc(sizeof(*q));
    if (vg_api_parse(route, a.names, a.values, a.n, q, err, sizeof(err)) < 0) {
        free(q);
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    /* Without format=, a client that asks for text/csv (Accept) gets CSV. */
    accept = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (!q->format_set && accept != NULL && vg__collector_accepts_csv(accept)) {
        q->csv = true;
    }
    rc = vg_api_run(rq->c->o.store, route, q, &body, &len, &type, next, sizeof(next), err,
                    sizeof(err));
    free(q);
    if (rc == VG_EINVAL || rc == VG_ETOOBIG) {
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot run the query");
    }
    rq->next_cursor = strncmp(type, "text/csv", 8) == 0 ? next : NULL;
    ret = vg__collector_reply(rq, MHD_HTTP_OK, type, body, len, true);
    rq->next_cursor = NULL;
    return ret;
}

/* GET /api/v1/incident: the incident report, HTML (inline) or JSON; 404 when nothing matched. */
enum MHD_Result
vg__collector_incident(struct vg__req *rq)
{
    struct vg__args a = {.n = 0};
    struct vg_api_query *q;
    const char *type = NULL;
    char err[256], fname[128], disp[160], *body = NULL;
    enum MHD_Result ret;
    size_t len = 0;
    int rc;

    (void)MHD_get_connection_values_n(rq->conn, MHD_GET_ARGUMENT_KIND, vg__collect_arg, &a);
    if (a.overflow || a.nul) {
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST,
                                   a.nul ? "a query parameter contains a NUL byte"
                                         : "too many query parameters");
    }
    q = vg_xmalloc(sizeof(*q));
    if (vg_api_parse(VG_API_INCIDENT, a.names, a.values, a.n, q, err, sizeof(err)) < 0) {
        free(q);
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    rc = vg_api_incident(rq->c->o.store, q, &body, &len, &type, fname, sizeof(fname), err,
                         sizeof(err));
    free(q);
    if (rc == VG_ENOTFOUND) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, err);
    }
    if (rc == VG_EINVAL || rc == VG_ETOOBIG) {
        return vg__collector_error(rq, MHD_HTTP_BAD_REQUEST, err);
    }
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot read the measurements");
    }
    snprintf(disp, sizeof(disp), "inline; filename=\"%s\"", fname);
    rq->disposition = disp;
    ret = vg__collector_reply(rq, MHD_HTTP_OK, type, body, len, true);
    rq->disposition = NULL;
    return ret;
}

/* GET /api/v1/measurement/{uid}: the measurement exactly as stored. */
enum MHD_Result
vg__collector_raw(struct vg__req *rq)
{
    char *text;
    size_t len;
    int rc;

    if (!vg_ingest_uid_is_valid(rq->id)) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "unknown measurement_uid");
    }
    rc = vg_store_get_raw(rq->c->o.store, rq->id, &text, &len);
    if (rc == VG_STORE_ENOTFOUND) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "unknown measurement_uid");
    }
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot read the measurement");
    }
    return vg__collector_reply(rq, MHD_HTTP_OK, "application/json", text, len, true);
}

/* GET /api/v1/measurement/{uid}/analysis: the row of the measurement (as listed), with who
 * decided its verdict and the analyser's evidence; the measurement itself stays as stored. */
enum MHD_Result
vg__collector_analysis(struct vg__req *rq)
{
    json_t *row;
    int rc;

    if (!vg_ingest_uid_is_valid(rq->id)) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "unknown measurement_uid");
    }
    rc = vg_store_get_row(rq->c->o.store, rq->id, &row);
    if (rc == VG_STORE_ENOTFOUND) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "unknown measurement_uid");
    }
    if (rc < 0) {
        return vg__collector_store_error(rq, rc, "cannot read the measurement");
    }
    return vg__collector_json(rq, row);
}

/* GET / and /assets/...: the embedded dashboard (dashboard.h); rq->path is the URL, which an
 * asset path never needs escaped. */
enum MHD_Result
vg__collector_dashboard(struct vg__req *rq)
{
    const struct vg_dashboard_asset *a = vg_dashboard_find(rq->path);
    enum MHD_Result ret;
    int status = -1;

    if (a == NULL) {
        return vg__collector_error(rq, MHD_HTTP_NOT_FOUND, "not found (see docs/dashboard.md)");
    }
    ret = vg_dashboard_respond(rq->conn, a, VG__SERVER, &status);
    if (status >= 0) {
        vg__collector_count(rq, (unsigned)status);
    }
    return ret;
}

enum MHD_Result
vg__collector_health(struct vg__req *rq)
{
    /* A lookup that reaches the database: "not found" proves it answers. */
    int rc = vg_store_report_get(rq->c->o.store, "healthz", NULL);

    if (rc < 0 && rc != VG_STORE_ENOTFOUND) {
        return vg__collector_store_error(rq, rc, "unhealthy");
    }
    return vg__collector_json(rq,
                              json_pack("{s:s, s:s, s:s}", "status", "ok", "version", VG_VERSION,
                                        "database", vg_store_backend(rq->c->o.store)));
}
