/* SPDX-License-Identifier: MIT */
/* obs.c - the probe's observations (obs.h): lifecycle, the --resolver server's replies and their
 * evidence of injection, and OONI's keys set to null. */
#include "meas/obs.h"

#include <stdio.h>
#include <string.h>

#include "proto/ipaddr.h"
#include "util/mem.h"
#include "util/str.h"

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
    VG_FREE(o->headers);
    o->n_headers = 0;
    VG_FREE(o->replies);
    o->n_replies = 0;
}

void
vg_obs_replies_reserve(struct vg_obs *o)
{
    if (o->replies == NULL) {
        o->replies = vg_xcalloc(VG_OBS_MAX_REPLIES, sizeof(*o->replies));
    }
}

void
vg_obs_headers_reserve(struct vg_obs *o, size_t n)
{
    if (n > VG_CTRL_MAX_HDR) {
        n = VG_CTRL_MAX_HDR;
    }
    if (n < o->n_headers) {
        n = o->n_headers;
    }
    if (n > 0) {
        o->headers = vg_xreallocarray(o->headers, n, sizeof(*o->headers));
    }
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

bool
vg_obs_udp_same(const struct vg_obs_udp *a, const struct vg_obs_udp *b)
{
    if (a->n_addrs != b->n_addrs || a->rcode != b->rcode) {
        return false;
    }
    for (size_t i = 0; i < a->n_addrs; i++) {
        bool found = false;

        for (size_t j = 0; j < b->n_addrs && !found; j++) {
            found = vg_ip_equal(a->addrs[i], b->addrs[j]);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/* "IP (IP TTL n, after m ms)", "rcode 3 (...)" or "no address (...)". */
static void
vg__obs_brief(const struct vg_obs_udp *r, char *out, size_t cap)
{
    char what[64], ttl[24] = "";

    if (r->n_addrs > 0) {
        vg_utf8_copy(what, sizeof(what), r->addrs[0], strlen(r->addrs[0]));
    } else if (r->rcode > 0) {
        snprintf(what, sizeof(what), "rcode %d", r->rcode);
    } else {
        snprintf(what, sizeof(what), "no address");
    }
    if (r->ip_ttl >= 0) {
        snprintf(ttl, sizeof(ttl), "IP TTL %d, ", r->ip_ttl);
    }
    snprintf(out, cap, "%s (%safter %.0f ms)", what, ttl, r->after * 1000.0);
}

void
vg_obs_replies(struct vg_obs *o, const struct vg_obs_udp *all, size_t n, const size_t same_q[2],
               const char *host, const char *resolver, bool keep)
{
    for (size_t i = 0; keep && i < n && o->n_replies < VG_OBS_MAX_REPLIES; i++) {
        struct vg_obs_reply *r;
        bool seen = false;

        for (size_t k = 0; k < i && !seen; k++) {
            seen = all[k].aaaa == all[i].aaaa && vg_obs_udp_same(&all[k], &all[i]);
        }
        if (seen) {
            continue;
        }
        vg_obs_replies_reserve(o);
        r = &o->replies[o->n_replies++];
        memset(r, 0, sizeof(*r));
        r->aaaa = all[i].aaaa;
        r->rcode = all[i].rcode;
        vg__obs_brief(&all[i], r->brief, sizeof(r->brief));
        for (size_t k = 0; k < all[i].n_addrs && r->n_addrs < VG_OBS_REPLY_ADDRS; k++) {
            vg_utf8_copy(r->addrs[r->n_addrs++], sizeof(r->addrs[0]), all[i].addrs[k],
                         strlen(all[i].addrs[k]));
        }
    }
    for (size_t i = 0; i < n && o->injected[0] == '\0'; i++) {
        for (size_t j = i + 1; j < n; j++) {
            char a[96], b[96];

            if (all[j].aaaa != all[i].aaaa || vg_obs_udp_same(&all[i], &all[j])) {
                continue;
            }
            vg__obs_brief(&all[i], a, sizeof(a));
            vg__obs_brief(&all[j], b, sizeof(b));
            snprintf(o->injected, sizeof(o->injected),
                     "%zu replies to the %s query for %s from %s: %s, then %s", same_q[all[i].aaaa],
                     all[i].aaaa ? "AAAA" : "A", host, resolver, a, b);
            break;
        }
    }
}
