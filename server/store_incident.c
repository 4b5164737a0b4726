/* SPDX-License-Identifier: MIT */
/*
 * store_incident.c - the measurements of one target for the incident report (store.h
 * vg_store_incident_each): read page after page in (time, uid) order, each decompressed and
 * parsed (vg__store_row_json) and handed over with its stored verdict.
 */
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

#define VG__INC_PAGE 500 /* rows per query */

struct vg__inc_q {
    struct vg_store *s;
    const struct vg_store_filter *f;
    vg_store_incident_fn fn;
    void *arg;
    unsigned limit;  /* 0: none */
    unsigned n_read; /* handed over */
    bool more;
    /* the keyset position: the last row handed over, and where the page being read starts (a
     * retry of the page reads from there again) */
    bool has_pos, has_start;
    int64_t pos_t, start_t;
    char pos_uid[VG_UID_MAX], start_uid[VG_UID_MAX];
    unsigned page_rows;  /* rows of this page seen in this attempt */
    unsigned page_given; /* rows of this page handed over (a retry skips them) */
};

/* (uid, start time, raw_len, raw, x_verdict, x_cause) */
static int
vg__inc_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__inc_q *x = arg;
    struct vg_store_incident_row r;
    char verdict[32], cause[VG_STORE_NAME_MAX + 1];
    json_t *m;
    int rc;

    (void)set;
    if (ncols != 6 || c[0].t != VG__TEXT || c[1].t != VG__INT) {
        return VG_EINTERNAL;
    }
    if (++x->page_rows <= x->page_given) {
        return 0; /* handed over before the connection was replaced */
    }
    if (x->limit != 0 && x->n_read == x->limit) {
        x->more = true;
        return 0;
    }
    vg__store_copy_text(&c[0], x->pos_uid, sizeof(x->pos_uid));
    x->pos_t = c[1].i;
    x->has_pos = true;
    x->page_given++;
    x->n_read++;
    VG_TRY(vg__store_row_json(x->s, &c[2], &c[3], &m));
    if (m == NULL) {
        return 0;
    }
    vg__store_copy_text(&c[4], verdict, sizeof(verdict));
    vg__store_copy_text(&c[5], cause, sizeof(cause));
    r.uid = x->pos_uid;
    r.start_time = c[1].i;
    r.has_verdict = vg_verdict_parse(verdict, &r.verdict);
    r.cause = cause;
    rc = x->fn(x->arg, m, &r);
    json_decref(m);
    return rc;
}

static int
vg__inc_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__inc_q *x = arg;
    struct vg__query q;

    memset(&q, 0, sizeof(q));
    x->page_rows = 0;
    x->s = s;
    vg__store_q_add(&q, "SELECT measurement_uid, measurement_start_time, raw_len, raw, x_verdict,"
                        " x_cause FROM measurements");
    /* ClickHouse: FINAL hides the copies of a measurement stored twice (store_ch_txn.c) */
    vg__store_q_add(&q, s->ops->dialect == VG__CH ? " FINAL WHERE 1 = 1" : " WHERE 1 = 1");
    vg__store_q_filters(&q, x->f, "measurement_start_time", x->f->since, true, true);
    if (x->has_start) {
        vg__store_q_param(&q, " AND (measurement_start_time > ", vg__store_int(x->start_t), "");
        vg__store_q_param(&q, " OR (measurement_start_time = ", vg__store_int(x->start_t), "");
        vg__store_q_param(&q, " AND measurement_uid > ", vg__store_text(x->start_uid), "))");
    }
    vg__store_q_add(&q, " ORDER BY measurement_start_time, measurement_uid");
    vg__store_q_param(&q, " LIMIT ", vg__store_int(VG__INC_PAGE), "");
    return s->ops->run(c, q.sql, 0, 1, q.np, q.p, vg__inc_on_row, x);
}

int
vg_store_incident_each(struct vg_store *s, const struct vg_store_filter *f, unsigned limit,
                       vg_store_incident_fn fn, void *arg, bool *truncated)
{
    struct vg__inc_q x;
    int rc;

    if (truncated != NULL) {
        *truncated = false;
    }
    VG_TRY(vg__store_filter_valid(f));
    VG_ENSURE(f != NULL && f->input != NULL && f->input[0] != '\0' && fn != NULL, VG_EINVAL);
    memset(&x, 0, sizeof(x));
    x.f = f;
    x.fn = fn;
    x.arg = arg;
    x.limit = limit;
    do {
        x.page_given = 0;
        x.has_start = x.has_pos;
        x.start_t = x.pos_t;
        memcpy(x.start_uid, x.pos_uid, sizeof(x.start_uid));
        rc = vg__store_read(s, vg__inc_fn, &x);
    } while (rc == 0 && x.page_given == VG__INC_PAGE && !x.more);
    if (truncated != NULL) {
        *truncated = x.more;
    }
    return rc;
}
