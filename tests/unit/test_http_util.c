/* SPDX-License-Identifier: MIT */
/* test_http_util.c - what the two HTTP servers share (server/http_util.c): a server that cannot
 * start gives up the listener it was handed, its socket closed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "http_util.h"
#include "vgtest.h"

/* vg_http_server_start with the listener l and --client-ca ca fails, and l's socket is closed. */
static void
vg__http_util_start_fails_closed(struct vg_http_listener *l, const char *ca)
{
    struct vg_http_server_opts o = {.listener = l, .tls_client_ca = ca, .threads = 1};
    struct vg_http_server s;
    char err[256];
    int fd = l->fd;

    assert_true(fd >= 0);
    assert_true(vg_http_server_start(&s, &o, err, sizeof(err)) < 0);
    assert_int_equal(l->fd, -1); /* taken */
    errno = 0;
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    vg_http_listener_close(l);
}

static void
test_client_ca_refused_closes_listener(void **state)
{
    char pem[] = "/tmp/vg-test-http-util-XXXXXX";
    struct vg_http_listener l = {.fd = -1};
    char err[256];
    int fd;

    (void)state;
    /* --client-ca without HTTPS */
    assert_int_equal(vg_http_listener_open(&l, "127.0.0.1:0", NULL, NULL, err, sizeof(err)), 0);
    vg__http_util_start_fails_closed(&l, "/nonexistent/ca.pem");
    /* HTTPS (files read, not checked yet), but the CA file cannot be read */
    fd = mkstemp(pem);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x\n", 2), 2);
    close(fd);
    assert_int_equal(vg_http_listener_open(&l, "127.0.0.1:0", pem, pem, err, sizeof(err)), 0);
    vg__http_util_start_fails_closed(&l, "/nonexistent/ca.pem");
    unlink(pem);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_ca_refused_closes_listener),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
