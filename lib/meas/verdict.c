/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - vigie's verdict for one measurement (x_verdict, x_cause, x_evidence) and, through
 * lib/meas/compare.c, OONI's keys, blocking and accessible.
 *
 * WITHOUT A CONTROL (o->ctrl == NULL) the probe-only rules of docs/verdicts.md apply unchanged and
 * every OONI key is null. If a control was asked for but could not be obtained
 * (o->control_failure), the same rules run, then every verdict that only a control could confirm
 * becomes "unknown", cause kept; the self-evident ones stay: a bogon (dns.bogon), disagreeing
 * replies to one query (dns.injected), a name the system resolver denies while another resolver
 * and a valid certificate prove it (dns.nxdomain, dns.no_answer), a certificate that does not
 * validate (tls.mitm), a known block page (http.blockpage), and an https page fetched over a
 * valid certificate (accessible). The evidence adds that the control failed.
 *
 * WITH A CONTROL (o->ctrl != NULL: a test helper's THResponse) "blocked" needs the control's
 * evidence or a self-evident proof, and a step that fails on both sides is "down". First match:
 *  C1 dns.bogon -> blocked: an answer is a bogon the control did not get (when the control got it
 *     too, the site publishes it: no verdict here, the later rules judge the connections).
 *  C2 dns.injected -> blocked: two replies to one query from the --resolver server where an
 *     earlier one shares no address with the control's answer and a later one does (the forged
 *     one raced the genuine one). When the replies were not recorded (o->n_replies == 0), the
 *     probe-only disagreement (o->injected) decides, as without a control.
 *  C3 the system resolver failed: the control resolves the name -> blocked dns.nxdomain /
 *     dns.no_answer (unknown dns.REASON for other failures, e.g. a local timeout); the control
 *     failed too (NXDOMAIN, no answer, or another failure) -> down dns.REASON.
 *  C4 tls.mitm -> intercepted: a handshake completed with a certificate that fails validation
 *     while the control's handshake validated, on the same endpoint, or on any endpoint when the
 *     control did not try that one (or, with no TLS data, when it fetched the https page).
 *  C5 tls.mitm -> intercepted: a first-hop handshake validated on this device, but neither its
 *     leaf key nor any CA key of its chain appears in any chain the control validated for the
 *     name: a CA the device was made to trust. Fires only with vigie's x_ extension data
 *     (x_present, x_valid, leaf and CA SPKI hashes on both sides). A chain that shares a CA key
 *     with the control's (load-balanced leaves from one public CA) is a legitimate difference and
 *     stays accessible. Residual risk: one site serving chains from two intermediates that the
 *     control never saw together (the union of all the control's chains is used to limit it).
 *  C6 dns.inconsistent -> blocked: the system resolver's answers are inconsistent with the
 *     control's (x_dns_consistency: common address, or a valid certificate for the name on that
 *     address), and connecting to them failed, or the request failed, or the cleartext page is an
 *     OONI http-diff / a block page. A hijack to a transparent proxy that serves the right page
 *     (or a valid certificate) is not blocked; the accessible evidence mentions the difference.
 *  C7 down tls.invalid_certificate / tls.unknown_authority / tls.invalid_hostname: the
 *     certificate fails validation on both sides (a broken site, e.g. badssl.com) and nothing was
 *     fetched.
 *  C8 connections on the final hop all failed: TCP everywhere -> blocked tcp.REASON when the
 *     control connected (to one of these endpoints, to any when it tried none of them, or it
 *     fetched the page), down when the control failed too, else unknown. TLS (reset, timeout,
 *     eof) after a TCP connect -> blocked tls.REASON when the control's handshake succeeded (same
 *     rule for which endpoint), down when it failed too, else unknown; other TLS errors are
 *     unknown, or down when the control failed too. OONI's blocking stays "http-failure".
 *  C9 the request failed: the control fetched the page -> blocked http.reset / http.timeout /
 *     http.eof (blocked dns.REASON for NXDOMAIN / no answer on a redirect hop; unknown otherwise);
 *     the control failed too -> down; no HTTP result from the control -> unknown.
 *  C10 a known block page -> blocked http.blockpage.
 *  C11 cleartext page: OONI http-diff against the control's page -> blocked http.diff; otherwise
 *     accessible; unknown when the control has no page. An https page (valid certificate) is
 *     accessible even if it differs: the genuine server answered (OONI's rule too).
 * Every evidence sentence names what the probe saw and what the control saw.
 */
#include "meas/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meas/compare.h"
#include "util/err.h"
#include "util/mem.h"
#include "vigie/vigie.h"

void
vg_obs_init(struct vg_obs *o)
{
    memset(o, 0, sizeof(*o));
}

void
vg_obs_cleanup(struct vg_obs *o)
{
    VG_FREE(o->ep);
    o->n_ep = 0;
}

struct vg_obs_endpoint *
vg_obs_add_ep(struct vg_obs *o)
{
    struct vg_obs_endpoint *e;

    if (o->n_ep >= VG_OBS_MAX_EP) {
        return NULL;
    }
    o->ep = vg_xreallocarray(o->ep, o->n_ep + 1, sizeof(*o->ep));
    e = &o->ep[o->n_ep++];
    memset(e, 0, sizeof(*e));
    return e;
}

const char *
vg_blocking_json(enum vg_blocking b)
{
    switch (b) {
    case VG_BLOCKING_FALSE:
        return "false";
    case VG_BLOCKING_DNS:
        return "dns";
    case VG_BLOCKING_TCP_IP:
        return "tcp_ip";
    case VG_BLOCKING_HTTP_FAILURE:
        return "http-failure";
    case VG_BLOCKING_HTTP_DIFF:
        return "http-diff";
    case VG_BLOCKING_NULL:
        break;
    }
    return NULL;
}

/* The REASON part of a cause for a network error. */
static const char *
vg__reason(int err)
{
    switch (err) {
    case VG_ETIMEDOUT:
        return "timeout";
    case VG_ECONNREFUSED:
        return "refused";
    case VG_ECONNRESET:
    case VG_ECONNABORTED:
        return "reset";
    case VG_EEOF:
        return "eof";
    case VG_EHOSTUNREACH:
    case VG_ENETUNREACH:
    case VG_ENETDOWN:
    case VG_EADDRNOTAVAIL:
        return "unreachable";
    case VG_EDNS_NXDOMAIN:
        return "nxdomain";
    case VG_EDNS_NOANSWER:
        return "no_answer";
    case VG_EDNS_SERVFAIL:
        return "servfail";
    case VG_EDNS_REFUSED:
        return "refused";
    case VG_EHTTP_REDIRECTS:
        return "too_many_redirects";
    case VG_EHTTP_LOCATION:
        return "bad_redirect";
    case VG_ETLS_HANDSHAKE:
    case VG_ETLS_HOSTNAME:
        return "failed";
    default:
        return "error";
    }
}

static void
vg__verdict_set(struct vg_decision *v, const char *verdict, const char *stage, int err)
{
    v->verdict = verdict;
    if (stage != NULL) {
        snprintf(v->cause, sizeof(v->cause), "%s.%s", stage, vg__reason(err));
    }
}

/* Among endpoints of depth d that pass the filter, the most telling error: a timeout or reset
 * weighs more than a refusal, which weighs more than anything else. */
static int
vg__dominant(const int *errs, size_t n)
{
    static const int order[] = {VG_ECONNRESET, VG_ETIMEDOUT, VG_EEOF, VG_ECONNREFUSED};

    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        for (size_t i = 0; i < n; i++) {
            if (errs[i] == order[k]) {
                return order[k];
            }
        }
    }
    return n > 0 ? errs[0] : 0;
}

