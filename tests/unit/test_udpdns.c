/* SPDX-License-Identifier: MIT */
/*
 * test_udpdns.c - DNS over UDP with duplicate listening, against a scripted resolver socket on
 * 127.0.0.1: oversized replies, floods of forged replies, and the genuine reply after them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "net/udpdns.h"
#include "proto/dns.h"
#include "vgtest.h"

/* The scripted resolver: a bound UDP socket, and the two queries it received. */
struct resolver {
    int fd;
    struct sockaddr_in addr;
    struct sockaddr_in client;
    uint8_t query[2][600];
    size_t qlen[2];
    uint16_t qtype[2];
};

struct result {
    bool done;
};

static void
on_done(struct vg_udpdns *q, void *arg)
{
    struct result *r = arg;

    (void)q;
    r->done = true;
}

static void
resolver_open(struct resolver *rs)
{
    socklen_t len = sizeof(rs->addr);

    memset(rs, 0, sizeof(*rs));
    rs->fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(rs->fd >= 0);
    rs->addr.sin_family = AF_INET;
    rs->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(rs->fd, (struct sockaddr *)&rs->addr, sizeof(rs->addr)), 0);
    assert_int_equal(getsockname(rs->fd, (struct sockaddr *)&rs->addr, &len), 0);
}

/* vg_udpdns_start sends both queries before it returns: read them (blocking). */
static void
resolver_read_queries(struct resolver *rs)
{
    for (int i = 0; i < 2; i++) {
        socklen_t len = sizeof(rs->client);
        ssize_t n = recvfrom(rs->fd, rs->query[i], sizeof(rs->query[i]), 0,
                             (struct sockaddr *)&rs->client, &len);

        assert_true(n > 12);
        rs->qlen[i] = (size_t)n;
        /* QTYPE: the two bytes after the question's name, before QCLASS. */
        rs->qtype[i] = (uint16_t)(rs->query[i][n - 4] << 8 | rs->query[i][n - 3]);
    }
}

/* The index of the query of type qtype. */
static int
resolver_query(const struct resolver *rs, uint16_t qtype)
{
    return rs->qtype[0] == qtype ? 0 : 1;
}

/* A reply to query i: its header and question, QR set, then one A record with addr (when addr is
 * not NULL) and pad bytes of an additional record of type 65280 (private use) when pad > 0. */
static size_t
make_reply(const struct resolver *rs, int i, const char *addr, size_t pad, uint8_t *out, size_t cap)
{
    size_t n = rs->qlen[i];
    uint8_t ip[4];

    assert_true(n + 16 + 11 + pad <= cap);
    memcpy(out, rs->query[i], n);
    out[2] = 0x81; /* QR, RD */
    out[3] = 0x80; /* RA, NOERROR */
    if (addr != NULL) {
        static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};

        assert_int_equal(inet_pton(AF_INET, addr, ip), 1);
        out[7] = 1; /* ANCOUNT */
        memcpy(out + n, rr, sizeof(rr));
        memcpy(out + n + sizeof(rr), ip, 4);
        n += sizeof(rr) + 4;
    }
    if (pad > 0) {
        uint8_t rr[11] = {0, 0xff, 0, 0, 1, 0, 0, 0, 60, 0, 0};

        assert_true(pad <= 0xffff);
        rr[9] = (uint8_t)(pad >> 8);
        rr[10] = (uint8_t)pad;
        out[11] = 1; /* ARCOUNT */
        memcpy(out + n, rr, sizeof(rr));
        memset(out + n + sizeof(rr), 'x', pad);
        n += sizeof(rr) + pad;
    }
    return n;
}

static void
resolver_send(const struct resolver *rs, const uint8_t *p, size_t len)
{
    assert_int_equal(
        sendto(rs->fd, p, len, 0, (const struct sockaddr *)&rs->client, sizeof(rs->client)),
        (ssize_t)len);
}

static void
run_until_done(uv_loop_t *loop, struct result *r)
{
    while (!r->done) {
        uv_run(loop, UV_RUN_ONCE);
    }
}

static void
finish(uv_loop_t *loop, struct vg_udpdns *q, struct resolver *rs)
{
    vg_udpdns_free(q);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    close(rs->fd);
}

/*
 * A reply larger than the read buffer (VG_DNS_MSG_MAX) arrives cut (MSG_TRUNC). The resolver did
 * answer: the reply is recorded as malformed (VG_ETOOBIG, its first VG_DNS_MSG_MAX bytes kept),
 * not dropped, which made the query look unanswered (a timeout).
 */
