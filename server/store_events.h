/* SPDX-License-Identifier: MIT */
/* The alert events' derivation at ingest (store_events.c), shared with its ClickHouse part
 * (store_ch_evlate.c): a batch's new rows, its keys, its late rows. Internal to the store. */
#ifndef VG_SERVER_STORE_EVENTS_H
#define VG_SERVER_STORE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_impl.h"

/* A new row with an input, at its trusted time. */
struct vg__evrow {
    const struct vg_store_meas *m;
    int64_t t;
};

/* One key of the batch: its rows (a run of the sorted rows) and its latest state before. */
struct vg__evkey {
    const struct vg__evrow *r;
    size_t n;
    bool has_prev;
    char verdict[16];
    int64_t last;
};

/* A late row's neighbours in time, from the measurements (the batch's included). */
struct vg__evlate {
    const struct vg__evrow *r;
    const struct vg__evkey *k;
    bool has_prev, has_next;
    char prev_v[16], next_v[16];
    char next_cause[VG_STORE_NAME_MAX + 1], next_uid[VG_UID_MAX];
    int64_t next_time;
    /* ClickHouse (vg__ev_late_ch): the start-time range looked in, the neighbours' trusted
     * times and prev's uid */
    int64_t lo, hi, prev_t, next_t;
    char prev_uid[VG_UID_MAX];
};

/* ClickHouse: the neighbours of late rows l[0..nl) onto them (has_prev, prev_v, has_next,
 * next_*), two statements per chunk of late rows. 0 or a negative VG_E*. */
int vg__store_ch_evlate(struct vg_store *s, struct vg__evlate *l, size_t nl);

/* SQLite and PostgreSQL: the statements reading a late row's neighbours (store_events.c; their
 * plans are tested) */
extern const char vg__store_sql_ev_before[];
extern const char vg__store_sql_ev_after[];

#endif
