/* SPDX-License-Identifier: MIT */
/*
 * store_ch_reanalyze.c - one batch of `vigie serve reanalyze` on ClickHouse (the writer's
 * VG__JOB_REANALYZE there; store_reanalyze.c reads the rows and keeps the pass's position).
 * No UPDATE and no transaction (docs/storage.md, "ClickHouse: reanalysis"), so each step is an
 * INSERT that is harmless when repeated, in this order:
 *   measurements  the batch's rows read (FINAL); each whose verdict and analyser are still the
 *               ones the pass read gets a new row: the same columns with the new analysis,
 *               ver + 2^32 (a read with FINAL sees it: store_ch_schema.c, version 2) and
 *               prev_verdict the verdict it replaces, so that the count views move its count in
 *               the same INSERT, server-side. One INSERT for the batch.
 *   targets     the latest states of the rows whose verdict or cause changed, recomputed from
 *               their measurements (target_history FINAL: a target's rows by its key, where
 *               measurements would be read whole) in C, as the SQL path's statements do, and
 *               written as new rows with a higher ver where they changed.
 *   reanalyze_progress  the position, a new row with a higher ver; a pass done is forgotten
 *               by a row with last_uid '' (store_reanalyze.c reads only the others).
 * A batch run again (the writer's retry after a lost answer, or `reanalyze` after a crash
 * before the position was saved) finds its rows with the new analysis already (prev_verdict
 * the old verdict): they are not written again, so no count moves twice, and their latest
 * states are recomputed, so a run that stopped between the rows and the states is completed.
 *   alert_events  each latest state in scope all whose verdict changed (store_events.c), written
 *               after the states, as at ingest: a failure between the two loses those events (the
 *               batch run again finds the states done).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "util/buf.h"
#include "util/mem.h"

#define VG__CHRA_CHUNK 256 /* rows or keys per lookup */
#define VG__CHRA_COLS  23  /* the 21 ingest columns, ver, prev_verdict */
#define VG__CHRA_VER   4294967296LL

/* The measurement columns in store_ch_txn.c's INSERT order, then ver and prev_verdict. */
#define VG__CHRA_MCOLS                                                                       \
    "measurement_uid, idem_key, report_id, measurement_start_time, input, domain, probe_cc," \
    " probe_asn, test_name, software_name, software_version, x_verdict, x_cause, blocking,"  \
    " accessible, received, raw_len, raw, provenance, x_analyzer, x_evidence"

static const char vg__chra_sql_put[] =
    "INSERT INTO measurements (" VG__CHRA_MCOLS ", ver, prev_verdict) VALUES ($1, $2, $3, $4,"
    " $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)";

/* Column indexes of a measurement row as read. */
enum {
    VG__CHRA_UID = 0,
    VG__CHRA_START = 3,
    VG__CHRA_INPUT = 4,
    VG__CHRA_DOMAIN = 5,
    VG__CHRA_CC = 6,
    VG__CHRA_ASN = 7,
    VG__CHRA_VERDICT = 11,
    VG__CHRA_CAUSE = 12,
    VG__CHRA_RECEIVED = 15,
    VG__CHRA_PROV = 18,
    VG__CHRA_ANALYZER = 19,
    VG__CHRA_EVIDENCE = 20,
    VG__CHRA_VERCOL = 21,
    VG__CHRA_PREV = 22,
};

/* One stored row of the batch, copied out of the answer (its buffer is reused). */
struct vg__chra_stored {
    bool found;
    struct vg__val col[VG__CHRA_COLS]; /* texts owned */
};

struct vg__chra_read {
    const struct vg_store_reverdict *v; /* the chunk's */
    struct vg__chra_stored *st;
    size_t n;
};

static void
vg__chra_stored_free(struct vg__chra_stored *st)
{
    for (size_t k = 0; k < VG__CHRA_COLS; k++) {
        if (st->col[k].t == VG__TEXT || st->col[k].t == VG__BLOB) {
            free((void *)st->col[k].p);
        }
    }
    memset(st, 0, sizeof(*st));
}

