/* SPDX-License-Identifier: MIT */
/*
 * store_events.c - the alert events (docs/storage.md, alert_events): written in the write
 * transaction of the measurements that cause them, derived from the history of each (input,
 * probe_cc, probe_asn) in scope all: at ingest (vg__store_events_derive, before the latest
 * states are upserted) and by reanalysis (vg__store_events_put, source 'reanalyze'). Then the
 * reads: the events after an id (GET /api/v1/alerts, the alerts' poller) and the consumers'
 * cursors.
 */
#include "store_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "util/buf.h"
#include "util/mem.h"

static const char vg__sql_ev_put[] =
    "INSERT INTO alert_events (created, input, probe_cc, probe_asn, old_verdict, new_verdict,"
    " cause, measurement_uid, measurement_time, source, late, provenance) VALUES ($1, $2, $3, $4,"
    " $5, $6, $7, $8,"
    " COALESCE((SELECT measurement_start_time FROM measurements WHERE measurement_uid = $8), $9),"
    " $10, $11, (SELECT provenance FROM measurements WHERE measurement_uid = $8))";

/* ClickHouse: no subquery in VALUES, no autoincrement. The ids follow max(id), read just before
 * each INSERT of events: by this writer, but also by `vigie import` or another serve that wrote
 * events to the database meanwhile (docs/storage.md, "ClickHouse: alert events": one alerting
 * writer at a time per database; two that insert events at the same instant can give one id
 * twice, and then one of the two events is lost). */
static const char vg__sql_ev_put_ch[] =
    "INSERT INTO alert_events (id, created, input, probe_cc, probe_asn, old_verdict, new_verdict,"
    " cause, measurement_uid, measurement_time, source, late, provenance) VALUES ($1, $2, $3, $4,"
    " $5, $6, $7, $8, $9, $10, $11, $12, $13)";
#define VG__EV_CH_COLS 13

#define VG__EV_CH_CHUNK 256 /* measurements per provenance lookup */

/* The events' measurements: their provenance and start time, read by primary key (start time,
 * uid); those not found so (an event's time is not its measurement's start time: a reanalysis
 * names a latest state's trusted time) by uid alone, which reads the whole uid column. */
struct vg__ev_prov {
    const struct vg__event_row *e;
    char (*v)[VG_STORE_PROV_MAX + 1]; /* per event; "" when not found */
    int64_t *t;                       /* per event: its measurement's start time, when found */
    size_t n;
};

static int
vg__ev_on_prov(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ev_prov *pv = arg;

    (void)set;
    if (ncols != 3 || c[0].t != VG__TEXT || c[1].t != VG__TEXT || c[2].t != VG__INT) {
        return VG_EINTERNAL;
    }
    for (size_t i = 0; i < pv->n; i++) {
        if (strlen(pv->e[i].uid) == c[0].len && memcmp(pv->e[i].uid, c[0].p, c[0].len) == 0) {
            vg__store_copy_text(&c[1], pv->v[i], sizeof(pv->v[i]));
            pv->t[i] = c[2].i;
        }
    }
    return 0;
}

