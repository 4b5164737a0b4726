/* SPDX-License-Identifier: MIT */
/*
 * test_store_raw.c - the stored form of a measurement's text (server/store_raw.h): every
 * measurement of tests/data and edge cases round-trip byte for byte, through the new form and
 * the old zlib one; hostile stored bytes (truncated, wrong format byte, a reference to a missing
 * blob, sizes that do not add up, a frame declaring more than the limit) give an error, never a
 * crash nor an allocation beyond the declared text. The store-level side (blobs, dictionaries,
 * both backends) is in test_store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "store_impl.h"
#include "store_raw.h"
#include "vgtest.h"

/* A source holding the blobs of one encoding. */
static int
mem_blob(void *arg, const uint8_t hash[VG__RAW_HASH], char *dst, size_t len)
{
    const struct vg__raw_enc *e = arg;

    for (size_t i = 0; e != NULL && i < e->nblobs; i++) {
        if (memcmp(e->blobs[i].hash, hash, VG__RAW_HASH) == 0) {
            if (e->blobs[i].len != len) {
                return VG_EPROTO;
            }
            memcpy(dst, e->blobs[i].p, len);
            return 0;
        }
    }
    return VG_ENOTFOUND;
}

static size_t g_lines, g_with_blobs;

/* text round-trips through both forms. */
static void
roundtrip(const char *text, size_t len)
{
    struct vg__raw_enc e;
    struct vg__raw_src src;
    uLongf zl = compressBound((uLong)len);
    uint8_t *z = malloc(zl);
    char *out;

    assert_int_equal(vg__raw_encode_plain(text, len, 3, &e), 0);
    assert_int_equal(e.z[0], 0x01);
    src = (struct vg__raw_src){mem_blob, NULL, &e};
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, (int64_t)len, &out), 0);
    assert_memory_equal(out, text, len);
    assert_int_equal(out[len], '\0');
    free(out);
    g_with_blobs += e.nblobs > 0;
    vg__raw_enc_free(&e);
    /* the form of the rows before schema version 7 */
    assert_int_equal(compress2(z, &zl, (const Bytef *)text, (uLong)len, 1), Z_OK);
    assert_int_equal(vg__raw_decode(NULL, z, zl, (int64_t)len, &out), 0);
    assert_memory_equal(out, text, len);
    free(out);
    free(z);
}

static void
roundtrip_file(const char *rel)
{
    char path[1024], *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", getenv("VG_TEST_DATA"), rel);
    f = fopen(path, "r");
    if (f == NULL) {
        fail_msg("%s: cannot open", path);
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        roundtrip(line, (size_t)n); /* with its newline */
        roundtrip(line, (size_t)n - 1);
        g_lines++;
    }
    free(line);
    fclose(f);
}

static void
test_fixtures_roundtrip(void **state)
{
    (void)state;
    roundtrip_file("ooni/probe-cli-qa.jsonl");
    roundtrip_file("ooni/probe-cli-manual.jsonl");
    roundtrip_file("ooni/backend-fastpath.jsonl");
    roundtrip_file("ooni/rules/expired-cert-no-control.jsonl");
    roundtrip_file("ooni-validate/ooni-measurements.jsonl");
    roundtrip_file("dashboard/lab-capture.jsonl");
    assert_true(g_lines >= 80);
    assert_true(g_with_blobs >= 10); /* certificates and bodies were cut out */
}

