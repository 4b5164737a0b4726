/* SPDX-License-Identifier: MIT */
/* test_url.c - URL parsing, IDNA, formatting and redirect resolution (RFC 3986 5.4). */
#include <stdint.h>
#include <string.h>

#include "proto/url.h"
#include "vgtest.h"

static struct vg_url u, base;

/* Parse s and return its canonical form (static storage). */
static const char *
canon(const char *s)
{
    static char out[VG_URL_MAX];

    assert_int_equal(vg_url_parse(s, &u), 0);
    assert_int_equal(vg_url_format(&u, out, sizeof(out)), 0);
    return out;
}

static void
test_parse_basic(void **state)
{
    (void)state;
    assert_int_equal(vg_url_parse("http://example.com", &u), 0);
    assert_string_equal(u.scheme, "http");
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.port, 80);
    assert_false(u.port_explicit);
    assert_int_equal(u.ip_family, 0);
    assert_string_equal(u.path, "/");
    assert_true(vg_url_default_port(&u));

    assert_int_equal(vg_url_parse("HTTPS://WWW.Example.COM:8443/A/b?X=1&y#frag", &u), 0);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "www.example.com");
    assert_int_equal(u.port, 8443);
    assert_true(u.port_explicit);
    assert_false(vg_url_default_port(&u));
    assert_string_equal(u.path, "/A/b?X=1&y");

    /* Path and query kept as given: no percent-decoding, no dot-segment removal. */
    assert_int_equal(vg_url_parse("http://example.com/a/../%41%2f?q=%20#x", &u), 0);
    assert_string_equal(u.path, "/a/../%41%2f?q=%20");

    assert_string_equal(canon("http://example.com?q=1"), "http://example.com/?q=1");
    assert_string_equal(canon("http://example.com#top"), "http://example.com/");
    assert_string_equal(canon("https://example.com:443/x"), "https://example.com/x");
    assert_string_equal(canon("http://example.com:443/x"), "http://example.com:443/x");
    assert_string_equal(canon("http://example.com:/x"), "http://example.com/x");
    assert_string_equal(canon("http://Example.COM./"), "http://example.com./");
    assert_string_equal(canon("http://r3---sn-abc.googlevideo.com/"),
                        "http://r3---sn-abc.googlevideo.com/");
    assert_string_equal(canon("http://_dmarc.example.com/"), "http://_dmarc.example.com/");
}

static void
test_parse_idna(void **state)
{
    (void)state;
    assert_int_equal(vg_url_parse("http://Яндекс.рф/", &u), 0);
    assert_string_equal(u.host, "xn--d1acpjx3f.xn--p1ai");
    assert_int_equal(vg_url_parse("http://яндекс.рф/", &u), 0);
    assert_string_equal(u.host, "xn--d1acpjx3f.xn--p1ai");
    assert_int_equal(vg_url_parse("http://ЯНДЕКС.РФ/", &u), 0);
    assert_string_equal(u.host, "xn--d1acpjx3f.xn--p1ai");
    assert_int_equal(vg_url_parse("https://Bücher.example/x", &u), 0);
    assert_string_equal(u.host, "xn--bcher-kva.example");
    /* Non-transitional: sharp s is kept, not mapped to "ss". */
    assert_int_equal(vg_url_parse("http://faß.de/", &u), 0);
    assert_string_equal(u.host, "xn--fa-hia.de");
    /* Full-width letters and dots are mapped to ASCII. */
    assert_int_equal(vg_url_parse("http://ｅｘａｍｐｌｅ．ｃｏｍ/", &u), 0);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.ip_family, 0);

    /* Mapping must not smuggle syntax into the host (full-width '@' and ':'). */
    assert_int_equal(vg_url_parse("http://evil.com＠good.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://ｅｘ．ｃｏｍ：８０/", &u), VG_EINVAL);
    /* Unassigned / disallowed code points. */
    assert_int_equal(vg_url_parse("http://a\xe2\x80\x8f"
                                  "b.com/",
                                  &u),
                     VG_EINVAL);
    assert_int_equal(vg_url_parse("http://\xff\xfe.com/", &u), VG_EINVAL);
}

