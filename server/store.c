/* SPDX-License-Identifier: MIT */
/*
 * store.c - the backend-neutral part of the store (store.h, docs/storage.md): measurement row
 * extraction, the writer thread that groups concurrent inserts into one transaction, the read
 * connection pool, and every query (SQL written once, $N placeholders).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "meas/record_read.h"
#include "store_impl.h"
#include "util/crypto.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/timefmt.h"

#define VG__DEFAULT_READERS  4
#define VG__DEFAULT_BATCH    2000
#define VG__DEFAULT_TIMEOUT  5000
#define VG__INSERT_MAX       10000  /* rows in one vg_store_insert call */
#define VG__AGG_MAX_GROUPS   100000 /* aggregation result rows */
#define VG__CURSOR_MAX       8192   /* bytes of an opaque cursor */
#define VG__RETRIES          5      /* runs of one transaction after deadlocks */
#define VG__ZLEVEL           1      /* zlib level: JSON compresses ~5x already at 1-3 */
#define VG__MEAS_COLS        18
#define VG__QUERY_MAX_PARAMS 16
#define VG__N_WSQL           6 /* ingest statements (vg__wsql) */
#define VG__N_CHUNKS         4 /* row counts each is prepared for (vg__chunks) */

const enum vg_verdict vg_store_verdict_order[VG_STORE_N_VERDICTS] = {
    VG_VERDICT_ACCESSIBLE, VG_VERDICT_BLOCKED, VG_VERDICT_INTERCEPTED, VG_VERDICT_DOWN,
    VG_VERDICT_UNKNOWN};

const char *
vg_store_strerror(int err)
{
    return vg_strerror(err);
}

static bool
vg__verdict_ok(const char *v)
{
    enum vg_verdict vd;

    return vg_verdict_parse(v, &vd);
}

/* ---------------------------------------------------------------------------------------- */
/* Time */

void
vg_store_format_time(int64_t t, char *buf, size_t len)
{
    vg_time_format(t, VG_TIME_ISO8601, buf, len);
}

static int64_t
vg__now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------------------------------- */
/* Row extraction */

static bool
vg__chars_ok(const char *s, int lo, int hi)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < lo || (unsigned char)*s > hi) {
            return false;
        }
    }
    return true;
}

/* A host name or address as it appears in a URL: ASCII letters, digits, '.', '-', '_' (and
 * ':' for IPv6), or UTF-8 bytes of an internationalised name. */
static bool
vg__host_ok(const char *h, bool v6)
{
    if (h[0] == '\0') {
        return false;
    }
    for (; *h != '\0'; h++) {
        unsigned char c = (unsigned char)*h;

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c >= 0x80 || (v6 && c == ':'))) {
            return false;
        }
    }
    return true;
}

void
vg__store_url_domain(const char *input, char *out, size_t outlen)
{
    const char *p = input, *auth, *end, *at, *hs, *he;
    bool v6 = false;
    size_t n;

    out[0] = '\0';
    if (outlen == 0) {
        return;
    }
    /* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        return;
    }
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    if (strncmp(p, "://", 3) != 0) {
        return;
    }
    auth = p + 3;
    end = auth + strcspn(auth, "/?#");
    /* RFC 3986 3.2.1: userinfo ends at the last '@' of the authority */
    hs = auth;
    for (at = auth; at < end; at++) {
        if (*at == '@') {
            hs = at + 1;
        }
    }
    if (hs < end && *hs == '[') {
        hs++;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (he == NULL) {
            return;
        }
        v6 = true;
    } else {
        he = memchr(hs, ':', (size_t)(end - hs));
        if (he == NULL) {
            he = end;
        }
    }
    n = (size_t)(he - hs);
    while (n > 0 && hs[n - 1] == '.') {
        n--; /* "example.com." is example.com */
    }
    if (n == 0 || n >= outlen) {
        return;
    }
    memcpy(out, hs, n);
    out[n] = '\0';
    vg_str_lower(out);
    if (!vg__host_ok(out, v6)) {
        out[0] = '\0';
    }
}

/* The row of measurement obj, read through the record module (meas/record_read.h); row->raw
 * and row->raw_len are set. */
static int
vg__store_row_fill(json_t *obj, struct vg_store_meas *row, int64_t received_us, char *err,
                   size_t errlen)
{
    struct vg_rec_summary sum;
    uint8_t digest[64];
    char hex[129], when[32];
    int64_t sec;
    int rc;

    rc = vg_rec_summary_read(obj, &sum, err, errlen);
    if (rc < 0) {
        return rc;
    }
    memcpy(row->test_name, sum.test_name, sizeof(row->test_name));
    memcpy(row->probe_cc, sum.probe_cc, sizeof(row->probe_cc));
    row->probe_asn = sum.probe_asn;
    row->start_time = sum.start_time;
    memcpy(row->report_id, sum.report_id, sizeof(row->report_id));
    row->has_input = sum.has_input;
    memcpy(row->input, sum.input, sizeof(row->input));
    vg__store_url_domain(row->input, row->domain, sizeof(row->domain));
    memcpy(row->software_name, sum.software_name, sizeof(row->software_name));
    memcpy(row->software_version, sum.software_version, sizeof(row->software_version));
    snprintf(row->x_verdict, sizeof(row->x_verdict), "%s", vg_verdict_name(sum.verdict));
    memcpy(row->x_cause, sum.x_cause, sizeof(row->x_cause));
    memcpy(row->blocking, sum.blocking, sizeof(row->blocking));
    row->accessible = sum.accessible;

    vg_sha512(row->raw, row->raw_len, digest);
    vg_hex(digest, 64, hex);
    if (sum.has_id) {
        snprintf(row->idem_key, sizeof(row->idem_key), "c:%s", sum.id);
    } else {
        snprintf(row->idem_key, sizeof(row->idem_key), "h:%.32s", hex);
    }
    if (received_us <= 0) {
        received_us = vg__now_us();
    }
    sec = received_us / 1000000;
    vg_time_format(sec, "%Y%m%d%H%M%S", when, sizeof(when));
    snprintf(row->measurement_uid, sizeof(row->measurement_uid), "%s.%06lld_%s_%s_%.16s", when,
             (long long)(received_us % 1000000), row->probe_cc, row->test_name, hex);
    return 0;
}

/* Both entry points: obj is the parse of json[len] (NULL: parse it here). */
static int
vg__meas_row(const char *json, size_t len, json_t *obj, int64_t received_us,
             struct vg_store_meas *row, char *err, size_t errlen)
{
    char scratch[1];
    json_error_t jerr;
    json_t *parsed = NULL;
    int rc;

    memset(row, 0, sizeof(*row));
    if (err == NULL) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (len > VG_STORE_MEAS_MAX) {
        snprintf(err, errlen, "measurement larger than %d bytes", VG_STORE_MEAS_MAX);
        return VG_ETOOBIG;
    }
    if (obj == NULL) {
        /* Duplicate keys would let two readers of the same bytes disagree on a field. */
        obj = parsed = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (obj == NULL) {
            snprintf(err, errlen, "not JSON: %s", jerr.text);
            return VG_EPROTO;
        }
    }
    row->raw = json;
    row->raw_len = len;
    rc = vg__store_row_fill(obj, row, received_us, err, errlen);
    json_decref(parsed);
    if (rc < 0) {
        memset(row, 0, sizeof(*row));
    }
    return rc;
}

int
vg_store_meas_from_json(const char *json, size_t len, int64_t received_us,
                        struct vg_store_meas *row, char *err, size_t errlen)
{
    return vg__meas_row(json, len, NULL, received_us, row, err, errlen);
}

int
vg_store_meas_from_obj(json_t *obj, const char *json, size_t len, int64_t received_us,
                       struct vg_store_meas *row, char *err, size_t errlen)
{
    if (obj == NULL) {
        memset(row, 0, sizeof(*row));
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "measurement is not a JSON object");
        }
        return VG_EPROTO;
    }
    return vg__meas_row(json, len, obj, received_us, row, err, errlen);
}

/* ---------------------------------------------------------------------------------------- */
/* The store, its pool and its writer */

/* A deflate state kept between calls: compress2() would allocate and fault in ~270 KiB of
 * state for every measurement, which cost more than compressing it. */
struct vg__zs {
    z_stream z;
    struct vg__zs *next;
};

enum vg__job_kind {
    VG__JOB_INSERT,
    VG__JOB_REPORT_OPEN,
    VG__JOB_REPORT_CLOSE,
};

struct vg__job {
    enum vg__job_kind kind;
    /* insert */
    const struct vg_store_meas *rows;
    size_t n;
    uint8_t **z; /* compressed raw of each row */
    size_t *zlen;
    char (*uids)[VG_UID_MAX]; /* results: one per row */
    int64_t received_us;
    /* reports */
    const struct vg_store_report *rep;
    const char *report_id;
    int64_t now;
    /* completion */
    int rc;
    bool done;
    pthread_cond_t cv;
    struct vg__job *next;
};

struct vg_store {
    const struct vg_store_ops *ops;
    char *target;
    struct vg_store_opts o;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct vg__conn **idle;
    size_t n_idle;
    unsigned n_open;

    pthread_mutex_t mu; /* the job queue, job completion and stats */
    pthread_cond_t work;
    struct vg__job *head, *tail;
    bool stop;
    pthread_t writer;
    struct vg__conn *wconn; /* the writer thread's alone */
    struct vg__store_stats stats;
    char last_error[256]; /* vg_store_last_error() */

    pthread_mutex_t z_mu;
    struct vg__zs *z_free; /* deflate states ready for reuse */

    char *wsql[VG__N_WSQL][VG__N_CHUNKS]; /* vg__wsql_build(w, vg__chunks[c]) */
};

const char *
vg_store_backend(const struct vg_store *s)
{
    return s->ops->name;
}

/* Remember the database's words for a failure (vg_store_last_error). */
static void
vg__note_error(struct vg_store *s, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    vg_strlcpy(s->last_error, msg != NULL ? msg : "", sizeof(s->last_error));
    pthread_mutex_unlock(&s->mu);
}

void
vg_store_last_error(struct vg_store *s, char *buf, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    vg_strlcpy(buf, s->last_error, cap);
    pthread_mutex_unlock(&s->mu);
}

