/* SPDX-License-Identifier: MIT */
/* test_http1.c - HTTP/1.x response head, framing and chunked decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above first. */
#include <cmocka.h>

#include "proto/http1.h"
#include "util/limits.h"

#define S(lit) ((const uint8_t *)(lit)), (sizeof(lit) - 1)

static struct vg_http_head head;

static int
parse_str(const char *s)
{
    return vg_http_parse_head((const uint8_t *)s, strlen(s), &head);
}

static void
assert_slice(const char *base, struct vg_http_slice sl, const char *want)
{
    assert_int_equal(sl.len, strlen(want));
    assert_memory_equal(base + sl.off, want, sl.len);
}

/* Build "HTTP/1.1 200 OK\r\n" + n "X-N: v\r\n" fields + "\r\n" into a fresh buffer. */
static char *
many_fields(size_t n)
{
    size_t cap = 64 + n * 32, off = 0;
    char *b = malloc(cap);

    assert_non_null(b);
    off += (size_t)snprintf(b + off, cap - off, "HTTP/1.1 200 OK\r\n");
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(b + off, cap - off, "X-%zu: v\r\n", i);
    }
    snprintf(b + off, cap - off, "\r\n");
    return b;
}

static void
test_head_basic(void **state)
{
    const char *r = "HTTP/1.1 200 OK\r\nContent-Type:  text/html \t\r\nX-Empty:\r\n"
                    "Server:nginx\r\n\r\nbody";
    (void)state;

    assert_int_equal(parse_str(r), 0);
    assert_int_equal(head.minor_version, 1);
    assert_int_equal(head.status, 200);
    assert_slice(r, head.reason, "OK");
    assert_int_equal(head.n_fields, 3);
    assert_slice(r, head.fields[0].name, "Content-Type");
    assert_slice(r, head.fields[0].value, "text/html");
    assert_slice(r, head.fields[1].name, "X-Empty");
    assert_slice(r, head.fields[1].value, "");
    assert_slice(r, head.fields[2].value, "nginx");
    assert_int_equal(head.head_len, strlen(r) - 4);
}

static void
test_head_bare_lf_and_reason(void **state)
{
    const char *r = "HTTP/1.0 404 Not  Found here\nA: 1\nB: 2\r\n\nrest";
    (void)state;

    assert_int_equal(parse_str(r), 0);
    assert_int_equal(head.minor_version, 0);
    assert_int_equal(head.status, 404);
    assert_slice(r, head.reason, "Not  Found here");
    assert_int_equal(head.n_fields, 2);
    assert_int_equal(head.head_len, strlen(r) - 4);

    /* No reason phrase, with and without the SP before it. */
    assert_int_equal(parse_str("HTTP/1.1 204\r\n\r\n"), 0);
    assert_int_equal(head.status, 204);
    assert_int_equal(head.reason.len, 0);
    assert_int_equal(parse_str("HTTP/1.1 999 \r\n\r\n"), 0);
    assert_int_equal(head.status, 999);
    assert_int_equal(head.reason.len, 0);
}

static void
test_head_every_split(void **state)
{
    const char *r = "HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.org/\r\n"
                    "Content-Length: 0\nX-Tab:\ta\tb\t\r\n\r\n";
    size_t len = strlen(r);
    (void)state;

    for (size_t i = 0; i < len; i++) {
        assert_int_equal(vg_http_parse_head((const uint8_t *)r, i, &head), VG_EMORE);
    }
    assert_int_equal(vg_http_parse_head((const uint8_t *)r, len, &head), 0);
    assert_int_equal(head.head_len, len);
    assert_int_equal(head.n_fields, 3);
    assert_slice(r, head.fields[2].value, "a\tb");
}

