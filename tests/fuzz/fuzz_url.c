/* SPDX-License-Identifier: MIT */
/*
 * fuzz_url.c - URL parsing, formatting and redirect resolution on arbitrary strings. Checks that
 * every URL handed out formats within VG_URL_MAX and parses back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_url base_fixed;
static int base_ready;

/* format(u) must succeed and parse back to the same URL. */
static void
check_stable(const struct vg_url *u)
{
    char text[VG_URL_MAX], again_text[VG_URL_MAX];
    struct vg_url again;

    if (vg_url_format(u, text, sizeof(text)) != 0) {
        abort();
    }
    if (u->path[0] != '/' || strchr(u->path, '#') != NULL) {
        abort();
    }
    if (vg_url_parse(text, &again) != 0) {
        abort();
    }
    if (vg_url_format(&again, again_text, sizeof(again_text)) != 0 ||
        strcmp(text, again_text) != 0) {
        abort();
    }
    if (strcmp(u->host, again.host) != 0 || u->port != again.port ||
        u->ip_family != again.ip_family || strcmp(u->path, again.path) != 0) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *refs[] = {"../x/./y?q", "//other.example", "?only", "/abs"};
    char s[VG_URL_MAX + 64];
    struct vg_url u, r;

    if (size >= sizeof(s)) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    if (!base_ready) {
        if (vg_url_parse("https://www.example.org:8443/a/b/c?x=1", &base_fixed) != 0) {
            abort();
        }
        base_ready = 1;
    }

    if (vg_url_parse(s, &u) == 0) {
        check_stable(&u);
        (void)vg_url_default_port(&u);
        for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
            int rc = vg_url_resolve(&u, refs[i], &r);

            /* Only a path grown past VG_URL_MAX may fail. */
            if (rc != 0 && rc != VG_ETOOBIG) {
                abort();
            }
            if (rc == 0) {
                check_stable(&r);
            }
        }
    }
    if (vg_url_resolve(&base_fixed, s, &r) == 0) {
        check_stable(&r);
    }
    return 0;
}
