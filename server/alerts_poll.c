/* SPDX-License-Identifier: MIT */
/*
 * alerts_poll.c - the alerts' poller (alerts.h vg_alerts_poll_start): reads the store's alert
 * events after its consumer's cursor, hands them to the debouncing (alerts.c), checks whether
 * the intermittent keys are stable again, and saves the cursor once the events are queued.
 * Delivery is at most once: an event queued but not delivered when the process ends is not
 * announced again.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts_impl.h"
#include "meas/record_read.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/timefmt.h"

#define VG__POLL_PAGE 100 /* events read at a time */

/* The store's writer committed: look now. */
static void
vg__poll_wake(void *arg)
{
    struct vg_alerts *a = arg;

    pthread_mutex_lock(&a->pmu);
    a->wake = true;
    pthread_cond_signal(&a->pcv);
    pthread_mutex_unlock(&a->pmu);
}

/* The evidence of a verdict: the collector's analysis, else (vigie's probe, or no analysis) the
 * measurement's own x_evidence, read from the stored measurement (untrusted JSON text). A fresh
 * string or NULL. OONI's labels are never evidence. */
static char *
vg__poll_evidence(struct vg_alerts *a, const json_t *r)
{
    const char *ev = json_string_value(json_object_get(r, "x_evidence"));
    const char *an = json_string_value(json_object_get(r, "x_analyzer"));
    const char *uid = json_string_value(json_object_get(r, "measurement_uid"));
    char *raw = NULL, *out;
    size_t len = 0;
    json_t *m;

    if (ev != NULL) {
        return vg_xstrdup(ev);
    }
    if ((an != NULL && strcmp(an, VG_STORE_ANALYZER_PROBE) != 0) || uid == NULL ||
        vg_store_get_raw(a->store, uid, &raw, &len) < 0) {
        return NULL;
    }
    m = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    ev = vg_rec_evidence(m);
    out = ev != NULL ? vg_xstrdup(ev) : NULL;
    json_decref(m);
    free(raw);
    return out;
}

/* One result of vg_store_alert_events (or of vg_store_targets, for a hold) as an event; cc
 * holds its country. False when it is not of the shape the store writes. */
static bool
vg__poll_event(const json_t *r, const char *verdict_key, const char *time_key,
               struct vg_alerts_event *e, char cc[3])
{
    const char *old = json_string_value(json_object_get(r, "old_verdict"));
    const char *asn = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_ASN));
    const char *pcc = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_CC));
    const char *t = json_string_value(json_object_get(r, time_key));
    uint64_t asn_n;

    memset(e, 0, sizeof(*e));
    e->input = json_string_value(json_object_get(r, VG_REC_KEY_INPUT));
    e->domain = json_string_value(json_object_get(r, "domain"));
    e->cause = json_string_value(json_object_get(r, "cause"));
    e->measurement_uid = json_string_value(json_object_get(r, "measurement_uid"));
    e->source = json_string_value(json_object_get(r, "source"));
    e->late = json_is_true(json_object_get(r, "late"));
    e->has_old = old != NULL;
    if (e->input == NULL || e->measurement_uid == NULL || pcc == NULL || strlen(pcc) != 2 ||
        asn == NULL || strncmp(asn, "AS", 2) != 0 ||
        vg_parse_u64(asn + 2, 0, UINT32_MAX, &asn_n) < 0 ||
        !vg_verdict_parse(json_string_value(json_object_get(r, verdict_key)), &e->new_verdict) ||
        (old != NULL && !vg_verdict_parse(old, &e->old_verdict)) ||
        vg_time_parse(t, &e->time) < 0) {
        return false;
    }
    memcpy(cc, pcc, 3);
    e->probe_cc = cc;
    e->probe_asn = (uint32_t)asn_n;
    return true;
}

/* An intermittent key: its latest state (scope all), handed to vg_alerts_hold. */
static void
vg__poll_hold(void *arg, const char *input, const char *probe_cc, uint32_t probe_asn)
{
    struct vg_alerts *a = arg;
    struct vg_store_filter f = {
        .input = input, .probe_cc = probe_cc, .has_probe_asn = true, .probe_asn = probe_asn};
    struct vg_alerts_event e;
    const json_t *r;
    json_t *page = NULL;
    int64_t since;
    char cc[3];

    if (vg_store_targets(a->store, &f, NULL, 1, &page) < 0) {
        return; /* asked again at the next pass */
    }
    r = json_array_get(json_object_get(page, "results"), 0);
    if (r != NULL && vg__poll_event(r, VG_REC_KEY_X_VERDICT, "last_seen", &e, cc) &&
        vg_time_parse(json_string_value(json_object_get(r, "since")), &since) == 0) {
        char *ev = vg__poll_evidence(a, r);

        e.cause = json_string_value(json_object_get(r, VG_REC_KEY_X_CAUSE));
        e.evidence = ev;
        vg_alerts_hold(a, &e, since);
        free(ev);
    }
    json_decref(page);
}

