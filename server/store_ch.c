/* SPDX-License-Identifier: MIT */
/*
 * store_ch.c - the ClickHouse backend connection of the store: ClickHouse's HTTP interface through
 * libcurl (one easy handle per connection: its kept-alive connection is reused), answers read by
 * ch_tsv.c. ClickHouse 18.16 (Debian 12) is the oldest server it talks to: no query parameters,
 * so the parameters are written into the SQL as literals here (vg__store_ch_bind).
 *
 * What run() does, by the statement's first word:
 *   SELECT, WITH, SHOW, DESCRIBE, DESC, EXISTS   once per parameter set, with " FORMAT
 *       TabSeparatedWithNamesAndTypes" appended; each answer's rows go to cb with the set's index.
 *   INSERT ... VALUES (...)                      all the sets in one request: the text after
 *       VALUES (only tuples) is written once per set, joined by commas. No rows. A trailing
 *       " ON CONFLICT DO NOTHING" is dropped (the tables it is used on collapse duplicates).
 *   anything else                                once per parameter set; no rows.
 * exec() splits its text at the semicolons outside quotes and comments: one request each.
 *
 * A request that failed before any answer byte on a reused connection (the server had closed the
 * kept connection) is sent once more on a new connection, for SELECTs and INSERTs only: the
 * store's inserts are idempotent by design (a measurement row is keyed by its content, the tables
 * written at ingest collapse duplicates), so a request that reached the server anyway does no
 * harm. libcurl resends such a request by itself (Curl_retry_request), this file once more if
 * libcurl gives up; every other statement therefore goes out on a fresh connection, which
 * nothing resends.
 *
 * Errors: connection refused, timeouts, resets, an unreachable server -> VG_STORE_EUNAVAIL;
 * ClickHouse's "Code: N, ..." answers keep their message (without e.what()) for errmsg and give
 * VG_ECONSTRAINT for the codes that mean a bad value, VG_STORE_EUNAVAIL for overload,
 * authentication and shards out of reach, VG_EINTERNAL otherwise. No password in a message.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ch_tsv.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__CH_TIMEOUT_DEF 5000
#define VG__CH_URL_MAX     (VG__CH_HOST_MAX + 3 * VG__CH_NAME_MAX + 192)
#define VG__CH_FORMAT      " FORMAT TabSeparatedWithNamesAndTypes"
#define VG__CH_KEEP        (1024 * 1024) /* request and answer bytes kept between requests */
#define VG__CH_NOCONFLICT  " ON CONFLICT DO NOTHING"
/* max_query_size: the bytes the server parses as SQL (an INSERT's values are read apart). The
 * writer reads thousands of keys in one SELECT (store_ch_targets.c, store_ch_txn.c), past the
 * server's default of 256 KiB */
#define VG__CH_PARSE_MAX (64 * 1024 * 1024)
/* max_read_buffer_size: a read with FINAL opens every part it reads at once, each column with a
 * buffer of this size (1 MiB by default: ~16 MB a part of the measurements, so that 60 unmerged
 * parts passed a 1 GB limit). 64 KiB: the compressed blocks' least size, read whole anyway */
#define VG__CH_READ_BUFFER (64 * 1024)
/* ?cluster= (docs/storage.md): inserts through Distributed tables answered once on the shards;
 * every shard over TCP (18.16's in-process local shard loses FINAL's version column when it is
 * not selected); IN and JOIN subqueries over Distributed tables run once, here (GLOBAL) */
#define VG__CH_CLUSTER_URL \
    "&insert_distributed_sync=1&prefer_localhost_replica=0&distributed_product_mode=global"

enum vg__ch_kind {
    VG__CH_OTHER,
    VG__CH_SELECT,
    VG__CH_INSERT,
};

struct vg__conn {
    CURL *h;
    struct curl_slist *hdrs;
    struct vg__ch_spec spec;
    char url[VG__CH_URL_MAX];
    struct vg_buf req; /* the request body being built */
    struct vg_buf ans; /* the last answer's body */
    bool used;         /* a request went through: the next one may reuse the connection */
    bool toobig;       /* the answer outgrew ans */
    char errbuf[CURL_ERROR_SIZE];
    char msg[256];
};

/* ---------------------------------------------------------------------------------------- */
/* SQL text: quotes, statements, literals */

