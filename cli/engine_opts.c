/* SPDX-License-Identifier: MIT */
/*
 * engine_opts.c - the engine options of the measuring commands (engine_opts.h): the table, its
 * parser and its help text.
 */
#include "engine_opts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/url.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/str.h"

#define VG__ENGINE_VAL_BASE 0x1000             /* getopt values of long-only engine options */
#define VG__ENGINE_BODY_MAX (64 * 1024 * 1024) /* --body-max upper bound */
#define VG__ENGINE_MS_MAX   3600000            /* every engine duration: at most 1h */
#define VG__HELP_COL        26                 /* where the help text starts */
#define VG__HELP_WIDTH      80
#define VG__ENGINE_STR_(x)  #x
#define VG__ENGINE_STR(x)   VG__ENGINE_STR_(x)

enum vg__engine_kind {
    VG__EO_COUNT,   /* unsigned, in [min, max] */
    VG__EO_SIZE,    /* size_t, in [min, max] */
    VG__EO_MS,      /* unsigned milliseconds, a duration in [min, max] */
    VG__EO_FLAG,    /* bool, set */
    VG__EO_TEXT,    /* const char * (a path, an address) */
    VG__EO_URL,     /* const char *, an http:// or https:// URL */
    VG__EO_SPOOL,   /* const char *, whose default the command states */
    VG__EO_HELPERS, /* appended to the list of helpers */
    VG__EO_TOKEN,   /* const char *, the token read from the file named (e->token) */
};

struct vg__engine_opt {
    const char *name; /* long option */
    char short_name;  /* or 0 */
    const char *arg;  /* the argument in --help, NULL for a flag */
    enum vg__engine_kind kind;
    uint64_t min, max; /* COUNT, SIZE, MS */
    size_t off;        /* the field of struct vg_probe_opts */
    unsigned which;    /* 0: every command; else the VG_ENGINE_* bit that the command must take */
    const char *group; /* starts a group of --help */
    const char *help;  /* one sentence, wrapped by --help; the default is added */
};

#define VG__OFF(field) offsetof(struct vg_probe_opts, field)

