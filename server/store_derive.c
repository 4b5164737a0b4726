/* SPDX-License-Identifier: MIT */
/*
 * store_derive.c - the ingest statements (multi-row INSERTs prepared per chunk size) and what a
 * write transaction derives from its new measurements: the count tables (rollups, per hour and
 * per day, by provenance) and the latest states of every (input, network) per scope (all, trusted,
 * each provenance), each written in key order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "util/buf.h"
#include "util/mem.h"

/*
 * The latest-state row of (input, network). Let V be its verdict, S the start of V's current
 * run, L the latest time seen, B the latest time of another verdict before S. A measurement
 * (t, v):
 *   t >= L, v = V:  L = t
 *   t >= L, v != V: B = L, V = v, S = L = t
 *   t < L,  v = V:  S = t when t < S and t > B (the run reaches back further)
 *   t < L,  v != V: B = max(B, t); when t >= S the run is broken after t and S becomes L (the
 *                   earliest time we still know to be in the run: later than or equal to truth)
 * All SET expressions read the row as it was before the update, in SQLite and PostgreSQL.
 */
static const char vg__sql_target_tail[] =
    " ON CONFLICT (scope, input, probe_cc, probe_asn) DO UPDATE SET"
    " x_verdict = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.x_verdict ELSE targets.x_verdict END,"
    " x_cause = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.x_cause ELSE targets.x_cause END,"
    " last_uid = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.last_uid ELSE targets.last_uid END,"
    " since_time = CASE"
    "  WHEN excluded.last_time >= targets.last_time THEN"
    "   CASE WHEN excluded.x_verdict = targets.x_verdict"
    "    THEN targets.since_time ELSE excluded.last_time END"
    "  WHEN excluded.x_verdict = targets.x_verdict THEN"
    "   CASE WHEN excluded.last_time < targets.since_time"
    "    AND (targets.brk_time IS NULL OR excluded.last_time > targets.brk_time)"
    "    THEN excluded.last_time ELSE targets.since_time END"
    "  WHEN excluded.last_time >= targets.since_time THEN targets.last_time"
    "  ELSE targets.since_time END,"
    " brk_time = CASE"
    "  WHEN excluded.last_time >= targets.last_time THEN"
    "   CASE WHEN excluded.x_verdict = targets.x_verdict"
    "    THEN targets.brk_time ELSE targets.last_time END"
    "  WHEN excluded.x_verdict = targets.x_verdict THEN targets.brk_time"
    "  WHEN targets.brk_time IS NULL OR excluded.last_time > targets.brk_time"
    "   THEN excluded.last_time"
    "  ELSE targets.brk_time END,"
    " last_time = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.last_time ELSE targets.last_time END";

/*
 * The ingest statements, as an INSERT head, one VALUES tuple (placeholders $1..$width) and a
 * tail. The writer runs each over many rows at once: the tuple repeated k times, renumbered, k
 * from vg__chunks (vg__store_write_rows). One statement per 256 rows instead of one per row is what
 * makes PostgreSQL fast (planning and protocol costs per statement), and SQLite a bit faster.
 * Rows of one statement never share a conflict key (counts are merged per key first; latest
 * states go in rounds), as PostgreSQL's DO UPDATE requires. Indexed by VG__W_* (store_impl.h).
 */

