/* SPDX-License-Identifier: MIT */
/*
 * record_obs.c - a measurement from elsewhere (OONI's web_connectivity of every version, vigie's
 * own tests) read back into struct vg_obs for the verdict, and the analysis keys vigie adds to it
 * (record_obs.h). The control is read by record_th_read.c.
 *
 * How OONI's fields map to what the probe observes (docs/analyze.md):
 * - a step's redirect depth is its "depth=N" tag; untagged steps (test versions before 0.5) are
 *   the first hop, but for requests, which are listed final first: the i-th of n is at n-1-i;
 * - the hop's URL is its request's URL, or for a hop that sent no request the previous hop's
 *   Location resolved; only endpoints on the port of their hop's URL count (LTE also tries :443
 *   for an http:// URL, which the probe does not);
 * - the system resolver is every engine but "udp", "doh", "dot" and "tcp"; "udp" is the probe's
 *   --resolver (its replies, x_dns_duplicate_responses included, reveal injection);
 * - a TLS failure that is a certificate's (ssl_unknown_authority, ssl_invalid_hostname,
 *   ssl_invalid_certificate) is a handshake that completed with a certificate that does not
 *   validate, as the probe records it; vigie's x_handshake_failure, when present, says which.
 */
#include "meas/record_obs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record.h"
#include "meas/record_keys.h"
#include "meas/record_obs_impl.h"
#include "meas/record_th.h"
#include "meas/verdict.h"
#include "net/x509.h"
#include "proto/html.h"
#include "proto/ipaddr.h"
#include "proto/url.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

/* ---- failure strings ----------------------------------------------------------------------- */

/* Failure strings of older probes and helpers (df-007 "legacy") and their codes. */
static const struct {
    const char *failure;
    int code;
} vg__ro_legacy[] = {
    {"connection_refused_error", VG_ECONNREFUSED},
    {"dns_name_error", VG_EDNS_NXDOMAIN},
    {"android_dns_cache_no_data", VG_EDNS_NXDOMAIN},
    {"dns_server_failure", VG_EDNS_SERVFAIL},
    {"dns_lookup_error", VG_EDNS_MISBEHAVING},
    {"tcp_timed_out_error", VG_ETIMEDOUT},
    {"task_timed_out", VG_ETIMEDOUT},
    {"timed_out", VG_ETIMEDOUT},
    {"response_never_received", VG_ETIMEDOUT},
    {"connection_lost_error", VG_ECONNRESET},
    {"connection_done", VG_EEOF},
    {"http_invalid_redirect_url", VG_EHTTP_LOCATION},
};

/* The error code of an OONI failure string: 0 for none, VG_EPROTO for one vigie has no code for
 * (its reason is then "error"). */
int
vg__ro_failure(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    for (int code = VG_ERR__BASE + 1; code < VG_ERR__END; code++) {
        const char *f = vg_err_failure(code);

        if (f != NULL && strcmp(f, s) == 0) {
            return code;
        }
    }
    for (size_t i = 0; i < sizeof(vg__ro_legacy) / sizeof(vg__ro_legacy[0]); i++) {
        if (strcmp(vg__ro_legacy[i].failure, s) == 0) {
            return vg__ro_legacy[i].code;
        }
    }
    if (strncmp(s, "ssl_error:", 10) == 0) {
        /* Measurement Kit's OpenSSL errors */
        return strstr(s, "certificate verify failed") != NULL ? VG_ETLS_BAD_CERT
                                                              : VG_ETLS_HANDSHAKE;
    }
    return VG_EPROTO;
}

bool
vg__ro_cert_failure(int code)
{
    return code == VG_ETLS_UNKNOWN_CA || code == VG_ETLS_HOSTNAME || code == VG_ETLS_BAD_CERT;
}

/* ---- small readers ------------------------------------------------------------------------- */

const char *
vg__ro_str(const struct vg_json *o, const char *key)
{
    return vg_json_str(vg_json_get(o, key));
}

bool
vg__ro_is(const struct vg_json *v, enum vg_json_type t)
{
    return v != NULL && v->type == t;
}

