/* SPDX-License-Identifier: MIT */
/* html.h - what vigie extracts from an HTML body, no I/O. */
#ifndef VG_PROTO_HTML_H
#define VG_PROTO_HTML_H

#include <stddef.h>
#include <stdint.h>

/*
 * Extract the page title as OONI does: the first match of (?i)<title>([^<]{1,512})</title> in
 * body[len], where, as in Go, {1,512} counts UTF-8 characters (an invalid byte counts as one), so a
 * title may take up to 4 * VG_HTML_TITLE_MAX bytes. Copies the title into out (cap bytes,
 * NUL-terminated, cut at cap-1) and returns the number of bytes stored, or 0 when there is no
 * match. Bytes are copied as they are (callers sanitise UTF-8).
 */
size_t vg_html_title(const uint8_t *body, size_t len, char *out, size_t cap);

#endif
