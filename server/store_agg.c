/* SPDX-License-Identifier: MIT */
/*
 * store_agg.c - aggregation (counts per verdict by up to two axes, from the count tables) and
 * targets (the latest state of every input per network), store.h. The same statements on the
 * three dialects but two ClickHouse variants: the aggregation groups and sorts by the axes'
 * expressions (no positional GROUP BY there), the targets are read with FINAL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record_read.h"
#include "store_impl.h"
#include "util/mem.h"
#include "util/timefmt.h"

#define VG__AGG_MAX_GROUPS 100000 /* aggregation result rows */

/* ---- aggregation ---- */

/* The axes answer under the measurement's own key names where they are one of its fields. */
static const char *const vg__axis_names[] = {"",
                                             "measurement_day",
                                             "measurement_hour",
                                             "domain",
                                             VG_REC_KEY_PROBE_ASN,
                                             VG_REC_KEY_PROBE_CC,
                                             VG_REC_KEY_X_VERDICT};
/* SQL expressions over the count tables' columns, which are named after the measurement's keys
 * (migrations.c); "%s" is the table's time column. */
static const char *const vg__axis_sql[] = {NULL,
                                           "%s - %s %% 86400",
                                           "%s",
                                           "domain",
                                           VG_REC_KEY_PROBE_ASN,
                                           VG_REC_KEY_PROBE_CC,
                                           VG_REC_KEY_X_VERDICT};
#define VG__N_AXES (sizeof(vg__axis_names) / sizeof(vg__axis_names[0]))

int
vg_store_axis_parse(const char *name, enum vg_store_axis *out)
{
    *out = VG_AXIS_NONE;
    if (name == NULL || name[0] == '\0') {
        return 0;
    }
    for (size_t i = 1; i < VG__N_AXES; i++) {
        if (strcmp(name, vg__axis_names[i]) == 0) {
            *out = (enum vg_store_axis)i;
            return 0;
        }
    }
    return VG_EINVAL;
}

const char *
vg_store_axis_name(enum vg_store_axis a)
{
    return (size_t)a < VG__N_AXES ? vg__axis_names[a] : "";
}

static json_t *
vg__axis_value(enum vg_store_axis a, const struct vg__val *v)
{
    char b[32];

    switch (a) {
    case VG_AXIS_DAY:
        vg_time_format(v->i, "%Y-%m-%d", b, sizeof(b));
        return json_string(b);
    case VG_AXIS_HOUR:
        return vg__store_jtime(v->i);
    case VG_AXIS_ASN:
        return vg__store_jasn(v->i);
    default:
        return vg__store_jtext(v);
    }
}

#define VG__AGG_KEY_MAX 256 /* bytes of a text axis value remembered from the previous row */

/* An axis value of the previous row, as the database returned it. */
struct vg__agg_prev {
    enum vg__vtype t;
    int64_t i;
    size_t len;
    char p[VG__AGG_KEY_MAX];
};

#define VG__AGG_INTS 64 /* counts below this are shared integer objects */

struct vg__agg_q {
    struct vg__query q;
    enum vg_store_axis ax[2];
    size_t nax;
    json_t *results;
    size_t rows;
    bool prev_ok; /* prev holds the axes of the last row (of the last group) */
    struct vg__agg_prev prev[2];
    /* the counts of the last group, per verdict (vg_store_verdict_order) then the total, written
     * into its object when the group is complete (vg__agg_close) */
    int64_t n[VG_STORE_N_VERDICTS + 1];
    json_t *ints[VG__AGG_INTS]; /* the small counts, made once per query (most are 0) */
};

/* Whether row c has the previous row's axes (compared as the database returned them: the
 * rows are grouped and sorted by these values). */
static bool
vg__agg_same(const struct vg__agg_q *a, const struct vg__val *c)
{
    for (size_t i = 0; i < a->nax; i++) {
        const struct vg__agg_prev *p = &a->prev[i];

        if (c[i].t != p->t || (c[i].t == VG__INT && c[i].i != p->i) ||
            (c[i].t == VG__TEXT && (c[i].len != p->len || memcmp(c[i].p, p->p, p->len) != 0))) {
            return false;
        }
    }
    return true;
}

