/* SPDX-License-Identifier: MIT */
/*
 * store_ch_txn.c - the writer's group of jobs on ClickHouse (vg__store_txn's path there): no
 * transaction, no unique key, no ON CONFLICT, no UPDATE, so each step is an INSERT that is
 * harmless when repeated (docs/storage.md, "ClickHouse: schema and ingest"):
 *   reports     opened: looked up (FINAL), inserted when absent (else VG_STORE_EEXIST); closed:
 *               the row again with closed set and a higher ver (else VG_STORE_ENOTFOUND).
 *   blobs, raw_dicts  store_rawdb.c's INSERTs (duplicates collapse, store_ch_schema.c).
 *   measurements  the group's rows in idem_key order; the idem_keys looked up first (FINAL):
 *               a stored one answers with the stored uid, as on the other backends, a repeat
 *               inside the group with its first row's uid; then one INSERT of the new rows,
 *               which also writes their counts (the materialized views).
 *   alert_events  derived from the new rows and the latest states before them, as on the
 *               other backends (store_events.c; ids counted by the writer, docs/storage.md),
 *               and written before the states.
 *   targets     the latest states of the new rows, merged in C (store_ch_targets.c), last:
 *               a failure (or kill -9) after the rows leaves rows that no state reflects; the
 *               next open derives their states and events again (store_ch_recover.c), which it
 *               can tell from the states. Written after the events, so that recovery also
 *               covers a failure between the two (it does not write events twice).
 *   alert_cursor  a consumer's cursor: a new row with a higher ver.
 * The writer thread is one per store, so concurrent retries of one upload to one `vigie serve`
 * are exact. Two servers writing the same measurement at the same moment may both find it
 * absent and both insert it: a read with FINAL shows one row (the first received), but the
 * count tables, fed at insert, count it twice. An upload is answered once its INSERT request
 * returned 200: ClickHouse has the rows in its parts. After an INSERT whose outcome is unknown
 * (s->ch_unsure), the group's lookup first waits for the INSERTs still running on the server
 * (vg__store_ch_wait_inserts), so that it finds that INSERT's rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/buf.h"
#include "util/mem.h"

static const char vg__chtxn_sql_report_find[] =
    "SELECT report_id, closed FROM reports FINAL WHERE report_id = $1";

static const char vg__chtxn_sql_report_open[] =
    "INSERT INTO reports (report_id, probe_cc, probe_asn, software_name, software_version,"
    " test_name, created, closed, provenance, legacy, ver) VALUES ($1, $2, $3, $4, $5, $6, $7,"
    " NULL, $8, 0, 0)";

/* closed once: the row as it is, with closed and a higher ver */
static const char vg__chtxn_sql_report_close[] =
    "INSERT INTO reports (report_id, probe_cc, probe_asn, software_name, software_version,"
    " test_name, created, closed, provenance, legacy, ver) SELECT report_id, probe_cc, probe_asn,"
    " software_name, software_version, test_name, created, $2, provenance, legacy, ver + 1"
    " FROM reports FINAL WHERE report_id = $1";

static const char vg__chtxn_sql_meas[] =
    "INSERT INTO measurements (measurement_uid, idem_key, report_id, measurement_start_time,"
    " input, domain, probe_cc, probe_asn, test_name, software_name, software_version, x_verdict,"
    " x_cause, blocking, accessible, received, raw_len, raw, provenance, x_analyzer, x_evidence)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
    " $19, $20, $21)";

struct vg__chtxn_report {
    bool found;
    bool closed;
};

static int
vg__chtxn_on_report(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    struct vg__chtxn_report *r = arg;

    (void)set;
    if (ncols != 2) {
        return VG_EINTERNAL;
    }
    r->found = true;
    r->closed = cols[1].t != VG__NULL;
    return 0;
}

/* One report job: its outcome in *res, 0 or a backend error. Nothing is rolled back here: when
 * the writer runs a group again (store_writer.c, after VG_STORE_EUNAVAIL), an open it inserted
 * the first time (job->ch_opened) succeeds again, as its rolled-back open would elsewhere. */
