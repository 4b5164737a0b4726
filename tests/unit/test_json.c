/* SPDX-License-Identifier: MIT */
/*
 * test_json.c - the reader of JSON from elsewhere (lib/proto/json.h): types and accessors,
 * escapes, duplicate names (and vg_json_strict), bracket offsets, the nesting bound, strict UTF-8
 * and RFC 8259 grammar, errors with their offsets, the arena reused across parses, and every prefix
 * of a measurement refused without a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/limits.h"
#include "vgtest.h"

static struct vg_json_doc *doc;
static char err[256];

static int
setup(void **state)
{
    (void)state;
    doc = vg_json_doc_new();
    return doc == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    vg_json_doc_free(doc);
    return 0;
}

static const struct vg_json *
parse(const char *s)
{
    return vg_json_parse(doc, s, strlen(s), err, sizeof(err));
}

/* s is refused with a message that starts with want. */
static void
refused(const char *s, size_t len, const char *want)
{
    err[0] = '\0';
    if (vg_json_parse(doc, s, len, err, sizeof(err)) != NULL) {
        fail_msg("accepted: %.*s", (int)len, s);
    }
    if (strncmp(err, want, strlen(want)) != 0) {
        fail_msg("%.*s: \"%s\", want \"%s...\"", (int)len, s, err, want);
    }
}

static void
test_types(void **state)
{
    const struct vg_json *r, *v, *c;
    int64_t i;
    double x;
    bool b;

    (void)state;
    r = parse("{\"n\":null,\"t\":true,\"f\":false,\"i\":-42,\"d\":-1.5e3,\"s\":\"x\","
              "\"a\":[1,\"2\",[]],\"o\":{}}");
    assert_non_null(r);
    assert_int_equal(r->type, VG_JSON_OBJECT);
    assert_int_equal(r->len, 8);
    assert_null(r->key);
    assert_true(vg_json_is_null(vg_json_get(r, "n")));
    assert_false(vg_json_is_null(vg_json_get(r, "missing")));
    assert_null(vg_json_get(r, "missing"));
    assert_true(vg_json_bool(vg_json_get(r, "t"), &b) && b);
    assert_true(vg_json_bool(vg_json_get(r, "f"), &b) && !b);
    assert_false(vg_json_bool(vg_json_get(r, "n"), &b));
    v = vg_json_get(r, "i");
    assert_int_equal(v->type, VG_JSON_NUMBER);
    assert_string_equal(v->s, "-42");
    assert_int_equal(v->len, 3);
    assert_true(vg_json_int(v, &i));
    assert_int_equal(i, -42);
    assert_false(vg_json_int(vg_json_get(r, "d"), &i));
    assert_true(vg_json_num(vg_json_get(r, "d"), &x));
    assert_true(x == -1500.0);
    assert_string_equal(vg_json_get(r, "d")->s, "-1.5e3");
    assert_string_equal(vg_json_str(vg_json_get(r, "s")), "x");
    assert_null(vg_json_str(vg_json_get(r, "i")));
    assert_null(vg_json_str(NULL));
    v = vg_json_get(r, "a");
    assert_int_equal(v->type, VG_JSON_ARRAY);
    assert_int_equal(v->len, 3);
    c = vg_json_first(v);
    assert_null(c->key);
    assert_string_equal(c->s, "1");
    assert_string_equal(c->next->s, "2");
    assert_int_equal(c->next->type, VG_JSON_STRING);
    assert_int_equal(c->next->next->type, VG_JSON_ARRAY);
    assert_null(c->next->next->child);
    assert_null(c->next->next->next);
    assert_null(vg_json_get(v, "0")); /* not an object */
    v = vg_json_get(r, "o");
    assert_int_equal(v->type, VG_JSON_OBJECT);
    assert_int_equal(v->len, 0);
    assert_null(vg_json_first(v));
    /* members in document order, with their names */
    c = vg_json_first(r);
    assert_string_equal(c->key, "n");
    assert_int_equal(c->key_len, 1);
    for (i = 1; c->next != NULL; c = c->next) {
        i++;
    }
    assert_int_equal(i, 8);
    assert_string_equal(c->key, "o");

    /* any value at the top */
    assert_int_equal(parse("\"top\"")->type, VG_JSON_STRING);
    assert_int_equal(parse(" 12 ")->type, VG_JSON_NUMBER);
    assert_string_equal(parse("12")->s, "12");
    assert_true(vg_json_is_null(parse("null")));
    assert_int_equal(parse("\t\r\n[]\n")->type, VG_JSON_ARRAY);
}

