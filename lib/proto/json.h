/* SPDX-License-Identifier: MIT */
/*
 * json.h - a fast, bounded reader of JSON documents that come from elsewhere (OONI's
 * measurements for `vigie analyze` and the collector's analysis): a direct parse of a valid text
 * (yajl's event parser for one with an error, for its diagnosis) builds a read-only tree in an
 * arena that the document object owns and reuses from one parse to the next, so that reading a file
 * of measurements allocates nothing per line once the arena has grown. jansson stays the writer
 * (lib/meas/record.c); this is the reader where speed counts (docs/analyze.md, "Speed"). No I/O.
 *
 * Ownership: struct vg_json_doc owns its arena; the tree vg_json_parse returns (every node, key
 * and string) belongs to the document and is valid until the next vg_json_parse on it or
 * vg_json_doc_free. The input bytes are not kept: strings are copied into the arena.
 */
#ifndef VG_PROTO_JSON_H
#define VG_PROTO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vg_json_type {
    VG_JSON_NULL,
    VG_JSON_BOOL,
    VG_JSON_NUMBER,
    VG_JSON_STRING,
    VG_JSON_ARRAY,
    VG_JSON_OBJECT
};

struct vg_json {
    enum vg_json_type type;
    bool b;                /* VG_JSON_BOOL: its value */
    uint32_t len;          /* STRING: bytes of s (unescaped); NUMBER: bytes of its text;
                              ARRAY / OBJECT: number of children */
    const char *s;         /* STRING: the unescaped value, NUL-terminated (may contain NUL bytes
                              from \u0000: use len); NUMBER: its text as written; else NULL */
    const char *key;       /* the member's name (unescaped, NUL-terminated) when the parent is an
                              object, else NULL */
    uint32_t key_len;      /* bytes of key */
    struct vg_json *child; /* ARRAY / OBJECT: first child, in document order; NULL when empty */
    struct vg_json *next;  /* next sibling in document order, NULL for the last */
    size_t start;          /* ARRAY / OBJECT: offset in the input of '[' or '{'; 0 otherwise */
    size_t end;            /* ARRAY / OBJECT: offset just past ']' or '}' (so the closing
                              bracket is at end - 1); 0 otherwise */
};

/* Iterate the children of an array or object: for (c = vg_json_first(v); c; c = c->next). */
#define vg_json_first(v) ((v) != NULL ? (v)->child : NULL)

struct vg_json_doc;

/* A new document with an empty arena; NULL when out of memory. */
struct vg_json_doc *vg_json_doc_new(void);
void vg_json_doc_free(struct vg_json_doc *d);

/*
 * Parse len bytes at p (untrusted; no NUL needed) as one JSON text: RFC 8259, UTF-8 checked,
 * nothing but whitespace after the value, at most VG_JSON_DEPTH_MAX nested arrays and objects,
 * and at most VG_JSON_ARENA_MAX bytes of tree (util/limits.h). The tree of the previous parse on
 * d is released first. Returns the root, or NULL with a message in err (may be NULL) saying what
 * and at which byte offset ("invalid JSON at byte 120: ...", "nesting deeper than 64 at byte 9",
 * "document too large"). The offset is that of the offending byte, or just past the offending
 * token for grammar errors (yajl's; the end of the input for a text cut short). Stricter than
 * yajl alone: UTF-8 without overlong forms, surrogates or code points past U+10FFFF; \u escapes
 * with unpaired surrogates refused; \v and \f are not whitespace. Empty input is an error.
 */
const struct vg_json *vg_json_parse(struct vg_json_doc *d, const char *p, size_t len, char *err,
                                    size_t errlen);

/* Bytes the arena holds now (its high-water mark across parses): for memory tests. */
size_t vg_json_doc_memory(const struct vg_json_doc *d);

/* The member of object o named key (the last one when the name repeats, as jansson and Python
 * read it), or NULL when o is NULL, not an object, or has no such member. */
const struct vg_json *vg_json_get(const struct vg_json *o, const char *key);
/* v's text when v is a string, else NULL (NULL v included). */
const char *vg_json_str(const struct vg_json *v);
/* v is an integer number (no fraction or exponent) within int64_t: true with *out set. */
bool vg_json_int(const struct vg_json *v, int64_t *out);
/* v is a number within double's range: true with *out set (strtod of its text, in the C locale's
 * notation: vigie never calls setlocale for LC_NUMERIC). 1e400 is false; 1e-400 is 0. */
bool vg_json_num(const struct vg_json *v, double *out);
/* v is true or false: true with *out set. */
bool vg_json_bool(const struct vg_json *v, bool *out);
/* v is present and null (a missing member, v == NULL, is not null). */
bool vg_json_is_null(const struct vg_json *v);
/* No object in the tree under v repeats a member name, and no string or name holds a NUL byte
 * (\u0000): what jansson refuses by default with JSON_REJECT_DUPLICATES, for a reader that must
 * not guess which of two values a peer meant. True for NULL. */
bool vg_json_strict(const struct vg_json *v);

/* Where vg_json_canon writes: n bytes at p; 0, or -1 to stop (vg_json_canon then fails). */
typedef int (*vg_json_put_fn)(const char *p, size_t n, void *arg);

/* A member of the top-level object that vg_json_canon writes with another value. */
struct vg_json_set {
    const char *name;  /* as written (no character that needs an escape) */
    const char *value; /* the new value: JSON text in the compact form, value_len bytes */
    size_t value_len;
    bool seen; /* out: the object had the member (replaced in place), else it was appended */
};

/*
 * Write the JSON text p[len], which vg_json_parse accepted, through put in the form jansson 2.14
 * gives its parse with json_dumps(JSON_COMPACT): no whitespace, the same escapes, integers and
 * reals as jansson writes them (json_canon.c), members in document order. Each of the nsets
 * sets (the root then being an object without repeated names) replaces the value of its member
 * where it is, or is appended at the end in the order of sets, as json_object_set does. A text
 * already in that form goes out as it came, in long runs. 0; VG_EPROTO for what jansson's
 * parse refuses and vg_json_parse does not (an integer past int64, a real past double's range)
 * with err saying which and where; VG_EINVAL when put stopped.
 */
int vg_json_canon(const char *p, size_t len, struct vg_json_set *sets, size_t nsets,
                  vg_json_put_fn put, void *arg, char *err, size_t errlen);

/* How jansson 2.14's json_dumps writes code point cp inside a string (escaped when it must be,
 * else as UTF-8): into out, its length. For writers of answers that must match jansson's bytes. */
size_t vg_json_put_char(unsigned cp, char out[8]);
/* How jansson 2.14 writes the real d with JSON_REAL_PRECISION(prec) (17 without): into out,
 * NUL-terminated, its length. */
size_t vg_json_put_real(double d, int prec, char out[40]);

#endif
