/* SPDX-License-Identifier: MIT */
/*
 * api.c - the query API's parameters and output formats (api.h, docs/api.md). Parameter names
 * follow OONI's API (api.ooni.io /api/v1/measurements and /api/v1/aggregation) where they exist.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meas/record_read.h"
#include "proto/json.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__JSON_MAX     (SIZE_MAX / 2)     /* none, as json_dumps */
#define VG__CSV_MAX      (64 * 1024 * 1024) /* an aggregation is at most 100000 groups */
#define VG__CSV_COLS_MAX 64                 /* columns of a page of measurements or targets */

enum vg__param {
    VG__P_INPUT,
    VG__P_DOMAIN,
    VG__P_CC,
    VG__P_ASN,
    VG__P_VERDICT,
    VG__P_SINCE,
    VG__P_UNTIL,
    VG__P_CURSOR,
    VG__P_LIMIT,
    VG__P_AXIS_X,
    VG__P_AXIS_Y,
    VG__P_FORMAT,
    VG__P_PROVENANCE,
    VG__P_TRUSTED,
    VG__P_WINDOW,
    VG__P_SINCE_ID,
    VG__P_N
};

/* The filters take the measurement's own key names (and OONI's API's). */
static const char *const vg__param_names[VG__P_N] = {
    VG_REC_KEY_INPUT,
    "domain",
    VG_REC_KEY_PROBE_CC,
    VG_REC_KEY_PROBE_ASN,
    VG_REC_KEY_X_VERDICT,
    "since",
    "until",
    "cursor",
    "limit",
    "axis_x",
    "axis_y",
    "format",
    "provenance",
    "trusted",
    "window",
    "since_id",
};

/* Which parameters each route takes (bit per enum vg__param). */
#define VG__BIT(p) (1u << (p))
#define VG__P_FILTER                                                                           \
    (VG__BIT(VG__P_DOMAIN) | VG__BIT(VG__P_CC) | VG__BIT(VG__P_ASN) | VG__BIT(VG__P_VERDICT) | \
     VG__BIT(VG__P_SINCE) | VG__BIT(VG__P_UNTIL) | VG__BIT(VG__P_PROVENANCE) |                 \
     VG__BIT(VG__P_TRUSTED))
#define VG__P_PAGING (VG__BIT(VG__P_CURSOR) | VG__BIT(VG__P_LIMIT))
static const unsigned vg__route_params[] = {
    [VG_API_MEASUREMENTS] =
        VG__P_FILTER | VG__P_PAGING | VG__BIT(VG__P_INPUT) | VG__BIT(VG__P_FORMAT),
    [VG_API_AGGREGATION] =
        VG__P_FILTER | VG__BIT(VG__P_AXIS_X) | VG__BIT(VG__P_AXIS_Y) | VG__BIT(VG__P_FORMAT),
    [VG_API_TARGETS] = VG__P_FILTER | VG__P_PAGING | VG__BIT(VG__P_INPUT) | VG__BIT(VG__P_FORMAT) |
                       VG__BIT(VG__P_WINDOW),
    [VG_API_CERTIFICATES] = (VG__P_FILTER & ~VG__BIT(VG__P_VERDICT) & ~VG__BIT(VG__P_DOMAIN)) |
                            VG__BIT(VG__P_LIMIT) | VG__BIT(VG__P_INPUT),
    [VG_API_INCIDENT] = (VG__P_FILTER & ~VG__BIT(VG__P_VERDICT) & ~VG__BIT(VG__P_DOMAIN)) |
                        VG__BIT(VG__P_INPUT) | VG__BIT(VG__P_WINDOW) | VG__BIT(VG__P_FORMAT),
    [VG_API_ALERTS] = VG__BIT(VG__P_INPUT) | VG__BIT(VG__P_CC) | VG__BIT(VG__P_ASN) |
                      VG__BIT(VG__P_SINCE_ID) | VG__BIT(VG__P_LIMIT),
};

