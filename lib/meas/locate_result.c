/* SPDX-License-Identifier: MIT */
/*
 * locate_result.c - what vg_locate reports: the decision on the trigger's trace, the hop table of
 * struct vg_locate_result, the one-line summary, and the x_locate measurement (its trigger hops
 * with the routers the controls name, handed to record_locate.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/locate.h"
#include "meas/locate_impl.h"
#include "meas/record_locate.h"
#include "util/mem.h"
#include "util/str.h"

/* The router at ttl: the trigger's own ICMP sender, else the control trace's at that TTL. */
static const char *
vg__loc_router_at(const struct vg__loc *l, unsigned ttl, bool *from_control)
{
    *from_control = false;
    if (ttl >= 1 && ttl <= l->trigger.n && l->trigger.hops[ttl - 1].router[0] != '\0') {
        return l->trigger.hops[ttl - 1].router;
    }
    for (size_t c = 0; c < 2; c++) {
        if (l->ctl[c].ran && ttl >= 1 && ttl <= l->ctl[c].n &&
            l->ctl[c].hops[ttl - 1].router[0] != '\0') {
            *from_control = true;
            return l->ctl[c].hops[ttl - 1].router;
        }
    }
    return "";
}

/* The control whose trace reaches the genuine server (the farther endpoint). */
static const struct vg__loc_trace *
vg__loc_server_ctl(const struct vg__loc *l)
{
    const struct vg__loc_trace *best = &l->ctl[0];

    if (l->ctl[1].ran && (l->ctl[1].endpoint_hop > best->endpoint_hop || !best->ran)) {
        best = &l->ctl[1];
    }
    return best;
}

/* A trace as the record writes it. */
static void
vg__loc_rec_trace(const struct vg__loc_trace *tr, const struct vg_loc_hop *hops,
                  struct vg_rec_loc_trace *out)
{
    out->method = tr->method;
    out->port = tr->port;
    out->name = tr->name;
    out->endpoint_hop = tr->endpoint_hop;
    out->hops = hops;
    out->n = tr->n;
}

void
vg__loc_record(const struct vg__loc *l, const char *input, const char *url,
               struct vg_locate_result *r, time_t wall0)
{
    /* The trigger's hops with the routers the controls name (an established connection gets
     * no offender address: net/ttlprobe.h). */
    struct vg_loc_hop *shown = vg_xcalloc(VG_LOCATE_MAX_TTL, sizeof(*shown));
    struct vg_rec_loc x = {.cause = l->cause,
                           .r = r,
                           .url = url,
                           .host = l->url.host,
                           .first_ttl = l->first_ttl,
                           .max_ttl = l->o->max_ttl,
                           .ttl_timeout_ms = l->o->ttl_timeout_ms};

    for (size_t i = 0; i < l->trigger.n && i < VG_LOCATE_MAX_TTL; i++) {
        bool from_ctl = false;
        const char *router = vg__loc_router_at(l, l->trigger.hops[i].ttl, &from_ctl);

        shown[i] = l->trigger.hops[i];
        vg_strlcpy(shown[i].router, router, sizeof(shown[i].router));
        shown[i].router_from_control = from_ctl;
    }
    vg__loc_rec_trace(&l->trigger, shown, &x.trigger);
    for (size_t c = 0; c < 2; c++) {
        if (l->ctl[c].ran) {
            vg__loc_rec_trace(&l->ctl[c], l->ctl[c].hops, &x.controls[x.n_controls++]);
        }
    }
    r->json = vg_rec_locate_json(&x, input, wall0, (double)(vg__loc_ms() - l->t0) / 1000.0);
    free(shown);
}

