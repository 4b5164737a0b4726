/* SPDX-License-Identifier: MIT */
/*
 * serve_reanalyze.c - `vigie serve --db SPEC reanalyze`: recompute the stored verdicts an
 * analyser decided, after a rule change (server/reanalyze.h; docs/storage.md, "Reanalysis").
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "commands.h"
#include "reanalyze.h"
#include "store.h"
#include "util/str.h"

static void
reanalyze_usage(FILE *f)
{
    fprintf(f,
            "usage: vigie serve --db SPEC reanalyze [--since T] [--batch N] [--all] [--restart]\n"
            "\n"
            "Recompute the stored verdicts of measurements from elsewhere with this build's\n"
            "analyser (" VG_ANALYZER_VERSION "): those an older analyser decided, and those\n"
            "stored before the collector analysed (OONI's labels). The verdicts of vigie's\n"
            "probe are never touched. The counts and latest states follow. Each batch is one\n"
            "short transaction: safe while vigie serve runs on the same database; a pass\n"
            "stopped at any point goes on from there when run again.\n"
            "\n"
            "  --since T          only measurements started at or after T (YYYY-MM-DD, or\n"
            "                     YYYY-MM-DDThh:mm[:ss]Z, UTC)\n"
            "  --batch N          rows per transaction (1..%d, default %d)\n"
            "  --all              every verdict that is not the probe's, this analyser's own\n"
            "                     and the measurements it had no rules for included\n"
            "  --restart          start the pass over instead of going on\n"
            "  --max-batches N    stop after N batches (the pass stays resumable)\n"
            "  -q, --quiet        no line per batch\n"
            "  -h, --help         this help\n"
            "\n"
            "exit status: 0 done (or stopped by --max-batches), 2 usage error, 4 the database\n"
            "is unavailable or failed (the batches before are committed: run again).\n",
            VG_REANALYZE_BATCH_MAX, VG_REANALYZE_BATCH_DEF);
}

enum { OPT_RA_SINCE = 300, OPT_RA_BATCH, OPT_RA_ALL, OPT_RA_RESTART, OPT_RA_MAX };

int
vg_cmd_serve_reanalyze(const char *db, bool sqlite_normal, unsigned timeout_ms, int argc,
                       char **argv)
{
    static const struct option longopts[] = {
        {"since", required_argument, NULL, OPT_RA_SINCE},
        {"batch", required_argument, NULL, OPT_RA_BATCH},
        {"all", no_argument, NULL, OPT_RA_ALL},
        {"restart", no_argument, NULL, OPT_RA_RESTART},
        {"max-batches", required_argument, NULL, OPT_RA_MAX},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vg_reanalyze_opts o = {.log = stderr};
    struct vg_store_opts so = {.sqlite_normal = sqlite_normal, .timeout_ms = timeout_ms};
    struct vg_reanalyze_result r;
    struct vg_store *s;
    char err[512];
    uint64_t v;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_RA_SINCE:
            if (vg_api_parse_time(optarg, &o.since) < 0 || o.since < 0) {
                fprintf(stderr, "vigie serve: reanalyze: invalid --since '%s' (e.g. 2026-11-01)\n",
                        optarg);
                goto usage_error;
            }
            break;
        case OPT_RA_BATCH:
            if (vg_parse_u64(optarg, 1, VG_REANALYZE_BATCH_MAX, &v) < 0) {
                fprintf(stderr, "vigie serve: reanalyze: --batch must be 1..%d, not '%s'\n",
                        VG_REANALYZE_BATCH_MAX, optarg);
                goto usage_error;
            }
            o.batch = (unsigned)v;
            break;
        case OPT_RA_MAX:
            if (vg_parse_u64(optarg, 1, UINT32_MAX, &v) < 0) {
                fprintf(stderr, "vigie serve: reanalyze: --max-batches must be a number >= 1\n");
                goto usage_error;
            }
            o.max_batches = v;
            break;
        case OPT_RA_ALL:
            o.all = true;
            break;
        case OPT_RA_RESTART:
            o.restart = true;
            break;
        case 'q':
            o.log = NULL;
            break;
        case 'h':
            reanalyze_usage(stdout);
            return VG_EXIT_OK;
        default:
            goto usage_error;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigie serve: reanalyze: unexpected argument '%s'\n", argv[optind]);
        goto usage_error;
    }
    if (vg_store_open(db, &so, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie serve: cannot open the database: %s\n", err);
        return VG_EXIT_STORE;
    }
    rc = vg_reanalyze_run(s, &o, &r);
    if (rc < 0) {
        vg_store_last_error(s, err, sizeof(err));
    }
    vg_store_close(s);
    vg_reanalyze_print(stdout, &r);
    if (rc < 0) {
        fprintf(stderr,
                "vigie serve: reanalyze: %s%s%s; stopped (the batches before are committed:"
                " run again to go on)\n",
                vg_store_strerror(rc), err[0] != '\0' ? ": " : "", err);
        return VG_EXIT_STORE;
    }
    return VG_EXIT_OK;
usage_error:
    fprintf(stderr, "Run 'vigie serve --db SPEC reanalyze --help' for usage.\n");
    return VG_EXIT_USAGE;
}