static void
test_head_limits(void **state)
{
    char *b;
    (void)state;

    b = many_fields(VG_HTTP_MAX_HEADERS);
    assert_int_equal(parse_str(b), 0);
    assert_int_equal(head.n_fields, VG_HTTP_MAX_HEADERS);
    free(b);

    b = many_fields(VG_HTTP_MAX_HEADERS + 1);
    assert_int_equal(parse_str(b), VG_ETOOBIG);
    free(b);

    /* 40 KiB of fields and no empty line: too big, not "need more". */
    b = malloc(40 * 1024 + 1);
    assert_non_null(b);
    memcpy(b, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(b + 20, 'a', 40 * 1024 - 20);
    b[40 * 1024] = '\0';
    assert_int_equal(parse_str(b), VG_ETOOBIG);
    /* Just below the limit it is still incomplete. */
    assert_int_equal(vg_http_parse_head((const uint8_t *)b, VG_HTTP_HEAD_MAX - 1, &head), VG_EMORE);
    assert_int_equal(vg_http_parse_head((const uint8_t *)b, VG_HTTP_HEAD_MAX, &head), VG_ETOOBIG);
    free(b);
}

static void
test_head_head_at_limit(void **state)
{
    /* A head of exactly VG_HTTP_HEAD_MAX bytes is accepted. */
    size_t n = VG_HTTP_HEAD_MAX;
    char *b = malloc(n + 1);
    const char *pre = "HTTP/1.1 200 OK\r\nX: ";
    (void)state;

    assert_non_null(b);
    memcpy(b, pre, strlen(pre));
    memset(b + strlen(pre), 'a', n - strlen(pre) - 4);
    memcpy(b + n - 4, "\r\n\r\n", 4);
    b[n] = '\0';
    assert_int_equal(parse_str(b), 0);
    assert_int_equal(head.head_len, n);
    free(b);
}

static void
test_head_malformed(void **state)
{
    static const char *const bad[] = {
        /* status line */
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 200\tOK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        /* fields */
        "HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: 1\r\n\tfolded\r\n\r\n",
        "HTTP/1.1 200 OK\r\n Leading: ws\r\n\r\n",
        "HTTP/1.1 200 OK\r\nName : v\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad(name): v\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: x\x01y\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: x\x7fy\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: x\r\r\n\r\n",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_str(bad[i]);

        if (rc != VG_EPROTO) {
            print_error("case %zu: got %d\n", i, rc);
        }
        assert_int_equal(rc, VG_EPROTO);
    }
}

static void
test_head_nul(void **state)
{
    static const uint8_t r[] = "HTTP/1.1 200 OK\r\nA: x\0y\r\n\r\n";
    static const uint8_t n[] = "HTTP/1.1 200 OK\r\nA\0: x\r\n\r\n";
    (void)state;

    assert_int_equal(vg_http_parse_head(r, sizeof(r) - 1, &head), VG_EPROTO);
    assert_int_equal(vg_http_parse_head(n, sizeof(n) - 1, &head), VG_EPROTO);
    /* obs-text (0x80-0xff) is allowed in values. */
    assert_int_equal(parse_str("HTTP/1.1 200 OK\r\nA: caf\xc3\xa9\r\n\r\n"), 0);
}

static void
test_head_get(void **state)
{
    const char *r = "HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nCONTENT-type: x\r\nset-cookie: b\r\n\r\n";
    const struct vg_http_field *f;
    (void)state;

    assert_int_equal(parse_str(r), 0);
    f = vg_http_head_get(&head, (const uint8_t *)r, "content-type");
    assert_non_null(f);
    assert_slice(r, f->value, "x");
    f = vg_http_head_get(&head, (const uint8_t *)r, "Set-Cookie");
    assert_non_null(f);
    assert_slice(r, f->value, "a");
    assert_null(vg_http_head_get(&head, (const uint8_t *)r, "Content-Length"));
    assert_null(vg_http_head_get(&head, (const uint8_t *)r, "Content"));
    assert_null(vg_http_head_get(&head, (const uint8_t *)r, "Content-type-x"));
}

static int
framing_of(const char *r, bool head_req, enum vg_http_framing *fr, uint64_t *len)
{
    int rc = parse_str(r);

    assert_int_equal(rc, 0);
    return vg_http_framing(&head, (const uint8_t *)r, head_req, fr, len);
}

static void
test_framing(void **state)
{
    enum vg_http_framing fr;
    uint64_t n;
    (void)state;

    assert_int_equal(framing_of("HTTP/1.1 200 OK\r\n\r\n", false, &fr, &n), 0);
    assert_int_equal(fr, VG_HTTP_BODY_CLOSE);

    assert_int_equal(framing_of("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", false, &fr, &n),
                     0);
    assert_int_equal(fr, VG_HTTP_BODY_LENGTH);
    assert_int_equal(n, 42);

    assert_int_equal(framing_of("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", false, &fr, &n), 0);
    assert_int_equal(fr, VG_HTTP_BODY_LENGTH);
    assert_int_equal(n, 0);

    /* Repeated identical values, in one list or in several fields. */
    assert_int_equal(framing_of("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", false, &fr, &n),
                     0);
    assert_int_equal(fr, VG_HTTP_BODY_LENGTH);
    assert_int_equal(n, 5);
    assert_int_equal(
        framing_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\n", false,
                   &fr, &n),
        0);
    assert_int_equal(n, 5);
    assert_int_equal(framing_of("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n",
                                false, &fr, &n),
                     0);
    assert_int_equal(n, INT64_MAX);

    /* No body whatever the fields say. */
    static const char *const none[] = {
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nContent-Length: 9\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        assert_int_equal(framing_of(none[i], false, &fr, &n), 0);
        assert_int_equal(fr, VG_HTTP_BODY_NONE);
    }
    assert_int_equal(framing_of("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, &fr, &n),
                     0);
    assert_int_equal(fr, VG_HTTP_BODY_NONE);
}

static void
test_framing_chunked(void **state)
{
    static const char *const chunked[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked ,\r\n\r\n",
        /* Transfer-Encoding wins over Content-Length, even a broken one. */
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedx\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\n",
    };
    enum vg_http_framing fr;
    uint64_t n;
    (void)state;

    for (size_t i = 0; i < sizeof(chunked) / sizeof(chunked[0]); i++) {
        assert_int_equal(framing_of(chunked[i], false, &fr, &n), 0);
        assert_int_equal(fr, VG_HTTP_BODY_CHUNKED);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(framing_of(bad[i], false, &fr, &n), VG_EPROTO);
    }
}

static void
test_framing_bad_length(void **state)
{
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: ,\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1.5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
    };
    enum vg_http_framing fr;
    uint64_t n;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = framing_of(bad[i], false, &fr, &n);

        if (rc != VG_EPROTO) {
            print_error("case %zu: got %d\n", i, rc);
        }
        assert_int_equal(rc, VG_EPROTO);
    }
}

