/* SPDX-License-Identifier: MIT */
/* main.c - the vigie executable: dispatches subcommands. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"

/* The commands, which name the sections of the configuration files (config.h). */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} vg__main_cmds[] = {
    {"probe", vg_cmd_probe},   {"helper", vg_cmd_helper},   {"upload", vg_cmd_upload},
    {"locate", vg_cmd_locate}, {"monitor", vg_cmd_monitor}, {"serve", vg_cmd_serve},
    {"import", vg_cmd_import}, {"analyze", vg_cmd_analyze}, {"diff", vg_cmd_diff},
    {"report", vg_cmd_report},
};
static const char *const vg__main_sections[] = {"probe",   "helper", "upload", "locate",
                                                "monitor", "serve",  "import", "analyze",
                                                "diff",    "report", NULL};

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
               "  diff      what changed between two sets of measurements, per URL and network\n"
               "  report    the incident report of one URL on one network (HTML and JSON)\n"
               "\n"
               "Run 'vigie COMMAND --help' for a command's options; see vigie(1).\n"
               "Options are also read from /etc/vigie/vigie.conf and\n"
               "~/.config/vigie/vigie.conf (COMMAND --print-config lists them).\n");
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
    for (size_t i = 0; i < sizeof(vg__main_cmds) / sizeof(vg__main_cmds[0]); i++) {
        int argc2 = argc - 1, rc;
        char **argv2 = argv + 1;

        if (strcmp(argv[1], vg__main_cmds[i].name) != 0) {
            continue;
        }
        rc = vg_config_begin(argv[1], vg__main_sections, &argc2, &argv2);
        if (rc == 0) {
            rc = vg__main_cmds[i].run(argc2, argv2);
        }
        vg_config_end(rc);
        return rc;
    }
    /* Maintenance, not in the usage: what generates the dashboard's verdict list. */
    if (strcmp(argv[1], "verdicts") == 0) {
        return vg_cmd_verdicts(argc - 1, argv + 1);
    }
    fprintf(stderr, "vigie: unknown command '%s'\n", argv[1]);
    vg__main_usage(stderr);
    return VG_EXIT_USAGE;
}
