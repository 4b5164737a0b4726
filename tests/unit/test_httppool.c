/* SPDX-License-Identifier: MIT */
/*
 * test_httppool.c - the pool of kept-alive connections (vg_http_pool_*, lib/net/httpclient.c)
 * against a small HTTP/1.1 server on 127.0.0.1 run by a thread of this test, which counts the
 * connections it accepted: several requests on one connection (Content-Length and chunked
 * answers), one more try on a new connection when the server closed the kept one, no reuse after
 * "Connection: close", HTTP/1.0, bytes past the response, a response over resp_max or a timeout,
 * no second try once a 1xx came, a second try within the first one's deadline, and the pool freed
 * with a request in flight.
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
#include "net/httpclient.h"
#include "vgtest.h"

enum srv_mode {
    SRV_LENGTH,       /* Content-Length answers, kept alive */
    SRV_CHUNKED,      /* chunked answers, kept alive */
    SRV_CLOSE_HDR,    /* "Connection: close", then closes */
    SRV_HTTP10,       /* an HTTP/1.0 answer with a length, kept open */
    SRV_DROP_2ND,     /* the second request on a connection: closed unanswered */
    SRV_CLOSE_IDLE,   /* closes each connection right after its answer */
    SRV_EXTRA,        /* a byte after the answer */
    SRV_BIG,          /* a 4 KiB body */
    SRV_STALL_1ST,    /* the first request of all is never answered */
    SRV_CONTINUE_2ND, /* the second request on a connection: "100 Continue", then closed */
    SRV_SLOW_DROP,    /* 2nd on a connection: closed unanswered after SLOW_MS; the next: slow */
};

/* SRV_SLOW_DROP against a timeout of SLOW_TIMEOUT_MS: the drop and the slow answer each come
 * within it, both together do not. */
#define SLOW_MS         350
#define SLOW_TIMEOUT_MS 500

struct srv {
    struct vgt_srv v; /* the server: port, accepted */
    enum srv_mode mode;
    atomic_uint requests; /* requests seen, answered or not */
};

/* Answer one request (loopsrv.h); false: the connection is to be closed. */
static bool
srv_answer(void *arg, int fd, const char *req, size_t len, unsigned served)
{
    struct srv *s = arg;
    unsigned nth = atomic_fetch_add(&s->requests, 1);
    char big[4096 + 1];

    (void)req;
    (void)len;
    switch (s->mode) {
    case SRV_LENGTH:
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return true;
    case SRV_CHUNKED:
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "2\r\nok\r\n1\r\n!\r\n0\r\n\r\n");
        return true;
    case SRV_CLOSE_HDR:
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        return false;
    case SRV_HTTP10:
        vgt_srv_write(fd, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return true;
    case SRV_DROP_2ND:
        if (served == 2) {
            return false;
        }
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return true;
    case SRV_CLOSE_IDLE:
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return false;
    case SRV_EXTRA:
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokX");
        return true;
    case SRV_BIG:
        memset(big, 'x', 4096);
        big[4096] = '\0';
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n");
        vgt_srv_write(fd, big);
        return true;
    case SRV_STALL_1ST:
        if (nth == 0) {
            return true; /* unanswered, kept open until the client leaves */
        }
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return true;
    case SRV_CONTINUE_2ND:
        if (served == 2) {
            vgt_srv_write(fd, "HTTP/1.1 100 Continue\r\n\r\n");
            return false;
        }
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return true;
    case SRV_SLOW_DROP:
        if (nth > 0) {
            usleep(SLOW_MS * 1000);
        }
        if (served == 2) {
            return false;
        }
        vgt_srv_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return true;
    }
    return false;
}

static void
srv_start(struct srv *s, enum srv_mode mode)
{
    s->mode = mode;
    atomic_store(&s->requests, 0);
    vgt_srv_start(&s->v, srv_answer, s);
}

static void
srv_stop(struct srv *s)
{
    vgt_srv_stop(&s->v);
}

/* ---- the client: n requests one after the other on one loop and one pool ------------------- */

#define MAX_REQ 8

struct run {
    uv_loop_t loop;
    struct vg_http_pool *pool;
    char url[64];
    unsigned n, done;
    unsigned timeout_ms;
    size_t resp_max;
    unsigned gap_ms; /* wait between requests */
    uv_timer_t gap;
    int status[MAX_REQ];
    char body[MAX_REQ][16];
    char failure[MAX_REQ][128];
};

