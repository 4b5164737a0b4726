/* SPDX-License-Identifier: MIT */
/*
 * serve_cmd.c - `vigie serve`: the collector (server/collector.h) on a store (server/store.h)
 * until SIGINT or SIGTERM; and `vigie import` (also `vigie serve --db SPEC import FILE...`):
 * measurement files made offline, through the collector's one ingest path.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "alerts.h"
#include "auth.h"
#include "collector.h"
#include "commands.h"
#include "ingest.h"
#include "server_opts.h"
#include "store.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/str.h"

#define VG__IMPORT_BLOCK (1024 * 1024)     /* bytes read from a file at a time */
#define VG__IMPORT_BATCH (8 * 1024 * 1024) /* bytes of whole lines handed to the store at once */

static void
serve_usage(FILE *f)
{
    struct vg_http_limits def = VG_HTTP_LIMITS_DEFAULT;

    def.read_timeout_s = VG_COLLECTOR_READ_TIMEOUT_S;
    fprintf(f,
            "usage: vigie serve --listen ADDR:PORT --db SPEC [OPTIONS]\n"
            "       vigie serve --db SPEC import FILE...\n"
            "       vigie serve --db SPEC check\n"
            "       vigie serve --db SPEC reanalyze [--since T] [--batch N] [--all]\n"
            "\n"
            "Collect measurements: OONI's collector API (POST /report, /report/ID,\n"
            "/report/ID/close), bulk JSON Lines uploads (POST /api/v1/bulk, gzip accepted),\n"
            "and a query API (/api/v1/measurements, /api/v1/measurement/UID,\n"
            "/api/v1/aggregation, /api/v1/targets), /metrics and /healthz (docs/api.md).\n"
            "Show them: a dashboard at / (docs/dashboard.md), alerts on verdict changes.\n"
            "An upload is answered once it is committed to the database. Stored measurements\n"
            "carry probe_ip 127.0.0.1; the client's address is neither stored nor logged.\n"
            "\n"
            "  -l, --listen ADDR:PORT  address to serve on, e.g. 0.0.0.0:8080 or [::]:443\n"
            "  -d, --db SPEC           SQLite file (created if needed), sqlite:PATH,\n"
            "                          postgresql://... or pg:CONNINFO\n"
            "      --max-body BYTES    largest request body, also once gunzipped, else 413\n"
            "                          (default %d)\n"
            "      --max-memory BYTES  memory all uploads may hold at once (bodies, parse\n"
            "                          trees, answers), else 503; at least twice --max-body\n"
            "                          plus %d MiB (default %d)\n",
            VG_COLLECTOR_BODY_DEF, VG_COLLECTOR_PARSE_MAX >> 20, VG_COLLECTOR_MEM_DEF);
    vg_limits_usage(f, &def);
    fprintf(f,
            "      --tls-cert PEM      serve HTTPS with this certificate (chain)...\n"
            "      --tls-key PEM       ...and this private key\n"
            "      --client-ca PEM     (HTTPS) take client certificates these authorities\n"
            "                          issued as upload credentials: their common name is\n"
            "                          the NAME recorded\n"
            "      --db-timeout T      wait for a database lock or connection this long, then\n"
            "                          answer 503 (default 5s; e.g. 500ms, 10s)\n"
            "      --sqlite-normal     SQLite synchronous=NORMAL: faster; a commit survives a\n"
            "                          crash of vigie but not of the machine\n"
            "      --log-client-address  put the client's address in the request log\n"
            "      --upload-tokens FILE  upload credentials: NAME TOKEN lines; a client sends\n"
            "                          Authorization: Bearer TOKEN and what it uploads is\n"
            "                          recorded as from NAME (the file must not be readable\n"
            "                          by other users; SIGHUP reads it again)\n"
            "      --require-token     refuse uploads without a valid token (or client\n"
            "                          certificate) (401); default: also take anonymous\n"
            "                          uploads, recorded as 'anonymous'\n"
            "      --max-clock-skew T  refuse a measurement that says it started more than T\n"
            "                          after it arrived (default 10m; e.g. 30s, 1h)\n"
            "      --alert-webhook URL POST a JSON event to this http(s):// URL when the\n"
            "                          verdict of a target on a network changes\n"
            "                          (docs/dashboard.md)\n"
            "      --alert-ca-file PEM trust store for an https webhook (default: system)\n"
            "      --alert-exec CMD    run CMD (sh -c) with the event on standard input;\n"
            "                          never as root: needs --user when started as root\n"
            "      --alert-flap N      N changes within the window make a target\n"
            "                          'intermittent': one event, not one per change (default 3)\n"
            "      --alert-flap-window T  that window, in measurement time (default 1h)\n"
            "      --alert-poll T      read the store's alert events this often (default 1s;\n"
            "                          at once after this process writes)\n"
            "      --alert-consumer NAME  the name of the position saved in the database\n"
            "                          (default 'default'): events are told once per name\n"
            "      --public-url URL    the dashboard's address for links in alerts (default:\n"
            "                          the address served)\n"
            "  -q, --quiet             no request log\n");
    vg_privs_usage(f, "once the port is bound", "and the TLS key read, before the database opens");
    fprintf(f, "  -h, --help              this help\n"
               "\n"
               "'import FILE...' stores measurement files as `vigie import` does (with\n"
               "--provenance NAME, as from NAME); 'check' verifies the database (exit 0 sound,\n"
               "1 a problem found); 'reanalyze' recomputes the verdicts an analyser decided\n"
               "(vigie serve --db SPEC reanalyze --help).\n"
               "\n"
               "SIGINT or SIGTERM stops accepting, finishes the requests in flight and exits 0;\n"
               "a second signal exits at once (130). With --upload-tokens, SIGHUP reads the\n"
               "tokens file again (a file that is refused keeps the tokens in use; with --user,\n"
               "that user reads it). Exit status 2: usage error, cannot listen or a tokens file\n"
               "refused; 4: the database cannot be opened.\n");
}