/* Decode all of in at once (in place on a copy). */
static int
decode_all(const char *in, size_t len, char *out, size_t *out_len, size_t *consumed)
{
    struct vg_chunked c;
    uint8_t *buf = malloc(len + 1);
    int rc;

    assert_non_null(buf);
    memcpy(buf, in, len);
    vg_chunked_init(&c);
    rc = vg_chunked_decode(&c, buf, len, out_len, consumed);
    if (rc >= 0) {
        assert_true(*out_len <= *consumed);
        memcpy(out, buf, *out_len);
    }
    free(buf);
    return rc;
}

/* Feed in one byte at a time, appending the output. */
static int
decode_bytewise(const char *in, size_t len, char *out, size_t *out_len, size_t *consumed)
{
    struct vg_chunked c;
    int rc = 0;

    *out_len = 0;
    *consumed = 0;
    vg_chunked_init(&c);
    for (size_t i = 0; i < len && rc == 0; i++) {
        uint8_t b = (uint8_t)in[i];
        size_t o, u;

        rc = vg_chunked_decode(&c, &b, 1, &o, &u);
        if (rc < 0) {
            break;
        }
        assert_true(o <= u && u <= 1);
        if (o == 1) {
            out[(*out_len)++] = (char)b;
        }
        *consumed += u;
    }
    return rc;
}

static void
test_chunked_basic(void **state)
{
    static const char in[] = "5\r\nhello\r\n7;name=\"v\"\r\n, world\r\n0\r\n\r\nNEXT";
    char out[64];
    size_t n, used;
    (void)state;

    assert_int_equal(decode_all(in, sizeof(in) - 1, out, &n, &used), 1);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "hello, world", 12);
    assert_int_equal(used, sizeof(in) - 1 - 4);

    assert_int_equal(decode_bytewise(in, sizeof(in) - 1, out, &n, &used), 1);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "hello, world", 12);
    assert_int_equal(used, sizeof(in) - 1 - 4);
}