static const struct vg__wsql {
    const char *head;
    const char *tuple;
    const char *tail;
    size_t width;
} vg__wsql[VG__N_W] = {
    [VG__W_MEAS] = {"INSERT INTO measurements (measurement_uid, idem_key, report_id,"
                    " measurement_start_time, input, domain, probe_cc, probe_asn, test_name,"
                    " software_name, software_version, x_verdict, x_cause, blocking, accessible,"
                    " received, raw_len, raw, provenance, x_analyzer, x_evidence) VALUES ",
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
                    " $18, $19, $20, $21)",
                    " ON CONFLICT DO NOTHING RETURNING measurement_uid", VG__MEAS_COLS},
    [VG__W_AGG_HOUR] = {"INSERT INTO agg_hourly (hour_start, domain, probe_cc, probe_asn,"
                        " x_verdict, provenance, n) VALUES ",
                        "($1, $2, $3, $4, $5, $6, $7)",
                        " ON CONFLICT (hour_start, domain, probe_cc, probe_asn, x_verdict,"
                        " provenance) DO UPDATE SET n = agg_hourly.n + excluded.n",
                        7},
    [VG__W_AGG_NET] = {"INSERT INTO agg_daily_net (day_start, probe_cc, probe_asn, x_verdict,"
                       " provenance, n) VALUES ",
                       "($1, $2, $3, $4, $5, $6)",
                       " ON CONFLICT (day_start, probe_cc, probe_asn, x_verdict, provenance)"
                       " DO UPDATE SET n = agg_daily_net.n + excluded.n",
                       6},
    [VG__W_AGG_DOMAIN] = {"INSERT INTO agg_daily_domain (day_start, domain, x_verdict, provenance,"
                          " n) VALUES ",
                          "($1, $2, $3, $4, $5)",
                          " ON CONFLICT (domain, x_verdict, day_start, provenance)"
                          " DO UPDATE SET n = agg_daily_domain.n + excluded.n",
                          5},
    [VG__W_AGG_CC_DOMAIN] = {"INSERT INTO agg_daily_cc_domain (day_start, domain, probe_cc,"
                             " x_verdict, provenance, n) VALUES ",
                             "($1, $2, $3, $4, $5, $6)",
                             " ON CONFLICT (probe_cc, day_start, domain, x_verdict, provenance)"
                             " DO UPDATE SET n = agg_daily_cc_domain.n + excluded.n",
                             6},
    [VG__W_AGG_TARGET] = {"INSERT INTO agg_target_hourly (hour_start, input, probe_cc, probe_asn,"
                          " x_verdict, provenance, n) VALUES ",
                          "($1, $2, $3, $4, $5, $6, $7)",
                          " ON CONFLICT (input, probe_cc, probe_asn, hour_start, x_verdict,"
                          " provenance) DO UPDATE SET n = agg_target_hourly.n + excluded.n",
                          7},
    [VG__W_TARGET] = {"INSERT INTO targets (scope, input, probe_cc, probe_asn, domain, x_verdict,"
                      " x_cause, since_time, last_time, brk_time, last_uid) VALUES ",
                      "($1, $2, $3, $4, $5, $6, $7, $8, $8, NULL, $9)", vg__sql_target_tail,
                      VG__TARGET_COLS},
    /* read, not written: the latest states (scope all) the alert events follow (store_events.c);
     * PostgreSQL's form (SQLite's below): per key, the first primary-key entry at or after it
     * (a row comparison only the primary key's index can serve), kept when it is the key. The
     * generic plan of a prepared statement is made while targets is small and has no statistics,
     * and stays: "(input, probe_cc, probe_asn) IN (VALUES ...)", or a join on the four columns,
     * got a scan of every latest state in scope all (targets_domain, on scope alone) per key or
     * statement: 30-65 ms per 32 keys as targets grew, up to 70% of the server's time. */
    [VG__W_PREV] =
        {"SELECT t.input, t.probe_cc, t.probe_asn, t.x_verdict, t.last_time FROM (VALUES ",
         "($1, $2, CAST($3 AS BIGINT))",
         ") AS v (input, probe_cc, probe_asn) CROSS JOIN LATERAL (SELECT x.scope, x.input,"
         " x.probe_cc, x.probe_asn, x.x_verdict, x.last_time FROM targets x WHERE (x.scope,"
         " x.input, x.probe_cc, x.probe_asn) >= ('*', v.input, v.probe_cc, v.probe_asn)"
         " ORDER BY x.scope, x.input, x.probe_cc, x.probe_asn LIMIT 1) AS t WHERE t.scope = '*'"
         " AND t.input = v.input AND t.probe_cc = v.probe_cc AND t.probe_asn = v.probe_asn",
         3},
};

/* SQLite plans the IN (VALUES ...) above as a scan of every latest state in scope all; a join
 * from the values looks each one up by primary key. */
static const struct vg__wsql vg__wsql_prev_sqlite = {
    "SELECT t.input, t.probe_cc, t.probe_asn, t.x_verdict, t.last_time FROM (VALUES ",
    "($1, $2, $3)",
    ") AS v CROSS JOIN targets t ON t.scope = '*' AND t.input = v.column1 AND"
    " t.probe_cc = v.column2 AND t.probe_asn = v.column3",
    3};

/* ClickHouse: no VALUES table, no LATERAL; the latest states' table read with FINAL. */
static const struct vg__wsql vg__wsql_prev_ch = {
    "SELECT input, probe_cc, probe_asn, x_verdict, last_time FROM targets FINAL WHERE scope = '*'"
    " AND (input, probe_cc, probe_asn) IN (",
    "($1, $2, $3)", ")", 3};

