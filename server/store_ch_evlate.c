/* SPDX-License-Identifier: MIT */
/* The neighbours in time of a batch's late rows on ClickHouse, for their alert events
 * (store_events.c vg__ev_late asks them; the other backends' statements are there). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "store_events.h"
#include "store_impl.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/mem.h"

/* ClickHouse: / is a float division there; rows read with FINAL; and no index but the primary
 * key, so the rows are read from target_history (the target's, by start time: schema 3 of
 * store_ch_schema.c; the measurements' key is time first, and their ranges read every target's
 * rows in those hours), both neighbours in a range of start times, else each late row would
 * read its target's whole history. After t: a trusted time is at most the start time, so
 * start >= t, up to the end of the key's first hour after t's that has rows (agg_target_hourly,
 * by its key prefix; none: t's hour). Before t: from the key's latest hour before t's that has
 * rows (none: t's hour), up to the same end as after. Inexact only for rows dated ahead of
 * their arrival (their trusted time is earlier than their start time), when such a row would
 * be the neighbour: before t, one that starts past the range's end is not seen.
 * Two statements per chunk of late rows, not two per row (one HTTP round trip each): the hours
 * (one answer row, two columns per late row), then every row of the chunk's ranges, each late
 * row's neighbours picked here by (trusted time, uid) as the per-row statements ordered them. */
#define VG__EV_LATE_CHUNK (VG_CH_COLS_MAX / 2)
#define VG__EV_T_CH                                                          \
    "(CASE WHEN m.measurement_start_time < intDiv(m.received, 1000000) THEN" \
    " m.measurement_start_time ELSE intDiv(m.received, 1000000) END)"