static void
test_parse_ip(void **state)
{
    (void)state;
    assert_int_equal(vg_url_parse("http://[2001:DB8::1]:8080/x", &u), 0);
    assert_string_equal(u.host, "2001:db8::1");
    assert_int_equal(u.ip_family, 6);
    assert_int_equal(u.port, 8080);
    assert_string_equal(canon("http://[2001:DB8::1]:8080/x"), "http://[2001:db8::1]:8080/x");
    assert_string_equal(canon("https://[0:0:0:0:0:0:0:1]"), "https://[::1]/");
    assert_string_equal(canon("http://[::ffff:1.2.3.4]/"), "http://[::ffff:1.2.3.4]/");

    assert_int_equal(vg_url_parse("http://1.2.3.4:81/", &u), 0);
    assert_int_equal(u.ip_family, 4);
    assert_string_equal(u.host, "1.2.3.4");

    assert_int_equal(vg_url_parse("http://[::1/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://[::1]x/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://[]/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://[1.2.3.4]/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://[fe80::1%25eth0]/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://::1/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://1.2.3.256/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://1.2.3/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://999/", &u), VG_EINVAL);
}

static void
test_parse_ports(void **state)
{
    (void)state;
    assert_int_equal(vg_url_parse("http://example.com:1/", &u), 0);
    assert_int_equal(u.port, 1);
    assert_int_equal(vg_url_parse("http://example.com:65535/", &u), 0);
    assert_int_equal(u.port, 65535);
    assert_int_equal(vg_url_parse("http://example.com:0/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com:65536/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com:99999999999999999999999/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com:8a/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com:-1/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com:80:80/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://[::1]:0/", &u), VG_EINVAL);
}

