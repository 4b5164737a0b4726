/* SPDX-License-Identifier: MIT */
/*
 * store.h - the collector's measurement store: SQLite (embedded default) or PostgreSQL (several
 * collectors, one database), behind one backend-neutral interface. docs/storage.md describes the
 * schema, the migrations, batching and durability.
 *
 * Threads: every function below may be called from any number of threads at once on the same
 * struct vg_store, except vg_store_close (call it once, after every other call has returned).
 * Writes (inserts, report open/close) go to ONE writer thread per store, which groups the rows of
 * concurrent callers into one transaction; a call returns only after its rows are COMMITTED (or
 * have failed). Reads run on a small pool of connections, in parallel with the writer.
 *
 * Results are jansson objects owned by the caller (json_decref). Strings passed in are borrowed
 * for the duration of the call. On failure, out-parameters are set to NULL.
 *
 * Backends implement struct vg_store_ops (server/store_impl.h, private); callers never see them.
 *
 * Errors: functions return 0 (or a count) on success, a negative code on failure: the VG_E*
 * codes of lib/util/err.h (VG_EINVAL bad argument or cursor, VG_EPROTO / VG_ETOOBIG bad
 * measurement, VG_EINTERNAL a bug or an unexpected SQL error) and the VG_STORE_E* codes below.
 * vg_store_strerror() names both kinds.
 */
#ifndef VG_SERVER_STORE_H
#define VG_SERVER_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meas/record_read.h"
#include "util/err.h"
#include "vigie/vigie.h"

/* Store errors: names for entries of the one error table (lib/util/err.h). */
#define VG_STORE_EUNAVAIL  VG_EDB_UNAVAIL /* unreachable, locked, full or failing I/O: HTTP 503 */
#define VG_STORE_ENOTFOUND VG_ENOTFOUND   /* no such report or measurement: HTTP 404 */
#define VG_STORE_EEXIST    VG_EEXIST      /* report_id already opened: HTTP 409 */
#define VG_STORE_ESCHEMA   VG_ESCHEMA     /* the database's schema is newer than this build knows */
#define VG_STORE_ECORRUPT  VG_ECORRUPT    /* vg_store_integrity_check found a problem */

/* Human message for a VG_STORE_E* or any other vigie error code. Never NULL; static storage. */
const char *vg_store_strerror(int err);

struct vg_store;
struct vg_json; /* proto/json.h */
/*
 * The database's own words for the latest failure of a write or of a connection attempt (e.g.
 * "database or disk is full"), copied into buf; "" when there was none. Thread-safe.
 */
void vg_store_last_error(struct vg_store *s, char *buf, size_t cap);

/* Bounds of the extracted columns (bytes, without the final NUL). Longer values are refused.
 * The measurement's fields are read by the record module (meas/record_read.h), whose bounds
 * these are. */
#define VG_STORE_MEAS_MAX     (16 * 1024 * 1024)         /* raw measurement JSON accepted */
#define VG_UID_MAX            128                        /* measurement_uid buffer, NUL included */
#define VG_REPORT_ID_MAX      (VG_REC_REPORT_ID_MAX + 1) /* report_id buffer (128), NUL included */
#define VG_STORE_INPUT_MAX    VG_REC_INPUT_MAX           /* input (a URL): VG_URL_MAX */
#define VG_STORE_NAME_MAX     VG_REC_NAME_MAX     /* 64: test_name, software_*, x_cause, blocking */
#define VG_STORE_IDEM_MAX     (VG_REC_ID_MAX + 3) /* idempotency key buffer (136), NUL included */
#define VG_STORE_PAGE_MAX     1000          /* rows per vg_store_list / vg_store_targets page */
#define VG_STORE_WINDOW_MAX   (366 * 86400) /* longest vg_store_filter.window (seconds) */
#define VG_STORE_PROV_MAX     64   /* a provenance: a credential name, [A-Za-z0-9_.-]{1,64} */
#define VG_STORE_ANALYZER_MAX 64   /* x_analyzer: "probe" or an analyser's version */
#define VG_STORE_EVIDENCE_MAX 1023 /* x_evidence kept in the row (vg_analysis.evidence) */