/* If s[i] starts a quoted literal or identifier or a comment, the index just past its end (len
 * and *open set when it never ends); else i. */
static size_t
vg__ch_skip(const char *s, size_t len, size_t i, bool *open)
{
    char qc = s[i];

    if (qc == '\'' || qc == '"' || qc == '`') {
        for (size_t k = i + 1; k < len; k++) {
            if (s[k] == '\\') {
                k++;
            } else if (s[k] == qc) {
                return k + 1; /* a doubled quote is this one then the next literal */
            }
        }
        *open = true;
        return len;
    }
    if (qc == '-' && i + 1 < len && s[i + 1] == '-') {
        const char *nl = memchr(s + i, '\n', len - i);

        return nl != NULL ? (size_t)(nl - s) + 1 : len;
    }
    if (qc == '/' && i + 1 < len && s[i + 1] == '*') {
        for (size_t k = i + 2; k + 1 < len; k++) {
            if (s[k] == '*' && s[k + 1] == '/') {
                return k + 2;
            }
        }
        *open = true;
        return len;
    }
    return i;
}

/* A string literal of p[len] onto out. */
static int
vg__ch_quote(struct vg_buf *out, const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    VG_TRY(vg_buf_append(out, "'", 1));
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];

        if (ch >= 0x20 && ch != 0x7f && ch != '\\' && ch != '\'') {
            continue;
        }
        VG_TRY(vg_buf_append(out, p + run, i - run));
        run = i + 1;
        if (ch == '\\' || ch == '\'') {
            char e[2] = {'\\', (char)ch};

            VG_TRY(vg_buf_append(out, e, 2));
        } else {
            char e[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};

            VG_TRY(vg_buf_append(out, e, 4));
        }
    }
    VG_TRY(vg_buf_append(out, p + run, len - run));
    return vg_buf_append(out, "'", 1);
}

static int
vg__ch_literal(struct vg_buf *out, const struct vg__val *v)
{
    switch (v->t) {
    case VG__INT:
        return vg_buf_appendf(out, "%lld", (long long)v->i);
    case VG__TEXT:
    case VG__BLOB:
        return vg__ch_quote(out, v->len > 0 ? v->p : "", v->len);
    default:
        return vg_buf_append(out, "NULL", 4);
    }
}

int
vg__store_ch_bind(struct vg_buf *out, const char *sql, size_t len, const struct vg__val *p,
                  size_t np)
{
    size_t i = 0, run = 0;
    bool open = false;

    while (i < len) {
        size_t j = vg__ch_skip(sql, len, i, &open), k;
        uint64_t n;

        if (j != i) {
            i = j;
            continue;
        }
        if (sql[i] != '$' || i + 1 >= len || !isdigit((unsigned char)sql[i + 1])) {
            i++;
            continue;
        }
        for (k = i + 1; k < len && isdigit((unsigned char)sql[k]); k++) {
        }
        if (vg_parse_u64n(sql + i + 1, k - i - 1, 1, np, &n) < 0) {
            return VG_EINVAL;
        }
        VG_TRY(vg_buf_append(out, sql + run, i - run));
        VG_TRY(vg__ch_literal(out, &p[n - 1]));
        i = run = k;
    }
    if (open) {
        return VG_EINVAL;
    }
    return vg_buf_append(out, sql + run, len - run);
}

/* The statement's first word decides what run() does with it. */
static enum vg__ch_kind
vg__ch_kind(const char *sql, size_t len)
{
    static const char *const sel[] = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS"};
    size_t i = 0, w;

    while (i < len && (isspace((unsigned char)sql[i]) || sql[i] == '(')) {
        i++;
    }
    for (w = i; w < len && isalpha((unsigned char)sql[w]); w++) {
    }
    if (w - i == 6 && vg_strncaseeq(sql + i, "INSERT", 6)) {
        return VG__CH_INSERT;
    }
    for (size_t k = 0; k < sizeof(sel) / sizeof(sel[0]); k++) {
        if (strlen(sel[k]) == w - i && vg_strncaseeq(sql + i, sel[k], w - i)) {
            return VG__CH_SELECT;
        }
    }
    return VG__CH_OTHER;
}

