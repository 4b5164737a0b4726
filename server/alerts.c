/* SPDX-License-Identifier: MIT */
/*
 * alerts.c - verdict-change alerts (alerts.h): the options, the state per (input, network), the
 * debouncing of flapping targets and the messages. The changes themselves are the store's alert
 * events (store_events.c), read by alerts_poll.c; alerts_deliver.c queues and delivers them.
 *
 * Time is the measurements' own (measurement_start_time), not the clock: an upload of last
 * week's measurements gives the alerts they would have given then. A late event (a measurement
 * placed before its key's latest) is told as it is and moves no state.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts_impl.h"
#include "proto/url.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/timefmt.h"

#define VG__RESP_MAX     4096 /* bytes of a webhook answer read (the status is what counts) */
#define VG__EVIDENCE_MAX 1024 /* bytes of x_evidence put in an event */
/* Not a verdict: what the events say of a key that keeps changing (new_verdict, old_verdict). */
#define VG__INTERMITTENT "intermittent"

/* The recent history of a key that changed verdict: kept only while it is of use. */
struct vg__hist {
    int64_t changes[VG_ALERTS_FLAP_MAX]; /* times of the recent changes, oldest first */
    size_t nchanges;
    struct {
        int64_t t;
        enum vg_verdict v;
    } obs[VG_ALERTS_OBS_MAX]; /* verdicts since the first recent change, a ring */
    size_t obs_head, obs_n;
};

/* One (input, network): its verdict, and its history when it has been changing. */
struct vg__key {
    struct vg__key *next;
    uint64_t hash;
    char *input;
    char cc[3];
    uint32_t asn;
    bool known;              /* verdict is set (seeded or seen) */
    enum vg_verdict verdict; /* the latest verdict */
    int64_t last_t;          /* start time of the latest measurement */
    int64_t run_start;       /* since when verdict holds */
    bool intermittent;       /* reported as intermittent, not yet stable again */
    struct vg__hist *hist;   /* NULL while the key is quiet */
};

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t
vg__alerts_hash(const char *input, const char *cc, uint32_t asn)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (const char *p = input; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    }
    h = (h ^ (uint8_t)cc[0]) * 1099511628211ULL;
    h = (h ^ (uint8_t)cc[1]) * 1099511628211ULL;
    for (int i = 0; i < 4; i++) {
        h = (h ^ ((asn >> (8 * i)) & 0xff)) * 1099511628211ULL;
    }
    return h;
}

/* The key, created (with an empty verdict) when create is set and there is room; else NULL. */
static struct vg__key *
vg__alerts_key(struct vg_alerts *a, const char *input, const char *cc, uint32_t asn, bool create)
{
    uint64_t h = vg__alerts_hash(input, cc, asn);
    struct vg__key **slot = &a->buckets[h % VG__ALERTS_BUCKETS], *k;

    for (k = *slot; k != NULL; k = k->next) {
        if (k->hash == h && k->asn == asn && strcmp(k->cc, cc) == 0 &&
            strcmp(k->input, input) == 0) {
            return k;
        }
    }
    if (!create) {
        return NULL;
    }
    if (a->nkeys >= VG_ALERTS_KEYS_MAX) {
        if (!a->keys_full_logged) {
            vg__alerts_log(a, "tracking %d targets x networks already: new ones get no alerts",
                           VG_ALERTS_KEYS_MAX);
            a->keys_full_logged = true;
        }
        return NULL;
    }
    k = vg_xcalloc(1, sizeof(*k));
    k->hash = h;
    k->input = vg_xstrdup(input);
    (void)vg_strlcpy(k->cc, cc, sizeof(k->cc));
    k->asn = asn;
    k->next = *slot;
    *slot = k;
    a->nkeys++;
    return k;
}

/* ---- options ------------------------------------------------------------------------------- */

/* The webhook must be an http:// or https:// URL; it is not quoted (it may hold a secret). */
static int
vg__alerts_check_webhook(const char *url, char *err, size_t errlen)
{
    struct vg_url u;
    int rc = vg_url_parse(url, &u);

    if (rc == VG_ETOOBIG) {
        snprintf(err, errlen, "--alert-webhook: a URL longer than %d bytes, or its host than %d",
                 VG_URL_MAX - 1, VG_DNS_NAME_MAX);
        return VG_EINVAL;
    }
    if (rc < 0 || (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0)) {
        snprintf(err, errlen,
                 "--alert-webhook: an http:// or https:// URL is needed (a host, an optional "
                 "port, no user information, no spaces or control characters)");
        return VG_EINVAL;
    }
    return 0;
}

