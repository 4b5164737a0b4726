/* SPDX-License-Identifier: MIT */
/*
 * diff_cmd.c - `vigie diff OLD NEW`: the verdict changes between two sets of measurements, per
 * URL and network (probe_cc + probe_asn). Both sides are read by analyze_input.c, the reader of
 * `vigie analyze` (JSON Lines, documents, gzip, OONI's archives), and every measurement gets
 * vigie's verdict from vg_analyze, the probe's verdict engine, so that OONI's files compare too.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "api.h"
#include "commands.h"
#include "meas/record_read.h"
#include "store.h"
#include "util/mem.h"
#include "vigie/vigie.h"

#define VG__DIFF_SHOWN_MAX 5 /* skipped measurements named on stderr, per side */

enum vg__diff_fmt { VG__DIFF_TABLE, VG__DIFF_JSONL, VG__DIFF_CSV };
enum vg__diff_change { VG__DIFF_SAME, VG__DIFF_CHANGED, VG__DIFF_GONE, VG__DIFF_ADDED };

static const char *const vg__diff_change_names[] = {"same", "changed", "removed", "added"};

/* One URL on one network, and its verdicts on each side. */
struct vg__diff_pair {
    char *input;
    char cc[3];
    char asn[16];
    uint32_t n[2][VG_VERDICT_COUNT]; /* [side][verdict] */
    uint32_t total[2];
    uint64_t hash;
};

struct vg__diff_run {
    struct vg_analyzer *an;
    struct vg_analysis res;
    unsigned flags; /* vg_analyze's: VG_ANALYZE_LAB */
    struct vg__diff_pair *pairs;
    size_t n_pairs, cap_pairs;
    size_t *slots; /* open addressing: index + 1 into pairs, 0 empty */
    size_t n_slots;
    int side;
    const char *path[2]; /* the inputs, or the --old and --new ranges */
    const char *db;      /* --db: the store to read instead */
    struct vg_store_filter range[2];
    size_t skipped[2], not_analysed[2], measured[2], shown;
};