/* One pass: the intermittent keys, then every event after *cursor, a page at a time, the
 * cursor saved after each page. 0, or a store error (tried again at the next pass). */
static int
vg__poll_pass(struct vg_alerts *a, int64_t *cursor)
{
    size_t n;

    /* Holds first: a key that is stable again is told so before the events committed after. */
    (void)vg_alerts_intermittent(a, vg__poll_hold, a);
    do {
        json_t *page, *r;
        int64_t last = *cursor;
        size_t i;

        VG_TRY(vg_store_alert_events(a->store, NULL, *cursor, VG__POLL_PAGE, &page));
        n = json_array_size(json_object_get(page, "results"));
        json_array_foreach(json_object_get(page, "results"), i, r)
        {
            struct vg_alerts_event e;
            char cc[3], *ev;

            last = json_integer_value(json_object_get(r, "id"));
            if (!vg__poll_event(r, "new_verdict", "measurement_time", &e, cc)) {
                vg__alerts_log(a, "alert event %lld: not of the expected shape, skipped",
                               (long long)last);
                continue;
            }
            ev = vg__poll_evidence(a, r);
            e.evidence = ev;
            vg_alerts_event(a, &e);
            free(ev);
        }
        json_decref(page);
        if (last != *cursor) {
            int rc = vg_store_alert_cursor_set(a->store, a->consumer, last);

            if (rc < 0) {
                vg__alerts_log(a, "cannot save the cursor of consumer %s: %s", a->consumer,
                               vg_store_strerror(rc));
            }
            *cursor = last;
        }
    } while (n == VG__POLL_PAGE);
    vg__alerts_sweep(a);
    return 0;
}

static void *
vg__poll_thread(void *arg)
{
    struct vg_alerts *a = arg;
    bool have_cursor = a->have_cursor, logged = false;
    int64_t cursor = a->cursor;

    for (;;) {
        struct timespec until;
        int rc;

        pthread_mutex_lock(&a->pmu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += a->o.poll_ms / 1000;
        until.tv_nsec += (long)(a->o.poll_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!a->wake && !a->pstop &&
               pthread_cond_timedwait(&a->pcv, &a->pmu, &until) != ETIMEDOUT) {
        }
        a->wake = false;
        if (a->pstop) {
            pthread_mutex_unlock(&a->pmu);
            break;
        }
        pthread_mutex_unlock(&a->pmu);
        rc = 0;
        if (!have_cursor) {
            rc = vg_store_alert_cursor(a->store, a->consumer, &cursor);
            have_cursor = rc == 0;
        }
        if (rc == 0) {
            rc = vg__poll_pass(a, &cursor);
        }
        if (rc < 0 && !logged) {
            vg__alerts_log(a, "cannot read the alert events: %s (trying again)",
                           vg_store_strerror(rc));
        }
        logged = rc < 0;
    }
    return NULL;
}

int
vg_alerts_poll_start(struct vg_alerts *a, struct vg_store *store, char *err, size_t errlen)
{
    int rc;

    a->store = store;
    /* The cursor now, before this process takes uploads: a new consumer starts before them. */
    a->have_cursor = vg_store_alert_cursor(store, a->consumer, &a->cursor) == 0;
    a->wake = true; /* a first pass at once: what was committed while no one looked */
    vg_store_on_commit(store, vg__poll_wake, a);
    rc = pthread_create(&a->poller, NULL, vg__poll_thread, a);
    if (rc != 0) {
        vg_store_on_commit(store, NULL, NULL);
        snprintf(err, errlen, "cannot start the alert poller: %s", strerror(rc));
        return VG_EINTERNAL;
    }
    a->pstarted = true;
    return 0;
}

void
vg__alerts_poll_stop(struct vg_alerts *a)
{
    if (!a->pstarted) {
        return;
    }
    vg_store_on_commit(a->store, NULL, NULL);
    pthread_mutex_lock(&a->pmu);
    a->pstop = true;
    pthread_cond_signal(&a->pcv);
    pthread_mutex_unlock(&a->pmu);
    pthread_join(a->poller, NULL);
    a->pstarted = false;
}
