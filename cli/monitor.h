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

/* --status: print the state file at path as a table; returns the exit status. */
int vg_monitor_status(const char *path);
/* A monitored URL's verdict for people: "(none)" when has is false (no result yet),
 * "blocked (tls.reset)", "accessible" (cause NULL or ""). */
void vg_monitor_describe(bool has, enum vg_verdict verdict, const char *cause, char *out,
                         size_t cap);

#endif
