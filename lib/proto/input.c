/* SPDX-License-Identifier: MIT */
/*
 * input.c - input lists, one line at a time: plain URL lists with # comments, or Citizen Lab
 * test-list CSV files (RFC 4180 fields; a header naming the columns comes first).
 *
 * Lines come from files the user chose, but lists are downloaded and shared, so they are parsed as
 * untrusted bytes all the same: through the bounded reader, with every length checked.
 */
#include "proto/input.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/limits.h"
#include "util/rd.h"
#include "util/str.h"

#define VG__INPUT_STR_(x) #x
#define VG__INPUT_STR(x)  VG__INPUT_STR_(x)

/* Room for any CSV field: unescaped, it is never longer than its line. */
#define FIELD_CAP VG_INPUT_LINE_MAX

struct slice {
    const uint8_t *p;
    size_t len;
};

static bool
vg__input_is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Byte at offset off of s (off < s.len), read through a reader. */
static uint8_t
byte_at(struct slice s, size_t off)
{
    struct vg_rd rd;
    uint8_t c = 0;

    vg_rd_init(&rd, s.p, s.len);
    if (vg_rd_seek(&rd, off) != 0 || vg_rd_u8(&rd, &c) != 0) {
        return 0;
    }
    return c;
}

/* s without n bytes at the front. */
static struct slice
slice_drop(struct slice s, size_t n)
{
    struct vg_rd rd;
    struct slice r = {s.p, 0};

    vg_rd_init(&rd, s.p, s.len);
    if (vg_rd_skip(&rd, n) == 0 && vg_rd_bytes(&rd, vg_rd_left(&rd), &r.p) == 0) {
        r.len = s.len - n;
    }
    return r;
}

static struct slice
slice_trim(struct slice s)
{
    size_t lead = 0;

    while (lead < s.len && vg__input_is_blank(byte_at(s, lead))) {
        lead++;
    }
    while (s.len > lead && vg__input_is_blank(byte_at(s, s.len - 1))) {
        s.len--;
    }
    return slice_drop(s, lead);
}

/*
 * Copy s, blanks trimmed, into dst[cap] as a C string. VG_EPROTO for an embedded NUL (the string
 * would silently lose its tail) or, unless allow_empty, for nothing left; VG_ETOOBIG if it does
 * not fit.
 */
static int
copy_field(struct slice s, char *dst, size_t cap, bool allow_empty)
{
    s = slice_trim(s);
    VG_ENSURE(allow_empty || s.len > 0, VG_EPROTO);
    VG_ENSURE(s.len == 0 || memchr(s.p, '\0', s.len) == NULL, VG_EPROTO);
    VG_ENSURE(cap > 0 && s.len < cap, VG_ETOOBIG);
    if (s.len > 0) {
        memcpy(dst, s.p, s.len);
    }
    dst[s.len] = '\0';
    return 0;
}

/*
 * Read one RFC 4180 field from rd, unescaped into out[cap] (as much as fits, not NUL-terminated;
 * out may be NULL with cap 0); *len gets its full length. Returns 1 when a comma follows (more
 * fields), 0 at the end of the line, VG_EPROTO for an unterminated quoted field (*open set) or
 * bytes after its closing quote. A '"' inside an unquoted field is taken literally, as Python's csv
 * module (which writes the Citizen Lab lists) does.
 */
static int
csv_field(struct vg_rd *rd, uint8_t *out, size_t cap, size_t *len, bool *open)
{
    bool quoted = false;
    size_t n = 0;
    uint8_t c;

    if (vg_rd_peek(rd, &c) == 0 && c == '"') {
        quoted = true;
        VG_TRY(vg_rd_skip(rd, 1));
    }
    for (;;) {
        if (vg_rd_u8(rd, &c) != 0) {
            *open = quoted;
            VG_ENSURE(!quoted, VG_EPROTO); /* unterminated quote */
            *len = n;
            return 0;
        }
        if (quoted && c == '"') {
            uint8_t next;

            if (vg_rd_peek(rd, &next) == 0 && next == '"') {
                VG_TRY(vg_rd_skip(rd, 1)); /* "" is one literal quote */
            } else {
                quoted = false;
                if (vg_rd_u8(rd, &next) != 0) {
                    *len = n;
                    return 0;
                }
                VG_ENSURE(next == ',', VG_EPROTO);
                *len = n;
                return 1;
            }
        } else if (!quoted && c == ',') {
            *len = n;
            return 1;
        }
        if (n < cap) {
            out[n] = c;
        }
        n++;
    }
}

/* f is the column name (any case) n, which is NUL-terminated. */
static bool
vg__input_name_is(struct slice f, const char *n)
{
    return f.len == strlen(n) && vg_strncaseeq((const char *)f.p, n, f.len);
}

/* A header column vigie does not read: added to ip->unknown (as much as fits). */
static void
vg__input_unknown(struct vg_input_parser *ip, struct slice f, size_t full)
{
    static const char *const known[] = {"category_description", "date_added", "source", "notes"};
    size_t used = strlen(ip->unknown), room = sizeof(ip->unknown) - used;
    int n;

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (full == f.len && vg__input_name_is(f, known[i])) {
            return;
        }
    }
    n = snprintf(ip->unknown + used, room, "%s'%.*s%s'", used > 0 ? ", " : "", (int)f.len,
                 (const char *)f.p, full > f.len ? "..." : "");
    if (n < 0 || (size_t)n >= room) {
        ip->unknown[used] = '\0';
    }
}