/* The "depth=N" tag of a step, or dflt when it has none. */
int
vg__ro_depth(const struct vg_json *step, int dflt)
{
    for (const struct vg_json *t = vg_json_first(vg_json_get(step, VG_REC_KEY_TAGS)); t != NULL;
         t = t->next) {
        if (t->type == VG_JSON_STRING && strncmp(t->s, "depth=", 6) == 0) {
            char *end;
            long d = strtol(t->s + 6, &end, 10);

            if (end != t->s + 6 && *end == '\0' && d >= 0 && d < 1000) {
                return (int)d;
            }
        }
    }
    return dflt;
}

static int
vg__ro_err(char *err, size_t errlen, const char *what)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", what);
    }
    return VG_EPROTO;
}

/* ---- the envelope -------------------------------------------------------------------------- */

static const char *const vg__ro_analysis_keys[] = {
    VG_REC_KEY_X_VERDICT,
    VG_REC_KEY_X_CAUSE,
    VG_REC_KEY_X_EVIDENCE,
    VG_REC_KEY_X_ENDPOINTS,
    VG_REC_KEY_X_AFFECTED_ADDRESSES,
    VG_REC_KEY_X_ANALYZER,
};

bool
vg_rec_obs_is_analysis_key(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof(vg__ro_analysis_keys) / sizeof(vg__ro_analysis_keys[0]); i++) {
        if (strlen(vg__ro_analysis_keys[i]) == len &&
            memcmp(vg__ro_analysis_keys[i], key, len) == 0) {
            return true;
        }
    }
    return false;
}

/* A top-level string: NULL when missing or null; *bad when of another type. */
static const char *
vg__ro_top(const struct vg_json *root, const char *key, bool *bad)
{
    const struct vg_json *v = vg_json_get(root, key);

    if (v == NULL || v->type == VG_JSON_NULL) {
        return NULL;
    }
    if (v->type != VG_JSON_STRING) {
        *bad = true;
        return NULL;
    }
    return v->s;
}

static time_t
vg__ro_time(const char *s)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || (end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL || *end != '\0') {
        return 0;
    }
    return timegm(&tm);
}

int
vg_rec_obs_meta(const struct vg_json *root, struct vg_rec_meta *m, char *err, size_t errlen)
{
    const struct vg_json *v;
    bool bad = false, ignored = false;

    memset(m, 0, sizeof(*m));
    m->ooni_blocking = "";
    m->ooni_accessible = -1;
    if (!vg__ro_is(root, VG_JSON_OBJECT)) {
        return vg__ro_err(err, errlen, "not a JSON object");
    }
    m->test_name = vg__ro_top(root, VG_REC_KEY_TEST_NAME, &bad);
    m->start_time = vg__ro_top(root, VG_REC_KEY_MEASUREMENT_START_TIME, &bad);
    if (bad) {
        return vg__ro_err(err, errlen, "test_name or measurement_start_time is not a string");
    }
    m->probe_cc = vg__ro_top(root, VG_REC_KEY_PROBE_CC, &ignored);
    m->probe_asn = vg__ro_top(root, VG_REC_KEY_PROBE_ASN, &ignored);
    m->software_name = vg__ro_top(root, VG_REC_KEY_SOFTWARE_NAME, &ignored);
    m->start = vg__ro_time(m->start_time);
    v = vg_json_get(root, VG_REC_KEY_INPUT);
    if (vg__ro_is(v, VG_JSON_ARRAY)) {
        v = vg_json_first(v); /* OONI's "input" as a list: the first */
    }
    if (v != NULL && v->type != VG_JSON_NULL && v->type != VG_JSON_STRING) {
        return vg__ro_err(err, errlen, "input is not a string");
    }
    m->input = vg_json_str(v);
    v = vg_json_get(root, VG_REC_KEY_TEST_KEYS);
    if (v != NULL && v->type != VG_JSON_NULL && v->type != VG_JSON_OBJECT) {
        return vg__ro_err(err, errlen, "test_keys is not an object");
    }
    m->test_keys = vg__ro_is(v, VG_JSON_OBJECT) ? v : NULL;
    for (v = vg_json_first(m->test_keys); v != NULL; v = v->next) {
        m->has_analysis_keys =
            m->has_analysis_keys || vg_rec_obs_is_analysis_key(v->key, v->key_len);
    }
    v = vg_json_get(m->test_keys, VG_REC_KEY_BLOCKING);
    if (vg__ro_is(v, VG_JSON_STRING)) {
        m->ooni_blocking = v->s;
    } else if (vg__ro_is(v, VG_JSON_BOOL) && !v->b) {
        m->ooni_blocking = "false";
    }
    v = vg_json_get(m->test_keys, VG_REC_KEY_ACCESSIBLE);
    if (vg__ro_is(v, VG_JSON_BOOL)) {
        m->ooni_accessible = v->b ? 1 : 0;
    }
    return 0;
}

