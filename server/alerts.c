/* SPDX-License-Identifier: MIT */
/*
 * alerts.c - verdict-change alerts (alerts.h): the options, the state per (input, network), the
 * debouncing of flapping targets and the events. alerts_deliver.c queues and delivers them.
 *
 * Time is the measurements' own (measurement_start_time), not the clock: an upload of last
 * week's measurements gives the alerts they would have given then, and a late measurement (older
 * than the latest seen for its key) changes nothing. A measurement dated after its arrival (the
 * collector refuses it past --max-clock-skew) counts as made when it arrived, as in the store's
 * latest states: no client clock holds a key past the collector's.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts_impl.h"
#include "meas/record_read.h"
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

void
vg_alerts_seed(struct vg_alerts *a, const char *input, const char *probe_cc, uint32_t probe_asn,
               enum vg_verdict verdict, int64_t since, int64_t last_seen)
{
    struct vg__key *k;

    pthread_mutex_lock(&a->mu);
    k = vg__alerts_key(a, input, probe_cc, probe_asn, true);
    if (k != NULL && last_seen >= k->last_t) {
        k->known = true;
        k->verdict = verdict;
        k->last_t = last_seen;
        k->run_start = since;
    }
    pthread_mutex_unlock(&a->mu);
}

int
vg_alerts_seed_page(struct vg_alerts *a, const json_t *page)
{
    const json_t *results = json_object_get(page, "results"), *r;
    size_t i;
    int n = 0;

    if (!json_is_array(results)) {
        return VG_EPROTO;
    }
    json_array_foreach(results, i, r)
    {
        const char *input = json_string_value(json_object_get(r, VG_REC_KEY_INPUT));
        const char *cc = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_CC));
        const char *asn = json_string_value(json_object_get(r, VG_REC_KEY_PROBE_ASN));
        const char *v = json_string_value(json_object_get(r, VG_REC_KEY_X_VERDICT));
        enum vg_verdict verdict;
        const char *since_s = json_string_value(json_object_get(r, "since"));
        const char *last_s = json_string_value(json_object_get(r, "last_seen"));
        int64_t since, last;
        uint64_t asn_n;

        if (input == NULL || cc == NULL || strlen(cc) != 2 || asn == NULL ||
            strncmp(asn, "AS", 2) != 0 || vg_parse_u64(asn + 2, 0, UINT32_MAX, &asn_n) < 0 ||
            !vg_verdict_parse(v, &verdict) || vg_time_parse(since_s, &since) < 0 ||
            vg_time_parse(last_s, &last) < 0) {
            return VG_EPROTO;
        }
        vg_alerts_seed(a, input, cc, (uint32_t)asn_n, verdict, since, last);
        n++;
    }
    return n;
}

/* What one observation decided, to be turned into an event outside the lock. */
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

/* The share of each verdict among the observations kept at or after since, the verdicts in the
 * order of their first observation. */
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
 * The state machine of one key (a->mu held); row is not older than anything seen for k.
 *   same verdict, not flapping                 -> nothing
 *   same verdict, flapping, no change for a
 *     whole window                             -> STABLE (intermittent -> verdict)
 *   new verdict, fewer than N changes within
 *     the window (this one included)           -> CHANGE (old -> new)
 *   new verdict, the N-th change in the window -> FLAPPING (old -> intermittent, with shares)
 *   new verdict while flapping                 -> nothing (reported already)
 * The history (changes, verdicts for the share) exists from a key's first change until it is
 * quiet again: no change within the window and not flapping.
 */
static void
vg__alerts_decide(struct vg_alerts *a, struct vg__key *k, int64_t t, enum vg_verdict v,
                  struct vg__decision *d)
{
    int64_t window = (int64_t)a->o.flap_window_s;
    struct vg__hist *hi = k->hist;

    memset(d, 0, sizeof(*d));
    d->new_verdict = v;
    if (!k->known) {
        /* First sight of this key (no seed: the store had no measurement of it). Interference
         * from the first measurement on is news: a URL blocked from the start would otherwise
         * never be announced. Anything else is not a change. */
        k->known = true;
        k->verdict = v;
        k->run_start = t;
        k->last_t = t;
        if (v == VG_VERDICT_BLOCKED || v == VG_VERDICT_INTERCEPTED) {
            d->kind = VG__CHANGE;
            d->first = true;
            d->first_seen = t;
        }
        return;
    }
    if (hi != NULL) {
        size_t keep = 0;

        for (size_t i = 0; i < hi->nchanges; i++) {
            if (hi->changes[i] > t - window) {
                hi->changes[keep++] = hi->changes[i];
            }
        }
        hi->nchanges = keep;
    }
    k->last_t = t;
    if (k->verdict == v) {
        if (hi != NULL) {
            vg__alerts_remember(hi, t, v);
        }
        if (k->intermittent && t - k->run_start >= window) {
            k->intermittent = false;
            d->kind = VG__STABLE;
            d->first_seen = k->run_start;
        }
        if (!k->intermittent && hi != NULL && hi->nchanges == 0) {
            VG_FREE(k->hist);
        }
        return;
    }
    if (hi == NULL) {
        hi = k->hist = vg_xcalloc(1, sizeof(*hi));
    }
    d->old_verdict = k->verdict;
    k->verdict = v;
    k->run_start = t;
    vg__alerts_remember(hi, t, v);
    if (hi->nchanges == VG_ALERTS_FLAP_MAX) {
        memmove(hi->changes, hi->changes + 1, (VG_ALERTS_FLAP_MAX - 1) * sizeof(hi->changes[0]));
        hi->nchanges--;
    }
    hi->changes[hi->nchanges++] = t;
    if (k->intermittent) {
        return;
    }
    d->changes = (unsigned)hi->nchanges;
    d->first_seen = t;
    if (hi->nchanges >= a->o.flap_changes) {
        k->intermittent = true;
        d->kind = VG__FLAPPING;
        d->first_seen = hi->changes[0];
        d->share = vg__alerts_share(hi, t - window, &d->observed);
        return;
    }
    d->kind = VG__CHANGE;
}

