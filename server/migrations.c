/* SPDX-License-Identifier: MIT */
/*
 * migrations.c - the store's schema, as numbered steps applied in order (docs/storage.md). The
 * schema_version table records the steps a database has; vg__store_migrate applies the missing
 * ones in one transaction. Never edit a released step: add a new one.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "util/mem.h"

/*
 * Version 1. Times are UTC seconds since the epoch (BIGINT), except received (microseconds).
 * measurements.raw is the measurement JSON compressed with zlib (RFC 1950, compress2), raw_len
 * its uncompressed length (from version 7 on, new rows take the form of server/store_raw.h).
 */
static const struct vg__mig_stmt vg__v1[] = {
    {"CREATE TABLE reports ("
     " report_id {text} PRIMARY KEY,"
     " probe_cc {text} NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " software_name {text} NOT NULL,"
     " software_version {text} NOT NULL,"
     " test_name {text} NOT NULL,"
     " created BIGINT NOT NULL,"
     " closed BIGINT)",
     NULL, NULL},
    {"CREATE TABLE measurements ("
     " measurement_uid {text} PRIMARY KEY,"
     " idem_key {text} NOT NULL UNIQUE,"
     " report_id {text} NOT NULL,"
     " measurement_start_time BIGINT NOT NULL,"
     " input {text},"
     " domain {text} NOT NULL,"
     " probe_cc {text} NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " test_name {text} NOT NULL,"
     " software_name {text} NOT NULL,"
     " software_version {text} NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " x_cause {text},"
     " blocking {text},"
     " accessible SMALLINT,"
     " received BIGINT NOT NULL,"
     " raw_len BIGINT NOT NULL,"
     " raw {blob} NOT NULL)",
     NULL, NULL},
    /* Listing is newest first by (measurement_start_time, measurement_uid), optionally narrowed
     * by an equality filter: one index per filter that selects few rows. An input filter uses
     * the domain index (the domain is a function of the input); a verdict filter walks the time
     * index. Every index costs ingest speed: each one is a random write per measurement. */
    {"CREATE INDEX measurements_time ON measurements (measurement_start_time, measurement_uid)",
     NULL, NULL},
    {"CREATE INDEX measurements_domain ON measurements"
     " (domain, measurement_start_time, measurement_uid)",
     NULL, NULL},
    {"CREATE INDEX measurements_net ON measurements"
     " (probe_cc, probe_asn, measurement_start_time, measurement_uid)",
     NULL, NULL},
    /* Counts per hour, domain, network and verdict, kept at ingest (same transaction). */
    {"CREATE TABLE agg_hourly ("
     " hour_start BIGINT NOT NULL,"
     " domain {text} NOT NULL,"
     " probe_cc {text} NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " n BIGINT NOT NULL,"
     " PRIMARY KEY (hour_start, domain, probe_cc, probe_asn, x_verdict)) {without_rowid}",
     NULL, NULL},
    /* For aggregations filtered by domain or network. The count n is left out on purpose: an
     * increment then rewrites only the table's row, not every index. */
    {"CREATE INDEX agg_hourly_domain ON agg_hourly (domain, hour_start)", NULL, NULL},
    {"CREATE INDEX agg_hourly_net ON agg_hourly (probe_cc, probe_asn, hour_start)", NULL, NULL},
    /* Latest verdict per (input, network) and the start of its current run; brk_time is the
     * latest time of a different verdict before that run (NULL: none seen). */
    {"CREATE TABLE targets ("
     " input {text} NOT NULL,"
     " probe_cc {text} NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " domain {text} NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " x_cause {text},"
     " since_time BIGINT NOT NULL,"
     " last_time BIGINT NOT NULL,"
     " brk_time BIGINT,"
     " last_uid {text} NOT NULL,"
     " PRIMARY KEY (input, probe_cc, probe_asn))",
     NULL, NULL},
    {"CREATE INDEX targets_domain ON targets (domain)", NULL, NULL},
    /* PostgreSQL: the ingest path updates these rows constantly; leave room for HOT updates. */
    {NULL, NULL, "ALTER TABLE agg_hourly SET (fillfactor = 80)"},
    {NULL, NULL, "ALTER TABLE targets SET (fillfactor = 80)"},
};