/* The offset just past the top-level keyword VALUES of an INSERT, or 0. */
static size_t
vg__ch_values(const char *sql, size_t len)
{
    bool open = false;

    for (size_t i = 0; i < len;) {
        size_t j = vg__ch_skip(sql, len, i, &open);

        if (j != i) {
            i = j;
            continue;
        }
        if (i + 6 <= len && vg_strncaseeq(sql + i, "VALUES", 6) &&
            (i == 0 || !(isalnum((unsigned char)sql[i - 1]) || sql[i - 1] == '_')) &&
            (i + 6 == len || !(isalnum((unsigned char)sql[i + 6]) || sql[i + 6] == '_'))) {
            return i + 6;
        }
        i++;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Requests */

static void
vg__ch_msg(struct vg__conn *c, const char *fmt, const char *arg)
{
    snprintf(c->msg, sizeof(c->msg), fmt, arg);
}

static int
vg__ch_toobig(struct vg__conn *c)
{
    snprintf(c->msg, sizeof(c->msg), "query over %d bytes", VG_CH_QUERY_MAX);
    return VG_EINTERNAL;
}

static size_t
vg__ch_on_data(char *p, size_t size, size_t n, void *arg)
{
    struct vg__conn *c = arg;

    if (c->ans.len + n > c->spec.answer_max || vg_buf_append(&c->ans, p, n) < 0) {
        c->toobig = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    return size * n;
}

/* ClickHouse's error answer: its first line, without the exception's class noise, printable. */
static int
vg__ch_server_err(struct vg__conn *c, long status)
{
    static const char *const noise[] = {"e.displayText() = ", ", e.what() = DB::Exception"};
    static const int bad_value[] = {6, 27, 38, 41, 53, 69, 70, 72};
    static const int unavail[] = {159, 192, 193, 202, 209, 210, 241, 243, 252, 279, 516};
    char line[200];
    size_t n = 0;
    uint64_t code = 0;

    for (size_t i = 0; i < c->ans.len && c->ans.data[i] != '\n' && n + 1 < sizeof(line); i++) {
        unsigned char ch = c->ans.data[i];

        line[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    line[n] = '\0';
    for (size_t k = 0; k < 2; k++) {
        char *p = strstr(line, noise[k]);

        if (p != NULL) {
            memmove(p, p + strlen(noise[k]), strlen(p + strlen(noise[k])) + 1);
        }
    }
    if (n == 0) {
        snprintf(c->msg, sizeof(c->msg), "HTTP status %ld without a message", status);
    } else {
        snprintf(c->msg, sizeof(c->msg), "%s", line);
    }
    if (strncmp(line, "Code: ", 6) == 0) {
        size_t dl = strspn(line + 6, "0123456789");

        if (vg_parse_u64n(line + 6, dl, 0, 100000, &code) < 0) {
            code = 0;
        }
    }
    for (size_t k = 0; k < sizeof(bad_value) / sizeof(bad_value[0]); k++) {
        if (code == (uint64_t)bad_value[k]) {
            return VG_ECONSTRAINT;
        }
    }
    for (size_t k = 0; k < sizeof(unavail) / sizeof(unavail[0]); k++) {
        if (code == (uint64_t)unavail[k]) {
            return VG_STORE_EUNAVAIL;
        }
    }
    return code == 0 && status >= 500 ? VG_STORE_EUNAVAIL : VG_EINTERNAL;
}

/* A transport failure worth one more try on a new connection. */
static bool
vg__ch_resend(struct vg__conn *c, CURLcode res)
{
    long nconn = 1, hsize = 1;

    if (res != CURLE_GOT_NOTHING && res != CURLE_SEND_ERROR && res != CURLE_RECV_ERROR) {
        return false;
    }
    (void)curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &nconn);
    (void)curl_easy_getinfo(c->h, CURLINFO_HEADER_SIZE, &hsize);
    return nconn == 0 && hsize == 0 && c->ans.len == 0; /* reused, nothing came back */
}

/* Empty b, giving back its memory when a large request or answer grew it. */
static void
vg__ch_buf_reset(struct vg_buf *b)
{
    if (b->cap > VG__CH_KEEP) {
        size_t max = b->max;

        vg_buf_cleanup(b);
        vg_buf_init(b, max);
    }
    vg_buf_reset(b);
}

/* POST c->req; the answer in c->ans. resend: the request may go out twice (SELECT, INSERT). */
static int
vg__ch_post(struct vg__conn *c, bool resend)
{
    CURLcode res = CURLE_OK;
    long status = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        vg__ch_buf_reset(&c->ans);
        c->toobig = false;
        c->errbuf[0] = '\0';
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->req.len > 0 ? (char *)c->req.data : "");
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.len);
        curl_easy_setopt(c->h, CURLOPT_FRESH_CONNECT, attempt > 0 || !resend ? 1L : 0L);
        res = curl_easy_perform(c->h);
        if (res == CURLE_OK || !resend || !c->used || !vg__ch_resend(c, res)) {
            break;
        }
    }
    if (res == CURLE_WRITE_ERROR && c->toobig) {
        snprintf(c->msg, sizeof(c->msg), "answer over answer_max (%zu bytes)", c->spec.answer_max);
        return VG_ETOOBIG;
    }
    if (res != CURLE_OK) {
        snprintf(c->msg, sizeof(c->msg), "%s:%u: %s", c->spec.host, c->spec.port,
                 c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(res));
        return VG_STORE_EUNAVAIL;
    }
    c->used = true;
    (void)curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        return vg__ch_server_err(c, status);
    }
    return 0;
}

