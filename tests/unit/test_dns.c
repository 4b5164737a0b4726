/* SPDX-License-Identifier: MIT */
/*
 * test_dns.c - DNS query encoder and reply decoder. Replies are assembled byte by byte with the
 * small encoder below, so that offsets for compression pointers are explicit.
 */
#include <stdint.h>
#include <string.h>

#include "proto/dns.h"
#include "vgtest.h"

/* Test-only encoder: appends wire fields to a buffer. */
struct enc {
    uint8_t b[8192];
    size_t n;
};

static void
put8(struct enc *e, unsigned v)
{
    assert_true(e->n < sizeof(e->b));
    e->b[e->n++] = (uint8_t)v;
}

static void
put16(struct enc *e, unsigned v)
{
    put8(e, v >> 8 & 0xff);
    put8(e, v & 0xff);
}

static void
put32(struct enc *e, uint32_t v)
{
    put16(e, v >> 16);
    put16(e, v & 0xffff);
}

static void
put_bytes(struct enc *e, const void *p, size_t n)
{
    assert_true(e->n + n <= sizeof(e->b));
    memcpy(e->b + e->n, p, n);
    e->n += n;
}

static void
put_header(struct enc *e, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
    e->n = 0;
    put16(e, 0x1234);
    put16(e, flags);
    put16(e, qd);
    put16(e, an);
    put16(e, ns);
    put16(e, ar);
}

/* Labels of a dotted name, without the terminating zero (so a pointer may follow). */
static void
put_labels(struct enc *e, const char *name)
{
    while (*name != '\0') {
        size_t n = strcspn(name, ".");

        put8(e, (unsigned)n);
        put_bytes(e, name, n);
        name += n;
        if (*name == '.') {
            name++;
        }
    }
}

static void
put_name(struct enc *e, const char *name)
{
    put_labels(e, name);
    put8(e, 0);
}

static void
put_ptr(struct enc *e, size_t off)
{
    put16(e, 0xc000 | (unsigned)off);
}

static void
put_question(struct enc *e, const char *name, unsigned type)
{
    put_name(e, name);
    put16(e, type);
    put16(e, VG_DNS_CLASS_IN);
}

/* The fixed part of an RR after its owner name. */
static void
put_rr_fixed(struct enc *e, unsigned type, uint32_t ttl, unsigned rdlen)
{
    put16(e, type);
    put16(e, VG_DNS_CLASS_IN);
    put32(e, ttl);
    put16(e, rdlen);
}

static const uint8_t v4[4] = {93, 184, 216, 34};
static const uint8_t v6[16] = {0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};

static struct vg_dns_msg msg; /* large: keep it off the stack */

static void
test_build_query(void **state)
{
    static const uint8_t want[] = {0xbe, 0xef, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                   0,    3,    'w',  'w',  'w', 7,   'e', 'x', 'a', 'm', 'p',
                                   'l',  'e',  3,    'c',  'o', 'm', 0,   0,   1,   0,   1};
    uint8_t out[512];
    size_t len;

    (void)state;
    assert_int_equal(
        vg_dns_build_query(0xbeef, "www.example.com", VG_DNS_TYPE_A, out, sizeof(out), &len), 0);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));

    /* A final dot changes nothing. */
    assert_int_equal(
        vg_dns_build_query(0xbeef, "www.example.com.", VG_DNS_TYPE_A, out, sizeof(out), &len), 0);
    assert_memory_equal(out, want, sizeof(want));

    /* The root name. */
    assert_int_equal(vg_dns_build_query(1, ".", VG_DNS_TYPE_AAAA, out, sizeof(out), &len), 0);
    assert_int_equal(len, 12 + 1 + 4);
    assert_int_equal(out[12], 0);

    /* A query parses back. */
    assert_int_equal(vg_dns_build_query(7, "Example.ORG", VG_DNS_TYPE_AAAA, out, sizeof(out), &len),
                     0);
    assert_int_equal(vg_dns_parse(out, len, &msg), 0);
    assert_false(msg.qr);
    assert_int_equal(msg.id, 7);
    assert_int_equal(msg.flags, 0x0100);
    assert_int_equal(msg.qdcount, 1);
    assert_string_equal(msg.qname, "example.org");
    assert_int_equal(msg.qtype, VG_DNS_TYPE_AAAA);
    assert_int_equal(msg.qclass, VG_DNS_CLASS_IN);
}