int
vg_api_parse_time(const char *s, int64_t *out)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t y, mo, d, h = 0, mi = 0, se = 0;
    size_t n = strlen(s);
    struct tm tm;
    time_t t;

    VG_ENSURE(n >= 10 && s[4] == '-' && s[7] == '-', VG_EINVAL);
    VG_TRY(vg_parse_u64n(s, 4, 1970, 9999, &y));
    VG_TRY(vg_parse_u64n(s + 5, 2, 1, 12, &mo));
    VG_TRY(vg_parse_u64n(s + 8, 2, 1, 31, &d));
    VG_ENSURE(d <= mdays[mo - 1], VG_EINVAL);
    VG_ENSURE(!(mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))), VG_EINVAL);
    if (n > 10) {
        size_t end = n;

        VG_ENSURE(s[10] == 'T' || s[10] == ' ', VG_EINVAL);
        if (s[n - 1] == 'Z') {
            end = n - 1;
        }
        VG_ENSURE(end == 16 || end == 19, VG_EINVAL);
        VG_ENSURE(s[13] == ':', VG_EINVAL);
        VG_TRY(vg_parse_u64n(s + 11, 2, 0, 23, &h));
        VG_TRY(vg_parse_u64n(s + 14, 2, 0, 59, &mi));
        if (end == 19) {
            VG_ENSURE(s[16] == ':', VG_EINVAL);
            VG_TRY(vg_parse_u64n(s + 17, 2, 0, 59, &se));
        }
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)y - 1900;
    tm.tm_mon = (int)mo - 1;
    tm.tm_mday = (int)d;
    tm.tm_hour = (int)h;
    tm.tm_min = (int)mi;
    tm.tm_sec = (int)se;
    t = timegm(&tm);
    VG_ENSURE(t != (time_t)-1, VG_EINVAL);
    *out = (int64_t)t;
    return 0;
}

/* Printable text without control characters (URLs, domains, cursors). */
static bool
vg__printable(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return false;
        }
    }
    return true;
}

/* "accessible, blocked, ...": the verdicts in the order of the API's answers. */
static void
vg__api_verdict_list(char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < VG_STORE_N_VERDICTS && len < cap; i++) {
        int n = snprintf(out + len, cap - len, "%s%s", i > 0 ? ", " : "",
                         vg_verdict_name(vg_store_verdict_order[i]));

        len += n > 0 ? (size_t)n : 0;
    }
}

