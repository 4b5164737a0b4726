/* SPDX-License-Identifier: MIT */
/*
 * analyze_input.c - the inputs of `vigie analyze`, recognised by their content: JSON Lines,
 * pretty-printed documents, and what libarchive opens (gzip and lz4 streams, tar archives: OONI's
 * .jsonl.gz, postcans .tar.gz of .post files, autoclaved .tar.lz4). Read as a stream through one
 * window that holds at most one line or document (VG_ANALYZE_LINE_MAX) and one read.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "proto/json.h"
#include "util/limits.h"
#include "util/mem.h"

#define VG__AZIN_CHUNK   (1024 * 1024) /* the least one read asks for, and libarchive's block */
#define VG__AZIN_START   (4 * VG__AZIN_CHUNK)
#define VG__AZIN_BUF_MAX ((size_t)VG_ANALYZE_LINE_MAX + 2 * VG__AZIN_CHUNK)
#define VG__AZIN_MAGIC   512 /* bytes read before deciding (tar's "ustar" sits at 257) */

volatile sig_atomic_t vg__analyze_interrupted;

struct vg_analyze_reader {
    char *buf; /* the window */
    size_t cap;
    char *blk; /* a file's first bytes, then the blocks handed to libarchive */
    size_t blk_len;
    struct vg_json_doc *doc; /* postcan entries */
};

/* One stream: a file read directly, or the current member of an archive. */
struct vg__azin_stream {
    struct vg_analyze_reader *r;
    const struct vg_analyze_sink *sink;
    int fd;             /* the source when ar is NULL */
    struct archive *ar; /* else the member's data */
    const char *name;
    bool post;                 /* a postcan member (*.post): every document is wrapped */
    size_t pos, len;           /* the bytes of the window not consumed yet: buf[pos, len) */
    size_t scan;               /* bytes after pos already searched for a line break */
    size_t lineno;             /* lines consumed */
    bool eof, stopped, failed; /* stopped: by the sink or a signal; failed: a read error */
    char *err;
    size_t errlen;
};

/* The state of the scan for the end of a document: brackets outside strings. */
struct vg__azin_scan {
    long depth;
    bool in_str, esc;
};

struct vg_analyze_reader *
vg__analyze_in_new(void)
{
    struct vg_analyze_reader *r = vg_xcalloc(1, sizeof(*r));

    r->cap = VG__AZIN_START;
    r->buf = vg_xmalloc(r->cap);
    r->blk = vg_xmalloc(VG__AZIN_CHUNK);
    r->doc = vg_json_doc_new();
    if (r->doc == NULL) {
        vg__analyze_in_free(r);
        return NULL;
    }
    return r;
}

void
vg__analyze_in_free(struct vg_analyze_reader *r)
{
    if (r == NULL) {
        return;
    }
    free(r->buf);
    free(r->blk);
    vg_json_doc_free(r->doc);
    free(r);
}

static bool
vg__azin_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* read(2), again after EINTR unless a signal asked to stop: bytes, 0 at the end, or -1. */
static ssize_t
vg__azin_read_fd(int fd, char *p, size_t n)
{
    for (;;) {
        ssize_t got = read(fd, p, n);

        if (got >= 0 || errno != EINTR || vg__analyze_interrupted) {
            return got;
        }
    }
}

/*
 * More bytes into the window, after its unconsumed part (moved to the front when the room left is
 * short; the window grows to its bound). 1 with bytes added, 0 at the end of the stream (eof
 * set), -1 on a read error (failed, err set) or a signal (stopped).
 */
static int
vg__azin_fill(struct vg__azin_stream *st)
{
    struct vg_analyze_reader *r = st->r;
    size_t room;
    ssize_t got;

    if (st->pos == st->len) {
        st->pos = st->len = 0;
    }
    if (r->cap - st->len < VG__AZIN_CHUNK && st->pos > 0) {
        memmove(r->buf, r->buf + st->pos, st->len - st->pos);
        st->len -= st->pos;
        st->pos = 0;
    }
    if (r->cap - st->len < VG__AZIN_CHUNK && r->cap < VG__AZIN_BUF_MAX) {
        r->cap = r->cap * 2 < VG__AZIN_BUF_MAX ? r->cap * 2 : VG__AZIN_BUF_MAX;
        r->buf = vg_xrealloc(r->buf, r->cap);
    }
    room = r->cap - st->len;
    if (st->ar != NULL) {
        got = archive_read_data(st->ar, r->buf + st->len, room);
    } else {
        got = vg__azin_read_fd(st->fd, r->buf + st->len, room);
    }
    if (vg__analyze_interrupted) {
        st->stopped = true;
        return -1;
    }
    if (got < 0) {
        st->failed = true;
        snprintf(st->err, st->errlen, "%s: %s", st->name,
                 st->ar != NULL ? archive_error_string(st->ar) : strerror(errno));
        return -1;
    }
    if (got == 0) {
        st->eof = true;
        return 0;
    }
    st->len += (size_t)got;
    return 1;
}

