/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the collector's store (server/store*.c). Pure tests of the row extraction, then
 * ONE suite run against every backend: SQLite on a temporary file always, PostgreSQL when
 * VG_TEST_PG holds a libpq conninfo or URL (scripts/pg-test-server starts one). With --pg only
 * PostgreSQL runs, and a missing VG_TEST_PG is a failure, not a skip. With --ch, the subset that
 * ClickHouse has (ch_tests) runs against VG_TEST_CH (run_ch; skipped without a server).
 *
 * After every backend test, vg_store_integrity_check must pass: the aggregate and latest-state
 * tables agree with the measurements whatever the test did.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "store_events.h"
#include "store_impl.h"
#include "util/buf.h"
#include "util/crypto.h"
#include "util/str.h"
#include "vgtest.h"

/* ---------------------------------------------------------------------------------------- */
/* Measurements for the tests */

struct m {
    const char *input;
    const char *cc;
    unsigned asn;
    const char *time;    /* "YYYY-MM-DD hh:mm:ss" */
    const char *verdict; /* NULL: no x_verdict */
    const char *id;      /* the measurement's "id" or NULL */
    int trial;           /* makes otherwise equal measurements differ */
};

/* A vigie-shaped measurement (docs/output.md), trimmed to what the store reads plus some bulk. */
static char *
mk(const struct m *m)
{
    json_t *o = json_pack(
        "{s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
        " s:{s:[{s:s, s:s, s:[]}], s:i, s:b, s:b, s:s, s:s, s:s}, s:f}",
        "annotations", "engine_name", "vigie", "engine_version", "0.1.0", "platform", "linux",
        "data_format_version", "0.2.0", "input", m->input, "measurement_start_time", m->time,
        "probe_asn", "AS0", "probe_cc", m->cc, "probe_ip", "127.0.0.1", "report_id",
        "20261129T111346Z_webconnectivity_ZZ_0_n1_abc", "software_name", "vigie",
        "software_version", "0.1.0", "test_name", "web_connectivity", "test_start_time", m->time,
        "test_keys", "queries", "hostname", "www.example.com", "engine", "udp", "answers",
        "x_trial", m->trial, "blocking", 0, "accessible", 1, "x_verdict",
        m->verdict != NULL ? m->verdict : "accessible", "x_cause", "tls.mitm", "x_evidence",
        "some evidence sentence that makes the raw measurement a little longer than nothing",
        "test_runtime", 0.5);
    char asn[16];
    char *s;

    snprintf(asn, sizeof(asn), "AS%u", m->asn);
    json_object_set_new(o, "probe_asn", json_string(asn));
    if (m->verdict == NULL) {
        json_object_del(json_object_get(o, "test_keys"), "x_verdict");
    }
    if (strcmp(m->verdict != NULL ? m->verdict : "", "blocked") == 0) {
        json_object_set_new(json_object_get(o, "test_keys"), "blocking", json_string("dns"));
        json_object_set_new(json_object_get(o, "test_keys"), "accessible", json_false());
    }
    if (m->id != NULL) {
        json_object_set_new(o, "id", json_string(m->id));
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Rows keep pointers into their JSON: keep both together. */
struct row {
    char *json;
    struct vg_store_meas r;
};

static void
row_make(struct row *w, const struct m *m, int64_t received_us)
{
    char err[256];

    w->json = mk(m);
    assert_int_equal(
        vg_store_meas_from_json(w->json, strlen(w->json), received_us, &w->r, err, sizeof(err)), 0);
}

static void
row_free(struct row *w)
{
    free(w->json);
    w->json = NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Pure tests */

static void
test_sha512_known_answers(void **state)
{
    /* FIPS 180-4 examples, and the two-block padding edge (112 bytes). */
    static const char *abc = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
    static const char *empty = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                               "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    static const char *two = "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                             "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909";
    static const char *msg = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                             "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    uint8_t d[64];
    char hex[129];

    (void)state;
    vg_sha512("abc", 3, d);
    vg_hex(d, 64, hex);
    assert_string_equal(hex, abc);
    vg_sha512("", 0, d);
    vg_hex(d, 64, hex);
    assert_string_equal(hex, empty);
    assert_int_equal(strlen(msg), 112);
    vg_sha512(msg, strlen(msg), d);
    vg_hex(d, 64, hex);
    assert_string_equal(hex, two);
    /* Both digests at once (store_row.c: the uid's and the content key's) are the two made
     * apart: "abc" inside a longer text cut out, and no cut at all, with prefixes of 0, 1, 112
     * and 150 bytes (the last past a block). */
    {
        char text[300];
        static const size_t at[] = {0, 1, 112, 150};
        uint8_t whole[64], cut[64], want[64];

        memset(text, 'x', sizeof(text));
        for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
            memcpy(text + at[i], "abc", 3);
            vg_sha512_cut(text, at[i] + 3, at[i], at[i], whole, cut);
            vg_sha512(text, at[i] + 3, want);
            assert_memory_equal(whole, want, 64);
            assert_memory_equal(cut, want, 64);
            vg_sha512_cut(text, sizeof(text), at[i], at[i] + 3, whole, cut);
            vg_sha512(text, sizeof(text), want);
            assert_memory_equal(whole, want, 64);
            vg_sha512_2(text, at[i], text + at[i] + 3, sizeof(text) - at[i] - 3, want);
            assert_memory_equal(cut, want, 64);
            memset(text + at[i], 'x', 3);
        }
        vg_sha512_cut("xabcx", 5, 1, 4, whole, cut);
        vg_sha512("xx", 2, want);
        assert_memory_equal(cut, want, 64);
    }
}

/* The placeholder tuples of the statements over many keys (vg__store_sql_tuples). */
static void
test_sql_tuples(void **state)
{
    struct vg_buf b;

    (void)state;
    vg_buf_init(&b, 64);
    assert_int_equal(vg__store_sql_tuples(&b, "($1, $2)", 2, 2, 1), 0);
    assert_string_equal(vg_buf_cstr(&b), "($2, $3),($4, $5)");
    vg_buf_reset(&b);
    assert_int_equal(vg__store_sql_tuples(&b, "$1", 1, 3, 0), 0);
    assert_string_equal(vg_buf_cstr(&b), "$1,$2,$3");
    vg_buf_reset(&b);
    assert_int_equal(vg__store_sql_tuples(&b, "(CAST($1 AS BIGINT), $10)", 10, 1, 5), 0);
    assert_string_equal(vg_buf_cstr(&b), "(CAST($6 AS BIGINT), $15)");
    vg_buf_reset(&b);
    assert_int_equal(vg__store_sql_tuples(&b, "x", 0, 0, 0), 0); /* no tuple: nothing */
    assert_int_equal(b.len, 0);
    /* past the buffer's bound: an error, never a cut statement that would run */
    assert_int_equal(vg__store_sql_tuples(&b, "($1, $2)", 2, 100, 0), VG_ETOOBIG);
    vg_buf_cleanup(&b);
}

static void
test_url_domain(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"https://www.Example.COM:443/path?q=1", "www.example.com"},
        {"http://user:pw@host.example/", "host.example"},
        {"http://a@b@host.example:80", "host.example"},
        {"https://[2001:DB8::1]:8443/", "2001:db8::1"},
        {"https://example.com./x", "example.com"},
        {"HTTPS://example.com#frag", "example.com"},
        {"http://b\xc3\xbc"
         "cher.de/",
         "b\xc3\xbc"
         "cher.de"},
        {"example.com", ""},
        {"https:///nohost", ""},
        {"https://exa mple.com/", ""},
        {"https://[::1/", ""},
        {"1http://example.com/", ""},
        {"", ""},
    };
    char out[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vg__store_url_domain(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].out);
    }
    vg__store_url_domain("https://a-rather-long-name.example/", out, 8);
    assert_string_equal(out, "");
}

static void
test_from_json_vigie(void **state)
{
    struct m m = {
        "https://www.Example.com/a", "IT", 30722, "2026-11-29 11:13:46", "intercepted", NULL, 1};
    struct row w;
    uint8_t d[64];
    char hex[129], uid[VG_UID_MAX];

    (void)state;
    /* 2026-11-29 11:13:47.000123 UTC */
    row_make(&w, &m, 1795950827000123LL);
    assert_string_equal(w.r.test_name, "web_connectivity");
    assert_string_equal(w.r.probe_cc, "IT");
    assert_int_equal(w.r.probe_asn, 30722);
    assert_int_equal(w.r.start_time, 1795950826);
    assert_true(w.r.has_input);
    assert_string_equal(w.r.input, "https://www.Example.com/a");
    assert_string_equal(w.r.domain, "www.example.com");
    assert_string_equal(w.r.x_verdict, "intercepted");
    assert_string_equal(w.r.x_cause, "tls.mitm");
    assert_string_equal(w.r.blocking, "false");
    assert_int_equal(w.r.accessible, 1);
    assert_string_equal(w.r.software_name, "vigie");
    assert_string_equal(w.r.software_version, "0.1.0");
    assert_string_equal(w.r.report_id, "20261129T111346Z_webconnectivity_ZZ_0_n1_abc");
    assert_ptr_equal(w.r.raw, w.json);
    assert_int_equal(w.r.raw_len, strlen(w.json));
    /* OONI's uid: receive time, cc, test name without '_', 16 hex of the SHA-512 of the bytes */
    vg_sha512(w.json, strlen(w.json), d);
    vg_hex(d, 64, hex);
    snprintf(uid, sizeof(uid), "20261129111347.000123_IT_webconnectivity_%.16s", hex);
    assert_string_equal(w.r.measurement_uid, uid);
    assert_string_equal(w.r.provenance, "anonymous");
    /* the content key: 64 hex digits of the SHA-512 of the measurement without report_id */
    {
        json_t *o = json_loads(w.json, 0, NULL);
        char *t, key[VG_STORE_IDEM_MAX];
        struct vg_store_meas r2;

        json_object_del(o, "report_id");
        t = json_dumps(o, JSON_COMPACT);
        vg_sha512(t, strlen(t), d);
        vg_hex(d, 32, hex);
        snprintf(key, sizeof(key), "h:%s", hex);
        assert_string_equal(w.r.idem_key, key);
        assert_int_equal(strlen(w.r.idem_key), 66);
        /* without report_id, or with another one (a bulk upload of what was submitted to a
         * report): the same measurement */
        assert_int_equal(vg_store_meas_from_json(t, strlen(t), 0, &r2, NULL, 0), 0);
        assert_string_equal(r2.idem_key, key);
        free(t);
        json_object_set_new(o, "report_id", json_string("20261129T000000Z_x_IT_1_n1_other"));
        t = json_dumps(o, JSON_COMPACT);
        assert_int_equal(vg_store_meas_from_json(t, strlen(t), 0, &r2, NULL, 0), 0);
        assert_string_equal(r2.idem_key, key);
        free(t);
        json_decref(o);
    }
    row_free(&w);

    /* a client id is part of the content, never the key alone */
    m.id = "client-id-0001";
    row_make(&w, &m, 0);
    assert_int_equal(strncmp(w.r.idem_key, "h:", 2), 0);
    assert_string_not_equal(w.r.idem_key + 2, hex);
    row_free(&w);
}

/* The content key: the stored text without its top-level report_id member, found by a scan. */
static void
test_content_key(void **state)
{
    static const struct {
        const char *text, *content;
    } cases[] = {
        {"{\"a\":1,\"report_id\":\"X\",\"b\":2}", "{\"a\":1,\"b\":2}"},
        {"{\"report_id\":\"X\",\"b\":2}", "{\"b\":2}"},
        {"{\"a\":1,\"report_id\":\"X\"}", "{\"a\":1}"},
        {"{\"report_id\":\"X\"}", "{}"},
        {"{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":2}"},
        {" { \"a\" : [1,{\"report_id\":\"in\"}] ,\n \"report_id\" : \"X\" , \"b\":{\"c\":\"}\"} } ",
         " { \"a\" : [1,{\"report_id\":\"in\"}] ,\n \"b\":{\"c\":\"}\"} } "},
        {"{\"a\":\"\\\"report_id\\\":\",\"report_id\":null}", "{\"a\":\"\\\"report_id\\\":\"}"},
        {"{\"t\":{\"report_id\":\"nested\"}}", "{\"t\":{\"report_id\":\"nested\"}}"},
        {"[\"report_id\"]", "[\"report_id\"]"},
    };
    char key[VG_STORE_IDEM_MAX], want[VG_STORE_IDEM_MAX], hex[129];
    uint8_t d[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vg__store_content_key(cases[i].text, strlen(cases[i].text), key);
        vg_sha512(cases[i].content, strlen(cases[i].content), d);
        vg_hex(d, 32, hex);
        snprintf(want, sizeof(want), "h:%s", hex);
        if (strcmp(key, want) != 0) {
            fail_msg("case %zu: %s", i, cases[i].text);
        }
    }
}

static int
from(const char *json, struct vg_store_meas *r)
{
    char err[256] = "";
    int rc = vg_store_meas_from_json(json, strlen(json), 1, r, err, sizeof(err));

    if (rc < 0) {
        assert_true(err[0] != '\0'); /* every refusal says why */
    }
    return rc;
}

#define BASE                                                                        \
    "\"test_name\":\"web_connectivity\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\"," \
    "\"measurement_start_time\":\"2026-01-01 00:00:00\""

static void
test_from_json_ooni_verdicts(void **state)
{
    struct vg_store_meas r;

    (void)state;
    /* OONI probes have no x_verdict: OONI's blocking / accessible stay OONI's fields, and the
     * verdict waits for vigie's analysis (unknown, no analyser): never a relabel (issue 14) */
    assert_int_equal(
        from("{" BASE ",\"test_keys\":{\"blocking\":\"dns\",\"accessible\":false}}", &r), 0);
    assert_string_equal(r.x_verdict, "unknown");
    assert_true(vg_store_meas_needs_analysis(&r));
    assert_string_equal(r.blocking, "dns");
    assert_int_equal(r.accessible, 0);
    assert_int_equal(from("{" BASE ",\"test_keys\":{\"blocking\":false,\"accessible\":true}}", &r),
                     0);
    assert_string_equal(r.x_verdict, "unknown");
    assert_string_equal(r.blocking, "false");
    assert_int_equal(r.accessible, 1);
    assert_int_equal(from("{" BASE ",\"test_keys\":{\"blocking\":null,\"accessible\":null}}", &r),
                     0);
    assert_string_equal(r.x_verdict, "unknown");
    assert_string_equal(r.blocking, "");
    assert_int_equal(r.accessible, -1);
    assert_int_equal(from("{" BASE "}", &r), 0);
    assert_string_equal(r.x_verdict, "unknown");
    assert_false(r.has_input);
    assert_string_equal(r.domain, "");
    /* vigie's probe: its verdict is kept (a verdict vigie does not know, from a newer probe, is
     * unknown, not an error) */
    assert_int_equal(from("{" BASE ",\"software_name\":\"vigie\",\"test_keys\":{\"x_verdict\":"
                          "\"weird\"}}",
                          &r),
                     0);
    assert_string_equal(r.x_verdict, "unknown");
    assert_string_equal(r.x_analyzer, VG_STORE_ANALYZER_PROBE);
    assert_int_equal(from("{" BASE ",\"software_name\":\"vigie\",\"test_keys\":{\"x_verdict\":"
                          "\"down\",\"x_cause\":null}}",
                          &r),
                     0);
    assert_string_equal(r.x_verdict, "down");
    assert_false(vg_store_meas_needs_analysis(&r));
    /* another software's x_verdict and x_cause are not vigie's: analysed again */
    assert_int_equal(from("{" BASE ",\"software_name\":\"miniooni\",\"test_keys\":{\"x_verdict\":"
                          "\"blocked\",\"x_cause\":\"dns.nxdomain\"}}",
                          &r),
                     0);
    assert_string_equal(r.x_verdict, "unknown");
    assert_string_equal(r.x_cause, "");
    assert_true(vg_store_meas_needs_analysis(&r));
    /* vigie without x_verdict: analysed too */
    assert_int_equal(from("{" BASE ",\"software_name\":\"vigie\",\"test_keys\":{}}", &r), 0);
    assert_true(vg_store_meas_needs_analysis(&r));
    /* 'T' and 'Z' forms of the time; leap day */
    assert_int_equal(from("{\"test_name\":\"x\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\","
                          "\"measurement_start_time\":\"2024-02-29T23:59:59Z\"}",
                          &r),
                     0);
    assert_int_equal(r.start_time, 1709251199);
    assert_int_equal(from("{" BASE ",\"input\":null}", &r), 0);
    assert_false(r.has_input);
    assert_int_equal(from("{" BASE ",\"probe_asn\":\"AS4294967295\"}", &r), VG_EPROTO);
}

/* The record module's reader (meas/record_read.h), which the row extraction above goes through. */
static void
test_record_summary(void **state)
{
    struct vg_rec_summary sum;
    char err[128], *text;
    json_t *m;

    (void)state;
    m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:b, s:s}}", "test_name", "x_dns",
                  "probe_cc", "IT", "probe_asn", "AS3269", "measurement_start_time",
                  "2026-11-29 11:13:46", "id", "abc-1", "probe_ip", "192.0.2.7", "input",
                  "dns://192.0.2.7/", "test_keys", "x_verdict", "blocked", "accessible", 0,
                  "x_cause", "dns.nxdomain");
    assert_int_equal(vg_rec_summary_read(m, &sum, err, sizeof(err)), 0);
    assert_string_equal(sum.test_name, "x_dns");
    assert_string_equal(sum.probe_cc, "IT");
    assert_int_equal(sum.probe_asn, 3269);
    assert_int_equal(sum.start_time, 1795950826);
    assert_true(sum.has_id);
    assert_string_equal(sum.id, "abc-1");
    assert_true(sum.has_input);
    assert_int_equal(sum.verdict, VG_VERDICT_BLOCKED);
    assert_string_equal(sum.x_cause, "dns.nxdomain");
    assert_string_equal(sum.blocking, "");
    assert_int_equal(sum.accessible, 0);
    assert_string_equal(sum.report_id, "");
    /* The setters the ingest normalises with. */
    vg_rec_set_report_id(m, "r-1");
    vg_rec_scrub_probe_ip(m);
    text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(strstr(text, "\"probe_ip\":\"127.0.0.1\""));
    assert_non_null(strstr(text, "\"input\":\"dns://[scrubbed]/\""));
    assert_null(strstr(text, "192.0.2.7"));
    free(text);
    assert_int_equal(vg_rec_summary_read(m, &sum, err, sizeof(err)), 0);
    assert_string_equal(sum.report_id, "r-1");
    /* A refusal names the field and leaves nothing behind; err may be NULL. */
    json_object_set_new(m, "probe_asn", json_integer(3269));
    memset(&sum, 0x55, sizeof(sum));
    assert_int_equal(vg_rec_summary_read(m, &sum, err, sizeof(err)), VG_EPROTO);
    assert_string_equal(err, "probe_asn is not a string");
    assert_int_equal(sum.test_name[0], '\0');
    assert_int_equal(vg_rec_summary_read(m, &sum, NULL, 0), VG_EPROTO);
    assert_int_equal(vg_rec_summary_read(NULL, &sum, err, sizeof(err)), VG_EPROTO);
    assert_string_equal(err, "measurement is not a JSON object");
    json_decref(m);
}

/* The aggregation's verdict columns: every verdict of the enum once, in the API's order. */
static void
test_verdict_order(void **state)
{
    static const char *const api[] = {"accessible", "blocked", "intercepted", "down", "unknown"};
    unsigned seen = 0;

    (void)state;
    assert_int_equal(VG_STORE_N_VERDICTS, sizeof(api) / sizeof(api[0]));
    for (size_t i = 0; i < VG_STORE_N_VERDICTS; i++) {
        assert_true((unsigned)vg_store_verdict_order[i] < VG_VERDICT_COUNT);
        assert_false(seen & (1u << vg_store_verdict_order[i]));
        seen |= 1u << vg_store_verdict_order[i];
        assert_string_equal(vg_verdict_name(vg_store_verdict_order[i]), api[i]);
    }
}

static void
test_from_json_refusals(void **state)
{
    static const struct {
        const char *json;
        int rc;
    } cases[] = {
        {"", VG_EPROTO},
        {"not json", VG_EPROTO},
        {"[1,2]", VG_EPROTO},
        {"{" BASE ",}", VG_EPROTO},
        {"{\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"web_connectivity\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"Web Connectivity\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"zz\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZZ\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_ETOOBIG},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZ\",\"probe_asn\":0,"
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS-1\","
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS4294967296\","
         "\"measurement_start_time\":\"2026-01-01 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-02-29 00:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-01-01 24:00:00\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"1969-12-31 23:59:59\"}",
         VG_EPROTO},
        {"{\"test_name\":\"w\",\"probe_cc\":\"ZZ\",\"probe_asn\":\"AS0\","
         "\"measurement_start_time\":\"2026-1-01 00:00:00\"}",
         VG_EPROTO},
        {"{" BASE ",\"probe_cc\":\"ZZ\"}", VG_EPROTO}, /* duplicate key */
        {"{" BASE ",\"input\":42}", VG_EPROTO},
        {"{" BASE ",\"report_id\":\"has space\"}", VG_EPROTO},
        {"{" BASE ",\"id\":\"\"}", VG_EPROTO},
        {"{" BASE ",\"id\":\"a b\"}", VG_EPROTO},
        {"{" BASE ",\"test_keys\":[]}", VG_EPROTO},
        {"{" BASE ",\"test_keys\":{\"accessible\":\"yes\"}}", VG_EPROTO},
        {"{" BASE ",\"test_keys\":{\"blocking\":1}}", VG_EPROTO},
        {"{" BASE ",\"test_keys\":{\"blocking\":\"\"}}", VG_EPROTO},
        {"{" BASE ",\"test_keys\":{\"x_verdict\":7}}", VG_EPROTO},
        {"{" BASE ",\"test_keys\":{\"x_cause\":\"a\\u0001\"}}", VG_EPROTO},
    };
    struct vg_store_meas r;
    char *big;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0x55, sizeof(r));
        if (from(cases[i].json, &r) != cases[i].rc) {
            fail_msg("case %zu: %s", i, cases[i].json);
        }
        assert_null(r.raw); /* nothing half-filled on failure */
    }
    /* an input over VG_STORE_INPUT_MAX bytes */
    n = VG_STORE_INPUT_MAX + 100;
    big = calloc(1, n + 200);
    snprintf(big, n + 200, "{" BASE ",\"input\":\"https://a.example/");
    memset(big + strlen(big), 'a', VG_STORE_INPUT_MAX);
    memcpy(big + strlen(big), "\"}", 3);
    assert_int_equal(from(big, &r), VG_ETOOBIG);
    free(big);
    /* a measurement over VG_STORE_MEAS_MAX bytes is refused before parsing */
    assert_int_equal(vg_store_meas_from_json("{}", (size_t)VG_STORE_MEAS_MAX + 1, 0, &r, NULL, 0),
                     VG_ETOOBIG);
}

static void
test_axes(void **state)
{
    enum vg_store_axis a;

    (void)state;
    assert_int_equal(vg_store_axis_parse("measurement_day", &a), 0);
    assert_int_equal(a, VG_AXIS_DAY);
    assert_int_equal(vg_store_axis_parse("x_verdict", &a), 0);
    assert_int_equal(a, VG_AXIS_VERDICT);
    assert_int_equal(vg_store_axis_parse(NULL, &a), 0);
    assert_int_equal(a, VG_AXIS_NONE);
    assert_int_equal(vg_store_axis_parse("input", &a), VG_EINVAL);
    assert_string_equal(vg_store_axis_name(VG_AXIS_ASN), "probe_asn");
    assert_string_equal(vg_store_strerror(VG_STORE_EUNAVAIL), "database unavailable");
    assert_string_equal(vg_store_strerror(VG_EINVAL), "invalid argument");
}

/* ---------------------------------------------------------------------------------------- */
/* Backends */

static const char *g_pg;   /* conninfo / URL of the PostgreSQL test database */
static char g_sqlite[512]; /* temporary database file */
static bool g_is_pg;       /* the suite now runs against PostgreSQL */
static bool g_is_ch;       /* the ClickHouse subset now runs (ch_tests) */
static char g_spec[1024];  /* what vg_store_open gets */

static int
ch_on_scalar(void *arg, size_t set, const struct vg__val *cols, size_t ncols)
{
    (void)set;
    if (ncols >= 1 && cols[0].t == VG__INT) {
        *(int64_t *)arg = cols[0].i;
    }
    return 0;
}

/* ClickHouse: through the backend's own connection (there is no other client library). */
static int64_t
ch_scalar(const char *sql)
{
    struct vg__conn *c;
    char err[256];
    int64_t v = -1;

    if (vg__store_ch_ops.connect(g_spec, NULL, false, &c, err, sizeof(err)) != 0) {
        fail_msg("clickhouse: %s", err);
    }
    if (vg__store_ch_ops.run(c, sql, 0, 1, 0, NULL, ch_on_scalar, &v) != 0) {
        fail_msg("%s: %s", sql, vg__store_ch_ops.errmsg(c));
    }
    vg__store_ch_ops.disconnect(c);
    return v;
}

