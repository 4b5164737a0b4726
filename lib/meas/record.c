/* SPDX-License-Identifier: MIT */
/*
 * record.c - the writer and reader of measurement JSON (record.h). Key names are spelled in
 * record_keys.h only.
 */
#include "meas/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/asn.h"
#include "meas/record_keys.h"
#include "meas/verdict.h"
#include "net/tls.h"
#include "proto/http1.h"
#include "proto/ipaddr.h"
#include "proto/json.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/str.h"
#include "vigie/vigie.h"

void
vg_rec_time(time_t t, char out[20])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(out, 20, "1970-01-01 00:00:00");
    }
}

static json_t *
vg__rec_asn(uint32_t asn)
{
    char as[16];

    snprintf(as, sizeof(as), "AS%" PRIu32, asn);
    return json_string(as);
}

/* annotations.architecture: Go's GOARCH name of the machine vigie was built for (df-000-base
 * lists arm, arm64, 386, amd64). */
static const char *
vg__rec_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#else
    return "unknown";
#endif
}

/* extensions (df-000-base): the data formats a test's test_keys carry, each at version 0. */
static json_t *
vg__rec_extensions(const char *test_name)
{
    if (strcmp(test_name, VG_REC_TEST_LOCATE) == 0) {
        return json_object();
    }
    return json_pack("{s:i, s:i, s:i, s:i, s:i}", VG_REC_KEY_DNST, 0, VG_REC_KEY_HTTPT, 0,
                     VG_REC_KEY_NETEVENTS, 0, VG_REC_KEY_TCPCONNECT, 0, VG_REC_KEY_TLSHANDSHAKE, 0);
}

json_t *
vg_rec_new(const struct vg_rec_env *e, json_t *test_keys, char *id_out)
{
    char ts[20], id[VG_UUID_LEN + 1];
    const char *resolver = e->resolver_ip != NULL && e->resolver_ip[0] != '\0'
                               ? e->resolver_ip
                               : VG_REC_RESOLVER_UNKNOWN;
    json_t *m;

    if (test_keys == NULL) {
        return NULL;
    }
    vg_rec_time(e->start, ts);
    vg_uuid4(id);
    if (id_out != NULL) {
        snprintf(id_out, VG_UUID_LEN + 1, "%s", id);
    }
    m = json_object();
    json_object_set_new(m, VG_REC_KEY_ANNOTATIONS,
                        json_pack("{s:s, s:s, s:s, s:s}", VG_REC_KEY_ARCHITECTURE, vg__rec_arch(),
                                  VG_REC_KEY_ENGINE_NAME, VG_SOFTWARE_NAME,
                                  VG_REC_KEY_ENGINE_VERSION, VG_VERSION, VG_REC_KEY_PLATFORM,
                                  "linux"));
    json_object_set_new(m, VG_REC_KEY_DATA_FORMAT_VERSION, json_string(VG_REC_DATA_FORMAT_VERSION));
    json_object_set_new(m, VG_REC_KEY_EXTENSIONS, vg__rec_extensions(e->test_name));
    json_object_set_new(m, VG_REC_KEY_ID, json_string(id));
    json_object_set_new(m, VG_REC_KEY_INPUT,
                        e->input != NULL ? json_string(e->input) : json_null());
    json_object_set_new(m, VG_REC_KEY_MEASUREMENT_START_TIME, json_string(ts));
    json_object_set_new(m, VG_REC_KEY_PROBE_ASN, json_string(VG_REC_ASN_UNKNOWN));
    json_object_set_new(m, VG_REC_KEY_PROBE_CC, json_string(VG_REC_CC_UNKNOWN));
    json_object_set_new(m, VG_REC_KEY_PROBE_IP, json_string(VG_REC_PROBE_IP_SCRUBBED));
    json_object_set_new(m, VG_REC_KEY_PROBE_NETWORK_NAME, json_string(""));
    json_object_set_new(m, VG_REC_KEY_REPORT_ID, json_string(""));
    json_object_set_new(m, VG_REC_KEY_RESOLVER_ASN, vg__rec_asn(e->resolver_asn));
    json_object_set_new(m, VG_REC_KEY_RESOLVER_IP, json_string(resolver));
    json_object_set_new(m, VG_REC_KEY_RESOLVER_NETWORK_NAME,
                        json_string(e->resolver_org != NULL ? e->resolver_org : ""));
    json_object_set_new(m, VG_REC_KEY_SOFTWARE_NAME, json_string(VG_SOFTWARE_NAME));
    json_object_set_new(m, VG_REC_KEY_SOFTWARE_VERSION, json_string(VG_VERSION));
    /* OONI omits test_helpers without a helper; an empty map keeps the key's type and place. */
    json_object_set_new(m, VG_REC_KEY_TEST_HELPERS, json_object());
    json_object_set_new(m, VG_REC_KEY_TEST_NAME, json_string(e->test_name));
    json_object_set_new(m, VG_REC_KEY_TEST_RUNTIME, json_real(0.0));
    json_object_set_new(m, VG_REC_KEY_TEST_START_TIME, json_string(ts));
    json_object_set_new(m, VG_REC_KEY_TEST_VERSION, json_string(e->test_version));
    /* client_resolver (ts-017): what OONI records, the session's resolver_ip. */
    if (json_object_get(test_keys, VG_REC_KEY_CLIENT_RESOLVER) != NULL) {
        json_object_set_new(test_keys, VG_REC_KEY_CLIENT_RESOLVER, json_string(resolver));
    }
    json_object_set_new(m, VG_REC_KEY_TEST_KEYS, test_keys);
    return m;
}