/* Set c->req to text[len] (as is). */
static int
vg__ch_req_set(struct vg__conn *c, const char *text, size_t len)
{
    vg__ch_buf_reset(&c->req);
    if (vg_buf_append(&c->req, text, len) < 0) {
        return vg__ch_toobig(c);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The ops */

static void
vg__ch_disconnect(struct vg__conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->h != NULL) {
        curl_easy_cleanup(c->h);
    }
    curl_slist_free_all(c->hdrs);
    vg_buf_cleanup(&c->req);
    vg_buf_cleanup(&c->ans);
    /* the password does not outlive the connection in freed memory */
    memset(c->spec.password, 0, sizeof(c->spec.password));
    free(c);
}

static pthread_once_t vg__ch_once = PTHREAD_ONCE_INIT;

static void
vg__ch_global_init(void)
{
    (void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The easy handle's settings, once per connection. */
static int
vg__ch_setup(struct vg__conn *c, unsigned timeout_ms)
{
    char *db = curl_easy_escape(c->h, c->spec.database, 0);
    int n;

    if (db == NULL) {
        return VG_EINTERNAL;
    }
    /* wait_end_of_query: an error met while the answer is made comes as an error status, not
     * appended to a 200 answer */
    n = snprintf(c->url, sizeof(c->url),
                 "%s://%s:%u/?database=%s&wait_end_of_query=1&max_query_size=%d"
                 "&max_read_buffer_size=%d%s",
                 c->spec.tls ? "https" : "http", c->spec.host, c->spec.port, db, VG__CH_PARSE_MAX,
                 VG__CH_READ_BUFFER, c->spec.cluster[0] != '\0' ? VG__CH_CLUSTER_URL : "");
    curl_free(db);
    if (n < 0 || (size_t)n >= sizeof(c->url)) {
        return VG_EINTERNAL;
    }
    c->hdrs = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    if (c->hdrs == NULL) {
        return VG_EINTERNAL;
    }
    if (curl_easy_setopt(c->h, CURLOPT_URL, c->url) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_NOPROXY, "*") != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, vg__ch_on_data) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c) != CURLE_OK ||
        curl_easy_setopt(c->h, CURLOPT_POST, 1L) != CURLE_OK) {
        return VG_EINTERNAL;
    }
    if (c->spec.user[0] != '\0' &&
        (curl_easy_setopt(c->h, CURLOPT_USERNAME, c->spec.user) != CURLE_OK ||
         curl_easy_setopt(c->h, CURLOPT_PASSWORD, c->spec.password) != CURLE_OK)) {
        return VG_EINTERNAL;
    }
    if (c->spec.ca[0] != '\0' && curl_easy_setopt(c->h, CURLOPT_CAINFO, c->spec.ca) != CURLE_OK) {
        return VG_EINTERNAL;
    }
    return 0;
}

