/* SPDX-License-Identifier: MIT */
/*
 * json.c - the tree reader of lib/proto/json.h on top of yajl 2.1's event parser.
 *
 * yajl lexes and checks the grammar (RFC 8259: no comments, nothing after the value, numbers
 * and literals exact) and calls back once per value; each callback bump-allocates one node (and
 * its string or number text) in the document's arena and links it under the open array or object
 * (a fixed stack of VG_JSON_DEPTH_MAX frames). What yajl lets through that RFC 8259 does not, this
 * file refuses:
 *   - UTF-8: yajl's own check (off here: yajl_dont_validate_strings, it is the slower half of
 *     yajl's work) accepts overlong forms, surrogates and code points past U+10FFFF;
 *     vg__json_utf8_ok checks every string and key strictly (Unicode 15, table 3-7).
 *   - \u escapes: yajl turns a lone high surrogate into '?', a lone low one into CESU-8 bytes and
 *     pairs a high surrogate with any following \u. A string with escapes is decoded again here
 *     from its text in the input (vg__json_unescape), and an unpaired surrogate is an error, as in
 *     jansson.
 *   - whitespace: yajl also skips \v and \f; no JSON text contains either byte (inside a string
 *     it is a control character), so the parse stops at the first one.
 * Offsets come from yajl_get_bytes_consumed, which inside a callback is the offset just past the
 * token that caused it (the whole text is given to one yajl_parse call, so it is an offset in the
 * input; yajl_complete_parse only feeds a final " ").
 *
 * The arena is a list of blocks kept from one parse to the next: a parse starts again at the first
 * block, walks on to the next one when the current is full, and allocates a block only past the
 * end of the list (or in place of one too small for a large string). A parse may use at most
 * VG_JSON_ARENA_MAX bytes of blocks; after a parse, blocks it did not reach are freed when the
 * whole list holds more than that, so the arena never keeps more than one such bound.
 */
#include "proto/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "util/limits.h"
#include "util/mem.h"

#define VG__JSON_BLOCK_MIN (64 * 1024)       /* first block */
#define VG__JSON_BLOCK_MAX (8 * 1024 * 1024) /* growth stops here (larger strings excepted) */
#define VG__JSON_STR2(x)   #x
#define VG__JSON_STR(x)    VG__JSON_STR2(x)
#define VG__JSON_NOWHERE   SIZE_MAX /* why_at of an error that is not at a byte */

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
    const char *key; /* name for the next value inside an object */
    uint32_t key_len;
    unsigned depth;
    struct vg__json_frame stack[VG_JSON_DEPTH_MAX];
    /* error set by a callback (yajl then reports client_canceled) */
    const char *why; /* "invalid JSON at byte why_at: why", or why alone with why_at SIZE_MAX */
    size_t why_at;
    bool oom; /* the arena lacked memory, not room */
};

_Static_assert(sizeof(struct vg__json_block) % 16 == 0, "block data stays 16-byte aligned");

/* ---- arena ---------------------------------------------------------------------------------- */

/* The next block for n bytes after cur: the one already there when it is large enough, else a new
 * one (in place of a smaller one). NULL past VG_JSON_ARENA_MAX or when out of memory. */
static struct vg__json_block *
vg__json_block_next(struct vg_json_doc *d, size_t n)
{
    struct vg__json_block **link = d->cur != NULL ? &d->cur->next : &d->first;
    struct vg__json_block *b = *link;
    size_t cap;

    if (b != NULL && b->cap >= n) {
        if (b->cap > VG_JSON_ARENA_MAX - d->used) {
            return NULL;
        }
        return b;
    }
    if (b != NULL) { /* too small for n: replaced */
        *link = b->next;
        d->held -= b->cap;
        free(b);
    }
    cap = d->used < VG__JSON_BLOCK_MIN ? VG__JSON_BLOCK_MIN : d->used;
    cap = cap > VG__JSON_BLOCK_MAX ? VG__JSON_BLOCK_MAX : cap;
    if (cap > VG_JSON_ARENA_MAX - d->used) {
        cap = VG_JSON_ARENA_MAX - d->used;
    }
    if (n > cap) {
        cap = n;
    }
    if (cap > VG_JSON_ARENA_MAX - d->used) {
        return NULL;
    }
    b = malloc(sizeof(*b) + cap);
    if (b == NULL) {
        d->oom = true;
        return NULL;
    }
    b->cap = cap;
    b->next = *link;
    *link = b;
    d->held += cap;
    return b;
}