/*
 * Who decided a stored verdict (x_analyzer, docs/storage.md "Verdicts"):
 * - VG_STORE_ANALYZER_PROBE: vigie's probe, in the measurement itself (software_name "vigie"
 *   with test_keys.x_verdict): the collector keeps it, and reanalyze never touches it;
 * - an analyser's version (VG_ANALYZER_VERSION when it is this build's): the collector ran
 *   vg_analyze on a measurement without a vigie verdict; reanalyze recomputes it;
 * - VG_STORE_ANALYZER_LEGACY: stored before schema 4, when the verdict was what OONI's
 *   blocking/accessible implied: reanalyze recomputes it;
 * - "" (NULL in the database): no analysis, verdict unknown (a test vigie has no rules for).
 */
#define VG_STORE_ANALYZER_PROBE  "probe"
#define VG_STORE_ANALYZER_LEGACY "ooni-label"

/* The provenance of what was uploaded without a credential (docs/api.md, "Credentials"). */
#define VG_STORE_ANONYMOUS "anonymous"

/* True when name can be a provenance: 1 to VG_STORE_PROV_MAX characters among A-Z a-z 0-9 _ . -
 * (a credential name, or VG_STORE_ANONYMOUS). */
bool vg_store_provenance_ok(const char *name);

/* The verdict buckets (enum vg_verdict, docs/verdicts.md) in the order of the aggregation
 * results and of the API's CSV columns: accessible first, as the API has always answered (the
 * enum's own order is by severity). */
#define VG_STORE_N_VERDICTS VG_VERDICT_COUNT
extern const enum vg_verdict vg_store_verdict_order[VG_STORE_N_VERDICTS];

struct vg_store;

/* ---------------------------------------------------------------------------------------- */
/* Opening */

struct vg_store_opts {
    unsigned readers;    /* read connections in the pool; 0: 4 */
    unsigned batch_max;  /* rows in one write transaction at most; 0: 2000 */
    bool sqlite_normal;  /* SQLite synchronous=NORMAL instead of FULL: a commit survives a
                            crash of the process, not of the machine. Default false (FULL). */
    bool no_migrate;     /* refuse (VG_STORE_ESCHEMA) instead of migrating an older schema */
    bool ch_recover;     /* ClickHouse: crash recovery at open (store_ch_recover.c): for the one
                            writer that takes uploads (`vigie serve`), before it does */
    unsigned timeout_ms; /* wait for a lock (SQLite busy timeout, PostgreSQL lock_timeout) or a
                            connection (connect_timeout) before VG_STORE_EUNAVAIL; 0: 5000 */
};

/*
 * Open (creating and migrating it if needed) the store named by spec:
 *   "postgresql://..." or "postgres://..."  PostgreSQL, a libpq URL
 *   "pg:<conninfo>"                         PostgreSQL, a libpq conninfo ("host=/tmp dbname=x")
 *   "sqlite:<path>" or any other string     SQLite database file, created on first use (WAL)
 * opts may be NULL (defaults). On failure *out is NULL and err (may be NULL) says why; errors:
 * VG_STORE_EUNAVAIL (cannot connect / open), VG_STORE_ESCHEMA, VG_EINVAL.
 */
VG_MUST_USE int vg_store_open(const char *spec, const struct vg_store_opts *opts,
                              struct vg_store **out, char *err, size_t errlen);

/* Stop the writer (pending writes are finished first), close every connection, free s.
 * NULL is a no-op. */
void vg_store_close(struct vg_store *s);

/* "sqlite", "postgresql" or "clickhouse". */
const char *vg_store_backend(const struct vg_store *s);

/* The SQLite file spec names ("sqlite:PATH", or any spec no other backend claims: a pointer into
 * spec), or NULL when spec names a database server. */
const char *vg_store_spec_file(const char *spec);