static void
test_chunked_every_split(void **state)
{
    static const char in[] = "A\r\n0123456789\r\n1a ; ext=1\r\nabcdefghijklmnopqrstuvwxyz\n"
                             "0\r\nExpires: never\r\nX: y\n\r\n";
    size_t len = sizeof(in) - 1;
    (void)state;

    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t buf[sizeof(in)];
        struct vg_chunked c;
        char out[64];
        size_t total = 0, o, u;

        memcpy(buf, in, len);
        vg_chunked_init(&c);
        assert_int_equal(vg_chunked_decode(&c, buf, cut, &o, &u), cut == len ? 1 : 0);
        assert_int_equal(u, cut);
        memcpy(out, buf, o);
        total = o;
        assert_int_equal(vg_chunked_decode(&c, buf + cut, len - cut, &o, &u), 1);
        assert_int_equal(u, len - cut);
        memcpy(out + total, buf + cut, o);
        total += o;
        assert_int_equal(total, 36);
        assert_memory_equal(out, "0123456789abcdefghijklmnopqrstuvwxyz", 36);
    }
}

static void
test_chunked_done_is_sticky(void **state)
{
    uint8_t buf[] = "0\r\n\r\n0\r\n\r\n";
    struct vg_chunked c;
    size_t o, u;
    (void)state;

    vg_chunked_init(&c);
    assert_int_equal(vg_chunked_decode(&c, buf, sizeof(buf) - 1, &o, &u), 1);
    assert_int_equal(o, 0);
    assert_int_equal(u, 5);
    assert_int_equal(vg_chunked_decode(&c, buf + 5, 5, &o, &u), 1);
    assert_int_equal(u, 0);
}

static void
test_chunked_incomplete(void **state)
{
    static const char *const more[] = {
        "",
        "5",
        "5\r",
        "5\r\nhel",
        "5\r\nhello",
        "5\r\nhello\r",
        "5\r\nhello\r\n0\r\n",
        "0\r\nTrailer: x\r\n",
        "7fffffffffffffff\r\nabc",
    };
    char out[64];
    size_t n, used;
    (void)state;

    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        assert_int_equal(decode_all(more[i], strlen(more[i]), out, &n, &used), 0);
        assert_int_equal(used, strlen(more[i]));
    }
}

static void
test_chunked_errors(void **state)
{
    static const struct {
        const char *in;
        int rc;
    } cases[] = {
        {"ffffffffffffffffff\r\n", VG_ETOOBIG},
        {"10000000000000000\r\n", VG_ETOOBIG},
        {"8000000000000000\r\n", VG_ETOOBIG},
        {"5\r\nhelloX\r\n0\r\n\r\n", VG_EPROTO},
        {"5\r\nhello\rX", VG_EPROTO},
        {"5\r\nhello0\r\n\r\n", VG_EPROTO},
        {"\r\n", VG_EPROTO},
        {"zz\r\n", VG_EPROTO},
        {";ext\r\n", VG_EPROTO},
        {" 5\r\n", VG_EPROTO},
        {"5 5\r\n", VG_EPROTO},
        {"5x\r\n", VG_EPROTO},
        {"-5\r\n", VG_EPROTO},
        {"5\rX", VG_EPROTO},
        {"5;a\x01\r\n", VG_EPROTO},
        {"0\r\nA: b\r\n folded\r\n\r\n", VG_EPROTO},
        {"0\r\nA: \x7f\r\n\r\n", VG_EPROTO},
        {"0\r\n\rX", VG_EPROTO},
    };
    char out[64];
    size_t n, used;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *in = cases[i].in;
        int rc = decode_all(in, strlen(in), out, &n, &used);

        if (rc != cases[i].rc) {
            print_error("case %zu: got %d\n", i, rc);
        }
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(decode_bytewise(in, strlen(in), out, &n, &used), cases[i].rc);
    }
}

static void
test_chunked_nul_in_size(void **state)
{
    static const char in[] = "5\0\r\nhello\r\n0\r\n\r\n";
    char out[64];
    size_t n, used;
    (void)state;

    assert_int_equal(decode_all(in, sizeof(in) - 1, out, &n, &used), VG_EPROTO);
}

