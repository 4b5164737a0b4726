/* SPDX-License-Identifier: MIT */
/*
 * store_pg.c - the PostgreSQL backend of the store (libpq), for deployments where several
 * collectors write to one database. Statements the store runs often are prepared once per
 * connection; a statement run for many parameter sets goes out in libpq's pipeline mode, one
 * round trip per VG__PG_CHUNK sets instead of one per set.
 *
 * Parameters travel in text form except bytea (binary: the compressed measurement as is);
 * results come back in text form and are typed here from the column's type OID.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "store_impl.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__PG_CACHE      48    /* prepared statements kept per connection */
#define VG__PG_COLS       32    /* result columns read per row */
#define VG__PG_CHUNK      256   /* parameter sets per pipeline sync: results stay small in flight */
#define VG__PG_MAX_PARAMS 65535 /* the protocol's limit per statement (16-bit count) */

/* Type OIDs (src/include/catalog/pg_type.dat); stable across PostgreSQL versions. */
#define VG__OID_BYTEA   17
#define VG__OID_INT8    20
#define VG__OID_INT2    21
#define VG__OID_INT4    23
#define VG__OID_NUMERIC 1700

struct vg__conn {
    PGconn *pg;
    struct {
        const char *key; /* the SQL text's address (static strings only) */
        char name[16];
    } cache[VG__PG_CACHE];
    size_t n_cache;
    char msg[256];
};

static void
vg__pg_msg(struct vg__conn *c, const char *m)
{
    size_t n;

    snprintf(c->msg, sizeof(c->msg), "%s", m != NULL && m[0] != '\0' ? m : "unknown error");
    n = strlen(c->msg);
    while (n > 0 && (c->msg[n - 1] == '\n' || c->msg[n - 1] == ' ')) {
        c->msg[--n] = '\0';
    }
}

/* A failed result (or none) -> store error, by SQLSTATE (PostgreSQL appendix A). */
static int
vg__pg_err(struct vg__conn *c, const PGresult *r)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    vg__pg_msg(c, r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
    if (PQstatus(c->pg) != CONNECTION_OK || state == NULL) {
        return VG_STORE_EUNAVAIL;
    }
    if (strncmp(state, "08", 2) == 0 ||  /* connection exception */
        strncmp(state, "53", 2) == 0 ||  /* insufficient resources (disk full, ...) */
        strncmp(state, "57P", 3) == 0 || /* shutdown, crash, cannot connect now */
        strcmp(state, "55P03") == 0 ||   /* lock_not_available (lock_timeout) */
        strcmp(state, "57014") == 0 ||   /* query_canceled (statement_timeout) */
        strncmp(state, "58", 2) == 0) {  /* system error (I/O) */
        return VG_STORE_EUNAVAIL;
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        return VG_ERETRY;
    }
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0 ||
        strcmp(state, "54000") == 0) {
        return VG_ECONSTRAINT; /* integrity, data exception, program limit: one row */
    }
    return VG_EINTERNAL;
}

static void
vg__pg_disconnect(struct vg__conn *c)
{
    if (c == NULL) {
        return;
    }
    PQfinish(c->pg);
    free(c);
}

static int
vg__pg_exec(struct vg__conn *c, const char *sql)
{
    PGresult *r;
    int rc = 0;

    if (PQstatus(c->pg) != CONNECTION_OK) {
        vg__pg_msg(c, "connection lost");
        return VG_STORE_EUNAVAIL;
    }
    r = PQexec(c->pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = vg__pg_err(c, r);
    } else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        /* COMMIT of a transaction that had failed "succeeds" with the tag ROLLBACK: nothing
         * was committed, so no caller may be told it was. Only a missed error gets here. */
        vg__pg_msg(c, "COMMIT answered ROLLBACK: the transaction had failed");
        rc = VG_EINTERNAL;
    }
    PQclear(r);
    return rc;
}