/* spec as messages may show it: a URL's password replaced by "***" (buf of cap bytes). */
void vg_store_spec_show(const char *spec, char *buf, size_t cap);

/* ---------------------------------------------------------------------------------------- */
/* Measurements */

/*
 * One measurement as stored: the columns queries need, extracted from the JSON, plus the raw
 * JSON (stored zlib-compressed, returned as text by vg_store_get_raw). Fill it with
 * vg_store_meas_from_json; callers may then overwrite report_id (from the submission URL) and
 * provenance (from the upload's credential).
 */
struct vg_store_meas {
    char measurement_uid[VG_UID_MAX]; /* <utc %Y%m%d%H%M%S.%f>_<cc>_<test_name>_<16 hex> */
    char idem_key[VG_STORE_IDEM_MAX]; /* the content key: "h:" + 64 hex of the SHA-512 of the
                                         measurement without its report_id (never the client's
                                         "id" alone: OONI df-000 says not to trust it) */
    char report_id[VG_REPORT_ID_MAX];
    char provenance[VG_STORE_PROV_MAX + 1]; /* who uploaded it: a credential's name, or
                                               VG_STORE_ANONYMOUS (what the extraction sets) */
    int64_t start_time; /* measurement_start_time, UTC seconds since the epoch */
    bool has_input;
    char input[VG_STORE_INPUT_MAX + 1];
    char domain[256]; /* host of the input URL, lower case; "" when none */
    char probe_cc[3];
    uint32_t probe_asn; /* "AS1234" -> 1234 */
    char test_name[VG_STORE_NAME_MAX + 1];
    char software_name[VG_STORE_NAME_MAX + 1];
    char software_version[VG_STORE_NAME_MAX + 1];
    char x_verdict[16];                         /* vg_verdict_name() of a verdict */
    char x_cause[VG_STORE_NAME_MAX + 1];        /* "" when null */
    char x_analyzer[VG_STORE_ANALYZER_MAX + 1]; /* who decided x_verdict (above); "" NULL */
    char x_evidence[VG_STORE_EVIDENCE_MAX + 1]; /* the analyser's sentence; "" NULL (vigie's
                                                   own is in the measurement) */
    char blocking[VG_STORE_NAME_MAX + 1];       /* "" when null, "false", or OONI's string */
    int accessible;                             /* -1 null, 0 false, 1 true */
    const char *raw;                            /* borrowed: the JSON text */
    size_t raw_len;
};

/*
 * Extract a row from one measurement (untrusted JSON text, len bytes). Pure: no store needed.
 * received_us is the collector's receive time (UTC microseconds) used in measurement_uid as OONI
 * does; 0 means now. row->raw points into json, which must outlive every use of row.
 * Required: an object with test_name, probe_cc ("ZZ"), probe_asn ("AS0"), measurement_start_time
 * ("YYYY-MM-DD hh:mm:ss"). A measurement of vigie's probe (software_name "vigie" with
 * test_keys.x_verdict) keeps its verdict and cause (x_analyzer VG_STORE_ANALYZER_PROBE; an
 * unknown x_verdict string maps to unknown); any other gets verdict unknown, no cause and
 * x_analyzer "": vg_store_meas_set_analysis then gives it vigie's analysis (the collector's
 * ingest does). OONI's blocking/accessible are kept as OONI's, never as the verdict.
 * Errors (err says which field): VG_ETOOBIG (over VG_STORE_MEAS_MAX or a field over its bound),
 * VG_EPROTO (not JSON, not an object, a field missing or of the wrong type or form).
 */
VG_MUST_USE int vg_store_meas_from_json(const char *json, size_t len, int64_t received_us,
                                        struct vg_store_meas *row, char *err, size_t errlen);

/*
 * The same from the fast reader's tree (proto/json.h) m of the measurement, parsed strictly (no
 * repeated name, no NUL), and json[len], its text as stored (the collector's normal form, whose
 * parse has the same fields as m but for report_id): report_id, when not NULL, is the row's in
 * place of m's own. The fields are read from m (vg_rec_summary_read_tree), the raw text and its
 * hashes from json. m is borrowed.
 */
