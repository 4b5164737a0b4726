/* SPDX-License-Identifier: MIT */
/* main.c - the vigie executable: dispatches subcommands. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static void
vg__main_usage(FILE *f)
{
    fprintf(f, "usage: vigie [--version] [--help] COMMAND [ARGS]\n"
               "\n"
               "vigie measures network interference: DNS tampering, TCP/TLS/HTTP blocking and\n"
               "TLS interception (man-in-the-middle), with OONI-compatible output.\n"
               "\n"
               "commands:\n"
               "  probe     measure URLs from this network and give each a verdict\n"
               "  helper    serve OONI's test-helper protocol (a control vantage point)\n"
               "  upload    send spooled measurements to a collector\n"
               "  locate    find the hop at which interference answers (TTL-limited probes)\n"
               "  monitor   measure URLs again and again, sooner after a change (a daemon)\n"
               "  serve     collect measurements (OONI collector API) and answer queries\n"
               "  import    store measurement files in a collector's database\n"
               "  analyze   give OONI's measurements a vigie verdict (files, archives)\n"
               "\n"
               "Run 'vigie COMMAND --help' for a command's options; see vigie(1).\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        vg__main_usage(stderr);
        return VG_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("vigie %s\n", VG_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        vg__main_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "probe") == 0) {
        return vg_cmd_probe(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "helper") == 0) {
        return vg_cmd_helper(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "upload") == 0) {
        return vg_cmd_upload(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "locate") == 0) {
        return vg_cmd_locate(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "monitor") == 0) {
        return vg_cmd_monitor(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "serve") == 0) {
        return vg_cmd_serve(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "import") == 0) {
        return vg_cmd_import(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "analyze") == 0) {
        return vg_cmd_analyze(argc - 1, argv + 1);
    }
    /* Maintenance, not in the usage: what generates the dashboard's verdict list. */
    if (strcmp(argv[1], "verdicts") == 0) {
        return vg_cmd_verdicts(argc - 1, argv + 1);
    }
    fprintf(stderr, "vigie: unknown command '%s'\n", argv[1]);
    vg__main_usage(stderr);
    return VG_EXIT_USAGE;
}
