/* SPDX-License-Identifier: MIT */
/*
 * test_record_scrub.c - vg_rec_scrub (lib/meas/record.c), the one scrubber of the probe and the
 * collector, and the collector's vg_rec_scrub_probe_ip (record_read.c): every textual form of an
 * address, whole addresses only, in strings, object keys (collisions keep both values) and base64
 * bodies; a body's digest follows the body as stored; text without an address is not copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meas/record.h"
#include "meas/record_read.h"
#include "proto/ipaddr.h"
#include "util/crypto.h"
#include "util/str.h"
#include "vgtest.h"

static json_t *
load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);

    if (j == NULL) {
        fail_msg("bad test JSON: %s", e.text);
    }
    return j;
}

/* m scrubbed of addrs (comma-separated), as compact text (caller frees); *hits the count. */
static char *
scrubbed(const char *m, const char *addrs, size_t *hits)
{
    struct vg_ip_set set = {0};
    json_t *j = load(m);
    char *text;

    for (const char *a = addrs; *a != '\0';) {
        size_t n = strcspn(a, ",");

        assert_int_equal(vg_ip_set_add(&set, a, n), 0);
        a += n + (a[n] == ',');
    }
    *hits = vg_rec_scrub(j, &set);
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static void
expect(const char *m, const char *addrs, const char *want, size_t want_hits)
{
    size_t hits;
    char *got = scrubbed(m, addrs, &hits);

    if (strcmp(got, want) != 0 || hits != want_hits) {
        fail_msg("%s\n got  %s (%zu)\n want %s (%zu)", m, got, hits, want, want_hits);
    }
    free(got);
}

/* The finding's holes: keys, other spellings, IPv4-mapped, substrings. */
static void
test_holes(void **state)
{
    (void)state;
    /* An object key: control.tcp_connect["A.B.C.D:443"], order kept. */
    expect("{\"tcp_connect\":{\"198.51.100.1:443\":1,\"192.0.2.7:443\":{\"status\":true},"
           "\"198.51.100.1:80\":3}}",
           "192.0.2.7",
           "{\"tcp_connect\":{\"198.51.100.1:443\":1,\"[scrubbed]:443\":{\"status\":true},"
           "\"198.51.100.1:80\":3}}",
           1);
    /* Other IPv6 spellings of the declared address. */
    expect("[\"2001:db8::77\",\"2001:DB8:0:0::77\",\"2001:0db8:0000:0000:0000:0000:0000:0077\","
           "\"[2001:db8::77]:443\"]",
           "2001:DB8:0:0::77",
           "[\"[scrubbed]\",\"[scrubbed]\",\"[scrubbed]\",\"[[scrubbed]]:443\"]", 4);
    /* probe_ip ::ffff:A.B.C.D: the plain IPv4 goes too, and the other way round. */
    expect("{\"a\":\"seen 192.0.2.7\",\"b\":\"::ffff:192.0.2.7\"}", "::ffff:192.0.2.7",
           "{\"a\":\"seen [scrubbed]\",\"b\":\"[scrubbed]\"}", 2);
    expect("{\"a\":\"::FFFF:192.0.2.7\"}", "192.0.2.7", "{\"a\":\"[scrubbed]\"}", 1);
    /* A longer address that contains it is another address. */
    expect("[\"192.0.2.71\",\"10.192.0.2.7\",\"2001:db8::77:1\",\"2001:db8::770\"]",
           "192.0.2.7,2001:db8::77",
           "[\"192.0.2.71\",\"10.192.0.2.7\",\"2001:db8::77:1\",\"2001:db8::770\"]", 0);
    /* Scrubbing one form cannot leave another whole. */
    expect("[\"::ffff:c000:207:192.0.2.7\"]", "192.0.2.7", "[\"[scrubbed]:[scrubbed]\"]", 2);
    /* Nested anywhere, numbers and other values untouched. */
    expect("{\"x\":[1,null,true,{\"y\":[\"192.0.2.7\"]}],\"z\":1.5}", "192.0.2.7",
           "{\"x\":[1,null,true,{\"y\":[\"[scrubbed]\"]}],\"z\":1.5}", 1);
}

/* Keys that become the same name keep both values: " (2)", " (3)", never a dropped value. */
static void
test_key_collisions(void **state)
{
    (void)state;
    expect("{\"ip_info\":{\"192.0.2.7\":1,\"2001:db8::77\":2,\"::ffff:192.0.2.7\":3}}",
           "192.0.2.7,2001:db8::77",
           "{\"ip_info\":{\"[scrubbed]\":1,\"[scrubbed] (2)\":2,\"[scrubbed] (3)\":3}}", 3);
    /* A key already named so keeps its name, wherever it is. */
    expect("{\"192.0.2.7:443\":1,\"[scrubbed]:443\":2,\"[scrubbed]:443 (2)\":3,\"k\":4}",
           "192.0.2.7",
           "{\"[scrubbed]:443 (3)\":1,\"[scrubbed]:443\":2,\"[scrubbed]:443 (2)\":3,\"k\":4}", 1);
    /* Several in one key. */
    expect("{\"192.0.2.7->192.0.2.7\":1}", "192.0.2.7", "{\"[scrubbed]->[scrubbed]\":1}", 2);
}

/* Bodies: a UTF-8 body in place, a binary one decoded and encoded again, the digest and length of
 * the body as stored; certificates left alone. */
static void
test_bodies(void **state)
{
    static const uint8_t latin1[] = "Votre IP : 192.0.2.7 \xe9t\xe9 bloqu\xe9";
    static const uint8_t latin1_scrubbed[] = "Votre IP : [scrubbed] \xe9t\xe9 bloqu\xe9";
    char *b64 = vg_base64(latin1, sizeof(latin1) - 1);
    char *b64_scrubbed = vg_base64(latin1_scrubbed, sizeof(latin1_scrubbed) - 1);
    char *cert = vg_base64((const uint8_t *)"CN=192.0.2.7", 12);
    char m[2048], hex[65];
    json_t *j, *resp;
    struct vg_ip_set set = {0};

    (void)state;
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.7", 9), 0);
    snprintf(
        m, sizeof(m),
        "{\"requests\":[{\"response\":{\"body\":\"your IP is 192.0.2.7\",\"x_body_length\":20,"
        "\"x_body_sha256\":\"old\"}},{\"response\":{\"body\":{\"format\":\"base64\","
        "\"data\":\"%s\"},\"x_body_length\":%zu,\"x_body_sha256\":\"old\"}}],"
        "\"tls_handshakes\":[{\"peer_certificates\":[{\"data\":\"%s\",\"format\":\"base64\"}]}]}",
        b64, sizeof(latin1) - 1, cert);
    j = load(m);
    assert_int_equal(vg_rec_scrub(j, &set), 2);
    resp = json_object_get(json_array_get(json_object_get(j, "requests"), 0), "response");
    assert_string_equal(json_string_value(json_object_get(resp, "body")), "your IP is [scrubbed]");
    assert_int_equal(json_integer_value(json_object_get(resp, "x_body_length")), 21);
    vg_sha256_hex("your IP is [scrubbed]", 21, hex);
    assert_string_equal(json_string_value(json_object_get(resp, "x_body_sha256")), hex);
    resp = json_object_get(json_array_get(json_object_get(j, "requests"), 1), "response");
    assert_string_equal(json_string_value(json_object_get(json_object_get(resp, "body"), "data")),
                        b64_scrubbed);
    {
        char *text = json_dumps(json_object_get(resp, "body"), JSON_COMPACT);

        assert_int_equal(strncmp(text, "{\"format\":\"base64\",\"data\":", 26), 0);
        free(text);
    }
    assert_int_equal(json_integer_value(json_object_get(resp, "x_body_length")),
                     sizeof(latin1_scrubbed) - 1);
    vg_sha256_hex(latin1_scrubbed, sizeof(latin1_scrubbed) - 1, hex);
    assert_string_equal(json_string_value(json_object_get(resp, "x_body_sha256")), hex);
    /* The certificate is signed DER: left as it is. */
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(json_object_get(j, "tls_handshakes"), 0),
                                           "peer_certificates"),
                           0),
            "data")),
        cert);
    json_decref(j);
    /* Not base64: read as text. */
    expect("{\"body\":{\"format\":\"base64\",\"data\":\"not base64 192.0.2.7\"}}", "192.0.2.7",
           "{\"body\":{\"format\":\"base64\",\"data\":\"not base64 [scrubbed]\"}}", 1);
    /* A body without the address keeps its digest. */
    expect("{\"body\":\"hello\",\"x_body_length\":5,\"x_body_sha256\":\"old\"}", "192.0.2.7",
           "{\"body\":\"hello\",\"x_body_length\":5,\"x_body_sha256\":\"old\"}", 0);
    free(b64);
    free(b64_scrubbed);
    free(cert);
}