static void
test_build_query_escapes(void **state)
{
    uint8_t out[512];
    size_t len;

    (void)state;
    /* "\." is a dot inside a label, "\065" a decimal byte. */
    assert_int_equal(vg_dns_build_query(1, "a\\.b.\\065", VG_DNS_TYPE_A, out, sizeof(out), &len),
                     0);
    assert_int_equal(out[12], 3);
    assert_memory_equal(&out[13], "a.b", 3);
    assert_int_equal(out[16], 1);
    assert_int_equal(out[17], 'A');
    assert_int_equal(vg_dns_parse(out, len, &msg), 0);
    assert_string_equal(msg.qname, "a\\046b.a");

    /*
     * Found by fuzzing: 65 raw 0xff bytes make a valid 69-octet wire name, but 262 characters once
     * each byte is written \255, so the decoder refuses what the encoder accepted.
     */
    {
        char raw[80];

        memset(raw, 0xff, 67);
        raw[19] = '.';
        raw[66] = '`';
        raw[67] = '\0';
        assert_int_equal(vg_dns_build_query(1, raw, VG_DNS_TYPE_A, out, sizeof(out), &len), 0);
        assert_int_equal(len, 12 + 1 + 19 + 1 + 47 + 1 + 4);
        assert_int_equal(vg_dns_parse(out, len, &msg), VG_ETOOBIG);
    }

    assert_int_equal(vg_dns_build_query(1, "a\\", VG_DNS_TYPE_A, out, sizeof(out), &len),
                     VG_EINVAL);
    assert_int_equal(vg_dns_build_query(1, "a\\25", VG_DNS_TYPE_A, out, sizeof(out), &len),
                     VG_EINVAL);
    assert_int_equal(vg_dns_build_query(1, "a\\256", VG_DNS_TYPE_A, out, sizeof(out), &len),
                     VG_EINVAL);
}

static void
test_build_query_errors(void **state)
{
    char name[400];
    uint8_t out[512];
    size_t len;

    (void)state;
    assert_int_equal(vg_dns_build_query(1, "", 1, out, sizeof(out), &len), VG_EINVAL);
    assert_int_equal(vg_dns_build_query(1, "a..b", 1, out, sizeof(out), &len), VG_EINVAL);
    assert_int_equal(vg_dns_build_query(1, ".a", 1, out, sizeof(out), &len), VG_EINVAL);
    assert_int_equal(vg_dns_build_query(1, "a.b..", 1, out, sizeof(out), &len), VG_EINVAL);

    /* Labels: 63 bytes is the maximum, 64 is refused. */
    memset(name, 'x', 63);
    name[63] = '\0';
    assert_int_equal(vg_dns_build_query(1, name, 1, out, sizeof(out), &len), 0);
    memset(name, 'x', 64);
    name[64] = '\0';
    assert_int_equal(vg_dns_build_query(1, name, 1, out, sizeof(out), &len), VG_EINVAL);

    /* Names: 255 octets on the wire is the maximum (3 x 64 + 62 + 1), 256 is refused. */
    memset(name, 'x', sizeof(name));
    name[63] = name[127] = name[191] = '.';
    name[191 + 62] = '\0';
    assert_int_equal(vg_dns_build_query(1, name, 1, out, sizeof(out), &len), 0);
    assert_int_equal(len, 12 + 255 + 4);
    name[191 + 62] = 'x';
    name[191 + 63] = '\0';
    assert_int_equal(vg_dns_build_query(1, name, 1, out, sizeof(out), &len), VG_EINVAL);

    /* Output buffer too small. */
    assert_int_equal(vg_dns_build_query(1, "example.com", 1, out, 28, &len), VG_ETOOBIG);
    assert_int_equal(vg_dns_build_query(1, "example.com", 1, out, 29, &len), 0);
}

