/* SPDX-License-Identifier: MIT */
/*
 * test_upload_pool.c - the uploader (lib/meas/upload.c) on kept-alive connections (the pool of
 * lib/net/httpclient.c) against a small collector on 127.0.0.1 run by a thread of this test,
 * which counts the connections it accepted: N measurements one after the other go through one
 * connection, each with the token; a collector that closes the kept connection between two
 * uploads gets the measurement again on a new one (nothing spooled); a 401 still stops the
 * uploads and keeps the measurements in the spool.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "meas/upload.h"
#include "vgtest.h"
#include "vigie/vigie.h"

#define COL_CONNS 16
#define TOKEN     "t0ken-for-the-test"

enum col_mode {
    COL_KEEP,       /* every answer kept alive */
    COL_DROP_2ND,   /* the second request on a connection: closed unanswered */
    COL_401_SUBMIT, /* the report opens, each submission gets 401 */
};

struct col {
    int lfd;
    int wake[2];
    unsigned short port;
    enum col_mode mode;
    atomic_uint accepted;
    atomic_uint requests; /* answered */
    atomic_uint with_token;
    pthread_t th;
};

struct col_conn {
    int fd;
    char buf[16384];
    size_t len;
    unsigned served;
};

static size_t
col_request_len(const struct col_conn *c)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
    size_t head;
    unsigned long n;

    if (end == NULL) {
        return 0;
    }
    head = (size_t)(end + 4 - c->buf);
    cl = strcasestr(c->buf, "\r\nContent-Length: ");
    n = cl != NULL && cl < end ? strtoul(cl + 18, NULL, 10) : 0;
    return c->len >= head + n ? head + n : 0;
}

static void
col_write(int fd, const char *s)
{
    size_t len = strlen(s), off = 0;

    while (off < len) {
        ssize_t w = write(fd, s + off, len - off);

        if (w <= 0) {
            return;
        }
        off += (size_t)w;
    }
}

static bool
col_answer(struct col *s, struct col_conn *c)
{
    bool open_report = strncmp(c->buf, "POST /report HTTP/1.1\r\n", 23) == 0;

    c->served++;
    if (s->mode == COL_DROP_2ND && c->served == 2) {
        return false;
    }
    atomic_fetch_add(&s->requests, 1);
    if (strstr(c->buf, "\r\nAuthorization: Bearer " TOKEN "\r\n") != NULL) {
        atomic_fetch_add(&s->with_token, 1);
    }
    if (open_report) {
        col_write(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"report_id\":\"r-1\"}\n");
    } else if (s->mode == COL_401_SUBMIT) {
        col_write(c->fd, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 21\r\n\r\n"
                         "{\"error\":\"bad token\"}");
    } else {
        col_write(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    }
    return true;
}

static void *
col_run(void *arg)
{
    struct col *s = arg;
    struct col_conn *conns = calloc(COL_CONNS, sizeof(*conns));
    size_t n = 0;

    for (;;) {
        struct pollfd p[COL_CONNS + 2];

        p[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (size_t i = 0; i < n; i++) {
            p[i + 2] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        }
        if (poll(p, n + 2, -1) < 0 || p[0].revents != 0) {
            break;
        }
        for (size_t i = n; i-- > 0;) {
            struct col_conn *c = &conns[i];
            bool keep = true;
            ssize_t r;
            size_t rl;

            if (p[i + 2].revents == 0) {
                continue;
            }
            r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
            if (r <= 0) {
                keep = false;
            } else {
                c->len += (size_t)r;
                c->buf[c->len] = '\0';
                while (keep && (rl = col_request_len(c)) > 0) {
                    keep = col_answer(s, c);
                    memmove(c->buf, c->buf + rl, c->len - rl);
                    c->len -= rl;
                    c->buf[c->len] = '\0';
                }
            }
            if (!keep) {
                close(c->fd);
                conns[i] = conns[--n];
            }
        }
        if ((p[1].revents & POLLIN) != 0 && n < COL_CONNS) {
            int fd = accept(s->lfd, NULL, NULL);

            if (fd >= 0) {
                atomic_fetch_add(&s->accepted, 1);
                conns[n] = (struct col_conn){.fd = fd};
                n++;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        close(conns[i].fd);
    }
    free(conns);
    return NULL;
}

static void
col_start(struct col *s, enum col_mode mode)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);

    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pipe(s->wake), 0);
    assert_int_equal(pthread_create(&s->th, NULL, col_run, s), 0);
}

static void
col_stop(struct col *s)
{
    assert_int_equal(write(s->wake[1], "x", 1), 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->wake[0]);
    close(s->wake[1]);
}

/* How many files spool holds (rejected/ not counted). */
static unsigned
count_spool(const char *spool)
{
    char cmd[600];
    unsigned n = 0;
    FILE *f;

    snprintf(cmd, sizeof(cmd), "ls %s/*.json 2>/dev/null | wc -l", spool);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%u", &n), 1);
    pclose(f);
    return n;
}

/* n measurements given to one uploader one after the other, the loop run after each (as the
 * probe does: they come as they complete). */
static void
upload_n(const struct col *s, unsigned n, const char *token, struct vg_upload_stats *st,
         char spool[64])
{
    char url[64], err[256];
    struct vg_upload_opts o = {.token = token};
    struct vg_uploader *up;
    uv_loop_t loop;

    snprintf(spool, 64, "/tmp/vg-test-upool.XXXXXX");
    assert_non_null(mkdtemp(spool));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)s->port);
    o.collector = url;
    o.spool_dir = spool;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(vg_uploader_new(&loop, NULL, &o, &up, err, sizeof(err)), 0);
    for (unsigned i = 0; i < n; i++) {
        char id[64], json[512];

        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012x", i);
        snprintf(json, sizeof(json),
                 "{\"id\":\"%s\",\"test_name\":\"web_connectivity\",\"test_version\":\"0.4.3\","
                 "\"probe_asn\":\"AS0\",\"probe_cc\":\"ZZ\",\"input\":\"https://example.org/\"}",
                 id);
        vg_uploader_add(up, id, json);
        assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    }
    vg_uploader_stats(up, st);
    vg_uploader_free(up);
    /* the kept connections, closed by the free */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void