/* Direct access to the database under test, around the store (setup, fault injection). */
static int64_t
raw_scalar(const char *sql)
{
    int64_t v = -1;

    if (g_is_ch) {
        return ch_scalar(sql);
    }
    if (g_is_pg) {
        PGconn *c = PQconnectdb(g_pg);
        PGresult *r;

        PQclear(PQexec(c, "SET client_min_messages = warning"));
        r = PQexec(c, sql);

        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        } else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        }
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db;
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_open(g_sqlite, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    return v;
}

static void
raw_exec(const char *sql)
{
    (void)raw_scalar(sql);
}

/* Every table and view of store_ch_schema.c, views first. */
static const char *const ch_tables[] = {"target_history_mv",
                                        "agg_hourly_mv",
                                        "agg_daily_domain_mv",
                                        "agg_daily_net_mv",
                                        "agg_daily_cc_domain_mv",
                                        "agg_target_hourly_mv",
                                        "schema_version",
                                        "reports",
                                        "measurements",
                                        "agg_hourly",
                                        "agg_daily_domain",
                                        "agg_daily_net",
                                        "agg_daily_cc_domain",
                                        "agg_target_hourly",
                                        "targets",
                                        "alert_events",
                                        "alert_cursor",
                                        "reanalyze_progress",
                                        "blobs",
                                        "raw_dicts",
                                        "target_history"};

static void
backend_reset(void)
{
    if (g_is_ch) {
        for (size_t i = 0; i < sizeof(ch_tables) / sizeof(ch_tables[0]); i++) {
            char sql[128];

            snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", ch_tables[i]);
            raw_exec(sql);
        }
    } else if (g_is_pg) {
        raw_exec("DROP SCHEMA public CASCADE");
        raw_exec("CREATE SCHEMA public");
    } else {
        char p[600];

        unlink(g_sqlite);
        snprintf(p, sizeof(p), "%s-wal", g_sqlite);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", g_sqlite);
        unlink(p);
    }
}

static struct vg_store *
open_store(const struct vg_store_opts *o)
{
    struct vg_store *s = NULL;
    char err[512];
    int rc = vg_store_open(g_spec, o, &s, err, sizeof(err));

    if (rc != 0) {
        /* not the spec: a ClickHouse URL holds its password */
        fail_msg("vg_store_open: %s: %s", vg_store_strerror(rc), err);
    }
    return s;
}

static int
setup(void **state)
{
    backend_reset();
    *state = open_store(NULL);
    return 0;
}

static int
teardown(void **state)
{
    struct vg_store *s = *state;
    char err[512];
    int rc = vg_store_integrity_check(s, err, sizeof(err));

    if (rc != 0) {
        fail_msg("integrity check: %s: %s", vg_store_strerror(rc), err);
    }
    vg_store_close(s);
    return 0;
}

static void
teardown_check(struct vg_store *s)
{
    char err[512];
    int rc = vg_store_integrity_check(s, err, sizeof(err));

    if (rc != 0) {
        fail_msg("integrity check: %s: %s", vg_store_strerror(rc), err);
    }
}

/* Measurement i of test_raw_blobs: one of three certificate chains (a long base64 string each,
 * the same for every measurement of its site). */
static char *
mk_with_cert_for(int i, const char *input)
{
    struct m m = {input, "IT", 30722, "2026-11-29 11:13:46", NULL, NULL, i};
    json_t *o;
    char *json, cert[1201];

    json = mk(&m);
    o = json_loads(json, 0, NULL);
    free(json);
    for (size_t k = 0; k < sizeof(cert) - 1; k++) {
        cert[k] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            [(k * 7 + (size_t)(i % 3) * 13 + k / 5) % 64];
    }
    cert[sizeof(cert) - 1] = '\0';
    json_object_set_new(
        json_object_get(o, "test_keys"), "tls_handshakes",
        json_pack("[{s:[{s:s, s:s}]}]", "peer_certificates", "data", cert, "format", "base64"));
    json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return json;
}

static char *
mk_with_cert(int i)
{
    return mk_with_cert_for(i, "https://www.example.com/");
}

/* The rows of a table keyed by content: on ClickHouse, where a repeated INSERT is collapsed by
 * the engine (store_ch_schema.c), as FINAL sees them. */
static int64_t
count_distinct(const char *table)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s%s", table, g_is_ch ? " FINAL" : "");
    return raw_scalar(sql);
}

/* Every stored text comes back byte for byte. */
static void
check_raws(struct vg_store *s, char **json, char (*uids)[VG_UID_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *raw;
        size_t len;

        assert_int_equal(vg_store_get_raw(s, uids[i], &raw, &len), 0);
        assert_int_equal(len, strlen(json[i]));
        assert_memory_equal(raw, json[i], len);
        free(raw);
    }
}

/* Schema 7 (server/store_raw.h): certificates stored once in blobs, a dictionary trained from
 * the first measurements and kept in raw_dicts, found again after a restart. */
static void
test_raw_blobs(void **state)
{
    enum { N = 300, BATCH = 50, MORE = 10 };
    struct vg_store *s = *state;
    char **json = calloc(N + MORE, sizeof(*json));
    char(*uids)[VG_UID_MAX] = calloc(N + MORE, sizeof(*uids));
    struct vg_store_meas *rows = calloc(N + MORE, sizeof(*rows));
    int64_t raw_total = 0, stored;

    for (size_t i = 0; i < N + MORE; i++) {
        json[i] = mk_with_cert((int)i);
        raw_total += i < N ? (int64_t)strlen(json[i]) : 0;
        assert_int_equal(vg_store_meas_from_json(json[i], strlen(json[i]), 1, &rows[i], NULL, 0),
                         0);
    }
    for (size_t i = 0; i < N; i += BATCH) {
        assert_int_equal(vg_store_insert(s, rows + i, BATCH, uids + i), BATCH);
    }
    assert_int_equal(count_distinct("blobs"), 3);
    assert_int_equal(count_distinct("raw_dicts"), 1);
    assert_int_equal(raw_scalar(g_is_ch   ? "SELECT COUNT(*) FROM measurements"
                                            " WHERE substring(raw, 1, 1) = '\\x01'"
                                : g_is_pg ? "SELECT COUNT(*) FROM measurements"
                                            " WHERE get_byte(raw, 0) = 1"
                                          : "SELECT COUNT(*) FROM measurements"
                                            " WHERE substr(raw, 1, 1) = x'01'"),
                     N);
    stored = raw_scalar(g_is_pg ? "SELECT SUM(octet_length(raw)) FROM measurements"
                                : "SELECT SUM(length(raw)) FROM measurements");
    assert_true(stored * 3 < raw_total);
    /* the rows after the dictionary: a fraction of the first ones */
    {
        char sql[256];
        int64_t first, last;

        snprintf(sql, sizeof(sql), "SELECT %s(raw) FROM measurements WHERE measurement_uid = '%s'",
                 g_is_pg ? "octet_length" : "length", uids[0]);
        first = raw_scalar(sql);
        snprintf(sql, sizeof(sql), "SELECT %s(raw) FROM measurements WHERE measurement_uid = '%s'",
                 g_is_pg ? "octet_length" : "length", uids[N - 1]);
        last = raw_scalar(sql);
        print_message("stored form: %lld bytes before the dictionary, %lld after\n",
                      (long long)first, (long long)last);
        assert_true(last * 2 < first);
    }
    check_raws(s, json, uids, N);

    /* a restart: the dictionary and the blobs come from the database */
    vg_store_close(s);
    *state = s = open_store(NULL);
    check_raws(s, json, uids, N);
    assert_int_equal(vg_store_insert(s, rows + N, MORE, uids + N), MORE);
    check_raws(s, json, uids, N + MORE);
    assert_int_equal(count_distinct("raw_dicts"), 1);
    assert_int_equal(count_distinct("blobs"), 3);
    if (g_is_ch) {
        /* ClickHouse keeps a row inserted again (a restart's dictionary, a group run again)
         * beside the first until it merges them: every measurement still reads back */
        raw_exec("INSERT INTO raw_dicts SELECT * FROM raw_dicts");
        raw_exec("INSERT INTO blobs SELECT * FROM blobs");
        vg_store_close(s);
        *state = s = open_store(NULL);
        check_raws(s, json, uids, N + MORE);
    }

    /* a row whose blob went missing is an error, not a crash, and the integrity check names it */
    raw_exec(g_is_ch ? "CREATE TABLE blobs_saved ENGINE = Memory AS SELECT * FROM blobs"
                     : "CREATE TABLE blobs_saved AS SELECT * FROM blobs");
    raw_exec(g_is_ch ? "TRUNCATE TABLE blobs" : "DELETE FROM blobs");
    vg_store_close(s);
    *state = s = open_store(NULL);
    {
        char *raw = (char *)1;
        char err[512];

        assert_int_equal(vg_store_get_raw(s, uids[0], &raw, NULL), VG_EINTERNAL);
        assert_null(raw);
        assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
        assert_non_null(strstr(err, "does not read back"));
    }
    /* put back, the check passes again (teardown) */
    raw_exec("INSERT INTO blobs SELECT * FROM blobs_saved");
    raw_exec("DROP TABLE blobs_saved");
    vg_store_close(s);
    *state = s = open_store(NULL);
    for (size_t i = 0; i < N + MORE; i++) {
        free(json[i]);
    }
    free(json);
    free(uids);
    free(rows);
}

/* A transaction that fails after writing a row's blob: the blob goes with it, and the next row
 * with that certificate writes it again (the writer must not think it stored). */
static void
test_raw_blob_rollback(void **state)
{
    struct vg_store *s = *state;
    char *bad = mk_with_cert_for(1, "https://fail.example/"), *good = mk_with_cert(4), *raw;
    struct vg_store_meas rb, rg;
    char uid[1][VG_UID_MAX];

    if (g_is_pg) {
        raw_exec("CREATE FUNCTION vg_test_fail() RETURNS trigger AS $$ BEGIN IF NEW.input ="
                 " 'https://fail.example/' THEN RAISE EXCEPTION 'refused' USING ERRCODE ="
                 " '23514'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql");
        raw_exec("CREATE TRIGGER vg_test_fail BEFORE INSERT ON measurements FOR EACH ROW"
                 " EXECUTE FUNCTION vg_test_fail()");
    } else {
        raw_exec("CREATE TRIGGER vg_test_fail BEFORE INSERT ON measurements WHEN NEW.input ="
                 " 'https://fail.example/' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    }
    assert_int_equal(vg_store_meas_from_json(bad, strlen(bad), 1, &rb, NULL, 0), 0);
    assert_int_equal(vg_store_meas_from_json(good, strlen(good), 1, &rg, NULL, 0), 0);
    assert_true(vg_store_insert(s, &rb, 1, NULL) < 0);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM blobs"), 0);
    raw_exec(g_is_pg ? "DROP TRIGGER vg_test_fail ON measurements" : "DROP TRIGGER vg_test_fail");
    if (g_is_pg) {
        raw_exec("DROP FUNCTION vg_test_fail");
    }
    assert_int_equal(vg_store_insert(s, &rg, 1, uid), 1); /* same certificate (4 % 3 == 1) */
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM blobs"), 1);
    assert_int_equal(vg_store_get_raw(s, uid[0], &raw, NULL), 0);
    assert_string_equal(raw, good);
    free(raw);
    free(bad);
    free(good);
}

/* Certificate text number seed: 400 characters of [A-Za-z0-9] (no escapes: the blob is the text).
 */
static void
cert_text(unsigned seed, char out[401])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    for (size_t k = 0; k < 400; k++) {
        out[k] = b64[(k * 11 + seed * 31 + k * seed / 7) % 62];
    }
    out[400] = '\0';
}

/* A measurement of report report whose chain holds the certificates certs[n], in that order. */
static char *
mk_chain(int trial, const char *input, const char *report, const unsigned *certs, size_t n)
{
    struct m m = {input, "IT", 30722, "2026-11-29 11:13:46", NULL, NULL, trial};
    json_t *o, *chain = json_array();
    char *json = mk(&m), cert[401];

    o = json_loads(json, 0, NULL);
    free(json);
    for (size_t k = 0; k < n; k++) {
        cert_text(certs[k], cert);
        json_array_append_new(chain, json_pack("{s:s, s:s}", "data", cert, "format", "base64"));
    }
    json_object_set_new(json_object_get(o, "test_keys"), "tls_handshakes",
                        json_pack("[{s:o}]", "peer_certificates", chain));
    json_object_set_new(o, "report_id", json_string(report));
    json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return json;
}

static void
insert_json(struct vg_store *s, const char *json, char *uid)
{
    struct vg_store_meas r;

    assert_int_equal(vg_store_meas_from_json(json, strlen(json), 1, &r, NULL, 0), 0);
    assert_int_equal(vg_store_insert(s, &r, 1, (char(*)[VG_UID_MAX])uid), 1);
}

/* The writer inserts a transaction's blobs sorted by hash, whatever their order in the rows
 * (review of int18, finding 1): the inserted rows come in that order (rowid, ctid). */
static void
test_raw_blob_order(void **state)
{
    enum { NC = 40 };
    struct vg_store *s = *state;
    unsigned certs[NC];
    char *json, uid[1][VG_UID_MAX];

    for (unsigned k = 0; k < NC; k++) {
        certs[k] = k + 1;
    }
    json = mk_chain(1, "https://order.example/", "20261129T111346Z_webconnectivity_ZZ_0_n1_abc",
                    certs, NC);
    insert_json(s, json, uid[0]);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM blobs"), NC);
    assert_int_equal(raw_scalar(g_is_pg ? "SELECT COUNT(*) FROM blobs a, blobs b"
                                          " WHERE a.ctid < b.ctid AND a.hash > b.hash"
                                        : "SELECT COUNT(*) FROM blobs a, blobs b"
                                          " WHERE a.rowid < b.rowid AND a.hash > b.hash"),
                     0);
    check_raws(s, &json, uid, 1);
    free(json);
}

/* Rows naming more than 16 dictionaries in one database all decode (a process once knew 16 at
 * most: finding 2). Each round's store trains a dictionary; they are set aside between rounds so
 * that the next store trains its own, and all put back at the end. */
static void
test_raw_many_dicts(void **state)
{
    enum { NDICT = 18, N = 260, BATCH = 52 };
    struct vg_store *s = *state;
    char **json = calloc(NDICT * N, sizeof(*json));
    char(*uids)[VG_UID_MAX] = calloc(NDICT * N, sizeof(*uids));
    struct vg_store_meas *rows = calloc(N, sizeof(*rows));

    raw_exec("CREATE TABLE vg_test_dicts AS SELECT * FROM raw_dicts WHERE 1 = 0");
    for (size_t d = 0; d < NDICT; d++) {
        char input[64];

        snprintf(input, sizeof(input), "https://d%zu.example/", d);
        for (size_t i = 0; i < N; i++) {
            char **j = &json[d * N + i];

            *j = mk_with_cert_for((int)(d * N + i), input);
            assert_int_equal(vg_store_meas_from_json(*j, strlen(*j), 1, &rows[i], NULL, 0), 0);
        }
        for (size_t i = 0; i < N; i += BATCH) {
            assert_int_equal(vg_store_insert(s, rows + i, BATCH, uids + d * N + i), BATCH);
        }
        vg_store_close(s);
        assert_int_equal(raw_scalar("SELECT COUNT(*) FROM raw_dicts"), 1);
        raw_exec("INSERT INTO vg_test_dicts SELECT * FROM raw_dicts");
        raw_exec("DELETE FROM raw_dicts");
        *state = s = open_store(NULL);
    }
    raw_exec("INSERT INTO raw_dicts SELECT * FROM vg_test_dicts");
    raw_exec("DROP TABLE vg_test_dicts");
    assert_int_equal(raw_scalar("SELECT COUNT(DISTINCT id) FROM raw_dicts"), NDICT);
    vg_store_close(s);
    *state = s = open_store(NULL);
    check_raws(s, json, uids, NDICT * N);
    for (size_t i = 0; i < NDICT * N; i++) {
        free(json[i]);
    }
    free(json);
    free(uids);
    free(rows);
}

/* The first look for the database's dictionary fails (raw_dicts gone for a moment): the next
 * encode looks again and uses it, instead of training a dictionary of its own (finding 2). */
static void
test_raw_dict_retry(void **state)
{
    enum { N = 300, BATCH = 50 };
    struct vg_store *s = *state;
    char **json = calloc(2 * N + 1, sizeof(*json));
    char(*uids)[VG_UID_MAX] = calloc(2 * N + 1, sizeof(*uids));
    struct vg_store_meas *rows = calloc(2 * N + 1, sizeof(*rows));

    for (size_t i = 0; i < 2 * N + 1; i++) {
        json[i] = mk_with_cert((int)i);
        assert_int_equal(vg_store_meas_from_json(json[i], strlen(json[i]), 1, &rows[i], NULL, 0),
                         0);
    }
    for (size_t i = 0; i < N; i += BATCH) {
        assert_int_equal(vg_store_insert(s, rows + i, BATCH, uids + i), BATCH);
    }
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM raw_dicts"), 1);
    vg_store_close(s);
    *state = s = open_store(NULL);
    raw_exec("ALTER TABLE raw_dicts RENAME TO vg_test_hidden");
    assert_int_equal(vg_store_insert(s, rows + N, 1, uids + N), 1); /* without a dictionary */
    raw_exec("ALTER TABLE vg_test_hidden RENAME TO raw_dicts");
    for (size_t i = N + 1; i < 2 * N + 1; i += BATCH) {
        assert_int_equal(vg_store_insert(s, rows + i, BATCH, uids + i), BATCH);
    }
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM raw_dicts"), 1); /* none trained */
    check_raws(s, json, uids, 2 * N + 1);
    for (size_t i = 0; i < 2 * N + 1; i++) {
        free(json[i]);
    }
    free(json);
    free(uids);
    free(rows);
}

struct ins_thread {
    struct vg_store *s;
    const char *json;
    char uid[VG_UID_MAX];
};

static void *
ins_thread_main(void *arg)
{
    struct ins_thread *t = arg;

    insert_json(t->s, t->json, t->uid);
    return NULL;
}

/* Wait until as many of this database's sessions wait on a lock (want) or as many store
 * sessions are open (!locks); a bounded wait for a state, not a time measured. */
static void
pg_wait_sessions(bool locks, int64_t want)
{
    const char *sql = locks ? "SELECT COUNT(*) FROM pg_stat_activity WHERE datname ="
                              " current_database() AND wait_event_type = 'Lock'"
                            : "SELECT COUNT(*) FROM pg_stat_activity WHERE datname ="
                              " current_database() AND application_name = 'vigie'";

    for (int i = 0; raw_scalar(sql) != want; i++) {
        if (i == 3000) {
            fail_msg("%s: never %lld", sql, (long long)want);
        }
        usleep(20000);
    }
}

/* Two collectors whose transactions hold the same certificates in opposite orders never wait
 * on each other in a cycle (finding 1). Made deterministic: a third session holds one blob of
 * each chain (R1, R2), so collector A stops on R1 after P and collector B on R2 after Q; then it
 * lets go. Inserted in the rows' order, A would go on to Q (held by B) and B to P (held by A):
 * a deadlock, which PostgreSQL breaks after deadlock_timeout and counts in pg_stat_database. */
static void
test_raw_no_deadlock(void **state)
{
    static const unsigned ca[] = {101, 102, 103}, cb[] = {103, 104, 101}; /* P R1 Q, Q R2 P */
    struct vg_store *s = *state, *s2;
    char *ja, *jb, cert[401], sql[512], hex[65];
    struct ins_thread ta, tb;
    pthread_t pa, pb;
    int64_t deadlocks;
    PGconn *t;
    uint8_t h[32];
    size_t n;

    if (!g_is_pg) {
        skip();
    }
    ja = mk_chain(1, "https://a.example/", "20261129T111346Z_webconnectivity_ZZ_0_n1_aaa", ca, 3);
    jb = mk_chain(2, "https://b.example/", "20261129T111346Z_webconnectivity_ZZ_0_n1_bbb", cb, 3);
    s2 = open_store(NULL);
    deadlocks = raw_scalar("SELECT deadlocks FROM pg_stat_database"
                           " WHERE datname = current_database()");
    t = PQconnectdb(g_pg);
    assert_int_equal(PQstatus(t), CONNECTION_OK);
    PQclear(PQexec(t, "BEGIN"));
    n = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO blobs (hash, data) VALUES");
    for (int k = 0; k < 2; k++) {
        cert_text(k == 0 ? 102 : 104, cert);
        vg_sha256(cert, strlen(cert), h);
        for (size_t i = 0; i < sizeof(h); i++) {
            snprintf(hex + 2 * i, 3, "%02x", h[i]);
        }
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s ('\\x%s'::bytea, '\\x00'::bytea)",
                              k == 0 ? "" : ",", hex);
    }
    {
        PGresult *r = PQexec(t, sql);

        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fail_msg("%s: %s", sql, PQerrorMessage(t));
        }
        PQclear(r);
    }
    ta = (struct ins_thread){.s = s, .json = ja};
    tb = (struct ins_thread){.s = s2, .json = jb};
    assert_int_equal(pthread_create(&pa, NULL, ins_thread_main, &ta), 0);
    pg_wait_sessions(true, 1);
    assert_int_equal(pthread_create(&pb, NULL, ins_thread_main, &tb), 0);
    pg_wait_sessions(true, 2);
    PQclear(PQexec(t, "ROLLBACK"));
    PQfinish(t);
    pthread_join(pa, NULL);
    pthread_join(pb, NULL);
    /* a backend's statistics are flushed by the time it has gone */
    vg_store_close(s2);
    vg_store_close(s);
    pg_wait_sessions(false, 0);
    *state = s = open_store(NULL);
    assert_int_equal(raw_scalar("SELECT deadlocks FROM pg_stat_database"
                                " WHERE datname = current_database()"),
                     deadlocks);
    check_raws(s, &ja, (char(*)[VG_UID_MAX])ta.uid, 1);
    check_raws(s, &jb, (char(*)[VG_UID_MAX])tb.uid, 1);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM blobs"), 4);
    free(ja);
    free(jb);
}

static void
put(struct vg_store *s, const struct m *m, char *uid_out)
{
    struct row w;
    char uids[1][VG_UID_MAX];

    row_make(&w, m, 0);
    assert_int_equal(vg_store_insert(s, &w.r, 1, uids), 1);
    assert_string_equal(uids[0], w.r.measurement_uid);
    if (uid_out != NULL) {
        memcpy(uid_out, uids[0], VG_UID_MAX);
    }
    row_free(&w);
}

static void
test_schema_and_reopen(void **state)
{
    struct vg_store *s = *state, *s2;
    struct vg_store_opts o = {.no_migrate = true};

    assert_string_equal(vg_store_backend(s), g_is_pg ? "postgresql" : "sqlite");
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM schema_version"), vg__n_migrations);
    assert_int_equal(raw_scalar("SELECT MAX(version) FROM schema_version"),
                     vg__migrations[vg__n_migrations - 1].version);
    if (g_is_pg) {
        /* version 10: the window's reads of agg_target_hourly need its key and n alone */
        assert_int_equal(raw_scalar("SELECT COUNT(*) FROM pg_indexes WHERE tablename ="
                                    " 'agg_target_hourly' AND indexname = 'agg_target_hourly_pkey'"
                                    " AND indexdef LIKE '%(input, probe_cc, probe_asn, hour_start,"
                                    " x_verdict, provenance) INCLUDE (n)'"),
                         1);
    }
    /* a second open (another collector) finds the schema current and changes nothing */
    s2 = open_store(&o);
    vg_store_close(s2);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM schema_version"), vg__n_migrations);
}

static void load_grid(struct vg_store *s);
static void target_is(struct vg_store *s, const char *input, const char *cc, const char *verdict,
                      const char *since, const char *last);
static json_t *agg(struct vg_store *s, const struct vg_store_filter *f, const char *x,
                   const char *y);
static int64_t jint(json_t *o, const char *k);

/* ---- a database as earlier versions left it ---- */

/* Run the statements of schema version v on the database under test, and record it. */
static void
old_schema(int v)
{
    char sql[256];

    raw_exec("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY,"
             " description TEXT NOT NULL, applied BIGINT NOT NULL)");
    for (size_t k = 0; k < vg__migrations[v - 1].n_stmts; k++) {
        char *st = vg__mig_expand(&vg__migrations[v - 1].stmts[k], g_is_pg ? VG__PG : VG__SQLITE);

        if (st != NULL) {
            raw_exec(st);
            free(st);
        }
    }
    snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d, 'test', 0)", v);
    raw_exec(sql);
}

/* A measurement row of schema version 1 (the columns, and the idempotency key of then: "c:" +
 * the client id, else "h:" + 32 hex of the SHA-512 of the text), with this report_id ("" for
 * none), received at received_us. Its uid into uid_out. */