/* A document wrapped as OONI's probes submit it: {"format": ..., "content": ...} (by content). */
static bool
vg__azin_is_wrapped(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && vg__azin_space(p[i])) {
        i++;
    }
    if (i == n || p[i] != '{') {
        return false;
    }
    for (i++; i < n && vg__azin_space(p[i]); i++) {
    }
    return (n - i >= 8 && memcmp(p + i, "\"format\"", 8) == 0) ||
           (n - i >= 9 && memcmp(p + i, "\"content\"", 9) == 0);
}

/*
 * Hand one document to the sink, unwrapping a postcan entry; multiline: it holds line breaks (a
 * line never does). 0, or -1 when the sink stopped.
 */
static int
vg__azin_emit(struct vg__azin_stream *st, const char *p, size_t n, size_t lineno, bool multiline)
{
    struct vg_analyze_item it = {p, n, st->name, lineno, multiline};
    char err[256];

    if (st->post || vg__azin_is_wrapped(p, n)) {
        const struct vg_json *root = vg_json_parse(st->r->doc, p, n, err, sizeof(err));
        const struct vg_json *content = vg_json_get(root, "content");
        const char *format = vg_json_str(vg_json_get(root, "format"));

        if (root == NULL) {
            st->sink->skip(st->sink->arg, st->name, lineno, VG_ANALYZE_SKIP_INVALID, err);
            return 0;
        }
        if (format != NULL && strcasecmp(format, "yaml") == 0) {
            st->sink->skip(st->sink->arg, st->name, lineno, VG_ANALYZE_SKIP_UNSUPPORTED,
                           "a measurement in YAML (format \"yaml\"): not read");
            return 0;
        }
        if (content != NULL && content->type == VG_JSON_OBJECT &&
            (format == NULL || strcasecmp(format, "json") == 0)) {
            it.json = p + content->start;
            it.len = content->end - content->start;
            it.multiline = multiline && memchr(it.json, '\n', it.len) != NULL;
        } else if (st->post || content != NULL) {
            st->sink->skip(st->sink->arg, st->name, lineno, VG_ANALYZE_SKIP_INVALID,
                           "a submission without a JSON measurement (format and content)");
            return 0;
        }
    }
    if (st->sink->item(st->sink->arg, &it) < 0) {
        st->stopped = true;
        return -1;
    }
    return 0;
}

/* Skip the rest of an over-long line, without keeping it: 0, or -1 (read error, signal). */
static int
vg__azin_drop_line(struct vg__azin_stream *st)
{
    for (;;) {
        const char *nl = memchr(st->r->buf + st->pos, '\n', st->len - st->pos);
        int rc;

        if (nl != NULL) {
            st->pos = (size_t)(nl - st->r->buf) + 1;
            st->scan = 0;
            return 0;
        }
        st->pos = st->len;
        rc = vg__azin_fill(st);
        if (rc <= 0) {
            st->scan = 0;
            return rc;
        }
    }
}

/*
 * The next line of the window into *p, *n (without its line break and a CR before it): 1, 0 at
 * the end of the stream, 2 when the line was over the bound (reported and skipped), -1 on a read
 * error or a stop.
 */
