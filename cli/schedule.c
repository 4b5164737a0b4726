/* SPDX-License-Identifier: MIT */
/*
 * schedule.c - the scheduler of `vigie monitor` (schedule.h): due times, re-tests after a change
 * or an interference, intermittency (history and episodes), and the JSON state file.
 *
 * The history keeps one letter per result, oldest first: the first letter of the verdict's name
 * (a accessible, b blocked, i intercepted, d down, u unknown). Its non-accessible share is the
 * intermittency figure. The state file names verdicts as vg_verdict_name() does.
 */
#include "schedule.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__STATE_FORMAT  "vigie-monitor-state"
#define VG__STATE_VERSION 1
#define VG__STREAK_MAX    1000000 /* ok_streak accepted from a state file */

void
vg_sched_conf_init(struct vg_sched_conf *c)
{
    c->every_ms = 15 * 60 * 1000;
    c->jitter_pct = 10;
    c->retest_after_ms = 2 * 60 * 1000;
    c->retest_max_ms = 60 * 60 * 1000;
    c->recover_after = 3;
    c->window = VG_SCHED_WINDOW_DEF;
}

void
vg_sched_init(struct vg_sched *s)
{
    memset(s, 0, sizeof(*s));
}

static void
url_cleanup(struct vg_sched_url *u)
{
    VG_FREE(u->url);
    VG_FREE(u->episodes);
    u->n_episodes = 0;
}

void
vg_sched_cleanup(struct vg_sched *s)
{
    for (size_t i = 0; i < s->n; i++) {
        url_cleanup(&s->urls[i]);
    }
    VG_FREE(s->urls);
    s->n = s->cap = 0;
}

static struct vg_sched_url *
sched_append(struct vg_sched *s, const char *url)
{
    struct vg_sched_url *u;

    if (s->n == s->cap) {
        s->cap = s->cap == 0 ? 16 : s->cap * 2;
        s->urls = vg_xreallocarray(s->urls, s->cap, sizeof(*s->urls));
    }
    u = &s->urls[s->n++];
    memset(u, 0, sizeof(*u));
    u->url = vg_xstrdup(url);
    return u;
}

/* ---- rules ---------------------------------------------------------------------------------- */

int64_t
vg_sched_jitter(int64_t base_ms, unsigned jitter_pct, double u, bool up_only)
{
    int64_t span, off;

    if (jitter_pct > 100) {
        jitter_pct = 100;
    }
    if (!(u >= 0.0 && u < 1.0)) { /* also rejects NaN */
        u = 0.0;
    }
    span = base_ms / 100 * (int64_t)jitter_pct + base_ms % 100 * (int64_t)jitter_pct / 100;
    if (up_only) {
        off = (int64_t)(u * (double)(span + 1));
    } else {
        off = (int64_t)(u * (double)(2 * span + 1)) - span;
    }
    return base_ms + off < 1 ? 1 : base_ms + off;
}

char
vg_sched_letter(enum vg_verdict verdict)
{
    return vg_verdict_name(verdict)[0];
}

/* Every verdict's name (or, with letters, its history letter) in the enum's order, separated by
 * sep and by last before the last one: "i, b, d, u or a". */
static void
vg__sched_verdicts(bool letters, const char *sep, const char *last, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (int v = 0; v < VG_VERDICT_COUNT && len < cap; v++) {
        const char *name = vg_verdict_name((enum vg_verdict)v);
        const char *before = v == 0 ? "" : v + 1 < VG_VERDICT_COUNT ? sep : last;

        len += (size_t)snprintf(out + len, cap - len, "%s%.*s", before,
                                letters ? 1 : (int)strlen(name), name);
    }
}

static unsigned
clamp_window(unsigned w)
{
    return w < 1 ? 1 : w > VG_SCHED_WINDOW_MAX ? VG_SCHED_WINDOW_MAX : w;
}

static void
history_push(char *h, unsigned window, char letter)
{
    size_t len = strlen(h);

    if (len >= window) {
        size_t drop = len - window + 1;

        memmove(h, h + drop, len - drop + 1);
        len -= drop;
    }
    h[len] = letter;
    h[len + 1] = '\0';
}

