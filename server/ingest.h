/* SPDX-License-Identifier: MIT */
/*
 * ingest.h - the collector's untrusted input, checked before anything touches the store: the
 * bodies of OONI's collector API (POST /report, POST /report/{id}) and measurement lines (bulk
 * uploads, imports). Pure functions: no I/O, no store, no clock except through arguments.
 * docs/api.md lists the rules; tests/fuzz/fuzz_upload.c exercises them. Texts are read with
 * jsonmem.h: over the JSON limits they are refused (VG_ETOOBIG) unparsed, and inside a caller's
 * vg_jsonmem scope the parse and the normalised text take their memory from its account.
 */
#ifndef VG_SERVER_INGEST_H
#define VG_SERVER_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "meas/record.h"
#include "store.h"
#include "util/err.h"

/* Random bytes in a report_id (OONI asks for at least 256 bits from a CSPRNG). */
#define VG_REPORT_RANDOM_BYTES 32

/* The probe address every stored measurement carries, whatever the client sent. */
#define VG_INGEST_PROBE_IP VG_REC_PROBE_IP_SCRUBBED

/* What OONI's POST /report carries beyond struct vg_store_report. */
struct vg_ingest_open {
    struct vg_store_report report; /* report_id left empty */
    char test_start_time[20];      /* "YYYY-MM-DD hh:mm:ss" */
    char test_version[VG_STORE_NAME_MAX + 1];
};

/*
 * Parse the body of POST /report: {data_format_version, format "json", probe_asn, probe_cc,
 * software_name, software_version, test_name, test_start_time, test_version}. 0, or VG_EPROTO
 * (not a JSON object) / VG_EINVAL (a field missing, of the wrong form, an unknown
 * data_format_version, a format other than "json") with err saying which.
 */
VG_MUST_USE int vg_ingest_parse_open(const char *body, size_t len, struct vg_ingest_open *out,
                                     char *err, size_t errlen);

/*
 * OONI's report_id shape, six '_'-separated fields as OONI's collector splits them:
 * <YYYYMMDDTHHMMSSZ>_<test name without '_'>_<CC>_<ASN digits>_n1_<random>, the random part the
 * VG_REPORT_RANDOM_BYTES bytes of rnd (from a CSPRNG) as 43 base62 characters (letters and
 * digits only), the test name cut to 29 characters (OONI takes 2 to 29), so that the id of any
 * report vg_ingest_parse_open() accepts fits VG_REPORT_ID_MAX.
 */
VG_MUST_USE int vg_ingest_report_id(const struct vg_store_report *r, time_t now,
                                    const uint8_t rnd[VG_REPORT_RANDOM_BYTES], char *out,
                                    size_t cap);
/*
 * A report has two ids (docs/api.md, "Report secrets"). The submit id is what POST /report
 * answers and what the probe submits to and closes with: a secret, made by vg_ingest_report_id.
 * The public id is what the store keeps and the query API shows (and what the stored
 * measurements' report_id becomes): the same shape, with the random part replaced by 43 base62
 * characters of the SHA-256 of the submit id. Knowing a public id gives no way to the submit id;
 * the store holds only this hash of it. Fails (VG_EINVAL) for text that is not a submit id's
 * shape (ending in '_' and 43 characters).
 */
VG_MUST_USE int vg_ingest_report_public(const char *submit_id, char *out, size_t cap);
/* The public id as collectors made it before report ids were letters and digits only (the hash
 * in unpadded base64url): how a report opened then is still found by its submit id. */
VG_MUST_USE int vg_ingest_report_public_legacy(const char *submit_id, char *out, size_t cap);

/* True when s could be a report_id (length and characters): cheap check before a lookup. */
bool vg_ingest_report_id_is_valid(const char *s);
/* True when s could be a measurement_uid (length and characters). */
bool vg_ingest_uid_is_valid(const char *s);

/* One measurement ready for vg_store_insert: row.raw points into text, which u owns. */
struct vg_ingest {
    char *text; /* the measurement as stored: probe_ip scrubbed, report_id set */
    size_t len;
    struct vg_store_meas row;
};

