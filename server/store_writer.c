/* SPDX-License-Identifier: MIT */
/*
 * store_writer.c - the store's writes (store.h): vg_store_insert and the report calls queue a
 * job for the one writer thread and wait for its outcome; the writer groups everything queued
 * meanwhile into one transaction (store_txn.c), reconnects and retries as the error allows, and
 * isolates a caller whose row breaks a constraint. Raw measurements are encoded (store_raw.h) in
 * the caller's thread; the writer adds the blobs and dictionary they reference to the same
 * transaction.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/mem.h"

#define VG__INSERT_MAX 10000 /* rows in one vg_store_insert call */
#define VG__RETRIES    5     /* runs of one transaction after deadlocks */

/* Run the transaction for jobs, reconnecting and retrying as the error allows. */
static int
vg__txn_retry(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res)
{
    int rc = 0;

    for (int attempt = 0; attempt <= VG__RETRIES; attempt++) {
        bool fresh = false;
        char err[256];

        if (s->wconn == NULL) {
            rc = s->ops->connect(s->target, &s->o, true, &s->wconn, err, sizeof(err));
            if (rc < 0) {
                vg__store_note_error(s, err);
                return rc;
            }
            fresh = true;
        }
        rc = jobs->kind == VG__JOB_REANALYZE ? vg__store_reanalyze_txn(s, jobs)
                                             : vg__store_txn(s, jobs, res);
        vg__raw_txn_end(s, rc >= 0); /* the blobs it wrote are known committed, or not */
        if (rc == VG_STORE_EUNAVAIL) {
            /* Reconnect on next use. If this connection had been idle, it may just have gone
             * stale: one more go on a new one. A commit whose outcome was lost is harmless to
             * redo: idem_key makes the second run find the rows. */
            s->ops->disconnect(s->wconn);
            s->wconn = NULL;
            vg__store_count_reconnect(s);
            if (fresh || attempt > 0) {
                return rc;
            }
            continue;
        }
        if (rc != VG_ERETRY) {
            return rc;
        }
        /* deadlock or serialization failure: run it again */
    }
    return rc;
}

static void
vg__write_group(struct vg_store *s, struct vg__job *jobs, size_t njobs)
{
    struct vg__jobres *res = vg_xcalloc(njobs, sizeof(*res));
    size_t j = 0;
    int rc = vg__txn_retry(s, jobs, res);

    if (rc == VG_ECONSTRAINT && njobs > 1) {
        /* One caller's row broke a constraint: give every job its own transaction so that only
         * that caller sees the error. */
        for (struct vg__job *job = jobs; job != NULL; job = job->next) {
            struct vg__job *next = job->next;
            struct vg__jobres one;

            job->next = NULL;
            rc = vg__txn_retry(s, job, &one);
            job->rc = rc < 0 ? rc : one.rc;
            job->next = next;
        }
    } else {
        for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
            job->rc = rc < 0 ? rc : res[j].rc;
        }
    }
    for (struct vg__job *job = jobs; job != NULL; job = job->next) {
        if (job->rc == VG_ECONSTRAINT || job->rc == VG_ERETRY) {
            job->rc = job->rc == VG_ERETRY ? VG_STORE_EUNAVAIL : VG_EINVAL;
        }
    }
    VG_FREE(res);
}

