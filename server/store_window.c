/* SPDX-License-Identifier: MIT */
/*
 * store_window.c - the window summary of vg_store_targets (store.h, f->window): per target x
 * network of a page, the verdicts counted over the last f->window seconds, their shares with a
 * Wilson 95% interval (util/stats.h), the first and last interference, and whether the target
 * is intermittent (both interference and access in the window).
 *
 * Two queries per page, each over the inputs between the page's first and last (a range, not
 * a list: a page has up to VG_STORE_PAGE_MAX targets), sorted like the page, then merged into
 * the page's rows: the whole hours of the window from agg_target_hourly (kept at ingest: for
 * each target x network of the page's scope in the range, a seek to its first hour in the window
 * by primary key, the rows in key order summed while merging: no sort, no hour outside the
 * window read), its first partial hour from the measurements (the time index, grouped by target
 * x network x verdict). Times are
 * measurement_start_time, like the count tables; first and last interference are to the hour (the
 * start of the hour, or the window's start). On ClickHouse the count table's hours are summed
 * by a GROUP BY instead (vg__win_ch_sql).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "util/mem.h"
#include "util/stats.h"

struct vg__win_acc {
    int64_t n[VG_VERDICT_COUNT];
    int64_t first_int, last_int; /* 0: no interference seen */
};

#define VG__WIN_MEMO 512 /* share objects remembered by one page */

struct vg__win_q {
    struct vg__query q[2]; /* whole hours (count table), first partial hour (measurements) */
    int64_t since;
    json_t *rows;             /* the page's results (borrowed) */
    struct vg__win_key *keys; /* of rows */
    struct vg__win_acc *acc;
    size_t at; /* merge position in rows */
    /* share objects already made, by (k, n): one object in many windows (a reference each),
     * since most are alike (k = 0 of the same total); released with w */
    struct {
        int64_t k, n;
        json_t *o;
    } memo[VG__WIN_MEMO];
};

static bool
vg__win_interference(enum vg_verdict v)
{
    return v == VG_VERDICT_BLOCKED || v == VG_VERDICT_INTERCEPTED;
}

/* The sort key of a page's row, read once: its text compared with memcmp (bytewise, like the
 * page's order). */
struct vg__win_key {
    const char *input, *cc; /* borrowed from the page's rows ("" when absent) */
    size_t il, cl;
    long long asn;
};

static void
vg__win_key_of(const json_t *r, struct vg__win_key *k)
{
    const char *asn = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_ASN));

    k->input = json_string_value(json_object_get(r, VG_REC_KEY_INPUT));
    k->cc = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_CC));
    k->input = k->input != NULL ? k->input : "";
    k->cc = k->cc != NULL ? k->cc : "";
    k->il = strlen(k->input);
    k->cl = strlen(k->cc);
    k->asn = asn != NULL && strlen(asn) > 2 ? strtoll(asn + 2, NULL, 10) : 0;
}

static int
vg__win_textcmp(const struct vg__val *c, const char *t, size_t tl)
{
    int d = memcmp(c->p, t, c->len < tl ? c->len : tl);

    if (d == 0 && c->len != tl) {
        d = c->len < tl ? -1 : 1;
    }
    return d;
}

/* Compare a row's key (input, probe_cc, probe_asn) with the page's row k, in the page's order. */
static int
vg__win_cmp(const struct vg__val *c, const struct vg__win_key *k)
{
    int d = vg__win_textcmp(&c[0], k->input, k->il);

    if (d == 0) {
        d = vg__win_textcmp(&c[1], k->cc, k->cl);
    }
    if (d == 0) {
        d = c[2].i < k->asn ? -1 : c[2].i > k->asn;
    }
    return d;
}

static int
vg__win_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__win_q *w = arg;
    size_t n = json_array_size(w->rows);
    struct vg__win_acc *a;
    char name[16];
    enum vg_verdict v;
    int d = 1;

    (void)set;
    if (ncols != 7 || c[0].t != VG__TEXT || c[1].t != VG__TEXT || c[2].t != VG__INT ||
        c[3].t != VG__TEXT || c[4].t != VG__INT || c[5].t != VG__INT || c[6].t != VG__INT) {
        return VG_EINTERNAL;
    }
    while (w->at < n && (d = vg__win_cmp(c, &w->keys[w->at])) > 0) {
        w->at++;
    }
    vg__store_copy_text(&c[3], name, sizeof(name));
    if (w->at == n || d != 0 || !vg_verdict_parse(name, &v)) {
        return 0; /* a network or verdict the page does not show */
    }
    a = &w->acc[w->at];
    a->n[v] += c[4].i;
    if (vg__win_interference(v)) {
        int64_t first = c[5].i - c[5].i % 3600, last = c[6].i - c[6].i % 3600;

        first = first < w->since ? w->since : first;
        last = last < w->since ? w->since : last;
        if (a->first_int == 0 || first < a->first_int) {
            a->first_int = first;
        }
        if (last > a->last_int) {
            a->last_int = last;
        }
    }
    return 0;
}

