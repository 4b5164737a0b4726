/* SPDX-License-Identifier: MIT */
/* upload_cmd.c - `vigie upload`: send the measurements waiting in the spool to a collector. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "engine_opts.h"
#include "util/mem.h"
#include "vigie/vigie.h"

static void
vg__upload_usage(FILE *f)
{
    fprintf(f, "usage: vigie upload --collector URL [--spool DIR] [--ca-file PEM]\n"
               "                    [--collector-token FILE [--allow-token-over-http]]\n"
               "\n"
               "Send every measurement that `vigie probe --collector` could not submit (kept in\n"
               "the spool directory) to the collector; each one accepted is removed from the\n"
               "spool. The collector deduplicates on the content: nothing is stored twice.\n"
               "\n"
               "  -c, --collector URL  collector base URL (http:// or https://)\n"
               "  -s, --spool DIR      spool directory, which must exist (default: $VIGIE_SPOOL,\n"
               "                       else $HOME/.local/state/vigie/spool)\n"
               "      --ca-file PEM    trust store for an https collector (default: system)\n"
               "      --collector-token FILE\n"
               "                       present the upload token on FILE's first line\n"
               "                       (Authorization: Bearer); FILE must not be readable by\n"
               "                       other users; the token goes only over https or to a\n"
               "                       collector on loopback\n"
               "      --allow-token-over-http\n"
               "                       send it to an http:// collector elsewhere anyway\n"
               "  -h, --help           this help\n"
               "\n"
               "A collector that refuses the credentials (HTTP 401 or 403) gets nothing more:\n"
               "the measurements stay in the spool for a run with the right token.\n"
               "\n"
               "exit status: 0 all sent, 1 some remain in the spool (or were refused),\n"
               "2 usage error.\n");
}

/* Wipe and free the token read from --collector-token. */
static void
vg__upload_forget(char **token)
{
    if (*token != NULL) {
        explicit_bzero(*token, strlen(*token));
    }
    VG_FREE(*token);
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
        {"collector-token", required_argument, NULL, 't'},
        {"allow-token-over-http", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vg_upload_opts o = {0};
    struct vg_upload_stats st;
    char err[512], buf[4096];
    char *token = NULL;
    int c, rc;

    optind = 1;
    while ((c = vg_getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.collector = optarg;
            break;
        case 's':
            o.spool_dir = optarg;
            o.spool_must_exist = true; /* a typo is not an empty spool */
            break;
        case 'a':
            o.ca_file = optarg;
            break;
        case 't':
            vg__upload_forget(&token);
            if (vg_engine_opts_token_file("upload", "--collector-token", optarg, &token) < 0) {
                return VG_EXIT_USAGE;
            }
            break;
        case 'H':
            o.allow_token_over_http = true;
            break;
        case 'h':
            vg__upload_forget(&token);
            vg__upload_usage(stdout);
            return VG_EXIT_OK;
        default:
            vg__upload_forget(&token);
            fprintf(stderr, "Run 'vigie upload --help' for usage.\n");
            return VG_EXIT_USAGE;
        }
    }
    if (o.collector == NULL || optind != argc) {
        vg__upload_forget(&token);
        vg__upload_usage(stderr);
        return VG_EXIT_USAGE;
    }
    if (o.spool_dir == NULL) {
        o.spool_dir = vg_default_spool(buf, sizeof(buf));
    }
    o.token = token;
    rc = vg_upload_spool(&o, &st, err, sizeof(err));
    vg__upload_forget(&token);
    if (rc < 0) {
        fprintf(stderr, "vigie upload: %s\n", err);
        return VG_EXIT_USAGE;
    }
    fprintf(stderr, "vigie upload: %zu sent, %zu still spooled, %zu refused, %zu failed (%s)\n",
            st.sent, st.spooled, st.rejected, st.failed, o.spool_dir);
    return st.spooled + st.rejected + st.failed == 0 ? VG_EXIT_OK : 1;
}
