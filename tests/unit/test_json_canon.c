/* SPDX-License-Identifier: MIT */
/*
 * test_json_canon.c - vg_json_canon (lib/proto/json_canon.c) writes what jansson's
 * json_dumps(JSON_COMPACT) writes of its parse: edge cases of every token, the members it sets,
 * and every line of the OONI and vigie measurements under tests/data, byte for byte.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/buf.h"
#include "util/err.h"
#include "vgtest.h"

static int
put(const char *p, size_t n, void *arg)
{
    return vg_buf_append(arg, p, n) == 0 ? 0 : -1;
}

/* vg_json_canon of text with the sets, NUL-terminated (free it); NULL when refused. */
static char *
canon(struct vg_json_doc *d, const char *text, size_t len, struct vg_json_set *sets, size_t n,
      int *rc)
{
    struct vg_buf b;
    char err[256];

    vg_buf_init(&b, SIZE_MAX / 2);
    if (vg_json_parse(d, text, len, err, sizeof(err)) == NULL) {
        print_message("not parsed: %s\n", err);
        fail();
    }
    *rc = vg_json_canon(text, len, sets, n, put, &b, err, sizeof(err));
    if (*rc != 0) {
        vg_buf_cleanup(&b);
        return NULL;
    }
    assert_int_equal(vg_buf_append(&b, "", 1), 0);
    return (char *)b.data;
}

/* What the collector stored before: jansson's parse, the sets applied, json_dumps. */
static char *
reference(const char *text, size_t len, const struct vg_json_set *sets, size_t n)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    char *out;

    if (j == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_loadb(sets[i].value, sets[i].value_len, JSON_DECODE_ANY, &jerr);

        assert_non_null(v);
        assert_int_equal(json_object_set_new(j, sets[i].name, v), 0);
    }
    out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static void
check_same(struct vg_json_doc *d, const char *text, size_t len, struct vg_json_set *sets, size_t n)
{
    char *ref = reference(text, len, sets, n);
    int rc;
    char *got = canon(d, text, len, sets, n, &rc);

    if (ref == NULL) {
        assert_null(got);
        assert_int_equal(rc, VG_EPROTO);
        return;
    }
    if (got == NULL || strcmp(got, ref) != 0) {
        print_message("input:    %.*s\nexpected: %s\ngot:      %s\n", (int)(len > 400 ? 400 : len),
                      text, ref, got != NULL ? got : "(refused)");
        fail();
    }
    free(got);
    free(ref);
}

static void
test_tokens(void **state)
{
    static const char *const cases[] = {
        "{}",
        "[]",
        " { } ",
        "{\"a\" : 1 , \"b\" :[ 1 , 2 ] }\n",
        "[-0]",
        "[0,-1,12345]",
        "[9223372036854775807,-9223372036854775808]",
        "[0.0,-0.0,1.5,0.1,1e5,1E5,1e-7,2.5e+300]",
        "[1.0000000000000001e300,4.5707999999999997e-5,0.003543661,100000.0,123456789012345678.0]",
        "[1e-400,5e-324,1.7976931348623157e308]",
        "[true,false,null]",
        "[\"\\/\",\"\\u0041\",\"\\u00e9\",\"\\u00E9\",\"\\u001f\",\"\\u001F\",\"\\u0008\",\"\\b\"]",
        "[\"\\ud83d\\ude00\",\"\\uD83D\\uDE00\",\"\xf0\x9f\x98\x80\",\"\\u2028\",\"\\u007f\"]",
        "[\"\\\"\\\\\\n\\r\\t\\f\",\"\\u0022\\u005c\",\"a\\u005cb\",\"\\u003chtml\\u003e\"]",
        "{\"k\\u0065y\":\"\\u0076\",\"\\/\":{\"\\\"\":[]}}",
        "[[[[{\"a\":[{}]}]]]]",
        "\t[ \"x y\" ,\r\n {\"\":\"\"} ]\n",
        "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]",
    };
    struct vg_json_doc *d = vg_json_doc_new();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_same(d, cases[i], strlen(cases[i]), NULL, 0);
    }
    vg_json_doc_free(d);
}

static void
test_refused(void **state)
{
    static const char *const cases[] = {"[9223372036854775808]", "[-9223372036854775809]",
                                        "[123456789012345678901234567890]", "[1e400]", "[-1e400]"};
    struct vg_json_doc *d = vg_json_doc_new();
    int rc;

    /* in a member that a set replaces too: jansson read it before it was replaced */
    static const char *const replaced[] = {"{\"probe_ip\":1e400}",
                                           "{\"a\":1,\"probe_ip\":[{\"x\":-9223372036854775809}]}"};
    struct vg_json_set sets[] = {{"probe_ip", "\"127.0.0.1\"", 11, false}};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_null(reference(cases[i], strlen(cases[i]), NULL, 0));
        assert_null(canon(d, cases[i], strlen(cases[i]), NULL, 0, &rc));
        assert_int_equal(rc, VG_EPROTO);
    }
    for (size_t i = 0; i < sizeof(replaced) / sizeof(replaced[0]); i++) {
        assert_null(reference(replaced[i], strlen(replaced[i]), sets, 1));
        assert_null(canon(d, replaced[i], strlen(replaced[i]), sets, 1, &rc));
        assert_int_equal(rc, VG_EPROTO);
    }
    vg_json_doc_free(d);
}

