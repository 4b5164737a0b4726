/* commands.h - the subcommands of the vigie executable and its exit codes (vigie(1)). */
#ifndef VG_CLI_COMMANDS_H
#define VG_CLI_COMMANDS_H

#include <stddef.h>

#define VG_EXIT_OK           0 /* every measurement done, no interference found */
#define VG_EXIT_INTERFERENCE 1 /* at least one measurement blocked or intercepted */
#define VG_EXIT_USAGE        2 /* bad option, unreadable input, nothing to measure */
#define VG_EXIT_BAD_INPUT    3 /* done, no interference, but invalid input lines were skipped */
#define VG_EXIT_STORE        4 /* serve, import: the database is unavailable or failed */
#define VG_EXIT_INTERRUPTED  130

int vg_cmd_probe(int argc, char **argv);
int vg_cmd_upload(int argc, char **argv);
/* Default spool directory: $VIGIE_SPOOL, else ~/.local/state/vigie/spool (buf holds it). */
const char *vg_default_spool(char *buf, size_t cap);
int vg_cmd_helper(int argc, char **argv);
/* `vigie monitor`: re-measure a list for ever (monitor_cmd.c, schedule.c). */
int vg_cmd_monitor(int argc, char **argv);
/* `vigie serve` (the collector) and `vigie import` (serve_cmd.c). */
int vg_cmd_serve(int argc, char **argv);
int vg_cmd_import(int argc, char **argv);

#endif
