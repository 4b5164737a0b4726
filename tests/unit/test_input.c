/* SPDX-License-Identifier: MIT */
/* test_input.c - plain and Citizen Lab CSV input lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "proto/input.h"
#include "util/limits.h"

#define CL_HEADER "url,category_code,category_description,date_added,source,notes\n"

static struct vg_input_parser ip;
static char url[VG_URL_MAX + 1];

static int
feed(const char *line)
{
    return vg_input_feed(&ip, line, strlen(line), url, sizeof(url));
}

static void
expect_url(const char *line, const char *want)
{
    assert_int_equal(feed(line), 1);
    assert_string_equal(url, want);
}

static void
test_plain(void **state)
{
    (void)state;
    vg_input_init(&ip);
    assert_int_equal(feed("# a comment\n"), 0);
    assert_int_equal(feed("\n"), 0);
    assert_int_equal(feed(" \t \r\n"), 0);
    assert_int_equal(feed(""), 0);
    assert_false(ip.started);
    expect_url("https://example.org/\n", "https://example.org/");
    assert_true(ip.started);
    assert_false(ip.csv);
    expect_url("  http://example.com/a b \t\r\n", "http://example.com/a b");
    expect_url("http://example.net", "http://example.net");
    assert_int_equal(feed("   # indented comment"), 0);
    /* Commas and quotes are nothing special in a plain list. */
    expect_url("http://x.example/?a=1,2&b=\"3\"\r\n", "http://x.example/?a=1,2&b=\"3\"");
    expect_url("url", "url");
    assert_string_equal(ip.category, "");
    assert_int_equal(ip.lineno, 10);
}

static void
test_plain_first_line_with_quote(void **state)
{
    (void)state;
    /* Not a valid CSV header: the line is a URL. */
    vg_input_init(&ip);
    expect_url("http://a.example/\"x", "http://a.example/\"x");
    assert_false(ip.csv);
    /* A CSV-looking first line without a "url" column is a URL too. */
    vg_input_init(&ip);
    expect_url("link,category_code\n", "link,category_code");
    assert_false(ip.csv);
    /* Issue 15: header names in any case ("URL,category" is a header, not a URL). */
    vg_input_init(&ip);
    assert_int_equal(feed("URL,category_code\n"), 0);
    assert_true(ip.csv);
}

static void
test_bom(void **state)
{
    (void)state;
    vg_input_init(&ip);
    expect_url("\xef\xbb\xbfhttps://bom.example/\r\n", "https://bom.example/");
    /* Only on line 1. */
    expect_url("\xef\xbb\xbfhttps://bom.example/\r\n", "\xef\xbb\xbfhttps://bom.example/");

    vg_input_init(&ip);
    assert_int_equal(feed("\xef\xbb\xbf" CL_HEADER), 0);
    assert_true(ip.csv);
    assert_int_equal(ip.url_col, 0);
}

static void
test_csv(void **state)
{
    (void)state;
    vg_input_init(&ip);
    assert_int_equal(feed("# Citizen Lab global list\n"), 0);
    assert_int_equal(feed("\n"), 0);
    assert_int_equal(feed(CL_HEADER), 0);
    assert_true(ip.csv);
    assert_int_equal(ip.url_col, 0);
    assert_int_equal(ip.category_col, 1);
    expect_url("http://www.example.com/,NEWS,News Media,2017-04-12,citizenlab,\r\n",
               "http://www.example.com/");
    assert_string_equal(ip.category, "NEWS");
    expect_url("\"http://q.example/a,b\",\"HUMR\",\"Human \"\"Rights\"\"\",,,\"x\"\n",
               "http://q.example/a,b");
    assert_string_equal(ip.category, "HUMR");
    expect_url("\"http://q.example/\"\"quoted\"\"\",POLR\n", "http://q.example/\"quoted\"");
    assert_string_equal(ip.category, "POLR");
    /* Only the url column is required. */
    expect_url(" http://short.example/ \n", "http://short.example/");
    assert_string_equal(ip.category, "");
    expect_url("http://e.example/, GRP ,desc\n", "http://e.example/");
    assert_string_equal(ip.category, "GRP");
    /* Comments and blank lines are still skipped in CSV mode. */
    assert_int_equal(feed("# note\n"), 0);
    assert_int_equal(feed("   \n"), 0);
    /* An empty last field, a trailing comma, an empty quoted field. */
    expect_url("http://t.example/,\"\",\n", "http://t.example/");
    assert_string_equal(ip.category, "");
}