/* Nothing to scrub: nothing copied (the same string storage), nothing changed. */
static void
test_no_match_no_copy(void **state)
{
    struct vg_ip_set set = {0};
    json_t *j = load("{\"a\":\"192.0.2.71 and 2001:db8::770\",\"192.0.2.70:443\":1}");
    const char *before = json_string_value(json_object_get(j, "a"));
    char *text;

    (void)state;
    assert_int_equal(vg_rec_scrub(j, &set), 0); /* empty set */
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.7", 9), 0);
    assert_int_equal(vg_ip_set_add(&set, "2001:db8::77", 12), 0);
    assert_int_equal(vg_rec_scrub(j, &set), 0);
    assert_ptr_equal(json_string_value(json_object_get(j, "a")), before);
    text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "{\"a\":\"192.0.2.71 and 2001:db8::770\",\"192.0.2.70:443\":1}");
    free(text);
    assert_int_equal(vg_rec_scrub(NULL, &set), 0);
    json_decref(j);
}

/* Texts made to be slow: one run of addresses megabytes long, many runs, many spellings of
 * one key; every address is still replaced (the scan is linear: a quadratic one would not end
 * within the test's time limit). */
static void
test_hostile_texts(void **state)
{
    enum { N = 200000 };
    static const char unit[] = "192.0.2.7:";
    struct vg_ip_set set = {0};
    size_t ul = sizeof(unit) - 1, hits;
    char *text = malloc(N * ul + 1), *want = malloc(N * 11 + 1);
    json_t *j, *o;

    (void)state;
    assert_int_equal(vg_ip_set_add(&set, "192.0.2.7", 9), 0);
    for (size_t i = 0; i < N; i++) {
        memcpy(text + i * ul, unit, ul);
        memcpy(want + i * 11, "[scrubbed]:", 11);
    }
    text[N * ul] = want[N * 11] = '\0';
    j = json_string(text);
    assert_int_equal(vg_rec_scrub(j, &set), N);
    assert_string_equal(json_string_value(j), want);
    json_decref(j);
    /* A run of dots and colons with no address: nothing. */
    memset(text, '.', N * ul);
    for (size_t i = 0; i < N * ul; i += 3) {
        text[i] = ':';
    }
    j = json_string(text);
    assert_int_equal(vg_rec_scrub(j, &set), 0);
    json_decref(j);
    /* Spellings of one address as keys, among keys already named like the scrubbed ones. */
    o = json_object();
    for (unsigned i = 2; i < 1000; i++) {
        char k[64];

        snprintf(k, sizeof(k), "[scrubbed] (%u)", i);
        json_object_set_new(o, k, json_integer(i));
    }
    for (unsigned m = 0; m < 64; m++) {
        char k[64];

        /* ::ffff:c000:207 with its hex digits in either case (6 letters), and 0 or 0000 groups */
        snprintf(k, sizeof(k), "%s:%c%c%c%c:%c000:207", m & 32 ? "0::0" : ":", m & 1 ? 'F' : 'f',
                 m & 2 ? 'F' : 'f', m & 4 ? 'F' : 'f', m & 8 ? 'F' : 'f', m & 16 ? 'C' : 'c');
        json_object_set_new(o, k, json_integer(10000 + m));
    }
    assert_int_equal(json_object_size(o), 998 + 64);
    hits = vg_rec_scrub(o, &set);
    assert_int_equal(hits, 64);
    assert_int_equal(json_object_size(o), 998 + 64);
    assert_int_equal(json_integer_value(json_object_get(o, "[scrubbed]")), 10000);
    assert_int_equal(json_integer_value(json_object_get(o, "[scrubbed] (1000)")), 10001);
    assert_int_equal(json_integer_value(json_object_get(o, "[scrubbed] (1062)")), 10063);
    json_decref(o);
    free(text);
    free(want);
}