static void
old_row(const struct m *m, const char *report_id, int64_t received_us, char *uid_out)
{
    json_t *o;
    char *json, *sql, *hex, key[VG_STORE_IDEM_MAX];
    struct vg_store_meas r;
    uint8_t d[64], *z;
    uLongf zlen;
    size_t cap;

    json = mk(m);
    o = json_loads(json, 0, NULL);
    free(json);
    json_object_set_new(o, "report_id", json_string(report_id));
    json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_int_equal(vg_store_meas_from_json(json, strlen(json), received_us, &r, NULL, 0), 0);
    if (m->id != NULL) {
        snprintf(key, sizeof(key), "c:%s", m->id);
    } else {
        char h[129];

        vg_sha512(json, strlen(json), d);
        vg_hex(d, 64, h);
        snprintf(key, sizeof(key), "h:%.32s", h);
    }
    zlen = compressBound(strlen(json));
    z = malloc(zlen);
    assert_int_equal(compress2(z, &zlen, (const Bytef *)json, strlen(json), 1), Z_OK);
    hex = malloc(zlen * 2 + 1);
    vg_hex(z, zlen, hex);
    cap = strlen(hex) + 2048;
    sql = malloc(cap);
    snprintf(sql, cap,
             "INSERT INTO measurements (measurement_uid, idem_key, report_id,"
             " measurement_start_time, input, domain, probe_cc, probe_asn, test_name,"
             " software_name, software_version, x_verdict, x_cause, blocking, accessible,"
             " received, raw_len, raw) VALUES ('%s', '%s', '%s', %lld, '%s', '%s', '%s', %u,"
             " '%s', '%s', '%s', '%s', '%s', NULL, 1, %lld, %zu, %s%s')",
             r.measurement_uid, key, report_id, (long long)r.start_time, r.input, r.domain,
             r.probe_cc, (unsigned)r.probe_asn, r.test_name, r.software_name, r.software_version,
             r.x_verdict, r.x_cause, (long long)received_us, strlen(json), g_is_pg ? "'\\x" : "X'",
             hex);
    raw_exec(sql);
    snprintf(uid_out, VG_UID_MAX, "%s", r.measurement_uid);
    free(sql);
    free(hex);
    free(z);
    free(json);
}

/*
 * A database at version 1 with data, as an earlier collector kept it: a target poisoned by a
 * measurement dated 9999-12-31 (finding 2 of issue 13: its latest state says blocked until
 * then), two copies of one measurement without an id (one submitted to a report, one in bulk:
 * then two rows), an open report whose id was published. Opening it migrates to version 2 (the
 * daily tables filled from the hourly one) and 3 (content keys, provenance, latest states
 * rebuilt at trusted times, legacy report).
 */
static void
test_migration_upgrade(void **state)
{
    struct vg_store *s2;
    struct vg_store_opts strict = {.no_migrate = true};
    const char *poison = "https://poison.example/", *dup = "https://dup.example/";
    struct m good = {poison, "IR", 197207, "2026-11-28 10:00:00", "accessible", "g1", 1};
    struct m bad = {poison, "IR", 197207, "9999-12-31 23:59:59", "blocked", "p1", 2};
    struct m twin = {dup, "IT", 1, "2026-11-27 08:00:00", "accessible", NULL, 3};
    struct vg_store_report rep;
    char uid[4][VG_UID_MAX], sql[1024], err[256];
    struct row w;
    json_t *a;

    vg_store_close(*state);
    *state = NULL;
    backend_reset();
    old_schema(1);
    old_row(&good, "", 1795860300000000LL, uid[0]);
    old_row(&bad, "", 1795910400000000LL, uid[1]);
    old_row(&twin, "20261127T080000Z_webconnectivity_IT_1_n1_R", 1795766500000000LL, uid[2]);
    old_row(&twin, "", 1795766600000000LL, uid[3]);
    raw_exec("INSERT INTO agg_hourly SELECT measurement_start_time - measurement_start_time % 3600,"
             " domain, probe_cc, probe_asn, x_verdict, COUNT(*) FROM measurements"
             " GROUP BY 1, 2, 3, 4, 5");
    snprintf(sql, sizeof(sql),
             "INSERT INTO targets VALUES ('%s', 'IR', 197207, 'poison.example', 'blocked',"
             " 'blocked.test', 253402300799, 253402300799, 1795860000, '%s'),"
             " ('%s', 'IT', 1, 'dup.example', 'accessible', NULL, 1795766400, 1795766400, NULL,"
             " '%s')",
             poison, uid[1], dup, strcmp(uid[2], uid[3]) > 0 ? uid[2] : uid[3]);
    raw_exec(sql);
    raw_exec("INSERT INTO reports VALUES ('20261129T000000Z_webconnectivity_IT_1_n1_old', 'IT', 1,"
             " 'vigie', '0.1.0', 'web_connectivity', 1795910400, NULL)");

    assert_int_equal(vg_store_open(g_spec, &strict, &s2, err, sizeof(err)), VG_STORE_ESCHEMA);
    *state = s2 = open_store(NULL);
    assert_int_equal(raw_scalar("SELECT MAX(version) FROM schema_version"),
                     vg__migrations[vg__n_migrations - 1].version);
    /* version 5: the per-target counts are filled from the measurements */
    assert_int_equal(
        raw_scalar("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM agg_target_hourly"),
        raw_scalar("SELECT COUNT(*) FROM measurements WHERE input IS NOT NULL"));
    /* version 4: vigie's rows keep their probe's verdict */
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements WHERE x_analyzer = 'probe'"), 4);
    /* version 2: the daily tables, from the hourly one; version 3: all of it anonymous */
    assert_int_equal(raw_scalar("SELECT SUM(n) FROM agg_daily_domain"), 4);
    assert_int_equal(raw_scalar("SELECT SUM(n) FROM agg_daily_net"), 4);
    assert_int_equal(raw_scalar("SELECT SUM(n) FROM agg_daily_cc_domain"), 4);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM agg_hourly WHERE provenance <> 'anonymous'"),
                     0);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements WHERE provenance = 'anonymous'"),
                     4);
    a = agg(s2, NULL, "domain", NULL);
    assert_int_equal(json_array_size(json_object_get(a, "result")), 2);
    json_decref(a);
    /* content keys: every row but the second of the twins, which keeps its old key */
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements WHERE idem_key LIKE 'h:%'"
                                " AND LENGTH(idem_key) = 66"),
                     3);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements WHERE idem_key LIKE 'c:%'"), 0);
    /* the poisoned target: its latest state at the arrival of the measurement dated 9999 */
    target_is(s2, poison, "IR", "blocked", "2026-11-29T00:00:00Z", "2026-11-29T00:00:00Z");
    /* ... which a genuine later measurement now displaces */
    good.time = "2026-11-30 09:00:00";
    good.id = "g2";
    put(s2, &good, NULL);
    target_is(s2, poison, "IR", "accessible", "2026-11-30T09:00:00Z", "2026-11-30T09:00:00Z");
    /* the same content again (in bulk, another report_id): stored already */
    row_make(&w, &twin, 0);
    assert_int_equal(vg_store_insert(s2, &w.r, 1, NULL), 0);
    row_free(&w);
    /* a different measurement with the id of an old one: stored */
    good.time = "2026-11-30 10:00:00";
    good.id = "g1";
    put(s2, &good, NULL);
    /* the report opened before: its published id still works until closed */
    assert_int_equal(vg_store_report_get(s2, "20261129T000000Z_webconnectivity_IT_1_n1_old", &rep),
                     0);
    assert_true(rep.legacy);
    assert_string_equal(rep.provenance, "anonymous");
}

/* One reanalysed row for vg_store_reanalyze_apply: the new verdict of old. */
static void
reverdict(struct vg_store_meas *now, const char *verdict)
{
    memset(now, 0, sizeof(*now));
    snprintf(now->x_verdict, sizeof(now->x_verdict), "%s", verdict);
    snprintf(now->x_evidence, sizeof(now->x_evidence), "reanalysed");
    snprintf(now->x_analyzer, sizeof(now->x_analyzer), "%s", VG_ANALYZER_VERSION);
}

/*
 * A database at version 3, as the collector of issue 13 left it: a row of vigie's probe and two
 * rows of OONI's probes whose verdict was the relabel of their blocking ("blocked"). Opening it
 * migrates to version 4 in place: the probe's row is 'probe', OONI's 'ooni-label', and the
 * store stays sound. Then the store's part of a reanalysis pass: one batch (the position saved),
 * resumed, a row another pass changed first left alone, the counts and latest states moved.
 */
static void
test_migration_v4_reanalyze(void **state)
{
    struct vg_store *s;
    struct m vm = {"https://v.example/", "IT", 7, "2026-11-28 10:00:00", "blocked", "v1", 1};
    struct m o1 = {"https://o1.example/", "IT", 7, "2026-11-28 11:00:00", "accessible", "o1", 2};
    struct m o2 = {"https://o2.example/", "IT", 7, "2026-11-28 12:00:00", "accessible", "o2", 3};
    struct vg_store_reanalyze_sel sel = {VG_ANALYZER_VERSION, false, 0};
    struct vg_store_reanalyze_stats st;
    struct vg_store_reverdict v[2];
    struct vg_store_meas now[2];
    struct vg_store_stale *rows;
    struct vg_store_pass pass;
    char uid[3][VG_UID_MAX], sql[1024];
    size_t n;

    vg_store_close(*state);
    *state = NULL;
    backend_reset();
    for (int ver = 1; ver <= 3; ver++) {
        old_schema(ver);
    }
    for (size_t k = 0; k < vg__migrations[2].n_post; k++) {
        char *st3 = vg__mig_expand(&vg__migrations[2].post[k], g_is_pg ? VG__PG : VG__SQLITE);

        if (st3 != NULL) {
            raw_exec(st3);
            free(st3);
        }
    }
    old_row(&vm, "", 1795910400000000LL, uid[0]);
    old_row(&o1, "", 1795910400000000LL, uid[1]);
    old_row(&o2, "", 1795910400000000LL, uid[2]);
    /* OONI's rows: stored with the verdict their blocking implied */
    snprintf(sql, sizeof(sql),
             "UPDATE measurements SET software_name = 'ooniprobe', x_verdict = 'blocked',"
             " x_cause = NULL WHERE measurement_uid IN ('%s', '%s')",
             uid[1], uid[2]);
    raw_exec(sql);
    raw_exec("INSERT INTO agg_hourly SELECT measurement_start_time - measurement_start_time % 3600,"
             " domain, probe_cc, probe_asn, x_verdict, provenance, COUNT(*) FROM measurements"
             " GROUP BY 1, 2, 3, 4, 5, 6");
    raw_exec("INSERT INTO agg_daily_net (day_start, probe_cc, probe_asn, x_verdict, provenance,"
             " n) SELECT hour_start - hour_start % 86400, probe_cc, probe_asn, x_verdict,"
             " provenance, SUM(n) FROM agg_hourly GROUP BY 1, 2, 3, 4, 5");
    raw_exec("INSERT INTO agg_daily_domain (day_start, domain, x_verdict, provenance, n) SELECT"
             " hour_start - hour_start % 86400, domain, x_verdict, provenance, SUM(n) FROM"
             " agg_hourly GROUP BY 1, 2, 3, 4");
    raw_exec("INSERT INTO agg_daily_cc_domain (day_start, domain, probe_cc, x_verdict, provenance,"
             " n) SELECT hour_start - hour_start % 86400, domain, probe_cc, x_verdict, provenance,"
             " SUM(n) FROM agg_hourly GROUP BY 1, 2, 3, 4, 5");
    for (int sc = 0; sc < 2; sc++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO targets SELECT '%s', input, probe_cc, probe_asn, domain, x_verdict,"
                 " x_cause, measurement_start_time, measurement_start_time, NULL, measurement_uid"
                 " FROM measurements",
                 sc == 0 ? "*" : "anonymous");
        raw_exec(sql);
    }

    *state = s = open_store(NULL);
    assert_int_equal(raw_scalar("SELECT MAX(version) FROM schema_version"),
                     vg__migrations[vg__n_migrations - 1].version);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM measurements WHERE x_analyzer = 'probe' AND"
             " measurement_uid = '%s'",
             uid[0]);
    assert_int_equal(raw_scalar(sql), 1);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements WHERE x_analyzer ="
                                " '" VG_STORE_ANALYZER_LEGACY "' AND software_name = 'ooniprobe'"),
                     2);
    teardown_check(s);

    /* one batch of one row: the position is saved */
    assert_int_equal(vg_store_reanalyze_begin(s, &sel, false, &pass), 0);
    assert_false(pass.resumed);
    assert_int_equal(vg_store_reanalyze_read(s, &sel, &pass, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].measurement_uid, uid[1]);
    assert_string_equal(rows[0].x_verdict, "blocked");
    assert_string_equal(rows[0].x_analyzer, VG_STORE_ANALYZER_LEGACY);
    reverdict(&now[0], "accessible");
    v[0] = (struct vg_store_reverdict){&rows[0], &now[0]};
    assert_int_equal(vg_store_reanalyze_apply(s, &pass, v, 1, rows[0].start_time,
                                              rows[0].measurement_uid, false, &st),
                     0);
    assert_int_equal(st.changed, 1);
    assert_int_equal(st.moved[VG_VERDICT_BLOCKED][VG_VERDICT_ACCESSIBLE], 1);
    assert_int_equal(st.targets, 2);
    vg_store_stale_free(rows, n);
    target_is(s, o1.input, "IT", "accessible", "2026-11-28T11:00:00Z", "2026-11-28T11:00:00Z");
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM reanalyze_progress"), 1);
    teardown_check(s);

    /* resumed: the next row only; another pass changed it first: left alone */
    assert_int_equal(vg_store_reanalyze_begin(s, &sel, false, &pass), 0);
    assert_true(pass.resumed);
    assert_int_equal(pass.examined, 1);
    assert_int_equal(vg_store_reanalyze_read(s, &sel, &pass, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].measurement_uid, uid[2]);
    snprintf(rows[0].x_verdict, sizeof(rows[0].x_verdict), "down"); /* not what is stored */
    reverdict(&now[1], "intercepted");
    v[1] = (struct vg_store_reverdict){&rows[0], &now[1]};
    assert_int_equal(vg_store_reanalyze_apply(s, &pass, &v[1], 1, rows[0].start_time,
                                              rows[0].measurement_uid, false, &st),
                     0);
    assert_int_equal(st.changed, 0);
    /* as read: done, and the pass forgotten */
    snprintf(rows[0].x_verdict, sizeof(rows[0].x_verdict), "blocked");
    assert_int_equal(vg_store_reanalyze_apply(s, &pass, &v[1], 1, rows[0].start_time,
                                              rows[0].measurement_uid, true, &st),
                     0);
    assert_int_equal(st.changed, 1);
    vg_store_stale_free(rows, n);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM reanalyze_progress"), 0);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM agg_hourly WHERE x_verdict = 'blocked'"), 1);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM agg_daily_net WHERE x_verdict = 'blocked'"),
                     1);
    target_is(s, o2.input, "IT", "intercepted", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z");
    /* nothing stale is left; vigie's own row was never read */
    assert_int_equal(vg_store_reanalyze_begin(s, &sel, false, &pass), 0);
    assert_int_equal(vg_store_reanalyze_read(s, &sel, &pass, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    vg_store_stale_free(rows, n);
    sel.all = true;
    assert_int_equal(vg_store_reanalyze_begin(s, &sel, false, &pass), 0);
    assert_int_equal(vg_store_reanalyze_read(s, &sel, &pass, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    vg_store_stale_free(rows, n);
}

static void
test_schema_newer_refused(void **state)
{
    struct vg_store *s2 = NULL;
    char err[256];

    (void)state;
    raw_exec("INSERT INTO schema_version (version, description, applied) VALUES (999, 'x', 0)");
    assert_int_equal(vg_store_open(g_spec, NULL, &s2, err, sizeof(err)), VG_STORE_ESCHEMA);
    assert_null(s2);
    assert_non_null(strstr(err, "999"));
    raw_exec("DELETE FROM schema_version WHERE version = 999");
}

static void
test_insert_get_raw(void **state)
{
    struct vg_store *s = *state;
    struct m m = {
        "https://www.example.com/", "IT", 30722, "2026-11-29 11:13:46", "blocked", NULL, 1};
    struct row w;
    char uids[1][VG_UID_MAX], *raw;
    size_t len;
    json_t *page;

    row_make(&w, &m, 0);
    assert_int_equal(vg_store_insert(s, &w.r, 1, uids), 1);
    assert_string_equal(uids[0], w.r.measurement_uid);
    assert_int_equal(vg_store_get_raw(s, uids[0], &raw, &len), 0);
    assert_int_equal(len, strlen(w.json));
    assert_string_equal(raw, w.json);
    free(raw);
    assert_int_equal(vg_store_get_raw(s, "nope", &raw, &len), VG_STORE_ENOTFOUND);
    assert_null(raw);
    assert_int_equal(vg_store_get_raw(s, "", &raw, NULL), VG_EINVAL);
    /* stored compressed: the blob is smaller than the text */
    assert_true(raw_scalar(g_is_pg
                               ? "SELECT octet_length(raw) FROM measurements"
                               : "SELECT length(raw) FROM measurements") < (int64_t)strlen(w.json));

    assert_int_equal(vg_store_list(s, NULL, NULL, 0, &page), 0);
    {
        json_t *r = json_array_get(json_object_get(page, "results"), 0);

        assert_int_equal(json_array_size(json_object_get(page, "results")), 1);
        assert_true(json_is_null(json_object_get(page, "next_cursor")));
        assert_string_equal(json_string_value(json_object_get(r, "measurement_uid")), uids[0]);
        assert_string_equal(json_string_value(json_object_get(r, "measurement_start_time")),
                            "2026-11-29T11:13:46Z");
        assert_string_equal(json_string_value(json_object_get(r, "input")), m.input);
        assert_string_equal(json_string_value(json_object_get(r, "domain")), "www.example.com");
        assert_string_equal(json_string_value(json_object_get(r, "probe_cc")), "IT");
        assert_string_equal(json_string_value(json_object_get(r, "probe_asn")), "AS30722");
        assert_string_equal(json_string_value(json_object_get(r, "x_verdict")), "blocked");
        assert_string_equal(json_string_value(json_object_get(r, "x_cause")), "tls.mitm");
        assert_string_equal(json_string_value(json_object_get(r, "blocking")), "dns");
        assert_true(json_is_false(json_object_get(r, "accessible")));
        assert_string_equal(json_string_value(json_object_get(r, "test_name")), "web_connectivity");
        assert_string_equal(json_string_value(json_object_get(r, "software_version")), "0.1.0");
        assert_string_equal(json_string_value(json_object_get(r, "report_id")),
                            "20261129T111346Z_webconnectivity_ZZ_0_n1_abc");
    }
    json_decref(page);
    row_free(&w);
}

/* The alert events of input in id order, as "old>new" (old "-" when null), "+late" when
 * late; after since_id. */
static void
events_of(struct vg_store *s, const char *input, int64_t since_id, char *out, size_t cap)
{
    struct vg_store_filter f = {.input = input};
    json_t *page, *e;
    size_t i, len = 0;

    out[0] = '\0';
    assert_int_equal(vg_store_alert_events(s, &f, since_id, 0, &page), 0);
    json_array_foreach(json_object_get(page, "results"), i, e)
    {
        const char *old = json_string_value(json_object_get(e, "old_verdict"));

        len += (size_t)snprintf(out + len, cap - len, "%s%s>%s%s", len > 0 ? " " : "",
                                old != NULL ? old : "-",
                                json_string_value(json_object_get(e, "new_verdict")),
                                json_is_true(json_object_get(e, "late")) ? "+late" : "");
        assert_string_equal(json_string_value(json_object_get(e, "source")), "ingest");
    }
    json_decref(page);
}

/*
 * Alert events derived at ingest (issue 15): in time order across calls, a first measurement
 * with interference, copies (nothing), several rows of a key in one call (chained in time
 * order), rows older than the key's latest (placed between their neighbours, late); the reads
 * filtered and paged by id; the consumers' cursors.
 */
static void
test_alert_events(void **state)
{
    struct vg_store *s = *state;
    static const struct m a[] = {
        {"https://a.example/", "IT", 7, "2026-11-28 10:00:00", "intercepted", NULL, 1},
        {"https://a.example/", "IT", 7, "2026-11-28 11:00:00", "down", NULL, 2},
        {"https://a.example/", "IT", 7, "2026-11-28 12:00:00", "intercepted", NULL, 3},
    };
    static const struct m b[] = {
        {"https://b.example/", "IT", 7, "2026-11-28 10:00:00", "accessible", NULL, 1},
        {"https://b.example/", "IT", 7, "2026-11-28 13:00:00", "blocked", NULL, 2},
        {"https://b.example/", "IT", 7, "2026-11-28 11:00:00", "accessible", NULL, 3},
        {"https://b.example/", "IT", 7, "2026-11-28 12:00:00", "down", NULL, 4},
    };
    static const struct m c[] = {
        {"https://c.example/", "IT", 7, "2026-11-28 12:00:00", "accessible", NULL, 1},
        {"https://c.example/", "IT", 7, "2026-11-28 11:00:00", "blocked", NULL, 2},
        {"https://c.example/", "IT", 7, "2026-11-28 10:00:00", "accessible", NULL, 3},
        {"https://c.example/", "IT", 7, "2026-11-28 11:30:00", "blocked", NULL, 4},
    };
    struct row rows[4];
    char uids[4][VG_UID_MAX], got[512];
    struct vg_store_filter f = {.input = "https://a.example/"};
    json_t *page;
    int64_t cur;

    for (size_t i = 0; i < 3; i++) {
        put(s, &a[i], NULL);
    }
    events_of(s, "https://a.example/", 0, got, sizeof(got));
    assert_string_equal(got, "->intercepted intercepted>down down>intercepted");
    /* copies: nothing */
    row_make(&rows[0], &a[1], 0);
    assert_int_equal(vg_store_insert(s, &rows[0].r, 1, uids), 0);
    row_free(&rows[0]);
    events_of(s, "https://a.example/", 0, got, sizeof(got));
    assert_string_equal(got, "->intercepted intercepted>down down>intercepted");

    /* one call, out of order: chained in time order; accessible first is no event */
    for (size_t i = 0; i < 4; i++) {
        row_make(&rows[i], &b[i], 0);
    }
    put(s, &b[0], NULL);
    {
        struct vg_store_meas three[3] = {rows[1].r, rows[2].r, rows[3].r};

        assert_int_equal(vg_store_insert(s, three, 3, uids), 3);
    }
    for (size_t i = 0; i < 4; i++) {
        row_free(&rows[i]);
    }
    events_of(s, "https://b.example/", 0, got, sizeof(got));
    assert_string_equal(got, "accessible>down down>blocked");

    /* late rows, one per call: between their neighbours; the last one (blocked after blocked)
     * changes no transition */
    for (size_t i = 0; i < 4; i++) {
        put(s, &c[i], NULL);
    }
    events_of(s, "https://c.example/", 0, got, sizeof(got));
    assert_string_equal(got, "->blocked+late blocked>accessible+late accessible>blocked+late");

    /* filters and paging */
    f.probe_cc = "IT";
    f.has_probe_asn = true;
    f.probe_asn = 7;
    assert_int_equal(vg_store_alert_events(s, &f, 0, 2, &page), 0);
    assert_int_equal(json_array_size(json_object_get(page, "results")), 2);
    cur = json_integer_value(json_object_get(page, "next_since_id"));
    assert_true(cur > 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(page, "results"), 0), "provenance")),
                        VG_STORE_ANONYMOUS);
    json_decref(page);
    events_of(s, "https://a.example/", cur, got, sizeof(got));
    assert_string_equal(got, "down>intercepted");
    f.probe_asn = 8;
    assert_int_equal(vg_store_alert_events(s, &f, 0, 0, &page), 0);
    assert_int_equal(json_array_size(json_object_get(page, "results")), 0);
    assert_true(json_is_null(json_object_get(page, "next_since_id")));
    json_decref(page);
    f.x_verdict = "blocked";
    assert_int_equal(vg_store_alert_events(s, &f, 0, 0, &page), VG_EINVAL);
    assert_int_equal(vg_store_alert_events(s, NULL, -1, 0, &page), VG_EINVAL);
    assert_int_equal(vg_store_alert_events(s, NULL, 0, VG_STORE_PAGE_MAX + 1, &page), VG_EINVAL);

    /* cursors: a new consumer starts at the newest event */
    assert_int_equal(vg_store_alert_cursor(s, "one", &cur), 0);
    assert_int_equal(cur, raw_scalar("SELECT MAX(id) FROM alert_events"));
    assert_int_equal(vg_store_alert_cursor_set(s, "one", 2), 0);
    assert_int_equal(vg_store_alert_cursor(s, "one", &cur), 0);
    assert_int_equal(cur, 2);
    assert_int_equal(vg_store_alert_cursor(s, "bad name", &cur), VG_EINVAL);
}

static void
test_idempotent_reupload(void **state)
{
    struct vg_store *s = *state;
    struct m m = {"https://www.example.com/", "IT", 1, "2026-11-29 11:13:46", "blocked", NULL, 1};
    struct row a, b, c[3];
    char uids[3][VG_UID_MAX];

    /* the same bytes received twice: another receive time, so another uid, same content key */
    row_make(&a, &m, 1795950827000001LL);
    row_make(&b, &m, 1795950900000002LL);
    assert_string_not_equal(a.r.measurement_uid, b.r.measurement_uid);
    assert_string_equal(a.r.idem_key, b.r.idem_key);
    assert_int_equal(vg_store_insert(s, &a.r, 1, uids), 1);
    assert_int_equal(vg_store_insert(s, &b.r, 1, uids), 0);
    assert_string_equal(uids[0], a.r.measurement_uid);
    row_free(&a);
    row_free(&b);

    /* client ids: other bytes, same "id" -> two measurements, both stored (OONI's df-000:
     * consumers must not trust the id; OONI's own test data has two sharing one) */
    m.id = "probe-42";
    row_make(&a, &m, 0);
    m.trial = 2;
    row_make(&b, &m, 0);
    assert_string_not_equal(a.r.idem_key, b.r.idem_key);
    assert_int_equal(vg_store_insert(s, &a.r, 1, uids), 1);
    assert_int_equal(vg_store_insert(s, &b.r, 1, uids), 1);
    assert_string_equal(uids[0], b.r.measurement_uid);
    row_free(&a);
    row_free(&b);

    /* duplicates inside one call: stored once, both get the uid */
    m.id = "probe-43";
    row_make(&c[0], &m, 0);
    m.id = NULL;
    m.trial = 3;
    row_make(&c[1], &m, 0);
    m.id = "probe-43";
    m.trial = 2;
    row_make(&c[2], &m, 0);
    {
        struct vg_store_meas rows[3] = {c[0].r, c[1].r, c[2].r};

        assert_int_equal(vg_store_insert(s, rows, 3, uids), 2);
    }
    assert_string_equal(uids[0], c[0].r.measurement_uid);
    assert_string_equal(uids[1], c[1].r.measurement_uid);
    assert_string_equal(uids[2], c[0].r.measurement_uid);
    for (int i = 0; i < 3; i++) {
        row_free(&c[i]);
    }
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), 5);
    assert_int_equal(raw_scalar("SELECT SUM(n) FROM agg_hourly"), 5);
}