/* PostgreSQL: the page's targets of one scope are unique (its primary key), so a Memoize over
 * the seeks into agg_target_hourly never hits; yet the planner puts one there when it misjudges
 * the join (probe_cc and probe_asn taken as independent, the input range's share as the whole
 * table's: 98 rows expected, 49,000 read for a page of 1,000 over 30 days), and it copies every
 * row into its cache: 33 ms of execution against 9-12 ms without it. Off for the two queries, in
 * one read-only transaction (the setting is PostgreSQL 14's: before it, nothing to turn off). */
static const char vg__win_pg_begin[] =
    "BEGIN READ ONLY; SELECT set_config('enable_memoize', 'off', true)"
    " WHERE current_setting('server_version_num')::int >= 140000";

static int
vg__win_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__win_q *w = arg;
    bool pg = s->ops->dialect == VG__PG;
    int rc = 0;

    memset(w->acc, 0, json_array_size(w->rows) * sizeof(*w->acc));
    if (pg) {
        rc = s->ops->exec(c, vg__win_pg_begin);
    }
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        w->at = 0;
        rc = s->ops->run(c, w->q[i].sql, 0, 1, w->q[i].np, w->q[i].p, vg__win_on_row, w);
    }
    if (pg) {
        /* after an error, ROLLBACK: its success keeps the error's message */
        int e = s->ops->exec(c, rc < 0 ? "ROLLBACK" : "COMMIT");

        rc = rc < 0 ? rc : e;
    }
    return rc;
}

static json_t *
vg__win_share(int64_t k, int64_t n)
{
    json_t *o = json_object();
    double lo, hi;

    vg_wilson95((unsigned)k, (unsigned)n, &lo, &hi);
    json_object_set_new_nocheck(o, "n", json_integer((json_int_t)k));
    json_object_set_new_nocheck(o, "share", json_real(n > 0 ? (double)k / (double)n : 0.0));
    json_object_set_new_nocheck(o, "ci_low", json_real(lo));
    json_object_set_new_nocheck(o, "ci_high", json_real(hi));
    return o;
}

/* vg__win_share(k, n), a new reference, from w's memo when it has it. */
static json_t *
vg__win_share_of(struct vg__win_q *w, int64_t k, int64_t n)
{
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15u ^ (uint64_t)n * 0xC2B2AE3D27D4EB4Fu;
    size_t i = (size_t)(h >> 40) % VG__WIN_MEMO;

    if (w->memo[i].o == NULL || w->memo[i].k != k || w->memo[i].n != n) {
        json_decref(w->memo[i].o);
        w->memo[i].o = vg__win_share(k, n);
        w->memo[i].k = k;
        w->memo[i].n = n;
    }
    return json_incref(w->memo[i].o);
}

static json_t *
vg__win_summary(struct vg__win_q *w, const struct vg__win_acc *a, int64_t seconds, int64_t since)
{
    json_t *o = json_object(), *verdicts = json_object();
    int64_t total = 0, inter = 0;

    for (int v = 0; v < VG_VERDICT_COUNT; v++) {
        total += a->n[v];
        inter += vg__win_interference((enum vg_verdict)v) ? a->n[v] : 0;
    }
    for (size_t i = 0; i < VG_STORE_N_VERDICTS; i++) {
        enum vg_verdict v = vg_store_verdict_order[i];

        json_object_set_new_nocheck(verdicts, vg_verdict_name(v),
                                    vg__win_share_of(w, a->n[v], total));
    }
    json_object_set_new_nocheck(o, "seconds", json_integer((json_int_t)seconds));
    json_object_set_new_nocheck(o, "since", vg__store_jtime(since));
    json_object_set_new_nocheck(o, "total", json_integer((json_int_t)total));
    json_object_set_new_nocheck(o, "verdicts", verdicts);
    json_object_set_new_nocheck(o, "interference", vg__win_share_of(w, inter, total));
    json_object_set_new_nocheck(o, "first_interference",
                                a->first_int > 0 ? vg__store_jtime(a->first_int) : json_null());
    json_object_set_new_nocheck(o, "last_interference",
                                a->last_int > 0 ? vg__store_jtime(a->last_int) : json_null());
    json_object_set_new_nocheck(o, "intermittent",
                                json_boolean(inter > 0 && a->n[VG_VERDICT_ACCESSIBLE] > 0));
    return o;
}