static void
test_numbers(void **state)
{
    int64_t i;
    double x;

    (void)state;
    assert_true(vg_json_int(parse("9223372036854775807"), &i));
    assert_true(i == INT64_MAX);
    assert_true(vg_json_int(parse("-9223372036854775808"), &i));
    assert_true(i == INT64_MIN);
    assert_false(vg_json_int(parse("9223372036854775808"), &i));
    assert_false(vg_json_int(parse("-9223372036854775809"), &i));
    assert_false(vg_json_int(parse("1.0"), &i));
    assert_false(vg_json_int(parse("1e3"), &i));
    assert_false(vg_json_int(parse("1E3"), &i));
    assert_true(vg_json_int(parse("-0"), &i));
    assert_int_equal(i, 0);
    assert_false(vg_json_int(parse("\"1\""), &i));
    assert_false(vg_json_int(NULL, &i));
    /* a number out of int64_t's range is still a number */
    assert_true(vg_json_num(parse("123456789012345678901234567890"), &x));
    assert_true(x > 1.2e29 && x < 1.3e29);
    assert_true(vg_json_num(parse("1e-400"), &x)); /* underflows to 0 */
    assert_false(vg_json_num(parse("1e400"), &x)); /* past double's range */
    assert_false(vg_json_num(parse("true"), &x));
    for (const char *const *bad =
             (const char *const[]){"01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN",
                                   "Infinity", "-Infinity", "1.5.2", "--1", NULL};
         *bad != NULL; bad++) {
        refused(*bad, strlen(*bad), "invalid JSON at byte ");
    }
}

static void
test_escapes(void **state)
{
    static const char want[] = "\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                               "\0x";
    const struct vg_json *v;

    (void)state;
    v = parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\\u0000x\"");
    assert_non_null(v);
    assert_int_equal(v->len, sizeof(want) - 1);
    assert_memory_equal(v->s, want, sizeof(want)); /* NUL-terminated too */
    /* escapes in names, and names with a NUL are not their prefix */
    v = parse("{\"a\\u0000b\":1,\"\\u00e9\":2,\"a\":3, \"q\\\"\" : 4}");
    assert_non_null(v);
    assert_int_equal(vg_json_first(v)->key_len, 3);
    assert_memory_equal(vg_json_first(v)->key, "a\0b", 4);
    assert_string_equal(vg_json_get(v, "a")->s, "3");
    assert_string_equal(vg_json_get(v, "\xc3\xa9")->s, "2");
    assert_string_equal(vg_json_get(v, "q\"")->s, "4");
    /* strings around escaped ones are found in the input */
    v = parse("[\"a\\\"\", \"\\\\\", \"\", \"\\\\\\\"\",\"\\u0041\"]");
    assert_non_null(v);
    assert_string_equal(vg_json_first(v)->s, "a\"");
    assert_string_equal(vg_json_first(v)->next->s, "\\");
    assert_string_equal(vg_json_first(v)->next->next->s, "");
    assert_string_equal(vg_json_first(v)->next->next->next->s, "\\\"");
    assert_string_equal(vg_json_first(v)->next->next->next->next->s, "A");
    /* unpaired surrogates are refused, as jansson does (yajl would give '?' or CESU-8) */
    refused("\"\\ud800\"", 8, "invalid JSON at byte 0: unpaired UTF-16 surrogate");
    refused("[\"\\udc00\"]", 10, "invalid JSON at byte 1: unpaired");
    refused("\"\\ud800\\u0041\"", 14, "invalid JSON at byte 0: unpaired");
    refused("\"\\ud800\\ud800\"", 14, "invalid JSON at byte 0: unpaired");
    refused("\"\\ud800x\"", 9, "invalid JSON at byte 0: unpaired");
    refused("{\"\\udfff\":1}", 12, "invalid JSON at byte 1: unpaired");
    /* yajl's own escape checks */
    refused("\"\\x\"", 4, "invalid JSON at byte ");
    refused("\"\\u12g4\"", 8, "invalid JSON at byte ");
    refused("\"\\u12\"", 6, "invalid JSON at byte ");
    refused("\"a\x01\"", 4, "invalid JSON at byte ");
    refused("\"a\tb\"", 5, "invalid JSON at byte ");
    refused("'a'", 3, "invalid JSON at byte 1: invalid char");
    assert_non_null(parse("\"\x7f\""));
}