static const size_t vg__chunks[VG__N_CHUNKS] = {256, 32, 4, 1};
_Static_assert(VG__N_W == VG__N_WSQL, "vg__wsql and VG__N_WSQL disagree");

int
vg__store_sql_tuples(struct vg_buf *out, const char *tuple, size_t width, size_t k, size_t first)
{
    for (size_t r = 0; r < k; r++) {
        if (r > 0) {
            VG_TRY(vg_buf_append(out, ",", 1));
        }
        for (const char *t = tuple; *t != '\0';) {
            size_t num = 0, span = strcspn(t, "$");

            VG_TRY(vg_buf_append(out, t, span));
            if (t[span] == '\0') {
                break;
            }
            for (t += span + 1; *t >= '0' && *t <= '9'; t++) {
                num = num * 10 + (size_t)(*t - '0');
            }
            VG_TRY(vg_buf_appendf(out, "$%zu", first + r * width + num));
        }
    }
    return 0;
}

/* The statement for k rows: head, k tuples numbered from $1 on, tail. Fresh string. */
static char *
vg__wsql_build(const struct vg__wsql *w, size_t k)
{
    struct vg_buf b;
    const char *text;
    char *out;

    vg_buf_init(&b, SIZE_MAX / 2); /* bounded by memory only, and out of memory aborts */
    if (vg_buf_append(&b, w->head, strlen(w->head)) < 0 ||
        vg__store_sql_tuples(&b, w->tuple, w->width, k, 0) < 0 ||
        vg_buf_append(&b, w->tail, strlen(w->tail)) < 0 || (text = vg_buf_cstr(&b)) == NULL) {
        abort(); /* cannot happen: see above */
    }
    out = vg_xstrdup(text);
    vg_buf_cleanup(&b);
    return out;
}

void
vg__store_wsql_init(struct vg_store *s)
{
    for (size_t w = 0; w < VG__N_WSQL; w++) {
        const struct vg__wsql *q = w != VG__W_PREV                 ? &vg__wsql[w]
                                   : s->ops->dialect == VG__SQLITE ? &vg__wsql_prev_sqlite
                                   : s->ops->dialect == VG__CH     ? &vg__wsql_prev_ch
                                                                   : &vg__wsql[w];

        for (size_t c = 0; c < VG__N_CHUNKS; c++) {
            s->wsql[w][c] = vg__wsql_build(q, vg__chunks[c]);
        }
    }
}

void
vg__store_wsql_free(struct vg_store *s)
{
    for (size_t w = 0; w < VG__N_WSQL; w++) {
        for (size_t c = 0; c < VG__N_CHUNKS; c++) {
            VG_FREE(s->wsql[w][c]);
        }
    }
}

int
vg__store_write_rows(struct vg_store *s, int which, size_t n, const struct vg__val *p,
                     vg__row_cb cb, void *arg)
{
    size_t width = vg__wsql[which].width, done = 0;

    /* ClickHouse: nothing is prepared (the client writes the values in) and every read of the
     * latest states is a FINAL pass over their table: one statement per VG__CH_ROWS rows */
    while (s->ops->dialect == VG__CH && done < n) {
        const struct vg__wsql *q = which == VG__W_PREV ? &vg__wsql_prev_ch : &vg__wsql[which];
        size_t k = n - done < VG__CH_ROWS ? n - done : VG__CH_ROWS;
        char *sql = vg__wsql_build(q, k);
        int rc = s->ops->run(s->wconn, sql, 0, 1, k * width, p + done * width, cb, arg);

        VG_FREE(sql);
        VG_TRY(rc);
        done += k;
    }
    while (done < n) {
        size_t c = 0;

        while (vg__chunks[c] > n - done) {
            c++;
        }
        VG_TRY(s->ops->run(s->wconn, s->wsql[which][c], VG__RUN_CACHE, 1, vg__chunks[c] * width,
                           p + done * width, cb, arg));
        done += vg__chunks[c];
    }
    return 0;
}

