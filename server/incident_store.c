/* SPDX-License-Identifier: MIT */
/*
 * incident_store.c - the incident builder fed from a collector's database (incident.h
 * vg_incident_read_store): what `vigie report --db` and GET /api/v1/incident share. A stored
 * measurement of another probe (OONI's) keeps the verdict the collector stored, and is analysed
 * again for its per-address verdicts (x_endpoints), which only the analysis writes, as `vigie
 * report` does on files: both sources give the same report.
 */
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "meas/record_read.h"
#include "store.h"

struct vg__incident_rd {
    struct vg_incident *inc;
    struct vg_analyzer *an;
    struct vg_analysis res;
};

static int
vg__incident_on_row(void *arg, json_t *m, const struct vg_store_incident_row *row)
{
    struct vg__incident_rd *x = arg;
    enum vg_verdict v = row->has_verdict ? row->verdict : VG_VERDICT_COUNT;
    struct vg_rec_summary s;
    json_t *line = NULL;
    char err[256], *text;

    if (x->an != NULL && vg_rec_summary_read(m, &s, NULL, 0) == 0 && !s.has_verdict &&
        (text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL) {
        if (vg_analyze(x->an, text, strlen(text), 0, &x->res, err, sizeof(err)) == 0 &&
            x->res.analysed && x->res.line != NULL) {
            line = json_loadb(x->res.line, x->res.line_len, 0, NULL);
        }
        free(text);
    }
    (void)vg_incident_add(x->inc, line != NULL ? line : m, v, row->cause, row->uid);
    json_decref(line);
    return 0;
}

int
vg_incident_read_store(struct vg_incident *inc, struct vg_store *s, const struct vg_store_filter *f)
{
    struct vg__incident_rd x = {.inc = inc, .an = vg_analyzer_new()};
    struct vg_store_filter all = *f;
    bool more = false;
    int rc;

    /* every network: the x_locate measurements of the input name none (ZZ, AS0) */
    all.probe_cc = NULL;
    all.has_probe_asn = false;
    all.window = 0;
    rc = vg_store_incident_each(s, &all, VG_INCIDENT_READ_MAX, vg__incident_on_row, &x, &more);
    if (rc == 0 && more) {
        vg_incident_mark_truncated(inc);
    }
    vg_analyzer_free(x.an);
    return rc;
}