/*
 * Check one measurement (a JSON object, untrusted) and normalise it for storage:
 * - data_format_version must be known ("0.2.0"), and the fields the store extracts valid;
 * - probe_ip becomes VG_INGEST_PROBE_IP; when the client sent another address, every form of it
 *   in the measurement's strings and keys gets "[scrubbed]" in its place (as OONI's probes do;
 *   vg_rec_scrub_probe_ip, record_read.h);
 * - report_id: when rep is given (POST /report/{id}), set to rep->report_id after checking that
 *   probe_cc, probe_asn and test_name match the report's; otherwise the measurement's own;
 * - then vg_store_meas_from_tree() extracts (and checks) the row from the one parse of the
 *   measurement (proto/json.h; a probe_ip to scrub: from the parse of the scrubbed text), as
 *   vg_store_meas_from_json() would from the normalised text, including the idempotency key
 *   ("c:" + the measurement's "id" when it has one, else a hash of the normalised text).
 * received_us is the receive time (UTC microseconds) for the measurement_uid.
 * 0, or VG_EPROTO / VG_EINVAL / VG_ETOOBIG with err saying what is wrong; u is then empty.
 */
VG_MUST_USE int vg_ingest_parse_meas(const char *json, size_t len,
                                     const struct vg_store_report *rep, int64_t received_us,
                                     struct vg_ingest *u, char *err, size_t errlen);

/*
 * Parse the body of POST /report/{id}: {"format": "json", "content": MEASUREMENT}, then the
 * measurement as vg_ingest_parse_meas does with rep (the report, required).
 */
VG_MUST_USE int vg_ingest_parse_submit(const char *body, size_t len,
                                       const struct vg_store_report *rep, int64_t received_us,
                                       struct vg_ingest *u, char *err, size_t errlen);

/* --max-clock-skew's default (seconds): how long after its arrival a measurement may say it
 * started (the probe's clock ahead of the collector's). */
#define VG_INGEST_SKEW_DEF 600
#define VG_INGEST_SKEW_MAX (7 * 86400) /* the largest --max-clock-skew */

/* What the collector stamps on every measurement it takes, and the time rule it checks. */
struct vg_ingest_policy {
    const char *provenance; /* who uploaded: a credential's name; NULL: VG_STORE_ANONYMOUS */
    int64_t max_skew_s;     /* refuse a measurement_start_time more than this after arrival */
};

/*
 * Apply pol to a parsed measurement that arrived at received_us (UTC microseconds): a
 * measurement_start_time more than pol->max_skew_s after the arrival is refused (VG_EINVAL, err
 * says by how much: a clock that runs ahead, or a date meant to hold a target's latest state);
 * else the row's provenance is set. pol NULL: anonymous, VG_INGEST_SKEW_DEF. u is left as it was
 * on a refusal (the caller cleans it up).
 */
VG_MUST_USE int vg_ingest_apply(struct vg_ingest *u, const struct vg_ingest_policy *pol,
                                int64_t received_us, char *err, size_t errlen);

/*
 * Give u vigie's verdict when its measurement carries none of vigie's probe (store.h
 * vg_store_meas_needs_analysis: another software, or test_keys.x_verdict absent): vg_analyze
 * (VG_ANALYZE_NO_LINE) on u->text, the measurement as it is stored, which stays as it is; the
 * row gets the verdict, cause, evidence and VG_ANALYZER_VERSION (vg_store_meas_set_analysis), or
 * verdict unknown and no analyser for a test vigie has no rules for. A measurement the analyser
 * cannot read is stored all the same (it passed the collector's checks): verdict unknown, the
 * analyser's version, and the reason as its evidence. a: the calling thread's analyser (one per
 * thread, vigie.h); NULL: the rows are left as they are. Returns true when it analysed.
 */
bool vg_ingest_analyze(struct vg_ingest *u, struct vg_analyzer *a);

/* Memory an analyser may keep after analysing the measurement text[len] (its tree arena: a
 * node per value and the strings, ~3x the text of a measurement; and its buffers): what the
 * collector counts against the upload budget. */
size_t vg_ingest_analyze_mem(const char *text, size_t len);

/* Release u's text and empty it. Safe on an empty or failed u. */
void vg_ingest_cleanup(struct vg_ingest *u);

#endif