/*
 * Version 2. Daily count tables, each without some dimension: per domain, per network (probe_cc
 * + probe_asn), per country and domain (OONI's usual "a country, its domains, per day" chart).
 * An aggregation that needs no finer time or other dimension reads one of them, a fraction of
 * the hourly table's size (measurements spread over many domains and networks leave nearly one
 * hourly row per measurement). Filled from agg_hourly, then kept at ingest like it.
 */
static const struct vg__mig_stmt vg__v2[] = {
    {"CREATE TABLE agg_daily_domain ("
     " domain {text} NOT NULL,"
     " day_start BIGINT NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " n BIGINT NOT NULL,"
     " PRIMARY KEY (domain, x_verdict, day_start)) {without_rowid}",
     NULL, NULL},
    {"CREATE TABLE agg_daily_net ("
     " day_start BIGINT NOT NULL,"
     " probe_cc {text} NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " n BIGINT NOT NULL,"
     " PRIMARY KEY (day_start, probe_cc, probe_asn, x_verdict)) {without_rowid}",
     NULL, NULL},
    {"CREATE TABLE agg_daily_cc_domain ("
     " probe_cc {text} NOT NULL,"
     " day_start BIGINT NOT NULL,"
     " domain {text} NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " n BIGINT NOT NULL,"
     " PRIMARY KEY (probe_cc, day_start, domain, x_verdict)) {without_rowid}",
     NULL, NULL},
    {"INSERT INTO agg_daily_domain (domain, day_start, x_verdict, n)"
     " SELECT domain, hour_start - hour_start % 86400, x_verdict, SUM(n) FROM agg_hourly"
     " GROUP BY 1, 2, 3",
     NULL, NULL},
    {"INSERT INTO agg_daily_net (day_start, probe_cc, probe_asn, x_verdict, n)"
     " SELECT hour_start - hour_start % 86400, probe_cc, probe_asn, x_verdict, SUM(n)"
     " FROM agg_hourly GROUP BY 1, 2, 3, 4",
     NULL, NULL},
    {"INSERT INTO agg_daily_cc_domain (probe_cc, day_start, domain, x_verdict, n)"
     " SELECT probe_cc, hour_start - hour_start % 86400, domain, x_verdict, SUM(n)"
     " FROM agg_hourly GROUP BY 1, 2, 3, 4",
     NULL, NULL},
    {NULL, NULL, "ALTER TABLE agg_daily_domain SET (fillfactor = 80)"},
    {NULL, NULL, "ALTER TABLE agg_daily_cc_domain SET (fillfactor = 80)"},
    {NULL, NULL, "ALTER TABLE agg_daily_net SET (fillfactor = 80)"},
};

/*
 * Version 3: provenance, report secrets, content keys, trusted times (docs/storage.md).
 * - measurements.provenance: who uploaded (a credential's name, or 'anonymous': every earlier
 *   row). reports.provenance: who opened the report; reports.legacy: opened before this version,
 *   when the id was both published and used to submit (it keeps working until closed).
 * - The count tables get provenance in their keys (rebuilt: SQLite cannot change a primary key);
 *   earlier counts are all 'anonymous'.
 * - targets: one latest state per scope ('*' every measurement, '+' those with a credential, or
 *   one provenance), ordered by the measurement's time capped at its arrival. Built in
 *   targets_v3 by the data step from the measurements, then put in place (vg__v3_post).
 * The data step (store_upgrade.c) also recomputes every idem_key as the content key.
 */
