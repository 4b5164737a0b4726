/* SPDX-License-Identifier: MIT */
/*
 * store_reanalyze.c - the store's side of `vigie serve reanalyze` (store.h, "Reanalysis"): a
 * pass's position (reanalyze_progress), its rows read a batch at a time in (time, uid) order,
 * and one write transaction per batch through the writer thread: the verdicts that changed, the
 * count tables moved from the old verdict to the new, the latest states of their targets
 * recomputed from the measurements, the position saved. Short transactions, written in the same
 * key order as the ingest (measurements, count tables, latest states), so that a collector
 * serving the same database goes on meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/mem.h"

#define VG__RA_READ_MAX 10000 /* rows of one read */

/* The rows of a pass: the time index, walked from the position, with the pass's condition. */
#define VG__RA_COLS_OF(from)                                                          \
    "SELECT measurement_uid, measurement_start_time, x_verdict, x_cause, x_analyzer," \
    " raw_len, raw, x_evidence FROM " from " WHERE measurement_start_time >= $1"      \
    " AND (measurement_start_time, measurement_uid) > ($2, $3)"
#define VG__RA_COLS VG__RA_COLS_OF("measurements")
#define VG__RA_TAIL " ORDER BY measurement_start_time, measurement_uid LIMIT $5"

static const char vg__sql_ra_stale[] =
    VG__RA_COLS " AND x_analyzer IS NOT NULL AND x_analyzer <> '" VG_STORE_ANALYZER_PROBE
                "' AND x_analyzer <> $4" VG__RA_TAIL;
static const char vg__sql_ra_all[] =
    VG__RA_COLS " AND (x_analyzer IS NULL OR x_analyzer <> '" VG_STORE_ANALYZER_PROBE
                "' OR x_analyzer = $4)" VG__RA_TAIL;
/* ClickHouse: the newest row of each measurement (FINAL: a reanalysed one is a new row) */
static const char vg__sql_ra_stale_ch[] = VG__RA_COLS_OF(
    "measurements FINAL") " AND x_analyzer IS NOT NULL AND x_analyzer <> '" VG_STORE_ANALYZER_PROBE
                          "' AND x_analyzer <> $4" VG__RA_TAIL;
static const char vg__sql_ra_all_ch[] = VG__RA_COLS_OF(
    "measurements FINAL") " AND (x_analyzer IS NULL OR x_analyzer <> '" VG_STORE_ANALYZER_PROBE
                          "' OR x_analyzer = $4)" VG__RA_TAIL;

static void
vg__ra_key(const struct vg_store_reanalyze_sel *sel, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s since=%lld", sel->all ? "all" : "stale", sel->analyzer,
             (long long)sel->since);
}

/* ---- the position ---- */

static int
vg__ra_on_pos(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg_store_pass *p = arg;

    (void)set;
    if (ncols != 4 || c[0].t != VG__INT || c[2].t != VG__INT || c[3].t != VG__INT) {
        return VG_EINTERNAL;
    }
    p->last_time = c[0].i;
    vg__store_copy_text(&c[1], p->last_uid, sizeof(p->last_uid));
    p->examined = (uint64_t)c[2].i;
    p->changed = (uint64_t)c[3].i;
    p->resumed = true;
    return 0;
}

struct vg__ra_begin {
    const char *key;
    struct vg_store_pass *p;
};

static int
vg__ra_begin_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    static const char sql[] = "SELECT last_time, last_uid, examined, changed"
                              " FROM reanalyze_progress WHERE pass = $1";
    /* ClickHouse: the newest row of the pass; one with last_uid '' is a pass done, forgotten
     * (store_ch_reanalyze.c) */
    static const char sql_ch[] = "SELECT last_time, last_uid, examined, changed"
                                 " FROM reanalyze_progress FINAL WHERE pass = $1"
                                 " AND last_uid <> ''";
    struct vg__ra_begin *b = arg;
    struct vg__val k = vg__store_text(b->key);

    return s->ops->run(c, s->ops->dialect == VG__CH ? sql_ch : sql, 0, 1, 1, &k, vg__ra_on_pos,
                       b->p);
}