static int
vg__azin_next_line(struct vg__azin_stream *st, const char **p, size_t *n)
{
    struct vg_analyze_reader *r = st->r;
    const char *nl;
    size_t end;

    for (;;) {
        nl = memchr(r->buf + st->pos + st->scan, '\n', st->len - st->pos - st->scan);
        if (nl != NULL) {
            end = (size_t)(nl - r->buf);
            break;
        }
        st->scan = st->len - st->pos;
        if (st->eof) {
            if (st->pos == st->len) {
                return 0;
            }
            end = st->len;
            break;
        }
        if (st->len - st->pos > VG_ANALYZE_LINE_MAX) {
            char msg[96];

            st->lineno++;
            snprintf(msg, sizeof(msg), "line longer than %d bytes (not read)", VG_ANALYZE_LINE_MAX);
            st->sink->skip(st->sink->arg, st->name, st->lineno, VG_ANALYZE_SKIP_INVALID, msg);
            return vg__azin_drop_line(st) < 0 ? -1 : 2;
        }
        if (vg__azin_fill(st) < 0) {
            return -1;
        }
    }
    *p = r->buf + st->pos;
    *n = end - st->pos;
    st->pos = end < st->len ? end + 1 : end;
    st->scan = 0;
    st->lineno++;
    if (*n > 0 && (*p)[*n - 1] == '\r') {
        (*n)--;
    }
    return 1;
}

/* JSON Lines: one measurement per line, blank lines skipped. */
static int
vg__azin_lines(struct vg__azin_stream *st)
{
    const char *p;
    size_t n, i;
    int rc;

    while ((rc = vg__azin_next_line(st, &p, &n)) != 0) {
        if (rc < 0) {
            return -1;
        }
        if (rc == 2) {
            continue;
        }
        for (i = 0; i < n && vg__azin_space(p[i]); i++) {
        }
        if (i < n && vg__azin_emit(st, p, n, st->lineno, false) < 0) {
            return -1;
        }
        if (vg__analyze_interrupted) {
            st->stopped = true;
            return -1;
        }
    }
    return 0;
}

/*
 * Scan n bytes at p for the end of the document whose scan state is s (brackets outside strings;
 * the text's validity is the parser's business). Returns the offset just past its last bracket
 * (then s->depth is 0), or n when it goes on; *nl counts the line breaks passed.
 */
static size_t
vg__azin_scan(struct vg__azin_scan *s, const char *p, size_t n, size_t *nl)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (c == '\n') {
            (*nl)++;
        }
        if (s->in_str) {
            if (s->esc) {
                s->esc = false;
            } else if (c == '\\') {
                s->esc = true;
            } else if (c == '"') {
                s->in_str = false;
            }
            continue;
        }
        if (c == '"') {
            s->in_str = true;
        } else if (c == '{' || c == '[') {
            s->depth++;
        } else if ((c == '}' || c == ']') && --s->depth <= 0) {
            return i + 1;
        }
    }
    return n;
}

/* Drop the rest of a document over the bound, scanning for its end: 0, or -1. */
static int
vg__azin_drop_doc(struct vg__azin_stream *st, struct vg__azin_scan *s, size_t *nl)
{
    for (;;) {
        size_t n = st->len - st->pos;
        size_t end = vg__azin_scan(s, st->r->buf + st->pos, n, nl);

        if (s->depth <= 0) {
            st->pos += end;
            return 0;
        }
        st->pos = st->len;
        if (vg__azin_fill(st) <= 0) {
            return st->eof ? 0 : -1;
        }
    }
}

/* One document at the window's start (a '{' or '['): found, bounded and handed over. */
static int
vg__azin_doc(struct vg__azin_stream *st)
{
    struct vg__azin_scan s = {0, false, false};
    size_t scanned = 0, nl = 0, first = st->lineno + 1;

    for (;;) {
        size_t n = st->len - st->pos - scanned;
        size_t end = vg__azin_scan(&s, st->r->buf + st->pos + scanned, n, &nl);

        if (s.depth <= 0 || st->eof) {
            const char *p = st->r->buf + st->pos;
            size_t len = scanned + end;

            st->pos += len;
            st->lineno += nl;
            return vg__azin_emit(st, p, len, first, nl > 0);
        }
        scanned += n;
        if (scanned > VG_ANALYZE_LINE_MAX) {
            char msg[96];

            snprintf(msg, sizeof(msg), "document longer than %d bytes (not read)",
                     VG_ANALYZE_LINE_MAX);
            st->sink->skip(st->sink->arg, st->name, first, VG_ANALYZE_SKIP_INVALID, msg);
            st->pos += scanned;
            if (vg__azin_drop_doc(st, &s, &nl) < 0) {
                return -1;
            }
            st->lineno += nl;
            return 0;
        }
        if (vg__azin_fill(st) < 0) {
            return -1;
        }
    }
}

