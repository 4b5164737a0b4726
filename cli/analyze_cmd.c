/* SPDX-License-Identifier: MIT */
/*
 * analyze_cmd.c - `vigie analyze`: OONI's measurements through vigie's verdict engine; options,
 * the outputs (JSON Lines, table, CSV, the comparison with OONI's labels) and the exit status.
 * The inputs are read by analyze_input.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "commands.h"
#include "util/mem.h"
#include "vigie/vigie.h"

enum { VG_AZ_JSONL, VG_AZ_TABLE, VG_AZ_CSV };

/* OONI's label of a measurement, as a column of --compare-ooni. */
enum {
    VG_AZ_OONI_ACCESSIBLE, /* blocking false, accessible true */
    VG_AZ_OONI_DOWN,       /* blocking false, accessible false (or null) */
    VG_AZ_OONI_DNS,
    VG_AZ_OONI_TCP_IP,
    VG_AZ_OONI_HTTP_DIFF,
    VG_AZ_OONI_HTTP_FAILURE,
    VG_AZ_OONI_OTHER, /* another blocking string */
    VG_AZ_OONI_NULL,  /* blocking null or missing: OONI could not tell */
    VG_AZ_OONI_COUNT
};

static const char *const vg__analyze_ooni_cols[VG_AZ_OONI_COUNT] = {
    "accessible", "down", "dns", "tcp_ip", "http-diff", "http-failure", "other", "null",
};

#define VG__AZ_OUT_BUF   (1024 * 1024)
#define VG__AZ_SHOWN_MAX 100 /* skipped lines reported per input; the rest only counted */

struct vg__az_run {
    int format;
    bool compare, quiet, lab;
    const char *out_path;
    FILE *out;    /* the measurements (jsonl, table, csv), or NULL (--compare-ooni alone) */
    FILE *report; /* --compare-ooni's report */
    FILE *diffs;  /* --compare-ooni: the measurements that differ, until the end */
    unsigned flags;
    struct vg_analyzer *an;
    struct vg_analysis res;
    char *flat; /* a pretty document on one line */
    size_t flat_cap;
    bool header_done;
    int write_error;
    /* counts */
    uint64_t seen, analysed, verdicts[VG_VERDICT_COUNT], invalid, unsupported, inputs_failed;
    uint64_t shown; /* skipped lines reported for the current input */
    bool progress;  /* a progress line on standard error (a terminal the output is not on) */
    uint64_t bytes;
    struct timespec start, drawn;
    uint64_t cmp[VG_VERDICT_COUNT][VG_AZ_OONI_COUNT], ndiff;
};

static void
vg__analyze_usage(FILE *f)
{
    fprintf(f,
            "usage: vigie analyze [OPTIONS] [FILE...]\n"
            "\n"
            "Give measurements from elsewhere (OONI's web_connectivity, any probe) vigie's\n"
            "verdict, cause and evidence, from their raw observations and their control: the\n"
            "same verdict engine as 'vigie probe'. Other tests are passed through, not analysed.\n"
            "\n"
            "input: each FILE ('-' or none: standard input), recognised by its content: JSON\n"
            "Lines (one measurement per line), pretty-printed JSON documents, gzip, lz4, xz,\n"
            "bzip2 or zstd compressed (OONI's .jsonl.gz), tar archives (OONI's postcans\n"
            ".tar.gz of .post submissions, autoclaved .tar.lz4). Invalid lines are reported\n"
            "with their number and skipped.\n"
            "\n"
            "output:\n"
            "  -o, --output FILE       write to FILE instead of standard output\n"
            "  -f, --format FMT        'jsonl' (default when the output is not a terminal): each\n"
            "                          measurement with x_verdict, x_cause, x_evidence,\n"
            "                          x_endpoints, x_affected_addresses and x_analyzer added to\n"
            "                          its test_keys, other fields untouched; 'table' (default\n"
            "                          on a terminal); 'csv' (a header, then one row per\n"
            "                          measurement)\n"
            "      --compare-ooni      print vigie's verdicts against OONI's blocking and\n"
            "                          accessible, then every measurement where they differ;\n"
            "                          the measurements go to -o FILE only when it is given\n"
            "      --lab               treat documentation address ranges as public (measurements\n"
            "                          of vigie's lab, 'vigie probe --lab')\n"
            "  -q, --quiet             no progress line, no summary line at the end\n"
            "  -h, --help              this help\n"
            "\n"
            "exit status: 0 no interference found, 1 interference found (blocked or\n"
            "intercepted), 2 usage error or unreadable input, 3 invalid lines were skipped,\n"
            "130 interrupted.\n");
}

