/* SPDX-License-Identifier: MIT */
/* test_html.c - title extraction with OONI's (?i)<title>([^<]{1,512})</title> semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "proto/html.h"
#include "util/limits.h"

/* Room for the longest possible title: 512 characters of 4 bytes. */
static char title[4 * VG_HTML_TITLE_MAX + 1];

static size_t
title_of(const char *body)
{
    return vg_html_title((const uint8_t *)body, strlen(body), title, sizeof(title));
}

static void
expect_title(const char *body, const char *want)
{
    size_t n = title_of(body);

    assert_int_equal(n, strlen(want));
    assert_string_equal(title, want);
}

static void
expect_none(const char *body)
{
    assert_int_equal(title_of(body), 0);
    assert_string_equal(title, "");
}

/* "<title>" + n copies of unit + "</title>" */
static char *
repeat_title(const char *unit, size_t n, const char *open, const char *close)
{
    size_t ul = strlen(unit), len = strlen(open) + n * ul + strlen(close);
    char *b = malloc(len + 1), *p = b;

    assert_non_null(b);
    memcpy(p, open, strlen(open));
    p += strlen(open);
    for (size_t i = 0; i < n; i++, p += ul) {
        memcpy(p, unit, ul);
    }
    memcpy(p, close, strlen(close) + 1);
    return b;
}

static void
test_basic(void **state)
{
    (void)state;
    expect_title("<html><head><title>Hello, world</title></head></html>", "Hello, world");
    expect_title("<title> spaced \n out </title>", " spaced \n out ");
    expect_title("<title>x</title>", "x");
    expect_title("junk<title>a&amp;b\"'></title>", "a&amp;b\"'>");
}

static void
test_case_insensitive(void **state)
{
    (void)state;
    expect_title("<TITLE>Upper</TITLE>", "Upper");
    expect_title("<TiTlE>Mixed</tItLe>", "Mixed");
    expect_title("<title>Mixed close</TITLE>", "Mixed close");
    expect_title("<TITLE>UPPER keeps case</title>", "UPPER keeps case");
}

static void
test_no_match(void **state)
{
    (void)state;
    expect_none("");
    expect_none("<html><body>no title</body></html>");
    expect_none("<title></title>");             /* at least one character */
    expect_none("<title >attr</title>");        /* exactly "<title>" */
    expect_none("<title lang=en>attr</title>"); /* idem */
    expect_none("<title>unterminated");         /* no close */
    expect_none("<title>almost</titl");         /* truncated close */
    expect_none("<title>almost</title");        /* idem */
    expect_none("<title>a < b</title>");        /* '<' inside */
    expect_none("<title>a</ title>");           /* close spelt differently */
    expect_none("title>a</title>");             /* no open */
    expect_none("<<title");                     /* short tail */
    expect_none("<title>a<b>bold</b></title>"); /* tags inside */
    expect_none("<title>x</title_>");           /* "</title" then not '>' */
}