/* The order of --help and of vigie(1)'s ENGINE OPTIONS. */
static const struct vg__engine_opt vg__engine_table[] = {
    {"parallel", 'p', "N", VG__EO_COUNT, 1, VG_PARALLEL_MAX, VG__OFF(parallel), 0, "measurement",
     "measurements in flight"},
    {"repeat", 'r', "K", VG__EO_COUNT, 1, VG_REPEAT_MAX, VG__OFF(repeat), VG_ENGINE_REPEAT, NULL,
     "trials per URL"},
    {"threads", 0, "N", VG__EO_COUNT, 0, VG_THREADS_MAX, VG__OFF(threads), 0, NULL,
     "event loops measuring at once, each on its own thread (0: one per CPU it may run on); every "
     "trial of a URL runs on one, --parallel is shared between them"},
    {"resolver", 0, "IP[:PORT]", VG__EO_TEXT, 0, 0, VG__OFF(resolver), 0, NULL,
     "also resolve over UDP with this resolver and record every reply (injected duplicates)"},
    {"ca-file", 0, "PEM", VG__EO_TEXT, 0, 0, VG__OFF(ca_file), 0, NULL,
     "trust store for validation (default: the system one)"},
    {"dns-timeout", 0, "T", VG__EO_MS, 1, VG__ENGINE_MS_MAX, VG__OFF(dns_timeout_ms), 0, NULL,
     "give up on a lookup after T"},
    {"dns-wait", 0, "T", VG__EO_MS, 1, VG__ENGINE_MS_MAX, VG__OFF(dns_wait_ms), 0, NULL,
     "after the first replies, listen T longer for injected duplicates"},
    {"tcp-timeout", 0, "T", VG__EO_MS, 1, VG__ENGINE_MS_MAX, VG__OFF(tcp_timeout_ms), 0, NULL,
     "give up on a TCP connect after T"},
    {"tls-timeout", 0, "T", VG__EO_MS, 1, VG__ENGINE_MS_MAX, VG__OFF(tls_timeout_ms), 0, NULL,
     "give up on a TLS handshake after T"},
    {"http-timeout", 0, "T", VG__EO_MS, 1, VG__ENGINE_MS_MAX, VG__OFF(http_timeout_ms), 0, NULL,
     "give up on an HTTP exchange after T"},
    {"body-max", 0, "BYTES", VG__EO_SIZE, 0, VG__ENGINE_BODY_MAX, VG__OFF(body_max), 0, NULL,
     "body bytes kept per response"},
    {"lab", 0, NULL, VG__EO_FLAG, 0, 0, VG__OFF(doc_ranges_public), 0, NULL,
     "treat documentation address ranges as public (the lab; never on the internet)"},
    {"allow-private", 0, NULL, VG__EO_FLAG, 0, 0, VG__OFF(private_targets), 0, NULL,
     "measure names that resolve to private, loopback or link-local addresses as targets, not "
     "as DNS bogons (local test targets; their helper needs --allow-private too)"},
    {"helper", 0, "URL", VG__EO_HELPERS, 0, 0, 0, 0, "control",
     "control vantage point (OONI test-helper protocol, e.g. vigie helper); repeat for "
     "failover, tried in order"},
    {"control-timeout", 0, "T", VG__EO_MS, 1, VG__ENGINE_MS_MAX, VG__OFF(control_timeout_ms), 0,
     NULL, "per helper attempt"},
    {"asn-db", 0, "FILE", VG__EO_TEXT, 0, 0, VG__OFF(asn_db), 0, "networks",
     "MaxMind DB with autonomous systems (GeoLite2-ASN, DB-IP ASN lite): answers' asn, OONI's "
     "common-ASN DNS rule, probe_asn from the address the helper saw (not recorded)"},
    {"country-db", 0, "FILE", VG__EO_TEXT, 0, 0, VG__OFF(country_db), 0, NULL,
     "MaxMind DB with countries (GeoLite2-Country): probe_cc; each file is read for all it has, "
     "one may serve both"},
    {"collector", 0, "URL", VG__EO_URL, 0, 0, VG__OFF(collector), 0, "upload",
     "upload each measurement to this collector as it completes (OONI collector protocol, e.g. "
     "vigie serve)"},
    {"spool", 0, "DIR", VG__EO_SPOOL, 0, 0, VG__OFF(spool_dir), 0, NULL,
     "where measurements wait when the collector is unreachable, sent by the next run or by "
     "'vigie upload'"},
    {"collector-token", 0, "FILE", VG__EO_TOKEN, 0, 0, VG__OFF(collector_token), 0, NULL,
     "present the upload token on FILE's first line to the collector (Authorization: Bearer); "
     "FILE must not be readable by other users; the token goes only over https or to a "
     "collector on loopback"},
    {"allow-token-over-http", 0, NULL, VG__EO_FLAG, 0, 0, VG__OFF(allow_token_over_http), 0, NULL,
     "send the upload token to an http:// collector that is not on loopback (anyone on "
     "the path can read and reuse it)"},
};

#define VG__ENGINE_N (sizeof(vg__engine_table) / sizeof(vg__engine_table[0]))

_Static_assert(VG__ENGINE_N <= VG_ENGINE_OPTS_MAX, "VG_ENGINE_OPTS_MAX is too small");

void
vg_engine_opts_init(struct vg_engine_opts *e, const char *cmd, unsigned which)
{
    memset(e, 0, sizeof(*e));
    vg_probe_opts_init(&e->o);
    e->cmd = cmd;
    e->which = which;
}

void
vg_engine_opts_cleanup(struct vg_engine_opts *e)
{
    if (e->token != NULL) {
        explicit_bzero(e->token, strlen(e->token));
    }
    VG_FREE(e->token);
    e->o.collector_token = NULL;
    VG_FREE(e->helpers);
    e->n_helpers = 0;
    e->o.helpers = NULL;
    e->o.n_helpers = 0;
}