int
vg_rec_obs_target(const char *test_name)
{
    if (test_name == NULL) {
        return -1;
    }
    if (strcmp(test_name, VG_REC_TEST_WEB) == 0) {
        return VG_TARGET_WEB;
    }
    if (strcmp(test_name, VG_REC_TEST_TLS) == 0) {
        return VG_TARGET_TLS;
    }
    if (strcmp(test_name, VG_REC_TEST_DNS) == 0) {
        return VG_TARGET_DNS;
    }
    return -1;
}

void
vg_rec_obs_scratch_cleanup(struct vg_rec_obs_scratch *s)
{
    VG_FREE(s->buf);
    VG_FREE(s->state);
    s->cap = 0;
}

const struct vg_url *
vg__ro_hop(const struct vg__ro *r, int depth)
{
    for (int d = depth < VG__RO_HOPS ? depth : VG__RO_HOPS - 1; d > 0; d--) {
        if (r->hop_known[d]) {
            return &r->hop[d];
        }
    }
    return &r->hop[0];
}

static void
vg__ro_bogon(struct vg__ro *r, const char *ip, const char *source)
{
    int c;

    if (r->o->bogon[0] != '\0' || (c = vg_ip_classify(ip)) < 0 || c == VG_IP_PUBLIC ||
        (c == VG_IP_DOC && r->doc_public)) {
        return;
    }
    snprintf(r->o->bogon, sizeof(r->o->bogon), "%s (%s) from %s", ip,
             vg_ip_class_name((enum vg_ip_class)c), source);
}

/* ---- requests: the hops and the final one -------------------------------------------------- */

static void
vg__ro_requests(struct vg__ro *r, const struct vg_json *reqs)
{
    size_t n = vg__ro_is(reqs, VG_JSON_ARRAY) ? reqs->len : 0, i = 0;

    r->final_depth = -1;
    for (const struct vg_json *q = vg_json_first(reqs); q != NULL; q = q->next, i++) {
        int d = vg__ro_depth(q, (int)(n - 1 - i));
        const char *url = vg__ro_str(vg_json_get(q, VG_REC_KEY_REQUEST), VG_REC_KEY_URL);

        if (q->type != VG_JSON_OBJECT) {
            continue;
        }
        if (d < VG__RO_HOPS && !r->hop_known[d] && url != NULL &&
            vg_url_parse(url, &r->hop[d]) == 0) {
            r->hop_known[d] = true;
        }
        if (d > r->final_depth) {
            r->final_depth = d;
            r->final_req = q;
        }
    }
}

/* The deepest hop any step reached (a hop whose connections all failed sent no request). */
static void
vg__ro_final_depth(struct vg__ro *r, const struct vg_json *tk)
{
    static const char *const lists[] = {VG_REC_KEY_QUERIES, VG_REC_KEY_TCP_CONNECT,
                                        VG_REC_KEY_TLS_HANDSHAKES};
    int deepest = r->final_depth < 0 ? 0 : r->final_depth;

    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        for (const struct vg_json *s = vg_json_first(vg_json_get(tk, lists[k])); s != NULL;
             s = s->next) {
            int d = vg__ro_depth(s, 0);

            deepest = d > deepest ? d : deepest;
        }
    }
    if (deepest > r->final_depth && deepest < VG__RO_HOPS && !r->hop_known[deepest] &&
        r->final_req != NULL) {
        /* the URL of a hop without request: the Location of the one before */
        const struct vg_json *resp = vg_json_get(r->final_req, VG_REC_KEY_RESPONSE);
        const struct vg_json *h = vg_json_first(vg_json_get(resp, VG_REC_KEY_HEADERS));
        const struct vg_url *base = vg__ro_hop(r, r->final_depth);

        for (; h != NULL; h = h->next) {
            if (h->type == VG_JSON_STRING && vg_strncaseeq(h->key, "location", 9) &&
                vg_url_resolve(base, h->s, &r->hop[deepest]) == 0) {
                r->hop_known[deepest] = true;
                break;
            }
        }
    }
    if (deepest > r->final_depth) {
        r->final_req = NULL;
    }
    r->final_depth = deepest;
}

