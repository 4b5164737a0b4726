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

#include "proto/ipaddr.h"
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
/* OONI's resolver_ip (and client_resolver) when the system resolver is not known. */
#define VG_REC_RESOLVER_UNKNOWN "127.0.0.2"
/* What an address scrubbed out of a measurement reads as (OONI's word). */
#define VG_REC_SCRUBBED "[scrubbed]"

/* The top level of a measurement (df-000-base) before its test keys. */
struct vg_rec_env {
    const char *test_name;    /* VG_REC_TEST_* */
    const char *test_version; /* its version */
    const char *input;        /* the URL or target measured; NULL writes null */
    time_t start;             /* measurement_start_time and test_start_time (UTC) */
    const char *resolver_ip;  /* the system resolver's address; NULL: VG_REC_RESOLVER_UNKNOWN */
    uint32_t resolver_asn;    /* 0: unknown ("AS0") */
    const char *resolver_org; /* resolver_network_name; NULL writes "" */
};

/*
 * A new measurement: every top-level key of OONI's base format in OONI's order (probe fields as
 * placeholders, report_id "", test_helpers {}, test_runtime 0), annotations with architecture,
 * extensions naming the data formats of the test's keys (df-000-base), a fresh UUIDv4 as "id"
 * (copied into id_out when not NULL: collectors deduplicate uploads by it), and test_keys (takes
 * the reference; its client_resolver, when it has the key, becomes resolver_ip as OONI writes
 * it). NULL only when test_keys is NULL.
 */
json_t *vg_rec_new(const struct vg_rec_env *e, json_t *test_keys, char *id_out);
/* The probe's network as a vantage point: probe_asn "AS<asn>", probe_cc (NULL or "": "ZZ") and
 * probe_network_name (NULL: ""). */
void vg_rec_set_network(json_t *m, uint32_t asn, const char *cc, const char *org);
/* test_runtime in seconds. */
void vg_rec_set_runtime(json_t *m, double seconds);
/* The measurement's test_keys object (borrowed), or NULL. */
json_t *vg_rec_test_keys(json_t *m);
/* "YYYY-MM-DD HH:MM:SS" of t in UTC, OONI's time format, into out (20 bytes). */
void vg_rec_time(time_t t, char out[20]);

/*
 * Scrub the addresses of set out of m (a measurement, or any JSON value), in place: the one
 * scrubber of the probe (its own public addresses, before a line is written or uploaded) and of
 * the collector (the probe_ip a client declared, record_read.h). Every whole textual form of each
 * address (vg_ip_set_find: IPv4, IPv6 in any spelling, IPv4-mapped) becomes VG_REC_SCRUBBED:
 * - in every string, anywhere in m, and in every object key, keeping the keys' order; a key that
 *   becomes the name of another key of its object gets " (2)", " (3)", ... appended, so that
 *   no value is lost (keys "192.0.2.7" and "2001:db8::7" become "[scrubbed]" and
 *   "[scrubbed] (2)"; "192.0.2.7:443" becomes "[scrubbed]:443");
 * - in binary values ({"format":"base64","data":...}, a body that is not UTF-8): decoded,
 *   scrubbed and encoded again; certificates (peer_certificates) are left alone;
 * - a response whose body changed gets x_body_length and x_body_sha256 of the body as stored.
 * Strings that hold no address are neither copied nor changed. Returns the replacements made.
 */
size_t vg_rec_scrub(json_t *m, const struct vg_ip_set *set);

/* ---- web_connectivity test keys (ts-017-web-connectivity), written by the probe ------------ */

/* The browser headers of every request to a measured site, on the wire and in requests[]. */
#define VG_REC_ACCEPT          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#define VG_REC_ACCEPT_LANGUAGE "en-US,en;q=0.9"

struct vg_asn_info;  /* meas/asn.h */
struct vg_decision;  /* meas/verdict.h */
struct vg_http_head; /* proto/http1.h */
struct vg_obs;       /* meas/verdict.h */
struct vg_tls_info;  /* net/tls.h */

/* What every network event carries (df-005-tcpconnect and the others): when it started and
 * ended, in seconds since the measurement started (t0, t), the redirect depth (tags
 * ["depth=N"]) and the transaction_id. */
struct vg_rec_event {
    double t0, t;
    int depth;
    int tid;
};

/*
 * A measurement's test_keys before its steps run, in OONI's order: agent, client_resolver
 * (VG_REC_RESOLVER_UNKNOWN until vg_rec_new), retries, socksproxy, the empty lists
 * (network_events, queries, x_dns_duplicate_responses, tcp_connect, tls_handshakes, requests), the
 * control's keys and OONI's comparison keys (null), x_trial. vg_rec_add_* append to the lists;
 * vg_rec_set_* fill the other keys. A key keeps the place it was first written at, so the keys not
 * written here follow in the order of the calls: vg_rec_set_control, then at the end
 * vg_rec_set_ooni, vg_rec_set_endpoints, vg_rec_set_verdict, vg_rec_set_experiment_failures.
 */
json_t *vg_rec_web_test_keys(unsigned trial);

/* One DNS lookup, for queries[] (df-002-dnst). */
struct vg_rec_query {
    /* The --resolver server over UDP (engine "udp", query_type "A" or "AAAA", resolver_address
     * "IP:PORT"), else the system resolver (engine "getaddrinfo", query_type "ANY",
     * resolver_address ""). */
    bool udp;
    bool aaaa;            /* udp: the AAAA query, else the A query */
    const char *resolver; /* udp: "IP:PORT" */
    const char *hostname; /* the name looked up */
    int failure;          /* 0 or VG_E* */
    /* A reply of the UDP resolver: raw_response (raw, raw_len: the datagram), rcode and x_ip_ttl
     * follow. Not for the system resolver, nor for a UDP query that got no reply. */
    bool reply;
    const uint8_t *raw;
    size_t raw_len;
    int rcode;  /* -1 when the reply did not parse */
    int ip_ttl; /* -1 when unknown */
};