/* One pass: every event (by_uid false), or those not found yet by uid alone. */
static int
vg__ev_prov_pass(struct vg_store *s, struct vg__ev_prov *pv, struct vg__val *p, bool by_uid)
{
    size_t *idx = vg_xcalloc(pv->n, sizeof(*idx)), ni = 0;
    struct vg_buf sql;
    int rc = 0;

    for (size_t i = 0; i < pv->n; i++) {
        if (!by_uid || pv->v[i][0] == '\0') {
            idx[ni++] = i;
        }
    }
    vg_buf_init(&sql, 64 * 1024);
    for (size_t at = 0; rc == 0 && at < ni; at += VG__EV_CH_CHUNK) {
        size_t k = ni - at < VG__EV_CH_CHUNK ? ni - at : VG__EV_CH_CHUNK, np = 0;
        const char *text;

        for (size_t i = 0; i < k; i++) {
            const struct vg__event_row *e = &pv->e[idx[at + i]];

            if (!by_uid) {
                p[np++] = vg__store_int(e->time);
            }
            p[np++] = vg__store_text(e->uid);
        }
        vg_buf_reset(&sql);
        rc = vg_buf_appendf(&sql,
                            "SELECT measurement_uid, provenance, measurement_start_time"
                            " FROM measurements FINAL WHERE %s IN (",
                            by_uid ? "measurement_uid"
                                   : "(measurement_start_time, measurement_uid)");
        rc = rc < 0 ? rc
                    : vg__store_sql_tuples(&sql, by_uid ? "$1" : "($1, $2)", by_uid ? 1 : 2, k, 0);
        if (rc < 0 || vg_buf_append(&sql, ")", 1) < 0 || (text = vg_buf_cstr(&sql)) == NULL) {
            rc = VG_EINTERNAL;
            break;
        }
        rc = s->ops->run(s->wconn, text, 0, 1, np, p, vg__ev_on_prov, pv);
    }
    vg_buf_cleanup(&sql);
    VG_FREE(idx);
    return rc;
}

static int
vg__ev_on_int(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    int64_t *v = arg;

    (void)set;
    if (ncols != 1 || c[0].t != VG__INT) {
        return VG_EINTERNAL;
    }
    *v = c[0].i;
    return 0;
}

static int
vg__ev_put_ch(struct vg_store *s, const struct vg__event_row *e, size_t n, const char *source,
              int64_t now)
{
    struct vg__ev_prov pv = {e, vg_xcalloc(n, sizeof(*pv.v)), vg_xcalloc(n, sizeof(*pv.t)), n};
    struct vg__val *p = vg_xcalloc(n * VG__EV_CH_COLS, sizeof(*p));
    int64_t next = 0;
    int rc;

    /* ids: (a sequence number past every stored id) << 16 | this store's tag (store_impl.h
     * ch_event_tag), so that two writers reading the same max(id) do not collide */
    rc = s->ops->run(s->wconn, "SELECT toInt64(max(id)) FROM alert_events", 0, 1, 0, NULL,
                     vg__ev_on_int, &next);
    next = (next >> 16) + 1;
    if (rc == 0) {
        rc = vg__ev_prov_pass(s, &pv, p, false);
    }
    if (rc == 0) {
        rc = vg__ev_prov_pass(s, &pv, p, true);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct vg__val *q = p + VG__EV_CH_COLS * i;

        q[0] = vg__store_int((next + (int64_t)i) * 65536 + s->ch_event_tag);
        q[1] = vg__store_int(now);
        q[2] = vg__store_text(e[i].input);
        q[3] = vg__store_text(e[i].probe_cc);
        q[4] = vg__store_int(e[i].probe_asn);
        q[5] = e[i].old_verdict != NULL ? vg__store_text(e[i].old_verdict)
                                        : (struct vg__val){.t = VG__NULL};
        q[6] = vg__store_text(e[i].new_verdict);
        q[7] = e[i].cause != NULL ? vg__store_text_or_null(e[i].cause)
                                  : (struct vg__val){.t = VG__NULL};
        q[8] = vg__store_text(e[i].uid);
        /* as COALESCE(its measurement's start time, time) on the other backends */
        q[9] = vg__store_int(pv.v[i][0] != '\0' ? pv.t[i] : e[i].time);
        q[10] = vg__store_text(source);
        q[11] = vg__store_int(e[i].late ? 1 : 0);
        q[12] = pv.v[i][0] != '\0' ? vg__store_text(pv.v[i]) : (struct vg__val){.t = VG__NULL};
    }
    if (rc == 0) {
        rc = s->ops->run(s->wconn, vg__sql_ev_put_ch, 0, n, VG__EV_CH_COLS, p, NULL, NULL);
    }
    VG_FREE(p);
    VG_FREE(pv.v);
    VG_FREE(pv.t);
    return rc;
}