static void
import_usage(FILE *f)
{
    fprintf(f, "usage: vigie import --db SPEC FILE...\n"
               "\n"
               "Store measurement files made offline (JSON Lines, as written by vigie probe;\n"
               "gzip-compressed files too; '-' reads standard input) with the same checks as\n"
               "uploads to vigie serve. Rejected lines are reported as FILE:LINE: reason.\n"
               "Importing a file twice stores nothing twice.\n"
               "\n"
               "  -d, --db SPEC      SQLite file, sqlite:PATH, postgresql://... or pg:CONNINFO\n"
               "      --provenance NAME  record the measurements as from NAME (a credential\n"
               "                       name: A-Z a-z 0-9 _ . -), not as 'anonymous'\n"
               "      --sqlite-normal  SQLite synchronous=NORMAL (faster, less durable)\n"
               "      --db-timeout T   wait for a database lock or connection this long\n"
               "                       (default 5s)\n"
               "  -q, --quiet        no summary line per file\n"
               "  -h, --help         this help\n"
               "\n"
               "exit status: 0 every line stored (or already stored), 3 some lines were\n"
               "rejected, 2 usage error or unreadable file, 4 database unavailable or failing\n"
               "(lines before the failure are stored; running the import again is safe).\n");
}

/* ---- import -------------------------------------------------------------------------------- */

struct import_file {
    const char *name;
    bool quiet;
    const struct vg_ingest_policy *pol;
};

static void
import_line(const struct vg_collector_line *l, void *arg)
{
    const struct import_file *f = arg;

    if (l->error != NULL) {
        fprintf(stderr, "vigie import: %s:%zu: %s\n", f->name, l->line, l->error);
    }
}

/* Hand the whole lines of b to the store; the rest stays in b. */
static int
import_flush(struct vg_store *s, struct import_file *f, struct vg_buf *b, size_t *line, bool eof,
             struct vg_collector_stats *total)
{
    struct vg_collector_stats st;
    size_t n = b->len, lines = 0;
    int rc;

    if (!eof) {
        while (n > 0 && b->data[n - 1] != '\n') {
            n--;
        }
    }
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        lines += b->data[i] == '\n';
    }
    rc = vg_collector_ingest_lines(s, (const char *)b->data, n, *line, vg_collector_now_us(),
                                   f->pol, import_line, f, &st);
    if (rc < 0) {
        return rc;
    }
    total->accepted += st.accepted;
    total->stored += st.stored;
    total->rejected += st.rejected;
    *line += lines;
    vg_buf_consume(b, n);
    return 0;
}