/* www.Example.COM CNAME cdn.example.com, cdn.example.com A and AAAA, compressed. */
static void
build_cname_reply(struct enc *e)
{
    size_t qname, cdn;

    put_header(e, 0x8180, 1, 3, 0, 0);
    qname = e->n;
    put_question(e, "www.Example.COM", VG_DNS_TYPE_A);
    put_ptr(e, qname);
    put_rr_fixed(e, VG_DNS_TYPE_CNAME, 300, 6);
    cdn = e->n;
    put_labels(e, "cdn");
    put_ptr(e, qname + 4); /* "example.com" is reused for the sake of compression */
    put_ptr(e, cdn);
    put_rr_fixed(e, VG_DNS_TYPE_A, 60, 4);
    put_bytes(e, v4, 4);
    put_ptr(e, cdn);
    put_rr_fixed(e, VG_DNS_TYPE_AAAA, 60, 16);
    put_bytes(e, v6, 16);
}

static void
test_parse_reply(void **state)
{
    struct enc e;

    (void)state;
    build_cname_reply(&e);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_int_equal(msg.id, 0x1234);
    assert_true(msg.qr);
    assert_false(msg.tc);
    assert_int_equal(msg.rcode, VG_DNS_RCODE_NOERROR);
    assert_int_equal(vg_dns_rcode_err(msg.rcode), 0);
    assert_string_equal(msg.qname, "www.example.com");
    assert_int_equal(msg.qtype, VG_DNS_TYPE_A);
    assert_int_equal(msg.ancount, 3);
    assert_int_equal(msg.n_rr, 3);

    assert_int_equal(msg.rr[0].type, VG_DNS_TYPE_CNAME);
    assert_int_equal(msg.rr[0].ttl, 300);
    assert_string_equal(msg.rr[0].name, "www.example.com");
    assert_string_equal(msg.rr[0].u.cname, "cdn.example.com");

    assert_int_equal(msg.rr[1].type, VG_DNS_TYPE_A);
    assert_int_equal(msg.rr[1].cls, VG_DNS_CLASS_IN);
    assert_string_equal(msg.rr[1].name, "cdn.example.com");
    assert_memory_equal(msg.rr[1].u.a, v4, 4);

    assert_int_equal(msg.rr[2].type, VG_DNS_TYPE_AAAA);
    assert_memory_equal(msg.rr[2].u.aaaa, v6, 16);
}

static void
test_parse_nxdomain(void **state)
{
    struct enc e;
    size_t q;

    (void)state;
    /* NXDOMAIN with an SOA in the authority section: names inside its RDATA are not decoded. */
    put_header(&e, 0x8183, 1, 0, 1, 0);
    q = e.n;
    put_question(&e, "nope.example", VG_DNS_TYPE_A);
    put_ptr(&e, q + 5);
    put_rr_fixed(&e, 6, 900, 2 + 2 + 20);
    put_ptr(&e, q);
    put_ptr(&e, q);
    for (int i = 0; i < 5; i++) {
        put32(&e, 1);
    }
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_int_equal(msg.rcode, VG_DNS_RCODE_NXDOMAIN);
    assert_int_equal(msg.n_rr, 0);
    assert_int_equal(msg.nscount, 1);
    assert_int_equal(vg_dns_rcode_err(msg.rcode), VG_EDNS_NXDOMAIN);
}

