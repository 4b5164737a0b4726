/* SPDX-License-Identifier: MIT */
/*
 * store_ch_schema.c - the store's schema on ClickHouse (docs/storage.md, "ClickHouse: schema and
 * ingest"): its own list of statements, as the DDL differs too much from the SQL migrations'
 * (migrations.c) for their tokens, and its versions are its own (VG__CH_SCHEMA; 1: the tables of
 * the SQL schema 8, same names and columns; 2: reanalysis; 3: target_history; the steps at the
 * end of this file), so
 * that a SQL migration which changes nothing here does not turn ClickHouse stores away. A new
 * store's tables are made as version 1 made them, then take the steps an older store takes when
 * opened, each `IF NOT EXISTS` (or looked up first) so that two collectors starting at once, or a
 * restart, do no harm; the version is recorded in schema_version and a newer one is refused
 * (VG_STORE_ESCHEMA).
 *
 * Engines (ClickHouse has no unique keys, no UPDATE):
 *   measurements        ReplacingMergeTree(ver) by (measurement_start_time, idem_key): the copies
 *                       of one measurement share both, and a read with FINAL sees one of them,
 *                       the first received (ver's default falls with received), or the
 *                       newest analysis (a reanalysed row's ver is higher: version 2).
 *   agg_*               SummingMergeTree(n) on the SQL tables' keys, each fed by a MATERIALIZED
 *                       VIEW over the INSERTs into measurements, with the same time buckets and
 *                       dimensions as store_derive.c's vg__store_rollups: one INSERT of rows
 *                       writes their counts, server-side (and moves a reanalysed row's from
 *                       prev_verdict: version 2). Read them with sum(n) GROUP BY.
 *   reports, targets, alert_cursor, reanalyze_progress
 *                       ReplacingMergeTree(ver) on their keys: a change is a new row with a
 *                       higher ver (ver is the only column the SQL schema has not).
 *   blobs, raw_dicts    ReplacingMergeTree on their keys: the same key always has the same bytes.
 *   alert_events        ReplacingMergeTree by id.
 *   target_history      (version 3) the measurements that have an input, a few columns,
 *                       ReplacingMergeTree(ver) by (input, probe_cc, probe_asn,
 *                       measurement_start_time, idem_key), fed by a view like the counts: a
 *                       target's rows in a range of time are read without the others' (the
 *                       measurements' key is time first), for the neighbours of late rows
 *                       (store_ch_evlate.c) and the states a reanalysis recomputes. A row's
 *                       copies and analyses have its key and ver: FINAL shows the one
 *                       measurements FINAL shows. Granules of 128 rows, not 8,192: a
 *                       chunk of late rows (up to 1,024 targets) reads its targets' rows and
 *                       little more; with 1,024 rows a granule held ~24 targets of the 1M
 *                       bench, and a chunk read nearly every granule.
 * Blob columns are String (ClickHouse's one byte-string type).
 *
 * Sharded (spec ?cluster=NAME; docs/storage.md, "Running a ClickHouse cluster for vigie"): each
 * table X is X_local, as above, on the node the store connects to, and X = Distributed(NAME,
 * database, X_local, key) over the cluster's nodes; the views read measurements_local and write
 * the node's agg_*_local, so a row's counts are on its shard. The keys put the rows that must
 * meet on one shard: copies of a measurement (idem_key: FINAL merges them), a target's states, a
 * report's rows, ... The count tables have none (only their views write them). schema_version is
 * each node's own: no ON CLUSTER (no ZooKeeper), every node is made by a collector connected to
 * it. The tables are one list (vg__ch_tables) written in either form; a migration step is written
 * against the plain names and mapped to the sharded form (vg__store_ch_schema_shard).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ch_tsv.h"
#include "store_impl.h"
#include "util/buf.h"

/* The materialized views: the time bucket is computed as in vg__rollup (start - start % period). */
#define VG__CH_HOUR "measurement_start_time - measurement_start_time % 3600"
#define VG__CH_DAY  "measurement_start_time - measurement_start_time % 86400"

