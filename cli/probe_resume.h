/* SPDX-License-Identifier: MIT */
/*
 * probe_resume.h - `vigie probe --resume FILE`: the (URL, trial) pairs and verdicts of the
 * measurements a previous run wrote to FILE (JSON Lines), so that the run measures only the rest.
 */
#ifndef VG_CLI_PROBE_RESUME_H
#define VG_CLI_PROBE_RESUME_H

#include <stddef.h>

#include "vigie/vigie.h"

/* One measurement of FILE; every pointer is borrowed for the call (cause may be NULL). */
struct vg_resumed {
    const char *input;
    unsigned trial;
    enum vg_verdict verdict;
    const char *cause;
    const char *evidence;
    double runtime;
};

typedef void (*vg_resumed_cb)(const struct vg_resumed *m, void *arg);

/*
 * Call cb for each measurement of the file at path. A last line cut short (the run was killed
 * while writing it) is removed from the file, with a warning, so that appending starts on a line
 * of its own; other lines that are not measurements are warned about and skipped. Returns the
 * number of measurements, or -1 with the reason on standard error (cannot read, not a file).
 */
long vg_probe_resume_read(const char *path, vg_resumed_cb cb, void *arg);

#endif