/* Remember the axes of row c; false when a text is too long to keep (then compare as JSON). */
static bool
vg__agg_keep(struct vg__agg_q *a, const struct vg__val *c)
{
    for (size_t i = 0; i < a->nax; i++) {
        struct vg__agg_prev *p = &a->prev[i];

        if ((c[i].t != VG__INT && c[i].t != VG__TEXT) ||
            (c[i].t == VG__TEXT && c[i].len > sizeof(p->p))) {
            return false;
        }
        p->t = c[i].t;
        p->i = c[i].i;
        p->len = c[i].t == VG__TEXT ? c[i].len : 0;
        if (p->len > 0) {
            memcpy(p->p, c[i].p, p->len);
        }
    }
    return true;
}

/* The integer object of count n: a shared one when small (the answer is never modified). */
static json_t *
vg__agg_int(struct vg__agg_q *a, int64_t n)
{
    if (n < 0 || n >= VG__AGG_INTS) {
        return json_integer(n);
    }
    if (a->ints[n] == NULL) {
        a->ints[n] = json_integer(n);
    }
    return json_incref(a->ints[n]);
}

/* A new group, its counts 0: the verdicts and the total come first in the object, then the
 * axes (set by the caller). */
static json_t *
vg__agg_group(struct vg__agg_q *a)
{
    json_t *o = json_object();

    for (int v = 0; v < VG_STORE_N_VERDICTS; v++) {
        json_object_set_new_nocheck(o, vg_verdict_name(vg_store_verdict_order[v]),
                                    vg__agg_int(a, 0));
    }
    json_object_set_new_nocheck(o, "total", vg__agg_int(a, 0));
    json_array_append_new(a->results, o);
    a->rows++;
    memset(a->n, 0, sizeof(a->n));
    return o;
}

/* The counts of the last group written into its object (in place: the members keep their
 * order). */
static void
vg__agg_close(struct vg__agg_q *a)
{
    json_t *o = json_array_get(a->results, json_array_size(a->results) - 1);

    if (o == NULL) {
        return;
    }
    for (int v = 0; v < VG_STORE_N_VERDICTS; v++) {
        if (a->n[v] != 0) {
            json_object_set_new_nocheck(o, vg_verdict_name(vg_store_verdict_order[v]),
                                        vg__agg_int(a, a->n[v]));
        }
    }
    if (a->n[VG_STORE_N_VERDICTS] != 0) {
        json_object_set_new_nocheck(o, "total", vg__agg_int(a, a->n[VG_STORE_N_VERDICTS]));
    }
    memset(a->n, 0, sizeof(a->n));
}

/* Count n rows of verdict v (as the database returned it) into the last group. */
static void
vg__agg_add(struct vg__agg_q *a, const struct vg__val *v, int64_t n)
{
    char verdict[16];

    vg__store_copy_text(v, verdict, sizeof(verdict));
    for (int k = 0; k < VG_STORE_N_VERDICTS; k++) {
        if (strcmp(verdict, vg_verdict_name(vg_store_verdict_order[k])) == 0) {
            a->n[k] += n;
            break;
        }
    }
    a->n[VG_STORE_N_VERDICTS] += n; /* a verdict outside the five counts in total */
}

/* Rows come as (axes..., x_verdict, count), sorted by the axes: consecutive rows with the same
 * axes make one group. Pivoting here keeps the SQL a plain GROUP BY (no CASE per row). */
static int
vg__on_agg_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__agg_q *a = arg;
    json_t *o = json_array_get(a->results, json_array_size(a->results) - 1);
    json_t *vals[2] = {NULL, NULL};
    bool same = o != NULL;
    int rc = 0;

    (void)set;
    if (ncols != a->nax + 2 || c[a->nax + 1].t != VG__INT) {
        return VG_EINTERNAL;
    }
    if (same && a->prev_ok) {
        same = vg__agg_same(a, c);
    } else {
        for (size_t i = 0; i < a->nax; i++) {
            vals[i] = vg__axis_value(a->ax[i], &c[i]);
            same = same && json_equal(vals[i], json_object_get(o, vg__axis_names[a->ax[i]]));
        }
    }
    if (!same) {
        a->prev_ok = vg__agg_keep(a, c);
        for (size_t i = 0; i < a->nax; i++) {
            if (vals[i] == NULL) {
                vals[i] = vg__axis_value(a->ax[i], &c[i]);
            }
        }
        if (a->rows == VG__AGG_MAX_GROUPS) {
            rc = VG_ETOOBIG;
            goto out;
        }
        vg__agg_close(a);
        o = vg__agg_group(a);
        for (size_t i = 0; i < a->nax; i++) {
            json_object_set(o, vg__axis_names[a->ax[i]], vals[i]);
        }
    }
    vg__agg_add(a, &c[a->nax], c[a->nax + 1].i);