/* target: the whole spec, clickhouse[s]://... */
static int
vg__ch_connect(const char *target, const struct vg_store_opts *o, bool writer,
               struct vg__conn **out, char *err, size_t errlen)
{
    struct vg__conn *c;
    unsigned timeout_ms;
    int rc;

    (void)writer;
    *out = NULL;
    c = vg_xcalloc(1, sizeof(*c));
    if (vg__store_ch_parse_spec(target, &c->spec, err, errlen) < 0) {
        vg__ch_disconnect(c);
        return VG_STORE_EUNAVAIL;
    }
    timeout_ms = c->spec.timeout_ms != 0           ? c->spec.timeout_ms
                 : o != NULL && o->timeout_ms != 0 ? o->timeout_ms
                                                   : VG__CH_TIMEOUT_DEF;
    vg_buf_init(&c->req, VG_CH_QUERY_MAX);
    vg_buf_init(&c->ans, c->spec.answer_max);
    (void)pthread_once(&vg__ch_once, vg__ch_global_init);
    c->h = curl_easy_init();
    if (c->h == NULL || vg__ch_setup(c, timeout_ms) < 0) {
        snprintf(err, errlen, "clickhouse: cannot set up libcurl");
        vg__ch_disconnect(c);
        return VG_STORE_EUNAVAIL;
    }
    rc = vg__ch_req_set(c, "SELECT version()", strlen("SELECT version()"));
    if (rc == 0) {
        rc = vg__ch_post(c, true);
    }
    if (rc == 0 && (c->ans.len == 0 || !isdigit(c->ans.data[0]))) {
        vg__ch_msg(c, "%s", "the server's answer to SELECT version() is not a version");
        rc = VG_STORE_EUNAVAIL;
    }
    if (rc < 0) {
        snprintf(err, errlen, "clickhouse: %s", c->msg);
        vg__ch_disconnect(c);
        return VG_STORE_EUNAVAIL;
    }
    *out = c;
    return 0;
}

/* One statement (trimmed), no parameters. */
static int
vg__ch_exec1(struct vg__conn *c, const char *sql, size_t len)
{
    while (len > 0 && isspace((unsigned char)sql[0])) {
        sql++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)sql[len - 1])) {
        len--;
    }
    if (len == 0) {
        return 0;
    }
    VG_TRY(vg__ch_req_set(c, sql, len));
    return vg__ch_post(c, false);
}

static int
vg__ch_exec(struct vg__conn *c, const char *sql)
{
    size_t len = strlen(sql), start = 0;
    bool open = false;

    for (size_t i = 0; i < len;) {
        size_t j = vg__ch_skip(sql, len, i, &open);

        if (j != i) {
            i = j;
            continue;
        }
        if (sql[i] == ';') {
            VG_TRY(vg__ch_exec1(c, sql + start, i - start));
            start = i + 1;
        }
        i++;
    }
    if (open) {
        vg__ch_msg(c, "%s", "unclosed quote or comment in the SQL text");
        return VG_EINTERNAL;
    }
    return vg__ch_exec1(c, sql + start, len - start);
}

/* The rows of c->ans to cb. */
static int
vg__ch_rows(struct vg__conn *c, size_t set, vg__row_cb cb, void *arg)
{
    struct vg__ch_tsv t;
    struct vg__val cols[VG_CH_COLS_MAX];
    int rc = vg__ch_tsv_open(&t, c->ans.data, c->ans.len);

    while (rc == 0) {
        rc = vg__ch_tsv_next(&t, cols);
        if (rc == 1) {
            rc = cb(arg, set, cols, t.ncols);
            if (rc < 0) {
                vg__ch_tsv_free(&t);
                return rc; /* the callback's own error */
            }
        } else if (rc == 0) {
            break;
        }
    }
    if (rc < 0) {
        vg__ch_msg(c, "bad answer: %s", t.msg);
        rc = VG_EINTERNAL;
    }
    vg__ch_tsv_free(&t);
    return rc;
}

/* Bind one set into c->req (after what it holds). */
static int
vg__ch_bind_set(struct vg__conn *c, const char *sql, size_t len, size_t nparams,
                const struct vg__val *p)
{
    int rc = vg__store_ch_bind(&c->req, sql, len, p, nparams);

    if (rc == VG_ETOOBIG) {
        return vg__ch_toobig(c);
    }
    if (rc < 0) {
        vg__ch_msg(c, "%s", "a placeholder without its parameter, or an unclosed quote");
        return VG_EINTERNAL;
    }
    return 0;
}