/* The webhook's client: its URL checked, its trust store loaded (--alert-ca-file). */
static int
vg__alerts_new_poster(struct vg_alerts *a, const struct vg_alerts_opts *o, char *err, size_t errlen)
{
    struct vg_post_opts po = {
        .ca_file = o->ca_file,
        .timeout_ms = a->o.timeout_ms,
        .resp_max = VG__RESP_MAX,
    };
    char why[512];

    VG_TRY(vg__alerts_check_webhook(o->webhook, err, errlen));
    if (vg_poster_new(&po, &a->poster, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s%s", o->ca_file != NULL ? "--alert-ca-file: " : "", why);
        return VG_EINVAL;
    }
    return 0;
}

int
vg_alerts_new(const struct vg_alerts_opts *o, struct vg_alerts **out, char *err, size_t errlen)
{
    struct vg_alerts *a;
    int rc;

    *out = NULL;
    if (o->ca_file != NULL && o->webhook == NULL) {
        snprintf(err, errlen, "--alert-ca-file: for an https --alert-webhook only");
        return VG_EINVAL;
    }
    if (o->webhook == NULL && o->exec == NULL && o->sink == NULL) {
        snprintf(err, errlen, "alerts need a webhook, a command or a sink");
        return VG_EINVAL;
    }
    if (o->flap_changes > VG_ALERTS_FLAP_MAX || o->flap_changes == 1) {
        snprintf(err, errlen, "--alert-flap: from 2 to %d changes", VG_ALERTS_FLAP_MAX);
        return VG_EINVAL;
    }
    if (o->base_url != NULL && strlen(o->base_url) >= VG_ALERTS_URL_MAX) {
        snprintf(err, errlen, "--public-url: longer than %d bytes", VG_ALERTS_URL_MAX - 1);
        return VG_EINVAL;
    }
    if (o->consumer != NULL && !vg_store_provenance_ok(o->consumer)) {
        snprintf(err, errlen, "--alert-consumer: 1 to %d characters among A-Z a-z 0-9 _ . -",
                 VG_STORE_PROV_MAX);
        return VG_EINVAL;
    }
    if (o->exec != NULL && o->exec[0] == '\0') {
        snprintf(err, errlen, "--alert-exec: an empty command");
        return VG_EINVAL;
    }
    a = vg_xcalloc(1, sizeof(*a));
    a->o = *o;
    a->o.flap_changes = o->flap_changes != 0 ? o->flap_changes : 3;
    a->o.flap_window_s = o->flap_window_s != 0 ? o->flap_window_s : 3600;
    a->o.timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : 10000;
    a->o.attempts = o->attempts != 0 ? o->attempts : 3;
    a->o.poll_ms = o->poll_ms != 0 ? o->poll_ms : 1000;
    (void)vg_strlcpy(a->consumer, o->consumer != NULL ? o->consumer : "default",
                     sizeof(a->consumer));
    a->o.consumer = a->consumer;
    if (o->webhook != NULL) {
        rc = vg__alerts_new_poster(a, o, err, errlen);
        if (rc < 0) {
            free(a);
            return rc;
        }
        a->webhook = vg_xstrdup(o->webhook);
    }
    a->exec = o->exec != NULL ? vg_xstrdup(o->exec) : NULL;
    (void)vg_strlcpy(a->base_url, o->base_url != NULL ? o->base_url : "/", sizeof(a->base_url));
    a->o.webhook = a->webhook;
    a->o.exec = a->exec;
    a->o.ca_file = NULL;  /* read by vg_poster_new */
    a->o.base_url = NULL; /* a->base_url, under a->mu */
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->qmu, NULL);
    pthread_mutex_init(&a->pmu, NULL);
    pthread_cond_init(&a->pcv, NULL);
    pthread_cond_init(&a->qcv, NULL);
    rc = pthread_create(&a->thread, NULL, vg__alerts_deliver_thread, a);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the alert thread: %s", strerror(rc));
        vg_alerts_free(a);
        return VG_EINTERNAL;
    }
    a->started = true;
    *out = a;
    return 0;
}

/* ---- state --------------------------------------------------------------------------------- */

/* What one event decided, to be turned into a message outside the lock. */
enum vg__kind { VG__NONE, VG__CHANGE, VG__FLAPPING, VG__STABLE };

