/* SPDX-License-Identifier: MIT */
/*
 * alerts.c - verdict-change alerts (alerts.h): the state per (input, network), the debouncing of
 * flapping targets, and the delivery thread (webhook over HTTP/1.1, command with the event on
 * standard input).
 *
 * Time is the measurements' own (measurement_start_time), not the clock: an upload of last
 * week's measurements gives the alerts they would have given then, and a late measurement (older
 * than the latest seen for its key) changes nothing.
 */
#include "alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/timefmt.h"

#define VG__BUCKETS      4096 /* hash buckets (chained) */
#define VG__RESP_MAX     4096 /* bytes of a webhook answer read (the status line is enough) */
#define VG__DRAIN_S      5    /* seconds given to the queue at shutdown */
#define VG__VERDICT_MAX  16
#define VG__EVIDENCE_MAX 1024 /* bytes of x_evidence put in an event */
#define VG__INTERMITTENT "intermittent"

extern char **environ;

/* The recent history of a key that changed verdict: kept only while it is of use. */
struct vg__hist {
    int64_t changes[VG_ALERTS_FLAP_MAX]; /* times of the recent changes, oldest first */
    size_t nchanges;
    struct {
        int64_t t;
        char v[VG__VERDICT_MAX];
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
    char verdict[VG__VERDICT_MAX]; /* the latest verdict */
    int64_t last_t;                /* start time of the latest measurement */
    int64_t run_start;             /* since when verdict holds */
    bool intermittent;             /* reported as intermittent, not yet stable again */
    struct vg__hist *hist;         /* NULL while the key is quiet */
};

/* An event waiting for delivery. */
struct vg__event {
    struct vg__event *next;
    char *json;
};

struct vg_alerts {
    struct vg_alerts_opts o;
    char *webhook, *exec;                 /* copies */
    char base_url[VG_ALERTS_WEBHOOK_MAX]; /* under mu */
    char host[256], port[8], path[VG_ALERTS_WEBHOOK_MAX];

    pthread_mutex_t mu; /* the keys */
    struct vg__key *buckets[VG__BUCKETS];
    size_t nkeys;
    bool keys_full_logged;

    pthread_mutex_t qmu; /* the queue, the counters and stopping */
    pthread_cond_t qcv;
    struct vg__event *head, *tail;
    size_t qlen;
    bool stopping;
    struct vg_alerts_stats st;
    pthread_t thread;
    bool started;
};

/* ---- helpers ------------------------------------------------------------------------------- */

static void vg__alerts_log(struct vg_alerts *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
vg__alerts_log(struct vg_alerts *a, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (a->o.log == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(a->o.log, "vigie serve: alerts: %s\n", line);
    fflush(a->o.log);
}

static uint64_t
vg__hash(const char *input, const char *cc, uint32_t asn)
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
vg__key(struct vg_alerts *a, const char *input, const char *cc, uint32_t asn, bool create)
{
    uint64_t h = vg__hash(input, cc, asn);
    struct vg__key **slot = &a->buckets[h % VG__BUCKETS], *k;

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

static void *vg__thread(void *arg);

/* ---- options ------------------------------------------------------------------------------- */

/* Split "http://HOST[:PORT][/PATH]" into a->host, a->port, a->path. */
static int
vg__parse_webhook(struct vg_alerts *a, const char *url, char *err, size_t errlen)
{
    const char *p, *host, *host_end, *port = NULL;
    size_t hl, n = strlen(url);
    uint64_t pn = 80;

    if (n >= VG_ALERTS_WEBHOOK_MAX) {
        snprintf(err, errlen, "--alert-webhook: longer than %d bytes", VG_ALERTS_WEBHOOK_MAX - 1);
        return VG_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f) {
            snprintf(err, errlen, "--alert-webhook: spaces or control characters in the URL");
            return VG_EINVAL;
        }
    }
    if (strncmp(url, "https://", 8) == 0) {
        snprintf(err, errlen,
                 "--alert-webhook: https is not supported; use --alert-exec with an HTTPS client, "
                 "e.g. 'curl -sS --fail -H \"Content-Type: application/json\" --data-binary @- "
                 "URL'");
        return VG_EINVAL;
    }
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "--alert-webhook: an http:// URL is needed");
        return VG_EINVAL;
    }
    host = url + 7;
    p = host + strcspn(host, "/?#");
    if (memchr(host, '@', (size_t)(p - host)) != NULL) {
        snprintf(err, errlen, "--alert-webhook: user information in the URL is not supported");
        return VG_EINVAL;
    }
    if (host[0] == '[') {
        host_end = memchr(host, ']', (size_t)(p - host));
        if (host_end == NULL) {
            snprintf(err, errlen, "--alert-webhook: unterminated [IPv6] address");
            return VG_EINVAL;
        }
        if (host_end + 1 < p) {
            if (host_end[1] != ':') {
                snprintf(err, errlen, "--alert-webhook: bad host");
                return VG_EINVAL;
            }
            port = host_end + 2;
        }
        host++;
    } else {
        host_end = memchr(host, ':', (size_t)(p - host));
        if (host_end != NULL) {
            port = host_end + 1;
        } else {
            host_end = p;
        }
    }
    hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof(a->host)) {
        snprintf(err, errlen, "--alert-webhook: no host, or a host too long");
        return VG_EINVAL;
    }
    if (port != NULL && vg_parse_u64n(port, (size_t)(p - port), 1, 65535, &pn) < 0) {
        snprintf(err, errlen, "--alert-webhook: bad port");
        return VG_EINVAL;
    }
    memcpy(a->host, host, hl);
    a->host[hl] = '\0';
    snprintf(a->port, sizeof(a->port), "%u", (unsigned)pn);
    /* The fragment is not sent; an empty path is "/". */
    snprintf(a->path, sizeof(a->path), "%s%.*s", *p == '/' ? "" : "/", (int)strcspn(p, "#"), p);
    return 0;
}

