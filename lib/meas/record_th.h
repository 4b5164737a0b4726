/* SPDX-License-Identifier: MIT */
/*
 * record_th.h - the bodies of OONI's web connectivity test-helper protocol (ooni-reference.md
 * section 3, oohelperd's internal/model/th.go), written and read by lib/meas/record_th*.c only:
 * the THRequest the probe writes and the helper reads, the THResponse the helper writes from its
 * engine measurement and the probe reads (into struct vg_ctrl, lib/meas/control.h). vigie's x_
 * extensions are docs/helper.md's. No I/O; every reader takes untrusted bytes.
 *
 * Ownership: json_t * results are new references (the caller decrefs); char * results are owned
 * by the caller (free); arguments are borrowed.
 */
#ifndef VG_MEAS_RECORD_TH_H
#define VG_MEAS_RECORD_TH_H

#include <arpa/inet.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

struct vg_ctrl;

/* The Accept and Accept-Language headers of vigie's requests to measured sites (a browser's),
 * with VG_REC_USER_AGENT (meas/record.h). */

/* ---- THRequest --------------------------------------------------------------------------- */

/*
 * The THRequest for url: tcp_connect the n "IP:PORT" strings the probe resolved, in order;
 * http_request_headers the n_headers name/value pairs of headers_kv (2 * n_headers strings: name,
 * value, ...), one value each; x_quic_enabled quic. NULL when a string is not UTF-8.
 */
json_t *vg_rec_threquest(const char *url, const char *const *tcp_connect, size_t n,
                         const char *const *headers_kv, size_t n_headers, bool quic);
/*
 * Add vigie's extension to a THRequest (req, from vg_rec_threquest): x_tls_any_port, asking a vigie
 * helper for a TLS handshake on every endpoint of an https URL whatever its port (oohelperd
 * handshakes on port 443 only). OONI's probes never send it; other helpers ignore it.
 */
void vg_rec_threquest_ask_tls(json_t *req);

/*
 * vigie's extension for tls:// and dns:// targets (docs/helper.md, "tls:// and dns:// targets"):
 * the THRequest's http_request is the https://HOST:PORT/ (tls) or http://NAME/ (dns) URL of the
 * target, which any helper can read, and x_target the target itself; a vigie helper measures
 * the target (the TLS handshake and chain on its port, or the resolution) and echoes x_target in
 * its THResponse. A helper that does not echo it did not measure the target. target is the
 * canonical form (vg_url_format) of a tls:// or dns:// input; tcp_connect and headers_kv as for
 * vg_rec_threquest. NULL when target is not such a target or a string is not UTF-8.
 */
json_t *vg_rec_threquest_target(const char *target, const char *const *tcp_connect, size_t n,
                                const char *const *headers_kv, size_t n_headers);

/* What a THRequest asks to measure: a web page, or one of vigie's targets (x_target). */
enum vg_rec_th_target { VG_REC_TH_WEB, VG_REC_TH_TLS, VG_REC_TH_DNS };

/* A parsed THRequest. */
struct vg_rec_threq {
    char *url;                      /* http_request, owned */
    bool https;                     /* scheme */
    uint16_t port;                  /* explicit port of the URL, 0 when none */
    int host_family;                /* 4 or 6 when the URL host is an IP literal, else 0 */
    char host_ip[INET6_ADDRSTRLEN]; /* the literal, canonical, when host_family != 0 */
    size_t n_ips; /* distinct addresses of tcp_connect, canonical, in request order */
    char ips[VG_CTRL_PROBE_IPS][INET6_ADDRSTRLEN];
    size_t n_ignored; /* tcp_connect entries that are not IP:PORT, or past VG_CTRL_PROBE_IPS */
    bool quic;        /* x_quic_enabled (accepted, not measured: no QUIC in vigie) */
    /* x_target: a tls:// or dns:// target, which url, port, host_family and host_ip then
     * describe instead of http_request (port: the target's, explicit or 443) */
    enum vg_rec_th_target target;
    /* The http_request_headers oohelperd forwards to its fetch (names matched without regard to
     * case): the first usable value of each, owned, NULL when there is none (the engine then
     * sends its own). A value with a control character (CR, LF, NUL, ...) or longer than
     * VG_CTRL_HEADER_MAX bytes is not usable: it could not be sent as one header line. */
    char *user_agent, *accept, *accept_language;
    bool tls_any_port; /* x_tls_any_port (vg_rec_threquest_ask_tls) */
};

/*
 * Parse a THRequest body (len bytes, untrusted). On success fills *out (release with
 * vg_rec_threq_cleanup). Errors, with a human message in err: VG_EPROTO when the body is not
 * JSON, is not an object, or a known key has the wrong type; VG_EINVAL when http_request is
 * missing, is longer than VG_URL_MAX bytes, or is not an http(s) URL that lib/proto/url accepts
 * (the URL the engine will measure), or when x_target is present and is not a tls:// or dns://
 * target lib/proto/url accepts. Entries of tcp_connect that are not IP:PORT are skipped (counted
 * in n_ignored), as oohelperd skips them.
 */
VG_MUST_USE int vg_rec_threq_parse(const char *body, size_t len, struct vg_rec_threq *out,
                                   char *err, size_t errlen);
/* Release r's URL and zero it; r may be NULL, and cleaning twice is harmless. */
void vg_rec_threq_cleanup(struct vg_rec_threq *r);
/* The ports oohelperd measures for r's URL (into ports[2]): its explicit port, else 443 for
 * https, else 80 and 443; a tls:// target's port. Returns how many (1 or 2). A dns:// target has
 * no endpoint (the helper measures none), whatever this says. */
