/* SPDX-License-Identifier: MIT */
/* Fuzz target: UTF-8 validation and sanitisation of peer bytes (titles, headers, bodies). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    char *s = vg_utf8_sanitize(data, size, &n);

    /* The sanitised output must itself be valid and NUL-free. */
    if (!vg_utf8_valid((const uint8_t *)s, n) || strlen(s) != n) {
        abort();
    }
    if (vg_utf8_valid(data, size) && memchr(data, 0, size) == NULL &&
        (n != size || memcmp(s, data, size) != 0)) {
        abort();
    }
    free(s);
    return 0;
}