static void
test_edges_roundtrip(void **state)
{
    static const char *fixed[] = {
        "", "{}", "\"", "\"\"", "\"\\", "{\"a\":\"\\\"\"}", "not json at all \" open string",
    };
    char buf[3000];

    (void)state;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        roundtrip(fixed[i], strlen(fixed[i]));
    }
    /* strings of 255, 256 and 257 bytes, escapes at their ends, one left open */
    for (size_t len = 254; len <= 258; len++) {
        size_t n = 0;

        buf[n++] = '[';
        buf[n++] = '"';
        memset(buf + n, 'A', len);
        n += len;
        buf[n - 2] = '\\';
        buf[n - 1] = '"';
        buf[n++] = '"';
        buf[n++] = ',';
        buf[n++] = '"';
        memset(buf + n, 'B', len);
        n += len;
        roundtrip(buf, n); /* the second one open */
        buf[n++] = '"';
        buf[n++] = ']';
        roundtrip(buf, n);
    }
    /* the same blob twice, back to back */
    memset(buf, 'C', sizeof(buf));
    memcpy(buf, "[\"", 2);
    memcpy(buf + 602, "\",\"", 3);
    memcpy(buf + 1205, "\"]", 2);
    roundtrip(buf, 1207);
}

/* What is cut out is exactly each long string's contents, escapes respected. */
static void
test_cut_bounds(void **state)
{
    char buf[2000];
    struct vg__raw_enc e;
    size_t n = 0;

    (void)state;
    /* ["<300: ... \\>", "<300: ... \">300 more", "short"] */
    buf[n++] = '[';
    buf[n++] = '"';
    memset(buf + n, 'a', 298);
    n += 298;
    memcpy(buf + n, "\\\\\",\"", 5);
    n += 5;
    memset(buf + n, 'b', 298);
    n += 298;
    memcpy(buf + n, "\\\"", 2);
    n += 2;
    memset(buf + n, 'c', 300);
    n += 300;
    memcpy(buf + n, "\",\"short\"]", 10);
    n += 10;
    assert_int_equal(vg__raw_encode_plain(buf, n, 3, &e), 0);
    assert_int_equal(e.nblobs, 2);
    assert_int_equal(e.blobs[0].p - buf, 2);
    assert_int_equal(e.blobs[0].len, 300);
    assert_int_equal(e.blobs[1].p - buf, 305);
    assert_int_equal(e.blobs[1].len, 600);
    vg__raw_enc_free(&e);
}

/* An encoding of a fixture line with blobs, for the hostile tests. */
static char *
sample(size_t *len)
{
    char path[1024], *line = NULL, *best = NULL;
    size_t cap = 0, best_len = 0;
    ssize_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/dashboard/lab-capture.jsonl", getenv("VG_TEST_DATA"));
    f = fopen(path, "r");
    assert_non_null(f);
    while ((n = getline(&line, &cap, f)) > 0) {
        if ((size_t)n > best_len) {
            free(best);
            best = strndup(line, (size_t)n - 1);
            best_len = (size_t)n - 1;
        }
    }
    free(line);
    fclose(f);
    *len = best_len;
    return best;
}

/* A blob whose hash no other blob of e has (a chain may repeat a certificate). */
static size_t
unique_blob(const struct vg__raw_enc *e)
{
    for (size_t i = 0; i < e->nblobs; i++) {
        size_t same = 0;

        for (size_t j = 0; j < e->nblobs; j++) {
            same += memcmp(e->blobs[i].hash, e->blobs[j].hash, VG__RAW_HASH) == 0;
        }
        if (same == 1) {
            return i;
        }
    }
    fail_msg("no blob of its own");
    return 0;
}