void
vg_rec_set_network(json_t *m, uint32_t asn, const char *cc, const char *org)
{
    json_object_set_new(m, VG_REC_KEY_PROBE_ASN, vg__rec_asn(asn));
    json_object_set_new(m, VG_REC_KEY_PROBE_CC,
                        json_string(cc != NULL && cc[0] != '\0' ? cc : VG_REC_CC_UNKNOWN));
    json_object_set_new(m, VG_REC_KEY_PROBE_NETWORK_NAME, json_string(org != NULL ? org : ""));
}

void
vg_rec_set_runtime(json_t *m, double seconds)
{
    json_object_set_new(m, VG_REC_KEY_TEST_RUNTIME, json_real(seconds));
}

json_t *
vg_rec_test_keys(json_t *m)
{
    return json_object_get(m, VG_REC_KEY_TEST_KEYS);
}

/* ---- web_connectivity test keys ------------------------------------------------------------ */

static json_t *
vg__rec_jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* A JSON string from peer bytes: invalid UTF-8 and NULs replaced, never NULL. */
static json_t *
vg__rec_jpeer(const uint8_t *p, size_t len)
{
    size_t n;
    char *s = vg_utf8_sanitize(p, len, &n);
    json_t *j = json_stringn(s, n);

    free(s);
    return j != NULL ? j : json_string("");
}

/* OONI's failure string of err, null for 0. */
static json_t *
vg__rec_jfailure(int err)
{
    return vg__rec_jstr(vg_err_failure(err));
}

