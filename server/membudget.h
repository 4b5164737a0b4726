/* SPDX-License-Identifier: MIT */
/*
 * membudget.h - the memory vigie serve's uploads hold, counted against one collector-wide budget
 * (--max-memory, docs/api.md "Memory"). Every request has an account; it takes bytes from the
 * budget before it allocates them (its body as sent and decompressed, its parse trees, the
 * measurements waiting for their commit, its answer) and gives them back when it frees them, all
 * of them at the latest when the request ends. A request that cannot take what it needs is
 * refused: 503 when other requests hold the memory (retry), 413 when it alone needs more.
 *
 * Thread-safe: the budget has its own lock; an account belongs to one request (one thread).
 */
#ifndef VG_SERVER_MEMBUDGET_H
#define VG_SERVER_MEMBUDGET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* What vg_membudget_take answers besides 0. */
#define VG_MEMBUDGET_BUSY   1 /* other requests hold the memory: retry later (503) */
#define VG_MEMBUDGET_TOOBIG 2 /* this request alone would need more than the budget (413) */

struct vg_membudget {
    pthread_mutex_t mu;
    size_t cap;  /* bytes all accounts may hold together */
    size_t used; /* bytes they hold */
    size_t high; /* the most they held at once */
};

/* One request's share of the budget; zeroed (no budget) it takes and counts nothing. */
struct vg_memacct {
    struct vg_membudget *b;
    size_t held;
};

void vg_membudget_init(struct vg_membudget *b, size_t cap);
void vg_membudget_cleanup(struct vg_membudget *b);
/* Bytes held by all accounts now, and the most they held at once. */
void vg_membudget_usage(struct vg_membudget *b, size_t *used, size_t *high);

/* Attach a to b (a request starts with nothing held). */
void vg_membudget_open(struct vg_memacct *a, struct vg_membudget *b);
/* Take n bytes for a: 0, VG_MEMBUDGET_BUSY or VG_MEMBUDGET_TOOBIG (nothing taken then). */
VG_MUST_USE int vg_membudget_take(struct vg_memacct *a, size_t n);
/* Take n bytes for a even past the budget (what is in use already and cannot be refused). */
void vg_membudget_force(struct vg_memacct *a, size_t n);
/* Give n of a's bytes back (at most what a holds). */
void vg_membudget_give(struct vg_memacct *a, size_t n);
/* Give back everything a holds. */
void vg_membudget_close(struct vg_memacct *a);

/*
 * Make room in buf for n more bytes, taking the growth of its storage from a first (storage
 * doubles, or grows to exactly len + n when exact is set). 0, VG_ETOOBIG past buf->max (nothing
 * taken), or VG_MEMBUDGET_BUSY / VG_MEMBUDGET_TOOBIG. Give back buf->cap when freeing buf.
 */
VG_MUST_USE int vg_membudget_grow(struct vg_memacct *a, struct vg_buf *buf, size_t n, bool exact);

#endif
