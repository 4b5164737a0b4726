/* SPDX-License-Identifier: MIT */
/*
 * test_asn.c - vg_asn_open / vg_asn_lookup (lib/meas/asn.c) on real MaxMind DB files, written
 * before this test by tests/tools/mkmmdb.py from the specs in tests/data/mmdb into $VG_TEST_MMDB
 * (CTest fixture unit.fixture-mmdb): one file with ASN and country (IPv6 tree, 24-bit records),
 * an ASN-only file (IPv4 tree, 28 bits), a country-only file (32 bits) and one with values of the
 * wrong types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meas/asn.h"
#include "util/err.h"
#include "vgtest.h"

static char g_path[4][512];

static const char *
db_path(const char *name)
{
    static unsigned next;
    const char *dir = getenv("VG_TEST_MMDB");
    char *p = g_path[next++ % 4];

    assert_non_null(dir);
    snprintf(p, sizeof(g_path[0]), "%s/%s.mmdb", dir, name);
    return p;
}

static struct vg_asn_db *
open_db(const char *asn_name, const char *country_name)
{
    struct vg_asn_db *db = NULL;
    char err[512];
    int rc =
        vg_asn_open(asn_name != NULL ? db_path(asn_name) : NULL,
                    country_name != NULL ? db_path(country_name) : NULL, &db, err, sizeof(err));

    if (rc != 0) {
        fail_msg("vg_asn_open: %s", err);
    }
    assert_non_null(db);
    return db;
}

static void
expect(const struct vg_asn_db *db, const char *ip, uint32_t asn, const char *org, const char *cc)
{
    struct vg_asn_info info;

    assert_int_equal(vg_asn_lookup(db, ip, &info), 0);
    if (info.asn != asn || strcmp(info.org, org) != 0 || strcmp(info.cc, cc) != 0) {
        fail_msg("%s: got AS%u \"%s\" %s, want AS%u \"%s\" %s", ip, (unsigned)info.asn, info.org,
                 info.cc, (unsigned)asn, org, cc);
    }
}

static void
test_combined(void **state)
{
    struct vg_asn_db *db = open_db("asn-country", NULL);

    (void)state;
    expect(db, "192.0.2.2", 64496, "Lab ISP", "XA");
    expect(db, "192.0.2.127", 64496, "Lab ISP", "XA");
    /* the more specific network wins */
    expect(db, "192.0.2.128", 64497, "Lab Control Network", "XB");
    expect(db, "192.0.2.255", 64497, "Lab Control Network", "XB");
    /* ASN without a country, a country without an ASN */
    expect(db, "198.51.100.30", 64500, "Lab CDN", "");
    expect(db, "203.0.113.9", 0, "", "XC");
    expect(db, "2001:db8::1", 64501, "Lab IPv6 Transit", "XB");
    /* IPv4-mapped IPv6 is looked up as IPv4 */
    expect(db, "::ffff:192.0.2.2", 64496, "Lab ISP", "XA");
    /* the database decides; bogons are the caller's business */
    expect(db, "10.1.2.3", 64502, "A private network in a database", "");
    /* not in the database */
    expect(db, "8.8.8.8", 0, "", "");
    expect(db, "2a00:1450::1", 0, "", "");
    expect(db, "0.0.0.0", 0, "", "");
    vg_asn_free(db);
}

static void
test_two_files(void **state)
{
    struct vg_asn_db *db;

    (void)state;
    /* ASN from the ASN file, country from the country file */
    db = open_db("asn-v4", "country");
    expect(db, "192.0.2.2", 64510, "Other ISP", "XD");
    /* registered_country when there is no located country; codes upper-cased */
    expect(db, "198.51.100.1", 64511, "Other CDN", "XE");
    expect(db, "198.51.100.200", 0, "", "XE");
    expect(db, "203.0.113.1", 0, "", "XF");
    /* an IPv4-only file knows nothing of IPv6 and says so without failing */
    expect(db, "2001:db8::1", 0, "", "XG");
    vg_asn_free(db);

    /* each file falls back to the other: the ASN file's country, the country file's ASN */
    db = open_db("asn-v4", "asn-country");
    expect(db, "192.0.2.2", 64510, "Other ISP", "XA");
    expect(db, "198.51.100.200", 64500, "Lab CDN", "");
    vg_asn_free(db);
    db = open_db("asn-country", "country");
    expect(db, "192.0.2.2", 64496, "Lab ISP", "XD");
    expect(db, "198.51.100.200", 64500, "Lab CDN", "XE");
    vg_asn_free(db);

    /* a country file alone */
    db = open_db(NULL, "country");
    expect(db, "192.0.2.2", 0, "", "XD");
    vg_asn_free(db);
}