/* n bytes (rounded up to 8, 8-aligned) from the arena; NULL when the document is too large. */
static void *
vg__json_alloc(struct vg_json_doc *d, size_t n)
{
    struct vg__json_block *b;
    void *p;

    n = (n + 7) & ~(size_t)7;
    if (n <= (size_t)(d->end - d->pos)) {
        p = d->pos;
        d->pos += n;
        return p;
    }
    if (n > VG_JSON_ARENA_MAX || (b = vg__json_block_next(d, n)) == NULL) {
        return NULL;
    }
    d->cur = b;
    d->used += b->cap;
    d->pos = (unsigned char *)(b + 1) + n;
    d->end = (unsigned char *)(b + 1) + b->cap;
    return b + 1;
}

/* Back to an empty tree, the blocks kept (those past cur freed when the list holds too much). */
static void
vg__json_reset(struct vg_json_doc *d)
{
    if (d->held > VG_JSON_ARENA_MAX && d->cur != NULL) {
        struct vg__json_block *b = d->cur->next, *nb;

        d->cur->next = NULL;
        for (; b != NULL; b = nb) {
            nb = b->next;
            d->held -= b->cap;
            free(b);
        }
    }
    d->cur = NULL;
    d->pos = d->end = NULL;
    d->used = 0;
}

struct vg_json_doc *
vg_json_doc_new(void)
{
    return calloc(1, sizeof(struct vg_json_doc));
}

void
vg_json_doc_free(struct vg_json_doc *d)
{
    struct vg__json_block *b, *nb;

    if (d == NULL) {
        return;
    }
    for (b = d->first; b != NULL; b = nb) {
        nb = b->next;
        free(b);
    }
    free(d);
}

size_t
vg_json_doc_memory(const struct vg_json_doc *d)
{
    return d != NULL ? d->held : 0;
}

/* ---- strings -------------------------------------------------------------------------------- */

/* Is s[0..len) UTF-8 as Unicode defines it (no overlong form, surrogate, or code point past
 * U+10FFFF)? Else *bad is the offset of the first byte of the invalid sequence. */
static bool
vg__json_utf8_ok(const unsigned char *s, size_t len, size_t *bad)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i], need, lo = 0x80, hi = 0xBF;

        if (c < 0x80) {
            uint64_t w;

            /* ASCII runs eight bytes at a time */
            while (i + 8 <= len && (memcpy(&w, s + i, 8), (w & 0x8080808080808080u) == 0)) {
                i += 8;
            }
            while (i < len && s[i] < 0x80) {
                i++;
            }
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            *bad = i;
            return false;
        }
        if (len - i <= need || s[i + 1] < lo || s[i + 1] > hi) {
            *bad = i;
            return false;
        }
        for (unsigned k = 2; k <= need; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
                *bad = i;
                return false;
            }
        }
        i += need + 1;
    }
    return true;
}

static unsigned
vg__json_hex4(const unsigned char *p)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];

        v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Decode the text of a string, r[0..n) between its quotes (yajl has checked its escapes: each
 * '\\' is followed by one of "\"\\/bfnrtu", \u by four hex digits), into out (n bytes at least):
 * its length, or -1 on an unpaired surrogate. */