int
vg_store_reanalyze_begin(struct vg_store *s, const struct vg_store_reanalyze_sel *sel, bool restart,
                         struct vg_store_pass *p)
{
    struct vg__ra_begin b = {p->key, p};

    VG_ENSURE(sel != NULL && sel->analyzer != NULL && sel->analyzer[0] != '\0' &&
                  strlen(sel->analyzer) <= VG_STORE_ANALYZER_MAX && sel->since >= 0,
              VG_EINVAL);
    memset(p, 0, sizeof(*p));
    vg__ra_key(sel, p->key, sizeof(p->key));
    p->last_time = INT64_MIN;
    if (restart) {
        return 0; /* the first batch's commit overwrites the saved position */
    }
    return vg__store_read(s, vg__ra_begin_fn, &b);
}

/* ---- reading ---- */

struct vg__ra_read {
    struct vg_store *s;
    const struct vg_store_reanalyze_sel *sel;
    const struct vg_store_pass *p;
    unsigned limit;
    struct vg_store_stale *rows;
    size_t n;
};

static int
vg__ra_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ra_read *r = arg;
    struct vg_store_stale *x;
    int rc;

    (void)set;
    if (ncols != 8 || c[0].t != VG__TEXT || c[1].t != VG__INT || c[5].t != VG__INT ||
        (c[6].t != VG__BLOB && c[6].t != VG__TEXT) || c[5].i < 0 || c[5].i > VG_STORE_MEAS_MAX ||
        r->n == r->limit) {
        return VG_EINTERNAL;
    }
    x = &r->rows[r->n];
    memset(x, 0, sizeof(*x));
    vg__store_copy_text(&c[0], x->measurement_uid, sizeof(x->measurement_uid));
    x->start_time = c[1].i;
    vg__store_copy_text(&c[2], x->x_verdict, sizeof(x->x_verdict));
    vg__store_copy_text(&c[3], x->x_cause, sizeof(x->x_cause));
    vg__store_copy_text(&c[4], x->x_analyzer, sizeof(x->x_analyzer));
    vg__store_copy_text(&c[7], x->x_evidence, sizeof(x->x_evidence));
    rc = vg__raw_decode_row(r->s, &c[5], &c[6], &x->raw, &x->raw_len);
    if (rc < 0) {
        return rc;
    }
    r->n++;
    return 0;
}

static int
vg__ra_read_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__ra_read *r = arg;
    struct vg__val p[5] = {vg__store_int(r->sel->since), vg__store_int(r->p->last_time),
                           vg__store_text(r->p->last_uid), vg__store_text(r->sel->analyzer),
                           vg__store_int(r->limit)};

    const char *sql = r->sel->all ? vg__sql_ra_all : vg__sql_ra_stale;

    if (s->ops->dialect == VG__CH) {
        sql = r->sel->all ? vg__sql_ra_all_ch : vg__sql_ra_stale_ch;
    }
    vg_store_stale_free(r->rows, r->n);
    r->n = 0;
    r->rows = vg_xcalloc(r->limit, sizeof(*r->rows));
    return s->ops->run(c, sql, 0, 1, 5, p, vg__ra_on_row, r);
}

int
vg_store_reanalyze_read(struct vg_store *s, const struct vg_store_reanalyze_sel *sel,
                        const struct vg_store_pass *p, unsigned limit, struct vg_store_stale **rows,
                        size_t *n)
{
    struct vg__ra_read r = {s, sel, p, limit, NULL, 0};
    int rc;

    *rows = NULL;
    *n = 0;
    VG_ENSURE(limit >= 1 && limit <= VG__RA_READ_MAX, VG_EINVAL);
    rc = vg__store_read(s, vg__ra_read_fn, &r);
    if (rc < 0) {
        vg_store_stale_free(r.rows, r.n);
        return rc;
    }
    *rows = r.rows;
    *n = r.n;
    return 0;
}

