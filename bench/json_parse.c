/* SPDX-License-Identifier: MIT */
/*
 * json_parse.c FILE - vigie's JSON reader alone (lib/proto/json.c: yajl into a tree in a reused
 * arena) over every line of a JSON Lines file, read in 1 MiB blocks as `vigie analyze` does:
 * the parse's share of the analysis in `make bench` (section 6, bench/README.md). Compiled by
 * bench/analyze.py: cc -O2 -Ilib bench/json_parse.c lib/proto/json.c -lyajl -lm. Prints the
 * lines and the values parsed; exits 1 on a line that does not parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"

#define VG__BENCHJ_BLOCK (1024 * 1024)

/* Values in the tree under v, v included. */
static size_t
vg__benchj_count(const struct vg_json *v)
{
    size_t n = 1;

    for (const struct vg_json *c = vg_json_first(v); c != NULL; c = c->next) {
        n += vg__benchj_count(c);
    }
    return n;
}

int
main(int argc, char **argv)
{
    struct vg_json_doc *doc = vg_json_doc_new();
    size_t cap = 4 * VG__BENCHJ_BLOCK, have = 0, lines = 0, values = 0;
    char *buf = malloc(cap), err[256];
    FILE *f;

    if (argc != 2 || doc == NULL || buf == NULL || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: json_parse FILE\n");
        return 2;
    }
    for (;;) {
        size_t got, off = 0;
        char *nl;

        if (cap - have < VG__BENCHJ_BLOCK) { /* a line longer than the buffer: grow it */
            char *nb = realloc(buf, cap * 2);

            if (nb == NULL) {
                fprintf(stderr, "json_parse: out of memory\n");
                return 1;
            }
            buf = nb;
            cap *= 2;
        }
        got = fread(buf + have, 1, VG__BENCHJ_BLOCK, f);
        have += got;
        while ((nl = memchr(buf + off, '\n', have - off)) != NULL || (got == 0 && off < have)) {
            size_t len = nl != NULL ? (size_t)(nl - (buf + off)) : have - off;
            const struct vg_json *root = vg_json_parse(doc, buf + off, len, err, sizeof(err));

            lines++;
            if (root == NULL) {
                fprintf(stderr, "json_parse: line %zu: %s\n", lines, err);
                return 1;
            }
            values += vg__benchj_count(root);
            off += len + (nl != NULL);
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (got == 0) {
            break;
        }
    }
    printf("%zu lines, %zu values\n", lines, values);
    fclose(f);
    free(buf);
    vg_json_doc_free(doc);
    return 0;
}
