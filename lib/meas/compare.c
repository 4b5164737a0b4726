/* SPDX-License-Identifier: MIT */
/*
 * compare.c - OONI Web Connectivity's analysis of the probe's view against the control's
 * (ooni-reference.md 1.3 DNS consistency, 1.4 HTTP comparison, 1.5 blocking/accessible).
 *
 * Where OONI's two implementations differ, the choices are:
 * - dns_consistency follows v0.4 (and LTE's "classic" value): ASN and IP intersection, NXDOMAIN
 *   on both sides, plus LTE's expected dns_no_answer. ASNs are known only with an ASN database
 *   (vigie probe --asn-db fills vg_obs.dns_asns/ctrl_asns), else that rule never fires. LTE's
 *   TLS-validity rule only feeds x_dns_consistency, because OONI keeps it out of
 *   dns_consistency (QA scenarios dnsHijackingToProxyWithHTTP(S)URL expect "inconsistent"
 *   although the proxy's certificate validates).
 * - blocking/accessible follow v0.4's Summarize order, but a step that the control failed as well
 *   gives LTE's "website down" (false/false; "dns" when DNS is inconsistent) instead of v0.4's
 *   accessible=true for NXDOMAIN and "tcp_ip" for a TCP failure (QA websiteDown* scenarios).
 * - HTTP failures other than DNS ones (and vigie-internal errors) are "http-failure", as in LTE,
 *   which also covers ssl_failed_handshake and broken redirect locations.
 */
#include "meas/compare.h"

#include <string.h>
#include <strings.h>

#include "proto/ipaddr.h"
#include "util/err.h"

/* ---- DNS consistency (1.3) ---------------------------------------------------------------- */

/* ip served a valid certificate for the URL's host, to the probe or to the control. */
static bool
vg__ip_tls_valid(const struct vg_obs *o, const struct vg_ctrl *c, const char *ip)
{
    char epip[64];

    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (e->depth != 0 || e->tcp_err != 0 || !e->tls_attempted || e->tls_err != 0 ||
            e->verify_err != 0) {
            continue;
        }
        if (vg_ip_from_endpoint(e->addr, epip, sizeof(epip)) && vg_ip_equal(epip, ip)) {
            return true;
        }
    }
    for (size_t i = 0; i < c->n_ep; i++) {
        const struct vg_ctrl_endpoint *e = &c->ep[i];

        if (!vg_ctrl_tls_valid(e)) {
            continue;
        }
        if (vg_ip_from_endpoint(e->addr, epip, sizeof(epip)) && vg_ip_equal(epip, ip)) {
            return true;
        }
    }
    return false;
}

int
vg_cmp_dns_consistency(const struct vg_obs *o, const struct vg_ctrl *c, bool tls_validity)
{
    bool ctrl_failed;

    if (c == NULL) {
        return -1;
    }
    if (o->host_is_ip) {
        return 1;
    }
    ctrl_failed = c->dns_failure[0] != '\0';
    if (o->sys_failure != 0 && ctrl_failed) {
        return vg_ctrl_is_nxdomain(c->dns_failure) && o->sys_failure == VG_EDNS_NXDOMAIN;
    }
    /* The helper reports its own dns_no_answer as failure=null, addrs=[]. */
    if (o->sys_failure == VG_EDNS_NOANSWER && !ctrl_failed && c->n_addrs == 0) {
        return 1;
    }
    /* v0.4's common-ASN rule; 0 (unknown, bogon) never matches. */
    for (size_t i = 0; i < o->n_dns_addrs && i < VG_DNS_MAX_ADDRS; i++) {
        for (size_t j = 0; o->dns_asns[i] != 0 && j < c->n_addrs && j < VG_DNS_MAX_ADDRS; j++) {
            if (o->dns_asns[i] == o->ctrl_asns[j]) {
                return 1;
            }
        }
    }
    for (size_t i = 0; i < o->n_dns_addrs; i++) {
        if (vg_ctrl_has_addr(c, o->dns_addrs[i])) {
            return 1;
        }
    }
    for (size_t i = 0; tls_validity && i < o->n_dns_addrs; i++) {
        if (vg__ip_tls_valid(o, c, o->dns_addrs[i])) {
            return 1;
        }
    }
    return 0;
}