void
vg_store_stale_free(struct vg_store_stale *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++) {
        VG_FREE(rows[i].raw);
    }
    free(rows);
}

/* ---- one batch ---- */

static int
vg__ra_on_updated(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ra_row *w = &((struct vg__ra_row *)arg)[set];

    if (ncols != 7 || c[0].t != VG__INT || c[3].t != VG__INT || c[6].t != VG__INT) {
        return VG_EINTERNAL;
    }
    w->updated = true;
    w->was.start_time = c[0].i;
    vg__store_copy_text(&c[1], w->was.domain, sizeof(w->was.domain));
    vg__store_copy_text(&c[2], w->was.probe_cc, sizeof(w->was.probe_cc));
    w->was.probe_asn = (uint32_t)c[3].i;
    vg__store_copy_text(&c[4], w->was.provenance, sizeof(w->was.provenance));
    w->was.has_input = c[5].t == VG__TEXT;
    vg__store_copy_text(&c[5], w->was.input, sizeof(w->was.input));
    w->received_us = c[6].i;
    return 0;
}

/* The measurements: each row whose verdict is still the one read gets its new analysis. */
static int
vg__ra_update(struct vg_store *s, struct vg__reanalyze_job *j)
{
    static const char sql[] =
        "UPDATE measurements SET x_verdict = $2, x_cause = $3, x_evidence = $4, x_analyzer = $5"
        " WHERE measurement_uid = $1 AND COALESCE(x_analyzer, '') = $6 AND x_verdict = $7"
        " RETURNING measurement_start_time, domain, probe_cc, probe_asn, provenance, input,"
        " received";
    struct vg__val *p = vg_xcalloc(j->n * 7 + 1, sizeof(*p));
    int rc = 0;

    for (size_t i = 0; i < j->n; i++) {
        const struct vg_store_meas *now = j->v[i].now;
        struct vg__val *q = p + 7 * i;

        q[0] = vg__store_text(j->v[i].old->measurement_uid);
        q[1] = vg__store_text(now->x_verdict);
        q[2] = vg__store_text_or_null(now->x_cause);
        q[3] = vg__store_text_or_null(now->x_evidence);
        q[4] = vg__store_text_or_null(now->x_analyzer);
        q[5] = vg__store_text(j->v[i].old->x_analyzer);
        q[6] = vg__store_text(j->v[i].old->x_verdict);
    }
    if (j->n > 0) {
        rc = s->ops->run(s->wconn, sql, VG__RUN_CACHE, j->n, 7, p, vg__ra_on_updated, j->rows);
    }
    VG_FREE(p);
    return rc;
}

/* ---- latest states ---- */

/* One latest state to recompute: a target in a scope, and the newest changed row in it. */
struct vg__ra_tgt {
    const char *scope;
    const struct vg_store_meas *m; /* input, domain, network */
    int64_t t;                     /* the latest trusted time among its changed rows */
};

static int
vg__ra_cmp_tgt(const void *a, const void *b)
{
    const struct vg__ra_tgt *x = a, *y = b;
    int c;

    if ((c = strcmp(x->scope, y->scope)) != 0 || (c = strcmp(x->m->input, y->m->input)) != 0 ||
        (c = strcmp(x->m->probe_cc, y->m->probe_cc)) != 0) {
        return c;
    }
    return x->m->probe_asn < y->m->probe_asn ? -1 : x->m->probe_asn > y->m->probe_asn;
}

struct vg__ra_state {
    bool found, has_brk, redo, has_cause, has_since;
    int64_t brk, last_t, since;
    char verdict[16], cause[VG_STORE_NAME_MAX + 1], uid[VG_UID_MAX];
    char old[16]; /* the verdict before the batch */
};

static int
vg__ra_on_lock(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ra_state *st = &((struct vg__ra_state *)arg)[set];

    if (ncols != 2) {
        return VG_EINTERNAL;
    }
    st->found = true;
    st->has_brk = c[0].t == VG__INT;
    st->brk = c[0].i;
    vg__store_copy_text(&c[1], st->old, sizeof(st->old));
    return 0;
}