static uint64_t
vg__diff_hash(const char *input, const char *cc, const char *asn)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[3] = {input, cc, asn};

    for (int i = 0; i < 3; i++) {
        for (const char *p = parts[i]; *p != '\0'; p++) {
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
        }
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static void
vg__diff_grow(struct vg__diff_run *r)
{
    size_t n = r->n_slots == 0 ? 1024 : r->n_slots * 2;

    VG_FREE(r->slots);
    r->slots = vg_xcalloc(n, sizeof(*r->slots));
    r->n_slots = n;
    for (size_t i = 0; i < r->n_pairs; i++) {
        size_t s = (size_t)(r->pairs[i].hash & (n - 1));

        while (r->slots[s] != 0) {
            s = (s + 1) & (n - 1);
        }
        r->slots[s] = i + 1;
    }
}

static struct vg__diff_pair *
vg__diff_pair(struct vg__diff_run *r, const char *input, const char *cc, const char *asn)
{
    uint64_t h = vg__diff_hash(input, cc, asn);
    struct vg__diff_pair *p;
    size_t s;

    if ((r->n_pairs + 1) * 2 > r->n_slots) {
        vg__diff_grow(r);
    }
    for (s = (size_t)(h & (r->n_slots - 1)); r->slots[s] != 0; s = (s + 1) & (r->n_slots - 1)) {
        p = &r->pairs[r->slots[s] - 1];
        if (p->hash == h && strcmp(p->input, input) == 0 && strcmp(p->cc, cc) == 0 &&
            strcmp(p->asn, asn) == 0) {
            return p;
        }
    }
    if (r->n_pairs == r->cap_pairs) {
        r->cap_pairs = r->cap_pairs == 0 ? 256 : r->cap_pairs * 2;
        r->pairs = vg_xreallocarray(r->pairs, r->cap_pairs, sizeof(*r->pairs));
    }
    p = &r->pairs[r->n_pairs];
    memset(p, 0, sizeof(*p));
    p->input = vg_xstrdup(input);
    snprintf(p->cc, sizeof(p->cc), "%s", cc);
    snprintf(p->asn, sizeof(p->asn), "%s", asn);
    p->hash = h;
    r->slots[s] = ++r->n_pairs;
    return p;
}

static void
vg__diff_on_skip(void *arg, const char *name, size_t lineno, enum vg_analyze_skip why,
                 const char *msg)
{
    struct vg__diff_run *r = arg;

    (void)why;
    r->skipped[r->side]++;
    if (r->shown++ < VG__DIFF_SHOWN_MAX) {
        fprintf(stderr, "vigie diff: %s:%zu: skipped: %s\n", name, lineno, msg);
    }
}

static void
vg__diff_count(struct vg__diff_run *r, const char *input, const char *cc, const char *asn,
               enum vg_verdict v)
{
    struct vg__diff_pair *p = vg__diff_pair(r, input, cc, asn);

    p->n[r->side][(unsigned)v < VG_VERDICT_COUNT ? v : VG_VERDICT_UNKNOWN]++;
    p->total[r->side]++;
    r->measured[r->side]++;
}

static int
vg__diff_on_item(void *arg, const struct vg_analyze_item *it)
{
    struct vg__diff_run *r = arg;
    struct vg_analysis *a = &r->res;
    char err[512];

    if (vg_analyze(r->an, it->json, it->len, r->flags | VG_ANALYZE_NO_LINE, a, err, sizeof(err)) <
        0) {
        vg__diff_on_skip(r, it->name, it->lineno, VG_ANALYZE_SKIP_INVALID, err);
        return 0;
    }
    if (!a->analysed || a->input[0] == '\0') {
        r->not_analysed[r->side]++; /* a test vigie has no rules for */
        return 0;
    }
    vg__diff_count(r, a->input, a->probe_cc, a->probe_asn, a->verdict);
    return 0;
}

/* A side's verdict: the most frequent, a tie to the most serious (the map's order). */
static enum vg_verdict
vg__diff_main(const struct vg__diff_pair *p, int side)
{
    unsigned best = 0;

    for (unsigned v = 1; v < VG_VERDICT_COUNT; v++) {
        if (p->n[side][v] > p->n[side][best]) {
            best = v;
        }
    }
    return (enum vg_verdict)best;
}

static enum vg__diff_change
vg__diff_change(const struct vg__diff_pair *p)
{
    if (p->total[0] == 0) {
        return VG__DIFF_ADDED;
    }
    if (p->total[1] == 0) {
        return VG__DIFF_GONE;
    }
    return vg__diff_main(p, 0) != vg__diff_main(p, 1) ? VG__DIFF_CHANGED : VG__DIFF_SAME;
}

static int
vg__diff_cmp(const void *a, const void *b)
{
    const struct vg__diff_pair *x = a, *y = b;
    int c = strcmp(x->input, y->input);

    if (c == 0) {
        c = strcmp(x->cc, y->cc);
    }
    return c != 0 ? c : strcmp(x->asn, y->asn);
}

/* "intercepted 3/4", or "-" when the side has no measurement of the pair. */
static void
vg__diff_cell(const struct vg__diff_pair *p, int side, char *buf, size_t cap)
{
    enum vg_verdict v = vg__diff_main(p, side);

    if (p->total[side] == 0) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, "%s %u/%u", vg_verdict_name(v), p->n[side][v], p->total[side]);
    }
}

static void
vg__diff_json_str(FILE *f, const char *s)
{
    putc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\') {
            fprintf(f, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(f, "\\u%04x", ch);
        } else {
            putc(ch, f);
        }
    }
    putc('"', f);
}

static void
vg__diff_json_side(FILE *f, const struct vg__diff_pair *p, int side)
{
    enum vg_verdict v = vg__diff_main(p, side);
    bool first = true;

    if (p->total[side] == 0) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"verdict\":\"%s\",\"count\":%u,\"total\":%u,\"counts\":{", vg_verdict_name(v),
            p->n[side][v], p->total[side]);
    for (unsigned k = 0; k < VG_VERDICT_COUNT; k++) {
        if (p->n[side][k] != 0) {
            fprintf(f, "%s\"%s\":%u", first ? "" : ",", vg_verdict_name((enum vg_verdict)k),
                    p->n[side][k]);
            first = false;
        }
    }
    fputs("}}", f);
}