int
vg_alerts_new(const struct vg_alerts_opts *o, struct vg_alerts **out, char *err, size_t errlen)
{
    struct vg_alerts *a;
    int rc;

    *out = NULL;
    if (o->webhook == NULL && o->exec == NULL && o->sink == NULL) {
        snprintf(err, errlen, "alerts need a webhook, a command or a sink");
        return VG_EINVAL;
    }
    if (o->flap_changes > VG_ALERTS_FLAP_MAX || o->flap_changes == 1) {
        snprintf(err, errlen, "--alert-flap: from 2 to %d changes", VG_ALERTS_FLAP_MAX);
        return VG_EINVAL;
    }
    if (o->base_url != NULL && strlen(o->base_url) >= VG_ALERTS_WEBHOOK_MAX) {
        snprintf(err, errlen, "--public-url: longer than %d bytes", VG_ALERTS_WEBHOOK_MAX - 1);
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
        rc = vg__parse_webhook(a, o->webhook, err, errlen);
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
    a->o.base_url = NULL; /* a->base_url, under a->mu */
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->qmu, NULL);
    pthread_cond_init(&a->qcv, NULL);
    rc = pthread_create(&a->thread, NULL, vg__thread, a);
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
               const char *verdict, int64_t since, int64_t last_seen)
{
    struct vg__key *k;

    pthread_mutex_lock(&a->mu);
    k = vg__key(a, input, probe_cc, probe_asn, true);
    if (k != NULL && last_seen >= k->last_t) {
        (void)vg_strlcpy(k->verdict, verdict, sizeof(k->verdict));
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
        const char *input = json_string_value(json_object_get(r, "input"));
        const char *cc = json_string_value(json_object_get(r, "probe_cc"));
        const char *asn = json_string_value(json_object_get(r, "probe_asn"));
        const char *v = json_string_value(json_object_get(r, "x_verdict"));
        const char *since_s = json_string_value(json_object_get(r, "since"));
        const char *last_s = json_string_value(json_object_get(r, "last_seen"));
        int64_t since, last;
        uint64_t asn_n;

        if (input == NULL || cc == NULL || strlen(cc) != 2 || asn == NULL ||
            strncmp(asn, "AS", 2) != 0 || vg_parse_u64(asn + 2, 0, UINT32_MAX, &asn_n) < 0 ||
            v == NULL || vg_time_parse(since_s, &since) < 0 || vg_time_parse(last_s, &last) < 0) {
            return VG_EPROTO;
        }
        vg_alerts_seed(a, input, cc, (uint32_t)asn_n, v, since, last);
        n++;
    }
    return n;
}

/* What one observation decided, to be turned into an event outside the lock. */
enum vg__kind { VG__NONE, VG__CHANGE, VG__FLAPPING, VG__STABLE };