static void
test_parse_misc(void **state)
{
    struct enc e;

    (void)state;
    /* No question at all: qname is "". TC is reported. */
    put_header(&e, 0x8380, 0, 0, 0, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_true(msg.tc);
    assert_string_equal(msg.qname, "");

    /* The root name is "". Two questions: the first one is kept. */
    put_header(&e, 0x8100, 2, 1, 0, 0);
    put_question(&e, "", 2);
    put_question(&e, "second", 1);
    put8(&e, 0);
    put_rr_fixed(&e, 2, 1, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_string_equal(msg.qname, "");
    assert_int_equal(msg.qtype, 2);
    assert_string_equal(msg.rr[0].name, "");

    /* A class other than IN: type 1 has another layout there and is only counted. */
    put_header(&e, 0x8100, 0, 1, 0, 0);
    put8(&e, 0);
    put16(&e, VG_DNS_TYPE_A);
    put16(&e, 3); /* CH */
    put32(&e, 0);
    put16(&e, 5);
    put_bytes(&e, "abcde", 5);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_int_equal(msg.n_rr, 1);
    assert_int_equal(msg.rr[0].cls, 3);

    /* An OPT record in the additional section is walked. */
    put_header(&e, 0x8100, 0, 0, 0, 1);
    put8(&e, 0);
    put16(&e, 41);
    put16(&e, 1232);
    put32(&e, 0);
    put16(&e, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
}

static void
test_parse_escapes(void **state)
{
    static const uint8_t label[] = {'A', '.', 0, ' ', 0xff, '\\', '~'};
    struct enc e;

    (void)state;
    put_header(&e, 0x8100, 1, 0, 0, 0);
    put8(&e, sizeof(label));
    put_bytes(&e, label, sizeof(label));
    put_labels(&e, "Com");
    put8(&e, 0);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_string_equal(msg.qname, "a\\046\\000\\032\\255\\092~.com");

    /* The escaped form parses back into the same bytes. */
    {
        uint8_t out[512];
        size_t len;

        assert_int_equal(vg_dns_build_query(1, msg.qname, 1, out, sizeof(out), &len), 0);
        assert_int_equal(out[12], sizeof(label));
        assert_memory_equal(&out[13], "a.\0 \xff\\~", sizeof(label));
    }

    /* 4 labels of 50 non-printable bytes: 204 octets on the wire, 803 once escaped. */
    put_header(&e, 0x8100, 1, 0, 0, 0);
    for (int i = 0; i < 4; i++) {
        put8(&e, 50);
        for (int j = 0; j < 50; j++) {
            put8(&e, 1);
        }
    }
    put8(&e, 0);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_ETOOBIG);
}

static void
test_parse_truncated(void **state)
{
    struct enc e;

    (void)state;
    build_cname_reply(&e);
    assert_int_equal(vg_dns_parse(e.b, 11, &msg), VG_ETRUNC);
    assert_int_equal(vg_dns_parse(e.b, 0, &msg), VG_ETRUNC);
    /* Every proper prefix past the header is a truncated section. */
    for (size_t n = 12; n < e.n; n++) {
        assert_int_equal(vg_dns_parse(e.b, n, &msg), VG_ETRUNC);
    }

    /* Counts promise more records than there are. */
    put_header(&e, 0x8180, 1, 0, 0, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_ETRUNC);

    /* RDLENGTH beyond the end of the message. */
    put_header(&e, 0x8180, 0, 1, 0, 0);
    put8(&e, 0);
    put_rr_fixed(&e, 16, 0, 10);
    put_bytes(&e, "abc", 3);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_ETRUNC);
}

static void
test_parse_pointers(void **state)
{
    struct enc e;
    size_t at;

    (void)state;
    /* A pointer to itself. */
    put_header(&e, 0x8180, 1, 0, 0, 0);
    put_ptr(&e, 12);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* A two-name loop: the question points forward to the answer owner, which points back. */
    put_header(&e, 0x8180, 1, 1, 0, 0);
    put_labels(&e, "a");
    put_ptr(&e, 12 + 2 + 2 + 4);
    put16(&e, 1);
    put16(&e, 1);
    at = e.n;
    assert_int_equal(at, 20);
    put_ptr(&e, 12);
    put_rr_fixed(&e, 1, 0, 4);
    put_bytes(&e, v4, 4);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* A label followed by a pointer back into the same name. */
    put_header(&e, 0x8180, 1, 0, 0, 0);
    put_labels(&e, "a");
    put_ptr(&e, 12);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* A forward pointer, even to a valid name. */
    put_header(&e, 0x8180, 1, 0, 0, 0);
    put_ptr(&e, 18);
    put16(&e, 1);
    put16(&e, 1);
    put_name(&e, "x");
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* A pointer into the header. */
    put_header(&e, 0x8180, 1, 0, 0, 0);
    put_ptr(&e, 4);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* Label types 01 and 10 are refused. */
    for (unsigned t = 0x40; t <= 0x80; t += 0x40) {
        put_header(&e, 0x8180, 1, 0, 0, 0);
        put8(&e, t | 1);
        put8(&e, 'a');
        put8(&e, 0);
        put16(&e, 1);
        put16(&e, 1);
        assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);
    }
}