static bool
vg__engine_takes(const struct vg_engine_opts *e, const struct vg__engine_opt *d)
{
    return (d->which & ~e->which) == 0;
}

int
vg_engine_opts_getopt(const struct vg_engine_opts *e, const struct option *cmd_long,
                      const char *cmd_short, struct option *longopts, size_t cap, char *shortopts,
                      size_t scap)
{
    size_t n = 0, sl = strlen(cmd_short);

    if (sl + 1 > scap) {
        return VG_ETOOBIG;
    }
    memcpy(shortopts, cmd_short, sl + 1);
    for (; cmd_long[n].name != NULL; n++) {
        if (n + 1 >= cap) {
            return VG_ETOOBIG;
        }
        longopts[n] = cmd_long[n];
    }
    for (size_t i = 0; i < VG__ENGINE_N; i++) {
        const struct vg__engine_opt *d = &vg__engine_table[i];

        if (!vg__engine_takes(e, d)) {
            continue;
        }
        if (n + 1 >= cap) {
            return VG_ETOOBIG;
        }
        for (size_t k = 0; k < n; k++) {
            if (strcmp(longopts[k].name, d->name) == 0) {
                return VG_EINVAL; /* the command has an option of that name */
            }
        }
        longopts[n].name = d->name;
        longopts[n].has_arg = d->arg != NULL ? required_argument : no_argument;
        longopts[n].flag = NULL;
        longopts[n].val = d->short_name != 0 ? d->short_name : VG__ENGINE_VAL_BASE + (int)i;
        n++;
        if (d->short_name != 0) {
            if (sl + 3 > scap || strchr(cmd_short, d->short_name) != NULL) {
                return sl + 3 > scap ? VG_ETOOBIG : VG_EINVAL;
            }
            shortopts[sl++] = d->short_name;
            shortopts[sl++] = ':';
            shortopts[sl] = '\0';
        }
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    return 0;
}

int
vg_engine_opts_number(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
                      uint64_t *out)
{
    if (vg_parse_u64(s, min, max, out) < 0) {
        fprintf(stderr, "vigie %s: %s must be a number in %llu..%llu, not '%s'\n", cmd, opt,
                (unsigned long long)min, (unsigned long long)max, s);
        return -1;
    }
    return 0;
}

/* A bound for people: "1ms", "100ms", "4s", "1h", "30d" (the largest unit that divides it). */
static void
vg__engine_fmt_ms(uint64_t ms, char *out, size_t cap)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms >= units[i].ms && ms % units[i].ms == 0) {
            snprintf(out, cap, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(out, cap, "%llums", (unsigned long long)ms);
}

int
vg_engine_opts_duration(const char *cmd, const char *opt, const char *s, uint64_t min_ms,
                        uint64_t max_ms, uint64_t *out)
{
    char lo[24], hi[24];

    if (vg_parse_duration_ms(s, out) < 0 || *out < min_ms || *out > max_ms) {
        vg__engine_fmt_ms(min_ms, lo, sizeof(lo));
        vg__engine_fmt_ms(max_ms, hi, sizeof(hi));
        fprintf(stderr, "vigie %s: invalid duration for %s: '%s' (%s to %s, e.g. 500ms, 4s, 15m)\n",
                cmd, opt, s, lo, hi);
        return -1;
    }
    return 0;
}

bool
vg_engine_opts_helper_url(const char *s)
{
    struct vg_url u;

    return (vg_strncaseeq(s, "http://", 7) || vg_strncaseeq(s, "https://", 8)) &&
           vg_url_parse(s, &u) == 0 && u.host[0] != '\0';
}

int
vg_engine_opts_take(struct vg_engine_opts *e, int c, const char *arg)
{
    const struct vg__engine_opt *d = NULL;
    char opt[40];
    void *field;
    uint64_t v;

    for (size_t i = 0; i < VG__ENGINE_N && d == NULL; i++) {
        const struct vg__engine_opt *t = &vg__engine_table[i];

        if (vg__engine_takes(e, t) &&
            (c == VG__ENGINE_VAL_BASE + (int)i || (t->short_name != 0 && c == t->short_name))) {
            d = t;
        }
    }
    if (d == NULL) {
        return 0;
    }
    snprintf(opt, sizeof(opt), "--%s", d->name);
    field = (char *)&e->o + d->off;
    switch (d->kind) {
    case VG__EO_COUNT:
    case VG__EO_SIZE:
        if (vg_engine_opts_number(e->cmd, opt, arg, d->min, d->max, &v) < 0) {
            return -1;
        }
        if (d->kind == VG__EO_COUNT) {
            *(unsigned *)field = (unsigned)v;
        } else {
            *(size_t *)field = (size_t)v;
        }
        break;
    case VG__EO_MS:
        if (vg_engine_opts_duration(e->cmd, opt, arg, d->min, d->max, &v) < 0) {
            return -1;
        }
        *(unsigned *)field = (unsigned)v;
        break;
    case VG__EO_FLAG:
        *(bool *)field = true;
        break;
    case VG__EO_URL:
        if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0) {
            fprintf(stderr, "vigie %s: %s must be an http:// or https:// URL\n", e->cmd, opt);
            return -1;
        }
        *(const char **)field = arg;
        break;
    case VG__EO_TEXT:
    case VG__EO_SPOOL:
        *(const char **)field = arg;
        break;
    case VG__EO_HELPERS:
        if (!vg_engine_opts_helper_url(arg)) {
            fprintf(stderr,
                    "vigie %s: %s must be an http:// or https:// URL with a host (a test helper, "
                    "e.g. https://th.example.org/), not '%s'\n",
                    e->cmd, opt, arg);
            return -1;
        }
        e->helpers = vg_xreallocarray(e->helpers, e->n_helpers + 1, sizeof(*e->helpers));
        e->helpers[e->n_helpers++] = arg;
        break;
    case VG__EO_TOKEN:
        if (e->token != NULL) {
            explicit_bzero(e->token, strlen(e->token));
            VG_FREE(e->token);
        }
        if (vg_engine_opts_token_file(e->cmd, opt, arg, &e->token) < 0) {
            return -1;
        }
        *(const char **)field = e->token;
        break;
    }
    return 1;
}