/* The count tables kept at ingest (docs/storage.md): hourly first, then the daily ones. */
const struct vg__rollup vg__store_rollups[] = {
    {VG__W_AGG_HOUR, 3600, VG__DIM_DOMAIN | VG__DIM_CC | VG__DIM_ASN, NULL},
    {VG__W_AGG_NET, 86400, VG__DIM_CC | VG__DIM_ASN, "agg_daily_net"},
    {VG__W_AGG_DOMAIN, 86400, VG__DIM_DOMAIN, "agg_daily_domain"},
    {VG__W_AGG_CC_DOMAIN, 86400, VG__DIM_CC | VG__DIM_DOMAIN, "agg_daily_cc_domain"},
    /* per target x network (the window of vg_store_targets): never an aggregation's table */
    {VG__W_AGG_TARGET, 3600, VG__DIM_INPUT | VG__DIM_CC | VG__DIM_ASN, NULL},
};
const size_t vg__store_n_rollups = sizeof(vg__store_rollups) / sizeof(vg__store_rollups[0]);

struct vg__aggkey {
    int64_t t;
    const struct vg_store_meas *m;
    unsigned dims;
    int delta; /* +1 a new row; reanalysis: -1 the old verdict, +1 the new */
};

static int
vg__cmp_agg(const void *a, const void *b)
{
    const struct vg__aggkey *x = a, *y = b;
    int c;

    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    if ((x->dims & VG__DIM_INPUT) && (c = strcmp(x->m->input, y->m->input)) != 0) {
        return c;
    }
    if ((x->dims & VG__DIM_DOMAIN) && (c = strcmp(x->m->domain, y->m->domain)) != 0) {
        return c;
    }
    if ((x->dims & VG__DIM_CC) && (c = strcmp(x->m->probe_cc, y->m->probe_cc)) != 0) {
        return c;
    }
    if ((x->dims & VG__DIM_ASN) && x->m->probe_asn != y->m->probe_asn) {
        return x->m->probe_asn < y->m->probe_asn ? -1 : 1;
    }
    if ((c = strcmp(x->m->x_verdict, y->m->x_verdict)) != 0) {
        return c;
    }
    return strcmp(x->m->provenance, y->m->provenance);
}

/* Count the new rows into one rollup table: merged per key here, upserted in key order. */
static int
vg__rollup(struct vg_store *s, const struct vg__rollup *r, struct vg__wrow *w, size_t n,
           struct vg__aggkey *ak, struct vg__val *p)
{
    size_t na = 0, k = 0, np = 0;

    for (size_t i = 0; i < n; i++) {
        if (w[i].is_new && (w[i].m->has_input || !(r->dims & VG__DIM_INPUT))) {
            ak[na++] = (struct vg__aggkey){w[i].m->start_time - w[i].m->start_time % r->period,
                                           w[i].m, r->dims, 1};
        }
    }
    qsort(ak, na, sizeof(*ak), vg__cmp_agg);
    for (size_t i = 0; i < na; i++) {
        const struct vg_store_meas *m = ak[i].m;

        if (k > 0 && vg__cmp_agg(&ak[i], &ak[i - 1]) == 0) {
            p[np - 1].i++;
            continue;
        }
        p[np++] = vg__store_int(ak[i].t);
        if (r->dims & VG__DIM_INPUT) {
            p[np++] = vg__store_text(m->input);
        }
        if (r->dims & VG__DIM_DOMAIN) {
            p[np++] = vg__store_text(m->domain);
        }
        if (r->dims & VG__DIM_CC) {
            p[np++] = vg__store_text(m->probe_cc);
        }
        if (r->dims & VG__DIM_ASN) {
            p[np++] = vg__store_int(m->probe_asn);
        }
        p[np++] = vg__store_text(m->x_verdict);
        p[np++] = vg__store_text(m->provenance);
        p[np++] = vg__store_int(1);
        k++;
    }
    return vg__store_write_rows(s, r->wsql, k, p, NULL, NULL);
}