/* Import one file: 0, 1 (unreadable), or a store error (negative). */
static int
import_file(struct vg_store *s, const char *name, bool quiet, const struct vg_ingest_policy *pol,
            struct vg_collector_stats *total)
{
    struct import_file f = {.name = name, .quiet = quiet, .pol = pol};
    struct vg_collector_stats st = {0};
    struct vg_buf b;
    size_t line = 1;
    bool skipping = false; /* in a line too long to keep */
    gzFile gz;
    int rc = 0, errnum;

    errno = 0;
    gz = strcmp(name, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(name, "rb");
    if (gz == NULL) {
        fprintf(stderr, "vigie import: cannot read %s: %s\n", name,
                errno != 0 ? strerror(errno) : "out of memory");
        return 1;
    }
    vg_buf_init(&b, VG__IMPORT_BATCH + VG_STORE_MEAS_MAX + VG__IMPORT_BLOCK);
    for (;;) {
        uint8_t *dst;
        int n;

        if (vg_buf_reserve(&b, VG__IMPORT_BLOCK, &dst) < 0) {
            rc = VG_EINTERNAL; /* cannot happen: b is flushed below its maximum */
            break;
        }
        n = gzread(gz, dst, VG__IMPORT_BLOCK);
        if (n < 0) {
            fprintf(stderr, "vigie import: %s: read error: %s\n", name, gzerror(gz, &errnum));
            rc = 1;
            break;
        }
        if (skipping) {
            uint8_t *nl = memchr(dst, '\n', (size_t)n);

            if (nl == NULL) {
                if (n == 0) {
                    break;
                }
                continue;
            }
            /* The rest of the long line is dropped; what follows it is kept. */
            memmove(b.data + b.len, nl + 1, (size_t)n - (size_t)(nl + 1 - dst));
            b.len += (size_t)n - (size_t)(nl + 1 - dst);
            skipping = false;
            line++;
            continue;
        }
        b.len += (size_t)n;
        if (n == 0 || b.len >= VG__IMPORT_BATCH) {
            rc = import_flush(s, &f, &b, &line, n == 0, &st);
            if (rc < 0 || n == 0) {
                break;
            }
        }
        if (b.len > VG_STORE_MEAS_MAX && memchr(b.data, '\n', b.len) == NULL) {
            fprintf(stderr, "vigie import: %s:%zu: line longer than %d bytes\n", name, line,
                    VG_STORE_MEAS_MAX);
            st.rejected++;
            vg_buf_reset(&b);
            skipping = true;
        }
    }
    gzclose(gz);
    vg_buf_cleanup(&b);
    if (rc < 0) {
        fprintf(stderr, "vigie import: %s:%zu: %s; stopped (lines before are stored)\n", name, line,
                vg_store_strerror(rc));
    }
    if (!quiet && rc >= 0) {
        fprintf(stderr,
                "vigie import: %s: %zu accepted (%zu new, %zu already stored), %zu rejected\n",
                name, st.accepted, st.stored, st.accepted - st.stored, st.rejected);
    }
    total->accepted += st.accepted;
    total->stored += st.stored;
    total->rejected += st.rejected;
    return rc;
}

/* Options of the store, shared by serve and import. */
struct store_args {
    const char *db;
    bool normal;
    unsigned timeout_ms;
};

static int
open_store(const struct store_args *a, struct vg_store **s, const char *cmd, bool recover)
{
    /* recover: the collector (not check or import) recovers a ClickHouse store from a crash */
    struct vg_store_opts so = {
        .sqlite_normal = a->normal, .timeout_ms = a->timeout_ms, .ch_recover = recover};
    char err[512];

    if (vg_store_open(a->db, &so, s, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie %s: cannot open the database: %s\n", cmd, err);
        return -1;
    }
    return 0;
}

static int
run_import(const struct store_args *a, bool quiet, const struct vg_ingest_policy *pol, int nfiles,
           char **files)
{
    struct vg_collector_stats total = {0};
    struct vg_store *s;
    bool unreadable = false;
    int rc = 0;

    if (open_store(a, &s, "import", false) < 0) {
        return VG_EXIT_STORE;
    }
    for (int i = 0; i < nfiles && rc >= 0; i++) {
        rc = import_file(s, files[i], quiet, pol, &total);
        if (rc == 1) {
            unreadable = true;
            rc = 0;
        }
    }
    vg_store_close(s);
    if (rc < 0) {
        return VG_EXIT_STORE;
    }
    if (unreadable) {
        return VG_EXIT_USAGE;
    }
    return total.rejected > 0 ? VG_EXIT_BAD_INPUT : VG_EXIT_OK;
}

/* `vigie serve --db SPEC check`: the store's integrity check, for operators and tests. */
static int
run_check(const struct store_args *a)
{
    struct vg_store *s;
    char err[512];
    int rc;

    if (open_store(a, &s, "serve", false) < 0) {
        return VG_EXIT_STORE;
    }
    rc = vg_store_integrity_check(s, err, sizeof(err));
    vg_store_close(s);
    if (rc == VG_STORE_ECORRUPT) {
        fprintf(stderr, "vigie serve: check: %s\n", err);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "vigie serve: check: %s\n", vg_store_strerror(rc));
        return VG_EXIT_STORE;
    }
    fprintf(stderr, "vigie serve: check: the database is sound\n");
    return VG_EXIT_OK;
}

/* --provenance NAME: a credential name. */
static int
parse_provenance(const char *cmd, const char *s, struct vg_ingest_policy *pol)
{
    if (!vg_store_provenance_ok(s)) {
        fprintf(stderr,
                "vigie %s: --provenance must be 1 to %d characters among A-Z a-z 0-9 _ . -\n", cmd,
                VG_STORE_PROV_MAX);
        return -1;
    }
    pol->provenance = s;
    return 0;
}

/* --db-timeout T: 1 ms to 10 minutes. */
static int
parse_timeout(const char *cmd, const char *s, unsigned *out)
{
    uint64_t ms;

    if (vg_parse_duration_ms(s, &ms) < 0 || ms == 0 || ms > 600000) {
        fprintf(stderr, "vigie %s: invalid --db-timeout '%s' (e.g. 500ms, 5s)\n", cmd, s);
        return -1;
    }
    *out = (unsigned)ms;
    return 0;
}

enum {
    OPT_MAX_BODY = 256,
    OPT_MAX_MEMORY,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_SQLITE_NORMAL,
    OPT_LOG_CLIENT,
    OPT_DB_TIMEOUT,
    OPT_ALERT_WEBHOOK,
    OPT_ALERT_CA_FILE,
    OPT_ALERT_EXEC,
    OPT_ALERT_FLAP,
    OPT_ALERT_WINDOW,
    OPT_ALERT_POLL,
    OPT_ALERT_CONSUMER,
    OPT_PUBLIC_URL,
    OPT_PROVENANCE,
    OPT_UPLOAD_TOKENS,
    OPT_REQUIRE_TOKEN,
    OPT_MAX_SKEW,
    OPT_CLIENT_CA,
};

int
vg_cmd_import(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"provenance", required_argument, NULL, OPT_PROVENANCE},
        {"sqlite-normal", no_argument, NULL, OPT_SQLITE_NORMAL},
        {"db-timeout", required_argument, NULL, OPT_DB_TIMEOUT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct store_args sa = {NULL, false, 0};
    struct vg_ingest_policy pol = {VG_STORE_ANONYMOUS, VG_INGEST_SKEW_DEF};
    bool quiet = false;
    int c;

    optind = 1;
    while ((c = vg_getopt_long(argc, argv, "d:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            sa.db = optarg;
            break;
        case OPT_PROVENANCE:
            if (parse_provenance("import", optarg, &pol) < 0) {
                goto usage_error;
            }
            break;
        case OPT_SQLITE_NORMAL:
            sa.normal = true;
            break;
        case OPT_DB_TIMEOUT:
            if (parse_timeout("import", optarg, &sa.timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            import_usage(stdout);
            return VG_EXIT_OK;
        default:
            goto usage_error;
        }
    }
    if (sa.db == NULL) {
        fprintf(stderr, "vigie import: --db SPEC is required\n");
        goto usage_error;
    }
    if (optind >= argc) {
        fprintf(stderr, "vigie import: no file to import\n");
        goto usage_error;
    }
    return run_import(&sa, quiet, &pol, argc - optind, argv + optind);
usage_error:
    fprintf(stderr, "Run 'vigie import --help' for usage.\n");
    return VG_EXIT_USAGE;
}

/* ---- serve --------------------------------------------------------------------------------- */

/* SIGHUP: the tokens file again; a file that is refused leaves the tokens in use. */
static void
vg__serve_reload(struct vg_auth *auth, const char *path)
{
    char err[512];
    int n = vg_auth_reload(auth, err, sizeof(err));

    if (n < 0) {
        fprintf(stderr, "vigie serve: SIGHUP: the upload tokens in use stay: %s\n", err);
    } else {
        fprintf(stderr, "vigie serve: SIGHUP: %d upload tokens read from %s\n", n, path);
    }
    fflush(stderr);
}

/* How uploads are taken, for the log. */
static void
vg__serve_say_uploads(const struct vg_collector_opts *co, const char *tokens)
{
    if (co->auth == NULL && co->tls_client_ca == NULL) {
        fprintf(stderr, "vigie serve: uploads: anonymous (no --upload-tokens)\n");
        return;
    }
    fprintf(stderr, "vigie serve: uploads: ");
    if (co->auth != NULL) {
        fprintf(stderr, "%zu upload tokens from %s; ", vg_auth_count(co->auth), tokens);
    }
    if (co->tls_client_ca != NULL) {
        fprintf(stderr, "client certificates from %s; ", co->tls_client_ca);
    }
    fprintf(stderr, "%s\n",
            co->require_credential ? "anonymous uploads refused"
                                   : "anonymous uploads taken, recorded as anonymous");
}

/* The SQLite file of a --db spec into path[cap]: true, or false for PostgreSQL (or too long). */
static bool
vg__serve_sqlite_path(const char *spec, char *path, size_t cap)
{
    if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0 ||
        strncmp(spec, "pg:", 3) == 0) {
        return false;
    }
    if (strncmp(spec, "sqlite:", 7) == 0) {
        spec += 7;
    }
    return vg_strlcpy(path, spec, cap) >= 0;
}

/* Remove the SQLite database at path and its companion files. */
static void
vg__serve_unlink_db(const char *path)
{
    static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
    char p[4200];

    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", path, ext[i]);
        (void)unlink(p);
    }
}

/* Run the collector until SIGINT or SIGTERM, then finish the requests in flight. Takes alerts.
 * tokens: the --upload-tokens file behind co->auth (SIGHUP reads it again), or NULL. */
static int
vg__serve_run(struct store_args *sa, struct vg_collector_opts *co, struct vg_alerts *alerts,
              const char *public_url, const char *tokens)
{
    struct vg_collector *col = NULL;
    struct vg_store *store = NULL;
    sigset_t sigs;
    char err[512], db_path[4096];
    int sig;
    bool created;

    /* Signals are taken synchronously by this thread; every thread started below (the store's,
     * libmicrohttpd's) inherits the mask, so none of them is interrupted. SIGHUP only when there
     * is something to read again: otherwise it keeps its default action. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    if (co->auth != NULL) {
        sigaddset(&sigs, SIGHUP);
    }
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    created = vg__serve_sqlite_path(sa->db, db_path, sizeof(db_path)) && access(db_path, F_OK) != 0;
    if (open_store(sa, &store, "serve", true) < 0) {
        vg_alerts_free(alerts);
        return VG_EXIT_STORE;
    }
    co->store = store;
    /* The alerts follow the store's events (issue 15), whoever wrote them. */
    if (alerts != NULL && vg_alerts_poll_start(alerts, store, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie serve: %s\n", err);
        vg_alerts_free(alerts);
        vg_store_close(store);
        return VG_EXIT_STORE;
    }
    if (vg_collector_start(co, &col, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie serve: %s\n", err);
        vg_alerts_free(alerts);
        vg_store_close(store);
        if (created) {
            vg__serve_unlink_db(db_path); /* a failed start leaves no new database behind */
        }
        return VG_EXIT_USAGE;
    }
    if (alerts != NULL) {
        vg_alerts_set_base_url(alerts, public_url != NULL ? public_url : vg_collector_url(col));
    }
    /* The database spec may hold a password: only its kind is shown. */
    fprintf(stderr, "vigie serve: listening on %s (database: %s)%s\n", vg_collector_url(col),
            vg_store_backend(store),
            co->log_client ? " (--log-client-address: client addresses are logged)" : "");
    vg__serve_say_uploads(co, tokens);
    fflush(stderr);
    for (;;) {
        if (sigwait(&sigs, &sig) != 0) {
            sig = SIGTERM;
        }
        if (sig != SIGHUP) {
            break;
        }
        vg__serve_reload(co->auth, tokens);
    }
    fprintf(stderr, "vigie serve: %s: no new requests; finishing %u in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", vg_collector_inflight(col));
    vg_collector_quiesce(col);
    while (vg_collector_inflight(col) > 0) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        int got = sigtimedwait(&sigs, NULL, &tick);

        if (got == SIGHUP) {
            vg__serve_reload(co->auth, tokens);
        } else if (got > 0) {
            fprintf(stderr, "vigie serve: second signal, exiting now\n");
            fflush(stderr);
            _exit(VG_EXIT_INTERRUPTED);
        }
    }
    vg_collector_free(col);
    vg_alerts_free(alerts); /* queued events get their last chance */
    vg_store_close(store);
    fprintf(stderr, "vigie serve: stopped\n");
    return VG_EXIT_OK;
}

int
vg_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"sqlite-normal", no_argument, NULL, OPT_SQLITE_NORMAL},
        {"log-client-address", no_argument, NULL, OPT_LOG_CLIENT},
        {"db-timeout", required_argument, NULL, OPT_DB_TIMEOUT},
        {"alert-webhook", required_argument, NULL, OPT_ALERT_WEBHOOK},
        {"alert-ca-file", required_argument, NULL, OPT_ALERT_CA_FILE},
        {"alert-exec", required_argument, NULL, OPT_ALERT_EXEC},
        {"alert-flap", required_argument, NULL, OPT_ALERT_FLAP},
        {"alert-flap-window", required_argument, NULL, OPT_ALERT_WINDOW},
        {"alert-poll", required_argument, NULL, OPT_ALERT_POLL},
        {"alert-consumer", required_argument, NULL, OPT_ALERT_CONSUMER},
        {"public-url", required_argument, NULL, OPT_PUBLIC_URL},
        {"provenance", required_argument, NULL, OPT_PROVENANCE},
        {"upload-tokens", required_argument, NULL, OPT_UPLOAD_TOKENS},
        {"require-token", no_argument, NULL, OPT_REQUIRE_TOKEN},
        {"max-clock-skew", required_argument, NULL, OPT_MAX_SKEW},
        {"client-ca", required_argument, NULL, OPT_CLIENT_CA},
        VG_LIMITS_LONGOPTS,
        VG_PRIVS_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct vg_http_listener lst = {.fd = -1};
    struct vg_privs privs = {NULL, NULL};
    struct vg_alerts_opts ao = {.log = stderr};
    struct vg_alerts *alerts = NULL;
    const char *public_url = NULL, *tokens = NULL;
    struct vg_collector_opts co;
    struct store_args sa = {NULL, false, 0};
    struct vg_ingest_policy pol = {VG_STORE_ANONYMOUS, VG_INGEST_SKEW_DEF};
    char err[512];
    int c, rc;
    uint64_t v;

    memset(&co, 0, sizeof(co));
    co.max_skew_s = VG_INGEST_SKEW_DEF;
    co.max_body = VG_COLLECTOR_BODY_DEF;
    co.limits = (struct vg_http_limits)VG_HTTP_LIMITS_DEFAULT;
    co.limits.read_timeout_s = VG_COLLECTOR_READ_TIMEOUT_S;
    co.log = stderr;
    optind = 1;
    /* '+': stop at the first operand, so that "import FILE..." keeps its own arguments. */
    while ((c = vg_getopt_long(argc, argv, "+l:d:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            co.listen = optarg;
            break;
        case 'd':
            sa.db = optarg;
            break;
        case 'q':
            co.log = NULL;
            break;
        case 'h':
            serve_usage(stdout);
            return VG_EXIT_OK;
        case OPT_MAX_BODY:
            if (vg_parse_u64(optarg, 1024, VG_COLLECTOR_BODY_MAX, &v) < 0) {
                fprintf(stderr, "vigie serve: --max-body must be 1024..%d, not '%s'\n",
                        VG_COLLECTOR_BODY_MAX, optarg);
                goto usage_error;
            }
            co.max_body = (size_t)v;
            break;
        case OPT_MAX_MEMORY:
            if (vg_parse_u64(optarg, 1 << 20, VG_COLLECTOR_MEM_MAX, &v) < 0) {
                fprintf(stderr, "vigie serve: --max-memory must be %d..%llu, not '%s'\n", 1 << 20,
                        (unsigned long long)VG_COLLECTOR_MEM_MAX, optarg);
                goto usage_error;
            }
            co.max_memory = (size_t)v;
            break;
        case OPT_TLS_CERT:
            co.tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            co.tls_key = optarg;
            break;
        case OPT_SQLITE_NORMAL:
            sa.normal = true;
            break;
        case OPT_DB_TIMEOUT:
            if (parse_timeout("serve", optarg, &sa.timeout_ms) < 0) {
                goto usage_error;
            }
            break;
        case OPT_LOG_CLIENT:
            co.log_client = true;
            break;
        case OPT_ALERT_WEBHOOK:
            ao.webhook = optarg;
            break;
        case OPT_ALERT_CA_FILE:
            ao.ca_file = optarg;
            break;
        case OPT_ALERT_EXEC:
            ao.exec = optarg;
            break;
        case OPT_ALERT_FLAP:
            if (vg_parse_u64(optarg, 2, VG_ALERTS_FLAP_MAX, &v) < 0) {
                fprintf(stderr, "vigie serve: --alert-flap must be 2..%d, not '%s'\n",
                        VG_ALERTS_FLAP_MAX, optarg);
                goto usage_error;
            }
            ao.flap_changes = (unsigned)v;
            break;
        case OPT_ALERT_WINDOW:
            if (vg_parse_duration_ms(optarg, &v) < 0 || v < 60000 || v > 720 * 3600000ULL) {
                fprintf(stderr,
                        "vigie serve: --alert-flap-window must be 1m..720h (e.g. 30m, 6h), "
                        "not '%s'\n",
                        optarg);
                goto usage_error;
            }
            ao.flap_window_s = (unsigned)(v / 1000);
            break;
        case OPT_ALERT_POLL:
            if (vg_parse_duration_ms(optarg, &v) < 0 || v < 10 || v > 3600000ULL) {
                fprintf(stderr, "vigie serve: --alert-poll must be 10ms..1h (e.g. 1s), not '%s'\n",
                        optarg);
                goto usage_error;
            }
            ao.poll_ms = (unsigned)v;
            break;
        case OPT_ALERT_CONSUMER:
            ao.consumer = optarg;
            break;
        case OPT_PUBLIC_URL:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0) {
                fprintf(stderr, "vigie serve: --public-url must be an http(s):// URL\n");
                goto usage_error;
            }
            public_url = optarg;
            break;
        case OPT_PROVENANCE:
            if (parse_provenance("serve", optarg, &pol) < 0) {
                goto usage_error;
            }
            break;
        case OPT_UPLOAD_TOKENS:
            tokens = optarg;
            break;
        case OPT_REQUIRE_TOKEN:
            co.require_credential = true;
            break;
        case OPT_CLIENT_CA:
            co.tls_client_ca = optarg;
            break;
        case OPT_MAX_SKEW:
            if (vg_parse_duration_ms(optarg, &v) < 0 || v > VG_INGEST_SKEW_MAX * 1000ULL) {
                fprintf(stderr,
                        "vigie serve: --max-clock-skew must be 0s..%dh (e.g. 30s, 10m), not '%s'\n",
                        VG_INGEST_SKEW_MAX / 3600, optarg);
                goto usage_error;
            }
            co.max_skew_s = (int64_t)(v / 1000);
            break;
        default:
            if (c >= VG_OPT_LIMITS && c < VG_OPT_LIMITS_END) {
                if (vg_limits_option("serve", c, optarg, &co.limits) < 0) {
                    goto usage_error;
                }
                break;
            }
            if (c >= VG_OPT_USER && c < VG_OPT_PRIVS_END) {
                (void)vg_privs_option(c, optarg, &privs);
                break;
            }
            goto usage_error;
        }
    }
    if (sa.db == NULL) {
        fprintf(stderr, "vigie serve: --db SPEC is required\n");
        goto usage_error;
    }
    if (optind < argc && strcmp(argv[optind], "check") == 0 && optind + 1 == argc) {
        return run_check(&sa);
    }
    if (optind < argc && strcmp(argv[optind], "reanalyze") == 0) {
        return vg_cmd_serve_reanalyze(sa.db, sa.normal, sa.timeout_ms, argc - optind,
                                      argv + optind);
    }
    if (optind < argc) {
        if (strcmp(argv[optind], "import") != 0) {
            fprintf(stderr, "vigie serve: unexpected argument '%s'\n", argv[optind]);
            goto usage_error;
        }
        if (optind + 1 >= argc) {
            fprintf(stderr, "vigie serve: import needs at least one FILE\n");
            goto usage_error;
        }
        pol.max_skew_s = co.max_skew_s;
        return run_import(&sa, co.log == NULL, &pol, argc - optind - 1, argv + optind + 1);
    }
    if (co.listen == NULL) {
        fprintf(stderr, "vigie serve: --listen ADDR:PORT is required\n");
        goto usage_error;
    }
    if (co.require_credential && tokens == NULL && co.tls_client_ca == NULL) {
        fprintf(stderr, "vigie serve: --require-token needs --upload-tokens FILE (or"
                        " --client-ca PEM)\n");
        goto usage_error;
    }
    if (co.tls_client_ca != NULL && co.tls_cert == NULL) {
        fprintf(stderr, "vigie serve: --client-ca needs HTTPS (--tls-cert and --tls-key)\n");
        goto usage_error;
    }
    /* Root is needed for the port and the key only: dropped before the database is opened
     * (its files then belong to the user) and before any thread starts. */
    if (vg_http_listener_open(&lst, co.listen, co.tls_cert, co.tls_key, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie serve: %s\n", err);
        return VG_EXIT_USAGE;
    }
    if (vg_privs_drop("serve", &privs) < 0) {
        vg_http_listener_close(&lst);
        return VG_EXIT_USAGE;
    }
    if (geteuid() == 0 && ao.exec != NULL) {
        fprintf(stderr, "vigie serve: --alert-exec would run its command as root: give --user "
                        "NAME (the command runs as that user)\n");
        vg_http_listener_close(&lst);
        goto usage_error;
    }
    if (geteuid() == 0) {
        fprintf(stderr, "vigie serve: warning: running as root; --user NAME drops it once the "
                        "port is bound\n");
    }
    co.listener = &lst;
    /* Read as the serving user, as SIGHUP will read it again. */
    if (tokens != NULL && vg_auth_load(tokens, &co.auth, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie serve: --upload-tokens: %s\n", err);
        vg_http_listener_close(&lst);
        goto usage_error;
    }
    if ((ao.webhook != NULL || ao.exec != NULL || ao.ca_file != NULL) &&
        vg_alerts_new(&ao, &alerts, err, sizeof(err)) < 0) {
        fprintf(stderr, "vigie serve: %s\n", err);
        vg_auth_free(co.auth);
        vg_http_listener_close(&lst);
        goto usage_error;
    }
    rc = vg__serve_run(&sa, &co, alerts, public_url, tokens);
    vg_http_listener_close(&lst); /* taken by the collector, unless it could not start */
    vg_auth_free(co.auth);
    return rc;
usage_error:
    fprintf(stderr, "Run 'vigie serve --help' for usage.\n");
    return VG_EXIT_USAGE;
}
