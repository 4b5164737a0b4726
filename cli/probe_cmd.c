/* SPDX-License-Identifier: MIT */
/*
 * probe_cmd.c - `vigie probe`: options, input, live progress, JSON Lines output and the final
 * verdict table.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

enum { VG_FMT_TABLE, VG_FMT_JSONL };

/* Verdicts from the most to the least severe; the table shows the most severe seen. */
static const char *const vg_verdicts[] = {"intercepted", "blocked", "down", "unknown",
                                          "accessible"};
#define VG_N_VERDICTS 5

struct url_stats {
    unsigned count[VG_N_VERDICTS];
    char cause[VG_N_VERDICTS][32];
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
    bool locate; /* --locate */
};

static struct vg_probe *vg_running_probe;

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: vigie probe [OPTIONS] [URL...]\n"
            "\n"
            "Measure each URL (DNS, TCP connect to every address, TLS with SNI, HTTP GET) and\n"
            "give it a verdict: accessible, down, blocked, intercepted or unknown.\n"
            "\n"
            "input:\n"
            "  -i, --input-file FILE   URLs, one per line (# comments) or a Citizen Lab CSV;\n"
            "                          '-' reads standard input; may be repeated\n"
            "measurement:\n"
            "  -p, --parallel N        measurements in flight (default 64, max 10000)\n"
            "  -r, --repeat K          trials per URL (default 1)\n"
            "      --resolver IP[:PORT] also resolve over UDP with this resolver and record\n"
            "                          every reply (injected duplicates)\n"
            "      --ca-file PEM       trust store for validation (default: the system one)\n"
            "      --dns-timeout T     (default 4s)   --dns-wait T  duplicate window (500ms)\n"
            "      --tcp-timeout T     (default 10s)  --tls-timeout T  (10s)\n"
            "      --http-timeout T    (default 10s)  T is e.g. 500ms, 2s, 1m\n"
            "      --body-max BYTES    body bytes kept per response (default 524288)\n"
            "      --lab               treat documentation address ranges as public (lab)\n"
            "control:\n"
            "      --helper URL        control vantage point (OONI test-helper protocol, e.g.\n"
            "                          vigie helper); repeat for failover, tried in order\n"
            "      --control-timeout T per helper attempt (default 30s)\n"
            "localisation:\n"
            "      --locate            then find the hop at which the interference answers for\n"
            "                          each URL blocked or intercepted: a LOCATE column and an\n"
            "                          x_locate measurement each (see 'vigie locate --help')\n"
            "networks:\n"
            "      --asn-db FILE       MaxMind DB with autonomous systems (GeoLite2-ASN, DB-IP\n"
            "                          ASN lite): answers' asn, OONI's common-ASN DNS rule,\n"
            "                          probe_asn from the address the helper saw (not recorded)\n"
            "      --country-db FILE   MaxMind DB with countries (GeoLite2-Country): probe_cc;\n"
            "                          each file is read for all it has, one may serve both\n"
            "upload:\n"
            "      --collector URL     upload each measurement to this collector as it completes\n"
            "                          (OONI collector protocol, e.g. vigie serve)\n"
            "      --spool DIR         where measurements wait when the collector is unreachable\n"
            "                          (default $VIGIE_SPOOL or ~/.local/state/vigie/spool);\n"
            "                          sent by the next run or by 'vigie upload'\n"
            "output:\n"
            "  -o, --output FILE       write JSON Lines measurements to FILE ('-': stdout)\n"
            "  -f, --format FMT        'table' (default on a terminal) or 'jsonl' (default\n"
            "                          otherwise: measurements on stdout)\n"
            "  -q, --quiet             no progress line and no table\n"
            "  -h, --help              this help\n"
            "\n"
            "exit status: 0 no interference found, 1 interference found (blocked or\n"
            "intercepted), 2 usage or input error, 3 invalid input lines were skipped,\n"
            "130 interrupted.\n");
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

static int
verdict_index(const char *v)
{
    for (int i = 0; i < VG_N_VERDICTS; i++) {
        if (strcmp(v, vg_verdicts[i]) == 0) {
            return i;
        }
    }
    return 3;
}

