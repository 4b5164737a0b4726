/* SPDX-License-Identifier: MIT */
/*
 * store_txn.c - one write transaction of the writer thread (store_writer.c) for a group of jobs:
 * reports opened and closed, measurement rows inserted in idem_key order, the uids of the rows
 * that were stored already found again, and the derived tables updated (store_derive.c), then
 * COMMIT; on any error, ROLLBACK and nothing of the group is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/mem.h"

static const char vg__sql_find_idem[] =
    "SELECT measurement_uid FROM measurements WHERE idem_key = $1";

static const char vg__sql_find_uid[] =
    "SELECT measurement_uid FROM measurements WHERE measurement_uid = $1";

static const char vg__sql_report_open[] =
    "INSERT INTO reports (report_id, probe_cc, probe_asn, software_name, software_version,"
    " test_name, created, closed, provenance, legacy) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL,"
    " $8, 0) ON CONFLICT DO NOTHING RETURNING report_id";

static const char vg__sql_report_close[] =
    "UPDATE reports SET closed = COALESCE(closed, $2) WHERE report_id = $1 RETURNING report_id";

int
vg__store_cmp_idem(const void *a, const void *b)
{
    const struct vg__wrow *x = a, *y = b;

    return strcmp(x->m->idem_key, y->m->idem_key);
}

struct vg__inserted {
    struct vg__wrow *w;
    size_t n;
    size_t hint; /* rows come back in VALUES order, usually: look there first */
};

/* A RETURNING row of the measurements INSERT: that uid is new. */
static int
vg__on_inserted(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    struct vg__inserted *ins = arg;

    (void)set;
    if (ncols != 1 || cols[0].t != VG__TEXT) {
        return VG_EINTERNAL;
    }
    for (size_t k = 0; k < ins->n; k++) {
        struct vg__wrow *w = &ins->w[(ins->hint + k) % ins->n];

        if (strlen(w->m->measurement_uid) == cols[0].len &&
            memcmp(w->m->measurement_uid, cols[0].p, cols[0].len) == 0) {
            w->is_new = true;
            w->found = true;
            ins->hint = (size_t)(w - ins->w) + 1;
            return 0;
        }
    }
    return VG_EINTERNAL;
}

struct vg__found {
    struct vg__wrow **rows; /* the rows each parameter set stands for */
};

static int
vg__on_found(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    struct vg__found *f = arg;
    struct vg__wrow *w = f->rows[set];

    if (ncols != 1 || cols[0].t != VG__TEXT || cols[0].len >= VG_UID_MAX) {
        return VG_EINTERNAL;
    }
    memcpy(w->uid_out, cols[0].p, cols[0].len);
    w->uid_out[cols[0].len] = '\0';
    w->found = true;
    return 0;
}

static int
vg__on_exists(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    bool *hit = arg;

    (void)cols;
    (void)ncols;
    hit[set] = true;
    return 0;
}

/* The rows of one transaction that were not new: find the uid stored under their idem_key (a
 * re-upload, possibly earlier in this very batch), else under their uid. */
static int
vg__resolve_dups(struct vg_store *s, struct vg__wrow *w, size_t n)
{
    struct vg__wrow **miss = vg_xcalloc(n, sizeof(*miss));
    struct vg__val *p = vg_xcalloc(n, sizeof(*p));
    struct vg__found f = {miss};
    size_t k = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (!w[i].is_new) {
            miss[k] = &w[i];
            p[k++] = vg__store_text(w[i].m->idem_key);
        }
    }
    if (k > 0) {
        rc = s->ops->run(s->wconn, vg__sql_find_idem, VG__RUN_CACHE, k, 1, p, vg__on_found, &f);
    }
    for (size_t i = 0, j = 0; rc == 0 && i < k; i++) {
        if (!miss[i]->found) {
            /* Same uid under another key: the same bytes received in the same microsecond. */
            miss[j] = miss[i];
            p[0] = vg__store_text(miss[i]->m->measurement_uid);
            rc = s->ops->run(s->wconn, vg__sql_find_uid, VG__RUN_CACHE, 1, 1, p, vg__on_found,
                             &(struct vg__found){&miss[j]});
            if (rc == 0 && !miss[i]->found) {
                rc = VG_EINTERNAL;
            }
        }
    }
    VG_FREE(miss);
    VG_FREE(p);
    return rc;
}

static int
vg__reports(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res)
{
    size_t j = 0;

    for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
        struct vg__val p[8];
        bool hit = false;
        int rc = 0;

        if (job->kind == VG__JOB_REPORT_OPEN) {
            const struct vg_store_report *r = job->rep;

            p[0] = vg__store_text(r->report_id);
            p[1] = vg__store_text(r->probe_cc);
            p[2] = vg__store_int(r->probe_asn);
            p[3] = vg__store_text(r->software_name);
            p[4] = vg__store_text(r->software_version);
            p[5] = vg__store_text(r->test_name);
            p[6] = vg__store_int(r->created > 0 ? r->created : job->now);
            p[7] = vg__store_text(r->provenance[0] != '\0' ? r->provenance : VG_STORE_ANONYMOUS);
            rc = s->ops->run(s->wconn, vg__sql_report_open, VG__RUN_CACHE, 1, 8, p, vg__on_exists,
                             &hit);
            res[j].rc = hit ? 0 : VG_STORE_EEXIST;
        } else if (job->kind == VG__JOB_REPORT_CLOSE) {
            p[0] = vg__store_text(job->report_id);
            p[1] = vg__store_int(job->now);
            rc = s->ops->run(s->wconn, vg__sql_report_close, VG__RUN_CACHE, 1, 2, p, vg__on_exists,
                             &hit);
            res[j].rc = hit ? 0 : VG_STORE_ENOTFOUND;
        } else if (job->kind == VG__JOB_CURSOR) {
            rc = vg__store_cursor_put(s, job);
        }
        VG_TRY(rc);
    }
    return 0;
}