/* Deletes of count rows fallen to 0, by key, in the order of the upserts' parameters. */
static const char *const vg__sql_agg_zero[] = {
    [VG__W_AGG_HOUR] = "DELETE FROM agg_hourly WHERE hour_start = $1 AND domain = $2 AND"
                       " probe_cc = $3 AND probe_asn = $4 AND x_verdict = $5 AND provenance = $6"
                       " AND n <= 0",
    [VG__W_AGG_NET] = "DELETE FROM agg_daily_net WHERE day_start = $1 AND probe_cc = $2 AND"
                      " probe_asn = $3 AND x_verdict = $4 AND provenance = $5 AND n <= 0",
    [VG__W_AGG_DOMAIN] = "DELETE FROM agg_daily_domain WHERE day_start = $1 AND domain = $2 AND"
                         " x_verdict = $3 AND provenance = $4 AND n <= 0",
    [VG__W_AGG_CC_DOMAIN] = "DELETE FROM agg_daily_cc_domain WHERE day_start = $1 AND domain = $2"
                            " AND probe_cc = $3 AND x_verdict = $4 AND provenance = $5 AND n <= 0",
    [VG__W_AGG_TARGET] = "DELETE FROM agg_target_hourly WHERE hour_start = $1 AND input = $2 AND"
                         " probe_cc = $3 AND probe_asn = $4 AND x_verdict = $5 AND provenance = $6"
                         " AND n <= 0",
};

/* One count table's deltas: merged per key, upserted in key order, emptied rows deleted. */
static int
vg__rollup_deltas(struct vg_store *s, const struct vg__rollup *r,
                  const struct vg_store_meas *const *m, const int *delta, size_t n,
                  struct vg__aggkey *ak, struct vg__val *p, struct vg__val *z)
{
    size_t na = 0, np = 0, nz = 0, k = 0, width = 0;

    for (size_t i = 0; i < n; i++) {
        if (m[i]->has_input || !(r->dims & VG__DIM_INPUT)) {
            ak[na++] = (struct vg__aggkey){m[i]->start_time - m[i]->start_time % r->period, m[i],
                                           r->dims, delta[i]};
        }
    }
    qsort(ak, na, sizeof(*ak), vg__cmp_agg);
    for (size_t i = 0, j; i < na; i = j) {
        const struct vg_store_meas *x = ak[i].m;
        int64_t t = ak[i].t;
        size_t start = np;
        int sum = 0;

        for (j = i; j < na && vg__cmp_agg(&ak[j], &ak[i]) == 0; j++) {
            sum += ak[j].delta;
        }
        if (sum == 0) {
            continue;
        }
        p[np++] = vg__store_int(t);
        if (r->dims & VG__DIM_INPUT) {
            p[np++] = vg__store_text(x->input);
        }
        if (r->dims & VG__DIM_DOMAIN) {
            p[np++] = vg__store_text(x->domain);
        }
        if (r->dims & VG__DIM_CC) {
            p[np++] = vg__store_text(x->probe_cc);
        }
        if (r->dims & VG__DIM_ASN) {
            p[np++] = vg__store_int(x->probe_asn);
        }
        p[np++] = vg__store_text(x->x_verdict);
        p[np++] = vg__store_text(x->provenance);
        width = np - start;
        if (sum < 0) {
            memcpy(z + nz * width, p + start, width * sizeof(*p));
            nz++;
        }
        p[np++] = vg__store_int(sum);
        k++;
    }
    VG_TRY(vg__store_write_rows(s, r->wsql, k, p, NULL, NULL));
    if (nz > 0) {
        VG_TRY(s->ops->run(s->wconn, vg__sql_agg_zero[r->wsql], VG__RUN_CACHE, nz, width, z, NULL,
                           NULL));
    }
    return 0;
}

int
vg__store_count_deltas(struct vg_store *s, const struct vg_store_meas *const *m, const int *delta,
                       size_t n)
{
    struct vg__aggkey *ak = vg_xcalloc(n > 0 ? n : 1, sizeof(*ak));
    struct vg__val *p = vg_xcalloc(n * 7 + 1, sizeof(*p));
    struct vg__val *z = vg_xcalloc(n * 7 + 1, sizeof(*z));
    int rc = 0;

    for (size_t r = 0; rc == 0 && r < vg__store_n_rollups; r++) {
        rc = vg__rollup_deltas(s, &vg__store_rollups[r], m, delta, n, ak, p, z);
    }
    VG_FREE(ak);
    VG_FREE(p);
    VG_FREE(z);
    return rc;
}

/* One latest state a new row updates: its target in one scope, at its trusted time. */
struct vg__tgtkey {
    const struct vg_store_meas *m;
    const char *scope;
    int64_t t;
};

static bool
vg__same_target(const struct vg__tgtkey *x, const struct vg__tgtkey *y)
{
    return x->m->probe_asn == y->m->probe_asn && strcmp(x->scope, y->scope) == 0 &&
           strcmp(x->m->input, y->m->input) == 0 && strcmp(x->m->probe_cc, y->m->probe_cc) == 0;
}