static int
vg__api_set(struct vg_api_query *q, enum vg__param p, const char *v, char *err, size_t errlen)
{
    char names[96];
    enum vg_verdict vd;
    uint64_t n;

    switch (p) {
    case VG__P_INPUT:
        if (strlen(v) > VG_STORE_INPUT_MAX || !vg__printable(v)) {
            snprintf(err, errlen, "input must be a URL of at most %d bytes", VG_STORE_INPUT_MAX);
            return VG_EINVAL;
        }
        (void)vg_strlcpy(q->input, v, sizeof(q->input));
        q->f.input = q->input;
        return 0;
    case VG__P_DOMAIN:
        if (strlen(v) >= sizeof(q->domain) || strspn(v, "abcdefghijklmnopqrstuvwxyz"
                                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "0123456789.-_:[]") != strlen(v)) {
            snprintf(err, errlen, "domain must be a host name or address (at most 255 bytes)");
            return VG_EINVAL;
        }
        (void)vg_strlcpy(q->domain, v, sizeof(q->domain));
        vg_str_lower(q->domain);
        q->f.domain = q->domain;
        return 0;
    case VG__P_CC:
        if (strlen(v) != 2 ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2) {
            snprintf(err, errlen, "probe_cc must be a two-letter country code, e.g. IT");
            return VG_EINVAL;
        }
        q->probe_cc[0] = (char)(v[0] & ~0x20);
        q->probe_cc[1] = (char)(v[1] & ~0x20);
        q->probe_cc[2] = '\0';
        q->f.probe_cc = q->probe_cc;
        return 0;
    case VG__P_ASN:
        if ((v[0] == 'A' || v[0] == 'a') && (v[1] == 'S' || v[1] == 's')) {
            v += 2;
        }
        if (vg_parse_u64(v, 0, UINT32_MAX, &n) < 0) {
            snprintf(err, errlen, "probe_asn must be an AS number, e.g. AS3269 or 3269");
            return VG_EINVAL;
        }
        q->f.has_probe_asn = true;
        q->f.probe_asn = (uint32_t)n;
        return 0;
    case VG__P_VERDICT:
        if (vg_verdict_parse(v, &vd)) {
            (void)vg_strlcpy(q->x_verdict, vg_verdict_name(vd), sizeof(q->x_verdict));
            q->f.x_verdict = q->x_verdict;
            return 0;
        }
        vg__api_verdict_list(names, sizeof(names));
        snprintf(err, errlen, "x_verdict must be one of %s", names);
        return VG_EINVAL;
    case VG__P_SINCE:
    case VG__P_UNTIL:
        if (vg_api_parse_time(v, p == VG__P_SINCE ? &q->f.since : &q->f.until) < 0) {
            snprintf(err, errlen,
                     "%s must be a UTC date or time: YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss][Z]",
                     vg__param_names[p]);
            return VG_EINVAL;
        }
        return 0;
    case VG__P_CURSOR:
        if (strlen(v) > VG_API_CURSOR_MAX || !vg__printable(v)) {
            snprintf(err, errlen, "invalid cursor (pass next_cursor back unchanged)");
            return VG_EINVAL;
        }
        (void)vg_strlcpy(q->cursor, v, sizeof(q->cursor));
        q->has_cursor = true;
        return 0;
    case VG__P_LIMIT:
        if (vg_parse_u64(v, 1, VG_STORE_PAGE_MAX, &n) < 0) {
            snprintf(err, errlen, "limit must be a number from 1 to %d", VG_STORE_PAGE_MAX);
            return VG_EINVAL;
        }
        q->limit = (unsigned)n;
        return 0;
    case VG__P_AXIS_X:
    case VG__P_AXIS_Y:
        if (vg_store_axis_parse(v, p == VG__P_AXIS_X ? &q->axis_x : &q->axis_y) < 0) {
            snprintf(err, errlen,
                     "%s must be one of measurement_day, measurement_hour, domain, probe_asn, "
                     "probe_cc, x_verdict",
                     vg__param_names[p]);
            return VG_EINVAL;
        }
        return 0;
    case VG__P_FORMAT:
        q->format_set = true;
        if (strlen(v) == 3 && vg_strncaseeq(v, "csv", 3)) {
            q->csv = true;
        } else if (strlen(v) == 4 && vg_strncaseeq(v, "html", 4)) {
            q->html = true;
        } else if (!(strlen(v) == 4 && vg_strncaseeq(v, "json", 4))) {
            snprintf(err, errlen, "format must be JSON or CSV");
            return VG_EINVAL;
        }
        return 0;
    case VG__P_PROVENANCE:
        if (!vg_store_provenance_ok(v)) {
            snprintf(err, errlen,
                     "provenance must be a credential name (1 to %d characters among A-Z a-z "
                     "0-9 _ . -) or anonymous",
                     VG_STORE_PROV_MAX);
            return VG_EINVAL;
        }
        (void)vg_strlcpy(q->provenance, v, sizeof(q->provenance));
        q->f.provenance = q->provenance;
        return 0;
    case VG__P_TRUSTED:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            snprintf(err, errlen, "trusted must be true (only uploads with a credential) or false");
            return VG_EINVAL;
        }
        q->f.trusted = strcmp(v, "true") == 0;
        return 0;
    case VG__P_WINDOW:
        q->f.window = strcmp(v, "1h") == 0    ? 3600
                      : strcmp(v, "24h") == 0 ? 86400
                      : strcmp(v, "7d") == 0  ? 7 * 86400
                      : strcmp(v, "30d") == 0 ? 30 * 86400
                                              : 0;
        if (q->f.window == 0) {
            snprintf(err, errlen, "window must be 1h, 24h, 7d or 30d");
            return VG_EINVAL;
        }
        return 0;
    case VG__P_SINCE_ID:
        if (vg_parse_u64(v, 0, INT64_MAX, &n) < 0) {
            snprintf(err, errlen, "since_id must be an event id (a number, 0 or more)");
            return VG_EINVAL;
        }
        q->since_id = (int64_t)n;
        return 0;
    case VG__P_N:
        break;
    }
    return VG_EINVAL;
}

int
vg_api_parse(enum vg_api_route route, const char *const *names, const char *const *values, size_t n,
             struct vg_api_query *q, char *err, size_t errlen)
{
    unsigned seen = 0;

