/* SPDX-License-Identifier: MIT */
/*
 * http1.h - HTTP/1.x response head parser, body framing and chunked decoder (RFC 9112), no I/O.
 *
 * The head parser is incremental in the simplest way: call it again with the longer buffer until it
 * stops returning VG_EMORE. It never reads past len and never allocates; header fields are
 * (offset, length) slices of the caller's buffer.
 */
#ifndef VG_PROTO_HTTP1_H
#define VG_PROTO_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/limits.h"

struct vg_http_slice {
    uint32_t off;
    uint32_t len;
};

struct vg_http_field {
    struct vg_http_slice name;
    struct vg_http_slice value; /* leading and trailing blanks removed */
};

struct vg_http_head {
    int minor_version; /* 0 or 1 */
    int status;        /* 100..999 */
    struct vg_http_slice reason;
    size_t head_len; /* bytes of status line + fields + empty line */
    size_t n_fields;
    struct vg_http_field fields[VG_HTTP_MAX_HEADERS];
};

/*
 * Parse the response head at the start of p[len]. Lines may end in CRLF or a bare LF. Obsolete line
 * folding is rejected.
 * Returns 0 with h filled when the empty line was seen; VG_EMORE when more bytes are needed and len
 * is below VG_HTTP_HEAD_MAX; VG_ETOOBIG when the head does not end within VG_HTTP_HEAD_MAX bytes or
 * has more than VG_HTTP_MAX_HEADERS fields; VG_EPROTO for a malformed status line or field.
 */
VG_MUST_USE int vg_http_parse_head(const uint8_t *p, size_t len, struct vg_http_head *h);

/* First field named name (ASCII case-insensitive); NULL if absent. */
const struct vg_http_field *vg_http_head_get(const struct vg_http_head *h, const uint8_t *p,
                                             const char *name);

enum vg_http_framing {
    VG_HTTP_BODY_NONE,    /* 1xx, 204, 304 or a HEAD request: no body */
    VG_HTTP_BODY_LENGTH,  /* Content-Length bytes */
    VG_HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    VG_HTTP_BODY_CLOSE,   /* until the connection closes */
};

/*
 * How the body of this response is delimited. For VG_HTTP_BODY_LENGTH *length gets the value.
 * Errors: VG_EPROTO for an invalid or conflicting Content-Length, or a Transfer-Encoding other than
 * chunked as the final coding.
 */
VG_MUST_USE int vg_http_framing(const struct vg_http_head *h, const uint8_t *p, bool head_request,
                                enum vg_http_framing *framing, uint64_t *length);

/* Chunked transfer coding decoder state (RFC 9112 7.1). */
struct vg_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    size_t line_len;    /* bytes of the current size/trailer line seen so far */
    bool line_nonempty;
};

void vg_chunked_init(struct vg_chunked *c);

/*
 * Decode in place: buf[len] holds raw input; the decoded data is moved to the start of buf and
 * *out_len gets its length; *consumed gets the input bytes used (less than len only when done).
 * Returns 1 when the last chunk and the trailer section were consumed, 0 when more input is needed,
 * VG_EPROTO for a malformed size line or missing CRLF after data, VG_ETOOBIG for a chunk size that
 * does not fit 63 bits or a size/trailer line longer than VG_HTTP_CHUNK_LINE_MAX.
 */
VG_MUST_USE int vg_chunked_decode(struct vg_chunked *c, uint8_t *buf, size_t len, size_t *out_len,
                                  size_t *consumed);

#endif
