/* SPDX-License-Identifier: MIT */
/*
 * api.h - the collector's query API (docs/api.md): query parameters checked into store filters,
 * and store results written as JSON or CSV. The parsing and the CSV writer are pure; only
 * vg_api_run reads the store.
 */
#ifndef VG_SERVER_API_H
#define VG_SERVER_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util/err.h"

#define VG_API_CURSOR_MAX 512 /* bytes of a next_cursor handed back */
#define VG_API_LIMIT_DEF  100 /* rows per page when limit is not given */

enum vg_api_route {
    VG_API_MEASUREMENTS, /* GET /api/v1/measurements */
    VG_API_AGGREGATION,  /* GET /api/v1/aggregation */
    VG_API_TARGETS,      /* GET /api/v1/targets */
    VG_API_CERTIFICATES, /* GET /api/v1/certificates */
    VG_API_INCIDENT,     /* GET /api/v1/incident (vg_api_incident) */
    VG_API_ALERTS,       /* GET /api/v1/alerts */
};

/* A checked query; f's strings point into the arrays below (copy with vg_api_query_copy). */
struct vg_api_query {
    struct vg_store_filter f;
    char input[VG_STORE_INPUT_MAX + 1];
    char domain[256];
    char probe_cc[3];
    char x_verdict[16];
    char provenance[VG_STORE_PROV_MAX + 1];
    bool has_cursor;
    char cursor[VG_API_CURSOR_MAX + 1];
    unsigned limit;
    int64_t since_id; /* alerts: the events after this id */
    enum vg_store_axis axis_x, axis_y;
    bool csv;
    bool html;       /* format=html (the incident report's default) */
    bool format_set; /* format= was given (else Accept: text/csv may ask for CSV) */
};

/*
 * Check the query parameters of route (names[i] = values[i], percent-decoded, n pairs): unknown
 * or repeated names, malformed values, since >= until, an axis twice... give VG_EINVAL and a
 * message in err. Empty values count as absent.
 */
VG_MUST_USE int vg_api_parse(enum vg_api_route route, const char *const *names,
                             const char *const *values, size_t n, struct vg_api_query *q, char *err,
                             size_t errlen);

/*
 * A time parameter: "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDThh:mm[:ss][Z]" or
 * "YYYY-MM-DD hh:mm:ss", all UTC; *out gets seconds since the epoch.
 */
VG_MUST_USE int vg_api_parse_time(const char *s, int64_t *out);

/* The aggregation result of vg_store_aggregate as CSV (RFC 4180, CRLF lines, header first). */
VG_MUST_USE int vg_api_aggregation_csv(const json_t *agg, enum vg_store_axis x,
                                       enum vg_store_axis y, char **out, size_t *len);

/*
 * A page of measurements or targets ({"results": [...], ...}) as CSV: a header with every key of
 * the rows in the order it first appears (fallback, NULL-terminated, when there is no row), one
 * line per row (RFC 4180, CRLF); booleans true/false, null empty, objects as JSON; texts a
 * spreadsheet would run as formulas get a leading apostrophe. VG_ETOOBIG past 64 MiB.
 */
VG_MUST_USE int vg_api_rows_csv(const json_t *page, const char *const *fallback, char **out,
                                size_t *len);

/*
 * v as text, byte for byte what json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(prec)) gives
 * (prec 1..17; 17 is jansson's default), faster on the big answers (1,000 targets with their
 * windows). *out is malloc'd (free() it), NUL-terminated, *len bytes. 0 or VG_ETOOBIG.
 */
VG_MUST_USE int vg_api_dump(const json_t *v, int prec, char **out, size_t *len);

/*
 * Run q against the store. On success *body is the response (caller frees), *type its
 * Content-Type, and next (next_cap bytes, 0: none) the page's next_cursor ("" on the last page
 * or for an aggregation): a CSV answer carries it in a header. Errors are the store's (VG_EINVAL
 * bad cursor, VG_ETOOBIG too many groups, VG_STORE_EUNAVAIL, ...), with err set.
 */
/*
 * GET /api/v1/incident: the incident report (server/incident.h) of q (input required; network,
 * since/until or window, provenance, trusted) from the store, as HTML (unless format=json):
 * *body (caller frees), *type, and fname[fcap] a file name for Content-Disposition. Links to
 * the raw measurements are relative (/api/v1/measurement/UID). Errors: VG_ENOTFOUND (nothing
 * matched; err says so), the store's.
 */
VG_MUST_USE int vg_api_incident(struct vg_store *s, const struct vg_api_query *q, char **body,
                                size_t *len, const char **type, char *fname, size_t fcap, char *err,
                                size_t errlen);

VG_MUST_USE int vg_api_run(struct vg_store *s, enum vg_api_route route,
                           const struct vg_api_query *q, char **body, size_t *len,
                           const char **type, char *next, size_t next_cap, char *err,
                           size_t errlen);

#endif