/* The endpoints of the final hop, as both connect rules (with and without a control) see them. */
struct vg__tally {
    size_t n, n_tcp, n_tls, n_ok; /* endpoints; failed TCP; failed TLS after TCP; fully connected */
    int tcp_err, tls_err;         /* the dominant failure of each step (vg__dominant) */
    const char *tcp_addr;         /* an endpoint whose TCP failure is tcp_err (or the first one) */
};

/* Fill t; false when the rules have nothing to say (no endpoint, or one fully connected). */
static bool
vg__tally_final(const struct vg_obs *o, struct vg__tally *t)
{
    int tcp_errs[VG_OBS_MAX_EP], tls_errs[VG_OBS_MAX_EP];

    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (e->depth != o->final_depth) {
            continue;
        }
        t->n++;
        if (e->tcp_err != 0) {
            tcp_errs[t->n_tcp++] = e->tcp_err;
        } else if (e->tls_attempted && e->tls_err != 0) {
            tls_errs[t->n_tls++] = e->tls_err;
        } else {
            t->n_ok++;
        }
    }
    if (t->n == 0 || t->n_ok > 0) {
        return false;
    }
    t->tcp_err = vg__dominant(tcp_errs, t->n_tcp);
    t->tls_err = vg__dominant(tls_errs, t->n_tls);
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (e->depth != o->final_depth) {
            continue;
        }
        if (t->tcp_addr == NULL) {
            t->tcp_addr = e->addr;
        }
        if (t->n_tcp > 0 && e->tcp_err == t->tcp_err) {
            t->tcp_addr = e->addr;
            break;
        }
    }
    return true;
}

static const struct vg_obs_endpoint *
vg__first_valid_tls(const struct vg_obs *o)
{
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (e->tcp_err == 0 && e->tls_attempted && e->tls_err == 0 && e->verify_err == 0) {
            return e;
        }
    }
    return NULL;
}

static bool
vg__dns_decision(const struct vg_obs *o, struct vg_decision *v)
{
    const struct vg_obs_endpoint *valid;

    if (o->bogon[0] != '\0') {
        vg__verdict_set(v, "blocked", NULL, 0);
        snprintf(v->cause, sizeof(v->cause), "dns.bogon");
        snprintf(v->evidence, sizeof(v->evidence), "DNS answered %s with %s", o->host, o->bogon);
        return true;
    }
    if (o->injected[0] != '\0') {
        vg__verdict_set(v, "blocked", NULL, 0);
        snprintf(v->cause, sizeof(v->cause), "dns.injected");
        snprintf(v->evidence, sizeof(v->evidence), "%s", o->injected);
        return true;
    }
    if (o->host_is_ip || o->sys_failure == 0) {
        return false;
    }
    valid = vg__first_valid_tls(o);
    if (o->udp_used && o->n_udp_addrs > 0 && valid != NULL &&
        (o->sys_failure == VG_EDNS_NXDOMAIN || o->sys_failure == VG_EDNS_NOANSWER)) {
        vg__verdict_set(v, "blocked", "dns", o->sys_failure);
        snprintf(v->evidence, sizeof(v->evidence),
                 "the system resolver says %s (%s) but %s resolves it and %s serves a valid "
                 "certificate for it",
                 o->host, vg_err_failure(o->sys_failure), o->udp_resolver, valid->addr);
        return true;
    }
    if (o->n_ep == 0) {
        vg__verdict_set(v, "unknown", "dns", o->sys_failure);
        snprintf(v->evidence, sizeof(v->evidence),
                 "the system resolver failed for %s (%s); without a control vigie cannot tell "
                 "censorship from a missing site",
                 o->host, vg_err_failure(o->sys_failure));
        return true;
    }
    return false;
}

