/* SPDX-License-Identifier: MIT */
/*
 * verdict.h - vigie's decision for one measurement, from a compact summary of what was observed.
 * Pure function, no I/O: every rule is unit-tested (tests/unit/test_verdict.c) and documented in
 * docs/verdicts.md.
 */
#ifndef VG_MEAS_VERDICT_H
#define VG_MEAS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meas/obs.h"
#include "vigie/vigie.h"

struct vg_decision {
    enum vg_verdict verdict; /* vg_verdict_name() for its name */
    char cause[32];          /* "" when none */
    char evidence[1024];
    enum vg_blocking blocking; /* OONI's "blocking" */
    int accessible;            /* OONI's "accessible": -1 null, 0 false, 1 true */
    struct vg_ooni_keys ooni;  /* filled when o->ctrl != NULL, else all null */
};

/*
 * Decide o's verdict. Without a control (o->ctrl == NULL) only the probe's own observations count
 * and every OONI key is null; with one, vigie's control rules apply and the OONI keys, blocking
 * and accessible are OONI's (lib/meas/compare.h). The rules are listed at the top of verdict.c.
 */
void vg_verdict_decide(const struct vg_obs *o, struct vg_decision *v);
const char *vg_blocking_json(enum vg_blocking b); /* NULL for null, "false" for false */
/* The verdict one endpoint showed by itself (x_endpoints), and the failure behind it (0: none). */
enum vg_verdict vg_verdict_endpoint(const struct vg_obs_endpoint *e, int *failure);
/* Before vg_verdict_decide and vg_verdict_endpoint, for a tls:// target with a control: set
 * ctrl_same_cert on the endpoints whose invalid certificate the control got too (the same leaf or
 * key: the server's own, e.g. self-signed), and clear it everywhere else. */
void vg_verdict_mark_control(struct vg_obs *o);

/* Body fingerprints of known block pages; returns the name of the first match or NULL. */
const char *vg_blockpage_match(const unsigned char *body, size_t len);

#endif