rm_spool(const char *spool)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", spool);
    assert_int_equal(system(cmd), 0);
}

static void
test_one_connection(void **state)
{
    struct col s;
    struct vg_upload_stats st;
    char spool[64];

    (void)state;
    col_start(&s, COL_KEEP);
    upload_n(&s, 50, TOKEN, &st, spool);
    assert_int_equal(st.sent, 50);
    assert_int_equal(st.spooled, 0);
    assert_int_equal(atomic_load(&s.accepted), 1);
    assert_int_equal(atomic_load(&s.requests), 51); /* the report, then each measurement */
    assert_int_equal(atomic_load(&s.with_token), 51);
    assert_int_equal(count_spool(spool), 0);
    col_stop(&s);
    rm_spool(spool);
}

/* The collector closes each kept connection when the next request comes: sent again. */
static void
test_retry_on_closed(void **state)
{
    struct col s;
    struct vg_upload_stats st;
    char spool[64];

    (void)state;
    col_start(&s, COL_DROP_2ND);
    upload_n(&s, 5, TOKEN, &st, spool);
    assert_int_equal(st.sent, 5);
    assert_int_equal(st.spooled, 0);
    assert_int_equal(atomic_load(&s.requests), 6);
    assert_int_equal(atomic_load(&s.with_token), 6);
    assert_int_equal(atomic_load(&s.accepted), 6);
    assert_int_equal(count_spool(spool), 0);
    col_stop(&s);
    rm_spool(spool);
}

/* A 401 on a kept connection stops the uploads: the rest is spooled unsent. */
static void
test_401_stops(void **state)
{
    struct col s;
    struct vg_upload_stats st;
    char spool[64];

    (void)state;
    col_start(&s, COL_401_SUBMIT);
    upload_n(&s, 4, TOKEN, &st, spool);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.spooled, 4);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(atomic_load(&s.requests), 2); /* the report, the first measurement */
    assert_int_equal(atomic_load(&s.accepted), 1);
    assert_int_equal(count_spool(spool), 4);
    col_stop(&s);
    rm_spool(spool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_connection),
        cmocka_unit_test(test_retry_on_closed),
        cmocka_unit_test(test_401_stops),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
