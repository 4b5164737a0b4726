/* SPDX-License-Identifier: MIT */
/*
 * record_scrub.c - scrubbing the probe's own public addresses out of a measurement before it is
 * written or uploaded (vg_rec_scrub, record.h): every string, base64 bodies and certificates
 * included. Part of the record module (record.c writes the measurement).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record.h"
#include "meas/record_keys.h"
#include "proto/ipaddr.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/str.h"

/* ---- scrubbing the probe's addresses ------------------------------------------------------- */

/* Passes over one text at most (vg__rec_scrub_bytes). */
#define VG__REC_SCRUB_PASSES 8

/* One pass of vg__rec_scrub_bytes. */
static size_t
vg__rec_scrub_pass(const struct vg_ip_set *set, const char *s, size_t len, struct vg_buf *b)
{
    struct vg_ip_scan sc;
    size_t at = 0, off, n, hits = 0;
    bool ok = true;

    vg_ip_scan_init(&sc, s, len);
    while (ok && vg_ip_scan_next(&sc, set, &off, &n)) {
        if (hits++ == 0) {
            vg_buf_init(b, SIZE_MAX / 2);
        }
        ok = vg_buf_append(b, s + at, off - at) == 0 &&
             vg_buf_append(b, VG_REC_SCRUBBED, sizeof(VG_REC_SCRUBBED) - 1) == 0;
        at = off + n;
    }
    if (hits > 0 && (!ok || vg_buf_append(b, s + at, len - at) < 0)) {
        /* Past SIZE_MAX / 2: never keep the address, keep the placeholder alone. */
        vg_buf_reset(b);
        if (vg_buf_append(b, VG_REC_SCRUBBED, sizeof(VG_REC_SCRUBBED) - 1) < 0) {
            b->len = 0;
        }
    }
    return hits;
}

/* s (len bytes) with every address of set in it replaced by VG_REC_SCRUBBED, into b, which is
 * initialised here only when something matched (the caller then cleans it up). The number of
 * replacements. Linear in len. */
static size_t
vg__rec_scrub_bytes(const struct vg_ip_set *set, const char *s, size_t len, struct vg_buf *b)
{
    size_t hits = vg__rec_scrub_pass(set, s, len, b), more = 0;
    struct vg_buf again;

    /* Cutting a run can leave another form whole ("::ffff:c000:207:192.0.2.7" leaves
     * "::ffff:c000:207:"): again until none is left. Each pass takes address text out, and
     * VG_REC_SCRUBBED forms none; a text that still has some after the last pass allowed is
     * replaced whole. */
    for (unsigned pass = 1; hits > 0 && pass < VG__REC_SCRUB_PASSES; pass++) {
        more = vg__rec_scrub_pass(set, (const char *)b->data, b->len, &again);
        if (more == 0) {
            return hits;
        }
        hits += more;
        vg_buf_cleanup(b);
        *b = again;
    }
    if (more > 0) {
        vg_buf_reset(b);
        if (vg_buf_append(b, VG_REC_SCRUBBED, sizeof(VG_REC_SCRUBBED) - 1) < 0) {
            b->len = 0;
        }
    }
    return hits;
}

static size_t
vg__rec_scrub_string(const struct vg_ip_set *set, json_t *j)
{
    struct vg_buf b;
    size_t hits = vg__rec_scrub_bytes(set, json_string_value(j), json_string_length(j), &b);

    if (hits > 0) {
        /* Only ASCII is replaced, at ASCII boundaries: the text stays UTF-8. */
        if (json_string_setn(j, (const char *)b.data, b.len) < 0) {
            (void)json_string_set(j, VG_REC_SCRUBBED);
        }
        vg_buf_cleanup(&b);
    }
    return hits;
}

/* Base64 (RFC 4648, "=" padding optional) of s into a fresh buffer of *n bytes; NULL when s is
 * not base64. A last character that completes no byte (a length of 1 modulo 4) is checked and
 * ignored, as lenient decoders do, so that an address in such a body is still found. */
static uint8_t *
vg__rec_unbase64(const char *s, size_t len, size_t *n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t *out = vg_xmalloc(len / 4 * 3 + 3);
    long got;

    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    if (memchr(s, '=', len) != NULL ||
        (len % 4 == 1 && (s[len - 1] == '\0' || strchr(alphabet, s[len - 1]) == NULL))) {
        free(out);
        return NULL;
    }
    got = vg_base64_decode(s, len - (len % 4 == 1), out, len / 4 * 3 + 3);
    if (got < 0) {
        free(out);
        return NULL;
    }
    *n = (size_t)got;
    return out;
}

/* The bytes of a body as stored: a string's, or a {"format":"base64","data":...} object's
 * decoded (*fresh to free). false when body is neither. */
static bool
vg__rec_body_bytes(json_t *body, const uint8_t **p, size_t *n, uint8_t **fresh)
{
    json_t *data = json_object_get(body, VG_REC_KEY_DATA);
    const char *fmt = json_string_value(json_object_get(body, VG_REC_KEY_FORMAT));

    *fresh = NULL;
    if (json_is_string(body)) {
        *p = (const uint8_t *)json_string_value(body);
        *n = json_string_length(body);
        return true;
    }
    if (fmt == NULL || strcmp(fmt, "base64") != 0 || !json_is_string(data)) {
        return false;
    }
    *fresh = vg__rec_unbase64(json_string_value(data), json_string_length(data), n);
    *p = *fresh;
    return *fresh != NULL;
}