/* -1 null, 0 false, else true. */
static json_t *
vg__rec_jtristate(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

/* ts-017: data of the classic algorithm (the system resolver's lookups, and the endpoints of
 * the addresses it returned) carry "classic"; every entry carries "depth=N". */
#define VG__REC_CLASSIC "classic"

static json_t *
vg__rec_tags(int depth)
{
    char t[32];

    snprintf(t, sizeof(t), "depth=%d", depth);
    return json_pack("[s]", t);
}

json_t *
vg_rec_web_test_keys(unsigned trial)
{
    return json_pack(
        "{s:s, s:s, s:n, s:n, s:[], s:[], s:[], s:[], s:[], s:[], s:n, s:n, s:n, "
        "s:n, s:n, s:n, s:n, s:n, s:n, s:i}",
        VG_REC_KEY_AGENT, "redirect", VG_REC_KEY_CLIENT_RESOLVER, VG_REC_RESOLVER_UNKNOWN,
        VG_REC_KEY_RETRIES, VG_REC_KEY_SOCKSPROXY, VG_REC_KEY_NETWORK_EVENTS, VG_REC_KEY_QUERIES,
        VG_REC_KEY_X_DNS_DUPLICATE_RESPONSES, VG_REC_KEY_TCP_CONNECT, VG_REC_KEY_TLS_HANDSHAKES,
        VG_REC_KEY_REQUESTS, VG_REC_KEY_CONTROL, VG_REC_KEY_CONTROL_FAILURE,
        VG_REC_KEY_X_CONTROL_REQUEST, VG_REC_KEY_DNS_CONSISTENCY, VG_REC_KEY_BODY_LENGTH_MATCH,
        VG_REC_KEY_BODY_PROPORTION, VG_REC_KEY_HEADERS_MATCH, VG_REC_KEY_STATUS_CODE_MATCH,
        VG_REC_KEY_TITLE_MATCH, VG_REC_KEY_X_TRIAL, (int)trial);
}

void
vg_rec_answer_addr(json_t *answers, const char *ip, int64_t ttl, const struct vg_asn_info *asn)
{
    bool v6 = strchr(ip, ':') != NULL;
    /* df-002-dnst: asn an int and as_org_name a string, 0 and "" when unknown. */
    json_t *a = json_pack("{s:s, s:s, s:I, s:o, s:s}", VG_REC_KEY_ANSWER_TYPE, v6 ? "AAAA" : "A",
                          v6 ? VG_REC_KEY_IPV6 : VG_REC_KEY_IPV4, ip, VG_REC_KEY_ASN,
                          (json_int_t)(asn != NULL ? asn->asn : 0), VG_REC_KEY_TTL,
                          ttl < 0 ? json_null() : json_integer((json_int_t)ttl),
                          VG_REC_KEY_AS_ORG_NAME, asn != NULL ? asn->org : "");

    json_array_append_new(answers, a);
}

void
vg_rec_answer_cname(json_t *answers, const char *target)
{
    json_array_append_new(answers, json_pack("{s:s, s:s, s:n}", VG_REC_KEY_ANSWER_TYPE, "CNAME",
                                             VG_REC_KEY_HOSTNAME, target, VG_REC_KEY_TTL));
}

void
vg_rec_add_query(json_t *tk, const struct vg_rec_event *ev, const struct vg_rec_query *q,
                 json_t *answers, bool duplicate)
{
    json_t *e =
        json_pack("{s:o, s:s, s:o, s:s, s:s, s:s}", VG_REC_KEY_ANSWERS,
                  answers != NULL ? answers : json_array(), VG_REC_KEY_ENGINE,
                  q->udp ? "udp" : "getaddrinfo", VG_REC_KEY_FAILURE, vg__rec_jfailure(q->failure),
                  VG_REC_KEY_HOSTNAME, q->hostname, VG_REC_KEY_QUERY_TYPE,
                  !q->udp   ? "ANY"
                  : q->aaaa ? "AAAA"
                            : "A",
                  VG_REC_KEY_RESOLVER_ADDRESS, q->udp ? q->resolver : "");

    if (e == NULL) {
        return;
    }
    if (q->reply) {
        char *raw = vg_base64(q->raw, q->raw_len);

        json_object_set_new(e, VG_REC_KEY_RAW_RESPONSE, json_string(raw));
        json_object_set_new(e, VG_REC_KEY_RCODE, json_integer(q->rcode));
        free(raw);
    }
    json_object_set_new(e, VG_REC_KEY_T0, json_real(ev->t0));
    json_object_set_new(e, VG_REC_KEY_T, json_real(ev->t));
    json_object_set_new(e, VG_REC_KEY_TAGS, vg__rec_tags(ev->depth));
    if (!q->udp) {
        /* The system resolver is the classic algorithm's; --resolver is extension E003. */
        json_array_insert_new(json_object_get(e, VG_REC_KEY_TAGS), 0, json_string(VG__REC_CLASSIC));
    }
    json_object_set_new(e, VG_REC_KEY_TRANSACTION_ID, json_integer(ev->tid));
    if (q->reply) {
        json_object_set_new(e, VG_REC_KEY_X_IP_TTL, json_integer(q->ip_ttl));
    }
    json_array_append_new(
        json_object_get(tk, duplicate ? VG_REC_KEY_X_DNS_DUPLICATE_RESPONSES : VG_REC_KEY_QUERIES),
        e);
}

/* "IP:PORT", "[IPv6]:PORT" into out. */
static void
vg__rec_endpoint(const char *ip, unsigned port, char *out, size_t cap)
{
    snprintf(out, cap, strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip, port);
}

void
vg_rec_add_tcp_connect(json_t *tk, const struct vg_rec_event *ev, const char *ip, unsigned port,
                       int failure)
{
    char addr[80];

    vg__rec_endpoint(ip, port, addr, sizeof(addr));
    /* df-008-netevents: the connect as a network event too. */
    json_array_append_new(json_object_get(tk, VG_REC_KEY_NETWORK_EVENTS),
                          json_pack("{s:s, s:o, s:s, s:s, s:f, s:f, s:o, s:i}", VG_REC_KEY_ADDRESS,
                                    addr, VG_REC_KEY_FAILURE, vg__rec_jfailure(failure),
                                    VG_REC_KEY_OPERATION, "connect", VG_REC_KEY_PROTO, "tcp",
                                    VG_REC_KEY_T0, ev->t0, VG_REC_KEY_T, ev->t, VG_REC_KEY_TAGS,
                                    vg__rec_tags(ev->depth), VG_REC_KEY_TRANSACTION_ID, ev->tid));
    json_array_append_new(
        json_object_get(tk, VG_REC_KEY_TCP_CONNECT),
        json_pack("{s:s, s:i, s:{s:b, s:o, s:n}, s:f, s:f, s:o, s:i}", VG_REC_KEY_IP, ip,
                  VG_REC_KEY_PORT, (int)port, VG_REC_KEY_STATUS, VG_REC_KEY_SUCCESS, failure == 0,
                  VG_REC_KEY_FAILURE, vg__rec_jfailure(failure), VG_REC_KEY_BLOCKED, VG_REC_KEY_T0,
                  ev->t0, VG_REC_KEY_T, ev->t, VG_REC_KEY_TAGS, vg__rec_tags(ev->depth),
                  VG_REC_KEY_TRANSACTION_ID, ev->tid));
}

/* vigie's summary of one certificate (x_certificates, x_verified_chain). */
static json_t *
vg__rec_cert_summary(const struct vg_cert *c)
{
    return json_pack(
        "{s:o, s:o, s:s, s:s, s:s, s:s, s:b}", VG_REC_KEY_SUBJECT,
        vg__rec_jpeer((const uint8_t *)c->subject, strlen(c->subject)), VG_REC_KEY_ISSUER,
        vg__rec_jpeer((const uint8_t *)c->issuer, strlen(c->issuer)), VG_REC_KEY_NOT_BEFORE,
        c->not_before, VG_REC_KEY_NOT_AFTER, c->not_after, VG_REC_KEY_SHA256, c->sha256,
        VG_REC_KEY_SPKI_SHA256, c->spki_sha256, VG_REC_KEY_SELF_SIGNED, c->self_signed);
}

/* peer_certificates (the DER, base64) and vigie's x_certificates (a summary of each). */
static json_t *
vg__rec_certs(const struct vg_tls_info *ti, json_t **summaries)
{
    json_t *certs = json_array(), *sum = json_array();

    for (size_t i = 0; ti != NULL && i < ti->n_certs; i++) {
        const struct vg_cert *c = &ti->certs[i];

        if (c->der != NULL) {
            char *b64 = vg_base64(c->der, c->der_len);

            json_array_append_new(
                certs, json_pack("{s:s, s:s}", VG_REC_KEY_DATA, b64, VG_REC_KEY_FORMAT, "base64"));
            free(b64);
        }
        json_array_append_new(sum, vg__rec_cert_summary(c));
    }
    *summaries = sum;
    return certs;
}

void
vg_rec_add_tls_handshake(json_t *tk, const struct vg_rec_event *ev, const char *address,
                         const char *server_name, int handshake_failure,
                         const struct vg_tls_info *ti)
{
    json_t *sums, *certs = vg__rec_certs(ti, &sums), *verified = json_array(), *hs;

    hs = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:b, s:o, s:s, s:f, s:f, s:o, s:s, s:i, s:o, s:o, "
        "s:o}",
        VG_REC_KEY_NETWORK, "tcp", VG_REC_KEY_ADDRESS, address, VG_REC_KEY_CIPHER_SUITE,
        ti != NULL ? ti->cipher : "", VG_REC_KEY_FAILURE,
        vg__rec_jfailure(ti != NULL ? ti->verify_err : handshake_failure),
        VG_REC_KEY_NEGOTIATED_PROTOCOL, ti != NULL ? ti->alpn : "", VG_REC_KEY_NO_TLS_VERIFY, 0,
        VG_REC_KEY_PEER_CERTIFICATES, certs, VG_REC_KEY_SERVER_NAME, server_name, VG_REC_KEY_T0,
        ev->t0, VG_REC_KEY_T, ev->t, VG_REC_KEY_TAGS, vg__rec_tags(ev->depth),
        VG_REC_KEY_TLS_VERSION, ti != NULL ? ti->version : "", VG_REC_KEY_TRANSACTION_ID, ev->tid,
        VG_REC_KEY_X_CERTIFICATES, sums, VG_REC_KEY_X_HANDSHAKE_FAILURE,
        vg__rec_jfailure(handshake_failure), VG_REC_KEY_X_VERIFY_REASON,
        ti != NULL && ti->verify_err != 0 ? json_string(ti->verify_reason) : json_null());
    /* The chain as validated, up to the trust anchor ([] when it did not validate). */
    for (size_t i = 0; ti != NULL && i < ti->n_verified; i++) {
        json_array_append_new(verified, vg__rec_cert_summary(&ti->verified[i]));
    }
    json_object_set_new(hs, VG_REC_KEY_X_VERIFIED_CHAIN, verified);
    json_array_append_new(json_object_get(tk, VG_REC_KEY_TLS_HANDSHAKES), hs);
}