void
vg__store_get_stats(struct vg_store *s, struct vg__store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

static void
vg__count_reconnect(struct vg_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->stats.reconnects++;
    pthread_mutex_unlock(&s->mu);
}

/* A read connection: an idle one, or a new one while fewer than o.readers are open. */
static int
vg__acquire(struct vg_store *s, struct vg__conn **c, bool *fresh)
{
    char err[256];
    int rc;

    pthread_mutex_lock(&s->pool_mu);
    while (s->n_idle == 0 && s->n_open >= s->o.readers) {
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
    if (s->n_idle > 0) {
        *c = s->idle[--s->n_idle];
        *fresh = false;
        pthread_mutex_unlock(&s->pool_mu);
        return 0;
    }
    s->n_open++;
    pthread_mutex_unlock(&s->pool_mu);
    *fresh = true;
    rc = s->ops->connect(s->target, &s->o, false, c, err, sizeof(err));
    if (rc < 0) {
        vg__note_error(s, err);
        pthread_mutex_lock(&s->pool_mu);
        s->n_open--;
        pthread_cond_signal(&s->pool_cv);
        pthread_mutex_unlock(&s->pool_mu);
    }
    return rc;
}

/* Give c back; a broken connection is closed so that the next use opens a new one. */
static void
vg__release(struct vg_store *s, struct vg__conn *c, bool broken)
{
    if (broken) {
        s->ops->disconnect(c);
        vg__count_reconnect(s);
    }
    pthread_mutex_lock(&s->pool_mu);
    if (broken) {
        s->n_open--;
    } else {
        s->idle[s->n_idle++] = c;
    }
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

typedef int (*vg__read_fn)(struct vg_store *s, struct vg__conn *c, void *arg);

/* Run fn on a pooled connection. A connection that turns out dead (the server restarted, the
 * network dropped it while idle) is replaced and fn runs once more on a fresh one. */
static int
vg__store_read(struct vg_store *s, vg__read_fn fn, void *arg)
{
    for (int attempt = 0;; attempt++) {
        struct vg__conn *c;
        bool fresh;
        int rc;

        VG_TRY(vg__acquire(s, &c, &fresh));
        rc = fn(s, c, arg);
        vg__release(s, c, rc == VG_STORE_EUNAVAIL);
        if (rc != VG_STORE_EUNAVAIL || fresh || attempt > 0) {
            return rc;
        }
    }
}

/* ---- the write transaction ---- */

/* One measurement row inside a write group. */
struct vg__wrow {
    const struct vg_store_meas *m;
    const uint8_t *z;
    size_t zlen;
    int64_t received_us;
    char *uid_out; /* VG_UID_MAX bytes in the job's result array */
    bool is_new;
    bool found;
};

static const char vg__sql_find_idem[] =
    "SELECT measurement_uid FROM measurements WHERE idem_key = $1";

static const char vg__sql_find_uid[] =
    "SELECT measurement_uid FROM measurements WHERE measurement_uid = $1";

/*
 * The latest-state row of (input, network). Let V be its verdict, S the start of V's current
 * run, L the latest time seen, B the latest time of another verdict before S. A measurement
 * (t, v):
 *   t >= L, v = V:  L = t
 *   t >= L, v != V: B = L, V = v, S = L = t
 *   t < L,  v = V:  S = t when t < S and t > B (the run reaches back further)
 *   t < L,  v != V: B = max(B, t); when t >= S the run is broken after t and S becomes L (the
 *                   earliest time we still know to be in the run: later than or equal to truth)
 * All SET expressions read the row as it was before the update, in SQLite and PostgreSQL.
 */
static const char vg__sql_target_tail[] =
    " ON CONFLICT (input, probe_cc, probe_asn) DO UPDATE SET"
    " x_verdict = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.x_verdict ELSE targets.x_verdict END,"
    " x_cause = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.x_cause ELSE targets.x_cause END,"
    " last_uid = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.last_uid ELSE targets.last_uid END,"
    " since_time = CASE"
    "  WHEN excluded.last_time >= targets.last_time THEN"
    "   CASE WHEN excluded.x_verdict = targets.x_verdict"
    "    THEN targets.since_time ELSE excluded.last_time END"
    "  WHEN excluded.x_verdict = targets.x_verdict THEN"
    "   CASE WHEN excluded.last_time < targets.since_time"
    "    AND (targets.brk_time IS NULL OR excluded.last_time > targets.brk_time)"
    "    THEN excluded.last_time ELSE targets.since_time END"
    "  WHEN excluded.last_time >= targets.since_time THEN targets.last_time"
    "  ELSE targets.since_time END,"
    " brk_time = CASE"
    "  WHEN excluded.last_time >= targets.last_time THEN"
    "   CASE WHEN excluded.x_verdict = targets.x_verdict"
    "    THEN targets.brk_time ELSE targets.last_time END"
    "  WHEN excluded.x_verdict = targets.x_verdict THEN targets.brk_time"
    "  WHEN targets.brk_time IS NULL OR excluded.last_time > targets.brk_time"
    "   THEN excluded.last_time"
    "  ELSE targets.brk_time END,"
    " last_time = CASE WHEN excluded.last_time >= targets.last_time"
    "  THEN excluded.last_time ELSE targets.last_time END";

/*
 * The ingest statements, as an INSERT head, one VALUES tuple (placeholders $1..$width) and a
 * tail. The writer runs each over many rows at once: the tuple repeated k times, renumbered, k
 * from vg__chunks (vg__write_rows). One statement per 256 rows instead of one per row is what
 * makes PostgreSQL fast (planning and protocol costs per statement), and SQLite a bit faster.
 * Rows of one statement never share a conflict key (counts are merged per key first; latest
 * states go in rounds), as PostgreSQL's DO UPDATE requires.
 */
enum {
    VG__W_MEAS,
    VG__W_AGG_HOUR,
    VG__W_AGG_NET,
    VG__W_AGG_DOMAIN,
    VG__W_AGG_CC_DOMAIN,
    VG__W_TARGET,
    VG__N_W
};

static const struct vg__wsql {
    const char *head;
    const char *tuple;
    const char *tail;
    size_t width;
} vg__wsql[VG__N_W] = {
    [VG__W_MEAS] = {"INSERT INTO measurements (measurement_uid, idem_key, report_id,"
                    " measurement_start_time, input, domain, probe_cc, probe_asn, test_name,"
                    " software_name, software_version, x_verdict, x_cause, blocking, accessible,"
                    " received, raw_len, raw) VALUES ",
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
                    " $18)",
                    " ON CONFLICT DO NOTHING RETURNING measurement_uid", VG__MEAS_COLS},
    [VG__W_AGG_HOUR] = {"INSERT INTO agg_hourly (hour_start, domain, probe_cc, probe_asn,"
                        " x_verdict, n) VALUES ",
                        "($1, $2, $3, $4, $5, $6)",
                        " ON CONFLICT (hour_start, domain, probe_cc, probe_asn, x_verdict)"
                        " DO UPDATE SET n = agg_hourly.n + excluded.n",
                        6},
    [VG__W_AGG_NET] = {"INSERT INTO agg_daily_net (day_start, probe_cc, probe_asn, x_verdict, n)"
                       " VALUES ",
                       "($1, $2, $3, $4, $5)",
                       " ON CONFLICT (day_start, probe_cc, probe_asn, x_verdict)"
                       " DO UPDATE SET n = agg_daily_net.n + excluded.n",
                       5},
    [VG__W_AGG_DOMAIN] = {"INSERT INTO agg_daily_domain (day_start, domain, x_verdict, n) VALUES ",
                          "($1, $2, $3, $4)",
                          " ON CONFLICT (domain, x_verdict, day_start)"
                          " DO UPDATE SET n = agg_daily_domain.n + excluded.n",
                          4},
    [VG__W_AGG_CC_DOMAIN] = {"INSERT INTO agg_daily_cc_domain (day_start, domain, probe_cc,"
                             " x_verdict, n) VALUES ",
                             "($1, $2, $3, $4, $5)",
                             " ON CONFLICT (probe_cc, day_start, domain, x_verdict)"
                             " DO UPDATE SET n = agg_daily_cc_domain.n + excluded.n",
                             5},
    [VG__W_TARGET] = {"INSERT INTO targets (input, probe_cc, probe_asn, domain, x_verdict,"
                      " x_cause, since_time, last_time, brk_time, last_uid) VALUES ",
                      "($1, $2, $3, $4, $5, $6, $7, $7, NULL, $8)", vg__sql_target_tail, 8},
};

static const size_t vg__chunks[VG__N_CHUNKS] = {256, 32, 4, 1};
_Static_assert(VG__N_W == VG__N_WSQL, "vg__wsql and VG__N_WSQL disagree");

/* The statement for k rows: head, k tuples numbered from $1 on, tail. Fresh string. */
static char *
vg__wsql_build(const struct vg__wsql *w, size_t k)
{
    size_t cap = strlen(w->head) + strlen(w->tail) + k * (strlen(w->tuple) * 2 + 2) + 1, len;
    char *out = vg_xmalloc(cap);

    len = (size_t)snprintf(out, cap, "%s", w->head);
    for (size_t r = 0; r < k; r++) {
        if (r > 0) {
            out[len++] = ',';
        }
        for (const char *t = w->tuple; *t != '\0';) {
            if (*t == '$') {
                size_t num = 0;

                for (t++; *t >= '0' && *t <= '9'; t++) {
                    num = num * 10 + (size_t)(*t - '0');
                }
                len += (size_t)snprintf(out + len, cap - len, "$%zu", num + r * w->width);
            } else {
                out[len++] = *t++;
            }
        }
    }
    snprintf(out + len, cap - len, "%s", w->tail);
    return out;
}

/* Run ingest statement `which` over n rows of params (n * width values, row-major), largest
 * chunks first. cb gets each RETURNING row. */
static int
vg__write_rows(struct vg_store *s, int which, size_t n, const struct vg__val *p, vg__row_cb cb,
               void *arg)
{
    size_t width = vg__wsql[which].width, done = 0;

    while (done < n) {
        size_t c = 0;

        while (vg__chunks[c] > n - done) {
            c++;
        }
        VG_TRY(s->ops->run(s->wconn, s->wsql[which][c], VG__RUN_CACHE, 1, vg__chunks[c] * width,
                           p + done * width, cb, arg));
        done += vg__chunks[c];
    }
    return 0;
}

static const char vg__sql_report_open[] =
    "INSERT INTO reports (report_id, probe_cc, probe_asn, software_name, software_version,"
    " test_name, created, closed) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"
    " ON CONFLICT DO NOTHING RETURNING report_id";

static const char vg__sql_report_close[] =
    "UPDATE reports SET closed = COALESCE(closed, $2) WHERE report_id = $1 RETURNING report_id";

static struct vg__val
vg__text(const char *s)
{
    return (struct vg__val){.t = VG__TEXT, .p = s, .len = strlen(s)};
}

static struct vg__val
vg__text_or_null(const char *s)
{
    return s[0] != '\0' ? vg__text(s) : (struct vg__val){.t = VG__NULL};
}

static struct vg__val
vg__store_int(int64_t i)
{
    return (struct vg__val){.t = VG__INT, .i = i};
}

static int
vg__cmp_idem(const void *a, const void *b)
{
    const struct vg__wrow *x = a, *y = b;

    return strcmp(x->m->idem_key, y->m->idem_key);
}

/* The count tables kept at ingest (docs/storage.md): which dimensions each keeps, its period. */
enum {
    VG__DIM_DOMAIN = 1,
    VG__DIM_CC = 2,
    VG__DIM_ASN = 4,
};

static const struct vg__rollup {
    int wsql; /* upsert: (time, [domain], [probe_cc], [probe_asn], x_verdict, n) */
    int64_t period;
    unsigned dims;
    const char *table; /* daily tables, smallest first, for vg_store_aggregate */
} vg__rollups[] = {
    {VG__W_AGG_HOUR, 3600, VG__DIM_DOMAIN | VG__DIM_CC | VG__DIM_ASN, NULL},
    {VG__W_AGG_NET, 86400, VG__DIM_CC | VG__DIM_ASN, "agg_daily_net"},
    {VG__W_AGG_DOMAIN, 86400, VG__DIM_DOMAIN, "agg_daily_domain"},
    {VG__W_AGG_CC_DOMAIN, 86400, VG__DIM_CC | VG__DIM_DOMAIN, "agg_daily_cc_domain"},
};

struct vg__aggkey {
    int64_t t;
    const struct vg_store_meas *m;
    unsigned dims;
};

static int
vg__cmp_agg(const void *a, const void *b)
{
    const struct vg__aggkey *x = a, *y = b;
    int c;

    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    if ((x->dims & VG__DIM_DOMAIN) && (c = strcmp(x->m->domain, y->m->domain)) != 0) {
        return c;
    }
    if ((x->dims & VG__DIM_CC) && (c = strcmp(x->m->probe_cc, y->m->probe_cc)) != 0) {
        return c;
    }
    if ((x->dims & VG__DIM_ASN) && x->m->probe_asn != y->m->probe_asn) {
        return x->m->probe_asn < y->m->probe_asn ? -1 : 1;
    }
    return strcmp(x->m->x_verdict, y->m->x_verdict);
}

/* Count the new rows into one rollup table: merged per key here, upserted in key order. */
static int
vg__rollup(struct vg_store *s, const struct vg__rollup *r, struct vg__wrow *w, size_t n,
           struct vg__aggkey *ak, struct vg__val *p)
{
    size_t na = 0, k = 0, np = 0;

    for (size_t i = 0; i < n; i++) {
        if (w[i].is_new) {
            ak[na++] = (struct vg__aggkey){w[i].m->start_time - w[i].m->start_time % r->period,
                                           w[i].m, r->dims};
        }
    }
    qsort(ak, na, sizeof(*ak), vg__cmp_agg);
    for (size_t i = 0; i < na; i++) {
        const struct vg_store_meas *m = ak[i].m;

        if (k > 0 && vg__cmp_agg(&ak[i], &ak[i - 1]) == 0) {
            p[np - 1].i++;
            continue;
        }
        p[np++] = vg__store_int(ak[i].t);
        if (r->dims & VG__DIM_DOMAIN) {
            p[np++] = vg__text(m->domain);
        }
        if (r->dims & VG__DIM_CC) {
            p[np++] = vg__text(m->probe_cc);
        }
        if (r->dims & VG__DIM_ASN) {
            p[np++] = vg__store_int(m->probe_asn);
        }
        p[np++] = vg__text(m->x_verdict);
        p[np++] = vg__store_int(1);
        k++;
    }
    return vg__write_rows(s, r->wsql, k, p, NULL, NULL);
}

static bool
vg__same_target(const struct vg_store_meas *x, const struct vg_store_meas *y)
{
    return x->probe_asn == y->probe_asn && strcmp(x->input, y->input) == 0 &&
           strcmp(x->probe_cc, y->probe_cc) == 0;
}

static int
vg__cmp_target(const void *a, const void *b)
{
    const struct vg_store_meas *x = *(const struct vg_store_meas *const *)a;
    const struct vg_store_meas *y = *(const struct vg_store_meas *const *)b;
    int c;

    if ((c = strcmp(x->input, y->input)) != 0 || (c = strcmp(x->probe_cc, y->probe_cc)) != 0) {
        return c;
    }
    if (x->probe_asn != y->probe_asn) {
        return x->probe_asn < y->probe_asn ? -1 : 1;
    }
    if (x->start_time != y->start_time) {
        return x->start_time < y->start_time ? -1 : 1;
    }
    return strcmp(x->measurement_uid, y->measurement_uid);
}

struct vg__inserted {
    struct vg__wrow *w;
    size_t n;
    size_t hint; /* rows come back in VALUES order, usually: look there first */
};

/* A RETURNING row of the measurements INSERT: that uid is new. */
static int
vg__on_inserted(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    struct vg__inserted *ins = arg;

    (void)set;
    if (ncols != 1 || cols[0].t != VG__TEXT) {
        return VG_EINTERNAL;
    }
    for (size_t k = 0; k < ins->n; k++) {
        struct vg__wrow *w = &ins->w[(ins->hint + k) % ins->n];

        if (strlen(w->m->measurement_uid) == cols[0].len &&
            memcmp(w->m->measurement_uid, cols[0].p, cols[0].len) == 0) {
            w->is_new = true;
            w->found = true;
            ins->hint = (size_t)(w - ins->w) + 1;
            return 0;
        }
    }
    return VG_EINTERNAL;
}

struct vg__found {
    struct vg__wrow **rows; /* the rows each parameter set stands for */
};

static int
vg__on_found(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    struct vg__found *f = arg;
    struct vg__wrow *w = f->rows[set];

    if (ncols != 1 || cols[0].t != VG__TEXT || cols[0].len >= VG_UID_MAX) {
        return VG_EINTERNAL;
    }
    memcpy(w->uid_out, cols[0].p, cols[0].len);
    w->uid_out[cols[0].len] = '\0';
    w->found = true;
    return 0;
}

static int
vg__on_exists(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    bool *hit = arg;

    (void)cols;
    (void)ncols;
    hit[set] = true;
    return 0;
}

/* The rows of one transaction that were not new: find the uid stored under their idem_key (a
 * re-upload, possibly earlier in this very batch), else under their uid. */
static int
vg__resolve_dups(struct vg_store *s, struct vg__wrow *w, size_t n)
{
    struct vg__wrow **miss = vg_xcalloc(n, sizeof(*miss));
    struct vg__val *p = vg_xcalloc(n, sizeof(*p));
    struct vg__found f = {miss};
    size_t k = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (!w[i].is_new) {
            miss[k] = &w[i];
            p[k++] = vg__text(w[i].m->idem_key);
        }
    }
    if (k > 0) {
        rc = s->ops->run(s->wconn, vg__sql_find_idem, VG__RUN_CACHE, k, 1, p, vg__on_found, &f);
    }
    for (size_t i = 0, j = 0; rc == 0 && i < k; i++) {
        if (!miss[i]->found) {
            /* Same uid under another key: the same bytes received in the same microsecond. */
            miss[j] = miss[i];
            p[0] = vg__text(miss[i]->m->measurement_uid);
            rc = s->ops->run(s->wconn, vg__sql_find_uid, VG__RUN_CACHE, 1, 1, p, vg__on_found,
                             &(struct vg__found){&miss[j]});
            if (rc == 0 && !miss[i]->found) {
                rc = VG_EINTERNAL;
            }
        }
    }
    VG_FREE(miss);
    VG_FREE(p);
    return rc;
}

/* Count tables and latest states of the rows that are new, table by table, each in key order
 * (PostgreSQL takes row locks in that order in every collector, so concurrent transactions
 * cannot wait on each other in a cycle). */
static int
vg__derived(struct vg_store *s, struct vg__wrow *w, size_t n)
{
    struct vg__aggkey *ak = vg_xcalloc(n, sizeof(*ak));
    const struct vg_store_meas **tk = vg_xcalloc(n, sizeof(*tk));
    struct vg__val *p = vg_xcalloc(n * 8, sizeof(*p));
    size_t nt = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        if (w[i].is_new && w[i].m->has_input) {
            tk[nt++] = w[i].m;
        }
    }
    for (size_t r = 0; rc == 0 && r < sizeof(vg__rollups) / sizeof(vg__rollups[0]); r++) {
        rc = vg__rollup(s, &vg__rollups[r], w, n, ak, p);
    }
    qsort(tk, nt, sizeof(*tk), vg__cmp_target);
    /* Round r takes the r-th measurement (in time order) of each target: no statement updates a
     * row twice, and each target still sees its measurements in order. */
    for (size_t round = 0, left = nt; rc == 0 && left > 0; round++) {
        size_t k = 0, occ = 0;

        for (size_t i = 0; i < nt; i++) {
            const struct vg_store_meas *m = tk[i];

            occ = i > 0 && vg__same_target(tk[i - 1], m) ? occ + 1 : 0;
            if (occ != round) {
                continue;
            }
            p[k * 8 + 0] = vg__text(m->input);
            p[k * 8 + 1] = vg__text(m->probe_cc);
            p[k * 8 + 2] = vg__store_int(m->probe_asn);
            p[k * 8 + 3] = vg__text(m->domain);
            p[k * 8 + 4] = vg__text(m->x_verdict);
            p[k * 8 + 5] = vg__text_or_null(m->x_cause);
            p[k * 8 + 6] = vg__store_int(m->start_time);
            p[k * 8 + 7] = vg__text(m->measurement_uid);
            k++;
        }
        left -= k;
        rc = vg__write_rows(s, VG__W_TARGET, k, p, NULL, NULL);
    }
    VG_FREE(ak);
    VG_FREE(tk);
    VG_FREE(p);
    return rc;
}

/* Per-job results of one transaction, applied to the jobs only once it committed. */
struct vg__jobres {
    int rc;
};

static int
vg__reports(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res)
{
    size_t j = 0;

    for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
        struct vg__val p[7];
        bool hit = false;
        int rc = 0;

        if (job->kind == VG__JOB_REPORT_OPEN) {
            const struct vg_store_report *r = job->rep;

            p[0] = vg__text(r->report_id);
            p[1] = vg__text(r->probe_cc);
            p[2] = vg__store_int(r->probe_asn);
            p[3] = vg__text(r->software_name);
            p[4] = vg__text(r->software_version);
            p[5] = vg__text(r->test_name);
            p[6] = vg__store_int(r->created > 0 ? r->created : job->now);
            rc = s->ops->run(s->wconn, vg__sql_report_open, VG__RUN_CACHE, 1, 7, p, vg__on_exists,
                             &hit);
            res[j].rc = hit ? 0 : VG_STORE_EEXIST;
        } else if (job->kind == VG__JOB_REPORT_CLOSE) {
            p[0] = vg__text(job->report_id);
            p[1] = vg__store_int(job->now);
            rc = s->ops->run(s->wconn, vg__sql_report_close, VG__RUN_CACHE, 1, 2, p, vg__on_exists,
                             &hit);
            res[j].rc = hit ? 0 : VG_STORE_ENOTFOUND;
        }
        VG_TRY(rc);
    }
    return 0;
}