static void
episode_open(struct vg_sched_url *s, int64_t now_ms)
{
    if (s->n_episodes == VG_SCHED_EPISODES_MAX) {
        memmove(s->episodes, s->episodes + 1, (s->n_episodes - 1) * sizeof(*s->episodes));
        s->n_episodes--;
    }
    s->episodes = vg_xreallocarray(s->episodes, s->n_episodes + 1, sizeof(*s->episodes));
    s->episodes[s->n_episodes].start_ms = now_ms;
    s->episodes[s->n_episodes].end_ms = 0;
    s->n_episodes++;
}

void
vg_sched_record(const struct vg_sched_conf *c, struct vg_sched_url *s, enum vg_verdict verdict,
                const char *cause, int64_t now_ms, double u, struct vg_sched_change *chg)
{
    bool first = !s->has_verdict;
    bool ok = verdict == VG_VERDICT_ACCESSIBLE;
    bool was_bad = !first && s->verdict != VG_VERDICT_ACCESSIBLE;
    bool changed;
    int64_t delay;

    if ((unsigned)verdict >= VG_VERDICT_COUNT) {
        verdict = VG_VERDICT_UNKNOWN;
    }
    if (cause == NULL) {
        cause = "";
    }
    changed = first || verdict != s->verdict || strcmp(cause, s->cause) != 0;
    if (chg != NULL) {
        memset(chg, 0, sizeof(*chg));
        chg->first = first;
        chg->changed = changed;
        chg->old_verdict = s->verdict;
        vg_strlcpy(chg->old_cause, s->cause, sizeof(chg->old_cause));
    }
    history_push(s->history, clamp_window(c->window), vg_sched_letter(verdict));
    /* An episode of interference runs from the first non-accessible result to the next
     * accessible one; a change of cause within it (reset, then timeout) does not split it. */
    if (!ok && !was_bad) {
        episode_open(s, now_ms);
    } else if (ok && was_bad && s->n_episodes > 0 && s->episodes[s->n_episodes - 1].end_ms == 0) {
        s->episodes[s->n_episodes - 1].end_ms = now_ms;
    }
    if (changed) {
        s->since_ms = now_ms;
        s->has_verdict = true;
        s->verdict = verdict;
        vg_strlcpy(s->cause, cause, sizeof(s->cause));
    }
    s->last_ms = now_ms;
    s->runs++;
    /* Re-tests: after a change, or after a first result that is not accessible. The first comes
     * after retest_after (a censor's penalty box, 90 s for the GFW, must have expired), then each
     * unchanged result doubles the wait up to retest_max. Enough accessible results in a row go
     * back to the normal period. */
    if (changed && !(first && ok)) {
        s->retest_ms = c->retest_after_ms;
        s->ok_streak = ok ? 1 : 0;
    } else if (s->retest_ms > 0) {
        s->ok_streak = ok ? s->ok_streak + 1 : 0;
        s->retest_ms = s->retest_ms > c->retest_max_ms / 2 ? c->retest_max_ms : s->retest_ms * 2;
    }
    if (s->retest_ms > 0 && ok && s->ok_streak >= (c->recover_after < 1 ? 1 : c->recover_after)) {
        s->retest_ms = 0;
        s->ok_streak = 0;
    }
    if (s->retest_ms > 0) {
        delay = vg_sched_jitter(s->retest_ms, c->jitter_pct, u, true);
    } else {
        delay = vg_sched_jitter(c->every_ms, c->jitter_pct, u, false);
    }
    s->next_ms = now_ms + delay;
    if (chg != NULL) {
        chg->retest = s->retest_ms > 0;
        chg->delay_ms = delay;
    }
}

void
vg_sched_share(const struct vg_sched_url *s, unsigned *bad, unsigned *total)
{
    *bad = 0;
    *total = 0;
    for (const char *p = s->history; *p != '\0'; p++) {
        (*total)++;
        if (*p != 'a') {
            (*bad)++;
        }
    }
}

struct vg_sched_url *
vg_sched_find(struct vg_sched *s, const char *url)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->urls[i].url, url) == 0) {
            return &s->urls[i];
        }
    }
    return NULL;
}

int64_t
vg_sched_next_due(const struct vg_sched *s)
{
    int64_t due = INT64_MAX;

    for (size_t i = 0; i < s->n; i++) {
        if (s->urls[i].next_ms < due) {
            due = s->urls[i].next_ms;
        }
    }
    return due;
}

/* ---- following the input list -------------------------------------------------------------- */

struct keyed {
    const char *key;
    size_t i;
};

static int
cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

