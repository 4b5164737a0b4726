/* SPDX-License-Identifier: MIT */
/*
 * test_jsonmem.c - the collector's memory for uploads: the budget and its accounts
 * (server/membudget.h), the check of JSON before parsing, the parse in an arena charged to an
 * account and the serialisation out of it (server/jsonmem.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmem.h"
#include "membudget.h"
#include "util/limits.h"
#include "vgtest.h"

static void
test_budget(void **state)
{
    struct vg_membudget b;
    struct vg_memacct x, y, none = {0};
    size_t used, high;

    (void)state;
    vg_membudget_init(&b, 1000);
    vg_membudget_open(&x, &b);
    vg_membudget_open(&y, &b);
    assert_int_equal(vg_membudget_take(&x, 600), 0);
    assert_int_equal(vg_membudget_take(&y, 500), VG_MEMBUDGET_BUSY); /* x holds it: retry */
    assert_int_equal(vg_membudget_take(&y, 400), 0);
    assert_int_equal(vg_membudget_take(&x, 500), VG_MEMBUDGET_TOOBIG); /* never, for x */
    assert_int_equal(vg_membudget_take(&y, 1001), VG_MEMBUDGET_TOOBIG);
    vg_membudget_give(&x, 100);
    assert_int_equal(x.held, 500);
    vg_membudget_force(&y, 300); /* past the budget: what cannot be refused */
    vg_membudget_usage(&b, &used, &high);
    assert_int_equal(used, 1200);
    assert_int_equal(high, 1300 - 100);
    assert_int_equal(vg_membudget_take(&x, 1), VG_MEMBUDGET_BUSY);
    vg_membudget_give(&y, 5000); /* at most what it holds */
    assert_int_equal(y.held, 0);
    vg_membudget_close(&x);
    vg_membudget_usage(&b, &used, &high);
    assert_int_equal(used, 0);
    assert_int_equal(high, 1200);
    /* No budget: everything goes, nothing is counted. */
    assert_int_equal(vg_membudget_take(&none, SIZE_MAX), 0);
    vg_membudget_give(&none, 10);
    vg_membudget_cleanup(&b);
}

static void
test_grow(void **state)
{
    struct vg_membudget b;
    struct vg_memacct a;
    struct vg_buf buf;

    (void)state;
    vg_membudget_init(&b, 10000);
    vg_membudget_open(&a, &b);
    vg_buf_init(&buf, 6000);
    assert_int_equal(vg_membudget_grow(&a, &buf, 10, false), 0);
    assert_int_equal(buf.cap, 4096); /* at least 4 KiB, then doubling */
    assert_int_equal(a.held, 4096);
    buf.len = 4000;
    assert_int_equal(vg_membudget_grow(&a, &buf, 500, false), 0);
    assert_int_equal(buf.cap, 6000); /* doubling stops at max */
    assert_int_equal(a.held, 6000);
    buf.len = 6000;
    assert_int_equal(vg_membudget_grow(&a, &buf, 1, false), VG_ETOOBIG);
    assert_int_equal(a.held, 6000);
    vg_membudget_give(&a, buf.cap);
    vg_buf_cleanup(&buf);
    /* Exact growth, and a refusal that leaves the buffer as it was. */
    vg_buf_init(&buf, 100000);
    assert_int_equal(vg_membudget_grow(&a, &buf, 7000, true), 0);
    assert_int_equal(buf.cap, 7000);
    buf.len = 7000;
    assert_int_equal(vg_membudget_grow(&a, &buf, 7000, false), VG_MEMBUDGET_TOOBIG);
    assert_int_equal(buf.cap, 7000);
    assert_int_equal(a.held, 7000);
    vg_membudget_give(&a, buf.cap);
    vg_buf_cleanup(&buf);
    vg_membudget_cleanup(&b);
}

/* vg_jsonmem_check's answer for text: 0 with the shape, or VG_ETOOBIG. */
static int
check(const char *text, size_t max_values, unsigned max_depth, struct vg_jsonmem_shape *shape)
{
    char err[160] = "";
    int rc = vg_jsonmem_check(text, strlen(text), max_values, max_depth, shape, err, sizeof(err));

    assert_true(rc == 0 || (rc == VG_ETOOBIG && err[0] != '\0'));
    return rc;
}