int
vg__store_events_put(struct vg_store *s, const struct vg__event_row *e, size_t n,
                     const char *source)
{
    struct vg__val *p;
    int64_t now = vg__store_now_us();
    int rc;

    if (n == 0) {
        return 0;
    }
    if (s->ops->dialect == VG__CH) {
        return vg__ev_put_ch(s, e, n, source, now);
    }
    /* PostgreSQL hands out ids before commit: a transaction with a smaller id committing after
     * one with a larger would be skipped by a poller that saw the larger. The lock (taken only
     * when there are events, last in the transaction) makes ids commit in order. SQLite has one
     * writer at a time. */
    if (s->ops->dialect == VG__PG) {
        VG_TRY(s->ops->exec(s->wconn, "LOCK TABLE alert_events IN EXCLUSIVE MODE"));
    }
    p = vg_xcalloc(n * 11, sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        struct vg__val *q = p + 11 * i;

        q[0] = vg__store_int(now);
        q[1] = vg__store_text(e[i].input);
        q[2] = vg__store_text(e[i].probe_cc);
        q[3] = vg__store_int(e[i].probe_asn);
        q[4] = e[i].old_verdict != NULL ? vg__store_text(e[i].old_verdict)
                                        : (struct vg__val){.t = VG__NULL};
        q[5] = vg__store_text(e[i].new_verdict);
        q[6] = e[i].cause != NULL ? vg__store_text_or_null(e[i].cause)
                                  : (struct vg__val){.t = VG__NULL};
        q[7] = vg__store_text(e[i].uid);
        q[8] = vg__store_int(e[i].time);
        q[9] = vg__store_text(source);
        q[10] = vg__store_int(e[i].late ? 1 : 0);
    }
    rc = s->ops->run(s->wconn, vg__sql_ev_put, VG__RUN_CACHE, n, 11, p, NULL, NULL);
    VG_FREE(p);
    return rc;
}

/* ---- derivation at ingest ---- */

static int
vg__ev_cmp_key(const struct vg_store_meas *x, const struct vg_store_meas *y)
{
    int c;

    if ((c = strcmp(x->input, y->input)) != 0 || (c = strcmp(x->probe_cc, y->probe_cc)) != 0) {
        return c;
    }
    return x->probe_asn < y->probe_asn ? -1 : x->probe_asn > y->probe_asn;
}

static int
vg__ev_cmp_row(const void *a, const void *b)
{
    const struct vg__evrow *x = a, *y = b;
    int c = vg__ev_cmp_key(x->m, y->m);

    if (c != 0) {
        return c;
    }
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return strcmp(x->m->measurement_uid, y->m->measurement_uid);
}

static bool
vg__ev_interference(const char *v)
{
    enum vg_verdict e;

    return vg_verdict_parse(v, &e) && (e == VG_VERDICT_BLOCKED || e == VG_VERDICT_INTERCEPTED);
}

struct vg__ev_prev_q {
    struct vg__evkey *keys;
    size_t nk;
};

