/* SPDX-License-Identifier: MIT */
/* test_str.c - lib/util/str.c: base64 decoding, hex digits and the UTF-8-safe bounded copy. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"
#include "vgtest.h"

static void
test_base64_decode(void **state)
{
    uint8_t raw[256], out[256];
    long n;

    (void)state;
    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (uint8_t)(i * 7 + 3);
    }
    for (size_t len = 0; len < 10; len++) {
        char *b64 = vg_base64(raw, len);

        n = vg_base64_decode(b64, strlen(b64), out, sizeof(out));
        assert_int_equal(n, (long)len);
        assert_memory_equal(out, raw, len);
        /* padding optional */
        while (strlen(b64) > 0 && b64[strlen(b64) - 1] == '=') {
            b64[strlen(b64) - 1] = '\0';
        }
        assert_int_equal(vg_base64_decode(b64, strlen(b64), out, sizeof(out)), (long)len);
        /* one byte short of room */
        if (len > 0) {
            assert_int_equal(vg_base64_decode(b64, strlen(b64), out, len - 1), VG_ETOOBIG);
        }
        free(b64);
    }
    assert_int_equal(vg_base64_decode("aGVsbG8=", 8, out, sizeof(out)), 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(vg_base64_decode("aGV sbG8", 8, out, sizeof(out)), VG_EPROTO);
    assert_int_equal(vg_base64_decode("aGVs-G8", 7, out, sizeof(out)), VG_EPROTO);
    assert_int_equal(vg_base64_decode("a", 1, out, sizeof(out)), VG_EPROTO);
    assert_int_equal(vg_base64_decode("====", 4, out, sizeof(out)), 0);
}

static void
test_hexval(void **state)
{
    static const char digits[] = "0123456789abcdef";

    (void)state;
    for (int i = 0; i < 16; i++) {
        assert_int_equal(vg_hexval(digits[i]), i);
        assert_int_equal(vg_hexval(toupper((unsigned char)digits[i])), i);
    }
    for (int c = -1; c < 256; c++) {
        if (c <= 0 || (strchr(digits, c) == NULL && strchr("ABCDEF", c) == NULL)) {
            assert_int_equal(vg_hexval(c), -1); /* NUL and EOF too */
        }
    }
}

static void
test_utf8_copy(void **state)
{
    char dst[6];

    (void)state;
    vg_utf8_copy(dst, sizeof(dst), "abc", 3);
    assert_string_equal(dst, "abc");
    vg_utf8_copy(dst, sizeof(dst), "abcdefgh", 8);
    assert_string_equal(dst, "abcde");
    /* "abcé" + "ü": the ü (2 bytes) does not fit whole in the 5 bytes left */
    vg_utf8_copy(dst, sizeof(dst), "abc\xc3\xa9\xc3\xbc", 7);
    assert_string_equal(dst, "abc\xc3\xa9");
    vg_utf8_copy(dst, sizeof(dst), "abcd\xe2\x82\xac", 7);
    assert_string_equal(dst, "abcd");
    vg_utf8_copy(dst, 1, "abc", 3);
    assert_string_equal(dst, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_decode),
        cmocka_unit_test(test_utf8_copy),
        cmocka_unit_test(test_hexval),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