static void
test_hostile_values(void **state)
{
    struct vg_asn_db *db = open_db("hostile", NULL);
    struct vg_asn_info info;

    (void)state;
    /* an ASN that is a string, zero, past 32 bits, negative, a map: unknown */
    expect(db, "198.51.100.1", 0, "", "");
    expect(db, "198.51.100.2", 0, "", "");
    expect(db, "198.51.100.3", 0, "", "");
    expect(db, "198.51.100.4", 0, "", "");
    expect(db, "198.51.100.9", 0, "", "");
    /* an invalid byte becomes U+FFFD; a country code must be two letters */
    expect(db, "198.51.100.5", 64505, "Bad \xef\xbf\xbd name", "");
    /* a long name is cut before a character that does not fit whole */
    assert_int_equal(vg_asn_lookup(db, "198.51.100.6", &info), 0);
    assert_int_equal(info.asn, 64506);
    assert_int_equal(strlen(info.org), 126);
    assert_int_equal(strncmp(info.org, "\xc3\xa9\xc3\xa9", 4), 0);
    assert_string_equal(info.cc, "");
    /* ipinfo's layout: "AS13335", as_name, a flat country */
    expect(db, "198.51.100.7", 13335, "Cloudflare, Inc.", "US");
    expect(db, "198.51.100.8", 0, "", "");
    vg_asn_free(db);
}

static void
test_bad_input(void **state)
{
    struct vg_asn_db *db = open_db("asn-country", NULL);
    struct vg_asn_info info;

    (void)state;
    memset(&info, 0x55, sizeof(info));
    assert_int_equal(vg_asn_lookup(db, "not an address", &info), VG_EINVAL);
    assert_int_equal(info.asn, 0);
    assert_string_equal(info.org, "");
    assert_int_equal(vg_asn_lookup(db, "192.0.2.2:443", &info), VG_EINVAL);
    assert_int_equal(vg_asn_lookup(db, "", &info), VG_EINVAL);
    assert_int_equal(vg_asn_lookup(db, NULL, &info), VG_EINVAL);
    assert_int_equal(vg_asn_lookup(NULL, "192.0.2.2", &info), VG_EINVAL);
    vg_asn_free(db);
    vg_asn_free(NULL);
}

static void
test_open_errors(void **state)
{
    struct vg_asn_db *db = (struct vg_asn_db *)&db;
    const char *data = getenv("VG_TEST_MMDB");
    char err[512], spec[600];

    (void)state;
    assert_int_equal(vg_asn_open(NULL, NULL, &db, err, sizeof(err)), VG_EINVAL);
    assert_null(db);
    assert_int_equal(vg_asn_open("/nonexistent/asn.mmdb", NULL, &db, err, sizeof(err)), VG_EINVAL);
    assert_null(db);
    assert_non_null(strstr(err, "cannot read ASN database /nonexistent/asn.mmdb"));
    /* a good ASN file and a bad country file: nothing is kept open */
    assert_int_equal(
        vg_asn_open(db_path("asn-country"), "/nonexistent/c.mmdb", &db, err, sizeof(err)),
        VG_EINVAL);
    assert_null(db);
    assert_non_null(strstr(err, "country database"));
    /* a file that is not a MaxMind DB (the spec the database was made from) */
    assert_non_null(data);
    snprintf(spec, sizeof(spec), "%s", getenv("VG_TEST_DATA"));
    snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "/mmdb/asn-country.txt");
    assert_int_equal(vg_asn_open(spec, NULL, &db, err, sizeof(err)), VG_EINVAL);
    assert_null(db);
    assert_non_null(strstr(err, "is not a MaxMind DB file"));
}

/* A search tree whose first node points past the data section: the lookup fails cleanly. */
static void
test_corrupt_tree(void **state)
{
    char path[] = "/tmp/vigie-test-asn-XXXXXX";
    unsigned char buf[8192];
    struct vg_asn_db *db;
    struct vg_asn_info info;
    char err[512];
    FILE *f = fopen(db_path("asn-country"), "rb");
    size_t n;
    int fd;

    (void)state;
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(n > 6 && n < sizeof(buf));
    memset(buf, 0xff, 6); /* node 0, 24-bit records: both point far past the data */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
    assert_int_equal(vg_asn_open(path, NULL, &db, err, sizeof(err)), 0);
    assert_int_equal(vg_asn_lookup(db, "192.0.2.2", &info), VG_EPROTO);
    assert_int_equal(info.asn, 0);
    assert_int_equal(vg_asn_lookup(db, "2001:db8::1", &info), VG_EPROTO);
    vg_asn_free(db);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_combined),       cmocka_unit_test(test_two_files),
        cmocka_unit_test(test_hostile_values), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_open_errors),    cmocka_unit_test(test_corrupt_tree),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
