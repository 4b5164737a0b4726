/* SPDX-License-Identifier: MIT */
/*
 * test_collector.c - the collector's pure parts: upload checks and normalisation
 * (server/ingest.c), query parameters and CSV (server/api.c). Each refusal is checked for its
 * specific error code and for naming the field at fault.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ingest.h"
#include "store.h"
#include "vgtest.h"

#define OPEN_OK                                                                         \
    "{\"data_format_version\":\"0.2.0\",\"format\":\"json\",\"probe_asn\":\"AS30722\"," \
    "\"probe_cc\":\"IT\",\"software_name\":\"vigie\",\"software_version\":\"0.1.0\","   \
    "\"test_name\":\"web_connectivity\",\"test_start_time\":\"2026-03-01 10:00:00\","   \
    "\"test_version\":\"0.5.28\"}"

static const char meas_ok[] =
    "{\"data_format_version\":\"0.2.0\",\"id\":\"0b7e2f4e-3c1d-4a56-9f0e-2d7c1b9a8e11\","
    "\"input\":\"https://Example.ORG:8443/x\",\"measurement_start_time\":\"2026-03-01 10:00:05\","
    "\"probe_asn\":\"AS30722\",\"probe_cc\":\"IT\",\"probe_ip\":\"198.51.100.23\","
    "\"report_id\":\"\",\"software_name\":\"vigie\",\"software_version\":\"0.1.0\","
    "\"test_name\":\"web_connectivity\",\"test_start_time\":\"2026-03-01 10:00:00\","
    "\"test_version\":\"0.5.28\",\"test_keys\":{\"x_verdict\":\"blocked\",\"x_cause\":"
    "\"dns.nxdomain\",\"queries\":[{\"answers\":[{\"ipv4\":\"198.51.100.23\"}]}],"
    "\"note\":\"seen 198.51.100.23 twice: 198.51.100.23\"}}";

static struct vg_store_report
report(void)
{
    struct vg_store_report r;

    memset(&r, 0, sizeof(r));
    snprintf(r.report_id, sizeof(r.report_id), "%s",
             "20260301T100000Z_webconnectivity_IT_30722_n1_abcDEF-_");
    snprintf(r.probe_cc, sizeof(r.probe_cc), "IT");
    r.probe_asn = 30722;
    snprintf(r.test_name, sizeof(r.test_name), "web_connectivity");
    return r;
}

static void
test_open(void **state)
{
    struct vg_ingest_open op;
    uint8_t rnd[VG_REPORT_RANDOM_BYTES];
    char err[256], id[VG_REPORT_ID_MAX], body[1024];

    (void)state;
    assert_int_equal(vg_ingest_parse_open(OPEN_OK, strlen(OPEN_OK), &op, err, sizeof(err)), 0);
    assert_string_equal(op.report.probe_cc, "IT");
    assert_int_equal(op.report.probe_asn, 30722);
    assert_string_equal(op.report.test_name, "web_connectivity");
    assert_string_equal(op.test_start_time, "2026-03-01 10:00:00");
    memset(rnd, 0xfb, sizeof(rnd));
    assert_int_equal(vg_ingest_report_id(&op.report, 1772359200, rnd, id, sizeof(id)), 0);
    /* 2026-03-01T10:00:00Z; the 256-bit number of 32 bytes 0xfb in base62: 43 letters and
     * digits, so that OONI's collector splits the id into its six fields. */
    assert_string_equal(id, "20260301T100000Z_webconnectivity_IT_30722_n1_"
                            "xkhSbwRMaRaAd6prgQ0D5W3psxs623AZnW6SNd8M1gR");
    assert_true(vg_ingest_report_id_is_valid(id));
    assert_null(strchr(id + 45, '_'));
    assert_null(strchr(id, '-'));
    memset(rnd, 0, sizeof(rnd));
    assert_int_equal(vg_ingest_report_id(&op.report, 1772359200, rnd, id, sizeof(id)), 0);
    assert_string_equal(id + 45, "0000000000000000000000000000000000000000000");
    memset(rnd, 0xff, sizeof(rnd));
    assert_int_equal(vg_ingest_report_id(&op.report, 1772359200, rnd, id, sizeof(id)), 0);
    assert_string_equal(id + 45, "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1");
    memset(rnd, 0xfb, sizeof(rnd));
    assert_int_equal(vg_ingest_report_id(&op.report, 1772359200, rnd, id, 40), VG_ETOOBIG);
    /* The longest test name accepted with the largest ASN still makes a valid id (found by
     * fuzz_upload: a 63-character name made POST /report answer 500). */
    memset(op.report.test_name, 'w', sizeof(op.report.test_name) - 1);
    op.report.test_name[sizeof(op.report.test_name) - 1] = '\0';
    op.report.probe_asn = 4294967295U;
    assert_int_equal(vg_ingest_report_id(&op.report, 1772359200, rnd, id, sizeof(id)), 0);
    assert_true(vg_ingest_report_id_is_valid(id));
    assert_non_null(strstr(id, "_wwwwwwwwwwwwwwwwwwwwwwwwwwwww_IT_4294967295_n1_")); /* 29 */

    assert_int_equal(vg_ingest_parse_open("[]", 2, &op, err, sizeof(err)), VG_EPROTO);
    assert_int_equal(vg_ingest_parse_open("{", 1, &op, err, sizeof(err)), VG_EPROTO);
    assert_non_null(strstr(err, "JSON object"));
    /* One bad field at a time: the error names it. */
    static const char *const bad[][2] = {
        {"\"0.2.0\"", "\"0.1.0\""},
        {"\"json\"", "\"yaml\""},
        {"\"AS30722\"", "\"30722\""},
        {"\"AS30722\"", "\"AS4294967296\""},
        {"\"IT\"", "\"it\""},
        {"\"web_connectivity\"", "\"Web\""},
        {"\"2026-03-01 10:00:00\"", "\"2026-02-29 10:00:00\""},
        {"\"vigie\"", "\"a b\""},
        {"\"0.5.28\"", "42"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *at = strstr(OPEN_OK, bad[i][0]);
        int n = snprintf(body, sizeof(body), "%.*s%s%s", (int)(at - OPEN_OK), OPEN_OK, bad[i][1],
                         at + strlen(bad[i][0]));

        err[0] = '\0';
        assert_int_equal(vg_ingest_parse_open(body, (size_t)n, &op, err, sizeof(err)), VG_EINVAL);
        assert_true(err[0] != '\0');
        assert_int_equal(op.report.probe_cc[0], '\0');
    }
    assert_int_equal(vg_ingest_parse_open("{\"format\":\"json\"}", 17, &op, err, sizeof(err)),
                     VG_EINVAL);
    assert_non_null(strstr(err, "data_format_version"));
}

