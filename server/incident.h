/* SPDX-License-Identifier: MIT */
/*
 * incident.h - the incident report of one target x network x period (`vigie report`,
 * GET /api/v1/incident; docs/dashboard.md): one builder fed measurements one at a time, whatever
 * their source (files through analyze's reader, or a database through store.h
 * vg_store_incident_each), then the report as JSON, and the HTML document rendered from that JSON
 * (incident_html.c) so that the two never disagree.
 *
 * Every string of a measurement is untrusted: the JSON carries it as is (bounded), the HTML
 * escapes it. Ownership: the builder is the caller's (vg_incident_free); measurements are
 * borrowed for the call; what the functions return is the caller's.
 */
#ifndef VG_SERVER_INCIDENT_H
#define VG_SERVER_INCIDENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "vigie/vigie.h"

#define VG_INCIDENT_MEAS_MAX     100000 /* measurements counted; more: "truncated" */
#define VG_INCIDENT_READ_MAX     200000 /* measurements read from a database, every network */
#define VG_INCIDENT_NETS_MAX     1024   /* networks told apart */
#define VG_INCIDENT_SAMPLES_INTF 3      /* raw measurements embedded: with interference */
#define VG_INCIDENT_SAMPLES_OK   1      /* and accessible */
#define VG_INCIDENT_SAMPLE_BYTES 65536  /* bytes of one embedded measurement */
#define VG_INCIDENT_ADDRS_MAX    64     /* affected addresses listed */
#define VG_INCIDENT_CHAINS_MAX   64     /* distinct certificate chains kept per network */
#define VG_INCIDENT_LOCATE_MAX   4      /* localisations listed */
#define VG_INCIDENT_HTML_MAX     (32u << 20)

struct vg_incident_opts {
    const char *input;    /* the target: required */
    const char *probe_cc; /* NULL: the network with the most interference */
    bool has_probe_asn;
    uint32_t probe_asn;
    int64_t since, until; /* UTC seconds, [since, until); 0: unbounded */
    const char *base_url; /* links to BASE/api/v1/measurement/UID ("": relative); NULL: none */
    const char *source;   /* what was read, for the report: "files", "database" */
};

struct vg_incident;

/* A builder (o and its strings are copied). */
struct vg_incident *vg_incident_new(const struct vg_incident_opts *o);
void vg_incident_free(struct vg_incident *inc);
/* Forget every measurement added (a store read that starts over). */
void vg_incident_reset(struct vg_incident *inc);

/*
 * Add measurement m (untrusted), its verdict v and cause (NULL or "": none) as vigie decided
 * them (v = VG_VERDICT_COUNT: none, e.g. a test vigie has no rules for), uid (NULL or "": none,
 * no link). Measurements of another input, network or period are
 * ignored; x_locate measurements of the input give the located hop. Returns 1 when counted,
 * 0 when ignored (or over VG_INCIDENT_MEAS_MAX: the report says it is truncated).
 */
int vg_incident_add(struct vg_incident *inc, json_t *m, enum vg_verdict v, const char *cause,
                    const char *uid);

/* Say in the report that its source held more than was read. */
void vg_incident_mark_truncated(struct vg_incident *inc);

struct vg_store;
struct vg_store_filter;
/* Add the measurements of the input from store s within f's period, provenance and trust (every
 * network is read: vigie locate's measurements name none), at most VG_INCIDENT_READ_MAX.
 * 0, or a store error (store.h). */
VG_MUST_USE int vg_incident_read_store(struct vg_incident *inc, struct vg_store *s,
                                       const struct vg_store_filter *f);

/* The networks seen for the input: [{"probe_cc", "probe_asn", "network_name", "measurements",
 * "interference"}], most interference first. */
json_t *vg_incident_networks(struct vg_incident *inc);

/* The report (docs/dashboard.md, "Incident report"), or NULL when no measurement matched. */
json_t *vg_incident_json(struct vg_incident *inc);

/* The report as text: JSON with shares to 4 digits; NULL when out of memory. free(). */
char *vg_incident_dumps(const json_t *report);

/* The HTML document of report (a vg_incident_json answer, or that JSON read back) into out:
 * one file, no external asset, the report JSON embedded. 0, or VG_ETOOBIG. */
VG_MUST_USE int vg_incident_html(const json_t *report, struct vg_buf *out);

#endif
