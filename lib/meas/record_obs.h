/* SPDX-License-Identifier: MIT */
/*
 * record_obs.h - a measurement from elsewhere read back into what the verdict reads: OONI's
 * web_connectivity test keys (df-001/002/005/006, ts-017; test versions 0.0.x to 0.5.x, legacy
 * control responses included) and vigie's own x_ extensions, from the read-only tree of
 * lib/proto/json.h, into struct vg_obs and struct vg_ctrl (lib/meas/obs.h, control.h), so that
 * vg_verdict_decide (lib/meas/verdict.h), the probe's own code, decides it. Also the analysis
 * keys vigie adds (x_verdict, x_cause, x_evidence, x_endpoints, x_affected_addresses,
 * x_analyzer): their names and their writer. Key names live in lib/meas/record*.c only; this is
 * `vigie analyze`'s part (docs/analyze.md, "Rules on OONI data"). No I/O; every input is
 * untrusted: counts are capped by the arrays of vg_obs / vg_ctrl, strings cut at a UTF-8
 * boundary, base64 and DER bounded.
 *
 * Ownership: pointers in struct vg_rec_meta point into the json tree (valid while it is); struct
 * vg_rec_obs_scratch is the caller's and owns its buffers (vg_rec_obs_scratch_cleanup); o->ep
 * points into the scratch after vg_rec_obs_read (never vg_obs_cleanup such an obs).
 */
#ifndef VG_MEAS_RECORD_OBS_H
#define VG_MEAS_RECORD_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "meas/control.h"
#include "meas/obs.h"
#include "proto/json.h"

struct vg_decision; /* meas/verdict.h */

/* The envelope of a measurement (df-000-base) and the parts of test_keys the analysis needs. */
struct vg_rec_meta {
    const struct vg_json *test_keys; /* an object, or NULL when missing or null */
    /* top-level strings, NULL when missing, null or not a string */
    const char *test_name;
    const char *input; /* the first element when input is a list */
    const char *probe_cc;
    const char *probe_asn;
    const char *start_time; /* measurement_start_time as written */
    const char *software_name;
    time_t start; /* measurement_start_time as a time (UTC), 0 when it does not parse */
    /* OONI's analysis as written: blocking ("" null or missing, "false", or its string) and
     * accessible (-1 null or missing, 0, 1) */
    const char *ooni_blocking;
    int ooni_accessible;
    bool has_analysis_keys; /* test_keys already holds a key vg_rec_obs_is_analysis_key names */
};

/*
 * Read the envelope of root (a measurement). Errors, with a message in err: VG_EPROTO when root is
 * not an object, or test_keys, test_name, input or measurement_start_time has a type the data
 * format does not allow.
 */
VG_MUST_USE int vg_rec_obs_meta(const struct vg_json *root, struct vg_rec_meta *m, char *err,
                                size_t errlen);

/* What test_name is for the verdict: VG_TARGET_WEB (web_connectivity), VG_TARGET_TLS
 * (x_tls_endpoint), VG_TARGET_DNS (x_dns_lookup), or -1 for a test vigie has no rules for. */
int vg_rec_obs_target(const char *test_name);

/* A reader's reusable buffers: decoded bodies and certificates, the endpoints of the obs. */
struct vg_rec_obs_scratch {
    uint8_t *buf; /* a base64 body, decoded (grown as needed, kept) */
    size_t cap;
    uint8_t der[VG_TLS_CERT_MAX];
    struct vg_obs_endpoint ep[VG_OBS_MAX_EP];
    void *state; /* the reader's own working state, allocated at first use */
};

void vg_rec_obs_scratch_cleanup(struct vg_rec_obs_scratch *s);

/*
 * Fill *o (and *c, the control, when the measurement carries a usable one: then o->ctrl == c)
 * from m's test_keys for target t (vg_rec_obs_target), as the probe fills them while it measures:
 * the system resolver's answers and failure at the first hop, bogons, the UDP resolver's replies
 * (queries with engine "udp" and x_dns_duplicate_responses: injection), every endpoint (tcp_connect
 * and tls_handshakes, on the port of its hop's URL; verification failures and the leaf as the
 * probe judges them, from vigie's x_certificates or OONI's peer_certificates), the final request
 * (the deepest hop; an unsent one when no request of that hop was recorded) and its response.
 * doc_public: the documentation ranges are public addresses, not bogons (a measurement of
 * vigie's lab, `vigie probe --lab`).
 * Without a control (control missing or null, or control_failure set: then o->control_failure)
 * o->ctrl is NULL and the probe-only rules apply. Errors: VG_EPROTO with a message when test_keys
 * is missing or a list the data format requires is of another type.
 */
VG_MUST_USE int vg_rec_obs_read(const struct vg_rec_meta *m, int t, bool doc_public,
                                struct vg_obs *o, struct vg_ctrl *c, struct vg_rec_obs_scratch *s,
                                char *err, size_t errlen);

/* True for the keys of test_keys that vigie's analysis writes (x_verdict, x_cause, x_evidence,
 * x_endpoints, x_affected_addresses, x_analyzer): replaced when a measurement already has them. */
bool vg_rec_obs_is_analysis_key(const char *key, size_t len);

/*
 * The analysis keys for decision d of obs o, as compact JSON members without the braces
 * ("x_verdict":...,"x_cause":...,"x_evidence":...,"x_endpoints":[...],
 * "x_affected_addresses":[...],"x_analyzer":"vigie-analyze/1"), written by the probe's writers
 * (record.h) into out (cap bytes, not NUL-terminated). Returns the length, or VG_ETOOBIG when out
 * is too small, VG_EINTERNAL when out of memory.
 */
VG_MUST_USE long vg_rec_obs_fragment(const struct vg_decision *d, const struct vg_obs *o, char *out,
                                     size_t cap);

#endif