out:
    json_decref(vals[0]);
    json_decref(vals[1]);
    return rc;
}

static int
vg__agg_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__agg_q *a = arg;

    json_array_clear(a->results);
    a->rows = 0;
    a->prev_ok = false;
    memset(a->n, 0, sizeof(a->n));
    VG_TRY(s->ops->run(c, a->q.sql, 0, 1, a->q.np, a->q.p, vg__on_agg_row, a));
    vg__agg_close(a);
    return 0;
}

/* The query of a: the counts per verdict by its axes from the count table (time column tcol),
 * under filter f, sorted by the axes. */
static void
vg__agg_sql(const struct vg_store *s, struct vg__agg_q *a, const struct vg_store_filter *f,
            const char *table, const char *tcol)
{
    char expr[3][64], piece[128];
    size_t ngrp;
    int64_t since;

    vg__store_q_add(&a->q, "SELECT ");
    for (size_t i = 0; i < a->nax; i++) {
        snprintf(expr[i], sizeof(expr[i]), vg__axis_sql[a->ax[i]], tcol, tcol);
        vg__store_q_add(&a->q, expr[i]);
        vg__store_q_add(&a->q, ", ");
    }
    snprintf(expr[a->nax], sizeof(expr[a->nax]), "x_verdict");
    /* SUM of BIGINT is NUMERIC in PostgreSQL: cast back so both dialects return integers. */
    snprintf(piece, sizeof(piece), "x_verdict, CAST(SUM(n) AS BIGINT) FROM %s WHERE 1 = 1", table);
    vg__store_q_add(&a->q, piece);
    since = f != NULL && f->since > 0 ? f->since - f->since % 3600 : 0;
    vg__store_q_filters(&a->q, f, tcol, since, false, true);
    /* Grouped by the axes and the verdict, once: an x_verdict axis is the verdict column
     * already, and grouping by it twice makes SQLite sort every row in a temporary b-tree
     * instead of reading them in the count table's key order. The first ngrp columns are
     * those. */
    ngrp = a->nax + 1;
    for (size_t i = 0; i < a->nax; i++) {
        ngrp -= a->ax[i] == VG_AXIS_VERDICT ? 1 : 0;
    }
    if (s->ops->dialect == VG__CH) {
        /* ClickHouse has no positional GROUP BY (and ORDER BY 1 sorts by the constant): the
         * expressions. The count tables are SummingMergeTree: the rows of one key are summed
         * by background merges only, so SUM(n) GROUP BY is what adds them up. */
        for (int by = 0; by < 2; by++) {
            vg__store_q_add(&a->q, by == 0 ? " GROUP BY " : " ORDER BY ");
            for (size_t i = 0; i < ngrp; i++) {
                vg__store_q_add(&a->q, i > 0 ? ", " : "");
                vg__store_q_add(&a->q, expr[i]);
            }
        }
    } else {
        vg__store_q_add(&a->q, ngrp == 1   ? " GROUP BY 1 ORDER BY 1"
                               : ngrp == 2 ? " GROUP BY 1, 2 ORDER BY 1, 2"
                                           : " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    }
    /* at most five rows (verdicts) per group: enough to see that there are too many groups */
    vg__store_q_param(&a->q, " LIMIT ",
                      vg__store_int((int64_t)(VG__AGG_MAX_GROUPS + 1) * VG_STORE_N_VERDICTS), "");
}

int
vg_store_aggregate(struct vg_store *s, const struct vg_store_filter *f, enum vg_store_axis x,
                   enum vg_store_axis y, json_t **out)
{
    struct vg__agg_q *a;
    const char *table = "agg_hourly", *tcol = "hour_start";
    unsigned dims = 0;
    bool hourly = false;
    int rc;

    *out = NULL;
    VG_TRY(vg__store_filter_valid(f));
    VG_ENSURE(f == NULL || f->input == NULL, VG_EINVAL);
    VG_ENSURE((size_t)x < VG__N_AXES && (size_t)y < VG__N_AXES, VG_EINVAL);
    VG_ENSURE(x == VG_AXIS_NONE || x != y, VG_EINVAL);
    VG_ENSURE(x != VG_AXIS_NONE || y == VG_AXIS_NONE, VG_EINVAL);
    a = vg_xcalloc(1, sizeof(*a));
    if (x != VG_AXIS_NONE) {
        a->ax[a->nax++] = x;
    }
    if (y != VG_AXIS_NONE) {
        a->ax[a->nax++] = y;
    }
    /* The smallest count table that has every dimension the query needs: the daily tables
     * each drop a dimension and are far smaller than the hourly one. */
    for (size_t i = 0; i < a->nax; i++) {
        dims |= a->ax[i] == VG_AXIS_DOMAIN ? VG__DIM_DOMAIN : 0;
        dims |= a->ax[i] == VG_AXIS_CC ? VG__DIM_CC : 0;
        dims |= a->ax[i] == VG_AXIS_ASN ? VG__DIM_ASN : 0;
        hourly |= a->ax[i] == VG_AXIS_HOUR;
    }
    if (f != NULL) {
        dims |= f->domain != NULL ? VG__DIM_DOMAIN : 0;
        dims |= f->probe_cc != NULL ? VG__DIM_CC : 0;
        dims |= f->has_probe_asn ? VG__DIM_ASN : 0;
        hourly |= f->since % 86400 != 0 || f->until % 86400 != 0;
    }
    for (size_t r = 1; !hourly && r < vg__store_n_rollups; r++) {
        if (vg__store_rollups[r].table != NULL && (vg__store_rollups[r].dims & dims) == dims) {
            table = vg__store_rollups[r].table;
            tcol = "day_start";
            break;
        }
    }
    vg__agg_sql(s, a, f, table, tcol);
    a->results = json_array();
    rc = vg__store_read(s, vg__agg_fn, a);
    if (rc == 0) {
        json_t *res = a->results;

        if (a->nax == 0) {
            res = json_incref(json_array_size(a->results) > 0 ? json_array_get(a->results, 0)
                                                              : vg__agg_group(a));
            json_decref(a->results);
        }
        a->results = NULL;
        *out = json_pack("{s:I, s:o}", "dimension_count", (json_int_t)a->nax, "result", res);
    }
    json_decref(a->results);
    for (size_t i = 0; i < VG__AGG_INTS; i++) {
        json_decref(a->ints[i]);
    }
    VG_FREE(a);
    return rc;
}

/* ---- targets ---- */

struct vg__tgt_q {
    struct vg__query q;
    unsigned limit;
    json_t *results;
    bool more;
    json_t *last; /* [input, probe_cc, probe_asn] of the last row kept */
};

static int
vg__on_tgt_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__tgt_q *t = arg;
    json_t *o;

    (void)set;
    if (ncols != 9 || c[0].t != VG__TEXT || c[2].t != VG__TEXT || c[3].t != VG__INT ||
        c[6].t != VG__INT || c[7].t != VG__INT) {
        return VG_EINTERNAL;
    }
    if (json_array_size(t->results) == t->limit) {
        t->more = true;
        return 0;
    }
    o = json_object();
    json_object_set_new_nocheck(o, VG_REC_KEY_INPUT, vg__store_jtext(&c[0]));
    json_object_set_new_nocheck(o, "domain", vg__store_jtext(&c[1]));
    json_object_set_new_nocheck(o, VG_REC_KEY_PROBE_CC, vg__store_jtext(&c[2]));
    json_object_set_new_nocheck(o, VG_REC_KEY_PROBE_ASN, vg__store_jasn(c[3].i));
    json_object_set_new_nocheck(o, VG_REC_KEY_X_VERDICT, vg__store_jtext(&c[4]));
    json_object_set_new_nocheck(o, VG_REC_KEY_X_CAUSE, vg__store_jtext(&c[5]));
    json_object_set_new_nocheck(o, "since", vg__store_jtime(c[6].i));
    json_object_set_new_nocheck(o, "last_seen", vg__store_jtime(c[7].i));
    json_object_set_new_nocheck(o, "measurement_uid", vg__store_jtext(&c[8]));
    json_array_append_new(t->results, o);
    json_decref(t->last);
    t->last =
        json_pack("[o, o, I]", vg__store_jtext(&c[0]), vg__store_jtext(&c[2]), (json_int_t)c[3].i);
    return 0;
}

static int
vg__tgt_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__tgt_q *t = arg;

    json_array_clear(t->results);
    t->more = false;
    return s->ops->run(c, t->q.sql, 0, 1, t->q.np, t->q.p, vg__on_tgt_row, t);
}

