/* SPDX-License-Identifier: MIT */
#include "util/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void
vg__oom(size_t n)
{
    fprintf(stderr, "vigie: out of memory (%zu bytes)\n", n);
    abort();
}

void *
vg_xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);

    if (p == NULL) {
        vg__oom(n);
    }
    return p;
}

void *
vg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

    if (p == NULL) {
        vg__oom(n * size);
    }
    return p;
}

void *
vg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);

    if (q == NULL) {
        vg__oom(n);
    }
    return q;
}

void *
vg_xreallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        vg__oom(SIZE_MAX);
    }
    return vg_xrealloc(p, n * size);
}

char *
vg_xstrdup(const char *s)
{
    return vg_xmemdup(s, strlen(s) + 1);
}

char *
vg_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = vg_xmalloc(len + 1);

    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void *
vg_xmemdup(const void *p, size_t n)
{
    void *d = vg_xmalloc(n);

    if (n > 0) {
        memcpy(d, p, n);
    }
    return d;
}