static void
vg__diff_row(FILE *f, enum vg__diff_fmt fmt, const struct vg__diff_pair *p, enum vg__diff_change c)
{
    char old[64], new[64], net[24];

    vg__diff_cell(p, 0, old, sizeof(old));
    vg__diff_cell(p, 1, new, sizeof(new));
    snprintf(net, sizeof(net), "%s %s", p->cc, p->asn);
    switch (fmt) {
    case VG__DIFF_TABLE:
        fprintf(f, "%-8s  %-18s  %-18s  %-14s  %s\n", vg__diff_change_names[c], old, new, net,
                p->input);
        break;
    case VG__DIFF_JSONL:
        fprintf(f, "{\"change\":\"%s\",\"input\":", vg__diff_change_names[c]);
        vg__diff_json_str(f, p->input);
        fputs(",\"probe_cc\":", f);
        vg__diff_json_str(f, p->cc);
        fputs(",\"probe_asn\":", f);
        vg__diff_json_str(f, p->asn);
        fputs(",\"old\":", f);
        vg__diff_json_side(f, p, 0);
        fputs(",\"new\":", f);
        vg__diff_json_side(f, p, 1);
        fputs("}\n", f);
        break;
    case VG__DIFF_CSV:
        vg__analyze_csv_field(f, vg__diff_change_names[c], false);
        vg__analyze_csv_field(f, p->input, false);
        vg__analyze_csv_field(f, p->cc, false);
        vg__analyze_csv_field(f, p->asn, false);
        for (int side = 0; side < 2; side++) {
            enum vg_verdict v = vg__diff_main(p, side);
            char n[16], t[16];

            snprintf(n, sizeof(n), "%u", p->total[side] != 0 ? p->n[side][v] : 0);
            snprintf(t, sizeof(t), "%u", p->total[side]);
            vg__analyze_csv_field(f, p->total[side] != 0 ? vg_verdict_name(v) : "", false);
            vg__analyze_csv_field(f, n, false);
            vg__analyze_csv_field(f, t, side == 1);
        }
        break;
    }
}

/* "FROM..TO", either time left out for no bound (vg_api_parse_time's forms), into f. */
static int
vg__diff_range(const char *opt, const char *s, struct vg_store_filter *f)
{
    const char *dots = strstr(s, "..");
    char from[64], to[64];

    memset(f, 0, sizeof(*f));
    if (dots != NULL && (size_t)(dots - s) < sizeof(from) && strlen(dots + 2) < sizeof(to)) {
        snprintf(from, sizeof(from), "%.*s", (int)(dots - s), s);
        snprintf(to, sizeof(to), "%s", dots + 2);
        if ((from[0] == '\0' || vg_api_parse_time(from, &f->since) == 0) &&
            (to[0] == '\0' || vg_api_parse_time(to, &f->until) == 0) &&
            (f->since == 0 || f->until == 0 || f->since < f->until)) {
            return 0;
        }
    }
    fprintf(stderr,
            "vigie diff: %s takes FROM..TO (UTC, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss]Z; either may "
            "be left out; FROM before TO), not '%s'\n",
            opt, s);
    return -1;
}