#define VG__V3_AGG(table, cols, key)                                                        \
    {"CREATE TABLE " table "_v3 (" cols " provenance {text} NOT NULL, n BIGINT NOT NULL,"   \
     " PRIMARY KEY (" key ", provenance)) {without_rowid}",                                 \
     NULL, NULL},                                                                           \
        {"INSERT INTO " table "_v3 (" key ", provenance, n) SELECT " key ", 'anonymous', n" \
         " FROM " table,                                                                    \
         NULL, NULL},                                                                       \
        {"DROP TABLE " table, NULL, NULL},                                                  \
        {"ALTER TABLE " table "_v3 RENAME TO " table, NULL, NULL},                          \
    {                                                                                       \
        NULL, NULL, "ALTER TABLE " table " SET (fillfactor = 80)"                           \
    }

static const struct vg__mig_stmt vg__v3[] = {
    {"ALTER TABLE measurements ADD COLUMN provenance {text} NOT NULL DEFAULT 'anonymous'", NULL,
     NULL},
    {"ALTER TABLE reports ADD COLUMN provenance {text} NOT NULL DEFAULT 'anonymous'", NULL, NULL},
    {"ALTER TABLE reports ADD COLUMN legacy SMALLINT NOT NULL DEFAULT 0", NULL, NULL},
    {"UPDATE reports SET legacy = 1", NULL, NULL},
    VG__V3_AGG("agg_hourly",
               "hour_start BIGINT NOT NULL, domain {text} NOT NULL, probe_cc {text} NOT NULL,"
               " probe_asn BIGINT NOT NULL, x_verdict {text} NOT NULL,",
               "hour_start, domain, probe_cc, probe_asn, x_verdict"),
    {"CREATE INDEX agg_hourly_domain ON agg_hourly (domain, hour_start)", NULL, NULL},
    {"CREATE INDEX agg_hourly_net ON agg_hourly (probe_cc, probe_asn, hour_start)", NULL, NULL},
    VG__V3_AGG("agg_daily_domain",
               "domain {text} NOT NULL, x_verdict {text} NOT NULL, day_start BIGINT NOT NULL,",
               "domain, x_verdict, day_start"),
    VG__V3_AGG("agg_daily_net",
               "day_start BIGINT NOT NULL, probe_cc {text} NOT NULL, probe_asn BIGINT NOT NULL,"
               " x_verdict {text} NOT NULL,",
               "day_start, probe_cc, probe_asn, x_verdict"),
    VG__V3_AGG("agg_daily_cc_domain",
               "probe_cc {text} NOT NULL, day_start BIGINT NOT NULL, domain {text} NOT NULL,"
               " x_verdict {text} NOT NULL,",
               "probe_cc, day_start, domain, x_verdict"),
    {"CREATE TABLE targets_v3 ("
     " scope {text} NOT NULL,"
     " input {text} NOT NULL,"
     " probe_cc {text} NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " domain {text} NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " x_cause {text},"
     " since_time BIGINT NOT NULL,"
     " last_time BIGINT NOT NULL,"
     " brk_time BIGINT,"
     " last_uid {text} NOT NULL,"
     " PRIMARY KEY (scope, input, probe_cc, probe_asn))",
     NULL, NULL},
};

/* After the data step: the rebuilt latest states replace the old ones. */
static const struct vg__mig_stmt vg__v3_post[] = {
    {"DROP TABLE targets", NULL, NULL},
    {"ALTER TABLE targets_v3 RENAME TO targets", NULL, NULL},
    {"CREATE INDEX targets_domain ON targets (scope, domain)", NULL, NULL},
    {NULL, NULL, "ALTER TABLE targets SET (fillfactor = 80)"},
};

