/* SPDX-License-Identifier: MIT */
/*
 * engine_opts.h - the engine options (struct vg_probe_opts) of every measuring command: one table
 * of long name, argument, range and help line (engine_opts.c), one parser, one help text, so that
 * `vigie probe` and `vigie monitor` take the same options with the same bounds and messages.
 * vigie(1) documents them once, under ENGINE OPTIONS.
 *
 * A command builds its getopt_long() tables with vg_engine_opts_getopt() (its own options, then
 * the engine's), hands every option to vg_engine_opts_take() first, and handles the rest itself.
 */
#ifndef VG_CLI_ENGINE_OPTS_H
#define VG_CLI_ENGINE_OPTS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "vigie/vigie.h"

/* Engine options only some commands take (the others every measuring command takes). */
#define VG_ENGINE_REPEAT 0x1u /* -r, --repeat: several trials per URL (probe) */

/* Entries of the engine's table: size the command's struct option array with this added. */
#define VG_ENGINE_OPTS_MAX 24

struct vg_engine_opts {
    struct vg_probe_opts o; /* the result; o.helpers / o.n_helpers are set by _finish */
    const char *cmd;        /* "probe": names the command in error messages (borrowed) */
    unsigned which;         /* the VG_ENGINE_* options the command takes */
    const char **helpers;   /* --helper values in order (array owned, strings borrowed) */
    size_t n_helpers;
    char *token; /* --collector-token's token (owned, wiped by _cleanup); o.collector_token */
};

/* The defaults (vg_probe_opts_init). cmd is borrowed for the life of e. */
void vg_engine_opts_init(struct vg_engine_opts *e, const char *cmd, unsigned which);
void vg_engine_opts_cleanup(struct vg_engine_opts *e);

/*
 * getopt_long()'s tables: the command's long options (terminated by a zero entry) and short
 * option string, followed by the engine's. longopts has cap entries, shortopts scap bytes.
 * Returns 0, or VG_ETOOBIG when they do not fit (a programming error).
 */
VG_MUST_USE int vg_engine_opts_getopt(const struct vg_engine_opts *e, const struct option *cmd_long,
                                      const char *cmd_short, struct option *longopts, size_t cap,
                                      char *shortopts, size_t scap);

/* s is a test helper's URL --helper takes: http:// or https:// with a host (lib/proto/url). */
bool vg_engine_opts_helper_url(const char *s);

/*
 * Take what getopt_long() returned (c, and arg its optarg): 1 when c is an engine option and its
 * value valid, 0 when c is not an engine option (the command's own), -1 when the value is not
 * valid: the message is on standard error, and the command exits with VG_EXIT_USAGE.
 */
VG_MUST_USE int vg_engine_opts_take(struct vg_engine_opts *e, int c, const char *arg);

/* After the last option: e->o.helpers and n_helpers point at the --helper values. */
void vg_engine_opts_finish(struct vg_engine_opts *e);

/*
 * The engine options' part of a command's --help, grouped (measurement, control, networks,
 * upload). spool_default says what --spool defaults to (the commands differ).
 */
void vg_engine_opts_help(const struct vg_engine_opts *e, const char *spool_default, FILE *f);

/*
 * The upload token on the first line of the file at path (--collector-token FILE), whitespace
 * around it trimmed, into *out (owned: wipe it with explicit_bzero before freeing). The file must
 * be a readable regular file that other users cannot read or write (not world-readable). Returns
 * 0, or -1 with a message on standard error that never quotes the token (opt names the option).
 */
VG_MUST_USE int vg_engine_opts_token_file(const char *cmd, const char *opt, const char *path,
                                          char **out);

/*
 * The range-checked number and duration of a command-line option (opt: "--window"), with the
 * messages every command gives: 0, or -1 with the message on standard error. A duration is in
 * ms, e.g. "500ms", "4s", "1.5m" (vg_parse_duration_ms), and must lie in [min_ms, max_ms].
 */
VG_MUST_USE int vg_engine_opts_number(const char *cmd, const char *opt, const char *s, uint64_t min,
                                      uint64_t max, uint64_t *out);
VG_MUST_USE int vg_engine_opts_duration(const char *cmd, const char *opt, const char *s,
                                        uint64_t min_ms, uint64_t max_ms, uint64_t *out);

#endif