VG_MUST_USE int vg_store_meas_from_tree(const struct vg_json *m, const char *report_id,
                                        const char *json, size_t len, int64_t received_us,
                                        struct vg_store_meas *row, char *err, size_t errlen);

/* True when row has no verdict of vigie's probe and must be analysed (x_analyzer ""). */
bool vg_store_meas_needs_analysis(const struct vg_store_meas *row);

/*
 * Give row vigie's analysis of its measurement (include/vigie/vigie.h vg_analyze): its verdict,
 * cause, evidence and VG_ANALYZER_VERSION; a (!a->analysed) analysis leaves verdict unknown and
 * no analyser. The measurement text itself is not changed.
 */
void vg_store_meas_set_analysis(struct vg_store_meas *row, const struct vg_analysis *a);

/*
 * Store n rows (n <= 10000), blocking until they are committed. For each row, uids_out[i] gets
 * the measurement_uid now stored for it: its own, or, when a measurement with the same idem_key
 * (the same content) already exists (a re-upload), the existing one (nothing is stored twice and
 * the aggregates are not counted twice; a different measurement with the same client "id" is
 * stored). uids_out may be NULL. Returns the number of rows newly stored (0..n), or an
 * error: VG_STORE_EUNAVAIL (nothing of this call was stored; safe to retry thanks to idem_key),
 * VG_EINVAL, VG_EINTERNAL. Either every row of the call is stored or none is.
 * The aggregate (per hour, domain, network, verdict) and latest-state tables are updated in the
 * same transaction.
 */
VG_MUST_USE int vg_store_insert(struct vg_store *s, const struct vg_store_meas *rows, size_t n,
                                char (*uids_out)[VG_UID_MAX]);

/*
 * The raw measurement uid as JSON text (decompressed, exactly the bytes that were stored):
 * *out is a NUL-terminated string the caller frees with free(), *len its length (len may be
 * NULL). Errors: VG_STORE_ENOTFOUND, VG_STORE_EUNAVAIL, VG_EINTERNAL (corrupt blob).
 */
VG_MUST_USE int vg_store_get_raw(struct vg_store *s, const char *uid, char **out, size_t *len);

/*
 * The row of measurement uid as vg_store_list answers it (its columns, not the measurement),
 * with who decided its verdict (x_analyzer) and the analyser's evidence (x_evidence): *out for
 * json_decref. Errors: VG_STORE_ENOTFOUND, VG_STORE_EUNAVAIL, VG_EINVAL.
 */
VG_MUST_USE int vg_store_get_row(struct vg_store *s, const char *uid, json_t **out);

/* ---------------------------------------------------------------------------------------- */
/* Reanalysis (`vigie serve reanalyze`; docs/storage.md, "Reanalysis") */

/* Which stored verdicts a pass recomputes. */
struct vg_store_reanalyze_sel {
    const char *analyzer; /* the analyser of this build (VG_ANALYZER_VERSION) */
    bool all;      /* every verdict not of vigie's probe (those never analysed included); else those
                      an analyser other than analyzer decided (earlier versions, legacy labels) */
    int64_t since; /* measurement_start_time >= since (UTC seconds); 0: from the start */
};

/* Where a pass stands: kept in the database (reanalyze_progress), committed with each batch, so
 * that a pass stopped at any point (kill -9 included) goes on from there when run again. */
struct vg_store_pass {
    char key[256];     /* the pass: its selection */
    int64_t last_time; /* the last row done, by (measurement_start_time, measurement_uid) */
    char last_uid[VG_UID_MAX];
    uint64_t examined; /* rows examined and changed by the pass so far (all runs) */
    uint64_t changed;
    bool resumed; /* an earlier run had started it */
};