/*
 * Version 4: vigie's analysis of measurements from elsewhere (docs/storage.md, "Verdicts").
 * - measurements.x_analyzer: who decided x_verdict ('probe': vigie's probe, in the measurement;
 *   an analyser's version: the collector's vg_analyze; NULL: nothing to analyse). Earlier rows of
 *   vigie get 'probe'; the others had the verdict OONI's blocking/accessible implied, marked
 *   'ooni-label' so that `vigie serve reanalyze` recomputes them.
 * - measurements.x_evidence: the analyser's sentence (vigie's own is in the measurement).
 * - reanalyze_progress: where an interrupted reanalysis pass stands, per pass.
 */
static const struct vg__mig_stmt vg__v4[] = {
    {"ALTER TABLE measurements ADD COLUMN x_analyzer {text}", NULL, NULL},
    {"ALTER TABLE measurements ADD COLUMN x_evidence {text}", NULL, NULL},
    {"UPDATE measurements SET x_analyzer = CASE WHEN software_name = 'vigie' THEN 'probe'"
     " ELSE 'ooni-label' END",
     NULL, NULL},
    {"CREATE TABLE reanalyze_progress ("
     " pass {text} PRIMARY KEY,"
     " last_time BIGINT NOT NULL,"
     " last_uid {text} NOT NULL,"
     " examined BIGINT NOT NULL,"
     " changed BIGINT NOT NULL,"
     " updated BIGINT NOT NULL)",
     NULL, NULL},
};

/*
 * Version 5: counts per target (input) x network x hour x verdict x provenance, kept at ingest
 * and by reanalysis like the other count tables, for the state of each target over a window
 * (vg_store_targets' window, store_window.c): a page of targets reads its own rows by primary
 * key instead of every measurement of the window. Filled from the measurements.
 */
static const struct vg__mig_stmt vg__v5[] = {
    {"CREATE TABLE agg_target_hourly ("
     " input {text} NOT NULL,"
     " probe_cc {text} NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " hour_start BIGINT NOT NULL,"
     " x_verdict {text} NOT NULL,"
     " provenance {text} NOT NULL,"
     " n BIGINT NOT NULL,"
     " PRIMARY KEY (input, probe_cc, probe_asn, hour_start, x_verdict, provenance))"
     " {without_rowid}",
     NULL, NULL},
    {"INSERT INTO agg_target_hourly (input, probe_cc, probe_asn, hour_start, x_verdict,"
     " provenance, n)"
     " SELECT input, probe_cc, probe_asn, measurement_start_time - measurement_start_time % 3600,"
     " x_verdict, provenance, COUNT(*) FROM measurements WHERE input IS NOT NULL"
     " GROUP BY 1, 2, 3, 4, 5, 6",
     NULL, NULL},
    {NULL, NULL, "ALTER TABLE agg_target_hourly SET (fillfactor = 80)"},
};

/*
 * Version 6: alert events, derived from the stored history of each (input, probe_cc, probe_asn)
 * in the transaction that writes the measurements causing them (store_events.c), whatever path
 * the data came by; id is their order. old_verdict NULL: a first measurement with interference.
 * late: the measurement was older than its key's latest. A database upgraded to 6 gets no
 * events for its past. alert_cursor: where each consumer of the events (`vigie serve
 * --alert-consumer NAME`) stands.
 */
