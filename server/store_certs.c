/* SPDX-License-Identifier: MIT */
/*
 * store_certs.c - certificates seen (store.h vg_store_certificates): the newest measurements of
 * one target (and network) read from the measurements table, each decoded and parsed, its
 * chains merged per source and chain by certgroup.c (the record module reads them).
 * Nothing is kept at ingest: the answer is always the measurements' own (docs/storage.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certgroup.h"
#include "meas/record_read.h"
#include "store_impl.h"
#include "store_raw.h"
#include "util/mem.h"

struct vg__certs_q {
    struct vg_store *s;
    struct vg__query q;
    unsigned limit;
    unsigned n_read;
    bool more;
    struct vg_certgroup *groups;
};

int
vg__store_row_json(struct vg_store *s, const struct vg__val *len, const struct vg__val *raw,
                   json_t **out)
{
    size_t n;
    char *text;

    *out = NULL;
    VG_TRY(vg__raw_decode_row(s, len, raw, &text, &n));
    *out = json_loadb(text, n, 0, NULL); /* stored, so valid once: NULL is nothing to read */
    free(text);
    return 0;
}

/* One measurement: (uid, start time, raw_len, raw). */
static int
vg__certs_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__certs_q *x = arg;
    char uid[VG_UID_MAX];
    json_t *m;
    int rc;

    (void)set;
    if (ncols != 4 || c[0].t != VG__TEXT || c[1].t != VG__INT) {
        return VG_EINTERNAL;
    }
    if (x->n_read == x->limit) {
        x->more = true;
        return 0;
    }
    x->n_read++;
    vg__store_copy_text(&c[0], uid, sizeof(uid));
    VG_TRY(vg__store_row_json(x->s, &c[2], &c[3], &m));
    if (m == NULL) {
        return 0;
    }
    rc = vg_certgroup_add(x->groups, m, uid, c[1].i);
    json_decref(m);
    return rc;
}

static void
vg__certs_reset(struct vg__certs_q *x)
{
    vg_certgroup_reset(x->groups);
    x->n_read = 0;
    x->more = false;
}

static int
vg__certs_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__certs_q *x = arg;

    vg__certs_reset(x); /* a retry on a fresh connection starts over */
    x->s = s;
    return s->ops->run(c, x->q.sql, 0, 1, x->q.np, x->q.p, vg__certs_on_row, x);
}

int
vg_store_certificates(struct vg_store *s, const struct vg_store_filter *f, unsigned limit,
                      json_t **out)
{
    struct vg__certs_q *x;
    int rc;

    *out = NULL;
    VG_TRY(vg__store_filter_valid(f));
    VG_ENSURE(f != NULL && f->input != NULL && f->input[0] != '\0', VG_EINVAL);
    VG_ENSURE(limit <= VG_STORE_CERTS_MAX, VG_EINVAL);
    x = vg_xcalloc(1, sizeof(*x));
    x->limit = limit > 0 ? limit : VG_STORE_CERTS_DEF;
    x->groups = vg_certgroup_new(0) /* limit bounds it */;
    vg__store_q_add(&x->q, "SELECT measurement_uid, measurement_start_time, raw_len, raw"
                           " FROM measurements");
    /* ClickHouse: FINAL hides the copies of a measurement stored twice (store_ch_txn.c) */
    vg__store_q_add(&x->q, s->ops->dialect == VG__CH ? " FINAL WHERE 1 = 1" : " WHERE 1 = 1");
    vg__store_q_filters(&x->q, f, "measurement_start_time", f->since, true, true);
    vg__store_q_add(&x->q, " ORDER BY measurement_start_time DESC, measurement_uid DESC");
    vg__store_q_param(&x->q, " LIMIT ", vg__store_int((int64_t)x->limit + 1), "");
    rc = vg__store_read(s, vg__certs_fn, x);
    if (rc == 0) {
        *out = json_pack("{s:s, s:I, s:b, s:o, s:o}", "input", f->input, "measurements",
                         (json_int_t)x->n_read, "truncated", x->more, "probe",
                         vg_certgroup_list(x->groups, false), "control",
                         vg_certgroup_list(x->groups, true));
    }
    vg_certgroup_free(x->groups);
    free(x);
    return rc;
}