static int
vg__chtxn_report_job(struct vg_store *s, struct vg__job *job, struct vg__jobres *res)
{
    struct vg__chtxn_report r = {false, false};
    struct vg__val p[8];
    const char *id = job->kind == VG__JOB_REPORT_OPEN ? job->rep->report_id : job->report_id;
    int rc;

    p[0] = vg__store_text(id);
    VG_TRY(s->ops->run(s->wconn, vg__chtxn_sql_report_find, 0, 1, 1, p, vg__chtxn_on_report, &r));
    if (job->kind == VG__JOB_REPORT_CLOSE) {
        res->rc = r.found ? 0 : VG_STORE_ENOTFOUND;
        if (!r.found || r.closed) {
            return 0; /* closed once: the first time stays (COALESCE(closed, now)) */
        }
        p[1] = vg__store_int(job->now);
        return s->ops->run(s->wconn, vg__chtxn_sql_report_close, 0, 1, 2, p, NULL, NULL);
    }
    if (r.found) {
        res->rc = job->ch_opened ? 0 : VG_STORE_EEXIST;
        return 0;
    }
    res->rc = 0;
    p[1] = vg__store_text(job->rep->probe_cc);
    p[2] = vg__store_int(job->rep->probe_asn);
    p[3] = vg__store_text(job->rep->software_name);
    p[4] = vg__store_text(job->rep->software_version);
    p[5] = vg__store_text(job->rep->test_name);
    p[6] = vg__store_int(job->rep->created > 0 ? job->rep->created : job->now);
    p[7] =
        vg__store_text(job->rep->provenance[0] != '\0' ? job->rep->provenance : VG_STORE_ANONYMOUS);
    rc = s->ops->run(s->wconn, vg__chtxn_sql_report_open, 0, 1, 8, p, NULL, NULL);
    /* a failed request may have reached the server all the same */
    job->ch_opened = true;
    return rc;
}

/* The rows w[n] (sorted by idem_key, first of each key only) whose keys are stored. */
struct vg__chtxn_lookup {
    struct vg__wrow *w;
    size_t n;
};

static int
vg__chtxn_on_stored(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    struct vg__chtxn_lookup *l = arg;
    size_t lo = 0, hi = l->n;
    char key[VG_STORE_IDEM_MAX];

    (void)set;
    if (ncols != 2 || cols[0].t != VG__TEXT || cols[1].t != VG__TEXT ||
        cols[0].len >= sizeof(key) || cols[1].len >= VG_UID_MAX) {
        return VG_EINTERNAL;
    }
    memcpy(key, cols[0].p, cols[0].len);
    key[cols[0].len] = '\0';
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->w[mid].m->idem_key, key);

        if (c == 0) {
            memcpy(l->w[mid].uid_out, cols[1].p, cols[1].len);
            l->w[mid].uid_out[cols[1].len] = '\0';
            l->w[mid].found = true;
            return 0;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return VG_EINTERNAL; /* a key not asked for */
}

/* Look up the idem_keys of w[k] (distinct, sorted; k <= VG__CH_ROWS): found rows get
 * the stored uid. */
static int
vg__chtxn_lookup1(struct vg_store *s, struct vg_buf *sql, struct vg__val *p, struct vg__wrow *w,
                  size_t k)
{
    int64_t lo = w[0].m->start_time, hi = lo;
    const char *text;
    size_t np = 0;
    int rc = 0;

    for (size_t i = 0; i < k; i++) {
        const struct vg_store_meas *m = w[i].m;

        lo = m->start_time < lo ? m->start_time : lo;
        hi = m->start_time > hi ? m->start_time : hi;
        p[np++] = vg__store_int(m->start_time);
        p[np++] = vg__store_text(m->idem_key);
    }
    /* the range lets the primary key skip the other parts */
    p[np++] = vg__store_int(lo);
    p[np++] = vg__store_int(hi);
    vg_buf_reset(sql);
    rc = vg_buf_appendf(sql, "SELECT idem_key, measurement_uid FROM measurements FINAL"
                             " WHERE (measurement_start_time, idem_key) IN (");
    rc = rc < 0 ? rc : vg__store_sql_tuples(sql, "($1, $2)", 2, k, 0);
    if (rc == 0) {
        rc = vg_buf_appendf(sql, ") AND measurement_start_time BETWEEN $%zu AND $%zu", np - 1, np);
    }
    if (rc < 0 || (text = vg_buf_cstr(sql)) == NULL) {
        return VG_EINTERNAL;
    }
    return s->ops->run(s->wconn, text, 0, 1, np, p, vg__chtxn_on_stored,
                       &(struct vg__chtxn_lookup){w, k});
}