void *
vg__store_writer_main(void *arg)
{
    struct vg_store *s = arg;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct vg__job *group, *last;
        size_t rows, njobs = 1;
        bool committed = false;

        while (s->head == NULL && !s->stop) {
            pthread_cond_wait(&s->work, &s->mu);
        }
        if (s->head == NULL) {
            break; /* stopping, and nothing left to write */
        }
        /* Everything queued while the previous transaction ran, up to batch_max rows. */
        group = last = s->head;
        rows = group->n;
        while (last->next != NULL && group->kind != VG__JOB_REANALYZE &&
               last->next->kind != VG__JOB_REANALYZE && rows + last->next->n <= s->o.batch_max) {
            last = last->next;
            rows += last->n;
            njobs++;
        }
        s->head = last->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        vg__write_group(s, group, njobs);

        pthread_mutex_lock(&s->mu);
        s->stats.jobs += njobs;
        s->stats.rows += rows;
        if (njobs > s->stats.max_group) {
            s->stats.max_group = njobs;
        }
        for (struct vg__job *job = group, *next; job != NULL; job = next) {
            next = job->next;
            if (job->rc >= 0) {
                s->stats.txns += job == group; /* counted once per group */
                committed = true;
            }
            job->done = true;
            pthread_cond_signal(&job->cv);
        }
        if (committed && s->on_commit != NULL) {
            s->on_commit(s->on_commit_arg); /* e.g. the alerts' poller: there may be events */
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Queue job for the writer and wait until it is done. */
int
vg__store_submit(struct vg_store *s, struct vg__job *job)
{
    pthread_cond_init(&job->cv, NULL);
    job->done = false;
    job->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->tail != NULL) {
        s->tail->next = job;
    } else {
        s->head = job;
    }
    s->tail = job;
    pthread_cond_signal(&s->work);
    while (!job->done) {
        pthread_cond_wait(&job->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&job->cv);
    return job->rc;
}

int
vg_store_insert(struct vg_store *s, const struct vg_store_meas *rows, size_t n,
                char (*uids_out)[VG_UID_MAX])
{
    struct vg__job job = {.kind = VG__JOB_INSERT, .rows = rows, .n = n};
    int rc;

    if (n == 0) {
        return 0;
    }
    VG_ENSURE(rows != NULL && n <= VG__INSERT_MAX, VG_EINVAL);
    for (size_t i = 0; i < n; i++) {
        VG_TRY(vg__store_row_valid(&rows[i]));
    }
    /* Encode here, in the caller's thread: the writer thread only writes. */
    job.enc = vg_xcalloc(n, sizeof(*job.enc));
    job.z = vg_xcalloc(n, sizeof(*job.z));
    job.zlen = vg_xcalloc(n, sizeof(*job.zlen));
    job.uids = vg_xcalloc(n + 1, sizeof(*job.uids)); /* +1: end marker for vg__store_txn */
    job.received_us = vg__store_now_us();
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = vg__raw_encode(s, rows[i].raw, rows[i].raw_len, &job.enc[i]);
        job.z[i] = job.enc[i].z;
        job.zlen[i] = job.enc[i].zlen;
    }
    if (rc == 0) {
        rc = vg__store_submit(s, &job);
    }
    if (rc >= 0 && uids_out != NULL) {
        memcpy(uids_out, job.uids, n * sizeof(*job.uids));
    }
    for (size_t i = 0; i < n; i++) {
        vg__raw_enc_free(&job.enc[i]);
    }
    VG_FREE(job.enc);
    VG_FREE(job.z);
    VG_FREE(job.zlen);
    VG_FREE(job.uids);
    return rc;
}

int
vg_store_report_open(struct vg_store *s, const struct vg_store_report *r)
{
    struct vg__job job = {.kind = VG__JOB_REPORT_OPEN, .rep = r, .now = time(NULL)};

    VG_ENSURE(r != NULL && vg__store_report_id_ok(r->report_id), VG_EINVAL);
    VG_ENSURE(vg__store_terminated(r->provenance, sizeof(r->provenance)) &&
                  (r->provenance[0] == '\0' || vg_store_provenance_ok(r->provenance)),
              VG_EINVAL);
    VG_ENSURE(strlen(r->probe_cc) == 2 &&
                  vg__store_terminated(r->software_name, sizeof(r->software_name)) &&
                  vg__store_terminated(r->software_version, sizeof(r->software_version)) &&
                  vg__store_terminated(r->test_name, sizeof(r->test_name)),
              VG_EINVAL);
    return vg__store_submit(s, &job);
}

int
vg_store_report_close(struct vg_store *s, const char *report_id)
{
    struct vg__job job = {.kind = VG__JOB_REPORT_CLOSE, .report_id = report_id, .now = time(NULL)};

    VG_ENSURE(vg__store_report_id_ok(report_id), VG_EINVAL);
    return vg__store_submit(s, &job);
}

void
vg_store_on_commit(struct vg_store *s, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&s->mu);
    s->on_commit = fn;
    s->on_commit_arg = arg;
    pthread_mutex_unlock(&s->mu);
}
