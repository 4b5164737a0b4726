/* SPDX-License-Identifier: MIT */
/*
 * test_control.c - the questions verdict.c and compare.c ask of a control (lib/meas/control.c):
 * endpoint lookup, its DNS answers, its page, its handshakes. The THResponse reader that fills
 * struct vg_ctrl is tested in test_record_th.c.
 */
#include <string.h>

#include "meas/control.h"
#include "meas/record_th.h"
#include "util/err.h"
#include "vgtest.h"

/* A vigie helper's answer (x_ extensions) and what oohelperd answers for a missing name. */
static const char vigie_response[] =
    "{\"tcp_connect\":{\"198.51.100.30:443\":{\"status\":true,\"failure\":null},"
    "\"198.51.100.31:443\":{\"status\":false,\"failure\":\"connection_refused_error\"}},"
    "\"tls_handshake\":{\"198.51.100.30:443\":{\"server_name\":\"www.icloud.com\",\"status\":true,"
    "\"failure\":null,\"x_valid\":true}},"
    "\"http_request\":{\"body_length\":1256,\"failure\":null,\"title\":\"Example Domain\","
    "\"headers\":{},\"status_code\":200},"
    "\"dns\":{\"failure\":null,\"addrs\":[\"93.184.216.34\",\"2606:2800:220:1:248:1893:25c8:1946\"]"
    "}}";
static const char ooni_nxdomain[] =
    "{\"tcp_connect\":{},\"tls_handshake\":{},\"quic_handshake\":{},"
    "\"http_request\":{\"body_length\":-1,\"discovered_h3_endpoint\":\"\","
    "\"failure\":\"dns_lookup_error\",\"title\":\"\",\"headers\":{},\"status_code\":-1},"
    "\"http3_request\":null,\"dns\":{\"failure\":\"dns_name_error\",\"addrs\":[]},"
    "\"ip_info\":{}}";

static struct vg_ctrl g_c;

static int
parse(const char *s)
{
    return vg_rec_thresponse_parse(s, strlen(s), &g_c);
}

static void
test_endpoint(void **state)
{
    const struct vg_ctrl_endpoint *e;

    (void)state;
    assert_int_equal(parse(vigie_response), 0);
    e = vg_ctrl_endpoint(&g_c, "198.51.100.30:443");
    assert_non_null(e);
    assert_ptr_equal(e, &g_c.ep[0]);
    assert_ptr_equal(vg_ctrl_endpoint(&g_c, "198.51.100.31:443"), &g_c.ep[1]);
    assert_null(vg_ctrl_endpoint(&g_c, "198.51.100.32:443"));
    assert_null(vg_ctrl_endpoint(&g_c, "198.51.100.30"));
    assert_null(vg_ctrl_endpoint(NULL, "198.51.100.30:443"));
    assert_null(vg_ctrl_endpoint(&g_c, NULL));
}

static void
test_queries(void **state)
{
    struct vg_ctrl_endpoint e;

    (void)state;
    assert_true(vg_ctrl_is_nxdomain("dns_name_error"));
    assert_true(vg_ctrl_is_nxdomain("dns_nxdomain_error"));
    assert_false(vg_ctrl_is_nxdomain("dns_server_failure"));
    assert_false(vg_ctrl_is_nxdomain(""));

    assert_int_equal(parse(vigie_response), 0);
    assert_true(vg_ctrl_has_addr(&g_c, "93.184.216.34"));
    assert_true(vg_ctrl_has_addr(&g_c, "::ffff:93.184.216.34"));
    assert_true(vg_ctrl_has_addr(&g_c, "2606:2800:220:1:248:1893:25C8:1946"));
    assert_false(vg_ctrl_has_addr(&g_c, "93.184.216.35"));
    assert_false(vg_ctrl_has_addr(NULL, "93.184.216.34"));
    assert_true(vg_ctrl_http_ok(&g_c));
    assert_false(vg_ctrl_http_failed(&g_c));
    assert_false(vg_ctrl_http_ok(NULL));
    assert_false(vg_ctrl_http_failed(NULL));
    assert_true(vg_ctrl_tls_valid(vg_ctrl_endpoint(&g_c, "198.51.100.30:443")));
    assert_false(vg_ctrl_tls_valid(vg_ctrl_endpoint(&g_c, "198.51.100.31:443")));

    assert_int_equal(parse(ooni_nxdomain), 0);
    assert_false(vg_ctrl_http_ok(&g_c));
    assert_true(vg_ctrl_http_failed(&g_c));
    assert_true(vg_ctrl_is_nxdomain(g_c.dns_failure));
    assert_false(vg_ctrl_has_addr(&g_c, "93.184.216.34"));

    /* oohelperd's handshake (no x_ data) counts as valid; vigie's says so itself */
    memset(&e, 0, sizeof(e));
    e.tls_present = e.tls_ok = true;
    assert_true(vg_ctrl_tls_valid(&e));
    e.x_present = true;
    assert_false(vg_ctrl_tls_valid(&e));
    e.x_valid = true;
    assert_true(vg_ctrl_tls_valid(&e));
    e.tls_ok = false;
    assert_false(vg_ctrl_tls_valid(&e));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_queries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
