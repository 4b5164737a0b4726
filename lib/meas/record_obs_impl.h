/* SPDX-License-Identifier: MIT */
/*
 * record_obs_impl.h - what the files of the record module's reader of measurements from elsewhere
 * (record_obs.c: the envelope, the hops, the resolvers, the control; record_obs_ep.c: the
 * endpoints, certificates and the final response) share. Private to lib/meas/record_obs*.c.
 */
#ifndef VG_MEAS_RECORD_OBS_IMPL_H
#define VG_MEAS_RECORD_OBS_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "meas/record_obs.h"
#include "proto/url.h"
#include "util/limits.h"

#define VG__RO_HOPS (VG_HTTP_MAX_REDIRECTS + 2) /* hops whose URL is known */
#define VG__RO_SYS  64                          /* system resolver answers kept, all hops */
/* UDP replies compared at the first hop: as many as the probe records (lib/net/udpdns.c) */
#define VG__RO_REPLIES (VG_DNS_MAX_REPLIES + VG_DNS_MAX_DISTINCT)

/* ---- the reader's state -------------------------------------------------------------------- */

struct vg__ro_reply {
    double t; /* arrival, for the order */
    struct vg_obs_udp u;
};

struct vg__ro {
    const struct vg_rec_meta *m;
    struct vg_obs *o;
    struct vg_rec_obs_scratch *s;
    bool doc_public;
    bool need_chain; /* the control has chains to compare (rule C5): read the probe's too */
    struct vg_url hop[VG__RO_HOPS];
    bool hop_known[VG__RO_HOPS];
    int final_depth;
    const struct vg_json *final_req;
    size_t n_sys;
    struct {
        int depth;
        const char *ip;
    } sys[VG__RO_SYS];
    bool sys_depth[VG__RO_HOPS]; /* the system resolver was asked at that hop */
    size_t n_replies;
    size_t n_same_q[2]; /* replies to the A, the AAAA query (all of them, kept or not) */
    struct vg__ro_reply replies[VG__RO_REPLIES];
    struct vg_obs_udp udp[VG__RO_REPLIES];               /* replies, sorted by arrival */
    char headers[VG_CTRL_MAX_HDR][64];                   /* o->headers points here */
    struct vg_obs_reply obs_replies[VG_OBS_MAX_REPLIES]; /* o->replies points here */
};

/* The error code of an OONI failure string: 0 for none, VG_EPROTO for one vigie has no code for
 * (its reason is then "error"). */
int vg__ro_failure(const char *s);
/* A certificate's validation failure (ssl_unknown_authority, ssl_invalid_hostname,
 * ssl_invalid_certificate). */
bool vg__ro_cert_failure(int code);
/* o[key] when it is a string, else NULL. */
const char *vg__ro_str(const struct vg_json *o, const char *key);
/* v is present and of type t. */
bool vg__ro_is(const struct vg_json *v, enum vg_json_type t);
/* The "depth=N" tag of a step, or dflt when it has none. */
int vg__ro_depth(const struct vg_json *step, int dflt);
/* The URL of hop depth (the nearest known one before it). */
const struct vg_url *vg__ro_hop(const struct vg__ro *r, int depth);

/* record_obs_ep.c: one tcp_connect entry, one tls_handshakes entry, the final response. */
void vg__ro_tcp(struct vg__ro *r, const struct vg_json *c);
void vg__ro_tls(struct vg__ro *r, const struct vg_json *h);
void vg__ro_response(struct vg__ro *r, const struct vg_json *resp);

#endif
