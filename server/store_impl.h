/* SPDX-License-Identifier: MIT */
/*
 * store_impl.h - private to the store: the backend ops (struct vg_store_ops), the migrations, the
 * store object and what its parts share, and the hooks tests use. Nothing outside server/store*.c,
 * server/migrations.c and the store's tests (tests/unit/test_store.c, tests/fuzz/fuzz_store_row.c)
 * includes it.
 *
 * Split of work: the store's parts (listed at the top of store.c) hold everything that does not
 * depend on the database (row extraction, the writer thread and its batching, the connection
 * pool, SQL text, result JSON); a backend only connects, runs parameterised SQL and maps its
 * errors onto the codes below. All SQL is written once, with PostgreSQL's $1..$n placeholders;
 * the SQLite backend binds them as ?NNN (same numbers). Schema differences live in migrations.c.
 */
#ifndef VG_SERVER_STORE_IMPL_H
#define VG_SERVER_STORE_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store.h"

/* Besides VG_STORE_EUNAVAIL and VG_EINTERNAL a backend returns VG_ECONSTRAINT (a row broke a
 * constraint: isolate it, fail its caller) and VG_ERETRY (deadlock / serialization failure: run the
 * transaction again); neither reaches the store's callers. */

enum vg__dialect {
    VG__SQLITE = 0,
    VG__PG = 1,
    VG__CH = 2, /* ClickHouse (store_ch.c) */
};

enum vg__vtype {
    VG__NULL = 0,
    VG__INT,
    VG__TEXT, /* p, len (not necessarily NUL-terminated in results) */
    VG__BLOB, /* p, len */
};

/* One SQL parameter or result column. Result values are valid only during the row callback. */
struct vg__val {
    enum vg__vtype t;
    int64_t i;
    const char *p;
    size_t len;
};

/* Called for each result row of parameter set `set`; return < 0 to stop with that error. */
typedef int (*vg__row_cb)(void *arg, size_t set, const struct vg__val *cols, size_t ncols);

/* run() flags */
#define VG__RUN_CACHE                                                           \
    1u /* sql is a static string run often: keep it prepared (keyed by address) \
        */

struct vg__conn; /* a backend connection; used by one thread at a time */

struct vg_store_ops {
    const char *name;
    enum vg__dialect dialect;
    const char *begin_sql; /* starts a write transaction */
    const char *lock_sql;  /* serialises migrations across processes (run after begin), or NULL */
    const char *snapshot_sql; /* starts a read-only transaction with one snapshot */
    /* Connect to target (spec without its scheme prefix). writer: the one connection that writes;
     * readers may be read-only. Errors: VG_STORE_EUNAVAIL with a message in err. */
    int (*connect)(const char *target, const struct vg_store_opts *o, bool writer,
                   struct vg__conn **out, char *err, size_t errlen);
    void (*disconnect)(struct vg__conn *c);
    /* Run SQL text without parameters or results (one or more statements). */
    int (*exec)(struct vg__conn *c, const char *sql);
    /* Run one statement once per parameter set: params holds nsets * nparams values, set-major.
     * Rows go to cb (may be NULL). PostgreSQL pipelines the sets. Stops at the first error. */
    int (*run)(struct vg__conn *c, const char *sql, unsigned flags, size_t nsets, size_t nparams,
               const struct vg__val *params, vg__row_cb cb, void *arg);
    /* The backend's own consistency check (SQLite: PRAGMA integrity_check). 0 or
     * VG_STORE_ECORRUPT with a message. */
    int (*check)(struct vg__conn *c, char *err, size_t errlen);
    /* The last error message of c (static or owned by c). Never NULL. */
    const char *(*errmsg)(struct vg__conn *c);
};

extern const struct vg_store_ops vg__store_sqlite_ops;
extern const struct vg_store_ops vg__store_pg_ops;
extern const struct vg_store_ops vg__store_ch_ops;

/* ---------------------------------------------------------------------------------------- */
/* Migrations (migrations.c) */

/*
 * One schema step. Statements are written once; these tokens are replaced per dialect
 * (vg__mig_expand), which is the whole list of differences:
 *   {text}          TEXT                  | TEXT COLLATE "C" (byte order, like SQLite's)
 *   {blob}          BLOB                  | BYTEA
 *   {without_rowid} WITHOUT ROWID         | (nothing)
 * A statement that exists for one dialect only has the other's entry NULL.
 */
