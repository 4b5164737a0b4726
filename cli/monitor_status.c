/* SPDX-License-Identifier: MIT */
/*
 * monitor_status.c - `vigie monitor --status`: the state file as a table (URL, current verdict,
 * since, share of the last results not accessible, next run). It reads the file only, so it works
 * whether a monitor runs or not; and where the state file and the spool are by default.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "commands.h"
#include "monitor.h"
#include "schedule.h"

/* mkdir -p for the default state file's directory (an explicit --state must have one). */
static void
vg__monitor_make_parent(char *path)
{
    char *slash = strrchr(path, '/');

    if (slash == NULL || slash == path) {
        return;
    }
    *slash = '\0';
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            (void)mkdir(path, 0700);
            *p = '/';
        }
    }
    (void)mkdir(path, 0700);
    *slash = '/';
}

const char *
vg_monitor_default_state(char *buf, size_t cap, bool read_only)
{
    const char *sd = getenv("STATE_DIRECTORY"), *home = getenv("HOME");

    /* systemd's StateDirectory= (a colon-separated list: the first one is ours) */
    if (sd != NULL && sd[0] != '\0') {
        snprintf(buf, cap, "%.*s/monitor.json", (int)strcspn(sd, ":"), sd);
        return buf;
    }
    if (home != NULL && home[0] != '\0') {
        snprintf(buf, cap, "%s/.local/state/vigie/monitor.json", home);
        if (!read_only) {
            vg__monitor_make_parent(buf);
        }
        return buf;
    }
    return "vigie-monitor.json";
}

const char *
vg_monitor_default_spool(char *buf, size_t cap)
{
    const char *sd = getenv("STATE_DIRECTORY"), *env = getenv("VIGIE_SPOOL");

    if ((env == NULL || env[0] == '\0') && sd != NULL && sd[0] != '\0') {
        snprintf(buf, cap, "%.*s/spool", (int)strcspn(sd, ":"), sd);
        return buf;
    }
    return vg_default_spool(buf, cap);
}

void
vg_monitor_describe(bool has, enum vg_verdict verdict, const char *cause, char *out, size_t cap)
{
    if (!has) {
        snprintf(out, cap, "(none)");
    } else if (cause != NULL && cause[0] != '\0') {
        snprintf(out, cap, "%s (%s)", vg_verdict_name(verdict), cause);
    } else {
        snprintf(out, cap, "%s", vg_verdict_name(verdict));
    }
}

int
vg_monitor_status(const char *path)
{
    struct vg_sched s;
    struct timespec ts;
    char err[512];
    int64_t now;
    size_t w = 3, cw = 7;
    int rc;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    vg_sched_init(&s);
    rc = vg_sched_load(&s, path, err, sizeof(err));
    if (rc != 0) {
        if (rc > 0) {
            fprintf(stderr, "vigie monitor: no state file at %s\n", path);
        } else {
            fprintf(stderr, "vigie monitor: %s: %s\n", path, err);
        }
        return VG_EXIT_USAGE;
    }
    for (size_t i = 0; i < s.n; i++) {
        const struct vg_sched_url *u = &s.urls[i];
        char cur[96];

        vg_monitor_describe(u->has_verdict, u->verdict, u->cause, cur, sizeof(cur));
        if (strlen(u->url) > w) {
            w = strlen(u->url);
        }
        if (strlen(cur) > cw) {
            cw = strlen(cur);
        }
    }
    if (w > 60) {
        w = 60;
    }
    printf("%-*s  %-*s  %-20s  %-14s  %s\n", (int)w, "URL", (int)cw, "CURRENT", "SINCE",
           "NOT ACCESSIBLE", "NEXT RUN");
    for (size_t i = 0; i < s.n; i++) {
        const struct vg_sched_url *u = &s.urls[i];
        char cur[96], since[32], share[48], next[48], dur[32];
        unsigned bad, total;

        vg_monitor_describe(u->has_verdict, u->verdict, u->cause, cur, sizeof(cur));
        if (u->since_ms > 0) {
            vg_sched_fmt_time(u->since_ms, false, since, sizeof(since));
        } else {
            snprintf(since, sizeof(since), "-");
        }
        vg_sched_share(u, &bad, &total);
        if (total > 0) {
            snprintf(share, sizeof(share), "%u/%u (%u%%)", bad, total,
                     (unsigned)((bad * 100 + total / 2) / total));
        } else {
            snprintf(share, sizeof(share), "-");
        }
        if (u->next_ms <= now) {
            snprintf(next, sizeof(next), "due");
        } else {
            vg_sched_fmt_dur(u->next_ms - now, dur, sizeof(dur));
            snprintf(next, sizeof(next), "in %s%s", dur, u->retest_ms > 0 ? " (re-test)" : "");
        }
        printf("%-*.*s  %-*s  %-20s  %-14s  %s\n", (int)w, (int)w, u->url, (int)cw, cur, since,
               share, next);
    }
    vg_sched_cleanup(&s);
    return VG_EXIT_OK;
}
