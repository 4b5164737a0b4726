/* SPDX-License-Identifier: MIT */
/*
 * store_check.c - vg_store_integrity_check (store.h): the backend's own check, the invariants
 * that tie the count tables and the latest states to the measurements, then every measurement
 * read back through its stored form (store_raw.h): its blobs and dictionary there, hashes and
 * sizes right.
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

/* One page of the read-back pass: the uid, raw_len and raw of measurements after a uid. */
struct vg__check_page {
    struct vg_store *s;
    char last_uid[VG_UID_MAX];
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
    if (ncols != 3 || c[0].t != VG__TEXT) {
        return VG_EINTERNAL;
    }
    vg__store_copy_text(&c[0], pg->last_uid, sizeof(pg->last_uid));
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

/* Every measurement, a page at a time in uid order, decoded in full. */
static int
vg__check_read_back(struct vg_store *s, struct vg__conn *c, struct vg__check_q *q)
{
    static const char sql[] = "SELECT measurement_uid, raw_len, raw FROM measurements WHERE"
                              " measurement_uid > $1 ORDER BY measurement_uid LIMIT 500";
    struct vg__check_page pg = {.s = s, .err = q->err, .errlen = q->errlen};
    int rc;

    _Static_assert(VG__CHECK_PAGE == 500, "the LIMIT of the read-back query");
    do {
        struct vg__val after = vg__store_text(pg.last_uid);

        pg.rows = 0;
        rc = s->ops->run(c, sql, VG__RUN_CACHE, 1, 1, &after, vg__check_on_raw, &pg);
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
    int rc;

    VG_TRY(s->ops->check(c, q->err, q->errlen));
    /* One snapshot for all the counts, whatever the writer commits meanwhile. */
    VG_TRY(s->ops->exec(c, s->ops->snapshot_sql));
    rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(vg__checks) / sizeof(vg__checks[0]); i++) {
        int64_t v[2] = {-1, -2};

        rc = s->ops->run(c, vg__checks[i].sql, 0, 1, 0, NULL, vg__on_counts, v);
        if (rc < 0) {
            snprintf(q->err, q->errlen, "%s", s->ops->errmsg(c));
        } else if (v[0] != v[1]) {
            snprintf(q->err, q->errlen, "%s (%lld, expected %lld)", vg__checks[i].what,
                     (long long)v[0], (long long)v[1]);
            rc = VG_STORE_ECORRUPT;
        }
    }
    (void)s->ops->exec(c, "COMMIT");
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
    VG__STORE_CH_NOT_YET(s);
    return vg__store_read(s, vg__check_fn, &q);
}
