/* SPDX-License-Identifier: MIT */
/*
 * rd.h - bounded reader over borrowed bytes. Every parser of network bytes
 * reads through it: each read checks the remaining length and fails with
 * VG_ETRUNC instead of running off the end. The reader never owns p.
 */
#ifndef VG_UTIL_RD_H
#define VG_UTIL_RD_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct vg_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
};

static inline void
vg_rd_init(struct vg_rd *rd, const void *p, size_t len)
{
    rd->p = p;
    rd->len = len;
    rd->off = 0;
}

static inline size_t
vg_rd_left(const struct vg_rd *rd)
{
    return rd->len - rd->off;
}

static inline int
vg_rd_done(const struct vg_rd *rd)
{
    return rd->off == rd->len;
}

VG_MUST_USE int vg_rd_u8(struct vg_rd *rd, uint8_t *out);
VG_MUST_USE int vg_rd_u16(struct vg_rd *rd, uint16_t *out); /* network order */
VG_MUST_USE int vg_rd_u32(struct vg_rd *rd, uint32_t *out); /* network order */
/* Borrow n bytes: *out points into the reader's buffer. */
VG_MUST_USE int vg_rd_bytes(struct vg_rd *rd, size_t n, const uint8_t **out);
VG_MUST_USE int vg_rd_copy(struct vg_rd *rd, void *dst, size_t n);
VG_MUST_USE int vg_rd_skip(struct vg_rd *rd, size_t n);
/* Move to absolute offset off (<= len); used by DNS compression pointers. */
VG_MUST_USE int vg_rd_seek(struct vg_rd *rd, size_t off);
/* Peek at the next byte without consuming it. */
VG_MUST_USE int vg_rd_peek(const struct vg_rd *rd, uint8_t *out);
/*
 * Find the first occurrence of needle at or after the cursor; on success the
 * returned value is the offset relative to the cursor. VG_EMORE if absent.
 */
VG_MUST_USE int vg_rd_find(const struct vg_rd *rd, const void *needle, size_t nlen, size_t *rel);

#endif