/* One latest state (input, probe_cc, probe_asn, x_verdict, last_time): onto its key. */
static int
vg__ev_on_prev(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ev_prev_q *q = arg;
    struct vg_store_meas *probe;
    size_t lo = 0, hi = q->nk;

    (void)set;
    if (ncols != 5 || c[4].t != VG__INT) {
        return VG_EINTERNAL;
    }
    probe = vg_xcalloc(1, sizeof(*probe));
    vg__store_copy_text(&c[0], probe->input, sizeof(probe->input));
    vg__store_copy_text(&c[1], probe->probe_cc, sizeof(probe->probe_cc));
    probe->probe_asn = (uint32_t)c[2].i;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = vg__ev_cmp_key(q->keys[mid].r->m, probe);

        if (cmp == 0) {
            q->keys[mid].has_prev = true;
            vg__store_copy_text(&c[3], q->keys[mid].verdict, sizeof(q->keys[mid].verdict));
            q->keys[mid].last = c[4].i;
            break;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    VG_FREE(probe);
    return 0;
}

/* The neighbours of a late row ($1 domain, $2 input, $3 cc, $4 asn, $5 time, $6 uid), by
 * trusted time then uid, as the latest states order them. A row's trusted time is never past
 * its start time (VG__EV_T(a) <= a.measurement_start_time), which bounds both reads on the
 * target's index (measurements_target, schema 9) without changing what they find:
 *   after   every row after it starts at or after $5: the target's rows from $5 on;
 *   before  the target's newest row before it (by start time, the subquery) has some trusted
 *           time T0; a row before it with a later trusted time starts at or after T0: the
 *           target's rows from T0 on.
 * Each reads the target's rows from about the late row's time on, where it was every row of
 * the network (a scan of the measurements' net index at each late row: 61% of an importer's
 * time at 450,000 rows). */
#define VG__EV_T(a)                                                              \
    "(CASE WHEN " a ".measurement_start_time < " a ".received / 1000000 THEN " a \
    ".measurement_start_time ELSE " a ".received / 1000000 END)"
#define VG__EV_OF(a)                                                                 \
    " FROM measurements " a " WHERE " a ".input = $2 AND " a ".probe_cc = $3 AND " a \
    ".probe_asn = $4 AND " a ".domain = $1 AND "
#define VG__EV_BEFORE(a) \
    "(" VG__EV_T(a) " < $5 OR (" VG__EV_T(a) " = $5 AND " a ".measurement_uid < $6))"
/* clang-format off */
const char vg__store_sql_ev_before[] =
    "SELECT m.x_verdict" VG__EV_OF("m") VG__EV_BEFORE("m")
    " AND m.measurement_start_time >= (SELECT " VG__EV_T("b") VG__EV_OF("b") VG__EV_BEFORE("b")
    " ORDER BY b.measurement_start_time DESC LIMIT 1)"
    " ORDER BY " VG__EV_T("m") " DESC, m.measurement_uid DESC LIMIT 1";
const char vg__store_sql_ev_after[] =
    "SELECT m.x_verdict, m.x_cause, m.measurement_uid, m.measurement_start_time" VG__EV_OF("m")
    "(" VG__EV_T("m") " > $5 OR (" VG__EV_T("m") " = $5 AND m.measurement_uid > $6))"
    " AND m.measurement_start_time >= $5"
    " ORDER BY " VG__EV_T("m") ", m.measurement_uid LIMIT 1";
/* clang-format on */

static int
vg__ev_on_before(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__evlate *l = &((struct vg__evlate *)arg)[set];

    if (ncols != 1) {
        return VG_EINTERNAL;
    }
    l->has_prev = true;
    vg__store_copy_text(&c[0], l->prev_v, sizeof(l->prev_v));
    return 0;
}

static int
vg__ev_on_after(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__evlate *l = &((struct vg__evlate *)arg)[set];

    if (ncols != 4 || c[3].t != VG__INT) {
        return VG_EINTERNAL;
    }
    l->has_next = true;
    vg__store_copy_text(&c[0], l->next_v, sizeof(l->next_v));
    vg__store_copy_text(&c[1], l->next_cause, sizeof(l->next_cause));
    vg__store_copy_text(&c[2], l->next_uid, sizeof(l->next_uid));
    l->next_time = c[3].i;
    return 0;
}

/* The event of row r after verdict old (NULL: none before it), if it makes one. */
static void
vg__ev_add(struct vg__event_row *e, size_t *ne, const struct vg_store_meas *m, const char *old,
           bool late)
{
    if (old != NULL ? strcmp(old, m->x_verdict) == 0 : !vg__ev_interference(m->x_verdict)) {
        return;
    }
    e[(*ne)++] =
        (struct vg__event_row){m->input,   m->probe_cc,        m->probe_asn,  old, m->x_verdict,
                               m->x_cause, m->measurement_uid, m->start_time, late};
}

/* Late rows: ask their neighbours (two statements for all of them; ClickHouse: two per chunk),
 * then make their events. */
static int
vg__ev_late(struct vg_store *s, struct vg__evlate *l, size_t nl, struct vg__event_row *e,
            size_t *ne)
{
    struct vg__val *p = vg_xcalloc(6 * nl + 1, sizeof(*p));
    bool ch = s->ops->dialect == VG__CH;
    int rc = 0;

    for (size_t i = 0; i < nl; i++) {
        const struct vg_store_meas *m = l[i].r->m;
        struct vg__val *q = p + 6 * i;

        q[0] = vg__store_text(m->domain);
        q[1] = vg__store_text(m->input);
        q[2] = vg__store_text(m->probe_cc);
        q[3] = vg__store_int(m->probe_asn);
        q[4] = vg__store_int(l[i].r->t);
        q[5] = vg__store_text(m->measurement_uid);
    }
    if (ch) {
        rc = vg__store_ch_evlate(s, l, nl);
    }
    if (!ch && nl > 0) {
        rc = s->ops->run(s->wconn, vg__store_sql_ev_before, VG__RUN_CACHE, nl, 6, p,
                         vg__ev_on_before, l);
    }
    if (!ch && rc == 0 && nl > 0) {
        rc = s->ops->run(s->wconn, vg__store_sql_ev_after, VG__RUN_CACHE, nl, 6, p, vg__ev_on_after,
                         l);
    }
    VG_FREE(p);
    for (size_t i = 0; rc == 0 && i < nl; i++) {
        const struct vg_store_meas *m = l[i].r->m;
        bool next_is_new = false;

        vg__ev_add(e, ne, m, l[i].has_prev ? l[i].prev_v : NULL, true);
        /* A next row new in this batch makes its own event (its previous is this row). */
        for (size_t j = 0; l[i].has_next && j < l[i].k->n; j++) {
            next_is_new |= strcmp(l[i].k->r[j].m->measurement_uid, l[i].next_uid) == 0;
        }
        /* Between prev and next: prev -> row, and row -> next unless the row repeats prev's
         * verdict (then prev -> next, which was there before, is all it is). */
        if (l[i].has_next && !next_is_new && strcmp(l[i].next_v, m->x_verdict) != 0 &&
            !(l[i].has_prev && strcmp(l[i].prev_v, m->x_verdict) == 0)) {
            e[(*ne)++] = (struct vg__event_row){m->input,      m->probe_cc,    m->probe_asn,
                                                m->x_verdict,  l[i].next_v,    l[i].next_cause,
                                                l[i].next_uid, l[i].next_time, true};
        }
    }
    return rc;
}

/* What vg__store_events_derive found, written by vg__store_events_write. */
struct vg__evbatch {
    struct vg__evrow *r;
    struct vg__evkey *k;
    struct vg__evlate *l;
    struct vg__event_row *e; /* borrow from r's rows, k and l */
    size_t ne;
};

void
vg__store_events_free(struct vg__evbatch *b)
{
    if (b != NULL) {
        VG_FREE(b->r);
        VG_FREE(b->k);
        VG_FREE(b->l);
        VG_FREE(b->e);
        free(b);
    }
}

int
vg__store_events_write(struct vg_store *s, const struct vg__evbatch *b)
{
    return b != NULL ? vg__store_events_put(s, b->e, b->ne, VG__EV_SOURCE_INGEST) : 0;
}

int
vg__store_events_derive(struct vg_store *s, const struct vg__wrow *w, size_t n,
                        struct vg__evbatch **out)
{
    struct vg__evbatch *b = vg_xcalloc(1, sizeof(*b));
    struct vg__evrow *r = b->r = vg_xcalloc(n + 1, sizeof(*r));
    struct vg__evkey *k = b->k = vg_xcalloc(n + 1, sizeof(*k));
    struct vg__evlate *l = b->l = vg_xcalloc(n + 1, sizeof(*l));
    struct vg__event_row *e = b->e = vg_xcalloc(2 * n + 1, sizeof(*e));
    struct vg__val *p = vg_xcalloc(3 * n + 1, sizeof(*p));
    struct vg__ev_prev_q pq = {k, 0};
    size_t nr = 0, nl = 0;
    int rc;

    *out = b;
    for (size_t i = 0; i < n; i++) {
        if (w[i].is_new && w[i].m->has_input) {
            r[nr++] =
                (struct vg__evrow){w[i].m, vg__store_teff(w[i].m->start_time, w[i].received_us)};
        }
    }
    qsort(r, nr, sizeof(*r), vg__ev_cmp_row);
    for (size_t i = 0; i < nr; i++) {
        if (i == 0 || vg__ev_cmp_key(r[i - 1].m, r[i].m) != 0) {
            k[pq.nk++] = (struct vg__evkey){.r = &r[i]};
        }
        k[pq.nk - 1].n++;
    }
    for (size_t i = 0; i < pq.nk; i++) {
        p[3 * i] = vg__store_text(k[i].r->m->input);
        p[3 * i + 1] = vg__store_text(k[i].r->m->probe_cc);
        p[3 * i + 2] = vg__store_int(k[i].r->m->probe_asn);
    }
    /* Every key's latest state before this batch: one statement per chunk of keys. */
    rc = vg__store_write_rows(s, VG__W_PREV, pq.nk, p, vg__ev_on_prev, &pq);
    VG_FREE(p);
    for (size_t i = 0; rc == 0 && i < pq.nk; i++) {
        const char *cur = k[i].has_prev ? k[i].verdict : NULL;

        /* In time order: a row at or after the latest state chains on from it; an older one
         * (late) is placed between its neighbours. */
        for (size_t j = 0; j < k[i].n; j++) {
            const struct vg__evrow *x = &k[i].r[j];

            if (k[i].has_prev && x->t < k[i].last) {
                l[nl++] = (struct vg__evlate){.r = x, .k = &k[i]};
                continue;
            }
            vg__ev_add(e, &b->ne, x->m, cur, false);
            cur = x->m->x_verdict;
        }
    }
    if (rc == 0) {
        rc = vg__ev_late(s, l, nl, e, &b->ne);
    }
    return rc;
}

/* ---- cursors ---- */

int
vg__store_cursor_put(struct vg_store *s, const struct vg__job *job)
{
    static const char sql[] =
        "INSERT INTO alert_cursor (consumer, last_id, updated) VALUES ($1, $2, $3)"
        " ON CONFLICT (consumer) DO UPDATE SET last_id = excluded.last_id,"
        " updated = excluded.updated";
    /* ClickHouse: a new row with a higher ver (ReplacingMergeTree(ver), read with FINAL) */
    static const char sql_ch[] = "INSERT INTO alert_cursor (consumer, last_id, updated, ver)"
                                 " VALUES ($1, $2, $3, $4)";
    struct vg__val p[4] = {vg__store_text(job->consumer), vg__store_int(job->last_id),
                           vg__store_int(job->now), vg__store_int(vg__store_now_us())};

    if (s->ops->dialect == VG__CH) {
        return s->ops->run(s->wconn, sql_ch, 0, 1, 4, p, NULL, NULL);
    }
    return s->ops->run(s->wconn, sql, VG__RUN_CACHE, 1, 3, p, NULL, NULL);
}

int
vg_store_alert_cursor_set(struct vg_store *s, const char *consumer, int64_t last_id)
{
    struct vg__job job = {.kind = VG__JOB_CURSOR,
                          .consumer = consumer,
                          .last_id = last_id,
                          .now = (int64_t)time(NULL)};

    VG_ENSURE(consumer != NULL && vg_store_provenance_ok(consumer) && last_id >= 0, VG_EINVAL);
    return vg__store_submit(s, &job);
}

struct vg__cursor_q {
    const char *consumer;
    bool found;
    int64_t id, max;
};

static int
vg__cursor_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__cursor_q *q = arg;
    struct vg__val p = vg__store_text(q->consumer);
    int64_t v = -1;

    q->id = -1;
    VG_TRY(s->ops->run(c,
                       s->ops->dialect == VG__CH
                           ? "SELECT last_id FROM alert_cursor FINAL WHERE consumer = $1"
                           : "SELECT last_id FROM alert_cursor WHERE consumer = $1",
                       VG__RUN_CACHE, 1, 1, &p, vg__ev_on_int, &v));
    q->found = v >= 0;
    q->id = v;
    return s->ops->run(c, "SELECT COALESCE(MAX(id), 0) FROM alert_events", VG__RUN_CACHE, 1, 0,
                       NULL, vg__ev_on_int, &q->max);
}

