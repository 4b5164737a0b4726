/* SPDX-License-Identifier: MIT */
/*
 * record_locate.h - the measurement JSON of localisation (docs/locate.md, docs/output.md): the
 * x_locate measurement vg_locate writes, in the envelope of record.h, and the keys of a probe's
 * measurement that aim a localisation (vg_locate_hint). The key names live in record_locate.c.
 * No I/O.
 *
 * Ownership: arguments are borrowed for the call; what a function returns is the caller's.
 */
#ifndef VG_MEAS_RECORD_LOCATE_H
#define VG_MEAS_RECORD_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "meas/locate.h"
#include "meas/record.h"
#include "vigie/vigie.h"

/* One trace of a localisation, as x_locate writes it ("hops", "controls"). */
struct vg_rec_loc_trace {
    const char *method; /* "tcp-syn", "tcp-ttl", "udp-dns", "udp-ttl" */
    unsigned port;
    const char *name; /* the control query's name (udp-dns), NULL: none */
    int endpoint_hop; /* -1: unknown */
    /* hops[n] in ascending TTLs, each written with its router, and "router_from": "control"
     * when router_from_control */
    const struct vg_loc_hop *hops;
    size_t n;
};

/* A localisation, as x_locate writes it. */
struct vg_rec_loc {
    enum vg_loc_cause cause;
    const struct vg_locate_result *r; /* the result vg_locate fills (json aside) */
    const char *url;                  /* the URL located */
    const char *host;                 /* its host */
    struct vg_rec_loc_trace trigger;
    struct vg_rec_loc_trace controls[2]; /* the controls that ran, n_controls of them */
    size_t n_controls;
    int first_ttl; /* dns.injected: the TTL of the first forged reply, -1: none */
    unsigned max_ttl, ttl_timeout_ms;
};

/*
 * The x_locate measurement of x: vg_rec_new's envelope (test x_locate, input, started at start,
 * test_runtime runtime_s) around test_keys {"x_locate": {...}}, as one line of compact ASCII
 * JSON. Returns a string the caller frees with free(), or NULL when it could not be written.
 */
char *vg_rec_locate_json(const struct vg_rec_loc *x, const char *input, time_t start,
                         double runtime_s);

/*
 * Where a measurement (a probe's, web_connectivity or x_tls_endpoint / x_dns_lookup) saw cause c,
 * to aim vg_locate, into *h (zeroed first): its input as h->url; for a TLS cause the address of
 * the first handshake that failed that way (and the URL of its server name and port); for
 * dns.injected the first UDP resolver queried; for an HTTP cause the URL and address of the last
 * request of the redirect chain. Returns 0, or VG_EINVAL when json is not a measurement with
 * test_keys and an input.
 */
VG_MUST_USE int vg_rec_locate_hint(const char *json, enum vg_loc_cause c, struct vg_locate_hint *h);

#endif