static void
test_ids(void **state)
{
    (void)state;
    assert_false(vg_ingest_report_id_is_valid(""));
    assert_false(vg_ingest_report_id_is_valid("a/b"));
    assert_false(vg_ingest_report_id_is_valid("a.b"));
    assert_true(vg_ingest_uid_is_valid("20260301100005.123456_IT_web_connectivity_0123abcd"));
    assert_false(vg_ingest_uid_is_valid("a%2Fb"));
    assert_false(vg_ingest_uid_is_valid(""));
}

static void
test_submit_normalises(void **state)
{
    struct vg_store_report rep = report();
    struct vg_ingest u;
    char err[512], body[4096];
    json_t *m;
    int n;

    (void)state;
    n = snprintf(body, sizeof(body), "{\"format\":\"json\",\"content\":%s}", meas_ok);
    assert_int_equal(
        vg_ingest_parse_submit(body, (size_t)n, &rep, 1772359205000000, &u, err, sizeof(err)), 0);
    assert_ptr_equal(u.row.raw, u.text);
    assert_int_equal(u.row.raw_len, u.len);
    assert_null(strstr(u.text, "198.51.100.23"));
    m = json_loads(u.text, 0, NULL);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "probe_ip")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(m, "report_id")), rep.report_id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "test_keys"), "note")),
                        "seen [scrubbed] twice: [scrubbed]");
    json_decref(m);
    assert_string_equal(u.row.report_id, rep.report_id);
    /* the content key, never the client's id alone */
    assert_int_equal(strncmp(u.row.idem_key, "h:", 2), 0);
    assert_int_equal(strlen(u.row.idem_key), 66);
    assert_string_equal(u.row.provenance, "anonymous");
    assert_string_equal(u.row.x_verdict, "blocked");
    assert_string_equal(u.row.domain, "example.org");
    assert_int_equal(u.row.probe_asn, 30722);
    vg_ingest_cleanup(&u);
    vg_ingest_cleanup(&u);
}

