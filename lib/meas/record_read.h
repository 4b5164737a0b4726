/* SPDX-License-Identifier: MIT */
/*
 * record_read.h - reading a measurement that someone else wrote: the collector's ingest and store
 * take what they index from an uploaded measurement (untrusted JSON, OONI's df-000-base plus
 * vigie's test keys) through here, and normalise it with the setters below. Part of the record
 * module (record.h writes measurements): key names are spelled in record_keys.h only, whose
 * VG_REC_KEY_* names (included here) the answers that echo a field under the measurement's own
 * name use too (the collector's query API, OONI's report-open body). No I/O.
 *
 * Ownership: json_t * arguments are borrowed; the setters change the object in place.
 */
#ifndef VG_MEAS_RECORD_READ_H
#define VG_MEAS_RECORD_READ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meas/record_keys.h"
#include "proto/json.h"
#include "util/err.h"
#include "vigie/vigie.h"

/* Bounds of the fields read (bytes, without the NUL): a longer value is refused (VG_ETOOBIG). */
#define VG_REC_NAME_MAX      64   /* test_name, software_name/_version, x_cause, blocking */
#define VG_REC_INPUT_MAX     2048 /* input (a URL): VG_URL_MAX */
#define VG_REC_REPORT_ID_MAX 127  /* report_id */
#define VG_REC_ID_MAX        133  /* id: the client's own id of the measurement */

/* What the collector indexes of one measurement, read and checked by vg_rec_summary_read. */
struct vg_rec_summary {
    char test_name[VG_REC_NAME_MAX + 1];        /* [a-z0-9_]+ */
    char probe_cc[3];                           /* two upper-case letters ("ZZ": unknown) */
    uint32_t probe_asn;                         /* "AS1234" -> 1234 */
    int64_t start_time;                         /* measurement_start_time, UTC seconds */
    char report_id[VG_REC_REPORT_ID_MAX + 1];   /* printable ASCII, no space; "" when none */
    bool has_input;                             /* input is a non-empty string */
    char input[VG_REC_INPUT_MAX + 1];           /* "" when missing or null */
    char software_name[VG_REC_NAME_MAX + 1];    /* printable ASCII; "" when none */
    char software_version[VG_REC_NAME_MAX + 1]; /* printable ASCII; "" when none */
    bool has_id;                                /* the measurement has an "id" */
    char id[VG_REC_ID_MAX + 1];         /* OONI df-000 "id" (a UUID4): printable ASCII, no space */
    bool has_verdict;                   /* test_keys.x_verdict is present (a string) */
    enum vg_verdict verdict;            /* test_keys.x_verdict; unknown when absent or unnamed */
    char x_cause[VG_REC_NAME_MAX + 1];  /* printable ASCII, no space; "" when null */
    char blocking[VG_REC_NAME_MAX + 1]; /* "" when null, "false", "true", or OONI's word */
    int accessible;                     /* test_keys.accessible: -1 null, 0 false, 1 true */
};

/*
 * Read the summary of measurement m (untrusted; NULL or not an object is refused).
 * Required: test_name, probe_cc, probe_asn ("AS<number>"), measurement_start_time
 * ("YYYY-MM-DD hh:mm:ss", util/timefmt.h). A missing or null optional field reads as "".
 * The verdict is test_keys.x_verdict (has_verdict); when it is missing (OONI's own probes) it is
 * unknown, never what OONI's blocking/accessible say (those stay OONI's fields: the collector
 * asks vg_analyze for vigie's verdict); an x_verdict that names no verdict is unknown.
 * 0, or VG_EPROTO (a field missing, of the wrong type or form) / VG_ETOOBIG (a field over its
 * bound) with err (may be NULL) saying which field; out is then zeroed.
 */
VG_MUST_USE int vg_rec_summary_read(json_t *m, struct vg_rec_summary *out, char *err,
                                    size_t errlen);

/* m's test_keys.x_evidence (borrowed from m), or NULL when absent or not a string. */
const char *vg_rec_evidence(json_t *m);

/* Set m's report_id. */
void vg_rec_set_report_id(json_t *m, const char *report_id);

/*
 * Replace m's probe_ip with VG_REC_PROBE_IP_SCRUBBED (record.h). When m claimed a real address
 * (IPv4 or IPv6; OONI's probes declare theirs there), vg_rec_scrub (record.h) takes it out of
 * the whole measurement: every textual form of it (IPv4, IPv6 canonical or expanded,
 * IPv4-mapped), as a whole address, in every string and object key, becomes "[scrubbed]":
 * probes may leak it in DNS answers, headers, page bodies or endpoint keys ("A.B.C.D:443").
 */
void vg_rec_scrub_probe_ip(json_t *m);

/*
 * The same reading over the fast reader's tree (proto/json.h) of the measurement, which the
 * caller parsed (vg_json_strict: no repeated name, no NUL): the same checks, answers and errors
 * as vg_rec_summary_read of jansson's parse of the same text. report_id, when not NULL, is read
 * in place of the measurement's own (what vg_rec_set_report_id would have set).
 */
VG_MUST_USE int vg_rec_summary_read_tree(const struct vg_json *m, const char *report_id,
                                         struct vg_rec_summary *out, char *err, size_t errlen);

/* True when m's probe_ip claims a real address: vg_rec_scrub_probe_ip would scrub it out of the
 * whole measurement (else it only sets probe_ip). */
bool vg_rec_probe_ip_real(const struct vg_json *m);

/*
 * Write the measurement text p[len] (vg_json_parse accepted it: an object, strict) through put
 * as the collector stores it when vg_rec_probe_ip_real is false: what json_dumps(JSON_COMPACT)
 * writes of jansson's parse of it after vg_rec_set_report_id (when report_id is not NULL) and
 * vg_rec_scrub_probe_ip, byte for byte (vg_json_canon). 0, or vg_json_canon's errors.
 */
VG_MUST_USE int vg_rec_normal_write(const char *p, size_t len, const char *report_id,
                                    vg_json_put_fn put, void *arg, char *err, size_t errlen);

#endif