static void
test_hostile(void **state)
{
    size_t len;
    char *text = sample(&len), *out = (char *)1;
    struct vg__raw_enc e;
    struct vg__raw_src src, none = {NULL, NULL, NULL};
    uint8_t *bad;
    size_t k;

    (void)state;
    assert_int_equal(vg__raw_encode_plain(text, len, 3, &e), 0);
    assert_true(e.nblobs >= 2);
    src = (struct vg__raw_src){mem_blob, NULL, &e};
    /* every truncation */
    for (size_t n = 0; n < e.zlen; n++) {
        assert_true(vg__raw_decode(&src, e.z, n, (int64_t)len, &out) < 0);
        assert_null(out);
    }
    /* wrong sizes */
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, (int64_t)len - 1, &out), VG_EPROTO);
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, (int64_t)len + 1, &out), VG_EPROTO);
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, -1, &out), VG_EPROTO);
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, (int64_t)VG_STORE_MEAS_MAX + 1, &out),
                     VG_ETOOBIG);
    /* trailing bytes */
    bad = malloc(e.zlen + 1);
    memcpy(bad, e.z, e.zlen);
    bad[e.zlen] = 0;
    assert_int_equal(vg__raw_decode(&src, bad, e.zlen + 1, (int64_t)len, &out), VG_EPROTO);
    /* wrong format byte */
    for (int b = 0; b < 256; b++) {
        if (b == 0x01 || b == 0x78) {
            continue;
        }
        bad[0] = (uint8_t)b;
        assert_int_equal(vg__raw_decode(&src, bad, e.zlen, (int64_t)len, &out), VG_EPROTO);
        assert_null(out);
    }
    /* a zlib header on the new form, the new byte on a zlib stream */
    bad[0] = 0x78;
    assert_int_equal(vg__raw_decode(&src, bad, e.zlen, (int64_t)len, &out), VG_EPROTO);
    free(bad);
    /* references to missing blobs, to an unknown dictionary */
    assert_int_equal(vg__raw_decode(&none, e.z, e.zlen, (int64_t)len, &out), VG_ENOTFOUND);
    assert_int_equal(vg__raw_decode(NULL, e.z, e.zlen, (int64_t)len, &out), VG_ENOTFOUND);
    assert_null(out);
    k = unique_blob(&e);
    e.blobs[k].hash[5] ^= 1; /* the source no longer has that one */
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, (int64_t)len, &out), VG_ENOTFOUND);
    e.blobs[k].hash[5] ^= 1;
    e.blobs[k].len--; /* a blob of another length */
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, (int64_t)len, &out), VG_EPROTO);
    e.blobs[k].len++;
    assert_int_equal(vg__raw_decode(&src, e.z, e.zlen, (int64_t)len, &out), 0);
    assert_memory_equal(out, text, len);
    free(out);
    vg__raw_enc_free(&e);
    free(text);
}

/* A frame that declares far more than its text: refused before anything of that size. */
static void
test_bomb(void **state)
{
    /* 0x01, no dictionary, no cuts; a zstd frame header: single segment, 8-byte content size */
    uint8_t f[64] = {0x01, 0x00, 0x00, 0x28, 0xb5, 0x2f, 0xfd, 0xe0};
    size_t n = 8;
    uint64_t fcs = (uint64_t)1 << 40;
    char *out = (char *)1;
    uint8_t *big;
    size_t bl, zl;

    (void)state;
    for (int i = 0; i < 8; i++) {
        f[n++] = (uint8_t)(fcs >> (8 * i));
    }
    /* one last RLE block of 8 zero bytes */
    f[n++] = (uint8_t)(1 | 1 << 1 | 8 << 3);
    f[n++] = 0;
    f[n++] = 0;
    f[n++] = 0;
    assert_int_equal(vg__raw_decode(NULL, f, n, 8, &out), VG_EPROTO);
    assert_null(out);
    assert_int_equal(vg__raw_decode(NULL, f, n, VG_STORE_MEAS_MAX, &out), VG_EPROTO);
    assert_int_equal(vg__raw_decode(NULL, f, n, (int64_t)fcs, &out), VG_ETOOBIG);
    /* a real frame of 32 MiB of zeros, claimed as 100 bytes or as the limit */
    bl = (size_t)32 << 20;
    big = calloc(1, bl);
    zl = ZSTD_compressBound(bl);
    {
        uint8_t *z = malloc(zl + 3);

        z[0] = 0x01;
        z[1] = 0;
        z[2] = 0;
        zl = ZSTD_compress(z + 3, zl, big, bl, 1);
        assert_false(ZSTD_isError(zl));
        assert_int_equal(vg__raw_decode(NULL, z, zl + 3, 100, &out), VG_EPROTO);
        assert_int_equal(vg__raw_decode(NULL, z, zl + 3, VG_STORE_MEAS_MAX, &out), VG_EPROTO);
        assert_null(out);
        free(z);
    }
    free(big);
    /* a zlib stream longer than its raw_len */
    {
        char text[4096];
        uLongf l = compressBound(sizeof(text));
        uint8_t *z = malloc(l);

        memset(text, 'x', sizeof(text));
        assert_int_equal(compress2(z, &l, (const Bytef *)text, sizeof(text), 1), Z_OK);
        assert_int_equal(vg__raw_decode(NULL, z, l, 100, &out), VG_EPROTO);
        assert_int_equal(vg__raw_decode(NULL, z, l, sizeof(text) + 1, &out), VG_EPROTO);
        assert_null(out);
        free(z);
    }
}

