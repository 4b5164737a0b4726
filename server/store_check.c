/* SPDX-License-Identifier: MIT */
/*
 * store_check.c - vg_store_integrity_check (store.h): the backend's own check, the invariants
 * that tie the count tables and the latest states to the measurements, then every measurement
 * read back through its stored form (store_raw.h): its blobs and dictionary there, hashes and
 * sizes right.
 *
 * ClickHouse (vg__checks_ch): the same invariants in its dialect (no EXCEPT, EXISTS, correlated
 * subqueries or positional GROUP BY on 18.16): the count tables, summed by key (rows are summed
 * only when parts merge), against the counts of the measurements read with FINAL (one row per
 * measurement), each table directly, by a FULL JOIN on the key; the latest states against the
 * measurements by two LEFT JOINs; and a measurement stored twice under two uids, which two
 * collectors writing it at once can leave (store_ch_txn.c): its counts are counted twice. No
 * snapshot there: the check is exact on a store nobody writes to meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/str.h"

#define VG__CHECK_PAGE 500 /* measurements read back per query */

/* ---- integrity ---- */

static int
vg__on_counts(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    int64_t *v = arg;

    (void)set;
    for (size_t i = 0; i < ncols && i < 2; i++) {
        v[i] = c[i].t == VG__INT ? c[i].i : -1;
    }
    return 0;
}

struct vg__check_q {
    char *err;
    size_t errlen;
};

/* A measurement m's time for the latest states (store_impl.h vg__store_teff). */
#define VG__TEFF(m)                                                              \
    "(CASE WHEN " m ".measurement_start_time < " m ".received / 1000000 THEN " m \
    ".measurement_start_time ELSE " m ".received / 1000000 END)"
/* Measurement m belongs to the scope of latest state t. */
#define VG__IN_SCOPE(m, t)                                                              \
    "(" t ".scope = '*' OR " t ".scope = " m ".provenance OR (" t ".scope = '+' AND " m \
    ".provenance <> 'anonymous'))"

#define VG__TEFF_M      VG__TEFF("m")
#define VG__IN_SCOPE_MT VG__IN_SCOPE("m", "t")
/* Follows "SELECT <scope>, ": each target's newest capped time, FROM the measurements m. */
#define VG__NEWEST "input, probe_cc, probe_asn, MAX(" VG__TEFF_M ") AS newest FROM measurements m"

