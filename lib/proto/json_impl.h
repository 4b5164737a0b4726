/* SPDX-License-Identifier: MIT */
/*
 * json_impl.h - what json.c (the document, its arena, the parse through yajl) shares with
 * json_direct.c (the parse of a valid text without yajl): internal to lib/proto's JSON reader.
 */
#ifndef VG_PROTO_JSON_IMPL_H
#define VG_PROTO_JSON_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_parse.h>

#include "proto/json.h"
#include "util/limits.h"

#define VG__JSON_STR2(x) #x
#define VG__JSON_STR(x)  VG__JSON_STR2(x)
#define VG__JSON_NOWHERE SIZE_MAX /* why_at of an error that is not at a byte */

struct vg__json_block {
    struct vg__json_block *next;
    size_t cap; /* bytes after the header */
};

struct vg__json_frame {
    struct vg_json *node; /* the open array or object */
    struct vg_json *last; /* its last child so far */
};

struct vg_json_doc {
    /* arena */
    struct vg__json_block *first; /* list of every block held */
    struct vg__json_block *cur;   /* block being filled; NULL before the first allocation */
    unsigned char *pos, *end;     /* free bytes of cur */
    size_t held;                  /* sum of the caps of every block in the list */
    size_t used;                  /* sum of the caps of the blocks up to cur (this parse) */
    /* parse state */
    const unsigned char *in; /* the input of the parse under way */
    size_t in_len;
    yajl_handle h;
    struct vg_json *root;
    size_t last_end; /* offset past the last string (key or value): the next one opens after it */
    size_t root_end; /* offset past the root value, once complete */
    const char *key; /* name for the next value inside an object */
    uint32_t key_len;
    unsigned depth;
    struct vg__json_frame stack[VG_JSON_DEPTH_MAX];
    /* error set by a callback (yajl then reports client_canceled) */
    const char *why; /* "invalid JSON at byte why_at: why", or why alone with why_at SIZE_MAX */
    size_t why_at;
    bool oom; /* the arena lacked memory, not room */
};

/* n bytes (rounded up to 8, 8-aligned) from the arena; NULL when the document is too large. */
void *vg__json_alloc(struct vg_json_doc *d, size_t n);
/* Link node n, of type t, as the next value: the root, or the last child of the open container. */
void vg__json_link(struct vg_json_doc *d, struct vg_json *n, enum vg_json_type t);
/* The string whose opening quote is at o and which ends before lim: a name when an object waits
 * for one, else a value; 0 to stop the parse (d->why says why). d->last_end is then past it. */
int vg__json_string_at(struct vg_json_doc *d, size_t o, size_t lim);

/*
 * The tree of d->in[d->in_len] (d reset for a parse), built without yajl (json_direct.c): the
 * same nodes, in the same arena allocations, as the parse through yajl builds, for a text that
 * is valid JSON, RFC 8259's grammar with its four whitespace bytes only. NULL for anything else
 * (a text with an error, or past a limit): the caller then parses it through yajl, which says
 * what is wrong and where.
 */
const struct vg_json *vg__json_direct(struct vg_json_doc *d);

#endif
