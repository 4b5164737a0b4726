/* SPDX-License-Identifier: MIT */
/*
 * verdict_ctrl.c - vigie's verdict with a control; the probe-only rules, the entry point and the
 * tls:// and dns:// targets without a control are in verdict.c, those targets with a control in
 * verdict_target.c (which reuses C1 to C3, C5, C6 and C8).
 *
 * WITH A CONTROL (o->ctrl != NULL: a test helper's THResponse) blocked needs the control's
 * evidence or a self-evident proof, and a step that fails on both sides is down. First match:
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
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meas/compare.h"
#include "meas/verdict.h"
#include "meas/verdict_impl.h"
#include "util/err.h"
#include "util/mem.h"
#include "vigie/vigie.h"

static void vg__catf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

void
vg__verdict_decide(struct vg_decision *v, enum vg_verdict verdict, const char *cause,
                   const char *fmt, ...)
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
    snprintf(out, cap, "%s.%s", stage, vg__verdict_reason(err));
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
    if (vg_ctrl_http_ok(c)) {
        snprintf(out, cap, "status %d, %ld bytes%s%.120s%s", c->status, c->body_length,
                 c->title[0] != '\0' ? ", title \"" : "", c->title,
                 c->title[0] != '\0' ? "\"" : "");
    } else if (vg_ctrl_http_failed(c)) {
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
    if (vg_ctrl_has_addr(c, ip)) {
        return false;
    }
    vg__verdict_decide(v, VG_VERDICT_BLOCKED, "dns.bogon",
                       "DNS answered %s with %s, while the control resolves it to %s", o->host,
                       o->bogon, vg__ctrl_addrs(c, addrs, sizeof(addrs)));
    return true;
}

static bool
vg__reply_agrees(const struct vg_obs_reply *r, const struct vg_ctrl *c)
{
    for (size_t i = 0; i < r->n_addrs && i < VG_OBS_REPLY_ADDRS; i++) {
        if (vg_ctrl_has_addr(c, r->addrs[i])) {
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
        vg__verdict_decide(v, VG_VERDICT_BLOCKED, "dns.injected",
                           "%s; the control resolves %s to %s", o->injected, vg__host0(o), addrs);
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
                v, VG_VERDICT_BLOCKED, "dns.injected",
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
            v,
            f == VG_EDNS_NXDOMAIN || f == VG_EDNS_NOANSWER ? VG_VERDICT_BLOCKED
                                                           : VG_VERDICT_UNKNOWN,
            cause, "the system resolver says %s (%s) but the control resolves it to %s",
            vg__host0(o), vg_err_failure(f), vg__ctrl_addrs(c, addrs, sizeof(addrs)));
        return true;
    }
    vg__verdict_decide(
        v, VG_VERDICT_DOWN, cause,
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
    return vg_ctrl_tls_valid(ce);
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
    if (vg_ctrl_http_ok(c)) {
        return 1;
    }
    return vg_ctrl_http_failed(c) && s != VG__TLS_VALID ? 0 : -1;
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

        if (!vg__verdict_cert_invalid(e)) {
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
        vg__verdict_cert_desc(e, desc, sizeof(desc));
        vg__verdict_decide(v, VG_VERDICT_INTERCEPTED, "tls.mitm",
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

            if (!ce->x_present || !vg_ctrl_tls_valid(ce) || ce->leaf_spki[0] == '\0' ||
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
            v, VG_VERDICT_INTERCEPTED, "tls.mitm",
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
    } else if (o->http_attempted && !o->https && (vg_ctrl_http_ok(c) || vg_ctrl_http_failed(c)) &&
               vg_cmp_http_diff(&v->ooni)) {
        snprintf(why, sizeof(why), "it served a page (%s) unlike the control's (%s)",
                 vg__probe_page(o, mine, sizeof(mine)), vg__ctrl_page(c, theirs, sizeof(theirs)));
    } else {
        return false;
    }
    vg__verdict_decide(
        v, VG_VERDICT_BLOCKED, "dns.inconsistent",
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
    vg__verdict_cert_desc(bad, desc, sizeof(desc));
    snprintf(cause, sizeof(cause), "tls.%s", vg__cert_reason(bad->verify_err));
    vg__verdict_decide(v, VG_VERDICT_DOWN, cause, "%s, and the control's handshake failed too (%s)",
                       desc,
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

    if (!vg__verdict_tally_final(o, &t)) {
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
                v, VG_VERDICT_BLOCKED, cause,
                "TCP connect failed on every address of %s (%s on %s%s) while the control "
                "%s%s",
                o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "",
                ce != NULL ? "connected to " : "fetched the page", ce != NULL ? ce->addr : "");
        } else if (view == 0) {
            vg__verdict_decide(
                v, VG_VERDICT_DOWN, cause,
                "TCP connect failed on every address of %s (%s on %s%s) and the control's "
                "attempt failed too (%s)",
                o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "",
                ce != NULL ? ce->tcp_failure : c->http_failure);
        } else {
            vg__verdict_decide(
                v, VG_VERDICT_UNKNOWN, cause,
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
            v, VG_VERDICT_BLOCKED, cause,
            "TCP connected but the TLS handshake with SNI %s ended in %s (%zu of %zu "
            "addresses) while the control's handshake %s%s succeeded",
            o->host, vg_err_failure(err), n_tls, n, ce != NULL ? "on " : "for the page",
            ce != NULL ? ce->addr : "");
    } else if (view == 0) {
        vg__verdict_decide(
            v, VG_VERDICT_DOWN, cause,
            "the TLS handshake with SNI %s failed (%s on %zu of %zu addresses) and the "
            "control's failed too (%s)",
            o->host, vg_err_failure(err), n_tls, n, ce != NULL ? ce->tls_failure : c->http_failure);
    } else {
        vg__verdict_decide(v, VG_VERDICT_UNKNOWN, cause,
                           "the TLS handshake with SNI %s failed (%s)%s", o->host,
                           vg_err_failure(err),
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
        vg__verdict_decide(v, VG_VERDICT_UNKNOWN, "",
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
            vg__verdict_decide(v, VG_VERDICT_DOWN, cause,
                               "%s redirects to an invalid location (%s); the control got the same "
                               "redirect (%s)",
                               o->host, vg_err_failure(f), theirs);
            return;
        }
        if (vg_ctrl_http_ok(c)) {
            vg__verdict_decide(
                v, hard ? VG_VERDICT_BLOCKED : VG_VERDICT_UNKNOWN, cause,
                "the HTTP request to %s%s%s failed (%s) while the control fetched the page "
                "(%s)",
                o->host, o->http_addr[0] != '\0' ? " via " : "", o->http_addr, vg_err_failure(f),
                theirs);
        } else {
            vg__verdict_decide(
                v, vg_ctrl_http_failed(c) ? VG_VERDICT_DOWN : VG_VERDICT_UNKNOWN, cause,
                "the HTTP request to %s%s%s failed (%s) and the control's request %s", o->host,
                o->http_addr[0] != '\0' ? " via " : "", o->http_addr, vg_err_failure(f),
                vg_ctrl_http_failed(c) ? theirs : "gave no result");
        }
        return;
    }
    vg__probe_page(o, mine, sizeof(mine));
    if (o->blockpage != NULL) {
        vg__verdict_decide(
            v, VG_VERDICT_BLOCKED, "http.blockpage",
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
            v, VG_VERDICT_ACCESSIBLE, "",
            "fetched https://%s over a valid certificate (%s); the control's page: %s%s", o->host,
            mine, theirs, note);
        return;
    }
    if (!vg_ctrl_http_ok(c)) {
        vg__verdict_decide(
            v, VG_VERDICT_UNKNOWN, "",
            "page fetched from %s (%s) but the control's request %s, so there is nothing "
            "to compare it with",
            o->http_addr, mine, vg_ctrl_http_failed(c) ? theirs : "gave no result");
        return;
    }
    if (vg_cmp_http_diff(&v->ooni)) {
        char bp[48] = "body proportion unknown";

        if (v->ooni.body_proportion >= 0) {
            snprintf(bp, sizeof(bp), "body proportion %.2f", v->ooni.body_proportion);
        }
        vg__verdict_decide(v, VG_VERDICT_BLOCKED, "http.diff",
                           "the page from %s (%s) differs from the control's (%s): status %s, %s, "
                           "uncommon headers %s, title %s",
                           o->http_addr, mine, theirs,
                           v->ooni.status_code_match == 1 ? "same" : "different", bp,
                           v->ooni.headers_match == 1 ? "shared" : "not shared",
                           v->ooni.title_match == 1 ? "same" : "different");
        return;
    }
    vg__verdict_decide(v, VG_VERDICT_ACCESSIBLE, "",
                       "fetched http://%s from %s (%s) and it matches the control's page (%s)%s",
                       o->host, o->http_addr, mine, theirs, note);
}

void
vg__verdict_with_control(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
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

/* tls:// and dns:// targets (verdict_target.c): the DNS rules, C1 to C3. */
bool
vg__verdict_ctrl_dns(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    return vg__c_bogon(o, c, v) || vg__c_injected(o, c, v) || vg__c_dns_failure(o, c, v);
}

/* tls:// targets (verdict_target.c), after their own interception rule: C5, C6 and C8. */
bool
vg__verdict_ctrl_endpoints(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    return vg__c_mitm_trusted(o, c, v) || vg__c_dns_inconsistent(o, c, v) || vg__c_connect(o, c, v);
}

/* A control was asked for and none came: keep only what needs no control. */
void
vg__verdict_control_unreachable(const struct vg_obs *o, struct vg_decision *v)
{
    static const char *const proofs[] = {"dns.bogon",     "dns.injected", "dns.nxdomain",
                                         "dns.no_answer", "tls.mitm",     "http.blockpage"};
    bool keep = v->verdict == VG_VERDICT_ACCESSIBLE;

    for (size_t i = 0; !keep && i < sizeof(proofs) / sizeof(proofs[0]); i++) {
        keep = v->verdict != VG_VERDICT_UNKNOWN && strcmp(v->cause, proofs[i]) == 0;
    }
    if (!keep) {
        v->verdict = VG_VERDICT_UNKNOWN;
    }
    vg__catf(v->evidence, sizeof(v->evidence), "; the control could not be obtained (%s)",
             o->control_failure);
}