/* Is this first line a CSV header with a "url" column? Sets the column indexes if so. */
static bool
detect_header(struct vg_input_parser *ip, struct slice s)
{
    uint8_t name[32];
    struct vg_rd rd;
    int url_col = -1, category_col = -1;
    int more = 1;
    bool open = false;

    ip->unknown[0] = '\0';
    vg_rd_init(&rd, s.p, s.len);
    for (int col = 0; more == 1; col++) {
        struct slice f = {name, 0};
        size_t full;

        more = csv_field(&rd, name, sizeof(name), &f.len, &open);
        if (more < 0) {
            ip->unknown[0] = '\0';
            return false;
        }
        full = f.len;
        if (f.len > sizeof(name)) {
            f.len = sizeof(name); /* too long to be a name we look for, even with blanks trimmed */
        }
        f = slice_trim(f);
        if (full <= sizeof(name) && url_col < 0 && vg__input_name_is(f, "url")) {
            url_col = col;
        } else if (full <= sizeof(name) && category_col < 0 &&
                   vg__input_name_is(f, "category_code")) {
            category_col = col;
        } else {
            vg__input_unknown(ip, f, full);
        }
    }
    if (url_col < 0) {
        ip->unknown[0] = '\0';
        return false;
    }
    ip->csv = true;
    ip->url_col = url_col;
    ip->category_col = category_col;
    return true;
}

/* Why copy_field refused s (rc) for the column named. */
static const char *
vg__input_field_why(struct slice s, int rc, const char *column)
{
    bool url = strcmp(column, "url") == 0;

    if (rc == VG_ETOOBIG) {
        return url ? "URL too long" : "category_code longer than 63 bytes";
    }
    s = slice_trim(s);
    if (s.len == 0) {
        return "empty url column";
    }
    return url ? "NUL byte in the URL" : "NUL byte in category_code";
}

/* A CSV data row: the url column (required) and the category_code column (optional). */
static int
feed_csv_row(struct vg_input_parser *ip, struct slice s, char *url, size_t cap)
{
    uint8_t url_buf[FIELD_CAP], cat_buf[FIELD_CAP];
    struct slice u = {url_buf, 0}, cat = {cat_buf, 0};
    bool have_url = false;
    struct vg_rd rd;
    int more = 1, rc;

    size_t url_at = 0;
    bool open = false;

    vg_rd_init(&rd, s.p, s.len);
    for (int col = 0; more == 1; col++) {
        uint8_t *dst = NULL;
        size_t dst_cap = 0, n, at = s.len - vg_rd_left(&rd) + 1;

        if (col == ip->url_col) {
            dst = url_buf;
            dst_cap = sizeof(url_buf);
        } else if (col == ip->category_col) {
            dst = cat_buf;
            dst_cap = sizeof(cat_buf);
        }
        more = csv_field(&rd, dst, dst_cap, &n, &open);
        if (more < 0) {
            ip->why = open ? "unterminated quoted field (no closing '\"')"
                           : "a byte after a quoted field's closing '\"' (not a comma)";
            ip->col = open ? at : s.len - vg_rd_left(&rd);
            return more;
        }
        if (col == ip->url_col) {
            u.len = n;
            url_at = at;
            have_url = true;
        } else if (col == ip->category_col) {
            cat.len = n;
        }
    }
    if (!have_url) {
        ip->why = "the row ends before the url column";
        return VG_EPROTO;
    }
    rc = copy_field(u, url, cap, false);
    if (rc < 0) {
        ip->col = url_at;
        ip->why = vg__input_field_why(u, rc, "url");
        return rc;
    }
    rc = copy_field(cat, ip->category, sizeof(ip->category), true);
    if (rc < 0) {
        ip->why = vg__input_field_why(cat, rc, "category_code");
        url[0] = '\0';
        ip->category[0] = '\0';
        return rc;
    }
    return 1;
}

void
vg_input_init(struct vg_input_parser *ip)
{
    memset(ip, 0, sizeof(*ip));
    ip->url_col = -1;
    ip->category_col = -1;
}

int
vg_input_feed(struct vg_input_parser *ip, const char *line, size_t len, char *url, size_t cap)
{
    static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};
    struct slice s = {(const uint8_t *)line, len}, t;
    uint8_t last;
    int rc;

    ip->lineno++;
    ip->category[0] = '\0';
    ip->why = NULL;
    ip->col = 0;
    if (cap > 0) {
        url[0] = '\0';
    }
    while (s.len > 0 && ((last = byte_at(s, s.len - 1)) == '\n' || last == '\r')) {
        s.len--;
    }
    if (ip->lineno == 1 && s.len >= sizeof(bom) && memcmp(s.p, bom, sizeof(bom)) == 0) {
        s = slice_drop(s, sizeof(bom));
    }
    if (s.len > VG_INPUT_LINE_MAX) {
        ip->why = "line longer than " VG__INPUT_STR(VG_INPUT_LINE_MAX) " bytes";
        return VG_ETOOBIG;
    }

    t = slice_trim(s);
    if (t.len == 0 || byte_at(t, 0) == '#') {
        return 0;
    }
    if (!ip->started) {
        ip->started = true;
        if (detect_header(ip, s)) {
            return 0;
        }
    }
    if (ip->csv) {
        return feed_csv_row(ip, s, url, cap);
    }
    rc = copy_field(t, url, cap, false);
    if (rc < 0) {
        ip->why = vg__input_field_why(t, rc, "url");
        return rc;
    }
    return 1;
}