#define VG__WIN_RUNS 4 /* input ranges of one query (parameters: VG__QUERY_MAX_PARAMS) */
/* The most parameters one window query takes: the scope, the runs twice (the targets and the
 * count table), the time bounds, and the filters kept (input, probe_cc, probe_asn, provenance). A
 * page of exactly VG__WIN_RUNS origins once overflowed 16 (abort). */
_Static_assert(1 + 2 * 2 * VG__WIN_RUNS + 2 + 4 <= VG__QUERY_MAX_PARAMS,
               "a window query's parameters must fit in struct vg__query");

/* The inputs of a page as ranges: runs of inputs of one origin (scheme://host/), when there are
 * at most VG__WIN_RUNS (a domain's or an input's page: http:// and https:// sort far apart),
 * else one range from the first to the last. run[2 * i], run[2 * i + 1]: first and last of
 * range i (borrowed from rows). The number of ranges. */
static size_t
vg__win_runs(json_t *rows, const char **run)
{
    size_t n = json_array_size(rows), k = 0;
    const char *prev = NULL;

    for (size_t i = 0; i < n; i++) {
        const char *in =
            json_string_value(json_object_get(json_array_get(rows, i), VG_REC_KEY_INPUT));
        const char *slash = in != NULL ? strchr(in, '/') : NULL;
        size_t olen;

        if (in == NULL) {
            return 0;
        }
        /* the origin: up to the '/' after "scheme://host" (or the whole input) */
        slash = slash != NULL && slash[1] == '/' ? strchr(slash + 2, '/') : NULL;
        olen = slash != NULL ? (size_t)(slash - in) + 1 : strlen(in);
        if (prev == NULL || strncmp(prev, in, olen) != 0) {
            if (k == VG__WIN_RUNS) {
                run[1] = json_string_value(
                    json_object_get(json_array_get(rows, n - 1), VG_REC_KEY_INPUT));
                return 1;
            }
            run[2 * k] = in;
            k++;
        }
        run[2 * k - 1] = in;
        prev = in;
    }
    return k;
}

/* " AND (input in one of the runs)" */
static void
vg__win_runs_sql(struct vg__query *q, const char *const *run, size_t nrun)
{
    for (size_t i = 0; i < nrun; i++) {
        vg__store_q_param(
            q, i == 0 ? " AND ((input >= " : " OR (input >= ", vg__store_text(run[2 * i]), "");
        vg__store_q_param(q, " AND input <= ", vg__store_text(run[2 * i + 1]),
                          i + 1 == nrun ? "))" : ")");
    }
}

/* WHERE conditions of both queries: [lo, hi) in time column tcol, the page's inputs, the
 * page's filters but those on the latest state (verdict, its time) and the domain (the count
 * table has none: rows of other domains in the input range find no page row to merge into).
 * grouped: GROUP BY target x network x verdict; else (the join of the targets t with the count
 * table) the rows as they are, in the order of the keys (no sort), summed by vg__win_on_row just
 * the same. */
static void
vg__win_where(struct vg__query *q, const struct vg_store_filter *f, const char *tcol, int64_t lo,
              int64_t hi, const char *const *run, size_t nrun, bool grouped)
{
    struct vg_store_filter g = {0};
    char pre[64];

    snprintf(pre, sizeof(pre), " AND %s >= ", tcol);
    vg__store_q_param(q, pre, vg__store_int(lo), "");
    if (hi > 0) {
        snprintf(pre, sizeof(pre), " AND %s < ", tcol);
        vg__store_q_param(q, pre, vg__store_int(hi), "");
    }
    vg__win_runs_sql(q, run, nrun);
    if (f->input != NULL) {
        vg__store_q_param(q, " AND input = ", vg__store_text(f->input), "");
    }
    g.probe_cc = f->probe_cc;
    g.has_probe_asn = f->has_probe_asn;
    g.probe_asn = f->probe_asn;
    g.provenance = f->provenance;
    g.trusted = f->trusted;
    vg__store_q_filters(q, &g, tcol, 0, false, true);
    vg__store_q_add(q, grouped ? " GROUP BY input, probe_cc, probe_asn, x_verdict"
                                 " ORDER BY input, probe_cc, probe_asn"
                               : " ORDER BY t_input, t_cc, t_asn");
}

