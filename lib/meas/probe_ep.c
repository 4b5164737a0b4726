/* SPDX-License-Identifier: MIT */
/*
 * probe_ep.c - a measurement's endpoints: one per distinct address, TCP connect, then the TLS
 * handshake with SNI (a bounded number at once, the others queued connected); the first usable
 * endpoint carries the page.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/probe_impl.h"
#include "meas/record.h"
#include "net/conn.h"
#include "net/tls.h"
#include "util/mem.h"
#include "util/str.h"

static void vg__probe_ep_hs_next(struct vg__probe_loop *lp);
static void vg__probe_ep_hs_start(struct vg__ep *ep);

static void
vg__probe_ep_fmt_addr(const struct sockaddr *sa, char *ip, size_t iplen, char *addr, size_t alen,
                      uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)sa;

        inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(s4->sin_port);
        snprintf(addr, alen, "%s:%u", ip, *port);
    } else {
        const struct sockaddr_in6 *s6 = (const void *)sa;

        inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(s6->sin6_port);
        snprintf(addr, alen, "[%s]:%u", ip, *port);
    }
}

void
vg__probe_ep_release(struct vg__ep *ep)
{
    struct vg_meas *m = ep->m;

    if (ep->state == VG__EP_DONE) {
        return;
    }
    ep->state = VG__EP_DONE;
    vg_conn_close(ep->conn);
    ep->conn = NULL;
    vg__probe_pending_done(m);
}

/* The endpoint is usable for the page: fetch over it unless another one already does. */
static void
vg__probe_ep_usable(struct vg__ep *ep)
{
    struct vg_meas *m = ep->m;

    /* A control fetches the page only over addresses it resolved itself: an address supplied by
     * the probe may be a censor's block-page server and would poison the control. */
    if (m->fetch == NULL && !atomic_load(&m->p->interrupted) && ep->port == m->url.port &&
        !ep->from_job && strncmp(m->url.scheme, "http", 4) == 0) {
        vg__probe_fetch_start(m, ep);
        return;
    }
    vg__probe_ep_release(ep);
}

/* An event of the endpoint, from its step's start to now. */
static struct vg_rec_event
vg__probe_ep_event(const struct vg__ep *ep)
{
    struct vg_rec_event ev = {
        .t0 = ep->t0, .t = vg__probe_now(ep->m), .depth = ep->m->depth, .tid = ep->tid};

    return ev;
}

/* What the verdict keeps of a handshake: its failure, and when it completed (ti), the
 * certificate's validity and the chain's names and keys. */
static void
vg__probe_ep_tls_summary(struct vg_obs_endpoint *oe, int status, const struct vg_tls_info *ti)
{
    oe->tls_err = status;
    if (ti == NULL) {
        return;
    }
    oe->verify_err = ti->verify_err;
    snprintf(oe->verify_reason, sizeof(oe->verify_reason), "%s", ti->verify_reason);
    if (ti->n_certs == 0) {
        return;
    }
    snprintf(oe->subject, sizeof(oe->subject), "%s", ti->certs[0].subject);
    snprintf(oe->issuer, sizeof(oe->issuer), "%s", ti->certs[0].issuer);
    oe->self_signed = ti->certs[0].self_signed;
    memcpy(oe->leaf_sha256, ti->certs[0].sha256, sizeof(oe->leaf_sha256));
    memcpy(oe->leaf_spki, ti->certs[0].spki_sha256, sizeof(oe->leaf_spki));
    /* The CA keys of the chain this device validated (its trust anchor included, even when the
     * server sent its leaf alone), else those the peer sent. */
    if (ti->n_verified > 1) {
        for (size_t i = 1; i < ti->n_verified && oe->n_ca_spki < VG_CTRL_MAX_CA; i++) {
            memcpy(oe->ca_spki[oe->n_ca_spki++], ti->verified[i].spki_sha256,
                   sizeof(oe->ca_spki[0]));
        }
        return;
    }
    for (size_t i = 1; i < ti->n_certs && oe->n_ca_spki < VG_CTRL_MAX_CA; i++) {
        memcpy(oe->ca_spki[oe->n_ca_spki++], ti->certs[i].spki_sha256, sizeof(oe->ca_spki[0]));
    }
}