static void
test_csv_url_not_first(void **state)
{
    (void)state;
    vg_input_init(&ip);
    assert_int_equal(feed("category_code,\"url\",notes\n"), 0);
    assert_int_equal(ip.url_col, 1);
    assert_int_equal(ip.category_col, 0);
    expect_url("NEWS,http://b.example/,x\n", "http://b.example/");
    assert_string_equal(ip.category, "NEWS");
    /* Fewer columns than the url column. */
    assert_int_equal(feed("NEWS\n"), VG_EPROTO);
    assert_string_equal(url, "");
    /* The url column is present but empty. */
    assert_int_equal(feed("NEWS,,x\n"), VG_EPROTO);
    assert_int_equal(feed("NEWS,\"  \",x\n"), VG_EPROTO);

    /* A header without category_code. */
    vg_input_init(&ip);
    assert_int_equal(feed("date,url\n"), 0);
    assert_int_equal(ip.category_col, -1);
    expect_url("2020-01-01,http://c.example/\n", "http://c.example/");
    assert_string_equal(ip.category, "");
}

static void
test_csv_errors(void **state)
{
    static const struct {
        const char *line;
        int rc;
    } cases[] = {
        {"\"http://unterminated.example/,NEWS\n", VG_EPROTO},
        {"http://a.example/,\"NEWS\n", VG_EPROTO},
        {"\"http://a.example/\"x,NEWS\n", VG_EPROTO},
        {"\"http://a.example/\" ,NEWS\n", VG_EPROTO},
        {"http://a.example/,\"NE\"WS\"\n", VG_EPROTO},
        {"http://a.example/,\"\"\"\n", VG_EPROTO},
        {",NEWS\n", VG_EPROTO},
        {"\"\",NEWS\n", VG_EPROTO},
        /* category_code does not fit ip.category. */
        {"http://a.example/,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
         VG_ETOOBIG},
    };
    (void)state;

    vg_input_init(&ip);
    assert_int_equal(feed(CL_HEADER), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = feed(cases[i].line);

        if (rc != cases[i].rc) {
            print_error("case %zu: got %d\n", i, rc);
        }
        assert_int_equal(rc, cases[i].rc);
    }
    /* A bad row does not stop the list. */
    expect_url("http://after.example/,NEWS\n", "http://after.example/");
}

/* Header names in any case; the columns vigie does not read are listed for a warning. */
static void
test_csv_header_case_and_unknown(void **state)
{
    (void)state;
    vg_input_init(&ip);
    assert_int_equal(feed("URL,Category_Code,Category,date_added,Notes\n"), 0);
    assert_true(ip.csv);
    assert_int_equal(ip.category_col, 1);
    assert_string_equal(ip.unknown, "'Category'");
    expect_url("http://a.example/,NEWS,News,2020-01-01,\n", "http://a.example/");
    assert_string_equal(ip.category, "NEWS");

    vg_input_init(&ip);
    assert_int_equal(feed(CL_HEADER), 0);
    assert_string_equal(ip.unknown, "");

    /* Not a header: no warning either. */
    vg_input_init(&ip);
    expect_url("http://b.example/\n", "http://b.example/");
    assert_false(ip.csv);
    assert_string_equal(ip.unknown, "");
}

