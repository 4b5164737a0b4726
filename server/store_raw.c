/* SPDX-License-Identifier: MIT */
/*
 * store_raw.c - the stored form of a measurement's text (store_raw.h), the codec itself: long
 * string values cut out (to be stored once by hash), the rest compressed with zstd; decoding of
 * that form and of the old one (zlib). The store's side (dictionaries, caches, the blobs'
 * writes) is store_rawdb.c.
 */
#include "store_raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "store_impl.h"
#include "util/crypto.h"
#include "util/mem.h"

#define VG__RAW_FORMAT_ZLIB 0x78 /* RFC 1950 header: before schema version 7 */

/* ---- the codec itself: no store ---- */

static size_t
vg__raw_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static int
vg__raw_get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    uint64_t x = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;

        if (*off >= len) {
            return VG_EPROTO;
        }
        b = p[(*off)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = x;
            return 0;
        }
    }
    return VG_EPROTO;
}

/* The end of the string whose contents start at text[from]: its closing quote (one preceded by
 * an even run of backslashes), or len when it is left open. */
static size_t
vg__raw_str_end(const char *text, size_t len, size_t from)
{
    size_t i = from;

    for (;;) {
        const char *q = memchr(text + i, '"', len - i);
        size_t k, bs = 0;

        if (q == NULL) {
            return len;
        }
        k = (size_t)(q - text);
        while (k - bs > from && text[k - bs - 1] == '\\') {
            bs++;
        }
        if (bs % 2 == 0) {
            return k;
        }
        i = k + 1;
    }
}

/* The long string values of text: (offset, length) of their contents, up to VG__RAW_CUTS. The
 * text need not be JSON: a quote left open ends the scan, and whatever is cut is put back. */
static size_t
vg__raw_scan(const char *text, size_t len, size_t *off, size_t *cut_len)
{
    size_t n = 0, i = 0;

    while (i < len && n < VG__RAW_CUTS) {
        const char *q = memchr(text + i, '"', len - i);
        size_t from, j;

        if (q == NULL) {
            break;
        }
        from = (size_t)(q - text) + 1;
        j = vg__raw_str_end(text, len, from);
        if (j >= len) {
            break;
        }
        if (j - from >= VG__RAW_CUT_MIN) {
            off[n] = from;
            cut_len[n] = j - from;
            n++;
        }
        i = j + 1;
    }
    return n;
}

/* Cut text into e->blobs and a skeleton (fresh buffer, *skel_len bytes). */
char *
vg__raw_cut(const char *text, size_t len, struct vg__raw_enc *e, size_t *skel_len)
{
    size_t cap = len / (VG__RAW_CUT_MIN + 2) + 1, n, from = 0, sl = 0;
    size_t *off, *cl;
    char *skel;

    cap = cap < VG__RAW_CUTS ? cap : VG__RAW_CUTS;
    off = vg_xcalloc(cap, sizeof(*off));
    cl = vg_xcalloc(cap, sizeof(*cl));
    n = vg__raw_scan(text, len, off, cl);
    skel = vg_xmalloc(len + 1);
    e->blobs = n > 0 ? vg_xcalloc(n, sizeof(*e->blobs)) : NULL;
    e->nblobs = n;
    for (size_t i = 0; i < n; i++) {
        memcpy(skel + sl, text + from, off[i] - from);
        sl += off[i] - from;
        from = off[i] + cl[i];
        e->blobs[i].p = text + off[i];
        e->blobs[i].len = cl[i];
        vg_sha256(text + off[i], cl[i], e->blobs[i].hash);
    }
    memcpy(skel + sl, text + from, len - from);
    sl += len - from;
    VG_FREE(off);
    VG_FREE(cl);
    *skel_len = sl;
    return skel;
}