/* One call over several statement chunks (256 + 32 + 4 + 1 rows), with re-uploads inside it
 * and several measurements of each target (latest states go in rounds). */
static void
test_big_batch(void **state)
{
    struct vg_store *s = *state;
    enum { N = 600, UNIQUE = 500 };
    struct row *w = calloc(N, sizeof(*w));
    struct vg_store_meas *rows = calloc(N, sizeof(*rows));
    char(*uids)[VG_UID_MAX] = calloc(N, sizeof(*uids));
    json_t *a;

    for (int i = 0; i < N; i++) {
        char input[64], t[32], id[32];
        int u = i % UNIQUE; /* rows u and u + UNIQUE are the same measurement */
        struct m m = {input,
                      u % 2 ? "IT" : "RU",
                      100 + (unsigned)(u % 4),
                      t,
                      u % 3 ? "accessible" : "blocked",
                      id,
                      u};

        snprintf(input, sizeof(input), "https://big%d.example/", u % 7);
        snprintf(t, sizeof(t), "2026-06-%02d %02d:00:00", 1 + u / 100, (u % 24));
        snprintf(id, sizeof(id), "big-%d", u);
        row_make(&w[i], &m, 0);
        rows[i] = w[i].r;
    }
    assert_int_equal(vg_store_insert(s, rows, N, uids), UNIQUE);
    for (int i = UNIQUE; i < N; i++) {
        assert_string_equal(uids[i], uids[i - UNIQUE]);
    }
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), UNIQUE);
    a = agg(s, NULL, NULL, NULL);
    assert_int_equal(jint(json_object_get(a, "result"), "total"), UNIQUE);
    json_decref(a);
    /* the same call again stores nothing */
    assert_int_equal(vg_store_insert(s, rows, N, NULL), 0);
    for (int i = 0; i < N; i++) {
        row_free(&w[i]);
    }
    free(w);
    free(rows);
    free(uids);
}

/* One batch of many distinct long URLs (a crawl of deep links): every row stored with its
 * latest states. On ClickHouse the writer reads the states of the whole batch in one SELECT
 * with every URL written in; 256 of these were once over the server's 256 KiB parse limit, and
 * the upload failed (store_ch.c sets max_query_size). */
static void
test_long_inputs_one_batch(void **state)
{
    struct vg_store *s = *state;
    enum { N = 1200, LEN = 1800 };
    struct row *w = calloc(N, sizeof(*w));
    struct vg_store_meas *rows = calloc(N, sizeof(*rows));
    char(*inputs)[LEN + 64] = calloc(N, sizeof(*inputs));

    for (int i = 0; i < N; i++) {
        char t[32];
        struct m m = {
            inputs[i], i % 2 ? "IT" : "RU", 100, t, i % 3 ? "accessible" : "blocked", NULL, i};
        int n = snprintf(inputs[i], sizeof(inputs[i]), "https://deep%d.example/", i % 50);

        memset(inputs[i] + n, 'a' + i % 26, LEN - (size_t)n);
        snprintf(inputs[i] + LEN, sizeof(inputs[i]) - LEN, "/%d", i);
        snprintf(t, sizeof(t), "2026-06-01 %02d:%02d:00", i / 60 % 24, i % 60);
        row_make(&w[i], &m, 0);
        rows[i] = w[i].r;
    }
    assert_int_equal(vg_store_insert(s, rows, N, NULL), N);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), N);
    /* each row its own target, in two scopes (all, and its provenance) */
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM targets"), 2 * N);
    assert_int_equal(vg_store_insert(s, rows, N, NULL), 0);
    for (int i = 0; i < N; i++) {
        row_free(&w[i]);
    }
    free(w);
    free(rows);
    free(inputs);
}

static void
test_insert_refusals(void **state)
{
    struct vg_store *s = *state;
    struct m m = {"https://www.example.com/", "IT", 1, "2026-11-29 11:13:46", "blocked", NULL, 1};
    struct row w;
    struct vg_store_meas bad;

    row_make(&w, &m, 0);
    assert_int_equal(vg_store_insert(s, &w.r, 0, NULL), 0);
    bad = w.r;
    snprintf(bad.x_verdict, sizeof(bad.x_verdict), "weird");
    assert_int_equal(vg_store_insert(s, &bad, 1, NULL), VG_EINVAL);
    bad = w.r;
    bad.idem_key[0] = '\0';
    assert_int_equal(vg_store_insert(s, &bad, 1, NULL), VG_EINVAL);
    bad = w.r;
    memset(bad.domain, 'a', sizeof(bad.domain)); /* not terminated */
    assert_int_equal(vg_store_insert(s, &bad, 1, NULL), VG_EINVAL);
    bad = w.r;
    bad.raw = NULL;
    assert_int_equal(vg_store_insert(s, &bad, 1, NULL), VG_EINVAL);
    assert_int_equal(vg_store_insert(s, &w.r, 10001, NULL), VG_EINVAL);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), 0);
    row_free(&w);
}

/* Many callers at once: every call committed, the writer grouped them. */
#define N_THREADS  8
#define PER_THREAD 150

struct worker {
    struct vg_store *s;
    int id;
    int failures;
};

static void *
worker_main(void *arg)
{
    struct worker *wk = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        char input[128], id[64];
        struct m m = {input,
                      i % 2 ? "IT" : "DE",
                      (unsigned)(i % 3),
                      "2026-11-29 11:13:46",
                      i % 5 ? "accessible" : "blocked",
                      id,
                      i};
        struct vg_store_meas r;
        char uids[1][VG_UID_MAX];
        char *json;

        snprintf(input, sizeof(input), "https://site%d.example/", i % 7);
        snprintf(id, sizeof(id), "w%d-%d", wk->id, i);
        json = mk(&m);
        if (vg_store_meas_from_json(json, strlen(json), 0, &r, NULL, 0) != 0 ||
            vg_store_insert(wk->s, &r, 1, uids) != 1 || strcmp(uids[0], r.measurement_uid) != 0) {
            wk->failures++;
        }
        free(json);
    }
    return NULL;
}

static void
test_concurrent_batched(void **state)
{
    struct vg_store *s = *state;
    pthread_t th[N_THREADS];
    struct worker wk[N_THREADS];
    struct vg__store_stats st;
    json_t *agg;

    for (int i = 0; i < N_THREADS; i++) {
        wk[i] = (struct worker){s, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(wk[i].failures, 0);
    }
    vg__store_get_stats(s, &st);
    assert_int_equal(st.jobs, N_THREADS * PER_THREAD);
    assert_true(st.txns < st.jobs); /* grouped: fewer commits than calls */
    assert_true(st.max_group > 1);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), N_THREADS * PER_THREAD);
    assert_int_equal(vg_store_aggregate(s, NULL, VG_AXIS_NONE, VG_AXIS_NONE, &agg), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(agg, "result"), "total")),
                     N_THREADS * PER_THREAD);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(agg, "result"), "blocked")),
                     N_THREADS * PER_THREAD / 5);
    json_decref(agg);
}

/* Two collectors (two stores, each with its own writer) on one database, receiving the same
 * measurements in different orders and batches at the same time: each is stored once, both
 * collectors answer with the same uid for it, and the counts stay exact. */
#define TWO_N 240

struct collector {
    struct vg_store *s;
    struct row *rows;
    int reverse;
    int batch;
    int failures;
    char (*uids)[VG_UID_MAX];
};

static void *
collector_main(void *arg)
{
    struct collector *c = arg;

    for (int i = 0; i < TWO_N; i += c->batch) {
        struct vg_store_meas batch[16];
        int n = TWO_N - i < c->batch ? TWO_N - i : c->batch;

        for (int k = 0; k < n; k++) {
            int idx = c->reverse ? TWO_N - 1 - (i + k) : i + k;

            batch[k] = c->rows[idx].r;
        }
        {
            char uids[16][VG_UID_MAX];

            if (vg_store_insert(c->s, batch, (size_t)n, uids) < 0) {
                c->failures++;
                continue;
            }
            for (int k = 0; k < n; k++) {
                int idx = c->reverse ? TWO_N - 1 - (i + k) : i + k;

                memcpy(c->uids[idx], uids[k], VG_UID_MAX);
            }
        }
    }
    return NULL;
}

static void
test_two_collectors(void **state)
{
    struct vg_store *s = *state, *s2 = open_store(NULL);
    struct row *rows = calloc(TWO_N, sizeof(*rows));
    char(*u1)[VG_UID_MAX] = calloc(TWO_N, VG_UID_MAX),
    (*u2)[VG_UID_MAX] = calloc(TWO_N, VG_UID_MAX);
    struct collector c[4] = {
        {s, rows, 0, 7, 0, u1},
        {s2, rows, 1, 5, 0, u2},
        {s, rows, 1, 16, 0, u1},
        {s2, rows, 0, 3, 0, u2},
    };
    pthread_t th[4];
    json_t *a;

    for (int i = 0; i < TWO_N; i++) {
        char input[64], id[32];
        struct m m = {input,
                      i % 3 ? "IT" : "DE",
                      7,
                      "2026-07-01 10:00:00",
                      i % 4 ? "accessible" : "blocked",
                      id,
                      i};

        snprintf(input, sizeof(input), "https://two%d.example/", i % 11);
        snprintf(id, sizeof(id), "two-%d", i);
        row_make(&rows[i], &m, 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, collector_main, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].failures, 0);
    }
    for (int i = 0; i < TWO_N; i++) {
        assert_string_equal(u1[i], u2[i]);
        row_free(&rows[i]);
    }
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), TWO_N);
    a = agg(s, NULL, NULL, NULL);
    assert_int_equal(jint(json_object_get(a, "result"), "total"), TWO_N);
    assert_int_equal(jint(json_object_get(a, "result"), "blocked"), TWO_N / 4);
    json_decref(a);
    vg_store_close(s2);
    free(rows);
    free(u1);
    free(u2);
}

static void
test_committed_before_ack(void **state)
{
    struct vg_store *s = *state, *other;
    struct m m = {"https://www.example.com/", "IT", 1, "2026-11-29 11:13:46", "blocked", NULL, 1};
    char uid[VG_UID_MAX], *raw;

    put(s, &m, uid);
    /* another handle (its own connections) sees the row as soon as the insert returned */
    other = open_store(NULL);
    assert_int_equal(vg_store_get_raw(other, uid, &raw, NULL), 0);
    free(raw);
    vg_store_close(other);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), 1);
}

/* 30 measurements over 3 days, 3 domains, 2 networks, verdicts in a fixed pattern. */
static void
load_grid(struct vg_store *s)
{
    static const char *const verdicts[] = {"accessible", "blocked",     "accessible",
                                           "down",       "intercepted", "unknown"};
    struct row w[30];
    struct vg_store_meas rows[30];

    for (int i = 0; i < 30; i++) {
        char input[64], t[32];
        struct m m = {input, i % 2 ? "IT" : "RU", i % 2 ? 30722u : 12389u, t, verdicts[i % 6], NULL,
                      i};

        snprintf(input, sizeof(input), "https://d%d.example/", i % 3);
        /* day 1 + i/10, hour i%10 */
        snprintf(t, sizeof(t), "2026-03-%02d %02d:%02d:00", 1 + i / 10, i % 10, i);
        row_make(&w[i], &m, 0);
        rows[i] = w[i].r;
    }
    assert_int_equal(vg_store_insert(s, rows, 30, NULL), 30);
    for (int i = 0; i < 30; i++) {
        row_free(&w[i]);
    }
}

/* Page through list(f) with limit, checking order; returns how many rows. */
static size_t
page_all(struct vg_store *s, const struct vg_store_filter *f, unsigned limit)
{
    char *cursor = NULL;
    char prev_t[32] = "", prev_uid[VG_UID_MAX] = "";
    size_t total = 0;

    for (int pages = 0; pages < 100; pages++) {
        json_t *page, *res, *next;

        assert_int_equal(vg_store_list(s, f, cursor, limit, &page), 0);
        res = json_object_get(page, "results");
        assert_true(json_array_size(res) <= limit);
        for (size_t i = 0; i < json_array_size(res); i++) {
            const char *t = json_string_value(
                json_object_get(json_array_get(res, i), "measurement_start_time"));
            const char *u =
                json_string_value(json_object_get(json_array_get(res, i), "measurement_uid"));

            /* strictly descending (time, uid) */
            if (prev_t[0] != '\0') {
                int c = strcmp(t, prev_t);

                assert_true(c < 0 || (c == 0 && strcmp(u, prev_uid) < 0));
            }
            snprintf(prev_t, sizeof(prev_t), "%s", t);
            snprintf(prev_uid, sizeof(prev_uid), "%s", u);
            total++;
        }
        free(cursor);
        cursor = NULL;
        next = json_object_get(page, "next_cursor");
        if (json_is_string(next)) {
            cursor = strdup(json_string_value(next));
        }
        json_decref(page);
        if (cursor == NULL) {
            return total;
        }
    }
    fail_msg("paging did not end");
    return 0;
}

static void
test_list_filters_paging(void **state)
{
    struct vg_store *s = *state;
    struct vg_store_filter f;
    json_t *page;

    load_grid(s);
    assert_int_equal(page_all(s, NULL, 7), 30);
    assert_int_equal(page_all(s, NULL, 30), 30);
    assert_int_equal(page_all(s, NULL, 1000), 30);
    f = (struct vg_store_filter){.domain = "d1.example"};
    assert_int_equal(page_all(s, &f, 4), 10);
    f = (struct vg_store_filter){.input = "https://d2.example/"};
    assert_int_equal(page_all(s, &f, 4), 10);
    f = (struct vg_store_filter){.probe_cc = "IT"};
    assert_int_equal(page_all(s, &f, 4), 15);
    f = (struct vg_store_filter){.has_probe_asn = true, .probe_asn = 12389};
    assert_int_equal(page_all(s, &f, 4), 15);
    f = (struct vg_store_filter){.x_verdict = "blocked"};
    assert_int_equal(page_all(s, &f, 2), 5);
    f = (struct vg_store_filter){.probe_cc = "IT", .x_verdict = "down", .domain = "d0.example"};
    assert_int_equal(page_all(s, &f, 2), 5); /* i = 3, 9, 15, 21, 27: all IT, d0, down */
    /* since inclusive, until exclusive: 2026-03-02 00:00:00 .. 2026-03-03 00:00:00 */
    f = (struct vg_store_filter){.since = 1772409600, .until = 1772496000};
    assert_int_equal(page_all(s, &f, 3), 10);
    f = (struct vg_store_filter){.since = 1772409600 + 3600 + 660, .until = 1772496000};
    assert_int_equal(page_all(s, &f, 3), 9); /* i = 11 starts at 01:11:00 */
    f = (struct vg_store_filter){.probe_cc = "FR"};
    assert_int_equal(page_all(s, &f, 3), 0);

    /* refusals */
    f = (struct vg_store_filter){.x_verdict = "maybe"};
    assert_int_equal(vg_store_list(s, &f, NULL, 10, &page), VG_EINVAL);
    assert_null(page);
    f = (struct vg_store_filter){.probe_cc = "ITA"};
    assert_int_equal(vg_store_list(s, &f, NULL, 10, &page), VG_EINVAL);
    assert_int_equal(vg_store_list(s, NULL, NULL, VG_STORE_PAGE_MAX + 1, &page), VG_EINVAL);
    assert_int_equal(vg_store_list(s, NULL, "not a cursor!", 10, &page), VG_EINVAL);
    assert_int_equal(vg_store_list(s, NULL, "", 10, &page), VG_EINVAL);
    assert_int_equal(vg_store_list(s, NULL, "WzEsMiwzXQ", 10, &page), VG_EINVAL); /* [1,2,3] */
    assert_int_equal(vg_store_list(s, NULL, "eyJhIjoxfQ", 10, &page), VG_EINVAL); /* {"a":1} */
    assert_null(page);
}

static void
test_list_stable_under_inserts(void **state)
{
    struct vg_store *s = *state;
    json_t *page;
    char *cursor;
    size_t seen = 0;
    char uids[64][VG_UID_MAX];

    load_grid(s);
    assert_int_equal(vg_store_list(s, NULL, NULL, 10, &page), 0);
    for (size_t i = 0; i < 10; i++) {
        snprintf(uids[seen++], VG_UID_MAX, "%s",
                 json_string_value(json_object_get(
                     json_array_get(json_object_get(page, "results"), i), "measurement_uid")));
    }
    cursor = strdup(json_string_value(json_object_get(page, "next_cursor")));
    json_decref(page);
    /* new rows arrive, some newer than everything (ahead of the cursor), some older */
    for (int i = 0; i < 6; i++) {
        struct m m = {"https://new.example/",
                      "IT",
                      1,
                      i % 2 ? "2026-04-01 00:00:00" : "2026-02-01 00:00:00",
                      "blocked",
                      NULL,
                      100 + i};

        put(s, &m, NULL);
    }
    for (;;) {
        json_t *res, *next;

        assert_int_equal(vg_store_list(s, NULL, cursor, 10, &page), 0);
        res = json_object_get(page, "results");
        for (size_t i = 0; i < json_array_size(res); i++) {
            const char *u =
                json_string_value(json_object_get(json_array_get(res, i), "measurement_uid"));

            for (size_t k = 0; k < seen; k++) {
                assert_string_not_equal(u, uids[k]); /* never twice */
            }
            assert_true(seen < 64);
            snprintf(uids[seen++], VG_UID_MAX, "%s", u);
        }
        free(cursor);
        cursor = NULL;
        next = json_object_get(page, "next_cursor");
        if (json_is_string(next)) {
            cursor = strdup(json_string_value(next));
        }
        json_decref(page);
        if (cursor == NULL) {
            break;
        }
    }
    /* all 30 old rows, plus the 3 older new ones (behind the cursor); not the 3 newer ones */
    assert_int_equal(seen, 33);
}

static json_t *
agg(struct vg_store *s, const struct vg_store_filter *f, const char *x, const char *y)
{
    enum vg_store_axis ax, ay;
    json_t *out;

    assert_int_equal(vg_store_axis_parse(x, &ax), 0);
    assert_int_equal(vg_store_axis_parse(y, &ay), 0);
    assert_int_equal(vg_store_aggregate(s, f, ax, ay, &out), 0);
    return out;
}

static int64_t
jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void
test_aggregate(void **state)
{
    struct vg_store *s = *state;
    struct vg_store_filter f;
    json_t *a, *r, *row;
    enum vg_store_axis none = VG_AXIS_NONE;

    a = agg(s, NULL, NULL, NULL); /* empty store: zeros */
    assert_int_equal(jint(a, "dimension_count"), 0);
    assert_int_equal(jint(json_object_get(a, "result"), "total"), 0);
    json_decref(a);

    load_grid(s);
    a = agg(s, NULL, NULL, NULL);
    r = json_object_get(a, "result");
    assert_int_equal(jint(r, "total"), 30);
    assert_int_equal(jint(r, "accessible"), 10);
    assert_int_equal(jint(r, "blocked"), 5);
    assert_int_equal(jint(r, "down"), 5);
    assert_int_equal(jint(r, "intercepted"), 5);
    assert_int_equal(jint(r, "unknown"), 5);
    json_decref(a);

    a = agg(s, NULL, "measurement_day", NULL);
    r = json_object_get(a, "result");
    assert_int_equal(jint(a, "dimension_count"), 1);
    assert_int_equal(json_array_size(r), 3);
    row = json_array_get(r, 1);
    assert_string_equal(json_string_value(json_object_get(row, "measurement_day")), "2026-03-02");
    assert_int_equal(jint(row, "total"), 10);
    json_decref(a);

    a = agg(s, NULL, "domain", "x_verdict");
    r = json_object_get(a, "result");
    assert_int_equal(jint(a, "dimension_count"), 2);
    /* d0: i = 0,3,...,27 -> verdicts i%6 in {0,3}: accessible x5, down x5 */
    row = json_array_get(r, 0);
    assert_string_equal(json_string_value(json_object_get(row, "domain")), "d0.example");
    assert_string_equal(json_string_value(json_object_get(row, "x_verdict")), "accessible");
    assert_int_equal(jint(row, "accessible"), 5);
    assert_int_equal(jint(row, "total"), 5);
    row = json_array_get(r, 1);
    assert_string_equal(json_string_value(json_object_get(row, "x_verdict")), "down");
    assert_int_equal(jint(row, "down"), 5);
    assert_int_equal(json_array_size(r), 6);
    json_decref(a);

    a = agg(s, NULL, "probe_asn", "probe_cc");
    r = json_object_get(a, "result");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "probe_asn")),
                        "AS12389");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "probe_cc")), "RU");
    json_decref(a);

    /* a country's domains (the per-country-and-domain table) */
    f = (struct vg_store_filter){.probe_cc = "IT"};
    a = agg(s, &f, "domain", NULL);
    r = json_object_get(a, "result");
    assert_int_equal(json_array_size(r), 3);
    row = json_array_get(r, 1);
    assert_string_equal(json_string_value(json_object_get(row, "domain")), "d1.example");
    assert_int_equal(jint(row, "blocked"), 5); /* i = 1, 7, 13, 19, 25 */
    assert_int_equal(jint(row, "total"), 5);
    json_decref(a);
    /* a domain's networks (the hourly table) */
    f = (struct vg_store_filter){.domain = "d0.example"};
    a = agg(s, &f, "probe_asn", "measurement_day");
    r = json_object_get(a, "result");
    assert_int_equal(json_array_size(r), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "probe_asn")),
                        "AS12389");
    assert_int_equal(jint(json_array_get(r, 0), "total"), 2); /* i = 0, 6 on day 1 */
    json_decref(a);

    /* hour axis with filters: IT, day 1 (hours 01, 03, ..., 09) */
    f = (struct vg_store_filter){.probe_cc = "IT", .since = 1772323200, .until = 1772409600};
    a = agg(s, &f, "measurement_hour", NULL);
    r = json_object_get(a, "result");
    assert_int_equal(json_array_size(r), 5);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(r, 0), "measurement_hour")),
        "2026-03-01T01:00:00Z");
    json_decref(a);
    /* since inside an hour counts that whole hour (hourly resolution) */
    f = (struct vg_store_filter){.since = 1772323200 + 1800, .until = 1772323200 + 3600};
    a = agg(s, &f, NULL, NULL);
    assert_int_equal(jint(json_object_get(a, "result"), "total"), 1);
    json_decref(a);
    f = (struct vg_store_filter){
        .domain = "d1.example", .x_verdict = "blocked", .has_probe_asn = true, .probe_asn = 30722};
    a = agg(s, &f, NULL, NULL);
    assert_int_equal(jint(json_object_get(a, "result"), "total"), 5); /* i = 1, 7, ..., 25 */
    json_decref(a);

    f = (struct vg_store_filter){.input = "https://d0.example/"};
    assert_int_equal(vg_store_aggregate(s, &f, none, none, &a), VG_EINVAL);
    assert_null(a);
    assert_int_equal(vg_store_aggregate(s, NULL, VG_AXIS_CC, VG_AXIS_CC, &a), VG_EINVAL);
    assert_int_equal(vg_store_aggregate(s, NULL, none, VG_AXIS_CC, &a), VG_EINVAL);
    assert_int_equal(vg_store_aggregate(s, NULL, (enum vg_store_axis)99, none, &a), VG_EINVAL);
}

