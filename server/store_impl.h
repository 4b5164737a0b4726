/* SPDX-License-Identifier: MIT */
/*
 * store_impl.h - private to the store: the backend ops (struct vg_store_ops), the migrations and
 * the hooks unit tests use. Nothing outside server/store*.c and tests/unit/test_store.c includes
 * it.
 *
 * Split of work: store.c holds everything that does not depend on the database (row extraction,
 * the writer thread and its batching, the connection pool, SQL text, result JSON); a backend only
 * connects, runs parameterised SQL and maps its errors onto the codes below. All SQL is written
 * once, with PostgreSQL's $1..$n placeholders; the SQLite backend binds them as ?NNN (same
 * numbers). Schema differences live in migrations.c.
 */
#ifndef VG_SERVER_STORE_IMPL_H
#define VG_SERVER_STORE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Besides VG_STORE_EUNAVAIL and VG_EINTERNAL a backend returns VG_ECONSTRAINT (a row broke a
 * constraint: isolate it, fail its caller) and VG_ERETRY (deadlock / serialization failure: run the
 * transaction again); neither reaches the store's callers. */

enum vg__dialect {
    VG__SQLITE = 0,
    VG__PG = 1,
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
};

extern const struct vg__migration vg__migrations[];
extern const size_t vg__n_migrations;

/* The statement for dialect d with its tokens replaced: a fresh string (free()), or NULL when
 * the step has no statement for d. */
char *vg__mig_expand(const struct vg__mig_stmt *st, enum vg__dialect d);

/* Bring the database behind c to the latest version in one transaction. no_migrate: only check.
 * Errors: VG_STORE_ESCHEMA (newer than this build, or older and no_migrate), backend errors. */
int vg__store_migrate(const struct vg_store_ops *ops, struct vg__conn *c, bool no_migrate,
                      char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------- */
/* Test hooks */

struct vg__store_stats {
    uint64_t txns;       /* write transactions committed */
    uint64_t jobs;       /* write calls served */
    uint64_t rows;       /* measurement rows written (new or duplicate) */
    uint64_t max_group;  /* most calls grouped into one transaction */
    uint64_t reconnects; /* connections replaced after VG_STORE_EUNAVAIL */
};
void vg__store_get_stats(struct vg_store *s, struct vg__store_stats *out);

/* Host of a URL (lower case, no port, brackets kept off IPv6 literals) into out; "" when input
 * is not scheme://host... . Exposed for tests. */
void vg__store_url_domain(const char *input, char *out, size_t outlen);

#endif