int
vg_store_alert_cursor(struct vg_store *s, const char *consumer, int64_t *last_id)
{
    struct vg__cursor_q q = {.consumer = consumer};

    *last_id = 0;
    VG_ENSURE(consumer != NULL && vg_store_provenance_ok(consumer), VG_EINVAL);
    VG_TRY(vg__store_read(s, vg__cursor_fn, &q));
    if (!q.found) {
        /* A new consumer starts at the newest event: the past is not announced. */
        VG_TRY(vg_store_alert_cursor_set(s, consumer, q.max));
        q.id = q.max;
    }
    *last_id = q.id;
    return 0;
}

/* ---- reads ---- */

struct vg__ev_list_q {
    struct vg__query q;
    json_t *results;
};

static int
vg__ev_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ev_list_q *l = arg;
    json_t *o;

    (void)set;
    if (ncols != 16 || c[0].t != VG__INT || c[1].t != VG__INT || c[5].t != VG__INT ||
        c[10].t != VG__INT || c[12].t != VG__INT) {
        return VG_EINTERNAL;
    }
    o = json_object();
    json_object_set_new(o, "id", json_integer(c[0].i));
    json_object_set_new(o, "created", vg__store_jtime(c[1].i / 1000000));
    json_object_set_new(o, "input", vg__store_jtext(&c[2]));
    json_object_set_new(o, "domain", vg__store_jtext(&c[3]));
    json_object_set_new(o, "probe_cc", vg__store_jtext(&c[4]));
    json_object_set_new(o, "probe_asn", vg__store_jasn(c[5].i));
    json_object_set_new(o, "old_verdict", vg__store_jtext(&c[6]));
    json_object_set_new(o, "new_verdict", vg__store_jtext(&c[7]));
    json_object_set_new(o, "cause", vg__store_jtext(&c[8]));
    json_object_set_new(o, "measurement_uid", vg__store_jtext(&c[9]));
    json_object_set_new(o, "measurement_time", vg__store_jtime(c[10].i));
    json_object_set_new(o, "source", vg__store_jtext(&c[11]));
    json_object_set_new(o, "late", json_boolean(c[12].i != 0));
    json_object_set_new(o, "provenance", vg__store_jtext(&c[13]));
    json_object_set_new(o, "x_analyzer", vg__store_jtext(&c[14]));
    json_object_set_new(o, "x_evidence", vg__store_jtext(&c[15]));
    json_array_append_new(l->results, o);
    return 0;
}