static void
vg__analyze_on_signal(int sig)
{
    if (vg__analyze_interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    vg__analyze_interrupted = 1;
}

static bool
vg__analyze_is_interference(enum vg_verdict v)
{
    return v == VG_VERDICT_INTERCEPTED || v == VG_VERDICT_BLOCKED;
}

/* OONI's label of res: its column, and its text ("dns", "accessible", "null", ...). */
static int
vg__analyze_ooni_col(const struct vg_analysis *res, const char **label)
{
    static const int words[] = {VG_AZ_OONI_DNS, VG_AZ_OONI_TCP_IP, VG_AZ_OONI_HTTP_DIFF,
                                VG_AZ_OONI_HTTP_FAILURE};
    const char *b = res->ooni_blocking;

    if (b[0] == '\0') {
        *label = "null";
        return VG_AZ_OONI_NULL;
    }
    if (strcmp(b, "false") == 0) {
        *label = res->ooni_accessible == 1 ? "accessible" : "down";
        return res->ooni_accessible == 1 ? VG_AZ_OONI_ACCESSIBLE : VG_AZ_OONI_DOWN;
    }
    *label = b;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(b, vg__analyze_ooni_cols[words[i]]) == 0) {
            return words[i];
        }
    }
    return VG_AZ_OONI_OTHER;
}

/* Whether vigie's verdict v and OONI's column col say the same (docs/analyze.md). */
static bool
vg__analyze_agree(enum vg_verdict v, int col)
{
    switch (col) {
    case VG_AZ_OONI_ACCESSIBLE:
        return v == VG_VERDICT_ACCESSIBLE;
    case VG_AZ_OONI_DOWN:
        return v == VG_VERDICT_DOWN;
    case VG_AZ_OONI_NULL:
        return v == VG_VERDICT_UNKNOWN;
    default:
        return vg__analyze_is_interference(v);
    }
}

/* s for a terminal: control characters (escape sequences) become '?'. */
static void
vg__analyze_print_safe(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        putc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
}

/* Remove the white space outside strings of the JSON text p (a pretty document): one line. */
static const char *
vg__analyze_flatten(struct vg__az_run *r, const char *p, size_t n, size_t *outlen)
{
    bool in_str = false, esc = false;
    size_t o = 0;

    if (r->flat_cap < n) {
        r->flat = vg_xrealloc(r->flat, n);
        r->flat_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        }
        r->flat[o++] = c;
    }
    *outlen = o;
    return r->flat;
}

/* What the table and the CSV say of a measurement vigie has no rules for. */
static void
vg__analyze_not_analysed(const struct vg_analysis *a, char *buf, size_t cap)
{
    if (a->test_name[0] != '\0') {
        snprintf(buf, cap, "not analysed (test %s)", a->test_name);
    } else {
        snprintf(buf, cap, "not analysed (no test_name)");
    }
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
void
vg__analyze_csv_field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
    } else {
        putc('"', f);
        for (; *s != '\0'; s++) {
            if (*s == '"') {
                putc('"', f);
            }
            putc(*s, f);
        }
        putc('"', f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static void
vg__analyze_csv_row(struct vg__az_run *r, const struct vg_analysis *a)
{
    static const char *const acc[] = {"", "false", "true"};
    char note[128] = "";

    if (!r->header_done) {
        fputs("measurement_start_time,probe_cc,probe_asn,input,test_name,verdict,cause,evidence,"
              "ooni_blocking,ooni_accessible,analysed\r\n",
              r->out);
        r->header_done = true;
    }
    if (!a->analysed) {
        vg__analyze_not_analysed(a, note, sizeof(note));
    }
    vg__analyze_csv_field(r->out, a->measurement_start_time, false);
    vg__analyze_csv_field(r->out, a->probe_cc, false);
    vg__analyze_csv_field(r->out, a->probe_asn, false);
    vg__analyze_csv_field(r->out, a->input, false);
    vg__analyze_csv_field(r->out, a->test_name, false);
    vg__analyze_csv_field(r->out, a->analysed ? vg_verdict_name(a->verdict) : "", false);
    vg__analyze_csv_field(r->out, a->cause, false);
    vg__analyze_csv_field(r->out, a->analysed ? a->evidence : note, false);
    vg__analyze_csv_field(r->out, a->ooni_blocking, false);
    vg__analyze_csv_field(r->out, acc[a->ooni_accessible + 1 < 0 ? 0 : a->ooni_accessible + 1],
                          false);
    vg__analyze_csv_field(r->out, a->analysed ? "true" : "false", true);
}

/* s into a cell of the table: control characters (escape sequences) become '?'. */
static const char *
vg__analyze_cell(char *dst, size_t cap, const char *s)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];

        dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    dst[i] = '\0';
    return i > 0 ? dst : "-";
}