/* The header (format, dictionary, cuts) of e into a fresh buffer with room for zcap more bytes. */
static size_t
vg__raw_header(struct vg__raw_enc *e, const char *text, size_t zcap)
{
    size_t n = 0, prev = 0;

    e->z = vg_xmalloc(1 + 10 + 10 + e->nblobs * (20 + VG__RAW_HASH) + zcap);
    e->z[n++] = VG__RAW_FORMAT_V1;
    n += vg__raw_put_varint(e->z + n, (uint64_t)e->dict_id);
    n += vg__raw_put_varint(e->z + n, e->nblobs);
    for (size_t i = 0; i < e->nblobs; i++) {
        size_t at = (size_t)(e->blobs[i].p - text);

        n += vg__raw_put_varint(e->z + n, at - prev);
        n += vg__raw_put_varint(e->z + n, e->blobs[i].len);
        memcpy(e->z + n, e->blobs[i].hash, VG__RAW_HASH);
        n += VG__RAW_HASH;
        prev = at + e->blobs[i].len;
    }
    return n;
}

/* Compress skel into e (after its header) on cctx, with cdict when not NULL. */
int
vg__raw_compress(ZSTD_CCtx *cctx, const ZSTD_CDict *cdict, int level, const char *text,
                 const char *skel, size_t skel_len, struct vg__raw_enc *e)
{
    size_t bound = ZSTD_compressBound(skel_len), h = vg__raw_header(e, text, bound), r;

    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    if (cdict != NULL) {
        ZSTD_CCtx_refCDict(cctx, cdict);
    } else {
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    }
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_dictIDFlag, 0); /* the row names its dictionary */
    r = ZSTD_compress2(cctx, e->z + h, bound, skel, skel_len);
    if (ZSTD_isError(r)) {
        VG_FREE(e->z);
        return VG_EINTERNAL;
    }
    e->zlen = h + r;
    return 0;
}

void
vg__raw_enc_free(struct vg__raw_enc *e)
{
    VG_FREE(e->z);
    VG_FREE(e->blobs);
    e->zlen = 0;
    e->nblobs = 0;
}

int
vg__raw_encode_plain(const char *text, size_t len, int level, struct vg__raw_enc *e)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t sl;
    char *skel;
    int rc;

    memset(e, 0, sizeof(*e));
    if (cctx == NULL) {
        return VG_EINTERNAL;
    }
    skel = vg__raw_cut(text, len, e, &sl);
    rc = vg__raw_compress(cctx, NULL, level, text, skel, sl, e);
    ZSTD_freeCCtx(cctx);
    VG_FREE(skel);
    if (rc < 0) {
        vg__raw_enc_free(e);
    }
    return rc;
}

static int
vg__raw_zlib(const uint8_t *in, size_t inlen, size_t raw_len, char *out)
{
    uLongf dl = (uLongf)raw_len;

    if (uncompress((Bytef *)out, &dl, (const Bytef *)in, (uLong)inlen) != Z_OK ||
        dl != (uLongf)raw_len) {
        return VG_EPROTO;
    }
    return 0;
}

struct vg__raw_cutref {
    uint64_t gap, len;
    const uint8_t *hash;
};

/* Parse the cuts of a V1 header at *off; *blob_total: their bytes. */
static int
vg__raw_cuts(const uint8_t *in, size_t inlen, size_t *off, size_t raw_len,
             struct vg__raw_cutref **cuts, size_t *ncuts, size_t *blob_total)
{
    uint64_t n, gaps = 0, blobs = 0;

    VG_TRY(vg__raw_get_varint(in, inlen, off, &n));
    /* each cut takes at least 34 bytes of the input: no allocation beyond what came in */
    if (n > (inlen - *off) / (2 + VG__RAW_HASH) || n > VG__RAW_CUTS) {
        return VG_EPROTO;
    }
    *cuts = n > 0 ? vg_xcalloc((size_t)n, sizeof(**cuts)) : NULL;
    *ncuts = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        struct vg__raw_cutref *c = &(*cuts)[i];

        if (vg__raw_get_varint(in, inlen, off, &c->gap) < 0 ||
            vg__raw_get_varint(in, inlen, off, &c->len) < 0 || inlen - *off < VG__RAW_HASH ||
            c->gap > raw_len || c->len > raw_len) {
            return VG_EPROTO;
        }
        c->hash = in + *off;
        *off += VG__RAW_HASH;
        gaps += c->gap;
        blobs += c->len;
        if (gaps + blobs > raw_len) {
            return VG_EPROTO;
        }
    }
    *blob_total = (size_t)blobs;
    return 0;
}