static long
vg__json_unescape(const unsigned char *r, size_t n, unsigned char *out)
{
    unsigned char *o = out;
    size_t i = 0;

    while (i < n) {
        const unsigned char *bs = memchr(r + i, '\\', n - i);
        size_t run = bs != NULL ? (size_t)(bs - (r + i)) : n - i;
        unsigned cp;

        memcpy(o, r + i, run);
        o += run;
        i += run;
        if (i >= n || i + 1 >= n) {
            break;
        }
        switch (r[i + 1]) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            if (i + 6 > n) {
                return -1;
            }
            cp = vg__json_hex4(r + i + 2);
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;

                if (i + 12 > n || r[i + 6] != '\\' || r[i + 7] != 'u') {
                    return -1;
                }
                lo = vg__json_hex4(r + i + 8);
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            if (cp < 0x80) {
                *o++ = (unsigned char)cp;
            } else if (cp < 0x800) {
                *o++ = (unsigned char)(0xC0 | cp >> 6);
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (unsigned char)(0xE0 | cp >> 12);
                *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (unsigned char)(0xF0 | cp >> 18);
                *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
                *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            }
            i += 4;
            break;
        default: /* '"', '\\', '/' */
            *o++ = r[i + 1];
            break;
        }
        i += 2;
    }
    return (long)(o - out);
}

static int
vg__json_fail(struct vg_json_doc *d, const char *why, size_t at)
{
    d->why = why;
    d->why_at = at;
    return 0; /* yajl: stop (client_canceled) */
}

/* Copy the string yajl reports (s, n) into a arena at extra bytes past a node of its own when
 * node is set (else alone, for a key): *out and *out_len; 0 to stop the parse. */
static int
vg__json_string(struct vg_json_doc *d, const unsigned char *s, size_t n, bool node,
                struct vg_json **nodep, const char **out, uint32_t *out_len)
{
    size_t at = yajl_get_bytes_consumed(d->h), bad, pre = node ? sizeof(struct vg_json) : 0;
    uintptr_t ps = (uintptr_t)s, pi = (uintptr_t)d->in;
    unsigned char *dst;
    void *mem;

    if (n > UINT32_MAX - 1) {
        return vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
    }
    if (ps >= pi && ps - pi <= d->in_len) { /* no escapes: yajl gives the input bytes */
        if ((mem = vg__json_alloc(d, pre + n + 1)) == NULL) {
            return vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
        }
        dst = (unsigned char *)mem + pre;
        if (!vg__json_utf8_ok(s, n, &bad)) {
            return vg__json_fail(d, "invalid UTF-8 in a string", (size_t)(ps - pi) + bad);
        }
        memcpy(dst, s, n);
    } else { /* decoded by yajl: decoded again from its text, between the end of the last
              * value or bracket (then only whitespace, ',' and ':') and at - 1 */
        size_t q, raw;
        const unsigned char *open;
        long got;

        if (at == 0 || at > d->in_len || d->last_end >= at || d->in[at - 1] != '"' ||
            (open = memchr(d->in + d->last_end, '"', at - 1 - d->last_end)) == NULL) {
            return vg__json_fail(d, "string not found in the input", at);
        }
        q = (size_t)(open - d->in) + 1;
        raw = at - 1 - q;
        if ((mem = vg__json_alloc(d, pre + raw + 1)) == NULL) {
            return vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
        }
        dst = (unsigned char *)mem + pre;
        got = vg__json_unescape(d->in + q, raw, dst);
        if (got < 0) {
            return vg__json_fail(d, "unpaired UTF-16 surrogate in a \\u escape", q - 1);
        }
        n = (size_t)got;
        if (!vg__json_utf8_ok(dst, n, &bad)) {
            return vg__json_fail(d, "invalid UTF-8 in a string", q - 1);
        }
    }
    dst[n] = '\0';
    d->last_end = at;
    *nodep = mem;
    *out = (const char *)dst;
    *out_len = (uint32_t)n;
    return 1;
}

/* ---- tree ----------------------------------------------------------------------------------- */

