/* SPDX-License-Identifier: MIT */
/*
 * compare.h - OONI Web Connectivity's analysis of a probe's observations against a control
 * (ooni-reference.md sections 1.3, 1.4 and 1.5): DNS consistency, the HTTP comparison of the
 * final response, and OONI's "blocking" / "accessible". Pure functions, no I/O; covered by
 * tests/unit/test_compare.c with OONI's QA scenarios.
 *
 * OONI's common-ASN rule needs an ASN database (vigie probe --asn-db): without one, answers from
 * another address of the same CDN look inconsistent unless a certificate vouches for them.
 */
#ifndef VG_MEAS_COMPARE_H
#define VG_MEAS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "meas/control.h"
#include "meas/obs.h"

/* OONI's body_length_match threshold (bodyProportionFactor). */
#define VG_CMP_BODY_PROPORTION 0.7

/*
 * DNS consistency of the system resolver's answers (depth 0) with the control's: 1 consistent,
 * 0 inconsistent, -1 null (no control). OONI v0.4's rules: an IP host, both failed with NXDOMAIN,
 * a common non-zero ASN (o->dns_asns vs o->ctrl_asns), a common address, or dns_no_answer while
 * the control has no address (LTE's expected failure) are consistent. With tls_validity, LTE's
 * rule too: an answer whose address served a valid certificate for the name, to the probe or to
 * the control, is consistent.
 */
int vg_cmp_dns_consistency(const struct vg_obs *o, const struct vg_ctrl *c, bool tls_validity);

/* min/max of two body lengths, or -1 (null) unless both are > 0 and the probe's is complete. */
double vg_cmp_body_proportion(long probe_len, long ctrl_len, bool probe_truncated);
/* Status codes: 1 equal, 0 different while the control's is 2xx, -1 otherwise (null). */
int vg_cmp_status_code_match(int probe_status, int ctrl_status);
/* 1 when the two lists of header names share an uncommon name (case-insensitive), else 0. */
int vg_cmp_headers_match(const char (*a)[64], size_t na, const char (*b)[64], size_t nb);
/* 1 when no word of 5+ bytes (ASCII case folded) is in only one title, 0 otherwise, -1 (null)
 * when the probe's title is empty. */
int vg_cmp_title_match(const char *probe_title, const char *ctrl_title);

/* Fill k's HTTP keys from the final responses; all null unless both sides got one. */
void vg_cmp_http(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_ooni_keys *k);
/* OONI's http-diff: status codes differ (or null), or none of body/headers/title matches. */
bool vg_cmp_http_diff(const struct vg_ooni_keys *k);

/*
 * OONI's "blocking" and "accessible" from the observations and the keys of k (v0.4's Summarize
 * order, with LTE's "website down" outcome when the control failed the same step).
 */
void vg_cmp_summarize(const struct vg_obs *o, const struct vg_ctrl *c, const struct vg_ooni_keys *k,
                      enum vg_blocking *blocking, int *accessible);

/* All of it: OONI's keys into k (null without a control), blocking and accessible. c may be
 * NULL. */
void vg_cmp_ooni(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_ooni_keys *k,
                 enum vg_blocking *blocking, int *accessible);

#endif