/* What is wrong with the certificate of an endpoint whose handshake completed. */
static void
vg__cert_desc(const struct vg_obs_endpoint *e, char *out, size_t cap)
{
    if (e->self_signed) {
        snprintf(out, cap, "self-signed certificate %s on %s", e->subject, e->addr);
    } else if (e->verify_err == VG_ETLS_UNKNOWN_CA) {
        snprintf(out, cap, "certificate %s issued by untrusted %s on %s", e->subject, e->issuer,
                 e->addr);
    } else {
        snprintf(out, cap, "%s on %s (%s)",
                 e->verify_reason[0] != '\0' ? e->verify_reason : vg_strerror(e->verify_err),
                 e->addr, vg_err_failure(e->verify_err));
    }
}

/* A handshake that completed with a certificate failing validation. */
static bool
vg__cert_invalid(const struct vg_obs_endpoint *e)
{
    return e->tls_attempted && e->tcp_err == 0 && e->tls_err == 0 && e->verify_err != 0;
}

static bool
vg__mitm_decision(const struct vg_obs *o, struct vg_decision *v)
{
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (!vg__cert_invalid(e)) {
            continue;
        }
        v->verdict = "intercepted";
        snprintf(v->cause, sizeof(v->cause), "tls.mitm");
        vg__cert_desc(e, v->evidence, sizeof(v->evidence));
        return true;
    }
    return false;
}

static bool
vg__connect_decision(const struct vg_obs *o, struct vg_decision *v)
{
    struct vg__tally t;
    size_t n, n_tls;
    const char *first_addr;
    int err;

    if (!vg__tally_final(o, &t)) {
        return false;
    }
    n = t.n;
    n_tls = t.n_tls;
    first_addr = t.tcp_addr;
    if (n_tls == 0) {
        err = t.tcp_err;
        vg__verdict_set(v, "unknown", "tcp", err);
        snprintf(v->evidence, sizeof(v->evidence),
                 "TCP connect failed on every address of %s (%s on %s%s); without a control "
                 "vigie cannot tell blocking from an unreachable server",
                 o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "");
        return true;
    }
    err = t.tls_err;
    if (err == VG_ECONNRESET || err == VG_ETIMEDOUT || err == VG_EEOF) {
        vg__verdict_set(v, "blocked", "tls", err);
        snprintf(v->evidence, sizeof(v->evidence),
                 "TCP connected but the TLS handshake with SNI %s ended in %s right after the "
                 "ClientHello (%zu of %zu addresses)",
                 o->host, vg_err_failure(err), n_tls, n);
    } else {
        vg__verdict_set(v, "unknown", "tls", err);
        snprintf(v->evidence, sizeof(v->evidence), "TLS handshake with %s failed: %s", o->host,
                 vg_err_failure(err));
    }
    return true;
}

/* The probe-only rules (docs/verdicts.md). */
static void
vg__decide_alone(const struct vg_obs *o, struct vg_decision *v)
{
    if (vg__dns_decision(o, v) || vg__mitm_decision(o, v) || vg__connect_decision(o, v)) {
        return;
    }
    if (o->http_attempted && o->http_failure != 0) {
        vg__verdict_set(v, "unknown", "http", o->http_failure);
        snprintf(v->evidence, sizeof(v->evidence), "the HTTP request to %s%s%s failed: %s", o->host,
                 o->http_addr[0] != '\0' ? " via " : "", o->http_addr,
                 vg_err_failure(o->http_failure));
        return;
    }
    if (o->http_attempted && o->blockpage != NULL) {
        v->verdict = "blocked";
        snprintf(v->cause, sizeof(v->cause), "http.blockpage");
        snprintf(v->evidence, sizeof(v->evidence),
                 "the response from %s matches the block page fingerprint %s (status %d)",
                 o->http_addr, o->blockpage, o->status);
        return;
    }
    if (o->http_attempted && o->https) {
        v->verdict = "accessible";
        snprintf(v->evidence, sizeof(v->evidence),
                 "fetched https://%s over a valid certificate (status %d%s%s%s)", o->host,
                 o->status, o->title[0] != '\0' ? ", title \"" : "", o->title,
                 o->title[0] != '\0' ? "\"" : "");
        return;
    }
    if (o->http_attempted) {
        snprintf(v->evidence, sizeof(v->evidence),
                 "page fetched from %s (status %d%s%s%s); without a control vigie cannot tell "
                 "it from an unknown block page",
                 o->http_addr, o->status, o->title[0] != '\0' ? ", title \"" : "", o->title,
                 o->title[0] != '\0' ? "\"" : "");
        return;
    }
    snprintf(v->evidence, sizeof(v->evidence), "no request could be made to %s", o->host);
}

/* ---- with a control ------------------------------------------------------------------------ */