static bool
vg__chra_eq(const struct vg__val *v, const char *s)
{
    return v->t == VG__TEXT && v->len == strlen(s) && memcmp(v->p, s, v->len) == 0;
}

/* A nullable text column equal to s ("" NULL). */
static bool
vg__chra_eq_null(const struct vg__val *v, const char *s)
{
    return v->t == VG__NULL ? s[0] == '\0' : vg__chra_eq(v, s);
}

static int
vg__chra_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__chra_read *r = arg;

    (void)set;
    if (ncols != VG__CHRA_COLS || c[VG__CHRA_UID].t != VG__TEXT || c[VG__CHRA_START].t != VG__INT ||
        c[VG__CHRA_VERCOL].t != VG__INT) {
        return VG_EINTERNAL;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct vg__chra_stored *st = &r->st[i];

        if (st->found || r->v[i].old->start_time != c[VG__CHRA_START].i ||
            !vg__chra_eq(&c[VG__CHRA_UID], r->v[i].old->measurement_uid)) {
            continue;
        }
        st->found = true;
        for (size_t k = 0; k < VG__CHRA_COLS; k++) {
            st->col[k] = c[k];
            if (c[k].t == VG__TEXT || c[k].t == VG__BLOB) {
                char *p = vg_xmalloc(c[k].len + 1);

                memcpy(p, c[k].p, c[k].len);
                p[c[k].len] = '\0';
                st->col[k].p = p;
            }
        }
        return 0;
    }
    return 0; /* a copy of a row already found (FINAL shows one) or not asked for */
}

/* The stored rows of v[n] (FINAL), by (start time, uid), into st[n]. */
static int
vg__chra_read(struct vg_store *s, const struct vg_store_reverdict *v, size_t n,
              struct vg__chra_stored *st)
{
    struct vg__val *p = vg_xcalloc(2 * VG__CHRA_CHUNK + 2, sizeof(*p));
    struct vg_buf sql;
    int rc = 0;

    vg_buf_init(&sql, 64 * 1024 + 128 * VG__CHRA_CHUNK);
    for (size_t at = 0; rc == 0 && at < n; at += VG__CHRA_CHUNK) {
        size_t k = n - at < VG__CHRA_CHUNK ? n - at : VG__CHRA_CHUNK, np = 0;
        int64_t lo = v[at].old->start_time, hi = lo;
        const char *text;

        for (size_t i = 0; i < k; i++) {
            const struct vg_store_stale *o = v[at + i].old;

            lo = o->start_time < lo ? o->start_time : lo;
            hi = o->start_time > hi ? o->start_time : hi;
            p[np++] = vg__store_int(o->start_time);
            p[np++] = vg__store_text(o->measurement_uid);
        }
        p[np++] = vg__store_int(lo); /* the primary key skips the other parts */
        p[np++] = vg__store_int(hi);
        vg_buf_reset(&sql);
        rc = vg_buf_appendf(&sql,
                            "SELECT " VG__CHRA_MCOLS ", toInt64(ver), prev_verdict FROM"
                            " measurements FINAL WHERE (measurement_start_time, measurement_uid)"
                            " IN (");
        rc = rc < 0 ? rc : vg__store_sql_tuples(&sql, "($1, $2)", 2, k, 0);
        if (rc == 0) {
            rc = vg_buf_appendf(&sql, ") AND measurement_start_time BETWEEN $%zu AND $%zu", np - 1,
                                np);
        }
        if (rc < 0 || (text = vg_buf_cstr(&sql)) == NULL) {
            rc = VG_EINTERNAL;
            break;
        }
        rc = s->ops->run(s->wconn, text, 0, 1, np, p, vg__chra_on_row,
                         &(struct vg__chra_read){v + at, st + at, k});
    }
    vg_buf_cleanup(&sql);
    VG_FREE(p);
    return rc;
}