/* The first line of what fd holds, at most cap - 1 bytes read, into buf; -1 on a read error. */
static ssize_t
vg__engine_read_head(int fd, char *buf, size_t cap)
{
    size_t n = 0;

    while (n + 1 < cap && memchr(buf, '\n', n) == NULL) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

int
vg_engine_opts_token_file(const char *cmd, const char *opt, const char *path, char **out)
{
    char buf[VG_UPLOAD_TOKEN_MAX + 256];
    const char *why = NULL;
    struct stat st;
    ssize_t n;
    size_t start, end;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "vigie %s: %s: cannot read %s: %s\n", cmd, opt, path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "vigie %s: %s: %s is not a regular file\n", cmd, opt, path);
        close(fd);
        return -1;
    }
    /* A token others can read is no secret; one they can write, not ours. */
    if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
        fprintf(stderr,
                "vigie %s: %s: %s is %s by every user of this machine (mode %04o): make it "
                "private (chmod o-rw %s)\n",
                cmd, opt, path, (st.st_mode & S_IROTH) != 0 ? "readable" : "writable",
                (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -1;
    }
    n = vg__engine_read_head(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0) {
        fprintf(stderr, "vigie %s: %s: cannot read %s: %s\n", cmd, opt, path, strerror(errno));
        return -1;
    }
    end = strcspn(buf, "\n");
    if (end == sizeof(buf) - 1) {
        why = "its first line is longer than a token may be";
    }
    start = strspn(buf, " \t\r\f\v");
    while (end > start && strchr(" \t\r\f\v", buf[end - 1]) != NULL) {
        end--;
    }
    if (why == NULL && end == start) {
        why = "no token on its first line";
    } else if (why == NULL && end - start > VG_UPLOAD_TOKEN_MAX) {
        why = "the token is longer than " VG__ENGINE_STR(VG_UPLOAD_TOKEN_MAX) " bytes";
    }
    for (size_t i = start; why == NULL && i < end; i++) {
        if (buf[i] < 0x21 || buf[i] > 0x7e) {
            why = "the token has a byte that cannot go in an HTTP header (printable ASCII "
                  "without spaces)";
        }
    }
    if (why != NULL) {
        explicit_bzero(buf, sizeof(buf));
        fprintf(stderr, "vigie %s: %s: %s: %s\n", cmd, opt, path, why);
        return -1;
    }
    *out = vg_xstrndup(buf + start, end - start);
    explicit_bzero(buf, sizeof(buf));
    return 0;
}

