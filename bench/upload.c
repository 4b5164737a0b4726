/* SPDX-License-Identifier: MIT */
/*
 * upload.c - load generator of the collector benchmark (bench/README.md, "Collector").
 * Built by bench/run with the system compiler; not part of vigie.
 *
 * Measurements are made from templates: real `vigie probe` output in which bench/run replaced
 * some values by markers (0x01 and a letter). Every measurement made here gets its own id, so
 * that the collector stores each one (no idempotent re-upload).
 *
 *   \x01I  the measurement's id (a UUID shape; unique per run tag and sequence number)
 *   \x01H  host name of the input: dNNNNN.bench.test, NNNNN in [0, --inputs)
 *   \x01T  measurement_start_time and test_start_time, "YYYY-MM-DD hh:mm:ss"
 *   \x01C  probe_cc, \x01A probe_asn ("AS..."): one of --networks networks
 *
 * upload gen  TEMPLATES --count N --inputs I --networks K --start T --span S --tag X
 *     N measurements as JSON Lines on standard output, start times spread evenly over
 *     [T, T+S) in sequence order (arrival order), input and network drawn from the sequence.
 *     --part I/P: only the sequence numbers equal to I modulo P (P importers in parallel).
 *
 * upload post TEMPLATES --addr IP:PORT --route submit|bulk [--gzip] --conns C --duration D
 *             --max N [--batch B] --inputs I --networks K --start T --tag X
 *     C connections (one thread each, HTTP/1.1 keep-alive) upload until D seconds have passed
 *     or N measurements were sent. submit: each connection opens a report (POST /report) for
 *     its network, then sends one measurement per POST /report/ID. bulk: B measurements per
 *     POST /api/v1/bulk (gzip: the bodies are made and compressed before the clock starts).
 *     Prints one line of key=value: acked measurements, elapsed seconds, request latency
 *     percentiles, errors. A measurement counts as acked only from a 200 answer (submit: with
 *     a measurement_uid; bulk: the answer's "accepted" count).
 *
 * upload get PATHS --addr IP:PORT --count R
 *     query latency: every "NAME<TAB>PATH" line of PATHS as a GET, R rounds after a warm-up
 *     round, one request at a time; prints NAME p50_ms p95_ms max_ms answer_bytes status.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static const char *const ccs[] = {"IT", "DE", "FR", "IR", "RU", "CN", "TR", "BR", "IN", "US",
                                  "GB", "ES", "EG", "PK", "MX", "NG", "ID", "VN", "UA", "KZ"};
#define NCC (sizeof(ccs) / sizeof(ccs[0]))

struct buf {
    char *p;
    size_t len, cap;
};

static void
die(const char *msg)
{
    fprintf(stderr, "upload: %s\n", msg);
    exit(2);
}

static void
buf_need(struct buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            die("out of memory");
        }
        b->cap = cap;
    }
}

static void
buf_add(struct buf *b, const void *p, size_t n)
{
    buf_need(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
buf_fmt(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_need(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- options and templates ---- */

static struct {
    const char *templates, *addr, *route, *tag;
    unsigned long count, max, inputs, networks, batch, conns, part, parts;
    double duration;
    long long start, span;
    bool gzip;
} opt = {.parts = 1,
         .inputs = 1000,
         .networks = 20,
         .batch = 1000,
         .conns = 1,
         .duration = 10,
         .tag = "0"};

static char **tpl;
static size_t ntpl;
static uint32_t tag32;

static void
load_templates(void)
{
    FILE *f = fopen(opt.templates, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (f == NULL) {
        die("cannot open the templates");
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (n == 0) {
            continue;
        }
        tpl = realloc(tpl, (ntpl + 1) * sizeof(*tpl));
        tpl[ntpl++] = strdup(line);
    }
    free(line);
    fclose(f);
    if (ntpl == 0) {
        die("no template");
    }
}

static uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb3f99ca82e53ULL;
    x ^= x >> 33;
    return x;
}

/* Measurement number seq (of this run's tag) at time t, appended to b as one line; on network
 * net, or on one drawn from seq when net < 0. */