/* Link node n, of type t, as the next value: the root, or the last child of the open container. */
static void
vg__json_link(struct vg_json_doc *d, struct vg_json *n, enum vg_json_type t)
{
    n->type = t;
    n->b = false;
    n->len = 0;
    n->s = NULL;
    n->key = d->key;
    n->key_len = d->key_len;
    n->child = NULL;
    n->next = NULL;
    n->start = 0;
    n->end = 0;
    d->key = NULL;
    d->key_len = 0;
    if (d->depth == 0) {
        d->root = n;
    } else {
        struct vg__json_frame *f = &d->stack[d->depth - 1];

        if (f->last != NULL) {
            f->last->next = n;
        } else {
            f->node->child = n;
        }
        f->last = n;
        f->node->len++;
    }
}

static struct vg_json *
vg__json_scalar(struct vg_json_doc *d, enum vg_json_type t)
{
    struct vg_json *n = vg__json_alloc(d, sizeof(*n));

    if (n == NULL) {
        vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
        return NULL;
    }
    vg__json_link(d, n, t);
    return n;
}

static int
vg__json_on_null(void *ctx)
{
    return vg__json_scalar(ctx, VG_JSON_NULL) != NULL;
}

static int
vg__json_on_bool(void *ctx, int b)
{
    struct vg_json *n = vg__json_scalar(ctx, VG_JSON_BOOL);

    if (n == NULL) {
        return 0;
    }
    n->b = b != 0;
    return 1;
}

static int
vg__json_on_number(void *ctx, const char *s, size_t len)
{
    struct vg_json_doc *d = ctx;
    struct vg_json *n;
    char *t;

    if (len > UINT32_MAX - 1 || (n = vg__json_alloc(d, sizeof(*n) + len + 1)) == NULL) {
        return vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
    }
    vg__json_link(d, n, VG_JSON_NUMBER);
    t = (char *)(n + 1);
    memcpy(t, s, len);
    t[len] = '\0';
    n->s = t;
    n->len = (uint32_t)len;
    return 1;
}

static int
vg__json_on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct vg_json_doc *d = ctx;
    struct vg_json *n;
    const char *str;
    uint32_t slen;

    if (!vg__json_string(d, s, len, true, &n, &str, &slen)) {
        return 0;
    }
    vg__json_link(d, n, VG_JSON_STRING);
    n->s = str;
    n->len = slen;
    return 1;
}

static int
vg__json_on_key(void *ctx, const unsigned char *s, size_t len)
{
    struct vg_json_doc *d = ctx;
    struct vg_json *unused;

    return vg__json_string(d, s, len, false, &unused, &d->key, &d->key_len);
}

static int
vg__json_open(struct vg_json_doc *d, enum vg_json_type t)
{
    size_t at = yajl_get_bytes_consumed(d->h) - 1; /* the bracket just read */
    struct vg_json *n;

    if (d->depth >= VG_JSON_DEPTH_MAX) {
        return vg__json_fail(d, "nesting deeper than " VG__JSON_STR(VG_JSON_DEPTH_MAX), at);
    }
    if ((n = vg__json_scalar(d, t)) == NULL) {
        return 0;
    }
    n->start = at;
    d->stack[d->depth].node = n;
    d->stack[d->depth].last = NULL;
    d->depth++;
    return 1;
}

static int
vg__json_close(void *ctx)
{
    struct vg_json_doc *d = ctx;

    d->depth--;
    d->stack[d->depth].node->end = yajl_get_bytes_consumed(d->h);
    return 1;
}

static int
vg__json_on_start_map(void *ctx)
{
    return vg__json_open(ctx, VG_JSON_OBJECT);
}

static int
vg__json_on_start_array(void *ctx)
{
    return vg__json_open(ctx, VG_JSON_ARRAY);
}

