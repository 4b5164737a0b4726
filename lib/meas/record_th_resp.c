/* SPDX-License-Identifier: MIT */
/*
 * record_th_resp.c - the THResponse written from the helper's engine measurement (record_th.h),
 * the way oohelperd builds it from its own steps (internal/oohelperd/{measure,dns,tcptls,http,
 * ipinfo}.go), plus vigie's x_ extensions. The measurement is the helper's own (trusted), but a
 * value of the wrong type is skipped, never trusted.
 */
#include <stdio.h>
#include <string.h>

#include "meas/record_keys.h"
#include "meas/record_th.h"
#include "proto/ipaddr.h"
#include "util/str.h"

/* ---- legacy failure strings ------------------------------------------------------------------ */

static bool
vg__th_is(const char *failure, const char *const *set)
{
    for (; *set != NULL; set++) {
        if (strcmp(failure, *set) == 0) {
            return true;
        }
    }
    return false;
}

/* The engine's DNS failures that netxlite reports as resolver errors (not NXDOMAIN). */
static const char *const vg__th_dns_server_errors[] = {
    "dns_non_recoverable_failure", "dns_refused_error",  "dns_server_misbehaving",
    "dns_temporary_failure",       "dns_servfail_error", NULL,
};

/* oohelperd dnsMapFailure */
const char *
vg_rec_th_dns_failure(const char *failure)
{
    if (failure == NULL || strcmp(failure, "dns_no_answer") == 0) {
        return NULL; /* the legacy helper gave an empty answer without error */
    }
    if (strcmp(failure, "dns_nxdomain_error") == 0) {
        return "dns_name_error";
    }
    if (vg__th_is(failure, vg__th_dns_server_errors)) {
        return "dns_server_failure";
    }
    return "unknown_error";
}

/* oohelperd tcpMapFailure */
const char *
vg_rec_th_tcp_failure(const char *failure)
{
    if (failure == NULL) {
        return NULL;
    }
    if (strcmp(failure, "generic_timeout_error") == 0) {
        return "generic_timeout_error";
    }
    if (strcmp(failure, "connection_refused") == 0) {
        return "connection_refused_error";
    }
    return "connect_error";
}

/* oohelperd httpMapFailure; during_dns: the failure happened while resolving the host. */
const char *
vg_rec_th_http_failure(const char *failure, bool during_dns)
{
    if (failure == NULL) {
        return NULL;
    }
    if (strcmp(failure, "dns_nxdomain_error") == 0 || strcmp(failure, "dns_no_answer") == 0 ||
        vg__th_is(failure, vg__th_dns_server_errors)) {
        return "dns_lookup_error";
    }
    if (strcmp(failure, "generic_timeout_error") == 0) {
        return during_dns ? "dns_lookup_error" : "generic_timeout_error";
    }
    if (strcmp(failure, "connection_refused") == 0) {
        return "connection_refused_error";
    }
    return "unknown_error";
}

/* ---- measurement access ---------------------------------------------------------------------- */