int
vg_store_targets(struct vg_store *s, const struct vg_store_filter *f, const char *cursor,
                 unsigned limit, json_t **out)
{
    struct vg__tgt_q *t;
    json_t *cur = NULL;
    int rc;

    *out = NULL;
    VG_TRY(vg__store_filter_valid(f));
    VG_ENSURE(limit <= VG_STORE_PAGE_MAX, VG_EINVAL);
    if (cursor != NULL) {
        cur = vg__store_cursor_decode(cursor, 3);
        if (cur == NULL || !json_is_string(json_array_get(cur, 0)) ||
            !json_is_string(json_array_get(cur, 1)) || !json_is_integer(json_array_get(cur, 2))) {
            json_decref(cur);
            return VG_EINVAL;
        }
    }
    t = vg_xcalloc(1, sizeof(*t));
    t->limit = limit > 0 ? limit : 100;
    /* On ClickHouse a change of a state is a new row with a higher ver (store_ch_targets.c):
     * FINAL keeps the latest of each key, before the WHERE on its columns. */
    vg__store_q_add(&t->q, s->ops->dialect == VG__CH
                               ? "SELECT input, domain, probe_cc, probe_asn, x_verdict, x_cause,"
                                 " since_time, last_time, last_uid FROM targets FINAL WHERE 1 = 1"
                               : "SELECT input, domain, probe_cc, probe_asn, x_verdict, x_cause,"
                                 " since_time, last_time, last_uid FROM targets WHERE 1 = 1");
    /* One latest state per scope: provenance, else trusted, else every measurement. */
    vg__store_q_param(&t->q, " AND scope = ",
                      vg__store_text(f != NULL && f->provenance != NULL ? f->provenance
                                     : f != NULL && f->trusted          ? VG__SCOPE_TRUSTED
                                                                        : VG__SCOPE_ALL),
                      "");
    vg__store_q_filters(&t->q, f, "last_time", f != NULL ? f->since : 0, true, false);
    if (cur != NULL) {
        vg__store_q_param(&t->q, " AND (input, probe_cc, probe_asn) > (",
                          vg__store_text(json_string_value(json_array_get(cur, 0))), "");
        vg__store_q_param(&t->q, ", ", vg__store_text(json_string_value(json_array_get(cur, 1))),
                          "");
        vg__store_q_param(&t->q, ", ", vg__store_int(json_integer_value(json_array_get(cur, 2))),
                          ")");
    }
    /* SQLite (no statistics) would walk the whole scope in primary-key order to spare the
     * sort, even when a domain selects a few rows: input || '' sorts the same but keeps the
     * planner on the domain index. (An input filter is a primary-key range already.) */
    vg__store_q_add(&t->q, s->ops->dialect == VG__SQLITE && f != NULL && f->domain != NULL &&
                                   f->input == NULL
                               ? " ORDER BY input || '', probe_cc, probe_asn"
                               : " ORDER BY input, probe_cc, probe_asn");
    vg__store_q_param(&t->q, " LIMIT ", vg__store_int((int64_t)t->limit + 1), "");
    t->results = json_array();
    rc = vg__store_read(s, vg__tgt_fn, t);
    if (rc == 0) {
        rc = vg__store_targets_window(s, f, t->results);
    }
    if (rc == 0) {
        json_t *next = json_null();

        if (t->more && t->last != NULL) {
            char *enc = vg__store_cursor_encode(t->last);

            json_decref(next);
            next = json_string(enc);
            VG_FREE(enc);
        }
        *out = json_pack("{s:o, s:o}", "results", t->results, "next_cursor", next);
        t->results = NULL;
    }
    json_decref(t->results);
    json_decref(t->last);
    json_decref(cur);
    VG_FREE(t);
    return rc;
}
