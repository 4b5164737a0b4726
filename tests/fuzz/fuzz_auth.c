/* SPDX-License-Identifier: MIT */
/*
 * fuzz_auth.c - upload credentials (server/auth.c): the bytes as a tokens file, and as the
 * Authorization header checked against a table. A file is either refused with a reason that
 * quotes no token, or its table answers every header with a known name, a refusal, or a
 * malformed header; a header never matches a table of other tokens.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VG__FUZZ_TOKEN "fuzz-token-0123456789abcdef"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char known[] = "probe-a " VG__FUZZ_TOKEN "\n";
    char err[256] = "", name[VG_STORE_PROV_MAX + 1], *text;
    struct vg_auth *a = NULL;
    int rc;

    rc = vg_auth_parse((const char *)data, size, &a, err, sizeof(err));
    if (rc == 0) {
        if (a == NULL) {
            abort();
        }
        vg_auth_free(a);
    } else if (a != NULL || err[0] == '\0' || rc != VG_EINVAL) {
        abort();
    }
    /* The same bytes as a header (NUL-terminated, as libmicrohttpd hands it over). */
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (vg_auth_parse(known, strlen(known), &a, err, sizeof(err)) != 0) {
        abort();
    }
    rc = vg_auth_check(a, text, name);
    if ((rc == 0) != (strcmp(name, "probe-a") == 0) ||
        (rc != 0 && rc != VG_EACCES && rc != VG_EPROTO) ||
        (rc == 0 && strstr(text, VG__FUZZ_TOKEN) == NULL)) {
        abort();
    }
    vg_auth_free(a);
    free(text);
    return 0;
}