/* The request as sent: GET url with the browser headers, no body, not over Tor. */
static json_t *
vg__rec_http_request(const char *url)
{
    json_t *hdrs = json_object(), *hlist = json_array();

    json_object_set_new(hdrs, VG_REC_HDR_ACCEPT, json_string(VG_REC_ACCEPT));
    json_object_set_new(hdrs, VG_REC_HDR_ACCEPT_LANGUAGE, json_string(VG_REC_ACCEPT_LANGUAGE));
    json_object_set_new(hdrs, VG_REC_HDR_USER_AGENT, json_string(VG_REC_USER_AGENT));
    json_array_append_new(hlist, json_pack("[ss]", VG_REC_HDR_ACCEPT, VG_REC_ACCEPT));
    json_array_append_new(hlist,
                          json_pack("[ss]", VG_REC_HDR_ACCEPT_LANGUAGE, VG_REC_ACCEPT_LANGUAGE));
    json_array_append_new(hlist, json_pack("[ss]", VG_REC_HDR_USER_AGENT, VG_REC_USER_AGENT));
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:b, s:{s:n, s:n, s:b}, s:s}", VG_REC_KEY_URL, url,
                     VG_REC_KEY_METHOD, "GET", VG_REC_KEY_HEADERS, hdrs, VG_REC_KEY_HEADERS_LIST,
                     hlist, VG_REC_KEY_BODY, "", VG_REC_KEY_BODY_IS_TRUNCATED, 0, VG_REC_KEY_TOR,
                     VG_REC_KEY_EXIT_IP, VG_REC_KEY_EXIT_NAME, VG_REC_KEY_IS_TOR, 0,
                     VG_REC_KEY_X_TRANSPORT, "tcp");
}

