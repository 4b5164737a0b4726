/* SPDX-License-Identifier: MIT */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void
vg_buf_init(struct vg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
vg_buf_cleanup(struct vg_buf *b)
{
    VG_FREE(b->data);
    b->len = 0;
    b->cap = 0;
}

void
vg_buf_reset(struct vg_buf *b)
{
    b->len = 0;
}

int
vg_buf_reserve(struct vg_buf *b, size_t n, uint8_t **out)
{
    size_t need, ncap;

    VG_ENSURE(n <= b->max && b->len <= b->max - n, VG_ETOOBIG);
    need = b->len + n;
    if (need > b->cap) {
        ncap = b->cap < 256 ? 256 : b->cap;
        while (ncap < need) {
            ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
        }
        if (ncap > b->max + 1) {
            ncap = b->max + 1; /* +1 leaves room for vg_buf_cstr's NUL */
        }
        if (ncap < need) {
            ncap = need;
        }
        b->data = vg_xrealloc(b->data, ncap);
        b->cap = ncap;
    }
    if (out != NULL) {
        *out = b->data + b->len;
    }
    return 0;
}

int
vg_buf_append(struct vg_buf *b, const void *p, size_t n)
{
    uint8_t *dst;

    if (n == 0) {
        return 0;
    }
    VG_TRY(vg_buf_reserve(b, n, &dst));
    memcpy(dst, p, n);
    b->len += n;
    return 0;
}

int
vg_buf_appendf(struct vg_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    VG_ENSURE(n >= 0, VG_EINVAL);
    if ((size_t)n < sizeof(small)) {
        return vg_buf_append(b, small, (size_t)n);
    }
    {
        uint8_t *dst;

        VG_TRY(vg_buf_reserve(b, (size_t)n + 1, &dst));
        va_start(ap, fmt);
        vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
    }
    return 0;
}

void
vg_buf_consume(struct vg_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void
vg_buf_shrink(struct vg_buf *b)
{
    if (b->len == 0) {
        vg_buf_cleanup(b);
        return;
    }
    if (b->cap > b->len + 1) {
        b->data = vg_xrealloc(b->data, b->len + 1);
        b->cap = b->len + 1;
    }
}

const char *
vg_buf_cstr(struct vg_buf *b)
{
    if (b->len == 0 || b->len >= b->cap) {
        if (b->len + 1 > b->max + 1) {
            return NULL;
        }
        b->data = vg_xrealloc(b->data, b->len + 1);
        b->cap = b->len + 1;
    }
    b->data[b->len] = '\0';
    return (const char *)b->data;
}