static int
vg__pg_connect(const char *target, const struct vg_store_opts *o, bool writer,
               struct vg__conn **out, char *err, size_t errlen)
{
    /* dbname with expand_dbname=1 takes a URL or a conninfo string; the keywords after it fill
     * in what the target leaves unset. */
    char timeout[16], set[96];
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {target, timeout, "vigie", NULL};
    struct vg__conn *c = vg_xcalloc(1, sizeof(*c));
    int rc;

    (void)writer;
    *out = NULL;
    snprintf(timeout, sizeof(timeout), "%u", (o->timeout_ms + 999) / 1000);
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        vg__pg_msg(c, c->pg != NULL ? PQerrorMessage(c->pg) : "out of memory");
        snprintf(err, errlen, "postgresql: %s", c->msg);
        vg__pg_disconnect(c);
        return VG_STORE_EUNAVAIL;
    }
    /* Waiting on another collector's row locks longer than timeout_ms means trouble. */
    snprintf(set, sizeof(set), "SET lock_timeout = %u; SET client_min_messages = warning",
             o->timeout_ms);
    rc = vg__pg_exec(c, set);
    if (rc < 0) {
        snprintf(err, errlen, "postgresql: %s", c->msg);
        vg__pg_disconnect(c);
        return VG_STORE_EUNAVAIL;
    }
    *out = c;
    return 0;
}

/* Text form of the parameters of one set; ints are written into scratch (24 bytes each). */
static void
vg__pg_params(const struct vg__val *v, size_t n, char *scratch, const char **values, int *lengths,
              int *formats, char **owned)
{
    for (size_t i = 0; i < n; i++) {
        lengths[i] = 0;
        formats[i] = 0;
        switch (v[i].t) {
        case VG__INT:
            snprintf(scratch + 24 * i, 24, "%lld", (long long)v[i].i);
            values[i] = scratch + 24 * i;
            break;
        case VG__TEXT:
            /* text format wants a NUL-terminated string */
            if (v[i].p[v[i].len] == '\0') {
                values[i] = v[i].p;
            } else {
                owned[i] = vg_xstrndup(v[i].p, v[i].len);
                values[i] = owned[i];
            }
            break;
        case VG__BLOB:
            values[i] = v[i].len > 0 ? v[i].p : "";
            lengths[i] = (int)v[i].len;
            formats[i] = 1;
            break;
        default:
            values[i] = NULL;
            break;
        }
    }
}