/* ---- queries ------------------------------------------------------------------------------- */

static void
vg__ro_reply(struct vg__ro *r, const struct vg_json *q, const char *qtype)
{
    struct vg__ro_reply rp = {.u.aaaa = qtype != NULL && strcmp(qtype, "AAAA") == 0};
    int64_t rcode = -1, ttl = -1;
    double t = 0, t0 = 0;
    const char *failure = vg__ro_str(q, VG_REC_KEY_FAILURE);

    if (!vg_json_int(vg_json_get(q, VG_REC_KEY_RCODE), &rcode) &&
        vg__ro_str(q, VG_REC_KEY_RAW_RESPONSE) == NULL && failure != NULL) {
        return; /* no reply (a timeout) */
    }
    if (rcode < 0) {
        int f = vg__ro_failure(failure);

        rcode = f == 0 ? 0 : f == VG_EDNS_NXDOMAIN ? 3 : f == VG_EDNS_SERVFAIL ? 2 : 0;
    }
    (void)vg_json_num(vg_json_get(q, VG_REC_KEY_T), &t);
    (void)vg_json_num(vg_json_get(q, VG_REC_KEY_T0), &t0);
    (void)vg_json_int(vg_json_get(q, VG_REC_KEY_X_IP_TTL), &ttl);
    r->n_same_q[rp.u.aaaa]++;
    rp.u.rcode = (int)rcode;
    rp.t = t;
    rp.u.after = t - t0;
    rp.u.ip_ttl = ttl >= -1 && ttl < 256 ? (int)ttl : -1;
    for (const struct vg_json *a = vg_json_first(vg_json_get(q, VG_REC_KEY_ANSWERS)); a != NULL;
         a = a->next) {
        const char *ip = vg__ro_str(a, VG_REC_KEY_IPV4) != NULL ? vg__ro_str(a, VG_REC_KEY_IPV4)
                                                                : vg__ro_str(a, VG_REC_KEY_IPV6);

        if (ip != NULL && rp.u.n_addrs < VG_OBS_UDP_ADDRS) {
            rp.u.addrs[rp.u.n_addrs++] = ip;
        }
    }
    /* Kept as the probe keeps them (lib/net/udpdns.c): every reply up to VG_DNS_MAX_REPLIES, then
     * only those with an answer not kept yet, so that a flood of copies of a forged reply cannot
     * push the genuine one that follows it out of the comparison. */
    for (size_t i = 0; r->n_replies >= VG_DNS_MAX_REPLIES && i < r->n_replies; i++) {
        if (r->replies[i].u.aaaa == rp.u.aaaa && vg_obs_udp_same(&r->replies[i].u, &rp.u)) {
            return;
        }
    }
    if (r->n_replies < VG__RO_REPLIES) {
        r->replies[r->n_replies++] = rp;
    }
}