/* headers (the first value of each name) and headers_list (every line, in order). */
static json_t *
vg__rec_http_headers(const struct vg_http_head *h, const uint8_t *p, json_t **list_out)
{
    json_t *obj = json_object(), *list = json_array();

    for (size_t i = 0; i < h->n_fields; i++) {
        const struct vg_http_field *fl = &h->fields[i];
        json_t *name = vg__rec_jpeer(p + fl->name.off, fl->name.len);
        json_t *val = vg__rec_jpeer(p + fl->value.off, fl->value.len);

        if (json_object_get(obj, json_string_value(name)) == NULL) {
            json_object_set(obj, json_string_value(name), val);
        }
        json_array_append_new(list, json_pack("[oo]", name, val));
    }
    *list_out = list;
    return obj;
}

/* The response: the body as a string when it is UTF-8 without NUL, else base64. */
static json_t *
vg__rec_http_response(const struct vg_rec_response *r)
{
    json_t *resp, *rlist, *rh, *body;

    if (r == NULL || r->head == NULL) {
        /* df-001-httpt has no null Response: OONI's empty one, code 0. */
        return json_pack("{s:i, s:o, s:o, s:s, s:b}", VG_REC_KEY_CODE, 0, VG_REC_KEY_HEADERS,
                         json_object(), VG_REC_KEY_HEADERS_LIST, json_array(), VG_REC_KEY_BODY, "",
                         VG_REC_KEY_BODY_IS_TRUNCATED, 0);
    }
    rh = vg__rec_http_headers(r->head, r->head_bytes, &rlist);
    if (vg_utf8_valid(r->body, r->body_len) && memchr(r->body, 0, r->body_len) == NULL) {
        body = json_stringn((const char *)r->body, r->body_len);
    } else {
        char *b64 = vg_base64(r->body, r->body_len);

        body = json_pack("{s:s, s:s}", VG_REC_KEY_FORMAT, "base64", VG_REC_KEY_DATA, b64);
        free(b64);
    }
    if (body == NULL) {
        body = json_string("");
    }
    resp = json_pack("{s:i, s:o, s:o, s:o, s:b, s:I}", VG_REC_KEY_CODE, r->head->status,
                     VG_REC_KEY_HEADERS, rh, VG_REC_KEY_HEADERS_LIST, rlist, VG_REC_KEY_BODY, body,
                     VG_REC_KEY_BODY_IS_TRUNCATED, r->truncated, VG_REC_KEY_X_BODY_LENGTH,
                     (json_int_t)(r->body_total > r->body_len ? r->body_total : r->body_len));
    json_object_set_new(resp, VG_REC_KEY_X_BODY_SHA256, json_string(r->body_sha256));
    json_object_set_new(resp, VG_REC_KEY_X_TITLE,
                        r->title_len > 0 ? vg__rec_jpeer((const uint8_t *)r->title, r->title_len)
                                         : json_null());
    return resp;
}