/* The row's derived-table fields (what RETURNING gives the SQL path), into w->was. */
static void
vg__chra_was(const struct vg__chra_stored *st, struct vg__ra_row *w)
{
    const struct vg__val *c = st->col;

    w->updated = true;
    w->was.start_time = c[VG__CHRA_START].i;
    vg__store_copy_text(&c[VG__CHRA_DOMAIN], w->was.domain, sizeof(w->was.domain));
    vg__store_copy_text(&c[VG__CHRA_CC], w->was.probe_cc, sizeof(w->was.probe_cc));
    w->was.probe_asn = (uint32_t)c[VG__CHRA_ASN].i;
    vg__store_copy_text(&c[VG__CHRA_PROV], w->was.provenance, sizeof(w->was.provenance));
    w->was.has_input = c[VG__CHRA_INPUT].t == VG__TEXT;
    vg__store_copy_text(&c[VG__CHRA_INPUT], w->was.input, sizeof(w->was.input));
    w->received_us = c[VG__CHRA_RECEIVED].t == VG__INT ? c[VG__CHRA_RECEIVED].i : 0;
}

/*
 * The measurements: each row whose stored verdict and analyser are still v[i].old's gets a new
 * row with v[i].now's analysis; a row that has it already, over old's verdict (this batch run
 * before), is marked redone[i] for its latest states only.
 */
static int
vg__chra_rows(struct vg_store *s, struct vg__reanalyze_job *j, bool *redone)
{
    struct vg__chra_stored *st = vg_xcalloc(j->n + 1, sizeof(*st));
    struct vg__val *p = vg_xcalloc(j->n * VG__CHRA_COLS + 1, sizeof(*p));
    size_t np = 0;
    int rc;

    rc = vg__chra_read(s, j->v, j->n, st);
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        const struct vg_store_stale *old = j->v[i].old;
        const struct vg_store_meas *now = j->v[i].now;
        const struct vg__val *c = st[i].col;
        struct vg__val *q = p + VG__CHRA_COLS * np;

        if (!st[i].found) {
            continue;
        }
        if (vg__chra_eq(&c[VG__CHRA_VERDICT], now->x_verdict) &&
            vg__chra_eq_null(&c[VG__CHRA_CAUSE], now->x_cause) &&
            vg__chra_eq_null(&c[VG__CHRA_ANALYZER], now->x_analyzer) &&
            vg__chra_eq_null(&c[VG__CHRA_EVIDENCE], now->x_evidence) &&
            vg__chra_eq(&c[VG__CHRA_PREV], old->x_verdict)) {
            vg__chra_was(&st[i], &j->rows[i]);
            j->rows[i].updated = false;
            redone[i] = true;
            continue;
        }
        if (!vg__chra_eq(&c[VG__CHRA_VERDICT], old->x_verdict) ||
            !vg__chra_eq_null(&c[VG__CHRA_ANALYZER], old->x_analyzer)) {
            continue; /* another pass was first */
        }
        if (c[VG__CHRA_VERCOL].i > INT64_MAX - VG__CHRA_VER) {
            /* ver is 2^63 - 1 - received (µs) at ingest: about 400000 reanalyses of a row
             * received in 2026 */
            rc = VG_EINTERNAL;
            break;
        }
        vg__chra_was(&st[i], &j->rows[i]);
        memcpy(q, c, sizeof(*q) * VG__CHRA_COLS);
        q[VG__CHRA_VERDICT] = vg__store_text(now->x_verdict);
        q[VG__CHRA_CAUSE] = vg__store_text_or_null(now->x_cause);
        q[VG__CHRA_ANALYZER] = vg__store_text_or_null(now->x_analyzer);
        q[VG__CHRA_EVIDENCE] = vg__store_text_or_null(now->x_evidence);
        q[VG__CHRA_VERCOL] = vg__store_int(c[VG__CHRA_VERCOL].i + VG__CHRA_VER);
        q[VG__CHRA_PREV] = c[VG__CHRA_VERDICT];
        np++;
    }
    if (rc == 0 && np > 0) {
        rc = s->ops->run(s->wconn, vg__chra_sql_put, 0, np, VG__CHRA_COLS, p, NULL, NULL);
    }
    for (size_t i = 0; i < j->n; i++) {
        vg__chra_stored_free(&st[i]);
    }
    VG_FREE(p);
    VG_FREE(st);
    return rc;
}

/* ---- latest states ---- */

