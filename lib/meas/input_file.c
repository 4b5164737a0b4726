/* SPDX-License-Identifier: MIT */
/* input_file.c - reading URL lists for the probe (format in proto/input.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto/input.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

long
vg_probe_add_file(struct vg_probe *p, const char *path, vg_bad_input_cb bad, void *arg, char *err,
                  size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    struct vg_input_parser ip;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long added = 0;
    bool warned = false;

    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return VG_EINVAL;
    }
    vg_input_init(&ip);
    while ((n = getline(&line, &cap, f)) >= 0) {
        char url[VG_URL_MAX];
        char msg[256];
        int rc = vg_input_feed(&ip, line, (size_t)n, url, sizeof(url));

        if (rc == 0 && ip.csv && !warned && ip.unknown[0] != '\0') {
            fprintf(stderr,
                    "vigie: %s:%zu: warning: CSV column(s) %s not read (vigie reads url "
                    "and category_code)\n",
                    path, ip.lineno, ip.unknown);
            warned = true;
        }
        if (rc == 0) {
            continue;
        }
        if (rc < 0) {
            if (bad != NULL && ip.col > 0) {
                snprintf(msg, sizeof(msg), "column %zu: %s", ip.col,
                         ip.why != NULL ? ip.why : vg_strerror(rc));
                bad(path, ip.lineno, msg, arg);
            } else if (bad != NULL) {
                snprintf(msg, sizeof(msg), "%s", ip.why != NULL ? ip.why : vg_strerror(rc));
                bad(path, ip.lineno, msg, arg);
            }
            continue;
        }
        rc = vg_probe_add(p, url, msg, sizeof(msg));
        if (rc < 0) {
            if (bad != NULL) {
                bad(path, ip.lineno, msg, arg);
            }
            continue;
        }
        added++;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "error reading %s: %s", path, strerror(errno));
        free(line);
        if (f != stdin) {
            fclose(f);
        }
        return VG_EINVAL;
    }
    free(line);
    if (f != stdin) {
        fclose(f);
    }
    return added;
}