void
vg_rec_add_request(json_t *tk, const struct vg_rec_event *ev, const char *address, const char *alpn,
                   const char *url, int failure, const struct vg_rec_response *resp)
{
    json_t *req = vg__rec_http_request(url);

    json_array_insert_new(
        json_object_get(tk, VG_REC_KEY_REQUESTS), 0,
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:f, s:o, s:i}", VG_REC_KEY_NETWORK, "tcp",
                  VG_REC_KEY_ADDRESS, address, VG_REC_KEY_ALPN, alpn, VG_REC_KEY_FAILURE,
                  vg__rec_jfailure(failure), VG_REC_KEY_REQUEST, req, VG_REC_KEY_RESPONSE,
                  vg__rec_http_response(resp), VG_REC_KEY_T0, ev->t0, VG_REC_KEY_T, ev->t,
                  VG_REC_KEY_TAGS, vg__rec_tags(ev->depth), VG_REC_KEY_TRANSACTION_ID, ev->tid));
}

void
vg_rec_add_request_unsent(json_t *tk, const struct vg_rec_event *ev, const char *url, int failure)
{
    /* Complete Request and Response objects (df-001-httpt): the request that would have been
     * sent, and OONI's empty response. */
    json_array_insert_new(json_object_get(tk, VG_REC_KEY_REQUESTS), 0,
                          json_pack("{s:s, s:s, s:o, s:o, s:o, s:f, s:f, s:o}", VG_REC_KEY_NETWORK,
                                    "tcp", VG_REC_KEY_ADDRESS, "", VG_REC_KEY_FAILURE,
                                    vg__rec_jfailure(failure), VG_REC_KEY_REQUEST,
                                    vg__rec_http_request(url), VG_REC_KEY_RESPONSE,
                                    vg__rec_http_response(NULL), VG_REC_KEY_T0, ev->t0,
                                    VG_REC_KEY_T, ev->t, VG_REC_KEY_TAGS, vg__rec_tags(ev->depth)));
}

void
vg_rec_set_request_failure(json_t *tk, int failure)
{
    json_object_set_new(json_array_get(json_object_get(tk, VG_REC_KEY_REQUESTS), 0),
                        VG_REC_KEY_FAILURE, vg__rec_jfailure(failure));
}

/* v as json_loadb reads its text: integers (no fraction, no exponent) as json_integer, other
 * numbers as json_real of their strtod, members in document order; NULL where json_loadb fails. */