void
vg_engine_opts_finish(struct vg_engine_opts *e)
{
    e->o.helpers = e->helpers;
    e->o.n_helpers = e->n_helpers;
}

/* One option of --help: its name column, then text wrapped at VG__HELP_WIDTH. */
static void
vg__engine_help_entry(FILE *f, const char *left, const char *text)
{
    size_t col = strlen(left);

    fputs(left, f);
    if (col < VG__HELP_COL) {
        fprintf(f, "%*s", (int)(VG__HELP_COL - col), "");
        col = VG__HELP_COL;
    } else {
        fputc(' ', f);
        col++;
    }
    for (const char *w = text; *w != '\0';) {
        size_t len = strcspn(w, " ");

        if (col > VG__HELP_COL && col + 1 + len > VG__HELP_WIDTH) {
            fprintf(f, "\n%*s", VG__HELP_COL, "");
            col = VG__HELP_COL;
        } else if (col > VG__HELP_COL && w != text) {
            fputc(' ', f);
            col++;
        }
        fwrite(w, 1, len, f);
        col += len;
        w += len;
        w += strspn(w, " ");
    }
    fputc('\n', f);
}

void
vg_engine_opts_help(const struct vg_engine_opts *e, const char *spool_default, FILE *f)
{
    struct vg_probe_opts def;
    char a[24];

    vg_probe_opts_init(&def);
    for (size_t i = 0; i < VG__ENGINE_N; i++) {
        const struct vg__engine_opt *d = &vg__engine_table[i];
        const void *field = (const char *)&def + d->off;
        char left[64], text[512];

        if (!vg__engine_takes(e, d)) {
            continue;
        }
        if (d->group != NULL) {
            fprintf(f, "%s:\n", d->group);
        }
        if (d->short_name != 0) {
            snprintf(left, sizeof(left), "  -%c, --%s %s", d->short_name, d->name, d->arg);
        } else {
            snprintf(left, sizeof(left), "      --%s%s%s", d->name, d->arg != NULL ? " " : "",
                     d->arg != NULL ? d->arg : "");
        }
        switch (d->kind) {
        case VG__EO_COUNT:
        case VG__EO_SIZE:
            snprintf(text, sizeof(text), "%s (default %llu, at most %llu)", d->help,
                     d->kind == VG__EO_COUNT ? (unsigned long long)*(const unsigned *)field
                                             : (unsigned long long)*(const size_t *)field,
                     (unsigned long long)d->max);
            break;
        case VG__EO_MS:
            vg__engine_fmt_ms(*(const unsigned *)field, a, sizeof(a));
            snprintf(text, sizeof(text), "%s (default %s)", d->help, a);
            break;
        case VG__EO_SPOOL:
            snprintf(text, sizeof(text), "%s (default %s)", d->help, spool_default);
            break;
        default:
            snprintf(text, sizeof(text), "%s", d->help);
            break;
        }
        vg__engine_help_entry(f, left, text);
    }
    vg__engine_fmt_ms(VG__ENGINE_MS_MAX, a, sizeof(a));
    fprintf(f, "  (T: a duration such as 500ms, 4s or 1.5m, or plain seconds; at most %s)\n", a);
}