/* Pretty-printed documents, one after another: each found by its brackets. */
static int
vg__azin_docs(struct vg__azin_stream *st)
{
    for (;;) {
        char c;

        if (vg__analyze_interrupted) {
            st->stopped = true;
            return -1;
        }
        while (st->pos < st->len && vg__azin_space(st->r->buf[st->pos])) {
            if (st->r->buf[st->pos] == '\n') {
                st->lineno++;
            }
            st->pos++;
        }
        if (st->pos == st->len) {
            if (st->eof) {
                return 0;
            }
            if (vg__azin_fill(st) < 0) {
                return -1;
            }
            continue;
        }
        c = st->r->buf[st->pos];
        if (c == '{' || c == '[') {
            if (vg__azin_doc(st) < 0) {
                return -1;
            }
        } else {
            /* Not a document: its line goes to the parser, which says why. */
            const char *p;
            size_t n;
            int rc = vg__azin_next_line(st, &p, &n);

            if (rc < 0 || (rc == 1 && vg__azin_emit(st, p, n, st->lineno, false) < 0)) {
                return -1;
            }
        }
    }
}

/*
 * The offset (from pos) of the first byte at or after off that is not white space, reading more
 * as needed: >= 0, -1 at the end of the stream or past the bound, -2 on a read error or a stop.
 */
static long
vg__azin_seek(struct vg__azin_stream *st, size_t off)
{
    for (;;) {
        for (; st->pos + off < st->len; off++) {
            if (!vg__azin_space(st->r->buf[st->pos + off])) {
                return (long)off;
            }
        }
        if (st->eof || off > VG_ANALYZE_LINE_MAX) {
            return -1;
        }
        if (vg__azin_fill(st) < 0) {
            return -2;
        }
    }
}

/*
 * How the stream is laid out, from its first lines: pretty-printed documents when the first
 * non-blank line opens a '{' it does not close (outside a string) and the next non-blank line
 * does not start another '{' (a JSON Lines file with a broken first line). 1 for documents, 0
 * for lines, -1 on a read error or a stop.
 */
static int
vg__azin_pretty(struct vg__azin_stream *st)
{
    struct vg__azin_scan s = {0, false, false};
    size_t nl = 0;
    long start = vg__azin_seek(st, 0), eol, next;

    if (start < 0 || st->r->buf[st->pos + (size_t)start] != '{') {
        return start == -2 ? -1 : 0;
    }
    for (;;) {
        const char *lf = memchr(st->r->buf + st->pos + start, '\n', st->len - st->pos - start);

        if (lf != NULL) {
            eol = lf - (st->r->buf + st->pos);
            break;
        }
        if (st->eof || st->len - st->pos > VG_ANALYZE_LINE_MAX) {
            return 0;
        }
        if (vg__azin_fill(st) < 0) {
            return -1;
        }
    }
    (void)vg__azin_scan(&s, st->r->buf + st->pos + start, (size_t)(eol - start), &nl);
    if (s.depth <= 0 || s.in_str) {
        return 0;
    }
    next = vg__azin_seek(st, (size_t)eol + 1);
    if (next == -2) {
        return -1;
    }
    return next < 0 || st->r->buf[st->pos + (size_t)next] != '{';
}

static bool
vg__azin_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One stream, start to end (what is already in the window first). */
static int
vg__azin_stream(struct vg__azin_stream *st)
{
    int pretty = vg__azin_pretty(st);

    if (pretty < 0) {
        return -1;
    }
    return pretty ? vg__azin_docs(st) : vg__azin_lines(st);
}

struct vg__azin_arsrc {
    struct vg_analyze_reader *r;
    int fd;
    size_t pre; /* bytes of blk read before libarchive was chosen, handed over first */
};

static la_ssize_t
vg__azin_ar_read(struct archive *ar, void *arg, const void **out)
{
    struct vg__azin_arsrc *s = arg;
    ssize_t got;

    *out = s->r->blk;
    if (s->pre > 0) {
        got = (ssize_t)s->pre;
        s->pre = 0;
        return got;
    }
    got = vg__azin_read_fd(s->fd, s->r->blk, VG__AZIN_CHUNK);
    if (got < 0) {
        archive_set_error(ar, errno, "%s", strerror(errno));
    }
    return got;
}

