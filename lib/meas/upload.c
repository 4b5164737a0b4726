/* SPDX-License-Identifier: MIT */
#include "meas/upload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/httpclient.h"
#include "proto/ipaddr.h"
#include "proto/url.h"
#include "util/mem.h"
#include "vigie/vigie.h"

#define VG__UPLOAD_PARALLEL 8
#define VG__UPLOAD_TIMEOUT  30000
#define VG__REPLY_MAX       (64 * 1024)
#define VG__AUTH_PREFIX     "Authorization: Bearer "
#define VG__AUTH_PREFIX_LEN (sizeof(VG__AUTH_PREFIX) - 1)

/* Reports one run opens at most: one per (test_name, test_version, probe_asn, probe_cc). */
#define VG__UPLOAD_REPORTS 16

enum vg__report { VG__REPORT_NONE, VG__REPORT_OPENING, VG__REPORT_OPEN, VG__REPORT_FAILED };

/*
 * A report: OONI's collector checks that each measurement's probe_cc, probe_asn and test_name are
 * the report's (ooni-reference.md section 5), so measurements go into the report opened with
 * their own values.
 */
struct vg__report_slot {
    struct vg_uploader *up;
    char test_name[64], test_version[32], probe_asn[16], probe_cc[4];
    enum vg__report state;
    char report_id[256];
};

struct vg__item {
    struct vg__item *next;
    struct vg_uploader *up;
    struct vg__report_slot *rep; /* NULL: the measurement names no report (spooled) */
    char id[64];
    char *json;
    bool from_spool; /* the file spool/<id>.json exists already */
};

struct vg_uploader {
    uv_loop_t *loop;
    struct ssl_ctx_st *ctx;
    char *base; /* collector URL without a trailing '/' */
    char *spool;
    char *auth;     /* "Authorization: Bearer TOKEN", or NULL: anonymous (a secret: wiped) */
    bool auth_said; /* the collector refused the credentials (401, 403) and we said so */
    bool refused;   /* it did: nothing more is sent this run */
    struct vg_http_pool *pool; /* kept-alive connections to the collector (this loop's) */
    struct vg__report_slot reports[VG__UPLOAD_REPORTS];
    size_t n_reports;
    struct vg__item *qhead, *qtail;
    size_t in_flight;
    struct vg_upload_stats st;
};

static void vg__drain(struct vg_uploader *up);

/* Only ids made of [0-9a-f-] name files: a hostile id cannot escape the spool directory. */
static bool
vg__id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n >= 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) {
            return false;
        }
    }
    return true;
}

static int
vg__mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path)) {
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            char c = path[i];

            path[i] = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            path[i] = c;
        }
    }
    return 0;
}

/* Write atomically: a temporary file renamed over the final name, fsync'd. */
static int
vg__write_file(const char *dir, const char *id, const char *json)
{
    char tmp[4200], dst[4200];
    size_t len = strlen(json);
    int fd;

    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, id);
    snprintf(dst, sizeof(dst), "%s/%s.json", dir, id);
    if (vg__mkdir_p(dir) != 0) {
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -1;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, json + off, len - off);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, dst) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void
vg__item_free(struct vg__item *it)
{
    free(it->json);
    free(it);
}

/* The measurement could not be submitted now: keep it for a later run. */
static void
vg__spool(struct vg_uploader *up, struct vg__item *it, bool rejected)
{
    char dir[4200];

    snprintf(dir, sizeof(dir), "%s%s", up->spool, rejected ? "/rejected" : "");
    if (rejected) {
        up->st.rejected++;
    }
    if (it->from_spool && !rejected) {
        up->st.spooled++;
        return;
    }
    if (vg__write_file(dir, it->id, it->json) != 0) {
        fprintf(stderr, "vigie: cannot spool measurement %s to %s: %s\n", it->id, dir,
                strerror(errno));
        up->st.failed++;
        return;
    }
    if (it->from_spool) {
        char old[4200];

        snprintf(old, sizeof(old), "%s/%s.json", up->spool, it->id);
        unlink(old);
    }
    if (!rejected) {
        up->st.spooled++;
    }
}

/* 401 and 403: the credentials are missing or refused, not the measurement. */
static bool
vg__upload_is_auth(int status)
{
    return status == 401 || status == 403;
}

/*
 * The collector refused the credentials: say why once (its own message, cut and made printable:
 * the answer is the network's), then upload nothing more this run; everything stays spooled.
 */
