/* SPDX-License-Identifier: MIT */
/*
 * server_opts.h - the options `vigie helper` and `vigie serve` share: how many connections they
 * hold and for how long (struct vg_http_limits, server/http_util.h); and the user they run as
 * once the listening socket is bound (--user, --group: `vigie monitor` too).
 */
#ifndef VG_CLI_SERVER_OPTS_H
#define VG_CLI_SERVER_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include "http_util.h"

/* getopt_long values of the shared options; commands number their own below VG_OPT_LIMITS. */
enum {
    VG_OPT_LIMITS = 1000,
    VG_OPT_MAX_CONN = VG_OPT_LIMITS,
    VG_OPT_MAX_PER_IP,
    VG_OPT_IDLE_TIMEOUT,
    VG_OPT_HEADER_TIMEOUT,
    VG_OPT_READ_TIMEOUT,
    VG_OPT_PER_PREFIX6,
    VG_OPT_LIMITS_END,
    VG_OPT_USER = VG_OPT_LIMITS_END,
    VG_OPT_GROUP,
    VG_OPT_PRIVS_END,
};

/* The entries to put in a command's struct option array. */
#define VG_LIMITS_LONGOPTS                                                  \
    {"max-connections", required_argument, NULL, VG_OPT_MAX_CONN},          \
        {"max-per-ip", required_argument, NULL, VG_OPT_MAX_PER_IP},         \
        {"idle-timeout", required_argument, NULL, VG_OPT_IDLE_TIMEOUT},     \
        {"header-timeout", required_argument, NULL, VG_OPT_HEADER_TIMEOUT}, \
        {"read-timeout", required_argument, NULL, VG_OPT_READ_TIMEOUT},     \
    {                                                                       \
        "per-prefix6", required_argument, NULL, VG_OPT_PER_PREFIX6          \
    }

/* Write the options' help lines, with def's values as defaults. */
void vg_limits_usage(FILE *f, const struct vg_http_limits *def);

/*
 * Apply option opt (VG_OPT_LIMITS <= opt < VG_OPT_LIMITS_END) with its argument to l. Counts
 * are 0..VG_HTTP_LIMIT_MAX (--max-connections from 1), durations "30s", "2m" or seconds, 0
 * disabling. Returns 0, or -1 after an error message naming cmd on stderr.
 */
int vg_limits_option(const char *cmd, int opt, const char *arg, struct vg_http_limits *l);

/* --user and --group, for the struct option array. */
#define VG_PRIVS_LONGOPTS                              \
    {"user", required_argument, NULL, VG_OPT_USER},    \
    {                                                  \
        "group", required_argument, NULL, VG_OPT_GROUP \
    }

/* Whom to run as after the privileged start (names or numbers; borrowed from argv). */
struct vg_privs {
    const char *user;  /* NULL: stay who we are */
    const char *group; /* NULL: the user's primary group */
};

/* The options' help lines; when and when2 (at most 33 and 54 columns) say when root is left. */
void vg_privs_usage(FILE *f, const char *when, const char *when2);
/* Apply option opt (VG_OPT_USER or VG_OPT_GROUP). Returns 0. */
int vg_privs_option(int opt, const char *arg, struct vg_privs *p);
/*
 * Become p->user (and p->group, else the user's primary group; no supplementary group) for
 * good: as root, setgroups, setgid and setuid for every thread, then a check that root cannot
 * be regained. Not root and already that user: nothing to do. Returns 0, or -1 after a message
 * naming cmd on stderr (unknown user, --user root, not root, a call that failed).
 */
int vg_privs_drop(const char *cmd, const struct vg_privs *p);

#endif
