/* SPDX-License-Identifier: MIT */
/*
 * verdict_target.c - the verdict of tls:// and dns:// targets with a control: the helper measured
 * the same handshake or the same name (vigie's x_target extension of the test-helper protocol,
 * docs/helper.md). Without a control, or when it could not be obtained, verdict.c's probe-only
 * rules for these targets apply. First match:
 *  T1 the DNS rules C1 to C3 of verdict_ctrl.c: a bogon the control did not get, replies raced
 *     by a forged one, a lookup that failed here while the control resolves the name (blocked),
 *     or failed there too (down).
 *  T2 dns://: answers the control does not confirm (x_dns_consistency: no address in common, nor
 *     an autonomous system with --asn-db) -> unknown dns.inconsistent: without a connection a
 *     tampered answer and a CDN's regional one look alike (tls://NAME or https://NAME tell them
 *     apart); otherwise accessible.
 *  T3 tls://: a handshake completed with a certificate that fails validation here, and no chain
 *     of the control has that certificate (the same leaf, or the same key) -> intercepted
 *     tls.mitm, whether the control validated its own certificate (C4), got another invalid one
 *     (a second self-signed certificate) or none. Only the server holds its key: the same
 *     certificate on both sides is the server's own (a self-signed mail server), not an
 *     interception, and that address's own verdict is accessible (vg_verdict_mark_control).
 *  T4 tls://: C5 (a CA this device was made to trust), C6 (answers the control does not confirm
 *     and every connection to them failed) and C8 (every endpoint failed) of verdict_ctrl.c.
 *  T5 tls://: accessible when a handshake completed with a valid certificate or with the
 *     control's own certificate; unknown otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "meas/compare.h"
#include "meas/verdict.h"
#include "meas/verdict_impl.h"
#include "util/err.h"

/* Up to three addresses of a list, "a, b, c and 2 more"; `none` when it is empty. */
static const char *
vg__target_addrs(const char (*addrs)[48], size_t n, const char *none, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    if (n == 0) {
        snprintf(out, cap, "%s", none);
        return out;
    }
    for (size_t i = 0; i < n && i < 3 && len + 1 < cap; i++) {
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i > 0 ? ", " : "", addrs[i]);
    }
    if (n > 3 && len + 1 < cap) {
        snprintf(out + len, cap - len, " and %zu more", n - 3);
    }
    return out;
}

/* A chain of the control (any endpoint) that has e's certificate: the same leaf, or the same
 * leaf key. NULL when none. */
static const struct vg_ctrl_endpoint *
vg__target_same_cert(const struct vg_obs_endpoint *e, const struct vg_ctrl *c)
{
    for (size_t i = 0; i < c->n_ep && i < VG_CTRL_MAX_EP; i++) {
        const struct vg_ctrl_endpoint *ce = &c->ep[i];

        if ((e->leaf_sha256[0] != '\0' && strcmp(e->leaf_sha256, ce->leaf_sha256) == 0) ||
            (e->leaf_spki[0] != '\0' && strcmp(e->leaf_spki, ce->leaf_spki) == 0)) {
            return ce;
        }
    }
    return NULL;
}

/* The control's endpoint to compare e with: e's address when the control has a chain there,
 * else the first with a chain, else e's address (NULL when the control did not measure it). */
static const struct vg_ctrl_endpoint *
vg__target_ctrl_peer(const struct vg_obs_endpoint *e, const struct vg_ctrl *c)
{
    const struct vg_ctrl_endpoint *ce = vg_ctrl_endpoint(c, e->addr);

    if (ce != NULL && ce->leaf_sha256[0] != '\0') {
        return ce;
    }
    for (size_t i = 0; i < c->n_ep && i < VG_CTRL_MAX_EP; i++) {
        if (c->ep[i].leaf_sha256[0] != '\0') {
            return &c->ep[i];
        }
    }
    return ce;
}

void
vg_verdict_mark_control(struct vg_obs *o)
{
    for (size_t i = 0; i < o->n_ep; i++) {
        struct vg_obs_endpoint *e = &o->ep[i];

        e->ctrl_same_cert = o->target == VG_TARGET_TLS && o->ctrl != NULL &&
                            vg__verdict_cert_invalid(e) && vg__target_same_cert(e, o->ctrl) != NULL;
    }
}

