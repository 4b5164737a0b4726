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
#include "util/mem.h"

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
vg__probe_ctrl_on_answer(const struct vg_ctrl *ctrl, const char *raw, size_t raw_len,
                         const char *helper, const char *failure, void *arg)
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
        slot->raw = vg_rec_control_json(raw, raw_len);
        snprintf(slot->helper, sizeof(slot->helper), "%s", helper);
        if (slot->ctrl->client_addr[0] != '\0' && cx->p->asn != NULL) {
            vg__probe_asn_of(cx->p, slot->ctrl->client_addr, &cx->p->self);
            cx->p->have_self = true;
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

/* The THRequest for this URL with the addresses the probe resolved (ooni-reference.md 3). */
static json_t *
vg__threquest(const struct vg_meas *m)
{
    json_t *eps = json_array();
    const char *url = m->input;

    if (m->url.ip_family != 0) {
        char ep[VG_DNS_NAME_MAX + 16];

        snprintf(ep, sizeof(ep), m->url.ip_family == 6 ? "[%s]:%u" : "%s:%u", m->url.host,
                 m->url.port);
        json_array_append_new(eps, json_string(ep));
    }
    for (size_t i = 0; i < m->obs.n_dns_addrs; i++) {
        char ep[80];

        snprintf(ep, sizeof(ep), strchr(m->obs.dns_addrs[i], ':') != NULL ? "[%s]:%u" : "%s:%u",
                 m->obs.dns_addrs[i], m->url.port);
        json_array_append_new(eps, json_string(ep));
    }
    return json_pack("{s:s, s:{s:[s], s:[s], s:[s]}, s:o, s:b}", "http_request", url,
                     "http_request_headers", "Accept",
                     "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                     "Accept-Language", "en-US,en;q=0.9", "User-Agent", VG_REC_USER_AGENT,
                     "tcp_connect", eps, "x_quic_enabled", 0);
}

/* Called once the probe knows its own addresses for the URL (depth 0): ask the control, or
 * join the request another trial of the same URL already made. The hop waits for it. */
void
vg__probe_ctrl_need(struct vg_meas *m)
{
    struct vg_probe *p = m->p;
    struct vg__ctrl_slot *slot;

    /* The test-helper protocol is about web pages: tls:// and dns:// targets go without. */
    if (p->slots == NULL || m->job != NULL || m->ctrl_asked || m->depth != 0 ||
        strncmp(m->url.scheme, "http", 4) != 0) {
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
        char *body;

        slot->state = VG__CTRL_PENDING;
        slot->request = vg__threquest(m);
        body = json_dumps(slot->request, JSON_COMPACT);
        cx->p = p;
        cx->slot = m->url_index;
        cx->t0 = uv_hrtime();
        if (body == NULL ||
            vg_ctrl_fetch(&p->loop, p->ctx, p->o.helpers, p->o.n_helpers, p->o.control_timeout_ms,
                          body, vg__probe_ctrl_on_answer, cx) < 0) {
            vg__probe_ctrl_on_answer(NULL, NULL, 0, NULL, "cannot build the control request", cx);
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
