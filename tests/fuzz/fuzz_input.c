/* SPDX-License-Identifier: MIT */
/* fuzz_input.c - an input list split into lines and fed one at a time. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/input.h"
#include "util/limits.h"

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
    struct vg_input_parser ip;
    char url[VG_URL_MAX + 1];
    size_t off = 0, cap;

    if (size < 1) {
        return 0;
    }
    /* The first byte picks the url buffer size: tiny ones exercise the cap checks. */
    cap = data[0] < 16 ? (size_t)data[0] + 1 : sizeof(url);
    data++;
    size--;
    vg_input_init(&ip);
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl != NULL ? (size_t)(nl - (data + off)) + 1 : size - off;
        int rc = vg_input_feed(&ip, (const char *)data + off, len, url, cap);

        check(rc == 0 || rc == 1 || rc == VG_EPROTO || rc == VG_ETOOBIG);
        check(memchr(url, '\0', cap) != NULL);
        check(memchr(ip.category, '\0', sizeof(ip.category)) != NULL);
        if (rc == 1) {
            size_t n = strlen(url);

            check(n > 0 && n < cap);
            check(url[0] != ' ' && url[0] != '\t' && url[n - 1] != ' ' && url[n - 1] != '\t');
            check(!ip.csv || ip.url_col >= 0);
        }
        off += len;
    }
    return 0;
}
