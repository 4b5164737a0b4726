/* SPDX-License-Identifier: MIT */
/*
 * reanalyze.c - one reanalysis pass (reanalyze.h): read a batch of stored measurements whose
 * verdict an analyser decided (store.h vg_store_reanalyze_read), analyse each again with one
 * vg_analyzer (vigie.h) outside any transaction, then commit the batch's new verdicts, the count
 * tables and latest states they move, and the pass's position in one transaction.
 */
#include "reanalyze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* The new analysis of one stored measurement into now (only the verdict columns are used). */
static void
vg__reanalyze_one(struct vg_analyzer *a, const struct vg_store_stale *old,
                  struct vg_store_meas *now, struct vg_analysis *an)
{
    char err[256];

    if (vg_analyze(a, old->raw, old->raw_len, VG_ANALYZE_NO_LINE, an, err, sizeof(err)) < 0) {
        /* as the ingest stores one it cannot read (ingest.c vg_ingest_analyze) */
        memset(an, 0, sizeof(*an));
        an->analysed = true;
        an->verdict = VG_VERDICT_UNKNOWN;
        snprintf(an->evidence, sizeof(an->evidence), "vigie could not analyse this measurement: %s",
                 err);
    }
    vg_store_meas_set_analysis(now, an);
}

/* Whether now says anything other than what is stored (an unchanged row is not written). */
static bool
vg__reanalyze_differs(const struct vg_store_stale *old, const struct vg_store_meas *now)
{
    return strcmp(old->x_verdict, now->x_verdict) != 0 || strcmp(old->x_cause, now->x_cause) != 0 ||
           strcmp(old->x_analyzer, now->x_analyzer) != 0 ||
           strcmp(old->x_evidence, now->x_evidence) != 0;
}

static void
vg__reanalyze_add(struct vg_reanalyze_result *r, const struct vg_store_reanalyze_stats *st)
{
    r->changed += st->changed;
    r->targets += st->targets;
    for (int a = 0; a < VG_VERDICT_COUNT; a++) {
        for (int b = 0; b < VG_VERDICT_COUNT; b++) {
            r->moved[a][b] += st->moved[a][b];
        }
    }
}

int
vg_reanalyze_run(struct vg_store *s, const struct vg_reanalyze_opts *o,
                 struct vg_reanalyze_result *r)
{
    struct vg_store_reanalyze_sel sel = {VG_ANALYZER_VERSION, o->all, o->since};
    unsigned batch = o->batch > 0 ? o->batch : VG_REANALYZE_BATCH_DEF;
    struct vg_store_meas *now = vg_xcalloc(batch, sizeof(*now));
    struct vg_store_reverdict *v = vg_xcalloc(batch, sizeof(*v));
    struct vg_analysis *an = vg_xmalloc(sizeof(*an));
    struct vg_analyzer *a = vg_analyzer_new();
    struct vg_store_pass p;
    int rc;

    memset(r, 0, sizeof(*r));
    if (a == NULL) {
        abort(); /* out of memory, as vg_xmalloc */
    }
    rc = vg_store_reanalyze_begin(s, &sel, o->restart, &p);
    r->resumed = p.resumed;
    while (rc == 0 && !r->done && (o->max_batches == 0 || r->batches < o->max_batches)) {
        struct vg_store_reanalyze_stats st;
        struct vg_store_stale *rows;
        size_t n, k = 0;

        rc = vg_store_reanalyze_read(s, &sel, &p, batch, &rows, &n);
        if (rc < 0) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            memset(&now[k], 0, sizeof(now[k]));
            vg__reanalyze_one(a, &rows[i], &now[k], an);
            if (vg__reanalyze_differs(&rows[i], &now[k])) {
                v[k] = (struct vg_store_reverdict){&rows[i], &now[k]};
                k++;
            }
        }
        r->done = n < batch;
        rc = vg_store_reanalyze_apply(s, &p, v, k, n > 0 ? rows[n - 1].start_time : p.last_time,
                                      n > 0 ? rows[n - 1].measurement_uid : p.last_uid, r->done,
                                      &st);
        vg_store_stale_free(rows, n);
        if (rc < 0) {
            break;
        }
        /* the position counts every row read, written or not */
        r->examined += n;
        r->batches++;
        vg__reanalyze_add(r, &st);
        if (o->log != NULL && n > 0) {
            fprintf(o->log, "vigie serve: reanalyze: batch %llu: %zu rows examined, %zu changed\n",
                    (unsigned long long)r->batches, n, st.changed);
            fflush(o->log);
        }
    }
    r->pass_examined = p.examined;
    r->pass_changed = p.changed;
    vg_analyzer_free(a);
    free(an);
    free(v);
    free(now);
    return rc;
}

void
vg_reanalyze_print(FILE *f, const struct vg_reanalyze_result *r)
{
    uint64_t moved = 0;

    for (int a = 0; a < VG_VERDICT_COUNT; a++) {
        for (int b = 0; b < VG_VERDICT_COUNT; b++) {
            moved += r->moved[a][b];
        }
    }
    fprintf(f,
            "reanalyze (%s): %llu rows examined, %llu updated, %llu verdicts changed, %llu latest"
            " states recomputed",
            VG_ANALYZER_VERSION, (unsigned long long)r->examined, (unsigned long long)r->changed,
            (unsigned long long)moved, (unsigned long long)r->targets);
    fprintf(f, r->resumed ? " (pass resumed: %llu examined, %llu changed in all)\n" : "\n",
            (unsigned long long)r->pass_examined, (unsigned long long)r->pass_changed);
    for (int a = 0; a < VG_VERDICT_COUNT; a++) {
        for (int b = 0; b < VG_VERDICT_COUNT; b++) {
            if (r->moved[a][b] > 0) {
                fprintf(f, "  %s -> %s: %llu\n", vg_verdict_name((enum vg_verdict)a),
                        vg_verdict_name((enum vg_verdict)b), (unsigned long long)r->moved[a][b]);
            }
        }
    }
    fprintf(f, "%s\n",
            r->done ? "pass complete"
                    : "pass not complete: run again to go on from where it stopped");
}