/* Read through libarchive: a compressed stream (format raw) or a tar archive, any filter. */
static int
vg__azin_archive(struct vg_analyze_reader *r, int fd, const char *path,
                 const struct vg_analyze_sink *sink, char *err, size_t errlen)
{
    struct vg__azin_arsrc src = {r, fd, r->blk_len};
    struct archive *ar = archive_read_new();
    struct archive_entry *ent;
    char name[4096];
    int rc, status = 0;

    if (ar == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    archive_read_support_filter_all(ar);
    archive_read_support_format_tar(ar);
    archive_read_support_format_raw(ar);
    rc = archive_read_open(ar, &src, NULL, vg__azin_ar_read, NULL);
    while (rc == ARCHIVE_OK && !vg__analyze_interrupted) {
        struct vg__azin_stream st = {
            .r = r, .sink = sink, .fd = -1, .ar = ar, .err = err, .errlen = errlen};
        const char *member;

        rc = archive_read_next_header(ar, &ent);
        if (rc == ARCHIVE_WARN) {
            rc = ARCHIVE_OK;
        }
        if (rc != ARCHIVE_OK) {
            break;
        }
        member = archive_entry_pathname(ent);
        if (archive_format(ar) == ARCHIVE_FORMAT_RAW) {
            snprintf(name, sizeof(name), "%s", path);
        } else if (archive_entry_filetype(ent) != AE_IFREG) {
            continue;
        } else {
            snprintf(name, sizeof(name), "%s:%s", path, member != NULL ? member : "?");
            /* The member's name comes from the archive: no terminal escape in messages. */
            for (char *c = name + strlen(path); *c != '\0'; c++) {
                if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                    *c = '?';
                }
            }
            st.post = member != NULL && vg__azin_ends_with(member, ".post");
        }
        st.name = name;
        if (vg__azin_stream(&st) < 0) {
            status = st.failed ? -1 : 0;
            rc = ARCHIVE_EOF;
            break;
        }
    }
    if (rc != ARCHIVE_EOF && rc != ARCHIVE_OK && !vg__analyze_interrupted) {
        const char *why = archive_error_string(ar);

        snprintf(err, errlen, "%s: %s", path, why != NULL ? why : "unreadable archive");
        status = -1;
    }
    archive_read_free(ar);
    return status;
}

/* Compressed data or a tar archive, by its first bytes. */
static bool
vg__azin_is_archive(const unsigned char *p, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
    } magics[] = {
        {"\x1f\x8b", 2},                 /* gzip */
        {"\x04\x22\x4d\x18", 4},         /* lz4 frame */
        {"\x02\x21\x4c\x18", 4},         /* lz4 legacy */
        {"\x28\xb5\x2f\xfd", 4},         /* zstd */
        {"\xfd\x37\x7a\x58\x5a\x00", 6}, /* xz */
        {"BZh", 3},                      /* bzip2 */
    };

    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        if (n >= magics[i].len && memcmp(p, magics[i].magic, magics[i].len) == 0) {
            return true;
        }
    }
    return n >= 262 && memcmp(p + 257, "ustar", 5) == 0;
}

int
vg__analyze_in_read(struct vg_analyze_reader *r, const char *path,
                    const struct vg_analyze_sink *sink, char *err, size_t errlen)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    const char *name = is_stdin ? "stdin" : path;
    struct vg__azin_stream st = {
        .r = r, .sink = sink, .fd = fd, .name = name, .err = err, .errlen = errlen};
    struct stat sb;
    ssize_t got = 1;
    int rc;

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
        close(fd);
        return -1;
    }
    if (!is_stdin) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    r->blk_len = 0;
    while (r->blk_len < VG__AZIN_MAGIC &&
           (got = vg__azin_read_fd(fd, r->blk + r->blk_len, VG__AZIN_CHUNK - r->blk_len)) > 0) {
        r->blk_len += (size_t)got;
    }
    if (got < 0 || vg__analyze_interrupted) {
        rc = vg__analyze_interrupted ? 0 : -1;
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
    } else if (vg__azin_is_archive((const unsigned char *)r->blk, r->blk_len)) {
        rc = vg__azin_archive(r, fd, name, sink, err, errlen);
    } else {
        memcpy(r->buf, r->blk, r->blk_len);
        st.len = r->blk_len;
        st.eof = got == 0;
        rc = vg__azin_stream(&st) < 0 && st.failed ? -1 : 0;
    }
    if (!is_stdin) {
        close(fd);
    }
    return rc;
}
