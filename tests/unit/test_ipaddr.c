/* SPDX-License-Identifier: MIT */
/* test_ipaddr.c - bogon classification, both edges of every prefix; finding addresses in text. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/ipaddr.h"
#include "vgtest.h"

struct ip_case {
    const char *s;
    int cls;
};

static const struct ip_case cases[] = {
    {"0.0.0.0", VG_IP_UNSPEC},
    {"0.255.255.255", VG_IP_UNSPEC},
    {"1.0.0.0", VG_IP_PUBLIC},
    {"8.8.8.8", VG_IP_PUBLIC},
    {"9.255.255.255", VG_IP_PUBLIC},
    {"10.0.0.0", VG_IP_PRIVATE},
    {"10.255.255.255", VG_IP_PRIVATE},
    {"11.0.0.0", VG_IP_PUBLIC},
    {"100.63.255.255", VG_IP_PUBLIC},
    {"100.64.0.0", VG_IP_PRIVATE},
    {"100.127.255.255", VG_IP_PRIVATE},
    {"100.128.0.0", VG_IP_PUBLIC},
    {"127.0.0.1", VG_IP_LOOPBACK},
    {"127.255.255.254", VG_IP_LOOPBACK},
    {"128.0.0.0", VG_IP_PUBLIC},
    {"169.253.255.255", VG_IP_PUBLIC},
    {"169.254.0.0", VG_IP_LINKLOCAL},
    {"169.254.169.254", VG_IP_LINKLOCAL},
    {"169.255.0.0", VG_IP_PUBLIC},
    {"172.15.255.255", VG_IP_PUBLIC},
    {"172.16.0.0", VG_IP_PRIVATE},
    {"172.31.255.255", VG_IP_PRIVATE},
    {"172.32.0.0", VG_IP_PUBLIC},
    {"192.0.0.0", VG_IP_RESERVED},
    {"192.0.0.255", VG_IP_RESERVED},
    {"192.0.1.0", VG_IP_PUBLIC},
    {"192.0.2.0", VG_IP_DOC},
    {"192.0.2.255", VG_IP_DOC},
    {"192.0.3.0", VG_IP_PUBLIC},
    {"192.167.255.255", VG_IP_PUBLIC},
    {"192.168.0.0", VG_IP_PRIVATE},
    {"192.168.255.255", VG_IP_PRIVATE},
    {"192.169.0.0", VG_IP_PUBLIC},
    {"198.17.255.255", VG_IP_PUBLIC},
    {"198.18.0.0", VG_IP_RESERVED},
    {"198.19.255.255", VG_IP_RESERVED},
    {"198.20.0.0", VG_IP_PUBLIC},
    {"198.51.100.1", VG_IP_DOC},
    {"198.51.101.0", VG_IP_PUBLIC},
    {"203.0.113.255", VG_IP_DOC},
    {"203.0.112.255", VG_IP_PUBLIC},
    {"223.255.255.255", VG_IP_PUBLIC},
    {"224.0.0.0", VG_IP_MULTICAST},
    {"239.255.255.255", VG_IP_MULTICAST},
    {"240.0.0.0", VG_IP_RESERVED},
    {"255.255.255.254", VG_IP_RESERVED},
    {"255.255.255.255", VG_IP_RESERVED},

    {"::", VG_IP_UNSPEC},
    {"::1", VG_IP_LOOPBACK},
    /* ::/96, IPv4-compatible (deprecated): a way to the embedded IPv4 address */
    {"::2", VG_IP_RESERVED},
    {"::127.0.0.1", VG_IP_RESERVED},
    {"::7f00:1", VG_IP_RESERVED},
    {"::ffff:ffff", VG_IP_RESERVED},
    {"::1:0:0", VG_IP_PUBLIC},
    /* ::ffff:0:0/96, IPv4-mapped, whichever way it is written */
    {"::ffff:0:0", VG_IP_RESERVED},
    {"::ffff:8.8.8.8", VG_IP_RESERVED},
    {"::ffff:127.0.0.1", VG_IP_RESERVED},
    {"::ffff:7f00:1", VG_IP_RESERVED},
    {"0:0:0:0:0:ffff:a00:1", VG_IP_RESERVED},
    {"::ffff:ffff:ffff", VG_IP_RESERVED},
    {"::fffe:0:0", VG_IP_PUBLIC},
    {"::1:0:0:0", VG_IP_PUBLIC},
    /* ::ffff:0:0:0/96, IPv4-translated (RFC 2765 SIIT) */
    {"::ffff:0:0:0", VG_IP_RESERVED},
    {"::ffff:0:7f00:1", VG_IP_RESERVED},
    {"::ffff:0:10.0.0.1", VG_IP_RESERVED},
    {"::ffff:0:ffff:ffff", VG_IP_RESERVED},
    {"::ffff:1:0:0", VG_IP_PUBLIC},
    {"::fffe:ffff:ffff:ffff", VG_IP_PUBLIC},
    /* 64:ff9b::/96 and 64:ff9b:1::/48 (NAT64) */
    {"64:ff9b::1.2.3.4", VG_IP_RESERVED},
    {"64:ff9b::10.0.0.1", VG_IP_RESERVED},
    {"64:ff9b:0:0:0:1::", VG_IP_PUBLIC},
    {"64:ff9b:0:ffff::", VG_IP_PUBLIC},
    {"64:ff9b:1::", VG_IP_RESERVED},
    {"64:ff9b:1::a00:1", VG_IP_RESERVED},
    {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", VG_IP_RESERVED},
    {"64:ff9b:2::", VG_IP_PUBLIC},
    /* 2001::/32 (Teredo) and 2002::/16 (6to4) */
    {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", VG_IP_PUBLIC},
    {"2001::", VG_IP_RESERVED},
    {"2001:0:7f00:1::", VG_IP_RESERVED},
    {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", VG_IP_RESERVED},
    {"2001:1::", VG_IP_PUBLIC},
    {"2001:1ff::", VG_IP_PUBLIC},
    {"2002::", VG_IP_RESERVED},
    {"2002:7f00:1::", VG_IP_RESERVED},
    {"2002:a00:1::1", VG_IP_RESERVED},
    {"2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", VG_IP_RESERVED},
    {"2003::", VG_IP_PUBLIC},
    {"100::", VG_IP_RESERVED},
    {"100::ffff:ffff:ffff:ffff", VG_IP_RESERVED},
    {"100:0:0:1::", VG_IP_PUBLIC},
    {"2001:db8::1", VG_IP_DOC},
    {"2001:db8:ffff::", VG_IP_DOC},
    {"2001:db9::", VG_IP_PUBLIC},
    {"2001:4860:4860::8888", VG_IP_PUBLIC},
    {"2606:4700:4700::1111", VG_IP_PUBLIC},
    {"fbff:ffff::", VG_IP_PUBLIC},
    {"fc00::", VG_IP_PRIVATE},
    {"fdff:ffff::1", VG_IP_PRIVATE},
    {"fe00::", VG_IP_PUBLIC},
    {"fe80::1", VG_IP_LINKLOCAL},
    {"febf:ffff::", VG_IP_LINKLOCAL},
    {"fec0::", VG_IP_PUBLIC},
    {"ff00::", VG_IP_MULTICAST},
    {"ff02::1", VG_IP_MULTICAST},
    {"FF0E::1", VG_IP_MULTICAST},
};

static void
test_classify(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = vg_ip_classify(cases[i].s);

        if (got != cases[i].cls) {
            fail_msg("%s: got %d, want %d", cases[i].s, got, cases[i].cls);
        }
        assert_int_equal(vg_ip_is_bogon(cases[i].s), cases[i].cls != VG_IP_PUBLIC);
    }
}

static void
test_not_an_address(void **state)
{
    static const char *bad[] = {
        "",         "example.com", "1.2.3", "1.2.3.4.5",    "256.1.1.1",  "01.2.3.4x", " 1.2.3.4",
        "1.2.3.4 ", "::1::",       "[::1]", "fe80::1%eth0", "0x7f.0.0.1", "12345::",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vg_ip_classify(bad[i]), -1);
        assert_false(vg_ip_is_bogon(bad[i]));
    }
}

