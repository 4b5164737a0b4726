/* SPDX-License-Identifier: MIT */
/*
 * alerts.h - `vigie serve --alert-webhook URL / --alert-exec CMD`: tell someone when the verdict
 * of a target on a network changes (www.icloud.com on AS0: accessible -> intercepted), as a JSON
 * event POSTed to a webhook and/or given on standard input to a command (docs/dashboard.md).
 *
 * The ingest path hands every newly stored measurement to vg_alerts_observe(); the state per
 * (input, probe_cc, probe_asn) is the latest verdict, seeded at start from the store's latest-
 * state table (vg_alerts_seed), so a restart does not re-announce what is known. Flapping is
 * debounced: once a key changed verdict N times within a window (of measurement time), one
 * "intermittent" event with the share of each verdict is sent instead of one per change, and a
 * "stable" event when it has held one verdict for a whole window again.
 *
 * Delivery runs on a thread of its own with a bounded queue, so ingest never waits for a webhook.
 * Webhooks go through the engine's HTTP(S) client (vg_poster_send, include/vigie/vigie.h): an
 * https webhook's certificate must validate for its host in the system trust store or ca_file.
 * Threads: vg_alerts_seed and vg_alerts_observe may be called from any thread.
 */
#ifndef VG_SERVER_ALERTS_H
#define VG_SERVER_ALERTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"
#include "util/err.h"
#include "vigie/vigie.h"

#define VG_ALERTS_QUEUE_MAX 1024    /* events waiting for delivery; more are dropped (logged) */
#define VG_ALERTS_KEYS_MAX  1000000 /* (input, network) pairs tracked; more are not (logged) */
#define VG_ALERTS_FLAP_MAX  64      /* largest --alert-flap */
#define VG_ALERTS_OBS_MAX   128     /* verdicts kept per changing key, for the share */
#define VG_ALERTS_URL_MAX   2048    /* bytes of the dashboard's base URL (a webhook: VG_URL_MAX) */

/* Receives each event (JSON text) on the delivery thread; for tests. */
typedef void (*vg_alerts_sink)(const char *json, void *arg);

struct vg_alerts_opts {
    const char *webhook;    /* "http(s)://HOST[:PORT]/PATH": POST each event; NULL: none */
    const char *ca_file;    /* https webhook: PEM trust store; NULL: the system one */
    const char *exec;       /* run with /bin/sh -c, the event on stdin; NULL: none */
    const char *base_url;   /* where the dashboard is, for measurement_url ("http://h:8080/") */
    unsigned flap_changes;  /* changes within flap_window_s that make a key intermittent; 0: 3 */
    unsigned flap_window_s; /* 0: 3600 */
    unsigned timeout_ms;    /* one webhook attempt, or one run of the command; 0: 10000 */
    unsigned attempts;      /* webhook attempts per event (1 s, 2 s, 4 s... apart); 0: 3 */
    FILE *log;              /* one line per delivery problem; NULL: none */
    vg_alerts_sink sink;    /* also give each event to sink (may be NULL) */
    void *sink_arg;
};

struct vg_alerts;

/*
 * Check the options, load the webhook's trust store and start the delivery thread. At least one
 * of webhook, exec and sink must be set; ca_file only with a webhook. Errors (message in err):
 * VG_EINVAL (a webhook that is not an http:// or https:// URL, a CA file that cannot be loaded,
 * options out of range), VG_EINTERNAL (no thread).
 */
VG_MUST_USE int vg_alerts_new(const struct vg_alerts_opts *o, struct vg_alerts **out, char *err,
                              size_t errlen);

/*
 * Seed the state of one key from the store (vg_store_targets' results): its latest verdict,
 * since when it holds and when it was last seen (UTC seconds). No event is sent.
 */
void vg_alerts_seed(struct vg_alerts *a, const char *input, const char *probe_cc,
                    uint32_t probe_asn, enum vg_verdict verdict, int64_t since, int64_t last_seen);

/*
 * Seed every key from one page of vg_store_targets (its "results" array). Returns the number of
 * keys seeded, or VG_EPROTO for a page of the wrong shape (an unknown verdict, a malformed time).
 */
VG_MUST_USE int vg_alerts_seed_page(struct vg_alerts *a, const json_t *page);

/*
 * Look at a row just committed by vg_store_insert. uid is the measurement_uid the store answered
 * for it: when it differs from the row's own, the row was a copy of an earlier measurement and
 * is skipped (uid NULL: taken as new), as is a row whose x_verdict is not one of the verdicts. A
 * row older than the latest seen for its key changes nothing. Events are queued for the delivery
 * thread. a NULL is a no-op, so that the ingest path can call this whether alerts are configured or
 * not.
 */
void vg_alerts_observe(struct vg_alerts *a, const struct vg_store_meas *row, const char *uid);

/* Set the dashboard's base URL for measurement_url (e.g. once the server knows its port). */
void vg_alerts_set_base_url(struct vg_alerts *a, const char *base_url);

/* Counters since start. */
struct vg_alerts_stats {
    unsigned long long events;    /* events queued */
    unsigned long long delivered; /* events every target accepted */
    unsigned long long failed;    /* events some target refused after every attempt */
    unsigned long long dropped;   /* events lost to a full queue or to shutdown */
};
void vg_alerts_stats(struct vg_alerts *a, struct vg_alerts_stats *st);

/*
 * Stop: events still queued get one attempt each within a few seconds, then the thread ends and
 * everything is released. NULL is a no-op.
 */
void vg_alerts_free(struct vg_alerts *a);

#endif