static const char *
vg__th_get(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_t *
vg__th_jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* The "depth=N" tag of a step, or NULL when it has none. */
static const char *
vg__th_depth_tag(json_t *step)
{
    json_t *tags = json_object_get(step, VG_REC_KEY_TAGS), *t;
    size_t i;

    json_array_foreach(tags, i, t)
    {
        const char *s = json_string_value(t);

        if (s != NULL && strncmp(s, "depth=", 6) == 0) {
            return s;
        }
    }
    return NULL;
}

/* Steps of the first hop (the URL itself, before any redirect); untagged steps count as such. */
static bool
vg__th_first_hop(json_t *step)
{
    const char *t = vg__th_depth_tag(step);

    return t == NULL || strcmp(t, "depth=0") == 0;
}

static json_t *
vg__th_array(json_t *tk, const char *key)
{
    json_t *a = json_object_get(tk, key);

    return json_is_array(a) ? a : NULL;
}

/* "IP" of an "IP:PORT" / "[IP6]:PORT" address, into out ("" when malformed). */
static void
vg__th_addr_ip(const char *addr, char out[INET6_ADDRSTRLEN])
{
    if (!vg_ip_from_endpoint(addr, out, INET6_ADDRSTRLEN)) {
        out[0] = '\0';
    }
}

/* PORT of an "IP:PORT" / "[IP6]:PORT" address, or -1. */
static json_int_t
vg__th_addr_port(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    uint64_t v;

    if (colon == NULL || vg_parse_u64(colon + 1, 0, 65535, &v) < 0) {
        return -1;
    }
    return (json_int_t)v;
}

static void
vg__th_add_addr(json_t *addrs, const char *ip)
{
    size_t i;
    json_t *a;

    json_array_foreach(addrs, i, a)
    {
        if (strcmp(json_string_value(a), ip) == 0) {
            return;
        }
    }
    json_array_append_new(addrs, json_string(ip));
}

/* True when port is one oohelperd measures for the URL (the engine may try more). */
static bool
vg__th_planned_port(const struct vg_rec_threq *r, json_int_t port)
{
    uint16_t ports[2];
    size_t n = vg_rec_threq_ports(r, ports);

    for (size_t i = 0; i < n; i++) {
        if (ports[i] == port) {
            return true;
        }
    }
    return false;
}

/* ---- sections -------------------------------------------------------------------------------- */

/*
 * dns: the addresses the engine's resolvers returned for the URL's host (system resolver, and
 * DNS over UDP with --resolver). oohelperd does no DNS for an IP literal and answers an empty
 * list.
 */
static json_t *
vg__th_resp_dns(json_t *queries, const struct vg_rec_threq *r)
{
    json_t *addrs = json_array(), *q;
    const char *sys_failure = NULL, *udp_failure = NULL;
    bool have_sys = false, have_udp = false;
    size_t i;

    if (r->host_family == 0) {
        json_array_foreach(queries, i, q)
        {
            const char *engine = vg__th_get(q, VG_REC_KEY_ENGINE);
            json_t *answers = json_object_get(q, VG_REC_KEY_ANSWERS), *a;
            size_t j;

            if (!vg__th_first_hop(q) || engine == NULL) {
                continue;
            }
            if (strcmp(engine, "getaddrinfo") == 0 && !have_sys) {
                have_sys = true;
                sys_failure = vg__th_get(q, VG_REC_KEY_FAILURE);
            } else if (strcmp(engine, "getaddrinfo") != 0 && !have_udp) {
                have_udp = true;
                udp_failure = vg__th_get(q, VG_REC_KEY_FAILURE);
            }
            json_array_foreach(answers, j, a)
            {
                const char *ip = vg__th_get(a, VG_REC_KEY_IPV4);

                if (ip == NULL) {
                    ip = vg__th_get(a, VG_REC_KEY_IPV6);
                }
                if (ip != NULL) {
                    vg__th_add_addr(addrs, ip);
                }
            }
        }
    }
    return json_pack("{s:o, s:o}", VG_REC_KEY_FAILURE,
                     json_array_size(addrs) > 0
                         ? json_null()
                         : vg__th_jstr(vg_rec_th_dns_failure(have_sys ? sys_failure : udp_failure)),
                     VG_REC_KEY_ADDRS, addrs);
}

static void
vg__th_ipinfo_add(json_t *ipinfo, const char *ip, json_int_t flag,
                  const struct vg_rec_thresp_opts *o)
{
    json_t *e = json_object_get(ipinfo, ip);

    if (e == NULL) {
        json_int_t flags = flag | (vg_ip_is_bogon_lab(ip, o->doc_public) ? 4 : 0);

        json_object_set_new(ipinfo, ip,
                            json_pack("{s:i, s:I}", VG_REC_KEY_ASN, 0, VG_REC_KEY_FLAGS, flags));
        return;
    }
    json_object_set_new(
        e, VG_REC_KEY_FLAGS,
        json_integer(json_integer_value(json_object_get(e, VG_REC_KEY_FLAGS)) | flag));
}

/* Every address measured is in ip_info, as oohelperd measures only ip_info's addresses: the IP
 * literal of the URL, which the engine measures even when the probe did not list it, gets the
 * flags of neither resolver (0, with 4 for a bogon). */
static void
vg__th_ipinfo_measured(json_t *ipinfo, json_t *tcp, const struct vg_rec_thresp_opts *o)
{
    const char *key;
    json_t *v;

    json_object_foreach(tcp, key, v)
    {
        char ip[INET6_ADDRSTRLEN];

        (void)v;
        vg__th_addr_ip(key, ip);
        if (ip[0] != '\0' && json_object_get(ipinfo, ip) == NULL) {
            vg__th_ipinfo_add(ipinfo, ip, 0, o);
        }
    }
}

static json_t *
vg__th_resp_tcp(json_t *tcp, const struct vg_rec_threq *r, const struct vg_rec_thresp_opts *o)
{
    json_t *out = json_object(), *c;
    size_t i;

    json_array_foreach(tcp, i, c)
    {
        const char *ip = vg__th_get(c, VG_REC_KEY_IP);
        json_t *port = json_object_get(c, VG_REC_KEY_PORT),
               *st = json_object_get(c, VG_REC_KEY_STATUS);
        const char *failure = vg__th_get(st, VG_REC_KEY_FAILURE);
        char key[INET6_ADDRSTRLEN + 8];

        if (!vg__th_first_hop(c) || ip == NULL || !json_is_integer(port) || strlen(ip) >= 48 ||
            !vg__th_planned_port(r, json_integer_value(port))) {
            continue;
        }
        if (o->skip_bogons && vg_ip_is_bogon_lab(ip, o->doc_public)) {
            continue;
        }
        snprintf(key, sizeof(key), strchr(ip, ':') != NULL ? "[%s]:%lld" : "%s:%lld", ip,
                 (long long)json_integer_value(port));
        if (json_object_get(out, key) != NULL) {
            continue;
        }
        json_object_set_new(out, key,
                            json_pack("{s:b, s:o}", VG_REC_KEY_STATUS, failure == NULL,
                                      VG_REC_KEY_FAILURE,
                                      vg__th_jstr(vg_rec_th_tcp_failure(failure))));
    }
    return out;
}

static json_t *
vg__th_resp_chain(json_t *certs)
{
    json_t *out = json_array(), *c;
    size_t i;

    json_array_foreach(certs, i, c)
    {
        const char *sha = vg__th_get(c, VG_REC_KEY_SHA256),
                   *spki = vg__th_get(c, VG_REC_KEY_SPKI_SHA256);
        const char *subject = vg__th_get(c, VG_REC_KEY_SUBJECT),
                   *issuer = vg__th_get(c, VG_REC_KEY_ISSUER);

        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", VG_REC_KEY_SHA256,
                                             sha != NULL ? sha : "", VG_REC_KEY_SPKI_SHA256,
                                             spki != NULL ? spki : "", VG_REC_KEY_SUBJECT,
                                             subject != NULL ? subject : "", VG_REC_KEY_ISSUER,
                                             issuer != NULL ? issuer : ""));
    }
    return out;
}