static void run_next(struct run *r);

static void
run_on_gap(uv_timer_t *t)
{
    run_next(t->data);
}

static void
run_on_post(int status, const uint8_t *body, size_t len, const char *failure, void *arg)
{
    struct run *r = arg;
    unsigned i = r->done++;

    r->status[i] = status;
    snprintf(r->body[i], sizeof(r->body[i]), "%.*s", (int)len, (const char *)body);
    snprintf(r->failure[i], sizeof(r->failure[i]), "%s", failure != NULL ? failure : "");
    if (r->done < r->n) {
        if (r->gap_ms > 0) {
            uv_timer_start(&r->gap, run_on_gap, r->gap_ms, 0);
        } else {
            run_next(r);
        }
    }
}

static void
run_next(struct run *r)
{
    assert_int_equal(vg_http_pool_post(r->pool, NULL, r->url, "application/json", "{}", 2,
                                       r->timeout_ms, r->resp_max, run_on_post, r),
                     0);
}

/* n requests to s in a row; the pool's figures in st. */
static void
run_requests(struct run *r, const struct srv *s, unsigned n, struct vg_http_pool_stats *st)
{
    if (r->timeout_ms == 0) {
        r->timeout_ms = 5000;
    }
    if (r->resp_max == 0) {
        r->resp_max = 1024;
    }
    assert_int_equal(uv_loop_init(&r->loop), 0);
    uv_timer_init(&r->loop, &r->gap);
    r->gap.data = r;
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%u/th", (unsigned)s->v.port);
    r->n = n;
    r->pool = vg_http_pool_new(&r->loop, 4);
    run_next(r);
    assert_int_equal(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(r->done, n);
    vg_http_pool_stats(r->pool, st);
    vg_http_pool_free(r->pool);
    uv_close((uv_handle_t *)&r->gap, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
}

static void
test_reuse_length(void **state)
{
    struct srv s;
    struct run r = {0};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_LENGTH);
    run_requests(&r, &s, 5, &st);
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(r.status[i], 200);
        assert_string_equal(r.body[i], "ok");
    }
    assert_int_equal(atomic_load(&s.v.accepted), 1);
    assert_int_equal(atomic_load(&s.requests), 5);
    assert_int_equal(st.opened, 1);
    assert_int_equal(st.reused, 4);
    srv_stop(&s);
}

static void
test_reuse_chunked(void **state)
{
    struct srv s;
    struct run r = {0};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_CHUNKED);
    run_requests(&r, &s, 3, &st);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(r.status[i], 200);
        assert_string_equal(r.body[i], "ok!");
    }
    assert_int_equal(atomic_load(&s.v.accepted), 1);
    srv_stop(&s);
}

/* The server closes a kept connection unanswered: the request goes again on a new one. */
static void
test_retry_after_close(void **state)
{
    struct srv s;
    struct run r = {0};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_DROP_2ND);
    run_requests(&r, &s, 3, &st);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(r.status[i], 200);
        assert_string_equal(r.failure[i], "");
    }
    /* 1st on A, 2nd on A dropped then on B, 3rd on B dropped then on C */
    assert_int_equal(atomic_load(&s.v.accepted), 3);
    assert_int_equal(st.retried, 2);
    srv_stop(&s);
}

/* A kept connection the server closed while it was idle is seen closed and not used. */
static void
test_idle_closed(void **state)
{
    struct srv s;
    struct run r = {.gap_ms = 100};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_CLOSE_IDLE);
    run_requests(&r, &s, 3, &st);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(r.status[i], 200);
    }
    assert_int_equal(atomic_load(&s.v.accepted), 3);
    assert_int_equal(atomic_load(&s.requests), 3);
    assert_int_equal(st.opened + st.retried, 3);
    srv_stop(&s);
}

/* "Connection: close", HTTP/1.0 and a byte past the answer: a new connection each time. */
static void
test_no_reuse(void **state)
{
    static const enum srv_mode modes[] = {SRV_CLOSE_HDR, SRV_HTTP10, SRV_EXTRA};

    (void)state;
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        struct srv s;
        struct run r = {0};
        struct vg_http_pool_stats st;

        srv_start(&s, modes[m]);
        run_requests(&r, &s, 3, &st);
        for (unsigned i = 0; i < 3; i++) {
            assert_int_equal(r.status[i], 200);
            assert_string_equal(r.body[i], "ok");
        }
        assert_int_equal(atomic_load(&s.v.accepted), 3);
        assert_int_equal(st.reused, 0);
        srv_stop(&s);
    }
}