/* One state recomputed: (verdict, cause, time, uid) of the newest measurement, the latest
 * other verdict before its run, the start of the run. */
static int
vg__ra_on_state(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ra_state **redo = arg, *st = redo[set];

    if (ncols != 5 || c[2].t != VG__INT || c[3].t != VG__TEXT) {
        return VG_EINTERNAL;
    }
    vg__store_copy_text(&c[0], st->verdict, sizeof(st->verdict));
    st->has_cause = c[1].t == VG__TEXT;
    vg__store_copy_text(&c[1], st->cause, sizeof(st->cause));
    st->last_t = c[2].i;
    vg__store_copy_text(&c[3], st->uid, sizeof(st->uid));
    st->has_brk = c[4].t == VG__INT;
    st->brk = c[4].i;
    return 0;
}

static int
vg__ra_on_since(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ra_state *st = ((struct vg__ra_state **)arg)[set];

    if (ncols != 1) {
        return VG_EINTERNAL;
    }
    st->has_since = c[0].t == VG__INT;
    st->since = c[0].i;
    return 0;
}

/* The measurements of one target in one scope ($1 domain, $2 input, $3 cc, $4 asn, $5 scope),
 * as m, and their trusted time (store_impl.h vg__store_teff). */
#define VG__RA_T(m)                                                              \
    "(CASE WHEN " m ".measurement_start_time < " m ".received / 1000000 THEN " m \
    ".measurement_start_time ELSE " m ".received / 1000000 END)"
#define VG__RA_OF(m)                                                               \
    " FROM measurements " m " WHERE " m ".domain = $1 AND " m ".input = $2 AND " m \
    ".probe_cc = $3 AND " m ".probe_asn = $4 AND (CAST($5 AS TEXT) = '*' OR " m    \
    ".provenance = $5 OR (CAST($5 AS TEXT) = '+' AND " m ".provenance <> 'anonymous'))"

/*
 * The latest state of one target in one scope, from its measurements, as the migration to
 * version 3 rebuilt them (exact): the newest measurement (by trusted time, then uid) and the
 * latest time of another verdict (brk_time); then the earliest time of the run after it
 * (since_time: $6 the verdict, $7 brk_time or the smallest time). Two statements, so that
 * PostgreSQL pipelines the batch's states and no subquery runs once per row.
 */
static const char vg__sql_ra_state[] =
    "SELECT l.v, l.c, l.t, l.u,"
    " (SELECT MAX(" VG__RA_T("b") ")" VG__RA_OF(
        "b") " AND b.x_verdict <> l.v)"
             " FROM (SELECT m.x_verdict AS v, m.x_cause AS c, " VG__RA_T(
                 "m") " AS t,"
                      " m.measurement_uid AS u" VG__RA_OF(
                          "m") " ORDER BY 3 DESC, 4 DESC LIMIT 1) l";
static const char vg__sql_ra_since[] = "SELECT MIN(" VG__RA_T("r") ")" VG__RA_OF(
    "r") " AND r.x_verdict = $6 AND " VG__RA_T("r") " > $7";

/* The alert events of the batch: each latest state (scope all) whose verdict it changed. */
static int
vg__ra_events(struct vg_store *s, const struct vg__ra_tgt *t, const struct vg__ra_state *st,
              size_t nu)
{
    struct vg__event_row *e = vg_xcalloc(nu + 1, sizeof(*e));
    size_t ne = 0;
    int rc;

    for (size_t i = 0; i < nu; i++) {
        if (!st[i].redo || strcmp(t[i].scope, VG__SCOPE_ALL) != 0 ||
            strcmp(st[i].old, st[i].verdict) == 0) {
            continue;
        }
        e[ne++] = (struct vg__event_row){
            t[i].m->input, t[i].m->probe_cc, t[i].m->probe_asn,
            st[i].old,     st[i].verdict,    st[i].has_cause ? st[i].cause : NULL,
            st[i].uid,     st[i].last_t,     false};
    }
    rc = vg__store_events_put(s, e, ne, VG__EV_SOURCE_REANALYZE);
    VG_FREE(e);
    return rc;
}