/* One stored measurement a pass reads: its verdict as stored and its text. */
struct vg_store_stale {
    char measurement_uid[VG_UID_MAX];
    int64_t start_time;
    char x_verdict[16];
    char x_cause[VG_STORE_NAME_MAX + 1];
    char x_analyzer[VG_STORE_ANALYZER_MAX + 1]; /* "" NULL */
    char x_evidence[VG_STORE_EVIDENCE_MAX + 1]; /* "" NULL */
    char *raw; /* the measurement as stored (owned, NUL-terminated) */
    size_t raw_len;
};

/* A row's new analysis (x_verdict, x_cause, x_evidence, x_analyzer as vg_store_meas_set_analysis
 * fills them in a struct vg_store_meas). */
struct vg_store_reverdict {
    const struct vg_store_stale *old;
    const struct vg_store_meas *now;
};

/* What one batch did. */
struct vg_store_reanalyze_stats {
    size_t changed; /* rows rewritten: their verdict, cause, evidence or analyser changed */
    /* verdict changes, old -> new (enum vg_verdict indexes) */
    size_t moved[VG_VERDICT_COUNT][VG_VERDICT_COUNT];
    size_t targets; /* latest states recomputed */
};

/* Start (or resume) the pass of sel: *p from the database, or a new position (restart: forget
 * an earlier run's). Errors: VG_EINVAL, VG_STORE_EUNAVAIL. */
VG_MUST_USE int vg_store_reanalyze_begin(struct vg_store *s,
                                         const struct vg_store_reanalyze_sel *sel, bool restart,
                                         struct vg_store_pass *p);
/* The next (at most limit, 1..10000) rows of the pass after p's position, in (time, uid) order:
 * *rows (n of them) for vg_store_stale_free. */
VG_MUST_USE int vg_store_reanalyze_read(struct vg_store *s,
                                        const struct vg_store_reanalyze_sel *sel,
                                        const struct vg_store_pass *p, unsigned limit,
                                        struct vg_store_stale **rows, size_t *n);
void vg_store_stale_free(struct vg_store_stale *rows, size_t n);
/*
 * One transaction: every row of v whose stored verdict is still v[i].old's (another pass may
 * have been first) gets v[i].now's; the count tables move the changed verdicts and the latest
 * states of their targets are recomputed from their measurements; p's position becomes
 * last_time/last_uid (the last row read) and is saved, or the pass is forgotten when done.
 * st (may be NULL) gets what changed. Errors: VG_STORE_EUNAVAIL (nothing of it committed),
 * VG_EINVAL, VG_EINTERNAL.
 */
VG_MUST_USE int vg_store_reanalyze_apply(struct vg_store *s, struct vg_store_pass *p,
                                         const struct vg_store_reverdict *v, size_t n,
                                         int64_t last_time, const char *last_uid, bool done,
                                         struct vg_store_reanalyze_stats *st);

/* ---------------------------------------------------------------------------------------- */
/* Reports (OONI collector: open, submit to, close) */

struct vg_store_report {
    char report_id[VG_REPORT_ID_MAX];       /* the public id, generated by the caller (opaque); the
                                               submit id is a secret the store never sees (ingest.h) */
    char provenance[VG_STORE_PROV_MAX + 1]; /* who opened it (a credential's name or
                                               VG_STORE_ANONYMOUS; "" is taken as anonymous) */
    char probe_cc[3];
    uint32_t probe_asn;
    char software_name[VG_STORE_NAME_MAX + 1];
    char software_version[VG_STORE_NAME_MAX + 1];
    char test_name[VG_STORE_NAME_MAX + 1];
    int64_t created; /* UTC seconds; 0: now */
    bool closed;     /* output of vg_store_report_get */
    bool legacy;     /* output: opened before schema version 3, when report ids were published
                        and used to submit: its public id is also its submit id */
};

/* Record a new report. VG_STORE_EEXIST if report_id exists; VG_EINVAL for an empty id. */
VG_MUST_USE int vg_store_report_open(struct vg_store *s, const struct vg_store_report *r);
/* Look a report up; out (may be NULL) gets its metadata. 0 or VG_STORE_ENOTFOUND. */
VG_MUST_USE int vg_store_report_get(struct vg_store *s, const char *report_id,
                                    struct vg_store_report *out);
