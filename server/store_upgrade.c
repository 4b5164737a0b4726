/* SPDX-License-Identifier: MIT */
/*
 * store_upgrade.c - the data steps of the store's migrations (migrations.c holds the schema):
 * what SQL alone cannot do, run inside the migration's transaction.
 *   Version 3: every idem_key becomes the content key (vg__store_content_key) of the stored
 *   measurement; and the latest states are rebuilt into targets_v3 from the measurements, in the
 *   order of their trusted time (vg__store_teff), so that a measurement dated in the future no
 *   longer holds a target. Every earlier measurement is anonymous: the states of the scopes '*'
 *   and 'anonymous' are the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "store_raw.h"
#include "util/mem.h"

#define VG__UPGRADE_PAGE 500 /* measurements or targets read at a time */

/* ---- content keys ---- */

struct vg__key_page {
    char (*uid)[VG_UID_MAX];
    char (*key)[VG_STORE_IDEM_MAX];
    size_t n;
};

/* One stored measurement: its uid, and its content key when its text decompresses (a row that
 * does not keeps its key; the integrity check is the place to find it). */
static int
vg__on_raw_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__key_page *pg = arg;
    char *text;
    size_t len, i = pg->n;

    (void)set;
    if (ncols != 3 || c[0].t != VG__TEXT || c[0].len >= VG_UID_MAX || c[1].t != VG__INT ||
        c[2].t != VG__BLOB || c[1].i < 0 || c[1].i > VG_STORE_MEAS_MAX) {
        return VG_EINTERNAL;
    }
    vg__store_copy_text(&c[0], pg->uid[i], VG_UID_MAX);
    pg->key[i][0] = '\0';
    pg->n++;
    /* before version 7: zlib rows only, no blobs to look up */
    if (vg__raw_decode_row(NULL, &c[1], &c[2], &text, &len) == 0) {
        vg__store_content_key(text, len, pg->key[i]);
    }
    free(text);
    return 0;
}

/* Every idem_key recomputed, a page of measurements (in uid order) at a time. Two earlier rows
 * with the same content (one submitted to a report, one uploaded in bulk) were both kept: the
 * second keeps its old key, which no new upload produces. */
static int
vg__upgrade_keys(const struct vg_store_ops *ops, struct vg__conn *c)
{
    static const char page_sql[] = "SELECT measurement_uid, raw_len, raw FROM measurements"
                                   " WHERE measurement_uid > $1 ORDER BY measurement_uid LIMIT 500";
    static const char set_sql[] =
        "UPDATE measurements SET idem_key = $1 WHERE measurement_uid = $2"
        " AND NOT EXISTS (SELECT 1 FROM measurements WHERE idem_key = $1)";
    struct vg__key_page pg;
    struct vg__val *p = vg_xcalloc(2 * VG__UPGRADE_PAGE, sizeof(*p));
    char last[VG_UID_MAX] = "";
    int rc = 0;

    _Static_assert(VG__UPGRADE_PAGE == 500, "the LIMIT of page_sql");
    pg.uid = vg_xcalloc(VG__UPGRADE_PAGE, sizeof(*pg.uid));
    pg.key = vg_xcalloc(VG__UPGRADE_PAGE, sizeof(*pg.key));
    do {
        struct vg__val from = vg__store_text(last);
        size_t k = 0;

        pg.n = 0;
        rc = ops->run(c, page_sql, 0, 1, 1, &from, vg__on_raw_row, &pg);
        for (size_t i = 0; rc == 0 && i < pg.n; i++) {
            if (pg.key[i][0] != '\0') {
                p[2 * k] = vg__store_text(pg.key[i]);
                p[2 * k + 1] = vg__store_text(pg.uid[i]);
                k++;
            }
        }
        if (rc == 0 && k > 0) {
            rc = ops->run(c, set_sql, 0, k, 2, p, NULL, NULL);
        }
        if (pg.n > 0) {
            memcpy(last, pg.uid[pg.n - 1], VG_UID_MAX);
        }
    } while (rc == 0 && pg.n == VG__UPGRADE_PAGE);
    VG_FREE(pg.uid);
    VG_FREE(pg.key);
    VG_FREE(p);
    return rc;
}

