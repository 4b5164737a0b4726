/* SPDX-License-Identifier: MIT */
/*
 * test_ch_tsv.c - the reader of ClickHouse's TabSeparatedWithNamesAndTypes answers
 * (server/ch_tsv.c): every escape ClickHouse writes, NULL, empty fields, the types it gives
 * values for; hostile answers (wrong counts, truncations, unknown escapes, huge fields and
 * headers, bad integers, unknown types) give an error with a message, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch_tsv.h"
#include "vgtest.h"

/* Read all rows of ans; returns the first error or the number of rows. cols of the last row
 * are copied to last (texts into store, NUL-separated). */
static int
read_all(const char *ans, size_t len, struct vg__val *last, char *store, size_t cap, char *msg,
         size_t msglen)
{
    struct vg__ch_tsv t;
    struct vg__val cols[VG_CH_COLS_MAX];
    int rc = vg__ch_tsv_open(&t, ans, len), n = 0;

    while (rc == 0) {
        rc = vg__ch_tsv_next(&t, cols);
        if (rc == 1) {
            size_t used = 0;

            n++;
            for (size_t k = 0; k < t.ncols && last != NULL; k++) {
                last[k] = cols[k];
                if (cols[k].t == VG__TEXT) {
                    assert_true(used + cols[k].len <= cap);
                    memcpy(store + used, cols[k].p, cols[k].len);
                    last[k].p = store + used;
                    used += cols[k].len;
                }
            }
            rc = 0;
        } else if (rc == 0) {
            break;
        }
    }
    if (msg != NULL) {
        snprintf(msg, msglen, "%s", t.msg);
    }
    if (rc < 0) {
        assert_true(t.msg[0] != '\0');
    }
    vg__ch_tsv_free(&t);
    return rc < 0 ? rc : n;
}

static int
read_str(const char *ans, struct vg__val *last, char *store, size_t cap)
{
    return read_all(ans, strlen(ans), last, store, cap, NULL, 0);
}

/* The answer ClickHouse 18.16 gave to a SELECT of every escape (captured with curl). */
static void
test_escapes(void **state)
{
    static const char ans[] = "s\tn\tx\tu\te\tf\n"
                              "String\tNullable(UInt8)\tNullable(String)\tUInt64\tString\t"
                              "FixedString(4)\n"
                              "a\\0b\x01\\b\\f\\r\\n\\t\\\\\\'\x7f\xff\t1\t\\N\t"
                              "9223372036854775807\t\tab\\0\\0\n";
    static const char want[] = "a\0b\x01\b\f\r\n\t\\'\x7f\xff";
    struct vg__val v[6];
    char store[256];

    (void)state;
    assert_int_equal(read_all(ans, sizeof(ans) - 1, v, store, sizeof(store), NULL, 0), 1);
    assert_int_equal(v[0].t, VG__TEXT);
    assert_int_equal(v[0].len, sizeof(want) - 1);
    assert_memory_equal(v[0].p, want, sizeof(want) - 1);
    assert_int_equal(v[1].t, VG__INT);
    assert_int_equal(v[1].i, 1);
    assert_int_equal(v[2].t, VG__NULL);
    assert_int_equal(v[3].t, VG__INT);
    assert_true(v[3].i == INT64_MAX);
    assert_int_equal(v[4].t, VG__TEXT);
    assert_int_equal(v[4].len, 0);
    assert_int_equal(v[5].len, 4);
    assert_memory_equal(v[5].p, "ab\0\0", 4);
}