/* Mark a report closed (closing twice is fine). 0 or VG_STORE_ENOTFOUND. The store does not
 * refuse measurements for closed reports: that policy is the caller's (see report_get). */
VG_MUST_USE int vg_store_report_close(struct vg_store *s, const char *report_id);

/* ---------------------------------------------------------------------------------------- */
/* Queries */

/* Filters shared by the queries; zeroed (or NULL strings) means "any". */
struct vg_store_filter {
    const char *input;    /* exact input */
    const char *domain;   /* exact domain (lower case) */
    const char *probe_cc; /* "IT" */
    bool has_probe_asn;
    uint32_t probe_asn;
    const char *x_verdict;  /* a verdict's name (vg_verdict_parse), else VG_EINVAL */
    int64_t since;          /* UTC seconds, inclusive; 0: no bound */
    int64_t until;          /* UTC seconds, exclusive; 0: no bound */
    const char *provenance; /* exact provenance (a credential name or VG_STORE_ANONYMOUS) */
    bool trusted;           /* only what was uploaded with a credential (not VG_STORE_ANONYMOUS);
                               with provenance VG_STORE_ANONYMOUS: VG_EINVAL */
    int64_t window;         /* vg_store_targets: seconds of each row's "window" summary ending
                               now (1 to VG_STORE_WINDOW_MAX); 0: no summary */
};

/*
 * Measurements matching f, newest first (measurement_start_time, then measurement_uid,
 * descending), at most limit (1..VG_STORE_PAGE_MAX; 0: 100). cursor is NULL for the first page,
 * else the "next_cursor" of the previous page (opaque; a keyset position, so paging is stable
 * while rows are inserted: no row is repeated or skipped, rows inserted behind the position show
 * up on later pages). *out:
 *   {"results": [{measurement_uid, report_id, measurement_start_time ("2026-11-29T11:13:46Z"),
 * input (or null), domain, probe_cc, probe_asn ("AS0"), test_name, software_name,
 * software_version, x_verdict, x_cause (or null), blocking (null, false or string), accessible
 * (null or bool), provenance, x_analyzer (or null), x_evidence (or null)}, ...], "next_cursor":
 * string, or null on the last page}
 * (docs/api.md) Errors:
 * VG_EINVAL (bad filter, limit or cursor), VG_STORE_EUNAVAIL.
 */
VG_MUST_USE int vg_store_list(struct vg_store *s, const struct vg_store_filter *f,
                              const char *cursor, unsigned limit, json_t **out);

/* Aggregation axes (OONI's names, plus the hour and the verdict). */
enum vg_store_axis {
    VG_AXIS_NONE = 0,
    VG_AXIS_DAY,    /* "measurement_day": "2026-11-29" */
    VG_AXIS_HOUR,   /* "measurement_hour": "2026-11-29T11:00:00Z" */
    VG_AXIS_DOMAIN, /* "domain" */
    VG_AXIS_ASN,    /* "probe_asn": "AS0" */
    VG_AXIS_CC,     /* "probe_cc" */
    VG_AXIS_VERDICT /* the verdict (VG_REC_KEY_X_VERDICT) */
};
/* Parse an axis name (NULL or "" -> VG_AXIS_NONE). 0 or VG_EINVAL. */
VG_MUST_USE int vg_store_axis_parse(const char *name, enum vg_store_axis *out);
/* The axis name, as used in results ("" for VG_AXIS_NONE). */
const char *vg_store_axis_name(enum vg_store_axis a);