static void
test_check(void **state)
{
    struct vg_jsonmem_shape s;

    (void)state;
    assert_int_equal(check("{\"a\":1,\"b\":[1,2]}", 100, 8, &s), 0);
    assert_int_equal(s.values, 7); /* {, a, 1, b, [, 1, 2: keys count */
    assert_int_equal(s.longest, 3);
    assert_int_equal(check("{\"a\":[{},{},{}]}", 8, 8, &s), VG_ETOOBIG);
    assert_int_equal(check("{\"a\":[{},{},{}]}", 9, 8, &s), 0); /* 5 values, counted 9 */
    assert_int_equal(check("[[[[]]]]", 100, 4, &s), 0);
    assert_int_equal(check("[[[[[]]]]]", 100, 4, &s), VG_ETOOBIG);
    assert_int_equal(check("[[],[],[],[],[]]", 100, 2, &s), 0); /* depth, not count */
    /* Structure inside strings is not structure; escaped quotes do not end them. */
    assert_int_equal(check("[\"[[[[[[,,,,,:::\"]", 2, 1, &s), 0);
    assert_int_equal(check("[\"\\\"[[[[[[\"]", 2, 1, &s), 0);
    assert_int_equal(check("[\"\\\\\",[[[[[\"]", 100, 3, &s), VG_ETOOBIG); /* \\ then " ends */
    assert_int_equal(check("[\"\\\\\\\"[[[[\"]", 2, 1, &s), 0);            /* \\\" does not */
    assert_int_equal(s.longest, 10);
    /* Invalid JSON passes: the parser refuses it. */
    assert_int_equal(check("[\"unterminated [[[[[[[[", 2, 1, &s), 0);
    assert_int_equal(check("]]]]]]]][[[[", 100, 4, &s), 0);
    assert_int_equal(check("", 1, 1, &s), 0);
    assert_int_equal(s.values, 1);
}

/* A budget of cap bytes, a scope on it, and the parse of text inside. */
static json_t *
scoped_load(struct vg_jsonmem *jm, struct vg_memacct *a, size_t cap, const char *text, bool *toobig)
{
    json_error_t jerr;
    json_t *j;

    vg_jsonmem_begin(jm, a, cap);
    j = vg_jsonmem_load(text, strlen(text), JSON_REJECT_DUPLICATES, &jerr, toobig);
    assert_true(j != NULL || jerr.text[0] != '\0');
    return j;
}

static void
test_scope(void **state)
{
    static const char text[] = "{\"a\":[{},{},{\"b\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}],"
                               "\"c\":1.5,\"d\":[true,false,null]}";
    struct vg_membudget b;
    struct vg_memacct a;
    struct vg_jsonmem jm;
    bool toobig;
    size_t len, used, high;
    char *out, *ref, *small;
    json_t *j, *plain;

    (void)state;
    plain = json_loads(text, 0, NULL);
    ref = json_dumps(plain, JSON_COMPACT);
    json_decref(plain);
    vg_membudget_init(&b, 64 * 1024 * 1024);
    vg_membudget_open(&a, &b);
    j = scoped_load(&jm, &a, VG_COLLECTOR_PARSE_MAX, text, &toobig);
    assert_non_null(j);
    assert_false(toobig);
    assert_int_equal(jm.forced, 0);
    assert_true(jm.held > 0 && a.held == jm.held); /* the arena, charged to the account */
    /* Written out of the arena, charged to the account until the scope ends, unless kept. */
    assert_int_equal(vg_jsonmem_dumps(j, 1000, &out, &len), 0);
    assert_string_equal(out, ref);
    assert_int_equal(len, strlen(ref));
    assert_int_equal(a.held, jm.held + len + 1);
    assert_int_equal(vg_jsonmem_dumps(j, 10, &small, &len), VG_ETOOBIG); /* nothing kept */
    assert_null(small);
    assert_int_equal(a.held, jm.held + strlen(ref) + 1);
    json_decref(j);
    vg_jsonmem_end(&jm, strlen(ref) + 1);
    assert_int_equal(a.held, strlen(ref) + 1); /* the text kept */
    free(out);
    vg_membudget_close(&a);
    vg_membudget_usage(&b, &used, &high);
    assert_int_equal(used, 0);
    assert_true(high < 256 * 1024); /* the estimate of a small text is small */
    free(ref);
    vg_membudget_cleanup(&b);
}

