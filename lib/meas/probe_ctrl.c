/* SPDX-License-Identifier: MIT */
/*
 * probe_ctrl.c - the control: the test helper's view of a URL (THRequest out, THResponse in),
 * asked once per URL and shared by its trials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/ctrlclient.h"
#include "meas/probe_impl.h"
#include "meas/record.h"
#include "meas/record_th.h"
#include "net/httpclient.h"
#include "util/mem.h"

/* Idle connections to the helpers kept per loop: its share of the parallel limit, bounded (each
 * is a socket and, over TLS, some 40 KiB of buffers). */
#define VG__CTRL_POOL_MAX 64

static void
vg__probe_ctrl_attach(struct vg_meas *m, const struct vg__ctrl_slot *slot)
{
    m->obs.ctrl = slot->ctrl;
    if (slot->ctrl == NULL) {
        snprintf(m->obs.control_failure, sizeof(m->obs.control_failure), "%s", slot->failure);
    }
    vg_rec_set_control(m->root, slot->raw, slot->request, slot->ctrl != NULL ? slot->helper : NULL,
                       slot->failure, slot->runtime);
}

struct vg__ctrl_ctx {
    struct vg_probe *p;
    size_t slot;
    uint64_t t0;
};

static void
vg__probe_ctrl_on_answer(const struct vg_ctrl *ctrl, json_t *control, const char *helper,
                         const char *failure, void *arg)
{
    struct vg__ctrl_ctx *cx = arg;
    struct vg__ctrl_slot *slot = &cx->p->slots[cx->slot];
    struct vg_meas **waiters = slot->waiters;
    size_t n = slot->n_waiters;

    slot->state = VG__CTRL_DONE;
    slot->runtime = (double)(uv_hrtime() - cx->t0) / 1e9;
    if (ctrl != NULL) {
        slot->ctrl = vg_xmemdup(ctrl, sizeof(*ctrl));
        /* The probe's own address: looked up, then forgotten; never in a measurement. */
        slot->raw = json_incref(control); /* read with ctrl, x_client_addr left out */
        snprintf(slot->helper, sizeof(slot->helper), "%s", helper);
        if (slot->ctrl->client_addr[0] != '\0' && cx->p->asn != NULL) {
            struct vg_asn_info self;

            vg__probe_asn_of(cx->p, slot->ctrl->client_addr, &self);
            uv_rwlock_wrlock(&cx->p->self_lock);
            cx->p->self = self;
            cx->p->have_self = true;
            uv_rwlock_wrunlock(&cx->p->self_lock);
        }
        /* ... and scrubbed from what the probe writes: a page may echo it. */
        if (slot->ctrl->client_addr[0] != '\0') {
            vg__probe_self_add(cx->p, slot->ctrl->client_addr);
        }
        memset(slot->ctrl->client_addr, 0, sizeof(slot->ctrl->client_addr));
    } else {
        snprintf(slot->failure, sizeof(slot->failure), "%s", failure);
    }
    slot->waiters = NULL;
    slot->n_waiters = 0;
    free(cx);
    for (size_t i = 0; i < n; i++) {
        vg__probe_ctrl_attach(waiters[i], slot);
        vg__probe_pending_done(waiters[i]);
    }
    free(waiters);
}

/* The THRequest for m's URL: the probe's own endpoints (an IP host, then the system resolver's
 * answers at depth 0; none for a dns:// target) and the headers of its requests. A tls:// or
 * dns:// target goes in vigie's x_target (target, its canonical form). */
