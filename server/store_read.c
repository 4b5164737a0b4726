/* SPDX-License-Identifier: MIT */
/*
 * store_read.c - the store's reads (store.h): the pool of read connections, reports, raw
 * measurements and the measurement list; and what the other queries share (store_impl.h): the
 * dynamic query builder with the filters, opaque cursors, result values as JSON.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_read.h"
#include "store_impl.h"
#include "store_raw.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/timefmt.h"

#define VG__CURSOR_MAX 8192 /* bytes of an opaque cursor */

void
vg_store_format_time(int64_t t, char *buf, size_t len)
{
    vg_time_format(t, VG_TIME_ISO8601, buf, len);
}

/* A read connection: an idle one, or a new one while fewer than o.readers are open. */
static int
vg__acquire(struct vg_store *s, struct vg__conn **c, bool *fresh)
{
    char err[256];
    int rc;

    pthread_mutex_lock(&s->pool_mu);
    while (s->n_idle == 0 && s->n_open >= s->o.readers) {
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
    if (s->n_idle > 0) {
        *c = s->idle[--s->n_idle];
        *fresh = false;
        pthread_mutex_unlock(&s->pool_mu);
        return 0;
    }
    s->n_open++;
    pthread_mutex_unlock(&s->pool_mu);
    *fresh = true;
    rc = s->ops->connect(s->target, &s->o, false, c, err, sizeof(err));
    if (rc < 0) {
        vg__store_note_error(s, err);
        pthread_mutex_lock(&s->pool_mu);
        s->n_open--;
        pthread_cond_signal(&s->pool_cv);
        pthread_mutex_unlock(&s->pool_mu);
    }
    return rc;
}

/* Give c back; a broken connection is closed so that the next use opens a new one. */
static void
vg__release(struct vg_store *s, struct vg__conn *c, bool broken)
{
    if (broken) {
        s->ops->disconnect(c);
        vg__store_count_reconnect(s);
    }
    pthread_mutex_lock(&s->pool_mu);
    if (broken) {
        s->n_open--;
    } else {
        s->idle[s->n_idle++] = c;
    }
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* Run fn on a pooled connection. A connection that turns out dead (the server restarted, the
 * network dropped it while idle) is replaced and fn runs once more on a fresh one. */
int
vg__store_read(struct vg_store *s, vg__read_fn fn, void *arg)
{
    for (int attempt = 0;; attempt++) {
        struct vg__conn *c;
        bool fresh;
        int rc;

        VG_TRY(vg__acquire(s, &c, &fresh));
        rc = fn(s, c, arg);
        vg__release(s, c, rc == VG_STORE_EUNAVAIL);
        if (rc != VG_STORE_EUNAVAIL || fresh || attempt > 0) {
            return rc;
        }
    }
}

void
vg__store_copy_text(const struct vg__val *v, char *out, size_t cap)
{
    size_t n = v->t == VG__TEXT ? v->len : 0;

    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(out, v->p, n);
    }
    out[n] = '\0';
}

struct vg__report_q {
    const char *id;
    struct vg_store_report *out;
    bool found;
};

static int
vg__store_on_report(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__report_q *q = arg;
    struct vg_store_report *r = q->out;

    (void)set;
    if (ncols != 9) {
        return VG_EINTERNAL;
    }
    q->found = true;
    if (r != NULL) {
        memset(r, 0, sizeof(*r));
        snprintf(r->report_id, sizeof(r->report_id), "%s", q->id);
        vg__store_copy_text(&c[0], r->probe_cc, sizeof(r->probe_cc));
        r->probe_asn = (uint32_t)c[1].i;
        vg__store_copy_text(&c[2], r->software_name, sizeof(r->software_name));
        vg__store_copy_text(&c[3], r->software_version, sizeof(r->software_version));
        vg__store_copy_text(&c[4], r->test_name, sizeof(r->test_name));
        r->created = c[5].i;
        r->closed = c[6].t != VG__NULL;
        vg__store_copy_text(&c[7], r->provenance, sizeof(r->provenance));
        r->legacy = c[8].t == VG__INT && c[8].i != 0;
    }
    return 0;
}

static int
vg__report_get_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
#define VG__REPORT_SQL(final)                                                          \
    "SELECT probe_cc, probe_asn, software_name, software_version, test_name, created," \
    " closed, provenance, legacy FROM reports" final " WHERE report_id = $1"
    /* ClickHouse: FINAL, the latest version of the row (store_ch_schema.c) */
    static const char sql[] = VG__REPORT_SQL(""), sql_ch[] = VG__REPORT_SQL(" FINAL");
    struct vg__report_q *q = arg;
    struct vg__val p = vg__store_text(q->id);

    q->found = false;
    return s->ops->run(c, s->ops->dialect == VG__CH ? sql_ch : sql, VG__RUN_CACHE, 1, 1, &p,
                       vg__store_on_report, q);
}