static json_t *
vg__rec_from_tree(const struct vg_json *v)
{
    json_t *out = NULL;
    int64_t i;
    double d;

    switch (v->type) {
    case VG_JSON_NULL:
        return json_null();
    case VG_JSON_BOOL:
        return json_boolean(v->b);
    case VG_JSON_NUMBER:
        if (memchr(v->s, '.', v->len) == NULL && memchr(v->s, 'e', v->len) == NULL &&
            memchr(v->s, 'E', v->len) == NULL) {
            return vg_json_int(v, &i) ? json_integer((json_int_t)i) : NULL;
        }
        return vg_json_num(v, &d) ? json_real(d) : NULL;
    case VG_JSON_STRING:
        /* UTF-8 checked by vg_json_parse, no NUL (vg_json_strict) */
        return json_stringn_nocheck(v->s, v->len);
    case VG_JSON_ARRAY:
        out = json_array();
        for (const struct vg_json *c = vg_json_first(v); c != NULL && out != NULL; c = c->next) {
            if (json_array_append_new(out, vg__rec_from_tree(c)) < 0) {
                json_decref(out);
                out = NULL;
            }
        }
        return out;
    case VG_JSON_OBJECT:
        out = json_object();
        for (const struct vg_json *c = vg_json_first(v); c != NULL && out != NULL; c = c->next) {
            /* jansson 2.13 (the oldest the build accepts) has no setn: the tree's names end
             * in a NUL, and one with a NUL inside is refused, as json_loadb refuses it */
            if (memchr(c->key, '\0', c->key_len) != NULL ||
                json_object_set_new_nocheck(out, c->key, vg__rec_from_tree(c)) < 0) {
                json_decref(out);
                out = NULL;
            }
        }
        return out;
    }
    return NULL;
}

json_t *
vg_rec_control_json(const struct vg_json *root)
{
    json_t *c = root != NULL ? vg__rec_from_tree(root) : NULL;

    json_object_del(c, VG_REC_KEY_X_CLIENT_ADDR);
    return c;
}

void
vg_rec_set_control(json_t *m, json_t *control, json_t *request, const char *helper,
                   const char *failure, double runtime)
{
    json_t *tk = vg_rec_test_keys(m);

    json_object_set(tk, VG_REC_KEY_CONTROL, control != NULL ? control : json_null());
    json_object_set(tk, VG_REC_KEY_X_CONTROL_REQUEST, request);
    json_object_set_new(tk, VG_REC_KEY_CONTROL_FAILURE,
                        helper == NULL ? json_string(failure) : json_null());
    json_object_set_new(tk, VG_REC_KEY_X_TH_RUNTIME, json_real(runtime));
    if (helper != NULL) {
        json_object_set_new(m, VG_REC_KEY_TEST_HELPERS,
                            json_pack("{s:{s:s, s:s}}", VG_REC_KEY_BACKEND, VG_REC_KEY_ADDRESS,
                                      helper, VG_REC_KEY_TYPE,
                                      strncmp(helper, "https:", 6) == 0 ? "https" : "http"));
    }
}

static json_t *
vg__rec_consistency(int v)
{
    return v < 0 ? json_null() : json_string(v > 0 ? "consistent" : "inconsistent");
}

void
vg_rec_set_ooni(json_t *tk, const struct vg_decision *d, bool with_control)
{
    const struct vg_ooni_keys *k = &d->ooni;
    const char *blocking = vg_blocking_json(d->blocking);

    json_object_set_new(tk, VG_REC_KEY_BLOCKING,
                        blocking == NULL                   ? json_null()
                        : d->blocking == VG_BLOCKING_FALSE ? json_false()
                                                           : json_string(blocking));
    json_object_set_new(tk, VG_REC_KEY_ACCESSIBLE, vg__rec_jtristate(d->accessible));
    if (!with_control) {
        return;
    }
    json_object_set_new(tk, VG_REC_KEY_DNS_CONSISTENCY, vg__rec_consistency(k->dns_consistency));
    json_object_set_new(tk, VG_REC_KEY_BODY_PROPORTION,
                        k->body_proportion < 0 ? json_null() : json_real(k->body_proportion));
    json_object_set_new(tk, VG_REC_KEY_BODY_LENGTH_MATCH, vg__rec_jtristate(k->body_length_match));
    json_object_set_new(tk, VG_REC_KEY_STATUS_CODE_MATCH, vg__rec_jtristate(k->status_code_match));
    json_object_set_new(tk, VG_REC_KEY_HEADERS_MATCH, vg__rec_jtristate(k->headers_match));
    json_object_set_new(tk, VG_REC_KEY_TITLE_MATCH, vg__rec_jtristate(k->title_match));
    json_object_set_new(tk, VG_REC_KEY_X_DNS_CONSISTENCY,
                        vg__rec_consistency(k->x_dns_consistency));
}

/* Whether the entry e (address, tags ["depth=N"]) is of an endpoint of the system resolver's
 * addresses in o (an unsent request, address "", is the classic web step's). */