/* The two queries on ClickHouse: the count table is SummingMergeTree (the rows of one key are
 * summed by background merges only), so its whole hours are summed by a GROUP BY, per target x
 * network x verdict with their first and last hour, over the page's input runs (rows of keys
 * outside the page's scope find no page row to merge into); the measurements are read with
 * FINAL (ReplacingMergeTree). */
static void
vg__win_ch_sql(struct vg__win_q *w, const struct vg_store_filter *f, int64_t hour,
               const char *const *run, size_t nrun)
{
    vg__store_q_add(&w->q[0], "SELECT input, probe_cc, probe_asn, x_verdict, toInt64(sum(n)),"
                              " min(hour_start), max(hour_start) FROM agg_target_hourly"
                              " WHERE 1 = 1");
    vg__win_where(&w->q[0], f, "hour_start", hour, 0, run, nrun, true);
    vg__store_q_add(&w->q[1], "SELECT assumeNotNull(input), probe_cc, probe_asn, x_verdict,"
                              " toInt64(count()), min(measurement_start_time),"
                              " max(measurement_start_time) FROM measurements FINAL"
                              " WHERE isNotNull(input)");
}

int
vg__store_targets_window(struct vg_store *s, const struct vg_store_filter *f, json_t *rows)
{
    size_t n = json_array_size(rows), nrun;
    const char *run[2 * VG__WIN_RUNS];
    const char *scope;
    struct vg__win_q *w;
    int64_t since, hour;
    int rc;

    if (f == NULL || f->window <= 0 || n == 0) {
        return 0;
    }
    nrun = vg__win_runs(rows, run);
    if (nrun == 0) {
        return VG_EINTERNAL;
    }
    /* the page's scope (vg_store_targets): its targets drive the count table's key seeks */
    scope = f->provenance != NULL ? f->provenance : f->trusted ? VG__SCOPE_TRUSTED : VG__SCOPE_ALL;
    since = (int64_t)time(NULL) - f->window;
    /* the first whole hour of the window */
    hour = since % 3600 == 0 ? since : since - since % 3600 + 3600;
    w = vg_xcalloc(1, sizeof(*w));
    w->rows = rows;
    w->since = since;
    w->acc = vg_xcalloc(n, sizeof(*w->acc));
    w->keys = vg_xmalloc(n * sizeof(*w->keys));
    for (size_t i = 0; i < n; i++) {
        vg__win_key_of(json_array_get(rows, i), &w->keys[i]);
    }
    if (s->ops->dialect == VG__CH) {
        vg__win_ch_sql(w, f, hour, run, nrun);
    } else {
        /* The whole hours: a few rows per target x network, read in key order and summed here
         * (a GROUP BY would sort them all first). */
        vg__store_q_add(&w->q[0], "SELECT input, probe_cc, probe_asn, x_verdict, n, hour_start,"
                                  " hour_start FROM (SELECT input AS t_input, probe_cc AS t_cc,"
                                  " probe_asn AS t_asn FROM targets WHERE scope = ");
        vg__store_q_param(&w->q[0], "", vg__store_text(scope), "");
        vg__win_runs_sql(&w->q[0], run, nrun);
        vg__store_q_add(&w->q[0], ") t JOIN agg_target_hourly ON input = t_input AND"
                                  " probe_cc = t_cc AND probe_asn = t_asn WHERE 1 = 1");
        vg__win_where(&w->q[0], f, "hour_start", hour, 0, run, nrun, false);
        vg__store_q_add(&w->q[1], "SELECT input, probe_cc, probe_asn, x_verdict, COUNT(*),"
                                  " MIN(measurement_start_time), MAX(measurement_start_time)"
                                  " FROM measurements WHERE input IS NOT NULL");
    }
    vg__win_where(&w->q[1], f, "measurement_start_time", since, hour, run, nrun, true);
    rc = vg__store_read(s, vg__win_fn, w);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            json_object_set_new_nocheck(json_array_get(rows, i), "window",
                                        vg__win_summary(w, &w->acc[i], f->window, since));
        }
    }
    for (size_t i = 0; i < VG__WIN_MEMO; i++) {
        json_decref(w->memo[i].o);
    }
    VG_FREE(w->keys);
    VG_FREE(w->acc);
    VG_FREE(w);
    return rc;
}