static void
test_chunked_long_lines(void **state)
{
    size_t big = VG_HTTP_CHUNK_LINE_MAX + 16;
    char *in = malloc(big + 64), out[16];
    size_t n, used, len;
    (void)state;

    assert_non_null(in);
    /* Extensions making the size line just fit, then one byte too long. */
    memset(in, 'a', VG_HTTP_CHUNK_LINE_MAX);
    memcpy(in, "1;", 2);
    memcpy(in + VG_HTTP_CHUNK_LINE_MAX, "\r\nx\r\n0\r\n\r\n", 10);
    len = VG_HTTP_CHUNK_LINE_MAX + 10;
    assert_int_equal(decode_all(in, len, out, &n, &used), 1);
    assert_int_equal(n, 1);
    memset(in, 'a', VG_HTTP_CHUNK_LINE_MAX + 1);
    memcpy(in, "1;", 2);
    memcpy(in + VG_HTTP_CHUNK_LINE_MAX + 1, "\r\nx\r\n0\r\n\r\n", 10);
    assert_int_equal(decode_all(in, len + 1, out, &n, &used), VG_ETOOBIG);
    assert_int_equal(decode_bytewise(in, len + 1, out, &n, &used), VG_ETOOBIG);

    /* Leading zeros count towards the line, not towards the size. */
    memset(in, '0', VG_HTTP_CHUNK_LINE_MAX + 1);
    assert_int_equal(decode_all(in, VG_HTTP_CHUNK_LINE_MAX + 1, out, &n, &used), VG_ETOOBIG);

    /* A trailer line too long. */
    memcpy(in, "0\r\nX: ", 6);
    memset(in + 6, 'v', big);
    assert_int_equal(decode_all(in, big + 6, out, &n, &used), VG_ETOOBIG);
    free(in);
}

static void
test_chunked_trailer_section_bound(void **state)
{
    /* Many short trailer lines: the section as a whole is bounded like a head. */
    size_t len = 3 + 8 * (VG_HTTP_HEAD_MAX / 8 + 1);
    char *in = malloc(len), out[16];
    size_t n, used;
    (void)state;

    assert_non_null(in);
    memcpy(in, "0\r\n", 3);
    for (size_t off = 3; off + 8 <= len; off += 8) {
        memcpy(in + off, "X: abc\r\n", 8);
    }
    assert_int_equal(decode_all(in, len, out, &n, &used), VG_ETOOBIG);
    free(in);
}

static void
test_chunked_trailers(void **state)
{
    static const char in[] = "3\r\nabc\r\n0;last\r\nX-Checksum: 1234\r\nX-Other:\t z\r\n\r\n";
    char out[16];
    size_t n, used;
    (void)state;

    assert_int_equal(decode_all(in, sizeof(in) - 1, out, &n, &used), 1);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(used, sizeof(in) - 1);
    /* Bare LF everywhere. */
    assert_int_equal(decode_all("3\nabc\n0\nT: 1\n\n", 14, out, &n, &used), 1);
    assert_int_equal(n, 3);
    assert_int_equal(used, 14);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_basic),
        cmocka_unit_test(test_head_bare_lf_and_reason),
        cmocka_unit_test(test_head_every_split),
        cmocka_unit_test(test_head_limits),
        cmocka_unit_test(test_head_head_at_limit),
        cmocka_unit_test(test_head_malformed),
        cmocka_unit_test(test_head_nul),
        cmocka_unit_test(test_head_get),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_framing_chunked),
        cmocka_unit_test(test_framing_bad_length),
        cmocka_unit_test(test_chunked_basic),
        cmocka_unit_test(test_chunked_every_split),
        cmocka_unit_test(test_chunked_done_is_sticky),
        cmocka_unit_test(test_chunked_incomplete),
        cmocka_unit_test(test_chunked_errors),
        cmocka_unit_test(test_chunked_nul_in_size),
        cmocka_unit_test(test_chunked_long_lines),
        cmocka_unit_test(test_chunked_trailer_section_bound),
        cmocka_unit_test(test_chunked_trailers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