/* Invariants of the derived tables; each query returns (found, expected). */
static const struct {
    const char *what;
    const char *sql;
} vg__checks[] = {
    {"aggregate total differs from the number of measurements",
     "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT), (SELECT COUNT(*) FROM measurements)"
     " FROM agg_hourly"},
    {"aggregate buckets that disagree with the measurements",
     "SELECT COUNT(*), 0 FROM (SELECT measurement_start_time - measurement_start_time % 3600,"
     " domain, probe_cc, probe_asn, x_verdict, provenance, COUNT(*) FROM measurements"
     " GROUP BY 1, 2, 3, 4, 5, 6 EXCEPT SELECT hour_start, domain, probe_cc, probe_asn,"
     " x_verdict, provenance, n FROM agg_hourly) AS d"},
    {"aggregate rows with a count below 1",
     "SELECT (SELECT COUNT(*) FROM agg_hourly WHERE n < 1) + (SELECT COUNT(*) FROM"
     " agg_daily_domain WHERE n < 1) + (SELECT COUNT(*) FROM agg_daily_net WHERE n < 1) +"
     " (SELECT COUNT(*) FROM agg_daily_cc_domain WHERE n < 1) + (SELECT COUNT(*) FROM"
     " agg_target_hourly WHERE n < 1), 0"},
    {"per-target aggregate that disagrees with the measurements",
     "SELECT (SELECT COUNT(*) FROM (SELECT input, probe_cc, probe_asn,"
     " measurement_start_time - measurement_start_time % 3600, x_verdict, provenance, COUNT(*)"
     " FROM measurements WHERE input IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6 EXCEPT SELECT input,"
     " probe_cc, probe_asn, hour_start, x_verdict, provenance, n FROM agg_target_hourly) AS d) +"
     " (SELECT COUNT(*) FROM (SELECT input, probe_cc, probe_asn, hour_start, x_verdict,"
     " provenance, n FROM agg_target_hourly EXCEPT SELECT input, probe_cc, probe_asn,"
     " measurement_start_time - measurement_start_time % 3600, x_verdict, provenance, COUNT(*)"
     " FROM measurements WHERE input IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6) AS e), 0"},
    {"daily per-domain aggregate differs from the hourly one",
     "SELECT COUNT(*), 0 FROM (SELECT hour_start - hour_start % 86400, domain, x_verdict,"
     " provenance, CAST(SUM(n) AS BIGINT) FROM agg_hourly GROUP BY 1, 2, 3, 4 EXCEPT SELECT"
     " day_start, domain, x_verdict, provenance, n FROM agg_daily_domain) AS d"},
    {"daily per-network aggregate differs from the hourly one",
     "SELECT COUNT(*), 0 FROM (SELECT hour_start - hour_start % 86400, probe_cc, probe_asn,"
     " x_verdict, provenance, CAST(SUM(n) AS BIGINT) FROM agg_hourly GROUP BY 1, 2, 3, 4, 5"
     " EXCEPT SELECT day_start, probe_cc, probe_asn, x_verdict, provenance, n FROM"
     " agg_daily_net) AS d"},
    {"daily per-country-and-domain aggregate differs from the hourly one",
     "SELECT COUNT(*), 0 FROM (SELECT hour_start - hour_start % 86400, domain, probe_cc,"
     " x_verdict, provenance, CAST(SUM(n) AS BIGINT) FROM agg_hourly GROUP BY 1, 2, 3, 4, 5"
     " EXCEPT SELECT day_start, domain, probe_cc, x_verdict, provenance, n FROM"
     " agg_daily_cc_domain) AS d"},
    {"daily aggregate totals differ from the number of measurements",
     "SELECT (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM agg_daily_domain) +"
     " (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM agg_daily_net) +"
     " (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM agg_daily_cc_domain),"
     " 3 * (SELECT COUNT(*) FROM measurements)"},
    /* The newest time of each target in each scope comes from one grouped pass over the
     * measurements, joined to the latest states: a subquery per latest state, as this was,
     * scans the measurements once per state on PostgreSQL (no index leads with input), which
     * took minutes at 100,000 measurements. */
    {"targets whose latest measurement is not the newest, or disagrees",
     "SELECT COUNT(*), 0 FROM targets t LEFT JOIN (SELECT '*' AS scope, " VG__NEWEST
     " WHERE input IS NOT NULL GROUP BY input, probe_cc, probe_asn UNION ALL SELECT "
     "'+', " VG__NEWEST " WHERE input IS NOT NULL AND provenance <> 'anonymous' GROUP BY input,"
     " probe_cc, probe_asn UNION ALL SELECT provenance, " VG__NEWEST " WHERE input IS NOT NULL"
     " GROUP BY provenance, input, probe_cc, probe_asn) AS x ON x.scope = t.scope AND"
     " x.input = t.input AND x.probe_cc = t.probe_cc AND x.probe_asn = t.probe_asn"
     " WHERE t.since_time > t.last_time OR x.newest IS NULL OR t.last_time <> x.newest"
     " OR NOT EXISTS (SELECT 1 FROM measurements m WHERE m.measurement_uid = t.last_uid AND"
     " m.x_verdict = t.x_verdict AND " VG__TEFF_M " = t.last_time AND " VG__IN_SCOPE_MT ")"},
    {"targets missing for measured (input, network) pairs",
     "SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT DISTINCT input, probe_cc, probe_asn"
     " FROM measurements WHERE input IS NOT NULL) AS d) + (SELECT COUNT(*) FROM (SELECT"
     " DISTINCT provenance, input, probe_cc, probe_asn FROM measurements WHERE input IS NOT"
     " NULL) AS d) + (SELECT COUNT(*) FROM (SELECT DISTINCT input, probe_cc, probe_asn FROM"
     " measurements WHERE input IS NOT NULL AND provenance <> 'anonymous') AS d) FROM targets"},
    {"alert events of no stored measurement of their target, or that change nothing",
     "SELECT COUNT(*), 0 FROM alert_events e WHERE NOT EXISTS (SELECT 1 FROM measurements m"
     " WHERE m.measurement_uid = e.measurement_uid AND m.input = e.input AND"
     " m.probe_cc = e.probe_cc AND m.probe_asn = e.probe_asn) OR e.old_verdict = e.new_verdict"},
    {"alert cursors past the newest alert event",
     "SELECT COUNT(*), 0 FROM alert_cursor WHERE last_id > (SELECT COALESCE(MAX(id), 0) FROM"
     " alert_events)"},
};