struct vg__decision {
    enum vg__kind kind;
    char old_verdict[VG__VERDICT_MAX];
    int64_t first_seen;
    unsigned changes;
    json_t *share; /* for VG__FLAPPING: {verdict: fraction} */
    unsigned observed;
};

static void
vg__remember(struct vg__hist *hi, int64_t t, const char *v)
{
    size_t slot = (hi->obs_head + hi->obs_n) % VG_ALERTS_OBS_MAX;

    if (hi->obs_n == VG_ALERTS_OBS_MAX) {
        slot = hi->obs_head;
        hi->obs_head = (hi->obs_head + 1) % VG_ALERTS_OBS_MAX;
    } else {
        hi->obs_n++;
    }
    hi->obs[slot].t = t;
    (void)vg_strlcpy(hi->obs[slot].v, v, sizeof(hi->obs[slot].v));
}

/* The share of each verdict among the observations kept at or after since. */
static json_t *
vg__share(const struct vg__hist *hi, int64_t since, unsigned *observed)
{
    json_t *counts = json_object(), *out = json_object(), *c;
    const char *v;
    unsigned total = 0;

    for (size_t i = 0; i < hi->obs_n; i++) {
        size_t j = (hi->obs_head + i) % VG_ALERTS_OBS_MAX;

        if (hi->obs[j].t < since) {
            continue;
        }
        c = json_object_get(counts, hi->obs[j].v);
        json_object_set_new(counts, hi->obs[j].v,
                            json_integer(c != NULL ? json_integer_value(c) + 1 : 1));
        total++;
    }
    json_object_foreach(counts, v, c)
    {
        /* Two decimals: a share, not a measurement. */
        double f = (double)json_integer_value(c) / (double)total;

        json_object_set_new(out, v, json_real((double)(long)(f * 100 + 0.5) / 100));
    }
    json_decref(counts);
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
vg__alerts_decide(struct vg_alerts *a, struct vg__key *k, const struct vg_store_meas *row,
                  struct vg__decision *d)
{
    int64_t t = row->start_time, window = (int64_t)a->o.flap_window_s;
    struct vg__hist *hi = k->hist;

    memset(d, 0, sizeof(*d));
    if (k->verdict[0] == '\0') {
        /* First sight of this key (no seed): nothing changed. */
        (void)vg_strlcpy(k->verdict, row->x_verdict, sizeof(k->verdict));
        k->run_start = t;
        k->last_t = t;
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
    if (strcmp(k->verdict, row->x_verdict) == 0) {
        if (hi != NULL) {
            vg__remember(hi, t, row->x_verdict);
        }
        if (k->intermittent && t - k->run_start >= window) {
            k->intermittent = false;
            d->kind = VG__STABLE;
            (void)vg_strlcpy(d->old_verdict, VG__INTERMITTENT, sizeof(d->old_verdict));
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
    (void)vg_strlcpy(d->old_verdict, k->verdict, sizeof(d->old_verdict));
    (void)vg_strlcpy(k->verdict, row->x_verdict, sizeof(k->verdict));
    k->run_start = t;
    vg__remember(hi, t, row->x_verdict);
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
        d->share = vg__share(hi, t - window, &d->observed);
        return;
    }
    d->kind = VG__CHANGE;
}

/* x_evidence of a measurement (untrusted JSON text), cut to VG__EVIDENCE_MAX; NULL if none. */
static json_t *
vg__evidence(const struct vg_store_meas *row)
{
    json_t *m = json_loadb(row->raw, row->raw_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *ev = json_object_get(json_object_get(m, "test_keys"), "x_evidence"), *out;
    const char *s = json_string_value(ev);

    if (s == NULL) {
        json_decref(m);
        return json_null();
    }
    out = json_stringn(s, strnlen(s, VG__EVIDENCE_MAX));
    json_decref(m);
    return out != NULL ? out : json_null(); /* NULL: the cut split a UTF-8 sequence */
}

static char *
vg__event_json(struct vg_alerts *a, const struct vg_store_meas *row, struct vg__decision *d)
{
    static const char *const kinds[] = {
        [VG__CHANGE] = "verdict_change",
        [VG__FLAPPING] = "intermittent",
        [VG__STABLE] = "stable",
    };
    char first[VG_TIME_TEXT_MAX], at[VG_TIME_TEXT_MAX], asn[16], base[VG_ALERTS_WEBHOOK_MAX];
    char url[VG_ALERTS_WEBHOOK_MAX + VG_UID_MAX + 32];
    json_t *e;
    char *text;

    pthread_mutex_lock(&a->mu);
    (void)vg_strlcpy(base, a->base_url, sizeof(base));
    pthread_mutex_unlock(&a->mu);
    vg_time_format(d->first_seen, first, sizeof(first));
    vg_time_format(row->start_time, at, sizeof(at));
    snprintf(asn, sizeof(asn), "AS%u", (unsigned)row->probe_asn);
    snprintf(url, sizeof(url), "%s%s#/measurement/%s", base,
             base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/", row->measurement_uid);
    e = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "event",
                  kinds[d->kind], "target", row->input, "domain", row->domain, "network",
                  "probe_cc", row->probe_cc, "probe_asn", asn, "old_verdict", d->old_verdict,
                  "new_verdict", d->kind == VG__FLAPPING ? VG__INTERMITTENT : row->x_verdict,
                  "first_seen", first, "measured_at", at, "evidence", vg__evidence(row), "cause",
                  row->x_cause[0] != '\0' ? json_string(row->x_cause) : json_null(),
                  "measurement_uid", row->measurement_uid, "measurement_url", url);
    if (e == NULL) {
        return NULL; /* not UTF-8: the store accepts only valid JSON, so this is a bug */
    }
    if (d->kind == VG__FLAPPING) {
        json_object_set_new(e, "latest_verdict", json_string(row->x_verdict));
        json_object_set_new(e, "share", d->share);
        d->share = NULL;
        json_object_set_new(e, "observed", json_integer(d->observed));
        json_object_set_new(e, "changes", json_integer(d->changes));
        json_object_set_new(e, "window_seconds", json_integer(a->o.flap_window_s));
    }
    text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return text;
}

static void
vg__alerts_enqueue(struct vg_alerts *a, char *json)
{
    struct vg__event *ev;

    pthread_mutex_lock(&a->qmu);
    if (a->stopping || a->qlen >= VG_ALERTS_QUEUE_MAX) {
        a->st.dropped++;
        pthread_mutex_unlock(&a->qmu);
        vg__alerts_log(a, "queue full (%d events): an event was dropped", VG_ALERTS_QUEUE_MAX);
        free(json);
        return;
    }
    ev = vg_xcalloc(1, sizeof(*ev));
    ev->json = json;
    if (a->tail != NULL) {
        a->tail->next = ev;
    } else {
        a->head = ev;
    }
    a->tail = ev;
    a->qlen++;
    a->st.events++;
    pthread_cond_signal(&a->qcv);
    pthread_mutex_unlock(&a->qmu);
}

void
vg_alerts_observe(struct vg_alerts *a, const struct vg_store_meas *row, const char *uid)
{
    struct vg__decision d;
    struct vg__key *k;
    char *json;

    if (a == NULL || (uid != NULL && strcmp(uid, row->measurement_uid) != 0) || !row->has_input) {
        return; /* no alerts, a copy of a stored measurement, or nothing names the target */
    }
    pthread_mutex_lock(&a->mu);
    k = vg__key(a, row->input, row->probe_cc, row->probe_asn, true);
    if (k == NULL || (k->verdict[0] != '\0' && row->start_time < k->last_t)) {
        pthread_mutex_unlock(&a->mu);
        return;
    }
    vg__alerts_decide(a, k, row, &d);
    pthread_mutex_unlock(&a->mu);
    if (d.kind == VG__NONE) {
        return;
    }
    json = vg__event_json(a, row, &d);
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

/* ---- delivery ------------------------------------------------------------------------------ */

static int64_t
vg__alerts_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline; 1 ready, 0 timeout, -1 error. */
static int
vg__wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int64_t left = deadline - vg__alerts_now_ms();
        int r;

        if (left <= 0) {
            return 0;
        }
        r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

static int
vg__alerts_connect(struct vg_alerts *a, int64_t deadline, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res, *ai;
    int fd = -1, rc = getaddrinfo(a->host, a->port, &hints, &res);

    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve the host: %s", gai_strerror(rc));
        return -1;
    }
    snprintf(why, whylen, "no address");
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && vg__wait(fd, POLLOUT, deadline) == 1 &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)) {
            break;
        }
        snprintf(why, whylen, "cannot connect: %s",
                 soerr != 0 ? strerror(soerr)
                            : (errno == EINPROGRESS ? "timeout" : strerror(errno)));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* One POST of the event; the HTTP status (> 0), or 0 with why set. */
static int
vg__post(struct vg_alerts *a, const char *json, char *why, size_t whylen)
{
    int64_t deadline = vg__alerts_now_ms() + a->o.timeout_ms;
    struct vg_buf req, resp;
    size_t off = 0;
    int fd, status = 0;
    uint64_t code;
    const char *line;

    fd = vg__alerts_connect(a, deadline, why, whylen);
    if (fd < 0) {
        return 0;
    }
    vg_buf_init(&req, strlen(json) + VG_ALERTS_WEBHOOK_MAX + 1024);
    vg_buf_init(&resp, VG__RESP_MAX);
    if (vg_buf_appendf(&req,
                       "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: vigie/" VG_VERSION
                       "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s",
                       a->path, strchr(a->host, ':') != NULL ? "[" : "", a->host,
                       strchr(a->host, ':') != NULL ? "]" : "", a->port, strlen(json), json) < 0) {
        snprintf(why, whylen, "event too large");
        goto out;
    }
    while (off < req.len) {
        ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);

        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (vg__wait(fd, POLLOUT, deadline) != 1) {
                snprintf(why, whylen, "timeout while sending");
                goto out;
            }
        } else {
            snprintf(why, whylen, "send: %s", strerror(errno));
            goto out;
        }
    }
    /* The status line is all we need. */
    while (memchr(resp.data != NULL ? resp.data : (const uint8_t *)"", '\n', resp.len) == NULL) {
        uint8_t *dst;
        ssize_t r;

        if (vg_buf_reserve(&resp, 512, &dst) < 0) {
            snprintf(why, whylen, "no status line in the first %d bytes", VG__RESP_MAX);
            goto out;
        }
        r = recv(fd, dst, 512, 0);
        if (r > 0) {
            resp.len += (size_t)r;
        } else if (r == 0) {
            snprintf(why, whylen, "connection closed before a response");
            goto out;
        } else if (errno == EAGAIN || errno == EINTR) {
            if (vg__wait(fd, POLLIN, deadline) != 1) {
                snprintf(why, whylen, "timeout waiting for the response");
                goto out;
            }
        } else {
            snprintf(why, whylen, "recv: %s", strerror(errno));
            goto out;
        }
    }
    line = vg_buf_cstr(&resp);
    if (line == NULL || strncmp(line, "HTTP/1.", 7) != 0 || resp.len < 12 || line[8] != ' ' ||
        vg_parse_u64n(line + 9, 3, 100, 599, &code) < 0) {
        snprintf(why, whylen, "not an HTTP response");
        goto out;
    }
    status = (int)code;
out:
    vg_buf_cleanup(&req);
    vg_buf_cleanup(&resp);
    close(fd);
    return status;
}

/* Run the command with the event on stdin; true when it exits 0 in time. */
static bool
vg__run(struct vg_alerts *a, const char *json, char *why, size_t whylen)
{
    int64_t deadline = vg__alerts_now_ms() + a->o.timeout_ms;
    char *argv[] = {"sh", "-c", a->exec, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    int pipefd[2], wstatus = 0, rc;
    size_t off = 0, len = strlen(json);
    pid_t pid;
    bool ok = false;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return false;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[0], STDIN_FILENO);
    posix_spawnattr_init(&at);
    /* This thread blocks every signal; the command must start with a clean slate. */
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGHUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pipefd[0]);
    if (rc != 0) {
        close(pipefd[1]);
        snprintf(why, whylen, "cannot run /bin/sh: %s", strerror(rc));
        return false;
    }
    (void)fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
    while (off <= len) {
        /* The event, then a newline, as one JSON Lines record. */
        const char *p = off < len ? json + off : "\n";
        size_t n = off < len ? len - off : 1;
        ssize_t w = write(pipefd[1], p, n);

        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (vg__wait(pipefd[1], POLLOUT, deadline) != 1) {
                break;
            }
        } else {
            break; /* EPIPE: the command does not read its input; its exit status decides */
        }
    }
    close(pipefd[1]);
    for (;;) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);

        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            return false;
        }
        if (vg__alerts_now_ms() >= deadline) {
            (void)kill(pid, SIGKILL);
            (void)waitpid(pid, &wstatus, 0);
            snprintf(why, whylen, "the command ran longer than %u ms and was killed",
                     a->o.timeout_ms);
            return false;
        }
        (void)poll(NULL, 0, 10);
    }
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        ok = true;
    } else if (WIFEXITED(wstatus)) {
        snprintf(why, whylen, "the command exited with status %d", WEXITSTATUS(wstatus));
    } else {
        snprintf(why, whylen, "the command was killed by signal %d",
                 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
    }
    return ok;
}

