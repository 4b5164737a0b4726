/* SPDX-License-Identifier: MIT */
/*
 * th.h - the helper's policy for a THRequest (docs/helper.md): which endpoints it measures. The
 * THRequest and THResponse bodies themselves are read and written by the record module
 * (meas/record_th.h); bogons are lib/proto/ipaddr's (vg_ip_is_bogon_lab). No I/O.
 */
#ifndef VG_SERVER_TH_H
#define VG_SERVER_TH_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#include "meas/record_th.h"
#include "util/limits.h"

/* Endpoints submitted to the engine for one request: each probe address (at most
 * VG_CTRL_PROBE_IPS, see struct vg_rec_threq) on at most two ports. Two ports each must leave the
 * engine room (VG_DNS_MAX_ADDRS endpoints) for the helper's own DNS answers. */
#define VG_TH_MAX_ENDPOINTS (2 * VG_CTRL_PROBE_IPS)

/*
 * The endpoints oohelperd derives from a request (internal/oohelperd/ipinfo.go): each probe
 * address on the ports of vg_rec_threq_ports (none for a dns:// target). Bogon addresses
 * (vg_ip_is_bogon_lab with doc_public) are left out when skip_bogons. Writes "IP:PORT" /
 * "[IP6]:PORT" strings into out[0..max) and returns how many.
 */
size_t vg_threq_endpoints(const struct vg_rec_threq *r, bool skip_bogons, bool doc_public,
                          char out[][INET6_ADDRSTRLEN + 8], size_t max);

#endif