/* A binary value ({"format":"base64","data":...}): decoded, scrubbed, encoded again. */
static size_t
vg__rec_scrub_b64(const struct vg_ip_set *set, json_t *o)
{
    const uint8_t *p;
    uint8_t *dec;
    size_t n, hits = 0;
    struct vg_buf b;

    if (json_object_get(o, VG_REC_KEY_FORMAT) == NULL || !vg__rec_body_bytes(o, &p, &n, &dec)) {
        return 0;
    }
    hits = vg__rec_scrub_bytes(set, (const char *)p, n, &b);
    if (hits > 0) {
        char *enc = vg_base64(b.data, b.len);

        /* In place: the key keeps its position. */
        (void)json_string_set(json_object_get(o, VG_REC_KEY_DATA), enc);
        free(enc);
        vg_buf_cleanup(&b);
    }
    free(dec);
    return hits;
}

/* A response whose body was scrubbed: x_body_length and x_body_sha256 describe the body as
 * stored (a digest of the original would let anyone try every address against it). */
static void
vg__rec_scrub_body_meta(json_t *resp)
{
    json_t *len = json_object_get(resp, VG_REC_KEY_X_BODY_LENGTH);
    json_t *sha = json_object_get(resp, VG_REC_KEY_X_BODY_SHA256);
    const uint8_t *p;
    uint8_t *dec;
    size_t n;

    if ((!json_is_integer(len) && !json_is_string(sha)) ||
        !vg__rec_body_bytes(json_object_get(resp, VG_REC_KEY_BODY), &p, &n, &dec)) {
        return;
    }
    if (json_is_integer(len)) {
        (void)json_integer_set(len, (json_int_t)n);
    }
    if (json_is_string(sha) && json_string_length(sha) > 0) {
        char hex[65];

        vg_sha256_hex(p, n, hex);
        (void)json_string_set(sha, hex);
    }
    free(dec);
}

/* Rename the keys of o that hold an address of set, keeping their order. A new name that is
 * already a key of o, or another renamed key's, gets " (2)", " (3)", ...: no value is lost. The
 * suffix tried first for a name is the one after its last (linear in the keys). */
static size_t
vg__rec_scrub_keys(const struct vg_ip_set *set, json_t *o)
{
    json_t *renamed = json_object(), *next = json_object(), *v;
    const char *key;
    size_t hits = 0;

    json_object_foreach(o, key, v)
    {
        struct vg_buf b, name;
        size_t h = vg__rec_scrub_bytes(set, key, strlen(key), &b);
        const char *base;
        json_int_t k;

        if (h == 0) {
            (void)json_object_set(renamed, key, v);
            continue;
        }
        hits += h;
        base = vg_buf_cstr(&b);
        k = base != NULL ? json_integer_value(json_object_get(next, base)) : 0;
        vg_buf_init(&name, SIZE_MAX / 2);
        for (k = k > 1 ? k : 1; base != NULL; k++) {
            vg_buf_reset(&name);
            if ((k == 1 ? vg_buf_appendf(&name, "%s", base)
                        : vg_buf_appendf(&name, "%s (%lld)", base, (long long)k)) < 0 ||
                vg_buf_cstr(&name) == NULL) {
                break;
            }
            if (json_object_get(o, (const char *)name.data) == NULL &&
                json_object_get(renamed, (const char *)name.data) == NULL) {
                (void)json_object_set(renamed, (const char *)name.data, v);
                (void)json_object_set_new(next, base, json_integer(k + 1));
                break;
            }
        }
        vg_buf_cleanup(&name);
        vg_buf_cleanup(&b);
    }
    (void)json_object_clear(o);
    (void)json_object_update(o, renamed);
    json_decref(renamed);
    json_decref(next);
    return hits;
}

static size_t vg__rec_scrub_value(const struct vg_ip_set *set, json_t *j, bool certs);

static size_t
vg__rec_scrub_object(const struct vg_ip_set *set, json_t *o, bool certs)
{
    const char *key;
    json_t *v;
    size_t hits = 0, body = 0, off, n;
    bool keys = false;

    /* Certificates are signed DER: rewriting one would only break it. */
    if (!certs) {
        hits += vg__rec_scrub_b64(set, o);
    }
    json_object_foreach(o, key, v)
    {
        size_t klen = strlen(key), h;

        h = vg__rec_scrub_value(set, v,
                                certs || (klen == sizeof(VG_REC_KEY_PEER_CERTIFICATES) - 1 &&
                                          memcmp(key, VG_REC_KEY_PEER_CERTIFICATES, klen) == 0));
        if (klen == sizeof(VG_REC_KEY_BODY) - 1 && memcmp(key, VG_REC_KEY_BODY, klen) == 0) {
            body = h;
        }
        hits += h;
        keys = keys || vg_ip_set_find(set, key, klen, 0, &off, &n);
    }
    if (body > 0) {
        vg__rec_scrub_body_meta(o);
    }
    if (keys) {
        hits += vg__rec_scrub_keys(set, o);
    }
    return hits;
}

static size_t
vg__rec_scrub_value(const struct vg_ip_set *set, json_t *j, bool certs)
{
    size_t hits = 0, i;
    json_t *v;

    if (json_is_object(j)) {
        return vg__rec_scrub_object(set, j, certs);
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            hits += vg__rec_scrub_value(set, v, certs);
        }
        return hits;
    }
    return json_is_string(j) ? vg__rec_scrub_string(set, j) : 0;
}

size_t
vg_rec_scrub(json_t *m, const struct vg_ip_set *set)
{
    if (m == NULL || set == NULL || set->n == 0) {
        return 0;
    }
    return vg__rec_scrub_value(set, m, false);
}