static void
vg__ro_query(struct vg__ro *r, const struct vg_json *q)
{
    struct vg_obs *o = r->o;
    const char *engine = vg__ro_str(q, VG_REC_KEY_ENGINE),
               *resolver = vg__ro_str(q, VG_REC_KEY_RESOLVER_ADDRESS);
    bool udp = engine != NULL && strcmp(engine, "udp") == 0;
    bool sys =
        !udp && (engine == NULL || (strcmp(engine, "doh") != 0 && strcmp(engine, "dot") != 0 &&
                                    strcmp(engine, "tcp") != 0));
    int d = vg__ro_depth(q, 0), failure = vg__ro_failure(vg__ro_str(q, VG_REC_KEY_FAILURE));
    size_t n = 0;

    if (!vg__ro_is(q, VG_JSON_OBJECT) || (!sys && !udp)) {
        return;
    }
    if (sys && d < VG__RO_HOPS) {
        r->sys_depth[d] = true;
    }
    for (const struct vg_json *a = vg_json_first(vg_json_get(q, VG_REC_KEY_ANSWERS)); a != NULL;
         a = a->next) {
        const char *ip = vg__ro_str(a, VG_REC_KEY_IPV4) != NULL ? vg__ro_str(a, VG_REC_KEY_IPV4)
                                                                : vg__ro_str(a, VG_REC_KEY_IPV6);
        int64_t asn = 0;

        if (ip == NULL || vg_ip_classify(ip) < 0) {
            continue;
        }
        n++;
        vg__ro_bogon(r, ip, sys ? "the system resolver" : resolver != NULL ? resolver : "");
        if (!sys) {
            continue;
        }
        if (r->n_sys < VG__RO_SYS) {
            r->sys[r->n_sys].depth = d;
            r->sys[r->n_sys++].ip = ip;
        }
        if (d == 0 && o->n_dns_addrs < VG_DNS_MAX_ADDRS) {
            bool dup = false;

            for (size_t i = 0; i < o->n_dns_addrs && !dup; i++) {
                dup = strcmp(o->dns_addrs[i], ip) == 0;
            }
            if (!dup) {
                (void)vg_json_int(vg_json_get(a, VG_REC_KEY_ASN), &asn);
                o->dns_asns[o->n_dns_addrs] = asn > 0 && asn <= UINT32_MAX ? (uint32_t)asn : 0;
                vg_utf8_copy(o->dns_addrs[o->n_dns_addrs++], sizeof(o->dns_addrs[0]), ip,
                             strlen(ip));
            }
        }
    }
    if (d != 0) {
        return;
    }
    if (sys) {
        o->n_sys_addrs += n;
        if (failure != 0 && o->sys_failure == 0) {
            o->sys_failure = failure;
        }
        return;
    }
    o->udp_used = true;
    vg_utf8_copy(o->udp_resolver, sizeof(o->udp_resolver), resolver != NULL ? resolver : "",
                 resolver != NULL ? strlen(resolver) : 0);
    o->n_udp_addrs += n;
    if (failure != 0 && o->udp_failure == 0) {
        o->udp_failure = failure;
    }
    vg__ro_reply(r, q, vg__ro_str(q, VG_REC_KEY_QUERY_TYPE));
}

/* The UDP resolver's replies in arrival order, read as the probe reads its own (obs.c): the first
 * of each kind, and the first two that disagree as the evidence of an injection. */
static void
vg__ro_replies(struct vg__ro *r)
{
    struct vg__ro_reply *all = r->replies;
    size_t n = r->n_replies;

    for (size_t i = 1; i < n; i++) {
        struct vg__ro_reply tmp = all[i];
        size_t j = i;

        for (; j > 0 && all[j - 1].t > tmp.t; j--) {
            all[j] = all[j - 1];
        }
        all[j] = tmp;
    }
    for (size_t i = 0; i < n; i++) {
        r->udp[i] = all[i].u;
    }
    vg_obs_replies(r->o, r->udp, n, r->n_same_q, r->hop[0].host, r->o->udp_resolver, true);
}

static int
vg__ro_hop_failure(const struct vg__ro *r, int dns_failure, const struct vg_json *tk)
{
    const struct vg_obs *o = r->o;
    int f;

    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (e->depth == r->final_depth &&
            (e->tcp_err != 0 || e->tls_err != 0 || e->verify_err != 0)) {
            return e->tcp_err != 0 ? e->tcp_err : e->tls_err != 0 ? e->tls_err : e->verify_err;
        }
    }
    if (dns_failure != 0) {
        return dns_failure;
    }
    if (r->o->bogon[0] != '\0') {
        return VG_EBOGON; /* OONI does not connect to bogons: nothing else was tried */
    }
    f = vg__ro_failure(vg__ro_str(tk, VG_REC_KEY_HTTP_EXPERIMENT_FAILURE));
    return f != 0 ? f : VG_EDNS_NOANSWER;
}

