/* SPDX-License-Identifier: MIT */
/*
 * monitor.h - what the files of `vigie monitor` share: monitor_cmd.c (options, batches, signals,
 * the main loop), monitor_log.c (its log) and monitor_status.c (--status). The scheduler itself
 * is schedule.h.
 */
#ifndef VG_CLI_MONITOR_H
#define VG_CLI_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "vigie/vigie.h"

/*
 * Where the log goes: syslog (ident vigie-monitor, facility daemon), or standard error with the
 * time, or, when standard error is the systemd journal, with "<N>" priority prefixes instead.
 */
void vg_monitor_log_open(bool to_syslog);
void vg_monitor_log_close(void);
/* One log line at a syslog priority (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO). */
void vg_monitor_logf(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Follow the control of each measurement (--helper): the first measurement without one logs a
 * warning with the reason (control_failure, "HELPER: reason"), the first with one again a notice
 * with how many went without; nothing when no helper is configured (asked false). One batch runs
 * at a time: called from the engine's thread only.
 */
void vg_monitor_control(const char *control_failure, bool asked);

/* The default state file: $STATE_DIRECTORY/monitor.json, ~/.local/state/vigie/monitor.json
 * (its directories made unless read_only: --status creates nothing), or ./vigie-monitor.json. */
const char *vg_monitor_default_state(char *buf, size_t cap, bool read_only);
/* The default spool: $VIGIE_SPOOL, $STATE_DIRECTORY/spool, or vg_default_spool's. */
const char *vg_monitor_default_spool(char *buf, size_t cap);

/* --status: print the state file at path as a table; returns the exit status. */
int vg_monitor_status(const char *path);
/* A monitored URL's verdict for people: "(none)" when has is false (no result yet),
 * "blocked (tls.reset)", "accessible" (cause NULL or ""). */
void vg_monitor_describe(bool has, enum vg_verdict verdict, const char *cause, char *out,
                         size_t cap);

#endif