static void vg__catf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void vg__verdict_decide(struct vg_decision *v, const char *verdict, const char *cause,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Append to a bounded string (cut when full). */
static void
vg__catf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strnlen(buf, cap);
    va_list ap;

    if (n + 1 >= cap) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static void
vg__verdict_decide(struct vg_decision *v, const char *verdict, const char *cause, const char *fmt,
                   ...)
{
    va_list ap;

    v->verdict = verdict;
    snprintf(v->cause, sizeof(v->cause), "%s", cause);
    va_start(ap, fmt);
    vsnprintf(v->evidence, sizeof(v->evidence), fmt, ap);
    va_end(ap);
}

/* "STAGE.REASON" for err into a cause buffer. */
static const char *
vg__cause(char *out, size_t cap, const char *stage, int err)
{
    snprintf(out, cap, "%s.%s", stage, vg__reason(err));
    return out;
}

/* The reason part of the cause when a certificate fails validation (OONI's failure names). */
static const char *
vg__cert_reason(int verify_err)
{
    switch (verify_err) {
    case VG_ETLS_UNKNOWN_CA:
        return "unknown_authority";
    case VG_ETLS_HOSTNAME:
        return "invalid_hostname";
    default:
        return "invalid_certificate";
    }
}

/* The name the system resolver was asked for: the host unless redirects changed it. */
static const char *
vg__host0(const struct vg_obs *o)
{
    return o->final_depth == 0 ? o->host : "the URL's host";
}

/* The control's DNS answer, e.g. "93.184.216.34, 2606:2800:220:1::" or "nothing (dns_name_error)".
 */
static const char *
vg__ctrl_addrs(const struct vg_ctrl *c, char *out, size_t cap)
{
    out[0] = '\0';
    if (c->n_addrs == 0) {
        snprintf(out, cap, "nothing (%s)",
                 c->dns_failure[0] != '\0' ? c->dns_failure : "no address");
        return out;
    }
    for (size_t i = 0; i < c->n_addrs && i < 3; i++) {
        vg__catf(out, cap, "%s%s", i > 0 ? ", " : "", c->addrs[i]);
    }
    if (c->n_addrs > 3) {
        vg__catf(out, cap, " and %zu more", c->n_addrs - 3);
    }
    return out;
}

/* The control's page: "status 200, 1256 bytes, title \"Example Domain\"", or its failure. */
static const char *
vg__ctrl_page(const struct vg_ctrl *c, char *out, size_t cap)
{
    if (vg_cmp_ctrl_http_ok(c)) {
        snprintf(out, cap, "status %d, %ld bytes%s%.120s%s", c->status, c->body_length,
                 c->title[0] != '\0' ? ", title \"" : "", c->title,
                 c->title[0] != '\0' ? "\"" : "");
    } else if (vg_cmp_ctrl_http_failed(c)) {
        snprintf(out, cap, "failed with %s", c->http_failure);
    } else {
        snprintf(out, cap, "no HTTP result");
    }
    return out;
}

/* The probe's page, in the same form. */
static const char *
vg__probe_page(const struct vg_obs *o, char *out, size_t cap)
{
    snprintf(out, cap, "status %d, %ld bytes%s%s%.120s%s", o->status, o->body_length,
             o->body_truncated ? " (truncated)" : "", o->title[0] != '\0' ? ", title \"" : "",
             o->title, o->title[0] != '\0' ? "\"" : "");
    return out;
}

/* C1: a bogon answer the control did not get. */
static bool
vg__c_bogon(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    char ip[64], addrs[256];
    size_t n;

    if (o->bogon[0] == '\0') {
        return false;
    }
    n = strcspn(o->bogon, " ");
    if (n >= sizeof(ip)) {
        n = sizeof(ip) - 1;
    }
    memcpy(ip, o->bogon, n);
    ip[n] = '\0';
    if (vg_cmp_ctrl_has_addr(c, ip)) {
        return false;
    }
    vg__verdict_decide(v, "blocked", "dns.bogon",
                       "DNS answered %s with %s, while the control resolves it to %s", o->host,
                       o->bogon, vg__ctrl_addrs(c, addrs, sizeof(addrs)));
    return true;
}

static bool
vg__reply_agrees(const struct vg_obs_reply *r, const struct vg_ctrl *c)
{
    for (size_t i = 0; i < r->n_addrs && i < VG_OBS_REPLY_ADDRS; i++) {
        if (vg_cmp_ctrl_has_addr(c, r->addrs[i])) {
            return true;
        }
    }
    return false;
}

/* C2: an earlier reply unknown to the control, a later one that it confirms. */
static bool
vg__c_injected(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    size_t n = o->n_replies < VG_OBS_MAX_REPLIES ? o->n_replies : VG_OBS_MAX_REPLIES;
    char addrs[256];

    vg__ctrl_addrs(c, addrs, sizeof(addrs));
    if (n == 0) {
        if (o->injected[0] == '\0') {
            return false;
        }
        vg__verdict_decide(v, "blocked", "dns.injected", "%s; the control resolves %s to %s",
                           o->injected, vg__host0(o), addrs);
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        const struct vg_obs_reply *first = &o->replies[i];

        if (vg__reply_agrees(first, c)) {
            continue;
        }
        for (size_t j = i + 1; j < n; j++) {
            const struct vg_obs_reply *later = &o->replies[j];

            if (later->aaaa != first->aaaa || !vg__reply_agrees(later, c)) {
                continue;
            }
            vg__verdict_decide(
                v, "blocked", "dns.injected",
                "the %s query for %s to %s got %s, which the control does not know, then "
                "%s, which matches the control's answer (%s)",
                first->aaaa ? "AAAA" : "A", vg__host0(o), o->udp_resolver, first->brief,
                later->brief, addrs);
            return true;
        }
    }
    return false;
}

/* C3: the system resolver failed. */
static bool
vg__c_dns_failure(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    char cause[32], addrs[256];
    int f = o->sys_failure;

    if (o->host_is_ip || f == 0) {
        return false;
    }
    vg__cause(cause, sizeof(cause), "dns", f);
    if (c->n_addrs > 0) {
        vg__verdict_decide(
            v, f == VG_EDNS_NXDOMAIN || f == VG_EDNS_NOANSWER ? "blocked" : "unknown", cause,
            "the system resolver says %s (%s) but the control resolves it to %s", vg__host0(o),
            vg_err_failure(f), vg__ctrl_addrs(c, addrs, sizeof(addrs)));
        return true;
    }
    vg__verdict_decide(
        v, "down", cause,
        "the system resolver failed for %s (%s) and the control's lookup failed too (%s)",
        vg__host0(o), vg_err_failure(f), c->dns_failure[0] != '\0' ? c->dns_failure : "no address");
    return true;
}

enum vg__step { VG__TCP, VG__TLS, VG__TLS_VALID };

static bool
vg__step_tried(const struct vg_ctrl_endpoint *ce, enum vg__step s)
{
    return s == VG__TCP ? ce->tcp_ok || ce->tcp_failure[0] != '\0' : ce->tls_present;
}

static bool
vg__step_ok(const struct vg_ctrl_endpoint *ce, enum vg__step s)
{
    switch (s) {
    case VG__TCP:
        return ce->tcp_ok;
    case VG__TLS:
        return ce->tls_ok;
    case VG__TLS_VALID:
        break;
    }
    return vg_cmp_ctrl_tls_valid(ce);
}

/*
 * What the control saw of a step on the probe's endpoints of hop `depth` (only `addr` when not
 * NULL): 1 it succeeded, 0 it failed wherever it was tried, -1 no data; *where is the control's
 * endpoint that says so, when there is one. The control measures the first hop only: the
 * endpoints the probe sent it first, then any of its own. Past the first hop, or without endpoint
 * data, its fetch of the final page speaks for the chain (a failed fetch does not say a
 * certificate was invalid).
 */
static int
vg__ctrl_view(const struct vg_obs *o, const struct vg_ctrl *c, int depth, const char *addr,
              enum vg__step s, const struct vg_ctrl_endpoint **where)
{
    bool tried = false;

    *where = NULL;
    if (depth == 0) {
        for (size_t i = 0; i < o->n_ep; i++) {
            const struct vg_ctrl_endpoint *ce;

            if (o->ep[i].depth != 0 || (addr != NULL && strcmp(o->ep[i].addr, addr) != 0)) {
                continue;
            }
            ce = vg_ctrl_endpoint(c, o->ep[i].addr);
            if (ce == NULL || !vg__step_tried(ce, s)) {
                continue;
            }
            if (vg__step_ok(ce, s)) {
                *where = ce;
                return 1;
            }
            if (*where == NULL) {
                *where = ce;
            }
            tried = true;
        }
        for (size_t i = 0; !tried && i < c->n_ep; i++) {
            if (vg__step_tried(&c->ep[i], s) && vg__step_ok(&c->ep[i], s)) {
                *where = &c->ep[i];
                return 1;
            }
        }
        for (size_t i = 0; !tried && i < c->n_ep; i++) {
            if (vg__step_tried(&c->ep[i], s)) {
                *where = &c->ep[i];
                tried = true;
            }
        }
        if (tried) {
            return 0;
        }
    }
    if (depth != o->final_depth || (s != VG__TCP && !o->https)) {
        return -1;
    }
    if (vg_cmp_ctrl_http_ok(c)) {
        return 1;
    }
    return vg_cmp_ctrl_http_failed(c) && s != VG__TLS_VALID ? 0 : -1;
}

/* C4: a certificate that fails validation here while the control's validates. Notes in *bad the
 * first endpoint whose certificate failed on both sides (for C7). */
static bool
vg__c_mitm_invalid(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v,
                   const struct vg_obs_endpoint **bad, const struct vg_ctrl_endpoint **bad_ce)
{
    char desc[640];

    *bad = NULL;
    *bad_ce = NULL;
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];
        const struct vg_ctrl_endpoint *ce;
        int view;

        if (!vg__cert_invalid(e)) {
            continue;
        }
        view = vg__ctrl_view(o, c, e->depth, e->addr, VG__TLS_VALID, &ce);
        if (view == 0 && *bad == NULL) {
            *bad = e;
            *bad_ce = ce;
        }
        if (view != 1) {
            continue;
        }
        vg__cert_desc(e, desc, sizeof(desc));
        vg__verdict_decide(v, "intercepted", "tls.mitm",
                           "%s, while the control validated the certificate for the same name %s%s",
                           desc, ce != NULL ? "on " : "when it fetched the page",
                           ce != NULL ? ce->addr : "");
        return true;
    }
    return false;
}