static const struct keyed *
find_keyed(const struct keyed *v, size_t n, const char *key)
{
    size_t lo = 0, hi = n;

    /* The first entry with this key (entries with equal keys are ordered by i). */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(v[mid].key, key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && strcmp(v[lo].key, key) == 0 ? &v[lo] : NULL;
}

void
vg_sched_sync(struct vg_sched *s, const struct vg_sched_conf *c, const char *const *urls, size_t n,
              int64_t now_ms, size_t *added, size_t *removed)
{
    struct vg_sched next;
    struct keyed *old = vg_xcalloc(s->n + 1, sizeof(*old));
    struct keyed *list = vg_xcalloc(n + 1, sizeof(*list));
    bool *dup = vg_xcalloc(n + 1, sizeof(*dup));
    unsigned window = clamp_window(c->window);
    int64_t longest = c->every_ms > c->retest_max_ms ? c->every_ms : c->retest_max_ms;
    int64_t horizon = vg_sched_jitter(longest, c->jitter_pct, 0.999999, true);

    *added = *removed = 0;
    for (size_t i = 0; i < s->n; i++) {
        old[i] = (struct keyed){s->urls[i].url, i};
    }
    qsort(old, s->n, sizeof(*old), cmp_keyed);
    for (size_t i = 0; i < n; i++) {
        list[i] = (struct keyed){urls[i], i};
    }
    qsort(list, n, sizeof(*list), cmp_keyed);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(list[i].key, list[i - 1].key) == 0) {
            dup[list[i].i] = true;
        }
    }
    vg_sched_init(&next);
    for (size_t i = 0; i < n; i++) {
        const struct keyed *k;
        struct vg_sched_url *u;

        if (dup[i]) {
            continue;
        }
        k = find_keyed(old, s->n, urls[i]);
        if (k == NULL) {
            u = sched_append(&next, urls[i]);
            u->next_ms = now_ms;
            (*added)++;
            continue;
        }
        /* Move the kept entry; its slot in s is left without a URL. */
        u = sched_append(&next, "");
        free(u->url);
        *u = s->urls[k->i];
        memset(&s->urls[k->i], 0, sizeof(s->urls[k->i]));
        if (u->retest_ms > c->retest_max_ms) {
            u->retest_ms = c->retest_max_ms;
        }
        if (u->next_ms > now_ms + horizon) {
            u->next_ms = now_ms + (u->retest_ms > 0 ? u->retest_ms : c->every_ms);
        }
        if (strlen(u->history) > window) {
            size_t len = strlen(u->history);

            memmove(u->history, u->history + (len - window), window + 1);
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->urls[i].url != NULL) {
            (*removed)++;
        }
    }
    vg_sched_cleanup(s);
    *s = next;
    free(old);
    free(list);
    free(dup);
}

/* ---- time and duration text ----------------------------------------------------------------- */

void
vg_sched_fmt_time(int64_t ms, bool with_ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms < 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, cap, "1970-01-01T00:00:00Z");
        return;
    }
    if (with_ms) {
        snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    } else {
        snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
}

static int
num(const char *s, size_t off, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
    return vg_parse_u64n(s + off, len, min, max, out);
}

int
vg_sched_parse_time(const char *s, int64_t *ms)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t y, mo, d, h, mi, sec, frac = 0;
    size_t len = strlen(s);
    struct tm tm;
    bool leap;

    /* YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.mmmZ, nothing else */
    if ((len != 20 && len != 24) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[len - 1] != 'Z') {
        return VG_EINVAL;
    }
    if (num(s, 0, 4, 1970, 9999, &y) < 0 || num(s, 5, 2, 1, 12, &mo) < 0 ||
        num(s, 8, 2, 1, 31, &d) < 0 || num(s, 11, 2, 0, 23, &h) < 0 ||
        num(s, 14, 2, 0, 59, &mi) < 0 || num(s, 17, 2, 0, 59, &sec) < 0) {
        return VG_EINVAL;
    }
    if (len == 24 && (s[19] != '.' || num(s, 20, 3, 0, 999, &frac) < 0)) {
        return VG_EINVAL;
    }
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) {
        return VG_EINVAL;
    }
    tm = (struct tm){.tm_year = (int)y - 1900,
                     .tm_mon = (int)mo - 1,
                     .tm_mday = (int)d,
                     .tm_hour = (int)h,
                     .tm_min = (int)mi,
                     .tm_sec = (int)sec};
    *ms = (int64_t)timegm(&tm) * 1000 + (int64_t)frac;
    return 0;
}

