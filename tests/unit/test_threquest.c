/* SPDX-License-Identifier: MIT */
/*
 * test_threquest.c - the helper's endpoint plan for a THRequest (server/threquest.c): the ports,
 * the output bound, bogons left out unless --allow-private. Parsing the request:
 * test_record_th.c; the bogon table: test_ipaddr.c.
 */
#include <stdio.h>
#include <string.h>

#include "th.h"
#include "util/limits.h"
#include "vgtest.h"

static int
parse(const char *s, struct vg_rec_threq *r)
{
    char err[256];

    return vg_rec_threq_parse(s, strlen(s), r, err, sizeof(err));
}

static void
test_endpoints(void **state)
{
    struct vg_rec_threq r;
    char eps[VG_TH_MAX_ENDPOINTS][INET6_ADDRSTRLEN + 8];
    size_t n;

    (void)state;
    /* http without a port: 80 and 443 (oohelperd ipInfoToEndpoints) */
    assert_int_equal(parse("{\"http_request\":\"http://a.example/\",\"tcp_connect\":"
                           "[\"8.8.8.8:80\",\"[2001:4860::8888]:80\",\"10.1.2.3:80\"]}",
                           &r),
                     0);
    n = vg_threq_endpoints(&r, true, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 4);
    assert_string_equal(eps[0], "8.8.8.8:80");
    assert_string_equal(eps[1], "8.8.8.8:443");
    assert_string_equal(eps[2], "[2001:4860::8888]:80");
    assert_string_equal(eps[3], "[2001:4860::8888]:443");
    /* --allow-private: the bogon is measured too */
    n = vg_threq_endpoints(&r, false, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 6);
    assert_string_equal(eps[5], "10.1.2.3:443");
    /* the output bound holds */
    n = vg_threq_endpoints(&r, false, false, eps, 3);
    assert_int_equal(n, 3);
    vg_rec_threq_cleanup(&r);

    /* https: 443 only; an explicit port: that port only, whatever the probe's port was */
    assert_int_equal(parse("{\"http_request\":\"https://a.example/\",\"tcp_connect\":"
                           "[\"8.8.8.8:8443\"]}",
                           &r),
                     0);
    n = vg_threq_endpoints(&r, true, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 1);
    assert_string_equal(eps[0], "8.8.8.8:443");
    vg_rec_threq_cleanup(&r);
    assert_int_equal(parse("{\"http_request\":\"http://a.example:8080/\",\"tcp_connect\":"
                           "[\"8.8.8.8:80\"]}",
                           &r),
                     0);
    n = vg_threq_endpoints(&r, true, false, eps, VG_TH_MAX_ENDPOINTS);
    assert_int_equal(n, 1);
    assert_string_equal(eps[0], "8.8.8.8:8080");
    vg_rec_threq_cleanup(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