/* One row of the table, as it comes: the input last, whole. */
static void
vg__analyze_table_row(struct vg__az_run *r, const struct vg_analysis *a)
{
    char probe[32], first[128], cc[8], asn[24], when[40], ooni[72], input[2048];
    const char *label = "-";

    if (!r->header_done) {
        fprintf(r->out, "%-36s  %-14s  %-19s  %-12s  %s\n", "VERDICT      CAUSE", "PROBE", "TIME",
                "OONI", "INPUT");
        r->header_done = true;
    }
    snprintf(probe, sizeof(probe), "%s %s", vg__analyze_cell(cc, sizeof(cc), a->probe_cc),
             vg__analyze_cell(asn, sizeof(asn), a->probe_asn));
    if (a->analysed) {
        (void)vg__analyze_ooni_col(a, &label);
        snprintf(first, sizeof(first), "%-11s  %s", vg_verdict_name(a->verdict),
                 a->cause[0] != '\0' ? a->cause : "-");
    } else {
        vg__analyze_not_analysed(a, first, sizeof(first));
    }
    fprintf(r->out, "%-36s  %-14s  %-19s  %-12s  %s\n",
            vg__analyze_cell(first, sizeof(first), first), probe,
            vg__analyze_cell(when, sizeof(when), a->measurement_start_time),
            vg__analyze_cell(ooni, sizeof(ooni), label),
            vg__analyze_cell(input, sizeof(input), a->input));
}

/* --compare-ooni: count it, and keep it for the list when they differ. */
static void
vg__analyze_compare(struct vg__az_run *r, const struct vg_analysis *a,
                    const struct vg_analyze_item *it)
{
    const char *label;
    int col = vg__analyze_ooni_col(a, &label);
    unsigned v = (unsigned)a->verdict < VG_VERDICT_COUNT ? a->verdict : VG_VERDICT_UNKNOWN;

    r->cmp[v][col]++;
    if (vg__analyze_agree(v, col) || r->diffs == NULL) {
        return;
    }
    r->ndiff++;
    fprintf(r->diffs, "%-12s  %-11s  %-23s  ", label, vg_verdict_name(v),
            a->cause[0] != '\0' ? a->cause : "-");
    vg__analyze_print_safe(r->diffs, a->input[0] != '\0' ? a->input : "-");
    fputs("  (", r->diffs);
    vg__analyze_print_safe(r->diffs, it->name);
    fprintf(r->diffs, ":%zu)\n              ", it->lineno);
    vg__analyze_print_safe(r->diffs, a->evidence[0] != '\0' ? a->evidence : "(no evidence)");
    putc('\n', r->diffs);
}

/* The line of the error at "byte N" of a pretty document that starts on line first. */
static size_t
vg__analyze_err_line(const struct vg_analyze_item *it, const char *err)
{
    const char *at = strstr(err, "at byte ");
    size_t line = it->lineno;
    unsigned long long off;

    if (!it->multiline || at == NULL || sscanf(at, "at byte %llu", &off) != 1) {
        return line;
    }
    for (size_t i = 0; i < it->len && i < off; i++) {
        line += it->json[i] == '\n';
    }
    return line;
}