static void
test_raw(void **state)
{
    static const uint8_t a4[4] = {192, 168, 1, 1};
    static const uint8_t a6[16] = {0xfe, 0x80};

    (void)state;
    assert_int_equal(vg_ip_classify_raw(4, a4), VG_IP_PRIVATE);
    assert_int_equal(vg_ip_classify_raw(6, a6), VG_IP_LINKLOCAL);
    assert_int_equal(vg_ip_classify_raw(5, a4), VG_IP_RESERVED);
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(vg_ip_class_name(VG_IP_PUBLIC), "public");
    assert_string_equal(vg_ip_class_name(VG_IP_LOOPBACK), "loopback");
    assert_string_equal(vg_ip_class_name(VG_IP_PRIVATE), "private");
    assert_string_equal(vg_ip_class_name(VG_IP_LINKLOCAL), "linklocal");
    assert_string_equal(vg_ip_class_name(VG_IP_UNSPEC), "unspecified");
    assert_string_equal(vg_ip_class_name(VG_IP_MULTICAST), "multicast");
    assert_string_equal(vg_ip_class_name(VG_IP_RESERVED), "reserved");
    assert_string_equal(vg_ip_class_name(VG_IP_DOC), "documentation");
    assert_string_equal(vg_ip_class_name((enum vg_ip_class)99), "unknown");
}