static const yajl_callbacks vg__json_callbacks = {
    .yajl_null = vg__json_on_null,
    .yajl_boolean = vg__json_on_bool,
    .yajl_number = vg__json_on_number,
    .yajl_string = vg__json_on_string,
    .yajl_start_map = vg__json_on_start_map,
    .yajl_map_key = vg__json_on_key,
    .yajl_end_map = vg__json_close,
    .yajl_start_array = vg__json_on_start_array,
    .yajl_end_array = vg__json_close,
};

/* ---- parse ---------------------------------------------------------------------------------- */

/* "invalid JSON at byte AT: " and yajl's message, without its "parse error: " prefix. */
static void
vg__json_yajl_error(struct vg_json_doc *d, size_t at, char *err, size_t errlen)
{
    unsigned char *m = yajl_get_error(d->h, 0, d->in, d->in_len);
    const char *t = m != NULL ? (const char *)m : "syntax error", *c = strstr(t, "error: ");
    size_t n;

    if (c != NULL) {
        t = c + strlen("error: ");
    }
    n = strcspn(t, "\n");
    while (n > 0 && (t[n - 1] == '.' || t[n - 1] == ' ')) {
        n--;
    }
    snprintf(err, errlen, "invalid JSON at byte %zu: %.*s", at, (int)n, t);
    if (m != NULL) {
        yajl_free_error(d->h, m);
    }
}

/* The message of an error a callback stopped the parse for. */
static void
vg__json_own_error(const struct vg_json_doc *d, char *err, size_t errlen)
{
    if (d->oom) {
        snprintf(err, errlen, "out of memory");
    } else if (d->why_at == VG__JSON_NOWHERE) {
        snprintf(err, errlen, "%s", d->why);
    } else if (strncmp(d->why, "nesting", 7) == 0) {
        snprintf(err, errlen, "%s at byte %zu", d->why, d->why_at);
    } else {
        snprintf(err, errlen, "invalid JSON at byte %zu: %s", d->why_at, d->why);
    }
}

