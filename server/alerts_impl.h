/* SPDX-License-Identifier: MIT */
/*
 * alerts_impl.h - what the two halves of the alerts share (private to server/alerts*.c):
 * alerts.c keeps the options, the state per (input, network) and makes the events;
 * alerts_deliver.c queues them and delivers them from a thread of its own (webhook, command).
 */
#ifndef VG_SERVER_ALERTS_IMPL_H
#define VG_SERVER_ALERTS_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "alerts.h"

#define VG__ALERTS_BUCKETS 4096 /* hash buckets of the keys (chained) */

struct vg__key; /* alerts.c */

/* An event waiting for delivery. */
struct vg__event {
    struct vg__event *next;
    char *json;
};

/* The alerts: options and state (alerts.c), queue and delivery thread (alerts_deliver.c). */
struct vg_alerts {
    struct vg_alerts_opts o;
    char *webhook, *exec;             /* copies */
    struct vg_poster *poster;         /* the webhook's client (its trust store); or NULL */
    char base_url[VG_ALERTS_URL_MAX]; /* under mu */

    pthread_mutex_t mu; /* the keys */
    struct vg__key *buckets[VG__ALERTS_BUCKETS];
    size_t nkeys;
    bool keys_full_logged;
    int64_t max_t;         /* the latest time of an event taken (for vg__alerts_sweep) */
    size_t n_intermittent; /* keys reported intermittent, not stable again */
    int64_t last_sweep;    /* monotonic seconds of the last vg__alerts_sweep (poller only) */

    /* the poller (alerts_poll.c) */
    struct vg_store *store;
    char consumer[VG_STORE_PROV_MAX + 1]; /* o.consumer's copy */
    pthread_mutex_t pmu;                  /* wake, pstop */
    pthread_cond_t pcv;
    bool wake, pstop, pstarted;
    bool have_cursor; /* cursor read (at start, before any upload is taken) */
    int64_t cursor;
    pthread_t poller;

    pthread_mutex_t qmu; /* the queue, the counters and stopping */
    pthread_cond_t qcv;
    struct vg__event *head, *tail;
    size_t qlen;
    bool stopping;
    struct vg_alerts_stats st;
    pthread_t thread;
    bool started;
};

/* One line "vigie serve: alerts: ..." on o.log (when set). */
void vg__alerts_log(struct vg_alerts *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queue one event (JSON text, owned) for delivery; with the queue full or stopping it is dropped,
 * counted and logged. Any thread. */
void vg__alerts_enqueue(struct vg_alerts *a, char *json);

/* The delivery thread (pthread_create's start routine, arg the alerts): delivers events in
 * order until vg__alerts_stop, then drains the queue within a few seconds. */
void *vg__alerts_deliver_thread(void *arg);

/* Forget the history of the keys that have been quiet for a window, at most once a minute
 * (a->mu not held; the poller's thread). */
void vg__alerts_sweep(struct vg_alerts *a);

/* Stop the poller (when started) and wait for it (alerts_poll.c). */
void vg__alerts_poll_stop(struct vg_alerts *a);

/* Ask the thread to stop, wait for it (when a->started) and free what is still queued. */
void vg__alerts_stop(struct vg_alerts *a);

#endif