/* Endpoints and equality (moved from test_compare.c with the helpers). */
static void
test_endpoint_ip(void **state)
{
    char ip[64];

    (void)state;
    assert_true(vg_ip_from_endpoint("93.184.216.34:443", ip, sizeof(ip)));
    assert_string_equal(ip, "93.184.216.34");
    assert_true(vg_ip_from_endpoint("[2606:2800:220:1::]:80", ip, sizeof(ip)));
    assert_string_equal(ip, "2606:2800:220:1::");
    assert_false(vg_ip_from_endpoint("93.184.216.34", ip, sizeof(ip)));
    assert_false(vg_ip_from_endpoint("[::1", ip, sizeof(ip)));
    assert_false(vg_ip_from_endpoint(":80", ip, sizeof(ip)));
    assert_false(vg_ip_from_endpoint("[]:80", ip, sizeof(ip)));
    assert_false(vg_ip_from_endpoint("93.184.216.34:443", ip, 5));
    assert_false(vg_ip_from_endpoint("93.184.216.34:443", ip, 0));
    assert_false(vg_ip_from_endpoint(NULL, ip, sizeof(ip)));
    /* exactly fitting: 13 bytes and the NUL */
    assert_true(vg_ip_from_endpoint("93.184.216.34:443", ip, 14));
    assert_string_equal(ip, "93.184.216.34");
}

static void
test_equal(void **state)
{
    (void)state;
    assert_true(vg_ip_equal("2606:2800:220:1:0:0:0:1", "2606:2800:220:1::1"));
    assert_true(vg_ip_equal("::ffff:10.0.0.1", "10.0.0.1"));
    assert_true(vg_ip_equal("10.0.0.1", "::ffff:10.0.0.1"));
    assert_true(vg_ip_equal("10.0.0.1", "10.0.0.1"));
    assert_false(vg_ip_equal("10.0.0.1", "10.0.0.2"));
    assert_false(vg_ip_equal("::1", "127.0.0.1"));
    assert_false(vg_ip_equal("not-an-ip", "10.0.0.2"));
    assert_true(vg_ip_equal("not-an-ip", "not-an-ip"));
}

/* The helper's table before it became this one (server/threquest.c), every case kept: bogon,
 * and bogon with --lab (documentation ranges public). */
