/* SPDX-License-Identifier: MIT */
/*
 * config.h - the configuration files of the vigie commands (vigie(1), CONFIGURATION FILE).
 *
 * /etc/vigie/vigie.conf, then ~/.config/vigie/vigie.conf ($XDG_CONFIG_HOME/vigie/vigie.conf), or
 * the one file of --config FILE (none with --no-config), hold one long option per line, "name
 * value" or a flag's "name", '#' comments, and command sections ("[probe]"): an option outside
 * any section applies to every command that has it (the others ignore it), one in a section to
 * that command only (an option the command lacks is an error there).
 *
 * The files become arguments: main() reads them before the command and hands the command an
 * argv of "--name=value" words followed by its own command line, so that every option goes
 * through the command's own parser. The command calls vg_getopt_long() instead of
 * getopt_long(): on its first call it learns the command's option tables and drops the file's
 * words that do not apply (an option the command line gives, an option a later file or the
 * command's section sets again, an option outside a section the command lacks), fails on an
 * option the command's section names but the command lacks, and, for --print-config, prints the
 * options in effect and where each comes from, and exits 0.
 *
 * Precedence, lowest first: the system file, the user file (within a file, the lines outside
 * any section, then those of the command's section); the command line wins over all. A later
 * place that sets an option replaces every value an earlier one gave it, so that a list option
 * (--helper) is replaced, not extended; within one place, repeated lines are all kept.
 */
#ifndef VG_CLI_CONFIG_H
#define VG_CLI_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

#define VG_CONFIG_SYSTEM "/etc/vigie/vigie.conf"

struct vg_config_entry {
    char *name;       /* long option, without "--" (owned) */
    char *value;      /* NULL for a flag (owned) */
    const char *file; /* borrowed from struct vg_config's files */
    unsigned line;
    unsigned scope;  /* the place: 2 * file index, + 1 in the command's section */
    bool in_section; /* in [cmd]: an option the command lacks is an error */
    bool skip;       /* not handed to the command (vg_config_resolve) */
};

struct vg_config {
    const char *cmd;             /* the command, which names its section (borrowed) */
    const char *const *sections; /* the section names a file may use, NULL-terminated */
    struct vg_config_entry *e;   /* in the order the command receives them (owned) */
    size_t n;
    char **files; /* the files read, in order (owned) */
    size_t n_files;
    unsigned secret_line; /* a line holding a secret in the last file parsed, or 0 */
};

/* An empty configuration for cmd; sections and cmd are borrowed for its life. */
void vg_config_init(struct vg_config *c, const char *cmd, const char *const *sections);
void vg_config_cleanup(struct vg_config *c);

/*
 * Add the options of one file's text (len bytes, untrusted) that apply to c->cmd: those outside
 * any section, then those of [cmd]; the other sections are checked for their syntax only. path
 * names the file in messages and entries. Returns 0, or VG_EINVAL / VG_ETOOBIG with
 * "PATH:LINE: reason" in err (nothing added then). Lines longer than VG_CONFIG_LINE_MAX, more
 * than VG_CONFIG_ENTRIES_MAX options, NUL bytes, unknown sections, option names that are not
 * [a-z0-9-], and the options that only make sense on the command line (config, no-config,
 * print-config, help) are errors.
 */
VG_MUST_USE int vg_config_parse(struct vg_config *c, const char *path, const char *text, size_t len,
                                char *err, size_t cap);

/*
 * Read the file at path (at most VG_CONFIG_FILE_MAX bytes, a regular file) and parse it. A
 * missing file is 0 when !must_exist. A file every user may write is refused (its options run
 * commands); one every user may read that holds a secret gets a warning on standard error. Returns
 * 0, or a negative VG_E* with the message in err.
 */
VG_MUST_USE int vg_config_load(struct vg_config *c, const char *path, bool must_exist, char *err,
                               size_t cap);

/*
 * Given the command's option tables and its whole argv, whose words 1..c->n are the entries,
 * mark the entries the command does not receive (skip). Returns 0, or VG_EINVAL with
 * "PATH:LINE: reason" in err: an option of the command's section that the command lacks, a
 * value given to a flag, no value for an option that takes one.
 */
VG_MUST_USE int vg_config_resolve(struct vg_config *c, const struct option *longopts,
                                  const char *shortopts, int argc, char *const *argv, char *err,
                                  size_t cap);

/* --print-config: the options in effect (after vg_config_resolve) with where each comes from. */
void vg_config_print(const struct vg_config *c, const struct option *longopts,
                     const char *shortopts, int argc, char *const *argv, FILE *f);

/* value as --print-config shows it: a URL's password and query masked. */
void vg_config_mask(const char *value, char *out, size_t cap);

/* ---- the process's configuration (main.c, the commands) ------------------------------------ */

/*
 * Before the command: take --config FILE, --no-config and --print-config out of the command's
 * arguments (*argv, from index 1, up to "--"), read the files, and replace *argc and *argv with
 * the command's arguments preceded by the files' words (storage owned by this module until
 * vg_config_end). Returns 0, or VG_EXIT_USAGE after a message on standard error.
 */
int vg_config_begin(const char *cmd, const char *const *sections, int *argc, char ***argv);

/*
 * vg_getopt_long (declared in commands.h) is getopt_long() plus the configuration described
 * above on its first call for the argv vg_config_begin made. A configuration error or
 * --print-config ends the process (VG_EXIT_USAGE after the message, 0 after the listing).
 */

/*
 * After the command returned rc: when it failed on a usage error while its parser was on an
 * option from a file, say which line; then free what vg_config_begin allocated.
 */
void vg_config_end(int rc);

#endif