/* ---- HTTP comparison (1.4) ---------------------------------------------------------------- */

double
vg_cmp_body_proportion(long probe_len, long ctrl_len, bool probe_truncated)
{
    long lo, hi;

    if (probe_len <= 0 || ctrl_len <= 0 || probe_truncated) {
        return -1.0;
    }
    lo = probe_len < ctrl_len ? probe_len : ctrl_len;
    hi = probe_len < ctrl_len ? ctrl_len : probe_len;
    return (double)lo / (double)hi;
}

int
vg_cmp_status_code_match(int probe_status, int ctrl_status)
{
    if (probe_status <= 0 || ctrl_status <= 0) {
        return -1;
    }
    if (probe_status == ctrl_status) {
        return 1;
    }
    return ctrl_status >= 200 && ctrl_status < 300 ? 0 : -1;
}

/* OONI's header names that say nothing about who answered. */
static const char *const vg__common_headers[] = {
    "date",
    "content-type",
    "server",
    "cache-control",
    "vary",
    "set-cookie",
    "location",
    "expires",
    "x-powered-by",
    "content-encoding",
    "last-modified",
    "accept-ranges",
    "pragma",
    "x-frame-options",
    "etag",
    "x-content-type-options",
    "age",
    "via",
    "p3p",
    "x-xss-protection",
    "content-language",
    "cf-ray",
    "strict-transport-security",
    "link",
    "x-varnish",
};

static bool
vg__header_common(const char *name)
{
    for (size_t i = 0; i < sizeof(vg__common_headers) / sizeof(vg__common_headers[0]); i++) {
        if (strcasecmp(name, vg__common_headers[i]) == 0) {
            return true;
        }
    }
    return false;
}