static bool
vg__alerts_stopping(struct vg_alerts *a)
{
    bool s;

    pthread_mutex_lock(&a->qmu);
    s = a->stopping;
    pthread_mutex_unlock(&a->qmu);
    return s;
}

/* Deliver one event everywhere; false if some target refused it in the end. */
static bool
vg__deliver(struct vg_alerts *a, const char *json, int64_t drain_deadline)
{
    char why[256];
    bool ok = true;

    if (a->o.sink != NULL) {
        a->o.sink(json, a->o.sink_arg);
    }
    if (a->webhook != NULL) {
        unsigned delay_ms = 1000;
        bool sent = false;

        for (unsigned attempt = 1; attempt <= a->o.attempts; attempt++) {
            int status = vg__post(a, json, why, sizeof(why));

            if (status >= 200 && status < 300) {
                sent = true;
                break;
            }
            if (status > 0) {
                snprintf(why, sizeof(why), "the webhook answered %d", status);
            }
            vg__alerts_log(a, "webhook attempt %u of %u failed: %s", attempt, a->o.attempts, why);
            /* 4xx (but 408 and 429) will not get better; at shutdown one attempt is all. */
            if ((status >= 400 && status < 500 && status != 408 && status != 429) ||
                vg__alerts_stopping(a) || vg__alerts_now_ms() + delay_ms > drain_deadline) {
                break;
            }
            (void)poll(NULL, 0, (int)delay_ms);
            delay_ms *= 2;
        }
        ok = ok && sent;
    }
    if (a->exec != NULL && !vg__run(a, json, why, sizeof(why))) {
        vg__alerts_log(a, "--alert-exec failed: %s", why);
        ok = false;
    }
    return ok;
}

