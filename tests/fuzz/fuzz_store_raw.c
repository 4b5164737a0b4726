/* SPDX-License-Identifier: MIT */
/*
 * fuzz_store_raw.c - the decoder of the raw column (server/store_raw.h) on hostile stored bytes:
 * the first 3 bytes are raw_len (little-endian, so up to 16 MiB), the rest the stored form. A
 * blob whose hash starts with a zero byte exists (its bytes are 'A's), no other does, nor any
 * dictionary. Whatever decodes has exactly raw_len bytes; and the input itself, as a text,
 * round-trips through the encoder byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "store_raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_raw_blob(void *arg, const uint8_t hash[VG__RAW_HASH], char *dst, size_t len)
{
    (void)arg;
    if (hash[0] != 0) {
        return VG_ENOTFOUND;
    }
    memset(dst, 'A', len);
    return 0;
}

static int
fuzz_raw_mem_blob(void *arg, const uint8_t hash[VG__RAW_HASH], char *dst, size_t len)
{
    const struct vg__raw_enc *e = arg;

    for (size_t i = 0; i < e->nblobs; i++) {
        if (memcmp(e->blobs[i].hash, hash, VG__RAW_HASH) == 0 && e->blobs[i].len == len) {
            memcpy(dst, e->blobs[i].p, len);
            return 0;
        }
    }
    return VG_ENOTFOUND;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg__raw_src src = {fuzz_raw_blob, NULL, NULL};
    struct vg__raw_enc e;
    int64_t raw_len;
    char *out = NULL;
    int rc;

    if (size >= 3) {
        raw_len = (int64_t)data[0] | (int64_t)data[1] << 8 | (int64_t)data[2] << 16;
        rc = vg__raw_decode(&src, data + 3, size - 3, raw_len, &out);
        if ((rc == 0) != (out != NULL) || (rc < 0 && rc != VG_EPROTO && rc != VG_ENOTFOUND &&
                                           rc != VG_ETOOBIG && rc != VG_EINTERNAL)) {
            abort();
        }
        if (out != NULL && out[raw_len] != '\0') {
            abort();
        }
        free(out);
    }
    /* the bytes as a measurement's text */
    if (vg__raw_encode_plain((const char *)data, size, 1, &e) == 0) {
        src = (struct vg__raw_src){fuzz_raw_mem_blob, NULL, &e};
        if (vg__raw_decode(&src, e.z, e.zlen, (int64_t)size, &out) != 0 ||
            memcmp(out, data, size) != 0) {
            abort();
        }
        free(out);
        vg__raw_enc_free(&e);
    }
    return 0;
}
