/* SPDX-License-Identifier: MIT */
/*
 * store.c - the store object (store.h, docs/storage.md): opening a store on its backend
 * (SQLite, PostgreSQL or ClickHouse, struct vg_store_ops), closing it, and what every part
 * shares: the latest database error, the statistics, the clock. The parts (store_impl.h):
 *   store_row.c     a measurement's row (through meas/record_read.h) and its checks
 *   store_writer.c  the writer thread: job queue, grouping, retries, write calls
 *   store_raw.c     the stored form of a measurement's text (store_raw.h); store_rawdb.c its
 *                   dictionaries, caches and blob writes for one store
 *   store_txn.c     one write transaction: reports, measurement rows, duplicates
 *   store_derive.c  the ingest statements, the count tables and the latest states
 *   store_read.c    the read pool, reports, raw measurements, the measurement list, cursors
 *   store_agg.c     aggregation and targets
 *   store_check.c   the integrity check
 *   store_upgrade.c the data steps of the migrations (migrations.c holds the schema)
 *   store_ch_*.c    ClickHouse's schema, write path, latest states and crash recovery at open
 *                   (store_ch.c connects)
 * SQL is written once, with $N placeholders.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/crypto.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__DEFAULT_READERS 4
#define VG__DEFAULT_BATCH   2000
#define VG__DEFAULT_TIMEOUT 5000

const enum vg_verdict vg_store_verdict_order[VG_STORE_N_VERDICTS] = {
    VG_VERDICT_ACCESSIBLE, VG_VERDICT_BLOCKED, VG_VERDICT_INTERCEPTED, VG_VERDICT_DOWN,
    VG_VERDICT_UNKNOWN};

const char *
vg_store_strerror(int err)
{
    return vg_strerror(err);
}

bool
vg__store_verdict_ok(const char *v)
{
    enum vg_verdict vd;

    return vg_verdict_parse(v, &vd);
}

int64_t
vg__store_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *
vg_store_backend(const struct vg_store *s)
{
    return s->ops->name;
}

/* Remember the database's words for a failure (vg_store_last_error). */
void
vg__store_note_error(struct vg_store *s, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    vg_strlcpy(s->last_error, msg != NULL ? msg : "", sizeof(s->last_error));
    pthread_mutex_unlock(&s->mu);
}

void
vg_store_last_error(struct vg_store *s, char *buf, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    vg_strlcpy(buf, s->last_error, cap);
    pthread_mutex_unlock(&s->mu);
}