/* One latest state to recompute: a target in a scope. */
struct vg__chra_tgt {
    const char *scope;
    const struct vg_store_meas *m; /* input, domain, network */
    int64_t t;                     /* the latest trusted time among its changed rows */
    bool fresh;                    /* a row of it changed in this run (not only redone) */
    /* the stored state (targets FINAL) */
    bool found, has_brk, has_cause;
    int64_t brk, since, last, ver;
    char verdict[16], cause[VG_STORE_NAME_MAX + 1], uid[VG_UID_MAX];
    /* recomputed from the measurements */
    bool redo, seen, n_has_brk, n_has_since, n_has_cause;
    int64_t n_brk, n_since, n_last, n_start; /* n_start: the newest row's start time */
    char n_verdict[16], n_cause[VG_STORE_NAME_MAX + 1], n_uid[VG_UID_MAX];
};

static int
vg__chra_cmp_key(const char *scope, const char *input, const char *cc, int64_t asn,
                 const struct vg__chra_tgt *y)
{
    int c;

    if ((c = strcmp(scope, y->scope)) != 0 || (c = strcmp(input, y->m->input)) != 0 ||
        (c = strcmp(cc, y->m->probe_cc)) != 0) {
        return c;
    }
    return asn < y->m->probe_asn ? -1 : asn > y->m->probe_asn;
}

static int
vg__chra_cmp_tgt(const void *a, const void *b)
{
    const struct vg__chra_tgt *x = a;

    return vg__chra_cmp_key(x->scope, x->m->input, x->m->probe_cc, x->m->probe_asn, b);
}

struct vg__chra_tgts {
    struct vg__chra_tgt *t;
    size_t n;
};