struct vg__decision {
    enum vg__kind kind;
    enum vg_verdict old_verdict, new_verdict; /* VG__STABLE: old is "intermittent" */
    bool first; /* VG__CHANGE of a key's first measurement: no old verdict (null) */
    int64_t first_seen;
    unsigned changes;
    json_t *share; /* for VG__FLAPPING: {verdict: fraction} */
    unsigned observed;
};

static void
vg__alerts_remember(struct vg__hist *hi, int64_t t, enum vg_verdict v)
{
    size_t slot = (hi->obs_head + hi->obs_n) % VG_ALERTS_OBS_MAX;

    if (hi->obs_n == VG_ALERTS_OBS_MAX) {
        slot = hi->obs_head;
        hi->obs_head = (hi->obs_head + 1) % VG_ALERTS_OBS_MAX;
    } else {
        hi->obs_n++;
    }
    hi->obs[slot].t = t;
    hi->obs[slot].v = v;
}

/* The share of each verdict among the changes kept at or after since (each the verdict it
 * changed to), the verdicts in the order of their first observation. */
static json_t *
vg__alerts_share(const struct vg__hist *hi, int64_t since, unsigned *observed)
{
    unsigned counts[VG_VERDICT_COUNT] = {0}, total = 0;
    enum vg_verdict order[VG_VERDICT_COUNT];
    size_t norder = 0;
    json_t *out = json_object();

    for (size_t i = 0; i < hi->obs_n; i++) {
        size_t j = (hi->obs_head + i) % VG_ALERTS_OBS_MAX;
        enum vg_verdict v = hi->obs[j].v;

        if (hi->obs[j].t < since) {
            continue;
        }
        if (counts[v]++ == 0) {
            order[norder++] = v;
        }
        total++;
    }
    for (size_t i = 0; i < norder; i++) {
        /* Two decimals: a share, not a measurement. */
        double f = (double)counts[order[i]] / (double)total;

        json_object_set_new(out, vg_verdict_name(order[i]),
                            json_real((double)(long)(f * 100 + 0.5) / 100));
    }
    *observed = total;
    return out;
}

/*
 * The state machine of one key (a->mu held), fed with the store's events in id order:
 *   late event (an old measurement placed in the past) -> CHANGE, told as it is; the key's
 *                                                         state is not touched
 *   first measurement with interference                -> CHANGE (null -> new)
 *   change, fewer than N changes within the window     -> CHANGE (old -> new)
 *   the N-th change in the window                      -> FLAPPING (old -> intermittent)
 *   change while flapping                              -> nothing (reported already)
 * Stable again (one verdict held for a whole window) is vg_alerts_hold's. The history (recent
 * changes) lives from a key's first change until vg__alerts_sweep finds it quiet.
 */
static void
vg__alerts_decide(struct vg_alerts *a, struct vg__key *k, const struct vg_alerts_event *e,
                  struct vg__decision *d)
{
    int64_t window = (int64_t)a->o.flap_window_s, t = e->time;
    struct vg__hist *hi = k->hist;

    memset(d, 0, sizeof(*d));
    d->kind = VG__CHANGE;
    d->new_verdict = e->new_verdict;
    d->old_verdict = e->old_verdict;
    d->first = !e->has_old;
    d->first_seen = t;
    if (e->late) {
        return;
    }
    if (t > a->max_t) {
        a->max_t = t;
    }
    k->known = true;
    k->last_t = t;
    k->verdict = e->new_verdict;
    k->run_start = t;
    if (d->first) {
        return;
    }
    if (hi == NULL) {
        hi = k->hist = vg_xcalloc(1, sizeof(*hi));
    }
    {
        size_t keep = 0;

        for (size_t i = 0; i < hi->nchanges; i++) {
            if (hi->changes[i] > t - window) {
                hi->changes[keep++] = hi->changes[i];
            }
        }
        hi->nchanges = keep;
    }
    vg__alerts_remember(hi, t, e->new_verdict);
    if (hi->nchanges == VG_ALERTS_FLAP_MAX) {
        memmove(hi->changes, hi->changes + 1, (VG_ALERTS_FLAP_MAX - 1) * sizeof(hi->changes[0]));
        hi->nchanges--;
    }
    hi->changes[hi->nchanges++] = t;
    if (k->intermittent) {
        d->kind = VG__NONE;
        return;
    }
    d->changes = (unsigned)hi->nchanges;
    if (hi->nchanges >= a->o.flap_changes) {
        k->intermittent = true;
        a->n_intermittent++;
        d->kind = VG__FLAPPING;
        d->first_seen = hi->changes[0];
        d->share = vg__alerts_share(hi, t - window, &d->observed);
    }
}