static void
vg__probe_ep_on_handshake(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg__ep *ep = arg;
    struct vg_meas *m = ep->m;

    m->lp->hs_active--;
    vg__probe_ep_hs_next(m->lp);
    struct vg_obs_endpoint *oe = ep->obs != SIZE_MAX ? &m->obs.ep[ep->obs] : NULL;
    struct vg_tls_info *ti = NULL;
    struct vg_rec_event ev;

    (void)n;
    if (status == 0) {
        ti = vg_xmalloc(sizeof(*ti));
        vg_tls_collect(vg_conn_ssl(c), ti);
    }
    ev = vg__probe_ep_event(ep);
    vg_rec_add_tls_handshake(m->tk, &ev, ep->addr, m->url.host, status, ti);
    if (oe != NULL) {
        vg__probe_ep_tls_summary(oe, status, ti);
    }
    if (ti != NULL) {
        bool valid = ti->verify_err == 0;

        memcpy(ep->alpn, ti->alpn, sizeof(ep->alpn));

        if (!valid && m->hop_failure == 0) {
            m->hop_failure = ti->verify_err;
        }
        vg_tls_info_cleanup(ti);
        free(ti);
        if (valid) {
            vg__probe_ep_usable(ep);
            return;
        }
    } else if (m->hop_failure == 0) {
        m->hop_failure = status;
    }
    vg__probe_ep_release(ep);
}

static void
vg__probe_ep_on_connect(struct vg_conn *c, int status, size_t n, void *arg)
{
    struct vg__ep *ep = arg;
    struct vg_meas *m = ep->m;
    struct vg_obs_endpoint *oe = ep->obs != SIZE_MAX ? &m->obs.ep[ep->obs] : NULL;
    struct vg_rec_event ev = vg__probe_ep_event(ep);

    (void)c;
    (void)n;
    vg_rec_add_tcp_connect(m->tk, &ev, ep->ip, ep->port, status);
    if (oe != NULL) {
        oe->tcp_err = status;
    }
    if (status < 0) {
        if (m->hop_failure == 0) {
            m->hop_failure = status;
        }
        vg__probe_ep_release(ep);
        return;
    }
    if (!ep->tls) {
        vg__probe_ep_usable(ep);
        return;
    }
    if (oe != NULL) {
        oe->tls_attempted = true;
    }
    ep->state = VG__EP_HANDSHAKE;
    /* Handshakes are CPU-bound: a bounded number run at once and the others wait, connected.
     * OpenSSL's per-handshake memory then stays off measurements that would only queue for the
     * CPU anyway. */
    if (m->lp->hs_active >= VG_TLS_HANDSHAKES_MAX) {
        if (m->lp->hs_tail != NULL) {
            m->lp->hs_tail->hs_next = ep;
        } else {
            m->lp->hs_head = ep;
        }
        m->lp->hs_tail = ep;
        return;
    }
    vg__probe_ep_hs_start(ep);
}

static void
vg__probe_ep_hs_start(struct vg__ep *ep)
{
    struct vg_meas *m = ep->m;
    struct vg_obs_endpoint *oe = ep->obs != SIZE_MAX ? &m->obs.ep[ep->obs] : NULL;
    struct ssl_st *ssl;

    ep->t0 = vg__probe_now(m);
    m->lp->hs_active++;
    if (vg_tls_new(m->p->ctx, vg_conn_fd(ep->conn), m->url.host, m->url.ip_family != 0, &ssl) < 0 ||
        vg_conn_handshake(ep->conn, ssl, vg__probe_step_ms(m, m->p->o.tls_timeout_ms),
                          vg__probe_ep_on_handshake, ep) < 0) {
        m->lp->hs_active--;
        if (oe != NULL) {
            oe->tls_err = VG_EINTERNAL;
        }
        vg__probe_ep_release(ep);
    }
}

/* A handshake slot freed: start the oldest waiting endpoint. */
static void
vg__probe_ep_hs_next(struct vg__probe_loop *lp)
{
    while (lp->hs_head != NULL && lp->hs_active < VG_TLS_HANDSHAKES_MAX) {
        struct vg__ep *ep = lp->hs_head;

        lp->hs_head = ep->hs_next;
        if (lp->hs_head == NULL) {
            lp->hs_tail = NULL;
        }
        ep->hs_next = NULL;
        vg__probe_ep_hs_start(ep);
    }
}