static bool
vg__chain_shared(const struct vg_obs_endpoint *e, const struct vg_ctrl_endpoint *ce)
{
    if (strcmp(e->leaf_spki, ce->leaf_spki) == 0) {
        return true;
    }
    for (size_t i = 0; i < e->n_ca_spki && i < VG_CTRL_MAX_CA; i++) {
        for (size_t j = 0; j < ce->n_ca_spki && j < VG_CTRL_MAX_CA; j++) {
            if (e->ca_spki[i][0] != '\0' && strcmp(e->ca_spki[i], ce->ca_spki[j]) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* C5: a valid chain with no key in common with any chain the control validated. */
static bool
vg__c_mitm_trusted(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];
        const struct vg_ctrl_endpoint *cmp = NULL;
        bool shared = false;

        if (e->depth != 0 || !e->tls_attempted || e->tcp_err != 0 || e->tls_err != 0 ||
            e->verify_err != 0 || e->leaf_spki[0] == '\0' || e->n_ca_spki == 0) {
            continue;
        }
        for (size_t j = 0; j < c->n_ep && !shared; j++) {
            const struct vg_ctrl_endpoint *ce = &c->ep[j];

            if (!ce->x_present || !vg_cmp_ctrl_tls_valid(ce) || ce->leaf_spki[0] == '\0' ||
                ce->n_ca_spki == 0) {
                continue;
            }
            if (cmp == NULL || strcmp(ce->addr, e->addr) == 0) {
                cmp = ce;
            }
            shared = vg__chain_shared(e, ce);
        }
        if (cmp == NULL || shared) {
            continue;
        }
        vg__verdict_decide(
            v, "intercepted", "tls.mitm",
            "the certificate %s issued by %s on %s validates on this device, but neither "
            "its key nor any CA key of its chain is in the chains the control validated "
            "for the same name (on %s: leaf key %.16s, here %.16s), so a CA this device "
            "was made to trust intercepts the connection",
            e->subject, e->issuer, e->addr, cmp->addr, cmp->leaf_spki, e->leaf_spki);
        return true;
    }
    return false;
}

/* C6: answers the control does not know, and what they led to is not the site. */
static bool
vg__c_dns_inconsistent(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    char why[512], addrs[256], mine[256], theirs[256];
    size_t n = 0, n_fail = 0;
    int err = 0;

    if (o->host_is_ip || o->sys_failure != 0 || o->n_dns_addrs == 0 ||
        v->ooni.x_dns_consistency != 0) {
        return false;
    }
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];
        int fail = e->tcp_err != 0     ? e->tcp_err
                   : !e->tls_attempted ? 0
                   : e->tls_err != 0   ? e->tls_err
                                       : e->verify_err;

        if (e->depth != 0 || e->from_udp_only) {
            continue;
        }
        n++;
        if (fail != 0) {
            n_fail++;
            if (err == 0) {
                err = fail;
            }
        }
    }
    if (n > 0 && n_fail == n) {
        snprintf(why, sizeof(why), "connecting to it failed (%s)", vg_err_failure(err));
    } else if (o->http_attempted && o->http_failure != 0) {
        snprintf(why, sizeof(why), "the request failed (%s)", vg_err_failure(o->http_failure));
    } else if (o->http_attempted && o->blockpage != NULL) {
        snprintf(why, sizeof(why), "it served the block page %s", o->blockpage);
    } else if (o->http_attempted && !o->https &&
               (vg_cmp_ctrl_http_ok(c) || vg_cmp_ctrl_http_failed(c)) &&
               vg_cmp_http_diff(&v->ooni)) {
        snprintf(why, sizeof(why), "it served a page (%s) unlike the control's (%s)",
                 vg__probe_page(o, mine, sizeof(mine)), vg__ctrl_page(c, theirs, sizeof(theirs)));
    } else {
        return false;
    }
    vg__verdict_decide(
        v, "blocked", "dns.inconsistent",
        "the system resolver answered %s with %s, which the control does not confirm (it "
        "resolves the name to %s), and %s",
        vg__host0(o), o->dns_addrs[0], vg__ctrl_addrs(c, addrs, sizeof(addrs)), why);
    return true;
}