/* ---- ClickHouse ---- */

/* The measurements that have an input (FINAL), with input not Nullable and each one's time for
 * the latest states as m_teff. Nested: ClickHouse lets a SELECT alias replace the column of the
 * same name in the WHERE clause, so "assumeNotNull(input) AS input ... WHERE isNotNull(input)"
 * would keep every row. */
#define VG__CH_MI                                                                                \
    "(SELECT assumeNotNull(m_input) AS input, probe_cc, probe_asn, provenance, x_verdict,"       \
    " measurement_uid, m_teff FROM (SELECT input AS m_input, probe_cc, probe_asn, provenance,"   \
    " x_verdict, measurement_uid, (CASE WHEN measurement_start_time < intDiv(received, 1000000)" \
    " THEN measurement_start_time ELSE intDiv(received, 1000000) END) AS m_teff FROM"            \
    " measurements FINAL WHERE isNotNull(input)))"
/* Keys (a column list) whose summed count in table differs from the count of measurements
 * (FINAL) grouped the same way by the expressions mexpr (ending with "AS <key>"), in source. */
#define VG__CH_SUMS(keys, table, mexpr, source)                        \
    "SELECT toInt64(count()), toInt64(0) FROM (SELECT " keys           \
    ", toInt64(sum(n)) AS a_n FROM " table " GROUP BY " keys           \
    ") ANY FULL OUTER JOIN (SELECT " mexpr ", toInt64(count()) AS b_n" \
    " FROM " source " GROUP BY " keys ") USING (" keys ") WHERE a_n <> b_n"
#define VG__CH_HOUR_AS "measurement_start_time - measurement_start_time % 3600 AS hour_start"
#define VG__CH_DAY_AS  "measurement_start_time - measurement_start_time % 86400 AS day_start"
/* Follows "SELECT <scope> AS scope, ": each target's newest time, FROM VG__CH_MI. */
#define VG__CH_NEWEST \
    "input, probe_cc, probe_asn, max(m_teff) AS newest, 1 AS found FROM " VG__CH_MI