int
vg__store_wrow_params(const struct vg__wrow *w, struct vg__val *p)
{
    const struct vg_store_meas *m = w->m;

    p[0] = vg__store_text(m->measurement_uid);
    p[1] = vg__store_text(m->idem_key);
    p[2] = vg__store_text(m->report_id);
    p[3] = vg__store_int(m->start_time);
    p[4] = m->has_input ? vg__store_text(m->input) : (struct vg__val){.t = VG__NULL};
    p[5] = vg__store_text(m->domain);
    p[6] = vg__store_text(m->probe_cc);
    p[7] = vg__store_int(m->probe_asn);
    p[8] = vg__store_text(m->test_name);
    p[9] = vg__store_text(m->software_name);
    p[10] = vg__store_text(m->software_version);
    p[11] = vg__store_text(m->x_verdict);
    p[12] = vg__store_text_or_null(m->x_cause);
    p[13] = vg__store_text_or_null(m->blocking);
    p[14] = m->accessible < 0 ? (struct vg__val){.t = VG__NULL} : vg__store_int(m->accessible);
    p[15] = vg__store_int(w->received_us);
    p[16] = vg__store_int((int64_t)m->raw_len);
    p[17] = (struct vg__val){.t = VG__BLOB, .p = (const char *)w->z, .len = w->zlen};
    p[18] = vg__store_text(m->provenance);
    p[19] = vg__store_text_or_null(m->x_analyzer);
    p[20] = vg__store_text_or_null(m->x_evidence);
    return 0;
}

struct vg__wrow *
vg__store_wrows(struct vg__job *jobs, struct vg__jobres *res, size_t *n_out)
{
    struct vg__wrow *w;
    size_t n = 0, j = 0, k = 0;

    for (struct vg__job *job = jobs; job != NULL; job = job->next) {
        n += job->kind == VG__JOB_INSERT ? job->n : 0;
    }
    w = vg_xcalloc(n > 0 ? n : 1, sizeof(*w));
    for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
        res[j].rc = 0;
        for (size_t i = 0; job->kind == VG__JOB_INSERT && i < job->n; i++, k++) {
            w[k] = (struct vg__wrow){.m = &job->rows[i],
                                     .z = job->z[i],
                                     .zlen = job->zlen[i],
                                     .received_us = job->received_us,
                                     .uid_out = job->uids[i]};
        }
    }
    *n_out = n;
    return w;
}

void
vg__store_count_new(struct vg__job *jobs, struct vg__jobres *res, struct vg__wrow *w, size_t n)
{
    size_t j = 0;

    for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
        if (job->kind == VG__JOB_INSERT) {
            res[j].rc = 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!w[i].is_new) {
            continue;
        }
        memcpy(w[i].uid_out, w[i].m->measurement_uid, VG_UID_MAX);
        /* find the job owning this row: jobs own consecutive uid slots */
        j = 0;
        for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
            if (job->kind == VG__JOB_INSERT && w[i].uid_out >= job->uids[0] &&
                w[i].uid_out < job->uids[job->n]) {
                res[j].rc++;
                break;
            }
        }
    }
}

/* One write transaction for a group of jobs (store_impl.h). */
int
vg__store_txn(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res)
{
    struct vg__wrow *w;
    struct vg__val *p;
    size_t n = 0;
    int rc;

    if (s->ops->dialect == VG__CH) {
        return vg__store_ch_txn(s, jobs, res); /* no transactions there (store_ch_txn.c) */
    }
    w = vg__store_wrows(jobs, res, &n);
    p = vg_xcalloc(n > 0 ? n * VG__MEAS_COLS : 1, sizeof(*p));
    /* Lock order: measurements by idem_key (see vg__store_derived). */
    qsort(w, n, sizeof(*w), vg__store_cmp_idem);
    for (size_t i = 0; i < n; i++) {
        vg__store_wrow_params(&w[i], p + i * VG__MEAS_COLS);
    }

    rc = s->ops->exec(s->wconn, s->ops->begin_sql);
    if (rc == 0) {
        rc = vg__reports(s, jobs, res);
    }
    if (rc == 0 && n > 0) {
        rc = vg__raw_txn_write(s, jobs); /* the blobs the rows reference, first */
    }
    if (rc == 0 && n > 0) {
        struct vg__inserted ins = {w, n, 0};

        rc = vg__store_write_rows(s, VG__W_MEAS, n, p, vg__on_inserted, &ins);
    }
    if (rc == 0) {
        rc = vg__resolve_dups(s, w, n);
    }
    if (rc == 0) {
        rc = vg__store_derived(s, w, n);
    }
    if (rc == 0) {
        rc = s->ops->exec(s->wconn, "COMMIT");
    }
    if (rc < 0) {
        vg__store_note_error(s, s->ops->errmsg(s->wconn));
        (void)s->ops->exec(s->wconn, "ROLLBACK");
    } else {
        vg__store_count_new(jobs, res, w, n);
    }
    VG_FREE(w);
    VG_FREE(p);
    return rc;
}