/* text parsed in a scope on an account of b: parsed (ok) or not, within its estimate, and
 * everything given back at the end */
static void
load_within(struct vg_membudget *b, const char *text, bool ok)
{
    struct vg_memacct a;
    struct vg_jsonmem jm;
    size_t used, high;
    bool toobig;
    json_t *j;

    vg_membudget_open(&a, b);
    j = scoped_load(&jm, &a, VG_COLLECTOR_PARSE_MAX, text, &toobig);
    assert_false(toobig);
    assert_true((j != NULL) == ok);
    assert_int_equal(jm.forced, 0);
    json_decref(j);
    vg_jsonmem_end(&jm, 0);
    vg_membudget_close(&a);
    vg_membudget_usage(b, &used, &high);
    assert_int_equal(used, 0);
}

/*
 * Long strings and numbers, in valid texts and in texts that fail after them (a fuzzer's finding:
 * the lexer's buffer doubles past 8 and 16 KiB, each key and value copied, then the parse fails):
 * what the parse holds never passes its estimate, and all of it goes back to the account.
 */
static void
test_long_strings(void **state)
{
    static const size_t lens[] = {100, 2000, 2100, 4000, 7500, 8200, 8449, 16500, 40000};
    static const size_t nums[] = {5, 3000, 40000, 600000, 1100000};
    static const char *const forms[] = {
        "{\"k\":\"%s{\",\"%s\":[\"%s\"]}",   /* valid */
        "{\"k\":\"%s{\",\"%s\",\"%s\":[1]}", /* a key without its value */
        "[\"%s\",\"%s\",{\"%s\":1,\"%s\"]",  /* an object closed by ] */
    };
    size_t n = sizeof(lens) / sizeof(lens[0]);
    struct vg_membudget b;

    (void)state;
    vg_membudget_init(&b, 64 * 1024 * 1024);
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < n; k++) {
                char *x = malloc(lens[i] + 1), *y = malloc(lens[k] + 1), *text;
                size_t len = 3 * (lens[i] + lens[k]) + 64;

                assert_non_null(x);
                assert_non_null(y);
                memset(x, 'x', lens[i]);
                x[lens[i]] = '\0';
                memset(y, 'y', lens[k]);
                y[lens[k]] = '\0';
                text = malloc(len);
                assert_non_null(text);
                snprintf(text, len, forms[f], x, y, x, y);
                load_within(&b, text, f == 0);
                free(text);
                free(y);
                free(x);
            }
        }
    }
    /* a long number: the lexer keeps its text as a string's (then it is too big: an error) */
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        char *text = malloc(nums[i] + 3);

        assert_non_null(text);
        text[0] = '[';
        memset(text + 1, '7', nums[i]);
        memcpy(text + 1 + nums[i], "]", 2);
        load_within(&b, text, nums[i] < 20);
        free(text);
    }
    vg_membudget_cleanup(&b);
}

static void
test_scope_refusals(void **state)
{
    struct vg_membudget b;
    struct vg_memacct a, other;
    struct vg_jsonmem jm;
    char text[64 * 1024];
    bool toobig;
    json_t *j;

    (void)state;
    /* Over the JSON limits: refused unparsed. */
    vg_membudget_init(&b, 64 * 1024 * 1024);
    vg_membudget_open(&a, &b);
    memset(text, '[', 100);
    memset(text + 100, ']', 100);
    text[200] = '\0';
    j = scoped_load(&jm, &a, VG_COLLECTOR_PARSE_MAX, text, &toobig);
    assert_null(j);
    assert_true(toobig && vg_jsonmem_toobig(&jm));
    vg_jsonmem_end(&jm, 0);
    /* Over the scope's cap: its estimate is refused before parsing. */
    j = scoped_load(&jm, &a, 1024, "{\"a\":1}", &toobig);
    assert_null(j);
    assert_true(toobig && jm.over && vg_jsonmem_failed(&jm) && vg_jsonmem_toobig(&jm));
    vg_jsonmem_end(&jm, 0);
    assert_int_equal(a.held, 0);
    /* Another request holds the budget: refused (busy), nothing taken. */
    vg_membudget_open(&other, &b);
    assert_int_equal(vg_membudget_take(&other, 64 * 1024 * 1024 - 16 * 1024), 0);
    j = scoped_load(&jm, &a, VG_COLLECTOR_PARSE_MAX, "{\"a\":1}", &toobig);
    assert_null(j);
    assert_true(toobig && jm.refused == VG_MEMBUDGET_BUSY && !vg_jsonmem_toobig(&jm));
    vg_jsonmem_end(&jm, 0);
    assert_int_equal(a.held, 0);
    vg_membudget_close(&other);
    /* Within: a long string takes its own block, freed when jansson frees it. */
    text[0] = '"';
    memset(text + 1, 'x', sizeof(text) - 3);
    text[sizeof(text) - 2] = '"';
    text[sizeof(text) - 1] = '\0';
    vg_jsonmem_begin(&jm, &a, VG_COLLECTOR_PARSE_MAX);
    {
        json_error_t jerr;

        j = vg_jsonmem_load(text, strlen(text), JSON_DECODE_ANY, &jerr, &toobig);
    }
    assert_non_null(j);
    assert_int_equal(json_string_length(j), sizeof(text) - 3);
    assert_int_equal(jm.forced, 0);
    json_decref(j);
    vg_jsonmem_end(&jm, 0);
    assert_int_equal(a.held, 0);
    vg_membudget_cleanup(&b);
}