/* Over resp_max: the same failure as without a pool, and that connection is not kept. */
static void
test_too_large(void **state)
{
    struct srv s;
    struct run r = {.resp_max = 1024};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_BIG);
    run_requests(&r, &s, 2, &st);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(r.status[i], 0);
        assert_string_equal(r.failure[i], "response too large");
    }
    assert_int_equal(atomic_load(&s.v.accepted), 2);
    srv_stop(&s);
}

/* A stalled answer: the timeout failure, not retried, and the next request on a new connection. */
static void
test_stall(void **state)
{
    struct srv s;
    struct run r = {.timeout_ms = 300};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_STALL_1ST);
    run_requests(&r, &s, 2, &st);
    assert_int_equal(r.status[0], 0);
    assert_string_equal(r.failure[0], "generic_timeout_error");
    assert_int_equal(r.status[1], 200);
    assert_int_equal(atomic_load(&s.v.accepted), 2);
    assert_int_equal(st.retried, 0);
    srv_stop(&s);
}

/* A reused connection that answered "100 Continue" and then closed: the server had the request,
 * so it is not sent again. */
static void
test_continue_then_drop(void **state)
{
    struct srv s;
    struct run r = {0};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_CONTINUE_2ND);
    run_requests(&r, &s, 2, &st);
    assert_int_equal(r.status[0], 200);
    assert_int_equal(r.status[1], 0);
    assert_string_equal(r.failure[1], "eof_error");
    assert_int_equal(atomic_load(&s.requests), 2);
    assert_int_equal(atomic_load(&s.v.accepted), 1);
    assert_int_equal(st.retried, 0);
    srv_stop(&s);
}

/* The retry keeps the first try's deadline: the kept connection is dropped after SLOW_MS, the
 * new one would answer SLOW_MS later, within a fresh timeout but past the first one. */
static void
test_retry_deadline(void **state)
{
    struct srv s;
    struct run r = {.timeout_ms = SLOW_TIMEOUT_MS};
    struct vg_http_pool_stats st;

    (void)state;
    srv_start(&s, SRV_SLOW_DROP);
    run_requests(&r, &s, 2, &st);
    assert_int_equal(r.status[0], 200);
    assert_int_equal(r.status[1], 0);
    assert_string_equal(r.failure[1], "generic_timeout_error");
    /* two attempts of the second request: on the kept connection, then on a new one */
    assert_int_equal(atomic_load(&s.requests), 3);
    assert_int_equal(atomic_load(&s.v.accepted), 2);
    assert_int_equal(st.retried, 1);
    srv_stop(&s);
}

/* The pool freed while a request is in flight: that request ends normally, nothing leaks. */
static void
inflight_on_post(int status, const uint8_t *body, size_t len, const char *failure, void *arg)
{
    int *out = arg;

    (void)body;
    (void)len;
    (void)failure;
    *out = status;
}

static void
test_free_in_flight(void **state)
{
    struct srv s;
    uv_loop_t loop;
    struct vg_http_pool *pool;
    char url[64];
    int status = -1;

    (void)state;
    srv_start(&s, SRV_LENGTH);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)s.v.port);
    assert_int_equal(uv_loop_init(&loop), 0);
    pool = vg_http_pool_new(&loop, 2);
    assert_int_equal(vg_http_pool_post(pool, NULL, url, "application/json", "{}", 2, 5000, 1024,
                                       inflight_on_post, &status),
                     0);
    vg_http_pool_free(pool);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(status, 200);
    assert_int_equal(uv_loop_close(&loop), 0);
    srv_stop(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_length),
        cmocka_unit_test(test_reuse_chunked),
        cmocka_unit_test(test_retry_after_close),
        cmocka_unit_test(test_idle_closed),
        cmocka_unit_test(test_no_reuse),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_stall),
        cmocka_unit_test(test_continue_then_drop),
        cmocka_unit_test(test_retry_deadline),
        cmocka_unit_test(test_free_in_flight),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
