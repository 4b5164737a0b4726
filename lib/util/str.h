/* SPDX-License-Identifier: MIT */
/* str.h - bounded string helpers and range-checked number parsing. */
#ifndef VG_UTIL_STR_H
#define VG_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Copy src into dst (cap bytes, always NUL-terminated); VG_ETOOBIG if cut (cutting may be
 * intended). */
int vg_strlcpy(char *dst, const char *src, size_t cap);
/* Parse an unsigned decimal number in [min, max]; the whole string must be digits. */
VG_MUST_USE int vg_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Same for a (p, len) slice. */
VG_MUST_USE int vg_parse_u64n(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);
/* Parse a duration: "500ms", "4s", "2m", or plain seconds ("1.5"); result in ms. */
VG_MUST_USE int vg_parse_duration_ms(const char *s, uint64_t *ms);
/* ASCII case-insensitive comparison of n bytes. */
bool vg_strncaseeq(const char *a, const char *b, size_t n);
/* Lower-case ASCII in place. */
void vg_str_lower(char *s);
/* Base64 (RFC 4648) of len bytes into a fresh NUL-terminated string (caller frees). */
char *vg_base64(const uint8_t *p, size_t len);
/* Decode base64 (RFC 4648, standard alphabet, "=" padding optional, no white space) of len bytes
 * at s into out (cap bytes). Returns the bytes written, VG_EPROTO when s is not base64, or
 * VG_ETOOBIG when the result would exceed cap. */
VG_MUST_USE long vg_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void vg_hex(const uint8_t *p, size_t len, char *out);
/* The value of one hex digit (either case), or -1 when c is not one. */
int vg_hexval(int c);
/* Trim ASCII white space at both ends, in place; returns s. */
char *vg_str_trim(char *s);

/* True when p[len] is valid UTF-8 (RFC 3629: no overlongs, surrogates or values past U+10FFFF). */
bool vg_utf8_valid(const uint8_t *p, size_t len);
/*
 * Copy p[len] into a fresh NUL-terminated string (caller frees) in which every byte that is not
 * part of a valid UTF-8 sequence, and every NUL, becomes U+FFFD. *outlen gets the length.
 */
char *vg_utf8_sanitize(const uint8_t *p, size_t len, size_t *outlen);
/* Copy len bytes of src (UTF-8) into dst (cap > 0 bytes, always NUL-terminated), cut before a
 * character that does not fit whole. */
void vg_utf8_copy(char *dst, size_t cap, const char *src, size_t len);

#endif