    memset(q, 0, sizeof(*q));
    err[0] = '\0';
    q->limit = route == VG_API_CERTIFICATES ? VG_STORE_CERTS_DEF : VG_API_LIMIT_DEF;
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i] != NULL ? values[i] : "";
        char shown[64];
        int p = 0;

        while (p < VG__P_N && strcmp(names[i], vg__param_names[p]) != 0) {
            p++;
        }
        if (p == VG__P_N || (vg__route_params[route] & VG__BIT(p)) == 0) {
            /* The name is the client's: cut and escaped for the message. */
            size_t o = 0;

            for (const char *c = names[i]; *c != '\0' && o + 1 < sizeof(shown); c++) {
                shown[o++] = (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\') ? *c : '?';
            }
            shown[o] = '\0';
            snprintf(err, errlen, "%s parameter '%s'%s",
                     route == VG_API_AGGREGATION && p == VG__P_INPUT ? "unsupported" : "unknown",
                     shown,
                     route == VG_API_AGGREGATION && p == VG__P_INPUT ? " (aggregation is by domain)"
                                                                     : "");
            return VG_EINVAL;
        }
        if (seen & VG__BIT(p)) {
            snprintf(err, errlen, "parameter '%s' given twice", vg__param_names[p]);
            return VG_EINVAL;
        }
        seen |= VG__BIT(p);
        if (v[0] != '\0') {
            VG_TRY(vg__api_set(q, (enum vg__param)p, v, err, errlen));
        }
    }
    if (q->f.since != 0 && q->f.until != 0 && q->f.since >= q->f.until) {
        snprintf(err, errlen, "since must be before until");
        return VG_EINVAL;
    }
    if (q->f.trusted && q->f.provenance != NULL &&
        strcmp(q->f.provenance, VG_STORE_ANONYMOUS) == 0) {
        snprintf(err, errlen, "provenance=anonymous and trusted=true select nothing");
        return VG_EINVAL;
    }
    if (route == VG_API_INCIDENT ? q->csv : q->html) {
        snprintf(err, errlen, "format must be %s",
                 route == VG_API_INCIDENT ? "html or json" : "JSON or CSV");
        return VG_EINVAL;
    }
    if (route == VG_API_INCIDENT && q->f.window != 0 && (q->f.since != 0 || q->f.until != 0)) {
        snprintf(err, errlen, "window or since/until, not both");
        return VG_EINVAL;
    }
    if (route == VG_API_INCIDENT && !q->format_set) {
        q->html = true;
    }
    if ((route == VG_API_CERTIFICATES || route == VG_API_INCIDENT) && q->f.input == NULL) {
        snprintf(err, errlen, "input is required (the target's URL)");
        return VG_EINVAL;
    }
    if (q->axis_y != VG_AXIS_NONE && q->axis_x == VG_AXIS_NONE) {
        snprintf(err, errlen, "axis_y needs axis_x");
        return VG_EINVAL;
    }
    if (q->axis_x != VG_AXIS_NONE && q->axis_x == q->axis_y) {
        snprintf(err, errlen, "axis_x and axis_y must differ");
        return VG_EINVAL;
    }
    return 0;
}

/*
 * One CSV field (RFC 4180 section 2): quoted when it holds a comma, quote or line break. A
 * boolean is true or false, null empty, an object or array its compact JSON. With guard, a text
 * that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
 * gets a leading apostrophe (OWASP's CSV injection advice): uploaded inputs are untrusted.
 */
static int
vg__csv_field(struct vg_buf *b, const json_t *v, bool guard)
{
    char num[32], *dumped = NULL;
    const char *s;
    bool formula = false;
    int rc;

    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
    } else if (json_is_string(v)) {
        s = json_string_value(v);
        formula = guard && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
    } else if (json_is_object(v) || json_is_array(v)) {
        dumped = json_dumps(v, JSON_COMPACT);
        s = dumped != NULL ? dumped : "";
    } else {
        s = "";
    }
    if (strpbrk(s, ",\"\r\n") == NULL) {
        rc = formula ? vg_buf_append(b, "'", 1) : 0;
        if (rc == 0) {
            rc = vg_buf_append(b, s, strlen(s));
        }
        free(dumped);
        return rc;
    }
    rc = vg_buf_append(b, formula ? "\"'" : "\"", formula ? 2 : 1);
    for (; *s != '\0' && rc == 0; s++) {
        rc = *s == '"' ? vg_buf_append(b, "\"\"", 2) : vg_buf_append(b, s, 1);
    }
    if (rc == 0) {
        rc = vg_buf_append(b, "\"", 1);
    }
    free(dumped);
    return rc;
}

