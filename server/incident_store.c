/* SPDX-License-Identifier: MIT */
/*
 * incident_store.c - the incident builder fed from a collector's database (incident.h
 * vg_incident_read_store): what `vigie report --db` and GET /api/v1/incident share.
 */
#include "incident.h"
#include "store.h"

static int
vg__incident_on_row(void *arg, json_t *m, const struct vg_store_incident_row *row)
{
    (void)vg_incident_add(arg, m, row->has_verdict ? row->verdict : VG_VERDICT_COUNT, row->cause,
                          row->uid);
    return 0;
}

int
vg_incident_read_store(struct vg_incident *inc, struct vg_store *s, const struct vg_store_filter *f)
{
    struct vg_store_filter all = *f;
    bool more = false;
    int rc;

    /* every network: the x_locate measurements of the input name none (ZZ, AS0) */
    all.probe_cc = NULL;
    all.has_probe_asn = false;
    all.window = 0;
    rc = vg_store_incident_each(s, &all, VG_INCIDENT_READ_MAX, vg__incident_on_row, inc, &more);
    if (rc == 0 && more) {
        vg_incident_mark_truncated(inc);
    }
    return rc;
}