void
vg_sched_fmt_dur(int64_t ms, char *out, size_t cap)
{
    static const struct {
        int64_t ms;
        char unit;
    } units[] = {{86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};

    if (ms < 0) {
        ms = 0;
    }
    if (ms < 1000) {
        snprintf(out, cap, "%lldms", (long long)ms);
        return;
    }
    if (ms < 10000 && ms % 1000 / 100 != 0) {
        snprintf(out, cap, "%lld.%llds", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
        return;
    }
    /* The two largest units, the second only when not zero: 2m, 1m30s, 2h5m, 3d4h. */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms >= units[i].ms) {
            long long a = (long long)(ms / units[i].ms);
            long long b = i + 1 < sizeof(units) / sizeof(units[0])
                              ? (long long)(ms % units[i].ms / units[i + 1].ms)
                              : 0;

            if (b != 0) {
                snprintf(out, cap, "%lld%c%lld%c", a, units[i].unit, b, units[i + 1].unit);
            } else {
                snprintf(out, cap, "%lld%c", a, units[i].unit);
            }
            return;
        }
    }
}

/* ---- the state file ------------------------------------------------------------------------- */

static json_t *
jtime(int64_t ms)
{
    char buf[32];

    if (ms <= 0) {
        return json_null();
    }
    vg_sched_fmt_time(ms, true, buf, sizeof(buf));
    return json_string(buf);
}

char *
vg_sched_dump(const struct vg_sched *s, int64_t written_ms)
{
    json_t *root = json_object(), *arr = json_array();
    char *text;

    json_object_set_new(root, "format", json_string(VG__STATE_FORMAT));
    json_object_set_new(root, "version", json_integer(VG__STATE_VERSION));
    json_object_set_new(root, "written", jtime(written_ms));
    for (size_t i = 0; i < s->n; i++) {
        const struct vg_sched_url *u = &s->urls[i];
        json_t *o = json_object(), *eps = json_array();

        json_object_set_new(o, "url", json_string(u->url));
        json_object_set_new(
            o, "verdict", u->has_verdict ? json_string(vg_verdict_name(u->verdict)) : json_null());
        json_object_set_new(o, "cause", u->cause[0] != '\0' ? json_string(u->cause) : json_null());
        json_object_set_new(o, "since", jtime(u->since_ms));
        json_object_set_new(o, "last_run", jtime(u->last_ms));
        json_object_set_new(o, "next_run", jtime(u->next_ms > 0 ? u->next_ms : 1));
        json_object_set_new(o, "retest_ms", json_integer(u->retest_ms));
        json_object_set_new(o, "ok_streak", json_integer(u->ok_streak));
        json_object_set_new(o, "runs", json_integer((json_int_t)u->runs));
        json_object_set_new(o, "history", json_string(u->history));
        for (size_t k = 0; k < u->n_episodes; k++) {
            json_t *e = json_object();

            json_object_set_new(e, "start", jtime(u->episodes[k].start_ms));
            json_object_set_new(e, "end", jtime(u->episodes[k].end_ms));
            json_array_append_new(eps, e);
        }
        json_object_set_new(o, "episodes", eps);
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "urls", arr);
    text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) { /* only when out of memory: allocation failures abort elsewhere too */
        abort();
    }
    return text;
}

/* Field readers for one URL entry: each returns 0, or -1 with err set. */
struct field_ctx {
    size_t index;
    const char *url;
    char *err;
    size_t errlen;
};

static int
field_fail(struct field_ctx *f, const char *key, const char *what)
{
    if (f->url != NULL) {
        snprintf(f->err, f->errlen, "urls[%zu] (%.200s): \"%s\" %s", f->index, f->url, key, what);
    } else {
        snprintf(f->err, f->errlen, "urls[%zu]: \"%s\" %s", f->index, key, what);
    }
    return -1;
}

static int
get_time(struct field_ctx *f, json_t *o, const char *key, bool nullable, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    *out = 0;
    if (nullable && (v == NULL || json_is_null(v))) {
        return 0;
    }
    if (!json_is_string(v) || vg_sched_parse_time(json_string_value(v), out) < 0) {
        return field_fail(f, key,
                          nullable ? "must be null or a time like 2026-11-29T12:00:00.000Z"
                                   : "must be a time like 2026-11-29T12:00:00.000Z");
    }
    return 0;
}

