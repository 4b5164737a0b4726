/* SPDX-License-Identifier: MIT */
/*
 * input.h - the probe's input lists: one URL per line with # comments, or a Citizen Lab test-list
 * CSV (header url,category_code,category_description,date_added,source,notes; RFC 4180 quoting).
 * Line-at-a-time, no I/O: the caller reads lines and feeds them.
 */
#ifndef VG_PROTO_INPUT_H
#define VG_PROTO_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct vg_input_parser {
    size_t lineno;     /* number of the line last fed, from 1 */
    bool started;      /* a first non-blank, non-comment line was seen */
    bool csv;          /* the first such line was a CSV header with a "url" column */
    int url_col;       /* index of the url column in CSV mode */
    int category_col;  /* index of the category_code column in CSV mode, -1 if none */
    char category[64]; /* category_code of the last CSV row ("" if none) */
    const char *why;   /* after an error: what is wrong with the line (static text), or NULL */
    size_t col;        /* ... and the byte of the line where, from 1 (0: the line as a whole) */
    char unknown[128]; /* after the CSV header: its columns vigie does not read ("'a', 'b'") */
};

void vg_input_init(struct vg_input_parser *ip);

/*
 * Feed one line (without or with its final newline; len bytes, may contain NULs). Returns 1 and
 * copies the URL into url[cap] when the line holds one, 0 for a blank line, comment or CSV header,
 * and a negative error for a bad line, with ip->why and ip->col set: VG_ETOOBIG (line longer than
 * VG_INPUT_LINE_MAX, URL does not fit cap, category_code does not fit ip->category), VG_EPROTO (CSV
 * row without the url column or with an empty one, unterminated quote or bytes after a closing
 * quote, a NUL in the URL). The URL itself is not validated here (vg_url_parse does that);
 * surrounding blanks are removed. The header's column names are matched case-insensitively
 * ("URL,Category_Code").
 */
VG_MUST_USE int vg_input_feed(struct vg_input_parser *ip, const char *line, size_t len, char *url,
                              size_t cap);

#endif
