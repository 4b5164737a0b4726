/* SPDX-License-Identifier: MIT */
/* The neighbours in time of a batch's late rows on ClickHouse, for their alert events
 * (store_events.c vg__ev_late asks them; the other backends' statements are there). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_events.h"
#include "store_impl.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/mem.h"

/*
 * ClickHouse: / is a float division there; rows read with FINAL; and no index but the primary
 * key, so the rows are read from target_history (the target's, by start time: schema 3 of
 * store_ch_schema.c; the measurements' key is time first, and their ranges read every target's
 * rows in those hours), both neighbours in a range of start times, else each late row would
 * carry its target's whole history back. After t: a trusted time is at most the start time, so
 * start >= t, up to the end of the key's first hour after t's that has rows (target_history
 * too, without FINAL: any copy says the hour has rows; none: t's hour). Before t: from the
 * key's latest hour before t's that has rows (none: t's hour), up to the same end as after.
 * Inexact only for rows dated ahead of their arrival (their trusted time is earlier than their
 * start time), when such a row would be the neighbour: before t, one that starts past the
 * range's end is not seen.
 *
 * Two statements per chunk of up to VG__EV_LATE_CHUNK late rows (one HTTP round trip each):
 * the hours, then every row of the chunk's ranges, each late row's neighbours picked here by
 * (trusted time, uid). The late rows are data, not SQL: flat arrays of numbers, sliced per
 * target by the offset and count its key maps to (transform), ARRAY JOINed with the target's
 * rows. A condition per late row (an OR of them, or an aggregate each) made the server's
 * analysis of the statement grow with the square of the chunk: 32 late rows took ~80 ms a
 * statement, where 1,024 take ~60 ms this way.
 */
#define VG__EV_LATE_CHUNK 1024
#define VG__EV_SQL_MAX    (64 * 1024 * 1024) /* the server parses this much (store_ch.c) */
/* A target's key as one string, the same in SQL and here: each text after its length (no two
 * keys give one string, whatever bytes they hold). */
#define VG__EV_KEY_CH                                                                        \
    "concat(toString(length(input)), ':', input, toString(length(probe_cc)), ':', probe_cc," \
    " ':', toString(probe_asn))"
#define VG__EV_T_CH                                                      \
    "(CASE WHEN measurement_start_time < intDiv(received, 1000000) THEN" \
    " measurement_start_time ELSE intDiv(received, 1000000) END)"

struct vg__ev_late_ch {
    struct vg__evlate *l; /* the chunk */
    size_t n;
};

/* Text column v against s: <0, 0, >0 as strcmp (ClickHouse compares Strings bytewise). */
static int
vg__ch_evlate_cmp(const struct vg__val *v, const char *s)
{
    size_t n = strlen(s), len = v->t == VG__TEXT ? v->len : 0;
    int c = len > 0 ? memcmp(v->p, s, len < n ? len : n) : 0;

    if (c != 0 || len == n) {
        return c;
    }
    return len < n ? -1 : 1;
}

/* Late rows by target (input, probe_cc, probe_asn), then by their place in the chunk. */
static int
vg__ch_evlate_order(const void *a, const void *b)
{
    const struct vg__evlate *x = *(const struct vg__evlate *const *)a;
    const struct vg__evlate *y = *(const struct vg__evlate *const *)b;
    const struct vg_store_meas *m = x->r->m, *n = y->r->m;
    int c = strcmp(m->input, n->input);

    if (c == 0) {
        c = strcmp(m->probe_cc, n->probe_cc);
    }
    if (c == 0 && m->probe_asn != n->probe_asn) {
        c = m->probe_asn < n->probe_asn ? -1 : 1;
    }
    if (c == 0 && x != y) {
        c = x < y ? -1 : 1;
    }
    return c;
}

/* The chunk's late rows of answer column c (an index into the chunk), or NULL. */
static struct vg__evlate *
vg__ch_evlate_row(const struct vg__ev_late_ch *q, const struct vg__val *c)
{
    return c->t == VG__INT && c->i >= 0 && (uint64_t)c->i < q->n ? &q->l[c->i] : NULL;
}

/* An answer row of the hours: late row, its key's latest hour before t's, first hour after
 * (0: none). */