static char *
vg__alerts_event_json(struct vg_alerts *a, const struct vg_alerts_event *ev, struct vg__decision *d)
{
    static const char *const kinds[] = {
        [VG__CHANGE] = "verdict_change",
        [VG__FLAPPING] = "intermittent",
        [VG__STABLE] = "stable",
    };
    char first[VG_TIME_TEXT_MAX], at[VG_TIME_TEXT_MAX], asn[16], base[VG_ALERTS_URL_MAX];
    char url[VG_ALERTS_URL_MAX + VG_UID_MAX + 32];
    json_t *e, *evidence = json_null();
    char *text;

    pthread_mutex_lock(&a->mu);
    (void)vg_strlcpy(base, a->base_url, sizeof(base));
    pthread_mutex_unlock(&a->mu);
    vg_time_format(d->first_seen, VG_TIME_ISO8601, first, sizeof(first));
    vg_time_format(ev->time, VG_TIME_ISO8601, at, sizeof(at));
    snprintf(asn, sizeof(asn), "AS%u", (unsigned)ev->probe_asn);
    snprintf(url, sizeof(url), "%s%s#/measurement/%s", base,
             base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/", ev->measurement_uid);
    if (ev->evidence != NULL) {
        /* cut to VG__EVIDENCE_MAX; NULL when the cut split a UTF-8 sequence */
        evidence = json_stringn(ev->evidence, strnlen(ev->evidence, VG__EVIDENCE_MAX));
        evidence = evidence != NULL ? evidence : json_null();
    }
    e = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s}, s:s?, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "event",
        kinds[d->kind], "target", ev->input, "domain", ev->domain != NULL ? ev->domain : "",
        "network", "probe_cc", ev->probe_cc, "probe_asn", asn, "old_verdict",
        d->first                ? NULL
        : d->kind == VG__STABLE ? VG__INTERMITTENT
                                : vg_verdict_name(d->old_verdict),
        "new_verdict", d->kind == VG__FLAPPING ? VG__INTERMITTENT : vg_verdict_name(d->new_verdict),
        "first_seen", first, "measured_at", at, "evidence", evidence, "cause",
        ev->cause != NULL && ev->cause[0] != '\0' ? json_string(ev->cause) : json_null(),
        "measurement_uid", ev->measurement_uid, "measurement_url", url);
    if (e == NULL) {
        return NULL; /* not UTF-8: the store accepts only valid JSON, so this is a bug */
    }
    if (d->kind == VG__FLAPPING) {
        json_object_set_new(e, "latest_verdict", json_string(vg_verdict_name(d->new_verdict)));
        json_object_set_new(e, "share", d->share);
        d->share = NULL;
        json_object_set_new(e, "observed", json_integer(d->observed));
        json_object_set_new(e, "changes", json_integer(d->changes));
        json_object_set_new(e, "window_seconds", json_integer(a->o.flap_window_s));
    }
    json_object_set_new(e, "source", json_string(ev->source != NULL ? ev->source : "ingest"));
    json_object_set_new(e, "late", json_boolean(ev->late));
    /* Shares print as rounded (0.33), not as the nearest double (0.33000000000000002). */
    text = json_dumps(e, JSON_COMPACT | JSON_REAL_PRECISION(4));
    json_decref(e);
    return text;
}

static void
vg__alerts_emit(struct vg_alerts *a, const struct vg_alerts_event *e, struct vg__decision *d)
{
    char *json;

    if (d->kind == VG__NONE) {
        return;
    }
    json = vg__alerts_event_json(a, e, d);
    json_decref(d->share);
    if (json != NULL) {
        vg__alerts_enqueue(a, json);
    }
}

void
vg_alerts_event(struct vg_alerts *a, const struct vg_alerts_event *e)
{
    struct vg__decision d = {.kind = VG__NONE};
    struct vg__key *k;

    if (a == NULL) {
        return;
    }
    pthread_mutex_lock(&a->mu);
    k = vg__alerts_key(a, e->input, e->probe_cc, e->probe_asn, !e->late);
    if (k != NULL || e->late) {
        struct vg__key none = {.known = false};

        vg__alerts_decide(a, k != NULL ? k : &none, e, &d);
    }
    pthread_mutex_unlock(&a->mu);
    vg__alerts_emit(a, e, &d);
}

