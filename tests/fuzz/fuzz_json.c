/* SPDX-License-Identifier: MIT */
/*
 * fuzz_json.c - the reader of JSON from elsewhere (lib/proto/json.c, on yajl) against jansson's
 * parser (json_loadb, JSON_DECODE_ANY | JSON_ALLOW_NUL: any value at the top, \u0000 in strings;
 * jansson is strict RFC 8259 otherwise: UTF-8 without overlong forms or surrogates, unpaired \u
 * surrogates refused, four whitespace bytes, nothing after the value). Both accept or both refuse
 * the input, and what both accept is the same tree: types, numbers, strings byte for byte,
 * members by name (the last of a repeated name, as jansson keeps it), array elements in order.
 * Every array and object's offsets frame its brackets in the input. One document is reused for
 * every input, as `vigie analyze` does for the lines of a file.
 *
 * Known differences, skipped:
 *   - numbers: jansson refuses integers past long long and reals past double ("too big integer",
 *     "real number overflow"); RFC 8259 sets no bound, and vigie keeps the text
 *     (vg_json_int/vg_json_num then say false);
 *   - a name with \u0000: jansson refuses it ("NUL byte in object key not supported"), vigie keeps
 *     the name with its length;
 *   - nesting: vigie stops at VG_JSON_DEPTH_MAX (64), jansson at 2048;
 *   - a NUL byte: never valid in a JSON text, but jansson skips one that follows a number
 *     (`[0.1\0]`: its lexer's unget of a NUL reads the next byte instead).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_json_doc *doc;

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz_json: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Nesting of arrays and objects in j. */
static unsigned
depth_of(json_t *j)
{
    unsigned d = 0, c;
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            d = (c = depth_of(v)) > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            d = (c = depth_of(v)) > d ? c : d;
        }
        return d + 1;
    }
    return 0;
}

/* v's brackets in the input, and its children's within them. */
static void
check_offsets(const struct vg_json *v, const uint8_t *data, size_t size)
{
    const struct vg_json *c;
    size_t n = 0;

    if (v->type != VG_JSON_ARRAY && v->type != VG_JSON_OBJECT) {
        CHECK(v->start == 0 && v->end == 0 && v->child == NULL);
        CHECK((v->type == VG_JSON_STRING || v->type == VG_JSON_NUMBER) == (v->s != NULL));
        CHECK(v->s == NULL || v->s[v->len] == '\0');
        return;
    }
    CHECK(v->start < v->end && v->end <= size);
    CHECK(data[v->start] == (v->type == VG_JSON_ARRAY ? '[' : '{'));
    CHECK(data[v->end - 1] == (v->type == VG_JSON_ARRAY ? ']' : '}'));
    for (c = vg_json_first(v); c != NULL; c = c->next) {
        CHECK((c->key != NULL) == (v->type == VG_JSON_OBJECT));
        CHECK(c->key == NULL || c->key[c->key_len] == '\0');
        if (c->end != 0) {
            CHECK(c->start > v->start && c->end < v->end);
        }
        check_offsets(c, data, size);
        n++;
    }
    CHECK(n == v->len);
}

/* Distinct names among o's members. */
static size_t
distinct_keys(const struct vg_json *o)
{
    size_t n = 0;

    for (const struct vg_json *c = vg_json_first(o); c != NULL; c = c->next) {
        const struct vg_json *d = c->next;

        while (d != NULL && (d->key_len != c->key_len || memcmp(d->key, c->key, c->key_len) != 0)) {
            d = d->next;
        }
        n += d == NULL; /* count a name at its last occurrence */
    }
    return n;
}

static void
same(const struct vg_json *v, json_t *j)
{
    const char *key;
    json_t *m;
    int64_t i;
    double x;
    bool b;
    size_t k;

    switch (json_typeof(j)) {
    case JSON_NULL:
        CHECK(vg_json_is_null(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        CHECK(vg_json_bool(v, &b) && b == json_is_true(j));
        break;
    case JSON_INTEGER:
        CHECK(vg_json_int(v, &i) && i == json_integer_value(j));
        break;
    case JSON_REAL:
        CHECK(v->type == VG_JSON_NUMBER && !vg_json_int(v, &i));
        CHECK(vg_json_num(v, &x) && memcmp(&x, &(double){json_real_value(j)}, sizeof(x)) == 0);
        break;
    case JSON_STRING:
        CHECK(v->type == VG_JSON_STRING && v->len == json_string_length(j));
        CHECK(memcmp(v->s, json_string_value(j), v->len) == 0);
        break;
    case JSON_ARRAY:
        CHECK(v->type == VG_JSON_ARRAY && v->len == json_array_size(j));
        k = 0;
        for (const struct vg_json *c = vg_json_first(v); c != NULL; c = c->next) {
            same(c, json_array_get(j, k++));
        }
        break;
    case JSON_OBJECT:
        CHECK(v->type == VG_JSON_OBJECT && distinct_keys(v) == json_object_size(j));
        json_object_foreach(j, key, m)
        {
            const struct vg_json *c = vg_json_get(v, key);

            CHECK(c != NULL);
            same(c, m);
        }
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct vg_json *v;
    json_error_t jerr;
    char err[256];
    json_t *j;

    if (doc == NULL && (doc = vg_json_doc_new()) == NULL) {
        abort();
    }
    err[0] = '\0';
    v = vg_json_parse(doc, (const char *)data, size, err, sizeof(err));
    CHECK(v != NULL || err[0] != '\0');
    CHECK(vg_json_doc_memory(doc) <= 2 * (size_t)VG_JSON_ARENA_MAX);
    if (v != NULL) {
        check_offsets(v, data, size);
    }
    j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL) {
        enum json_error_code code = json_error_code(&jerr);

        if (code != json_error_numeric_overflow && code != json_error_null_byte_in_key) {
            if (v != NULL) {
                fprintf(stderr, "fuzz_json: vigie accepts what jansson refuses: %s\n", jerr.text);
            }
            CHECK(v == NULL);
        }
        return 0;
    }
    if (v == NULL) {
        if (strncmp(err, "nesting deeper than", 19) == 0) {
            CHECK(depth_of(j) > VG_JSON_DEPTH_MAX);
        } else if (memchr(data, '\0', size) == NULL) {
            fprintf(stderr, "fuzz_json: vigie refuses what jansson accepts: %s\n", err);
            CHECK(v != NULL);
        }
    } else {
        CHECK(depth_of(j) <= VG_JSON_DEPTH_MAX);
        same(v, j);
    }
    json_decref(j);
    return 0;
}