/*
 * An answer of an unknown type whose RDATA holds a chain of pointers, each to the one before,
 * and a second answer whose owner enters the chain at its end: jumps = links + 1.
 */
static int
parse_chain(unsigned links)
{
    struct enc e;
    size_t rdata;

    put_header(&e, 0x8180, 0, 2, 0, 0);
    put8(&e, 0);
    put_rr_fixed(&e, 99, 0, 1 + 2 * links);
    rdata = e.n;
    put8(&e, 0);
    for (unsigned i = 0; i < links; i++) {
        put_ptr(&e, i == 0 ? rdata : rdata + 1 + 2 * (i - 1));
    }
    put_ptr(&e, links == 0 ? rdata : rdata + 1 + 2 * (links - 1));
    put_rr_fixed(&e, 99, 0, 0);
    return vg_dns_parse(e.b, e.n, &msg);
}

static void
test_parse_jumps(void **state)
{
    (void)state;
    assert_int_equal(parse_chain(0), 0);
    assert_int_equal(parse_chain(VG_DNS_MAX_JUMPS - 1), 0);
    assert_string_equal(msg.rr[1].name, "");
    assert_int_equal(parse_chain(VG_DNS_MAX_JUMPS), VG_EPROTO);
    assert_int_equal(parse_chain(VG_DNS_MAX_JUMPS + 10), VG_EPROTO);
}

static void
put_xlabel(struct enc *e, unsigned n)
{
    put8(e, n);
    for (unsigned i = 0; i < n; i++) {
        put8(e, 'x');
    }
}

static void
test_parse_long_names(void **state)
{
    struct enc e;
    size_t first;

    (void)state;
    /* 4 labels of 63: 257 octets on the wire. */
    put_header(&e, 0x8180, 1, 0, 0, 0);
    for (int i = 0; i < 4; i++) {
        put_xlabel(&e, 63);
    }
    put8(&e, 0);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_ETOOBIG);

    /* 3 x 64 + 62 + 1 = 255 octets is the longest valid name: 253 characters. */
    put_header(&e, 0x8180, 1, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        put_xlabel(&e, 63);
    }
    put_xlabel(&e, 61);
    put8(&e, 0);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_int_equal(strlen(msg.qname), 253);

    /* Too long only once the pointer is followed: 2 x 64 + 2 x 64 + 1 octets. */
    put_header(&e, 0x8180, 2, 0, 0, 0);
    first = e.n;
    put_xlabel(&e, 63);
    put_xlabel(&e, 63);
    put8(&e, 0);
    put16(&e, 1);
    put16(&e, 1);
    put_xlabel(&e, 63);
    put_xlabel(&e, 63);
    put_ptr(&e, first);
    put16(&e, 1);
    put16(&e, 1);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_ETOOBIG);
}