static int
vg__wrow_params(const struct vg__wrow *w, struct vg__val *p)
{
    const struct vg_store_meas *m = w->m;

    p[0] = vg__text(m->measurement_uid);
    p[1] = vg__text(m->idem_key);
    p[2] = vg__text(m->report_id);
    p[3] = vg__store_int(m->start_time);
    p[4] = m->has_input ? vg__text(m->input) : (struct vg__val){.t = VG__NULL};
    p[5] = vg__text(m->domain);
    p[6] = vg__text(m->probe_cc);
    p[7] = vg__store_int(m->probe_asn);
    p[8] = vg__text(m->test_name);
    p[9] = vg__text(m->software_name);
    p[10] = vg__text(m->software_version);
    p[11] = vg__text(m->x_verdict);
    p[12] = vg__text_or_null(m->x_cause);
    p[13] = vg__text_or_null(m->blocking);
    p[14] = m->accessible < 0 ? (struct vg__val){.t = VG__NULL} : vg__store_int(m->accessible);
    p[15] = vg__store_int(w->received_us);
    p[16] = vg__store_int((int64_t)m->raw_len);
    p[17] = (struct vg__val){.t = VG__BLOB, .p = (const char *)w->z, .len = w->zlen};
    return 0;
}

/* One write transaction for a group of jobs. Returns 0 once committed; res[] then holds each
 * job's outcome and the uids are written. On error nothing is committed. */