static void
test_parse_errors(void **state)
{
    char big[VG_URL_MAX + 16];

    (void)state;
    assert_int_equal(vg_url_parse("", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("example.com", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("example.com:80", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("ftp://example.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("httpx://example.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http:/example.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http:example.com", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http:///x", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://:80/", &u), VG_EINVAL);

    /* Userinfo. */
    assert_int_equal(vg_url_parse("http://user@example.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://user:pw@example.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://@example.com/", &u), VG_EINVAL);
    /* ... but '@' in the path is fine. */
    assert_int_equal(vg_url_parse("http://example.com/@user", &u), 0);

    /* Spaces and control characters anywhere. */
    assert_int_equal(vg_url_parse(" http://example.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com/ ", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://exa mple.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com/a b", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com/\t", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com/\r\nX: y", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://example.com/\x7f", &u), VG_EINVAL);

    /* Host syntax. */
    assert_int_equal(vg_url_parse("http://exa%6dple.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://a..b/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://.a/", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://./", &u), VG_EINVAL);
    assert_int_equal(vg_url_parse("http://a\\b/", &u), VG_EINVAL);
    assert_int_equal(
        vg_url_parse("http://x123456789012345678901234567890123456789012345678901234567890123.com/",
                     &u),
        VG_EINVAL);

    /* Lengths: host over 255, URL of VG_URL_MAX bytes or more. */
    memcpy(big, "http://", 7);
    for (size_t i = 0; i < 256; i += 2) {
        big[7 + i] = 'a';
        big[7 + i + 1] = '.';
    }
    big[7 + 255] = 'a';
    memcpy(big + 7 + 256, "/", 2);
    assert_int_equal(vg_url_parse(big, &u), VG_ETOOBIG);
    big[7 + 254] = '/';
    big[7 + 255] = '\0';
    assert_int_equal(vg_url_parse(big, &u), 0);

    memcpy(big, "http://a.com/", 13);
    memset(big + 13, 'x', sizeof(big) - 14);
    big[VG_URL_MAX - 1] = '\0';
    assert_int_equal(vg_url_parse(big, &u), 0);
    big[VG_URL_MAX - 1] = 'x';
    big[VG_URL_MAX] = '\0';
    assert_int_equal(vg_url_parse(big, &u), VG_ETOOBIG);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(vg_url_parse(big, &u), VG_ETOOBIG);

    /* Fits, but "?" grows into "/?" past VG_URL_MAX once formatted. */
    memcpy(big, "http://a.com?", 13);
    big[VG_URL_MAX - 1] = '\0';
    assert_int_equal(vg_url_parse(big, &u), VG_ETOOBIG);
}

static void
test_format(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(vg_url_parse("https://example.com:8443/p?q", &u), 0);
    assert_int_equal(vg_url_format(&u, out, sizeof(out)), 0);
    assert_string_equal(out, "https://example.com:8443/p?q");
    assert_int_equal(vg_url_format(&u, out, strlen("https://example.com:8443/p?q")), VG_ETOOBIG);
    assert_string_equal(out, "");
    assert_int_equal(vg_url_format(&u, out, strlen("https://example.com:8443/p?q") + 1), 0);
    assert_int_equal(vg_url_format(&u, out, 0), VG_ETOOBIG);
}

struct res_case {
    const char *ref;
    const char *want;
};

/* RFC 3986 5.4.1 and 5.4.2, minus fragments (dropped here) and non-http results. */
static const struct res_case rfc_cases[] = {
    {"g", "http://a/b/c/g"},
    {"./g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/"},
    {"/g", "http://a/g"},
    {"//g", "http://g/"},
    {"?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y"},
    {"#s", "http://a/b/c/d;p?q"},
    {"g#s", "http://a/b/c/g"},
    {"g?y#s", "http://a/b/c/g?y"},
    {";x", "http://a/b/c/;x"},
    {"g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y"},
    {".", "http://a/b/c/"},
    {"./", "http://a/b/c/"},
    {"..", "http://a/b/"},
    {"../", "http://a/b/"},
    {"../g", "http://a/b/g"},
    {"../..", "http://a/"},
    {"../../", "http://a/"},
    {"../../g", "http://a/g"},
    {"../../../g", "http://a/g"},
    {"../../../../g", "http://a/g"},
    {"/./g", "http://a/g"},
    {"/../g", "http://a/g"},
    {"g.", "http://a/b/c/g."},
    {".g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g.."},
    {"..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g"},
    {"./g/.", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h"},
    {"g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g"},
    {"g#s/../x", "http://a/b/c/g"},
    /* Not in the RFC. */
    {"https://Other.Example:8443/x?y#z", "https://other.example:8443/x?y"},
    {"HTTP://b/", "http://b/"},
    {"//[::1]:81", "http://[::1]:81/"},
    {"/a/./b/../../c/", "http://a/c/"},
    {"/..", "http://a/"},
    {"/.", "http://a/"},
    {"/a/b/..", "http://a/a/"},
    {"?", "http://a/b/c/d;p?"},
    {"#", "http://a/b/c/d;p?q"},
    {"%2e%2e/g", "http://a/b/c/%2e%2e/g"},
};

static void
test_resolve_rfc(void **state)
{
    char out[VG_URL_MAX];

    (void)state;
    assert_int_equal(vg_url_parse("http://a/b/c/d;p?q", &base), 0);
    for (size_t i = 0; i < sizeof(rfc_cases) / sizeof(rfc_cases[0]); i++) {
        int rc = vg_url_resolve(&base, rfc_cases[i].ref, &u);

        if (rc != 0) {
            fail_msg("%s: error %d", rfc_cases[i].ref, rc);
        }
        assert_int_equal(vg_url_format(&u, out, sizeof(out)), 0);
        if (strcmp(out, rfc_cases[i].want) != 0) {
            fail_msg("%s: got %s, want %s", rfc_cases[i].ref, out, rfc_cases[i].want);
        }
    }
}

static void
test_resolve_more(void **state)
{
    char out[VG_URL_MAX];

    (void)state;
    /* Scheme-relative keeps the base scheme; relative keeps host, port and family. */
    assert_int_equal(vg_url_parse("https://[2001:db8::1]:8443/dir/page?x", &base), 0);
    assert_int_equal(vg_url_resolve(&base, "//example.org/p", &u), 0);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "example.org");
    assert_int_equal(u.port, 443);
    assert_int_equal(u.ip_family, 0);
    assert_int_equal(vg_url_resolve(&base, "../up?z", &u), 0);
    assert_int_equal(vg_url_format(&u, out, sizeof(out)), 0);
    assert_string_equal(out, "https://[2001:db8::1]:8443/up?z");
    assert_int_equal(u.ip_family, 6);

    /* IDNA in a Location. */
    assert_int_equal(vg_url_resolve(&base, "http://Яндекс.рф/", &u), 0);
    assert_string_equal(u.host, "xn--d1acpjx3f.xn--p1ai");

    /* out may be base. */
    assert_int_equal(vg_url_parse("http://example.com/a/b", &base), 0);
    assert_int_equal(vg_url_resolve(&base, "c", &base), 0);
    assert_string_equal(base.path, "/a/c");

    /* A path that grows past VG_URL_MAX once merged with the base. */
    {
        char ref[VG_URL_MAX];

        assert_int_equal(vg_url_parse("http://example.com/a/b/", &base), 0);
        memset(ref, 'x', sizeof(ref) - 1);
        ref[sizeof(ref) - 1] = '\0';
        assert_int_equal(vg_url_resolve(&base, ref, &u), VG_ETOOBIG);
        ref[VG_URL_MAX - 30] = '\0';
        assert_int_equal(vg_url_resolve(&base, ref, &u), 0);
    }
}

static void
test_resolve_broken(void **state)
{
    (void)state;
    assert_int_equal(vg_url_parse("https://example.com/a/b", &base), 0);
    assert_int_equal(vg_url_resolve(&base, "", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "http://", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "https://", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "http:///x", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "http://:80/", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "http://?q", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "//", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "///x", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "http:g", &u), VG_EHTTP_LOCATION);
    assert_int_equal(vg_url_resolve(&base, "https:/x", &u), VG_EHTTP_LOCATION);

    assert_int_equal(vg_url_resolve(&base, "ftp://example.com/", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, "javascript:alert(1)", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, "g:h", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, "http://user@evil/", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, "//user@evil/", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, "http://example.com:0/", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, " /x", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, "/a b", &u), VG_EINVAL);
    assert_int_equal(vg_url_resolve(&base, "/x\r\nSet-Cookie: a=b", &u), VG_EINVAL);

    /* A failed resolution leaves out alone. */
    assert_int_equal(vg_url_parse("http://kept.example/", &u), 0);
    assert_int_equal(vg_url_resolve(&base, "http://", &u), VG_EHTTP_LOCATION);
    assert_string_equal(u.host, "kept.example");
}

/* vg_url_explain names the part that is wrong. */
static void
test_explain(void **state)
{
    static const struct {
        const char *url, *why;
    } cases[] = {
        {"ftp://x.example/", "unsupported scheme 'ftp' (http, https, tls or dns)"},
        {"www.example.org", "no scheme (http://, https://, tls:// or dns://)"},
        {"http:x.example", "no '//' after 'http:'"},
        {"http://a b/", "space at byte 9"},
        {"http://a\tb/", "control character at byte 9"},
        {"http://x.example:99999/", "invalid port '99999' (1 to 65535)"},
        {"http://x.example:8o/", "invalid port '8o' (1 to 65535)"},
        {"http://[::1/", "invalid IPv6 address '[::1'"},
        {"http://u@x.example/", "user information ('user@') is not accepted"},
        {"http:///path", "no host"},
        {"http://a..b/", "invalid host name 'a..b' (letters, digits, '-' and '_' in labels of 1 "
                         "to 63)"},
        {"http://1.2.3.999/", "invalid host name '1.2.3.999' (letters, digits, '-' and '_' in "
                              "labels of 1 to 63)"},
        {"http://x.example/", "valid"},
    };
    char why[160], big[VG_URL_MAX + 8];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vg_url_explain(cases[i].url, why, sizeof(why));
        assert_string_equal(why, cases[i].why);
    }
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vg_url_explain(big, why, sizeof(why));
    assert_string_equal(why, "longer than 2047 bytes");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),    cmocka_unit_test(test_parse_idna),
        cmocka_unit_test(test_parse_ip),       cmocka_unit_test(test_parse_ports),
        cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_format),
        cmocka_unit_test(test_resolve_rfc),    cmocka_unit_test(test_resolve_more),
        cmocka_unit_test(test_resolve_broken), cmocka_unit_test(test_explain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