/*
 * The latest states of the targets of the rows whose verdict or cause changed, in key order,
 * each statement run for all of them at once (pipelined by PostgreSQL): the rows locked first
 * (a collector's upsert of one of them waits for this transaction), then recomputed where a
 * changed row can matter (at or after the state's latest other verdict: an older change moves
 * neither the run nor the verdict), then written.
 */
static int
vg__ra_targets(struct vg_store *s, struct vg__reanalyze_job *j)
{
    static const char lock_sql[] =
        "UPDATE targets SET brk_time = brk_time WHERE scope = $1 AND input = $2 AND"
        " probe_cc = $3 AND probe_asn = $4 RETURNING brk_time, x_verdict";
    static const char put_sql[] =
        "UPDATE targets SET x_verdict = $5, x_cause = $6, since_time = $7, last_time = $8,"
        " brk_time = $9, last_uid = $10 WHERE scope = $1 AND input = $2 AND probe_cc = $3 AND"
        " probe_asn = $4";
    struct vg__ra_tgt *t = vg_xcalloc(j->n * VG__SCOPES_MAX + 1, sizeof(*t));
    struct vg__ra_state *st, **redo;
    struct vg__val *p;
    size_t nt = 0, nu = 0, nr = 0, k = 0;
    int rc = 0;

    for (size_t i = 0; i < j->n; i++) {
        const struct vg__ra_row *w = &j->rows[i];
        int64_t te = vg__store_teff(w->was.start_time, w->received_us);

        if (!w->updated || !w->was.has_input ||
            (strcmp(w->was.x_verdict, w->is.x_verdict) == 0 &&
             strcmp(w->was.x_cause, w->is.x_cause) == 0)) {
            continue;
        }
        t[nt++] = (struct vg__ra_tgt){VG__SCOPE_ALL, &w->was, te};
        t[nt++] = (struct vg__ra_tgt){w->was.provenance, &w->was, te};
        if (strcmp(w->was.provenance, VG_STORE_ANONYMOUS) != 0) {
            t[nt++] = (struct vg__ra_tgt){VG__SCOPE_TRUSTED, &w->was, te};
        }
    }
    qsort(t, nt, sizeof(*t), vg__ra_cmp_tgt);
    /* one per state, with the latest trusted time of its changed rows */
    for (size_t i = 0; i < nt; i++) {
        if (nu > 0 && vg__ra_cmp_tgt(&t[nu - 1], &t[i]) == 0) {
            t[nu - 1].t = t[i].t > t[nu - 1].t ? t[i].t : t[nu - 1].t;
        } else {
            t[nu++] = t[i];
        }
    }
    st = vg_xcalloc(nu + 1, sizeof(*st));
    redo = vg_xcalloc(nu + 1, sizeof(*redo));
    p = vg_xcalloc(10 * nu + 1, sizeof(*p)); /* 4, 5, 7 or 10 values per state */
    for (size_t i = 0; i < nu; i++) {
        p[4 * i] = vg__store_text(t[i].scope);
        p[4 * i + 1] = vg__store_text(t[i].m->input);
        p[4 * i + 2] = vg__store_text(t[i].m->probe_cc);
        p[4 * i + 3] = vg__store_int(t[i].m->probe_asn);
    }
    if (nu > 0) {
        rc = s->ops->run(s->wconn, lock_sql, VG__RUN_CACHE, nu, 4, p, vg__ra_on_lock, st);
    }
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        struct vg__val *q = p + 5 * nr;

        if (!st[i].found || (st[i].has_brk && t[i].t < st[i].brk)) {
            continue;
        }
        q[0] = vg__store_text(t[i].m->domain);
        q[1] = vg__store_text(t[i].m->input);
        q[2] = vg__store_text(t[i].m->probe_cc);
        q[3] = vg__store_int(t[i].m->probe_asn);
        q[4] = vg__store_text(t[i].scope);
        st[i].redo = true;
        redo[nr++] = &st[i];
    }
    if (rc == 0 && nr > 0) {
        rc =
            s->ops->run(s->wconn, vg__sql_ra_state, VG__RUN_CACHE, nr, 5, p, vg__ra_on_state, redo);
    }
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        struct vg__val *q = p + 7 * k;

        if (!st[i].redo) {
            continue;
        }
        q[0] = vg__store_text(t[i].m->domain);
        q[1] = vg__store_text(t[i].m->input);
        q[2] = vg__store_text(t[i].m->probe_cc);
        q[3] = vg__store_int(t[i].m->probe_asn);
        q[4] = vg__store_text(t[i].scope);
        q[5] = vg__store_text(st[i].verdict);
        q[6] = vg__store_int(st[i].has_brk ? st[i].brk : INT64_MIN);
        k++;
    }
    if (rc == 0 && k > 0) {
        rc = s->ops->run(s->wconn, vg__sql_ra_since, VG__RUN_CACHE, k, 7, p, vg__ra_on_since, redo);
    }
    nr = 0;
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        struct vg__val *q = p + 10 * nr;

        if (!st[i].redo) {
            continue;
        }
        if (st[i].uid[0] == '\0') {
            rc = VG_EINTERNAL; /* a state without measurements */
            break;
        }
        q[0] = vg__store_text(t[i].scope);
        q[1] = vg__store_text(t[i].m->input);
        q[2] = vg__store_text(t[i].m->probe_cc);
        q[3] = vg__store_int(t[i].m->probe_asn);
        q[4] = vg__store_text(st[i].verdict);
        q[5] = st[i].has_cause ? vg__store_text(st[i].cause) : (struct vg__val){.t = VG__NULL};
        q[6] = vg__store_int(st[i].has_since ? st[i].since : st[i].last_t);
        q[7] = vg__store_int(st[i].last_t);
        q[8] = st[i].has_brk ? vg__store_int(st[i].brk) : (struct vg__val){.t = VG__NULL};
        q[9] = vg__store_text(st[i].uid);
        nr++;
    }
    if (rc == 0 && nr > 0) {
        rc = s->ops->run(s->wconn, put_sql, VG__RUN_CACHE, nr, 10, p, NULL, NULL);
        j->st.targets += nr;
    }
    if (rc == 0) {
        rc = vg__ra_events(s, t, st, nu);
    }
    VG_FREE(t);
    VG_FREE(st);
    VG_FREE(redo);
    VG_FREE(p);
    return rc;
}

