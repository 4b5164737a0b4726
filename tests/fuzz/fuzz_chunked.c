/* SPDX-License-Identifier: MIT */
/*
 * fuzz_chunked.c - the chunked decoder fed the whole input at once must agree with the same input
 * fed in pieces whose sizes come from the first byte: same result, same output, same bytes used.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_chunked c;
    uint8_t *whole, *piece;
    size_t step, out1, used1, out2 = 0, used2 = 0;
    int rc1, rc2 = 0;

    if (size < 1) {
        return 0;
    }
    step = (size_t)(data[0] % 16) + 1;
    data++;
    size--;
    whole = malloc(size + 1);
    piece = malloc(size + 1);
    if (whole == NULL || piece == NULL) {
        free(whole);
        free(piece);
        return 0;
    }
    if (size > 0) {
        memcpy(whole, data, size);
    }
    vg_chunked_init(&c);
    rc1 = vg_chunked_decode(&c, whole, size, &out1, &used1);
    check(rc1 <= 1);
    if (rc1 >= 0) {
        check(out1 <= used1 && used1 <= size);
        check(rc1 == 1 || used1 == size);
    }

    vg_chunked_init(&c);
    for (size_t off = 0; off < size && rc2 == 0; off += step) {
        size_t n = size - off < step ? size - off : step, o, u;

        memcpy(piece, data + off, n);
        rc2 = vg_chunked_decode(&c, piece, n, &o, &u);
        if (rc2 < 0) {
            break;
        }
        check(o <= u && u <= n);
        check(rc2 == 1 || u == n);
        /* Everything decoded so far must be a prefix of the one-shot output. */
        check(rc1 < 0 || out2 + o <= out1);
        check(rc1 < 0 || o == 0 || memcmp(whole + out2, piece, o) == 0);
        out2 += o;
        used2 += u;
    }
    check(rc1 == rc2);
    if (rc1 >= 0) {
        check(out1 == out2 && used1 == used2);
    }
    free(whole);
    free(piece);
    return 0;
}