static void
test_duplicates(void **state)
{
    const struct vg_json *r;

    (void)state;
    r = parse("{\"k\":1,\"x\":true,\"k\":2,\"k\":{\"k\":3}}");
    assert_non_null(r);
    assert_int_equal(r->len, 4);                                 /* every member kept, in order */
    assert_int_equal(vg_json_get(r, "k")->type, VG_JSON_OBJECT); /* the last one */
    assert_string_equal(vg_json_get(vg_json_get(r, "k"), "k")->s, "3");
    assert_string_equal(vg_json_first(r)->s, "1");
    /* vg_json_strict refuses them anywhere, and NUL bytes in strings and names */
    assert_false(vg_json_strict(r));
    assert_true(vg_json_strict(NULL));
    assert_true(vg_json_strict(parse("{\"k\":[{\"a\":1,\"b\":\"x\"},{\"a\":2}],\"K\":null}")));
    assert_false(vg_json_strict(parse("{\"k\":[1,{\"x\":{\"a\":1,\"a\":1}}]}")));
    assert_false(vg_json_strict(parse("{\"k\":\"a\\u0000b\"}")));
    assert_false(vg_json_strict(parse("[{\"a\\u0000\":1}]")));
    assert_false(vg_json_strict(parse("{\"a\":1,\"a\\u0000\":1}")));
    /* larger objects: hashed (17 to 256 members), sorted (more), not compared pair by pair */
    static const int members[] = {17, 200, 256, 257, 400};

    for (size_t t = 0; t < sizeof(members) / sizeof(members[0]); t++) {
        char big[8192];
        size_t n = 0;
        int m = members[t];

        for (int i = 0; i < m; i++) {
            n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%d\":%d", i ? "," : "{", i, i);
        }
        snprintf(big + n, sizeof(big) - n, "}");
        assert_true(vg_json_strict(parse(big)));
        snprintf(big + n, sizeof(big) - n, ",\"k%d\":0}", m / 2);
        assert_false(vg_json_strict(parse(big)));
        snprintf(big + n, sizeof(big) - n, ",\"k%d\":0}", m);
        assert_true(vg_json_strict(parse(big)));
    }
}

/* Every array and object under v: start at its bracket, end just past the matching one, and its
 * children inside; *n counts them. */
static void
check_offsets(const struct vg_json *v, const char *text, size_t *n)
{
    const struct vg_json *c;

    if (v->type != VG_JSON_ARRAY && v->type != VG_JSON_OBJECT) {
        assert_int_equal(v->start, 0);
        assert_int_equal(v->end, 0);
        return;
    }
    (*n)++;
    assert_int_equal(text[v->start], v->type == VG_JSON_ARRAY ? '[' : '{');
    assert_int_equal(text[v->end - 1], v->type == VG_JSON_ARRAY ? ']' : '}');
    for (c = vg_json_first(v); c != NULL; c = c->next) {
        check_offsets(c, text, n);
        if (c->end != 0) {
            assert_true(c->start > v->start && c->end < v->end);
        }
    }
}