/* ---- the transaction ---- */

static int
vg__ra_progress(struct vg_store *s, struct vg__reanalyze_job *j)
{
    static const char put_sql[] =
        "INSERT INTO reanalyze_progress (pass, last_time, last_uid, examined, changed, updated)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pass) DO UPDATE SET last_time ="
        " excluded.last_time, last_uid = excluded.last_uid, examined = excluded.examined,"
        " changed = excluded.changed, updated = excluded.updated";
    static const char del_sql[] = "DELETE FROM reanalyze_progress WHERE pass = $1";
    struct vg__val p[6] = {vg__store_text(j->p->key),
                           vg__store_int(j->last_time),
                           vg__store_text(j->last_uid),
                           vg__store_int((int64_t)(j->p->examined + j->n)),
                           vg__store_int((int64_t)(j->p->changed + j->st.changed)),
                           vg__store_int((int64_t)time(NULL))};

    if (j->done) {
        return s->ops->run(s->wconn, del_sql, 0, 1, 1, p, NULL, NULL);
    }
    return s->ops->run(s->wconn, put_sql, 0, 1, 6, p, NULL, NULL);
}

int
vg__store_reanalyze_txn(struct vg_store *s, struct vg__job *job)
{
    struct vg__reanalyze_job *j = job->ra;
    const struct vg_store_meas **dm;
    int *delta;
    size_t nd = 0;
    int rc;

    if (s->ops->dialect == VG__CH) {
        return vg__store_ch_reanalyze_txn(s, j); /* no transaction there */
    }
    dm = vg_xcalloc(2 * j->n + 1, sizeof(*dm));
    delta = vg_xcalloc(2 * j->n + 1, sizeof(*delta));
    /* Everything is computed again on a retry (a deadlock, a connection lost). */
    memset(&j->st, 0, sizeof(j->st));
    for (size_t i = 0; i < j->n; i++) {
        j->rows[i].updated = false;
    }
    rc = s->ops->exec(s->wconn, s->ops->begin_sql);
    if (rc == 0) {
        rc = vg__ra_update(s, j);
    }
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        struct vg__ra_row *w = &j->rows[i];
        enum vg_verdict a, b;

        if (!w->updated) {
            continue;
        }
        j->st.changed++;
        /* was: the row as it was; is: the same with its new verdict and cause */
        snprintf(w->was.x_verdict, sizeof(w->was.x_verdict), "%s", j->v[i].old->x_verdict);
        snprintf(w->was.x_cause, sizeof(w->was.x_cause), "%s", j->v[i].old->x_cause);
        w->is = w->was;
        snprintf(w->is.x_verdict, sizeof(w->is.x_verdict), "%s", j->v[i].now->x_verdict);
        snprintf(w->is.x_cause, sizeof(w->is.x_cause), "%s", j->v[i].now->x_cause);
        if (strcmp(w->was.x_verdict, w->is.x_verdict) == 0) {
            continue;
        }
        if (vg_verdict_parse(w->was.x_verdict, &a) && vg_verdict_parse(w->is.x_verdict, &b)) {
            j->st.moved[a][b]++;
        }
        dm[nd] = &w->was;
        delta[nd++] = -1;
        dm[nd] = &w->is;
        delta[nd++] = 1;
    }
    if (rc == 0 && nd > 0) {
        rc = vg__store_count_deltas(s, dm, delta, nd);
    }
    if (rc == 0) {
        rc = vg__ra_targets(s, j);
    }
    if (rc == 0) {
        rc = vg__ra_progress(s, j);
    }
    if (rc == 0) {
        rc = s->ops->exec(s->wconn, "COMMIT");
    }
    if (rc < 0) {
        vg__store_note_error(s, s->ops->errmsg(s->wconn));
        (void)s->ops->exec(s->wconn, "ROLLBACK");
    }
    VG_FREE(dm);
    VG_FREE(delta);
    return rc;
}