/* The chain x_chain reports: the one the engine validated, up to its trust anchor, when the
 * handshake's certificate validated (a server that sends its leaf alone then still shows its CA
 * keys); else the chain as served. */
static json_t *
vg__th_chain_of(json_t *h)
{
    json_t *verified = json_object_get(h, VG_REC_KEY_X_VERIFIED_CHAIN);

    return json_array_size(verified) > 0 ? verified : json_object_get(h, VG_REC_KEY_X_CERTIFICATES);
}

static json_t *
vg__th_resp_tls(json_t *tls, const struct vg_rec_threq *r, const struct vg_rec_thresp_opts *o,
                json_t *ipinfo)
{
    json_t *out = json_object(), *h;
    size_t i;

    json_array_foreach(tls, i, h)
    {
        const char *addr = vg__th_get(h, VG_REC_KEY_ADDRESS),
                   *sni = vg__th_get(h, VG_REC_KEY_SERVER_NAME);
        const char *failure = vg__th_get(h, VG_REC_KEY_FAILURE),
                   *hs = vg__th_get(h, VG_REC_KEY_X_HANDSHAKE_FAILURE);
        const char *version = vg__th_get(h, VG_REC_KEY_TLS_VERSION),
                   *suite = vg__th_get(h, VG_REC_KEY_CIPHER_SUITE);
        char ip[INET6_ADDRSTRLEN];
        json_t *e, *info;

        if (!vg__th_first_hop(h) || addr == NULL || json_object_get(out, addr) != NULL) {
            continue;
        }
        vg__th_addr_ip(addr, ip);
        /* oohelperd handshakes on port 443 only, unless vigie's probe asks (x_tls_any_port) */
        if ((o->skip_bogons && vg_ip_is_bogon_lab(ip, o->doc_public)) ||
            !vg__th_planned_port(r, vg__th_addr_port(addr)) ||
            !vg_rec_threq_tls_port(r, vg__th_addr_port(addr))) {
            continue;
        }
        e = json_pack(
            "{s:s, s:b, s:o, s:b, s:s, s:s, s:o}", VG_REC_KEY_SERVER_NAME, sni != NULL ? sni : "",
            VG_REC_KEY_STATUS, failure == NULL, VG_REC_KEY_FAILURE, vg__th_jstr(failure),
            VG_REC_KEY_X_VALID, failure == NULL && hs == NULL, VG_REC_KEY_X_TLS_VERSION,
            version != NULL ? version : "", VG_REC_KEY_X_CIPHER_SUITE, suite != NULL ? suite : "",
            VG_REC_KEY_X_CHAIN, vg__th_resp_chain(vg__th_chain_of(h)));
        json_object_set_new(out, addr, e);
        /* oohelperd: flag 8 when a handshake with the URL's name succeeded on this address */
        info = json_object_get(ipinfo, ip);
        if (failure == NULL && info != NULL) {
            json_object_set_new(
                info, VG_REC_KEY_FLAGS,
                json_integer(json_integer_value(json_object_get(info, VG_REC_KEY_FLAGS)) | 8));
        }
    }
    return out;
}