const struct vg_json *
vg_json_parse(struct vg_json_doc *d, const char *p, size_t len, char *err, size_t errlen)
{
    const unsigned char *in = (const unsigned char *)p, *c;
    char scratch[1];
    size_t stop = len, at;
    yajl_status st;

    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    err[0] = '\0';
    vg__json_reset(d);
    d->root = NULL;
    d->key = NULL;
    d->key_len = 0;
    d->depth = 0;
    d->last_end = 0;
    d->why = NULL;
    d->oom = false;
    if (in == NULL) {
        len = stop = 0;
        in = (const unsigned char *)"";
    }
    /* No JSON text holds \v or \f, which yajl skips as whitespace: the parse stops at the first. */
    if ((c = memchr(in, '\v', len)) != NULL) {
        stop = (size_t)(c - in);
    }
    if ((c = memchr(in, '\f', stop)) != NULL) {
        stop = (size_t)(c - in);
    }
    d->in = in;
    d->in_len = stop;
    if ((d->h = yajl_alloc(&vg__json_callbacks, NULL, d)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yajl_config(d->h, yajl_dont_validate_strings, 1); /* vg__json_utf8_ok checks, strictly */
    st = yajl_parse(d->h, in, stop);
    at = yajl_get_bytes_consumed(d->h);
    if (st == yajl_status_ok && stop < len) {
        st = yajl_status_client_canceled;
        vg__json_fail(d, "invalid character", stop);
    } else if (st == yajl_status_ok) {
        st = yajl_complete_parse(d->h);
        at = len; /* an error there is the text cut short (or a number at its end) */
    }
    if (st == yajl_status_client_canceled) {
        vg__json_own_error(d, err, errlen);
    } else if (st != yajl_status_ok) {
        vg__json_yajl_error(d, at, err, errlen);
    }
    if (st != yajl_status_ok) {
        d->root = NULL;
    }
    yajl_free(d->h);
    d->h = NULL;
    return d->root;
}

/* ---- reading the tree ----------------------------------------------------------------------- */

const struct vg_json *
vg_json_get(const struct vg_json *o, const char *key)
{
    const struct vg_json *c, *found = NULL;
    size_t n;

    if (o == NULL || o->type != VG_JSON_OBJECT || key == NULL) {
        return NULL;
    }
    n = strlen(key);
    for (c = o->child; c != NULL; c = c->next) {
        if (c->key_len == n && memcmp(c->key, key, n) == 0) {
            found = c; /* the last one wins */
        }
    }
    return found;
}

const char *
vg_json_str(const struct vg_json *v)
{
    return v != NULL && v->type == VG_JSON_STRING ? v->s : NULL;
}

bool
vg_json_int(const struct vg_json *v, int64_t *out)
{
    const char *s;
    uint64_t mag = 0, lim;
    bool neg;

    if (v == NULL || v->type != VG_JSON_NUMBER) {
        return false;
    }
    s = v->s;
    neg = *s == '-';
    s += neg;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (*s < '0' || *s > '9') {
        return false;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned dgt = (unsigned)(*s - '0');

        if (mag > (lim - dgt) / 10) {
            return false;
        }
        mag = mag * 10 + dgt;
    }
    if (*s != '\0') { /* fraction or exponent */
        return false;
    }
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return true;
}

bool
vg_json_num(const struct vg_json *v, double *out)
{
    double x;
    char *end;

    if (v == NULL || v->type != VG_JSON_NUMBER) {
        return false;
    }
    errno = 0;
    x = strtod(v->s, &end);
    if (*end != '\0' || (errno == ERANGE && isinf(x))) {
        return false;
    }
    *out = x;
    return true;
}

bool
vg_json_bool(const struct vg_json *v, bool *out)
{
    if (v == NULL || v->type != VG_JSON_BOOL) {
        return false;
    }
    *out = v->b;
    return true;
}

bool
vg_json_is_null(const struct vg_json *v)
{
    return v != NULL && v->type == VG_JSON_NULL;
}

static int
vg__json_key_cmp(const void *a, const void *b)
{
    const struct vg_json *x = *(const struct vg_json *const *)a;
    const struct vg_json *y = *(const struct vg_json *const *)b;

    if (x->key_len != y->key_len) {
        return x->key_len < y->key_len ? -1 : 1;
    }
    return memcmp(x->key, y->key, x->key_len);
}

/* The members of object o have distinct names: pairwise for a few, sorted for many. */
static bool
vg__json_unique_keys(const struct vg_json *o)
{
    const struct vg_json **all;
    size_t n = 0;
    bool ok = true;

    if (o->len <= 16) {
        for (const struct vg_json *a = o->child; a != NULL; a = a->next) {
            for (const struct vg_json *b = a->next; b != NULL; b = b->next) {
                if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0) {
                    return false;
                }
            }
        }
        return true;
    }
    all = vg_xreallocarray(NULL, o->len, sizeof(*all));
    for (const struct vg_json *c = o->child; c != NULL && n < o->len; c = c->next) {
        all[n++] = c;
    }
    qsort(all, n, sizeof(*all), vg__json_key_cmp);
    for (size_t i = 1; i < n && ok; i++) {
        ok = vg__json_key_cmp(&all[i - 1], &all[i]) != 0;
    }
    free(all);
    return ok;
}

bool
vg_json_strict(const struct vg_json *v)
{
    if (v == NULL) {
        return true;
    }
    if (v->key != NULL && strlen(v->key) != v->key_len) {
        return false;
    }
    if (v->type == VG_JSON_STRING) {
        return strlen(v->s) == v->len;
    }
    if (v->type == VG_JSON_OBJECT && !vg__json_unique_keys(v)) {
        return false;
    }
    for (const struct vg_json *c = vg_json_first(v); c != NULL; c = c->next) {
        if (!vg_json_strict(c)) {
            return false;
        }
    }
    return true;
}