static void
test_parse_rdata(void **state)
{
    struct enc e;

    (void)state;
    /* A with 5 bytes. */
    put_header(&e, 0x8180, 0, 1, 0, 0);
    put8(&e, 0);
    put_rr_fixed(&e, VG_DNS_TYPE_A, 0, 5);
    put_bytes(&e, "\1\2\3\4\5", 5);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* AAAA with 4 bytes. */
    put_header(&e, 0x8180, 0, 1, 0, 0);
    put8(&e, 0);
    put_rr_fixed(&e, VG_DNS_TYPE_AAAA, 0, 4);
    put_bytes(&e, v4, 4);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* CNAME with a byte after the name. */
    put_header(&e, 0x8180, 0, 1, 0, 0);
    put8(&e, 0);
    put_rr_fixed(&e, VG_DNS_TYPE_CNAME, 0, 4);
    put_name(&e, "a");
    put8(&e, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* CNAME whose name runs past its RDATA into the next record. */
    put_header(&e, 0x8180, 0, 2, 0, 0);
    put8(&e, 0);
    put_rr_fixed(&e, VG_DNS_TYPE_CNAME, 0, 2);
    put_name(&e, "a");
    put_rr_fixed(&e, 99, 0, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* Empty CNAME RDATA. */
    put_header(&e, 0x8180, 0, 1, 0, 0);
    put8(&e, 0);
    put_rr_fixed(&e, VG_DNS_TYPE_CNAME, 0, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);

    /* A bad A record in the additional section is found too. */
    put_header(&e, 0x8180, 0, 0, 0, 1);
    put8(&e, 0);
    put_rr_fixed(&e, VG_DNS_TYPE_A, 0, 3);
    put_bytes(&e, v4, 3);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);
}

static void
test_parse_trailing(void **state)
{
    struct enc e;

    (void)state;
    build_cname_reply(&e);
    put8(&e, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);
}

static void
test_parse_many_answers(void **state)
{
    const unsigned n = VG_DNS_MAX_RR + 6;
    struct enc e;
    size_t q;

    (void)state;
    put_header(&e, 0x8180, 1, n, 0, 0);
    q = e.n;
    put_question(&e, "many.example", VG_DNS_TYPE_A);
    for (unsigned i = 0; i < n; i++) {
        put_ptr(&e, q);
        put_rr_fixed(&e, VG_DNS_TYPE_A, i, 4);
        put32(&e, 0x0a000000 | i);
    }
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), 0);
    assert_int_equal(msg.ancount, n);
    assert_int_equal(msg.n_rr, VG_DNS_MAX_RR);
    assert_int_equal(msg.rr[VG_DNS_MAX_RR - 1].ttl, VG_DNS_MAX_RR - 1);
    assert_int_equal(msg.rr[VG_DNS_MAX_RR - 1].u.a[3], VG_DNS_MAX_RR - 1);

    /* Records past the cap are still validated. */
    e.b[e.n - 5] = 5;
    put8(&e, 0);
    assert_int_equal(vg_dns_parse(e.b, e.n, &msg), VG_EPROTO);
}

static void
test_name_eq(void **state)
{
    (void)state;
    assert_true(vg_dns_name_eq("Example.COM.", "example.com"));
    assert_true(vg_dns_name_eq("example.com", "EXAMPLE.com."));
    assert_true(vg_dns_name_eq("", "."));
    assert_false(vg_dns_name_eq("example.com", "example.org"));
    assert_false(vg_dns_name_eq("example.com", "www.example.com"));
    assert_false(vg_dns_name_eq("a..", "a"));
    assert_false(vg_dns_name_eq("a\\.", "a"));
    assert_true(vg_dns_name_eq("a\\\\.", "A\\\\"));
}

static void
test_rcode_err(void **state)
{
    (void)state;
    assert_int_equal(vg_dns_rcode_err(VG_DNS_RCODE_NOERROR), 0);
    assert_int_equal(vg_dns_rcode_err(VG_DNS_RCODE_NXDOMAIN), VG_EDNS_NXDOMAIN);
    assert_int_equal(vg_dns_rcode_err(VG_DNS_RCODE_SERVFAIL), VG_EDNS_SERVFAIL);
    assert_int_equal(vg_dns_rcode_err(VG_DNS_RCODE_REFUSED), VG_EDNS_REFUSED);
    assert_int_equal(vg_dns_rcode_err(VG_DNS_RCODE_FORMERR), VG_EDNS_MISBEHAVING);
    assert_int_equal(vg_dns_rcode_err(VG_DNS_RCODE_NOTIMP), VG_EDNS_MISBEHAVING);
    assert_int_equal(vg_dns_rcode_err(15), VG_EDNS_MISBEHAVING);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_query),
        cmocka_unit_test(test_build_query_escapes),
        cmocka_unit_test(test_build_query_errors),
        cmocka_unit_test(test_parse_reply),
        cmocka_unit_test(test_parse_nxdomain),
        cmocka_unit_test(test_parse_misc),
        cmocka_unit_test(test_parse_escapes),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_pointers),
        cmocka_unit_test(test_parse_jumps),
        cmocka_unit_test(test_parse_long_names),
        cmocka_unit_test(test_parse_rdata),
        cmocka_unit_test(test_parse_trailing),
        cmocka_unit_test(test_parse_many_answers),
        cmocka_unit_test(test_name_eq),
        cmocka_unit_test(test_rcode_err),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