void
vg__store_get_stats(struct vg_store *s, struct vg__store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

void
vg__store_count_reconnect(struct vg_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->stats.reconnects++;
    pthread_mutex_unlock(&s->mu);
}

static bool
vg__store_is_url(const char *spec, const char *scheme)
{
    return strncmp(spec, scheme, strlen(scheme)) == 0;
}

const char *
vg_store_spec_file(const char *spec)
{
    if (vg__store_is_url(spec, "postgresql://") || vg__store_is_url(spec, "postgres://") ||
        strncmp(spec, "pg:", 3) == 0 || vg__store_is_url(spec, "clickhouse://") ||
        vg__store_is_url(spec, "clickhouses://")) {
        return NULL;
    }
    return strncmp(spec, "sqlite:", 7) == 0 ? spec + 7 : spec;
}

void
vg_store_spec_show(const char *spec, char *buf, size_t cap)
{
    const char *scheme = strstr(spec, "://"), *at, *colon;

    vg_strlcpy(buf, spec, cap);
    if (scheme == NULL || vg_store_spec_file(spec) != NULL) {
        return;
    }
    /* the userinfo ends at the last '@' before the path */
    at = NULL;
    for (const char *p = scheme + 3; *p != '\0' && *p != '/' && *p != '?'; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    colon = at != NULL ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon != NULL) {
        snprintf(buf, cap, "%.*s:***%s", (int)(colon - spec), spec, at);
    }
}

int
vg_store_open(const char *spec, const struct vg_store_opts *opts, struct vg_store **out, char *err,
              size_t errlen)
{
    char scratch[1];
    struct vg_store *s;
    const char *target = spec;
    int rc;

    *out = NULL;
    if (err == NULL) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (spec == NULL || spec[0] == '\0') {
        snprintf(err, errlen, "empty store spec");
        return VG_EINVAL;
    }
    s = vg_xcalloc(1, sizeof(*s));
    if (opts != NULL) {
        s->o = *opts;
    }
    s->o.readers = s->o.readers > 0 ? s->o.readers : VG__DEFAULT_READERS;
    s->o.batch_max = s->o.batch_max > 0 ? s->o.batch_max : VG__DEFAULT_BATCH;
    s->o.timeout_ms = s->o.timeout_ms > 0 ? s->o.timeout_ms : VG__DEFAULT_TIMEOUT;
    if (vg__store_is_url(spec, "postgresql://") || vg__store_is_url(spec, "postgres://")) {
        s->ops = &vg__store_pg_ops;
    } else if (strncmp(spec, "pg:", 3) == 0) {
        s->ops = &vg__store_pg_ops;
        target = spec + 3;
    } else if (vg__store_is_url(spec, "clickhouse://") ||
               vg__store_is_url(spec, "clickhouses://")) {
        s->ops = &vg__store_ch_ops; /* store_ch.c reads the whole spec, scheme included */
    } else {
        s->ops = &vg__store_sqlite_ops;
        target = vg_store_spec_file(spec);
    }
    s->target = vg_xstrdup(target);
    s->idle = vg_xcalloc(s->o.readers, sizeof(*s->idle));
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_mutex_init(&s->z_mu, NULL);

    vg__store_wsql_init(s);
    rc = s->ops->connect(s->target, &s->o, true, &s->wconn, err, errlen);
    if (rc == 0 && s->ops->dialect == VG__CH) {
        rc = vg__store_ch_migrate(s->ops, s->wconn, s->o.no_migrate, err, errlen);
        while (s->ch_event_tag == 0) {
            vg_random_bytes(&s->ch_event_tag, sizeof(s->ch_event_tag));
        }
        if (rc == 0 && s->o.ch_recover) {
            vg__store_ch_recover(s); /* before the writer takes uploads */
        }
    } else if (rc == 0) {
        rc = vg__store_migrate(s->ops, s->wconn, s->o.no_migrate, vg__store_upgrade_data, err,
                               errlen);
    }
    if (rc == 0 && (rc = pthread_create(&s->writer, NULL, vg__store_writer_main, s)) != 0) {
        snprintf(err, errlen, "writer thread: %s", strerror(rc));
        rc = VG_EINTERNAL;
    }
    if (rc != 0) {
        s->ops->disconnect(s->wconn);
        s->wconn = NULL;
        s->stop = true;
        /* no writer thread: free directly */
        pthread_mutex_destroy(&s->pool_mu);
        pthread_cond_destroy(&s->pool_cv);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->work);
        pthread_mutex_destroy(&s->z_mu);
        vg__store_wsql_free(s);
        VG_FREE(s->idle);
        VG_FREE(s->target);
        VG_FREE(s);
        return rc == VG_ECONSTRAINT || rc == VG_ERETRY ? VG_STORE_EUNAVAIL : rc;
    }
    *out = s;
    return 0;
}

void
vg_store_close(struct vg_store *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    /* Readers first: SQLite's last connection to close checkpoints the WAL into the database
     * and deletes it, and only the writer can (readers are read-only). A WAL left behind makes
     * the next open rebuild its index, which needs disk space the disk may not have. */
    vg__raw_free(s); /* its read connection too */
    for (size_t i = 0; i < s->n_idle; i++) {
        s->ops->disconnect(s->idle[i]);
    }
    s->ops->disconnect(s->wconn);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->z_mu);
    vg__store_wsql_free(s);
    VG_FREE(s->idle);
    VG_FREE(s->target);
    free(s);
}