/* True when step's depth tag equals tag (both absent counts as equal). */
static bool
vg__th_same_depth(json_t *step, const char *tag)
{
    const char *t = vg__th_depth_tag(step);

    if (t == NULL || tag == NULL) {
        return t == tag;
    }
    return strcmp(t, tag) == 0;
}

static json_t *
vg__th_resp_http(json_t *requests, json_t *queries)
{
    json_t *req = json_array_get(requests, 0), *resp, *code, *headers = json_object(), *hv;
    const char *failure, *addr, *title = NULL, *sha = NULL;
    json_int_t status = -1, length = -1;
    bool during_dns = false;

    if (req == NULL) {
        return json_pack("{s:i, s:s, s:s, s:s, s:o, s:i, s:s}", VG_REC_KEY_BODY_LENGTH, -1,
                         VG_REC_KEY_DISCOVERED_H3_ENDPOINT, "", VG_REC_KEY_FAILURE, "unknown_error",
                         VG_REC_KEY_TITLE, "", VG_REC_KEY_HEADERS, headers, VG_REC_KEY_STATUS_CODE,
                         -1, VG_REC_KEY_X_BODY_SHA256, "");
    }
    failure = vg__th_get(req, VG_REC_KEY_FAILURE);
    addr = vg__th_get(req, VG_REC_KEY_ADDRESS);
    resp = json_object_get(req, VG_REC_KEY_RESPONSE);
    code = json_object_get(resp, VG_REC_KEY_CODE);
    /*
     * Go's client returns no response when a redirect cannot be followed; a failure while the
     * body is read keeps the status, headers and what was read, as oohelperd reports them.
     */
    if (json_is_integer(code) && json_integer_value(code) > 0 &&
        !(failure != NULL && json_integer_value(code) >= 300 && json_integer_value(code) < 400)) {
        json_t *len = json_object_get(resp, VG_REC_KEY_X_BODY_LENGTH);
        const char *k;

        status = json_integer_value(code);
        length = json_is_integer(len) ? json_integer_value(len) : 0;
        title = vg__th_get(resp, VG_REC_KEY_X_TITLE);
        sha = vg__th_get(resp, VG_REC_KEY_X_BODY_SHA256);
        json_object_foreach(json_object_get(resp, VG_REC_KEY_HEADERS), k, hv)
        {
            if (json_is_string(hv)) {
                json_object_set(headers, k, hv);
            }
        }
    }
    if (failure != NULL && (addr == NULL || addr[0] == '\0')) {
        /* No endpoint carried the request: was it the resolver that timed out? */
        const char *tag = vg__th_depth_tag(req);
        json_t *q;
        size_t i;

        json_array_foreach(queries, i, q)
        {
            const char *qf = vg__th_get(q, VG_REC_KEY_FAILURE);

            if (vg__th_same_depth(q, tag) && qf != NULL &&
                strcmp(qf, "generic_timeout_error") == 0) {
                during_dns = true;
            }
        }
    }
    return json_pack("{s:I, s:s, s:o, s:s, s:o, s:I, s:s}", VG_REC_KEY_BODY_LENGTH, length,
                     VG_REC_KEY_DISCOVERED_H3_ENDPOINT, "", VG_REC_KEY_FAILURE,
                     vg__th_jstr(vg_rec_th_http_failure(failure, during_dns)), VG_REC_KEY_TITLE,
                     title != NULL ? title : "", VG_REC_KEY_HEADERS, headers,
                     VG_REC_KEY_STATUS_CODE, status, VG_REC_KEY_X_BODY_SHA256,
                     sha != NULL ? sha : "");
}

