/* SPDX-License-Identifier: MIT */
/*
 * membudget.c - the collector-wide memory budget of uploads and the requests' accounts
 * (membudget.h).
 */
#include "membudget.h"

#include <stdint.h>

#include "util/mem.h"

void
vg_membudget_init(struct vg_membudget *b, size_t cap)
{
    pthread_mutex_init(&b->mu, NULL);
    b->cap = cap;
    b->used = 0;
    b->high = 0;
}

void
vg_membudget_cleanup(struct vg_membudget *b)
{
    pthread_mutex_destroy(&b->mu);
}

void
vg_membudget_usage(struct vg_membudget *b, size_t *used, size_t *high)
{
    pthread_mutex_lock(&b->mu);
    *used = b->used;
    *high = b->high;
    pthread_mutex_unlock(&b->mu);
}

void
vg_membudget_open(struct vg_memacct *a, struct vg_membudget *b)
{
    a->b = b;
    a->held = 0;
}

int
vg_membudget_take(struct vg_memacct *a, size_t n)
{
    struct vg_membudget *b = a->b;
    int rc = 0;

    if (b == NULL || n == 0) {
        return 0;
    }
    if (n > b->cap || a->held > b->cap - n) {
        return VG_MEMBUDGET_TOOBIG; /* cap is constant: no lock needed */
    }
    pthread_mutex_lock(&b->mu);
    if (b->used > b->cap - n) {
        rc = VG_MEMBUDGET_BUSY;
    } else {
        b->used += n;
        a->held += n;
        if (b->used > b->high) {
            b->high = b->used;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void
vg_membudget_force(struct vg_memacct *a, size_t n)
{
    struct vg_membudget *b = a->b;

    if (b == NULL || n == 0) {
        return;
    }
    pthread_mutex_lock(&b->mu);
    b->used += n;
    if (b->used > b->high) {
        b->high = b->used;
    }
    pthread_mutex_unlock(&b->mu);
    a->held += n;
}

void
vg_membudget_give(struct vg_memacct *a, size_t n)
{
    struct vg_membudget *b = a->b;

    if (b == NULL || n == 0) {
        return;
    }
    if (n > a->held) {
        n = a->held;
    }
    pthread_mutex_lock(&b->mu);
    b->used -= n;
    pthread_mutex_unlock(&b->mu);
    a->held -= n;
}

void
vg_membudget_close(struct vg_memacct *a)
{
    vg_membudget_give(a, a->held);
}

int
vg_membudget_grow(struct vg_memacct *a, struct vg_buf *buf, size_t n, bool exact)
{
    size_t need, ncap, old = buf->cap;
    int rc;

    if (n > buf->max || buf->len > buf->max - n) {
        return VG_ETOOBIG;
    }
    need = buf->len + n;
    if (need <= buf->cap) {
        return 0;
    }
    ncap = need;
    if (!exact) {
        ncap = buf->cap < 4096 ? 4096 : buf->cap;
        while (ncap < need) {
            ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
        }
        if (ncap > buf->max) {
            ncap = buf->max; /* need <= max */
        }
    }
    /* The growth is taken before it exists. Large storage grows in place (glibc remaps it: see
     * vg_collector_start), small storage may be copied: a few KiB, for a moment. */
    rc = vg_membudget_take(a, ncap - old);
    if (rc != 0) {
        return rc;
    }
    buf->data = vg_xrealloc(buf->data, ncap);
    buf->cap = ncap;
    return 0;
}