static const struct vg__mig_stmt vg__v6[] = {
    {NULL,
     "CREATE TABLE alert_events ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " created BIGINT NOT NULL,"
     " input TEXT NOT NULL,"
     " probe_cc TEXT NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " old_verdict TEXT,"
     " new_verdict TEXT NOT NULL,"
     " cause TEXT,"
     " measurement_uid TEXT NOT NULL,"
     " measurement_time BIGINT NOT NULL,"
     " source TEXT NOT NULL,"
     " late SMALLINT NOT NULL,"
     " provenance TEXT)",
     "CREATE TABLE alert_events ("
     " id BIGSERIAL PRIMARY KEY,"
     " created BIGINT NOT NULL,"
     " input TEXT COLLATE \"C\" NOT NULL,"
     " probe_cc TEXT COLLATE \"C\" NOT NULL,"
     " probe_asn BIGINT NOT NULL,"
     " old_verdict TEXT COLLATE \"C\","
     " new_verdict TEXT COLLATE \"C\" NOT NULL,"
     " cause TEXT COLLATE \"C\","
     " measurement_uid TEXT COLLATE \"C\" NOT NULL,"
     " measurement_time BIGINT NOT NULL,"
     " source TEXT COLLATE \"C\" NOT NULL,"
     " late SMALLINT NOT NULL,"
     " provenance TEXT COLLATE \"C\")"},
    /* GET /api/v1/alerts by target (and network), keyset by id */
    {"CREATE INDEX alert_events_key ON alert_events (input, probe_cc, probe_asn, id)", NULL, NULL},
    {"CREATE TABLE alert_cursor ("
     " consumer {text} PRIMARY KEY,"
     " last_id BIGINT NOT NULL,"
     " updated BIGINT NOT NULL)",
     NULL, NULL},
};

/*
 * Version 7: the raw column's new stored form (server/store_raw.h). Rows written from here on
 * start with 0x01: the measurement with its long string values (certificates, bodies) cut out to
 * blobs, stored once under their SHA-256, and the rest compressed with zstd, with the dictionary
 * of raw_dicts the row names (trained from the first measurements a collector sees). Earlier rows
 * (zlib, first byte 0x78) stay as they are and are read as before. PostgreSQL: the stored forms
 * are compressed already, so TOAST keeps them out of line without compressing them again.
 */
static const struct vg__mig_stmt vg__v7[] = {
    {"CREATE TABLE blobs ("
     " hash {blob} PRIMARY KEY,"
     " data {blob} NOT NULL)",
     NULL, NULL},
    {"CREATE TABLE raw_dicts ("
     " id BIGINT PRIMARY KEY,"
     " data {blob} NOT NULL,"
     " created BIGINT NOT NULL)",
     NULL, NULL},
    {NULL, NULL, "ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL"},
    {NULL, NULL, "ALTER TABLE raw_dicts ALTER COLUMN data SET STORAGE EXTERNAL"},
    {NULL, NULL, "ALTER TABLE measurements ALTER COLUMN raw SET STORAGE EXTERNAL"},
};

/*
 * Version 8: the aggregations over a window of days without a network (axis_x=domain over 7
 * days: every domain) read only the window's rows of agg_daily_domain. PostgreSQL: an index by
 * day (the count n left out, so an increment stays a HOT update); its heap is in about the order
 * the days arrived, so the index scan reads a few pages per day. SQLite reads the table in key
 * order without a sort (store_agg.c), faster than an index range and a sort.
 */
static const struct vg__mig_stmt vg__v8[] = {
    {NULL, NULL, "CREATE INDEX agg_daily_domain_day ON agg_daily_domain (day_start)"},
};

/*
 * Version 9: a target's measurements by start time. The alert events of a late row read its
 * neighbours in the target's history (store_events.c); without this index they read every
 * measurement of the row's network (measurements_net), a scan that grew with the store.
 */
static const struct vg__mig_stmt vg__v9[] = {
    {"CREATE INDEX measurements_target ON measurements"
     " (input, probe_cc, probe_asn, measurement_start_time)",
     NULL, NULL},
};

/*
 * Version 10 (queries, issue 18), PostgreSQL only (SQLite records the version and changes
 * nothing: its agg_target_hourly is WITHOUT ROWID, its rows are the primary key's leaves): the
 * primary key of agg_target_hourly carries n (INCLUDE), so that the window of a page of targets
 * (store_window.c) reads the index alone. Without n, each row of the window was a visit to the
 * heap, where a target's hours lie in the order they arrived, one page each: at 1,000,000
 * measurements a page of 1,000 with window=30d read 52,000 buffers for 49,000 rows (4,600 now).
 * The key is unchanged (the upserts' ON CONFLICT infers it); an increment of n now writes an
 * index entry (no HOT update), as a new row always did.
 */
