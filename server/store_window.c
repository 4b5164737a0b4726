/* SPDX-License-Identifier: MIT */
/*
 * store_window.c - the window summary of vg_store_targets (store.h, f->window): per target x
 * network of a page, the verdicts counted over the last f->window seconds, their shares with a
 * Wilson 95% interval (util/stats.h), the first and last interference, and whether the target
 * is intermittent (both interference and access in the window).
 *
 * One query per page, over the measurements of the window whose input lies between the page's
 * first and last (a range, not a list: a page has up to VG_STORE_PAGE_MAX targets), grouped by
 * target x network x verdict and sorted like the page, then merged into the page's rows. The
 * time of a measurement is the latest states' (vg__store_teff: capped at its arrival).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "util/mem.h"
#include "util/stats.h"

/* A measurement's time for the latest states, in SQL (vg__store_teff). */
#define VG__WIN_TEFF                                                                     \
    "(CASE WHEN measurement_start_time < received / 1000000 THEN measurement_start_time" \
    " ELSE received / 1000000 END)"

struct vg__win_acc {
    int64_t n[VG_VERDICT_COUNT];
    int64_t first_int, last_int; /* 0: no interference seen */
};

struct vg__win_q {
    struct vg__query q;
    json_t *rows; /* the page's results (borrowed) */
    struct vg__win_acc *acc;
    size_t at; /* merge position in rows */
};

static bool
vg__win_interference(enum vg_verdict v)
{
    return v == VG_VERDICT_BLOCKED || v == VG_VERDICT_INTERCEPTED;
}

/* Compare a grouped row's key with the page's row r, in the page's order (bytewise text). */
static int
vg__win_cmp(const struct vg__val *c, const json_t *r)
{
    const char *input = json_string_value(json_object_get(r, VG_REC_KEY_INPUT));
    const char *cc = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_CC));
    const char *asn = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_ASN));
    size_t il = input != NULL ? strlen(input) : 0;
    long long a = asn != NULL && strlen(asn) > 2 ? strtoll(asn + 2, NULL, 10) : 0;
    int d;

    d = memcmp(c[0].p, input != NULL ? input : "", c[0].len < il ? c[0].len : il);
    if (d == 0 && c[0].len != il) {
        d = c[0].len < il ? -1 : 1;
    }
    if (d == 0) {
        d = strncmp(c[1].p, cc != NULL ? cc : "", c[1].len);
        if (d == 0 && cc != NULL && strlen(cc) != c[1].len) {
            d = -1;
        }
    }
    if (d == 0) {
        d = c[2].i < a ? -1 : c[2].i > a;
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
    while (w->at < n && (d = vg__win_cmp(c, json_array_get(w->rows, w->at))) > 0) {
        w->at++;
    }
    vg__store_copy_text(&c[3], name, sizeof(name));
    if (w->at == n || d != 0 || !vg_verdict_parse(name, &v)) {
        return 0; /* a network or verdict the page does not show */
    }
    a = &w->acc[w->at];
    a->n[v] += c[4].i;
    if (vg__win_interference(v)) {
        if (a->first_int == 0 || c[5].i < a->first_int) {
            a->first_int = c[5].i;
        }
        if (c[6].i > a->last_int) {
            a->last_int = c[6].i;
        }
    }
    return 0;
}

static int
vg__win_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__win_q *w = arg;

    memset(w->acc, 0, json_array_size(w->rows) * sizeof(*w->acc));
    w->at = 0;
    return s->ops->run(c, w->q.sql, 0, 1, w->q.np, w->q.p, vg__win_on_row, w);
}

static json_t *
vg__win_share(int64_t k, int64_t n)
{
    double lo, hi;

    vg_wilson95((unsigned)k, (unsigned)n, &lo, &hi);
    return json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)k, "share",
                     n > 0 ? (double)k / (double)n : 0.0, "ci_low", lo, "ci_high", hi);
}

static json_t *
vg__win_summary(const struct vg__win_acc *a, int64_t seconds, int64_t since)
{
    json_t *o = json_object(), *verdicts = json_object();
    int64_t total = 0, inter = 0;

    for (int v = 0; v < VG_VERDICT_COUNT; v++) {
        total += a->n[v];
        inter += vg__win_interference((enum vg_verdict)v) ? a->n[v] : 0;
    }
    for (size_t i = 0; i < VG_STORE_N_VERDICTS; i++) {
        enum vg_verdict v = vg_store_verdict_order[i];

        json_object_set_new(verdicts, vg_verdict_name(v), vg__win_share(a->n[v], total));
    }
    json_object_set_new(o, "seconds", json_integer((json_int_t)seconds));
    json_object_set_new(o, "since", vg__store_jtime(since));
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    json_object_set_new(o, "verdicts", verdicts);
    json_object_set_new(o, "interference", vg__win_share(inter, total));
    json_object_set_new(o, "first_interference",
                        a->first_int > 0 ? vg__store_jtime(a->first_int) : json_null());
    json_object_set_new(o, "last_interference",
                        a->last_int > 0 ? vg__store_jtime(a->last_int) : json_null());
    json_object_set_new(o, "intermittent",
                        json_boolean(inter > 0 && a->n[VG_VERDICT_ACCESSIBLE] > 0));
    return o;
}

int
vg__store_targets_window(struct vg_store *s, const struct vg_store_filter *f, json_t *rows)
{
    size_t n = json_array_size(rows);
    struct vg__win_q *w;
    int64_t since;
    int rc;

    if (f == NULL || f->window <= 0 || n == 0) {
        return 0;
    }
    since = (int64_t)time(NULL) - f->window;
    w = vg_xcalloc(1, sizeof(*w));
    w->rows = rows;
    w->acc = vg_xcalloc(n, sizeof(*w->acc));
    vg__store_q_add(&w->q,
                    "SELECT input, probe_cc, probe_asn, x_verdict, COUNT(*), MIN(" VG__WIN_TEFF
                    "), MAX(" VG__WIN_TEFF ") FROM measurements WHERE input IS NOT NULL");
    /* measurement_start_time >= the capped time: the first bound can use the time index */
    vg__store_q_param(&w->q, " AND measurement_start_time >= ", vg__store_int(since), "");
    vg__store_q_param(&w->q, " AND " VG__WIN_TEFF " >= ", vg__store_int(since), "");
    vg__store_q_param(&w->q, " AND input >= ",
                      vg__store_text(json_string_value(
                          json_object_get(json_array_get(rows, 0), VG_REC_KEY_INPUT))),
                      "");
    vg__store_q_param(&w->q, " AND input <= ",
                      vg__store_text(json_string_value(
                          json_object_get(json_array_get(rows, n - 1), VG_REC_KEY_INPUT))),
                      "");
    {
        /* the page's filters, but not the ones on the latest state (verdict, its time) */
        struct vg_store_filter g = *f;

        g.x_verdict = NULL;
        g.since = 0;
        g.until = 0;
        vg__store_q_filters(&w->q, &g, "measurement_start_time", 0, true, true);
    }
    vg__store_q_add(&w->q, " GROUP BY input, probe_cc, probe_asn, x_verdict"
                           " ORDER BY input, probe_cc, probe_asn");
    rc = vg__store_read(s, vg__win_fn, w);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            json_object_set_new(json_array_get(rows, i), "window",
                                vg__win_summary(&w->acc[i], f->window, since));
        }
    }
    VG_FREE(w->acc);
    VG_FREE(w);
    return rc;
}
