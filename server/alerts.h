/* SPDX-License-Identifier: MIT */
/*
 * alerts.h - `vigie serve --alert-webhook URL / --alert-exec CMD`: tell someone when the verdict
 * of a target on a network changes (www.icloud.com on AS0: accessible -> intercepted), as a JSON
 * event POSTed to a webhook and/or given on standard input to a command (docs/dashboard.md).
 *
 * The events are the store's (alert_events, docs/storage.md): derived from the stored history in
 * the transaction that stored the measurements, whatever path they came by (upload, bulk, import,
 * reanalysis); a poller (vg_alerts_poll_start) reads them after its consumer's saved cursor, so a
 * restart announces what was committed meanwhile and nothing twice. Flapping is debounced: once a
 * key changed verdict N times within a window (of measurement time), one "intermittent" event
 * with the share of each verdict among those changes is sent instead of one per change, and a
 * "stable" event when it has held one verdict for a whole window again.
 *
 * Delivery runs on a thread of its own with a bounded queue, so ingest never waits for a webhook.
 * Webhooks go through the engine's HTTP(S) client (vg_poster_send, include/vigie/vigie.h): an
 * https webhook's certificate must validate for its host in the system trust store or ca_file.
 * Threads: vg_alerts_event and vg_alerts_hold may be called from any thread.
 */
#ifndef VG_SERVER_ALERTS_H
#define VG_SERVER_ALERTS_H

#include <jansson.h>
#include <stdbool.h>
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
    const char *consumer;   /* the poller's name for its cursor (vg_store_alert_cursor); NULL:
                               "default" */
    unsigned poll_ms;       /* the poller reads the events this often; 0: 1000 */
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

/* One event of the store (vg_store_alert_events' results), as the alerts take it. Borrowed. */
struct vg_alerts_event {
    const char *input, *domain, *probe_cc;
    uint32_t probe_asn;
    bool has_old; /* false: a first measurement (old_verdict null) */
    enum vg_verdict old_verdict, new_verdict;
    const char *cause;           /* NULL or "": none */
    const char *measurement_uid; /* the measurement with new_verdict */
    int64_t time;                /* its time, UTC seconds */
    bool late;                   /* it was older than its key's latest when it was stored */
    const char *source;          /* "ingest" or "reanalyze" */
    const char *evidence;        /* the evidence of its verdict, or NULL */
};

/*
 * Take one event of the store, in id order: debounced (a key changing N times within the window
 * becomes one "intermittent" event), then queued for delivery. A late event is delivered as it
 * is ("late": true) and does not move the key's state. a NULL is a no-op.
 */
void vg_alerts_event(struct vg_alerts *a, const struct vg_alerts_event *e);

/*
 * The latest state of a key that was reported intermittent: e->new_verdict held from since to
 * e->time (its latest measurement, e->measurement_uid). Once it held for a whole window: one
 * "stable" event. Nothing for a key that is not intermittent.
 */
void vg_alerts_hold(struct vg_alerts *a, const struct vg_alerts_event *e, int64_t since);

/* Call fn for each key reported intermittent and not stable again (outside the lock); returns
 * how many. */
typedef void (*vg_alerts_key_fn)(void *arg, const char *input, const char *probe_cc,
                                 uint32_t probe_asn);
size_t vg_alerts_intermittent(struct vg_alerts *a, vg_alerts_key_fn fn, void *arg);

/*
 * Feed the alerts from the store (`vigie serve`): a thread reads the events after the cursor of
 * o.consumer (vg_store_alert_cursor: a new consumer starts at the newest event) every o.poll_ms
 * and whenever this process commits a write, hands each to vg_alerts_event, checks the
 * intermittent keys' latest states (vg_alerts_hold) and saves the cursor once the events are
 * queued. store must outlive a (vg_alerts_free stops the thread first). Errors (message in err):
 * VG_EINTERNAL (no thread).
 */
VG_MUST_USE int vg_alerts_poll_start(struct vg_alerts *a, struct vg_store *store, char *err,
                                     size_t errlen);

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