static void
test_oversized_reply_is_recorded(void **state)
{
    static uint8_t big[VG_DNS_MSG_MAX + 2048];
    uv_loop_t loop;
    struct resolver rs;
    struct result res = {false};
    struct vg_udpdns *q = NULL;
    const struct vg_udp_reply *all;
    size_t n, len;
    int a, aaaa;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    resolver_open(&rs);
    assert_int_equal(vg_udpdns_start(&loop, (struct sockaddr *)&rs.addr, "www.example.org", 2000,
                                     50, NULL, on_done, &res, &q),
                     0);
    resolver_read_queries(&rs);
    a = resolver_query(&rs, VG_DNS_TYPE_A);
    aaaa = 1 - a;
    len = make_reply(&rs, a, "192.0.2.1", VG_DNS_MSG_MAX + 1000, big, sizeof(big));
    assert_true(len > VG_DNS_MSG_MAX);
    resolver_send(&rs, big, len);
    len = make_reply(&rs, aaaa, NULL, 0, big, sizeof(big));
    resolver_send(&rs, big, len);
    run_until_done(&loop, &res);

    all = vg_udpdns_replies(q, &n);
    assert_int_equal(n, 2);
    assert_int_equal(vg_udpdns_failure(q, VG_DNS_TYPE_A), 0);
    for (size_t i = 0; i < n; i++) {
        if (all[i].qtype != VG_DNS_TYPE_A) {
            continue;
        }
        assert_int_equal(all[i].parse_err, VG_ETOOBIG);
        assert_int_equal(all[i].rcode, -1);
        assert_int_equal(all[i].n_addrs, 0);
        assert_int_equal(all[i].raw_len, VG_DNS_MSG_MAX);
    }
    finish(&loop, q, &rs);
}

static size_t
count_addr(const struct vg_udp_reply *all, size_t n, const char *addr)
{
    uint8_t ip[4];
    size_t k = 0;

    assert_int_equal(inet_pton(AF_INET, addr, ip), 1);
    for (size_t i = 0; i < n; i++) {
        k += all[i].n_addrs == 1 && memcmp(all[i].addrs[0].a, ip, 4) == 0;
    }
    return k;
}

/*
 * An injector floods 300 copies of its forged reply before the genuine one arrives. The copies
 * fill the duplicate budget (VG_DNS_MAX_REPLIES), but the genuine reply, whose answer differs from
 * every recorded one, must still be recorded: it is the evidence of the injection. More copies of
 * it are not.
 */
static void
test_flood_keeps_the_genuine_reply(void **state)
{
    uint8_t buf[600];
    uv_loop_t loop;
    struct resolver rs;
    struct result res = {false};
    struct vg_udpdns *q = NULL;
    const struct vg_udp_reply *all;
    size_t n, len;
    int a, aaaa;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    resolver_open(&rs);
    assert_int_equal(vg_udpdns_start(&loop, (struct sockaddr *)&rs.addr, "www.example.org", 2000,
                                     200, NULL, on_done, &res, &q),
                     0);
    resolver_read_queries(&rs);
    a = resolver_query(&rs, VG_DNS_TYPE_A);
    aaaa = 1 - a;
    len = make_reply(&rs, a, "203.0.113.66", 0, buf, sizeof(buf));
    for (int i = 0; i < 300; i++) {
        resolver_send(&rs, buf, len);
        /* Let the loop drain the socket now and then: the kernel queue is finite. */
        if (i % 50 == 49) {
            uv_run(&loop, UV_RUN_NOWAIT);
        }
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    len = make_reply(&rs, a, "198.51.100.10", 0, buf, sizeof(buf));
    for (int i = 0; i < 5; i++) {
        resolver_send(&rs, buf, len);
    }
    len = make_reply(&rs, aaaa, NULL, 0, buf, sizeof(buf));
    resolver_send(&rs, buf, len);
    run_until_done(&loop, &res);

    all = vg_udpdns_replies(q, &n);
    assert_int_equal(n, VG_DNS_MAX_REPLIES + 2);
    assert_int_equal(count_addr(all, n, "203.0.113.66"), VG_DNS_MAX_REPLIES);
    assert_int_equal(count_addr(all, n, "198.51.100.10"), 1);
    assert_true(vg_udpdns_ignored(q) >= 300 - VG_DNS_MAX_REPLIES + 4);
    finish(&loop, q, &rs);
}

/* Replies that each carry a new answer are recorded past the duplicate budget, up to
 * VG_DNS_MAX_DISTINCT more; the first reply to the other query still is. */
static void
test_distinct_replies_are_bounded(void **state)
{
    uint8_t buf[600];
    uv_loop_t loop;
    struct resolver rs;
    struct result res = {false};
    struct vg_udpdns *q = NULL;
    size_t n, len;
    int a, aaaa;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    resolver_open(&rs);
    assert_int_equal(vg_udpdns_start(&loop, (struct sockaddr *)&rs.addr, "www.example.org", 2000,
                                     200, NULL, on_done, &res, &q),
                     0);
    resolver_read_queries(&rs);
    a = resolver_query(&rs, VG_DNS_TYPE_A);
    aaaa = 1 - a;
    for (int i = 0; i < 200; i++) {
        char addr[32];

        snprintf(addr, sizeof(addr), "203.0.113.%d", i);
        len = make_reply(&rs, a, addr, 0, buf, sizeof(buf));
        resolver_send(&rs, buf, len);
        if (i % 50 == 49) {
            uv_run(&loop, UV_RUN_NOWAIT);
        }
    }
    len = make_reply(&rs, aaaa, NULL, 0, buf, sizeof(buf));
    resolver_send(&rs, buf, len);
    run_until_done(&loop, &res);

    (void)vg_udpdns_replies(q, &n);
    assert_int_equal(n, VG_DNS_MAX_REPLIES + VG_DNS_MAX_DISTINCT + 1);
    assert_int_equal(vg_udpdns_failure(q, VG_DNS_TYPE_AAAA), 0);
    finish(&loop, q, &rs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oversized_reply_is_recorded),
        cmocka_unit_test(test_flood_keeps_the_genuine_reply),
        cmocka_unit_test(test_distinct_replies_are_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