/* C7: the certificate fails on both sides and nothing was fetched: a broken site. */
static bool
vg__c_both_invalid(const struct vg_obs *o, const struct vg_obs_endpoint *bad,
                   const struct vg_ctrl_endpoint *bad_ce, struct vg_decision *v)
{
    char desc[640], cause[32];

    if (bad == NULL || (o->http_attempted && o->http_failure == 0)) {
        return false;
    }
    vg__cert_desc(bad, desc, sizeof(desc));
    snprintf(cause, sizeof(cause), "tls.%s", vg__cert_reason(bad->verify_err));
    vg__verdict_decide(v, "down", cause, "%s, and the control's handshake failed too (%s)", desc,
                       bad_ce != NULL && bad_ce->tls_failure[0] != '\0' ? bad_ce->tls_failure
                                                                        : "certificate not valid");
    return true;
}

/* C8: every endpoint of the final hop failed to connect or to complete the handshake. */
static bool
vg__c_connect(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    struct vg__tally t;
    size_t n, n_tls;
    const char *first_addr;
    const struct vg_ctrl_endpoint *ce;
    char cause[32];
    int err, view;

    if (!vg__tally_final(o, &t)) {
        return false;
    }
    n = t.n;
    n_tls = t.n_tls;
    first_addr = t.tcp_addr;
    if (n_tls == 0) {
        err = t.tcp_err;
        vg__cause(cause, sizeof(cause), "tcp", err);
        view = vg__ctrl_view(o, c, o->final_depth, NULL, VG__TCP, &ce);
        if (view == 1) {
            vg__verdict_decide(
                v, "blocked", cause,
                "TCP connect failed on every address of %s (%s on %s%s) while the control "
                "%s%s",
                o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "",
                ce != NULL ? "connected to " : "fetched the page", ce != NULL ? ce->addr : "");
        } else if (view == 0) {
            vg__verdict_decide(
                v, "down", cause,
                "TCP connect failed on every address of %s (%s on %s%s) and the control's "
                "attempt failed too (%s)",
                o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "",
                ce != NULL ? ce->tcp_failure : c->http_failure);
        } else {
            vg__verdict_decide(
                v, "unknown", cause,
                "TCP connect failed on every address of %s (%s on %s%s) and the control "
                "reported nothing for them",
                o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "");
        }
        return true;
    }
    err = t.tls_err;
    vg__cause(cause, sizeof(cause), "tls", err);
    view = vg__ctrl_view(o, c, o->final_depth, NULL, VG__TLS, &ce);
    if (view == 1 && (err == VG_ECONNRESET || err == VG_ETIMEDOUT || err == VG_EEOF)) {
        vg__verdict_decide(
            v, "blocked", cause,
            "TCP connected but the TLS handshake with SNI %s ended in %s (%zu of %zu "
            "addresses) while the control's handshake %s%s succeeded",
            o->host, vg_err_failure(err), n_tls, n, ce != NULL ? "on " : "for the page",
            ce != NULL ? ce->addr : "");
    } else if (view == 0) {
        vg__verdict_decide(
            v, "down", cause,
            "the TLS handshake with SNI %s failed (%s on %zu of %zu addresses) and the "
            "control's failed too (%s)",
            o->host, vg_err_failure(err), n_tls, n, ce != NULL ? ce->tls_failure : c->http_failure);
    } else {
        vg__verdict_decide(v, "unknown", cause, "the TLS handshake with SNI %s failed (%s)%s",
                           o->host, vg_err_failure(err),
                           view == 1 ? " although the control's succeeded"
                                     : " and the control reported no handshake for it");
    }
    return true;
}