static void
test_sets(void **state)
{
    static const char *const cases[] = {
        "{}",
        "{\"a\":1}",
        "{\"probe_ip\":\"192.0.2.1\",\"a\":[1,{\"probe_ip\":2}]}",
        "{\"a\":{\"report_id\":1},\"report_id\":\"x\",\"b\":2}",
        "{\"report_id\" : { \"x\" : [1, \"}\"] } , \"probe_ip\" :null }",
        "{\"a\":1,\"probe\\u005fip\":[\"\\\"\",{}],\"z\":0}",
        " { \"a\" : \"probe_ip\" , \"b\" : 1 } ",
        "{\"report_id\":\"\\\"}\",\"probe_ip\":1e5}",
    };
    struct vg_json_doc *d = vg_json_doc_new();
    struct vg_json_set sets[] = {
        {"report_id", "\"r-1\"", 5, false},
        {"probe_ip", "\"127.0.0.1\"", 11, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_same(d, cases[i], strlen(cases[i]), sets, 2);
        check_same(d, cases[i], strlen(cases[i]), sets + 1, 1);
    }
    vg_json_doc_free(d);
}

/* Every line of a JSON Lines file under VG_TEST_DATA, with and without the sets. */
static void
check_file(struct vg_json_doc *d, const char *rel)
{
    const char *dir = getenv("VG_TEST_DATA");
    struct vg_json_set sets[] = {
        {"report_id", "\"r-1\"", 5, false},
        {"probe_ip", "\"127.0.0.1\"", 11, false},
    };
    char path[1024], *line = NULL;
    size_t cap = 0, lines = 0;
    ssize_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/data", rel);
    f = fopen(path, "r");
    assert_non_null(f);
    while ((n = getline(&line, &cap, f)) > 0) {
        if (n > 1) {
            check_same(d, line, (size_t)n, NULL, 0);
            check_same(d, line, (size_t)n, sets, 2);
            lines++;
        }
    }
    free(line);
    fclose(f);
    assert_true(lines > 0);
}

static void
test_measurements(void **state)
{
    struct vg_json_doc *d = vg_json_doc_new();

    (void)state;
    check_file(d, "ooni/probe-cli-qa.jsonl");
    check_file(d, "ooni/probe-cli-manual.jsonl");
    check_file(d, "ooni/backend-fastpath.jsonl");
    check_file(d, "ooni-validate/ooni-measurements.jsonl");
    check_file(d, "../fuzz/corpus/jsonmem/measurement");
    vg_json_doc_free(d);
}

/* Reals in every spelling (jansson's "%.17g", shorter and longer ones, "N.0", trailing zeros)
 * over the magnitudes json_canon.c checks without snprintf and past them on both sides: the
 * same text as jansson's, one array of 64 numbers at a time. */
static void
test_reals(void **state)
{
    static const char *const forms[] = {"%.17g", "%.16g", "%.15g", "%.6g", "%.1f",
                                        "%.3f",  "%.9f",  "%.18g", "%.20f"};
    struct vg_json_doc *d = vg_json_doc_new();
    uint64_t r = 0x9E3779B97F4A7C15u;
    char text[64 * 64 + 2];

    (void)state;
    for (int round = 0; round < 400; round++) {
        size_t n = 0;

        text[n++] = '[';
        for (int i = 0; i < 64; i++) {
            char num[64];
            double v;
            int w;

            r = r * 6364136223846793005u + 1442695040888963407u;
            /* a mantissa in [1, 2) times 2^-24..2^62, or an integer, or a short decimal */
            v = ldexp(1.0 + (double)(r >> 11) / 9007199254740992.0, (int)((r >> 3) % 87) - 24);
            if (r % 7 == 0) {
                v = (double)(r >> 40);
            } else if (r % 7 == 1) {
                v = (double)(r >> 44) / 1000.0;
            }
            if (r % 5 == 0) {
                v = -v;
            }
            w = snprintf(num, sizeof(num), forms[(r >> 20) % (sizeof(forms) / sizeof(forms[0]))],
                         v);
            assert_true(w > 0 && (size_t)w < sizeof(num));
            if (strchr(num, '.') == NULL && strchr(num, 'e') == NULL) {
                memcpy(num + w, ".0", 3);
            }
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s", i > 0 ? "," : "", num);
        }
        text[n++] = ']';
        text[n] = '\0';
        check_same(d, text, n, NULL, 0);
    }
    vg_json_doc_free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_sets),   cmocka_unit_test(test_measurements),
        cmocka_unit_test(test_reals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
