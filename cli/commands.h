/* SPDX-License-Identifier: MIT */
/* commands.h - the subcommands of the vigie executable and its exit codes (vigie(1)). */
#ifndef VG_CLI_COMMANDS_H
#define VG_CLI_COMMANDS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define VG_EXIT_OK           0 /* every measurement done, no interference found */
#define VG_EXIT_INTERFERENCE 1 /* at least one measurement blocked or intercepted */
#define VG_EXIT_USAGE        2 /* bad option, unreadable input, nothing to measure */
#define VG_EXIT_BAD_INPUT    3 /* done, no interference, but invalid input lines were skipped */
#define VG_EXIT_STORE        4 /* serve, import: the database is unavailable or failed */
#define VG_EXIT_CONTROL      5 /* probe: done, but no helper answered for some measurements */
#define VG_EXIT_INTERRUPTED  130
#define VG_EXIT_CHANGED      1 /* diff: at least one verdict changed */

/*
 * getopt_long() for the commands' options, which also hands them the options of the
 * configuration files (config.c, config.h): every command parses its options with it.
 */
int vg_getopt_long(int argc, char *const *argv, const char *shortopts,
                   const struct option *longopts, int *longind);

/* Lift the soft open-file limit to the hard one: measurements and connections hold sockets. */
void vg_raise_fd_limit(void);

int vg_cmd_probe(int argc, char **argv);
int vg_cmd_upload(int argc, char **argv);
/* Default spool directory: $VIGIE_SPOOL, else ~/.local/state/vigie/spool (buf holds it). */
const char *vg_default_spool(char *buf, size_t cap);
int vg_cmd_helper(int argc, char **argv);
int vg_cmd_locate(int argc, char **argv);
/* probe --locate: locate the cause of one measurement, aimed by its hint h (may be NULL: url
 * and the probe's resolver), write the x_locate measurement to out (may be NULL) and the table's
 * LOCATE cell to cell. Returns 0, or -1 when it could not run or its output not be written. */
struct vg_locate_hint;
int vg_locate_after_probe(const struct vg_locate_hint *h, const char *url, const char *cause,
                          const char *ca_file, const char *resolver, FILE *out, char *cell,
                          size_t cap);
/* `vigie monitor`: re-measure a list for ever (monitor_cmd.c, schedule.c). */
int vg_cmd_monitor(int argc, char **argv);
/* `vigie serve` (the collector) and `vigie import` (serve_cmd.c). */
int vg_cmd_serve(int argc, char **argv);
/* `vigie serve --db SPEC reanalyze [OPTIONS]` (serve_reanalyze.c): argv[0] is "reanalyze";
 * the store is opened with sqlite_normal and timeout_ms as serve's options say. */
int vg_cmd_serve_reanalyze(const char *db, bool sqlite_normal, unsigned timeout_ms, int argc,
                           char **argv);
int vg_cmd_import(int argc, char **argv);
/* `vigie analyze`: measurements from elsewhere through vigie's verdicts (analyze_cmd.c). */
int vg_cmd_analyze(int argc, char **argv);
/* `vigie diff OLD NEW`: the verdict changes per URL and network (diff_cmd.c). */
int vg_cmd_diff(int argc, char **argv);
/* `vigie report --input URL`: the incident report (report_cmd.c, server/incident.h). */
int vg_cmd_report(int argc, char **argv);
/* `vigie verdicts` (verdicts_cmd.c, not in --help): the verdicts and their meanings, as a table,
 * JSON or the dashboard's generated ES module. */
int vg_cmd_verdicts(int argc, char **argv);

#endif
