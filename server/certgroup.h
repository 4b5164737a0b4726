/* SPDX-License-Identifier: MIT */
/*
 * certgroup.h - the certificate chains of many measurements merged per source (probe, control)
 * and chain: the one grouping behind the collector's "certificates seen" (store_certs.c,
 * GET /api/v1/certificates) and the incident report (incident.c). The chains are read by the
 * record module (meas/record_certs.h); a chain is its certificates' SHA-256s in order.
 *
 * Ownership: the accumulator is the caller's (vg_certgroup_free); measurements are borrowed for
 * the call; the lists returned are the caller's (json_decref).
 */
#ifndef VG_SERVER_CERTGROUP_H
#define VG_SERVER_CERTGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct vg_certgroup;

/* An accumulator of at most max distinct chains (0: no bound; a caller whose input is bounded). */
struct vg_certgroup *vg_certgroup_new(size_t max);
void vg_certgroup_free(struct vg_certgroup *g);
/* Forget every chain (a retry that starts over). */
void vg_certgroup_reset(struct vg_certgroup *g);

/* Merge the chains of measurement m (untrusted), whose uid (may be "") and start time t (UTC
 * seconds) the groups remember. 0, or VG_EINTERNAL. */
VG_MUST_USE int vg_certgroup_add(struct vg_certgroup *g, json_t *m, const char *uid, int64_t t);

/* Sightings of chains not kept: new chains after max were reached. */
unsigned long vg_certgroup_dropped(const struct vg_certgroup *g);

/*
 * The groups of one source (control: the control's, else the probe's), those that did not
 * validate first, then newest last_seen first, each
 *   {"leaf_sha256", "leaf_spki_sha256", "subject", "issuer", "not_before", "not_after" (null
 *    when the source gives none), "self_signed", "reasons" (distinct, when not valid),
 *    "addresses", "chain": [CERT...], "valid", "first_seen", "last_seen", "count" (handshakes),
 *    "measurements" (distinct), "last_measurement_uid"}
 * (docs/api.md, GET /api/v1/certificates).
 */
json_t *vg_certgroup_list(struct vg_certgroup *g, bool control);

#endif