static void
test_bogon_lab_cases(void **state)
{
    static const struct {
        const char *ip;
        bool bogon;
        bool bogon_lab;
    } old[] = {
        {"0.0.0.0", true, true},
        {"1.1.1.1", false, false},
        {"9.255.255.255", false, false},
        {"10.0.0.0", true, true},
        {"100.63.255.255", false, false},
        {"100.64.0.1", true, true},
        {"127.0.0.1", true, true},
        {"169.254.169.254", true, true},
        {"172.31.255.255", true, true},
        {"172.32.0.0", false, false},
        {"192.0.0.8", true, true},
        {"192.0.2.1", true, false},
        {"192.168.1.1", true, true},
        {"198.18.0.1", true, true},
        {"198.51.100.7", true, false},
        {"203.0.113.80", true, false},
        {"203.0.114.0", false, false},
        {"224.0.0.1", true, true},
        {"255.255.255.255", true, true},
        {"::", true, true},
        {"::1", true, true},
        {"::ffff:8.8.8.8", true, true},
        {"64:ff9b::808:808", true, true},
        {"100::1", true, true},
        {"2001:db8::1", true, false},
        {"2001:4860:4860::8888", false, false},
        {"fd00::1", true, true},
        {"fe80::1", true, true},
        {"ff02::1", true, true},
        {"example.com", false, false},
        {"", false, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
        assert_int_equal(vg_ip_is_bogon_lab(old[i].ip, false), old[i].bogon);
        assert_int_equal(vg_ip_is_bogon_lab(old[i].ip, true), old[i].bogon_lab);
    }
}

/* Every range of the table, with and without the lab's exception: the helper refuses exactly
 * these (docs/helper.md, "not an open proxy"). */
static void
test_bogon_lab(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool bogon = cases[i].cls != VG_IP_PUBLIC;

        if (vg_ip_is_bogon_lab(cases[i].s, false) != bogon ||
            vg_ip_is_bogon_lab(cases[i].s, true) != (bogon && cases[i].cls != VG_IP_DOC)) {
            fail_msg("%s: wrong bogon answer", cases[i].s);
        }
    }
    assert_false(vg_ip_is_bogon_lab("example.com", false));
    assert_false(vg_ip_is_bogon_lab("", true));
}