static void
make_meas(struct buf *b, uint64_t seq, long long t, int force_net)
{
    uint64_t h = mix(seq ^ ((uint64_t)tag32 << 40));
    const char *s = tpl[seq % ntpl];
    unsigned input = (unsigned)(h % opt.inputs);
    unsigned net = force_net >= 0 ? (unsigned)force_net : (unsigned)((h >> 32) % opt.networks);
    char ts[32];
    struct tm tm;
    time_t tt = (time_t)t;

    gmtime_r(&tt, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    for (;;) {
        const char *m = strchr(s, 1);

        if (m == NULL) {
            buf_add(b, s, strlen(s));
            break;
        }
        buf_add(b, s, (size_t)(m - s));
        switch (m[1]) {
        case 'I':
            buf_fmt(b, "%08x-%04x-4%03x-8%03x-%012llx", tag32, (unsigned)(seq >> 48) & 0xffff,
                    (unsigned)(seq >> 36) & 0xfff, (unsigned)(h & 0xfff),
                    (unsigned long long)(seq & 0xffffffffffffULL));
            break;
        case 'H':
            buf_fmt(b, "d%05u.bench.test", input);
            break;
        case 'T':
            buf_add(b, ts, strlen(ts));
            break;
        case 'C':
            buf_add(b, ccs[net % NCC], 2);
            break;
        case 'A':
            buf_fmt(b, "AS%u", 64500 + net);
            break;
        default:
            die("bad marker in a template");
        }
        s = m + 2;
    }
}

/* ---- gen ---- */

static int
cmd_gen(void)
{
    struct buf b = {0};

    for (uint64_t i = opt.part; i < opt.count; i += opt.parts) {
        long long t = opt.start + (long long)((double)opt.span * (double)i / (double)opt.count);

        make_meas(&b, i, t, -1);
        buf_add(&b, "\n", 1);
        if (b.len > (1 << 20) || i + opt.parts >= opt.count) {
            if (fwrite(b.p, 1, b.len, stdout) != b.len) {
                die("write error");
            }
            b.len = 0;
        }
    }
    free(b.p);
    return fflush(stdout) == 0 ? 0 : 2;
}

/* ---- post ---- */

static struct sockaddr_in srv;
static pthread_barrier_t barrier;
static struct timespec t_start;
static volatile int stop_now;

struct conn {
    unsigned idx;
    int fd;
    char report[256];
    struct buf rx;
    /* bulk with gzip: bodies made before the clock starts */
    struct buf *bodies;
    unsigned *body_lines;
    size_t nbodies, next_body;
    /* results */
    unsigned long acked, requests, errors;
    double *lat;
    size_t nlat, caplat;
    double last_done;
    char err[256];
};

static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t_start.tv_sec) + (double)(t.tv_nsec - t_start.tv_nsec) / 1e9;
}

static int
conn_open(struct conn *c)
{
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&srv, sizeof(srv)) < 0) {
        snprintf(c->err, sizeof(c->err), "connect: %s", strerror(errno));
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

static int
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request on the keep-alive connection; *status and the answer's body (c->rx, from
 * *body_off) on success. Reconnects once when the server closed an idle connection. */
