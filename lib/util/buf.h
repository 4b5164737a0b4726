/* SPDX-License-Identifier: MIT */
/*
 * buf.h - growable byte buffer with a hard maximum (curl dynbuf idea).
 * The buffer owns its storage; vg_buf_cleanup() releases it.
 */
#ifndef VG_UTIL_BUF_H
#define VG_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct vg_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* appends past max fail with VG_ETOOBIG */
};

void vg_buf_init(struct vg_buf *b, size_t max);
void vg_buf_cleanup(struct vg_buf *b);
void vg_buf_reset(struct vg_buf *b); /* len = 0, storage kept */
VG_MUST_USE int vg_buf_append(struct vg_buf *b, const void *p, size_t n);
VG_MUST_USE int vg_buf_appendf(struct vg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Make room for n more bytes; *out points at them (len unchanged). */
VG_MUST_USE int vg_buf_reserve(struct vg_buf *b, size_t n, uint8_t **out);
/* Drop the first n bytes (n <= len). */
void vg_buf_consume(struct vg_buf *b, size_t n);
/* Release unused capacity beyond len (keeps idle memory small). */
void vg_buf_shrink(struct vg_buf *b);
/* NUL-terminated view (appends a NUL not counted in len); NULL if over max. */
const char *vg_buf_cstr(struct vg_buf *b);

#endif