/* The measurements of r->range[r->side] in the store, page after page. */
static int
vg__diff_read_db(struct vg__diff_run *r, struct vg_store *st)
{
    char cursor[VG_API_CURSOR_MAX + 1] = "";

    for (;;) {
        json_t *page = NULL, *row, *nc;
        size_t i;
        int rc = vg_store_list(st, &r->range[r->side], cursor[0] != '\0' ? cursor : NULL,
                               VG_STORE_PAGE_MAX, &page);

        if (rc < 0) {
            char shown[512];

            vg_store_spec_show(r->db, shown, sizeof(shown));
            fprintf(stderr, "vigie diff: reading %s: %s\n", shown, vg_store_strerror(rc));
            return -1;
        }
        json_array_foreach(json_object_get(page, "results"), i, row)
        {
            const char *in = json_string_value(json_object_get(row, VG_REC_KEY_INPUT));
            const char *cc = json_string_value(json_object_get(row, VG_REC_KEY_PROBE_CC));
            const char *asn = json_string_value(json_object_get(row, VG_REC_KEY_PROBE_ASN));
            const char *vd = json_string_value(json_object_get(row, VG_REC_KEY_X_VERDICT));
            enum vg_verdict v;

            if (in == NULL || in[0] == '\0' || cc == NULL || asn == NULL || vd == NULL ||
                !vg_verdict_parse(vd, &v)) {
                r->not_analysed[r->side]++; /* no verdict stored (another test) */
                continue;
            }
            vg__diff_count(r, in, cc, asn, v);
        }
        nc = json_object_get(page, "next_cursor");
        rc = json_is_string(nc) && strlen(json_string_value(nc)) < sizeof(cursor);
        if (rc) {
            snprintf(cursor, sizeof(cursor), "%s", json_string_value(nc));
        }
        json_decref(page);
        if (!rc) {
            return 0;
        }
    }
}

