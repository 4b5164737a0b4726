/* SPDX-License-Identifier: MIT */
/*
 * test_record_th_control.c - the probe reads a THResponse once (vg_rec_thresponse_parse_control,
 * lib/meas/record_th_read.c, with vg_rec_control_json of lib/meas/record.c): the control it
 * records is, byte for byte, what json_loadb of the text gave before (x_client_addr removed):
 * escapes, integers and reals of every form, nesting, member order; NULL where json_loadb fails
 * (an integer past int64, a real past double's range) while the THResponse itself reads; a
 * THResponse that does not read gives no control.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/control.h"
#include "meas/record.h"
#include "meas/record_keys.h"
#include "meas/record_th.h"
#include "util/err.h"
#include "vgtest.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const good[] = {
    /* vigie's helper: TLS chain, headers, ip_info, x_client_addr (dropped) */
    "{\"tcp_connect\":{\"198.51.100.30:443\":{\"status\":true,\"failure\":null},"
    "\"[2001:db8::1]:443\":{\"status\":false,\"failure\":\"connection_refused_error\"}},"
    "\"tls_handshake\":{\"198.51.100.30:443\":{\"server_name\":\"www.example.com\",\"status\":true,"
    "\"failure\":null,\"x_valid\":true,\"x_chain\":[{\"sha256\":\"" HEX64
    "\",\"spki_sha256\":\"" HEX64
    "\",\"subject\":\"CN=\\u00e9t\\u00e9 \\ud83d\\ude00\",\"issuer\":\"CN=a\\/b\\\"c\\\\d\"}]}},"
    "\"quic_handshake\":{},\"http_request\":{\"body_length\":1256,\"discovered_h3_endpoint\":\"\","
    "\"failure\":null,\"title\":\"\\u0001\\t\\n\\r\\b\\f\\u001f\\u007f\\u2028 \xc3\xa9\","
    "\"headers\":{\"Content-Type\":\"text/html\",\"X-Cache\":\"HIT\"},\"status_code\":200},"
    "\"http3_request\":null,\"dns\":{\"failure\":null,\"addrs\":[\"93.184.216.34\"]},"
    "\"x_client_addr\":\"192.0.2.7\","
    "\"ip_info\":{\"93.184.216.34\":{\"asn\":15133,\"flags\":11}}}",
    /* numbers of every form under keys the reader ignores, and whitespace */
    " { \"dns\" : { \"failure\" : null , \"addrs\" : [ ] } "
    ",\n\t\"x_n\":[0,-0,1,-1,9223372036854775807,"
    "-9223372036854775808,0.0,-0.0,1.5,1e2,1E+2,1e-2,2.5E-3,0.1,1e-400,123456789.123456789,"
    "1.7976931348623157e308,5e-324,[[[]]],{},{\"a\":{\"b\":[true,false,null]}}],"
    "\"x_client_addr\":null, \"zz\":\"last\" } ",
    /* oohelperd's answer for a name that does not exist, no x_client_addr */
    "{\"tcp_connect\":{},\"tls_handshake\":{},\"quic_handshake\":{},"
    "\"http_request\":{\"body_length\":-1,\"discovered_h3_endpoint\":\"\","
    "\"failure\":\"dns_lookup_error\",\"title\":\"\",\"headers\":{},\"status_code\":-1},"
    "\"http3_request\":null,\"dns\":{\"failure\":\"dns_name_error\",\"addrs\":[]},\"ip_info\":{}}",
};

/* What the probe recorded before: the text read again by jansson. */
static char *
control_before(const char *text)
{
    json_t *j = json_loadb(text, strlen(text), 0, NULL);
    char *s;

    if (j == NULL) {
        return NULL;
    }
    json_object_del(j, VG_REC_KEY_X_CLIENT_ADDR);
    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

static void
test_same_control(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        static struct vg_ctrl c, c2;
        json_t *control = NULL;
        char *want = control_before(good[i]), *got;

        assert_non_null(want);
        assert_int_equal(vg_rec_thresponse_parse_control(good[i], strlen(good[i]), &c, &control),
                         0);
        assert_non_null(control);
        got = json_dumps(control, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_string_equal(got, want);
        assert_null(strstr(got, "192.0.2.7"));
        /* the same struct as the parse without the control */
        assert_int_equal(vg_rec_thresponse_parse(good[i], strlen(good[i]), &c2), 0);
        assert_memory_equal(&c, &c2, sizeof(c)); /* no stack bytes copied past a NUL */
        free(got);
        free(want);
        json_decref(control);
    }
}

static void
test_no_control(void **state)
{
    /* read by the THResponse reader, refused by jansson: no control, as before */
    static const char *const unread[] = {
        "{\"x_n\":99999999999999999999}",
        "{\"x_n\":-9223372036854775809}",
        "{\"x_n\":[1e400]}",
        "{\"x_n\":{\"a\":-1E999}}",
    };
    /* not a THResponse: an error, no control */
    static const char *const bad[] = {
        "{\"a\":1,\"a\":2}", "[1]", "{\"a\":\"\\u0000\"}", "{", "{\"dns\":{\"addrs\":7}}",
    };
    struct vg_ctrl c;
    json_t *control = (json_t *)1;

    (void)state;
    for (size_t i = 0; i < sizeof(unread) / sizeof(unread[0]); i++) {
        assert_null(control_before(unread[i]));
        assert_int_equal(
            vg_rec_thresponse_parse_control(unread[i], strlen(unread[i]), &c, &control), 0);
        assert_null(control);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        control = (json_t *)1;
        assert_true(vg_rec_thresponse_parse_control(bad[i], strlen(bad[i]), &c, &control) < 0);
        assert_null(control);
    }
    control = (json_t *)1;
    assert_int_equal(vg_rec_thresponse_parse_control("{}", 2, NULL, &control), VG_EINVAL);
    assert_null(control);
    assert_null(vg_rec_control_json(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_control),
        cmocka_unit_test(test_no_control),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