static int
get_int(struct field_ctx *f, json_t *o, const char *key, json_int_t min, json_int_t max,
        json_int_t *out)
{
    json_t *v = json_object_get(o, key);
    char what[96];

    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(what, sizeof(what), "must be an integer in %lld..%lld", (long long)min,
                 (long long)max);
        return field_fail(f, key, what);
    }
    *out = json_integer_value(v);
    return 0;
}

/* The "verdict" field: null, or a verdict's name. 0, or -1 with err set. */
static int
vg__sched_get_verdict(struct field_ctx *f, json_t *o, struct vg_sched_url *u)
{
    json_t *v = json_object_get(o, "verdict");
    char names[128], what[160];

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (json_is_string(v) && vg_verdict_parse(json_string_value(v), &u->verdict)) {
        u->has_verdict = true;
        return 0;
    }
    vg__sched_verdicts(false, ", ", " or ", names, sizeof(names));
    snprintf(what, sizeof(what), "must be null, %s", names);
    return field_fail(f, "verdict", what);
}

static bool
is_cause(const char *c)
{
    size_t len = strlen(c);

    if (len == 0 || len >= VG_SCHED_CAUSE_MAX) {
        return false;
    }
    for (; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.')) {
            return false;
        }
    }
    return true;
}

static bool
is_url_text(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > VG_URL_MAX) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return false;
        }
    }
    return true;
}

static int
parse_entry(struct vg_sched *s, json_t *o, size_t index, char *err, size_t errlen)
{
    struct field_ctx f = {index, NULL, err, errlen};
    json_t *v, *eps;
    struct vg_sched_url *u;
    json_int_t n;
    const char *h;
    char letters[4 * VG_VERDICT_COUNT];

    if (!json_is_object(o)) {
        snprintf(err, errlen, "urls[%zu] is not an object", index);
        return -1;
    }
    v = json_object_get(o, "url");
    if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
        !is_url_text(json_string_value(v))) {
        return field_fail(&f, "url", "must be a URL (text without control characters)");
    }
    f.url = json_string_value(v);
    u = sched_append(s, f.url);
    if (vg__sched_get_verdict(&f, o, u) < 0) {
        return -1;
    }
    v = json_object_get(o, "cause");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || !is_cause(json_string_value(v)) || !u->has_verdict) {
            return field_fail(&f, "cause", "must be null or STAGE.REASON, with a verdict");
        }
        vg_strlcpy(u->cause, json_string_value(v), sizeof(u->cause));
    }
    if (get_time(&f, o, "since", true, &u->since_ms) < 0 ||
        get_time(&f, o, "last_run", true, &u->last_ms) < 0 ||
        get_time(&f, o, "next_run", false, &u->next_ms) < 0) {
        return -1;
    }
    if (get_int(&f, o, "retest_ms", 0, VG_SCHED_INTERVAL_MAX, &n) < 0) {
        return -1;
    }
    u->retest_ms = n;
    if (get_int(&f, o, "ok_streak", 0, VG__STREAK_MAX, &n) < 0) {
        return -1;
    }
    u->ok_streak = (unsigned)n;
    if (get_int(&f, o, "runs", 0, INT64_MAX, &n) < 0) {
        return -1;
    }
    u->runs = (uint64_t)n;
    v = json_object_get(o, "history");
    h = json_is_string(v) ? json_string_value(v) : NULL;
    vg__sched_verdicts(true, "", "", letters, sizeof(letters));
    if (h == NULL || json_string_length(v) > VG_SCHED_WINDOW_MAX ||
        strspn(h, letters) != json_string_length(v)) {
        char what[96];

        vg__sched_verdicts(true, ", ", ", ", letters, sizeof(letters));
        snprintf(what, sizeof(what), "must be letters %s (at most %d)", letters,
                 VG_SCHED_WINDOW_MAX);
        return field_fail(&f, "history", what);
    }
    memcpy(u->history, h, json_string_length(v) + 1);
    eps = json_object_get(o, "episodes");
    if (!json_is_array(eps) || json_array_size(eps) > VG_SCHED_EPISODES_MAX) {
        return field_fail(&f, "episodes", "must be an array of at most 32 episodes");
    }
    u->episodes = vg_xcalloc(json_array_size(eps) + 1, sizeof(*u->episodes));
    for (size_t k = 0; k < json_array_size(eps); k++) {
        json_t *e = json_array_get(eps, k);
        struct vg_sched_episode *ep = &u->episodes[k];

        if (!json_is_object(e) || get_time(&f, e, "start", false, &ep->start_ms) < 0 ||
            get_time(&f, e, "end", true, &ep->end_ms) < 0 ||
            (ep->end_ms != 0 && ep->end_ms < ep->start_ms)) {
            return field_fail(&f, "episodes", "must hold {\"start\": TIME, \"end\": TIME or null}");
        }
        u->n_episodes++;
    }
    /* A verdict goes with its first-seen time and the letters that record it. */
    if (!u->has_verdict != (u->since_ms == 0) ||
        (u->has_verdict && (u->history[0] == '\0' || u->runs == 0))) {
        return field_fail(&f, "verdict", "does not agree with since, runs and history");
    }
    return 0;
}