struct vg__ev_late_ch {
    struct vg__evlate *l;
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

/* The one answer row: per late row, its key's latest hour before t's and first hour after. */
static int
vg__ch_evlate_on_hours(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ev_late_ch *q = arg;

    (void)set;
    if (ncols != 2 * q->n) {
        return VG_EINTERNAL;
    }
    for (size_t i = 0; i < q->n; i++) {
        int64_t h = q->l[i].r->t - q->l[i].r->t % 3600;

        if (c[2 * i].t != VG__INT || c[2 * i + 1].t != VG__INT) {
            return VG_EINTERNAL;
        }
        q->l[i].lo = c[2 * i].i != 0 ? c[2 * i].i : h;
        q->l[i].hi = (c[2 * i + 1].i != 0 ? c[2 * i + 1].i : h) + 3600;
    }
    return 0;
}

/* One measurement near some late rows (domain, input, probe_cc, probe_asn, x_verdict, x_cause,
 * uid, start time, trusted time): the nearest before / after each late row of its key. */
static int
vg__ch_evlate_on_near(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__ev_late_ch *q = arg;

    (void)set;
    if (ncols != 9 || c[3].t != VG__INT || c[7].t != VG__INT || c[8].t != VG__INT) {
        return VG_EINTERNAL;
    }
    for (size_t i = 0; i < q->n; i++) {
        struct vg__evlate *l = &q->l[i];
        const struct vg_store_meas *m = l->r->m;
        int64_t t = l->r->t, tt = c[8].i, st = c[7].i;
        int cmp;

        if (vg__ch_evlate_cmp(&c[0], m->domain) != 0 || vg__ch_evlate_cmp(&c[1], m->input) != 0 ||
            vg__ch_evlate_cmp(&c[2], m->probe_cc) != 0 || c[3].i != (int64_t)m->probe_asn) {
            continue;
        }
        cmp = tt != t ? (tt < t ? -1 : 1) : vg__ch_evlate_cmp(&c[6], m->measurement_uid);
        if (cmp < 0 && st >= l->lo && st < l->hi &&
            (!l->has_prev || tt > l->prev_t ||
             (tt == l->prev_t && vg__ch_evlate_cmp(&c[6], l->prev_uid) > 0))) {
            l->has_prev = true;
            l->prev_t = tt;
            vg__store_copy_text(&c[4], l->prev_v, sizeof(l->prev_v));
            vg__store_copy_text(&c[6], l->prev_uid, sizeof(l->prev_uid));
        } else if (cmp > 0 && st >= t && st < l->hi &&
                   (!l->has_next || tt < l->next_t ||
                    (tt == l->next_t && vg__ch_evlate_cmp(&c[6], l->next_uid) < 0))) {
            l->has_next = true;
            l->next_t = tt;
            l->next_time = st;
            vg__store_copy_text(&c[4], l->next_v, sizeof(l->next_v));
            vg__store_copy_text(&c[5], l->next_cause, sizeof(l->next_cause));
            vg__store_copy_text(&c[6], l->next_uid, sizeof(l->next_uid));
        }
    }
    return 0;
}

/* The hours statement (hours true) or the measurements statement of late rows l[0..n). */
static int
vg__ch_evlate_sql(struct vg_buf *sql, struct vg__val *p, size_t *np, const struct vg__evlate *l,
                  size_t n, bool hours)
{
    int rc = vg_buf_appendf(sql, "SELECT ");

    *np = 0;
    for (size_t i = 0; rc == 0 && hours && i < n; i++) {
        const struct vg_store_meas *m = l[i].r->m;
        size_t a = *np;

        p[(*np)++] = vg__store_text(m->input);
        p[(*np)++] = vg__store_text(m->probe_cc);
        p[(*np)++] = vg__store_int(m->probe_asn);
        p[(*np)++] = vg__store_int(l[i].r->t - l[i].r->t % 3600);
        rc = vg_buf_appendf(sql,
                            "%smaxIf(hour_start, input = $%zu AND probe_cc = $%zu AND"
                            " probe_asn = $%zu AND hour_start < $%zu), minIf(hour_start,"
                            " input = $%zu AND probe_cc = $%zu AND probe_asn = $%zu AND"
                            " hour_start > $%zu)",
                            i > 0 ? ", " : "", a + 1, a + 2, a + 3, a + 4, a + 1, a + 2, a + 3,
                            a + 4);
    }
    if (rc == 0) {
        rc = vg_buf_appendf(
            sql, "%s",
            hours ? " FROM agg_target_hourly WHERE "
                  : "m.domain, m.input, m.probe_cc, m.probe_asn, m.x_verdict,"
                    " m.x_cause, m.measurement_uid, m.measurement_start_time, " VG__EV_T_CH
                    " FROM target_history AS m FINAL WHERE ");
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct vg_store_meas *m = l[i].r->m;
        size_t a = *np;

        if (hours) {
            rc = vg_buf_appendf(sql, "%s(input = $%zu AND probe_cc = $%zu AND probe_asn = $%zu)",
                                i > 0 ? " OR " : "", 4 * i + 1, 4 * i + 2, 4 * i + 3);
            continue;
        }
        p[(*np)++] = vg__store_text(m->domain);
        p[(*np)++] = vg__store_text(m->input);
        p[(*np)++] = vg__store_text(m->probe_cc);
        p[(*np)++] = vg__store_int(m->probe_asn);
        p[(*np)++] = vg__store_int(l[i].lo);
        p[(*np)++] = vg__store_int(l[i].r->t);
        p[(*np)++] = vg__store_int(l[i].hi);
        /* before: lo <= start < hi (lo <= t); after: t <= start < hi; the rest is checked
         * here. Each range bounded on both sides, behind its target: the primary key reads
         * only the ranges */
        rc = vg_buf_appendf(sql,
                            "%s(m.domain = $%zu AND m.input = $%zu AND m.probe_cc = $%zu AND"
                            " m.probe_asn = $%zu AND m.measurement_start_time >= $%zu AND"
                            " m.measurement_start_time < $%zu AND (" VG__EV_T_CH " <= $%zu OR"
                            " m.measurement_start_time >= $%zu))",
                            i > 0 ? " OR " : "", a + 1, a + 2, a + 3, a + 4, a + 5, a + 7, a + 6,
                            a + 6);
    }
    return rc < 0 ? VG_EINTERNAL : 0;
}

/* Late rows' neighbours on ClickHouse: two statements per VG__EV_LATE_CHUNK late rows. */
int
vg__store_ch_evlate(struct vg_store *s, struct vg__evlate *l, size_t nl)
{
    struct vg__val *p = vg_xcalloc(7 * VG__EV_LATE_CHUNK, sizeof(*p));
    struct vg_buf sql;
    int rc = 0;

    vg_buf_init(&sql, 256 * 1024);
    for (size_t at = 0; rc == 0 && at < nl; at += VG__EV_LATE_CHUNK) {
        struct vg__ev_late_ch q = {l + at,
                                   nl - at < VG__EV_LATE_CHUNK ? nl - at : VG__EV_LATE_CHUNK};
        size_t np;

        q.n = nl - at < VG__EV_LATE_CHUNK ? nl - at : VG__EV_LATE_CHUNK;

        for (size_t i = 0; i < q.n; i++) {
            int64_t h = q.l[i].r->t - q.l[i].r->t % 3600;

            q.l[i].lo = h;
            q.l[i].hi = h + 3600;
        }
        for (int hours = 1; rc == 0 && hours >= 0; hours--) {
            const char *text;

            vg_buf_reset(&sql);
            rc = vg__ch_evlate_sql(&sql, p, &np, q.l, q.n, hours != 0);
            if (rc == 0 && (text = vg_buf_cstr(&sql)) == NULL) {
                rc = VG_EINTERNAL;
            }
            if (rc == 0) {
                rc = s->ops->run(s->wconn, text, 0, 1, np, p,
                                 hours ? vg__ch_evlate_on_hours : vg__ch_evlate_on_near, &q);
            }
        }
    }
    vg_buf_cleanup(&sql);
    VG_FREE(p);
    return rc;
}