static int
vg__txn(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res)
{
    struct vg__wrow *w;
    struct vg__val *p;
    size_t n = 0, j = 0, k = 0;
    int rc;

    for (struct vg__job *job = jobs; job != NULL; job = job->next) {
        n += job->kind == VG__JOB_INSERT ? job->n : 0;
    }
    w = vg_xcalloc(n > 0 ? n : 1, sizeof(*w));
    p = vg_xcalloc(n > 0 ? n * VG__MEAS_COLS : 1, sizeof(*p));
    for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
        res[j].rc = 0;
        for (size_t i = 0; job->kind == VG__JOB_INSERT && i < job->n; i++, k++) {
            w[k] = (struct vg__wrow){.m = &job->rows[i],
                                     .z = job->z[i],
                                     .zlen = job->zlen[i],
                                     .received_us = job->received_us,
                                     .uid_out = job->uids[i]};
        }
    }
    /* Lock order: measurements by idem_key (see vg__derived). */
    qsort(w, n, sizeof(*w), vg__cmp_idem);
    for (size_t i = 0; i < n; i++) {
        vg__wrow_params(&w[i], p + i * VG__MEAS_COLS);
    }

    rc = s->ops->exec(s->wconn, s->ops->begin_sql);
    if (rc == 0) {
        rc = vg__reports(s, jobs, res);
    }
    if (rc == 0 && n > 0) {
        struct vg__inserted ins = {w, n, 0};

        rc = vg__write_rows(s, VG__W_MEAS, n, p, vg__on_inserted, &ins);
    }
    if (rc == 0) {
        rc = vg__resolve_dups(s, w, n);
    }
    if (rc == 0) {
        rc = vg__derived(s, w, n);
    }
    if (rc == 0) {
        rc = s->ops->exec(s->wconn, "COMMIT");
    }
    if (rc < 0) {
        vg__note_error(s, s->ops->errmsg(s->wconn));
        (void)s->ops->exec(s->wconn, "ROLLBACK");
    } else {
        /* Count new rows per job; new rows keep their own uid. */
        for (size_t i = 0; i < n; i++) {
            if (w[i].is_new) {
                memcpy(w[i].uid_out, w[i].m->measurement_uid, VG_UID_MAX);
            }
        }
        j = 0;
        k = 0;
        for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
            if (job->kind == VG__JOB_INSERT) {
                res[j].rc = 0;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (w[i].is_new) {
                /* find the job owning this row: jobs own consecutive uid slots */
                j = 0;
                for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
                    if (job->kind == VG__JOB_INSERT && w[i].uid_out >= job->uids[0] &&
                        w[i].uid_out < job->uids[job->n]) {
                        res[j].rc++;
                        break;
                    }
                }
            }
        }
    }
    VG_FREE(w);
    VG_FREE(p);
    return rc;
}

/* Run the transaction for jobs, reconnecting and retrying as the error allows. */
static int
vg__txn_retry(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res)
{
    int rc = 0;

    for (int attempt = 0; attempt <= VG__RETRIES; attempt++) {
        bool fresh = false;
        char err[256];

        if (s->wconn == NULL) {
            rc = s->ops->connect(s->target, &s->o, true, &s->wconn, err, sizeof(err));
            if (rc < 0) {
                vg__note_error(s, err);
                return rc;
            }
            fresh = true;
        }
        rc = vg__txn(s, jobs, res);
        if (rc == VG_STORE_EUNAVAIL) {
            /* Reconnect on next use. If this connection had been idle, it may just have gone
             * stale: one more go on a new one. A commit whose outcome was lost is harmless to
             * redo: idem_key makes the second run find the rows. */
            s->ops->disconnect(s->wconn);
            s->wconn = NULL;
            vg__count_reconnect(s);
            if (fresh || attempt > 0) {
                return rc;
            }
            continue;
        }
        if (rc != VG_ERETRY) {
            return rc;
        }
        /* deadlock or serialization failure: run it again */
    }
    return rc;
}

static void
vg__write_group(struct vg_store *s, struct vg__job *jobs, size_t njobs)
{
    struct vg__jobres *res = vg_xcalloc(njobs, sizeof(*res));
    size_t j = 0;
    int rc = vg__txn_retry(s, jobs, res);

    if (rc == VG_ECONSTRAINT && njobs > 1) {
        /* One caller's row broke a constraint: give every job its own transaction so that only
         * that caller sees the error. */
        for (struct vg__job *job = jobs; job != NULL; job = job->next) {
            struct vg__job *next = job->next;
            struct vg__jobres one;

            job->next = NULL;
            rc = vg__txn_retry(s, job, &one);
            job->rc = rc < 0 ? rc : one.rc;
            job->next = next;
        }
    } else {
        for (struct vg__job *job = jobs; job != NULL; job = job->next, j++) {
            job->rc = rc < 0 ? rc : res[j].rc;
        }
    }
    for (struct vg__job *job = jobs; job != NULL; job = job->next) {
        if (job->rc == VG_ECONSTRAINT || job->rc == VG_ERETRY) {
            job->rc = job->rc == VG_ERETRY ? VG_STORE_EUNAVAIL : VG_EINVAL;
        }
    }
    VG_FREE(res);
}