static void *
vg__thread(void *arg)
{
    struct vg_alerts *a = arg;
    int64_t drain_deadline = INT64_MAX;
    sigset_t all;

    /* Signals are for the main thread; a command that exits early must not SIGPIPE us. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct vg__event *ev;
        bool ok;

        pthread_mutex_lock(&a->qmu);
        while (a->head == NULL && !a->stopping) {
            pthread_cond_wait(&a->qcv, &a->qmu);
        }
        if (a->stopping && drain_deadline == INT64_MAX) {
            drain_deadline = vg__alerts_now_ms() + VG__DRAIN_S * 1000;
        }
        ev = a->head;
        if (ev == NULL || vg__alerts_now_ms() > drain_deadline) {
            /* Stopping, and the queue is empty or out of time. */
            a->st.dropped += a->qlen;
            pthread_mutex_unlock(&a->qmu);
            break;
        }
        a->head = ev->next;
        if (a->head == NULL) {
            a->tail = NULL;
        }
        a->qlen--;
        pthread_mutex_unlock(&a->qmu);

        ok = vg__deliver(a, ev->json, drain_deadline);
        pthread_mutex_lock(&a->qmu);
        if (ok) {
            a->st.delivered++;
        } else {
            a->st.failed++;
        }
        pthread_mutex_unlock(&a->qmu);
        free(ev->json);
        free(ev);
    }
    return NULL;
}

void
vg_alerts_free(struct vg_alerts *a)
{
    struct vg__event *ev;

    if (a == NULL) {
        return;
    }
    pthread_mutex_lock(&a->qmu);
    a->stopping = true;
    pthread_cond_broadcast(&a->qcv);
    pthread_mutex_unlock(&a->qmu);
    if (a->started) {
        pthread_join(a->thread, NULL);
    }
    while ((ev = a->head) != NULL) {
        a->head = ev->next;
        free(ev->json);
        free(ev);
    }
    for (size_t b = 0; b < VG__BUCKETS; b++) {
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
    free(a->webhook);
    free(a->exec);
    free(a);
}