/* The state of (scope, input, cc, asn) among t[n] (sorted), or NULL. */
static struct vg__chra_tgt *
vg__chra_find(const struct vg__chra_tgts *ts, const char *scope, const char *input, const char *cc,
              int64_t asn)
{
    size_t lo = 0, hi = ts->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = vg__chra_cmp_key(scope, input, cc, asn, &ts->t[mid]);

        if (c == 0) {
            return &ts->t[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

/* texts of a row into NUL-terminated copies; false when one does not fit */
static bool
vg__chra_cstr(const struct vg__val *v, char *out, size_t cap)
{
    if (v->t != VG__TEXT || v->len >= cap) {
        return false;
    }
    memcpy(out, v->p, v->len);
    out[v->len] = '\0';
    return true;
}

/* (scope, input, probe_cc, probe_asn, x_verdict, x_cause, since_time, last_time, brk_time,
 * last_uid, ver) of a stored state. */
static int
vg__chra_on_state(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    char scope[VG_STORE_PROV_MAX + 1], input[VG_STORE_INPUT_MAX + 1], cc[3];
    struct vg__chra_tgt *t;

    (void)set;
    if (ncols != 11 || c[3].t != VG__INT || c[6].t != VG__INT || c[7].t != VG__INT ||
        c[10].t != VG__INT || !vg__chra_cstr(&c[0], scope, sizeof(scope)) ||
        !vg__chra_cstr(&c[1], input, sizeof(input)) || !vg__chra_cstr(&c[2], cc, sizeof(cc))) {
        return VG_EINTERNAL;
    }
    t = vg__chra_find(arg, scope, input, cc, c[3].i);
    if (t == NULL) {
        return VG_EINTERNAL; /* a key not asked for */
    }
    t->found = true;
    vg__store_copy_text(&c[4], t->verdict, sizeof(t->verdict));
    t->has_cause = c[5].t == VG__TEXT;
    vg__store_copy_text(&c[5], t->cause, sizeof(t->cause));
    t->since = c[6].i;
    t->last = c[7].i;
    t->has_brk = c[8].t == VG__INT;
    t->brk = t->has_brk ? c[8].i : 0;
    vg__store_copy_text(&c[9], t->uid, sizeof(t->uid));
    t->ver = c[10].i;
    return 0;
}

/* One measurement, in (time, uid) order, into a state being recomputed: as the SQL path's
 * statements compute it (store_reanalyze.c vg__sql_ra_state, vg__sql_ra_since): the newest
 * row's verdict, cause and uid; brk the latest time of another verdict; since the earliest time
 * after brk of the newest verdict (none: the newest time). */
static void
vg__chra_apply(struct vg__chra_tgt *t, const char *verdict, const struct vg__val *cause,
               int64_t time, const char *uid, int64_t start)
{
    if (t->seen && strcmp(verdict, t->n_verdict) != 0) {
        t->n_has_brk = true;
        t->n_brk = t->n_last; /* the rows are in time order: the latest of another verdict */
        t->n_has_since = false;
    }
    t->seen = true;
    if (!t->n_has_since && (!t->n_has_brk || time > t->n_brk)) {
        t->n_has_since = true;
        t->n_since = time;
    }
    t->n_last = time;
    snprintf(t->n_verdict, sizeof(t->n_verdict), "%s", verdict);
    t->n_has_cause = cause->t == VG__TEXT;
    vg__store_copy_text(cause, t->n_cause, sizeof(t->n_cause));
    snprintf(t->n_uid, sizeof(t->n_uid), "%s", uid);
    t->n_start = start;
}

/* (domain, input, probe_cc, probe_asn, provenance, x_verdict, x_cause, time, uid, start time)
 * of a measurement of the targets being recomputed: into each of its scopes' states. */
static int
vg__chra_on_meas(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    char input[VG_STORE_INPUT_MAX + 1], cc[3], prov[VG_STORE_PROV_MAX + 1], verdict[16];
    char uid[VG_UID_MAX];
    const char *scopes[3] = {VG__SCOPE_ALL, prov, VG__SCOPE_TRUSTED};

    (void)set;
    if (ncols != 10 || c[3].t != VG__INT || c[7].t != VG__INT || c[9].t != VG__INT ||
        !vg__chra_cstr(&c[1], input, sizeof(input)) || !vg__chra_cstr(&c[2], cc, sizeof(cc)) ||
        !vg__chra_cstr(&c[4], prov, sizeof(prov)) ||
        !vg__chra_cstr(&c[5], verdict, sizeof(verdict)) ||
        !vg__chra_cstr(&c[8], uid, sizeof(uid))) {
        return VG_EINTERNAL;
    }
    for (size_t k = 0; k < 3; k++) {
        struct vg__chra_tgt *t;

        if (k == 2 && strcmp(prov, VG_STORE_ANONYMOUS) == 0) {
            continue;
        }
        t = vg__chra_find(arg, scopes[k], input, cc, c[3].i);
        if (t != NULL && t->redo) {
            vg__chra_apply(t, verdict, &c[6], c[7].i, uid, c[9].i);
        }
    }
    return 0;
}

/* Run sql_head + "(tuples) " + sql_tail for the keys of k[n] in chunks: (scope, input, cc, asn)
 * (with_scope) or (domain, input, cc, asn); rows to cb with ts. */
static int
vg__chra_by_keys(struct vg_store *s, struct vg__chra_tgts *ts, const struct vg__chra_tgt *const *k,
                 size_t n, bool with_scope, const char *sql_head, const char *sql_tail,
                 vg__row_cb cb)
{
    struct vg__val *p = vg_xcalloc(4 * VG__CHRA_CHUNK, sizeof(*p));
    struct vg_buf sql;
    int rc = 0;

    vg_buf_init(&sql, 64 * 1024 + 256 * VG__CHRA_CHUNK);
    for (size_t at = 0; rc == 0 && at < n; at += VG__CHRA_CHUNK) {
        size_t m = n - at < VG__CHRA_CHUNK ? n - at : VG__CHRA_CHUNK, np = 0;
        const char *text;

        vg_buf_reset(&sql);
        rc = vg_buf_appendf(&sql, "%s", sql_head);
        for (size_t i = 0; rc == 0 && i < m; i++) {
            const struct vg__chra_tgt *t = k[at + i];

            p[np++] = vg__store_text(with_scope ? t->scope : t->m->domain);
            p[np++] = vg__store_text(t->m->input);
            p[np++] = vg__store_text(t->m->probe_cc);
            p[np++] = vg__store_int(t->m->probe_asn);
            rc = vg_buf_appendf(&sql, "%s($%zu, $%zu, $%zu, $%zu)", i > 0 ? ", " : "", np - 3,
                                np - 2, np - 1, np);
        }
        if (rc < 0 || vg_buf_appendf(&sql, ")%s", sql_tail) < 0 ||
            (text = vg_buf_cstr(&sql)) == NULL) {
            rc = VG_EINTERNAL;
            break;
        }
        rc = s->ops->run(s->wconn, text, 0, 1, np, p, cb, ts);
    }
    vg_buf_cleanup(&sql);
    VG_FREE(p);
    return rc;
}

/* target order without the scope, for one read of each target's measurements */
static int
vg__chra_cmp_target(const void *a, const void *b)
{
    const struct vg__chra_tgt *x = *(const struct vg__chra_tgt *const *)a;
    const struct vg__chra_tgt *y = *(const struct vg__chra_tgt *const *)b;

    return vg__chra_cmp_key("", x->m->input, x->m->probe_cc, x->m->probe_asn,
                            &(struct vg__chra_tgt){.scope = "", .m = y->m});
}

/* The trusted time of a measurement (store_impl.h vg__store_teff) */
#define VG__CHRA_T                                                                   \
    "if(measurement_start_time < intDiv(received, 1000000), measurement_start_time," \
    " intDiv(received, 1000000))"

static const char vg__chra_sql_states[] =
    "SELECT scope, input, probe_cc, probe_asn, x_verdict, x_cause, since_time, last_time,"
    " brk_time, last_uid, toInt64(ver) FROM targets FINAL WHERE (scope, input, probe_cc,"
    " probe_asn) IN (";
/* a target's measurements from target_history (schema 3): its rows only, by its primary key */
static const char vg__chra_sql_meas[] =
    "SELECT domain, input, probe_cc, probe_asn, provenance, x_verdict, x_cause, " VG__CHRA_T
    " AS t, measurement_uid, measurement_start_time FROM target_history FINAL WHERE"
    " (domain, input, probe_cc, probe_asn) IN (";
static const char vg__chra_sql_meas_tail[] =
    " ORDER BY input, probe_cc, probe_asn, t, measurement_uid";
static const char vg__chra_sql_tput[] =
    "INSERT INTO targets (scope, input, probe_cc, probe_asn, domain, x_verdict, x_cause,"
    " since_time, last_time, brk_time, last_uid, ver) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
    " $10, $11, $12)";

/* Whether the recomputed state differs from the stored one. */
static bool
vg__chra_tgt_differs(const struct vg__chra_tgt *t)
{
    return strcmp(t->verdict, t->n_verdict) != 0 || t->has_cause != t->n_has_cause ||
           strcmp(t->cause, t->n_cause) != 0 ||
           t->since != (t->n_has_since ? t->n_since : t->n_last) || t->last != t->n_last ||
           t->has_brk != t->n_has_brk || (t->has_brk && t->brk != t->n_brk) ||
           strcmp(t->uid, t->n_uid) != 0;
}

/* The recomputed states written (those that changed, or of a row changed in this run). */
static int
vg__chra_tput(struct vg_store *s, struct vg__reanalyze_job *j, struct vg__chra_tgts *ts)
{
    struct vg__val *p = vg_xcalloc(12 * ts->n + 1, sizeof(*p));
    size_t np = 0;
    int rc = 0;

    for (size_t i = 0; i < ts->n; i++) {
        const struct vg__chra_tgt *t = &ts->t[i];
        struct vg__val *q = p + 12 * np;

        if (!t->redo) {
            continue;
        }
        if (!t->seen) {
            rc = VG_EINTERNAL; /* a state without measurements */
            break;
        }
        if (t->fresh) {
            j->st.targets++;
        }
        if (!vg__chra_tgt_differs(t)) {
            continue;
        }
        q[0] = vg__store_text(t->scope);
        q[1] = vg__store_text(t->m->input);
        q[2] = vg__store_text(t->m->probe_cc);
        q[3] = vg__store_int(t->m->probe_asn);
        q[4] = vg__store_text(t->m->domain);
        q[5] = vg__store_text(t->n_verdict);
        q[6] = t->n_has_cause ? vg__store_text(t->n_cause) : (struct vg__val){.t = VG__NULL};
        q[7] = vg__store_int(t->n_has_since ? t->n_since : t->n_last);
        q[8] = vg__store_int(t->n_last);
        q[9] = t->n_has_brk ? vg__store_int(t->n_brk) : (struct vg__val){.t = VG__NULL};
        q[10] = vg__store_text(t->n_uid);
        q[11] = vg__store_int(t->ver + 1);
        np++;
    }
    if (rc == 0 && np > 0) {
        rc = s->ops->run(s->wconn, vg__chra_sql_tput, 0, np, 12, p, NULL, NULL);
    }
    VG_FREE(p);
    return rc;
}

/* The alert events of the batch: each recomputed state in scope all whose verdict it changed
 * (store_reanalyze.c vg__ra_events); time is the measurement's start time on ClickHouse. */
static int
vg__chra_events(struct vg_store *s, const struct vg__chra_tgts *ts)
{
    struct vg__event_row *e = vg_xcalloc(ts->n + 1, sizeof(*e));
    size_t ne = 0;
    int rc;

    for (size_t i = 0; i < ts->n; i++) {
        const struct vg__chra_tgt *t = &ts->t[i];

        if (!t->redo || strcmp(t->scope, VG__SCOPE_ALL) != 0 ||
            strcmp(t->verdict, t->n_verdict) == 0) {
            continue;
        }
        e[ne++] =
            (struct vg__event_row){t->m->input, t->m->probe_cc, t->m->probe_asn,
                                   t->verdict,  t->n_verdict,   t->n_has_cause ? t->n_cause : NULL,
                                   t->n_uid,    t->n_start,     false};
    }
    rc = vg__store_events_put(s, e, ne, VG__EV_SOURCE_REANALYZE);
    VG_FREE(e);
    return rc;
}

/*
 * The latest states of the targets of the rows whose verdict or cause changed (or was found
 * changed: redone): read (FINAL), recomputed from their measurements where a changed row can
 * matter (at or after the state's latest other verdict, as on SQL), written.
 */
static int
vg__chra_targets(struct vg_store *s, struct vg__reanalyze_job *j, const bool *redone)
{
    struct vg__chra_tgts ts = {vg_xcalloc(j->n * VG__SCOPES_MAX + 1, sizeof(*ts.t)), 0};
    const struct vg__chra_tgt **k;
    size_t nt = 0, nk = 0, nu = 0;
    int rc = 0;

    for (size_t i = 0; i < j->n; i++) {
        const struct vg__ra_row *w = &j->rows[i];
        int64_t te = vg__store_teff(w->was.start_time, w->received_us);
        const char *scopes[3] = {VG__SCOPE_ALL, w->was.provenance, VG__SCOPE_TRUSTED};

        if ((!w->updated && !redone[i]) || !w->was.has_input ||
            (strcmp(w->was.x_verdict, w->is.x_verdict) == 0 &&
             strcmp(w->was.x_cause, w->is.x_cause) == 0)) {
            continue;
        }
        for (size_t sc = 0; sc < 3; sc++) {
            if (sc < 2 || strcmp(w->was.provenance, VG_STORE_ANONYMOUS) != 0) {
                ts.t[nt++] = (struct vg__chra_tgt){
                    .scope = scopes[sc], .m = &w->was, .t = te, .fresh = !redone[i]};
            }
        }
    }
    qsort(ts.t, nt, sizeof(*ts.t), vg__chra_cmp_tgt);
    for (size_t i = 0; i < nt; i++) { /* one per state */
        struct vg__chra_tgt *u = ts.n > 0 ? &ts.t[ts.n - 1] : NULL;

        if (u != NULL && vg__chra_cmp_tgt(u, &ts.t[i]) == 0) {
            u->t = ts.t[i].t > u->t ? ts.t[i].t : u->t;
            u->fresh = u->fresh || ts.t[i].fresh;
        } else {
            ts.t[ts.n++] = ts.t[i];
        }
    }
    k = vg_xcalloc(ts.n + 1, sizeof(*k));
    for (size_t i = 0; i < ts.n; i++) {
        k[i] = &ts.t[i];
    }
    if (ts.n > 0) {
        rc = vg__chra_by_keys(s, &ts, k, ts.n, true, vg__chra_sql_states, "", vg__chra_on_state);
    }
    /* the targets to recompute, each once */
    for (size_t i = 0; i < ts.n; i++) {
        struct vg__chra_tgt *t = &ts.t[i];

        t->redo = t->found && (!t->has_brk || t->t >= t->brk);
        if (t->redo) {
            k[nk++] = t;
        }
    }
    qsort(k, nk, sizeof(*k), vg__chra_cmp_target);
    for (size_t i = 0; i < nk; i++) {
        if (nu == 0 || vg__chra_cmp_target(&k[nu - 1], &k[i]) != 0) {
            k[nu++] = k[i];
        }
    }
    if (rc == 0 && nu > 0) {
        rc = vg__chra_by_keys(s, &ts, k, nu, false, vg__chra_sql_meas, vg__chra_sql_meas_tail,
                              vg__chra_on_meas);
    }
    if (rc == 0) {
        rc = vg__chra_tput(s, j, &ts);
    }
    if (rc == 0) {
        rc = vg__chra_events(s, &ts); /* after the states, as at ingest (store_ch_txn.c) */
    }
    VG_FREE(k);
    VG_FREE(ts.t);
    return rc;
}

/* ---- the position ---- */

static int
vg__chra_progress(struct vg_store *s, struct vg__reanalyze_job *j)
{
    static const char sql[] =
        "INSERT INTO reanalyze_progress (pass, last_time, last_uid, examined, changed, updated,"
        " ver) SELECT $1, $2, $3, $4, $5, $6, (SELECT max(ver) + 1 FROM reanalyze_progress"
        " WHERE pass = $1)";
    struct vg__val p[6] = {vg__store_text(j->p->key),
                           vg__store_int(j->done ? INT64_MIN : j->last_time),
                           vg__store_text(j->done ? "" : j->last_uid),
                           vg__store_int((int64_t)(j->p->examined + j->n)),
                           vg__store_int((int64_t)(j->p->changed + j->st.changed)),
                           vg__store_int((int64_t)time(NULL))};

    return s->ops->run(s->wconn, sql, 0, 1, 6, p, NULL, NULL);
}

/* ---- the transaction ---- */

int
vg__store_ch_reanalyze_txn(struct vg_store *s, struct vg__reanalyze_job *j)
{
    bool *redone = vg_xcalloc(j->n + 1, sizeof(*redone));
    int rc;

    memset(&j->st, 0, sizeof(j->st));
    memset(j->rows, 0, sizeof(*j->rows) * j->n);
    rc = vg__chra_rows(s, j, redone);
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        struct vg__ra_row *w = &j->rows[i];
        enum vg_verdict a, b;

        if (!w->updated && !redone[i]) {
            continue;
        }
        snprintf(w->was.x_verdict, sizeof(w->was.x_verdict), "%s", j->v[i].old->x_verdict);
        snprintf(w->was.x_cause, sizeof(w->was.x_cause), "%s", j->v[i].old->x_cause);
        w->is = w->was;
        snprintf(w->is.x_verdict, sizeof(w->is.x_verdict), "%s", j->v[i].now->x_verdict);
        snprintf(w->is.x_cause, sizeof(w->is.x_cause), "%s", j->v[i].now->x_cause);
        if (redone[i]) {
            continue; /* counted by the run that wrote it */
        }
        j->st.changed++;
        if (strcmp(w->was.x_verdict, w->is.x_verdict) != 0 &&
            vg_verdict_parse(w->was.x_verdict, &a) && vg_verdict_parse(w->is.x_verdict, &b)) {
            j->st.moved[a][b]++;
        }
    }
    if (rc == 0) {
        rc = vg__chra_targets(s, j, redone);
    }
    if (rc == 0) {
        rc = vg__chra_progress(s, j);
    }
    if (rc < 0) {
        vg__store_note_error(s, s->ops->errmsg(s->wconn));
    }
    VG_FREE(redone);
    return rc;
}