int
vg_cmp_headers_match(const char (*a)[64], size_t na, const char (*b)[64], size_t nb)
{
    for (size_t i = 0; i < na; i++) {
        if (a[i][0] == '\0' || vg__header_common(a[i])) {
            continue;
        }
        for (size_t j = 0; j < nb; j++) {
            if (strcasecmp(a[i], b[j]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

#define VG__TITLE_BYTES (4 * VG_HTML_TITLE_MAX + 1)
#define VG__TITLE_WORDS (VG__TITLE_BYTES / 6 + 1) /* a kept word takes 5 bytes and a space */

/* The words of 5+ bytes of a title, split on spaces, ASCII lower-cased, pointing into buf. */
struct vg__words {
    char buf[VG__TITLE_BYTES];
    size_t n;
    const char *w[VG__TITLE_WORDS];
    size_t len[VG__TITLE_WORDS];
};

static void
vg__long_words(const char *title, struct vg__words *out)
{
    size_t n = strlen(title), start = 0;

    if (n >= sizeof(out->buf)) {
        n = sizeof(out->buf) - 1;
    }
    memcpy(out->buf, title, n);
    out->buf[n] = '\0';
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (out->buf[i] >= 'A' && out->buf[i] <= 'Z') {
            out->buf[i] = (char)(out->buf[i] - 'A' + 'a');
        }
    }
    for (size_t i = 0; i <= n; i++) {
        if (i < n && out->buf[i] != ' ') {
            continue;
        }
        if (i - start >= 5 && out->n < VG__TITLE_WORDS) {
            out->w[out->n] = out->buf + start;
            out->len[out->n] = i - start;
            out->n++;
        }
        start = i + 1;
    }
}

static bool
vg__words_have(const struct vg__words *ws, const char *w, size_t len)
{
    for (size_t i = 0; i < ws->n; i++) {
        if (ws->len[i] == len && memcmp(ws->w[i], w, len) == 0) {
            return true;
        }
    }
    return false;
}

int
vg_cmp_title_match(const char *probe_title, const char *ctrl_title)
{
    struct vg__words a, b;

    if (probe_title == NULL || probe_title[0] == '\0') {
        return -1;
    }
    vg__long_words(probe_title, &a);
    vg__long_words(ctrl_title != NULL ? ctrl_title : "", &b);
    for (size_t i = 0; i < a.n; i++) {
        if (!vg__words_have(&b, a.w[i], a.len[i])) {
            return 0;
        }
    }
    for (size_t i = 0; i < b.n; i++) {
        if (!vg__words_have(&a, b.w[i], b.len[i])) {
            return 0;
        }
    }
    return 1;
}

void
vg_cmp_http(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_ooni_keys *k)
{
    k->body_proportion = -1.0;
    k->body_length_match = -1;
    k->status_code_match = -1;
    k->headers_match = -1;
    k->title_match = -1;
    if (c == NULL || !o->http_attempted || o->http_failure != 0 || o->status <= 0 ||
        !vg_ctrl_http_ok(c)) {
        return;
    }
    k->body_proportion = vg_cmp_body_proportion(o->body_length, c->body_length, o->body_truncated);
    if (k->body_proportion >= 0) {
        k->body_length_match = k->body_proportion > VG_CMP_BODY_PROPORTION;
    }
    k->status_code_match = vg_cmp_status_code_match(o->status, c->status);
    k->headers_match = vg_cmp_headers_match((const char(*)[64])o->headers, o->n_headers,
                                            (const char(*)[64])c->headers, c->n_headers);
    k->title_match = vg_cmp_title_match(o->title, c->title);
}

bool
vg_cmp_http_diff(const struct vg_ooni_keys *k)
{
    if (k->status_code_match != 1) {
        return true;
    }
    return !(k->body_length_match == 1 || k->headers_match == 1 || k->title_match == 1);
}

/* ---- blocking / accessible (1.5) ---------------------------------------------------------- */

struct vg__out {
    int dns; /* dns_consistency */
    enum vg_blocking *blocking;
    int *accessible;
};

static void
vg__ok(struct vg__out *r)
{
    *r->blocking = VG_BLOCKING_FALSE;
    *r->accessible = 1;
}

/* LTE's setBlockingString: a blocking kind, but "dns" whenever DNS is inconsistent. */
static void
vg__blocking(struct vg__out *r, enum vg_blocking b)
{
    *r->blocking = r->dns == 0 ? VG_BLOCKING_DNS : b;
    *r->accessible = 0;
}

/* LTE's setBlockingNil: cannot tell, unless DNS is inconsistent. */
static void
vg__nil(struct vg__out *r)
{
    if (r->dns == 0) {
        vg__blocking(r, VG_BLOCKING_DNS);
        return;
    }
    *r->blocking = VG_BLOCKING_NULL;
    *r->accessible = -1;
}

/* LTE's setWebsiteDown: an expected failure, unless DNS is inconsistent. */
static void
vg__down(struct vg__out *r)
{
    if (r->dns == 0) {
        vg__blocking(r, VG_BLOCKING_DNS);
        return;
    }
    *r->blocking = VG_BLOCKING_FALSE;
    *r->accessible = 0;
}

/* What the control saw of TCP on the probe's first-hop system-resolver endpoints: 1 some
 * connected, 0 all it tried failed, -1 it tried none of them. */
static int
vg__ctrl_tcp_depth0(const struct vg_obs *o, const struct vg_ctrl *c)
{
    bool shared = false;

    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_ctrl_endpoint *ce;

        if (o->ep[i].depth != 0 || o->ep[i].from_udp_only) {
            continue;
        }
        ce = vg_ctrl_endpoint(c, o->ep[i].addr);
        if (ce == NULL || (!ce->tcp_ok && ce->tcp_failure[0] == '\0')) {
            continue;
        }
        if (ce->tcp_ok) {
            return 1;
        }
        shared = true;
    }
    return shared ? 0 : -1;
}

void
vg_cmp_summarize(const struct vg_obs *o, const struct vg_ctrl *c, const struct vg_ooni_keys *k,
                 enum vg_blocking *blocking, int *accessible)
{
    struct vg__out r = {k->dns_consistency, blocking, accessible};
    size_t n_tcp = 0, n_tcp_ok = 0;
    struct vg_obs classic;

    /* OONI's keys describe its classic observations: the system resolver's addresses. A page
     * fetched over an address only vigie's UDP resolver gave (e.g. the genuine reply that came
     * after an injected one) is not one OONI would have fetched: its request fails as the
     * system resolver's addresses did. */
    if (o->http_attempted && o->http_failure == 0 && o->http_udp_only) {
        classic = *o;
        classic.http_failure = VG_ETIMEDOUT;
        for (size_t i = 0; i < o->n_ep; i++) {
            if (!o->ep[i].from_udp_only && o->ep[i].depth == o->final_depth &&
                o->ep[i].tcp_err != 0) {
                classic.http_failure = o->ep[i].tcp_err;
                break;
            }
        }
        o = &classic;
    }

    /* 1. An https page fetched over a validated handshake: the legitimate server answered. */
    if (o->https && o->http_attempted && o->http_failure == 0) {
        vg__ok(&r);
        return;
    }
    /* 2. No control, no comparison. */
    if (c == NULL) {
        *blocking = VG_BLOCKING_NULL;
        *accessible = -1;
        return;
    }
    /* 3-4. The system resolver failed. */
    if (!o->host_is_ip && o->sys_failure != 0) {
        if (r.dns == 1) {
            vg__down(&r);
        } else if (c->dns_failure[0] != '\0') {
            *blocking = VG_BLOCKING_FALSE;
            *accessible = 0;
        } else {
            vg__blocking(&r, VG_BLOCKING_DNS);
        }
        return;
    }
    /* 5. Every TCP connect of the first hop failed. */
    for (size_t i = 0; i < o->n_ep; i++) {
        if (o->ep[i].depth != 0 || o->ep[i].from_udp_only) {
            continue;
        }
        n_tcp++;
        n_tcp_ok += o->ep[i].tcp_err == 0;
    }
    if (n_tcp > 0 && n_tcp_ok == 0) {
        int view = vg__ctrl_tcp_depth0(o, c);

        if (view == 1 || (view < 0 && vg_ctrl_http_ok(c))) {
            vg__blocking(&r, VG_BLOCKING_TCP_IP);
        } else if (view == 0 || vg_ctrl_http_failed(c)) {
            vg__down(&r);
        } else {
            vg__nil(&r);
        }
        return;
    }
    /* 6. The control could not fetch the page. */
    if (vg_ctrl_http_failed(c)) {
        if (!o->http_attempted || o->http_failure != 0) {
            vg__down(&r);
        } else {
            vg__nil(&r);
        }
        return;
    }
    /* 7. Nothing to compare with. */
    if (!vg_ctrl_http_ok(c) || !o->http_attempted) {
        vg__nil(&r);
        return;
    }
    /* 8. The probe's request failed while the control's succeeded. */
    if (o->http_failure != 0) {
        switch (o->http_failure) {
        case VG_EDNS_NXDOMAIN:
        case VG_EDNS_NOANSWER:
        case VG_EDNS_SERVFAIL:
        case VG_EDNS_REFUSED:
        case VG_EDNS_TEMPORARY:
        case VG_EDNS_NONRECOVERABLE:
        case VG_EDNS_MISBEHAVING:
            vg__blocking(&r, VG_BLOCKING_DNS);
            break;
        case VG_EINTERNAL:
        case VG_ECANCELED:
        case VG_EINVAL:
            vg__nil(&r);
            break;
        default:
            vg__blocking(&r, VG_BLOCKING_HTTP_FAILURE);
            break;
        }
        return;
    }
    /* 9. Both got a page: compare them. */
    if (vg_cmp_http_diff(k)) {
        vg__blocking(&r, VG_BLOCKING_HTTP_DIFF);
    } else {
        vg__ok(&r);
    }
}

void
vg_cmp_ooni(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_ooni_keys *k,
            enum vg_blocking *blocking, int *accessible)
{
    vg_ooni_keys_null(k);
    if (c != NULL) {
        k->dns_consistency = vg_cmp_dns_consistency(o, c, false);
        k->x_dns_consistency = vg_cmp_dns_consistency(o, c, true);
        vg_cmp_http(o, c, k);
    }
    vg_cmp_summarize(o, c, k, blocking, accessible);
}