/* C9 to C11: the request and the page. Always decides. */
static void
vg__c_http(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    char cause[32], mine[256], theirs[256], note[256] = "";
    int f = o->http_failure;

    vg__ctrl_page(c, theirs, sizeof(theirs));
    if (!o->http_attempted) {
        vg__verdict_decide(v, "unknown", "",
                           "no request could be made to %s; the control's request: %s", o->host,
                           theirs);
        return;
    }
    if (f != 0) {
        bool dns = f == VG_EDNS_NXDOMAIN || f == VG_EDNS_NOANSWER;
        bool hard =
            f == VG_ECONNRESET || f == VG_ECONNABORTED || f == VG_ETIMEDOUT || f == VG_EEOF || dns;

        vg__cause(cause, sizeof(cause), dns ? "dns" : "http", f);
        /* The site's own broken redirect: the control got the same redirect (it reports an
         * unfollowable Location as the final answer). Misconfiguration, not interference. */
        if (f == VG_EHTTP_LOCATION && c->status >= 300 && c->status < 400) {
            vg__verdict_decide(v, "down", cause,
                               "%s redirects to an invalid location (%s); the control got the same "
                               "redirect (%s)",
                               o->host, vg_err_failure(f), theirs);
            return;
        }
        if (vg_cmp_ctrl_http_ok(c)) {
            vg__verdict_decide(
                v, hard ? "blocked" : "unknown", cause,
                "the HTTP request to %s%s%s failed (%s) while the control fetched the page "
                "(%s)",
                o->host, o->http_addr[0] != '\0' ? " via " : "", o->http_addr, vg_err_failure(f),
                theirs);
        } else {
            vg__verdict_decide(
                v, vg_cmp_ctrl_http_failed(c) ? "down" : "unknown", cause,
                "the HTTP request to %s%s%s failed (%s) and the control's request %s", o->host,
                o->http_addr[0] != '\0' ? " via " : "", o->http_addr, vg_err_failure(f),
                vg_cmp_ctrl_http_failed(c) ? theirs : "gave no result");
        }
        return;
    }
    vg__probe_page(o, mine, sizeof(mine));
    if (o->blockpage != NULL) {
        vg__verdict_decide(
            v, "blocked", "http.blockpage",
            "the response from %s matches the block page fingerprint %s (status %d), while "
            "the control's page is %s",
            o->http_addr, o->blockpage, o->status, theirs);
        return;
    }
    if (v->ooni.x_dns_consistency == 0 && o->n_dns_addrs > 0) {
        snprintf(note, sizeof(note),
                 ", although the system resolver's answer %s is not among the control's",
                 o->dns_addrs[0]);
    }
    if (o->https) {
        vg__verdict_decide(
            v, "accessible", "",
            "fetched https://%s over a valid certificate (%s); the control's page: %s%s", o->host,
            mine, theirs, note);
        return;
    }
    if (!vg_cmp_ctrl_http_ok(c)) {
        vg__verdict_decide(
            v, "unknown", "",
            "page fetched from %s (%s) but the control's request %s, so there is nothing "
            "to compare it with",
            o->http_addr, mine, vg_cmp_ctrl_http_failed(c) ? theirs : "gave no result");
        return;
    }
    if (vg_cmp_http_diff(&v->ooni)) {
        char bp[32] = "unknown";

        if (v->ooni.body_proportion >= 0) {
            snprintf(bp, sizeof(bp), "%.2f", v->ooni.body_proportion);
        }
        vg__verdict_decide(v, "blocked", "http.diff",
                           "the page from %s (%s) differs from the control's (%s): status %s, body "
                           "proportion %s, uncommon headers %s, title %s",
                           o->http_addr, mine, theirs,
                           v->ooni.status_code_match == 1 ? "same" : "different", bp,
                           v->ooni.headers_match == 1 ? "shared" : "not shared",
                           v->ooni.title_match == 1 ? "same" : "different");
        return;
    }
    vg__verdict_decide(v, "accessible", "",
                       "fetched http://%s from %s (%s) and it matches the control's page (%s)%s",
                       o->host, o->http_addr, mine, theirs, note);
}

static void
vg__decide_with_control(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    const struct vg_obs_endpoint *bad;
    const struct vg_ctrl_endpoint *bad_ce;

    if (vg__c_bogon(o, c, v) || vg__c_injected(o, c, v) || vg__c_dns_failure(o, c, v) ||
        vg__c_mitm_invalid(o, c, v, &bad, &bad_ce) || vg__c_mitm_trusted(o, c, v) ||
        vg__c_dns_inconsistent(o, c, v) || vg__c_both_invalid(o, bad, bad_ce, v) ||
        vg__c_connect(o, c, v)) {
        return;
    }
    vg__c_http(o, c, v);
}

/* A control was asked for and none came: keep only what needs no control. */
static void
vg__control_unreachable(const struct vg_obs *o, struct vg_decision *v)
{
    static const char *const proofs[] = {"dns.bogon",     "dns.injected", "dns.nxdomain",
                                         "dns.no_answer", "tls.mitm",     "http.blockpage"};
    bool keep = strcmp(v->verdict, "accessible") == 0;

    for (size_t i = 0; !keep && i < sizeof(proofs) / sizeof(proofs[0]); i++) {
        keep = strcmp(v->verdict, "unknown") != 0 && strcmp(v->cause, proofs[i]) == 0;
    }
    if (!keep) {
        v->verdict = "unknown";
    }
    vg__catf(v->evidence, sizeof(v->evidence), "; the control could not be obtained (%s)",
             o->control_failure);
}

void
vg_ooni_keys_null(struct vg_ooni_keys *k)
{
    k->dns_consistency = -1;
    k->body_proportion = -1.0;
    k->body_length_match = -1;
    k->status_code_match = -1;
    k->headers_match = -1;
    k->title_match = -1;
    k->x_dns_consistency = -1;
}