static void
test_offsets(void **state)
{
    static const char *const texts[] = {
        "{}",
        " [ ] ",
        "\n\t{ \"a\" : [ 1 , { } , [ [ ] ] ] , \"b\" : { \"c\" : [ \"]\" , \"}\" ] } }\r\n",
        "[[[[{\"x\":[{}]}]]],{\"y\":{\"z\":[1,2.5e3,null,\"\\\"]\"]}}]",
        "{\"s\":\"\\u007d\",\"o\":{\"p\":\"}\"}  }",
        "[1,2,3]",
        "[  [1]  ,[-2.0]\t]  ",
    };
    const struct vg_json *r, *a;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        r = parse(texts[i]);
        assert_non_null(r);
        n = 0;
        check_offsets(r, texts[i], &n);
        assert_true(n > 0);
    }
    r = parse(texts[2]);
    assert_int_equal(r->start, 2);
    assert_int_equal(r->end, strlen(texts[2]) - 2);
    a = vg_json_get(r, "a");
    assert_int_equal(a->start, 10);
    assert_int_equal(a->end, 31);
    assert_int_equal(vg_json_first(a)->next->start, 16);
    assert_int_equal(vg_json_first(a)->next->end, 19);
    /* the text between start and end is the value, as given */
    a = vg_json_get(r, "b");
    assert_int_equal(a->end - a->start, strlen("{ \"c\" : [ \"]\" , \"}\" ] }"));
    assert_memory_equal(texts[2] + a->start, "{ \"c\" : [ \"]\" , \"}\" ] }", a->end - a->start);
    /* a scalar has no offsets */
    r = parse("  \"s\"  ");
    assert_int_equal(r->start, 0);
    assert_int_equal(r->end, 0);
}

static void
test_depth(void **state)
{
    char text[2 * (VG_JSON_DEPTH_MAX + 1) + 1];
    const struct vg_json *v;
    size_t n;

    (void)state;
    memset(text, '[', VG_JSON_DEPTH_MAX);
    memset(text + VG_JSON_DEPTH_MAX, ']', VG_JSON_DEPTH_MAX);
    v = vg_json_parse(doc, text, 2 * VG_JSON_DEPTH_MAX, err, sizeof(err));
    assert_non_null(v);
    for (n = 1; vg_json_first(v) != NULL; n++) {
        v = vg_json_first(v);
    }
    assert_int_equal(n, VG_JSON_DEPTH_MAX);
    memset(text, '[', VG_JSON_DEPTH_MAX + 1);
    memset(text + VG_JSON_DEPTH_MAX + 1, ']', VG_JSON_DEPTH_MAX + 1);
    refused(text, 2 * (VG_JSON_DEPTH_MAX + 1), "nesting deeper than 64 at byte 64");
    /* objects count too; a bound, not a stack overflow, for a deep text */
    {
        size_t big = 1000000;
        char *deep = malloc(big);

        assert_non_null(deep);
        for (size_t i = 0; i < big; i += 5) {
            memcpy(deep + i, "{\"a\":", 5);
        }
        refused(deep, big, "nesting deeper than 64 at byte 320");
        memset(deep, '[', big);
        refused(deep, big, "nesting deeper than 64 at byte 64");
        free(deep);
    }
}

static void
test_utf8(void **state)
{
    static const char *const bad[] = {
        "\"\x80\"",                  /* continuation alone */
        "\"\xc0\x80\"",              /* overlong NUL */
        "\"\xc1\xbf\"",              /* overlong */
        "\"\xe0\x80\xaf\"",          /* overlong '/' */
        "\"\xe0\x9f\xbf\"",          /* overlong */
        "\"\xed\xa0\x80\"",          /* surrogate D800 */
        "\"\xed\xbf\xbf\"",          /* surrogate DFFF */
        "\"\xf0\x8f\xbf\xbf\"",      /* overlong */
        "\"\xf4\x90\x80\x80\"",      /* past U+10FFFF */
        "\"\xf5\x80\x80\x80\"",      /* past U+10FFFF */
        "\"\xff\"",                  /* never in UTF-8 */
        "\"\xc3\"",                  /* cut short */
        "\"\xe2\x82\"",              /* cut short */
        "\"abcdefgh\xc3(ijklmnop\"", /* not a continuation, after an ASCII run */
        "{\"\xc3\x28\":1}",          /* in a name */
        "\"\\n\xc3\"",               /* beside an escape */
        "\"\xc3\\u00a9\"",           /* a lead byte then an escape */
    };
    static const char *const good[] = {
        "\"\xc2\x80\xdf\xbf\"",
        "\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"", /* U+0800, D7FF, E000, FFFF */
        "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"",                 /* U+10000, U+10FFFF */
        "\"\xef\xbf\xbe\"", /* U+FFFE: a noncharacter is UTF-8 */
        "{\"\xc3\xa9t\xc3\xa9\":\"caf\xc3\xa9\\n\"}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        refused(bad[i], strlen(bad[i]), "invalid JSON at byte ");
        assert_non_null(strstr(err, "UTF-8"));
    }
    refused("[\"ok\", \"\xc3\xa9\xff\"]", 13, "invalid JSON at byte 10: invalid UTF-8");
    refused("\"\xc3\"", 3, "invalid JSON at byte 1: invalid UTF-8");
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (parse(good[i]) == NULL) {
            fail_msg("%s: %s", good[i], err);
        }
    }
    /* raw bytes outside strings */
    refused("[\xc3\xa9]", 4, "invalid JSON at byte ");
}

