/* SPDX-License-Identifier: MIT */
/*
 * store_ch_schema.c - the store's schema on ClickHouse (docs/storage.md, "ClickHouse: schema and
 * ingest"): its own list of statements, as the DDL differs too much from the SQL migrations'
 * (migrations.c) for their tokens, and its versions are its own (VG__CH_SCHEMA, 1: the tables of
 * the SQL schema 8, same names and columns), so that a SQL migration which changes nothing here
 * does not turn ClickHouse stores away. No older ClickHouse store exists: the tables are created
 * at once at the current version,
 * each `IF NOT EXISTS` so that two collectors starting at once, or a restart, do no harm; the
 * version is recorded in schema_version and a newer one is refused (VG_STORE_ESCHEMA).
 *
 * Engines (ClickHouse has no unique keys, no UPDATE):
 *   measurements        ReplacingMergeTree(ver) by (measurement_start_time, idem_key): the copies
 *                       of one measurement share both, and a read with FINAL sees one of them,
 *                       the first received (ver is a materialized column falling with received).
 *   agg_*               SummingMergeTree(n) on the SQL tables' keys, each fed by a MATERIALIZED
 *                       VIEW over the INSERTs into measurements, with the same time buckets and
 *                       dimensions as store_derive.c's vg__store_rollups: one INSERT of rows
 *                       writes their counts, server-side. Read them with sum(n) GROUP BY.
 *   reports, targets, alert_cursor, reanalyze_progress
 *                       ReplacingMergeTree(ver) on their keys: a change is a new row with a
 *                       higher ver (ver is the only column the SQL schema has not).
 *   blobs, raw_dicts    ReplacingMergeTree on their keys: the same key always has the same bytes.
 *   alert_events        ReplacingMergeTree by id.
 * Blob columns are String (ClickHouse's one byte-string type).
 */
#include <stdio.h>
#include <time.h>

#include "store_impl.h"

/* The materialized views: the time bucket is computed as in vg__rollup (start - start % period). */
#define VG__CH_HOUR "measurement_start_time - measurement_start_time % 3600"
#define VG__CH_DAY  "measurement_start_time - measurement_start_time % 86400"

static const char *const vg__ch_schema[] = {
    "CREATE TABLE IF NOT EXISTS reports ("
    " report_id String, probe_cc String, probe_asn Int64, software_name String,"
    " software_version String, test_name String, created Int64, closed Nullable(Int64),"
    " provenance String, legacy Int16, ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) ORDER BY report_id",

    "CREATE TABLE IF NOT EXISTS measurements ("
    " measurement_uid String, idem_key String, report_id String,"
    " measurement_start_time Int64, input Nullable(String), domain String, probe_cc String,"
    " probe_asn Int64, test_name String, software_name String, software_version String,"
    " x_verdict String, x_cause Nullable(String), blocking Nullable(String),"
    " accessible Nullable(Int16), received Int64, raw_len Int64, raw String,"
    " provenance String, x_analyzer Nullable(String), x_evidence Nullable(String),"
    " ver UInt64 MATERIALIZED toUInt64(9223372036854775807 - received))"
    " ENGINE = ReplacingMergeTree(ver)"
    " PARTITION BY toYYYYMM(toDateTime(measurement_start_time))"
    " ORDER BY (measurement_start_time, idem_key)",

    "CREATE TABLE IF NOT EXISTS agg_hourly ("
    " hour_start Int64, domain String, probe_cc String, probe_asn Int64, x_verdict String,"
    " provenance String, n Int64)"
    " ENGINE = SummingMergeTree(n)"
    " ORDER BY (hour_start, domain, probe_cc, probe_asn, x_verdict, provenance)",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_hourly_mv TO agg_hourly AS SELECT " VG__CH_HOUR
    " AS hour_start, domain, probe_cc, probe_asn, x_verdict, provenance, toInt64(count()) AS n"
    " FROM measurements GROUP BY hour_start, domain, probe_cc, probe_asn, x_verdict, provenance",

    "CREATE TABLE IF NOT EXISTS agg_daily_domain ("
    " domain String, x_verdict String, day_start Int64, provenance String, n Int64)"
    " ENGINE = SummingMergeTree(n) ORDER BY (domain, x_verdict, day_start, provenance)",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_daily_domain_mv TO agg_daily_domain AS SELECT"
    " domain, x_verdict, " VG__CH_DAY " AS day_start, provenance, toInt64(count()) AS n"
    " FROM measurements GROUP BY domain, x_verdict, day_start, provenance",

    "CREATE TABLE IF NOT EXISTS agg_daily_net ("
    " day_start Int64, probe_cc String, probe_asn Int64, x_verdict String, provenance String,"
    " n Int64)"
    " ENGINE = SummingMergeTree(n) ORDER BY (day_start, probe_cc, probe_asn, x_verdict, "
    "provenance)",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_daily_net_mv TO agg_daily_net AS SELECT " VG__CH_DAY
    " AS day_start, probe_cc, probe_asn, x_verdict, provenance, toInt64(count()) AS n"
    " FROM measurements GROUP BY day_start, probe_cc, probe_asn, x_verdict, provenance",

    "CREATE TABLE IF NOT EXISTS agg_daily_cc_domain ("
    " probe_cc String, day_start Int64, domain String, x_verdict String, provenance String,"
    " n Int64)"
    " ENGINE = SummingMergeTree(n) ORDER BY (probe_cc, day_start, domain, x_verdict, provenance)",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_daily_cc_domain_mv TO agg_daily_cc_domain AS"
    " SELECT probe_cc, " VG__CH_DAY " AS day_start, domain, x_verdict, provenance,"
    " toInt64(count()) AS n"
    " FROM measurements GROUP BY probe_cc, day_start, domain, x_verdict, provenance",

    /* only measurements with an input count per target, as in vg__rollup. ClickHouse lets the
     * alias "input" replace the column in WHERE: "assumeNotNull(input) AS input ... WHERE
     * isNotNull(input)" kept every row (those without an input under ''); a NULL becomes '\0',
     * which no input holds (stored from C strings), and is left out. */
    "CREATE TABLE IF NOT EXISTS agg_target_hourly ("
    " input String, probe_cc String, probe_asn Int64, hour_start Int64, x_verdict String,"
    " provenance String, n Int64)"
    " ENGINE = SummingMergeTree(n)"
    " ORDER BY (input, probe_cc, probe_asn, hour_start, x_verdict, provenance)",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_target_hourly_mv TO agg_target_hourly AS SELECT"
    " ifNull(input, '\\0') AS input, probe_cc, probe_asn, " VG__CH_HOUR " AS hour_start,"
    " x_verdict, provenance, toInt64(count()) AS n"
    " FROM measurements WHERE input <> '\\0'"
    " GROUP BY input, probe_cc, probe_asn, hour_start, x_verdict, provenance",

    "CREATE TABLE IF NOT EXISTS targets ("
    " scope String, input String, probe_cc String, probe_asn Int64, domain String,"
    " x_verdict String, x_cause Nullable(String), since_time Int64, last_time Int64,"
    " brk_time Nullable(Int64), last_uid String, ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) ORDER BY (scope, input, probe_cc, probe_asn)",

    "CREATE TABLE IF NOT EXISTS alert_events ("
    " id Int64, created Int64, input String, probe_cc String, probe_asn Int64,"
    " old_verdict Nullable(String), new_verdict String, cause Nullable(String),"
    " measurement_uid String, measurement_time Int64, source String, late Int16,"
    " provenance Nullable(String))"
    " ENGINE = ReplacingMergeTree ORDER BY id",
    "CREATE TABLE IF NOT EXISTS alert_cursor ("
    " consumer String, last_id Int64, updated Int64, ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) ORDER BY consumer",

    "CREATE TABLE IF NOT EXISTS reanalyze_progress ("
    " pass String, last_time Int64, last_uid String, examined Int64, changed Int64,"
    " updated Int64, ver UInt64)"
    " ENGINE = ReplacingMergeTree(ver) ORDER BY pass",

    "CREATE TABLE IF NOT EXISTS blobs (hash String, data String)"
    " ENGINE = ReplacingMergeTree ORDER BY hash",
    "CREATE TABLE IF NOT EXISTS raw_dicts (id Int64, data String, created Int64)"
    " ENGINE = ReplacingMergeTree ORDER BY id",
};