static void
vg__ro_final(struct vg__ro *r, const struct vg_json *tk, int dns_failure)
{
    struct vg_obs *o = r->o;
    const struct vg_url *u = vg__ro_hop(r, r->final_depth);
    const char *addr;

    o->final_depth = r->final_depth;
    vg_utf8_copy(o->host, sizeof(o->host), u->host, strlen(u->host));
    o->https = strcmp(u->scheme, "https") == 0;
    o->host_is_ip = u->ip_family != 0;
    if (o->target != VG_TARGET_WEB) {
        return;
    }
    o->http_attempted = true;
    o->body_length = -1;
    if (r->final_req == NULL) {
        o->http_failure = vg__ro_hop_failure(r, dns_failure, tk);
        return;
    }
    o->http_failure = vg__ro_failure(vg__ro_str(r->final_req, VG_REC_KEY_FAILURE));
    addr = vg__ro_str(r->final_req, VG_REC_KEY_ADDRESS);
    if (addr != NULL && addr[0] != '\0') {
        vg_utf8_copy(o->http_addr, sizeof(o->http_addr), addr, strlen(addr));
    }
    for (size_t i = 0; o->http_addr[0] == '\0' && i < o->n_ep; i++) {
        /* test versions before 0.5 do not say which endpoint carried the request */
        if (o->ep[i].depth == r->final_depth && o->ep[i].tcp_err == 0 && o->ep[i].tls_err == 0) {
            memcpy(o->http_addr, o->ep[i].addr, sizeof(o->http_addr));
        }
    }
    if (o->http_addr[0] == '\0') {
        /* nor which address a redirect's request went to: name the host */
        snprintf(o->http_addr, sizeof(o->http_addr), u->ip_family == 6 ? "[%.40s]:%u" : "%.50s:%u",
                 u->host, (unsigned)u->port);
    }
    for (size_t i = 0; i < o->n_ep; i++) {
        if (strcmp(o->ep[i].addr, o->http_addr) == 0 && o->ep[i].depth == r->final_depth) {
            o->http_udp_only = o->ep[i].from_udp_only;
        }
    }
    vg__ro_response(r, vg_json_get(r->final_req, VG_REC_KEY_RESPONSE));
}

/* ---- the control --------------------------------------------------------------------------- */

static void
vg__ro_control(struct vg__ro *r, const struct vg_json *tk, struct vg_ctrl *c)
{
    struct vg_obs *o = r->o;
    const char *cf = vg__ro_str(tk, VG_REC_KEY_CONTROL_FAILURE);
    const struct vg_json *control = vg_json_get(tk, VG_REC_KEY_CONTROL);

    if (cf != NULL) {
        vg_utf8_copy(o->control_failure, sizeof(o->control_failure), cf, strlen(cf));
        return;
    }
    if (!vg__ro_is(control, VG_JSON_OBJECT) || control->len == 0) {
        return; /* no helper was asked (vigie without --helper), or nothing came back */
    }
    if (vg_rec_thresponse_read(control, VG_REC_TH_LEGACY, c) < 0) {
        snprintf(o->control_failure, sizeof(o->control_failure), "%s", vg_err_failure(VG_EPROTO));
        return;
    }
    o->ctrl = c;
    vg_rec_thresponse_asns(control, c, o->ctrl_asns);
    for (size_t i = 0; i < c->n_ep; i++) {
        r->need_chain = r->need_chain || (c->ep[i].x_present && c->ep[i].leaf_spki[0] != '\0');
    }
}

/* ---- the reader ---------------------------------------------------------------------------- */

static bool
vg__ro_list_ok(const struct vg_json *tk, const char *key)
{
    const struct vg_json *v = vg_json_get(tk, key);

    return v == NULL || v->type == VG_JSON_NULL || v->type == VG_JSON_ARRAY;
}

/* The system resolver's failure at the final hop (when it gave no address there). */
static int
vg__ro_dns_failure(const struct vg_json *tk, int depth)
{
    int failure = 0;

    for (const struct vg_json *q = vg_json_first(vg_json_get(tk, VG_REC_KEY_QUERIES)); q != NULL;
         q = q->next) {
        const char *engine = vg__ro_str(q, VG_REC_KEY_ENGINE);

        if (vg__ro_depth(q, 0) != depth || (engine != NULL && strcmp(engine, "getaddrinfo") != 0 &&
                                            strcmp(engine, "system") != 0)) {
            continue;
        }
        if (vg_json_first(vg_json_get(q, VG_REC_KEY_ANSWERS)) != NULL) {
            return 0;
        }
        if (failure == 0) {
            failure = vg__ro_failure(vg__ro_str(q, VG_REC_KEY_FAILURE));
        }
    }
    return failure;
}

