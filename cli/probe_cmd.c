/* SPDX-License-Identifier: MIT */
/*
 * probe_cmd.c - `vigie probe`: options, input, live progress, JSON Lines output and the final
 * verdict table.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine_opts.h"
#include "probe_resume.h"
#include "util/mem.h"
#include "util/stats.h"
#include "util/str.h"
#include "vigie/vigie.h"

enum { VG_FMT_TABLE, VG_FMT_JSONL };

#define VG__PROBE_CTRL_KINDS \
    32 /* distinct reasons for a lost control warned about; more: counted */

/* Per verdict, in the enum's order: the most severe first; the table shows the most severe seen. */
struct url_stats {
    unsigned count[VG_VERDICT_COUNT];
    char cause[VG_VERDICT_COUNT][32];
    char *evidence[VG_VERDICT_COUNT]; /* --evidence: the first trial's of each verdict (owned) */
    double *runtimes;
    unsigned n;
    char locate[48];             /* --locate: the LOCATE cell */
    struct vg_locate_hint *hint; /* --locate: where the first blocked/intercepted trial saw it */
    char hint_cause[32];         /* ... and its cause */
};

struct run {
    int format;
    bool quiet;
    bool progress;
    FILE *out;
    const char *out_path;
    size_t total, done;
    unsigned interference;
    struct timespec start, last_draw;
    struct url_stats *stats;
    size_t n_stats;
    const char **inputs;
    int write_error;
    bool locate;             /* --locate */
    bool only_interference;  /* --only-interference */
    bool evidence;           /* --evidence */
    bool keep_duplicates;    /* --keep-duplicates */
    size_t n_dup_urls;       /* URLs queued more than once (warned about: the first ones) */
    const char *resume_path; /* --resume FILE */
    size_t resumed;          /* measurements FILE had */
    /* --helper: the measurements that got no control, and each "HELPER: reason" warned about
     * (once per helper and reason, owned) */
    const char *const *helpers;
    size_t n_helpers;
    unsigned ctrl_lost;
    char *ctrl_seen[VG__PROBE_CTRL_KINDS];
    size_t n_ctrl_seen;
};

static struct vg_probe *vg_running_probe;