static const struct {
    const char *what;
    const char *sql;
} vg__checks_ch[] = {
    {"measurements stored twice under two uids (two collectors stored one at once: the count"
     " tables count it twice)",
     "SELECT toInt64(count()), toInt64(0) FROM (SELECT idem_key, uniqExact(measurement_uid) AS u"
     " FROM measurements GROUP BY idem_key HAVING u > 1)"},
    {"aggregate total differs from the number of measurements",
     "SELECT toInt64(sum(n)), (SELECT toInt64(count()) FROM measurements FINAL) FROM agg_hourly"},
    {"aggregate buckets that disagree with the measurements",
     VG__CH_SUMS("hour_start, domain, probe_cc, probe_asn, x_verdict, provenance", "agg_hourly",
                 VG__CH_HOUR_AS ", domain, probe_cc, probe_asn, x_verdict, provenance",
                 "measurements FINAL")},
    {"per-target aggregate that disagrees with the measurements",
     VG__CH_SUMS("input, probe_cc, probe_asn, hour_start, x_verdict, provenance",
                 "agg_target_hourly",
                 "input, probe_cc, probe_asn, m_hour AS hour_start, x_verdict, provenance",
                 "(SELECT assumeNotNull(m_input) AS input, probe_cc, probe_asn, m_hour, x_verdict,"
                 " provenance FROM (SELECT input AS m_input, probe_cc, probe_asn,"
                 " measurement_start_time - measurement_start_time % 3600 AS m_hour, x_verdict,"
                 " provenance FROM measurements FINAL WHERE isNotNull(input)))")},
    {"daily per-domain aggregate that disagrees with the measurements",
     VG__CH_SUMS("domain, x_verdict, day_start, provenance", "agg_daily_domain",
                 "domain, x_verdict, " VG__CH_DAY_AS ", provenance", "measurements FINAL")},
    {"daily per-network aggregate that disagrees with the measurements",
     VG__CH_SUMS("day_start, probe_cc, probe_asn, x_verdict, provenance", "agg_daily_net",
                 VG__CH_DAY_AS ", probe_cc, probe_asn, x_verdict, provenance",
                 "measurements FINAL")},
    {"daily per-country-and-domain aggregate that disagrees with the measurements",
     VG__CH_SUMS("probe_cc, day_start, domain, x_verdict, provenance", "agg_daily_cc_domain",
                 "probe_cc, " VG__CH_DAY_AS ", domain, x_verdict, provenance",
                 "measurements FINAL")},
    {"targets whose latest measurement is not the newest",
     "SELECT toInt64(count()), toInt64(0) FROM (SELECT scope, input, probe_cc, probe_asn,"
     " since_time, last_time FROM targets FINAL) ANY LEFT JOIN (SELECT '*' AS scope, " VG__CH_NEWEST
     " GROUP BY input, probe_cc, probe_asn UNION ALL SELECT '+' AS scope, " VG__CH_NEWEST
     " WHERE provenance <> 'anonymous' GROUP BY input, probe_cc, probe_asn UNION ALL SELECT"
     " provenance AS scope, " VG__CH_NEWEST " GROUP BY provenance, input, probe_cc, probe_asn)"
     " USING (scope, input, probe_cc, probe_asn)"
     " WHERE since_time > last_time OR found = 0 OR last_time <> newest"},
    {"targets whose latest measurement is not stored, or disagrees",
     "SELECT toInt64(count()), toInt64(0) FROM (SELECT scope, input, probe_cc, probe_asn,"
     " x_verdict, last_time, last_uid AS measurement_uid FROM targets FINAL) ANY LEFT JOIN"
     " (SELECT measurement_uid, input AS m_input, probe_cc AS m_cc, probe_asn AS m_asn,"
     " x_verdict AS m_verdict, m_teff, provenance AS m_prov, 1 AS found FROM " VG__CH_MI ")"
     " USING measurement_uid WHERE found = 0 OR m_verdict <> x_verdict OR m_teff <> last_time"
     " OR m_input <> input OR m_cc <> probe_cc OR m_asn <> probe_asn OR NOT (scope = '*' OR"
     " scope = m_prov OR (scope = '+' AND m_prov <> 'anonymous'))"},
    {"targets missing for measured (input, network) pairs",
     "SELECT toInt64(count()), (SELECT toInt64(count()) FROM (SELECT DISTINCT input, probe_cc,"
     " probe_asn FROM " VG__CH_MI ")) + (SELECT toInt64(count()) FROM (SELECT DISTINCT provenance,"
     " input, probe_cc, probe_asn FROM " VG__CH_MI ")) + (SELECT toInt64(count()) FROM (SELECT"
     " DISTINCT input, probe_cc, probe_asn FROM " VG__CH_MI " WHERE provenance <> 'anonymous'))"
     " FROM targets FINAL"},
    {"alert events of no stored measurement of their target, or that change nothing",
     "SELECT toInt64(count()), toInt64(0) FROM (SELECT measurement_uid, input, probe_cc,"
     " probe_asn, old_verdict, new_verdict FROM alert_events FINAL) ANY LEFT JOIN (SELECT"
     " measurement_uid, input AS m_input, probe_cc AS m_cc, probe_asn AS m_asn, 1 AS found "
     "FROM " VG__CH_MI
     ") USING measurement_uid WHERE found = 0 OR m_input <> input OR m_cc <> probe_cc"
     " OR m_asn <> probe_asn OR ifNull(old_verdict, '') = new_verdict"},
    {"alert cursors past the newest alert event",
     "SELECT toInt64(count()), toInt64(0) FROM alert_cursor FINAL WHERE last_id > (SELECT"
     " toInt64(COALESCE(max(id), 0)) FROM alert_events)"},
    /* schema 3: target_history, fed by its view, shows what the measurements show */
    {"target history rows missing, extra, or that disagree with their measurement",
     "SELECT toInt64(count()), toInt64(0) FROM (SELECT measurement_uid, input, probe_cc,"
     " probe_asn, x_verdict, provenance, (CASE WHEN measurement_start_time < intDiv(received,"
     " 1000000) THEN measurement_start_time ELSE intDiv(received, 1000000) END) AS teff, 1 AS"
     " h_found FROM target_history FINAL) ANY FULL OUTER JOIN (SELECT measurement_uid, input AS"
     " m_input, probe_cc AS m_cc, probe_asn AS m_asn, x_verdict AS m_verdict, provenance AS"
     " m_prov, m_teff, 1 AS m_found FROM " VG__CH_MI ") USING measurement_uid WHERE h_found = 0"
     " OR m_found = 0 OR m_input <> input OR m_cc <> probe_cc OR m_asn <> probe_asn OR"
     " m_verdict <> x_verdict OR m_prov <> provenance OR m_teff <> teff"},
};