/* A table. Plain: CREATE TABLE name (cols[, calc MATERIALIZED expr]) ENGINE = engine. Sharded
 * (?cluster=): name_local the same, and name (cols[, calc ALIAS expr]) ENGINE =
 * Distributed(cluster, database, name_local[, key]) (18.16 refuses an insert through a Distributed
 * table with a MATERIALIZED column; with an ALIAS the column is not sent, the shard computes it).
 */
struct vg__ch_table {
    const char *name;
    const char *cols;   /* the columns of both forms */
    const char *calc;   /* a computed column ("NAME TYPE"), or "" */
    const char *expr;   /* its expression */
    const char *engine; /* of the stored table */
    const char *key;    /* the sharding key: the rows that must meet (FINAL, sums) share it; ""
                           none (nothing inserts through the Distributed table) */
};

static const struct vg__ch_table vg__ch_tables[] = {
    {"reports",
     "report_id String, probe_cc String, probe_asn Int64, software_name String,"
     " software_version String, test_name String, created Int64, closed Nullable(Int64),"
     " provenance String, legacy Int16, ver UInt64",
     "", "", "ReplacingMergeTree(ver) ORDER BY report_id", "sipHash64(report_id)"},
    /* copies of one measurement share its idem_key: on one shard, where FINAL sees them */
    {"measurements",
     "measurement_uid String, idem_key String, report_id String,"
     " measurement_start_time Int64, input Nullable(String), domain String, probe_cc String,"
     " probe_asn Int64, test_name String, software_name String, software_version String,"
     " x_verdict String, x_cause Nullable(String), blocking Nullable(String),"
     " accessible Nullable(Int16), received Int64, raw_len Int64, raw String,"
     " provenance String, x_analyzer Nullable(String), x_evidence Nullable(String)",
     "ver UInt64", "toUInt64(9223372036854775807 - received)",
     "ReplacingMergeTree(ver) PARTITION BY toYYYYMM(toDateTime(measurement_start_time))"
     " ORDER BY (measurement_start_time, idem_key)",
     "sipHash64(idem_key)"},
    /* the count tables: filled on the measurement's shard by its view, read with sum(n) */
    {"agg_hourly",
     "hour_start Int64, domain String, probe_cc String, probe_asn Int64, x_verdict String,"
     " provenance String, n Int64",
     "", "",
     "SummingMergeTree(n) ORDER BY (hour_start, domain, probe_cc, probe_asn, x_verdict,"
     " provenance)",
     ""},
    {"agg_daily_domain",
     "domain String, x_verdict String, day_start Int64, provenance String, n Int64", "", "",
     "SummingMergeTree(n) ORDER BY (domain, x_verdict, day_start, provenance)", ""},
    {"agg_daily_net",
     "day_start Int64, probe_cc String, probe_asn Int64, x_verdict String, provenance String,"
     " n Int64",
     "", "", "SummingMergeTree(n) ORDER BY (day_start, probe_cc, probe_asn, x_verdict, provenance)",
     ""},
    {"agg_daily_cc_domain",
     "probe_cc String, day_start Int64, domain String, x_verdict String, provenance String,"
     " n Int64",
     "", "", "SummingMergeTree(n) ORDER BY (probe_cc, day_start, domain, x_verdict, provenance)",
     ""},
    {"agg_target_hourly",
     "input String, probe_cc String, probe_asn Int64, hour_start Int64, x_verdict String,"
     " provenance String, n Int64",
     "", "",
     "SummingMergeTree(n) ORDER BY (input, probe_cc, probe_asn, hour_start, x_verdict,"
     " provenance)",
     ""},
    {"targets",
     "scope String, input String, probe_cc String, probe_asn Int64, domain String,"
     " x_verdict String, x_cause Nullable(String), since_time Int64, last_time Int64,"
     " brk_time Nullable(Int64), last_uid String, ver UInt64",
     "", "", "ReplacingMergeTree(ver) ORDER BY (scope, input, probe_cc, probe_asn)",
     "sipHash64(scope, input, probe_cc, probe_asn)"},
    {"alert_events",
     "id Int64, created Int64, input String, probe_cc String, probe_asn Int64,"
     " old_verdict Nullable(String), new_verdict String, cause Nullable(String),"
     " measurement_uid String, measurement_time Int64, source String, late Int16,"
     " provenance Nullable(String)",
     "", "", "ReplacingMergeTree ORDER BY id", "id"},
    {"alert_cursor", "consumer String, last_id Int64, updated Int64, ver UInt64", "", "",
     "ReplacingMergeTree(ver) ORDER BY consumer", "sipHash64(consumer)"},
    {"reanalyze_progress",
     "pass String, last_time Int64, last_uid String, examined Int64, changed Int64,"
     " updated Int64, ver UInt64",
     "", "", "ReplacingMergeTree(ver) ORDER BY pass", "sipHash64(pass)"},
    {"blobs", "hash String, data String", "", "", "ReplacingMergeTree ORDER BY hash",
     "sipHash64(hash)"},
    {"raw_dicts", "id Int64, data String, created Int64", "", "", "ReplacingMergeTree ORDER BY id",
     "id"},
};