static void
test_submit_refusals(void **state)
{
    struct vg_store_report rep = report();
    struct vg_ingest u;
    char err[512];
    static const struct {
        const char *body;
        int rc;
        const char *names;
    } cases[] = {
        {"", VG_EPROTO, "JSON"},
        {"{\"format\":\"json\"", VG_EPROTO, "JSON"},
        {"[]", VG_EPROTO, "JSON object"},
        {"{\"content\":{}}", VG_EINVAL, "format"},
        {"{\"format\":\"yaml\",\"content\":{}}", VG_EINVAL, "format"},
        {"{\"format\":\"json\",\"content\":[]}", VG_EINVAL, "content"},
        {"{\"format\":\"json\",\"format\":\"json\",\"content\":{}}", VG_EPROTO, "JSON"},
        {"{\"format\":\"json\",\"content\":{}}", VG_EINVAL, "data_format_version"},
        {"{\"format\":\"json\",\"content\":{\"data_format_version\":\"0.3.0\"}}", VG_EINVAL,
         "data_format_version"},
        {"{\"format\":\"json\",\"content\":{\"data_format_version\":\"0.2.0\",\"probe_cc\":\"FR\","
         "\"probe_asn\":\"AS30722\",\"test_name\":\"web_connectivity\"}}",
         VG_EINVAL, "probe_cc"},
        {"{\"format\":\"json\",\"content\":{\"data_format_version\":\"0.2.0\",\"probe_cc\":\"IT\","
         "\"probe_asn\":\"AS1\",\"test_name\":\"web_connectivity\"}}",
         VG_EINVAL, "probe_asn"},
        {"{\"format\":\"json\",\"content\":{\"data_format_version\":\"0.2.0\",\"probe_cc\":\"IT\","
         "\"probe_asn\":\"AS30722\",\"test_name\":\"dnscheck\"}}",
         VG_EINVAL, "test_name"},
        {"{\"format\":\"json\",\"content\":{\"data_format_version\":\"0.2.0\",\"probe_cc\":\"IT\","
         "\"probe_asn\":\"AS30722\",\"test_name\":\"web_connectivity\"}}",
         VG_EINVAL, "measurement_start_time"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = vg_ingest_parse_submit(cases[i].body, strlen(cases[i].body), &rep, 0, &u, err,
                                        sizeof(err));

        if (rc != cases[i].rc || strstr(err, cases[i].names) == NULL) {
            fail_msg("case %zu: rc %d, err '%s'", i, rc, err);
        }
        assert_null(u.text);
    }
}

static void
test_lines(void **state)
{
    struct vg_ingest u;
    char err[512], line[4096];
    int n;

    (void)state;
    /* A bulk line keeps a report_id that looks like one, and blanks one that does not. */
    n = snprintf(line, sizeof(line), "%s", meas_ok);
    assert_int_equal(vg_ingest_parse_meas(line, (size_t)n, NULL, 0, &u, err, sizeof(err)), 0);
    assert_string_equal(u.row.report_id, "");
    vg_ingest_cleanup(&u);
    n = snprintf(line, sizeof(line), "{\"report_id\":\"a\",%s", meas_ok + 1);
    assert_int_equal(vg_ingest_parse_meas(line, (size_t)n, NULL, 0, &u, err, sizeof(err)),
                     VG_EPROTO); /* duplicate key report_id */
    assert_null(u.text);
    /* The store's checks come through with their message. */
    {
        json_t *m = json_loads(meas_ok, 0, NULL);
        char *text;

        json_object_set_new(m, "id", json_string("a b"));
        text = json_dumps(m, JSON_COMPACT);
        assert_int_equal(vg_ingest_parse_meas(text, strlen(text), NULL, 0, &u, err, sizeof(err)),
                         VG_EINVAL);
        assert_non_null(strstr(err, "id"));
        assert_null(u.text);
        free(text);
        json_decref(m);
    }
    /* probe_ip that is no address: replaced, nothing scrubbed. */
    n = snprintf(line, sizeof(line), "%s", meas_ok);
    memcpy(strstr(line, "198.51.100.23"), "not-an-address", 13);
    assert_int_equal(vg_ingest_parse_meas(line, (size_t)n, NULL, 0, &u, err, sizeof(err)), 0);
    assert_non_null(strstr(u.text, "\"probe_ip\":\"127.0.0.1\""));
    assert_non_null(strstr(u.text, "seen 198.51.100.23"));
    vg_ingest_cleanup(&u);
}

/* Report secrets: the public id is the submit id's shape with a hash for its random part. */
static void
test_report_public(void **state)
{
    struct vg_store_report r = report();
    uint8_t rnd[VG_REPORT_RANDOM_BYTES];
    char secret[VG_REPORT_ID_MAX], pub[VG_REPORT_ID_MAX], again[VG_REPORT_ID_MAX];
    size_t n;

    (void)state;
    memset(rnd, 0x5a, sizeof(rnd));
    assert_int_equal(vg_ingest_report_id(&r, 1772359200, rnd, secret, sizeof(secret)), 0);
    assert_int_equal(vg_ingest_report_public(secret, pub, sizeof(pub)), 0);
    n = strlen(secret);
    assert_int_equal(strlen(pub), n);
    assert_memory_equal(pub, secret, n - 43); /* the same time, test, network */
    assert_string_not_equal(pub + n - 43, secret + n - 43);
    assert_true(vg_ingest_report_id_is_valid(pub));
    /* the same every time; the public id of a public id is another id: it opens nothing */
    assert_int_equal(vg_ingest_report_public(secret, again, sizeof(again)), 0);
    assert_string_equal(again, pub);
    assert_int_equal(vg_ingest_report_public(pub, again, sizeof(again)), 0);
    assert_string_not_equal(again, pub);
    assert_string_not_equal(again, secret);
    /* not a submit id's shape */
    assert_int_equal(vg_ingest_report_public("short", again, sizeof(again)), VG_EINVAL);
    assert_int_equal(vg_ingest_report_public("20261129T000000Z_webconnectivity_IT_1_n1_old", again,
                                             sizeof(again)),
                     VG_EINVAL);
    assert_int_equal(vg_ingest_report_public(secret, again, 10), VG_ETOOBIG);
    /* letters and digits (OONI's six fields); the older form, base64url, differs */
    assert_null(strpbrk(pub + n - 43, "-_"));
    assert_int_equal(vg_ingest_report_public_legacy(secret, again, sizeof(again)), 0);
    assert_memory_equal(again, secret, n - 43);
    assert_string_not_equal(again, pub);
}

/* The time rule and the provenance stamp (finding 2 of issue 13: a measurement dated 9999). */
static void
test_apply_policy(void **state)
{
    struct vg_ingest_policy pol = {"probe-7", 600};
    struct vg_ingest u;
    char err[512], line[4096];
    int64_t start = 1772359205; /* meas_ok's 2026-03-01 10:00:05 */
    int n;

    (void)state;
    n = snprintf(line, sizeof(line), "%s", meas_ok);
    assert_int_equal(vg_ingest_parse_meas(line, (size_t)n, NULL, 0, &u, err, sizeof(err)), 0);
    /* arrived 600 s before it says it started: the most a clock may be ahead */
    assert_int_equal(vg_ingest_apply(&u, &pol, (start - 600) * 1000000, err, sizeof(err)), 0);
    assert_string_equal(u.row.provenance, "probe-7");
    /* one second more: refused, saying why */
    assert_int_equal(vg_ingest_apply(&u, &pol, (start - 601) * 1000000, err, sizeof(err)),
                     VG_EINVAL);
    assert_non_null(strstr(err, "measurement_start_time is 601 s after"));
    /* defaults: anonymous, 10 minutes */
    assert_int_equal(vg_ingest_apply(&u, NULL, start * 1000000, err, sizeof(err)), 0);
    assert_string_equal(u.row.provenance, "anonymous");
    assert_int_equal(vg_ingest_apply(&u, NULL, (start - 601) * 1000000, err, sizeof(err)),
                     VG_EINVAL);
    pol.provenance = "not valid";
    assert_int_equal(vg_ingest_apply(&u, &pol, start * 1000000, err, sizeof(err)), VG_EINVAL);
    vg_ingest_cleanup(&u);
    /* 9999-12-31 23:59:59 */
    n = snprintf(line, sizeof(line), "%s", meas_ok);
    memcpy(strstr(line, "2026-03-01 10:00:05"), "9999-12-31 23:59:59", 19);
    assert_int_equal(vg_ingest_parse_meas(line, (size_t)n, NULL, 0, &u, err, sizeof(err)), 0);
    assert_int_equal(vg_ingest_apply(&u, NULL, 1796000000000000, err, sizeof(err)), VG_EINVAL);
    vg_ingest_cleanup(&u);
}

static int
parse_q(enum vg_api_route route, const char *n0, const char *v0, const char *n1, const char *v1,
        struct vg_api_query *q)
{
    const char *names[2] = {n0, n1}, *values[2] = {v0, v1};
    char err[256];

    return vg_api_parse(route, names, values,
                        n1 != NULL   ? 2
                        : n0 != NULL ? 1
                                     : 0,
                        q, err, sizeof(err));
}

static void
test_api_params(void **state)
{
    struct vg_api_query q;
    int64_t t;

    (void)state;
    assert_int_equal(parse_q(VG_API_MEASUREMENTS, NULL, NULL, NULL, NULL, &q), 0);
    assert_int_equal(q.limit, VG_API_LIMIT_DEF);
    assert_int_equal(parse_q(VG_API_MEASUREMENTS, "probe_cc", "it", "probe_asn", "as3269", &q), 0);
    assert_string_equal(q.f.probe_cc, "IT");
    assert_true(q.f.has_probe_asn);
    assert_int_equal(q.f.probe_asn, 3269);
    assert_int_equal(parse_q(VG_API_MEASUREMENTS, "domain", "Example.ORG", "limit", "1000", &q), 0);
    assert_string_equal(q.f.domain, "example.org");
    assert_int_equal(q.limit, 1000);
    assert_int_equal(parse_q(VG_API_MEASUREMENTS, "probe_cc", "", NULL, NULL, &q), 0);
    assert_null(q.f.probe_cc);
    assert_int_equal(
        parse_q(VG_API_MEASUREMENTS, "since", "2026-03-01", "until", "2026-03-01T10:30Z", &q), 0);
    assert_int_equal(q.f.since, 1772323200);
    assert_int_equal(q.f.until, 1772361000);
    assert_int_equal(parse_q(VG_API_AGGREGATION, "axis_x", "probe_cc", "format", "csv", &q), 0);
    assert_int_equal(q.axis_x, VG_AXIS_CC);
    assert_true(q.csv);
    /* CSV of measurements and targets too (issue 15) */
    assert_int_equal(parse_q(VG_API_TARGETS, "format", "CSV", NULL, NULL, &q), 0);
    assert_true(q.csv);
    assert_true(q.format_set);
    assert_int_equal(parse_q(VG_API_MEASUREMENTS, "format", "json", NULL, NULL, &q), 0);
    assert_false(q.csv);
    assert_true(q.format_set);
    /* who uploaded: on every route */
    assert_int_equal(parse_q(VG_API_MEASUREMENTS, "provenance", "probe-7", NULL, NULL, &q), 0);
    assert_string_equal(q.f.provenance, "probe-7");
    assert_false(q.f.trusted);
    assert_int_equal(parse_q(VG_API_AGGREGATION, "trusted", "true", NULL, NULL, &q), 0);
    assert_true(q.f.trusted);
    assert_null(q.f.provenance);
    assert_int_equal(parse_q(VG_API_TARGETS, "trusted", "false", "provenance", "anonymous", &q), 0);
    assert_false(q.f.trusted);
    assert_string_equal(q.f.provenance, "anonymous");

    static const char *const bad[][5] = {
        {"m", "limit", "0", NULL, NULL},
        {"m", "limit", "1001", NULL, NULL},
        {"m", "probe_cc", "ITA", NULL, NULL},
        {"m", "probe_asn", "AS", NULL, NULL},
        {"m", "x_verdict", "ok", NULL, NULL},
        {"m", "since", "2026-02-30", NULL, NULL},
        {"m", "until", "2026-03-01T25:00", NULL, NULL},
        {"m", "since", "2026-03-02", "until", "2026-03-01"},
        {"m", "axis_x", "domain", NULL, NULL},
        {"m", "limit", "1", "limit", "2"},
        {"m", "domain", "a b", NULL, NULL},
        {"m", "cursor", "\x01", NULL, NULL},
        {"a", "input", "https://x/", NULL, NULL},
        {"a", "axis_y", "domain", NULL, NULL},
        {"a", "axis_x", "domain", "axis_y", "domain"},
        {"a", "format", "xml", NULL, NULL},
        {"a", "cursor", "x", NULL, NULL},
        {"t", "format", "tsv", NULL, NULL},
        {"t", "nope", "1", NULL, NULL},
        {"m", "provenance", "a b", NULL, NULL},
        {"a", "provenance", "x/y", NULL, NULL},
        {"t", "trusted", "yes", NULL, NULL},
        {"m", "trusted", "true", "provenance", "anonymous"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum vg_api_route r = bad[i][0][0] == 'm'   ? VG_API_MEASUREMENTS
                              : bad[i][0][0] == 'a' ? VG_API_AGGREGATION
                                                    : VG_API_TARGETS;

        if (parse_q(r, bad[i][1], bad[i][2], bad[i][3], bad[i][4], &q) != VG_EINVAL) {
            fail_msg("case %zu (%s=%s) accepted", i, bad[i][1], bad[i][2]);
        }
    }
    assert_int_equal(vg_api_parse_time("2026-03-01 10:00:00", &t), 0);
    assert_int_equal(t, 1772359200);
    assert_int_equal(vg_api_parse_time("2024-02-29T00:00:00Z", &t), 0);
    assert_int_equal(vg_api_parse_time("2023-02-29", &t), VG_EINVAL);
    assert_int_equal(vg_api_parse_time("2026-03-01T10", &t), VG_EINVAL);
    assert_int_equal(vg_api_parse_time("2026-03-01T10:00:00+01", &t), VG_EINVAL);
}

static void
test_csv(void **state)
{
    json_t *agg =
        json_pack("{s:i, s:[{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i}]}", "dimension_count", 2,
                  "result", "domain", "a,\"b\".example", "x_verdict", "blocked", "accessible", 0,
                  "blocked", 3, "intercepted", 0, "down", 0, "unknown", 0, "total", 3);
    json_t *tot = json_pack("{s:i, s:{s:i, s:i, s:i, s:i, s:i, s:i}}", "dimension_count", 0,
                            "result", "accessible", 1, "blocked", 2, "intercepted", 3, "down", 4,
                            "unknown", 5, "total", 15);
    char *csv;
    size_t len;

    (void)state;
    assert_int_equal(vg_api_aggregation_csv(agg, VG_AXIS_DOMAIN, VG_AXIS_VERDICT, &csv, &len), 0);
    assert_string_equal(csv,
                        "domain,x_verdict,accessible,blocked,intercepted,down,unknown,total\r\n"
                        "\"a,\"\"b\"\".example\",blocked,0,3,0,0,0,3\r\n");
    assert_int_equal(len, strlen(csv));
    free(csv);
    assert_int_equal(vg_api_aggregation_csv(tot, VG_AXIS_NONE, VG_AXIS_NONE, &csv, &len), 0);
    assert_string_equal(csv, "accessible,blocked,intercepted,down,unknown,total\r\n"
                             "1,2,3,4,5,15\r\n");
    free(csv);
    json_decref(agg);
    json_decref(tot);
}

/* OONI's measurement of meas_ok's shape: another software, OONI's label, no x_verdict. */
static const char meas_ooni[] =
    "{\"data_format_version\":\"0.2.0\",\"input\":\"https://example.org/\","
    "\"measurement_start_time\":\"2026-03-01 10:00:05\",\"probe_asn\":\"AS30722\","
    "\"probe_cc\":\"IT\",\"probe_ip\":\"127.0.0.1\",\"report_id\":\"\","
    "\"software_name\":\"ooniprobe\",\"software_version\":\"3.20.0\",\"test_name\":"
    "\"web_connectivity\",\"test_start_time\":\"2026-03-01 10:00:00\",\"test_version\":"
    "\"0.4.1\",\"test_keys\":{\"blocking\":\"dns\",\"accessible\":false,\"queries\":[],"
    "\"tcp_connect\":[],\"requests\":[],\"x_verdict\":\"accessible\"}}";

/* Ingest's analysis (vg_ingest_analyze): vigie's probe kept, anything else vg_analyze's, the
 * measurement's text untouched, OONI's fields kept as OONI's. */
static void
test_analysis(void **state)
{
    struct vg_analyzer *a = vg_analyzer_new();
    struct vg_analysis an;
    struct vg_ingest u;
    char err[512], *before, *other;

    (void)state;
    assert_non_null(a);
    /* vigie's probe: its verdict, analyser "probe", nothing analysed */
    assert_int_equal(vg_ingest_parse_meas(meas_ok, strlen(meas_ok), NULL, 1, &u, err, sizeof(err)),
                     0);
    assert_false(vg_ingest_analyze(&u, a));
    assert_string_equal(u.row.x_verdict, "blocked");
    assert_string_equal(u.row.x_cause, "dns.nxdomain");
    assert_string_equal(u.row.x_analyzer, VG_STORE_ANALYZER_PROBE);
    assert_string_equal(u.row.x_evidence, "");
    vg_ingest_cleanup(&u);

    /* OONI's: what vg_analyze says of the stored text, which stays as it was; its own
     * x_verdict and OONI's label are not vigie's verdict */
    assert_int_equal(
        vg_ingest_parse_meas(meas_ooni, strlen(meas_ooni), NULL, 1, &u, err, sizeof(err)), 0);
    assert_string_equal(u.row.x_verdict, "unknown");
    assert_string_equal(u.row.blocking, "dns");
    before = strdup(u.text);
    assert_int_equal(vg_analyze(a, u.text, u.len, VG_ANALYZE_NO_LINE, &an, err, sizeof(err)), 0);
    assert_true(an.analysed);
    assert_true(vg_ingest_analyze(&u, a));
    assert_string_equal(u.text, before);
    assert_string_equal(u.row.x_verdict, vg_verdict_name(an.verdict));
    assert_string_equal(u.row.x_cause, an.cause);
    assert_string_equal(u.row.x_evidence, an.evidence);
    assert_string_equal(u.row.x_analyzer, VG_ANALYZER_VERSION);
    assert_string_equal(u.row.blocking, "dns");
    assert_int_equal(u.row.accessible, 0);
    free(before);
    vg_ingest_cleanup(&u);

    /* a test vigie has no rules for: unknown, no analyser */
    other = strdup(meas_ooni);
    memcpy(strstr(other, "web_connectivity"), "dnscheck\",\"x\":\"yz", 16);
    assert_int_equal(vg_ingest_parse_meas(other, strlen(other), NULL, 1, &u, err, sizeof(err)), 0);
    assert_string_equal(u.row.test_name, "dnscheck");
    assert_true(vg_ingest_analyze(&u, a));
    assert_string_equal(u.row.x_verdict, "unknown");
    assert_string_equal(u.row.x_analyzer, "");
    assert_string_equal(u.row.x_cause, "");
    vg_ingest_cleanup(&u);
    free(other);

    /* no analyser given: left for later */
    assert_int_equal(
        vg_ingest_parse_meas(meas_ooni, strlen(meas_ooni), NULL, 1, &u, err, sizeof(err)), 0);
    assert_false(vg_ingest_analyze(&u, NULL));
    assert_true(vg_store_meas_needs_analysis(&u.row));
    vg_ingest_cleanup(&u);
    vg_analyzer_free(a);
}

static void
test_rows_csv(void **state)
{
    static const char *const fallback[] = {"input", "x_verdict", NULL};
    json_t *page =
        json_pack("{s:[{s:s, s:b, s:n, s:i, s:s}, {s:s, s:s, s:b}], s:n}", "results", "input",
                  "https://a/,\"b\"", "accessible", 1, "blocking", "n", 3, "x_cause", "=1+2",
                  "input", "-x", "extra", "@y\r\nz", "accessible", 0, "next_cursor");
    json_t *empty = json_pack("{s:[], s:n}", "results", "next_cursor");
    char *csv;
    size_t len;

    (void)state;
    assert_int_equal(vg_api_rows_csv(page, fallback, &csv, &len), 0);
    assert_string_equal(csv, "input,accessible,blocking,n,x_cause,extra\r\n"
                             "\"https://a/,\"\"b\"\"\",true,,3,'=1+2,\r\n"
                             "'-x,false,,,,\"'@y\r\nz\"\r\n");
    assert_int_equal(len, strlen(csv));
    free(csv);
    assert_int_equal(vg_api_rows_csv(empty, fallback, &csv, &len), 0);
    assert_string_equal(csv, "input,x_verdict\r\n");
    free(csv);
    json_decref(page);
    json_decref(empty);
}

/* vg_api_dump writes what json_dumps(JSON_COMPACT | JSON_REAL_PRECISION) writes, byte for byte:
 * every ASCII byte and a NUL in strings and keys, UTF-8, integers, reals at 4 and 17 digits. */
static void
test_api_dump(void **state)
{
    static const double reals[] = {0.0,       -0.0,        0.1,    0.29929999999999998,
                                   1.0 / 3,   5e-5,        1.5e-7, 1e300,
                                   -2.5e-300, 123456789.0, 1e16,   1e17,
                                   0.99995,   0.00015,     42.0,   4.9e-324};
    char ascii[128], *mine, *theirs;
    json_t *root = json_object(), *arr = json_array(), *obj = json_object();
    size_t len;

    (void)state;
    for (int i = 0; i < 127; i++) {
        ascii[i] = (char)(i + 1);
    }
    ascii[127] = '\0';
    json_object_set_new(root, ascii, json_string(ascii));
    json_object_set_new(root, "nul", json_stringn("a\0b\"", 4));
    json_object_set_new(root, "utf8 \xc3\xa9",
                        json_string("\xe2\x82\xac \xf0\x9d\x84\x9e / \xc3\xa9"));
    json_object_set_new(root, "empty", json_object());
    json_object_set_new(root, "list", arr);
    json_array_append_new(arr, json_integer(INT64_MIN));
    json_array_append_new(arr, json_integer(INT64_MAX));
    json_array_append_new(arr, json_true());
    json_array_append_new(arr, json_false());
    json_array_append_new(arr, json_null());
    json_array_append_new(arr, json_array());
    json_array_append_new(arr, obj);
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        json_array_append_new(arr, json_real(reals[i]));
    }
    srand(18);
    for (int i = 0; i < 2000; i++) {
        double d = (double)rand() / RAND_MAX;

        json_array_append_new(arr, json_real(i % 3 == 0 ? d : i % 3 == 1 ? d * 1e-6 : d * 1e9));
        json_object_set_new(obj, i % 2 ? "k" : "j", json_integer(rand()));
        json_array_append_new(arr,
                              json_real(reals[(size_t)i % (sizeof(reals) / sizeof(reals[0]))]));
    }
    for (int prec = 1; prec <= 17; prec++) {
        assert_int_equal(vg_api_dump(root, prec, &mine, &len), 0);
        theirs = json_dumps(root, JSON_COMPACT | (prec < 17 ? JSON_REAL_PRECISION(prec) : 0));
        assert_non_null(theirs);
        assert_int_equal(len, strlen(theirs));
        assert_memory_equal(mine, theirs, len + 1);
        free(mine);
        free(theirs);
    }
    json_decref(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_submit_normalises),
        cmocka_unit_test(test_submit_refusals),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_report_public),
        cmocka_unit_test(test_apply_policy),
        cmocka_unit_test(test_api_params),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_api_dump),
        cmocka_unit_test(test_analysis),
        cmocka_unit_test(test_rows_csv),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