/* One page of the read-back pass: the uid, raw_len and raw of measurements after a uid. */
struct vg__check_page {
    struct vg_store *s;
    char last_uid[VG_UID_MAX];
    int64_t last_t; /* ClickHouse: the last row's key (time, idem_key) */
    char last_key[VG_STORE_IDEM_MAX];
    size_t rows;
    int64_t bad_len;
    int rc;
    char *err;
    size_t errlen;
};

static int
vg__check_on_raw(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__check_page *pg = arg;
    char *text = NULL;
    size_t len = 0;
    int rc;

    (void)set;
    if ((ncols != 3 && (ncols != 5 || c[3].t != VG__INT)) || c[0].t != VG__TEXT) {
        return VG_EINTERNAL;
    }
    vg__store_copy_text(&c[0], pg->last_uid, sizeof(pg->last_uid));
    if (ncols == 5) {
        pg->last_t = c[3].i;
        vg__store_copy_text(&c[4], pg->last_key, sizeof(pg->last_key));
    }
    pg->rows++;
    rc = vg__raw_decode_row(pg->s, &c[1], &c[2], &text, &len);
    free(text);
    if (rc == VG_STORE_EUNAVAIL) {
        return rc;
    }
    if (rc < 0) {
        snprintf(pg->err, pg->errlen,
                 "measurement %s does not read back from its stored form (a missing blob or"
                 " dictionary, or damaged bytes)",
                 pg->last_uid);
        pg->rc = VG_STORE_ECORRUPT;
        return VG_STORE_ECORRUPT;
    }
    return 0;
}

/* ClickHouse: in the order of its primary key (a uid order would sort every row per page), FINAL */
#define VG__CHECK_CH_RAW                                                                       \
    "SELECT measurement_uid, raw_len, raw, measurement_start_time, idem_key FROM measurements" \
    " FINAL"
#define VG__CHECK_CH_ORDER " ORDER BY measurement_start_time, idem_key LIMIT 500"

