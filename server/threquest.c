/* SPDX-License-Identifier: MIT */
/*
 * threquest.c - the endpoint plan the helper derives from a THRequest, as oohelperd does, with
 * its refusal to contact bogons (the helper is not an open proxy): none for a dns:// target. The
 * request itself is parsed by vg_rec_threq_parse (meas/record_th.h).
 */
#include <stdio.h>
#include <string.h>

#include "proto/ipaddr.h"
#include "th.h"

size_t
vg_threq_endpoints(const struct vg_rec_threq *r, bool skip_bogons, bool doc_public,
                   char out[][INET6_ADDRSTRLEN + 8], size_t max)
{
    uint16_t ports[2];
    size_t n_ports = vg_rec_threq_ports(r, ports), n = 0;

    /* A dns:// target is a name to resolve: the helper connects to nothing. */
    if (r->target == VG_REC_TH_DNS) {
        return 0;
    }
    for (size_t i = 0; i < r->n_ips; i++) {
        bool v6 = strchr(r->ips[i], ':') != NULL;

        if (skip_bogons && vg_ip_is_bogon_lab(r->ips[i], doc_public)) {
            continue;
        }
        for (size_t j = 0; j < n_ports && n < max; j++) {
            snprintf(out[n++], INET6_ADDRSTRLEN + 8, v6 ? "[%s]:%u" : "%s:%u", r->ips[i],
                     (unsigned)ports[j]);
        }
    }
    return n;
}