static json_t *
vg__probe_ctrl_threquest(const struct vg_meas *m, const char *target)
{
    static const char *const headers[] = {"Accept",          VG_REC_ACCEPT,
                                          "Accept-Language", VG_REC_ACCEPT_LANGUAGE,
                                          "User-Agent",      VG_REC_USER_AGENT};
    char eps[VG_DNS_MAX_ADDRS + 1][VG_DNS_NAME_MAX + 16];
    const char *ptrs[VG_DNS_MAX_ADDRS + 1];
    json_t *req;
    size_t n = 0;

    if (strcmp(m->url.scheme, "dns") == 0) {
        return vg_rec_threquest_target(target, NULL, 0, headers, 3);
    }
    if (m->url.ip_family != 0) {
        snprintf(eps[n], sizeof(eps[n]), m->url.ip_family == 6 ? "[%s]:%u" : "%s:%u", m->url.host,
                 m->url.port);
        ptrs[n] = eps[n];
        n++;
    }
    for (size_t i = 0; i < m->obs.n_dns_addrs && n < VG_DNS_MAX_ADDRS + 1; i++) {
        snprintf(eps[n], sizeof(eps[n]),
                 strchr(m->obs.dns_addrs[i], ':') != NULL ? "[%s]:%u" : "%s:%u",
                 m->obs.dns_addrs[i], m->url.port);
        ptrs[n] = eps[n];
        n++;
    }
    if (target != NULL) {
        return vg_rec_threquest_target(target, ptrs, n, headers, 3);
    }
    req = vg_rec_threquest(m->input, ptrs, n, headers, 3, false);
    /* a vigie helper then handshakes on the URL's port even when it is not 443 */
    if (req != NULL) {
        vg_rec_threquest_ask_tls(req);
    }
    return req;
}

/* Called once the probe knows its own addresses for the URL (depth 0): ask the control, or
 * join the request another trial of the same URL already made. The hop waits for it. */
void
vg__probe_ctrl_need(struct vg_meas *m)
{
    struct vg_probe *p = m->p;
    struct vg__ctrl_slot *slot;

    /* tls:// and dns:// targets too, through vigie's x_target extension of the protocol. */
    if (p->slots == NULL || m->job != NULL || m->ctrl_asked || m->depth != 0) {
        return;
    }
    m->ctrl_asked = true;
    slot = &p->slots[m->url_index];
    if (slot->state == VG__CTRL_DONE) {
        vg__probe_ctrl_attach(m, slot);
        return;
    }
    slot->waiters = vg_xreallocarray(slot->waiters, slot->n_waiters + 1, sizeof(*slot->waiters));
    slot->waiters[slot->n_waiters++] = m;
    m->pending++;
    if (slot->state == VG__CTRL_NONE) {
        struct vg__ctrl_ctx *cx = vg_xcalloc(1, sizeof(*cx));
        char target[VG_URL_MAX];
        bool web = strncmp(m->url.scheme, "http", 4) == 0;
        char *body = NULL;

        slot->state = VG__CTRL_PENDING;
        if (web || vg_url_format(&m->url, target, sizeof(target)) == 0) {
            slot->request = vg__probe_ctrl_threquest(m, web ? NULL : target);
        }
        if (slot->request != NULL) {
            body = json_dumps(slot->request, JSON_COMPACT);
        }
        cx->p = p;
        cx->slot = m->url_index;
        cx->t0 = uv_hrtime();
        if (m->lp->ctrl_pool == NULL) {
            m->lp->ctrl_pool = vg_http_pool_new(m->lp->uv, m->lp->parallel < VG__CTRL_POOL_MAX
                                                               ? m->lp->parallel
                                                               : VG__CTRL_POOL_MAX);
        }
        if (body == NULL ||
            vg_ctrl_fetch(m->lp->uv, m->lp->ctrl_pool, p->ctx, p->o.helpers, p->o.n_helpers,
                          p->o.control_timeout_ms, body, web ? NULL : target, &p->interrupted,
                          vg__probe_ctrl_on_answer, cx) < 0) {
            vg__probe_ctrl_on_answer(NULL, NULL, NULL, "cannot build the control request", cx);
        }
        free(body);
    }
}

void
vg__probe_ctrl_release(struct vg__ctrl_slot *s)
{
    VG_FREE(s->ctrl);
    json_decref(s->raw);
    json_decref(s->request);
    free(s->waiters);
    memset(s, 0, sizeof(*s));
}

void
vg__probe_ctrl_pool_end(struct vg__probe_loop *lp)
{
    if (lp->ctrl_pool != NULL) {
        vg_http_pool_free(lp->ctrl_pool);
        lp->ctrl_pool = NULL;
        uv_run(lp->uv, UV_RUN_DEFAULT);
    }
}
