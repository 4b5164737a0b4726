/* SPDX-License-Identifier: MIT */
/* monitor_log.c - the log of `vigie monitor` (monitor.h): syslog, the journal, or stderr. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"
#include "schedule.h"
#include "util/str.h"

static struct {
    bool syslog;    /* --log syslog */
    bool journal;   /* stderr is the systemd journal: "<N>" priority prefixes, no time */
    bool ctrl_lost; /* the last measurement got no control */
    unsigned long ctrl_without; /* measurements without a control since it was lost */
} vg__monitor_log;

/* systemd sets JOURNAL_STREAM=DEV:INODE when standard error is connected to the journal. */
static bool
vg__monitor_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM"), *colon;
    uint64_t dev, ino;
    struct stat st;

    if (js == NULL || (colon = strchr(js, ':')) == NULL || fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    if (vg_parse_u64n(js, (size_t)(colon - js), 0, UINT64_MAX, &dev) < 0 ||
        vg_parse_u64(colon + 1, 0, UINT64_MAX, &ino) < 0) {
        return false;
    }
    return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

void
vg_monitor_log_open(bool to_syslog)
{
    vg__monitor_log.syslog = to_syslog;
    vg__monitor_log.journal = !to_syslog && vg__monitor_stderr_is_journal();
    if (to_syslog) {
        openlog("vigie-monitor", LOG_PID, LOG_DAEMON);
    }
}

void
vg_monitor_log_close(void)
{
    if (vg__monitor_log.syslog) {
        closelog();
    }
}

void
vg_monitor_logf(int prio, const char *fmt, ...)
{
    char msg[2048], when[32];
    va_list ap;
    struct timespec ts;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (vg__monitor_log.syslog) {
        syslog(prio, "%s", msg);
        return;
    }
    if (vg__monitor_log.journal) {
        fprintf(stderr, "<%d>%s\n", prio, msg);
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
        vg_sched_fmt_time((int64_t)ts.tv_sec * 1000, false, when, sizeof(when));
        fprintf(stderr, "%s vigie monitor: %s\n", when, msg);
    }
    fflush(stderr);
}

void
vg_monitor_control(const char *control_failure, bool asked)
{
    if (!asked) {
        return;
    }
    if (control_failure != NULL) {
        if (!vg__monitor_log.ctrl_lost) {
            vg_monitor_logf(LOG_WARNING,
                            "control lost (%.300s): measurements get the probe-only verdicts, "
                            "with control_failure set, until a helper answers again",
                            control_failure);
        }
        vg__monitor_log.ctrl_lost = true;
        vg__monitor_log.ctrl_without++;
    } else if (vg__monitor_log.ctrl_lost) {
        vg_monitor_logf(LOG_NOTICE, "control back after %lu measurements without one",
                        vg__monitor_log.ctrl_without);
        vg__monitor_log.ctrl_lost = false;
        vg__monitor_log.ctrl_without = 0;
    }
}