static int
request_m(struct conn *c, const char *method, const char *path, const char *extra_hdr,
          const char *body, size_t blen, int *status, size_t *body_off)
{
    char hdr[4096];
    int hn;

    if (strcmp(method, "GET") == 0) {
        hn = snprintf(hdr, sizeof(hdr), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, opt.addr,
                      extra_hdr);
    } else {
        hn = snprintf(hdr, sizeof(hdr),
                      "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n%s\r\n", method, path,
                      opt.addr, blen, extra_hdr);
    }
    if (hn < 0 || (size_t)hn >= sizeof(hdr)) {
        snprintf(c->err, sizeof(c->err), "path too long");
        return -1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t clen = 0, hend = 0;
        bool have_hdr = false;

        if (c->fd < 0 && conn_open(c) < 0) {
            return -1;
        }
        if (send_all(c->fd, hdr, (size_t)hn) < 0 || send_all(c->fd, body, blen) < 0) {
            goto reconnect;
        }
        c->rx.len = 0;
        for (;;) {
            ssize_t r;

            if (have_hdr && c->rx.len >= hend + clen) {
                *body_off = hend;
                return 0;
            }
            buf_need(&c->rx, 65536);
            r = recv(c->fd, c->rx.p + c->rx.len, 65536, 0);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                break;
            }
            c->rx.len += (size_t)r;
            c->rx.p[c->rx.len] = '\0';
            if (!have_hdr) {
                char *e = strstr(c->rx.p, "\r\n\r\n"), *cl;

                if (e == NULL) {
                    continue;
                }
                hend = (size_t)(e + 4 - c->rx.p);
                if (sscanf(c->rx.p, "HTTP/1.%*d %d", status) != 1) {
                    snprintf(c->err, sizeof(c->err), "bad status line");
                    return -1;
                }
                cl = strcasestr(c->rx.p, "\r\nContent-Length:");
                if (cl == NULL || cl > e) {
                    snprintf(c->err, sizeof(c->err), "answer without Content-Length");
                    return -1;
                }
                clen = strtoul(cl + 17, NULL, 10);
                have_hdr = true;
            }
        }
    reconnect:
        if (c->rx.len > 0) {
            snprintf(c->err, sizeof(c->err), "connection closed mid-answer");
            return -1;
        }
        close(c->fd);
        c->fd = -1;
    }
    snprintf(c->err, sizeof(c->err), "connection closed");
    return -1;
}

static int
request(struct conn *c, const char *path, const char *extra_hdr, const char *body, size_t blen,
        int *status, size_t *body_off)
{
    return request_m(c, "POST", path, extra_hdr, body, blen, status, body_off);
}

static void
lat_add(struct conn *c, double v)
{
    if (c->nlat == c->caplat) {
        c->caplat = c->caplat ? 2 * c->caplat : 4096;
        c->lat = realloc(c->lat, c->caplat * sizeof(*c->lat));
    }
    c->lat[c->nlat++] = v;
}

/* Sequence numbers: connection idx owns idx, idx + conns, idx + 2 conns, ... */
static uint64_t
next_seq(struct conn *c, uint64_t k)
{
    return k * opt.conns + c->idx;
}

static int
open_report(struct conn *c)
{
    unsigned net = c->idx % opt.networks;
    char body[512], *p;
    size_t off;
    int status, n;

    n = snprintf(body, sizeof(body),
                 "{\"data_format_version\":\"0.2.0\",\"format\":\"json\",\"probe_asn\":\"AS%u\","
                 "\"probe_cc\":\"%s\",\"software_name\":\"vigie\",\"software_version\":\"0.1.0\","
                 "\"test_name\":\"web_connectivity\",\"test_start_time\":\"2026-11-29 "
                 "00:00:00\",\"test_version\":\"0.5.28\"}",
                 64500 + net, ccs[net % NCC]);
    if (request(c, "/report", "Content-Type: application/json\r\n", body, (size_t)n, &status,
                &off) < 0) {
        return -1;
    }
    p = strstr(c->rx.p + off, "\"report_id\":\"");
    if (status != 200 || p == NULL) {
        snprintf(c->err, sizeof(c->err), "open report: %d %.100s", status, c->rx.p + off);
        return -1;
    }
    p += 13;
    n = (int)strcspn(p, "\"");
    snprintf(c->report, sizeof(c->report), "/report/%.*s", n, p);
    return 0;
}