static double
vg__analyze_since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The progress line, at most every half second; final: erase it. */
static void
vg__analyze_progress(struct vg__az_run *r, bool final)
{
    struct timespec now;
    double t;

    if (final) {
        fputs("\r\033[K", stderr);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (vg__analyze_since(&r->drawn, &now) < 0.5) {
        return;
    }
    r->drawn = now;
    t = vg__analyze_since(&r->start, &now);
    fprintf(stderr,
            "\r\033[K%" PRIu64 " measurements, %.0f MB, %.0f MB/s, %" PRIu64
            " blocked or intercepted",
            r->seen, (double)r->bytes / 1e6, t > 0 ? (double)r->bytes / 1e6 / t : 0.0,
            r->verdicts[VG_VERDICT_BLOCKED] + r->verdicts[VG_VERDICT_INTERCEPTED]);
    fflush(stderr);
}

static void
vg__analyze_on_skip(void *arg, const char *name, size_t lineno, enum vg_analyze_skip why,
                    const char *msg)
{
    struct vg__az_run *r = arg;

    if (why == VG_ANALYZE_SKIP_UNSUPPORTED) {
        r->unsupported++;
    } else {
        r->invalid++;
    }
    if (r->progress && r->shown < VG__AZ_SHOWN_MAX + 1) {
        vg__analyze_progress(r, true);
    }
    if (++r->shown <= VG__AZ_SHOWN_MAX) {
        fprintf(stderr, "vigie analyze: %s:%zu: ", name, lineno);
        vg__analyze_print_safe(stderr, msg); /* the parser's message may quote the input */
        fputs(" (skipped)\n", stderr);
    } else if (r->shown == VG__AZ_SHOWN_MAX + 1) {
        fprintf(stderr, "vigie analyze: %s: more lines skipped, not shown (counted at the end)\n",
                name);
    }
}

/* The measurement, written as the format says. */
static void
vg__analyze_write(struct vg__az_run *r, const struct vg_analysis *a,
                  const struct vg_analyze_item *it)
{
    const char *line = a->analysed && a->line != NULL ? a->line : it->json;
    size_t n = a->analysed && a->line != NULL ? a->line_len : it->len;

    switch (r->format) {
    case VG_AZ_JSONL:
        if (it->multiline) {
            line = vg__analyze_flatten(r, line, n, &n);
        }
        fwrite(line, 1, n, r->out);
        putc('\n', r->out);
        break;
    case VG_AZ_TABLE:
        vg__analyze_table_row(r, a);
        break;
    default:
        vg__analyze_csv_row(r, a);
        break;
    }
}

static int
vg__analyze_on_item(void *arg, const struct vg_analyze_item *it)
{
    struct vg__az_run *r = arg;
    struct vg_analysis *a = &r->res;
    char err[512];

    if (vg_analyze(r->an, it->json, it->len, r->flags, a, err, sizeof(err)) < 0) {
        vg__analyze_on_skip(r, it->name, vg__analyze_err_line(it, err), VG_ANALYZE_SKIP_INVALID,
                            err);
        return vg__analyze_interrupted ? -1 : 0;
    }
    r->seen++;
    if (a->analysed) {
        unsigned v = (unsigned)a->verdict < VG_VERDICT_COUNT ? a->verdict : VG_VERDICT_UNKNOWN;

        r->analysed++;
        r->verdicts[v]++;
        if (r->compare) {
            vg__analyze_compare(r, a, it);
        }
    }
    if (r->out != NULL) {
        vg__analyze_write(r, a, it);
        if (ferror(r->out)) {
            r->write_error = errno != 0 ? errno : EIO;
            return -1;
        }
    }
    r->bytes += it->len;
    if (r->progress && r->seen % 64 == 0) {
        vg__analyze_progress(r, false);
    }
    return vg__analyze_interrupted ? -1 : 0;
}

/* --compare-ooni's report: the table of counts, the agreement, the differences. */
static void
vg__analyze_print_compare(struct vg__az_run *r)
{
    FILE *f = r->report;
    uint64_t col_total[VG_AZ_OONI_COUNT] = {0}, total = 0, agree = 0;
    char buf[4096];
    size_t n;

    fprintf(f, "%-14s", "vigie \\ OONI");
    for (int c = 0; c < VG_AZ_OONI_COUNT; c++) {
        fprintf(f, "  %*s", c == VG_AZ_OONI_HTTP_FAILURE ? 12 : 10, vg__analyze_ooni_cols[c]);
    }
    fprintf(f, "  %10s\n", "total");
    for (int v = 0; v < VG_VERDICT_COUNT; v++) {
        uint64_t row = 0;

        fprintf(f, "%-14s", vg_verdict_name((enum vg_verdict)v));
        for (int c = 0; c < VG_AZ_OONI_COUNT; c++) {
            fprintf(f, "  %*" PRIu64, c == VG_AZ_OONI_HTTP_FAILURE ? 12 : 10, r->cmp[v][c]);
            row += r->cmp[v][c];
            col_total[c] += r->cmp[v][c];
            if (vg__analyze_agree((enum vg_verdict)v, c)) {
                agree += r->cmp[v][c];
            }
        }
        fprintf(f, "  %10" PRIu64 "\n", row);
        total += row;
    }
    fprintf(f, "%-14s", "total");
    for (int c = 0; c < VG_AZ_OONI_COUNT; c++) {
        fprintf(f, "  %*" PRIu64, c == VG_AZ_OONI_HTTP_FAILURE ? 12 : 10, col_total[c]);
    }
    fprintf(f, "  %10" PRIu64 "\n\n", total);
    fprintf(f, "agree: %" PRIu64 " of %" PRIu64 " (%.1f%%); differ: %" PRIu64 "\n", agree, total,
            total > 0 ? 100.0 * (double)agree / (double)total : 100.0, total - agree);
    if (r->seen > r->analysed) {
        fprintf(f, "not compared: %" PRIu64 " measurements of other tests\n",
                r->seen - r->analysed);
    }
    if (r->ndiff == 0) {
        return;
    }
    fprintf(f, "\nwhere they differ:\n%-12s  %-11s  %-23s  %s\n", "OONI", "VIGIE", "CAUSE",
            "INPUT (FILE:LINE), then vigie's evidence");
    rewind(r->diffs);
    while ((n = fread(buf, 1, sizeof(buf), r->diffs)) > 0) {
        fwrite(buf, 1, n, f);
    }
}

static void
vg__analyze_summary(const struct vg__az_run *r)
{
    fprintf(stderr, "vigie analyze: %" PRIu64 " measurements, %" PRIu64 " analysed (", r->seen,
            r->analysed);
    for (int v = 0; v < VG_VERDICT_COUNT; v++) {
        fprintf(stderr, "%s%" PRIu64 " %s", v > 0 ? ", " : "", r->verdicts[v],
                vg_verdict_name((enum vg_verdict)v));
    }
    fprintf(stderr, "), %" PRIu64 " of other tests passed through", r->seen - r->analysed);
    if (r->invalid > 0) {
        fprintf(stderr, "; %" PRIu64 " invalid lines skipped", r->invalid);
    }
    if (r->unsupported > 0) {
        fprintf(stderr, "; %" PRIu64 " YAML measurements skipped", r->unsupported);
    }
    if (r->inputs_failed > 0) {
        fprintf(stderr, "; %" PRIu64 " inputs unreadable", r->inputs_failed);
    }
    if (vg__analyze_interrupted) {
        fputs("; interrupted", stderr);
    }
    fputc('\n', stderr);
}

enum { OPT_COMPARE_OONI = 256, OPT_LAB };

/* The options into r: 0, 1 after --help, or -1 after a usage error (its message printed). */
static int
vg__analyze_parse_args(int argc, char **argv, struct vg__az_run *r, const char **format)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"compare-ooni", no_argument, NULL, OPT_COMPARE_OONI},
        {"lab", no_argument, NULL, OPT_LAB},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = vg_getopt_long(argc, argv, "o:f:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            r->out_path = optarg;
            break;
        case 'f':
            *format = optarg;
            break;
        case 'q':
            r->quiet = true;
            break;
        case 'h':
            vg__analyze_usage(stdout);
            return 1;
        case OPT_COMPARE_OONI:
            r->compare = true;
            break;
        case OPT_LAB:
            r->lab = true;
            break;
        default:
            return -1;
        }
    }
    if (*format != NULL && strcmp(*format, "jsonl") != 0 && strcmp(*format, "table") != 0 &&
        strcmp(*format, "csv") != 0) {
        fprintf(stderr, "vigie analyze: unknown format '%s' (jsonl, table or csv)\n", *format);
        return -1;
    }
    return 0;
}