static void
vg__upload_auth_refused(struct vg_uploader *up, int status, const uint8_t *body, size_t len)
{
    json_t *j = json_loadb((const char *)body, len, 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "error"));
    char said[160];
    size_t o = 0;

    up->refused = true;
    if (up->auth_said) {
        json_decref(j);
        return;
    }
    up->auth_said = true;
    /* A collector that echoes the token back does not get it printed. */
    if (msg != NULL && up->auth != NULL && strstr(msg, up->auth + VG__AUTH_PREFIX_LEN) != NULL) {
        msg = "its answer quoted the token";
    }
    for (const char *c = msg != NULL ? msg : ""; *c != '\0' && o + 1 < sizeof(said); c++) {
        said[o++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
    }
    said[o] = '\0';
    json_decref(j);
    fprintf(stderr,
            "vigie: the collector at %s refused the upload (HTTP %d%s%s): %s; keeping the "
            "measurements in %s\n",
            up->base, status, o > 0 ? ": " : "", said,
            up->auth != NULL ? "it did not accept the upload token"
                             : "it wants an upload token (Authorization: Bearer)",
            up->spool);
}

static void
vg__on_submitted(int status, const uint8_t *body, size_t len, const char *failure, void *arg)
{
    struct vg__item *it = arg;
    struct vg_uploader *up = it->up;

    up->in_flight--;
    if (vg__upload_is_auth(status)) {
        vg__upload_auth_refused(up, status, body, len);
        vg__spool(up, it, false);
    } else if (status == 200) {
        up->st.sent++;
        if (it->from_spool) {
            char path[4200];

            snprintf(path, sizeof(path), "%s/%s.json", up->spool, it->id);
            unlink(path);
        }
    } else if (status >= 400 && status < 500) {
        fprintf(stderr, "vigie: the collector refused measurement %s (HTTP %d)\n", it->id, status);
        vg__spool(up, it, true);
    } else {
        if (up->st.spooled == 0 && status == 0) {
            fprintf(stderr, "vigie: upload failed (%s); spooling to %s\n", failure, up->spool);
        }
        vg__spool(up, it, false);
    }
    vg__item_free(it);
    vg__drain(up);
}

static void
vg__upload_submit(struct vg_uploader *up, struct vg__item *it)
{
    char url[1200];
    size_t jlen = strlen(it->json);
    char *body = vg_xmalloc(jlen + 40);
    int n = snprintf(body, jlen + 40, "{\"format\":\"json\",\"content\":%s}", it->json);

    snprintf(url, sizeof(url), "%s/report/%s", up->base, it->rep->report_id);
    up->in_flight++;
    if (n < 0 ||
        vg_http_pool_post_hdr(up->pool, up->ctx, url, up->auth, "application/json", body, (size_t)n,
                              VG__UPLOAD_TIMEOUT, VG__REPLY_MAX, vg__on_submitted, it) < 0) {
        up->in_flight--;
        vg__spool(up, it, false);
        vg__item_free(it);
    }
    free(body);
}

static void vg__open_report(struct vg__report_slot *r);

/* Send what can go (its report open, a submission slot free), spool what cannot (its report
 * failed, or the credentials were refused), open the reports still needed; keep the rest queued,
 * in order. */
static void
vg__drain(struct vg_uploader *up)
{
    struct vg__item **pp = &up->qhead, *last = NULL;

    while (*pp != NULL) {
        struct vg__item *it = *pp;
        struct vg__report_slot *r = it->rep;
        bool lost = up->refused || r == NULL || r->state == VG__REPORT_FAILED;

        if (!lost && r->state == VG__REPORT_NONE) {
            vg__open_report(r); /* may fail at once: then r->state is FAILED */
            continue;
        }
        if (!lost && (r->state != VG__REPORT_OPEN || up->in_flight >= VG__UPLOAD_PARALLEL)) {
            last = it;
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        if (lost) {
            vg__spool(up, it, false);
            vg__item_free(it);
        } else {
            vg__upload_submit(up, it);
        }
    }
    up->qtail = last;
}

static void
vg__upload_on_report(int status, const uint8_t *body, size_t len, const char *failure, void *arg)
{
    struct vg__report_slot *r = arg;
    struct vg_uploader *up = r->up;
    json_t *j = status == 200 ? json_loadb((const char *)body, len, 0, NULL) : NULL;
    const char *rid = json_string_value(json_object_get(j, "report_id"));
    bool ok = rid != NULL && strlen(rid) < sizeof(r->report_id) && strchr(rid, '/') == NULL &&
              strchr(rid, '?') == NULL;

    if (vg__upload_is_auth(status)) {
        vg__upload_auth_refused(up, status, body, len);
        r->state = VG__REPORT_FAILED;
    } else if (ok) {
        snprintf(r->report_id, sizeof(r->report_id), "%s", rid);
        r->state = VG__REPORT_OPEN;
    } else {
        fprintf(stderr, "vigie: cannot open a report at %s (%s); spooling to %s\n", up->base,
                status == 0 ? failure : "the collector did not open a report", up->spool);
        r->state = VG__REPORT_FAILED;
    }
    json_decref(j);
    vg__drain(up);
}

static void
vg__open_report(struct vg__report_slot *r)
{
    struct vg_uploader *up = r->up;
    char url[1200], ts[32];
    time_t now = time(NULL);
    struct tm tm;
    json_t *meta;
    char *body;

    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "data_format_version",
                     "0.2.0", "format", "json", "probe_asn", r->probe_asn, "probe_cc", r->probe_cc,
                     "software_name", VG_SOFTWARE_NAME, "software_version", VG_VERSION, "test_name",
                     r->test_name, "test_start_time", ts, "test_version", r->test_version);
    body = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    snprintf(url, sizeof(url), "%s/report", up->base);
    r->state = VG__REPORT_OPENING;
    if (body == NULL || vg_http_pool_post_hdr(up->pool, up->ctx, url, up->auth, "application/json",
                                              body, strlen(body), VG__UPLOAD_TIMEOUT, VG__REPLY_MAX,
                                              vg__upload_on_report, r) < 0) {
        vg__upload_on_report(0, NULL, 0, "invalid collector URL", r);
    }
    free(body);
}