/*
 * Counts per verdict bucket, grouped by up to two axes, read from the count tables kept at
 * ingest (never the measurements): a daily table when the query needs no hour and since/until
 * are midnights UTC (fastest: pass whole days), else the hourly one. Time resolution is the
 * hour: the bucket of hour H (its start, UTC seconds) is counted when H >= since rounded down to
 * the hour and H < until. f->input is not supported (VG_EINVAL). *out:
 *   {"dimension_count": 0|1|2, "result": [{AXIS_X: v, AXIS_Y: v, "accessible": n, "blocked": n,
 *     "intercepted": n, "down": n, "unknown": n, "total": n}, ...]}
 * sorted by the axes; with no axis, "result" is one object (the totals, zeros when empty).
 * f->provenance and f->trusted select by who uploaded (the count tables keep the provenance).
 * Errors: VG_EINVAL, VG_ETOOBIG (more than 100000 groups: narrow the filter), VG_STORE_EUNAVAIL.
 */
VG_MUST_USE int vg_store_aggregate(struct vg_store *s, const struct vg_store_filter *f,
                                   enum vg_store_axis x, enum vg_store_axis y, json_t **out);

/*
 * Targets: for every input (per network probe_cc + probe_asn) its latest verdict and since when
 * that verdict holds (the start time of the current run of identical verdicts), from the
 * latest-state table maintained at ingest. Filters: input, domain, probe_cc, probe_asn,
 * x_verdict (the latest one); since/until select on the latest measurement's time; provenance
 * and trusted select the latest state computed from those measurements alone (one state per
 * scope: all, trusted, each provenance). A measurement's time here is its
 * measurement_start_time capped at its arrival: a client's clock is never trusted beyond the
 * collector's. Sorted by (input, probe_cc, probe_asn), paged like vg_store_list. *out:
 *   {"results": [{input, domain, probe_cc, probe_asn, x_verdict, x_cause, since (time),
 *     last_seen (time), measurement_uid (the latest)}, ...],
 *    "next_cursor": string or null}
 * A measurement that arrives late (older than the latest one) can only make "since" later than
 * the truth, never earlier (docs/storage.md).
 * With f->window, each row also has "window": the verdicts of that target x network in the last
 * f->window seconds (the same scope), counted from the measurements (store_window.c):
 *   {"seconds", "since" (time), "total", "verdicts": {VERDICT: {"n", "share", "ci_low",
 *    "ci_high"}, ... every verdict}, "interference": {same, blocked + intercepted},
 *    "first_interference", "last_interference" (time or null), "intermittent" (bool: both
 *    interference and accessible)}
 * Shares and the Wilson 95% interval bounds are fractions (util/stats.h).
 */
VG_MUST_USE int vg_store_targets(struct vg_store *s, const struct vg_store_filter *f,
                                 const char *cursor, unsigned limit, json_t **out);

/* ---------------------------------------------------------------------------------------- */
/* Alert events (docs/storage.md, "Alert events") */

/*
 * The alert events after id since_id (exclusive), in id order (the order they were committed),
 * at most limit (1..VG_STORE_PAGE_MAX; 0: 100). Filters: f->input, f->probe_cc, f->probe_asn
 * only (any other: VG_EINVAL); f may be NULL. *out:
 *   {"results": [{id, created (time of the commit), input, domain, probe_cc, probe_asn,
 *     old_verdict (null: a first measurement), new_verdict, cause, measurement_uid,
 *     measurement_time, source ("ingest" | "reanalyze"), late (bool), provenance, x_analyzer,
 *     x_evidence (of the measurement)}, ...], "next_since_id": the last id of a full page, or null}
 * Errors: VG_EINVAL, VG_STORE_EUNAVAIL.
 */
VG_MUST_USE int vg_store_alert_events(struct vg_store *s, const struct vg_store_filter *f,
                                      int64_t since_id, unsigned limit, json_t **out);

/* Where consumer (a name as vg_store_provenance_ok takes) stands: the last event id it has
 * handled. A consumer never seen starts at the newest event (saved): the past is not announced.
 * Errors: VG_EINVAL, VG_STORE_EUNAVAIL. */