void
vg_alerts_hold(struct vg_alerts *a, const struct vg_alerts_event *e, int64_t since)
{
    struct vg__decision d = {.kind = VG__NONE};
    int64_t window = (int64_t)a->o.flap_window_s;
    struct vg__key *k;

    pthread_mutex_lock(&a->mu);
    k = vg__alerts_key(a, e->input, e->probe_cc, e->probe_asn, false);
    if (k != NULL && k->intermittent && k->verdict == e->new_verdict && e->time >= k->last_t &&
        e->time - since >= window && e->time - k->run_start >= window) {
        k->intermittent = false;
        a->n_intermittent--;
        VG_FREE(k->hist);
        d.kind = VG__STABLE;
        d.new_verdict = e->new_verdict;
        d.first_seen = k->run_start;
    }
    pthread_mutex_unlock(&a->mu);
    vg__alerts_emit(a, e, &d);
}

size_t
vg_alerts_intermittent(struct vg_alerts *a, vg_alerts_key_fn fn, void *arg)
{
    struct vg__keyref {
        char *input;
        char cc[3];
        uint32_t asn;
    } *refs = NULL;
    size_t n = 0, cap = 0;

    pthread_mutex_lock(&a->mu);
    for (size_t b = 0; a->n_intermittent > 0 && b < VG__ALERTS_BUCKETS; b++) {
        for (struct vg__key *k = a->buckets[b]; k != NULL; k = k->next) {
            if (!k->intermittent) {
                continue;
            }
            if (n == cap) {
                cap = cap > 0 ? 2 * cap : 16;
                refs = vg_xrealloc(refs, cap * sizeof(*refs));
            }
            refs[n].input = vg_xstrdup(k->input);
            memcpy(refs[n].cc, k->cc, sizeof(refs[n].cc));
            refs[n].asn = k->asn;
            n++;
        }
    }
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n; i++) {
        fn(arg, refs[i].input, refs[i].cc, refs[i].asn);
        free(refs[i].input);
    }
    free(refs);
    return n;
}

void
vg__alerts_sweep(struct vg_alerts *a)
{
    int64_t window = (int64_t)a->o.flap_window_s;
    struct timespec now;

    /* A walk over every key: once a minute is enough to bound the histories kept. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (a->last_sweep != 0 && now.tv_sec - a->last_sweep < 60) {
        return;
    }
    a->last_sweep = now.tv_sec;
    pthread_mutex_lock(&a->mu);
    for (size_t b = 0; b < VG__ALERTS_BUCKETS; b++) {
        for (struct vg__key *k = a->buckets[b]; k != NULL; k = k->next) {
            if (k->hist != NULL && !k->intermittent && k->hist->nchanges > 0 &&
                k->hist->changes[k->hist->nchanges - 1] <= a->max_t - window) {
                VG_FREE(k->hist); /* quiet for a window: its next change starts afresh */
            }
        }
    }
    pthread_mutex_unlock(&a->mu);
}

void
vg_alerts_set_base_url(struct vg_alerts *a, const char *base_url)
{
    pthread_mutex_lock(&a->mu);
    (void)vg_strlcpy(a->base_url, base_url, sizeof(a->base_url));
    pthread_mutex_unlock(&a->mu);
}

void
vg_alerts_stats(struct vg_alerts *a, struct vg_alerts_stats *st)
{
    pthread_mutex_lock(&a->qmu);
    *st = a->st;
    pthread_mutex_unlock(&a->qmu);
}

void
vg_alerts_free(struct vg_alerts *a)
{
    if (a == NULL) {
        return;
    }
    vg__alerts_poll_stop(a); /* no event is taken after this */
    vg__alerts_stop(a);
    for (size_t b = 0; b < VG__ALERTS_BUCKETS; b++) {
        struct vg__key *k = a->buckets[b], *next;

        for (; k != NULL; k = next) {
            next = k->next;
            free(k->hist);
            free(k->input);
            free(k);
        }
    }
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->qmu);
    pthread_mutex_destroy(&a->pmu);
    pthread_cond_destroy(&a->pcv);
    pthread_cond_destroy(&a->qcv);
    vg_poster_free(a->poster);
    free(a->webhook);
    free(a->exec);
    free(a);
}
