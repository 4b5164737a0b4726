/* SPDX-License-Identifier: MIT */
#include "util/rd.h"

#include <string.h>

int
vg_rd_u8(struct vg_rd *rd, uint8_t *out)
{
    VG_ENSURE(vg_rd_left(rd) >= 1, VG_ETRUNC);
    *out = rd->p[rd->off];
    rd->off += 1;
    return 0;
}

int
vg_rd_u16(struct vg_rd *rd, uint16_t *out)
{
    VG_ENSURE(vg_rd_left(rd) >= 2, VG_ETRUNC);
    *out = (uint16_t)((unsigned)rd->p[rd->off] << 8 | rd->p[rd->off + 1]);
    rd->off += 2;
    return 0;
}

int
vg_rd_u32(struct vg_rd *rd, uint32_t *out)
{
    VG_ENSURE(vg_rd_left(rd) >= 4, VG_ETRUNC);
    *out = (uint32_t)rd->p[rd->off] << 24 | (uint32_t)rd->p[rd->off + 1] << 16 |
           (uint32_t)rd->p[rd->off + 2] << 8 | (uint32_t)rd->p[rd->off + 3];
    rd->off += 4;
    return 0;
}

int
vg_rd_bytes(struct vg_rd *rd, size_t n, const uint8_t **out)
{
    VG_ENSURE(vg_rd_left(rd) >= n, VG_ETRUNC);
    *out = rd->p + rd->off;
    rd->off += n;
    return 0;
}

int
vg_rd_copy(struct vg_rd *rd, void *dst, size_t n)
{
    const uint8_t *src;

    VG_TRY(vg_rd_bytes(rd, n, &src));
    if (n > 0) {
        memcpy(dst, src, n);
    }
    return 0;
}

int
vg_rd_skip(struct vg_rd *rd, size_t n)
{
    VG_ENSURE(vg_rd_left(rd) >= n, VG_ETRUNC);
    rd->off += n;
    return 0;
}

int
vg_rd_seek(struct vg_rd *rd, size_t off)
{
    VG_ENSURE(off <= rd->len, VG_ETRUNC);
    rd->off = off;
    return 0;
}

int
vg_rd_peek(const struct vg_rd *rd, uint8_t *out)
{
    VG_ENSURE(vg_rd_left(rd) >= 1, VG_ETRUNC);
    *out = rd->p[rd->off];
    return 0;
}

int
vg_rd_find(const struct vg_rd *rd, const void *needle, size_t nlen, size_t *rel)
{
    size_t left = vg_rd_left(rd);
    const uint8_t *hay, *hit;

    VG_ENSURE(nlen > 0, VG_EINVAL);
    /* An empty reader may have no buffer at all: no pointer arithmetic on it. */
    if (left < nlen) {
        return VG_EMORE;
    }
    hay = rd->p + rd->off;
    hit = memmem(hay, left, needle, nlen);
    if (hit == NULL) {
        return VG_EMORE;
    }
    *rel = (size_t)(hit - hay);
    return 0;
}
