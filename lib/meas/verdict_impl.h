/* SPDX-License-Identifier: MIT */
/*
 * verdict_impl.h - what verdict.c (probe-only rules, entry point), verdict_ctrl.c (rules with
 * a control) and verdict_target.c (targets with a control) share. Internal to lib/meas; pure
 * functions, no I/O.
 */
#ifndef VG_MEAS_VERDICT_IMPL_H
#define VG_MEAS_VERDICT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "meas/verdict.h"

/* The endpoints of the final hop, as both connect rules (with and without a control) see them. */
struct vg__tally {
    size_t n, n_tcp, n_tls, n_ok; /* endpoints; failed TCP; failed TLS after TCP; fully connected */
    int tcp_err, tls_err;         /* the dominant failure of each step (vg__dominant) */
    const char *tcp_addr;         /* an endpoint whose TCP failure is tcp_err (or the first one) */
};

/* Fill t; false when the rules have nothing to say (no endpoint, or one fully connected). */
bool vg__verdict_tally_final(const struct vg_obs *o, struct vg__tally *t);
/* The REASON part of a cause for a network error ("timeout", "refused", "reset", ...). */
const char *vg__verdict_reason(int err);
/* What is wrong with the certificate of an endpoint whose handshake completed, into out. */
void vg__verdict_cert_desc(const struct vg_obs_endpoint *e, char *out, size_t cap);
/* A completed handshake whose certificate failed validation. */
bool vg__verdict_cert_invalid(const struct vg_obs_endpoint *e);

/* verdict_ctrl.c: set v's verdict, cause (copied, cut to fit) and evidence (printf-formatted, cut
 * to fit); the one way the rules with a control (C*, T*) decide. */
void vg__verdict_decide(struct vg_decision *v, enum vg_verdict verdict, const char *cause,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* verdict_ctrl.c: rules C1 to C11 with the control c; and the verdict when a control was asked
 * for but none answered (the probe-only verdict, then what only a control could confirm becomes
 * unknown). */
void vg__verdict_with_control(const struct vg_obs *o, const struct vg_ctrl *c,
                              struct vg_decision *v);
void vg__verdict_control_unreachable(const struct vg_obs *o, struct vg_decision *v);
/* verdict_ctrl.c, for the tls:// and dns:// targets: the DNS rules C1 to C3; C5, C6 and C8 (the
 * endpoints). True when one decided. */
bool vg__verdict_ctrl_dns(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v);
bool vg__verdict_ctrl_endpoints(const struct vg_obs *o, const struct vg_ctrl *c,
                                struct vg_decision *v);

/* verdict_target.c: the rules T1 to T5 for tls:// and dns:// targets with the control c (which
 * measured the same target). v->ooni.x_dns_consistency is set. */
void vg__verdict_target_with_control(const struct vg_obs *o, const struct vg_ctrl *c,
                                     struct vg_decision *v);

#endif
