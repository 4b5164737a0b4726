/* SPDX-License-Identifier: MIT */
/*
 * store_ch_recover.c - crash recovery of a ClickHouse store, when `vigie serve` opens it and
 * before its writer takes uploads (docs/storage.md, "Check"). store_ch_txn.c writes a group as
 * separate INSERTs (rows, alert events, latest states); a kill -9 between them leaves rows that
 * no latest state reflects, and a retry of the upload finds those rows stored, not new. So:
 *   1. wait (at most VG__CHR_WAIT_MS) until no INSERT into measurements runs on the server: a
 *      killed predecessor's INSERT the server is still finishing would otherwise be missed by
 *      the lookup of a retry, which would store (and count) a second copy. ClickHouse 18.16's
 *      system.processes has no database column: INSERTs into any database's measurements count.
 *      The writer waits the same way before it runs a group again after an INSERT whose
 *      outcome it does not know (store_ch_txn.c, s->ch_unsure).
 *   2. the newest rows (received within VG__CHR_MARGIN_US of the newest, at most a few groups)
 *      that a latest state does not reflect (applying the row would change it,
 *      vg__store_ch_targets_stale) are derived again as at ingest: their alert events, unless
 *      events of those rows are stored already (written before the states: the kill came
 *      between the two), then their states. A state that reflects its rows is not moved, so
 *      recovery run twice writes nothing the second time.
 * Best effort: when it fails (a shard down, say) the collector starts all the same, with a
 * warning on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_impl.h"
#include "util/buf.h"
#include "util/mem.h"

#define VG__CHR_WAIT_MS   30000
#define VG__CHR_MARGIN_US (600LL * 1000000)
#define VG__CHR_CHUNK     256

static int
vg__chr_on_int(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    (void)set;
    if (ncols != 1 || (c[0].t != VG__INT && c[0].t != VG__NULL)) {
        return VG_EINTERNAL;
    }
    *(int64_t *)arg = c[0].t == VG__INT ? c[0].i : -1;
    return 0;
}

int
vg__store_ch_wait_inserts(struct vg_store *s)
{
    static const char sql[] = "SELECT toInt64(count()) FROM system.processes WHERE"
                              " positionCaseInsensitive(query, 'INSERT INTO measurements') = 1";
    struct timespec nap = {0, 100 * 1000 * 1000};

    for (int waited = 0;; waited += 100) {
        int64_t n = 0;

        VG_TRY(s->ops->run(s->wconn, sql, 0, 1, 0, NULL, vg__chr_on_int, &n));
        if (n <= 0) {
            return 0;
        }
        if (waited >= VG__CHR_WAIT_MS) {
            fprintf(stderr,
                    "vigie: store: %lld INSERT(s) into measurements still running after"
                    " %d s; going on\n",
                    (long long)n, VG__CHR_WAIT_MS / 1000);
            return 0;
        }
        nanosleep(&nap, NULL);
    }
}

/* The rows read back: their measurements and write rows. */
struct vg__chr_rows {
    struct vg_store_meas *m;
    struct vg__wrow *w;
    size_t n, cap;
};

/* measurement_uid, measurement_start_time, input, domain, probe_cc, probe_asn, x_verdict,
 * x_cause, provenance, received */
static int
vg__chr_on_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__chr_rows *r = arg;
    struct vg_store_meas *m;

    (void)set;
    if (ncols != 10 || c[1].t != VG__INT || c[2].t != VG__TEXT || c[5].t != VG__INT ||
        c[9].t != VG__INT || r->n >= r->cap) {
        return VG_EINTERNAL;
    }
    m = &r->m[r->n];
    vg__store_copy_text(&c[0], m->measurement_uid, sizeof(m->measurement_uid));
    m->start_time = c[1].i;
    m->has_input = true;
    vg__store_copy_text(&c[2], m->input, sizeof(m->input));
    vg__store_copy_text(&c[3], m->domain, sizeof(m->domain));
    vg__store_copy_text(&c[4], m->probe_cc, sizeof(m->probe_cc));
    m->probe_asn = (uint32_t)c[5].i;
    vg__store_copy_text(&c[6], m->x_verdict, sizeof(m->x_verdict));
    vg__store_copy_text(&c[7], m->x_cause, sizeof(m->x_cause));
    vg__store_copy_text(&c[8], m->provenance, sizeof(m->provenance));
    r->w[r->n] = (struct vg__wrow){.m = m, .received_us = c[9].i};
    r->n++;
    return 0;
}

static int
vg__chr_on_uid(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    (void)set;
    (void)c;
    if (ncols != 1) {
        return VG_EINTERNAL;
    }
    *(bool *)arg = true;
    return 0;
}