/*
 * tls:// and dns:// targets (no page): the DNS rules, then for TLS endpoints the interception and
 * connect rules; what passes them is accessible. OONI's keys stay null: these are not
 * web_connectivity measurements.
 */
static void
vg__decide_endpoint(const struct vg_obs *o, struct vg_decision *v)
{
    size_t n_valid = 0, n = 0;

    if (vg__dns_decision(o, v)) {
        return;
    }
    if (o->target == VG_TARGET_DNS) {
        v->verdict = "accessible";
        snprintf(v->evidence, sizeof(v->evidence),
                 "%s resolves (%zu address%s from the system resolver%s) with no sign of "
                 "tampering",
                 o->host, o->n_sys_addrs, o->n_sys_addrs == 1 ? "" : "es",
                 o->udp_used ? ", consistent replies over UDP" : "");
        return;
    }
    if (vg__mitm_decision(o, v) || vg__connect_decision(o, v)) {
        return;
    }
    for (size_t i = 0; i < o->n_ep; i++) {
        n += o->ep[i].tls_attempted;
        n_valid += o->ep[i].tls_attempted && o->ep[i].tcp_err == 0 && o->ep[i].tls_err == 0 &&
                   o->ep[i].verify_err == 0;
    }
    if (n_valid > 0) {
        v->verdict = "accessible";
        snprintf(v->evidence, sizeof(v->evidence),
                 "TLS handshake with %s completed with a valid certificate on %zu of %zu "
                 "addresses",
                 o->host, n_valid, n);
        return;
    }
    snprintf(v->evidence, sizeof(v->evidence), "no TLS handshake could be made with %s", o->host);
}

void
vg_verdict_decide(const struct vg_obs *o, struct vg_decision *v)
{
    memset(v, 0, sizeof(*v));
    v->verdict = "unknown";
    if (o->target != VG_TARGET_WEB) {
        vg_cmp_ooni(o, NULL, v);
        vg__decide_endpoint(o, v);
        return;
    }
    /* OONI's keys (null is -1, not the 0 of memset), blocking and accessible. Without a control
     * this leaves only OONI's first rule: an https page fetched is accessible. */
    vg_cmp_ooni(o, o->ctrl, v);
    if (o->ctrl != NULL) {
        vg__decide_with_control(o, o->ctrl, v);
        return;
    }
    vg__decide_alone(o, v);
    if (o->control_failure[0] != '\0') {
        vg__control_unreachable(o, v);
    }
}

/* Known block pages, as body substrings (OONI fastpath-style fingerprints). */
static const struct {
    const char *name;
    const char *needle;
} vg__blockpages[] = {
    {"ir.iframe.10.10.34.34", "iframe src=\"http://10.10.34.34"},
    {"ir.iframe.10.10.34.35", "iframe src=\"http://10.10.34.35"},
    {"ir.iframe.10.10.34.36", "iframe src=\"http://10.10.34.36"},
};

const char *
vg_blockpage_match(const unsigned char *body, size_t len)
{
    for (size_t i = 0; i < sizeof(vg__blockpages) / sizeof(vg__blockpages[0]); i++) {
        const char *n = vg__blockpages[i].needle;

        if (len > 0 && memmem(body, len, n, strlen(n)) != NULL) {
            return vg__blockpages[i].name;
        }
    }
    return NULL;
}

/*
 * What one address showed by itself (x_endpoints): a connect failure tells nothing of the site
 * (unknown); a handshake cut after the ClientHello (reset, timeout, EOF) is the signature of SNI
 * filtering (blocked), another handshake failure is not (unknown); a completed handshake with an
 * invalid certificate is a man-in-the-middle (intercepted); anything else, including an
 * endpoint without TLS, is accessible. *failure gets the failure behind the verdict, 0 if none.
 */
enum vg_verdict
vg_verdict_endpoint(const struct vg_obs_endpoint *e, int *failure)
{
    *failure = 0;
    if (e->tcp_err != 0) {
        *failure = e->tcp_err;
        return VG_VERDICT_UNKNOWN;
    }
    if (e->tls_attempted && e->tls_err != 0) {
        *failure = e->tls_err;
        return e->tls_err == VG_ECONNRESET || e->tls_err == VG_ETIMEDOUT || e->tls_err == VG_EEOF
                   ? VG_VERDICT_BLOCKED
                   : VG_VERDICT_UNKNOWN;
    }
    if (e->tls_attempted && e->verify_err != 0) {
        *failure = e->verify_err;
        return VG_VERDICT_INTERCEPTED;
    }
    return VG_VERDICT_ACCESSIBLE;
}

static const char *const vg__verdict_names[VG_VERDICT_COUNT] = {
#define VG__VERDICT_NAME(e, name, meaning) name,
    VG_VERDICT_MAP(VG__VERDICT_NAME)
#undef VG__VERDICT_NAME
};

static const char *const vg__verdict_meanings[VG_VERDICT_COUNT] = {
#define VG__VERDICT_MEANING(e, name, meaning) meaning,
    VG_VERDICT_MAP(VG__VERDICT_MEANING)
#undef VG__VERDICT_MEANING
};

const char *
vg_verdict_name(enum vg_verdict v)
{
    return (unsigned)v < VG_VERDICT_COUNT ? vg__verdict_names[v] : "unknown";
}

const char *
vg_verdict_meaning(enum vg_verdict v)
{
    return (unsigned)v < VG_VERDICT_COUNT ? vg__verdict_meanings[v] : "";
}

bool
vg_verdict_parse(const char *name, enum vg_verdict *out)
{
    for (unsigned i = 0; name != NULL && i < VG_VERDICT_COUNT; i++) {
        if (strcmp(name, vg__verdict_names[i]) == 0) {
            *out = (enum vg_verdict)i;
            return true;
        }
    }
    return false;
}
