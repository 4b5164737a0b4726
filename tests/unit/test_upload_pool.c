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

#include "loopsrv.h"
#include "meas/upload.h"
#include "vgtest.h"
#include "vigie/vigie.h"

#define TOKEN "t0ken-for-the-test"

enum col_mode {
    COL_KEEP,       /* every answer kept alive */
    COL_DROP_2ND,   /* the second request on a connection: closed unanswered */
    COL_401_SUBMIT, /* the report opens, each submission gets 401 */
};

struct col {
    struct vgt_srv v; /* the server: port, accepted */
    enum col_mode mode;
    atomic_uint requests; /* answered */
    atomic_uint with_token;
};

/* Answer one request (loopsrv.h); false: the connection is to be closed. */
static bool
col_answer(void *arg, int fd, const char *req, size_t len, unsigned served)
{
    struct col *s = arg;
    bool open_report = strncmp(req, "POST /report HTTP/1.1\r\n", 23) == 0;

    (void)len;
    if (s->mode == COL_DROP_2ND && served == 2) {
        return false;
    }
    atomic_fetch_add(&s->requests, 1);
    if (strstr(req, "\r\nAuthorization: Bearer " TOKEN "\r\n") != NULL) {
        atomic_fetch_add(&s->with_token, 1);
    }
    if (open_report) {
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"report_id\":\"r-1\"}\n");
    } else if (s->mode == COL_401_SUBMIT) {
        vgt_srv_write(fd, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 21\r\n\r\n"
                          "{\"error\":\"bad token\"}");
    } else {
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    }
    return true;
}

static void
col_start(struct col *s, enum col_mode mode)
{
    s->mode = mode;
    atomic_store(&s->requests, 0);
    atomic_store(&s->with_token, 0);
    vgt_srv_start(&s->v, col_answer, s);
}

static void
col_stop(struct col *s)
{
    vgt_srv_stop(&s->v);
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
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)s->v.port);
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
    assert_int_equal(atomic_load(&s.v.accepted), 1);
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
    assert_int_equal(atomic_load(&s.v.accepted), 6);
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
    assert_int_equal(atomic_load(&s.v.accepted), 1);
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