/* Tables of later versions, made by their steps (vg__ch_steps), in both forms as above. */
static const struct vg__ch_table vg__ch_later[] = {
    {"target_history",
     "input String, probe_cc String, probe_asn Int64, measurement_start_time Int64,"
     " idem_key String, domain String, measurement_uid String, received Int64,"
     " x_verdict String, x_cause Nullable(String), provenance String, ver UInt64",
     "", "",
     "ReplacingMergeTree(ver) ORDER BY (input, probe_cc, probe_asn, measurement_start_time,"
     " idem_key) SETTINGS index_granularity = 128",
     "sipHash64(idem_key)"},
};

/* A materialized view over the INSERTs into measurements (sharded: into the node's
 * measurements_local, writing to_local): CREATE MATERIALIZED VIEW name TO to AS SELECT cols FROM
 * measurements rest. */
struct vg__ch_view {
    const char *name;
    const char *to;
    const char *cols;
    const char *rest;
};

static const struct vg__ch_view vg__ch_views[] = {
    {"agg_hourly_mv", "agg_hourly",
     VG__CH_HOUR " AS hour_start, domain, probe_cc, probe_asn, x_verdict, provenance,"
                 " toInt64(count()) AS n",
     " GROUP BY hour_start, domain, probe_cc, probe_asn, x_verdict, provenance"},
    {"agg_daily_domain_mv", "agg_daily_domain",
     "domain, x_verdict, " VG__CH_DAY " AS day_start, provenance, toInt64(count()) AS n",
     " GROUP BY domain, x_verdict, day_start, provenance"},
    {"agg_daily_net_mv", "agg_daily_net",
     VG__CH_DAY " AS day_start, probe_cc, probe_asn, x_verdict, provenance, toInt64(count()) AS n",
     " GROUP BY day_start, probe_cc, probe_asn, x_verdict, provenance"},
    {"agg_daily_cc_domain_mv", "agg_daily_cc_domain",
     "probe_cc, " VG__CH_DAY " AS day_start, domain, x_verdict, provenance, toInt64(count()) AS n",
     " GROUP BY probe_cc, day_start, domain, x_verdict, provenance"},
    /* only measurements with an input count per target, as in vg__rollup */
    {"agg_target_hourly_mv", "agg_target_hourly",
     "assumeNotNull(input) AS input, probe_cc, probe_asn, " VG__CH_HOUR " AS hour_start,"
     " x_verdict, provenance, toInt64(count()) AS n",
     " WHERE isNotNull(input) GROUP BY input, probe_cc, probe_asn, hour_start, x_verdict,"
     " provenance"},
};

#define VG__CH_NTABLES (sizeof(vg__ch_tables) / sizeof(vg__ch_tables[0]))
#define VG__CH_NLATER  (sizeof(vg__ch_later) / sizeof(vg__ch_later[0]))
#define VG__CH_NVIEWS  (sizeof(vg__ch_views) / sizeof(vg__ch_views[0]))

/* The table of vg__ch_tables or vg__ch_later named s[len], or NULL. */
static const struct vg__ch_table *
vg__ch_schema_table(const char *s, size_t len)
{
    for (size_t i = 0; i < VG__CH_NTABLES + VG__CH_NLATER; i++) {
        const struct vg__ch_table *t =
            i < VG__CH_NTABLES ? &vg__ch_tables[i] : &vg__ch_later[i - VG__CH_NTABLES];

        if (strlen(t->name) == len && memcmp(t->name, s, len) == 0) {
            return t;
        }
    }
    return NULL;
}