/* The CSV text of a table into *out (malloc'ed, NUL-terminated; the caller frees it) and *len: a
 * header line of the ncols columns, then a line per row: the nrows elements of the array rows,
 * or rows itself (one row) when it is not an array. guard: neutralise spreadsheet formulas in
 * the fields (vg__csv_field). VG_ETOOBIG past VG__CSV_MAX. */
static int
vg__csv_table(const json_t *rows, size_t nrows, const char *const *cols, size_t ncols, bool guard,
              char **out, size_t *len)
{
    struct vg_buf b;

    *out = NULL;
    vg_buf_init(&b, VG__CSV_MAX);
    for (size_t c = 0; c < ncols; c++) {
        if (vg_buf_appendf(&b, "%s%s", c > 0 ? "," : "", cols[c]) < 0) {
            goto fail;
        }
    }
    if (vg_buf_append(&b, "\r\n", 2) < 0) {
        goto fail;
    }
    for (size_t r = 0; r < nrows; r++) {
        const json_t *row = json_is_array(rows) ? json_array_get(rows, r) : rows;

        for (size_t c = 0; c < ncols; c++) {
            if ((c > 0 && vg_buf_append(&b, ",", 1) < 0) ||
                vg__csv_field(&b, json_object_get(row, cols[c]), guard) < 0) {
                goto fail;
            }
        }
        if (vg_buf_append(&b, "\r\n", 2) < 0) {
            goto fail;
        }
    }
    if (vg_buf_cstr(&b) == NULL) {
        goto fail;
    }
    *out = (char *)b.data;
    *len = b.len;
    return 0;
fail:
    vg_buf_cleanup(&b);
    return VG_ETOOBIG;
}

int
vg_api_aggregation_csv(const json_t *agg, enum vg_store_axis x, enum vg_store_axis y, char **out,
                       size_t *len)
{
    const char *cols[2 + VG_STORE_N_VERDICTS + 1];
    size_t ncols = 0;
    const json_t *result = json_object_get(agg, "result");

    if (x != VG_AXIS_NONE) {
        cols[ncols++] = vg_store_axis_name(x);
    }
    if (y != VG_AXIS_NONE) {
        cols[ncols++] = vg_store_axis_name(y);
    }
    for (size_t i = 0; i < VG_STORE_N_VERDICTS; i++) {
        cols[ncols++] = vg_verdict_name(vg_store_verdict_order[i]);
    }
    cols[ncols++] = "total";
    return vg__csv_table(result, json_is_array(result) ? json_array_size(result) : 1, cols, ncols,
                         false, out, len);
}

/* The columns of a page of rows: every key, in the order it first appears (empty: fallback). */
static size_t
vg__csv_columns(const json_t *rows, const char *const *fallback, const char **cols, size_t cap)
{
    size_t n = 0;

    for (size_t r = 0; r < json_array_size(rows); r++) {
        const char *key;
        json_t *val;

        json_object_foreach((json_t *)json_array_get(rows, r), key, val)
        {
            size_t c = 0;

            while (c < n && strcmp(cols[c], key) != 0) {
                c++;
            }
            if (c == n && n < cap) {
                cols[n++] = key;
            }
        }
    }
    for (size_t i = 0; n == 0 && fallback[i] != NULL; i++) {
        cols[i] = fallback[i];
        if (fallback[i + 1] == NULL) {
            n = i + 1;
        }
    }
    return n;
}

int
vg_api_rows_csv(const json_t *page, const char *const *fallback, char **out, size_t *len)
{
    const json_t *rows = json_object_get(page, "results");
    const char *cols[VG__CSV_COLS_MAX];
    size_t ncols = vg__csv_columns(rows, fallback, cols, VG__CSV_COLS_MAX);

    return vg__csv_table(rows, json_array_size(rows), cols, ncols, true, out, len);
}

#define VG__DUMP_CACHE 256 /* reals remembered by one dump (many repeat: 0, k/n of one n) */

/* A dump in progress: the text, the precision of reals and the text of recent ones. */
struct vg__api_out {
    struct vg_buf b;
    int prec;
    struct {
        uint64_t bits;
        uint8_t n; /* 0: empty */
        char s[39];
    } real[VG__DUMP_CACHE];
};

/* vg_buf_append without the call when the room is there (most appends are a few bytes). */
static inline int
vg__api_put(struct vg__api_out *o, const char *p, size_t n)
{
    if (o->b.cap - o->b.len > n) {
        memcpy(o->b.data + o->b.len, p, n);
        o->b.len += n;
        return 0;
    }
    return vg_buf_append(&o->b, p, n) < 0 ? VG_ETOOBIG : 0;
}