static void *
vg__writer_main(void *arg)
{
    struct vg_store *s = arg;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct vg__job *group, *last;
        size_t rows, njobs = 1;

        while (s->head == NULL && !s->stop) {
            pthread_cond_wait(&s->work, &s->mu);
        }
        if (s->head == NULL) {
            break; /* stopping, and nothing left to write */
        }
        /* Everything queued while the previous transaction ran, up to batch_max rows. */
        group = last = s->head;
        rows = group->n;
        while (last->next != NULL && rows + last->next->n <= s->o.batch_max) {
            last = last->next;
            rows += last->n;
            njobs++;
        }
        s->head = last->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        vg__write_group(s, group, njobs);

        pthread_mutex_lock(&s->mu);
        s->stats.jobs += njobs;
        s->stats.rows += rows;
        if (njobs > s->stats.max_group) {
            s->stats.max_group = njobs;
        }
        for (struct vg__job *job = group, *next; job != NULL; job = next) {
            next = job->next;
            if (job->rc >= 0) {
                s->stats.txns += job == group; /* counted once per group */
            }
            job->done = true;
            pthread_cond_signal(&job->cv);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Queue job for the writer and wait until it is done. */
static int
vg__store_submit(struct vg_store *s, struct vg__job *job)
{
    pthread_cond_init(&job->cv, NULL);
    job->done = false;
    job->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->tail != NULL) {
        s->tail->next = job;
    } else {
        s->head = job;
    }
    s->tail = job;
    pthread_cond_signal(&s->work);
    while (!job->done) {
        pthread_cond_wait(&job->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&job->cv);
    return job->rc;
}

static void
vg__free_wsql(struct vg_store *s)
{
    for (size_t w = 0; w < VG__N_WSQL; w++) {
        for (size_t c = 0; c < VG__N_CHUNKS; c++) {
            VG_FREE(s->wsql[w][c]);
        }
    }
}

int
vg_store_open(const char *spec, const struct vg_store_opts *opts, struct vg_store **out, char *err,
              size_t errlen)
{
    char scratch[1];
    struct vg_store *s;
    const char *target = spec;
    int rc;

    *out = NULL;
    if (err == NULL) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (spec == NULL || spec[0] == '\0') {
        snprintf(err, errlen, "empty store spec");
        return VG_EINVAL;
    }
    s = vg_xcalloc(1, sizeof(*s));
    if (opts != NULL) {
        s->o = *opts;
    }
    s->o.readers = s->o.readers > 0 ? s->o.readers : VG__DEFAULT_READERS;
    s->o.batch_max = s->o.batch_max > 0 ? s->o.batch_max : VG__DEFAULT_BATCH;
    s->o.timeout_ms = s->o.timeout_ms > 0 ? s->o.timeout_ms : VG__DEFAULT_TIMEOUT;
    if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0) {
        s->ops = &vg__store_pg_ops;
    } else if (strncmp(spec, "pg:", 3) == 0) {
        s->ops = &vg__store_pg_ops;
        target = spec + 3;
    } else {
        s->ops = &vg__store_sqlite_ops;
        if (strncmp(spec, "sqlite:", 7) == 0) {
            target = spec + 7;
        }
    }
    s->target = vg_xstrdup(target);
    s->idle = vg_xcalloc(s->o.readers, sizeof(*s->idle));
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_mutex_init(&s->z_mu, NULL);

    for (size_t w = 0; w < VG__N_WSQL; w++) {
        for (size_t c = 0; c < VG__N_CHUNKS; c++) {
            s->wsql[w][c] = vg__wsql_build(&vg__wsql[w], vg__chunks[c]);
        }
    }
    rc = s->ops->connect(s->target, &s->o, true, &s->wconn, err, errlen);
    if (rc == 0) {
        rc = vg__store_migrate(s->ops, s->wconn, s->o.no_migrate, err, errlen);
    }
    if (rc == 0 && (rc = pthread_create(&s->writer, NULL, vg__writer_main, s)) != 0) {
        snprintf(err, errlen, "writer thread: %s", strerror(rc));
        rc = VG_EINTERNAL;
    }
    if (rc != 0) {
        s->ops->disconnect(s->wconn);
        s->wconn = NULL;
        s->stop = true;
        /* no writer thread: free directly */
        pthread_mutex_destroy(&s->pool_mu);
        pthread_cond_destroy(&s->pool_cv);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->work);
        pthread_mutex_destroy(&s->z_mu);
        vg__free_wsql(s);
        VG_FREE(s->idle);
        VG_FREE(s->target);
        VG_FREE(s);
        return rc == VG_ECONSTRAINT || rc == VG_ERETRY ? VG_STORE_EUNAVAIL : rc;
    }
    *out = s;
    return 0;
}

void
vg_store_close(struct vg_store *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    /* Readers first: SQLite's last connection to close checkpoints the WAL into the database
     * and deletes it, and only the writer can (readers are read-only). A WAL left behind makes
     * the next open rebuild its index, which needs disk space the disk may not have. */
    for (size_t i = 0; i < s->n_idle; i++) {
        s->ops->disconnect(s->idle[i]);
    }
    s->ops->disconnect(s->wconn);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    while (s->z_free != NULL) {
        struct vg__zs *z = s->z_free;

        s->z_free = z->next;
        deflateEnd(&z->z);
        free(z);
    }
    pthread_mutex_destroy(&s->z_mu);
    vg__free_wsql(s);
    VG_FREE(s->idle);
    VG_FREE(s->target);
    free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* Writes */

static bool
vg__terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static int
vg__row_valid(const struct vg_store_meas *m)
{
    VG_ENSURE(m->raw != NULL && m->raw_len <= VG_STORE_MEAS_MAX, VG_EINVAL);
    VG_ENSURE(vg__terminated(m->measurement_uid, sizeof(m->measurement_uid)) &&
                  m->measurement_uid[0] != '\0',
              VG_EINVAL);
    VG_ENSURE(vg__terminated(m->idem_key, sizeof(m->idem_key)) && m->idem_key[0] != '\0',
              VG_EINVAL);
    VG_ENSURE(vg__terminated(m->report_id, sizeof(m->report_id)) &&
                  vg__terminated(m->input, sizeof(m->input)) &&
                  vg__terminated(m->domain, sizeof(m->domain)) &&
                  vg__terminated(m->test_name, sizeof(m->test_name)) &&
                  vg__terminated(m->software_name, sizeof(m->software_name)) &&
                  vg__terminated(m->software_version, sizeof(m->software_version)) &&
                  vg__terminated(m->x_verdict, sizeof(m->x_verdict)) &&
                  vg__terminated(m->x_cause, sizeof(m->x_cause)) &&
                  vg__terminated(m->blocking, sizeof(m->blocking)),
              VG_EINVAL);
    VG_ENSURE(strlen(m->probe_cc) == 2 && vg__verdict_ok(m->x_verdict), VG_EINVAL);
    VG_ENSURE(m->accessible >= -1 && m->accessible <= 1, VG_EINVAL);
    VG_ENSURE(!m->has_input || m->input[0] != '\0', VG_EINVAL);
    return 0;
}

/* zlib (RFC 1950) of p[len] into a fresh buffer (*out, *outlen), on a pooled deflate state. */
static int
vg__compress(struct vg_store *s, const char *p, size_t len, uint8_t **out, size_t *outlen)
{
    struct vg__zs *zs;
    int rc = 0;

    pthread_mutex_lock(&s->z_mu);
    zs = s->z_free;
    if (zs != NULL) {
        s->z_free = zs->next;
    }
    pthread_mutex_unlock(&s->z_mu);
    if (zs == NULL) {
        zs = vg_xcalloc(1, sizeof(*zs));
        if (deflateInit(&zs->z, VG__ZLEVEL) != Z_OK) {
            free(zs);
            return VG_EINTERNAL;
        }
    }
    *outlen = deflateBound(&zs->z, (uLong)len);
    *out = vg_xmalloc(*outlen);
    zs->z.next_in = (Bytef *)(uintptr_t)p; /* zlib does not write through next_in */
    zs->z.avail_in = (uInt)len;
    zs->z.next_out = *out;
    zs->z.avail_out = (uInt)*outlen;
    if (deflate(&zs->z, Z_FINISH) != Z_STREAM_END) {
        rc = VG_EINTERNAL;
    }
    *outlen = zs->z.total_out;
    deflateReset(&zs->z);
    pthread_mutex_lock(&s->z_mu);
    zs->next = s->z_free;
    s->z_free = zs;
    pthread_mutex_unlock(&s->z_mu);
    return rc;
}

int
vg_store_insert(struct vg_store *s, const struct vg_store_meas *rows, size_t n,
                char (*uids_out)[VG_UID_MAX])
{
    struct vg__job job = {.kind = VG__JOB_INSERT, .rows = rows, .n = n};
    int rc;

    if (n == 0) {
        return 0;
    }
    VG_ENSURE(rows != NULL && n <= VG__INSERT_MAX, VG_EINVAL);
    for (size_t i = 0; i < n; i++) {
        VG_TRY(vg__row_valid(&rows[i]));
    }
    /* Compress here, in the caller's thread: the writer thread only writes. */
    job.z = vg_xcalloc(n, sizeof(*job.z));
    job.zlen = vg_xcalloc(n, sizeof(*job.zlen));
    job.uids = vg_xcalloc(n + 1, sizeof(*job.uids)); /* +1: end marker for vg__txn */
    job.received_us = vg__now_us();
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = vg__compress(s, rows[i].raw, rows[i].raw_len, &job.z[i], &job.zlen[i]);
    }
    if (rc == 0) {
        rc = vg__store_submit(s, &job);
    }
    if (rc >= 0 && uids_out != NULL) {
        memcpy(uids_out, job.uids, n * sizeof(*job.uids));
    }
    for (size_t i = 0; i < n; i++) {
        VG_FREE(job.z[i]);
    }
    VG_FREE(job.z);
    VG_FREE(job.zlen);
    VG_FREE(job.uids);
    return rc;
}

static bool
vg__report_id_ok(const char *id)
{
    return id != NULL && id[0] != '\0' && strlen(id) < VG_REPORT_ID_MAX &&
           vg__chars_ok(id, 0x21, 0x7e);
}

int
vg_store_report_open(struct vg_store *s, const struct vg_store_report *r)
{
    struct vg__job job = {.kind = VG__JOB_REPORT_OPEN, .rep = r, .now = time(NULL)};

    VG_ENSURE(r != NULL && vg__report_id_ok(r->report_id), VG_EINVAL);
    VG_ENSURE(strlen(r->probe_cc) == 2 &&
                  vg__terminated(r->software_name, sizeof(r->software_name)) &&
                  vg__terminated(r->software_version, sizeof(r->software_version)) &&
                  vg__terminated(r->test_name, sizeof(r->test_name)),
              VG_EINVAL);
    return vg__store_submit(s, &job);
}

int
vg_store_report_close(struct vg_store *s, const char *report_id)
{
    struct vg__job job = {.kind = VG__JOB_REPORT_CLOSE, .report_id = report_id, .now = time(NULL)};

    VG_ENSURE(vg__report_id_ok(report_id), VG_EINVAL);
    return vg__store_submit(s, &job);
}

/* ---------------------------------------------------------------------------------------- */
/* Reads */

static void
vg__copy_text(const struct vg__val *v, char *out, size_t cap)
{
    size_t n = v->t == VG__TEXT ? v->len : 0;

    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(out, v->p, n);
    }
    out[n] = '\0';
}

struct vg__report_q {
    const char *id;
    struct vg_store_report *out;
    bool found;
};

static int
vg__store_on_report(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__report_q *q = arg;
    struct vg_store_report *r = q->out;

    (void)set;
    if (ncols != 7) {
        return VG_EINTERNAL;
    }
    q->found = true;
    if (r != NULL) {
        memset(r, 0, sizeof(*r));
        snprintf(r->report_id, sizeof(r->report_id), "%s", q->id);
        vg__copy_text(&c[0], r->probe_cc, sizeof(r->probe_cc));
        r->probe_asn = (uint32_t)c[1].i;
        vg__copy_text(&c[2], r->software_name, sizeof(r->software_name));
        vg__copy_text(&c[3], r->software_version, sizeof(r->software_version));
        vg__copy_text(&c[4], r->test_name, sizeof(r->test_name));
        r->created = c[5].i;
        r->closed = c[6].t != VG__NULL;
    }
    return 0;
}