/* The report json goes into: the one opened for its test_name, test_version, probe_asn and
 * probe_cc (found or added); NULL when it lacks them or VG__UPLOAD_REPORTS are in use. */
static struct vg__report_slot *
vg__report_for(struct vg_uploader *up, const char *json)
{
    json_t *m = json_loads(json, 0, NULL);
    const char *tn = json_string_value(json_object_get(m, "test_name"));
    const char *tv = json_string_value(json_object_get(m, "test_version"));
    const char *asn = json_string_value(json_object_get(m, "probe_asn"));
    const char *cc = json_string_value(json_object_get(m, "probe_cc"));
    struct vg__report_slot *r = NULL;

    if (tn == NULL || tv == NULL || asn == NULL || cc == NULL ||
        strlen(tn) >= sizeof(r->test_name) || strlen(tv) >= sizeof(r->test_version) ||
        strlen(asn) >= sizeof(r->probe_asn) || strlen(cc) >= sizeof(r->probe_cc)) {
        json_decref(m);
        return NULL;
    }
    for (size_t i = 0; i < up->n_reports && r == NULL; i++) {
        struct vg__report_slot *s = &up->reports[i];

        if (strcmp(s->test_name, tn) == 0 && strcmp(s->test_version, tv) == 0 &&
            strcmp(s->probe_asn, asn) == 0 && strcmp(s->probe_cc, cc) == 0) {
            r = s;
        }
    }
    if (r == NULL && up->n_reports < VG__UPLOAD_REPORTS) {
        r = &up->reports[up->n_reports++];
        r->up = up;
        snprintf(r->test_name, sizeof(r->test_name), "%s", tn);
        snprintf(r->test_version, sizeof(r->test_version), "%s", tv);
        snprintf(r->probe_asn, sizeof(r->probe_asn), "%s", asn);
        snprintf(r->probe_cc, sizeof(r->probe_cc), "%s", cc);
        r->state = VG__REPORT_NONE;
    }
    json_decref(m);
    return r;
}

static void
vg__upload_enqueue(struct vg_uploader *up, const char *id, char *json, bool from_spool)
{
    struct vg__item *it = vg_xcalloc(1, sizeof(*it));

    it->up = up;
    it->rep = vg__report_for(up, json);
    snprintf(it->id, sizeof(it->id), "%s", id);
    it->json = json;
    it->from_spool = from_spool;
    if (up->qtail != NULL) {
        up->qtail->next = it;
    } else {
        up->qhead = it;
    }
    up->qtail = it;
    vg__drain(up);
}

void
vg_uploader_add(struct vg_uploader *up, const char *id, const char *json)
{
    if (!vg__id_ok(id)) {
        fprintf(stderr, "vigie: not uploading a measurement without a valid id\n");
        up->st.failed++;
        return;
    }
    vg__upload_enqueue(up, id, vg_xstrdup(json), false);
}