/* Both sides from the store named r->db, which must exist (nothing is created or migrated). */
static int
vg__diff_db(struct vg__diff_run *r)
{
    struct vg_store_opts so = {.readers = 1, .no_migrate = true};
    struct vg_store *st = NULL;
    const char *path;
    char err[512];
    struct stat sb;
    int rc = 0;

    if ((path = vg_store_spec_file(r->db)) != NULL) {
        if (stat(path, &sb) != 0) {
            fprintf(stderr, "vigie diff: cannot open the database %s: %s\n", path, strerror(errno));
            return -1;
        }
    }
    if (vg_store_open(r->db, &so, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie diff: cannot open the database: %s\n", err);
        return -1;
    }
    for (r->side = 0; r->side < 2 && rc == 0; r->side++) {
        rc = vg__diff_read_db(r, st);
    }
    vg_store_close(st);
    return rc;
}

static void
vg__diff_usage(FILE *f)
{
    fprintf(f,
            "usage: vigie diff [-f table|jsonl|csv] [-o FILE] [--all] [--lab] [-q] OLD NEW\n"
            "       vigie diff --db DB --old FROM..TO --new FROM..TO [-f ...] [-o FILE] [--all]\n"
            "\n"
            "Compare two sets of measurements (files as 'vigie analyze' reads them: JSON Lines,\n"
            "documents, gzip, OONI's archives; '-' for standard input) and list, per URL and\n"
            "network (probe_cc + probe_asn), the verdicts that changed, with their counts\n"
            "('intercepted 3/4' then 'accessible 4/4'), and the pairs only one side has\n"
            "(removed, added). A side's verdict is its most frequent one, a tie going to the\n"
            "most serious. Every measurement gets vigie's verdict from the probe's rules\n"
            "(as 'vigie analyze'), so that OONI's measurements compare too. With --db, the\n"
            "two sides are two time ranges of a collector's database (vigie serve --db), with\n"
            "the verdicts it stored.\n"
            "\n"
            "  -f, --format FMT    table (the default on a terminal), jsonl (one object per\n"
            "                      pair, the default otherwise) or csv (a header, then rows)\n"
            "  -o, --output FILE   write there instead of standard output\n"
            "      --all           list the unchanged pairs too\n"
            "      --db DB         read the measurements of a database (SQLite file or\n"
            "                      PostgreSQL, as vigie serve --db); it is not created\n"
            "      --old FROM..TO  with --db: the old side, by measurement time (UTC:\n"
            "      --new FROM..TO  2026-12-01, 2026-12-01T10:00Z; an end may be left out)\n"
            "      --lab           treat documentation address ranges as public (the lab)\n"
            "  -q, --quiet         no summary on standard error\n"
            "  -h, --help          this help\n"
            "\n"
            "exit status: 0 no verdict changed, 1 at least one verdict changed (pairs only\n"
            "on one side are listed but change nothing), 2 usage error or unreadable input,\n"
            "4 the database cannot be read.\n");
}

enum { OPT_DIFF_ALL = 256, OPT_DIFF_LAB, OPT_DIFF_DB, OPT_DIFF_OLD, OPT_DIFF_NEW };

/* The options: 0, 1 after --help, -1 after a usage error. */
static int
vg__diff_parse_args(int argc, char **argv, struct vg__diff_run *r, enum vg__diff_fmt *fmt,
                    const char **out, bool *all, bool *quiet)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"all", no_argument, NULL, OPT_DIFF_ALL},
        {"lab", no_argument, NULL, OPT_DIFF_LAB},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"db", required_argument, NULL, OPT_DIFF_DB},
        {"old", required_argument, NULL, OPT_DIFF_OLD},
        {"new", required_argument, NULL, OPT_DIFF_NEW},
        {NULL, 0, NULL, 0},
    };
    int c;

    *fmt = isatty(STDOUT_FILENO) ? VG__DIFF_TABLE : VG__DIFF_JSONL;
    optind = 1;
    while ((c = vg_getopt_long(argc, argv, "f:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "table") == 0) {
                *fmt = VG__DIFF_TABLE;
            } else if (strcmp(optarg, "jsonl") == 0) {
                *fmt = VG__DIFF_JSONL;
            } else if (strcmp(optarg, "csv") == 0) {
                *fmt = VG__DIFF_CSV;
            } else {
                fprintf(stderr, "vigie diff: unknown format '%s' (table, jsonl or csv)\n", optarg);
                return -1;
            }
            break;
        case 'o':
            *out = optarg;
            break;
        case OPT_DIFF_ALL:
            *all = true;
            break;
        case OPT_DIFF_LAB:
            r->flags |= VG_ANALYZE_LAB;
            break;
        case 'q':
            *quiet = true;
            break;
        case OPT_DIFF_DB:
            r->db = optarg;
            break;
        case OPT_DIFF_OLD:
        case OPT_DIFF_NEW:
            if (vg__diff_range(c == OPT_DIFF_OLD ? "--old" : "--new", optarg,
                               &r->range[c == OPT_DIFF_NEW]) < 0) {
                return -1;
            }
            r->path[c == OPT_DIFF_NEW] = optarg;
            break;
        case 'h':
            vg__diff_usage(stdout);
            return 1;
        default:
            return -1;
        }
    }
    if (r->db != NULL) {
        if (r->path[0] == NULL || r->path[1] == NULL || optind != argc) {
            fprintf(stderr, "vigie diff: --db takes --old FROM..TO and --new FROM..TO, and no "
                            "input file\n");
            return -1;
        }
        return 0;
    }
    if (r->path[0] != NULL || r->path[1] != NULL) {
        fprintf(stderr, "vigie diff: --old and --new need --db\n");
        return -1;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "vigie diff: expected two inputs, OLD and NEW\n");
        return -1;
    }
    r->path[0] = argv[optind];
    r->path[1] = argv[optind + 1];
    return 0;
}

/* Write the pairs, sorted; the counts of each change into n. */
static int
vg__diff_write(struct vg__diff_run *r, FILE *f, enum vg__diff_fmt fmt, bool all, size_t n[4])
{
    qsort(r->pairs, r->n_pairs, sizeof(*r->pairs), vg__diff_cmp);
    if (fmt == VG__DIFF_CSV) {
        fputs("change,input,probe_cc,probe_asn,old_verdict,old_count,old_total,new_verdict,"
              "new_count,new_total\r\n",
              f);
    } else if (fmt == VG__DIFF_TABLE) {
        fprintf(f, "%-8s  %-18s  %-18s  %-14s  %s\n", "CHANGE", "OLD", "NEW", "NETWORK", "URL");
    }
    for (size_t i = 0; i < r->n_pairs; i++) {
        enum vg__diff_change c = vg__diff_change(&r->pairs[i]);

        n[c]++;
        if (c != VG__DIFF_SAME || all) {
            vg__diff_row(f, fmt, &r->pairs[i], c);
        }
    }
    return fflush(f) != 0 || ferror(f) ? -1 : 0;
}