VG_MUST_USE int vg_store_alert_cursor(struct vg_store *s, const char *consumer, int64_t *last_id);
/* Save consumer's position (a write transaction of its own). Errors as vg_store_insert's. */
VG_MUST_USE int vg_store_alert_cursor_set(struct vg_store *s, const char *consumer,
                                          int64_t last_id);

/* Call fn(arg) on the writer thread after each write transaction it commits (fn must be quick
 * and must not call the store); NULL removes it. Set it before writes that matter start. */
void vg_store_on_commit(struct vg_store *s, void (*fn)(void *arg), void *arg);

#define VG_STORE_CERTS_DEF 500  /* measurements vg_store_certificates reads by default */
#define VG_STORE_CERTS_MAX 1000 /* and at most */

/*
 * Certificates seen (store_certs.c): every distinct certificate chain that the newest `limit`
 * measurements matching f (1..VG_STORE_CERTS_MAX; 0: VG_STORE_CERTS_DEF) carry, the probe's
 * (per TLS handshake) and the control's (per address), read from the stored measurements through
 * the record module (meas/record_certs.h). f->input is required (VG_EINVAL without it); the
 * network (probe_cc, probe_asn), since/until, provenance and trusted filter as in vg_store_list.
 * A chain is its certificates' SHA-256s in order; per source. *out:
 *   {"input", "measurements" (read), "truncated" (more matched than were read),
 *    "probe": [CHAIN...], "control": [CHAIN...]}, each list invalid chains first, then newest
 *   last_seen first, with
 *   CHAIN {"leaf_sha256", "leaf_spki_sha256", "subject", "issuer", "not_before", "not_after"
 *    (null when the source gives none), "self_signed", "valid" (every sighting validated),
 *    "reasons" (distinct, when not), "addresses", "first_seen", "last_seen", "count" (handshakes),
 *    "measurements" (distinct measurements), "last_measurement_uid", "chain": [CERT...]}
 * Errors: VG_EINVAL, VG_STORE_EUNAVAIL.
 */
VG_MUST_USE int vg_store_certificates(struct vg_store *s, const struct vg_store_filter *f,
                                      unsigned limit, json_t **out);

/* One stored measurement as vg_store_incident_each hands it over (borrowed for the call). */
struct vg_store_incident_row {
    const char *uid;
    int64_t start_time;      /* UTC seconds */
    bool has_verdict;        /* a verdict is stored (x_verdict not NULL) */
    enum vg_verdict verdict; /* the stored verdict (ingest's analysis for OONI's) */
    const char *cause;       /* "" none */
};
/* m (the parsed measurement, borrowed) and its row, each handed over once (a read retried on a
 * fresh connection skips what it handed over). A negative return stops the walk with it. */
typedef int (*vg_store_incident_fn)(void *arg, json_t *m, const struct vg_store_incident_row *r);

/*
 * The incident report's read (server/incident.h): every measurement matching f (f->input
 * required; network, since/until, provenance, trusted as in vg_store_list), oldest first (time,
 * then uid), at most limit (0: no bound), decompressed and parsed, handed to fn one at a time.
 * Read in pages, so that memory stays that of one page. *truncated (may be NULL): more matched.
 * Errors: VG_EINVAL, VG_STORE_EUNAVAIL, VG_EINTERNAL, or fn's.
 */
VG_MUST_USE int vg_store_incident_each(struct vg_store *s, const struct vg_store_filter *f,
                                       unsigned limit, vg_store_incident_fn fn, void *arg,
                                       bool *truncated);

/*
 * Check the store (for tests and operators; scans every table): SQLite's PRAGMA
 * integrity_check, then, on both backends, that the aggregate and latest-state tables agree with
 * the measurements. 0, VG_STORE_ECORRUPT (err says what), or VG_STORE_EUNAVAIL.
 */
VG_MUST_USE int vg_store_integrity_check(struct vg_store *s, char *err, size_t errlen);

/* Format UTC seconds as "2026-11-29T11:13:46Z" into buf (at least 21 bytes). */
void vg_store_format_time(int64_t t, char *buf, size_t len);

#endif