int
vg_store_report_get(struct vg_store *s, const char *report_id, struct vg_store_report *out)
{
    struct vg__report_q q = {report_id, out, false};

    VG_ENSURE(vg__store_report_id_ok(report_id), VG_EINVAL);
    VG_TRY(vg__store_read(s, vg__report_get_fn, &q));
    return q.found ? 0 : VG_STORE_ENOTFOUND;
}

struct vg__raw_q {
    struct vg_store *s;
    const char *uid;
    char *text;
    size_t len;
    bool found;
    int err;
};

static int
vg__on_raw(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__raw_q *q = arg;

    (void)set;
    q->found = true;
    if (ncols != 2) {
        return VG_EINTERNAL;
    }
    return vg__raw_decode_row(q->s, &c[0], &c[1], &q->text, &q->len);
}

static int
vg__raw_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
#define VG__RAW_SQL(final) \
    "SELECT raw_len, raw FROM measurements" final " WHERE measurement_uid = $1"
    /* ClickHouse: FINAL hides the copies of a measurement stored twice (store_ch_txn.c) */
    static const char sql[] = VG__RAW_SQL(""), sql_ch[] = VG__RAW_SQL(" FINAL");
    struct vg__raw_q *q = arg;
    struct vg__val p = vg__store_text(q->uid);

    VG_FREE(q->text);
    q->found = false;
    q->s = s;
    return s->ops->run(c, s->ops->dialect == VG__CH ? sql_ch : sql, VG__RUN_CACHE, 1, 1, &p,
                       vg__on_raw, q);
}

int
vg_store_get_raw(struct vg_store *s, const char *uid, char **out, size_t *len)
{
    struct vg__raw_q q = {.uid = uid};
    int rc;

    *out = NULL;
    if (len != NULL) {
        *len = 0;
    }
    VG_ENSURE(uid != NULL && uid[0] != '\0' && strlen(uid) < VG_UID_MAX, VG_EINVAL);
    rc = vg__store_read(s, vg__raw_fn, &q);
    if (rc == 0 && !q.found) {
        rc = VG_STORE_ENOTFOUND;
    }
    if (rc < 0) {
        VG_FREE(q.text);
        return rc;
    }
    *out = q.text;
    if (len != NULL) {
        *len = q.len;
    }
    return 0;
}

/* ---- dynamic queries (store_impl.h struct vg__query) ---- */

void
vg__store_q_add(struct vg__query *q, const char *text)
{
    int n = snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s", text);

    if (n < 0 || (size_t)n >= sizeof(q->sql) - q->len) {
        abort(); /* a bug: the fixed SQL pieces outgrew the buffer */
    }
    q->len += (size_t)n;
}

/* Append pre, a placeholder for the new parameter v, then post. */
void
vg__store_q_param(struct vg__query *q, const char *pre, struct vg__val v, const char *post)
{
    char buf[160];

    if (q->np == VG__QUERY_MAX_PARAMS) {
        abort(); /* a bug: more filters than parameters */
    }
    q->p[q->np++] = v;
    snprintf(buf, sizeof(buf), "%s$%zu%s", pre, q->np, post);
    vg__store_q_add(q, buf);
}