static int
vg__report_get_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    static const char sql[] = "SELECT probe_cc, probe_asn, software_name, software_version,"
                              " test_name, created, closed FROM reports WHERE report_id = $1";
    struct vg__report_q *q = arg;
    struct vg__val p = vg__text(q->id);

    q->found = false;
    return s->ops->run(c, sql, VG__RUN_CACHE, 1, 1, &p, vg__store_on_report, q);
}

int
vg_store_report_get(struct vg_store *s, const char *report_id, struct vg_store_report *out)
{
    struct vg__report_q q = {report_id, out, false};

    VG_ENSURE(vg__report_id_ok(report_id), VG_EINVAL);
    VG_TRY(vg__store_read(s, vg__report_get_fn, &q));
    return q.found ? 0 : VG_STORE_ENOTFOUND;
}

struct vg__raw_q {
    const char *uid;
    char *text;
    size_t len;
    bool found;
    int err;
};

static int
vg__on_raw(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__raw_q *q = arg;
    uLongf dl;

    (void)set;
    q->found = true;
    if (ncols != 2 || c[0].t != VG__INT || c[1].t != VG__BLOB || c[0].i < 0 ||
        c[0].i > VG_STORE_MEAS_MAX) {
        return VG_EINTERNAL;
    }
    dl = (uLongf)c[0].i;
    q->text = vg_xmalloc(dl + 1);
    if (uncompress((Bytef *)q->text, &dl, (const Bytef *)c[1].p, (uLong)c[1].len) != Z_OK ||
        dl != (uLongf)c[0].i) {
        VG_FREE(q->text);
        return VG_EINTERNAL;
    }
    q->text[dl] = '\0';
    q->len = dl;
    return 0;
}

static int
vg__raw_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    static const char sql[] = "SELECT raw_len, raw FROM measurements WHERE measurement_uid = $1";
    struct vg__raw_q *q = arg;
    struct vg__val p = vg__text(q->uid);

    VG_FREE(q->text);
    q->found = false;
    return s->ops->run(c, sql, VG__RUN_CACHE, 1, 1, &p, vg__on_raw, q);
}

int
vg_store_get_raw(struct vg_store *s, const char *uid, char **out, size_t *len)
{
    struct vg__raw_q q = {.uid = uid};
    int rc;

    *out = NULL;
    if (len != NULL) {
        *len = 0;
    }
    VG_ENSURE(uid != NULL && uid[0] != '\0' && strlen(uid) < VG_UID_MAX, VG_EINVAL);
    rc = vg__store_read(s, vg__raw_fn, &q);
    if (rc == 0 && !q.found) {
        rc = VG_STORE_ENOTFOUND;
    }
    if (rc < 0) {
        VG_FREE(q.text);
        return rc;
    }
    *out = q.text;
    if (len != NULL) {
        *len = q.len;
    }
    return 0;
}

/* ---- dynamic queries ---- */

struct vg__query {
    char sql[2048];
    size_t len;
    struct vg__val p[VG__QUERY_MAX_PARAMS];
    size_t np;
    char domain[256]; /* derived from an input filter */
};

static void
vg__q_add(struct vg__query *q, const char *text)
{
    int n = snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s", text);

    if (n < 0 || (size_t)n >= sizeof(q->sql) - q->len) {
        abort(); /* a bug: the fixed SQL pieces outgrew the buffer */
    }
    q->len += (size_t)n;
}

/* Append pre, a placeholder for the new parameter v, then post. */
static void
vg__q_param(struct vg__query *q, const char *pre, struct vg__val v, const char *post)
{
    char buf[160];

    if (q->np == VG__QUERY_MAX_PARAMS) {
        abort(); /* a bug: more filters than parameters */
    }
    q->p[q->np++] = v;
    snprintf(buf, sizeof(buf), "%s$%zu%s", pre, q->np, post);
    vg__q_add(q, buf);
}

static int
vg__filter_valid(const struct vg_store_filter *f)
{
    if (f == NULL) {
        return 0;
    }
    VG_ENSURE(f->input == NULL || strlen(f->input) <= VG_STORE_INPUT_MAX, VG_EINVAL);
    VG_ENSURE(f->domain == NULL || strlen(f->domain) < 256, VG_EINVAL);
    VG_ENSURE(f->probe_cc == NULL || strlen(f->probe_cc) == 2, VG_EINVAL);
    VG_ENSURE(f->x_verdict == NULL || vg__verdict_ok(f->x_verdict), VG_EINVAL);
    VG_ENSURE(f->since >= 0 && f->until >= 0, VG_EINVAL);
    return 0;
}

/* WHERE conditions for filter f on a table whose time column is tcol. */
static void
vg__q_filters(struct vg__query *q, const struct vg_store_filter *f, const char *tcol, int64_t since,
              bool with_input)
{
    char pre[96];

    if (f == NULL) {
        return;
    }
    if (with_input && f->input != NULL) {
        vg__q_param(q, " AND input = ", vg__text(f->input), "");
        /* no index on input: the input's domain leads the query to the domain index */
        vg__store_url_domain(f->input, q->domain, sizeof(q->domain));
        if (f->domain == NULL) {
            vg__q_param(q, " AND domain = ", vg__text(q->domain), "");
        }
    }
    if (f->domain != NULL) {
        vg__q_param(q, " AND domain = ", vg__text(f->domain), "");
    }
    if (f->probe_cc != NULL) {
        vg__q_param(q, " AND probe_cc = ", vg__text(f->probe_cc), "");
    }
    if (f->has_probe_asn) {
        vg__q_param(q, " AND probe_asn = ", vg__store_int(f->probe_asn), "");
    }
    if (f->x_verdict != NULL) {
        vg__q_param(q, " AND x_verdict = ", vg__text(f->x_verdict), "");
    }
    if (since > 0) {
        snprintf(pre, sizeof(pre), " AND %s >= ", tcol);
        vg__q_param(q, pre, vg__store_int(since), "");
    }
    if (f->until > 0) {
        snprintf(pre, sizeof(pre), " AND %s < ", tcol);
        vg__q_param(q, pre, vg__store_int(f->until), "");
    }
}

/* Opaque cursors: base64url (RFC 4648 section 5, no padding) of a small JSON array. */
static const char vg__b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *
vg__cursor_encode(json_t *arr)
{
    char *txt = json_dumps(arr, JSON_COMPACT);
    size_t n = strlen(txt), o = 0;
    char *out = vg_xmalloc(n / 3 * 4 + 5);

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)txt[i] << 16;
        size_t left = n - i;

        if (left > 1) {
            v |= (uint32_t)(unsigned char)txt[i + 1] << 8;
        }
        if (left > 2) {
            v |= (unsigned char)txt[i + 2];
        }
        out[o++] = vg__b64u[(v >> 18) & 63];
        out[o++] = vg__b64u[(v >> 12) & 63];
        if (left > 1) {
            out[o++] = vg__b64u[(v >> 6) & 63];
        }
        if (left > 2) {
            out[o++] = vg__b64u[v & 63];
        }
    }
    out[o] = '\0';
    free(txt);
    return out;
}