/* What is wrong, and where (byte of the line, from 1). */
static void
test_csv_error_why(void **state)
{
    static const struct {
        const char *line;
        size_t col;
        const char *why;
    } cases[] = {
        {"\"http://unterminated.example/,NEWS\n", 1, "unterminated quoted field"},
        {"http://a.example/,\"NEWS\n", 19, "unterminated quoted field"},
        {"\"http://a.example/\"x,NEWS\n", 20, "a byte after a quoted field's closing"},
        {",NEWS\n", 1, "empty url column"},
        {"\"  \",NEWS\n", 1, "empty url column"},
        {"http://a.example/,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
         0, "category_code longer than 63 bytes"},
    };
    (void)state;

    vg_input_init(&ip);
    assert_int_equal(feed("url,category_code\n"), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(feed(cases[i].line) < 0);
        assert_non_null(ip.why);
        if (strncmp(ip.why, cases[i].why, strlen(cases[i].why)) != 0 || ip.col != cases[i].col) {
            print_error("case %zu: column %zu: %s\n", i, ip.col, ip.why);
        }
        assert_int_equal(ip.col, cases[i].col);
        assert_memory_equal(ip.why, cases[i].why, strlen(cases[i].why));
    }
    expect_url("http://after.example/,NEWS\n", "http://after.example/");
    assert_null(ip.why);
}

static void
test_nul(void **state)
{
    static const char plain[] = "http://a.example/\0evil\n";
    static const char row[] = "http://a.example/\0evil,NEWS\n";
    static const char in_notes[] = "http://ok.example/,NEWS,desc\0x\n";
    (void)state;

    vg_input_init(&ip);
    assert_int_equal(vg_input_feed(&ip, plain, sizeof(plain) - 1, url, sizeof(url)), VG_EPROTO);

    vg_input_init(&ip);
    assert_int_equal(feed(CL_HEADER), 0);
    assert_int_equal(vg_input_feed(&ip, row, sizeof(row) - 1, url, sizeof(url)), VG_EPROTO);
    /* NULs elsewhere in the row do not matter. */
    assert_int_equal(vg_input_feed(&ip, in_notes, sizeof(in_notes) - 1, url, sizeof(url)), 1);
    assert_string_equal(url, "http://ok.example/");
}

static void
test_limits(void **state)
{
    char *line = malloc(VG_INPUT_LINE_MAX + 3);
    char small[8];
    (void)state;

    assert_non_null(line);
    vg_input_init(&ip);
    memcpy(line, "http://", 7);
    memset(line + 7, 'a', VG_INPUT_LINE_MAX - 7);
    memcpy(line + VG_INPUT_LINE_MAX, "\r\n", 2);
    /* Exactly VG_INPUT_LINE_MAX bytes plus CRLF: the line fits, the URL does not fit url[]. */
    assert_int_equal(vg_input_feed(&ip, line, VG_INPUT_LINE_MAX + 2, url, sizeof(url)), VG_ETOOBIG);
    {
        char *big = malloc(VG_INPUT_LINE_MAX + 1);

        assert_non_null(big);
        assert_int_equal(
            vg_input_feed(&ip, line, VG_INPUT_LINE_MAX + 2, big, VG_INPUT_LINE_MAX + 1), 1);
        assert_int_equal(strlen(big), VG_INPUT_LINE_MAX);
        free(big);
    }
    /* One byte more is too long a line. */
    line[VG_INPUT_LINE_MAX] = 'a';
    assert_int_equal(vg_input_feed(&ip, line, VG_INPUT_LINE_MAX + 1, url, sizeof(url)), VG_ETOOBIG);
    free(line);

    /* cap is honoured exactly. */
    assert_int_equal(vg_input_feed(&ip, "http://", 7, small, sizeof(small)), 1);
    assert_string_equal(small, "http://");
    assert_int_equal(vg_input_feed(&ip, "http://x", 8, small, sizeof(small)), VG_ETOOBIG);

    /* A long CSV line full of quotes stays within bounds. */
    line = malloc(VG_INPUT_LINE_MAX);
    assert_non_null(line);
    vg_input_init(&ip);
    assert_int_equal(feed(CL_HEADER), 0);
    line[0] = '"';
    memset(line + 1, '"', VG_INPUT_LINE_MAX - 2);
    line[VG_INPUT_LINE_MAX - 1] = '"';
    assert_int_equal(vg_input_feed(&ip, line, VG_INPUT_LINE_MAX, url, sizeof(url)), 1);
    assert_int_equal(strlen(url), (VG_INPUT_LINE_MAX - 2) / 2);
    free(line);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_plain_first_line_with_quote),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_url_not_first),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_header_case_and_unknown),
        cmocka_unit_test(test_csv_error_why),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
