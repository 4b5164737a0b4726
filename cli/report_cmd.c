/* SPDX-License-Identifier: MIT */
/*
 * report_cmd.c - `vigie report`: the incident report of one target x network x period, as one
 * self-contained HTML document and its JSON (server/incident.h), from measurement files (read
 * by analyze_input.c, the reader of `vigie analyze`; measurements without vigie's verdict get
 * one from vg_analyze) or from a collector's database (store.h vg_store_incident_each).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "api.h"
#include "commands.h"
#include "incident.h"
#include "meas/record_read.h"
#include "store.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"
#include "vigie/vigie.h"

#define VG__REPORT_SHOWN_MAX 5            /* skipped measurements named on stderr */
#define VG__REPORT_DB_WINDOW (30 * 86400) /* --db without a period: the last 30 days */
#define VG__REPORT_EXIT_NONE 3            /* no measurement matched */

struct vg__report_run {
    struct vg_incident_opts o;
    const char *db;
    const char *out; /* -o: FILE.html (+ FILE.json), "-" stdout; NULL: stdout */
    bool json;       /* --format json */
    bool list, quiet;
    unsigned flags; /* vg_analyze's */
    int64_t window;
    char **paths;
    int n_paths;
    struct vg_incident *inc;
    struct vg_analyzer *an;
    struct vg_analysis res;
    size_t skipped, shown;
};

static void
vg__report_usage(FILE *f)
{
    fprintf(f, "usage: vigie report --input URL [options] FILE...|-\n"
               "       vigie report --input URL --db DB [options]\n"
               "\n"
               "Write the incident report of one target on one network over a period: a\n"
               "self-contained HTML document (no external asset; it opens offline and prints)\n"
               "and its JSON: shares of each verdict with 95%% intervals, a timeline, the\n"
               "certificates the probe and the control saw, the affected addresses, the hop\n"
               "located by 'vigie locate' when its measurements are there, samples of the raw\n"
               "measurements and the method. Measurements come from files as 'vigie analyze'\n"
               "reads them ('-' for standard input; those without vigie's verdict get one by\n"
               "the probe's rules) or from a collector's database.\n"
               "\n"
               "      --input URL       the target (exact input): required\n"
               "      --probe-cc CC     the network's country; --probe-asn ASN (AS1234 or 1234)\n"
               "      --probe-asn ASN   without them: the network with the most interference\n"
               "      --list            list the networks that measured the target, then exit\n"
               "      --since TIME      the period, UTC (2026-12-01, 2026-12-01T10:00Z): from\n"
               "      --until TIME      (inclusive) and to (exclusive)\n"
               "      --window W        the last 24h, 7d or 30d (default: every measurement of\n"
               "                        the files; with --db, the last 30d)\n"
               "      --db DB           read a database (SQLite file or PostgreSQL, as vigie\n"
               "                        serve --db); it is not created\n"
               "  -o, --output FILE     write FILE (HTML) and FILE with .json in place of .html;\n"
               "                        '-': the HTML on standard output (the default)\n"
               "  -f, --format FMT      html (default) or json, for standard output\n"
               "      --base-url URL    link each sample to URL/api/v1/measurement/UID\n"
               "      --lab             treat documentation address ranges as public (the lab)\n"
               "  -q, --quiet           nothing on standard error but errors\n"
               "  -h, --help            this help\n"
               "\n"
               "exit status: 0 no interference in the period, 1 interference (blocked or\n"
               "intercepted), 2 usage error or unreadable input, 3 no measurement matched,\n"
               "4 the database cannot be read.\n");
}