static void
test_grammar(void **state)
{
    static const char *const bad[] = {
        "{} x",    "{}{}",      "1 2",
        "[] []",   "[1,]",      "{\"a\":1,}",
        "{\"a\"}", "{\"a\":}",  "{1:2}",
        "[1 2]",   "{\"a\" 1}", "/* c */ 1",
        "1 // c",  "[1]/",      "tru",
        "nul",     "True",      "[",
        "]",       "{",         "}",
        ",",       ":",         "\"a",
        "[\"a\",", "{\"a\":1",  "\xef\xbb\xbf{}", /* BOM */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        refused(bad[i], strlen(bad[i]), "invalid JSON at byte ");
    }
    /* \v and \f are no JSON whitespace (yajl skips them) */
    refused("{}\v", 3, "invalid JSON at byte 2: invalid character");
    refused("\f{}", 3, "invalid JSON at byte 0: invalid character");
    refused("[1,\v2]", 6, "invalid JSON at byte 3: invalid character");
    refused("[1,\f\v2]", 7, "invalid JSON at byte 3: invalid character");
    refused("[1,x\v2]", 7, "invalid JSON at byte 4: invalid char");
    refused("\"\v\"", 3, "invalid JSON at byte 1: invalid character");
    refused("{}\0", 3, "invalid JSON at byte 3: trailing garbage");
    refused("{\"a\":1} x", 9, "invalid JSON at byte 9: trailing garbage");
    /* a token cut short after the value: yajl alone takes it for the end of the text */
    refused("9\"a ", 4, "invalid JSON at byte 1: trailing garbage");
    refused("{} \"a", 5, "invalid JSON at byte 3: trailing garbage");
    refused("[1] tru", 7, "invalid JSON at byte 7");
    refused("\"x\" \"", 5, "invalid JSON at byte 4: trailing garbage");
    refused("null 1", 6, "invalid JSON at byte 6: trailing garbage");
    refused("-1.5 \"\\u", 9, "invalid JSON at byte 8");
    refused("{\"a\":1", 6, "invalid JSON at byte 6: premature EOF");
    /* empty input */
    refused("", 0, "invalid JSON at byte 0: premature EOF");
    refused("  \n ", 4, "invalid JSON at byte 4: premature EOF");
    refused(NULL, 0, "invalid JSON at byte 0");
    /* a NULL err is allowed */
    assert_null(vg_json_parse(doc, "[", 1, NULL, 0));
    assert_non_null(vg_json_parse(doc, "[]", 2, NULL, 0));
}