/* INSERT ... VALUES: every set in one request. */
static int
vg__ch_insert(struct vg__conn *c, const char *sql, size_t len, size_t vals, size_t nsets,
              size_t nparams, const struct vg__val *params)
{
    VG_TRY(vg__ch_req_set(c, sql, vals));
    while (vals < len && isspace((unsigned char)sql[vals])) {
        vals++;
    }
    for (size_t set = 0; set < nsets; set++) {
        if (vg_buf_append(&c->req, set > 0 ? "," : " ", 1) < 0) {
            return vg__ch_toobig(c);
        }
        VG_TRY(vg__ch_bind_set(c, sql + vals, len - vals, nparams,
                               nparams > 0 ? params + set * nparams : NULL));
    }
    return vg__ch_post(c, true);
}

static int
vg__ch_run(struct vg__conn *c, const char *sql, unsigned flags, size_t nsets, size_t nparams,
           const struct vg__val *params, vg__row_cb cb, void *arg)
{
    size_t len = strlen(sql), vals;
    enum vg__ch_kind kind = vg__ch_kind(sql, len);

    (void)flags; /* nothing is prepared: the values are in the text */
    while (len > 0 && (isspace((unsigned char)sql[len - 1]) || sql[len - 1] == ';')) {
        len--;
    }
    /* The store's INSERTs of content-keyed rows (blobs, dictionaries) end so: their tables
     * collapse duplicates here (ReplacingMergeTree, store_ch_schema.c). */
    if (kind == VG__CH_INSERT && len > sizeof(VG__CH_NOCONFLICT) - 1 &&
        vg_strncaseeq(sql + len - (sizeof(VG__CH_NOCONFLICT) - 1), VG__CH_NOCONFLICT,
                      sizeof(VG__CH_NOCONFLICT) - 1)) {
        len -= sizeof(VG__CH_NOCONFLICT) - 1;
    }
    if (kind == VG__CH_INSERT && (vals = vg__ch_values(sql, len)) > 0) {
        return nsets > 0 ? vg__ch_insert(c, sql, len, vals, nsets, nparams, params) : 0;
    }
    for (size_t set = 0; set < nsets; set++) {
        vg__ch_buf_reset(&c->req);
        VG_TRY(vg__ch_bind_set(c, sql, len, nparams, nparams > 0 ? params + set * nparams : NULL));
        if (kind == VG__CH_SELECT &&
            vg_buf_append(&c->req, VG__CH_FORMAT, sizeof(VG__CH_FORMAT) - 1) < 0) {
            return vg__ch_toobig(c);
        }
        VG_TRY(vg__ch_post(c, kind != VG__CH_OTHER));
        if (kind == VG__CH_SELECT && cb != NULL) {
            VG_TRY(vg__ch_rows(c, set, cb, arg));
        }
    }
    return 0;
}

/* CHECK TABLE of ClickHouse 18.16 serves the Log family only (MergeTree: "Check query is not
 * supported"), so the check is that the server answers; the store's own checks are SQL. */
static int
vg__ch_check(struct vg__conn *c, char *err, size_t errlen)
{
    int rc = vg__ch_exec(c, "SELECT 1");

    if (rc < 0) {
        snprintf(err, errlen, "clickhouse: %s", c->msg);
    }
    return rc;
}

const struct vg__ch_spec *
vg__store_ch_spec(const struct vg__conn *c)
{
    return &c->spec;
}

static const char *
vg__ch_errmsg(struct vg__conn *c)
{
    return c->msg[0] != '\0' ? c->msg : "no error";
}

/* ClickHouse has no transactions: begin_sql is a statement that does nothing. */
const struct vg_store_ops vg__store_ch_ops = {
    .name = "clickhouse",
    .dialect = VG__CH,
    .begin_sql = "SELECT 1",
    .lock_sql = NULL,
    .snapshot_sql = "SELECT 1",
    .connect = vg__ch_connect,
    .disconnect = vg__ch_disconnect,
    .exec = vg__ch_exec,
    .run = vg__ch_run,
    .check = vg__ch_check,
    .errmsg = vg__ch_errmsg,
};