/* ---- aggregation against a reference computed here from the measurements ---- */

#define AGG_REF_N 240

struct agg_ref_m {
    char domain[32], cc[4], verdict[16];
    int64_t t, asn;
};

struct agg_ref_group {
    struct agg_ref_m key; /* the fields of the axes */
    int64_t n[VG_STORE_N_VERDICTS], total;
};

/* Seeds of test_aggregate_reference: 240 measurements over 10 days, 5 domains (named so that
 * their byte order differs from their order here), 3 countries, ASNs whose numeric order is
 * not their text order, every verdict. */
static void
agg_ref_seed(struct vg_store *s, struct agg_ref_m *ms)
{
    static const char *const domains[] = {"b.example", "a-b.example", "a.example", "z0.example",
                                          "a0.example"};
    static const char *const ccs[] = {"IT", "RU", "DE"};
    static const int64_t asns[] = {30722, 3269, 12389};
    static const char *const verdicts[] = {"accessible",  "blocked", "down",
                                           "intercepted", "unknown", "accessible"};
    struct row *w = calloc(AGG_REF_N, sizeof(*w));
    struct vg_store_meas *rows = calloc(AGG_REF_N, sizeof(*rows));
    uint32_t x = 12345;

    assert_non_null(w);
    assert_non_null(rows);
    for (int i = 0; i < AGG_REF_N; i++) {
        struct agg_ref_m *r = &ms[i];
        char input[64], t[32];
        time_t tt;
        struct tm tm;
        struct m m;

        x = x * 1103515245u + 12345u;
        r->t = 1772323200 + (int64_t)((x >> 8) % (10u * 86400u)); /* 2026-03-01 + 10 days */
        snprintf(r->domain, sizeof(r->domain), "%s", domains[(x >> 3) % 5]);
        snprintf(r->cc, sizeof(r->cc), "%s", ccs[(x >> 5) % 3]);
        r->asn = asns[(x >> 7) % 3];
        snprintf(r->verdict, sizeof(r->verdict), "%s", verdicts[(x >> 11) % 6]);
        snprintf(input, sizeof(input), "https://%s/p%d", r->domain, i % 4);
        tt = (time_t)r->t;
        gmtime_r(&tt, &tm);
        strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm);
        m = (struct m){input, r->cc, (unsigned)r->asn, t, r->verdict, NULL, i};
        row_make(&w[i], &m, 0);
        rows[i] = w[i].r;
    }
    assert_int_equal(vg_store_insert(s, rows, AGG_REF_N / 2, NULL), AGG_REF_N / 2);
    assert_int_equal(vg_store_insert(s, rows + AGG_REF_N / 2, AGG_REF_N / 2, NULL), AGG_REF_N / 2);
    for (int i = 0; i < AGG_REF_N; i++) {
        row_free(&w[i]);
    }
    free(w);
    free(rows);
}

/* Axis a of m compared with n's, in the order of the store's columns (times and ASNs as numbers,
 * texts bytewise). */
static int
agg_ref_cmp_axis(enum vg_store_axis a, const struct agg_ref_m *m, const struct agg_ref_m *n)
{
    int64_t x, y;

    switch (a) {
    case VG_AXIS_DAY:
        x = m->t - m->t % 86400;
        y = n->t - n->t % 86400;
        break;
    case VG_AXIS_HOUR:
        x = m->t - m->t % 3600;
        y = n->t - n->t % 3600;
        break;
    case VG_AXIS_ASN:
        x = m->asn;
        y = n->asn;
        break;
    case VG_AXIS_DOMAIN:
        return strcmp(m->domain, n->domain);
    case VG_AXIS_CC:
        return strcmp(m->cc, n->cc);
    case VG_AXIS_VERDICT:
        return strcmp(m->verdict, n->verdict);
    default:
        return 0;
    }
    return x < y ? -1 : x > y;
}

static json_t *
agg_ref_axis_json(enum vg_store_axis a, const struct agg_ref_m *m)
{
    char b[40];
    time_t tt = (time_t)m->t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    switch (a) {
    case VG_AXIS_DAY:
        strftime(b, sizeof(b), "%Y-%m-%d", &tm);
        return json_string(b);
    case VG_AXIS_HOUR:
        strftime(b, sizeof(b), "%Y-%m-%dT%H:00:00Z", &tm);
        return json_string(b);
    case VG_AXIS_ASN:
        snprintf(b, sizeof(b), "AS%lld", (long long)m->asn);
        return json_string(b);
    case VG_AXIS_DOMAIN:
        return json_string(m->domain);
    case VG_AXIS_CC:
        return json_string(m->cc);
    default:
        return json_string(m->verdict);
    }
}

static bool
agg_ref_match(const struct vg_store_filter *f, const struct agg_ref_m *m)
{
    int64_t hour = m->t - m->t % 3600;

    /* the windows below are whole hours: the hourly and daily tables count the same rows */
    return (f->domain == NULL || strcmp(f->domain, m->domain) == 0) &&
           (f->probe_cc == NULL || strcmp(f->probe_cc, m->cc) == 0) &&
           (!f->has_probe_asn || f->probe_asn == m->asn) &&
           (f->x_verdict == NULL || strcmp(f->x_verdict, m->verdict) == 0) &&
           (f->since == 0 || hour >= f->since) && (f->until == 0 || hour < f->until);
}

/* The answer of vg_store_aggregate(f, x, y) computed from the measurements ms. */
static json_t *
agg_ref(const struct agg_ref_m *ms, const struct vg_store_filter *f, enum vg_store_axis x,
        enum vg_store_axis y)
{
    struct agg_ref_group *g = calloc(AGG_REF_N + 1, sizeof(*g));
    enum vg_store_axis ax[2] = {x, y};
    size_t ng = 0, nax = x == VG_AXIS_NONE ? 0 : y == VG_AXIS_NONE ? 1 : 2;
    json_t *res = json_array(), *out;

    assert_non_null(g);
    for (size_t i = 0; i < AGG_REF_N; i++) {
        size_t k, at;

        if (!agg_ref_match(f, &ms[i])) {
            continue;
        }
        /* the groups are kept sorted: find ms[i]'s or where it goes */
        for (at = 0; at < ng; at++) {
            int c = 0;

            for (size_t a = 0; c == 0 && a < nax; a++) {
                c = agg_ref_cmp_axis(ax[a], &g[at].key, &ms[i]);
            }
            if (c >= 0) {
                break;
            }
        }
        if (at == ng ||
            (nax > 0 && (agg_ref_cmp_axis(ax[0], &g[at].key, &ms[i]) != 0 ||
                         (nax > 1 && agg_ref_cmp_axis(ax[1], &g[at].key, &ms[i]) != 0)))) {
            memmove(&g[at + 1], &g[at], (ng - at) * sizeof(*g));
            memset(&g[at], 0, sizeof(*g));
            g[at].key = ms[i];
            ng++;
        }
        for (k = 0; k < VG_STORE_N_VERDICTS; k++) {
            if (strcmp(vg_verdict_name(vg_store_verdict_order[k]), ms[i].verdict) == 0) {
                g[at].n[k]++;
            }
        }
        g[at].total++;
    }
    if (ng == 0 && nax == 0) {
        ng = 1; /* no measurement: zeros */
    }
    for (size_t i = 0; i < ng; i++) {
        json_t *o = json_object();

        for (size_t k = 0; k < VG_STORE_N_VERDICTS; k++) {
            json_object_set_new(o, vg_verdict_name(vg_store_verdict_order[k]),
                                json_integer(g[i].n[k]));
        }
        json_object_set_new(o, "total", json_integer(g[i].total));
        for (size_t a = 0; a < nax; a++) {
            json_object_set_new(o, vg_store_axis_name(ax[a]), agg_ref_axis_json(ax[a], &g[i].key));
        }
        json_array_append_new(res, o);
    }
    free(g);
    out = json_pack("{s:I, s:O}", "dimension_count", (json_int_t)nax, "result",
                    nax == 0 ? json_array_get(res, 0) : res);
    json_decref(res);
    return out;
}

/* Every pair of axes under several filters, on each count table (hourly and daily, with and
 * without a network or a domain), byte for byte against the reference: the SQL may group and
 * read the tables as it likes, the answer stays the same. */
static void
test_aggregate_reference(void **state)
{
    struct vg_store *s = *state;
    struct agg_ref_m *ms = calloc(AGG_REF_N, sizeof(*ms));
    const struct vg_store_filter filters[] = {
        {.since = 0},
        {.since = 1772323200 + 2 * 86400, .until = 1772323200 + 9 * 86400}, /* 7 days */
        {.probe_cc = "IT", .since = 1772323200 + 86400, .until = 1772323200 + 4 * 86400},
        {.domain = "a.example"},
        {.x_verdict = "blocked"},
        {.since = 1772323200 + 3 * 86400 + 5 * 3600, .until = 1772323200 + 5 * 86400 + 3600},
        {.has_probe_asn = true, .probe_asn = 3269, .until = 1772323200 + 6 * 86400},
        {.domain = "a0.example", .probe_cc = "RU", .x_verdict = "accessible"},
    };
    size_t checked = 0;

    assert_non_null(ms);
    agg_ref_seed(s, ms);
    for (size_t fi = 0; fi < sizeof(filters) / sizeof(filters[0]); fi++) {
        for (int x = 0; x <= VG_AXIS_VERDICT; x++) {
            for (int y = 0; y <= VG_AXIS_VERDICT; y++) {
                json_t *got, *want;
                char *gs, *ws;

                if ((x == VG_AXIS_NONE && y != VG_AXIS_NONE) || (x != VG_AXIS_NONE && x == y)) {
                    continue;
                }
                assert_int_equal(vg_store_aggregate(s, &filters[fi], (enum vg_store_axis)x,
                                                    (enum vg_store_axis)y, &got),
                                 0);
                want = agg_ref(ms, &filters[fi], (enum vg_store_axis)x, (enum vg_store_axis)y);
                gs = json_dumps(got, JSON_COMPACT);
                ws = json_dumps(want, JSON_COMPACT);
                if (strcmp(gs, ws) != 0) {
                    fail_msg("filter %zu, axes %d, %d:\n got  %s\n want %s", fi, x, y, gs, ws);
                }
                free(gs);
                free(ws);
                json_decref(got);
                json_decref(want);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 8 * 37);
    free(ms);
}

/* The target row of input/cc as {verdict, since, last_seen}. */
static void
target_is(struct vg_store *s, const char *input, const char *cc, const char *verdict,
          const char *since, const char *last)
{
    struct vg_store_filter f = {.input = input, .probe_cc = cc};
    json_t *out, *r;

    assert_int_equal(vg_store_targets(s, &f, NULL, 10, &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "results")), 1);
    r = json_array_get(json_object_get(out, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "x_verdict")), verdict);
    assert_string_equal(json_string_value(json_object_get(r, "since")), since);
    assert_string_equal(json_string_value(json_object_get(r, "last_seen")), last);
    json_decref(out);
}

static void
test_targets_runs(void **state)
{
    struct vg_store *s = *state;
    const char *u = "https://t.example/";
    struct m m = {u, "IT", 1, NULL, NULL, NULL, 0};
    struct vg_store_filter f;
    json_t *out;
    char uid[VG_UID_MAX];

#define AT(tm, v)        \
    do {                 \
        m.time = (tm);   \
        m.verdict = (v); \
        m.trial++;       \
        put(s, &m, uid); \
    } while (0)
    AT("2026-05-01 10:00:00", "blocked");
    target_is(s, u, "IT", "blocked", "2026-05-01T10:00:00Z", "2026-05-01T10:00:00Z");
    AT("2026-05-01 11:00:00", "blocked");
    target_is(s, u, "IT", "blocked", "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z");
    AT("2026-05-01 12:00:00", "accessible");
    target_is(s, u, "IT", "accessible", "2026-05-01T12:00:00Z", "2026-05-01T12:00:00Z");
    AT("2026-05-01 13:00:00", "accessible");
    target_is(s, u, "IT", "accessible", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z");
    /* late arrivals: before the run, same verdict -> the run does not reach back over 11:00 */
    AT("2026-05-01 09:00:00", "accessible");
    target_is(s, u, "IT", "accessible", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z");
    /* between the last other verdict and the run: the run starts earlier */
    AT("2026-05-01 11:30:00", "accessible");
    target_is(s, u, "IT", "accessible", "2026-05-01T11:30:00Z", "2026-05-01T13:00:00Z");
    /* another verdict before the run: nothing changes */
    AT("2026-05-01 11:10:00", "blocked");
    target_is(s, u, "IT", "accessible", "2026-05-01T11:30:00Z", "2026-05-01T13:00:00Z");
    /* another verdict inside the run: the run is only known from the latest time on */
    AT("2026-05-01 12:30:00", "down");
    target_is(s, u, "IT", "accessible", "2026-05-01T13:00:00Z", "2026-05-01T13:00:00Z");
    /* ... until a late one of the run between that and the latest arrives */
    AT("2026-05-01 12:45:00", "accessible");
    target_is(s, u, "IT", "accessible", "2026-05-01T12:45:00Z", "2026-05-01T13:00:00Z");
    AT("2026-05-01 14:00:00", "accessible");
    target_is(s, u, "IT", "accessible", "2026-05-01T12:45:00Z", "2026-05-01T14:00:00Z");
    /* the latest measurement's uid and cause are reported */
    f = (struct vg_store_filter){.input = u};
    assert_int_equal(vg_store_targets(s, &f, NULL, 10, &out), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "results"), 0), "measurement_uid")),
                        uid);
    json_decref(out);
    /* another network has its own row */
    m.cc = "DE";
    AT("2026-05-01 10:00:00", "blocked");
    target_is(s, u, "DE", "blocked", "2026-05-01T10:00:00Z", "2026-05-01T10:00:00Z");
    target_is(s, u, "IT", "accessible", "2026-05-01T12:45:00Z", "2026-05-01T14:00:00Z");
#undef AT
}

static void
test_targets_filters_paging(void **state)
{
    struct vg_store *s = *state;
    struct vg_store_filter f;
    json_t *out;
    char *cursor = NULL;
    size_t total = 0;

    load_grid(s); /* 3 inputs x 2 networks = 6 targets */
    do {
        json_t *next;

        assert_int_equal(vg_store_targets(s, NULL, cursor, 4, &out), 0);
        total += json_array_size(json_object_get(out, "results"));
        free(cursor);
        cursor = NULL;
        next = json_object_get(out, "next_cursor");
        if (json_is_string(next)) {
            cursor = strdup(json_string_value(next));
        }
        json_decref(out);
    } while (cursor != NULL);
    assert_int_equal(total, 6);
    f = (struct vg_store_filter){.domain = "d1.example"};
    assert_int_equal(vg_store_targets(s, &f, NULL, 0, &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "results")), 2);
    json_decref(out);
    /* latest per (input, network): i = 28 (d1, RU, accessible... i%6 = 4 intercepted) */
    f = (struct vg_store_filter){.domain = "d1.example", .probe_cc = "RU"};
    assert_int_equal(vg_store_targets(s, &f, NULL, 0, &out), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "results"), 0), "x_verdict")),
                        "intercepted");
    json_decref(out);
    f = (struct vg_store_filter){.x_verdict = "intercepted"};
    assert_int_equal(vg_store_targets(s, &f, NULL, 0, &out), 0);
    assert_true(json_array_size(json_object_get(out, "results")) >= 1);
    json_decref(out);
    assert_int_equal(vg_store_targets(s, NULL, "WzFd", 4, &out), VG_EINVAL); /* [1] */
    assert_null(out);
}

/* Insert m as uploaded by provenance prov. */
static void
put_as(struct vg_store *s, const struct m *m, const char *prov)
{
    struct row w;
    char uids[1][VG_UID_MAX];

    row_make(&w, m, 0);
    snprintf(w.r.provenance, sizeof(w.r.provenance), "%s", prov);
    assert_int_equal(vg_store_insert(s, &w.r, 1, uids), 1);
    row_free(&w);
}

static size_t
list_count(struct vg_store *s, const struct vg_store_filter *f)
{
    json_t *page;
    size_t n;

    assert_int_equal(vg_store_list(s, f, NULL, VG_STORE_PAGE_MAX, &page), 0);
    n = json_array_size(json_object_get(page, "results"));
    json_decref(page);
    return n;
}

static json_t *
target_of(struct vg_store *s, const struct vg_store_filter *f)
{
    json_t *out, *r;

    assert_int_equal(vg_store_targets(s, f, NULL, 10, &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "results")), 1);
    r = json_incref(json_array_get(json_object_get(out, "results"), 0));
    json_decref(out);
    return r;
}

/* Who uploaded: kept per measurement, in the count tables and in one latest state per scope. An
 * anonymous flood that says "blocked" does not move what the trusted probes say. */
static void
test_provenance_scopes(void **state)
{
    struct vg_store *s = *state;
    const char *u = "https://p.example/";
    struct m m = {u, "IR", 197207, "2026-05-01 10:00:00", "accessible", NULL, 0};
    struct vg_store_filter f;
    json_t *a, *t, *page;

    put_as(s, &m, "probe-a");
    m.time = "2026-05-01 11:00:00";
    m.trial = 1;
    put_as(s, &m, "probe_b.2");
    for (int i = 0; i < 3; i++) {
        m.time = "2026-05-01 12:00:00";
        m.verdict = "blocked";
        m.trial = 10 + i;
        put_as(s, &m, "anonymous");
    }
    /* lists: rows carry their provenance; filters by name, by trust */
    f = (struct vg_store_filter){.provenance = "probe-a"};
    assert_int_equal(list_count(s, &f), 1);
    assert_int_equal(vg_store_list(s, &f, NULL, 10, &page), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(page, "results"), 0), "provenance")),
                        "probe-a");
    json_decref(page);
    f = (struct vg_store_filter){.trusted = true};
    assert_int_equal(list_count(s, &f), 2);
    f = (struct vg_store_filter){.provenance = "anonymous"};
    assert_int_equal(list_count(s, &f), 3);
    assert_int_equal(list_count(s, NULL), 5);
    /* aggregations, from the daily and the hourly tables */
    f = (struct vg_store_filter){.trusted = true};
    a = agg(s, &f, NULL, NULL);
    assert_int_equal(jint(json_object_get(a, "result"), "total"), 2);
    assert_int_equal(jint(json_object_get(a, "result"), "blocked"), 0);
    json_decref(a);
    a = agg(s, &f, "measurement_hour", NULL);
    assert_int_equal(json_array_size(json_object_get(a, "result")), 2);
    json_decref(a);
    f = (struct vg_store_filter){.provenance = "anonymous", .probe_cc = "IR"};
    a = agg(s, &f, "domain", NULL);
    assert_int_equal(jint(json_array_get(json_object_get(a, "result"), 0), "blocked"), 3);
    json_decref(a);
    f = (struct vg_store_filter){.provenance = "probe_b.2", .domain = "p.example"};
    a = agg(s, &f, NULL, NULL);
    assert_int_equal(jint(json_object_get(a, "result"), "total"), 1);
    json_decref(a);
    /* latest states: every measurement, the trusted ones, one provenance */
    t = target_of(s, NULL);
    assert_string_equal(json_string_value(json_object_get(t, "x_verdict")), "blocked");
    json_decref(t);
    f = (struct vg_store_filter){.trusted = true, .input = u};
    t = target_of(s, &f);
    assert_string_equal(json_string_value(json_object_get(t, "x_verdict")), "accessible");
    assert_string_equal(json_string_value(json_object_get(t, "since")), "2026-05-01T10:00:00Z");
    assert_string_equal(json_string_value(json_object_get(t, "last_seen")), "2026-05-01T11:00:00Z");
    json_decref(t);
    f = (struct vg_store_filter){.provenance = "probe-a"};
    t = target_of(s, &f);
    assert_string_equal(json_string_value(json_object_get(t, "last_seen")), "2026-05-01T10:00:00Z");
    json_decref(t);
    f = (struct vg_store_filter){.provenance = "nobody"};
    assert_int_equal(vg_store_targets(s, &f, NULL, 10, &page), 0);
    assert_int_equal(json_array_size(json_object_get(page, "results")), 0);
    json_decref(page);
    /* refused: a malformed name, trusted anonymous; and a row without a valid provenance */
    f = (struct vg_store_filter){.provenance = "a b"};
    assert_int_equal(vg_store_list(s, &f, NULL, 10, &page), VG_EINVAL);
    f = (struct vg_store_filter){.provenance = "anonymous", .trusted = true};
    assert_int_equal(vg_store_targets(s, &f, NULL, 10, &page), VG_EINVAL);
    {
        struct row w;

        row_make(&w, &m, 0);
        w.r.provenance[0] = '\0';
        assert_int_equal(vg_store_insert(s, &w.r, 1, NULL), VG_EINVAL);
        snprintf(w.r.provenance, sizeof(w.r.provenance), "no/slash");
        assert_int_equal(vg_store_insert(s, &w.r, 1, NULL), VG_EINVAL);
        row_free(&w);
    }
    assert_true(vg_store_provenance_ok("A-z_0.9"));
    assert_false(vg_store_provenance_ok(""));
    assert_false(vg_store_provenance_ok("x\n"));
}

/* Latest states order by the measurement's time capped at its arrival: one dated in the future
 * counts as made when it arrived, and a genuine later one displaces it (finding 2). */
static void
test_trusted_time(void **state)
{
    struct vg_store *s = *state;
    const char *u = "https://future.example/";
    struct m m = {u, "IR", 197207, "9999-12-31 23:59:59", "blocked", NULL, 0};
    struct vg_store_filter f = {.input = u};
    char now_s[32], later[32];
    json_t *t;
    time_t now = time(NULL);
    struct tm tm;

    put(s, &m, NULL);
    t = target_of(s, &f);
    vg_store_format_time(now, now_s, sizeof(now_s));
    assert_string_equal(json_string_value(json_object_get(t, "x_verdict")), "blocked");
    /* last seen at its arrival (now, give or take the second it took), not in 9999 */
    assert_true(strcmp(json_string_value(json_object_get(t, "last_seen")), now_s) >= 0);
    assert_true(strncmp(json_string_value(json_object_get(t, "last_seen")), "9999", 4) != 0);
    json_decref(t);
    /* a measurement dated a minute from now (within a clock's error): capped too, and later */
    gmtime_r(&(time_t){now + 60}, &tm);
    strftime(later, sizeof(later), "%Y-%m-%d %H:%M:%S", &tm);
    m.time = later;
    m.verdict = "accessible";
    m.trial = 1;
    put(s, &m, NULL);
    t = target_of(s, &f);
    assert_string_equal(json_string_value(json_object_get(t, "x_verdict")), "accessible");
    json_decref(t);
}

static void
test_reports(void **state)
{
    struct vg_store *s = *state;
    struct vg_store_report r = {.report_id = "20261129T111346Z_webconnectivity_IT_30722_n1_Zx9",
                                .probe_cc = "IT",
                                .probe_asn = 30722,
                                .software_name = "vigie",
                                .software_version = "0.1.0",
                                .test_name = "web_connectivity",
                                .created = 1795950826};
    struct vg_store_report got;

    assert_int_equal(vg_store_report_get(s, r.report_id, &got), VG_STORE_ENOTFOUND);
    assert_int_equal(vg_store_report_open(s, &r), 0);
    assert_int_equal(vg_store_report_open(s, &r), VG_STORE_EEXIST);
    assert_int_equal(vg_store_report_get(s, r.report_id, &got), 0);
    assert_string_equal(got.report_id, r.report_id);
    assert_string_equal(got.probe_cc, "IT");
    assert_int_equal(got.probe_asn, 30722);
    assert_string_equal(got.software_name, "vigie");
    assert_string_equal(got.software_version, "0.1.0");
    assert_string_equal(got.test_name, "web_connectivity");
    assert_int_equal(got.created, 1795950826);
    assert_false(got.closed);
    assert_false(got.legacy);
    assert_string_equal(got.provenance, "anonymous");
    assert_int_equal(vg_store_report_get(s, r.report_id, NULL), 0);
    assert_int_equal(vg_store_report_close(s, r.report_id), 0);
    assert_int_equal(vg_store_report_close(s, r.report_id), 0);
    assert_int_equal(vg_store_report_get(s, r.report_id, &got), 0);
    assert_true(got.closed);
    assert_int_equal(vg_store_report_close(s, "no-such-report"), VG_STORE_ENOTFOUND);
    assert_int_equal(vg_store_report_get(s, "", &got), VG_EINVAL);
    assert_int_equal(vg_store_report_close(s, "has space"), VG_EINVAL);
    /* the credential that opened it is kept */
    snprintf(r.report_id, sizeof(r.report_id), "20261129T111346Z_webconnectivity_IT_1_n1_Zy0");
    snprintf(r.provenance, sizeof(r.provenance), "probe-7");
    assert_int_equal(vg_store_report_open(s, &r), 0);
    assert_int_equal(vg_store_report_get(s, r.report_id, &got), 0);
    assert_string_equal(got.provenance, "probe-7");
    snprintf(r.provenance, sizeof(r.provenance), "bad name");
    assert_int_equal(vg_store_report_open(s, &r), VG_EINVAL);
    r.provenance[0] = '\0';
    r.report_id[0] = '\0';
    assert_int_equal(vg_store_report_open(s, &r), VG_EINVAL);
}