static void *
run_conn(void *arg)
{
    struct conn *c = arg;
    struct buf body = {0};
    uint64_t k = 0;
    bool bulk = strcmp(opt.route, "bulk") == 0;
    const char *ctype = bulk ? (opt.gzip ? "Content-Type: application/x-ndjson\r\n"
                                           "Content-Encoding: gzip\r\n"
                                         : "Content-Type: application/x-ndjson\r\n")
                             : "Content-Type: application/json\r\n";
    unsigned long per_conn = (opt.max + opt.conns - 1) / opt.conns;

    if (!bulk && open_report(c) < 0) {
        c->errors++;
    }
    pthread_barrier_wait(&barrier);
    if (c->errors > 0) {
        return NULL;
    }
    while (!stop_now && now_s() < opt.duration && k < per_conn) {
        const char *p;
        size_t len, off;
        unsigned lines = 1;
        int status;
        double t0;

        if (bulk && opt.gzip) {
            if (c->next_body == c->nbodies) {
                break;
            }
            p = c->bodies[c->next_body].p;
            len = c->bodies[c->next_body].len;
            lines = c->body_lines[c->next_body++];
            k += lines;
        } else if (bulk) {
            body.len = 0;
            lines = 0;
            for (; lines < opt.batch && k < per_conn; lines++, k++) {
                make_meas(&body, next_seq(c, k), opt.start + (long long)(next_seq(c, k) / 50), -1);
                buf_add(&body, "\n", 1);
            }
            p = body.p;
            len = body.len;
        } else {
            body.len = 0;
            buf_add(&body, "{\"format\":\"json\",\"content\":", 27);
            /* the network of this connection's report, as a probe's own uploads */
            make_meas(&body, next_seq(c, k), opt.start + (long long)(next_seq(c, k) / 50),
                      (int)(c->idx % opt.networks));
            buf_add(&body, "}", 1);
            k++;
            p = body.p;
            len = body.len;
        }
        t0 = now_s();
        if (request(c, bulk ? "/api/v1/bulk" : c->report, ctype, p, len, &status, &off) < 0) {
            c->errors++;
            break;
        }
        c->requests++;
        lat_add(c, now_s() - t0);
        if (status != 200) {
            c->errors++;
            snprintf(c->err, sizeof(c->err), "HTTP %d: %.150s", status, c->rx.p + off);
            break;
        }
        if (bulk) {
            const char *a = strstr(c->rx.p + off, "\"accepted\":");
            const char *r = strstr(c->rx.p + off, "\"rejected\":[]");
            const char *d = strstr(c->rx.p + off, "\"duplicates\":0");

            if (a == NULL || r == NULL || d == NULL) {
                c->errors++;
                snprintf(c->err, sizeof(c->err), "bulk answer: %.150s", c->rx.p + off);
                break;
            }
            c->acked += strtoul(a + 11, NULL, 10);
            (void)lines;
        } else {
            if (strstr(c->rx.p + off, "\"measurement_uid\"") == NULL) {
                c->errors++;
                break;
            }
            c->acked++;
        }
        c->last_done = now_s();
    }
    free(body.p);
    return NULL;
}

/* gzip bodies of this connection, batch lines each, per_conn lines in all */
static void
prepare_gzip(struct conn *c)
{
    unsigned long per_conn = (opt.max + opt.conns - 1) / opt.conns;
    struct buf plain = {0};
    uint64_t k = 0;

    c->nbodies = (per_conn + opt.batch - 1) / opt.batch;
    c->bodies = calloc(c->nbodies, sizeof(*c->bodies));
    c->body_lines = calloc(c->nbodies, sizeof(*c->body_lines));
    for (size_t i = 0; i < c->nbodies; i++) {
        z_stream z = {0};
        unsigned lines = 0;

        plain.len = 0;
        for (; lines < opt.batch && k < per_conn; lines++, k++) {
            make_meas(&plain, next_seq(c, k), opt.start + (long long)(next_seq(c, k) / 50), -1);
            buf_add(&plain, "\n", 1);
        }
        /* level 6, gzip's default: what `gzip` or a probe's library sends */
        if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            die("deflateInit2");
        }
        buf_need(&c->bodies[i], deflateBound(&z, plain.len));
        z.next_in = (Bytef *)plain.p;
        z.avail_in = (uInt)plain.len;
        z.next_out = (Bytef *)c->bodies[i].p;
        z.avail_out = (uInt)c->bodies[i].cap;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
            die("deflate");
        }
        c->bodies[i].len = z.total_out;
        c->body_lines[i] = lines;
        deflateEnd(&z);
    }
    free(plain.p);
}

static void *
prepare_thread(void *arg)
{
    prepare_gzip(arg);
    return NULL;
}