/* test_keys of a measurement, with the document that owns it in *root; NULL if malformed. */
static json_t *
vg__th_load(const char *meas, size_t len, json_t **root)
{
    json_t *tk;

    *root = json_loadb(meas, len, 0, NULL);
    tk = json_object_get(*root, VG_REC_KEY_TEST_KEYS);
    if (!json_is_object(tk)) {
        json_decref(*root);
        *root = NULL;
        return NULL;
    }
    return tk;
}

/* The THResponse from the engine's test_keys tk (and ptk, the page's: tk when not refetched). */
static int
vg__th_response(json_t *tk, json_t *ptk, const struct vg_rec_threq *r,
                const struct vg_rec_thresp_opts *o, char **out)
{
    json_t *queries, *dns, *ipinfo, *tcp, *tls, *http, *resp;
    size_t i;
    json_t *a;

    queries = vg__th_array(tk, VG_REC_KEY_QUERIES);
    dns = vg__th_resp_dns(queries, r);
    ipinfo = json_object();
    for (i = 0; i < r->n_ips; i++) {
        vg__th_ipinfo_add(ipinfo, r->ips[i], 1, o);
    }
    json_array_foreach(json_object_get(dns, VG_REC_KEY_ADDRS), i, a)
    {
        vg__th_ipinfo_add(ipinfo, json_string_value(a), 2, o);
    }
    tcp = vg__th_resp_tcp(vg__th_array(tk, VG_REC_KEY_TCP_CONNECT), r, o);
    vg__th_ipinfo_measured(ipinfo, tcp, o);
    tls = vg__th_resp_tls(vg__th_array(tk, VG_REC_KEY_TLS_HANDSHAKES), r, o, ipinfo);
    /* A tls:// or dns:// target fetches nothing: no http_request to report. */
    http = r->target != VG_REC_TH_WEB ? json_null()
                                      : vg__th_resp_http(vg__th_array(ptk, VG_REC_KEY_REQUESTS),
                                                         vg__th_array(ptk, VG_REC_KEY_QUERIES));
    resp =
        json_pack("{s:o, s:o, s:{}, s:o, s:n, s:o, s:o}", VG_REC_KEY_TCP_CONNECT, tcp,
                  VG_REC_KEY_TLS_HANDSHAKE, tls, VG_REC_KEY_QUIC_HANDSHAKE, VG_REC_KEY_HTTP_REQUEST,
                  http, VG_REC_KEY_HTTP3_REQUEST, VG_REC_KEY_DNS, dns, VG_REC_KEY_IP_INFO, ipinfo);
    if (resp == NULL) {
        return VG_EINTERNAL;
    }
    if (r->target != VG_REC_TH_WEB) {
        json_object_set_new(resp, VG_REC_KEY_X_TARGET, json_string(r->url));
    }
    if (o->client_addr != NULL) {
        json_object_set_new(resp, VG_REC_KEY_X_CLIENT_ADDR, json_string(o->client_addr));
    }
    *out = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(resp);
    return *out != NULL ? 0 : VG_EINTERNAL;
}