static const struct vg__mig_stmt vg__v10[] = {
    {NULL, NULL,
     "CREATE UNIQUE INDEX agg_target_hourly_key ON agg_target_hourly"
     " (input, probe_cc, probe_asn, hour_start, x_verdict, provenance) INCLUDE (n)"},
    {NULL, NULL,
     "ALTER TABLE agg_target_hourly DROP CONSTRAINT agg_target_hourly_pkey,"
     " ADD CONSTRAINT agg_target_hourly_pkey PRIMARY KEY USING INDEX agg_target_hourly_key"},
};

#define VG__STMTS(a) a, sizeof(a) / sizeof(a[0])

const struct vg__migration vg__migrations[] = {
    {1, "measurements, reports, hourly aggregates, targets", VG__STMTS(vg__v1), false, NULL, 0},
    {2, "daily aggregates per domain, per network, per country and domain", VG__STMTS(vg__v2),
     false, NULL, 0},
    {3, "provenance, report secrets, content keys, latest states per scope at trusted times",
     VG__STMTS(vg__v3), true, VG__STMTS(vg__v3_post)},
    {4, "analyser of each verdict and its evidence; reanalysis progress", VG__STMTS(vg__v4), false,
     NULL, 0},
    {5, "hourly counts per target and network", VG__STMTS(vg__v5), false, NULL, 0},
    {6, "alert events derived at ingest and reanalysis; alert consumers' cursors",
     VG__STMTS(vg__v6), false, NULL, 0},
    {7, "measurements' long strings stored once in blobs; zstd with trained dictionaries",
     VG__STMTS(vg__v7), false, NULL, 0},
    {8, "daily counts per domain by day (PostgreSQL)", VG__STMTS(vg__v8), false, NULL, 0},
    {9, "measurements by target and start time", VG__STMTS(vg__v9), false, NULL, 0},
    {10, "hourly counts per target read from their primary key alone (PostgreSQL)",
     VG__STMTS(vg__v10), false, NULL, 0},
};
const size_t vg__n_migrations = sizeof(vg__migrations) / sizeof(vg__migrations[0]);

/* Token -> {SQLite, PostgreSQL}. The only schema differences between the dialects. */
static const struct {
    const char *token;
    const char *repl[2];
} vg__tokens[] = {
    {"{text}", {"TEXT", "TEXT COLLATE \"C\""}},
    {"{blob}", {"BLOB", "BYTEA"}},
    {"{without_rowid}", {"WITHOUT ROWID", ""}},
};

char *
vg__mig_expand(const struct vg__mig_stmt *st, enum vg__dialect d)
{
    const char *src = st->both != NULL ? st->both : d == VG__SQLITE ? st->sqlite : st->pg;
    size_t cap, len = 0;
    char *out;

    if (src == NULL) {
        return NULL;
    }
    /* No replacement is longer than three times its token. */
    cap = strlen(src) * 3 + 1;
    out = vg_xmalloc(cap);
    while (*src != '\0') {
        size_t k, n = sizeof(vg__tokens) / sizeof(vg__tokens[0]);

        for (k = 0; k < n; k++) {
            size_t tl = strlen(vg__tokens[k].token);

            if (strncmp(src, vg__tokens[k].token, tl) == 0) {
                size_t rl = strlen(vg__tokens[k].repl[d]);

                memcpy(out + len, vg__tokens[k].repl[d], rl);
                len += rl;
                src += tl;
                break;
            }
        }
        if (k == n) {
            out[len++] = *src++;
        }
    }
    out[len] = '\0';
    return out;
}

static int
vg__version_row(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    int64_t *v = arg;

    (void)set;
    if (ncols == 1 && cols[0].t == VG__INT) {
        *v = cols[0].i;
    }
    return 0;
}