/* The evidence of the verdict: the collector's analysis (row->x_evidence), else the
 * measurement's own x_evidence (vigie's probe; untrusted JSON text), cut to VG__EVIDENCE_MAX;
 * NULL if none. OONI's labels are never evidence. */
static json_t *
vg__alerts_evidence(const struct vg_store_meas *row)
{
    const char *s;
    json_t *m, *out;

    if (row->x_evidence[0] != '\0') {
        out = json_stringn(row->x_evidence, strnlen(row->x_evidence, VG__EVIDENCE_MAX));
        return out != NULL ? out : json_null();
    }
    if (row->x_analyzer[0] != '\0' && strcmp(row->x_analyzer, VG_STORE_ANALYZER_PROBE) != 0) {
        return json_null(); /* analysed: the measurement's own words are not vigie's */
    }
    m = json_loadb(row->raw, row->raw_len, JSON_REJECT_DUPLICATES, NULL);
    s = vg_rec_evidence(m);

    if (s == NULL) {
        json_decref(m);
        return json_null();
    }
    out = json_stringn(s, strnlen(s, VG__EVIDENCE_MAX));
    json_decref(m);
    return out != NULL ? out : json_null(); /* NULL: the cut split a UTF-8 sequence */
}

static char *
vg__alerts_event_json(struct vg_alerts *a, const struct vg_store_meas *row, struct vg__decision *d)
{
    static const char *const kinds[] = {
        [VG__CHANGE] = "verdict_change",
        [VG__FLAPPING] = "intermittent",
        [VG__STABLE] = "stable",
    };
    char first[VG_TIME_TEXT_MAX], at[VG_TIME_TEXT_MAX], asn[16], base[VG_ALERTS_URL_MAX];
    char url[VG_ALERTS_URL_MAX + VG_UID_MAX + 32];
    json_t *e;
    char *text;

    pthread_mutex_lock(&a->mu);
    (void)vg_strlcpy(base, a->base_url, sizeof(base));
    pthread_mutex_unlock(&a->mu);
    vg_time_format(d->first_seen, VG_TIME_ISO8601, first, sizeof(first));
    vg_time_format(row->start_time, VG_TIME_ISO8601, at, sizeof(at));
    snprintf(asn, sizeof(asn), "AS%u", (unsigned)row->probe_asn);
    snprintf(url, sizeof(url), "%s%s#/measurement/%s", base,
             base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/", row->measurement_uid);
    e = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:s?, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "event",
                  kinds[d->kind], "target", row->input, "domain", row->domain, "network",
                  "probe_cc", row->probe_cc, "probe_asn", asn, "old_verdict",
                  d->first                ? NULL
                  : d->kind == VG__STABLE ? VG__INTERMITTENT
                                          : vg_verdict_name(d->old_verdict),
                  "new_verdict",
                  d->kind == VG__FLAPPING ? VG__INTERMITTENT : vg_verdict_name(d->new_verdict),
                  "first_seen", first, "measured_at", at, "evidence", vg__alerts_evidence(row),
                  "cause", row->x_cause[0] != '\0' ? json_string(row->x_cause) : json_null(),
                  "measurement_uid", row->measurement_uid, "measurement_url", url);
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
    /* Shares print as rounded (0.33), not as the nearest double (0.33000000000000002). */
    text = json_dumps(e, JSON_COMPACT | JSON_REAL_PRECISION(4));
    json_decref(e);
    return text;
}

void
vg_alerts_observe(struct vg_alerts *a, const struct vg_store_meas *row, const char *uid)
{
    struct vg__decision d;
    enum vg_verdict v;
    struct vg__key *k;
    int64_t t, now = (int64_t)time(NULL);
    char *json;

    /* No alerts, a copy of a stored measurement, nothing names the target, or a verdict the
     * store would not have stored. */
    if (a == NULL || (uid != NULL && strcmp(uid, row->measurement_uid) != 0) || !row->has_input ||
        !vg_verdict_parse(row->x_verdict, &v)) {
        return;
    }
    t = row->start_time < now ? row->start_time : now;
    pthread_mutex_lock(&a->mu);
    k = vg__alerts_key(a, row->input, row->probe_cc, row->probe_asn, true);
    if (k == NULL || (k->known && t < k->last_t)) {
        pthread_mutex_unlock(&a->mu);
        return;
    }
    vg__alerts_decide(a, k, t, v, &d);
    pthread_mutex_unlock(&a->mu);
    if (d.kind == VG__NONE) {
        return;
    }
    json = vg__alerts_event_json(a, row, &d);
    json_decref(d.share);
    if (json != NULL) {
        vg__alerts_enqueue(a, json);
    }
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
    pthread_cond_destroy(&a->qcv);
    vg_poster_free(a->poster);
    free(a->webhook);
    free(a->exec);
    free(a);
}