int
vg_rec_obs_read(const struct vg_rec_meta *m, int t, bool doc_public, struct vg_obs *o,
                struct vg_ctrl *c, struct vg_rec_obs_scratch *s, char *err, size_t errlen)
{
    static const char *const lists[] = {VG_REC_KEY_QUERIES, VG_REC_KEY_TCP_CONNECT,
                                        VG_REC_KEY_TLS_HANDSHAKES, VG_REC_KEY_REQUESTS,
                                        VG_REC_KEY_X_DNS_DUPLICATE_RESPONSES};
    const struct vg_json *tk = m->test_keys;
    struct vg__ro *r;
    const char *want = t == VG_TARGET_TLS ? "tls" : t == VG_TARGET_DNS ? "dns" : NULL;
    int rc = 0;

    if (s->state == NULL) {
        s->state = vg_xmalloc(sizeof(*r));
    }
    r = s->state;
    memset(r, 0, sizeof(*r));
    vg_obs_init(o);
    o->ep = s->ep;
    o->headers = r->headers;
    o->replies = r->obs_replies;
    o->target = (enum vg_target)t;
    r->m = m;
    r->o = o;
    r->s = s;
    r->doc_public = doc_public;
    if (tk == NULL) {
        rc = vg__ro_err(err, errlen, "test_keys missing");
        goto out;
    }
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (!vg__ro_list_ok(tk, lists[i])) {
            rc = vg__ro_err(err, errlen, "a list of test_keys is not an array");
            goto out;
        }
    }
    if (m->input == NULL || vg_url_parse(m->input, &r->hop[0]) < 0 ||
        (want != NULL ? strcmp(r->hop[0].scheme, want) != 0
                      : strncmp(r->hop[0].scheme, "http", 4) != 0)) {
        rc = vg__ro_err(err, errlen, "input is not a URL of the test");
        goto out;
    }
    r->hop_known[0] = true;
    vg__ro_control(r, tk, c);
    vg__ro_requests(r, vg_json_get(tk, VG_REC_KEY_REQUESTS));
    vg__ro_final_depth(r, tk);
    for (const struct vg_json *q = vg_json_first(vg_json_get(tk, VG_REC_KEY_QUERIES)); q != NULL;
         q = q->next) {
        vg__ro_query(r, q);
    }
    for (const struct vg_json *q =
             vg_json_first(vg_json_get(tk, VG_REC_KEY_X_DNS_DUPLICATE_RESPONSES));
         q != NULL; q = q->next) {
        if (vg__ro_depth(q, 0) == 0) {
            vg__ro_reply(r, q, vg__ro_str(q, VG_REC_KEY_QUERY_TYPE));
        }
    }
    vg__ro_replies(r);
    for (const struct vg_json *e = vg_json_first(vg_json_get(tk, VG_REC_KEY_TCP_CONNECT));
         e != NULL; e = e->next) {
        vg__ro_tcp(r, e);
    }
    for (const struct vg_json *h = vg_json_first(vg_json_get(tk, VG_REC_KEY_TLS_HANDSHAKES));
         h != NULL; h = h->next) {
        vg__ro_tls(r, h);
    }
    vg__ro_final(r, tk, vg__ro_dns_failure(tk, r->final_depth));
out:
    if (rc < 0) {
        o->ep = NULL;
        o->n_ep = 0;
    }
    return rc;
}

/* ---- the analysis keys --------------------------------------------------------------------- */

long
vg_rec_obs_fragment(const struct vg_decision *d, const struct vg_obs *o, char *out, size_t cap)
{
    json_t *tk = json_object();
    size_t n;

    if (tk == NULL) {
        return VG_EINTERNAL;
    }
    vg_rec_set_verdict(tk, d);
    vg_rec_set_endpoints(tk, o);
    json_object_set_new(tk, VG_REC_KEY_X_ANALYZER, json_string(VG_ANALYZER_VERSION));
    n = json_dumpb(tk, out, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(tk);
    if (n < 2) {
        return VG_EINTERNAL;
    }
    if (n > cap) {
        return VG_ETOOBIG;
    }
    memmove(out, out + 1, n - 2); /* the members, without the braces */
    return (long)(n - 2);
}
