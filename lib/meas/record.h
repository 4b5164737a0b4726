/* SPDX-License-Identifier: MIT */
/*
 * record.h - the one home of vigie's measurement JSON: the OONI data format (ooni-reference.md,
 * df-000-base and ts-017-web-connectivity) and the test helper's THRequest / THResponse bodies.
 * Every key name of a measurement is written and read here and nowhere else, so that the probe,
 * locate, the helper, the collector's ingest and store, and `vigie analyze` agree by
 * construction. No I/O.
 *
 * Ownership: functions returning json_t * return a new reference (the caller decrefs); json_t *
 * arguments are borrowed unless the comment says "takes".
 */
#ifndef VG_MEAS_RECORD_H
#define VG_MEAS_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util/crypto.h"

/* The User-Agent of every request vigie makes to a measured site (a common browser's). */
#define VG_REC_USER_AGENT                                                               \
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " \
    "Chrome/124.0.0.0 Safari/537.36"
/* OONI's base data format version (df-000-base). */
#define VG_REC_DATA_FORMAT_VERSION "0.2.0"

/* The tests vigie writes, with their test_version. */
#define VG_REC_TEST_WEB      "web_connectivity"
#define VG_REC_TEST_WEB_VER  "0.5.28" /* the OONI version whose keys vigie fills */
#define VG_REC_TEST_TLS      "x_tls_endpoint"
#define VG_REC_TEST_DNS      "x_dns_lookup"
#define VG_REC_TEST_LOCATE   "x_locate"
#define VG_REC_TEST_LOCATE_V "0.1.0"

/* OONI's placeholders for what the probe does not publish or does not know. */
#define VG_REC_PROBE_IP_SCRUBBED "127.0.0.1"
#define VG_REC_ASN_UNKNOWN       "AS0"
#define VG_REC_CC_UNKNOWN        "ZZ"

/* The top level of a measurement (df-000-base) before its test keys. */
struct vg_rec_env {
    const char *test_name;    /* VG_REC_TEST_* */
    const char *test_version; /* its version */
    const char *input;        /* the URL or target measured; NULL writes null */
    time_t start;             /* measurement_start_time and test_start_time (UTC) */
    const char *resolver_ip;  /* the system resolver's address; NULL writes null */
    uint32_t resolver_asn;    /* 0: unknown ("AS0") */
};

/*
 * A new measurement: every top-level key of OONI's base format in OONI's order (probe fields as
 * placeholders, report_id "", test_runtime 0), a fresh UUIDv4 as "id" (copied into id_out when
 * not NULL: collectors deduplicate uploads by it), and test_keys (takes the reference). NULL only
 * when test_keys is NULL.
 */
json_t *vg_rec_new(const struct vg_rec_env *e, json_t *test_keys, char *id_out);
/* The probe's network as a vantage point: probe_asn "AS<asn>", probe_cc (NULL or "": "ZZ") and
 * probe_network_name (NULL or "": null). */
void vg_rec_set_network(json_t *m, uint32_t asn, const char *cc, const char *org);
/* test_runtime in seconds. */
void vg_rec_set_runtime(json_t *m, double seconds);
/* The measurement's test_keys object (borrowed), or NULL. */
json_t *vg_rec_test_keys(json_t *m);
/* "YYYY-MM-DD HH:MM:SS" of t in UTC, OONI's time format, into out (20 bytes). */
void vg_rec_time(time_t t, char out[20]);

#endif
