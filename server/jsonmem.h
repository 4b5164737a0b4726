/* SPDX-License-Identifier: MIT */
/*
 * jsonmem.h - untrusted JSON read by the collector within bounded memory (docs/api.md, "Memory").
 * A parse tree (jansson) costs tens of times its text when the text is made of small values, so
 * the text is first checked without parsing it (vg_jsonmem_check: how many values, how deep),
 * then parsed in a scope (vg_jsonmem_begin/_end) where jansson's allocations of this thread come
 * from an arena: charged to the request's account (membudget.h) before they are made, capped per
 * scope, and all returned at once when the scope ends.
 *
 * Ownership: everything jansson allocates inside a scope (the tree, its strings) is released by
 * vg_jsonmem_end and must not be used after it; vg_jsonmem_dumps hands out C-library memory.
 */
#ifndef VG_SERVER_JSONMEM_H
#define VG_SERVER_JSONMEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "membudget.h"
#include "proto/json.h"
#include "util/buf.h"
#include "util/err.h"

struct vg__jm_chunk;
struct vg__jm_big;

/* One scope; fields private (jsonmem.c). */
struct vg_jsonmem {
    struct vg_memacct *acct;     /* charged; NULL: only the cap applies */
    size_t cap;                  /* bytes the arena may hold */
    size_t held;                 /* bytes the arena holds (all charged to acct) */
    size_t reserve;              /* taken from acct for the parse under way, not used yet */
    size_t forced;               /* taken past the reservation: the estimate fell short (0) */
    bool loading;                /* in json_loadb: allocations must not fail */
    size_t text;                 /* bytes of vg_jsonmem_dumps text charged to acct */
    size_t tree;                 /* charged for the vg_jsonmem_parse trees of the scope */
    struct vg__jm_chunk *chunks; /* newest first */
    struct vg__jm_big *big;      /* large blocks, each allocated on its own */
    unsigned char *pos, *end;    /* free space of the newest chunk */
    struct vg_jsonmem *prev;     /* the scope this one interrupted (none in practice) */
    bool over;                   /* an allocation would have passed cap */
    bool limited;                /* vg_jsonmem_load refused a text over the JSON limits */
    int refused;                 /* the account refused an allocation: VG_MEMBUDGET_BUSY/_TOOBIG */
};

/* What vg_jsonmem_check found. */
struct vg_jsonmem_shape {
    size_t values;  /* an upper bound of the values, object keys included */
    size_t longest; /* bytes of the longest string (quotes included) or run of other bytes
                       outside strings (a number's) */
};

/*
 * Count the values (object keys included), the nesting depth and the longest string of the JSON
 * text p[len] without parsing it, as bounds of what a parse would build. 0 with *shape filled
 * in, or VG_ETOOBIG with err saying which limit was passed. Invalid JSON passes: the parser says
 * what is wrong with it.
 */
VG_MUST_USE int vg_jsonmem_check(const char *p, size_t len, size_t max_values, unsigned max_depth,
                                 struct vg_jsonmem_shape *shape, char *err, size_t errlen);
/* An upper bound of what jansson allocates to parse a text of len bytes and this shape. */
size_t vg_jsonmem_estimate(size_t len, const struct vg_jsonmem_shape *shape);

/* Start a scope on this thread: jansson allocates from an arena of at most cap bytes, each of
 * them taken from acct (NULL: none) before use. Ends with vg_jsonmem_end on the same thread. */
void vg_jsonmem_begin(struct vg_jsonmem *jm, struct vg_memacct *acct, size_t cap);
/*
 * End the scope: the arena is freed and its bytes given back to acct, together with the text
 * of vg_jsonmem_dumps but kept bytes, which stay charged to acct for the caller to give back.
 */
void vg_jsonmem_end(struct vg_jsonmem *jm, size_t kept);

/*
 * json_loadb of p[len] after vg_jsonmem_check with the collector's limits (util/limits.h). In a
 * scope, the estimate of the parse is taken from the account before it starts (jansson does not
 * survive every failed allocation: none fails during the parse). NULL on failure with jerr filled
 * in, and *toobig set when a limit, the scope's cap or its account refused the text (jerr->text
 * then says which; the scope remembers it).
 */
json_t *vg_jsonmem_load(const char *p, size_t len, size_t flags, json_error_t *jerr, bool *toobig);

/*
 * json_dumps(m, JSON_COMPACT) into C-library memory (free it with free()): *out, NUL-terminated,
 * of *len bytes. Inside a scope its bytes (*len + 1) are taken from the scope's account and
 * given back by vg_jsonmem_end unless kept. 0, VG_ETOOBIG when longer than max, VG_EINVAL when m
 * cannot be serialised or the account refused the bytes (the scope says so).
 */
VG_MUST_USE int vg_jsonmem_dumps(json_t *m, size_t max, char **out, size_t *len);

/*
 * The fast reader's parse (proto/json.h vg_json_parse) of p[len] in the scope, after
 * vg_jsonmem_check with the collector's limits: the estimate of its tree is taken from the
 * scope's account and cap before it starts and held until vg_jsonmem_end, until which the tree
 * (in a document of the calling thread's, reused from one scope to the next) stays valid; the
 * parse may not be used once the scope ends. Repeated names and NUL bytes (\u0000) are refused
 * (vg_json_strict), as jansson's parse with JSON_REJECT_DUPLICATES does. NULL on failure with
 * err saying why, and *toobig set when a limit, the scope's cap or its account refused the text
 * (the scope remembers it). Outside a scope, only the limits apply.
 */
const struct vg_json *vg_jsonmem_parse(const char *p, size_t len, char *err, size_t errlen,
                                       bool *toobig);

/*
 * A text written into C-library memory within the scope's account (what vg_jsonmem_dumps
 * writes with; vg_jsonmem_put is a vg_json_put_fn): begin with room for hint bytes, put, then
 * finish. Fields private.
 */
struct vg_jsonmem_out {
    struct vg_buf b;
    struct vg_memacct *acct; /* the scope's account, or none */
    struct vg_memacct none;
    int refused;
};
void vg_jsonmem_out_begin(struct vg_jsonmem_out *o, size_t max, size_t hint);
int vg_jsonmem_put(const char *p, size_t n, void *arg);
/*
 * ok: the text is complete; *out (NUL-terminated, free() it) of *len bytes, charged like
 * vg_jsonmem_dumps's (given back by vg_jsonmem_end unless kept): 0. Else (or when a put failed)
 * the storage is released: VG_ETOOBIG past max, VG_EINVAL otherwise (a refusal of the account is
 * remembered by the scope).
 */
VG_MUST_USE int vg_jsonmem_out_end(struct vg_jsonmem_out *o, bool ok, char **out, size_t *len);

/* True when the scope's cap or account refused an allocation (the work is incomplete). */
bool vg_jsonmem_failed(const struct vg_jsonmem *jm);
/* True when the text read in the scope was too large to read: over the JSON limits or the cap
 * (413 rather than 400). */
bool vg_jsonmem_toobig(const struct vg_jsonmem *jm);

#endif