size_t vg_rec_threq_ports(const struct vg_rec_threq *r, uint16_t ports[2]);
/* True when the THResponse reports a TLS handshake on port: oohelperd's rule, port 443 only
 * (whatever the scheme), or, for an https URL, any port when r->tls_any_port; a tls:// target's
 * own port (x_target). */
bool vg_rec_threq_tls_port(const struct vg_rec_threq *r, long long port);

/* ---- THResponse -------------------------------------------------------------------------- */

struct vg_rec_thresp_opts {
    bool doc_public;  /* documentation ranges are public (vigie helper --lab) */
    bool skip_bogons; /* leave bogon endpoints out of tcp_connect / tls_handshake */
    /* x_client_addr: the address the request came from, so that a probe can look up its own
     * network (probe_asn, probe_cc); NULL leaves the key out. Written in the response only. */
    const char *client_addr;
};

/*
 * The THResponse (compact JSON text, owned by the caller) for request r from the helper's engine
 * measurement meas (JSON text, len bytes): the depth=0 steps for tcp_connect (on the ports of
 * vg_rec_threq_ports), tls_handshake and dns, the final request for http_request. When page is
 * not NULL, http_request comes from that measurement instead (see
 * vg_rec_thresponse_fetched_probe_addr). Failure strings are mapped to the legacy ones OONI's
 * helper reports. For a tls:// or dns:// target (r->target) http_request is null (nothing was
 * fetched) and x_target echoes r->url. Errors: VG_EPROTO when meas (or page) is not a
 * measurement, *out NULL.
 */
VG_MUST_USE int vg_rec_thresponse_from_measurement(const char *meas, size_t len, const char *page,
                                                   size_t page_len, const struct vg_rec_threq *r,
                                                   const struct vg_rec_thresp_opts *o, char **out);

/*
 * True when the engine fetched the page (first hop) over an address that only the probe gave
 * (tcp_connect), not one the helper's own resolution returned. oohelperd fetches over its own
 * resolution only, so that a censor's address cannot become the control's page: the helper then
 * fetches again without the probe's endpoints and takes http_request from that measurement.
 */
bool vg_rec_thresponse_fetched_probe_addr(const char *meas, size_t len,
                                          const struct vg_rec_threq *r);

/*
 * The helper's first answer, on one parse of meas: vg_rec_thresponse_fetched_probe_addr into
 * *refetch, then, when false, vg_rec_thresponse_from_measurement without a page into *out (NULL
 * when *refetch). Errors as vg_rec_thresponse_from_measurement.
 */
VG_MUST_USE int vg_rec_thresponse_or_refetch(const char *meas, size_t len,
                                             const struct vg_rec_threq *r,
                                             const struct vg_rec_thresp_opts *o, bool *refetch,
                                             char **out);

/* oohelperd's legacy failure strings for the engine's (NULL in, NULL out; the result is
 * static): dnsMapFailure, tcpMapFailure, httpMapFailure (during_dns: the request failed while
 * resolving the host). */
const char *vg_rec_th_dns_failure(const char *failure);
const char *vg_rec_th_tcp_failure(const char *failure);
const char *vg_rec_th_http_failure(const char *failure, bool during_dns);

/* ---- THResponse: the reader (record_th_read.c) ------------------------------------------ */

struct vg_json;

/*
 * Parse a THResponse (JSON text, len bytes, untrusted: a helper's answer) into *out: oohelperd's
 * keys and vigie's x_ extensions (x_target into out->target, x_client_addr into
 * out->client_addr when it is an IP address). Unknown keys are ignored; missing keys leave the
 * defaults (empty / -1). Errors: VG_EINVAL when out is NULL, VG_ETOOBIG when len exceeds
 * VG_CTRL_RESPONSE_MAX, VG_EPROTO when the text is not a JSON object, an object repeats a key, a
 * string holds a NUL or a key has the wrong type; *out is then left empty.
 */
VG_MUST_USE int vg_rec_thresponse_parse(const char *json, size_t len, struct vg_ctrl *out);

/*
 * As vg_rec_thresponse_parse, on the same single parse of the text, and also the THResponse as
 * test_keys.control holds it into *control (vg_rec_control_json, meas/record.h: a new
 * reference, NULL when jansson would not read the text); *control is NULL on error.
 */
VG_MUST_USE int vg_rec_thresponse_parse_control(const char *json, size_t len, struct vg_ctrl *out,
                                                json_t **control);

/* vg_rec_thresponse_read's flags */
#define VG_REC_TH_LEGACY 1u /* a header value may be a list (OONI's first helpers, archived) */

/*
 * Read a THResponse already parsed (the tree of proto/json.h: a helper's answer, or the control a
 * measurement carries, test_keys.control) into *c, with the checks of vg_rec_thresponse_parse
 * but those of the text (repeated keys, NUL). The legacy helpers' nulls (status_code and
 * body_length null, addrs null) count as absent. VG_EPROTO when root is not an object or a key
 * has a type no helper writes (*c is then left empty).
 */
VG_MUST_USE int vg_rec_thresponse_read(const struct vg_json *root, unsigned flags,
                                       struct vg_ctrl *c);

/* The control's autonomous system of each of c's addresses (ip_info[ip].asn of the THResponse
 * c was read from), index for index, for OONI's common-ASN rule (obs.h ctrl_asns); 0 when
 * unknown. */
void vg_rec_thresponse_asns(const struct vg_json *root, const struct vg_ctrl *c,
                            uint32_t asns[VG_DNS_MAX_ADDRS]);

#endif