static int
vg__chtxn_lookup(struct vg_store *s, struct vg__wrow *w, size_t n)
{
    struct vg_buf sql;
    struct vg__val *p = vg_xcalloc(2 * VG__CH_ROWS + 2, sizeof(*p));
    int rc = 0;

    vg_buf_init(&sql, 64 * 1024 + 64 * VG__CH_ROWS);
    for (size_t at = 0; rc == 0 && at < n; at += VG__CH_ROWS) {
        rc = vg__chtxn_lookup1(s, &sql, p, w + at, n - at < VG__CH_ROWS ? n - at : VG__CH_ROWS);
    }
    vg_buf_cleanup(&sql);
    VG_FREE(p);
    return rc;
}

/* The measurement rows w[n]: duplicates resolved, new ones inserted (is_new). */
static int
vg__chtxn_rows(struct vg_store *s, struct vg__wrow *w, size_t n)
{
    struct vg__wrow *first = vg_xcalloc(n, sizeof(*first)); /* copies: one per key */
    struct vg__val *p;
    size_t nf = 0, nn = 0;
    int rc;

    qsort(w, n, sizeof(*w), vg__store_cmp_idem);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(w[i].m->idem_key, w[i - 1].m->idem_key) != 0) {
            first[nf++] = w[i];
        }
    }
    /* the unsure INSERT may still be running on the server: the lookup must see its rows */
    rc = s->ch_unsure ? vg__store_ch_wait_inserts(s) : 0;
    rc = rc < 0 ? rc : vg__chtxn_lookup(s, first, nf);
    p = vg_xcalloc(nf * VG__MEAS_COLS + 1, sizeof(*p));
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        if (!first[i].found) {
            first[i].is_new = true;
            vg__store_wrow_params(&first[i], p + nn++ * VG__MEAS_COLS);
        } else if (s->ch_unsure && strcmp(first[i].uid_out, first[i].m->measurement_uid) == 0) {
            /* stored by the INSERT whose answer was lost: this row's own, new to its caller
             * (its counts were written with it) */
            first[i].is_new = true;
        }
    }
    if (rc == 0 && nn > 0) {
        s->ch_unsure = true;
        rc = s->ops->run(s->wconn, vg__chtxn_sql_meas, 0, nn, VG__MEAS_COLS, p, NULL, NULL);
    }
    if (rc == 0) {
        s->ch_unsure = false;
    }
    /* Back into w: the first row of each key is new or has the stored uid; the others are
     * duplicates of it (their uid_out is still theirs to fill). */
    for (size_t i = 0, f = 0; rc == 0 && i < n; i++) {
        if (i > 0 && strcmp(w[i].m->idem_key, w[i - 1].m->idem_key) != 0) {
            f++;
        }
        if (w[i].uid_out == first[f].uid_out) {
            w[i].is_new = first[f].is_new;
            w[i].found = true;
        } else {
            const char *uid = first[f].is_new ? first[f].m->measurement_uid : first[f].uid_out;

            memcpy(w[i].uid_out, uid, VG_UID_MAX);
            w[i].found = true;
        }
    }
    VG_FREE(p);
    VG_FREE(first);
    return rc;
}

int
vg__store_ch_txn(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res)
{
    struct vg__evbatch *eb = NULL;
    struct vg__wrow *w;
    size_t n = 0, j = 0;
    int rc = 0;

    w = vg__store_wrows(jobs, res, &n);
    for (struct vg__job *job = jobs; rc == 0 && job != NULL; job = job->next, j++) {
        if (job->kind == VG__JOB_REPORT_OPEN || job->kind == VG__JOB_REPORT_CLOSE) {
            rc = vg__chtxn_report_job(s, job, &res[j]);
        } else if (job->kind == VG__JOB_CURSOR) {
            rc = vg__store_cursor_put(s, job);
        }
    }
    if (rc == 0 && n > 0) {
        rc = vg__raw_txn_write(s, jobs); /* the blobs the rows reference, first */
    }
    if (rc == 0 && n > 0) {
        rc = vg__chtxn_rows(s, w, n);
    }
    if (rc == 0 && n > 0) {
        rc = vg__store_events_derive(s, w, n, &eb); /* before the states it reads change */
    }
    if (rc == 0 && n > 0) {
        rc = vg__store_events_write(s, eb); /* before the states: see the header comment */
    }
    if (rc == 0 && n > 0) {
        rc = vg__store_ch_targets(s, w, n); /* after the rows: see the header comment */
    }
    vg__store_events_free(eb);
    if (rc < 0) {
        vg__store_note_error(s, s->ops->errmsg(s->wconn));
        VG_FREE(w);
        return rc;
    }
    vg__store_count_new(jobs, res, w, n);
    VG_FREE(w);
    return 0;
}