/* A fault injected at the aggregate table for one domain: the calls that carry such a row fail
 * whole (nothing of them stored), calls grouped with them in the same transaction do not. */
static void
test_nothing_half_written(void **state)
{
    struct vg_store *s = *state;
    struct m good = {"https://ok.example/", "IT", 1, "2026-05-01 10:00:00", "blocked", NULL, 1};
    struct m bad = {"https://fail.example/", "IT", 1, "2026-05-01 10:00:00", "blocked", NULL, 2};
    struct row g, b;
    struct vg_store_meas rows[2];

    if (g_is_pg) {
        raw_exec("CREATE FUNCTION vg_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                 " IF NEW.domain = 'fail.example' THEN RAISE EXCEPTION 'injected'"
                 " USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$");
        raw_exec("CREATE TRIGGER vg_fail BEFORE INSERT ON agg_hourly FOR EACH ROW"
                 " EXECUTE FUNCTION vg_fail()");
    } else {
        raw_exec("CREATE TRIGGER vg_fail BEFORE INSERT ON agg_hourly"
                 " WHEN NEW.domain = 'fail.example' BEGIN SELECT RAISE(ABORT, 'injected'); END");
    }
    row_make(&g, &good, 0);
    row_make(&b, &bad, 0);
    rows[0] = g.r;
    rows[1] = b.r;
    assert_int_equal(vg_store_insert(s, rows, 2, NULL), VG_EINVAL);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), 0);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM agg_hourly"), 0);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM targets"), 0);
    assert_int_equal(vg_store_insert(s, &g.r, 1, NULL), 1);
    raw_exec(g_is_pg ? "DROP TRIGGER vg_fail ON agg_hourly" : "DROP TRIGGER vg_fail");
    row_free(&g);
    row_free(&b);
}

static void
test_unavailable(void **state)
{
    struct vg_store *s = *state, *bad = NULL;
    struct m m = {"https://www.example.com/", "IT", 1, "2026-11-29 11:13:46", "blocked", NULL, 1};
    struct row w;
    char err[512];

    (void)s;
    if (g_is_pg) {
        assert_int_equal(vg_store_open("pg:host=/nonexistent-vigie port=1 dbname=x "
                                       "connect_timeout=2",
                                       NULL, &bad, err, sizeof(err)),
                         VG_STORE_EUNAVAIL);
    } else {
        assert_int_equal(vg_store_open("/nonexistent-vigie-dir/x.db", NULL, &bad, err, sizeof(err)),
                         VG_STORE_EUNAVAIL);
    }
    assert_null(bad);
    assert_true(err[0] != '\0');
    row_make(&w, &m, 0);
    {
        /* the database locked by someone else past the timeout: EUNAVAIL, nothing stored */
        struct vg_store_opts o = {.timeout_ms = 300};
        struct vg_store *t = open_store(&o);

        if (g_is_pg) {
            PGconn *c = PQconnectdb(g_pg);

            PQclear(PQexec(c, "BEGIN"));
            PQclear(PQexec(c, "LOCK TABLE measurements IN ACCESS EXCLUSIVE MODE"));
            assert_int_equal(vg_store_insert(t, &w.r, 1, NULL), VG_STORE_EUNAVAIL);
            PQclear(PQexec(c, "ROLLBACK"));
            PQfinish(c);
        } else {
            sqlite3 *db;

            assert_int_equal(sqlite3_open(g_sqlite, &db), SQLITE_OK);
            assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
            assert_int_equal(vg_store_insert(t, &w.r, 1, NULL), VG_STORE_EUNAVAIL);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            sqlite3_close(db);
        }
        assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), 0);
        /* and it works again once the lock is gone */
        assert_int_equal(vg_store_insert(t, &w.r, 1, NULL), 1);
        vg_store_close(t);
    }
    row_free(&w);
}

static void
test_pg_reconnect(void **state)
{
    struct vg_store *s = *state;
    struct m m = {"https://www.example.com/", "IT", 1, "2026-11-29 11:13:46", "blocked", NULL, 1};
    struct vg__store_stats before, after;
    json_t *page;
    char uid[VG_UID_MAX], *raw;
    const char *ours = "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'vigie'"
                       " AND datname = current_database()";

    if (!g_is_pg) {
        skip();
    }
    put(s, &m, uid);
    assert_int_equal(vg_store_get_raw(s, uid, &raw, NULL), 0); /* a reader connection exists */
    free(raw);
    vg__store_get_stats(s, &before);
    /* the server drops every connection of the store (restart, failover, idle kill) */
    raw_exec("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE application_name = 'vigie' AND datname = current_database()"
             " AND pid <> pg_backend_pid()");
    /* pg_terminate_backend only signals: wait (bounded) until those sessions are gone */
    for (int i = 0; i < 3000 && raw_scalar(ours) > 0; i++) {
        usleep(10 * 1000);
    }
    /* next use reconnects, for reads and for writes */
    assert_int_equal(vg_store_list(s, NULL, NULL, 10, &page), 0);
    assert_int_equal(json_array_size(json_object_get(page, "results")), 1);
    json_decref(page);
    m.trial = 2;
    put(s, &m, NULL);
    vg__store_get_stats(s, &after);
    assert_true(after.reconnects >= before.reconnects + 2);
}

/* A COMMIT of a transaction that had failed is refused, not taken for a commit: PostgreSQL
 * answers it successfully, with the tag ROLLBACK. The store never gets there unless it missed
 * an error; this is the net under that. (SQLite: a failed statement does not end the
 * transaction.) */
static void
test_pg_commit_of_failed_txn(void **state)
{
    struct vg__conn *c = NULL;
    struct vg_store_opts o = {.timeout_ms = 5000};
    char err[256];

    (void)state;
    if (!g_is_pg) {
        skip();
    }
    assert_int_equal(vg__store_pg_ops.connect(strncmp(g_spec, "pg:", 3) == 0 ? g_spec + 3 : g_spec,
                                              &o, true, &c, err, sizeof(err)),
                     0);
    assert_int_equal(vg__store_pg_ops.exec(c, "BEGIN"), 0);
    assert_true(vg__store_pg_ops.exec(c, "SELECT * FROM vg_no_such_table") < 0);
    assert_int_equal(vg__store_pg_ops.exec(c, "COMMIT"), VG_EINTERNAL);
    assert_non_null(strstr(vg__store_pg_ops.errmsg(c), "ROLLBACK"));
    /* the connection is usable afterwards */
    assert_int_equal(vg__store_pg_ops.exec(c, "BEGIN"), 0);
    assert_int_equal(vg__store_pg_ops.exec(c, "COMMIT"), 0);
    vg__store_pg_ops.disconnect(c);
}

/* Closing the store checkpoints SQLite's WAL and deletes it: the writer closes last (read
 * connections cannot checkpoint). A WAL left behind is indexed again at the next open, which
 * needs disk space that a full disk does not have. */
static void
test_sqlite_close_checkpoints(void **state)
{
    struct vg_store *t;
    struct m m = {"https://www.example.com/", "IT", 1, "2026-11-29 11:13:46", "blocked", NULL, 1};
    char uid[VG_UID_MAX], *raw, wal[600];

    if (g_is_pg) {
        skip();
    }
    snprintf(wal, sizeof(wal), "%s-wal", g_sqlite);
    vg_store_close(*state); /* t alone has the file open */
    *state = NULL;
    t = open_store(NULL);
    put(t, &m, uid);
    assert_int_equal(vg_store_get_raw(t, uid, &raw, NULL), 0); /* a reader connection exists */
    free(raw);
    assert_int_equal(access(wal, F_OK), 0);
    vg_store_close(t);
    assert_int_equal(access(wal, F_OK), -1);
    *state = open_store(NULL);
    assert_int_equal(raw_scalar("SELECT COUNT(*) FROM measurements"), 1);
}

/* ClickHouse: no UPDATE, so each breakage is a row inserted, undone by another (a count of -1,
 * a newer version); the race of two collectors storing one measurement at once cannot be undone:
 * the store is made again for the teardown's check. */
static void
ch_integrity_detects(void **state)
{
    struct vg_store *s = *state;
    static const char *const m_cols = "measurement_uid, idem_key, report_id,"
                                      " measurement_start_time, input, domain, probe_cc,"
                                      " probe_asn, test_name, software_name, software_version,"
                                      " x_verdict, x_cause, blocking, accessible, received,"
                                      " raw_len, raw, provenance, x_analyzer, x_evidence";
    char err[512], sql[1024];

    /* a measurement without an input counts in no target (the view once counted it under '') */
    {
        struct m m = {"https://x.example/", "IT", 1, "2026-11-29 11:14:46", "blocked", NULL, 2};
        char *text = mk(&m), uid[1][VG_UID_MAX];
        json_t *o = json_loads(text, 0, NULL);
        struct vg_store_meas r;

        free(text);
        json_object_set_new(o, "input", json_null());
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        assert_int_equal(vg_store_meas_from_json(text, strlen(text), 1, &r, NULL, 0), 0);
        assert_int_equal(vg_store_insert(s, &r, 1, uid), 1);
        free(text);
        assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_target_hourly"), 1);
        assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_hourly"), 2);
        assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);
    }

    /* a stray row in a count table, in a bucket of its own, then one in the measurement's */
    raw_exec("INSERT INTO agg_hourly (hour_start, domain, probe_cc, probe_asn, x_verdict,"
             " provenance, n) VALUES (3600, 'stray.example', 'IT', 1, 'blocked', 'anonymous', 1)");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "aggregate total differs"));
    raw_exec("INSERT INTO agg_hourly (hour_start, domain, probe_cc, probe_asn, x_verdict,"
             " provenance, n) VALUES (3600, 'stray.example', 'IT', 1, 'blocked', 'anonymous', -1)");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);
    raw_exec("INSERT INTO agg_daily_net SELECT day_start, probe_cc, probe_asn, x_verdict,"
             " provenance, 1 FROM agg_daily_net LIMIT 1");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "daily per-network aggregate that disagrees"));
    raw_exec("INSERT INTO agg_daily_net SELECT day_start, probe_cc, probe_asn, x_verdict,"
             " provenance, -1 FROM agg_daily_net WHERE n = 1 LIMIT 1");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);
    raw_exec("INSERT INTO agg_target_hourly SELECT input, probe_cc, probe_asn, hour_start,"
             " 'accessible', provenance, 1 FROM agg_target_hourly");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "per-target aggregate"));
    raw_exec("INSERT INTO agg_target_hourly SELECT input, probe_cc, probe_asn, hour_start,"
             " 'accessible', provenance, -1 FROM agg_target_hourly WHERE x_verdict ="
             " 'accessible' LIMIT 1");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);

    /* a target's history that names another verdict (a newer version of its row), then the
     * right one again (newer still) */
    raw_exec("INSERT INTO target_history SELECT input, probe_cc, probe_asn,"
             " measurement_start_time, idem_key, domain, measurement_uid, received, 'down',"
             " x_cause, provenance, ver + 1 FROM target_history FINAL");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "target history rows missing, extra, or that disagree"));
    raw_exec("INSERT INTO target_history SELECT h.input, h.probe_cc, h.probe_asn,"
             " h.measurement_start_time, h.idem_key, h.domain, h.measurement_uid, h.received,"
             " m.x_verdict, h.x_cause, h.provenance, h.ver + 1 FROM target_history AS h FINAL"
             " ANY INNER JOIN (SELECT measurement_uid, x_verdict FROM measurements FINAL) AS m"
             " USING measurement_uid");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);

    /* a latest state that names another verdict (a newer version of its row), then one that
     * names a measurement never stored */
    raw_exec("INSERT INTO targets SELECT scope, input, probe_cc, probe_asn, domain, 'down',"
             " x_cause, since_time, last_time, brk_time, last_uid, ver + 1 FROM targets FINAL");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "targets whose latest measurement is not stored, or disagrees"));
    raw_exec("INSERT INTO targets SELECT scope, input, probe_cc, probe_asn, domain, 'blocked',"
             " x_cause, since_time, last_time, brk_time, 'nosuchuid', ver + 1 FROM targets FINAL");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "targets whose latest measurement is not stored"));
    raw_exec("INSERT INTO targets SELECT scope, input, probe_cc, probe_asn, domain, x_verdict,"
             " x_cause, since_time, last_time, brk_time, (SELECT any(measurement_uid) FROM"
             " measurements WHERE isNotNull(input)), ver + 1 FROM targets FINAL");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);

    /* two collectors stored the measurement at once: a second row, another uid and a later
     * receipt, and its counts (the materialized views) */
    snprintf(sql, sizeof(sql),
             "INSERT INTO measurements (%s) SELECT concat(measurement_uid, 'x'), idem_key,"
             " report_id, measurement_start_time, input, domain, probe_cc, probe_asn, test_name,"
             " software_name, software_version, x_verdict, x_cause, blocking, accessible,"
             " received + 1, raw_len, raw, provenance, x_analyzer, x_evidence FROM measurements"
             " WHERE isNotNull(input)",
             m_cols);
    raw_exec(sql);
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "stored twice under two uids"));
    /* merged (OPTIMIZE ... FINAL keeps the first received): the counts still count it twice */
    raw_exec("OPTIMIZE TABLE measurements FINAL");
    assert_int_equal(raw_scalar("SELECT count() FROM measurements"), 2);
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "aggregate total differs from the number of measurements (3,"
                                " expected 2)"));
    vg_store_close(s);
    backend_reset();
    *state = open_store(NULL);
}

static void
test_integrity_detects(void **state)
{
    struct vg_store *s = *state;
    struct m m = {"https://www.example.com/", "IT", 1, "2026-11-29 11:13:46", "blocked", NULL, 1};
    char err[512];

    put(s, &m, NULL);
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);
    if (g_is_ch) {
        ch_integrity_detects(state);
        return;
    }
    raw_exec("UPDATE agg_hourly SET n = n + 1");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "aggregate"));
    raw_exec("UPDATE agg_hourly SET n = n - 1");
    raw_exec("UPDATE targets SET x_verdict = 'down'");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    assert_non_null(strstr(err, "targets"));
    raw_exec("UPDATE targets SET x_verdict = 'blocked'");
}

/*
 * PostgreSQL: the latest states the alert events follow (VG__W_PREV, store_derive.c) are read
 * through the primary key of targets, whatever the statistics. A prepared statement's generic
 * plan is made once, while targets is empty: the former "(input, probe_cc, probe_asn) IN
 * (VALUES ...)" then got targets_domain on scope alone, a scan of every latest state in scope all
 * per statement as the table grew (30-65 ms per 32 keys, 70% of the server's time at ingest).
 */
static void
test_pg_prev_plan(void **state)
{
    struct vg_store *s = *state;
    size_t len, n = 0;
    char *sql, *args;
    PGconn *c;
    PGresult *r;
    bool pkey = false;

    if (!g_is_pg) {
        skip();
    }
    len = strlen(s->wsql[VG__W_PREV][1]) + 64;
    sql = malloc(len);
    args = malloc(32 * 64);
    assert_non_null(sql);
    assert_non_null(args);
    snprintf(sql, len, "PREPARE vg_prev_plan AS %s", s->wsql[VG__W_PREV][1]);
    for (int k = 0; k < 32; k++) {
        n += (size_t)snprintf(args + n, 32 * 64 - n, "%s'https://d%d.example/', 'IT', '%d'",
                              k > 0 ? ", " : "", k, 30000 + k);
    }
    c = PQconnectdb(g_pg);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "SET plan_cache_mode = force_generic_plan"));
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    free(sql);
    len = strlen(args) + 64;
    sql = malloc(len);
    assert_non_null(sql);
    snprintf(sql, len, "EXPLAIN EXECUTE vg_prev_plan(%s)", args);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *line = PQgetvalue(r, i, 0);

        print_message("%s\n", line);
        assert_null(strstr(line, "targets_domain"));
        assert_null(strstr(line, "Seq Scan on targets"));
        pkey |= strstr(line, "Index Scan using targets") != NULL &&
                strstr(line, "pkey on targets") != NULL;
    }
    assert_true(pkey);
    PQclear(r);
    PQfinish(c);
    free(sql);
    free(args);
}

/* The plan of one statement (its lines joined by newlines, fresh string): SQLite's EXPLAIN
 * QUERY PLAN, or PostgreSQL's EXPLAIN of a generic plan with sequential scans off (a test's
 * tables are small enough for a scan to win otherwise) and args as the parameters. */
static char *
plan_of(const char *sql, const char *args)
{
    struct vg_buf out;
    char *text;

    vg_buf_init(&out, 1 << 20);
    if (g_is_pg) {
        PGconn *c = PQconnectdb(g_pg);
        size_t len = strlen(sql) + strlen(args) + 64;
        char *q = malloc(len);
        PGresult *r;

        assert_non_null(q);
        PQclear(PQexec(c, "SET plan_cache_mode = force_generic_plan"));
        PQclear(PQexec(c, "SET enable_seqscan = off"));
        snprintf(q, len, "PREPARE vg_plan AS %s", sql);
        r = PQexec(c, q);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fail_msg("%s: %s", q, PQerrorMessage(c));
        }
        PQclear(r);
        snprintf(q, len, "EXPLAIN EXECUTE vg_plan(%s)", args);
        r = PQexec(c, q);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fail_msg("%s: %s", q, PQerrorMessage(c));
        }
        for (int i = 0; i < PQntuples(r); i++) {
            assert_int_equal(vg_buf_appendf(&out, "%s\n", PQgetvalue(r, i, 0)), 0);
        }
        PQclear(r);
        PQfinish(c);
        free(q);
    } else {
        size_t len = strlen(sql) + 32;
        char *q = malloc(len);
        sqlite3 *db;
        sqlite3_stmt *st;

        assert_non_null(q);
        snprintf(q, len, "EXPLAIN QUERY PLAN %s", sql);
        assert_int_equal(sqlite3_open(g_sqlite, &db), SQLITE_OK);
        if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
            fail_msg("%s: %s", q, sqlite3_errmsg(db));
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            assert_int_equal(vg_buf_appendf(&out, "%s\n", sqlite3_column_text(st, 3)), 0);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        free(q);
    }
    text = strdup(vg_buf_cstr(&out));
    vg_buf_cleanup(&out);
    assert_non_null(text);
    return text;
}

/* A late row's neighbours are read on the target's index (schema 9), from about the row's time
 * on: never a scan of its network's measurements (measurements_net), which grew with the store
 * (61% of an importer's time at 450,000 rows, two importers writing interleaved times). */
static void
test_late_neighbours_plan(void **state)
{
    static const char args[] =
        "'d1.example', 'https://d1.example/', 'IT', 30722, 1772400000, 'uid-x'";
    const char *const sqls[] = {vg__store_sql_ev_before, vg__store_sql_ev_after};

    load_grid(*state);
    for (size_t i = 0; i < 2; i++) {
        char *plan = plan_of(sqls[i], args);

        print_message("%s", plan);
        assert_non_null(strstr(plan, "measurements_target"));
        assert_null(strstr(plan, "measurements_net"));
        assert_null(strstr(plan, "measurements_domain"));
        assert_null(strstr(plan, "Seq Scan"));
        assert_null(strstr(plan, "SCAN m"));
        assert_null(strstr(plan, "SCAN b"));
        free(plan);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* ClickHouse (store_ch*.c): the subset that works there */

static int
teardown_ch(void **state)
{
    return teardown(state); /* the integrity check passes there too */
}

/* Created at once at the current version; opened again as it is; a newer one refused. */
static void
test_ch_schema(void **state)
{
    struct vg_store *s = *state, *t = NULL;
    char err[512], sql[160];
    int latest = VG__CH_SCHEMA;

    assert_string_equal(vg_store_backend(s), "clickhouse");
    assert_int_equal(raw_scalar("SELECT toInt64(max(version)) FROM schema_version"), latest);
    t = open_store(NULL);
    vg_store_close(t);
    assert_int_equal(raw_scalar("SELECT count() FROM schema_version FINAL"), 1);
    for (size_t i = 0; i < sizeof(ch_tables) / sizeof(ch_tables[0]); i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT count() FROM system.tables WHERE database = currentDatabase()"
                 " AND name = '%s'",
                 ch_tables[i]);
        assert_int_equal(raw_scalar(sql), 1);
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO schema_version (version, description, applied) VALUES (%d, 'x', 0)",
             latest + 1);
    raw_exec(sql);
    assert_int_equal(vg_store_open(g_spec, NULL, &t, err, sizeof(err)), VG_STORE_ESCHEMA);
    assert_null(t);
    assert_non_null(strstr(err, "newer"));
    /* a version of the SQL numbering (8) is no ClickHouse schema of ours: refused as newer */
    raw_exec("DROP TABLE schema_version");
    raw_exec("CREATE TABLE schema_version (version Int64, description String, applied Int64)"
             " ENGINE = ReplacingMergeTree ORDER BY version");
    raw_exec("INSERT INTO schema_version (version, description, applied) VALUES (8, 'x', 0)");
    assert_int_equal(vg_store_open(g_spec, NULL, &t, err, sizeof(err)), VG_STORE_ESCHEMA);
    /* the bad specs */
    assert_int_equal(vg_store_open("clickhouse://127.0.0.1:1", NULL, &t, err, sizeof(err)),
                     VG_STORE_EUNAVAIL);
    assert_int_equal(vg_store_open("clickhouse://127.0.0.1:1/db", NULL, &t, err, sizeof(err)),
                     VG_STORE_EUNAVAIL);
}

/* The count tables, fed by the materialized views, agree with the measurements (FINAL). */
static void
ch_check_counts(void)
{
    static const char *const sums[] = {
        "SELECT toInt64(sum(n)) FROM agg_hourly",
        "SELECT toInt64(sum(n)) FROM agg_daily_domain",
        "SELECT toInt64(sum(n)) FROM agg_daily_net",
        "SELECT toInt64(sum(n)) FROM agg_daily_cc_domain",
    };
    int64_t n = raw_scalar("SELECT count() FROM measurements FINAL");

    assert_int_equal(raw_scalar("SELECT count() FROM measurements"), n); /* no copy stored */
    for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
        assert_int_equal(raw_scalar(sums[i]), n);
    }
    assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_target_hourly"),
                     raw_scalar("SELECT count() FROM measurements FINAL WHERE isNotNull(input)"));
    /* the same buckets and keys as the SQL path: one (hour, domain, cc, asn, verdict) group */
    assert_int_equal(
        raw_scalar("SELECT count() FROM (SELECT hour_start, domain, probe_cc, probe_asn,"
                   " x_verdict, provenance, sum(n) AS c FROM agg_hourly GROUP BY hour_start,"
                   " domain, probe_cc, probe_asn, x_verdict, provenance) a ANY INNER JOIN"
                   " (SELECT measurement_start_time - measurement_start_time % 3600 AS hour_start,"
                   " domain, probe_cc, probe_asn, x_verdict, provenance, count() AS c FROM"
                   " measurements FINAL GROUP BY hour_start, domain, probe_cc, probe_asn,"
                   " x_verdict, provenance) b USING (hour_start, domain, probe_cc, probe_asn,"
                   " x_verdict, provenance) WHERE a.c = b.c"),
        raw_scalar("SELECT count() FROM (SELECT DISTINCT measurement_start_time -"
                   " measurement_start_time % 3600, domain, probe_cc, probe_asn, x_verdict,"
                   " provenance FROM measurements FINAL)"));
}

/* A big batch with repeats: stored once each, the repeats answered with the first's uid, counts
 * exact; the same call again stores nothing and counts nothing. */