static int
vg__ev_list_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__ev_list_q *l = arg;

    json_array_clear(l->results);
    return s->ops->run(c, l->q.sql, 0, 1, l->q.np, l->q.p, vg__ev_on_row, l);
}

/* " WHERE <p>id > since [AND <p>input = ...]" of f (its input, probe_cc, probe_asn). */
static void
vg__ev_where(struct vg__query *q, const char *pfx, const struct vg_store_filter *f,
             int64_t since_id)
{
    char pre[64];

    snprintf(pre, sizeof(pre), " WHERE %sid > ", pfx);
    vg__store_q_param(q, pre, vg__store_int(since_id), "");
    if (f != NULL && f->input != NULL) {
        snprintf(pre, sizeof(pre), " AND %sinput = ", pfx);
        vg__store_q_param(q, pre, vg__store_text(f->input), "");
    }
    if (f != NULL && f->probe_cc != NULL) {
        snprintf(pre, sizeof(pre), " AND %sprobe_cc = ", pfx);
        vg__store_q_param(q, pre, vg__store_text(f->probe_cc), "");
    }
    if (f != NULL && f->has_probe_asn) {
        snprintf(pre, sizeof(pre), " AND %sprobe_asn = ", pfx);
        vg__store_q_param(q, pre, vg__store_int(f->probe_asn), "");
    }
}

