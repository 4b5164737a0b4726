/* SPDX-License-Identifier: MIT */
/*
 * json.c - the tree reader of lib/proto/json.h on top of yajl 2.1's event parser.
 *
 * A text is first read directly (json_direct.c: valid JSON only, the same tree in the same
 * allocations, a third of the time of yajl's lexer and the callbacks below); anything else, a
 * text with an error first of all, is parsed again as follows, for yajl's diagnosis.
 *
 * yajl lexes and checks the grammar (RFC 8259: no comments, nothing after the value, numbers,
 * literals and escapes exact, no control character in a string) and calls back once per token;
 * each callback bump-allocates one node (with its number text) in the document's arena and links
 * it under the open array or object (a fixed stack of VG_JSON_DEPTH_MAX frames).
 *
 * Strings are not reported by yajl: with no string or map-key callback, yajl checks them but does
 * not decode them (its decoding, through a growing buffer one escape at a time, was a third of
 * the time). Every token yajl reports says where it starts and ends (yajl_get_bytes_consumed,
 * an offset in the input since the whole text goes to one yajl_parse call; yajl_complete_parse
 * only feeds a final " "), and between the end of one and the start of the next the text holds
 * only whitespace, ',', ':' and the strings yajl has just checked: vg__json_gap reads those, as
 * names when an object waits for one, else as values, in one pass each (vg__json_scan: copied
 * into the arena eight bytes at a time up to the next quote, backslash or non-ASCII byte, escapes
 * decoded, UTF-8 checked).
 *
 * What yajl lets through that RFC 8259 does not, this file refuses:
 *   - UTF-8: yajl's own check (off here: yajl_dont_validate_strings) accepts overlong forms,
 *     surrogates and code points past U+10FFFF; vg__json_utf8_seq checks every string and name
 *     strictly (Unicode 15, table 3-7);
 *   - \u escapes: yajl would turn a lone high surrogate into '?', a lone low one into CESU-8 and
 *     pair a high surrogate with any following \u: here an unpaired surrogate is an error, as in
 *     jansson;
 *   - whitespace: yajl also skips \v and \f; no JSON text holds either byte (inside a string it
 *     is a control character), so the parse stops at the first;
 *   - a token cut short after the value (`1 "a`, `{} "`): yajl takes it for the end of the text;
 *     here only whitespace may follow the value.
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

#include "proto/json_impl.h"
#include "util/limits.h"
#include "util/mem.h"

#define VG__JSON_BLOCK_MIN (64 * 1024)       /* first block */
#define VG__JSON_BLOCK_MAX (8 * 1024 * 1024) /* growth stops here (larger strings excepted) */

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

void *
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

/* The UTF-8 sequence at s (avail bytes, avail >= 1, s[0] >= 0x80) as Unicode defines it (no
 * overlong form, surrogate, or code point past U+10FFFF): its length, or 0 when invalid. */
static unsigned
vg__json_utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0], need, lo = 0x80, hi = 0xBF;

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
        return 0;
    }
    if (avail <= need || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (unsigned k = 2; k <= need; k++) {
        if (s[k] < 0x80 || s[k] > 0xBF) {
            return 0;
        }
    }
    return need + 1;
}

/* p[0..3] are hex digits. */
static bool
vg__json_hex4_ok(const unsigned char *p)
{
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], l = c | 0x20;

        if (!((c >= '0' && c <= '9') || (l >= 'a' && l <= 'f'))) {
            return false;
        }
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

/* Results of vg__json_scan besides a length */
#define VG__JSON_SCAN_ROOM (-1) /* dst too small */
#define VG__JSON_SCAN_SURR (-2) /* an unpaired surrogate in a \u escape */
#define VG__JSON_SCAN_UTF8 (-3) /* invalid UTF-8 at *at */
#define VG__JSON_SCAN_OPEN (-4) /* no closing quote before lim */
#define VG__JSON_SCAN_BAD  (-5) /* a control character or an invalid escape (yajl refused both) */