/* Open the outputs: 0, or -1 (message printed). */
static int
vg__analyze_open(struct vg__az_run *r, const char *format)
{
    bool to_file = r->out_path != NULL && strcmp(r->out_path, "-") != 0;

    if (to_file) {
        r->out = fopen(r->out_path, "w");
        if (r->out == NULL) {
            fprintf(stderr, "vigie analyze: cannot write %s: %s\n", r->out_path, strerror(errno));
            return -1;
        }
    } else if (!r->compare || r->out_path != NULL) {
        r->out = stdout;
    }
    if (r->compare) {
        r->report = stdout;
        r->diffs = tmpfile();
        if (r->diffs == NULL) {
            fprintf(stderr, "vigie analyze: cannot create a temporary file: %s\n", strerror(errno));
            return -1;
        }
    }
    if (format == NULL) {
        r->format = r->out != NULL && isatty(fileno(r->out)) ? VG_AZ_TABLE : VG_AZ_JSONL;
    } else {
        r->format = strcmp(format, "jsonl") == 0   ? VG_AZ_JSONL
                    : strcmp(format, "table") == 0 ? VG_AZ_TABLE
                                                   : VG_AZ_CSV;
    }
    /* Decide only, when no measurement line is written. */
    r->flags = r->out != NULL && r->format == VG_AZ_JSONL ? 0 : VG_ANALYZE_NO_LINE;
    if (r->lab) {
        r->flags |= VG_ANALYZE_LAB;
    }
    if (r->out != NULL && (r->format != VG_AZ_TABLE || !isatty(fileno(r->out)))) {
        setvbuf(r->out, NULL, _IOFBF, VG__AZ_OUT_BUF);
    }
    return 0;
}