int
vg_store_reanalyze_apply(struct vg_store *s, struct vg_store_pass *p,
                         const struct vg_store_reverdict *v, size_t n, int64_t last_time,
                         const char *last_uid, bool done, struct vg_store_reanalyze_stats *st)
{
    struct vg__reanalyze_job j = {p, v, n, last_time, last_uid, done, NULL, {0}};
    struct vg__job job = {.kind = VG__JOB_REANALYZE, .ra = &j};
    int rc;

    VG_ENSURE(n <= VG__RA_READ_MAX && last_uid != NULL && strlen(last_uid) < VG_UID_MAX, VG_EINVAL);
    for (size_t i = 0; i < n; i++) {
        VG_ENSURE(vg__store_verdict_ok(v[i].now->x_verdict) &&
                      vg__store_terminated(v[i].now->x_cause, sizeof(v[i].now->x_cause)) &&
                      vg__store_terminated(v[i].now->x_evidence, sizeof(v[i].now->x_evidence)) &&
                      vg__store_terminated(v[i].now->x_analyzer, sizeof(v[i].now->x_analyzer)),
                  VG_EINVAL);
    }
    j.rows = vg_xcalloc(n + 1, sizeof(*j.rows));
    rc = vg__store_submit(s, &job);
    if (rc >= 0) {
        p->examined += n;
        p->changed += j.st.changed;
        p->last_time = last_time;
        snprintf(p->last_uid, sizeof(p->last_uid), "%s", last_uid);
        if (st != NULL) {
            *st = j.st;
        }
        rc = 0;
    }
    VG_FREE(j.rows);
    return rc;
}