static int
vg__pg_parse_int(const char *s, size_t len, int64_t *out)
{
    bool neg = len > 0 && s[0] == '-';
    uint64_t u;

    VG_TRY(vg_parse_u64n(s + neg, len - neg, 0, (uint64_t)INT64_MAX, &u));
    *out = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

/* Deliver the rows of r to cb. */
static int
vg__pg_rows(struct vg__conn *c, PGresult *r, size_t set, vg__row_cb cb, void *arg)
{
    int nrows = PQntuples(r), ncols = PQnfields(r);
    struct vg__val cols[VG__PG_COLS];
    int rc = 0;

    if (cb == NULL || nrows == 0) {
        return 0;
    }
    if (ncols > VG__PG_COLS) {
        vg__pg_msg(c, "too many result columns");
        return VG_EINTERNAL;
    }
    for (int i = 0; i < nrows && rc == 0; i++) {
        unsigned char *un[VG__PG_COLS] = {NULL};

        for (int k = 0; k < ncols; k++) {
            const char *v = PQgetvalue(r, i, k);
            size_t len = (size_t)PQgetlength(r, i, k);

            if (PQgetisnull(r, i, k)) {
                cols[k] = (struct vg__val){.t = VG__NULL};
                continue;
            }
            switch (PQftype(r, k)) {
            case VG__OID_INT2:
            case VG__OID_INT4:
            case VG__OID_INT8:
            case VG__OID_NUMERIC:
                cols[k] = (struct vg__val){.t = VG__INT};
                if (vg__pg_parse_int(v, len, &cols[k].i) < 0) {
                    vg__pg_msg(c, "unexpected non-integer value");
                    rc = VG_EINTERNAL;
                }
                break;
            case VG__OID_BYTEA: {
                size_t blen = 0;

                un[k] = PQunescapeBytea((const unsigned char *)v, &blen);
                if (un[k] == NULL) {
                    vg__pg_msg(c, "bad bytea value");
                    rc = VG_EINTERNAL;
                    break;
                }
                cols[k] = (struct vg__val){.t = VG__BLOB, .p = (const char *)un[k], .len = blen};
                break;
            }
            default:
                cols[k] = (struct vg__val){.t = VG__TEXT, .p = v, .len = len};
                break;
            }
        }
        if (rc == 0) {
            rc = cb(arg, set, cols, (size_t)ncols);
        }
        for (int k = 0; k < ncols; k++) {
            PQfreemem(un[k]);
        }
    }
    return rc;
}

static int
vg__pg_prepare(struct vg__conn *c, const char *sql, const char **name)
{
    PGresult *r;
    size_t slot;
    int rc = 0;

    for (size_t i = 0; i < c->n_cache; i++) {
        if (c->cache[i].key == sql) {
            *name = c->cache[i].name;
            return 0;
        }
    }
    *name = NULL;
    if (c->n_cache == VG__PG_CACHE) {
        return 0; /* full: run it unprepared */
    }
    slot = c->n_cache;
    snprintf(c->cache[slot].name, sizeof(c->cache[slot].name), "vg%zu", slot);
    r = PQprepare(c->pg, c->cache[slot].name, sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = vg__pg_err(c, r);
    } else {
        c->cache[slot].key = sql;
        c->n_cache++;
        *name = c->cache[slot].name;
    }
    PQclear(r);
    return rc;
}

static int
vg__pg_send(struct vg__conn *c, const char *name, const char *sql, size_t nparams,
            const struct vg__val *p)
{
    const char **values;
    int *lengths, *formats, ok;
    char **owned, *scratch;

    if (nparams > VG__PG_MAX_PARAMS) {
        vg__pg_msg(c, "too many parameters");
        return VG_EINTERNAL;
    }
    /* One allocation per statement; a batch statement carries thousands of parameters. */
    values = vg_xcalloc(nparams + 1, sizeof(*values));
    lengths = vg_xcalloc(nparams + 1, sizeof(*lengths));
    formats = vg_xcalloc(nparams + 1, sizeof(*formats));
    owned = vg_xcalloc(nparams + 1, sizeof(*owned));
    scratch = vg_xmalloc(24 * nparams + 1);
    vg__pg_params(p, nparams, scratch, values, lengths, formats, owned);
    if (name != NULL) {
        ok = PQsendQueryPrepared(c->pg, name, (int)nparams, values, lengths, formats, 0);
    } else {
        ok = PQsendQueryParams(c->pg, sql, (int)nparams, NULL, values, lengths, formats, 0);
    }
    for (size_t i = 0; i < nparams; i++) {
        VG_FREE(owned[i]);
    }
    VG_FREE(values);
    VG_FREE(lengths);
    VG_FREE(formats);
    VG_FREE(owned);
    VG_FREE(scratch);
    if (!ok) {
        vg__pg_msg(c, PQerrorMessage(c->pg));
        return VG_STORE_EUNAVAIL;
    }
    return 0;
}

/* Read the result of one query of a pipeline (or of a lone query): one PGresult, then NULL. */
static int
vg__pg_collect(struct vg__conn *c, size_t set, vg__row_cb cb, void *arg, int first_err)
{
    PGresult *r;
    int rc = first_err;

    while ((r = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(r);

        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            if (rc == 0) {
                rc = vg__pg_rows(c, r, set, cb, arg);
            }
        } else if (st == PGRES_PIPELINE_ABORTED) {
            if (rc == 0) {
                rc = VG_EINTERNAL; /* an earlier query failed; its error was kept */
            }
        } else if (rc == 0) {
            rc = vg__pg_err(c, r);
        }
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) {
            break;
        }
    }
    if (rc == 0 && PQstatus(c->pg) != CONNECTION_OK) {
        vg__pg_msg(c, PQerrorMessage(c->pg));
        rc = VG_STORE_EUNAVAIL;
    }
    return rc;
}