/* The collector: the declared probe_ip, in every form, keys included; the placeholder scrubs
 * nothing. */
static void
test_probe_ip(void **state)
{
    json_t *m;
    char *text;

    (void)state;
    m = load("{\"probe_ip\":\"2001:0DB8:0000:0000:0000:0000:0000:0077\",\"test_keys\":{\"control\":"
             "{\"tcp_connect\":{\"[2001:db8::77]:443\":{\"status\":true}}},\"note\":\"from "
             "2001:db8::77, not 2001:db8::7\"}}");
    vg_rec_scrub_probe_ip(m);
    text = json_dumps(m, JSON_COMPACT);
    assert_string_equal(text, "{\"probe_ip\":\"127.0.0.1\",\"test_keys\":{\"control\":"
                              "{\"tcp_connect\":{\"[[scrubbed]]:443\":{\"status\":true}}},"
                              "\"note\":\"from [scrubbed], not 2001:db8::7\"}}");
    free(text);
    json_decref(m);
    m = load("{\"probe_ip\":\"127.0.0.1\",\"a\":\"127.0.0.1:80\"}");
    vg_rec_scrub_probe_ip(m);
    text = json_dumps(m, JSON_COMPACT);
    assert_string_equal(text, "{\"probe_ip\":\"127.0.0.1\",\"a\":\"127.0.0.1:80\"}");
    free(text);
    json_decref(m);
    m = load("{\"probe_ip\":[\"192.0.2.7\"],\"a\":\"192.0.2.7\"}");
    vg_rec_scrub_probe_ip(m);
    text = json_dumps(m, JSON_COMPACT);
    assert_string_equal(text, "{\"probe_ip\":\"127.0.0.1\",\"a\":\"192.0.2.7\"}");
    free(text);
    json_decref(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holes),    cmocka_unit_test(test_key_collisions),
        cmocka_unit_test(test_bodies),   cmocka_unit_test(test_no_match_no_copy),
        cmocka_unit_test(test_probe_ip), cmocka_unit_test(test_hostile_texts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