/* Flush and close the outputs: 0, or -1 when writing failed (message printed). */
static int
vg__analyze_close(struct vg__az_run *r)
{
    if (r->out != NULL && r->out != stdout) {
        if (fclose(r->out) != 0 && r->write_error == 0) {
            r->write_error = errno;
        }
    }
    if ((fflush(stdout) != 0 || ferror(stdout)) && r->write_error == 0) {
        r->write_error = errno != 0 ? errno : EIO;
    }
    r->out = NULL;
    if (r->diffs != NULL) {
        fclose(r->diffs);
        r->diffs = NULL;
    }
    if (r->write_error != 0) {
        fprintf(stderr, "vigie analyze: writing the output failed: %s\n", strerror(r->write_error));
        return -1;
    }
    return 0;
}

/* Read every input: false when one could not be read. */
static void
vg__analyze_inputs(struct vg__az_run *r, struct vg_analyze_reader *rd, char **files, int n)
{
    struct vg_analyze_sink sink = {vg__analyze_on_item, vg__analyze_on_skip, r};
    static char *const stdin_only[] = {"-"};
    char err[4352];

    if (n == 0) {
        files = (char **)stdin_only;
        n = 1;
    }
    for (int i = 0; i < n && !vg__analyze_interrupted && r->write_error == 0; i++) {
        r->shown = 0;
        if (vg__analyze_in_read(rd, files[i], &sink, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie analyze: cannot read %s\n", err);
            r->inputs_failed++;
        }
    }
}

int
vg_cmd_analyze(int argc, char **argv)
{
    struct vg__az_run r;
    struct vg_analyze_reader *rd = NULL;
    struct sigaction sa;
    const char *format = NULL;
    int rc, status;

    memset(&r, 0, sizeof(r));
    rc = vg__analyze_parse_args(argc, argv, &r, &format);
    if (rc != 0) {
        if (rc < 0) {
            fprintf(stderr, "Run 'vigie analyze --help' for usage.\n");
        }
        return rc < 0 ? VG_EXIT_USAGE : VG_EXIT_OK;
    }
    r.an = vg_analyzer_new();
    rd = vg__analyze_in_new();
    if (r.an == NULL || rd == NULL || vg__analyze_open(&r, format) < 0) {
        if (r.an == NULL || rd == NULL) {
            fprintf(stderr, "vigie analyze: out of memory\n");
        }
        status = VG_EXIT_USAGE;
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = vg__analyze_on_signal; /* no SA_RESTART: a blocked read returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    r.progress = !r.quiet && isatty(STDERR_FILENO) && (r.out == NULL || !isatty(fileno(r.out)));
    clock_gettime(CLOCK_MONOTONIC, &r.start);
    vg__analyze_inputs(&r, rd, argv + optind, argc - optind);
    if (r.progress) {
        vg__analyze_progress(&r, true);
    }
    if (r.compare && r.write_error == 0) {
        vg__analyze_print_compare(&r);
    }
    if (vg__analyze_close(&r) < 0) {
        status = VG_EXIT_USAGE;
        goto out;
    }
    if (!r.quiet) {
        vg__analyze_summary(&r);
    }
    if (vg__analyze_interrupted) {
        status = VG_EXIT_INTERRUPTED;
    } else if (r.inputs_failed > 0) {
        status = VG_EXIT_USAGE;
    } else if (r.verdicts[VG_VERDICT_BLOCKED] + r.verdicts[VG_VERDICT_INTERCEPTED] > 0) {
        status = VG_EXIT_INTERFERENCE;
    } else {
        status = r.invalid + r.unsupported > 0 ? VG_EXIT_BAD_INPUT : VG_EXIT_OK;
    }
out:
    if (r.out != NULL && r.out != stdout) {
        fclose(r.out);
    }
    if (r.diffs != NULL) {
        fclose(r.diffs);
    }
    vg__analyze_in_free(rd);
    vg_analyzer_free(r.an);
    free(r.flat);
    return status;
}