/* Go's net.SplitHostPort, as the helper reads tcp_connect. */
static void
test_split_hostport(void **state)
{
    static const struct {
        const char *s;
        const char *host; /* NULL: refused */
        unsigned port;
    } hp[] = {
        {"93.184.216.34:443", "93.184.216.34", 443},
        {"[2001:db8::1]:80", "2001:db8::1", 80},
        {"name.example:0", "name.example", 0},
        {":65535", "", 65535},
        {"[]:1", "", 1},
        {"1.2.3.4", NULL, 0},
        {"1.2.3.4:", NULL, 0},
        {"1.2.3.4:65536", NULL, 0},
        {"1.2.3.4:8x", NULL, 0},
        {"2001:db8::1:80", NULL, 0},
        {"[2001:db8::1]", NULL, 0},
        {"[2001:db8::1]x80", NULL, 0},
        {"[2001:db8::1:80", NULL, 0},
        {"", NULL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++) {
        const char *host = NULL;
        size_t hlen = 0;
        uint16_t port = 0;
        int rc = vg_ip_split_hostport(hp[i].s, strlen(hp[i].s), &host, &hlen, &port);

        if (hp[i].host == NULL) {
            assert_int_not_equal(rc, 0);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(hlen, strlen(hp[i].host));
        assert_memory_equal(host, hp[i].host, hlen);
        assert_int_equal(port, hp[i].port);
    }
}

static void
test_canon(void **state)
{
    char out[VG_IP_TEXT_MAX] = "untouched";

    (void)state;
    assert_int_equal(vg_ip_canon("93.184.216.34:443", 13, out), 4);
    assert_string_equal(out, "93.184.216.34");
    assert_int_equal(vg_ip_canon("2001:0DB8:0::1", 14, out), 6);
    assert_string_equal(out, "2001:db8::1");
    assert_int_equal(vg_ip_canon("::ffff:1.2.3.4", 14, out), 6);
    assert_string_equal(out, "::ffff:1.2.3.4");
    memcpy(out, "untouched", 10);
    assert_int_equal(vg_ip_canon("name.example", 12, out), 0);
    assert_int_equal(vg_ip_canon("fe80::1%eth0", 12, out), 0);
    assert_int_equal(vg_ip_canon("1.2.3.4", 0, out), 0);
    assert_int_equal(vg_ip_canon("0000:0000:0000:0000:0000:ffff:192.168.100.200", 46, out), 0);
    assert_string_equal(out, "untouched");
}

/* text with every address of the set found in it marked <like this>. */
static void
marked(const struct vg_ip_set *set, const char *text, char *out, size_t cap)
{
    size_t len = strlen(text), at = 0, off, n, o = 0;
    struct vg_ip_scan sc;

    vg_ip_scan_init(&sc, text, len);
    while (vg_ip_scan_next(&sc, set, &off, &n)) {
        assert_true(off >= at && n > 0 && off + n <= len);
        o += (size_t)snprintf(out + o, cap - o, "%.*s<%.*s>", (int)(off - at), text + at, (int)n,
                              text + off);
        assert_true(o < cap);
        at = off + n;
    }
    snprintf(out + o, cap - o, "%s", text + at);
}

static void
test_set(void **state)
{
    struct vg_ip_set set = {0};
    uint8_t a[16] = {0};

    (void)state;
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.7", 9), 0);
    assert_int_equal(vg_ip_set_add(&set, "::ffff:192.0.2.7", 16), 0); /* the same address */
    assert_int_equal(set.n, 1);
    assert_int_equal(vg_ip_set_add(&set, "2001:DB8:0:0::77", 16), 0);
    assert_int_equal(vg_ip_set_add(&set, "2001:db8::77", 12), 0);
    assert_int_equal(set.n, 2);
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.7:443", 13), VG_EINVAL);
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.7", 0), VG_EINVAL);
    assert_int_equal(vg_ip_set_add(&set, "example.org", 11), VG_EINVAL);
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.8\0x", 11), VG_EINVAL); /* all len bytes */
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.77", 9), 0); /* len bytes only: 192.0.2.7 */
    assert_int_equal(set.n, 2);
    a[10] = a[11] = 0xff;
    a[12] = 192;
    a[14] = 2;
    a[15] = 7;
    assert_true(vg_ip_set_has(&set, a));
    a[15] = 8;
    assert_false(vg_ip_set_has(&set, a));
    /* Full. */
    for (unsigned i = 2; i < VG_IP_SET_MAX; i++) {
        char ip[32];

        snprintf(ip, sizeof(ip), "198.51.100.%u", i);
        assert_int_equal(vg_ip_set_add(&set, ip, strlen(ip)), 0);
    }
    assert_int_equal(set.n, VG_IP_SET_MAX);
    assert_int_equal(vg_ip_set_add(&set, "203.0.113.1", 11), VG_ETOOBIG);
    assert_int_equal(vg_ip_set_add(&set, "198.51.100.2", 12), 0); /* already there */
}

/* Every textual form of the addresses, as whole addresses: never a part of a longer one. */
static void
test_find(void **state)
{
    static const struct {
        const char *text, *want;
    } finds[] = {
        /* IPv4: whole dotted quads only */
        {"your IP is 192.0.2.7", "your IP is <192.0.2.7>"},
        {"your IP is 192.0.2.7.", "your IP is <192.0.2.7>."},
        {"192.0.2.7:443", "<192.0.2.7>:443"},
        {"http://192.0.2.7:8080/x?ip=192.0.2.7&y", "http://<192.0.2.7>:8080/x?ip=<192.0.2.7>&y"},
        {"192.0.2.71", "192.0.2.71"},
        {"192.0.2.70 192.0.2.7", "192.0.2.70 <192.0.2.7>"},
        {"10.192.0.2.7", "10.192.0.2.7"},
        {"192.0.2.7.5", "192.0.2.7.5"},
        {"1192.0.2.7", "1192.0.2.7"},
        {"192.000.002.007", "192.000.002.007"},
        {"192.0.2.7192.0.2.7", "192.0.2.7192.0.2.7"},
        {"ip=192.0.2.7;", "ip=<192.0.2.7>;"},
        {"x192.0.2.7y", "x<192.0.2.7>y"},
        {"a192.0.2.7f", "a<192.0.2.7>f"},
        {"...192.0.2.7...", "...<192.0.2.7>..."},
        {"[192.0.2.7]", "[<192.0.2.7>]"},
        /* IPv4-mapped IPv6, and the IPv4 inside an IPv6 text */
        {"::ffff:192.0.2.7", "<::ffff:192.0.2.7>"},
        {"::FFFF:c000:207", "<::FFFF:c000:207>"},
        {"[::ffff:192.0.2.7]:443", "[<::ffff:192.0.2.7>]:443"},
        {"::ffff:192.0.2.7:443", "::ffff:<192.0.2.7>:443"},
        {"64:ff9b::192.0.2.7", "64:ff9b::<192.0.2.7>"},
        {"::ffff:192.0.2.71", "::ffff:192.0.2.71"},
        /* IPv6 in every spelling */
        {"2001:db8::77", "<2001:db8::77>"},
        {"2001:DB8:0:0::77", "<2001:DB8:0:0::77>"},
        {"2001:0db8:0000:0000:0000:0000:0000:0077", "<2001:0db8:0000:0000:0000:0000:0000:0077>"},
        {"[2001:db8::77]:443", "[<2001:db8::77>]:443"},
        {"from 2001:db8::77.", "from <2001:db8::77>."},
        {"IP:2001:db8::77: seen", "IP:<2001:db8::77>: seen"},
        {"2001:db8::77:1", "2001:db8::77:1"},
        {"2001:db8::770", "2001:db8::770"},
        {"12001:db8::77", "12001:db8::77"},
        {"a2001:db8::77", "a2001:db8::77"},
        {"2001:db8::77/64", "<2001:db8::77>/64"},
        {"fe80::1%eth0 2001:db8::77%eth0", "fe80::1%eth0 <2001:db8::77>%eth0"},
        /* nothing like an address */
        {"", ""},
        {"no address here: a.b.c.d, 12:30, ::, 1.2.3",
         "no address here: a.b.c.d, 12:30, ::, 1.2.3"},
    };
    struct vg_ip_set set = {0};
    char out[512];

    (void)state;
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.7", 9), 0);
    assert_int_equal(vg_ip_set_add(&set, "2001:db8::77", 12), 0);
    for (size_t i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
        marked(&set, finds[i].text, out, sizeof(out));
        if (strcmp(out, finds[i].want) != 0) {
            fail_msg("'%s': got '%s', want '%s'", finds[i].text, out, finds[i].want);
        }
    }
    /* Bytes, not C strings: a NUL is a delimiter like any other. */
    {
        static const char nul[] = "a\0"
                                  "192.0.2.7\0b";
        size_t off, n;

        assert_true(vg_ip_set_find(&set, nul, sizeof(nul) - 1, 0, &off, &n));
        assert_int_equal(off, 2);
        assert_int_equal(n, 9);
        /* A search that starts inside a text reads it from there. */
        assert_false(vg_ip_set_find(&set, "192.0.2.7", 9, 1, &off, &n));
        assert_false(vg_ip_set_find(&set, "192.0.2.7", 8, 0, &off, &n));
    }
    /* An empty set finds nothing. */
    memset(&set, 0, sizeof(set));
    assert_false(vg_ip_set_find(&set, "192.0.2.7", 9, 0, &(size_t){0}, &(size_t){0}));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_not_an_address),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_endpoint_ip),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_bogon_lab_cases),
        cmocka_unit_test(test_bogon_lab),
        cmocka_unit_test(test_split_hostport),
        cmocka_unit_test(test_canon),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_find),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
