/* SPDX-License-Identifier: MIT */
/*
 * analyze.h - what the two halves of `vigie analyze` share: analyze_input.c turns a file (JSON
 * Lines, pretty documents, gzip, OONI's postcans and autoclaved archives) into measurements, one
 * at a time; analyze_cmd.c analyses and writes them (docs/analyze.md).
 */
#ifndef VG_CLI_ANALYZE_H
#define VG_CLI_ANALYZE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One measurement read from an input. Everything is borrowed for the duration of the call. */
struct vg_analyze_item {
    const char *json; /* its bytes (no NUL at the end) */
    size_t len;
    const char *name; /* where it comes from: "FILE", or "ARCHIVE:MEMBER" inside a tar */
    size_t lineno;    /* the line it starts on (1-based) */
    bool multiline;   /* a pretty-printed document: json holds line breaks */
};

/* Why an item was skipped. */
enum vg_analyze_skip {
    VG_ANALYZE_SKIP_INVALID,    /* not a measurement: bad JSON, over the line bound, ... */
    VG_ANALYZE_SKIP_UNSUPPORTED /* a measurement vigie cannot read (a YAML postcan entry) */
};

struct vg_analyze_sink {
    /* A measurement: 0 to go on, or -1 to stop reading (output failed, interrupted). */
    int (*item)(void *arg, const struct vg_analyze_item *it);
    /* Something skipped at name:lineno, and why. */
    void (*skip)(void *arg, const char *name, size_t lineno, enum vg_analyze_skip why,
                 const char *msg);
    void *arg;
};

struct vg_analyze_reader;

/* A reader, with the buffers it reuses from one input to the next. */
struct vg_analyze_reader *vg__analyze_in_new(void);
void vg__analyze_in_free(struct vg_analyze_reader *r);

/*
 * Read one input, path ("-": standard input), and hand every measurement in it to the sink in
 * order. Returns 0 when the input was read to its end (or the sink stopped it); -1 when it could
 * not be opened or read, or its compression or archive is corrupt (then err says why; the items
 * before the fault were handed over).
 */
int vg__analyze_in_read(struct vg_analyze_reader *r, const char *path,
                        const struct vg_analyze_sink *sink, char *err, size_t errlen);

/* One CSV field (RFC 4180) to f, quoted when it must be, then ',' or, when last, CRLF. */
void vg__analyze_csv_field(FILE *f, const char *s, bool last);

/* Set by the signal handler of analyze_cmd.c: the reader stops at the next item or read. */
extern volatile sig_atomic_t vg__analyze_interrupted;

#endif
