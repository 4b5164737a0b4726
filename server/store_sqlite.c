/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite.c - the SQLite backend of the store: one database file in WAL mode, one writing
 * connection (the store's writer thread) and read-only connections for queries, which WAL lets
 * run while the writer commits.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "util/mem.h"

#define VG__SQLITE_CACHE 48 /* prepared statements kept per connection */
#define VG__SQLITE_COLS  32 /* result columns read per row */

struct vg__conn {
    sqlite3 *db;
    struct {
        const char *key; /* the SQL text's address (static strings only) */
        sqlite3_stmt *st;
    } cache[VG__SQLITE_CACHE];
    size_t n_cache;
    char msg[256];
};

/* SQLite result code -> store error. Everything that says "the database cannot be used right
 * now" (locked past the busy timeout, I/O, disk full, unopenable, damaged) is EUNAVAIL. */
static int
vg__sqlite_err(struct vg__conn *c, int rc)
{
    snprintf(c->msg, sizeof(c->msg), "%s", c->db != NULL ? sqlite3_errmsg(c->db) : "no database");
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
        return VG_STORE_EUNAVAIL;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
        return VG_ECONSTRAINT;
    default:
        return VG_EINTERNAL;
    }
}

static void
vg__sqlite_disconnect(struct vg__conn *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n_cache; i++) {
        sqlite3_finalize(c->cache[i].st);
    }
    /* close_v2: a statement we forgot cannot keep the handle alive forever. */
    sqlite3_close_v2(c->db);
    free(c);
}

static int
vg__sqlite_exec(struct vg__conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : vg__sqlite_err(c, rc);
}

static int
vg__sqlite_connect(const char *target, const struct vg_store_opts *o, bool writer,
                   struct vg__conn **out, char *err, size_t errlen)
{
    struct vg__conn *c = vg_xcalloc(1, sizeof(*c));
    int flags = SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    char pragmas[256];
    int rc;

    *out = NULL;
    rc = sqlite3_open_v2(target, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: %s: %s", target,
                 c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        vg__sqlite_disconnect(c);
        return VG_STORE_EUNAVAIL;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, (int)o->timeout_ms);
    if (writer) {
        /* WAL: readers never block the writer nor the writer them. FULL syncs the WAL at each
         * commit, so a commit that returned survives a power cut; NORMAL only a crash. */
        snprintf(pragmas, sizeof(pragmas),
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -65536;"
                 " PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF; PRAGMA "
                 "wal_autocheckpoint = 16384;"
                 " PRAGMA journal_size_limit = 67108864;",
                 o->sqlite_normal ? "NORMAL" : "FULL");
    } else {
        snprintf(pragmas, sizeof(pragmas), "PRAGMA cache_size = -16384; PRAGMA query_only = 1;");
    }
    rc = vg__sqlite_exec(c, pragmas);
    if (rc < 0) {
        snprintf(err, errlen, "sqlite: %s: %s", target, c->msg);
        vg__sqlite_disconnect(c);
        return VG_STORE_EUNAVAIL;
    }
    *out = c;
    return 0;
}

/* True when the $N of sql number its parameters in order, 1, 2, 3, ... each once. */
static bool
vg__sqlite_in_order(const char *sql)
{
    long next = 1;

    for (const char *p = strchr(sql, '$'); p != NULL; p = strchr(p, '$')) {
        char *end;
        long k = strtol(p + 1, &end, 10);

        if (k != next++) {
            return false;
        }
        p = end;
    }
    return true;
}

/* The store writes $N placeholders (PostgreSQL's); SQLite's ?N binds the same numbers. The
 * store's SQL has no '$' anywhere else. When the numbers come in order (the multi-row INSERTs),
 * a bare '?' binds the same, and costs less: SQLite looks every ?N up in a list of the
 * statement's parameters while compiling it, which made a 500-row INSERT (10,500 parameters)
 * quadratic, 14% of an import's instructions. */
static int
vg__sqlite_prepare(struct vg__conn *c, const char *sql, sqlite3_stmt **st)
{
    char *text = vg_xstrdup(sql), *w = text;
    bool bare = vg__sqlite_in_order(sql);
    int rc;

    for (const char *p = sql; *p != '\0'; p++) {
        if (*p != '$') {
            *w++ = *p;
            continue;
        }
        *w++ = '?';
        while (bare && p[1] >= '0' && p[1] <= '9') {
            p++;
        }
    }
    *w = '\0';
    rc = sqlite3_prepare_v2(c->db, text, -1, st, NULL);
    VG_FREE(text);
    return rc == SQLITE_OK ? 0 : vg__sqlite_err(c, rc);
}