struct vg__mig_stmt {
    const char *both;   /* for both dialects, or NULL */
    const char *sqlite; /* SQLite only (when both is NULL) */
    const char *pg;     /* PostgreSQL only (when both is NULL) */
};

struct vg__migration {
    int version;
    const char *description;
    const struct vg__mig_stmt *stmts;
    size_t n_stmts;
    bool data_step; /* after stmts, the data step (vg__mig_data_fn) runs for this version */
    const struct vg__mig_stmt *post; /* then these */
    size_t n_post;
};

/* What SQL alone cannot migrate (store_upgrade.c vg__store_upgrade_data), run inside the
 * migration's transaction. 0, or a backend error with a message in err. */
typedef int (*vg__mig_data_fn)(const struct vg_store_ops *ops, struct vg__conn *c, int version,
                               char *err, size_t errlen);

extern const struct vg__migration vg__migrations[];
extern const size_t vg__n_migrations;

/* The statement for dialect d with its tokens replaced: a fresh string (free()), or NULL when
 * the step has no statement for d. */
char *vg__mig_expand(const struct vg__mig_stmt *st, enum vg__dialect d);

/* Bring the database behind c to the latest version in one transaction, with data for the data
 * steps. no_migrate: only check. Errors: VG_STORE_ESCHEMA (newer than this build, or older and
 * no_migrate), backend errors. */
int vg__store_migrate(const struct vg_store_ops *ops, struct vg__conn *c, bool no_migrate,
                      vg__mig_data_fn data, char *err, size_t errlen);

/* The ClickHouse schema's version: its own numbering (store_ch_schema.c); 1 the first. */
#define VG__CH_SCHEMA       3
#define VG__CH_SCHEMA_FIRST 1
/* The version a new ClickHouse store is made at (VG__CH_SCHEMA; tests set VG__CH_SCHEMA_FIRST to
 * make a store as older builds did, then upgrade it). */
extern int vg__store_ch_schema_max;

/* The ClickHouse schema (store_ch_schema.c): created at once at the current version, or
 * checked. Errors: VG_STORE_ESCHEMA (newer, or older than any ClickHouse schema), backend
 * errors, with a message in err. */
int vg__store_ch_migrate(const struct vg_store_ops *ops, struct vg__conn *c, bool no_migrate,
                         char *err, size_t errlen);
/* The data steps of the migrations (store_upgrade.c): version 3 recomputes every idem_key as
 * the content key and builds targets_v3 from the measurements. */