/* ---- latest states ---- */

struct vg__tkey {
    char *input, *domain;
    char probe_cc[3];
    int64_t probe_asn;
};

struct vg__tkey_page {
    struct vg__tkey k[VG__UPGRADE_PAGE];
    size_t n;
};

static int
vg__on_tkey(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__tkey_page *pg = arg;
    struct vg__tkey *k = &pg->k[pg->n];

    (void)set;
    if (ncols != 4 || c[0].t != VG__TEXT || c[2].t != VG__INT || pg->n == VG__UPGRADE_PAGE) {
        return VG_EINTERNAL;
    }
    k->input = vg_xstrndup(c[0].p, c[0].len);
    vg__store_copy_text(&c[1], k->probe_cc, sizeof(k->probe_cc));
    k->probe_asn = c[2].i;
    k->domain = c[3].t == VG__TEXT ? vg_xstrndup(c[3].p, c[3].len) : vg_xstrdup("");
    pg->n++;
    return 0;
}

/* One measurement of a target, as the latest state reads it. */
struct vg__tmeas {
    int64_t t;
    char verdict[16];
    char cause[VG_STORE_NAME_MAX + 1];
    bool has_cause;
    char uid[VG_UID_MAX];
};

struct vg__tmeas_list {
    struct vg__tmeas *m;
    size_t n, cap;
};

static int
vg__on_tmeas(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__tmeas_list *l = arg;
    struct vg__tmeas *m;

    (void)set;
    if (ncols != 5 || c[2].t != VG__INT || c[3].t != VG__INT || c[4].t != VG__TEXT) {
        return VG_EINTERNAL;
    }
    if (l->n == l->cap) {
        l->cap = l->cap > 0 ? l->cap * 2 : 64;
        l->m = vg_xreallocarray(l->m, l->cap, sizeof(*l->m));
    }
    m = &l->m[l->n++];
    m->t = vg__store_teff(c[2].i, c[3].i);
    vg__store_copy_text(&c[0], m->verdict, sizeof(m->verdict));
    m->has_cause = c[1].t == VG__TEXT;
    vg__store_copy_text(&c[1], m->cause, sizeof(m->cause));
    vg__store_copy_text(&c[4], m->uid, sizeof(m->uid));
    return 0;
}

static int
vg__cmp_tmeas(const void *a, const void *b)
{
    const struct vg__tmeas *x = a, *y = b;

    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return strcmp(x->uid, y->uid);
}

/* The latest state of one target from all its measurements, in time order (where the rules of
 * store_derive.c are exact), written for the scopes '*' and 'anonymous'. */