static int
vg__sqlite_bind(struct vg__conn *c, sqlite3_stmt *st, const struct vg__val *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k = (int)i + 1, rc;

        switch (v[i].t) {
        case VG__NULL:
            rc = sqlite3_bind_null(st, k);
            break;
        case VG__INT:
            rc = sqlite3_bind_int64(st, k, v[i].i);
            break;
        case VG__TEXT:
            rc = sqlite3_bind_text64(st, k, v[i].p, v[i].len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        case VG__BLOB:
            rc = v[i].len == 0 ? sqlite3_bind_zeroblob(st, k, 0)
                               : sqlite3_bind_blob64(st, k, v[i].p, v[i].len, SQLITE_STATIC);
            break;
        default:
            return VG_EINTERNAL;
        }
        if (rc != SQLITE_OK) {
            return vg__sqlite_err(c, rc);
        }
    }
    return 0;
}

static void
vg__sqlite_row(sqlite3_stmt *st, struct vg__val *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k = (int)i;

        switch (sqlite3_column_type(st, k)) {
        case SQLITE_INTEGER:
        case SQLITE_FLOAT:
            cols[i] = (struct vg__val){.t = VG__INT, .i = sqlite3_column_int64(st, k)};
            break;
        case SQLITE_TEXT:
            cols[i] = (struct vg__val){.t = VG__TEXT,
                                       .p = (const char *)sqlite3_column_text(st, k),
                                       .len = (size_t)sqlite3_column_bytes(st, k)};
            break;
        case SQLITE_BLOB:
            cols[i] = (struct vg__val){.t = VG__BLOB,
                                       .p = sqlite3_column_blob(st, k),
                                       .len = (size_t)sqlite3_column_bytes(st, k)};
            break;
        default:
            cols[i] = (struct vg__val){.t = VG__NULL};
            break;
        }
    }
}

static int
vg__sqlite_run(struct vg__conn *c, const char *sql, unsigned flags, size_t nsets, size_t nparams,
               const struct vg__val *params, vg__row_cb cb, void *arg)
{
    sqlite3_stmt *st = NULL;
    bool cached = false;
    struct vg__val cols[VG__SQLITE_COLS];
    int rc = 0;

    if (flags & VG__RUN_CACHE) {
        for (size_t i = 0; i < c->n_cache; i++) {
            if (c->cache[i].key == sql) {
                st = c->cache[i].st;
                cached = true;
                break;
            }
        }
    }
    if (st == NULL) {
        VG_TRY(vg__sqlite_prepare(c, sql, &st));
        if ((flags & VG__RUN_CACHE) && c->n_cache < VG__SQLITE_CACHE) {
            c->cache[c->n_cache].key = sql;
            c->cache[c->n_cache].st = st;
            c->n_cache++;
            cached = true;
        }
    }
    for (size_t set = 0; set < nsets && rc == 0; set++) {
        int src = SQLITE_DONE;

        if (nparams > 0) {
            rc = vg__sqlite_bind(c, st, params + set * nparams, nparams);
        }
        while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
            size_t n = (size_t)sqlite3_column_count(st);

            if (n > VG__SQLITE_COLS) {
                rc = VG_EINTERNAL;
                break;
            }
            if (cb != NULL) {
                vg__sqlite_row(st, cols, n);
                rc = cb(arg, set, cols, n);
            }
        }
        if (rc == 0 && src != SQLITE_DONE) {
            rc = vg__sqlite_err(c, src);
        }
        /* Reset at once: a statement left mid-way keeps its read snapshot (and WAL) pinned. */
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (!cached) {
        sqlite3_finalize(st);
    }
    return rc;
}

static int
vg__sqlite_check_row(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    char *msg = arg;

    (void)set;
    if (ncols >= 1 && cols[0].t == VG__TEXT && msg[0] == '\0') {
        snprintf(msg, 256, "%.*s", (int)(cols[0].len > 200 ? 200 : cols[0].len), cols[0].p);
    }
    return 0;
}

static int
vg__sqlite_check(struct vg__conn *c, char *err, size_t errlen)
{
    char first[256] = "";
    int rc =
        vg__sqlite_run(c, "PRAGMA integrity_check", 0, 1, 0, NULL, vg__sqlite_check_row, first);

    if (rc < 0) {
        snprintf(err, errlen, "integrity_check: %s", c->msg);
        return rc;
    }
    if (strcmp(first, "ok") != 0) {
        snprintf(err, errlen, "PRAGMA integrity_check: %s", first);
        return VG_STORE_ECORRUPT;
    }
    return 0;
}

static const char *
vg__sqlite_errmsg(struct vg__conn *c)
{
    return c->msg;
}

const struct vg_store_ops vg__store_sqlite_ops = {
    .name = "sqlite",
    .dialect = VG__SQLITE,
    /* IMMEDIATE takes the write lock at BEGIN: no deadlock-prone upgrade from a read lock. */
    .begin_sql = "BEGIN IMMEDIATE",
    .lock_sql = NULL,
    /* DEFERRED: the first read fixes the WAL snapshot until COMMIT. */
    .snapshot_sql = "BEGIN",
    .connect = vg__sqlite_connect,
    .disconnect = vg__sqlite_disconnect,
    .exec = vg__sqlite_exec,
    .run = vg__sqlite_run,
    .check = vg__sqlite_check,
    .errmsg = vg__sqlite_errmsg,
};