/* Many parameter sets: pipeline mode, VG__PG_CHUNK sets per sync. */
static int
vg__pg_pipeline(struct vg__conn *c, const char *name, const char *sql, size_t nsets, size_t nparams,
                const struct vg__val *params, vg__row_cb cb, void *arg)
{
    int rc = 0;

    if (!PQenterPipelineMode(c->pg)) {
        vg__pg_msg(c, PQerrorMessage(c->pg));
        return VG_STORE_EUNAVAIL;
    }
    for (size_t base = 0; base < nsets && rc == 0; base += VG__PG_CHUNK) {
        size_t n = nsets - base < VG__PG_CHUNK ? nsets - base : VG__PG_CHUNK, sent = 0;
        PGresult *r;

        for (; sent < n; sent++) {
            rc = vg__pg_send(c, name, sql, nparams,
                             nparams > 0 ? params + (base + sent) * nparams : NULL);
            if (rc < 0) {
                break;
            }
        }
        if (!PQpipelineSync(c->pg)) {
            vg__pg_msg(c, PQerrorMessage(c->pg));
            rc = VG_STORE_EUNAVAIL;
            break;
        }
        for (size_t i = 0; i < sent; i++) {
            int e = vg__pg_collect(c, base + i, cb, arg, 0);

            if (rc == 0 || (rc == VG_EINTERNAL && e != VG_EINTERNAL)) {
                rc = e; /* keep the first real error, not the "aborted" that follow it */
            }
            if (PQstatus(c->pg) != CONNECTION_OK) {
                break;
            }
        }
        /* The sync's own result. */
        while (PQstatus(c->pg) == CONNECTION_OK && (r = PQgetResult(c->pg)) != NULL) {
            ExecStatusType st = PQresultStatus(r);

            PQclear(r);
            if (st == PGRES_PIPELINE_SYNC) {
                break;
            }
        }
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        vg__pg_msg(c, PQerrorMessage(c->pg));
        return VG_STORE_EUNAVAIL;
    }
    if (!PQexitPipelineMode(c->pg) && rc == 0) {
        vg__pg_msg(c, PQerrorMessage(c->pg));
        rc = VG_EINTERNAL;
    }
    return rc;
}

static int
vg__pg_run(struct vg__conn *c, const char *sql, unsigned flags, size_t nsets, size_t nparams,
           const struct vg__val *params, vg__row_cb cb, void *arg)
{
    const char *name = NULL;

    if (PQstatus(c->pg) != CONNECTION_OK) {
        vg__pg_msg(c, "connection lost");
        return VG_STORE_EUNAVAIL;
    }
    if (flags & VG__RUN_CACHE) {
        VG_TRY(vg__pg_prepare(c, sql, &name));
    }
    if (nsets > 1) {
        return vg__pg_pipeline(c, name, sql, nsets, nparams, params, cb, arg);
    }
    for (size_t set = 0; set < nsets; set++) {
        VG_TRY(vg__pg_send(c, name, sql, nparams, nparams > 0 ? params + set * nparams : NULL));
        VG_TRY(vg__pg_collect(c, set, cb, arg, 0));
    }
    return 0;
}

static int
vg__pg_check(struct vg__conn *c, char *err, size_t errlen)
{
    int rc = vg__pg_exec(c, "SELECT 1");

    if (rc < 0) {
        snprintf(err, errlen, "postgresql: %s", c->msg);
    }
    return rc;
}

static const char *
vg__pg_errmsg(struct vg__conn *c)
{
    return c->msg;
}

const struct vg_store_ops vg__store_pg_ops = {
    .name = "postgresql",
    .dialect = VG__PG,
    .begin_sql = "BEGIN",
    /* Transaction-scoped advisory lock; the key is "vigi" in ASCII. */
    .lock_sql = "SELECT pg_advisory_xact_lock(1986619241)",
    .snapshot_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    .connect = vg__pg_connect,
    .disconnect = vg__pg_disconnect,
    .exec = vg__pg_exec,
    .run = vg__pg_run,
    .check = vg__pg_check,
    .errmsg = vg__pg_errmsg,
};