/* The fast reader's parse in a scope: its estimate charged until the scope ends, the limits,
 * the cap and the account as for jansson's; repeated names and \u0000 refused. */
static void
test_fast_parse(void **state)
{
    static const char text[] = "{\"a\":[{},{\"b\":\"xx\"}],\"c\":1.5}";
    struct vg_membudget b;
    struct vg_memacct a, other;
    struct vg_jsonmem jm;
    const struct vg_json *v;
    char err[256], deep[201];
    bool toobig;

    (void)state;
    vg_membudget_init(&b, 64 * 1024 * 1024);
    vg_membudget_open(&a, &b);
    vg_jsonmem_begin(&jm, &a, VG_COLLECTOR_PARSE_MAX);
    v = vg_jsonmem_parse(text, strlen(text), err, sizeof(err), &toobig);
    assert_non_null(v);
    assert_false(toobig);
    assert_true(jm.held > 0 && a.held == jm.held);
    assert_non_null(vg_json_get(v, "c"));
    vg_jsonmem_end(&jm, 0);
    assert_int_equal(a.held, 0);
    /* Repeated names, \u0000: refused, not too big. */
    vg_jsonmem_begin(&jm, &a, VG_COLLECTOR_PARSE_MAX);
    assert_null(vg_jsonmem_parse("{\"a\":1,\"a\":2}", 13, err, sizeof(err), &toobig));
    assert_false(toobig);
    assert_null(vg_jsonmem_parse("{\"a\":\"\\u0000\"}", 14, err, sizeof(err), &toobig));
    assert_false(toobig);
    vg_jsonmem_end(&jm, 0);
    /* Over the JSON limits, the cap, the account. */
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    vg_jsonmem_begin(&jm, &a, VG_COLLECTOR_PARSE_MAX);
    assert_null(vg_jsonmem_parse(deep, 200, err, sizeof(err), &toobig));
    assert_true(toobig && vg_jsonmem_toobig(&jm));
    vg_jsonmem_end(&jm, 0);
    vg_jsonmem_begin(&jm, &a, 1024);
    assert_null(vg_jsonmem_parse(text, strlen(text), err, sizeof(err), &toobig));
    assert_true(toobig && jm.over);
    vg_jsonmem_end(&jm, 0);
    vg_membudget_open(&other, &b);
    assert_int_equal(vg_membudget_take(&other, 64 * 1024 * 1024 - 16 * 1024), 0);
    vg_jsonmem_begin(&jm, &a, VG_COLLECTOR_PARSE_MAX);
    assert_null(vg_jsonmem_parse(text, strlen(text), err, sizeof(err), &toobig));
    assert_true(toobig && jm.refused == VG_MEMBUDGET_BUSY);
    vg_jsonmem_end(&jm, 0);
    assert_int_equal(a.held, 0);
    vg_membudget_close(&other);
    vg_membudget_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget),         cmocka_unit_test(test_grow),
        cmocka_unit_test(test_check),          cmocka_unit_test(test_scope),
        cmocka_unit_test(test_scope_refusals), cmocka_unit_test(test_fast_parse),
        cmocka_unit_test(test_long_strings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