static void
test_ch_big_batch(void **state)
{
    struct vg_store *s = *state;
    enum { N = 600, UNIQUE = 500 };
    struct row *w = calloc(N, sizeof(*w));
    struct vg_store_meas *rows = calloc(N, sizeof(*rows));
    char(*uids)[VG_UID_MAX] = calloc(N, sizeof(*uids));

    for (int i = 0; i < N; i++) {
        char input[64], t[32], id[32];
        int u = i % UNIQUE;
        struct m m = {input,
                      u % 2 ? "IT" : "RU",
                      100 + (unsigned)(u % 4),
                      t,
                      u % 3 ? "accessible" : "blocked",
                      id,
                      u};

        snprintf(input, sizeof(input), "https://big%d.example/", u % 7);
        snprintf(t, sizeof(t), "2026-%02d-%02d %02d:00:00", 5 + u % 2, 1 + u / 100, (u % 24));
        snprintf(id, sizeof(id), "big-%d", u);
        row_make(&w[i], &m, 0);
        rows[i] = w[i].r;
    }
    assert_int_equal(vg_store_insert(s, rows, N, uids), UNIQUE);
    for (int i = 0; i < N; i++) {
        assert_string_equal(uids[i], w[i % UNIQUE].r.measurement_uid);
    }
    assert_int_equal(raw_scalar("SELECT count() FROM measurements"), UNIQUE);
    assert_int_equal(vg_store_insert(s, rows, N, uids), 0);
    for (int i = 0; i < N; i++) {
        assert_string_equal(uids[i], w[i % UNIQUE].r.measurement_uid);
    }
    ch_check_counts();
    for (int i = 0; i < N; i++) {
        row_free(&w[i]);
    }
    free(w);
    free(rows);
    free(uids);
}

/* The answer to an INSERT of rows was lost (a timeout: ClickHouse finishes an INSERT whose client
 * stopped waiting) and the writer runs the group again: the rows found under their own uids are
 * that attempt's, new to their callers, and get their latest states (emulated: the first run's
 * states removed, the writer told its last INSERT is unsure). A plain re-upload afterwards is a
 * duplicate again. */
static void
test_ch_insert_answer_lost(void **state)
{
    struct vg_store *s = *state;
    enum { N = 20 };
    struct row w[N];
    struct vg_store_meas rows[N];
    char uids[N][VG_UID_MAX];

    for (int i = 0; i < N; i++) {
        char input[64], id[32];
        struct m m = {input, "IT", 30722, "2026-11-29 11:13:46", "blocked", id, i};

        snprintf(input, sizeof(input), "https://lost%d.example/", i);
        snprintf(id, sizeof(id), "lost-%d", i);
        row_make(&w[i], &m, 0);
        rows[i] = w[i].r;
    }
    assert_int_equal(vg_store_insert(s, rows, N, uids), N);
    raw_exec("TRUNCATE TABLE targets");
    s->ch_unsure = true; /* the writer thread is idle between calls */
    assert_int_equal(vg_store_insert(s, rows, N, uids), N);
    assert_false(s->ch_unsure);
    for (int i = 0; i < N; i++) {
        assert_string_equal(uids[i], w[i].r.measurement_uid);
    }
    assert_int_equal(raw_scalar("SELECT count() FROM targets FINAL WHERE scope = '*'"), N);
    assert_int_equal(raw_scalar("SELECT count() FROM measurements"), N);
    assert_int_equal(vg_store_insert(s, rows, N, uids), 0);
    ch_check_counts();
    for (int i = 0; i < N; i++) {
        row_free(&w[i]);
    }
}

/* Two threads upload the same rows at the same moment (an upload and its retry): one store
 * keeps each row once and both calls get the same uids. */
#define CH_SAME_N 200

struct ch_same {
    struct vg_store *s;
    struct vg_store_meas *rows;
    char (*uids)[VG_UID_MAX];
    int stored;
};

static void *
ch_same_main(void *arg)
{
    struct ch_same *x = arg;

    for (int i = 0; i < CH_SAME_N; i += 10) {
        int rc = vg_store_insert(x->s, x->rows + i, 10, x->uids + i);

        x->stored = rc < 0 ? -1000000 : x->stored + rc;
    }
    return NULL;
}

static void
test_ch_same_rows_two_threads(void **state)
{
    struct vg_store *s = *state;
    struct row *w = calloc(CH_SAME_N, sizeof(*w)), *w2 = calloc(CH_SAME_N, sizeof(*w2));
    struct vg_store_meas *r1 = calloc(CH_SAME_N, sizeof(*r1)), *r2 = calloc(CH_SAME_N, sizeof(*r2));
    char(*u1)[VG_UID_MAX] = calloc(CH_SAME_N, VG_UID_MAX),
    (*u2)[VG_UID_MAX] = calloc(CH_SAME_N, VG_UID_MAX);
    struct ch_same x[2] = {{s, r1, u1, 0}, {s, r2, u2, 0}};
    pthread_t th[2];

    for (int i = 0; i < CH_SAME_N; i++) {
        char input[64], id[32];
        struct m m = {input, "IT", 7, "2026-07-01 10:00:00", i % 4 ? "accessible" : "blocked",
                      id,    i};

        snprintf(input, sizeof(input), "https://same%d.example/", i % 11);
        snprintf(id, sizeof(id), "same-%d", i);
        row_make(&w[i], &m, 0);
        r1[i] = w[i].r;
        /* the retry: the same bytes received later (another uid, the same content key) */
        row_make(&w2[i], &m, 1795950900000000LL + i);
        r2[i] = w2[i].r;
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, ch_same_main, &x[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    assert_int_equal(x[0].stored + x[1].stored, CH_SAME_N);
    for (int i = 0; i < CH_SAME_N; i++) {
        assert_string_equal(u1[i], u2[i]);
        row_free(&w[i]);
        row_free(&w2[i]);
    }
    assert_int_equal(raw_scalar("SELECT count() FROM measurements"), CH_SAME_N);
    ch_check_counts();
    free(w);
    free(w2);
    free(r1);
    free(r2);
    free(u1);
    free(u2);
}

/* The latest states as text lines, in key order: "scope|input|cc|asn|domain|verdict|cause|since|
 * last|brk|uid\n" (NULL as "-"). */
#define TGT_SQL(cast, final)                                                                \
    "SELECT scope, input, probe_cc, probe_asn, domain, x_verdict, x_cause, since_time,"     \
    " last_time, brk_time, last_uid FROM targets" final " ORDER BY scope, input, probe_cc," \
    " probe_asn"

static void
tgt_line(char **out, size_t *len, const char *const *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(f[i]);

        *out = realloc(*out, *len + l + 2);
        memcpy(*out + *len, f[i], l);
        *len += l;
        (*out)[(*len)++] = i + 1 < n ? '|' : '\n';
        (*out)[*len] = '\0';
    }
}

struct tgt_dump {
    char *text;
    size_t len;
};

static int
ch_on_target(void *arg, size_t set, const struct vg__val *c, size_t ncols)
{
    struct tgt_dump *d = arg;
    char v[11][300];
    const char *f[11];

    (void)set;
    for (size_t i = 0; i < ncols && i < 11; i++) {
        if (c[i].t == VG__NULL) {
            snprintf(v[i], sizeof(v[i]), "-");
        } else if (c[i].t == VG__INT) {
            snprintf(v[i], sizeof(v[i]), "%lld", (long long)c[i].i);
        } else {
            snprintf(v[i], sizeof(v[i]), "%.*s", (int)c[i].len, c[i].p);
        }
        f[i] = v[i];
    }
    tgt_line(&d->text, &d->len, f, ncols);
    return 0;
}

static char *
sqlite_targets(const char *path)
{
    struct tgt_dump d = {calloc(1, 1), 0};
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, TGT_SQL("", ""), -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *f[11];

        for (int i = 0; i < 11; i++) {
            const char *t = (const char *)sqlite3_column_text(st, i);

            f[i] = t != NULL ? t : "-";
        }
        tgt_line(&d.text, &d.len, f, 11);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return d.text;
}

static char *
ch_targets(void)
{
    struct tgt_dump d = {calloc(1, 1), 0};
    struct vg__conn *c;
    char err[256];

    assert_int_equal(vg__store_ch_ops.connect(g_spec, NULL, false, &c, err, sizeof(err)), 0);
    assert_int_equal(
        vg__store_ch_ops.run(c, TGT_SQL("", " FINAL"), 0, 1, 0, NULL, ch_on_target, &d), 0);
    vg__store_ch_ops.disconnect(c);
    return d.text;
}

/* The latest states the writer merges in C on ClickHouse are those SQLite's upserts keep: the
 * same calls (runs, late arrivals of both kinds, breaks inside a run, other networks, scopes by
 * provenance) on both, the tables compared row by row. */
/* The alert events of s as JSON text (without their creation times). Fresh string. */
static char *
ch_events_json(struct vg_store *s)
{
    json_t *page, *e;
    size_t i;
    char *text;

    assert_int_equal(vg_store_alert_events(s, NULL, 0, VG_STORE_PAGE_MAX, &page), 0);
    json_array_foreach(json_object_get(page, "results"), i, e)
    {
        assert_int_equal(json_object_del(e, "created"), 0);
        if (s->ops->dialect == VG__CH) { /* the sequence number, without the writer's tag */
            json_int_t id = json_integer_value(json_object_get(e, "id"));

            assert_int_not_equal(id % 65536, 0);
            assert_int_equal(json_object_set_new(e, "id", json_integer(id / 65536)), 0);
        }
    }
    text = json_dumps(page, JSON_COMPACT);
    json_decref(page);
    return text;
}

/* Put back a table as it was saved in NAME_save (a crash emulated: writes after the save lost). */
static void
ch_restore(const char *table)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "TRUNCATE TABLE %s", table);
    raw_exec(sql);
    snprintf(sql, sizeof(sql), "INSERT INTO %s SELECT * FROM %s_save", table, table);
    raw_exec(sql);
}

static void
ch_save(const char *table)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s_save", table);
    raw_exec(sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE %s_save AS %s", table, table);
    raw_exec(sql);
    snprintf(sql, sizeof(sql), "INSERT INTO %s_save SELECT * FROM %s", table, table);
    raw_exec(sql);
}

/* kill -9 of serve after a group's rows were inserted and before its latest states were
 * (store_ch_recover.c), emulated by putting back targets and alert_events as they were before
 * the group: check reports it; reopened as the collector (ch_recover), the store derives the
 * group's states and events again, the same as without the crash, and a second reopen writes
 * nothing. Then the kill between the group's events and its states: the states are derived
 * again, the events not written twice. */
static void
test_ch_crash_recovery(void **state)
{
    enum { N = 12 };
    struct vg_store_opts ro = {.ch_recover = true};
    struct vg_store *s = *state;
    struct row w[2][N];
    struct vg_store_meas rows[2][N];
    char uids[N][VG_UID_MAX], err[512], *tg_ok, *ev_ok, *tg, *ev;
    int64_t n_tg, n_ev;

    for (int g = 0; g < 2; g++) {
        for (int i = 0; i < N; i++) {
            char input[64], t[32], id[32];
            const char *v = (g == 0 ? i % 3 != 0 : i % 2 != 0) ? "accessible" : "blocked";
            struct m m = {input, i % 2 ? "IT" : "RU", 30722, t, v, id, g};

            snprintf(input, sizeof(input), "https://crash%d.example/", i % 4);
            /* group 1: later, but for one key of four older than group 0 (late rows) */
            snprintf(t, sizeof(t), "2026-11-29 %02d:%02d:00", g == 0 ? 10 : i % 4 == 3 ? 9 : 11, i);
            snprintf(id, sizeof(id), "crash-%d-%d", g, i);
            row_make(&w[g][i], &m, 0);
            rows[g][i] = w[g][i].r;
        }
    }
    assert_int_equal(vg_store_insert(s, rows[0], N, uids), N);
    ch_save("targets");
    ch_save("alert_events");
    assert_int_equal(vg_store_insert(s, rows[1], N, uids), N);
    tg_ok = ch_targets();
    ev_ok = ch_events_json(s);
    /* group 1 made events of its own */
    assert_true(raw_scalar("SELECT count() FROM alert_events") >
                raw_scalar("SELECT count() FROM alert_events_save"));

    /* the kill between the rows and the events */
    ch_restore("targets");
    ch_restore("alert_events");
    assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), VG_STORE_ECORRUPT);
    vg_store_close(s);
    *state = s = open_store(&ro);
    tg = ch_targets();
    ev = ch_events_json(s);
    assert_string_equal(tg, tg_ok);
    assert_string_equal(ev, ev_ok);
    free(tg);
    free(ev);
    teardown_check(s);
    n_tg = raw_scalar("SELECT count() FROM targets");
    n_ev = raw_scalar("SELECT count() FROM alert_events");
    vg_store_close(s);
    *state = s = open_store(&ro); /* nothing left to recover: nothing written */
    assert_int_equal(raw_scalar("SELECT count() FROM targets"), n_tg);
    assert_int_equal(raw_scalar("SELECT count() FROM alert_events"), n_ev);

    /* the kill between the events and the states */
    ch_restore("targets");
    vg_store_close(s);
    *state = s = open_store(&ro);
    tg = ch_targets();
    ev = ch_events_json(s);
    assert_string_equal(tg, tg_ok);
    assert_string_equal(ev, ev_ok);
    assert_int_equal(raw_scalar("SELECT count() FROM alert_events"), n_ev);
    free(tg);
    free(ev);
    free(tg_ok);
    free(ev_ok);
    raw_exec("DROP TABLE targets_save");
    raw_exec("DROP TABLE alert_events_save");
    for (int g = 0; g < 2; g++) {
        for (int i = 0; i < N; i++) {
            row_free(&w[g][i]);
        }
    }
}

/* One step of a sequence the ClickHouse tests run on both stores: a measurement's time, verdict
 * and provenance (NULL: anonymous); call groups the rows of one vg_store_insert. */
struct ch_seq {
    const char *time, *verdict, *prov;
    int call;
};

/* The SQLite twin of a ClickHouse test (a file of its own, named by tag; g_sqlite) and the rows
 * of seq[nseq] on two networks (IT, DE), two targets alternating: w[2 * nseq] made, rows[] their
 * records. Returns the open SQLite store. */
static struct vg_store *
ch_twin_rows(const char *tag, const struct ch_seq *seq, int nseq, struct row *w,
             struct vg_store_meas *rows)
{
    struct vg_store *lite;
    char spec[600];
    const char *tmp = getenv("TMPDIR");

    snprintf(g_sqlite, sizeof(g_sqlite), "%s/vigie-test-store-%s-%ld.db",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", tag, (long)getpid());
    unlink(g_sqlite);
    snprintf(spec, sizeof(spec), "sqlite:%s", g_sqlite);
    assert_int_equal(vg_store_open(spec, NULL, &lite, NULL, 0), 0);
    for (int i = 0; i < 2 * nseq; i++) {
        struct m m = {i % 2 ? "https://t.example/" : "https://u.example/a",
                      i / nseq ? "DE" : "IT",
                      30722,
                      seq[i % nseq].time,
                      seq[i % nseq].verdict,
                      NULL,
                      i};

        row_make(&w[i], &m, 1795950827000000LL + i);
        if (seq[i % nseq].prov != NULL) {
            snprintf(w[i].r.provenance, sizeof(w[i].r.provenance), "%s", seq[i % nseq].prov);
        }
        rows[i] = w[i].r;
    }
    return lite;
}

static void
test_ch_targets_as_sqlite(void **state)
{
    static const struct ch_seq seq[] = {
        {"2026-05-01 10:00:00", "blocked", NULL, 0},
        {"2026-05-01 11:00:00", "blocked", NULL, 1},
        {"2026-05-01 12:00:00", "accessible", "probe-7", 1},
        {"2026-05-01 13:00:00", "accessible", NULL, 2},
        {"2026-05-01 09:00:00", "accessible", "probe-7", 3},
        {"2026-05-01 11:30:00", "accessible", NULL, 3},
        {"2026-05-01 11:10:00", "blocked", "probe-8", 4},
        {"2026-05-01 12:30:00", "down", NULL, 5},
        {"2026-05-01 12:45:00", "accessible", "probe-7", 6},
        {"2026-05-01 14:00:00", "accessible", NULL, 6},
        {"2026-05-01 14:00:00", "blocked", "probe-8", 6},
        {"2026-05-01 08:00:00", "down", "probe-7", 7}, /* (no future time: the cap is the
                                                          arrival, a second apart in each store) */
        {"2026-05-01 15:00:00", "intercepted", NULL, 8},
    };
    enum { NSEQ = sizeof(seq) / sizeof(seq[0]), NNET = 2 };
    struct vg_store *s = *state, *lite;
    struct row w[NSEQ * NNET];
    struct vg_store_meas rows[NSEQ * NNET];
    char *a, *b;

    lite = ch_twin_rows("ch", seq, NSEQ, w, rows);
    for (int net = 0; net < NNET; net++) {
        for (int i = 0; i < NSEQ;) {
            int k = 1;

            while (i + k < NSEQ && seq[i + k].call == seq[i].call) {
                k++;
            }
            assert_int_equal(vg_store_insert(s, rows + net * NSEQ + i, (size_t)k, NULL), k);
            assert_int_equal(vg_store_insert(lite, rows + net * NSEQ + i, (size_t)k, NULL), k);
            i += k;
        }
    }
    /* again: nothing new, nothing changes */
    assert_int_equal(vg_store_insert(s, rows, NSEQ * NNET, NULL), 0);
    /* the alert events too (late rows among them), but for their creation time */
    a = ch_events_json(lite);
    b = ch_events_json(s);
    assert_true(strlen(a) > 100);
    assert_string_equal(b, a);
    free(a);
    free(b);
    vg_store_close(lite);
    a = sqlite_targets(g_sqlite);
    b = ch_targets();
    assert_true(strlen(a) > 0);
    if (strcmp(a, b) != 0) {
        print_message("SQLite:\n%sClickHouse:\n%s", a, b);
    }
    assert_string_equal(b, a);
    free(a);
    free(b);
    for (int i = 0; i < NSEQ * NNET; i++) {
        row_free(&w[i]);
    }
    unlink(g_sqlite);
}

/* Many late rows of many keys in one call (ClickHouse asks their neighbours a chunk of late
 * rows at a time, store_ch_evlate.c): the same events and latest states as SQLite. Late rows
 * before every row, between rows, at a stored row's time (the uid decides), in an hour without
 * rows, next to each other, after a day's gap; more than one chunk of them. */
static void
test_ch_late_many_as_sqlite(void **state)
{
    static const char *const first[] = {"01 10:00:00", "01 14:00:00", "03 09:00:00", "05 20:00:00",
                                        "06 08:00:00"};
    static const char *const late[] = {"01 08:00:00", "01 12:00:00", "01 14:00:00", "02 11:00:00",
                                       "04 00:00:00", "04 01:00:00", "05 20:30:00"};
    static const char *const more[] = {"07 09:00:00", "02 05:00:00", "06 08:00:00"};
    static const char *const verdicts[] = {"accessible", "blocked", "down", "intercepted",
                                           "accessible"};
    enum { NKEY = 12, NF = 5, NL = 7, NM = 3, NROW = NKEY * (NF + NL + NM) };
    struct vg_store *s = *state, *lite;
    struct row *w = calloc(NROW, sizeof(*w));
    struct vg_store_meas *rows = calloc(NROW, sizeof(*rows));
    char spec[600], input[64], when[NROW][32], *a, *b;
    const char *tmp = getenv("TMPDIR");
    int n = 0, at[4] = {0};

    assert_non_null(w);
    assert_non_null(rows);
    snprintf(g_sqlite, sizeof(g_sqlite), "%s/vigie-test-store-chlate-%ld.db",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (long)getpid());
    unlink(g_sqlite);
    snprintf(spec, sizeof(spec), "sqlite:%s", g_sqlite);
    assert_int_equal(vg_store_open(spec, NULL, &lite, NULL, 0), 0);
    for (int call = 0; call < 3; call++) {
        const char *const *tv = call == 0 ? first : call == 1 ? late : more;
        int nt = call == 0 ? NF : call == 1 ? NL : NM;

        for (int k = 0; k < NKEY; k++) {
            for (int j = 0; j < nt; j++) {
                struct m m = {input,
                              k % 2 ? "DE" : "IT",
                              30722,
                              when[n],
                              verdicts[(k + j * (call + 1)) % 5],
                              NULL,
                              n};

                snprintf(input, sizeof(input), "https://late%d.example/", k / 2);
                snprintf(when[n], sizeof(when[n]), "2026-10-%s", tv[j]);
                row_make(&w[n], &m, 1795950827000000LL + n);
                rows[n] = w[n].r;
                n++;
            }
        }
        at[call + 1] = n;
    }
    for (int call = 0; call < 3; call++) {
        size_t k = (size_t)(at[call + 1] - at[call]);

        assert_int_equal(vg_store_insert(s, rows + at[call], k, NULL), (int)k);
        assert_int_equal(vg_store_insert(lite, rows + at[call], k, NULL), (int)k);
    }
    a = ch_events_json(lite);
    b = ch_events_json(s);
    assert_true(strlen(a) > 1000);
    if (strcmp(a, b) != 0) {
        print_message("SQLite:\n%s\nClickHouse:\n%s\n", a, b);
    }
    assert_string_equal(b, a);
    free(a);
    free(b);
    vg_store_close(lite);
    a = sqlite_targets(g_sqlite);
    b = ch_targets();
    assert_string_equal(b, a);
    free(a);
    free(b);
    for (int i = 0; i < n; i++) {
        row_free(&w[i]);
    }
    free(w);
    free(rows);
    unlink(g_sqlite);
}

/* The rows of a query on ClickHouse (up to 11 columns), one line each. */
static char *
ch_dump(const char *sql)
{
    struct tgt_dump d = {calloc(1, 1), 0};
    struct vg__conn *c;
    char err[256];

    assert_int_equal(vg__store_ch_ops.connect(g_spec, NULL, false, &c, err, sizeof(err)), 0);
    assert_int_equal(vg__store_ch_ops.run(c, sql, 0, 1, 0, NULL, ch_on_target, &d), 0);
    vg__store_ch_ops.disconnect(c);
    return d.text;
}

static char *
sqlite_dump(const char *path, const char *sql)
{
    struct tgt_dump d = {calloc(1, 1), 0};
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *f[11];
        int n = sqlite3_column_count(st);

        for (int i = 0; i < n && i < 11; i++) {
            const char *t = (const char *)sqlite3_column_text(st, i);

            f[i] = t != NULL ? t : "-";
        }
        tgt_line(&d.text, &d.len, f, (size_t)(n < 11 ? n : 11));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return d.text;
}

/* The reanalysis of ra_test: each verdict to the next, one in three kept with a new cause. */
static void
ra_test_verdict(const struct vg_store_stale *old, struct vg_store_meas *now)
{
    static const char *const next[][2] = {{"blocked", "accessible"},
                                          {"accessible", "down"},
                                          {"down", "blocked"},
                                          {"intercepted", "intercepted"}};

    memset(now, 0, sizeof(*now));
    snprintf(now->x_verdict, sizeof(now->x_verdict), "%s", old->x_verdict);
    for (size_t i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
        if (strcmp(old->x_verdict, next[i][0]) == 0 && old->start_time % 3 != 0) {
            snprintf(now->x_verdict, sizeof(now->x_verdict), "%s", next[i][1]);
        }
    }
    if (old->start_time % 3 == 0) {
        snprintf(now->x_cause, sizeof(now->x_cause), "tcp.reset");
    }
    snprintf(now->x_evidence, sizeof(now->x_evidence), "reanalysed");
    snprintf(now->x_analyzer, sizeof(now->x_analyzer), "test-analyzer-2");
}

/* One reanalysis pass over s in batches of 4; on ClickHouse (twice) each batch applied again,
 * its latest states put back as they were before it: nothing is counted again, the states are
 * made again. The stats summed into *sum. */
static void
ra_test_pass(struct vg_store *s, bool twice, struct vg_store_reanalyze_stats *sum)
{
    struct vg_store_reanalyze_sel sel = {"test-analyzer-2", false, 0};
    struct vg_store_pass pass, again;
    bool done = false;

    memset(sum, 0, sizeof(*sum));
    assert_int_equal(vg_store_reanalyze_begin(s, &sel, true, &pass), 0);
    while (!done) {
        struct vg_store_reanalyze_stats st;
        struct vg_store_reverdict v[4];
        struct vg_store_meas now[4];
        struct vg_store_stale *rows;
        size_t n;

        assert_int_equal(vg_store_reanalyze_read(s, &sel, &pass, 4, &rows, &n), 0);
        for (size_t i = 0; i < n; i++) {
            ra_test_verdict(&rows[i], &now[i]);
            v[i] = (struct vg_store_reverdict){&rows[i], &now[i]};
        }
        done = n < 4;
        again = pass;
        if (twice) {
            raw_exec("DROP TABLE IF EXISTS vg_test_targets");
            raw_exec("CREATE TABLE vg_test_targets ENGINE = Memory AS SELECT * FROM targets FINAL");
            raw_exec("DROP TABLE IF EXISTS vg_test_events");
            raw_exec("CREATE TABLE vg_test_events ENGINE = Memory AS SELECT * FROM alert_events"
                     " FINAL");
        }
        assert_int_equal(vg_store_reanalyze_apply(
                             s, &pass, v, n, n > 0 ? rows[n - 1].start_time : pass.last_time,
                             n > 0 ? rows[n - 1].measurement_uid : "", done, &st),
                         0);
        sum->changed += st.changed;
        sum->targets += st.targets;
        for (int a = 0; a < VG_VERDICT_COUNT; a++) {
            for (int b = 0; b < VG_VERDICT_COUNT; b++) {
                sum->moved[a][b] += st.moved[a][b];
            }
        }
        if (twice) {
            /* as after a crash between the rows and the latest states (the states and the
             * events as they were before the batch): the batch again */
            raw_exec("INSERT INTO targets SELECT scope, input, probe_cc, probe_asn, domain,"
                     " x_verdict, x_cause, since_time, last_time, brk_time, last_uid, ver + 1000"
                     " FROM vg_test_targets");
            raw_exec("TRUNCATE TABLE alert_events");
            raw_exec("INSERT INTO alert_events SELECT * FROM vg_test_events");
            assert_int_equal(vg_store_reanalyze_apply(
                                 s, &again, v, n, n > 0 ? rows[n - 1].start_time : again.last_time,
                                 n > 0 ? rows[n - 1].measurement_uid : "", done, &st),
                             0);
            assert_int_equal(st.changed, 0);
            assert_int_equal(st.targets, 0);
            raw_exec("DROP TABLE vg_test_targets");
            raw_exec("DROP TABLE vg_test_events");
        }
        vg_store_stale_free(rows, n);
    }
    /* done: the pass is forgotten, nothing is left to read */
    assert_int_equal(vg_store_reanalyze_begin(s, &sel, false, &pass), 0);
    assert_false(pass.resumed);
    {
        struct vg_store_stale *rows;
        size_t n;

        assert_int_equal(vg_store_reanalyze_read(s, &sel, &pass, 4, &rows, &n), 0);
        assert_int_equal(n, 0);
        vg_store_stale_free(rows, n);
    }
}

/* the events in id order, their ids left out (ClickHouse's carry the writer's tag) */
#define RA_EVENTS(final)                                                                   \
    "SELECT input, probe_cc, probe_asn, old_verdict, new_verdict, cause, measurement_uid," \
    " measurement_time, source, provenance FROM alert_events" final " ORDER BY id"

#define RA_COUNTS(table, final)                                                        \
    "SELECT x_verdict, CAST(SUM(n) AS BIGINT) FROM " table final " GROUP BY x_verdict" \
    " HAVING SUM(n) <> 0 ORDER BY x_verdict"

/*
 * A reanalysis on ClickHouse does what it does on SQLite: the same rows (runs, late arrivals,
 * scopes by provenance, two networks) in both, the same pass over both, each batch applied twice
 * on ClickHouse (a crash before the position was saved): the same stats, the same latest states
 * row by row, the same counts; on ClickHouse the count tables sum to the counts of the
 * measurements (FINAL), and a second pass of the same analyser changes nothing.
 */
static void
test_ch_reanalyze_as_sqlite(void **state)
{
    static const struct ch_seq seq[] = {
        {"2026-05-01 10:00:00", "blocked", NULL, 0},
        {"2026-05-01 11:00:00", "blocked", NULL, 0},
        {"2026-05-01 12:00:01", "accessible", "p-7", 0},
        {"2026-05-01 13:00:00", "accessible", NULL, 0},
        {"2026-05-01 09:00:02", "accessible", "p-7", 0},
        {"2026-05-01 11:30:01", "down", NULL, 0},
        {"2026-05-01 11:10:00", "blocked", "p-8", 0},
        {"2026-05-01 12:30:02", "down", NULL, 0},
        {"2026-05-01 14:00:00", "intercepted", NULL, 0},
        {"2026-05-01 14:00:01", "blocked", "p-8", 0},
        {"2026-05-01 15:00:02", "accessible", NULL, 0},
    };
    enum { NSEQ = sizeof(seq) / sizeof(seq[0]), NNET = 2 };
    static const char *const tables[] = {"agg_hourly", "agg_daily_domain", "agg_daily_net",
                                         "agg_daily_cc_domain", "agg_target_hourly"};
    struct vg_store *s = *state, *lite;
    struct vg_store_reanalyze_stats a, b;
    struct row w[NSEQ * NNET];
    struct vg_store_meas rows[NSEQ * NNET];
    char sql[512], *x, *y;

    lite = ch_twin_rows("chra", seq, NSEQ, w, rows);
    for (int i = 0; i < NSEQ * NNET; i++) {
        snprintf(w[i].r.x_analyzer, sizeof(w[i].r.x_analyzer), "test-analyzer-1");
        rows[i] = w[i].r;
        assert_int_equal(vg_store_insert(s, &rows[i], 1, NULL), 1);
        assert_int_equal(vg_store_insert(lite, &rows[i], 1, NULL), 1);
    }
    ra_test_pass(lite, false, &a);
    ra_test_pass(s, true, &b);
    assert_true(a.changed > 0 && a.targets > 0);
    assert_true(a.moved[VG_VERDICT_BLOCKED][VG_VERDICT_ACCESSIBLE] > 0);
    assert_int_equal(b.changed, a.changed);
    assert_int_equal(b.targets, a.targets);
    assert_memory_equal(b.moved, a.moved, sizeof(a.moved));
    /* the latest states */
    x = sqlite_targets(g_sqlite);
    y = ch_targets();
    if (strcmp(x, y) != 0) {
        print_message("SQLite:\n%sClickHouse:\n%s", x, y);
    }
    assert_string_equal(y, x);
    free(x);
    free(y);
    /* the counts: as SQLite's, and as the measurements' */
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(sql, sizeof(sql), RA_COUNTS("%s", ""), tables[i]);
        x = sqlite_dump(g_sqlite, sql);
        y = ch_dump(sql);
        assert_string_equal(y, x);
        free(y);
        y = ch_dump(i < 4 ? "SELECT x_verdict, count() FROM measurements FINAL GROUP BY x_verdict"
                            " ORDER BY x_verdict"
                          : "SELECT x_verdict, count() FROM measurements FINAL WHERE"
                            " isNotNull(input) GROUP BY x_verdict ORDER BY x_verdict");
        assert_string_equal(y, x);
        free(x);
        free(y);
    }
    /* the alert events, the reanalysis's included */
    x = sqlite_dump(g_sqlite, RA_EVENTS(""));
    y = ch_dump(RA_EVENTS(" FINAL"));
    if (strcmp(x, y) != 0) {
        print_message("SQLite:\n%sClickHouse:\n%s", x, y);
    }
    assert_string_equal(y, x);
    assert_non_null(strstr(x, "|reanalyze|"));
    free(x);
    free(y);
    x = ch_dump("SELECT x_verdict, x_cause, x_analyzer FROM measurements FINAL ORDER BY"
                " measurement_uid");
    y = sqlite_dump(g_sqlite, "SELECT x_verdict, x_cause, x_analyzer FROM measurements ORDER BY"
                              " measurement_uid");
    assert_string_equal(x, y);
    free(x);
    free(y);
    /* the same analyser again: nothing to do */
    ra_test_pass(s, false, &b);
    assert_int_equal(b.changed, 0);
    vg_store_close(lite);
    for (int i = 0; i < NSEQ * NNET; i++) {
        row_free(&w[i]);
    }
    unlink(g_sqlite);
}