/* Whether ingest events of the stale rows of w[n] are stored already. */
static int
vg__chr_events_stored(struct vg_store *s, const struct vg__wrow *w, size_t n, bool *found)
{
    struct vg__val *p = vg_xcalloc(VG__CHR_CHUNK + 1, sizeof(*p));
    struct vg_buf sql;
    size_t np = 0;
    int rc = 0;

    *found = false;
    vg_buf_init(&sql, 64 * 1024);
    for (size_t i = 0; rc == 0 && !*found && i <= n; i++) {
        const char *text;

        if (i < n && w[i].is_new) {
            if (np == 0) {
                vg_buf_reset(&sql);
                p[np++] = vg__store_text(VG__EV_SOURCE_INGEST);
                rc = vg_buf_appendf(&sql, "SELECT measurement_uid FROM alert_events FINAL WHERE"
                                          " source = $1 AND measurement_uid IN (");
            }
            p[np++] = vg__store_text(w[i].m->measurement_uid);
            rc = rc < 0 ? rc : vg_buf_appendf(&sql, "%s$%zu", np > 2 ? ", " : "", np);
        }
        if (np > 1 && (i == n || np > VG__CHR_CHUNK)) {
            if (rc < 0 || vg_buf_append(&sql, ") LIMIT 1", 9) < 0 ||
                (text = vg_buf_cstr(&sql)) == NULL) {
                rc = VG_EINTERNAL;
                break;
            }
            rc = s->ops->run(s->wconn, text, 0, 1, np, p, vg__chr_on_uid, found);
            np = 0;
        }
    }
    vg_buf_cleanup(&sql);
    VG_FREE(p);
    return rc;
}

/* 2: the newest rows' states and events derived again where no state reflects them. */
static int
vg__chr_derive(struct vg_store *s, size_t *nstale)
{
    struct vg__chr_rows r = {0};
    struct vg__evbatch *eb = NULL;
    int64_t newest = -1;
    bool found = false;
    char sql[512];
    struct vg__val p[1];
    int rc;

    *nstale = 0;
    VG_TRY(s->ops->run(s->wconn, "SELECT max(received) FROM measurements", 0, 1, 0, NULL,
                       vg__chr_on_int, &newest));
    if (newest <= 0) {
        return 0; /* no rows */
    }
    r.cap = 4 * (size_t)s->o.batch_max;
    r.m = vg_xcalloc(r.cap, sizeof(*r.m));
    r.w = vg_xcalloc(r.cap, sizeof(*r.w));
    snprintf(sql, sizeof(sql),
             "SELECT measurement_uid, measurement_start_time, input, domain, probe_cc, probe_asn,"
             " x_verdict, x_cause, provenance, received FROM measurements FINAL WHERE received >="
             " $1 AND input IS NOT NULL ORDER BY received DESC LIMIT %zu",
             r.cap);
    p[0] = vg__store_int(newest - VG__CHR_MARGIN_US);
    rc = s->ops->run(s->wconn, sql, 0, 1, 1, p, vg__chr_on_row, &r);
    if (rc == 0) {
        rc = vg__store_ch_targets_stale(s, r.w, r.n);
    }
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        *nstale += r.w[i].is_new;
    }
    if (rc == 0 && *nstale > 0) {
        rc = vg__store_events_derive(s, r.w, r.n, &eb);
    }
    if (rc == 0 && *nstale > 0) {
        rc = vg__chr_events_stored(s, r.w, r.n, &found);
    }
    if (rc == 0 && *nstale > 0 && !found) {
        rc = vg__store_events_write(s, eb);
    }
    if (rc == 0 && *nstale > 0) {
        rc = vg__store_ch_targets(s, r.w, r.n);
    }
    vg__store_events_free(eb);
    VG_FREE(r.w);
    VG_FREE(r.m);
    return rc;
}

void
vg__store_ch_recover(struct vg_store *s)
{
    size_t nstale = 0;
    int rc = vg__store_ch_wait_inserts(s);

    if (rc == 0) {
        rc = vg__chr_derive(s, &nstale);
    }
    if (rc < 0) {
        /* a shard down, say: the collector starts all the same; check reports what is left */
        fprintf(stderr, "vigie: store: crash recovery not done: %s\n", s->ops->errmsg(s->wconn));
        vg__store_note_error(s, s->ops->errmsg(s->wconn));
        return;
    }
    if (nstale > 0) {
        fprintf(stderr,
                "vigie: store: %zu measurement(s) stored without their latest states (a"
                " crash): states and alert events derived again\n",
                nstale);
    }
}