/* A URL listed twice makes the file ambiguous (sorted, not one vg_sched_find per entry). */
static int
find_duplicate(const struct vg_sched *s, char *err, size_t errlen)
{
    struct keyed *v = vg_xcalloc(s->n + 1, sizeof(*v));
    int rc = 0;

    for (size_t i = 0; i < s->n; i++) {
        v[i] = (struct keyed){s->urls[i].url, i};
    }
    qsort(v, s->n, sizeof(*v), cmp_keyed);
    for (size_t i = 1; i < s->n && rc == 0; i++) {
        if (strcmp(v[i].key, v[i - 1].key) == 0) {
            snprintf(err, errlen, "urls[%zu] (%.200s): \"url\" appears twice (first at urls[%zu])",
                     v[i].i, v[i].key, v[i - 1].i);
            rc = -1;
        }
    }
    free(v);
    return rc;
}

int
vg_sched_parse(struct vg_sched *s, const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root, *v, *arr;
    int rc = VG_EINVAL;

    vg_sched_cleanup(s);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        return VG_EINVAL;
    }
    v = json_object_get(root, "format");
    if (!json_is_object(root) || !json_is_string(v) ||
        strcmp(json_string_value(v), VG__STATE_FORMAT) != 0) {
        snprintf(err, errlen, "not a vigie monitor state (no \"format\": \"%s\")",
                 VG__STATE_FORMAT);
        goto out;
    }
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != VG__STATE_VERSION) {
        snprintf(err, errlen, "unsupported state version (this vigie reads version %d)",
                 VG__STATE_VERSION);
        goto out;
    }
    arr = json_object_get(root, "urls");
    if (!json_is_array(arr) || json_array_size(arr) > VG_SCHED_URLS_MAX) {
        snprintf(err, errlen, "\"urls\" must be an array of at most %d entries", VG_SCHED_URLS_MAX);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (parse_entry(s, json_array_get(arr, i), i, err, errlen) < 0) {
            goto out;
        }
    }
    if (find_duplicate(s, err, errlen) < 0) {
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0) {
        vg_sched_cleanup(s);
    }
    return rc;
}

int
vg_sched_load(struct vg_sched *s, const char *path, char *err, size_t errlen)
{
    struct stat st;
    char *text;
    size_t got = 0;
    int fd, rc;

    vg_sched_cleanup(s);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return 1;
        }
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -errno;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > VG_SCHED_STATE_MAX) {
        snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
                 VG_SCHED_STATE_MAX);
        close(fd);
        return VG_ETOOBIG;
    }
    text = vg_xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, text + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        snprintf(err, errlen, "cannot read %s: short read", path);
        free(text);
        return VG_ETRUNC;
    }
    text[got] = '\0';
    rc = vg_sched_parse(s, text, got, err, errlen);
    free(text);
    return rc;
}

static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int
vg_sched_save(const struct vg_sched *s, const char *path, int64_t now_ms, char *err, size_t errlen)
{
    char tmp[4096], dir[4096];
    char *text = vg_sched_dump(s, now_ms);
    const char *slash = strrchr(path, '/');
    int fd, e;

    if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "state path too long");
        free(text);
        return VG_ETOOBIG;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        e = errno;
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(e));
        free(text);
        return -e;
    }
    if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 || fsync(fd) != 0) {
        e = errno;
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(e));
        close(fd);
        unlink(tmp);
        free(text);
        return -e;
    }
    free(text);
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        e = errno;
        snprintf(err, errlen, "cannot replace %s: %s", path, strerror(e));
        unlink(tmp);
        return -e;
    }
    /* The rename is durable once the directory is. */
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return 0;
}