/* s[n] as a JSON string, escaped as jansson 2.14 does (proto/json.h); runs of plain bytes at once
 * (jansson checked the UTF-8 when the string was made, and writes it back unchanged). */
static int
vg__api_dump_str(struct vg__api_out *o, const char *s, size_t n)
{
    size_t i = 0;

    if (vg__api_put(o, "\"", 1) < 0) {
        return VG_ETOOBIG;
    }
    while (i < n) {
        size_t j = i;
        char esc[8];

        while (j < n && (unsigned char)s[j] >= 0x20 && s[j] != '"' && s[j] != '\\') {
            j++;
        }
        if (j > i && vg__api_put(o, s + i, j - i) < 0) {
            return VG_ETOOBIG;
        }
        if (j < n && vg__api_put(o, esc, vg_json_put_char((unsigned char)s[j], esc)) < 0) {
            return VG_ETOOBIG;
        }
        i = j + 1;
    }
    return vg__api_put(o, "\"", 1);
}

/* The real d as jansson writes it at o->prec, through the cache. */
static int
vg__api_dump_real(struct vg__api_out *o, double d)
{
    uint64_t bits;
    size_t h;

    memcpy(&bits, &d, sizeof(bits));
    h = (size_t)((bits * 0x9E3779B97F4A7C15u) >> 56) % VG__DUMP_CACHE;
    if (o->real[h].n == 0 || o->real[h].bits != bits) {
        char s[40];
        size_t n = vg_json_put_real(d, o->prec, s);

        if (n >= sizeof(o->real[h].s)) {
            return vg__api_put(o, s, n);
        }
        memcpy(o->real[h].s, s, n);
        o->real[h].n = (uint8_t)n;
        o->real[h].bits = bits;
    }
    return vg__api_put(o, o->real[h].s, o->real[h].n);
}

/* v appended to o->b as json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(prec)) writes it, byte
 * for byte: members in insertion order, the same escapes and reals, without jansson's
 * per-character UTF-8 decoding and final copy (the big pages: 1,000 targets with their windows). */
static int
vg__api_dump(struct vg__api_out *o, const json_t *v)
{
    char num[40];

    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        bool first = true;

        if (vg__api_put(o, "{", 1) < 0) {
            return VG_ETOOBIG;
        }
        json_object_foreach((json_t *)v, key, val)
        {
            if ((!first && vg__api_put(o, ",", 1) < 0) ||
                vg__api_dump_str(o, key, strlen(key)) < 0 || vg__api_put(o, ":", 1) < 0 ||
                vg__api_dump(o, val) < 0) {
                return VG_ETOOBIG;
            }
            first = false;
        }
        return vg__api_put(o, "}", 1);
    }
    case JSON_ARRAY:
        if (vg__api_put(o, "[", 1) < 0) {
            return VG_ETOOBIG;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            if ((i > 0 && vg__api_put(o, ",", 1) < 0) ||
                vg__api_dump(o, json_array_get(v, i)) < 0) {
                return VG_ETOOBIG;
            }
        }
        return vg__api_put(o, "]", 1);
    case JSON_STRING:
        return vg__api_dump_str(o, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return vg__api_put(o, num, strlen(num));
    case JSON_REAL:
        return vg__api_dump_real(o, json_real_value(v));
    case JSON_TRUE:
        return vg__api_put(o, "true", 4);
    case JSON_FALSE:
        return vg__api_put(o, "false", 5);
    default:
        return vg__api_put(o, "null", 4);
    }
}

int
vg_api_dump(const json_t *v, int prec, char **out, size_t *len)
{
    struct vg__api_out *o = vg_xcalloc(1, sizeof(*o));
    int rc;

    *out = NULL;
    vg_buf_init(&o->b, VG__JSON_MAX);
    o->prec = prec;
    rc = vg__api_dump(o, v) < 0 || vg_buf_cstr(&o->b) == NULL ? VG_ETOOBIG : 0;
    if (rc == 0) {
        *out = (char *)o->b.data;
        *len = o->b.len;
    } else {
        vg_buf_cleanup(&o->b);
    }
    free(o);
    return rc;
}

