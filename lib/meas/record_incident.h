/* SPDX-License-Identifier: MIT */
/*
 * record_incident.h - what the incident report (server/incident.c, `vigie report`) reads of a
 * measurement beyond its summary (record_read.h): the network's name, the per-address verdicts
 * (x_endpoints, x_affected_addresses) and, for an x_locate measurement, where the interference
 * was located. Part of the record module: the key names are spelled in record_incident.c only.
 * No I/O; the measurement is untrusted and every value bounded (truncated, never refused).
 *
 * Ownership: m is borrowed; out is the caller's.
 */
#ifndef VG_MEAS_RECORD_INCIDENT_H
#define VG_MEAS_RECORD_INCIDENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vigie/vigie.h"

#define VG_REC_INC_EP_MAX 16 /* endpoints read per measurement */

/* One address as the measurement judged it alone. */
struct vg_rec_inc_ep {
    char address[64];        /* "IP:PORT" */
    enum vg_verdict verdict; /* unknown when unnamed */
    char failure[64];        /* "" none */
};

/* Where a localisation (x_locate) put the interference. */
struct vg_rec_inc_loc {
    char cause[32];
    char method[16];
    char target[64];                  /* "IP:PORT" located */
    int interference_hop, server_hop; /* -1: unknown */
    char interference_router[64];     /* "" unknown */
    char summary[256];
    char failure[64]; /* "" none */
};

struct vg_rec_incident {
    char network_name[128]; /* probe_network_name; "" when none */
    bool has_endpoints;     /* test_keys.x_endpoints is a list */
    size_t n_ep;            /* endpoints in ep (the first VG_REC_INC_EP_MAX) */
    struct vg_rec_inc_ep ep[VG_REC_INC_EP_MAX];
    bool is_locate; /* an x_locate measurement: loc is filled */
    struct vg_rec_inc_loc loc;
};

/* Read m (a measurement, untrusted) into *out (zeroed first). Never fails: what is missing or
 * malformed reads as absent. */
void vg_rec_incident_read(json_t *m, struct vg_rec_incident *out);

#endif