/* Decode a cursor into a JSON array of exactly n elements (caller decrefs), or NULL. */
static json_t *
vg__cursor_decode(const char *c, size_t n)
{
    size_t len = strlen(c), o = 0;
    uint32_t acc = 0;
    int bits = 0;
    char *buf;
    json_t *arr;

    if (len == 0 || len > VG__CURSOR_MAX || len % 4 == 1) {
        return NULL;
    }
    buf = vg_xmalloc(len);
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(vg__b64u, c[i], 64);

        if (p == NULL || c[i] == '\0') {
            VG_FREE(buf);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(p - vg__b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    arr = json_loadb(buf, o, 0, NULL);
    VG_FREE(buf);
    if (arr == NULL || !json_is_array(arr) || json_array_size(arr) != n) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *
vg__jtext(const struct vg__val *v)
{
    return v->t == VG__TEXT ? json_stringn(v->p, v->len) : json_null();
}

static json_t *
vg__jasn(int64_t asn)
{
    char b[24];

    snprintf(b, sizeof(b), "AS%lld", (long long)asn);
    return json_string(b);
}

static json_t *
vg__jtime(int64_t t)
{
    char b[32];

    vg_store_format_time(t, b, sizeof(b));
    return json_string(b);
}

struct vg__list_q {
    struct vg__query q;
    unsigned limit;
    json_t *results;
    bool more;
    int64_t last_t;
    char last_uid[VG_UID_MAX];
};

static int
vg__on_list_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__list_q *l = arg;
    json_t *o, *blocking;

    (void)set;
    if (ncols != 14 || c[0].t != VG__TEXT || c[2].t != VG__INT) {
        return VG_EINTERNAL;
    }
    if (json_array_size(l->results) == l->limit) {
        l->more = true; /* the extra row only says there is a next page */
        return 0;
    }
    if (c[12].t != VG__TEXT) {
        blocking = json_null();
    } else if (c[12].len == 5 && memcmp(c[12].p, "false", 5) == 0) {
        blocking = json_false();
    } else {
        blocking = json_stringn(c[12].p, c[12].len);
    }
    o = json_object();
    json_object_set_new(o, "measurement_uid", vg__jtext(&c[0]));
    json_object_set_new(o, "report_id", vg__jtext(&c[1]));
    json_object_set_new(o, "measurement_start_time", vg__jtime(c[2].i));
    json_object_set_new(o, "input", vg__jtext(&c[3]));
    json_object_set_new(o, "domain", vg__jtext(&c[4]));
    json_object_set_new(o, "probe_cc", vg__jtext(&c[5]));
    json_object_set_new(o, "probe_asn", vg__jasn(c[6].i));
    json_object_set_new(o, "test_name", vg__jtext(&c[7]));
    json_object_set_new(o, "software_name", vg__jtext(&c[8]));
    json_object_set_new(o, "software_version", vg__jtext(&c[9]));
    json_object_set_new(o, "x_verdict", vg__jtext(&c[10]));
    json_object_set_new(o, "x_cause", vg__jtext(&c[11]));
    json_object_set_new(o, "blocking", blocking);
    json_object_set_new(o, "accessible", c[13].t == VG__INT ? json_boolean(c[13].i) : json_null());
    json_array_append_new(l->results, o);
    l->last_t = c[2].i;
    vg__copy_text(&c[0], l->last_uid, sizeof(l->last_uid));
    return 0;
}

static int
vg__list_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__list_q *l = arg;

    json_array_clear(l->results);
    l->more = false;
    return s->ops->run(c, l->q.sql, 0, 1, l->q.np, l->q.p, vg__on_list_row, l);
}

int
vg_store_list(struct vg_store *s, const struct vg_store_filter *f, const char *cursor,
              unsigned limit, json_t **out)
{
    struct vg__list_q *l;
    json_t *cur = NULL;
    int rc;

    *out = NULL;
    VG_TRY(vg__filter_valid(f));
    VG_ENSURE(limit <= VG_STORE_PAGE_MAX, VG_EINVAL);
    if (cursor != NULL) {
        cur = vg__cursor_decode(cursor, 2);
        if (cur == NULL || !json_is_integer(json_array_get(cur, 0)) ||
            !json_is_string(json_array_get(cur, 1)) ||
            json_string_length(json_array_get(cur, 1)) >= VG_UID_MAX) {
            json_decref(cur);
            return VG_EINVAL;
        }
    }
    l = vg_xcalloc(1, sizeof(*l));
    l->limit = limit > 0 ? limit : 100;
    vg__q_add(&l->q, "SELECT measurement_uid, report_id, measurement_start_time, input, domain,"
                     " probe_cc, probe_asn, test_name, software_name, software_version,"
                     " x_verdict, x_cause, blocking, accessible FROM measurements WHERE 1 = 1");
    vg__q_filters(&l->q, f, "measurement_start_time", f != NULL ? f->since : 0, true);
    if (cur != NULL) {
        vg__q_param(&l->q, " AND (measurement_start_time, measurement_uid) < (",
                    vg__store_int(json_integer_value(json_array_get(cur, 0))), "");
        vg__q_param(&l->q, ", ", vg__text(json_string_value(json_array_get(cur, 1))), ")");
    }
    vg__q_add(&l->q, " ORDER BY measurement_start_time DESC, measurement_uid DESC");
    vg__q_param(&l->q, " LIMIT ", vg__store_int((int64_t)l->limit + 1), "");
    l->results = json_array();
    rc = vg__store_read(s, vg__list_fn, l);
    if (rc == 0) {
        json_t *next = json_null();

        if (l->more) {
            json_t *pos = json_pack("[I, s]", (json_int_t)l->last_t, l->last_uid);
            char *enc = vg__cursor_encode(pos);

            json_decref(pos);
            json_decref(next);
            next = json_string(enc);
            VG_FREE(enc);
        }
        *out = json_pack("{s:o, s:o}", "results", l->results, "next_cursor", next);
        l->results = NULL;
    }
    json_decref(l->results);
    json_decref(cur);
    VG_FREE(l);
    return rc;
}

/* ---- aggregation ---- */

static const char *const vg__axis_names[] = {
    "", "measurement_day", "measurement_hour", "domain", "probe_asn", "probe_cc", "x_verdict"};
/* "%s" is the table's time column. */
static const char *const vg__axis_sql[] = {NULL,        "%s - %s %% 86400", "%s",       "domain",
                                           "probe_asn", "probe_cc",         "x_verdict"};
#define VG__N_AXES (sizeof(vg__axis_names) / sizeof(vg__axis_names[0]))

int
vg_store_axis_parse(const char *name, enum vg_store_axis *out)
{
    *out = VG_AXIS_NONE;
    if (name == NULL || name[0] == '\0') {
        return 0;
    }
    for (size_t i = 1; i < VG__N_AXES; i++) {
        if (strcmp(name, vg__axis_names[i]) == 0) {
            *out = (enum vg_store_axis)i;
            return 0;
        }
    }
    return VG_EINVAL;
}

const char *
vg_store_axis_name(enum vg_store_axis a)
{
    return (size_t)a < VG__N_AXES ? vg__axis_names[a] : "";
}

static json_t *
vg__axis_value(enum vg_store_axis a, const struct vg__val *v)
{
    char b[32];

    switch (a) {
    case VG_AXIS_DAY:
        vg_time_format(v->i, "%Y-%m-%d", b, sizeof(b));
        return json_string(b);
    case VG_AXIS_HOUR:
        return vg__jtime(v->i);
    case VG_AXIS_ASN:
        return vg__jasn(v->i);
    default:
        return vg__jtext(v);
    }
}

struct vg__agg_q {
    struct vg__query q;
    enum vg_store_axis ax[2];
    size_t nax;
    json_t *results;
    size_t rows;
};

static json_t *
vg__agg_group(struct vg__agg_q *a)
{
    json_t *o = json_object();

    for (int v = 0; v < VG_STORE_N_VERDICTS; v++) {
        json_object_set_new(o, vg_verdict_name(vg_store_verdict_order[v]), json_integer(0));
    }
    json_object_set_new(o, "total", json_integer(0));
    json_array_append_new(a->results, o);
    a->rows++;
    return o;
}

static void
vg__agg_add(json_t *o, const char *key, int64_t n)
{
    json_t *v = json_object_get(o, key);

    if (v != NULL) {
        json_integer_set(v, json_integer_value(v) + n);
    }
}

/* Rows come as (axes..., x_verdict, count), sorted by the axes: consecutive rows with the same
 * axes make one group. Pivoting here keeps the SQL a plain GROUP BY (no CASE per row). */
static int
vg__on_agg_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__agg_q *a = arg;
    json_t *o = json_array_get(a->results, json_array_size(a->results) - 1);
    json_t *vals[2] = {NULL, NULL};
    bool same = o != NULL;
    char verdict[16];
    int rc = 0;

    (void)set;
    if (ncols != a->nax + 2 || c[a->nax + 1].t != VG__INT) {
        return VG_EINTERNAL;
    }
    for (size_t i = 0; i < a->nax; i++) {
        vals[i] = vg__axis_value(a->ax[i], &c[i]);
        same = same && json_equal(vals[i], json_object_get(o, vg__axis_names[a->ax[i]]));
    }
    if (!same) {
        if (a->rows == VG__AGG_MAX_GROUPS) {
            rc = VG_ETOOBIG;
            goto out;
        }
        o = vg__agg_group(a);
        for (size_t i = 0; i < a->nax; i++) {
            json_object_set(o, vg__axis_names[a->ax[i]], vals[i]);
        }
    }
    vg__copy_text(&c[a->nax], verdict, sizeof(verdict));
    vg__agg_add(o, verdict, c[a->nax + 1].i); /* a verdict outside the five counts in total */
    vg__agg_add(o, "total", c[a->nax + 1].i);
out:
    json_decref(vals[0]);
    json_decref(vals[1]);
    return rc;
}

static int
vg__agg_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__agg_q *a = arg;

    json_array_clear(a->results);
    a->rows = 0;
    return s->ops->run(c, a->q.sql, 0, 1, a->q.np, a->q.p, vg__on_agg_row, a);
}

int
vg_store_aggregate(struct vg_store *s, const struct vg_store_filter *f, enum vg_store_axis x,
                   enum vg_store_axis y, json_t **out)
{
    struct vg__agg_q *a;
    const char *table = "agg_hourly", *tcol = "hour_start";
    char piece[128];
    unsigned dims = 0;
    bool hourly = false;
    int64_t since;
    int rc;

    *out = NULL;
    VG_TRY(vg__filter_valid(f));
    VG_ENSURE(f == NULL || f->input == NULL, VG_EINVAL);
    VG_ENSURE((size_t)x < VG__N_AXES && (size_t)y < VG__N_AXES, VG_EINVAL);
    VG_ENSURE(x == VG_AXIS_NONE || x != y, VG_EINVAL);
    VG_ENSURE(x != VG_AXIS_NONE || y == VG_AXIS_NONE, VG_EINVAL);
    a = vg_xcalloc(1, sizeof(*a));
    if (x != VG_AXIS_NONE) {
        a->ax[a->nax++] = x;
    }
    if (y != VG_AXIS_NONE) {
        a->ax[a->nax++] = y;
    }
    /* The smallest count table that has every dimension the query needs: the daily tables
     * each drop a dimension and are far smaller than the hourly one. */
    for (size_t i = 0; i < a->nax; i++) {
        dims |= a->ax[i] == VG_AXIS_DOMAIN ? VG__DIM_DOMAIN : 0;
        dims |= a->ax[i] == VG_AXIS_CC ? VG__DIM_CC : 0;
        dims |= a->ax[i] == VG_AXIS_ASN ? VG__DIM_ASN : 0;
        hourly |= a->ax[i] == VG_AXIS_HOUR;
    }
    if (f != NULL) {
        dims |= f->domain != NULL ? VG__DIM_DOMAIN : 0;
        dims |= f->probe_cc != NULL ? VG__DIM_CC : 0;
        dims |= f->has_probe_asn ? VG__DIM_ASN : 0;
        hourly |= f->since % 86400 != 0 || f->until % 86400 != 0;
    }
    for (size_t r = 1; !hourly && r < sizeof(vg__rollups) / sizeof(vg__rollups[0]); r++) {
        if ((vg__rollups[r].dims & dims) == dims) {
            table = vg__rollups[r].table;
            tcol = "day_start";
            break;
        }
    }
    vg__q_add(&a->q, "SELECT ");
    for (size_t i = 0; i < a->nax; i++) {
        snprintf(piece, sizeof(piece), vg__axis_sql[a->ax[i]], tcol, tcol);
        vg__q_add(&a->q, piece);
        vg__q_add(&a->q, ", ");
    }
    /* SUM of BIGINT is NUMERIC in PostgreSQL: cast back so both dialects return integers. */
    snprintf(piece, sizeof(piece), "x_verdict, CAST(SUM(n) AS BIGINT) FROM %s WHERE 1 = 1", table);
    vg__q_add(&a->q, piece);
    since = f != NULL && f->since > 0 ? f->since - f->since % 3600 : 0;
    vg__q_filters(&a->q, f, tcol, since, false);
    vg__q_add(&a->q, a->nax == 0   ? " GROUP BY 1 ORDER BY 1"
                     : a->nax == 1 ? " GROUP BY 1, 2 ORDER BY 1, 2"
                                   : " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    /* at most five rows (verdicts) per group: enough to see that there are too many groups */
    vg__q_param(&a->q, " LIMIT ",
                vg__store_int((int64_t)(VG__AGG_MAX_GROUPS + 1) * VG_STORE_N_VERDICTS), "");
    a->results = json_array();
    rc = vg__store_read(s, vg__agg_fn, a);
    if (rc == 0) {
        json_t *res = a->results;

        if (a->nax == 0) {
            res = json_incref(json_array_size(a->results) > 0 ? json_array_get(a->results, 0)
                                                              : vg__agg_group(a));
            json_decref(a->results);
        }
        a->results = NULL;
        *out = json_pack("{s:I, s:o}", "dimension_count", (json_int_t)a->nax, "result", res);
    }
    json_decref(a->results);
    VG_FREE(a);
    return rc;
}

/* ---- targets ---- */

struct vg__tgt_q {
    struct vg__query q;
    unsigned limit;
    json_t *results;
    bool more;
    json_t *last; /* [input, probe_cc, probe_asn] of the last row kept */
};

static int
vg__on_tgt_row(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct vg__tgt_q *t = arg;
    json_t *o;

    (void)set;
    if (ncols != 9 || c[0].t != VG__TEXT || c[2].t != VG__TEXT || c[3].t != VG__INT ||
        c[6].t != VG__INT || c[7].t != VG__INT) {
        return VG_EINTERNAL;
    }
    if (json_array_size(t->results) == t->limit) {
        t->more = true;
        return 0;
    }
    o = json_object();
    json_object_set_new(o, "input", vg__jtext(&c[0]));
    json_object_set_new(o, "domain", vg__jtext(&c[1]));
    json_object_set_new(o, "probe_cc", vg__jtext(&c[2]));
    json_object_set_new(o, "probe_asn", vg__jasn(c[3].i));
    json_object_set_new(o, "x_verdict", vg__jtext(&c[4]));
    json_object_set_new(o, "x_cause", vg__jtext(&c[5]));
    json_object_set_new(o, "since", vg__jtime(c[6].i));
    json_object_set_new(o, "last_seen", vg__jtime(c[7].i));
    json_object_set_new(o, "measurement_uid", vg__jtext(&c[8]));
    json_array_append_new(t->results, o);
    json_decref(t->last);
    t->last = json_pack("[o, o, I]", vg__jtext(&c[0]), vg__jtext(&c[2]), (json_int_t)c[3].i);
    return 0;
}

static int
vg__tgt_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__tgt_q *t = arg;

