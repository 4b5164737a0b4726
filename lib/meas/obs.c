/* SPDX-License-Identifier: MIT */
/* obs.c - the probe's observations (obs.h): lifecycle, and OONI's keys set to null. */
#include "meas/obs.h"

#include <string.h>

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
