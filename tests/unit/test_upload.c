/* SPDX-License-Identifier: MIT */
/*
 * test_upload.c - what the uploader checks before it sends anything (lib/meas/upload.c,
 * lib/net/httpclient.c): which collector URLs an upload token may go to, which tokens can go in
 * a header at all, and that an extra header with CR or LF (header injection) is refused. No
 * network: every case is decided before a connection. The token is never quoted in a message.
 */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "meas/upload.h"
#include "net/httpclient.h"
#include "util/err.h"
#include "vgtest.h"
#include "vigie/vigie.h"

#define TOKEN "s3cr3t-token_.~+/="

static int
check(const char *collector, const char *token, bool allow_http, char *err, size_t errlen)
{
    struct vg_upload_opts o = {
        .collector = collector, .token = token, .allow_token_over_http = allow_http};

    err[0] = '\0';
    return vg_uploader_check(&o, err, errlen);
}

static void
test_where_a_token_may_go(void **state)
{
    static const char *const ok[] = {
        "https://collector.example/", "https://192.0.2.1:8443/", "http://127.0.0.1:8081/",
        "http://127.9.9.9/",          "http://[::1]:8081/",      "http://localhost:8081/",
        "http://LOCALHOST/",
    };
    static const char *const plain[] = {
        "http://192.0.2.1:8081/",     "http://collector.example/", "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/", "http://localhost.example/", "http://127.0.0.1.nip.io/",
    };
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(check(ok[i], TOKEN, false, err, sizeof(err)), 0);
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        assert_int_equal(check(plain[i], TOKEN, false, err, sizeof(err)), VG_EINVAL);
        assert_non_null(strstr(err, "over plain http"));
        assert_null(strstr(err, TOKEN));
        /* Anonymous uploads go anywhere, as before; the override lets the token go too. */
        assert_int_equal(check(plain[i], NULL, false, err, sizeof(err)), 0);
        assert_int_equal(check(plain[i], TOKEN, true, err, sizeof(err)), 0);
    }
    assert_int_equal(check("ftp://x/", NULL, false, err, sizeof(err)), VG_EINVAL);
    assert_non_null(strstr(err, "invalid collector URL"));
}

static void
test_which_tokens(void **state)
{
    static const char *const bad[] = {"",     "a b",        "a\tb", "a\r\nX-Injected: 1",
                                      "\x7f", "caf\xc3\xa9"};
    char err[512], big[VG_UPLOAD_TOKEN_MAX + 2];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check("https://c.example/", bad[i], false, err, sizeof(err)), VG_EINVAL);
        assert_true(err[0] != '\0');
    }
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(check("https://c.example/", big, false, err, sizeof(err)), VG_EINVAL);
    assert_null(strstr(err, "xxxx"));
    big[VG_UPLOAD_TOKEN_MAX] = '\0';
    assert_int_equal(check("https://c.example/", big, false, err, sizeof(err)), 0);
}

static void
test_on_post(int status, const uint8_t *body, size_t len, const char *failure, void *arg)
{
    (void)status;
    (void)body;
    (void)len;
    (void)failure;
    (void)arg;
    fail_msg("a refused request must not call back");
}

static void
test_header_injection_refused(void **state)
{
    static const char *const bad[] = {
        "Authorization: Bearer a\r\nX-Injected: 1",
        "Authorization: Bearer a\n",
        "no colon",
        "",
        "Authorization: Bearer \x01",
    };
    uv_loop_t loop;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vg_http_post_hdr(&loop, NULL, "http://127.0.0.1:9/report", bad[i],
                                          "application/json", "{}", 2, 1000, 1024, test_on_post,
                                          NULL),
                         VG_EINVAL);
    }
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_where_a_token_may_go),
        cmocka_unit_test(test_which_tokens),
        cmocka_unit_test(test_header_injection_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
