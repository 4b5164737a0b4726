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
#include <string.h>

#include "util/limits.h"
#include "util/rd.h"

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
 * fields), 0 at the end of the line, VG_EPROTO for an unterminated quoted field or bytes after its
 * closing quote. A '"' inside an unquoted field is taken literally, as Python's csv module (which
 * writes the Citizen Lab lists) does.
 */
static int
csv_field(struct vg_rd *rd, uint8_t *out, size_t cap, size_t *len)
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

/* Is this first line a CSV header with a "url" column? Sets the column indexes if so. */
static bool
detect_header(struct vg_input_parser *ip, struct slice s)
{
    uint8_t name[sizeof("category_code")];
    struct vg_rd rd;
    int url_col = -1, category_col = -1;
    int more = 1;

    vg_rd_init(&rd, s.p, s.len);
    for (int col = 0; more == 1; col++) {
        struct slice f = {name, 0};

        more = csv_field(&rd, name, sizeof(name), &f.len);
        if (more < 0) {
            return false;
        }
        if (f.len > sizeof(name)) {
            continue; /* too long to be a name we look for, even with blanks trimmed */
        }
        f = slice_trim(f);
        if (url_col < 0 && f.len == 3 && memcmp(f.p, "url", 3) == 0) {
            url_col = col;
        } else if (category_col < 0 && f.len == 13 && memcmp(f.p, "category_code", 13) == 0) {
            category_col = col;
        }
    }
    if (url_col < 0) {
        return false;
    }
    ip->csv = true;
    ip->url_col = url_col;
    ip->category_col = category_col;
    return true;
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

    vg_rd_init(&rd, s.p, s.len);
    for (int col = 0; more == 1; col++) {
        uint8_t *dst = NULL;
        size_t dst_cap = 0, n;

        if (col == ip->url_col) {
            dst = url_buf;
            dst_cap = sizeof(url_buf);
        } else if (col == ip->category_col) {
            dst = cat_buf;
            dst_cap = sizeof(cat_buf);
        }
        more = csv_field(&rd, dst, dst_cap, &n);
        VG_TRY(more);
        if (col == ip->url_col) {
            u.len = n;
            have_url = true;
        } else if (col == ip->category_col) {
            cat.len = n;
        }
    }
    VG_ENSURE(have_url, VG_EPROTO);
    VG_TRY(copy_field(u, url, cap, false));
    rc = copy_field(cat, ip->category, sizeof(ip->category), true);
    if (rc < 0) {
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

    ip->lineno++;
    ip->category[0] = '\0';
    if (cap > 0) {
        url[0] = '\0';
    }
    while (s.len > 0 && ((last = byte_at(s, s.len - 1)) == '\n' || last == '\r')) {
        s.len--;
    }
    if (ip->lineno == 1 && s.len >= sizeof(bom) && memcmp(s.p, bom, sizeof(bom)) == 0) {
        s = slice_drop(s, sizeof(bom));
    }
    VG_ENSURE(s.len <= VG_INPUT_LINE_MAX, VG_ETOOBIG);

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
    VG_TRY(copy_field(t, url, cap, false));
    return 1;
}
