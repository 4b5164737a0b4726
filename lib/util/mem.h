/* SPDX-License-Identifier: MIT */
/*
 * mem.h - allocation. Out of memory aborts (house style error class b): every
 * size derived from a peer is bounded (limits.h) before it reaches these.
 */
#ifndef VG_UTIL_MEM_H
#define VG_UTIL_MEM_H

#include <stddef.h>
#include <stdlib.h>

void *vg_xmalloc(size_t n);
void *vg_xcalloc(size_t n, size_t size);
void *vg_xrealloc(void *p, size_t n);
void *vg_xreallocarray(void *p, size_t n, size_t size);
char *vg_xstrdup(const char *s);
char *vg_xstrndup(const char *s, size_t n);
void *vg_xmemdup(const void *p, size_t n);

/* Free and clear a pointer; free(NULL) is a no-op, so no test is needed. */
#define VG_FREE(p)  \
    do {            \
        free(p);    \
        (p) = NULL; \
    } while (0)

#endif