static int
seed_blob(void *arg, const uint8_t hash[VG__RAW_HASH], char *dst, size_t len)
{
    (void)arg;
    if (hash[0] != 0) {
        return VG_ENOTFOUND;
    }
    memset(dst, 'A', len);
    return 0;
}

/* The fuzz target's seeds decode as their names say (tests/fuzz/fuzz_store_raw.c). */
static void
test_fuzz_seeds(void **state)
{
    static const struct {
        const char *name;
        int rc;
    } seeds[] = {{"plain", 0},
                 {"one-cut", 0},
                 {"zlib", 0},
                 {"missing-blob", VG_ENOTFOUND},
                 {"truncated", VG_EPROTO},
                 {"bomb", VG_EPROTO},
                 {"dict", VG_ENOTFOUND}};
    struct vg__raw_src src = {seed_blob, NULL, NULL};

    (void)state;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char path[1024], *out;
        uint8_t buf[8192];
        size_t n;
        FILE *f;

        snprintf(path, sizeof(path), "%s/../fuzz/corpus/store_raw/%s.bin", getenv("VG_TEST_DATA"),
                 seeds[i].name);
        f = fopen(path, "rb");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        assert_true(n > 3);
        assert_int_equal(
            vg__raw_decode(&src, buf + 3, n - 3,
                           (int64_t)buf[0] | (int64_t)buf[1] << 8 | (int64_t)buf[2] << 16, &out),
            seeds[i].rc);
        free(out);
    }
}

/* The writer's insert order (store_rawdb.c): blobs by hash and dictionary ids by value, each
 * once, whatever order the rows hold them in: two collectors never wait on each other in a
 * cycle. The store-level side (rows inserted in that order, no deadlock) is in test_store.c. */
static void
test_insert_order(void **state)
{
    struct vg__raw_blob b[6];
    const struct vg__raw_blob *v[6];
    int64_t ids[] = {7, -3, 7, 1, 0, 1};
    size_t n;

    (void)state;
    for (size_t i = 0; i < 6; i++) {
        memset(b[i].hash, 0, VG__RAW_HASH);
        b[i].hash[0] = (uint8_t)(i % 3 == 0 ? 0x80 : 0x10);
        b[i].hash[VG__RAW_HASH - 1] = (uint8_t)(5 - i % 4); /* 5 4 3 2 5 4 */
        v[i] = &b[i];
    }
    n = vg__raw_blob_order(v, 6);
    assert_int_equal(n, 5); /* b[1] and b[5] hold one hash */
    for (size_t i = 1; i < n; i++) {
        assert_true(memcmp(v[i - 1]->hash, v[i]->hash, VG__RAW_HASH) < 0);
    }
    assert_ptr_equal(v[0], &b[2]);
    assert_int_equal(vg__raw_id_order(ids, 6), 4);
    assert_int_equal(ids[0], -3);
    assert_int_equal(ids[1], 0);
    assert_int_equal(ids[2], 1);
    assert_int_equal(ids[3], 7);
    assert_int_equal(vg__raw_blob_order(v, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_roundtrip),
        cmocka_unit_test(test_edges_roundtrip),
        cmocka_unit_test(test_cut_bounds),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_fuzz_seeds),
        cmocka_unit_test(test_insert_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
