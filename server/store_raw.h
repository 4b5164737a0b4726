/* SPDX-License-Identifier: MIT */
/*
 * store_raw.h - the stored form of a measurement's text (measurements.raw): the one place that
 * encodes and decodes it (docs/storage.md, "The raw column").
 *
 * Two forms, told apart by the first byte:
 * - 0x78: zlib (RFC 1950) of the whole text: every row written before schema version 7.
 * - 0x01: the text with its long JSON string values (>= VG__RAW_CUT_MIN bytes between the
 *   quotes, escapes kept: base64 certificates and bodies) cut out, each stored once in the blobs
 *   table under its SHA-256; what remains (the skeleton) compressed with zstd, with a dictionary
 *   from the raw_dicts table when the row names one. Layout: 0x01, varint dictionary id (0:
 *   none), varint number of cuts, per cut (varint bytes of skeleton before it since the previous
 *   cut, varint length, 32-byte SHA-256), then one zstd frame holding the skeleton with its size.
 * Decoding gives back the exact original bytes, or an error for anything malformed: never more
 * memory than raw_len (bounded by the caller) plus the input.
 */
#ifndef VG_SERVER_STORE_RAW_H
#define VG_SERVER_STORE_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

struct vg_store;
struct vg__job;
struct vg__val;

#define VG__RAW_CUT_MIN 256  /* bytes of a string value cut out to the blobs table */
#define VG__RAW_HASH    32   /* SHA-256 of a blob: its key */
#define VG__RAW_CUTS    4096 /* string values cut out of one measurement at most */

/* One cut-out string value: bytes inside the measurement's text (borrowed), and their key. */
struct vg__raw_blob {
    const char *p;
    size_t len;
    uint8_t hash[VG__RAW_HASH];
};

/* A measurement's stored form. z owned; blobs owned, their p borrowed from the text. */
struct vg__raw_enc {
    uint8_t *z;
    size_t zlen;
    struct vg__raw_blob *blobs;
    size_t nblobs;
    int64_t dict_id; /* 0: none */
};

/* Where a decoder finds what a stored form references. blob: write the len bytes of the blob
 * with this hash to dst (0), or VG_ENOTFOUND / another negative code. ddict: the ZSTD_DDict of
 * dictionary id (borrowed, valid until the source goes away) or NULL when unknown. Either may be
 * NULL: every reference is then an error. */
struct vg__raw_src {
    int (*blob)(void *arg, const uint8_t hash[VG__RAW_HASH], char *dst, size_t len);
    const void *(*ddict)(void *arg, int64_t id);
    void *arg;
};

/* Decode in[inlen], the stored form of a text of raw_len bytes, into a fresh NUL-terminated
 * buffer *out (caller frees) of raw_len bytes. Errors: VG_EPROTO (malformed, wrong size, unknown
 * format), VG_ENOTFOUND (a blob or dictionary src does not have), VG_ETOOBIG (raw_len over
 * VG_STORE_MEAS_MAX); *out is then NULL. */
int vg__raw_decode(const struct vg__raw_src *src, const uint8_t *in, size_t inlen, int64_t raw_len,
                   char **out);

/* Encode text[len] with no dictionary and no store (tests, fuzzing): *e filled, free it with
 * vg__raw_enc_free. level: zstd level. */
int vg__raw_encode_plain(const char *text, size_t len, int level, struct vg__raw_enc *e);
void vg__raw_enc_free(struct vg__raw_enc *e);

/* Internal to store_raw.c and store_rawdb.c. */
#define VG__RAW_FORMAT_V1 0x01
#define VG__RAW_LEVEL     3 /* zstd level: with a dictionary, no slower than deflate level 1 */
/* Cut text into e->blobs (hashed) and a skeleton: a fresh buffer of *skel_len bytes. */
char *vg__raw_cut(const char *text, size_t len, struct vg__raw_enc *e, size_t *skel_len);
/* e->z: header of e and skel compressed on cctx with cdict (NULL: at level). */
int vg__raw_compress(ZSTD_CCtx *cctx, const ZSTD_CDict *cdict, int level, const char *text,
                     const char *skel, size_t skel_len, struct vg__raw_enc *e);
/* vg__raw_decode on dctx (NULL: a context of its own). */
int vg__raw_decode_on(const struct vg__raw_src *src, ZSTD_DCtx *dctx, const uint8_t *in,
                      size_t inlen, int64_t raw_len, char **out);

/* ---- with a store (store_rawdb.c): dictionaries trained from its first measurements ---- */

/* Encode text[len] for s (any thread): the store's dictionary once it has one. */
int vg__raw_encode(struct vg_store *s, const char *text, size_t len, struct vg__raw_enc *e);

/* Decode a row's (raw_len, raw) columns for s (any thread; s NULL: self-contained forms only),
 * blobs and dictionaries read on a connection of the codec's own; *outlen (may be NULL) its
 * length. Errors: VG_STORE_EUNAVAIL (that connection), VG_EINTERNAL (anything else: a row that
 * does not decode, columns of the wrong types). */
int vg__raw_decode_row(struct vg_store *s, const struct vg__val *raw_len, const struct vg__val *raw,
                       char **out, size_t *outlen);

/* Writer thread, inside the transaction of jobs: the blobs and dictionaries their rows reference
 * that this writer has not yet seen committed (INSERT ... ON CONFLICT DO NOTHING). */
int vg__raw_txn_write(struct vg_store *s, const struct vg__job *jobs);
/* Writer thread, after that transaction: committed or rolled back. */
void vg__raw_txn_end(struct vg_store *s, bool committed);

/* Sort v[n] by hash, ids[n] by value, and drop repeats: the order the writer inserts in. The
 * number left. */
size_t vg__raw_blob_order(const struct vg__raw_blob **v, size_t n);
size_t vg__raw_id_order(int64_t *ids, size_t n);

/* Free the codec's state of s (vg_store_close). */
void vg__raw_free(struct vg_store *s);

#endif