/* Append an address to a query's answers (A or AAAA by the address's form). ttl < 0 writes null.
 * asn: with --asn-db, what the database says of the address (then "asn" and "as_org_name"); NULL
 * without a database (asn null). */
void vg_rec_answer_addr(json_t *answers, const char *ip, int64_t ttl,
                        const struct vg_asn_info *asn);
/* Append a CNAME answer. */
void vg_rec_answer_cname(json_t *answers, const char *target);
/* Append a lookup to queries, or with duplicate (a later UDP reply to a query that already had
 * one) to x_dns_duplicate_responses. Takes answers (NULL writes []). */
void vg_rec_add_query(json_t *tk, const struct vg_rec_event *ev, const struct vg_rec_query *q,
                      json_t *answers, bool duplicate);

/* Append a TCP connect to ip:port to tcp_connect (df-005-tcpconnect), and as a "connect" event
 * to network_events (df-008-netevents). */
void vg_rec_add_tcp_connect(json_t *tk, const struct vg_rec_event *ev, const char *ip,
                            unsigned port, int failure);

/*
 * Append a TLS handshake with address ("IP:PORT") and SNI server_name to tls_handshakes
 * (df-006-tlshandshake). handshake_failure is the handshake's own failure (x_handshake_failure);
 * when it completed (0), ti is what it showed (cipher, version, ALPN, the chain, the certificate's
 * verification as "failure"), else NULL.
 */
void vg_rec_add_tls_handshake(json_t *tk, const struct vg_rec_event *ev, const char *address,
                              const char *server_name, int handshake_failure,
                              const struct vg_tls_info *ti);

/* An HTTP response as received (all borrowed). */
struct vg_rec_response {
    const struct vg_http_head *head; /* NULL when the request failed before a head */
    const uint8_t *head_bytes;       /* the bytes head's fields point into */
    const uint8_t *body;             /* never NULL with a head */
    size_t body_len;                 /* bytes kept */
    bool truncated;                  /* cut at --body-max */
    const char *body_sha256;         /* hex SHA-256 of the body */
    const char *title;               /* the page's <title>, title_len bytes (0: none) */
    size_t title_len;
    /* The bytes the body had, as far as they were counted (x_body_length; a helper's engine counts
     * past body_len). 0, or less than body_len: body_len. */
    uint64_t body_total;
};

/* Record a GET of url over address (with the ALPN protocol negotiated there, "" if none) and its
 * response at the front of requests (final request first, df-001-httpt). */
void vg_rec_add_request(json_t *tk, const struct vg_rec_event *ev, const char *address,
                        const char *alpn, const char *url, int failure,
                        const struct vg_rec_response *resp);
/* Record at the front of requests a hop no endpoint could carry: no address, no response,
 * failure the first one the hop met (ev->tid is not written). */
void vg_rec_add_request_unsent(json_t *tk, const struct vg_rec_event *ev, const char *url,
                               int failure);
/* Set the failure of the last request recorded (a redirect that cannot be followed). */
void vg_rec_set_request_failure(json_t *tk, int failure);

struct vg_json;

/* The helper's THResponse, already parsed (the tree of proto/json.h that vg_json_strict accepts,
 * borrowed), as test_keys.control will hold it: the json_t that json_loadb of its text gives,
 * without x_client_addr (the probe's own address is never recorded). NULL where json_loadb
 * refuses the text (an integer past int64, a real past double's range) or out of memory. */
json_t *vg_rec_control_json(const struct vg_json *root);
/*
 * The control of measurement m (the whole measurement: test_helpers is at its top): control
 * (the vg_rec_control_json of the answer, NULL writes null), x_control_request (the THRequest
 * sent), control_failure, x_th_runtime (seconds), and test_helpers naming helper, the helper that
 * answered. helper NULL: no helper answered, and failure says why.
 */
void vg_rec_set_control(json_t *m, json_t *control, json_t *request, const char *helper,
                        const char *failure, double runtime);

/* OONI's analysis (blocking, accessible), and with a control (with_control) its comparison keys
 * (dns_consistency, body_proportion, body_length_match, status_code_match, headers_match,
 * title_match) and vigie's x_dns_consistency. */
void vg_rec_set_ooni(json_t *tk, const struct vg_decision *d, bool with_control);
/* x_endpoints (every address of o with the verdict it showed by itself, vg_verdict_endpoint) and
 * x_affected_addresses (those whose own verdict is intercepted or blocked); then "classic" is
 * added first to the tags of the network_events, tcp_connect, tls_handshakes and requests
 * entries of the endpoints of the system resolver's addresses (ts-017), which is known only
 * once every lookup ended. */
void vg_rec_set_endpoints(json_t *tk, const struct vg_obs *o);
/* x_verdict, x_cause (null when none) and x_evidence. */
void vg_rec_set_verdict(json_t *tk, const struct vg_decision *d);
/* http_experiment_failure (the final request's) and dns_experiment_failure (the system
 * resolver's at the first hop); 0 writes null. */
void vg_rec_set_experiment_failures(json_t *tk, int http_failure, int dns_failure);

#endif