/* T2: the answers against the control's. */
static void
vg__target_dns(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    char mine[200], theirs[200];

    vg__target_addrs(o->dns_addrs, o->n_dns_addrs, "no address", mine, sizeof(mine));
    if (c->n_addrs == 0) {
        snprintf(theirs, sizeof(theirs), "nothing (%s)",
                 c->dns_failure[0] != '\0' ? c->dns_failure : "no address");
    } else {
        vg__target_addrs(c->addrs, c->n_addrs, "", theirs, sizeof(theirs));
    }
    if (v->ooni.x_dns_consistency == 0) {
        vg__verdict_decide(
            v, VG_VERDICT_UNKNOWN, "dns.inconsistent",
            "the system resolver answered %s with %s, which the control does not confirm (it "
            "resolves the name to %s); without a connection vigie cannot tell a tampered answer "
            "from a regional one (measure tls://%s or https://%s to tell)",
            o->host, mine, theirs, o->host, o->host);
        return;
    }
    vg__verdict_decide(v, VG_VERDICT_ACCESSIBLE, "",
                       "%s resolves to %s (%zu address%s from the system resolver%s), consistent "
                       "with the control's answer (%s)",
                       o->host, mine, o->n_sys_addrs, o->n_sys_addrs == 1 ? "" : "es",
                       o->udp_used ? ", replies over UDP recorded" : "", theirs);
}

/* T3: a certificate that fails validation here and that the control did not see. */
static bool
vg__target_mitm(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    char desc[640];

    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];
        const struct vg_ctrl_endpoint *ce;

        if (!vg__verdict_cert_invalid(e) || vg__target_same_cert(e, c) != NULL) {
            continue;
        }
        vg__verdict_cert_desc(e, desc, sizeof(desc));
        ce = vg__target_ctrl_peer(e, c);
        if (ce != NULL && vg_ctrl_tls_valid(ce)) {
            vg__verdict_decide(v, VG_VERDICT_INTERCEPTED, "tls.mitm",
                               "%s, while the control validated the certificate for the same "
                               "name on %s",
                               desc, ce->addr);
        } else if (ce != NULL && ce->leaf_sha256[0] != '\0') {
            vg__verdict_decide(v, VG_VERDICT_INTERCEPTED, "tls.mitm",
                               "%s, while the control got another certificate on %s (leaf key "
                               "%.16s, here %.16s): not the server's own",
                               desc, ce->addr, ce->leaf_spki, e->leaf_spki);
        } else {
            vg__verdict_decide(v, VG_VERDICT_INTERCEPTED, "tls.mitm",
                               "%s, and the control got no certificate to compare it with (%s)",
                               desc,
                               ce != NULL && ce->tls_failure[0] != '\0' ? ce->tls_failure
                               : ce != NULL && !ce->tcp_ok && ce->tcp_failure[0] != '\0'
                                   ? ce->tcp_failure
                                   : "no handshake on that address");
        }
        return true;
    }
    return false;
}

/* T5: what completed. */
static void
vg__target_tls_end(const struct vg_obs *o, const struct vg_ctrl *c, struct vg_decision *v)
{
    const struct vg_obs_endpoint *own = NULL;
    const struct vg_ctrl_endpoint *seen = NULL;
    size_t n = 0, n_valid = 0, n_own = 0;
    char desc[640];

    for (size_t i = 0; i < o->n_ep; i++) {
        const struct vg_obs_endpoint *e = &o->ep[i];

        n += e->tls_attempted;
        if (!e->tls_attempted || e->tcp_err != 0 || e->tls_err != 0) {
            continue;
        }
        if (e->verify_err == 0) {
            n_valid++;
        } else if ((seen = vg__target_same_cert(e, c)) != NULL) {
            n_own++;
            own = own != NULL ? own : e;
        }
    }
    if (n_valid > 0) {
        vg__verdict_decide(v, VG_VERDICT_ACCESSIBLE, "",
                           "TLS handshake with %s completed with a valid certificate on %zu of "
                           "%zu addresses, as the control's",
                           o->host, n_valid, n);
        return;
    }
    if (own != NULL) {
        seen = vg__target_same_cert(own, c);
        vg__verdict_cert_desc(own, desc, sizeof(desc));
        vg__verdict_decide(v, VG_VERDICT_ACCESSIBLE, "",
                           "TLS handshake with %s completed on %zu of %zu addresses; the "
                           "certificate does not validate (%s) but the control got the same one "
                           "on %s (leaf %.16s): the server's own, not an interception",
                           o->host, n_own, n, desc, seen->addr, own->leaf_sha256);
        return;
    }
    vg__verdict_decide(v, VG_VERDICT_UNKNOWN, "", "no TLS handshake could be made with %s",
                       o->host);
}

void
vg__verdict_target_with_control(const struct vg_obs *o, const struct vg_ctrl *c,
                                struct vg_decision *v)
{
    if (vg__verdict_ctrl_dns(o, c, v)) {
        return;
    }
    if (o->target == VG_TARGET_DNS) {
        vg__target_dns(o, c, v);
        return;
    }
    if (vg__target_mitm(o, c, v) || vg__verdict_ctrl_endpoints(o, c, v)) {
        return;
    }
    vg__target_tls_end(o, c, v);
}