/* Run statements st[n] of migration version v. */
static int
vg__mig_run(const struct vg_store_ops *ops, struct vg__conn *c, int v,
            const struct vg__mig_stmt *st, size_t n, char *err, size_t errlen)
{
    for (size_t k = 0; k < n; k++) {
        char *sql = vg__mig_expand(&st[k], ops->dialect);
        int rc;

        if (sql == NULL) {
            continue;
        }
        rc = ops->exec(c, sql);
        VG_FREE(sql);
        if (rc < 0) {
            snprintf(err, errlen, "migration %d step %zu: %s", v, k + 1, ops->errmsg(c));
            return rc;
        }
    }
    return 0;
}

int
vg__store_migrate(const struct vg_store_ops *ops, struct vg__conn *c, bool no_migrate,
                  vg__mig_data_fn data, char *err, size_t errlen)
{
    static const char create[] = "CREATE TABLE IF NOT EXISTS schema_version ("
                                 " version BIGINT PRIMARY KEY,"
                                 " description TEXT NOT NULL,"
                                 " applied BIGINT NOT NULL)";
    static const char current[] = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
    static const char record[] =
        "INSERT INTO schema_version (version, description, applied) VALUES ($1, $2, $3)";
    int64_t have = 0;
    int latest = vg__migrations[vg__n_migrations - 1].version;
    int rc;

    rc = ops->exec(c, ops->begin_sql);
    if (rc < 0) {
        snprintf(err, errlen, "begin: %s", ops->errmsg(c));
        return rc;
    }
    /* Two collectors starting at once must not both create the tables. */
    if (ops->lock_sql != NULL && (rc = ops->exec(c, ops->lock_sql)) < 0) {
        snprintf(err, errlen, "migration lock: %s", ops->errmsg(c));
        goto fail;
    }
    if ((rc = ops->exec(c, create)) < 0 ||
        (rc = ops->run(c, current, 0, 1, 0, NULL, vg__version_row, &have)) < 0) {
        snprintf(err, errlen, "schema_version: %s", ops->errmsg(c));
        goto fail;
    }
    if (have > latest) {
        snprintf(err, errlen, "database schema version %lld is newer than this build's (%d)",
                 (long long)have, latest);
        rc = VG_STORE_ESCHEMA;
        goto fail;
    }
    if (have < latest && no_migrate) {
        snprintf(err, errlen, "database schema version %lld is older than %d (migration disabled)",
                 (long long)have, latest);
        rc = VG_STORE_ESCHEMA;
        goto fail;
    }
    for (size_t i = 0; i < vg__n_migrations; i++) {
        const struct vg__migration *m = &vg__migrations[i];
        struct vg__val p[3];

        if (m->version <= have) {
            continue;
        }
        if ((rc = vg__mig_run(ops, c, m->version, m->stmts, m->n_stmts, err, errlen)) < 0) {
            goto fail;
        }
        if (m->data_step && (rc = data(ops, c, m->version, err, errlen)) < 0) {
            goto fail;
        }
        if ((rc = vg__mig_run(ops, c, m->version, m->post, m->n_post, err, errlen)) < 0) {
            goto fail;
        }
        p[0] = (struct vg__val){.t = VG__INT, .i = m->version};
        p[1] = (struct vg__val){.t = VG__TEXT, .p = m->description, .len = strlen(m->description)};
        p[2] = (struct vg__val){.t = VG__INT, .i = (int64_t)time(NULL)};
        if ((rc = ops->run(c, record, 0, 1, 3, p, NULL, NULL)) < 0) {
            snprintf(err, errlen, "migration %d: %s", m->version, ops->errmsg(c));
            goto fail;
        }
    }
    if ((rc = ops->exec(c, "COMMIT")) < 0) {
        snprintf(err, errlen, "commit: %s", ops->errmsg(c));
        goto fail;
    }
    return 0;
fail:
    (void)ops->exec(c, "ROLLBACK");
    return rc;
}