static int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int
cmd_post(void)
{
    struct conn *cs = calloc(opt.conns, sizeof(*cs));
    pthread_t *th = calloc(opt.conns, sizeof(*th));
    unsigned long acked = 0, requests = 0, errors = 0;
    double elapsed = 0, *all;
    size_t nall = 0, k = 0;
    size_t gz_bytes = 0, plain_lines = 0;
    struct rusage ru0, ru1;

    for (unsigned long i = 0; i < opt.conns; i++) {
        cs[i].idx = (unsigned)i;
        cs[i].fd = -1;
    }
    if (strcmp(opt.route, "bulk") == 0 && opt.gzip) {
        for (unsigned long i = 0; i < opt.conns; i++) {
            pthread_create(&th[i], NULL, prepare_thread, &cs[i]);
        }
        for (unsigned long i = 0; i < opt.conns; i++) {
            pthread_join(th[i], NULL);
            for (size_t j = 0; j < cs[i].nbodies; j++) {
                gz_bytes += cs[i].bodies[j].len;
                plain_lines += cs[i].body_lines[j];
            }
        }
    }
    pthread_barrier_init(&barrier, NULL, (unsigned)opt.conns + 1);
    for (unsigned long i = 0; i < opt.conns; i++) {
        pthread_create(&th[i], NULL, run_conn, &cs[i]);
    }
    /* the clock starts as the connections are released (they read t_start after the barrier);
     * the CPU used from then on is the uploader's share of the run (not the gzip bodies) */
    getrusage(RUSAGE_SELF, &ru0);
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    pthread_barrier_wait(&barrier);
    for (unsigned long i = 0; i < opt.conns; i++) {
        pthread_join(th[i], NULL);
        acked += cs[i].acked;
        requests += cs[i].requests;
        errors += cs[i].errors;
        nall += cs[i].nlat;
        if (cs[i].last_done > elapsed) {
            elapsed = cs[i].last_done;
        }
        if (cs[i].errors > 0) {
            fprintf(stderr, "upload: connection %lu: %s\n", i, cs[i].err);
        }
    }
    all = calloc(nall + 1, sizeof(*all));
    for (unsigned long i = 0; i < opt.conns; i++) {
        memcpy(all + k, cs[i].lat, cs[i].nlat * sizeof(*all));
        k += cs[i].nlat;
        if (cs[i].fd >= 0) {
            close(cs[i].fd);
        }
    }
    getrusage(RUSAGE_SELF, &ru1);
    qsort(all, nall, sizeof(*all), bench_cmp_double);
    printf("cpu_s=%.3f ", (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                              (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                              (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                              (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6);
    printf("acked=%lu requests=%lu errors=%lu elapsed=%.4f p50_ms=%.2f p95_ms=%.2f "
           "max_ms=%.2f gzip_bytes=%zu gzip_lines=%zu\n",
           acked, requests, errors, elapsed, nall ? 1000 * all[nall / 2] : 0,
           nall ? 1000 * all[(size_t)(0.95 * (double)(nall - 1))] : 0,
           nall ? 1000 * all[nall - 1] : 0, gz_bytes, plain_lines);
    return errors > 0 ? 1 : 0;
}

/* ---- get ---- */

/* Every path of the file (lines "NAME<TAB>PATH") reps times, round-robin, one request at a
 * time on one keep-alive connection, after one warm-up round. One line per path:
 * NAME p50_ms p95_ms max_ms answer_bytes status. */
static int
cmd_get(void)
{
    struct conn c = {.fd = -1};
    FILE *f = fopen(opt.templates, "r");
    char *line = NULL, **names = NULL, **paths = NULL;
    size_t cap = 0, n = 0, off;
    double **lat;
    size_t *bytes;
    int *status, rc = 0;
    ssize_t len;

    if (f == NULL) {
        die("cannot open the paths");
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        char *tab = strchr(line, '\t');

        if (tab == NULL) {
            continue;
        }
        line[strcspn(line, "\r\n")] = '\0';
        *tab = '\0';
        names = realloc(names, (n + 1) * sizeof(*names));
        paths = realloc(paths, (n + 1) * sizeof(*paths));
        names[n] = strdup(line);
        paths[n++] = strdup(tab + 1);
    }
    free(line);
    fclose(f);
    lat = calloc(n, sizeof(*lat));
    bytes = calloc(n, sizeof(*bytes));
    status = calloc(n, sizeof(*status));
    for (size_t i = 0; i < n; i++) {
        lat[i] = calloc(opt.count, sizeof(**lat));
    }
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    for (unsigned long r = 0; r <= opt.count; r++) {
        for (size_t i = 0; i < n; i++) {
            double t0 = now_s();

            if (request_m(&c, "GET", paths[i], "", "", 0, &status[i], &off) < 0) {
                fprintf(stderr, "upload: %s: %s\n", names[i], c.err);
                return 1;
            }
            if (r > 0) { /* round 0 warms the caches up */
                lat[i][r - 1] = now_s() - t0;
            }
            bytes[i] = c.rx.len - off;
            if (status[i] != 200) {
                rc = 1;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        qsort(lat[i], opt.count, sizeof(**lat), bench_cmp_double);
        printf("%s %.3f %.3f %.3f %zu %d\n", names[i], 1000 * lat[i][opt.count / 2],
               1000 * lat[i][(size_t)(0.95 * (double)(opt.count - 1))],
               1000 * lat[i][opt.count - 1], bytes[i], status[i]);
    }
    return rc;
}

int
main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 3) {
        die("usage: upload gen|post TEMPLATES [options] (see upload.c)");
    }
    cmd = argv[1];
    opt.templates = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--gzip") == 0) {
            opt.gzip = true;
            continue;
        }
        if (v == NULL) {
            die("option without a value");
        }
        i++;
        if (strcmp(a, "--count") == 0) {
            opt.count = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--part") == 0) {
            if (sscanf(v, "%lu/%lu", &opt.part, &opt.parts) != 2 || opt.parts == 0 ||
                opt.part >= opt.parts) {
                die("--part I/N");
            }
        } else if (strcmp(a, "--max") == 0) {
            opt.max = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--inputs") == 0) {
            opt.inputs = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--networks") == 0) {
            opt.networks = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--batch") == 0) {
            opt.batch = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--conns") == 0) {
            opt.conns = strtoul(v, NULL, 10);
        } else if (strcmp(a, "--duration") == 0) {
            opt.duration = strtod(v, NULL);
        } else if (strcmp(a, "--start") == 0) {
            opt.start = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--span") == 0) {
            opt.span = strtoll(v, NULL, 10);
        } else if (strcmp(a, "--addr") == 0) {
            opt.addr = v;
        } else if (strcmp(a, "--route") == 0) {
            opt.route = v;
        } else if (strcmp(a, "--tag") == 0) {
            opt.tag = v;
        } else {
            die("unknown option");
        }
    }
    if (opt.inputs == 0 || opt.networks == 0 || opt.batch == 0 || opt.conns == 0) {
        die("--inputs, --networks, --batch and --conns must be positive");
    }
    if (opt.addr != NULL) {
        char host[64];
        const char *colon = strrchr(opt.addr, ':');

        if (colon == NULL || (size_t)(colon - opt.addr) >= sizeof(host)) {
            die("--addr IP:PORT");
        }
        memcpy(host, opt.addr, (size_t)(colon - opt.addr));
        host[colon - opt.addr] = '\0';
        srv.sin_family = AF_INET;
        srv.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
        if (inet_pton(AF_INET, host, &srv.sin_addr) != 1) {
            die("--addr: an IPv4 address");
        }
    }
    tag32 = (uint32_t)strtoul(opt.tag, NULL, 16);
    if (strcmp(cmd, "get") != 0) {
        load_templates();
    }
    if (strcmp(cmd, "gen") == 0) {
        return cmd_gen();
    }
    if (strcmp(cmd, "get") == 0 && opt.addr != NULL && opt.count > 0) {
        return cmd_get();
    }
    if (strcmp(cmd, "post") == 0 && opt.addr != NULL && opt.route != NULL && opt.max > 0) {
        return cmd_post();
    }
    die("usage: upload gen|post TEMPLATES [options] (see upload.c)");
    return 2;
}