static void
test_rows_and_types(void **state)
{
    struct vg__val v[8];
    char store[64];

    (void)state;
    /* no rows */
    assert_int_equal(read_str("a\tb\nInt64\tString\n", v, store, sizeof(store)), 0);
    /* ints at their bounds */
    assert_int_equal(read_str("a\tb\tc\nInt64\tInt8\tUInt32\n"
                              "-9223372036854775808\t-128\t4294967295\n"
                              "1\t2\t3\n",
                              v, store, sizeof(store)),
                     2);
    assert_int_equal(v[0].i, 1);
    assert_int_equal(read_str("a\nInt64\n-9223372036854775808\n", v, store, sizeof(store)), 1);
    assert_true(v[0].i == INT64_MIN);
    /* a single empty column and an empty string value */
    assert_int_equal(read_str("\nString\n\n\n", v, store, sizeof(store)), 2);
    assert_int_equal(v[0].len, 0);
    /* a Nullable integer */
    assert_int_equal(read_str("a\nNullable(Int32)\n\\N\n-5\n", v, store, sizeof(store)), 2);
    assert_int_equal(v[0].t, VG__INT);
    assert_int_equal(v[0].i, -5);
    /* a field that is \N in a string column of a Nullable type, and the text "\N" escaped */
    assert_int_equal(read_str("a\nNullable(String)\n\\\\N\n", v, store, sizeof(store)), 1);
    assert_int_equal(v[0].t, VG__TEXT);
    assert_memory_equal(v[0].p, "\\N", 2);
}

static void
expect_err(const char *ans, size_t len, int code, const char *words)
{
    char msg[160];
    int rc = read_all(ans, len, NULL, NULL, 0, msg, sizeof(msg));

    if (rc != code || strstr(msg, words) == NULL) {
        fail_msg("%.40s: rc %d (want %d), msg \"%s\" (want \"%s\")", ans, rc, code, msg, words);
    }
}

#define EXPECT_ERR(a, code, words) expect_err(a, sizeof(a) - 1, code, words)

static void
test_hostile(void **state)
{
    (void)state;
    EXPECT_ERR("", VG_ETRUNC, "empty answer");
    EXPECT_ERR("a\tb", VG_ETRUNC, "truncated");
    EXPECT_ERR("a\tb\n", VG_ETRUNC, "truncated");
    EXPECT_ERR("a\tb\nInt64\n", VG_EPROTO, "2 column names but 1 types");
    EXPECT_ERR("a\nInt64\tInt64\n", VG_EPROTO, "1 column names but 2 types");
    EXPECT_ERR("a\nFloat64\n1.5\n", VG_EPROTO, "unsupported column type Float64");
    EXPECT_ERR("a\nDateTime\n", VG_EPROTO, "unsupported column type");
    EXPECT_ERR("a\nNullable(\n", VG_EPROTO, "unsupported column type");
    EXPECT_ERR("a\nNullable()\n", VG_EPROTO, "unsupported column type");
    EXPECT_ERR("a\nFixedString(\n", VG_EPROTO, "unsupported column type");
    EXPECT_ERR("a\n\n", VG_EPROTO, "bad type name");
    EXPECT_ERR("a\tb\nInt64\tString\n1\n", VG_EPROTO, "row 1 has 1 fields, not 2");
    EXPECT_ERR("a\tb\nInt64\tString\n1\tx\ty\n", VG_EPROTO, "more than 2 fields");
    EXPECT_ERR("a\tb\nInt64\tString\n1\tx", VG_ETRUNC, "truncated");
    EXPECT_ERR("a\nString\nx\\q\n", VG_EPROTO, "unknown escape");
    EXPECT_ERR("a\nString\nx\\\n", VG_EPROTO, "backslash at the end");
    EXPECT_ERR("a\nString\nx\\", VG_ETRUNC, "truncated");
    EXPECT_ERR("a\tb\nString\tString\nx\\\ty\n", VG_EPROTO, "backslash at the end");
    EXPECT_ERR("a\nString\n\\N\n", VG_EPROTO, "NULL in column 1, not Nullable");
    EXPECT_ERR("a\nInt64\n\n", VG_EPROTO, "bad integer");
    EXPECT_ERR("a\nInt64\n9223372036854775808\n", VG_EPROTO, "bad integer in column 1, row 1");
    EXPECT_ERR("a\nInt64\n-9223372036854775809\n", VG_EPROTO, "bad integer");
    EXPECT_ERR("a\nUInt64\n18446744073709551615\n", VG_EPROTO, "bad integer");
    EXPECT_ERR("a\nUInt64\n-1\n", VG_EPROTO, "bad integer");
    EXPECT_ERR("a\nInt64\n1x\n", VG_EPROTO, "bad integer");
    EXPECT_ERR("a\nInt64\n+1\n", VG_EPROTO, "bad integer");
    EXPECT_ERR("a\nInt64\n1\\n\n", VG_EPROTO, "bad integer");
    EXPECT_ERR("a\nInt64\n1\n2\nx\n", VG_EPROTO, "row 3");
    /* a NUL in the answer is a byte like any other */
    expect_err("a\nInt64\n\0\n", 10, VG_EPROTO, "bad integer");
}