static void
vg__probe_usage(const struct vg_engine_opts *e, FILE *f)
{
    fprintf(f, "usage: vigie probe [OPTIONS] [URL...]\n"
               "\n"
               "Measure each URL (DNS, TCP connect to every address, TLS with SNI, HTTP GET) and\n"
               "give it a verdict: accessible, down, blocked, intercepted or unknown.\n"
               "\n"
               "input:\n"
               "  -i, --input-file FILE   URLs, one per line (# comments) or a Citizen Lab CSV;\n"
               "                          '-' reads standard input; may be repeated\n"
               "      --keep-duplicates   measure a URL listed twice twice (default: once, with\n"
               "                          a warning)\n");
    vg_engine_opts_help(e, "$VIGIE_SPOOL or ~/.local/state/vigie/spool", f);
    fprintf(f, "localisation:\n"
               "      --locate            then find the hop at which the interference answers for\n"
               "                          each URL blocked or intercepted: a LOCATE column and an\n"
               "                          x_locate measurement each (see 'vigie locate --help')\n"
               "output:\n"
               "  -o, --output FILE       write JSON Lines measurements to FILE ('-': stdout)\n"
               "  -f, --format FMT        'table' (default on a terminal) or 'jsonl' (default\n"
               "                          otherwise: measurements on stdout)\n"
               "  -q, --quiet             no progress line, no table and no summary\n"
               "      --only-interference the table and summary show only the URLs blocked or\n"
               "                          intercepted (the JSON Lines keep every measurement)\n"
               "      --evidence          an EVIDENCE column in the table: why, in one sentence\n"
               "      --resume FILE       continue the run whose measurements FILE holds: measure\n"
               "                          only the (URL, trial) pairs not in it, append to it\n"
               "  -h, --help              this help\n"
               "\n"
               "exit status: 0 no interference found, 1 interference found (blocked or\n"
               "intercepted), 2 usage or input error, 3 invalid input lines were skipped,\n"
               "5 the control (--helper) was lost for some measurements, 130 interrupted;\n"
               "1 wins over 5, which wins over 3.\n");
}

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
draw_progress(struct run *r, bool final)
{
    struct timespec now;
    double t, rate, eta;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!final && elapsed(&r->last_draw, &now) < 0.1) {
        return;
    }
    r->last_draw = now;
    t = elapsed(&r->start, &now);
    rate = t > 0 ? (double)r->done / t : 0;
    eta = rate > 0 ? (double)(r->total - r->done) / rate : 0;
    fprintf(stderr, "\r\033[K[%zu/%zu] %.1f URL/s  ETA %.0fs  interference %u", r->done, r->total,
            rate, eta, r->interference);
    if (final) {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

/* What makes the exit status 1. */
static bool
vg__probe_is_interference(enum vg_verdict v)
{
    return v == VG_VERDICT_INTERCEPTED || v == VG_VERDICT_BLOCKED;
}

/* Length of the first "HELPER: reason" of a control failure ("HELPER: reason; HELPER: reason"):
 * up to the "; " that starts another helper's reason. */
static size_t
vg__probe_ctrl_piece(const struct run *r, const char *f)
{
    for (const char *p = strstr(f, "; "); p != NULL; p = strstr(p + 2, "; ")) {
        for (size_t i = 0; i < r->n_helpers; i++) {
            size_t hl = strlen(r->helpers[i]);

            if (strncmp(p + 2, r->helpers[i], hl) == 0 && p[2 + hl] == ':') {
                return (size_t)(p - f);
            }
        }
    }
    return strlen(f);
}

/* A measurement got no control: warn on the first time a helper fails for a reason, not on
 * every URL it fails for. */
static void
vg__probe_ctrl_lost(struct run *r, const char *f)
{
    r->ctrl_lost++;
    while (*f != '\0') {
        size_t n = vg__probe_ctrl_piece(r, f);
        bool seen = false;

        for (size_t i = 0; i < r->n_ctrl_seen && !seen; i++) {
            seen = strlen(r->ctrl_seen[i]) == n && strncmp(r->ctrl_seen[i], f, n) == 0;
        }
        if (!seen && r->n_ctrl_seen < VG__PROBE_CTRL_KINDS) {
            r->ctrl_seen[r->n_ctrl_seen++] = vg_xstrndup(f, n);
            if (r->progress) {
                fputs("\r\033[K", stderr);
            }
            fprintf(stderr,
                    "vigie probe: warning: control lost (%.*s): measurements without a control "
                    "get the probe-only verdicts, with control_failure set\n",
                    (int)n, f);
        }
        f += n;
        if (strncmp(f, "; ", 2) == 0) {
            f += 2;
        }
    }
}

/* One measurement into the URL's counts (this run's, or one --resume read). */
static void
vg__probe_tally(struct run *r, struct url_stats *s, enum vg_verdict vi, const char *cause,
                const char *evidence, double runtime)
{
    if (vg__probe_is_interference(vi)) {
        r->interference++;
    }
    s->count[vi]++;
    if (cause != NULL && s->cause[vi][0] == '\0') {
        snprintf(s->cause[vi], sizeof(s->cause[vi]), "%s", cause);
    }
    if (r->evidence && s->evidence[vi] == NULL) {
        s->evidence[vi] = vg_xstrdup(evidence);
    }
    s->runtimes = vg_xreallocarray(s->runtimes, s->n + 1, sizeof(double));
    s->runtimes[s->n++] = runtime;
}

static void
vg__probe_on_result(const struct vg_result *res, void *arg)
{
    struct run *r = arg;
    struct url_stats *s = &r->stats[res->url_index];
    enum vg_verdict vi =
        (unsigned)res->verdict < VG_VERDICT_COUNT ? res->verdict : VG_VERDICT_UNKNOWN;

    r->done++;
    vg__probe_tally(r, s, vi, res->x_cause, res->x_evidence, res->runtime);
    if (res->control_failure != NULL) {
        vg__probe_ctrl_lost(r, res->control_failure);
    }
    if (r->locate && vg__probe_is_interference(vi) && s->hint == NULL && res->x_cause != NULL &&
        vg_locate_supports(res->x_cause)) {
        s->hint = vg_xcalloc(1, sizeof(*s->hint));
        if (vg_locate_hint(res->json, res->x_cause, s->hint) < 0) {
            snprintf(s->hint->url, sizeof(s->hint->url), "%s", res->input);
        }
        snprintf(s->hint_cause, sizeof(s->hint_cause), "%s", res->x_cause);
    }
    if (r->out != NULL) {
        if (fputs(res->json, r->out) == EOF || fputc('\n', r->out) == EOF) {
            r->write_error = errno;
        }
        if (r->format == VG_FMT_JSONL && r->out == stdout && fflush(stdout) != 0) {
            r->write_error = errno;
        }
    }
    if (r->progress) {
        draw_progress(r, false);
    }
}

static int
vg__probe_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The most severe verdict a URL got (the enum's order), or -1 when it was not measured. */
static int
vg__probe_top(const struct url_stats *s)
{
    for (int k = 0; k < VG_VERDICT_COUNT; k++) {
        if (s->count[k] > 0) {
            return k;
        }
    }
    return -1;
}

/* The URL cell: w columns; a longer URL is cut, and the cut shown by an ellipsis. */
static void
vg__probe_url_cell(const char *url, size_t w)
{
    if (strlen(url) <= w) {
        printf("%-*s", (int)w, url);
    } else {
        printf("%.*s\xe2\x80\xa6", (int)(w - 1), url); /* "…" */
    }
}

static void
print_table(struct run *r)
{
    size_t w = 3, vw = 11;

    for (size_t i = 0; i < r->n_stats; i++) {
        size_t l = strlen(r->inputs[i]);

        if (l > w) {
            w = l;
        }
    }
    if (w > 60) {
        w = 60;
    }
    for (size_t i = 0; i < r->n_stats; i++) {
        for (int k = 0; k < VG_VERDICT_COUNT; k++) {
            if (r->stats[i].count[k] > 0 && r->stats[i].count[k] < r->stats[i].n) {
                vw = 44;
            }
        }
    }
    printf("%-*s  %-*s  %-23s  %6s  %7s%s%s\n", (int)w, "URL", (int)vw, "VERDICT", "CAUSE",
           "TRIALS", "TIME", r->locate ? "  LOCATE" : "", r->evidence ? "  EVIDENCE" : "");
    for (size_t i = 0; i < r->n_stats; i++) {
        struct url_stats *s = &r->stats[i];
        const char *locate = s->locate[0] != '\0' ? s->locate : "-";
        char verdict[96];
        int top = vg__probe_top(s);
        double median = 0;

        if (top < 0 || (r->only_interference && !vg__probe_is_interference((enum vg_verdict)top))) {
            continue;
        }
        if (s->count[top] == s->n) {
            snprintf(verdict, sizeof(verdict), "%s", vg_verdict_name((enum vg_verdict)top));
        } else {
            double lo, hi;

            /* Intermittent interference: the share of trials, with its uncertainty. */
            vg_wilson95(s->count[top], s->n, &lo, &hi);
            snprintf(verdict, sizeof(verdict), "%s %u/%u (%.0f%%, 95%% CI %.0f-%.0f%%)",
                     vg_verdict_name((enum vg_verdict)top), s->count[top], s->n,
                     100.0 * s->count[top] / s->n, 100.0 * lo, 100.0 * hi);
        }
        qsort(s->runtimes, s->n, sizeof(double), vg__probe_cmp_double);
        median = s->runtimes[s->n / 2];
        vg__probe_url_cell(r->inputs[i], w);
        printf("  %-*s  %-23s  %6u  %6.2fs%s%s%s%s\n", (int)vw, verdict,
               s->cause[top][0] != '\0' ? s->cause[top] : "-", s->n, median, r->locate ? "  " : "",
               r->locate ? locate : "", r->evidence ? "  " : "",
               r->evidence ? (s->evidence[top] != NULL ? s->evidence[top] : "-") : "");
    }
}

/* After the table: URLs per verdict (each counted under its most severe verdict) and the URLs
 * with interference, uncut, with their cause. */
static void
vg__probe_summary(const struct run *r)
{
    unsigned per[VG_VERDICT_COUNT] = {0};
    size_t urls = 0, n = 0, unmeasured = 0;
    const char *sep = "";

    for (size_t i = 0; i < r->n_stats; i++) {
        int top = vg__probe_top(&r->stats[i]);

        if (top < 0) {
            unmeasured++;
            continue;
        }
        per[top]++;
        urls++;
        n += r->stats[i].n;
    }
    printf("\nsummary: %zu URL%s, %zu measurement%s:", urls, urls == 1 ? "" : "s", n,
           n == 1 ? "" : "s");
    for (int k = 0; k < VG_VERDICT_COUNT; k++) {
        if (per[k] > 0) {
            printf("%s %u %s", sep, per[k], vg_verdict_name((enum vg_verdict)k));
            sep = ",";
        }
    }
    if (unmeasured > 0) {
        printf("%s %zu not measured", sep, unmeasured);
    }
    printf("\ninterference:%s\n",
           per[VG_VERDICT_INTERCEPTED] + per[VG_VERDICT_BLOCKED] > 0 ? "" : " none");
    for (size_t i = 0; i < r->n_stats; i++) {
        const struct url_stats *s = &r->stats[i];
        int top = vg__probe_top(s);

        if (top >= 0 && vg__probe_is_interference((enum vg_verdict)top)) {
            printf("  %s  %s %u/%u  %s\n", r->inputs[i], vg_verdict_name((enum vg_verdict)top),
                   s->count[top], s->n, s->cause[top][0] != '\0' ? s->cause[top] : "-");
        }
    }
}

/* --locate: where the interference answers, for each URL blocked or intercepted (one trial aims
 * it); the x_locate measurements go where the others went. */
static void
locate_all(struct run *r, const struct vg_probe *p, const struct vg_probe_opts *o)
{
    for (size_t i = 0; i < r->n_stats; i++) {
        struct url_stats *s = &r->stats[i];

        if (s->hint == NULL) {
            continue;
        }
        if (!r->quiet) {
            fprintf(stderr, "vigie probe: locating %s (%s)\n", vg_probe_url(p, i), s->hint_cause);
        }
        if (vg_locate_after_probe(s->hint, vg_probe_url(p, i), s->hint_cause, o->ca_file,
                                  o->resolver, r->out, s->locate, sizeof(s->locate)) < 0 &&
            r->out != NULL && ferror(r->out) && r->write_error == 0) {
            r->write_error = errno != 0 ? errno : EIO;
        }
    }
}

/* First signal: start nothing new and let measurements in flight finish (their results are
 * written). Second signal: default action, at once. */
static void
on_signal(int sig)
{
    static volatile sig_atomic_t seen;

    if (seen) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    seen = 1;
    if (vg_running_probe != NULL) {
        vg_probe_interrupt(vg_running_probe);
    }
}

struct bad_ctx {
    unsigned n;
};

static void
vg__probe_on_bad_input(const char *path, size_t lineno, const char *msg, void *arg)
{
    struct bad_ctx *b = arg;

    b->n++;
    fprintf(stderr, "vigie probe: %s:%zu: %s (line skipped)\n", path, lineno, msg);
}

enum { OPT_LOCATE = 256, OPT_ONLY_INTERFERENCE, OPT_EVIDENCE, OPT_RESUME, OPT_KEEP_DUPLICATES };

/*
 * The options into r, e and files (*files owned by the caller): 0, 1 after --help, or -1 after a
 * usage error (its message printed).
 */
static int
vg__probe_parse_args(int argc, char **argv, struct run *r, struct vg_engine_opts *e,
                     const char ***files, size_t *n_files)
{
    static const struct option own[] = {
        {"input-file", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"locate", no_argument, NULL, OPT_LOCATE},
        {"only-interference", no_argument, NULL, OPT_ONLY_INTERFERENCE},
        {"evidence", no_argument, NULL, OPT_EVIDENCE},
        {"resume", required_argument, NULL, OPT_RESUME},
        {"keep-duplicates", no_argument, NULL, OPT_KEEP_DUPLICATES},
        {NULL, 0, NULL, 0},
    };
    struct option longopts[sizeof(own) / sizeof(own[0]) + VG_ENGINE_OPTS_MAX];
    char shortopts[64];
    const char *format = NULL;
    int c, taken;

    if (vg_engine_opts_getopt(e, own, "i:o:f:qh", longopts, sizeof(longopts) / sizeof(longopts[0]),
                              shortopts, sizeof(shortopts)) < 0) {
        fprintf(stderr, "vigie probe: internal error: option tables\n");
        return -1;
    }
    optind = 1;
    while ((c = vg_getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        taken = vg_engine_opts_take(e, c, optarg);
        if (taken != 0) {
            if (taken < 0) {
                return -1;
            }
            continue;
        }
        switch (c) {
        case 'i':
            *files = vg_xreallocarray(*files, *n_files + 1, sizeof(**files));
            (*files)[(*n_files)++] = optarg;
            break;
        case 'o':
            r->out_path = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'q':
            r->quiet = true;
            break;
        case 'h':
            vg__probe_usage(e, stdout);
            return 1;
        case OPT_LOCATE:
            r->locate = true;
            break;
        case OPT_ONLY_INTERFERENCE:
            r->only_interference = true;
            break;
        case OPT_EVIDENCE:
            r->evidence = true;
            break;
        case OPT_RESUME:
            r->resume_path = optarg;
            break;
        case OPT_KEEP_DUPLICATES:
            r->keep_duplicates = true;
            break;
        default:
            return -1;
        }
    }
    if (format == NULL) {
        r->format = isatty(STDOUT_FILENO) ? VG_FMT_TABLE : VG_FMT_JSONL;
    } else if (strcmp(format, "table") == 0) {
        r->format = VG_FMT_TABLE;
    } else if (strcmp(format, "jsonl") == 0) {
        r->format = VG_FMT_JSONL;
    } else {
        fprintf(stderr, "vigie probe: unknown format '%s' (table or jsonl)\n", format);
        return -1;
    }
    if (r->resume_path != NULL && r->out_path != NULL && strcmp(r->out_path, r->resume_path)) {
        fprintf(stderr, "vigie probe: --resume FILE appends to FILE: --output must be FILE too\n");
        return -1;
    }
    vg_engine_opts_finish(e);
    return 0;
}

/* Queue the arguments from argv[first] on and the files. 0, or -1 when a file cannot be read. */
static int
vg__probe_queue(struct vg_probe *p, int argc, char **argv, int first, const char *const *files,
                size_t n_files, struct bad_ctx *bad)
{
    char err[512];

    for (int i = first; i < argc; i++) {
        if (vg_probe_add(p, argv[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie probe: argument %d: %s (skipped)\n", i - first + 1, err);
            bad->n++;
        }
    }
    for (size_t i = 0; i < n_files; i++) {
        if (vg_probe_add_file(p, files[i], vg__probe_on_bad_input, bad, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie probe: %s\n", err);
            return -1;
        }
    }
    return 0;
}

#define VG__PROBE_DUP_WARNED 10 /* duplicated URLs named; more: counted */

static void
vg__probe_on_dup(const char *url, size_t times, void *arg)
{
    struct run *r = arg;

    if (r->n_dup_urls++ < VG__PROBE_DUP_WARNED) {
        fprintf(stderr, "vigie probe: warning: %s listed %zu times: measured once\n", url, times);
    }
}

/* Unless --keep-duplicates: each URL once. */
static void
vg__probe_dedupe(struct run *r, struct vg_probe *p)
{
    size_t removed;

    if (r->keep_duplicates) {
        return;
    }
    removed = vg_probe_dedupe(p, vg__probe_on_dup, r);
    if (r->n_dup_urls > VG__PROBE_DUP_WARNED) {
        fprintf(stderr, "vigie probe: warning: %zu more URLs listed more than once\n",
                r->n_dup_urls - VG__PROBE_DUP_WARNED);
    }
    if (removed > 0) {
        fprintf(stderr,
                "vigie probe: %zu duplicate%s not measured (--keep-duplicates measures them)\n",
                removed, removed == 1 ? "" : "s");
    }
}

/* After the run: the collector line, --locate, the table, and the output's fate. */
static void
vg__probe_report(struct run *r, struct vg_probe *p, const struct vg_probe_opts *o, int rc)
{
    if (o->collector != NULL) {
        struct vg_upload_stats us;

        vg_probe_upload_stats(p, &us);
        if (!r->quiet || us.spooled + us.rejected + us.failed > 0) {
            fprintf(stderr,
                    "vigie probe: collector: %zu sent, %zu spooled to %s, %zu refused, %zu "
                    "failed\n",
                    us.sent, us.spooled, o->spool_dir, us.rejected, us.failed);
        }
    }
    if (r->locate && rc != VG_ECANCELED) {
        locate_all(r, p, o);
    }
    if (r->format == VG_FMT_TABLE && !r->quiet) {
        r->inputs = vg_xcalloc(r->n_stats, sizeof(char *));
        for (size_t i = 0; i < r->n_stats; i++) {
            r->inputs[i] = vg_probe_url(p, i);
        }
        print_table(r);
        vg__probe_summary(r);
        VG_FREE(r->inputs);
    }
    if (r->out != NULL && r->out != stdout && fclose(r->out) != 0) {
        r->write_error = errno;
    }
    if (r->out == stdout && (fflush(stdout) != 0 || ferror(stdout)) && r->write_error == 0) {
        r->write_error = errno != 0 ? errno : EIO;
    }
    r->out = NULL;
}

/* --resume: the queued URLs sorted, to find a measurement's (URL, trial) in them. */
struct vg__probe_resume {
    struct run *r;
    struct vg_probe *p;
    size_t *order; /* URL indexes sorted by URL */
    size_t other;  /* FILE's measurements of no queued (URL, trial) */
};

static const struct vg_probe *vg__probe_sort_p;

static int
vg__probe_cmp_url(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(vg_probe_url(vg__probe_sort_p, x), vg_probe_url(vg__probe_sort_p, y));

    return c != 0 ? c : (x > y) - (x < y);
}

/* A measurement of FILE: skip its (URL, trial), count it; not a queued URL: nothing. */
static void
vg__probe_on_resumed(const struct vg_resumed *m, void *arg)
{
    struct vg__probe_resume *c = arg;
    size_t lo = 0, hi = c->r->n_stats;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(vg_probe_url(c->p, c->order[mid]), m->input) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    /* A URL queued twice (--keep-duplicates): the first copy whose trial is not skipped yet. */
    for (; lo < c->r->n_stats && strcmp(vg_probe_url(c->p, c->order[lo]), m->input) == 0; lo++) {
        if (vg_probe_skip(c->p, c->order[lo], m->trial) == 1) {
            c->r->resumed++;
            vg__probe_tally(c->r, &c->r->stats[c->order[lo]], m->verdict, m->cause, m->evidence,
                            m->runtime);
            return;
        }
    }
    c->other++;
}

/* --resume FILE: skip what FILE holds. 0, or -1 (the reason printed). */
static int
vg__probe_resume(struct run *r, struct vg_probe *p)
{
    struct vg__probe_resume c = {r, p, vg_xcalloc(r->n_stats, sizeof(size_t)), 0};
    long n;

    for (size_t i = 0; i < r->n_stats; i++) {
        c.order[i] = i;
    }
    vg__probe_sort_p = p;
    qsort(c.order, r->n_stats, sizeof(size_t), vg__probe_cmp_url);
    n = vg_probe_resume_read(r->resume_path, vg__probe_on_resumed, &c);
    free(c.order);
    if (n < 0) {
        return -1;
    }
    if (c.other > 0) {
        fprintf(stderr,
                "vigie probe: warning: %zu measurements of %s are of no URL and trial of this run "
                "(another list or --repeat?): kept there, not counted\n",
                c.other, r->resume_path);
    }
    if (!r->quiet) {
        fprintf(stderr, "vigie probe: resuming %s: %zu of %zu measurements done, %zu left\n",
                r->resume_path, r->resumed, r->total, r->total - r->resumed);
    }
    r->total -= r->resumed;
    return 0;
}

/* Measure what is queued on p; returns the exit status. */
static int
vg__probe_measure(struct run *r, struct vg_probe *p, const struct vg_probe_opts *o,
                  const struct bad_ctx *bad)
{
    int rc;

    r->total = vg_probe_count(p);
    if (r->total == 0) {
        fprintf(stderr, "vigie probe: no valid URL to measure (see 'vigie probe --help')\n");
        return VG_EXIT_USAGE;
    }
    r->n_stats = r->total / o->repeat;
    r->stats = vg_xcalloc(r->n_stats, sizeof(*r->stats));
    if (r->resume_path != NULL) {
        if (vg__probe_resume(r, p) < 0) {
            return VG_EXIT_USAGE;
        }
        r->out_path = r->resume_path;
    }
    if (r->out_path != NULL && strcmp(r->out_path, "-") != 0) {
        r->out = fopen(r->out_path, r->resume_path != NULL ? "a" : "w");
        if (r->out == NULL) {
            fprintf(stderr, "vigie probe: cannot write %s: %s\n", r->out_path, strerror(errno));
            return VG_EXIT_USAGE;
        }
    } else if (r->out_path != NULL || r->format == VG_FMT_JSONL) {
        r->out = stdout;
    }
    r->progress = !r->quiet && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    vg_running_probe = p;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    rc = vg_probe_run(p, vg__probe_on_result, r);
    vg_running_probe = NULL;
    if (r->progress) {
        draw_progress(r, true);
    }
    vg__probe_report(r, p, o, rc);
    if (r->ctrl_lost > 0) {
        fprintf(stderr, "vigie probe: control lost for %u of %zu measurements: %s%s\n",
                r->ctrl_lost, r->done, r->n_ctrl_seen > 0 ? r->ctrl_seen[0] : "?",
                r->n_ctrl_seen > 1 ? " (and other reasons, warned above)" : "");
    }
    if (r->write_error != 0) {
        fprintf(stderr, "vigie probe: writing measurements failed: %s\n", strerror(r->write_error));
        return VG_EXIT_USAGE;
    }
    if (rc == VG_ECANCELED) {
        fprintf(stderr, "vigie probe: interrupted: %zu of %zu measurements done, %zu left%s%s\n",
                r->done + r->resumed, r->total + r->resumed, r->total - r->done,
                r->out_path != NULL && strcmp(r->out_path, "-") != 0 ? "; continue with --resume "
                                                                     : "",
                r->out_path != NULL && strcmp(r->out_path, "-") != 0 ? r->out_path : "");
        return VG_EXIT_INTERRUPTED;
    }
    if (r->interference > 0) {
        return VG_EXIT_INTERFERENCE;
    }
    if (r->ctrl_lost > 0) {
        return VG_EXIT_CONTROL;
    }
    return bad->n > 0 ? VG_EXIT_BAD_INPUT : VG_EXIT_OK;
}

int
vg_cmd_probe(int argc, char **argv)
{
    struct vg_engine_opts e;
    struct vg_probe *p = NULL;
    struct run r;
    struct bad_ctx bad = {0};
    const char **files = NULL;
    size_t n_files = 0;
    char err[512], spool_buf[4096];
    int rc, status;

    memset(&r, 0, sizeof(r));
    vg_engine_opts_init(&e, "probe", VG_ENGINE_REPEAT);
    rc = vg__probe_parse_args(argc, argv, &r, &e, &files, &n_files);
    if (rc != 0) {
        if (rc < 0) {
            fprintf(stderr, "Run 'vigie probe --help' for usage.\n");
        }
        status = rc < 0 ? VG_EXIT_USAGE : VG_EXIT_OK;
        goto out;
    }
    if (e.o.collector != NULL && e.o.spool_dir == NULL) {
        e.o.spool_dir = vg_default_spool(spool_buf, sizeof(spool_buf));
    }
    r.helpers = e.o.helpers;
    r.n_helpers = e.o.n_helpers;
    vg_raise_fd_limit();
    if (vg_probe_new(&e.o, &p, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie probe: %s\n", err);
        status = VG_EXIT_USAGE;
        goto out;
    }
    if (vg__probe_queue(p, argc, argv, optind, files, n_files, &bad) < 0) {
        status = VG_EXIT_USAGE;
        goto out;
    }
    vg__probe_dedupe(&r, p);
    status = vg__probe_measure(&r, p, &e.o, &bad);
out:
    for (size_t i = 0; i < r.n_stats; i++) {
        free(r.stats[i].runtimes);
        free(r.stats[i].hint);
        for (int k = 0; k < VG_VERDICT_COUNT; k++) {
            free(r.stats[i].evidence[k]);
        }
    }
    free(r.stats);
    for (size_t i = 0; i < r.n_ctrl_seen; i++) {
        free(r.ctrl_seen[i]);
    }
    vg_probe_free(p);
    free(files);
    vg_engine_opts_cleanup(&e);
    return status;
}