static void
test_length_512(void **state)
{
    char *b;
    (void)state;

    b = repeat_title("a", 512, "<title>", "</title>");
    assert_int_equal(title_of(b), 512);
    free(b);
    b = repeat_title("a", 513, "<title>", "</title>");
    expect_none(b);
    free(b);

    /* Go counts characters: 512 two-byte characters still match, 513 do not. */
    b = repeat_title("\xc3\xa9", 512, "<title>", "</title>");
    assert_int_equal(title_of(b), 1024);
    assert_memory_equal(title, "\xc3\xa9\xc3\xa9", 4);
    free(b);
    b = repeat_title("\xc3\xa9", 513, "<title>", "</title>");
    expect_none(b);
    free(b);
    b = repeat_title("\xf0\x9f\x98\x80", 512, "<title>", "</title>");
    assert_int_equal(title_of(b), 2048);
    free(b);

    /* Each byte of an invalid sequence is one character (U+FFFD) for Go. */
    b = repeat_title("\xff", 512, "<title>", "</title>");
    assert_int_equal(title_of(b), 512);
    free(b);
    b = repeat_title("\xff", 513, "<title>", "</title>");
    expect_none(b);
    free(b);
    /* A 3-byte sequence cut short counts per byte: 256 x "\xe6\x97" is 512 characters. */
    b = repeat_title("\xe6\x97", 256, "<title>", "</title>");
    assert_int_equal(title_of(b), 512);
    free(b);
    b = repeat_title("\xe6\x97", 257, "<title>", "</title>");
    expect_none(b);
    free(b);
    /* Surrogates and overlongs are invalid: one character per byte. */
    b = repeat_title("\xed\xa0\x80", 171, "<title>", "</title>");
    expect_none(b);
    free(b);
    b = repeat_title("\xe0\x80\xaf", 171, "<title>", "</title>");
    expect_none(b);
    free(b);
    b = repeat_title("\xf4\x90\x80\x80", 129, "<title>", "</title>");
    expect_none(b);
    free(b);
    /* ...while valid 3-byte characters count once: 512 of them match. */
    b = repeat_title("\xe6\x97\xa5", 512, "<title>", "</title>");
    assert_int_equal(title_of(b), 1536);
    free(b);
}

static void
test_several_candidates(void **state)
{
    char *b;
    (void)state;

    expect_title("<title>first</title><title>second</title>", "first");
    expect_title("<title></title><title>second</title>", "second");
    expect_title("<title>a<title>b</title>", "b");
    expect_title("<title><title><TITLE>deep</title>", "deep");
    expect_title("<title>a<b</title><title>ok</title>", "ok");
    expect_title("<title>x</titlex><title>y</title>", "y");
    expect_title("<<title>>title>x</title>", ">title>x");

    /* A too-long first candidate does not hide a later one. */
    b = repeat_title("a", 600, "<title>", "</title><title>later</title>");
    expect_title(b, "later");
    free(b);
}

static void
test_truncation(void **state)
{
    static const char body[] = "<title>abcdef</title>";
    char small[4];
    (void)state;

    assert_int_equal(vg_html_title((const uint8_t *)body, sizeof(body) - 1, small, sizeof(small)),
                     3);
    assert_string_equal(small, "abc");
    assert_int_equal(vg_html_title((const uint8_t *)body, sizeof(body) - 1, small, 1), 0);
    assert_string_equal(small, "");
    assert_int_equal(vg_html_title((const uint8_t *)body, sizeof(body) - 1, NULL, 0), 0);
}

static void
test_binary_body(void **state)
{
    static const uint8_t body[] = "\0\0<title>a\0b</title>";
    (void)state;

    assert_int_equal(vg_html_title(body, sizeof(body) - 1, title, sizeof(title)), 3);
    assert_memory_equal(title, "a\0b", 4);
}

/*
 * 1 MiB of adversarial input: no title, and (checked by the test's CTest timeout, never by a timed
 * assertion) no quadratic rescanning. bench/ measures speed.
 */
static void
no_title_in(const char *unit)
{
    size_t len = 1 << 20, ul = strlen(unit);
    uint8_t *b = malloc(len);

    assert_non_null(b);
    for (size_t i = 0; i < len; i++) {
        b[i] = (uint8_t)unit[i % ul];
    }
    assert_int_equal(vg_html_title(b, len, title, sizeof(title)), 0);
    free(b);
}

static void
test_adversarial_megabyte(void **state)
{
    (void)state;
    no_title_in("<title>");
    no_title_in("<title>a");
    no_title_in("<TITLE>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    no_title_in("<title>\xe6\x97\xa5\xe6\x97\xa5");
    no_title_in("<<<<<<<<<<<<<<<<<<<<<<<<");
    no_title_in("aaaaaaaaaaaaaaaaaaaaaaaa");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_case_insensitive),
        cmocka_unit_test(test_no_match),
        cmocka_unit_test(test_length_512),
        cmocka_unit_test(test_several_candidates),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_binary_body),
        cmocka_unit_test(test_adversarial_megabyte),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