static int
vg__report_asn(const char *s, uint32_t *out)
{
    uint64_t v;

    if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) {
        s += 2;
    }
    if (vg_parse_u64(s, 0, UINT32_MAX, &v) < 0) {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

enum {
    OPT_REP_INPUT = 256,
    OPT_REP_CC,
    OPT_REP_ASN,
    OPT_REP_LIST,
    OPT_REP_SINCE,
    OPT_REP_UNTIL,
    OPT_REP_WINDOW,
    OPT_REP_DB,
    OPT_REP_BASE,
    OPT_REP_LAB
};

/* The options: 0, 1 after --help, -1 after a usage error. */
static int
vg__report_parse_args(int argc, char **argv, struct vg__report_run *r)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, OPT_REP_INPUT},
        {"probe-cc", required_argument, NULL, OPT_REP_CC},
        {"probe-asn", required_argument, NULL, OPT_REP_ASN},
        {"list", no_argument, NULL, OPT_REP_LIST},
        {"since", required_argument, NULL, OPT_REP_SINCE},
        {"until", required_argument, NULL, OPT_REP_UNTIL},
        {"window", required_argument, NULL, OPT_REP_WINDOW},
        {"db", required_argument, NULL, OPT_REP_DB},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"base-url", required_argument, NULL, OPT_REP_BASE},
        {"lab", no_argument, NULL, OPT_REP_LAB},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = vg_getopt_long(argc, argv, "o:f:qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_REP_INPUT:
            r->o.input = optarg;
            break;
        case OPT_REP_CC:
            if (strlen(optarg) != 2 || optarg[0] < 'A' || optarg[0] > 'Z' || optarg[1] < 'A' ||
                optarg[1] > 'Z') {
                fprintf(stderr, "vigie report: --probe-cc takes two capital letters, not '%s'\n",
                        optarg);
                return -1;
            }
            r->o.probe_cc = optarg;
            break;
        case OPT_REP_ASN:
            if (vg__report_asn(optarg, &r->o.probe_asn) < 0) {
                fprintf(stderr, "vigie report: --probe-asn takes AS1234 or 1234, not '%s'\n",
                        optarg);
                return -1;
            }
            r->o.has_probe_asn = true;
            break;
        case OPT_REP_LIST:
            r->list = true;
            break;
        case OPT_REP_SINCE:
        case OPT_REP_UNTIL:
            if (vg_api_parse_time(optarg, c == OPT_REP_SINCE ? &r->o.since : &r->o.until) < 0) {
                fprintf(stderr,
                        "vigie report: %s takes a UTC date or time (YYYY-MM-DD, "
                        "YYYY-MM-DDThh:mm[:ss]Z), not '%s'\n",
                        c == OPT_REP_SINCE ? "--since" : "--until", optarg);
                return -1;
            }
            break;
        case OPT_REP_WINDOW:
            r->window = strcmp(optarg, "24h") == 0   ? 86400
                        : strcmp(optarg, "7d") == 0  ? 7 * 86400
                        : strcmp(optarg, "30d") == 0 ? 30 * 86400
                                                     : 0;
            if (r->window == 0) {
                fprintf(stderr, "vigie report: --window takes 24h, 7d or 30d, not '%s'\n", optarg);
                return -1;
            }
            break;
        case OPT_REP_DB:
            r->db = optarg;
            break;
        case 'o':
            r->out = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "html") != 0 && strcmp(optarg, "json") != 0) {
                fprintf(stderr, "vigie report: unknown format '%s' (html or json)\n", optarg);
                return -1;
            }
            r->json = strcmp(optarg, "json") == 0;
            break;
        case OPT_REP_BASE:
            r->o.base_url = optarg;
            break;
        case OPT_REP_LAB:
            r->flags |= VG_ANALYZE_LAB;
            break;
        case 'q':
            r->quiet = true;
            break;
        case 'h':
            vg__report_usage(stdout);
            return 1;
        default:
            return -1;
        }
    }
    if (r->o.input == NULL || r->o.input[0] == '\0') {
        fprintf(stderr, "vigie report: --input URL is required\n");
        return -1;
    }
    if (r->window != 0 && (r->o.since != 0 || r->o.until != 0)) {
        fprintf(stderr, "vigie report: --window or --since/--until, not both\n");
        return -1;
    }
    if (r->o.since != 0 && r->o.until != 0 && r->o.since >= r->o.until) {
        fprintf(stderr, "vigie report: --since must be before --until\n");
        return -1;
    }
    if ((r->db != NULL) == (optind < argc)) {
        fprintf(stderr, "vigie report: give measurement files ('-' for standard input) or "
                        "--db, one of the two\n");
        return -1;
    }
    r->paths = argv + optind;
    r->n_paths = argc - optind;
    return 0;
}

static void
vg__report_on_skip(void *arg, const char *name, size_t lineno, enum vg_analyze_skip why,
                   const char *msg)
{
    struct vg__report_run *r = arg;

    (void)why;
    r->skipped++;
    if (!r->quiet && r->shown++ < VG__REPORT_SHOWN_MAX) {
        fprintf(stderr, "vigie report: %s:%zu: skipped: %s\n", name, lineno, msg);
    }
}