static void
vg__ev_query(struct vg__query *q, const struct vg_store_filter *f, int64_t since_id, unsigned limit)
{
    vg__store_q_add(q, "SELECT e.id, e.created, e.input, m.domain, e.probe_cc, e.probe_asn,"
                       " e.old_verdict, e.new_verdict, e.cause, e.measurement_uid,"
                       " e.measurement_time, e.source, e.late, e.provenance, m.x_analyzer,"
                       " m.x_evidence FROM alert_events e LEFT JOIN measurements m"
                       " ON m.measurement_uid = e.measurement_uid");
    vg__ev_where(q, "e.", f, since_id);
    vg__store_q_param(q, " ORDER BY e.id LIMIT ", vg__store_int(limit > 0 ? (int64_t)limit : 100),
                      "");
}

/* ClickHouse: the page of events (FINAL), joined to their measurements found by primary key
 * (start time, then uid) rather than to every measurement (a JOIN there reads its right side
 * whole); a missing measurement gives NULLs, as the LEFT JOIN does elsewhere. */
static void
vg__ev_query_ch(struct vg__query *q, const struct vg_store_filter *f, int64_t since_id,
                unsigned limit)
{
    static const char *const sub[] = {
        ("(SELECT id, created, input, probe_cc, probe_asn, old_verdict, new_verdict, cause,"
         " measurement_uid, measurement_time, source, late, provenance FROM alert_events FINAL"),
        " measurement_uid IN (SELECT measurement_uid FROM alert_events FINAL",
        " AND measurement_start_time IN (SELECT measurement_time FROM alert_events FINAL",
    };
    struct vg__val lim = vg__store_int(limit > 0 ? (int64_t)limit : 100);

    vg__store_q_add(q, "SELECT id, created, input, if(m_ok = 1, m_domain, NULL), probe_cc,"
                       " probe_asn, old_verdict, new_verdict, cause, measurement_uid,"
                       " measurement_time, source, late, provenance, m_an, m_ev FROM ");
    for (size_t i = 0; i < 3; i++) {
        if (i == 1) {
            vg__store_q_add(q, " AS e ANY LEFT JOIN (SELECT measurement_uid, domain AS m_domain,"
                               " x_analyzer AS m_an, x_evidence AS m_ev, toInt8(1) AS m_ok"
                               " FROM measurements FINAL WHERE");
        }
        vg__store_q_add(q, sub[i]);
        vg__ev_where(q, "", f, since_id);
        vg__store_q_param(q, " ORDER BY id LIMIT ", lim, ")");
    }
    vg__store_q_add(q, ") AS m USING measurement_uid ORDER BY id");
}