/*
 * A store made by an older build (ClickHouse schema 1) is upgraded when opened, and comes out as
 * a new store is made (every table and view the same); a measurement stored before keeps its
 * counts, and a reanalysis of it moves them.
 */
static void
test_ch_schema_upgrade(void **state)
{
    static const char dump_sql[] = "SELECT name, create_table_query FROM system.tables WHERE"
                                   " database = currentDatabase() ORDER BY name";
    struct m m = {"https://up.example/", "IT", 7, "2026-11-28 10:00:00", "blocked", NULL, 1};
    struct m m2 = {"", "IT", 7, "2026-11-28 10:05:00", "down", NULL, 2}; /* no input */
    struct vg_store_reanalyze_sel sel = {"test-analyzer-2", false, 0};
    struct vg_store_stale *stale;
    struct vg_store_reverdict v;
    struct vg_store_meas now;
    struct vg_store_pass pass;
    struct vg_store *s;
    struct row w, w2;
    char *upgraded, *fresh;
    size_t n;

    vg_store_close(*state);
    *state = NULL;
    backend_reset();
    vg__store_ch_schema_max = VG__CH_SCHEMA_FIRST;
    s = open_store(NULL);
    vg__store_ch_schema_max = VG__CH_SCHEMA;
    assert_int_equal(raw_scalar("SELECT toInt64(max(version)) FROM schema_version"), 1);
    assert_int_equal(
        raw_scalar("SELECT count() FROM system.columns WHERE database ="
                   " currentDatabase() AND table = 'measurements' AND name = 'prev_verdict'"),
        0);
    row_make(&w, &m, 1795950827000000LL);
    snprintf(w.r.x_analyzer, sizeof(w.r.x_analyzer), "test-analyzer-1");
    assert_int_equal(vg_store_insert(s, &w.r, 1, NULL), 1);
    row_make(&w2, &m2, 1795950827000001LL);
    assert_int_equal(vg_store_insert(s, &w2.r, 1, NULL), 1);
    /* version 1's target view counted the row without an input, under '' */
    assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_target_hourly"), 2);
    vg_store_close(s);

    *state = s = open_store(NULL);
    assert_int_equal(raw_scalar("SELECT toInt64(max(version)) FROM schema_version"), VG__CH_SCHEMA);
    /* copied by the upgrade (version 3): the row with an input, which check compares */
    assert_int_equal(raw_scalar("SELECT count() FROM target_history FINAL"), 1);
    {
        char err[512];

        assert_int_equal(vg_store_integrity_check(s, err, sizeof(err)), 0);
    }
    /* taken back by the upgrade */
    assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_target_hourly"), 1);
    assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_target_hourly WHERE input = ''"),
                     0);
    assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_hourly WHERE x_verdict ="
                                " 'blocked'"),
                     1);
    assert_int_equal(vg_store_reanalyze_begin(s, &sel, false, &pass), 0);
    assert_int_equal(vg_store_reanalyze_read(s, &sel, &pass, 10, &stale, &n), 0);
    assert_int_equal(n, 1);
    ra_test_verdict(&stale[0], &now);
    snprintf(now.x_verdict, sizeof(now.x_verdict), "accessible");
    v = (struct vg_store_reverdict){&stale[0], &now};
    assert_int_equal(vg_store_reanalyze_apply(s, &pass, &v, 1, stale[0].start_time,
                                              stale[0].measurement_uid, true, NULL),
                     0);
    vg_store_stale_free(stale, n);
    assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_hourly WHERE x_verdict ="
                                " 'blocked'"),
                     0);
    assert_int_equal(raw_scalar("SELECT toInt64(sum(n)) FROM agg_daily_net WHERE x_verdict ="
                                " 'accessible'"),
                     1);
    upgraded = ch_dump(dump_sql);
    row_free(&w);
    row_free(&w2);

    vg_store_close(s);
    *state = NULL;
    backend_reset();
    *state = s = open_store(NULL);
    fresh = ch_dump(dump_sql);
    assert_true(strstr(fresh, "prev_verdict") != NULL);
    assert_string_equal(upgraded, fresh);
    free(upgraded);
    free(fresh);
    /* opened again: nothing to do */
    vg_store_close(open_store(NULL));
    assert_int_equal(raw_scalar("SELECT count() FROM schema_version FINAL"), 1);
}

/* The writer runs a group again after VG_STORE_EUNAVAIL (store_writer.c); on ClickHouse nothing
 * was rolled back, and a report open of that group still succeeds (its own row), while another
 * open of that id is refused. Called as the writer does, while it is idle. */
static void
test_ch_report_open_rerun(void **state)
{
    struct vg_store *s = *state;
    struct vg_store_report r = {.report_id = "20261129T111346Z_webconnectivity_IT_30722_n1_Rr1",
                                .probe_cc = "IT",
                                .probe_asn = 30722,
                                .software_name = "vigie",
                                .software_version = "0.1.0",
                                .test_name = "web_connectivity",
                                .created = 1795950826};
    struct vg__job job = {.kind = VG__JOB_REPORT_OPEN, .rep = &r, .now = 1795950826};
    struct vg__jobres res = {-1};

    assert_int_equal(vg__store_txn(s, &job, &res), 0);
    assert_int_equal(res.rc, 0);
    assert_int_equal(vg__store_txn(s, &job, &res), 0); /* the same group again */
    assert_int_equal(res.rc, 0);
    assert_int_equal(vg_store_report_open(s, &r), VG_STORE_EEXIST); /* another open */
    assert_int_equal(raw_scalar("SELECT count() FROM reports FINAL"), 1);
}

static int
ch_on_incident(void *arg, json_t *m, const struct vg_store_incident_row *r)
{
    (void)m;
    assert_true(r->has_verdict);
    (*(int *)arg)++;
    return 0;
}

/* Alert event ids on ClickHouse: a sequence number past max(id) read before each insert, times
 * 65536, plus the writing store object's random tag (store_impl.h ch_event_tag), so they go on
 * across a reopen in the order of the events and two writers do not collide; the consumers'
 * cursors are new rows read with FINAL, and move back as well as forward. */
static void
test_ch_alert_ids(void **state)
{
    struct vg_store *s = *state;
    static const struct m a[] = {
        {"https://a.example/", "IT", 7, "2026-11-28 10:00:00", "blocked", NULL, 1},
        {"https://a.example/", "IT", 7, "2026-11-28 11:00:00", "accessible", NULL, 2},
        {"https://a.example/", "IT", 7, "2026-11-28 12:00:00", "intercepted", NULL, 3},
    };
    json_t *page;
    int64_t cur, id[3];
    uint16_t tag0 = s->ch_event_tag;

    put(s, &a[0], NULL);
    put(s, &a[1], NULL);
    vg_store_close(s);
    *state = s = open_store(NULL);
    put(s, &a[2], NULL);
    assert_int_equal(raw_scalar("SELECT count() FROM alert_events FINAL"), 3);
    assert_int_equal(vg_store_alert_events(s, NULL, 0, 0, &page), 0);
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(json_object_get(page, "results"), i);

        id[i] = json_integer_value(json_object_get(e, "id"));
        assert_int_equal(id[i] / 65536, (int64_t)i + 1);
        assert_int_equal(id[i] % 65536, i < 2 ? tag0 : s->ch_event_tag);
        assert_string_equal(json_string_value(json_object_get(e, "new_verdict")), a[i].verdict);
        assert_string_equal(json_string_value(json_object_get(e, "domain")), "a.example");
    }
    json_decref(page);
    for (int64_t v = 3; v >= 0; v--) {
        assert_int_equal(vg_store_alert_cursor_set(s, "one", v), 0);
        assert_int_equal(vg_store_alert_cursor(s, "one", &cur), 0);
        assert_int_equal(cur, v);
    }
    assert_int_equal(vg_store_alert_cursor(s, "two", &cur), 0);
    assert_int_equal(cur, id[2]);

    /* an event whose time is not its measurement's start time (a reanalysis names a latest
     * state's trusted time): its measurement found by uid, its time and provenance from it, as
     * COALESCE and the subquery give elsewhere. Called as the writer does, while it is idle. */
    {
        char uid[VG_UID_MAX];
        struct m late = {"https://a.example/", "IT", 7, "2026-11-28 09:00:00", "down", NULL, 4};
        struct vg__event_row ev = {
            "https://a.example/", "IT", 7, "intercepted", "down", NULL, uid, 1000, false};
        json_t *e;

        put(s, &late, uid);
        assert_int_equal(vg__store_events_put(s, &ev, 1, VG__EV_SOURCE_REANALYZE), 0);
        assert_int_equal(vg_store_alert_events(s, NULL, id[2], 0, &page), 0);
        e = json_array_get(json_object_get(page, "results"), 1);
        assert_int_equal(json_integer_value(json_object_get(e, "id")) / 65536, 5);
        assert_string_equal(json_string_value(json_object_get(e, "source")), "reanalyze");
        assert_string_equal(json_string_value(json_object_get(e, "measurement_uid")), uid);
        assert_string_equal(json_string_value(json_object_get(e, "measurement_time")),
                            "2026-11-28T09:00:00Z");
        assert_string_equal(json_string_value(json_object_get(e, "provenance")),
                            VG_STORE_ANONYMOUS);
        json_decref(page);
    }
}

/* Two collectors stored the measurements at once (a second row each, another uid): the
 * certificates and the incident report read each measurement once (FINAL), as SQLite would. */
static void
test_ch_certs_incident_final(void **state)
{
    struct vg_store *s = *state;
    struct vg_store_filter f = {.input = "https://certs.example/"};
    json_t *out;
    char sql[1024];
    int n = 0;
    bool trunc = true;

    for (int i = 0; i < 3; i++) {
        char *json = mk_with_cert_for(i, f.input);
        struct vg_store_meas r;
        char uid[1][VG_UID_MAX];

        assert_int_equal(vg_store_meas_from_json(json, strlen(json), 1, &r, NULL, 0), 0);
        assert_int_equal(vg_store_insert(s, &r, 1, uid), 1);
        free(json);
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO measurements (measurement_uid, idem_key, report_id,"
             " measurement_start_time, input, domain, probe_cc, probe_asn, test_name,"
             " software_name, software_version, x_verdict, x_cause, blocking, accessible,"
             " received, raw_len, raw, provenance, x_analyzer, x_evidence) SELECT"
             " concat(measurement_uid, 'x'), idem_key, report_id, measurement_start_time, input,"
             " domain, probe_cc, probe_asn, test_name, software_name, software_version,"
             " x_verdict, x_cause, blocking, accessible, received + 1, raw_len, raw, provenance,"
             " x_analyzer, x_evidence FROM measurements");
    raw_exec(sql);
    assert_int_equal(raw_scalar("SELECT count() FROM measurements"), 6);
    assert_int_equal(vg_store_certificates(s, &f, 0, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "measurements")), 3);
    assert_false(json_is_true(json_object_get(out, "truncated")));
    json_decref(out);
    assert_int_equal(vg_store_certificates(s, &f, 2, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "measurements")), 2);
    assert_true(json_is_true(json_object_get(out, "truncated")));
    json_decref(out);
    assert_int_equal(vg_store_incident_each(s, &f, 0, ch_on_incident, &n, &trunc), 0);
    assert_int_equal(n, 3);
    assert_false(trunc);
    /* the count tables count the copies: the check says so; the store made again */
    assert_int_equal(vg_store_integrity_check(s, sql, sizeof(sql)), VG_STORE_ECORRUPT);
    vg_store_close(s);
    backend_reset();
    *state = open_store(NULL);
}

#define CT(f) cmocka_unit_test_setup_teardown(f, setup, teardown_ch)

static const struct CMUnitTest ch_tests[] = {
    CT(test_ch_schema),
    CT(test_insert_get_raw),
    CT(test_raw_blobs),
    CT(test_idempotent_reupload),
    CT(test_ch_big_batch),
    CT(test_long_inputs_one_batch),
    CT(test_ch_same_rows_two_threads),
    CT(test_ch_insert_answer_lost),
    CT(test_ch_crash_recovery),
    CT(test_insert_refusals),
    CT(test_committed_before_ack),
    CT(test_list_filters_paging),
    CT(test_list_stable_under_inserts),
    CT(test_reports),
    CT(test_ch_report_open_rerun),
    CT(test_ch_targets_as_sqlite),
    CT(test_ch_late_many_as_sqlite),
    CT(test_integrity_detects),
    CT(test_ch_certs_incident_final),
    CT(test_aggregate),
    CT(test_aggregate_reference),
    CT(test_targets_runs),
    CT(test_targets_filters_paging),
    CT(test_provenance_scopes),
    CT(test_trusted_time),
    CT(test_alert_events),
    CT(test_ch_alert_ids),
    CT(test_ch_reanalyze_as_sqlite),
    CT(test_ch_schema_upgrade),
};

#define BT(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest backend_tests[] = {
    BT(test_schema_and_reopen),
    BT(test_schema_newer_refused),
    BT(test_migration_upgrade),
    BT(test_migration_v4_reanalyze),
    BT(test_raw_blobs),
    BT(test_raw_blob_rollback),
    BT(test_raw_blob_order),
    BT(test_raw_many_dicts),
    BT(test_raw_dict_retry),
    BT(test_raw_no_deadlock),
    BT(test_insert_get_raw),
    BT(test_idempotent_reupload),
    BT(test_alert_events),
    BT(test_pg_prev_plan),
    BT(test_big_batch),
    BT(test_long_inputs_one_batch),
    BT(test_late_neighbours_plan),
    BT(test_insert_refusals),
    BT(test_concurrent_batched),
    BT(test_two_collectors),
    BT(test_committed_before_ack),
    BT(test_list_filters_paging),
    BT(test_list_stable_under_inserts),
    BT(test_aggregate),
    BT(test_aggregate_reference),
    BT(test_targets_runs),
    BT(test_targets_filters_paging),
    BT(test_provenance_scopes),
    BT(test_trusted_time),
    BT(test_reports),
    BT(test_nothing_half_written),
    BT(test_unavailable),
    BT(test_pg_reconnect),
    BT(test_pg_commit_of_failed_txn),
    BT(test_sqlite_close_checkpoints),
    BT(test_integrity_detects),
};

static int
run_sqlite(void)
{
    const char *tmp = getenv("TMPDIR");
    int rc;

    snprintf(g_sqlite, sizeof(g_sqlite), "%s/vigie-test-store-%ld.db",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (long)getpid());
    snprintf(g_spec, sizeof(g_spec), "sqlite:%s", g_sqlite);
    g_is_pg = false;
    rc = cmocka_run_group_tests_name("store.sqlite", backend_tests, NULL, NULL);
    backend_reset();
    return rc;
}

static int
run_pg(void)
{
    g_is_pg = true;
    if (strncmp(g_pg, "postgres://", 11) == 0 || strncmp(g_pg, "postgresql://", 13) == 0) {
        snprintf(g_spec, sizeof(g_spec), "%s", g_pg);
    } else {
        snprintf(g_spec, sizeof(g_spec), "pg:%s", g_pg);
    }
    return cmocka_run_group_tests_name("store.postgresql", backend_tests, NULL, NULL);
}

/* --ch: the ClickHouse subset against VG_TEST_CH (a clickhouse:// URL), or the first line of the
 * file VG_TEST_CH_FILE names (tests/CMakeLists.txt, fixture ch); neither: skipped (77). */
static int
run_ch(void)
{
    const char *url = getenv("VG_TEST_CH"), *file = getenv("VG_TEST_CH_FILE");
    int rc;

    if ((url == NULL || url[0] == '\0') && file != NULL && file[0] != '\0') {
        FILE *fp = fopen(file, "r");

        if (fp != NULL && fgets(g_spec, sizeof(g_spec), fp) != NULL) {
            g_spec[strcspn(g_spec, "\r\n")] = '\0';
            url = g_spec;
        }
        if (fp != NULL) {
            fclose(fp);
        }
    }
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "test_store --ch: neither VG_TEST_CH nor VG_TEST_CH_FILE names a"
                        " ClickHouse server (scripts/ch-test-server start DIR): skipped\n");
        return 77;
    }
    if (url != g_spec) {
        snprintf(g_spec, sizeof(g_spec), "%s", url);
    }
    g_is_ch = true;
    rc = cmocka_run_group_tests_name("store.clickhouse", ch_tests, NULL, NULL);
    backend_reset();
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_sha512_known_answers), cmocka_unit_test(test_url_domain),
        cmocka_unit_test(test_sql_tuples),           cmocka_unit_test(test_from_json_vigie),
        cmocka_unit_test(test_content_key),          cmocka_unit_test(test_from_json_ooni_verdicts),
        cmocka_unit_test(test_from_json_refusals),   cmocka_unit_test(test_axes),
        cmocka_unit_test(test_record_summary),       cmocka_unit_test(test_verdict_order),
    };
    bool pg_only = argc > 1 && strcmp(argv[1], "--pg") == 0;
    int rc = 0;

    if (argc > 1 && strcmp(argv[1], "--ch") == 0) {
        return run_ch();
    }
    g_pg = getenv("VG_TEST_PG");
    if (g_pg != NULL && g_pg[0] == '\0') {
        g_pg = NULL;
    }
    if (pg_only) {
        if (g_pg == NULL) {
            fprintf(stderr, "test_store --pg: VG_TEST_PG is not set (a libpq conninfo or URL of "
                            "a scratch database; scripts/pg-test-server start DIR prints one)\n");
            return 1;
        }
        return run_pg();
    }
    rc |= cmocka_run_group_tests_name("store.pure", pure, NULL, NULL);
    rc |= run_sqlite();
    if (g_pg != NULL) {
        rc |= run_pg();
    } else {
        printf("test_store: VG_TEST_PG unset: PostgreSQL runs as unit.test_store_pg\n");
    }
    return rc;
}