    json_array_clear(t->results);
    t->more = false;
    return s->ops->run(c, t->q.sql, 0, 1, t->q.np, t->q.p, vg__on_tgt_row, t);
}

int
vg_store_targets(struct vg_store *s, const struct vg_store_filter *f, const char *cursor,
                 unsigned limit, json_t **out)
{
    struct vg__tgt_q *t;
    json_t *cur = NULL;
    int rc;

    *out = NULL;
    VG_TRY(vg__filter_valid(f));
    VG_ENSURE(limit <= VG_STORE_PAGE_MAX, VG_EINVAL);
    if (cursor != NULL) {
        cur = vg__cursor_decode(cursor, 3);
        if (cur == NULL || !json_is_string(json_array_get(cur, 0)) ||
            !json_is_string(json_array_get(cur, 1)) || !json_is_integer(json_array_get(cur, 2))) {
            json_decref(cur);
            return VG_EINVAL;
        }
    }
    t = vg_xcalloc(1, sizeof(*t));
    t->limit = limit > 0 ? limit : 100;
    vg__q_add(&t->q, "SELECT input, domain, probe_cc, probe_asn, x_verdict, x_cause, since_time,"
                     " last_time, last_uid FROM targets WHERE 1 = 1");
    vg__q_filters(&t->q, f, "last_time", f != NULL ? f->since : 0, true);
    if (cur != NULL) {
        vg__q_param(&t->q, " AND (input, probe_cc, probe_asn) > (",
                    vg__text(json_string_value(json_array_get(cur, 0))), "");
        vg__q_param(&t->q, ", ", vg__text(json_string_value(json_array_get(cur, 1))), "");
        vg__q_param(&t->q, ", ", vg__store_int(json_integer_value(json_array_get(cur, 2))), ")");
    }
    vg__q_add(&t->q, " ORDER BY input, probe_cc, probe_asn");
    vg__q_param(&t->q, " LIMIT ", vg__store_int((int64_t)t->limit + 1), "");
    t->results = json_array();
    rc = vg__store_read(s, vg__tgt_fn, t);
    if (rc == 0) {
        json_t *next = json_null();

        if (t->more && t->last != NULL) {
            char *enc = vg__cursor_encode(t->last);

            json_decref(next);
            next = json_string(enc);
            VG_FREE(enc);
        }
        *out = json_pack("{s:o, s:o}", "results", t->results, "next_cursor", next);
        t->results = NULL;
    }
    json_decref(t->results);
    json_decref(t->last);
    json_decref(cur);
    VG_FREE(t);
    return rc;
}

/* ---- integrity ---- */

static int
vg__on_counts(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    int64_t *v = arg;

    (void)set;
    for (size_t i = 0; i < ncols && i < 2; i++) {
        v[i] = c[i].t == VG__INT ? c[i].i : -1;
    }
    return 0;
}

struct vg__check_q {
    char *err;
    size_t errlen;
};

/* Invariants of the derived tables; each query returns (found, expected). */
static const struct {
    const char *what;
    const char *sql;
} vg__checks[] = {
    {"aggregate total differs from the number of measurements",
     "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT), (SELECT COUNT(*) FROM measurements)"
     " FROM agg_hourly"},
    {"aggregate buckets that disagree with the measurements",
     "SELECT COUNT(*), 0 FROM (SELECT measurement_start_time - measurement_start_time % 3600,"
     " domain, probe_cc, probe_asn, x_verdict, COUNT(*) FROM measurements"
     " GROUP BY 1, 2, 3, 4, 5 EXCEPT SELECT hour_start, domain, probe_cc, probe_asn, x_verdict,"
     " n FROM agg_hourly) AS d"},
    {"aggregate rows with a count below 1",
     "SELECT (SELECT COUNT(*) FROM agg_hourly WHERE n < 1) + (SELECT COUNT(*) FROM"
     " agg_daily_domain WHERE n < 1) + (SELECT COUNT(*) FROM agg_daily_net WHERE n < 1) +"
     " (SELECT COUNT(*) FROM agg_daily_cc_domain WHERE n < 1), 0"},
    {"daily per-domain aggregate differs from the hourly one",
     "SELECT COUNT(*), 0 FROM (SELECT hour_start - hour_start % 86400, domain, x_verdict,"
     " CAST(SUM(n) AS BIGINT) FROM agg_hourly GROUP BY 1, 2, 3 EXCEPT SELECT day_start,"
     " domain, x_verdict, n FROM agg_daily_domain) AS d"},
    {"daily per-network aggregate differs from the hourly one",
     "SELECT COUNT(*), 0 FROM (SELECT hour_start - hour_start % 86400, probe_cc, probe_asn,"
     " x_verdict, CAST(SUM(n) AS BIGINT) FROM agg_hourly GROUP BY 1, 2, 3, 4 EXCEPT SELECT"
     " day_start, probe_cc, probe_asn, x_verdict, n FROM agg_daily_net) AS d"},
    {"daily per-country-and-domain aggregate differs from the hourly one",
     "SELECT COUNT(*), 0 FROM (SELECT hour_start - hour_start % 86400, domain, probe_cc,"
     " x_verdict, CAST(SUM(n) AS BIGINT) FROM agg_hourly GROUP BY 1, 2, 3, 4 EXCEPT SELECT"
     " day_start, domain, probe_cc, x_verdict, n FROM agg_daily_cc_domain) AS d"},
    {"daily aggregate totals differ from the number of measurements",
     "SELECT (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM agg_daily_domain) +"
     " (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM agg_daily_net) +"
     " (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM agg_daily_cc_domain),"
     " 3 * (SELECT COUNT(*) FROM measurements)"},
    {"targets whose latest measurement is not the newest, or disagrees",
     "SELECT COUNT(*), 0 FROM targets t WHERE t.since_time > t.last_time"
     " OR t.last_time <> (SELECT MAX(m.measurement_start_time) FROM measurements m"
     "  WHERE m.input = t.input AND m.probe_cc = t.probe_cc AND m.probe_asn = t.probe_asn)"
     " OR NOT EXISTS (SELECT 1 FROM measurements m WHERE m.measurement_uid = t.last_uid"
     "  AND m.x_verdict = t.x_verdict AND m.measurement_start_time = t.last_time)"},
    {"targets missing for measured (input, network) pairs",
     "SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT DISTINCT input, probe_cc, probe_asn"
     " FROM measurements WHERE input IS NOT NULL) AS d) FROM targets"},
};

static int
vg__check_fn(struct vg_store *s, struct vg__conn *c, void *arg)
{
    struct vg__check_q *q = arg;
    int rc;

    VG_TRY(s->ops->check(c, q->err, q->errlen));
    /* One snapshot for all the counts, whatever the writer commits meanwhile. */
    VG_TRY(s->ops->exec(c, s->ops->snapshot_sql));
    rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(vg__checks) / sizeof(vg__checks[0]); i++) {
        int64_t v[2] = {-1, -2};

        rc = s->ops->run(c, vg__checks[i].sql, 0, 1, 0, NULL, vg__on_counts, v);
        if (rc < 0) {
            snprintf(q->err, q->errlen, "%s", s->ops->errmsg(c));
        } else if (v[0] != v[1]) {
            snprintf(q->err, q->errlen, "%s (%lld, expected %lld)", vg__checks[i].what,
                     (long long)v[0], (long long)v[1]);
            rc = VG_STORE_ECORRUPT;
        }
    }
    (void)s->ops->exec(c, "COMMIT");
    return rc;
}

int
vg_store_integrity_check(struct vg_store *s, char *err, size_t errlen)
{
    char scratch[1];
    struct vg__check_q q = {err != NULL ? err : scratch, err != NULL ? errlen : sizeof(scratch)};

    if (q.errlen > 0) {
        q.err[0] = '\0';
    }
    return vg__store_read(s, vg__check_fn, &q);
}