static void
vg__diff_free(struct vg__diff_run *r)
{
    for (size_t i = 0; i < r->n_pairs; i++) {
        VG_FREE(r->pairs[i].input);
    }
    VG_FREE(r->pairs);
    VG_FREE(r->slots);
    vg_analyzer_free(r->an);
}

/* Write the output and the summary, free r: the exit status. */
static int
vg__diff_finish(struct vg__diff_run *r, enum vg__diff_fmt fmt, const char *out_path, bool all,
                bool quiet)
{
    size_t n[4] = {0, 0, 0, 0};
    FILE *f = stdout;
    int rc;

    if (out_path != NULL && (f = fopen(out_path, "w")) == NULL) {
        fprintf(stderr, "vigie diff: cannot write %s: %s\n", out_path, strerror(errno));
        vg__diff_free(r);
        return VG_EXIT_USAGE;
    }
    rc = vg__diff_write(r, f, fmt, all, n);
    if (f != stdout && fclose(f) != 0) {
        rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "vigie diff: writing the output failed: %s\n", strerror(errno));
    } else if (!quiet) {
        fprintf(stderr,
                "vigie diff: %zu URL x network pairs: %zu changed, %zu only in %s (removed), "
                "%zu only in %s (added), %zu unchanged; measurements %zu old, %zu new",
                r->n_pairs, n[VG__DIFF_CHANGED], n[VG__DIFF_GONE], r->path[0], n[VG__DIFF_ADDED],
                r->path[1], n[VG__DIFF_SAME], r->measured[0], r->measured[1]);
        if (r->skipped[0] + r->skipped[1] + r->not_analysed[0] + r->not_analysed[1] != 0) {
            fprintf(stderr, " (%zu skipped as invalid, %zu of tests vigie has no rules for)",
                    r->skipped[0] + r->skipped[1], r->not_analysed[0] + r->not_analysed[1]);
        }
        fputc('\n', stderr);
    }
    vg__diff_free(r);
    if (rc < 0) {
        return VG_EXIT_USAGE;
    }
    return n[VG__DIFF_CHANGED] != 0 ? VG_EXIT_CHANGED : VG_EXIT_OK;
}

int
vg_cmd_diff(int argc, char **argv)
{
    struct vg__diff_run r;
    struct vg_analyze_reader *rd;
    struct vg_analyze_sink sink = {vg__diff_on_item, vg__diff_on_skip, NULL};
    enum vg__diff_fmt fmt;
    const char *out_path = NULL;
    bool all = false, quiet = false;
    char err[4352];
    int rc;

    memset(&r, 0, sizeof(r));
    sink.arg = &r;
    rc = vg__diff_parse_args(argc, argv, &r, &fmt, &out_path, &all, &quiet);
    if (rc != 0) {
        if (rc < 0) {
            fprintf(stderr, "Run 'vigie diff --help' for usage.\n");
        }
        return rc < 0 ? VG_EXIT_USAGE : VG_EXIT_OK;
    }
    if (r.db != NULL) {
        if (vg__diff_db(&r) < 0) {
            vg__diff_free(&r);
            return VG_EXIT_STORE;
        }
        return vg__diff_finish(&r, fmt, out_path, all, quiet);
    }
    r.an = vg_analyzer_new();
    rd = vg__analyze_in_new();
    if (r.an == NULL || rd == NULL) {
        fprintf(stderr, "vigie diff: out of memory\n");
        vg__analyze_in_free(rd);
        vg__diff_free(&r);
        return VG_EXIT_USAGE;
    }
    for (r.side = 0; r.side < 2; r.side++) {
        r.shown = 0;
        if (vg__analyze_in_read(rd, r.path[r.side], &sink, err, sizeof(err)) < 0) {
            fprintf(stderr, "vigie diff: cannot read %s\n", err);
            vg__analyze_in_free(rd);
            vg__diff_free(&r);
            return VG_EXIT_USAGE;
        }
    }
    vg__analyze_in_free(rd);
    return vg__diff_finish(&r, fmt, out_path, all, quiet);
}