/* One measurement of a file: its own verdict (vigie's probe wrote one), else vg_analyze's. */
static int
vg__report_on_item(void *arg, const struct vg_analyze_item *it)
{
    struct vg__report_run *r = arg;
    struct vg_rec_summary s;
    struct vg_analysis *a = &r->res;
    json_t *m = json_loadb(it->json, it->len, 0, NULL), *line;
    char err[512];

    if (m == NULL || vg_rec_summary_read(m, &s, err, sizeof(err)) < 0) {
        vg__report_on_skip(r, it->name, it->lineno, VG_ANALYZE_SKIP_INVALID,
                           m == NULL ? "not JSON" : err);
        json_decref(m);
        return 0;
    }
    if (strcmp(s.input, r->o.input) != 0) {
        json_decref(m);
        return 0;
    }
    if (s.has_verdict) {
        (void)vg_incident_add(r->inc, m, s.verdict, s.x_cause, NULL);
        json_decref(m);
        return 0;
    }
    if (vg_analyze(r->an, it->json, it->len, r->flags, a, err, sizeof(err)) < 0) {
        vg__report_on_skip(r, it->name, it->lineno, VG_ANALYZE_SKIP_INVALID, err);
        json_decref(m);
        return 0;
    }
    if (!a->analysed) {
        (void)vg_incident_add(r->inc, m, VG_VERDICT_COUNT, NULL, NULL); /* x_locate, ... */
        json_decref(m);
        return 0;
    }
    /* the analysed line carries x_endpoints too */
    line = a->line != NULL ? json_loadb(a->line, a->line_len, 0, NULL) : NULL;
    (void)vg_incident_add(r->inc, line != NULL ? line : m, a->verdict, a->cause, NULL);
    json_decref(line);
    json_decref(m);
    return 0;
}