static int
vg__ch_evlate_on_hours(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ev_late_ch *q = arg;
    struct vg__evlate *l;
    int64_t h;

    (void)set;
    if (ncols != 3 || (l = vg__ch_evlate_row(q, &c[0])) == NULL || c[1].t != VG__INT ||
        c[2].t != VG__INT) {
        return VG_EINTERNAL;
    }
    h = l->r->t - l->r->t % 3600;
    l->lo = c[1].i != 0 ? c[1].i : h;
    l->hi = (c[2].i != 0 ? c[2].i : h) + 3600;
    return 0;
}

/* A measurement in a late row's range (late row, domain, input, probe_cc, probe_asn,
 * x_verdict, x_cause, uid, start time, trusted time): its nearest before / after so far? */
static int
vg__ch_evlate_on_near(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ev_late_ch *q = arg;
    const struct vg_store_meas *m;
    struct vg__evlate *l;
    int64_t t, tt, st;
    int cmp;

    (void)set;
    if (ncols != 10 || (l = vg__ch_evlate_row(q, &c[0])) == NULL || c[4].t != VG__INT ||
        c[8].t != VG__INT || c[9].t != VG__INT) {
        return VG_EINTERNAL;
    }
    m = l->r->m;
    t = l->r->t;
    tt = c[9].i;
    st = c[8].i;
    if (vg__ch_evlate_cmp(&c[1], m->domain) != 0 || vg__ch_evlate_cmp(&c[2], m->input) != 0 ||
        vg__ch_evlate_cmp(&c[3], m->probe_cc) != 0 || c[4].i != (int64_t)m->probe_asn) {
        return 0; /* another domain's row under the same URL: never the neighbour */
    }
    cmp = tt != t ? (tt < t ? -1 : 1) : vg__ch_evlate_cmp(&c[7], m->measurement_uid);
    if (cmp < 0 && st >= l->lo && st < l->hi &&
        (!l->has_prev || tt > l->prev_t ||
         (tt == l->prev_t && vg__ch_evlate_cmp(&c[7], l->prev_uid) > 0))) {
        l->has_prev = true;
        l->prev_t = tt;
        vg__store_copy_text(&c[5], l->prev_v, sizeof(l->prev_v));
        vg__store_copy_text(&c[7], l->prev_uid, sizeof(l->prev_uid));
    } else if (cmp > 0 && st >= t && st < l->hi &&
               (!l->has_next || tt < l->next_t ||
                (tt == l->next_t && vg__ch_evlate_cmp(&c[7], l->next_uid) < 0))) {
        l->has_next = true;
        l->next_t = tt;
        l->next_time = st;
        vg__store_copy_text(&c[5], l->next_v, sizeof(l->next_v));
        vg__store_copy_text(&c[6], l->next_cause, sizeof(l->next_cause));
        vg__store_copy_text(&c[7], l->next_uid, sizeof(l->next_uid));
    }
    return 0;
}

/* The chunk's targets, in ord's order, for the statements: their parameters p (per target:
 * its key string, input, probe_cc, probe_asn; the key strings held in keys), and the offset
 * (1-based) and count of each one's late rows in ord. */
struct vg__ev_targets {
    size_t nk;
    struct vg__val *p;
    size_t *off, *cnt;
    struct vg_buf keys;
};

static bool
vg__ch_evlate_same(const struct vg_store_meas *a, const struct vg_store_meas *b)
{
    return strcmp(a->input, b->input) == 0 && strcmp(a->probe_cc, b->probe_cc) == 0 &&
           a->probe_asn == b->probe_asn;
}

static int
vg__ch_evlate_targets(struct vg__evlate *const *ord, size_t n, struct vg__ev_targets *tg,
                      size_t *at)
{
    tg->nk = 0;
    vg_buf_reset(&tg->keys);
    for (size_t i = 0; i < n; i++) {
        const struct vg_store_meas *m = ord[i]->r->m;

        if (i == 0 || !vg__ch_evlate_same(ord[i - 1]->r->m, m)) {
            at[tg->nk] = tg->keys.len;
            tg->off[tg->nk] = i + 1;
            tg->cnt[tg->nk] = 0;
            tg->nk++;
            if (vg_buf_appendf(&tg->keys, "%zu:%s%zu:%s:%" PRIu32, strlen(m->input), m->input,
                               strlen(m->probe_cc), m->probe_cc, m->probe_asn) < 0) {
                return VG_EINTERNAL;
            }
        }
        tg->cnt[tg->nk - 1]++;
    }
    at[tg->nk] = tg->keys.len;
    /* pointers into keys once it has stopped growing */
    for (size_t k = 0; k < tg->nk; k++) {
        const struct vg_store_meas *m = ord[tg->off[k] - 1]->r->m;

        tg->p[4 * k] = (struct vg__val){
            .t = VG__TEXT, .p = (const char *)tg->keys.data + at[k], .len = at[k + 1] - at[k]};
        tg->p[4 * k + 1] = vg__store_text(m->input);
        tg->p[4 * k + 2] = vg__store_text(m->probe_cc);
        tg->p[4 * k + 3] = vg__store_int(m->probe_asn);
    }
    return 0;
}