int
vg__store_filter_valid(const struct vg_store_filter *f)
{
    if (f == NULL) {
        return 0;
    }
    VG_ENSURE(f->input == NULL || strlen(f->input) <= VG_STORE_INPUT_MAX, VG_EINVAL);
    VG_ENSURE(f->domain == NULL || strlen(f->domain) < 256, VG_EINVAL);
    VG_ENSURE(f->probe_cc == NULL || strlen(f->probe_cc) == 2, VG_EINVAL);
    VG_ENSURE(f->x_verdict == NULL || vg__store_verdict_ok(f->x_verdict), VG_EINVAL);
    VG_ENSURE(f->since >= 0 && f->until >= 0, VG_EINVAL);
    VG_ENSURE(f->window >= 0 && f->window <= VG_STORE_WINDOW_MAX, VG_EINVAL);
    VG_ENSURE(f->provenance == NULL || vg_store_provenance_ok(f->provenance), VG_EINVAL);
    VG_ENSURE(!f->trusted || f->provenance == NULL ||
                  strcmp(f->provenance, VG_STORE_ANONYMOUS) != 0,
              VG_EINVAL);
    return 0;
}

/* WHERE conditions for filter f on a table whose time column is tcol. */
void
vg__store_q_filters(struct vg__query *q, const struct vg_store_filter *f, const char *tcol,
                    int64_t since, bool with_input, bool with_prov)
{
    char pre[96];

    if (f == NULL) {
        return;
    }
    if (with_input && f->input != NULL) {
        vg__store_q_param(q, " AND input = ", vg__store_text(f->input), "");
        /* no index on input: the input's domain leads the query to the domain index */
        vg__store_url_domain(f->input, q->domain, sizeof(q->domain));
        if (f->domain == NULL) {
            vg__store_q_param(q, " AND domain = ", vg__store_text(q->domain), "");
        }
    }
    if (f->domain != NULL) {
        vg__store_q_param(q, " AND domain = ", vg__store_text(f->domain), "");
    }
    if (f->probe_cc != NULL) {
        vg__store_q_param(q, " AND probe_cc = ", vg__store_text(f->probe_cc), "");
    }
    if (f->has_probe_asn) {
        vg__store_q_param(q, " AND probe_asn = ", vg__store_int(f->probe_asn), "");
    }
    if (f->x_verdict != NULL) {
        vg__store_q_param(q, " AND x_verdict = ", vg__store_text(f->x_verdict), "");
    }
    if (with_prov && f->provenance != NULL) {
        vg__store_q_param(q, " AND provenance = ", vg__store_text(f->provenance), "");
    }
    if (with_prov && f->trusted) {
        vg__store_q_param(q, " AND provenance <> ", vg__store_text(VG_STORE_ANONYMOUS), "");
    }
    if (since > 0) {
        snprintf(pre, sizeof(pre), " AND %s >= ", tcol);
        vg__store_q_param(q, pre, vg__store_int(since), "");
    }
    if (f->until > 0) {
        snprintf(pre, sizeof(pre), " AND %s < ", tcol);
        vg__store_q_param(q, pre, vg__store_int(f->until), "");
    }
}

/* Opaque cursors: base64url (RFC 4648 section 5, no padding) of a small JSON array. */
static const char vg__b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
vg__store_cursor_encode(json_t *arr)
{
    char *txt = json_dumps(arr, JSON_COMPACT);
    size_t n = strlen(txt), o = 0;
    char *out = vg_xmalloc(n / 3 * 4 + 5);

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)txt[i] << 16;
        size_t left = n - i;

        if (left > 1) {
            v |= (uint32_t)(unsigned char)txt[i + 1] << 8;
        }
        if (left > 2) {
            v |= (unsigned char)txt[i + 2];
        }
        out[o++] = vg__b64u[(v >> 18) & 63];
        out[o++] = vg__b64u[(v >> 12) & 63];
        if (left > 1) {
            out[o++] = vg__b64u[(v >> 6) & 63];
        }
        if (left > 2) {
            out[o++] = vg__b64u[v & 63];
        }
    }
    out[o] = '\0';
    free(txt);
    return out;
}