static int
vg__upgrade_target(const struct vg_store_ops *ops, struct vg__conn *c, const struct vg__tkey *k,
                   struct vg__tmeas_list *l)
{
    static const char rows_sql[] =
        "SELECT x_verdict, x_cause, measurement_start_time, received, measurement_uid"
        " FROM measurements WHERE domain = $1 AND input = $2 AND probe_cc = $3"
        " AND probe_asn = $4";
    static const char put_sql[] =
        "INSERT INTO targets_v3 (scope, input, probe_cc, probe_asn, domain, x_verdict, x_cause,"
        " since_time, last_time, brk_time, last_uid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " $10, $11)";
    struct vg__val q[4] = {vg__store_text(k->domain), vg__store_text(k->input),
                           vg__store_text(k->probe_cc), vg__store_int(k->probe_asn)};
    struct vg__val p[22];
    const struct vg__tmeas *last;
    int64_t since, brk = 0;
    bool has_brk = false;

    l->n = 0;
    VG_TRY(ops->run(c, rows_sql, 0, 1, 4, q, vg__on_tmeas, l));
    if (l->n == 0) {
        return 0; /* a state without measurements: the integrity check would have said so */
    }
    qsort(l->m, l->n, sizeof(*l->m), vg__cmp_tmeas);
    since = l->m[0].t;
    for (size_t i = 1; i < l->n; i++) {
        if (strcmp(l->m[i].verdict, l->m[i - 1].verdict) != 0) {
            brk = l->m[i - 1].t;
            has_brk = true;
            since = l->m[i].t;
        }
    }
    last = &l->m[l->n - 1];
    for (int s = 0; s < 2; s++) {
        struct vg__val *v = p + 11 * s;

        v[0] = vg__store_text(s == 0 ? VG__SCOPE_ALL : VG_STORE_ANONYMOUS);
        v[1] = vg__store_text(k->input);
        v[2] = vg__store_text(k->probe_cc);
        v[3] = vg__store_int(k->probe_asn);
        v[4] = vg__store_text(k->domain);
        v[5] = vg__store_text(last->verdict);
        v[6] = last->has_cause ? vg__store_text(last->cause) : (struct vg__val){.t = VG__NULL};
        v[7] = vg__store_int(since);
        v[8] = vg__store_int(last->t);
        v[9] = has_brk ? vg__store_int(brk) : (struct vg__val){.t = VG__NULL};
        v[10] = vg__store_text(last->uid);
    }
    return ops->run(c, put_sql, 0, 2, 11, p, NULL, NULL);
}

/* Every target of the version-2 table, a page at a time in key order. */
static int
vg__upgrade_targets(const struct vg_store_ops *ops, struct vg__conn *c)
{
    static const char first_sql[] = "SELECT input, probe_cc, probe_asn, domain FROM targets"
                                    " ORDER BY input, probe_cc, probe_asn LIMIT 500";
    static const char next_sql[] = "SELECT input, probe_cc, probe_asn, domain FROM targets"
                                   " WHERE (input, probe_cc, probe_asn) > ($1, $2, $3)"
                                   " ORDER BY input, probe_cc, probe_asn LIMIT 500";
    struct vg__tkey_page *pg = vg_xcalloc(1, sizeof(*pg));
    struct vg__tmeas_list l = {NULL, 0, 0};
    char *from = NULL, from_cc[3] = "";
    int64_t from_asn = 0;
    int rc = 0;

    do {
        struct vg__val q[3] = {vg__store_text(from != NULL ? from : ""), vg__store_text(from_cc),
                               vg__store_int(from_asn)};

        pg->n = 0;
        rc = from == NULL ? ops->run(c, first_sql, 0, 1, 0, NULL, vg__on_tkey, pg)
                          : ops->run(c, next_sql, 0, 1, 3, q, vg__on_tkey, pg);
        for (size_t i = 0; rc == 0 && i < pg->n; i++) {
            rc = vg__upgrade_target(ops, c, &pg->k[i], &l);
        }
        VG_FREE(from);
        if (pg->n > 0) {
            struct vg__tkey *k = &pg->k[pg->n - 1];

            from = vg_xstrdup(k->input);
            memcpy(from_cc, k->probe_cc, sizeof(from_cc));
            from_asn = k->probe_asn;
        }
        for (size_t i = 0; i < pg->n; i++) {
            VG_FREE(pg->k[i].input);
            VG_FREE(pg->k[i].domain);
        }
    } while (rc == 0 && pg->n == VG__UPGRADE_PAGE);
    VG_FREE(from);
    VG_FREE(l.m);
    VG_FREE(pg);
    return rc;
}

int
vg__store_upgrade_data(const struct vg_store_ops *ops, struct vg__conn *c, int version, char *err,
                       size_t errlen)
{
    int rc = 0;

    if (version == 3) {
        rc = vg__upgrade_keys(ops, c);
        if (rc < 0) {
            snprintf(err, errlen, "migration 3, content keys: %s", ops->errmsg(c));
            return rc;
        }
        rc = vg__upgrade_targets(ops, c);
        if (rc < 0) {
            snprintf(err, errlen, "migration 3, latest states: %s", ops->errmsg(c));
        }
    }
    return rc;
}