/* "[a, b, ...]" of the late rows' field f (0 the index in the chunk, 1 t's hour, 2 lo, 3 hi,
 * 4 t), in ord's order. */
static int
vg__ch_evlate_array(struct vg_buf *sql, struct vg__evlate *const *ord, size_t n,
                    const struct vg__evlate *base, int f)
{
    int rc = vg_buf_append(sql, "[", 1);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct vg__evlate *l = ord[i];
        int64_t t = l->r->t, v = f == 0   ? (int64_t)(l - base)
                                 : f == 1 ? t - t % 3600
                                 : f == 2 ? l->lo
                                 : f == 3 ? l->hi
                                          : t;

        rc = vg_buf_appendf(sql, "%s%" PRId64, i > 0 ? ", " : "", v);
    }
    return rc < 0 ? rc : vg_buf_append(sql, "]", 1);
}

/* "[1, 2, ...]" (k 0), or the targets' offsets (1) or counts (2). */
static int
vg__ch_evlate_tarray(struct vg_buf *sql, const struct vg__ev_targets *tg, int k)
{
    int rc = vg_buf_append(sql, "[", 1);

    for (size_t j = 0; rc == 0 && j < tg->nk; j++) {
        rc = vg_buf_appendf(sql, "%s%zu", j > 0 ? ", " : "",
                            k == 0   ? j + 1
                            : k == 1 ? tg->off[j]
                                     : tg->cnt[j]);
    }
    return rc < 0 ? rc : vg_buf_append(sql, "]", 1);
}

/*
 * The hours statement (hours true) or the rows statement. The inner SELECT reads the chunk's
 * targets' rows (the primary key finds them: (input, probe_cc, probe_asn) IN) with j, the
 * target's place in the arrays; ARRAY JOIN pairs each row with its target's late rows (their
 * slice of the late-row arrays).
 *   hours:  qi, maxIf(hour, start < t's hour), minIf(hour, start >= t's hour + 3600) per late
 *           row.
 *   rows:   qi and the row, where qlo <= start < qhi and (trusted time <= t or start >= t):
 *           before t, lo <= start < hi; after, t <= start < hi; the rest is checked here.
 */