/* Decode a cursor into a JSON array of exactly n elements (caller decrefs), or NULL. */
json_t *
vg__store_cursor_decode(const char *c, size_t n)
{
    size_t len = strlen(c), o = 0;
    uint32_t acc = 0;
    int bits = 0;
    char *buf;
    json_t *arr;

    if (len == 0 || len > VG__CURSOR_MAX || len % 4 == 1) {
        return NULL;
    }
    buf = vg_xmalloc(len);
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(vg__b64u, c[i], 64);

        if (p == NULL || c[i] == '\0') {
            VG_FREE(buf);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(p - vg__b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    arr = json_loadb(buf, o, 0, NULL);
    VG_FREE(buf);
    if (arr == NULL || !json_is_array(arr) || json_array_size(arr) != n) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *
vg__store_jtext(const struct vg__val *v)
{
    return v->t == VG__TEXT ? json_stringn(v->p, v->len) : json_null();
}

json_t *
vg__store_jasn(int64_t asn)
{
    char b[24];

    snprintf(b, sizeof(b), "AS%lld", (long long)asn);
    return json_string(b);
}

json_t *
vg__store_jtime(int64_t t)
{
    char b[32];

    vg_store_format_time(t, b, sizeof(b));
    return json_string(b);
}

struct vg__list_q {
    struct vg__query q;
    unsigned limit;
    json_t *results;
    bool more;
    int64_t last_t;
    char last_uid[VG_UID_MAX];
};

static int
vg__on_list_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__list_q *l = arg;
    json_t *o, *blocking;

    (void)set;
    if (ncols != 17 || c[0].t != VG__TEXT || c[2].t != VG__INT) {
        return VG_EINTERNAL;
    }
    if (json_array_size(l->results) == l->limit) {
        l->more = true; /* the extra row only says there is a next page */
        return 0;
    }
    if (c[12].t != VG__TEXT) {
        blocking = json_null();
    } else if (c[12].len == 5 && memcmp(c[12].p, "false", 5) == 0) {
        blocking = json_false();
    } else {
        blocking = json_stringn(c[12].p, c[12].len);
    }
    o = json_object();
    json_object_set_new(o, "measurement_uid", vg__store_jtext(&c[0]));
    json_object_set_new(o, VG_REC_KEY_REPORT_ID, vg__store_jtext(&c[1]));
    json_object_set_new(o, VG_REC_KEY_MEASUREMENT_START_TIME, vg__store_jtime(c[2].i));
    json_object_set_new(o, VG_REC_KEY_INPUT, vg__store_jtext(&c[3]));
    json_object_set_new(o, "domain", vg__store_jtext(&c[4]));
    json_object_set_new(o, VG_REC_KEY_PROBE_CC, vg__store_jtext(&c[5]));
    json_object_set_new(o, VG_REC_KEY_PROBE_ASN, vg__store_jasn(c[6].i));
    json_object_set_new(o, VG_REC_KEY_TEST_NAME, vg__store_jtext(&c[7]));
    json_object_set_new(o, VG_REC_KEY_SOFTWARE_NAME, vg__store_jtext(&c[8]));
    json_object_set_new(o, VG_REC_KEY_SOFTWARE_VERSION, vg__store_jtext(&c[9]));
    json_object_set_new(o, VG_REC_KEY_X_VERDICT, vg__store_jtext(&c[10]));
    json_object_set_new(o, VG_REC_KEY_X_CAUSE, vg__store_jtext(&c[11]));
    json_object_set_new(o, VG_REC_KEY_BLOCKING, blocking);
    json_object_set_new(o, VG_REC_KEY_ACCESSIBLE,
                        c[13].t == VG__INT ? json_boolean(c[13].i) : json_null());
    json_object_set_new(o, "provenance", vg__store_jtext(&c[14]));
    /* who decided x_verdict ("probe", an analyser's version, null) and the analyser's evidence
     * (null for vigie's probe: its evidence is the measurement's test_keys.x_evidence) */
    json_object_set_new(o, VG_REC_KEY_X_ANALYZER, vg__store_jtext(&c[15]));
    json_object_set_new(o, VG_REC_KEY_X_EVIDENCE, vg__store_jtext(&c[16]));
    json_array_append_new(l->results, o);
    l->last_t = c[2].i;
    vg__store_copy_text(&c[0], l->last_uid, sizeof(l->last_uid));
    return 0;
}

static int
vg__list_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__list_q *l = arg;

    json_array_clear(l->results);
    l->more = false;
    return s->ops->run(c, l->q.sql, 0, 1, l->q.np, l->q.p, vg__on_list_row, l);
}

int
vg_store_list(struct vg_store *s, const struct vg_store_filter *f, const char *cursor,
              unsigned limit, json_t **out)
{
    struct vg__list_q *l;
    json_t *cur = NULL;
    int rc;

    *out = NULL;
    VG_TRY(vg__store_filter_valid(f));
    VG_ENSURE(limit <= VG_STORE_PAGE_MAX, VG_EINVAL);
    if (cursor != NULL) {
        cur = vg__store_cursor_decode(cursor, 2);
        if (cur == NULL || !json_is_integer(json_array_get(cur, 0)) ||
            !json_is_string(json_array_get(cur, 1)) ||
            json_string_length(json_array_get(cur, 1)) >= VG_UID_MAX) {
            json_decref(cur);
            return VG_EINVAL;
        }
    }
    l = vg_xcalloc(1, sizeof(*l));
    l->limit = limit > 0 ? limit : 100;
    vg__store_q_add(&l->q,
                    "SELECT measurement_uid, report_id, measurement_start_time, input, domain,"
                    " probe_cc, probe_asn, test_name, software_name, software_version,"
                    " x_verdict, x_cause, blocking, accessible, provenance, x_analyzer,"
                    " x_evidence FROM measurements");
    vg__store_q_add(&l->q, s->ops->dialect == VG__CH ? " FINAL WHERE 1 = 1" : " WHERE 1 = 1");
    /* the SQL column (the measurement's field has the same name) */
    vg__store_q_filters(&l->q, f, "measurement_start_time", f != NULL ? f->since : 0, true, true);
    if (cur != NULL) {
        vg__store_q_param(&l->q, " AND (measurement_start_time, measurement_uid) < (",
                          vg__store_int(json_integer_value(json_array_get(cur, 0))), "");
        vg__store_q_param(&l->q, ", ", vg__store_text(json_string_value(json_array_get(cur, 1))),
                          ")");
    }
    vg__store_q_add(&l->q, " ORDER BY measurement_start_time DESC, measurement_uid DESC");
    vg__store_q_param(&l->q, " LIMIT ", vg__store_int((int64_t)l->limit + 1), "");
    l->results = json_array();
    rc = vg__store_read(s, vg__list_fn, l);
    if (rc == 0) {
        json_t *next = json_null();

        if (l->more) {
            json_t *pos = json_pack("[I, s]", (json_int_t)l->last_t, l->last_uid);
            char *enc = vg__store_cursor_encode(pos);

            json_decref(pos);
            json_decref(next);
            next = json_string(enc);
            VG_FREE(enc);
        }
        *out = json_pack("{s:o, s:o}", "results", l->results, "next_cursor", next);
        l->results = NULL;
    }
    json_decref(l->results);
    json_decref(cur);
    VG_FREE(l);
    return rc;
}

static int
vg__row_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
#define VG__ROW_SQL(final)                                                                  \
    "SELECT measurement_uid, report_id, measurement_start_time, input, domain, probe_cc,"   \
    " probe_asn, test_name, software_name, software_version, x_verdict, x_cause, blocking," \
    " accessible, provenance, x_analyzer, x_evidence FROM measurements" final               \
    " WHERE measurement_uid = $1"
    static const char sql[] = VG__ROW_SQL(""), sql_ch[] = VG__ROW_SQL(" FINAL");
    struct vg__list_q *l = arg;
    struct vg__val p = vg__store_text(l->last_uid);

    json_array_clear(l->results);
    return s->ops->run(c, s->ops->dialect == VG__CH ? sql_ch : sql, VG__RUN_CACHE, 1, 1, &p,
                       vg__on_list_row, l);
}

int
vg_store_get_row(struct vg_store *s, const char *uid, json_t **out)
{
    struct vg__list_q *l;
    int rc;

    *out = NULL;
    VG_ENSURE(uid != NULL && strlen(uid) < VG_UID_MAX, VG_EINVAL);
    l = vg_xcalloc(1, sizeof(*l));
    l->limit = 1;
    snprintf(l->last_uid, sizeof(l->last_uid), "%s", uid);
    l->results = json_array();
    rc = vg__store_read(s, vg__row_fn, l);
    if (rc == 0 && json_array_size(l->results) == 0) {
        rc = VG_STORE_ENOTFOUND;
    }
    if (rc == 0) {
        *out = json_incref(json_array_get(l->results, 0));
    }
    json_decref(l->results);
    VG_FREE(l);
    return rc;
}