int
vg_store_alert_events(struct vg_store *s, const struct vg_store_filter *f, int64_t since_id,
                      unsigned limit, json_t **out)
{
    struct vg__ev_list_q *l;
    int rc;

    *out = NULL;
    VG_ENSURE(limit <= VG_STORE_PAGE_MAX && since_id >= 0, VG_EINVAL);
    VG_ENSURE(f == NULL ||
                  (f->domain == NULL && f->x_verdict == NULL && f->since == 0 && f->until == 0 &&
                   f->provenance == NULL && !f->trusted && f->window == 0),
              VG_EINVAL);
    VG_TRY(vg__store_filter_valid(f));
    l = vg_xcalloc(1, sizeof(*l));
    if (s->ops->dialect == VG__CH) {
        vg__ev_query_ch(&l->q, f, since_id, limit);
    } else {
        vg__ev_query(&l->q, f, since_id, limit);
    }
    l->results = json_array();
    rc = vg__store_read(s, vg__ev_list_fn, l);
    if (rc == 0) {
        size_t n = json_array_size(l->results);
        json_t *last = n > 0 ? json_array_get(l->results, n - 1) : NULL;
        json_t *next = n > 0 && n == (limit > 0 ? limit : 100)
                           ? json_integer(json_integer_value(json_object_get(last, "id")))
                           : json_null();

        *out = json_pack("{s:o, s:o}", "results", l->results, "next_since_id", next);
        l->results = NULL;
    }
    json_decref(l->results);
    VG_FREE(l);
    return rc;
}