static int
vg__ch_evlate_sql(struct vg_buf *sql, struct vg__evlate *const *ord, size_t n,
                  const struct vg__evlate *base, const struct vg__ev_targets *tg, bool hours)
{
    int rc;

    vg_buf_reset(sql);
    rc = vg_buf_appendf(sql, "SELECT qi, %s FROM (SELECT %s, transform(" VG__EV_KEY_CH ", [",
                        hours ? "maxIf(st - st % 3600, st < qh), minIf(st - st % 3600, st >= qh"
                                " + 3600)"
                              : "domain, input, probe_cc, probe_asn, x_verdict, x_cause,"
                                " measurement_uid, st, tt",
                        hours ? "measurement_start_time AS st"
                              : "domain, input, probe_cc, probe_asn, x_verdict, x_cause,"
                                " measurement_uid, measurement_start_time AS st, " VG__EV_T_CH
                                " AS tt");
    for (size_t k = 0; rc == 0 && k < tg->nk; k++) {
        rc = vg_buf_appendf(sql, "%s$%zu", k > 0 ? ", " : "", 4 * k + 1);
    }
    rc = rc < 0 ? rc : vg_buf_append(sql, "], ", 3);
    rc = rc < 0 ? rc : vg__ch_evlate_tarray(sql, tg, 0);
    rc = rc < 0 ? rc
                : vg_buf_appendf(sql,
                                 ", 0) AS j FROM target_history%s WHERE (input, probe_cc,"
                                 " probe_asn) IN (",
                                 hours ? "" : " FINAL");
    for (size_t k = 0; rc == 0 && k < tg->nk; k++) {
        rc = vg_buf_appendf(sql, "%s($%zu, $%zu, $%zu)", k > 0 ? ", " : "", 4 * k + 2, 4 * k + 3,
                            4 * k + 4);
    }
    /* the slices: arraySlice(late rows' field, offset[j], count[j]) */
    for (int f = 0; rc == 0 && f < (hours ? 2 : 5); f++) {
        static const char *const as[] = {"qi", "qh", "qlo", "qhi", "qt"};

        if (f == 1 && !hours) {
            continue; /* the rows statement has no use for t's hour */
        }
        rc = vg_buf_appendf(sql, "%s arraySlice(", f == 0 ? ")) ARRAY JOIN" : ",");
        rc = rc < 0 ? rc : vg__ch_evlate_array(sql, ord, n, base, f);
        rc = rc < 0 ? rc : vg_buf_append(sql, ", arrayElement(", 15);
        rc = rc < 0 ? rc : vg__ch_evlate_tarray(sql, tg, 1);
        rc = rc < 0 ? rc : vg_buf_append(sql, ", j), arrayElement(", 19);
        rc = rc < 0 ? rc : vg__ch_evlate_tarray(sql, tg, 2);
        rc = rc < 0 ? rc : vg_buf_appendf(sql, ", j)) AS %s", as[f]);
    }
    if (rc == 0) {
        rc = vg_buf_appendf(sql, "%s",
                            hours ? " GROUP BY qi"
                                  : " WHERE st >= qlo AND st < qhi AND (tt <= qt OR"
                                    " st >= qt)");
    }
    return rc < 0 ? VG_EINTERNAL : 0;
}

/* Late rows' neighbours on ClickHouse: two statements per VG__EV_LATE_CHUNK late rows. */
int
vg__store_ch_evlate(struct vg_store *s, struct vg__evlate *l, size_t nl)
{
    size_t chunk = nl < VG__EV_LATE_CHUNK ? nl : VG__EV_LATE_CHUNK;
    struct vg__evlate **ord = vg_xcalloc(chunk + 1, sizeof(*ord));
    struct vg__ev_targets tg = {0};
    size_t *at = vg_xcalloc(chunk + 1, sizeof(*at));
    struct vg_buf sql;
    int rc = 0;

    tg.p = vg_xcalloc(4 * chunk + 1, sizeof(*tg.p));
    tg.off = vg_xcalloc(chunk + 1, sizeof(*tg.off));
    tg.cnt = vg_xcalloc(chunk + 1, sizeof(*tg.cnt));
    vg_buf_init(&tg.keys, VG__EV_SQL_MAX);
    vg_buf_init(&sql, VG__EV_SQL_MAX);
    for (size_t at0 = 0; rc == 0 && at0 < nl; at0 += VG__EV_LATE_CHUNK) {
        struct vg__ev_late_ch q = {l + at0, nl - at0 < chunk ? nl - at0 : chunk};

        for (size_t i = 0; i < q.n; i++) {
            int64_t h = q.l[i].r->t - q.l[i].r->t % 3600;

            q.l[i].lo = h;
            q.l[i].hi = h + 3600;
            ord[i] = &q.l[i];
        }
        qsort(ord, q.n, sizeof(*ord), vg__ch_evlate_order);
        rc = vg__ch_evlate_targets(ord, q.n, &tg, at);
        for (int hours = 1; rc == 0 && hours >= 0; hours--) {
            const char *text;

            rc = vg__ch_evlate_sql(&sql, ord, q.n, q.l, &tg, hours != 0);
            if (rc == 0 && (text = vg_buf_cstr(&sql)) == NULL) {
                rc = VG_EINTERNAL;
            }
            if (rc == 0) {
                rc = s->ops->run(s->wconn, text, 0, 1, 4 * tg.nk, tg.p,
                                 hours ? vg__ch_evlate_on_hours : vg__ch_evlate_on_near, &q);
            }
        }
    }
    vg_buf_cleanup(&sql);
    vg_buf_cleanup(&tg.keys);
    VG_FREE(tg.cnt);
    VG_FREE(tg.off);
    VG_FREE(tg.p);
    VG_FREE(at);
    VG_FREE(ord);
    return rc;
}