/* A web_connectivity measurement as OONI publishes it (cut down). */
static const char sample[] =
    "{\"annotations\":{\"architecture\":\"arm64\",\"engine_name\":\"ooniprobe-engine\"},"
    "\"data_format_version\":\"0.2.0\",\"input\":\"https://www.example.org/\",\"measurement_start_"
    "time\":\"2024-01-02 03:04:05\",\"probe_asn\":\"AS30722\",\"probe_cc\":\"IT\",\"test_keys\":{"
    "\"agent\":\"redirect\",\"queries\":[{\"answers\":[{\"answer_type\":\"A\",\"ipv4\":\"93.184."
    "216.34\",\"ttl\":null,\"asn\":15133}],\"failure\":null,\"hostname\":\"www.example.org\","
    "\"query_type\":\"A\",\"t\":0.0123}],\"requests\":[{\"request\":{\"headers_list\":[[\"Host\","
    "\"www.example.org\"]],\"method\":\"GET\"},\"response\":{\"body\":\"<!doctype html>\\n<html>"
    "\\u003ctitle\\u003eExample Domain\\u003c/title\\u003e \\\"q\\\" caf\xc3\xa9\",\"code\":200,"
    "\"headers\":{\"Content-Type\":\"text/html\"}},\"failure\":null}],\"tcp_connect\":[{\"ip\":"
    "\"93.184.216.34\",\"port\":443,\"status\":{\"blocked\":false,\"failure\":null,\"success\":"
    "true}}],\"blocking\":false,\"accessible\":true,\"body_proportion\":1.0,\"x\":-1.25e-3,\"e\":"
    "[]},\"test_name\":\"web_connectivity\",\"test_runtime\":1.5}\n";

static void
test_prefixes(void **state)
{
    size_t len = strlen(sample), n = 0;
    const struct vg_json *r;
    char *copy;

    (void)state;
    r = parse(sample);
    assert_non_null(r);
    check_offsets(r, sample, &n);
    assert_int_equal(n, 18);
    assert_string_equal(vg_json_get(vg_json_get(r, "test_keys"), "agent")->s, "redirect");
    assert_string_equal(
        vg_json_first(vg_json_get(vg_json_get(r, "test_keys"), "requests"))->child->next->child->s,
        "<!doctype html>\n<html><title>Example Domain</title> \"q\" caf\xc3\xa9");
    /* every prefix refused, each copied to its own allocation (reads past it show under ASan) */
    for (size_t i = 0; i < len - 1; i++) {
        copy = malloc(i + 1);
        assert_non_null(copy);
        memcpy(copy, sample, i);
        err[0] = '\0';
        assert_null(vg_json_parse(doc, i > 0 ? copy : NULL, i, err, sizeof(err)));
        assert_true(strncmp(err, "invalid JSON at byte ", 21) == 0);
        free(copy);
    }
    /* and every byte flipped: never a crash */
    copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        static const char flips[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '\0', '\x80', 'u'};

        for (size_t f = 0; f < sizeof(flips); f++) {
            memcpy(copy, sample, len);
            copy[i] = flips[f];
            r = vg_json_parse(doc, copy, len, err, sizeof(err));
            if (r == NULL) {
                assert_true(err[0] != '\0');
            } else {
                n = 0;
                check_offsets(r, copy, &n);
            }
        }
    }
    free(copy);
}

static void
test_reuse(void **state)
{
    size_t mem, big = 3 * 1024 * 1024;
    char *text;

    (void)state;
    assert_int_equal(vg_json_doc_memory(doc), 0);
    assert_non_null(parse(sample));
    mem = vg_json_doc_memory(doc);
    assert_true(mem > 0);
    for (int i = 0; i < 20000; i++) {
        assert_non_null(parse(sample));
        assert_null(parse("{\"a\":[1,2,"));
    }
    assert_int_equal(vg_json_doc_memory(doc), mem); /* flat: nothing allocated per parse */
    /* a string larger than any block, then small documents: the arena grows once, then is flat */
    text = malloc(big + 3);
    assert_non_null(text);
    text[0] = '"';
    memset(text + 1, 'a', big);
    text[big + 1] = '"';
    assert_non_null(vg_json_parse(doc, text, big + 2, err, sizeof(err)));
    assert_int_equal(vg_json_parse(doc, text, big + 2, err, sizeof(err))->len, big);
    mem = vg_json_doc_memory(doc);
    assert_true(mem >= big);
    for (int i = 0; i < 1000; i++) {
        assert_non_null(parse(sample));
        assert_non_null(vg_json_parse(doc, text, big + 2, err, sizeof(err)));
    }
    assert_int_equal(vg_json_doc_memory(doc), mem);
    free(text);
    /* trees of two documents do not mix: the first's is replaced */
    assert_string_equal(parse("{\"a\":\"b\"}")->child->s, "b");
    assert_string_equal(parse("{\"a\":\"c\"}")->child->s, "c");
    vg_json_doc_free(NULL);
    assert_int_equal(vg_json_doc_memory(NULL), 0);
}

