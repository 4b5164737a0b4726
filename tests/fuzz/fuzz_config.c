/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - a configuration file's bytes (cli/config.c): parsed as probe's, then resolved
 * against an option table and listed as --print-config lists it. Nothing may crash or leak; an
 * error leaves no entry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sections[] = {"probe", "serve", NULL};
static const struct option longopts[] = {
    {"parallel", required_argument, NULL, 'p'},
    {"helper", required_argument, NULL, 1},
    {"lab", no_argument, NULL, 2},
    {NULL, 0, NULL, 0},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_config c;
    char err[512], *argv[8];
    FILE *null = fopen("/dev/null", "w");

    vg_config_init(&c, "probe", sections);
    if (vg_config_parse(&c, "fuzz", (const char *)data, size, err, sizeof(err)) < 0) {
        if (c.n != 0) {
            abort();
        }
    } else if (c.n <= 4) {
        int argc = 1;

        argv[0] = "probe";
        for (size_t k = 0; k < c.n; k++) {
            argv[argc++] = "--lab";
        }
        argv[argc++] = "-p3";
        argv[argc] = NULL;
        if (vg_config_resolve(&c, longopts, "p:", argc, argv, err, sizeof(err)) == 0 &&
            null != NULL) {
            vg_config_print(&c, longopts, "p:", argc, argv, null);
        }
    }
    vg_config_cleanup(&c);
    if (null != NULL) {
        fclose(null);
    }
    return 0;
}
