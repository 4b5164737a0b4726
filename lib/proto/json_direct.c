/* SPDX-License-Identifier: MIT */
/*
 * json_direct.c - the parse of a valid JSON text without yajl (json_impl.h, vg__json_direct):
 * one pass over the text, the grammar of RFC 8259 checked as it goes, the strings read by
 * json.c's reader (vg__json_string_at: escapes decoded, UTF-8 checked strictly, a control
 * character or an invalid escape refused), the nodes made and linked as json.c's yajl callbacks
 * make them. It takes only what is valid and stops at the first doubt; vg_json_parse then parses
 * the text through yajl, whose diagnosis (what, at which byte) the callers and tests rely on.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "proto/json.h"
#include "proto/json_impl.h"

/* Past RFC 8259's whitespace from i. */
static size_t
vg__json_direct_ws(const unsigned char *in, size_t len, size_t i)
{
    while (i < len && (in[i] == ' ' || in[i] == '\n' || in[i] == '\r' || in[i] == '\t')) {
        i++;
    }
    return i;
}

/* A node of type t (extra bytes after it) linked as the next value, which ends at end. */
static struct vg_json *
vg__json_direct_node(struct vg_json_doc *d, enum vg_json_type t, size_t extra, size_t end)
{
    struct vg_json *n = vg__json_alloc(d, sizeof(*n) + extra);

    if (n != NULL) {
        vg__json_link(d, n, t);
        d->last_end = d->root_end = end;
    }
    return n;
}

/* The end of the number (RFC 8259 section 6) at in[i], or 0 when there is none. */
static size_t
vg__json_number_end(const unsigned char *in, size_t len, size_t i)
{
    i += i < len && in[i] == '-';
    if (i < len && in[i] == '0') {
        i++;
    } else if (i < len && in[i] >= '1' && in[i] <= '9') {
        while (i < len && in[i] >= '0' && in[i] <= '9') {
            i++;
        }
    } else {
        return 0;
    }
    if (i < len && in[i] == '.') {
        if (++i >= len || in[i] < '0' || in[i] > '9') {
            return 0;
        }
        while (i < len && in[i] >= '0' && in[i] <= '9') {
            i++;
        }
    }
    if (i < len && (in[i] == 'e' || in[i] == 'E')) {
        i++;
        if (i < len && (in[i] == '+' || in[i] == '-')) {
            i++;
        }
        if (i >= len || in[i] < '0' || in[i] > '9') {
            return 0;
        }
        while (i < len && in[i] >= '0' && in[i] <= '9') {
            i++;
        }
    }
    return i;
}

/* The value that starts at in[*i] (a bracket: the container opened), its node linked, *i past
 * it. False when it is not one the direct parse takes. */
static bool
vg__json_direct_value(struct vg_json_doc *d, size_t *i)
{
    static const char *const words[] = {"null", "false", "true"};
    const unsigned char *in = d->in;
    size_t len = d->in_len, at = *i, end;
    struct vg_json *n;
    int w;

    switch (in[at]) {
    case '"':
        if (!vg__json_string_at(d, at, len)) {
            return false;
        }
        *i = d->last_end;
        return true;
    case '{':
    case '[':
        if (d->depth >= VG_JSON_DEPTH_MAX ||
            (n = vg__json_direct_node(d, in[at] == '{' ? VG_JSON_OBJECT : VG_JSON_ARRAY, 0,
                                      at + 1)) == NULL) {
            return false;
        }
        n->start = at;
        d->stack[d->depth].node = n;
        d->stack[d->depth].last = NULL;
        d->depth++;
        *i = at + 1;
        return true;
    case 'n':
    case 'f':
    case 't':
        w = in[at] == 'n' ? 0 : in[at] == 'f' ? 1 : 2;
        end = at + strlen(words[w]);
        if (end > len || memcmp(in + at, words[w], end - at) != 0 ||
            (n = vg__json_direct_node(d, w == 0 ? VG_JSON_NULL : VG_JSON_BOOL, 0, end)) == NULL) {
            return false;
        }
        n->b = w == 2;
        *i = end;
        return true;
    default:
        if ((end = vg__json_number_end(in, len, at)) == 0 || end - at > UINT32_MAX - 1 ||
            (n = vg__json_direct_node(d, VG_JSON_NUMBER, end - at + 1, end)) == NULL) {
            return false;
        }
        memcpy(n + 1, in + at, end - at);
        ((char *)(n + 1))[end - at] = '\0';
        n->s = (const char *)(n + 1);
        n->len = (uint32_t)(end - at);
        *i = end;
        return true;
    }
}

/* The values one after the other, the open containers on d->stack (json_impl.h). */
const struct vg_json *
vg__json_direct(struct vg_json_doc *d)
{
    const unsigned char *in = d->in;
    size_t len = d->in_len, i = vg__json_direct_ws(in, len, 0);
    bool after = false; /* a value of the open container was just read */
    unsigned depth;

    if (i >= len || !vg__json_direct_value(d, &i)) {
        return NULL;
    }
    while (d->depth > 0) {
        struct vg__json_frame *f = &d->stack[d->depth - 1];
        bool obj = f->node->type == VG_JSON_OBJECT;

        if ((i = vg__json_direct_ws(in, len, i)) >= len) {
            return NULL;
        }
        if (in[i] == (obj ? '}' : ']')) {
            d->depth--;
            f->node->end = d->last_end = d->root_end = ++i;
            after = true;
            continue;
        }
        if (after && (in[i] != ',' || (i = vg__json_direct_ws(in, len, i + 1)) >= len)) {
            return NULL;
        }
        if (obj && (in[i] != '"' || !vg__json_string_at(d, i, len) ||
                    (i = vg__json_direct_ws(in, len, d->last_end)) >= len || in[i] != ':' ||
                    (i = vg__json_direct_ws(in, len, i + 1)) >= len)) {
            return NULL;
        }
        depth = d->depth;
        if (!vg__json_direct_value(d, &i)) {
            return NULL;
        }
        after = d->depth == depth; /* else a container opened: nothing read in it yet */
    }
    return vg__json_direct_ws(in, len, i) == len ? d->root : NULL;
}