static int
vg__report_files(struct vg__report_run *r)
{
    struct vg_analyze_reader *rd = vg__analyze_in_new();
    struct vg_analyze_sink sink = {vg__report_on_item, vg__report_on_skip, r};
    char err[4352];
    int rc = 0;

    r->an = vg_analyzer_new();
    if (r->an == NULL || rd == NULL) {
        fprintf(stderr, "vigie report: out of memory\n");
        vg__analyze_in_free(rd);
        return -1;
    }
    for (int i = 0; i < r->n_paths && rc == 0; i++) {
        if (vg__analyze_in_read(rd, r->paths[i], &sink, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie report: cannot read %s\n", err);
            rc = -1;
        }
    }
    vg__analyze_in_free(rd);
    return rc;
}

/* The measurements of the input in the database r->db, which must exist. */
static int
vg__report_db(struct vg__report_run *r)
{
    struct vg_store_opts so = {.readers = 1, .no_migrate = true};
    struct vg_store_filter f;
    struct vg_store *st = NULL;
    const char *path;
    char err[512];
    struct stat sb;
    int rc;

    if ((path = vg_store_spec_file(r->db)) != NULL) {
        if (stat(path, &sb) != 0) {
            fprintf(stderr, "vigie report: cannot open the database %s: %s\n", path,
                    strerror(errno));
            return -1;
        }
    }
    if (vg_store_open(r->db, &so, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie report: cannot open the database: %s\n", err);
        return -1;
    }
    memset(&f, 0, sizeof(f));
    f.input = r->o.input;
    f.since = r->o.since;
    f.until = r->o.until;
    rc = vg_incident_read_store(r->inc, st, &f);
    if (rc < 0) {
        char shown[512];

        vg_store_spec_show(r->db, shown, sizeof(shown));
        fprintf(stderr, "vigie report: reading %s: %s\n", shown, vg_store_strerror(rc));
    }
    vg_store_close(st);
    return rc < 0 ? -1 : 0;
}

/* The networks that measured the input, one a line. */
static void
vg__report_list(struct vg__report_run *r)
{
    json_t *nets = vg_incident_networks(r->inc), *n;
    size_t i;

    printf("%-4s %-12s %12s %12s  %s\n", "CC", "ASN", "measurements", "interference", "NAME");
    json_array_foreach(nets, i, n)
    {
        printf("%-4s %-12s %12lld %12lld  %s\n",
               json_string_value(json_object_get(n, VG_REC_KEY_PROBE_CC)),
               json_string_value(json_object_get(n, VG_REC_KEY_PROBE_ASN)),
               (long long)json_integer_value(json_object_get(n, "measurements")),
               (long long)json_integer_value(json_object_get(n, "interference")),
               json_string_value(json_object_get(n, "network_name")));
    }
    json_decref(nets);
}

static int
vg__report_write_file(const char *path, const char *text, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int rc = 0;

    if (f == NULL) {
        fprintf(stderr, "vigie report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fwrite(text, 1, len, f) != len) {
        rc = -1;
    }
    if (f != stdout ? fclose(f) != 0 : fflush(f) != 0) {
        rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "vigie report: writing %s failed: %s\n", path, strerror(errno));
    }
    return rc;
}

/* FILE.html and FILE.json (-o), or one of them on standard output. */
static int
vg__report_write(struct vg__report_run *r, const json_t *rep)
{
    char *json = vg_incident_dumps(rep), *jpath = NULL;
    struct vg_buf html;
    int rc = 0;

    vg_buf_init(&html, VG_INCIDENT_HTML_MAX);
    if (json == NULL || vg_incident_html(rep, &html) < 0) {
        fprintf(stderr, "vigie report: the report is too large\n");
        rc = -1;
    } else if (r->out == NULL || strcmp(r->out, "-") == 0) {
        rc = r->json ? vg__report_write_file("-", json, strlen(json))
                     : vg__report_write_file("-", (const char *)html.data, html.len);
    } else {
        size_t n = strlen(r->out);

        jpath = vg_xmalloc(n + 6);
        snprintf(jpath, n + 6, "%.*s.json",
                 (int)(n > 5 && strcmp(r->out + n - 5, ".html") == 0 ? n - 5 : n), r->out);
        rc = vg__report_write_file(r->out, (const char *)html.data, html.len);
        if (rc == 0) {
            rc = vg__report_write_file(jpath, json, strlen(json));
        }
        if (rc == 0 && !r->quiet) {
            fprintf(stderr, "vigie report: wrote %s and %s\n", r->out, jpath);
        }
    }
    free(jpath);
    free(json);
    vg_buf_cleanup(&html);
    return rc;
}

/* What the report is about, on standard error, when the data held several networks. */
static void
vg__report_say_network(struct vg__report_run *r, const json_t *rep)
{
    const json_t *net = json_object_get(rep, "network");
    long long n = (long long)json_integer_value(json_object_get(net, "networks"));

    if (r->quiet || n < 2 || r->o.probe_cc != NULL || r->o.has_probe_asn) {
        return;
    }
    fprintf(stderr,
            "vigie report: %lld networks measured %s; reporting on %s %s, the one with the most "
            "interference (--probe-cc and --probe-asn choose, --list lists them)\n",
            n, r->o.input, json_string_value(json_object_get(net, VG_REC_KEY_PROBE_CC)),
            json_string_value(json_object_get(net, VG_REC_KEY_PROBE_ASN)));
}

static int
vg__report_finish(struct vg__report_run *r)
{
    json_t *rep, *intf;
    int rc;

    if (r->list) {
        vg__report_list(r);
        return VG_EXIT_OK;
    }
    rep = vg_incident_json(r->inc);
    if (rep == NULL) {
        fprintf(stderr, "vigie report: no measurement of %s matched\n", r->o.input);
        return VG__REPORT_EXIT_NONE;
    }
    vg__report_say_network(r, rep);
    intf = json_object_get(rep, "interference");
    rc = vg__report_write(r, rep) < 0                         ? VG_EXIT_USAGE
         : json_integer_value(json_object_get(intf, "n")) > 0 ? VG_EXIT_INTERFERENCE
                                                              : VG_EXIT_OK;
    json_decref(rep);
    return rc;
}

int
vg_cmd_report(int argc, char **argv)
{
    struct vg__report_run r;
    int rc;

    memset(&r, 0, sizeof(r));
    rc = vg__report_parse_args(argc, argv, &r);
    if (rc != 0) {
        if (rc < 0) {
            fprintf(stderr, "Run 'vigie report --help' for usage.\n");
        }
        return rc < 0 ? VG_EXIT_USAGE : VG_EXIT_OK;
    }
    if (r.window != 0 || (r.db != NULL && r.o.since == 0 && r.o.until == 0)) {
        r.o.since = (int64_t)time(NULL) - (r.window != 0 ? r.window : VG__REPORT_DB_WINDOW);
    }
    r.o.source = r.db != NULL ? "database" : "files";
    r.inc = vg_incident_new(&r.o);
    if (r.db != NULL) {
        rc = vg__report_db(&r) < 0 ? VG_EXIT_STORE : 0;
    } else {
        rc = vg__report_files(&r) < 0 ? VG_EXIT_USAGE : 0;
    }
    if (rc == 0) {
        rc = vg__report_finish(&r);
    }
    if (!r.quiet && r.skipped > 0) {
        fprintf(stderr, "vigie report: %zu measurements skipped as invalid\n", r.skipped);
    }
    vg_incident_free(r.inc);
    vg_analyzer_free(r.an);
    return rc;
}