static void
on_result(const struct vg_result *res, void *arg)
{
    struct run *r = arg;
    struct url_stats *s = &r->stats[res->url_index];
    int vi = verdict_index(res->x_verdict);

    r->done++;
    if (vi <= 1) {
        r->interference++;
    }
    s->count[vi]++;
    if (res->x_cause != NULL && s->cause[vi][0] == '\0') {
        snprintf(s->cause[vi], sizeof(s->cause[vi]), "%s", res->x_cause);
    }
    if (r->locate && vi <= 1 && s->hint == NULL && res->x_cause != NULL &&
        vg_locate_supports(res->x_cause)) {
        s->hint = vg_xcalloc(1, sizeof(*s->hint));
        if (vg_locate_hint(res->json, res->x_cause, s->hint) < 0) {
            snprintf(s->hint->url, sizeof(s->hint->url), "%s", res->input);
        }
        snprintf(s->hint_cause, sizeof(s->hint_cause), "%s", res->x_cause);
    }
    s->runtimes = vg_xreallocarray(s->runtimes, s->n + 1, sizeof(double));
    s->runtimes[s->n++] = res->runtime;
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

/* Wilson score interval at 95% for k successes in n trials, in percent. */
static void
wilson(unsigned k, unsigned n, double *lo, double *hi)
{
    const double z = 1.959964;
    double p = (double)k / n, z2n = z * z / n;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = z * sqrt(p * (1 - p) / n + z2n / (4.0 * n)) / (1 + z2n);

    *lo = 100.0 * (centre - half < 0 ? 0 : centre - half);
    *hi = 100.0 * (centre + half > 1 ? 1 : centre + half);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
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
        for (int k = 0; k < VG_N_VERDICTS; k++) {
            if (r->stats[i].count[k] > 0 && r->stats[i].count[k] < r->stats[i].n) {
                vw = 44;
            }
        }
    }
    printf("%-*s  %-*s  %-23s  %6s  %7s%s\n", (int)w, "URL", (int)vw, "VERDICT", "CAUSE", "TRIALS",
           "TIME", r->locate ? "  LOCATE" : "");
    for (size_t i = 0; i < r->n_stats; i++) {
        struct url_stats *s = &r->stats[i];
        const char *locate = s->locate[0] != '\0' ? s->locate : "-";
        char verdict[96];
        int top = -1;
        double median = 0;

        for (int k = 0; k < VG_N_VERDICTS && top < 0; k++) {
            if (s->count[k] > 0) {
                top = k;
            }
        }
        if (top < 0) {
            continue;
        }
        if (s->count[top] == s->n) {
            snprintf(verdict, sizeof(verdict), "%s", vg_verdicts[top]);
        } else {
            double lo, hi;

            /* Intermittent interference: the share of trials, with its uncertainty. */
            wilson(s->count[top], s->n, &lo, &hi);
            snprintf(verdict, sizeof(verdict), "%s %u/%u (%.0f%%, 95%% CI %.0f-%.0f%%)",
                     vg_verdicts[top], s->count[top], s->n, 100.0 * s->count[top] / s->n, lo, hi);
        }
        qsort(s->runtimes, s->n, sizeof(double), cmp_double);
        median = s->runtimes[s->n / 2];
        printf("%-*.*s  %-*s  %-23s  %6u  %6.2fs%s%s\n", (int)w, (int)w, r->inputs[i], (int)vw,
               verdict, s->cause[top][0] != '\0' ? s->cause[top] : "-", s->n, median,
               r->locate ? "  " : "", r->locate ? locate : "");
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

static int
parse_ms(const char *opt, const char *s, unsigned *out)
{
    uint64_t ms;

    if (vg_parse_duration_ms(s, &ms) < 0 || ms == 0 || ms > 3600000) {
        fprintf(stderr, "vigie probe: invalid duration for %s: '%s' (e.g. 500ms, 4s)\n", opt, s);
        return -1;
    }
    *out = (unsigned)ms;
    return 0;
}

static int
parse_num(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (vg_parse_u64(s, min, max, out) < 0) {
        fprintf(stderr, "vigie probe: %s must be a number in %llu..%llu, not '%s'\n", opt,
                (unsigned long long)min, (unsigned long long)max, s);
        return -1;
    }
    return 0;
}

struct bad_ctx {
    unsigned n;
};

static void
on_bad_input(const char *path, size_t lineno, const char *msg, void *arg)
{
    struct bad_ctx *b = arg;

    b->n++;
    fprintf(stderr, "vigie probe: %s:%zu: %s (line skipped)\n", path, lineno, msg);
}

enum {
    OPT_RESOLVER = 256,
    OPT_CA_FILE,
    OPT_DNS_TIMEOUT,
    OPT_DNS_WAIT,
    OPT_TCP_TIMEOUT,
    OPT_TLS_TIMEOUT,
    OPT_HTTP_TIMEOUT,
    OPT_BODY_MAX,
    OPT_LAB,
    OPT_HELPER,
    OPT_CONTROL_TIMEOUT,
    OPT_COLLECTOR,
    OPT_SPOOL,
    OPT_LOCATE,
    OPT_ASN_DB,
    OPT_COUNTRY_DB,
};

int
vg_cmd_probe(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"input-file", required_argument, NULL, 'i'},
        {"parallel", required_argument, NULL, 'p'},
        {"repeat", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"resolver", required_argument, NULL, OPT_RESOLVER},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},
        {"dns-wait", required_argument, NULL, OPT_DNS_WAIT},
        {"tcp-timeout", required_argument, NULL, OPT_TCP_TIMEOUT},
        {"tls-timeout", required_argument, NULL, OPT_TLS_TIMEOUT},
        {"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
        {"body-max", required_argument, NULL, OPT_BODY_MAX},
        {"lab", no_argument, NULL, OPT_LAB},
        {"helper", required_argument, NULL, OPT_HELPER},
        {"control-timeout", required_argument, NULL, OPT_CONTROL_TIMEOUT},
        {"collector", required_argument, NULL, OPT_COLLECTOR},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"locate", no_argument, NULL, OPT_LOCATE},
        {"asn-db", required_argument, NULL, OPT_ASN_DB},
        {"country-db", required_argument, NULL, OPT_COUNTRY_DB},
        {NULL, 0, NULL, 0},
    };
    struct vg_probe_opts o;
    struct vg_probe *p = NULL;
    struct run r;
    struct bad_ctx bad = {0};
    const char **files = NULL, **helpers = NULL;
    size_t n_files = 0, n_helpers = 0;
    const char *format = NULL;
    char err[512], spool_buf[4096];
    int c, rc, status = VG_EXIT_OK;
    uint64_t v;

    memset(&r, 0, sizeof(r));
    vg_probe_opts_init(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:p:r:o:f:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            files = vg_xreallocarray(files, n_files + 1, sizeof(*files));
            files[n_files++] = optarg;
            break;
        case 'p':
            if (parse_num("--parallel", optarg, 1, 10000, &v) < 0) {
                goto usage_error;
            }
            o.parallel = (unsigned)v;
            break;
        case 'r':
            if (parse_num("--repeat", optarg, 1, 1000, &v) < 0) {
                goto usage_error;
            }
            o.repeat = (unsigned)v;
            break;
        case 'o':
            r.out_path = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'q':
            r.quiet = true;
            break;
        case 'h':
            usage(stdout);
            free(files);
            free(helpers);
            return VG_EXIT_OK;
        case OPT_RESOLVER:
            o.resolver = optarg;
            break;
        case OPT_CA_FILE:
            o.ca_file = optarg;
            break;
        case OPT_DNS_TIMEOUT:
            if (parse_ms("--dns-timeout", optarg, &o.dns_timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        case OPT_DNS_WAIT:
            if (parse_ms("--dns-wait", optarg, &o.dns_wait_ms) < 0) {
                goto usage_error;
            }
            break;
        case OPT_TCP_TIMEOUT:
            if (parse_ms("--tcp-timeout", optarg, &o.tcp_timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        case OPT_TLS_TIMEOUT:
            if (parse_ms("--tls-timeout", optarg, &o.tls_timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        case OPT_HTTP_TIMEOUT:
            if (parse_ms("--http-timeout", optarg, &o.http_timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        case OPT_BODY_MAX:
            if (parse_num("--body-max", optarg, 0, 64 * 1024 * 1024, &v) < 0) {
                goto usage_error;
            }
            o.body_max = (size_t)v;
            break;
        case OPT_LAB:
            o.doc_ranges_public = true;
            break;
        case OPT_HELPER:
            helpers = vg_xreallocarray(helpers, n_helpers + 1, sizeof(*helpers));
            helpers[n_helpers++] = optarg;
            break;
        case OPT_COLLECTOR:
            o.collector = optarg;
            break;
        case OPT_SPOOL:
            o.spool_dir = optarg;
            break;
        case OPT_LOCATE:
            r.locate = true;
            break;
        case OPT_ASN_DB:
            o.asn_db = optarg;
            break;
        case OPT_COUNTRY_DB:
            o.country_db = optarg;
            break;
        case OPT_CONTROL_TIMEOUT:
            if (parse_ms("--control-timeout", optarg, &o.control_timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        default:
            goto usage_error;
        }
    }
    if (format == NULL) {
        r.format = isatty(STDOUT_FILENO) ? VG_FMT_TABLE : VG_FMT_JSONL;
    } else if (strcmp(format, "table") == 0) {
        r.format = VG_FMT_TABLE;
    } else if (strcmp(format, "jsonl") == 0) {
        r.format = VG_FMT_JSONL;
    } else {
        fprintf(stderr, "vigie probe: unknown format '%s' (table or jsonl)\n", format);
        goto usage_error;
    }
    if (o.collector != NULL && o.spool_dir == NULL) {
        o.spool_dir = vg_default_spool(spool_buf, sizeof(spool_buf));
    }
    o.helpers = helpers;
    o.n_helpers = n_helpers;
    vg_raise_fd_limit();
    rc = vg_probe_new(&o, &p, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "vigie probe: %s\n", err);
        free(files);
        free(helpers);
        return VG_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        if (vg_probe_add(p, argv[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie probe: argument %d: %s (skipped)\n", i - optind + 1, err);
            bad.n++;
        }
    }
    for (size_t i = 0; i < n_files; i++) {
        if (vg_probe_add_file(p, files[i], on_bad_input, &bad, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie probe: %s\n", err);
            status = VG_EXIT_USAGE;
            goto out;
        }
    }
    r.total = vg_probe_count(p);
    if (r.total == 0) {
        fprintf(stderr, "vigie probe: no valid URL to measure (see 'vigie probe --help')\n");
        status = VG_EXIT_USAGE;
        goto out;
    }
    if (r.out_path != NULL && strcmp(r.out_path, "-") != 0) {
        r.out = fopen(r.out_path, "w");
        if (r.out == NULL) {
            fprintf(stderr, "vigie probe: cannot write %s: %s\n", r.out_path, strerror(errno));
            status = VG_EXIT_USAGE;
            goto out;
        }
    } else if (r.out_path != NULL || r.format == VG_FMT_JSONL) {
        r.out = stdout;
    }
    r.n_stats = r.total / o.repeat;
    r.stats = vg_xcalloc(r.n_stats, sizeof(*r.stats));
    r.progress = !r.quiet && isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &r.start);
    vg_running_probe = p;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    rc = vg_probe_run(p, on_result, &r);
    vg_running_probe = NULL;
    if (r.progress) {
        draw_progress(&r, true);
    }
    if (o.collector != NULL) {
        struct vg_upload_stats us;

        vg_probe_upload_stats(p, &us);
        if (!r.quiet || us.spooled + us.rejected + us.failed > 0) {
            fprintf(stderr,
                    "vigie probe: collector: %zu sent, %zu spooled to %s, %zu refused, %zu "
                    "failed\n",
                    us.sent, us.spooled, o.spool_dir, us.rejected, us.failed);
        }
    }
    if (r.locate && rc != VG_ECANCELED) {
        locate_all(&r, p, &o);
    }
    if (r.format == VG_FMT_TABLE && !r.quiet) {
        r.inputs = vg_xcalloc(r.n_stats, sizeof(char *));
        for (size_t i = 0; i < r.n_stats; i++) {
            r.inputs[i] = vg_probe_url(p, i);
        }
        print_table(&r);
        VG_FREE(r.inputs);
    }
    if (r.out != NULL && r.out != stdout && fclose(r.out) != 0) {
        r.write_error = errno;
    }
    if (r.out == stdout && (fflush(stdout) != 0 || ferror(stdout)) && r.write_error == 0) {
        r.write_error = errno != 0 ? errno : EIO;
    }
    r.out = NULL;
    if (r.write_error != 0) {
        fprintf(stderr, "vigie probe: writing measurements failed: %s\n", strerror(r.write_error));
        status = VG_EXIT_USAGE;
    } else if (rc == VG_ECANCELED) {
        status = VG_EXIT_INTERRUPTED;
    } else if (r.interference > 0) {
        status = VG_EXIT_INTERFERENCE;
    } else if (bad.n > 0) {
        status = VG_EXIT_BAD_INPUT;
    }
out:
    for (size_t i = 0; i < r.n_stats; i++) {
        free(r.stats[i].runtimes);
        free(r.stats[i].hint);
    }
    free(r.stats);
    vg_probe_free(p);
    free(files);
    free(helpers);
    return status;
usage_error:
    fprintf(stderr, "Run 'vigie probe --help' for usage.\n");
    free(files);
    free(helpers);
    return VG_EXIT_USAGE;
}