/* Every measurement, a page at a time in uid order (ClickHouse: key order), decoded in full. */
static int
vg__check_read_back(struct vg_store *s, struct vg__conn *c, struct vg__check_q *q)
{
    static const char sql[] = "SELECT measurement_uid, raw_len, raw FROM measurements WHERE"
                              " measurement_uid > $1 ORDER BY measurement_uid LIMIT 500";
    /* WHERE: through a Distributed table (a sharded store), 18.16 fails a FINAL read without one
     * ("Cannot find column ... in source stream") */
    static const char sql_ch0[] = VG__CHECK_CH_RAW " WHERE 1 = 1" VG__CHECK_CH_ORDER;
    static const char sql_ch[] = VG__CHECK_CH_RAW " WHERE measurement_start_time > $1 OR"
                                                  " (measurement_start_time = $1 AND idem_key >"
                                                  " $2)" VG__CHECK_CH_ORDER;
    struct vg__check_page pg = {.s = s, .err = q->err, .errlen = q->errlen};
    bool ch = s->ops->dialect == VG__CH, first = true;
    int rc;

    _Static_assert(VG__CHECK_PAGE == 500, "the LIMIT of the read-back queries");
    do {
        struct vg__val after[2] = {vg__store_text(pg.last_uid)};

        pg.rows = 0;
        if (ch) {
            after[0] = vg__store_int(pg.last_t);
            after[1] = vg__store_text(pg.last_key);
            rc = s->ops->run(c, first ? sql_ch0 : sql_ch, 0, 1, first ? 0 : 2, after,
                             vg__check_on_raw, &pg);
        } else {
            rc = s->ops->run(c, sql, VG__RUN_CACHE, 1, 1, after, vg__check_on_raw, &pg);
        }
        first = false;
        if (rc < 0 && pg.rc == 0) {
            snprintf(q->err, q->errlen, "%s", s->ops->errmsg(c));
        }
    } while (rc == 0 && pg.rows == VG__CHECK_PAGE);
    return rc;
}

static int
vg__check_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__check_q *q = arg;
    bool ch = s->ops->dialect == VG__CH;
    size_t n = ch ? sizeof(vg__checks_ch) / sizeof(vg__checks_ch[0])
                  : sizeof(vg__checks) / sizeof(vg__checks[0]);
    int rc;

    VG_TRY(s->ops->check(c, q->err, q->errlen));
    /* One snapshot for all the counts, whatever the writer commits meanwhile (not on
     * ClickHouse, which has none). */
    if (!ch) {
        VG_TRY(s->ops->exec(c, s->ops->snapshot_sql));
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *what = ch ? vg__checks_ch[i].what : vg__checks[i].what;
        int64_t v[2] = {-1, -2};

        rc = s->ops->run(c, ch ? vg__checks_ch[i].sql : vg__checks[i].sql, 0, 1, 0, NULL,
                         vg__on_counts, v);
        if (rc < 0) {
            snprintf(q->err, q->errlen, "%s", s->ops->errmsg(c));
        } else if (v[0] != v[1]) {
            snprintf(q->err, q->errlen, "%s (%lld, expected %lld)", what, (long long)v[0],
                     (long long)v[1]);
            rc = VG_STORE_ECORRUPT;
        }
    }
    if (!ch) {
        (void)s->ops->exec(c, "COMMIT");
    }
    /* Outside the snapshot, in short statements: raw columns are never rewritten and nothing
     * deletes measurements or blobs, and a snapshot held for the whole pass would keep SQLite's
     * WAL from being checkpointed and PostgreSQL's vacuum from cleaning meanwhile. */
    if (rc == 0) {
        rc = vg__check_read_back(s, c, q);
    }
    return rc;
}

int
vg_store_integrity_check(struct vg_store *s, char *err, size_t errlen)
{
    char scratch[1];
    struct vg__check_q q = {err != NULL ? err : scratch, err != NULL ? errlen : sizeof(scratch)};

    if (q.errlen > 0) {
        q.err[0] = '\0';
    }
    return vg__store_read(s, vg__check_fn, &q);
}
