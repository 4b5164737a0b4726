/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - vigie's verdict for one measurement (x_verdict, x_cause, x_evidence) and, through
 * lib/meas/compare.c, OONI's keys, blocking and accessible.
 *
 * WITHOUT A CONTROL (o->ctrl == NULL) the probe-only rules of docs/verdicts.md apply unchanged and
 * every OONI key is null. If a control was asked for but could not be obtained
 * (o->control_failure), the same rules run, then every verdict that only a control could confirm
 * becomes unknown, cause kept; the self-evident ones stay: a bogon (dns.bogon), disagreeing
 * replies to one query (dns.injected), a name the system resolver denies while another resolver
 * and a valid certificate prove it (dns.nxdomain, dns.no_answer), a certificate that does not
 * validate (tls.mitm), a known block page (http.blockpage), and an https page fetched over a
 * valid certificate (accessible). The evidence adds that the control failed.
 *
 * WITH A CONTROL the rules C1 to C11 of verdict_ctrl.c apply (docs/verdicts.md).
 *
 * Every evidence sentence names what the probe saw and what the control saw.
 */
#include "meas/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meas/compare.h"
#include "meas/verdict_impl.h"
#include "util/err.h"
#include "util/mem.h"
#include "vigie/vigie.h"

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
const char *
vg__verdict_reason(int err)
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
vg__verdict_set(struct vg_decision *v, enum vg_verdict verdict, const char *stage, int err)
{
    v->verdict = verdict;
    if (stage != NULL) {
        snprintf(v->cause, sizeof(v->cause), "%s.%s", stage, vg__verdict_reason(err));
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

/* Fill t; false when the rules have nothing to say (no endpoint, or one fully connected). */
bool
vg__verdict_tally_final(const struct vg_obs *o, struct vg__tally *t)
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
        vg__verdict_set(v, VG_VERDICT_BLOCKED, NULL, 0);
        snprintf(v->cause, sizeof(v->cause), "dns.bogon");
        snprintf(v->evidence, sizeof(v->evidence), "DNS answered %s with %s", o->host, o->bogon);
        return true;
    }
    if (o->injected[0] != '\0') {
        vg__verdict_set(v, VG_VERDICT_BLOCKED, NULL, 0);
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
        vg__verdict_set(v, VG_VERDICT_BLOCKED, "dns", o->sys_failure);
        snprintf(v->evidence, sizeof(v->evidence),
                 "the system resolver says %s (%s) but %s resolves it and %s serves a valid "
                 "certificate for it",
                 o->host, vg_err_failure(o->sys_failure), o->udp_resolver, valid->addr);
        return true;
    }
    if (o->n_ep == 0) {
        vg__verdict_set(v, VG_VERDICT_UNKNOWN, "dns", o->sys_failure);
        snprintf(v->evidence, sizeof(v->evidence),
                 "the system resolver failed for %s (%s); without a control vigie cannot tell "
                 "censorship from a missing site",
                 o->host, vg_err_failure(o->sys_failure));
        return true;
    }
    return false;
}

/* What is wrong with the certificate of an endpoint whose handshake completed. */
void
vg__verdict_cert_desc(const struct vg_obs_endpoint *e, char *out, size_t cap)
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
bool
vg__verdict_cert_invalid(const struct vg_obs_endpoint *e)
{
    return e->tls_attempted && e->tcp_err == 0 && e->tls_err == 0 && e->verify_err != 0;
}

static bool
vg__mitm_decision(const struct vg_obs *o, struct vg_decision *v)
{
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (!vg__verdict_cert_invalid(e)) {
            continue;
        }
        v->verdict = VG_VERDICT_INTERCEPTED;
        snprintf(v->cause, sizeof(v->cause), "tls.mitm");
        vg__verdict_cert_desc(e, v->evidence, sizeof(v->evidence));
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

    if (!vg__verdict_tally_final(o, &t)) {
        return false;
    }
    n = t.n;
    n_tls = t.n_tls;
    first_addr = t.tcp_addr;
    if (n_tls == 0) {
        err = t.tcp_err;
        vg__verdict_set(v, VG_VERDICT_UNKNOWN, "tcp", err);
        snprintf(v->evidence, sizeof(v->evidence),
                 "TCP connect failed on every address of %s (%s on %s%s); without a control "
                 "vigie cannot tell blocking from an unreachable server",
                 o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "");
        return true;
    }
    err = t.tls_err;
    if (err == VG_ECONNRESET || err == VG_ETIMEDOUT || err == VG_EEOF) {
        vg__verdict_set(v, VG_VERDICT_BLOCKED, "tls", err);
        snprintf(v->evidence, sizeof(v->evidence),
                 "TCP connected but the TLS handshake with SNI %s ended in %s right after the "
                 "ClientHello (%zu of %zu addresses)",
                 o->host, vg_err_failure(err), n_tls, n);
    } else {
        vg__verdict_set(v, VG_VERDICT_UNKNOWN, "tls", err);
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
        vg__verdict_set(v, VG_VERDICT_UNKNOWN, "http", o->http_failure);
        snprintf(v->evidence, sizeof(v->evidence), "the HTTP request to %s%s%s failed: %s", o->host,
                 o->http_addr[0] != '\0' ? " via " : "", o->http_addr,
                 vg_err_failure(o->http_failure));
        return;
    }
    if (o->http_attempted && o->blockpage != NULL) {
        v->verdict = VG_VERDICT_BLOCKED;
        snprintf(v->cause, sizeof(v->cause), "http.blockpage");
        snprintf(v->evidence, sizeof(v->evidence),
                 "the response from %s matches the block page fingerprint %s (status %d)",
                 o->http_addr, o->blockpage, o->status);
        return;
    }
    if (o->http_attempted && o->https) {
        v->verdict = VG_VERDICT_ACCESSIBLE;
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
        v->verdict = VG_VERDICT_ACCESSIBLE;
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
        v->verdict = VG_VERDICT_ACCESSIBLE;
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
    v->verdict = VG_VERDICT_UNKNOWN;
    if (o->target != VG_TARGET_WEB) {
        vg_cmp_ooni(o, NULL, &v->ooni, &v->blocking, &v->accessible);
        vg__decide_endpoint(o, v);
        return;
    }
    /* OONI's keys (null is -1, not the 0 of memset), blocking and accessible. Without a control
     * this leaves only OONI's first rule: an https page fetched is accessible. */
    vg_cmp_ooni(o, o->ctrl, &v->ooni, &v->blocking, &v->accessible);
    if (o->ctrl != NULL) {
        vg__verdict_with_control(o, o->ctrl, v);
        return;
    }
    vg__decide_alone(o, v);
    if (o->control_failure[0] != '\0') {
        vg__verdict_control_unreachable(o, v);
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
    /* Indonesia's national block page (Kominfo's TrustPositif, lamanlabuh.aduankonten.id):
     * "SITUS DIBLOKIR / WEBSITE BLOCKED" with the ministry's complaint address */
    {"id.trustpositif.aduankonten", "aduankonten@mail.kominfo.go.id"},
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
    return vg__verdict_names[(unsigned)v < VG_VERDICT_COUNT ? v : VG_VERDICT_UNKNOWN];
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
