/* SPDX-License-Identifier: MIT */
/*
 * ch_tsv.h - the ClickHouse client's pure parts, private to the store: the bounded reader of a
 * TabSeparatedWithNamesAndTypes answer (ch_tsv.c), the store spec (ch_spec.c), and what store_ch.c
 * exposes for its tests (the SQL with its parameters written in as literals). Nothing here does
 * I/O.
 *
 * The answer is bytes from a network peer: every read goes through lib/util/rd.h and is bounded
 * by lib/util/limits.h (VG_CH_*). Errors are VG_EPROTO / VG_ETRUNC / VG_ETOOBIG with a message.
 */
#ifndef VG_SERVER_CH_TSV_H
#define VG_SERVER_CH_TSV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_impl.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/rd.h"

/* ---------------------------------------------------------------------------------------- */
/* The answer reader (ch_tsv.c) */

/* Column types the reader gives values for; every other type is refused (VG_EPROTO). */
enum vg__ch_type {
    VG__CH_INT,    /* Int8..Int64, UInt8..UInt32: VG__INT */
    VG__CH_UINT64, /* UInt64: VG__INT, a value over INT64_MAX is an error */
    VG__CH_STRING, /* String, FixedString(N): VG__TEXT with the exact (unescaped) bytes */
};

/*
 * Reader of one answer: the line of column names, the line of their types, then one line per
 * row; fields are separated by TAB and escaped (\b \f \r \n \t \0 \' \\), \N alone is NULL (only
 * in a Nullable column). The answer is borrowed; values point into the reader's scratch buffer
 * (owned) and stay valid until the next vg__ch_tsv_next or vg__ch_tsv_free.
 */
struct vg__ch_tsv {
    struct vg_rd rd;
    size_t ncols;
    size_t nrows;
    enum vg__ch_type type[VG_CH_COLS_MAX];
    bool nullable[VG_CH_COLS_MAX];
    char *scratch; /* one row's unescaped fields */
    size_t scratch_cap;
    char msg[160];
};

/* Read the two header lines of p[len]. 0, or an error with t->msg set; free t in both cases. */
VG_MUST_USE int vg__ch_tsv_open(struct vg__ch_tsv *t, const void *p, size_t len);
/* The next row into cols[t->ncols]: 1, 0 at the end of the answer, or an error (t->msg). */
VG_MUST_USE int vg__ch_tsv_next(struct vg__ch_tsv *t, struct vg__val *cols);
void vg__ch_tsv_free(struct vg__ch_tsv *t);

/* ---------------------------------------------------------------------------------------- */
/* The store spec (ch_spec.c) */

#define VG__CH_NAME_MAX 128 /* user, password, database */
#define VG__CH_HOST_MAX 256

/* clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?ca=PATH&timeout_ms=N&answer_max=BYTES&
 * cluster=NAME], clickhouses:// for https. User and password are percent-decoded; the host may be
 * an [IPv6] literal. */
struct vg__ch_spec {
    bool tls;
    char user[VG__CH_NAME_MAX]; /* "" : ClickHouse's "default" user */
    char password[VG__CH_NAME_MAX];
    char host[VG__CH_HOST_MAX]; /* as written (brackets kept on an IPv6 literal) */
    unsigned port;              /* 8123 (http) / 8443 (https) when not given */
    char database[VG__CH_NAME_MAX];
    char ca[PATH_MAX];   /* CA file for https, or "" (the system's) */
    unsigned timeout_ms; /* 0: the store's timeout_ms */
    size_t answer_max;   /* ?answer_max=BYTES (1024..VG_CH_ANSWER_MAX, the default): a longer
                            answer fails the query */
    char cluster[VG__CH_NAME_MAX]; /* ?cluster=NAME ([A-Za-z0-9_.-]): the tables are sharded
                                      over that cluster of the server's remote_servers
                                      (store_ch_schema.c), or "" */
};

/* The spec of connection c (store_ch.c), borrowed for c's life. */
const struct vg__ch_spec *vg__store_ch_spec(const struct vg__conn *c);

/* The schema of spec (store_ch_schema.c). Statement k (0-based) into out (emptied first): each
 * table (sharded: name_local, then its Distributed table name), then the materialized views.
 * 0, 1 past the last one, or VG_ETOOBIG (out's cap). */
VG_MUST_USE int vg__store_ch_schema_stmt(const struct vg__ch_spec *sp, size_t k,
                                         struct vg_buf *out);
/* A migration step written against the plain table names (a statement, or the SELECT telling
 * whether it is done) in the form of spec into out (emptied first). form 0: the statement for
 * the stored tables (sharded: each table name of the schema, as a whole word, also inside
 * quotes, becomes name_local); form 1: for the Distributed tables (sharded, and plain is an
 * ALTER TABLE of one of them: as is). 0, 1 when plain has no such form, or VG_ETOOBIG. */
VG_MUST_USE int vg__store_ch_schema_shard(const struct vg__ch_spec *sp, const char *plain, int form,
                                          struct vg_buf *out);

/* Parse spec (with its scheme) into *out. 0, or VG_EINVAL with a message in err that never holds
 * the password. */
VG_MUST_USE int vg__store_ch_parse_spec(const char *spec, struct vg__ch_spec *out, char *err,
                                        size_t errlen);

/* Append sql to out with $1..$n replaced by the ClickHouse literals of p[0..np-1]: integers in
 * decimal, NULL, strings (and blobs) single-quoted with \\ \' and every byte < 0x20 or 0x7f as
 * \xHH. A $ inside a quoted literal or identifier ('...', "...", `...`) of sql is left alone. 0,
 * or VG_EINVAL (a placeholder without a parameter, an unclosed quote), VG_ETOOBIG (out's cap). */
VG_MUST_USE int vg__store_ch_bind(struct vg_buf *out, const char *sql, size_t len,
                                  const struct vg__val *p, size_t np);

#endif