/* One pass over the string whose opening quote is at in[o], ending before lim: copied into dst
 * (cap bytes) with its escapes decoded and checked (each '\\' followed by one of "\"\\/bfnrtu", \u
 * by four hex digits: yajl has checked them, the direct parse has not), its UTF-8 checked and no
 * control character in it, eight bytes at a time between quotes, backslashes, control characters
 * and non-ASCII bytes. Returns the bytes written, with *at the offset of the
 * closing quote, or a VG__JSON_SCAN_* error. It never writes more bytes than it reads, so a cap
 * of the text's length is enough. */
static long
vg__json_scan(const unsigned char *in, size_t o, size_t lim, unsigned char *dst, size_t cap,
              size_t *at)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = o + 1, n = 0;

    for (;;) {
        unsigned c, k, cp;
        uint64_t w, q, b, m;

        while (lim - i >= 8 && cap - n >= 8) {
            memcpy(&w, in + i, 8);
            q = w ^ (ones * '"');
            b = w ^ (ones * '\\');
            m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & highs;
            memcpy(dst + n, &w, 8); /* the bytes past a special one are written again */
            if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                /* the lowest flag is exact (a borrow only runs upwards): the first special */
                k = (unsigned)__builtin_ctzll(m) / 8;
                i += k;
                n += k;
#endif
                break;
            }
            i += 8;
            n += 8;
        }
        if (i >= lim) {
            return VG__JSON_SCAN_OPEN;
        }
        c = in[i];
        if (c == '"') {
            *at = i;
            return (long)n;
        }
        if (c < 0x20) {
            return VG__JSON_SCAN_BAD;
        }
        if (c >= 0x80) {
            if ((k = vg__json_utf8_seq(in + i, lim - i)) == 0) {
                *at = i;
                return VG__JSON_SCAN_UTF8;
            }
            if (cap - n < k) {
                return VG__JSON_SCAN_ROOM;
            }
            memcpy(dst + n, in + i, k);
            n += k;
            i += k;
            continue;
        }
        if (c == '\\') {
            if (lim - i < 2) {
                return VG__JSON_SCAN_OPEN;
            }
            switch (in[i + 1]) {
            case 'u':
                if (lim - i < 6) {
                    return VG__JSON_SCAN_OPEN;
                }
                if (!vg__json_hex4_ok(in + i + 2)) {
                    return VG__JSON_SCAN_BAD;
                }
                cp = vg__json_hex4(in + i + 2);
                k = 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return VG__JSON_SCAN_SURR;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned low;

                    if (lim - i < 12 || in[i + 6] != '\\' || in[i + 7] != 'u' ||
                        !vg__json_hex4_ok(in + i + 8) ||
                        (low = vg__json_hex4(in + i + 8)) < 0xDC00 || low > 0xDFFF) {
                        return VG__JSON_SCAN_SURR;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    k = 12;
                }
                if (cap - n < 4) {
                    return VG__JSON_SCAN_ROOM;
                }
                if (cp < 0x80) {
                    dst[n++] = (unsigned char)cp;
                } else if (cp < 0x800) {
                    dst[n++] = (unsigned char)(0xC0 | cp >> 6);
                    dst[n++] = (unsigned char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    dst[n++] = (unsigned char)(0xE0 | cp >> 12);
                    dst[n++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                    dst[n++] = (unsigned char)(0x80 | (cp & 0x3F));
                } else {
                    dst[n++] = (unsigned char)(0xF0 | cp >> 18);
                    dst[n++] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
                    dst[n++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                    dst[n++] = (unsigned char)(0x80 | (cp & 0x3F));
                }
                i += k;
                continue;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case '"':
            case '\\':
            case '/':
                c = in[i + 1];
                break;
            default:
                return VG__JSON_SCAN_BAD;
            }
            i += 1;
        }
        if (cap - n < 1) {
            return VG__JSON_SCAN_ROOM;
        }
        dst[n++] = (unsigned char)c;
        i++;
    }
}

static int
vg__json_fail(struct vg_json_doc *d, const char *why, size_t at)
{
    d->why = why;
    d->why_at = at;
    return 0; /* yajl: stop (client_canceled) */
}

/* ---- tree ----------------------------------------------------------------------------------- */

void
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

int
vg__json_string_at(struct vg_json_doc *d, size_t o, size_t lim)
{
    const unsigned char *in = d->in;
    bool key =
        d->depth > 0 && d->stack[d->depth - 1].node->type == VG_JSON_OBJECT && d->key == NULL;
    size_t c = 0, pre = key ? 0 : sizeof(struct vg_json), room = (size_t)(d->end - d->pos);
    unsigned char *mem = d->pos, *dst;
    long n = VG__JSON_SCAN_ROOM;

    /* into the free room of the current block, most often */
    if (room > pre + 1) {
        n = vg__json_scan(in, o, lim, mem + pre, room - pre - 1, &c);
        if (n >= 0) {
            d->pos += (pre + (size_t)n + 1 + 7) & ~(size_t)7;
        }
    }
    if (n == VG__JSON_SCAN_ROOM) { /* larger: allocated for its text's length, then read */
        const unsigned char *q;
        size_t k;

        /* the closing quote: the first that an even run of backslashes precedes */
        for (c = o + 1;; c++) {
            if ((q = memchr(in + c, '"', lim - c)) == NULL) {
                return vg__json_fail(d, "string not closed", o);
            }
            c = (size_t)(q - in);
            for (k = c; k > o + 1 && in[k - 1] == '\\'; k--) {
            }
            if ((c - k) % 2 == 0) {
                break;
            }
        }
        if (c - o - 1 > UINT32_MAX - 1 || (mem = vg__json_alloc(d, pre + c - o)) == NULL) {
            return vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
        }
        n = vg__json_scan(in, o, lim, mem + pre, c - o - 1, &c);
    }
    if (n < 0) {
        return vg__json_fail(d,
                             n == VG__JSON_SCAN_SURR   ? "unpaired UTF-16 surrogate in a \\u escape"
                             : n == VG__JSON_SCAN_UTF8 ? "invalid UTF-8 in a string"
                             : n == VG__JSON_SCAN_BAD  ? "invalid character or escape in a string"
                                                       : "string not closed",
                             n == VG__JSON_SCAN_UTF8 ? c : o);
    }
    if ((size_t)n > UINT32_MAX - 1) {
        return vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
    }
    dst = mem + pre;
    dst[n] = '\0';
    if (key) {
        d->key = (const char *)dst;
        d->key_len = (uint32_t)n;
    } else {
        struct vg_json *node = (struct vg_json *)mem;

        vg__json_link(d, node, VG_JSON_STRING);
        node->s = (const char *)dst;
        node->len = (uint32_t)n;
        d->root_end = c + 1;
    }
    d->last_end = c + 1;
    return 1;
}

/* yajl reports no string (so that it decodes none): they are read here, from the text between
 * the last token reported (d->last_end) and the next one, at lim, that yajl has checked and where
 * only whitespace, ',' and ':' are found beside them. 0 to stop the parse. */
static int
vg__json_gap(struct vg_json_doc *d, size_t lim)
{
    const unsigned char *q;

    while (d->last_end < lim && (q = memchr(d->in + d->last_end, '"', lim - d->last_end)) != NULL) {
        if (!vg__json_string_at(d, (size_t)(q - d->in), lim)) {
            return 0;
        }
    }
    d->last_end = lim;
    return 1;
}

/* A node for a token that starts at start and ends at end, after the strings before it. */
static struct vg_json *
vg__json_token(struct vg_json_doc *d, enum vg_json_type t, size_t extra, size_t start, size_t end)
{
    struct vg_json *n;

    if (!vg__json_gap(d, start)) {
        return NULL;
    }
    if ((n = vg__json_alloc(d, sizeof(*n) + extra)) == NULL) {
        vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
        return NULL;
    }
    vg__json_link(d, n, t);
    d->last_end = d->root_end = end;
    return n;
}

static int
vg__json_on_null(void *ctx)
{
    struct vg_json_doc *d = ctx;
    size_t end = yajl_get_bytes_consumed(d->h);

    return vg__json_token(d, VG_JSON_NULL, 0, end - 4, end) != NULL;
}

static int
vg__json_on_bool(void *ctx, int b)
{
    struct vg_json_doc *d = ctx;
    size_t end = yajl_get_bytes_consumed(d->h);
    struct vg_json *n = vg__json_token(d, VG_JSON_BOOL, 0, end - (b ? 4 : 5), end);

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
    size_t at = (size_t)((uintptr_t)s - (uintptr_t)d->in), end;
    struct vg_json *n;
    char *t;

    /* a number at the end of the text reaches yajl_complete_parse in yajl's own buffer */
    if (at >= d->in_len) {
        at = end = d->in_len;
    } else {
        end = at + len;
    }
    if (len > UINT32_MAX - 1) {
        return vg__json_fail(d, "document too large", VG__JSON_NOWHERE);
    }
    if ((n = vg__json_token(d, VG_JSON_NUMBER, len + 1, at, end)) == NULL) {
        return 0;
    }
    t = (char *)(n + 1);
    memcpy(t, s, len);
    t[len] = '\0';
    n->s = t;
    n->len = (uint32_t)len;
    return 1;
}

static int
vg__json_open(struct vg_json_doc *d, enum vg_json_type t)
{
    size_t end = yajl_get_bytes_consumed(d->h); /* just past the bracket */
    struct vg_json *n;

    if (d->depth >= VG_JSON_DEPTH_MAX) {
        return vg__json_fail(d, "nesting deeper than " VG__JSON_STR(VG_JSON_DEPTH_MAX), end - 1);
    }
    if ((n = vg__json_token(d, t, 0, end - 1, end)) == NULL) {
        return 0;
    }
    n->start = end - 1;
    d->stack[d->depth].node = n;
    d->stack[d->depth].last = NULL;
    d->depth++;
    return 1;
}

static int
vg__json_close(void *ctx)
{
    struct vg_json_doc *d = ctx;
    size_t end = yajl_get_bytes_consumed(d->h);

    if (!vg__json_gap(d, end - 1)) {
        return 0;
    }
    d->depth--;
    d->stack[d->depth].node->end = d->last_end = d->root_end = end;
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
    .yajl_start_map = vg__json_on_start_map,
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
    if (in == NULL) {
        len = stop = 0;
        in = (const unsigned char *)"";
    }
    /* A valid text is read directly; anything else again through yajl, for its diagnosis. */
    for (int pass = 0; pass < 2; pass++) {
        vg__json_reset(d);
        d->root = NULL;
        d->key = NULL;
        d->key_len = 0;
        d->depth = 0;
        d->last_end = 0;
        d->root_end = 0;
        d->why = NULL;
        d->oom = false;
        d->in = in;
        d->in_len = len;
        if (pass == 0 && vg__json_direct(d) != NULL) {
            return d->root;
        }
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
    yajl_config(d->h, yajl_dont_validate_strings, 1); /* vg__json_utf8_seq checks, strictly */
    st = yajl_parse(d->h, in, stop);
    at = yajl_get_bytes_consumed(d->h);
    if (st == yajl_status_ok && stop < len) {
        st = yajl_status_client_canceled;
        vg__json_fail(d, "invalid character", stop);
    } else if (st == yajl_status_ok) {
        st = yajl_complete_parse(d->h);
        at = len; /* an error there is the text cut short (or a number at its end) */
    }
    /* a string alone: yajl reported nothing */
    if (st == yajl_status_ok && d->root == NULL &&
        ((c = memchr(in, '"', stop)) == NULL || !vg__json_string_at(d, (size_t)(c - in), stop))) {
        st = yajl_status_client_canceled;
        if (d->why == NULL) {
            vg__json_fail(d, "no value", 0);
        }
    }
    /* yajl takes a token cut short after the value (`1 "a`, `{} tru`) for the end of the text */
    if (st == yajl_status_ok) {
        for (at = d->root_end;
             at < len && (in[at] == ' ' || in[at] == '\n' || in[at] == '\r' || in[at] == '\t');
             at++) {
        }
        if (at < len) {
            st = yajl_status_client_canceled;
            vg__json_fail(d, "trailing garbage", at);
        }
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