int
vg_api_run(struct vg_store *s, enum vg_api_route route, const struct vg_api_query *q, char **body,
           size_t *len, const char **type, char *next, size_t next_cap, char *err, size_t errlen)
{
    /* The header of an empty page: the columns of the store's rows (store_read.c, store_agg.c). */
    static const char *const measurement_cols[] = {"measurement_uid",
                                                   VG_REC_KEY_REPORT_ID,
                                                   VG_REC_KEY_MEASUREMENT_START_TIME,
                                                   VG_REC_KEY_INPUT,
                                                   "domain",
                                                   VG_REC_KEY_PROBE_CC,
                                                   VG_REC_KEY_PROBE_ASN,
                                                   VG_REC_KEY_TEST_NAME,
                                                   VG_REC_KEY_SOFTWARE_NAME,
                                                   VG_REC_KEY_SOFTWARE_VERSION,
                                                   VG_REC_KEY_X_VERDICT,
                                                   VG_REC_KEY_X_CAUSE,
                                                   VG_REC_KEY_BLOCKING,
                                                   VG_REC_KEY_ACCESSIBLE,
                                                   "provenance",
                                                   VG_REC_KEY_X_ANALYZER,
                                                   VG_REC_KEY_X_EVIDENCE,
                                                   NULL};
    static const char *const target_cols[] = {VG_REC_KEY_INPUT,
                                              "domain",
                                              VG_REC_KEY_PROBE_CC,
                                              VG_REC_KEY_PROBE_ASN,
                                              VG_REC_KEY_X_VERDICT,
                                              VG_REC_KEY_X_CAUSE,
                                              "since",
                                              "last_seen",
                                              "measurement_uid",
                                              NULL};
    struct vg_store_filter f = q->f;
    const char *cursor = q->has_cursor ? q->cursor : NULL;
    bool csv = q->csv && route != VG_API_ALERTS; /* the alerts answer JSON only */
    json_t *res = NULL;
    int rc;

    *body = NULL;
    /* f's strings point into q; q is const here but not moved, so they stay valid. */
    switch (route) {
    case VG_API_MEASUREMENTS:
        rc = vg_store_list(s, &f, cursor, q->limit, &res);
        break;
    case VG_API_TARGETS:
        rc = vg_store_targets(s, &f, cursor, q->limit, &res);
        break;
    case VG_API_AGGREGATION:
        rc = vg_store_aggregate(s, &f, q->axis_x, q->axis_y, &res);
        break;
    case VG_API_CERTIFICATES:
        rc = vg_store_certificates(s, &f, q->limit, &res);
        break;
    case VG_API_ALERTS:
        rc = vg_store_alert_events(s, &f, q->since_id, q->limit, &res);
        break;
    default:
        rc = VG_EINVAL;
        break;
    }
    if (rc < 0) {
        if (rc == VG_EINVAL && cursor != NULL) {
            snprintf(err, errlen, "invalid cursor (pass next_cursor back unchanged)");
        } else if (rc == VG_ETOOBIG) {
            snprintf(err, errlen, "too many groups: narrow the filter or drop an axis");
        } else {
            snprintf(err, errlen, "%s", vg_store_strerror(rc));
        }
        return rc;
    }
    if (route == VG_API_AGGREGATION && csv) {
        rc = vg_api_aggregation_csv(res, q->axis_x, q->axis_y, body, len);
        json_decref(res);
        if (rc < 0) {
            snprintf(err, errlen, "result too large for CSV");
            return rc;
        }
        *type = "text/csv; charset=utf-8";
        return 0;
    }
    if (next_cap > 0) {
        const json_t *nc = json_object_get(res, "next_cursor");

        snprintf(next, next_cap, "%s", json_is_string(nc) ? json_string_value(nc) : "");
    }
    if (route != VG_API_AGGREGATION && csv) {
        rc = vg_api_rows_csv(res, route == VG_API_TARGETS ? target_cols : measurement_cols, body,
                             len);
        json_decref(res);
        if (rc < 0) {
            snprintf(err, errlen, "result too large for CSV");
            return rc;
        }
        *type = "text/csv; charset=utf-8";
        return 0;
    }
    /* shares and intervals (window=) as 0.2993, not 0.29929999999999998 */
    rc = vg_api_dump(res, q->f.window > 0 ? 4 : 17, body, len);
    json_decref(res);
    if (rc < 0) {
        snprintf(err, errlen, "cannot serialise the result");
        return VG_EINTERNAL;
    }
    *type = "application/json";
    return 0;
}