/* Strings that do not fit in the free room of the arena's block: read again into a block of
 * their own size, with the same bytes, whatever kind of character the room ends on. */
static void
test_blocks(void **state)
{
    static const char item[] = "\"\\u00e9\\n\xc3\xa9\\ud83d\\ude00\\\"";
    static const char want[] = "\xc3\xa9\n\xc3\xa9\xf0\x9f\x98\x80\"";
    size_t n = 20000, ilen = sizeof(item) - 1, wlen = sizeof(want) - 1, len = 0, i;
    const struct vg_json *r, *c;
    char *text = malloc(n * (ilen + 310) + 16);

    (void)state;
    assert_non_null(text);
    text[len++] = '[';
    for (size_t k = 0; k < n; k++) {
        memcpy(text + len, item, ilen); /* then k * 37 % 301 bytes of padding */
        len += ilen;
        memset(text + len, 'q', k * 37 % 301);
        len += k * 37 % 301;
        memcpy(text + len, "\xe2\x82\xac\",", 5);
        len += 5;
    }
    text[len - 1] = ']';
    for (int round = 0; round < 2; round++) {
        r = vg_json_parse(doc, text, len, err, sizeof(err));
        if (r == NULL) {
            fail_msg("%s", err);
        }
        i = 0;
        for (c = vg_json_first(r); c != NULL; c = c->next, i++) {
            assert_int_equal(c->len, wlen + i * 37 % 301 + 3);
            assert_memory_equal(c->s, want, wlen);
            assert_int_equal(strspn(c->s + wlen, "q"), i * 37 % 301);
            assert_string_equal(c->s + c->len - 3, "\xe2\x82\xac");
            assert_int_equal(c->s[c->len], '\0');
        }
        assert_int_equal(i, n);
    }
    free(text);
}

/* A string that the free room of the block ends inside of, at each of its bytes: before a quote,
 * a raw UTF-8 sequence, a \u escape, a surrogate pair, a short escape, ASCII. The first block is
 * 64 KiB and holds the array's node and a filler string before it, whose length sets the room
 * left (72-byte nodes, 8-byte rounding); the test string's 0-7 leading 'q' shift it within 8. */
static void
test_room(void **state)
{
    static const char tail[] = "a\\u00e9b\xe2\x82\xac\\nc\\ud83d\\ude00\\\"d\xc3\xa9";
    static const char want[] = "a\xc3\xa9"
                               "b\xe2\x82\xac\nc\xf0\x9f\x98\x80\"d\xc3\xa9";
    size_t node = sizeof(struct vg_json), first = 64 * 1024, checked = 0;
    char *text = malloc(first + 128), *got;

    (void)state;
    assert_non_null(text);
    assert_non_null(parse("[\"x\"]")); /* the arena's first block exists from now on */
    assert_int_equal(vg_json_doc_memory(doc), first);
    for (size_t shift = 0; shift < 8; shift++) {
        for (size_t room = node + 8; room <= node + 64; room += 8) {
            /* first - node (array) - round8(node + filler + 1) = room */
            size_t filler = first - node - room - node - 1, len = 0;
            const struct vg_json *r, *v;

            text[len++] = '[';
            text[len++] = '"';
            memset(text + len, 'f', filler);
            len += filler;
            memcpy(text + len, "\",\"", 3);
            len += 3;
            memset(text + len, 'q', shift);
            len += shift;
            memcpy(text + len, tail, sizeof(tail) - 1);
            len += sizeof(tail) - 1;
            memcpy(text + len, "\"]", 2);
            len += 2;
            r = vg_json_parse(doc, text, len, err, sizeof(err));
            if (r == NULL) {
                fail_msg("%s", err);
            }
            v = vg_json_first(r)->next;
            assert_int_equal(vg_json_first(r)->len, filler);
            assert_int_equal(v->len, shift + sizeof(want) - 1);
            got = (char *)v->s;
            assert_int_equal(strspn(got, "q"), shift);
            assert_string_equal(got + shift, want);
            checked++;
        }
    }
    assert_int_equal(checked, 64);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grammar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
