#include "meas/verdict.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/mem.h"

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

    if (o->n_ep >= VG_OBS_MAX_EP)
        return NULL;
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
vg__set(struct vg_verdict *v, const char *verdict, const char *stage, int err)
{
    v->verdict = verdict;
    if (stage != NULL)
        snprintf(v->cause, sizeof(v->cause), "%s.%s", stage, vg__reason(err));
}

/* Among endpoints of depth d that pass the filter, the most telling error: a timeout or reset
 * weighs more than a refusal, which weighs more than anything else. */
static int
vg__dominant(const int *errs, size_t n)
{
    static const int order[] = {VG_ECONNRESET, VG_ETIMEDOUT, VG_EEOF, VG_ECONNREFUSED};

    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        for (size_t i = 0; i < n; i++) {
            if (errs[i] == order[k])
                return order[k];
        }
    }
    return n > 0 ? errs[0] : 0;
}

static const struct vg_obs_endpoint *
vg__first_valid_tls(const struct vg_obs *o)
{
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (e->tcp_err == 0 && e->tls_attempted && e->tls_err == 0 && e->verify_err == 0)
            return e;
    }
    return NULL;
}

static bool
vg__dns_decision(const struct vg_obs *o, struct vg_verdict *v)
{
    const struct vg_obs_endpoint *valid;

    if (o->bogon[0] != '\0') {
        vg__set(v, "blocked", NULL, 0);
        snprintf(v->cause, sizeof(v->cause), "dns.bogon");
        snprintf(v->evidence, sizeof(v->evidence), "DNS answered %s with %s", o->host, o->bogon);
        return true;
    }
    if (o->injected[0] != '\0') {
        vg__set(v, "blocked", NULL, 0);
        snprintf(v->cause, sizeof(v->cause), "dns.injected");
        snprintf(v->evidence, sizeof(v->evidence), "%s", o->injected);
        return true;
    }
    if (o->host_is_ip || o->sys_failure == 0)
        return false;
    valid = vg__first_valid_tls(o);
    if (o->udp_used && o->n_udp_addrs > 0 && valid != NULL &&
        (o->sys_failure == VG_EDNS_NXDOMAIN || o->sys_failure == VG_EDNS_NOANSWER)) {
        vg__set(v, "blocked", "dns", o->sys_failure);
        snprintf(v->evidence, sizeof(v->evidence),
                 "the system resolver says %s (%s) but %s resolves it and %s serves a valid "
                 "certificate for it",
                 o->host, vg_err_failure(o->sys_failure), o->udp_resolver, valid->addr);
        return true;
    }
    if (o->n_ep == 0) {
        vg__set(v, "unknown", "dns", o->sys_failure);
        snprintf(v->evidence, sizeof(v->evidence),
                 "the system resolver failed for %s (%s); without a control vigie cannot tell "
                 "censorship from a missing site",
                 o->host, vg_err_failure(o->sys_failure));
        return true;
    }
    return false;
}

static bool
vg__mitm_decision(const struct vg_obs *o, struct vg_verdict *v)
{
    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (!e->tls_attempted || e->tcp_err != 0 || e->tls_err != 0 || e->verify_err == 0)
            continue;
        v->verdict = "intercepted";
        snprintf(v->cause, sizeof(v->cause), "tls.mitm");
        if (e->self_signed)
            snprintf(v->evidence, sizeof(v->evidence), "self-signed certificate %s on %s",
                     e->subject, e->addr);
        else if (e->verify_err == VG_ETLS_UNKNOWN_CA)
            snprintf(v->evidence, sizeof(v->evidence),
                     "certificate %s issued by untrusted %s on %s", e->subject, e->issuer, e->addr);
        else
            snprintf(v->evidence, sizeof(v->evidence), "%s on %s (%s)", e->verify_reason, e->addr,
                     vg_err_failure(e->verify_err));
        return true;
    }
    return false;
}

static bool
vg__connect_decision(const struct vg_obs *o, struct vg_verdict *v)
{
    int tcp_errs[VG_OBS_MAX_EP], tls_errs[VG_OBS_MAX_EP];
    size_t n = 0, n_tcp = 0, n_tls = 0, n_ok = 0;
    const char *first_addr = NULL;
    int err;

    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        if (e->depth != o->final_depth)
            continue;
        n++;
        if (first_addr == NULL)
            first_addr = e->addr;
        if (e->tcp_err != 0)
            tcp_errs[n_tcp++] = e->tcp_err;
        else if (e->tls_attempted && e->tls_err != 0)
            tls_errs[n_tls++] = e->tls_err;
        else
            n_ok++;
    }
    if (n == 0 || n_ok > 0)
        return false;
    if (n_tls == 0) {
        err = vg__dominant(tcp_errs, n_tcp);
        vg__set(v, "unknown", "tcp", err);
        snprintf(v->evidence, sizeof(v->evidence),
                 "TCP connect failed on every address of %s (%s on %s%s); without a control "
                 "vigie cannot tell blocking from an unreachable server",
                 o->host, vg_err_failure(err), first_addr, n > 1 ? " and others" : "");
        return true;
    }
    err = vg__dominant(tls_errs, n_tls);
    if (err == VG_ECONNRESET || err == VG_ETIMEDOUT || err == VG_EEOF) {
        vg__set(v, "blocked", "tls", err);
        snprintf(v->evidence, sizeof(v->evidence),
                 "TCP connected but the TLS handshake with SNI %s ended in %s right after the "
                 "ClientHello (%zu of %zu addresses)",
                 o->host, vg_err_failure(err), n_tls, n);
    } else {
        vg__set(v, "unknown", "tls", err);
        snprintf(v->evidence, sizeof(v->evidence), "TLS handshake with %s failed: %s", o->host,
                 vg_err_failure(err));
    }
    return true;
}

void
vg_verdict_decide(const struct vg_obs *o, struct vg_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->verdict = "unknown";
    v->blocking = VG_BLOCKING_NULL;
    v->accessible = -1;

    /* OONI's rule: an HTTPS page fetched over a validated handshake is accessible. */
    if (o->https && o->http_attempted && o->http_failure == 0) {
        v->blocking = VG_BLOCKING_FALSE;
        v->accessible = 1;
    }
    if (vg__dns_decision(o, v) || vg__mitm_decision(o, v) || vg__connect_decision(o, v))
        return;
    if (o->http_attempted && o->http_failure != 0) {
        vg__set(v, "unknown", "http", o->http_failure);
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

        if (len > 0 && memmem(body, len, n, strlen(n)) != NULL)
            return vg__blockpages[i].name;
    }
    return NULL;
}