/* Add an endpoint for an address learned from a resolver (deduplicated) and start it. */
static void
vg__probe_ep_add_port(struct vg_meas *m, int family, const void *addr, uint16_t port, bool from_sys)
{
    struct sockaddr_storage ss;
    struct vg__ep *ep;
    const char *cls;
    int rc;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (void *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, addr, 4);
    } else {
        struct sockaddr_in6 *s6 = (void *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, addr, 16);
    }
    for (size_t i = 0; i < m->n_eps; i++) {
        if (memcmp(&m->eps[i]->sa, &ss, sizeof(ss)) == 0) {
            if (from_sys && m->eps[i]->obs != SIZE_MAX) {
                m->obs.ep[m->eps[i]->obs].from_udp_only = false;
            }
            return;
        }
    }
    if (m->n_eps >= VG_DNS_MAX_ADDRS || atomic_load(&m->p->interrupted)) {
        return;
    }
    ep = vg_xcalloc(1, sizeof(*ep));
    ep->m = m;
    ep->sa = ss;
    ep->tid = ++m->next_tid;
    vg__probe_ep_fmt_addr((struct sockaddr *)&ss, ep->ip, sizeof(ep->ip), ep->addr,
                          sizeof(ep->addr), &ep->port);
    ep->obs = SIZE_MAX;
    ep->from_job = m->adding_job_eps;
    ep->tls = strcmp(m->url.scheme, "https") == 0 || strcmp(m->url.scheme, "tls") == 0 ||
              (m->job != NULL && m->job->control && port == 443);
    {
        struct vg_obs_endpoint *oe = vg_obs_add_ep(&m->obs);

        if (oe != NULL) {
            snprintf(oe->addr, sizeof(oe->addr), "%s", ep->addr);
            oe->depth = m->depth;
            oe->from_udp_only = !from_sys;
            ep->obs = m->obs.n_ep - 1;
        }
    }
    m->eps[m->n_eps++] = ep;
    m->pending++;
    ep->t0 = vg__probe_now(m);
    ep->state = VG__EP_CONNECTING;
    ep->conn = vg_conn_new(m->lp->uv);
    /* A helper is not an open proxy: it never connects to bogons (unless told to). */
    if (m->p->o.refuse_bogons && vg__probe_is_bogon(m->p, ep->ip, &cls)) {
        rc = VG_EBOGON;
    } else {
        rc = vg_conn_connect(ep->conn, (struct sockaddr *)&ss,
                             vg__probe_step_ms(m, m->p->o.tcp_timeout_ms), vg__probe_ep_on_connect,
                             ep);
    }
    if (rc < 0) {
        struct vg_rec_event ev = vg__probe_ep_event(ep);

        vg_rec_add_tcp_connect(m->tk, &ev, ep->ip, ep->port, rc);
        if (ep->obs != SIZE_MAX) {
            m->obs.ep[ep->obs].tcp_err = rc;
        }
        vg__probe_ep_release(ep);
    }
}

/* An address learned from a resolver: the URL's port; a control measurement of an http URL also
 * tries port 443 (as OONI's test helper does), to learn which addresses serve the name over TLS. */
void
vg__probe_ep_add(struct vg_meas *m, int family, const void *addr, bool from_sys)
{
    if (strcmp(m->url.scheme, "dns") == 0) {
        return; /* a name to resolve, nothing to connect to */
    }
    vg__probe_ep_add_port(m, family, addr, m->url.port, from_sys);
    if (m->job != NULL && m->job->control && strcmp(m->url.scheme, "http") == 0 &&
        m->url.port != 443) {
        vg__probe_ep_add_port(m, family, addr, 443, from_sys);
    }
}

/* The probe's addresses a job carries (a THRequest's tcp_connect), added after this engine's own
 * DNS answers so that those come first and only they may carry the page. */
void
vg__probe_add_job_eps(struct vg_meas *m)
{
    if (m->depth != 0 || m->job == NULL || m->job_eps_added) {
        return;
    }
    m->job_eps_added = true;
    m->adding_job_eps = true;
    for (size_t i = 0; i < m->job->n_eps; i++) {
        const struct sockaddr_storage *ss = &m->job->eps[i];

        if (ss->ss_family == AF_INET) {
            const struct sockaddr_in *s4 = (const void *)ss;

            vg__probe_ep_add_port(m, AF_INET, &s4->sin_addr, ntohs(s4->sin_port), true);
        } else {
            const struct sockaddr_in6 *s6 = (const void *)ss;

            vg__probe_ep_add_port(m, AF_INET6, &s6->sin6_addr, ntohs(s6->sin6_port), true);
        }
    }
    m->adding_job_eps = false;
}
