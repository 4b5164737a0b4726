/* SPDX-License-Identifier: MIT */
/* test_http_guard.c - the servers' clients (server/http_guard.c): an IPv4 address or an IPv6
 * prefix per client, and the per-client counts behind --max-per-ip and
 * --max-inflight-per-client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "http_util.h"
#include "vgtest.h"

static struct vg_http_peer
peer(const char *ip, unsigned prefix6)
{
    struct sockaddr_storage ss;
    struct vg_http_peer k;

    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *s6 = (void *)&ss;

        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (void *)&ss;

        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
    assert_true(vg_http_peer_of((struct sockaddr *)&ss, prefix6, &k));
    return k;
}

static bool
same(const char *a, const char *b, unsigned prefix6)
{
    struct vg_http_peer x = peer(a, prefix6), y = peer(b, prefix6);

    return memcmp(&x, &y, sizeof(x)) == 0;
}

static void
test_peer_keys(void **state)
{
    struct sockaddr_storage ss;
    struct vg_http_peer k;

    (void)state;
    /* IPv4: one address each, whatever the IPv6 prefix. */
    assert_false(same("192.0.2.1", "192.0.2.2", 64));
    assert_true(same("192.0.2.1", "192.0.2.1", 64));
    /* An IPv4 client of a dual-stack socket is its IPv4 address, not a /64 of all of them. */
    assert_true(same("::ffff:192.0.2.1", "192.0.2.1", 64));
    assert_false(same("::ffff:192.0.2.1", "::ffff:192.0.2.2", 64));
    /* IPv6: one /64 is one client by default... */
    assert_true(same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", 64));
    assert_true(same("2001:db8:1:2::1", "2001:db8:1:2::12c", 64));
    assert_false(same("2001:db8:1:2::1", "2001:db8:1:3::1", 64));
    /* ...or the prefix asked for, to the bit. */
    assert_true(same("2001:db8:1:2::1", "2001:db8:1:3::1", 48));
    assert_false(same("2001:db8:1::1", "2001:db8:2::1", 48));
    assert_true(same("2001:db8:1:20::", "2001:db8:1:2f::", 60));
    assert_false(same("2001:db8:1:20::", "2001:db8:1:30::", 60));
    /* 128 or 0: per address. */
    assert_false(same("2001:db8:1:2::1", "2001:db8:1:2::2", 128));
    assert_false(same("2001:db8:1:2::1", "2001:db8:1:2::2", 0));
    assert_true(same("2001:db8:1:2::1", "2001:db8:1:2::1", 128));
    /* An IPv6 address never collides with an IPv4 one. */
    assert_false(same("::c000:201", "192.0.2.1", 64));
    /* Another family, or none: no key. */
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    assert_false(vg_http_peer_of((struct sockaddr *)&ss, 64, &k));
    assert_false(vg_http_peer_of(NULL, 64, &k));
}

static void
test_peer_counts(void **state)
{
    struct vg_http_peers t;
    struct vg_http_peer a = peer("2001:db8:1:2::1", 64), b = peer("2001:db8:1:2::2", 64);
    struct vg_http_peer c = peer("2001:db8:9::1", 64);

    (void)state;
    vg_http_peers_init(&t);
    /* 300 connections from 300 addresses of one /64 meet one limit of 3. */
    for (int i = 0; i < 300; i++) {
        char ip[64];
        struct vg_http_peer k;

        snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i + 1);
        k = peer(ip, 64);
        assert_int_equal(vg_http_peers_take(&t, &k, 3), i < 3);
    }
    assert_int_equal(vg_http_peers_count(&t, &a), 3);
    assert_int_equal(vg_http_peers_count(&t, &b), 3);
    /* Another /64 is another client. */
    assert_true(vg_http_peers_take(&t, &c, 3));
    assert_int_equal(vg_http_peers_count(&t, &c), 1);
    /* One given back: one more may come. */
    vg_http_peers_give(&t, &b);
    assert_true(vg_http_peers_take(&t, &a, 3));
    assert_false(vg_http_peers_take(&t, &a, 3));
    /* 0: no limit. */
    for (int i = 0; i < 1000; i++) {
        assert_true(vg_http_peers_take(&t, &c, 0));
    }
    assert_int_equal(vg_http_peers_count(&t, &c), 1001);
    /* Back to zero: the client leaves the table. */
    for (int i = 0; i < 1001; i++) {
        vg_http_peers_give(&t, &c);
    }
    assert_int_equal(vg_http_peers_count(&t, &c), 0);
    vg_http_peers_give(&t, &c); /* not counted: nothing happens */
    assert_int_equal(vg_http_peers_count(&t, &c), 0);
    vg_http_peers_cleanup(&t);
    vg_http_peers_cleanup(&t);
}

/* Many clients, spread over the table and its chains: each keeps its own count. */
static void
test_many_clients(void **state)
{
    struct vg_http_peers t;

    (void)state;
    vg_http_peers_init(&t);
    for (int round = 0; round < 2; round++) {
        for (unsigned i = 0; i < 5000; i++) {
            char ip[32];
            struct vg_http_peer k;

            snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
            k = peer(ip, 64);
            assert_true(vg_http_peers_take(&t, &k, 2));
        }
    }
    for (unsigned i = 0; i < 5000; i++) {
        char ip[32];
        struct vg_http_peer k;

        snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        k = peer(ip, 64);
        assert_int_equal(vg_http_peers_count(&t, &k), 2);
        assert_false(vg_http_peers_take(&t, &k, 2));
        vg_http_peers_give(&t, &k);
    }
    vg_http_peers_cleanup(&t); /* frees what is left */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_keys),
        cmocka_unit_test(test_peer_counts),
        cmocka_unit_test(test_many_clients),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