static int
vg__ch_schema_row(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    int64_t *v = arg;

    (void)set;
    if (ncols == 1 && cols[0].t == VG__INT) {
        *v = cols[0].i;
    }
    return 0;
}

int
vg__store_ch_migrate(const struct vg_store_ops *ops, struct vg__conn *c, bool no_migrate, char *err,
                     size_t errlen)
{
    static const char create[] = "CREATE TABLE IF NOT EXISTS schema_version ("
                                 " version Int64, description String, applied Int64)"
                                 " ENGINE = ReplacingMergeTree ORDER BY version";
    static const char current[] = "SELECT toInt64(max(version)) FROM schema_version";
    static const char record[] =
        "INSERT INTO schema_version (version, description, applied) VALUES ($1, $2, $3)";
    static const struct {
        int version;
        const char *description;
    } cur = {VG__CH_SCHEMA, "the tables of the SQL schema 8 (ClickHouse engines)"}, *m = &cur;
    int64_t have = 0;
    struct vg__val p[3];
    int rc;

    if ((rc = ops->exec(c, create)) < 0 ||
        (rc = ops->run(c, current, 0, 1, 0, NULL, vg__ch_schema_row, &have)) < 0) {
        snprintf(err, errlen, "schema_version: %s", ops->errmsg(c));
        return rc;
    }
    if (have > m->version) {
        snprintf(err, errlen, "database schema version %lld is newer than this build's (%d)",
                 (long long)have, m->version);
        return VG_STORE_ESCHEMA;
    }
    if (have == m->version) {
        return 0;
    }
    if (have > 0 || no_migrate) {
        /* no older ClickHouse schema exists: a version below ours is not ours */
        snprintf(err, errlen, "database schema version %lld is older than %d (%s)", (long long)have,
                 m->version, no_migrate ? "migration disabled" : "no ClickHouse migration from it");
        return VG_STORE_ESCHEMA;
    }
    for (size_t k = 0; k < sizeof(vg__ch_schema) / sizeof(vg__ch_schema[0]); k++) {
        if ((rc = ops->exec(c, vg__ch_schema[k])) < 0) {
            snprintf(err, errlen, "clickhouse schema step %zu: %s", k + 1, ops->errmsg(c));
            return rc;
        }
    }
    p[0] = vg__store_int(m->version);
    p[1] = vg__store_text(m->description);
    p[2] = vg__store_int((int64_t)time(NULL));
    if ((rc = ops->run(c, record, 0, 1, 3, p, NULL, NULL)) < 0) {
        snprintf(err, errlen, "schema_version: %s", ops->errmsg(c));
    }
    return rc;
}