int vg__store_upgrade_data(const struct vg_store_ops *ops, struct vg__conn *c, int version,
                           char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------- */
/* The store object (store.c) */

#define VG__MEAS_COLS        21 /* columns of a measurement row (vg__wsql[VG__W_MEAS]) */
#define VG__TARGET_COLS      9  /* parameters of a latest-state row (vg__wsql[VG__W_TARGET]) */
#define VG__SCOPES_MAX       3  /* latest states a measurement updates: all, trusted, its own */
#define VG__QUERY_MAX_PARAMS 32 /* parameters of a dynamic query (struct vg__query) */
#define VG__N_WSQL           8  /* ingest statements (store_derive.c) */
#define VG__N_CHUNKS         4  /* row counts each is prepared for (store_derive.c) */
/* ClickHouse: keys per read of many keys (latest states, idem_keys): each read is a FINAL pass
 * over its table, so as few as fit in the max_query_size store_ch.c sets (4096 URLs of
 * VG_URL_MAX, escaped, are under 64 MiB) */
#define VG__CH_ROWS 4096

/* The ingest statements (store_derive.c vg__wsql), by what they write. */
enum {
    VG__W_MEAS,
    VG__W_AGG_HOUR,
    VG__W_AGG_NET,
    VG__W_AGG_DOMAIN,
    VG__W_AGG_CC_DOMAIN,
    VG__W_AGG_TARGET,
    VG__W_TARGET,
    VG__W_PREV, /* not a write: the latest states (scope all) of keys, for the alert events */
    VG__N_W
};

struct vg__job;
struct vg__raw;     /* store_raw.c */
struct vg__raw_enc; /* store_raw.h */

/* Test hook: what the writer has done (vg__store_get_stats). */
struct vg__store_stats {
    uint64_t txns;       /* write transactions committed */
    uint64_t jobs;       /* write calls served */
    uint64_t rows;       /* measurement rows written (new or duplicate) */
    uint64_t max_group;  /* most calls grouped into one transaction */
    uint64_t reconnects; /* connections replaced after VG_STORE_EUNAVAIL */
};

/* Owned by vg_store_open / vg_store_close (store.c); each member says which part uses it. */
struct vg_store {
    const struct vg_store_ops *ops;
    char *target; /* spec without its scheme prefix (owned) */
    struct vg_store_opts o;

    /* the read pool (store_read.c) */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct vg__conn **idle; /* o.readers slots (owned, and the connections in them) */
    size_t n_idle;
    unsigned n_open;

    /* the writer (store_writer.c) */
    pthread_mutex_t mu; /* the job queue, job completion, stats and last_error */
    pthread_cond_t work;
    struct vg__job *head, *tail; /* borrowed from the callers waiting in vg__store_submit */
    bool stop;
    pthread_t writer;
    struct vg__conn *wconn; /* the writer thread's alone (before it starts: vg_store_open's) */
    /* ClickHouse (store_ch_txn.c): an INSERT of measurement rows was sent and its outcome is
     * unknown (no answer: ClickHouse finishes an INSERT its client stopped waiting for), so rows
     * found stored under their own uid are that attempt's, new, not duplicates. Writer only. */
    bool ch_unsure;
    /* ClickHouse: the low 16 bits of the alert event ids this store object writes (random at
     * open, never 0): two writers on one database that read the same max(id) at once still hand
     * out different ids (store_events.c), so ReplacingMergeTree(id) does not fold their events
     * into one but with a chance of 1 in 65,535 per such race. */
    uint16_t ch_event_tag;
    struct vg__store_stats stats;
    char last_error[256]; /* vg_store_last_error() */

    pthread_mutex_t z_mu;
    struct vg__raw *raw; /* the raw column's codec state, made on first use under z_mu (owned) */

    char *wsql[VG__N_WSQL][VG__N_CHUNKS]; /* ingest statements per chunk size (owned) */

    void (*on_commit)(void *arg); /* vg_store_on_commit, under mu */
    void *on_commit_arg;
};

/* Remember the database's words for a failure (vg_store_last_error). */
void vg__store_note_error(struct vg_store *s, const char *msg);
/* Count a connection replaced after VG_STORE_EUNAVAIL. */
void vg__store_count_reconnect(struct vg_store *s);
/* The current time in UTC microseconds. */
int64_t vg__store_now_us(void);
/* True when v names a verdict (vg_verdict_parse). */
bool vg__store_verdict_ok(const char *v);

/* The scopes of the latest states (targets.scope) besides one provenance. */
#define VG__SCOPE_ALL     "*" /* every measurement */
#define VG__SCOPE_TRUSTED "+" /* every measurement uploaded with a credential */

/* A measurement's time for the latest states and alerts: measurement_start_time (UTC seconds)
 * capped at its arrival (UTC microseconds), so that no client clock reaches past the collector's.
 * The integrity check computes the same in SQL (store_check.c). */
static inline int64_t
vg__store_teff(int64_t start, int64_t received_us)
{
    int64_t arrival = received_us / 1000000;

    return start < arrival ? start : arrival;
}

/* SQL values. Text values borrow s. */
static inline struct vg__val
vg__store_text(const char *s)
{
    return (struct vg__val){.t = VG__TEXT, .p = s, .len = strlen(s)};
}

static inline struct vg__val
vg__store_text_or_null(const char *s)
{
    return s[0] != '\0' ? vg__store_text(s) : (struct vg__val){.t = VG__NULL};
}

static inline struct vg__val
vg__store_int(int64_t i)
{
    return (struct vg__val){.t = VG__INT, .i = i};
}

/* ---------------------------------------------------------------------------------------- */
/* Rows (store_row.c) */

/* True when s[cap] holds a NUL. */
bool vg__store_terminated(const char *s, size_t cap);
/* What vg_store_insert requires of a row: 0 or VG_EINVAL. */
VG_MUST_USE int vg__store_row_valid(const struct vg_store_meas *m);
/* A report_id the store accepts: 1..VG_REPORT_ID_MAX-1 printable ASCII, no space. */
bool vg__store_report_id_ok(const char *id);
/* The content key of the measurement text[len] (valid JSON, an object, as stored): "h:" + 64
 * hex digits of the SHA-512 of the text without its top-level report_id member, which the
 * collector sets (so that one measurement submitted to a report and uploaded in bulk is one).
 * Found by a scan of the text, not a parse: the stored text is what is hashed. */
void vg__store_content_key(const char *text, size_t len, char out[VG_STORE_IDEM_MAX]);

/* ---------------------------------------------------------------------------------------- */
/* Writes (store_writer.c, store_txn.c, store_derive.c) */

enum vg__job_kind {
    VG__JOB_INSERT,
    VG__JOB_REPORT_OPEN,
    VG__JOB_REPORT_CLOSE,
    VG__JOB_REANALYZE, /* one batch of a reanalysis: always a transaction of its own */
    VG__JOB_CURSOR,    /* an alert consumer's cursor (store_events.c) */
};

/* A row changed by a reanalysis batch: what the derived tables need of it (store_reanalyze.c:
 * RETURNING of the UPDATE; store_ch_reanalyze.c: the row read before its new one is written). */
struct vg__ra_row {
    bool updated;
    struct vg_store_meas was, is; /* the derived tables' fields, with the old / new verdict */
    int64_t received_us;
};

/* One batch of a reanalysis (vg_store_reanalyze_apply); everything borrowed. */
struct vg__reanalyze_job {
    struct vg_store_pass *p;
    const struct vg_store_reverdict *v;
    size_t n;
    int64_t last_time;
    const char *last_uid;
    bool done;
    struct vg__ra_row *rows; /* one per v[i] */
    struct vg_store_reanalyze_stats st;
};

/* One write call waiting for the writer; lives on the caller's stack, everything borrowed. */
struct vg__job {
    enum vg__job_kind kind;
    /* insert */
    const struct vg_store_meas *rows;
    size_t n;
    uint8_t **z; /* stored form of each row's raw (borrowed from enc) */
    size_t *zlen;
    struct vg__raw_enc *enc;  /* each row's stored form, blobs and dictionary (store_raw.h) */
    char (*uids)[VG_UID_MAX]; /* results: one per row */
    int64_t received_us;
    /* reanalysis */
    struct vg__reanalyze_job *ra;
    /* reports */
    const struct vg_store_report *rep;
    const char *report_id;
    int64_t now;
    bool ch_opened; /* ClickHouse: this report's open was sent (store_ch_txn.c), so a run of the
                       group again finds its own row */
    /* alert cursor: consumer's last_id */
    const char *consumer;
    int64_t last_id;
    /* completion */
    int rc;
    bool done;
    pthread_cond_t cv;
    struct vg__job *next;
};

/* Per-job results of one transaction, applied to the jobs only once it committed. */
struct vg__jobres {
    int rc;
};

/* One measurement row inside a write group (pointers into its job). */
struct vg__wrow {
    const struct vg_store_meas *m;
    const uint8_t *z;
    size_t zlen;
    int64_t received_us;
    char *uid_out; /* VG_UID_MAX bytes in the job's result array */
    bool is_new;
    bool found;
};

/* Queue job for the writer and wait until it is done: its outcome (store_writer.c). */
int vg__store_submit(struct vg_store *s, struct vg__job *job);
/* The transaction of a VG__JOB_REANALYZE job (store_reanalyze.c): 0 once committed. */
VG_MUST_USE int vg__store_reanalyze_txn(struct vg_store *s, struct vg__job *job);
/* Its ClickHouse form (store_ch_reanalyze.c): the batch's writes, each harmless when repeated. */
VG_MUST_USE int vg__store_ch_reanalyze_txn(struct vg_store *s, struct vg__reanalyze_job *j);
/* Add delta[i] (+1 or -1) to the counts of m[i] in every count table, merged per key and
 * written in key order; rows that fall to 0 are deleted (store_derive.c). */
VG_MUST_USE int vg__store_count_deltas(struct vg_store *s, const struct vg_store_meas *const *m,
                                       const int *delta, size_t n);

/* The writer thread (arg: the store). */
void *vg__store_writer_main(void *arg);
/* One write transaction for the group of jobs (a list): 0 once committed, res[] then holds each
 * job's outcome and the uids are written; on error nothing is committed (store_txn.c). */
VG_MUST_USE int vg__store_txn(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res);
/* The 21 parameters (VG__MEAS_COLS) of w's measurements row, in vg__wsql[VG__W_MEAS]'s order
 * (store_txn.c); they borrow w. Always 0. */
int vg__store_wrow_params(const struct vg__wrow *w, struct vg__val *p);
/* The rows of the insert jobs of a group, in job order (fresh array, free it; *n_out of them), and
 * every job's result set to 0 (store_txn.c; both write paths). */
struct vg__wrow *vg__store_wrows(struct vg__job *jobs, struct vg__jobres *res, size_t *n_out);
/* After a write that succeeded: each insert job's result is the number of its new rows, and new
 * rows get their own uid (store_txn.c; both write paths). */
void vg__store_count_new(struct vg__job *jobs, struct vg__jobres *res, struct vg__wrow *w,
                         size_t n);
/* qsort order of struct vg__wrow by idem_key (store_txn.c): rows written in key order. */
int vg__store_cmp_idem(const void *a, const void *b);
/* vg__store_txn on ClickHouse (store_ch_txn.c): no transaction; the same outcome per job. */
VG_MUST_USE int vg__store_ch_txn(struct vg_store *s, struct vg__job *jobs, struct vg__jobres *res);
/* The latest states of the new rows of w[n] on ClickHouse (store_ch_targets.c): read, merged in
 * C, written as rows with a higher ver. 0 or a backend error. */
VG_MUST_USE int vg__store_ch_targets(struct vg_store *s, const struct vg__wrow *w, size_t n);
/* Mark is_new the rows of w[n] (read back from measurements) that a latest state does not
 * reflect: applying the row to its stored state would change it, a row at the time of the
 * state's latest excepted (store_ch_targets.c). */
VG_MUST_USE int vg__store_ch_targets_stale(struct vg_store *s, struct vg__wrow *w, size_t n);
/* Crash recovery when a ClickHouse store opens, before the writer takes uploads
 * (store_ch_recover.c): waits (bounded) for INSERTs into measurements still running, then derives
 * again the latest states and alert events of the newest rows that the states do not reflect.
 * Best effort: a failure (a shard down) is a warning on stderr, and the store opens all the same
 * (`vigie serve check` then reports what is left). */
void vg__store_ch_recover(struct vg_store *s);
/* Wait until no INSERT into measurements runs on the ClickHouse server (system.processes), at
 * most 30 s, then go on with a warning on stderr (store_ch_recover.c). 0 or a backend error. */
VG_MUST_USE int vg__store_ch_wait_inserts(struct vg_store *s);
/* Append k copies of tuple (SQL with placeholders $1..$width), joined by commas, copy r's
 * placeholders moved on by first + r * width: ("($1, $2)", 2, 2, 1) gives "($2, $3),($4, $5)".
 * 0, or VG_ETOOBIG when out is full (store_derive.c). */
struct vg_buf;
VG_MUST_USE int vg__store_sql_tuples(struct vg_buf *out, const char *tuple, size_t width, size_t k,
                                     size_t first);
/* Build / free s->wsql (store_derive.c). */
void vg__store_wsql_init(struct vg_store *s);
void vg__store_wsql_free(struct vg_store *s);
/* Run ingest statement `which` over n rows of params (n * width values, row-major), largest
 * chunks first. cb gets each RETURNING row. */
VG_MUST_USE int vg__store_write_rows(struct vg_store *s, int which, size_t n,
                                     const struct vg__val *p, vg__row_cb cb, void *arg);
/* Count tables and latest states of the rows of w[n] that are new. */
VG_MUST_USE int vg__store_derived(struct vg_store *s, struct vg__wrow *w, size_t n);

/* One alert event to write (store_events.c); everything borrowed. */
struct vg__event_row {
    const char *input, *probe_cc;
    uint32_t probe_asn;
    const char *old_verdict; /* NULL: a first measurement */
    const char *new_verdict;
    const char *cause; /* NULL or "": none */
    const char *uid;   /* the measurement with new_verdict */
    int64_t time;      /* its time, if it is not stored (its measurement_start_time is used) */
    bool late;         /* it was older than its key's latest when it came */
};
#define VG__EV_SOURCE_INGEST    "ingest"
#define VG__EV_SOURCE_REANALYZE "reanalyze"

/* Write events e[n] (alert_events, in this order) in the writer's transaction. */
VG_MUST_USE int vg__store_events_put(struct vg_store *s, const struct vg__event_row *e, size_t n,
                                     const char *source);
/* The alert events of the new rows of w[n] (docs/storage.md), into *out (always set, for
 * vg__store_events_free; it borrows w's rows): called before the latest states are updated, as
 * their previous verdicts are read from them. vg__store_events_write writes them after (the
 * table lock it takes on PostgreSQL comes last in every transaction). */
struct vg__evbatch;
VG_MUST_USE int vg__store_events_derive(struct vg_store *s, const struct vg__wrow *w, size_t n,
                                        struct vg__evbatch **out);
VG_MUST_USE int vg__store_events_write(struct vg_store *s, const struct vg__evbatch *b);
void vg__store_events_free(struct vg__evbatch *b);
/* The cursor job of the transaction (store_txn.c): 0 or a backend error. */
VG_MUST_USE int vg__store_cursor_put(struct vg_store *s, const struct vg__job *job);

/* The count tables kept at ingest (docs/storage.md): which dimensions each keeps, its period. */
enum {
    VG__DIM_DOMAIN = 1,
    VG__DIM_CC = 2,
    VG__DIM_ASN = 4,
    VG__DIM_INPUT = 8, /* per target: only measurements with an input count */
};

struct vg__rollup {
    int wsql; /* upsert: (time, [input], [domain], [probe_cc], [probe_asn], x_verdict, provenance,
                 n) */
    int64_t period;
    unsigned dims;
    const char *table; /* daily tables, smallest first, for vg_store_aggregate */
};
extern const struct vg__rollup vg__store_rollups[];
extern const size_t vg__store_n_rollups;

/* ---------------------------------------------------------------------------------------- */
/* Reads (store_read.c) */

typedef int (*vg__read_fn)(struct vg_store *s, struct vg__conn *c, void *arg);

/* Run fn on a pooled connection. A connection that turns out dead (the server restarted, the
 * network dropped it while idle) is replaced and fn runs once more on a fresh one. */
VG_MUST_USE int vg__store_read(struct vg_store *s, vg__read_fn fn, void *arg);
/* A text value (or "") into out[cap], cut to fit. */
void vg__store_copy_text(const struct vg__val *v, char *out, size_t cap);

/* A query built from fixed pieces and filters; its parameters borrow the filter's strings. */
struct vg__query {
    char sql[2048];
    size_t len;
    struct vg__val p[VG__QUERY_MAX_PARAMS];
    size_t np;
    char domain[256]; /* derived from an input filter */
};
/* Append text (a fixed piece: aborts if the buffer is outgrown, a bug). */
void vg__store_q_add(struct vg__query *q, const char *text);
/* Append pre, a placeholder for the new parameter v, then post. */
void vg__store_q_param(struct vg__query *q, const char *pre, struct vg__val v, const char *post);
/* 0, or VG_EINVAL for a filter out of bounds. f may be NULL. */
VG_MUST_USE int vg__store_filter_valid(const struct vg_store_filter *f);
/* WHERE conditions for filter f on a table whose time column is tcol; with_prov: the table has
 * a provenance column (not targets, whose scope stands for it). */
void vg__store_q_filters(struct vg__query *q, const struct vg_store_filter *f, const char *tcol,
                         int64_t since, bool with_input, bool with_prov);
/* Add f->window's summary ("window") to each of rows, a page of vg_store_targets results in its
 * order (store_window.c). 0 (also without f->window) or a store error. */
VG_MUST_USE int vg__store_targets_window(struct vg_store *s, const struct vg_store_filter *f,
                                         json_t *rows);
/* Opaque cursors: a JSON array as base64url (fresh string), and back (n elements, or NULL). */
char *vg__store_cursor_encode(json_t *arr);
json_t *vg__store_cursor_decode(const char *c, size_t n);
/* Result values as JSON: text or null, "AS<n>", "2026-11-29T11:13:46Z". */
json_t *vg__store_jtext(const struct vg__val *v);
json_t *vg__store_jasn(int64_t asn);
json_t *vg__store_jtime(int64_t t);
/* A stored measurement (its raw_len and raw columns) decoded (store_raw.h) and parsed: *out (NULL
 * when it does not parse) for json_decref. 0, or VG_EINTERNAL for a corrupt row, or
 * VG_STORE_EUNAVAIL (store_certs.c). */
VG_MUST_USE int vg__store_row_json(struct vg_store *s, const struct vg__val *len,
                                   const struct vg__val *raw, json_t **out);

/* ---------------------------------------------------------------------------------------- */
/* Test hooks */

void vg__store_get_stats(struct vg_store *s, struct vg__store_stats *out);

/* Host of a URL (lower case, no port, brackets kept off IPv6 literals) into out; "" when input
 * is not scheme://host... . Exposed for tests. */
void vg__store_url_domain(const char *input, char *out, size_t outlen);

#endif