static bool
vg__rec_is_classic(const struct vg_obs *o, const char *address, json_t *tags)
{
    const char *dt = json_string_value(json_array_get(tags, json_array_size(tags) - 1));
    int depth = -1;

    if (address == NULL || dt == NULL || sscanf(dt, "depth=%d", &depth) != 1) {
        return false;
    }
    if (address[0] == '\0') {
        return true;
    }
    for (size_t i = 0; i < o->n_ep; i++) {
        if (!o->ep[i].from_udp_only && o->ep[i].depth == depth &&
            strcmp(o->ep[i].addr, address) == 0) {
            return true;
        }
    }
    return false;
}

/* "classic" first in the tags of the entries of list (key: the entry's address key; ip: the
 * tcp_connect entry's ip and port) whose endpoint the classic algorithm measured (ts-017). */
static void
vg__rec_tag_classic(json_t *list, const char *key, const struct vg_obs *o)
{
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e)
    {
        json_t *tags = json_object_get(e, VG_REC_KEY_TAGS);
        const char *address = json_string_value(json_object_get(e, key));
        char ep[80];

        if (address != NULL && strcmp(key, VG_REC_KEY_IP) == 0) {
            vg__rec_endpoint(address,
                             (unsigned)json_integer_value(json_object_get(e, VG_REC_KEY_PORT)), ep,
                             sizeof(ep));
            address = ep;
        }
        if (json_is_array(tags) && vg__rec_is_classic(o, address, tags)) {
            json_array_insert_new(tags, 0, json_string(VG__REC_CLASSIC));
        }
    }
}

void
vg_rec_set_endpoints(json_t *tk, const struct vg_obs *o)
{
    json_t *list = json_array(), *affected = json_array();

    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];
        int failure;
        enum vg_verdict verdict = vg_verdict_endpoint(e, &failure);

        json_array_append_new(list, json_pack("{s:s, s:i, s:s, s:o}", VG_REC_KEY_ADDRESS, e->addr,
                                              VG_REC_KEY_DEPTH, e->depth, VG_REC_KEY_VERDICT,
                                              vg_verdict_name(verdict), VG_REC_KEY_FAILURE,
                                              vg__rec_jfailure(failure)));
        if (verdict == VG_VERDICT_INTERCEPTED || verdict == VG_VERDICT_BLOCKED) {
            json_array_append_new(affected, json_string(e->addr));
        }
    }
    json_object_set_new(tk, VG_REC_KEY_X_ENDPOINTS, list);
    json_object_set_new(tk, VG_REC_KEY_X_AFFECTED_ADDRESSES, affected);
    /* Known now: an address the UDP resolver gave first may have come from the system's too. */
    vg__rec_tag_classic(json_object_get(tk, VG_REC_KEY_NETWORK_EVENTS), VG_REC_KEY_ADDRESS, o);
    vg__rec_tag_classic(json_object_get(tk, VG_REC_KEY_TCP_CONNECT), VG_REC_KEY_IP, o);
    vg__rec_tag_classic(json_object_get(tk, VG_REC_KEY_TLS_HANDSHAKES), VG_REC_KEY_ADDRESS, o);
    vg__rec_tag_classic(json_object_get(tk, VG_REC_KEY_REQUESTS), VG_REC_KEY_ADDRESS, o);
}

void
vg_rec_set_verdict(json_t *tk, const struct vg_decision *d)
{
    json_object_set_new(tk, VG_REC_KEY_X_VERDICT, json_string(vg_verdict_name(d->verdict)));
    json_object_set_new(tk, VG_REC_KEY_X_CAUSE,
                        d->cause[0] != '\0' ? json_string(d->cause) : json_null());
    json_object_set_new(tk, VG_REC_KEY_X_EVIDENCE,
                        vg__rec_jpeer((const uint8_t *)d->evidence, strlen(d->evidence)));
}

void
vg_rec_set_experiment_failures(json_t *tk, int http_failure, int dns_failure)
{
    json_object_set_new(tk, VG_REC_KEY_HTTP_EXPERIMENT_FAILURE,
                        http_failure != 0 ? vg__rec_jfailure(http_failure) : json_null());
    json_object_set_new(tk, VG_REC_KEY_DNS_EXPERIMENT_FAILURE,
                        dns_failure != 0 ? vg__rec_jfailure(dns_failure) : json_null());
}
