/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jsonmem.c - the collector's check of JSON before it is parsed (server/jsonmem.c): the
 * scan never reads past the text, and what it finds bounds what jansson builds: no more values
 * (object keys included) than it counted, no deeper nesting than the limit, and a parse inside a
 * scope never takes more than vg_jsonmem_estimate (its reservation). The tree is then written
 * back with vg_jsonmem_dumps, which must give json_dumps's text.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmem.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Values and keys of j; its nesting depth in *depth. */
static size_t
count(json_t *j, unsigned level, unsigned *depth)
{
    const char *key;
    json_t *v;
    size_t i, n = 1;

    if (json_is_object(j) || json_is_array(j)) {
        level++;
        *depth = level > *depth ? level : *depth;
    }
    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            n += 1 + count(v, level, depth);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            n += count(v, level, depth);
        }
    }
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct vg_jsonmem_shape shape;
    struct vg_jsonmem jm;
    json_error_t jerr;
    char err[160], *out, *ref;
    unsigned depth = 0;
    size_t len;
    bool toobig;
    json_t *j;

    /* limits the fuzzer reaches (a real measurement is ~500 values, 7 deep) */
    if (vg_jsonmem_check(text, size, 2000, 16, &shape, err, sizeof(err)) < 0) {
        if (err[0] == '\0') {
            abort();
        }
        return 0;
    }
    if (shape.longest > size) {
        abort();
    }
    j = json_loadb(text, size, 0, NULL);
    if (j != NULL && (count(j, 0, &depth) > shape.values || depth > 16)) {
        abort(); /* the check let through more than it counted */
    }
    ref = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    /* The same text in a scope: within its estimate, and written back as jansson would. */
    vg_jsonmem_begin(&jm, NULL, SIZE_MAX);
    j = vg_jsonmem_load(text, size, 0, &jerr, &toobig);
    if (jm.forced != 0 || (j == NULL) != (ref == NULL) || (j == NULL && jerr.text[0] == '\0')) {
        abort();
    }
    if (j != NULL) {
        if (vg_jsonmem_dumps(j, SIZE_MAX / 4, &out, &len) != 0 || strlen(ref) != len ||
            strcmp(ref, out) != 0) {
            abort();
        }
        free(out);
        json_decref(j);
    }
    vg_jsonmem_end(&jm, 0);
    free(ref);
    return 0;
}