int
vg_rec_thresponse_from_measurement(const char *meas, size_t len, const char *page, size_t page_len,
                                   const struct vg_rec_threq *r, const struct vg_rec_thresp_opts *o,
                                   char **out)
{
    json_t *root, *proot = NULL, *tk, *ptk;
    int rc;

    *out = NULL;
    tk = vg__th_load(meas, len, &root);
    if (tk == NULL) {
        return VG_EPROTO;
    }
    ptk = tk;
    if (page != NULL && (ptk = vg__th_load(page, page_len, &proot)) == NULL) {
        json_decref(root);
        return VG_EPROTO;
    }
    rc = vg__th_response(tk, ptk, r, o, out);
    json_decref(root);
    json_decref(proot);
    return rc;
}

/* vg_rec_thresponse_fetched_probe_addr on the measurement's test_keys. */
static bool
vg__th_fetched_probe_addr(json_t *tk, const struct vg_rec_threq *r)
{
    json_t *req = NULL, *e, *q;
    const char *addr;
    char ip[INET6_ADDRSTRLEN];
    bool resolved = false;
    size_t i;

    if (r->host_family != 0 || r->n_ips == 0) {
        return false;
    }
    /* requests are ordered final first: the first hop's is the last one tagged depth=0 */
    json_array_foreach(vg__th_array(tk, VG_REC_KEY_REQUESTS), i, e)
    {
        if (vg__th_first_hop(e)) {
            req = e;
        }
    }
    addr = vg__th_get(req, VG_REC_KEY_ADDRESS);
    if (addr == NULL || addr[0] == '\0') {
        return false;
    }
    vg__th_addr_ip(addr, ip);
    json_array_foreach(vg__th_array(tk, VG_REC_KEY_QUERIES), i, q)
    {
        json_t *ans;
        size_t j;

        if (!vg__th_first_hop(q)) {
            continue;
        }
        json_array_foreach(json_object_get(q, VG_REC_KEY_ANSWERS), j, ans)
        {
            const char *a = vg__th_get(ans, VG_REC_KEY_IPV4) != NULL
                                ? vg__th_get(ans, VG_REC_KEY_IPV4)
                                : vg__th_get(ans, VG_REC_KEY_IPV6);

            resolved = resolved || (a != NULL && strcmp(a, ip) == 0);
        }
    }
    return !resolved;
}

bool
vg_rec_thresponse_fetched_probe_addr(const char *meas, size_t len, const struct vg_rec_threq *r)
{
    json_t *root, *tk;
    bool fetched;

    if (r->host_family != 0 || r->n_ips == 0 || (tk = vg__th_load(meas, len, &root)) == NULL) {
        return false;
    }
    fetched = vg__th_fetched_probe_addr(tk, r);
    json_decref(root);
    return fetched;
}

int
vg_rec_thresponse_or_refetch(const char *meas, size_t len, const struct vg_rec_threq *r,
                             const struct vg_rec_thresp_opts *o, bool *refetch, char **out)
{
    json_t *root, *tk;
    int rc = 0;

    *out = NULL;
    *refetch = false;
    tk = vg__th_load(meas, len, &root);
    if (tk == NULL) {
        return VG_EPROTO;
    }
    *refetch = vg__th_fetched_probe_addr(tk, r);
    if (!*refetch) {
        rc = vg__th_response(tk, tk, r, o, out);
    }
    json_decref(root);
    return rc;
}