static int
vg__raw_v1(const struct vg__raw_src *src, ZSTD_DCtx *pooled, const uint8_t *in, size_t inlen,
           size_t raw_len, char *out)
{
    struct vg__raw_cutref *cuts = NULL;
    size_t off = 1, ncuts = 0, blob_total = 0, skel_len, w = 0, r;
    const void *dd = NULL;
    uint64_t dict_id;
    unsigned long long fcs;
    ZSTD_DCtx *dctx = NULL;
    int rc;

    if ((rc = vg__raw_get_varint(in, inlen, &off, &dict_id)) < 0 ||
        (rc = vg__raw_cuts(in, inlen, &off, raw_len, &cuts, &ncuts, &blob_total)) < 0) {
        goto out;
    }
    skel_len = raw_len - blob_total;
    /* one frame, exactly the rest, declaring exactly the skeleton's size */
    fcs = ZSTD_getFrameContentSize(in + off, inlen - off);
    if (fcs != (unsigned long long)skel_len ||
        ZSTD_findFrameCompressedSize(in + off, inlen - off) != inlen - off) {
        rc = VG_EPROTO;
        goto out;
    }
    if (dict_id != 0 && (src == NULL || src->ddict == NULL ||
                         (dd = src->ddict(src->arg, (int64_t)dict_id)) == NULL)) {
        rc = VG_ENOTFOUND;
        goto out;
    }
    if ((dctx = pooled) == NULL && (dctx = ZSTD_createDCtx()) == NULL) {
        rc = VG_EINTERNAL;
        goto out;
    }
    /* The skeleton at the end of out, then moved forward around the blobs: a blob always lands
     * before the skeleton bytes still to move. */
    r = ZSTD_decompress_usingDDict(dctx, out + blob_total, skel_len, in + off, inlen - off, dd);
    if (ZSTD_isError(r) || r != skel_len) {
        rc = VG_EPROTO;
        goto out;
    }
    r = blob_total; /* read position of the skeleton */
    for (size_t i = 0; i < ncuts; i++) {
        memmove(out + w, out + r, cuts[i].gap);
        w += cuts[i].gap;
        r += cuts[i].gap;
        if (src == NULL || src->blob == NULL) {
            rc = VG_ENOTFOUND;
            goto out;
        }
        if ((rc = src->blob(src->arg, cuts[i].hash, out + w, cuts[i].len)) < 0) {
            goto out;
        }
        w += cuts[i].len;
    }
    memmove(out + w, out + r, raw_len - w);
    rc = 0;
out:
    if (dctx != pooled) {
        ZSTD_freeDCtx(dctx);
    }
    VG_FREE(cuts);
    return rc;
}

int
vg__raw_decode_on(const struct vg__raw_src *src, ZSTD_DCtx *dctx, const uint8_t *in, size_t inlen,
                  int64_t raw_len, char **out)
{
    int rc;

    *out = NULL;
    if (raw_len < 0 || raw_len > VG_STORE_MEAS_MAX) {
        return raw_len < 0 ? VG_EPROTO : VG_ETOOBIG;
    }
    if (inlen == 0 || (in[0] != VG__RAW_FORMAT_ZLIB && in[0] != VG__RAW_FORMAT_V1)) {
        return VG_EPROTO;
    }
    *out = vg_xmalloc((size_t)raw_len + 1);
    if (in[0] == VG__RAW_FORMAT_ZLIB) {
        rc = vg__raw_zlib(in, inlen, (size_t)raw_len, *out);
    } else {
        rc = vg__raw_v1(src, dctx, in, inlen, (size_t)raw_len, *out);
    }
    if (rc < 0) {
        VG_FREE(*out);
        return rc;
    }
    (*out)[raw_len] = '\0';
    return 0;
}

int
vg__raw_decode(const struct vg__raw_src *src, const uint8_t *in, size_t inlen, int64_t raw_len,
               char **out)
{
    return vg__raw_decode_on(src, NULL, in, inlen, raw_len, out);
}
