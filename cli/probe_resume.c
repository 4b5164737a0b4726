/* SPDX-License-Identifier: MIT */
/* probe_resume.c - reading the measurements of an earlier `vigie probe` run (probe_resume.h). */
#include "probe_resume.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/json.h"

/* One line: 1 when it is a measurement (cb called), 0 when not. */
static int
vg__resume_line(struct vg_json_doc *d, const char *line, size_t n, vg_resumed_cb cb, void *arg)
{
    const struct vg_json *root = vg_json_parse(d, line, n, NULL, 0);
    const struct vg_json *tk = vg_json_get(root, "test_keys");
    const char *verdict = vg_json_str(vg_json_get(tk, "x_verdict"));
    struct vg_resumed m = {0};
    int64_t trial;

    m.input = vg_json_str(vg_json_get(root, "input"));
    if (m.input == NULL || verdict == NULL || !vg_verdict_parse(verdict, &m.verdict) ||
        !vg_json_int(vg_json_get(tk, "x_trial"), &trial) || trial < 1 || trial > UINT32_MAX) {
        return 0;
    }
    m.trial = (unsigned)trial;
    m.cause = vg_json_str(vg_json_get(tk, "x_cause"));
    m.evidence = vg_json_str(vg_json_get(tk, "x_evidence"));
    if (m.evidence == NULL) {
        m.evidence = "";
    }
    if (!vg_json_num(vg_json_get(root, "test_runtime"), &m.runtime)) {
        m.runtime = 0;
    }
    cb(&m, arg);
    return 1;
}

long
vg_probe_resume_read(const char *path, vg_resumed_cb cb, void *arg)
{
    FILE *f = fopen(path, "r+");
    struct vg_json_doc *d = NULL;
    struct stat st;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    long found = 0;
    off_t good = 0; /* offset past the last complete line */

    if (f == NULL || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "vigie probe: cannot resume from %s: %s\n", path,
                f == NULL ? strerror(errno) : "not a regular file");
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    d = vg_json_doc_new();
    if (d == NULL) {
        fprintf(stderr, "vigie probe: out of memory\n");
        fclose(f);
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[n - 1] != '\n') {
            fprintf(stderr,
                    "vigie probe: warning: %s:%zu: last line cut short (the run was killed "
                    "while writing it): removed, measured again\n",
                    path, lineno);
            break;
        }
        good += n;
        if (n > 1 && vg__resume_line(d, line, (size_t)n - 1, cb, arg) == 0) {
            fprintf(stderr,
                    "vigie probe: warning: %s:%zu: not a measurement of vigie probe "
                    "(skipped)\n",
                    path, lineno);
            continue;
        }
        found += n > 1;
    }
    if (ferror(f) || (good < st.st_size && ftruncate(fileno(f), good) < 0)) {
        fprintf(stderr, "vigie probe: cannot resume from %s: %s\n", path, strerror(errno));
        found = -1;
    }
    free(line);
    vg_json_doc_free(d);
    fclose(f);
    return found;
}