static bool
vg__ch_schema_wordch(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

int
vg__store_ch_schema_shard(const struct vg__ch_spec *sp, const char *plain, int form,
                          struct vg_buf *out)
{
    static const char alter[] = "ALTER TABLE ";
    size_t len = strlen(plain), run = 0, w;

    vg_buf_reset(out);
    if (form == 1) {
        /* the Distributed table takes the ALTERs of its stored table's columns */
        for (w = sizeof(alter) - 1; w < len && vg__ch_schema_wordch(plain[w]); w++) {
        }
        if (sp->cluster[0] == '\0' || strncmp(plain, alter, sizeof(alter) - 1) != 0 ||
            vg__ch_schema_table(plain + sizeof(alter) - 1, w - (sizeof(alter) - 1)) == NULL) {
            return 1;
        }
        return vg_buf_append(out, plain, len);
    }
    if (form != 0 || sp->cluster[0] == '\0') {
        return form != 0 ? 1 : vg_buf_append(out, plain, len);
    }
    for (size_t i = 0; i < len; i = w) {
        for (w = i; w < len && vg__ch_schema_wordch(plain[w]); w++) {
        }
        if (w == i) {
            w++;
        } else if ((i == 0 || !vg__ch_schema_wordch(plain[i - 1])) &&
                   vg__ch_schema_table(plain + i, w - i) != NULL) {
            VG_TRY(vg_buf_append(out, plain + run, w - run));
            VG_TRY(vg_buf_append(out, "_local", 6));
            run = w;
        }
    }
    return vg_buf_append(out, plain + run, len - run);
}

/* The CREATE of table t into out (emptied first): the stored table (dist false; sharded:
 * name_local) or the Distributed one over it (dist true). */
static int
vg__ch_schema_create(const struct vg__ch_spec *sp, const struct vg__ch_table *t, bool dist,
                     struct vg_buf *out)
{
    bool calc = t->calc[0] != '\0';

    vg_buf_reset(out);
    if (!dist) {
        return vg_buf_appendf(out, "CREATE TABLE IF NOT EXISTS %s%s (%s%s%s%s%s) ENGINE = %s",
                              t->name, sp->cluster[0] != '\0' ? "_local" : "", t->cols,
                              calc ? ", " : "", t->calc, calc ? " MATERIALIZED " : "", t->expr,
                              t->engine);
    }
    return vg_buf_appendf(out,
                          "CREATE TABLE IF NOT EXISTS %s (%s%s%s%s%s) ENGINE ="
                          " Distributed('%s', '%s', '%s_local'%s%s)",
                          t->name, t->cols, calc ? ", " : "", t->calc, calc ? " ALIAS " : "",
                          t->expr, sp->cluster, sp->database, t->name,
                          t->key[0] != '\0' ? ", " : "", t->key);
}

int
vg__store_ch_schema_stmt(const struct vg__ch_spec *sp, size_t k, struct vg_buf *out)
{
    const char *local = sp->cluster[0] != '\0' ? "_local" : "";
    size_t per = sp->cluster[0] != '\0' ? 2 : 1;

    if (k < per * VG__CH_NTABLES) {
        return vg__ch_schema_create(sp, &vg__ch_tables[k / per], k % per != 0, out);
    }
    vg_buf_reset(out);
    k -= per * VG__CH_NTABLES;
    if (k >= VG__CH_NVIEWS) {
        return 1;
    }
    return vg_buf_appendf(out,
                          "CREATE MATERIALIZED VIEW IF NOT EXISTS %s TO %s%s AS SELECT %s FROM"
                          " measurements%s%s",
                          vg__ch_views[k].name, vg__ch_views[k].to, local, vg__ch_views[k].cols,
                          local, vg__ch_views[k].rest);
}

static int vg__ch_schema_upgrade(const struct vg_store_ops *ops, struct vg__conn *c,
                                 const struct vg__ch_spec *sp, int from, char *err, size_t errlen);
static int vg__ch_schema_steps(const struct vg_store_ops *ops, struct vg__conn *c,
                               const struct vg__ch_spec *sp, int from, char *err, size_t errlen);

static int
vg__ch_schema_row(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    int64_t *v = arg;

    (void)set;
    for (size_t i = 0; i < ncols && i < 2; i++) {
        v[i] = cols[i].t == VG__INT ? cols[i].i : v[i];
    }
    return 0;
}

/* The stored schema has the form spec asks for: a sharded spec (?cluster=NAME) a Distributed
 * measurements over that cluster, which the server knows; a plain one a stored measurements. */
static int
vg__ch_schema_form(const struct vg_store_ops *ops, struct vg__conn *c, const struct vg__ch_spec *sp,
                   char *err, size_t errlen)
{
    static const char known[] = "SELECT toInt64(count()) FROM system.clusters WHERE cluster = $1";
    static const char form[] =
        "SELECT toInt64(engine = 'Distributed'), toInt64(position(engine_full, $1) > 0) FROM"
        " system.tables WHERE database = currentDatabase() AND name = 'measurements'";
    char quoted[VG__CH_NAME_MAX + 2];
    int64_t v[2] = {0, 0};
    struct vg__val p[1] = {vg__store_text(sp->cluster)};
    int rc;

    if (sp->cluster[0] != '\0') {
        if ((rc = ops->run(c, known, 0, 1, 1, p, vg__ch_schema_row, v)) < 0) {
            snprintf(err, errlen, "system.clusters: %s", ops->errmsg(c));
            return rc;
        }
        if (v[0] == 0) {
            snprintf(err, errlen, "no cluster %s in the server's remote_servers (?cluster=)",
                     sp->cluster);
            return VG_STORE_ESCHEMA;
        }
    }
    snprintf(quoted, sizeof(quoted), "'%s'", sp->cluster);
    p[0] = vg__store_text(quoted);
    v[0] = v[1] = -1;
    if ((rc = ops->run(c, form, 0, 1, 1, p, vg__ch_schema_row, v)) < 0) {
        snprintf(err, errlen, "system.tables: %s", ops->errmsg(c));
        return rc;
    }
    if (v[0] == 1 && sp->cluster[0] == '\0') {
        snprintf(err, errlen, "database %s is sharded: its spec wants its ?cluster=NAME",
                 sp->database);
        return VG_STORE_ESCHEMA;
    }
    if (v[0] != 1 && sp->cluster[0] != '\0') {
        snprintf(err, errlen,
                 "database %s is not sharded: its spec has no ?cluster=", sp->database);
        return VG_STORE_ESCHEMA;
    }
    if (v[0] == 1 && v[1] != 1) {
        snprintf(err, errlen, "database %s is sharded over another cluster than %s", sp->database,
                 sp->cluster);
        return VG_STORE_ESCHEMA;
    }
    return 0;
}

/* schema_version is each node's own (never Distributed): a sharded store is created, and
 * checked, node by node, by the collector connected to each (docs/storage.md). */
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
    } cur = {VG__CH_SCHEMA, "the tables of the SQL schema 8 (ClickHouse engines), prev_verdict,"
                            " target_history"},
      *m = &cur;
    const struct vg__ch_spec *sp = vg__store_ch_spec(c);
    int64_t have[2] = {0, 0};
    struct vg__val p[3];
    struct vg_buf sql;
    int rc;

    if ((rc = ops->exec(c, create)) < 0 ||
        (rc = ops->run(c, current, 0, 1, 0, NULL, vg__ch_schema_row, have)) < 0) {
        snprintf(err, errlen, "schema_version: %s", ops->errmsg(c));
        return rc;
    }
    if (have[0] > m->version) {
        snprintf(err, errlen, "database schema version %lld is newer than this build's (%d)",
                 (long long)have[0], m->version);
        return VG_STORE_ESCHEMA;
    }
    if (have[0] == m->version) {
        return vg__ch_schema_form(ops, c, sp, err, errlen);
    }
    if (have[0] > 0 && !no_migrate) {
        VG_TRY(vg__ch_schema_form(ops, c, sp, err, errlen));
        return vg__ch_schema_upgrade(ops, c, sp, (int)have[0], err, errlen); /* 1 -> 2 -> ... */
    }
    if (have[0] > 0 || no_migrate) {
        snprintf(err, errlen, "database schema version %lld is older than %d (migration disabled)",
                 (long long)have[0], m->version);
        return VG_STORE_ESCHEMA;
    }
    vg_buf_init(&sql, 16 * 1024);
    for (size_t k = 0; (rc = vg__store_ch_schema_stmt(sp, k, &sql)) == 0; k++) {
        const char *text = vg_buf_cstr(&sql);

        if (text == NULL || (rc = ops->exec(c, text)) < 0) {
            snprintf(err, errlen, "clickhouse schema step %zu: %s", k + 1,
                     text == NULL ? "statement over its room" : ops->errmsg(c));
            vg_buf_cleanup(&sql);
            return text == NULL ? VG_EINTERNAL : rc;
        }
    }
    vg_buf_cleanup(&sql);
    if (rc < 0) {
        snprintf(err, errlen, "clickhouse schema: statement over its room");
        return VG_EINTERNAL;
    }
    /* tables of another form already there (IF NOT EXISTS kept them) are refused */
    VG_TRY(vg__ch_schema_form(ops, c, sp, err, errlen));
    /* a new store is made as version 1 was, then upgraded: both come out the same */
    if (vg__store_ch_schema_max > VG__CH_SCHEMA_FIRST &&
        (rc = vg__ch_schema_steps(ops, c, sp, VG__CH_SCHEMA_FIRST, err, errlen)) < 0) {
        return rc;
    }
    p[0] = vg__store_int(vg__store_ch_schema_max > VG__CH_SCHEMA_FIRST ? m->version
                                                                       : VG__CH_SCHEMA_FIRST);
    p[1] = vg__store_text(m->description);
    p[2] = vg__store_int((int64_t)time(NULL));
    if ((rc = ops->run(c, record, 0, 1, 3, p, NULL, NULL)) < 0) {
        snprintf(err, errlen, "schema_version: %s", ops->errmsg(c));
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/*
 * The steps from one version to the next, written against the plain table names (the
 * sharded form maps them to its local tables). A store at version 1 (made by an older build) is
 * upgraded in place when opened; a new store is made at version 1 and then takes the same steps,
 * so that both come out the same. Replacing a materialized view is DROP then CREATE: an insert
 * in between would miss its counts, so migrate with the collectors stopped (docs/storage.md).
 *
 * Version 2 (reanalysis, store_ch_reanalyze.c): a measurement's new analysis is a new row of the
 * same (measurement_start_time, idem_key) with a higher ver, so ver becomes a DEFAULT column
 * (ingest still leaves it to the expression: the first received copy wins) that a reanalysed
 * row sets; prev_verdict (NULL at ingest) is the verdict the row replaces, and each count view
 * emits +1 for x_verdict and, when prev_verdict is set, -1 for it: one INSERT writes the new
 * rows and moves their counts, server-side.
 *
 * Version 3 (target_history): the table, its view, then the rows stored before the view, every
 * copy and analysis as they are (FINAL picks among them as among the measurements'): an insert
 * made between the view and the copy is there twice, the same key and ver, one row to FINAL;
 * an upgrade interrupted after the copy copies again, as harmlessly.
 */

int vg__store_ch_schema_max = VG__CH_SCHEMA;

/* target_history's columns after input, as the measurements name them (version 3) */
#define VG__CH_HISTORY_COLS                                                                     \
    "probe_cc, probe_asn, measurement_start_time, idem_key, domain, measurement_uid, received," \
    " x_verdict, x_cause, provenance, ver"

/* The count views of version 2: one row per measurement, two for a reanalysed one. */
#define VG__CH_V2_VERDICT "if(vg_sgn = 1, x_verdict, assumeNotNull(prev_verdict)) AS x_verdict"
#define VG__CH_V2_N       "toInt64(sum(vg_sgn)) AS n"
#define VG__CH_V2_JOIN                                                                  \
    " FROM measurements ARRAY JOIN if(isNull(prev_verdict), [toInt64(1)], [toInt64(1)," \
    " toInt64(-1)]) AS vg_sgn"

struct vg__ch_step {
    int version;                     /* the version it belongs to */
    const char *sql;                 /* one statement */
    const char *has;                 /* when set: a SELECT count() that is > 0 when the step is
                                        done already */
    const struct vg__ch_table *make; /* when set (sql NULL): this table made, in both forms */
};

static const struct vg__ch_step vg__ch_steps[] = {
    {2,
     "ALTER TABLE measurements MODIFY COLUMN ver UInt64"
     " DEFAULT toUInt64(9223372036854775807 - received)",
     NULL, NULL},
    {2, "ALTER TABLE measurements ADD COLUMN prev_verdict Nullable(String)",
     "SELECT count() FROM system.columns WHERE database = currentDatabase() AND"
     " table = 'measurements' AND name = 'prev_verdict'",
     NULL},

    {2, "DROP TABLE IF EXISTS agg_hourly_mv", NULL, NULL},
    {2,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_hourly_mv TO agg_hourly AS SELECT " VG__CH_HOUR
     " AS hour_start, domain, probe_cc, probe_asn, " VG__CH_V2_VERDICT
     ", provenance, " VG__CH_V2_N VG__CH_V2_JOIN
     " GROUP BY hour_start, domain, probe_cc, probe_asn, x_verdict, provenance",
     NULL, NULL},
    {2, "DROP TABLE IF EXISTS agg_daily_domain_mv", NULL, NULL},
    {2,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_daily_domain_mv TO agg_daily_domain AS SELECT"
     " domain, " VG__CH_V2_VERDICT ", " VG__CH_DAY
     " AS day_start, provenance, " VG__CH_V2_N VG__CH_V2_JOIN
     " GROUP BY domain, x_verdict, day_start, provenance",
     NULL, NULL},
    {2, "DROP TABLE IF EXISTS agg_daily_net_mv", NULL, NULL},
    {2,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_daily_net_mv TO agg_daily_net AS "
     "SELECT " VG__CH_DAY " AS day_start, probe_cc, probe_asn, " VG__CH_V2_VERDICT
     ", provenance, " VG__CH_V2_N VG__CH_V2_JOIN
     " GROUP BY day_start, probe_cc, probe_asn, x_verdict, provenance",
     NULL, NULL},
    {2, "DROP TABLE IF EXISTS agg_daily_cc_domain_mv", NULL, NULL},
    {2,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_daily_cc_domain_mv TO agg_daily_cc_domain AS"
     " SELECT probe_cc, " VG__CH_DAY " AS day_start, domain, " VG__CH_V2_VERDICT ", provenance,"
     " " VG__CH_V2_N VG__CH_V2_JOIN " GROUP BY probe_cc, day_start, domain, x_verdict, provenance",
     NULL, NULL},
    {2, "DROP TABLE IF EXISTS agg_target_hourly_mv", NULL, NULL},
    {2,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS agg_target_hourly_mv TO agg_target_hourly AS SELECT"
     " assumeNotNull(input) AS input, probe_cc, probe_asn, " VG__CH_HOUR " AS hour_start,"
     " " VG__CH_V2_VERDICT ", provenance, " VG__CH_V2_N VG__CH_V2_JOIN " WHERE input <> ''"
     " GROUP BY input, probe_cc, probe_asn, hour_start, x_verdict, provenance",
     NULL, NULL},
    /* Version 1's view counted the rows without an input too, under input '': its WHERE
     * isNotNull(input) read the alias (assumeNotNull(input) AS input), always true. Above,
     * input <> '' through the alias (a stored input is never '': NULL instead). Their counts
     * taken back, once (the sum under '' is then 0). */
    {2,
     "INSERT INTO agg_target_hourly (input, probe_cc, probe_asn, hour_start, x_verdict,"
     " provenance, n) SELECT '', probe_cc, probe_asn, " VG__CH_HOUR ", x_verdict, provenance,"
     " -toInt64(count()) FROM measurements FINAL WHERE isNull(input) GROUP BY probe_cc,"
     " probe_asn, " VG__CH_HOUR ", x_verdict, provenance",
     "SELECT count() FROM (SELECT sum(n) AS c FROM agg_target_hourly WHERE input = '')"
     " WHERE c <= 0",
     NULL},

    {3, NULL, NULL, &vg__ch_later[0]},
    /* input <> '' through the alias, as the count views of version 2 */
    {3,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS target_history_mv TO target_history AS SELECT"
     " assumeNotNull(input) AS input, " VG__CH_HISTORY_COLS " FROM measurements WHERE input <> ''",
     NULL, NULL},
    {3,
     "INSERT INTO target_history (input, " VG__CH_HISTORY_COLS
     ") SELECT assumeNotNull(input), " VG__CH_HISTORY_COLS
     " FROM measurements WHERE isNotNull(input)",
     NULL, NULL},
};

/* One step in one form (vg__store_ch_schema_shard): its check, then the statement if needed. */
static int
vg__ch_schema_step1(const struct vg_store_ops *ops, struct vg__conn *c,
                    const struct vg__ch_spec *sp, const struct vg__ch_step *st, int form,
                    struct vg_buf *sql)
{
    int64_t done[2] = {0, 0};
    const char *text;
    int rc;

    if (st->make != NULL) {
        if (form == 1 && sp->cluster[0] == '\0') {
            return 0; /* no Distributed table */
        }
        if (vg__ch_schema_create(sp, st->make, form == 1, sql) < 0 ||
            (text = vg_buf_cstr(sql)) == NULL) {
            return VG_EINTERNAL;
        }
        return ops->exec(c, text);
    }
    if ((rc = vg__store_ch_schema_shard(sp, st->sql, form, sql)) < 0) {
        return VG_EINTERNAL;
    }
    if (rc == 1) {
        return 0; /* nothing to do in this form */
    }
    if (st->has != NULL) {
        /* the check of the stored tables names them as the statement does; the Distributed
         * table's is the check as written (its name is the plain one): a step made there
         * before an interrupted upgrade is not made again */
        if (form == 1) {
            vg_buf_reset(sql);
            rc = vg_buf_append(sql, st->has, strlen(st->has));
        } else {
            rc = vg__store_ch_schema_shard(sp, st->has, form, sql);
        }
        if (rc < 0 || (text = vg_buf_cstr(sql)) == NULL) {
            return VG_EINTERNAL;
        }
        VG_TRY(ops->run(c, text, 0, 1, 0, NULL, vg__ch_schema_row, done));
        if (done[0] != 0) {
            return 0;
        }
    }
    if (vg__store_ch_schema_shard(sp, st->sql, form, sql) < 0 ||
        (text = vg_buf_cstr(sql)) == NULL) {
        return VG_EINTERNAL;
    }
    return ops->exec(c, text);
}

/* The steps after version `from` up to vg__store_ch_schema_max, each on the stored tables then
 * (sharded) on the Distributed ones. */
static int
vg__ch_schema_steps(const struct vg_store_ops *ops, struct vg__conn *c,
                    const struct vg__ch_spec *sp, int from, char *err, size_t errlen)
{
    struct vg_buf sql;
    int rc = 0;

    vg_buf_init(&sql, 16 * 1024);
    for (size_t k = 0; rc == 0 && k < sizeof(vg__ch_steps) / sizeof(vg__ch_steps[0]); k++) {
        const struct vg__ch_step *st = &vg__ch_steps[k];

        if (st->version <= from || st->version > vg__store_ch_schema_max) {
            continue;
        }
        for (int form = 0; rc == 0 && form < 2; form++) {
            rc = vg__ch_schema_step1(ops, c, sp, st, form, &sql);
        }
        if (rc < 0) {
            snprintf(err, errlen, "clickhouse schema %d, step %zu: %s", st->version, k + 1,
                     ops->errmsg(c));
        }
    }
    vg_buf_cleanup(&sql);
    return rc;
}

/* A store at version from (>= 1) brought to the current version, recorded. */
static int
vg__ch_schema_upgrade(const struct vg_store_ops *ops, struct vg__conn *c,
                      const struct vg__ch_spec *sp, int from, char *err, size_t errlen)
{
    static const char record[] =
        "INSERT INTO schema_version (version, description, applied) VALUES ($1, $2, $3)";
    struct vg__val p[3] = {vg__store_int(VG__CH_SCHEMA),
                           vg__store_text("upgraded by the steps of store_ch_schema.c"),
                           vg__store_int((int64_t)time(NULL))};
    int rc;

    if ((rc = vg__ch_schema_steps(ops, c, sp, from, err, errlen)) < 0) {
        return rc;
    }
    if ((rc = ops->run(c, record, 0, 1, 3, p, NULL, NULL)) < 0) {
        snprintf(err, errlen, "schema_version: %s", ops->errmsg(c));
    }
    return rc;
}