static void
test_limits(void **state)
{
    size_t n = VG_CH_COLS_MAX + 1, cap = (size_t)VG_CH_FIELD_MAX + 64;
    char *ans = malloc(cap), msg[160];
    size_t len = 0;
    struct vg__val v[1];

    (void)state;
    assert_non_null(ans);
    /* one column too many */
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(ans + len, cap - len, "c%zu%s", i, i + 1 < n ? "\t" : "\n");
    }
    assert_int_equal(read_all(ans, len, NULL, NULL, 0, msg, sizeof(msg)), VG_ETOOBIG);
    assert_non_null(strstr(msg, "more than"));
    /* a type name over VG_CH_TYPE_MAX */
    len = (size_t)snprintf(ans, cap, "a\n");
    memset(ans + len, 'I', VG_CH_TYPE_MAX + 1);
    len += VG_CH_TYPE_MAX + 1;
    ans[len++] = '\n';
    assert_int_equal(read_all(ans, len, NULL, NULL, 0, msg, sizeof(msg)), VG_EPROTO);
    /* a field over VG_CH_FIELD_MAX, and one at the bound */
    len = (size_t)snprintf(ans, cap, "a\nString\n");
    memset(ans + len, 'x', (size_t)VG_CH_FIELD_MAX + 1);
    ans[len + VG_CH_FIELD_MAX + 1] = '\n';
    assert_int_equal(read_all(ans, len + VG_CH_FIELD_MAX + 2, NULL, NULL, 0, msg, sizeof(msg)),
                     VG_ETOOBIG);
    ans[len + VG_CH_FIELD_MAX] = '\n';
    assert_int_equal(read_all(ans, len + VG_CH_FIELD_MAX + 1, NULL, NULL, 0, msg, sizeof(msg)), 1);
    (void)v;
    free(ans);
}

/* Every byte 0..255 in a field, escaped as ClickHouse escapes it, reads back exactly. */
static void
test_bytes_all(void **state)
{
    char ans[600], store[300];
    size_t len = (size_t)snprintf(ans, sizeof(ans), "s\nString\n");
    struct vg__val v[1];

    (void)state;
    for (int b = 0; b < 256; b++) {
        if (b == '\t' || b == '\n' || b == '\\' || b == 0 || b == '\b' || b == '\f' || b == '\r' ||
            b == '\'') {
            ans[len++] = '\\';
            ans[len++] = b == '\t'   ? 't'
                         : b == '\n' ? 'n'
                         : b == 0    ? '0'
                         : b == '\b' ? 'b'
                         : b == '\f' ? 'f'
                         : b == '\r' ? 'r'
                                     : (char)b;
        } else {
            ans[len++] = (char)b;
        }
    }
    ans[len++] = '\n';
    assert_int_equal(read_all(ans, len, v, store, sizeof(store), NULL, 0), 1);
    assert_int_equal(v[0].len, 256);
    for (int b = 0; b < 256; b++) {
        assert_int_equal((unsigned char)v[0].p[b], b);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),   cmocka_unit_test(test_rows_and_types),
        cmocka_unit_test(test_hostile),   cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bytes_all),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