static void
vg__loc_summary(const struct vg__loc *l, struct vg_locate_result *r,
                const struct vg_loc_decision *d)
{
    size_t o;

    if (d->hop < 0) {
        const struct vg__loc_trace *tr = &l->trigger;
        const struct vg_loc_hop *last = tr->n > 0 ? &tr->hops[tr->n - 1] : NULL;

        if (last == NULL) {
            snprintf(r->summary, sizeof(r->summary), "not located: nothing was probed");
        } else if (last->ev == VG_LOC_EV_ERROR) {
            snprintf(r->summary, sizeof(r->summary), "not located: no probe at TTL %u (%s)",
                     last->ttl, last->detail);
        } else if (vg_loc_ends_trace(last)) {
            snprintf(r->summary, sizeof(r->summary),
                     "not located: the request met %s at hop %u, not the interference (%s)",
                     vg_loc_event_name(last->ev), last->ttl,
                     r->server_hop > 0 && (int)last->ttl >= r->server_hop
                         ? "the server answered: not reproduced"
                         : "a different answer");
        } else {
            snprintf(r->summary, sizeof(r->summary),
                     "not located: no answer to the request up to hop %u", last->ttl);
        }
    } else if (r->server_hop > 0) {
        snprintf(r->summary, sizeof(r->summary), "interference at hop %d of %d", d->hop,
                 r->server_hop);
    } else {
        snprintf(r->summary, sizeof(r->summary),
                 "interference at hop %d (the server's hop is unknown)", d->hop);
    }
    o = strlen(r->summary);
    if (d->hop > 0 && r->interference_router[0] != '\0' && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o, " (router %s)",
                              r->interference_router);
    }
    if (d->hop > 0 && r->server_hop > 0 && d->hop >= r->server_hop && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; from the server's own distance: the server or a device next "
                              "to it");
    }
    if (d->mirroring && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; the forged replies copy the query's TTL: first heard at TTL %d",
                              d->first_ttl);
    }
    if (!vg_loc_cause_is_tls(l->cause) && !vg_loc_cause_is_dns(l->cause) && l->ctl[0].ran &&
        l->ctl[1].ran && l->ctl[0].endpoint_hop > 0 &&
        l->ctl[0].endpoint_hop < l->ctl[1].endpoint_hop && o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; HTTP port %u answers at hop %d, port %u of the same address at "
                              "hop %d (a nearer HTTP server: a proxy on the path)",
                              l->ctl[0].port, l->ctl[0].endpoint_hop, l->ctl[1].port,
                              l->ctl[1].endpoint_hop);
    }
    if (vg_loc_cause_is_tls(l->cause) && r->tls_port_hop > 0 && r->port80_hop > 0 &&
        o < sizeof(r->summary)) {
        o += (size_t)snprintf(r->summary + o, sizeof(r->summary) - o,
                              "; TLS port %u answers at hop %d, port 80 of the same address at "
                              "hop %d",
                              l->port, r->tls_port_hop, r->port80_hop);
        if (r->tls_port_hop < r->port80_hop && o < sizeof(r->summary)) {
            snprintf(r->summary + o, sizeof(r->summary) - o,
                     " (a nearer TLS server: interception on the path)");
        }
    }
}

void
vg__loc_fill_result(struct vg__loc *l, struct vg_locate_result *r)
{
    const struct vg__loc_trace *srv = vg__loc_server_ctl(l);
    struct vg_loc_decision d;
    char ip[INET6_ADDRSTRLEN];
    size_t n;

    vg__loc_sa_str(&l->sa, ip, sizeof(ip), r->target, sizeof(r->target));
    snprintf(r->method, sizeof(r->method), "%s", l->trigger.method);
    r->server_hop = l->server_hop;
    vg_loc_decide(l->cause, l->trigger.hops, l->trigger.n, l->server_hop, &d);
    r->interference_hop = d.hop;
    l->first_ttl = d.first_ttl;
    r->ttl_mirroring = d.mirroring;
    r->interference_router[0] = '\0';
    if (d.hop > 0) {
        bool from_ctl;

        vg_strlcpy(r->interference_router, vg__loc_router_at(l, (unsigned)d.hop, &from_ctl),
                   sizeof(r->interference_router));
    }
    r->tls_port_hop = r->port80_hop = -1;
    if (vg_loc_cause_is_tls(l->cause)) {
        for (size_t c = 0; c < 2; c++) {
            if (!l->ctl[c].ran) {
                continue;
            }
            if (l->ctl[c].port == l->port) {
                r->tls_port_hop = l->ctl[c].endpoint_hop;
            }
            if (l->ctl[c].port == 80) {
                r->port80_hop = l->ctl[c].endpoint_hop;
            }
        }
    }
    /* The table: every TTL the trigger or the server's control probed. */
    n = l->trigger.n > srv->n ? l->trigger.n : srv->n;
    r->n_hops = 0;
    for (size_t i = 0; i < n && i < VG_LOCATE_MAX_TTL; i++) {
        struct vg_locate_hop *o = &r->hops[r->n_hops++];
        bool from_ctl;

        memset(o, 0, sizeof(*o));
        o->ttl = (unsigned)i + 1;
        o->ip_ttl = -1;
        vg_strlcpy(o->router, vg__loc_router_at(l, o->ttl, &from_ctl), sizeof(o->router));
        if (i < l->trigger.n) {
            const struct vg_loc_hop *h = &l->trigger.hops[i];

            vg_strlcpy(o->event, vg_loc_event_name(h->ev), sizeof(o->event));
            vg_strlcpy(o->detail, h->detail, sizeof(o->detail));
            o->ip_ttl = h->n_replies > 0 ? h->reply_ttl[0] : -1;
        }
        if (srv->ran && i < srv->n) {
            vg_strlcpy(o->control, vg_loc_event_name(srv->hops[i].ev), sizeof(o->control));
        }
    }
    vg_strlcpy(r->failure, l->failure, sizeof(r->failure));
    vg__loc_summary(l, r, &d);
}
