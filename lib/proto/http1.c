/* SPDX-License-Identifier: MIT */
/*
 * http1.c - HTTP/1.x response head, body framing and chunked decoding (RFC 9112).
 *
 * Everything reads the peer's bytes through a bounded reader (util/rd.h). The head parser works
 * on complete lines only, so a prefix of a valid head always yields VG_EMORE and never a
 * spurious VG_EPROTO.
 */
#include "proto/http1.h"

#include <string.h>

#include "util/rd.h"
#include "util/str.h"

/* Bytes allowed in a header field value: VCHAR, obs-text, SP and HTAB (RFC 9110 5.5). */
static bool
is_field_byte(uint8_t c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* tchar (RFC 9110 5.6.2). */
static bool
is_tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
vg__http1_is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/*
 * Take the next complete line from rd: *line is a reader over its content without the line end
 * (LF or CRLF), *start its offset in the head. VG_EMORE when no LF is left.
 */
static int
next_line(struct vg_rd *rd, struct vg_rd *line, size_t *start)
{
    const uint8_t *bytes;
    size_t rel, n;

    VG_TRY(vg_rd_find(rd, "\n", 1, &rel));
    *start = rd->off;
    VG_TRY(vg_rd_bytes(rd, rel + 1, &bytes));
    n = rel;
    vg_rd_init(line, bytes, n);
    if (n > 0) {
        uint8_t last;

        VG_TRY(vg_rd_seek(line, n - 1));
        VG_TRY(vg_rd_u8(line, &last));
        if (last == '\r') {
            n--;
        }
        vg_rd_init(line, bytes, n);
    }
    return 0;
}

static int
expect_byte(struct vg_rd *rd, uint8_t want)
{
    uint8_t c;

    VG_ENSURE(vg_rd_u8(rd, &c) == 0 && c == want, VG_EPROTO);
    return 0;
}

static int
read_digit(struct vg_rd *rd, int *out)
{
    uint8_t c;

    VG_ENSURE(vg_rd_u8(rd, &c) == 0 && c >= '0' && c <= '9', VG_EPROTO);
    *out = c - '0';
    return 0;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ]  (RFC 9112 4) */
static int
parse_status_line(struct vg_rd *line, size_t start, struct vg_http_head *h)
{
    static const char version[] = "HTTP/1.";
    int d0, d1, d2, minor;
    uint8_t c;

    for (size_t i = 0; i < sizeof(version) - 1; i++) {
        VG_TRY(expect_byte(line, (uint8_t)version[i]));
    }
    VG_TRY(read_digit(line, &minor));
    VG_ENSURE(minor == 0 || minor == 1, VG_EPROTO);
    VG_TRY(expect_byte(line, ' '));
    VG_TRY(read_digit(line, &d0));
    VG_TRY(read_digit(line, &d1));
    VG_TRY(read_digit(line, &d2));
    VG_ENSURE(d0 >= 1, VG_EPROTO);
    h->minor_version = minor;
    h->status = d0 * 100 + d1 * 10 + d2;
    /* Many servers omit the SP before an empty reason; accept "HTTP/1.1 200" as well. */
    if (!vg_rd_done(line)) {
        VG_TRY(expect_byte(line, ' '));
    }
    h->reason.off = (uint32_t)(start + line->off);
    h->reason.len = (uint32_t)vg_rd_left(line);
    while (vg_rd_u8(line, &c) == 0) {
        VG_ENSURE(is_field_byte(c), VG_EPROTO);
    }
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS  (RFC 9112 5) */
static int
parse_field_line(struct vg_rd *line, size_t start, struct vg_http_field *f)
{
    size_t name_len = 0, vstart, vend;
    uint8_t c = 0;

    /* Obsolete line folding or whitespace after the start line (RFC 9112 2.2, 5.2): reject. */
    while (vg_rd_u8(line, &c) == 0 && c != ':') {
        VG_ENSURE(is_tchar(c), VG_EPROTO);
        name_len++;
    }
    VG_ENSURE(c == ':' && name_len > 0, VG_EPROTO);
    f->name.off = (uint32_t)start;
    f->name.len = (uint32_t)name_len;

    while (vg_rd_peek(line, &c) == 0 && vg__http1_is_blank(c)) {
        VG_TRY(vg_rd_skip(line, 1));
    }
    vstart = line->off;
    vend = vstart;
    while (vg_rd_u8(line, &c) == 0) {
        VG_ENSURE(is_field_byte(c), VG_EPROTO);
        if (!vg__http1_is_blank(c)) {
            vend = line->off;
        }
    }
    f->value.off = (uint32_t)(start + vstart);
    f->value.len = (uint32_t)(vend - vstart);
    return 0;
}

int
vg_http_parse_head(const uint8_t *p, size_t len, struct vg_http_head *h)
{
    struct vg_rd rd, line;
    size_t start;
    int rc;

    h->n_fields = 0;
    h->head_len = 0;
    vg_rd_init(&rd, p, len < VG_HTTP_HEAD_MAX ? len : VG_HTTP_HEAD_MAX);

    rc = next_line(&rd, &line, &start);
    if (rc == VG_EMORE) {
        goto incomplete;
    }
    VG_TRY(rc);
    VG_TRY(parse_status_line(&line, start, h));

    for (;;) {
        rc = next_line(&rd, &line, &start);
        if (rc == VG_EMORE) {
            goto incomplete;
        }
        VG_TRY(rc);
        if (vg_rd_done(&line)) {
            break;
        }
        VG_ENSURE(h->n_fields < VG_HTTP_MAX_HEADERS, VG_ETOOBIG);
        VG_TRY(parse_field_line(&line, start, &h->fields[h->n_fields]));
        h->n_fields++;
    }
    h->head_len = rd.off;
    return 0;

incomplete:
    return len >= VG_HTTP_HEAD_MAX ? VG_ETOOBIG : VG_EMORE;
}

static bool
slice_caseeq(const uint8_t *p, struct vg_http_slice s, const char *str)
{
    size_t n = strlen(str);

    return s.len == n && vg_strncaseeq((const char *)p + s.off, str, n);
}

const struct vg_http_field *
vg_http_head_get(const struct vg_http_head *h, const uint8_t *p, const char *name)
{
    for (size_t i = 0; i < h->n_fields; i++) {
        if (slice_caseeq(p, h->fields[i].name, name)) {
            return &h->fields[i];
        }
    }
    return NULL;
}

/*
 * Take the next element of a comma-separated list (RFC 9110 5.6.1) from rd, with OWS removed:
 * *el is a reader over it (possibly empty). Returns 1 while elements remain, 0 at the end.
 */
static int
next_list_element(struct vg_rd *rd, struct vg_rd *el)
{
    const uint8_t *bytes;
    size_t rel, n, lead = 0;
    uint8_t c;

    if (vg_rd_done(rd)) {
        return 0;
    }
    if (vg_rd_find(rd, ",", 1, &rel) != 0) {
        rel = vg_rd_left(rd);
    }
    VG_TRY(vg_rd_bytes(rd, rel, &bytes));
    if (!vg_rd_done(rd)) {
        VG_TRY(vg_rd_skip(rd, 1)); /* the comma */
    }
    n = rel;
    vg_rd_init(el, bytes, n);
    while (vg_rd_u8(el, &c) == 0 && vg__http1_is_blank(c)) {
        lead++;
    }
    /* Trailing OWS: walk back from the end through the reader. */
    while (n > lead) {
        VG_TRY(vg_rd_seek(el, n - 1));
        VG_TRY(vg_rd_peek(el, &c));
        if (!vg__http1_is_blank(c)) {
            break;
        }
        n--;
    }
    vg_rd_init(el, bytes, n);
    VG_TRY(vg_rd_skip(el, lead < n ? lead : n));
    return 1;
}

/* The last non-empty coding of all Transfer-Encoding fields is chunked (RFC 9112 6.1). */
static int
te_is_chunked(const struct vg_http_head *h, const uint8_t *p, bool *present, bool *chunked)
{
    *present = false;
    *chunked = false;
    for (size_t i = 0; i < h->n_fields; i++) {
        const struct vg_http_field *f = &h->fields[i];
        struct vg_rd list, el;
        int more;

        if (!slice_caseeq(p, f->name, "transfer-encoding")) {
            continue;
        }
        *present = true;
        vg_rd_init(&list, p + f->value.off, f->value.len);
        while ((more = next_list_element(&list, &el)) == 1) {
            const uint8_t *tok;
            size_t n = vg_rd_left(&el);

            if (n == 0) {
                continue; /* empty list elements are allowed and ignored */
            }
            VG_TRY(vg_rd_bytes(&el, n, &tok));
            *chunked = n == 7 && vg_strncaseeq((const char *)tok, "chunked", 7);
        }
        VG_TRY(more);
    }
    return 0;
}

/*
 * Content-Length (RFC 9110 8.6, RFC 9112 6.3): one decimal value, which may be repeated in several
 * fields or as a list ("5, 5") provided every copy is the same. Empty list elements are ignored as
 * in any list (RFC 9110 5.6.1), but at least one value must be there.
 */
static int
content_length(const struct vg_http_head *h, const uint8_t *p, bool *present, uint64_t *length)
{
    *present = false;
    *length = 0;
    for (size_t i = 0; i < h->n_fields; i++) {
        const struct vg_http_field *f = &h->fields[i];
        struct vg_rd list, el;
        bool seen = false;
        int more;

        if (!slice_caseeq(p, f->name, "content-length")) {
            continue;
        }
        vg_rd_init(&list, p + f->value.off, f->value.len);
        while ((more = next_list_element(&list, &el)) == 1) {
            const uint8_t *digits;
            uint64_t v;
            size_t n;
            uint8_t c;

            /* Leading zeros carry no value; drop them so that only the magnitude is bounded. */
            while (vg_rd_left(&el) > 1 && vg_rd_peek(&el, &c) == 0 && c == '0') {
                VG_TRY(vg_rd_skip(&el, 1));
            }
            n = vg_rd_left(&el);
            if (n == 0) {
                continue;
            }
            VG_TRY(vg_rd_bytes(&el, n, &digits));
            VG_ENSURE(vg_parse_u64n((const char *)digits, n, 0, INT64_MAX, &v) == 0, VG_EPROTO);
            VG_ENSURE(!*present || v == *length, VG_EPROTO);
            *present = true;
            *length = v;
            seen = true;
        }
        VG_TRY(more);
        VG_ENSURE(seen, VG_EPROTO);
    }
    return 0;
}

int
vg_http_framing(const struct vg_http_head *h, const uint8_t *p, bool head_request,
                enum vg_http_framing *framing, uint64_t *length)
{
    bool te, chunked, cl;
    uint64_t n;

    *framing = VG_HTTP_BODY_CLOSE;
    *length = 0;
    /* RFC 9112 6.3 rule 1: these responses never have content, whatever the fields say. */
    if (head_request || h->status < 200 || h->status == 204 || h->status == 304) {
        *framing = VG_HTTP_BODY_NONE;
        return 0;
    }
    VG_TRY(te_is_chunked(h, p, &te, &chunked));
    if (te) {
        /* Rule 3: Transfer-Encoding overrides Content-Length. */
        VG_ENSURE(chunked, VG_EPROTO);
        *framing = VG_HTTP_BODY_CHUNKED;
        return 0;
    }
    VG_TRY(content_length(h, p, &cl, &n));
    if (cl) {
        *framing = VG_HTTP_BODY_LENGTH;
        *length = n;
    }
    return 0;
}

/* Chunked decoder states (RFC 9112 7.1). */
enum {
    CH_SIZE,       /* chunk-size hex digits */
    CH_SIZE_BWS,   /* blanks after the size, before ';' or the line end */
    CH_EXT,        /* chunk extensions, up to the line end */
    CH_SIZE_LF,    /* CR seen at the end of the size line */
    CH_DATA,       /* chunk data */
    CH_DATA_END,   /* CR or LF after the data */
    CH_DATA_LF,    /* CR seen after the data */
    CH_TRAILER,    /* a trailer field line, or the final empty line */
    CH_TRAILER_LF, /* CR seen at the end of a trailer line */
    CH_DONE,
};

void
vg_chunked_init(struct vg_chunked *c)
{
    c->state = CH_SIZE;
    c->remaining = 0;
    c->line_len = 0;
    c->line_nonempty = false;
}

/* Account one more byte of a size or trailer line. */
static int
line_byte(struct vg_chunked *c)
{
    c->line_len++;
    VG_ENSURE(c->line_len <= VG_HTTP_CHUNK_LINE_MAX, VG_ETOOBIG);
    return 0;
}

/* The size line ended: go to the data, or to the trailer section after the last chunk. */
static void
size_line_done(struct vg_chunked *c)
{
    c->line_len = 0;
    c->line_nonempty = false;
    c->state = c->remaining > 0 ? CH_DATA : CH_TRAILER;
}

/*
 * Account one more byte of the trailer section. It is a field section like the head, so it is
 * bounded the same way; remaining, unused after the last chunk, counts its bytes.
 */
static int
trailer_byte(struct vg_chunked *c)
{
    c->remaining++;
    VG_ENSURE(c->remaining <= VG_HTTP_HEAD_MAX, VG_ETOOBIG);
    return 0;
}

/* A trailer line ended; the empty one closes the message. */
static void
trailer_line_done(struct vg_chunked *c)
{
    c->state = c->line_nonempty ? CH_TRAILER : CH_DONE;
    c->line_len = 0;
    c->line_nonempty = false;
}

/* One byte of any line-oriented state. */
static int
chunked_byte(struct vg_chunked *c, uint8_t b)
{
    int v;

    switch (c->state) {
    case CH_SIZE:
        v = vg_hexval(b);
        if (v >= 0) {
            VG_TRY(line_byte(c));
            /* The size must fit 63 bits so that it converts safely to off_t and int64_t. */
            VG_ENSURE(c->remaining <= (uint64_t)INT64_MAX >> 4, VG_ETOOBIG);
            c->remaining = c->remaining << 4 | (uint64_t)v;
            c->line_nonempty = true;
            return 0;
        }
        VG_ENSURE(c->line_nonempty, VG_EPROTO);
        /* FALLTHROUGH */
    case CH_SIZE_BWS:
        if (vg__http1_is_blank(b)) {
            c->state = CH_SIZE_BWS;
            return line_byte(c);
        }
        if (b == ';') {
            c->state = CH_EXT;
            return line_byte(c);
        }
        if (b == '\r') {
            c->state = CH_SIZE_LF;
            return 0;
        }
        VG_ENSURE(b == '\n', VG_EPROTO);
        size_line_done(c);
        return 0;
    case CH_EXT:
        if (b == '\r') {
            c->state = CH_SIZE_LF;
            return 0;
        }
        if (b == '\n') {
            size_line_done(c);
            return 0;
        }
        VG_ENSURE(is_field_byte(b), VG_EPROTO);
        return line_byte(c);
    case CH_SIZE_LF:
        VG_ENSURE(b == '\n', VG_EPROTO);
        size_line_done(c);
        return 0;
    case CH_DATA_END:
        if (b == '\r') {
            c->state = CH_DATA_LF;
            return 0;
        }
        /* FALLTHROUGH */
    case CH_DATA_LF:
        VG_ENSURE(b == '\n', VG_EPROTO);
        c->state = CH_SIZE;
        c->remaining = 0;
        c->line_len = 0;
        c->line_nonempty = false;
        return 0;
    case CH_TRAILER:
        VG_TRY(trailer_byte(c));
        if (b == '\r') {
            c->state = CH_TRAILER_LF;
            return 0;
        }
        if (b == '\n') {
            trailer_line_done(c);
            return 0;
        }
        /* No obs-fold, and no control bytes, as in the head. */
        VG_ENSURE(is_field_byte(b) && (c->line_nonempty || !vg__http1_is_blank(b)), VG_EPROTO);
        c->line_nonempty = true;
        return line_byte(c);
    case CH_TRAILER_LF:
        VG_TRY(trailer_byte(c));
        VG_ENSURE(b == '\n', VG_EPROTO);
        trailer_line_done(c);
        return 0;
    default:
        return VG_EINTERNAL;
    }
}

int
vg_chunked_decode(struct vg_chunked *c, uint8_t *buf, size_t len, size_t *out_len, size_t *consumed)
{
    struct vg_rd rd;
    size_t out = 0;
    int rc = 0;

    vg_rd_init(&rd, buf, len);
    while (rc == 0 && c->state != CH_DONE && !vg_rd_done(&rd)) {
        if (c->state == CH_DATA) {
            const uint8_t *src;
            size_t n = vg_rd_left(&rd);

            if (n > c->remaining) {
                n = (size_t)c->remaining;
            }
            rc = vg_rd_bytes(&rd, n, &src);
            if (rc == 0) {
                /* Output never overtakes input (out <= rd.off), so moving in place is safe. */
                memmove(&buf[out], src, n);
                out += n;
                c->remaining -= n;
                if (c->remaining == 0) {
                    c->state = CH_DATA_END;
                }
            }
        } else {
            uint8_t b;

            rc = vg_rd_u8(&rd, &b);
            if (rc == 0) {
                rc = chunked_byte(c, b);
            }
        }
    }
    *out_len = out;
    *consumed = rd.off;
    if (rc < 0) {
        return rc;
    }
    return c->state == CH_DONE ? 1 : 0;
}