/* The latest states' key order (scope, input, probe_cc, probe_asn), then time order. */
static int
vg__cmp_target(const void *a, const void *b)
{
    const struct vg__tgtkey *kx = a, *ky = b;
    const struct vg_store_meas *x = kx->m, *y = ky->m;
    int c;

    if ((c = strcmp(kx->scope, ky->scope)) != 0 || (c = strcmp(x->input, y->input)) != 0 ||
        (c = strcmp(x->probe_cc, y->probe_cc)) != 0) {
        return c;
    }
    if (x->probe_asn != y->probe_asn) {
        return x->probe_asn < y->probe_asn ? -1 : 1;
    }
    if (kx->t != ky->t) {
        return kx->t < ky->t ? -1 : 1;
    }
    return strcmp(x->measurement_uid, y->measurement_uid);
}

/* The latest states of the new rows with an input: each in the scopes it belongs to. */
static size_t
vg__target_keys(struct vg__wrow *w, size_t n, struct vg__tgtkey *tk)
{
    size_t nt = 0;

    for (size_t i = 0; i < n; i++) {
        const struct vg_store_meas *m = w[i].m;
        int64_t t = vg__store_teff(m->start_time, w[i].received_us);

        if (!w[i].is_new || !m->has_input) {
            continue;
        }
        tk[nt++] = (struct vg__tgtkey){m, VG__SCOPE_ALL, t};
        tk[nt++] = (struct vg__tgtkey){m, m->provenance, t};
        if (strcmp(m->provenance, VG_STORE_ANONYMOUS) != 0) {
            tk[nt++] = (struct vg__tgtkey){m, VG__SCOPE_TRUSTED, t};
        }
    }
    qsort(tk, nt, sizeof(*tk), vg__cmp_target);
    return nt;
}

/* Count tables and latest states of the rows that are new, table by table, each in key order
 * (PostgreSQL takes row locks in that order in every collector, so concurrent transactions
 * cannot wait on each other in a cycle). */
int
vg__store_derived(struct vg_store *s, struct vg__wrow *w, size_t n)
{
    struct vg__aggkey *ak = vg_xcalloc(n > 0 ? n : 1, sizeof(*ak));
    struct vg__tgtkey *tk = vg_xcalloc(n * VG__SCOPES_MAX + 1, sizeof(*tk));
    struct vg__val *p = vg_xcalloc(n * VG__SCOPES_MAX * VG__TARGET_COLS + 1, sizeof(*p));
    struct vg__evbatch *eb = NULL;
    size_t nt;
    int rc = 0;

    for (size_t r = 0; rc == 0 && r < vg__store_n_rollups; r++) {
        rc = vg__rollup(s, &vg__store_rollups[r], w, n, ak, p);
    }
    if (rc == 0) {
        rc = vg__store_events_derive(s, w, n, &eb);
    }
    nt = vg__target_keys(w, n, tk);
    /* Round r takes the r-th measurement (in time order) of each target: no statement updates a
     * row twice, and each target still sees its measurements in order. */
    for (size_t round = 0, left = nt; rc == 0 && left > 0; round++) {
        size_t k = 0, occ = 0;

        for (size_t i = 0; i < nt; i++) {
            const struct vg_store_meas *m = tk[i].m;
            struct vg__val *q = p + k * VG__TARGET_COLS;

            occ = i > 0 && vg__same_target(&tk[i - 1], &tk[i]) ? occ + 1 : 0;
            if (occ != round) {
                continue;
            }
            q[0] = vg__store_text(tk[i].scope);
            q[1] = vg__store_text(m->input);
            q[2] = vg__store_text(m->probe_cc);
            q[3] = vg__store_int(m->probe_asn);
            q[4] = vg__store_text(m->domain);
            q[5] = vg__store_text(m->x_verdict);
            q[6] = vg__store_text_or_null(m->x_cause);
            q[7] = vg__store_int(tk[i].t);
            q[8] = vg__store_text(m->measurement_uid);
            k++;
        }
        left -= k;
        rc = vg__store_write_rows(s, VG__W_TARGET, k, p, NULL, NULL);
    }
    if (rc == 0) {
        rc = vg__store_events_write(s, eb);
    }
    vg__store_events_free(eb);
    VG_FREE(ak);
    VG_FREE(tk);
    VG_FREE(p);
    return rc;
}