size_t
vg_uploader_add_spool(struct vg_uploader *up)
{
    DIR *d = opendir(up->spool);
    struct dirent *de;
    size_t n = 0;

    if (d == NULL) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char id[64], path[4200];
        size_t len = strlen(de->d_name);
        FILE *f;
        char *json = NULL;
        size_t cap = 0;
        ssize_t r;

        if (len <= 5 || len - 5 >= sizeof(id) || strcmp(de->d_name + len - 5, ".json") != 0) {
            continue;
        }
        memcpy(id, de->d_name, len - 5);
        id[len - 5] = '\0';
        if (!vg__id_ok(id)) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", up->spool, de->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        r = getline(&json, &cap, f);
        fclose(f);
        if (r <= 0) {
            free(json);
            continue;
        }
        while (r > 0 && (json[r - 1] == '\n' || json[r - 1] == '\r')) {
            json[--r] = '\0';
        }
        vg__upload_enqueue(up, id, json, true);
        n++;
    }
    closedir(d);
    return n;
}

int
vg_uploader_check(const struct vg_upload_opts *o, char *err, size_t errlen)
{
    const char *c = o->collector;
    struct vg_url *u;
    bool loopback;

    if ((strncmp(c, "http://", 7) != 0 && strncmp(c, "https://", 8) != 0) || strlen(c) >= 1024) {
        snprintf(err, errlen, "invalid collector URL '%.200s' (http:// or https://)", c);
        return VG_EINVAL;
    }
    if (o->token == NULL) {
        return 0;
    }
    if (o->token[0] == '\0' || strlen(o->token) > VG_UPLOAD_TOKEN_MAX) {
        snprintf(err, errlen, "the upload token must be 1 to %d bytes long", VG_UPLOAD_TOKEN_MAX);
        return VG_EINVAL;
    }
    for (const char *t = o->token; *t != '\0'; t++) {
        if (*t < 0x21 || *t > 0x7e) {
            snprintf(err, errlen,
                     "the upload token has a byte that cannot go in an HTTP header "
                     "(printable ASCII without spaces)");
            return VG_EINVAL;
        }
    }
    if (strncmp(c, "https://", 8) == 0 || o->allow_token_over_http) {
        return 0;
    }
    u = vg_xmalloc(sizeof(*u));
    loopback =
        vg_url_parse(c, u) == 0 && (u->ip_family != 0 ? vg_ip_classify(u->host) == VG_IP_LOOPBACK
                                                      : strcmp(u->host, "localhost") == 0);
    free(u);
    if (!loopback) {
        snprintf(err, errlen,
                 "refusing to send the upload token to '%.200s' over plain http: anyone on the "
                 "path could read it (use https://, or --allow-token-over-http to send it anyway)",
                 c);
        return VG_EINVAL;
    }
    return 0;
}

int
vg_uploader_new(uv_loop_t *loop, struct ssl_ctx_st *ctx, const struct vg_upload_opts *o,
                struct vg_uploader **out, char *err, size_t errlen)
{
    struct vg_uploader *up;
    size_t n = strlen(o->collector);
    struct stat st = {0};

    *out = NULL;
    VG_TRY(vg_uploader_check(o, err, errlen));
    if (o->spool_must_exist && (stat(o->spool_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        snprintf(err, errlen, "spool directory %s: %s", o->spool_dir,
                 st.st_mode == 0 ? strerror(errno) : "not a directory");
        return VG_EINVAL;
    }
    if (vg__mkdir_p(o->spool_dir) != 0) {
        snprintf(err, errlen, "cannot create the spool directory %s: %s", o->spool_dir,
                 strerror(errno));
        return VG_EINVAL;
    }
    up = vg_xcalloc(1, sizeof(*up));
    up->loop = loop;
    up->ctx = ctx;
    up->base = vg_xstrdup(o->collector);
    while (n > 0 && up->base[n - 1] == '/') {
        up->base[--n] = '\0';
    }
    up->spool = vg_xstrdup(o->spool_dir);
    /* as many kept connections as submissions in flight */
    up->pool = vg_http_pool_new(loop, VG__UPLOAD_PARALLEL);
    if (o->token != NULL) {
        size_t cap = strlen(o->token) + 32;

        up->auth = vg_xmalloc(cap);
        snprintf(up->auth, cap, "%s%s", VG__AUTH_PREFIX, o->token);
    }
    *out = up;
    return 0;
}

void
vg_uploader_stats(const struct vg_uploader *up, struct vg_upload_stats *st)
{
    *st = up->st;
}

void
vg_uploader_free(struct vg_uploader *up)
{
    if (up == NULL) {
        return;
    }
    while (up->qhead != NULL) {
        struct vg__item *it = up->qhead;

        up->qhead = it->next;
        vg__spool(up, it, false);
        vg__item_free(it);
    }
    if (up->auth != NULL) {
        explicit_bzero(up->auth, strlen(up->auth));
    }
    free(up->auth);
    vg_http_pool_free(up->pool);
    free(up->base);
    free(up->spool);
    free(up);
}
