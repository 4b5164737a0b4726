/* SPDX-License-Identifier: MIT */
/* upload_cmd.c - `vigie upload`: send the measurements waiting in the spool to a collector. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "vigie/vigie.h"

static void
vg__upload_usage(FILE *f)
{
    fprintf(f, "usage: vigie upload --collector URL [--spool DIR] [--ca-file PEM]\n"
               "\n"
               "Send every measurement that `vigie probe --collector` could not submit (kept in\n"
               "the spool directory) to the collector; each one accepted is removed from the\n"
               "spool. The collector deduplicates by measurement id: nothing is stored twice.\n"
               "\n"
               "  -c, --collector URL  collector base URL (http:// or https://)\n"
               "  -s, --spool DIR      spool directory (default: $VIGIE_SPOOL, else\n"
               "                       $HOME/.local/state/vigie/spool)\n"
               "      --ca-file PEM    trust store for an https collector (default: system)\n"
               "  -h, --help           this help\n"
               "\n"
               "exit status: 0 all sent, 1 some remain in the spool (or were refused),\n"
               "2 usage error.\n");
}

const char *
vg_default_spool(char *buf, size_t cap)
{
    const char *env = getenv("VIGIE_SPOOL"), *home = getenv("HOME");

    if (env != NULL && env[0] != '\0') {
        return env;
    }
    if (home != NULL && home[0] != '\0') {
        snprintf(buf, cap, "%s/.local/state/vigie/spool", home);
        return buf;
    }
    return "/var/spool/vigie";
}

int
vg_cmd_upload(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"collector", required_argument, NULL, 'c'},
        {"spool", required_argument, NULL, 's'},
        {"ca-file", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *collector = NULL, *spool = NULL, *ca_file = NULL;
    struct vg_upload_stats st;
    char err[512], buf[4096];
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            collector = optarg;
            break;
        case 's':
            spool = optarg;
            break;
        case 'a':
            ca_file = optarg;
            break;
        case 'h':
            vg__upload_usage(stdout);
            return VG_EXIT_OK;
        default:
            fprintf(stderr, "Run 'vigie upload --help' for usage.\n");
            return VG_EXIT_USAGE;
        }
    }
    if (collector == NULL || optind != argc) {
        vg__upload_usage(stderr);
        return VG_EXIT_USAGE;
    }
    if (spool == NULL) {
        spool = vg_default_spool(buf, sizeof(buf));
    }
    if (vg_upload_spool(collector, spool, ca_file, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie upload: %s\n", err);
        return VG_EXIT_USAGE;
    }
    fprintf(stderr, "vigie upload: %zu sent, %zu still spooled, %zu refused, %zu failed (%s)\n",
            st.sent, st.spooled, st.rejected, st.failed, spool);
    return st.spooled + st.rejected + st.failed == 0 ? VG_EXIT_OK : 1;
}
